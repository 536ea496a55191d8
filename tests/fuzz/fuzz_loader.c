/*
 * fuzz_loader.c: libFuzzer target for the guest image loaders: the input
 * bytes are the entry image of a VM with 64 MiB of RAM (ram 0,0xa0000 and
 * ram 1m,63m), an initrd, a command line, an RSDP and a firmware range.
 * The image is loaded once as sniffed (which also covers gzip) and once
 * forced through each x86 format, on a fresh view of the same memory; then
 * the same for an aarch64 guest (ram 0x40000000,63m and a second bank
 * 40 GiB up) as sniffed and forced through each aarch64 format.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOW  0xa0000u
#define HIGH (63u << 20)

#define ARM_RAM 0x40000000ull
#define ARM_FAR (ARM_RAM + (40ull << 30))

static unsigned char *low, *high;
static char path_fuzz[] = "fuzz";
static char path_initrd[] = "initrd";
static char cmdline[] = "console=ttyS0";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum image_fmt fmts[] = {
        IMG_RAW,        IMG_BZIMAGE,        IMG_PVH_ELF,
        IMG_MULTIBOOT2, IMG_MULTIBOOT1_ELF, IMG_MULTIBOOT1_AOUT,
        IMG_ELF32,      IMG_ELF64,
    };
    static const unsigned char initrd[16] = "fuzz initrd";
    if (!low) {
        low = calloc(1, LOW);
        high = calloc(1, HIGH);
        if (!low || !high)
            return 0;
    }
    struct vm_spec s;
    memset(&s, 0, sizeof(s));
    struct mem_region *m = VEC_PUSH(&s.mem);
    struct load_spec *l = m ? VEC_PUSH(&s.loads) : NULL;
    if (!m)
        return 0;
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0, .size = LOW};
    m = VEC_PUSH(&s.mem);
    if (!l || !m)
        goto out;
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0x100000, .size = HIGH};
    l->path = path_fuzz;
    l = VEC_PUSH(&s.loads);
    if (!l)
        goto out;
    l->path = path_initrd;
    l->blob = BLOB_INITRD;
    s.entry_load = 0;
    s.cmdline = cmdline;
    struct boot_image imgs[2] = {{data, size, "fuzz"},
                                 {initrd, sizeof(initrd), "initrd"}};
    struct boot_input in = {.rsdp_gpa = 0x9fc00, .nfw = 1};
    in.fw[0] = (struct boot_fw_range){0x9fc00, 0x400, E820_RESERVED};
    memcpy(low + 0x9fc00, "RSD PTR \0\0\0\0\0\0\0\2\0\0\0\0\44\0\0\0", 24);
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        struct gview v;
        memset(&v, 0, sizeof(v));
        if (gview_add_region(&v, 0, LOW, low, GV_RAM) == 0 &&
            gview_add_region(&v, 0x100000, HIGH, high, GV_RAM) == 0) {
            struct boot_state bs;
            struct boot_err err;
            if (boot_load_images(&v, &s, &in, imgs, fmts[i], &bs, &err) < 0)
                err.msg[0] = 0; /* an error is a fine outcome */
        }
        gview_free(&v);
    }
    /* aarch64: the Image, ELF64 and raw loaders, the initrd and DTB room. */
    static const enum image_fmt arm_fmts[] = {IMG_RAW, IMG_ARM64_IMAGE,
                                              IMG_ELF64, IMG_ELF32};
    s.arch = ARCH_AARCH64;
    s.mem.v[0] =
        (struct mem_region){.kind = MEM_RAM, .base = ARM_RAM, .size = HIGH};
    s.mem.v[1] =
        (struct mem_region){.kind = MEM_RAM, .base = ARM_FAR, .size = LOW};
    for (size_t i = 0; i < sizeof(arm_fmts) / sizeof(arm_fmts[0]); i++) {
        struct gview v;
        memset(&v, 0, sizeof(v));
        if (gview_add_region(&v, ARM_RAM, HIGH, high, GV_RAM) == 0 &&
            gview_add_region(&v, ARM_FAR, LOW, low, GV_RAM) == 0) {
            struct boot_state bs;
            struct boot_err err;
            if (boot_load_images(&v, &s, NULL, imgs, arm_fmts[i], &bs, &err) <
                0)
                err.msg[0] = 0; /* an error is a fine outcome */
        }
        gview_free(&v);
    }
out:
    VEC_FREE(&s.mem);
    VEC_FREE(&s.loads);
    return 0;
}

/*
 * image_probe.c: the driver of tests/unit/fetch-images.sh. Loads a real
 * guest image (and optionally an initrd) through boot_load_images into a
 * 256 MiB guest (ram 0,0xa0000; rom 0xc0000,0x40000; ram 1m,255m) with
 * a command line, and prints what the loader decided as KEY=VALUE lines:
 * the format, entry state, and the boot_params / hvm_start_info /
 * multiboot info fields that the script checks against the image's spec.
 * Exit status 0, or 1 with the loader's error on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/boot.h"

#define LOW  0xa0000u
#define HIGH (255u << 20)

static const char *fmt_token(enum image_fmt f)
{
    switch (f) {
    case IMG_BZIMAGE:
        return "bzimage";
    case IMG_PVH_ELF:
        return "pvh";
    case IMG_MULTIBOOT1_ELF:
        return "multiboot1-elf";
    case IMG_MULTIBOOT1_AOUT:
        return "multiboot1-aout";
    case IMG_MULTIBOOT2:
        return "multiboot2";
    case IMG_ELF32:
        return "elf32";
    case IMG_ELF64:
        return "elf64";
    default:
        return "other";
    }
}

static uint32_t g32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t g64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void print_bz(const struct gview *v, const struct boot_state *bs)
{
    const unsigned char *bp = gview_ptr(v, bs->rsi, BP_SIZE);
    if (!bp)
        return;
    printf("bp.version=0x%x\n", bp[BP_VERSION] | bp[BP_VERSION + 1] << 8);
    printf("bp.xloadflags=0x%x\n",
           bp[BP_XLOADFLAGS] | bp[BP_XLOADFLAGS + 1] << 8);
    printf("bp.relocatable=%u\n", bp[BP_RELOCATABLE]);
    printf("bp.kernel_alignment=0x%x\n", g32(bp + BP_KERNEL_ALIGNMENT));
    printf("bp.pref_address=0x%llx\n",
           (unsigned long long)g64(bp + BP_PREF_ADDRESS));
    printf("bp.init_size=0x%x\n", g32(bp + BP_INIT_SIZE));
    printf("bp.code32_start=0x%x\n", g32(bp + BP_CODE32_START));
    printf("bp.type_of_loader=0x%x\n", bp[BP_TYPE_OF_LOADER]);
    printf("bp.loadflags=0x%x\n", bp[BP_LOADFLAGS]);
    printf("bp.vid_mode=0x%x\n", bp[BP_VID_MODE] | bp[BP_VID_MODE + 1] << 8);
    printf("bp.payload_offset=0x%x\n", g32(bp + BP_PAYLOAD_OFFSET));
    printf("bp.payload_length=0x%x\n", g32(bp + BP_PAYLOAD_LENGTH));
    uint32_t cl = g32(bp + BP_CMD_LINE_PTR);
    const char *s = gview_ptr(v, cl, 1);
    printf("bp.cmdline=%s\n", s ? s : "(bad pointer)");
    printf("bp.ramdisk_image=0x%x\n", g32(bp + BP_RAMDISK_IMAGE));
    printf("bp.ramdisk_size=0x%x\n", g32(bp + BP_RAMDISK_SIZE));
    printf("bp.e820_entries=%u\n", bp[BP_E820_ENTRIES]);
    for (unsigned i = 0; i < bp[BP_E820_ENTRIES]; i++) {
        const unsigned char *e = bp + BP_E820_TABLE + 20 * i;
        printf("bp.e820[%u]=0x%llx+0x%llx:%u\n", i, (unsigned long long)g64(e),
               (unsigned long long)g64(e + 8), g32(e + 16));
    }
}

static void print_pvh(const struct gview *v, const struct boot_state *bs)
{
    const unsigned char *si = gview_ptr(v, bs->ebx, 56);
    if (!si)
        return;
    printf("si.magic=0x%x\n", g32(si));
    printf("si.version=%u\n", g32(si + 4));
    printf("si.nr_modules=%u\n", g32(si + 12));
    const char *s = gview_ptr(v, g64(si + 24), 1);
    printf("si.cmdline=%s\n", s ? s : "(bad pointer)");
    printf("si.memmap_entries=%u\n", g32(si + 48));
}

static void print_mb1(const struct gview *v, const struct boot_state *bs)
{
    const unsigned char *mbi = gview_ptr(v, bs->ebx, 88);
    if (!mbi)
        return;
    printf("mbi.flags=0x%x\n", g32(mbi));
    printf("mbi.mem_lower=%u\n", g32(mbi + 4));
    printf("mbi.mem_upper=%u\n", g32(mbi + 8));
    const char *s = gview_ptr(v, g32(mbi + 16), 1);
    printf("mbi.cmdline=%s\n", s ? s : "(bad pointer)");
    printf("mbi.mods_count=%u\n", g32(mbi + 20));
    printf("mbi.mmap_length=%u\n", g32(mbi + 44));
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: image_probe IMAGE CMDLINE [INITRD]\n");
        return 2;
    }
    unsigned char *low = calloc(1, LOW), *high = calloc(1, HIGH);
    struct vm_spec s;
    struct gview v;
    memset(&s, 0, sizeof(s));
    memset(&v, 0, sizeof(v));
    struct mem_region *m = VEC_PUSH(&s.mem);
    if (!low || !high || !m)
        return 1;
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0, .size = LOW};
    if (!(m = VEC_PUSH(&s.mem)))
        return 1;
    *m = (struct mem_region){.kind = MEM_ROM, .base = 0xc0000, .size = 0x40000};
    if (!(m = VEC_PUSH(&s.mem)))
        return 1;
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0x100000, .size = HIGH};
    for (int i = 1; i < argc; i++) {
        if (i == 2)
            continue;
        struct load_spec *l = VEC_PUSH(&s.loads);
        if (!l)
            return 1;
        l->path = argv[i];
        l->blob = i == 3 ? BLOB_INITRD : BLOB_NONE;
    }
    s.entry_load = 0;
    s.cmdline = argv[2];
    if (gview_add_region(&v, 0, LOW, low, GV_RAM) < 0 ||
        gview_add_region(&v, 0x100000, HIGH, high, GV_RAM) < 0)
        return 1;
    struct boot_input in = {.rsdp_gpa = 0, .nfw = 1};
    in.fw[0] = (struct boot_fw_range){0x9fc00, 0x400, E820_RESERVED};
    struct boot_state bs;
    struct boot_err err = {{0}};
    if (boot_load_spec(&v, &s, &in, &bs, &err) < 0) {
        fprintf(stderr, "image_probe: %s\n", err.msg);
        return 1;
    }
    printf("fmt=%s\n", fmt_token(bs.fmt));
    printf("mode=%s\n", bs.mode == BOOT_LONG64 ? "long64" : "pm32");
    printf("entry=0x%llx\n", (unsigned long long)bs.entry);
    printf("eax=0x%x\nebx=0x%x\nrsi=0x%llx\n", bs.eax, bs.ebx,
           (unsigned long long)bs.rsi);
    if (bs.fmt == IMG_BZIMAGE)
        print_bz(&v, &bs);
    else if (bs.fmt == IMG_PVH_ELF)
        print_pvh(&v, &bs);
    else if (bs.fmt == IMG_MULTIBOOT1_ELF || bs.fmt == IMG_MULTIBOOT1_AOUT)
        print_mb1(&v, &bs);
    gview_free(&v);
    VEC_FREE(&s.mem);
    VEC_FREE(&s.loads);
    free(low);
    free(high);
    return 0;
}

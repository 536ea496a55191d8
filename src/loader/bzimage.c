/*
 * bzimage.c: Linux bzImage kernels through the 64-bit boot protocol
 * (Linux Documentation/x86/boot.rst, "64-bit boot protocol";
 * zero-page.rst for boot_params). The protected-mode part goes to
 * 0x100000 or, for a relocatable kernel, to pref_address aligned to
 * kernel_alignment, with init_size reserved after it. boot_params, the
 * command line, the identity-mapped page tables and the GDT live at fixed
 * low-RAM addresses (BZ_* in boot.h) when those are free.
 */
#include <string.h>

#include "loader/internal.h"
#include "util/le.h"
#include "util/ckd.h"

#define fail boot_fail

#define BOOT_FLAG_MAGIC 0xAA55u
#define HDRS_MAGIC      "HdrS"
#define MIN_VERSION     0x020cu /* 2.12: xloadflags */
#define CAN_USE_HEAP    (1u << 7)
#define QUIET_FLAG      (1u << 5)
#define BZ_LOW_LOAD     0x100000ull

/* Setup header fields bz_load needs, read and checked from the image. */
struct bz_hdr {
    uint64_t setup_size; /* (setup_sects + 1) * 512 */
    uint64_t hdr_end;    /* 0x202 + byte[0x201] */
    uint16_t version, xloadflags;
    uint32_t init_size, kernel_alignment, initrd_addr_max, cmdline_size;
    uint64_t pref_address;
    bool relocatable;
};

static int bz_parse(const struct boot_image *img, struct bz_hdr *h,
                    struct boot_err *err)
{
    const unsigned char *d = img->data;
    memset(h, 0, sizeof(*h));
    if (img->size < BP_INIT_SIZE + 4)
        return fail(err,
                    "file too short for a bzImage setup header (0x%zx "
                    "bytes)",
                    img->size);
    if (le_get16(d + BP_BOOT_FLAG) != BOOT_FLAG_MAGIC ||
        memcmp(d + BP_HEADER, HDRS_MAGIC, 4) != 0)
        return fail(err, "no bzImage setup header (boot_flag 0xAA55 and "
                         "\"HdrS\")");
    h->version = le_get16(d + BP_VERSION);
    if (h->version < MIN_VERSION)
        return fail(err,
                    "boot protocol %u.%02u is too old: the 64-bit entry "
                    "needs 2.12 or later",
                    h->version >> 8, h->version & 0xff);
    h->xloadflags = le_get16(d + BP_XLOADFLAGS);
    if (!(h->xloadflags & XLF_KERNEL_64))
        return fail(err,
                    "no 64-bit entry point (xloadflags 0x%x lacks "
                    "XLF_KERNEL_64)",
                    h->xloadflags);
    if (!(d[BP_LOADFLAGS] & LOADED_HIGH))
        return fail(err, "loadflags 0x%x: not a bzImage (LOADED_HIGH clear)",
                    d[BP_LOADFLAGS]);
    unsigned sects = d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4;
    h->setup_size = ((uint64_t)sects + 1) * 512;
    if (h->setup_size >= img->size)
        return fail(err,
                    "setup_sects %u: the setup code (0x%llx bytes) fills "
                    "the whole file (0x%zx bytes)",
                    sects, (unsigned long long)h->setup_size, img->size);
    uint64_t pm = img->size - h->setup_size, sys;
    sys = (uint64_t)le_get32(d + BP_SYSSIZE) * 16;
    /* syssize counts 16-byte units, rounded up (memtest86+ 6.10 is not
     * padded to a multiple of 16). */
    if (sys > ALIGN_UP(pm, 16ull))
        return fail(err,
                    "syssize says 0x%llx bytes of protected-mode code, the "
                    "file has 0x%llx after the setup code: truncated",
                    (unsigned long long)sys, (unsigned long long)pm);
    h->hdr_end = BP_HEADER + (uint64_t)d[0x201];
    if (h->hdr_end > img->size || h->hdr_end > BP_SIZE)
        return fail(err, "setup header end 0x%llx is past the file",
                    (unsigned long long)h->hdr_end);
    h->relocatable = d[BP_RELOCATABLE] != 0;
    h->kernel_alignment = le_get32(d + BP_KERNEL_ALIGNMENT);
    h->initrd_addr_max = le_get32(d + BP_INITRD_ADDR_MAX);
    h->cmdline_size = le_get32(d + BP_CMDLINE_SIZE);
    h->pref_address = le_get64(d + BP_PREF_ADDRESS);
    h->init_size = le_get32(d + BP_INIT_SIZE);
    if (h->relocatable && !IS_POW2(h->kernel_alignment))
        return fail(err, "kernel_alignment 0x%x is not a power of two",
                    h->kernel_alignment);
    return 0;
}

int bz_load(struct gview *v, const struct boot_image *img, uint64_t *load,
            uint64_t *hi, uint64_t *initrd_max, struct boot_err *err)
{
    struct bz_hdr h;
    if (bz_parse(img, &h, err) < 0)
        return -1;
    uint64_t pm = img->size - h.setup_size;
    uint64_t mem = MAX(pm, (uint64_t)h.init_size), at = BZ_LOW_LOAD, end;
    if (h.relocatable) {
        uint64_t al = h.kernel_alignment;
        if (ckd_add(&at, MAX(h.pref_address, BZ_LOW_LOAD), al - 1))
            return fail(err, "pref_address 0x%llx overflows",
                        (unsigned long long)h.pref_address);
        at &= ~(al - 1);
    }
    bool fits = !ckd_add(&end, at, mem) && end <= GIB4 &&
                gview_ptr(v, at, mem) && gview_is_free(v, at, mem);
    if (!fits && h.relocatable) {
        /* Anywhere else in RAM below 4 GiB with the right alignment. */
        if (gview_alloc(v, mem, h.kernel_alignment, BZ_LOW_LOAD, GIB4, &at) < 0)
            return fail(err,
                        "no free RAM below 4 GiB for the kernel: it needs "
                        "0x%llx bytes (init_size) aligned to 0x%x",
                        (unsigned long long)mem, h.kernel_alignment);
    } else if (!fits) {
        return fail(err,
                    "the kernel is not relocatable and [0x%llx, +0x%llx) "
                    "(init_size) is not free RAM",
                    (unsigned long long)at, (unsigned long long)mem);
    } else if (gview_mark_used(v, at, mem) < 0) {
        return fail(err, "out of memory");
    }
    unsigned char *dst = gview_ptr(v, at, mem);
    memcpy(dst, img->data + h.setup_size, pm);
    memset(dst + pm, 0, mem - pm);
    *load = at;
    *hi = at + mem;
    uint64_t imax = h.initrd_addr_max ? h.initrd_addr_max : 0x37ffffff;
    *initrd_max = MIN(imax + 1, GIB4);
    return 0;
}

int bz_write_params(struct gview *v, const struct vm_spec *spec,
                    const struct boot_input *in, const struct boot_image *img,
                    uint64_t load, uint64_t initrd, uint64_t initrd_size,
                    struct boot_state *bs, struct boot_err *err)
{
    struct bz_hdr h;
    if (bz_parse(img, &h, err) < 0)
        return -1;
    uint64_t bp, pt, cl;
    /* Fixed areas first, so that they get their documented places. */
    if (boot_place(v, BZ_PARAMS_ADDR, BP_SIZE, 4096, &bp) < 0)
        return fail(err, "no free RAM below 4 GiB for boot_params");
    if (boot_identity_map(v, BZ_PT_ADDR, &pt, err) < 0)
        return -1;
    if (boot_write_gdt(v, BZ_GDT_ADDR, true, bs, err) < 0)
        return -1;

    unsigned char *p = gview_ptr(v, bp, BP_SIZE);
    memcpy(p + BP_SETUP_SECTS, img->data + BP_SETUP_SECTS,
           h.hdr_end - BP_SETUP_SECTS);
    le_put16(p + BP_VID_MODE, 0xffff);
    p[BP_TYPE_OF_LOADER] = 0xff;
    p[BP_LOADFLAGS] =
        (unsigned char)((p[BP_LOADFLAGS] | LOADED_HIGH) & ~CAN_USE_HEAP);
    le_put32(p + BP_CODE32_START, (uint32_t)load);
    le_put32(p + BP_HW_SUBARCH, 0);

    const char *cmd = spec->cmdline ? spec->cmdline : "";
    size_t clen = strlen(cmd);
    uint32_t cmax = h.version >= 0x0206 ? h.cmdline_size : 255;
    if (clen > cmax)
        return fail(err,
                    "the command line is %zu bytes, the kernel accepts at "
                    "most %u (cmdline_size)",
                    clen, cmax);
    cl = boot_put_cstring(v, cmd, BZ_CMDLINE);
    if (!cl)
        return fail(err, "no free RAM below 4 GiB for the command line");
    le_put32(p + BP_CMD_LINE_PTR, (uint32_t)cl);
    le_put32(p + BP_EXT_CMD_LINE_PTR, (uint32_t)(cl >> 32));

    if (initrd_size) {
        if (initrd_size > UINT32_MAX)
            return fail(err, "the initrd is larger than 4 GiB");
        le_put32(p + BP_RAMDISK_IMAGE, (uint32_t)initrd);
        le_put32(p + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd >> 32));
        le_put32(p + BP_RAMDISK_SIZE, (uint32_t)initrd_size);
        le_put32(p + BP_EXT_RAMDISK_SIZE, 0);
    } else {
        le_put32(p + BP_RAMDISK_IMAGE, 0);
        le_put32(p + BP_RAMDISK_SIZE, 0);
    }
    if (in && in->rsdp_gpa)
        le_put64(p + BP_ACPI_RSDP_ADDR, in->rsdp_gpa);

    struct e820_ent extra = {pt, BZ_PT_SIZE, E820_RESERVED}, map[E820_MAX];
    size_t n = boot_e820(spec, in, &extra, 1, map, E820_MAX);
    p[BP_E820_ENTRIES] = (unsigned char)n;
    for (size_t i = 0; i < n; i++) {
        unsigned char *e = p + BP_E820_TABLE + 20 * i;
        le_put64(e, map[i].addr);
        le_put64(e + 8, map[i].size);
        le_put32(e + 16, map[i].type);
    }

    bs->mode = BOOT_LONG64;
    bs->entry = load + 0x200;
    bs->pml4 = pt;
    bs->rsi = bp;
    bs->rsp = BZ_STACK_TOP;
    return 0;
}

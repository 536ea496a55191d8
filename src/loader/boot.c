/*
 * boot.c: from the spec's `load` lines to guest memory and a boot state.
 * The entry image selects the protocol: multiboot1 (32-bit protected mode,
 * EAX=0x2BADB002, EBX=info), ELF32 and raw (32-bit protected mode at the
 * entry / first byte), ELF64 (64-bit mode with an identity map of the first
 * 4 GiB). Other loads become multiboot modules.
 */
#include "loader/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/internal.h"
#include "loader/sniff.h"
#include "util/ckd.h"

#define MAX_IMAGE (1ull << 32)

int boot_fail(struct boot_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int boot_read_file(const char *path, struct boot_image *img,
                   struct boot_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return boot_fail(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > MAX_IMAGE) {
        close(fd);
        return boot_fail(err, "%s: not a regular file of at most 4 GiB", path);
    }
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return boot_fail(err, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return boot_fail(err, "%s: read: %s", path, strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    img->data = buf;
    img->size = size;
    img->path = path;
    return 0;
}

int boot_place(struct gview *v, uint64_t pref, uint64_t len, uint64_t align,
               uint64_t *gpa)
{
    uint64_t end;
    if (pref && !ckd_add(&end, pref, len) && end <= GIB4 &&
        gview_ptr(v, pref, len) && gview_is_free(v, pref, len)) {
        if (gview_mark_used(v, pref, len) < 0)
            return -1;
        memset(gview_ptr(v, pref, len), 0, len);
        *gpa = pref;
        return 0;
    }
    return gview_alloc(v, len, align, 0x1000, GIB4, gpa) < 0 ? -1 : 0;
}

uint64_t boot_put_cstring(struct gview *v, const char *s, uint64_t pref)
{
    uint64_t len = strlen(s) + 1, at;
    if (boot_place(v, pref, len, 8, &at) < 0 || !gview_write(v, at, s, len))
        return 0;
    return at;
}

/* Identity map of [0, 4 GiB) with 2 MiB pages: PML4, PDPT, 4 PDs. */
int boot_identity_map(struct gview *v, uint64_t pref, uint64_t *pml4,
                      struct boot_err *err)
{
    uint64_t base;
    if (boot_place(v, pref, 6 * 4096, 4096, &base) < 0)
        return boot_fail(err, "no free RAM below 4 GiB for page tables");
    unsigned char *p = gview_ptr(v, base, 6 * 4096);
    uint64_t e = (base + 4096) | 3; /* present, writable */
    memcpy(p, &e, 8);
    for (uint64_t i = 0; i < 4; i++) {
        e = (base + 8192 + i * 4096) | 3;
        memcpy(p + 4096 + i * 8, &e, 8);
        for (uint64_t j = 0; j < 512; j++) {
            e = ((i * 512 + j) << 21) | 0x83; /* present, rw, 2 MiB */
            memcpy(p + 8192 + i * 4096 + j * 8, &e, 8);
        }
    }
    *pml4 = base;
    return 0;
}

/*
 * GDT descriptors (Intel SDM vol. 3A 3.4.5): flat 4 GiB code (exec/read,
 * accessed; L=1 for 64-bit, else D=1), flat data (read/write, accessed),
 * and a busy 32-bit TSS with base 0, limit 0x67.
 */
#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_CODE32 0x00cf9b000000ffffull
#define GDT_DATA   0x00cf93000000ffffull
#define GDT_TSS32  0x00008b0000000067ull

int boot_write_gdt(struct gview *v, uint64_t pref, bool long_mode,
                   struct boot_state *bs, struct boot_err *err)
{
    uint64_t g[5] = {0, 0, long_mode ? GDT_CODE64 : GDT_CODE32, GDT_DATA,
                     GDT_TSS32};
    uint64_t at;
    if (boot_place(v, pref, sizeof(g), 8, &at) < 0 ||
        !gview_write(v, at, g, sizeof(g)))
        return boot_fail(err, "no free RAM below 4 GiB for the GDT");
    bs->gdt = at;
    bs->gdt_limit = sizeof(g) - 1;
    return 0;
}

int boot_load_raw(struct gview *v, const struct load_spec *ls,
                  const struct boot_image *img, uint64_t min, uint64_t max,
                  uint64_t *at, struct boot_err *err)
{
    uint64_t size = img->size ? img->size : 1;
    if (ls->has_addr) {
        *at = ls->addr;
        unsigned char *dst = gview_ptr(v, *at, size);
        if (!dst)
            return boot_fail(err,
                             "[0x%llx, +0x%llx) is not inside one ram/rom "
                             "region",
                             (unsigned long long)*at, (unsigned long long)size);
        if (!gview_is_free(v, *at, size))
            return boot_fail(err, "0x%llx overlaps another loaded image",
                             (unsigned long long)*at);
        if (img->size) /* an empty image may have no data pointer */
            memcpy(dst, img->data, img->size);
        if (gview_mark_used(v, *at, size) < 0)
            return boot_fail(err, "out of memory");
        return 0;
    }
    if (gview_alloc(v, size, 4096, min, max, at) < 0)
        return boot_fail(err, "no free guest RAM for 0x%llx bytes",
                         (unsigned long long)size);
    if (img->size)
        memcpy(gview_ptr(v, *at, size), img->data, img->size);
    return 0;
}

/* What loading the entry image decided, for the modules and boot info. */
struct entry_info {
    enum image_fmt fmt;
    uint64_t hi;      /* end of the kernel (bzImage: of init_size) */
    uint64_t mod_max; /* modules end at or below this */
    uint64_t bz_load; /* bzImage load address */
    struct mb2_header mb2;
};

static int load_entry(struct gview *v, const struct load_spec *ls,
                      const struct boot_image *img, enum image_fmt f,
                      struct boot_state *bs, struct entry_info *ei,
                      struct boot_err *err)
{
    struct mb1_header h;
    uint32_t pvh;
    bs->fmt = ei->fmt = f;
    ei->mod_max = UINT64_MAX;
    switch (f) {
    case IMG_MULTIBOOT1_ELF:
    case IMG_MULTIBOOT1_AOUT:
        if (mb1_find(img, &h) < 0)
            return boot_fail(err, "multiboot header not found");
        if (mb1_load(v, img, &h, &bs->entry, &ei->hi, err) < 0)
            return -1;
        bs->mode = BOOT_PM32;
        ei->mod_max = GIB4;
        return 0;
    case IMG_MULTIBOOT2:
        if (mb2_find(img, &ei->mb2, err) < 0 ||
            mb2_load(v, img, &ei->mb2, &bs->entry, &ei->hi, err) < 0)
            return -1;
        bs->mode = BOOT_PM32;
        ei->mod_max = GIB4;
        return 0;
    case IMG_BZIMAGE:
        return bz_load(v, img, &ei->bz_load, &ei->hi, &ei->mod_max, err);
    case IMG_PVH_ELF:
        if (pvh_entry(img, &pvh, err) < 0 ||
            elf_load(v, img, &bs->entry, &ei->hi, err) < 0)
            return -1;
        bs->entry = pvh;
        bs->mode = BOOT_PM32;
        ei->mod_max = GIB4;
        return 0;
    case IMG_ELF32:
        if (elf_load(v, img, &bs->entry, &ei->hi, err) < 0)
            return -1;
        bs->mode = BOOT_PM32;
        return 0;
    case IMG_ELF64:
        if (elf_load(v, img, &bs->entry, &ei->hi, err) < 0)
            return -1;
        bs->mode = BOOT_LONG64;
        return boot_identity_map(v, 0, &bs->pml4, err);
    case IMG_RAW: {
        uint64_t at, min = gview_ptr(v, 0x100000, 1) ? 0x100000 : 0x1000;
        if (boot_load_raw(v, ls, img, min, UINT64_MAX, &at, err) < 0)
            return -1;
        bs->entry = at;
        ei->hi = at + img->size;
        bs->mode = BOOT_PM32;
        return 0;
    }
    case IMG_GZIP:
        return boot_fail(err, "gzip inside gzip is not supported");
    case IMG_ARM64_IMAGE:
        return boot_fail(err, "a Linux arm64 Image is an aarch64 kernel; "
                              "this is an x86-64 guest");
    default:
        return boot_fail(err, "%s images are not supported on x86",
                         image_fmt_name(f));
    }
}

/* Total guest RAM: the bound for a decompressed image. */
static uint64_t ram_size(const struct vm_spec *spec)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < spec->mem.n; i++)
        if (spec->mem.v[i].kind == MEM_RAM &&
            ckd_add(&sum, sum, spec->mem.v[i].size))
            return UINT64_MAX;
    return sum;
}

int boot_name_file(struct boot_err *err, const char *path)
{
    char m[sizeof(err->msg)];
    snprintf(m, sizeof(m), "%s", err->msg);
    return boot_fail(err, "%s: %s", path, m);
}

static int write_info(struct gview *v, const struct vm_spec *spec,
                      const struct boot_input *in, const struct load_spec *el,
                      const struct boot_image *kernel,
                      const struct entry_info *ei,
                      const struct mb1_module *mods, size_t nmods, int initrd,
                      struct boot_state *bs, struct boot_err *err)
{
    uint32_t info;
    switch (ei->fmt) {
    case IMG_MULTIBOOT1_ELF:
    case IMG_MULTIBOOT1_AOUT:
        if (mb1_write_info(v, spec, in, el->path, mods, nmods, &info, err) < 0)
            return -1;
        bs->eax = MB1_BOOT_MAGIC;
        bs->ebx = info;
        return 0;
    case IMG_MULTIBOOT2:
        if (mb2_write_info(v, spec, in, el->path, mods, nmods, &info, err) < 0)
            return -1;
        bs->eax = MB2_BOOT_MAGIC;
        bs->ebx = info;
        return 0;
    case IMG_BZIMAGE: {
        uint64_t rd = 0, rdsz = 0;
        if (initrd >= 0) {
            rd = mods[initrd].start;
            rdsz = mods[initrd].end - mods[initrd].start;
        }
        return bz_write_params(v, spec, in, kernel, ei->bz_load, rd, rdsz, bs,
                               err);
    }
    case IMG_PVH_ELF:
        return pvh_write_start_info(v, spec, in, mods, nmods, bs, err);
    default:
        return 0;
    }
}

int boot_load_images(struct gview *v, const struct vm_spec *spec,
                     const struct boot_input *in, const struct boot_image *imgs,
                     enum image_fmt force, struct boot_state *bs,
                     struct boot_err *err)
{
    memset(bs, 0, sizeof(*bs));
    int entry = spec->entry_load;
    if (entry < 0 && spec->loads.n)
        entry = 0;
    if (entry < 0)
        return boot_fail(err, "no `load` line: nothing to run");
    if ((size_t)entry >= spec->loads.n)
        return boot_fail(err, "entry load %d out of range", entry);
    if (in)
        for (size_t i = 0; i < in->nfw && i < BOOT_MAX_FW; i++)
            if (gview_mark_used(v, in->fw[i].base, in->fw[i].size) < 0)
                return boot_fail(err, "bad firmware range 0x%llx+0x%llx",
                                 (unsigned long long)in->fw[i].base,
                                 (unsigned long long)in->fw[i].size);

    const struct load_spec *el = &spec->loads.v[entry];
    struct boot_image kernel = imgs[entry], unz = {0};
    struct mb1_module *mods = calloc(spec->loads.n, sizeof(*mods));
    struct entry_info ei;
    size_t nmods = 0;
    int initrd = -1, rc = -1;
    memset(&ei, 0, sizeof(ei));
    if (!mods) {
        boot_fail(err, "out of memory");
        goto out;
    }
    enum image_fmt f = image_sniff(kernel.data, kernel.size);
    if (f == IMG_GZIP) {
        if (boot_gunzip(&kernel, boot_gunzip_limit(ram_size(spec)), &unz, err) <
            0) {
            boot_name_file(err, el->path);
            goto out;
        }
        kernel = unz;
        f = image_sniff(kernel.data, kernel.size);
    }
    if (force != IMG_RAW)
        f = force;
    if (spec->arch == ARCH_AARCH64) {
        rc = arm64_load_images(v, spec, imgs, entry, &kernel, f, bs, err);
        goto out;
    }
    if (load_entry(v, el, &kernel, f, bs, &ei, err) < 0) {
        boot_name_file(err, el->path);
        goto out;
    }
    for (size_t i = 0; i < spec->loads.n; i++) {
        if ((int)i == entry)
            continue;
        const struct load_spec *ls = &spec->loads.v[i];
        uint64_t at, min = MAX(ALIGN_UP(ei.hi, (uint64_t)4096), 0x100000ull);
        if (ls->blob == BLOB_INITRD && initrd >= 0)
            continue; /* the front end allows one; be safe */
        if (boot_load_raw(v, ls, &imgs[i], min, ei.mod_max, &at, err) < 0) {
            boot_name_file(err, ls->path);
            goto out;
        }
        struct mb1_module m = {at, at + imgs[i].size, ls->path};
        if (ls->blob == BLOB_INITRD) {
            /* The initrd is module 0 (PVH: Linux takes it from there). */
            memmove(&mods[1], &mods[0], nmods * sizeof(mods[0]));
            mods[0] = m;
            initrd = 0;
        } else {
            mods[nmods] = m;
        }
        nmods++;
        ei.hi = MAX(ei.hi, at + imgs[i].size);
    }
    if (write_info(v, spec, in, el, &kernel, &ei, mods, nmods, initrd, bs,
                   err) < 0) {
        boot_name_file(err, el->path);
        goto out;
    }
    rc = 0;
out:
    free((void *)(uintptr_t)unz.data);
    free(mods);
    return rc;
}

int boot_load_spec(struct gview *v, const struct vm_spec *spec,
                   const struct boot_input *in, struct boot_state *bs,
                   struct boot_err *err)
{
    struct boot_image *imgs = calloc(spec->loads.n + 1, sizeof(*imgs));
    int rc = -1;
    if (!imgs)
        return boot_fail(err, "out of memory");
    for (size_t i = 0; i < spec->loads.n; i++)
        if (boot_read_file(spec->loads.v[i].path, &imgs[i], err) < 0)
            goto out;
    rc = boot_load_images(v, spec, in, imgs, IMG_RAW, bs, err);
out:
    for (size_t i = 0; i < spec->loads.n; i++)
        free((void *)(uintptr_t)imgs[i].data);
    free(imgs);
    return rc;
}

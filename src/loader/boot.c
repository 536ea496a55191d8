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

#include "loader/sniff.h"
#include "util/ckd.h"

#define MAX_IMAGE (1ull << 32)
#define GIB4      0x100000000ull

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

/* Identity map of [0, 4 GiB) with 2 MiB pages: PML4, PDPT, 4 PDs. */
static int build_identity_map(struct gview *v, uint64_t *pml4,
                              struct boot_err *err)
{
    uint64_t base;
    if (gview_alloc(v, 6 * 4096, 4096, 0x1000, GIB4, &base) < 0)
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

static int load_raw(struct gview *v, const struct load_spec *ls,
                    const struct boot_image *img, uint64_t min, uint64_t *at,
                    struct boot_err *err)
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
        memcpy(dst, img->data, img->size);
        if (gview_mark_used(v, *at, size) < 0)
            return boot_fail(err, "out of memory");
        return 0;
    }
    if (gview_alloc(v, size, 4096, min, UINT64_MAX, at) < 0)
        return boot_fail(err, "no free guest RAM for 0x%llx bytes",
                         (unsigned long long)size);
    memcpy(gview_ptr(v, *at, size), img->data, img->size);
    return 0;
}

static int load_entry(struct gview *v, const struct load_spec *ls,
                      const struct boot_image *img, struct boot_state *bs,
                      uint64_t *hi, bool *is_mb, struct boot_err *err)
{
    enum image_fmt f = image_sniff(img->data, img->size);
    struct mb1_header h;
    bs->fmt = f;
    *is_mb = false;
    switch (f) {
    case IMG_MULTIBOOT1_ELF:
    case IMG_MULTIBOOT1_AOUT:
        if (mb1_find(img, &h) < 0)
            return boot_fail(err, "multiboot header not found");
        if (mb1_load(v, img, &h, &bs->entry, hi, err) < 0)
            return -1;
        bs->mode = BOOT_PM32;
        *is_mb = true;
        return 0;
    case IMG_ELF32:
        if (elf_load(v, img, &bs->entry, hi, err) < 0)
            return -1;
        bs->mode = BOOT_PM32;
        return 0;
    case IMG_ELF64:
        if (elf_load(v, img, &bs->entry, hi, err) < 0)
            return -1;
        bs->mode = BOOT_LONG64;
        return build_identity_map(v, &bs->pml4, err);
    case IMG_RAW: {
        uint64_t at, min = gview_ptr(v, 0x100000, 1) ? 0x100000 : 0x1000;
        if (load_raw(v, ls, img, min, &at, err) < 0)
            return -1;
        bs->entry = at;
        *hi = at + img->size;
        bs->mode = BOOT_PM32;
        return 0;
    }
    default:
        return boot_fail(err, "%s images are not supported yet",
                         image_fmt_name(f));
    }
}

int boot_load_spec(struct gview *v, const struct vm_spec *spec,
                   struct boot_state *bs, struct boot_err *err)
{
    memset(bs, 0, sizeof(*bs));
    int entry = spec->entry_load;
    if (entry < 0 && spec->loads.n)
        entry = 0;
    if (entry < 0)
        return boot_fail(err, "no `load` line: nothing to run");
    if ((size_t)entry >= spec->loads.n)
        return boot_fail(err, "entry load %d out of range", entry);

    struct boot_image *imgs = calloc(spec->loads.n, sizeof(*imgs));
    struct mb1_module *mods = calloc(spec->loads.n, sizeof(*mods));
    size_t nmods = 0;
    int rc = -1;
    bool is_mb = false;
    uint64_t hi = 0;
    if (!imgs || !mods) {
        boot_fail(err, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < spec->loads.n; i++)
        if (boot_read_file(spec->loads.v[i].path, &imgs[i], err) < 0)
            goto out;

    const struct load_spec *el = &spec->loads.v[entry];
    if (load_entry(v, el, &imgs[entry], bs, &hi, &is_mb, err) < 0) {
        char m[sizeof(err->msg)];
        snprintf(m, sizeof(m), "%s", err->msg);
        boot_fail(err, "%s: %s", el->path, m);
        goto out;
    }
    for (size_t i = 0; i < spec->loads.n; i++) {
        if ((int)i == entry)
            continue;
        uint64_t at, min = MAX(ALIGN_UP(hi, (uint64_t)4096), 0x100000ull);
        if (load_raw(v, &spec->loads.v[i], &imgs[i], min, &at, err) < 0) {
            char m[sizeof(err->msg)];
            snprintf(m, sizeof(m), "%s", err->msg);
            boot_fail(err, "%s: %s", spec->loads.v[i].path, m);
            goto out;
        }
        mods[nmods++] =
            (struct mb1_module){at, at + imgs[i].size, spec->loads.v[i].path};
        if (at + imgs[i].size > hi)
            hi = at + imgs[i].size;
    }
    if (is_mb) {
        uint32_t info;
        if (mb1_write_info(v, spec, el->path, mods, nmods, &info, err) < 0)
            goto out;
        bs->eax = MB1_BOOT_MAGIC;
        bs->ebx = info;
    }
    rc = 0;
out:
    if (imgs)
        for (size_t i = 0; i < spec->loads.n; i++)
            free((void *)(uintptr_t)imgs[i].data);
    free(imgs);
    free(mods);
    return rc;
}

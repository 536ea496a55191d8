/*
 * arm64.c: the aarch64 loaders. Linux's arm64 Image (Linux
 * Documentation/arch/arm64/booting.rst: a 2 MiB aligned base, the image at
 * base + text_offset, image_size bytes free from there, the DTB address in
 * x0), ELF64 EM_AARCH64 (QNX IFS, Zephyr) and raw binaries; then the
 * initrd and the room the arch layer writes the device tree into
 * (boot.h, struct boot_state). docs/boot.md has the layout.
 */
#include <elf.h>
#include <string.h>

#include "loader/boot.h"
#include "loader/internal.h"
#include "util/ckd.h"

#define fail boot_fail

#define GIB1 (1ull << 30)
#define PAGE 4096ull

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* align_up: x rounded up to a (a power of two); false when it wraps. */
static bool align_up(uint64_t x, uint64_t a, uint64_t *r)
{
    if (ckd_add(r, x, a - 1))
        return false;
    *r &= ~(a - 1);
    return true;
}

/* The e_machine of an ELF image, or 0. */
static unsigned elf_machine(const struct boot_image *img)
{
    if (img->size < 20 || memcmp(img->data, ELFMAG, SELFMAG) != 0 ||
        img->data[EI_DATA] != ELFDATA2LSB)
        return 0;
    return (unsigned)(img->data[18] | img->data[19] << 8);
}

int arm64_image_header(const struct boot_image *img, struct arm64_header *h,
                       struct boot_err *err)
{
    memset(h, 0, sizeof(*h));
    if (img->size < ARM64_HDR_SIZE)
        return fail(err,
                    "truncated arm64 Image: 0x%zx bytes, the header alone "
                    "has 0x40",
                    img->size);
    if (memcmp(img->data + ARM64_MAGIC_OFF,
               "ARM"
               "\x64",
               4) != 0)
        return fail(err, "not an arm64 Image: no magic \"ARM\\x64\" at 0x38");
    h->text_offset = le64(img->data + 8);
    h->image_size = le64(img->data + 16);
    h->flags = le64(img->data + 24);
    if (h->image_size == 0) {
        /* Before Linux 3.17: text_offset of unknown endianness, no flags. */
        h->text_offset = ARM64_OLD_TEXT_OFFSET;
        h->flags = 0;
    }
    if (h->flags & ARM64_FLAG_BE)
        return fail(err, "a big-endian kernel (flags bit 0): qvm runs "
                         "little-endian aarch64 guests");
    if (h->text_offset % 4)
        return fail(err,
                    "text_offset 0x%llx is not a multiple of 4 (the entry "
                    "point is an instruction)",
                    (unsigned long long)h->text_offset);
    if (h->image_size) {
        h->extent = MAX(h->image_size, (uint64_t)img->size);
    } else if (!align_up(img->size, ARM64_KERNEL_ALIGN, &h->extent) ||
               ckd_add(&h->extent, h->extent, ARM64_NOSIZE_SLACK)) {
        return fail(err, "image too large");
    }
    return 0;
}

/* [gpa, gpa+len) lies in one RAM region (not ROM). */
static bool in_ram(const struct gview *v, uint64_t gpa, uint64_t len)
{
    const struct gview_region *r = gview_region_at(v, gpa);
    return r && r->kind == GV_RAM && gview_ptr(v, gpa, len);
}

static int load_image(struct gview *v, const struct load_spec *ls,
                      const struct boot_image *img, uint64_t *load,
                      uint64_t *end, struct boot_err *err)
{
    struct arm64_header h;
    if (arm64_image_header(img, &h, err) < 0)
        return -1;
    const char *what = h.image_size ? "image_size" : "file size + BSS room";
    uint64_t at = 0, e = 0;
    bool found = false;
    if (ls->has_addr) {
        uint64_t base;
        at = ls->addr;
        if (ckd_sub(&base, at, h.text_offset) || base % ARM64_KERNEL_ALIGN)
            return fail(err,
                        "load address 0x%llx is not text_offset 0x%llx above "
                        "a 2 MiB boundary (booting.rst)",
                        (unsigned long long)at,
                        (unsigned long long)h.text_offset);
        if (ckd_add(&e, at, h.extent) || !in_ram(v, at, h.extent))
            return fail(err,
                        "the kernel at 0x%llx (0x%llx bytes, its %s) is not "
                        "inside one ram region",
                        (unsigned long long)at, (unsigned long long)h.extent,
                        what);
        if (!gview_is_free(v, at, h.extent))
            return fail(err, "the kernel at 0x%llx overlaps another image",
                        (unsigned long long)at);
        found = true;
    }
    /* Else the lowest RAM that holds it (booting.rst: the base as close to
     * the start of RAM as possible unless flags bit 3 says anywhere). */
    for (size_t i = 0; !found && i < v->regions.n; i++) {
        const struct gview_region *r = &v->regions.v[i];
        uint64_t base;
        if (r->kind != GV_RAM || !align_up(r->gpa, ARM64_KERNEL_ALIGN, &base) ||
            ckd_add(&at, base, h.text_offset) || ckd_add(&e, at, h.extent))
            continue;
        found = range_within(at - r->gpa, h.extent, r->size) &&
                gview_is_free(v, at, h.extent);
    }
    if (!found)
        return fail(err,
                    "no ram region holds the kernel: 0x%llx bytes (its %s) "
                    "at text_offset 0x%llx above a 2 MiB boundary",
                    (unsigned long long)h.extent, what,
                    (unsigned long long)h.text_offset);
    unsigned char *p = gview_ptr(v, at, h.extent);
    memcpy(p, img->data, img->size);
    memset(p + img->size, 0, h.extent - img->size);
    if (gview_mark_used(v, at, h.extent) < 0)
        return fail(err, "out of memory");
    *load = at;
    *end = e;
    return 0;
}

/* The lowest address of the used ranges from index `from` on. */
static uint64_t used_low(const struct gview *v, size_t from)
{
    uint64_t lo = UINT64_MAX;
    for (size_t i = from; i < v->used.n; i++)
        lo = MIN(lo, v->used.v[i].gpa);
    return lo;
}

static int load_entry(struct gview *v, const struct load_spec *ls,
                      const struct boot_image *img, enum image_fmt f,
                      struct boot_state *bs, struct boot_err *err)
{
    size_t nused = v->used.n;
    uint64_t at;
    switch (f) {
    case IMG_ARM64_IMAGE:
        if (load_image(v, ls, img, &bs->kernel_start, &bs->kernel_end, err) < 0)
            return -1;
        bs->entry = bs->kernel_start;
        return 0;
    case IMG_MULTIBOOT1_ELF:
    case IMG_MULTIBOOT2:
    case IMG_PVH_ELF:
    case IMG_ELF32:
    case IMG_ELF64:
        /* An AArch64 ELF may happen to hold a multiboot or Xen header. */
        if (f != IMG_ELF32 && f != IMG_ELF64 && elf_machine(img) != EM_AARCH64)
            break;
        if (elf_load_arch(v, img, ARCH_AARCH64, &bs->entry, &bs->kernel_end,
                          err) < 0)
            return -1;
        bs->kernel_start = used_low(v, nused);
        return 0;
    case IMG_RAW:
        if (img->size >= 8 && memcmp(img->data, "MZ", 2) == 0 &&
            memcmp(img->data + 4, "zimg", 4) == 0)
            return fail(err, "an EFI zboot image (a compressed kernel for EFI "
                             "firmware): give qvm the Image inside it");
        if (boot_load_raw(v, ls, img, 0, UINT64_MAX, &at, err) < 0)
            return -1;
        bs->entry = bs->kernel_start = at;
        bs->kernel_end = at + (img->size ? img->size : 1);
        return 0;
    case IMG_GZIP:
        return fail(err, "gzip inside gzip is not supported");
    case IMG_FDT:
        return fail(err, "a flattened device tree is not a guest image (`fdt "
                         "load FILE` gives one to the FDT builder)");
    default:
        break;
    }
    return fail(err, "a %s is an x86 image; this is an aarch64 guest",
                image_fmt_name(f));
}

/* The 1 GiB aligned window of ARM64_INITRD_WINDOW bytes from the kernel. */
static void kernel_window(const struct boot_state *bs, uint64_t *lo,
                          uint64_t *hi)
{
    *lo = bs->kernel_start & ~(GIB1 - 1);
    if (ckd_add(hi, *lo, ARM64_INITRD_WINDOW))
        *hi = UINT64_MAX;
}

static int place_initrd_at(struct gview *v, const struct load_spec *ls,
                           const struct boot_image *img, struct boot_state *bs,
                           struct boot_err *err)
{
    uint64_t size = img->size ? img->size : 1, end, lo, hi;
    if (ckd_add(&end, ls->addr, size) || !in_ram(v, ls->addr, size))
        return fail(err,
                    "the initrd [0x%llx, +0x%llx) is not inside one ram "
                    "region",
                    (unsigned long long)ls->addr, (unsigned long long)size);
    lo = MIN(bs->kernel_start, ls->addr) & ~(GIB1 - 1);
    hi = MAX(bs->kernel_end, end);
    if (hi - lo > ARM64_INITRD_WINDOW)
        return fail(err,
                    "the initrd at 0x%llx is too far from the kernel at "
                    "0x%llx: booting.rst wants both in one 1 GiB aligned "
                    "window of at most 32 GiB",
                    (unsigned long long)ls->addr,
                    (unsigned long long)bs->kernel_start);
    uint64_t at;
    if (boot_load_raw(v, ls, img, 0, UINT64_MAX, &at, err) < 0)
        return -1;
    bs->initrd_start = at;
    bs->initrd_end = at + img->size;
    return 0;
}

static int place_initrd(struct gview *v, const struct boot_image *img,
                        uint64_t after, struct boot_state *bs,
                        struct boot_err *err)
{
    uint64_t size = img->size ? img->size : 1, lo, hi, at;
    kernel_window(bs, &lo, &hi);
    if (gview_alloc(v, size, PAGE, MAX(after, lo), hi, &at) < 0 &&
        gview_alloc(v, size, PAGE, lo, hi, &at) < 0)
        return fail(err,
                    "no free ram for the initrd (0x%llx bytes) in the 1 GiB "
                    "aligned 32 GiB window that holds the kernel at 0x%llx",
                    (unsigned long long)size,
                    (unsigned long long)bs->kernel_start);
    memcpy(gview_ptr(v, at, size), img->data, img->size);
    bs->initrd_start = at;
    bs->initrd_end = at + img->size;
    return 0;
}

/* The DTB room: 2 MiB after the kernel, else anywhere in the window, else
 * ARM64_FDT_MIN bytes. */
static int place_fdt(struct gview *v, struct boot_state *bs,
                     struct boot_err *err)
{
    static const struct {
        uint64_t size, align;
    } tries[] = {{ARM64_FDT_MAX, ARM64_FDT_MAX}, {ARM64_FDT_MIN, PAGE}};
    uint64_t lo, hi, after, at;
    kernel_window(bs, &lo, &hi);
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        if (!align_up(bs->kernel_end, tries[i].align, &after))
            after = UINT64_MAX;
        if (gview_alloc(v, tries[i].size, tries[i].align, MAX(after, lo), hi,
                        &at) == 0 ||
            gview_alloc(v, tries[i].size, tries[i].align, lo, hi, &at) == 0) {
            bs->fdt = at;
            bs->fdt_size = tries[i].size;
            return 0;
        }
    }
    return fail(err,
                "no free ram for the device tree (0x%llx bytes) near the "
                "kernel at 0x%llx",
                (unsigned long long)ARM64_FDT_MIN,
                (unsigned long long)bs->kernel_start);
}

int arm64_load_images(struct gview *v, const struct vm_spec *spec,
                      const struct boot_image *imgs, int entry,
                      const struct boot_image *kernel, enum image_fmt f,
                      struct boot_state *bs, struct boot_err *err)
{
    const struct load_spec *el = &spec->loads.v[entry];
    bs->fmt = f;
    bs->mode = BOOT_ARM64;
    if (load_entry(v, el, kernel, f, bs, err) < 0)
        return boot_name_file(err, el->path);
    /* Loads with an address first: they are where the user said. */
    int initrd = -1;
    for (size_t i = 0; i < spec->loads.n; i++) {
        const struct load_spec *ls = &spec->loads.v[i];
        uint64_t at;
        if ((int)i == entry || ls->blob == BLOB_FDT)
            continue;
        if (ls->blob == BLOB_INITRD) {
            if (initrd >= 0)
                continue; /* the front end allows one; be safe */
            initrd = (int)i;
        }
        if (!ls->has_addr)
            continue;
        if ((ls->blob == BLOB_INITRD
                 ? place_initrd_at(v, ls, &imgs[i], bs, err)
                 : boot_load_raw(v, ls, &imgs[i], 0, UINT64_MAX, &at, err)) < 0)
            return boot_name_file(err, ls->path);
    }
    if (place_fdt(v, bs, err) < 0)
        return boot_name_file(err, el->path);
    bs->x[0] = bs->fdt;
    uint64_t hi = MAX(bs->kernel_end, bs->fdt + bs->fdt_size);
    if (initrd >= 0 && !spec->loads.v[initrd].has_addr) {
        if (place_initrd(v, &imgs[initrd], hi, bs, err) < 0)
            return boot_name_file(err, spec->loads.v[initrd].path);
        hi = MAX(hi, bs->initrd_end);
    }
    for (size_t i = 0; i < spec->loads.n; i++) {
        const struct load_spec *ls = &spec->loads.v[i];
        uint64_t at, min;
        if ((int)i == entry || ls->blob == BLOB_FDT ||
            ls->blob == BLOB_INITRD || ls->has_addr)
            continue;
        if (!align_up(hi, PAGE, &min))
            min = hi;
        if (boot_load_raw(v, ls, &imgs[i], min, UINT64_MAX, &at, err) < 0)
            return boot_name_file(err, ls->path);
        hi = MAX(hi, at + imgs[i].size);
    }
    return 0;
}

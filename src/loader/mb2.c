/*
 * mb2.c: Multiboot 2 kernels (Multiboot2 Specification 2.0), as far as
 * Xen needs them. Header (3.1.1): u32 magic 0xE85250D6, architecture (0 =
 * i386), header_length, checksum; then 8-byte aligned tags {u16 type, u16
 * flags (bit 0 = optional), u32 size} ending with type 0, within the first
 * 32 KiB. Understood tags: 1 information request, 2 address, 3 entry
 * address, 4 console flags, 5 framebuffer (ignored: no display), 6 module
 * alignment (modules are page-aligned anyway), 7/8/9 EFI (ignored: no EFI),
 * 10 relocatable (the image is loaded where its headers say).
 *
 * Boot information (3.6): {u32 total_size, u32 reserved} then 8-byte
 * aligned tags {u32 type, u32 size}: 1 cmdline, 2 boot loader name, 3
 * modules, 4 basic meminfo, 6 mmap (entry_size 24, version 0), 14/15 ACPI
 * old/new RSDP, and the end tag {0, 8}.
 */
#include <string.h>

#include "loader/internal.h"
#include "util/le.h"
#include "util/ckd.h"

#define fail boot_fail

#define MB2_MAGIC    0xE85250D6u
#define MB2_SEARCH   32768u
#define TAG_OPTIONAL 1u
#define MBI_MAX      16384u

int mb2_find(const struct boot_image *img, struct mb2_header *h,
             struct boot_err *err)
{
    size_t lim = MIN(img->size, (size_t)MB2_SEARCH);
    for (size_t off = 0; off + 16 <= lim; off += 8) {
        const unsigned char *p = img->data + off;
        if (le_get32(p) != MB2_MAGIC)
            continue;
        uint32_t arch = le_get32(p + 4), len = le_get32(p + 8);
        if ((uint32_t)(MB2_MAGIC + arch + len + le_get32(p + 12)) != 0)
            continue;
        memset(h, 0, sizeof(*h));
        h->offset = off;
        h->length = len;
        if (arch != 0)
            return fail(err, "multiboot2 architecture %u is not i386", arch);
        if (len < 24 || len > img->size - off)
            return fail(err,
                        "multiboot2 header_length 0x%x runs past the end of "
                        "the file",
                        len);
        for (uint64_t t = 16; t + 8 <= len;) {
            uint16_t type = le_get16(p + t), flags = le_get16(p + t + 2);
            uint32_t size = le_get32(p + t + 4);
            if (type == 0)
                return 0;
            if (size < 8 || size > len - t)
                return fail(err,
                            "multiboot2 header tag %u at +0x%llx has a "
                            "bad size %u",
                            type, (unsigned long long)t, size);
            const unsigned char *q = p + t + 8;
            switch (type) {
            case 1: /* information request: are all the tags known? */
                for (uint32_t i = 8; i + 4 <= size; i += 4) {
                    uint32_t want = le_get32(p + t + i);
                    if (want == 14 || want == 15)
                        h->want_rsdp = true;
                    else if (want > 6 && !(flags & TAG_OPTIONAL))
                        return fail(err,
                                    "multiboot2 kernel requires boot "
                                    "information tag %u, which qvm does "
                                    "not provide",
                                    want);
                }
                break;
            case 2:
                if (size < 24)
                    return fail(err, "multiboot2 address tag too short");
                h->has_addr = true;
                h->header_addr = le_get32(q);
                h->load_addr = le_get32(q + 4);
                h->load_end_addr = le_get32(q + 8);
                h->bss_end_addr = le_get32(q + 12);
                break;
            case 3:
                if (size < 12)
                    return fail(err, "multiboot2 entry tag too short");
                h->has_entry = true;
                h->entry_addr = le_get32(q);
                break;
            case 4:
            case 6:
            case 10:
                break;
            default:
                if (!(flags & TAG_OPTIONAL) && type != 5)
                    return fail(err,
                                "multiboot2 header tag %u is required and "
                                "not supported",
                                type);
                break;
            }
            t += ALIGN_UP((uint64_t)size, 8ull);
        }
        return fail(err, "multiboot2 header has no end tag");
    }
    return fail(err, "no multiboot2 header in the first 32 KiB");
}

int mb2_load(struct gview *v, const struct boot_image *img,
             const struct mb2_header *h, uint64_t *entry, uint64_t *hi,
             struct boot_err *err)
{
    if (h->has_addr) {
        struct mb1_header m = {.offset = h->offset,
                               .flags = 1u << 16,
                               .header_addr = h->header_addr,
                               .load_addr = h->load_addr,
                               .load_end_addr = h->load_end_addr,
                               .bss_end_addr = h->bss_end_addr,
                               .entry_addr = h->entry_addr};
        if (!h->has_entry)
            return fail(err, "multiboot2 address tag without an entry tag");
        return mb1_load(v, img, &m, entry, hi, err);
    }
    if (elf_load(v, img, entry, hi, err) < 0)
        return -1;
    if (h->has_entry)
        *entry = h->entry_addr;
    if (*entry > UINT32_MAX)
        return fail(err, "multiboot2 entry 0x%llx is above 4 GiB",
                    (unsigned long long)*entry);
    return 0;
}

/* An MBI under construction in a host buffer. */
struct mbi {
    unsigned char b[MBI_MAX];
    size_t n;
    bool overflow;
};

static unsigned char *tag(struct mbi *m, uint32_t type, size_t size)
{
    size_t at = ALIGN_UP(m->n, (size_t)8);
    if (size > MBI_MAX || at > MBI_MAX - size) {
        m->overflow = true;
        return NULL;
    }
    unsigned char *p = m->b + at;
    memset(p, 0, size);
    le_put32(p, type);
    le_put32(p + 4, (uint32_t)size);
    m->n = at + size;
    return p;
}

static void tag_string(struct mbi *m, uint32_t type, const char *s)
{
    size_t len = strlen(s) + 1;
    unsigned char *p = tag(m, type, 8 + len);
    if (p)
        memcpy(p + 8, s, len);
}

int mb2_write_info(struct gview *v, const struct vm_spec *spec,
                   const struct boot_input *in, const char *kernel_path,
                   const struct mb1_module *mods, size_t nmods, uint32_t *info,
                   struct boot_err *err)
{
    static struct mbi mbi_buf; /* 16 KiB: not on the stack */
    struct mbi *m = &mbi_buf;
    memset(m, 0, sizeof(*m));
    m->n = 8;
    (void)kernel_path;
    tag_string(m, 1, spec->cmdline ? spec->cmdline : "");
    tag_string(m, 2, "qvm");
    for (size_t i = 0; i < nmods; i++) {
        const char *s = mods[i].string ? mods[i].string : "";
        size_t len = strlen(s) + 1;
        unsigned char *p = tag(m, 3, 16 + len);
        if (mods[i].end > UINT32_MAX)
            return fail(err, "module %zu is above 4 GiB", i);
        if (p) {
            le_put32(p + 8, (uint32_t)mods[i].start);
            le_put32(p + 12, (uint32_t)mods[i].end);
            memcpy(p + 16, s, len);
        }
    }
    struct e820_ent map[E820_MAX];
    size_t n = boot_e820(spec, in, NULL, 0, map, E820_MAX);
    uint64_t lo = 0, up = 0;
    for (size_t i = 0; i < n; i++) {
        if (map[i].type != E820_RAM)
            continue;
        uint64_t end = map[i].addr + map[i].size;
        if (map[i].addr == 0)
            lo = MIN(end, (uint64_t)0xa0000);
        if (map[i].addr <= 0x100000 && end > 0x100000)
            up = MIN(end, (uint64_t)0xffffffff) - 0x100000;
    }
    unsigned char *p = tag(m, 4, 16);
    if (p) {
        le_put32(p + 8, (uint32_t)(lo / 1024));
        le_put32(p + 12, (uint32_t)(up / 1024));
    }
    p = tag(m, 6, 16 + 24 * n);
    if (p) {
        le_put32(p + 8, 24);
        le_put32(p + 12, 0);
        for (size_t i = 0; i < n; i++) {
            unsigned char *e = p + 16 + 24 * i;
            le_put64(e, map[i].addr);
            le_put64(e + 8, map[i].size);
            le_put32(e + 16, map[i].type);
        }
    }
    if (in && in->rsdp_gpa) {
        /* ACPI 6.x 5.2.5.3: revision at 15; v2+ length at 20. */
        const unsigned char *r = gview_ptr(v, in->rsdp_gpa, 20);
        if (!r)
            return fail(err, "the RSDP at 0x%llx is not in guest RAM",
                        (unsigned long long)in->rsdp_gpa);
        uint32_t len = 20, type = 14;
        if (r[15] >= 2) {
            const unsigned char *r2 = gview_ptr(v, in->rsdp_gpa, 36);
            len = r2 ? le_get32(r2 + 20) : 0;
            if (len < 36 || len > 4096 || !gview_ptr(v, in->rsdp_gpa, len))
                return fail(err, "the RSDP at 0x%llx has a bad length %u",
                            (unsigned long long)in->rsdp_gpa, len);
            type = 15;
        }
        p = tag(m, type, 8 + len);
        if (p)
            memcpy(p + 8, gview_ptr(v, in->rsdp_gpa, len), len);
    }
    tag(m, 0, 8);
    if (m->overflow)
        return fail(err, "the multiboot2 information is larger than %u bytes",
                    MBI_MAX);
    le_put32(m->b, (uint32_t)m->n);
    uint64_t at;
    if (boot_place(v, 0, m->n, 8, &at) < 0 || !gview_write(v, at, m->b, m->n))
        return fail(err, "no free RAM below 4 GiB for the multiboot2 "
                         "information");
    *info = (uint32_t)at;
    return 0;
}

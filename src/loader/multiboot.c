/*
 * multiboot.c: Multiboot 1 kernels (Multiboot Specification 0.6.96):
 * header search (section 3.1.1), the a.out kludge (3.1.3, flag 16), ELF
 * kernels (loaded by their program headers) and the boot information
 * structure (3.3) with the memory map of boot_e820 (ram/rom/reserve lines
 * and qvm's firmware ranges).
 */
#include <stdio.h>
#include <string.h>

#include "loader/boot.h"
#include "util/ckd.h"

#define fail boot_fail

#define MB1_MAGIC       0x1BADB002u
#define MB1_F_AOUT      (1u << 16)
#define MB1_F_KNOWN_REQ 0x7u /* page-align mods, mem info, video mode */

/* Boot information flags and offsets (section 3.3). */
#define MBI_F_MEM     (1u << 0)
#define MBI_F_CMDLINE (1u << 2)
#define MBI_F_MODS    (1u << 3)
#define MBI_F_MMAP    (1u << 6)
#define MBI_F_LOADER  (1u << 9)
#define MBI_SIZE      120

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void wr64(unsigned char *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

int mb1_find(const struct boot_image *img, struct mb1_header *h)
{
    size_t lim = MIN(img->size, (size_t)8192);
    for (size_t off = 0; off + 12 <= lim; off += 4) {
        const unsigned char *p = img->data + off;
        if (rd32(p) != MB1_MAGIC)
            continue;
        uint32_t flags = rd32(p + 4);
        if ((uint32_t)(MB1_MAGIC + flags + rd32(p + 8)) != 0)
            continue;
        memset(h, 0, sizeof(*h));
        h->offset = off;
        h->flags = flags;
        if ((flags & MB1_F_AOUT) && off + 32 <= img->size) {
            h->header_addr = rd32(p + 12);
            h->load_addr = rd32(p + 16);
            h->load_end_addr = rd32(p + 20);
            h->bss_end_addr = rd32(p + 24);
            h->entry_addr = rd32(p + 28);
        } else if (flags & MB1_F_AOUT) {
            continue; /* truncated header */
        }
        return 0;
    }
    return -1;
}

static int aout_load(struct gview *v, const struct boot_image *img,
                     const struct mb1_header *h, uint64_t *entry, uint64_t *hi,
                     struct boot_err *err)
{
    if (h->header_addr < h->load_addr ||
        h->header_addr - h->load_addr > h->offset)
        return fail(err,
                    "multiboot header_addr 0x%x / load_addr 0x%x do not "
                    "match the header's file offset 0x%llx",
                    h->header_addr, h->load_addr,
                    (unsigned long long)h->offset);
    uint64_t foff = h->offset - (h->header_addr - h->load_addr);
    uint64_t flen;
    if (h->load_end_addr == 0) {
        flen = img->size - foff;
    } else {
        if (h->load_end_addr < h->load_addr)
            return fail(err, "multiboot load_end_addr 0x%x < load_addr 0x%x",
                        h->load_end_addr, h->load_addr);
        flen = (uint64_t)h->load_end_addr - h->load_addr;
        uint64_t fend;
        if (ckd_add(&fend, foff, flen) || fend > img->size)
            return fail(err,
                        "multiboot load range [0x%x, 0x%x) needs 0x%llx "
                        "bytes from offset 0x%llx, the file has 0x%zx",
                        h->load_addr, h->load_end_addr,
                        (unsigned long long)flen, (unsigned long long)foff,
                        img->size);
    }
    uint64_t load_end = (uint64_t)h->load_addr + flen, mem_end = load_end;
    if (h->bss_end_addr) {
        if (h->bss_end_addr < load_end)
            return fail(err, "multiboot bss_end_addr 0x%x < load end 0x%llx",
                        h->bss_end_addr, (unsigned long long)load_end);
        mem_end = h->bss_end_addr;
    }
    uint64_t memsz = mem_end - h->load_addr;
    if (memsz == 0)
        return fail(err, "multiboot kernel is empty");
    unsigned char *dst = gview_ptr(v, h->load_addr, memsz);
    if (!dst)
        return fail(err,
                    "multiboot kernel [0x%x, 0x%llx) is not inside one "
                    "ram/rom region",
                    h->load_addr, (unsigned long long)mem_end);
    if (!gview_is_free(v, h->load_addr, memsz))
        return fail(err, "multiboot kernel overlaps another loaded image");
    memcpy(dst, img->data + foff, flen);
    memset(dst + flen, 0, memsz - flen);
    if (gview_mark_used(v, h->load_addr, memsz) < 0)
        return fail(err, "out of memory");
    *entry = h->entry_addr;
    *hi = mem_end;
    return 0;
}

int mb1_load(struct gview *v, const struct boot_image *img,
             const struct mb1_header *h, uint64_t *entry, uint64_t *hi,
             struct boot_err *err)
{
    uint32_t unknown = h->flags & 0xffffu & ~MB1_F_KNOWN_REQ;
    if (unknown)
        return fail(err, "multiboot header requires unknown features 0x%x",
                    unknown);
    if (h->flags & MB1_F_AOUT)
        return aout_load(v, img, h, entry, hi, err);
    if (elf_load(v, img, entry, hi, err) < 0)
        return -1;
    if (*entry > UINT32_MAX)
        return fail(err, "multiboot entry 0x%llx is above 4 GiB",
                    (unsigned long long)*entry);
    return 0;
}

/* Copy a NUL-terminated string into free low memory; 0 on failure. */
static uint32_t put_string(struct gview *v, const char *s)
{
    uint64_t len = strlen(s) + 1, at;
    if (gview_alloc(v, len, 1, 0x1000, 0xa0000, &at) < 0 &&
        gview_alloc(v, len, 1, 0x1000, 0x100000000ull, &at) < 0)
        return 0;
    if (!gview_write(v, at, s, len))
        return 0;
    return (uint32_t)at;
}

/* contig_end: end of the RAM that runs without a gap from `start`. */
static uint64_t contig_end(const struct vm_spec *spec, uint64_t start)
{
    uint64_t end = start;
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < spec->mem.n; i++) {
            const struct mem_region *m = &spec->mem.v[i];
            uint64_t e;
            if (m->kind != MEM_RAM || ckd_add(&e, m->base, m->size))
                continue;
            if (m->base <= end && e > end) {
                end = e;
                grew = true;
            }
        }
    }
    return end;
}

/* clip_fw: `end` lowered to the first firmware range in [start, end). */
static uint64_t clip_fw(const struct boot_input *in, uint64_t start,
                        uint64_t end)
{
    for (size_t i = 0; in && i < in->nfw && i < BOOT_MAX_FW; i++) {
        uint64_t b = in->fw[i].base, e;
        if (!in->fw[i].size || ckd_add(&e, b, in->fw[i].size))
            continue;
        if (b < end && e > start)
            end = MAX(b, start);
    }
    return end;
}

/*
 * mem_lower/mem_upper in KiB: RAM from 0 (to 640 KiB) and from 1 MiB, up
 * to qvm's first firmware range, as in the memory map (a BIOS reports 639
 * KiB when the EBDA/MP table takes the top of base memory).
 */
static void mem_sizes(const struct vm_spec *spec, const struct boot_input *in,
                      uint32_t *lo, uint32_t *up)
{
    uint64_t lo_end =
        clip_fw(in, 0, MIN(contig_end(spec, 0), (uint64_t)0xa0000));
    uint64_t up_end = clip_fw(
        in, 0x100000, MIN(contig_end(spec, 0x100000), (uint64_t)0xffffffff));
    *lo = (uint32_t)(lo_end / 1024);
    *up = (uint32_t)((up_end - 0x100000) / 1024);
}

int mb1_write_info(struct gview *v, const struct vm_spec *spec,
                   const struct boot_input *in, const char *kernel_path,
                   const struct mb1_module *mods, size_t nmods, uint32_t *info,
                   struct boot_err *err)
{
    uint64_t at;
    if (gview_alloc(v, MBI_SIZE, 8, 0x1000, 0xa0000, &at) < 0 &&
        gview_alloc(v, MBI_SIZE, 8, 0x1000, 0x100000000ull, &at) < 0)
        return fail(err, "no free RAM below 4 GiB for the multiboot info");
    unsigned char mbi[MBI_SIZE] = {0};
    uint32_t flags = MBI_F_MEM | MBI_F_LOADER, lo, up;
    mem_sizes(spec, in, &lo, &up);
    wr32(mbi + 4, lo);
    wr32(mbi + 8, up);

    const char *cl = spec->cmdline ? spec->cmdline : "";
    char line[4096];
    /* Like GRUB, the command line starts with the kernel's name. */
    snprintf(line, sizeof(line), "%s%s%s", kernel_path ? kernel_path : "",
             *cl ? " " : "", cl);
    uint32_t s = put_string(v, line);
    if (s) {
        flags |= MBI_F_CMDLINE;
        wr32(mbi + 16, s);
    }
    s = put_string(v, "qvm");
    if (s)
        wr32(mbi + 64, s);

    if (nmods) {
        uint64_t ma;
        if (gview_alloc(v, 16 * nmods, 8, 0x1000, 0x100000000ull, &ma) < 0)
            return fail(err, "no free RAM for the multiboot module list");
        for (size_t i = 0; i < nmods; i++) {
            unsigned char m[16] = {0};
            if (mods[i].end > UINT32_MAX)
                return fail(err, "module %zu is above 4 GiB", i);
            wr32(m, (uint32_t)mods[i].start);
            wr32(m + 4, (uint32_t)mods[i].end);
            wr32(m + 8, put_string(v, mods[i].string ? mods[i].string : ""));
            if (!gview_write(v, ma + 16 * i, m, 16))
                return fail(err, "module list outside guest RAM");
        }
        flags |= MBI_F_MODS;
        wr32(mbi + 20, (uint32_t)nmods);
        wr32(mbi + 24, (uint32_t)ma);
    }

    struct e820_ent ents[E820_MAX];
    size_t n = boot_e820(spec, in, NULL, 0, ents, E820_MAX);
    if (n) {
        uint64_t mm;
        if (gview_alloc(v, 24 * n, 8, 0x1000, 0x100000000ull, &mm) < 0)
            return fail(err, "no free RAM for the multiboot memory map");
        for (size_t i = 0; i < n; i++) {
            unsigned char e[24];
            wr32(e, 20); /* size of the rest of the entry */
            wr64(e + 4, ents[i].addr);
            wr64(e + 12, ents[i].size);
            wr32(e + 20, ents[i].type);
            if (!gview_write(v, mm + 24 * i, e, 24))
                return fail(err, "memory map outside guest RAM");
        }
        flags |= MBI_F_MMAP;
        wr32(mbi + 44, (uint32_t)(24 * n));
        wr32(mbi + 48, (uint32_t)mm);
    }
    wr32(mbi, flags);
    if (!gview_write(v, at, mbi, MBI_SIZE))
        return fail(err, "multiboot info outside guest RAM");
    *info = (uint32_t)at;
    return 0;
}

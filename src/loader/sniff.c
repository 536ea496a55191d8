/*
 * sniff.c: image format recognition by content.
 * References: ELF (System V gABI), Multiboot 0.6.96 section 3.1, Multiboot2
 * 2.0 section 3.1, Linux Documentation/x86/boot.rst, Xen elfnote.h
 * (XEN_ELFNOTE_PHYS32_ENTRY = 18), Linux Documentation/arm64/booting.rst.
 */
#include "loader/sniff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/ckd.h"

#define MB1_MAGIC    0x1BADB002u
#define MB1_AOUT     (1u << 16)
#define MB2_MAGIC    0xE85250D6u
#define XEN_PVH_NOTE 18u

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Returns the MB1 flags word + 1 (0: no valid header in the first 8 KiB). */
static uint64_t find_mb1(const unsigned char *buf, size_t len)
{
    size_t lim = len < 8192 ? len : 8192;
    for (size_t off = 0; off + 12 <= lim; off += 4) {
        if (le32(buf + off) != MB1_MAGIC)
            continue;
        uint32_t flags = le32(buf + off + 4);
        if ((uint32_t)(MB1_MAGIC + flags + le32(buf + off + 8)) == 0)
            return (uint64_t)flags + 1;
    }
    return 0;
}

static int find_mb2(const unsigned char *buf, size_t len)
{
    size_t lim = len < 32768 ? len : 32768;
    for (size_t off = 0; off + 16 <= lim; off += 8) {
        if (le32(buf + off) != MB2_MAGIC)
            continue;
        uint32_t sum = MB2_MAGIC + le32(buf + off + 4) + le32(buf + off + 8) +
                       le32(buf + off + 12);
        if (sum == 0)
            return 1;
    }
    return 0;
}

/* Scans one PT_NOTE segment's bytes for owner "Xen", type 18. */
static int note_has_pvh(const unsigned char *p, size_t n)
{
    size_t off = 0;
    while (off + 12 <= n) {
        uint32_t namesz = le32(p + off), descsz = le32(p + off + 4);
        uint32_t type = le32(p + off + 8);
        size_t name_al = ((size_t)namesz + 3) & ~(size_t)3;
        size_t desc_al = ((size_t)descsz + 3) & ~(size_t)3;
        size_t next;
        if (ckd_add(&next, off + 12, name_al) ||
            ckd_add(&next, next, desc_al) || next > n)
            return 0;
        if (type == XEN_PVH_NOTE && namesz == 4 &&
            memcmp(p + off + 12, "Xen", 4) == 0)
            return 1;
        off = next;
    }
    return 0;
}

static int elf_has_pvh(const unsigned char *buf, size_t len, int is64)
{
    uint64_t phoff = is64 ? le64(buf + 0x20) : le32(buf + 0x1c);
    uint16_t phentsize = le16(buf + (is64 ? 0x36 : 0x2a));
    uint16_t phnum = le16(buf + (is64 ? 0x38 : 0x2c));
    if (phentsize < (is64 ? 56 : 32))
        return 0;
    for (uint16_t i = 0; i < phnum; i++) {
        uint64_t ph, end;
        if (ckd_add(&ph, phoff, (uint64_t)i * phentsize) ||
            ckd_add(&end, ph, phentsize) || end > len)
            return 0;
        const unsigned char *e = buf + ph;
        if (le32(e) != 4) /* PT_NOTE */
            continue;
        uint64_t off = is64 ? le64(e + 8) : le32(e + 4);
        uint64_t sz = is64 ? le64(e + 32) : le32(e + 16);
        uint64_t nend;
        if (ckd_add(&nend, off, sz) || nend > len)
            continue;
        if (note_has_pvh(buf + off, (size_t)sz))
            return 1;
    }
    return 0;
}

enum image_fmt image_sniff(const unsigned char *buf, size_t len)
{
    uint64_t mb1 = find_mb1(buf, len);
    if (mb1 && ((mb1 - 1) & MB1_AOUT))
        return IMG_MULTIBOOT1_AOUT;
    int is_elf = len >= 0x40 && memcmp(buf,
                                       "\x7f"
                                       "ELF",
                                       4) == 0;
    int is64 = is_elf && buf[4] == 2;
    if (is_elf && mb1)
        return IMG_MULTIBOOT1_ELF;
    if (is_elf && find_mb2(buf, len))
        return IMG_MULTIBOOT2;
    if (is_elf) {
        if (elf_has_pvh(buf, len, is64))
            return IMG_PVH_ELF;
        return is64 ? IMG_ELF64 : IMG_ELF32;
    }
    if (len >= 0x206 && le16(buf + 0x1fe) == 0xAA55 &&
        memcmp(buf + 0x202, "HdrS", 4) == 0)
        return IMG_BZIMAGE;
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        return IMG_GZIP;
    if (len >= 0x40 && memcmp(buf + 0x38, "ARM\x64", 4) == 0)
        return IMG_ARM64_IMAGE;
    if (len >= 4 && buf[0] == 0xd0 && buf[1] == 0x0d && buf[2] == 0xfe &&
        buf[3] == 0xed)
        return IMG_FDT;
    return IMG_RAW;
}

int image_is_executable(enum image_fmt f)
{
    switch (f) {
    case IMG_ELF32:
    case IMG_ELF64:
    case IMG_MULTIBOOT1_ELF:
    case IMG_MULTIBOOT1_AOUT:
    case IMG_MULTIBOOT2:
    case IMG_BZIMAGE:
    case IMG_PVH_ELF:
    case IMG_ARM64_IMAGE:
        return 1;
    default:
        return 0;
    }
}

#define SNIFF_HEAD    32768
#define SNIFF_MAXNOTE 65536

/* PVH note search through the reader: phdrs, then each PT_NOTE (bounded). */
static int file_has_pvh(sniff_read_fn rd, void *ctx, const unsigned char *h,
                        int is64)
{
    uint64_t phoff = is64 ? le64(h + 0x20) : le32(h + 0x1c);
    uint16_t phentsize = le16(h + (is64 ? 0x36 : 0x2a));
    uint16_t phnum = le16(h + (is64 ? 0x38 : 0x2c));
    if (phentsize < (is64 ? 56 : 32) || phentsize > 256)
        return 0;
    unsigned char ph[256];
    for (uint16_t i = 0; i < phnum; i++) {
        uint64_t at;
        if (ckd_add(&at, phoff, (uint64_t)i * phentsize) ||
            rd(ctx, at, ph, phentsize) != phentsize)
            return 0;
        if (le32(ph) != 4) /* PT_NOTE */
            continue;
        uint64_t off = is64 ? le64(ph + 8) : le32(ph + 4);
        uint64_t sz = is64 ? le64(ph + 32) : le32(ph + 16);
        if (sz == 0 || sz > SNIFF_MAXNOTE)
            continue;
        unsigned char *n = malloc((size_t)sz);
        if (!n)
            return 0;
        int found = rd(ctx, off, n, (size_t)sz) == (long)sz &&
                    note_has_pvh(n, (size_t)sz);
        free(n);
        if (found)
            return 1;
    }
    return 0;
}

int image_sniff_file(sniff_read_fn rd, void *ctx, enum image_fmt *fmt)
{
    unsigned char *h = malloc(SNIFF_HEAD);
    if (!h)
        return -12; /* ENOMEM */
    long got = rd(ctx, 0, h, SNIFF_HEAD);
    if (got < 0) {
        free(h);
        return (int)got;
    }
    *fmt = image_sniff(h, (size_t)got);
    if ((*fmt == IMG_ELF32 || *fmt == IMG_ELF64) && got >= 0x40 &&
        file_has_pvh(rd, ctx, h, *fmt == IMG_ELF64))
        *fmt = IMG_PVH_ELF;
    free(h);
    return 0;
}

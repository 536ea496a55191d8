/*
 * test_loader_arm64.c: the aarch64 loaders on synthetic images in a fake
 * guest memory (RAM at 0x40000000 as on QEMU's virt and QNX's ARM boards):
 * Linux arm64 Image header fields and placement (text_offset 0 and
 * 0x80000, image_size 0, an unaligned RAM base, `load ADDR,`, an image
 * larger than RAM, truncated header, bad magic, big-endian), the header of
 * Debian's arm64 kernel, gzip'd Image, ELF64 AArch64 with two segments,
 * ELF32 ARM and x86 images refused (and an arm64 Image for an x86 guest),
 * raw binaries, the DTB room and the initrd's placement and bounds.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "loader/boot.h"
#include "loader/sniff.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE (40ull << 20)
#define KSIZE    0x3000u

struct env {
    struct gview v;
    unsigned char *ram, *ram2;
    struct vm_spec s;
    struct boot_image imgs[3];
    unsigned char kernel[KSIZE];
    unsigned char initrd[5000];
};

static char path_k[] = "Image";
static char path_rd[] = "rd";
static char path_fdt[] = "over.dtbo";

/* A synthetic Image: code words, the header fields, the magic, a pattern. */
static void make_image(unsigned char *k, size_t size, uint64_t text_offset,
                       uint64_t image_size, uint64_t flags)
{
    memset(k, 0, size);
    memcpy(k, &(uint32_t){0x91005a4du}, 4);     /* "MZ" + add x13, x18, #0x16 */
    memcpy(k + 4, &(uint32_t){0x14000010u}, 4); /* b +0x40 */
    memcpy(k + 8, &text_offset, 8);
    memcpy(k + 16, &image_size, 8);
    memcpy(k + 24, &flags, 8);
    memcpy(k + 0x38, "ARM\x64", 4);
    for (size_t i = 0x40; i < size; i++)
        k[i] = (unsigned char)(i * 7 + 3);
}

static void env_ram(struct env *e, uint64_t base, uint64_t size)
{
    e->ram = calloc(1, size);
    assert_non_null(e->ram);
    memset(e->ram, 0xee, size); /* the loader must zero what it reserves */
    assert_int_equal(gview_add_region(&e->v, base, size, e->ram, GV_RAM), 0);
    struct mem_region *m = VEC_PUSH(&e->s.mem);
    *m = (struct mem_region){.kind = MEM_RAM, .base = base, .size = size};
}

static void env_load(struct env *e, char *path, enum blob_type blob)
{
    struct load_spec *l = VEC_PUSH(&e->s.loads);
    l->path = path;
    l->blob = blob;
}

static int setup_ram(void **state, uint64_t base, uint64_t size)
{
    struct env *e = calloc(1, sizeof(*e));
    e->s.arch = ARCH_AARCH64;
    e->s.entry_load = 0;
    env_ram(e, base, size);
    env_load(e, path_k, BLOB_NONE);
    env_load(e, path_rd, BLOB_INITRD);
    make_image(e->kernel, KSIZE, 0, 0x300000, 0xa);
    for (unsigned i = 0; i < sizeof(e->initrd); i++)
        e->initrd[i] = (unsigned char)(i * 13 + 5);
    e->imgs[0] = (struct boot_image){e->kernel, KSIZE, "Image"};
    e->imgs[1] = (struct boot_image){e->initrd, sizeof(e->initrd), "rd"};
    *state = e;
    return 0;
}

static int setup(void **state)
{
    return setup_ram(state, RAM_BASE, RAM_SIZE);
}

/* RAM that starts 1 MiB past a 2 MiB boundary. */
static int setup_unaligned(void **state)
{
    return setup_ram(state, RAM_BASE + 0x100000, RAM_SIZE);
}

static int teardown(void **state)
{
    struct env *e = *state;
    gview_free(&e->v);
    VEC_FREE(&e->s.mem);
    VEC_FREE(&e->s.loads);
    free(e->ram);
    free(e->ram2);
    free(e);
    return 0;
}

static int load(struct env *e, enum image_fmt force, struct boot_state *bs,
                struct boot_err *err)
{
    memset(err, 0, sizeof(*err));
    return boot_load_images(&e->v, &e->s, NULL, e->imgs, force, bs, err);
}

static void must_load(struct env *e, struct boot_state *bs)
{
    struct boot_err err;
    if (load(e, IMG_RAW, bs, &err) < 0)
        fail_msg("%s", err.msg);
}

static void expect_error(struct env *e, enum image_fmt force, const char *what)
{
    struct boot_state bs;
    struct boot_err err;
    assert_int_equal(load(e, force, &bs, &err), -1);
    if (!strstr(err.msg, what))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, what);
}

static const unsigned char *gmem(struct env *e, uint64_t gpa, uint64_t len)
{
    const unsigned char *p = gview_ptr(&e->v, gpa, len);
    assert_non_null(p);
    return p;
}

static void reset_view(struct env *e)
{
    gview_free(&e->v);
    memset(&e->v, 0, sizeof(e->v));
    assert_int_equal(
        gview_add_region(&e->v, RAM_BASE, RAM_SIZE, e->ram, GV_RAM), 0);
}

static void test_image_ok(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    assert_int_equal(image_sniff(e->kernel, KSIZE), IMG_ARM64_IMAGE);
    must_load(e, &bs);
    assert_int_equal(bs.mode, BOOT_ARM64);
    assert_int_equal(bs.fmt, IMG_ARM64_IMAGE);
    /* text_offset 0: at the start of RAM (a 2 MiB boundary); PC there. */
    assert_int_equal(bs.entry, RAM_BASE);
    assert_int_equal(bs.kernel_start, RAM_BASE);
    assert_int_equal(bs.kernel_end, RAM_BASE + 0x300000);
    const unsigned char *k = gmem(e, RAM_BASE, 0x300000);
    assert_memory_equal(k, e->kernel, KSIZE);
    /* image_size bytes from the load address are the kernel's: zeroed. */
    assert_int_equal(k[KSIZE], 0);
    assert_int_equal(k[0x2fffff], 0);
    assert_false(gview_is_free(&e->v, RAM_BASE + 0x2fffff, 1));
    /* The DTB room: 2 MiB at the next 2 MiB boundary; x0 points at it. */
    assert_int_equal(bs.fdt, RAM_BASE + 0x400000);
    assert_int_equal(bs.fdt_size, 2u << 20);
    assert_int_equal(bs.x[0], bs.fdt);
    assert_int_equal(bs.x[1] | bs.x[2] | bs.x[3], 0);
    assert_false(gview_is_free(&e->v, bs.fdt, bs.fdt_size));
    /* The initrd right after it, for /chosen. */
    assert_int_equal(bs.initrd_start, RAM_BASE + 0x600000);
    assert_int_equal(bs.initrd_end, RAM_BASE + 0x600000 + sizeof(e->initrd));
    assert_memory_equal(gmem(e, bs.initrd_start, sizeof(e->initrd)), e->initrd,
                        sizeof(e->initrd));
    assert_int_equal(BOOT_ARM64_PSTATE, 0x3c5);
}

static void test_image_text_offset(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    make_image(e->kernel, KSIZE, 0x80000, 0x200000, 0xa);
    must_load(e, &bs);
    assert_int_equal(bs.entry, RAM_BASE + 0x80000);
    assert_memory_equal(gmem(e, RAM_BASE + 0x80000, KSIZE), e->kernel, KSIZE);
    /* Below the image nothing was written or reserved. */
    assert_int_equal(gmem(e, RAM_BASE, 1)[0], 0xee);
    assert_int_equal(bs.kernel_end, RAM_BASE + 0x280000);
    assert_int_equal(bs.fdt, RAM_BASE + 0x400000);
}

/* Kernels before 3.17: image_size 0, text_offset taken as 0x80000 whatever
 * the field says, and BSS room kept after the file. */
static void test_image_size_zero(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    make_image(e->kernel, KSIZE, 0x00000800, 0, 0);
    must_load(e, &bs);
    assert_int_equal(bs.entry, RAM_BASE + 0x80000);
    assert_int_equal(bs.kernel_end,
                     RAM_BASE + 0x80000 + 0x200000 + ARM64_NOSIZE_SLACK);
    assert_int_equal(bs.fdt, RAM_BASE + 0xc00000);
    struct arm64_header h;
    struct boot_err err;
    struct boot_image img = {e->kernel, KSIZE, "Image"};
    assert_int_equal(arm64_image_header(&img, &h, &err), 0);
    assert_int_equal(h.text_offset, 0x80000);
    assert_int_equal(h.image_size, 0);
}

static void test_image_unaligned_ram(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    make_image(e->kernel, KSIZE, 0x80000, 0x200000, 0xa);
    must_load(e, &bs);
    /* RAM starts at 0x40100000: the base is the next 2 MiB boundary. */
    assert_int_equal(bs.entry, RAM_BASE + 0x200000 + 0x80000);
    assert_int_equal(bs.fdt % (2u << 20), 0);
    assert_true(bs.fdt >= bs.kernel_end);
}

static void test_image_at_address(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    make_image(e->kernel, KSIZE, 0x80000, 0x200000, 0xa);
    e->s.loads.v[0].has_addr = true;
    e->s.loads.v[0].addr = RAM_BASE + 0x800000 + 0x80000;
    must_load(e, &bs);
    assert_int_equal(bs.entry, RAM_BASE + 0x880000);
    assert_memory_equal(gmem(e, bs.entry, KSIZE), e->kernel, KSIZE);
    assert_int_equal(bs.fdt, RAM_BASE + 0xc00000);
    assert_int_equal(bs.initrd_start, RAM_BASE + 0xe00000);
    /* Not text_offset above a 2 MiB boundary. */
    reset_view(e);
    e->s.loads.v[0].addr = RAM_BASE + 0x100000;
    expect_error(e, IMG_RAW,
                 "Image: load address 0x40100000 is not "
                 "text_offset 0x80000 above a 2 MiB boundary");
    /* Not in RAM. */
    e->s.loads.v[0].addr = RAM_BASE + RAM_SIZE + 0x80000;
    expect_error(e, IMG_RAW, "is not inside one ram region");
}

static void test_image_bad(void **state)
{
    struct env *e = *state;
    /* Larger than RAM (image_size), and a file larger than RAM. */
    make_image(e->kernel, KSIZE, 0, RAM_SIZE + 0x1000, 0xa);
    expect_error(e, IMG_RAW,
                 "Image: no ram region holds the kernel: "
                 "0x2801000 bytes (its image_size)");
    make_image(e->kernel, KSIZE, 0, 0x200000, 0xa);
    e->imgs[0].size = 0x30;
    assert_int_equal(image_sniff(e->kernel, 0x30), IMG_RAW);
    expect_error(e, IMG_ARM64_IMAGE, "Image: truncated arm64 Image");
    e->imgs[0].size = KSIZE;
    e->kernel[0x3b] = 0x65;
    expect_error(e, IMG_ARM64_IMAGE, "no magic \"ARM\\x64\" at 0x38");
    make_image(e->kernel, KSIZE, 0, 0x200000, 0xb);
    expect_error(e, IMG_RAW, "big-endian kernel");
    make_image(e->kernel, KSIZE, 0x80002, 0x200000, 0xa);
    expect_error(e, IMG_RAW, "text_offset 0x80002 is not a multiple of 4");
    make_image(e->kernel, KSIZE, UINT64_MAX - 3, 0x200000, 0xa);
    expect_error(e, IMG_RAW, "no ram region holds the kernel");
    make_image(e->kernel, KSIZE, 0, UINT64_MAX, 0xa);
    expect_error(e, IMG_RAW, "no ram region holds the kernel");
}

static void test_image_big_file(void **state)
{
    struct env *e = *state;
    size_t n = RAM_SIZE + 0x1000;
    unsigned char *big = calloc(1, n);
    make_image(big, 0x40, 0, 0x200000, 0xa); /* image_size < file size */
    e->imgs[0] = (struct boot_image){big, n, "Image"};
    expect_error(e, IMG_RAW, "no ram region holds the kernel: 0x2801000");
    free(big);
}

/*
 * The first 64 bytes of Debian's arm64 kernel (linux-image-6.1.0-57-arm64
 * 6.1.192-3, /boot/vmlinuz-6.1.0-57-arm64: an uncompressed Image with an
 * EFI stub): MZ, text_offset 0, image_size 0x2010000, flags 0xa (LE, 4K
 * pages, base anywhere), "ARM\x64", PE header at 0x40.
 */
static const unsigned char debian_hdr[64] = {
    0x4d, 0x5a, 0x40, 0xfa, 0x56, 0xa3, 0x59, 0x14, 0,    0, 0, 0,    0,
    0,    0,    0,    0,    0,    0x01, 0x02, 0,    0,    0, 0, 0x0a, 0,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0,    0,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0,    0,
    0,    0,    0,    0,    0x41, 0x52, 0x4d, 0x64, 0x40, 0, 0, 0};

static void test_debian_header(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err;
    struct arm64_header h;
    struct boot_image img = {debian_hdr, sizeof(debian_hdr), "vmlinuz"};
    assert_int_equal(image_sniff(debian_hdr, sizeof(debian_hdr)),
                     IMG_ARM64_IMAGE);
    assert_int_equal(arm64_image_header(&img, &h, &err), 0);
    assert_int_equal(h.text_offset, 0);
    assert_int_equal(h.image_size, 0x2010000);
    assert_int_equal(h.flags, 0xa);
    assert_int_equal((h.flags >> ARM64_FLAG_PAGE_SHIFT) & 3, 1); /* 4K */
    assert_true(h.flags & ARM64_FLAG_PHYS_ANY);
    e->imgs[0] = img;
    must_load(e, &bs);
    assert_int_equal(bs.entry, RAM_BASE);
    assert_int_equal(bs.kernel_end, RAM_BASE + 0x2010000);
    assert_int_equal(bs.fdt, RAM_BASE + 0x2200000);
    assert_int_equal(bs.initrd_start, RAM_BASE + 0x2400000);
    assert_memory_equal(gmem(e, RAM_BASE, 64), debian_hdr, 64);
}

/* gzip (RFC 1952) of buf through zlib's deflate. */
static unsigned char *gzip(const void *buf, size_t len, size_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(
        deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
    size_t cap = deflateBound(&zs, len) + 64;
    unsigned char *o = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)buf;
    zs.avail_in = (uInt)len;
    zs.next_out = o;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out = cap - zs.avail_out;
    deflateEnd(&zs);
    return o;
}

static void test_image_gzip(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    size_t n;
    make_image(e->kernel, KSIZE, 0x80000, 0x200000, 0xa);
    unsigned char *gz = gzip(e->kernel, KSIZE, &n);
    assert_int_equal(image_sniff(gz, n), IMG_GZIP);
    e->imgs[0] = (struct boot_image){gz, n, "vmlinuz"};
    must_load(e, &bs);
    assert_int_equal(bs.fmt, IMG_ARM64_IMAGE);
    assert_int_equal(bs.entry, RAM_BASE + 0x80000);
    assert_memory_equal(gmem(e, bs.entry, KSIZE), e->kernel, KSIZE);
    free(gz);
    /* More than the guest's RAM once decompressed: refused by gunzip. */
    size_t bign = RAM_SIZE + 0x1000;
    unsigned char *big = calloc(1, bign);
    make_image(big, 0x40, 0, 0x200000, 0xa);
    gz = gzip(big, bign, &n);
    free(big);
    e->imgs[0] = (struct boot_image){gz, n, "vmlinuz"};
    expect_error(e, IMG_RAW, "Image: the gzip image decompresses to more");
    free(gz);
}

/* An ELF64 AArch64 image with two PT_LOAD segments, linked high (vaddr)
 * and loaded at physical addresses in RAM, as a QNX IFS. */
static size_t make_elf(unsigned char *buf, unsigned cls, unsigned machine)
{
    memset(buf, 0, 0x400);
    Elf64_Ehdr h = {0};
    memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS64;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = ET_EXEC;
    h.e_machine = (uint16_t)machine;
    h.e_version = EV_CURRENT;
    h.e_entry = 0xffffff8000000040ull;
    h.e_phoff = sizeof(h);
    h.e_ehsize = sizeof(h);
    h.e_phentsize = sizeof(Elf64_Phdr);
    h.e_phnum = 2;
    if (cls == ELFCLASS32) {
        Elf32_Ehdr h32 = {0};
        memcpy(h32.e_ident, h.e_ident, EI_NIDENT);
        h32.e_ident[EI_CLASS] = ELFCLASS32;
        h32.e_type = ET_EXEC;
        h32.e_machine = (uint16_t)machine;
        h32.e_version = EV_CURRENT;
        h32.e_entry = 0x40000040;
        h32.e_phoff = sizeof(h32);
        h32.e_phentsize = sizeof(Elf32_Phdr);
        h32.e_phnum = 1;
        memcpy(buf, &h32, sizeof(h32));
        Elf32_Phdr p = {PT_LOAD, 0x200, 0x40000000, 0x40000000,
                        0x100,   0x100, 5,          0x1000};
        memcpy(buf + sizeof(h32), &p, sizeof(p));
        return 0x400;
    }
    memcpy(buf, &h, sizeof(h));
    Elf64_Phdr p[2] = {
        {PT_LOAD, 5, 0x200, 0xffffff8000000000ull, RAM_BASE + 0x10000, 0x100,
         0x2000, 0x1000},
        {PT_LOAD, 6, 0x300, 0xffffff8000100000ull, RAM_BASE + 0x110000, 0x80,
         0x80, 0x1000},
    };
    memcpy(buf + sizeof(h), p, sizeof(p));
    for (unsigned i = 0x200; i < 0x400; i++)
        buf[i] = (unsigned char)(i * 5 + 1);
    return 0x400;
}

static void test_elf64(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    unsigned char elf[0x400];
    e->imgs[0] = (struct boot_image){elf, make_elf(elf, ELFCLASS64, EM_AARCH64),
                                     "ifs.elf"};
    assert_int_equal(image_sniff(elf, sizeof(elf)), IMG_ELF64);
    must_load(e, &bs);
    assert_int_equal(bs.mode, BOOT_ARM64);
    assert_int_equal(bs.fmt, IMG_ELF64);
    /* e_entry translated through the first segment to its p_paddr. */
    assert_int_equal(bs.entry, RAM_BASE + 0x10040);
    assert_int_equal(bs.kernel_start, RAM_BASE + 0x10000);
    assert_int_equal(bs.kernel_end, RAM_BASE + 0x110080);
    assert_memory_equal(gmem(e, RAM_BASE + 0x10000, 0x100), elf + 0x200, 0x100);
    assert_int_equal(gmem(e, RAM_BASE + 0x11fff, 1)[0], 0); /* bss */
    assert_memory_equal(gmem(e, RAM_BASE + 0x110000, 0x80), elf + 0x300, 0x80);
    assert_int_equal(bs.fdt, RAM_BASE + 0x200000);
    assert_int_equal(bs.x[0], bs.fdt);
    assert_int_equal(bs.initrd_start, RAM_BASE + 0x400000);
}

/* An AArch64 ELF that happens to hold a multiboot header is still one. */
static void test_elf64_multiboot_magic(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    unsigned char elf[0x400];
    uint32_t mb[3] = {0x1BADB002u, 0, (uint32_t)-0x1BADB002u};
    e->imgs[0] =
        (struct boot_image){elf, make_elf(elf, ELFCLASS64, EM_AARCH64), "ifs"};
    memcpy(elf + 0x1c0, mb, sizeof(mb));
    assert_int_equal(image_sniff(elf, sizeof(elf)), IMG_MULTIBOOT1_ELF);
    must_load(e, &bs);
    assert_int_equal(bs.mode, BOOT_ARM64);
    assert_int_equal(bs.entry, RAM_BASE + 0x10040);
}

static void test_elf_refused(void **state)
{
    struct env *e = *state;
    unsigned char elf[0x400];
    e->imgs[0] =
        (struct boot_image){elf, make_elf(elf, ELFCLASS32, EM_ARM), "Image"};
    assert_int_equal(image_sniff(elf, sizeof(elf)), IMG_ELF32);
    expect_error(e, IMG_RAW, "Image: a 32-bit ARM ELF (ELFCLASS32, EM_ARM)");
    make_elf(elf, ELFCLASS64, EM_X86_64);
    expect_error(e, IMG_RAW,
                 "Image: an x86 ELF (e_machine 62) is not for aarch64 guests");
    make_elf(elf, ELFCLASS64, EM_AARCH64);
    elf[EI_DATA] = ELFDATA2MSB;
    expect_error(e, IMG_RAW, "big-endian ELF");
    /* An AArch64 ELF on an x86 guest. */
    make_elf(elf, ELFCLASS64, EM_AARCH64);
    e->s.arch = ARCH_X86_64;
    expect_error(e, IMG_RAW,
                 "Image: an AArch64 ELF (e_machine 183) is not "
                 "for x86-64 guests");
}

static void test_cross_arch(void **state)
{
    struct env *e = *state;
    unsigned char bz[0x400] = {0};
    bz[0x1f1] = 1;
    bz[0x1fe] = 0x55;
    bz[0x1ff] = 0xaa;
    memcpy(bz + 0x202, "HdrS", 4);
    e->imgs[0] = (struct boot_image){bz, sizeof(bz), "Image"};
    expect_error(e, IMG_RAW,
                 "Image: a Linux bzImage is an x86 image; this is "
                 "an aarch64 guest");
    expect_error(e, IMG_MULTIBOOT1_AOUT, "multiboot");
    /* An arm64 Image for an x86-64 guest. */
    e->imgs[0] = (struct boot_image){e->kernel, KSIZE, "Image"};
    e->s.arch = ARCH_X86_64;
    expect_error(e, IMG_RAW,
                 "Image: a Linux arm64 Image is an aarch64 "
                 "kernel; this is an x86-64 guest");
    /* An FDT as the guest. */
    unsigned char fdt[64] = {0xd0, 0x0d, 0xfe, 0xed};
    e->s.arch = ARCH_AARCH64;
    e->imgs[0] = (struct boot_image){fdt, sizeof(fdt), "Image"};
    expect_error(e, IMG_RAW, "a flattened device tree is not a guest image");
    /* EFI zboot: a compressed kernel qvm cannot run. */
    unsigned char zb[64] = {'M', 'Z', 0, 0, 'z', 'i', 'm', 'g'};
    e->imgs[0] = (struct boot_image){zb, sizeof(zb), "Image"};
    expect_error(e, IMG_RAW, "EFI zboot");
}

static void test_raw(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    unsigned char raw[0x1800];
    for (unsigned i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(i + 9);
    e->imgs[0] = (struct boot_image){raw, sizeof(raw), "guest.bin"};
    must_load(e, &bs);
    assert_int_equal(bs.fmt, IMG_RAW);
    assert_int_equal(bs.entry, RAM_BASE);
    assert_memory_equal(gmem(e, RAM_BASE, sizeof(raw)), raw, sizeof(raw));
    assert_int_equal(bs.fdt, RAM_BASE + 0x200000);
    assert_int_equal(bs.x[0], bs.fdt);
}

static void test_raw_at(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    unsigned char raw[0x100] = {1, 2, 3};
    e->imgs[0] = (struct boot_image){raw, sizeof(raw), "guest.bin"};
    e->s.loads.v[0].has_addr = true;
    e->s.loads.v[0].addr = RAM_BASE + 0x123000;
    must_load(e, &bs);
    assert_int_equal(bs.entry, RAM_BASE + 0x123000);
    assert_memory_equal(gmem(e, bs.entry, 3), raw, 3);
    assert_int_equal(bs.fdt, RAM_BASE + 0x200000);
}

static void test_initrd_at(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct load_spec *rd = &e->s.loads.v[1];
    rd->has_addr = true;
    /* Where the DTB would go: the initrd keeps its place, the DTB moves. */
    rd->addr = RAM_BASE + 0x400000;
    must_load(e, &bs);
    assert_int_equal(bs.initrd_start, RAM_BASE + 0x400000);
    assert_int_equal(bs.initrd_end, RAM_BASE + 0x400000 + sizeof(e->initrd));
    assert_memory_equal(gmem(e, rd->addr, sizeof(e->initrd)), e->initrd,
                        sizeof(e->initrd));
    assert_int_equal(bs.fdt, RAM_BASE + 0x600000);
    /* Over the kernel. */
    reset_view(e);
    rd->addr = RAM_BASE + 0x1000;
    expect_error(e, IMG_RAW, "rd: 0x40001000 overlaps another loaded image");
    /* Past the end of RAM, and straddling it. */
    reset_view(e);
    rd->addr = RAM_BASE + RAM_SIZE;
    expect_error(e, IMG_RAW,
                 "rd: the initrd [0x42800000, +0x1388) is not "
                 "inside one ram region");
    reset_view(e);
    rd->addr = RAM_BASE + RAM_SIZE - 0x1000;
    expect_error(e, IMG_RAW, "is not inside one ram region");
}

static void test_initrd_rom(void **state)
{
    struct env *e = *state;
    unsigned char *rom = calloc(1, 0x10000);
    assert_int_equal(gview_add_region(&e->v, 0x10000000, 0x10000, rom, GV_ROM),
                     0);
    e->s.loads.v[1].has_addr = true;
    e->s.loads.v[1].addr = 0x10000000;
    expect_error(e, IMG_RAW, "is not inside one ram region");
    gview_free(&e->v);
    memset(&e->v, 0, sizeof(e->v));
    free(rom);
}

/* A second RAM bank 40 GiB up: outside the 32 GiB window of the kernel. */
static void test_initrd_window(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    uint64_t far = RAM_BASE + (40ull << 30);
    e->ram2 = calloc(1, 0x100000);
    assert_int_equal(gview_add_region(&e->v, far, 0x100000, e->ram2, GV_RAM),
                     0);
    e->s.loads.v[1].has_addr = true;
    e->s.loads.v[1].addr = far;
    expect_error(e, IMG_RAW,
                 "rd: the initrd at 0xa40000000 is too far from "
                 "the kernel at 0x40000000");
    /* Without an address it goes near the kernel, never up there. */
    e->s.loads.v[1].has_addr = false;
    gview_free(&e->v);
    memset(&e->v, 0, sizeof(e->v));
    assert_int_equal(
        gview_add_region(&e->v, RAM_BASE, 0x800000, e->ram, GV_RAM), 0);
    assert_int_equal(gview_add_region(&e->v, far, 0x100000, e->ram2, GV_RAM),
                     0);
    static unsigned char big[0x300000];
    e->imgs[1] = (struct boot_image){big, sizeof(big), "rd"};
    expect_error(e, IMG_RAW, "rd: no free ram for the initrd (0x300000 bytes)");
    e->imgs[1].size = 0x1000;
    struct boot_err err;
    gview_free(&e->v);
    memset(&e->v, 0, sizeof(e->v));
    assert_int_equal(
        gview_add_region(&e->v, RAM_BASE, 0x800000, e->ram, GV_RAM), 0);
    assert_int_equal(load(e, IMG_RAW, &bs, &err), 0);
    assert_int_equal(bs.initrd_start, RAM_BASE + 0x600000);
}

/* Too little RAM after the kernel for 2 MiB: the DTB room shrinks. */
static void test_fdt_small(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err;
    gview_free(&e->v);
    memset(&e->v, 0, sizeof(e->v));
    assert_int_equal(
        gview_add_region(&e->v, RAM_BASE, 0x340000, e->ram, GV_RAM), 0);
    e->s.loads.n = 1; /* no initrd */
    assert_int_equal(load(e, IMG_RAW, &bs, &err), 0);
    assert_int_equal(bs.fdt, RAM_BASE + 0x300000);
    assert_int_equal(bs.fdt_size, ARM64_FDT_MIN);
    assert_int_equal(bs.initrd_start | bs.initrd_end, 0);
    /* No room at all. */
    gview_free(&e->v);
    memset(&e->v, 0, sizeof(e->v));
    assert_int_equal(
        gview_add_region(&e->v, RAM_BASE, 0x300000, e->ram, GV_RAM), 0);
    expect_error(e, IMG_RAW, "Image: no free ram for the device tree");
}

/* `fdt load` is the FDT builder's: the loader leaves it alone; a data load
 * goes after everything else. */
static void test_other_loads(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    unsigned char data[100] = {42};
    unsigned char dtbo[64] = {0xd0, 0x0d, 0xfe, 0xed};
    e->s.loads.v[1].blob = BLOB_FDT;
    e->s.loads.v[1].path = path_fdt;
    e->imgs[1] = (struct boot_image){dtbo, sizeof(dtbo), "over.dtbo"};
    env_load(e, path_rd, BLOB_DATA);
    e->imgs[2] = (struct boot_image){data, sizeof(data), "rd"};
    must_load(e, &bs);
    assert_int_equal(bs.initrd_start | bs.initrd_end, 0);
    assert_int_equal(bs.fdt, RAM_BASE + 0x400000);
    /* The data blob right after the DTB room; the overlay nowhere. */
    assert_int_equal(gmem(e, RAM_BASE + 0x600000, 1)[0], 42);
    assert_true(gview_is_free(&e->v, RAM_BASE + 0x601000, RAM_SIZE - 0x601000));
}

int main(void)
{
#define T(f)  cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TU(f) cmocka_unit_test_setup_teardown(f, setup_unaligned, teardown)
    const struct CMUnitTest tests[] = {
        T(test_image_ok),
        T(test_image_text_offset),
        T(test_image_size_zero),
        TU(test_image_unaligned_ram),
        T(test_image_at_address),
        T(test_image_bad),
        T(test_image_big_file),
        T(test_debian_header),
        T(test_image_gzip),
        T(test_elf64),
        T(test_elf64_multiboot_magic),
        T(test_elf_refused),
        T(test_cross_arch),
        T(test_raw),
        T(test_raw_at),
        T(test_initrd_at),
        T(test_initrd_rom),
        T(test_initrd_window),
        T(test_fdt_small),
        T(test_other_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

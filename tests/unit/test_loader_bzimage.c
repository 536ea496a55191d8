/*
 * test_loader_bzimage.c: the Linux bzImage 64-bit boot protocol loader on
 * synthetic images: load address, boot_params field by field (setup header
 * copy, type_of_loader, cmdline, initrd, e820 with qvm's reserved areas and
 * firmware ranges, acpi_rsdp_addr), the entry state, gzip'd images and
 * malformed headers (each an error naming the file, never a crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "loader_env.h"

#include "loader/boot.h"
#include "loader/sniff.h"

#define LOW     0xa0000u
#define HIGH    (63u << 20)
#define PM_SIZE 0x3000u
#define SETUP   0x400u /* setup_sects = 1 */

struct env {
    struct gview v;
    unsigned char *low, *high;
    struct vm_spec s;
    struct boot_image imgs[2];
    unsigned char kernel[SETUP + PM_SIZE];
    unsigned char initrd[5000];
    char cmdline[64];
};

static char path_bz[] = "bz";
static char path_rd[] = "rd";

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    loader_env_init((struct loader_env){&e->v, &e->low, &e->high, &e->s}, LOW,
                    HIGH, true, path_bz, path_rd, BLOB_INITRD);
    strcpy(e->cmdline, "console=ttyS0 root=/dev/ram0");
    e->s.cmdline = e->cmdline;

    unsigned char *k = e->kernel;
    k[0x1f1] = 1; /* setup_sects */
    memcpy(k + 0x1f4, &(uint32_t){PM_SIZE / 16}, 4);
    k[0x1fe] = 0x55;
    k[0x1ff] = 0xaa;
    k[0x200] = 0xeb;
    k[0x201] = 0x66; /* header ends at 0x268 */
    memcpy(k + 0x202, "HdrS", 4);
    memcpy(k + 0x206, &(uint16_t){0x020f}, 2);
    k[0x211] = 0x81; /* LOADED_HIGH | CAN_USE_HEAP */
    memcpy(k + 0x214, &(uint32_t){0x100000}, 4);
    memcpy(k + 0x22c, &(uint32_t){0x7fffffff}, 4);
    memcpy(k + 0x230, &(uint32_t){0x200000}, 4);
    k[0x234] = 1; /* relocatable */
    memcpy(k + 0x236, &(uint16_t){0x1}, 2);
    memcpy(k + 0x238, &(uint32_t){255}, 4);
    memcpy(k + 0x258, &(uint64_t){0x1000000}, 8);
    memcpy(k + 0x260, &(uint32_t){0x300000}, 4);
    for (unsigned i = 0; i < PM_SIZE; i++)
        k[SETUP + i] = (unsigned char)(i * 7 + 1);
    for (unsigned i = 0; i < sizeof(e->initrd); i++)
        e->initrd[i] = (unsigned char)(i * 13 + 5);
    e->imgs[0] = (struct boot_image){e->kernel, sizeof(e->kernel), "bz"};
    e->imgs[1] = (struct boot_image){e->initrd, sizeof(e->initrd), "rd"};
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    loader_env_free((struct loader_env){&e->v, &e->low, &e->high, &e->s});
    free(e);
    return 0;
}

static void expect_e820(const unsigned char *bp, unsigned i, uint64_t addr,
                        uint64_t size, uint32_t type)
{
    const unsigned char *p = bp + BP_E820_TABLE + 20 * i;
    if (g64(p) != addr || g64(p + 8) != size || g32(p + 16) != type)
        fail_msg("e820[%u] = {0x%llx, 0x%llx, %u}, expected {0x%llx, 0x%llx, "
                 "%u}",
                 i, (unsigned long long)g64(p), (unsigned long long)g64(p + 8),
                 g32(p + 16), (unsigned long long)addr,
                 (unsigned long long)size, type);
}

static void test_bz_ok(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err = {{0}};
    struct boot_input in = {.rsdp_gpa = 0xf0000, .nfw = 2};
    in.fw[0] = (struct boot_fw_range){0x9fc00, 0x400, E820_RESERVED};
    in.fw[1] = (struct boot_fw_range){0xe0000, 0x20000, E820_RESERVED};
    assert_int_equal(image_sniff(e->kernel, sizeof(e->kernel)), IMG_BZIMAGE);
    if (boot_load_images(&e->v, &e->s, &in, e->imgs, IMG_RAW, &bs, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(bs.fmt, IMG_BZIMAGE);
    assert_int_equal(bs.mode, BOOT_LONG64);
    assert_int_equal(bs.entry, 0x1000200);
    assert_int_equal(bs.rsi, BZ_PARAMS_ADDR);
    assert_int_equal(bs.pml4, BZ_PT_ADDR);
    assert_int_equal(bs.gdt, BZ_GDT_ADDR);
    assert_int_equal(bs.gdt_limit, 39);
    /* The protected-mode part at the load address, zeroed to init_size. */
    const unsigned char *k = gview_ptr(&e->v, 0x1000000, 0x300000);
    assert_memory_equal(k, e->kernel + SETUP, PM_SIZE);
    assert_int_equal(k[PM_SIZE], 0);
    /* GDT: 0x10 64-bit code, 0x18 data. */
    const unsigned char *g = gview_ptr(&e->v, BZ_GDT_ADDR, 40);
    assert_int_equal(g64(g + 0x10), 0x00af9b000000ffffull);
    assert_int_equal(g64(g + 0x18), 0x00cf93000000ffffull);
    /* Page tables: PML4 -> PDPT -> PD[0] maps 2 MiB pages from 0. */
    const unsigned char *pt = gview_ptr(&e->v, BZ_PT_ADDR, 0x6000);
    assert_int_equal(g64(pt), (BZ_PT_ADDR + 0x1000) | 3);
    assert_int_equal(g64(pt + 0x1000 + 24), (BZ_PT_ADDR + 0x5000) | 3);
    assert_int_equal(g64(pt + 0x5000 + 511 * 8), 0xffe00000ull | 0x83);

    const unsigned char *bp = gview_ptr(&e->v, bs.rsi, BP_SIZE);
    assert_non_null(bp);
    /* Setup header copied: 0x1f1 .. 0x268, then the loader's fields. */
    assert_memory_equal(bp + 0x202, "HdrS", 4);
    assert_int_equal(bp[BP_SETUP_SECTS], 1);
    assert_int_equal(g32(bp + BP_INIT_SIZE), 0x300000);
    assert_int_equal(g64(bp + BP_PREF_ADDRESS), 0x1000000);
    assert_int_equal(bp[BP_TYPE_OF_LOADER], 0xff);
    assert_int_equal(bp[BP_LOADFLAGS], 0x01);
    assert_int_equal(bp[BP_VID_MODE] | bp[BP_VID_MODE + 1] << 8, 0xffff);
    assert_int_equal(g32(bp + BP_CODE32_START), 0x1000000);
    assert_int_equal(g64(bp + BP_ACPI_RSDP_ADDR), 0xf0000);
    assert_int_equal(g32(bp + BP_CMD_LINE_PTR), BZ_CMDLINE);
    assert_int_equal(g32(bp + BP_EXT_CMD_LINE_PTR), 0);
    assert_string_equal((const char *)gview_ptr(&e->v, BZ_CMDLINE, 1),
                        e->cmdline);
    /* initrd: page-aligned, after init_size, below initrd_addr_max. */
    uint32_t rd = g32(bp + BP_RAMDISK_IMAGE);
    assert_int_equal(rd % 4096, 0);
    assert_true(rd >= 0x1300000);
    assert_int_equal(g32(bp + BP_RAMDISK_SIZE), sizeof(e->initrd));
    assert_int_equal(g32(bp + BP_EXT_RAMDISK_IMAGE), 0);
    assert_memory_equal(gview_ptr(&e->v, rd, sizeof(e->initrd)), e->initrd,
                        sizeof(e->initrd));
    /* e820: RAM with the page tables and firmware ranges carved out. */
    assert_int_equal(bp[BP_E820_ENTRIES], 6);
    expect_e820(bp, 0, 0, 0x9000, E820_RAM);
    expect_e820(bp, 1, 0x9000, 0x6000, E820_RESERVED);
    expect_e820(bp, 2, 0xf000, 0x9fc00 - 0xf000, E820_RAM);
    expect_e820(bp, 3, 0x9fc00, 0x400, E820_RESERVED);
    expect_e820(bp, 4, 0xc0000, 0x40000, E820_RESERVED);
    expect_e820(bp, 5, 0x100000, HIGH, E820_RAM);
}

static void test_bz_not_relocatable(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err = {{0}};
    e->kernel[0x234] = 0;
    e->kernel[0x1f1] = 0; /* 0 means 4: syssize then runs past the end */
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err), -1);
    assert_non_null(strstr(err.msg, "bz: syssize"));
    e->kernel[0x1f1] = 1;
    if (boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(bs.entry, 0x100200);
    const unsigned char *bp = gview_ptr(&e->v, bs.rsi, BP_SIZE);
    assert_int_equal(g64(bp + BP_ACPI_RSDP_ADDR), 0);
    assert_int_equal(bp[BP_E820_ENTRIES], 5);
}

static void expect_bz_error(struct env *e, const char *what)
{
    struct boot_state bs;
    struct boot_err err = {{0}};
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_BZIMAGE, &bs, &err),
        -1);
    if (!strstr(err.msg, what) || strncmp(err.msg, "bz: ", 4) != 0)
        fail_msg("error '%s' does not name the file and '%s'", err.msg, what);
}

static void test_bz_bad(void **state)
{
    struct env *e = *state;
    unsigned char save[sizeof(e->kernel)];
    memcpy(save, e->kernel, sizeof(save));
    e->kernel[0x1fe] = 0;
    expect_bz_error(e, "boot_flag");
    memcpy(e->kernel, save, sizeof(save));
    e->kernel[0x206] = 0x0b; /* 2.11 */
    expect_bz_error(e, "2.12");
    memcpy(e->kernel, save, sizeof(save));
    e->kernel[0x236] = 0;
    expect_bz_error(e, "XLF_KERNEL_64");
    memcpy(e->kernel, save, sizeof(save));
    memcpy(e->kernel + 0x1f4, &(uint32_t){PM_SIZE}, 4);
    expect_bz_error(e, "truncated");
    memcpy(e->kernel, save, sizeof(save));
    memcpy(e->kernel + 0x230, &(uint32_t){0x3000}, 4);
    expect_bz_error(e, "power of two");
    memcpy(e->kernel, save, sizeof(save));
    memcpy(e->kernel + 0x260, &(uint32_t){0xf0000000u}, 4);
    expect_bz_error(e, "no free RAM");
    e->kernel[0x234] = 0;
    expect_bz_error(e, "not relocatable");
    memcpy(e->kernel, save, sizeof(save));
    e->imgs[0].size = 0x230;
    expect_bz_error(e, "too short");
    e->imgs[0].size = sizeof(e->kernel);
    memcpy(e->kernel + 0x238, &(uint32_t){8}, 4);
    expect_bz_error(e, "command line");
}

/* gzip (RFC 1952) of buf through zlib's deflate. */
static unsigned char *gzip(const void *buf, size_t len, size_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(
        deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
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

static void test_bz_gzip(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err = {{0}};
    size_t n;
    unsigned char *gz = gzip(e->kernel, sizeof(e->kernel), &n);
    assert_int_equal(image_sniff(gz, n), IMG_GZIP);
    e->imgs[0] = (struct boot_image){gz, n, "bz.gz"};
    if (boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(bs.fmt, IMG_BZIMAGE);
    assert_int_equal(bs.entry, 0x1000200);
    assert_memory_equal(gview_ptr(&e->v, 0x1000000, PM_SIZE), e->kernel + SETUP,
                        PM_SIZE);
    /* Truncated gzip data. */
    e->imgs[0].size = n / 2;
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err), -1);
    assert_non_null(strstr(err.msg, "gzip"));
    free(gz);
}

static void test_gzip_bomb(void **state)
{
    struct env *e = *state;
    /* 100 MiB of zeros: about 100 KiB of gzip. */
    size_t big = 100u << 20, n;
    unsigned char *zeros = calloc(1, big);
    unsigned char *gz = gzip(zeros, big, &n);
    free(zeros);
    assert_true(n < big / 500);
    struct boot_image in = {gz, n, "bomb.gz"}, out = {0};
    struct boot_err err = {{0}};
    assert_int_equal(boot_gunzip(&in, 16u << 20, &out, &err), -1);
    assert_string_equal(err.msg,
                        "the gzip image decompresses to more than 16M (a "
                        "kernel may take the guest's RAM, at most 512M); "
                        "not loaded");
    assert_null(out.data);
    /* The limit is exact: one byte less than the image is refused. */
    assert_int_equal(boot_gunzip(&in, big - 1, &out, &err), -1);
    assert_non_null(strstr(err.msg, "decompresses to more than"));
    assert_int_equal(boot_gunzip(&in, big, &out, &err), 0);
    assert_int_equal(out.size, big);
    free((void *)(uintptr_t)out.data);
    /* The limit: the guest's RAM, but never more than 512 MiB. */
    assert_int_equal(boot_gunzip_limit(64u << 20), 64u << 20);
    assert_int_equal(boot_gunzip_limit(8ull << 30), 512u << 20);
    assert_int_equal(boot_gunzip_limit(UINT64_MAX), 512u << 20);
    /* As a `load`: the VM (65152K of RAM) refuses it, naming the file. */
    e->imgs[0] = in;
    struct boot_state bs;
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err), -1);
    assert_non_null(strstr(err.msg, "bz: the gzip image decompresses to more "
                                    "than 65152K"));
    free(gz);
}

static void test_e820_merge(void **state)
{
    struct env *e = *state;
    struct e820_ent map[E820_MAX];
    struct reserve_spec *r = VEC_PUSH(&e->s.reserves);
    struct loc *l = VEC_PUSH(&r->locs);
    *l = (struct loc){.space = SPACE_MEM, .base = 0x200000, .size = 0x1000};
    size_t n = boot_e820(&e->s, NULL, NULL, 0, map, E820_MAX);
    assert_int_equal(n, 5);
    assert_int_equal(map[2].addr, 0x100000);
    assert_int_equal(map[2].size, 0x100000);
    assert_int_equal(map[3].addr, 0x200000);
    assert_int_equal(map[3].type, E820_RESERVED);
    assert_int_equal(map[4].addr, 0x201000);
    assert_int_equal(map[4].addr + map[4].size, 0x100000 + HIGH);
    /* Never more entries than asked for. */
    assert_int_equal(boot_e820(&e->s, NULL, NULL, 0, map, 2), 2);
    VEC_FREE(&r->locs);
    VEC_FREE(&e->s.reserves);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bz_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bz_not_relocatable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bz_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bz_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_bomb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_e820_merge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

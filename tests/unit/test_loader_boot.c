/*
 * test_loader_boot.c: the guest-memory gate (gview_ptr, gview_span), the ELF
 * and multiboot loaders on synthetic images, including malformed ones (each
 * must be an error message, never a crash), and the multiboot info.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/boot.h"
#include "loader/internal.h"

#define LOW  0xa0000u
#define HIGH (4u << 20)

struct env {
    struct gview v;
    unsigned char *low, *high;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->low = calloc(1, LOW);
    e->high = calloc(1, HIGH);
    assert_int_equal(gview_add_region(&e->v, 0x100000, HIGH, e->high, GV_RAM),
                     0);
    assert_int_equal(gview_add_region(&e->v, 0, LOW, e->low, GV_RAM), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    gview_free(&e->v);
    free(e->low);
    free(e->high);
    free(e);
    return 0;
}

static void test_gate(void **state)
{
    struct env *e = *state;
    assert_ptr_equal(gview_ptr(&e->v, 0, 1), e->low);
    assert_ptr_equal(gview_ptr(&e->v, LOW - 4, 4), e->low + LOW - 4);
    assert_null(gview_ptr(&e->v, LOW - 4, 5));    /* past the end */
    assert_null(gview_ptr(&e->v, LOW, 1));        /* hole */
    assert_null(gview_ptr(&e->v, 0xfffff, 2));    /* straddles into RAM */
    assert_null(gview_ptr(&e->v, 0x100000, 0));   /* empty */
    assert_null(gview_ptr(&e->v, UINT64_MAX, 2)); /* wraps */
    assert_null(gview_ptr(&e->v, 0x100000, UINT64_MAX));
    assert_ptr_equal(gview_ptr(&e->v, 0x100000 + HIGH - 1, 1),
                     e->high + HIGH - 1);
    assert_int_equal(gview_add_region(&e->v, 0x9f000, 0x2000, e->low, GV_RAM),
                     -EEXIST);
}

/* gview_span: a buffer split where its region ends, never past it. */
static void test_span(void **state)
{
    struct env *e = *state;
    static unsigned char rom[0x1000];
    assert_int_equal(gview_add_region(&e->v, 0xc0000, sizeof(rom), rom, GV_ROM),
                     0);
    uint64_t n = 0;
    assert_ptr_equal(gview_span(&e->v, 0x10, 0x20, GV_RAM, &n), e->low + 0x10);
    assert_int_equal(n, 0x20);
    assert_ptr_equal(gview_span(&e->v, LOW - 8, 0x100, GV_RAM, &n),
                     e->low + LOW - 8);
    assert_int_equal(n, 8); /* the rest is a hole */
    assert_ptr_equal(
        gview_span(&e->v, 0x100000 + HIGH - 1, UINT64_MAX, GV_RAM, &n),
        e->high + HIGH - 1);
    assert_int_equal(n, 1);
    n = 7;
    assert_null(gview_span(&e->v, LOW, 1, GV_RAM, &n));     /* hole */
    assert_null(gview_span(&e->v, 0xc0000, 1, GV_RAM, &n)); /* ROM */
    assert_null(gview_span(&e->v, 0x10, 0, GV_RAM, &n));    /* empty */
    assert_null(gview_span(&e->v, UINT64_MAX, 2, GV_RAM, &n));
    assert_int_equal(n, 7); /* untouched when NULL */
    assert_ptr_equal(gview_span(&e->v, 0xc0ff0, 0x20, GV_ROM, &n), rom + 0xff0);
    assert_int_equal(n, 0x10);
}

/* An empty raw image (an empty file has no data pointer): placed, one
 * byte reserved, nothing copied (memcpy from NULL is undefined, which
 * UBSan reports in the sanitizer build). */
static void test_raw_empty(void **state)
{
    struct env *e = *state;
    struct boot_image img = {.data = NULL, .size = 0, .path = "empty"};
    struct load_spec at = {.has_addr = true, .addr = 0x200000};
    struct boot_err err = {0};
    uint64_t got = 0;
    assert_int_equal(boot_load_raw(&e->v, &at, &img, 0, UINT64_MAX, &got, &err),
                     0);
    assert_int_equal(got, 0x200000);
    assert_false(gview_is_free(&e->v, 0x200000, 1));
    struct load_spec anywhere = {0};
    assert_int_equal(
        boot_load_raw(&e->v, &anywhere, &img, 0x100000, UINT64_MAX, &got, &err),
        0);
    assert_false(gview_is_free(&e->v, got, 1));
}

/* A one-segment ELF32 with a multiboot header at file offset 0x60. */
static size_t make_elf(unsigned char *buf, uint32_t paddr, uint32_t filesz,
                       uint32_t memsz, bool multiboot)
{
    memset(buf, 0, 0x200);
    Elf32_Ehdr h = {0};
    memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS32;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = ET_EXEC;
    h.e_machine = EM_386;
    h.e_version = EV_CURRENT;
    h.e_entry = paddr + 0x10;
    h.e_phoff = sizeof(h);
    h.e_ehsize = sizeof(h);
    h.e_phentsize = sizeof(Elf32_Phdr);
    h.e_phnum = 1;
    memcpy(buf, &h, sizeof(h));
    Elf32_Phdr p = {PT_LOAD, 0x100, paddr, paddr, filesz, memsz, 5, 0x1000};
    memcpy(buf + sizeof(h), &p, sizeof(p));
    if (multiboot) {
        uint32_t mb[3] = {0x1BADB002u, 3, (uint32_t) - (0x1BADB002u + 3)};
        memcpy(buf + 0x60, mb, sizeof(mb));
    }
    for (unsigned i = 0; i < 0x100; i++)
        buf[0x100 + i] = (unsigned char)i;
    return 0x200;
}

static void test_elf_ok(void **state)
{
    struct env *e = *state;
    unsigned char buf[0x200];
    struct boot_image img = {buf, make_elf(buf, 0x100000, 0x100, 0x2000, false),
                             "t"};
    struct boot_err err = {{0}};
    uint64_t entry, hi;
    e->high[0x1ff0] = 0xaa; /* must be zeroed as bss */
    assert_int_equal(elf_load(&e->v, &img, &entry, &hi, &err), 0);
    assert_int_equal(entry, 0x100010);
    assert_int_equal(hi, 0x102000);
    assert_int_equal(e->high[5], 5);
    assert_int_equal(e->high[0x1ff0], 0);
    /* Loading over it again is refused. */
    assert_int_equal(elf_load(&e->v, &img, &entry, &hi, &err), -1);
    assert_non_null(strstr(err.msg, "overlaps"));
}

static void expect_elf_error(struct env *e, unsigned char *buf, size_t len,
                             const char *what)
{
    struct boot_image img = {buf, len, "t"};
    struct boot_err err = {{0}};
    uint64_t entry, hi;
    assert_int_equal(elf_load(&e->v, &img, &entry, &hi, &err), -1);
    if (!strstr(err.msg, what))
        fail_msg("error '%s' does not mention '%s'", err.msg, what);
}

static void test_elf_bad(void **state)
{
    struct env *e = *state;
    unsigned char buf[0x200];
    size_t n = make_elf(buf, 0x100000, 0x100, 0x2000, false);
    expect_elf_error(e, buf, 10, "not an ELF");
    expect_elf_error(e, buf, 0x30, "truncated ELF header");
    expect_elf_error(e, buf, 0x40, "program header table");
    make_elf(buf, 0x100000, 0x200, 0x2000, false);
    expect_elf_error(e, buf, n, "past the end of the file");
    make_elf(buf, 0x100000, 0x100, 0x10, false);
    expect_elf_error(e, buf, n, "p_filesz");
    make_elf(buf, 0x9ff00, 0x100, 0x200, false); /* runs into the hole */
    expect_elf_error(e, buf, n, "not inside one ram/rom region");
    make_elf(buf, 0xfffff000u, 0x100, 0x2000, false);
    expect_elf_error(e, buf, n, "not inside");
    Elf32_Ehdr h;
    make_elf(buf, 0x100000, 0x100, 0x100, false);
    memcpy(&h, buf, sizeof(h));
    h.e_phoff = 0xfffffff0u;
    memcpy(buf, &h, sizeof(h));
    expect_elf_error(e, buf, n, "program header table");
    make_elf(buf, 0x100000, 0x100, 0x100, false);
    h.e_phoff = sizeof(h);
    h.e_phentsize = 4;
    memcpy(buf, &h, sizeof(h));
    expect_elf_error(e, buf, n, "e_phentsize");
}

static void test_multiboot_info(void **state)
{
    struct env *e = *state;
    unsigned char buf[0x200];
    struct boot_image img = {buf, make_elf(buf, 0x100000, 0x100, 0x100, true),
                             "k"};
    struct mb1_header h;
    assert_int_equal(mb1_find(&img, &h), 0);
    assert_int_equal(h.offset, 0x60);
    struct boot_err err = {{0}};
    uint64_t entry, hi;
    assert_int_equal(mb1_load(&e->v, &img, &h, &entry, &hi, &err), 0);

    struct vm_spec s;
    memset(&s, 0, sizeof(s));
    struct mem_region *m = VEC_PUSH(&s.mem);
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0, .size = LOW};
    m = VEC_PUSH(&s.mem);
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0x100000, .size = HIGH};
    char cl[] = "console=com1";
    s.cmdline = cl;
    struct mb1_module mod = {0x200000, 0x200100, "initrd"};
    uint32_t info;
    assert_int_equal(
        mb1_write_info(&e->v, &s, NULL, "kernel", &mod, 1, &info, &err), 0);
    const uint32_t *mbi = gview_ptr(&e->v, info, 88);
    assert_non_null(mbi);
    assert_int_equal(mbi[0], 1u | 4u | 8u | 64u | 512u);
    assert_int_equal(mbi[1], 640);
    assert_int_equal(mbi[2], HIGH / 1024);
    assert_string_equal((const char *)gview_ptr(&e->v, mbi[4], 1),
                        "kernel console=com1");
    assert_string_equal((const char *)gview_ptr(&e->v, mbi[16], 1), "qvm");
    assert_int_equal(mbi[5], 1);
    const uint32_t *mods = gview_ptr(&e->v, mbi[6], 16);
    assert_int_equal(mods[0], 0x200000);
    assert_int_equal(mods[1], 0x200100);
    assert_int_equal(mbi[11], 2 * 24);
    const unsigned char *mm = gview_ptr(&e->v, mbi[12], 48);
    uint64_t base, len;
    memcpy(&base, mm + 24 + 4, 8);
    memcpy(&len, mm + 24 + 12, 8);
    assert_int_equal(base, 0x100000);
    assert_int_equal(len, HIGH);
    VEC_FREE(&s.mem);
}

/*
 * mem_lower/mem_upper agree with the memory map: qvm's firmware page at
 * 0x9FC00 (MP table/EBDA) is not lower memory (639 KiB, as a BIOS says).
 */
static void test_multiboot_mem_fw(void **state)
{
    struct env *e = *state;
    struct vm_spec s;
    memset(&s, 0, sizeof(s));
    struct mem_region *m = VEC_PUSH(&s.mem);
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0, .size = LOW};
    m = VEC_PUSH(&s.mem);
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0x100000, .size = HIGH};
    struct boot_input in;
    memset(&in, 0, sizeof(in));
    in.nfw = 2;
    in.fw[0] = (struct boot_fw_range){0x9fc00, 0x400, E820_RESERVED};
    in.fw[1] = (struct boot_fw_range){0xe0000, 0x20000, E820_RESERVED};
    for (size_t i = 0; i < in.nfw; i++)
        assert_int_equal(gview_mark_used(&e->v, in.fw[i].base, in.fw[i].size),
                         0);
    struct boot_err err = {{0}};
    uint32_t info;
    assert_int_equal(
        mb1_write_info(&e->v, &s, &in, "kernel", NULL, 0, &info, &err), 0);
    const uint32_t *mbi = gview_ptr(&e->v, info, 88);
    assert_non_null(mbi);
    assert_int_equal(mbi[1], 639);
    assert_int_equal(mbi[2], HIGH / 1024);
    const unsigned char *mm = gview_ptr(&e->v, mbi[12], 24);
    uint64_t base, len;
    uint32_t type;
    memcpy(&base, mm + 4, 8);
    memcpy(&len, mm + 12, 8);
    memcpy(&type, mm + 20, 4);
    assert_int_equal(base, 0);
    assert_int_equal(len, 0x9fc00);
    assert_int_equal(type, 1);
    /* Without firmware ranges the whole 640 KiB is lower memory. */
    assert_int_equal(
        mb1_write_info(&e->v, &s, NULL, "kernel", NULL, 0, &info, &err), 0);
    mbi = gview_ptr(&e->v, info, 88);
    assert_int_equal(mbi[1], 640);
    VEC_FREE(&s.mem);
}

static void test_aout_kludge_bad(void **state)
{
    struct env *e = *state;
    unsigned char buf[0x100] = {0};
    /* header at 0x40 claims header_addr - load_addr = 0x1000 > offset. */
    uint32_t mb[8] = {
        0x1BADB002u, 0x10000u, (uint32_t) - (0x1BADB002u + 0x10000u),
        0x101000,    0x100000, 0,
        0,           0x100000};
    memcpy(buf + 0x40, mb, sizeof(mb));
    struct boot_image img = {buf, sizeof(buf), "a"};
    struct mb1_header h;
    struct boot_err err = {{0}};
    uint64_t entry, hi;
    assert_int_equal(mb1_find(&img, &h), 0);
    assert_int_equal(mb1_load(&e->v, &img, &h, &entry, &hi, &err), -1);
    assert_non_null(strstr(err.msg, "header_addr"));
    /* A consistent one loads: header_addr - load_addr == offset. */
    mb[3] = 0x100040;
    mb[5] = 0x100100; /* load_end: 0x100 bytes */
    mb[6] = 0x101000; /* bss_end */
    mb[7] = 0x100050;
    memcpy(buf + 0x40, mb, sizeof(mb));
    assert_int_equal(mb1_find(&img, &h), 0);
    assert_int_equal(mb1_load(&e->v, &img, &h, &entry, &hi, &err), 0);
    assert_int_equal(entry, 0x100050);
    assert_int_equal(hi, 0x101000);
    /* load_end beyond the file. */
    mb[5] = 0x100200;
    mb[6] = 0;
    memcpy(buf + 0x40, mb, sizeof(mb));
    assert_int_equal(mb1_find(&img, &h), 0);
    assert_int_equal(mb1_load(&e->v, &img, &h, &entry, &hi, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_span, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elf_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elf_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiboot_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiboot_mem_fw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aout_kludge_bad, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_loader_pvh.c: the PVH loader on a synthetic ELF64 with the Xen
 * PHYS32_ENTRY note: entry point, hvm_start_info v1 field by field
 * (cmdline, the initrd as module 0, rsdp_paddr, memmap), the 32-bit entry
 * state with the TSS, and malformed notes.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader_env.h"

#include "loader/boot.h"
#include "loader/sniff.h"

#define LOW  0xa0000u
#define HIGH (63u << 20)

struct env {
    struct gview v;
    unsigned char *low, *high;
    struct vm_spec s;
    struct boot_image imgs[2];
    unsigned char elf[0x400];
    unsigned char initrd[3000];
    char cmdline[32];
};

/* ELF64: PT_LOAD of 0x100 bytes at 0x1000000, PT_NOTE "Xen" type 18. */
static void make_pvh(unsigned char *b, uint32_t descsz, uint64_t entry)
{
    memset(b, 0, 0x400);
    Elf64_Ehdr h = {0};
    memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS64;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = ET_EXEC;
    h.e_machine = EM_X86_64;
    h.e_version = EV_CURRENT;
    h.e_entry = 0xffffffff81000000ull;
    h.e_phoff = sizeof(h);
    h.e_ehsize = sizeof(h);
    h.e_phentsize = sizeof(Elf64_Phdr);
    h.e_phnum = 2;
    memcpy(b, &h, sizeof(h));
    Elf64_Phdr p[2] = {
        {PT_LOAD, 5, 0x300, 0xffffffff81000000ull, 0x1000000, 0x100, 0x2000,
         0x1000},
        {PT_NOTE, 4, 0x200, 0, 0, 20 + descsz, 20 + descsz, 4},
    };
    memcpy(b + sizeof(h), p, sizeof(p));
    uint32_t n[3] = {4, descsz, 18};
    memcpy(b + 0x200, n, 12);
    memcpy(b + 0x20c, "Xen", 4);
    memcpy(b + 0x210, &entry, descsz <= 8 ? descsz : 8);
    for (unsigned i = 0; i < 0x100; i++)
        b[0x300 + i] = (unsigned char)i;
}

static char path_vmlinux[] = "vmlinux";
static char path_rd[] = "rd";

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    loader_env_init((struct loader_env){&e->v, &e->low, &e->high, &e->s}, LOW,
                    HIGH, false, path_vmlinux, path_rd, BLOB_INITRD);
    strcpy(e->cmdline, "console=ttyS0");
    e->s.cmdline = e->cmdline;
    make_pvh(e->elf, 8, 0x1000850);
    for (unsigned i = 0; i < sizeof(e->initrd); i++)
        e->initrd[i] = (unsigned char)(i * 3);
    e->imgs[0] = (struct boot_image){e->elf, sizeof(e->elf), "vmlinux"};
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

static void test_pvh_ok(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err = {{0}};
    struct boot_input in = {.rsdp_gpa = 0x9fc00, .nfw = 1};
    in.fw[0] = (struct boot_fw_range){0x9fc00, 0x400, E820_ACPI};
    assert_int_equal(image_sniff(e->elf, sizeof(e->elf)), IMG_PVH_ELF);
    if (boot_load_images(&e->v, &e->s, &in, e->imgs, IMG_RAW, &bs, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(bs.fmt, IMG_PVH_ELF);
    assert_int_equal(bs.mode, BOOT_PM32);
    assert_int_equal(bs.entry, 0x1000850);
    assert_true(bs.tss32);
    assert_int_not_equal(bs.gdt, 0);
    const unsigned char *g = gview_ptr(&e->v, bs.gdt, 40);
    assert_int_equal(g64(g + 0x10), 0x00cf9b000000ffffull);
    assert_int_equal(g64(g + 0x20), 0x00008b0000000067ull);
    assert_int_equal(e->high[0xf00000 + 5], 5); /* PT_LOAD at p_paddr */

    const unsigned char *si = gview_ptr(&e->v, bs.ebx, 56);
    assert_non_null(si);
    assert_int_equal(g32(si), 0x336EC578u);
    assert_int_equal(g32(si + 4), 1);
    assert_int_equal(g32(si + 12), 1);
    assert_string_equal((const char *)gview_ptr(&e->v, g64(si + 24), 1),
                        "console=ttyS0");
    assert_int_equal(g64(si + 32), 0x9fc00);
    const unsigned char *mod = gview_ptr(&e->v, g64(si + 16), 32);
    assert_non_null(mod);
    assert_int_equal(g64(mod + 8), sizeof(e->initrd));
    assert_int_equal(g64(mod) % 4096, 0);
    assert_memory_equal(gview_ptr(&e->v, g64(mod), sizeof(e->initrd)),
                        e->initrd, sizeof(e->initrd));
    assert_int_equal(g32(si + 48), 3);
    const unsigned char *mm = gview_ptr(&e->v, g64(si + 40), 3 * 24);
    assert_non_null(mm);
    assert_int_equal(g64(mm), 0);
    assert_int_equal(g64(mm + 8), 0x9fc00);
    assert_int_equal(g32(mm + 16), E820_RAM);
    assert_int_equal(g64(mm + 24), 0x9fc00);
    assert_int_equal(g32(mm + 24 + 16), E820_ACPI);
    assert_int_equal(g64(mm + 48), 0x100000);
    assert_int_equal(g64(mm + 56), HIGH);
}

static void test_pvh_note4(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err = {{0}};
    make_pvh(e->elf, 4, 0x1000040);
    e->s.cmdline = NULL;
    e->s.loads.n = 1;
    if (boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(bs.entry, 0x1000040);
    const unsigned char *si = gview_ptr(&e->v, bs.ebx, 56);
    assert_int_equal(g32(si + 12), 0);
    assert_int_equal(g64(si + 24), 0);
    assert_int_equal(g64(si + 32), 0);
    e->s.loads.n = 2;
}

static void test_pvh_bad(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err = {{0}};
    make_pvh(e->elf, 6, 0x1000040);
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_PVH_ELF, &bs, &err),
        -1);
    assert_non_null(strstr(err.msg, "vmlinux: Xen PHYS32_ENTRY note has 6"));
    make_pvh(e->elf, 8, 0x100000000ull);
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_PVH_ELF, &bs, &err),
        -1);
    assert_non_null(strstr(err.msg, "above 4 GiB"));
    make_pvh(e->elf, 8, 0x1000040);
    e->elf[0x200 + 4] = 0xff; /* descsz runs off the note segment */
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_PVH_ELF, &bs, &err),
        -1);
    assert_non_null(strstr(err.msg, "no Xen PHYS32_ENTRY note"));
    make_pvh(e->elf, 8, 0x1000040);
    memcpy(e->elf + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 8,
           &(uint64_t){0xfffffffffffffff0ull}, 8); /* note p_offset */
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_PVH_ELF, &bs, &err),
        -1);
    assert_non_null(strstr(err.msg, "PT_NOTE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pvh_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pvh_note4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pvh_bad, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_loader_mb2.c: the multiboot 2 loader on a synthetic ELF32 with an
 * MB2 header (information request, entry address): the MBI tag by tag
 * (cmdline, boot loader name, module, basic meminfo, mmap with entry_size
 * 24, the ACPI new-RSDP copy), EAX, malformed headers, and MB1 winning
 * when an image has both headers.
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
#define HIGH (15u << 20)
#define HOFF 0x80u

struct env {
    struct gview v;
    unsigned char *low, *high;
    struct vm_spec s;
    struct boot_image imgs[2];
    unsigned char elf[0x400];
    unsigned char mod[100];
    char cmdline[32];
};

static void put32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* One PT_LOAD at 0x200000; MB2 header at HOFF with `req` requested. */
static void make_mb2(unsigned char *b, uint32_t req, uint16_t req_flags)
{
    memset(b, 0, 0x400);
    Elf32_Ehdr h = {0};
    memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS32;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = ET_EXEC;
    h.e_machine = EM_386;
    h.e_version = EV_CURRENT;
    h.e_entry = 0x200000;
    h.e_phoff = sizeof(h);
    h.e_ehsize = sizeof(h);
    h.e_phentsize = sizeof(Elf32_Phdr);
    h.e_phnum = 1;
    memcpy(b, &h, sizeof(h));
    Elf32_Phdr p = {PT_LOAD, 0x200, 0x200000, 0x200000, 0x100, 0x1000, 7, 4};
    memcpy(b + sizeof(h), &p, sizeof(p));
    unsigned char *m = b + HOFF;
    /* tags: info request (8 + 3*4 = 20 -> 24), entry (12 -> 16), end. */
    uint32_t len = 16 + 24 + 16 + 8;
    put32(m, 0xE85250D6u);
    put32(m + 4, 0);
    put32(m + 8, len);
    put32(m + 12, (uint32_t) - (0xE85250D6u + len));
    m[16] = 1;
    m[18] = (unsigned char)req_flags;
    put32(m + 20, 20);
    put32(m + 24, 4);
    put32(m + 28, 6);
    put32(m + 32, req);
    m[40] = 3;
    put32(m + 44, 12);
    put32(m + 48, 0x200010);
    m[56] = 0; /* end */
    put32(m + 60, 8);
    for (unsigned i = 0; i < 0x100; i++)
        b[0x200 + i] = (unsigned char)i;
}

static char path_xen[] = "xen";
static char path_dom0[] = "dom0";

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    loader_env_init((struct loader_env){&e->v, &e->low, &e->high, &e->s}, LOW,
                    HIGH, false, path_xen, path_dom0, BLOB_NONE);
    strcpy(e->cmdline, "console=com1");
    e->s.cmdline = e->cmdline;
    make_mb2(e->elf, 15, 0);
    memset(e->mod, 0x5a, sizeof(e->mod));
    e->imgs[0] = (struct boot_image){e->elf, sizeof(e->elf), "xen"};
    e->imgs[1] = (struct boot_image){e->mod, sizeof(e->mod), "dom0"};
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

/* The MBI tag of `type`, or fail. */
static const unsigned char *find_tag(const unsigned char *mbi, uint32_t type)
{
    uint32_t total = g32(mbi);
    for (uint32_t off = 8; off + 8 <= total;) {
        const unsigned char *t = mbi + off;
        if (g32(t) == type)
            return t;
        if (g32(t) == 0)
            break;
        off += (g32(t + 4) + 7) & ~7u;
    }
    fail_msg("no MBI tag %u", type);
    return NULL;
}

static void test_mb2_ok(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err = {{0}};
    /* An ACPI 2.0 RSDP (36 bytes) in a firmware range. */
    unsigned char rsdp[36] = "RSD PTR ";
    rsdp[15] = 2;
    put32(rsdp + 20, 36);
    memcpy(e->low + 0x9fc00, rsdp, sizeof(rsdp));
    struct boot_input in = {.rsdp_gpa = 0x9fc00, .nfw = 1};
    in.fw[0] = (struct boot_fw_range){0x9fc00, 0x400, E820_RESERVED};

    assert_int_equal(image_sniff(e->elf, sizeof(e->elf)), IMG_MULTIBOOT2);
    if (boot_load_images(&e->v, &e->s, &in, e->imgs, IMG_RAW, &bs, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(bs.mode, BOOT_PM32);
    assert_int_equal(bs.entry, 0x200010);
    assert_int_equal(bs.eax, 0x36D76289u);
    assert_int_equal(bs.ebx % 8, 0);
    const unsigned char *mbi = gview_ptr(&e->v, bs.ebx, 8);
    assert_non_null(mbi);
    mbi = gview_ptr(&e->v, bs.ebx, g32(mbi));
    assert_non_null(mbi);
    assert_string_equal((const char *)find_tag(mbi, 1) + 8, "console=com1");
    assert_string_equal((const char *)find_tag(mbi, 2) + 8, "qvm");
    const unsigned char *t = find_tag(mbi, 3);
    assert_int_equal(g32(t + 12) - g32(t + 8), sizeof(e->mod));
    assert_int_equal(g32(t + 8) % 4096, 0);
    assert_string_equal((const char *)t + 16, "dom0");
    assert_memory_equal(gview_ptr(&e->v, g32(t + 8), sizeof(e->mod)), e->mod,
                        sizeof(e->mod));
    t = find_tag(mbi, 4);
    assert_int_equal(g32(t + 8), 0x9fc00 / 1024);
    assert_int_equal(g32(t + 12), HIGH / 1024);
    t = find_tag(mbi, 6);
    assert_int_equal(g32(t + 4), 16 + 3 * 24);
    assert_int_equal(g32(t + 8), 24);
    assert_int_equal(g32(t + 12), 0);
    assert_int_equal(g64(t + 16 + 24), 0x9fc00);
    assert_int_equal(g32(t + 16 + 24 + 16), E820_RESERVED);
    assert_int_equal(g64(t + 16 + 48 + 8), HIGH);
    t = find_tag(mbi, 15);
    assert_int_equal(g32(t + 4), 8 + 36);
    assert_memory_equal(t + 8, rsdp, 36);
    t = find_tag(mbi, 0);
    assert_int_equal(g32(t + 4), 8);
}

static void test_mb2_bad(void **state)
{
    struct env *e = *state;
    struct boot_state bs;
    struct boot_err err = {{0}};
    make_mb2(e->elf, 21, 0); /* requires tag 21: not provided */
    assert_int_equal(
        boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err), -1);
    assert_non_null(strstr(err.msg, "xen: multiboot2 kernel requires"));
    make_mb2(e->elf, 21, 1); /* optional request: fine */
    if (boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err) < 0)
        fail_msg("%s", err.msg);
    make_mb2(e->elf, 4, 0);
    put32(e->elf + HOFF + 20, 0x1000); /* tag size past header_length */
    struct mb2_header h;
    struct boot_image img = {e->elf, sizeof(e->elf), "xen"};
    assert_int_equal(mb2_find(&img, &h, &err), -1);
    assert_non_null(strstr(err.msg, "bad size"));
    make_mb2(e->elf, 4, 0);
    put32(e->elf + HOFF + 60, 4); /* end tag missing: header too short */
    put32(e->elf + HOFF + 8, 56);
    put32(e->elf + HOFF + 12, (uint32_t) - (0xE85250D6u + 56));
    assert_int_equal(mb2_find(&img, &h, &err), -1);
    assert_non_null(strstr(err.msg, "no end tag"));
}

static void test_mb1_wins(void **state)
{
    struct env *e = *state;
    uint32_t mb1[3] = {0x1BADB002u, 3, (uint32_t) - (0x1BADB002u + 3)};
    memcpy(e->elf + 0x60, mb1, sizeof(mb1));
    assert_int_equal(image_sniff(e->elf, sizeof(e->elf)), IMG_MULTIBOOT1_ELF);
    struct boot_state bs;
    struct boot_err err = {{0}};
    if (boot_load_images(&e->v, &e->s, NULL, e->imgs, IMG_RAW, &bs, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(bs.eax, 0x2BADB002u);
    assert_int_equal(bs.entry, 0x200000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mb2_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mb2_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mb1_wins, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

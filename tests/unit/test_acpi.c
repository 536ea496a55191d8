/*
 * test_acpi.c: the x86 firmware table builders (src/arch/x86/acpi.c,
 * mptable.c) over configurations built by the front end: checksums, the
 * RSDP -> XSDT -> FADT/MADT/DSDT/HPET chain, one MADT LAPIC per vCPU and an
 * IOAPIC entry per `vdev ioapic`, COM ports and _S5 in the DSDT, user
 * tables, and the MP table's processor and interrupt entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "config/front.h"
#include "devices/device.h"
#include "devices/platform.h"
#include "fake_env.h"

static char elf64[64] = "\x7f"
                        "ELF\x02\x01\x01";

static const struct fake_file files[] = {
    {.path = "g.elf", .data = elf64, .len = sizeof(elf64)},
    {0},
};

static struct vm_spec spec;
static uint8_t area[ACPI_AREA_SIZE];
#define BASE ACPI_AREA_BASE

static void build(const char *text)
{
    struct diag dg;
    spec_free(&spec);
    spec_init(&spec, ARCH_X86_64);
    char *msgs = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&msgs, &n);
    diag_init(&dg, f);
    bool ok = cfg_build_buffer("t", text, strlen(text), fake_env(files), &dg,
                               &spec, NULL);
    fclose(f);
    if (!ok)
        fail_msg("config rejected: %s\n  -> %s", text, msgs);
    free(msgs);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static const uint8_t *at(uint64_t gpa)
{
    assert_true(gpa >= BASE && gpa < BASE + sizeof(area));
    return area + (gpa - BASE);
}

/* find: the table with signature sig through RSDP -> XSDT, checked. */
static const uint8_t *find(const char *sig)
{
    const uint8_t *rsdp = area;
    assert_memory_equal(rsdp, "RSD PTR ", 8);
    assert_int_equal(sum(rsdp, 20), 0);
    assert_int_equal(sum(rsdp, 36), 0);
    assert_int_equal(rsdp[15], 2);
    const uint8_t *x = at(get64(rsdp + 24));
    assert_memory_equal(x, "XSDT", 4);
    uint32_t xl = get32(x + 4);
    assert_int_equal(sum(x, xl), 0);
    for (uint32_t o = 36; o < xl; o += 8) {
        const uint8_t *t = at(get64(x + o));
        assert_int_equal(sum(t, get32(t + 4)), 0);
        if (memcmp(t, sig, 4) == 0)
            return t;
    }
    return NULL;
}

static long build_acpi(const char *text)
{
    build(text);
    memset(area, 0xaa, sizeof(area));
    char err[128];
    long n = acpi_build(&spec, (unsigned)spec.cpus.n, NULL, 0, area,
                        sizeof(area), BASE, err, sizeof(err));
    if (n < 0)
        fail_msg("acpi_build: %s", err);
    return n;
}

static void test_madt(void **state)
{
    (void)state;
    build_acpi("ram 64m load g.elf cpu cpu cpu cpu "
               "vdev ioapic name a vdev ioapic loc 0xfec10000 name b");
    const uint8_t *m = find("APIC");
    assert_non_null(m);
    assert_int_equal(get32(m + 36), 0xfee00000u);
    unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
    for (uint32_t o = 44; o < get32(m + 4); o += m[o + 1]) {
        const uint8_t *e = m + o;
        switch (e[0]) {
        case 0:
            assert_int_equal(e[3], lapics); /* APIC ID = index */
            assert_int_equal(get32(e + 4) & 1, 1);
            lapics++;
            break;
        case 1:
            assert_int_equal(e[2], 4 + ioapics);
            assert_int_equal(get32(e + 4), ioapics ? 0xfec10000u : 0xfec00000u);
            assert_int_equal(get32(e + 8), ioapics * 24);
            ioapics++;
            break;
        case 2:
            if (e[3] == 0)
                assert_int_equal(get32(e + 4), 2);
            else
                assert_int_equal(e[3], 9);
            isos++;
            break;
        case 4:
            assert_int_equal(e[5], 1);
            nmis++;
            break;
        default:
            fail_msg("unexpected MADT entry type %u", e[0]);
        }
    }
    assert_int_equal(lapics, 4);
    assert_int_equal(ioapics, 2);
    assert_int_equal(isos, 2);
    assert_int_equal(nmis, 1);
    assert_null(find("HPET"));
}

static void test_fadt_dsdt(void **state)
{
    (void)state;
    build_acpi("ram 64m load g.elf cpu vdev ser8250 hostdev >- "
               "vdev ser8250 loc 0x2f8 intr ioapic:3");
    const uint8_t *f = find("FACP");
    assert_non_null(f);
    assert_int_equal(get32(f + 4), 276);
    assert_int_equal(f[8], 6);
    assert_int_equal(get32(f + 56), 0x600);
    assert_int_equal(get32(f + 64), 0x604);
    assert_int_equal(f[88], 4);
    assert_int_equal(f[89], 2);
    assert_int_equal(f[46], 9);
    assert_int_equal(f[109] & 3, 3); /* LEGACY_DEVICES | 8042 */
    assert_int_equal(get32(f + 112) & (1u << 10), 1u << 10);
    assert_int_equal(get32(f + 112) & (1u << 20), 0); /* not HW-reduced */
    assert_int_equal(f[116], 1);
    assert_int_equal(get64(f + 120), 0xcf9);
    assert_int_equal(f[128], 6);
    const uint8_t *facs = at(get32(f + 36));
    assert_memory_equal(facs, "FACS", 4);
    const uint8_t *d = at(get64(f + 140));
    assert_int_equal(get32(f + 40), get64(f + 140));
    assert_memory_equal(d, "DSDT", 4);
    uint32_t dl = get32(d + 4);
    assert_int_equal(sum(d, dl), 0);
    /* Two PNP0501 (EISAID 0x0105d041) devices with their ports. */
    static const uint8_t hid[] = {0x08, '_',  'H',  'I',  'D',
                                  0x0c, 0x41, 0xd0, 0x05, 0x01};
    static const uint8_t io1[] = {0x47, 1, 0xf8, 0x03, 0xf8, 0x03, 1, 8};
    static const uint8_t io2[] = {0x47, 1, 0xf8, 0x02, 0xf8, 0x02, 1, 8};
    static const uint8_t irq4[] = {0x22, 0x10, 0x00};
    static const uint8_t irq3[] = {0x22, 0x08, 0x00};
    static const uint8_t s5[] = {'_',  'S', '5',  '_', 0x12, 0x08, 4,
                                 0x0a, 5,   0x0a, 5,   0,    0};
    unsigned nhid = 0;
    bool has_io1 = false, has_io2 = false, has_irq4 = false, has_irq3 = false,
         has_s5 = false;
    for (uint32_t o = 36; o < dl; o++) {
        const uint8_t *p = d + o;
        size_t left = dl - o;
        nhid += left >= sizeof(hid) && !memcmp(p, hid, sizeof(hid));
        has_io1 |= left >= sizeof(io1) && !memcmp(p, io1, sizeof(io1));
        has_io2 |= left >= sizeof(io2) && !memcmp(p, io2, sizeof(io2));
        has_irq4 |= left >= sizeof(irq4) && !memcmp(p, irq4, sizeof(irq4));
        has_irq3 |= left >= sizeof(irq3) && !memcmp(p, irq3, sizeof(irq3));
        has_s5 |= left >= sizeof(s5) && !memcmp(p, s5, sizeof(s5));
    }
    assert_int_equal(nhid, 2);
    assert_true(has_io1 && has_io2 && has_irq4 && has_irq3 && has_s5);
    /* Scope(\_SB_): its PkgLength covers the rest of the scope. */
    assert_int_equal(d[36], 0x10);
}

static void test_legacy_free_hpet(void **state)
{
    (void)state;
    build_acpi("ram 64m load g.elf set legacy-free on "
               "vdev hpet loc 0xfed00000 legacy-free");
    const uint8_t *f = find("FACP");
    assert_int_equal(f[109] & 3, 0);
    const uint8_t *h = find("HPET");
    assert_non_null(h);
    assert_int_equal(get64(h + 44), 0xfed00000u);
    assert_int_equal(get32(h + 36) & (1u << 15), 0);
}

static void test_user_table(void **state)
{
    (void)state;
    build("ram 64m load g.elf");
    uint8_t ssdt[40] = "SSDT";
    ssdt[4] = sizeof(ssdt);
    ssdt[9] = (uint8_t)(0 - sum(ssdt, sizeof(ssdt)));
    struct acpi_blob b = {ssdt, sizeof(ssdt), "ssdt.aml"};
    char err[128];
    assert_true(acpi_build(&spec, 1, &b, 1, area, sizeof(area), BASE, err,
                           sizeof(err)) > 0);
    const uint8_t *t = find("SSDT");
    assert_non_null(t);
    assert_memory_equal(t, ssdt, sizeof(ssdt));
    /* Not a table: refused with its name. */
    b.size = 30;
    assert_int_equal(
        acpi_build(&spec, 1, &b, 1, area, sizeof(area), BASE, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "ssdt.aml"));
    /* Too small an area. */
    assert_int_equal(
        acpi_build(&spec, 1, NULL, 0, area, 200, BASE, err, sizeof(err)), -1);
}

static void test_mptable(void **state)
{
    (void)state;
    build("ram 64m load g.elf cpu cpu cpu");
    uint8_t mp[MPTABLE_SIZE];
    long n = mptable_build(&spec, 3, mp, sizeof(mp), MPTABLE_BASE);
    assert_true(n > 0);
    assert_memory_equal(mp, "_MP_", 4);
    assert_int_equal(sum(mp, 16), 0);
    assert_int_equal(get32(mp + 4), MPTABLE_BASE + 16);
    const uint8_t *c = mp + 16;
    assert_memory_equal(c, "PCMP", 4);
    uint16_t len = (uint16_t)(c[4] | c[5] << 8);
    assert_int_equal(sum(c, len), 0);
    unsigned procs = 0, bsp = 0, ioints = 0, lints = 0, ioapics = 0;
    const uint8_t *e = c + 44;
    for (unsigned i = 0; i < (unsigned)(c[34] | c[35] << 8); i++) {
        switch (e[0]) {
        case 0:
            assert_int_equal(e[1], procs);
            procs++;
            bsp += (e[3] & 2) != 0;
            e += 20;
            continue;
        case 2:
            assert_int_equal(e[1], 3);
            ioapics++;
            break;
        case 3:
            if (e[5] == 0)
                assert_int_equal(e[7], 2);
            ioints++;
            break;
        case 4:
            lints++;
            break;
        }
        e += 8;
    }
    assert_int_equal(e - c, len);
    assert_int_equal(procs, 3);
    assert_int_equal(bsp, 1);
    assert_int_equal(ioapics, 1);
    assert_int_equal(ioints, 15);
    assert_int_equal(lints, 2);
    assert_int_equal(mptable_build(&spec, 3, mp, 100, MPTABLE_BASE), -1);
}

static int sci_level = -1, stops = -1;

static void fake_irq(void *opaque, uint32_t gsi, bool level)
{
    (void)opaque;
    assert_int_equal(gsi, 9);
    sci_level = level;
}

static void fake_stop(void *opaque, enum vm_stop why)
{
    (void)opaque;
    stops = (int)why;
}

static uint32_t pio_rd(struct bus *b, uint64_t port, unsigned size)
{
    uint32_t v = 0;
    assert_int_equal(bus_access(b, port, &v, size, false), BUS_OK);
    return v;
}

static void pio_wr(struct bus *b, uint64_t port, uint32_t v, unsigned size)
{
    assert_int_equal(bus_access(b, port, &v, size, true), BUS_OK);
}

/* The PM1a event block: PWRBTN_STS/EN, write-1-to-clear, the SCI level. */
static void test_pm_power_button(void **state)
{
    (void)state;
    struct bus pio, mmio;
    bus_init(&pio, "pio");
    bus_init(&mmio, "mmio");
    struct dev_ctx ctx = {
        .pio = &pio, .mmio = &mmio, .irq_set = fake_irq, .stop = fake_stop};
    struct dev_list l = {0};
    assert_int_equal(platform_realize(&ctx, &l), 0);
    void *pm = NULL;
    for (size_t i = 0; i < l.v.n; i++)
        if (strcmp(l.v.v[i].name, PM_DEV_NAME) == 0)
            pm = l.v.v[i].state;
    assert_non_null(pm);
    /* Not enabled: the press is latched but there is no SCI. */
    assert_false(pm_power_button(pm));
    assert_int_equal(pio_rd(&pio, 0x600, 2), 0x100);
    assert_int_equal(sci_level, -1);
    pio_wr(&pio, 0x600, 0x100, 2); /* clear */
    assert_int_equal(pio_rd(&pio, 0x600, 2), 0);
    /* Enabled (byte write to PM1_EN's high byte): SCI while pending. */
    pio_wr(&pio, 0x603, 0x01, 1);
    assert_int_equal(pio_rd(&pio, 0x602, 2), 0x100);
    assert_int_equal(pio_rd(&pio, 0x600, 4), 0x01000000);
    assert_true(pm_power_button(pm));
    assert_int_equal(sci_level, 1);
    pio_wr(&pio, 0x600, 0x0000, 2); /* writing 0 clears nothing */
    assert_int_equal(sci_level, 1);
    pio_wr(&pio, 0x601, 0x01, 1);
    assert_int_equal(sci_level, 0);
    /* S5 through PM1a_CNT. */
    pio_wr(&pio, 0x604, 1u << 13 | 5u << 10, 2);
    assert_int_equal(stops, STOP_POWEROFF);
    for (size_t i = l.v.n; i-- > 0;)
        if (l.v.v[i].teardown)
            l.v.v[i].teardown(l.v.v[i].state);
    VEC_FREE(&l.v);
    bus_destroy(&pio);
    bus_destroy(&mmio);
}

static int teardown(void **state)
{
    (void)state;
    spec_free(&spec);
    spec_init(&spec, ARCH_X86_64);
    return 0;
}

int main(void)
{
    spec_init(&spec, ARCH_X86_64);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_madt),
        cmocka_unit_test(test_fadt_dsdt),
        cmocka_unit_test(test_legacy_free_hpet),
        cmocka_unit_test(test_user_table),
        cmocka_unit_test(test_mptable),
        cmocka_unit_test(test_pm_power_button),
    };
    int r = cmocka_run_group_tests(tests, NULL, teardown);
    spec_free(&spec);
    return r;
}

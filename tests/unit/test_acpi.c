/*
 * test_acpi.c: the x86 firmware table builders (src/arch/x86/acpi.c,
 * mptable.c) over configurations built by the front end: checksums, the
 * RSDP -> XSDT -> FADT/MADT/DSDT/HPET chain, one MADT LAPIC per vCPU and an
 * IOAPIC entry per `vdev ioapic`, COM ports and _S5 in the DSDT, user
 * tables, and the MP table's processor and interrupt entries. With PCI:
 * the MCFG, the DSDT's PCI0 (identity, _CRS windows that hold every BAR
 * qvm places, _PRT = every function's INTx GSI), the PNP0C02 ECAM
 * reservation, the MP table's PCI bus and INTx entries; and one LNRO0005
 * device per virtio-mmio vdev. The DSDT is read by a small AML walker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_irq.h"
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

/* ---- a small AML walker: Scope/Device/Name, for the DSDT tests ---------- */

struct aml_name {
    char path[64]; /* "\_SB_.PCI0._CRS" */
    const uint8_t *obj;
    size_t len; /* bytes left in the enclosing scope from obj */
};

static struct aml_name names[256];
static unsigned nnames;

/* PkgLength at p: its value; *hdr = encoding bytes. */
static size_t pkglen(const uint8_t *p, size_t *hdr)
{
    unsigned nb = p[0] >> 6;
    size_t v = nb ? p[0] & 0x0f : p[0] & 0x3f;
    for (unsigned i = 1; i <= nb; i++)
        v |= (size_t)p[i] << (4 + 8 * (i - 1));
    *hdr = nb + 1;
    return v;
}

/* NameString (root/parent prefixes, single segments only here). */
static size_t namestring(const uint8_t *p, const char *scope, char *out,
                         size_t outlen)
{
    size_t k = 0;
    if (p[0] == '\\') {
        snprintf(out, outlen, "\\%.4s", (const char *)p + 1);
        return 5;
    }
    assert_true(p[k] >= 'A' && p[k] <= '_'); /* a NameSeg's lead char */
    snprintf(out, outlen, "%s.%.4s", scope, (const char *)p);
    return 4;
}

/* Size of one data object (integer, string, buffer, package). */
static size_t dataobj_len(const uint8_t *p)
{
    size_t hdr;
    switch (p[0]) {
    case 0x00:
    case 0x01:
    case 0xff:
        return 1;
    case 0x0a:
        return 2;
    case 0x0b:
        return 3;
    case 0x0c:
        return 5;
    case 0x0e:
        return 9;
    case 0x0d:
        return strlen((const char *)p + 1) + 2;
    case 0x11:
    case 0x12:
        return 1 + pkglen(p + 1, &hdr);
    default:
        fail_msg("unexpected AML data object 0x%02x", p[0]);
        return 0;
    }
}

static void walk(const uint8_t *p, size_t len, const char *scope)
{
    size_t o = 0, hdr;
    while (o < len) {
        char path[64];
        if (p[o] == 0x10 || (p[o] == 0x5b && p[o + 1] == 0x82)) {
            size_t op = p[o] == 0x10 ? 1 : 2;
            size_t pl = pkglen(p + o + op, &hdr);
            assert_true(o + op + pl <= len);
            size_t nl = namestring(p + o + op + hdr, scope, path, sizeof(path));
            walk(p + o + op + hdr + nl, pl - hdr - nl, path);
            o += op + pl;
        } else if (p[o] == 0x08) {
            size_t nl = namestring(p + o + 1, scope, path, sizeof(path));
            assert_true(nnames < 256);
            struct aml_name *n = &names[nnames++];
            snprintf(n->path, sizeof(n->path), "%s", path);
            n->obj = p + o + 1 + nl;
            n->len = len - (o + 1 + nl);
            size_t dl = dataobj_len(n->obj);
            assert_true(dl <= n->len);
            o += 1 + nl + dl;
        } else {
            fail_msg("unexpected AML opcode 0x%02x in %s", p[o], scope);
        }
    }
}

static void walk_dsdt(const uint8_t *d)
{
    nnames = 0;
    walk(d + 36, get32(d + 4) - 36, "");
}

static const uint8_t *aml_get(const char *path)
{
    for (unsigned i = 0; i < nnames; i++)
        if (strcmp(names[i].path, path) == 0)
            return names[i].obj;
    return NULL;
}

static unsigned aml_count(const char *suffix)
{
    unsigned n = 0;
    size_t sl = strlen(suffix);
    for (unsigned i = 0; i < nnames; i++) {
        size_t l = strlen(names[i].path);
        n += l >= sl && strcmp(names[i].path + l - sl, suffix) == 0;
    }
    return n;
}

/* An integer object; *next = the byte after it. */
static uint64_t aml_int(const uint8_t *p, const uint8_t **next)
{
    uint64_t v;
    switch (p[0]) {
    case 0x00:
    case 0x01:
        v = p[0];
        break;
    case 0x0a:
        v = p[1];
        break;
    case 0x0b:
        v = (uint64_t)p[1] | (uint64_t)p[2] << 8;
        break;
    case 0x0c:
        v = get32(p + 1);
        break;
    case 0x0e:
        v = get64(p + 1);
        break;
    default:
        fail_msg("not an AML integer: 0x%02x", p[0]);
        return 0;
    }
    if (next)
        *next = p + dataobj_len(p);
    return v;
}

/* A Buffer's bytes (checking its declared size). */
static const uint8_t *aml_buffer(const uint8_t *p, size_t *len)
{
    size_t hdr;
    assert_int_equal(p[0], 0x11);
    size_t pl = pkglen(p + 1, &hdr);
    const uint8_t *q;
    uint64_t sz = aml_int(p + 1 + hdr, &q);
    assert_int_equal(sz, pl - (size_t)(q - (p + 1)));
    *len = (size_t)sz;
    return q;
}

struct res {
    unsigned nio, nbus, nwordio, nmem, nfixed, nirq, end;
    uint16_t io, bus_min, bus_max, wio_min, wio_max;
    uint8_t io_len, irq_flags;
    uint32_t mem_min, mem_max, fixed_base, fixed_len, irq;
};

/* Decode a _CRS resource template, checking every descriptor's length. */
static struct res crs(const char *path)
{
    const uint8_t *o = aml_get(path);
    assert_non_null(o);
    size_t n;
    const uint8_t *b = aml_buffer(o, &n);
    struct res r = {0};
    size_t i = 0;
    while (i < n && !r.end) {
        uint8_t t = b[i];
        if (!(t & 0x80)) { /* small */
            size_t l = t & 7;
            switch (t >> 3) {
            case 0x08: /* IO */
                assert_int_equal(l, 7);
                r.nio++;
                r.io = (uint16_t)(b[i + 2] | b[i + 3] << 8);
                assert_int_equal(b[i + 4] | b[i + 5] << 8, r.io);
                r.io_len = b[i + 7];
                break;
            case 0x04: /* IRQNoFlags */
                assert_int_equal(l, 2);
                r.nirq++;
                r.irq = (uint32_t)__builtin_ctz(b[i + 1] | b[i + 2] << 8);
                break;
            case 0x0f: /* End */
                assert_int_equal(l, 1);
                r.end = 1;
                break;
            default:
                fail_msg("unexpected small resource 0x%02x", t);
            }
            i += 1 + l;
            continue;
        }
        size_t l = b[i + 1] | b[i + 2] << 8;
        const uint8_t *d = b + i + 3;
        switch (t) {
        case 0x88: /* Word address space */
            assert_int_equal(l, 13);
            assert_int_equal(d[1] & 1, 0); /* producer */
            assert_int_equal(d[1] & 0x0c, 0x0c);
            if (d[0] == 2) {
                r.nbus++;
                r.bus_min = (uint16_t)(d[5] | d[6] << 8);
                r.bus_max = (uint16_t)(d[7] | d[8] << 8);
            } else {
                assert_int_equal(d[0], 1);
                r.nwordio++;
                r.wio_min = (uint16_t)(d[5] | d[6] << 8);
                r.wio_max = (uint16_t)(d[7] | d[8] << 8);
                assert_int_equal(d[11] | d[12] << 8, r.wio_max - r.wio_min + 1);
            }
            break;
        case 0x87: /* DWord address space */
            assert_int_equal(l, 23);
            assert_int_equal(d[0], 0); /* memory */
            r.nmem++;
            r.mem_min = get32(d + 7);
            r.mem_max = get32(d + 11);
            assert_int_equal(get32(d + 19), r.mem_max - r.mem_min + 1);
            break;
        case 0x86: /* Memory32Fixed */
            assert_int_equal(l, 9);
            r.nfixed++;
            r.fixed_base = get32(d + 1);
            r.fixed_len = get32(d + 5);
            break;
        case 0x89: /* Extended interrupt */
            assert_int_equal(l, 6);
            assert_int_equal(d[1], 1);
            r.nirq++;
            r.irq_flags = d[0];
            r.irq = get32(d + 2);
            break;
        default:
            fail_msg("unexpected large resource 0x%02x", t);
        }
        i += 3 + l;
    }
    assert_true(r.end);
    assert_int_equal(i, n);
    return r;
}

static uint32_t eisa(const char *id)
{
    /* "PNPxxxx": compressed vendor + product, little-endian bytes. */
    uint32_t v = (uint32_t)(id[0] - 0x40) << 10 |
                 (uint32_t)(id[1] - 0x40) << 5 | (uint32_t)(id[2] - 0x40);
    uint16_t prod = (uint16_t)strtoul(id + 3, NULL, 16);
    return (v >> 8 & 0xff) | (v & 0xff) << 8 | (uint32_t)(prod >> 8) << 16 |
           (uint32_t)(prod & 0xff) << 24;
}

static const char pci_cfg[] =
    "ram 64m load g.elf cpu cpu "
    "vdev virtio-entropy "
    "vdev virtio-entropy loc pci:0:9 intr ioapic:21 "
    "vdev virtio-entropy loc 0xd0000000 intr ioapic:11 "
    "vdev virtio-entropy loc 0xd0001000 intr ioapic:12 "
    "vdev virtio-entropy legacy "
    "vdev pci-dummy reg 0x00/4=0x12378086";

static void test_pci_acpi(void **state)
{
    (void)state;
    build_acpi(pci_cfg);
    /* MCFG: ECAM, segment 0, bus 0 only. */
    const uint8_t *m = find("MCFG");
    assert_non_null(m);
    assert_int_equal(get32(m + 4), 36 + 8 + 16);
    assert_int_equal(m[8], 1);
    assert_int_equal(get64(m + 44), ACPI_PCI_ECAM_BASE);
    assert_int_equal(m[52] | m[53] << 8, 0);
    assert_int_equal(m[54], 0);
    assert_int_equal(m[55], 0);

    const uint8_t *f = find("FACP");
    walk_dsdt(at(get64(f + 140)));
    /* PCI0's identity. */
    const uint8_t *o = aml_get("\\_SB_.PCI0._HID");
    assert_non_null(o);
    assert_int_equal(aml_int(o, NULL), eisa("PNP0A08"));
    assert_int_equal(aml_int(aml_get("\\_SB_.PCI0._CID"), NULL),
                     eisa("PNP0A03"));
    assert_int_equal(eisa("PNP0A03"), 0x030ad041);
    assert_int_equal(aml_int(aml_get("\\_SB_.PCI0._SEG"), NULL), 0);
    assert_int_equal(aml_int(aml_get("\\_SB_.PCI0._BBN"), NULL), 0);
    assert_int_equal(aml_int(aml_get("\\_SB_.PCI0._UID"), NULL), 0);
    /* Its resources, and every BAR qvm placed lies inside them. */
    struct res r = crs("\\_SB_.PCI0._CRS");
    assert_int_equal(r.nbus, 1);
    assert_int_equal(r.bus_min, 0);
    assert_int_equal(r.bus_max, 0);
    assert_int_equal(r.nio, 1);
    assert_int_equal(r.io, 0xcf8);
    assert_int_equal(r.io_len, 8);
    assert_int_equal(r.nwordio, 1);
    assert_int_equal(r.nmem, 1);
    unsigned nbars = 0;
    for (size_t i = 0; i < spec.vdevs.n; i++) {
        const struct vdev_spec *vd = &spec.vdevs.v[i];
        for (unsigned k = 0; vd->is_pci && k < 6; k++) {
            const struct bar *b = &vd->pci.bars[k];
            if (b->kind == BAR_NONE)
                continue;
            nbars++;
            if (b->kind == BAR_IO) {
                assert_true(b->base >= r.wio_min);
                assert_true(b->base + b->size - 1 <= r.wio_max);
            } else {
                assert_true(b->base >= r.mem_min);
                assert_true(b->base + b->size - 1 <= r.mem_max);
            }
        }
    }
    assert_int_equal(nbars, 3 * 2 + 1); /* 3 virtio (one legacy I/O) */
    /* _PRT: one Package{dev<<16|0xffff, INTA=0, 0, GSI} per INTx. */
    o = aml_get("\\_SB_.PCI0._PRT");
    assert_non_null(o);
    assert_int_equal(o[0], 0x12);
    size_t hdr;
    (void)pkglen(o + 1, &hdr);
    unsigned nprt = o[1 + hdr];
    const uint8_t *e = o + 2 + hdr;
    unsigned want = 0;
    for (size_t i = 0; i < spec.vdevs.n; i++)
        want += spec.vdevs.v[i].is_pci && spec.vdevs.v[i].pci.intx_pin;
    assert_int_equal(want, 3);
    assert_int_equal(nprt, want);
    for (unsigned k = 0; k < nprt; k++) {
        assert_int_equal(e[0], 0x12);
        size_t h;
        size_t pl = pkglen(e + 1, &h);
        assert_int_equal(e[1 + h], 4);
        const uint8_t *q = e + 2 + h;
        uint64_t addr = aml_int(q, &q), pin = aml_int(q, &q);
        uint64_t src = aml_int(q, &q), gsi = aml_int(q, &q);
        assert_int_equal(q - e, 1 + pl);
        assert_int_equal(addr & 0xffff, 0xffff);
        assert_int_equal(src, 0);
        bool match = false;
        for (size_t i = 0; i < spec.vdevs.n; i++) {
            const struct vdev_spec *vd = &spec.vdevs.v[i];
            if (vd->is_pci && vd->pci.intx_pin && vd->pci.bdf.dev == addr >> 16)
                match =
                    pin == vd->pci.intx_pin - 1u && gsi == vd->pci.intx.line;
        }
        assert_true(match);
        if (addr >> 16 == 9)
            assert_int_equal(gsi, 21); /* the explicit intr */
        e = q;
    }
    /* The ECAM reservation. */
    assert_int_equal(aml_int(aml_get("\\_SB_.MRES._HID"), NULL),
                     eisa("PNP0C02"));
    r = crs("\\_SB_.MRES._CRS");
    assert_int_equal(r.nfixed, 1);
    assert_int_equal(r.fixed_base, ACPI_PCI_ECAM_BASE);
    assert_int_equal(r.fixed_len, ACPI_PCI_ECAM_SIZE);
    /* virtio-mmio: two LNRO0005 devices, level/high/exclusive. */
    assert_int_equal(aml_count("._HID"), 4); /* PCI0, MRES, VR00, VR01 */
    o = aml_get("\\_SB_.VR00._HID");
    assert_non_null(o);
    assert_int_equal(o[0], 0x0d);
    assert_string_equal((const char *)o + 1, "LNRO0005");
    assert_int_equal(aml_int(aml_get("\\_SB_.VR00._UID"), NULL), 0);
    assert_int_equal(aml_int(aml_get("\\_SB_.VR01._UID"), NULL), 1);
    r = crs("\\_SB_.VR00._CRS");
    assert_int_equal(r.nfixed, 1);
    assert_int_equal(r.fixed_base, 0xd0000000u);
    assert_int_equal(r.fixed_len, 0x200);
    assert_int_equal(r.nirq, 1);
    assert_int_equal(r.irq, 11);
    assert_int_equal(r.irq_flags, 0x01); /* consumer, level, high, excl. */
    r = crs("\\_SB_.VR01._CRS");
    assert_int_equal(r.fixed_base, 0xd0001000u);
    assert_int_equal(r.irq, 12);
    assert_null(aml_get("\\_SB_.VR02._HID"));
    /* _S5 survives at the root. */
    assert_non_null(aml_get("._S5_"));
}

static void test_no_pci_acpi(void **state)
{
    (void)state;
    build_acpi("ram 64m load g.elf vdev ser8250 hostdev >-");
    assert_null(find("MCFG"));
    assert_non_null(find("APIC"));
    walk_dsdt(at(get64(find("FACP") + 140)));
    assert_null(aml_get("\\_SB_.PCI0._HID"));
    assert_null(aml_get("\\_SB_.MRES._HID"));
    assert_int_equal(aml_count("._HID"), 1); /* COM1 */
    struct res r = crs("\\_SB_.COM1._CRS");
    assert_int_equal(r.nio, 1);
    assert_int_equal(r.io, 0x3f8);
    assert_int_equal(r.nirq, 1);
    assert_int_equal(r.irq, 4);
}

static void test_pci_mptable(void **state)
{
    (void)state;
    build(pci_cfg);
    uint8_t mp[MPTABLE_SIZE];
    long n = mptable_build(&spec, 2, mp, sizeof(mp), MPTABLE_BASE);
    assert_true(n > 0);
    const uint8_t *c = mp + 16;
    uint16_t len = (uint16_t)(c[4] | c[5] << 8);
    assert_int_equal(sum(c, len), 0);
    assert_int_equal(sum(mp, 16), 0);
    int pci_bus = -1, isa_bus = -1;
    unsigned isa_ints = 0, pci_ints = 0;
    const uint8_t *e = c + 44;
    for (unsigned i = 0; i < (unsigned)(c[34] | c[35] << 8); i++) {
        if (e[0] == 0) {
            e += 20;
            continue;
        }
        if (e[0] == 1 && !memcmp(e + 2, "PCI   ", 6))
            pci_bus = e[1];
        if (e[0] == 1 && !memcmp(e + 2, "ISA   ", 6))
            isa_bus = e[1];
        if (e[0] == 3 && e[4] == isa_bus)
            isa_ints++;
        if (e[0] == 3 && e[4] == pci_bus) {
            unsigned dev = e[5] >> 2, pin = e[5] & 3;
            assert_int_equal(pin, 0);  /* INTA */
            assert_int_equal(e[6], 2); /* the I/O APIC's ID (2 vCPUs) */
            assert_int_equal(get32(e) >> 16 & 0xffff, 0); /* conforming */
            bool match = false;
            for (size_t k = 0; k < spec.vdevs.n; k++) {
                const struct vdev_spec *vd = &spec.vdevs.v[k];
                if (vd->is_pci && vd->pci.intx_pin && vd->pci.bdf.dev == dev)
                    match = e[7] == vd->pci.intx.line;
            }
            assert_true(match);
            pci_ints++;
        }
        e += 8;
    }
    assert_int_equal(e - c, len);
    assert_int_equal(pci_bus, 0); /* = the PCI bus number, for Linux */
    assert_int_equal(isa_bus, 1);
    assert_int_equal(isa_ints, 15);
    assert_int_equal(pci_ints, 3);
}

static int sci_level = -1, stops = -1;

static void fake_irq(void *opaque, uint32_t gsi, bool level)
{
    (void)opaque;
    assert_int_equal(gsi, 9);
    sci_level = level;
}

FAKE_IRQ(fake_irq)

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
    struct dev_ctx ctx = {.pio = &pio,
                          .mmio = &mmio,
                          .irq_resolve = fake_irq_resolve,
                          .irq_isa = fake_irq_isa,
                          .stop = fake_stop};
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
        cmocka_unit_test(test_pci_acpi),
        cmocka_unit_test(test_no_pci_acpi),
        cmocka_unit_test(test_pci_mptable),
        cmocka_unit_test(test_pm_power_button),
    };
    int r = cmocka_run_group_tests(tests, NULL, teardown);
    spec_free(&spec);
    return r;
}

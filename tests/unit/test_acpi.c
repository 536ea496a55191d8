/*
 * test_acpi.c: the x86 firmware table builders (src/arch/x86/acpi.c,
 * mptable.c) over realized machines (struct x86_board, x86_boards.h):
 * checksums, the RSDP -> XSDT/RSDT -> FADT/MADT/DSDT/HPET chain, the
 * FADT's PM blocks, PM timer, FACS and IAPC_BOOT_ARCH, one MADT LAPIC per
 * vCPU and an IOAPIC entry per realized IOAPIC (ID, address, GSI base),
 * the interrupt source overrides from the ISA wiring (board.c), PCAT_COMPAT
 * with the 8259 pair, COM ports, the HPET device and only _S5 in the DSDT,
 * user tables, too small an area, and the MP table's processor, IOAPIC,
 * interrupt and local interrupt entries. With PCI: the MCFG, the DSDT's
 * PCI0 (identity, _CRS windows, _PRT = the board's INTx routes), the
 * PNP0C02 ECAM reservation, the MP table's PCI bus and INTx entries; and
 * one LNRO0005 device per virtio-mmio device. The DSDT is read by a small
 * AML walker. Also the ACPI PM block's power button (devices/platform.c).
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
#include "x86_boards.h"
#include "arch/x86/acpi.h"
#include "arch/x86/board.h"
#include "devices/device.h"
#include "devices/platform.h"

static uint8_t area[ACPI_AREA_SIZE];
#define BASE ACPI_AREA_BASE

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
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

/* Does the n-byte pattern occur in p[0..len)? How many times. */
static unsigned count_bytes(const uint8_t *p, size_t len, const void *pat,
                            size_t n)
{
    unsigned k = 0;
    for (size_t o = 0; o + n <= len; o++)
        k += memcmp(p + o, pat, n) == 0;
    return k;
}

/* find: the table with signature sig through RSDP -> XSDT, checked, and
 * the RSDT listing the same tables. */
static const uint8_t *find(const char *sig)
{
    const uint8_t *rsdp = area;
    assert_memory_equal(rsdp, "RSD PTR ", 8);
    assert_int_equal(sum(rsdp, 20), 0);
    assert_int_equal(get32(rsdp + 20), 36);
    assert_int_equal(sum(rsdp, 36), 0);
    assert_int_equal(rsdp[15], 2);
    assert_memory_equal(rsdp + 9, "QVM   ", 6);
    const uint8_t *x = at(get64(rsdp + 24));
    assert_memory_equal(x, "XSDT", 4);
    uint32_t xl = get32(x + 4);
    assert_int_equal(sum(x, xl), 0);
    const uint8_t *r = at(get32(rsdp + 16));
    assert_memory_equal(r, "RSDT", 4);
    uint32_t rl = get32(r + 4);
    assert_int_equal(sum(r, rl), 0);
    assert_int_equal((xl - 36) / 8, (rl - 36) / 4);
    assert_int_equal((xl - 36) % 8, 0);
    assert_int_equal((rl - 36) % 4, 0);
    const uint8_t *found = NULL;
    for (uint32_t i = 0; i < (xl - 36) / 8; i++) {
        assert_int_equal(get64(x + 36 + 8 * i), get32(r + 36 + 4 * i));
        const uint8_t *t = at(get64(x + 36 + 8 * i));
        assert_int_equal(sum(t, get32(t + 4)), 0);
        if (memcmp(t, sig, 4) == 0) {
            assert_null(found); /* one of each */
            found = t;
        }
    }
    return found;
}

static long build_acpi(const struct x86_board *b)
{
    memset(area, 0xaa, sizeof(area));
    char err[128];
    long n = acpi_build(b, NULL, 0, area, sizeof(area), BASE, err, sizeof(err));
    if (n < 0)
        fail_msg("acpi_build: %s", err);
    return n;
}

static const uint8_t *dsdt(void)
{
    const uint8_t *f = find("FACP");
    assert_non_null(f);
    const uint8_t *d = at(get64(f + 140));
    assert_int_equal(get32(f + 40), get64(f + 140));
    assert_memory_equal(d, "DSDT", 4);
    assert_int_equal(d[8], 2);
    assert_int_equal(sum(d, get32(d + 4)), 0);
    return d;
}

/* ---- the MADT ------------------------------------------------------------ */

struct madt {
    uint32_t lapic_addr, flags;
    unsigned nlapic, nioapic, novr, nnmi;
    uint8_t lapic_id[16];
    struct {
        uint8_t id;
        uint32_t addr, base;
    } io[BOARD_MAX_IOAPICS];
    struct board_override ovr[BOARD_MAX_OVR];
    uint8_t nmi_uid, nmi_lint;
    uint16_t nmi_flags;
};

static struct madt parse_madt(void)
{
    const uint8_t *m = find("APIC");
    assert_non_null(m);
    assert_int_equal(m[8], 5);
    struct madt r = {get32(m + 36), get32(m + 40)};
    uint32_t len = get32(m + 4), o;
    for (o = 44; o < len; o += m[o + 1]) {
        const uint8_t *e = m + o;
        switch (e[0]) {
        case 0:
            assert_int_equal(e[1], 8);
            assert_int_equal(e[2], r.nlapic);  /* ACPI processor UID */
            assert_int_equal(get32(e + 4), 1); /* enabled */
            assert_true(r.nlapic < 16);
            r.lapic_id[r.nlapic++] = e[3];
            break;
        case 1:
            assert_int_equal(e[1], 12);
            assert_true(r.nioapic < BOARD_MAX_IOAPICS);
            r.io[r.nioapic].id = e[2];
            r.io[r.nioapic].addr = get32(e + 4);
            r.io[r.nioapic].base = get32(e + 8);
            r.nioapic++;
            break;
        case 2:
            assert_int_equal(e[1], 10);
            assert_int_equal(e[2], 0); /* bus: ISA */
            assert_true(r.novr < BOARD_MAX_OVR);
            r.ovr[r.novr++] =
                (struct board_override){e[3], get32(e + 4), get16(e + 8)};
            break;
        case 4:
            assert_int_equal(e[1], 6);
            r.nmi_uid = e[2];
            r.nmi_flags = get16(e + 3);
            r.nmi_lint = e[5];
            r.nnmi++;
            break;
        default:
            fail_msg("unexpected MADT entry type %u", e[0]);
        }
    }
    assert_int_equal(o, len);
    return r;
}

/* The MADT's override for ISA IRQ isa, or NULL. */
static const struct board_override *madt_ovr(const struct madt *m, unsigned isa)
{
    const struct board_override *o = NULL;
    for (unsigned i = 0; i < m->novr; i++) {
        if (m->ovr[i].isa == isa) {
            assert_null(o);
            o = &m->ovr[i];
        }
    }
    return o;
}

/* ---- the MP table ---------------------------------------------------------
 */

struct mp_int {
    uint8_t type;
    uint16_t flags;
    uint8_t bus, irq, apic, pin;
};

struct mp {
    unsigned nproc, nbsp, nioapic, nint, nlint;
    int pci_bus, isa_bus;
    uint8_t proc_id[16];
    struct {
        uint8_t id, version, flags;
        uint32_t addr;
    } io[BOARD_MAX_IOAPICS];
    struct mp_int ints[64], lints[4];
};

static uint8_t mp_buf[MPTABLE_SIZE];

static struct mp build_mp(const struct x86_board *b)
{
    memset(mp_buf, 0xaa, sizeof(mp_buf));
    long n = mptable_build(b, mp_buf, sizeof(mp_buf), MPTABLE_BASE);
    assert_true(n > 16);
    const uint8_t *fp = mp_buf;
    assert_memory_equal(fp, "_MP_", 4);
    assert_int_equal(sum(fp, 16), 0);
    assert_int_equal(get32(fp + 4), MPTABLE_BASE + 16);
    assert_int_equal(fp[8], 1);
    assert_int_equal(fp[9], 4);
    assert_int_equal(fp[11], 0); /* no default configuration */
    const uint8_t *c = mp_buf + 16;
    assert_memory_equal(c, "PCMP", 4);
    uint16_t len = get16(c + 4);
    assert_int_equal(16 + len, n);
    assert_int_equal(sum(c, len), 0);
    assert_int_equal(c[6], 4);
    assert_int_equal(get32(c + 36), 0xfee00000u);
    struct mp r = {.pci_bus = -1, .isa_bus = -1};
    const uint8_t *e = c + 44;
    for (unsigned i = 0; i < get16(c + 34); i++) {
        assert_true(e < c + len);
        switch (e[0]) {
        case 0:
            assert_true(r.nproc < 16);
            r.proc_id[r.nproc++] = e[1];
            assert_int_equal(e[3] & 1, 1); /* EN */
            r.nbsp += (e[3] & 2) != 0;
            e += 20;
            continue;
        case 1:
            if (!memcmp(e + 2, "PCI   ", 6))
                r.pci_bus = e[1];
            else if (!memcmp(e + 2, "ISA   ", 6))
                r.isa_bus = e[1];
            else
                fail_msg("unexpected bus %.6s", (const char *)e + 2);
            break;
        case 2:
            assert_true(r.nioapic < BOARD_MAX_IOAPICS);
            r.io[r.nioapic].id = e[1];
            r.io[r.nioapic].version = e[2];
            r.io[r.nioapic].flags = e[3];
            r.io[r.nioapic].addr = get32(e + 4);
            r.nioapic++;
            break;
        case 3:
        case 4: {
            struct mp_int x = {e[1], get16(e + 2), e[4], e[5], e[6], e[7]};
            if (e[0] == 3) {
                assert_true(r.nint < 64);
                r.ints[r.nint++] = x;
            } else {
                assert_true(r.nlint < 4);
                r.lints[r.nlint++] = x;
            }
            break;
        }
        default:
            fail_msg("unexpected MP entry type %u", e[0]);
        }
        e += 8;
    }
    assert_int_equal(e - c, len);
    /* Nothing written past the table. */
    for (size_t i = (size_t)n; i < sizeof(mp_buf); i++)
        assert_int_equal(mp_buf[i], 0xaa);
    return r;
}

/* The MP I/O interrupt entry of (bus, irq), or NULL. */
static const struct mp_int *mp_int(const struct mp *m, int bus, unsigned irq)
{
    const struct mp_int *x = NULL;
    for (unsigned i = 0; i < m->nint; i++) {
        if (m->ints[i].bus == bus && m->ints[i].irq == irq) {
            assert_null(x);
            x = &m->ints[i];
        }
    }
    return x;
}

static unsigned mp_bus_ints(const struct mp *m, int bus)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->nint; i++)
        n += m->ints[i].bus == bus;
    return n;
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

/* ---- the MADT and the MP table --------------------------------------------
 */

static void test_madt(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 4);
    tboard_add_ioapic(&b, 5, 0xfec10000u, 24, 24, 0x20);
    build_acpi(&b);
    struct madt m = parse_madt();
    assert_int_equal(m.lapic_addr, 0xfee00000u);
    assert_int_equal(m.flags, 1); /* PCAT_COMPAT: the 8259 pair */
    assert_int_equal(m.nlapic, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(m.lapic_id[i], i); /* APIC ID = vCPU index */
    assert_int_equal(m.nioapic, 2);
    assert_int_equal(m.io[0].id, 4);
    assert_int_equal(m.io[0].addr, 0xfec00000u);
    assert_int_equal(m.io[0].base, 0);
    assert_int_equal(m.io[1].id, 5);
    assert_int_equal(m.io[1].addr, 0xfec10000u);
    assert_int_equal(m.io[1].base, 24);
    /* IRQ0 -> GSI2 (conforming), the SCI level/active high; nothing else. */
    assert_int_equal(m.novr, 2);
    const struct board_override *o = madt_ovr(&m, 0);
    assert_non_null(o);
    assert_int_equal(o->gsi, 2);
    assert_int_equal(o->flags, 0);
    o = madt_ovr(&m, 9);
    assert_non_null(o);
    assert_int_equal(o->gsi, 9);
    assert_int_equal(o->flags, 0xd); /* level (3 << 2), active high (1) */
    /* LAPIC NMI: all processors, LINT1, edge/active high. */
    assert_int_equal(m.nnmi, 1);
    assert_int_equal(m.nmi_uid, 0xff);
    assert_int_equal(m.nmi_lint, 1);
    assert_int_equal(m.nmi_flags, 0x5);
    assert_null(find("HPET"));
    assert_null(find("MCFG"));
}

/* IOAPICs where the board put them: IDs, addresses, GSI bases, versions;
 * each interrupt goes to the IOAPIC that holds its GSI. */
static void test_ioapics(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 2);
    b.nioapic = 0;
    tboard_add_ioapic(&b, 8, 0xf8000000u, 0, 24, 0x20);
    tboard_add_ioapic(&b, 9, 0xf8001000u, 24, 32, 0x20);
    tboard_add_ioapic(&b, 10, 0xfec20000u, 56, 8, 0x11);
    b.has_pci = true;
    tboard_add_prt(&b, 1, 0, 30); /* the second IOAPIC's input 6 */
    tboard_add_prt(&b, 2, 1, 60); /* the third's input 4 */
    tboard_add_prt(&b, 3, 0, 64); /* on no IOAPIC: not in the MP table */
    build_acpi(&b);
    struct madt m = parse_madt();
    assert_int_equal(m.nioapic, 3);
    static const uint32_t addr[] = {0xf8000000u, 0xf8001000u, 0xfec20000u};
    static const uint32_t base[] = {0, 24, 56};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(m.io[i].id, 8 + i);
        assert_int_equal(m.io[i].addr, addr[i]);
        assert_int_equal(m.io[i].base, base[i]);
    }

    struct mp p = build_mp(&b);
    assert_int_equal(p.nioapic, 3);
    static const uint8_t ver[] = {0x20, 0x20, 0x11};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(p.io[i].id, 8 + i);
        assert_int_equal(p.io[i].version, ver[i]);
        assert_int_equal(p.io[i].flags, 1); /* EN */
        assert_int_equal(p.io[i].addr, addr[i]);
    }
    assert_int_equal(p.pci_bus, 0);
    assert_int_equal(p.isa_bus, 1);
    assert_int_equal(mp_bus_ints(&p, p.pci_bus), 2);
    const struct mp_int *x = mp_int(&p, p.pci_bus, 1 << 2 | 0);
    assert_non_null(x);
    assert_int_equal(x->apic, 9);
    assert_int_equal(x->pin, 6);
    x = mp_int(&p, p.pci_bus, 2 << 2 | 1);
    assert_non_null(x);
    assert_int_equal(x->apic, 10);
    assert_int_equal(x->pin, 4);
    assert_null(mp_int(&p, p.pci_bus, 3 << 2 | 0));
    /* The ISA IRQs are all on the first IOAPIC. */
    assert_int_equal(mp_bus_ints(&p, p.isa_bus), 15);
    for (unsigned i = 0; i < p.nint; i++)
        if (p.ints[i].bus == p.isa_bus)
            assert_int_equal(p.ints[i].apic, 8);
}

/* board_isa_overrides: an override for each ISA IRQ not on the input of
 * its number (IRQ2, the cascade, never), and the SCI's, level/high. */
static void test_isa_overrides(void **state)
{
    (void)state;
    struct x86_board b = {.sci_irq = 9};
    tboard_isa_identity(&b);
    board_isa_overrides(&b);
    assert_int_equal(b.novr, 1); /* identity: only the SCI */
    assert_int_equal(b.ovr[0].isa, 9);
    assert_int_equal(b.ovr[0].gsi, 9);
    assert_int_equal(b.ovr[0].flags, BOARD_POL_HIGH | BOARD_TRIG_LVL);

    b = (struct x86_board){.sci_irq = 9};
    tboard_isa_identity(&b);
    b.isa_gsi[0] = 2;
    b.isa_gsi[2] = 0;   /* the cascade: never overridden */
    b.isa_gsi[5] = -1;  /* not on an IOAPIC */
    b.isa_gsi[11] = 20; /* elsewhere */
    board_isa_overrides(&b);
    board_isa_overrides(&b); /* again: the same set */
    assert_int_equal(b.novr, 3);
    assert_int_equal(b.ovr[0].isa, 0);
    assert_int_equal(b.ovr[0].gsi, 2);
    assert_int_equal(b.ovr[0].flags, 0);
    assert_int_equal(b.ovr[1].isa, 9);
    assert_int_equal(b.ovr[2].isa, 11);
    assert_int_equal(b.ovr[2].gsi, 20);
    assert_int_equal(b.ovr[2].flags, 0);

    /* The SCI elsewhere: its override follows it; IRQ9 is plain. */
    b = (struct x86_board){.sci_irq = 10};
    tboard_isa_identity(&b);
    b.isa_gsi[10] = 22;
    board_isa_overrides(&b);
    assert_int_equal(b.novr, 1);
    assert_int_equal(b.ovr[0].isa, 10);
    assert_int_equal(b.ovr[0].gsi, 22);
    assert_int_equal(b.ovr[0].flags, 0xd);
}

/* The MADT and the MP table publish exactly the board's overrides. */
static void test_overrides_in_tables(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 1);
    b.novr = 0;
    b.isa_gsi[0] = 0; /* the 8254 on input 0: no IRQ0 override */
    b.isa_gsi[5] = -1;
    b.isa_gsi[11] = 20;
    board_isa_overrides(&b);
    build_acpi(&b);
    struct madt m = parse_madt();
    assert_int_equal(m.novr, 2);
    assert_null(madt_ovr(&m, 0));
    assert_int_equal(madt_ovr(&m, 9)->flags, 0xd);
    assert_int_equal(madt_ovr(&m, 11)->gsi, 20);
    assert_int_equal(madt_ovr(&m, 11)->flags, 0);

    struct mp p = build_mp(&b);
    assert_int_equal(p.pci_bus, -1);
    assert_int_equal(p.isa_bus, 0);
    assert_int_equal(mp_bus_ints(&p, 0), 14); /* not 2, 5 */
    const struct mp_int *x = mp_int(&p, 0, 0);
    assert_non_null(x);
    assert_int_equal(x->pin, 0);
    assert_int_equal(x->flags, 0);
    assert_null(mp_int(&p, 0, 2));
    assert_null(mp_int(&p, 0, 5));
    x = mp_int(&p, 0, 9);
    assert_int_equal(x->pin, 9);
    assert_int_equal(x->flags, 0xd);
    x = mp_int(&p, 0, 11);
    assert_int_equal(x->pin, 20);
    assert_int_equal(x->apic, 1);
    assert_int_equal(x->type, 0); /* INT */

    /* IRQ0 -> GSI2 */
    tboard_typical(&b, 1);
    build_acpi(&b);
    m = parse_madt();
    assert_int_equal(m.novr, 2);
    assert_int_equal(madt_ovr(&m, 0)->gsi, 2);
    p = build_mp(&b);
    assert_int_equal(mp_int(&p, 0, 0)->pin, 2);
}

/* board_add_override: one entry per ISA IRQ, the last one wins; the
 * array does not overflow. */
static void test_add_override(void **state)
{
    (void)state;
    struct x86_board b = {0};
    board_add_override(&b, 0, 2, 0);
    board_add_override(&b, 0, 2, 0);
    assert_int_equal(b.novr, 1);
    board_add_override(&b, 9, 9, 0xd);
    board_add_override(&b, 0, 5, 0xf);
    assert_int_equal(b.novr, 2);
    assert_int_equal(b.ovr[0].isa, 0);
    assert_int_equal(b.ovr[0].gsi, 5);
    assert_int_equal(b.ovr[0].flags, 0xf);
    assert_int_equal(b.ovr[1].isa, 9);
    for (unsigned i = 0; i < 40; i++)
        board_add_override(&b, (uint8_t)(100 + i), i, 0);
    assert_int_equal(b.novr, BOARD_MAX_OVR);
    assert_int_equal(b.ovr[BOARD_MAX_OVR - 1].isa, 100 + BOARD_MAX_OVR - 3);
    board_add_override(&b, 9, 19, 0);
    assert_int_equal(b.novr, BOARD_MAX_OVR);
    assert_int_equal(b.ovr[1].gsi, 19);
}

/* PCAT_COMPAT and the MP table's ExtINT on LINT0 only with the 8259s. */
static void test_pic(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 2);
    build_acpi(&b);
    assert_int_equal(parse_madt().flags & 1, 1);
    struct mp p = build_mp(&b);
    assert_int_equal(p.nlint, 2);
    assert_int_equal(p.lints[0].type, 3); /* ExtINT */
    assert_int_equal(p.lints[0].apic, 0xff);
    assert_int_equal(p.lints[0].pin, 0);  /* LINT0 */
    assert_int_equal(p.lints[1].type, 1); /* NMI */
    assert_int_equal(p.lints[1].apic, 0xff);
    assert_int_equal(p.lints[1].pin, 1); /* LINT1 */

    b.pic = false;
    build_acpi(&b);
    assert_int_equal(parse_madt().flags & 1, 0);
    p = build_mp(&b);
    assert_int_equal(p.nlint, 1);
    assert_int_equal(p.lints[0].type, 1);
    assert_int_equal(p.lints[0].pin, 1);
}

static void test_mptable(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 3);
    struct mp p = build_mp(&b);
    assert_int_equal(p.nproc, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(p.proc_id[i], i);
    assert_int_equal(p.nbsp, 1);
    assert_int_equal(p.pci_bus, -1);
    assert_int_equal(p.isa_bus, 0);
    assert_int_equal(p.nioapic, 1);
    assert_int_equal(p.io[0].id, 3);
    assert_int_equal(p.io[0].addr, 0xfec00000u);
    assert_int_equal(p.nint, 15);
    for (unsigned i = 0; i < p.nint; i++) {
        const struct mp_int *x = &p.ints[i];
        assert_int_equal(x->type, 0);
        assert_int_equal(x->apic, 3);
        assert_int_equal(x->pin, x->irq == 0 ? 2 : x->irq);
        assert_int_equal(x->flags, x->irq == 9 ? 0xd : 0);
    }
    assert_int_equal(p.nlint, 2);
    /* Too small a buffer, at every size: -1, nothing written past it. */
    long n = mptable_build(&b, mp_buf, sizeof(mp_buf), MPTABLE_BASE);
    assert_true(n > 0);
    for (long len = 0; len < n; len++) {
        memset(mp_buf, 0xaa, sizeof(mp_buf));
        assert_int_equal(mptable_build(&b, mp_buf, (size_t)len, MPTABLE_BASE),
                         -1);
        for (size_t i = (size_t)len; i < sizeof(mp_buf); i++)
            assert_int_equal(mp_buf[i], 0xaa);
    }
}

static void test_pci_mptable(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 2);
    b.has_pci = true;
    tboard_add_prt(&b, 3, 0, 16);
    tboard_add_prt(&b, 9, 0, 21);
    tboard_add_prt(&b, 4, 1, 17);
    tboard_add_prt(&b, 4, 3, 19);
    struct mp p = build_mp(&b);
    assert_int_equal(p.pci_bus, 0); /* = the PCI bus number, for Linux */
    assert_int_equal(p.isa_bus, 1);
    assert_int_equal(mp_bus_ints(&p, 1), 15);
    assert_int_equal(mp_bus_ints(&p, 0), 4);
    for (unsigned i = 0; i < b.nprt; i++) {
        const struct board_prt *e = &b.prt[i];
        const struct mp_int *x =
            mp_int(&p, 0, (unsigned)(e->dev << 2 | e->pin));
        assert_non_null(x);
        assert_int_equal(x->type, 0);
        assert_int_equal(x->flags, 0); /* conforming: level, low for PCI */
        assert_int_equal(x->apic, 2);  /* the IOAPIC's ID (2 vCPUs) */
        assert_int_equal(x->pin, e->gsi);
    }
}

/* ---- the FADT and FACS ----------------------------------------------------
 */

static void test_fadt(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 1);
    long n = build_acpi(&b);
    const uint8_t *f = find("FACP");
    assert_non_null(f);
    assert_int_equal(get32(f + 4), 276);
    assert_int_equal(f[8], 6);
    assert_int_equal(get16(f + 46), 9);     /* SCI_INT */
    assert_int_equal(get32(f + 48), 0);     /* SMI_CMD: always ACPI mode */
    assert_int_equal(get32(f + 56), 0x600); /* PM1a_EVT_BLK */
    assert_int_equal(get32(f + 64), 0x604); /* PM1a_CNT_BLK */
    assert_int_equal(get32(f + 76), 0x608); /* PM_TMR_BLK */
    assert_int_equal(f[88], 4);
    assert_int_equal(f[89], 2);
    assert_int_equal(f[91], 4);                              /* PM_TMR_LEN */
    assert_int_equal(get32(f + 112) & (1u << 8), 1u << 8);   /* TMR_VAL_EXT */
    assert_int_equal(get32(f + 112) & (1u << 10), 1u << 10); /* RESET_REG */
    assert_int_equal(get32(f + 112) & (1u << 20), 0); /* not HW-reduced */
    /* RESET_REG: I/O 0xcf9, 8 bits, value 6. */
    assert_int_equal(f[116], 1);
    assert_int_equal(f[117], 8);
    assert_int_equal(get64(f + 120), 0xcf9);
    assert_int_equal(f[128], 6);
    /* X_PM1a_EVT_BLK, X_PM1a_CNT_BLK, X_PM_TMR_BLK: I/O GAS. */
    assert_int_equal(f[148], 1);
    assert_int_equal(f[149], 32);
    assert_int_equal(get64(f + 152), 0x600);
    assert_int_equal(f[172], 1);
    assert_int_equal(f[173], 16);
    assert_int_equal(get64(f + 176), 0x604);
    assert_int_equal(f[208], 1);
    assert_int_equal(f[209], 32);
    assert_int_equal(f[211], 3); /* dword access */
    assert_int_equal(get64(f + 212), 0x608);
    /* The FACS where the board put it (ACPI NVS), not in the area. */
    assert_int_equal(get32(f + 36), ACPI_FACS_BASE);
    assert_int_equal(get64(f + 132), ACPI_FACS_BASE);
    assert_int_equal(count_bytes(area, (size_t)n, "FACS", 4), 0);
    assert_memory_equal(f + 268, "QVMKVM\0\0", 8);
    (void)dsdt();

    /* Elsewhere: FIRMWARE_CTRL and X_FIRMWARE_CTRL follow. */
    b.facs = 0x9e000;
    build_acpi(&b);
    f = find("FACP");
    assert_int_equal(get32(f + 36), 0x9e000);
    assert_int_equal(get64(f + 132), 0x9e000);

    /* No PM timer: no PM_TMR_BLK, X_PM_TMR_BLK or TMR_VAL_EXT. */
    b.pm_timer = false;
    build_acpi(&b);
    f = find("FACP");
    assert_int_equal(get32(f + 76), 0);
    assert_int_equal(f[91], 0);
    assert_int_equal(get32(f + 112) & (1u << 8), 0);
    for (unsigned i = 208; i < 220; i++)
        assert_int_equal(f[i], 0);
}

/* Without an NVS page for it (board.facs 0) the FACS is in the area. */
static void test_facs_in_area(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 1);
    b.facs = 0;
    long n = build_acpi(&b);
    const uint8_t *f = find("FACP");
    uint32_t facs = get32(f + 36);
    assert_int_equal(get64(f + 132), facs);
    assert_true(facs >= BASE && facs + ACPI_FACS_SIZE <= BASE + (uint64_t)n);
    assert_int_equal(facs % 64, 0);
    const uint8_t *t = at(facs);
    assert_memory_equal(t, "FACS", 4);
    assert_int_equal(get32(t + 4), ACPI_FACS_SIZE);
    assert_int_equal(t[32], 2);
    assert_int_equal(count_bytes(area, (size_t)n, "FACS", 4), 1);
    /* acpi_facs writes the same. */
    uint8_t facs2[ACPI_FACS_SIZE];
    memset(facs2, 0xaa, sizeof(facs2));
    acpi_facs(facs2);
    assert_memory_equal(facs2, t, ACPI_FACS_SIZE);
}

/* IAPC_BOOT_ARCH: LEGACY_DEVICES unless legacy-free, 8042 with the 8042,
 * VGA not present, CMOS RTC not present without the RTC; CENTURY. */
static void test_boot_arch(void **state)
{
    (void)state;
    static const struct {
        bool kbc, rtc, legacy_free;
        uint16_t bits;
    } cases[] = {
        {true, true, false, 0x07},  {false, true, false, 0x05},
        {true, false, false, 0x27}, {false, false, true, 0x24},
        {true, true, true, 0x06},   {false, true, true, 0x04},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct x86_board b;
        tboard_typical(&b, 1);
        b.kbc = cases[i].kbc;
        b.rtc = cases[i].rtc;
        b.legacy_free = cases[i].legacy_free;
        build_acpi(&b);
        const uint8_t *f = find("FACP");
        assert_int_equal(get16(f + 109), cases[i].bits);
        assert_int_equal(f[108], cases[i].rtc ? 0x32 : 0); /* CENTURY */
    }
}

/* ---- the DSDT --------------------------------------------------------------
 */

static void test_dsdt_com(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 1);
    tboard_add_com(&b, 0x3f8, 4, 4);
    tboard_add_com(&b, 0x2f8, 3, 3);
    tboard_add_com(&b, 0x3e8, -1, 20); /* no ISA IRQ: an Interrupt() */
    build_acpi(&b);
    const uint8_t *d = dsdt();
    uint32_t dl = get32(d + 4);
    /* Three PNP0501 (EISAID 0x0105d041) devices with their ports. */
    static const uint8_t hid[] = {0x08, '_',  'H',  'I',  'D',
                                  0x0c, 0x41, 0xd0, 0x05, 0x01};
    static const uint8_t io1[] = {0x47, 1, 0xf8, 0x03, 0xf8, 0x03, 1, 8};
    static const uint8_t io2[] = {0x47, 1, 0xf8, 0x02, 0xf8, 0x02, 1, 8};
    static const uint8_t irq4[] = {0x22, 0x10, 0x00};
    static const uint8_t irq3[] = {0x22, 0x08, 0x00};
    static const uint8_t s5[] = {'_',  'S', '5',  '_', 0x12, 0x08, 4,
                                 0x0a, 5,   0x0a, 5,   0,    0};
    assert_int_equal(count_bytes(d, dl, hid, sizeof(hid)), 3);
    assert_int_equal(count_bytes(d, dl, io1, sizeof(io1)), 1);
    assert_int_equal(count_bytes(d, dl, io2, sizeof(io2)), 1);
    assert_int_equal(count_bytes(d, dl, irq4, sizeof(irq4)), 1);
    assert_int_equal(count_bytes(d, dl, irq3, sizeof(irq3)), 1);
    assert_int_equal(count_bytes(d, dl, s5, sizeof(s5)), 1);
    /* Scope(\_SB_): its PkgLength covers the rest of the scope. */
    assert_int_equal(d[36], 0x10);

    walk_dsdt(d);
    assert_int_equal(aml_count("._HID"), 4); /* RTC_ and three COMs */
    struct res r = crs("\\_SB_.COM1._CRS");
    assert_int_equal(r.nio, 1);
    assert_int_equal(r.io, 0x3f8);
    assert_int_equal(r.io_len, 8);
    assert_int_equal(r.nirq, 1);
    assert_int_equal(r.irq, 4);
    assert_int_equal(aml_int(aml_get("\\_SB_.COM1._UID"), NULL), 1);
    r = crs("\\_SB_.COM2._CRS");
    assert_int_equal(r.io, 0x2f8);
    assert_int_equal(r.irq, 3);
    assert_int_equal(aml_int(aml_get("\\_SB_.COM2._UID"), NULL), 2);
    r = crs("\\_SB_.COM3._CRS");
    assert_int_equal(r.io, 0x3e8);
    assert_int_equal(r.nirq, 1);
    assert_int_equal(r.irq, 20);
    assert_int_equal(r.irq_flags, 0x03); /* consumer, edge, high, excl. */
}

/* Only \_S5: qvm cannot suspend a guest. */
static void test_dsdt_sleep_states(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_qnx(&b);
    build_acpi(&b);
    const uint8_t *d = dsdt();
    walk_dsdt(d);
    const uint8_t *s5 = aml_get("._S5_");
    assert_non_null(s5);
    assert_int_equal(s5[0], 0x12);
    size_t hdr;
    (void)pkglen(s5 + 1, &hdr);
    assert_int_equal(s5[1 + hdr], 4);
    const uint8_t *q = s5 + 2 + hdr;
    assert_int_equal(aml_int(q, &q), 5); /* SLP_TYPa */
    assert_int_equal(aml_int(q, &q), 5); /* SLP_TYPb */
    static const char *const other[] = {"_S0_", "_S1_", "_S2_", "_S3_", "_S4_"};
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(count_bytes(d, get32(d + 4), other[i], 4), 0);
    assert_int_equal(count_bytes(d, get32(d + 4), "_S5_", 4), 1);
}

static void test_hpet(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 1);
    b.hpet = (struct board_hpet){true, 0xfed00000u, 3, true, 128, 10000000};
    build_acpi(&b);
    const uint8_t *h = find("HPET");
    assert_non_null(h);
    assert_int_equal(get32(h + 4), 56);
    assert_int_equal(h[8], 1);
    uint32_t id = get32(h + 36);
    assert_int_equal(id >> 16, 0x8086);
    assert_int_equal(id & 0xff, 1);              /* revision */
    assert_int_equal(id >> 8 & 0x1f, 2);         /* 3 comparators */
    assert_int_equal(id & (1u << 13), 1u << 13); /* 64-bit counter */
    assert_int_equal(id & (1u << 15), 1u << 15); /* LEG_RT_CAP */
    assert_int_equal(h[40], 0);                  /* system memory */
    assert_int_equal(h[41], 64);
    assert_int_equal(get64(h + 44), 0xfed00000u);
    assert_int_equal(h[52], 0);
    assert_int_equal(get16(h + 53), 128);
    /* And the PNP0103 device. */
    walk_dsdt(dsdt());
    const uint8_t *o = aml_get("\\_SB_.HPET._HID");
    assert_non_null(o);
    assert_int_equal(aml_int(o, NULL), eisa("PNP0103"));
    assert_int_equal(aml_int(aml_get("\\_SB_.HPET._UID"), NULL), 0);
    struct res r = crs("\\_SB_.HPET._CRS");
    assert_int_equal(r.nfixed, 1);
    assert_int_equal(r.fixed_base, 0xfed00000u);
    assert_int_equal(r.fixed_len, 0x400);
    assert_int_equal(r.nirq, 0);

    /* Without the legacy replacement route; defaults for 0 fields. */
    b.hpet = (struct board_hpet){true, 0xf8008000u, 0, false, 0, 10000000};
    build_acpi(&b);
    h = find("HPET");
    assert_int_equal(get32(h + 36) & (1u << 15), 0);
    assert_int_equal(get32(h + 36) >> 8 & 0x1f, 2);
    assert_int_equal(get64(h + 44), 0xf8008000u);
    assert_int_equal(get16(h + 53), 128);
    walk_dsdt(dsdt());
    assert_int_equal(crs("\\_SB_.HPET._CRS").fixed_base, 0xf8008000u);

    /* No HPET: neither the table nor the device. */
    b.hpet.present = false;
    build_acpi(&b);
    assert_null(find("HPET"));
    walk_dsdt(dsdt());
    assert_null(aml_get("\\_SB_.HPET._HID"));
    assert_int_equal(aml_count("._HID"), 1); /* RTC_ */
}

static void test_legacy_free(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_bare(&b);
    build_acpi(&b);
    const uint8_t *f = find("FACP");
    assert_int_equal(f[109] & 3, 0);
    assert_int_equal(parse_madt().flags, 0);
}

static void test_user_table(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 1);
    uint8_t ssdt[40] = "SSDT";
    ssdt[4] = sizeof(ssdt);
    ssdt[9] = (uint8_t)(0 - sum(ssdt, sizeof(ssdt)));
    struct acpi_blob u = {ssdt, sizeof(ssdt), "ssdt.aml"};
    char err[128];
    assert_true(
        acpi_build(&b, &u, 1, area, sizeof(area), BASE, err, sizeof(err)) > 0);
    const uint8_t *t = find("SSDT");
    assert_non_null(t);
    assert_memory_equal(t, ssdt, sizeof(ssdt));
    assert_non_null(find("APIC"));
    /* Not a table: refused with its name. */
    u.size = 30;
    err[0] = 0;
    assert_int_equal(
        acpi_build(&b, &u, 1, area, sizeof(area), BASE, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ssdt.aml"));
    u.size = sizeof(ssdt) + 1; /* the header's length is not the size */
    assert_int_equal(
        acpi_build(&b, &u, 1, area, sizeof(area), BASE, err, sizeof(err)), -1);
}

/* Too small an area, at every size: -1 with a message, nothing written
 * past the area's end. */
static void test_too_small(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_qnx(&b);
    b.facs = 0;
    uint8_t ssdt[40] = "SSDT";
    ssdt[4] = sizeof(ssdt);
    struct acpi_blob u = {ssdt, sizeof(ssdt), "ssdt.aml"};
    char err[128];
    long n = acpi_build(&b, &u, 1, area, sizeof(area), BASE, err, sizeof(err));
    assert_true(n > 0);
    for (long len = 0; len < n; len++) {
        memset(area, 0xaa, (size_t)n + 64);
        err[0] = 0;
        assert_int_equal(
            acpi_build(&b, &u, 1, area, (size_t)len, BASE, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "do not fit"));
        for (long i = len; i < n + 64; i++)
            assert_int_equal(area[i], 0xaa);
    }
    assert_int_equal(
        acpi_build(&b, &u, 1, area, (size_t)n, BASE, err, sizeof(err)), n);
}

/* ---- PCI and virtio-mmio ---------------------------------------------------
 */

static void pci_board(struct x86_board *b)
{
    tboard_typical(b, 2);
    b->has_pci = true;
    tboard_add_prt(b, 3, 0, 16);
    tboard_add_prt(b, 9, 0, 21);
    tboard_add_prt(b, 4, 1, 17);
    tboard_add_vmmio(b, 0xd0000000u, 11);
    tboard_add_vmmio(b, 0xd0001000u, 12);
    tboard_add_vmmio(b, 0x100000000ull, 13); /* above 4 GiB: not described */
    tboard_add_vmmio(b, 0xd0002000u, -1);    /* no interrupt */
    tboard_add_shm(b, 0xfeb00000u, 0xc4000000u, 10);
}

static void test_pci_acpi(void **state)
{
    (void)state;
    struct x86_board b;
    pci_board(&b);
    build_acpi(&b);
    /* MCFG: ECAM, segment 0, bus 0 only. */
    const uint8_t *m = find("MCFG");
    assert_non_null(m);
    assert_int_equal(get32(m + 4), 36 + 8 + 16);
    assert_int_equal(m[8], 1);
    assert_int_equal(get64(m + 44), ACPI_PCI_ECAM_BASE);
    assert_int_equal(m[52] | m[53] << 8, 0);
    assert_int_equal(m[54], 0);
    assert_int_equal(m[55], 0);

    walk_dsdt(dsdt());
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
    /* Its resources: bus 0, the config ports, the BAR windows. */
    struct res r = crs("\\_SB_.PCI0._CRS");
    assert_int_equal(r.nbus, 1);
    assert_int_equal(r.bus_min, 0);
    assert_int_equal(r.bus_max, 0);
    assert_int_equal(r.nio, 1);
    assert_int_equal(r.io, 0xcf8);
    assert_int_equal(r.io_len, 8);
    assert_int_equal(r.nwordio, 1);
    assert_int_equal(r.wio_min, ACPI_PCI_IO_BASE);
    assert_int_equal(r.wio_max, ACPI_PCI_IO_END);
    assert_int_equal(r.nmem, 1);
    assert_int_equal(r.mem_min, ACPI_PCI_MEM_BASE);
    assert_int_equal(r.mem_max, ACPI_PCI_MEM_END);
    /* _PRT: one Package{dev<<16|0xffff, pin, 0, GSI} per route. */
    o = aml_get("\\_SB_.PCI0._PRT");
    assert_non_null(o);
    assert_int_equal(o[0], 0x12);
    size_t hdr;
    (void)pkglen(o + 1, &hdr);
    unsigned nprt = o[1 + hdr];
    const uint8_t *e = o + 2 + hdr;
    assert_int_equal(nprt, 3);
    for (unsigned k = 0; k < nprt; k++) {
        assert_int_equal(e[0], 0x12);
        size_t h;
        size_t pl = pkglen(e + 1, &h);
        assert_int_equal(e[1 + h], 4);
        const uint8_t *q = e + 2 + h;
        uint64_t addr = aml_int(q, &q), pin = aml_int(q, &q);
        uint64_t src = aml_int(q, &q), gsi = aml_int(q, &q);
        assert_int_equal(q - e, 1 + pl);
        assert_int_equal(addr, (uint64_t)b.prt[k].dev << 16 | 0xffff);
        assert_int_equal(pin, b.prt[k].pin);
        assert_int_equal(src, 0);
        assert_int_equal(gsi, b.prt[k].gsi);
        e = q;
    }
    /* The ECAM reservation. */
    assert_int_equal(aml_int(aml_get("\\_SB_.MRES._HID"), NULL),
                     eisa("PNP0C02"));
    r = crs("\\_SB_.MRES._CRS");
    assert_int_equal(r.nfixed, 1);
    assert_int_equal(r.fixed_base, ACPI_PCI_ECAM_BASE);
    assert_int_equal(r.fixed_len, ACPI_PCI_ECAM_SIZE);
    /* virtio-mmio: LNRO0005 devices, level/high/exclusive. */
    /* RTC_ PCI0 MRES VR00 VR01 VR03 SH00 */
    assert_int_equal(aml_count("._HID"), 7);
    o = aml_get("\\_SB_.VR00._HID");
    assert_non_null(o);
    assert_int_equal(o[0], 0x0d);
    assert_string_equal((const char *)o + 1, "LNRO0005");
    assert_int_equal(aml_int(aml_get("\\_SB_.VR00._UID"), NULL), 0);
    assert_int_equal(aml_int(aml_get("\\_SB_.VR00._CCA"), NULL), 1);
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
    r = crs("\\_SB_.VR03._CRS");
    assert_int_equal(r.fixed_base, 0xd0002000u);
    assert_int_equal(r.nirq, 0);
    /* An MMIO shmem: QNXS0001, its factory page, window and line. */
    o = aml_get("\\_SB_.SH00._HID");
    assert_non_null(o);
    assert_string_equal((const char *)o + 1, "QNXS0001");
    r = crs("\\_SB_.SH00._CRS");
    assert_int_equal(r.nfixed, 2);
    assert_int_equal(r.fixed_base, 0xc4000000u); /* the last one */
    assert_int_equal(r.fixed_len, 0x4000000u);
    assert_int_equal(r.nirq, 1);
    assert_int_equal(r.irq, 10);
    /* _S5 survives at the root. */
    assert_non_null(aml_get("._S5_"));
}

static void test_no_pci_acpi(void **state)
{
    (void)state;
    struct x86_board b;
    tboard_typical(&b, 1);
    tboard_add_com(&b, 0x3f8, 4, 4);
    build_acpi(&b);
    assert_null(find("MCFG"));
    assert_non_null(find("APIC"));
    walk_dsdt(dsdt());
    assert_null(aml_get("\\_SB_.PCI0._HID"));
    assert_null(aml_get("\\_SB_.MRES._HID"));
    assert_int_equal(aml_count("._HID"), 2); /* RTC_ COM1 */
    struct res r = crs("\\_SB_.COM1._CRS");
    assert_int_equal(r.nio, 1);
    assert_int_equal(r.io, 0x3f8);
    assert_int_equal(r.nirq, 1);
    assert_int_equal(r.irq, 4);
}

/* The boards the ACPICA check disassembles, through the walker too. */
static void test_sample_boards(void **state)
{
    (void)state;
    static void (*const make[])(struct x86_board *) = {
        tboard_qnx, tboard_2ioapic, tboard_bare};
    static const unsigned nhid[] = {5, 8, 1}; /* devices in the DSDT */
    for (unsigned i = 0; i < 3; i++) {
        struct x86_board b;
        make[i](&b);
        build_acpi(&b);
        struct madt m = parse_madt();
        assert_int_equal(m.nioapic, b.nioapic);
        assert_int_equal(m.novr, b.novr);
        walk_dsdt(dsdt());
        assert_int_equal(aml_count("._HID"), nhid[i]);
        assert_int_equal(find("HPET") != NULL, b.hpet.present);
        assert_int_equal(find("MCFG") != NULL, b.has_pci);
        (void)build_mp(&b);
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_madt),
        cmocka_unit_test(test_ioapics),
        cmocka_unit_test(test_isa_overrides),
        cmocka_unit_test(test_overrides_in_tables),
        cmocka_unit_test(test_add_override),
        cmocka_unit_test(test_pic),
        cmocka_unit_test(test_mptable),
        cmocka_unit_test(test_pci_mptable),
        cmocka_unit_test(test_fadt),
        cmocka_unit_test(test_facs_in_area),
        cmocka_unit_test(test_boot_arch),
        cmocka_unit_test(test_dsdt_com),
        cmocka_unit_test(test_dsdt_sleep_states),
        cmocka_unit_test(test_hpet),
        cmocka_unit_test(test_legacy_free),
        cmocka_unit_test(test_user_table),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_pci_acpi),
        cmocka_unit_test(test_no_pci_acpi),
        cmocka_unit_test(test_sample_boards),
        cmocka_unit_test(test_pm_power_button),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

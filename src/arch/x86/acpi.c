/*
 * acpi.c: ACPI tables for the x86 platform (ACPI 6.x): RSDP rev 2 ->
 * XSDT (and an RSDT for 32-bit readers) -> FADT rev 6 (not HW-reduced;
 * its FACS and DSDT), MADT, MCFG (with PCI), HPET (first `vdev hpet`) and
 * user tables. The DSDT's AML is emitted by hand:
 *   Scope(\_SB) {
 *     Device(COMn)  PNP0501 per ser8250 (_CRS: IO + IRQNoFlags)
 *     Device(PCI0)  with PCI: _HID PNP0A08, _CID PNP0A03, _UID/_SEG/_BBN 0,
 *                   _CRS (bus 0, IO 0xcf8/8, the I/O and memory windows),
 *                   _PRT {Package{dev<<16|0xffff, pin-1, 0, GSI}, ...}
 *     Device(MRES)  with PCI: PNP0C02 holding the ECAM window
 *     Device(VRnn)  "LNRO0005" per virtio-mmio vdev (_CRS: Memory32Fixed +
 *                   Interrupt(Consumer, Level, ActiveHigh, Exclusive))
 *     Device(SHnn)  "QNXS0001" per MMIO shmem (_CRS: the factory page,
 *                   the region window, the Interrupt; docs/shmem.md)
 *   }
 *   Name(_S5, Package(){5, 5, 0, 0})
 * All multi-byte fields are little-endian, written byte by byte.
 */
#include "arch/x86/acpi.h"

#include "arch/x86/board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"
#include "util/vec.h"
#include "util/le.h"

#define OEM_ID       "QVM   "
#define OEM_REVISION 1
#define CREATOR_ID   "QVM "
#define HDR_LEN      36

/* ---- little-endian helpers ---------------------------------------------- */

uint8_t acpi_checksum(const uint8_t *buf, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + buf[i]);
    return (uint8_t)(0 - sum);
}

/* ---- the table area: a bump allocator over the caller's buffer ---------- */

struct area {
    uint8_t *buf;
    size_t len, pos;
    uint64_t base;
    bool full;
};

/* area_take: n zeroed bytes aligned to `align`; offset or SIZE_MAX. */
static size_t area_take(struct area *a, size_t n, size_t align)
{
    size_t at = (a->pos + align - 1) & ~(align - 1);
    if (a->full || at > a->len || n > a->len - at) {
        a->full = true;
        return SIZE_MAX;
    }
    memset(a->buf + at, 0, n);
    a->pos = at + n;
    return at;
}

static void sdt_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev,
                       const char table_id[8])
{
    memcpy(t, sig, 4);
    le_put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, OEM_ID, 6);
    memcpy(t + 16, table_id, 8);
    le_put32(t + 24, OEM_REVISION);
    memcpy(t + 28, CREATOR_ID, 4);
    le_put32(t + 32, 1);
}

static void sdt_finish(uint8_t *t, uint32_t len)
{
    t[9] = 0;
    t[9] = acpi_checksum(t, len);
}

/* Generic address structure (ACPI 6 5.2.3.2), I/O space. */
static void gas_io(uint8_t *p, uint8_t bits, uint8_t access, uint64_t port)
{
    p[0] = 1; /* system I/O */
    p[1] = bits;
    p[2] = 0;
    p[3] = access; /* 1 byte, 2 word, 3 dword */
    le_put64(p + 4, port);
}

/* ---- AML ------------------------------------------------------------------
 */

struct aml {
    uint8_t *b;
    size_t n, cap;
    bool oom;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->oom)
        return;
    if (a->n + n > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        while (cap < a->n + n)
            cap *= 2;
        uint8_t *nb = realloc(a->b, cap);
        if (!nb) {
            a->oom = true;
            return;
        }
        a->b = nb;
        a->cap = cap;
    }
    memcpy(a->b + a->n, p, n);
    a->n += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

/* The largest PkgLength that nb encoding bytes hold. */
static size_t pkg_max(size_t nb)
{
    return nb == 1 ? 63 : ((size_t)1 << (4 + 8 * (nb - 1))) - 1;
}

/* aml_pkg_end: insert the PkgLength (ACPI 6 20.2.4) of everything written
 * since `start` in front of it. */
static void aml_pkg_end(struct aml *a, size_t start)
{
    if (a->oom)
        return;
    size_t body = a->n - start, nb = 1;
    while (nb < 4 && body + nb > pkg_max(nb))
        nb++;
    size_t len = body + nb;
    uint8_t enc[4];
    if (nb == 1) {
        enc[0] = (uint8_t)len;
    } else {
        enc[0] = (uint8_t)((nb - 1) << 6 | (len & 0xf));
        for (size_t i = 1; i < nb; i++)
            enc[i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
    }
    for (size_t i = 0; i < nb; i++)
        aml_byte(a, 0); /* grow */
    if (a->oom)
        return;
    memmove(a->b + start + nb, a->b + start, body);
    memcpy(a->b + start, enc, nb);
}

static void aml_integer(struct aml *a, uint64_t v)
{
    uint8_t b[9];
    if (v == 0 || v == 1) {
        aml_byte(a, (uint8_t)v); /* ZeroOp, OneOp */
    } else if (v <= 0xff) {
        b[0] = 0x0a, b[1] = (uint8_t)v;
        aml_bytes(a, b, 2);
    } else if (v <= 0xffff) {
        b[0] = 0x0b;
        le_put16(b + 1, (uint16_t)v);
        aml_bytes(a, b, 3);
    } else if (v <= 0xffffffffu) {
        b[0] = 0x0c;
        le_put32(b + 1, (uint32_t)v);
        aml_bytes(a, b, 5);
    } else {
        b[0] = 0x0e;
        le_put64(b + 1, v);
        aml_bytes(a, b, 9);
    }
}

static void aml_name(struct aml *a, const char seg[4])
{
    aml_byte(a, 0x08); /* NameOp */
    aml_bytes(a, seg, 4);
}

/* EISAID("PNPxxxx") as the DWordConst ACPI expects. */
static uint32_t eisaid(const char *id)
{
    uint32_t v = (uint32_t)((id[0] - 0x40) & 0x1f) << 26 |
                 (uint32_t)((id[1] - 0x40) & 0x1f) << 21 |
                 (uint32_t)((id[2] - 0x40) & 0x1f) << 16;
    for (int i = 3; i < 7; i++) {
        char c = id[i];
        uint32_t d = (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        v |= d << (4 * (6 - i));
    }
    return __builtin_bswap32(v);
}

static void aml_eisaid(struct aml *a, const char *id)
{
    uint8_t b[5] = {0x0c}; /* DWordConst: no shorter encoding for EISAIDs */
    le_put32(b + 1, eisaid(id));
    aml_bytes(a, b, 5);
}

static void aml_string(struct aml *a, const char *str)
{
    aml_byte(a, 0x0d); /* StringPrefix */
    aml_bytes(a, str, strlen(str) + 1);
}

/* aml_device: DeviceOp PkgLength NameSeg; close it with aml_pkg_end. */
static size_t aml_device(struct aml *a, const char seg[4])
{
    aml_byte(a, 0x5b), aml_byte(a, 0x82); /* DeviceOp */
    size_t start = a->n;
    aml_bytes(a, seg, 4);
    return start;
}

static void aml_name_int(struct aml *a, const char seg[4], uint64_t v)
{
    aml_name(a, seg);
    aml_integer(a, v);
}

/* ---- resource templates (ACPI 6 6.4) ---- */

static void rt_io(struct aml *r, uint16_t port, uint8_t len)
{
    uint8_t d[8] = {0x47, 1}; /* IO(Decode16, port, port, 1, len) */
    le_put16(d + 2, port);
    le_put16(d + 4, port);
    d[6] = 1;
    d[7] = len;
    aml_bytes(r, d, sizeof(d));
}

static void rt_irq_noflags(struct aml *r, unsigned irq)
{
    uint8_t d[3] = {0x22};
    le_put16(d + 1, (uint16_t)(1u << irq));
    aml_bytes(r, d, sizeof(d));
}

enum { RT_MEM = 0, RT_IO = 1, RT_BUS = 2 };

/* Word{BusNumber,IO}(ResourceProducer, MinFixed, MaxFixed, PosDecode). */
static void rt_word(struct aml *r, uint8_t type, uint8_t tflags, uint16_t min,
                    uint16_t max)
{
    uint8_t d[16] = {0x88, 13, 0, type, 0x0c, tflags};
    le_put16(d + 8, min);
    le_put16(d + 10, max);
    le_put16(d + 14, (uint16_t)(max - min + 1));
    aml_bytes(r, d, sizeof(d));
}

/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed,
 * NonCacheable, ReadWrite). */
static void rt_dword_mem(struct aml *r, uint32_t min, uint32_t max)
{
    uint8_t d[26] = {0x87, 23, 0, RT_MEM, 0x0c, 0x01};
    le_put32(d + 10, min);
    le_put32(d + 14, max);
    le_put32(d + 22, max - min + 1);
    aml_bytes(r, d, sizeof(d));
}

static void rt_mem32_fixed(struct aml *r, uint32_t base, uint32_t len)
{
    uint8_t d[12] = {0x86, 9, 0, 1}; /* ReadWrite */
    le_put32(d + 4, base);
    le_put32(d + 8, len);
    aml_bytes(r, d, sizeof(d));
}

/* Interrupt(ResourceConsumer, Level|Edge, ActiveHigh, Exclusive){gsi} */
static void rt_interrupt(struct aml *r, uint32_t gsi, bool level)
{
    uint8_t d[9] = {0x89, 6, 0, level ? 0x01 : 0x03, 1};
    le_put32(d + 5, gsi);
    aml_bytes(r, d, sizeof(d));
}

/* Name(_CRS, Buffer(){template, EndTag}); frees the template. */
static void aml_crs(struct aml *a, struct aml *r)
{
    static const uint8_t end[2] = {0x79, 0}; /* checksum 0: valid */
    aml_bytes(r, end, sizeof(end));
    if (r->oom)
        a->oom = true;
    aml_name(a, "_CRS");
    aml_byte(a, 0x11); /* BufferOp */
    size_t buf = a->n;
    aml_integer(a, r->n);
    aml_bytes(a, r->b, r->n);
    aml_pkg_end(a, buf);
    free(r->b);
    *r = (struct aml){0};
}

/* ---- devices ---- */

static void aml_com(struct aml *a, unsigned n, const struct board_line *c)
{
    char seg[5];
    snprintf(seg, sizeof(seg), "COM%u", n % 10);
    size_t dev = aml_device(a, seg);
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0501");
    aml_name_int(a, "_UID", n);
    struct aml r = {0};
    rt_io(&r, (uint16_t)c->base, (uint8_t)c->size);
    if (c->isa >= 0 && c->isa < 16)
        rt_irq_noflags(&r, (unsigned)c->isa);
    else if (c->gsi >= 0)
        rt_interrupt(&r, (uint32_t)c->gsi, false);
    aml_crs(a, &r);
    aml_pkg_end(a, dev);
}

/* _PRT: one entry per (device, pin) of the realized bus. */
static void aml_prt(const struct x86_board *b, struct aml *a)
{
    struct aml el = {0};
    for (unsigned i = 0; i < b->nprt; i++) {
        const struct board_prt *e = &b->prt[i];
        aml_byte(&el, 0x12); /* Package(4){addr, pin, Zero, GSI} */
        size_t pkg = el.n;
        aml_byte(&el, 4);
        aml_integer(&el, (uint64_t)e->dev << 16 | 0xffff);
        aml_integer(&el, e->pin);
        aml_integer(&el, 0);
        aml_integer(&el, e->gsi);
        aml_pkg_end(&el, pkg);
    }
    aml_name(a, "_PRT");
    aml_byte(a, 0x12); /* PackageOp; at most 128 entries */
    size_t pkg = a->n;
    aml_byte(a, (uint8_t)b->nprt);
    aml_bytes(a, el.b, el.n);
    if (el.oom)
        a->oom = true;
    aml_pkg_end(a, pkg);
    free(el.b);
}

static void aml_pci(const struct x86_board *b, struct aml *a)
{
    size_t dev = aml_device(a, "PCI0");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0A08");
    aml_name(a, "_CID");
    aml_eisaid(a, "PNP0A03");
    aml_name_int(a, "_UID", 0);
    aml_name_int(a, "_SEG", 0);
    aml_name_int(a, "_BBN", 0);
    struct aml r = {0};
    rt_word(&r, RT_BUS, 0, 0, 0);
    rt_io(&r, 0xcf8, 8);
    rt_word(&r, RT_IO, 3 /* EntireRange */, ACPI_PCI_IO_BASE, ACPI_PCI_IO_END);
    rt_dword_mem(&r, ACPI_PCI_MEM_BASE, ACPI_PCI_MEM_END);
    aml_crs(a, &r);
    aml_prt(b, a);
    aml_pkg_end(a, dev);

    /* The ECAM window is a motherboard resource (Linux checks before it
     * uses MMCONFIG). */
    dev = aml_device(a, "MRES");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0C02");
    aml_name_int(a, "_UID", 0);
    rt_mem32_fixed(&r, (uint32_t)ACPI_PCI_ECAM_BASE,
                   (uint32_t)ACPI_PCI_ECAM_SIZE);
    aml_crs(a, &r);
    aml_pkg_end(a, dev);
}

/* The virtio-mmio devices, as Linux's virtio_mmio ACPI match expects. */
static void aml_virtio_mmio(const struct x86_board *b, struct aml *a)
{
    _Static_assert(BOARD_MAX_VMMIO <= 256, "VRnn names two hex digits");
    for (unsigned n = 0; n < b->nvmmio && n < BOARD_MAX_VMMIO; n++) {
        const struct board_line *v = &b->vmmio[n];
        if (v->base + v->size > 1ull << 32)
            continue;
        char seg[5];
        snprintf(seg, sizeof(seg), "VR%02X", n & 0xff);
        size_t dev = aml_device(a, seg);
        aml_name(a, "_HID");
        aml_string(a, "LNRO0005");
        aml_name_int(a, "_UID", n);
        aml_name_int(a, "_CCA", 1);
        struct aml r = {0};
        rt_mem32_fixed(&r, (uint32_t)v->base, (uint32_t)v->size);
        if (v->gsi >= 0)
            rt_interrupt(&r, (uint32_t)v->gsi, true);
        aml_crs(a, &r);
        aml_pkg_end(a, dev);
    }
}

/* MMIO shmems: QNX's guest_shm factory page, region window and line. */
static void aml_shmem(const struct x86_board *b, struct aml *a)
{
    for (unsigned n = 0; n < b->nshm; n++) {
        const struct board_line *v = &b->shm[n];
        const uint64_t *w = b->shm_win[n];
        if (v->base + v->size > 1ull << 32 || w[0] + w[1] > 1ull << 32)
            continue;
        char seg[5];
        snprintf(seg, sizeof(seg), "SH%02X", n & 0xff);
        size_t dev = aml_device(a, seg);
        aml_name(a, "_HID");
        aml_string(a, "QNXS0001");
        aml_name_int(a, "_UID", n);
        struct aml r = {0};
        rt_mem32_fixed(&r, (uint32_t)v->base, (uint32_t)v->size);
        rt_mem32_fixed(&r, (uint32_t)w[0], (uint32_t)w[1]);
        if (v->gsi >= 0)
            rt_interrupt(&r, (uint32_t)v->gsi, true);
        aml_crs(a, &r);
        aml_pkg_end(a, dev);
    }
}

/* The HPET as a device too: Linux's hpet char driver and QNX look here. */
static void aml_hpet(const struct x86_board *b, struct aml *a)
{
    if (!b->hpet.present || b->hpet.base >> 32)
        return;
    size_t dev = aml_device(a, "HPET");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0103");
    aml_name_int(a, "_UID", 0);
    struct aml r = {0};
    rt_mem32_fixed(&r, (uint32_t)b->hpet.base, 0x400);
    aml_crs(a, &r);
    aml_pkg_end(a, dev);
}

/* The MC146818 (PNP0B00): Linux's rtc-cmos binds through it under ACPI. */
static void aml_rtc(const struct x86_board *b, struct aml *a)
{
    if (!b->rtc || b->rtc_line.base > 0xffff)
        return;
    size_t dev = aml_device(a, "RTC_");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0B00");
    struct aml r = {0};
    rt_io(&r, (uint16_t)b->rtc_line.base, (uint8_t)b->rtc_line.size);
    if (b->rtc_line.isa >= 0 && b->rtc_line.isa < 16)
        rt_irq_noflags(&r, (unsigned)b->rtc_line.isa);
    else if (b->rtc_line.gsi >= 0)
        rt_interrupt(&r, (uint32_t)b->rtc_line.gsi, false);
    aml_crs(a, &r);
    aml_pkg_end(a, dev);
}

static void dsdt_aml(const struct x86_board *b, struct aml *a)
{
    aml_byte(a, 0x10); /* ScopeOp */
    size_t scope = a->n;
    aml_bytes(a, "\\_SB_", 5);
    aml_rtc(b, a);
    for (unsigned i = 0; i < b->ncom; i++)
        aml_com(a, i + 1, &b->com[i]);
    if (b->has_pci)
        aml_pci(b, a);
    aml_virtio_mmio(b, a);
    aml_shmem(b, a);
    aml_hpet(b, a);
    aml_pkg_end(a, scope);
    /* Only S5 (soft off): qvm cannot suspend a guest (no S1-S4). */
    aml_name(a, "_S5_");
    aml_byte(a, 0x12); /* PackageOp */
    size_t pkg = a->n;
    aml_byte(a, 4);
    aml_integer(a, 5);
    aml_integer(a, 5);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_pkg_end(a, pkg);
}

/* ---- tables ------------------------------------------------------------- */

static size_t build_dsdt(const struct x86_board *b, struct area *ar)
{
    struct aml a = {0};
    dsdt_aml(b, &a);
    if (a.oom) {
        free(a.b);
        ar->full = true;
        return SIZE_MAX;
    }
    size_t len = HDR_LEN + a.n;
    size_t at = area_take(ar, len, 16);
    if (at != SIZE_MAX) {
        uint8_t *t = ar->buf + at;
        sdt_header(t, "DSDT", (uint32_t)len, 2, "QVMDSDT ");
        memcpy(t + HDR_LEN, a.b, a.n);
        sdt_finish(t, (uint32_t)len);
    }
    free(a.b);
    return at;
}

void acpi_facs(uint8_t *t)
{
    memset(t, 0, ACPI_FACS_SIZE);
    memcpy(t, "FACS", 4);
    le_put32(t + 4, ACPI_FACS_SIZE);
    t[32] = 2; /* version */
}

static size_t build_fadt(const struct x86_board *b, struct area *ar,
                         uint64_t facs, uint64_t dsdt)
{
    const uint32_t len = 276;
    size_t at = area_take(ar, len, 16);
    if (at == SIZE_MAX)
        return at;
    uint8_t *t = ar->buf + at;
    sdt_header(t, "FACP", len, 6, "QVMFACP ");
    le_put32(t + 36, (uint32_t)facs);
    le_put32(t + 40, (uint32_t)dsdt);
    t[45] = 0; /* preferred PM profile: unspecified */
    le_put16(t + 46, (uint16_t)b->sci_irq); /* SCI_INT */
    /* SMI_CMD 0: the platform is always in ACPI mode (SCI_EN reads 1). */
    le_put32(t + 56, ACPI_PM1A_EVT); /* PM1a_EVT_BLK */
    le_put32(t + 64, ACPI_PM1A_CNT); /* PM1a_CNT_BLK */
    t[88] = 4;                       /* PM1_EVT_LEN */
    t[89] = 2;                       /* PM1_CNT_LEN */
    if (b->pm_timer) {
        le_put32(t + 76, ACPI_PM_TMR); /* PM_TMR_BLK */
        t[91] = 4;                     /* PM_TMR_LEN */
    }
    le_put16(t + 96, 101);  /* P_LVL2_LAT: C2 not supported */
    le_put16(t + 98, 1001); /* P_LVL3_LAT: C3 not supported */
    if (b->rtc)
        t[108] = 0x32;            /* CENTURY: CMOS register */
    uint16_t boot_arch = 1u << 2; /* VGA_NOT_PRESENT */
    if (!b->legacy_free)
        boot_arch |= 1u << 0; /* LEGACY_DEVICES */
    if (b->kbc)
        boot_arch |= 1u << 1; /* 8042 */
    if (!b->rtc)
        boot_arch |= 1u << 5; /* CMOS RTC not present */
    le_put16(t + 109, boot_arch);
    /* WBINVD, PROC_C1, SLP_BUTTON (none; the power button is the fixed
     * feature one), RESET_REG_SUP, TMR_VAL_EXT (32-bit PM timer). */
    uint32_t flags = 1u << 0 | 1u << 2 | 1u << 5 | 1u << 10;
    if (b->pm_timer)
        flags |= 1u << 8;
    le_put32(t + 112, flags);
    gas_io(t + 116, 8, 1, ACPI_RESET_REG);
    t[128] = ACPI_RESET_VAL;
    t[131] = 0;              /* FADT minor version */
    le_put64(t + 132, facs); /* X_FIRMWARE_CTRL */
    le_put64(t + 140, dsdt);
    gas_io(t + 148, 32, 2, ACPI_PM1A_EVT); /* X_PM1a_EVT_BLK */
    gas_io(t + 172, 16, 2, ACPI_PM1A_CNT); /* X_PM1a_CNT_BLK */
    if (b->pm_timer)
        gas_io(t + 208, 32, 3, ACPI_PM_TMR); /* X_PM_TMR_BLK */
    memcpy(t + 268, "QVMKVM\0\0", 8);        /* hypervisor vendor identity */
    sdt_finish(t, len);
    return at;
}

static size_t build_madt(const struct x86_board *b, struct area *ar)
{
    uint32_t len = 44 + 8 * b->ncpus + 12 * b->nioapic + 10 * b->novr + 6;
    size_t at = area_take(ar, len, 16);
    if (at == SIZE_MAX)
        return at;
    uint8_t *t = ar->buf + at;
    sdt_header(t, "APIC", len, 5, "QVMMADT ");
    le_put32(t + 36, X86_LAPIC_BASE);
    le_put32(t + 40, b->pic ? 1 : 0); /* PCAT_COMPAT: dual 8259s present */
    uint8_t *e = t + 44;
    for (unsigned i = 0; i < b->ncpus; i++, e += 8) {
        e[0] = 0, e[1] = 8, e[2] = (uint8_t)i, e[3] = (uint8_t)i;
        le_put32(e + 4, 1); /* enabled */
    }
    for (unsigned i = 0; i < b->nioapic; i++, e += 12) {
        e[0] = 1, e[1] = 12, e[2] = b->ioapic[i].id, e[3] = 0;
        le_put32(e + 4, b->ioapic[i].addr);
        le_put32(e + 8, b->ioapic[i].gsi_base);
    }
    for (unsigned i = 0; i < b->novr; i++, e += 10) {
        e[0] = 2, e[1] = 10, e[2] = 0, e[3] = b->ovr[i].isa;
        le_put32(e + 4, b->ovr[i].gsi);
        le_put16(e + 8, b->ovr[i].flags);
    }
    /* Local APIC NMI: all processors, LINT1, active high, edge. */
    e[0] = 4, e[1] = 6, e[2] = 0xff;
    le_put16(e + 3, BOARD_POL_HIGH | BOARD_TRIG_EDGE);
    e[5] = 1;
    sdt_finish(t, len);
    return at;
}

static size_t build_hpet(const struct x86_board *b, struct area *ar)
{
    if (!b->hpet.present)
        return SIZE_MAX - 1; /* none: not an error */
    size_t at = area_take(ar, 56, 16);
    if (at == SIZE_MAX)
        return at;
    uint8_t *t = ar->buf + at;
    sdt_header(t, "HPET", 56, 1, "QVMHPET ");
    uint32_t ntimers = b->hpet.ntimers ? b->hpet.ntimers : 3;
    uint32_t id = 0x8086u << 16 | 1u << 13 /* 64-bit counter */ |
                  (ntimers - 1) << 8 | 1; /* revision 1 */
    if (b->hpet.legacy_cap)
        id |= 1u << 15; /* LEG_RT_CAP */
    le_put32(t + 36, id);
    t[40] = 0; /* system memory */
    t[41] = 64;
    le_put64(t + 44, b->hpet.base);
    t[52] = 0; /* HPET number */
    le_put16(t + 53, b->hpet.min_tick ? b->hpet.min_tick : 128);
    sdt_finish(t, 56);
    return at;
}

/* MCFG (PCI Firmware 3.0, 4.1.2): one allocation, segment 0, bus 0. */
static size_t build_mcfg(const struct x86_board *b, struct area *ar)
{
    if (!b->has_pci)
        return SIZE_MAX - 1; /* none: not an error */
    const uint32_t len = HDR_LEN + 8 + 16;
    size_t at = area_take(ar, len, 16);
    if (at == SIZE_MAX)
        return at;
    uint8_t *t = ar->buf + at;
    sdt_header(t, "MCFG", len, 1, "QVMMCFG ");
    uint8_t *e = t + HDR_LEN + 8;
    le_put64(e, ACPI_PCI_ECAM_BASE);
    le_put16(e + 8, 0);                                /* segment */
    e[10] = 0;                                         /* start bus */
    e[11] = (uint8_t)((ACPI_PCI_ECAM_SIZE >> 20) - 1); /* end bus */
    sdt_finish(t, len);
    return at;
}

/* fail: "NAME: MSG" (or MSG) into err; -1. */
static int fail(char *err, size_t errlen, const char *msg, const char *name)
{
    if (err && errlen)
        snprintf(err, errlen, "%s%s%s", name ? name : "", name ? ": " : "",
                 msg);
    return -1;
}

long acpi_build(const struct x86_board *b, const struct acpi_blob *user,
                size_t nuser, uint8_t *buf, size_t len, uint64_t base,
                char *err, size_t errlen)
{
    struct area ar = {buf, len, 0, base, false};
    size_t rsdp = area_take(&ar, 36, 16);
    uint64_t facs = b->facs;
    if (!facs) { /* no NVS page for it: in the (read-only) table area */
        size_t at = area_take(&ar, ACPI_FACS_SIZE, 64);
        if (at != SIZE_MAX) {
            acpi_facs(ar.buf + at);
            facs = base + at;
        }
    }
    size_t dsdt = build_dsdt(b, &ar);
    if (ar.full)
        return fail(err, errlen, "ACPI tables do not fit", NULL);
    size_t tab[64];
    size_t n = 0;
    tab[n++] = build_fadt(b, &ar, facs, base + dsdt);
    tab[n++] = build_madt(b, &ar);
    size_t mcfg = build_mcfg(b, &ar);
    if (mcfg != SIZE_MAX - 1)
        tab[n++] = mcfg;
    size_t hpet = build_hpet(b, &ar);
    if (hpet != SIZE_MAX - 1)
        tab[n++] = hpet;
    for (size_t i = 0; i < nuser; i++) {
        const struct acpi_blob *u = &user[i];
        const uint8_t *d = u->data;
        if (!d || u->size < HDR_LEN || le_get32(d + 4) != u->size)
            return fail(err, errlen,
                        "not an ACPI table (its header length is not the "
                        "file size)",
                        u->path ? u->path : "acpi load");
        if (n == ARRAY_SIZE(tab))
            return fail(err, errlen, "too many ACPI tables", NULL);
        size_t at = area_take(&ar, u->size, 16);
        if (at != SIZE_MAX)
            memcpy(ar.buf + at, u->data, u->size);
        tab[n++] = at;
    }
    if (ar.full)
        return fail(err, errlen, "ACPI tables do not fit in 0xe0000-0xfffff",
                    NULL);
    size_t xlen = HDR_LEN + 8 * n, rlen = HDR_LEN + 4 * n;
    size_t xsdt = area_take(&ar, xlen, 16);
    size_t rsdt = area_take(&ar, rlen, 16);
    if (ar.full)
        return fail(err, errlen, "ACPI tables do not fit in 0xe0000-0xfffff",
                    NULL);
    uint8_t *x = buf + xsdt, *r = buf + rsdt;
    sdt_header(x, "XSDT", (uint32_t)xlen, 1, "QVMXSDT ");
    sdt_header(r, "RSDT", (uint32_t)rlen, 1, "QVMRSDT ");
    for (size_t i = 0; i < n; i++) {
        le_put64(x + HDR_LEN + 8 * i, base + tab[i]);
        le_put32(r + HDR_LEN + 4 * i, (uint32_t)(base + tab[i]));
    }
    sdt_finish(x, (uint32_t)xlen);
    sdt_finish(r, (uint32_t)rlen);

    uint8_t *p = buf + rsdp;
    memcpy(p, "RSD PTR ", 8);
    memcpy(p + 9, OEM_ID, 6);
    p[15] = 2; /* revision: ACPI 2.0+ */
    le_put32(p + 16, (uint32_t)(base + rsdt));
    le_put32(p + 20, 36);
    le_put64(p + 24, base + xsdt);
    p[8] = acpi_checksum(p, 20);
    p[32] = acpi_checksum(p, 36);
    return (long)ar.pos;
}

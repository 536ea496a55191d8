/*
 * test_dev_pci.c: the PCI bus model (src/devices/pci.c) through the
 * port-I/O and MMIO buses: configuration mechanism #1 at every width, the
 * host bridge, no-device reads, BAR sizing (32-bit and 64-bit memory, I/O),
 * BAR moves and decode enables remapping the region, ECAM agreeing with
 * 0xcf8/0xcfc, the 0xcf9 reset, malformed accesses, and pci_realize from a
 * spec (identity, BARs, INTx, pci-dummy presets; the stub without PCI).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_irq.h"
#include "config/schema.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "util/le.h"

#define MAXLOG 64

struct msi {
    uint64_t addr;
    uint32_t data;
};

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct pci_bus *pci;
    struct pci_function f;
    unsigned stops;
    enum vm_stop why;
    unsigned bar_reads;
    /* what the fake VM was asked to do */
    pthread_mutex_t lock;
    unsigned nirq;
    uint32_t irq_gsi;
    bool irq_level;
    unsigned nsend;
    struct msi sent[MAXLOG];
    int next_gsi;
    unsigned nroute;
    int route_gsi[MAXLOG];
    bool route_valid[MAXLOG];
    struct msi route[MAXLOG];
    unsigned nirqfd, nirqfd_off;
    int irqfd_fd[MAXLOG], irqfd_gsi[MAXLOG];
    int route_fail; /* msi_route_set returns this when nonzero */
};

static void fake_irq(void *opaque, uint32_t gsi, bool level)
{
    struct env *e = opaque;
    pthread_mutex_lock(&e->lock);
    e->nirq++;
    e->irq_gsi = gsi;
    e->irq_level = level;
    pthread_mutex_unlock(&e->lock);
}

FAKE_IRQ(fake_irq)

static int fake_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
    struct env *e = opaque;
    pthread_mutex_lock(&e->lock);
    if (e->nsend < MAXLOG)
        e->sent[e->nsend] = (struct msi){addr, data};
    e->nsend++;
    pthread_mutex_unlock(&e->lock);
    return 0;
}

static int fake_route_alloc(void *opaque)
{
    struct env *e = opaque;
    return e->next_gsi++;
}

static int fake_route_set(void *opaque, int gsi, bool valid, uint64_t addr,
                          uint32_t data)
{
    struct env *e = opaque;
    if (e->route_fail)
        return e->route_fail;
    if (e->nroute < MAXLOG) {
        e->route_gsi[e->nroute] = gsi;
        e->route_valid[e->nroute] = valid;
        e->route[e->nroute] = (struct msi){addr, data};
    }
    e->nroute++;
    return 0;
}

static int fake_irqfd(void *opaque, int gsi, int fd, bool assign)
{
    struct env *e = opaque;
    if (!assign) {
        e->nirqfd_off++;
        return 0;
    }
    if (e->nirqfd < MAXLOG) {
        e->irqfd_fd[e->nirqfd] = fd;
        e->irqfd_gsi[e->nirqfd] = gsi;
    }
    e->nirqfd++;
    return 0;
}

static void fake_stop(void *opaque, enum vm_stop why)
{
    struct env *e = opaque;
    e->stops++;
    e->why = why;
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
    struct env *e = opaque;
    (void)size;
    e->bar_reads++;
    return 0xab00 + off;
}

static const struct region_ops bar_ops = {bar_read, NULL};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    fake_irq_reset();
    pthread_mutex_init(&e->lock, NULL);
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = fake_irq_resolve,
                              .irq_isa = fake_irq_isa,
                              .stop = fake_stop,
                              .opaque = e};
    e->pci = pci_bus_new(&e->ctx, true);
    assert_non_null(e->pci);
    /* 00:03.0: BAR0 I/O 128 bytes, BAR1 mem32 4K, BAR2-3 mem64 16K. */
    pci_function_init(&e->f, "test", (struct bdf){0, 3, 0}, 0x1af4, 0x1042,
                      0x010000, 1, 19);
    assert_int_equal(
        pci_function_set_bar(&e->f, 0, BAR_IO, 0xc000, 0x80, &bar_ops, e), 0);
    assert_int_equal(pci_function_set_bar(&e->f, 1, BAR_MEM32, 0xc0000000,
                                          0x1000, &bar_ops, e),
                     0);
    assert_int_equal(pci_function_set_bar(&e->f, 2, BAR_MEM64, 0xc0004000,
                                          0x4000, &bar_ops, e),
                     0);
    assert_int_equal(pci_bus_add(e->pci, &e->f), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    pci_bus_free(e->pci);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    free(e);
    return 0;
}

static uint32_t in(struct env *e, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    bus_access(&e->pio, port, &v, size, false);
    return v;
}

static void out(struct env *e, uint16_t port, uint32_t v, unsigned size)
{
    bus_access(&e->pio, port, &v, size, true);
}

static uint32_t mread(struct env *e, uint64_t a, unsigned size)
{
    uint32_t v = 0;
    bus_access(&e->mmio, a, &v, size, false);
    return v;
}

static uint32_t addr(unsigned dev, unsigned fn, unsigned reg)
{
    return 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_rd(struct env *e, unsigned dev, unsigned reg, unsigned sz)
{
    out(e, 0xcf8, addr(dev, 0, reg), 4);
    return in(e, (uint16_t)(0xcfc + (reg & 3)), sz);
}

static void cfg_wr(struct env *e, unsigned dev, unsigned reg, uint32_t v,
                   unsigned sz)
{
    out(e, 0xcf8, addr(dev, 0, reg), 4);
    out(e, (uint16_t)(0xcfc + (reg & 3)), v, sz);
}

static uint32_t ecam(struct env *e, unsigned dev, unsigned reg, unsigned sz)
{
    return mread(e, PCI_ECAM_BASE + (dev << 15) + reg, sz);
}

static void test_widths(void **state)
{
    struct env *e = *state;
    assert_int_equal(in(e, 0xcf8, 4), 0); /* address register reset */
    out(e, 0xcf8, addr(3, 0, 0), 4);
    assert_int_equal(in(e, 0xcf8, 4), addr(3, 0, 0));
    assert_int_equal(in(e, 0xcfc, 4), 0x10421af4);
    assert_int_equal(in(e, 0xcfc, 2), 0x1af4);
    assert_int_equal(in(e, 0xcfe, 2), 0x1042);
    assert_int_equal(in(e, 0xcfc, 1), 0xf4);
    assert_int_equal(in(e, 0xcfd, 1), 0x1a);
    assert_int_equal(in(e, 0xcfe, 1), 0x42);
    assert_int_equal(in(e, 0xcff, 1), 0x10);
    assert_int_equal(cfg_rd(e, 3, 0x08, 4) >> 8, 0x010000); /* class */
    assert_int_equal(cfg_rd(e, 3, 0x0e, 1), 0);             /* header */
    assert_int_equal(cfg_rd(e, 3, 0x3c, 1), 19);            /* line */
    assert_int_equal(cfg_rd(e, 3, 0x3d, 1), 1);             /* INTA */
    assert_int_equal(cfg_rd(e, 3, 0x34, 1), 0);             /* no caps */
    assert_int_equal(cfg_rd(e, 3, 0x04, 2) & 3, 3);         /* io+mem decode */
    /* The host bridge. */
    assert_int_equal(cfg_rd(e, 0, 0, 4), 0x29c08086);
    assert_int_equal(cfg_rd(e, 0, 0x0a, 2), 0x0600);
    /* Writable bytes honour their masks: the vendor ID is read-only. */
    cfg_wr(e, 3, 0x00, 0xffffffff, 4);
    assert_int_equal(cfg_rd(e, 3, 0, 4), 0x10421af4);
    cfg_wr(e, 3, 0x3c, 0x0b, 1);
    assert_int_equal(cfg_rd(e, 3, 0x3c, 2), 0x010b);
    cfg_wr(e, 3, 0x0c, 0x4010, 2);
    assert_int_equal(cfg_rd(e, 3, 0x0c, 2), 0x4010);
}

static void test_no_device(void **state)
{
    struct env *e = *state;
    assert_int_equal(cfg_rd(e, 5, 0, 4), 0xffffffff);
    assert_int_equal(cfg_rd(e, 5, 0, 2), 0xffff);
    assert_int_equal(cfg_rd(e, 5, 2, 1), 0xff);
    out(e, 0xcf8, 0x80000000u | 1u << 8 | 3u << 11, 4); /* 00:03.1 */
    assert_int_equal(in(e, 0xcfc, 2), 0xffff);
    out(e, 0xcf8, 0x80010000u | 3u << 11, 4); /* bus 1 */
    assert_int_equal(in(e, 0xcfc, 4), 0xffffffff);
    out(e, 0xcf8, 3u << 11, 4); /* enable bit clear */
    assert_int_equal(in(e, 0xcfc, 4), 0xffffffff);
    assert_int_equal(ecam(e, 5, 0, 2), 0xffff);
    /* Writes to nothing are dropped. */
    cfg_wr(e, 5, 0x10, 0x12345678, 4);
    assert_int_equal(cfg_rd(e, 5, 0x10, 4), 0xffffffff);
}

static uint32_t size_bar(struct env *e, unsigned reg)
{
    uint32_t old = cfg_rd(e, 3, reg, 4);
    cfg_wr(e, 3, reg, 0xffffffff, 4);
    uint32_t v = cfg_rd(e, 3, reg, 4);
    cfg_wr(e, 3, reg, old, 4);
    return v;
}

static void test_bar_sizing(void **state)
{
    struct env *e = *state;
    cfg_wr(e, 3, 0x04, 0, 2); /* decode off while sizing, as Linux does */
    assert_int_equal(cfg_rd(e, 3, 0x10, 4), 0xc001);
    assert_int_equal(size_bar(e, 0x10), 0xff81); /* I/O, 128 bytes */
    assert_int_equal(cfg_rd(e, 3, 0x14, 4), 0xc0000000);
    assert_int_equal(size_bar(e, 0x14), 0xfffff000); /* mem32 4K */
    assert_int_equal(cfg_rd(e, 3, 0x18, 4), 0xc0004004);
    assert_int_equal(size_bar(e, 0x18), 0xffffc004); /* mem64 16K low */
    assert_int_equal(size_bar(e, 0x1c), 0xffffffff); /* mem64 high */
    assert_int_equal(cfg_rd(e, 3, 0x1c, 4), 0);
    assert_int_equal(size_bar(e, 0x20), 0); /* unimplemented BARs */
    assert_int_equal(size_bar(e, 0x24), 0);
    assert_int_equal(size_bar(e, 0x30), 0); /* no expansion ROM */
    /* Restored values are where they were. */
    assert_int_equal(cfg_rd(e, 3, 0x18, 4), 0xc0004004);
    assert_int_equal(cfg_rd(e, 3, 0x10, 4), 0xc001);
}

static void test_bar_move(void **state)
{
    struct env *e = *state;
    /* Initially decoded where the spec put them. */
    assert_int_equal(mread(e, 0xc0000010, 4), 0xab10);
    assert_int_equal(mread(e, 0xc0004020, 4), 0xab20);
    assert_int_equal(in(e, 0xc004, 2), 0xab04);
    /* Move BAR1 (mem32) and BAR2 (mem64, above 4G) and BAR0 (I/O). */
    cfg_wr(e, 3, 0x14, 0xd0000000, 4);
    cfg_wr(e, 3, 0x18, 0x00010000, 4);
    cfg_wr(e, 3, 0x1c, 0x1, 4);
    cfg_wr(e, 3, 0x10, 0xd000, 4);
    pci_bus_sync(e->pci);
    assert_int_equal(mread(e, 0xc0000010, 4), 0xffffffff);
    assert_int_equal(mread(e, 0xd0000010, 4), 0xab10);
    assert_int_equal(mread(e, 0xc0004020, 4), 0xffffffff);
    assert_int_equal(mread(e, 0x100010020ull, 4), 0xab20);
    assert_int_equal(in(e, 0xc004, 2), 0xffff);
    assert_int_equal(in(e, 0xd004, 2), 0xab04);
    /* Disabling memory decode unmaps the memory BARs only. */
    cfg_wr(e, 3, 0x04, 0x0001, 2);
    pci_bus_sync(e->pci);
    assert_int_equal(mread(e, 0xd0000010, 4), 0xffffffff);
    assert_int_equal(in(e, 0xd004, 2), 0xab04);
    /* Re-enabling maps them again; through ECAM this time. */
    uint16_t cmd = 0x0003;
    bus_access(&e->mmio, PCI_ECAM_BASE + (3 << 15) + 4, &cmd, 2, true);
    pci_bus_sync(e->pci);
    assert_int_equal(mread(e, 0xd0000010, 4), 0xab10);
    /* An ECAM BAR write moves it too. */
    uint32_t nb = 0xd0100000;
    bus_access(&e->mmio, PCI_ECAM_BASE + (3 << 15) + 0x14, &nb, 4, true);
    pci_bus_sync(e->pci);
    assert_int_equal(mread(e, 0xd0000010, 4), 0xffffffff);
    assert_int_equal(mread(e, 0xd0100010, 4), 0xab10);
    /* A BAR moved onto another region is left undecoded, not fatal. */
    cfg_wr(e, 3, 0x14, (uint32_t)PCI_ECAM_BASE, 4);
    pci_bus_sync(e->pci);
    assert_int_equal(mread(e, 0xd0100010, 4), 0xffffffff);
    assert_int_equal(ecam(e, 0, 0, 2), 0x8086);
}

/* pci_remap_inline (the fuzz harnesses): no remap thread; a BAR move is
 * applied, and its bar_moved hook run, on the thread whose configuration
 * write moved it, before that access returns. */
static pthread_t moved_by;
static unsigned moved_n;

static void moved_here(void *opaque, unsigned idx, bool mapped, uint64_t base)
{
    (void)opaque, (void)idx, (void)mapped, (void)base;
    moved_by = pthread_self();
    moved_n++;
}

static unsigned threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    char line[128];
    unsigned n = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %u", &n) == 1)
            break;
    fclose(f);
    return n;
}

static void test_inline_remap(void **state)
{
    (void)state;
    unsigned before = threads();
    pci_remap_inline(true);
    void *st;
    assert_int_equal(setup(&st), 0);
    pci_remap_inline(false);
    struct env *e = st;
    assert_int_equal(threads(), before); /* no remap thread */
    assert_int_equal(mread(e, 0xc0000010, 4), 0xab10);
    e->f.bar_moved = moved_here;
    moved_n = 0;
    cfg_wr(e, 3, 0x14, 0xd0000000, 4); /* no pci_bus_sync */
    assert_int_equal(moved_n, 2);      /* unmapped, mapped */
    assert_true(pthread_equal(moved_by, pthread_self()));
    assert_int_equal(mread(e, 0xc0000010, 4), 0xffffffff);
    assert_int_equal(mread(e, 0xd0000010, 4), 0xab10);
    cfg_wr(e, 3, 0x04, 0x0001, 2); /* memory decode off */
    assert_int_equal(mread(e, 0xd0000010, 4), 0xffffffff);
    assert_int_equal(moved_n, 4); /* BAR1 and BAR2 unmapped */
    teardown(&st);
}

static void test_ecam_matches(void **state)
{
    struct env *e = *state;
    for (unsigned dev = 0; dev < 6; dev++)
        for (unsigned reg = 0; reg < 0x40; reg++) {
            assert_int_equal(ecam(e, dev, reg, 1), cfg_rd(e, dev, reg, 1));
            if (reg % 2 == 0)
                assert_int_equal(ecam(e, dev, reg, 2), cfg_rd(e, dev, reg, 2));
            if (reg % 4 == 0)
                assert_int_equal(ecam(e, dev, reg, 4), cfg_rd(e, dev, reg, 4));
        }
    /* Past the 256-byte space of a present function: zero. */
    assert_int_equal(ecam(e, 3, 0x100, 4), 0);
    assert_int_equal(ecam(e, 5, 0x100, 4), 0xffffffff);
}

static void test_reset(void **state)
{
    struct env *e = *state;
    out(e, 0xcf9, 0x02, 1);
    assert_int_equal(e->stops, 0);
    assert_int_equal(in(e, 0xcf9, 1), 0x02);
    out(e, 0xcf9, 0x06, 1);
    assert_int_equal(e->stops, 1);
    assert_int_equal(e->why, STOP_RESET);
    /* A dword write to 0xcf8 is the address register, not a reset. */
    out(e, 0xcf8, 0x80000004, 4);
    assert_int_equal(e->stops, 1);
}

static void test_malformed(void **state)
{
    struct env *e = *state;
    uint64_t v;
    /* Word and byte accesses to 0xcf8 do not change the address. */
    out(e, 0xcf8, addr(3, 0, 0), 4);
    out(e, 0xcf8, 0xffff, 2);
    out(e, 0xcfa, 0xff, 1);
    assert_int_equal(in(e, 0xcf8, 4), addr(3, 0, 0));
    assert_int_equal(in(e, 0xcf8, 2), 0xffff);
    /* Unaligned data accesses stay in the function's space. */
    out(e, 0xcf8, addr(3, 0, 0xfc), 4);
    assert_int_equal(in(e, 0xcfd, 2), 0);
    out(e, 0xcfd, 0xffff, 2);
    assert_int_equal(in(e, 0xcfe, 4), 0xffffffff); /* straddles 0xcff */
    out(e, 0xcfe, 0xffffffff, 4);
    /* ECAM: unaligned, 8-byte, other buses, last byte of the window. */
    for (uint64_t off = 0; off < PCI_ECAM_SIZE; off += 0x1fff) {
        for (unsigned sz = 1; sz <= 8; sz *= 2) {
            v = 0x5a5a5a5a5a5a5a5aull;
            bus_access(&e->mmio, PCI_ECAM_BASE + off, &v, sz, false);
            bus_access(&e->mmio, PCI_ECAM_BASE + off, &v, sz, true);
        }
    }
    v = 0;
    bus_access(&e->mmio, PCI_ECAM_BASE + (3 << 15) + 1, &v, 2, false);
    assert_int_equal(v, 0xffff);
    bus_access(&e->mmio, PCI_ECAM_BASE + PCI_ECAM_SIZE - 1, &v, 1, false);
    bus_access(&e->mmio, PCI_ECAM_BASE + PCI_ECAM_SIZE - 2, &v, 4, true);
    /* Every CF8 register offset of a present function, every width. */
    for (unsigned reg = 0; reg < 256; reg += 4)
        for (unsigned off = 0; off < 4; off++) {
            out(e, 0xcf8, addr(3, 0, reg), 4);
            (void)in(e, (uint16_t)(0xcfc + off), 1);
            (void)in(e, (uint16_t)(0xcfc + off), 2);
            (void)in(e, (uint16_t)(0xcfc + off), 4);
        }
    /* The function still answers. */
    assert_int_equal(cfg_rd(e, 3, 0, 2), 0x1af4);
}

/* pci_realize from a spec. */
static void test_realize(void **state)
{
    (void)state;
    struct env e = {0};
    fake_irq_reset();
    bus_init(&e.pio, "pio");
    bus_init(&e.mmio, "mmio");
    e.ctx = (struct dev_ctx){.pio = &e.pio,
                             .mmio = &e.mmio,
                             .irq_resolve = fake_irq_resolve,
                             .irq_isa = fake_irq_isa,
                             .stop = fake_stop,
                             .opaque = &e};
    struct vm_spec s;
    spec_init(&s, ARCH_X86_64);
    s.has_pci = true;
    struct vdev_spec *vd = VEC_PUSH(&s.vdevs);
    assert_non_null(vd);
    vd->type = vdev_type_find("pci-dummy");
    assert_non_null(vd->type);
    vd->is_pci = true;
    vd->pci = (struct pci_func){.bdf = {0, 1, 0},
                                .vendor = 0x1af4,
                                .device = 0x1042,
                                .class_code = 0x0100,
                                .intx_pin = 1,
                                .intx = {.line = 17}};
    vd->pci.bars[1] = (struct bar){BAR_MEM32, 0xc0000000, 0x1000, "msi-x"};
    vd->pci.bars[4] =
        (struct bar){BAR_MEM64, 0xc0004000, 0x4000, "virtio registers"};
    vd->pci.bars[0] = (struct bar){BAR_IO, 0xc000, 0x80, "legacy"};
    /* pci_function_from_vdev: what a transport starts from. */
    struct pci_function pf;
    assert_int_equal(pci_function_from_vdev(&pf, vd), 0);
    assert_int_equal(pf.intx_intr.line, 17);
    assert_int_equal(pf.cfg[0x3d], 1);
    assert_int_equal(pf.bars[4].kind, BAR_MEM64);
    assert_int_equal(pf.bars[4].size, 0x4000);
    assert_null(pf.bar_ops[4]);
    assert_int_equal(pf.bdf.dev, 1);
    assert_int_equal(pf.cfg[0x34], 0);
    vd->pci.bars[2] = (struct bar){BAR_MEM32, 0xc0008000, 0x3000, "bad"};
    assert_int_equal(pci_function_from_vdev(&pf, vd), -1);
    vd->pci.bars[2] = (struct bar){0};
    /* pci-dummy at 00:02.0 with reg presets (revision, subsystem). */
    vd = VEC_PUSH(&s.vdevs);
    assert_non_null(vd);
    vd->type = vdev_type_find("pci-dummy");
    assert_non_null(vd->type);
    vd->is_pci = true;
    vd->pci = (struct pci_func){.bdf = {0, 2, 0},
                                .vendor = 0x8086,
                                .device = 0x1237,
                                .class_code = 0x0600};
    const struct opt_def *reg = NULL;
    for (const struct opt_def *d = vd->type->opts; d->name; d++)
        if (strcmp(d->name, "reg") == 0)
            reg = d;
    assert_non_null(reg);
    static const uint64_t presets[][3] = {
        {0x00, 2, 0x8086}, {0x08, 1, 0x02}, {0x2c, 4, 0x11223344}};
    for (unsigned k = 0; k < 3; k++) {
        struct opt_val *o = VEC_PUSH(&vd->opts);
        assert_non_null(o);
        *o = (struct opt_val){.def = reg,
                              .num = presets[k][0],
                              .num2 = presets[k][1],
                              .num3 = presets[k][2]};
    }
    /* pci-dummy at 00:03.0 cloned from a host function (`clone`: the
     * front end read sysfs), a `reg` preset overriding the revision. */
    vd = VEC_PUSH(&s.vdevs);
    assert_non_null(vd);
    vd->type = vdev_type_find("pci-dummy");
    vd->is_pci = true;
    vd->pci = (struct pci_func){.bdf = {0, 3, 0},
                                .vendor = 0x8086,
                                .device = 0xa304,
                                .class_code = 0x0c03,
                                .cloned = true,
                                .prog_if = 0x30,
                                .revision = 0x10,
                                .subsys_vendor = 0x1028,
                                .subsys_id = 0x0869};
    struct opt_val *o3 = VEC_PUSH(&vd->opts);
    assert_non_null(o3);
    *o3 = (struct opt_val){.def = reg, .num = 0x08, .num2 = 1, .num3 = 0x21};
    struct dev_list l = {0};
    assert_int_equal(pci_realize(&s, &e.ctx, &l), 0);
    assert_int_equal(cfg_rd(&e, 3, 0, 4), 0xa3048086);
    assert_int_equal(cfg_rd(&e, 3, 0x08, 4), 0x0c033021);
    assert_int_equal(cfg_rd(&e, 3, 0x2c, 4), 0x08691028);
    assert_int_equal(cfg_rd(&e, 2, 0, 4), 0x12378086);
    assert_int_equal(cfg_rd(&e, 2, 0x08, 4), 0x06000002);
    assert_int_equal(cfg_rd(&e, 2, 0x2c, 4), 0x11223344);
    assert_int_equal(cfg_rd(&e, 2, 0x3d, 1), 0); /* no INTx */
    assert_int_equal(cfg_rd(&e, 2, 0x10, 4), 0);
    assert_int_equal(cfg_rd(&e, 0, 0, 4), 0x29c08086);
    assert_int_equal(cfg_rd(&e, 1, 0, 4), 0x10421af4);
    assert_int_equal(cfg_rd(&e, 1, 0x08, 4) >> 8, 0x010000);
    assert_int_equal(cfg_rd(&e, 1, 0x3c, 2), 0x0111);
    assert_int_equal(cfg_rd(&e, 1, 0x14, 4), 0xc0000000);
    assert_int_equal(cfg_rd(&e, 1, 0x20, 4), 0xc0004004);
    assert_int_equal(cfg_rd(&e, 1, 0x10, 4), 0xc001);
    assert_int_equal(mread(&e, 0xc0004000, 4), 0); /* dummy window */
    assert_int_equal(ecam(&e, 1, 0, 2), 0x1af4);
    for (size_t i = 0; i < l.v.n; i++)
        l.v.v[i].teardown(l.v.v[i].state);
    VEC_FREE(&l.v);
    assert_int_equal(mread(&e, 0xc0004000, 4), 0xffffffff);
    spec_free(&s);

    /* Without PCI: the stub, no device, 0xcf9 still resets. */
    spec_init(&s, ARCH_X86_64);
    assert_int_equal(pci_realize(&s, &e.ctx, &l), 0);
    assert_int_equal(cfg_rd(&e, 0, 0, 4), 0xffffffff);
    assert_int_equal(mread(&e, PCI_ECAM_BASE, 4), 0xffffffff);
    out(&e, 0xcf9, 0x06, 1);
    assert_int_equal(e.stops, 1);
    for (size_t i = 0; i < l.v.n; i++)
        l.v.v[i].teardown(l.v.v[i].state);
    VEC_FREE(&l.v);
    spec_free(&s);
    bus_destroy(&e.pio);
    bus_destroy(&e.mmio);
}

/* ---- capabilities, MSI-X, INTx, hooks ------------------------------------ */

#define MSIX_BAR  0xc0010000u
#define MSIX_NVEC 3

struct menv {
    struct env e;
    struct pci_function g; /* 00:04.0: MSI-X in BAR1, registers in BAR4 */
    int vcap, mcap;
    unsigned nread, nwrite, nmoved;
    unsigned last_off, last_size;
    uint8_t seen_cmd;
    unsigned moved_i[MAXLOG];
    bool moved_on[MAXLOG];
    uint64_t moved_base[MAXLOG];
};

static void hook_read(void *opaque, unsigned off, unsigned size)
{
    struct menv *m = opaque;
    m->nread++;
    m->last_off = off, m->last_size = size;
    m->g.cfg[m->vcap + 3]++; /* a counter the model refreshes */
}

static void hook_write(void *opaque, unsigned off, unsigned size)
{
    struct menv *m = opaque;
    m->nwrite++;
    m->last_off = off, m->last_size = size;
    m->seen_cmd = m->g.cfg[PCI_REG_CMD];
}

static void hook_moved(void *opaque, unsigned i, bool mapped, uint64_t base)
{
    struct menv *m = opaque;
    if (m->nmoved < MAXLOG) {
        m->moved_i[m->nmoved] = i;
        m->moved_on[m->nmoved] = mapped;
        m->moved_base[m->nmoved] = base;
    }
    m->nmoved++;
}

/* fast: the fake VM offers MSI routes and irqfds. */
static struct menv *msix_env(bool fast)
{
    struct menv *m = calloc(1, sizeof(*m));
    struct env *e = &m->e;
    assert_non_null(m);
    fake_irq_reset();
    pthread_mutex_init(&e->lock, NULL);
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = fake_irq_resolve,
                              .irq_isa = fake_irq_isa,
                              .stop = fake_stop,
                              .msi_send = fake_msi_send,
                              .opaque = e};
    if (fast) {
        e->ctx.msi_route_alloc = fake_route_alloc;
        e->ctx.msi_route_set = fake_route_set;
        e->ctx.irqfd = fake_irqfd;
        e->next_gsi = 24;
    }
    e->pci = pci_bus_new(&e->ctx, true);
    assert_non_null(e->pci);
    struct pci_function *g = &m->g;
    pci_function_init(g, "msix", (struct bdf){0, 4, 0}, 0x1af4, 0x1041,
                      0x020000, 1, 20);
    assert_int_equal(
        pci_function_set_bar(g, 1, BAR_MEM32, MSIX_BAR, 0x1000, NULL, NULL), 0);
    assert_int_equal(
        pci_function_set_bar(g, 4, BAR_MEM64, 0xc0014000, 0x4000, &bar_ops, e),
        0);
    static const uint8_t vbody[8] = {0, 0, 8, 0xaa, 0xbb};
    m->vcap = pci_function_add_cap(g, PCI_CAP_ID_VNDR, vbody, sizeof(vbody));
    assert_int_equal(m->vcap, 0x40);
    assert_int_equal(pci_msix_init(g, 1, 0x000, 0x800, MSIX_NVEC), 0);
    m->mcap = 0x48;
    g->cfg_read = hook_read;
    g->cfg_write = hook_write;
    g->bar_moved = hook_moved;
    g->hook_opaque = m;
    assert_int_equal(pci_bus_add(e->pci, g), 0);
    return m;
}

static void msix_env_free(struct menv *m)
{
    pci_bus_free(m->e.pci);
    bus_destroy(&m->e.pio);
    bus_destroy(&m->e.mmio);
    free(m);
}

static uint64_t mread8(struct env *e, uint64_t a, unsigned size)
{
    uint64_t v = 0;
    bus_access(&e->mmio, a, &v, size, false);
    return v;
}

static void mwrite(struct env *e, uint64_t a, uint64_t v, unsigned size)
{
    bus_access(&e->mmio, a, &v, size, true);
}

static uint64_t entry(unsigned k, unsigned off)
{
    return MSIX_BAR + 16 * k + off;
}

/* Program vector k's message (masked or not as `ctrl` says). */
static void program(struct env *e, unsigned k, uint64_t addr, uint32_t data,
                    uint32_t ctrl)
{
    mwrite(e, entry(k, 0), addr, 8);
    mwrite(e, entry(k, 8), data, 4);
    mwrite(e, entry(k, 12), ctrl, 4);
}

static void msix_ctl(struct env *e, struct menv *m, uint16_t v)
{
    cfg_wr(e, 4, (unsigned)m->mcap + 2, v, 2);
}

static void test_caps(void **state)
{
    (void)state;
    struct menv *m = msix_env(false);
    struct env *e = &m->e;
    assert_true(cfg_rd(e, 4, PCI_REG_STATUS, 2) & PCI_STATUS_CAPS);
    /* Walk the list as a guest does. */
    uint8_t ids[8], n = 0;
    unsigned at = cfg_rd(e, 4, PCI_REG_CAP_PTR, 1);
    while (at && n < 8) {
        assert_int_equal(at & 3, 0);
        assert_true(at >= 0x40);
        ids[n++] = (uint8_t)cfg_rd(e, 4, at, 1);
        at = cfg_rd(e, 4, at + 1, 1);
    }
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], PCI_CAP_ID_VNDR);
    assert_int_equal(ids[1], PCI_CAP_ID_MSIX);
    assert_int_equal(cfg_rd(e, 4, 0x41, 1), 0x48); /* vendor cap -> MSI-X */
    assert_int_equal(cfg_rd(e, 4, 0x42, 1), 8);    /* body kept */
    assert_int_equal(cfg_rd(e, 4, 0x44, 1), 0xbb);
    /* Read-only to the guest. */
    cfg_wr(e, 4, 0x40, 0xffffffff, 4);
    cfg_wr(e, 4, 0x34, 0xff, 1);
    assert_int_equal(cfg_rd(e, 4, 0x40, 2), 0x4809);
    assert_int_equal(cfg_rd(e, 4, 0x34, 1), 0x40);
    cfg_wr(e, 4, 0x06, 0xffff, 2);
    assert_true(cfg_rd(e, 4, 0x06, 2) & PCI_STATUS_CAPS);
    /* The host bridge has none. */
    assert_int_equal(cfg_rd(e, 0, PCI_REG_CAP_PTR, 1), 0);
    assert_false(cfg_rd(e, 0, PCI_REG_STATUS, 2) & PCI_STATUS_CAPS);
    msix_env_free(m);

    /* Filling the space: -ENOSPC, never past 256 bytes, list intact. */
    struct pci_function f;
    pci_function_init(&f, "full", (struct bdf){0, 5, 0}, 1, 2, 0, 0, 0);
    int off, last = 0, count = 0;
    uint8_t body[20] = {0};
    while ((off = pci_function_add_cap(&f, 0x09, body, 13)) >= 0) {
        assert_true(off > last);
        assert_int_equal(off & 3, 0);
        assert_true(off + 13 <= PCI_CFG_SIZE);
        last = off, count++;
    }
    assert_int_equal(off, -ENOSPC);
    assert_int_equal(count, (256 - 0x40) / 16);
    assert_int_equal(pci_function_add_cap(&f, 0x09, body, 1), -ENOSPC);
    unsigned walked = 0;
    for (at = f.cfg[0x34]; at; at = f.cfg[at + 1])
        walked++;
    assert_int_equal(walked, count);
    /* One that fits exactly at the end. */
    pci_function_init(&f, "end", (struct bdf){0, 5, 0}, 1, 2, 0, 0, 0);
    assert_int_equal(pci_function_add_cap(&f, 0x09, NULL, 0xc0), 0x40);
    assert_int_equal(pci_function_add_cap(&f, 0x09, NULL, 1), -ENOSPC);
}

static void test_msix_cap(void **state)
{
    (void)state;
    struct menv *m = msix_env(false);
    struct env *e = &m->e;
    unsigned c = (unsigned)m->mcap;
    assert_int_equal(cfg_rd(e, 4, c, 1), PCI_CAP_ID_MSIX);
    assert_int_equal(cfg_rd(e, 4, c + 1, 1), 0); /* last */
    assert_int_equal(cfg_rd(e, 4, c + 2, 2), MSIX_NVEC - 1);
    assert_int_equal(cfg_rd(e, 4, c + 4, 4), 0x000 | 1); /* BIR 1 */
    assert_int_equal(cfg_rd(e, 4, c + 8, 4), 0x800 | 1);
    /* Only Enable and Function Mask are writable. */
    cfg_wr(e, 4, c, 0xffffffff, 4);
    assert_int_equal(cfg_rd(e, 4, c, 4),
                     0xc0000000u | (MSIX_NVEC - 1) << 16 | PCI_CAP_ID_MSIX);
    assert_true(pci_msix_enabled(&m->g));
    cfg_wr(e, 4, c + 4, 0xffffffff, 4);
    cfg_wr(e, 4, c + 8, 0, 4);
    assert_int_equal(cfg_rd(e, 4, c + 4, 4), 1);
    assert_int_equal(cfg_rd(e, 4, c + 8, 4), 0x801);
    msix_ctl(e, m, 0);
    assert_false(pci_msix_enabled(&m->g));
    /* Through ECAM too. */
    mwrite(e, PCI_ECAM_BASE + (4 << 15) + c + 2, 0x8000, 2);
    assert_true(pci_msix_enabled(&m->g));
    msix_env_free(m);

    /* Bad layouts. */
    struct pci_function f;
    pci_function_init(&f, "bad", (struct bdf){0, 5, 0}, 1, 2, 0, 0, 0);
    assert_int_equal(
        pci_function_set_bar(&f, 0, BAR_IO, 0xc000, 0x80, NULL, NULL), 0);
    assert_int_equal(
        pci_function_set_bar(&f, 1, BAR_MEM32, 0xc0000000, 0x1000, NULL, NULL),
        0);
    assert_int_equal(pci_function_set_bar(&f, 2, BAR_MEM32, 0xc0001000, 0x1000,
                                          &bar_ops, NULL),
                     0);
    assert_int_equal(pci_msix_init(&f, 0, 0, 0x40, 2), -EINVAL);  /* I/O */
    assert_int_equal(pci_msix_init(&f, 3, 0, 0x800, 2), -EINVAL); /* none */
    assert_int_equal(pci_msix_init(&f, 6, 0, 0x800, 2), -EINVAL);
    assert_int_equal(pci_msix_init(&f, 1, 0, 0x800, 0), -EINVAL);
    assert_int_equal(pci_msix_init(&f, 1, 0, 0x800, 2049), -EINVAL);
    assert_int_equal(pci_msix_init(&f, 1, 4, 0x800, 2), -EINVAL);
    assert_int_equal(pci_msix_init(&f, 1, 0, 0x804, 2), -EINVAL);
    assert_int_equal(pci_msix_init(&f, 1, 0, 0x10, 2), -EINVAL);  /* overlap */
    assert_int_equal(pci_msix_init(&f, 1, 0xff0, 0, 2), -EINVAL); /* past */
    assert_int_equal(pci_msix_init(&f, 1, 0, 0xff8, 65), -EINVAL);
    assert_int_equal(f.cfg[0x34], 0); /* nothing added by failures */
    assert_null(f.msix);
    /* A BAR with ops: shared with the function's registers, which keep
     * the other bytes (test_dev_vfio_pci). */
    assert_int_equal(pci_msix_init(&f, 2, 0, 0x800, 2), 0);
    assert_non_null(f.msix);
    assert_true(f.bar_ops[2] != &bar_ops);
    msix_free(f.msix);
}

/* Registers of a BAR that also holds MSI-X structures: each BAR's own
 * bytes, written and read back (the opaque is the BAR's backing). */
static uint64_t reg_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    memcpy(&v, (uint8_t *)opaque + off, size);
    return v;
}

static void reg_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    memcpy((uint8_t *)opaque + off, &val, size);
}

static const struct region_ops reg_ops = {reg_read, reg_write};

/* The table in one BAR and the PBA in another, each shared with
 * registers: the capability names both, each BAR serves only its own
 * structure, the other bytes (the PBA's offset in the table's BAR too)
 * are the registers'. */
static void test_msix_two_bars(void **state)
{
    (void)state;
    static uint8_t regs1[0x1000], regs2[0x1000];
    memset(regs1, 0, sizeof(regs1));
    memset(regs2, 0, sizeof(regs2));
    struct pci_function f;
    pci_function_init(&f, "two", (struct bdf){0, 5, 0}, 1, 2, 0, 0, 0);
    assert_int_equal(pci_function_set_bar(&f, 1, BAR_MEM32, 0xc0000000, 0x1000,
                                          &reg_ops, regs1),
                     0);
    assert_int_equal(pci_function_set_bar(&f, 2, BAR_MEM32, 0xc0001000, 0x1000,
                                          &reg_ops, regs2),
                     0);
    /* each structure must fit its own BAR; overlap is no matter across */
    assert_int_equal(pci_msix_init2(&f, 1, 0xff0, 2, 0x800, 2), -EINVAL);
    assert_int_equal(pci_msix_init2(&f, 1, 0x800, 2, 0xffc, 2), -EINVAL);
    assert_int_equal(pci_msix_init2(&f, 1, 0x800, 0, 0x800, 2), -EINVAL);
    assert_null(f.msix);
    assert_int_equal(pci_msix_init2(&f, 1, 0x800, 2, 0x900, 2), 0);
    unsigned c = f.cfg[0x34];
    assert_int_equal(f.cfg[c], PCI_CAP_ID_MSIX);
    assert_int_equal(le_get(f.cfg + c + 4, 4), 0x800 | 1);
    assert_int_equal(le_get(f.cfg + c + 8, 4), 0x900 | 2);
    const struct region_ops *o1 = f.bar_ops[1], *o2 = f.bar_ops[2];
    void *p1 = f.bar_opaque[1], *p2 = f.bar_opaque[2];
    assert_true(o1 != &reg_ops && o2 != &reg_ops);
    /* BAR1: the table at 0x800 (vector 0 masked at reset), registers
     * elsewhere */
    assert_int_equal(o1->read(p1, 0x800 + 12, 4), 1);
    o1->write(p1, 0x800 + 8, 0x4041, 4);
    assert_int_equal(o1->read(p1, 0x800 + 8, 4), 0x4041);
    assert_int_equal(regs1[0x808], 0);
    o1->write(p1, 0x10, 0xabcd, 2);
    assert_int_equal(regs1[0x10], 0xcd);
    assert_int_equal(o1->read(p1, 0x10, 2), 0xabcd);
    /* an access straddling the table's end (vector 1's control, its mask
     * kept): the registers' bytes after */
    o1->write(p1, 0x81c, 0x1122334400000001ull, 8);
    assert_int_equal(regs1[0x820], 0x44);
    assert_int_equal(regs1[0x81c], 0);
    /* BAR2: the PBA at 0x800 (read-only, zero), registers elsewhere */
    o2->write(p2, 0x900, ~0ull, 8);
    assert_int_equal(o2->read(p2, 0x900, 8), 0);
    assert_int_equal(regs2[0x900], 0);
    o2->write(p2, 0x20, 0x55, 1);
    assert_int_equal(regs2[0x20], 0x55);
    /* the table's offset in the PBA's BAR is a register, and the other
     * way round */
    o2->write(p2, 0x808, 0x77, 1);
    assert_int_equal(regs2[0x808], 0x77);
    assert_int_equal(o2->read(p2, 0x808, 1), 0x77);
    regs1[0x900] = 0x99;
    assert_int_equal(o1->read(p1, 0x900, 1), 0x99);
    /* a vector signalled while masked is pending in BAR2's PBA */
    f.cfg[c + 3] = PCI_MSIX_ENABLE >> 8;
    msix_cfg_written(&f, c + 2, 2);
    assert_true(pci_msix_notify(&f, 1));
    assert_int_equal(o2->read(p2, 0x900, 8), 2);
    assert_int_equal(o1->read(p1, 0x800 + 16 + 12, 4), 1);
    msix_free(f.msix);
}

static void test_msix_table(void **state)
{
    (void)state;
    struct menv *m = msix_env(false);
    struct env *e = &m->e;
    for (unsigned k = 0; k < MSIX_NVEC; k++) {
        assert_int_equal(mread8(e, entry(k, 0), 8), 0);
        assert_int_equal(mread8(e, entry(k, 8), 4), 0);
        assert_int_equal(mread8(e, entry(k, 12), 4), 1); /* masked */
    }
    /* dword and qword writes, reserved bits dropped. */
    mwrite(e, entry(1, 0), 0xfee01003, 4);
    mwrite(e, entry(1, 4), 0x1, 4);
    mwrite(e, entry(1, 8), 0x4041, 4);
    mwrite(e, entry(1, 12), 0xfffffffe, 4);
    assert_int_equal(mread8(e, entry(1, 0), 8), 0x1fee01000ull);
    assert_int_equal(mread8(e, entry(1, 8), 4), 0x4041);
    assert_int_equal(mread8(e, entry(1, 12), 4), 0);
    mwrite(e, entry(2, 8), 0x0000000100004042ull, 8); /* data + ctrl */
    assert_int_equal(mread8(e, entry(2, 8), 8), 0x0000000100004042ull);
    assert_int_equal(mread8(e, entry(1, 2), 2), 0xfee0); /* odd widths */
    /* PBA: read-only, zero; the rest of the BAR reads zero. */
    mwrite(e, MSIX_BAR + 0x800, ~0ull, 8);
    assert_int_equal(mread8(e, MSIX_BAR + 0x800, 8), 0);
    assert_int_equal(mread8(e, MSIX_BAR + 0x400, 4), 0);
    /* Garbage everywhere, every width: no delivery while disabled, no
     * crash, and the table keeps only writable bits. */
    for (uint64_t off = 0; off < 0x1000; off += 3)
        for (unsigned sz = 1; sz <= 8; sz *= 2) {
            mwrite(e, MSIX_BAR + off, 0xa5a5a5a5a5a5a5a5ull, sz);
            (void)mread8(e, MSIX_BAR + off, sz);
        }
    assert_int_equal(mread8(e, entry(0, 12), 4) & ~1u, 0);
    assert_int_equal(mread8(e, entry(0, 0), 1) & 3, 0);
    assert_int_equal(mread8(e, MSIX_BAR + 0x800, 8), 0);
    assert_int_equal(e->nsend, 0);
    /* Garbage over the whole configuration space, every width: the
     * read-only parts and the capability list survive. */
    for (unsigned reg = 0; reg < 256; reg++)
        for (unsigned sz = 1; sz <= 4; sz *= 2) {
            cfg_wr(e, 4, reg, 0xa5a5a5a5u ^ reg, sz);
            (void)cfg_rd(e, 4, reg, sz);
        }
    pci_bus_sync(e->pci);
    assert_int_equal(cfg_rd(e, 4, 0, 4), 0x10411af4);
    assert_int_equal(cfg_rd(e, 4, 0x34, 1), 0x40);
    assert_int_equal(cfg_rd(e, 4, 0x41, 1), 0x48);
    assert_int_equal(cfg_rd(e, 4, 0x48, 1), PCI_CAP_ID_MSIX);
    assert_int_equal(cfg_rd(e, 4, 0x4a, 2) & 0x7ff, MSIX_NVEC - 1);
    assert_int_equal(cfg_rd(e, 4, 0x3d, 1), 1);
    cfg_wr(e, 4, 0x4a, 0, 2);
    cfg_wr(e, 4, 0x14, MSIX_BAR, 4);
    cfg_wr(e, 4, 0x04, 0x0006, 2);
    pci_bus_sync(e->pci);
    assert_int_equal(mread8(e, entry(0, 12), 4), 1); /* masked again */
    /* The table BAR moves like any other. */
    cfg_wr(e, 4, 0x14, 0xd0000000, 4);
    pci_bus_sync(e->pci);
    assert_int_equal(mread8(e, 0xd0000000 + 16 * 1 + 8, 4),
                     mread8(e, 0xd0000000 + 16 * 1 + 8, 4));
    assert_int_equal(mread8(e, MSIX_BAR, 4), 0xffffffff);
    msix_env_free(m);
}

static void test_msix_delivery(void **state)
{
    (void)state;
    struct menv *m = msix_env(false);
    struct env *e = &m->e;
    struct pci_function *g = &m->g;
    program(e, 0, 0xfee00000, 0x4030, 1);
    program(e, 1, 0xfee01000, 0x4031, 1);
    /* Disabled: the caller falls back to INTx. */
    assert_false(pci_msix_enabled(g));
    assert_false(pci_msix_notify(g, 0));
    assert_int_equal(mread8(e, MSIX_BAR + 0x800, 8), 0);
    msix_ctl(e, m, PCI_MSIX_ENABLE);
    assert_true(pci_msix_enabled(g));
    assert_false(pci_msix_notify(g, MSIX_NVEC)); /* out of range */
    assert_false(pci_msix_notify(g, 0xffffffffu));
    /* Masked vector: pending, delivered once on unmask. */
    assert_true(pci_msix_notify(g, 1));
    assert_true(pci_msix_notify(g, 1));
    assert_int_equal(e->nsend, 0);
    assert_int_equal(mread8(e, MSIX_BAR + 0x800, 8), 2);
    mwrite(e, entry(1, 12), 0, 4);
    assert_int_equal(e->nsend, 1);
    assert_int_equal(e->sent[0].addr, 0xfee01000);
    assert_int_equal(e->sent[0].data, 0x4031);
    assert_int_equal(mread8(e, MSIX_BAR + 0x800, 8), 0);
    /* Unmasked: sent now. */
    assert_true(pci_msix_notify(g, 1));
    assert_int_equal(e->nsend, 2);
    /* Function Mask: pending, delivered when cleared. */
    msix_ctl(e, m, PCI_MSIX_ENABLE | PCI_MSIX_FMASK);
    assert_true(pci_msix_notify(g, 1));
    assert_int_equal(e->nsend, 2);
    assert_int_equal(mread8(e, MSIX_BAR + 0x800, 1), 2);
    msix_ctl(e, m, PCI_MSIX_ENABLE);
    assert_int_equal(e->nsend, 3);
    assert_int_equal(mread8(e, MSIX_BAR + 0x800, 1), 0);
    /* Pending across a disable: kept, delivered when enabled and unmasked. */
    assert_true(pci_msix_notify(g, 0));
    msix_ctl(e, m, 0);
    assert_false(pci_msix_notify(g, 0));
    mwrite(e, entry(0, 12), 0, 4);
    assert_int_equal(e->nsend, 3);
    msix_ctl(e, m, PCI_MSIX_ENABLE);
    assert_int_equal(e->nsend, 4);
    assert_int_equal(e->sent[3].data, 0x4030);
    /* The message follows the guest's latest write. */
    mwrite(e, entry(0, 8), 0x4039, 4);
    assert_true(pci_msix_notify(g, 0));
    assert_int_equal(e->sent[4].data, 0x4039);
    /* MSI-X does not touch INTx. */
    assert_int_equal(e->nirq, 0);
    msix_env_free(m);
}

static uint64_t efd_read(int fd)
{
    uint64_t v = 0;
    if (read(fd, &v, sizeof(v)) != sizeof(v))
        return 0;
    return v;
}

static void test_msix_fast(void **state)
{
    (void)state;
    struct menv *m = msix_env(true);
    struct env *e = &m->e;
    struct pci_function *g = &m->g;
    /* One GSI and irqfd per vector, from 24; no route until unmasked. */
    assert_int_equal(e->nirqfd, MSIX_NVEC);
    for (unsigned k = 0; k < MSIX_NVEC; k++)
        assert_int_equal(e->irqfd_gsi[k], 24 + (int)k);
    program(e, 2, 0xfee02000, 0x4052, 1);
    msix_ctl(e, m, PCI_MSIX_ENABLE);
    assert_int_equal(e->nroute, 0);
    /* Unmask: the route points at the message; notify writes the irqfd. */
    mwrite(e, entry(2, 12), 0, 4);
    assert_int_equal(e->nroute, 1);
    assert_int_equal(e->route_gsi[0], 26);
    assert_true(e->route_valid[0]);
    assert_int_equal(e->route[0].addr, 0xfee02000);
    assert_int_equal(e->route[0].data, 0x4052);
    assert_true(pci_msix_notify(g, 2));
    assert_true(pci_msix_notify(g, 2));
    assert_int_equal(efd_read(e->irqfd_fd[2]), 2);
    assert_int_equal(e->nsend, 0);
    /* A change while unmasked moves the route (once per changed dword);
     * an unchanged rewrite does not. */
    mwrite(e, entry(2, 8), 0x4053, 4);
    assert_int_equal(e->nroute, 2);
    assert_int_equal(e->route[1].data, 0x4053);
    mwrite(e, entry(2, 8), 0x4053, 4);
    mwrite(e, entry(2, 12), 0, 4);
    assert_int_equal(e->nroute, 2);
    /* Masked changes wait for the unmask. */
    program(e, 0, 0xfee00000, 0x4050, 1);
    mwrite(e, entry(0, 8), 0x4051, 4);
    assert_int_equal(e->nroute, 2);
    assert_true(pci_msix_notify(g, 0)); /* pending */
    mwrite(e, entry(0, 12), 0, 4);
    assert_int_equal(e->nroute, 3);
    assert_int_equal(e->route_gsi[2], 24);
    assert_int_equal(e->route[2].data, 0x4051);
    assert_int_equal(efd_read(e->irqfd_fd[0]), 1); /* the pending one */
    /* A route KVM refuses: msi_send instead. */
    e->route_fail = -EINVAL;
    mwrite(e, entry(0, 8), 0x4058, 4);
    assert_true(pci_msix_notify(g, 0));
    assert_int_equal(e->nsend, 1);
    assert_int_equal(e->sent[0].data, 0x4058);
    e->route_fail = 0;
    assert_true(pci_msix_notify(g, 0)); /* retried and routed */
    assert_int_equal(e->nsend, 1);
    assert_int_equal(efd_read(e->irqfd_fd[0]), 1);
    assert_int_equal(e->nirqfd_off, 0);
    pci_bus_free(e->pci);
    assert_int_equal(e->nirqfd_off, MSIX_NVEC);
    e->pci = pci_bus_new(&e->ctx, false);
    msix_env_free(m);
}

/* The watch (a VFIO device's MSI-X, devices/vfio_pci.c): told each time a
 * vector's irqfd becomes usable straight or stops being. */
struct watchlog {
    unsigned n;
    unsigned vec[16];
    int fd[16];
};

static void watch_rec(void *opaque, unsigned vector, int irqfd)
{
    struct watchlog *w = opaque;
    assert_true(w->n < 16);
    w->vec[w->n] = vector;
    w->fd[w->n] = irqfd;
    w->n++;
}

static void watched(struct watchlog *w, unsigned vec, int fd)
{
    assert_true(w->n > 0);
    assert_int_equal(w->vec[w->n - 1], vec);
    assert_int_equal(w->fd[w->n - 1], fd);
}

static void test_msix_watch(void **state)
{
    (void)state;
    struct menv *m = msix_env(true);
    struct env *e = &m->e;
    struct pci_function *g = &m->g;
    struct watchlog w = {0};
    pci_msix_set_watch(g, watch_rec, &w);
    int fd0 = e->irqfd_fd[0];
    program(e, 0, 0xfee00000, 0x4050, 0); /* unmasked, MSI-X still off */
    program(e, 1, 0xfee00000, 0x4051, 1);
    assert_int_equal(w.n, 0);
    /* Enable: vector 0 straight to its irqfd; vector 1 stays masked. */
    msix_ctl(e, m, PCI_MSIX_ENABLE);
    assert_int_equal(w.n, 1);
    watched(&w, 0, fd0);
    /* Its message changes: the route follows, the irqfd stays. */
    mwrite(e, entry(0, 8), 0x4052, 4);
    assert_int_equal(w.n, 1);
    assert_int_equal(e->route[e->nroute - 1].data, 0x4052);
    /* Masked, by its bit or the function's: not straight any more; a
     * notify then is pending and goes out at the unmask. */
    mwrite(e, entry(0, 12), 1, 4);
    watched(&w, 0, -1);
    assert_true(pci_msix_notify(g, 0));
    assert_int_equal(efd_read(e->irqfd_fd[0]), 0);
    mwrite(e, entry(0, 12), 0, 4);
    watched(&w, 0, fd0);
    assert_int_equal(efd_read(e->irqfd_fd[0]), 1);
    msix_ctl(e, m, PCI_MSIX_ENABLE | PCI_MSIX_FMASK);
    watched(&w, 0, -1);
    msix_ctl(e, m, PCI_MSIX_ENABLE);
    watched(&w, 0, fd0);
    /* Vector 1 unmasked: straight too; a route KVM refuses: not. */
    mwrite(e, entry(1, 12), 0, 4);
    watched(&w, 1, e->irqfd_fd[1]);
    e->route_fail = -EINVAL;
    mwrite(e, entry(1, 8), 0x4059, 4);
    watched(&w, 1, -1);
    e->route_fail = 0;
    /* MSI-X off: none straight. */
    unsigned before = w.n;
    msix_ctl(e, m, 0);
    assert_int_equal(w.n, before + 1);
    watched(&w, 0, -1);
    msix_env_free(m);
}

struct storm {
    struct pci_function *g;
    unsigned n;
};

static void *notifier(void *arg)
{
    struct storm *s = arg;
    for (unsigned i = 0; i < s->n; i++)
        (void)pci_msix_notify(s->g, i % MSIX_NVEC);
    return NULL;
}

/* Notifies from several threads while the guest toggles masks: every
 * notify is either delivered or pending, nothing crashes or deadlocks. */
static void test_msix_threads(void **state)
{
    (void)state;
    struct menv *m = msix_env(false);
    struct env *e = &m->e;
    for (unsigned k = 0; k < MSIX_NVEC; k++)
        program(e, k, 0xfee00000, 0x4060 + k, 0);
    msix_ctl(e, m, PCI_MSIX_ENABLE);
    struct storm s = {&m->g, 20000};
    pthread_t t[3];
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, notifier, &s), 0);
    for (unsigned i = 0; i < 2000; i++) {
        msix_ctl(e, m, PCI_MSIX_ENABLE | (i & 1 ? PCI_MSIX_FMASK : 0));
        mwrite(e, entry(i % MSIX_NVEC, 12), i & 2 ? 1 : 0, 4);
        cfg_wr(e, 4, 0x04, i & 4 ? 0x0406 : 0x0006, 2);
    }
    for (unsigned i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (unsigned k = 0; k < MSIX_NVEC; k++)
        mwrite(e, entry(k, 12), 0, 4);
    msix_ctl(e, m, PCI_MSIX_ENABLE);
    assert_int_equal(mread8(e, MSIX_BAR + 0x800, 8), 0);
    assert_true(e->nsend >= 1 && e->nsend <= 3 * 20000);
    msix_env_free(m);
}

static void test_intx(void **state)
{
    (void)state;
    struct menv *m = msix_env(false);
    struct env *e = &m->e;
    struct pci_function *g = &m->g;
    assert_false(cfg_rd(e, 4, PCI_REG_STATUS, 1) & PCI_STATUS_INTX);
    pci_intx_set(g, true);
    assert_int_equal(e->nirq, 1);
    assert_int_equal(e->irq_gsi, 20);
    assert_true(e->irq_level);
    assert_true(cfg_rd(e, 4, PCI_REG_STATUS, 1) & PCI_STATUS_INTX);
    pci_intx_set(g, true); /* no change, no call */
    assert_int_equal(e->nirq, 1);
    /* Interrupt Disable drops the line; the status still shows it. */
    cfg_wr(e, 4, 0x04, 0x0407, 2);
    assert_int_equal(e->nirq, 2);
    assert_false(e->irq_level);
    assert_true(cfg_rd(e, 4, PCI_REG_STATUS, 2) & PCI_STATUS_INTX);
    assert_int_equal(cfg_rd(e, 4, 0x04, 2), 0x0407);
    pci_intx_set(g, false);
    pci_intx_set(g, true);
    assert_int_equal(e->nirq, 2);
    /* Cleared: the pending level reaches the controller (byte write). */
    cfg_wr(e, 4, 0x05, 0x00, 1);
    assert_int_equal(e->nirq, 3);
    assert_true(e->irq_level);
    pci_intx_set(g, false);
    assert_int_equal(e->nirq, 4);
    assert_false(e->irq_level);
    assert_false(cfg_rd(e, 4, PCI_REG_CMD, 4) >> 16 & PCI_STATUS_INTX);
    /* The status bit is read-only. */
    cfg_wr(e, 4, 0x06, 0xffff, 2);
    assert_false(cfg_rd(e, 4, PCI_REG_STATUS, 1) & PCI_STATUS_INTX);
    msix_env_free(m);

    /* A function without a pin never drives a line. */
    m = msix_env(false);
    m->g.cfg[0x3d] = 0;
    pci_intx_set(&m->g, true);
    assert_int_equal(m->e.nirq, 0);
    msix_env_free(m);
}

static void test_hooks(void **state)
{
    (void)state;
    struct menv *m = msix_env(false);
    struct env *e = &m->e;
    /* bar_moved: both BARs mapped at pci_bus_add. */
    assert_int_equal(m->nmoved, 2);
    assert_true(m->moved_on[0] && m->moved_on[1]);
    assert_int_equal(m->moved_i[0] + m->moved_i[1], 1 + 4);
    /* cfg_read runs first: the model's refreshed byte is what is read. */
    unsigned n0 = m->nread;
    uint8_t c1 = (uint8_t)cfg_rd(e, 4, (unsigned)m->vcap + 3, 1);
    uint8_t c2 = (uint8_t)cfg_rd(e, 4, (unsigned)m->vcap + 3, 1);
    assert_int_equal(m->nread, n0 + 2);
    assert_int_equal((uint8_t)(c2 - c1), 1);
    assert_int_equal(m->last_off, (unsigned)m->vcap + 3);
    assert_int_equal(m->last_size, 1);
    (void)ecam(e, 4, 0x10, 4);
    assert_int_equal(m->last_off, 0x10);
    assert_int_equal(m->last_size, 4);
    /* cfg_write runs after, with the masked value in place. */
    cfg_wr(e, 4, 0x04, 0xfff1, 2);
    assert_int_equal(m->nwrite, 1);
    assert_int_equal(m->last_off, 4);
    assert_int_equal(m->last_size, 2);
    assert_int_equal(m->seen_cmd, 0x01);
    /* Not called for other functions, nor out of range. */
    (void)cfg_rd(e, 0, 0, 4);
    (void)ecam(e, 4, 0x100, 4);
    assert_int_equal(m->nwrite, 1);
    /* Memory decode off: both memory BARs unmapped, then a move. */
    pci_bus_sync(e->pci);
    assert_int_equal(m->nmoved, 4);
    assert_false(m->moved_on[2] || m->moved_on[3]);
    cfg_wr(e, 4, 0x14, 0xd0000000, 4);
    cfg_wr(e, 4, 0x04, 0x0002, 2);
    pci_bus_sync(e->pci);
    assert_int_equal(m->nmoved, 6);
    for (unsigned k = 4; k < 6; k++) {
        assert_true(m->moved_on[k]);
        if (m->moved_i[k] == 1)
            assert_int_equal(m->moved_base[k], 0xd0000000);
        else
            assert_int_equal(m->moved_base[k], 0xc0014000);
    }
    cfg_wr(e, 4, 0x14, 0xd0001000, 4);
    pci_bus_sync(e->pci);
    assert_int_equal(m->nmoved, 8);
    assert_false(m->moved_on[6]);
    assert_int_equal(m->moved_base[6], 0xd0000000);
    assert_true(m->moved_on[7]);
    assert_int_equal(m->moved_base[7], 0xd0001000);
    msix_env_free(m);
}

/* pci_bus_remove: BARs unmapped, no more hooks, INTx dropped, MSI-X
 * released, the slot free again; the bus is still usable. */
static void test_remove(void **state)
{
    (void)state;
    struct menv *m = msix_env(true);
    struct env *e = &m->e;
    pci_intx_set(&m->g, true);
    assert_true(e->irq_level);
    assert_int_equal(mread8(e, entry(0, 12), 4), 1);
    unsigned moved = m->nmoved;
    cfg_wr(e, 4, 0x14, 0xd0000000, 4); /* a move requested just before */
    pci_bus_remove(e->pci, &m->g);
    assert_false(e->irq_level);
    assert_int_equal(e->nirqfd_off, MSIX_NVEC);
    assert_null(m->g.msix);
    assert_false(pci_msix_notify(&m->g, 0));
    assert_int_equal(cfg_rd(e, 4, 0, 4), 0xffffffff);
    assert_int_equal(mread8(e, MSIX_BAR, 4), 0xffffffff);
    assert_int_equal(mread8(e, 0xd0000000, 4), 0xffffffff);
    assert_int_equal(mread8(e, 0xc0014000, 4), 0xffffffff);
    /* The move ran before the removal completed, or not at all. */
    unsigned after = m->nmoved;
    assert_true(after == moved || after == moved + 2);
    cfg_wr(e, 0, 0x04, 0, 2); /* other traffic: no hook for g */
    pci_bus_sync(e->pci);
    assert_int_equal(m->nmoved, after);
    pci_intx_set(&m->g, true); /* off the bus: no line */
    assert_false(e->irq_level);
    pci_bus_remove(e->pci, &m->g); /* twice: no-op */
    /* The slot can be reused. */
    struct pci_function h;
    pci_function_init(&h, "again", (struct bdf){0, 4, 0}, 0x1234, 0x5678, 0, 0,
                      0);
    assert_int_equal(pci_bus_add(e->pci, &h), 0);
    assert_int_equal(cfg_rd(e, 4, 0, 4), 0x56781234);
    msix_env_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_widths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_move, setup, teardown),
        cmocka_unit_test(test_inline_remap),
        cmocka_unit_test_setup_teardown(test_ecam_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test(test_realize),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_msix_cap),
        cmocka_unit_test(test_msix_two_bars),
        cmocka_unit_test(test_msix_table),
        cmocka_unit_test(test_msix_delivery),
        cmocka_unit_test(test_msix_fast),
        cmocka_unit_test(test_msix_watch),
        cmocka_unit_test(test_msix_threads),
        cmocka_unit_test(test_intx),
        cmocka_unit_test(test_hooks),
        cmocka_unit_test(test_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

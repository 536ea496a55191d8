/*
 * test_dev_vfio_pci.c: devices/vfio_pci.c's configuration space over a
 * fake VFIO device (hv/vfio.h's functions defined here, so that hv/vfio.c
 * is not linked): the status register's Interrupt Status bit is the
 * device's, read on each guest read of the status register (Linux's
 * pci_check_and_mask_intx, uio_pci_generic's handler, tells by it whether
 * the function interrupted; with KVM's resample irqfd qvm never drives
 * the line itself), and no other host status bit shows; and a function
 * whose MSI-X table and PBA share a BAR with its registers (NVMe's
 * layout): the table and PBA are msix.c's, the registers next to them
 * reach the device (pread/pwrite), the other pages are memory slots that
 * follow the BAR, with and without VFIO's sparse mmap areas; and INTx on
 * the split irqchip: unmasked at the guest's EOI through qvm's IOAPIC's
 * EOI hook with the BAR in a memory slot, or, without the hook, at the
 * next BAR access with the BAR trapped. The VFIO ioctls
 * themselves run in the IOMMU lab (tests/vm/cases/vfio-edu.sh,
 * tests/realguests/cases/linux-vfio-edu.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_irq.h"
#include "config/schema.h"
#include "devices/pci.h"
#include "devices/vfio_pci.h"
#include "hv/vfio.h"
#include "vm/event.h"

/* ---- the fake host function: edu's shape (BAR0 of 4 KiB here, INTx pin
 * A, MSI), its configuration space in host_cfg ---- */

static uint8_t host_cfg[256];
static unsigned status_reads; /* host reads of the status register */
static bool edu_mmap;         /* BAR0 may be mapped */
static int intx_fd = -1;      /* what VFIO signals for INTx */
static atomic_uint unmasks;   /* vfio_intx_unmask calls */
static int unmask_fd = -1;    /* VFIO's INTx unmask eventfd */

/* The shared-BAR shape (shared.on): BAR0 of SH_BAR bytes, mmap allowed,
 * the sparse areas given (nareas 0: no capability), MSI-X with SH_VEC
 * vectors; its BAR accesses through pread/pwrite counted. */
#define SH_BAR   0x8000u
#define SH_TABLE 0x2000u
#define SH_PBA   0x5000u
#define SH_VEC   4u
static struct {
    bool on, mappable;
    bool pba2; /* the PBA alone at 0 of a 4 KiB BAR2, not in BAR0 */
    unsigned nareas;
    struct vfio_area areas[VFIO_AREAS_MAX];
    uint8_t mem[SH_BAR];
    unsigned preads, pwrites, whole_maps, part_maps;
    int msix_fd[SH_VEC]; /* what VFIO signals per vector */
} shared;

int vfio_find_by_id(uint16_t vid, uint16_t did, unsigned idx, char *bdf,
                    size_t len)
{
    (void)vid, (void)did, (void)idx;
    snprintf(bdf, len, "0000:00:01.0");
    return 0;
}

int vfio_open(struct vfio_dev *d, const char *bdf)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
    d->group_id = 1;
    d->container = d->group = d->fd = -1;
    d->regions[VFIO_PCI_REG_BAR0] = (struct vfio_region){
        .size = 4096, .readable = true, .writable = true, .mmap = edu_mmap};
    d->regions[VFIO_PCI_REG_CFG] =
        (struct vfio_region){.size = 256, .readable = true, .writable = true};
    d->irq_count[VFIO_IRQ_INTX] = 1;
    d->irq_count[VFIO_IRQ_MSI] = 1;
    if (shared.on) {
        struct vfio_region *r = &d->regions[VFIO_PCI_REG_BAR0];
        *r = (struct vfio_region){.size = SH_BAR,
                                  .readable = true,
                                  .writable = true,
                                  .mmap = true,
                                  .sparse = shared.nareas > 0,
                                  .msix_mappable = shared.mappable,
                                  .nareas = shared.nareas};
        memcpy(r->areas, shared.areas, sizeof(r->areas));
        d->irq_count[VFIO_IRQ_INTX] = 0;
        d->irq_count[VFIO_IRQ_MSI] = 0;
        d->irq_count[VFIO_IRQ_MSIX] = SH_VEC;
        if (shared.pba2)
            d->regions[VFIO_PCI_REG_BAR0 + 2] = (struct vfio_region){
                .size = 0x1000, .readable = true, .writable = true};
    }
    return 0;
}

void vfio_close(struct vfio_dev *d)
{
    (void)d;
}

int vfio_dma_map(struct vfio_dev *d, uint64_t iova, uint64_t size, void *hva)
{
    (void)d, (void)iova, (void)size, (void)hva;
    return 0;
}

int vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size)
{
    (void)d, (void)iova, (void)size;
    return 0;
}

int vfio_region_rw(struct vfio_dev *d, unsigned idx, uint64_t off, void *buf,
                   size_t len, bool write)
{
    (void)d;
    if (shared.on && idx == VFIO_PCI_REG_BAR0) {
        assert_true(off < SH_BAR && len <= SH_BAR - off);
        /* never the emulated table or PBA */
        assert_false(off < SH_TABLE + 16 * SH_VEC && SH_TABLE < off + len);
        assert_true(shared.pba2 || !(off < SH_PBA + 8 && SH_PBA < off + len));
        if (write)
            shared.pwrites++, memcpy(shared.mem + off, buf, len);
        else
            shared.preads++, memcpy(buf, shared.mem + off, len);
        return 0;
    }
    if (idx != VFIO_PCI_REG_CFG)
        return -EIO;
    assert_true(off + len <= sizeof(host_cfg));
    if (!write && off <= PCI_REG_STATUS && off + len > PCI_REG_STATUS)
        status_reads++;
    if (write)
        memcpy(host_cfg + off, buf, len);
    else
        memcpy(buf, host_cfg + off, len);
    return 0;
}

void *vfio_region_mmap(struct vfio_dev *d, unsigned idx)
{
    if (shared.on) {
        /* the table's pages only when VFIO says they may be mapped */
        assert_true(shared.mappable && !shared.nareas);
        shared.whole_maps++;
    }
    void *p = mmap(NULL, d->regions[idx].size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *vfio_region_mmap_at(struct vfio_dev *d, unsigned idx, uint64_t off,
                          uint64_t size)
{
    assert_true(shared.on && idx == VFIO_PCI_REG_BAR0);
    assert_true(off % 4096 == 0 && size % 4096 == 0 && size &&
                off + size <= d->regions[idx].size);
    /* inside a sparse area, and never the table's or PBA's page */
    bool in = !shared.nareas;
    for (unsigned k = 0; k < shared.nareas; k++)
        in |= off >= shared.areas[k].off &&
              off + size <= shared.areas[k].off + shared.areas[k].size;
    assert_true(in);
    assert_false(off <= SH_TABLE && SH_TABLE < off + size);
    assert_true(shared.pba2 || !(off <= SH_PBA && SH_PBA < off + size));
    shared.part_maps++;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int vfio_irq_set(struct vfio_dev *d, enum vfio_irq_kind kind, unsigned vec,
                 int fd)
{
    (void)d;
    if (kind == VFIO_IRQ_MSIX && vec < SH_VEC)
        shared.msix_fd[vec] = fd;
    if (kind == VFIO_IRQ_INTX)
        intx_fd = fd;
    return 0;
}

int vfio_irq_set_many(struct vfio_dev *d, enum vfio_irq_kind kind,
                      unsigned count, const int *fds)
{
    (void)d;
    for (unsigned i = 0; kind == VFIO_IRQ_MSIX && i < count && i < SH_VEC; i++)
        shared.msix_fd[i] = fds[i];
    return 0;
}

int vfio_intx_unmask(struct vfio_dev *d)
{
    (void)d;
    atomic_fetch_add(&unmasks, 1);
    return 0;
}

int vfio_intx_unmask_fd(struct vfio_dev *d, int fd)
{
    (void)d;
    unmask_fd = fd;
    return 0;
}

/* ---- the fake machine ---- */

static atomic_bool level_of[FAKE_IRQ_LINES];

static void sink(void *opaque, uint32_t n, bool level)
{
    (void)opaque;
    atomic_store(&level_of[n], level);
}

FAKE_IRQ(sink)

static int next_gsi = 24;
#define NGSI 64
static struct {
    bool valid;
    uint64_t addr;
    uint32_t data;
    int irqfd; /* the eventfd bound to it, or 0 */
} gsis[NGSI];

static int route_alloc(void *opaque)
{
    (void)opaque;
    return next_gsi < NGSI ? next_gsi++ : -ENOSPC;
}

static int route_set(void *opaque, int gsi, bool valid, uint64_t addr,
                     uint32_t data)
{
    (void)opaque;
    assert_true(gsi >= 0 && gsi < NGSI);
    gsis[gsi].valid = valid;
    gsis[gsi].addr = addr;
    gsis[gsi].data = data;
    return 0;
}

static int irqfd(void *opaque, int gsi, int fd, bool assign)
{
    (void)opaque;
    assert_true(gsi >= 0 && gsi < NGSI);
    gsis[gsi].irqfd = assign ? fd : 0;
    return 0;
}

/* The VM's memory slots (slot_new, slot_set). */
#define NSLOT 16
static struct {
    uint64_t gpa, size;
    void *hva;
} slots[NSLOT];
static int nslots;

static int slot_new(void *opaque)
{
    (void)opaque;
    return nslots < NSLOT ? nslots++ : -ENOSPC;
}

static int slot_set(void *opaque, int slot, uint64_t gpa, uint64_t size,
                    void *hva)
{
    (void)opaque;
    assert_true(slot >= 0 && slot < nslots);
    assert_true(gpa % 4096 == 0 && size % 4096 == 0);
    slots[slot].gpa = gpa;
    slots[slot].size = size;
    slots[slot].hva = size ? hva : NULL;
    return 0;
}

static int irqfd_resample(void *opaque, int gsi, int fd, int rfd, bool assign)
{
    (void)opaque, (void)gsi, (void)fd, (void)rfd, (void)assign;
    return 0;
}

static struct bus pio, mmio;

static uint32_t cfg_rd(unsigned dev, unsigned reg, unsigned size)
{
    uint32_t a = 0x80000000u | dev << 11 | (reg & 0xfc), v = 0;
    bus_access(&pio, 0xcf8, &a, 4, true);
    bus_access(&pio, 0xcfc + (reg & 3), &v, size, false);
    return v;
}

static void cfg_wr(unsigned dev, unsigned reg, uint32_t v, unsigned size)
{
    uint32_t a = 0x80000000u | dev << 11 | (reg & 0xfc);
    bus_access(&pio, 0xcf8, &a, 4, true);
    bus_access(&pio, 0xcfc + (reg & 3), &v, size, true);
}

/* The fake machine: the buses, an event loop (started by the tests that
 * need the I/O thread), the VM's callbacks (KVM's irqchip: irqfd with
 * resample; memory slots) and a spec with an IOAPIC; machine_pass then
 * realizes `pass loc pci:` of the fake host function at 00:01.0 (by its
 * IDs when by_id). Tests change m->ctx and host_cfg in between. */
struct machine {
    struct evloop *ev;
    struct dev_ctx ctx;
    struct vm_spec s;
    struct dev_list out;
};

static void machine_up(struct machine *m)
{
    fake_irq_reset();
    memset(slots, 0, sizeof(slots));
    memset(gsis, 0, sizeof(gsis));
    nslots = 0;
    memset(host_cfg, 0, sizeof(host_cfg));
    bus_init(&pio, "pio");
    bus_init(&mmio, "mmio");
    m->ev = ev_new();
    assert_non_null(m->ev);
    m->ctx = (struct dev_ctx){.pio = &pio,
                              .mmio = &mmio,
                              .ev = m->ev,
                              .irq_resolve = fake_irq_resolve,
                              .irq_isa = fake_irq_isa,
                              .msi_route_alloc = route_alloc,
                              .msi_route_set = route_set,
                              .irqfd = irqfd,
                              .irqfd_resample = irqfd_resample,
                              .slot_new = slot_new,
                              .slot_set = slot_set};
    spec_init(&m->s, ARCH_X86_64);
    m->s.has_pci = true;
    struct vdev_spec *vd = VEC_PUSH(&m->s.vdevs);
    assert_non_null(vd);
    vd->type = vdev_type_find("ioapic");
    assert_non_null(vd->type);
    m->out = (struct dev_list){0};
}

static void machine_pass(struct machine *m, bool by_id)
{
    m->ctx.pci = pci_bus_new(&m->ctx, false);
    assert_non_null(m->ctx.pci);
    struct pass_spec *ps = VEC_PUSH(&m->s.passes);
    assert_non_null(ps);
    struct loc *l = VEC_PUSH(&ps->locs);
    assert_non_null(l);
    *l = (struct loc){.space = SPACE_PCI,
                      .bdf = {0, 1, 0},
                      .by_id = by_id,
                      .vid = 0x1234,
                      .did = 0x11e8};
    assert_int_equal(vfio_pci_realize(&m->s, &m->ctx, &m->out), 0);
    assert_int_equal(m->out.v.n, 1);
    pci_bus_sync(m->ctx.pci);
}

/* machine_down: the I/O thread stopped and the devices torn down;
 * machine_free: the rest. */
static void machine_down(struct machine *m)
{
    ev_stop(m->ev);
    for (size_t i = 0; i < m->out.v.n; i++)
        m->out.v.v[i].teardown(m->out.v.v[i].state);
    m->out.v.n = 0;
}

static void machine_free(struct machine *m)
{
    machine_down(m);
    VEC_FREE(&m->out.v);
    pci_bus_free(m->ctx.pci);
    ev_free(m->ev);
    spec_free(&m->s);
    bus_destroy(&pio);
    bus_destroy(&mmio);
}

static void test_status_interrupt_bit(void **state)
{
    (void)state;
    struct machine m;
    machine_up(&m);
    /* edu: 1234:11e8, class 00ff, revision 0x10, pin A, status with its
     * capability list and fast back-to-back (0x0090). */
    host_cfg[0] = 0x34, host_cfg[1] = 0x12, host_cfg[2] = 0xe8;
    host_cfg[3] = 0x11, host_cfg[8] = 0x10, host_cfg[0x0a] = 0xff;
    host_cfg[PCI_REG_STATUS] = 0x90;
    host_cfg[0x3d] = 1;

    machine_pass(&m, true);
    assert_int_equal(cfg_rd(1, 0, 4), 0x11e81234);
    assert_int_equal(cfg_rd(1, 0x3d, 1), 1);

    /* The device does not interrupt: the bit is clear; qvm's own status
     * (its capability list) and not the host's other bits. */
    status_reads = 0;
    assert_int_equal(cfg_rd(1, PCI_REG_STATUS, 2), PCI_STATUS_CAPS);
    assert_true(status_reads > 0);
    /* It interrupts: the bit is set, in every width that covers it. */
    host_cfg[PCI_REG_STATUS] |= PCI_STATUS_INTX;
    assert_int_equal(cfg_rd(1, PCI_REG_STATUS, 2),
                     PCI_STATUS_CAPS | PCI_STATUS_INTX);
    assert_int_equal(cfg_rd(1, PCI_REG_STATUS, 1),
                     PCI_STATUS_CAPS | PCI_STATUS_INTX);
    assert_int_equal(cfg_rd(1, PCI_REG_CMD, 4) >> 16,
                     PCI_STATUS_CAPS | PCI_STATUS_INTX);
    /* The guest's handler acknowledged it in the device: clear again. */
    host_cfg[PCI_REG_STATUS] &= (uint8_t)~PCI_STATUS_INTX;
    assert_int_equal(cfg_rd(1, PCI_REG_STATUS, 2), PCI_STATUS_CAPS);
    /* Reads elsewhere do not go to the device's status register. */
    status_reads = 0;
    (void)cfg_rd(1, 0, 4);
    (void)cfg_rd(1, 0x10, 4);
    assert_int_equal(status_reads, 0);

    machine_free(&m);
}

static uint64_t mm(uint64_t addr, unsigned size)
{
    uint64_t v = 0;
    bus_access(&mmio, addr, &v, size, false);
    return v;
}

static void mw(uint64_t addr, uint64_t v, unsigned size)
{
    bus_access(&mmio, addr, &v, size, true);
}

/* The parts of the BAR expected in slots, in order. */
struct part {
    uint64_t off, size;
};

static void run_shared(unsigned nareas, const struct vfio_area *areas,
                       bool mappable, const struct part *want, int nwant)
{
    memset(&shared, 0, sizeof(shared));
    shared.on = true;
    shared.mappable = mappable;
    shared.nareas = nareas;
    if (nareas)
        memcpy(shared.areas, areas, nareas * sizeof(*areas));
    for (unsigned i = 0; i < SH_VEC; i++)
        shared.msix_fd[i] = -2;
    struct machine m;
    machine_up(&m);
    /* An NVMe-like function: registers, the table at 0x2000 and the PBA
     * at 0x5000 of BAR0 (32-bit memory), MSI-X capability at 0x40. */
    host_cfg[0] = 0x36, host_cfg[1] = 0x1b, host_cfg[2] = 0x10;
    host_cfg[3] = 0x00, host_cfg[0x0b] = 0x01, host_cfg[0x0a] = 0x08;
    host_cfg[PCI_REG_STATUS] = PCI_STATUS_CAPS;
    host_cfg[PCI_REG_CAP_PTR] = 0x40;
    host_cfg[0x40] = PCI_CAP_ID_MSIX;
    host_cfg[0x42] = SH_VEC - 1;
    host_cfg[0x44] = SH_TABLE & 0xff, host_cfg[0x45] = SH_TABLE >> 8;
    host_cfg[0x48] = SH_PBA & 0xff, host_cfg[0x49] = SH_PBA >> 8;

    machine_pass(&m, false);
    uint64_t base = cfg_rd(1, PCI_REG_BAR0, 4) & ~0xfull;
    assert_true(base >= 0xc0000000ull);
    assert_int_equal(cfg_rd(1, PCI_REG_CMD, 2) & PCI_CMD_MEM, PCI_CMD_MEM);

    /* The mmaps: the whole region only where VFIO allows the table's
     * pages, else one per part. */
    assert_int_equal(shared.whole_maps, mappable ? 1 : 0);
    assert_int_equal(shared.part_maps, mappable ? 0 : (unsigned)nwant);
    /* Every page without the table or PBA that VFIO lets us map is a
     * slot at the BAR's address; no other slot. */
    assert_int_equal(nslots, nwant);
    for (int k = 0; k < nwant; k++) {
        assert_int_equal(slots[k].gpa, base + want[k].off);
        assert_int_equal(slots[k].size, want[k].size);
        assert_non_null(slots[k].hva);
    }

    /* The guest's capability list: MSI-X with the host's layout. */
    unsigned cap = cfg_rd(1, PCI_REG_CAP_PTR, 1);
    while (cap && cfg_rd(1, cap, 1) != PCI_CAP_ID_MSIX)
        cap = cfg_rd(1, cap + 1, 1);
    assert_true(cap);
    assert_int_equal(cfg_rd(1, cap + 2, 2) & 0x7ff, SH_VEC - 1);
    assert_int_equal(cfg_rd(1, cap + 4, 4), SH_TABLE);
    assert_int_equal(cfg_rd(1, cap + 8, 4), SH_PBA);

    /* Registers next to the table and PBA, in their pages: the device's
     * (pread/pwrite), the table's bytes never (the fake asserts it). */
    memcpy(shared.mem + SH_TABLE + 0x100, "\x78\x56\x34\x12", 4);
    unsigned pr = shared.preads, pw = shared.pwrites;
    uint64_t rv = mm(base + SH_TABLE + 0x100, 4);
    mw(base + SH_PBA + 0x10, 0xabcd, 2);
    if (!mappable) {
        assert_int_equal(rv, 0x12345678);
        assert_int_equal(shared.mem[SH_PBA + 0x10], 0xcd);
        assert_int_equal(shared.preads, pr + 1);
        assert_int_equal(shared.pwrites, pw + 1);
    } else {
        /* through the region's mmap (the fake's is anonymous memory) */
        assert_int_equal(rv, 0);
        assert_int_equal(mm(base + SH_PBA + 0x10, 2), 0xabcd);
        assert_int_equal(shared.preads, pr);
    }
    /* The table: msix.c's (all vectors masked at reset), not the host's. */
    memset(shared.mem + SH_TABLE, 0xee, 64);
    assert_int_equal(mm(base + SH_TABLE + 12, 4), 1);
    assert_int_equal(mm(base + SH_TABLE, 4), 0);

    /* MSI-X on: VFIO gets an eventfd per vector. Vector 0 programmed and
     * unmasked: its KVM route is the message and VFIO signals its irqfd
     * straight. */
    cfg_wr(1, cap + 2, PCI_MSIX_ENABLE, 2);
    for (unsigned i = 0; i < SH_VEC; i++)
        assert_true(shared.msix_fd[i] >= 0);
    mw(base + SH_TABLE + 0, 0xfee01000, 4);
    mw(base + SH_TABLE + 4, 0, 4);
    mw(base + SH_TABLE + 8, 0x41, 4);
    mw(base + SH_TABLE + 12, 0, 4);
    /* An access straddling the table's start: the register bytes from
     * the device, the entry's from msix.c. */
    memcpy(shared.mem + SH_TABLE - 4, "\x44\x33\x22\x11", 4);
    assert_int_equal(mm(base + SH_TABLE - 4, 8),
                     0xfee0100000000000ull | (mappable ? 0 : 0x11223344));
    int g0 = -1, g1 = -1;
    for (int g = 0; g < NGSI; g++)
        if (gsis[g].irqfd == shared.msix_fd[0])
            g0 = g;
    assert_true(g0 >= 0);
    assert_true(gsis[g0].valid);
    assert_int_equal(gsis[g0].addr, 0xfee01000);
    assert_int_equal(gsis[g0].data, 0x41);
    /* Vector 1 programmed, still masked: the device's interrupt goes to
     * qvm (not an irqfd), which keeps it pending in the PBA. */
    mw(base + SH_TABLE + 16, 0xfee02000, 4);
    mw(base + SH_TABLE + 24, 0x42, 4);
    int fd1 = shared.msix_fd[1];
    for (int g = 0; g < NGSI; g++)
        if (gsis[g].irqfd == fd1)
            g1 = g;
    assert_int_equal(g1, -1);
    assert_int_equal(mm(base + SH_PBA, 8), 0);
    assert_int_equal(ev_start(m.ev), 0);
    uint64_t one = 1;
    assert_int_equal(write(fd1, &one, sizeof(one)), sizeof(one));
    /* the I/O thread relays it; bounded wait for a hang, not a window */
    for (int k = 0; k < 5000000 && !(mm(base + SH_PBA, 8) & 2); k++)
        sched_yield();
    assert_int_equal(mm(base + SH_PBA, 8), 2);
    /* Unmasked: delivered on its route (its irqfd), no longer pending,
     * and VFIO now signals that irqfd. */
    mw(base + SH_TABLE + 28, 0, 4);
    assert_int_equal(mm(base + SH_PBA, 8), 0);
    assert_true(shared.msix_fd[1] != fd1);
    for (int g = 0; g < NGSI; g++)
        if (gsis[g].irqfd == shared.msix_fd[1])
            g1 = g;
    assert_true(g1 >= 0);
    assert_int_equal(gsis[g1].addr, 0xfee02000);
    uint64_t n = 0;
    assert_int_equal(read(shared.msix_fd[1], &n, sizeof(n)), sizeof(n));
    assert_int_equal(n, 1);

    /* The BAR moved: every slot follows; memory decode off empties them,
     * on puts them back. */
    uint64_t nb = base + 0x100000;
    cfg_wr(1, PCI_REG_BAR0, (uint32_t)nb, 4);
    pci_bus_sync(m.ctx.pci);
    for (int k = 0; k < nwant; k++) {
        assert_int_equal(slots[k].gpa, nb + want[k].off);
        assert_int_equal(slots[k].size, want[k].size);
    }
    assert_int_equal(mm(nb + SH_TABLE + 16 + 8, 4), 0x42);
    uint32_t cmd = cfg_rd(1, PCI_REG_CMD, 2);
    cfg_wr(1, PCI_REG_CMD, cmd & ~PCI_CMD_MEM, 2);
    pci_bus_sync(m.ctx.pci);
    for (int k = 0; k < nwant; k++)
        assert_int_equal(slots[k].size, 0);
    cfg_wr(1, PCI_REG_CMD, cmd, 2);
    pci_bus_sync(m.ctx.pci);
    for (int k = 0; k < nwant; k++)
        assert_int_equal(slots[k].gpa, nb + want[k].off);

    machine_down(&m);
    for (int k = 0; k < nwant; k++)
        assert_int_equal(slots[k].size, 0);
    machine_free(&m);
    shared.on = false;
}

/* No sparse capability: every page but the table's and the PBA's. */
static void test_shared_msix_bar(void **state)
{
    (void)state;
    const struct part want[] = {{0, SH_TABLE},
                                {SH_TABLE + 0x1000, SH_PBA - SH_TABLE - 0x1000},
                                {SH_PBA + 0x1000, SH_BAR - SH_PBA - 0x1000}};
    run_shared(0, NULL, false, want, 3);
}

/* VFIO's sparse areas: only those, less the table's and PBA's pages, an
 * unaligned edge rounded inwards. */
static void test_shared_msix_bar_sparse(void **state)
{
    (void)state;
    const struct vfio_area areas[] = {
        {0, 0x1800}, {0x3000, 0x3000}, {0x7000, 0x1000}};
    const struct part want[] = {
        {0, 0x1000}, {0x3000, 0x2000}, {0x7000, 0x1000}};
    run_shared(3, areas, false, want, 3);
}

/* MSIX_MAPPABLE: one mmap of the region, the slots windows into it. */
static void test_shared_msix_bar_mappable(void **state)
{
    (void)state;
    const struct part want[] = {{0, SH_TABLE},
                                {SH_TABLE + 0x1000, SH_PBA - SH_TABLE - 0x1000},
                                {SH_PBA + 0x1000, SH_BAR - SH_PBA - 0x1000}};
    run_shared(0, NULL, true, want, 3);
}

/* The table in BAR0 (shared with registers), the PBA alone in BAR2: the
 * capability names both BARs, BAR0's pages but the table's are slots (the
 * PBA's offset there is the device's), BAR2 is pci.c's whole, and a
 * masked vector's interrupt is pending in BAR2's PBA. */
static void test_msix_table_pba_two_bars(void **state)
{
    (void)state;
    memset(&shared, 0, sizeof(shared));
    shared.on = shared.pba2 = true;
    for (unsigned i = 0; i < SH_VEC; i++)
        shared.msix_fd[i] = -2;
    struct machine m;
    machine_up(&m);
    host_cfg[0] = 0x86, host_cfg[1] = 0x80, host_cfg[2] = 0xd3;
    host_cfg[3] = 0x10, host_cfg[0x0b] = 0x02;
    host_cfg[PCI_REG_STATUS] = PCI_STATUS_CAPS;
    host_cfg[PCI_REG_CAP_PTR] = 0x40;
    host_cfg[0x40] = PCI_CAP_ID_MSIX;
    host_cfg[0x42] = SH_VEC - 1;
    host_cfg[0x44] = SH_TABLE & 0xff, host_cfg[0x45] = SH_TABLE >> 8;
    host_cfg[0x48] = 2; /* PBA at 0 of BAR2 */
    machine_pass(&m, false);
    uint64_t base = cfg_rd(1, PCI_REG_BAR0, 4) & ~0xfull;
    uint64_t base2 = cfg_rd(1, PCI_REG_BAR0 + 8, 4) & ~0xfull;
    assert_true(base2 >= 0xc0000000ull && base2 != base);
    /* the capability: the host's layout, both BARs */
    unsigned cap = cfg_rd(1, PCI_REG_CAP_PTR, 1);
    while (cap && cfg_rd(1, cap, 1) != PCI_CAP_ID_MSIX)
        cap = cfg_rd(1, cap + 1, 1);
    assert_true(cap);
    assert_int_equal(cfg_rd(1, cap + 4, 4), SH_TABLE | 0);
    assert_int_equal(cfg_rd(1, cap + 8, 4), 0 | 2);
    /* BAR0: every page but the table's in slots; BAR2: none */
    assert_int_equal(nslots, 2);
    assert_int_equal(slots[0].gpa, base);
    assert_int_equal(slots[0].size, SH_TABLE);
    assert_int_equal(slots[1].gpa, base + SH_TABLE + 0x1000);
    assert_int_equal(slots[1].size, SH_BAR - SH_TABLE - 0x1000);
    /* BAR0's table is msix.c's; BAR2 reads the PBA (zero) and nothing
     * reaches the device there */
    assert_int_equal(mm(base + SH_TABLE + 12, 4), 1);
    unsigned pr = shared.preads, pw = shared.pwrites;
    mw(base2, ~0ull, 8);
    assert_int_equal(mm(base2, 8), 0);
    assert_int_equal(mm(base2 + 0x100, 4), 0);
    assert_int_equal(shared.preads, pr);
    assert_int_equal(shared.pwrites, pw);
    /* MSI-X on, vector 1 programmed and masked: the device's interrupt is
     * pending in BAR2's PBA, delivered at the unmask */
    cfg_wr(1, cap + 2, PCI_MSIX_ENABLE, 2);
    mw(base + SH_TABLE + 16, 0xfee02000, 4);
    mw(base + SH_TABLE + 24, 0x42, 4);
    int fd1 = shared.msix_fd[1];
    assert_true(fd1 >= 0);
    assert_int_equal(ev_start(m.ev), 0);
    uint64_t one = 1;
    assert_int_equal(write(fd1, &one, sizeof(one)), sizeof(one));
    for (int k = 0; k < 5000000 && !(mm(base2, 8) & 2); k++)
        sched_yield();
    assert_int_equal(mm(base2, 8), 2);
    mw(base + SH_TABLE + 28, 0, 4);
    assert_int_equal(mm(base2, 8), 0);

    machine_free(&m);
    shared.on = shared.pba2 = false;
}

/* ---- INTx on the split irqchip ---- */

static int no_resample(void *opaque, int gsi, int fd, int rfd, bool assign)
{
    (void)opaque, (void)gsi, (void)fd, (void)rfd, (void)assign;
    return -EINVAL; /* KVM's split irqchip */
}

static struct {
    int64_t gsi;
    int fd;
    unsigned calls;
} eoi_hook;

static int irq_eoi_fd(void *opaque, int64_t gsi, int fd)
{
    (void)opaque;
    eoi_hook.gsi = gsi;
    eoi_hook.fd = fd;
    eoi_hook.calls++;
    return 0;
}

/* wait (bounded: for a hang, not a window) until the I/O thread made it */
#define WAIT_UNTIL(c)                                                          \
    for (int k_ = 0; k_ < 5000000 && !(c); k_++)                               \
    sched_yield()

static void run_intx_split(bool hook)
{
    memset(&eoi_hook, 0, sizeof(eoi_hook));
    for (unsigned i = 0; i < FAKE_IRQ_LINES; i++)
        atomic_store(&level_of[i], false);
    intx_fd = unmask_fd = -1;
    edu_mmap = true;
    struct machine m;
    machine_up(&m);
    m.ctx.irqfd_resample = no_resample;
    m.ctx.irq_eoi_fd = hook ? irq_eoi_fd : NULL;
    host_cfg[0] = 0x34, host_cfg[1] = 0x12, host_cfg[2] = 0xe8;
    host_cfg[3] = 0x11, host_cfg[0x3d] = 1;
    machine_pass(&m, false);
    uint64_t base = cfg_rd(1, PCI_REG_BAR0, 4) & ~0xfull;
    unsigned line = cfg_rd(1, 0x3c, 1);
    assert_true(line < FAKE_IRQ_LINES);
    assert_true(intx_fd >= 0);
    if (hook) {
        /* the hook on the function's line; BAR0 in a slot at its address */
        assert_int_equal(eoi_hook.calls, 1);
        assert_int_equal(eoi_hook.gsi, line);
        assert_true(eoi_hook.fd >= 0);
        assert_int_equal(nslots, 1);
        assert_int_equal(slots[0].gpa, base);
        assert_int_equal(slots[0].size, 4096);
    } else {
        /* trapped: no slot holds it */
        for (int k = 0; k < nslots; k++)
            assert_int_equal(slots[k].size, 0);
    }

    assert_int_equal(ev_start(m.ev), 0);
    /* The host function interrupts: the guest line goes up. */
    uint64_t one = 1;
    unsigned u0 = atomic_load(&unmasks);
    assert_int_equal(write(intx_fd, &one, sizeof(one)), sizeof(one));
    WAIT_UNTIL(atomic_load(&level_of[line]));
    assert_true(atomic_load(&level_of[line]));
    /* The guest's handler reads the device. */
    (void)mm(base, 4);
    if (hook) {
        /* a BAR access (one that exits) changes nothing: the EOI does */
        assert_true(atomic_load(&level_of[line]));
        assert_int_equal(atomic_load(&unmasks), u0);
        assert_int_equal(write(eoi_hook.fd, &one, sizeof(one)), sizeof(one));
        /* the I/O thread unmasks through VFIO's unmask eventfd, not an
         * ioctl (its seccomp filter has none) */
        assert_true(unmask_fd >= 0);
        uint64_t n = 0;
        WAIT_UNTIL(read(unmask_fd, &n, sizeof(n)) == sizeof(n));
        assert_int_equal(n, 1);
        assert_int_equal(atomic_load(&unmasks), u0);
    } else {
        assert_int_equal(atomic_load(&unmasks), u0 + 1);
    }
    /* lowered and the host line unmasked, once */
    assert_false(atomic_load(&level_of[line]));
    /* A second interrupt after the unmask goes up again. */
    assert_int_equal(write(intx_fd, &one, sizeof(one)), sizeof(one));
    WAIT_UNTIL(atomic_load(&level_of[line]));
    assert_true(atomic_load(&level_of[line]));

    int fd = eoi_hook.fd;
    machine_down(&m);
    if (hook) {
        /* unhooked at teardown, and its eventfd closed */
        assert_int_equal(eoi_hook.calls, 2);
        assert_int_equal(eoi_hook.fd, -1);
        assert_int_equal(fcntl(fd, F_GETFD), -1);
    }
    machine_free(&m);
    edu_mmap = false;
}

static void test_intx_split_eoi_hook(void **state)
{
    (void)state;
    run_intx_split(true);
}

static void test_intx_split_bar_access(void **state)
{
    (void)state;
    run_intx_split(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_interrupt_bit),
        cmocka_unit_test(test_shared_msix_bar),
        cmocka_unit_test(test_shared_msix_bar_sparse),
        cmocka_unit_test(test_shared_msix_bar_mappable),
        cmocka_unit_test(test_msix_table_pba_two_bars),
        cmocka_unit_test(test_intx_split_eoi_hook),
        cmocka_unit_test(test_intx_split_bar_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

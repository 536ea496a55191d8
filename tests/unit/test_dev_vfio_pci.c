/*
 * test_dev_vfio_pci.c: devices/vfio_pci.c's configuration space over a
 * fake VFIO device (hv/vfio.h's functions defined here, so that hv/vfio.c
 * is not linked): the status register's Interrupt Status bit is the
 * device's, read on each guest read of the status register (Linux's
 * pci_check_and_mask_intx, uio_pci_generic's handler, tells by it whether
 * the function interrupted; with KVM's resample irqfd qvm never drives
 * the line itself), and no other host status bit shows. The VFIO ioctls
 * themselves run in the IOMMU lab (tests/vm/cases/vfio-edu.sh,
 * tests/realguests/cases/linux-vfio-edu.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "fake_irq.h"
#include "config/schema.h"
#include "devices/pci.h"
#include "devices/vfio_pci.h"
#include "hv/vfio.h"

/* ---- the fake host function: edu's shape (BAR0 of 4 KiB here, INTx pin
 * A, MSI), its configuration space in host_cfg ---- */

static uint8_t host_cfg[256];
static unsigned status_reads; /* host reads of the status register */

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
    d->regions[VFIO_PCI_REG_BAR0] =
        (struct vfio_region){.size = 4096, .readable = true, .writable = true};
    d->regions[VFIO_PCI_REG_CFG] =
        (struct vfio_region){.size = 256, .readable = true, .writable = true};
    d->irq_count[VFIO_IRQ_INTX] = 1;
    d->irq_count[VFIO_IRQ_MSI] = 1;
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
    void *p = mmap(NULL, d->regions[idx].size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int vfio_irq_set(struct vfio_dev *d, enum vfio_irq_kind kind, unsigned vec,
                 int fd)
{
    (void)d, (void)kind, (void)vec, (void)fd;
    return 0;
}

int vfio_irq_set_many(struct vfio_dev *d, enum vfio_irq_kind kind,
                      unsigned count, const int *fds)
{
    (void)d, (void)kind, (void)count, (void)fds;
    return 0;
}

int vfio_intx_unmask(struct vfio_dev *d)
{
    (void)d;
    return 0;
}

int vfio_intx_unmask_fd(struct vfio_dev *d, int fd)
{
    (void)d, (void)fd;
    return 0;
}

/* ---- the fake machine ---- */

static void sink(void *opaque, uint32_t n, bool level)
{
    (void)opaque, (void)n, (void)level;
}

FAKE_IRQ(sink)

static int next_gsi = 24;

static int route_alloc(void *opaque)
{
    (void)opaque;
    return next_gsi++;
}

static int route_set(void *opaque, int gsi, bool valid, uint64_t addr,
                     uint32_t data)
{
    (void)opaque, (void)gsi, (void)valid, (void)addr, (void)data;
    return 0;
}

static int irqfd(void *opaque, int gsi, int fd, bool assign)
{
    (void)opaque, (void)gsi, (void)fd, (void)assign;
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

static void test_status_interrupt_bit(void **state)
{
    (void)state;
    fake_irq_reset();
    bus_init(&pio, "pio");
    bus_init(&mmio, "mmio");
    struct dev_ctx ctx = {.pio = &pio,
                          .mmio = &mmio,
                          .irq_resolve = fake_irq_resolve,
                          .irq_isa = fake_irq_isa,
                          .msi_route_alloc = route_alloc,
                          .msi_route_set = route_set,
                          .irqfd = irqfd,
                          .irqfd_resample = irqfd_resample};
    ctx.pci = pci_bus_new(&ctx, false);
    assert_non_null(ctx.pci);
    /* edu: 1234:11e8, class 00ff, revision 0x10, pin A, status with its
     * capability list and fast back-to-back (0x0090). */
    memset(host_cfg, 0, sizeof(host_cfg));
    host_cfg[0] = 0x34, host_cfg[1] = 0x12, host_cfg[2] = 0xe8;
    host_cfg[3] = 0x11, host_cfg[8] = 0x10, host_cfg[0x0a] = 0xff;
    host_cfg[PCI_REG_STATUS] = 0x90;
    host_cfg[0x3d] = 1;

    struct vm_spec s;
    spec_init(&s, ARCH_X86_64);
    s.has_pci = true;
    struct vdev_spec *vd = VEC_PUSH(&s.vdevs);
    assert_non_null(vd);
    vd->type = vdev_type_find("ioapic");
    assert_non_null(vd->type);
    struct pass_spec *ps = VEC_PUSH(&s.passes);
    assert_non_null(ps);
    struct loc *l = VEC_PUSH(&ps->locs);
    assert_non_null(l);
    *l = (struct loc){.space = SPACE_PCI,
                      .bdf = {0, 1, 0},
                      .by_id = true,
                      .vid = 0x1234,
                      .did = 0x11e8};
    struct dev_list out = {0};
    assert_int_equal(vfio_pci_realize(&s, &ctx, &out), 0);
    assert_int_equal(out.v.n, 1);
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

    for (size_t i = 0; i < out.v.n; i++)
        out.v.v[i].teardown(out.v.v[i].state);
    VEC_FREE(&out.v);
    pci_bus_free(ctx.pci);
    spec_free(&s);
    bus_destroy(&pio);
    bus_destroy(&mmio);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_interrupt_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_dev_pci.c: the PCI bus model (src/devices/pci.c) through the
 * port-I/O and MMIO buses: configuration mechanism #1 at every width, the
 * host bridge, no-device reads, BAR sizing (32-bit and 64-bit memory, I/O),
 * BAR moves and decode enables remapping the region, ECAM agreeing with
 * 0xcf8/0xcfc, the 0xcf9 reset, malformed accesses, and pci_realize from a
 * spec (identity, BARs, INTx, pci-dummy presets; the stub without PCI).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/schema.h"
#include "devices/pci.h"

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct pci_bus *pci;
    struct pci_function f;
    unsigned stops;
    enum vm_stop why;
    unsigned bar_reads;
};

static void fake_irq(void *opaque, uint32_t gsi, bool level)
{
    (void)opaque, (void)gsi, (void)level;
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
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_set = fake_irq,
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
    bus_init(&e.pio, "pio");
    bus_init(&e.mmio, "mmio");
    e.ctx = (struct dev_ctx){.pio = &e.pio,
                             .mmio = &e.mmio,
                             .irq_set = fake_irq,
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
    struct dev_list l = {0};
    assert_int_equal(pci_realize(&s, &e.ctx, &l), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_widths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bar_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecam_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test(test_realize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

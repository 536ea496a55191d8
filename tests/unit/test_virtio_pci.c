/*
 * test_virtio_pci.c: the virtio PCI transport (src/virtio/virtio_pci.c) on
 * the real PCI bus model, driven as a guest driver would (virtio 1.2,
 * 4.1): the capabilities found through 0xcf8/0xcfc (and ECAM), feature
 * negotiation through the common configuration, queue configuration rules,
 * reset, notifications (doorbell writes and KVM ioeventfds, moved with
 * BAR4), INTx with the read-to-clear ISR, MSI-X vectors, the device
 * configuration, the PCI configuration access window, the legacy 0.9.5
 * interface in BAR0, and malicious accesses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/schema.h"
#include "devices/pci.h"
#include "virtio_fake.h"

#define DEV      3
#define GSI      11
#define BAR1     0xc0000000ull
#define BAR4     0xc0004000ull
#define BAR4_NEW 0xc0100000ull
#define BAR0     0xc000u
#define BAR0_NEW 0xc100u
#define NVEC     3

/* Common configuration (4.1.4.3). */
#define CC_DFSELECT 0x00
#define CC_DF       0x04
#define CC_GFSELECT 0x08
#define CC_GF       0x0c
#define CC_MSIX     0x10
#define CC_NUMQ     0x12
#define CC_STATUS   0x14
#define CC_CFGGEN   0x15
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE   0x18
#define CC_Q_MSIX   0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF   0x1e
#define CC_Q_DESC   0x20
#define CC_Q_DRIVER 0x28
#define CC_Q_DEVICE 0x30
#define NO_VECTOR   VIRTIO_MSI_NO_VECTOR

#define S_ACK  VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV  VIRTIO_STATUS_DRIVER
#define S_FOK  VIRTIO_STATUS_FEATURES_OK
#define S_DOK  VIRTIO_STATUS_DRIVER_OK
#define S_NRST VIRTIO_STATUS_NEEDS_RESET

static const struct vdev_type vt_fake = {.name = "virtio-fake"};

/* What the driver found in the capabilities. */
struct caps {
    uint64_t bar4;
    uint32_t common, common_len, notify, notify_len, mult, isr, device,
        device_len;
    unsigned pcicfg, msix;
    unsigned ncommon, nnotify, nisr, ndevice, npcicfg;
};

struct t {
    struct fvm v;
    struct pci_bus *pci;
    struct fdev *f;
    struct vdev_spec vd;
    struct caps c;
};

/* ---- configuration space through 0xcf8/0xcfc ---------------------------- */

static uint32_t cfg_read(struct t *t, unsigned off, unsigned size)
{
    g_write(&t->v, true, 0xcf8, 0x80000000u | DEV << 11 | (off & 0xfc), 4);
    return (uint32_t)g_read(&t->v, true, 0xcfc + (off & 3), size);
}

static void cfg_write(struct t *t, unsigned off, uint32_t val, unsigned size)
{
    g_write(&t->v, true, 0xcf8, 0x80000000u | DEV << 11 | (off & 0xfc), 4);
    g_write(&t->v, true, 0xcfc + (off & 3), val, size);
}

static void find_caps(struct t *t)
{
    struct caps *c = &t->c;
    memset(c, 0, sizeof(*c));
    assert_true(cfg_read(t, 0x06, 2) & 0x10); /* capabilities list */
    unsigned p = cfg_read(t, 0x34, 1);
    for (unsigned n = 0; p && n < 48; n++) {
        assert_int_equal(p & 3, 0);
        unsigned id = cfg_read(t, p, 1);
        if (id == PCI_CAP_ID_MSIX) {
            c->msix = p;
        } else if (id == PCI_CAP_ID_VNDR) {
            unsigned type = cfg_read(t, p + 3, 1);
            unsigned bar = cfg_read(t, p + 4, 1);
            uint32_t off = cfg_read(t, p + 8, 4);
            uint32_t len = cfg_read(t, p + 12, 4);
            assert_true(cfg_read(t, p + 2, 1) >= 16);
            if (type != 5)
                assert_int_equal(bar, 4);
            switch (type) {
            case 1:
                c->common = off, c->common_len = len, c->ncommon++;
                break;
            case 2:
                c->notify = off, c->notify_len = len, c->nnotify++;
                c->mult = cfg_read(t, p + 16, 4);
                assert_int_equal(cfg_read(t, p + 2, 1), 20);
                break;
            case 3:
                c->isr = off, c->nisr++;
                break;
            case 4:
                c->device = off, c->device_len = len, c->ndevice++;
                break;
            case 5:
                c->pcicfg = p, c->npcicfg++;
                assert_int_equal(cfg_read(t, p + 2, 1), 20);
                break;
            default:
                fail_msg("unknown virtio capability type %u", type);
            }
        }
        p = cfg_read(t, p + 1, 1);
    }
    c->bar4 =
        (uint64_t)cfg_read(t, 0x24, 4) << 32 | (cfg_read(t, 0x20, 4) & ~0xfu);
}

/* ---- the registers ------------------------------------------------------ */

static uint64_t cc_rd(struct t *t, unsigned off, unsigned size)
{
    return g_read(&t->v, false, t->c.bar4 + t->c.common + off, size);
}

static void cc_wr(struct t *t, unsigned off, uint64_t val, unsigned size)
{
    g_write(&t->v, false, t->c.bar4 + t->c.common + off, val, size);
}

static uint8_t isr_rd(struct t *t)
{
    return (uint8_t)g_read(&t->v, false, t->c.bar4 + t->c.isr, 1);
}

static void doorbell(struct t *t, unsigned q)
{
    uint16_t noff;
    cc_wr(t, CC_Q_SELECT, q, 2);
    noff = (uint16_t)cc_rd(t, CC_Q_NOFF, 2);
    g_write(&t->v, false, t->c.bar4 + t->c.notify + noff * t->c.mult, q, 2);
}

static void build(struct t *t, bool legacy, bool kvm, bool any_len)
{
    fvm_init(&t->v);
    t->v.kvm_ioeventfd = kvm;
    t->v.no_any_len = !any_len;
    t->pci = pci_bus_new(&t->v.ctx, true);
    assert_non_null(t->pci);
    t->v.ctx.pci = t->pci;
    t->f = fdev_new(&t->v, VIRTIO_ID_RNG);
    struct vdev_spec *vd = &t->vd;
    vd->type = &vt_fake;
    vd->is_pci = true;
    vd->has_loc = true;
    vd->loc.space = SPACE_PCI;
    vd->pci.bdf = (struct bdf){0, DEV, 0};
    vd->pci.vendor = 0x1af4;
    vd->pci.device = legacy ? 0x1005 : 0x1044;
    vd->pci.class_code = 0x00ff;
    vd->pci.bars[1] = (struct bar){BAR_MEM32, BAR1, 0x1000, "msi-x"};
    vd->pci.bars[4] = (struct bar){BAR_MEM64, BAR4, 0x4000, "virtio"};
    if (legacy)
        vd->pci.bars[0] = (struct bar){BAR_IO, BAR0, 0x80, "legacy"};
    vd->pci.intx_pin = 1;
    vd->pci.intx.line = GSI;
    vd->pci.msix_vectors = NVEC;
    t->f->d.legacy = legacy;
    assert_int_equal(virtio_pci_attach(&t->f->d, vd, &t->v.ctx), 0);
    pci_bus_sync(t->pci);
    find_caps(t);
}

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    build(t, false, false, false);
    *state = t;
    return 0;
}

static int setup_kvm(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    build(t, false, true, true);
    *state = t;
    return 0;
}

static int setup_kvm16(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    build(t, false, true, false);
    *state = t;
    return 0;
}

static int setup_legacy(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    build(t, true, true, true);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    fdev_free(&t->v, t->f);
    assert_int_equal(fvm_nioev(&t->v), 0); /* every ioeventfd removed */
    assert_false(t->v.level[GSI]);
    pci_bus_free(t->pci);
    fvm_free(&t->v);
    free(t);
    return 0;
}

static uint64_t dev_features(struct t *t)
{
    cc_wr(t, CC_DFSELECT, 0, 4);
    uint64_t lo = cc_rd(t, CC_DF, 4);
    cc_wr(t, CC_DFSELECT, 1, 4);
    return cc_rd(t, CC_DF, 4) << 32 | lo;
}

static void drv_features(struct t *t, uint64_t f)
{
    cc_wr(t, CC_GFSELECT, 0, 4);
    cc_wr(t, CC_GF, (uint32_t)f, 4);
    cc_wr(t, CC_GFSELECT, 1, 4);
    cc_wr(t, CC_GF, f >> 32, 4);
}

static void setup_queue(struct t *t, unsigned q, const struct ring *r,
                        uint16_t vector)
{
    cc_wr(t, CC_Q_SELECT, q, 2);
    assert_int_equal(cc_rd(t, CC_Q_ENABLE, 2), 0);
    cc_wr(t, CC_Q_SIZE, r->size, 2);
    assert_int_equal(cc_rd(t, CC_Q_SIZE, 2), r->size);
    cc_wr(t, CC_Q_MSIX, vector, 2);
    /* Linux writes the 64-bit addresses as two halves; both work. */
    cc_wr(t, CC_Q_DESC, (uint32_t)r->desc, 4);
    cc_wr(t, CC_Q_DESC + 4, r->desc >> 32, 4);
    cc_wr(t, CC_Q_DRIVER, r->avail, 8);
    cc_wr(t, CC_Q_DEVICE, (uint32_t)r->used, 4);
    cc_wr(t, CC_Q_DEVICE + 4, r->used >> 32, 4);
    assert_int_equal(cc_rd(t, CC_Q_DESC, 8), r->desc);
    assert_int_equal(cc_rd(t, CC_Q_DRIVER, 4), (uint32_t)r->avail);
    cc_wr(t, CC_Q_ENABLE, 1, 2);
    assert_int_equal(cc_rd(t, CC_Q_ENABLE, 2), 1);
}

static void driver_init(struct t *t, uint64_t feat, struct ring *r0,
                        struct ring *r1, uint16_t v0, uint16_t v1)
{
    cc_wr(t, CC_STATUS, 0, 1);
    cc_wr(t, CC_STATUS, S_ACK, 1);
    cc_wr(t, CC_STATUS, S_ACK | S_DRV, 1);
    assert_true((dev_features(t) & feat) == feat);
    drv_features(t, feat);
    cc_wr(t, CC_STATUS, S_ACK | S_DRV | S_FOK, 1);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK | S_DRV | S_FOK);
    assert_int_equal(cc_rd(t, CC_NUMQ, 2), 2);
    *r0 = ring_at(0x10000, 8);
    *r1 = ring_at(0x20000, 4);
    setup_queue(t, 0, r0, v0);
    setup_queue(t, 1, r1, v1);
    cc_wr(t, CC_STATUS, S_ACK | S_DRV | S_FOK | S_DOK, 1);
}

/* MSI-X on, entries 0..NVEC-1 unmasked: address 0xfee0k000, data 0x4k. */
static void msix_on(struct t *t)
{
    unsigned c = t->c.msix;
    assert_int_not_equal(c, 0);
    for (unsigned k = 0; k < NVEC; k++) {
        uint64_t e = BAR1 + 16 * k;
        g_write(&t->v, false, e, 0xfee00000u + (k << 12), 4);
        g_write(&t->v, false, e + 4, 0, 4);
        g_write(&t->v, false, e + 8, 0x40 + k, 4);
        g_write(&t->v, false, e + 12, 0, 4); /* unmasked */
    }
    cfg_write(t, c + 2, 0x8000, 2);
}

/* ---- tests -------------------------------------------------------------- */

static void identity_caps(void **state)
{
    struct t *t = *state;
    assert_int_equal(cfg_read(t, 0x00, 2), 0x1af4);
    assert_int_equal(cfg_read(t, 0x02, 2), 0x1044);
    assert_int_equal(cfg_read(t, 0x08, 1), 1); /* revision 1: modern */
    assert_int_equal(cfg_read(t, 0x2c, 2), 0x1af4);
    assert_true(cfg_read(t, 0x2e, 2) >= 0x40);
    assert_int_equal(cfg_read(t, 0x3d, 1), 1); /* INTA */
    /* ECAM sees the same function. */
    uint64_t ecam = PCI_ECAM_BASE + ((uint64_t)DEV << 15);
    assert_int_equal(g_read(&t->v, false, ecam, 4), 0x10441af4);
    struct caps *c = &t->c;
    assert_int_equal(c->ncommon, 1);
    assert_int_equal(c->nnotify, 1);
    assert_int_equal(c->nisr, 1);
    assert_int_equal(c->ndevice, 1);
    assert_int_equal(c->npcicfg, 1);
    assert_int_equal(c->bar4, BAR4);
    assert_true(c->common_len >= 0x38);
    assert_int_equal(c->mult, 4);
    assert_true(c->notify_len >= 2 * c->mult);
    assert_int_equal(c->device_len, 8);
    /* The structures do not overlap and lie inside BAR4. */
    assert_true(c->common + c->common_len <= 0x4000);
    assert_true(c->device + c->device_len <= 0x4000);
    assert_true(c->notify + c->notify_len <= 0x4000);
    assert_true(c->isr != c->common && c->isr != c->device &&
                c->isr != c->notify);
    /* MSI-X: NVEC vectors, table at BAR1+0, PBA at BAR1+0x800. */
    assert_int_equal(cfg_read(t, c->msix + 2, 2) & 0x7ff, NVEC - 1);
    assert_int_equal(cfg_read(t, c->msix + 4, 4), 1);
    assert_int_equal(cfg_read(t, c->msix + 8, 4), 0x800 | 1);
    /* The device configuration through BAR4. */
    uint64_t dc = c->bar4 + c->device;
    assert_int_equal(g_read(&t->v, false, dc, 1), 0x10);
    assert_int_equal(g_read(&t->v, false, dc + 2, 2), 0x1312);
    assert_int_equal(g_read(&t->v, false, dc + 4, 4), 0x17161514);
    assert_int_equal(g_read(&t->v, false, dc, 8), 0x1716151413121110ull);
    assert_int_equal(g_read(&t->v, false, dc + 6, 4), 0); /* past the end */
    g_write(&t->v, false, dc + 6, 0xbeef, 2);
    assert_int_equal(t->f->cfg[7], 0xbe);
    g_write(&t->v, false, dc + 7, 0xffff, 2); /* past the end: dropped */
    assert_int_equal(t->f->cfg[7], 0xbe);
}

static void full_init(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    uint64_t f = dev_features(t);
    assert_true(f & F_DEV);
    assert_true(f & F_VERSION_1);
    assert_true(f & (1ull << VIRTIO_F_INDIRECT_DESC));
    assert_true(f & (1ull << VIRTIO_F_EVENT_IDX));
    assert_true(f & (1ull << VIRTIO_F_RING_PACKED));
    cc_wr(t, CC_DFSELECT, 2, 4);
    assert_int_equal(cc_rd(t, CC_DF, 4), 0);
    uint64_t feat = F_VERSION_1 | F_DEV;
    driver_init(t, feat, &r0, &r1, NO_VECTOR, NO_VECTOR);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK | S_DRV | S_FOK | S_DOK);
    assert_int_equal(t->f->activations, 1);
    assert_int_equal(t->f->act_features, feat);
    cc_wr(t, CC_GFSELECT, 1, 4);
    assert_int_equal(cc_rd(t, CC_GF, 4), 1); /* VERSION_1 */
    for (unsigned q = 0; q < 2; q++) {
        cc_wr(t, CC_Q_SELECT, q, 2);
        assert_int_equal(cc_rd(t, CC_Q_NOFF, 2), q);
        assert_true(vq_ready(&t->f->d.vq[q]));
    }
    assert_int_equal(t->f->d.vq[0].desc_gpa, r0.desc);
    assert_int_equal(t->f->d.vq[0].driver_gpa, r0.avail);
    assert_int_equal(t->f->d.vq[0].device_gpa, r0.used);
    assert_int_equal(t->f->d.vq[1].size, 4);
}

static void refusals(void **state)
{
    struct t *t = *state;
    cc_wr(t, CC_STATUS, S_ACK | S_DRV, 1);
    drv_features(t, F_DEV); /* no VERSION_1 on the modern interface */
    cc_wr(t, CC_STATUS, S_ACK | S_DRV | S_FOK, 1);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK | S_DRV);
    drv_features(t, F_VERSION_1 | (1ull << 3)); /* not offered */
    cc_wr(t, CC_STATUS, S_ACK | S_DRV | S_FOK, 1);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK | S_DRV);
    cc_wr(t, CC_STATUS, S_ACK | S_DRV | S_FOK | S_DOK, 1);
    assert_int_equal(t->f->activations, 0);
    assert_false(cc_rd(t, CC_STATUS, 1) & S_DOK);
}

static void queue_rules(void **state)
{
    struct t *t = *state;
    cc_wr(t, CC_STATUS, S_ACK | S_DRV, 1);
    drv_features(t, F_VERSION_1);
    cc_wr(t, CC_STATUS, S_ACK | S_DRV | S_FOK, 1);
    cc_wr(t, CC_Q_SELECT, 0, 2);
    assert_int_equal(cc_rd(t, CC_Q_SIZE, 2), FAKE_Q0_MAX); /* reset value */
    cc_wr(t, CC_Q_SIZE, 64, 2);
    cc_wr(t, CC_Q_SIZE, 0, 2);
    cc_wr(t, CC_Q_SIZE, 100, 2);
    cc_wr(t, CC_Q_SIZE, 1024, 2);
    assert_int_equal(cc_rd(t, CC_Q_SIZE, 2), 64);
    /* Vectors: one the function has, one it has not. */
    cc_wr(t, CC_Q_MSIX, 2, 2);
    assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), 2);
    cc_wr(t, CC_Q_MSIX, NVEC, 2);
    assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), NO_VECTOR);
    cc_wr(t, CC_MSIX, 1, 2);
    assert_int_equal(cc_rd(t, CC_MSIX, 2), 1);
    cc_wr(t, CC_MSIX, 0x7ff, 2);
    assert_int_equal(cc_rd(t, CC_MSIX, 2), NO_VECTOR);
    /* queue_select out of range. */
    cc_wr(t, CC_Q_SELECT, 2, 2);
    assert_int_equal(cc_rd(t, CC_Q_SELECT, 2), 2);
    assert_int_equal(cc_rd(t, CC_Q_SIZE, 2), 0);
    assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), NO_VECTOR);
    assert_int_equal(cc_rd(t, CC_Q_ENABLE, 2), 0);
    cc_wr(t, CC_Q_SIZE, 8, 2);
    cc_wr(t, CC_Q_MSIX, 0, 2);
    cc_wr(t, CC_Q_DESC, 0x1000, 8);
    cc_wr(t, CC_Q_ENABLE, 1, 2);
    cc_wr(t, CC_Q_SELECT, 0xffff, 2);
    cc_wr(t, CC_Q_ENABLE, 1, 2);
    assert_false(t->f->d.vq[0].enabled || t->f->d.vq[1].enabled);
    assert_int_equal(t->f->d.vq[0].desc_gpa, 0);
    assert_int_equal(t->f->d.vq[1].desc_gpa, 0);
    /* Enabled: frozen; queue_enable 0 is ignored. */
    cc_wr(t, CC_Q_SELECT, 0, 2);
    cc_wr(t, CC_Q_DESC, 0x30000, 8);
    cc_wr(t, CC_Q_ENABLE, 1, 2);
    cc_wr(t, CC_Q_DESC, 0x40000, 8);
    cc_wr(t, CC_Q_SIZE, 16, 2);
    cc_wr(t, CC_Q_ENABLE, 0, 2);
    assert_int_equal(cc_rd(t, CC_Q_DESC, 8), 0x30000);
    assert_int_equal(cc_rd(t, CC_Q_SIZE, 2), 64);
    assert_int_equal(cc_rd(t, CC_Q_ENABLE, 2), 1);
    /* After DRIVER_OK nothing of a queue changes. */
    struct ring r1 = ring_at(0x20000, 4);
    setup_queue(t, 1, &r1, NO_VECTOR);
    cc_wr(t, CC_STATUS, S_ACK | S_DRV | S_FOK | S_DOK, 1);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK | S_DRV | S_FOK | S_DOK);
    cc_wr(t, CC_Q_SELECT, 1, 2);
    cc_wr(t, CC_Q_DEVICE, 0x50000, 8);
    cc_wr(t, CC_Q_SIZE, 2, 2);
    assert_int_equal(t->f->d.vq[1].device_gpa, r1.used);
    assert_int_equal(t->f->d.vq[1].size, 4);
    drv_features(t, F_VERSION_1 | F_DEV);
    assert_int_equal(t->f->d.features, F_VERSION_1);
}

static void reset_clears(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1 | F_DEV, &r0, &r1, 1, 2);
    cc_wr(t, CC_MSIX, 0, 2);
    virtio_config_changed(&t->f->d); /* INTx: MSI-X is off */
    assert_true(t->v.level[GSI]);
    unsigned resets = t->f->resets;
    cc_wr(t, CC_STATUS, 0, 1);
    assert_int_equal(t->f->resets, resets + 1);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), 0);
    assert_false(t->v.level[GSI]);
    assert_int_equal(isr_rd(t), 0);
    assert_int_equal(cc_rd(t, CC_MSIX, 2), NO_VECTOR);
    assert_int_equal(cc_rd(t, CC_Q_SELECT, 2), 0);
    cc_wr(t, CC_GFSELECT, 0, 4);
    assert_int_equal(cc_rd(t, CC_GF, 4), 0);
    for (unsigned q = 0; q < 2; q++) {
        cc_wr(t, CC_Q_SELECT, q, 2);
        assert_int_equal(cc_rd(t, CC_Q_ENABLE, 2), 0);
        assert_int_equal(cc_rd(t, CC_Q_SIZE, 2), q ? FAKE_Q1_MAX : FAKE_Q0_MAX);
        assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), NO_VECTOR);
        assert_int_equal(cc_rd(t, CC_Q_DESC, 8), 0);
        assert_int_equal(cc_rd(t, CC_Q_DRIVER, 8), 0);
        assert_int_equal(cc_rd(t, CC_Q_DEVICE, 8), 0);
    }
    driver_init(t, F_VERSION_1, &r0, &r1, NO_VECTOR, NO_VECTOR);
    assert_int_equal(t->f->activations, 2);
}

static void notify_fallback(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    assert_int_equal(fvm_nioev(&t->v), 0);
    driver_init(t, F_VERSION_1, &r0, &r1, NO_VECTOR, NO_VECTOR);
    doorbell(t, 1);
    assert_true(fdev_wait(t->f, 1, 1));
    doorbell(t, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    /* 4-byte doorbell writes work too; bad ones reach nobody. */
    g_write(&t->v, false, t->c.bar4 + t->c.notify + t->c.mult, 1, 4);
    assert_true(fdev_wait(t->f, 1, 2));
    g_write(&t->v, false, t->c.bar4 + t->c.notify + 2 * t->c.mult, 2, 2);
    g_write(&t->v, false, t->c.bar4 + t->c.notify + 1, 0, 2);
    g_write(&t->v, false, t->c.bar4 + t->c.notify, 0, 1);
    g_write(&t->v, false, t->c.bar4 + t->c.notify + t->c.mult, 1, 2);
    assert_true(fdev_wait(t->f, 1, 3));
    assert_int_equal(fdev_notifies(t->f, 0), 1);
}

static void notify_ioeventfd_moves(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    assert_int_equal(fvm_nioev(&t->v), 2);
    for (unsigned q = 0; q < 2; q++) {
        struct fake_ioev *e = fvm_find_ioev(
            &t->v, false, BAR4 + t->c.notify + q * t->c.mult, false, 0);
        assert_non_null(e);
        assert_int_equal(e->fd, t->f->d.kick[q]);
    }
    driver_init(t, F_VERSION_1, &r0, &r1, NO_VECTOR, NO_VECTOR);
    doorbell(t, 1);
    assert_true(fdev_wait(t->f, 1, 1));
    /* The guest moves BAR4: the doorbells follow. */
    cfg_write(t, 0x20, (uint32_t)BAR4_NEW | 4, 4);
    cfg_write(t, 0x24, 0, 4);
    pci_bus_sync(t->pci);
    assert_int_equal(fvm_nioev(&t->v), 2);
    assert_null(fvm_find_ioev(&t->v, false, BAR4 + t->c.notify, false, 0));
    assert_non_null(
        fvm_find_ioev(&t->v, false, BAR4_NEW + t->c.notify, false, 0));
    t->c.bar4 = BAR4_NEW;
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK | S_DRV | S_FOK | S_DOK);
    doorbell(t, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    /* Memory decode off: no region, no doorbells. */
    cfg_write(t, 0x04, cfg_read(t, 0x04, 2) & ~2u, 2);
    pci_bus_sync(t->pci);
    assert_int_equal(fvm_nioev(&t->v), 0);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), 0xff);
    cfg_write(t, 0x04, cfg_read(t, 0x04, 2) | 2u, 2);
    pci_bus_sync(t->pci);
    assert_int_equal(fvm_nioev(&t->v), 2);
}

/* KVM without "any length" ioeventfds: the doorbells are 16-bit ones,
 * and other widths still kick through the register. */
static void notify_ioeventfd_16(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    assert_int_equal(fvm_nioev(&t->v), 2);
    for (unsigned q = 0; q < 2; q++) {
        struct fake_ioev *e = fvm_find_ioev(
            &t->v, false, BAR4 + t->c.notify + q * t->c.mult, false, 0);
        assert_non_null(e);
        assert_int_equal(e->len, 2);
    }
    driver_init(t, F_VERSION_1, &r0, &r1, NO_VECTOR, NO_VECTOR);
    doorbell(t, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    g_write(&t->v, false, t->c.bar4 + t->c.notify + t->c.mult, 1, 4);
    assert_true(fdev_wait(t->f, 1, 1));
}

static void intx_isr(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1, NO_VECTOR, NO_VECTOR);
    assert_false(t->v.level[GSI]);
    ring_add(&t->v, &r1, 0x80000, 32);
    doorbell(t, 1);
    assert_true(fvm_wait_level(&t->v, GSI, true));
    assert_int_equal(ring_used_idx(&t->v, &r1), 1);
    assert_int_equal(ring_used_len(&t->v, &r1, 0), 32);
    assert_int_equal(t->v.ram[0x8001f], 0xab);
    assert_int_equal(isr_rd(t), 1); /* read to clear */
    assert_false(t->v.level[GSI]);
    assert_int_equal(isr_rd(t), 0);
    virtio_config_changed(&t->f->d);
    assert_true(t->v.level[GSI]);
    assert_int_equal(isr_rd(t), 2);
    assert_false(t->v.level[GSI]);
    assert_int_equal(t->v.nmsi, 0);
}

static void msix(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->echo = true;
    msix_on(t);
    driver_init(t, F_VERSION_1, &r0, &r1, 1, NO_VECTOR);
    cc_wr(t, CC_MSIX, 0, 2);
    assert_int_equal(cc_rd(t, CC_MSIX, 2), 0);
    cc_wr(t, CC_Q_SELECT, 0, 2);
    assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), 1);
    ring_add(&t->v, &r0, 0x80000, 16);
    doorbell(t, 0);
    assert_true(fvm_wait_msi(&t->v, 1));
    assert_int_equal(t->v.msi_addr[0], 0xfee01000u);
    assert_int_equal(t->v.msi_data[0], 0x41);
    virtio_config_changed(&t->f->d);
    assert_true(fvm_wait_msi(&t->v, 2));
    assert_int_equal(t->v.msi_addr[1], 0xfee00000u);
    assert_int_equal(t->v.msi_data[1], 0x40);
    /* Queue 1 has no vector: no interrupt at all (no INTx either). */
    ring_add(&t->v, &r1, 0x81000, 16);
    doorbell(t, 1);
    assert_true(fdev_wait(t->f, 1, 1));
    assert_int_equal(ring_used_idx(&t->v, &r1), 1);
    assert_int_equal(t->v.nmsi, 2);
    assert_false(t->v.level[GSI]);
    assert_int_equal(isr_rd(t), 0);
}

static void pci_cfg_window(void **state)
{
    struct t *t = *state;
    unsigned c = t->c.pcicfg;
    /* Read num_queues (2 bytes at common+0x12) through the window. */
    cfg_write(t, c + 4, 4, 1);
    cfg_write(t, c + 8, t->c.common + CC_NUMQ, 4);
    cfg_write(t, c + 12, 2, 4);
    assert_int_equal(cfg_read(t, c + 16, 2), 2);
    /* Write device_status through it. */
    cfg_write(t, c + 8, t->c.common + CC_STATUS, 4);
    cfg_write(t, c + 12, 1, 4);
    cfg_write(t, c + 16, S_ACK, 1);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK);
    assert_int_equal(cfg_read(t, c + 16, 1), S_ACK);
    /* Bad windows do nothing: length 3, misaligned, another BAR, past
     * the end. */
    cfg_write(t, c + 12, 3, 4);
    cfg_write(t, c + 16, 0, 4);
    cfg_write(t, c + 12, 2, 4);
    cfg_write(t, c + 8, t->c.common + CC_STATUS + 1, 4);
    cfg_write(t, c + 16, 0, 2);
    cfg_write(t, c + 8, t->c.common + CC_STATUS, 4);
    cfg_write(t, c + 12, 1, 4);
    cfg_write(t, c + 4, 2, 1);
    cfg_write(t, c + 16, 0, 1);
    cfg_write(t, c + 4, 4, 1);
    cfg_write(t, c + 8, 0x4000, 4);
    cfg_write(t, c + 16, 0, 1);
    cfg_write(t, c + 8, 0xfffffffcu, 4);
    cfg_write(t, c + 12, 4, 4);
    cfg_write(t, c + 16, 0, 4);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK);
}

static void needs_reset(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->activate_rc = -1;
    driver_init(t, F_VERSION_1, &r0, &r1, NO_VECTOR, NO_VECTOR);
    assert_true(cc_rd(t, CC_STATUS, 1) & S_NRST);
    assert_int_equal(isr_rd(t), 2); /* the configuration interrupt */
    t->f->activate_rc = 0;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1, NO_VECTOR, NO_VECTOR);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK | S_DRV | S_FOK | S_DOK);
    ring_add(&t->v, &r0, 0x1000000, 16); /* outside RAM */
    doorbell(t, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    assert_true(fvm_wait_level(&t->v, GSI, true));
    assert_true(cc_rd(t, CC_STATUS, 1) & S_NRST);
    assert_int_equal(isr_rd(t), 2);
}

static void legacy(void **state)
{
    struct t *t = *state;
    assert_int_equal(cfg_read(t, 0x02, 2), 0x1005);
    assert_int_equal(cfg_read(t, 0x08, 1), 0); /* transitional: rev 0 */
    assert_int_equal(cfg_read(t, 0x2e, 2), VIRTIO_ID_RNG);
    assert_int_equal(cfg_read(t, 0x10, 4), BAR0 | 1);
    /* ioeventfds: the modern doorbells and the legacy register (16-bit,
     * datamatch on the queue index). */
    assert_int_equal(fvm_nioev(&t->v), 4);
    for (unsigned q = 0; q < 2; q++) {
        struct fake_ioev *e = fvm_find_ioev(&t->v, true, BAR0 + 0x10, true, q);
        assert_non_null(e);
        assert_int_equal(e->len, 2);
    }
    uint32_t hf = (uint32_t)g_read(&t->v, true, BAR0 + 0x00, 4);
    assert_true(hf & F_DEV);
    assert_true(hf & (1u << VIRTIO_F_INDIRECT_DESC));
    g_write(&t->v, true, BAR0 + 0x12, S_ACK | S_DRV, 1);
    /* A bit not offered is dropped, not refused (no FEATURES_OK). */
    g_write(&t->v, true, BAR0 + 0x04, F_DEV | (1u << 3), 4);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x04, 4), F_DEV);
    g_write(&t->v, true, BAR0 + 0x0e, 0, 2);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x0c, 2), FAKE_Q0_MAX);
    g_write(&t->v, true, BAR0 + 0x08, 0x40, 4); /* PFN: 0x40000 */
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x08, 4), 0x40);
    const struct virtqueue *vq = &t->f->d.vq[0];
    assert_int_equal(vq->size, FAKE_Q0_MAX);
    assert_int_equal(vq->desc_gpa, 0x40000);
    assert_int_equal(vq->driver_gpa, 0x40000 + 16 * FAKE_Q0_MAX);
    assert_int_equal(vq->device_gpa, 0x42000); /* 0x41000 + 518, aligned */
    g_write(&t->v, true, BAR0 + 0x0e, 1, 2);
    g_write(&t->v, true, BAR0 + 0x08, 0x50, 4);
    g_write(&t->v, true, BAR0 + 0x0e, 2, 2); /* no such queue */
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x0c, 2), 0);
    g_write(&t->v, true, BAR0 + 0x08, 0x60, 4);
    g_write(&t->v, true, BAR0 + 0x12, S_ACK | S_DRV | S_DOK, 1);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x12, 1),
                     S_ACK | S_DRV | S_DOK);
    assert_int_equal(t->f->activations, 1);
    assert_int_equal(t->f->act_features, F_DEV);
    assert_true(vq_ready(&t->f->d.vq[1]));
    /* Notify through the legacy register ("KVM" signals the eventfd). */
    g_write(&t->v, true, BAR0 + 0x10, 1, 2);
    assert_true(fdev_wait(t->f, 1, 1));
    /* Configuration at 0x14 without MSI-X, at 0x18 with it. */
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x14, 4), 0x13121110);
    msix_on(t);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x18, 4), 0x13121110);
    g_write(&t->v, true, BAR0 + 0x14, 1, 2);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x14, 2), 1);
    g_write(&t->v, true, BAR0 + 0x14, 9, 2);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x14, 2), NO_VECTOR);
    g_write(&t->v, true, BAR0 + 0x0e, 0, 2);
    g_write(&t->v, true, BAR0 + 0x16, 2, 2);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x16, 2), 2);
    /* Bad widths and read-only registers. */
    g_write(&t->v, true, BAR0 + 0x12, 0, 4);
    g_write(&t->v, true, BAR0 + 0x00, 0, 4);
    g_write(&t->v, true, BAR0 + 0x0c, 1, 2);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x12, 2), 0);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x12, 1),
                     S_ACK | S_DRV | S_DOK);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x0c, 2), FAKE_Q0_MAX);
    /* Reset through the legacy status. */
    g_write(&t->v, true, BAR0 + 0x12, 0, 1);
    assert_int_equal(g_read(&t->v, true, BAR0 + 0x08, 4), 0);
    assert_int_equal(t->f->d.features, 0);
    /* The guest moves BAR0: its ioeventfds follow. */
    cfg_write(t, 0x10, BAR0_NEW, 4);
    pci_bus_sync(t->pci);
    assert_null(fvm_find_ioev(&t->v, true, BAR0 + 0x10, true, 0));
    assert_non_null(fvm_find_ioev(&t->v, true, BAR0_NEW + 0x10, true, 1));
    assert_int_equal(g_read(&t->v, true, BAR0_NEW + 0x0c, 2), FAKE_Q0_MAX);
}

static void bad_accesses(void **state)
{
    struct t *t = *state;
    /* Common configuration: wrong widths, read-only fields, holes. */
    cc_wr(t, CC_STATUS, S_ACK, 2);
    cc_wr(t, CC_STATUS, S_ACK, 4);
    cc_wr(t, CC_STATUS - 1, 0x100 | S_ACK, 2);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), 0);
    assert_int_equal(cc_rd(t, CC_NUMQ, 4), 0);
    assert_int_equal(cc_rd(t, CC_DF, 2), 0);
    assert_int_equal(cc_rd(t, CC_Q_SELECT, 1), 0);
    cc_wr(t, CC_NUMQ, 7, 2);
    cc_wr(t, CC_CFGGEN, 7, 1);
    cc_wr(t, CC_Q_NOFF, 7, 2);
    cc_wr(t, CC_DF, 0, 4);
    assert_int_equal(cc_rd(t, CC_NUMQ, 2), 2);
    assert_int_equal(cc_rd(t, 0x38, 4), 0);
    assert_int_equal(cc_rd(t, 0x3a, 2), 0);
    cc_wr(t, 0x38, 0xffffffff, 4);
    /* Holes in BAR4 and the ISR at the wrong offset. */
    assert_int_equal(g_read(&t->v, false, t->c.bar4 + 0x800, 4), 0);
    assert_int_equal(g_read(&t->v, false, t->c.bar4 + t->c.isr + 1, 1), 0);
    g_write(&t->v, false, t->c.bar4 + 0x3ffc, 0, 4);
    g_write(&t->v, false, t->c.bar4 + t->c.isr, 0xff, 1);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), 0);
    for (unsigned q = 0; q < 2; q++)
        assert_false(t->f->d.vq[q].enabled);
}

/* Random accesses to every register window and the capability area of
 * configuration space: no crash, no out-of-range device call, sane
 * queues, and a working device afterwards. */
static void random_accesses(void **state)
{
    struct t *t = *state;
    static const unsigned sizes[] = {1, 2, 4, 8};
    uint32_t x = 4242;
    for (unsigned i = 0; i < 30000; i++) {
        x = x * 1103515245u + 12345u;
        unsigned size = sizes[(x >> 8) & 3];
        uint64_t val = (uint64_t)x * 2654435761u;
        if ((i & 3) == 0)
            val &= 0xff;
        unsigned where = (x >> 28) % 3;
        if (where == 0) {
            uint64_t off = ((x >> 10) % 0x4000) & ~(uint64_t)(size - 1);
            if (x & 1)
                g_write(&t->v, false, BAR4 + off, val, size);
            else
                (void)g_read(&t->v, false, BAR4 + off, size);
        } else if (where == 1) {
            if (size == 8)
                size = 4;
            uint64_t off = ((x >> 10) % 0x80) & ~(uint64_t)(size - 1);
            if (x & 1)
                g_write(&t->v, true, BAR0 + off, val, size);
            else
                (void)g_read(&t->v, true, BAR0 + off, size);
        } else {
            if (size == 8)
                size = 4;
            unsigned off = 0x40 + ((x >> 10) % 0xc0);
            off &= ~(size - 1);
            if (x & 1)
                cfg_write(t, off, (uint32_t)val, size);
            else
                (void)cfg_read(t, off, size);
        }
    }
    for (unsigned q = 0; q < 2; q++)
        assert_true(t->f->d.vq[q].size <= t->f->d.vq[q].max_size);
    cfg_write(t, t->c.msix + 2, 0, 2); /* MSI-X off again */
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1, NO_VECTOR, NO_VECTOR);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ACK | S_DRV | S_FOK | S_DOK);
    ring_add(&t->v, &r0, 0x80000, 16);
    doorbell(t, 0);
    assert_true(fvm_wait_level(&t->v, GSI, true));
    assert_int_equal(isr_rd(t), 1);
}

static void attach_checks(void **state)
{
    (void)state;
    struct fvm v;
    fvm_init(&v);
    struct fdev *f = fdev_new(&v, VIRTIO_ID_RNG);
    struct vdev_spec vd = {0};
    vd.type = &vt_fake;
    vd.is_pci = true;
    vd.pci.bdf = (struct bdf){0, DEV, 0};
    vd.pci.bars[4] = (struct bar){BAR_MEM64, BAR4, 0x4000, "virtio"};
    /* No PCI bus. */
    assert_int_equal(virtio_pci_attach(&f->d, &vd, &v.ctx), -1);
    v.ctx.pci = pci_bus_new(&v.ctx, false);
    assert_non_null(v.ctx.pci);
    /* BAR4 too small. */
    vd.pci.bars[4].size = 0x1000;
    assert_int_equal(virtio_pci_attach(&f->d, &vd, &v.ctx), -1);
    assert_null(f->d.transport);
    /* `legacy` without an I/O BAR0, no MSI-X: modern only, INTx. */
    vd.pci.bars[4].size = 0x4000;
    f->d.legacy = true;
    assert_int_equal(virtio_pci_attach(&f->d, &vd, &v.ctx), 0);
    assert_false(f->d.legacy);
    /* The function is taken now. */
    struct fdev *g = fdev_new(&v, VIRTIO_ID_RNG);
    assert_int_equal(virtio_pci_attach(&g->d, &vd, &v.ctx), -1);
    fdev_free(&v, g);
    fdev_free(&v, f);
    pci_bus_free(v.ctx.pci);
    fvm_free(&v);
}

/* The registry's path: devices_realize builds virtio-entropy as a
 * transitional PCI function and as virtio-mmio; devices_teardown removes
 * both (ASan's leak check covers what teardown frees). */
static void realize_from_spec(void **state)
{
    (void)state;
    struct fvm v;
    fvm_init(&v);
    v.kvm_ioeventfd = true;
    struct vm_spec s;
    spec_init(&s, ARCH_X86_64);
    s.has_pci = true;
    const struct vdev_type *vt = vdev_type_find("virtio-entropy");
    assert_non_null(vt);
    struct vdev_spec *vd = VEC_PUSH(&s.vdevs);
    assert_non_null(vd);
    vd->type = vt;
    vd->is_pci = true;
    vd->pci = (struct pci_func){.bdf = {0, DEV, 0},
                                .vendor = 0x1af4,
                                .device = 0x1004,
                                .class_code = 0x00ff,
                                .intx_pin = 1,
                                .intx = {.line = GSI},
                                .msix_vectors = 2};
    vd->pci.bars[0] = (struct bar){BAR_IO, BAR0, 0x80, "legacy"};
    vd->pci.bars[1] = (struct bar){BAR_MEM32, BAR1, 0x1000, "msi-x"};
    vd->pci.bars[4] = (struct bar){BAR_MEM64, BAR4, 0x4000, "virtio"};
    for (const struct opt_def *o = vt->opts; o->name; o++) {
        if (strcmp(o->name, "legacy") == 0) {
            struct opt_val *ov = VEC_PUSH(&vd->opts);
            assert_non_null(ov);
            ov->def = o;
        }
    }
    assert_non_null(vdev_opt(vd, "legacy"));
    vd = VEC_PUSH(&s.vdevs);
    assert_non_null(vd);
    vd->type = vt;
    vd->has_loc = true;
    vd->loc =
        (struct loc){.space = SPACE_MEM, .base = 0xd0000000, .size = 0x200};
    struct intr *in = VEC_PUSH(&vd->intrs);
    assert_non_null(in);
    in->line = 5;
    struct dev_list l = {0};
    assert_int_equal(devices_realize(&s, &v.ctx, &l), 0);
    /* the PCI function: transitional, legacy BAR0 answering */
    g_write(&v, true, 0xcf8, 0x80000000u | DEV << 11, 4);
    assert_int_equal(g_read(&v, true, 0xcfc, 4), 0x10041af4);
    g_write(&v, true, 0xcf8, 0x80000000u | DEV << 11 | 0x2c, 4);
    assert_int_equal(g_read(&v, true, 0xcfe, 2), VIRTIO_ID_RNG);
    uint64_t qnum = g_read(&v, true, BAR0 + 0x0c, 2);
    assert_true(qnum > 0 && qnum < 0xffff);
    /* the MMIO one */
    assert_int_equal(g_read(&v, false, 0xd0000000, 4), 0x74726976);
    assert_int_equal(g_read(&v, false, 0xd0000008, 4), VIRTIO_ID_RNG);
    /* ioeventfds: PCI doorbell, legacy notify, MMIO notify (1 queue) */
    assert_int_equal(fvm_nioev(&v), 3);
    devices_teardown(&l);
    assert_int_equal(fvm_nioev(&v), 0);
    assert_int_equal(g_read(&v, false, 0xd0000000, 4), 0xffffffffu);
    assert_int_equal(g_read(&v, false, BAR4, 4), 0xffffffffu);
    assert_int_equal(g_read(&v, true, BAR0, 4), 0xffffffffu);
    spec_free(&s);
    fvm_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identity_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(full_init, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(queue_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(notify_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(notify_ioeventfd_moves, setup_kvm,
                                        teardown),
        cmocka_unit_test_setup_teardown(notify_ioeventfd_16, setup_kvm16,
                                        teardown),
        cmocka_unit_test_setup_teardown(intx_isr, setup, teardown),
        cmocka_unit_test_setup_teardown(msix, setup, teardown),
        cmocka_unit_test_setup_teardown(pci_cfg_window, setup, teardown),
        cmocka_unit_test_setup_teardown(needs_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(legacy, setup_legacy, teardown),
        cmocka_unit_test_setup_teardown(bad_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(random_accesses, setup_legacy,
                                        teardown),
        cmocka_unit_test(attach_checks),
        cmocka_unit_test(realize_from_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

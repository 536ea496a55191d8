/*
 * test_virtio_transport.c: the two virtio transports (src/virtio/
 * virtio_mmio.c, virtio_pci.c, with src/virtio/transport.c) and the shared
 * core (src/virtio/virtio.c), driven through the guest's buses exactly as
 * a guest driver would.
 *
 * The shared cases run once per transport through a small driver (struct
 * tdrv: status, feature windows, the selected queue's registers,
 * notifications, the device configuration, interrupt acknowledgement):
 * identity, the initialisation sequence (virtio 1.2, 3.1.1), feature
 * negotiation and its refusals, queue configuration rules, packed ring
 * sizes, DRIVER_OK freezing, reset, notifications (with and without KVM's
 * ioeventfd), used-buffer and configuration interrupts, the configuration
 * space and its generation, NEEDS_RESET, FAILED, and a bounded log.
 *
 * Transport-specific cases: virtio-mmio's register layout, version,
 * interrupt status/ACK, bad and random accesses, attach checks (4.2.2);
 * virtio-pci's capabilities through 0xcf8/0xcfc and ECAM, common
 * configuration read-backs, MSI-X vectors, doorbell widths, ioeventfds
 * moved with BAR4, INTx, the PCI configuration access window, the legacy
 * 0.9.5 interface in BAR0, bad and random accesses, attach checks and the
 * registry's path (4.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/schema.h"
#include "devices/pci.h"
#include "virtio_fake.h"

#define S_ACK  VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV  VIRTIO_STATUS_DRIVER
#define S_FOK  VIRTIO_STATUS_FEATURES_OK
#define S_DOK  VIRTIO_STATUS_DRIVER_OK
#define S_NRST VIRTIO_STATUS_NEEDS_RESET
#define S_ALL  (S_ACK | S_DRV | S_FOK | S_DOK)

#define NO_VECTOR VIRTIO_MSI_NO_VECTOR

/* virtio-mmio: the window and its registers (4.2.2). */
#define M_BASE     0xd0000000ull
#define M_GSI      5
#define MAGIC      0x000
#define VERSION    0x004
#define DEVICE_ID  0x008
#define VENDOR_ID  0x00c
#define DEV_FEAT   0x010
#define DEV_FSEL   0x014
#define DRV_FEAT   0x020
#define DRV_FSEL   0x024
#define QSEL       0x030
#define QNUM_MAX   0x034
#define QNUM       0x038
#define QREADY     0x044
#define QNOTIFY    0x050
#define INT_STATUS 0x060
#define INT_ACK    0x064
#define STATUS     0x070
#define QDESC_LO   0x080
#define QDRV_LO    0x090
#define QDEV_LO    0x0a0
#define CFG_GEN    0x0fc
#define CONFIG     0x100

/* virtio-pci: the function, its BARs and the common configuration
 * (4.1.4.3). */
#define DEV         3
#define P_GSI       11
#define BAR1        0xc0000000ull
#define BAR4        0xc0004000ull
#define BAR4_NEW    0xc0100000ull
#define BAR0        0xc000u
#define BAR0_NEW    0xc100u
#define NVEC        3
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

/* A queue's three areas, in register order. */
enum area { A_DESC, A_DRIVER, A_DEVICE };

/* What the PCI driver found in the capabilities. */
struct caps {
    uint64_t bar4;
    uint32_t common, common_len, notify, notify_len, mult, isr, device,
        device_len;
    unsigned pcicfg, msix;
    unsigned ncommon, nnotify, nisr, ndevice, npcicfg;
};

struct t;

/* A transport as its driver sees it: every access is a guest access. */
struct tdrv {
    const char *name;
    unsigned gsi;           /* the device's interrupt line */
    bool ready0_takes_back; /* QueueReady 0 before DRIVER_OK (MMIO) */
    unsigned doorbell_len;  /* of the doorbell ioeventfds (0: any) */
    void (*build)(struct t *t, bool legacy);
    void (*free)(struct t *t); /* after the device is freed */
    uint8_t (*status)(struct t *t);
    void (*set_status)(struct t *t, uint8_t s);
    uint32_t (*dev_feat)(struct t *t, uint32_t sel);
    void (*drv_feat)(struct t *t, uint32_t sel, uint32_t v);
    /* after FEATURES_OK in driver_init, before the queues (or NULL) */
    void (*features_ok)(struct t *t);
    void (*qsel)(struct t *t, uint32_t q);
    uint32_t (*qsize)(struct t *t);
    void (*set_qsize)(struct t *t, uint32_t n);
    /* after the size in setup_queue: the transport's own (or NULL) */
    void (*queue_extra)(struct t *t, unsigned q);
    uint32_t (*qready)(struct t *t);
    void (*set_qready)(struct t *t, uint32_t v);
    uint64_t (*qaddr)(struct t *t, enum area a);
    void (*set_qaddr)(struct t *t, enum area a, uint64_t v);
    void (*notify)(struct t *t, unsigned q);
    /* notifications that name no queue */
    void (*notify_missing)(struct t *t);
    struct fake_ioev *(*doorbell_ioev)(struct t *t, unsigned q);
    uint64_t (*cfg_rd)(struct t *t, unsigned off, unsigned size);
    void (*cfg_wr)(struct t *t, unsigned off, uint64_t v, unsigned size);
    uint8_t (*cfg_gen)(struct t *t);
    /* the pending interrupt bits (1 queue, 2 configuration), acknowledged;
     * irq_peek reads them without (NULL: read-to-clear only) */
    uint32_t (*irq_take)(struct t *t);
    uint32_t (*irq_peek)(struct t *t);
    /* one access the transport ignores (logged) */
    void (*bad_access)(struct t *t);
    /* virtio_bad.c's register_garbage: at every 4-byte offset of the
     * register window but the status and the notifications, a read, then
     * 0xdeadbeef, 0xbeef at +2 and 0xef at +1 */
    void (*garbage)(struct t *t);
};

struct t {
    const struct tdrv *drv;
    struct fvm v;
    struct pci_bus *pci;
    struct fdev *f;
    struct vdev_spec vd;
    struct caps c;
    uint16_t vec[2]; /* PCI: the queues' MSI-X vectors at setup */
};

static bool level(struct t *t)
{
    return t->v.level[t->drv->gsi];
}

/* ---- virtio-mmio -------------------------------------------------------- */

static uint32_t rd(struct t *t, uint64_t off)
{
    return (uint32_t)g_read(&t->v, false, M_BASE + off, 4);
}

static void wr(struct t *t, uint64_t off, uint32_t val)
{
    g_write(&t->v, false, M_BASE + off, val, 4);
}

static void m_build(struct t *t, bool legacy)
{
    (void)legacy;
    t->f = fdev_new(&t->v, VIRTIO_ID_RNG);
    t->vd.has_loc = true;
    t->vd.loc.space = SPACE_MEM;
    t->vd.loc.base = M_BASE;
    t->vd.loc.size = 0x200;
    struct intr *in = VEC_PUSH(&t->vd.intrs);
    assert_non_null(in);
    in->line = M_GSI;
    assert_int_equal(virtio_mmio_attach(&t->f->d, &t->vd, &t->v.ctx), 0);
}

static void m_free(struct t *t)
{
    /* detach unmapped the window */
    assert_int_equal(rd(t, MAGIC), 0xffffffffu);
    VEC_FREE(&t->vd.intrs);
}

static uint8_t m_status(struct t *t)
{
    return (uint8_t)rd(t, STATUS);
}

static void m_set_status(struct t *t, uint8_t s)
{
    wr(t, STATUS, s);
}

static uint32_t m_dev_feat(struct t *t, uint32_t sel)
{
    wr(t, DEV_FSEL, sel);
    return rd(t, DEV_FEAT);
}

static void m_drv_feat(struct t *t, uint32_t sel, uint32_t v)
{
    wr(t, DRV_FSEL, sel);
    wr(t, DRV_FEAT, v);
}

static void m_qsel(struct t *t, uint32_t q)
{
    wr(t, QSEL, q);
}

static uint32_t m_qsize(struct t *t)
{
    return rd(t, QNUM);
}

static void m_set_qsize(struct t *t, uint32_t n)
{
    wr(t, QNUM, n);
}

static uint32_t m_qready(struct t *t)
{
    return rd(t, QREADY);
}

static void m_set_qready(struct t *t, uint32_t v)
{
    wr(t, QREADY, v);
}

static const uint64_t m_area_reg[] = {QDESC_LO, QDRV_LO, QDEV_LO};

static uint64_t m_qaddr(struct t *t, enum area a)
{
    uint64_t r = m_area_reg[a];
    return (uint64_t)rd(t, r + 4) << 32 | rd(t, r);
}

static void m_set_qaddr(struct t *t, enum area a, uint64_t v)
{
    wr(t, m_area_reg[a], (uint32_t)v);
    wr(t, m_area_reg[a] + 4, (uint32_t)(v >> 32));
}

static void m_notify(struct t *t, unsigned q)
{
    wr(t, QNOTIFY, q);
}

static void m_notify_missing(struct t *t)
{
    wr(t, QNOTIFY, 2);
    wr(t, QNOTIFY, 0x10000);
}

static struct fake_ioev *m_doorbell_ioev(struct t *t, unsigned q)
{
    return fvm_find_ioev(&t->v, false, M_BASE + QNOTIFY, true, q);
}

static uint64_t m_cfg_rd(struct t *t, unsigned off, unsigned size)
{
    return g_read(&t->v, false, M_BASE + CONFIG + off, size);
}

static void m_cfg_wr(struct t *t, unsigned off, uint64_t v, unsigned size)
{
    g_write(&t->v, false, M_BASE + CONFIG + off, v, size);
}

static uint8_t m_cfg_gen(struct t *t)
{
    return (uint8_t)rd(t, CFG_GEN);
}

static uint32_t m_irq_peek(struct t *t)
{
    return rd(t, INT_STATUS);
}

static uint32_t m_irq_take(struct t *t)
{
    uint32_t v = rd(t, INT_STATUS);
    if (v)
        wr(t, INT_ACK, v);
    return v;
}

static void m_bad_access(struct t *t)
{
    g_write(&t->v, false, M_BASE + STATUS, S_ACK, 1);
}

/* One offset of the pattern: a read and three writes (4, 2, 1 bytes). */
static void garbage_at(struct t *t, uint64_t a)
{
    (void)g_read(&t->v, false, a, 4);
    g_write(&t->v, false, a, 0xdeadbeefu, 4);
    g_write(&t->v, false, a + 2, 0xbeef, 2);
    g_write(&t->v, false, a + 1, 0xef, 1);
}

static void m_garbage(struct t *t)
{
    for (uint64_t off = 0; off < 0x200; off += 4)
        if (off != STATUS && off != QNOTIFY)
            garbage_at(t, M_BASE + off);
}

static struct tdrv mmio_drv = {
    .name = "mmio",
    .gsi = M_GSI,
    .ready0_takes_back = true,
    .doorbell_len = 4,
    .build = m_build,
    .free = m_free,
    .status = m_status,
    .set_status = m_set_status,
    .dev_feat = m_dev_feat,
    .drv_feat = m_drv_feat,
    .qsel = m_qsel,
    .qsize = m_qsize,
    .set_qsize = m_set_qsize,
    .qready = m_qready,
    .set_qready = m_set_qready,
    .qaddr = m_qaddr,
    .set_qaddr = m_set_qaddr,
    .notify = m_notify,
    .notify_missing = m_notify_missing,
    .doorbell_ioev = m_doorbell_ioev,
    .cfg_rd = m_cfg_rd,
    .cfg_wr = m_cfg_wr,
    .cfg_gen = m_cfg_gen,
    .irq_take = m_irq_take,
    .irq_peek = m_irq_peek,
    .bad_access = m_bad_access,
    .garbage = m_garbage,
};

/* ---- virtio-pci --------------------------------------------------------- */

static const struct vdev_type vt_fake = {.name = "virtio-fake"};

/* Configuration space through 0xcf8/0xcfc. */
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

static void p_build(struct t *t, bool legacy)
{
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
    vd->pci.intx.line = P_GSI;
    vd->pci.msix_vectors = NVEC;
    t->f->d.legacy = legacy;
    assert_int_equal(virtio_pci_attach(&t->f->d, vd, &t->v.ctx), 0);
    pci_bus_sync(t->pci);
    find_caps(t);
}

static void p_free(struct t *t)
{
    pci_bus_free(t->pci);
}

static uint8_t p_status(struct t *t)
{
    return (uint8_t)cc_rd(t, CC_STATUS, 1);
}

static void p_set_status(struct t *t, uint8_t s)
{
    cc_wr(t, CC_STATUS, s, 1);
}

static uint32_t p_dev_feat(struct t *t, uint32_t sel)
{
    cc_wr(t, CC_DFSELECT, sel, 4);
    return (uint32_t)cc_rd(t, CC_DF, 4);
}

static void p_drv_feat(struct t *t, uint32_t sel, uint32_t v)
{
    cc_wr(t, CC_GFSELECT, sel, 4);
    cc_wr(t, CC_GF, v, 4);
}

static void p_features_ok(struct t *t)
{
    assert_int_equal(cc_rd(t, CC_NUMQ, 2), 2);
}

static void p_qsel(struct t *t, uint32_t q)
{
    cc_wr(t, CC_Q_SELECT, q, 2);
}

static uint32_t p_qsize(struct t *t)
{
    return (uint32_t)cc_rd(t, CC_Q_SIZE, 2);
}

static void p_set_qsize(struct t *t, uint32_t n)
{
    cc_wr(t, CC_Q_SIZE, n, 2);
}

static void p_queue_extra(struct t *t, unsigned q)
{
    cc_wr(t, CC_Q_MSIX, t->vec[q], 2);
}

static uint32_t p_qready(struct t *t)
{
    return (uint32_t)cc_rd(t, CC_Q_ENABLE, 2);
}

static void p_set_qready(struct t *t, uint32_t v)
{
    cc_wr(t, CC_Q_ENABLE, v, 2);
}

/* The descriptor area as one 64-bit access, the others as two halves (as
 * Linux writes them): both work. */
static uint64_t p_qaddr(struct t *t, enum area a)
{
    unsigned off = CC_Q_DESC + 8 * a;
    if (a == A_DESC)
        return cc_rd(t, off, 8);
    return cc_rd(t, off + 4, 4) << 32 | cc_rd(t, off, 4);
}

static void p_set_qaddr(struct t *t, enum area a, uint64_t v)
{
    unsigned off = CC_Q_DESC + 8 * a;
    if (a == A_DRIVER) {
        cc_wr(t, off, v, 8);
        return;
    }
    cc_wr(t, off, (uint32_t)v, 4);
    cc_wr(t, off + 4, v >> 32, 4);
}

static void p_notify_missing(struct t *t)
{
    uint64_t n = t->c.bar4 + t->c.notify;
    g_write(&t->v, false, n + 2 * t->c.mult, 2, 2); /* queue 2 */
    g_write(&t->v, false, n + 1, 0, 2);             /* misaligned */
    g_write(&t->v, false, n, 0, 1);                 /* a byte */
}

static struct fake_ioev *p_doorbell_ioev(struct t *t, unsigned q)
{
    return fvm_find_ioev(&t->v, false, t->c.bar4 + t->c.notify + q * t->c.mult,
                         false, 0);
}

static uint64_t p_cfg_rd(struct t *t, unsigned off, unsigned size)
{
    return g_read(&t->v, false, t->c.bar4 + t->c.device + off, size);
}

static void p_cfg_wr(struct t *t, unsigned off, uint64_t v, unsigned size)
{
    g_write(&t->v, false, t->c.bar4 + t->c.device + off, v, size);
}

static uint8_t p_cfg_gen(struct t *t)
{
    return (uint8_t)cc_rd(t, CC_CFGGEN, 1);
}

static uint32_t p_irq_take(struct t *t)
{
    return isr_rd(t); /* read to clear (4.1.4.5) */
}

static void p_bad_access(struct t *t)
{
    cc_wr(t, CC_STATUS, S_ACK, 2);
}

/* BAR4 (0x4000 bytes) but the notification area and the status. */
static void p_garbage(struct t *t)
{
    for (uint32_t off = 0; off < 0x4000; off += 4)
        if ((off < t->c.notify || off >= t->c.notify + 0x1000) &&
            off != t->c.common + CC_STATUS)
            garbage_at(t, t->c.bar4 + off);
}

static struct tdrv pci_drv = {
    .name = "pci",
    .gsi = P_GSI,
    .ready0_takes_back = false,
    .doorbell_len = 0,
    .build = p_build,
    .free = p_free,
    .status = p_status,
    .set_status = p_set_status,
    .dev_feat = p_dev_feat,
    .drv_feat = p_drv_feat,
    .features_ok = p_features_ok,
    .qsel = p_qsel,
    .qsize = p_qsize,
    .set_qsize = p_set_qsize,
    .queue_extra = p_queue_extra,
    .qready = p_qready,
    .set_qready = p_set_qready,
    .qaddr = p_qaddr,
    .set_qaddr = p_set_qaddr,
    .notify = doorbell,
    .notify_missing = p_notify_missing,
    .doorbell_ioev = p_doorbell_ioev,
    .cfg_rd = p_cfg_rd,
    .cfg_wr = p_cfg_wr,
    .cfg_gen = p_cfg_gen,
    .irq_take = p_irq_take,
    .bad_access = p_bad_access,
    .garbage = p_garbage,
};

/* ---- fixtures: *state holds the transport's driver until setup ---------- */

static int setup_with(void **state, bool kvm, bool any_len, bool legacy)
{
    struct t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->drv = *state;
    t->vec[0] = t->vec[1] = NO_VECTOR;
    fvm_init(&t->v);
    t->v.kvm_ioeventfd = kvm;
    t->v.no_any_len = !any_len;
    t->drv->build(t, legacy);
    *state = t;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false, false, false);
}

static int setup_kvm(void **state)
{
    return setup_with(state, true, true, false);
}

static int setup_kvm16(void **state)
{
    return setup_with(state, true, false, false);
}

static int setup_legacy(void **state)
{
    return setup_with(state, true, true, true);
}

static int teardown(void **state)
{
    struct t *t = *state;
    fdev_free(&t->v, t->f);
    assert_int_equal(fvm_nioev(&t->v), 0); /* every ioeventfd removed */
    assert_false(level(t));
    t->drv->free(t);
    fvm_free(&t->v);
    free(t);
    return 0;
}

/* ---- the driver --------------------------------------------------------- */

static uint64_t dev_features(struct t *t)
{
    uint64_t lo = t->drv->dev_feat(t, 0);
    return (uint64_t)t->drv->dev_feat(t, 1) << 32 | lo;
}

static void drv_features(struct t *t, uint64_t f)
{
    t->drv->drv_feat(t, 0, (uint32_t)f);
    t->drv->drv_feat(t, 1, (uint32_t)(f >> 32));
}

static void set_status(struct t *t, uint8_t s)
{
    t->drv->set_status(t, s);
}

static uint8_t status(struct t *t)
{
    return t->drv->status(t);
}

static void setup_queue(struct t *t, unsigned q, const struct ring *r)
{
    const struct tdrv *d = t->drv;
    d->qsel(t, q);
    assert_int_equal(d->qready(t), 0);
    d->set_qsize(t, r->size);
    assert_int_equal(d->qsize(t), r->size);
    if (d->queue_extra)
        d->queue_extra(t, q);
    d->set_qaddr(t, A_DESC, r->desc);
    d->set_qaddr(t, A_DRIVER, r->avail);
    d->set_qaddr(t, A_DEVICE, r->used);
    assert_int_equal(d->qaddr(t, A_DESC), r->desc);
    assert_int_equal(d->qaddr(t, A_DRIVER), r->avail);
    assert_int_equal(d->qaddr(t, A_DEVICE), r->used);
    d->set_qready(t, 1);
    assert_int_equal(d->qready(t), 1);
}

/* The whole of 3.1.1 with `feat` accepted and queue 0 (8 entries) and
 * queue 1 (4 entries) set up. */
static void driver_init(struct t *t, uint64_t feat, struct ring *r0,
                        struct ring *r1)
{
    set_status(t, 0);
    set_status(t, S_ACK);
    set_status(t, S_ACK | S_DRV);
    assert_true((dev_features(t) & feat) == feat);
    drv_features(t, feat);
    set_status(t, S_ACK | S_DRV | S_FOK);
    assert_int_equal(status(t), S_ACK | S_DRV | S_FOK);
    if (t->drv->features_ok)
        t->drv->features_ok(t);
    *r0 = ring_at(0x10000, 8);
    *r1 = ring_at(0x20000, 4);
    setup_queue(t, 0, r0);
    setup_queue(t, 1, r1);
    set_status(t, S_ALL);
}

/* Up to FEATURES_OK with `feat`, no queue set up. */
static void negotiate(struct t *t, uint64_t feat)
{
    set_status(t, S_ACK | S_DRV);
    drv_features(t, feat);
    set_status(t, S_ACK | S_DRV | S_FOK);
}

/* For the random-access cases: the next pseudo-random access (x advances),
 * its size (1, 2, 4 or 8) and a value in *val. */
static unsigned rand_access(uint32_t *x, uint64_t *val)
{
    static const unsigned sizes[] = {1, 2, 4, 8};
    *x = *x * 1103515245u + 12345u;
    *val = (uint64_t)*x * 2654435761u;
    return sizes[(*x >> 8) & 3];
}

/* No queue left in an impossible state. */
static void assert_queues_sane(struct t *t)
{
    for (unsigned q = 0; q < 2; q++) {
        const struct virtqueue *vq = &t->f->d.vq[q];
        assert_true(vq->size <= vq->max_size);
    }
}

/* ---- shared cases ------------------------------------------------------- */

static void identity(void **state)
{
    struct t *t = *state;
    assert_int_equal(status(t), 0);
    uint64_t f = dev_features(t);
    assert_true(f & F_DEV);
    assert_true(f & F_VERSION_1);
    assert_true(f & (1ull << VIRTIO_F_INDIRECT_DESC));
    assert_true(f & (1ull << VIRTIO_F_EVENT_IDX));
    assert_true(f & (1ull << VIRTIO_F_RING_PACKED));
    assert_false(f & (1ull << VIRTIO_F_IN_ORDER));
    assert_int_equal(t->drv->dev_feat(t, 2), 0);
    assert_int_equal(t->drv->dev_feat(t, 7), 0);
}

static void full_init(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    uint64_t feat = F_VERSION_1 | F_DEV | (1ull << VIRTIO_F_EVENT_IDX);
    driver_init(t, feat, &r0, &r1);
    assert_int_equal(status(t), S_ALL);
    assert_int_equal(t->f->activations, 1);
    assert_int_equal(t->f->act_features, feat);
    assert_true(t->f->d.vq[0].enabled);
    assert_int_equal(t->f->d.vq[0].size, 8);
    assert_int_equal(t->f->d.vq[0].desc_gpa, r0.desc);
    assert_int_equal(t->f->d.vq[0].driver_gpa, r0.avail);
    assert_int_equal(t->f->d.vq[0].device_gpa, r0.used);
    assert_int_equal(t->f->d.vq[1].size, 4);
    assert_true(t->f->d.vq[1].event_idx);
    assert_true(vq_ready(&t->f->d.vq[0]));
    assert_true(vq_ready(&t->f->d.vq[1]));
    /* Rewriting DRIVER_OK does not activate twice. */
    set_status(t, S_ALL);
    assert_int_equal(t->f->activations, 1);
}

static void refuse_no_version1(void **state)
{
    struct t *t = *state;
    negotiate(t, F_DEV); /* no VERSION_1 on a modern interface */
    assert_int_equal(status(t), S_ACK | S_DRV); /* refused */
    /* DRIVER_OK anyway: nothing starts. */
    set_status(t, S_ALL);
    assert_false(status(t) & S_DOK);
    assert_int_equal(t->f->activations, 0);
}

static void refuse_not_offered(void **state)
{
    struct t *t = *state;
    negotiate(t, F_VERSION_1 | F_DEV | (1ull << 7));
    assert_int_equal(status(t), S_ACK | S_DRV);
    negotiate(t, F_VERSION_1 | (1ull << 3));
    assert_int_equal(status(t), S_ACK | S_DRV);
    negotiate(t, F_VERSION_1 | (1ull << 40));
    assert_int_equal(status(t), S_ACK | S_DRV);
    /* A subset with VERSION_1 is accepted; features are then frozen. */
    negotiate(t, F_VERSION_1);
    assert_int_equal(status(t), S_ACK | S_DRV | S_FOK);
    drv_features(t, F_VERSION_1 | F_DEV);
    assert_int_equal(t->f->d.features, F_VERSION_1);
}

static void queue_rules(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    negotiate(t, F_VERSION_1);
    d->qsel(t, 0);
    assert_int_equal(d->qsize(t), FAKE_Q0_MAX); /* reset value */
    d->set_qsize(t, 64);
    assert_int_equal(d->qsize(t), 64);
    static const uint32_t refused[] = {
        0,        /* zero */
        48, 100,  /* split ring: not a power of two */
        512, 1024 /* above the maximum */
    };
    for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
        d->set_qsize(t, refused[i]);
        assert_int_equal(d->qsize(t), 64);
    }
    d->qsel(t, 1);
    d->set_qsize(t, 32); /* queue 1's maximum is 16 */
    assert_int_equal(t->f->d.vq[1].size, FAKE_Q1_MAX);
    /* A missing queue: writes go nowhere, reads are 0. */
    static const uint32_t missing[] = {2, 9, 0xffff};
    for (unsigned i = 0; i < ARRAY_SIZE(missing); i++) {
        d->qsel(t, missing[i]);
        d->set_qsize(t, 8);
        d->set_qready(t, 1);
        d->set_qaddr(t, A_DESC, 0x1000);
        assert_int_equal(d->qready(t), 0);
        assert_int_equal(d->qsize(t), 0);
    }
    for (unsigned q = 0; q < 2; q++) {
        assert_false(t->f->d.vq[q].enabled);
        assert_int_equal(t->f->d.vq[q].desc_gpa, 0);
    }
    /* Once ready, a queue's configuration is frozen. */
    d->qsel(t, 0);
    d->set_qaddr(t, A_DESC, 0x30000);
    d->set_qready(t, 1);
    d->set_qaddr(t, A_DESC, 0x40000);
    d->set_qsize(t, 16);
    assert_int_equal(t->f->d.vq[0].desc_gpa, 0x30000);
    assert_int_equal(d->qaddr(t, A_DESC), 0x30000);
    assert_int_equal(d->qsize(t), 64);
    /* Ready 0 before DRIVER_OK: MMIO lets the driver take the queue back
     * (Linux's del_vq); PCI's queue_enable 0 is ignored. */
    d->set_qready(t, 0);
    if (d->ready0_takes_back) {
        assert_int_equal(d->qready(t), 0);
        d->set_qaddr(t, A_DESC, 0x40000);
        assert_int_equal(t->f->d.vq[0].desc_gpa, 0x40000);
    } else {
        assert_int_equal(d->qready(t), 1);
        assert_int_equal(d->qaddr(t, A_DESC), 0x30000);
    }
}

static void packed_sizes(void **state)
{
    struct t *t = *state;
    negotiate(t, F_VERSION_1 | (1ull << VIRTIO_F_RING_PACKED));
    t->drv->qsel(t, 0);
    t->drv->set_qsize(t, 48); /* packed rings need not be a power of two */
    assert_int_equal(t->drv->qsize(t), 48);
}

static void frozen_after_driver_ok(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    struct ring r0, r1;
    driver_init(t, F_VERSION_1, &r0, &r1);
    d->qsel(t, 0);
    d->set_qready(t, 0);
    d->set_qaddr(t, A_DESC, 0x50000);
    d->set_qsize(t, 4);
    assert_int_equal(d->qready(t), 1);
    assert_int_equal(t->f->d.vq[0].desc_gpa, r0.desc);
    assert_int_equal(t->f->d.vq[0].size, 8);
    d->qsel(t, 1);
    d->set_qaddr(t, A_DEVICE, 0x50000);
    d->set_qsize(t, 2);
    assert_int_equal(t->f->d.vq[1].device_gpa, r1.used);
    assert_int_equal(t->f->d.vq[1].size, 4);
    drv_features(t, F_VERSION_1 | F_DEV);
    assert_int_equal(t->f->d.features, F_VERSION_1);
}

static void reset_clears(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1 | F_DEV, &r0, &r1);
    virtio_config_changed(&t->f->d);
    assert_true(level(t));
    if (d->irq_peek)
        assert_int_equal(d->irq_peek(t), 2);
    unsigned resets = t->f->resets;
    set_status(t, 0);
    assert_int_equal(t->f->resets, resets + 1);
    assert_int_equal(status(t), 0);
    assert_false(level(t));
    assert_int_equal(d->irq_take(t), 0);
    assert_int_equal(t->f->d.features, 0);
    for (unsigned q = 0; q < 2; q++) {
        d->qsel(t, q);
        assert_int_equal(d->qready(t), 0);
        assert_int_equal(d->qsize(t), q ? FAKE_Q1_MAX : FAKE_Q0_MAX);
        assert_int_equal(d->qaddr(t, A_DESC), 0);
        assert_int_equal(d->qaddr(t, A_DRIVER), 0);
        assert_int_equal(d->qaddr(t, A_DEVICE), 0);
        assert_false(vq_ready(&t->f->d.vq[q]));
    }
    /* A kick now reaches nobody; a second initialisation works. */
    d->notify(t, 0);
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_int_equal(t->f->activations, 2);
    d->notify(t, 1);
    assert_true(fdev_wait(t->f, 1, 1));
}

static void notify_fallback(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    struct ring r0, r1;
    assert_int_equal(fvm_nioev(&t->v), 0); /* no KVM ioeventfd here */
    d->notify(t, 0);                       /* before DRIVER_OK: dropped */
    assert_true(fdev_wait_drained(t->f, 0));
    driver_init(t, F_VERSION_1, &r0, &r1);
    d->notify(t, 1);
    assert_true(fdev_wait(t->f, 1, 1));
    assert_int_equal(fdev_notifies(t->f, 0), 0);
    d->notify(t, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    d->notify_missing(t); /* reach nobody */
    d->notify(t, 1);
    assert_true(fdev_wait(t->f, 1, 2));
    assert_int_equal(fdev_notifies(t->f, 0), 1);
}

static void notify_ioeventfd(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    struct ring r0, r1;
    /* One ioeventfd per queue on its doorbell. */
    assert_int_equal(fvm_nioev(&t->v), 2);
    for (unsigned q = 0; q < 2; q++) {
        struct fake_ioev *e = d->doorbell_ioev(t, q);
        assert_non_null(e);
        assert_int_equal(e->len, d->doorbell_len);
        assert_int_equal(e->fd, t->f->d.kick[q]);
    }
    driver_init(t, F_VERSION_1, &r0, &r1);
    d->notify(t, 1); /* through "KVM": the register is not reached */
    assert_true(fdev_wait(t->f, 1, 1));
    d->notify(t, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    assert_int_equal(fdev_notifies(t->f, 1), 1);
}

static void used_interrupt(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_false(level(t));
    memset(t->v.ram + 0x80000, 0, 0x2000);
    ring_add(&t->v, &r0, 0x80000, 64);
    d->notify(t, 0);
    assert_true(fvm_wait_level(&t->v, d->gsi, true));
    assert_int_equal(ring_used_idx(&t->v, &r0), 1);
    assert_int_equal(ring_used_len(&t->v, &r0, 0), 64);
    assert_int_equal(t->v.ram[0x80000], 0xab);
    assert_int_equal(t->v.ram[0x8003f], 0xab);
    assert_int_equal(d->irq_take(t), 1);
    assert_false(level(t));
    assert_int_equal(d->irq_take(t), 0);
    ring_add(&t->v, &r1, 0x81000, 32);
    d->notify(t, 1);
    assert_true(fvm_wait_level(&t->v, d->gsi, true));
    assert_int_equal(ring_used_idx(&t->v, &r1), 1);
    assert_int_equal(ring_used_len(&t->v, &r1, 0), 32);
    assert_int_equal(t->v.ram[0x8101f], 0xab);
    assert_int_equal(d->irq_take(t), 1);
    assert_false(level(t));
    virtio_config_changed(&t->f->d);
    assert_true(level(t));
    assert_int_equal(d->irq_take(t), 2);
    assert_false(level(t));
    assert_int_equal(t->v.nmsi, 0);
}

static void config_space(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    assert_int_equal(d->cfg_rd(t, 0, 1), 0x10);
    assert_int_equal(d->cfg_rd(t, 2, 2), 0x1312);
    assert_int_equal(d->cfg_rd(t, 4, 4), 0x17161514);
    assert_int_equal(d->cfg_rd(t, 0, 8), 0x1716151413121110ull);
    d->cfg_wr(t, 6, 0xbeef, 2);
    assert_int_equal(t->f->cfg[6], 0xef);
    assert_int_equal(t->f->cfg[7], 0xbe);
    /* Past the 8 bytes: reads 0, writes dropped (the device's asserts
     * would fail on an out-of-range call). */
    assert_int_equal(d->cfg_rd(t, 6, 4), 0);
    assert_int_equal(d->cfg_rd(t, 8, 1), 0);
    assert_int_equal(d->cfg_rd(t, 0xfc, 4), 0);
    d->cfg_wr(t, 7, 0x1234, 2);
    d->cfg_wr(t, 0xf8, ~0ull, 8);
    assert_int_equal(t->f->cfg[7], 0xbe);
}

static void config_generation(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    struct ring r0, r1;
    uint8_t g0 = d->cfg_gen(t);
    virtio_config_changed(&t->f->d); /* before DRIVER_OK: no interrupt */
    uint8_t g1 = d->cfg_gen(t);
    assert_int_not_equal(g0, g1);
    assert_false(level(t));
    driver_init(t, F_VERSION_1, &r0, &r1);
    virtio_config_changed(&t->f->d);
    assert_int_not_equal(d->cfg_gen(t), g1);
    assert_true(level(t));
    assert_int_equal(d->irq_take(t), 2);
    assert_false(level(t));
}

static void needs_reset_activate(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    struct ring r0, r1;
    t->f->activate_rc = -1;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_true(status(t) & S_NRST);
    assert_true(level(t));
    if (d->irq_peek)
        assert_int_equal(d->irq_peek(t), 2);
    assert_int_equal(d->irq_take(t), 2); /* configuration interrupt */
    /* Kicks are not delivered to a device that needs a reset. */
    d->notify(t, 0);
    assert_true(fdev_wait_drained(t->f, 0));
    assert_int_equal(fdev_notifies(t->f, 0), 0);
    /* Reset clears it; a good start then works. */
    t->f->activate_rc = 0;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_int_equal(status(t), S_ALL);
}

static void needs_reset_bad_ring(void **state)
{
    struct t *t = *state;
    /* A descriptor table outside guest RAM cannot start. */
    negotiate(t, F_VERSION_1);
    struct ring bad = ring_at(FAKE_RAM - 0x1000, 8);
    setup_queue(t, 0, &bad);
    set_status(t, S_ALL);
    assert_true(status(t) & S_NRST);
    assert_int_equal(t->f->activations, 0);
}

static void needs_reset_bad_chain(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    /* A buffer that leaves RAM, one wholly outside it. */
    static const uint64_t bufs[] = {FAKE_RAM - 16, 0x1000000};
    t->f->echo = true;
    for (unsigned i = 0; i < ARRAY_SIZE(bufs); i++) {
        driver_init(t, F_VERSION_1, &r0, &r1);
        assert_int_equal(status(t), S_ALL);
        ring_add(&t->v, &r0, bufs[i], 64);
        t->drv->notify(t, 0);
        assert_true(fdev_wait(t->f, 0, i + 1));
        assert_true(fvm_wait_level(&t->v, t->drv->gsi, true));
        assert_true(status(t) & S_NRST);
        assert_int_equal(t->drv->irq_take(t) & 2, 2);
        assert_int_equal(t->f->pushed, 0);
    }
}

static void failed_honoured(void **state)
{
    struct t *t = *state;
    set_status(t, S_ACK | S_DRV);
    set_status(t, S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
    assert_int_equal(status(t), S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
    set_status(t, S_ACK | S_DRV | VIRTIO_STATUS_FAILED | S_DOK);
    assert_int_equal(t->f->activations, 0);
    assert_int_equal(status(t), S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
    t->drv->notify(t, 0); /* not running: no notify */
    assert_true(fdev_wait_drained(t->f, 0));
    assert_int_equal(fdev_notifies(t->f, 0), 0);
}

/* The log: a frozen clock (no interval ever passes) and a line counter. */
static atomic_uint log_lines;
static uint64_t frozen_ms(void)
{
    return 0;
}
static void count_line(enum log_class c, const char *line)
{
    (void)c, (void)line;
    atomic_fetch_add(&log_lines, 1);
}

static void reset_loop_log_bounded(void **state)
{
    struct t *t = *state;
    log_set_clock(frozen_ms);
    log_set_sink(count_line);
    atomic_store(&log_lines, 0);
    /* A driver that breaks the device, resets it and starts over forever:
     * bad ring (NEEDS_RESET), FAILED, unoffered features, bad accesses. */
    struct ring bad = ring_at(FAKE_RAM - 0x1000, 8);
    for (unsigned i = 0; i < 100000; i++) {
        set_status(t, 0);
        negotiate(t, F_VERSION_1);
        setup_queue(t, 0, &bad);
        set_status(t, S_ALL);
        assert_true(status(t) & S_NRST);
        set_status(t, S_ALL | VIRTIO_STATUS_FAILED);
        set_status(t, 0);
        drv_features(t, F_VERSION_1 | (1ull << 40));
        set_status(t, S_ACK | S_DRV | S_FOK);
        t->drv->bad_access(t);
    }
    log_set_sink(NULL);
    log_set_clock(NULL);
    /* One budget for the core, one for the transport. */
    assert_in_range(atomic_load(&log_lines), 1, 2 * 10);
}

/* virtio_bad.c's register_garbage on a running device: a pattern over the
 * whole register window, FAILED and more in the status; after a reset the
 * device must initialise again and complete a request. */
static void garbage_then_reset(void **state)
{
    struct t *t = *state;
    const struct tdrv *d = t->drv;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1);
    d->garbage(t);
    /* Nothing of the running device moved: its queues are frozen while
     * DRIVER_OK is set, its features since FEATURES_OK. */
    assert_int_equal(status(t), S_ALL);
    assert_int_equal(t->f->d.features, F_VERSION_1);
    const struct ring *rs[2] = {&r0, &r1};
    for (unsigned q = 0; q < 2; q++) {
        const struct virtqueue *vq = &t->f->d.vq[q];
        assert_true(vq->enabled);
        assert_int_equal(vq->size, rs[q]->size);
        assert_int_equal(vq->desc_gpa, rs[q]->desc);
        assert_int_equal(vq->driver_gpa, rs[q]->avail);
        assert_int_equal(vq->device_gpa, rs[q]->used);
    }
    set_status(t, 0xee);
    set_status(t, 0);
    assert_int_equal(status(t), 0);
    assert_int_equal(t->f->d.features, 0);
    for (unsigned q = 0; q < 2; q++) {
        d->qsel(t, q);
        assert_int_equal(d->qready(t), 0);
        assert_int_equal(d->qaddr(t, A_DESC), 0);
        assert_int_equal(d->qaddr(t, A_DRIVER), 0);
        assert_int_equal(d->qaddr(t, A_DEVICE), 0);
    }
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_int_equal(status(t), S_ALL);
    assert_int_equal(t->f->activations, 2);
    assert_int_equal(t->f->act_features, F_VERSION_1);
    for (unsigned q = 0; q < 2; q++)
        assert_true(vq_ready(&t->f->d.vq[q]));
    memset(t->v.ram + 0x80000, 0, 0x1000);
    ring_add(&t->v, &r0, 0x80000, 64);
    d->notify(t, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    assert_true(fvm_wait_level(&t->v, d->gsi, true));
    assert_int_equal(ring_used_idx(&t->v, &r0), 1);
    assert_int_equal(ring_used_len(&t->v, &r0, 0), 64);
    assert_int_equal(t->v.ram[0x80000], 0xab);
    assert_int_equal(d->irq_take(t), 1);
    assert_false(level(t));
}

/* The same with KVM's ioeventfds on the doorbells. */
static void garbage_then_reset_kvm(void **state)
{
    garbage_then_reset(state);
}

/* ---- virtio-mmio only --------------------------------------------------- */

static void mmio_identity(void **state)
{
    struct t *t = *state;
    assert_int_equal(rd(t, MAGIC), 0x74726976);
    assert_int_equal(rd(t, VERSION), 2);
    assert_int_equal(rd(t, DEVICE_ID), VIRTIO_ID_RNG);
    assert_int_not_equal(rd(t, VENDOR_ID), 0);
    wr(t, QSEL, 0);
    assert_int_equal(rd(t, QNUM_MAX), FAKE_Q0_MAX);
    wr(t, QSEL, 1);
    assert_int_equal(rd(t, QNUM_MAX), FAKE_Q1_MAX);
    wr(t, QSEL, 2);
    assert_int_equal(rd(t, QNUM_MAX), 0); /* no such queue */
}

/* InterruptACK clears only the bits written: the line stays high while
 * any is left. */
static void mmio_interrupt_ack(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1);
    ring_add(&t->v, &r0, 0x80000, 64);
    wr(t, QNOTIFY, 0);
    assert_true(fvm_wait_level(&t->v, M_GSI, true));
    assert_int_equal(rd(t, INT_STATUS), 1);
    wr(t, INT_ACK, 2); /* not the pending bit: stays high */
    assert_true(t->v.level[M_GSI]);
    assert_int_equal(rd(t, INT_STATUS), 1);
    wr(t, INT_ACK, 1);
    assert_int_equal(rd(t, INT_STATUS), 0);
    assert_false(t->v.level[M_GSI]);
}

static void mmio_bad_accesses(void **state)
{
    struct t *t = *state;
    /* Wrong widths and alignments read 0 and change nothing. */
    assert_int_equal(g_read(&t->v, false, M_BASE + MAGIC, 1), 0);
    assert_int_equal(g_read(&t->v, false, M_BASE + MAGIC, 2), 0);
    assert_int_equal(g_read(&t->v, false, M_BASE + MAGIC, 8), 0);
    assert_int_equal(g_read(&t->v, false, M_BASE + MAGIC + 1, 4), 0);
    g_write(&t->v, false, M_BASE + STATUS, S_ACK, 1);
    g_write(&t->v, false, M_BASE + STATUS, S_ACK, 2);
    g_write(&t->v, false, M_BASE + STATUS + 2, S_ACK, 4);
    g_write(&t->v, false, M_BASE + STATUS, S_ACK, 8);
    assert_int_equal(rd(t, STATUS), 0);
    /* Read-only and unknown registers. */
    wr(t, MAGIC, 0);
    wr(t, QNUM_MAX, 1);
    wr(t, INT_STATUS, 3);
    wr(t, CFG_GEN, 9);
    wr(t, 0x0f0, 1);
    assert_int_equal(rd(t, MAGIC), 0x74726976);
    wr(t, QSEL, 0);
    assert_int_equal(rd(t, QNUM_MAX), FAKE_Q0_MAX);
    assert_int_equal(rd(t, 0x0f0), 0);
    assert_int_equal(rd(t, QNOTIFY), 0); /* write-only */
    /* Selector extremes. */
    wr(t, QSEL, 0xffffffffu);
    assert_int_equal(rd(t, QNUM_MAX), 0);
    wr(t, QNUM, 8);
    wr(t, QREADY, 1);
    wr(t, DEV_FSEL, 0xffffffffu);
    assert_int_equal(rd(t, DEV_FEAT), 0);
    wr(t, DRV_FSEL, 0xffffffffu);
    wr(t, DRV_FEAT, 0xffffffffu);
    assert_int_equal(t->f->d.features, 0);
    for (unsigned q = 0; q < 2; q++)
        assert_false(t->f->d.vq[q].enabled);
}

/* Random accesses anywhere in the window: no crash, no out-of-range call
 * into the device (its asserts), no queue left in an impossible state. */
static void mmio_random_accesses(void **state)
{
    struct t *t = *state;
    uint32_t x = 12345;
    for (unsigned i = 0; i < 20000; i++) {
        uint64_t val;
        unsigned size = rand_access(&x, &val);
        uint64_t off = ((x >> 12) % 0x200) & ~(uint64_t)(size - 1);
        if (off + size > 0x200)
            continue;
        if (off == QNOTIFY || (i & 7) == 0)
            val &= 3;
        if (x & 1)
            g_write(&t->v, false, M_BASE + off, val, size);
        else
            (void)g_read(&t->v, false, M_BASE + off, size);
    }
    assert_queues_sane(t);
    /* Still a working device after all that. */
    struct ring r0, r1;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_int_equal(rd(t, STATUS), S_ALL);
}

static void mmio_attach_checks(void **state)
{
    (void)state;
    struct fvm v;
    fvm_init(&v);
    struct fdev *f = fdev_new(&v, VIRTIO_ID_RNG);
    struct vdev_spec vd = {0};
    vd.has_loc = true;
    vd.loc.space = SPACE_IO; /* not memory */
    vd.loc.base = 0x1000;
    assert_int_equal(virtio_mmio_attach(&f->d, &vd, &v.ctx), -1);
    vd.loc.space = SPACE_MEM;
    vd.loc.size = 0x104; /* too small for 8 bytes of configuration */
    assert_int_equal(virtio_mmio_attach(&f->d, &vd, &v.ctx), -1);
    vd.loc.size = 0; /* default 0x200; no intr: works, warned */
    f->d.legacy = true;
    assert_int_equal(virtio_mmio_attach(&f->d, &vd, &v.ctx), 0);
    assert_false(f->d.legacy);
    uint64_t val = 0;
    assert_int_equal(bus_access(&v.mmio, 0x1000 + 0x1fc, &val, 4, false),
                     BUS_OK);
    assert_int_equal(bus_access(&v.mmio, 0x1000 + 0x200, &val, 4, false),
                     BUS_UNMAPPED);
    fdev_free(&v, f);
    fvm_free(&v);
}

/* ---- virtio-pci only ---------------------------------------------------- */

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

static void pci_identity_caps(void **state)
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
}

/* What the common configuration reads back once the driver runs. */
static void pci_common_readback(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    driver_init(t, F_VERSION_1 | F_DEV, &r0, &r1);
    cc_wr(t, CC_GFSELECT, 1, 4);
    assert_int_equal(cc_rd(t, CC_GF, 4), 1); /* VERSION_1 */
    for (unsigned q = 0; q < 2; q++) {
        cc_wr(t, CC_Q_SELECT, q, 2);
        assert_int_equal(cc_rd(t, CC_Q_NOFF, 2), q);
    }
}

static void pci_vectors(void **state)
{
    struct t *t = *state;
    negotiate(t, F_VERSION_1);
    /* Vectors: one the function has, one it has not. */
    cc_wr(t, CC_Q_SELECT, 0, 2);
    cc_wr(t, CC_Q_MSIX, 2, 2);
    assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), 2);
    cc_wr(t, CC_Q_MSIX, NVEC, 2);
    assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), NO_VECTOR);
    cc_wr(t, CC_MSIX, 1, 2);
    assert_int_equal(cc_rd(t, CC_MSIX, 2), 1);
    cc_wr(t, CC_MSIX, 0x7ff, 2);
    assert_int_equal(cc_rd(t, CC_MSIX, 2), NO_VECTOR);
    /* queue_select out of range: it reads back, its vector is none. */
    cc_wr(t, CC_Q_SELECT, 2, 2);
    assert_int_equal(cc_rd(t, CC_Q_SELECT, 2), 2);
    assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), NO_VECTOR);
    cc_wr(t, CC_Q_MSIX, 0, 2);
    assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), NO_VECTOR);
}

static void pci_reset_vectors(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->vec[0] = 1;
    t->vec[1] = 2;
    driver_init(t, F_VERSION_1 | F_DEV, &r0, &r1);
    cc_wr(t, CC_MSIX, 0, 2);
    virtio_config_changed(&t->f->d); /* INTx: MSI-X is off */
    assert_true(t->v.level[P_GSI]);
    cc_wr(t, CC_STATUS, 0, 1);
    assert_false(t->v.level[P_GSI]);
    assert_int_equal(isr_rd(t), 0);
    assert_int_equal(cc_rd(t, CC_MSIX, 2), NO_VECTOR);
    assert_int_equal(cc_rd(t, CC_Q_SELECT, 2), 0);
    cc_wr(t, CC_GFSELECT, 0, 4);
    assert_int_equal(cc_rd(t, CC_GF, 4), 0);
    for (unsigned q = 0; q < 2; q++) {
        cc_wr(t, CC_Q_SELECT, q, 2);
        assert_int_equal(cc_rd(t, CC_Q_MSIX, 2), NO_VECTOR);
    }
}

/* 4-byte doorbell writes kick too (without ioeventfds). */
static void pci_doorbell_widths(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    driver_init(t, F_VERSION_1, &r0, &r1);
    g_write(&t->v, false, t->c.bar4 + t->c.notify + t->c.mult, 1, 4);
    assert_true(fdev_wait(t->f, 1, 1));
    doorbell(t, 1);
    assert_true(fdev_wait(t->f, 1, 2));
    assert_int_equal(fdev_notifies(t->f, 0), 0);
}

static void pci_ioeventfd_moves(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    driver_init(t, F_VERSION_1, &r0, &r1);
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
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ALL);
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
static void pci_ioeventfd_16(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    assert_int_equal(fvm_nioev(&t->v), 2);
    for (unsigned q = 0; q < 2; q++) {
        struct fake_ioev *e = p_doorbell_ioev(t, q);
        assert_non_null(e);
        assert_int_equal(e->len, 2);
    }
    driver_init(t, F_VERSION_1, &r0, &r1);
    doorbell(t, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    g_write(&t->v, false, t->c.bar4 + t->c.notify + t->c.mult, 1, 4);
    assert_true(fdev_wait(t->f, 1, 1));
}

static void pci_msix(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->echo = true;
    msix_on(t);
    t->vec[0] = 1;
    driver_init(t, F_VERSION_1, &r0, &r1);
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
    assert_false(t->v.level[P_GSI]);
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

static void pci_legacy(void **state)
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

static void pci_bad_accesses(void **state)
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
static void pci_random_accesses(void **state)
{
    struct t *t = *state;
    uint32_t x = 4242;
    for (unsigned i = 0; i < 30000; i++) {
        uint64_t val;
        unsigned size = rand_access(&x, &val);
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
    assert_queues_sane(t);
    cfg_write(t, t->c.msix + 2, 0, 2); /* MSI-X off again */
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_int_equal(cc_rd(t, CC_STATUS, 1), S_ALL);
    ring_add(&t->v, &r0, 0x80000, 16);
    doorbell(t, 0);
    assert_true(fvm_wait_level(&t->v, P_GSI, true));
    assert_int_equal(isr_rd(t), 1);
}

static void pci_attach_checks(void **state)
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
static void pci_realize_from_spec(void **state)
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
                                .intx = {.line = P_GSI},
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

#define BOTH(f, s)                                                             \
    {#f " (mmio)", f, s, teardown, (void *)&mmio_drv},                         \
    {                                                                          \
#f " (pci)", f, s, teardown, (void *)&pci_drv                          \
    }
#define MMIO(f, s)                                                             \
    {                                                                          \
#f, f, s, teardown, (void *)&mmio_drv                                  \
    }
#define PCI(f, s)                                                              \
    {                                                                          \
#f, f, s, teardown, (void *)&pci_drv                                   \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* shared: once per transport */
        BOTH(identity, setup),
        BOTH(full_init, setup),
        BOTH(refuse_no_version1, setup),
        BOTH(refuse_not_offered, setup),
        BOTH(queue_rules, setup),
        BOTH(packed_sizes, setup),
        BOTH(frozen_after_driver_ok, setup),
        BOTH(reset_clears, setup),
        BOTH(notify_fallback, setup),
        BOTH(notify_ioeventfd, setup_kvm),
        BOTH(used_interrupt, setup),
        BOTH(config_space, setup),
        BOTH(config_generation, setup),
        BOTH(needs_reset_activate, setup),
        BOTH(needs_reset_bad_ring, setup),
        BOTH(needs_reset_bad_chain, setup),
        BOTH(failed_honoured, setup),
        BOTH(reset_loop_log_bounded, setup),
        BOTH(garbage_then_reset, setup),
        BOTH(garbage_then_reset_kvm, setup_kvm),
        /* virtio-mmio */
        MMIO(mmio_identity, setup),
        MMIO(mmio_interrupt_ack, setup),
        MMIO(mmio_bad_accesses, setup),
        MMIO(mmio_random_accesses, setup_kvm),
        cmocka_unit_test(mmio_attach_checks),
        /* virtio-pci */
        PCI(pci_identity_caps, setup),
        PCI(pci_common_readback, setup),
        PCI(pci_vectors, setup),
        PCI(pci_reset_vectors, setup),
        PCI(pci_doorbell_widths, setup),
        PCI(pci_ioeventfd_moves, setup_kvm),
        PCI(pci_ioeventfd_16, setup_kvm16),
        PCI(pci_msix, setup),
        PCI(pci_cfg_window, setup),
        PCI(pci_legacy, setup_legacy),
        PCI(pci_bad_accesses, setup),
        PCI(pci_random_accesses, setup_legacy),
        cmocka_unit_test(pci_attach_checks),
        cmocka_unit_test(pci_realize_from_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_virtio_mmio.c: the virtio-mmio transport (src/virtio/virtio_mmio.c)
 * and the shared core (src/virtio/virtio.c), driven through the MMIO bus
 * exactly as a guest driver would (virtio 1.2, 4.2.3): identity, feature
 * negotiation (and its refusals), queue configuration rules, DRIVER_OK and
 * activation, reset, notifications through the kick eventfd and the event
 * thread (with and without KVM's ioeventfd), used-buffer and configuration
 * interrupts on the level-triggered line, the configuration space and its
 * generation, NEEDS_RESET, and malicious accesses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtio_fake.h"

#define BASE 0xd0000000ull
#define GSI  5

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
#define QDESC_HI   0x084
#define QDRV_LO    0x090
#define QDRV_HI    0x094
#define QDEV_LO    0x0a0
#define QDEV_HI    0x0a4
#define CFG_GEN    0x0fc
#define CONFIG     0x100

#define S_ACK  VIRTIO_STATUS_ACKNOWLEDGE
#define S_DRV  VIRTIO_STATUS_DRIVER
#define S_FOK  VIRTIO_STATUS_FEATURES_OK
#define S_DOK  VIRTIO_STATUS_DRIVER_OK
#define S_NRST VIRTIO_STATUS_NEEDS_RESET

struct t {
    struct fvm v;
    struct fdev *f;
    struct vdev_spec vd;
};

static uint32_t rd(struct t *t, uint64_t off)
{
    return (uint32_t)g_read(&t->v, false, BASE + off, 4);
}

static void wr(struct t *t, uint64_t off, uint32_t val)
{
    g_write(&t->v, false, BASE + off, val, 4);
}

static int setup_common(void **state, bool kvm)
{
    struct t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    fvm_init(&t->v);
    t->v.kvm_ioeventfd = kvm;
    t->f = fdev_new(&t->v, VIRTIO_ID_RNG);
    t->vd.has_loc = true;
    t->vd.loc.space = SPACE_MEM;
    t->vd.loc.base = BASE;
    t->vd.loc.size = 0x200;
    struct intr *in = VEC_PUSH(&t->vd.intrs);
    assert_non_null(in);
    in->line = GSI;
    assert_int_equal(virtio_mmio_attach(&t->f->d, &t->vd, &t->v.ctx), 0);
    *state = t;
    return 0;
}

static int setup(void **state)
{
    return setup_common(state, false);
}

static int setup_kvm(void **state)
{
    return setup_common(state, true);
}

static int teardown(void **state)
{
    struct t *t = *state;
    fdev_free(&t->v, t->f);
    /* detach unmapped the window and removed every ioeventfd */
    assert_int_equal(rd(t, MAGIC), 0xffffffffu);
    assert_int_equal(fvm_nioev(&t->v), 0);
    assert_false(t->v.level[GSI]);
    fvm_free(&t->v);
    VEC_FREE(&t->vd.intrs);
    free(t);
    return 0;
}

static uint64_t dev_features(struct t *t)
{
    wr(t, DEV_FSEL, 0);
    uint64_t lo = rd(t, DEV_FEAT);
    wr(t, DEV_FSEL, 1);
    uint64_t hi = rd(t, DEV_FEAT);
    return hi << 32 | lo;
}

static void drv_features(struct t *t, uint64_t f)
{
    wr(t, DRV_FSEL, 0);
    wr(t, DRV_FEAT, (uint32_t)f);
    wr(t, DRV_FSEL, 1);
    wr(t, DRV_FEAT, (uint32_t)(f >> 32));
}

static void setup_queue(struct t *t, unsigned q, const struct ring *r)
{
    wr(t, QSEL, q);
    assert_int_equal(rd(t, QREADY), 0);
    wr(t, QNUM, r->size);
    wr(t, QDESC_LO, (uint32_t)r->desc);
    wr(t, QDESC_HI, (uint32_t)(r->desc >> 32));
    wr(t, QDRV_LO, (uint32_t)r->avail);
    wr(t, QDRV_HI, (uint32_t)(r->avail >> 32));
    wr(t, QDEV_LO, (uint32_t)r->used);
    wr(t, QDEV_HI, (uint32_t)(r->used >> 32));
    wr(t, QREADY, 1);
    assert_int_equal(rd(t, QREADY), 1);
}

/* The whole of 3.1.1 with `feat` accepted and queue 0 (8 entries) and
 * queue 1 (4 entries) set up. */
static void driver_init(struct t *t, uint64_t feat, struct ring *r0,
                        struct ring *r1)
{
    wr(t, STATUS, 0);
    wr(t, STATUS, S_ACK);
    wr(t, STATUS, S_ACK | S_DRV);
    assert_true((dev_features(t) & feat) == feat);
    drv_features(t, feat);
    wr(t, STATUS, S_ACK | S_DRV | S_FOK);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV | S_FOK);
    *r0 = ring_at(0x10000, 8);
    *r1 = ring_at(0x20000, 4);
    setup_queue(t, 0, r0);
    setup_queue(t, 1, r1);
    wr(t, STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
}

static void identity(void **state)
{
    struct t *t = *state;
    assert_int_equal(rd(t, MAGIC), 0x74726976);
    assert_int_equal(rd(t, VERSION), 2);
    assert_int_equal(rd(t, DEVICE_ID), VIRTIO_ID_RNG);
    assert_int_not_equal(rd(t, VENDOR_ID), 0);
    assert_int_equal(rd(t, STATUS), 0);
    wr(t, QSEL, 0);
    assert_int_equal(rd(t, QNUM_MAX), FAKE_Q0_MAX);
    wr(t, QSEL, 1);
    assert_int_equal(rd(t, QNUM_MAX), FAKE_Q1_MAX);
    wr(t, QSEL, 2);
    assert_int_equal(rd(t, QNUM_MAX), 0); /* no such queue */
    uint64_t f = dev_features(t);
    assert_true(f & F_DEV);
    assert_true(f & F_VERSION_1);
    assert_true(f & (1ull << VIRTIO_F_INDIRECT_DESC));
    assert_true(f & (1ull << VIRTIO_F_EVENT_IDX));
    assert_true(f & (1ull << VIRTIO_F_RING_PACKED));
    assert_false(f & (1ull << VIRTIO_F_IN_ORDER));
    wr(t, DEV_FSEL, 7);
    assert_int_equal(rd(t, DEV_FEAT), 0);
}

static void full_init(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    uint64_t feat = F_VERSION_1 | F_DEV | (1ull << VIRTIO_F_EVENT_IDX);
    driver_init(t, feat, &r0, &r1);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
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
    /* Rewriting DRIVER_OK does not activate twice. */
    wr(t, STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_int_equal(t->f->activations, 1);
}

static void refuse_no_version1(void **state)
{
    struct t *t = *state;
    wr(t, STATUS, S_ACK | S_DRV);
    drv_features(t, F_DEV);
    wr(t, STATUS, S_ACK | S_DRV | S_FOK);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV); /* refused */
    /* DRIVER_OK anyway: nothing starts. */
    wr(t, STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_false(rd(t, STATUS) & S_DOK);
    assert_int_equal(t->f->activations, 0);
}

static void refuse_not_offered(void **state)
{
    struct t *t = *state;
    wr(t, STATUS, S_ACK | S_DRV);
    drv_features(t, F_VERSION_1 | F_DEV | (1ull << 7));
    wr(t, STATUS, S_ACK | S_DRV | S_FOK);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV);
    drv_features(t, F_VERSION_1 | (1ull << 40));
    wr(t, STATUS, S_ACK | S_DRV | S_FOK);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV);
    /* A subset with VERSION_1 is accepted; features are then frozen. */
    drv_features(t, F_VERSION_1);
    wr(t, STATUS, S_ACK | S_DRV | S_FOK);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV | S_FOK);
    drv_features(t, F_VERSION_1 | F_DEV);
    assert_int_equal(t->f->d.features, F_VERSION_1);
}

static void queue_rules(void **state)
{
    struct t *t = *state;
    wr(t, STATUS, S_ACK | S_DRV);
    drv_features(t, F_VERSION_1);
    wr(t, STATUS, S_ACK | S_DRV | S_FOK);
    wr(t, QSEL, 0);
    wr(t, QNUM, 64);
    assert_int_equal(rd(t, QNUM), 64);
    wr(t, QNUM, 0); /* refused: zero */
    assert_int_equal(rd(t, QNUM), 64);
    wr(t, QNUM, 48); /* refused: split ring, not a power of two */
    assert_int_equal(rd(t, QNUM), 64);
    wr(t, QNUM, 512); /* refused: above QueueNumMax */
    assert_int_equal(rd(t, QNUM), 64);
    wr(t, QSEL, 1);
    wr(t, QNUM, 32); /* queue 1's maximum is 16 */
    assert_int_equal(t->f->d.vq[1].size, FAKE_Q1_MAX);
    /* A missing queue: writes go nowhere, reads are 0. */
    wr(t, QSEL, 9);
    wr(t, QNUM, 8);
    wr(t, QREADY, 1);
    wr(t, QDESC_LO, 0x1000);
    assert_int_equal(rd(t, QREADY), 0);
    assert_int_equal(rd(t, QNUM), 0);
    assert_false(t->f->d.vq[0].enabled);
    assert_false(t->f->d.vq[1].enabled);
    /* Once ready, a queue's configuration is frozen. */
    wr(t, QSEL, 0);
    wr(t, QDESC_LO, 0x30000);
    wr(t, QREADY, 1);
    wr(t, QDESC_LO, 0x40000);
    wr(t, QNUM, 16);
    assert_int_equal(t->f->d.vq[0].desc_gpa, 0x30000);
    assert_int_equal(rd(t, QNUM), 64);
    /* Before DRIVER_OK the driver may take a queue back (Linux's del_vq). */
    wr(t, QREADY, 0);
    assert_int_equal(rd(t, QREADY), 0);
    wr(t, QDESC_LO, 0x40000);
    assert_int_equal(t->f->d.vq[0].desc_gpa, 0x40000);
}

static void packed_sizes(void **state)
{
    struct t *t = *state;
    wr(t, STATUS, S_ACK | S_DRV);
    drv_features(t, F_VERSION_1 | (1ull << VIRTIO_F_RING_PACKED));
    wr(t, STATUS, S_ACK | S_DRV | S_FOK);
    wr(t, QSEL, 0);
    wr(t, QNUM, 48); /* packed rings need not be a power of two */
    assert_int_equal(rd(t, QNUM), 48);
}

static void frozen_after_driver_ok(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    driver_init(t, F_VERSION_1, &r0, &r1);
    wr(t, QSEL, 0);
    wr(t, QREADY, 0);
    wr(t, QDESC_LO, 0x50000);
    wr(t, QNUM, 4);
    assert_int_equal(rd(t, QREADY), 1);
    assert_int_equal(t->f->d.vq[0].desc_gpa, r0.desc);
    assert_int_equal(t->f->d.vq[0].size, 8);
    drv_features(t, F_VERSION_1 | F_DEV);
    assert_int_equal(t->f->d.features, F_VERSION_1);
}

static void reset_clears(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1 | F_DEV, &r0, &r1);
    virtio_config_changed(&t->f->d);
    assert_int_equal(rd(t, INT_STATUS), 2);
    assert_true(t->v.level[GSI]);
    unsigned resets = t->f->resets;
    wr(t, STATUS, 0);
    assert_int_equal(t->f->resets, resets + 1);
    assert_int_equal(rd(t, STATUS), 0);
    assert_int_equal(rd(t, INT_STATUS), 0);
    assert_false(t->v.level[GSI]);
    assert_int_equal(t->f->d.features, 0);
    for (unsigned q = 0; q < 2; q++) {
        wr(t, QSEL, q);
        assert_int_equal(rd(t, QREADY), 0);
        assert_int_equal(rd(t, QNUM), q ? FAKE_Q1_MAX : FAKE_Q0_MAX);
        assert_int_equal(rd(t, QDESC_LO), 0);
        assert_int_equal(rd(t, QDRV_LO), 0);
        assert_int_equal(rd(t, QDEV_LO), 0);
        assert_false(vq_ready(&t->f->d.vq[q]));
    }
    /* A kick now reaches nobody; a second initialisation works. */
    wr(t, QNOTIFY, 0);
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_int_equal(t->f->activations, 2);
    wr(t, QNOTIFY, 1);
    assert_true(fdev_wait(t->f, 1, 1));
}

static void notify_fallback(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    assert_int_equal(fvm_nioev(&t->v), 0); /* no KVM ioeventfd here */
    wr(t, QNOTIFY, 0);                     /* before DRIVER_OK: dropped */
    assert_true(fdev_wait_drained(t->f, 0));
    driver_init(t, F_VERSION_1, &r0, &r1);
    wr(t, QNOTIFY, 1);
    assert_true(fdev_wait(t->f, 1, 1));
    assert_int_equal(fdev_notifies(t->f, 0), 0);
    wr(t, QNOTIFY, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    wr(t, QNOTIFY, 2);       /* no such queue */
    wr(t, QNOTIFY, 0x10000); /* nor this */
    wr(t, QNOTIFY, 1);
    assert_true(fdev_wait(t->f, 1, 2));
    assert_int_equal(fdev_notifies(t->f, 0), 1);
}

static void notify_ioeventfd(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    /* One ioeventfd per queue on QueueNotify, datamatch the index. */
    assert_int_equal(fvm_nioev(&t->v), 2);
    for (unsigned q = 0; q < 2; q++) {
        struct fake_ioev *e =
            fvm_find_ioev(&t->v, false, BASE + QNOTIFY, true, q);
        assert_non_null(e);
        assert_int_equal(e->len, 4);
        assert_int_equal(e->fd, t->f->d.kick[q]);
    }
    driver_init(t, F_VERSION_1, &r0, &r1);
    wr(t, QNOTIFY, 1); /* through "KVM": the register is not reached */
    assert_true(fdev_wait(t->f, 1, 1));
    wr(t, QNOTIFY, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    assert_int_equal(fdev_notifies(t->f, 1), 1);
}

static void used_interrupt(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_false(t->v.level[GSI]);
    memset(t->v.ram + 0x80000, 0, 64);
    ring_add(&t->v, &r0, 0x80000, 64);
    wr(t, QNOTIFY, 0);
    assert_true(fvm_wait_level(&t->v, GSI, true));
    assert_int_equal(rd(t, INT_STATUS), 1);
    assert_int_equal(ring_used_idx(&t->v, &r0), 1);
    assert_int_equal(ring_used_len(&t->v, &r0, 0), 64);
    assert_int_equal(t->v.ram[0x80000], 0xab);
    assert_int_equal(t->v.ram[0x8003f], 0xab);
    wr(t, INT_ACK, 2); /* not the pending bit: stays high */
    assert_true(t->v.level[GSI]);
    wr(t, INT_ACK, 1);
    assert_int_equal(rd(t, INT_STATUS), 0);
    assert_false(t->v.level[GSI]);
}

static void config_space(void **state)
{
    struct t *t = *state;
    assert_int_equal(g_read(&t->v, false, BASE + CONFIG, 1), 0x10);
    assert_int_equal(g_read(&t->v, false, BASE + CONFIG + 2, 2), 0x1312);
    assert_int_equal(g_read(&t->v, false, BASE + CONFIG + 4, 4), 0x17161514);
    assert_int_equal(g_read(&t->v, false, BASE + CONFIG, 8),
                     0x1716151413121110ull);
    g_write(&t->v, false, BASE + CONFIG + 6, 0xbeef, 2);
    assert_int_equal(t->f->cfg[6], 0xef);
    assert_int_equal(t->f->cfg[7], 0xbe);
    /* Past the 8 bytes: reads 0, writes dropped (the device's asserts
     * would fail on an out-of-range call). */
    assert_int_equal(g_read(&t->v, false, BASE + CONFIG + 6, 4), 0);
    assert_int_equal(g_read(&t->v, false, BASE + CONFIG + 8, 1), 0);
    assert_int_equal(g_read(&t->v, false, BASE + 0x1fc, 4), 0);
    g_write(&t->v, false, BASE + CONFIG + 7, 0x1234, 2);
    g_write(&t->v, false, BASE + 0x1f8, ~0ull, 8);
    assert_int_equal(t->f->cfg[7], 0xbe);
}

static void config_generation(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    uint32_t g0 = rd(t, CFG_GEN);
    virtio_config_changed(&t->f->d); /* before DRIVER_OK: no interrupt */
    uint32_t g1 = rd(t, CFG_GEN);
    assert_int_not_equal(g0, g1);
    assert_false(t->v.level[GSI]);
    driver_init(t, F_VERSION_1, &r0, &r1);
    virtio_config_changed(&t->f->d);
    assert_int_not_equal(rd(t, CFG_GEN), g1);
    assert_true(t->v.level[GSI]);
    assert_int_equal(rd(t, INT_STATUS), 2);
    wr(t, INT_ACK, 2);
    assert_false(t->v.level[GSI]);
}

static void needs_reset_activate(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->activate_rc = -1;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_true(rd(t, STATUS) & S_NRST);
    assert_int_equal(rd(t, INT_STATUS), 2); /* configuration interrupt */
    assert_true(t->v.level[GSI]);
    /* Kicks are not delivered to a device that needs a reset. */
    wr(t, QNOTIFY, 0);
    assert_true(fdev_wait_drained(t->f, 0));
    assert_int_equal(fdev_notifies(t->f, 0), 0);
    /* Reset clears it; a good start then works. */
    t->f->activate_rc = 0;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
}

static void needs_reset_bad_ring(void **state)
{
    struct t *t = *state;
    /* A descriptor table outside guest RAM cannot start. */
    wr(t, STATUS, S_ACK | S_DRV);
    drv_features(t, F_VERSION_1);
    wr(t, STATUS, S_ACK | S_DRV | S_FOK);
    struct ring bad = ring_at(FAKE_RAM - 0x1000, 8);
    setup_queue(t, 0, &bad);
    wr(t, STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
    assert_true(rd(t, STATUS) & S_NRST);
    assert_int_equal(t->f->activations, 0);
}

static void needs_reset_bad_chain(void **state)
{
    struct t *t = *state;
    struct ring r0, r1;
    t->f->echo = true;
    driver_init(t, F_VERSION_1, &r0, &r1);
    ring_add(&t->v, &r0, FAKE_RAM - 16, 64); /* buffer leaves RAM */
    wr(t, QNOTIFY, 0);
    assert_true(fdev_wait(t->f, 0, 1));
    assert_true(fvm_wait_level(&t->v, GSI, true));
    assert_true(rd(t, STATUS) & S_NRST);
    assert_int_equal(rd(t, INT_STATUS) & 2, 2);
    assert_int_equal(t->f->pushed, 0);
}

static void failed_honoured(void **state)
{
    struct t *t = *state;
    wr(t, STATUS, S_ACK | S_DRV);
    wr(t, STATUS, S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
    wr(t, STATUS, S_ACK | S_DRV | VIRTIO_STATUS_FAILED | S_DOK);
    assert_int_equal(t->f->activations, 0);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV | VIRTIO_STATUS_FAILED);
    wr(t, QNOTIFY, 0); /* not running: no notify */
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
        wr(t, STATUS, 0);
        wr(t, STATUS, S_ACK | S_DRV);
        drv_features(t, F_VERSION_1);
        wr(t, STATUS, S_ACK | S_DRV | S_FOK);
        setup_queue(t, 0, &bad);
        wr(t, STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
        assert_true(rd(t, STATUS) & S_NRST);
        wr(t, STATUS, S_ACK | S_DRV | S_FOK | S_DOK | VIRTIO_STATUS_FAILED);
        wr(t, STATUS, 0);
        drv_features(t, F_VERSION_1 | (1ull << 40));
        wr(t, STATUS, S_ACK | S_DRV | S_FOK);
        g_write(&t->v, false, BASE + STATUS, S_ACK, 1);
    }
    log_set_sink(NULL);
    log_set_clock(NULL);
    /* One budget for the core, one for the transport. */
    assert_in_range(atomic_load(&log_lines), 1, 2 * 10);
}

static void bad_accesses(void **state)
{
    struct t *t = *state;
    /* Wrong widths and alignments read 0 and change nothing. */
    assert_int_equal(g_read(&t->v, false, BASE + MAGIC, 1), 0);
    assert_int_equal(g_read(&t->v, false, BASE + MAGIC, 2), 0);
    assert_int_equal(g_read(&t->v, false, BASE + MAGIC, 8), 0);
    assert_int_equal(g_read(&t->v, false, BASE + MAGIC + 1, 4), 0);
    g_write(&t->v, false, BASE + STATUS, S_ACK, 1);
    g_write(&t->v, false, BASE + STATUS, S_ACK, 2);
    g_write(&t->v, false, BASE + STATUS + 2, S_ACK, 4);
    g_write(&t->v, false, BASE + STATUS, S_ACK, 8);
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
static void random_accesses(void **state)
{
    struct t *t = *state;
    static const unsigned sizes[] = {1, 2, 4, 8};
    uint32_t x = 12345;
    for (unsigned i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        unsigned size = sizes[(x >> 8) & 3];
        uint64_t off = ((x >> 12) % 0x200) & ~(uint64_t)(size - 1);
        if (off + size > 0x200)
            continue;
        uint64_t val = (uint64_t)x * 2654435761u;
        if (off == QNOTIFY || (i & 7) == 0)
            val &= 3;
        if (x & 1)
            g_write(&t->v, false, BASE + off, val, size);
        else
            (void)g_read(&t->v, false, BASE + off, size);
    }
    for (unsigned q = 0; q < 2; q++) {
        const struct virtqueue *vq = &t->f->d.vq[q];
        assert_true(vq->size <= vq->max_size);
    }
    /* Still a working device after all that. */
    struct ring r0, r1;
    driver_init(t, F_VERSION_1, &r0, &r1);
    assert_int_equal(rd(t, STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
}

static void attach_checks(void **state)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identity, setup, teardown),
        cmocka_unit_test_setup_teardown(full_init, setup, teardown),
        cmocka_unit_test_setup_teardown(refuse_no_version1, setup, teardown),
        cmocka_unit_test_setup_teardown(refuse_not_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(queue_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(packed_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(frozen_after_driver_ok, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reset_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(notify_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(notify_ioeventfd, setup_kvm, teardown),
        cmocka_unit_test_setup_teardown(used_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(config_space, setup, teardown),
        cmocka_unit_test_setup_teardown(config_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(needs_reset_activate, setup, teardown),
        cmocka_unit_test_setup_teardown(needs_reset_bad_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(needs_reset_bad_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_loop_log_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(random_accesses, setup_kvm, teardown),
        cmocka_unit_test(attach_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

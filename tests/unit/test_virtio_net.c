/*
 * test_virtio_net.c: virtio-net (src/virtio/net.c) driven through the
 * shared core by hand-built split rings in fake guest RAM, one event loop
 * per device as in separate qvm processes:
 *   - configuration space: MAC from `mac`, the derived MAC (stable,
 *     locally administered, per name), link status, the feature offer and
 *     `peerfeats` offloads;
 *   - two devices joined by the qvm-to-qvm peer backend under a temporary
 *     $QVM_RUNTIME_DIR: a frame from A's guest arrives in B's receive
 *     buffers with a correct header (v1, legacy 10-byte, mergeable across
 *     buffers), partial checksums completed for a guest without
 *     GUEST_CSUM, either start order, a peer restart, a stale endpoint
 *     replaced and a live duplicate refused;
 *   - bounds: no receive buffers (the sender's frames wait for the
 *     peer, then are dropped once it is stuck), a burst beyond the
 *     socket buffer (waits, nothing dropped), an absent peer (dropped,
 *     counted, no log storm);
 *   - malformed transmit chains (short, runt, too big, offloads not
 *     negotiated, outside guest RAM): dropped or NEEDS_RESET, no crash;
 *   - the tap backend both ways, seen from the host through an AF_PACKET
 *     socket (skipped when taps cannot be made, except under CI=true).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/schema.h"
#include "loader/gview.h"
#include "util/log.h"
#include "util/vec.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "vm/event.h"

#include "ev_flush.h"
#include "unpriv.h"

#define RAM_SIZE  (8u << 20)
#define SLOT_SIZE (2u << 20) /* one guest's part of the fake RAM */
#define QS        64
#define WAIT_MS   60000  /* bounds a hang; never a window */
#define ETYPE     0x88b5 /* IEEE local experimental */

#define F(b) (1ull << (b))
#define F_STD                                                                  \
    (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS))
#define F_MRG (F_STD | F(VIRTIO_NET_F_MRG_RXBUF))

static unsigned char *ram;
static struct gview gv;
static char rundir[64];

/* ---- a guest: one device, its own event loop, two split rings ---------- */

struct gq {
    uint64_t desc, avail, used;
    uint16_t next, avail_idx, last_used;
};

struct guest {
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct virtio_dev *d;
    struct virtio_transport_ops tops;
    atomic_uint irqs, cfg_irqs;
    struct gq q[2];
    uint64_t base, brk;
};

static void on_interrupt(struct virtio_dev *d, int q)
{
    struct guest *g = d->transport;
    if (q < 0)
        atomic_fetch_add(&g->cfg_irqs, 1);
    else
        atomic_fetch_add(&g->irqs, 1);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void add_opt(struct vdev_spec *vd, const char *name, const char *text,
                    uint64_t num)
{
    struct opt_val *o = VEC_PUSH(&vd->opts);
    assert_non_null(o);
    o->def = opt_find(vd->type->opts, name);
    assert_non_null(o->def);
    o->text = strdup(text ? text : "");
    o->num = num;
}

/* The spec of a virtio-net at PCI 00:slot.0; peer/mac may be NULL. */
static void spec_net(struct vdev_spec *vd, unsigned slot, const char *name,
                     const char *peer, const char *mac, int64_t peerfeats)
{
    memset(vd, 0, sizeof(*vd));
    vd->type = vdev_type_find("virtio-net");
    assert_non_null(vd->type);
    vd->name = name ? strdup(name) : NULL;
    vd->is_pci = true;
    vd->pci.bdf = (struct bdf){0, (uint8_t)(3 + slot), 0};
    if (peer)
        add_opt(vd, "peer", peer, 0);
    if (mac) {
        unsigned b[6];
        assert_int_equal(sscanf(mac, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2],
                                &b[3], &b[4], &b[5]),
                         6);
        uint64_t v = 0;
        for (int i = 0; i < 6; i++)
            v = v << 8 | b[i];
        add_opt(vd, "mac", mac, v);
    }
    if (peerfeats >= 0)
        add_opt(vd, "peerfeats", "", (uint64_t)peerfeats);
}

static void spec_free_vd(struct vdev_spec *vd)
{
    for (size_t i = 0; i < vd->opts.n; i++)
        free(vd->opts.v[i].text);
    VEC_FREE(&vd->opts);
    free(vd->name);
    vd->name = NULL;
}

/* guest_new: 0 and g->d, or virtio_net_new's failure (-1). */
static int guest_try(struct guest *g, unsigned slot, const char *system,
                     const char *name, const char *peer, const char *mac,
                     int64_t peerfeats)
{
    memset(g, 0, sizeof(*g));
    g->ctx.mem = &gv;
    g->ctx.system = system;
    g->ctx.ev = ev_new();
    assert_non_null(g->ctx.ev);
    g->base = (uint64_t)slot * SLOT_SIZE;
    g->brk = g->base + 0x10000;
    memset(ram + g->base, 0, SLOT_SIZE);
    spec_net(&g->vd, slot, name, peer, mac, peerfeats);
    int rc = virtio_net_new(&g->vd, &g->ctx, &g->d);
    if (rc < 0) {
        assert_null(g->d);
        ev_free(g->ctx.ev);
        spec_free_vd(&g->vd);
        return rc;
    }
    assert_non_null(g->d);
    g->tops.interrupt = on_interrupt;
    g->d->tops = &g->tops;
    g->d->transport = g;
    assert_int_equal(virtio_kicks_start(g->d), 0);
    assert_int_equal(ev_start(g->ctx.ev), 0);
    return 0;
}

static void guest_new(struct guest *g, unsigned slot, const char *system,
                      const char *name, const char *peer, const char *mac,
                      int64_t peerfeats)
{
    assert_int_equal(guest_try(g, slot, system, name, peer, mac, peerfeats), 0);
}

/* As the registry's teardown: the event thread stops first. */
static void guest_free(struct guest *g)
{
    if (!g->d)
        return;
    ev_stop(g->ctx.ev);
    virtio_reset(g->d);
    virtio_dev_free(g->d);
    g->d = NULL;
    ev_free(g->ctx.ev);
    spec_free_vd(&g->vd);
}

static uint64_t galloc(struct guest *g, uint32_t len)
{
    uint64_t a = g->brk;
    g->brk = (g->brk + len + 63) & ~63ull;
    assert_true(g->brk <= g->base + SLOT_SIZE);
    return a;
}

/* Negotiate `features` and set DRIVER_OK with both queues of size QS. */
static void guest_start(struct guest *g, uint64_t features, bool modern)
{
    struct virtio_dev *d = g->d;
    uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE, modern);
    virtio_set_status(d, s, modern);
    virtio_set_driver_features(d, 0, (uint32_t)features);
    virtio_set_driver_features(d, 1, (uint32_t)(features >> 32));
    if (modern) {
        s |= VIRTIO_STATUS_FEATURES_OK;
        virtio_set_status(d, s, modern);
        assert_true(virtio_get_status(d) & VIRTIO_STATUS_FEATURES_OK);
    }
    for (unsigned q = 0; q < 2; q++) {
        struct gq *r = &g->q[q];
        uint64_t b = g->base + (uint64_t)q * 0x4000;
        *r = (struct gq){.desc = b, .avail = b + 0x1000, .used = b + 0x2000};
        struct virtqueue *vq = &d->vq[q];
        vq->size = QS;
        vq->desc_gpa = r->desc;
        vq->driver_gpa = r->avail;
        vq->device_gpa = r->used;
        vq->enabled = true;
    }
    virtio_set_status(d, s | VIRTIO_STATUS_DRIVER_OK, modern);
    assert_true(virtio_get_status(d) & VIRTIO_STATUS_DRIVER_OK);
    assert_false(virtio_get_status(d) & VIRTIO_STATUS_NEEDS_RESET);
}

struct seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

/* Make a chain available on queue q (no kick). */
static void gq_add(struct guest *g, unsigned q, const struct seg *s, unsigned n)
{
    struct gq *r = &g->q[q];
    uint16_t head = r->next % QS;
    for (unsigned i = 0; i < n; i++) {
        unsigned char *dd = ram + r->desc + 16u * ((head + i) % QS);
        uint64_t a = s[i].gpa;
        for (int k = 0; k < 8; k++)
            dd[k] = (uint8_t)(a >> (8 * k));
        put16(dd + 8, (uint16_t)s[i].len);
        put16(dd + 10, (uint16_t)(s[i].len >> 16));
        put16(dd + 12, (uint16_t)((i + 1 < n ? 1 : 0) | (s[i].write ? 2 : 0)));
        put16(dd + 14, (uint16_t)((head + i + 1) % QS));
    }
    r->next = (uint16_t)(r->next + n);
    put16(ram + r->avail + 4 + 2u * (r->avail_idx % QS), head);
    r->avail_idx++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t *idx = (uint16_t *)(ram + r->avail + 2);
    __atomic_store_n(idx, r->avail_idx, __ATOMIC_RELEASE);
}

static uint16_t used_idx(struct guest *g, unsigned q)
{
    uint16_t *p = (uint16_t *)(ram + g->q[q].used + 2);
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* The next used element of queue q within ms; false on timeout. */
static bool gq_used(struct guest *g, unsigned q, uint32_t *id, uint32_t *len,
                    unsigned ms)
{
    struct gq *r = &g->q[q];
    for (unsigned t = 0;; t++) {
        if (used_idx(g, q) != r->last_used)
            break;
        if (t >= ms)
            return false;
        sleep_ms(1);
    }
    const unsigned char *e = ram + r->used + 4 + 8u * (r->last_used % QS);
    *id = get32(e);
    *len = get32(e + 4);
    r->last_used++;
    return true;
}

static void kick(struct guest *g, unsigned q)
{
    virtio_kick(g->d, q);
}

/* Post `n` receive buffers of `len` bytes each. */
static uint64_t post_rx(struct guest *g, unsigned n, uint32_t len)
{
    uint64_t first = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t b = galloc(g, len);
        if (!i)
            first = b;
        struct seg s = {b, len, true};
        gq_add(g, VIRTIO_NET_RXQ, &s, 1);
    }
    return first;
}

/* A frame of `len` bytes: broadcast, from 02:..:01, ETYPE, then a pattern
 * seeded with `seed`. */
static void make_frame(unsigned char *f, size_t len, unsigned seed)
{
    memset(f, 0xff, 6);
    const unsigned char src[6] = {2, 0, 0, 0, 0, 1};
    memcpy(f + 6, src, 6);
    f[12] = ETYPE >> 8;
    f[13] = ETYPE & 0xff;
    for (size_t i = 14; i < len; i++)
        f[i] = (unsigned char)(seed * 31 + i * 7);
}

/* Transmit one frame: a header segment (hl bytes) and a frame segment;
 * waits until the device returns the chain; returns its used length. */
static uint32_t send_raw(struct guest *g, const unsigned char *hdr, unsigned hl,
                         const unsigned char *frame, size_t flen)
{
    uint64_t h = galloc(g, hl), f = galloc(g, (uint32_t)flen);
    memcpy(ram + h, hdr, hl);
    memcpy(ram + f, frame, flen);
    struct seg s[2] = {{h, hl, false}, {f, (uint32_t)flen, false}};
    gq_add(g, VIRTIO_NET_TXQ, s, 2);
    kick(g, VIRTIO_NET_TXQ);
    uint32_t id, len;
    assert_true(gq_used(g, VIRTIO_NET_TXQ, &id, &len, WAIT_MS));
    return len;
}

static void send_frame(struct guest *g, unsigned hl, size_t flen, unsigned seed)
{
    unsigned char hdr[12] = {0};
    static unsigned char f[2048 * 4];
    assert_true(flen <= sizeof(f));
    make_frame(f, flen, seed);
    assert_int_equal(send_raw(g, hdr, hl, f, flen), 0);
}

static struct vnet_stats stats(struct guest *g)
{
    struct vnet_stats s;
    vnet_stats(g->d, &s);
    return s;
}

static bool wait_link(struct guest *g, bool up, unsigned ms)
{
    for (unsigned t = 0; t < ms; t++) {
        if (vnet_link_up(g->d) == up)
            return true;
        sleep_ms(1);
    }
    return vnet_link_up(g->d) == up;
}

/* Until the counter reaches n: a device publishes the used index or the
 * link status first and interrupts after it. */
static bool wait_count(atomic_uint *c, unsigned n, unsigned ms)
{
    for (unsigned t = 0; t < ms; t++) {
        if (atomic_load(c) >= n)
            return true;
        sleep_ms(1);
    }
    return atomic_load(c) >= n;
}

static bool wait_rx_frames(struct guest *g, uint64_t n, unsigned ms)
{
    for (unsigned t = 0; t < ms; t++) {
        if (stats(g).rx_frames >= n)
            return true;
        sleep_ms(1);
    }
    return stats(g).rx_frames >= n;
}

static void config(struct guest *g, uint8_t mac[6], uint16_t *status)
{
    uint8_t cfg[VIRTIO_NET_CFG_LEN];
    pthread_mutex_lock(&g->d->lock);
    g->d->ops->config_read(g->d, 0, cfg, sizeof(cfg));
    pthread_mutex_unlock(&g->d->lock);
    if (mac)
        memcpy(mac, cfg, 6);
    if (status)
        *status = get16(cfg + VIRTIO_NET_CFG_STATUS);
}

/* Two devices A (system sa, name a) and B (sb, b), peers of each other,
 * linked up; b_first: B is made first. */
static void pair(struct guest *a, struct guest *b, bool b_first)
{
    if (b_first) {
        guest_new(b, 1, "sb", "b", "/dev/qvm/sa/a", NULL, -1);
        assert_false(vnet_link_up(b->d));
    }
    guest_new(a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1);
    if (!b_first) {
        assert_false(vnet_link_up(a->d));
        guest_new(b, 1, "sb", "b", "/dev/qvm/sa/a", NULL, -1);
    }
    assert_true(wait_link(a, true, WAIT_MS));
    assert_true(wait_link(b, true, WAIT_MS));
}

/* ---- configuration space ------------------------------------------- */

static void config_mac_option(void **state)
{
    (void)state;
    struct guest g;
    guest_new(&g, 0, "s", "n", NULL, "52:54:00:12:34:56", -1);
    assert_int_equal(g.d->id, VIRTIO_ID_NET);
    assert_int_equal(g.d->nqueues, 2);
    assert_int_equal(g.d->config_len, VIRTIO_NET_CFG_LEN);
    uint64_t f = g.d->host_features;
    assert_true(f & F(VIRTIO_NET_F_MAC));
    assert_true(f & F(VIRTIO_NET_F_STATUS));
    assert_true(f & F(VIRTIO_NET_F_MRG_RXBUF));
    assert_int_equal(f & VIRTIO_NET_OFFLOADS, 0); /* peerfeats 0 */
    uint8_t mac[6];
    uint16_t status;
    config(&g, mac, &status);
    const uint8_t want[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    assert_memory_equal(mac, want, 6);
    assert_int_equal(status & VIRTIO_NET_S_LINK_UP, 0); /* no peer */
    /* Byte-wise reads agree, reads past the end are zero. */
    uint8_t b = 0xaa;
    g.d->ops->config_read(g.d, 3, &b, 1);
    assert_int_equal(b, 0x12);
    guest_free(&g);
}

static void config_derived_mac(void **state)
{
    (void)state;
    struct guest g;
    uint8_t m1[6], m2[6], m3[6], m4[6], m5[6];
    guest_new(&g, 0, "sys", "net0", NULL, NULL, -1);
    config(&g, m1, NULL);
    guest_free(&g);
    guest_new(&g, 0, "sys", "net0", NULL, NULL, -1);
    config(&g, m2, NULL);
    guest_free(&g);
    guest_new(&g, 0, "sys", "net1", NULL, NULL, -1);
    config(&g, m3, NULL);
    guest_free(&g);
    guest_new(&g, 0, "other", "net0", NULL, NULL, -1);
    config(&g, m4, NULL);
    guest_free(&g);
    guest_new(&g, 1, "sys", NULL, NULL, NULL, -1); /* unnamed: by place */
    config(&g, m5, NULL);
    guest_free(&g);
    assert_memory_equal(m1, m2, 6); /* stable */
    assert_memory_not_equal(m1, m3, 6);
    assert_memory_not_equal(m1, m4, 6);
    assert_memory_not_equal(m1, m5, 6);
    const uint8_t *all[] = {m1, m3, m4, m5};
    for (int i = 0; i < 4; i++)
        assert_int_equal(all[i][0] & 3, 2); /* local, unicast */
}

static void config_peerfeats(void **state)
{
    (void)state;
    static const struct {
        int64_t peerfeats;
        uint64_t offered;
    } cases[] = {
        {0x7fc3, 0x7f83}, /* bit 6 (legacy GSO) is never offered */
        {0x19c3, 0x1983},     {0x0382, 0x0382},
        {0x0003, 0x0003},     {0x1800, 0}, /* HOST_TSO4/6 need CSUM */
        {0x0180, 0},                       /* GUEST_TSO4/6 need GUEST_CSUM */
        {0x2001, 0x0001},                  /* HOST_ECN needs a HOST_TSO */
        {0xffffffff, 0x7f83},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct guest g;
        guest_new(&g, 0, "s", "n", NULL, NULL, cases[i].peerfeats);
        assert_int_equal(g.d->host_features & 0xffffffffull &
                             ~(F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
                               F(VIRTIO_NET_F_MRG_RXBUF)),
                         cases[i].offered);
        guest_free(&g);
    }
}

static void config_link_status(void **state)
{
    (void)state;
    struct guest a, b;
    guest_new(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1);
    guest_start(&a, F_MRG, true);
    uint16_t st;
    config(&a, NULL, &st);
    assert_int_equal(st, 0); /* B not there */
    unsigned cfg0 = atomic_load(&a.cfg_irqs);
    guest_new(&b, 1, "sb", "b", "/dev/qvm/sa/a", NULL, -1);
    assert_true(wait_link(&a, true, WAIT_MS));
    config(&a, NULL, &st);
    assert_int_equal(st, VIRTIO_NET_S_LINK_UP);
    assert_true(wait_count(&a.cfg_irqs, cfg0 + 1, WAIT_MS)); /* told of it */
    guest_free(&b);
    assert_true(wait_link(&a, false, WAIT_MS)); /* B said goodbye */
    config(&a, NULL, &st);
    assert_int_equal(st, 0);
    guest_free(&a);
}

/* ---- the qvm-to-qvm peer ------------------------------------------- */

static void check_rx(struct guest *g, uint64_t buf, uint32_t len, unsigned hl,
                     size_t flen, unsigned seed, uint16_t nbufs)
{
    assert_int_equal(len, hl + flen);
    const unsigned char *h = ram + buf;
    assert_int_equal(h[0], 0); /* flags */
    assert_int_equal(h[1], VIRTIO_NET_HDR_GSO_NONE);
    if (hl == 12)
        assert_int_equal(get16(h + 10), nbufs);
    static unsigned char want[8192];
    make_frame(want, flen, seed);
    assert_memory_equal(h + hl, want, flen);
    (void)g;
}

/* A and B linked and started (modern, mergeable buffers), B with four
 * 2 KiB receive buffers posted; returns the first one's address. */
static uint64_t pair_posted(struct guest *a, struct guest *b)
{
    pair(a, b, false);
    guest_start(a, F_MRG, true);
    guest_start(b, F_MRG, true);
    uint64_t rb = post_rx(b, 4, 2048);
    kick(b, VIRTIO_NET_RXQ);
    return rb;
}

static void peer_frame(void **state)
{
    (void)state;
    struct guest a, b;
    uint64_t rb = pair_posted(&a, &b);
    unsigned irq0 = atomic_load(&b.irqs);
    send_frame(&a, 12, 60, 1);
    uint32_t id, len;
    assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    assert_int_equal(id, 0);
    check_rx(&b, rb, len, 12, 60, 1, 1);
    assert_true(wait_count(&b.irqs, irq0 + 1, WAIT_MS));
    /* The other way, a full-size frame. */
    uint64_t ra = post_rx(&a, 2, 2048);
    kick(&a, VIRTIO_NET_RXQ);
    send_frame(&b, 12, 1514, 2);
    assert_true(gq_used(&a, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    check_rx(&a, ra, len, 12, 1514, 2, 1);
    struct vnet_stats sa = stats(&a), sb = stats(&b);
    assert_int_equal(sa.tx_frames, 1);
    assert_int_equal(sb.rx_frames, 1);
    assert_int_equal(sb.tx_frames, 1);
    assert_int_equal(sa.rx_frames, 1);
    assert_int_equal(sa.tx_dropped + sa.tx_malformed + sb.rx_dropped, 0);
    guest_free(&a);
    guest_free(&b);
}

/* A transmit chain cut anywhere (the header across two segments and
 * sharing one with the frame's start, a 1-byte segment, each segment at
 * its own place in guest memory, a num_buffers the driver must not set)
 * arrives whole and in order: the device hands the segments to the
 * backend, and the header it checked. */
static void peer_frame_segments(void **state)
{
    (void)state;
    struct guest a, b;
    uint64_t rb = pair_posted(&a, &b);
    static unsigned char chain[12 + 1500];
    memset(chain, 0, 12);
    chain[10] = 7; /* num_buffers: not the driver's to set on transmit */
    make_frame(chain + 12, 1500, 3);
    const size_t cut[] = {0, 5, 32, 33, 1412, sizeof(chain)};
    struct seg s[5];
    for (unsigned i = 0; i < 5; i++) {
        uint32_t l = (uint32_t)(cut[i + 1] - cut[i]);
        (void)galloc(&a, 64); /* a gap: no segment follows another */
        s[i] = (struct seg){galloc(&a, l), l, false};
        memcpy(ram + s[i].gpa, chain + cut[i], l);
    }
    gq_add(&a, VIRTIO_NET_TXQ, s, 5);
    kick(&a, VIRTIO_NET_TXQ);
    uint32_t id, len;
    assert_true(gq_used(&a, VIRTIO_NET_TXQ, &id, &len, WAIT_MS));
    assert_int_equal(len, 0);
    assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    check_rx(&b, rb, len, 12, 1500, 3, 1);
    struct vnet_stats sa = stats(&a);
    assert_int_equal(sa.tx_frames, 1);
    assert_int_equal(sa.tx_dropped + sa.tx_malformed, 0);
    guest_free(&a);
    guest_free(&b);
}

/* B made first; then B restarts and is found again. */
static void peer_start_order_and_restart(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, true);
    guest_start(&a, F_MRG, true);
    guest_free(&b);
    assert_true(wait_link(&a, false, WAIT_MS));
    /* Sending while B is gone: dropped and counted. */
    send_frame(&a, 12, 100, 3);
    assert_int_equal(stats(&a).tx_dropped, 1);
    guest_new(&b, 1, "sb", "b", "/dev/qvm/sa/a", NULL, -1);
    assert_true(wait_link(&a, true, WAIT_MS));
    assert_true(wait_link(&b, true, WAIT_MS));
    /* B's driver not started yet: read and dropped, counted apart. */
    send_frame(&a, 12, 100, 5);
    for (unsigned t = 0; t < WAIT_MS && !stats(&b).rx_dropped; t++)
        sleep_ms(1);
    assert_int_equal(stats(&b).rx_dropped, 1);
    assert_int_equal(stats(&b).rx_nodriver, 1);
    guest_start(&b, F_MRG, true);
    uint64_t rb = post_rx(&b, 2, 2048);
    kick(&b, VIRTIO_NET_RXQ);
    send_frame(&a, 12, 100, 4);
    uint32_t id, len;
    assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    check_rx(&b, rb, len, 12, 100, 4, 1);
    assert_int_equal(stats(&b).rx_nodriver, 1); /* not counted once running */
    guest_free(&a);
    guest_free(&b);
}

/* A peer killed without a goodbye: here a bare socket standing for B
 * says hello, then closes. A finds out at its next keepalive (about a
 * second), and then a real B is found. */
static void peer_killed(void **state)
{
    (void)state;
    struct guest a, b;
    guest_new(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1);
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/sb", rundir);
    mkdir(dir, 0755);
    struct sockaddr_un me = {.sun_family = AF_UNIX},
                       pa = {.sun_family = AF_UNIX};
    snprintf(me.sun_path, sizeof(me.sun_path), "%s/sb/b", rundir);
    snprintf(pa.sun_path, sizeof(pa.sun_path), "%s/sa/a", rundir);
    int fake = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fake >= 0);
    assert_int_equal(bind(fake, (struct sockaddr *)&me, sizeof(me)), 0);
    assert_int_equal(connect(fake, (struct sockaddr *)&pa, sizeof(pa)), 0);
    assert_int_equal(send(fake, "H", 1, 0), 1);
    assert_true(wait_link(&a, true, WAIT_MS));
    close(fake); /* killed: the socket file stays, stale */
    assert_true(wait_link(&a, false, WAIT_MS));
    guest_new(&b, 1, "sb", "b", "/dev/qvm/sa/a", NULL, -1); /* replaces it */
    assert_true(wait_link(&a, true, WAIT_MS));
    assert_true(wait_link(&b, true, WAIT_MS));
    guest_free(&a);
    guest_free(&b);
}

/* The log, captured: lines that contain `log_want`. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *log_want;
static unsigned log_hits;
static char log_last[1024];
static void log_sink(enum log_class c, const char *line)
{
    (void)c;
    pthread_mutex_lock(&log_lock);
    if (log_want && strstr(line, log_want)) {
        log_hits++;
        snprintf(log_last, sizeof(log_last), "%s", line);
    }
    pthread_mutex_unlock(&log_lock);
}
static void log_capture(const char *want)
{
    pthread_mutex_lock(&log_lock);
    log_want = want;
    log_hits = 0;
    log_last[0] = 0;
    pthread_mutex_unlock(&log_lock);
    log_set_sink(want ? log_sink : NULL);
}
static unsigned log_count(void)
{
    pthread_mutex_lock(&log_lock);
    unsigned k = log_hits;
    pthread_mutex_unlock(&log_lock);
    return k;
}

/* A hostile process at the peer's address: crafted datagrams are dropped
 * (bad checksum offsets, segmentation the guest did not take, runts,
 * oversized, from a stranger), a good one still arrives. */
static int bare_peer(const char *sys, const char *name, const char *to_sys,
                     const char *to_name)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/%s", rundir, sys);
    mkdir(dir, 0755);
    struct sockaddr_un me = {.sun_family = AF_UNIX},
                       to = {.sun_family = AF_UNIX};
    snprintf(me.sun_path, sizeof(me.sun_path), "%s/%s/%s", rundir, sys, name);
    snprintf(to.sun_path, sizeof(to.sun_path), "%s/%s/%s", rundir, to_sys,
             to_name);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    int sz = 1 << 20;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    assert_int_equal(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
    /* A stranger cannot connect to an end that has its peer (EPERM). */
    int c = connect(s, (struct sockaddr *)&to, sizeof(to));
    assert_true(c == 0 || errno == EPERM);
    return s;
}

static void peer_hostile(void **state)
{
    (void)state;
    struct guest a;
    guest_new(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1);
    guest_start(&a, F_MRG, true);
    uint64_t ra = post_rx(&a, 8, 2048);
    kick(&a, VIRTIO_NET_RXQ);
    static unsigned char d[70000];
    memset(d, 0, sizeof(d));
    make_frame(d + 12, 200, 29);
    /* A stranger (not A's peer) is ignored, also while A has no peer;
     * that is logged, rate-limited. */
    log_capture("dropped: only the peer");
    int x = bare_peer("sx", "x", "sa", "a");
    for (unsigned i = 0; i < 100; i++)
        assert_int_equal(send(x, d, 212, 0), 212);
    for (unsigned t = 0; t < WAIT_MS && stats(&a).rx_dropped < 100; t++)
        sleep_ms(1);
    assert_int_equal(stats(&a).rx_dropped, 100);
    assert_int_equal(log_count(), 5);
    assert_non_null(strstr(log_last, "/sx/x (uid 0"));
    log_capture(NULL);
    assert_int_equal(stats(&a).rx_frames, 0);
    assert_false(vnet_link_up(a.d));
    close(x);
    int s = bare_peer("sb", "b", "sa", "a");
    assert_int_equal(send(s, "H", 1, 0), 1);
    assert_true(wait_link(&a, true, WAIT_MS));
    make_frame(d + 12, 200, 30);
    /* Checksum offsets far past the frame (and the device's buffer). */
    d[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    put16(d + 6, 0xffff);
    put16(d + 8, 0xffff);
    assert_int_equal(send(s, d, 212, 0), 212);
    /* Segmentation the guest did not negotiate. */
    d[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    d[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    put16(d + 4, 1000);
    put16(d + 6, 34);
    put16(d + 8, 16);
    assert_int_equal(send(s, d, 212, 0), 212);
    /* An unknown segmentation type. */
    d[1] = 0x42;
    assert_int_equal(send(s, d, 212, 0), 212);
    memset(d, 0, 12);
    /* A runt, and a datagram bigger than any frame. */
    assert_int_equal(send(s, d, 5, 0), 5);
    assert_int_equal(send(s, d, 12 + 10, 0), 22);
    assert_int_equal(send(s, d, sizeof(d), 0), (ssize_t)sizeof(d));
    /* A good one. */
    make_frame(d + 12, 200, 31);
    assert_int_equal(send(s, d, 212, 0), 212);
    assert_true(wait_rx_frames(&a, 1, WAIT_MS));
    uint32_t id, len;
    assert_true(gq_used(&a, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    check_rx(&a, ra, len, 12, 200, 31, 1);
    struct vnet_stats st = stats(&a);
    assert_int_equal(st.rx_frames, 1);
    assert_true(st.rx_dropped >= 105);
    assert_false(virtio_get_status(a.d) & VIRTIO_STATUS_NEEDS_RESET);
    close(s);
    guest_free(&a);
}

/* A process of another user at the peer's very path (root only: the test
 * needs to change its uid) is not the peer. */
static void peer_other_user(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    struct guest a;
    guest_new(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1);
    guest_start(&a, F_MRG, true);
    post_rx(&a, 8, 2048);
    kick(&a, VIRTIO_NET_RXQ);
    int s = bare_peer("sb", "b", "sa", "a");
    assert_int_equal(send(s, "H", 1, 0), 1);
    assert_true(wait_link(&a, true, WAIT_MS));
    static unsigned char d[300];
    memset(d, 0, sizeof(d));
    make_frame(d + 12, 200, 40);
    log_capture("(uid 65534) dropped");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) /* the same socket, now sending as nobody */
        _exit(setuid(65534) == 0 && send(s, d, 212, 0) == 212 ? 0 : 1);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (unsigned t = 0; t < WAIT_MS && !stats(&a).rx_dropped; t++)
        sleep_ms(1);
    assert_int_equal(stats(&a).rx_dropped, 1);
    assert_int_equal(stats(&a).rx_frames, 0);
    assert_int_equal(log_count(), 1);
    log_capture(NULL);
    /* The same datagram from this user arrives. */
    assert_int_equal(send(s, d, 212, 0), 212);
    assert_true(wait_rx_frames(&a, 1, WAIT_MS));
    close(s);
    guest_free(&a);
}

/* RUNDIR and RUNDIR/SYSTEM: made 0700, refused when others may write
 * there; the endpoint is 0600. */
static void runtime_dir_modes(void **state)
{
    (void)state;
    struct guest a;
    char path[160];
    struct stat st;
    log_capture("writable by its group or others");
    assert_int_equal(chmod(rundir, 0777), 0);
    assert_int_equal(guest_try(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1),
                     -1);
    assert_int_equal(log_count(), 1);
    assert_non_null(strstr(log_last, rundir));
    assert_int_equal(chmod(rundir, 0755), 0);
    /* A system directory others may write to. */
    snprintf(path, sizeof(path), "%s/sa", rundir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chmod(path, 0770), 0);
    assert_int_equal(guest_try(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1),
                     -1);
    assert_int_equal(log_count(), 2);
    assert_non_null(strstr(log_last, path));
    assert_non_null(strstr(log_last, "mode 0770"));
    log_capture(NULL);
    assert_int_equal(rmdir(path), 0);
    /* Made when missing: 0700; the socket 0600. */
    guest_new(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/sa/a", rundir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    guest_free(&a);
    /* Another user's directory (root only: make one that is not ours). */
    if (geteuid() == 0) {
        snprintf(path, sizeof(path), "%s/sa", rundir);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(chown(path, 65534, 65534), 0);
        log_capture("belongs to uid 65534");
        assert_int_equal(guest_try(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1),
                         -1);
        assert_int_equal(log_count(), 1);
        log_capture(NULL);
    }
}

static void peer_mergeable(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    guest_start(&b, F_MRG, true);
    uint64_t rb = post_rx(&b, 6, 1024);
    kick(&b, VIRTIO_NET_RXQ);
    send_frame(&a, 12, 3000, 5);
    /* 12 + 3000 bytes: 1024 + 1024 + 964, num_buffers 3. */
    uint32_t id[3], len[3];
    for (int i = 0; i < 3; i++)
        assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id[i], &len[i], WAIT_MS));
    assert_int_equal(len[0], 1024);
    assert_int_equal(len[1], 1024);
    assert_int_equal(len[2], 12 + 3000 - 2048);
    assert_int_equal(get16(ram + rb + 10), 3);
    static unsigned char want[3000], got[3000];
    make_frame(want, 3000, 5);
    /* Buffers were allocated back to back, 1024 apart (64-aligned). */
    memcpy(got, ram + rb + 12, 1012);
    memcpy(got + 1012, ram + rb + 1024, 1024);
    memcpy(got + 2036, ram + rb + 2048, 964);
    assert_memory_equal(got, want, 3000);
    /* Six 1 KiB buffers cannot hold the largest frame: through the bounce
     * buffer, not straight into the guest's. */
    assert_int_equal(stats(&b).rx_direct, 0);
    guest_free(&a);
    guest_free(&b);
}

/* Enough mergeable buffers for the largest frame: frames are read straight
 * into them (no bounce copy), each spread over as many as it needs, and
 * the buffers the device held but did not fill go to the next frames. */
static void peer_mergeable_direct(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    guest_start(&b, F_MRG, true);
    uint64_t rb = post_rx(&b, 40, 2048); /* 80 KiB, back to back */
    kick(&b, VIRTIO_NET_RXQ);
    static const size_t flen[3] = {3000, 100, 6000};
    static const uint16_t nbufs[3] = {2, 1, 3};
    uint64_t at = rb;
    for (unsigned f = 0; f < 3; f++) {
        send_frame(&a, 12, flen[f], 20 + f);
        size_t left = 12 + flen[f];
        uint32_t id, len;
        for (unsigned i = 0; i < nbufs[f]; i++) {
            assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
            assert_int_equal(len, left < 2048 ? left : 2048);
            left -= len;
        }
        assert_int_equal(get16(ram + at + 10), nbufs[f]);
        static unsigned char want[6000];
        make_frame(want, flen[f], 20 + f);
        assert_memory_equal(ram + at + 12, want, flen[f]);
        at += 2048u * nbufs[f];
    }
    struct vnet_stats s = stats(&b);
    assert_int_equal(s.rx_frames, 3);
    assert_int_equal(s.rx_direct, 3);
    assert_int_equal(s.rx_dropped, 0);
    guest_free(&a);
    guest_free(&b);
}

/* Receive chains of three segments, the first shorter than the header. */
#define KM_SEGS 3
static const uint32_t km_len[KM_SEGS] = {5, 1000, 2125}; /* 3130 */

struct km {
    struct seg chain[QS][KM_SEGS]; /* by head descriptor */
    unsigned posted;
};

static void km_post(struct guest *g, struct km *k, const struct seg *c)
{
    unsigned head = g->q[VIRTIO_NET_RXQ].next % QS;
    memcpy(k->chain[head], c, sizeof(k->chain[head]));
    gq_add(g, VIRTIO_NET_RXQ, c, KM_SEGS);
    k->posted++;
}

/* The next frame in g's receive ring: its header and bytes gathered from
 * the chains it fills (num_buffers of them); each chain is posted again. */
static size_t km_take(struct guest *g, struct km *k, unsigned char *out,
                      size_t max, unsigned char hdr[12])
{
    size_t got = 0;
    unsigned nb = 1;
    for (unsigned b = 0; b < nb; b++) {
        uint32_t id, len;
        assert_true(gq_used(g, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
        assert_true(id < QS);
        struct seg c[KM_SEGS];
        memcpy(c, k->chain[id], sizeof(c));
        for (unsigned i = 0; i < KM_SEGS && len; i++) {
            uint32_t l = MIN(len, c[i].len);
            assert_true(got + l <= max);
            memcpy(out + got, ram + c[i].gpa, l);
            got += l;
            len -= l;
        }
        if (b == 0) {
            assert_true(got >= 12);
            memcpy(hdr, out, 12);
            nb = get16(hdr + 10);
            assert_true(nb >= 1 && nb <= QS / KM_SEGS);
        }
        k->posted--;
        km_post(g, k, c);
    }
    kick(g, VIRTIO_NET_RXQ);
    return got;
}

/*
 * The direct receive keeps its mapping of the guest's chains across
 * frames: frames of every size (a chain exactly, a byte more, several
 * chains), through the bounce path while too few chains are posted and
 * straight into the chains once enough are, each chain posted again as
 * soon as it is used: every frame arrives whole, its header in the first
 * chain (whose first segment is shorter than the header). Then 250 small
 * frames and the largest one, which needs all 21 chains (20 hold 34 bytes
 * less): the room the mapping counts must stay exact frame after frame.
 */
static void peer_mergeable_kept_map(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    guest_start(&b, F_MRG, true);
    static struct km k;
    memset(&k, 0, sizeof(k));
    struct seg c[21][KM_SEGS];
    for (unsigned i = 0; i < 21; i++)
        for (unsigned j = 0; j < KM_SEGS; j++)
            c[i][j] = (struct seg){galloc(&b, km_len[j]), km_len[j], true};
    /* 10 chains (31 KB): too few for the largest frame, so the bounce
     * path; then 11 more (65.7 KB): straight into the chains. */
    for (unsigned i = 0; i < 10; i++)
        km_post(&b, &k, c[i]);
    kick(&b, VIRTIO_NET_RXQ);
    const size_t chain = 5 + 1000 + 2125;
    static const size_t sizes[] = {60, 1514, 3118, 3119, 9000, 100,   20000,
                                   60, 6248, 6249, 1514, 61,   12000, 64};
    static unsigned char frame[VIRTIO_NET_MAX_FRAME], got[12 + sizeof(frame)];
    unsigned sent = 0, direct = 0;
    for (unsigned phase = 0; phase < 3; phase++) {
        if (phase == 1) {
            for (unsigned i = 10; i < 21; i++)
                km_post(&b, &k, c[i]);
            kick(&b, VIRTIO_NET_RXQ);
        }
        unsigned nf = phase < 2 ? ARRAY_SIZE(sizes) : 251;
        for (unsigned f = 0; f < nf; f++) {
            size_t flen = phase < 2 ? sizes[f]
                          : f < 250 ? 60
                                    : VIRTIO_NET_MAX_FRAME;
            unsigned char hdr[12] = {0};
            make_frame(frame, flen, 40 + sent);
            assert_int_equal(send_raw(&a, hdr, 12, frame, flen), 0);
            unsigned char h[12];
            size_t n = km_take(&b, &k, got, sizeof(got), h);
            assert_int_equal(n, 12 + flen);
            assert_int_equal(h[0], 0);
            assert_int_equal(h[1], VIRTIO_NET_HDR_GSO_NONE);
            assert_int_equal(get16(h + 10), (12 + flen + chain - 1) / chain);
            assert_memory_equal(got + 12, frame, flen);
            sent++;
            direct += phase > 0;
        }
        struct vnet_stats s = stats(&b);
        assert_int_equal(s.rx_frames, sent);
        assert_int_equal(s.rx_dropped, 0);
        assert_int_equal(s.rx_direct, direct);
    }
    guest_free(&a);
    guest_free(&b);
}

static void peer_no_mrg_too_big(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    guest_start(&b, F_STD, true); /* no MRG_RXBUF: one buffer per frame */
    uint64_t rb = post_rx(&b, 1, 1024);
    kick(&b, VIRTIO_NET_RXQ);
    send_frame(&a, 12, 3000, 6); /* does not fit */
    send_frame(&a, 12, 500, 7);  /* fits in the kept buffer */
    uint32_t id, len;
    assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    check_rx(&b, rb, len, 12, 500, 7, 1);
    struct vnet_stats s = stats(&b);
    assert_int_equal(s.rx_frames, 1);
    assert_int_equal(s.rx_direct, 1); /* one buffer per frame: always */
    assert_int_equal(s.rx_dropped, 1);
    guest_free(&a);
    guest_free(&b);
}

static void peer_legacy_header(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    /* A legacy driver without VERSION_1 or MRG_RXBUF: 10-byte header. */
    guest_start(&b, F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS), false);
    uint64_t rb = post_rx(&b, 2, 2048);
    kick(&b, VIRTIO_NET_RXQ);
    send_frame(&a, 12, 200, 8);
    uint32_t id, len;
    assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    check_rx(&b, rb, len, 10, 200, 8, 0);
    /* And B transmits with its 10-byte header. */
    uint64_t ra = post_rx(&a, 2, 2048);
    kick(&a, VIRTIO_NET_RXQ);
    send_frame(&b, 10, 300, 9);
    assert_true(gq_used(&a, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    check_rx(&a, ra, len, 12, 300, 9, 1);
    guest_free(&a);
    guest_free(&b);
}

/* An IPv4/UDP frame whose checksum field holds the pseudo-header sum. */
static size_t udp_frame(unsigned char *f, size_t payload)
{
    make_frame(f, 14, 0);
    f[12] = 0x08;
    f[13] = 0x00;
    unsigned char *ip = f + 14, *udp = ip + 20;
    size_t ulen = 8 + payload;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + ulen) >> 8);
    ip[3] = (uint8_t)(20 + ulen);
    ip[8] = 64;
    ip[9] = 17;
    const unsigned char src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    udp[0] = 0x30, udp[1] = 0x39, udp[2] = 0x00, udp[3] = 0x35;
    udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
    for (size_t i = 0; i < payload; i++)
        udp[8 + i] = (unsigned char)(i * 13 + 1);
    uint32_t sum = (uint32_t)(src[0] << 8 | src[1]) + (src[2] << 8 | src[3]) +
                   (dst[0] << 8 | dst[1]) + (dst[2] << 8 | dst[3]) + 17 +
                   (uint32_t)ulen;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    udp[6] = (uint8_t)(sum >> 8), udp[7] = (uint8_t)sum; /* not inverted */
    return 14 + 20 + ulen;
}

/* The full UDP checksum over pseudo header and datagram: 0xffff if valid. */
static uint16_t udp_verify(const unsigned char *f, size_t len)
{
    const unsigned char *ip = f + 14, *udp = ip + 20;
    size_t ulen = len - 34;
    uint32_t sum = (uint32_t)(ip[12] << 8 | ip[13]) + (ip[14] << 8 | ip[15]) +
                   (ip[16] << 8 | ip[17]) + (ip[18] << 8 | ip[19]) + 17 +
                   (uint32_t)ulen;
    for (size_t i = 0; i + 1 < ulen; i += 2)
        sum += (uint32_t)(udp[i] << 8 | udp[i + 1]);
    if (ulen & 1)
        sum += (uint32_t)udp[ulen - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* nbuf receive buffers of 2 KiB: 2 go through the bounce buffer, 40 are
 * enough for a direct read (the checksum completed over a copy). */
static void checksum_case(unsigned nbuf)
{
    struct guest a, b;
    guest_new(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, 0x3);
    guest_new(&b, 1, "sb", "b", "/dev/qvm/sa/a", NULL, 0x3);
    assert_true(wait_link(&a, true, WAIT_MS));
    assert_true(wait_link(&b, true, WAIT_MS));
    guest_start(&a, F_MRG | F(VIRTIO_NET_F_CSUM), true);
    guest_start(&b, F_MRG, true); /* B did not take GUEST_CSUM */
    uint64_t rb = post_rx(&b, nbuf, 2048);
    kick(&b, VIRTIO_NET_RXQ);
    static unsigned char f[2048];
    size_t flen = udp_frame(f, 101);
    unsigned char hdr[12] = {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0};
    put16(hdr + 6, 34); /* csum_start: the UDP header */
    put16(hdr + 8, 6);  /* csum_offset: its checksum field */
    assert_int_equal(send_raw(&a, hdr, 12, f, flen), 0);
    uint32_t id, len;
    assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    assert_int_equal(len, 12 + flen);
    assert_int_equal(ram[rb], 0); /* NEEDS_CSUM cleared: completed */
    assert_int_equal(udp_verify(ram + rb + 12, flen), 0xffff);
    assert_memory_equal(ram + rb + 12 + 42, f + 42, flen - 42);
    assert_int_equal(stats(&b).rx_direct, nbuf >= 40 ? 1 : 0);
    /* Bad offsets (past the frame): dropped on transmit. */
    put16(hdr + 6, (uint16_t)flen);
    assert_int_equal(send_raw(&a, hdr, 12, f, flen), 0);
    assert_int_equal(stats(&a).tx_malformed, 1);
    guest_free(&a);
    guest_free(&b);
}

static void peer_checksum(void **state)
{
    (void)state;
    checksum_case(2);
    checksum_case(40);
}

/* B's guest posts no receive buffers: frames are not read; the kernel's
 * bound (A's socket send buffer) fills and A drops the rest. */
static void peer_no_rx_buffers(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    guest_start(&b, F_MRG, true);
    const unsigned total = 8000, batch = 16;
    unsigned char hdr[12] = {0};
    static unsigned char f[200];
    make_frame(f, sizeof(f), 10);
    uint64_t h = galloc(&a, 12), fb = galloc(&a, sizeof(f));
    memcpy(ram + h, hdr, 12);
    memcpy(ram + fb, f, sizeof(f));
    for (unsigned sent = 0; sent < total; sent += batch) {
        for (unsigned i = 0; i < batch; i++) {
            struct seg s[2] = {{h, 12, false}, {fb, sizeof(f), false}};
            gq_add(&a, VIRTIO_NET_TXQ, s, 2);
        }
        kick(&a, VIRTIO_NET_TXQ);
        for (unsigned i = 0; i < batch; i++) {
            uint32_t id, len;
            assert_true(gq_used(&a, VIRTIO_NET_TXQ, &id, &len, WAIT_MS));
        }
    }
    struct vnet_stats s = stats(&a);
    assert_int_equal(s.tx_frames + s.tx_dropped, total);
    assert_true(s.tx_dropped > 0); /* the bound was reached */
    assert_true(s.tx_frames > 10); /* but not before some got through */
    assert_true(s.tx_frames < total - 1000);
    assert_int_equal(stats(&b).rx_frames, 0);
    /* B's guest posts 8 buffers: 8 frames arrive, and the link works. */
    post_rx(&b, 8, 2048);
    kick(&b, VIRTIO_NET_RXQ);
    assert_true(wait_rx_frames(&b, 8, WAIT_MS));
    /* Frames keep waiting in the socket (readable before the barrier):
     * still no more once B's event thread has handled everything due. */
    assert_true(ev_flush(b.ctx.ev));
    assert_int_equal(stats(&b).rx_frames, 8);
    for (int i = 0; i < 8; i++) {
        uint32_t id, len;
        assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
        assert_int_equal(len, 12 + sizeof(f));
    }
    guest_free(&a);
    guest_free(&b);
}

/*
 * Backpressure: a burst bigger than the peer's socket buffer (64 frames of
 * 60,000 bytes, ~3.8 MB, against at most 2 MB) while B's guest has no
 * receive buffers: A's frames wait (A keeps their chains) instead of being
 * dropped, and all arrive once B's guest posts buffers.
 */
static void peer_backpressure(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    guest_start(&b, F_MRG, true);
    enum { N = QS, FL = 60000 };
    static unsigned char f[FL];
    make_frame(f, FL, 11);
    unsigned char hdr[12] = {0};
    uint64_t h = galloc(&a, 12), fb = galloc(&a, FL);
    memcpy(ram + h, hdr, 12);
    memcpy(ram + fb, f, FL);
    for (unsigned i = 0; i < N; i++) {
        struct seg s[2] = {{h, 12, false}, {fb, FL, false}};
        gq_add(&a, VIRTIO_NET_TXQ, s, 2);
    }
    kick(&a, VIRTIO_NET_TXQ);
    /* A fills the socket and then waits (bounded: never a window). */
    unsigned t = 0;
    while (stats(&a).tx_waits == 0 && t++ < WAIT_MS)
        sleep_ms(1);
    struct vnet_stats s = stats(&a);
    assert_true(s.tx_waits > 0);
    assert_int_equal(s.tx_dropped, 0);
    assert_true(s.tx_frames < N);
    /* B's guest posts a buffer per frame (one region, written N times). */
    uint64_t rb = galloc(&b, 12 + FL);
    for (unsigned i = 0; i < N; i++) {
        struct seg r = {rb, 12 + FL, true};
        gq_add(&b, VIRTIO_NET_RXQ, &r, 1);
    }
    kick(&b, VIRTIO_NET_RXQ);
    for (unsigned i = 0; i < N; i++) {
        uint32_t id, len;
        assert_true(gq_used(&a, VIRTIO_NET_TXQ, &id, &len, WAIT_MS));
        assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
        assert_int_equal(len, 12 + FL);
    }
    s = stats(&a);
    assert_int_equal(s.tx_frames, N);
    assert_int_equal(s.tx_dropped, 0);
    assert_int_equal(stats(&b).rx_frames, N);
    assert_int_equal(stats(&b).rx_dropped, 0);
    assert_memory_equal(ram + rb + 12, f, FL);
    guest_free(&a);
    guest_free(&b);
}

/* Lines written to stderr while fn runs. */
static unsigned stderr_lines(void (*fn)(struct guest *), struct guest *g)
{
    char tmpl[] = "/tmp/qvm-net-errXXXXXX";
    int t = mkstemp(tmpl);
    assert_true(t >= 0);
    unlink(tmpl);
    fflush(stderr);
    int saved = dup(2);
    dup2(t, 2);
    fn(g);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[4096];
    unsigned lines = 0;
    ssize_t r;
    lseek(t, 0, SEEK_SET);
    while ((r = read(t, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < r; i++)
            lines += buf[i] == '\n';
    close(t);
    return lines;
}

static void flood_1000(struct guest *g)
{
    for (unsigned i = 0; i < 1000; i++) {
        unsigned char hdr[12] = {0};
        static unsigned char f[64];
        make_frame(f, sizeof(f), i);
        uint64_t h = g->base + 0x10000, fb = g->base + 0x10100;
        memcpy(ram + h, hdr, 12);
        memcpy(ram + fb, f, sizeof(f));
        struct seg s[2] = {{h, 12, false}, {fb, sizeof(f), false}};
        gq_add(g, VIRTIO_NET_TXQ, s, 2);
        kick(g, VIRTIO_NET_TXQ);
        uint32_t id, len;
        assert_true(gq_used(g, VIRTIO_NET_TXQ, &id, &len, WAIT_MS));
    }
}

static void peer_absent(void **state)
{
    (void)state;
    struct guest a;
    guest_new(&a, 0, "sa", "a", "/dev/qvm/nosuch/x", NULL, -1);
    guest_start(&a, F_MRG, true);
    assert_false(vnet_link_up(a.d));
    unsigned lines = stderr_lines(flood_1000, &a);
    struct vnet_stats s = stats(&a);
    assert_int_equal(s.tx_dropped, 1000);
    assert_int_equal(s.tx_frames, 0);
    assert_true(lines <= 2); /* no error storm */
    assert_false(virtio_get_status(a.d) & VIRTIO_STATUS_NEEDS_RESET);
    guest_free(&a);
}

static void peer_endpoints(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/sa", rundir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/sa/a", rundir);
    /* A stale endpoint (a socket file nobody has bound) is replaced. */
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sa/a", rundir);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);
    struct guest a, dup;
    guest_new(&a, 0, "sa", "a", "/dev/qvm/sb/b", NULL, -1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    /* A live one is refused: two vdevs with the same system and name. */
    assert_int_equal(guest_try(&dup, 1, "sa", "a", "/dev/qvm/sb/b", NULL, -1),
                     -1);
    /* Without a name or a system, a peer cannot address this end. */
    assert_int_equal(guest_try(&dup, 1, "sa", NULL, "/dev/qvm/sb/b", NULL, -1),
                     -1);
    assert_int_equal(guest_try(&dup, 1, NULL, "c", "/dev/qvm/sb/b", NULL, -1),
                     -1);
    /* A regular file in the way is not removed. */
    snprintf(path, sizeof(path), "%s/sa/file", rundir);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(
        guest_try(&dup, 1, "sa", "file", "/dev/qvm/sb/b", NULL, -1), -1);
    assert_int_equal(stat(path, &st), 0);
    unlink(path);
    guest_free(&a);
    /* The endpoint is removed at exit. */
    snprintf(path, sizeof(path), "%s/sa/a", rundir);
    assert_int_equal(stat(path, &st), -1);
}

/* Without QVM_RUNTIME_DIR, for a user who may not write /run/qvm (nor
 * create it): $XDG_RUNTIME_DIR/qvm, and -ENOENT without that either. Run
 * unprivileged (unpriv.h): no cmocka assertions here. */
static bool runtime_dir_user(void *arg)
{
    (void)arg;
    char buf[128];
    if (access("/run/qvm", W_OK | X_OK) == 0 ||
        (access("/run/qvm", F_OK) < 0 && access("/run", W_OK | X_OK) == 0)) {
        fprintf(stderr, "runtime_dir: this user may write /run/qvm\n");
        return false; /* not what this check is about: a broken host */
    }
    setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
    if (vnet_runtime_dir(buf, sizeof(buf)) != 0 ||
        strcmp(buf, "/run/user/4242/qvm") != 0)
        return false;
    unsetenv("XDG_RUNTIME_DIR");
    return vnet_runtime_dir(buf, sizeof(buf)) == -ENOENT;
}

static void runtime_dir(void **state)
{
    (void)state;
    char buf[128], saved[64];
    snprintf(saved, sizeof(saved), "%s", getenv("QVM_RUNTIME_DIR"));
    assert_int_equal(vnet_runtime_dir(buf, sizeof(buf)), 0);
    assert_string_equal(buf, rundir);
    unsetenv("QVM_RUNTIME_DIR");
    setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
    assert_int_equal(vnet_runtime_dir(buf, sizeof(buf)), 0);
    if (geteuid() == 0)
        assert_string_equal(buf, "/run/qvm");
    assert_int_equal(vnet_runtime_dir(buf, 4), -ENAMETOOLONG);
    int held = as_unprivileged(runtime_dir_user, NULL);
    setenv("QVM_RUNTIME_DIR", saved, 1);
    if (held < 0) {
        print_message("# ci-not-applicable: root cannot drop to uid %d "
                      "here (no CAP_SETUID) to see the per-user "
                      "directory\n",
                      UNPRIV_ID);
        skip();
    }
    assert_int_equal(held, 1);
}

/* ---- malformed transmit chains ------------------------------------- */

static void tx_malformed(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    guest_start(&b, F_MRG, true);
    post_rx(&b, 8, 2048);
    kick(&b, VIRTIO_NET_RXQ);
    unsigned char hdr[12] = {0};
    static unsigned char f[70000];
    make_frame(f, sizeof(f), 11);
    /* Shorter than the header. */
    assert_int_equal(send_raw(&a, hdr, 8, f, 1), 0);
    /* A runt: header and 10 bytes. */
    assert_int_equal(send_raw(&a, hdr, 12, f, 10), 0);
    /* Bigger than any frame. */
    assert_int_equal(send_raw(&a, hdr, 12, f, sizeof(f)), 0);
    /* Checksum offload not negotiated. */
    hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    put16(hdr + 6, 14);
    put16(hdr + 8, 2);
    assert_int_equal(send_raw(&a, hdr, 12, f, 100), 0);
    /* Segmentation not negotiated. */
    hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
    put16(hdr + 4, 1000);
    assert_int_equal(send_raw(&a, hdr, 12, f, 100), 0);
    hdr[0] = hdr[1] = 0;
    /* Only writable buffers on the transmit queue. */
    uint64_t w = galloc(&a, 256);
    struct seg ws = {w, 256, true};
    gq_add(&a, VIRTIO_NET_TXQ, &ws, 1);
    kick(&a, VIRTIO_NET_TXQ);
    uint32_t id, len;
    assert_true(gq_used(&a, VIRTIO_NET_TXQ, &id, &len, WAIT_MS));
    assert_int_equal(len, 0);
    assert_int_equal(stats(&a).tx_malformed, 6);
    assert_int_equal(stats(&a).tx_frames, 0);
    /* The device still works. */
    send_frame(&a, 12, 64, 12);
    assert_true(wait_rx_frames(&b, 1, WAIT_MS));
    assert_int_equal(stats(&b).rx_frames, 1);
    /* A buffer outside guest RAM: the queue breaks, NEEDS_RESET. */
    struct seg bad[2] = {{0, 12, false}, {RAM_SIZE + 4096, 100, false}};
    gq_add(&a, VIRTIO_NET_TXQ, bad, 2);
    kick(&a, VIRTIO_NET_TXQ);
    for (unsigned t = 0; t < WAIT_MS; t++) {
        if (virtio_get_status(a.d) & VIRTIO_STATUS_NEEDS_RESET)
            break;
        sleep_ms(1);
    }
    assert_true(virtio_get_status(a.d) & VIRTIO_STATUS_NEEDS_RESET);
    /* Reset and start again: it works. */
    virtio_reset(a.d);
    memset(ram + a.base, 0, 0x8000);
    guest_start(&a, F_MRG, true);
    send_frame(&a, 12, 64, 13);
    assert_true(wait_rx_frames(&b, 2, WAIT_MS));
    guest_free(&a);
    guest_free(&b);
}

/* Receive buffers that cannot hold a header, or a descriptor loop. */
static void rx_malformed(void **state)
{
    (void)state;
    struct guest a, b;
    pair(&a, &b, false);
    guest_start(&a, F_MRG, true);
    guest_start(&b, F_MRG, true);
    post_rx(&b, 1, 8); /* smaller than the header: returned empty */
    uint64_t rb = post_rx(&b, 1, 2048);
    kick(&b, VIRTIO_NET_RXQ);
    send_frame(&a, 12, 100, 14);
    send_frame(&a, 12, 100, 15);
    uint32_t id, len;
    assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    assert_int_equal(len, 0);
    assert_true(gq_used(&b, VIRTIO_NET_RXQ, &id, &len, WAIT_MS));
    check_rx(&b, rb, len, 12, 100, 15, 1);
    /* A looping chain on the receive queue: NEEDS_RESET, no hang. */
    struct gq *r = &b.q[VIRTIO_NET_RXQ];
    uint16_t d0 = r->next % QS;
    struct seg s[2] = {{rb, 64, true}, {rb + 64, 64, true}};
    gq_add(&b, VIRTIO_NET_RXQ, s, 2);
    unsigned char *d1 = ram + r->desc + 16u * ((d0 + 1) % QS);
    put16(d1 + 12, 3);  /* NEXT | WRITE */
    put16(d1 + 14, d0); /* 2nd -> 1st: a loop */
    kick(&b, VIRTIO_NET_RXQ);
    send_frame(&a, 12, 100, 16);
    for (unsigned t = 0; t < WAIT_MS; t++) {
        if (virtio_get_status(b.d) & VIRTIO_STATUS_NEEDS_RESET)
            break;
        sleep_ms(1);
    }
    assert_true(virtio_get_status(b.d) & VIRTIO_STATUS_NEEDS_RESET);
    guest_free(&a);
    guest_free(&b);
}

/* ---- the tap backend ----------------------------------------------- */

static bool in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

static int if_set_up(int s, const char *name)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
        return -errno;
    ifr.ifr_flags |= IFF_UP;
    return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static void tap_both_ways(void **state)
{
    (void)state;
    char name[16], peer[64], path[128];
    snprintf(name, sizeof(name), "qvmt%u", (unsigned)getpid() % 100000);
    snprintf(peer, sizeof(peer), "/dev/vdevpeers/%s", name);
    struct guest g;
    if (guest_try(&g, 0, "s", "t", peer, NULL, 0) < 0) {
        if (in_ci())
            fail_msg("cannot open tap %s under CI=true", name);
        print_message("# cannot open a tap here (not root, no "
                      "/dev/net/tun?): skipped\n");
        skip();
    }
    assert_true(vnet_link_up(g.d));
    /* The host side: the interface up (no IPv6 chatter), a packet socket. */
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
             name);
    int pf = open(path, O_WRONLY);
    if (pf >= 0) {
        ssize_t w = write(pf, "1", 1);
        (void)w;
        close(pf);
    }
    int ps = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    if (ps < 0) {
        guest_free(&g);
        if (in_ci())
            fail_msg("AF_PACKET socket: %s", strerror(errno));
        skip();
    }
    assert_int_equal(if_set_up(ps, name), 0);
    struct sockaddr_ll ll = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETH_P_ALL),
                             .sll_ifindex = (int)if_nametoindex(name)};
    assert_true(ll.sll_ifindex > 0);
    assert_int_equal(bind(ps, (struct sockaddr *)&ll, sizeof(ll)), 0);

    guest_start(&g, F_MRG, true);
    /* Guest -> tap. */
    send_frame(&g, 12, 300, 20);
    static unsigned char want[2048], got[4096];
    make_frame(want, 300, 20);
    bool seen = false;
    for (unsigned t = 0; t < WAIT_MS && !seen; t++) {
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        ssize_t r =
            recvfrom(ps, got, sizeof(got), 0, (struct sockaddr *)&from, &fl);
        if (r < 0) {
            sleep_ms(1);
            continue;
        }
        if (from.sll_pkttype != PACKET_OUTGOING && r == 300 &&
            memcmp(got, want, 300) == 0)
            seen = true;
    }
    assert_true(seen);
    assert_int_equal(stats(&g).tx_frames, 1);

    /* Tap -> guest: the host transmits on the interface. */
    uint64_t rb = post_rx(&g, 8, 2048);
    kick(&g, VIRTIO_NET_RXQ);
    make_frame(want, 400, 21);
    assert_int_equal(
        sendto(ps, want, 400, 0, (struct sockaddr *)&ll, sizeof(ll)), 400);
    seen = false;
    for (unsigned k = 0; k < 8 && !seen; k++) {
        uint32_t id, len;
        if (!gq_used(&g, VIRTIO_NET_RXQ, &id, &len, WAIT_MS))
            break;
        const unsigned char *h = ram + rb + 2048u * id;
        if (len == 12 + 400 && memcmp(h + 12, want, 400) == 0) {
            assert_int_equal(h[0], 0); /* no GUEST_CSUM: no flags */
            assert_int_equal(h[1], VIRTIO_NET_HDR_GSO_NONE);
            assert_int_equal(get16(h + 10), 1);
            seen = true;
        }
    }
    assert_true(seen);
    close(ps);
    guest_free(&g);
    /* qvm made the tap; it goes away with qvm's file. */
    assert_int_equal(if_nametoindex(name), 0);
}

/* The tap's offloads follow what the guest accepted: a UDP datagram the
 * host sends to the guest through the tap arrives with a partial checksum
 * (NEEDS_CSUM) only when the guest took GUEST_CSUM (TUNSETOFFLOAD), and
 * otherwise complete. */
static bool tap_udp_to_guest(struct guest *g, int us, struct sockaddr_in *to,
                             unsigned char *hdr_out, unsigned char *frame,
                             size_t *flen)
{
    uint64_t rb = post_rx(g, 4, 2048);
    kick(g, VIRTIO_NET_RXQ);
    char payload[101];
    memset(payload, 'q', sizeof(payload));
    if (sendto(us, payload, sizeof(payload), 0, (struct sockaddr *)to,
               sizeof(*to)) != (ssize_t)sizeof(payload))
        return false;
    for (unsigned k = 0; k < 4; k++) {
        uint32_t id, len;
        if (!gq_used(g, VIRTIO_NET_RXQ, &id, &len, WAIT_MS))
            return false;
        const unsigned char *h = ram + rb + 2048u * (id % 4);
        const unsigned char *f = h + 12;
        if (len == 12 + 14 + 20 + 8 + sizeof(payload) && f[12] == 0x08 &&
            f[13] == 0 && f[23] == 17 && f[36] == 0x27 && f[37] == 0x0f) {
            memcpy(hdr_out, h, 12);
            *flen = len - 12;
            memcpy(frame, f, *flen);
            return true;
        }
    }
    return false;
}

static void tap_offloads(void **state)
{
    (void)state;
    char name[16], peer[64], path[128];
    snprintf(name, sizeof(name), "qvmo%u", (unsigned)getpid() % 100000);
    snprintf(peer, sizeof(peer), "/dev/vdevpeers/%s", name);
    struct guest g;
    if (guest_try(&g, 0, "s", "t", peer, "02:00:00:00:77:02", 0x3) < 0) {
        if (in_ci())
            fail_msg("cannot open tap %s under CI=true", name);
        skip();
    }
    assert_true(g.d->host_features & F(VIRTIO_NET_F_CSUM));
    assert_true(g.d->host_features & F(VIRTIO_NET_F_GUEST_CSUM));
    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
             name);
    int pf = open(path, O_WRONLY);
    if (pf >= 0) {
        ssize_t w = write(pf, "1", 1);
        (void)w;
        close(pf);
    }
    /* Host side: 10.77.0.1/24 on the tap, the guest's MAC for 10.77.0.2. */
    int us = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(us >= 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(0x0a4d0001);
    assert_int_equal(ioctl(us, SIOCSIFADDR, &ifr), 0);
    sin->sin_addr.s_addr = htonl(0xffffff00);
    assert_int_equal(ioctl(us, SIOCSIFNETMASK, &ifr), 0);
    assert_int_equal(if_set_up(us, name), 0);
    struct arpreq ar;
    memset(&ar, 0, sizeof(ar));
    struct sockaddr_in *pa = (struct sockaddr_in *)&ar.arp_pa;
    pa->sin_family = AF_INET;
    pa->sin_addr.s_addr = htonl(0x0a4d0002);
    ar.arp_ha.sa_family = ARPHRD_ETHER;
    const unsigned char gmac[6] = {2, 0, 0, 0, 0x77, 2};
    memcpy(ar.arp_ha.sa_data, gmac, 6);
    ar.arp_flags = ATF_COM | ATF_PERM;
    snprintf(ar.arp_dev, sizeof(ar.arp_dev), "%s", name);
    assert_int_equal(ioctl(us, SIOCSARP, &ar), 0);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons(9999),
                             .sin_addr.s_addr = htonl(0x0a4d0002)};
    unsigned char hdr[12];
    static unsigned char f[2048];
    size_t flen;

    /* The guest takes GUEST_CSUM: the tap hands over a partial checksum. */
    guest_start(&g, F_MRG | F(VIRTIO_NET_F_GUEST_CSUM), true);
    assert_true(tap_udp_to_guest(&g, us, &to, hdr, f, &flen));
    assert_true(hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assert_int_equal(get16(hdr + 6), 34);
    assert_int_equal(get16(hdr + 8), 6);

    /* After a reset, without GUEST_CSUM: complete checksums only. */
    virtio_reset(g.d);
    memset(ram + g.base, 0, 0x8000);
    guest_start(&g, F_MRG, true);
    assert_true(tap_udp_to_guest(&g, us, &to, hdr, f, &flen));
    assert_int_equal(hdr[0], 0);
    assert_int_equal(udp_verify(f, flen), 0xffff);
    close(us);
    guest_free(&g);
}

static void tap_bad_name(void **state)
{
    (void)state;
    struct guest g;
    /* The name of a non-tap interface: a clear error, no crash. */
    assert_int_equal(guest_try(&g, 0, "s", "t", "/dev/vdevpeers/lo", NULL, 0),
                     -1);
}

/* ---- setup --------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    ram = aligned_alloc(4096, RAM_SIZE);
    if (!ram)
        return -1;
    memset(ram, 0, RAM_SIZE);
    return gview_add_region(&gv, 0, RAM_SIZE, ram, GV_RAM) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gview_free(&gv);
    free(ram);
    return 0;
}

/* Each test has its own runtime directory: endpoints a failed test left
 * behind do not disturb the next. */
static int test_setup(void **state)
{
    (void)state;
    snprintf(rundir, sizeof(rundir), "/tmp/qvm-net-test-XXXXXX");
    if (!mkdtemp(rundir))
        return -1;
    setenv("QVM_RUNTIME_DIR", rundir, 1);
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rundir);
    int r = system(cmd);
    (void)r;
    return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(config_mac_option),
        T(config_derived_mac),
        T(config_peerfeats),
        T(config_link_status),
        T(runtime_dir),
        T(runtime_dir_modes),
        T(peer_other_user),
        T(peer_frame),
        T(peer_frame_segments),
        T(peer_start_order_and_restart),
        T(peer_killed),
        T(peer_hostile),
        T(peer_mergeable),
        T(peer_mergeable_direct),
        T(peer_mergeable_kept_map),
        T(peer_no_mrg_too_big),
        T(peer_legacy_header),
        T(peer_checksum),
        T(peer_no_rx_buffers),
        T(peer_backpressure),
        T(peer_absent),
        T(peer_endpoints),
        T(tx_malformed),
        T(rx_malformed),
        T(tap_both_ways),
        T(tap_offloads),
        T(tap_bad_name),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * net.c: virtio-net (`vdev virtio-net`, virtio 1.2 section 5.1) with a
 * receive queue (0) and a transmit queue (1), VIRTIO_NET_F_MAC,
 * VIRTIO_NET_F_STATUS (link up while the backend can carry frames, with a
 * configuration interrupt when that changes), VIRTIO_NET_F_MRG_RXBUF, and
 * the checksum/segmentation offloads that `peerfeats` allows.
 *
 * The host end of the link is a backend (net_backend.h): a Linux tap
 * (net_tap.c) or another qvm's virtio-net (net_peer.c); without `peer` there
 * is none and the link is down (docs/virtio-net.md).
 * A frame the backend cannot take now (-EAGAIN) waits, its chain kept,
 * until the backend fd is writable (the guest's ring holds the rest); a
 * backend stuck for TX_STALL_TICKS ticks, or any other failure, drops.
 *
 * Receive: the backend fd is read on the I/O event thread only while the
 * guest has a receive buffer (popped and kept in a small stash); without
 * one the fd is left idle until the guest kicks the receive queue, so
 * what waits is bounded by the kernel (tap queue, socket send buffer). A
 * frame needing more buffers than are posted waits (one frame) for them.
 * Frames a guest did not negotiate the offloads for are fixed (a partial
 * checksum is completed) or dropped (segmentation).
 * Transmit: on a kick, each chain's header (at most 12 bytes) is copied
 * out and checked against the negotiated features, and the header copy
 * with the frame's segments in guest memory (at most
 * VIRTIO_NET_MAX_FRAME bytes) goes to the backend in one gathered write:
 * the frame is never copied by qvm (what the guest changes meanwhile only
 * changes what it sends; the header that was checked is qvm's copy).
 * Every chain is returned with 0 written.
 *
 * Context: notify/activate/reset/config_* under d->lock (the core); the
 * backend and timer callbacks on the I/O event thread, taking d->lock.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/net.h"
#include "virtio/net_backend.h"
#include "virtio/virtio.h"

#define TAG "virtio-net"

#define QUEUE_SIZE     256
#define RX_STASH       64  /* receive chains held for one frame (mergeable) */
#define RX_BUDGET      64  /* frames per event callback */
#define TX_BUDGET      256 /* chains per kick before yielding */
#define TX_STALL_TICKS 2   /* backend ticks (1 s each) a frame may wait */
#define ETH_HDR        14
#define BUF_LEN        (VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)
#define RX_IOV         1024 /* UIO_MAXIOV: segments of one direct read */
#define BIT(b)         (1ull << (b))

struct vnet {
    struct virtio_dev d;
    char label[64];
    uint8_t mac[6];
    uint64_t offloads; /* the offload bits offered (from peerfeats) */

    struct net_backend *be;       /* NULL: no `peer`, the link is down */
    struct net_backend_host host; /* what be calls back */
    bool reading;                 /* be->fd watched for EPOLLIN */
    bool watching_out;            /* be->fd watched for EPOLLOUT */

    bool active; /* DRIVER_OK and not reset */
    bool link_up;
    unsigned hdr_len; /* the driver's header: 12, or 10 (legacy) */

    uint8_t *rxbuf; /* a frame read from the backend: 12-byte hdr + frame */
    size_t rx_len;  /* 0: none pending */
    /* The direct receive (rx_direct): rxiov[0] is rxhdr, then the
     * writable segments of the first map_n stashed chains (the first from
     * the driver's header on), map_seg[k] of them chain k's: map_cnt
     * segments in all, holding map_room frame bytes. Kept across frames:
     * a frame's chains leave it in stash_consume, new chains join in
     * rx_map, so each chain is mapped once, not once per frame. */
    uint8_t rxhdr[VIRTIO_NET_HDR_LEN];
    struct iovec rxiov[RX_IOV];
    unsigned map_n, map_cnt;
    size_t map_room;
    uint16_t map_seg[RX_STASH];
    struct vq_elem *stash;
    unsigned stash_head, stash_n;
    struct vq_elem txe;
    /* The frame being sent: txiov[0] is txhdr (the checked copy of the
     * chain's header), txiov[1..txcnt) the frame's segments in txe. */
    uint8_t txhdr[VIRTIO_NET_HDR_LEN];
    struct iovec txiov[VQ_MAX_SEGS + 1];
    unsigned txcnt;
    /*
     * Transmit backpressure: a frame the backend could not take now
     * (-EAGAIN: the peer's socket buffer is full) waits (tx_len bytes in
     * txiov, its chain txe not yet returned) until the backend fd is
     * writable; the guest's ring holds the rest meanwhile. A backend that
     * stays full for TX_STALL_TICKS ticks is stuck: the frame is dropped,
     * and so is every frame it cannot take at once until one goes out.
     */
    size_t tx_len;     /* 0: none waiting */
    unsigned tx_ticks; /* backend ticks seen while it waited */
    bool tx_dropping;  /* stuck: drop what cannot go out at once */

    struct vnet_stats st;
    struct log_budget rl, link_rl;
};

static struct vnet *to_vnet(struct virtio_dev *d)
{
    return d->priv;
}

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* ---- offloads -------------------------------------------------------- */

/* The offloads of `peerfeats`, minus any whose prerequisite is missing
 * (5.1.3.1: a device offers no feature without the ones it requires). */
static uint64_t offloads_from(uint64_t peerfeats)
{
    uint64_t f = peerfeats & VIRTIO_NET_OFFLOADS;
    if (!(f & BIT(VIRTIO_NET_F_CSUM)))
        f &= ~(BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
               BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_HOST_UFO));
    if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
        f &= ~(BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
               BIT(VIRTIO_NET_F_GUEST_ECN) | BIT(VIRTIO_NET_F_GUEST_UFO));
    if (!(f & (BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6))))
        f &= ~BIT(VIRTIO_NET_F_HOST_ECN);
    if (!(f & (BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6))))
        f &= ~BIT(VIRTIO_NET_F_GUEST_ECN);
    return f;
}

/* Does a segmentation type fit the features (guest: the GUEST_ bits,
 * host: the HOST_ bits, 4 positions higher)? */
static bool gso_allowed(const struct virtio_dev *d, uint8_t gso, bool host)
{
    unsigned sh = host ? 4 : 0;
    uint8_t t = gso & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    unsigned need;
    switch (t) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return gso == VIRTIO_NET_HDR_GSO_NONE;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        need = VIRTIO_NET_F_GUEST_TSO4;
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        need = VIRTIO_NET_F_GUEST_TSO6;
        break;
    case VIRTIO_NET_HDR_GSO_UDP:
        need = VIRTIO_NET_F_GUEST_UFO;
        break;
    default:
        return false;
    }
    if (!virtio_has(d, need + sh))
        return false;
    return !(gso & VIRTIO_NET_HDR_GSO_ECN) ||
           virtio_has(d, VIRTIO_NET_F_GUEST_ECN + sh);
}

/* Complete a partial checksum (the field holds the pseudo-header sum). */
static void csum_complete(uint8_t *f, size_t len, size_t start, size_t off)
{
    uint64_t sum = 0;
    size_t i = start;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)(f[i] << 8 | f[i + 1]);
    if (i < len)
        sum += (uint32_t)f[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    if (!c)
        c = 0xffff; /* as Linux: 0 means "no checksum" to UDP */
    f[start + off] = (uint8_t)(c >> 8);
    f[start + off + 1] = (uint8_t)c;
}

/* ---- link state ------------------------------------------------------ */

static void set_link(struct vnet *n, bool up, const char *why)
{
    if (n->link_up == up)
        return;
    n->link_up = up;
    n->st.link_changes++;
    log_guest(&n->link_rl, LOG_INFO, TAG, "%s: link %s (%s)", n->label,
              up ? "up" : "down", why);
    if (n->active && virtio_has(&n->d, VIRTIO_NET_F_STATUS))
        virtio_config_changed(&n->d);
}

static void link_changed(void *opaque, bool up, const char *why)
{
    set_link(opaque, up, why);
}

/* ---- backend I/O ----------------------------------------------------- */

/* Watch the backend fd for reading (rx) and writability (a waiting
 * transmit frame). */
static void watch(struct vnet *n, bool in, bool out)
{
    if (!n->be)
        return;
    in = in && !n->be->dead;
    out = out && !n->be->dead;
    if ((in == n->reading && out == n->watching_out) || !n->d.ctx ||
        !n->d.ctx->ev)
        return;
    /* Idle: edge-triggered with no events, so an error wakes us once. */
    uint32_t ev = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0);
    if (ev_mod(n->d.ctx->ev, n->be->fd, ev ? ev : EPOLLET) == 0) {
        n->reading = in;
        n->watching_out = out;
    }
}

static void set_reading(struct vnet *n, bool on)
{
    watch(n, on, n->watching_out);
}

static void backend_failed(void *opaque, int err)
{
    struct vnet *n = opaque;
    log_error(TAG, "%s: %s %s failed: %s; the link stays down", n->label,
              n->be->ops->kind, n->be->name, strerror(err));
    n->be->dead = true;
    set_reading(n, false);
    set_link(n, false, "backend failed");
}

/*
 * A receive error. Only a backend that is gone (the tap deleted, the
 * socket unusable) takes the link down for good; anything else (ENOBUFS or
 * ENOMEM under memory pressure, a pending socket error such as
 * ECONNREFUSED, a tap whose interface is down) is transient: logged,
 * rate-limited, and reading goes on.
 */
static void rx_error(struct vnet *n, int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK)
        return;
    if (e == EBADF || e == EBADFD || e == ENODEV || e == ENXIO || e == EFAULT ||
        e == EINVAL || e == ENOTSOCK) {
        backend_failed(n, e);
        return;
    }
    n->st.rx_dropped++;
    log_guest(&n->rl, LOG_WARN, TAG, "%s: receive: %s (transient)", n->label,
              strerror(e));
}

/* What recv returned: true for a frame of a size the device takes (a
 * runt or an oversized one is counted as dropped). */
static bool frame_len_ok(struct vnet *n, ssize_t r)
{
    if (r <= 0)
        return false;
    if (r > (ssize_t)BUF_LEN || r < VIRTIO_NET_HDR_LEN + ETH_HDR) {
        n->st.rx_dropped++;
        return false;
    }
    return true;
}

/*
 * Read one frame into rxbuf. >0: its length (header included); 0: nothing
 * for the guest (control message, runt, stranger); <0: -errno (-EAGAIN:
 * nothing more now).
 */
static ssize_t be_recv(struct vnet *n)
{
    if (!n->be || n->be->dead)
        return -EAGAIN;
    struct iovec iov = {n->rxbuf, BUF_LEN};
    ssize_t r = n->be->ops->recv(n->be, &iov, 1);
    return frame_len_ok(n, r) ? r : MIN(r, 0);
}

/* Send the frame in n->txiov (len bytes): true when it went out or was
 * dropped, false when it is to wait for the backend (-EAGAIN, and not
 * dropping). */
static bool be_send(struct vnet *n, size_t len)
{
    ssize_t r =
        n->be ? n->be->ops->send(n->be, n->txiov, n->txcnt, len) : -ENOTCONN;
    if (r == (ssize_t)len) {
        n->st.tx_frames++;
        n->tx_dropping = false;
        return true;
    }
    /* Only a backend with a tick can tell a stuck peer (the tap's
     * writes do not fail with EAGAIN: the kernel drops instead). */
    if (r == -EAGAIN && !n->tx_dropping && !n->be->dead && n->be->timer_fd >= 0)
        return false;
    n->st.tx_dropped++;
    return true;
}

/* TUNSETOFFLOAD and the like: what the host may hand over = what the
 * guest accepted (nothing while no driver runs). */
static void be_offloads(struct vnet *n, bool on)
{
    if (n->be && n->be->ops->offloads)
        n->be->ops->offloads(n->be, on ? n->d.features : 0);
}

static void tx_run(struct vnet *n);

static void backend_tick(void *opaque, int fd, uint32_t events)
{
    struct vnet *n = opaque;
    (void)events;
    uint64_t ticks;
    if (read(fd, &ticks, sizeof(ticks)) < 0)
        return;
    pthread_mutex_lock(&n->d.lock);
    n->be->ops->tick(n->be);
    if (n->tx_len && n->active) {
        /* Still waiting: a peer that stays full is stuck (or gone). */
        if (++n->tx_ticks >= TX_STALL_TICKS)
            n->tx_dropping = true;
        tx_run(n);
    }
    pthread_mutex_unlock(&n->d.lock);
}

/* ---- receive --------------------------------------------------------- */

enum { RX_DONE, RX_WAIT, RX_BROKEN };

static struct vq_elem *stash_at(struct vnet *n, unsigned k)
{
    return &n->stash[(n->stash_head + k) % RX_STASH];
}

static void map_clear(struct vnet *n)
{
    n->map_n = 0;
    n->map_cnt = 1;
    n->map_room = 0;
}

static void stash_clear(struct vnet *n)
{
    n->stash_n = 0;
    n->stash_head = 0;
    map_clear(n);
}

/*
 * The first k stashed chains leave the mapping (they are being returned):
 * chain k becomes the first, sliced again from the driver's header on, and
 * the segments of the chains after it move down.
 */
static void map_drop(struct vnet *n, unsigned k)
{
    const struct vq_elem *e = stash_at(n, k);
    if (k >= n->map_n || e->in_len < n->hdr_len) {
        map_clear(n); /* rx_map starts again (or takes the bounce path) */
        return;
    }
    unsigned from = 1;
    size_t room = n->map_room;
    for (unsigned i = 0; i < k; i++) {
        from += n->map_seg[i];
        room -= stash_at(n, i)->in_len - (i ? 0 : n->hdr_len);
    }
    unsigned rest = from + n->map_seg[k], tail = n->map_cnt - rest;
    /* At most as many segments as before, so rxiov + 1 + seg <= rest. */
    unsigned seg = vq_slice(e->iov + e->nout, e->nin, n->hdr_len,
                            e->in_len - n->hdr_len, n->rxiov + 1);
    memmove(n->rxiov + 1 + seg, n->rxiov + rest, tail * sizeof(*n->rxiov));
    memmove(n->map_seg, n->map_seg + k, (n->map_n - k) * sizeof(*n->map_seg));
    n->map_seg[0] = (uint16_t)seg;
    n->map_n -= k;
    n->map_cnt = 1 + seg + tail;
    n->map_room = room - n->hdr_len;
}

static void stash_consume(struct vnet *n, unsigned k)
{
    map_drop(n, k);
    n->stash_head = (n->stash_head + k) % RX_STASH;
    n->stash_n -= k;
}

/* Pop one receive chain into the stash: 1, 0 (none posted), -1 broken. */
static int stash_pop(struct vnet *n)
{
    struct virtqueue *vq = &n->d.vq[VIRTIO_NET_RXQ];
    if (n->stash_n >= RX_STASH)
        return 0;
    for (int tries = 0; tries < 2; tries++) {
        int r = vq_pop(vq, stash_at(n, n->stash_n));
        if (r > 0) {
            n->stash_n++;
            return 1;
        }
        if (r < 0) {
            virtio_needs_reset(&n->d, vq->error[0] ? vq->error
                                                   : "malformed receive ring");
            return -1;
        }
        if (!vq_enable_kicks(vq))
            return 0;
    }
    return 0;
}

/* Make the header fit what this guest negotiated; false: drop the frame. */
static bool rx_fix_header(struct vnet *n, uint8_t *hdr, uint8_t *frame,
                          size_t flen)
{
    const struct virtio_dev *d = &n->d;
    uint8_t flags =
        hdr[0] & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);
    if (!gso_allowed(d, hdr[1], false))
        return false;
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        size_t start = ld16(hdr + 6), off = ld16(hdr + 8);
        if (start + off + 2 > flen)
            return false;
        if (!virtio_has(d, VIRTIO_NET_F_GUEST_CSUM)) {
            if (hdr[1] != VIRTIO_NET_HDR_GSO_NONE || !frame)
                return false; /* !frame: no copy to complete it in */
            csum_complete(frame, flen, start, off);
            flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
            st16(hdr + 6, 0);
            st16(hdr + 8, 0);
        }
    }
    if (!virtio_has(d, VIRTIO_NET_F_GUEST_CSUM))
        flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
    hdr[0] = flags;
    if (hdr[1] == VIRTIO_NET_HDR_GSO_NONE) {
        st16(hdr + 2, 0);
        st16(hdr + 4, 0);
    }
    return true;
}

/* Deliver the pending frame (rxbuf, rx_len) into the stashed chains. */
static int rx_deliver(struct vnet *n, unsigned *pushed)
{
    struct virtio_dev *d = &n->d;
    struct virtqueue *vq = &d->vq[VIRTIO_NET_RXQ];
    uint8_t *hdr = n->rxbuf, *frame = n->rxbuf + VIRTIO_NET_HDR_LEN;
    size_t flen = n->rx_len - VIRTIO_NET_HDR_LEN;
    if (!rx_fix_header(n, hdr, frame, flen)) {
        n->st.rx_dropped++;
        n->rx_len = 0;
        return RX_DONE;
    }
    bool mrg = virtio_has(d, VIRTIO_NET_F_MRG_RXBUF);
    size_t need = n->hdr_len + flen, have = 0;
    unsigned max = mrg ? RX_STASH : 1, k = 0;
    while (have < need && k < max) {
        if (k == n->stash_n) {
            int r = stash_pop(n);
            if (r < 0)
                return RX_BROKEN;
            if (r == 0)
                return RX_WAIT; /* the frame waits for more buffers */
        }
        have += stash_at(n, k)->in_len;
        k++;
    }
    if (stash_at(n, 0)->in_len < n->hdr_len) {
        /* A buffer that cannot even hold the header: give it back. */
        vq_push(vq, stash_at(n, 0), 0);
        stash_consume(n, 1);
        (*pushed)++;
        n->st.rx_dropped++;
        n->rx_len = 0;
        return RX_DONE;
    }
    if (have < need) {
        /* Too big for what this guest posts: drop it, keep the buffers. */
        n->st.rx_dropped++;
        n->rx_len = 0;
        return RX_DONE;
    }
    st16(hdr + 10, (uint16_t)(mrg ? k : 1));
    size_t done = 0;
    for (unsigned i = 0; i < k; i++) {
        const struct vq_elem *e = stash_at(n, i);
        size_t w = i == 0 ? vq_copy_to(e, 0, hdr, n->hdr_len) : 0;
        size_t c = vq_copy_to(e, w, frame + done, flen - done);
        done += c;
        vq_push(vq, e, (uint32_t)(w + c));
    }
    stash_consume(n, k);
    *pushed += k;
    n->st.rx_frames++;
    n->rx_len = 0;
    return RX_DONE;
}

/*
 * Map the stashed chains for a direct read: rxiov[0] is rxhdr (the
 * backend's header), then the chains' writable bytes from n->hdr_len on,
 * popping more chains until they can hold the largest frame the backend
 * may hand over (VIRTIO_NET_MAX_FRAME). Without mergeable buffers only
 * the first chain counts: a frame it cannot hold is dropped either way.
 * The chains mapped for an earlier frame stay mapped (map_n).
 * Returns the segments mapped (*room_out: the frame bytes they hold), 0 when a
 * direct read cannot be done now (too few buffers: the bounce path then reads
 * and waits), -1 when the ring is broken.
 */
static int rx_map(struct vnet *n, size_t *room_out)
{
    bool mrg = virtio_has(&n->d, VIRTIO_NET_F_MRG_RXBUF);
    for (;;) {
        unsigned k = n->map_n;
        if (k && (!mrg || n->map_room >= VIRTIO_NET_MAX_FRAME)) {
            *room_out = n->map_room;
            return (int)n->map_cnt;
        }
        if (k == RX_STASH)
            return 0;
        if (k == n->stash_n) {
            int r = stash_pop(n);
            if (r <= 0)
                return r;
        }
        const struct vq_elem *e = stash_at(n, k);
        size_t off = k == 0 ? n->hdr_len : 0;
        if (e->in_len < off || n->map_cnt + e->nin > RX_IOV)
            return 0;
        unsigned seg = vq_slice(e->iov + e->nout, e->nin, off, e->in_len - off,
                                n->rxiov + n->map_cnt);
        n->map_seg[k] = (uint16_t)seg;
        n->map_cnt += seg;
        n->map_room += e->in_len - off;
        n->map_n++;
    }
}

/*
 * Direct receive: the backend reads the next frame straight into the
 * guest's stashed receive buffers (its header into rxhdr), no bounce copy.
 * RX_DONE: a frame was delivered or dropped, or there was nothing (*err:
 * 0, or the backend's errno); RX_WAIT: not possible now, use the bounce
 * path; RX_BROKEN: the ring is malformed.
 */
static int rx_direct(struct vnet *n, unsigned *pushed, int *err)
{
    struct virtio_dev *d = &n->d;
    struct virtqueue *vq = &d->vq[VIRTIO_NET_RXQ];
    *err = 0;
    size_t room = 0;
    int cnt = rx_map(n, &room);
    if (cnt <= 0)
        return cnt < 0 ? RX_BROKEN : RX_WAIT;
    ssize_t r = n->be->ops->recv(n->be, n->rxiov, (unsigned)cnt);
    if (r < 0)
        *err = (int)-r;
    if (!frame_len_ok(n, r))
        return RX_DONE;
    size_t flen = (size_t)r - VIRTIO_NET_HDR_LEN;
    uint8_t *hdr = n->rxhdr, *frame = NULL;
    if ((hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
        !virtio_has(d, VIRTIO_NET_F_GUEST_CSUM) && flen <= room) {
        /* The checksum is to be completed here: over a copy (rare: the
         * tap does it itself for such a guest; a peer may not). */
        frame = n->rxbuf;
        vq_iov_copy(n->rxiov + 1, (unsigned)cnt - 1, 0, frame, flen, false);
    }
    if (flen > room || !rx_fix_header(n, hdr, frame, flen)) {
        n->st.rx_dropped++; /* cut, or not for this guest: buffers stay */
        return RX_DONE;
    }
    if (frame) /* csum_complete wrote the two checksum bytes */
        vq_iov_copy(n->rxiov + 1, (unsigned)cnt - 1, 0, frame, flen, true);
    /* The chains the frame filled: num_buffers, then each one's length. */
    size_t left = n->hdr_len + flen;
    unsigned k = 0;
    while (left > stash_at(n, k)->in_len)
        left -= stash_at(n, k++)->in_len;
    k++;
    st16(hdr + 10, (uint16_t)k);
    vq_copy_to(stash_at(n, 0), 0, hdr, n->hdr_len);
    left = n->hdr_len + flen;
    for (unsigned i = 0; i < k; i++) {
        const struct vq_elem *e = stash_at(n, i);
        size_t w = MIN(left, e->in_len);
        vq_push(vq, e, (uint32_t)w);
        left -= w;
    }
    stash_consume(n, k);
    *pushed += k;
    n->st.rx_frames++;
    n->st.rx_direct++;
    return RX_DONE;
}

/* Move frames from the backend to the guest; caller holds the lock. */
static void rx_run(struct vnet *n)
{
    struct virtio_dev *d = &n->d;
    unsigned pushed = 0;
    bool stop = false;
    for (unsigned i = 0; i < RX_BUDGET; i++) {
        if (!n->active || (virtio_get_status(d) & VIRTIO_STATUS_NEEDS_RESET)) {
            /* No driver: read and discard, so nothing stale piles up. */
            ssize_t r = be_recv(n);
            if (r > 0) {
                n->st.rx_dropped++;
                n->st.rx_nodriver++;
            }
            if (r < 0) {
                rx_error(n, (int)-r);
                break;
            }
            continue;
        }
        if (!n->rx_len) {
            int c = n->stash_n ? 1 : stash_pop(n);
            if (c <= 0) {
                stop = true; /* resumed by the guest's receive kick */
                break;
            }
            int err;
            int res = rx_direct(n, &pushed, &err);
            if (res == RX_BROKEN) {
                stop = true;
                break;
            }
            if (res == RX_DONE) {
                if (err) {
                    rx_error(n, err);
                    break;
                }
                continue;
            }
            ssize_t r = be_recv(n);
            if (r < 0) {
                rx_error(n, (int)-r);
                break;
            }
            if (r == 0)
                continue;
            n->rx_len = (size_t)r;
        }
        int res = rx_deliver(n, &pushed);
        if (res != RX_DONE) {
            stop = true;
            break;
        }
    }
    if (pushed)
        virtio_notify_used(d, VIRTIO_NET_RXQ);
    set_reading(n, !stop);
}

static void backend_event(void *opaque, int fd, uint32_t events)
{
    struct vnet *n = opaque;
    (void)fd;
    pthread_mutex_lock(&n->d.lock);
    if ((events & EPOLLOUT) && n->active && n->tx_len)
        tx_run(n);
    if (events & ~(uint32_t)EPOLLOUT)
        rx_run(n);
    pthread_mutex_unlock(&n->d.lock);
}

/* ---- transmit -------------------------------------------------------- */

static bool tx_header_ok(struct vnet *n, uint8_t *hdr, size_t flen)
{
    const struct virtio_dev *d = &n->d;
    hdr[0] &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
    st16(hdr + 10, 0);
    if (hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!virtio_has(d, VIRTIO_NET_F_CSUM) ||
            (size_t)ld16(hdr + 6) + ld16(hdr + 8) + 2 > flen)
            return false;
    }
    if (!gso_allowed(d, hdr[1], true))
        return false;
    if (hdr[1] != VIRTIO_NET_HDR_GSO_NONE && ld16(hdr + 4) == 0)
        return false; /* segmentation without a segment size */
    return true;
}

/* One chain: false when its frame waits for the backend (tx_len). */
static bool tx_one(struct vnet *n, const struct vq_elem *e)
{
    size_t hl = n->hdr_len;
    const char *bad = NULL;
    if (e->out_len < hl + ETH_HDR)
        bad = "shorter than a header and an Ethernet header";
    else if (e->out_len - hl > VIRTIO_NET_MAX_FRAME)
        bad = "frame too big";
    if (!bad) {
        size_t flen = e->out_len - hl;
        uint8_t *hdr = n->txhdr;
        memset(hdr, 0, VIRTIO_NET_HDR_LEN);
        n->txiov[0] = (struct iovec){hdr, VIRTIO_NET_HDR_LEN};
        n->txcnt = 1 + vq_slice(e->iov, e->nout, hl, flen, n->txiov + 1);
        if (vq_copy_from(e, 0, hdr, hl) != hl)
            bad = "short chain";
        else if (!tx_header_ok(n, hdr, flen))
            bad = "header asks for an offload not negotiated";
        else {
            size_t len = VIRTIO_NET_HDR_LEN + flen;
            if (be_send(n, len))
                return true;
            n->tx_len = len;
            n->tx_ticks = 0;
            n->st.tx_waits++;
            return false;
        }
    }
    n->st.tx_malformed++;
    log_guest(&n->rl, LOG_WARN, TAG,
              "%s: transmit chain of %zu bytes dropped: %s", n->label,
              e->out_len, bad);
    return true;
}

static void tx_run(struct vnet *n)
{
    struct virtio_dev *d = &n->d;
    struct virtqueue *vq = &d->vq[VIRTIO_NET_TXQ];
    unsigned pushed = 0;
    if (n->tx_len) {
        /* The frame that waited for the backend goes first. */
        if (!be_send(n, n->tx_len))
            goto out;
        n->tx_len = 0;
        vq_push(vq, &n->txe, 0);
        pushed++;
    }
    for (unsigned budget = TX_BUDGET;;) {
        int r = vq_pop(vq, &n->txe);
        if (r < 0)
            break; /* broken: the core sets NEEDS_RESET */
        if (r == 0) {
            if (vq_enable_kicks(vq))
                continue;
            break;
        }
        if (!tx_one(n, &n->txe))
            break; /* resumed when the backend is writable */
        vq_push(vq, &n->txe, 0);
        pushed++;
        if (--budget == 0) {
            virtio_kick(d, VIRTIO_NET_TXQ); /* come back after the others */
            break;
        }
    }
out:
    if (pushed)
        virtio_notify_used(d, VIRTIO_NET_TXQ);
    watch(n, n->reading, n->tx_len != 0);
}

/* ---- virtio_dev_ops -------------------------------------------------- */

static void vnet_config_read(struct virtio_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    struct vnet *n = to_vnet(d);
    uint8_t cfg[VIRTIO_NET_CFG_LEN];
    memcpy(cfg + VIRTIO_NET_CFG_MAC, n->mac, 6);
    st16(cfg + VIRTIO_NET_CFG_STATUS, n->link_up ? VIRTIO_NET_S_LINK_UP : 0);
    st16(cfg + 8, 1); /* max_virtqueue_pairs (meaningful only with MQ) */
    if (off > sizeof(cfg) || len > sizeof(cfg) - off) {
        memset(buf, 0, len);
        return;
    }
    memcpy(buf, cfg + off, len);
}

/* Legacy drivers set the MAC by writing it (5.1.4.2, legacy interface). */
static void vnet_config_write(struct virtio_dev *d, uint32_t off,
                              const void *buf, uint32_t len)
{
    struct vnet *n = to_vnet(d);
    if (off < 6 && len <= 6 - off)
        memcpy(n->mac + off, buf, len);
}

static int vnet_activate(struct virtio_dev *d)
{
    struct vnet *n = to_vnet(d);
    n->hdr_len = virtio_has(d, VIRTIO_F_VERSION_1) ||
                         virtio_has(d, VIRTIO_NET_F_MRG_RXBUF)
                     ? VIRTIO_NET_HDR_LEN
                     : VIRTIO_NET_HDR_LEN_LEGACY;
    stash_clear(n);
    n->rx_len = 0;
    n->tx_len = 0;
    n->tx_dropping = false;
    n->active = true;
    be_offloads(n, true);
    set_reading(n, true);
    return 0;
}

static void vnet_notify(struct virtio_dev *d, unsigned q)
{
    struct vnet *n = to_vnet(d);
    if (!n->active)
        return;
    if (q == VIRTIO_NET_TXQ)
        tx_run(n);
    else if (q == VIRTIO_NET_RXQ)
        rx_run(n);
}

static void vnet_reset(struct virtio_dev *d)
{
    struct vnet *n = to_vnet(d);
    n->active = false;
    stash_clear(n);
    n->rx_len = 0;
    n->tx_len = 0; /* its chain goes with the ring */
    n->tx_dropping = false;
    be_offloads(n, false);
    watch(n, true, false); /* discard while no driver runs */
}

static void vnet_close(struct vnet *n)
{
    log_debug(TAG,
              "%s: received %llu frames (%llu of them directly, %llu "
              "dropped, %llu of those while no driver ran), sent %llu "
              "(%llu dropped, %llu malformed)",
              n->label, (unsigned long long)n->st.rx_frames,
              (unsigned long long)n->st.rx_direct,
              (unsigned long long)n->st.rx_dropped,
              (unsigned long long)n->st.rx_nodriver,
              (unsigned long long)n->st.tx_frames,
              (unsigned long long)n->st.tx_dropped,
              (unsigned long long)n->st.tx_malformed);
    if (n->be) {
        if (n->d.ctx && n->d.ctx->ev) {
            (void)ev_del(n->d.ctx->ev, n->be->fd);
            if (n->be->timer_fd >= 0)
                (void)ev_del(n->d.ctx->ev, n->be->timer_fd);
        }
        n->be->ops->close(n->be);
        free(n->be);
        n->be = NULL;
    }
    free(n->rxbuf);
    free(n->stash);
    n->rxbuf = NULL;
    n->stash = NULL;
}

static void vnet_destroy(struct virtio_dev *d)
{
    struct vnet *n = to_vnet(d);
    vnet_close(n);
    free(n);
}

static const struct virtio_dev_ops vnet_ops = {
    .config_read = vnet_config_read,
    .config_write = vnet_config_write,
    .activate = vnet_activate,
    .notify = vnet_notify,
    .reset = vnet_reset,
    .destroy = vnet_destroy,
};

/* ---- construction ---------------------------------------------------- */

/* A locally administered unicast MAC from the system and vdev names (or
 * the vdev's place when it has no name): the same on every run. */
static void derive_mac(const struct vdev_spec *vd, const char *system,
                       uint8_t mac[6])
{
    char key[256];
    if (vd->name)
        snprintf(key, sizeof(key), "%s/%s", system ? system : "", vd->name);
    else if (vd->is_pci)
        snprintf(key, sizeof(key), "%s/pci:%x:%x.%x", system ? system : "",
                 vd->pci.bdf.bus, vd->pci.bdf.dev, vd->pci.bdf.fn);
    else
        snprintf(key, sizeof(key), "%s/mem:%llx", system ? system : "",
                 (unsigned long long)vd->loc.base);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * i));
    mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
}

void vnet_stats(struct virtio_dev *d, struct vnet_stats *out)
{
    struct vnet *n = to_vnet(d);
    pthread_mutex_lock(&d->lock);
    *out = n->st;
    pthread_mutex_unlock(&d->lock);
}

bool vnet_link_up(struct virtio_dev *d)
{
    struct vnet *n = to_vnet(d);
    pthread_mutex_lock(&d->lock);
    bool up = n->link_up;
    pthread_mutex_unlock(&d->lock);
    return up;
}

static int be_open(struct vnet *n, const struct net_backend_ops *ops,
                   const char *target, const struct vdev_spec *vd,
                   const struct dev_ctx *ctx)
{
    struct net_backend *be = calloc(1, ops->size);
    if (!be) {
        log_fatal(TAG, "%s: out of memory", n->label);
        return -1;
    }
    be->ops = ops;
    be->host = &n->host;
    be->fd = be->timer_fd = -1;
    if (ops->open(be, target, vd, ctx) < 0) {
        ops->close(be);
        free(be);
        return -1;
    }
    n->be = be;
    return 0;
}

static int open_backend(struct vnet *n, const struct vdev_spec *vd,
                        const struct dev_ctx *ctx)
{
    const struct opt_val *peer = vdev_opt(vd, "peer");
    const struct opt_val *tapdev = vdev_opt(vd, "tapdev");
    if (peer && tapdev) {
        log_fatal(TAG, "%s: both `peer` and `tapdev` given; use only `peer`",
                  n->label);
        return -1;
    }
    if (tapdev) {
        if (!tapdev->text[0] || strlen(tapdev->text) >= IFNAMSIZ ||
            strchr(tapdev->text, '/')) {
            log_fatal(TAG, "%s: tapdev '%s' is not a tap interface name",
                      n->label, tapdev->text);
            return -1;
        }
        return be_open(n, &net_tap_ops, tapdev->text, vd, ctx);
    }
    if (!peer) {
        log_info(TAG, "%s: no `peer`: the link is down", n->label);
        return 0;
    }
    if (strncmp(peer->text, "/dev/vdevpeers/", 15) == 0) {
        const char *name = peer->text + 15;
        if (!*name || strlen(name) >= IFNAMSIZ || strchr(name, '/')) {
            log_fatal(TAG, "%s: '%s' does not name a tap interface", n->label,
                      peer->text);
            return -1;
        }
        return be_open(n, &net_tap_ops, name, vd, ctx);
    }
    if (strncmp(peer->text, "/dev/qvm/", 9) == 0)
        return be_open(n, &net_peer_ops, peer->text, vd, ctx);
    log_fatal(TAG,
              "%s: peer '%s' must be /dev/vdevpeers/NAME or "
              "/dev/qvm/SYSTEM/NAME",
              n->label, peer->text);
    return -1;
}

int virtio_net_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct virtio_dev **out)
{
    *out = NULL;
    struct vnet *n = calloc(1, sizeof(*n));
    if (!n) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    n->rl = (struct log_budget)LOG_BUDGET_INIT(5, 10000);
    n->link_rl = (struct log_budget)LOG_BUDGET_INIT(10, 10000);
    snprintf(n->label, sizeof(n->label), "virtio-net%s%s", vd->name ? " " : "",
             vd->name ? vd->name : "");
    struct virtio_dev *d = &n->d;
    virtio_dev_init(d, ctx, n->label);
    d->ops = &vnet_ops;
    d->id = VIRTIO_ID_NET;
    d->config_len = VIRTIO_NET_CFG_LEN;
    d->nqueues = 2;
    d->vq[VIRTIO_NET_RXQ].max_size = QUEUE_SIZE;
    d->vq[VIRTIO_NET_RXQ].name = "net.rx";
    d->vq[VIRTIO_NET_TXQ].max_size = QUEUE_SIZE;
    d->vq[VIRTIO_NET_TXQ].name = "net.tx";
    for (unsigned q = 0; q < d->nqueues; q++)
        vq_reset(&d->vq[q]);
    d->priv = n;

    const struct opt_val *mac = vdev_opt(vd, "mac");
    if (mac)
        for (int i = 0; i < 6; i++)
            n->mac[i] = (uint8_t)(mac->num >> (40 - 8 * i));
    else
        derive_mac(vd, ctx ? ctx->system : NULL, n->mac);
    const struct opt_val *pf = vdev_opt(vd, "peerfeats");
    n->offloads = offloads_from(pf ? pf->num : 0);
    d->host_features = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
                       BIT(VIRTIO_NET_F_MRG_RXBUF) | n->offloads;
    n->hdr_len = VIRTIO_NET_HDR_LEN;
    n->rxiov[0] = (struct iovec){n->rxhdr, VIRTIO_NET_HDR_LEN}; /* for good */

    n->rxbuf = malloc(BUF_LEN);
    n->stash = calloc(RX_STASH, sizeof(*n->stash));
    if (!n->rxbuf || !n->stash) {
        log_fatal(TAG, "%s: out of memory", n->label);
        goto fail;
    }
    n->host = (struct net_backend_host){
        .label = n->label,
        .rl = &n->rl,
        .st = &n->st,
        .link = link_changed,
        .failed = backend_failed,
        .opaque = n,
    };
    if (open_backend(n, vd, ctx) < 0)
        goto fail;
    if (n->be)
        n->link_up = n->be->ops->carrier(n->be);
    if (n->be && ctx && ctx->ev) {
        int e = ev_add(ctx->ev, n->be->fd, EPOLLIN, backend_event, n);
        if (e == 0 && n->be->timer_fd >= 0)
            e = ev_add(ctx->ev, n->be->timer_fd, EPOLLIN, backend_tick, n);
        if (e < 0) {
            log_fatal(TAG, "%s: cannot watch the backend: %s", n->label,
                      strerror(-e));
            goto fail;
        }
        n->reading = true;
    }
    *out = d;
    return 0;
fail:
    vnet_close(n);
    pthread_mutex_destroy(&d->lock);
    free(n);
    return -1;
}

/*
 * console.c: virtio-console (`vdev virtio-console`, qvm-reference.md 4.3;
 * virtio 1.2, 5.3): one port, the console (Linux's hvc0), on receiveq 0
 * and transmitq 1, with the host end of ser8250 (devices/chardev.h: every
 * hostdev form, `delayed`).
 *
 * Features: VIRTIO_CONSOLE_F_EMERG_WRITE only: a byte written to emerg_wr
 * goes to the output (dropped, counted, if the sink is stuck: the vCPU
 * cannot wait). No F_MULTIPORT: port 0 is the console and there is no
 * control queue. No F_SIZE: qvm cannot follow a terminal's size on every
 * form, and the driver then keeps its default. Configuration space (12
 * bytes): cols 0, rows 0, max_nr_ports 1, emerg_wr (write-only, reads 0).
 *
 * Transmit: each chain's readable bytes go to the chardev's bounded output
 * buffer; when it is full the chain is held (not yet used) and no more are
 * popped until the chardev says there is room: a slow sink slows the guest
 * down instead of losing output or growing memory. Receive: host input is
 * read only into a posted receive buffer (one chain is held, popped, while
 * waiting for input); when the guest has posted none, the input fd is no
 * longer watched (backpressure, the bytes stay in the host fd) until the
 * next kick of receiveq. Each call handles at most QBUDGET chains and then
 * kicks itself, so a busy console never holds the event thread for long.
 *
 * Context: notify/activate/reset/config ops under d->lock (the core takes
 * it); chardev callbacks on the I/O event thread under d->lock (the chardev
 * takes it); config_write (emerg_wr) on a vCPU thread under d->lock.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/chardev.h"
#include "util/log.h"
#include "virtio/virtio.h"

#define TAG "virtio-console"

#define VIRTIO_CONSOLE_F_SIZE        0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

#define RXQ       0
#define TXQ       1
#define QSIZE     256
#define QBUDGET   256 /* chains per call before yielding the event thread */
#define CHUNK     4096u
#define CFG_LEN   12
#define CFG_EMERG 8 /* emerg_wr: le32 at offset 8 */

struct vcon {
    struct virtio_dev dev;
    struct chardev *cd;
    bool active; /* DRIVER_OK seen since the last reset */
    bool rx_held, tx_held;
    struct vq_elem rx; /* popped receive buffer waiting for input */
    struct vq_elem tx; /* popped transmit chain, tx_off bytes sent */
    size_t tx_off;
    uint8_t buf[CHUNK]; /* bounce buffer; used under d->lock only */
};

static struct vcon *to_vcon(struct virtio_dev *d)
{
    return d->priv;
}

static bool running(struct vcon *v)
{
    return v->active &&
           !(virtio_get_status(&v->dev) & VIRTIO_STATUS_NEEDS_RESET);
}

/* pop: 1 with a chain in *e, 0 if none, -1 when the ring is malformed
 * (the device then needs a reset). */
static int pop(struct vcon *v, unsigned q, struct vq_elem *e)
{
    struct virtqueue *vq = &v->dev.vq[q];
    if (!vq_ready(vq))
        return 0;
    int got = vq_pop(vq, e);
    if (got < 0) {
        virtio_needs_reset(&v->dev, vq->error[0] ? vq->error : "bad ring");
        return -1;
    }
    return got;
}

/* Host input into posted receive buffers. Caller holds d->lock. */
static void rx_fill(struct vcon *v)
{
    struct virtio_dev *d = &v->dev;
    struct virtqueue *vq = &d->vq[RXQ];
    bool want = false;
    unsigned pushed = 0;
    while (running(v)) {
        if (!v->rx_held) {
            if (pushed >= QBUDGET) {
                virtio_kick(d, RXQ); /* more later: let others run */
                break;
            }
            if (pop(v, RXQ, &v->rx) <= 0)
                break; /* no buffer posted: input waits in the host fd */
            if (!v->rx.in_len) {
                vq_push(vq, &v->rx, 0); /* nothing writable: returned */
                pushed++;
                continue;
            }
            v->rx_held = true;
        }
        ssize_t n =
            chardev_read(v->cd, v->buf, MIN(v->rx.in_len, sizeof v->buf));
        if (n <= 0) {
            want = n == 0; /* -1: no input, ever */
            break;
        }
        size_t w = vq_copy_to(&v->rx, 0, v->buf, (size_t)n);
        vq_push(vq, &v->rx, (uint32_t)w);
        v->rx_held = false;
        pushed++;
    }
    chardev_want_input(v->cd, want);
    if (pushed)
        virtio_notify_used(d, RXQ);
}

/* Guest output to the host end. Caller holds d->lock. */
static void tx_drain(struct vcon *v)
{
    struct virtio_dev *d = &v->dev;
    struct virtqueue *vq = &d->vq[TXQ];
    unsigned pushed = 0;
    while (running(v)) {
        if (!v->tx_held) {
            if (pushed >= QBUDGET) {
                virtio_kick(d, TXQ);
                break;
            }
            if (pop(v, TXQ, &v->tx) <= 0)
                break;
            v->tx_held = true;
            v->tx_off = 0;
        }
        bool full = false;
        while (v->tx_off < v->tx.out_len) {
            size_t n = vq_copy_from(&v->tx, v->tx_off, v->buf, sizeof v->buf);
            if (!n)
                break;
            size_t w = chardev_write(v->cd, v->buf, n);
            v->tx_off += w;
            if (w < n) {
                full = true; /* output_room resumes here */
                break;
            }
        }
        if (full)
            break;
        vq_push(vq, &v->tx, 0); /* transmit buffers are only read */
        v->tx_held = false;
        pushed++;
    }
    if (pushed)
        virtio_notify_used(d, TXQ);
}

/* chardev callbacks: event thread, d->lock held. */
static void on_input(void *opaque)
{
    rx_fill(opaque);
}

static void on_room(void *opaque)
{
    tx_drain(opaque);
}

static void vcon_config_read(struct virtio_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    (void)d;
    /* cols, rows (no F_SIZE), max_nr_ports (no F_MULTIPORT), emerg_wr. */
    static const uint8_t cfg[CFG_LEN] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    memset(buf, 0, len);
    if (off < CFG_LEN)
        memcpy(buf, cfg + off, MIN((uint32_t)(CFG_LEN - off), len));
}

static void vcon_config_write(struct virtio_dev *d, uint32_t off,
                              const void *buf, uint32_t len)
{
    struct vcon *v = to_vcon(d);
    /* A write covering emerg_wr's low byte sends that character. */
    if (off > CFG_EMERG || len <= CFG_EMERG - off)
        return;
    chardev_access(v->cd);
    chardev_put(v->cd, (const uint8_t *)buf + (CFG_EMERG - off), 1);
}

static int vcon_activate(struct virtio_dev *d)
{
    struct vcon *v = to_vcon(d);
    v->active = true;
    chardev_access(v->cd);
    rx_fill(v);
    tx_drain(v);
    return 0;
}

static void vcon_notify(struct virtio_dev *d, unsigned q)
{
    struct vcon *v = to_vcon(d);
    chardev_access(v->cd);
    if (q == RXQ)
        rx_fill(v);
    else if (q == TXQ)
        tx_drain(v);
}

static void vcon_reset(struct virtio_dev *d)
{
    struct vcon *v = to_vcon(d);
    v->active = false;
    v->rx_held = v->tx_held = false;
    v->tx_off = 0;
    chardev_want_input(v->cd, false);
}

static void vcon_destroy(struct virtio_dev *d)
{
    struct vcon *v = to_vcon(d);
    chardev_close(v->cd);
    free(v);
}

static const struct virtio_dev_ops vcon_ops = {
    .config_read = vcon_config_read,
    .config_write = vcon_config_write,
    .activate = vcon_activate,
    .notify = vcon_notify,
    .reset = vcon_reset,
    .destroy = vcon_destroy,
};

int virtio_console_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                       struct virtio_dev **out)
{
    *out = NULL;
    struct vcon *v = calloc(1, sizeof(*v));
    if (!v) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    struct virtio_dev *d = &v->dev;
    virtio_dev_init(d, ctx, vd->name ? vd->name : "virtio-console");
    d->ops = &vcon_ops;
    d->id = VIRTIO_ID_CONSOLE;
    d->host_features = 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE;
    d->config_len = CFG_LEN;
    d->nqueues = 2;
    d->vq[RXQ].max_size = QSIZE;
    d->vq[RXQ].name = "console.rx";
    d->vq[TXQ].max_size = QSIZE;
    d->vq[TXQ].name = "console.tx";
    d->priv = v;
    const struct chardev_params cp = {.tag = TAG,
                                      .what = "the console",
                                      .lock = &d->lock,
                                      .input = on_input,
                                      .output_room = on_room,
                                      .opaque = v};
    if (chardev_new(vd, ctx, &cp, &v->cd) < 0) {
        pthread_mutex_destroy(&d->lock);
        free(v);
        return -1;
    }
    *out = d;
    return 0;
}

/*
 * virtio.c: what the two virtio transports share (see virtio.h): the
 * feature offer and negotiation, the device status state machine (virtio
 * 1.2, 2.1 and 3.1), queue start at DRIVER_OK, the kick eventfds watched on
 * the I/O event thread, interrupts through the transport, and the
 * registry's realize for every virtio-* vdev.
 *
 * Status: bits only accumulate until the driver writes 0 (reset).
 * FEATURES_OK is refused (left clear) when the accepted features are not a
 * subset of the offer or, on the modern interface, lack VERSION_1; the
 * driver reads the status back and gives up. DRIVER_OK starts every enabled
 * queue with the negotiated features and activates the device; a queue
 * that cannot start or a device that cannot activate sets NEEDS_RESET.
 * NEEDS_RESET is set atomically (devices may report it from any thread)
 * and logged once per reset cycle with the reason.
 *
 * Context: virtio_set_status and the feature windows on vCPU threads
 * (taking d->lock); kick callbacks on the I/O event thread (taking d->lock
 * around ops->notify); virtio_notify_used, virtio_config_changed and
 * virtio_needs_reset from any thread, with or without d->lock held: they
 * never take it.
 */
#include "virtio/virtio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "config/schema.h"
#include "util/ckd.h"
#include "util/log.h"

#define TAG "virtio"

/* The bits the core (the virtqueue) implements, offered to every driver. */
#define CORE_FEATURES                                                          \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_INDIRECT_DESC) |         \
     (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_RING_PACKED))

void virtio_dev_init(struct virtio_dev *d, const struct dev_ctx *ctx,
                     const char *name)
{
    d->ctx = ctx;
    d->mem = ctx ? ctx->mem : NULL;
    d->name = name ? name : "virtio";
    pthread_mutex_init(&d->lock, NULL);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        d->kick[q] = -1;
        d->vq[q].msix_vector = VIRTIO_MSI_NO_VECTOR;
    }
    d->status = 0;
    d->features = 0;
    d->dfeat_sel = d->gfeat_sel = 0;
    d->queue_sel = 0;
    atomic_init(&d->config_generation, 0);
    d->log = (struct log_budget)LOG_BUDGET_INIT(10, 5000);
}

uint64_t virtio_offer(const struct virtio_dev *d)
{
    return d->host_features | CORE_FEATURES;
}

static uint8_t status_load(struct virtio_dev *d)
{
    return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
}

static bool running(struct virtio_dev *d)
{
    uint8_t s = status_load(d);
    return (s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- interrupts --------------------------------------------------------- */

void virtio_notify_used(struct virtio_dev *d, unsigned q)
{
    if (q >= d->nqueues || !d->tops || !d->tops->interrupt)
        return;
    if (vq_need_interrupt(&d->vq[q]))
        d->tops->interrupt(d, (int)q);
}

void virtio_config_changed(struct virtio_dev *d)
{
    atomic_fetch_add(&d->config_generation, 1);
    if ((status_load(d) & VIRTIO_STATUS_DRIVER_OK) && d->tops &&
        d->tops->interrupt)
        d->tops->interrupt(d, -1);
}

void virtio_needs_reset(struct virtio_dev *d, const char *why)
{
    uint8_t old = __atomic_fetch_or(&d->status, VIRTIO_STATUS_NEEDS_RESET,
                                    __ATOMIC_ACQ_REL);
    if (old & VIRTIO_STATUS_NEEDS_RESET)
        return;
    log_guest(&d->log, LOG_WARN, TAG, "%s: %s; the device needs a reset",
              d->name ? d->name : "virtio", why ? why : "device error");
    /* A configuration change interrupt tells the driver (2.1.2). */
    if ((old & VIRTIO_STATUS_DRIVER_OK) && d->tops && d->tops->interrupt)
        d->tops->interrupt(d, -1);
}

/* ---- status ------------------------------------------------------------- */

/* Caller holds d->lock. */
static void reset_locked(struct virtio_dev *d)
{
    if (d->ops && d->ops->reset)
        d->ops->reset(d);
    for (unsigned q = 0; q < d->nqueues && q < VIRTIO_MAX_QUEUES; q++)
        vq_reset(&d->vq[q]);
    d->features = 0;
    d->dfeat_sel = d->gfeat_sel = 0;
    d->queue_sel = 0;
    __atomic_store_n(&d->status, 0, __ATOMIC_RELEASE);
}

void virtio_reset(struct virtio_dev *d)
{
    pthread_mutex_lock(&d->lock);
    reset_locked(d);
    pthread_mutex_unlock(&d->lock);
}

/* FEATURES_OK: may the device accept d->features? Caller holds d->lock. */
static bool features_ok(struct virtio_dev *d, bool modern)
{
    uint64_t extra = d->features & ~virtio_offer(d);
    if (extra) {
        log_guest(&d->log, LOG_WARN, TAG,
                  "%s: driver accepted features 0x%llx that were not "
                  "offered; FEATURES_OK refused",
                  d->name, (unsigned long long)extra);
        return false;
    }
    if (modern && !virtio_has(d, VIRTIO_F_VERSION_1)) {
        log_guest(&d->log, LOG_WARN, TAG,
                  "%s: driver did not accept VERSION_1 on the modern "
                  "interface; FEATURES_OK refused",
                  d->name);
        return false;
    }
    return true;
}

/* DRIVER_OK: start the enabled queues, then activate. Caller holds d->lock
 * and has already published DRIVER_OK in d->status. */
static void start_locked(struct virtio_dev *d)
{
    for (unsigned q = 0; q < d->nqueues && q < VIRTIO_MAX_QUEUES; q++) {
        struct virtqueue *vq = &d->vq[q];
        if (vq_start(vq, d->mem, d->features) < 0) {
            char why[160];
            snprintf(why, sizeof(why), "queue %u (%s) cannot start: %s", q,
                     vq->name ? vq->name : "?",
                     vq->error[0] ? vq->error : "bad ring");
            virtio_needs_reset(d, why);
            return;
        }
    }
    if (d->ops && d->ops->activate && d->ops->activate(d) < 0)
        virtio_needs_reset(d, "the device could not start");
}

void virtio_set_status(struct virtio_dev *d, uint8_t val, bool modern)
{
    pthread_mutex_lock(&d->lock);
    if (val == 0) {
        reset_locked(d);
        pthread_mutex_unlock(&d->lock);
        return;
    }
    uint8_t old = status_load(d);
    uint8_t set = (uint8_t)(val & ~old & ~VIRTIO_STATUS_NEEDS_RESET);
    uint8_t now = (uint8_t)(old | set);
    if (set & VIRTIO_STATUS_FAILED)
        log_guest(&d->log, LOG_INFO, TAG,
                  "%s: the driver gave up (status FAILED)", d->name);
    if ((set & VIRTIO_STATUS_FEATURES_OK) && !features_ok(d, modern))
        now &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
    bool start = false;
    if ((set & VIRTIO_STATUS_DRIVER_OK) && (now & VIRTIO_STATUS_FAILED)) {
        now &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK; /* given up: no start */
    } else if (set & VIRTIO_STATUS_DRIVER_OK) {
        if (modern && !(now & VIRTIO_STATUS_FEATURES_OK)) {
            log_guest(&d->log, LOG_WARN, TAG,
                      "%s: DRIVER_OK without FEATURES_OK; the device "
                      "stays stopped",
                      d->name);
            now &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
            now |= VIRTIO_STATUS_NEEDS_RESET;
        } else {
            start = true;
        }
    }
    /* NEEDS_RESET may have been set concurrently by a device thread: keep
     * it (it is only ever cleared by a reset, under the lock). */
    __atomic_fetch_or(&d->status, now, __ATOMIC_ACQ_REL);
    if (start)
        start_locked(d);
    pthread_mutex_unlock(&d->lock);
}

uint8_t virtio_get_status(struct virtio_dev *d)
{
    return status_load(d);
}

/* ---- feature windows ---------------------------------------------------- */

uint32_t virtio_dev_features(struct virtio_dev *d, uint32_t sel)
{
    uint64_t offer = virtio_offer(d);
    return sel == 0 ? (uint32_t)offer : sel == 1 ? (uint32_t)(offer >> 32) : 0;
}

void virtio_set_driver_features(struct virtio_dev *d, uint32_t sel,
                                uint32_t val)
{
    pthread_mutex_lock(&d->lock);
    uint8_t s = status_load(d);
    /* Frozen once negotiated (FEATURES_OK, or DRIVER_OK for legacy). */
    if (!(s & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK))) {
        if (sel == 0)
            d->features = (d->features & ~0xffffffffull) | val;
        else if (sel == 1)
            d->features = (d->features & 0xffffffffull) | (uint64_t)val << 32;
        /* Other windows: no feature bits there; a 1 bit makes the set
         * non-offered, so remember nothing but refuse FEATURES_OK. */
        else if (val)
            log_guest(&d->log, LOG_WARN, TAG,
                      "%s: driver features window %u written (0x%x)", d->name,
                      sel, val);
    }
    pthread_mutex_unlock(&d->lock);
}

/* ---- kicks -------------------------------------------------------------- */

/* A malformed ring was seen on queue q. */
static void queue_broken(struct virtio_dev *d, unsigned q)
{
    const struct virtqueue *vq = &d->vq[q];
    char why[160];
    snprintf(why, sizeof(why), "queue %u (%s): %s", q,
             vq->name ? vq->name : "?",
             vq->error[0] ? vq->error : "malformed ring");
    virtio_needs_reset(d, why);
}

static void kick_event(void *opaque, int fd, uint32_t events)
{
    struct virtio_dev *d = opaque;
    (void)events;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
        return; /* spurious wake-up (EAGAIN) */
    unsigned q = 0;
    while (q < d->nqueues && d->kick[q] != fd)
        q++;
    if (q == d->nqueues)
        return;
    pthread_mutex_lock(&d->lock);
    if (running(d) && d->ops && d->ops->notify) {
        d->ops->notify(d, q);
        if (d->vq[q].broken)
            queue_broken(d, q);
    }
    pthread_mutex_unlock(&d->lock);
}

static void kicks_stop(struct virtio_dev *d)
{
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        if (d->kick[q] < 0)
            continue;
        if (d->ctx && d->ctx->ev)
            (void)ev_del(d->ctx->ev, d->kick[q]);
        close(d->kick[q]);
        d->kick[q] = -1;
    }
}

int virtio_kicks_start(struct virtio_dev *d)
{
    if (!d->ctx || !d->ctx->ev || d->nqueues > VIRTIO_MAX_QUEUES)
        return -EINVAL;
    for (unsigned q = 0; q < d->nqueues; q++) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) {
            int e = -errno;
            kicks_stop(d);
            return e;
        }
        d->kick[q] = fd;
        int e = ev_add(d->ctx->ev, fd, EPOLLIN, kick_event, d);
        if (e < 0) {
            kicks_stop(d);
            return e;
        }
    }
    return 0;
}

bool virtio_config_access(struct virtio_dev *d, uint64_t off, unsigned size,
                          bool write, uint64_t *val)
{
    if (!write)
        *val = 0;
    if (size > 8 || !range_within(off, size, d->config_len))
        return false;
    if (write ? !d->ops->config_write : !d->ops->config_read)
        return false;
    pthread_mutex_lock(&d->lock);
    if (write)
        d->ops->config_write(d, (uint32_t)off, val, size);
    else
        d->ops->config_read(d, (uint32_t)off, val, size);
    pthread_mutex_unlock(&d->lock);
    return true;
}

void virtio_kick(struct virtio_dev *d, unsigned q)
{
    if (q >= d->nqueues || d->kick[q] < 0)
        return;
    uint64_t one = 1;
    ssize_t w = write(d->kick[q], &one, sizeof(one));
    (void)w; /* EAGAIN: the counter is saturated, a kick is pending anyway */
}

void virtio_dev_free(struct virtio_dev *d)
{
    if (!d)
        return;
    virtio_reset(d);
    kicks_stop(d);
    pthread_mutex_destroy(&d->lock);
    if (d->ops && d->ops->destroy)
        d->ops->destroy(d);
}

/* ---- realize ------------------------------------------------------------ */

static void virtio_teardown(void *state)
{
    struct virtio_dev *d = state;
    virtio_reset(d);
    if (d->tops && d->tops->detach)
        d->tops->detach(d);
    virtio_dev_free(d);
}

void virtio_report(struct virtio_dev *d, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = 0;
    size_t n = 0;
#define PUT(...)                                                               \
    do {                                                                       \
        if (n < len) {                                                         \
            int w_ = snprintf(buf + n, len - n, __VA_ARGS__);                  \
            n += w_ > 0 ? (size_t)w_ : 0;                                      \
        }                                                                      \
    } while (0)
    pthread_mutex_lock(&d->lock);
    uint8_t st = d->status;
    PUT("%s, status 0x%02x%s%s%s, features 0x%llx",
        d->legacy ? "legacy" : "1.x", st,
        st & VIRTIO_STATUS_DRIVER_OK     ? " driver-ok"
        : st & VIRTIO_STATUS_FEATURES_OK ? " features-ok"
        : st == 0                        ? " reset"
                                         : "",
        st & VIRTIO_STATUS_NEEDS_RESET ? " needs-reset" : "",
        st & VIRTIO_STATUS_FAILED ? " failed" : "",
        (unsigned long long)d->features);
    for (unsigned q = 0; q < d->nqueues; q++) {
        const struct virtqueue *vq = &d->vq[q];
        if (!vq->enabled)
            continue;
        PUT("; %s size %u%s avail %u used %u%s%s", vq->name ? vq->name : "vq",
            vq->size, vq->packed ? " packed" : "", vq->last_avail, vq->used_idx,
            vq->broken ? " broken: " : "", vq->broken ? vq->error : "");
    }
    pthread_mutex_unlock(&d->lock);
#undef PUT
}

static void virtio_report_hook(void *state, char *buf, size_t len)
{
    virtio_report(state, buf, len);
}

int virtio_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct dev_inst *inst)
{
    struct virtio_dev *d = NULL;
    const struct virtio_ctor *ctor = inst->arg;
    if (!ctor) {
        log_fatal(TAG, "vdev %s: no virtio device model", vdev_type_name(vd));
        return -1;
    }
    int rc = ctor->fn(vd, ctx, &d);
    if (rc < 0 || !d)
        return -1;
    d->legacy = vdev_opt(vd, "legacy") != NULL;
    int e = virtio_kicks_start(d);
    if (e < 0) {
        log_fatal(TAG, "%s: cannot set up queue notifications: %s", d->name,
                  strerror(-e));
        virtio_dev_free(d);
        return -1;
    }
    e = vd->is_pci ? virtio_pci_attach(d, vd, ctx)
                   : virtio_mmio_attach(d, vd, ctx);
    if (e < 0) {
        virtio_dev_free(d);
        return -1;
    }
    inst->state = d;
    inst->teardown = virtio_teardown;
    inst->report = virtio_report_hook;
    if (!vd->is_pci)
        inst->desc =
            (struct dev_desc){DEV_ROLE_VIRTIO_MMIO, vd->loc.base, vd->loc.size,
                              virtio_mmio_gsi(d),   -1,           NULL};
    return 0;
}

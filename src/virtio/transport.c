/*
 * transport.c: the register semantics both virtio transports share (see
 * transport.h).
 *
 * Context: register ops on vCPU threads; d->lock as transport.h says.
 */
#include "virtio/transport.h"

#include <errno.h>
#include <string.h>

#include "util/compiler.h"

void vt_init(struct vtransport *vt, struct virtio_dev *d, const char *tag,
             void (*reset)(struct vtransport *vt))
{
    vt->d = d;
    vt->tag = tag;
    vt->reset = reset;
    vt->rl = (struct log_budget)LOG_BUDGET_INIT(10, 5000);
}

void vt_bad_access(struct vtransport *vt, const char *what, uint64_t off,
                   unsigned size)
{
    log_guest(&vt->rl, LOG_WARN, vt->tag,
              "%s: %s of %u bytes at offset 0x%llx ignored", vt->d->name, what,
              size, (unsigned long long)off);
}

/* ---- registers ---------------------------------------------------------- */

uint32_t vt_device_features(struct vtransport *vt)
{
    struct virtio_dev *d = vt->d;
    pthread_mutex_lock(&d->lock);
    uint32_t v = virtio_dev_features(d, d->dfeat_sel);
    pthread_mutex_unlock(&d->lock);
    return v;
}

void vt_select_device_features(struct vtransport *vt, uint32_t sel)
{
    pthread_mutex_lock(&vt->d->lock);
    vt->d->dfeat_sel = sel;
    pthread_mutex_unlock(&vt->d->lock);
}

void vt_select_driver_features(struct vtransport *vt, uint32_t sel)
{
    pthread_mutex_lock(&vt->d->lock);
    vt->d->gfeat_sel = sel;
    pthread_mutex_unlock(&vt->d->lock);
}

void vt_set_driver_features(struct vtransport *vt, uint32_t v)
{
    struct virtio_dev *d = vt->d;
    pthread_mutex_lock(&d->lock);
    uint32_t sel = d->gfeat_sel;
    pthread_mutex_unlock(&d->lock);
    virtio_set_driver_features(d, sel, v);
}

void vt_select_queue(struct vtransport *vt, uint16_t q)
{
    pthread_mutex_lock(&vt->d->lock);
    vt->d->queue_sel = q;
    pthread_mutex_unlock(&vt->d->lock);
}

void vt_set_status(struct vtransport *vt, uint8_t v, bool modern)
{
    virtio_set_status(vt->d, v, modern);
    if (v == 0)
        vt->reset(vt);
}

uint8_t vt_config_generation(struct vtransport *vt)
{
    return (uint8_t)atomic_load(&vt->d->config_generation);
}

void vt_notify(struct vtransport *vt, uint64_t q, uint64_t off, unsigned size)
{
    if (q < vt->d->nqueues)
        virtio_kick(vt->d, (unsigned)q);
    else
        vt_bad_access(vt, "notification of a missing queue", off, size);
}

uint64_t vt_config_read(struct vtransport *vt, uint64_t off, unsigned size,
                        const char *what, uint64_t shown_base)
{
    uint64_t v;
    if (!virtio_config_access(vt->d, off, size, false, &v))
        vt_bad_access(vt, what, shown_base + off, size);
    return v;
}

void vt_config_write(struct vtransport *vt, uint64_t off, uint64_t v,
                     unsigned size, const char *what, uint64_t shown_base)
{
    if (!virtio_config_access(vt->d, off, size, true, &v))
        vt_bad_access(vt, what, shown_base + off, size);
}

/* ---- the selected queue ------------------------------------------------- */

struct virtqueue *vt_sel_queue(struct virtio_dev *d)
{
    return d->queue_sel < d->nqueues ? &d->vq[d->queue_sel] : NULL;
}

struct virtqueue *vt_cfg_queue(struct vtransport *vt)
{
    struct virtio_dev *d = vt->d;
    struct virtqueue *vq = vt_sel_queue(d);
    if (!vq) {
        log_guest(&vt->rl, LOG_WARN, vt->tag,
                  "%s: configuration of queue %u, which does not exist",
                  d->name, d->queue_sel);
        return NULL;
    }
    if ((virtio_get_status(d) & VIRTIO_STATUS_DRIVER_OK) || vq->enabled) {
        log_guest(&vt->rl, LOG_WARN, vt->tag,
                  "%s: configuration of queue %u while it is in use; ignored",
                  d->name, d->queue_sel);
        return NULL;
    }
    return vq;
}

void vt_set_queue_size(struct vtransport *vt, struct virtqueue *vq, uint32_t v)
{
    struct virtio_dev *d = vt->d;
    bool packed = virtio_has(d, VIRTIO_F_RING_PACKED);
    if (v == 0 || v > vq->max_size || (!packed && !IS_POW2(v))) {
        log_guest(&vt->rl, LOG_WARN, vt->tag,
                  "%s: queue %u size %u refused (max %u%s)", d->name,
                  d->queue_sel, v, vq->max_size,
                  packed ? "" : ", a power of two");
        return;
    }
    vq->size = (uint16_t)v;
}

uint64_t *vt_area(struct virtqueue *vq, enum vt_area a)
{
    return a == VT_DESC     ? &vq->desc_gpa
           : a == VT_DRIVER ? &vq->driver_gpa
                            : &vq->device_gpa;
}

uint32_t vt_half(uint64_t a, bool hi)
{
    return hi ? (uint32_t)(a >> 32) : (uint32_t)a;
}

void vt_set_half(uint64_t *a, bool hi, uint32_t v)
{
    if (hi)
        *a = (*a & 0xffffffffull) | (uint64_t)v << 32;
    else
        *a = (*a & ~0xffffffffull) | v;
}

/* ---- doorbells ---------------------------------------------------------- */

void vt_doorbells(struct vtransport *vt, const struct dev_ctx *ctx, bool pio,
                  uint64_t addr, unsigned len, bool on[], bool assign)
{
    struct virtio_dev *d = vt->d;
    for (unsigned q = 0; ctx->ioeventfd && q < d->nqueues; q++) {
        if (!assign) {
            if (on[q])
                (void)ctx->ioeventfd(ctx->opaque, pio, addr, len, true, q,
                                     d->kick[q], false);
            on[q] = false;
            continue;
        }
        if (d->kick[q] < 0)
            continue;
        int e = ctx->ioeventfd(ctx->opaque, pio, addr, len, true, q, d->kick[q],
                               true);
        on[q] = e == 0;
        if (e == -ENOSYS)
            return;
        if (e < 0)
            log_debug(vt->tag, "%s: no ioeventfd for queue %u (%s)", d->name, q,
                      strerror(-e));
    }
}

/*
 * vdrv.h: a minimal in-test virtio "driver" for the device tests
 * (test_virtio_blk.c, test_virtio_rng.c): fake guest RAM behind a gview, a
 * split ring per queue placed by hand, feature negotiation and DRIVER_OK
 * through the shared core (virtio.c), requests as descriptor chains, and
 * waiting for the used ring (devices with worker threads answer
 * asynchronously). Header-only; every function is static.
 */
#ifndef QVM_TESTS_VDRV_H
#define QVM_TESTS_VDRV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/schema.h"
#include "loader/gview.h"
#include "virtio/virtio.h"

#define VD_RAM   (4u << 20) /* 4 MiB of guest RAM at gpa 0 */
#define VD_QSIZE 16
#define VD_RING(q)                                                             \
    (0x1000u + (uint64_t)(q)*0x1000u) /* desc; +0x400 avail;                   \
                                         +0x800 used */
#define VD_DATA    0x100000u          /* data buffers from 1 MiB */
#define VD_WAIT_MS 60000              /* bounds a hang; never a window */

struct vd_seg {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

struct vdrv {
    unsigned char *ram;
    struct gview gv;
    struct dev_ctx ctx;
    struct virtio_dev *d;
    struct virtio_transport_ops tops;
    atomic_uint irqs, cfg_irqs;
    uint16_t avail_idx[VIRTIO_MAX_QUEUES];
};

static struct vdrv *vd_cur; /* the interrupt callback's driver */

static UNUSED void vd_interrupt(struct virtio_dev *d, int q)
{
    (void)d;
    if (q < 0)
        atomic_fetch_add(&vd_cur->cfg_irqs, 1);
    else
        atomic_fetch_add(&vd_cur->irqs, 1);
}

/* vd_env: guest RAM and a dev_ctx (no buses, no event loop). */
static UNUSED void vd_env(struct vdrv *v)
{
    memset(v, 0, sizeof(*v));
    v->ram = aligned_alloc(4096, VD_RAM);
    assert_non_null(v->ram);
    memset(v->ram, 0, VD_RAM);
    assert_int_equal(gview_add_region(&v->gv, 0, VD_RAM, v->ram, GV_RAM), 0);
    v->ctx.mem = &v->gv;
    v->tops.interrupt = vd_interrupt;
    vd_cur = v;
}

static UNUSED void vd_attach(struct vdrv *v, struct virtio_dev *d)
{
    v->d = d;
    d->tops = &v->tops;
}

static UNUSED void vd_free(struct vdrv *v)
{
    if (v->d)
        virtio_dev_free(v->d);
    v->d = NULL;
    gview_free(&v->gv);
    free(v->ram);
}

static UNUSED void *vd_ptr(struct vdrv *v, uint64_t gpa)
{
    return v->ram + gpa;
}

/* vd_start: negotiate `features` (VERSION_1 added), set up queues
 * 0..nq-1 as split rings of VD_QSIZE and set DRIVER_OK. */
static UNUSED void vd_start(struct vdrv *v, uint64_t features, unsigned nq)
{
    struct virtio_dev *d = v->d;
    features |= 1ull << VIRTIO_F_VERSION_1;
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE, true);
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER,
                      true);
    virtio_set_driver_features(d, 0, (uint32_t)features);
    virtio_set_driver_features(d, 1, (uint32_t)(features >> 32));
    uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                VIRTIO_STATUS_FEATURES_OK;
    virtio_set_status(d, s, true);
    assert_true(virtio_get_status(d) & VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < nq; q++) {
        struct virtqueue *vq = &d->vq[q];
        memset(vd_ptr(v, VD_RING(q)), 0, 0x1000);
        vq->size = VD_QSIZE;
        vq->desc_gpa = VD_RING(q);
        vq->driver_gpa = VD_RING(q) + 0x400;
        vq->device_gpa = VD_RING(q) + 0x800;
        vq->enabled = true;
        v->avail_idx[q] = 0;
    }
    virtio_set_status(d, s | VIRTIO_STATUS_DRIVER_OK, true);
    assert_true(virtio_get_status(d) & VIRTIO_STATUS_DRIVER_OK);
    assert_false(virtio_get_status(d) & VIRTIO_STATUS_NEEDS_RESET);
}

static UNUSED uint16_t vd_used_idx(struct vdrv *v, unsigned q)
{
    uint16_t *p = vd_ptr(v, VD_RING(q) + 0x800 + 2);
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* vd_post: put the chain segs[0..n) in descriptors 0..n-1 (split ring;
 * one request in flight per queue) and make it available. */
static UNUSED void vd_post(struct vdrv *v, unsigned q,
                           const struct vd_seg *segs, unsigned n)
{
    uint8_t *desc = vd_ptr(v, VD_RING(q));
    for (unsigned i = 0; i < n; i++) {
        uint8_t *dsc = desc + 16 * i;
        uint16_t flags =
            (uint16_t)((i + 1 < n ? 1 : 0) | (segs[i].writable ? 2 : 0));
        uint16_t next = (uint16_t)(i + 1);
        memcpy(dsc, &segs[i].gpa, 8);
        memcpy(dsc + 8, &segs[i].len, 4);
        memcpy(dsc + 12, &flags, 2);
        memcpy(dsc + 14, &next, 2);
    }
    uint16_t *avail = vd_ptr(v, VD_RING(q) + 0x400);
    uint16_t idx = v->avail_idx[q];
    avail[2 + idx % VD_QSIZE] = 0; /* head: descriptor 0 */
    __atomic_store_n(&avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
    v->avail_idx[q] = (uint16_t)(idx + 1);
}

/* vd_kick: what the core does on a queue notification. */
static UNUSED void vd_kick(struct vdrv *v, unsigned q)
{
    pthread_mutex_lock(&v->d->lock);
    v->d->ops->notify(v->d, q);
    pthread_mutex_unlock(&v->d->lock);
}

static UNUSED void vd_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* vd_wait: until the used index reaches `want`; false on timeout. */
static UNUSED bool vd_wait(struct vdrv *v, unsigned q, uint16_t want)
{
    for (unsigned t = 0; t < VD_WAIT_MS; t++) {
        if (vd_used_idx(v, q) == want)
            return true;
        vd_sleep_ms(1);
    }
    return vd_used_idx(v, q) == want;
}

/* vd_wait_irqs: until at least `n` queue interrupts were raised in all; a
 * device publishes the used index first and interrupts after it, so an
 * interrupt can trail vd_wait. */
static UNUSED bool vd_wait_irqs(struct vdrv *v, unsigned n)
{
    for (unsigned t = 0; t < VD_WAIT_MS; t++) {
        if (atomic_load(&v->irqs) >= n)
            return true;
        vd_sleep_ms(1);
    }
    return atomic_load(&v->irqs) >= n;
}

/* vd_request: post, kick, wait; returns the used length (-1: timeout). */
static UNUSED int64_t vd_request(struct vdrv *v, unsigned q,
                                 const struct vd_seg *segs, unsigned n)
{
    vd_post(v, q, segs, n);
    vd_kick(v, q);
    if (!vd_wait(v, q, v->avail_idx[q]))
        return -1;
    uint16_t u = (uint16_t)(v->avail_idx[q] - 1);
    uint32_t *elem = vd_ptr(v, VD_RING(q) + 0x800 + 4 + 8 * (u % VD_QSIZE));
    assert_int_equal(elem[0], 0); /* id: head descriptor 0 */
    return elem[1];
}

/* vd_wait_status: until the device status has `bit` (NEEDS_RESET). */
static UNUSED bool vd_wait_status(struct vdrv *v, uint8_t bit)
{
    for (unsigned t = 0; t < VD_WAIT_MS; t++) {
        if (virtio_get_status(v->d) & bit)
            return true;
        vd_sleep_ms(1);
    }
    return false;
}

/* ---- synthetic vdev specs ---- */

static UNUSED const struct opt_def *vd_optdef(const struct vdev_type *t,
                                              const char *name)
{
    for (const struct opt_def *d = t->opts; d->name; d++)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

static UNUSED struct vdev_spec *vd_spec(struct vm_spec *s, const char *type)
{
    spec_init(s, ARCH_X86_64);
    struct vdev_spec *vd = VEC_PUSH(&s->vdevs);
    assert_non_null(vd);
    vd->type = vdev_type_find(type);
    assert_non_null(vd->type);
    vd->is_pci = true;
    return vd;
}

static UNUSED void vd_spec_opt(struct vdev_spec *vd, const char *name,
                               uint64_t num)
{
    struct opt_val *o = VEC_PUSH(&vd->opts);
    assert_non_null(o);
    o->def = vd_optdef(vd->type, name);
    assert_non_null(o->def);
    o->num = num;
}

static UNUSED void vd_spec_hostdev(struct vdev_spec *vd, const char *path,
                                   bool ro)
{
    struct hostdev *h = VEC_PUSH(&vd->hostdevs);
    assert_non_null(h);
    h->kind = HOSTDEV_PATH;
    h->dir = ro ? HOSTDEV_IN : HOSTDEV_BOTH;
    h->path = strdup(path);
    assert_non_null(h->path);
}

#endif

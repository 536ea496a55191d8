/*
 * virtio_fake.h: what the virtio transport tests share: a fake VM (real
 * buses, guest RAM as a gview over a malloc'd buffer, a running event
 * loop, and a recording irq_set / msi_send / ioeventfd that, like KVM,
 * turns a matching guest write into an eventfd signal), a fake virtio
 * device (two queues, an 8-byte configuration space, counters for every
 * ops call; in echo mode it completes every chain it is kicked for), and a
 * tiny split-ring driver. Header-only: each test includes it once.
 */
#ifndef QVM_TESTS_VIRTIO_FAKE_H
#define QVM_TESTS_VIRTIO_FAKE_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ev_flush.h"
#include "fake_irq.h"
#include "virtio/virtio.h"

#define FAKE_RAM     (1u << 20)
#define FAKE_MAXEV   256
#define FAKE_MAXMSI  256
#define FAKE_DEV_BIT 5 /* the fake device's one feature bit */
#define FAKE_Q0_MAX  256
#define FAKE_Q1_MAX  16
#define FAKE_WAIT_MS 60000 /* bounds a hang; never a window */
#define F_VERSION_1  (1ull << VIRTIO_F_VERSION_1)
#define F_DEV        (1ull << FAKE_DEV_BIT)

struct fake_ioev {
    bool used, pio, match;
    uint64_t addr, data;
    unsigned len;
    int fd;
};

struct fvm {
    struct bus pio, mmio;
    struct gview mem;
    unsigned char *ram;
    struct dev_ctx ctx;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* irq_set */
    bool level[256];
    unsigned nirq;
    /* msi_send */
    unsigned nmsi;
    uint64_t msi_addr[FAKE_MAXMSI];
    uint32_t msi_data[FAKE_MAXMSI];
    /* ioeventfd: -ENOSYS unless kvm_ioeventfd */
    bool kvm_ioeventfd;
    bool no_any_len; /* as KVM without fast MMIO: len 0 is -ENOSYS */
    struct fake_ioev ioev[FAKE_MAXEV];
    unsigned nassign, ndeassign;
};

static void fvm_irq(void *opaque, uint32_t gsi, bool level)
{
    struct fvm *v = opaque;
    pthread_mutex_lock(&v->lock);
    if (gsi < 256)
        v->level[gsi] = level;
    v->nirq++;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
}

FAKE_IRQ(fvm_irq)

static void fvm_stop(void *opaque, enum vm_stop why)
{
    (void)opaque, (void)why;
}

static int fvm_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
    struct fvm *v = opaque;
    pthread_mutex_lock(&v->lock);
    if (v->nmsi < FAKE_MAXMSI) {
        v->msi_addr[v->nmsi] = addr;
        v->msi_data[v->nmsi] = data;
    }
    v->nmsi++;
    pthread_cond_broadcast(&v->cond);
    pthread_mutex_unlock(&v->lock);
    return 0;
}

static int fvm_route_alloc(void *opaque)
{
    (void)opaque;
    return -ENOSYS;
}

static int fvm_ioeventfd(void *opaque, bool pio, uint64_t addr, unsigned len,
                         bool match, uint64_t data, int fd, bool assign)
{
    struct fvm *v = opaque;
    int rc = -ENOSYS;
    pthread_mutex_lock(&v->lock);
    if (!v->kvm_ioeventfd || (len == 0 && v->no_any_len))
        goto out;
    for (unsigned i = 0; i < FAKE_MAXEV; i++) {
        struct fake_ioev *e = &v->ioev[i];
        bool same = e->used && e->pio == pio && e->addr == addr &&
                    e->len == len && e->match == match &&
                    (!match || e->data == data);
        if (!assign && same && e->fd == fd) {
            e->used = false;
            v->ndeassign++;
            rc = 0;
            goto out;
        }
        if (assign && same) {
            rc = -EEXIST;
            goto out;
        }
    }
    rc = assign ? -ENOSPC : -ENOENT;
    for (unsigned i = 0; assign && i < FAKE_MAXEV; i++) {
        if (!v->ioev[i].used) {
            v->ioev[i] =
                (struct fake_ioev){true, pio, match, addr, data, len, fd};
            v->nassign++;
            rc = 0;
            break;
        }
    }
out:
    pthread_mutex_unlock(&v->lock);
    return rc;
}

/* The ioeventfd registered for exactly this, or NULL. */
UNUSED static struct fake_ioev *
fvm_find_ioev(struct fvm *v, bool pio, uint64_t addr, bool match, uint64_t data)
{
    for (unsigned i = 0; i < FAKE_MAXEV; i++) {
        struct fake_ioev *e = &v->ioev[i];
        if (e->used && e->pio == pio && e->addr == addr && e->match == match &&
            (!match || e->data == data))
            return e;
    }
    return NULL;
}

UNUSED static unsigned fvm_nioev(struct fvm *v)
{
    unsigned n = 0;
    for (unsigned i = 0; i < FAKE_MAXEV; i++)
        n += v->ioev[i].used;
    return n;
}

static void fvm_init(struct fvm *v)
{
    memset(v, 0, sizeof(*v));
    fake_irq_reset();
    bus_init(&v->pio, "pio");
    bus_init(&v->mmio, "mmio");
    v->ram = calloc(1, FAKE_RAM);
    assert_non_null(v->ram);
    assert_int_equal(gview_add_region(&v->mem, 0, FAKE_RAM, v->ram, GV_RAM), 0);
    pthread_mutex_init(&v->lock, NULL);
    pthread_cond_init(&v->cond, NULL);
    v->ctx = (struct dev_ctx){
        .pio = &v->pio,
        .mmio = &v->mmio,
        .mem = &v->mem,
        .irq_resolve = fake_irq_resolve,
        .irq_isa = fake_irq_isa,
        .stop = fvm_stop,
        .opaque = v,
        .ioeventfd = fvm_ioeventfd,
        .msi_route_alloc = fvm_route_alloc,
        .msi_send = fvm_msi_send,
    };
    v->ctx.ev = ev_new();
    assert_non_null(v->ctx.ev);
    assert_int_equal(ev_start(v->ctx.ev), 0);
}

static void fvm_free(struct fvm *v)
{
    ev_free(v->ctx.ev);
    bus_destroy(&v->pio);
    bus_destroy(&v->mmio);
    gview_free(&v->mem);
    free(v->ram);
    pthread_cond_destroy(&v->cond);
    pthread_mutex_destroy(&v->lock);
}

/* A guest access: as KVM, a write matching an ioeventfd signals it and
 * never reaches the bus. */
UNUSED static void g_write(struct fvm *v, bool pio, uint64_t addr, uint64_t val,
                           unsigned size)
{
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < FAKE_MAXEV; i++) {
        struct fake_ioev *e = &v->ioev[i];
        uint64_t mask = size == 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
        if (e->used && e->pio == pio && e->addr == addr &&
            (e->len == 0 || e->len == size) &&
            (!e->match || e->data == (val & mask))) {
            uint64_t one = 1;
            ssize_t w = write(e->fd, &one, sizeof(one));
            (void)w;
            pthread_mutex_unlock(&v->lock);
            return;
        }
    }
    pthread_mutex_unlock(&v->lock);
    (void)bus_access(pio ? &v->pio : &v->mmio, addr, &val, size, true);
}

UNUSED static uint64_t g_read(struct fvm *v, bool pio, uint64_t addr,
                              unsigned size)
{
    uint64_t val = 0;
    (void)bus_access(pio ? &v->pio : &v->mmio, addr, &val, size, false);
    return size == 8 ? val : val & ((1ull << (8 * size)) - 1);
}

static void deadline(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* Wait until line gsi is at `level`; false after FAKE_WAIT_MS. */
UNUSED static bool fvm_wait_level(struct fvm *v, uint32_t gsi, bool level)
{
    struct timespec ts;
    deadline(&ts, FAKE_WAIT_MS);
    pthread_mutex_lock(&v->lock);
    int e = 0;
    while (v->level[gsi] != level && e == 0)
        e = pthread_cond_timedwait(&v->cond, &v->lock, &ts);
    bool ok = v->level[gsi] == level;
    pthread_mutex_unlock(&v->lock);
    return ok;
}

UNUSED static bool fvm_wait_msi(struct fvm *v, unsigned n)
{
    struct timespec ts;
    deadline(&ts, FAKE_WAIT_MS);
    pthread_mutex_lock(&v->lock);
    int e = 0;
    while (v->nmsi < n && e == 0)
        e = pthread_cond_timedwait(&v->cond, &v->lock, &ts);
    bool ok = v->nmsi >= n;
    pthread_mutex_unlock(&v->lock);
    return ok;
}

/* ---- the fake device ---------------------------------------------------- */

struct fdev {
    struct virtio_dev d;
    uint8_t cfg[8];
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned notifies[2], activations, resets, destroys, pushed;
    uint64_t act_features;
    int activate_rc;
    bool echo;
    struct vq_elem elem;
};

static void fd_config_read(struct virtio_dev *d, uint32_t off, void *buf,
                           uint32_t len)
{
    struct fdev *f = (struct fdev *)d;
    assert_true(off + len <= sizeof(f->cfg));
    memcpy(buf, f->cfg + off, len);
}

static void fd_config_write(struct virtio_dev *d, uint32_t off, const void *buf,
                            uint32_t len)
{
    struct fdev *f = (struct fdev *)d;
    assert_true(off + len <= sizeof(f->cfg));
    memcpy(f->cfg + off, buf, len);
}

static int fd_activate(struct virtio_dev *d)
{
    struct fdev *f = (struct fdev *)d;
    pthread_mutex_lock(&f->m);
    f->activations++;
    f->act_features = d->features;
    pthread_mutex_unlock(&f->m);
    return f->activate_rc;
}

static void fd_notify(struct virtio_dev *d, unsigned q)
{
    struct fdev *f = (struct fdev *)d;
    assert_true(q < 2);
    if (f->echo) {
        int r;
        while ((r = vq_pop(&d->vq[q], &f->elem)) == 1) {
            static const uint8_t pat[4] = {0xab, 0xab, 0xab, 0xab};
            size_t n = 0;
            while (n < f->elem.in_len)
                n += vq_copy_to(&f->elem, n, pat,
                                MIN(sizeof(pat), f->elem.in_len - n));
            vq_push(&d->vq[q], &f->elem, (uint32_t)f->elem.in_len);
            f->pushed++;
        }
        virtio_notify_used(d, q);
    }
    pthread_mutex_lock(&f->m);
    f->notifies[q]++;
    pthread_cond_broadcast(&f->c);
    pthread_mutex_unlock(&f->m);
}

static void fd_reset(struct virtio_dev *d)
{
    ((struct fdev *)d)->resets++;
}

static void fd_destroy(struct virtio_dev *d)
{
    ((struct fdev *)d)->destroys++;
}

static const struct virtio_dev_ops fd_ops = {
    .config_read = fd_config_read,
    .config_write = fd_config_write,
    .activate = fd_activate,
    .notify = fd_notify,
    .reset = fd_reset,
    .destroy = fd_destroy,
};

static struct fdev *fdev_new(struct fvm *v, uint32_t id)
{
    struct fdev *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    virtio_dev_init(&f->d, &v->ctx, "fake");
    f->d.ops = &fd_ops;
    f->d.id = id;
    f->d.host_features = F_DEV;
    f->d.config_len = sizeof(f->cfg);
    f->d.nqueues = 2;
    f->d.vq[0].max_size = FAKE_Q0_MAX;
    f->d.vq[0].name = "fake.q0";
    f->d.vq[1].max_size = FAKE_Q1_MAX;
    f->d.vq[1].name = "fake.q1";
    for (unsigned i = 0; i < sizeof(f->cfg); i++)
        f->cfg[i] = (uint8_t)(0x10 + i);
    pthread_mutex_init(&f->m, NULL);
    pthread_cond_init(&f->c, NULL);
    assert_int_equal(virtio_kicks_start(&f->d), 0);
    return f;
}

/* As the registry's teardown: the event thread is stopped first. */
static void fdev_free(struct fvm *v, struct fdev *f)
{
    ev_stop(v->ctx.ev);
    virtio_reset(&f->d);
    if (f->d.tops && f->d.tops->detach)
        f->d.tops->detach(&f->d);
    virtio_dev_free(&f->d);
    assert_int_equal(f->destroys, 1);
    pthread_cond_destroy(&f->c);
    pthread_mutex_destroy(&f->m);
    free(f);
}

/* Wait until queue q was notified n times; false after FAKE_WAIT_MS. */
UNUSED static bool fdev_wait(struct fdev *f, unsigned q, unsigned n)
{
    struct timespec ts;
    deadline(&ts, FAKE_WAIT_MS);
    pthread_mutex_lock(&f->m);
    int e = 0;
    while (f->notifies[q] < n && e == 0)
        e = pthread_cond_timedwait(&f->c, &f->m, &ts);
    bool ok = f->notifies[q] >= n;
    pthread_mutex_unlock(&f->m);
    return ok;
}

/* Wait until the event thread has handled queue q's kick to its end (a
 * barrier through the event loop, ev_flush.h), and check that it drained
 * the kick eventfd (its count in /proc/self/fdinfo is 0). */
UNUSED static bool fdev_wait_drained(struct fdev *f, unsigned q)
{
    if (!ev_flush(f->d.ctx->ev))
        return false;
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", f->d.kick[q]);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    long count = -1;
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "eventfd-count: %lx", &count) == 1)
            break;
    fclose(fp);
    assert_int_not_equal(count, -1);
    return count == 0;
}

UNUSED static unsigned fdev_notifies(struct fdev *f, unsigned q)
{
    pthread_mutex_lock(&f->m);
    unsigned n = f->notifies[q];
    pthread_mutex_unlock(&f->m);
    return n;
}

/* ---- a split-ring driver (virtio 1.2, 2.7) ------------------------------ */

struct ring {
    uint64_t desc, avail, used;
    uint16_t size, next, avail_idx;
};

/* Rings for a queue of `size` at gpa `base` (4 KiB apart). */
UNUSED static struct ring ring_at(uint64_t base, uint16_t size)
{
    return (struct ring){base, base + 0x1000, base + 0x2000, size, 0, 0};
}

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Make one device-writable buffer available. */
UNUSED static void ring_add(struct fvm *v, struct ring *r, uint64_t buf,
                            uint32_t len)
{
    uint16_t i = r->next++ % r->size;
    unsigned char *d = v->ram + r->desc + 16u * i;
    put_le(d, buf, 8);
    put_le(d + 8, len, 4);
    put_le(d + 12, 2 /* VIRTQ_DESC_F_WRITE */, 2);
    put_le(d + 14, 0, 2);
    put_le(v->ram + r->avail + 4 + 2u * (r->avail_idx % r->size), i, 2);
    r->avail_idx++;
    /* Published with a release store (the ring is little-endian, as the
     * host): the device's acquire load of the index then sees the entry
     * and the descriptor, also under ThreadSanitizer (no fences there). */
    __atomic_store_n((uint16_t *)(v->ram + r->avail + 2), r->avail_idx,
                     __ATOMIC_RELEASE);
}

UNUSED static uint16_t ring_used_idx(struct fvm *v, const struct ring *r)
{
    return __atomic_load_n((uint16_t *)(v->ram + r->used + 2),
                           __ATOMIC_ACQUIRE);
}

UNUSED static uint32_t ring_used_len(struct fvm *v, const struct ring *r,
                                     uint16_t k)
{
    return (uint32_t)get_le(v->ram + r->used + 4 + 8u * (k % r->size) + 4, 4);
}

#endif

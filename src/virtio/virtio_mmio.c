/*
 * virtio_mmio.c: the virtio-mmio transport, version 2 (virtio 1.2, 4.2.2),
 * for a vdev with a memory `loc` and an `intr`. Registers (32-bit, aligned
 * accesses only; offsets into the window):
 *   0x000 MagicValue "virt"          0x050 QueueNotify (W)
 *   0x004 Version 2                  0x060 InterruptStatus
 *   0x008 DeviceID                   0x064 InterruptACK (W)
 *   0x00c VendorID "QVM"             0x070 Status
 *   0x010 DeviceFeatures             0x080/0x084 QueueDescLow/High
 *   0x014 DeviceFeaturesSel (W)      0x090/0x094 QueueDriverLow/High
 *   0x020 DriverFeatures (W)         0x0a0/0x0a4 QueueDeviceLow/High
 *   0x024 DriverFeaturesSel (W)      0x0ac SHMSel; 0x0b0-0x0bc no regions
 *   0x030 QueueSel (W)               0x0c0 QueueReset (not offered)
 *   0x034 QueueNumMax                0x0fc ConfigGeneration
 *   0x038 QueueNum (W)               0x100 device configuration space
 *   0x044 QueueReady                       (1, 2, 4 or 8-byte accesses)
 * Queue registers are ignored while the selected queue does not exist, is
 * ready, or the driver has set DRIVER_OK; QueueNum must be a power of two
 * (unless the ring is packed) no larger than QueueNumMax. Anything else (a
 * bad offset, size or alignment, a write to a read-only register) is
 * logged, rate-limited, and ignored; reads of it return 0.
 *
 * Notifications: one KVM ioeventfd per queue on QueueNotify with the queue
 * index as datamatch, signalling the queue's kick eventfd; without KVM's
 * help the register's write op kicks. Interrupts: the first `intr` line is
 * held high while InterruptStatus is not zero (level-triggered).
 *
 * Context: register ops on vCPU threads; interrupts from any thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "util/log.h"
#include "virtio/transport.h"
#include "virtio/virtio.h"

#define TAG "virtio-mmio"

#define MMIO_MAGIC        0x74726976u /* "virt" */
#define MMIO_VERSION      2u
#define MMIO_VENDOR       0x004d5651u /* "QVM" */
#define MMIO_DEFAULT_SIZE 0x200u
#define MMIO_CONFIG       0x100u
#define REG_MAGIC         0x000
#define REG_VERSION       0x004
#define REG_DEVICE_ID     0x008
#define REG_VENDOR_ID     0x00c
#define REG_DEV_FEATURES  0x010
#define REG_DEV_FEAT_SEL  0x014
#define REG_DRV_FEATURES  0x020
#define REG_DRV_FEAT_SEL  0x024
#define REG_QUEUE_SEL     0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM     0x038
#define REG_QUEUE_READY   0x044
#define REG_QUEUE_NOTIFY  0x050
#define REG_INT_STATUS    0x060
#define REG_INT_ACK       0x064
#define REG_STATUS        0x070
#define REG_QUEUE_DESC_LO 0x080
#define REG_QUEUE_DESC_HI 0x084
#define REG_QUEUE_DRV_LO  0x090
#define REG_QUEUE_DRV_HI  0x094
#define REG_QUEUE_DEV_LO  0x0a0
#define REG_QUEUE_DEV_HI  0x0a4
#define REG_SHM_SEL       0x0ac
#define REG_SHM_LEN_LO    0x0b0
#define REG_SHM_LEN_HI    0x0b4
#define REG_SHM_BASE_LO   0x0b8
#define REG_SHM_BASE_HI   0x0bc
#define REG_QUEUE_RESET   0x0c0
#define REG_CONFIG_GEN    0x0fc
#define INT_USED          0x1u
#define INT_CONFIG        0x2u

struct vmmio {
    struct vtransport vt; /* first */
    const struct dev_ctx *ctx;
    uint64_t base, size;
    bool has_irq, mapped;
    struct irq_line line;
    pthread_mutex_t ilock; /* isr and the line */
    uint32_t isr;
    bool evfd[VIRTIO_MAX_QUEUES]; /* ioeventfd registered for queue q */
};

/* ---- interrupts --------------------------------------------------------- */

static void set_isr(struct vmmio *t, uint32_t set, uint32_t clear)
{
    pthread_mutex_lock(&t->ilock);
    uint32_t old = t->isr;
    t->isr = (old | set) & ~clear;
    if (t->has_irq && (old != 0) != (t->isr != 0))
        irq_line_set(&t->line, t->isr != 0);
    pthread_mutex_unlock(&t->ilock);
}

static void mmio_reset(struct vtransport *vt)
{
    set_isr((struct vmmio *)vt, 0, ~0u);
}

static void mmio_interrupt(struct virtio_dev *d, int q)
{
    struct vmmio *t = d->transport;
    if (t)
        set_isr(t, q < 0 ? INT_CONFIG : INT_USED, 0);
}

/* ---- registers ---------------------------------------------------------- */

/* The ring address register at off: the area and which half. */
static bool area_reg(uint64_t off, enum vt_area *a, bool *hi)
{
    switch (off) {
    case REG_QUEUE_DESC_LO:
    case REG_QUEUE_DESC_HI:
        *a = VT_DESC;
        break;
    case REG_QUEUE_DRV_LO:
    case REG_QUEUE_DRV_HI:
        *a = VT_DRIVER;
        break;
    case REG_QUEUE_DEV_LO:
    case REG_QUEUE_DEV_HI:
        *a = VT_DEVICE;
        break;
    default:
        return false;
    }
    *hi = off & 4;
    return true;
}

/* Caller holds d->lock. */
static uint32_t queue_reg(struct virtio_dev *d, uint64_t off)
{
    struct virtqueue *vq = vt_sel_queue(d);
    enum vt_area a;
    bool hi;
    if (!vq)
        return 0;
    switch (off) {
    case REG_QUEUE_NUM_MAX:
        return vq->max_size;
    case REG_QUEUE_NUM:
        return vq->size;
    case REG_QUEUE_READY:
        return vq->enabled;
    default:
        return area_reg(off, &a, &hi) ? vt_half(*vt_area(vq, a), hi) : 0;
    }
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct vmmio *t = opaque;
    struct virtio_dev *d = t->vt.d;
    if (off >= MMIO_CONFIG)
        return vt_config_read(&t->vt, off - MMIO_CONFIG, size,
                              "configuration read", MMIO_CONFIG);
    if (size != 4 || (off & 3)) {
        vt_bad_access(&t->vt, "register read", off, size);
        return 0;
    }
    uint32_t v = 0;
    switch (off) {
    case REG_MAGIC:
        return MMIO_MAGIC;
    case REG_VERSION:
        return MMIO_VERSION;
    case REG_DEVICE_ID:
        return d->id;
    case REG_VENDOR_ID:
        return MMIO_VENDOR;
    case REG_DEV_FEATURES:
        return vt_device_features(&t->vt);
    case REG_QUEUE_NUM_MAX:
    case REG_QUEUE_NUM:
    case REG_QUEUE_READY:
    case REG_QUEUE_DESC_LO:
    case REG_QUEUE_DESC_HI:
    case REG_QUEUE_DRV_LO:
    case REG_QUEUE_DRV_HI:
    case REG_QUEUE_DEV_LO:
    case REG_QUEUE_DEV_HI:
        pthread_mutex_lock(&d->lock);
        v = queue_reg(d, off);
        pthread_mutex_unlock(&d->lock);
        return v;
    case REG_INT_STATUS:
        pthread_mutex_lock(&t->ilock);
        v = t->isr;
        pthread_mutex_unlock(&t->ilock);
        return v;
    case REG_STATUS:
        return virtio_get_status(d);
    case REG_SHM_LEN_LO:
    case REG_SHM_LEN_HI:
    case REG_SHM_BASE_LO:
    case REG_SHM_BASE_HI:
        return 0xffffffffu; /* no shared memory regions (4.2.2) */
    case REG_QUEUE_RESET:
        return 0;
    case REG_CONFIG_GEN:
        return vt_config_generation(&t->vt);
    default:
        vt_bad_access(&t->vt, "read of a write-only or unknown register", off,
                      size);
        return 0;
    }
}

static void queue_write(struct vmmio *t, uint64_t off, uint32_t v)
{
    struct virtio_dev *d = t->vt.d;
    enum vt_area a;
    bool hi;
    pthread_mutex_lock(&d->lock);
    if (off == REG_QUEUE_READY && v == 0 && d->queue_sel < d->nqueues &&
        !(virtio_get_status(d) & VIRTIO_STATUS_DRIVER_OK)) {
        d->vq[d->queue_sel].enabled = false;
        pthread_mutex_unlock(&d->lock);
        return;
    }
    struct virtqueue *vq = vt_cfg_queue(&t->vt);
    if (vq && off == REG_QUEUE_NUM)
        vt_set_queue_size(&t->vt, vq, v);
    else if (vq && off == REG_QUEUE_READY)
        vq->enabled = v == 1;
    else if (vq && area_reg(off, &a, &hi))
        vt_set_half(vt_area(vq, a), hi, v);
    pthread_mutex_unlock(&d->lock);
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vmmio *t = opaque;
    if (off >= MMIO_CONFIG) {
        vt_config_write(&t->vt, off - MMIO_CONFIG, val, size,
                        "configuration write", MMIO_CONFIG);
        return;
    }
    if (size != 4 || (off & 3)) {
        vt_bad_access(&t->vt, "register write", off, size);
        return;
    }
    uint32_t v = (uint32_t)val;
    switch (off) {
    case REG_DEV_FEAT_SEL:
        vt_select_device_features(&t->vt, v);
        break;
    case REG_DRV_FEATURES:
        vt_set_driver_features(&t->vt, v);
        break;
    case REG_DRV_FEAT_SEL:
        vt_select_driver_features(&t->vt, v);
        break;
    case REG_QUEUE_SEL:
        vt_select_queue(&t->vt, v > 0xffff ? 0xffff : (uint16_t)v);
        break;
    case REG_QUEUE_NUM:
    case REG_QUEUE_READY:
    case REG_QUEUE_DESC_LO:
    case REG_QUEUE_DESC_HI:
    case REG_QUEUE_DRV_LO:
    case REG_QUEUE_DRV_HI:
    case REG_QUEUE_DEV_LO:
    case REG_QUEUE_DEV_HI:
        queue_write(t, off, v);
        break;
    case REG_QUEUE_NOTIFY:
        vt_notify(&t->vt, v, off, size);
        break;
    case REG_INT_ACK:
        set_isr(t, 0, v);
        break;
    case REG_STATUS:
        vt_set_status(&t->vt, (uint8_t)v, true);
        break;
    case REG_SHM_SEL:
    case REG_QUEUE_RESET:
        break;
    default:
        vt_bad_access(&t->vt, "write of a read-only or unknown register", off,
                      size);
        break;
    }
}

static const struct region_ops mmio_ops = {mmio_read, mmio_write};

/* ---- attach / detach ---------------------------------------------------- */

static void mmio_detach(struct virtio_dev *d)
{
    struct vmmio *t = d->transport;
    if (!t)
        return;
    const struct dev_ctx *ctx = t->ctx;
    vt_doorbells(&t->vt, ctx, false, t->base + REG_QUEUE_NOTIFY, 4, t->evfd,
                 false);
    if (t->mapped)
        (void)bus_unmap(ctx->mmio, t->base);
    set_isr(t, 0, ~0u);
    pthread_mutex_destroy(&t->ilock);
    d->transport = NULL;
    d->tops = NULL;
    free(t);
}

static const struct virtio_transport_ops mmio_tops = {
    .interrupt = mmio_interrupt,
    .detach = mmio_detach,
};

int64_t virtio_mmio_gsi(const struct virtio_dev *d)
{
    const struct vmmio *t = d->transport;
    return t && t->has_irq ? t->line.gsi : -1;
}

int virtio_mmio_attach(struct virtio_dev *d, const struct vdev_spec *vd,
                       const struct dev_ctx *ctx)
{
    if (!vd->has_loc || vd->loc.space != SPACE_MEM) {
        log_fatal(TAG, "%s: virtio-mmio needs a memory loc", d->name);
        return -1;
    }
    uint64_t size = vd->loc.size ? vd->loc.size : MMIO_DEFAULT_SIZE;
    if (size < MMIO_CONFIG + d->config_len || d->nqueues > VIRTIO_MAX_QUEUES) {
        log_fatal(TAG,
                  "%s: the window at 0x%llx (0x%llx bytes) cannot hold the "
                  "registers and %u bytes of configuration",
                  d->name, (unsigned long long)vd->loc.base,
                  (unsigned long long)size, d->config_len);
        return -1;
    }
    if (d->legacy) {
        log_warn(TAG,
                 "%s: 'legacy' applies to PCI only; virtio-mmio is "
                 "version 2",
                 d->name);
        d->legacy = false;
    }
    struct vmmio *t = calloc(1, sizeof(*t));
    if (!t) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    vt_init(&t->vt, d, TAG, mmio_reset);
    t->ctx = ctx;
    t->base = vd->loc.base;
    t->size = size;
    pthread_mutex_init(&t->ilock, NULL);
    if (vd->intrs.n) {
        if (ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], -1, &t->line) < 0) {
            pthread_mutex_destroy(&t->ilock);
            free(t);
            return -1;
        }
        t->has_irq = true;
    } else {
        log_warn(TAG, "%s: no intr: the driver gets no interrupts", d->name);
    }
    for (unsigned q = 0; q < d->nqueues; q++)
        vq_reset(&d->vq[q]);
    d->transport = t;
    d->tops = &mmio_tops;
    int e = bus_map(ctx->mmio, d->name, t->base, size, &mmio_ops, t);
    if (e < 0) {
        log_fatal(TAG, "%s: cannot map virtio-mmio at 0x%llx: %s", d->name,
                  (unsigned long long)t->base, strerror(-e));
        mmio_detach(d);
        return -1;
    }
    t->mapped = true;
    vt_doorbells(&t->vt, ctx, false, t->base + REG_QUEUE_NOTIFY, 4, t->evfd,
                 true);
    log_debug(TAG, "%s: virtio-mmio at 0x%llx, GSI %lld", d->name,
              (unsigned long long)t->base, (long long)t->line.gsi);
    return 0;
}

/*
 * virtio_pci.c: the virtio PCI transport (virtio 1.2, 4.1): the modern
 * 1.x interface in BAR4, MSI-X in BAR1 and, with `legacy` (a transitional
 * device), the 0.9.5 interface in I/O BAR0 (4.1.4.8).
 *
 * BAR4 (64-bit, 16 KiB, "virtio registers"), each structure named by a
 * vendor capability (cfg_type in parentheses):
 *   0x0000 common configuration (1), 0x38 bytes, natural-width accesses
 *          (the 64-bit queue addresses also as two 32-bit halves);
 *   0x1000 ISR status (3): bit 0 queue, bit 1 configuration; a read
 *          returns and clears it and deasserts INTx;
 *   0x2000 device configuration (4), config_len bytes (no capability
 *          when the device has none);
 *   0x3000 notifications (2): notify_off_multiplier 4, queue q's
 *          queue_notify_off is q, so its doorbell is at 0x3000 + 4q.
 * A fifth capability (5) is the PCI configuration access window: the
 * driver sets bar/offset/length in it and reads or writes pci_cfg_data
 * to reach BAR4 (or BAR0) without mapping it.
 * BAR1 (32-bit, 4 KiB, "msi-x"): the MSI-X table at 0 and the PBA at
 * 0x800, served by pci.c.
 * BAR0 (I/O, 0x80 bytes, legacy only): host features, guest features,
 * queue PFN (4096-byte pages, the legacy ring layout), queue size, queue
 * select, queue notify, status, ISR; with MSI-X enabled the configuration
 * and queue vectors at 0x14/0x16 and the device configuration at 0x18,
 * else the device configuration at 0x14.
 *
 * Interrupts: with MSI-X enabled, the queue's (or the configuration's)
 * vector through pci_msix_notify (none for VIRTIO_MSI_NO_VECTOR); else the
 * ISR bit is set and INTx held high until the driver reads the ISR.
 * Vector registers read back VIRTIO_MSI_NO_VECTOR when the driver asked
 * for a vector the function does not have.
 *
 * Notifications: a KVM ioeventfd per queue on its doorbell (BAR4, and on
 * BAR0's queue notify register with the queue index as datamatch), moved
 * with the BAR (the bar_moved hook); without KVM's help the doorbell's
 * write op kicks. Bad accesses (offsets outside a structure, sizes not the
 * field's, writes to read-only fields, a missing queue) are logged,
 * rate-limited, and ignored; reads of them return 0.
 *
 * Context: register ops on vCPU threads; cfg_read/cfg_write hooks under the
 * PCI bus mutex; bar_moved on the PCI remap thread; interrupts from any
 * thread. Locks: d->lock around the device's state; t->ilock (ISR and
 * INTx) and t->evlock (ioeventfds) are leaves but for pci.c's own leaf
 * locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "util/ckd.h"
#include "util/le.h"
#include "util/log.h"
#include "virtio/transport.h"
#include "virtio/virtio.h"

#define TAG "virtio-pci"

/* Capability cfg_type values (4.1.4). */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR    3
#define CAP_DEVICE 4
#define CAP_PCI    5

#define REGS_BAR    4
#define MSIX_BAR    1
#define LEGACY_BAR  0
#define REGS_SIZE   0x4000u
#define COMMON_OFF  0x0000u
#define COMMON_LEN  0x38u
#define ISR_OFF     0x1000u
#define DEVICE_OFF  0x2000u
#define NOTIFY_OFF  0x3000u
#define NOTIFY_MULT 4u
#define SLOT_LEN    0x1000u
#define MSIX_TABLE  0x000u
#define MSIX_PBA    0x800u
#define SUBSYS_VID  0x1af4
#define VIRTIO_VID  0x1af4

/* Common configuration fields (4.1.4.3). */
#define CC_DFSELECT  0x00
#define CC_DF        0x04
#define CC_GFSELECT  0x08
#define CC_GF        0x0c
#define CC_MSIX      0x10
#define CC_NUMQ      0x12
#define CC_STATUS    0x14
#define CC_CFGGEN    0x15
#define CC_Q_SELECT  0x16
#define CC_Q_SIZE    0x18
#define CC_Q_MSIX    0x1a
#define CC_Q_ENABLE  0x1c
#define CC_Q_NOFF    0x1e
#define CC_Q_DESCLO  0x20
#define CC_Q_DESCHI  0x24
#define CC_Q_AVAILLO 0x28
#define CC_Q_AVAILHI 0x2c
#define CC_Q_USEDLO  0x30
#define CC_Q_USEDHI  0x34

/* Legacy registers (4.1.4.8). */
#define LG_HOST_FEATURES  0x00
#define LG_GUEST_FEATURES 0x04
#define LG_QUEUE_PFN      0x08
#define LG_QUEUE_NUM      0x0c
#define LG_QUEUE_SEL      0x0e
#define LG_QUEUE_NOTIFY   0x10
#define LG_STATUS         0x12
#define LG_ISR            0x13
#define LG_CONFIG_VECTOR  0x14
#define LG_QUEUE_VECTOR   0x16
#define LG_CONFIG         0x14 /* without MSI-X */
#define LG_CONFIG_MSIX    0x18 /* with MSI-X enabled */
#define LG_SIZE           0x80u
#define LG_ALIGN          4096u

#define ISR_QUEUE  0x1u
#define ISR_CONFIG 0x2u

struct vpci {
    struct pci_function f; /* on the bus: freed only at detach */
    struct vtransport vt;
    const struct dev_ctx *ctx;
    unsigned nvec; /* MSI-X vectors; 0: no MSI-X */
    bool has_legacy;
    unsigned cfg_cap; /* offset of the PCI_CFG capability, 0 none */
    _Atomic uint16_t config_vector;

    pthread_mutex_t ilock; /* isr and the INTx level */
    uint8_t isr;

    pthread_mutex_t evlock; /* the ioeventfds below */
    bool detached;
    uint64_t regs_base, lg_base;
    bool regs_ev[VIRTIO_MAX_QUEUES], lg_ev[VIRTIO_MAX_QUEUES];
    unsigned regs_ev_len[VIRTIO_MAX_QUEUES];
};

/* ---- interrupts --------------------------------------------------------- */

static void isr_set(struct vpci *t, uint8_t bits)
{
    pthread_mutex_lock(&t->ilock);
    bool was = t->isr != 0;
    t->isr |= bits;
    if (!was)
        pci_intx_set(&t->f, true);
    pthread_mutex_unlock(&t->ilock);
}

/* Read-to-clear (4.1.4.5). */
static uint8_t isr_take(struct vpci *t)
{
    pthread_mutex_lock(&t->ilock);
    uint8_t v = t->isr;
    t->isr = 0;
    if (v)
        pci_intx_set(&t->f, false);
    pthread_mutex_unlock(&t->ilock);
    return v;
}

static void pci_interrupt(struct virtio_dev *d, int q)
{
    struct vpci *t = d->transport;
    if (!t)
        return;
    if (t->nvec && pci_msix_enabled(&t->f)) {
        uint16_t vec =
            q < 0 ? atomic_load(&t->config_vector)
                  : __atomic_load_n(&d->vq[q].msix_vector, __ATOMIC_RELAXED);
        if (vec != VIRTIO_MSI_NO_VECTOR)
            (void)pci_msix_notify(&t->f, vec);
        return;
    }
    isr_set(t, q < 0 ? ISR_CONFIG : ISR_QUEUE);
}

/* The driver reset the device: the transport's own state goes too. */
static void pci_reset(struct vtransport *vt)
{
    struct vpci *t =
        (struct vpci *)(void *)((char *)vt - offsetof(struct vpci, vt));
    atomic_store(&t->config_vector, VIRTIO_MSI_NO_VECTOR);
    (void)isr_take(t);
}

/* A vector the driver asked for, or NO_VECTOR when there is no such. */
static uint16_t check_vector(struct vpci *t, uint32_t v)
{
    if (v == VIRTIO_MSI_NO_VECTOR || v < t->nvec)
        return (uint16_t)v;
    log_guest(&t->vt.rl, LOG_WARN, TAG,
              "%s: MSI-X vector %u does not exist (%u vectors)", t->vt.d->name,
              v, t->nvec);
    return VIRTIO_MSI_NO_VECTOR;
}

/* ---- queues ------------------------------------------------------------- */

/* The ring address field at off (CC_Q_DESCLO..CC_Q_USEDHI). */
static uint64_t *queue_addr(struct virtqueue *vq, uint64_t off)
{
    return vt_area(vq, off < CC_Q_AVAILLO  ? VT_DESC
                       : off < CC_Q_USEDLO ? VT_DRIVER
                                           : VT_DEVICE);
}

/* ---- common configuration ----------------------------------------------- */

/* The width of the field at `off`; 8 is also accepted at the 64-bit
 * addresses' low halves. 0: no field starts there. */
static unsigned common_width(uint64_t off)
{
    switch (off) {
    case CC_DFSELECT:
    case CC_DF:
    case CC_GFSELECT:
    case CC_GF:
    case CC_Q_DESCLO:
    case CC_Q_DESCHI:
    case CC_Q_AVAILLO:
    case CC_Q_AVAILHI:
    case CC_Q_USEDLO:
    case CC_Q_USEDHI:
        return 4;
    case CC_MSIX:
    case CC_NUMQ:
    case CC_Q_SELECT:
    case CC_Q_SIZE:
    case CC_Q_MSIX:
    case CC_Q_ENABLE:
    case CC_Q_NOFF:
        return 2;
    case CC_STATUS:
    case CC_CFGGEN:
        return 1;
    default:
        return 0;
    }
}

static bool common_size_ok(uint64_t off, unsigned size)
{
    unsigned w = common_width(off);
    return w && (size == w ||
                 (size == 8 && (off == CC_Q_DESCLO || off == CC_Q_AVAILLO ||
                                off == CC_Q_USEDLO)));
}

/* Caller holds d->lock. */
static uint64_t queue_addr_read(struct virtqueue *vq, uint64_t off,
                                unsigned size)
{
    uint64_t a = *queue_addr(vq, off);
    return size == 8 ? a : vt_half(a, off & 4);
}

static uint64_t common_read(struct vpci *t, uint64_t off, unsigned size)
{
    struct virtio_dev *d = t->vt.d;
    if (!common_size_ok(off, size)) {
        vt_bad_access(&t->vt, "common configuration read", off, size);
        return 0;
    }
    if (off == CC_STATUS)
        return virtio_get_status(d);
    if (off == CC_CFGGEN)
        return vt_config_generation(&t->vt);
    if (off == CC_MSIX)
        return atomic_load(&t->config_vector);
    if (off == CC_DF)
        return vt_device_features(&t->vt);
    uint64_t v = 0;
    pthread_mutex_lock(&d->lock);
    struct virtqueue *vq = vt_sel_queue(d);
    switch (off) {
    case CC_DFSELECT:
        v = d->dfeat_sel;
        break;
    case CC_GFSELECT:
        v = d->gfeat_sel;
        break;
    case CC_GF:
        v = d->gfeat_sel < 2 ? (uint32_t)(d->features >> (32 * d->gfeat_sel))
                             : 0;
        break;
    case CC_NUMQ:
        v = d->nqueues;
        break;
    case CC_Q_SELECT:
        v = d->queue_sel;
        break;
    case CC_Q_SIZE:
        v = vq ? vq->size : 0;
        break;
    case CC_Q_MSIX:
        v = vq ? vq->msix_vector : VIRTIO_MSI_NO_VECTOR;
        break;
    case CC_Q_ENABLE:
        v = vq ? vq->enabled : 0;
        break;
    case CC_Q_NOFF:
        v = vq ? d->queue_sel : 0;
        break;
    default:
        v = vq ? queue_addr_read(vq, off, size) : 0;
        break;
    }
    pthread_mutex_unlock(&d->lock);
    return v;
}

/* Caller holds d->lock. */
static void queue_addr_write(struct virtqueue *vq, uint64_t off, uint64_t v,
                             unsigned size)
{
    uint64_t *a = queue_addr(vq, off);
    if (size == 8)
        *a = v;
    else
        vt_set_half(a, off & 4, (uint32_t)v);
}

static void common_write(struct vpci *t, uint64_t off, uint64_t v,
                         unsigned size)
{
    struct virtio_dev *d = t->vt.d;
    if (!common_size_ok(off, size)) {
        vt_bad_access(&t->vt, "common configuration write", off, size);
        return;
    }
    switch (off) {
    case CC_STATUS:
        vt_set_status(&t->vt, (uint8_t)v, true);
        return;
    case CC_MSIX:
        atomic_store(&t->config_vector, check_vector(t, (uint32_t)v));
        return;
    case CC_GF:
        vt_set_driver_features(&t->vt, (uint32_t)v);
        return;
    case CC_DFSELECT:
        vt_select_device_features(&t->vt, (uint32_t)v);
        return;
    case CC_GFSELECT:
        vt_select_driver_features(&t->vt, (uint32_t)v);
        return;
    case CC_Q_SELECT:
        vt_select_queue(&t->vt, (uint16_t)v);
        return;
    case CC_DF:
    case CC_NUMQ:
    case CC_CFGGEN:
    case CC_Q_NOFF:
        vt_bad_access(&t->vt, "write of a read-only field", off, size);
        return;
    default:
        break;
    }
    pthread_mutex_lock(&d->lock);
    struct virtqueue *vq;
    switch (off) {
    case CC_Q_MSIX:
        vq = vt_sel_queue(d);
        if (vq)
            __atomic_store_n(&vq->msix_vector, check_vector(t, (uint32_t)v),
                             __ATOMIC_RELAXED);
        break;
    case CC_Q_SIZE:
        vq = vt_cfg_queue(&t->vt);
        if (vq)
            vt_set_queue_size(&t->vt, vq, (uint32_t)v);
        break;
    case CC_Q_ENABLE:
        if (v != 1) {
            log_guest(&t->vt.rl, LOG_WARN, TAG, "%s: queue_enable %llu ignored",
                      d->name, (unsigned long long)v);
            break;
        }
        vq = vt_cfg_queue(&t->vt);
        if (vq)
            vq->enabled = true;
        break;
    default:
        vq = vt_cfg_queue(&t->vt);
        if (vq)
            queue_addr_write(vq, off, v, size);
        break;
    }
    pthread_mutex_unlock(&d->lock);
}

/* ---- BAR4 --------------------------------------------------------------- */

static uint64_t regs_read(void *opaque, uint64_t off, unsigned size)
{
    struct vpci *t = opaque;
    if (off < COMMON_OFF + COMMON_LEN)
        return common_read(t, off - COMMON_OFF, size);
    if (off == ISR_OFF)
        return isr_take(t);
    if (off >= DEVICE_OFF && off < DEVICE_OFF + SLOT_LEN)
        return vt_config_read(&t->vt, off - DEVICE_OFF, size,
                              "device configuration read", 0);
    vt_bad_access(&t->vt, "register read", off, size);
    return 0;
}

static void regs_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    struct vpci *t = opaque;
    struct virtio_dev *d = t->vt.d;
    if (off < COMMON_OFF + COMMON_LEN) {
        common_write(t, off - COMMON_OFF, v, size);
    } else if (off >= DEVICE_OFF && off < DEVICE_OFF + SLOT_LEN) {
        vt_config_write(&t->vt, off - DEVICE_OFF, v, size,
                        "device configuration write", 0);
    } else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + SLOT_LEN &&
               (off - NOTIFY_OFF) % NOTIFY_MULT == 0 &&
               (off - NOTIFY_OFF) / NOTIFY_MULT < d->nqueues &&
               (size == 2 || size == 4)) {
        virtio_kick(d, (unsigned)((off - NOTIFY_OFF) / NOTIFY_MULT));
    } else {
        vt_bad_access(&t->vt, "register write", off, size);
    }
}

static const struct region_ops regs_ops = {regs_read, regs_write};

/* ---- legacy BAR0 -------------------------------------------------------- */

static unsigned legacy_config(struct vpci *t)
{
    return t->nvec && pci_msix_enabled(&t->f) ? LG_CONFIG_MSIX : LG_CONFIG;
}

/* The width of the legacy register at off, 0: none. Caller knows
 * off < legacy_config(). */
static unsigned legacy_width(uint64_t off)
{
    switch (off) {
    case LG_HOST_FEATURES:
    case LG_GUEST_FEATURES:
    case LG_QUEUE_PFN:
        return 4;
    case LG_QUEUE_NUM:
    case LG_QUEUE_SEL:
    case LG_QUEUE_NOTIFY:
    case LG_CONFIG_VECTOR:
    case LG_QUEUE_VECTOR:
        return 2;
    case LG_STATUS:
    case LG_ISR:
        return 1;
    default:
        return 0;
    }
}

static uint64_t legacy_read(void *opaque, uint64_t off, unsigned size)
{
    struct vpci *t = opaque;
    struct virtio_dev *d = t->vt.d;
    unsigned cfg = legacy_config(t);
    if (off >= cfg)
        return vt_config_read(&t->vt, off - cfg, size,
                              "device configuration read", 0);
    if (legacy_width(off) != size) {
        vt_bad_access(&t->vt, "legacy register read", off, size);
        return 0;
    }
    if (off == LG_STATUS)
        return virtio_get_status(d);
    if (off == LG_ISR)
        return isr_take(t);
    if (off == LG_CONFIG_VECTOR)
        return atomic_load(&t->config_vector);
    uint64_t v = 0;
    pthread_mutex_lock(&d->lock);
    struct virtqueue *vq = vt_sel_queue(d);
    switch (off) {
    case LG_HOST_FEATURES:
        v = virtio_dev_features(d, 0);
        break;
    case LG_GUEST_FEATURES:
        v = (uint32_t)d->features;
        break;
    case LG_QUEUE_PFN:
        v = vq && vq->enabled ? (uint32_t)(vq->desc_gpa / LG_ALIGN) : 0;
        break;
    case LG_QUEUE_NUM:
        v = vq ? vq->max_size : 0;
        break;
    case LG_QUEUE_SEL:
        v = d->queue_sel;
        break;
    case LG_QUEUE_VECTOR:
        v = vq ? vq->msix_vector : VIRTIO_MSI_NO_VECTOR;
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&d->lock);
    return v;
}

/* Legacy queue layout (4.1.4.8 / 2.7.2 legacy): the descriptor table at
 * pfn * 4096, the available ring right after it, the used ring at the next
 * 4096-byte boundary; the size is fixed at the maximum. Caller holds
 * d->lock. */
static void legacy_pfn(struct vpci *t, uint32_t pfn)
{
    struct virtio_dev *d = t->vt.d;
    struct virtqueue *vq = vt_sel_queue(d);
    if (vq && pfn == 0 && !(virtio_get_status(d) & VIRTIO_STATUS_DRIVER_OK)) {
        vq->enabled = false;
        vq->desc_gpa = vq->driver_gpa = vq->device_gpa = 0;
        return;
    }
    vq = vt_cfg_queue(&t->vt);
    if (!vq || pfn == 0)
        return;
    uint64_t size = vq->max_size;
    vq->size = vq->max_size;
    vq->desc_gpa = (uint64_t)pfn * LG_ALIGN;
    vq->driver_gpa = vq->desc_gpa + 16 * size;
    vq->device_gpa = ALIGN_UP(vq->driver_gpa + 6 + 2 * size, LG_ALIGN);
    vq->enabled = true;
}

static void legacy_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    struct vpci *t = opaque;
    struct virtio_dev *d = t->vt.d;
    unsigned cfg = legacy_config(t);
    if (off >= cfg) {
        vt_config_write(&t->vt, off - cfg, v, size,
                        "device configuration write", 0);
        return;
    }
    if (legacy_width(off) != size) {
        vt_bad_access(&t->vt, "legacy register write", off, size);
        return;
    }
    switch (off) {
    case LG_GUEST_FEATURES:
        /* Legacy drivers see bits 0-31 only; no FEATURES_OK to refuse. */
        virtio_set_driver_features(d, 0,
                                   (uint32_t)v & virtio_dev_features(d, 0));
        virtio_set_driver_features(d, 1, 0);
        return;
    case LG_QUEUE_NOTIFY:
        vt_notify(&t->vt, v, off, size);
        return;
    case LG_STATUS:
        vt_set_status(&t->vt, (uint8_t)v, false);
        return;
    case LG_QUEUE_SEL:
        vt_select_queue(&t->vt, (uint16_t)v);
        return;
    case LG_CONFIG_VECTOR:
        atomic_store(&t->config_vector, check_vector(t, (uint32_t)v));
        return;
    case LG_QUEUE_PFN:
    case LG_QUEUE_VECTOR:
        break;
    default:
        vt_bad_access(&t->vt, "legacy write of a read-only register", off,
                      size);
        return;
    }
    pthread_mutex_lock(&d->lock);
    struct virtqueue *vq;
    switch (off) {
    case LG_QUEUE_PFN:
        legacy_pfn(t, (uint32_t)v);
        break;
    default: /* LG_QUEUE_VECTOR */
        vq = vt_sel_queue(d);
        if (vq)
            __atomic_store_n(&vq->msix_vector, check_vector(t, (uint32_t)v),
                             __ATOMIC_RELAXED);
        break;
    }
    pthread_mutex_unlock(&d->lock);
}

static const struct region_ops legacy_ops = {legacy_read, legacy_write};

/* ---- notifications (ioeventfd) ------------------------------------------ */

/* Caller holds evlock. */
static void regs_ev_set(struct vpci *t, bool assign)
{
    const struct dev_ctx *ctx = t->ctx;
    struct virtio_dev *d = t->vt.d;
    for (unsigned q = 0; ctx->ioeventfd && q < d->nqueues; q++) {
        uint64_t addr = t->regs_base + NOTIFY_OFF + NOTIFY_MULT * q;
        if (!assign) {
            if (t->regs_ev[q])
                (void)ctx->ioeventfd(ctx->opaque, false, addr,
                                     t->regs_ev_len[q], false, 0, d->kick[q],
                                     false);
            t->regs_ev[q] = false;
            continue;
        }
        if (d->kick[q] < 0)
            continue;
        /* Any width first (KVM's fast MMIO), else the 16-bit write that
         * drivers use; other widths then reach regs_write. */
        static const unsigned lens[] = {0, 2};
        bool nosys = true;
        for (unsigned k = 0; k < ARRAY_SIZE(lens) && !t->regs_ev[q]; k++) {
            int e = ctx->ioeventfd(ctx->opaque, false, addr, lens[k], false, 0,
                                   d->kick[q], true);
            t->regs_ev[q] = e == 0;
            t->regs_ev_len[q] = lens[k];
            nosys = nosys && e == -ENOSYS;
        }
        if (nosys)
            return; /* no ioeventfds at all: the doorbells' write op kicks */
    }
}

/* Caller holds evlock. */
static void lg_ev_set(struct vpci *t, bool assign)
{
    vt_doorbells(&t->vt, t->ctx, true, t->lg_base + LG_QUEUE_NOTIFY, 2,
                 t->lg_ev, assign);
}

static void bar_moved(void *opaque, unsigned i, bool mapped, uint64_t base)
{
    struct vpci *t = opaque;
    pthread_mutex_lock(&t->evlock);
    if (!t->detached && i == REGS_BAR) {
        regs_ev_set(t, false);
        t->regs_base = base;
        if (mapped)
            regs_ev_set(t, true);
    } else if (!t->detached && i == LEGACY_BAR && t->has_legacy) {
        lg_ev_set(t, false);
        t->lg_base = base;
        if (mapped)
            lg_ev_set(t, true);
    }
    pthread_mutex_unlock(&t->evlock);
}

/* ---- the PCI configuration access capability (4.1.4.9) ------------------ */

/* The BAR access the window describes: false when it names nothing of
 * ours (the access is then ignored). */
static bool window(struct vpci *t, const struct region_ops **ops, uint32_t *off,
                   unsigned *len)
{
    const uint8_t *c = &t->f.cfg[t->cfg_cap];
    unsigned bar = c[4];
    *off = le_get32(c + 8);
    *len = le_get32(c + 12);
    if (*len != 1 && *len != 2 && *len != 4)
        return false;
    if (*off % *len)
        return false;
    if (bar == REGS_BAR && range_within(*off, *len, REGS_SIZE))
        *ops = &regs_ops;
    else if (bar == LEGACY_BAR && t->has_legacy &&
             range_within(*off, *len, LG_SIZE))
        *ops = &legacy_ops;
    else
        return false;
    return true;
}

static bool touches_data(struct vpci *t, unsigned off, unsigned size)
{
    return t->cfg_cap && size != 0 &&
           ranges_overlap(off, size, t->cfg_cap + 16u, 4);
}

static void hook_cfg_read(void *opaque, unsigned off, unsigned size)
{
    struct vpci *t = opaque;
    const struct region_ops *ops;
    uint32_t boff;
    unsigned len;
    if (!touches_data(t, off, size) || !window(t, &ops, &boff, &len))
        return;
    uint64_t v = ops->read(t, boff, len);
    for (unsigned k = 0; k < len; k++)
        t->f.cfg[t->cfg_cap + 16 + k] = (uint8_t)(v >> (8 * k));
}

static void hook_cfg_write(void *opaque, unsigned off, unsigned size)
{
    struct vpci *t = opaque;
    const struct region_ops *ops;
    uint32_t boff;
    unsigned len;
    if (!touches_data(t, off, size) || !window(t, &ops, &boff, &len))
        return;
    uint64_t v = le_get32(&t->f.cfg[t->cfg_cap + 16]);
    if (len < 4)
        v &= (1u << (8 * len)) - 1;
    ops->write(t, boff, v, len);
}

/* ---- attach / detach ---------------------------------------------------- */

static void pci_detach(struct virtio_dev *d)
{
    struct vpci *t = d->transport;
    if (!t)
        return;
    /* A BAR move the last guest access requested runs bar_moved on the
     * remap thread: let it finish before t goes. */
    pci_bus_sync(t->ctx->pci);
    pthread_mutex_lock(&t->evlock);
    regs_ev_set(t, false);
    if (t->has_legacy)
        lg_ev_set(t, false);
    t->detached = true;
    pthread_mutex_unlock(&t->evlock);
    (void)isr_take(t);
    d->transport = NULL;
    d->tops = NULL;
    /* Off the bus (BARs unmapped, MSI-X routes and irqfds released): after
     * this pci.c holds no pointer into t->f, so no late bar_moved or
     * config access can reach freed memory. */
    pci_bus_remove(t->ctx->pci, &t->f);
    pthread_mutex_destroy(&t->ilock);
    pthread_mutex_destroy(&t->evlock);
    free(t);
}

static const struct virtio_transport_ops pci_tops = {
    .interrupt = pci_interrupt,
    .detach = pci_detach,
};

/* A vendor capability (struct virtio_pci_cap, 4.1.4), with `extra` bytes
 * after it (notify_off_multiplier, pci_cfg_data). Returns its offset. */
static int add_vcap(struct pci_function *f, uint8_t type, uint8_t bar,
                    uint32_t off, uint32_t len, uint32_t extra)
{
    uint8_t b[20] = {0};
    unsigned n = 16 + (extra != UINT32_MAX ? 4 : 0);
    b[2] = (uint8_t)n;
    b[3] = type;
    b[4] = bar;
    for (unsigned k = 0; k < 4; k++) {
        b[8 + k] = (uint8_t)(off >> (8 * k));
        b[12 + k] = (uint8_t)(len >> (8 * k));
        if (extra != UINT32_MAX)
            b[16 + k] = (uint8_t)(extra >> (8 * k));
    }
    return pci_function_add_cap(f, PCI_CAP_ID_VNDR, b, n);
}

static int add_caps(struct vpci *t)
{
    struct pci_function *f = &t->f;
    struct virtio_dev *d = t->vt.d;
    int c;
    if (add_vcap(f, CAP_COMMON, REGS_BAR, COMMON_OFF, COMMON_LEN, UINT32_MAX) <
            0 ||
        add_vcap(f, CAP_NOTIFY, REGS_BAR, NOTIFY_OFF,
                 NOTIFY_MULT * (d->nqueues ? d->nqueues : 1),
                 NOTIFY_MULT) < 0 ||
        add_vcap(f, CAP_ISR, REGS_BAR, ISR_OFF, 4, UINT32_MAX) < 0)
        return -1;
    if (d->config_len && add_vcap(f, CAP_DEVICE, REGS_BAR, DEVICE_OFF,
                                  d->config_len, UINT32_MAX) < 0)
        return -1;
    c = add_vcap(f, CAP_PCI, 0, 0, 0, 0);
    if (c < 0)
        return -1;
    t->cfg_cap = (unsigned)c;
    f->wmask[c + 4] = 0xff;             /* bar */
    memset(&f->wmask[c + 8], 0xff, 12); /* offset, length, pci_cfg_data */
    return 0;
}

int virtio_pci_attach(struct virtio_dev *d, const struct vdev_spec *vd,
                      const struct dev_ctx *ctx)
{
    const struct pci_func *p = &vd->pci;
    if (!ctx->pci) {
        log_fatal(TAG, "%s: no PCI bus for the virtio PCI function", d->name);
        return -1;
    }
    if (d->config_len > SLOT_LEN || d->nqueues > VIRTIO_MAX_QUEUES ||
        p->bars[REGS_BAR].kind != BAR_MEM64 ||
        p->bars[REGS_BAR].size < REGS_SIZE) {
        log_fatal(TAG, "%s: no 16 KiB 64-bit BAR4 for the virtio registers",
                  d->name);
        return -1;
    }
    struct vpci *t = calloc(1, sizeof(*t));
    if (!t) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    vt_init(&t->vt, d, TAG, pci_reset);
    t->ctx = ctx;
    atomic_init(&t->config_vector, VIRTIO_MSI_NO_VECTOR);
    pthread_mutex_init(&t->ilock, NULL);
    pthread_mutex_init(&t->evlock, NULL);
    struct pci_function *f = &t->f;
    if (pci_function_from_vdev(f, vd) < 0)
        goto err;
    t->has_legacy = d->legacy && p->bars[LEGACY_BAR].kind == BAR_IO &&
                    p->bars[LEGACY_BAR].size >= LG_SIZE;
    if (d->legacy && !t->has_legacy)
        log_warn(TAG, "%s: no I/O BAR0 for the legacy interface; modern only",
                 d->name);
    d->legacy = t->has_legacy;
    /* Identity (4.1.2): transitional devices have revision 0 and their
     * virtio device ID as subsystem ID (Linux reads it there for device
     * IDs below 0x1040); modern-only ones revision 1. */
    uint16_t did = (uint16_t)(f->cfg[2] | f->cfg[3] << 8);
    f->cfg[0x08] = t->has_legacy ? 0 : 1;
    le_put16(&f->cfg[0x2c], SUBSYS_VID);
    le_put16(&f->cfg[0x2e], (uint16_t)(did < 0x1040 ? d->id : 0x40 + d->id));
    f->bar_ops[REGS_BAR] = &regs_ops;
    f->bar_opaque[REGS_BAR] = t;
    if (t->has_legacy) {
        f->bar_ops[LEGACY_BAR] = &legacy_ops;
        f->bar_opaque[LEGACY_BAR] = t;
    }
    if (add_caps(t) < 0) {
        log_fatal(TAG, "%s: no room for the virtio capabilities", d->name);
        goto err;
    }
    if (p->msix_vectors && p->bars[MSIX_BAR].kind != BAR_NONE) {
        if (pci_msix_init(f, MSIX_BAR, MSIX_TABLE, MSIX_PBA, p->msix_vectors) <
            0)
            goto err;
        t->nvec = p->msix_vectors;
    }
    f->bar_moved = bar_moved;
    f->cfg_read = hook_cfg_read;
    f->cfg_write = hook_cfg_write;
    f->hook_opaque = t;
    for (unsigned q = 0; q < d->nqueues; q++)
        vq_reset(&d->vq[q]);
    d->transport = t;
    d->tops = &pci_tops;
    int e = pci_bus_add(ctx->pci, f);
    if (e < 0) {
        log_fatal(TAG, "%s: PCI function %02x:%02x.%x: %s", d->name, p->bdf.bus,
                  p->bdf.dev, p->bdf.fn, e == -EEXIST ? "taken" : strerror(-e));
        d->transport = NULL;
        d->tops = NULL;
        goto err;
    }
    log_debug(TAG, "%s: virtio PCI %02x:%02x.%x (%u MSI-X vectors%s)", d->name,
              p->bdf.bus, p->bdf.dev, p->bdf.fn, t->nvec,
              t->has_legacy ? ", legacy" : "");
    return 0;
err:
    pthread_mutex_destroy(&t->ilock);
    pthread_mutex_destroy(&t->evlock);
    free(t);
    return -1;
}

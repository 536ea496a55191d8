/*
 * virtio.h: the virtio device interface. A device model (blk.c,
 * console.c, rng.c, net.c) knows nothing of its transport; a transport
 * (virtio_pci.c: modern 1.x plus the optional legacy 0.9.5 interface;
 * virtio_mmio.c: version 2) knows nothing of the device. virtio.c holds
 * what both transports share: status and feature negotiation, queue
 * start/reset, and the queue notification (kick) plumbing; transport.c the
 * driver-facing register rules they have in common (transport.h).
 *
 * Kicks: the transport gives each queue an eventfd (struct virtio_dev.kick)
 * that it registers with KVM as an ioeventfd on the queue's notify address
 * (or writes itself from the register's write op when KVM has none).
 * virtio.c watches these eventfds on the VM's I/O event thread and calls
 * ops->notify there: device backends never run on vCPU threads.
 *
 * Locking: d->lock is held by the core around every ops call (notify,
 * activate, reset, config_read/config_write). A device with its own worker
 * threads makes reset() wait until they no longer touch the queues.
 * Interrupts (virtio_notify_used, virtio_config_changed) may be raised from
 * any thread.
 */
#ifndef QVM_VIRTIO_VIRTIO_H
#define QVM_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/spec.h"
#include "devices/device.h"
#include "util/compiler.h"
#include "util/log.h"
#include "virtio/virtqueue.h"

#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

/* Device status (virtio 1.2, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

#define VIRTIO_MSI_NO_VECTOR 0xffff
#define VIRTIO_MAX_QUEUES    65 /* net: rx+tx+ctrl; blk: up to 64 */

struct virtio_dev;

struct virtio_dev_ops {
    /* config_read/config_write: device configuration space, with
     * off + len <= d->config_len (the transport checks). */
    void (*config_read)(struct virtio_dev *d, uint32_t off, void *buf,
                        uint32_t len);
    void (*config_write)(struct virtio_dev *d, uint32_t off, const void *buf,
                         uint32_t len); /* NULL: read-only */
    /* activate: the driver set DRIVER_OK; d->features holds the negotiated
     * bits and every enabled queue is started. <0: the core sets
     * NEEDS_RESET. */
    int (*activate)(struct virtio_dev *d);
    /* notify: queue q was kicked. Context: the I/O event thread. */
    void (*notify)(struct virtio_dev *d, unsigned q);
    /* reset: the driver wrote 0 to the status (or the VM ends): when this
     * returns, nothing of the device touches guest memory any more. */
    void (*reset)(struct virtio_dev *d);
    /* destroy: free the device (after reset). */
    void (*destroy)(struct virtio_dev *d);
};

/* What the transport provides to the core (set by the transport). */
struct virtio_transport_ops {
    /* interrupt: tell the driver that queue q has used buffers (q >= 0)
     * or that the configuration changed (q == -1). Context: any. */
    void (*interrupt)(struct virtio_dev *d, int q);
    /* detach: remove the device from the guest's view (regions, KVM
     * notifications) and free the transport's state; at teardown, after
     * virtio_reset and before virtio_dev_free. Context: no vCPU runs. */
    void (*detach)(struct virtio_dev *d);
};

struct virtio_dev {
    /* Filled by the device's constructor. */
    const struct virtio_dev_ops *ops;
    const char *name; /* vdev name for messages ("virtio-blk" or `name`) */
    uint32_t id;      /* VIRTIO_ID_* */
    uint64_t host_features; /* device-specific offer; the core adds
                               VERSION_1, INDIRECT_DESC, EVENT_IDX and
                               RING_PACKED */
    uint32_t config_len;
    unsigned nqueues;
    struct virtqueue vq[VIRTIO_MAX_QUEUES]; /* max_size and name set */
    void *priv;                             /* the device's own state */

    /* Filled by virtio_dev_init / the transport. */
    const struct dev_ctx *ctx;
    const struct gview *mem; /* the gate: ctx->mem */
    pthread_mutex_t lock;
    bool legacy; /* the transport also presents the legacy interface */
    const struct virtio_transport_ops *tops;
    void *transport;
    int kick[VIRTIO_MAX_QUEUES]; /* eventfds, -1 when absent */

    /* Negotiation state: written under lock by the transports through
     * the virtio_* functions below. */
    uint8_t status;
    uint32_t dfeat_sel, gfeat_sel;
    uint64_t features; /* driver-accepted subset of the full offer */
    atomic_uint config_generation;
    uint16_t queue_sel;
    /* What the driver makes the core say (refused negotiation, FAILED,
     * NEEDS_RESET): a driver looping through resets is rate-limited. */
    struct log_budget log;
};

/* ---- for device constructors -------------------------------------------- */

/*
 * virtio_dev_init: common initialisation (lock, kick fds -1, ctx/mem);
 * the constructor then fills ops/id/features/config_len/nqueues/vq[].
 */
void virtio_dev_init(struct virtio_dev *d, const struct dev_ctx *ctx,
                     const char *name);
/* virtio_offer: the full feature offer (device bits + the core's). */
uint64_t virtio_offer(const struct virtio_dev *d);
static inline bool virtio_has(const struct virtio_dev *d, unsigned bit)
{
    return (d->features >> bit) & 1;
}

/* ---- for devices while running ------------------------------------------ */

/* virtio_notify_used: after vq_push()es on queue q, interrupt the driver
 * if the queue says it wants one. Context: any. */
void virtio_notify_used(struct virtio_dev *d, unsigned q);
/* virtio_report: one line of the device's state for the SIGUSR1 report
 * (status, features, each enabled queue's indices). Context: any. */
void virtio_report(struct virtio_dev *d, char *buf, size_t len);
/* virtio_config_changed: bump the generation and interrupt. */
void virtio_config_changed(struct virtio_dev *d);
/* virtio_needs_reset: set DEVICE_NEEDS_RESET (logged once, with why) and
 * raise a configuration interrupt; the device stops using its queues. */
void virtio_needs_reset(struct virtio_dev *d, const char *why);

/* ---- for transports (caller holds nothing; these take d->lock) --------- */

/* virtio_set_status: the driver wrote `val`: 0 resets; FEATURES_OK is
 * refused (stays clear) when the accepted features are not a subset of
 * the offer or lack VERSION_1 on a modern interface; DRIVER_OK starts the
 * queues and activates the device. */
void virtio_set_status(struct virtio_dev *d, uint8_t val, bool modern);
uint8_t virtio_get_status(struct virtio_dev *d);
/* virtio_reset: as writing 0 to the status (also at teardown). */
void virtio_reset(struct virtio_dev *d);
/* Feature windows: 32 bits at a time, selected by sel (0 = bits 0-31). */
uint32_t virtio_dev_features(struct virtio_dev *d, uint32_t sel);
void virtio_set_driver_features(struct virtio_dev *d, uint32_t sel,
                                uint32_t val);
/*
 * virtio_kicks_start: create one eventfd per queue (d->kick[]) and watch
 * them on ctx->ev, calling ops->notify(d, q) under d->lock. -errno.
 * virtio_kick: what a notify register write does without an ioeventfd.
 */
int virtio_kicks_start(struct virtio_dev *d) MUST_CHECK;
void virtio_kick(struct virtio_dev *d, unsigned q);
/*
 * virtio_config_access: a driver access of `size` bytes at `off` in the
 * device configuration space, under d->lock. False (nothing done; reads
 * give 0) when it does not fit in config_len or the space is read-only:
 * the transport logs it with its own register name.
 */
bool virtio_config_access(struct virtio_dev *d, uint64_t off, unsigned size,
                          bool write, uint64_t *val) MUST_CHECK;
/* virtio_dev_free: reset, stop the kicks, ops->destroy. */
void virtio_dev_free(struct virtio_dev *d);

/* ---- devices (one constructor per vdev type) ---------------------------- */

/* Each returns 0 and a device in *out, or logs why and returns -1. The
 * registry row of each virtio vdev names its constructor:
 * {"virtio-blk", virtio_realize, 1, VIRTIO_CTOR(virtio_blk_new)}. */
struct virtio_ctor {
    int (*fn)(const struct vdev_spec *vd, const struct dev_ctx *ctx,
              struct virtio_dev **out);
};
#define VIRTIO_CTOR(f) (&(const struct virtio_ctor){(f)})
int virtio_blk_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct virtio_dev **out) MUST_CHECK;
/* virtio_blk_inline: virtio-blk devices created from now on have no worker
 * threads; virtio_blk_serve_inline(d, q), called after a notify of queue q
 * outside d->lock, serves the queue on the caller's thread as its worker
 * would. For single-threaded test harnesses (tests/fuzz: each input the
 * same schedule, no thread hand-offs); qvm never calls them. */
void virtio_blk_inline(bool on);
void virtio_blk_serve_inline(struct virtio_dev *d, unsigned q);
int virtio_console_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                       struct virtio_dev **out) MUST_CHECK;
/* For unit tests: the host entropy source (getrandom's signature; NULL:
 * getrandom). */
typedef ssize_t (*virtio_rng_source_fn)(void *buf, size_t n, unsigned flags);
void virtio_rng_set_source(virtio_rng_source_fn fn);
int virtio_rng_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct virtio_dev **out) MUST_CHECK;
int virtio_net_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct virtio_dev **out) MUST_CHECK;

/* ---- transports --------------------------------------------------------- */

/* virtio_pci_attach: the device as a PCI function (vd->pci: BDF, BARs,
 * INTx, MSI-X vectors) on ctx->pci. */
int virtio_pci_attach(struct virtio_dev *d, const struct vdev_spec *vd,
                      const struct dev_ctx *ctx) MUST_CHECK;
/* virtio_mmio_attach: the device at vd->loc (memory) with vd->intrs[0]. */
/* virtio_mmio_gsi: the GSI of a virtio-mmio device's line, or -1. */
int64_t virtio_mmio_gsi(const struct virtio_dev *d);
int virtio_mmio_attach(struct virtio_dev *d, const struct vdev_spec *vd,
                       const struct dev_ctx *ctx) MUST_CHECK;
/*
 * virtio_realize: the registry's realize for every virtio-* vdev: builds
 * the device by type, then attaches it over PCI (vd->is_pci) or MMIO.
 */
int virtio_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct dev_inst *inst) MUST_CHECK;

#endif

/*
 * transport.h: what the two virtio transports (virtio_mmio.c, virtio_pci.c)
 * share above virtio.c's core: the driver's registers whose meaning is the
 * same on both (feature and queue selects, the selected queue's size and
 * ring addresses with the rules for changing them, notifications, device
 * status with the transport's own reset, device configuration accesses),
 * the doorbell ioeventfds with a queue index as datamatch, and the
 * rate-limited log of bad accesses. Each transport embeds a struct
 * vtransport and keeps its register layout, interrupts and identity.
 *
 * Context: register ops on vCPU threads. The functions marked "caller
 * holds d->lock" expect it; the others take it as needed.
 */
#ifndef QVM_VIRTIO_TRANSPORT_H
#define QVM_VIRTIO_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/log.h"
#include "virtio/virtio.h"

struct vtransport {
    struct virtio_dev *d;
    const char *tag; /* for messages: "virtio-mmio", "virtio-pci" */
    /* reset: the driver wrote 0 to the status; the transport's own state
     * (ISR, vectors) goes too. */
    void (*reset)(struct vtransport *vt);
    struct log_budget rl; /* what the driver makes the transport say */
};

/* vt_init: for d, logging under `tag`. */
void vt_init(struct vtransport *vt, struct virtio_dev *d, const char *tag,
             void (*reset)(struct vtransport *vt));
/* vt_bad_access: log (rate-limited) an access that is ignored. */
void vt_bad_access(struct vtransport *vt, const char *what, uint64_t off,
                   unsigned size);

/* ---- registers (each takes d->lock as needed) --------------------------- */

/* The device features window at the driver's select. */
uint32_t vt_device_features(struct vtransport *vt);
void vt_select_device_features(struct vtransport *vt, uint32_t sel);
void vt_select_driver_features(struct vtransport *vt, uint32_t sel);
/* The driver accepts `v` in the window at its select. */
void vt_set_driver_features(struct vtransport *vt, uint32_t v);
void vt_select_queue(struct vtransport *vt, uint16_t q);
/* The driver wrote the status (virtio_set_status); 0 also resets the
 * transport (vt->reset). */
void vt_set_status(struct vtransport *vt, uint8_t v, bool modern);
uint8_t vt_config_generation(struct vtransport *vt);
/* A notification of queue q (a register at `off` written with `size`
 * bytes): kicks it, or logs a missing queue. */
void vt_notify(struct vtransport *vt, uint64_t q, uint64_t off, unsigned size);
/* Device configuration at `off`; what cannot be done is logged as `what`
 * at shown_base + off (reads give 0). */
uint64_t vt_config_read(struct vtransport *vt, uint64_t off, unsigned size,
                        const char *what, uint64_t shown_base);
void vt_config_write(struct vtransport *vt, uint64_t off, uint64_t v,
                     unsigned size, const char *what, uint64_t shown_base);

/* ---- the selected queue (caller holds d->lock) --------------------------- */

/* The selected queue if it exists, else NULL. */
struct virtqueue *vt_sel_queue(struct virtio_dev *d);
/* The selected queue if the driver may configure it now (it exists, is
 * not enabled, DRIVER_OK is clear), else NULL (logged). */
struct virtqueue *vt_cfg_queue(struct vtransport *vt);
/* Queue size v: at most max_size, a power of two unless the ring is
 * packed; else refused (logged). */
void vt_set_queue_size(struct vtransport *vt, struct virtqueue *vq, uint32_t v);

/* The queue's three areas (2.7, 2.8), and 32-bit halves of an address. */
enum vt_area { VT_DESC, VT_DRIVER, VT_DEVICE };
uint64_t *vt_area(struct virtqueue *vq, enum vt_area a);
uint32_t vt_half(uint64_t a, bool hi);
void vt_set_half(uint64_t *a, bool hi, uint32_t v);

/* ---- doorbells ---------------------------------------------------------- */

/*
 * vt_doorbells: (de)assign one KVM ioeventfd per queue at `addr` (port
 * I/O with `pio`; `len` bytes) with the queue index as datamatch,
 * signalling d->kick[q]; on[q] says which are assigned. Without
 * ioeventfds (-ENOSYS) nothing is; the register's write op kicks then.
 */
void vt_doorbells(struct vtransport *vt, const struct dev_ctx *ctx, bool pio,
                  uint64_t addr, unsigned len, bool on[], bool assign);

#endif

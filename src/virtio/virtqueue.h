/*
 * virtqueue.h: qvm's one virtqueue implementation (virtio 1.2, section 2.7
 * split and 2.8 packed), shared by every device and transport.
 *
 * Every guest address, length and index a ring holds goes through this
 * file's checks, and every guest address through the one gate, gview_ptr():
 *   - ring areas are resolved once, at vq_start(), and must each lie inside
 *     one RAM region with the alignment the spec requires;
 *   - indexes read from the ring are reduced modulo the queue size, and an
 *     available index that runs more than `size` ahead of the device is
 *     malformed;
 *   - a chain is malformed when it loops, is longer than the queue size
 *     (direct) or than the indirect table (indirect), has more than
 *     VQ_MAX_SEGS segments, nests an indirect table, puts a readable
 *     descriptor after a writable one, has a zero-length or a huge
 *     (> VQ_MAX_SEG_LEN) buffer, an indirect table whose length is not a
 *     multiple of 16, or any buffer not entirely inside guest RAM.
 * A malformed ring marks the queue broken (vq->broken, vq->error says why):
 * vq_pop returns -EINVAL from then on, the device stops using the queue
 * and the transport sets DEVICE_NEEDS_RESET. Nothing is ever read or
 * written outside guest RAM, and vq_pop does at most `size` steps per chain
 * (plus at most VQ_MAX_SEGS entries of its indirect table). The ring keeps
 * the size it was started with (ring_size) whatever is written to `size`.
 *
 * Context: one thread at a time per queue (the device's); vq_start and
 * vq_reset only while the device does not use the queue.
 */
#ifndef QVM_VIRTIO_VIRTQUEUE_H
#define QVM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "loader/gview.h"
#include "util/compiler.h"

#define VQ_MAX_SIZE    32768u /* split: a power of two up to this */
#define VQ_MAX_SEGS    256u   /* segments in one chain (readable+writable) */
#define VQ_MAX_SEG_LEN (1u << 30) /* one buffer: at most 1 GiB */

/* Feature bits the virtqueue itself implements (virtio 1.2, 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_F_RING_PACKED   34
#define VIRTIO_F_IN_ORDER      35 /* not offered */

/*
 * One request: the segments of a descriptor chain, readable ones first
 * (iov[0 .. nout-1]) then writable ones (iov[nout .. nout+nin-1]). Each
 * iov_base points into guest RAM (already checked), so devices can hand the
 * vectors to readv/preadv/writev directly.
 */
struct vq_elem {
    uint16_t id;    /* split: head index; packed: buffer id */
    uint16_t ndesc; /* descriptors (packed: ring slots) the chain used */
    unsigned nout, nin;
    size_t out_len, in_len; /* total bytes readable / writable */
    struct iovec iov[VQ_MAX_SEGS];
};

struct virtqueue {
    /* Set by the device before the transport exposes it. */
    uint16_t max_size; /* QueueNumMax / queue_size reset value */
    const char *name;  /* "blk.rq0", for messages */

    /* Written by the driver through the transport (checked there:
     * size != 0, <= max_size, and a power of two unless packed). */
    uint16_t size;
    bool enabled;         /* queue_enable / QueueReady (legacy: PFN != 0) */
    uint16_t msix_vector; /* PCI only; VIRTIO_MSI_NO_VECTOR = 0xffff */
    uint64_t desc_gpa, driver_gpa, device_gpa;

    /* From the negotiated features, at vq_start. */
    bool packed, event_idx, indirect;

    /* Ring state: private to virtqueue.c. */
    const struct gview *mem;
    void *desc, *driver, *device; /* resolved ring areas */
    uint16_t ring_size;           /* size at vq_start: what the areas hold */
    uint16_t last_avail;          /* split: next avail index to read */
    uint16_t used_idx;            /* split: next used index to write */
    uint16_t signalled_used;      /* used_idx when the driver was last told */
    bool signalled_valid;
    bool avail_wrap, used_wrap; /* packed wrap counters */
    uint16_t used_since_signal;
    bool kicks_disabled; /* vq_disable_kicks in force */

    /* A malformed ring was seen: no more pops. `error` says what. */
    bool broken;
    char error[96];
};

/*
 * vq_start: bind the queue to guest memory with the negotiated features
 * (VIRTIO_F_*) and reset the ring state. Checks that the three areas lie in
 * guest RAM with the spec's alignment. -EINVAL (vq->error set) otherwise.
 * A disabled queue (enabled false) is left alone and returns 0.
 */
int vq_start(struct virtqueue *vq, const struct gview *mem,
             uint64_t features) MUST_CHECK;
/* vq_reset: forget the driver's configuration (device reset): size =
 * max_size, disabled, no vector, addresses 0, not broken. */
void vq_reset(struct virtqueue *vq);
/* vq_ready: started, enabled and not broken. */
bool vq_ready(const struct virtqueue *vq);

/*
 * vq_pop: take the next available chain into *e. Returns 1 when *e is
 * filled, 0 when the ring is empty (or the queue not ready; *e is left
 * alone), -EINVAL when the ring is malformed (the queue is then broken,
 * and every later vq_pop returns -EINVAL until vq_start/vq_reset).
 * Finding the ring empty while kicks are enabled re-arms them (and looks
 * again), so popping until 0 on every kick never misses one.
 */
int vq_pop(struct virtqueue *vq, struct vq_elem *e) MUST_CHECK;
/*
 * vq_push: give `e` back to the driver as used, with `written` bytes
 * written into its writable segments (clamped to e->in_len).
 */
void vq_push(struct virtqueue *vq, const struct vq_elem *e, uint32_t written);
/*
 * vq_need_interrupt: after one or more vq_push, whether the driver asked to
 * be interrupted (event index or the NO_INTERRUPT/ring event flags).
 * Records that it was told; call once per batch, then raise the interrupt
 * if it returns true. False when nothing was pushed since the last call.
 * Split: without EVENT_IDX, true unless avail flags has NO_INTERRUPT; with
 * it, true the first time after vq_start, then when used_event lies in
 * [used idx at the last call, used idx now). Packed: driver event flags
 * DISABLE: false; ENABLE (or DESC without EVENT_IDX): true; DESC: true
 * when its offset/wrap is one of the slots used since the last call.
 */
bool vq_need_interrupt(struct virtqueue *vq);
/*
 * Kick suppression while the device is polling the ring: vq_disable_kicks
 * tells the driver not to notify; vq_enable_kicks asks for notifications
 * again and returns true if buffers arrived in between (pop again).
 */
void vq_disable_kicks(struct virtqueue *vq);
bool vq_enable_kicks(struct virtqueue *vq) MUST_CHECK;

/* Helpers for devices: vq_copy_from copies out of the readable segments,
 * vq_copy_to into the writable ones, each starting `off` bytes into that
 * part. They return the bytes copied (short when the chain is short). */
size_t vq_copy_from(const struct vq_elem *e, size_t off, void *dst, size_t len);
size_t vq_copy_to(const struct vq_elem *e, size_t off, const void *src,
                  size_t len);
/* vq_iov_copy: between buf and bytes [off, off+len) of the segments
 * iov[0..n): into them (to_iov) or out of them. Returns the bytes copied. */
size_t vq_iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf,
                   size_t len, bool to_iov);
/* vq_slice: bytes [off, off+len) of the segments src[0..n) as segments in
 * dst (at most n of them; fewer bytes when src is short). Returns how many
 * dst holds. For handing a chain's data to readv/writev-like calls. */
unsigned vq_slice(const struct iovec *src, unsigned n, size_t off, size_t len,
                  struct iovec *dst);

#endif

/*
 * net_backend.h: what virtio-net (net.c) needs of the host end of its link,
 * and the two backends that provide it (docs/virtio-net.md):
 *   - net_tap.c: a Linux tap interface (`peer /dev/vdevpeers/NAME`,
 *     `tapdev NAME`), IFF_VNET_HDR, offloads following the guest's;
 *   - net_peer.c: another qvm's virtio-net (`peer /dev/qvm/SYSTEM/NAME`)
 *     over AF_UNIX datagram sockets under the runtime directory.
 * Every frame crosses the interface as the 12-byte virtio_net_hdr_v1
 * followed by the Ethernet frame. A backend never queues: a frame it cannot
 * take at once (-EAGAIN) waits in the device until the backend fd is
 * writable (EPOLLOUT) or the backend is stuck; other failures drop it.
 *
 * The device reads the backend's fd on the I/O event thread while it has
 * receive buffers (EPOLLIN), and calls ops->tick when timer_fd (>= 0)
 * fires. A backend reports link changes and a failure that is for good
 * through its struct net_backend_host.
 *
 * Context: every op and every host callback runs with the device's lock
 * (struct virtio_dev.lock) held.
 */
#ifndef QVM_VIRTIO_NET_BACKEND_H
#define QVM_VIRTIO_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "config/spec.h"
#include "devices/device.h"
#include "util/compiler.h"
#include "util/log.h"
#include "virtio/net.h"

struct net_backend;

/* The device's side, for its backend. */
struct net_backend_host {
    const char *label;     /* the device's name for messages */
    struct log_budget *rl; /* the device's guest-driven message budget */
    struct vnet_stats *st; /* counters a backend bumps itself (strangers) */
    /* link: the backend can (up) or cannot carry frames any more. */
    void (*link)(void *opaque, bool up, const char *why);
    /* failed: the backend is gone for good (errno err). */
    void (*failed)(void *opaque, int err);
    void *opaque;
};

struct net_backend_ops {
    const char *kind; /* "tap", "peer socket": for messages */
    size_t size;      /* of the backend's struct (struct net_backend first) */
    /*
     * open: attach be (zeroed but for ops, host, fd and timer_fd, which are
     * -1) to `target` (the tap's interface name, or the peer's
     * /dev/qvm/SYSTEM/NAME; vd and ctx give this end's name and system).
     * 0, or logs why (log_fatal) and returns -1; close is called either
     * way.
     */
    int (*open)(struct net_backend *be, const char *target,
                const struct vdev_spec *vd, const struct dev_ctx *ctx);
    /*
     * recv: read one frame, scattered over iov[0..iovcnt) (iov[0] holds
     * at least the 12-byte header; the device's bounce buffer or the
     * guest's receive buffers). >0: the frame's whole length (header
     * included), even when it did not fit and was cut; 0: nothing for the
     * guest (control message, stranger); <0: -errno (-EAGAIN: nothing more
     * now).
     */
    ssize_t (*recv)(struct net_backend *be, const struct iovec *iov,
                    unsigned iovcnt);
    /* send: one frame (the header, then the frame: len bytes in iovcnt
     * segments, at most VQ_MAX_SEGS + 1), in one gathered write without
     * blocking: len when it went out; -EAGAIN: not now (the device
     * retries when fd is writable); else it is dropped (0 or -errno; the
     * backend logs what is worth it). */
    ssize_t (*send)(struct net_backend *be, const struct iovec *iov,
                    unsigned iovcnt, size_t len);
    /* carrier: whether the backend can carry frames now. */
    bool (*carrier)(const struct net_backend *be);
    /* offloads: the VIRTIO_NET_F_GUEST_* bits the guest accepted (0 at
     * reset): what the host may hand over. NULL: nothing to tell. */
    void (*offloads)(struct net_backend *be, uint64_t guest_features);
    /* tick: timer_fd fired (read already). NULL without a timer. */
    void (*tick)(struct net_backend *be);
    /* close: say goodbye, close fd and timer_fd (the device has stopped
     * watching them) and remove what open made; the device frees be. */
    void (*close)(struct net_backend *be);
};

/* The part of every backend that the device sees (embedded first). */
struct net_backend {
    const struct net_backend_ops *ops;
    const struct net_backend_host *host;
    const char *name; /* the tap's name, or this end's socket path */
    int fd;           /* the fd to read frames from */
    int timer_fd;     /* -1: none */
    bool dead;        /* failed for good: set by the device */
};

extern const struct net_backend_ops net_tap_ops;
extern const struct net_backend_ops net_peer_ops;

#endif

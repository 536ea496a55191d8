/*
 * net.h: virtio-net's wire-level definitions (virtio 1.2, 5.1) and what the
 * device exposes beyond the virtio_dev interface: its counters and the
 * host directory that stands for QNX's /dev/qvm (see docs/virtio-net.md).
 *
 * Context: vnet_stats from any thread (it takes the device lock).
 */
#ifndef QVM_VIRTIO_NET_H
#define QVM_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

struct virtio_dev;

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN  9
#define VIRTIO_NET_F_GUEST_UFO  10
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_HOST_ECN   13
#define VIRTIO_NET_F_HOST_UFO   14
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16

/* The offload bits `peerfeats` may enable (the others are ignored). */
#define VIRTIO_NET_OFFLOADS                                                    \
    ((1u << VIRTIO_NET_F_CSUM) | (1u << VIRTIO_NET_F_GUEST_CSUM) |             \
     (0xffu << VIRTIO_NET_F_GUEST_TSO4))

/* Configuration space (5.1.4): mac[6], le16 status, le16 max pairs. */
#define VIRTIO_NET_CFG_MAC    0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_LEN    10
#define VIRTIO_NET_S_LINK_UP  1

/* struct virtio_net_hdr_v1 (5.1.6), little-endian, 12 bytes; without
 * VERSION_1 and MRG_RXBUF the driver's header stops before num_buffers. */
#define VIRTIO_NET_HDR_LEN          12
#define VIRTIO_NET_HDR_LEN_LEGACY   10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP      3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80

/* The largest frame carried (after the header): a 64 KiB GSO frame plus
 * its Ethernet and VLAN headers. Bigger ones are dropped. */
#define VIRTIO_NET_MAX_FRAME (65536u + 14u + 4u)

/* Queues: receiveq 0, transmitq 1. */
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

struct vnet_stats {
    uint64_t rx_frames;    /* delivered to the guest */
    uint64_t rx_direct;    /* of those, read straight into its buffers */
    uint64_t rx_dropped;   /* from the peer, not delivered (no room, too
                              big, bad header, driver not ready) */
    uint64_t rx_nodriver;  /* of those, read while no driver ran */
    uint64_t tx_frames;    /* sent to the peer */
    uint64_t tx_dropped;   /* no peer, or a stuck peer could not take it */
    uint64_t tx_waits;     /* frames that waited for the peer (backpressure) */
    uint64_t tx_malformed; /* bad chain or header from the guest */
    uint64_t link_changes;
};

/* vnet_stats: a snapshot of a virtio-net device's counters. */
void vnet_stats(struct virtio_dev *d, struct vnet_stats *out);
/* vnet_link_up: whether the device reports its link up. */
bool vnet_link_up(struct virtio_dev *d);

/*
 * vnet_runtime_dir: the directory standing for QNX's /dev/qvm:
 * $QVM_RUNTIME_DIR when set, else /run/qvm when qvm may write there (root),
 * else $XDG_RUNTIME_DIR/qvm. -ENOENT when none applies.
 */
int vnet_runtime_dir(char *buf, size_t len) MUST_CHECK;

#endif

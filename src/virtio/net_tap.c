/*
 * net_tap.c: virtio-net's tap backend (docs/virtio-net.md, "The tap
 * backend"): `peer /dev/vdevpeers/NAME` (or the deprecated `tapdev NAME`)
 * is the Linux tap interface NAME, opened non-blocking with IFF_VNET_HDR
 * (12-byte header) and created when missing (that needs CAP_NET_ADMIN).
 * The tap's offloads (TUNSETOFFLOAD) follow what the guest accepted, so
 * the tap hands over only frames the guest can take.
 *
 * Context: as net_backend.h (the device's lock held).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/net_backend.h"

#define TAG "virtio-net"

struct tap {
    struct net_backend be; /* first */
    char name[IFNAMSIZ];
    unsigned tun_offload;
};

static struct tap *to_tap(struct net_backend *be)
{
    return (struct tap *)be;
}

static void tap_close(struct net_backend *be)
{
    if (be->fd >= 0)
        close(be->fd);
}

/* Attach fd to the tap `name`, created when missing; -1 when it cannot. */
static int tap_attach(const char *label, int fd, const char *name, bool existed)
{
    unsigned feats = 0;
    if (ioctl(fd, TUNGETFEATURES, &feats) == 0 && !(feats & IFF_VNET_HDR)) {
        log_fatal(TAG, "%s: tap %s: the kernel lacks IFF_VNET_HDR", label,
                  name);
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        const char *hint =
            e == EPERM    ? existed ? " (the tap belongs to another user)"
                                    : " (create it first: ip tuntap add NAME "
                                      "mode tap user USER; or give qvm "
                                      "CAP_NET_ADMIN)"
            : e == EBUSY  ? " (another process has it open)"
            : e == EINVAL ? " (it exists but is not a single-queue tap)"
                          : "";
        log_fatal(TAG, "%s: cannot attach to tap interface %s: %s%s", label,
                  name, strerror(e), hint);
        return -1;
    }
    int hsz = VIRTIO_NET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0 ||
        ioctl(fd, TUNSETOFFLOAD, 0u) < 0) {
        log_fatal(TAG, "%s: tap %s: %s", label, name, strerror(errno));
        return -1;
    }
    return 0;
}

static int tap_open(struct net_backend *be, const char *name,
                    const struct vdev_spec *vd, const struct dev_ctx *ctx)
{
    (void)vd, (void)ctx;
    struct tap *t = to_tap(be);
    const char *label = be->host->label;
    be->name = t->name;
    snprintf(t->name, sizeof(t->name), "%s", name);
    bool existed = if_nametoindex(name) != 0;
    be->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (be->fd < 0) {
        log_fatal(TAG, "%s: tap %s: cannot open /dev/net/tun: %s%s", label,
                  name, strerror(errno),
                  errno == ENOENT ? " (is the tun module loaded?)" : "");
        return -1;
    }
    if (tap_attach(label, be->fd, name, existed) < 0)
        return -1;
    if (!existed)
        log_info(TAG,
                 "%s: created tap interface %s (it goes away when qvm "
                 "exits; bring it up and address it with ip(8))",
                 label, name);
    return 0;
}

/* A frame longer than iov is cut, and read(2) on a tap then still returns
 * its whole length (tun_put_user), as the device expects. */
static ssize_t tap_recv(struct net_backend *be, const struct iovec *iov,
                        unsigned iovcnt)
{
    ssize_t r = readv(be->fd, iov, (int)iovcnt);
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    if (r == 0)
        be->host->st->rx_dropped++; /* a runt, as the device counts them */
    return r;
}

static ssize_t tap_send(struct net_backend *be, const struct iovec *iov,
                        unsigned iovcnt, size_t len)
{
    if (be->dead)
        return -EBADFD;
    ssize_t w = writev(be->fd, iov, (int)iovcnt);
    if (w == (ssize_t)len)
        return w;
    if (w < 0 && errno == EBADFD)
        be->host->failed(be->host->opaque, errno);
    else if (w < 0 && errno != EAGAIN && errno != ENOBUFS)
        log_guest(be->host->rl, LOG_WARN, TAG, "%s: tap %s refused a frame: %s",
                  be->host->label, be->name, strerror(errno));
    return w < 0 ? -errno : w;
}

static bool tap_carrier(const struct net_backend *be)
{
    (void)be;
    return true;
}

#define GUEST_BIT(b) (1ull << VIRTIO_NET_F_GUEST_##b)

/* TUNSETOFFLOAD: what the tap may hand us = what the guest accepted. */
static void tap_offloads(struct net_backend *be, uint64_t guest)
{
    struct tap *t = to_tap(be);
    if (be->dead)
        return;
    unsigned f = 0;
    if (guest & GUEST_BIT(CSUM)) {
        f |= TUN_F_CSUM;
        if (guest & GUEST_BIT(TSO4))
            f |= TUN_F_TSO4;
        if (guest & GUEST_BIT(TSO6))
            f |= TUN_F_TSO6;
        if (guest & GUEST_BIT(ECN))
            f |= TUN_F_TSO_ECN;
        if (guest & GUEST_BIT(UFO))
            f |= TUN_F_UFO;
    }
    if (f == t->tun_offload)
        return;
    if (ioctl(be->fd, TUNSETOFFLOAD, f) < 0) {
        log_warn(TAG, "%s: tap %s: TUNSETOFFLOAD 0x%x: %s", be->host->label,
                 t->name, f, strerror(errno));
        return;
    }
    t->tun_offload = f;
}

const struct net_backend_ops net_tap_ops = {
    .kind = "tap",
    .size = sizeof(struct tap),
    .open = tap_open,
    .recv = tap_recv,
    .send = tap_send,
    .carrier = tap_carrier,
    .offloads = tap_offloads,
    .close = tap_close,
};

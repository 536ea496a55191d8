/*
 * net.c: virtio-net (`vdev virtio-net`, virtio 1.2 section 5.1) with a
 * receive queue (0) and a transmit queue (1), VIRTIO_NET_F_MAC,
 * VIRTIO_NET_F_STATUS (link up while the backend can carry frames, with a
 * configuration interrupt when that changes), VIRTIO_NET_F_MRG_RXBUF, and
 * the checksum/segmentation offloads that `peerfeats` allows.
 *
 * Backends (docs/virtio-net.md):
 *   - `peer /dev/vdevpeers/NAME` (or the deprecated `tapdev NAME`): the
 *     Linux tap interface NAME, opened with IFF_VNET_HDR (12-byte header)
 *     and created when missing (that needs CAP_NET_ADMIN); the tap's
 *     offloads (TUNSETOFFLOAD) follow what the guest accepted;
 *   - `peer /dev/qvm/SYSTEM/NAME`: the virtio-net named NAME in the qvm
 *     whose `system` is SYSTEM. Each end binds an AF_UNIX datagram socket
 *     at RUNDIR/<its system>/<its name> (RUNDIR: vnet_runtime_dir) and
 *     connects it to the other end's, so frames (12-byte virtio_net_hdr_v1
 *     + frame, one datagram each) flow only between the two, and the
 *     kernel bounds what is in flight by the sender's send buffer. A
 *     1-byte 'H' datagram says hello (sent on connect and every second as
 *     a keepalive), 'B' says goodbye (at teardown). An end whose peer is
 *     absent keeps its link down, drops what its guest sends (counted) and
 *     retries once a second; either end may start first, and a restarted
 *     peer is found again within about a second.
 * A frame the backend cannot take at once is dropped, never queued here.
 *
 * Receive: the backend fd is read on the I/O event thread only while the
 * guest has a receive buffer (popped and kept in a small stash); without
 * one the fd is left idle until the guest kicks the receive queue, so
 * what waits is bounded by the kernel (tap queue, socket send buffer). A
 * frame needing more buffers than are posted waits (one frame) for them.
 * Frames a guest did not negotiate the offloads for are fixed (a partial
 * checksum is completed) or dropped (segmentation).
 * Transmit: on a kick, chains are gathered (header + at most
 * VIRTIO_NET_MAX_FRAME bytes) into a bounce buffer, checked against the
 * negotiated features and sent; every chain is returned with 0 written.
 *
 * Context: notify/activate/reset/config_* under d->lock (the core); the
 * backend and timer callbacks on the I/O event thread, taking d->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

#define TAG "virtio-net"

#define QUEUE_SIZE 256
#define RX_STASH   64  /* receive chains held for one frame (mergeable) */
#define RX_BUDGET  64  /* frames per event callback */
#define TX_BUDGET  256 /* chains per kick before yielding */
#define ETH_HDR    14
#define BUF_LEN    (VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)
#define RETRY_MS   1000 /* peer: reconnect and keepalive period */
#define SNDBUF     (1 << 20)

#define MSG_HELLO 'H'
#define MSG_BYE   'B'

#define BIT(b) (1ull << (b))

enum backend { BE_NONE, BE_TAP, BE_PEER };

struct vnet {
    struct virtio_dev d;
    char label[64];
    uint8_t mac[6];
    uint64_t offloads; /* the offload bits offered (from peerfeats) */

    enum backend be;
    int fd;       /* tap fd or socket; -1 without a backend */
    int timer_fd; /* peer: retry/keepalive timer */
    bool be_dead; /* the fd failed for good (the tap was deleted) */
    bool reading; /* fd watched for EPOLLIN */
    char tap[IFNAMSIZ];
    struct sockaddr_un self, peer;
    char self_dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t self_dev;
    ino_t self_ino;
    bool bound, connected;
    uint64_t last_try_ms;

    bool active; /* DRIVER_OK and not reset */
    bool link_up;
    unsigned hdr_len; /* the driver's header: 12, or 10 (legacy) */
    unsigned tun_offload;

    uint8_t *rxbuf; /* a frame read from the backend: 12-byte hdr + frame */
    size_t rx_len;  /* 0: none pending */
    struct vq_elem *stash;
    unsigned stash_head, stash_n;
    uint8_t *txbuf;
    struct vq_elem txe;

    struct vnet_stats st;
    struct log_budget rl, link_rl, drop_rl;
};

static struct vnet *to_vnet(struct virtio_dev *d)
{
    return d->priv;
}

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- offloads -------------------------------------------------------- */

/* The offloads of `peerfeats`, minus any whose prerequisite is missing
 * (5.1.3.1: a device offers no feature without the ones it requires). */
static uint64_t offloads_from(uint64_t peerfeats)
{
    uint64_t f = peerfeats & VIRTIO_NET_OFFLOADS;
    if (!(f & BIT(VIRTIO_NET_F_CSUM)))
        f &= ~(BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
               BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_HOST_UFO));
    if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
        f &= ~(BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
               BIT(VIRTIO_NET_F_GUEST_ECN) | BIT(VIRTIO_NET_F_GUEST_UFO));
    if (!(f & (BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6))))
        f &= ~BIT(VIRTIO_NET_F_HOST_ECN);
    if (!(f & (BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6))))
        f &= ~BIT(VIRTIO_NET_F_GUEST_ECN);
    return f;
}

/* Does a segmentation type fit the features (guest: the GUEST_ bits,
 * host: the HOST_ bits, 4 positions higher)? */
static bool gso_allowed(const struct virtio_dev *d, uint8_t gso, bool host)
{
    unsigned sh = host ? 4 : 0;
    uint8_t t = gso & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    unsigned need;
    switch (t) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return gso == VIRTIO_NET_HDR_GSO_NONE;
    case VIRTIO_NET_HDR_GSO_TCPV4:
        need = VIRTIO_NET_F_GUEST_TSO4;
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        need = VIRTIO_NET_F_GUEST_TSO6;
        break;
    case VIRTIO_NET_HDR_GSO_UDP:
        need = VIRTIO_NET_F_GUEST_UFO;
        break;
    default:
        return false;
    }
    if (!virtio_has(d, need + sh))
        return false;
    return !(gso & VIRTIO_NET_HDR_GSO_ECN) ||
           virtio_has(d, VIRTIO_NET_F_GUEST_ECN + sh);
}

/* Complete a partial checksum (the field holds the pseudo-header sum). */
static void csum_complete(uint8_t *f, size_t len, size_t start, size_t off)
{
    uint64_t sum = 0;
    size_t i = start;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)(f[i] << 8 | f[i + 1]);
    if (i < len)
        sum += (uint32_t)f[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    if (!c)
        c = 0xffff; /* as Linux: 0 means "no checksum" to UDP */
    f[start + off] = (uint8_t)(c >> 8);
    f[start + off + 1] = (uint8_t)c;
}

/* ---- link state ------------------------------------------------------ */

static void set_link(struct vnet *n, bool up, const char *why)
{
    if (n->link_up == up)
        return;
    n->link_up = up;
    n->st.link_changes++;
    log_guest(&n->link_rl, LOG_INFO, TAG, "%s: link %s (%s)", n->label,
              up ? "up" : "down", why);
    if (n->active && virtio_has(&n->d, VIRTIO_NET_F_STATUS))
        virtio_config_changed(&n->d);
}

/* ---- the qvm-to-qvm peer --------------------------------------------- */

static void peer_hello(struct vnet *n, char what)
{
    ssize_t w = send(n->fd, &what, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w; /* a lost hello is repeated by the timer */
}

static void peer_lost(struct vnet *n, const char *why)
{
    struct sockaddr sa = {.sa_family = AF_UNSPEC};
    if (connect(n->fd, &sa, sizeof(sa)) < 0 && errno != EINVAL)
        log_debug(TAG, "%s: disconnect: %s", n->label, strerror(errno));
    n->connected = false;
    set_link(n, false, why);
}

/* Connect to the peer's socket if it is there; caller holds the lock. */
static void peer_try_connect(struct vnet *n)
{
    n->last_try_ms = now_ms();
    if (connect(n->fd, (struct sockaddr *)&n->peer, sizeof(n->peer)) < 0) {
        /* ENOENT/ECONNREFUSED: absent; EPERM: it still talks to a former
         * us and finds out at its next keepalive. */
        if (errno != ENOENT && errno != ECONNREFUSED && errno != EPERM)
            log_guest(&n->rl, LOG_WARN, TAG, "%s: cannot reach peer %s: %s",
                      n->label, n->peer.sun_path, strerror(errno));
        return;
    }
    n->connected = true;
    peer_hello(n, MSG_HELLO);
    set_link(n, true, "peer connected");
}

static void timer_event(void *opaque, int fd, uint32_t events)
{
    struct vnet *n = opaque;
    (void)events;
    uint64_t ticks;
    if (read(fd, &ticks, sizeof(ticks)) < 0)
        return;
    pthread_mutex_lock(&n->d.lock);
    if (n->connected) {
        char h = MSG_HELLO;
        if (send(n->fd, &h, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
            (errno == ECONNREFUSED || errno == ENOTCONN))
            peer_lost(n, "peer gone");
    }
    if (!n->connected)
        peer_try_connect(n);
    pthread_mutex_unlock(&n->d.lock);
}

/* The directory for RUNDIR/SYSTEM (made if missing). */
static int make_dirs(const char *path)
{
    char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = c;
        if (!c)
            return 0;
    }
}

/*
 * RUNDIR and RUNDIR/SYSTEM must be ours alone: whoever may write there can
 * take a peer's place. Owned by our effective uid and not writable by the
 * group or others; else -1 with a message naming the directory and what is
 * wrong with it.
 */
static int check_dir(const char *label, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        log_fatal(TAG, "%s: runtime directory %s: %s", label, path,
                  strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_fatal(TAG, "%s: runtime directory %s is not a directory", label,
                  path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        log_fatal(TAG,
                  "%s: runtime directory %s belongs to uid %u, not to this "
                  "user (uid %u); set QVM_RUNTIME_DIR to a directory of "
                  "your own",
                  label, path, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        log_fatal(TAG,
                  "%s: runtime directory %s is writable by its group or "
                  "others (mode %04o): anyone could pose as a peer; make it "
                  "0700",
                  label, path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

static bool path_component_ok(const char *s)
{
    return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 &&
           strcmp(s, "..") != 0;
}

static int set_addr(struct sockaddr_un *a, const char *dir, const char *sys,
                    const char *name)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    int k =
        snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s/%s", dir, sys, name);
    return k > 0 && (size_t)k < sizeof(a->sun_path) ? 0 : -ENAMETOOLONG;
}

/* Bind our endpoint, replacing a stale socket file; refuse a live one. */
static int peer_bind(struct vnet *n)
{
    const char *path = n->self.sun_path;
    for (int attempt = 0;; attempt++) {
        if (bind(n->fd, (struct sockaddr *)&n->self, sizeof(n->self)) == 0)
            break;
        int e = errno;
        struct stat st;
        if (e != EADDRINUSE || attempt > 0 || lstat(path, &st) < 0) {
            log_fatal(TAG, "%s: cannot create endpoint %s: %s", n->label, path,
                      strerror(e));
            return -1;
        }
        if (!S_ISSOCK(st.st_mode)) {
            log_fatal(TAG, "%s: %s exists and is not a socket", n->label, path);
            return -1;
        }
        int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int r = probe < 0 ? -1
                          : connect(probe, (struct sockaddr *)&n->self,
                                    sizeof(n->self));
        e = errno;
        if (probe >= 0)
            close(probe);
        if (r == 0 || e == EPERM) {
            log_fatal(TAG,
                      "%s: %s is in use by another running qvm (two vdevs "
                      "with the same system and name)",
                      n->label, path);
            return -1;
        }
        if (e != ECONNREFUSED || unlink(path) < 0) {
            log_fatal(TAG, "%s: cannot replace stale endpoint %s: %s", n->label,
                      path, strerror(errno));
            return -1;
        }
        log_debug(TAG, "%s: replaced stale endpoint %s", n->label, path);
    }
    /* Only this user (and root) may send to it. The directory is already
     * 0700, so the moment before the chmod gives nobody else a way in. */
    if (chmod(path, 0600) < 0) {
        log_fatal(TAG, "%s: chmod %s: %s", n->label, path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        n->self_dev = st.st_dev;
        n->self_ino = st.st_ino;
    }
    n->bound = true;
    return 0;
}

static int peer_open(struct vnet *n, const struct vdev_spec *vd,
                     const struct dev_ctx *ctx, const char *peer)
{
    /* peer is /dev/qvm/SYSTEM/NAME (checked by the front end). */
    char psys[128], pname[128];
    const char *s = peer + 9, *sl = strchr(s, '/');
    if (!sl || (size_t)(sl - s) >= sizeof(psys) ||
        strlen(sl + 1) >= sizeof(pname)) {
        log_fatal(TAG, "%s: peer '%s' must be /dev/qvm/SYSTEM/NAME", n->label,
                  peer);
        return -1;
    }
    memcpy(psys, s, (size_t)(sl - s));
    psys[sl - s] = '\0';
    snprintf(pname, sizeof(pname), "%s", sl + 1);
    if (!path_component_ok(psys) || !path_component_ok(pname)) {
        log_fatal(TAG, "%s: peer '%s' must be /dev/qvm/SYSTEM/NAME", n->label,
                  peer);
        return -1;
    }
    if (!vd->name || !ctx->system) {
        log_fatal(TAG,
                  "%s: peer %s needs this vdev's `name` and the VM's `system` "
                  "(the peer reaches this end as /dev/qvm/SYSTEM/NAME)",
                  n->label, peer);
        return -1;
    }
    if (!path_component_ok(vd->name) || !path_component_ok(ctx->system)) {
        log_fatal(TAG,
                  "%s: system '%s' and name '%s' must not contain '/' to "
                  "name a peer endpoint",
                  n->label, ctx->system, vd->name);
        return -1;
    }
    char dir[sizeof(n->self.sun_path)];
    int e = vnet_runtime_dir(dir, sizeof(dir));
    if (e < 0) {
        log_fatal(TAG,
                  "%s: no runtime directory for peer endpoints: set "
                  "QVM_RUNTIME_DIR or XDG_RUNTIME_DIR",
                  n->label);
        return -1;
    }
    if (set_addr(&n->self, dir, ctx->system, vd->name) < 0 ||
        set_addr(&n->peer, dir, psys, pname) < 0) {
        log_fatal(TAG, "%s: endpoint path under %s is too long for a socket",
                  n->label, dir);
        return -1;
    }
    memcpy(n->self_dir, n->self.sun_path, sizeof(n->self_dir));
    *strrchr(n->self_dir, '/') = '\0'; /* RUNDIR/SYSTEM */
    /* RUNDIR is checked before anything is made inside it. */
    const char *made = dir;
    e = make_dirs(dir);
    if (e == 0 && check_dir(n->label, dir) < 0)
        return -1;
    if (e == 0) {
        made = n->self_dir;
        e = make_dirs(n->self_dir);
    }
    if (e < 0) {
        log_fatal(TAG, "%s: cannot create %s: %s", n->label, made,
                  strerror(-e));
        return -1;
    }
    if (check_dir(n->label, n->self_dir) < 0)
        return -1;
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (n->fd < 0) {
        log_fatal(TAG, "%s: socket: %s", n->label, strerror(errno));
        return -1;
    }
    int sz = SNDBUF, on = 1;
    (void)setsockopt(n->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    /* Every datagram then carries its sender's credentials (be_recv). */
    if (setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
        log_fatal(TAG, "%s: SO_PASSCRED: %s", n->label, strerror(errno));
        return -1;
    }
    if (peer_bind(n) < 0)
        return -1;
    n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {
        .it_interval = {.tv_sec = RETRY_MS / 1000,
                        .tv_nsec = (RETRY_MS % 1000) * 1000000L},
        .it_value = {.tv_sec = RETRY_MS / 1000,
                     .tv_nsec = (RETRY_MS % 1000) * 1000000L},
    };
    if (n->timer_fd < 0 || timerfd_settime(n->timer_fd, 0, &its, NULL) < 0) {
        log_fatal(TAG, "%s: timerfd: %s", n->label, strerror(errno));
        return -1;
    }
    log_info(TAG, "%s: endpoint %s, peer %s", n->label, n->self.sun_path,
             n->peer.sun_path);
    peer_try_connect(n);
    return 0;
}

/* ---- the tap backend ------------------------------------------------- */

static int tap_open(struct vnet *n, const char *name)
{
    snprintf(n->tap, sizeof(n->tap), "%s", name);
    bool existed = if_nametoindex(name) != 0;
    n->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (n->fd < 0) {
        log_fatal(TAG, "%s: tap %s: cannot open /dev/net/tun: %s%s", n->label,
                  name, strerror(errno),
                  errno == ENOENT ? " (is the tun module loaded?)" : "");
        return -1;
    }
    unsigned feats = 0;
    if (ioctl(n->fd, TUNGETFEATURES, &feats) == 0 && !(feats & IFF_VNET_HDR)) {
        log_fatal(TAG, "%s: tap %s: the kernel lacks IFF_VNET_HDR", n->label,
                  name);
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(n->fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        const char *hint =
            e == EPERM    ? existed ? " (the tap belongs to another user)"
                                    : " (create it first: ip tuntap add NAME "
                                      "mode tap user USER; or give qvm "
                                      "CAP_NET_ADMIN)"
            : e == EBUSY  ? " (another process has it open)"
            : e == EINVAL ? " (it exists but is not a single-queue tap)"
                          : "";
        log_fatal(TAG, "%s: cannot attach to tap interface %s: %s%s", n->label,
                  name, strerror(e), hint);
        return -1;
    }
    int hsz = VIRTIO_NET_HDR_LEN;
    if (ioctl(n->fd, TUNSETVNETHDRSZ, &hsz) < 0 ||
        ioctl(n->fd, TUNSETOFFLOAD, 0u) < 0) {
        log_fatal(TAG, "%s: tap %s: %s", n->label, name, strerror(errno));
        return -1;
    }
    if (!existed)
        log_info(TAG,
                 "%s: created tap interface %s (it goes away when qvm "
                 "exits; bring it up and address it with ip(8))",
                 n->label, name);
    return 0;
}

/* TUNSETOFFLOAD: what the tap may hand us = what the guest accepted. */
static void tap_offloads(struct vnet *n, bool on)
{
    if (n->be != BE_TAP || n->be_dead)
        return;
    const struct virtio_dev *d = &n->d;
    unsigned f = 0;
    if (on && virtio_has(d, VIRTIO_NET_F_GUEST_CSUM)) {
        f |= TUN_F_CSUM;
        if (virtio_has(d, VIRTIO_NET_F_GUEST_TSO4))
            f |= TUN_F_TSO4;
        if (virtio_has(d, VIRTIO_NET_F_GUEST_TSO6))
            f |= TUN_F_TSO6;
        if (virtio_has(d, VIRTIO_NET_F_GUEST_ECN))
            f |= TUN_F_TSO_ECN;
        if (virtio_has(d, VIRTIO_NET_F_GUEST_UFO))
            f |= TUN_F_UFO;
    }
    if (f == n->tun_offload)
        return;
    if (ioctl(n->fd, TUNSETOFFLOAD, f) < 0) {
        log_warn(TAG, "%s: tap %s: TUNSETOFFLOAD 0x%x: %s", n->label, n->tap, f,
                 strerror(errno));
        return;
    }
    n->tun_offload = f;
}

/* ---- backend I/O ----------------------------------------------------- */

static void set_reading(struct vnet *n, bool on)
{
    on = on && !n->be_dead;
    if (n->fd < 0 || on == n->reading || !n->d.ctx || !n->d.ctx->ev)
        return;
    /* Idle: edge-triggered with no events, so an error wakes us once. */
    if (ev_mod(n->d.ctx->ev, n->fd, on ? EPOLLIN : EPOLLET) == 0)
        n->reading = on;
}

static void backend_failed(struct vnet *n, int err)
{
    log_error(TAG, "%s: %s %s failed: %s; the link stays down", n->label,
              n->be == BE_TAP ? "tap" : "peer socket",
              n->be == BE_TAP ? n->tap : n->self.sun_path, strerror(err));
    n->be_dead = true;
    set_reading(n, false);
    set_link(n, false, "backend failed");
}

/* File descriptors passed with SCM_RIGHTS: closed at once. */
static void close_rights(struct cmsghdr *c)
{
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
        close(fd);
    }
}

/*
 * A receive error. Only a backend that is gone (the tap deleted, the
 * socket unusable) takes the link down for good; anything else (ENOBUFS or
 * ENOMEM under memory pressure, a pending socket error such as
 * ECONNREFUSED, a tap whose interface is down) is transient: logged,
 * rate-limited, and reading goes on.
 */
static void rx_error(struct vnet *n, int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK)
        return;
    if (e == EBADF || e == EBADFD || e == ENODEV || e == ENXIO || e == EFAULT ||
        e == EINVAL || e == ENOTSOCK) {
        backend_failed(n, e);
        return;
    }
    n->st.rx_dropped++;
    log_guest(&n->rl, LOG_WARN, TAG, "%s: receive: %s (transient)", n->label,
              strerror(e));
}

/*
 * Read one frame into rxbuf. >0: its length (header included); 0: nothing
 * for the guest (control message, runt, stranger); <0: -errno (-EAGAIN:
 * nothing more now).
 */
static ssize_t be_recv(struct vnet *n)
{
    if (n->be == BE_NONE || n->be_dead)
        return -EAGAIN;
    ssize_t r;
    if (n->be == BE_TAP) {
        r = read(n->fd, n->rxbuf, BUF_LEN);
        if (r < 0)
            return errno == EINTR ? 0 : -errno;
    } else {
        struct sockaddr_un from;
        memset(&from, 0, sizeof(from));
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(struct ucred))];
        } cm;
        struct iovec iov = {n->rxbuf, BUF_LEN};
        struct msghdr mh = {.msg_name = &from,
                            .msg_namelen = sizeof(from),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cm.buf,
                            .msg_controllen = sizeof(cm.buf)};
        r = recvmsg(n->fd, &mh, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (r < 0)
            return errno == EINTR || errno == ECONNRESET ? 0 : -errno;
        size_t pl =
            mh.msg_namelen > offsetof(struct sockaddr_un, sun_path)
                ? mh.msg_namelen - offsetof(struct sockaddr_un, sun_path)
                : 0;
        pl = strnlen(from.sun_path, MIN(pl, sizeof(from.sun_path)));
        const struct ucred *cred = NULL;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET &&
                c->cmsg_type == SCM_CREDENTIALS &&
                c->cmsg_len >= CMSG_LEN(sizeof(struct ucred)))
                cred = (const struct ucred *)(void *)CMSG_DATA(c);
            else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                close_rights(c); /* never wanted: do not leak them */
        uid_t uid = cred ? cred->uid : (uid_t)-1;
        bool from_peer = pl == strlen(n->peer.sun_path) &&
                         memcmp(from.sun_path, n->peer.sun_path, pl) == 0;
        if (!from_peer || (uid != geteuid() && uid != 0)) {
            n->st.rx_dropped++; /* not our peer */
            log_guest(&n->drop_rl, LOG_WARN, TAG,
                      "%s: datagram from %s (uid %d) dropped: only the "
                      "peer %s of this user may send",
                      n->label, pl ? from.sun_path : "an unnamed socket",
                      cred ? (int)cred->uid : -1, n->peer.sun_path);
            return 0;
        }
        /* The peer is there: connect back (at once on its hello). */
        if (!n->connected && ((r == 1 && n->rxbuf[0] == MSG_HELLO) ||
                              now_ms() - n->last_try_ms >= RETRY_MS))
            peer_try_connect(n);
        if (r < VIRTIO_NET_HDR_LEN) {
            if (r == 1 && n->rxbuf[0] == MSG_BYE && n->connected)
                peer_lost(n, "peer closed");
            return 0;
        }
    }
    if (r > (ssize_t)BUF_LEN || r < VIRTIO_NET_HDR_LEN + ETH_HDR) {
        n->st.rx_dropped++;
        return 0;
    }
    return r;
}

static void be_send(struct vnet *n, const uint8_t *buf, size_t len)
{
    ssize_t w;
    switch (n->be) {
    case BE_NONE:
        n->st.tx_dropped++;
        return;
    case BE_TAP:
        if (n->be_dead) {
            n->st.tx_dropped++;
            return;
        }
        w = write(n->fd, buf, len);
        if (w == (ssize_t)len) {
            n->st.tx_frames++;
            return;
        }
        n->st.tx_dropped++;
        if (w < 0 && errno == EBADFD)
            backend_failed(n, errno);
        else if (w < 0 && errno != EAGAIN && errno != ENOBUFS)
            log_guest(&n->rl, LOG_WARN, TAG, "%s: tap %s refused a frame: %s",
                      n->label, n->tap, strerror(errno));
        return;
    case BE_PEER:
        if (!n->connected && now_ms() - n->last_try_ms >= RETRY_MS)
            peer_try_connect(n);
        if (!n->connected) {
            n->st.tx_dropped++;
            return;
        }
        w = send(n->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == (ssize_t)len) {
            n->st.tx_frames++;
            return;
        }
        n->st.tx_dropped++;
        if (w < 0 && (errno == ECONNREFUSED || errno == ENOTCONN))
            peer_lost(n, "peer gone");
        else if (w < 0 && errno != EAGAIN && errno != ENOBUFS)
            log_guest(&n->rl, LOG_WARN, TAG, "%s: sending to peer %s: %s",
                      n->label, n->peer.sun_path, strerror(errno));
        return;
    }
}

/* ---- receive --------------------------------------------------------- */

enum { RX_DONE, RX_WAIT, RX_BROKEN };

static struct vq_elem *stash_at(struct vnet *n, unsigned k)
{
    return &n->stash[(n->stash_head + k) % RX_STASH];
}

static void stash_consume(struct vnet *n, unsigned k)
{
    n->stash_head = (n->stash_head + k) % RX_STASH;
    n->stash_n -= k;
}

/* Pop one receive chain into the stash: 1, 0 (none posted), -1 broken. */
static int stash_pop(struct vnet *n)
{
    struct virtqueue *vq = &n->d.vq[VIRTIO_NET_RXQ];
    if (n->stash_n >= RX_STASH)
        return 0;
    for (int tries = 0; tries < 2; tries++) {
        int r = vq_pop(vq, stash_at(n, n->stash_n));
        if (r > 0) {
            n->stash_n++;
            return 1;
        }
        if (r < 0) {
            virtio_needs_reset(&n->d, vq->error[0] ? vq->error
                                                   : "malformed receive ring");
            return -1;
        }
        if (!vq_enable_kicks(vq))
            return 0;
    }
    return 0;
}

/* Make the header fit what this guest negotiated; false: drop the frame. */
static bool rx_fix_header(struct vnet *n, uint8_t *hdr, uint8_t *frame,
                          size_t flen)
{
    const struct virtio_dev *d = &n->d;
    uint8_t flags =
        hdr[0] & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);
    if (!gso_allowed(d, hdr[1], false))
        return false;
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        size_t start = ld16(hdr + 6), off = ld16(hdr + 8);
        if (start + off + 2 > flen)
            return false;
        if (!virtio_has(d, VIRTIO_NET_F_GUEST_CSUM)) {
            if (hdr[1] != VIRTIO_NET_HDR_GSO_NONE)
                return false;
            csum_complete(frame, flen, start, off);
            flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
            st16(hdr + 6, 0);
            st16(hdr + 8, 0);
        }
    }
    if (!virtio_has(d, VIRTIO_NET_F_GUEST_CSUM))
        flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
    hdr[0] = flags;
    if (hdr[1] == VIRTIO_NET_HDR_GSO_NONE) {
        st16(hdr + 2, 0);
        st16(hdr + 4, 0);
    }
    return true;
}

/* Deliver the pending frame (rxbuf, rx_len) into the stashed chains. */
static int rx_deliver(struct vnet *n, unsigned *pushed)
{
    struct virtio_dev *d = &n->d;
    struct virtqueue *vq = &d->vq[VIRTIO_NET_RXQ];
    uint8_t *hdr = n->rxbuf, *frame = n->rxbuf + VIRTIO_NET_HDR_LEN;
    size_t flen = n->rx_len - VIRTIO_NET_HDR_LEN;
    if (!rx_fix_header(n, hdr, frame, flen)) {
        n->st.rx_dropped++;
        n->rx_len = 0;
        return RX_DONE;
    }
    bool mrg = virtio_has(d, VIRTIO_NET_F_MRG_RXBUF);
    size_t need = n->hdr_len + flen, have = 0;
    unsigned max = mrg ? RX_STASH : 1, k = 0;
    while (have < need && k < max) {
        if (k == n->stash_n) {
            int r = stash_pop(n);
            if (r < 0)
                return RX_BROKEN;
            if (r == 0)
                return RX_WAIT; /* the frame waits for more buffers */
        }
        have += stash_at(n, k)->in_len;
        k++;
    }
    if (stash_at(n, 0)->in_len < n->hdr_len) {
        /* A buffer that cannot even hold the header: give it back. */
        vq_push(vq, stash_at(n, 0), 0);
        stash_consume(n, 1);
        (*pushed)++;
        n->st.rx_dropped++;
        n->rx_len = 0;
        return RX_DONE;
    }
    if (have < need) {
        /* Too big for what this guest posts: drop it, keep the buffers. */
        n->st.rx_dropped++;
        n->rx_len = 0;
        return RX_DONE;
    }
    st16(hdr + 10, (uint16_t)(mrg ? k : 1));
    size_t done = 0;
    for (unsigned i = 0; i < k; i++) {
        const struct vq_elem *e = stash_at(n, i);
        size_t w = i == 0 ? vq_copy_to(e, 0, hdr, n->hdr_len) : 0;
        size_t c = vq_copy_to(e, w, frame + done, flen - done);
        done += c;
        vq_push(vq, e, (uint32_t)(w + c));
    }
    stash_consume(n, k);
    *pushed += k;
    n->st.rx_frames++;
    n->rx_len = 0;
    return RX_DONE;
}

/* Move frames from the backend to the guest; caller holds the lock. */
static void rx_run(struct vnet *n)
{
    struct virtio_dev *d = &n->d;
    unsigned pushed = 0;
    bool stop = false;
    for (unsigned i = 0; i < RX_BUDGET; i++) {
        if (!n->active || (virtio_get_status(d) & VIRTIO_STATUS_NEEDS_RESET)) {
            /* No driver: read and discard, so nothing stale piles up. */
            ssize_t r = be_recv(n);
            if (r > 0)
                n->st.rx_dropped++;
            if (r < 0) {
                rx_error(n, (int)-r);
                break;
            }
            continue;
        }
        if (!n->rx_len) {
            int c = n->stash_n ? 1 : stash_pop(n);
            if (c <= 0) {
                stop = true; /* resumed by the guest's receive kick */
                break;
            }
            ssize_t r = be_recv(n);
            if (r < 0) {
                rx_error(n, (int)-r);
                break;
            }
            if (r == 0)
                continue;
            n->rx_len = (size_t)r;
        }
        int res = rx_deliver(n, &pushed);
        if (res != RX_DONE) {
            stop = true;
            break;
        }
    }
    if (pushed)
        virtio_notify_used(d, VIRTIO_NET_RXQ);
    set_reading(n, !stop);
}

static void backend_event(void *opaque, int fd, uint32_t events)
{
    struct vnet *n = opaque;
    (void)fd, (void)events;
    pthread_mutex_lock(&n->d.lock);
    rx_run(n);
    pthread_mutex_unlock(&n->d.lock);
}

/* ---- transmit -------------------------------------------------------- */

static bool tx_header_ok(struct vnet *n, uint8_t *hdr, size_t flen)
{
    const struct virtio_dev *d = &n->d;
    hdr[0] &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
    st16(hdr + 10, 0);
    if (hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!virtio_has(d, VIRTIO_NET_F_CSUM) ||
            (size_t)ld16(hdr + 6) + ld16(hdr + 8) + 2 > flen)
            return false;
    }
    if (!gso_allowed(d, hdr[1], true))
        return false;
    if (hdr[1] != VIRTIO_NET_HDR_GSO_NONE && ld16(hdr + 4) == 0)
        return false; /* segmentation without a segment size */
    return true;
}

static void tx_one(struct vnet *n, const struct vq_elem *e)
{
    size_t hl = n->hdr_len;
    const char *bad = NULL;
    if (e->out_len < hl + ETH_HDR)
        bad = "shorter than a header and an Ethernet header";
    else if (e->out_len - hl > VIRTIO_NET_MAX_FRAME)
        bad = "frame too big";
    if (!bad) {
        size_t flen = e->out_len - hl;
        uint8_t *buf = n->txbuf;
        memset(buf, 0, VIRTIO_NET_HDR_LEN);
        if (vq_copy_from(e, 0, buf, hl) != hl ||
            vq_copy_from(e, hl, buf + VIRTIO_NET_HDR_LEN, flen) != flen)
            bad = "short chain";
        else if (!tx_header_ok(n, buf, flen))
            bad = "header asks for an offload not negotiated";
        else {
            be_send(n, buf, VIRTIO_NET_HDR_LEN + flen);
            return;
        }
    }
    n->st.tx_malformed++;
    log_guest(&n->rl, LOG_WARN, TAG,
              "%s: transmit chain of %zu bytes dropped: %s", n->label,
              e->out_len, bad);
}

static void tx_run(struct vnet *n)
{
    struct virtio_dev *d = &n->d;
    struct virtqueue *vq = &d->vq[VIRTIO_NET_TXQ];
    unsigned pushed = 0;
    for (unsigned budget = TX_BUDGET;;) {
        int r = vq_pop(vq, &n->txe);
        if (r < 0)
            break; /* broken: the core sets NEEDS_RESET */
        if (r == 0) {
            if (vq_enable_kicks(vq))
                continue;
            break;
        }
        tx_one(n, &n->txe);
        vq_push(vq, &n->txe, 0);
        pushed++;
        if (--budget == 0) {
            virtio_kick(d, VIRTIO_NET_TXQ); /* come back after the others */
            break;
        }
    }
    if (pushed)
        virtio_notify_used(d, VIRTIO_NET_TXQ);
}

/* ---- virtio_dev_ops -------------------------------------------------- */

static void vnet_config_read(struct virtio_dev *d, uint32_t off, void *buf,
                             uint32_t len)
{
    struct vnet *n = to_vnet(d);
    uint8_t cfg[VIRTIO_NET_CFG_LEN];
    memcpy(cfg + VIRTIO_NET_CFG_MAC, n->mac, 6);
    st16(cfg + VIRTIO_NET_CFG_STATUS, n->link_up ? VIRTIO_NET_S_LINK_UP : 0);
    st16(cfg + 8, 1); /* max_virtqueue_pairs (meaningful only with MQ) */
    if (off > sizeof(cfg) || len > sizeof(cfg) - off) {
        memset(buf, 0, len);
        return;
    }
    memcpy(buf, cfg + off, len);
}

/* Legacy drivers set the MAC by writing it (5.1.4.2, legacy interface). */
static void vnet_config_write(struct virtio_dev *d, uint32_t off,
                              const void *buf, uint32_t len)
{
    struct vnet *n = to_vnet(d);
    if (off < 6 && len <= 6 - off)
        memcpy(n->mac + off, buf, len);
}

static int vnet_activate(struct virtio_dev *d)
{
    struct vnet *n = to_vnet(d);
    n->hdr_len = virtio_has(d, VIRTIO_F_VERSION_1) ||
                         virtio_has(d, VIRTIO_NET_F_MRG_RXBUF)
                     ? VIRTIO_NET_HDR_LEN
                     : VIRTIO_NET_HDR_LEN_LEGACY;
    n->stash_n = 0;
    n->stash_head = 0;
    n->rx_len = 0;
    n->active = true;
    tap_offloads(n, true);
    set_reading(n, true);
    return 0;
}

static void vnet_notify(struct virtio_dev *d, unsigned q)
{
    struct vnet *n = to_vnet(d);
    if (!n->active)
        return;
    if (q == VIRTIO_NET_TXQ)
        tx_run(n);
    else if (q == VIRTIO_NET_RXQ)
        rx_run(n);
}

static void vnet_reset(struct virtio_dev *d)
{
    struct vnet *n = to_vnet(d);
    n->active = false;
    n->stash_n = 0;
    n->stash_head = 0;
    n->rx_len = 0;
    tap_offloads(n, false);
    set_reading(n, true); /* discard while no driver runs */
}

static void vnet_close(struct vnet *n)
{
    if (n->fd >= 0) {
        if (n->d.ctx && n->d.ctx->ev)
            (void)ev_del(n->d.ctx->ev, n->fd);
        if (n->be == BE_PEER && n->connected)
            peer_hello(n, MSG_BYE);
        close(n->fd);
        n->fd = -1;
    }
    if (n->timer_fd >= 0) {
        if (n->d.ctx && n->d.ctx->ev)
            (void)ev_del(n->d.ctx->ev, n->timer_fd);
        close(n->timer_fd);
        n->timer_fd = -1;
    }
    if (n->bound) {
        struct stat st;
        if (stat(n->self.sun_path, &st) == 0 && st.st_dev == n->self_dev &&
            st.st_ino == n->self_ino)
            unlink(n->self.sun_path);
        (void)rmdir(n->self_dir); /* when no other endpoint is left */
        n->bound = false;
    }
    free(n->rxbuf);
    free(n->txbuf);
    free(n->stash);
    n->rxbuf = n->txbuf = NULL;
    n->stash = NULL;
}

static void vnet_destroy(struct virtio_dev *d)
{
    struct vnet *n = to_vnet(d);
    vnet_close(n);
    free(n);
}

static const struct virtio_dev_ops vnet_ops = {
    .config_read = vnet_config_read,
    .config_write = vnet_config_write,
    .activate = vnet_activate,
    .notify = vnet_notify,
    .reset = vnet_reset,
    .destroy = vnet_destroy,
};

/* ---- construction ---------------------------------------------------- */

int vnet_runtime_dir(char *buf, size_t len)
{
    const char *e = getenv("QVM_RUNTIME_DIR");
    int k;
    if (e && *e)
        k = snprintf(buf, len, "%s", e);
    else if (access("/run/qvm", W_OK | X_OK) == 0 ||
             (access("/run/qvm", F_OK) < 0 && access("/run", W_OK | X_OK) == 0))
        k = snprintf(buf, len, "/run/qvm");
    else if ((e = getenv("XDG_RUNTIME_DIR")) && *e)
        k = snprintf(buf, len, "%s/qvm", e);
    else
        return -ENOENT;
    return k > 0 && (size_t)k < len ? 0 : -ENAMETOOLONG;
}

/* A locally administered unicast MAC from the system and vdev names (or
 * the vdev's place when it has no name): the same on every run. */
static void derive_mac(const struct vdev_spec *vd, const char *system,
                       uint8_t mac[6])
{
    char key[256];
    if (vd->name)
        snprintf(key, sizeof(key), "%s/%s", system ? system : "", vd->name);
    else if (vd->is_pci)
        snprintf(key, sizeof(key), "%s/pci:%x:%x.%x", system ? system : "",
                 vd->pci.bdf.bus, vd->pci.bdf.dev, vd->pci.bdf.fn);
    else
        snprintf(key, sizeof(key), "%s/mem:%llx", system ? system : "",
                 (unsigned long long)vd->loc.base);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * i));
    mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
}

void vnet_stats(struct virtio_dev *d, struct vnet_stats *out)
{
    struct vnet *n = to_vnet(d);
    pthread_mutex_lock(&d->lock);
    *out = n->st;
    pthread_mutex_unlock(&d->lock);
}

bool vnet_link_up(struct virtio_dev *d)
{
    struct vnet *n = to_vnet(d);
    pthread_mutex_lock(&d->lock);
    bool up = n->link_up;
    pthread_mutex_unlock(&d->lock);
    return up;
}

static int open_backend(struct vnet *n, const struct vdev_spec *vd,
                        const struct dev_ctx *ctx)
{
    const struct opt_val *peer = vdev_opt(vd, "peer");
    const struct opt_val *tapdev = vdev_opt(vd, "tapdev");
    if (peer && tapdev) {
        log_fatal(TAG, "%s: both `peer` and `tapdev` given; use only `peer`",
                  n->label);
        return -1;
    }
    if (tapdev) {
        if (!tapdev->text[0] || strlen(tapdev->text) >= IFNAMSIZ ||
            strchr(tapdev->text, '/')) {
            log_fatal(TAG, "%s: tapdev '%s' is not a tap interface name",
                      n->label, tapdev->text);
            return -1;
        }
        n->be = BE_TAP;
        return tap_open(n, tapdev->text);
    }
    if (!peer) {
        log_info(TAG, "%s: no `peer`: the link is down", n->label);
        return 0;
    }
    if (strncmp(peer->text, "/dev/vdevpeers/", 15) == 0) {
        const char *name = peer->text + 15;
        if (!*name || strlen(name) >= IFNAMSIZ || strchr(name, '/')) {
            log_fatal(TAG, "%s: '%s' does not name a tap interface", n->label,
                      peer->text);
            return -1;
        }
        n->be = BE_TAP;
        return tap_open(n, name);
    }
    if (strncmp(peer->text, "/dev/qvm/", 9) == 0) {
        n->be = BE_PEER;
        return peer_open(n, vd, ctx, peer->text);
    }
    log_fatal(TAG,
              "%s: peer '%s' must be /dev/vdevpeers/NAME or "
              "/dev/qvm/SYSTEM/NAME",
              n->label, peer->text);
    return -1;
}

int virtio_net_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct virtio_dev **out)
{
    *out = NULL;
    struct vnet *n = calloc(1, sizeof(*n));
    if (!n) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    n->fd = n->timer_fd = -1;
    n->rl = (struct log_budget)LOG_BUDGET_INIT(5, 10000);
    n->link_rl = (struct log_budget)LOG_BUDGET_INIT(10, 10000);
    n->drop_rl = (struct log_budget)LOG_BUDGET_INIT(5, 10000);
    snprintf(n->label, sizeof(n->label), "virtio-net%s%s", vd->name ? " " : "",
             vd->name ? vd->name : "");
    struct virtio_dev *d = &n->d;
    virtio_dev_init(d, ctx, n->label);
    d->ops = &vnet_ops;
    d->id = VIRTIO_ID_NET;
    d->config_len = VIRTIO_NET_CFG_LEN;
    d->nqueues = 2;
    d->vq[VIRTIO_NET_RXQ].max_size = QUEUE_SIZE;
    d->vq[VIRTIO_NET_RXQ].name = "net.rx";
    d->vq[VIRTIO_NET_TXQ].max_size = QUEUE_SIZE;
    d->vq[VIRTIO_NET_TXQ].name = "net.tx";
    for (unsigned q = 0; q < d->nqueues; q++)
        vq_reset(&d->vq[q]);
    d->priv = n;

    const struct opt_val *mac = vdev_opt(vd, "mac");
    if (mac)
        for (int i = 0; i < 6; i++)
            n->mac[i] = (uint8_t)(mac->num >> (40 - 8 * i));
    else
        derive_mac(vd, ctx ? ctx->system : NULL, n->mac);
    const struct opt_val *pf = vdev_opt(vd, "peerfeats");
    n->offloads = offloads_from(pf ? pf->num : 0);
    d->host_features = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
                       BIT(VIRTIO_NET_F_MRG_RXBUF) | n->offloads;
    n->hdr_len = VIRTIO_NET_HDR_LEN;

    n->rxbuf = malloc(BUF_LEN);
    n->txbuf = malloc(BUF_LEN);
    n->stash = calloc(RX_STASH, sizeof(*n->stash));
    if (!n->rxbuf || !n->txbuf || !n->stash) {
        log_fatal(TAG, "%s: out of memory", n->label);
        goto fail;
    }
    if (open_backend(n, vd, ctx) < 0)
        goto fail;
    if (n->be == BE_TAP)
        n->link_up = true;
    else if (n->be == BE_PEER)
        n->link_up = n->connected;
    if (n->fd >= 0 && ctx && ctx->ev) {
        int e = ev_add(ctx->ev, n->fd, EPOLLIN, backend_event, n);
        if (e == 0 && n->timer_fd >= 0)
            e = ev_add(ctx->ev, n->timer_fd, EPOLLIN, timer_event, n);
        if (e < 0) {
            log_fatal(TAG, "%s: cannot watch the backend: %s", n->label,
                      strerror(-e));
            goto fail;
        }
        n->reading = true;
    }
    *out = d;
    return 0;
fail:
    vnet_close(n);
    pthread_mutex_destroy(&d->lock);
    free(n);
    return -1;
}

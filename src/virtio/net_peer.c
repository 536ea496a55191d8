/*
 * net_peer.c: virtio-net's qvm-to-qvm backend (docs/virtio-net.md, "The
 * qvm-to-qvm backend"): `peer /dev/qvm/SYSTEM/NAME` is the virtio-net named
 * NAME in the qvm whose `system` is SYSTEM. Each end binds an AF_UNIX
 * datagram socket at RUNDIR/<its system>/<its name> (RUNDIR:
 * vnet_runtime_dir) and connects it to the other end's, so frames (12-byte
 * virtio_net_hdr_v1 + frame, one datagram each) flow only between the two,
 * and the kernel bounds what is in flight by the sender's send buffer. A
 * 1-byte 'H' datagram says hello (sent on connect and every second as a
 * keepalive), 'B' says goodbye (at close). An end whose peer is absent
 * keeps its link down and retries once a second; either end may start
 * first, and a restarted peer is found again within about a second.
 *
 * Whoever may write in RUNDIR could take a peer's place: RUNDIR and
 * RUNDIR/SYSTEM must be ours and not group/other writable, the socket is
 * 0600, and with SO_PASSCRED only datagrams from the peer's path and our
 * uid (or root) are taken.
 *
 * Context: as net_backend.h (the device's lock held).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/net_backend.h"

#define TAG "virtio-net"

#define RETRY_MS 1000 /* reconnect and keepalive period */
#define SNDBUF   (1 << 20)

#define MSG_HELLO 'H'
#define MSG_BYE   'B'

struct peer {
    struct net_backend be; /* first */
    const char *label;
    struct sockaddr_un self, peer;
    char self_dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t self_dev;
    ino_t self_ino;
    bool bound, connected;
    uint64_t last_try_ms;
    struct log_budget drop_rl; /* strangers' datagrams */
};

static struct peer *to_peer(struct net_backend *be)
{
    return (struct peer *)be;
}

static void set_link(struct peer *p, bool up, const char *why)
{
    p->be.host->link(p->be.host->opaque, up, why);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void peer_hello(struct peer *p, char what)
{
    ssize_t w = send(p->be.fd, &what, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w; /* a lost hello is repeated by the timer */
}

static void peer_lost(struct peer *p, const char *why)
{
    struct sockaddr sa = {.sa_family = AF_UNSPEC};
    if (connect(p->be.fd, &sa, sizeof(sa)) < 0 && errno != EINVAL)
        log_debug(TAG, "%s: disconnect: %s", p->label, strerror(errno));
    p->connected = false;
    set_link(p, false, why);
}

/* Connect to the peer's socket if it is there; caller holds the lock. */
static void peer_try_connect(struct peer *p)
{
    p->last_try_ms = now_ms();
    if (connect(p->be.fd, (struct sockaddr *)&p->peer, sizeof(p->peer)) < 0) {
        /* ENOENT/ECONNREFUSED: absent; EPERM: it still talks to a former
         * us and finds out at its next keepalive. */
        if (errno != ENOENT && errno != ECONNREFUSED && errno != EPERM)
            log_guest(p->be.host->rl, LOG_WARN, TAG,
                      "%s: cannot reach peer %s: %s", p->label,
                      p->peer.sun_path, strerror(errno));
        return;
    }
    p->connected = true;
    peer_hello(p, MSG_HELLO);
    set_link(p, true, "peer connected");
}

/* Every RETRY_MS: keepalive, or retry. */
static void peer_tick(struct net_backend *be)
{
    struct peer *p = to_peer(be);
    if (p->connected) {
        char h = MSG_HELLO;
        if (send(p->be.fd, &h, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
            (errno == ECONNREFUSED || errno == ENOTCONN))
            peer_lost(p, "peer gone");
    }
    if (!p->connected)
        peer_try_connect(p);
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
static int peer_bind(struct peer *p)
{
    const char *path = p->self.sun_path;
    for (int attempt = 0;; attempt++) {
        if (bind(p->be.fd, (struct sockaddr *)&p->self, sizeof(p->self)) == 0)
            break;
        int e = errno;
        struct stat st;
        if (e != EADDRINUSE || attempt > 0 || lstat(path, &st) < 0) {
            log_fatal(TAG, "%s: cannot create endpoint %s: %s", p->label, path,
                      strerror(e));
            return -1;
        }
        if (!S_ISSOCK(st.st_mode)) {
            log_fatal(TAG, "%s: %s exists and is not a socket", p->label, path);
            return -1;
        }
        int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int r = probe < 0 ? -1
                          : connect(probe, (struct sockaddr *)&p->self,
                                    sizeof(p->self));
        e = errno;
        if (probe >= 0)
            close(probe);
        if (r == 0 || e == EPERM) {
            log_fatal(TAG,
                      "%s: %s is in use by another running qvm (two vdevs "
                      "with the same system and name)",
                      p->label, path);
            return -1;
        }
        if (e != ECONNREFUSED || unlink(path) < 0) {
            log_fatal(TAG, "%s: cannot replace stale endpoint %s: %s", p->label,
                      path, strerror(errno));
            return -1;
        }
        log_debug(TAG, "%s: replaced stale endpoint %s", p->label, path);
    }
    /* Only this user (and root) may send to it. The directory is already
     * 0700, so the moment before the chmod gives nobody else a way in. */
    if (chmod(path, 0600) < 0) {
        log_fatal(TAG, "%s: chmod %s: %s", p->label, path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        p->self_dev = st.st_dev;
        p->self_ino = st.st_ino;
    }
    p->bound = true;
    return 0;
}

static int peer_setup(struct peer *p, const struct vdev_spec *vd,
                      const struct dev_ctx *ctx, const char *peer)
{
    /* peer is /dev/qvm/SYSTEM/NAME (checked by the front end). */
    char psys[128], pname[128];
    const char *s = peer + 9, *sl = strchr(s, '/');
    if (!sl || (size_t)(sl - s) >= sizeof(psys) ||
        strlen(sl + 1) >= sizeof(pname)) {
        log_fatal(TAG, "%s: peer '%s' must be /dev/qvm/SYSTEM/NAME", p->label,
                  peer);
        return -1;
    }
    memcpy(psys, s, (size_t)(sl - s));
    psys[sl - s] = '\0';
    snprintf(pname, sizeof(pname), "%s", sl + 1);
    if (!path_component_ok(psys) || !path_component_ok(pname)) {
        log_fatal(TAG, "%s: peer '%s' must be /dev/qvm/SYSTEM/NAME", p->label,
                  peer);
        return -1;
    }
    if (!vd->name || !ctx->system) {
        log_fatal(TAG,
                  "%s: peer %s needs this vdev's `name` and the VM's `system` "
                  "(the peer reaches this end as /dev/qvm/SYSTEM/NAME)",
                  p->label, peer);
        return -1;
    }
    if (!path_component_ok(vd->name) || !path_component_ok(ctx->system)) {
        log_fatal(TAG,
                  "%s: system '%s' and name '%s' must not contain '/' to "
                  "name a peer endpoint",
                  p->label, ctx->system, vd->name);
        return -1;
    }
    char dir[sizeof(p->self.sun_path)];
    int e = vnet_runtime_dir(dir, sizeof(dir));
    if (e < 0) {
        log_fatal(TAG,
                  "%s: no runtime directory for peer endpoints: set "
                  "QVM_RUNTIME_DIR or XDG_RUNTIME_DIR",
                  p->label);
        return -1;
    }
    if (set_addr(&p->self, dir, ctx->system, vd->name) < 0 ||
        set_addr(&p->peer, dir, psys, pname) < 0) {
        log_fatal(TAG, "%s: endpoint path under %s is too long for a socket",
                  p->label, dir);
        return -1;
    }
    memcpy(p->self_dir, p->self.sun_path, sizeof(p->self_dir));
    *strrchr(p->self_dir, '/') = '\0'; /* RUNDIR/SYSTEM */
    /* RUNDIR is checked before anything is made inside it. */
    const char *made = dir;
    e = make_dirs(dir);
    if (e == 0 && check_dir(p->label, dir) < 0)
        return -1;
    if (e == 0) {
        made = p->self_dir;
        e = make_dirs(p->self_dir);
    }
    if (e < 0) {
        log_fatal(TAG, "%s: cannot create %s: %s", p->label, made,
                  strerror(-e));
        return -1;
    }
    if (check_dir(p->label, p->self_dir) < 0)
        return -1;
    p->be.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->be.fd < 0) {
        log_fatal(TAG, "%s: socket: %s", p->label, strerror(errno));
        return -1;
    }
    int sz = SNDBUF, on = 1;
    (void)setsockopt(p->be.fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    /* Every datagram then carries its sender's credentials (be_recv). */
    if (setsockopt(p->be.fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
        log_fatal(TAG, "%s: SO_PASSCRED: %s", p->label, strerror(errno));
        return -1;
    }
    if (peer_bind(p) < 0)
        return -1;
    p->be.timer_fd =
        timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {
        .it_interval = {.tv_sec = RETRY_MS / 1000,
                        .tv_nsec = (RETRY_MS % 1000) * 1000000L},
        .it_value = {.tv_sec = RETRY_MS / 1000,
                     .tv_nsec = (RETRY_MS % 1000) * 1000000L},
    };
    if (p->be.timer_fd < 0 ||
        timerfd_settime(p->be.timer_fd, 0, &its, NULL) < 0) {
        log_fatal(TAG, "%s: timerfd: %s", p->label, strerror(errno));
        return -1;
    }
    log_info(TAG, "%s: endpoint %s, peer %s", p->label, p->self.sun_path,
             p->peer.sun_path);
    peer_try_connect(p);
    return 0;
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

static ssize_t peer_recv(struct net_backend *be, const struct iovec *iov,
                         unsigned iovcnt)
{
    const uint8_t *first = iov[0].iov_base;
    struct peer *p = to_peer(be);
    ssize_t r;
    struct sockaddr_un from;
    memset(&from, 0, sizeof(from));
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } cm;
    struct msghdr mh = {.msg_name = &from,
                        .msg_namelen = sizeof(from),
                        .msg_iov = (struct iovec *)(uintptr_t)iov,
                        .msg_iovlen = iovcnt,
                        .msg_control = cm.buf,
                        .msg_controllen = sizeof(cm.buf)};
    r = recvmsg(p->be.fd, &mh, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (r < 0)
        return errno == EINTR || errno == ECONNRESET ? 0 : -errno;
    size_t pl = mh.msg_namelen > offsetof(struct sockaddr_un, sun_path)
                    ? mh.msg_namelen - offsetof(struct sockaddr_un, sun_path)
                    : 0;
    pl = strnlen(from.sun_path, MIN(pl, sizeof(from.sun_path)));
    const struct ucred *cred = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct ucred)))
            cred = (const struct ucred *)(void *)CMSG_DATA(c);
        else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            close_rights(c); /* never wanted: do not leak them */
    uid_t uid = cred ? cred->uid : (uid_t)-1;
    bool from_peer = pl == strlen(p->peer.sun_path) &&
                     memcmp(from.sun_path, p->peer.sun_path, pl) == 0;
    if (!from_peer || (uid != geteuid() && uid != 0)) {
        p->be.host->st->rx_dropped++; /* not our peer */
        log_guest(&p->drop_rl, LOG_WARN, TAG,
                  "%s: datagram from %s (uid %d) dropped: only the "
                  "peer %s of this user may send",
                  p->label, pl ? from.sun_path : "an unnamed socket",
                  cred ? (int)cred->uid : -1, p->peer.sun_path);
        return 0;
    }
    /* The peer is there: connect back (at once on its hello). */
    if (!p->connected && ((r == 1 && first[0] == MSG_HELLO) ||
                          now_ms() - p->last_try_ms >= RETRY_MS))
        peer_try_connect(p);
    if (r < VIRTIO_NET_HDR_LEN) {
        if (r == 1 && first[0] == MSG_BYE && p->connected)
            peer_lost(p, "peer closed");
        return 0;
    }
    return r;
}

static ssize_t peer_send(struct net_backend *be, const struct iovec *iov,
                         unsigned iovcnt, size_t len)
{
    struct peer *p = to_peer(be);
    if (!p->connected && now_ms() - p->last_try_ms >= RETRY_MS)
        peer_try_connect(p);
    if (!p->connected)
        return -ENOTCONN;
    struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
                        .msg_iovlen = iovcnt};
    ssize_t w = sendmsg(be->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w == (ssize_t)len)
        return w;
    if (w < 0 && (errno == ECONNREFUSED || errno == ENOTCONN))
        peer_lost(p, "peer gone");
    else if (w < 0 && errno != EAGAIN && errno != ENOBUFS)
        log_guest(be->host->rl, LOG_WARN, TAG, "%s: sending to peer %s: %s",
                  p->label, p->peer.sun_path, strerror(errno));
    return w < 0 ? -errno : w;
}

static bool peer_carrier(const struct net_backend *be)
{
    return ((const struct peer *)be)->connected;
}

static void peer_close(struct net_backend *be)
{
    struct peer *p = to_peer(be);
    if (be->fd >= 0) {
        if (p->connected)
            peer_hello(p, MSG_BYE);
        close(be->fd);
    }
    if (be->timer_fd >= 0)
        close(be->timer_fd);
    if (p->bound) {
        struct stat st;
        if (stat(p->self.sun_path, &st) == 0 && st.st_dev == p->self_dev &&
            st.st_ino == p->self_ino)
            unlink(p->self.sun_path);
        (void)rmdir(p->self_dir); /* when no other endpoint is left */
    }
}

static int peer_open(struct net_backend *be, const char *target,
                     const struct vdev_spec *vd, const struct dev_ctx *ctx)
{
    struct peer *p = to_peer(be);
    be->name = p->self.sun_path;
    p->label = be->host->label;
    p->drop_rl = (struct log_budget)LOG_BUDGET_INIT(5, 10000);
    return peer_setup(p, vd, ctx, target);
}

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

const struct net_backend_ops net_peer_ops = {
    .kind = "peer socket",
    .size = sizeof(struct peer),
    .open = peer_open,
    .recv = peer_recv,
    .send = peer_send,
    .carrier = peer_carrier,
    .tick = peer_tick,
    .close = peer_close,
};

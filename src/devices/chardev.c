/*
 * chardev.c: the host end of character devices (see chardev.h): opening
 * the hostdev forms, the bounded non-blocking output buffer with its batch
 * timer, input pulled under the owner's flow control, and the teardown
 * that flushes output, restores the terminal and reaps the pipe command.
 *
 * An fd epoll reports nothing for (events 0) is still reported when it
 * hangs up or fails, at every epoll_wait while the condition lasts; so an
 * idle fd is left edge-triggered (EPOLLET): such a condition then wakes the
 * event thread once, not in a loop.
 *
 * Context: the owner's lock held (chardev.h); on_event on the event thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "devices/chardev.h"
#include "util/log.h"
#include "util/num.h"

#define OUT_CAP            (64u * 1024)
#define OUT_CHUNK          512u
#define BATCH_MAX          4096u /* a batch never holds more: flush at once */
#define FLUSH_MS           2000  /* teardown: how long a slow sink may take */
#define REAP_MS            5000  /* teardown: how long the command may take */
#define OUTPUT_CAP_DEFAULT (64ull << 20) /* bytes a file sink may receive */

struct chardev {
    struct chardev_params p;
    const struct dev_ctx *ctx;
    const struct vdev_spec *vd;

    int in_fd, out_fd; /* -1: none */
    bool close_in, close_out;
    bool in_poll;  /* in_fd is registered with the event loop */
    bool out_poll; /* out_fd is registered with the event loop */
    bool out_nb;   /* out_fd is ours and O_NONBLOCK */
    bool in_watch, out_watch;
    bool in_ready; /* inside the input callback: one read never blocks */
    bool in_eof, out_broken;
    bool out_blocked; /* a chardev_write was short: call output_room */
    bool held;        /* chardev_hold: the owner flushes */
    int pty_slave;    /* kept open so the master never sees a hang-up */
    pid_t child;      /* the `>|cmd` process, or 0 */

    bool delayed, opened, gave_up;
    uint64_t delay_s;
    struct timespec first_try, last_try;

    uint64_t batch_us;
    int timer_fd;
    uint8_t *obuf;
    size_t ohead, olen;
    uint64_t dropped;
    struct log_budget drop_rl;
    /* A regular-file sink takes at most out_cap bytes (0: no cap), so a
     * guest cannot fill the host's disk; what comes after is dropped. */
    uint64_t file_cap; /* QVM_OUTPUT_CAP */
    uint64_t out_cap, out_total, over_cap;
    bool capped;
};

static void update_watch(struct chardev *c);

/* ---- output ---- */

static void out_fail(struct chardev *c, const char *why)
{
    log_error(c->p.tag,
              "hostdev output failed (%s); further output is discarded", why);
    c->out_broken = true;
    c->olen = 0;
}

static int ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
                   (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? (int)ms : 0;
}

static void deadline_in(struct timespec *d, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, d);
    d->tv_sec += ms / 1000;
    d->tv_nsec += (long)(ms % 1000) * 1000000;
    if (d->tv_nsec >= 1000000000L) {
        d->tv_sec++;
        d->tv_nsec -= 1000000000L;
    }
}

/*
 * Write what the sink takes without blocking (`budget_ms` > 0: wait up to
 * that long in all for a slow sink, at teardown).
 */
static void flush_out(struct chardev *c, int budget_ms)
{
    struct timespec deadline;
    deadline_in(&deadline, budget_ms);
    while (c->olen && !c->out_broken) {
        int wait_ms = budget_ms > 0 ? ms_left(&deadline) : 0;
        size_t n = MIN(c->olen, (size_t)(OUT_CAP - c->ohead));
        n = MIN(n, (size_t)OUT_CHUNK);
        if (c->out_poll && !c->out_nb) {
            /* A shared fd (stdout): never block the caller on it. */
            struct pollfd p = {.fd = c->out_fd, .events = POLLOUT};
            int r = poll(&p, 1, wait_ms);
            if (r < 0 && errno == EINTR)
                continue;
            if (r == 0)
                break;
        }
        ssize_t w = write(c->out_fd, c->obuf + c->ohead, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_ms <= 0)
                break;
            struct pollfd p = {.fd = c->out_fd, .events = POLLOUT};
            if (poll(&p, 1, wait_ms) <= 0)
                break;
            continue;
        }
        if (w <= 0) {
            out_fail(c, w < 0 ? strerror(errno) : "short write");
            break;
        }
        c->ohead = (c->ohead + (size_t)w) % OUT_CAP;
        c->olen -= (size_t)w;
    }
    if (!c->olen)
        c->ohead = 0;
    bool want = c->olen && c->out_poll && !c->out_broken;
    if (want != c->out_watch) {
        c->out_watch = want;
        update_watch(c);
    }
}

static void arm_batch(struct chardev *c)
{
    struct itimerspec it = {{0, 0},
                            {(time_t)(c->batch_us / 1000000),
                             (long)(c->batch_us % 1000000) * 1000}};
    if (timerfd_settime(c->timer_fd, 0, &it, NULL) < 0)
        flush_out(c, 0);
}

/* The sink reached its byte cap: said once, then output is dropped (the
 * guest does not wait for it). */
static void cap_reached(struct chardev *c)
{
    c->capped = true;
    log_warn(c->p.tag,
             "hostdev output reached its cap of %llu bytes "
             "(QVM_OUTPUT_CAP); further output is dropped",
             (unsigned long long)c->out_cap);
}

size_t chardev_write(struct chardev *c, const void *buf, size_t len)
{
    if (!c || c->out_fd < 0 || c->out_broken)
        return len;
    if (c->capped) {
        c->over_cap += len;
        return len;
    }
    size_t want = len;
    bool hits_cap = false;
    if (c->out_cap && c->out_cap - c->out_total <= len) {
        want = (size_t)(c->out_cap - c->out_total);
        hits_cap = true;
    }
    const uint8_t *b = buf;
    size_t done = 0;
    for (;;) {
        size_t n = MIN(want - done, (size_t)OUT_CAP - c->olen);
        if (!n)
            break;
        size_t tail = (c->ohead + c->olen) % OUT_CAP;
        size_t first = MIN(n, (size_t)OUT_CAP - tail);
        memcpy(c->obuf + tail, b + done, first);
        memcpy(c->obuf, b + done + first, n - first);
        c->olen += n;
        done += n;
        c->out_total += n;
        /* Held (chardev_hold): the owner flushes, up to BATCH_MAX. */
        if (c->olen >= BATCH_MAX || (!c->held && c->timer_fd < 0))
            flush_out(c, 0);
        else if (!c->held)
            arm_batch(c);
        if (c->out_broken)
            return len;
    }
    if (hits_cap && done == want) {
        cap_reached(c);
        c->over_cap += len - done;
        return len;
    }
    if (done < len)
        c->out_blocked = true;
    return done;
}

void chardev_hold(struct chardev *c, bool hold)
{
    if (!c)
        return;
    c->held = hold;
    if (!hold)
        chardev_flush(c);
}

void chardev_flush(struct chardev *c)
{
    if (c && c->olen && c->out_fd >= 0 && !c->out_broken && !c->out_watch)
        flush_out(c, 0);
}

void chardev_put(struct chardev *c, const void *buf, size_t len)
{
    bool waiting = c && c->out_blocked; /* a chardev_write's, not ours */
    size_t n = chardev_write(c, buf, len);
    if (n == len)
        return;
    c->out_blocked = waiting; /* nobody waits for the rest: dropped */
    c->dropped += len - n;
    log_guest(&c->drop_rl, LOG_WARN, c->p.tag,
              "hostdev output is too slow; %llu byte(s) of guest "
              "output dropped so far",
              (unsigned long long)c->dropped);
}

/* ---- input ---- */

ssize_t chardev_read(struct chardev *c, void *buf, size_t len)
{
    while (c && c->in_fd >= 0 && !c->in_eof) {
        if (!len || (c->in_poll && !c->in_ready))
            return 0;
        ssize_t n = read(c->in_fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->in_ready = false;
            return 0;
        }
        if (n <= 0) {
            if (n < 0 && errno != EIO)
                log_warn(c->p.tag, "hostdev input: %s; no more input",
                         strerror(errno));
            c->in_eof = true;
            chardev_want_input(c, false);
            break;
        }
        if (c->in_poll)
            c->in_ready = false; /* one read per readiness report */
        return n;
    }
    return -1;
}

void chardev_want_input(struct chardev *c, bool want)
{
    if (!c)
        return;
    want = want && c->in_fd >= 0 && c->in_poll && !c->in_eof;
    if (want != c->in_watch) {
        c->in_watch = want;
        update_watch(c);
    }
}

/* Idle: edge-triggered, so a hang-up or error is reported once. */
static uint32_t watch_bits(uint32_t events)
{
    return events ? events : EPOLLET;
}

static void update_watch(struct chardev *c)
{
    struct evloop *ev = c->ctx->ev;
    if (!ev)
        return;
    if (c->in_poll && c->in_fd == c->out_fd) {
        ev_mod(ev, c->in_fd,
               watch_bits((c->in_watch ? EPOLLIN : 0) |
                          (c->out_watch ? EPOLLOUT : 0)));
        return;
    }
    if (c->in_poll)
        ev_mod(ev, c->in_fd, watch_bits(c->in_watch ? EPOLLIN : 0));
    if (c->out_poll)
        ev_mod(ev, c->out_fd, watch_bits(c->out_watch ? EPOLLOUT : 0));
}

/* Event thread: input ready, output writable, or the batch timer. */
static void on_event(void *opaque, int fd, uint32_t events)
{
    struct chardev *c = opaque;
    pthread_mutex_lock(c->p.lock);
    if (fd == c->timer_fd) {
        uint64_t ticks;
        ssize_t r = read(fd, &ticks, sizeof(ticks));
        (void)r;
        flush_out(c, 0);
    } else {
        if (fd == c->in_fd && c->in_watch &&
            events & (EPOLLIN | EPOLLHUP | EPOLLERR) && c->p.input) {
            c->in_ready = true;
            c->p.input(c->p.opaque);
            c->in_ready = false;
        }
        if (fd == c->out_fd && events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            flush_out(c, 0);
    }
    if (c->out_blocked && (c->olen < OUT_CAP || c->out_broken)) {
        c->out_blocked = false;
        if (c->p.output_room)
            c->p.output_room(c->p.opaque);
    }
    pthread_mutex_unlock(c->p.lock);
}

/* ---- opening the hostdevs ---- */

static const char *span_file(const struct hostdev *h)
{
    return h->span.file ? h->span.file : "?";
}

static int spawn_pipe(struct chardev *c, const struct hostdev *h)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawnattr_init(&at);
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGQUIT);
    sigaddset(&dfl, SIGXFSZ); /* ignored by qvm (vm_run) */
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char sh[] = "sh", dash_c[] = "-c";
    char *argv[] = {sh, dash_c, h->path, NULL};
    extern char **environ;
    pid_t pid;
    int e = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[0]);
    if (e) {
        close(p[1]);
        return -e;
    }
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    c->child = pid;
    c->out_fd = p[1];
    c->close_out = true;
    c->out_nb = true;
    return 0;
}

static int open_pty(struct chardev *c)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return -errno;
    char name[64];
    if (grantpt(m) < 0 || unlockpt(m) < 0 ||
        ptsname_r(m, name, sizeof(name)) != 0) {
        int e = errno;
        close(m);
        return -e;
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int e = errno;
        close(m);
        return -e;
    }
    struct termios t;
    if (tcgetattr(s, &t) == 0) {
        cfmakeraw(&t); /* no echo of guest output back as input */
        tcsetattr(s, TCSANOW, &t);
    }
    fcntl(m, F_SETFL, O_NONBLOCK);
    c->pty_slave = s;
    c->in_fd = c->out_fd = m;
    c->close_in = c->close_out = true;
    c->out_nb = true;
    log_info(c->p.tag, "console on %s", name);
    return 0;
}

/*
 * Output to a path never follows a symbolic link to a file (a link planted
 * where the output goes must not make qvm overwrite its target): a link is
 * followed only to a device or FIFO, and then without O_CREAT or O_TRUNC.
 * A new file is created 0600 (guest output is nobody else's business).
 */
static int open_out_path(const char *path)
{
    int fl = O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd = open(path, fl | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    if (fd < 0 && (errno == EINVAL || errno == EACCES))
        fd = open(path, fl | O_CREAT | O_NOFOLLOW, 0600); /* devices, FIFOs */
    if (fd >= 0 || errno != ELOOP)
        return fd < 0 ? -errno : fd;
    fd = open(path, fl); /* a link: only to a device or a FIFO */
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
        close(fd);
        return -ELOOP;
    }
    return fd;
}

/* A path: regular files (or new ones) receive output; `<path` is input;
 * devices, FIFOs and sockets with no direction are both. */
static int open_path(struct chardev *c, const struct hostdev *h)
{
    if (h->dir == HOSTDEV_IN) {
        int fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return -errno;
        c->in_fd = fd;
        c->close_in = true;
        return 0;
    }
    struct stat st;
    bool both = h->dir == HOSTDEV_BOTH && stat(h->path, &st) == 0 &&
                !S_ISREG(st.st_mode);
    if (both) {
        int fd = open(h->path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return -errno;
        /* Replaced by a file since the stat: treated as an output file. */
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            close(fd);
        } else {
            c->in_fd = c->out_fd = fd;
            c->close_in = c->close_out = true;
            c->out_nb = true;
            return 0;
        }
    }
    int fd = open_out_path(h->path);
    if (fd < 0)
        return fd;
    c->out_fd = fd;
    c->close_out = true;
    c->out_nb = true;
    return 0;
}

/*
 * Guest output to qvm's stdout. A write to a blocking pipe or terminal
 * that is full (a stalled reader, ^S) would block the vCPU in the middle
 * of a UART access, with the device lock held. O_NONBLOCK cannot be set on
 * stdout itself (the open file description is shared with the shell and
 * whoever else writes there), so a pipe, FIFO or terminal is opened again
 * through /proc/self/fd/1: a description of our own, non-blocking. Files
 * keep fd 1 (a new description would start writing at offset 0; a file
 * never stalls); when the reopen fails (no /proc, a socket), flush_out
 * polls before each small write.
 */
static void use_stdout(struct chardev *c)
{
    c->out_fd = STDOUT_FILENO;
    struct stat st, st2;
    if (fstat(STDOUT_FILENO, &st) < 0 ||
        !(S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))
        return;
    int fd =
        open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return;
    if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev ||
        st2.st_ino != st.st_ino || st2.st_rdev != st.st_rdev) {
        close(fd);
        return;
    }
    c->out_fd = fd;
    c->close_out = true;
    c->out_nb = true;
}

/* Register the backend fds with the event loop (idle until wanted). */
static void watch_backend(struct chardev *c)
{
    struct stat st;
    if (c->out_fd >= 0 && fstat(c->out_fd, &st) == 0 && S_ISREG(st.st_mode))
        c->out_cap = c->file_cap;
    struct evloop *ev = c->ctx->ev;
    if (!ev)
        return;
    if (c->in_fd >= 0)
        c->in_poll = ev_add(ev, c->in_fd, EPOLLET, on_event, c) == 0;
    if (c->out_fd >= 0 && c->out_fd != c->in_fd)
        c->out_poll = ev_add(ev, c->out_fd, EPOLLET, on_event, c) == 0;
    else if (c->out_fd >= 0)
        c->out_poll = c->in_poll;
    if (c->batch_us && c->out_fd >= 0) {
        c->timer_fd =
            timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (c->timer_fd >= 0 &&
            ev_add(ev, c->timer_fd, EPOLLIN, on_event, c) < 0) {
            close(c->timer_fd);
            c->timer_fd = -1;
        }
    }
    if (c->in_fd == STDIN_FILENO && isatty(STDIN_FILENO))
        term_raw_stdin();
}

/* Open every hostdev (first input and first output win). -1 logged. */
static int open_backend(struct chardev *c, bool quiet)
{
    const struct vdev_spec *vd = c->vd;
    for (size_t i = 0; i < vd->hostdevs.n; i++) {
        const struct hostdev *h = &vd->hostdevs.v[i];
        bool want_in = h->dir != HOSTDEV_OUT && c->in_fd < 0;
        bool want_out = h->dir != HOSTDEV_IN && c->out_fd < 0;
        if (!want_in && !want_out) {
            log_warn(c->p.tag,
                     "%s:%u: hostdev %s: %s already has this direction "
                     "connected; ignored",
                     span_file(h), (unsigned)h->span.line, h->path, c->p.what);
            continue;
        }
        int e = 0;
        switch (h->kind) {
        case HOSTDEV_STDIO:
            if (want_in)
                c->in_fd = STDIN_FILENO;
            if (want_out)
                use_stdout(c);
            break;
        case HOSTDEV_PIPE:
            e = spawn_pipe(c, h);
            break;
        case HOSTDEV_PTY:
            if (c->in_fd >= 0 || c->out_fd >= 0) {
                log_warn(c->p.tag,
                         "%s:%u: hostdev pty: %s is already connected; "
                         "ignored",
                         span_file(h), (unsigned)h->span.line, c->p.what);
                continue;
            }
            e = open_pty(c);
            break;
        case HOSTDEV_PATH: {
            /* A plain path only for the direction still missing. */
            struct hostdev hh = *h;
            if (h->dir == HOSTDEV_BOTH && !(want_in && want_out))
                hh.dir = want_in ? HOSTDEV_IN : HOSTDEV_OUT;
            e = open_path(c, &hh);
            break;
        }
        default:
            log_warn(c->p.tag,
                     "%s:%u: this hostdev kind is not supported by %s; "
                     "ignored",
                     span_file(h), (unsigned)h->span.line, c->p.what);
            continue;
        }
        if (e < 0) {
            if (!quiet)
                log_fatal(c->p.tag, "%s:%u: cannot open hostdev %s: %s",
                          span_file(h), (unsigned)h->span.line, h->path,
                          e == -ELOOP ? "it is a symbolic link (qvm does "
                                        "not follow one to a file for "
                                        "output)"
                                      : strerror(-e));
            return -1;
        }
    }
    watch_backend(c);
    return 0;
}

static void close_backend(struct chardev *c)
{
    struct evloop *ev = c->ctx->ev;
    if (c->in_fd >= 0 && c->in_poll && ev)
        ev_del(ev, c->in_fd);
    if (c->out_fd >= 0 && c->out_poll && c->out_fd != c->in_fd && ev)
        ev_del(ev, c->out_fd);
    if (c->in_fd >= 0 && c->close_in)
        close(c->in_fd);
    if (c->out_fd >= 0 && c->close_out && c->out_fd != c->in_fd)
        close(c->out_fd);
    c->in_fd = c->out_fd = -1;
    c->in_poll = c->out_poll = false;
    c->in_watch = c->out_watch = false;
    c->close_in = c->close_out = false;
}

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* `delayed`: open on the guest's first access, retrying once a second. */
bool chardev_access(struct chardev *c)
{
    if (!c || c->opened || c->gave_up)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (c->first_try.tv_sec || c->first_try.tv_nsec) {
        if (since(&c->last_try, &now) < 1.0)
            return false;
    } else {
        c->first_try = now;
    }
    c->last_try = now;
    if (open_backend(c, true) == 0) {
        c->opened = true;
        return true;
    }
    close_backend(c);
    if (c->delay_s != UINT64_MAX && since(&c->first_try, &now) >= c->delay_s) {
        c->gave_up = true;
        log_error(c->p.tag,
                  "delayed hostdev could not be opened; %s stays "
                  "disconnected",
                  c->p.what);
    }
    return false;
}

/* QVM_OUTPUT_CAP: bytes (K/M/G suffixes), 0 for no cap. */
static int output_cap(const char *tag, uint64_t *cap)
{
    const char *s = getenv("QVM_OUTPUT_CAP");
    *cap = OUTPUT_CAP_DEFAULT;
    if (!s)
        return 0;
    enum num_err e = num_parse(s, true, cap);
    if (e != NUM_OK) {
        log_fatal(tag, "QVM_OUTPUT_CAP '%s' %s (a byte count; 0: no cap)", s,
                  num_strerror(e));
        return -1;
    }
    return 0;
}

int chardev_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                const struct chardev_params *p, struct chardev **out)
{
    *out = NULL;
    uint64_t file_cap;
    if (output_cap(p->tag, &file_cap) < 0)
        return -1;
    struct chardev *c = calloc(1, sizeof(*c));
    uint8_t *ob = malloc(OUT_CAP);
    if (!c || !ob) {
        free(c);
        free(ob);
        log_fatal(p->tag, "out of memory");
        return -1;
    }
    c->p = *p;
    c->ctx = ctx;
    c->vd = vd;
    c->obuf = ob;
    c->file_cap = file_cap;
    c->in_fd = c->out_fd = c->timer_fd = c->pty_slave = -1;
    c->drop_rl = (struct log_budget)LOG_BUDGET_INIT(1, 5000);
    const struct opt_val *o = vdev_opt(vd, "batch");
    if (o)
        c->batch_us = o->num;
    o = vdev_opt(vd, "delayed");
    if (o) {
        c->delayed = true;
        c->delay_s = o->num;
    }
    if (!c->delayed) {
        if (open_backend(c, false) < 0) {
            chardev_close(c);
            return -1;
        }
        c->opened = true;
    }
    *out = c;
    return 0;
}

/* The `>|command` saw EOF: give it time to finish its output, then end it. */
static void reap_child(struct chardev *c)
{
    int st;
    for (int i = 0; i < REAP_MS / 10; i++) {
        pid_t r = waitpid(c->child, &st, WNOHANG);
        if (r == c->child || (r < 0 && errno != EINTR))
            return;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    log_warn(c->p.tag, "hostdev command (pid %d) still running; terminating it",
             (int)c->child);
    kill(c->child, SIGTERM);
    waitpid(c->child, &st, 0);
}

void chardev_close(struct chardev *c)
{
    if (!c)
        return;
    if (c->out_fd >= 0)
        flush_out(c, FLUSH_MS);
    if (c->olen)
        c->dropped += c->olen;
    if (c->dropped)
        log_warn(c->p.tag,
                 "%llu byte(s) of guest output were dropped (slow "
                 "hostdev)",
                 (unsigned long long)c->dropped);
    if (c->over_cap)
        log_warn(c->p.tag,
                 "%llu byte(s) of guest output were dropped over the "
                 "output cap",
                 (unsigned long long)c->over_cap);
    if (c->out_fd >= 0 && c->close_out)
        fsync(c->out_fd); /* harmless on pipes/ttys; flush files */
    if (c->in_fd == STDIN_FILENO)
        term_restore();
    close_backend(c);
    if (c->timer_fd >= 0) {
        if (c->ctx->ev)
            ev_del(c->ctx->ev, c->timer_fd);
        close(c->timer_fd);
    }
    if (c->pty_slave >= 0)
        close(c->pty_slave);
    if (c->child > 0)
        reap_child(c);
    free(c->obuf);
    free(c);
}

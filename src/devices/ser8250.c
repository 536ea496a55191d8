/*
 * ser8250.c: a 16550A UART (`vdev ser8250`, qvm-reference.md 4.3) on the
 * port-I/O bus. Registers (offset, DLAB = LCR bit 7):
 *   0 RBR (read) / THR (write) / DLL (DLAB)   4 MCR (bit 4 loopback)
 *   1 IER / DLM (DLAB)                         5 LSR (DR OE .. THRE TEMT)
 *   2 IIR (read) / FCR (write)                 6 MSR (deltas clear on read)
 *   3 LCR                                      7 SCR
 * Receive: a 16-byte FIFO (1 byte with FIFOs off) with the FCR trigger
 * level. qvm delivers host input in bursts, so data below the trigger level
 * is reported at once as a character timeout (IIR 0xc) rather than after
 * four character times. Transmission is instantaneous (THRE and TEMT are
 * always set); the bytes go to a bounded output buffer that is written to
 * the host sink at once (or after `batch USEC` of quiet) and flushed at
 * teardown, so no guest output is lost when qvm exits. A sink that cannot
 * keep up loses bytes (counted, logged rate-limited) rather than memory.
 * Interrupts, in IIR priority order: line status (overrun, only in
 * loopback since host input is flow-controlled), received data / timeout,
 * THR empty, modem status; the first `intr` line is held high while one is
 * pending and enabled in IER (OUT2 does not gate it, as in QEMU).
 * Host input is read on the event thread only while the RX FIFO has room
 * (backpressure); regular files are read directly as the guest drains.
 *
 * Context: region ops on vCPU threads, backend callbacks on the event
 * thread; both under the device mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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

#include "devices/device.h"
#include "util/log.h"

#define TAG "ser8250"

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI  0x04
#define IER_EDSSI 0x08
#define IIR_MSI   0x00
#define IIR_NONE  0x01
#define IIR_THRE  0x02
#define IIR_RDA   0x04
#define IIR_RLS   0x06
#define IIR_CTI   0x0c
#define IIR_FIFO  0xc0
#define FCR_EN    0x01
#define LCR_DLAB  0x80
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_ERRS  0x1e
#define LSR_THRE  0x20
#define LSR_TEMT  0x40

#define RX_FIFO   16
#define OUT_CAP   (64u * 1024)
#define OUT_CHUNK 512u
#define FLUSH_MS  2000 /* teardown: how long a slow sink may take */

struct uart {
    pthread_mutex_t lock;
    const struct dev_ctx *ctx;
    const struct vdev_spec *vd;

    /* Backend. */
    int in_fd, out_fd; /* -1: none */
    bool close_in, close_out;
    bool in_poll;  /* in_fd is registered with the event loop */
    bool out_poll; /* out_fd is registered with the event loop */
    bool out_nb;   /* out_fd is ours and O_NONBLOCK */
    bool in_watch, out_watch;
    bool in_eof, out_broken;
    int pty_slave; /* kept open so the master never sees a hang-up */
    pid_t child;   /* the `>"|cmd"` process, or 0 */
    bool delayed, opened, gave_up;
    uint64_t delay_s;
    struct timespec first_try, last_try;
    uint64_t batch_us;
    int timer_fd;
    uint8_t *obuf;
    size_t ohead, olen;
    uint64_t dropped;
    struct ratelimit drop_rl;

    /* Registers. */
    bool has_irq, irq_level;
    uint32_t gsi;
    uint8_t rx[RX_FIFO];
    unsigned rx_head, rx_n;
    bool thre_pending;
    uint8_t ier, fcr, lcr, mcr, lsr_err, msr_delta, scr, dll, dlm;
};

static void update_watch(struct uart *u);

static unsigned rx_cap(const struct uart *u)
{
    return u->fcr & FCR_EN ? RX_FIFO : 1;
}

static unsigned rx_trigger(const struct uart *u)
{
    static const unsigned t[4] = {1, 4, 8, 14};
    return u->fcr & FCR_EN ? t[u->fcr >> 6] : 1;
}

/* Receive one byte; a full FIFO overruns (the byte is lost). */
static void rx_push(struct uart *u, uint8_t c)
{
    if (u->rx_n >= rx_cap(u)) {
        u->lsr_err |= LSR_OE;
        return;
    }
    u->rx[(u->rx_head + u->rx_n) % RX_FIFO] = c;
    u->rx_n++;
}

static uint8_t rx_pop(struct uart *u)
{
    if (!u->rx_n)
        return u->rx[(u->rx_head + RX_FIFO - 1) % RX_FIFO];
    uint8_t c = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % RX_FIFO;
    u->rx_n--;
    return c;
}

static uint8_t msr_status(const struct uart *u)
{
    if (!(u->mcr & MCR_LOOP))
        return 0xb0; /* DCD, DSR, CTS: a host end is always "there" */
    /* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
    uint8_t m = u->mcr;
    return (uint8_t)((m & 1) << 5 | (m & 2) << 3 | (m & 4) << 4 | (m & 8) << 4);
}

static uint8_t iir(const struct uart *u)
{
    uint8_t fifo = u->fcr & FCR_EN ? IIR_FIFO : 0;
    if (u->ier & IER_ELSI && u->lsr_err & LSR_ERRS)
        return fifo | IIR_RLS;
    if (u->ier & IER_ERBFI && u->rx_n)
        return fifo | (u->rx_n >= rx_trigger(u) ? IIR_RDA : IIR_CTI);
    if (u->ier & IER_ETBEI && u->thre_pending)
        return fifo | IIR_THRE;
    if (u->ier & IER_EDSSI && u->msr_delta)
        return fifo | IIR_MSI;
    return fifo | IIR_NONE;
}

/* Caller holds the lock. */
static void update_irq(struct uart *u)
{
    bool level = !(iir(u) & IIR_NONE);
    if (u->has_irq && level != u->irq_level)
        u->ctx->irq_set(u->ctx->opaque, u->gsi, level);
    u->irq_level = level;
}

/* ---- output ---- */

static void out_fail(struct uart *u, const char *why)
{
    log_error(TAG, "hostdev output failed (%s); further output is discarded",
              why);
    u->out_broken = true;
    u->olen = 0;
}

/*
 * Write what the sink takes without blocking (`budget_ms` > 0: wait up to
 * that long in all for a slow sink, at teardown). Caller holds the lock.
 */
static int ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
                   (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? (int)ms : 0;
}

static void flush_out(struct uart *u, int budget_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += budget_ms / 1000;
    deadline.tv_nsec += (long)(budget_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (u->olen && !u->out_broken) {
        int wait_ms = budget_ms > 0 ? ms_left(&deadline) : 0;
        size_t n = MIN(u->olen, (size_t)(OUT_CAP - u->ohead));
        n = MIN(n, (size_t)OUT_CHUNK);
        if (u->out_poll && !u->out_nb) {
            /* A shared fd (stdout): never block the caller on it. */
            struct pollfd p = {.fd = u->out_fd, .events = POLLOUT};
            int r = poll(&p, 1, wait_ms);
            if (r < 0 && errno == EINTR)
                continue;
            if (r == 0)
                break;
        }
        ssize_t w = write(u->out_fd, u->obuf + u->ohead, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_ms <= 0)
                break;
            struct pollfd p = {.fd = u->out_fd, .events = POLLOUT};
            if (poll(&p, 1, wait_ms) <= 0)
                break;
            continue;
        }
        if (w <= 0) {
            out_fail(u, w < 0 ? strerror(errno) : "short write");
            break;
        }
        u->ohead = (u->ohead + (size_t)w) % OUT_CAP;
        u->olen -= (size_t)w;
    }
    if (!u->olen)
        u->ohead = 0;
    bool want = u->olen && u->out_poll && !u->out_broken;
    if (want != u->out_watch) {
        u->out_watch = want;
        update_watch(u);
    }
}

static void arm_batch(struct uart *u)
{
    struct itimerspec it = {{0, 0},
                            {(time_t)(u->batch_us / 1000000),
                             (long)(u->batch_us % 1000000) * 1000}};
    if (timerfd_settime(u->timer_fd, 0, &it, NULL) < 0)
        flush_out(u, 0);
}

static void tx_byte(struct uart *u, uint8_t c)
{
    if (u->out_fd < 0 || u->out_broken)
        return;
    if (u->olen >= OUT_CAP) {
        u->dropped++;
        if (log_ratelimit(&u->drop_rl, TAG))
            log_warn(TAG,
                     "hostdev output is too slow; %llu byte(s) of guest "
                     "output dropped so far",
                     (unsigned long long)u->dropped);
        return;
    }
    u->obuf[(u->ohead + u->olen) % OUT_CAP] = c;
    u->olen++;
    if (u->timer_fd >= 0 && u->olen < 4096)
        arm_batch(u);
    else
        flush_out(u, 0);
}

/* ---- input ---- */

/*
 * Read host input while the FIFO has room: a pollable fd only when the
 * event loop reported it `ready` (a read never blocks), other fds (regular
 * files) at once. Then watch the fd only while there is room (backpressure).
 * Caller holds the lock.
 */
static void fill_rx(struct uart *u, bool ready)
{
    while (u->in_fd >= 0 && !u->in_eof && !(u->mcr & MCR_LOOP) &&
           (ready || !u->in_poll)) {
        unsigned room = rx_cap(u) - u->rx_n;
        if (!room)
            break;
        uint8_t buf[RX_FIFO];
        ssize_t n = read(u->in_fd, buf, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            if (n < 0 && errno != EIO)
                log_warn(TAG, "hostdev input: %s; no more input",
                         strerror(errno));
            u->in_eof = true;
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            rx_push(u, buf[i]);
        if (u->in_poll)
            break; /* one read per readiness report: never block */
    }
    bool want =
        u->in_poll && !u->in_eof && !(u->mcr & MCR_LOOP) && u->rx_n < rx_cap(u);
    if (want != u->in_watch) {
        u->in_watch = want;
        update_watch(u);
    }
}

static void update_watch(struct uart *u)
{
    struct evloop *ev = u->ctx->ev;
    if (!ev)
        return;
    if (u->in_poll && u->in_fd == u->out_fd) {
        ev_mod(ev, u->in_fd,
               (u->in_watch ? EPOLLIN : 0) | (u->out_watch ? EPOLLOUT : 0));
        return;
    }
    if (u->in_poll)
        ev_mod(ev, u->in_fd, u->in_watch ? EPOLLIN : 0);
    if (u->out_poll)
        ev_mod(ev, u->out_fd, u->out_watch ? EPOLLOUT : 0);
}

/* Event thread: input ready, output writable, or the batch timer. */
static void on_event(void *opaque, int fd, uint32_t events)
{
    struct uart *u = opaque;
    pthread_mutex_lock(&u->lock);
    if (fd == u->timer_fd) {
        uint64_t ticks;
        ssize_t r = read(fd, &ticks, sizeof(ticks));
        (void)r;
        flush_out(u, 0);
    } else {
        if (fd == u->in_fd && events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            fill_rx(u, true);
        if (fd == u->out_fd && events & (EPOLLOUT | EPOLLERR))
            flush_out(u, 0);
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

/* ---- backends ---- */

static const char *span_file(const struct hostdev *h)
{
    return h->span.file ? h->span.file : "?";
}

static int spawn_pipe(struct uart *u, const struct hostdev *h)
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
    u->child = pid;
    u->out_fd = p[1];
    u->close_out = true;
    u->out_nb = true;
    return 0;
}

static int open_pty(struct uart *u)
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
    u->pty_slave = s;
    u->in_fd = u->out_fd = m;
    u->close_in = u->close_out = true;
    u->out_nb = true;
    log_info(TAG, "console on %s", name);
    return 0;
}

/* A path: regular files (or new ones) receive output; `<path` is input;
 * devices, FIFOs and sockets with no direction are both. */
static int open_path(struct uart *u, const struct hostdev *h)
{
    if (h->dir == HOSTDEV_IN) {
        int fd = open(h->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return -errno;
        u->in_fd = fd;
        u->close_in = true;
        return 0;
    }
    struct stat st;
    bool both = h->dir == HOSTDEV_BOTH && stat(h->path, &st) == 0 &&
                !S_ISREG(st.st_mode);
    if (both) {
        int fd = open(h->path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return -errno;
        u->in_fd = u->out_fd = fd;
        u->close_in = u->close_out = true;
        u->out_nb = true;
        return 0;
    }
    int fl = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd = open(h->path, fl | O_TRUNC, 0666);
    if (fd < 0 && (errno == EINVAL || errno == EACCES))
        fd = open(h->path, fl, 0666); /* devices, FIFOs */
    if (fd < 0)
        return -errno;
    u->out_fd = fd;
    u->close_out = true;
    u->out_nb = true;
    return 0;
}

/* Register the backend fds with the event loop. */
static void watch_backend(struct uart *u)
{
    struct evloop *ev = u->ctx->ev;
    if (!ev)
        return;
    if (u->in_fd >= 0)
        u->in_poll = ev_add(ev, u->in_fd, 0, on_event, u) == 0;
    if (u->out_fd >= 0 && u->out_fd != u->in_fd)
        u->out_poll = ev_add(ev, u->out_fd, 0, on_event, u) == 0;
    else if (u->out_fd >= 0)
        u->out_poll = u->in_poll;
    if (u->batch_us && u->out_fd >= 0) {
        u->timer_fd =
            timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (u->timer_fd >= 0 &&
            ev_add(ev, u->timer_fd, EPOLLIN, on_event, u) < 0) {
            close(u->timer_fd);
            u->timer_fd = -1;
        }
    }
    if (u->in_fd == STDIN_FILENO && isatty(STDIN_FILENO))
        term_raw_stdin();
}

/* Open every hostdev (first input and first output win). -1 logged. */
static int open_backend(struct uart *u, bool quiet)
{
    const struct vdev_spec *vd = u->vd;
    for (size_t i = 0; i < vd->hostdevs.n; i++) {
        const struct hostdev *h = &vd->hostdevs.v[i];
        bool want_in = h->dir != HOSTDEV_OUT && u->in_fd < 0;
        bool want_out = h->dir != HOSTDEV_IN && u->out_fd < 0;
        if (!want_in && !want_out) {
            log_warn(TAG,
                     "%s:%u: hostdev %s: the UART already has this "
                     "direction connected; ignored",
                     span_file(h), (unsigned)h->span.line, h->path);
            continue;
        }
        int e = 0;
        switch (h->kind) {
        case HOSTDEV_STDIO:
            if (want_in && h->dir != HOSTDEV_OUT)
                u->in_fd = STDIN_FILENO;
            if (want_out && h->dir != HOSTDEV_IN)
                u->out_fd = STDOUT_FILENO;
            break;
        case HOSTDEV_PIPE:
            e = spawn_pipe(u, h);
            break;
        case HOSTDEV_PTY:
            if (u->in_fd >= 0 || u->out_fd >= 0) {
                log_warn(TAG,
                         "%s:%u: hostdev pty: the UART is already "
                         "connected; ignored",
                         span_file(h), (unsigned)h->span.line);
                continue;
            }
            e = open_pty(u);
            break;
        case HOSTDEV_PATH: {
            /* A plain path only for the direction still missing. */
            struct hostdev hh = *h;
            if (h->dir == HOSTDEV_BOTH && !(want_in && want_out))
                hh.dir = want_in ? HOSTDEV_IN : HOSTDEV_OUT;
            e = open_path(u, &hh);
            break;
        }
        default:
            log_warn(TAG,
                     "%s:%u: this hostdev kind is not supported by a "
                     "UART; ignored",
                     span_file(h), (unsigned)h->span.line);
            continue;
        }
        if (e < 0) {
            if (!quiet)
                log_fatal(TAG, "%s:%u: cannot open hostdev %s: %s",
                          span_file(h), (unsigned)h->span.line, h->path,
                          strerror(-e));
            return -1;
        }
    }
    watch_backend(u);
    fill_rx(u, false);
    return 0;
}

static void close_backend(struct uart *u)
{
    struct evloop *ev = u->ctx->ev;
    if (u->in_fd >= 0 && u->in_poll && ev)
        ev_del(ev, u->in_fd);
    if (u->out_fd >= 0 && u->out_poll && u->out_fd != u->in_fd && ev)
        ev_del(ev, u->out_fd);
    if (u->in_fd >= 0 && u->close_in)
        close(u->in_fd);
    if (u->out_fd >= 0 && u->close_out && u->out_fd != u->in_fd)
        close(u->out_fd);
    u->in_fd = u->out_fd = -1;
    u->in_poll = u->out_poll = false;
    u->close_in = u->close_out = false;
}

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* `delayed`: open on the guest's first access, retrying once a second. */
static void ensure_open(struct uart *u)
{
    if (u->opened || u->gave_up)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (u->first_try.tv_sec || u->first_try.tv_nsec) {
        if (since(&u->last_try, &now) < 1.0)
            return;
    } else {
        u->first_try = now;
    }
    u->last_try = now;
    if (open_backend(u, true) == 0) {
        u->opened = true;
        return;
    }
    close_backend(u);
    if (u->delay_s != UINT64_MAX && since(&u->first_try, &now) >= u->delay_s) {
        u->gave_up = true;
        log_error(TAG, "delayed hostdev could not be opened; the UART stays "
                       "disconnected");
    }
}

/* ---- registers ---- */

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
    struct uart *u = opaque;
    uint8_t v = 0xff;
    (void)size;
    pthread_mutex_lock(&u->lock);
    ensure_open(u);
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB) {
            v = u->dll;
        } else {
            v = rx_pop(u);
            fill_rx(u, false);
        }
        break;
    case 1:
        v = u->lcr & LCR_DLAB ? u->dlm : u->ier;
        break;
    case 2:
        v = iir(u);
        if ((v & 0x0f) == IIR_THRE)
            u->thre_pending = false; /* reading IIR clears THRE */
        break;
    case 3:
        v = u->lcr;
        break;
    case 4:
        v = u->mcr;
        break;
    case 5:
        v = (uint8_t)((u->rx_n ? LSR_DR : 0) | u->lsr_err | LSR_THRE |
                      LSR_TEMT);
        u->lsr_err = 0;
        break;
    case 6:
        v = msr_status(u) | u->msr_delta;
        u->msr_delta = 0;
        break;
    case 7:
        v = u->scr;
        break;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return v;
}

static void set_mcr(struct uart *u, uint8_t b)
{
    uint8_t old = msr_status(u);
    u->mcr = b & 0x1f;
    uint8_t now = msr_status(u), ch = old ^ now;
    u->msr_delta |=
        (uint8_t)((ch & 0x10 ? 1 : 0) | (ch & 0x20 ? 2 : 0) |
                  (old & 0x40 && !(now & 0x40) ? 4 : 0) | (ch & 0x80 ? 8 : 0));
    fill_rx(u, false); /* leaving loopback resumes host input */
}

static void uart_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct uart *u = opaque;
    uint8_t b = (uint8_t)val;
    (void)size;
    pthread_mutex_lock(&u->lock);
    ensure_open(u);
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB) {
            u->dll = b;
            break;
        }
        if (u->mcr & MCR_LOOP)
            rx_push(u, b);
        else
            tx_byte(u, b);
        u->thre_pending = true; /* sent at once: THR empty again */
        break;
    case 1:
        if (u->lcr & LCR_DLAB) {
            u->dlm = b;
        } else {
            /* Enabling ETBEI with THR empty raises THRE at once. */
            if (b & IER_ETBEI && !(u->ier & IER_ETBEI))
                u->thre_pending = true;
            u->ier = b & 0x0f;
        }
        break;
    case 2: {
        uint8_t nf = b & FCR_EN ? (uint8_t)(b & 0xc9) : 0;
        /* RX reset, or turning the FIFOs off, empties the receiver; turning
         * them on keeps a byte already in the holding register. */
        if (b & 2 || (u->fcr & FCR_EN && !(nf & FCR_EN)))
            u->rx_n = 0;
        u->fcr = nf;
        if (u->rx_n > rx_cap(u))
            u->rx_n = rx_cap(u);
        fill_rx(u, false);
        break;
    }
    case 3:
        u->lcr = b;
        break;
    case 4:
        set_mcr(u, b);
        break;
    case 7:
        u->scr = b;
        break;
    default: /* LSR, MSR: read-only */
        break;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

static const struct region_ops uart_ops = {uart_read, uart_write};

/* After the event thread stopped: flush, close, reap the pipe command. */
static void uart_teardown(void *state)
{
    struct uart *u = state;
    pthread_mutex_lock(&u->lock);
    if (u->out_fd >= 0 && u->obuf)
        flush_out(u, FLUSH_MS);
    if (u->olen)
        u->dropped += u->olen;
    if (u->dropped)
        log_warn(TAG,
                 "%llu byte(s) of guest output were dropped (slow "
                 "hostdev)",
                 (unsigned long long)u->dropped);
    if (u->out_fd >= 0 && u->close_out)
        fsync(u->out_fd); /* harmless on pipes/ttys; flush files */
    if (u->in_fd == STDIN_FILENO)
        term_restore();
    close_backend(u);
    if (u->timer_fd >= 0)
        close(u->timer_fd);
    if (u->pty_slave >= 0)
        close(u->pty_slave);
    if (u->child > 0) {
        /* The command saw EOF; give it time to finish its output. */
        int st;
        for (int i = 0; i < 500; i++) {
            pid_t r = waitpid(u->child, &st, WNOHANG);
            if (r == u->child || (r < 0 && errno != EINTR))
                break;
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (i == 499) {
                log_warn(TAG,
                         "hostdev command (pid %d) still running; "
                         "terminating it",
                         (int)u->child);
                kill(u->child, SIGTERM);
                waitpid(u->child, &st, 0);
            }
        }
    }
    pthread_mutex_unlock(&u->lock);
    pthread_mutex_destroy(&u->lock);
    free(u->obuf);
    free(u);
}

int ser8250_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                    struct dev_inst *inst)
{
    struct uart *u = calloc(1, sizeof(*u));
    uint8_t *ob = malloc(OUT_CAP);
    if (!u || !ob) {
        free(u);
        free(ob);
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&u->lock, NULL);
    u->ctx = ctx;
    u->vd = vd;
    u->obuf = ob;
    u->in_fd = u->out_fd = u->timer_fd = u->pty_slave = -1;
    u->drop_rl = (struct ratelimit)RATELIMIT_INIT(1, 5000);
    u->dll = 12; /* 9600 baud */
    u->lcr = 0x03;
    inst->state = u;
    inst->teardown = uart_teardown;
    const struct opt_val *o = vdev_opt(vd, "batch");
    if (o)
        u->batch_us = o->num;
    o = vdev_opt(vd, "delayed");
    if (o) {
        u->delayed = true;
        u->delay_s = o->num;
    }
    if (!u->delayed) {
        if (open_backend(u, false) < 0) {
            uart_teardown(u);
            return -1;
        }
        u->opened = true;
    }
    uint64_t base = 0x3f8, len = 8;
    if (vd->has_loc) {
        if (vd->loc.space != SPACE_IO) {
            log_fatal(TAG, "only io: locations are supported for ser8250");
            uart_teardown(u);
            return -1;
        }
        base = vd->loc.base;
        len = vd->loc.size ? vd->loc.size : 8;
    }
    if (vd->intrs.n) {
        u->has_irq = true;
        u->gsi = vd->intrs.v[0].line;
    }
    int e =
        bus_map(ctx->pio, "ser8250", base, MIN(len, (uint64_t)8), &uart_ops, u);
    if (e < 0) {
        log_fatal(TAG, "cannot map ser8250 at io 0x%llx: %s",
                  (unsigned long long)base, strerror(-e));
        uart_teardown(u);
        return -1;
    }
    return 0;
}

/*
 * ser8250.c: a 16550A UART (`vdev ser8250`, qvm-reference.md 4.3) on the
 * port-I/O bus. Registers (offset, DLAB = LCR bit 7):
 *   0 RBR (read) / THR (write) / DLL (DLAB)   4 MCR (loopback in bit 4)
 *   1 IER / DLM (DLAB)                         5 LSR (THRE|TEMT always)
 *   2 IIR (read) / FCR (write)                 6 MSR
 *   3 LCR                                      7 SCR
 * Transmission is instantaneous: each THR byte is written to the hostdev
 * output with write(2) at once, so no guest output is lost when qvm exits.
 * The THR-empty interrupt is raised on the first `intr` line.
 * Not yet implemented: input from the hostdev (RBR only sees loopback
 * bytes), receive/line-status/modem interrupts, `batch`, `delayed`,
 * `hostdev >|command` and `pty`.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/device.h"
#include "util/log.h"

#define TAG "ser8250"

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IIR_NONE  0x01
#define IIR_THRE  0x02
#define IIR_RDA   0x04
#define IIR_FIFO  0xc0
#define LCR_DLAB  0x80
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40

struct uart {
    pthread_mutex_t lock;
    const struct dev_ctx *ctx;
    int out_fd; /* -1: output discarded */
    bool close_out;
    bool out_broken;
    bool has_irq;
    uint32_t gsi;
    bool thre_pending; /* THR-empty interrupt condition */
    bool irq_level;
    uint8_t rbr, ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
};

static void out_byte(struct uart *u, uint8_t c)
{
    if (u->out_fd < 0 || u->out_broken)
        return;
    for (;;) {
        ssize_t w = write(u->out_fd, &c, 1);
        if (w == 1)
            return;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = u->out_fd, .events = POLLOUT};
            poll(&p, 1, 1000);
            continue;
        }
        log_error(TAG,
                  "hostdev output failed (%s); further output is "
                  "discarded",
                  w < 0 ? strerror(errno) : "short write");
        u->out_broken = true;
        return;
    }
}

/* Caller holds the lock. */
static void update_irq(struct uart *u)
{
    bool level = (u->ier & IER_ETBEI && u->thre_pending) ||
                 (u->ier & IER_ERBFI && u->lsr & LSR_DR);
    if (u->has_irq && level != u->irq_level)
        u->ctx->irq_set(u->ctx->opaque, u->gsi, level);
    u->irq_level = level;
}

static uint8_t iir(const struct uart *u)
{
    uint8_t fifo = u->fcr & 1 ? IIR_FIFO : 0;
    if (u->ier & IER_ERBFI && u->lsr & LSR_DR)
        return fifo | IIR_RDA;
    if (u->ier & IER_ETBEI && u->thre_pending)
        return fifo | IIR_THRE;
    return fifo | IIR_NONE;
}

static uint8_t msr(const struct uart *u)
{
    if (!(u->mcr & MCR_LOOP))
        return u->msr;
    /* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
    uint8_t m = u->mcr;
    return (uint8_t)((m & 1) << 5 | (m & 2) << 3 | (m & 4) << 4 | (m & 8) << 4);
}

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
    struct uart *u = opaque;
    uint8_t v = 0xff;
    (void)size;
    pthread_mutex_lock(&u->lock);
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB) {
            v = u->dll;
        } else {
            v = u->rbr;
            u->lsr &= (uint8_t)~LSR_DR;
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
        v = u->lsr | LSR_THRE | LSR_TEMT;
        break;
    case 6:
        v = msr(u);
        break;
    case 7:
        v = u->scr;
        break;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return v;
}

static void uart_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct uart *u = opaque;
    uint8_t b = (uint8_t)val;
    (void)size;
    pthread_mutex_lock(&u->lock);
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB) {
            u->dll = b;
        } else if (u->mcr & MCR_LOOP) {
            u->rbr = b;
            u->lsr |= LSR_DR;
            u->thre_pending = true;
        } else {
            out_byte(u, b);
            u->thre_pending = true;
        }
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
    case 2:
        u->fcr = b & 0xc9; /* FIFO enable, DMA mode, trigger level */
        if (b & 2) {       /* RX FIFO reset */
            u->lsr &= (uint8_t)~LSR_DR;
        }
        break;
    case 3:
        u->lcr = b;
        break;
    case 4:
        u->mcr = b & 0x1f;
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

static void uart_teardown(void *state)
{
    struct uart *u = state;
    if (u->out_fd >= 0) {
        if (u->close_out) {
            fsync(u->out_fd); /* harmless on pipes/ttys; flush files */
            close(u->out_fd);
        }
    }
    pthread_mutex_destroy(&u->lock);
    free(u);
}

/* Pick the output endpoint from the `hostdev` lines. */
static int open_output(struct uart *u, const struct vdev_spec *vd)
{
    for (size_t i = 0; i < vd->hostdevs.n; i++) {
        const struct hostdev *h = &vd->hostdevs.v[i];
        const char *file = h->span.file ? h->span.file : "?";
        if (h->dir == HOSTDEV_IN) {
            log_warn(TAG,
                     "%s:%u: hostdev input is not implemented yet; "
                     "the guest sees no input",
                     file, (unsigned)h->span.line);
            continue;
        }
        if (u->out_fd >= 0)
            continue;
        if (h->kind == HOSTDEV_STDIO) {
            u->out_fd = STDOUT_FILENO;
        } else if (h->kind == HOSTDEV_PATH && h->path) {
            int fl = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY;
            int fd = open(h->path, fl | O_TRUNC, 0666);
            if (fd < 0 && (errno == EINVAL || errno == EACCES))
                fd = open(h->path, fl, 0666); /* devices, FIFOs */
            if (fd < 0) {
                log_fatal(TAG, "%s:%u: cannot open hostdev %s: %s", file,
                          (unsigned)h->span.line, h->path, strerror(errno));
                return -1;
            }
            u->out_fd = fd;
            u->close_out = true;
        } else {
            log_warn(TAG,
                     "%s:%u: this hostdev kind is not implemented yet;"
                     " output is discarded",
                     file, (unsigned)h->span.line);
        }
        if (h->dir == HOSTDEV_BOTH)
            log_warn(TAG,
                     "%s:%u: hostdev input is not implemented yet; "
                     "only output is connected",
                     file, (unsigned)h->span.line);
    }
    return 0;
}

int ser8250_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                    struct dev_inst *inst)
{
    struct uart *u = calloc(1, sizeof(*u));
    if (!u) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&u->lock, NULL);
    u->ctx = ctx;
    u->out_fd = -1;
    u->dll = 12; /* 9600 baud */
    u->lcr = 0x03;
    u->msr = 0xb0; /* DCD, DSR, CTS */
    inst->state = u;
    inst->teardown = uart_teardown;
    if (open_output(u, vd) < 0) {
        uart_teardown(u);
        return -1;
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
    inst->state = u;
    return 0;
}

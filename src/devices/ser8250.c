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
 * always set); the bytes go to the host end (chardev.h: a bounded output
 * buffer written at once or after `batch USEC` of quiet, flushed at
 * teardown, so no guest output is lost when qvm exits). A sink that cannot
 * keep up loses bytes (counted, logged rate-limited) rather than memory.
 * Interrupts, in IIR priority order: line status (overrun, only in
 * loopback since host input is flow-controlled), received data / timeout,
 * THR empty, modem status; the first `intr` line is held high while one is
 * pending and enabled in IER (OUT2 does not gate it, as in QEMU).
 * Host input is read on the event thread only while the RX FIFO has room
 * (backpressure); regular files are read directly as the guest drains.
 * Coalesced transmit (dev_ctx.coalesced_pio): while a THR write needs no
 * reaction (DLAB clear, no loopback, no THRE interrupt enabled) KVM queues
 * THR writes instead of exiting and qvm delivers them in order before the
 * next exit of any vCPU (Linux's console polls LSR, an exit, before each
 * byte or FIFO load) or on a timer every COALESCE_NS while registered. The
 * zone is registered on the first THR write that exits while that holds,
 * and removed by the write (IER, LCR, MCR) that ends it, or by the timer
 * after COALESCE_IDLE ticks without a THR write (an idle guest costs no
 * host wake-ups; its next byte exits and registers again); so the
 * interrupt-driven tty path, which toggles IER's THRE bit per burst, costs
 * no registration per burst. While the zone is registered the host end's
 * output is held and written once per tick (chardev_hold): a console that
 * polls LSR per byte then costs one write(2), and one wake-up of whoever
 * reads it, per tick instead of per byte (bench/README.md, "Linux boot:
 * where the exits' time goes"); the order is the buffer's, and the zone's
 * removal, the idle drop, any exit that does not read the UART (a
 * power-off: dev_ctx.coalesced_on_flush) and the teardown flush what is
 * held.
 *
 * Context: region ops on vCPU threads, backend callbacks on the event
 * thread; both under the device mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/chardev.h"
#include "devices/device.h"
#include "devices/dtimer.h"
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

#define RX_FIFO 16
/* The drain timer's period while THR writes are coalesced: how long the
 * last bytes of a burst may wait when the guest makes no other exit. */
#define COALESCE_NS   4000000ull
#define COALESCE_IDLE 8u

struct uart {
    pthread_mutex_t lock;
    const struct dev_ctx *ctx;
    const struct vdev_spec *vd;
    struct chardev *cd; /* the host end */

    /* Registers. */
    bool has_irq, irq_level;
    struct irq_line line;
    uint8_t rx[RX_FIFO];
    unsigned rx_head, rx_n;
    bool thre_pending;
    uint8_t ier, fcr, lcr, mcr, lsr_err, msr_delta, scr, dll, dlm;

    /* Coalesced THR writes (see above): the port, registered or not,
     * unavailable (KVM cannot, or a registration failed), the timer. */
    uint64_t base;
    bool coalesced, no_coalesce;
    struct dtimer *drain;
    /* Accesses (the status report): THR writes (exits and coalesced),
     * LSR reads, the other registers. */
    uint64_t n_thr, n_lsr, n_other;
    uint64_t tick_thr;   /* n_thr at the drain timer's last tick */
    unsigned idle_ticks; /* ticks since a THR write */
};

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
        irq_line_set(&u->line, level);
    u->irq_level = level;
}

/* ---- host end ---- */

/*
 * Read host input while the FIFO has room (chardev.h: a pollable fd once
 * per readiness report, files at once), then watch the input only while
 * there is room (backpressure). Caller holds the lock.
 */
static void fill_rx(struct uart *u)
{
    bool loop = u->mcr & MCR_LOOP;
    while (!loop) {
        unsigned room = rx_cap(u) - u->rx_n;
        if (!room)
            break;
        uint8_t buf[RX_FIFO];
        ssize_t n = chardev_read(u->cd, buf, room);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            rx_push(u, buf[i]);
    }
    chardev_want_input(u->cd, !loop && u->rx_n < rx_cap(u));
}

/* Event thread, lock held: host input is ready. */
static void on_input(void *opaque)
{
    struct uart *u = opaque;
    fill_rx(u);
    update_irq(u);
}

/* `delayed`: the hostdevs open on the guest's first access. */
static void ensure_open(struct uart *u)
{
    if (chardev_access(u->cd))
        fill_rx(u);
}

/* ---- coalesced transmit ---- */

/* Whether a THR write may wait in KVM's ring: it is data, to the host end,
 * and no interrupt follows from it. */
static bool thr_quiet(const struct uart *u)
{
    return !(u->lcr & LCR_DLAB) && !(u->mcr & MCR_LOOP) &&
           !(u->ier & IER_ETBEI);
}

/* Caller holds the lock. */
static void coalesce_set(struct uart *u, bool on)
{
    const struct dev_ctx *c = u->ctx;
    if (on == u->coalesced || (on && (u->no_coalesce || !u->drain)))
        return;
    int e = c->coalesced_pio(c->opaque, u->base, 1, on);
    if (e < 0) {
        if (e == -ENOSYS)
            log_debug(TAG, "no coalesced port I/O: every THR write exits");
        else if (!u->no_coalesce) /* a removal is tried again: once */
            log_warn(TAG, "cannot %s coalesced THR writes at io 0x%llx: %s",
                     on ? "register" : "remove", (unsigned long long)u->base,
                     strerror(-e));
        u->no_coalesce = true;
        return; /* a zone that stays registered is still drained */
    }
    u->coalesced = on;
    /* The bytes of a polled console go out in batches, one write(2) per
     * drain tick (COALESCE_NS) instead of one per byte; released (and
     * flushed) with the zone, so interrupt-driven output is never held. */
    chardev_hold(u->cd, on);
    if (on && u->drain) {
        u->tick_thr = u->n_thr;
        u->idle_ticks = 0;
        dtimer_arm(u->drain, dtimer_now() + COALESCE_NS);
    }
}

/* Event thread, no lock held: deliver queued THR writes, then again later
 * while they are coalesced. */
static void on_drain(void *opaque)
{
    struct uart *u = opaque;
    const struct dev_ctx *c = u->ctx;
    if (c->coalesced_drain)
        c->coalesced_drain(c->opaque);
    pthread_mutex_lock(&u->lock);
    bool dropped = false;
    if (u->coalesced) {
        chardev_flush(u->cd);
        u->idle_ticks = u->n_thr == u->tick_thr ? u->idle_ticks + 1 : 0;
        u->tick_thr = u->n_thr;
        if (u->idle_ticks >= COALESCE_IDLE && !u->no_coalesce) {
            coalesce_set(u, false);
            dropped = !u->coalesced;
        }
        if (u->coalesced)
            dtimer_arm(u->drain, dtimer_now() + COALESCE_NS);
    }
    pthread_mutex_unlock(&u->lock);
    /* A write KVM queued before the zone went, with no exit after it. */
    if (dropped && c->coalesced_drain)
        c->coalesced_drain(c->opaque);
}

/* vCPU thread, no lock held: an exit follows the delivery of queued THR
 * writes (dev_ctx.coalesced_on_flush); unless it reads one of our
 * registers (the console's LSR poll), what is held goes out first. */
static void on_exit_flush(void *opaque, uint64_t port)
{
    struct uart *u = opaque;
    if (port >= u->base && port - u->base < 8)
        return;
    pthread_mutex_lock(&u->lock);
    if (u->coalesced)
        chardev_flush(u->cd);
    pthread_mutex_unlock(&u->lock);
}

/* ---- registers ---- */

static uint64_t uart_read(void *opaque, uint64_t off, unsigned size)
{
    struct uart *u = opaque;
    uint8_t v = 0xff;
    (void)size;
    pthread_mutex_lock(&u->lock);
    ensure_open(u);
    u->n_other += off != 5;
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB) {
            v = u->dll;
        } else {
            v = rx_pop(u);
            fill_rx(u);
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
        u->n_lsr++;
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
    fill_rx(u); /* leaving loopback resumes host input */
}

static void uart_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct uart *u = opaque;
    uint8_t b = (uint8_t)val;
    (void)size;
    pthread_mutex_lock(&u->lock);
    ensure_open(u);
    u->n_other += off != 0 || u->lcr & LCR_DLAB;
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB) {
            u->dll = b;
            break;
        }
        u->n_thr++;
        if (u->mcr & MCR_LOOP)
            rx_push(u, b);
        else
            chardev_put(u->cd, &b, 1);
        u->thre_pending = true; /* sent at once: THR empty again */
        if (thr_quiet(u))
            coalesce_set(u, true); /* the next ones need not exit */
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
        fill_rx(u);
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
    if (u->coalesced && !thr_quiet(u))
        coalesce_set(u, false); /* THR writes matter at once again */
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

static const struct region_ops uart_ops = {uart_read, uart_write};

/* Caller holds the lock. */
static void describe(const struct uart *u, char *buf, size_t len)
{
    snprintf(buf, len,
             "at io 0x%llx, ier %#x lcr %#x mcr %#x, %llu THR writes, %llu "
             "LSR reads, %llu other accesses, THR writes %s",
             (unsigned long long)u->base, u->ier, u->lcr, u->mcr,
             (unsigned long long)u->n_thr, (unsigned long long)u->n_lsr,
             (unsigned long long)u->n_other,
             u->coalesced ? "coalesced" : "exit");
}

static void uart_report(void *state, char *buf, size_t len)
{
    struct uart *u = state;
    pthread_mutex_lock(&u->lock);
    describe(u, buf, len);
    pthread_mutex_unlock(&u->lock);
}

/* After the event thread stopped: flush and close the host end. */
static void uart_teardown(void *state)
{
    struct uart *u = state;
    dtimer_free(u->drain);
    pthread_mutex_lock(&u->lock);
    if (u->n_thr || u->n_lsr || u->n_other) {
        char line[200];
        describe(u, line, sizeof(line));
        log_debug(TAG, "%s", line);
    }
    chardev_close(u->cd);
    u->cd = NULL;
    pthread_mutex_unlock(&u->lock);
    pthread_mutex_destroy(&u->lock);
    free(u);
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
    u->vd = vd;
    u->dll = 12; /* 9600 baud */
    u->lcr = 0x03;
    inst->state = u;
    inst->teardown = uart_teardown;
    inst->report = uart_report;
    const struct chardev_params cp = {.tag = TAG,
                                      .what = "the UART",
                                      .lock = &u->lock,
                                      .input = on_input,
                                      .opaque = u};
    if (chardev_new(vd, ctx, &cp, &u->cd) < 0) {
        uart_teardown(u);
        return -1;
    }
    fill_rx(u);
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
    u->base = base;
    /* Coalescing needs the drain timer (and so the event loop). */
    if (ctx->coalesced_pio && ctx->ev)
        u->drain = dtimer_new(ctx->ev, on_drain, u, ctx->timer_slack_ns);
    if (u->drain && ctx->coalesced_on_flush)
        ctx->coalesced_on_flush(ctx->opaque, on_exit_flush, u);
    if (vd->intrs.n) {
        if (ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], -1, &u->line) < 0) {
            uart_teardown(u);
            return -1;
        }
        u->has_irq = true;
    }
    int e =
        bus_map(ctx->pio, "ser8250", base, MIN(len, (uint64_t)8), &uart_ops, u);
    inst->desc = dev_desc_line(DEV_ROLE_UART, base, MIN(len, (uint64_t)8),
                               u->has_irq ? &u->line : NULL);
    if (e < 0) {
        log_fatal(TAG, "cannot map ser8250 at io 0x%llx: %s",
                  (unsigned long long)base, strerror(-e));
        uart_teardown(u);
        return -1;
    }
    return 0;
}

/*
 * pl011.c: `vdev pl011` (qvm-reference.md 4.x): the register model of
 * pl011_regs.c (devices/pl011.h) on the MMIO bus, its interrupt on the
 * vdev's line and its host end through chardev.h (every `hostdev` form of
 * ser8250, `batch`, `delayed`).
 *
 * Guest output goes to the chardev's bounded buffer at once; what it does
 * not take stays in the transmit FIFO (FR.TXFF, FR.BUSY), so the guest
 * waits for a slow sink instead of losing characters, and the chardev's
 * `output_room` drains the FIFO again (the TX interrupt when it passes its
 * level). Host input is read only while the receive FIFO has room
 * (chardev_want_input: backpressure); each burst ends in a receive timeout.
 *
 * Accesses of 1, 2, 4 or 8 bytes: Linux's amba-pl011 uses 16-bit accesses,
 * earlycon 8-bit DR writes or 32-bit ones (UPIO_MEM32); a read at a byte
 * offset inside a register returns its upper bytes, a write there is
 * ignored.
 *
 * Context: region ops on vCPU threads, backend callbacks on the event
 * thread; both under the device mutex.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/chardev.h"
#include "devices/device.h"
#include "devices/pl011.h"
#include "util/log.h"

#define TAG "pl011"

struct pl011_dev {
    pthread_mutex_t lock;
    struct pl011 r;
    struct chardev *cd;
    bool has_irq, irq_level;
    struct irq_line line;
    uint64_t base;
};

/* Caller holds the lock. */
static void update_irq(struct pl011_dev *d)
{
    bool level = pl011_irq(&d->r);
    if (d->has_irq && level != d->irq_level)
        irq_line_set(&d->line, level);
    d->irq_level = level;
}

/* Hand the transmit FIFO to the host end, as much as it takes. */
static void flush_tx(struct pl011_dev *d)
{
    const uint8_t *b;
    size_t n;
    while ((n = pl011_tx_peek(&d->r, &b)) > 0) {
        size_t took = chardev_write(d->cd, b, n);
        pl011_tx_done(&d->r, took);
        if (took < n)
            break; /* output_room follows */
    }
}

/* Read host input while the receive FIFO has room; watch the input only
 * while there is (backpressure). */
static void fill_rx(struct pl011_dev *d)
{
    bool got = false;
    unsigned room;
    while ((room = pl011_rx_room(&d->r)) > 0) {
        uint8_t buf[PL011_FIFO];
        ssize_t n = chardev_read(d->cd, buf, room);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            pl011_rx_push(&d->r, buf[i]);
        got = true;
    }
    if (got)
        pl011_rx_idle(&d->r);
    chardev_want_input(d->cd, pl011_rx_room(&d->r) > 0);
}

/* Event thread, lock held. */
static void on_input(void *opaque)
{
    struct pl011_dev *d = opaque;
    fill_rx(d);
    update_irq(d);
}

static void on_output_room(void *opaque)
{
    struct pl011_dev *d = opaque;
    flush_tx(d);
    update_irq(d);
}

/* `delayed`: the hostdevs open on the guest's first access. */
static void ensure_open(struct pl011_dev *d)
{
    if (chardev_access(d->cd))
        fill_rx(d);
}

static uint64_t pl011_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct pl011_dev *d = opaque;
    (void)size;
    pthread_mutex_lock(&d->lock);
    ensure_open(d);
    uint32_t v = pl011_read(&d->r, (uint32_t)(off & ~3ull));
    if (off % 4 == 0 && (off & ~3ull) == PL011_DR)
        /* Room again: a non-polled input (a file) refills now; a polled
         * one is read on its next readiness report (the watch is re-armed
         * here), on the event thread. */
        fill_rx(d);
    update_irq(d);
    pthread_mutex_unlock(&d->lock);
    return v >> (8 * (off % 4));
}

static void pl011_mmio_write(void *opaque, uint64_t off, uint64_t val,
                             unsigned size)
{
    struct pl011_dev *d = opaque;
    (void)size;
    if (off % 4)
        return;
    pthread_mutex_lock(&d->lock);
    ensure_open(d);
    bool was_loop = pl011_loopback(&d->r);
    pl011_write(&d->r, (uint32_t)off, (uint32_t)val);
    flush_tx(d);
    if (was_loop != pl011_loopback(&d->r) || off == PL011_LCR_H)
        fill_rx(d); /* leaving loopback, or new FIFO room */
    update_irq(d);
    pthread_mutex_unlock(&d->lock);
}

static const struct region_ops pl011_ops = {pl011_mmio_read, pl011_mmio_write};

static void pl011_report(void *state, char *buf, size_t len)
{
    struct pl011_dev *d = state;
    pthread_mutex_lock(&d->lock);
    snprintf(buf, len,
             "cr %#x lcr_h %#x ifls %#x imsc %#x ris %#x rx %u tx %u "
             "line %s",
             d->r.cr, d->r.lcr_h, d->r.ifls, d->r.imsc, d->r.ris, d->r.rx_n,
             d->r.tx_n, d->irq_level ? "high" : "low");
    pthread_mutex_unlock(&d->lock);
}

/* After the event thread stopped: flush and close the host end. */
static void pl011_teardown(void *state)
{
    struct pl011_dev *d = state;
    pthread_mutex_lock(&d->lock);
    chardev_close(d->cd);
    d->cd = NULL;
    pthread_mutex_unlock(&d->lock);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int pl011_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                  struct dev_inst *inst)
{
    struct pl011_dev *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&d->lock, NULL);
    pl011_reset(&d->r);
    inst->state = d;
    inst->teardown = pl011_teardown;
    inst->report = pl011_report;
    const struct chardev_params cp = {.tag = TAG,
                                      .what = "the UART",
                                      .lock = &d->lock,
                                      .input = on_input,
                                      .output_room = on_output_room,
                                      .opaque = d};
    if (chardev_new(vd, ctx, &cp, &d->cd) < 0) {
        pl011_teardown(d);
        return -1;
    }
    fill_rx(d);
    if (!vd->has_loc || vd->loc.space != SPACE_MEM) {
        log_fatal(TAG, "vdev pl011 needs a memory `loc`");
        pl011_teardown(d);
        return -1;
    }
    d->base = vd->loc.base;
    if (vd->intrs.n) {
        if (ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], -1, &d->line) < 0) {
            pl011_teardown(d);
            return -1;
        }
        d->has_irq = true;
    }
    int e = bus_map(ctx->mmio, "pl011", d->base, PL011_SIZE, &pl011_ops, d);
    if (e < 0) {
        log_fatal(TAG, "cannot map pl011 at 0x%llx: %s",
                  (unsigned long long)d->base, strerror(-e));
        pl011_teardown(d);
        return -1;
    }
    inst->desc = dev_desc_line(DEV_ROLE_PL011, d->base, PL011_SIZE,
                               d->has_irq ? &d->line : NULL);
    return 0;
}

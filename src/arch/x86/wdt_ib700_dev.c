/*
 * wdt_ib700_dev.c: `vdev wdt-ib700` (qvm-reference.md 4.8), the glue
 * between the pure IB700 model (wdt_ib700.h) and the VM: its 3-port
 * window on the port bus (`loc`, io:0x441 by default), a host timer on the
 * I/O event thread, and the action on expiry.
 *
 * `action [dump,]terminate` (the default: terminate): on expiry qvm logs
 * one error line naming the watchdog and the timeout that expired, writes
 * a guest dump when `dump,` is given (dev_ctx.dump, with the configured
 * top-level `dump`), then ends the VM with STOP_WATCHDOG: qvm exits 4
 * (docs/exit-codes.md).
 * `action [dump,]fiq`: x86 has no FIQ; the interrupt form pulses the
 * vdev's `intr` line (an edge; the front end rejects `fiq` without an
 * `intr`), after the dump when `dump,` is given, and the guest runs on;
 * the watchdog is disarmed until the guest starts it again (one pulse per
 * expiry). Those lines are rate limited (the guest can repeat them).
 *
 * Context: vCPU threads (the ports) and the I/O event thread (the timer);
 * the device mutex serializes them. The action runs on the I/O thread
 * without the mutex (a dump pauses the vCPUs, which may be waiting for it).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/wdt_ib700.h"
#include "devices/dtimer.h"
#include "devices/wdt_action.h"
#include "util/log.h"

#define TAG "wdt-ib700" /* the type name: `vdev wdt-ib700 log` routes it */

#define IB700_DEFAULT_BASE 0x441u

struct wdt_dev {
    pthread_mutex_t lock;
    struct ib700 w;
    struct dtimer *dt;
    struct wdt_action act; /* its label: "wdt-ib700 'NAME' (io 0x441)" */
    struct irq_line line;  /* fiq: the vdev's intr */
};

static uint64_t wdt_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)off;
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1; /* write-only */
}

static void wdt_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct wdt_dev *d = opaque;
    pthread_mutex_lock(&d->lock);
    bool was = d->w.armed;
    uint64_t when = ib700_write(&d->w, off, val, size, dtimer_now());
    if (when == 0)
        dtimer_disarm(d->dt);
    else if (when != UINT64_MAX)
        dtimer_arm(d->dt, when);
    bool now = d->w.armed;
    unsigned secs = ib700_timeout_s(d->w.index);
    pthread_mutex_unlock(&d->lock);
    if (now && !was)
        log_guest(&d->act.rl_dbg, LOG_DEBUG, TAG, "%s: started (timeout %u s)",
                  d->act.label, secs);
    else if (was && !now)
        log_guest(&d->act.rl_dbg, LOG_DEBUG, TAG, "%s: stopped", d->act.label);
}

static const struct region_ops wdt_ops = {wdt_read, wdt_write};

/* The host timer: act on an expiry, outside the device mutex. */
static void wdt_timer(void *opaque)
{
    struct wdt_dev *d = opaque;
    unsigned secs = 0;
    uint64_t next = 0;
    pthread_mutex_lock(&d->lock);
    bool expired = ib700_tick(&d->w, dtimer_now(), &secs, &next);
    if (!expired && next)
        dtimer_arm(d->dt, next);
    pthread_mutex_unlock(&d->lock);
    if (!expired)
        return;
    char within[32];
    snprintf(within, sizeof(within), "%u s", secs);
    if (wdt_action_expired(&d->act, within, "interrupt raised"))
        irq_line_pulse(&d->line);
}

static void wdt_teardown(void *state)
{
    struct wdt_dev *d = state;
    dtimer_free(d->dt);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int wdt_ib700_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                      struct dev_inst *inst)
{
    if (vd->has_loc && vd->loc.space != SPACE_IO) {
        log_fatal(TAG, "%s:%u: wdt-ib700 is on I/O ports only (loc io:PORT)",
                  vd->span.file ? vd->span.file : "?", (unsigned)vd->span.line);
        return -1;
    }
    struct wdt_dev *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&d->lock, NULL);
    ib700_init(&d->w);
    d->line = irq_line_none();
    uint64_t base = vd->has_loc ? vd->loc.base : IB700_DEFAULT_BASE;
    if (wdt_action_init(&d->act, vd, ctx, TAG, "io", base) < 0) {
        wdt_teardown(d);
        return -1;
    }
    if (d->act.fiq &&
        ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], -1, &d->line) < 0) {
        wdt_teardown(d);
        return -1;
    }
    d->dt = dtimer_new(ctx->ev, wdt_timer, d, ctx->timer_slack_ns);
    if (!d->dt) {
        wdt_teardown(d);
        return -1;
    }
    int e = bus_map(ctx->pio, "wdt-ib700", base, IB700_WINDOW, &wdt_ops, d);
    if (e < 0) {
        log_fatal(TAG, "cannot map %s (ports 0x%llx-0x%llx): %s", d->act.label,
                  (unsigned long long)base,
                  (unsigned long long)base + IB700_WINDOW - 1, strerror(-e));
        wdt_teardown(d);
        return -1;
    }
    inst->state = d;
    inst->teardown = wdt_teardown;
    inst->desc = dev_desc_line(DEV_ROLE_NONE, base, IB700_WINDOW,
                               d->act.fiq ? &d->line : NULL);
    log_debug(TAG, "%s: action %s%s", d->act.label, d->act.dump ? "dump," : "",
              d->act.fiq ? "fiq" : "terminate");
    return 0;
}

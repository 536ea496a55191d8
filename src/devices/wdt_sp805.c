/*
 * wdt_sp805.c: `vdev wdt-sp805` (qvm-reference.md 4.8), the glue between
 * the pure SP805 model (devices/sp805.h) and the VM: its 4 KiB window on
 * the MMIO bus (`loc`, 0x1c0f0000 by default), its interrupt (WDOGINT,
 * level, on the vdev's `intr` when it has one), a host timer on the I/O
 * event thread, and the action when the reset output is asserted: the
 * counter reached zero twice without the interrupt being cleared, with
 * RESEN set (Linux's sp805_wdt sets INTEN and RESEN and pings by writing
 * WdogIntClr; its timeout is two counter periods).
 *
 * `action [dump,]terminate` (the default): qvm logs one error line naming
 * the watchdog, writes a guest dump first with `dump,` (dev_ctx.dump, with
 * the configured top-level `dump`), then ends the VM with STOP_WATCHDOG:
 * qvm exits 4 (docs/exit-codes.md), as wdt-ib700 does.
 * `action [dump,]fiq`: the reset is not carried out: qvm logs a warning
 * (rate limited), dumps with `dump,`, and the counter starts again from
 * WdogLoad with the interrupt (the vdev's `intr`, which the front end
 * requires then) still asserted; the guest runs on and the next period
 * acts again unless the guest clears the interrupt.
 *
 * Accesses of 1, 2, 4 or 8 bytes at the 32-bit registers; a read inside a
 * register returns its upper bytes, a write there is ignored.
 *
 * Context: vCPU threads (the registers) and the I/O event thread (the
 * timer); the device mutex serializes them. The action runs on the I/O
 * thread without the mutex (a dump pauses the vCPUs, which may be waiting
 * for it): a vCPU that finds the reset asserted arms the timer for now.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/dtimer.h"
#include "devices/sp805.h"
#include "devices/wdt_action.h"
#include "util/log.h"

#define TAG "wdt-sp805" /* the type name: `vdev wdt-sp805 log` routes it */

#define SP805_DEFAULT_BASE 0x1c0f0000ull

struct sp805_dev {
    pthread_mutex_t lock;
    struct sp805 w;
    struct dtimer *dt;
    struct wdt_action act; /* its label: "wdt-sp805 'NAME' (mem 0x...)" */
    bool acted;            /* the asserted reset is being (or was) acted on */
    bool has_irq, irq_level;
    struct irq_line line;
    uint64_t base;
    struct sp805_info info;
};

/* Caller holds the lock: the line, and the timer for what comes next. */
static void update(struct sp805_dev *d)
{
    bool level = sp805_irq(&d->w);
    if (d->has_irq && level != d->irq_level)
        irq_line_set(&d->line, level);
    d->irq_level = level;
    uint64_t next = 0;
    (void)sp805_tick(&d->w, dtimer_now(), &next);
    if (d->w.reset && !d->acted)
        dtimer_arm(d->dt, 0); /* the action is the event thread's */
    else if (next)
        dtimer_arm(d->dt, next);
    else
        dtimer_disarm(d->dt);
}

static uint64_t sp805_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct sp805_dev *d = opaque;
    (void)size;
    pthread_mutex_lock(&d->lock);
    uint64_t now = dtimer_now();
    (void)sp805_tick(&d->w, now, NULL);
    uint32_t v = sp805_read(&d->w, (uint32_t)(off & ~3ull), now);
    update(d);
    pthread_mutex_unlock(&d->lock);
    return v >> (8 * (off % 4));
}

static void sp805_mmio_write(void *opaque, uint64_t off, uint64_t val,
                             unsigned size)
{
    struct sp805_dev *d = opaque;
    (void)size;
    if (off % 4)
        return;
    pthread_mutex_lock(&d->lock);
    uint64_t now = dtimer_now();
    (void)sp805_tick(&d->w, now, NULL);
    uint32_t was = d->w.ctl;
    bool locked = d->w.locked;
    sp805_write(&d->w, (uint32_t)off, (uint32_t)val, now);
    uint32_t ctl = d->w.ctl;
    update(d);
    pthread_mutex_unlock(&d->lock);
    if (!locked && off == SP805_CONTROL && was != ctl)
        log_guest(&d->act.rl_dbg, LOG_DEBUG, TAG, "%s: control %#x (%s%s)",
                  d->act.label, ctl, ctl & SP805_INTEN ? "counting" : "stopped",
                  ctl & SP805_RESEN ? ", reset enabled" : "");
}

static const struct region_ops sp805_ops = {sp805_mmio_read, sp805_mmio_write};

/* The host timer: expiries, and the action outside the device mutex. */
static void sp805_timer(void *opaque)
{
    struct sp805_dev *d = opaque;
    pthread_mutex_lock(&d->lock);
    (void)sp805_tick(&d->w, dtimer_now(), NULL);
    bool act = d->w.reset && !d->acted;
    if (act)
        d->acted = true;
    uint64_t period = sp805_period_ns(&d->w, d->w.load);
    update(d);
    pthread_mutex_unlock(&d->lock);
    if (!act)
        return;
    char within[64];
    snprintf(within, sizeof(within), "two periods of %llu ms",
             (unsigned long long)(period / 1000000));
    if (!wdt_action_expired(&d->act, within, "interrupt kept asserted"))
        return;
    pthread_mutex_lock(&d->lock);
    sp805_reset_ack(&d->w, dtimer_now());
    d->acted = false;
    update(d);
    pthread_mutex_unlock(&d->lock);
}

static void sp805_report(void *state, char *buf, size_t len)
{
    struct sp805_dev *d = state;
    pthread_mutex_lock(&d->lock);
    snprintf(buf, len, "load %#x control %#x ris %u lock %u%s line %s",
             d->w.load, d->w.ctl, d->w.ris, d->w.locked,
             d->w.reset ? " reset" : "", d->irq_level ? "high" : "low");
    pthread_mutex_unlock(&d->lock);
}

static void sp805_teardown(void *state)
{
    struct sp805_dev *d = state;
    dtimer_free(d->dt);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int wdt_sp805_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                      struct dev_inst *inst)
{
    if (vd->has_loc && vd->loc.space != SPACE_MEM) {
        log_fatal(TAG, "%s:%u: wdt-sp805 is memory-mapped only (loc ADDR)",
                  vd->span.file ? vd->span.file : "?", (unsigned)vd->span.line);
        return -1;
    }
    const struct opt_val *freq = vdev_opt(vd, "frequency");
    struct sp805_dev *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&d->lock, NULL);
    d->info.hz = freq && freq->num ? freq->num : SP805_DEFAULT_HZ;
    sp805_init(&d->w, d->info.hz);
    d->line = irq_line_none();
    d->base = vd->has_loc ? vd->loc.base : SP805_DEFAULT_BASE;
    if (wdt_action_init(&d->act, vd, ctx, TAG, "mem", d->base) < 0) {
        sp805_teardown(d);
        return -1;
    }
    if (vd->intrs.n) {
        if (ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], -1, &d->line) < 0) {
            sp805_teardown(d);
            return -1;
        }
        d->has_irq = true;
    }
    d->dt = dtimer_new(ctx->ev, sp805_timer, d, ctx->timer_slack_ns);
    if (!d->dt) {
        sp805_teardown(d);
        return -1;
    }
    int e = bus_map(ctx->mmio, "wdt-sp805", d->base, SP805_SIZE, &sp805_ops, d);
    if (e < 0) {
        log_fatal(TAG, "cannot map %s: %s", d->act.label, strerror(-e));
        sp805_teardown(d);
        return -1;
    }
    inst->state = d;
    inst->teardown = sp805_teardown;
    inst->report = sp805_report;
    inst->desc = dev_desc_line(DEV_ROLE_SP805, d->base, SP805_SIZE,
                               d->has_irq ? &d->line : NULL);
    inst->desc.info = &d->info;
    log_debug(TAG, "%s: %llu Hz, action %s%s", d->act.label,
              (unsigned long long)d->info.hz, d->act.dump ? "dump," : "",
              d->act.fiq ? "fiq" : "terminate");
    return 0;
}

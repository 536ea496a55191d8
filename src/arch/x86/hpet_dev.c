/*
 * hpet_dev.c: `vdev hpet` (qvm-reference.md 4.2), the glue between the
 * pure HPET model (hpet.h) and the VM: its 1 KiB block on the MMIO bus,
 * one interrupt line per timer, the ISA IRQ 0 and 8 lines of legacy
 * replacement, FSB messages and the host timer that wakes the model.
 *
 * Options: `loc` (0xfed00000 by default), `frequency` (14318180 Hz),
 * `intr`/`intrmap` (one per timer: there are max(3, number of intrs)
 * timers; a timer without one has no route), `legacy-free` (LEG_RT_CAP
 * clear). Each timer's Tn_INT_ROUTE_CAP is the bit of its configured input
 * only: qvm's routing is fixed by the configuration (guests cannot
 * re-route, as QNX documents), so its Tn_INT_ROUTE_CNF can only name it.
 *
 * The host timer is created with the configuration's `tolerance` as its
 * slack: the host may fire it up to `tolerance` after the comparator
 * matches, so an HPET interrupt reaches the guest at most that late (plus
 * scheduling); the main counter itself is exact whatever the slack.
 *
 * Context: vCPU threads (registers) and the I/O event thread (the host
 * timer); the model serializes them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/hpet.h"
#include "devices/dtimer.h"
#include "util/log.h"

#define TAG "hpet"

#define HPET_DEFAULT_BASE 0xfed00000u
#define HPET_MIN_HZ       1000u
#define HPET_MAX_HZ       1000000000u
#define HPET_SPEC_MIN_HZ  10000000u /* COUNTER_CLK_PERIOD <= 100 ns */

struct hpet_dev {
    struct hpet *h;
    struct dtimer *dt;
    const struct dev_ctx *ctx;
    struct irq_line line[HPET_MAX_TIMERS];
    struct irq_line legacy[2]; /* ISA IRQ 0 and 8 */
    struct log_budget msi_rl;
    struct hpet_info info; /* for the firmware tables (hpet_describe) */
};

static uint64_t hpet_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct hpet_dev *d = opaque;
    return hpet_read(d->h, off, size, dtimer_now());
}

static void hpet_mmio_write(void *opaque, uint64_t off, uint64_t val,
                            unsigned size)
{
    struct hpet_dev *d = opaque;
    hpet_write(d->h, off, val, size, dtimer_now());
}

static const struct region_ops hpet_region_ops = {hpet_mmio_read,
                                                  hpet_mmio_write};

static void op_set_irq(void *opaque, unsigned timer, bool level)
{
    struct hpet_dev *d = opaque;
    irq_line_set(&d->line[timer], level);
}

static void op_set_legacy(void *opaque, unsigned which, bool level)
{
    struct hpet_dev *d = opaque;
    irq_line_set(&d->legacy[which & 1], level);
}

static void op_msi(void *opaque, uint64_t addr, uint32_t data)
{
    struct hpet_dev *d = opaque;
    int e = d->ctx->msi_send ? d->ctx->msi_send(d->ctx->opaque, addr, data)
                             : -ENOSYS;
    if (e < 0)
        log_guest(&d->msi_rl, LOG_WARN, TAG,
                  "FSB message 0x%x to 0x%llx not delivered: %s",
                  (unsigned)data, (unsigned long long)addr, strerror(-e));
}

static void op_arm(void *opaque, uint64_t deadline)
{
    struct hpet_dev *d = opaque;
    if (deadline)
        dtimer_arm(d->dt, deadline);
    else
        dtimer_disarm(d->dt);
}

/* LEG_RT_CNF: timers 0 and 1 take ISA IRQ 0 and 8 from the 8254's OUT0
 * and the RTC (the HPET specification's legacy replacement route). */
static void op_legacy(void *opaque, bool on)
{
    struct hpet_dev *d = opaque;
    if (d->ctx->legacy_replacement)
        d->ctx->legacy_replacement(d->ctx->opaque, on);
}

static const struct hpet_ops hpet_dev_ops = {
    .set_irq = op_set_irq,
    .set_legacy = op_set_legacy,
    .msi = op_msi,
    .arm = op_arm,
    .legacy = op_legacy,
};

static void on_timer(void *opaque)
{
    struct hpet_dev *d = opaque;
    hpet_tick(d->h, dtimer_now());
}

static void hpet_teardown(void *state)
{
    struct hpet_dev *d = state;
    dtimer_free(d->dt);
    hpet_free(d->h);
    free(d);
}

/* params: the model's parameters from the vdev's options; -1 (logged). */
static int params(const struct vdev_spec *vd, struct hpet_params *p)
{
    const char *file = vd->span.file ? vd->span.file : "?";
    unsigned line = (unsigned)vd->span.line;
    const struct opt_val *f = vdev_opt(vd, "frequency");
    p->hz = f ? f->num : HPET_DEFAULT_HZ;
    if (p->hz < HPET_MIN_HZ || p->hz > HPET_MAX_HZ) {
        log_error(TAG, "%s:%u: vdev hpet: frequency %llu Hz is outside %u..%u",
                  file, line, (unsigned long long)p->hz, HPET_MIN_HZ,
                  HPET_MAX_HZ);
        return -1;
    }
    if (!hpet_period_fs(p->hz)) {
        log_error(TAG,
                  "%s:%u: vdev hpet: frequency %llu Hz: its period in "
                  "femtoseconds does not fit COUNTER_CLK_PERIOD (32 bits; "
                  "the lowest frequency an HPET can announce is 232831 Hz)",
                  file, line, (unsigned long long)p->hz);
        return -1;
    }
    if (p->hz < HPET_SPEC_MIN_HZ)
        log_warn(TAG,
                 "%s:%u: vdev hpet: frequency %llu Hz is below the HPET "
                 "specification's 10 MHz: Linux will not use this HPET",
                 file, line, (unsigned long long)p->hz);
    if (vd->intrs.n > HPET_MAX_TIMERS) {
        log_error(TAG, "%s:%u: vdev hpet: at most %u timers (%zu intr)", file,
                  line, HPET_MAX_TIMERS, vd->intrs.n);
        return -1;
    }
    p->ntimers = vd->intrs.n > 3 ? (unsigned)vd->intrs.n : 3;
    p->legacy_capable = vdev_opt(vd, "legacy-free") == NULL;
    for (size_t i = 0; i < vd->intrs.n; i++) {
        const struct intr *in = &vd->intrs.v[i];
        if (in->line > 31) {
            log_error(TAG,
                      "%s:%u: vdev hpet: timer %zu on input %u: an HPET "
                      "timer routes to inputs 0-31 only",
                      in->span.file ? in->span.file : file,
                      in->span.file ? (unsigned)in->span.line : line, i,
                      (unsigned)in->line);
            return -1;
        }
        p->route_cap[i] = 1u << in->line;
        p->route[i] = (uint8_t)in->line;
    }
    p->base = vd->has_loc ? vd->loc.base : HPET_DEFAULT_BASE;
    return 0;
}

int hpet_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                 struct dev_inst *inst)
{
    struct hpet_params p = {0};
    if (params(vd, &p) < 0)
        return -1;
    if (vd->has_loc && vd->loc.space != SPACE_MEM) {
        log_error(TAG, "only memory locations are supported for hpet");
        return -1;
    }
    struct hpet_dev *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    d->ctx = ctx;
    d->msi_rl = (struct log_budget)LOG_BUDGET_INIT(5, 10000);
    for (unsigned i = 0; i < HPET_MAX_TIMERS; i++)
        d->line[i] = irq_line_none();
    d->legacy[0] = d->legacy[1] = irq_line_none();
    inst->state = d;
    inst->teardown = hpet_teardown;
    if (!ctx->irq_resolve || !ctx->irq_isa) {
        log_error(TAG, "this VM has no interrupt router for the HPET");
        goto fail;
    }
    /* The resolvers log their own failures. */
    for (size_t i = 0; i < vd->intrs.n; i++)
        if (ctx->irq_resolve(ctx->opaque, &vd->intrs.v[i], -1, &d->line[i]) < 0)
            goto fail;
    if (p.legacy_capable && (ctx->irq_isa(ctx->opaque, 0, &d->legacy[0]) < 0 ||
                             ctx->irq_isa(ctx->opaque, 8, &d->legacy[1]) < 0))
        goto fail;
    d->dt = dtimer_new(ctx->ev, on_timer, d, ctx->timer_slack_ns);
    if (!d->dt)
        goto fail;
    d->h = hpet_new(&p, &hpet_dev_ops, d, dtimer_now());
    if (!d->h) {
        log_fatal(TAG, "out of memory");
        goto fail;
    }
    uint64_t size = hpet_mmio_size(p.ntimers);
    if (size > HPET_MMIO_SIZE)
        log_warn(TAG,
                 "%s:%u: vdev hpet: timers 24-%u have their registers at "
                 "0x%llx-0x%llx, past the 1 KiB block of the specification",
                 vd->span.file ? vd->span.file : "?", (unsigned)vd->span.line,
                 p.ntimers - 1, (unsigned long long)(p.base + HPET_MMIO_SIZE),
                 (unsigned long long)(p.base + size - 1));
    int e = bus_map(ctx->mmio, "hpet", p.base, size, &hpet_region_ops, d);
    if (e < 0) {
        log_fatal(TAG, "cannot map the HPET at 0x%llx: %s",
                  (unsigned long long)p.base, strerror(-e));
        goto fail;
    }
    hpet_describe(d->h, &d->info);
    inst->desc = (struct dev_desc){DEV_ROLE_HPET,  p.base, size,
                                   d->line[0].gsi, -1,     &d->info};
    log_debug(TAG, "at 0x%llx, %llu Hz, %u timers%s",
              (unsigned long long)p.base, (unsigned long long)p.hz, p.ntimers,
              p.legacy_capable ? "" : ", legacy-free");
    return 0;
fail:
    hpet_teardown(d);
    inst->state = NULL;
    inst->teardown = NULL;
    return -1;
}

/*
 * platform.c: fixed PC platform ports that every x86 guest may touch:
 * the POST/delay port 0x80 (a sink) and the ACPI PM1a register block that
 * the FADT describes (arch/x86/acpi.c): PM1a_EVT_BLK at 0x600 (PM1_STS,
 * PM1_EN; the fixed-feature power button, which SIGTERM/SIGINT press)
 * and PM1a_CNT_BLK at PM1A_CNT_PORT, which is how guests power off (see
 * device.h and docs/exit-codes.md). The SCI (GSI 9, level, active high)
 * is asserted while PM1_STS & PM1_EN has a bit set.
 */
#include "devices/platform.h"

#include "devices/dtimer.h"

#include <pthread.h>
#include <stdlib.h>

#include "devices/device.h"
#include "util/log.h"

#define TAG "platform"

struct pm {
    const struct dev_ctx *ctx;
    pthread_mutex_t lock; /* sts, en, sci */
    uint16_t sts, en, cnt;
    bool sci;
    struct irq_line sci_line; /* ISA IRQ PM_SCI_GSI as the board wires it */
    uint64_t t0;              /* CLOCK_MONOTONIC ns at realize */
    struct log_budget rl;
};

static uint64_t sink_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)off, (void)size;
    return UINT64_MAX;
}

static void sink_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)opaque, (void)off, (void)val, (void)size;
}

static const struct region_ops sink_ops = {sink_read, sink_write};

/* Only the power button is an event source. Caller holds pm->lock. */
static void sci_update(struct pm *pm)
{
    bool level = (pm->sts & pm->en & PM1_PWRBTN) != 0;
    if (level == pm->sci)
        return;
    pm->sci = level;
    irq_line_set(&pm->sci_line, level);
}

bool pm_power_button(void *state)
{
    struct pm *pm = state;
    pthread_mutex_lock(&pm->lock);
    pm->sts |= PM1_PWRBTN;
    bool enabled = (pm->en & PM1_PWRBTN) != 0;
    sci_update(pm);
    pthread_mutex_unlock(&pm->lock);
    return enabled;
}

/* PM1a_EVT_BLK: PM1_STS (write 1 to clear) at 0, PM1_EN at 2. */
static uint64_t evt_read(void *opaque, uint64_t off, unsigned size)
{
    struct pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    uint32_t v = (uint32_t)pm->sts | (uint32_t)pm->en << 16;
    pthread_mutex_unlock(&pm->lock);
    v >>= 8 * off;
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void evt_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    for (unsigned i = 0; i < size && off + i < 4; i++) {
        unsigned o = (unsigned)off + i;
        uint16_t b = (uint16_t)((val >> (8 * i)) & 0xff) << (8 * (o & 1));
        if (o < 2)
            pm->sts &= (uint16_t)~b;
        else
            pm->en = (uint16_t)((pm->en & ~(0xffu << (8 * (o & 1)))) | b);
    }
    sci_update(pm);
    pthread_mutex_unlock(&pm->lock);
}

static const struct region_ops evt_ops = {evt_read, evt_write};

/* pm_timer_count: the PM timer at `now` ns after `t0`: 32 bits, wrapping. */
static uint32_t pm_timer_count(uint64_t t0, uint64_t now)
{
    uint64_t ns = now - t0;
    /* ns * 3579545 / 1e9 without overflow for centuries of uptime. */
    uint64_t ticks = ns / 1000000000ull * PM_TMR_HZ +
                     ns % 1000000000ull * PM_TMR_HZ / 1000000000ull;
    return (uint32_t)ticks;
}

static uint64_t tmr_read(void *opaque, uint64_t off, unsigned size)
{
    struct pm *pm = opaque;
    uint32_t v = pm_timer_count(pm->t0, dtimer_now());
    return (uint64_t)(v >> (8 * off)) &
           (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static void tmr_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)opaque, (void)off, (void)val, (void)size; /* read-only */
}

static const struct region_ops tmr_ops = {tmr_read, tmr_write};

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    struct pm *pm = opaque;
    (void)size;
    /* SCI_EN (bit 0): the "chipset" is always in ACPI mode. */
    uint64_t v = (uint64_t)(pm->cnt | 1u) & ~(uint64_t)PM1_SLP_EN;
    return off ? v >> (8 * off) : v;
}

static void pm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pm *pm = opaque;
    uint16_t v = pm->cnt;
    if (off == 0 && size >= 2)
        v = (uint16_t)val;
    else if (off == 0)
        v = (uint16_t)((v & 0xff00) | (val & 0xff));
    else
        v = (uint16_t)((v & 0x00ff) | (val & 0xff) << 8);
    pm->cnt = v & (uint16_t)~PM1_SLP_EN;
    if (!(v & PM1_SLP_EN))
        return;
    unsigned typ = PM1_SLP_TYP(v);
    if (typ == PM1_S5_TYP || typ == 0) {
        log_info(TAG, "guest powered off");
        pm->ctx->stop(pm->ctx->opaque, STOP_POWEROFF);
    } else {
        log_guest(&pm->rl, LOG_WARN, TAG,
                  "sleep type %u written to PM1a_CNT is not supported;"
                  " ignored",
                  typ);
    }
}

static const struct region_ops pm_ops = {pm_read, pm_write};

static void pm_teardown(void *state)
{
    struct pm *pm = state;
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}

int platform_realize(const struct dev_ctx *ctx, struct dev_list *out)
{
    struct pm *pm = calloc(1, sizeof(*pm));
    struct dev_inst *slot = pm ? VEC_PUSH(&out->v) : NULL;
    if (!slot) {
        free(pm);
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pm->ctx = ctx;
    pm->t0 = dtimer_now();
    pthread_mutex_init(&pm->lock, NULL);
    pm->rl = (struct log_budget)LOG_BUDGET_INIT(5, 1000);
    *slot = (struct dev_inst){PM_DEV_NAME, pm, pm_teardown};
    if (ctx->irq_isa(ctx->opaque, PM_SCI_GSI, &pm->sci_line) < 0)
        log_warn(TAG,
                 "no interrupt controller input for the ACPI SCI "
                 "(ISA IRQ %u): the power button raises no interrupt",
                 PM_SCI_GSI);
    if (bus_map(ctx->pio, "port 0x80", 0x80, 1, &sink_ops, NULL) < 0 ||
        bus_map(ctx->pio, "acpi pm1a_evt", PM1A_EVT_PORT, 4, &evt_ops, pm) <
            0 ||
        bus_map(ctx->pio, "acpi pm1a_cnt", PM1A_CNT_PORT, 2, &pm_ops, pm) < 0 ||
        bus_map(ctx->pio, "acpi pm_tmr", PM_TMR_PORT, 4, &tmr_ops, pm) < 0) {
        log_fatal(TAG, "cannot map the platform ports (0x80, 0x%x, 0x%x)",
                  PM1A_EVT_PORT, PM1A_CNT_PORT);
        return -1;
    }
    return 0;
}

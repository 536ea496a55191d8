/*
 * platform.c: fixed PC platform ports that every x86 guest may touch:
 * the POST/delay port 0x80 (a sink) and the ACPI PM1a control register at
 * PM1A_CNT_PORT, which is how guests power off (see device.h and
 * docs/exit-codes.md). The ACPI FADT describing it is still to come.
 */
#include <stdlib.h>

#include "devices/device.h"
#include "util/log.h"

#define TAG "platform"

struct pm {
    const struct dev_ctx *ctx;
    uint16_t cnt;
    struct ratelimit rl;
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
    } else if (log_ratelimit(&pm->rl, TAG)) {
        log_warn(TAG,
                 "sleep type %u written to PM1a_CNT is not supported;"
                 " ignored",
                 typ);
    }
}

static const struct region_ops pm_ops = {pm_read, pm_write};

static void pm_teardown(void *state)
{
    free(state);
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
    pm->rl = (struct ratelimit)RATELIMIT_INIT(5, 1000);
    *slot = (struct dev_inst){"acpi-pm", pm, pm_teardown};
    if (bus_map(ctx->pio, "port 0x80", 0x80, 1, &sink_ops, NULL) < 0 ||
        bus_map(ctx->pio, "acpi pm1a_cnt", PM1A_CNT_PORT, 2, &pm_ops, pm) < 0) {
        log_fatal(TAG, "cannot map the platform ports (0x80, 0x%x)",
                  PM1A_CNT_PORT);
        return -1;
    }
    return 0;
}

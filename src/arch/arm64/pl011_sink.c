/*
 * pl011_sink.c: a stand-in for `vdev pl011` until the PrimeCell UART
 * model (h16c's src/devices/pl011.c) is merged: write-only. UARTDR
 * (offset 0) writes go to the vdev's hostdev (chardev_put); UARTFR (0x18)
 * reads "transmit FIFO empty, receive FIFO empty"; everything else reads
 * 0 and ignores writes. No input, no interrupts. Delete this file and its
 * row in models.c when the real model's row is in the registry.
 */
#include <stdlib.h>

#include "arch/arm64/arch.h"
#include "devices/chardev.h"
#include "util/log.h"

#define TAG "pl011"

#define PL011_SIZE 0x1000
#define UARTDR     0x00
#define UARTFR     0x18
#define FR_RXFE    (1u << 4)
#define FR_TXFE    (1u << 7)

struct pl011_sink {
    pthread_mutex_t lock;
    struct chardev *cd;
};

static uint64_t sink_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)size;
    return off == UARTFR ? FR_TXFE | FR_RXFE : 0;
}

static void sink_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pl011_sink *s = opaque;
    (void)size;
    if (off != UARTDR)
        return;
    unsigned char c = (unsigned char)val;
    pthread_mutex_lock(&s->lock);
    chardev_put(s->cd, &c, 1);
    pthread_mutex_unlock(&s->lock);
}

static const struct region_ops sink_ops = {sink_read, sink_write};

static void sink_teardown(void *state)
{
    struct pl011_sink *s = state;
    chardev_close(s->cd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int pl011_sink_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                       struct dev_inst *inst)
{
    struct pl011_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    pthread_mutex_init(&s->lock, NULL);
    struct chardev_params p = {
        .tag = TAG, .what = "the PL011", .lock = &s->lock, .opaque = s};
    uint64_t base = vd->has_loc ? vd->loc.base : 0x1c090000;
    if (chardev_new(vd, ctx, &p, &s->cd) < 0 ||
        bus_map(ctx->mmio, "pl011", base, PL011_SIZE, &sink_ops, s) < 0) {
        log_fatal(TAG, "cannot place the PL011 at 0x%llx",
                  (unsigned long long)base);
        chardev_close(s->cd);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return -1;
    }
    inst->state = s;
    inst->teardown = sink_teardown;
    inst->desc = dev_desc_line(DEV_ROLE_UART, base, PL011_SIZE, NULL);
    return 0;
}

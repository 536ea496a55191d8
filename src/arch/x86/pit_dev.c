/*
 * pit_dev.c: `vdev timer8254` (qvm-reference.md 4.2), the glue of the 8254
 * model (pit.c): its four ports at loc (io 0x40 by default), port 0x61,
 * the interrupt line of OUT0 and a device timer for the model's edges.
 *
 * OUT0 drives ISA IRQ 0 (on a PC: the 8259's input 0 and, through the
 * interrupt source override, IOAPIC pin 2; `intr` names the IOAPIC pin).
 * Each rising edge of OUT0 the model reports is delivered as a pulse on
 * the line, and falls are not followed: both inputs are edge-triggered as
 * every guest programs them (Linux sets the IOAPIC pin edge/high from the
 * ACPI override or MP table, and the 8259 with ICW1.LTIM clear), and Linux
 * drives the PIT in mode 2 (periodic) or mode 4 (oneshot, 0x38), where an
 * edge per period or per expiry is the whole interrupt. Following the
 * level would cost a second host wakeup per period in mode 3 for nothing
 * a guest can see, and in mode 0 would hold the line high after terminal
 * count, which on a shared input would hide other sources' edges.
 *
 * One PIT per VM: the realized instance is kept in a file-static pointer
 * for pit_dev_out0_enable (the HPET's legacy replacement), set at realize
 * and cleared at teardown; a second `vdev timer8254` is refused.
 *
 * Context: port accesses on vCPU threads, the timer on the I/O event
 * thread; the model has its own lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/pit.h"
#include "devices/dtimer.h"
#include "util/log.h"

#define TAG "timer8254"

#define PORT61 0x61

struct pit_dev {
    struct pit *pit;
    struct dtimer *timer;
    struct irq_line line;
    void *vm; /* dev_ctx.opaque */
    uint64_t base;
};

static pthread_mutex_t the_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pit_dev *the_pit;

static void on_out0(void *opaque, bool level)
{
    struct pit_dev *d = opaque;
    if (level)
        irq_line_pulse(&d->line);
}

static void on_arm(void *opaque, uint64_t deadline)
{
    struct pit_dev *d = opaque;
    if (deadline)
        dtimer_arm(d->timer, deadline);
    else
        dtimer_disarm(d->timer);
}

static const struct pit_ops dev_ops = {on_out0, on_arm};

static void on_timer(void *opaque)
{
    struct pit_dev *d = opaque;
    pit_tick(d->pit, dtimer_now());
}

/* An 8-bit device: a wider access is that many byte accesses. */
static uint64_t ports_read(void *opaque, uint64_t off, unsigned size)
{
    struct pit_dev *d = opaque;
    uint64_t now = dtimer_now(), v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)pit_read(d->pit, (unsigned)off + i, now) << (8 * i);
    return v;
}

static void ports_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pit_dev *d = opaque;
    uint64_t now = dtimer_now();
    for (unsigned i = 0; i < size; i++)
        pit_write(d->pit, (unsigned)off + i, (uint8_t)(val >> (8 * i)), now);
}

static uint64_t port61_read(void *opaque, uint64_t off, unsigned size)
{
    struct pit_dev *d = opaque;
    (void)off, (void)size;
    return pit_port61_read(d->pit, dtimer_now());
}

static void port61_write(void *opaque, uint64_t off, uint64_t val,
                         unsigned size)
{
    struct pit_dev *d = opaque;
    (void)off, (void)size;
    pit_port61_write(d->pit, (uint8_t)val, dtimer_now());
}

static const struct region_ops ports_ops = {ports_read, ports_write};
static const struct region_ops port61_ops = {port61_read, port61_write};

static void pit_dev_free(struct pit_dev *d)
{
    dtimer_free(d->timer);
    pit_free(d->pit);
    free(d);
}

static void pit_teardown(void *state)
{
    struct pit_dev *d = state;
    pthread_mutex_lock(&the_lock);
    if (the_pit == d)
        the_pit = NULL;
    pthread_mutex_unlock(&the_lock);
    pit_dev_free(d);
}

static int connect_line(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                        struct irq_line *line)
{
    *line = irq_line_none();
    if (vd->intrs.n == 0) {
        log_warn(TAG, "no intr: the 8254's OUT0 (the timer interrupt, ISA "
                      "IRQ 0) is not connected");
        return 0;
    }
    if (!ctx->irq_resolve) {
        log_warn(TAG, "this platform cannot wire device interrupts: the "
                      "8254's OUT0 is not connected");
        return 0;
    }
    return ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], 0 /* ISA IRQ 0 */,
                            line) < 0
               ? -1
               : 0;
}

int pit_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst)
{
    if (vd->has_loc && vd->loc.space != SPACE_IO) {
        log_fatal(TAG, "only io: locations are supported for timer8254");
        return -1;
    }
    uint64_t base = vd->has_loc ? vd->loc.base : 0x40;
    pthread_mutex_lock(&the_lock);
    uint64_t other = the_pit ? the_pit->base : 0;
    bool taken = the_pit != NULL;
    pthread_mutex_unlock(&the_lock);
    if (taken) {
        log_fatal(TAG,
                  "a second vdev timer8254 (io 0x%llx): a VM has one 8254, "
                  "already at io 0x%llx",
                  (unsigned long long)base, (unsigned long long)other);
        return -1;
    }
    struct pit_dev *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    d->vm = ctx->opaque;
    d->base = base;
    if (connect_line(vd, ctx, &d->line) < 0) {
        free(d);
        return -1;
    }
    d->timer = dtimer_new(ctx->ev, on_timer, d, 0);
    d->pit = d->timer ? pit_new(&dev_ops, d, dtimer_now()) : NULL;
    if (!d->pit) {
        if (d->timer)
            log_fatal(TAG, "out of memory");
        pit_dev_free(d);
        return -1;
    }
    int e = bus_map(ctx->pio, "timer8254", base, 4, &ports_ops, d);
    if (e < 0) {
        log_fatal(TAG, "cannot map the 8254 at io 0x%llx: %s",
                  (unsigned long long)base, strerror(-e));
        pit_dev_free(d);
        return -1;
    }
    /* Port 0x61 (system control port B) belongs to the PIT model: its
     * bit 0 is counter 2's gate and bit 5 counter 2's output. */
    e = bus_map(ctx->pio, "timer8254 port 0x61", PORT61, 1, &port61_ops, d);
    if (e < 0) {
        log_fatal(TAG, "cannot map port 0x61 (8254 counter 2 gate): %s",
                  strerror(-e));
        (void)bus_unmap(ctx->pio, base);
        pit_dev_free(d);
        return -1;
    }
    pthread_mutex_lock(&the_lock);
    the_pit = d;
    pthread_mutex_unlock(&the_lock);
    inst->state = d;
    inst->teardown = pit_teardown;
    return 0;
}

void pit_dev_out0_enable(void *ctx_opaque, bool on)
{
    pthread_mutex_lock(&the_lock);
    if (the_pit && the_pit->vm == ctx_opaque)
        pit_set_out0_enabled(the_pit->pit, on, dtimer_now());
    pthread_mutex_unlock(&the_lock);
}

/*
 * test_x86_timer_dev.c: the glue of the 8254 (src/arch/x86/pit_dev.c) and
 * of the MC146818 (src/devices/rtc.c): realize maps the ports, resolves
 * the interrupt as ISA IRQ 0 / 8 through ctx->irq_resolve, and the device
 * timer on a running event loop delivers the models' interrupts to a fake
 * controller input (waited for on a condition variable, never slept for).
 * One PIT per VM: a second realize is refused until the first is torn
 * down; pit_dev_out0_enable reaches the realized PIT only. The RTC
 * describes itself as DEV_ROLE_RTC, by which x86_rtc_irq_enable (HPET
 * legacy replacement) finds it in the VM's device list and disconnects
 * its interrupt.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "arch/x86/arch.h"
#include "devices/device.h"
#include "vm/machine.h"

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct dev_inst inst;
    struct irq_chip chip;
    struct irq_input in;
    pthread_mutex_t m;
    pthread_cond_t cv;
    unsigned rises, falls, resolves;
    int isa;
};

static void set_pin(void *opaque, uint32_t pin, bool level)
{
    struct env *e = opaque;
    (void)pin;
    pthread_mutex_lock(&e->m);
    if (level)
        e->rises++;
    else
        e->falls++;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->m);
}

static int fake_resolve(void *opaque, const struct intr *in, int isa,
                        struct irq_line *out)
{
    struct env *e = opaque;
    assert_int_equal(in->line, e->vd.intrs.v[0].line);
    e->resolves++;
    e->isa = isa;
    *out = irq_line_none();
    out->isa = isa;
    return irq_line_connect(out, &e->in);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    pthread_mutex_init(&e->m, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->chip = (struct irq_chip){
        .name = "fake", .set_pin = set_pin, .opaque = e, .npins = 24};
    irq_input_init(&e->in, &e->chip, 2);
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = fake_resolve,
                              .opaque = e,
                              .ev = ev_new()};
    assert_non_null(e->ctx.ev);
    e->isa = -2;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    ev_stop(e->ctx.ev);
    if (e->inst.teardown)
        e->inst.teardown(e->inst.state);
    ev_free(e->ctx.ev);
    VEC_FREE(&e->vd.intrs);
    irq_input_destroy(&e->in);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->m);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    free(e);
    return 0;
}

static uint32_t in8(struct env *e, uint16_t port)
{
    uint32_t v = 0;
    assert_int_equal(bus_access(&e->pio, port, &v, 1, false), BUS_OK);
    return v;
}

static void out8(struct env *e, uint16_t port, uint32_t v)
{
    assert_int_equal(bus_access(&e->pio, port, &v, 1, true), BUS_OK);
}

/* Wait (at most 10 s, for a loaded host) until *n >= want. */
static bool wait_for(struct env *e, const unsigned *n, unsigned want)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&e->m);
    int r = 0;
    while (*n < want && r == 0)
        r = pthread_cond_timedwait(&e->cv, &e->m, &dl);
    bool ok = *n >= want;
    pthread_mutex_unlock(&e->m);
    return ok;
}

static void add_intr(struct env *e, uint32_t line)
{
    struct intr *i = VEC_PUSH(&e->vd.intrs);
    assert_non_null(i);
    memset(i, 0, sizeof(*i));
    i->line = line;
}

/* ---- 8254 ---- */

static void test_pit_realize(void **state)
{
    struct env *e = *state;
    add_intr(e, 2);
    assert_int_equal(pit_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(e->resolves, 1);
    assert_int_equal(e->isa, 0); /* ISA IRQ 0 */
    assert_int_equal(ev_start(e->ctx.ev), 0);
    /* A second 8254 is refused. */
    struct dev_inst other = {0};
    assert_int_equal(pit_realize(&e->vd, &e->ctx, &other), -1);
    /* Port 0x61: gate and speaker bits read back. */
    out8(e, 0x61, 0x03);
    assert_int_equal(in8(e, 0x61) & 0x0f, 0x03);
    /* Counter 0, mode 2, count 200 (168 us): periodic pulses. */
    out8(e, 0x43, 0x34);
    out8(e, 0x40, 200);
    out8(e, 0x40, 0);
    assert_true(wait_for(e, &e->rises, 3));
    /* Each edge is a pulse: the input is low again after it. */
    pthread_mutex_lock(&e->m);
    assert_true(e->falls + 1 >= e->rises);
    pthread_mutex_unlock(&e->m);
    /* HPET legacy replacement: another VM's call does not disconnect
     * OUT0 (the mode 0 edge still comes); ours disconnects and connects
     * it again (pit.c's tests check the disconnected state). */
    out8(e, 0x43, 0x30);
    pit_dev_out0_enable(NULL, false);
    pthread_mutex_lock(&e->m);
    unsigned r0 = e->rises;
    pthread_mutex_unlock(&e->m);
    out8(e, 0x40, 100);
    out8(e, 0x40, 0);
    assert_true(wait_for(e, &e->rises, r0 + 1));
    pit_dev_out0_enable(e, false);
    pit_dev_out0_enable(e, true);
    out8(e, 0x43, 0x30);
    out8(e, 0x40, 100);
    out8(e, 0x40, 0);
    assert_true(wait_for(e, &e->rises, r0 + 2));
    /* Latched reads through the bus: the count runs down. */
    out8(e, 0x43, 0x30);
    out8(e, 0x40, 0xff);
    out8(e, 0x40, 0xff);
    out8(e, 0x43, 0x00);
    uint32_t lo = in8(e, 0x40), hi = in8(e, 0x40);
    assert_true((hi << 8 | lo) <= 0xffff);
    assert_true((hi << 8 | lo) > 0xff00);
}

static void test_pit_again(void **state)
{
    struct env *e = *state;
    /* The previous test's PIT was torn down: realize works again; with
     * no intr there is no line (warned) and nothing is resolved. */
    assert_int_equal(pit_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(e->resolves, 0);
    assert_int_equal(in8(e, 0x43), 0xff);
}

/* ---- MC146818 ---- */

static uint8_t cmos(struct env *e, uint8_t idx)
{
    out8(e, 0x70, idx);
    return (uint8_t)in8(e, 0x71);
}

static void test_rtc_irq(void **state)
{
    struct env *e = *state;
    add_intr(e, 8);
    assert_int_equal(rtc_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(e->isa, 8);
    assert_int_equal(ev_start(e->ctx.ev), 0);
    (void)cmos(e, 0x0c);
    out8(e, 0x70, 0x0b);
    out8(e, 0x71, 0x42); /* PIE at 1024 Hz */
    for (unsigned i = 1; i <= 3; i++) {
        assert_true(wait_for(e, &e->rises, i));
        assert_int_equal(cmos(e, 0x0c) & 0xc0, 0xc0);
        assert_true(wait_for(e, &e->falls, i)); /* read C: deasserted */
    }
    out8(e, 0x70, 0x0b);
    out8(e, 0x71, 0x02);
    /* The update-ended interrupt, once a second. */
    (void)cmos(e, 0x0c);
    pthread_mutex_lock(&e->m);
    unsigned r = e->rises;
    pthread_mutex_unlock(&e->m);
    out8(e, 0x70, 0x0b);
    out8(e, 0x71, 0x12);
    assert_true(wait_for(e, &e->rises, r + 1));
    assert_int_equal(cmos(e, 0x0c) & 0x90, 0x90);
}

/* HPET legacy replacement through the VM's device list: the RTC found by
 * its role, its interrupt off (register C still shows IRQF when polled)
 * and on again (the periodic interrupts come back). */
static void test_rtc_legacy_replacement(void **state)
{
    struct env *e = *state;
    add_intr(e, 8);
    assert_int_equal(rtc_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(e->inst.desc.role, DEV_ROLE_RTC);
    assert_int_equal(e->inst.desc.base, 0x70);
    assert_int_equal(e->inst.desc.isa, 8);
    struct dev_inst others[2] = {{.name = "ser8250"}, e->inst};
    others[0].desc.role = DEV_ROLE_UART;
    struct vm *vm = calloc(1, sizeof(*vm));
    assert_non_null(vm);
    vm->devs.v.v = others;
    vm->devs.v.n = 2;
    assert_int_equal(ev_start(e->ctx.ev), 0);
    (void)cmos(e, 0x0c);
    out8(e, 0x70, 0x0b);
    out8(e, 0x71, 0x42); /* PIE at 1024 Hz */
    assert_true(wait_for(e, &e->rises, 1));
    x86_rtc_irq_enable(vm, false); /* asserted: dropped */
    assert_true(wait_for(e, &e->falls, 1));
    assert_int_equal(cmos(e, 0x0c) & 0xc0, 0xc0);
    /* Poll C until a period boundary has passed again (IRQF set by the
     * time, PIE on): no edge came for it. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint8_t c;
    do {
        c = cmos(e, 0x0c);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (!(c & 0x80) && t.tv_sec - t0.tv_sec < 10);
    assert_int_equal(c & 0xc0, 0xc0);
    pthread_mutex_lock(&e->m);
    assert_int_equal(e->rises, 1);
    pthread_mutex_unlock(&e->m);
    x86_rtc_irq_enable(vm, true);
    assert_true(wait_for(e, &e->rises, 2));
    free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pit_realize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pit_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtc_irq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtc_legacy_replacement, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

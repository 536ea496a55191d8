/*
 * test_x86_hpet_dev.c: `vdev hpet`'s glue (src/arch/x86/hpet_dev.c): the
 * options (loc, frequency, intr, legacy-free) as the registers show them,
 * the interrupt lines it resolves and drives, FSB messages through
 * msi_send, and dev_ctx.legacy_replacement on LEG_RT_CNF
 * (the 8254's OUT0 and the RTC both disconnected). The glue reads the host
 * clock: waits poll the HPET's own counter until it passed a comparator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/arch.h"
#include "arch/x86/hpet.h"
#include "config/schema.h"
#include "devices/device.h"

#define BASE    0xf8008000u
#define CAP     0x000
#define PERIOD  0x004
#define CFG     0x010
#define ISR     0x020
#define COUNTER 0x0f0
#define TCFG(n) (0x100 + 0x20 * (n))
#define TCMP(n) (0x108 + 0x20 * (n))
#define TFSB(n) (0x110 + 0x20 * (n))

#define LEG_PIN(isa) (48 + (isa)) /* where the fake board wires ISA IRQs */

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct dev_inst inst;
    struct irq_chip chip;
    struct irq_input in[64];
    bool level[64];
    unsigned rises[64];
    unsigned isa_calls, resolve_calls;
    unsigned msis;
    uint64_t msi_addr;
    uint32_t msi_data;
};

static struct env *cur; /* for legacy_replacement */
static int pit_on = -1, rtc_on = -1;
static unsigned pit_calls, rtc_calls;

/* dev_ctx.legacy_replacement: the 8254's OUT0 and the RTC's IRQ 8 are
 * disconnected while it is on. */
static void legacy_replacement(void *ctx_opaque, bool on)
{
    assert_ptr_equal(ctx_opaque, cur);
    pit_on = !on;
    pit_calls++;
    rtc_on = !on;
    rtc_calls++;
}

static void set_pin(void *opaque, uint32_t pin, bool level)
{
    struct env *e = opaque;
    if (level && !e->level[pin])
        e->rises[pin]++;
    e->level[pin] = level;
}

static int resolve(void *opaque, const struct intr *in, int isa,
                   struct irq_line *out)
{
    struct env *e = opaque;
    assert_int_equal(isa, -1);
    e->resolve_calls++;
    *out = irq_line_none();
    return irq_line_connect(out, &e->in[in->line]);
}

static int isa_line(void *opaque, unsigned isa, struct irq_line *out)
{
    struct env *e = opaque;
    e->isa_calls++;
    *out = irq_line_none();
    return irq_line_connect(out, &e->in[LEG_PIN(isa)]);
}

static int msi_send(void *opaque, uint64_t addr, uint32_t data)
{
    struct env *e = opaque;
    e->msis++;
    e->msi_addr = addr;
    e->msi_data = data;
    return 0;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    e->chip = (struct irq_chip){
        .name = "fake", .set_pin = set_pin, .opaque = e, .npins = 64};
    for (unsigned i = 0; i < 64; i++)
        irq_input_init(&e->in[i], &e->chip, i);
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = resolve,
                              .irq_isa = isa_line,
                              .msi_send = msi_send,
                              .legacy_replacement = legacy_replacement,
                              .opaque = e,
                              .ev = ev_new(),
                              .timer_slack_ns = 50000};
    assert_non_null(e->ctx.ev);
    e->vd.has_loc = true;
    e->vd.loc = (struct loc){.space = SPACE_MEM, .base = BASE, .size = 0x400};
    e->vd.span = (struct src_span){.file = "hpet.qvmconf", .line = 7};
    cur = e;
    pit_on = rtc_on = -1;
    pit_calls = rtc_calls = 0;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (e->inst.teardown)
        e->inst.teardown(e->inst.state);
    VEC_FREE(&e->vd.intrs);
    VEC_FREE(&e->vd.opts);
    ev_free(e->ctx.ev);
    for (unsigned i = 0; i < 64; i++)
        irq_input_destroy(&e->in[i]);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    free(e);
    return 0;
}

static void add_intr(struct env *e, uint32_t line)
{
    struct intr *in = VEC_PUSH(&e->vd.intrs);
    assert_non_null(in);
    *in = (struct intr){.pic = 0, .line = line};
}

static void add_opt(struct env *e, const char *name, uint64_t num)
{
    static const struct opt_def defs[] = {{.name = "frequency"},
                                          {.name = "legacy-free"}};
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    assert_non_null(o);
    *o = (struct opt_val){
        .def = strcmp(name, "frequency") ? &defs[1] : &defs[0], .num = num};
}

static void qnx_intrs(struct env *e)
{
    add_intr(e, 2);
    add_intr(e, 8);
    add_intr(e, 10);
}

static uint32_t rd(struct env *e, uint32_t off)
{
    uint32_t v = 0;
    assert_int_equal(bus_access(&e->mmio, BASE + off, &v, 4, false), BUS_OK);
    return v;
}

static void wr(struct env *e, uint32_t off, uint32_t v)
{
    assert_int_equal(bus_access(&e->mmio, BASE + off, &v, 4, true), BUS_OK);
}

static int realize(struct env *e)
{
    return hpet_realize(&e->vd, &e->ctx, &e->inst);
}

/* Until the counter is past `v` (each read also catches the model up). */
static void pass(struct env *e, uint32_t v)
{
    while ((int32_t)(rd(e, COUNTER) - v) <= 0)
        ;
}

static void test_defaults(void **state)
{
    struct env *e = *state;
    qnx_intrs(e);
    assert_int_equal(realize(e), 0);
    assert_int_equal(e->resolve_calls, 3);
    assert_int_equal(e->isa_calls, 2);
    assert_int_equal(rd(e, CAP), 0x8086a201u);   /* 3 timers, LEG_RT_CAP */
    assert_int_equal(rd(e, PERIOD), 0x0429b17f); /* 14318180 Hz */
    static const uint32_t line[3] = {2, 8, 10};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(rd(e, TCFG(i) + 4), 1u << line[i]);
        assert_int_equal(rd(e, TCFG(i)) >> 9 & 0x1f, line[i]);
    }
    /* 1 KiB at loc, nothing after it. */
    assert_non_null(bus_find(&e->mmio, BASE + 0x3ff));
    assert_null(bus_find(&e->mmio, BASE + 0x400));
}

static void test_options(void **state)
{
    struct env *e = *state;
    for (unsigned i = 0; i < 4; i++)
        add_intr(e, 20 + i);
    add_opt(e, "frequency", 100000000);
    add_opt(e, "legacy-free", 1);
    assert_int_equal(realize(e), 0);
    assert_int_equal(e->isa_calls, 0);
    assert_int_equal(rd(e, CAP), 0x80862301u); /* 4 timers, no LEG_RT_CAP */
    assert_int_equal(rd(e, PERIOD), 10000000);
    assert_int_equal(rd(e, TCFG(3) + 4), 1u << 23);
    wr(e, CFG, 3);
    assert_int_equal(rd(e, CFG), 1);
    assert_int_equal(pit_calls, 0);
    assert_int_equal(rtc_calls, 0);
}

static void test_bad_options(void **state)
{
    struct env *e = *state;
    qnx_intrs(e);
    add_opt(e, "frequency", 999);
    assert_int_equal(realize(e), -1);
    e->vd.opts.v[0].num = 1000000001;
    assert_int_equal(realize(e), -1);
    /* In range, but its period does not fit COUNTER_CLK_PERIOD. */
    e->vd.opts.v[0].num = 1000;
    assert_int_equal(realize(e), -1);
    assert_null(bus_find(&e->mmio, BASE));
    /* An input above 31 cannot be named by Tn_INT_ROUTE_CNF. */
    e->vd.opts.v[0].num = 10000000;
    add_intr(e, 40);
    assert_int_equal(realize(e), -1);
    assert_null(bus_find(&e->mmio, BASE));
    e->vd.intrs.n = 3;
    assert_int_equal(realize(e), 0);
    assert_int_equal(rd(e, PERIOD), 100000000);
}

static void test_more_than_24(void **state)
{
    struct env *e = *state;
    for (unsigned i = 0; i < 26; i++)
        add_intr(e, i);
    assert_int_equal(realize(e), 0);
    assert_int_equal(rd(e, CAP) >> 8 & 0x1f, 25);
    assert_non_null(bus_find(&e->mmio, BASE + 0x43f));
    assert_null(bus_find(&e->mmio, BASE + 0x440));
    assert_int_equal(rd(e, TCFG(25) + 4), 1u << 25);
}

/* The lines: level on the routed input, edges, the legacy lines and the
 * PIT's OUT0, FSB messages. */
static void test_lines(void **state)
{
    struct env *e = *state;
    qnx_intrs(e);
    assert_int_equal(realize(e), 0);
    wr(e, TCFG(2), 1u << 2 | 1u << 1); /* enabled, level */
    wr(e, TCMP(2), 20);
    wr(e, TCMP(2) + 4, 0);
    wr(e, TCFG(1), 1u << 2); /* enabled, edge */
    wr(e, TCMP(1), 30);
    wr(e, TCMP(1) + 4, 0);
    wr(e, CFG, 1);
    pass(e, 30);
    assert_true(e->level[10]);
    assert_int_equal(e->rises[10], 1);
    assert_int_equal(rd(e, ISR), 1u << 2);
    assert_false(e->level[8]);
    assert_int_equal(e->rises[8], 1);
    wr(e, ISR, 1u << 2);
    assert_false(e->level[10]);

    /* Legacy replacement: the PIT's OUT0 and the RTC off, timer 0 on ISA
     * IRQ 0. */
    wr(e, CFG, 3);
    assert_int_equal(pit_calls, 1);
    assert_int_equal(pit_on, 0);
    assert_int_equal(rtc_calls, 1);
    assert_int_equal(rtc_on, 0);
    wr(e, CFG, 3); /* no change: no call */
    assert_int_equal(rtc_calls, 1);
    /* The counter runs on the host clock: a comparator far enough ahead
     * (about 14 ms) that a slow build (ThreadSanitizer) has written it
     * before the counter gets there. */
    uint32_t c = rd(e, COUNTER) + 200000;
    wr(e, TCFG(0), 1u << 2 | 1u << 1);
    wr(e, TCMP(0), c);
    wr(e, TCMP(0) + 4, 0);
    pass(e, c);
    assert_true(e->level[LEG_PIN(0)]);
    assert_false(e->level[2]);
    wr(e, CFG, 1); /* back on its route, the PIT and the RTC on again */
    assert_false(e->level[LEG_PIN(0)]);
    assert_true(e->level[2]);
    assert_int_equal(pit_calls, 2);
    assert_int_equal(pit_on, 1);
    assert_int_equal(rtc_calls, 2);
    assert_int_equal(rtc_on, 1);
    wr(e, ISR, 1u << 0);
    assert_false(e->level[2]);

    /* FSB: timer 1 as a message. */
    wr(e, TFSB(1), 0x41);
    wr(e, TFSB(1) + 4, 0xfee00000u);
    c = rd(e, COUNTER) + 200000; /* well ahead, as above */
    wr(e, TCFG(1), 1u << 2 | 1u << 14);
    wr(e, TCMP(1), c);
    pass(e, c);
    assert_int_equal(e->msis, 1);
    assert_int_equal(e->msi_addr, 0xfee00000u);
    assert_int_equal(e->msi_data, 0x41);
    assert_int_equal(e->rises[8], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_than_24, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

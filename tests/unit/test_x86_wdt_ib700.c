/*
 * test_x86_wdt_ib700.c: `vdev wdt-ib700`. The pure model (wdt_ib700.h)
 * with explicit times: the ports, the timeout table Linux's ib700wdt
 * relies on, a ping re-arms, a stop disarms, one expiry per arming. The
 * glue (wdt_ib700_dev.c) on a fake machine with a running event thread:
 * the window on the port bus, and the action taken once on an expiry
 * (START value 0xf: a 0 s timeout, due at once, so no wall-clock wait).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/arch.h"
#include "arch/x86/wdt_ib700.h"
#include "config/schema.h"
#include "devices/device.h"
#include "ev_flush.h"
#include "util/log.h"

#define S      IB700_NS_PER_S
#define T0     (1000 * S) /* an arbitrary "now" */
#define START  IB700_START_OFF
#define STOP   IB700_STOP_OFF
#define NOWAKE UINT64_MAX

/* ---- the model ---- */

static void test_table(void **state)
{
    (void)state;
    /* The board's table: value F = 0 s ... value 0 = 30 s. */
    static const unsigned secs[16] = {30, 28, 26, 24, 22, 20, 18, 16,
                                      14, 12, 10, 8,  6,  4,  2,  0};
    for (unsigned v = 0; v < 16; v++) {
        assert_int_equal(ib700_timeout_s(v), secs[v]);
        assert_int_equal(ib700_timeout_s(v | 0xf0), secs[v]);
    }
    /* What Linux's driver writes for its `timeout` (15 - (t + 1) / 2)
     * gives at least t seconds, at most one more. */
    for (int t = 0; t <= 30; t++) {
        unsigned got = ib700_timeout_s((unsigned)(15 - (t + 1) / 2));
        assert_true(got >= (unsigned)t && got <= (unsigned)t + 1);
    }
}

static void test_start_expires_once(void **state)
{
    (void)state;
    struct ib700 w;
    ib700_init(&w);
    unsigned secs = 99;
    uint64_t next = 1;
    assert_false(ib700_tick(&w, T0, &secs, &next));
    assert_int_equal(next, 0); /* disarmed at reset */
    assert_int_equal(ib700_write(&w, START, 0x0e, 1, T0), T0 + 2 * S);
    assert_false(ib700_tick(&w, T0 + 2 * S - 1, &secs, &next));
    assert_int_equal(next, T0 + 2 * S);
    assert_true(ib700_tick(&w, T0 + 2 * S, &secs, &next));
    assert_int_equal(secs, 2);
    assert_false(w.armed);
    /* Once: a late or repeated wake-up does not fire again. */
    assert_false(ib700_tick(&w, T0 + 10 * S, &secs, &next));
    assert_int_equal(next, 0);
    /* The high nibble is ignored; 0x0 is the longest, 30 s. */
    assert_int_equal(ib700_write(&w, START, 0xf0, 1, T0), T0 + 30 * S);
    assert_false(ib700_tick(&w, T0 + 30 * S - 1, NULL, NULL));
    assert_true(ib700_tick(&w, T0 + 30 * S, &secs, NULL));
    assert_int_equal(secs, 30);
}

static void test_ping_rearms(void **state)
{
    (void)state;
    struct ib700 w;
    ib700_init(&w);
    uint64_t t = T0;
    assert_int_equal(ib700_write(&w, START, 0x0e, 1, t), t + 2 * S);
    /* Pings every 1.5 s for 30 s: never expires, each moves the deadline. */
    for (int i = 0; i < 20; i++) {
        assert_false(ib700_tick(&w, t + 3 * S / 2, NULL, NULL));
        t += 3 * S / 2;
        assert_int_equal(ib700_write(&w, START, 0x0e, 1, t), t + 2 * S);
    }
    /* A ping may change the timeout (Linux's WDIOC_SETTIMEOUT). */
    assert_int_equal(ib700_write(&w, START, 0x0a, 1, t), t + 10 * S);
    assert_false(ib700_tick(&w, t + 9 * S, NULL, NULL));
    unsigned secs = 0;
    assert_true(ib700_tick(&w, t + 10 * S, &secs, NULL));
    assert_int_equal(secs, 10);
}

static void test_stop_disarms(void **state)
{
    (void)state;
    struct ib700 w;
    ib700_init(&w);
    assert_int_equal(ib700_write(&w, START, 0x0e, 1, T0), T0 + 2 * S);
    assert_int_equal(ib700_write(&w, STOP, 0x5a, 1, T0 + S), 0); /* any */
    uint64_t next = 1;
    assert_false(ib700_tick(&w, T0 + 100 * S, NULL, &next));
    assert_int_equal(next, 0);
    /* Started again after a stop: a fresh timeout from then. */
    assert_int_equal(ib700_write(&w, START, 0x0d, 1, T0 + 200 * S),
                     T0 + 204 * S);
    assert_true(ib700_tick(&w, T0 + 204 * S, NULL, NULL));
}

static void test_other_port_and_lanes(void **state)
{
    (void)state;
    struct ib700 w;
    ib700_init(&w);
    /* loc + 1 decodes nothing. */
    assert_int_equal(ib700_write(&w, 1, 0x0e, 1, T0), NOWAKE);
    assert_false(w.armed);
    /* A word at loc + 1 reaches START with its high byte. */
    assert_int_equal(ib700_write(&w, 1, 0x0c00, 2, T0), T0 + 6 * S);
    assert_true(w.armed);
    /* A word at loc (out dx, ax at 0x441): the low byte stops it. */
    assert_int_equal(ib700_write(&w, STOP, 0x0e0e, 2, T0), 0);
    assert_false(w.armed);
    /* Value 0xf: 0 s, due at once. */
    assert_int_equal(ib700_write(&w, START, 0x0f, 1, T0), T0);
    unsigned secs = 99;
    assert_true(ib700_tick(&w, T0, &secs, NULL));
    assert_int_equal(secs, 0);
}

/* ---- the glue ---- */

#define PIN 5

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct dev_inst inst;
    struct irq_chip chip;
    struct irq_input in;
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned stops, dumps, rises, events; /* events: each of them */
    enum vm_stop why;
    char dump_why[128];
    char order[8]; /* 'd' dump, 's' stop, 'i' interrupt */
    int resolve_calls;
};

static char last_line[512];
static unsigned lines_with_expired;

static void sink(enum log_class c, const char *line)
{
    (void)c;
    if (strstr(line, "expired")) {
        lines_with_expired++;
        snprintf(last_line, sizeof(last_line), "%s", line);
    }
}

static void note(struct env *e, char what)
{
    /* under e->m */
    size_t n = strlen(e->order);
    if (n + 1 < sizeof(e->order))
        e->order[n] = what;
    e->events++;
    pthread_cond_broadcast(&e->c);
}

static void set_pin(void *opaque, uint32_t pin, bool level)
{
    struct env *e = opaque;
    assert_int_equal(pin, PIN);
    if (level) {
        pthread_mutex_lock(&e->m);
        e->rises++;
        note(e, 'i');
        pthread_mutex_unlock(&e->m);
    }
}

static int resolve(void *opaque, const struct intr *in, int isa,
                   struct irq_line *out)
{
    struct env *e = opaque;
    assert_int_equal(isa, -1);
    assert_int_equal(in->line, PIN);
    e->resolve_calls++;
    *out = irq_line_none();
    return irq_line_connect(out, &e->in);
}

static void stop(void *opaque, enum vm_stop why)
{
    struct env *e = opaque;
    pthread_mutex_lock(&e->m);
    e->stops++;
    e->why = why;
    note(e, 's');
    pthread_mutex_unlock(&e->m);
}

static int dump(void *opaque, const char *why)
{
    struct env *e = opaque;
    pthread_mutex_lock(&e->m);
    e->dumps++;
    snprintf(e->dump_why, sizeof(e->dump_why), "%s", why);
    note(e, 'd');
    pthread_mutex_unlock(&e->m);
    return -1; /* as without a `dump`: the action goes on */
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    pthread_mutex_init(&e->m, NULL);
    pthread_cond_init(&e->c, NULL);
    e->chip = (struct irq_chip){
        .name = "fake", .set_pin = set_pin, .opaque = e, .npins = 64};
    irq_input_init(&e->in, &e->chip, PIN);
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = resolve,
                              .stop = stop,
                              .dump = dump,
                              .opaque = e,
                              .ev = ev_new(),
                              .timer_slack_ns = 0};
    assert_non_null(e->ctx.ev);
    assert_int_equal(ev_start(e->ctx.ev), 0);
    e->vd.has_loc = true;
    e->vd.loc = (struct loc){.space = SPACE_IO, .base = 0x441, .size = 3};
    e->vd.span = (struct src_span){.file = "wdt.qvmconf", .line = 3};
    last_line[0] = '\0';
    lines_with_expired = 0;
    log_set_sink(sink);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    ev_stop(e->ctx.ev);
    log_set_sink(NULL);
    if (e->inst.teardown)
        e->inst.teardown(e->inst.state);
    VEC_FREE(&e->vd.intrs);
    VEC_FREE(&e->vd.opts);
    ev_free(e->ctx.ev);
    irq_input_destroy(&e->in);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    pthread_cond_destroy(&e->c);
    pthread_mutex_destroy(&e->m);
    free(e);
    return 0;
}

/* action: 0 terminate, 1 fiq; dump: the `dump,` prefix. */
static void set_action(struct env *e, unsigned action, bool with_dump)
{
    static const struct opt_def def = {.name = "action"};
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    assert_non_null(o);
    *o = (struct opt_val){.def = &def, .num = action, .num2 = with_dump};
}

static void add_intr(struct env *e)
{
    struct intr *in = VEC_PUSH(&e->vd.intrs);
    assert_non_null(in);
    *in = (struct intr){.pic = 0, .line = PIN};
}

static void outb(struct env *e, uint16_t port, uint8_t v)
{
    assert_int_equal(bus_access(&e->pio, port, &v, 1, true), BUS_OK);
}

/* Until `n` actions were seen (the bound only turns a hang into a
 * failure). */
static void wait_events(struct env *e, unsigned n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 60;
    pthread_mutex_lock(&e->m);
    int r = 0;
    while (e->events < n && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&e->c, &e->m, &dl);
    unsigned got = e->events;
    pthread_mutex_unlock(&e->m);
    assert_true(got >= n);
}

static void test_dev_window(void **state)
{
    struct env *e = *state;
    assert_int_equal(wdt_ib700_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(e->resolve_calls, 0); /* terminate: no line */
    /* Write-only: reads are all ones; 0x441-0x443 are its window. */
    uint8_t b = 0;
    assert_int_equal(bus_access(&e->pio, 0x441, &b, 1, false), BUS_OK);
    assert_int_equal(b, 0xff);
    uint16_t w = 0;
    assert_int_equal(bus_access(&e->pio, 0x442, &w, 2, false), BUS_OK);
    assert_int_equal(w, 0xffff);
    assert_int_equal(bus_access(&e->pio, 0x440, &b, 1, false), BUS_UNMAPPED);
    assert_int_equal(bus_access(&e->pio, 0x444, &b, 1, false), BUS_UNMAPPED);
    /* Armed then stopped: nothing happens. */
    outb(e, 0x443, 0x0e);
    outb(e, 0x441, 0);
    assert_true(ev_flush(e->ctx.ev));
    assert_int_equal(e->events, 0);
}

static void test_dev_terminate(void **state)
{
    struct env *e = *state;
    assert_int_equal(wdt_ib700_realize(&e->vd, &e->ctx, &e->inst), 0);
    outb(e, 0x443, 0x0f); /* 0 s */
    wait_events(e, 1);
    assert_true(ev_flush(e->ctx.ev));
    assert_int_equal(e->stops, 1);
    assert_int_equal(e->why, STOP_WATCHDOG);
    assert_int_equal(e->dumps, 0);
    assert_int_equal(lines_with_expired, 1);
    assert_non_null(strstr(last_line, "wdt-ib700 (io 0x441) expired"));
    assert_non_null(strstr(last_line, "within 0 s"));
    assert_non_null(strstr(last_line, "terminate"));
}

static void test_dev_dump_terminate(void **state)
{
    struct env *e = *state;
    static char name[] = "wd0";
    e->vd.name = name;
    e->vd.loc.base = 0x241;
    set_action(e, 0, true);
    assert_int_equal(wdt_ib700_realize(&e->vd, &e->ctx, &e->inst), 0);
    uint8_t v = 0x0f;
    /* The window follows loc. */
    assert_int_equal(bus_access(&e->pio, 0x443, &v, 1, true), BUS_UNMAPPED);
    outb(e, 0x243, 0x0f);
    wait_events(e, 2);
    assert_true(ev_flush(e->ctx.ev));
    assert_string_equal(e->order, "ds"); /* the dump, then the end */
    assert_int_equal(e->why, STOP_WATCHDOG);
    assert_string_equal(e->dump_why, "watchdog wdt-ib700 'wd0' (io 0x241)");
    assert_non_null(strstr(last_line, "action dump,terminate"));
}

static void test_dev_fiq(void **state)
{
    struct env *e = *state;
    set_action(e, 1, false);
    add_intr(e);
    assert_int_equal(wdt_ib700_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(e->resolve_calls, 1);
    outb(e, 0x443, 0x0f);
    wait_events(e, 1);
    assert_true(ev_flush(e->ctx.ev));
    /* One pulse, the guest runs on, the watchdog is disarmed. */
    assert_string_equal(e->order, "i");
    assert_int_equal(e->stops, 0);
    /* Armed again: one more pulse. */
    outb(e, 0x443, 0x0f);
    wait_events(e, 2);
    assert_true(ev_flush(e->ctx.ev));
    assert_string_equal(e->order, "ii");
    assert_int_equal(e->stops, 0);
    assert_int_equal(e->dumps, 0);
}

static void test_dev_fiq_needs_intr(void **state)
{
    struct env *e = *state;
    set_action(e, 1, true);
    assert_int_equal(wdt_ib700_realize(&e->vd, &e->ctx, &e->inst), -1);
    assert_null(e->inst.state);
    uint8_t v = 0;
    assert_int_equal(bus_access(&e->pio, 0x443, &v, 1, true), BUS_UNMAPPED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_start_expires_once),
        cmocka_unit_test(test_ping_rearms),
        cmocka_unit_test(test_stop_disarms),
        cmocka_unit_test(test_other_port_and_lanes),
        cmocka_unit_test_setup_teardown(test_dev_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_terminate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_dump_terminate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dev_fiq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_fiq_needs_intr, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

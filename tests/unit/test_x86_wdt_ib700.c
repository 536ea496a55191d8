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

#include "wdt_env.h"

static int setup(void **state)
{
    return env_setup(state,
                     (struct loc){.space = SPACE_IO, .base = 0x441, .size = 3});
}

static void outb(struct env *e, uint16_t port, uint8_t v)
{
    assert_int_equal(bus_access(&e->pio, port, &v, 1, true), BUS_OK);
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

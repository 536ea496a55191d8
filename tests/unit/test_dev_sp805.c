/*
 * test_dev_sp805.c: `vdev wdt-sp805`. The pure model (devices/sp805.h)
 * with explicit times: the registers Linux's sp805_wdt uses, the
 * PrimeCell IDs its AMBA bus matches, the interrupt at the first expiry
 * and the reset at the second, a ping (WdogIntClr) reloads, the lock, a
 * stopped counter, no reset without RESEN. The glue (wdt_sp805.c) on a
 * fake machine with a running event thread: the window on the MMIO bus
 * and the action when the reset is asserted (WdogLoad 0: due at once, so
 * no wall-clock wait).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/schema.h"
#include "devices/device.h"
#include "devices/sp805.h"
#include "ev_flush.h"
#include "util/log.h"

#define S  SP805_NS_PER_S
#define MS (S / 1000)
#define T0 (1000 * S) /* an arbitrary "now" */

/* ---- the model ---- */

static void test_reset_state_and_ids(void **state)
{
    (void)state;
    struct sp805 w;
    sp805_init(&w, 25000000);
    assert_int_equal(sp805_read(&w, SP805_LOAD, T0), 0xffffffffu);
    assert_int_equal(sp805_read(&w, SP805_VALUE, T0 + S), 0xffffffffu);
    assert_int_equal(sp805_read(&w, SP805_CONTROL, T0), 0);
    assert_int_equal(sp805_read(&w, SP805_RIS, T0), 0);
    assert_int_equal(sp805_read(&w, SP805_LOCK, T0), 0);
    uint64_t next = 1;
    assert_false(sp805_tick(&w, T0 + 1000 * S, &next));
    assert_int_equal(next, 0); /* stopped at reset */
    /* PrimeCell: peripheral ID 0x00141805, cell ID 0xb105f00d, a byte
     * per word (what amba_device_try_add assembles). */
    static const uint8_t want[8] = {0x05, 0x18, 0x14, 0x00,
                                    0x0d, 0xf0, 0x05, 0xb1};
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(sp805_read(&w, 0xfe0 + 4 * i, T0), want[i]);
    assert_int_equal(sp805_read(&w, SP805_ITCR, T0), 0);
    assert_int_equal(sp805_read(&w, 0x018, T0), 0);
}

/* 1 kHz: a tick per ms; Load 999: a period of 1 s. */
static void start(struct sp805 *w, uint32_t ctl)
{
    sp805_init(w, 1000);
    sp805_write(w, SP805_LOCK, SP805_UNLOCK, T0);
    sp805_write(w, SP805_LOAD, 999, T0);
    sp805_write(w, SP805_INTCLR, 1, T0);
    sp805_write(w, SP805_CONTROL, ctl, T0);
    sp805_write(w, SP805_LOCK, 0, T0);
}

static void test_interrupt_then_reset(void **state)
{
    (void)state;
    struct sp805 w;
    start(&w, SP805_INTEN | SP805_RESEN);
    assert_int_equal(sp805_read(&w, SP805_VALUE, T0 + 500 * MS), 499);
    uint64_t next = 0;
    assert_false(sp805_tick(&w, T0 + S - 1, &next));
    assert_int_equal(next, T0 + S);
    assert_false(sp805_irq(&w));
    /* The first expiry: the interrupt, the counter reloaded. */
    assert_false(sp805_tick(&w, T0 + S, &next));
    assert_true(sp805_irq(&w));
    assert_int_equal(sp805_read(&w, SP805_RIS, T0 + S), 1);
    assert_int_equal(sp805_read(&w, SP805_MIS, T0 + S), 1);
    assert_int_equal(next, T0 + 2 * S);
    assert_int_equal(sp805_read(&w, SP805_VALUE, T0 + S + 100 * MS), 899);
    /* The second: the reset, reported once; the counter stops at 0. */
    assert_true(sp805_tick(&w, T0 + 2 * S, &next));
    assert_int_equal(next, 0);
    assert_true(w.reset);
    assert_false(sp805_tick(&w, T0 + 10 * S, &next));
    assert_int_equal(sp805_read(&w, SP805_VALUE, T0 + 10 * S), 0);
    /* action fiq: the guest runs on, the counter from Load again, the
     * interrupt still asserted: one more period, one more reset. */
    sp805_reset_ack(&w, T0 + 10 * S);
    assert_true(sp805_irq(&w));
    assert_false(sp805_tick(&w, T0 + 11 * S - 1, &next));
    assert_int_equal(next, T0 + 11 * S);
    assert_true(sp805_tick(&w, T0 + 11 * S, &next));
}

static void test_late_tick_takes_both(void **state)
{
    (void)state;
    struct sp805 w;
    start(&w, SP805_INTEN | SP805_RESEN);
    uint64_t next = 1;
    assert_true(sp805_tick(&w, T0 + 100 * S, &next)); /* a very late wake */
    assert_true(w.ris);
    assert_int_equal(next, 0);
}

static void test_ping_reloads(void **state)
{
    (void)state;
    struct sp805 w;
    start(&w, SP805_INTEN | SP805_RESEN);
    uint64_t next = 0;
    assert_false(sp805_tick(&w, T0 + S, &next)); /* the interrupt */
    /* Linux's ping: unlock, Load, IntClr, lock. */
    sp805_write(&w, SP805_LOCK, SP805_UNLOCK, T0 + 1500 * MS);
    sp805_write(&w, SP805_LOAD, 999, T0 + 1500 * MS);
    sp805_write(&w, SP805_INTCLR, 1, T0 + 1500 * MS);
    sp805_write(&w, SP805_LOCK, 0, T0 + 1500 * MS);
    assert_false(sp805_irq(&w));
    assert_false(sp805_tick(&w, T0 + 2500 * MS - 1, &next));
    assert_int_equal(next, T0 + 2500 * MS);
    /* Pinged every 1.5 s (within two periods): never a reset. */
    for (uint64_t t = T0 + 3 * S; t < T0 + 30 * S; t += 1500 * MS) {
        assert_false(sp805_tick(&w, t, NULL));
        sp805_write(&w, SP805_LOCK, SP805_UNLOCK, t);
        sp805_write(&w, SP805_INTCLR, 1, t);
        sp805_write(&w, SP805_LOCK, 0, t);
    }
    assert_false(w.reset);
}

static void test_lock(void **state)
{
    (void)state;
    struct sp805 w;
    start(&w, SP805_INTEN | SP805_RESEN);
    assert_int_equal(sp805_read(&w, SP805_LOCK, T0), 1);
    /* Locked: Load, IntClr and Control are ignored. */
    sp805_write(&w, SP805_LOAD, 5, T0);
    sp805_write(&w, SP805_CONTROL, 0, T0);
    assert_false(sp805_tick(&w, T0 + S, NULL));
    sp805_write(&w, SP805_INTCLR, 1, T0 + S);
    assert_int_equal(sp805_read(&w, SP805_LOAD, T0), 999);
    assert_int_equal(sp805_read(&w, SP805_CONTROL, T0), 3);
    assert_true(sp805_irq(&w));
    /* Any value but the key locks; the key unlocks. */
    sp805_write(&w, SP805_LOCK, SP805_UNLOCK + 1, T0 + S);
    sp805_write(&w, SP805_INTCLR, 1, T0 + S);
    assert_true(sp805_irq(&w));
    sp805_write(&w, SP805_LOCK, SP805_UNLOCK, T0 + S);
    assert_int_equal(sp805_read(&w, SP805_LOCK, T0 + S), 0);
    sp805_write(&w, SP805_INTCLR, 1, T0 + S);
    assert_false(sp805_irq(&w));
}

static void test_stop_and_no_reset(void **state)
{
    (void)state;
    struct sp805 w;
    start(&w, SP805_INTEN | SP805_RESEN);
    sp805_write(&w, SP805_LOCK, SP805_UNLOCK, T0);
    /* INTEN cleared: the counter stops where it is. */
    sp805_write(&w, SP805_CONTROL, 0, T0 + 300 * MS);
    uint64_t next = 1;
    assert_false(sp805_tick(&w, T0 + 100 * S, &next));
    assert_int_equal(next, 0);
    assert_int_equal(sp805_read(&w, SP805_VALUE, T0 + 100 * S), 699);
    /* Enabled again: reloaded from Load. */
    sp805_write(&w, SP805_CONTROL, SP805_INTEN, T0 + 100 * S);
    assert_int_equal(sp805_read(&w, SP805_VALUE, T0 + 100 * S), 999);
    /* Without RESEN: the interrupt, then only the counter moves. */
    assert_false(sp805_tick(&w, T0 + 101 * S, &next));
    assert_true(sp805_irq(&w));
    assert_int_equal(next, 0);
    assert_false(sp805_tick(&w, T0 + 1000 * S + 250 * MS, &next));
    assert_false(w.reset);
    assert_int_equal(sp805_read(&w, SP805_VALUE, T0 + 1000 * S + 250 * MS),
                     749);
    /* MIS follows INTEN; RIS does not. */
    sp805_write(&w, SP805_CONTROL, 0, T0 + 1001 * S);
    assert_int_equal(sp805_read(&w, SP805_RIS, T0 + 1001 * S), 1);
    assert_int_equal(sp805_read(&w, SP805_MIS, T0 + 1001 * S), 0);
}

static void test_periods(void **state)
{
    (void)state;
    struct sp805 w;
    sp805_init(&w, 25000000);
    /* Linux's load for 30 s: rate / 2 * 30 - 1; two periods are 30 s. */
    assert_int_equal(sp805_period_ns(&w, 12500000 * 30 - 1), 15 * S);
    assert_int_equal(sp805_period_ns(&w, 0), 40);
    assert_int_equal(sp805_period_ns(&w, UINT32_MAX),
                     (4294967296ull * S + 24999999) / 25000000);
    sp805_init(&w, 3);
    assert_int_equal(sp805_period_ns(&w, 0), 333333334);
}

/* ---- the glue ---- */

#define PIN  40
#define BASE 0x1c0f0000ull

#include "wdt_env.h"

static int setup(void **state)
{
    return env_setup(
        state, (struct loc){.space = SPACE_MEM, .base = BASE, .size = 0x1000});
}

static void set_frequency(struct env *e, uint64_t hz)
{
    static const struct opt_def def = {.name = "frequency"};
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    assert_non_null(o);
    *o = (struct opt_val){.def = &def, .num = hz};
}

static void wr(struct env *e, uint32_t off, uint32_t v)
{
    assert_int_equal(bus_access(&e->mmio, BASE + off, &v, 4, true), BUS_OK);
}

static uint32_t rd(struct env *e, uint32_t off)
{
    uint32_t v = 0;
    assert_int_equal(bus_access(&e->mmio, BASE + off, &v, 4, false), BUS_OK);
    return v;
}

/* What Linux's sp805_wdt does to start it with `load`. */
static void linux_start(struct env *e, uint32_t load)
{
    wr(e, SP805_LOCK, SP805_UNLOCK);
    wr(e, SP805_LOAD, load);
    wr(e, SP805_INTCLR, 1);
    wr(e, SP805_CONTROL, SP805_INTEN | SP805_RESEN);
    wr(e, SP805_LOCK, 0);
    (void)rd(e, SP805_LOCK);
}

static void test_dev_window(void **state)
{
    struct env *e = *state;
    add_intr(e);
    assert_int_equal(wdt_sp805_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(e->resolve_calls, 1); /* WDOGINT, whatever the action */
    assert_int_equal(e->inst.desc.role, DEV_ROLE_SP805);
    assert_int_equal(e->inst.desc.base, BASE);
    assert_int_equal(e->inst.desc.size, 0x1000);
    assert_int_equal(e->inst.desc.gsi, PIN);
    const struct sp805_info *info = e->inst.desc.info;
    assert_int_equal(info->hz, 25000000); /* the default */
    assert_int_equal(rd(e, 0xfe0), 0x05);
    assert_int_equal(rd(e, 0xffc), 0xb1);
    assert_int_equal(rd(e, SP805_LOAD), 0xffffffffu);
    /* Byte reads inside a register: its upper bytes. */
    uint8_t b = 0;
    assert_int_equal(bus_access(&e->mmio, BASE + 2, &b, 1, false), BUS_OK);
    assert_int_equal(b, 0xff);
    uint32_t v = 0;
    assert_int_equal(bus_access(&e->mmio, BASE + 0x1000, &v, 4, false),
                     BUS_UNMAPPED);
    assert_int_equal(bus_access(&e->mmio, BASE - 4, &v, 4, false),
                     BUS_UNMAPPED);
    /* Started with the longest period, then stopped: nothing happens. */
    linux_start(e, 0xffffffffu);
    assert_int_equal(rd(e, SP805_CONTROL), 3);
    wr(e, SP805_LOCK, SP805_UNLOCK);
    wr(e, SP805_CONTROL, 0);
    assert_true(ev_flush(e->ctx.ev));
    assert_int_equal(e->events, 0);
    char line[160];
    e->inst.report(e->inst.state, line, sizeof(line));
    assert_non_null(strstr(line, "control 0 "));
}

static void test_dev_terminate(void **state)
{
    struct env *e = *state;
    add_intr(e);
    assert_int_equal(wdt_sp805_realize(&e->vd, &e->ctx, &e->inst), 0);
    linux_start(e, 0); /* a period of 40 ns */
    wait_events(e, 2);
    assert_true(ev_flush(e->ctx.ev));
    /* The interrupt at the first expiry, the end at the second. */
    assert_string_equal(e->order, "is");
    assert_int_equal(e->stops, 1);
    assert_int_equal(e->why, STOP_WATCHDOG);
    assert_int_equal(e->dumps, 0);
    assert_int_equal(lines_with_expired, 1);
    assert_non_null(
        strstr(last_line, "wdt-sp805 (mem 0x1c0f0000) expired: not pinged"));
    assert_non_null(strstr(last_line, "action terminate"));
    /* Acted on once: nothing more. */
    assert_true(ev_flush(e->ctx.ev));
    assert_int_equal(e->events, 2);
}

static void test_dev_dump_terminate(void **state)
{
    struct env *e = *state;
    static char name[] = "wd0";
    e->vd.name = name;
    e->vd.loc.base = BASE + 0x10000;
    set_action(e, 0, true);
    set_frequency(e, 1000000);
    assert_int_equal(wdt_sp805_realize(&e->vd, &e->ctx, &e->inst), 0);
    uint32_t v = 0;
    /* The window follows loc. */
    assert_int_equal(bus_access(&e->mmio, BASE, &v, 4, false), BUS_UNMAPPED);
    assert_int_equal(((const struct sp805_info *)e->inst.desc.info)->hz,
                     1000000);
    assert_int_equal(bus_access(&e->mmio, BASE + 0x10000 + SP805_LOCK,
                                &(uint32_t){SP805_UNLOCK}, 4, true),
                     BUS_OK);
    assert_int_equal(bus_access(&e->mmio, BASE + 0x10000 + SP805_CONTROL,
                                &(uint32_t){3}, 4, true),
                     BUS_OK);
    assert_int_equal(bus_access(&e->mmio, BASE + 0x10000 + SP805_LOAD,
                                &(uint32_t){0}, 4, true),
                     BUS_OK);
    wait_events(e, 2);
    assert_true(ev_flush(e->ctx.ev));
    assert_string_equal(e->order, "ds"); /* no intr: the dump, the end */
    assert_int_equal(e->why, STOP_WATCHDOG);
    assert_string_equal(e->dump_why,
                        "watchdog wdt-sp805 'wd0' (mem 0x1c100000)");
}

static void test_dev_fiq(void **state)
{
    struct env *e = *state;
    set_action(e, 1, true);
    add_intr(e);
    assert_int_equal(wdt_sp805_realize(&e->vd, &e->ctx, &e->inst), 0);
    linux_start(e, 0);
    wait_events(e, 2);
    /* The guest stops it (as its FIQ handler would). */
    wr(e, SP805_LOCK, SP805_UNLOCK);
    wr(e, SP805_CONTROL, 0);
    assert_true(ev_flush(e->ctx.ev));
    pthread_mutex_lock(&e->m);
    unsigned dumps = e->dumps;
    pthread_mutex_unlock(&e->m);
    /* The interrupt, then a dump per reset; never the end. */
    assert_memory_equal(e->order, "id", 2);
    assert_true(dumps >= 1);
    assert_int_equal(e->stops, 0);
    assert_int_equal(e->rises, 1); /* kept asserted, not pulsed */
    /* INTEN cleared masks WDOGINT (set_pin runs in the write). */
    assert_false(e->level);
    assert_int_equal(rd(e, SP805_RIS), 1);
    assert_int_equal(rd(e, SP805_MIS), 0);
    assert_true(ev_flush(e->ctx.ev));
    assert_int_equal(e->dumps, dumps); /* stopped: nothing more */
    wr(e, SP805_INTCLR, 1);
    assert_int_equal(rd(e, SP805_RIS), 0);
}

static void test_dev_fiq_needs_intr(void **state)
{
    struct env *e = *state;
    set_action(e, 1, false);
    assert_int_equal(wdt_sp805_realize(&e->vd, &e->ctx, &e->inst), -1);
    assert_null(e->inst.state);
    uint32_t v = 0;
    assert_int_equal(bus_access(&e->mmio, BASE, &v, 4, false), BUS_UNMAPPED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_state_and_ids),
        cmocka_unit_test(test_interrupt_then_reset),
        cmocka_unit_test(test_late_tick_takes_both),
        cmocka_unit_test(test_ping_reloads),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_stop_and_no_reset),
        cmocka_unit_test(test_periods),
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

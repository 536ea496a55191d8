/*
 * test_x86_hpet.c: the HPET model (src/arch/x86/hpet.c) driven through its
 * API with explicit times. Register offsets and bits are written as the
 * IA-PC HPET 1.0a specification numbers them, not taken from the model.
 * Every ops call is recorded and checked kind by kind, in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/hpet.h"

#define CAP     0x000
#define PERIOD  0x004
#define CFG     0x010
#define ISR     0x020
#define COUNTER 0x0f0
#define TCFG(n) (0x100 + 0x20 * (n))
#define TCMP(n) (0x108 + 0x20 * (n))
#define TFSB(n) (0x110 + 0x20 * (n))

#define ENABLE     0x1u
#define LEGACY     0x2u
#define T_LEVEL    (1u << 1)
#define T_ENB      (1u << 2)
#define T_PERIODIC (1u << 3)
#define T_PER_CAP  (1u << 4)
#define T_64_CAP   (1u << 5)
#define T_SETVAL   (1u << 6)
#define T_32BIT    (1u << 8)
#define T_ROUTE(r) ((uint32_t)(r) << 9)
#define T_ROUTE_M  (0x1fu << 9)
#define T_FSB      (1u << 14)
#define T_FSB_CAP  (1u << 15)

#define MS 1000000ull
#define S  1000000000ull

enum kind { K_IRQ, K_LEG, K_MSI, K_ARM, K_LEGACY, K_N };

struct ev {
    uint64_t a, b;
    unsigned seq;
};

struct rec {
    struct ev v[K_N][512];
    unsigned n[K_N], cur[K_N];
    unsigned seq;
};

static void push(struct rec *r, enum kind k, uint64_t a, uint64_t b)
{
    assert_true(r->n[k] < 512);
    r->v[k][r->n[k]++] = (struct ev){a, b, r->seq++};
}

static void op_irq(void *o, unsigned t, bool level)
{
    push(o, K_IRQ, t, level);
}

static void op_leg(void *o, unsigned which, bool level)
{
    push(o, K_LEG, which, level);
}

static void op_msi(void *o, uint64_t addr, uint32_t data)
{
    push(o, K_MSI, addr, data);
}

static void op_arm(void *o, uint64_t deadline)
{
    push(o, K_ARM, deadline, 0);
}

static void op_legacy(void *o, bool on)
{
    push(o, K_LEGACY, on, 0);
}

static const struct hpet_ops ops = {op_irq, op_leg, op_msi, op_arm, op_legacy};

/* take: the next unread call of kind k (fails when there is none). */
static const struct ev *take(struct rec *r, enum kind k)
{
    assert_true(r->cur[k] < r->n[k]);
    return &r->v[k][r->cur[k]++];
}

static void none(struct rec *r, enum kind k)
{
    assert_int_equal(r->cur[k], r->n[k]);
}

/* skip: forget the unread calls of kind k. */
static void drop(struct rec *r, enum kind k)
{
    r->cur[k] = r->n[k];
}

static void expect_irq(struct rec *r, unsigned t, bool level)
{
    const struct ev *e = take(r, K_IRQ);
    assert_int_equal(e->a, t);
    assert_int_equal(e->b, level);
}

static void expect_pulse(struct rec *r, enum kind k, unsigned t)
{
    const struct ev *e = take(r, k);
    assert_int_equal(e->a, t);
    assert_int_equal(e->b, 1);
    e = take(r, k);
    assert_int_equal(e->a, t);
    assert_int_equal(e->b, 0);
}

static void expect_arm(struct rec *r, uint64_t deadline)
{
    assert_int_equal(take(r, K_ARM)->a, deadline);
}

/* The last deadline asked for (there must be at least one unread). */
static uint64_t last_arm(struct rec *r)
{
    assert_true(r->cur[K_ARM] < r->n[K_ARM]);
    r->cur[K_ARM] = r->n[K_ARM];
    return r->v[K_ARM][r->n[K_ARM] - 1].a;
}

struct fx {
    struct rec rec;
    struct hpet *h;
};

/* QNX's layout: timer 0 on input 2, timer 1 on 8, timer 2 on 10. */
static struct hpet *make(struct rec *r, uint64_t hz, unsigned n, bool leg,
                         uint64_t now)
{
    struct hpet_params p = {
        .base = 0xf8008000, .hz = hz, .ntimers = n, .legacy_capable = leg};
    const uint8_t lines[3] = {2, 8, 10};
    for (unsigned i = 0; i < 3; i++) {
        p.route_cap[i] = 1u << lines[i];
        p.route[i] = lines[i];
    }
    return hpet_new(&p, &ops, r, now);
}

static uint64_t rd(struct hpet *h, uint64_t off, unsigned size, uint64_t now)
{
    return hpet_read(h, off, size, now);
}

static void wr(struct hpet *h, uint64_t off, uint64_t v, unsigned size,
               uint64_t now)
{
    hpet_write(h, off, v, size, now);
}

static struct fx *fx_new(uint64_t hz)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->h = make(&f->rec, hz, 3, true, 0);
    assert_non_null(f->h);
    return f;
}

static void fx_free(struct fx *f)
{
    hpet_free(f->h);
    free(f);
}

/* Capabilities and period for several frequencies and timer counts. */
static void test_caps(void **state)
{
    (void)state;
    static const struct {
        uint64_t hz;
        uint32_t period;
    } cases[] = {
        {14318180, 0x0429b17f}, /* what ICH HPETs announce */
        {10000000, 100000000},  {100000000, 10000000},
        {1000000000, 1000000},  {232831, 4294960723u},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rec r = {0};
        struct hpet *h = make(&r, cases[i].hz, 3, true, 0);
        assert_non_null(h);
        assert_int_equal(rd(h, PERIOD, 4, 0), cases[i].period);
        /* rev 1, 3 timers, 64-bit counter, LEG_RT_CAP, vendor 8086 */
        assert_int_equal(rd(h, CAP, 4, 0), 0x8086a201u);
        assert_int_equal(rd(h, CAP, 8, 0),
                         (uint64_t)cases[i].period << 32 | 0x8086a201u);
        struct hpet_info info;
        hpet_describe(h, &info);
        assert_int_equal(info.base, 0xf8008000);
        assert_int_equal(info.block_id, 0x8086a201u);
        assert_int_equal(info.ntimers, 3);
        assert_true(info.legacy_cap);
        assert_int_equal(info.vendor_id, 0x8086);
        assert_int_equal(info.period_fs, cases[i].period);
        assert_int_equal(info.min_tick, 128);
        assert_true(info.counter_64bit);
        assert_int_equal(info.hz, cases[i].hz);
        hpet_free(h);
    }
    /* The period of 232830 Hz does not fit 32 bits. */
    struct rec r = {0};
    assert_null(make(&r, 232830, 3, true, 0));
    assert_null(make(&r, 0, 3, true, 0));
    assert_null(make(&r, 14318180, 33, true, 0));

    /* 32 timers, legacy-free: NUM_TIM_CAP 31, no LEG_RT_CAP. */
    struct hpet *h = make(&r, 14318180, 32, false, 0);
    assert_non_null(h);
    assert_int_equal(rd(h, CAP, 4, 0), 0x80861f01u | 1u << 13);
    struct hpet_info info;
    hpet_describe(h, &info);
    assert_int_equal(info.ntimers, 32);
    assert_false(info.legacy_cap);
    /* The last timer is there, and nothing after it. */
    assert_int_equal(rd(h, TCFG(31), 4, 0) & 0xffff,
                     T_PER_CAP | T_64_CAP | T_FSB_CAP);
    assert_int_equal(rd(h, TCMP(31), 8, 0), UINT64_MAX);
    hpet_free(h);

    /* ntimers 0 means 3; timers beyond the last read 0. */
    h = make(&r, 14318180, 0, true, 0);
    assert_int_equal(rd(h, CAP, 4, 0) >> 8 & 0x1f, 2);
    assert_int_equal(rd(h, TCFG(3), 8, 0), 0);
    hpet_free(h);
}

/* Reset state of the timers, and hpet_enable's checks. */
static void test_linux_sanity(void **state)
{
    (void)state;
    struct fx *f = fx_new(14318180);
    struct hpet *h = f->h;
    /* hpet_cfg_working: CFG is not all ones. */
    assert_int_not_equal(rd(h, CFG, 4, 0), 0xffffffffu);
    assert_int_equal(rd(h, CFG, 8, 0), 0);
    /* The period is within Linux's HPET_MIN_PERIOD..HPET_MAX_PERIOD. */
    uint32_t period = (uint32_t)rd(h, PERIOD, 4, 0);
    assert_true(period >= 100000 && period <= 100000000);
    /* Timer reset values: caps, the configured route, comparator ones. */
    const uint32_t route[3] = {2, 8, 10};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(rd(h, TCFG(i), 8, 0),
                         (uint64_t)(1u << route[i]) << 32 | T_FSB_CAP |
                             T_ROUTE(route[i]) | T_64_CAP | T_PER_CAP);
        assert_int_equal(rd(h, TCMP(i), 8, 0), UINT64_MAX);
        assert_int_equal(rd(h, TFSB(i), 8, 0), 0);
    }
    /* Reserved and read-only bits stay as they are. */
    wr(h, CFG, 0xffffffffu, 4, 0);
    assert_int_equal(rd(h, CFG, 8, 0), ENABLE | LEGACY);
    assert_int_equal(take(&f->rec, K_LEGACY)->a, 1);
    wr(h, CFG, 0, 4, 0);
    assert_int_equal(take(&f->rec, K_LEGACY)->a, 0);
    wr(h, CAP, 0, 8, 0);
    assert_int_equal(rd(h, CAP, 4, 0), 0x8086a201u);
    wr(h, TCFG(2), 0xffffffffffffffffull, 8, 0);
    assert_int_equal(rd(h, TCFG(2), 8, 0),
                     (uint64_t)(1u << 10) << 32 | T_FSB_CAP | T_FSB |
                         T_ROUTE(10) | T_32BIT | T_SETVAL | T_64_CAP |
                         T_PER_CAP | T_PERIODIC | T_ENB | T_LEVEL);
    wr(h, TCFG(2), T_FSB_CAP | T_ROUTE(10) | T_64_CAP | T_PER_CAP, 4, 0);
    /* Reserved offsets read 0. */
    assert_int_equal(rd(h, 0x008, 8, 0), 0);
    assert_int_equal(rd(h, 0x018, 8, 0), 0);
    assert_int_equal(rd(h, 0x0f8, 8, 0), 0);
    assert_int_equal(rd(h, 0x118, 8, 0), 0);

    /* hpet_enable: sanitize the global and per channel configuration and
     * find no unknown bits. */
    uint32_t cfg = (uint32_t)rd(h, CFG, 4, 0);
    cfg &= ~(ENABLE | LEGACY);
    wr(h, CFG, cfg, 4, 0);
    assert_int_equal(cfg, 0);
    for (unsigned i = 0; i < 3; i++) {
        cfg = (uint32_t)rd(h, TCFG(i), 4, 0);
        cfg &= ~(T_ENB | T_LEVEL | T_FSB);
        wr(h, TCFG(i), cfg, 4, 0);
        cfg &= ~(T_PERIODIC | T_PER_CAP | T_64_CAP | T_32BIT | T_ROUTE_M |
                 T_FSB | T_FSB_CAP);
        assert_int_equal(cfg, 0);
    }
    /* hpet_counting: stop, reset, start; the counter moves. */
    wr(h, CFG, rd(h, CFG, 4, 0) & ~ENABLE, 4, 100);
    wr(h, COUNTER, 0, 4, 100);
    wr(h, COUNTER + 4, 0, 4, 100);
    wr(h, CFG, rd(h, CFG, 4, 100) | ENABLE, 4, 100);
    uint32_t t1 = (uint32_t)rd(h, COUNTER, 4, 100);
    assert_int_not_equal(rd(h, COUNTER, 4, 100 + 1000), t1);
    /* Nothing was programmed to interrupt. */
    none(&f->rec, K_IRQ);
    none(&f->rec, K_LEG);
    none(&f->rec, K_LEGACY);
    drop(&f->rec, K_ARM);
    fx_free(f);
}

/* The main counter advances at `frequency`, exactly. */
static void test_counter_rate(void **state)
{
    (void)state;
    struct fx *f = fx_new(14318180);
    struct hpet *h = f->h;
    const uint64_t t0 = 5 * S + 123;
    assert_int_equal(rd(h, COUNTER, 8, t0 + S), 0); /* halted */
    wr(h, CFG, ENABLE, 4, t0);
    assert_int_equal(rd(h, COUNTER, 8, t0), 0);
    assert_int_equal(rd(h, COUNTER, 8, t0 + 69), 0); /* 0.988 ticks */
    assert_int_equal(rd(h, COUNTER, 8, t0 + 70), 1); /* 1.002 ticks */
    assert_int_equal(rd(h, COUNTER, 8, t0 + S), 14318180);
    assert_int_equal(rd(h, COUNTER, 4, t0 + 10 * S), 143181800);
    /* One hour: 51545448000 = 12 << 32 | 5840448; 32-bit halves. */
    assert_int_equal(rd(h, COUNTER, 4, t0 + 3600 * S), 5840448);
    assert_int_equal(rd(h, COUNTER + 4, 4, t0 + 3600 * S), 12);
    assert_int_equal(rd(h, COUNTER, 8, t0 + 3600 * S), 51545448000ull);
    /* It never goes back, even for an older time from another thread. */
    assert_int_equal(rd(h, COUNTER, 8, t0 + S), 51545448000ull);
    fx_free(f);

    f = fx_new(1000000000);
    h = f->h;
    wr(h, CFG, ENABLE, 8, 7);
    assert_int_equal(rd(h, COUNTER, 8, 7 + S), 1000000000);
    assert_int_equal(rd(h, COUNTER, 8, 7 + 300 * S), 300000000000ull);
    fx_free(f);

    f = fx_new(10000000);
    h = f->h;
    wr(h, CFG, ENABLE, 4, 0);
    assert_int_equal(rd(h, COUNTER, 8, 99), 0);
    assert_int_equal(rd(h, COUNTER, 8, 100), 1);
    assert_int_equal(rd(h, COUNTER, 8, 3 * S + 250), 30000002);
    fx_free(f);
}

/* Writes while halted, in halves; ignored while running. */
static void test_counter_halted(void **state)
{
    (void)state;
    struct fx *f = fx_new(10000000);
    struct hpet *h = f->h;
    wr(h, COUNTER, 0x89abcdef, 4, 0);
    wr(h, COUNTER + 4, 0x01234567, 4, 0);
    assert_int_equal(rd(h, COUNTER, 8, 0), 0x0123456789abcdefull);
    assert_int_equal(rd(h, COUNTER, 8, 10 * S), 0x0123456789abcdefull);
    assert_int_equal(rd(h, COUNTER + 4, 4, 10 * S), 0x01234567);
    wr(h, COUNTER, 0x1000, 8, 10 * S);
    assert_int_equal(rd(h, COUNTER, 8, 10 * S), 0x1000);
    /* Running from 10 s: 10 MHz. */
    wr(h, CFG, ENABLE, 4, 10 * S);
    assert_int_equal(rd(h, COUNTER, 8, 10 * S + 1000), 0x1000 + 10);
    wr(h, COUNTER, 0, 8, 10 * S + 1000); /* ignored */
    wr(h, COUNTER + 4, 5, 4, 10 * S + 1000);
    assert_int_equal(rd(h, COUNTER, 8, 10 * S + 2000), 0x1000 + 20);
    /* Halted at 10 s + 5 us: frozen there. */
    wr(h, CFG, 0, 4, 10 * S + 5000);
    assert_int_equal(rd(h, COUNTER, 8, 20 * S), 0x1000 + 50);
    /* Restarted later: counts on from the frozen value. */
    wr(h, CFG, ENABLE, 4, 30 * S);
    assert_int_equal(rd(h, COUNTER, 8, 30 * S + 100), 0x1000 + 51);
    none(&f->rec, K_IRQ);
    fx_free(f);
}

/* A one-shot comparator: the deadline asked for, and the edge. */
static void test_oneshot(void **state)
{
    (void)state;
    struct fx *f = fx_new(14318180);
    struct hpet *h = f->h;
    struct rec *r = &f->rec;
    const uint64_t t0 = 1000;
    wr(h, CFG, ENABLE, 4, t0);
    wr(h, TCFG(2), T_ENB, 4, t0);
    none(r, K_ARM); /* comparator all ones: 2^64 ticks away */
    wr(h, TCMP(2), 50, 8, t0);
    /* 50 ticks at 14318180 Hz: 3492.04 ns. */
    expect_arm(r, t0 + 3493);
    assert_int_equal(rd(h, COUNTER, 8, t0 + 3492), 49);
    hpet_tick(h, t0 + 3492); /* early (or spurious): nothing yet */
    none(r, K_IRQ);
    expect_arm(r, t0 + 3493);
    hpet_tick(h, t0 + 3493);
    expect_pulse(r, K_IRQ, 2);
    expect_arm(r, 0); /* a 64-bit one-shot matches once */
    none(r, K_IRQ);
    assert_int_equal(rd(h, ISR, 4, t0 + 5000), 0); /* edge: no status */
    assert_int_equal(rd(h, TCMP(2), 8, t0 + 5000), 50);
    hpet_tick(h, t0 + 10 * S);
    none(r, K_IRQ);
    drop(r, K_ARM);

    /* A late host timer: the read that comes first delivers it. */
    const uint64_t hz = 14318180;
    wr(h, TCMP(2), 20 * hz + 100, 8, t0 + 20 * S - 1000);
    expect_arm(r, t0 + 20 * S + 6985); /* 100 ticks: 6984.2 ns */
    assert_int_equal(rd(h, COUNTER, 8, t0 + 20 * S + 7000), 20 * hz + 100);
    expect_pulse(r, K_IRQ, 2);
    expect_arm(r, 0);
    hpet_tick(h, t0 + 20 * S + 9000);
    none(r, K_IRQ);

    /* Disabled interrupt: no deadline, no edge. */
    wr(h, TCFG(2), 0, 4, t0 + 30 * S);
    drop(r, K_ARM);
    wr(h, TCMP(2), 31 * hz, 8, t0 + 30 * S);
    none(r, K_ARM);
    hpet_tick(h, t0 + 32 * S);
    none(r, K_IRQ);
    drop(r, K_ARM);

    /* Halting the counter drops the deadline; restarting brings it back. */
    wr(h, TCFG(2), T_ENB, 4, t0 + 40 * S);
    wr(h, TCMP(2), 40 * hz + 1432, 8, t0 + 40 * S);
    expect_arm(r, t0 + 40 * S + 100013); /* 1432 ticks */
    wr(h, CFG, 0, 4, t0 + 40 * S + 50000);
    expect_arm(r, 0);
    assert_int_equal(rd(h, COUNTER, 8, 50 * S), 40 * hz + 715);
    wr(h, CFG, ENABLE, 4, 100 * S);
    /* 50 us were 715.9 ticks: the counter stopped 717 ticks short. */
    expect_arm(r, 100 * S + 50077);
    hpet_tick(h, 100 * S + 50077);
    expect_pulse(r, K_IRQ, 2);
    none(r, K_IRQ);
    fx_free(f);
}

/* Periodic: Linux's sequence (VAL_SET, value, then period), the
 * accumulator read back, coalesced late ticks, a new period. */
static void test_periodic(void **state)
{
    (void)state;
    struct fx *f = fx_new(10000000); /* 100 ns per tick */
    struct hpet *h = f->h;
    struct rec *r = &f->rec;
    wr(h, CFG, ENABLE, 4, 0);
    const uint64_t t = 2 * MS;
    /* hpet_clkevt_set_state_periodic with delta = 100000 (10 ms) */
    wr(h, CFG, rd(h, CFG, 4, t) & ~ENABLE, 4, t);
    uint32_t now = (uint32_t)rd(h, COUNTER, 4, t);
    assert_int_equal(now, 20000);
    uint32_t cfg = (uint32_t)rd(h, TCFG(0), 4, t);
    cfg |= T_ENB | T_PERIODIC | T_SETVAL | T_32BIT;
    wr(h, TCFG(0), cfg, 4, t);
    assert_true(rd(h, TCFG(0), 4, t) & T_SETVAL);
    wr(h, TCMP(0), now + 100000, 4, t);
    assert_false(rd(h, TCFG(0), 4, t) & T_SETVAL); /* consumed */
    wr(h, TCMP(0), 100000, 4, t + 1000);
    assert_int_equal(rd(h, TCMP(0), 8, t + 1000), 120000);
    none(r, K_ARM);             /* still halted */
    const uint64_t t1 = 5 * MS; /* counter 20000 from here */
    wr(h, CFG, rd(h, CFG, 4, t1) | ENABLE, 4, t1);
    expect_arm(r, t1 + 10 * MS);
    hpet_tick(h, t1 + 10 * MS);
    expect_pulse(r, K_IRQ, 0);
    expect_arm(r, t1 + 20 * MS);
    assert_int_equal(rd(h, TCMP(0), 4, t1 + 11 * MS), 220000);
    hpet_tick(h, t1 + 20 * MS);
    expect_pulse(r, K_IRQ, 0);
    expect_arm(r, t1 + 30 * MS);
    /* 2.5 periods late: one (coalesced) edge, the next period kept. */
    hpet_tick(h, t1 + 55 * MS);
    expect_pulse(r, K_IRQ, 0);
    none(r, K_IRQ);
    expect_arm(r, t1 + 60 * MS);
    assert_int_equal(rd(h, TCMP(0), 4, t1 + 55 * MS), 620000);
    /* Without VAL_SET a write sets the period only. */
    wr(h, TCMP(0), 50000, 4, t1 + 56 * MS);
    assert_int_equal(rd(h, TCMP(0), 4, t1 + 56 * MS), 620000);
    none(r, K_ARM);
    hpet_tick(h, t1 + 60 * MS);
    expect_pulse(r, K_IRQ, 0);
    expect_arm(r, t1 + 65 * MS);
    hpet_tick(h, t1 + 65 * MS);
    expect_pulse(r, K_IRQ, 0);
    expect_arm(r, t1 + 70 * MS);
    /* Back to one-shot: the comparator stays, no further match soon. */
    wr(h, TCFG(0), rd(h, TCFG(0), 4, t1 + 66 * MS) & ~T_PERIODIC, 4,
       t1 + 66 * MS);
    none(r, K_ARM); /* the comparator 720000 is still ahead */
    hpet_tick(h, t1 + 70 * MS);
    expect_pulse(r, K_IRQ, 0);
    /* 32-bit one-shot: the next match is 2^32 ticks later. */
    expect_arm(r, t1 + 70 * MS + (1ull << 32) * 100);
    none(r, K_IRQ);
    fx_free(f);
}

/* 32-bit mode: comparator halves and wrap-around. */
static void test_wrap32(void **state)
{
    (void)state;
    struct fx *f = fx_new(10000000);
    struct hpet *h = f->h;
    struct rec *r = &f->rec;
    wr(h, COUNTER, 0x00000007ffffff00ull, 8, 0);
    wr(h, TCFG(1), T_ENB | T_32BIT, 4, 0);
    assert_int_equal(rd(h, TCMP(1), 8, 0), 0xffffffff); /* truncated */
    wr(h, TCMP(1), 0xaaaaaaaa00000010ull, 8, 0);
    assert_int_equal(rd(h, TCMP(1), 8, 0), 0x10);
    wr(h, TCMP(1) + 4, 0x5555, 4, 0); /* no upper half */
    assert_int_equal(rd(h, TCMP(1), 8, 0), 0x10);
    wr(h, CFG, ENABLE, 4, 1000);
    /* 0x110 ticks to 0x0000000800000010. */
    expect_arm(r, 1000 + 0x110 * 100);
    hpet_tick(h, 1000 + 0x110 * 100);
    expect_pulse(r, K_IRQ, 1);
    assert_int_equal(rd(h, COUNTER, 8, 1000 + 0x110 * 100),
                     0x0000000800000010ull);
    expect_arm(r, 1000 + (0x110 + (1ull << 32)) * 100);
    /* ... and it does match again there. */
    hpet_tick(h, 1000 + (0x110 + (1ull << 32)) * 100);
    expect_pulse(r, K_IRQ, 1);

    /* 64-bit mode: a comparator behind the counter never matches. */
    struct fx *g = fx_new(10000000);
    wr(g->h, COUNTER, 0x0000000800000000ull, 8, 0);
    wr(g->h, TCFG(1), T_ENB, 4, 0);
    wr(g->h, TCMP(1), 0x10, 8, 0);
    wr(g->h, CFG, ENABLE, 4, 0);
    none(&g->rec, K_ARM);
    hpet_tick(g->h, 1000 * S);
    none(&g->rec, K_IRQ);
    /* ... and the same comparator in 32-bit mode matches after 0x10. */
    wr(g->h, CFG, 0, 4, 1000 * S);
    wr(g->h, COUNTER, 0x0000000800000000ull, 8, 1000 * S);
    wr(g->h, TCFG(1), T_ENB | T_32BIT, 4, 1000 * S);
    wr(g->h, CFG, ENABLE, 4, 1000 * S);
    assert_int_equal(last_arm(&g->rec), 1000 * S + 0x10 * 100);
    hpet_tick(g->h, 1000 * S + 0x10 * 100);
    expect_pulse(&g->rec, K_IRQ, 1);

    /* Periodic 32-bit: the accumulator wraps with the counter. */
    drop(r, K_IRQ); /* the one-shot's matches every 2^32 ticks */
    wr(h, CFG, 0, 4, 2000 * S);
    wr(h, COUNTER, 0xffffff00u, 8, 2000 * S);
    wr(h, TCFG(1), T_ENB | T_32BIT | T_PERIODIC | T_SETVAL, 4, 2000 * S);
    wr(h, TCMP(1), 0xffffff80u, 4, 2000 * S);
    wr(h, TCMP(1), 0x100, 4, 2000 * S);
    wr(h, CFG, ENABLE, 4, 2000 * S);
    drop(r, K_ARM);
    hpet_tick(h, 2000 * S + 0x80 * 100);
    expect_pulse(r, K_IRQ, 1);
    assert_int_equal(rd(h, TCMP(1), 8, 2000 * S + 0x80 * 100), 0x80);
    expect_arm(r, 2000 * S + 0x180 * 100);
    fx_free(g);
    fx_free(f);
}

/* Edge vs level; status bits; write 1 to clear. */
static void test_level(void **state)
{
    (void)state;
    struct fx *f = fx_new(10000000);
    struct hpet *h = f->h;
    struct rec *r = &f->rec;
    wr(h, CFG, ENABLE, 4, 0);
    wr(h, TCFG(1), T_ENB | T_LEVEL | T_PERIODIC | T_SETVAL, 4, 0);
    wr(h, TCMP(1), 1000, 8, 0);
    wr(h, TCFG(2), T_ENB, 4, 0);
    wr(h, TCMP(2), 1000, 8, 0);
    drop(r, K_ARM);
    hpet_tick(h, 100 * 1000);
    /* Timer 1 raised and held, timer 2 pulsed. */
    const struct ev *a = take(r, K_IRQ);
    assert_int_equal(a->a, 1);
    assert_int_equal(a->b, 1);
    expect_pulse(r, K_IRQ, 2);
    none(r, K_IRQ);
    assert_int_equal(rd(h, ISR, 4, 100 * 1000), 1u << 1);
    /* The next period: still high, no new call. */
    hpet_tick(h, 100 * 2000);
    none(r, K_IRQ);
    /* Writing 0, or another timer's bit, changes nothing. */
    wr(h, ISR, 0, 4, 100 * 2000);
    wr(h, ISR, 1u << 2, 4, 100 * 2000);
    none(r, K_IRQ);
    assert_int_equal(rd(h, ISR, 8, 100 * 2000), 1u << 1);
    /* Write 1 to clear deasserts. */
    wr(h, ISR, 1u << 1, 4, 100 * 2000 + 10);
    expect_irq(r, 1, false);
    assert_int_equal(rd(h, ISR, 4, 100 * 2000 + 10), 0);
    /* The next match asserts again. */
    hpet_tick(h, 100 * 3000);
    expect_irq(r, 1, true);
    /* Interrupt disabled: status still set, line down; re-enabled: up. */
    wr(h, TCFG(1), T_LEVEL | T_PERIODIC, 4, 100 * 3000);
    expect_irq(r, 1, false);
    wr(h, ISR, 1u << 1, 4, 100 * 3000);
    hpet_tick(h, 100 * 4000);
    none(r, K_IRQ);
    assert_int_equal(rd(h, ISR, 4, 100 * 4000), 1u << 1);
    wr(h, TCFG(1), T_ENB | T_LEVEL | T_PERIODIC, 4, 100 * 4000);
    expect_irq(r, 1, true);
    /* Halting the counter disables the interrupts; restarting restores. */
    wr(h, CFG, 0, 4, 100 * 4000 + 1);
    expect_irq(r, 1, false);
    wr(h, CFG, ENABLE, 4, 100 * 4000 + 2);
    expect_irq(r, 1, true);
    /* Switching to edge drops the status bit and the line. */
    wr(h, TCFG(1), T_ENB | T_PERIODIC, 4, 100 * 4000 + 3);
    expect_irq(r, 1, false);
    assert_int_equal(rd(h, ISR, 4, 100 * 4000 + 3), 0);
    none(r, K_IRQ);
    fx_free(f);
}

/* Legacy replacement: timers 0 and 1 on ISA IRQ 0 and 8. */
static void test_legacy(void **state)
{
    (void)state;
    struct fx *f = fx_new(10000000);
    struct hpet *h = f->h;
    struct rec *r = &f->rec;
    wr(h, CFG, ENABLE | LEGACY, 4, 0);
    const struct ev *e = take(r, K_LEGACY);
    assert_int_equal(e->a, 1);
    none(r, K_LEGACY);
    for (unsigned i = 0; i < 3; i++) {
        wr(h, TCFG(i), T_ENB, 4, 0);
        wr(h, TCMP(i), 10 + i, 8, 0);
    }
    hpet_tick(h, 1000);
    expect_pulse(r, K_LEG, 0);
    none(r, K_IRQ);
    hpet_tick(h, 1100);
    expect_pulse(r, K_LEG, 1);
    hpet_tick(h, 1200);
    expect_pulse(r, K_IRQ, 2); /* timer 2 keeps its route */
    none(r, K_LEG);
    /* LEG_RT wins over FSB for timer 0. */
    wr(h, TFSB(0), 0xfee0000000000041ull, 8, 1200);
    wr(h, TCFG(0), T_ENB | T_FSB, 4, 1200);
    wr(h, TCMP(0), 20, 8, 1200);
    hpet_tick(h, 2000);
    expect_pulse(r, K_LEG, 0);
    none(r, K_MSI);
    /* A level timer 0 moves from the legacy line to its route. */
    wr(h, TCFG(0), T_ENB | T_LEVEL, 4, 2000);
    wr(h, TCMP(0), 30, 8, 2000);
    hpet_tick(h, 3000);
    e = take(r, K_LEG);
    assert_int_equal(e->a, 0);
    assert_int_equal(e->b, 1);
    wr(h, CFG, ENABLE, 4, 3000);
    e = take(r, K_LEG);
    assert_int_equal(e->a, 0);
    assert_int_equal(e->b, 0);
    unsigned lowered = e->seq;
    e = take(r, K_IRQ);
    assert_int_equal(e->a, 0);
    assert_int_equal(e->b, 1);
    e = take(r, K_LEGACY);
    assert_int_equal(e->a, 0);
    assert_true(e->seq > lowered); /* the PIT back after the line moved */
    none(r, K_LEGACY);
    fx_free(f);

    /* legacy-free: LEG_RT_CNF cannot be set. */
    struct rec r2 = {0};
    h = make(&r2, 10000000, 3, false, 0);
    wr(h, CFG, ENABLE | LEGACY, 4, 0);
    assert_int_equal(rd(h, CFG, 4, 0), ENABLE);
    none(&r2, K_LEGACY);
    wr(h, TCFG(0), T_ENB, 4, 0);
    wr(h, TCMP(0), 10, 8, 0);
    hpet_tick(h, 1000);
    expect_pulse(&r2, K_IRQ, 0);
    none(&r2, K_LEG);
    hpet_free(h);
}

/* FSB delivery: the message of Tn_FSB_INT_ROUTE, as Linux writes it. */
static void test_fsb(void **state)
{
    (void)state;
    struct fx *f = fx_new(10000000);
    struct hpet *h = f->h;
    struct rec *r = &f->rec;
    wr(h, CFG, ENABLE, 4, 0);
    /* hpet_msi_write: data, then address_lo; hpet_msi_unmask. */
    wr(h, TFSB(2), 0x4031, 4, 0);
    wr(h, TFSB(2) + 4, 0xfee01000, 4, 0);
    wr(h, TCFG(2), rd(h, TCFG(2), 4, 0) | T_ENB | T_FSB, 4, 0);
    assert_true(rd(h, TCFG(2), 4, 0) & T_FSB);
    assert_int_equal(rd(h, TFSB(2), 8, 0), 0xfee0100000004031ull);
    wr(h, TCMP(2), 5, 8, 0);
    hpet_tick(h, 500);
    const struct ev *e = take(r, K_MSI);
    assert_int_equal(e->a, 0xfee01000);
    assert_int_equal(e->b, 0x4031);
    none(r, K_MSI);
    none(r, K_IRQ);
    assert_int_equal(rd(h, ISR, 4, 500), 0);
    /* hpet_msi_mask: no more messages. */
    wr(h, TCFG(2), rd(h, TCFG(2), 4, 500) & ~(T_ENB | T_FSB), 4, 500);
    wr(h, TCMP(2), 10, 8, 500);
    hpet_tick(h, 1000);
    none(r, K_MSI);
    none(r, K_IRQ);
    fx_free(f);
}

/* Routes outside Tn_INT_ROUTE_CAP are ignored. */
static void test_route_cap(void **state)
{
    (void)state;
    struct rec r = {0};
    struct hpet_params p = {.hz = 14318180, .ntimers = 4};
    p.route_cap[0] = 1u << 2;
    p.route[0] = 2;
    p.route_cap[1] = 1u << 8 | 1u << 20;
    p.route[1] = 8;
    /* timers 2, 3: no intr, no route */
    struct hpet *h = hpet_new(&p, &ops, &r, 0);
    assert_non_null(h);
    assert_int_equal(rd(h, TCFG(0) + 4, 4, 0), 1u << 2);
    wr(h, TCFG(0), T_ROUTE(5), 4, 0);
    assert_int_equal(rd(h, TCFG(0), 4, 0) & T_ROUTE_M, T_ROUTE(2));
    wr(h, TCFG(0), T_ROUTE(0), 4, 0);
    assert_int_equal(rd(h, TCFG(0), 4, 0) & T_ROUTE_M, T_ROUTE(2));
    wr(h, TCFG(1), T_ROUTE(20), 4, 0);
    assert_int_equal(rd(h, TCFG(1), 4, 0) & T_ROUTE_M, T_ROUTE(20));
    wr(h, TCFG(1), T_ROUTE(9), 4, 0);
    assert_int_equal(rd(h, TCFG(1), 4, 0) & T_ROUTE_M, T_ROUTE(20));
    assert_int_equal(rd(h, TCFG(3), 8, 0) >> 32, 0);
    wr(h, TCFG(3), T_ROUTE(2), 4, 0);
    assert_int_equal(rd(h, TCFG(3), 4, 0) & T_ROUTE_M, 0);
    /* The high half (the capability) is read-only. */
    wr(h, TCFG(3) + 4, 0xffffffff, 4, 0);
    assert_int_equal(rd(h, TCFG(3) + 4, 4, 0), 0);
    hpet_free(h);
    p.route[2] = 32;
    assert_null(hpet_new(&p, &ops, &r, 0));
}

/* Byte and word accesses reach the right bytes. */
static void test_sizes(void **state)
{
    (void)state;
    struct fx *f = fx_new(14318180);
    struct hpet *h = f->h;
    assert_int_equal(rd(h, CAP + 2, 2, 0), 0x8086);
    assert_int_equal(rd(h, CAP + 1, 1, 0), 0xa2);
    assert_int_equal(rd(h, PERIOD + 3, 1, 0), 0x04);
    wr(h, TCMP(0) + 2, 0x12, 1, 0);
    assert_int_equal(rd(h, TCMP(0), 8, 0), 0xffffffffff12ffffull);
    wr(h, CFG, ENABLE, 1, 0);
    assert_int_equal(rd(h, CFG, 4, 0), ENABLE);
    /* Straddling two registers: nothing. */
    assert_int_equal(rd(h, CAP + 4, 8, 0), 0);
    assert_int_equal(rd(h, 0x500, 4, 0), 0);
    fx_free(f);
}

/*
 * Linux's boot and clockevent use replayed: hpet_enable (legacy
 * clockevent), the one-shot state, hpet_clkevt_set_next_event with its
 * ETIME re-read, an SMI between the counter read and the comparator write,
 * and the clocksource reads.
 */
static uint32_t hz_next_event(struct hpet *h, uint32_t delta, uint64_t t_read,
                              uint64_t t_write, uint64_t t_reread, int *res)
{
    uint32_t cnt = (uint32_t)rd(h, COUNTER, 4, t_read);
    cnt += delta;
    wr(h, TCMP(0), cnt, 4, t_write);
    *res = (int32_t)(cnt - (uint32_t)rd(h, COUNTER, 4, t_reread));
    return cnt;
}

static void test_linux_clockevent(void **state)
{
    (void)state;
    struct fx *f = fx_new(14318180);
    struct hpet *h = f->h;
    struct rec *r = &f->rec;
    uint64_t t = 100 * MS;
    /* hpet_enable: sanitize, hpet_counting (restart), legacy int. */
    wr(h, CFG, rd(h, CFG, 4, t) & ~(ENABLE | LEGACY), 4, t);
    for (unsigned i = 0; i < 3; i++)
        wr(h, TCFG(i), rd(h, TCFG(i), 4, t) & ~(T_ENB | T_LEVEL | T_FSB), 4, t);
    wr(h, CFG, rd(h, CFG, 4, t) & ~ENABLE, 4, t);
    wr(h, COUNTER, 0, 4, t);
    wr(h, COUNTER + 4, 0, 4, t);
    wr(h, CFG, rd(h, CFG, 4, t) | ENABLE, 4, t);
    wr(h, CFG, rd(h, CFG, 4, t) | LEGACY, 4, t);
    assert_int_equal(take(r, K_LEGACY)->a, 1);
    /* set_state_oneshot */
    uint32_t cfg = (uint32_t)rd(h, TCFG(0), 4, t);
    cfg &= ~T_PERIODIC;
    cfg |= T_ENB | T_32BIT;
    wr(h, TCFG(0), cfg, 4, t);
    drop(r, K_ARM);

    /* A 1 ms event (14318 ticks), programmed in 2 us: fine. */
    t = 200 * MS; /* counter 1431818 */
    int res;
    uint32_t cmp = hz_next_event(h, 14318, t, t + 1000, t + 2000, &res);
    assert_int_equal(cmp, 1431818 + 14318);
    assert_true(res >= 128);
    uint64_t due = last_arm(r);
    assert_int_equal(due, 200 * MS + 999988); /* 14318 ticks: 999987.4 ns */
    hpet_tick(h, due - 1);
    none(r, K_LEG);
    hpet_tick(h, due);
    expect_pulse(r, K_LEG, 0);
    none(r, K_IRQ);

    /* An SMI of 10 ms between the read and the write: the comparator is
     * behind the counter, Linux sees ETIME and no interrupt comes until
     * the 32-bit counter comes round (300 s later). */
    t = 300 * MS;
    cmp = hz_next_event(h, 14318, t, t + 10 * MS, t + 10 * MS + 1000, &res);
    assert_true(res < 0);
    due = last_arm(r);
    assert_true(due > t + 299 * S);
    hpet_tick(h, t + 11 * MS);
    hpet_tick(h, t + 19 * MS);
    none(r, K_LEG);
    /* clockevents retries with the minimum delta (1.5 * 128 ticks). */
    t += 20 * MS;
    cmp = hz_next_event(h, 192, t, t + 500, t + 1000, &res);
    assert_true(res >= 128);
    due = last_arm(r);
    assert_true(due > t && due <= t + 192 * 70);
    hpet_tick(h, due);
    expect_pulse(r, K_LEG, 0);

    /* Within 128 ticks of the event: ETIME (the event may still come). */
    t = 400 * MS;
    cmp = hz_next_event(h, 192, t, t + 5000, t + 5000, &res);
    assert_true(res < 128);

    /* The clocksource: 32-bit reads move forward at 14318180 Hz. */
    uint32_t c1 = (uint32_t)rd(h, COUNTER, 4, 500 * MS);
    uint32_t c2 = (uint32_t)rd(h, COUNTER, 4, 1500 * MS);
    assert_int_equal(c2 - c1, 14318180);

    /* set_state_shutdown */
    wr(h, TCFG(0), rd(h, TCFG(0), 4, 2 * S) & ~T_ENB, 4, 2 * S);
    assert_int_equal(last_arm(r), 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_linux_sanity),
        cmocka_unit_test(test_counter_rate),
        cmocka_unit_test(test_counter_halted),
        cmocka_unit_test(test_oneshot),
        cmocka_unit_test(test_periodic),
        cmocka_unit_test(test_wrap32),
        cmocka_unit_test(test_level),
        cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_fsb),
        cmocka_unit_test(test_route_cap),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_linux_clockevent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * hpet.c: the IA-PC HPET 1.0a event timer block (hpet.h), a pure function
 * of the time the caller passes.
 *
 * The main counter is not stored while it runs: it is cnt_base plus the
 * ticks of `hz` elapsed since t_base (exact, 128-bit). Comparator matches
 * are found by catching up: every entry point first looks at the counter
 * values the counter went through since the last look, (c_last, counter
 * now], and expires each timer whose comparator is among them, once (a
 * host that woke us late coalesces the matches, as a missed tick would).
 * Then it asks ops->arm for the time at which the counter reaches the next
 * comparator of a timer that can interrupt.
 *
 * Matching is on equality, as the specification and Linux's
 * hpet_clkevt_set_next_event expect: a comparator written behind the
 * counter matches only after the counter wraps around (2^32 ticks later
 * for a 32-bit timer, never for a 64-bit one). A one-shot 32-bit timer
 * therefore fires again every 2^32 ticks. A periodic timer's comparator
 * advances by its period past the counter at each expiry.
 *
 * Comparator writes: in one-shot mode they set the comparator; in
 * periodic mode they set the period, and the comparator too while
 * Tn_VAL_SET_CNF is set (cleared by the write), which is what Linux's
 * periodic sequence (value with VAL_SET, then the period) relies on.
 *
 * Every timer has PER_INT_CAP, SIZE_CAP (64-bit) and FSB_INT_DEL_CAP.
 * Delivery: legacy replacement (timers 0 and 1 while LEG_RT_CNF is set)
 * wins over FSB, FSB over the routed line; FSB messages are edges. Level
 * status bits are set on a match even with Tn_INT_ENB_CNF clear; the level
 * output is the status bit while the timer's interrupt and ENABLE_CNF are
 * on.
 */
#include "arch/x86/hpet.h"

#include <pthread.h>
#include <stdlib.h>

#define NS_PER_S 1000000000ull
#define FS_PER_S 1000000000000000ull

#define REG_CAP     0x000
#define REG_CFG     0x010
#define REG_ISR     0x020
#define REG_COUNTER 0x0f0
#define REG_TIMER0  0x100
#define TIMER_SPAN  0x20
#define T_CFG       0x00
#define T_CMP       0x08
#define T_FSB       0x10

#define CAP_REV          0x01u
#define CAP_COUNT_64     (1u << 13)
#define CAP_LEG_RT       (1u << 15)
#define CAP_VENDOR       0x8086u
#define CAP_VENDOR_SHIFT 16
#define CAP_NUM_SHIFT    8

#define CFG_ENABLE (1u << 0)
#define CFG_LEG_RT (1u << 1)

#define TN_LEVEL    (1u << 1)
#define TN_INT_ENB  (1u << 2)
#define TN_PERIODIC (1u << 3)
#define TN_PER_CAP  (1u << 4)
#define TN_SIZE_CAP (1u << 5)
#define TN_VAL_SET  (1u << 6)
#define TN_32BIT    (1u << 8)
#define TN_ROUTE_SH 9
#define TN_ROUTE    (0x1fu << TN_ROUTE_SH)
#define TN_FSB_EN   (1u << 14)
#define TN_FSB_CAP  (1u << 15)
#define TN_CAPS     (TN_PER_CAP | TN_SIZE_CAP | TN_FSB_CAP)

/* The ACPI table's minimum periodic tick: Linux's HPET_MIN_CYCLES. */
#define HPET_MIN_TICK 128u

struct hpet_timer {
    uint32_t cfg;       /* Tn_CONFIG bits 31:0 */
    uint32_t route_cap; /* Tn_INT_ROUTE_CAP (bits 63:32) */
    uint64_t cmp;       /* the comparator (next match) */
    uint64_t period;    /* periodic mode: the increment */
    uint64_t fsb;       /* Tn_FSB_INT_ROUTE: address 63:32, value 31:0 */
    bool out;           /* level output asserted */
    bool out_legacy;    /* ... on the legacy line (else the routed one) */
};

struct hpet {
    pthread_mutex_t lock;
    const struct hpet_ops *ops;
    void *opaque;
    uint64_t base, hz;
    uint32_t period_fs;
    unsigned n;
    bool leg_cap;
    uint64_t cap;
    uint64_t cfg;      /* ENABLE_CNF, LEG_RT_CNF */
    uint64_t isr;      /* level timers' status bits */
    uint64_t cnt_base; /* counter at t_base (running) or its value (halted) */
    uint64_t t_base;
    uint64_t c_last; /* matches up to this counter value are done */
    uint64_t armed;  /* last deadline given to ops->arm */
    struct hpet_timer t[HPET_MAX_TIMERS];
};

uint32_t hpet_period_fs(uint64_t hz)
{
    if (hz == 0)
        return 0;
    uint64_t p = (FS_PER_S + hz / 2) / hz;
    return p && p <= UINT32_MAX ? (uint32_t)p : 0;
}

static uint64_t merge(uint64_t old, uint64_t val, uint64_t mask)
{
    return (old & ~mask) | (val & mask);
}

static bool running(const struct hpet *h)
{
    return h->cfg & CFG_ENABLE;
}

static uint64_t counter(const struct hpet *h, uint64_t now)
{
    if (!running(h) || now <= h->t_base)
        return h->cnt_base;
    unsigned __int128 ticks =
        (unsigned __int128)(now - h->t_base) * h->hz / NS_PER_S;
    return h->cnt_base + (uint64_t)ticks; /* wraps as the hardware does */
}

/* when: the first time the counter has gone `d` ticks past c_last (0:
 * beyond 2^64 ns). */
static uint64_t when(const struct hpet *h, uint64_t d)
{
    unsigned __int128 ticks = (unsigned __int128)(h->c_last - h->cnt_base) + d;
    unsigned __int128 ns = (ticks * NS_PER_S + h->hz - 1) / h->hz + h->t_base;
    return ns > UINT64_MAX ? 0 : (uint64_t)ns;
}

/* dist: ticks from counter value `from` to the timer's next match after
 * it; 0 for a 64-bit comparator equal to `from` (2^64 ticks: never). */
static uint64_t dist(const struct hpet_timer *t, uint64_t from)
{
    if (t->cfg & TN_32BIT) {
        uint32_t d = (uint32_t)t->cmp - (uint32_t)from;
        return d ? d : 1ull << 32;
    }
    return t->cmp - from;
}

static bool legacy_route(const struct hpet *h, unsigned i)
{
    return i < 2 && (h->cfg & CFG_LEG_RT);
}

static bool via_fsb(const struct hpet *h, unsigned i)
{
    return !legacy_route(h, i) && (h->t[i].cfg & TN_FSB_EN);
}

static void set_out(struct hpet *h, unsigned i, bool legacy, bool level)
{
    if (legacy)
        h->ops->set_legacy(h->opaque, i, level);
    else
        h->ops->set_irq(h->opaque, i, level);
}

/* drive: bring timer i's level output to what the registers say. */
static void drive(struct hpet *h, unsigned i)
{
    struct hpet_timer *t = &h->t[i];
    bool leg = legacy_route(h, i);
    bool level = running(h) && (t->cfg & TN_INT_ENB) && (t->cfg & TN_LEVEL) &&
                 !via_fsb(h, i) && (h->isr & 1ull << i);
    if (t->out == level && (!level || t->out_legacy == leg))
        return;
    if (t->out)
        set_out(h, i, t->out_legacy, false);
    if (level)
        set_out(h, i, leg, true);
    t->out = level;
    t->out_legacy = leg;
}

static void expire(struct hpet *h, unsigned i)
{
    struct hpet_timer *t = &h->t[i];
    bool fsb = via_fsb(h, i);
    if ((t->cfg & TN_LEVEL) && !fsb) {
        h->isr |= 1ull << i;
        drive(h, i);
        return;
    }
    if (!(t->cfg & TN_INT_ENB))
        return;
    if (fsb) {
        h->ops->msi(h->opaque, t->fsb >> 32, (uint32_t)t->fsb);
        return;
    }
    bool leg = legacy_route(h, i);
    set_out(h, i, leg, true);
    set_out(h, i, leg, false);
}

/* catch_up: expire the timers whose comparator the counter went past. */
static void catch_up(struct hpet *h, uint64_t now)
{
    if (!running(h))
        return;
    uint64_t c = counter(h, now);
    uint64_t span = c - h->c_last;
    if ((int64_t)span <= 0)
        return; /* no tick yet, or an older `now` from another thread */
    for (unsigned i = 0; i < h->n; i++) {
        struct hpet_timer *t = &h->t[i];
        uint64_t d = dist(t, h->c_last);
        if (d == 0 || d > span)
            continue;
        uint64_t m = h->c_last + d; /* the first match */
        if ((t->cfg & TN_PERIODIC) && t->period) {
            uint64_t k = (c - m) / t->period + 1;
            t->cmp = m + k * t->period;
            if (t->cfg & TN_32BIT)
                t->cmp = (uint32_t)t->cmp;
        }
        expire(h, i);
    }
    h->c_last = c;
}

static uint64_t next_deadline(const struct hpet *h)
{
    if (!running(h))
        return 0;
    uint64_t best = 0;
    for (unsigned i = 0; i < h->n; i++) {
        const struct hpet_timer *t = &h->t[i];
        if (!(t->cfg & TN_INT_ENB))
            continue;
        uint64_t d = dist(t, h->c_last);
        if (d == 0)
            continue;
        uint64_t at = when(h, d);
        if (at && (!best || at < best))
            best = at;
    }
    return best;
}

static void rearm(struct hpet *h, bool force)
{
    uint64_t d = next_deadline(h);
    if (force || d != h->armed) {
        h->armed = d;
        h->ops->arm(h->opaque, d);
    }
}

static void write_cfg(struct hpet *h, uint64_t val, uint64_t now)
{
    uint64_t old = h->cfg;
    uint64_t nv = val & (CFG_ENABLE | (h->leg_cap ? CFG_LEG_RT : 0));
    if ((old ^ nv) & CFG_ENABLE) {
        if (nv & CFG_ENABLE) {
            h->t_base = now;
            h->c_last = h->cnt_base;
        } else {
            h->cnt_base = h->c_last; /* caught up to now */
        }
    }
    bool leg_on = (nv & ~old) & CFG_LEG_RT, leg_off = (old & ~nv) & CFG_LEG_RT;
    h->cfg = nv;
    if (leg_on)
        h->ops->legacy(h->opaque, true);
    for (unsigned i = 0; i < h->n; i++)
        drive(h, i);
    if (leg_off)
        h->ops->legacy(h->opaque, false);
}

static void write_timer_cfg(struct hpet *h, unsigned i, uint64_t val,
                            uint64_t mask)
{
    struct hpet_timer *t = &h->t[i];
    uint32_t old = t->cfg;
    uint32_t w = (uint32_t)merge(old, val, mask);
    uint32_t rw = TN_LEVEL | TN_INT_ENB | TN_VAL_SET | TN_32BIT;
    if (old & TN_PER_CAP)
        rw |= TN_PERIODIC;
    if (old & TN_FSB_CAP)
        rw |= TN_FSB_EN;
    uint32_t nv = (old & ~rw) | (w & rw);
    uint32_t r = (w & TN_ROUTE) >> TN_ROUTE_SH;
    if (t->route_cap & 1u << r) /* routing is fixed: others are ignored */
        nv = (nv & ~TN_ROUTE) | r << TN_ROUTE_SH;
    if ((nv & TN_32BIT) && !(old & TN_32BIT)) {
        t->cmp = (uint32_t)t->cmp;
        t->period = (uint32_t)t->period;
    }
    t->cfg = nv;
    if (!(nv & TN_LEVEL) || via_fsb(h, i))
        h->isr &= ~(1ull << i);
    drive(h, i);
}

static void write_timer_cmp(struct hpet *h, unsigned i, uint64_t val,
                            uint64_t mask)
{
    struct hpet_timer *t = &h->t[i];
    if (t->cfg & TN_32BIT)
        mask &= UINT32_MAX; /* the upper half is not there */
    if (!mask)
        return;
    bool per = t->cfg & TN_PERIODIC;
    if (!per || (t->cfg & TN_VAL_SET))
        t->cmp = merge(t->cmp, val, mask);
    if (per)
        t->period = merge(t->period, val, mask);
    t->cfg &= ~TN_VAL_SET;
}

static uint64_t reg_read(const struct hpet *h, uint64_t reg)
{
    switch (reg) {
    case REG_CAP:
        return h->cap;
    case REG_CFG:
        return h->cfg;
    case REG_ISR:
        return h->isr;
    case REG_COUNTER:
        return running(h) ? h->c_last : h->cnt_base; /* caught up to now */
    default:
        break;
    }
    if (reg < REG_TIMER0 || reg >= REG_TIMER0 + (uint64_t)h->n * TIMER_SPAN)
        return 0;
    const struct hpet_timer *t = &h->t[(reg - REG_TIMER0) / TIMER_SPAN];
    switch ((reg - REG_TIMER0) % TIMER_SPAN) {
    case T_CFG:
        return (uint64_t)t->route_cap << 32 | t->cfg;
    case T_CMP:
        return t->cmp;
    case T_FSB:
        return t->fsb;
    default:
        return 0;
    }
}

static void reg_write(struct hpet *h, uint64_t reg, uint64_t val, uint64_t mask,
                      uint64_t now)
{
    switch (reg) {
    case REG_CFG:
        write_cfg(h, merge(h->cfg, val, mask), now);
        return;
    case REG_ISR: {
        uint64_t clear = val & mask & h->isr;
        h->isr &= ~clear;
        for (unsigned i = 0; i < h->n; i++)
            if (clear & 1ull << i)
                drive(h, i);
        return;
    }
    case REG_COUNTER:
        if (!running(h)) { /* writes while it runs are ignored */
            h->cnt_base = merge(h->cnt_base, val, mask);
            h->c_last = h->cnt_base;
        }
        return;
    default:
        break;
    }
    if (reg < REG_TIMER0 || reg >= REG_TIMER0 + (uint64_t)h->n * TIMER_SPAN)
        return;
    unsigned i = (unsigned)((reg - REG_TIMER0) / TIMER_SPAN);
    switch ((reg - REG_TIMER0) % TIMER_SPAN) {
    case T_CFG:
        write_timer_cfg(h, i, val, mask);
        return;
    case T_CMP:
        write_timer_cmp(h, i, val, mask);
        return;
    case T_FSB:
        h->t[i].fsb = merge(h->t[i].fsb, val, mask);
        return;
    default:
        return;
    }
}

/* access: the 8-byte register holding [off, off+size), or false. */
static bool decode(uint64_t off, unsigned size, uint64_t *reg, unsigned *shift,
                   uint64_t *mask)
{
    if ((size != 1 && size != 2 && size != 4 && size != 8) ||
        off >= hpet_mmio_size(HPET_MAX_TIMERS) || (off & 7) + size > 8)
        return false;
    *reg = off & ~7ull;
    *shift = (unsigned)(off & 7) * 8;
    *mask = size == 8 ? UINT64_MAX : ((1ull << size * 8) - 1) << *shift;
    return true;
}

uint64_t hpet_read(struct hpet *h, uint64_t off, unsigned size, uint64_t now)
{
    uint64_t reg, mask;
    unsigned shift;
    if (!decode(off, size, &reg, &shift, &mask))
        return 0;
    pthread_mutex_lock(&h->lock);
    catch_up(h, now);
    uint64_t v = reg_read(h, reg);
    rearm(h, false);
    pthread_mutex_unlock(&h->lock);
    return (v & mask) >> shift;
}

void hpet_write(struct hpet *h, uint64_t off, uint64_t val, unsigned size,
                uint64_t now)
{
    uint64_t reg, mask;
    unsigned shift;
    if (!decode(off, size, &reg, &shift, &mask))
        return;
    pthread_mutex_lock(&h->lock);
    catch_up(h, now);
    reg_write(h, reg, val << shift, mask, now);
    rearm(h, false);
    pthread_mutex_unlock(&h->lock);
}

void hpet_tick(struct hpet *h, uint64_t now)
{
    pthread_mutex_lock(&h->lock);
    catch_up(h, now);
    rearm(h, true); /* the host timer that called us is spent */
    pthread_mutex_unlock(&h->lock);
}

struct hpet *hpet_new(const struct hpet_params *p, const struct hpet_ops *ops,
                      void *opaque, uint64_t now)
{
    unsigned n = p->ntimers ? p->ntimers : 3;
    uint32_t period = hpet_period_fs(p->hz);
    if (!period || n > HPET_MAX_TIMERS)
        return NULL;
    for (unsigned i = 0; i < n; i++)
        if (p->route[i] > 31)
            return NULL;
    struct hpet *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    h->ops = ops;
    h->opaque = opaque;
    h->base = p->base;
    h->hz = p->hz;
    h->period_fs = period;
    h->n = n;
    h->leg_cap = p->legacy_capable;
    h->cap = (uint64_t)period << 32 | CAP_VENDOR << CAP_VENDOR_SHIFT |
             (h->leg_cap ? CAP_LEG_RT : 0) | CAP_COUNT_64 |
             (n - 1) << CAP_NUM_SHIFT | CAP_REV;
    h->t_base = now;
    for (unsigned i = 0; i < n; i++) {
        struct hpet_timer *t = &h->t[i];
        t->cfg = TN_CAPS | (uint32_t)p->route[i] << TN_ROUTE_SH;
        t->route_cap = p->route_cap[i];
        t->cmp = UINT64_MAX;
    }
    return h;
}

void hpet_free(struct hpet *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void hpet_describe(const struct hpet *h, struct hpet_info *out)
{
    *out = (struct hpet_info){
        .base = h->base,
        .ntimers = h->n,
        .legacy_cap = h->leg_cap,
        .period_fs = h->period_fs,
        .min_tick = HPET_MIN_TICK,
        .block_id = (uint32_t)h->cap,
        .vendor_id = CAP_VENDOR,
        .counter_64bit = true,
        .hz = h->hz,
    };
}

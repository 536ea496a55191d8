/*
 * pit.c: the Intel 8254 model (pit.h), a pure function of time.
 *
 * Time is counted in CLK pulses of the 1193182 Hz input clock: tick(now)
 * is the number of pulses since CLOCK_MONOTONIC's origin, so two accesses
 * in the same 838 ns window see the same state. Each counter keeps the
 * tick its counting element (CE) was last loaded or resumed at, and its
 * count and output are computed from the tick of an access; nothing runs
 * between accesses. As on the chip, a count written at tick T is loaded
 * into the CE on the next pulse (T + 1) and counting starts one pulse
 * later; the read-back status reports "null count" until then.
 *
 * The modes, as the 8254 data sheet describes them (N = the count, 0
 * meaning 65536 binary or 10000 BCD):
 *   0  OUT low from the control word; N + 1 pulses after the count write
 *      OUT goes high (terminal count) and stays high; the CE wraps and
 *      keeps counting. The first byte of a two-byte count stops counting
 *      and drives OUT low. GATE low holds the count.
 *   1  A GATE rising edge loads the CE; OUT is low for N pulses from the
 *      next one (retriggerable).
 *   2  OUT low for one pulse when the CE reaches 1, then the CE reloads:
 *      one rising edge every N pulses. GATE low stops it and drives OUT
 *      high; a GATE rising edge reloads.
 *   3  Square wave: OUT high for ceil(N/2), low for floor(N/2) pulses, the
 *      CE counting down by two (N - 1 for odd N). GATE as in mode 2.
 *   4  Like mode 0 but OUT stays high, except for one pulse when the CE
 *      reaches 0 (the strobe); every count written restarts it.
 *   5  Like mode 4, started (and restarted) by GATE rising edges.
 * A new count written while mode 2 runs is loaded at the end of the
 * current period, in mode 3 at the end of the current half cycle; modes
 * 1 and 5 take it at the next trigger.
 *
 * Counter 0's output (pit.h): ops->out0(true) for every rising edge of
 * OUT0, whether time made it (terminal count, each period of modes 2/3,
 * the end of a strobe) or a write did (a control word for another mode
 * while OUT0 was low); ops->out0(false) when a write drives OUT0 low (mode
 * 0's control word and first count byte). Falls that time makes (the
 * periodic low phases, the strobe) are not reported: each period's rising
 * edge is what the interrupt controller sees. Counters 1 and 2 have no
 * interrupt; counter 2's output is read in port 0x61 bit 5. In the
 * periodic modes OUT0 edges are delivered at most once per 100 us (a
 * shorter period loses edges, as behind a busy CPU), and several periods
 * passed since the last pit_tick give one edge.
 *
 * Power-on: every counter in mode 3, LSB then MSB, binary, no count
 * written, so nothing counts and OUT0 makes no edge until the guest
 * programs the PIT (as KVM's in-kernel PIT; there is no BIOS to program
 * counter 0 for 18.2 Hz).
 */
#include "arch/x86/pit.h"

#include <pthread.h>
#include <stdlib.h>

#define NS_PER_S  1000000000ull
#define TICK_NONE UINT64_MAX
/* Port 0x61 bit 4 toggles at every refresh request: counter 1 in mode 2
 * with count 18, as the BIOS of a PC programs it (15.09 us). */
#define REFRESH_TICKS 18u
/* Periodic modes deliver at most one OUT0 edge per 100 us (KVM's in-kernel
 * PIT has a floor too): a guest programming count 2 must not keep the
 * event thread busy at 600 kHz. */
#define PERIODIC_MIN_TICKS 119u

struct ctr {
    uint8_t mode_bits; /* M2-M0 as written (status byte) */
    uint8_t mode;      /* 0-5 (6, 7 are 2, 3) */
    uint8_t rw;        /* 1 LSB, 2 MSB, 3 LSB then MSB */
    bool bcd;
    bool gate;
    /* Count register. */
    uint16_t cr;      /* the last complete count written */
    uint8_t cr_lsb;   /* rw 3: the LSB, waiting for the MSB */
    bool wr_msb;      /* rw 3: the next write is the MSB */
    bool have_count;  /* a count was written since the control word */
    uint64_t null_to; /* "null count" until this tick (TICK_NONE: until
                         the count is loaded by a trigger) */
    /* Counting element. */
    bool armed;   /* loaded with n (else: idle, reads idle_ce) */
    bool running; /* counting (else held by GATE low) */
    uint32_t n;   /* the count in effect, 1..65536 */
    uint64_t start;
    uint64_t e0;   /* modes 0 1 4 5: decrements done at `start` */
    uint32_t ph0;  /* modes 2 3: the phase in the period at `start` */
    bool pre_low;  /* mode 1: OUT until `start` (retriggered while low) */
    uint32_t held; /* modes 2 3: the CE while GATE is low */
    uint32_t idle_ce;
    bool pend;           /* modes 2 3: a new count waits for the period's end */
    bool pend_from_high; /* mode 3: written in a high half cycle */
    uint32_t pend_n;
    uint64_t pend_at;
    /* Reading. */
    bool rd_msb; /* rw 3, unlatched: the next read is the MSB */
    bool latched;
    uint16_t latch;
    bool latch_msb;
    bool st_latched;
    uint8_t status;
};

struct pit {
    pthread_mutex_t lock;
    const struct pit_ops *ops;
    void *opaque;
    struct ctr c[3];
    uint8_t port61;    /* bits 0-3 as written */
    bool out0_on;      /* OUT0 connected to the interrupt */
    uint64_t edge0;    /* the next rising edge of OUT0 (tick), or TICK_NONE */
    uint64_t last0;    /* the tick of the last edge delivered, or TICK_NONE */
    uint64_t armed_at; /* the deadline last given to ops->arm (ns), or 0 */
};

static uint64_t to_tick(uint64_t ns)
{
    return ns / NS_PER_S * PIT_HZ + ns % NS_PER_S * PIT_HZ / NS_PER_S;
}

/* The first ns at which to_tick() reaches k. */
static uint64_t to_ns(uint64_t k)
{
    return k / PIT_HZ * NS_PER_S +
           (k % PIT_HZ * NS_PER_S + PIT_HZ - 1) / PIT_HZ;
}

static uint32_t modulus(const struct ctr *c)
{
    return c->bcd ? 10000u : 65536u;
}

/* The count register as a number of pulses, 1..modulus. */
static uint32_t cr_count(const struct ctr *c)
{
    uint32_t v = c->cr;
    if (c->bcd)
        v = (v >> 12 & 15) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 +
            (v & 15);
    v %= modulus(c);
    return v ? v : modulus(c);
}

static uint16_t encode(const struct ctr *c, uint32_t v)
{
    v %= modulus(c);
    if (!c->bcd)
        return (uint16_t)v;
    return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 |
                      (v / 10 % 10) << 4 | v % 10);
}

static bool periodic(const struct ctr *c)
{
    return c->mode == 2 || c->mode == 3;
}

/* Modes 0 1 4 5: decrements done by tick t. */
static uint64_t decs(const struct ctr *c, uint64_t t)
{
    if (!c->running || t <= c->start)
        return c->e0;
    return c->e0 + (t - c->start);
}

/* Apply a pending mode 2/3 reload that tick t has reached. */
static void settle(struct ctr *c, uint64_t t)
{
    if (c->pend && t >= c->pend_at) {
        c->pend = false;
        c->n = c->pend_n;
        c->start = c->pend_at;
        /* Mode 3 reloads at half cycles: from the end of a high half the
         * new count starts with its low half. */
        c->ph0 = c->pend_from_high ? (c->n + 1) / 2 : 0;
    }
}

static void eval(const struct ctr *c, uint64_t t, uint32_t *ce, bool *out)
{
    if (!c->armed) {
        *ce = c->idle_ce;
        *out = c->mode != 0;
        return;
    }
    uint32_t n = c->n, m = modulus(c);
    if (!periodic(c)) {
        uint64_t e = decs(c, t);
        if (e <= n) {
            *ce = (n - (uint32_t)e) % m;
        } else {
            uint32_t d = (uint32_t)((e - n) % m);
            *ce = d ? m - d : 0;
        }
        switch (c->mode) {
        case 0:
            *out = e >= n;
            break;
        case 1:
            *out = t < c->start ? !c->pre_low : e >= n;
            break;
        default: /* 4, 5: the strobe */
            *out = e != n;
            break;
        }
        return;
    }
    if (!c->running) {
        *ce = c->held;
        *out = true;
        return;
    }
    if (t < c->start) {
        *ce = c->mode == 3 ? (n & ~1u) % m : n % m;
        *out = true;
        return;
    }
    uint32_t p = (uint32_t)((t - c->start + c->ph0) % n);
    if (c->mode == 2) {
        *ce = (n - p) % m;
        *out = n == 1 || p != n - 1;
        return;
    }
    uint32_t hi = (n + 1) / 2;
    *out = p < hi;
    *ce = ((n & ~1u) - 2 * (p < hi ? p : p - hi)) % m;
}

/* The first rising edge of OUT after tick t, or TICK_NONE. */
static uint64_t rise_after(const struct ctr *c, uint64_t t)
{
    if (!c->armed)
        return TICK_NONE;
    if (!periodic(c)) {
        uint64_t e = decs(c, t);
        bool strobe = c->mode == 4 || c->mode == 5;
        if (!c->running || e > c->n || (!strobe && e == c->n))
            return TICK_NONE;
        return c->start + (c->n - c->e0) + (strobe ? 1 : 0);
    }
    if (!c->running)
        return TICK_NONE;
    /* Rising edges where the phase wraps to 0. */
    uint64_t k = c->start + c->n - c->ph0;
    if (t >= c->start)
        k = c->start + ((t - c->start + c->ph0) / c->n + 1) * c->n - c->ph0;
    if (!c->pend || k <= c->pend_at)
        return k;
    /* The new count takes over at pend_at: its first edge after it. */
    return c->pend_at + c->pend_n -
           (c->pend_from_high ? (c->pend_n + 1) / 2 : 0);
}

static bool out_of(const struct ctr *c, uint64_t t)
{
    uint32_t ce;
    bool out;
    eval(c, t, &ce, &out);
    return out;
}

static uint32_t ce_of(const struct ctr *c, uint64_t t)
{
    uint32_t ce;
    bool out;
    eval(c, t, &ce, &out);
    return ce;
}

static void arm(struct pit *p, bool force)
{
    uint64_t d = p->out0_on && p->edge0 != TICK_NONE ? to_ns(p->edge0) : 0;
    if (force || d != p->armed_at) {
        p->armed_at = d;
        p->ops->arm(p->opaque, d);
    }
}

/* Before anything changes at tick t: apply reloads that are due and
 * deliver OUT0's edge if its time has come. */
static void sync(struct pit *p, uint64_t t)
{
    for (unsigned i = 0; i < 3; i++)
        settle(&p->c[i], t);
    if (p->edge0 != TICK_NONE && t >= p->edge0) {
        p->last0 = p->edge0;
        p->edge0 = TICK_NONE;
        if (p->out0_on)
            p->ops->out0(p->opaque, true);
    }
}

/* After a change at tick t: the next edge of OUT0, and the timer. */
static void resched(struct pit *p, uint64_t t, bool force)
{
    const struct ctr *c = &p->c[0];
    uint64_t from = t;
    if (periodic(c) && p->last0 != TICK_NONE &&
        p->last0 + PERIODIC_MIN_TICKS - 1 > from)
        from = p->last0 + PERIODIC_MIN_TICKS - 1;
    p->edge0 = rise_after(c, from);
    arm(p, force);
}

static void load(struct ctr *c, uint64_t t)
{
    c->armed = true;
    c->running = c->gate || c->mode == 1 || c->mode == 5;
    c->n = cr_count(c);
    c->start = t + 1;
    c->e0 = 0;
    c->ph0 = 0;
    c->held = c->n % modulus(c);
    c->pend = false;
    if (c->null_to > t + 1)
        c->null_to = t + 1;
}

static void disarm(struct ctr *c, uint64_t t)
{
    c->idle_ce = ce_of(c, t);
    c->armed = false;
    c->pend = false;
}

/* A complete count was written at tick t. */
static void count_written(struct ctr *c, uint64_t t)
{
    c->have_count = true;
    c->null_to = TICK_NONE;
    switch (c->mode) {
    case 0:
    case 4:
        load(c, t);
        break;
    case 1:
    case 5:
        break; /* taken at the next trigger */
    default:
        if (!c->armed || t < c->start) {
            load(c, t);
        } else if (c->running) {
            /* Loaded at the end of the period (mode 2) or of the half
             * cycle (mode 3). */
            uint32_t ph = (uint32_t)((t - c->start + c->ph0) % c->n);
            uint32_t hi = (c->n + 1) / 2;
            c->pend = true;
            c->pend_n = cr_count(c);
            c->pend_from_high = c->mode == 3 && ph < hi;
            c->pend_at = t - ph + (c->pend_from_high ? hi : c->n);
            c->null_to = c->pend_at;
        }
        /* Held by GATE low: the GATE rising edge loads it. */
        break;
    }
}

static void ctr_write(struct ctr *c, uint8_t v, uint64_t t)
{
    switch (c->rw) {
    case 1:
        c->cr = v;
        break;
    case 2:
        c->cr = (uint16_t)(v << 8);
        break;
    default:
        if (!c->wr_msb) {
            c->cr_lsb = v;
            c->wr_msb = true;
            if (c->mode == 0 && c->armed) {
                /* Mode 0: the first byte stops counting, OUT low. */
                disarm(c, t);
            }
            return;
        }
        c->wr_msb = false;
        c->cr = (uint16_t)(v << 8 | c->cr_lsb);
        break;
    }
    count_written(c, t);
}

static uint8_t status_of(const struct ctr *c, uint64_t t)
{
    return (uint8_t)((out_of(c, t) ? 0x80 : 0) | (t < c->null_to ? 0x40 : 0) |
                     c->rw << 4 | c->mode_bits << 1 | (c->bcd ? 1 : 0));
}

static void latch_count(struct ctr *c, uint64_t t)
{
    if (c->latched)
        return; /* the first latch holds until it is read */
    c->latched = true;
    c->latch = encode(c, ce_of(c, t));
    c->latch_msb = false;
}

static void control(struct pit *p, uint8_t v, uint64_t t)
{
    unsigned sc = v >> 6;
    if (sc == 3) { /* read-back */
        for (unsigned i = 0; i < 3; i++) {
            struct ctr *c = &p->c[i];
            if (!(v & 2u << i))
                continue;
            if (!(v & 0x20))
                latch_count(c, t);
            if (!(v & 0x10) && !c->st_latched) {
                c->st_latched = true;
                c->status = status_of(c, t);
            }
        }
        return;
    }
    struct ctr *c = &p->c[sc];
    unsigned rw = v >> 4 & 3;
    if (rw == 0) {
        latch_count(c, t);
        return;
    }
    disarm(c, t);
    c->rw = (uint8_t)rw;
    c->mode_bits = v >> 1 & 7;
    c->mode = c->mode_bits > 5 ? c->mode_bits - 4 : c->mode_bits;
    c->bcd = v & 1;
    c->wr_msb = false;
    c->rd_msb = false;
    c->latched = false;
    c->st_latched = false;
    c->have_count = false;
    c->null_to = TICK_NONE;
}

static uint8_t ctr_read(struct ctr *c, uint64_t t)
{
    if (c->st_latched) {
        c->st_latched = false;
        return c->status;
    }
    if (c->latched) {
        uint16_t v = c->latch;
        if (c->rw == 3 && !c->latch_msb) {
            c->latch_msb = true;
            return (uint8_t)v;
        }
        c->latched = false;
        return c->rw == 1 ? (uint8_t)v : (uint8_t)(v >> 8);
    }
    uint16_t v = encode(c, ce_of(c, t));
    if (c->rw == 1)
        return (uint8_t)v;
    if (c->rw == 2)
        return (uint8_t)(v >> 8);
    c->rd_msb = !c->rd_msb;
    return c->rd_msb ? (uint8_t)v : (uint8_t)(v >> 8);
}

static void gate(struct ctr *c, bool level, uint64_t t)
{
    if (level == c->gate)
        return;
    c->gate = level;
    if (level) {
        switch (c->mode) {
        case 0:
        case 4:
            if (c->armed && !c->running) {
                c->running = true;
                c->start = t;
            }
            break;
        default: /* 1, 5: trigger; 2, 3: reload */
            c->pre_low = !out_of(c, t);
            if (c->have_count)
                load(c, t);
            break;
        }
        return;
    }
    if (!c->armed || !c->running)
        return;
    if (c->mode == 0 || c->mode == 4) {
        c->e0 = decs(c, t);
        c->running = false;
    } else if (periodic(c)) {
        c->held = ce_of(c, t);
        c->running = false;
        c->pend = false;
    }
}

/* ---- the API ---- */

struct pit *pit_new(const struct pit_ops *ops, void *opaque, uint64_t now)
{
    (void)now;
    struct pit *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->ops = ops;
    p->opaque = opaque;
    for (unsigned i = 0; i < 3; i++) {
        struct ctr *c = &p->c[i];
        c->mode_bits = c->mode = 3;
        c->rw = 3;
        c->gate = i != 2; /* counter 2: port 0x61 bit 0, clear */
        c->null_to = TICK_NONE;
    }
    p->out0_on = true;
    p->edge0 = p->last0 = TICK_NONE;
    return p;
}

void pit_free(struct pit *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

uint8_t pit_read(struct pit *p, unsigned off, uint64_t now)
{
    if (off > 2)
        return 0xff; /* the control word register is write-only */
    uint64_t t = to_tick(now);
    pthread_mutex_lock(&p->lock);
    sync(p, t);
    uint8_t v = ctr_read(&p->c[off], t);
    resched(p, t, false);
    pthread_mutex_unlock(&p->lock);
    return v;
}

void pit_write(struct pit *p, unsigned off, uint8_t val, uint64_t now)
{
    if (off > 3)
        return;
    uint64_t t = to_tick(now);
    pthread_mutex_lock(&p->lock);
    sync(p, t);
    bool before = out_of(&p->c[0], t);
    if (off == 3)
        control(p, val, t);
    else
        ctr_write(&p->c[off], val, t);
    bool after = out_of(&p->c[0], t);
    if (after != before && p->out0_on)
        p->ops->out0(p->opaque, after);
    resched(p, t, false);
    pthread_mutex_unlock(&p->lock);
}

uint8_t pit_port61_read(struct pit *p, uint64_t now)
{
    uint64_t t = to_tick(now);
    pthread_mutex_lock(&p->lock);
    sync(p, t);
    uint8_t v = (uint8_t)(p->port61 & 0x0f);
    if (t / REFRESH_TICKS & 1)
        v |= 0x10;
    if (out_of(&p->c[2], t))
        v |= 0x20;
    resched(p, t, false);
    pthread_mutex_unlock(&p->lock);
    return v;
}

void pit_port61_write(struct pit *p, uint8_t val, uint64_t now)
{
    uint64_t t = to_tick(now);
    pthread_mutex_lock(&p->lock);
    sync(p, t);
    p->port61 = val & 0x0f;
    gate(&p->c[2], val & 1, t);
    resched(p, t, false);
    pthread_mutex_unlock(&p->lock);
}

void pit_tick(struct pit *p, uint64_t now)
{
    uint64_t t = to_tick(now);
    pthread_mutex_lock(&p->lock);
    sync(p, t);
    resched(p, t, true);
    pthread_mutex_unlock(&p->lock);
}

void pit_set_out0_enabled(struct pit *p, bool on, uint64_t now)
{
    uint64_t t = to_tick(now);
    pthread_mutex_lock(&p->lock);
    sync(p, t);
    p->out0_on = on;
    resched(p, t, false);
    pthread_mutex_unlock(&p->lock);
}

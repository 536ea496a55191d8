/*
 * test_x86_pit.c: the 8254 model (src/arch/x86/pit.c) driven through its
 * API at explicit times. Times are given in CLK pulses from a base (tick
 * 0 = 1000 s of CLOCK_MONOTONIC): at(k) is the first nanosecond of pulse k.
 * A count written at pulse k is loaded at k + 1 (the data sheet's "next
 * CLK pulse"), so mode 0 with count N reaches terminal count at k + 1 + N.
 * The recorded ops say which OUT0 edges the model reported and which
 * deadline it asked for last.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "arch/x86/pit.h"

#define BASE_NS 1000000000000ull /* 1000 s: pulse PIT_HZ * 1000 exactly */

struct rec {
    unsigned rises, falls;
    uint64_t rise_ns[64];
    uint64_t now; /* the time of the call being made (for rise_ns) */
    uint64_t deadline;
    unsigned narm;
};

static void rec_out0(void *opaque, bool level)
{
    struct rec *r = opaque;
    if (level) {
        if (r->rises < 64)
            r->rise_ns[r->rises] = r->now;
        r->rises++;
    } else {
        r->falls++;
    }
}

static void rec_arm(void *opaque, uint64_t deadline)
{
    struct rec *r = opaque;
    r->deadline = deadline;
    r->narm++;
}

static const struct pit_ops ops = {rec_out0, rec_arm};

static uint64_t at(uint64_t k)
{
    return BASE_NS + (k * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

struct t {
    struct pit *p;
    struct rec r;
};

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    t->p = pit_new(&ops, &t->r, at(0));
    assert_non_null(t->p);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    pit_free(t->p);
    free(t);
    return 0;
}

static void wr(struct t *t, unsigned port, uint8_t v, uint64_t k)
{
    t->r.now = at(k);
    pit_write(t->p, port, v, at(k));
}

static uint8_t rd(struct t *t, unsigned port, uint64_t k)
{
    t->r.now = at(k);
    return pit_read(t->p, port, at(k));
}

static void tick(struct t *t, uint64_t k)
{
    t->r.now = at(k);
    pit_tick(t->p, at(k));
}

static void gate2(struct t *t, bool on, uint64_t k)
{
    t->r.now = at(k);
    pit_port61_write(t->p, on ? 1 : 0, at(k));
}

static bool out2(struct t *t, uint64_t k)
{
    return pit_port61_read(t->p, at(k)) & 0x20;
}

/* Control word, then a 16-bit count LSB then MSB, all at pulse k. */
static void program(struct t *t, unsigned ch, uint8_t cw, uint16_t count,
                    uint64_t k)
{
    wr(t, 3, cw, k);
    wr(t, ch, (uint8_t)count, k);
    wr(t, ch, (uint8_t)(count >> 8), k);
}

/* The counter latch command and two reads (LSB/MSB access). */
static uint16_t latched(struct t *t, unsigned ch, uint64_t k)
{
    wr(t, 3, (uint8_t)(ch << 6), k);
    uint16_t v = rd(t, ch, k);
    return (uint16_t)(v | rd(t, ch, k) << 8);
}

/* Read-back of one counter's status byte. */
static uint8_t status(struct t *t, unsigned ch, uint64_t k)
{
    wr(t, 3, (uint8_t)(0xe0 | 2u << ch), k); /* latch status only */
    return rd(t, ch, k);
}

/* ---- mode 0 ---- */

static void test_mode0(void **state)
{
    struct t *t = *state;
    wr(t, 3, 0x30, 0);               /* counter 0, LSB/MSB, mode 0, binary */
    assert_int_equal(t->r.falls, 1); /* OUT0 low from the control word */
    assert_int_equal(t->r.deadline, 0);
    wr(t, 0, 100, 0);
    wr(t, 0, 0, 0);
    assert_int_equal(status(t, 0, 0), 0x70); /* OUT low, null count */
    assert_int_equal(status(t, 0, 1), 0x30); /* loaded */
    assert_int_equal(t->r.deadline, at(101));
    assert_int_equal(latched(t, 0, 1), 100);
    assert_int_equal(latched(t, 0, 2), 99);
    assert_int_equal(latched(t, 0, 51), 50);
    assert_int_equal(latched(t, 0, 100), 1);
    assert_int_equal(status(t, 0, 100) & 0x80, 0);
    tick(t, 100); /* early: nothing yet */
    assert_int_equal(t->r.rises, 0);
    assert_int_equal(t->r.deadline, at(101));
    tick(t, 101);
    assert_int_equal(t->r.rises, 1);
    assert_int_equal(t->r.deadline, 0); /* one interrupt only */
    assert_int_equal(status(t, 0, 101), 0xb0);
    assert_int_equal(latched(t, 0, 101), 0);
    assert_int_equal(latched(t, 0, 102), 0xffff); /* wraps, keeps counting */
    assert_int_equal(latched(t, 0, 103), 0xfffe);
    assert_int_equal(status(t, 0, 70000) & 0x80, 0x80); /* OUT stays high */
    tick(t, 70000);
    assert_int_equal(t->r.rises, 1);
    /* A new count: OUT low again at once, high N + 1 pulses later. */
    wr(t, 0, 10, 80000);
    assert_int_equal(t->r.falls, 2);
    assert_int_equal(t->r.deadline, 0); /* the first byte stops counting */
    assert_int_equal(latched(t, 0, 80005), latched(t, 0, 80000));
    wr(t, 0, 0, 80010);
    assert_int_equal(t->r.deadline, at(80021));
    tick(t, 80030); /* late: one edge */
    assert_int_equal(t->r.rises, 2);
    assert_int_equal(t->r.rise_ns[1], at(80030));
}

/* Counter 2's mode 0 with the gate: GATE low holds the count. */
static void test_mode0_gate(void **state)
{
    struct t *t = *state;
    program(t, 2, 0xb0, 100, 0); /* gate still low: loaded, held */
    assert_false(out2(t, 0));
    assert_int_equal(latched(t, 2, 50), 100);
    gate2(t, true, 50); /* counts from pulse 51 */
    assert_int_equal(latched(t, 2, 60), 90);
    gate2(t, false, 60);
    assert_int_equal(latched(t, 2, 1000), 90);
    gate2(t, true, 1000);
    assert_false(out2(t, 1089));
    assert_int_equal(latched(t, 2, 1089), 1);
    assert_true(out2(t, 1090));
    assert_int_equal(t->r.rises + t->r.falls, 0); /* counter 2: no IRQ */
}

/* ---- mode 1 ---- */

static void test_mode1(void **state)
{
    struct t *t = *state;
    program(t, 2, 0xb2, 5, 0);                      /* counter 2, mode 1 */
    assert_true(out2(t, 5));                        /* waits for a trigger */
    assert_int_equal(status(t, 2, 5) & 0x40, 0x40); /* not loaded yet */
    gate2(t, true, 10);                             /* trigger: load at 11 */
    assert_true(out2(t, 10));
    assert_false(out2(t, 11));
    assert_int_equal(status(t, 2, 11), 0x32); /* OUT low, LSB/MSB, mode 1 */
    assert_int_equal(latched(t, 2, 12), 4);
    assert_false(out2(t, 15));
    assert_true(out2(t, 16)); /* N pulses low */
    assert_int_equal(latched(t, 2, 17), 0xffff);
    /* Retriggerable: a new trigger during the pulse restarts it. */
    gate2(t, false, 20);
    gate2(t, true, 21);
    gate2(t, false, 23);
    gate2(t, true, 24); /* reload at 25 */
    assert_false(out2(t, 29));
    assert_true(out2(t, 30));
    /* A new count is taken at the next trigger only. */
    wr(t, 2, 50, 40);
    wr(t, 2, 0, 40);
    assert_int_equal(status(t, 2, 41) & 0x40, 0x40);
    gate2(t, false, 42);
    gate2(t, true, 43);
    assert_false(out2(t, 93));
    assert_true(out2(t, 94));
}

/* ---- mode 2 ---- */

static void test_mode2(void **state)
{
    struct t *t = *state;
    program(t, 0, 0x34, 1000, 0); /* Linux's periodic tick, 1000 pulses */
    assert_int_equal(t->r.falls, 0);
    assert_int_equal(t->r.deadline, at(1001));
    assert_int_equal(latched(t, 0, 1), 1000);
    assert_int_equal(latched(t, 0, 2), 999);
    assert_int_equal(latched(t, 0, 1000), 1);
    assert_int_equal(status(t, 0, 1000) & 0x80, 0); /* the low pulse */
    assert_int_equal(latched(t, 0, 1001), 1000);    /* never reads 0 */
    assert_int_equal(status(t, 0, 1001) & 0x80, 0x80);
    tick(t, 1001);
    assert_int_equal(t->r.rises, 1);
    assert_int_equal(t->r.deadline, at(2001));
    /* One edge per period. */
    for (uint64_t k = 2001; k <= 5001; k += 1000)
        tick(t, k);
    assert_int_equal(t->r.rises, 5);
    assert_int_equal(t->r.deadline, at(6001));
    /* A late timer: the missed periods give one edge. */
    tick(t, 9500);
    assert_int_equal(t->r.rises, 6);
    assert_int_equal(t->r.deadline, at(10001));
    /* A new count is loaded at the end of the current period. */
    wr(t, 0, 0xf4, 9600); /* 500 */
    wr(t, 0, 0x01, 9600);
    assert_int_equal(status(t, 0, 9600) & 0x40, 0x40);
    assert_int_equal(latched(t, 0, 9601), 400);
    assert_int_equal(t->r.deadline, at(10001));
    tick(t, 10001);
    assert_int_equal(t->r.deadline, at(10501));
    assert_int_equal(latched(t, 0, 10001), 500);
    assert_int_equal(status(t, 0, 10001) & 0x40, 0);
}

static void test_mode2_gate(void **state)
{
    struct t *t = *state;
    gate2(t, true, 0);
    program(t, 2, 0xb4, 10, 0);
    assert_true(out2(t, 9));
    assert_false(out2(t, 10));
    assert_true(out2(t, 11));
    gate2(t, false, 20);      /* p = 9: the low pulse */
    assert_true(out2(t, 20)); /* GATE low: OUT high at once */
    assert_int_equal(latched(t, 2, 30), 1);
    gate2(t, true, 100); /* reload at 101 */
    assert_int_equal(latched(t, 2, 101), 10);
    assert_false(out2(t, 110));
}

/* Periodic edges are at least 100 us apart. */
static void test_mode2_floor(void **state)
{
    struct t *t = *state;
    program(t, 0, 0x34, 2, 0);
    tick(t, 3);
    assert_int_equal(t->r.rises, 1);
    assert_int_equal(t->r.deadline, at(123));
    tick(t, 123);
    assert_int_equal(t->r.rises, 2);
}

/* ---- mode 3 ---- */

static void test_mode3_even(void **state)
{
    struct t *t = *state;
    gate2(t, true, 0);
    program(t, 2, 0xb6, 10, 0);
    static const uint16_t ce[] = {10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10};
    for (unsigned i = 0; i < 11; i++) {
        assert_int_equal(latched(t, 2, 1 + i), ce[i]);
        assert_int_equal(out2(t, 1 + i), i < 5 || i == 10);
    }
}

static void test_mode3_odd(void **state)
{
    struct t *t = *state;
    gate2(t, true, 0);
    program(t, 2, 0xb6, 7, 0);
    /* High for 4 pulses, low for 3; the CE counts 6 4 2 0 | 6 4 2. */
    static const uint16_t ce[] = {6, 4, 2, 0, 6, 4, 2, 6};
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(latched(t, 2, 1 + i), ce[i]);
        assert_int_equal(out2(t, 1 + i), i < 4 || i == 7);
    }
    /* A new count during the high half takes over at its end: the low
     * half is then the new count's. */
    wr(t, 2, 4, 8); /* p = 0 of the period from 8 */
    wr(t, 2, 0, 8);
    assert_true(out2(t, 11));
    assert_false(out2(t, 12)); /* new: low for 2 */
    assert_false(out2(t, 13));
    assert_true(out2(t, 14)); /* high for 2 */
    assert_true(out2(t, 15));
    assert_false(out2(t, 16));
}

static void test_mode3_counter0(void **state)
{
    struct t *t = *state;
    program(t, 0, 0x36, 1000, 0);
    assert_int_equal(t->r.deadline, at(1001));
    tick(t, 1001);
    tick(t, 2001);
    assert_int_equal(t->r.rises, 2);
    assert_int_equal(t->r.deadline, at(3001));
    assert_int_equal(status(t, 0, 2600) & 0x80, 0); /* low half */
    /* A control word for mode 2 drives OUT0 high: an edge. */
    wr(t, 3, 0x34, 2600);
    assert_int_equal(t->r.rises, 3);
    assert_int_equal(t->r.deadline, 0);
}

/* ---- modes 4 and 5 ---- */

static void test_mode4(void **state)
{
    struct t *t = *state;
    /* Linux's oneshot: 0x38 once, then a count per event. */
    wr(t, 3, 0x38, 0);
    assert_int_equal(t->r.falls, 0); /* OUT stays high */
    wr(t, 0, 5, 0);
    wr(t, 0, 0, 0);
    assert_int_equal(t->r.deadline, at(7)); /* strobe at 6, edge at 7 */
    assert_int_equal(status(t, 0, 5) & 0x80, 0x80);
    assert_int_equal(status(t, 0, 6) & 0x80, 0);
    assert_int_equal(status(t, 0, 7) & 0x80, 0x80);
    tick(t, 7);
    assert_int_equal(t->r.rises, 1);
    assert_int_equal(t->r.deadline, 0);
    /* The next event restarts the count (a write before expiry too). */
    wr(t, 0, 100, 20);
    wr(t, 0, 0, 20);
    assert_int_equal(t->r.deadline, at(122));
    wr(t, 0, 50, 60);
    wr(t, 0, 0, 60);
    assert_int_equal(t->r.deadline, at(112));
    tick(t, 112);
    assert_int_equal(t->r.rises, 2);
}

static void test_mode5(void **state)
{
    struct t *t = *state;
    program(t, 2, 0xba, 5, 0);
    assert_true(out2(t, 10));
    gate2(t, true, 10); /* load at 11 */
    assert_int_equal(latched(t, 2, 11), 5);
    assert_true(out2(t, 15));
    assert_false(out2(t, 16)); /* the strobe */
    assert_true(out2(t, 17));
    gate2(t, false, 20);
    gate2(t, true, 20);
    gate2(t, false, 21);
    gate2(t, true, 22); /* retrigger: load at 23 */
    assert_false(out2(t, 28));
    assert_true(out2(t, 29));
}

/* ---- reading ---- */

static void test_readback(void **state)
{
    struct t *t = *state;
    program(t, 0, 0x34, 0x1234, 0);
    program(t, 1, 0x74, 0x100, 0);
    gate2(t, true, 0);
    program(t, 2, 0xb6, 0x40, 0);
    /* Count and status of all three at pulse 0x11: status first. */
    wr(t, 3, 0xce, 0x11);
    assert_int_equal(rd(t, 0, 0x20), 0xb4); /* OUT high, loaded, mode 2 */
    assert_int_equal(rd(t, 0, 0x20), 0x24); /* 0x1234 - 0x10 */
    assert_int_equal(rd(t, 0, 0x20), 0x12);
    assert_int_equal(rd(t, 1, 0x20), 0xb4);
    assert_int_equal(rd(t, 1, 0x20), 0xf0);
    assert_int_equal(rd(t, 1, 0x20), 0x00);
    assert_int_equal(rd(t, 2, 0x20), 0xb6); /* OUT high, mode 3 */
    assert_int_equal(rd(t, 2, 0x20), 0x20);
    assert_int_equal(rd(t, 2, 0x20), 0x00);
    /* A second status latch before the first is read is ignored; the
     * null count bit is set from a control word to the load. */
    wr(t, 3, 0x30, 0x30);
    wr(t, 3, 0xe2, 0x30);
    wr(t, 0, 0x10, 0x31);
    wr(t, 0, 0x00, 0x31);
    wr(t, 3, 0xe2, 0x31);
    assert_int_equal(rd(t, 0, 0x40), 0x70);
    assert_int_equal(status(t, 0, 0x40), 0x30);
    /* Mode 6 and 7 read back as written; BCD bit. */
    wr(t, 3, 0x5d, 0x50); /* counter 1, LSB only, mode 6, BCD */
    assert_int_equal(status(t, 1, 0x50), 0xdd); /* OUT high, null count */
    /* The control port reads as nothing. */
    assert_int_equal(rd(t, 3, 0x50), 0xff);
}

static void test_latch(void **state)
{
    struct t *t = *state;
    program(t, 0, 0x30, 30000, 0);
    wr(t, 3, 0x00, 10); /* latch: 30000 - 9 */
    wr(t, 3, 0x00, 20); /* ignored: the first latch is unread */
    assert_int_equal(rd(t, 0, 500), (29991 & 0xff));
    assert_int_equal(rd(t, 0, 9000), 29991 >> 8);
    /* Unlatched again: the live count. */
    uint8_t lsb = rd(t, 0, 10001); /* two statements: operand order */
    uint8_t msb = rd(t, 0, 10001);
    assert_int_equal(lsb | msb << 8, 20000);
    /* Unlatched LSB then MSB straddling a borrow: as on the chip. */
    uint8_t lo = rd(t, 0, 10001 + 0x20); /* 20000 - 32 = 0x4e00 */
    uint8_t hi = rd(t, 0, 10001 + 0x21); /* 0x4dff */
    assert_int_equal(lo, 0x00);
    assert_int_equal(hi, 0x4d);
    /* Latch then control word: the latch is dropped. */
    wr(t, 3, 0x00, 20000);
    wr(t, 3, 0x30, 20001);
    program(t, 0, 0x30, 0x0102, 20002);
    assert_int_equal(latched(t, 0, 20003), 0x0102);
}

static void test_access_modes(void **state)
{
    struct t *t = *state;
    wr(t, 3, 0x10, 0); /* LSB only */
    wr(t, 0, 0x20, 0);
    assert_int_equal(t->r.deadline, at(33));
    assert_int_equal(rd(t, 0, 1), 0x20);
    assert_int_equal(rd(t, 0, 2), 0x1f);
    wr(t, 3, 0x20, 100); /* MSB only: 0x0100 */
    wr(t, 0, 0x01, 100);
    assert_int_equal(t->r.deadline, at(101 + 256));
    assert_int_equal(rd(t, 0, 101), 0x01);
    assert_int_equal(rd(t, 0, 102), 0x00); /* 0x00ff */
    wr(t, 3, 0x20, 400);                   /* latch reads MSB only too */
    wr(t, 0, 0x02, 400);
    wr(t, 3, 0x00, 402);
    assert_int_equal(rd(t, 0, 900), 0x01);
    assert_int_equal(rd(t, 0, 900), 0x00); /* live again: 0x200 - 499 */
}

static void test_bcd(void **state)
{
    struct t *t = *state;
    program(t, 0, 0x31, 0x1000, 0); /* BCD 1000 */
    assert_int_equal(t->r.deadline, at(1001));
    assert_int_equal(latched(t, 0, 2), 0x0999);
    assert_int_equal(latched(t, 0, 1000), 0x0001);
    assert_int_equal(latched(t, 0, 1002), 0x9999); /* wraps in decimal */
    program(t, 0, 0x31, 0x0000, 2000);             /* 0: 10000 */
    assert_int_equal(t->r.deadline, at(12001));
    assert_int_equal(latched(t, 0, 2001), 0x0000);
    assert_int_equal(latched(t, 0, 2002), 0x9999);
    program(t, 0, 0x30, 0x0000, 20000); /* binary 0: 65536 */
    assert_int_equal(t->r.deadline, at(20001 + 65536));
}

static void test_refresh(void **state)
{
    struct t *t = *state;
    uint8_t a = pit_port61_read(t->p, at(0));
    uint8_t b = pit_port61_read(t->p, at(18));
    uint8_t c = pit_port61_read(t->p, at(36));
    assert_int_equal((a ^ b) & 0x10, 0x10);
    assert_int_equal((b ^ c) & 0x10, 0x10);
    assert_int_equal(pit_port61_read(t->p, at(1)) & 0x10, a & 0x10);
    /* Bits 0-3 read back; 6-7 read 0. */
    pit_port61_write(t->p, 0xff, at(40));
    assert_int_equal(pit_port61_read(t->p, at(40)) & 0xcf, 0x0f);
}

/* ---- Linux ---- */

/* arch/x86/kernel/tsc.c pit_calibrate_tsc(CAL_LATCH = 10 ms): gate high,
 * speaker off, counter 2 mode 0, LSB then MSB, poll port 0x61 bit 5. */
static void test_linux_calibrate_tsc(void **state)
{
    struct t *t = *state;
    const uint16_t latch = PIT_HZ / (1000 / 10);
    uint64_t now = BASE_NS + 123456; /* not on a pulse boundary */
    uint8_t v = pit_port61_read(t->p, now);
    pit_port61_write(t->p, (uint8_t)((v & ~0x02) | 0x01), now);
    pit_write(t->p, 3, 0xb0, now);
    pit_write(t->p, 2, latch & 0xff, now);
    pit_write(t->p, 2, latch >> 8, now);
    /* OUT2 must rise latch + 1 pulses (10.0006 ms) later, not before. */
    uint64_t rise = now + (uint64_t)(latch + 1) * 1000000000ull / PIT_HZ;
    unsigned polls = 0;
    uint64_t t_ns = now;
    while (!(pit_port61_read(t->p, t_ns) & 0x20)) {
        t_ns += 997; /* an I/O-sized step */
        polls++;
    }
    assert_true(t_ns >= rise - 1000);
    assert_true(t_ns <= rise + 1000 + 997);
    assert_true(t_ns - now >= 10000000ull - 1000); /* within a pulse */
    assert_true(polls > 1000);                     /* loopmin */
    assert_int_equal(pit_port61_read(t->p, t_ns) & 0x03, 0x01);
    assert_int_equal(t->r.rises + t->r.falls + t->r.narm, 0);
}

/* quick_pit_calibrate: counter 2 mode 0 from 0xffff, unlatched LSB/MSB
 * reads; the MSB steps down every 256 pulses. */
static void test_linux_quick_calibrate(void **state)
{
    struct t *t = *state;
    gate2(t, true, 0);
    program(t, 2, 0xb0, 0xffff, 0);
    unsigned msb = 0xff;
    for (uint64_t k = 1; k < 256 * 10; k += 7) {
        (void)rd(t, 2, k); /* ignore the LSB */
        unsigned m = rd(t, 2, k);
        uint16_t expect = (uint16_t)(0xffff - (k - 1));
        assert_int_equal(m, expect >> 8);
        assert_true(m == msb || m == msb - 1);
        msb = m;
    }
    assert_int_equal(msb, 0xf6);
}

/* drivers/clocksource/i8253.c: periodic, oneshot, and the shutdown that
 * must leave no interrupt behind (clockevent_i8253_disable). */
static void test_linux_clockevent(void **state)
{
    struct t *t = *state;
    const uint16_t pit_latch = (PIT_HZ + 1000 / 2) / 1000; /* HZ 1000 */
    program(t, 0, 0x34, pit_latch, 0);
    for (unsigned i = 1; i <= 10; i++)
        tick(t, 1 + (uint64_t)i * pit_latch);
    assert_int_equal(t->r.rises, 10);
    /* 10 periods of 1 ms, to the pulse. */
    assert_int_equal(t->r.rise_ns[9] - t->r.rise_ns[0],
                     at(1 + 10ull * pit_latch) - at(1 + pit_latch));
    /* Oneshot, half way through the next period (no edge from it). */
    const uint64_t k = 1 + 10ull * pit_latch + 500;
    wr(t, 3, 0x38, k);
    wr(t, 0, 0x0f, k);
    wr(t, 0, 0x00, k);
    assert_int_equal(t->r.deadline, at(k + 17));
    tick(t, k + 17);
    assert_int_equal(t->r.rises, 11);
    /* Shutdown: mode 0 with count 0, then mode 0 again: no edge ever. */
    wr(t, 3, 0x30, 30000);
    wr(t, 0, 0, 30000);
    wr(t, 0, 0, 30000);
    assert_int_equal(t->r.deadline, at(30001 + 65536));
    wr(t, 3, 0x30, 30000);
    assert_int_equal(t->r.deadline, 0);
    tick(t, 200000);
    assert_int_equal(t->r.rises, 11);
}

/* HPET legacy replacement: OUT0 disconnected, the counter still counts. */
static void test_out0_disable(void **state)
{
    struct t *t = *state;
    program(t, 0, 0x34, 1000, 0);
    pit_set_out0_enabled(t->p, false, at(10));
    assert_int_equal(t->r.deadline, 0);
    tick(t, 1001);
    assert_int_equal(t->r.rises, 0);
    assert_int_equal(latched(t, 0, 1500), 501);
    pit_set_out0_enabled(t->p, true, at(1500));
    assert_int_equal(t->r.deadline, at(2001));
    tick(t, 2001);
    assert_int_equal(t->r.rises, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_mode0),
        T(test_mode0_gate),
        T(test_mode1),
        T(test_mode2),
        T(test_mode2_gate),
        T(test_mode2_floor),
        T(test_mode3_even),
        T(test_mode3_odd),
        T(test_mode3_counter0),
        T(test_mode4),
        T(test_mode5),
        T(test_readback),
        T(test_latch),
        T(test_access_modes),
        T(test_bcd),
        T(test_refresh),
        T(test_linux_calibrate_tsc),
        T(test_linux_quick_calibrate),
        T(test_linux_clockevent),
        T(test_out0_disable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

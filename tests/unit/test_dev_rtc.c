/*
 * test_dev_rtc.c: the MC146818 model's interrupts (src/devices/rtc.c,
 * rtc.h) at explicit times: the periodic flag at register A's rate, the
 * alarm with "don't care" values, update-ended once a second, register C
 * read-to-clear and the IRQ line following IRQF, the device timer asked
 * for only when an enabled interrupt needs it, Linux's rtc-cmos sequences
 * and the output disconnected by HPET legacy replacement. Time 0 of the tests
 * is 2024-03-01 12:00:00 UTC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "devices/rtc.h"

#define S      1000000000ull
#define BASE   (1709294400ull * S) /* 2024-03-01 12:00:00 UTC */
#define REG_A  0x0a
#define REG_B  0x0b
#define REG_C  0x0c
#define PER_NS 976563ull /* the first ns of the first period boundary */

struct rec {
    bool level;
    unsigned rises, falls;
    uint64_t deadline;
    unsigned narm;
};

static void rec_irq(void *opaque, bool level)
{
    struct rec *r = opaque;
    assert_int_not_equal(level, r->level); /* only changes are reported */
    r->level = level;
    if (level)
        r->rises++;
    else
        r->falls++;
}

static void rec_arm(void *opaque, uint64_t deadline)
{
    struct rec *r = opaque;
    r->deadline = deadline;
    r->narm++;
}

static const struct rtc_ops ops = {rec_irq, rec_arm};

struct t {
    struct rtc *r;
    struct rec rec;
};

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    t->r = rtc_new(&ops, &t->rec, BASE);
    assert_non_null(t->r);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    rtc_free(t->r);
    free(t);
    return 0;
}

static uint8_t rd(struct t *t, unsigned idx, uint64_t now)
{
    rtc_io_write(t->r, 0, (uint8_t)(0x80 | idx), now);
    return rtc_io_read(t->r, 1, now);
}

static void wr(struct t *t, unsigned idx, uint8_t v, uint64_t now)
{
    rtc_io_write(t->r, 0, (uint8_t)(0x80 | idx), now);
    rtc_io_write(t->r, 1, v, now);
}

/* ---- periodic ---- */

static void test_periodic(void **state)
{
    struct t *t = *state;
    assert_int_equal(rd(t, REG_A, BASE + 100), 0x26);
    assert_int_equal(t->rec.deadline, 0); /* nothing enabled: no timer */
    wr(t, REG_B, 0x42, BASE + 100);       /* PIE, 24h BCD */
    assert_false(t->rec.level);
    assert_int_equal(t->rec.deadline, BASE + PER_NS);
    rtc_tick(t->r, BASE + PER_NS - 1); /* early: nothing */
    assert_false(t->rec.level);
    assert_int_equal(t->rec.deadline, BASE + PER_NS);
    rtc_tick(t->r, BASE + PER_NS);
    assert_true(t->rec.level);
    assert_int_equal(t->rec.deadline, 0); /* asserted until C is read */
    assert_int_equal(rd(t, REG_C, BASE + PER_NS + 5000), 0xc0);
    assert_false(t->rec.level);
    assert_int_equal(t->rec.deadline, BASE + 1953125);
    assert_int_equal(rd(t, REG_C, BASE + PER_NS + 6000), 0x00);
    /* A guest serving each interrupt: 1024 per second exactly. */
    unsigned n = 0;
    uint64_t end = BASE + 2 * S + PER_NS;
    while (t->rec.deadline && t->rec.deadline <= end) {
        uint64_t now = t->rec.deadline;
        rtc_tick(t->r, now);
        assert_true(t->rec.level);
        assert_int_equal(rd(t, REG_C, now + 20000) & 0xc0, 0xc0);
        n++;
    }
    assert_int_equal(n, 2048);
}

static unsigned count_rate(struct t *t, uint8_t a, uint64_t from)
{
    wr(t, REG_A, a, from);
    (void)rd(t, REG_C, from);
    unsigned n = 0;
    while (t->rec.deadline && t->rec.deadline <= from + S) {
        uint64_t now = t->rec.deadline;
        rtc_tick(t->r, now);
        n += rd(t, REG_C, now) >> 6 & 1;
    }
    return n;
}

static void test_periodic_rates(void **state)
{
    struct t *t = *state;
    wr(t, REG_B, 0x42, BASE);
    assert_int_equal(count_rate(t, 0x2f, BASE), 2);            /* RS 15 */
    assert_int_equal(count_rate(t, 0x2a, BASE + S), 64);       /* RS 10 */
    assert_int_equal(count_rate(t, 0x21, BASE + 2 * S), 256);  /* RS 1 */
    assert_int_equal(count_rate(t, 0x23, BASE + 3 * S), 8192); /* RS 3 */
    /* RS 0: no periodic interrupt, no timer. */
    wr(t, REG_A, 0x20, BASE + 5 * S);
    (void)rd(t, REG_C, BASE + 5 * S); /* the old rate's last flag */
    assert_int_equal(t->rec.deadline, 0);
    assert_int_equal(rd(t, REG_C, BASE + 6 * S) & 0x40, 0);
    /* The divider in reset (DV 110): none either. */
    wr(t, REG_A, 0x66, BASE + 6 * S);
    assert_int_equal(t->rec.deadline, 0);
    assert_int_equal(rd(t, REG_C, BASE + 7 * S) & 0x40, 0);
}

/* The flags coalesce: many periods without a read of C are one interrupt;
 * PF is set with PIE clear too, without any timer. */
static void test_periodic_coalesce(void **state)
{
    struct t *t = *state;
    assert_int_equal(rd(t, REG_C, BASE + 3 * S / 1000), 0x40);
    assert_int_equal(t->rec.narm, 0);
    assert_int_equal(rd(t, REG_C, BASE + 3 * S / 1000 + 1000), 0x00);
    wr(t, REG_B, 0x42, BASE + S / 100);
    rtc_tick(t->r, BASE + S / 100 + S / 1000);
    assert_int_equal(t->rec.rises, 1);
    rtc_tick(t->r, BASE + S / 10); /* spurious: still one */
    assert_int_equal(t->rec.rises, 1);
    assert_int_equal(rd(t, REG_C, BASE + S / 10), 0xc0);
    assert_int_equal(t->rec.falls, 1);
    /* PIE cleared while IRQF is set: the line drops at once. */
    rtc_tick(t->r, BASE + S / 5);
    assert_true(t->rec.level);
    wr(t, REG_B, 0x02, BASE + S / 5);
    assert_false(t->rec.level);
    assert_int_equal(t->rec.deadline, 0);
    /* PIE set while PF is pending: IRQF at once. */
    wr(t, REG_B, 0x42, BASE + S / 4);
    assert_true(t->rec.level);
    assert_int_equal(rd(t, REG_C, BASE + S / 4), 0xc0);
    assert_false(t->rec.level);
}

/* ---- update-ended ---- */

static void test_update_ended(void **state)
{
    struct t *t = *state;
    wr(t, REG_B, 0x12, BASE + S / 2); /* UIE */
    assert_int_equal(t->rec.deadline, BASE + S);
    for (unsigned i = 1; i <= 5; i++) {
        rtc_tick(t->r, BASE + i * S);
        assert_true(t->rec.level);
        assert_int_equal(t->rec.deadline, 0);
        /* the seconds register has moved on when the flag is seen */
        assert_int_equal(rd(t, 0, BASE + i * S + 1000), i);
        assert_int_equal(rd(t, REG_C, BASE + i * S + 2000) & 0xd0, 0xd0);
        assert_false(t->rec.level);
        assert_int_equal(t->rec.deadline, BASE + (i + 1) * S);
    }
    assert_int_equal(t->rec.rises, 5);
    /* UIP: the last 244 us of a second. */
    assert_int_equal(rd(t, REG_A, BASE + 6 * S - 245000) & 0x80, 0);
    assert_int_equal(rd(t, REG_A, BASE + 6 * S - 244000) & 0x80, 0x80);
    /* SET holds the clock: UIE is cleared, no UF, no timer. */
    wr(t, REG_B, 0x92, BASE + 6 * S + 10);
    assert_int_equal(rd(t, REG_B, BASE + 6 * S + 10), 0x82);
    assert_int_equal(t->rec.deadline, 0);
    (void)rd(t, REG_C, BASE + 6 * S + 20);
    assert_int_equal(rd(t, REG_C, BASE + 9 * S) & 0xb0, 0x00); /* PF only */
    assert_int_equal(rd(t, REG_A, BASE + 10 * S - 1000) & 0x80, 0);
}

/* ---- alarm ---- */

static void test_alarm(void **state)
{
    struct t *t = *state;
    wr(t, REG_A, 0x20, BASE); /* no periodic flag in the way */
    wr(t, 5, 0x12, BASE);     /* 12:00:05 BCD */
    wr(t, 3, 0x00, BASE);
    wr(t, 1, 0x05, BASE);
    assert_int_equal(t->rec.deadline, 0);
    wr(t, REG_B, 0x22, BASE + 10); /* AIE */
    assert_int_equal(t->rec.deadline, BASE + 5 * S);
    rtc_tick(t->r, BASE + 5 * S - 1);
    assert_false(t->rec.level);
    rtc_tick(t->r, BASE + 5 * S);
    assert_true(t->rec.level);
    assert_int_equal(rd(t, REG_C, BASE + 5 * S + 100), 0xb0); /* IRQF AF UF */
    assert_false(t->rec.level);
    /* Next match: tomorrow. */
    assert_int_equal(t->rec.deadline, BASE + (86400 + 5) * S);
    /* "Don't care" seconds: every second of minute 12:01. */
    wr(t, 1, 0xc0, BASE + 6 * S);
    wr(t, 3, 0x01, BASE + 6 * S);
    assert_int_equal(t->rec.deadline, BASE + 60 * S);
    /* All three don't care: every second. */
    wr(t, 3, 0xff, BASE + 6 * S);
    wr(t, 5, 0xff, BASE + 6 * S);
    assert_int_equal(t->rec.deadline, BASE + 7 * S);
    /* Hours don't care, 45:30: the next hour's. */
    wr(t, 1, 0x30, BASE + 6 * S);
    wr(t, 3, 0x45, BASE + 6 * S);
    wr(t, 5, 0xc5, BASE + 6 * S);
    assert_int_equal(t->rec.deadline, BASE + (45 * 60 + 30) * S);
    /* A value no time matches: no alarm, no timer. */
    wr(t, 3, 0x99, BASE + 6 * S);
    assert_int_equal(t->rec.deadline, 0);
    /* AF is set with AIE clear too (and the line stays low). */
    wr(t, REG_B, 0x02, BASE + 6 * S);
    wr(t, 3, 0x00, BASE + 6 * S);
    wr(t, 1, 0x08, BASE + 6 * S);
    wr(t, 5, 0x12, BASE + 6 * S);
    assert_int_equal(t->rec.deadline, 0);
    assert_int_equal(rd(t, REG_C, BASE + 9 * S) & 0xa0, 0x20);
    assert_int_equal(rd(t, REG_C, BASE + 20 * S) & 0xa0, 0x00);
    assert_int_equal(t->rec.rises, 1);
}

/* Binary 12-hour mode: the hour alarm carries the PM bit. */
static void test_alarm_12h(void **state)
{
    struct t *t = *state;
    wr(t, REG_B, 0x04, BASE);               /* binary, 12h */
    assert_int_equal(rd(t, 4, BASE), 0x8c); /* 12 PM */
    wr(t, 5, 0x81, BASE);                   /* 1 PM */
    wr(t, 3, 0, BASE);
    wr(t, 1, 0, BASE);
    wr(t, REG_B, 0x24, BASE);
    assert_int_equal(t->rec.deadline, BASE + 3600 * S);
    wr(t, 5, 0x01, BASE); /* 1 AM */
    assert_int_equal(t->rec.deadline, BASE + 13 * 3600 * S);
}

/* The guest moves the clock: the alarm follows the guest's time. */
static void test_alarm_offset(void **state)
{
    struct t *t = *state;
    wr(t, 5, 0x13, BASE);
    wr(t, 3, 0x00, BASE);
    wr(t, 1, 0x00, BASE);
    wr(t, REG_B, 0x22, BASE);
    assert_int_equal(t->rec.deadline, BASE + 3600 * S);
    wr(t, REG_B, 0xa2, BASE); /* SET: no alarm while held */
    assert_int_equal(t->rec.deadline, 0);
    wr(t, 4, 0x12, BASE);
    wr(t, 2, 0x59, BASE); /* 12:59:00 */
    wr(t, REG_B, 0x22, BASE);
    assert_int_equal(t->rec.deadline, BASE + 60 * S);
}

/* ---- Linux ---- */

/* drivers/rtc/rtc-cmos.c: cmos_set_alarm (cmos_irq_disable, the alarm
 * registers, cmos_irq_enable, each followed by cmos_checkintr's read of
 * C), then cmos_interrupt when it fires (read C and B, clear AIE, read C
 * again): one interrupt, the line low afterwards and no timer left. */
static void test_linux_alarm(void **state)
{
    struct t *t = *state;
    uint64_t now = BASE + 300 * 1000000ull; /* 12:00:00.3 */
    uint8_t ctl = rd(t, REG_B, now);
    assert_int_equal(ctl & 0x04, 0); /* BCD: alarm values in BCD */
    /* cmos_irq_disable(RTC_AIE) */
    ctl = rd(t, REG_B, now);
    wr(t, REG_B, ctl & (uint8_t)~0x20, now);
    (void)rd(t, REG_C, now);
    /* the alarm: 12:00:02 */
    wr(t, 5, 0x12, now);
    wr(t, 3, 0x00, now);
    wr(t, 1, 0x02, now);
    /* cmos_irq_enable(RTC_AIE) */
    ctl = rd(t, REG_B, now);
    (void)rd(t, REG_C, now);
    ctl |= 0x20;
    wr(t, REG_B, ctl, now);
    uint8_t intr = rd(t, REG_C, now);
    assert_int_equal(intr & 0x80, 0); /* nothing pending yet */
    assert_false(t->rec.level);
    assert_int_equal(t->rec.deadline, BASE + 2 * S);
    rtc_tick(t->r, BASE + 2 * S + 50000);
    assert_true(t->rec.level);
    /* cmos_interrupt */
    uint64_t h = BASE + 2 * S + 80000;
    uint8_t irqstat = rd(t, REG_C, h);
    ctl = rd(t, REG_B, h);
    irqstat &= (uint8_t)((ctl & 0x70) | 0x80);
    assert_int_equal(irqstat, 0xa0); /* IRQF | AF */
    assert_false(t->rec.level);
    ctl &= (uint8_t)~0x20;
    wr(t, REG_B, ctl, h);
    (void)rd(t, REG_C, h);
    assert_int_equal(t->rec.deadline, 0);
    rtc_tick(t->r, BASE + 86402 * S);
    assert_int_equal(t->rec.rises, 1);
    assert_false(t->rec.level);
}

/* rtc-cmos's probe (cmos_do_probe): register A 0x26, all interrupts off;
 * then the periodic interrupt of /dev/rtc at 64 Hz (RS 10). */
static void test_linux_probe_pie(void **state)
{
    struct t *t = *state;
    wr(t, REG_A, 0x26, BASE);
    uint8_t ctl = rd(t, REG_B, BASE);
    wr(t, REG_B, ctl & (uint8_t)~0x70, BASE);
    (void)rd(t, REG_C, BASE);
    assert_int_equal(t->rec.deadline, 0);
    wr(t, REG_A, 0x2a, BASE);
    ctl = rd(t, REG_B, BASE);
    (void)rd(t, REG_C, BASE);
    wr(t, REG_B, ctl | 0x40, BASE);
    (void)rd(t, REG_C, BASE);
    assert_int_equal(t->rec.deadline, BASE + S / 64);
}

/* Presets (`reg`) are registers A/B and RAM only. */
static void test_presets(void **state)
{
    struct t *t = *state;
    assert_true(rtc_preset(t->r, 0x40, 0xa5, BASE));
    assert_false(rtc_preset(t->r, 0x00, 0x12, BASE));
    assert_false(rtc_preset(t->r, 0x0c, 0x12, BASE));
    assert_true(rtc_preset(t->r, 0x0b, 0x12, BASE)); /* UIE from the start */
    assert_int_equal(t->rec.deadline, BASE + S);
    assert_int_equal(rd(t, 0x40, BASE), 0xa5);
    assert_int_equal(rd(t, 0x0d, BASE), 0x80);
    assert_int_equal(rtc_io_read(t->r, 0, BASE), 0xff);
}

/* ---- HPET legacy replacement ---- */

/* Disconnected, the output stays low and no timer runs, while register C
 * still shows the flags and IRQF; the line drops when disconnected while
 * high, and rises when connected again with IRQF set (the gate opens on a
 * pending request), else the timer comes back. */
static void test_disconnect(void **state)
{
    struct t *t = *state;
    wr(t, REG_B, 0x42, BASE + 100); /* PIE */
    assert_int_equal(t->rec.deadline, BASE + PER_NS);
    rtc_set_irq_connected(t->r, false, BASE + 200);
    assert_int_equal(t->rec.deadline, 0); /* nothing can interrupt */
    rtc_tick(t->r, BASE + PER_NS);
    assert_false(t->rec.level);
    assert_int_equal(t->rec.rises, 0);
    assert_int_equal(rd(t, REG_C, BASE + 2 * PER_NS), 0xc0); /* polled */
    assert_int_equal(t->rec.rises, 0);
    assert_int_equal(t->rec.deadline, 0);
    /* Connected with nothing pending: the periodic timer again. */
    rtc_set_irq_connected(t->r, true, BASE + 2 * PER_NS + 10);
    assert_false(t->rec.level);
    assert_int_equal(t->rec.deadline, BASE + 1953125 + PER_NS);
    rtc_tick(t->r, t->rec.deadline);
    assert_true(t->rec.level);
    assert_int_equal(t->rec.rises, 1);
    /* Disconnected while asserted: the line drops, IRQF stays. */
    rtc_set_irq_connected(t->r, false, BASE + S / 100);
    assert_false(t->rec.level);
    assert_int_equal(t->rec.falls, 1);
    rtc_set_irq_connected(t->r, false, BASE + S / 100); /* again: nothing */
    assert_int_equal(t->rec.falls, 1);
    /* Connected again with IRQF set: an edge at once. */
    rtc_set_irq_connected(t->r, true, BASE + S / 50);
    assert_true(t->rec.level);
    assert_int_equal(t->rec.rises, 2);
    assert_int_equal(rd(t, REG_C, BASE + S / 50), 0xc0);
    assert_false(t->rec.level);
    /* Flags set while disconnected with the enable on: the edge comes
     * when the output is connected again. */
    rtc_set_irq_connected(t->r, false, BASE + S / 50 + 10);
    rtc_set_irq_connected(t->r, true, BASE + S / 10);
    assert_true(t->rec.level);
    assert_int_equal(t->rec.rises, 3);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_periodic),     T(test_periodic_rates), T(test_periodic_coalesce),
        T(test_update_ended), T(test_alarm),          T(test_alarm_12h),
        T(test_alarm_offset), T(test_linux_alarm),    T(test_linux_probe_pie),
        T(test_presets),      T(test_disconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

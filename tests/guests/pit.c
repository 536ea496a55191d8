/*
 * pit.c: the pit guest (tests/vm/cases/pit.sh). Drives qvm's 8254 the way
 * Linux and a BIOS do, with the IOAPIC where QNX configures it
 * (0xf8000000) and the PIT on its pin 0 (`intr myioapic:0`):
 *  - counter 0, mode 0, polled: latched counts and read-back counts must
 *    decrease, the read-back status must say mode 0, LSB/MSB, OUT low,
 *    then OUT high after the count;
 *  - counter 2, mode 0 through port 0x61 as arch/x86/kernel/tsc.c's
 *    pit_calibrate_tsc does (gate high, speaker off, 0xb0, 10 ms, poll
 *    bit 5): OUT2 low, then high; 100 rounds must take at least 1 s of
 *    RTC time (started on an RTC second boundary);
 *  - counter 2, mode 3: the latched count is even, OUT2 toggles;
 *  - counter 0, mode 2 (Linux's periodic tick at 10 ms): 100 interrupts
 *    on the IOAPIC, at least 1 s of RTC time, between the marker lines
 *    "pit: mode2 start" and "pit: mode2 done" (the case times them too);
 *    after Linux's shutdown sequence no interrupt comes any more;
 *  - counter 0, mode 3: 20 interrupts; mode 0: one interrupt only; mode 4
 *    (Linux's oneshot): one interrupt per count written.
 * Every figure is printed; failures print "pit: FAIL ...". Powers off.
 */
#include "timer_guest.h"

#define IOAPIC_BASE 0xf8000000u
#define PIT_PIN     0
#define PIT_VEC     0x30
#define LATCH_10MS  11932 /* 1193182 Hz / 100 */
#define POLL_LIMIT  20000000u

void guest_main(uint32_t magic, uint32_t info);

static volatile uint32_t n_irq;
static int failed;

void timer_isr_c(void)
{
    n_irq++;
    lapic_eoi();
}

static void fail(const char *what)
{
    serial_puts("pit: FAIL ");
    serial_puts(what);
    serial_puts("\n");
    failed = 1;
}

static void program(unsigned ch, uint8_t cw, uint16_t count)
{
    outb(0x43, cw);
    outb((uint16_t)(0x40 + ch), (uint8_t)count);
    outb((uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

/* The counter latch command, LSB then MSB. */
static uint16_t latched(unsigned ch)
{
    outb(0x43, (uint8_t)(ch << 6));
    uint16_t v = inb((uint16_t)(0x40 + ch));
    return (uint16_t)(v | inb((uint16_t)(0x40 + ch)) << 8);
}

/* Read-back: the status byte only. */
static uint8_t status(unsigned ch)
{
    outb(0x43, (uint8_t)(0xe0 | 2u << ch));
    return inb((uint16_t)(0x40 + ch));
}

/* Read-back: the count only. */
static uint16_t readback_count(unsigned ch)
{
    outb(0x43, (uint8_t)(0xd0 | 2u << ch));
    uint16_t v = inb((uint16_t)(0x40 + ch));
    return (uint16_t)(v | inb((uint16_t)(0x40 + ch)) << 8);
}

/* Counts read one after the other must not go up and must go down. */
static void check_decreasing(unsigned ch, int readback, const char *what)
{
    uint16_t first = readback ? readback_count(ch) : latched(ch), prev = first;
    for (int i = 0; i < 8; i++) {
        uint16_t v = readback ? readback_count(ch) : latched(ch);
        /* Past the terminal count (OUT high) a mode 0 counter wraps to
         * 0xffff and goes on: on a slow bed the count may get there
         * between two reads. */
        if (v > prev && (status(ch) & 0x80) && prev != first)
            return;
        if (v > prev) {
            fail(what);
            say("pit: count went up: ", prev, " -> ");
            say("", v, "\n");
            return;
        }
        prev = v;
    }
    if (prev == first)
        fail(what);
}

/* pit_calibrate_tsc: counter 2, mode 0, `count`; polls until OUT2. */
static uint32_t oneshot2(uint16_t count)
{
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
    program(2, 0xb0, count);
    uint32_t polls = 0;
    while (!(inb(0x61) & 0x20))
        if (++polls == POLL_LIMIT)
            break;
    return polls;
}

static void wait_ms10(unsigned n)
{
    while (n--)
        (void)oneshot2(LATCH_10MS);
}

/* Wait for n_irq >= n; 0 after 10 RTC seconds without an interrupt. */
static int wait_irqs(uint32_t n)
{
    uint32_t last = n_irq, t0 = rtc_daysecs();
    while (n_irq < n) {
        irq_window();
        if (n_irq != last) {
            last = n_irq;
            t0 = rtc_daysecs();
        } else if (secs_between(t0, rtc_daysecs()) > 10) {
            return 0;
        }
    }
    return 1;
}

/* Linux's clockevent_i8253_disable: mode 0 with count 0, then mode 0
 * again, which stops counter 0 without an interrupt. */
static void pit_shutdown(void)
{
    outb(0x43, 0x30);
    outb(0x40, 0);
    outb(0x40, 0);
    outb(0x43, 0x30);
}

static void counter0_mode0_polled(void)
{
    program(0, 0x30, LATCH_10MS);
    uint8_t st = status(0);
    if ((st & 0xbf) != 0x30) { /* OUT low, LSB/MSB, mode 0, binary */
        fail("counter 0 mode 0: read-back status");
        say("pit: status ", st, "\n");
    }
    check_decreasing(0, 0, "counter 0 mode 0: latched counts");
    program(0, 0x30, LATCH_10MS); /* afresh: the first check took time */
    check_decreasing(0, 1, "counter 0 mode 0: read-back counts");
    uint32_t polls = 0;
    while (!(status(0) & 0x80))
        if (++polls == POLL_LIMIT) {
            fail("counter 0 mode 0: OUT0 never went high");
            break;
        }
    say("pit: counter 0 mode 0: OUT0 high after ", polls, " polls\n");
}

static void counter2_mode0(void)
{
    outb(0x61, 0x00); /* gate low: counter 2 holds */
    program(2, 0xb0, LATCH_10MS);
    if (inb(0x61) & 0x20)
        fail("counter 2 mode 0: OUT2 high before the count");
    uint16_t a = latched(2), b = latched(2);
    if (a != b)
        fail("counter 2 counts with its gate low");
    uint32_t polls = oneshot2(LATCH_10MS);
    if (polls == POLL_LIMIT)
        fail("counter 2 mode 0: OUT2 never went high");
    if (polls == 0)
        fail("counter 2 mode 0: OUT2 high at once");
    say("pit: counter 2 mode 0: OUT2 high after ", polls, " polls\n");
    program(2, 0xb0, 0xffff);
    check_decreasing(2, 0, "counter 2 mode 0: latched counts");
    /* 100 rounds of 10 ms from an RTC second boundary: >= 1 s. */
    uint32_t s0 = rtc_next_second();
    uint32_t total = 0;
    for (int i = 0; i < 100; i++)
        total += oneshot2(LATCH_10MS);
    uint32_t el = secs_between(s0, rtc_daysecs());
    say("pit: counter 2: 100 x 10 ms in ", el, " RTC s, ");
    say("", total, " polls\n");
    if (el < 1)
        fail("counter 2: 100 x 10 ms took less than 1 s");
}

static void counter2_mode3(void)
{
    outb(0x61, 0x01);
    program(2, 0xb6, 0); /* 65536: 54.9 ms */
    for (int i = 0; i < 8; i++)
        if (latched(2) & 1)
            fail("counter 2 mode 3: odd count (it counts by two)");
    uint8_t st = status(2);
    if ((st & 0x3f) != 0x36)
        fail("counter 2 mode 3: read-back status");
    unsigned flips = 0;
    int last = inb(0x61) & 0x20;
    uint32_t t0 = rtc_daysecs();
    while (flips < 6 && secs_between(t0, rtc_daysecs()) < 5) {
        int now = inb(0x61) & 0x20;
        if (now != last)
            flips++;
        last = now;
    }
    say("pit: counter 2 mode 3: OUT2 toggled ", flips, " times\n");
    if (flips < 6)
        fail("counter 2 mode 3: OUT2 does not toggle");
    outb(0x61, 0x00);
}

static void counter0_mode2(void)
{
    ioapic_route(IOAPIC_BASE, PIT_PIN, PIT_VEC, 0);
    irq_window(); /* nothing stale counts */
    uint32_t s0 = rtc_next_second();
    serial_puts("pit: mode2 start\n");
    n_irq = 0;
    program(0, 0x34, LATCH_10MS);
    if (!wait_irqs(100)) {
        fail("counter 0 mode 2: interrupts stopped");
        say("pit: mode 2: ", n_irq, " interrupts\n");
    }
    uint32_t el = secs_between(s0, rtc_daysecs());
    serial_puts("pit: mode2 done\n");
    say("pit: mode 2: 100 interrupts in ", el, " RTC s\n");
    if (el < 1)
        fail("counter 0 mode 2: 100 x 10 ms took less than 1 s");
    cli();
    pit_shutdown();
    uint32_t n = n_irq;
    for (int i = 0; i < 10; i++) {
        irq_window();
        wait_ms10(1);
    }
    irq_window();
    if (n_irq > n + 1) /* one may have been pending */
        fail("interrupts after Linux's PIT shutdown");
}

static void counter0_mode3(void)
{
    n_irq = 0;
    program(0, 0x36, LATCH_10MS);
    if (!wait_irqs(20))
        fail("counter 0 mode 3: interrupts stopped");
    pit_shutdown();
    say("pit: mode 3: ", n_irq, " interrupts\n");
}

static void counter0_mode0_irq(void)
{
    wait_ms10(2);
    irq_window();
    n_irq = 0;
    program(0, 0x30, 1193); /* 1 ms */
    if (!wait_irqs(1))
        fail("counter 0 mode 0: no interrupt at terminal count");
    for (int i = 0; i < 5; i++) {
        irq_window();
        wait_ms10(1);
    }
    irq_window();
    say("pit: mode 0: ", n_irq, " interrupt(s)\n");
    if (n_irq != 1)
        fail("counter 0 mode 0: more than one interrupt");
}

/* Linux's oneshot clockevent: 0x38 once, a count per event. */
static void counter0_mode4(void)
{
    outb(0x43, 0x38);
    n_irq = 0;
    for (uint32_t i = 1; i <= 5; i++) {
        outb(0x40, (uint8_t)(2000 * i));
        outb(0x40, (uint8_t)((2000 * i) >> 8));
        if (!wait_irqs(i)) {
            fail("counter 0 mode 4: no interrupt");
            break;
        }
    }
    pit_shutdown();
    say("pit: mode 4: ", n_irq, " interrupts\n");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    irq_setup(PIT_VEC);
    ioapic_route(IOAPIC_BASE, PIT_PIN, PIT_VEC, 1);
    serial_puts("pit: start\n");
    counter0_mode0_polled();
    counter2_mode0();
    counter2_mode3();
    counter0_mode2();
    counter0_mode3();
    counter0_mode0_irq();
    counter0_mode4();
    cli();
    ioapic_route(IOAPIC_BASE, PIT_PIN, PIT_VEC, 1);
    serial_puts(failed ? "pit: failed\n" : "pit: done\n");
    poweroff();
}

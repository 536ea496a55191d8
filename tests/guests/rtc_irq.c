/*
 * rtc_irq.c: the rtc_irq guest (tests/vm/cases/rtc-irq.sh). The MC146818's
 * interrupts on ISA IRQ 8, IOAPIC pin 8 at the default address, edge, as
 * Linux's rtc-cmos uses them; the handler reads register C (which ends
 * the interrupt) and counts its flags:
 *  - periodic interrupts at 1024 Hz (register A 0x26, PIE) counted over
 *    two RTC seconds: at least half the nominal 2048 (the flag is a level
 *    that coalesces when the guest is slow, never more than nominal) in
 *    one of at most three such windows (a stalled nested lab), at most
 *    4096;
 *  - an alarm 2 s ahead (AIE): exactly one interrupt, not before its time;
 *  - update-ended interrupts (UIE): one per second, three of them taking
 *    at least two RTC seconds;
 *  - HPET legacy replacement (LEG_RT_CNF of the HPET at 0xfed00000, its
 *    counter halted) takes IRQ 8 from the RTC: with PIE on, register C
 *    shows IRQF for three polled periodic flags and no interrupt comes;
 *    with LEG_RT_CNF clear again the periodic interrupts are back;
 *  - every interrupt finds register C's IRQF set, except one already
 *    latched in the local APIC's IRR when the guest changed register B and
 *    read C with interrupts off (as rtc-cmos does: its handler returns
 *    IRQ_NONE for it). On an MC146818 the IRQ pin follows IRQF, but an
 *    edge the IOAPIC has already sent stays pending in the CPU whatever
 *    the device does afterwards: when a flag is set between the guest's
 *    `cli` and its read of C (the 1024 Hz periodic flag, or a flag already
 *    pending when an enable bit is set), the interrupt comes after the read
 *    of C consumed its cause. reg_b() lets such an interrupt in at once and
 *    counts it apart. The same happens to a flag set while the handler
 *    runs, before its read of C: the vector is in service, the new edge
 *    pending again, its cause consumed by that read; the handler looks at
 *    the IRR after its read of C and excuses the next interrupt only then.
 * Every figure is printed; failures print "rtc-irq: FAIL ...". Powers off.
 */
#include "timer_guest.h"

#define IOAPIC_BASE 0xfec00000u
#define RTC_PIN     8
#define RTC_VEC     0x38
#define REG_A       0x0a
#define REG_B       0x0b
#define REG_C       0x0c
#define HPET_CFG    0xfed00010u
#define LEG_RT_CNF  0x2u

void guest_main(uint32_t magic, uint32_t info);

static volatile uint32_t n_irq, n_pf, n_af, n_uf, n_none, n_stale;
static volatile int stale_ok; /* an interrupt latched before a read of C */
static int failed;

static uint32_t mmio_r(uint32_t a)
{
    return *(volatile uint32_t *)a;
}

/* The local APIC has `vec` pending (IRR): delivered, not yet taken. */
static int lapic_irr(unsigned vec)
{
    uint32_t irr = mmio_r(LAPIC + 0x200 + vec / 32 * 0x10);
    return (irr >> vec % 32) & 1;
}

/* rtc-cmos's cmos_interrupt: read C, count what it says. Interrupts are
 * off here, so the index cannot move under the main loop's reads. */
void timer_isr_c(void)
{
    outb(0x70, REG_C);
    uint8_t c = inb(0x71);
    n_irq++;
    if (!(c & 0x80)) {
        if (stale_ok)
            n_stale++;
        else
            n_none++;
    }
    /* A flag set while this handler ran, before its read of C, raised an
     * edge that is pending again (the vector was in service): that read
     * consumed its cause, so the next interrupt may find IRQF clear. */
    stale_ok = lapic_irr(RTC_VEC);
    if (c & 0x40)
        n_pf++;
    if (c & 0x20)
        n_af++;
    if (c & 0x10)
        n_uf++;
    lapic_eoi();
}

static void fail(const char *what)
{
    serial_puts("rtc-irq: FAIL ");
    serial_puts(what);
    serial_puts("\n");
    failed = 1;
}

static uint8_t bin2bcd(uint32_t v)
{
    return (uint8_t)((v / 10) << 4 | v % 10);
}

/* Set or clear bits of register B the way cmos_irq_enable/disable do:
 * read B, write it, read C; called with interrupts off. An interrupt the
 * RTC raised before that read of C may already be pending in the local
 * APIC with its flags consumed: take it now (the handler counts it as
 * stale if it finds IRQF clear), so that no phase sees it as its own. */
static void reg_b(uint8_t set, uint8_t clear)
{
    uint8_t b = cmos_rd(REG_B);
    cmos_wr(REG_B, (uint8_t)((b & ~clear) | set));
    (void)cmos_rd(REG_C);
    for (unsigned i = 0; i < 1000 && lapic_irr(RTC_VEC); i++) {
        stale_ok = 1;
        irq_window();
    }
    stale_ok = 0;
}

/* Run interrupt windows until `*count` >= n or `secs` RTC seconds pass. */
static int wait_count(volatile uint32_t *count, uint32_t n, uint32_t secs)
{
    uint32_t t0 = rtc_daysecs();
    while (*count < n) {
        irq_window();
        if (secs_between(t0, rtc_daysecs()) > secs)
            return 0;
    }
    return 1;
}

static void periodic(void)
{
    cmos_wr(REG_A, 0x26); /* 32.768 kHz, 1024 Hz */
    reg_b(0x40, 0);
    if (!wait_count(&n_pf, 1, 5)) {
        fail("no periodic interrupt");
        reg_b(0, 0x40);
        return;
    }
    /* Sleep between interrupts (they keep coming: the handler reads C)
     * and look at the clock every 16th: a slow guest loses none. Up to
     * three windows of two RTC seconds: the nested lab's L1 can stall for
     * a few seconds (QEMU's TCG loses its timer interrupt, tests/lab/
     * README.md), and no host timer fires then; a rate that is wrong
     * stays wrong in every window. */
    uint32_t n = 0;
    for (unsigned attempt = 1; attempt <= 3; attempt++) {
        uint32_t s0 = rtc_next_second(), s = s0;
        n_pf = 0;
        for (uint32_t k = 1; secs_between(s0, s) < 2; k++) {
            __asm__ volatile("sti; hlt; cli" ::: "memory");
            if (k % 16 == 0)
                s = rtc_daysecs();
        }
        n = n_pf;
        say("rtc-irq: periodic: ", n,
            " interrupts in 2 RTC s (nominal 2048)\n");
        if (n >= 1024)
            break;
    }
    reg_b(0, 0x40);
    if (n < 1024)
        fail("periodic: fewer than half the nominal rate, three times");
    if (n > 4096)
        fail("periodic: more than twice the nominal rate");
}

static void alarm(void)
{
    uint32_t n0 = n_irq - n_stale;
    uint32_t t = rtc_daysecs(), a = (t + 2) % 86400;
    /* cmos_set_alarm: AIE off, the alarm registers, AIE on. */
    reg_b(0, 0x20);
    cmos_wr(0x05, bin2bcd(a / 3600));
    cmos_wr(0x03, bin2bcd(a / 60 % 60));
    cmos_wr(0x01, bin2bcd(a % 60));
    reg_b(0x20, 0);
    n_af = 0;
    if (!wait_count(&n_af, 1, 10)) {
        fail("the alarm did not fire");
        reg_b(0, 0x20);
        return;
    }
    uint32_t at = rtc_daysecs();
    reg_b(0, 0x20); /* Linux's alarms are one-shot */
    uint32_t el = secs_between(t, at);
    say("rtc-irq: alarm set 2 s ahead fired after ", el, " s, ");
    uint32_t n = n_irq - n_stale - n0;
    say("", n, " interrupt(s)\n");
    if (el < 2)
        fail("the alarm fired early");
    if (n != 1)
        fail("the alarm raised more than one interrupt");
}

static void update_ended(void)
{
    n_uf = 0;
    reg_b(0x10, 0);
    uint32_t t[3];
    for (uint32_t i = 0; i < 3; i++) {
        if (!wait_count(&n_uf, i + 1, 5)) {
            fail("no update-ended interrupt");
            break;
        }
        t[i] = rtc_daysecs();
    }
    reg_b(0, 0x10);
    if (n_uf < 3)
        return;
    uint32_t el = secs_between(t[0], t[2]);
    say("rtc-irq: update-ended: 3 interrupts over ", el, " RTC s\n");
    if (el < 2)
        fail("update-ended interrupts come faster than once a second");
}

static void legacy_replacement(void)
{
    mmio_w(HPET_CFG, mmio_r(HPET_CFG) | LEG_RT_CNF);
    if (!(mmio_r(HPET_CFG) & LEG_RT_CNF)) {
        fail("the HPET's LEG_RT_CNF does not stick");
        return;
    }
    uint32_t n0 = n_irq - n_stale, seen = 0, t0 = rtc_daysecs();
    reg_b(0x40, 0);
    /* Interrupt windows between reads of C: a connected RTC would
     * interrupt in them (and its handler consume the flags). */
    while (seen < 3 && secs_between(t0, rtc_daysecs()) <= 5) {
        irq_window();
        if ((cmos_rd(REG_C) & 0xc0) == 0xc0)
            seen++;
    }
    uint32_t during = n_irq - n_stale - n0;
    mmio_w(HPET_CFG, mmio_r(HPET_CFG) & ~LEG_RT_CNF);
    uint32_t n1 = n_irq - n_stale;
    int back = wait_count(&n_pf, n_pf + 1, 5);
    reg_b(0, 0x40);
    say("rtc-irq: legacy replacement: IRQF polled ", seen, " times, ");
    say("", during, " interrupt(s); ");
    say("", n_irq - n_stale - n1, " after it ended\n");
    if (seen < 3)
        fail("legacy replacement: no periodic IRQF seen by polling C");
    if (during)
        fail("an RTC interrupt while HPET legacy replacement held IRQ 8");
    if (!back)
        fail("no RTC interrupt after legacy replacement ended");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    irq_setup(RTC_VEC);
    reg_b(0, 0x70); /* rtc-cmos's probe: all interrupts off */
    ioapic_route(IOAPIC_BASE, RTC_PIN, RTC_VEC, 0);
    serial_puts("rtc-irq: start\n");
    periodic();
    alarm();
    update_ended();
    legacy_replacement();
    cli();
    ioapic_route(IOAPIC_BASE, RTC_PIN, RTC_VEC, 1);
    say("rtc-irq: ", n_irq, " interrupts, ");
    say("", n_none, " without IRQF, ");
    say("", n_stale, " latched before a read of C\n");
    if (n_none)
        fail("an interrupt with register C's IRQF clear");
    /* Latching before a read of C needs that read out of step with the
     * flag that raised the edge: at a change of register B (nine here) or
     * after a stall of the bed. A model that pulses its line at a read of
     * C would have every such interrupt excused: bound them. */
    if (n_stale > 16)
        fail("more than 16 interrupts latched before a read of C");
    serial_puts(failed ? "rtc-irq: failed\n" : "rtc-irq: done\n");
    poweroff();
}

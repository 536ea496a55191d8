/*
 * hpet.c: the hpet guest (tests/vm/cases/hpet.sh). Drives the HPET at
 * 0xf8008000 as QNX configures it (timer 0 on IOAPIC input 2, timer 1 on
 * 8, timer 2 on 10; the IOAPIC at 0xf8000000) and checks:
 *   - the capabilities: revision 1, 3 timers, 64-bit counter, LEG_RT_CAP,
 *     vendor 8086, the period of 14318180 Hz, each timer's route cap;
 *   - Linux's sanity steps (sanitize, restart the counter) and that the
 *     main counter runs at 14318180 Hz within 1 % over two seconds of the
 *     RTC (ticks counted across three RTC second boundaries);
 *   - a periodic timer programmed as Linux does (VAL_SET, 32-bit), its
 *     interrupts counted, its comparator advanced by whole periods;
 *   - a one-shot interrupt, not before the counter reached the comparator,
 *     and only one;
 *   - a level-triggered timer: the status bit set while its IOAPIC input
 *     is masked, the interrupt once unmasked, cleared by writing 1;
 *   - FSB delivery (timer 0 as an MSI to vector 0x40) and legacy
 *     replacement, which wins over it: timer 0 then arrives on ISA IRQ 0's
 *     line (IOAPIC input 2) and no message is sent.
 * Prints "hpet: ok" and powers off, or "hpet: FAIL ..." lines.
 *
 * Timing checks are lower bounds or use wide windows; waits are bounded by
 * the HPET's own counter once it is known to count.
 */
#include "guest.h"
#include "uart_irq.h"

#define HPET        0xf8008000u
#define HPET_IOAPIC 0xf8000000u
#define HZ          14318180u
#define PERIOD_FS   69841279u

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
#define T_ROUTE_M  (0x1fu << 9)
#define T_FSB      (1u << 14)
#define T_FSB_CAP  (1u << 15)

#define VEC_T0  0x30 /* IOAPIC input 2 */
#define VEC_T1  0x31 /* IOAPIC input 8 */
#define VEC_T2  0x32 /* IOAPIC input 10 */
#define VEC_MSI 0x40

void guest_main(uint32_t magic, uint32_t info);
void hpet_isr_c(uint32_t which);
extern char isr_t0[], isr_t1[], isr_t2[], isr_msi[];

/* One stub per vector: push the index, call hpet_isr_c, return by hand. */
#define STUB(name, n)                                                          \
    ".globl " name "\n" name ":\n"                                             \
    "    pusha\n"                                                              \
    "    cld\n"                                                                \
    "    push $" #n "\n"                                                       \
    "    call hpet_isr_c\n"                                                    \
    "    add $4, %esp\n"                                                       \
    "    popa\n" IRET_BY_HAND
__asm__(".text\n" STUB("isr_t0", 0) STUB("isr_t1", 1) STUB("isr_t2", 2)
            STUB("isr_msi", 3));

static volatile uint32_t count[4];
static volatile uint32_t at[4];    /* counter (low half) at the interrupt */
static volatile uint32_t isr_seen; /* ISR read in the level handler */
static int failed;

static uint32_t hr(uint32_t off)
{
    return *(volatile uint32_t *)(HPET + off);
}

static void hw(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(HPET + off) = v;
}

static uint32_t now32(void)
{
    return hr(COUNTER);
}

static void ioapic(uint32_t reg, uint32_t v)
{
    mmio_w(HPET_IOAPIC, reg);
    mmio_w(HPET_IOAPIC + 0x10, v);
}

/* redir: IOAPIC input `pin` to `vec` on APIC 0; level, masked as asked. */
static void redir(unsigned pin, uint32_t vec, int level, int masked)
{
    ioapic(0x11 + 2 * pin, 0);
    ioapic(0x10 + 2 * pin,
           vec | (level ? 1u << 15 : 0) | (masked ? 1u << 16 : 0));
}

/* uart_irq.h's UART stub is not used here. */
void uart_isr_c(void)
{
}

void hpet_isr_c(uint32_t which)
{
    at[which] = now32();
    if (which == 2) { /* level: clear the status, then EOI */
        isr_seen = hr(ISR);
        hw(ISR, 1u << 2);
    }
    count[which]++;
    mmio_w(LAPIC + 0xb0, 0);
}

static void fail(const char *what, uint32_t v)
{
    serial_puts("hpet: FAIL ");
    serial_puts(what);
    serial_puts(" ");
    serial_puthex(v);
    serial_puts("\n");
    failed = 1;
}

static void check(int ok, const char *what, uint32_t v)
{
    if (!ok)
        fail(what, v);
}

/* wait_ticks: spin (interrupts on) for `ticks` of the main counter. */
static void wait_ticks(uint32_t ticks)
{
    uint32_t start = now32();
    while (now32() - start < ticks)
        __asm__ volatile("pause");
}

/* wait_count: until count[i] reaches n or `ticks` pass; 1 if it did. */
static int wait_count(unsigned i, uint32_t n, uint32_t ticks)
{
    uint32_t start = now32();
    while (count[i] < n)
        if (now32() - start >= ticks)
            return 0;
    return 1;
}

static uint8_t cmos(uint8_t idx)
{
    outb(0x70, (uint8_t)(0x80 | idx));
    return inb(0x71);
}

/* next_second: spin until the RTC's seconds register changes. */
static void next_second(void)
{
    uint8_t s = cmos(0);
    while (cmos(0) == s)
        ;
}

static void caps(void)
{
    uint32_t id = hr(CAP);
    check((id & 0xff) == 1, "revision", id);
    check((id >> 8 & 0x1f) == 2, "NUM_TIM_CAP (3 timers)", id);
    check(id & 1u << 13, "COUNT_SIZE_CAP", id);
    check(id & 1u << 15, "LEG_RT_CAP", id);
    check(id >> 16 == 0x8086, "vendor", id);
    check(hr(PERIOD) == PERIOD_FS, "COUNTER_CLK_PERIOD", hr(PERIOD));
    static const unsigned line[3] = {2, 8, 10};
    for (unsigned i = 0; i < 3; i++) {
        uint32_t c = hr(TCFG(i));
        check(hr(TCFG(i) + 4) == 1u << line[i], "Tn_INT_ROUTE_CAP",
              hr(TCFG(i) + 4));
        check((c & T_ROUTE_M) >> 9 == line[i], "Tn_INT_ROUTE_CNF", c);
        check((c & (T_PER_CAP | T_64_CAP | T_FSB_CAP)) ==
                  (T_PER_CAP | T_64_CAP | T_FSB_CAP),
              "timer caps", c);
    }
    /* hpet_cfg_working, and the sanitizing writes of hpet_enable. */
    check(hr(CFG) != 0xffffffffu, "config register invalid", hr(CFG));
    hw(CFG, hr(CFG) & ~(ENABLE | LEGACY));
    for (unsigned i = 0; i < 3; i++) {
        uint32_t c = hr(TCFG(i)) & ~(T_ENB | T_LEVEL | T_FSB);
        hw(TCFG(i), c);
        c &= ~(T_PERIODIC | T_PER_CAP | T_64_CAP | T_32BIT | T_ROUTE_M | T_FSB |
               T_FSB_CAP);
        check(c == 0, "unknown bits in a timer's config", c);
    }
    /* A route outside the cap is ignored. */
    hw(TCFG(1), (hr(TCFG(1)) & ~T_ROUTE_M) | 3u << 9);
    check((hr(TCFG(1)) & T_ROUTE_M) >> 9 == 8, "route outside the cap taken",
          hr(TCFG(1)));
}

/* hpet_counting: stop, reset, start; it must move. */
static void start_counter(void)
{
    hw(CFG, hr(CFG) & ~ENABLE);
    hw(COUNTER, 0);
    hw(COUNTER + 4, 0);
    check(hr(COUNTER) == 0 && hr(COUNTER + 4) == 0, "halted counter write",
          hr(COUNTER));
    hw(CFG, hr(CFG) | ENABLE);
    uint32_t t1 = now32();
    for (uint32_t i = 0; i < 1000000; i++)
        if (now32() != t1)
            return;
    fail("counter not counting", t1);
    poweroff();
}

static void rate(void)
{
    next_second();
    uint32_t c0 = now32();
    next_second();
    next_second();
    uint32_t ticks = now32() - c0;
    serial_puts("hpet: ");
    serial_putdec(ticks);
    serial_puts(" ticks in 2 RTC seconds\n");
    check(ticks >= 2 * HZ - 2 * HZ / 100 && ticks <= 2 * HZ + 2 * HZ / 100,
          "counter rate (ticks in 2 s)", ticks);
}

/* Linux's hpet_clkevt_set_state_periodic on timer 0, 10 ms. */
static void periodic(void)
{
    const uint32_t delta = HZ / 100;
    hw(CFG, hr(CFG) & ~ENABLE);
    uint32_t now = now32();
    uint32_t cfg = hr(TCFG(0));
    cfg |= T_ENB | T_PERIODIC | T_SETVAL | T_32BIT;
    hw(TCFG(0), cfg);
    uint32_t first = now + delta;
    hw(TCMP(0), first);
    hw(TCMP(0), delta);
    hw(CFG, hr(CFG) | ENABLE);
    wait_ticks(50 * delta);
    hw(TCFG(0), hr(TCFG(0)) & ~T_ENB);
    uint32_t stop = now32();
    uint32_t n = count[0];
    uint32_t most = (stop - first) / delta + 1;
    serial_puts("hpet: periodic: ");
    serial_putdec(n);
    serial_puts(" interrupts in 50 periods\n");
    check(n >= 10, "too few periodic interrupts", n);
    check(n <= most, "more periodic interrupts than periods", n);
    uint32_t cmp = hr(TCMP(0));
    check(cmp != first && (cmp - first) % delta == 0,
          "comparator not advanced by whole periods", cmp);
    wait_ticks(3 * delta);
    check(count[0] == n, "periodic interrupt after disabling", count[0]);
    hw(TCFG(0), hr(TCFG(0)) & ~(T_PERIODIC | T_32BIT));
}

/* Timer 1, 64-bit one-shot, 20 ms ahead. */
static void oneshot(void)
{
    uint32_t cmp = now32() + HZ / 50;
    hw(TCMP(1), cmp);
    hw(TCMP(1) + 4, 0);
    hw(TCFG(1), hr(TCFG(1)) | T_ENB);
    if (!wait_count(1, 1, 2 * HZ)) {
        fail("no one-shot interrupt", now32());
        return;
    }
    check((int32_t)(at[1] - cmp) >= 0, "one-shot before its comparator", at[1]);
    wait_ticks(HZ / 10);
    check(count[1] == 1, "one-shot fired again", count[1]);
    hw(TCFG(1), hr(TCFG(1)) & ~T_ENB);
    serial_puts("hpet: one-shot ok\n");
}

/* Timer 2, level-triggered, its IOAPIC input masked at first. */
static void level(void)
{
    redir(10, VEC_T2, 1, 1);
    hw(TCFG(2), hr(TCFG(2)) | T_ENB | T_LEVEL);
    hw(TCMP(2), now32() + HZ / 100);
    hw(TCMP(2) + 4, 0);
    uint32_t start = now32();
    while (!(hr(ISR) & 1u << 2))
        if (now32() - start > 2 * HZ) {
            fail("level status bit never set", hr(ISR));
            return;
        }
    wait_ticks(HZ / 100);
    check(hr(ISR) & 1u << 2, "level status bit did not stay", hr(ISR));
    check(count[2] == 0, "level interrupt while masked", count[2]);
    redir(10, VEC_T2, 1, 0); /* unmask: the held line is delivered */
    if (!wait_count(2, 1, 2 * HZ)) {
        fail("no level interrupt after unmasking", hr(ISR));
        return;
    }
    check(isr_seen & 1u << 2, "status bit clear in the handler", isr_seen);
    wait_ticks(HZ / 20);
    check(count[2] == 1, "level interrupt repeated after clearing", count[2]);
    check(!(hr(ISR) & 1u << 2), "status bit not cleared", hr(ISR));
    hw(TCFG(2), hr(TCFG(2)) & ~(T_ENB | T_LEVEL));
    serial_puts("hpet: level ok\n");
}

/* Timer 0 as an FSB message, then with legacy replacement. */
static void fsb_legacy(void)
{
    hw(TFSB(0), VEC_MSI);   /* data: fixed, edge, vector */
    hw(TFSB(0) + 4, LAPIC); /* address: APIC 0 */
    uint32_t n0 = count[0];
    hw(TCFG(0), (hr(TCFG(0)) & ~T_LEVEL) | T_ENB | T_FSB);
    hw(TCMP(0), now32() + HZ / 100);
    hw(TCMP(0) + 4, 0);
    if (!wait_count(3, 1, 2 * HZ))
        fail("no FSB message", count[0] - n0);
    check(count[0] == n0, "FSB timer also on its IOAPIC line", count[0]);

    hw(CFG, hr(CFG) | LEGACY);
    check(hr(CFG) & LEGACY, "LEG_RT_CNF not set", hr(CFG));
    hw(TCMP(0), now32() + HZ / 100);
    if (!wait_count(0, n0 + 1, 2 * HZ))
        fail("no legacy interrupt on ISA IRQ 0's line", count[3]);
    check(count[3] == 1, "FSB message in legacy mode", count[3]);
    hw(CFG, hr(CFG) & ~LEGACY);
    hw(TCFG(0), hr(TCFG(0)) & ~(T_ENB | T_FSB));
    serial_puts("hpet: fsb and legacy ok\n");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    outb(0x21, 0xff); /* 8259s masked: everything through the IOAPIC */
    outb(0xa1, 0xff);
    serial_init();

    uint16_t cs = idt_begin(isr_default, isr_default);
    set_gate(VEC_T0, isr_t0, cs);
    set_gate(VEC_T1, isr_t1, cs);
    set_gate(VEC_T2, isr_t2, cs);
    set_gate(VEC_MSI, isr_msi, cs);
    idt_load();
    mmio_w(LAPIC + 0xf0, 0x1ff); /* SVR: APIC on, spurious vector 0xff */
    redir(2, VEC_T0, 0, 0);
    redir(8, VEC_T1, 0, 0);

    caps();
    start_counter();
    __asm__ volatile("sti");
    rate();
    periodic();
    oneshot();
    level();
    fsb_legacy();
    if (!failed)
        serial_puts("hpet: ok\n");
    poweroff();
}

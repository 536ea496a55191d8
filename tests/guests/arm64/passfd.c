/*
 * passfd.c: a host interrupt from an inherited descriptor on a GIC SPI
 * (tests/vm/cases-arm64/pass-intr-fd.sh, docs/passthrough.md). The case
 * holds a FIFO open on descriptor 3, which qvm inherits:
 *   pass intr gic:40=fd:3
 * and writes one byte into it for each interrupt the guest asks for. The
 * guest programs the distributor (SPI 40: group 1, level, routed to this
 * vCPU, enabled), its redistributor and the CPU interface (gic.h); the
 * handler reads ICC_IAR1_EL1, counts SPI 40 and writes ICC_EOIR1_EL1. The
 * virtual timer's PPI (the third specifier of the device tree's /timer)
 * bounds every wait. Steps, each printing one "passfd: ..." line:
 *   1. nothing arrives before the case wrote a byte;
 *   2. ROUNDS times "passfd: waiting for interrupt K": the case writes a
 *      byte; the interrupt arrives once and nothing more comes after it
 *      (the line goes down at the EOI: a line left up would be taken
 *      again, a missed EOI would leave the next byte without an
 *      interrupt); "passfd: interrupt K";
 *   3. "passfd: waiting for no interrupt": the case writes nothing and
 *      nothing arrives.
 * Ends with "passfd: done" and PSCI SYSTEM_OFF, or "passfd: FAIL ..."
 * and SYSTEM_OFF.
 */
#include "gic.h"

#define SPI    40
#define ROUNDS 5

static uint32_t vtimer_intid;
static volatile unsigned n_irq, expired, spurious, bad;
static volatile uint32_t bad_intid;

void exception(uint64_t esr, uint64_t far, uint64_t elr, uint64_t off)
{
    report_exception("passfd: FAIL", esr, far, elr, off);
}

void irq(void)
{
    uint32_t id = gic_ack();
    if (id >= 1020) {
        spurious++;
        return;
    }
    if (id == SPI) {
        n_irq++;
    } else if (id == vtimer_intid) {
        expired = 1;
        __asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(0ull));
    } else {
        bad++;
        bad_intid = id;
    }
    gic_eoi(id);
}

static void fail(const char *what, uint64_t v)
{
    puts_("passfd: FAIL ");
    puts_(what);
    puts_(" ");
    putdec(v);
    puts_("\n");
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

/* Sleep in WFI until n_irq passes `seen` (want_irq) or `ms` of the
 * virtual timer passed; whether an interrupt came. */
static int wait_ms(unsigned seen, int want_irq, uint64_t ms)
{
    uint64_t t = cntfrq() * ms / 1000;
    expired = 0;
    __asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1; isb"
                     :
                     : "r"(t), "r"(1ull));
    for (;;) {
        irqs_off();
        if ((want_irq && n_irq != seen) || expired)
            break;
        __asm__ volatile("wfi");
        irqs_on();
    }
    __asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(0ull));
    irqs_on();
    return n_irq != seen;
}

int main(uint64_t x0)
{
    __asm__ volatile("msr vbar_el1, %0; isb" ::"r"(irq_vectors));
    vtimer_intid = fdt_intid(x0, "timer", 2);
    if (!vtimer_intid)
        fail("no virtual timer in the device tree", 0);
    unsigned idx = 0;
    int last = 0;
    uintptr_t rd = gicr_mine(&idx, &last);
    if (!rd)
        fail("no redistributor with this vCPU's affinity", 0);
    gicd_init();
    (void)gic_cpu_init(rd);
    gic_ppi_enable(rd, vtimer_intid);
    gic_spi_enable(SPI, mpidr());

    if (wait_ms(0, 1, 500))
        fail("interrupts before a byte", n_irq);
    puts_("passfd: no interrupt before a byte\n");

    for (unsigned k = 1; k <= ROUNDS; k++) {
        unsigned seen = n_irq;
        puts_("passfd: waiting for interrupt ");
        putdec(k);
        puts_("\n");
        if (!wait_ms(seen, 1, 120000))
            fail("no interrupt for byte", k);
        (void)wait_ms(seen + 1, 1, 200);
        if (n_irq != seen + 1)
            fail("more than one interrupt for one byte, interrupts",
                 n_irq - seen);
        puts_("passfd: interrupt ");
        putdec(k);
        puts_("\n");
    }

    puts_("passfd: waiting for no interrupt\n");
    (void)wait_ms(ROUNDS, 1, 1000);
    if (n_irq != ROUNDS)
        fail("interrupts without a byte, in all", n_irq);
    if (bad)
        fail("an unexpected INTID", bad_intid);
    puts_("passfd: ");
    putdec(n_irq);
    puts_(" interrupts, none without a byte\n");
    puts_("passfd: done\n");
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

/*
 * smp.c: PSCI CPU_ON of a second vCPU (`cpu` twice in its configuration;
 * tests/vm/cases-arm64/smp.sh). vCPU 0 takes the second CPU's MPIDR from
 * the device tree (the reg of the second cpu@ node) and prints the GIC's
 * windows from it (a redistributor frame per vCPU), checks PSCI
 * AFFINITY_INFO says the CPU is off and that CPU_ON of an MPIDR no vCPU
 * has is refused (INVALID_PARAMETERS, -2), then starts it with CPU_ON
 * (entry irqvec.S secondary_entry, a context id). vCPU 1 comes up at EL1
 * with x0 = the context id and prints its MPIDR_EL1 (the PL011 is shared:
 * every line under a two-CPU Peterson lock, which needs no exclusives:
 * with the MMU off memory is Device memory, where exclusives are not
 * guaranteed). It finds its own redistributor by GICR_TYPER's affinity
 * (the second frame, the one marked Last) and takes through it three
 * interrupts of its virtual timer's PPI, the SP805's first-expiry SPI,
 * which it routes to itself (GICD_IROUTER = its MPIDR; vCPU 0 never turns
 * its CPU interface on, so a wrong route leaves it pending), and SGI 3,
 * which vCPU 0 sends it with ICC_SGI1R_EL1. Then it sets a flag vCPU 0
 * waits for and calls CPU_OFF once vCPU 0 says so. Meanwhile vCPU 0 checks
 * AFFINITY_INFO says on and that a second CPU_ON returns ALREADY_ON (-4);
 * after the CPU_OFF, AFFINITY_INFO says off again. A second round (another
 * context id) shows a CPU that was turned off comes back. Then
 * SYSTEM_OFF: qvm exits 0. Failures print "smp: FAIL ...".
 */
#include "gic.h"

#define CTX1    0x5eca0001u
#define CTX2    0x5eca0002u
#define N_TIMER 3
#define PSCI_OK 0
#define ON      0
#define OFF     1

#define WDT      0x1c0f0000ul
#define WDT_LOAD 0x000
#define WDT_CTL  0x008
#define WDT_CLR  0x00c
#define WDT_LOCK 0xc00
#define UNLOCK   0x1acce551u

static uint32_t vtimer_intid, wdt_intid;
static volatile unsigned want[2], turn;
#define SGI           3
#define ICC_SGI1R_EL1 "S3_0_C12_C11_5"

static volatile unsigned up, go, sgi_ready, timer_irqs[2], wdt_irqs[2],
    sgi_irqs[2], bad;
static volatile uint64_t up_mpidr;

static unsigned me(void)
{
    return (unsigned)(mpidr() & 1);
}

static inline void dmb(void)
{
    __asm__ volatile("dmb sy" ::: "memory");
}

/* Peterson's lock for two CPUs: plain loads and stores, ordered. */
static void lock(void)
{
    unsigned i = me();
    want[i] = 1;
    dmb();
    turn = 1 - i;
    dmb();
    while (want[1 - i] && turn == 1 - i)
        dmb();
    dmb();
}

static void unlock(void)
{
    dmb();
    want[me()] = 0;
    dmb();
}

static void say(const char *a, uint64_t v, const char *b)
{
    lock();
    puts_(a);
    puthex(v);
    puts_(b);
    unlock();
}

void exception(uint64_t esr, uint64_t far, uint64_t elr, uint64_t off)
{
    report_exception("smp: FAIL", esr, far, elr, off);
}

void irq(void)
{
    uint32_t id = gic_ack();
    if (id >= 1020)
        return;
    if (id == vtimer_intid) {
        unsigned n = ++timer_irqs[me()];
        uint64_t t = cntfrq() / 100;
        if (n % N_TIMER)
            __asm__ volatile("msr cntv_tval_el0, %0; isb" : : "r"(t));
        else
            __asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(0ull));
    } else if (id == SGI) {
        sgi_irqs[me()]++;
    } else if (id == wdt_intid) {
        wdt_irqs[me()]++;
        wr32(WDT + WDT_LOCK, UNLOCK);
        wr32(WDT + WDT_CTL, 0); /* stopped: no second expiry */
        wr32(WDT + WDT_CLR, 1);
        wr32(WDT + WDT_LOCK, 0);
    } else {
        bad++;
    }
    gic_eoi(id);
}

void secondary_main(uint64_t ctx)
{
    __asm__ volatile("msr vbar_el1, %0; isb" ::"r"(irq_vectors));
    uint64_t el, daif;
    __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
    __asm__ volatile("mrs %0, DAIF" : "=r"(daif));
    lock();
    puts_("smp: vCPU up at EL");
    putc_((char)('0' + ((el >> 2) & 3)));
    puts_(": MPIDR_EL1 ");
    puthex(mpidr());
    puts_(", x0 ");
    puthex(ctx);
    puts_(", DAIF ");
    puthex(daif);
    puts_("\n");
    unlock();
    unsigned idx = 0;
    int last = 0;
    uintptr_t rd = gicr_mine(&idx, &last);
    if (rd) {
        gic_cpu_init(rd);
        gic_ppi_enable(rd, vtimer_intid);
        unsigned want_irqs = timer_irqs[me()] + N_TIMER;
        uint64_t t = cntfrq() / 100;
        __asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1; isb"
                         :
                         : "r"(t), "r"(1ull));
        wait_irq_until(&timer_irqs[me()], want_irqs);
        /* The SP805's SPI, routed here (GICD_IROUTER: this MPIDR); vCPU 0
         * has no CPU interface on: it cannot take it. */
        gic_spi_enable(wdt_intid, mpidr());
        unsigned want_wdt = wdt_irqs[me()] + 1;
        wr32(WDT + WDT_LOCK, UNLOCK);
        wr32(WDT + WDT_LOAD, 49); /* 50 ms at `frequency 1000` */
        wr32(WDT + WDT_CLR, 1);
        wr32(WDT + WDT_CTL, 1); /* INTEN */
        wr32(WDT + WDT_LOCK, 0);
        wait_irq_until(&wdt_irqs[me()], want_wdt);
        /* An SGI from vCPU 0 (ICC_SGI1R_EL1 there): the interrupt between
         * processors, through this redistributor. */
        gic_ppi_enable(rd, SGI);
        unsigned want_sgi = sgi_irqs[me()] + 1;
        dmb();
        sgi_ready = (unsigned)ctx;
        dmb();
        wait_irq_until(&sgi_irqs[me()], want_sgi);
    }
    lock();
    puts_("smp: vCPU ");
    puthex(mpidr());
    puts_(": redistributor ");
    putdec(rd ? idx : 99);
    puts_(last ? " (last)" : " (not last)");
    puts_(", ");
    putdec(timer_irqs[me()]);
    puts_(" timer interrupts at INTID ");
    putdec(vtimer_intid);
    puts_(", ");
    putdec(wdt_irqs[me()]);
    puts_(" sp805 interrupts at INTID ");
    putdec(wdt_intid);
    puts_(", ");
    putdec(sgi_irqs[me()]);
    puts_(" SGIs ");
    putdec(SGI);
    puts_(" from vCPU 0\n");
    unlock();
    up_mpidr = mpidr();
    dmb();
    up = (unsigned)ctx;
    dmb();
    while (go != (unsigned)ctx)
        dmb();
    psci_call(PSCI_CPU_OFF, 0, 0, 0);
    say("smp: FAIL CPU_OFF returned on ", mpidr(), "\n");
    for (;;)
        __asm__ volatile("wfi");
}

static int64_t cpu_on(uint64_t target, uint64_t ctx)
{
    return (int64_t)psci_call(PSCI_CPU_ON, target, (uint64_t)secondary_entry,
                              ctx);
}

static int64_t affinity(uint64_t target)
{
    return (int64_t)psci_call(PSCI_AFFINITY_INFO, target, 0, 0);
}

static void check(const char *what, int64_t got, int64_t want_)
{
    lock();
    puts_("smp: ");
    puts_(what);
    puts_(" ");
    puts_(got < 0 ? "-" : "");
    putdec((uint64_t)(got < 0 ? -got : got));
    if (got != want_) {
        puts_(" FAIL expected ");
        puts_(want_ < 0 ? "-" : "");
        putdec((uint64_t)(want_ < 0 ? -want_ : want_));
    }
    puts_("\n");
    unlock();
}

/* Wait (bounded by the counter: 30 s) until *v == want; 0 on time-out. */
static int wait_for(volatile unsigned *v, unsigned want_)
{
    uint64_t end = cntvct() + 30 * cntfrq();
    while (*v != want_)
        if (cntvct() > end)
            return 0;
    return 1;
}

static int wait_off(uint64_t target)
{
    uint64_t end = cntvct() + 30 * cntfrq();
    while (affinity(target) != OFF)
        if (cntvct() > end)
            return 0;
    return 1;
}

static void cpu_round(uint64_t target, unsigned ctx)
{
    check("CPU_ON", cpu_on(target, ctx), PSCI_OK);
    /* SGI 3 to the target (Aff3.Aff2.Aff1 in the register, Aff0 as the
     * bit of the target list) once it is ready for it. */
    if (wait_for(&sgi_ready, ctx)) {
        uint64_t sgi = (uint64_t)SGI << 24 | (target >> 8 & 0xff) << 16 |
                       (target >> 16 & 0xff) << 32 |
                       (target >> 32 & 0xff) << 48 | 1u << (target & 0xf);
        WR_SYS(ICC_SGI1R_EL1, sgi);
    }
    if (!wait_for(&up, ctx)) {
        say("smp: FAIL no flag from the vCPU after CPU_ON, context ", ctx,
            "\n");
        return;
    }
    dmb();
    say("smp: the vCPU is up, MPIDR ", up_mpidr, "\n");
    if (up_mpidr != target)
        say("smp: FAIL it is not the one started: ", target, "\n");
    check("AFFINITY_INFO (on)", affinity(target), ON);
    check("CPU_ON again", cpu_on(target, ctx), -4);
    go = ctx;
    dmb();
    if (!wait_off(target))
        say("smp: FAIL still on after CPU_OFF: ", target, "\n");
    check("AFFINITY_INFO (after CPU_OFF)", affinity(target), OFF);
}

int main(uint64_t x0)
{
    __asm__ volatile("msr vbar_el1, %0; isb" ::"r"(irq_vectors));
    vtimer_intid = fdt_intid(x0, "timer", 2);
    wdt_intid = fdt_intid(x0, "watchdog@", 0);
    uint32_t len = 0;
    const volatile uint8_t *r = fdt_prop(x0, "cpu@", 1, "reg", &len);
    uint64_t target = 0;
    if (r && len == 4)
        target = be32(r);
    else if (r && len == 8)
        target = (uint64_t)be32(r) << 32 | be32(r + 4);
    unsigned ncpu = 0;
    while (fdt_prop(x0, "cpu@", ncpu, "reg", &len))
        ncpu++;
    lock();
    puts_("smp: vCPU 0 MPIDR_EL1 ");
    puthex(mpidr());
    puts_(", device tree: ");
    putdec(ncpu);
    puts_(" cpus, the second ");
    puthex(target);
    puts_(", virtual timer INTID ");
    putdec(vtimer_intid);
    puts_("\n");
    unlock();
    const volatile uint8_t *g = fdt_prop(x0, "intc@", 0, "reg", &len);
    if (g && len == 32) {
        lock();
        puts_("smp: device tree: GIC distributor ");
        puthex((uint64_t)be32(g) << 32 | be32(g + 4));
        puts_(", redistributors ");
        puthex((uint64_t)be32(g + 16) << 32 | be32(g + 20));
        puts_(" size ");
        puthex((uint64_t)be32(g + 24) << 32 | be32(g + 28));
        puts_("\n");
        unlock();
    }
    if (!r || !vtimer_intid || !wdt_intid || target == mpidr()) {
        puts_("smp: FAIL no second cpu, timer or sp805 in the device tree\n");
        psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    }
    unsigned idx = 0;
    int last = 0;
    gicd_init();
    uintptr_t rd = gicr_mine(&idx, &last);
    lock();
    puts_("smp: vCPU 0: redistributor ");
    putdec(rd ? idx : 99);
    puts_(last ? " (last)\n" : " (not last)\n");
    unlock();
    check("AFFINITY_INFO (before CPU_ON)", affinity(target), OFF);
    check("CPU_ON of MPIDR 0x7f", cpu_on(0x7f, 0), -2);
    cpu_round(target, CTX1);
    cpu_round(target, CTX2);
    if (bad)
        say("smp: FAIL unexpected interrupts: ", bad, "\n");
    if (wdt_irqs[0] || timer_irqs[0] || sgi_irqs[0])
        say("smp: FAIL interrupts taken on vCPU 0: ", wdt_irqs[0], "\n");
    say("smp: done, timer interrupts on the second vCPU: ", timer_irqs[1],
        "\n");
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

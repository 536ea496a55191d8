/*
 * irq.c: interrupts through the GICv3 (tests/vm/cases-arm64/gic-irq.sh).
 * The guest takes the INTIDs from the device tree qvm passes in x0 (the
 * PL011's and the SP805's SPI, the virtual timer's PPI: the third
 * specifier of /timer), programs the distributor (ARE, group 1; each SPI
 * group 1, a priority, level, routed to this vCPU's MPIDR, enabled), finds
 * its redistributor by GICR_TYPER's affinity, wakes it and enables the
 * PPI there, and turns on the CPU interface (ICC_SRE_EL1, ICC_PMR_EL1,
 * ICC_IGRPEN1_EL1). Interrupts arrive through VBAR_EL1 (irqvec.S); the
 * handler reads ICC_IAR1_EL1 and writes ICC_EOIR1_EL1. Between interrupts
 * the guest sleeps in WFI (gic.h wait_irq_until); it never polls a device.
 *  1. the virtual timer (CNTV_TVAL_EL0 a 100th of CNTFRQ_EL0) fires
 *     N_TIMER times, re-armed by the handler; the elapsed CNTVCT ticks
 *     must be at least N_TIMER periods (it cannot fire early);
 *  2. the SP805 (WdogLoad 99 at `frequency 1000`: 100 ms) raises its
 *     first-expiry interrupt; the handler stops it (no second expiry);
 *  3. the PL011's TX interrupt without FIFOs: a line written one
 *     character per interrupt (a 5-s watchdog on the virtual timer);
 *  4. the PL011 with FIFOs, RX and RT interrupts (UARTIMSC): the handler
 *     clears RX/RT, drains the receive FIFO into a buffer and lingers
 *     5 ms (more input arrives meanwhile); the guest echoes each line
 *     ("irq: echo LINE") until the line "end". The input comes on qvm's
 *     stdin, a line after the echo of the one before: each line costs at
 *     least one interrupt.
 * Then it prints the counts and powers off (PSCI SYSTEM_OFF). Failures
 * print "irq: FAIL ...".
 */
#include "gic.h"

#define N_TIMER 10

#define UART       PL011_BASE
#define UART_LCR_H 0x2c
#define UART_CR    0x30
#define UART_IFLS  0x34
#define UART_IMSC  0x38
#define UART_MIS   0x40
#define UART_ICR   0x44
#define FR_RXFE    (1u << 4)
#define INT_RX     (1u << 4)
#define INT_TX     (1u << 5)
#define INT_RT     (1u << 6)

#define WDT      0x1c0f0000ul
#define WDT_LOAD 0x000
#define WDT_CTL  0x008
#define WDT_CLR  0x00c
#define WDT_RIS  0x010
#define WDT_LOCK 0xc00
#define UNLOCK   0x1acce551u

#define RXBUF 1024

static uint32_t uart_intid, wdt_intid, vtimer_intid;
static uint64_t period;
static volatile unsigned timer_irqs, uart_irqs, wdt_irqs, spurious, bad;
static volatile uint32_t bad_intid, uart_mis_empty;
static volatile uint8_t rxbuf[RXBUF];
static volatile unsigned rx_head, rx_lines;
static const char tx_msg[] =
    "irq: uart tx: this line went out one character per TX interrupt\r\n";
static volatile unsigned tx_pos, tx_irqs, tx_done, watchdog;

void exception(uint64_t esr, uint64_t far, uint64_t elr, uint64_t off)
{
    report_exception("irq: FAIL", esr, far, elr, off);
}

static void on_timer(void)
{
    timer_irqs++;
    if (timer_irqs > N_TIMER)
        watchdog = 1; /* armed again by wait_or_watchdog */
    if (timer_irqs < N_TIMER)
        __asm__ volatile("msr cntv_tval_el0, %0; isb" : : "r"(period));
    else
        __asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(0ull));
}

static void on_uart(void)
{
    uint32_t mis = rd32(UART + UART_MIS);
    if (!(mis & (INT_RX | INT_RT | INT_TX)))
        uart_mis_empty++;
    if (mis & INT_TX) {
        tx_irqs++;
        if (tx_msg[tx_pos]) {
            wr32(UART + PL011_DR, (uint8_t)tx_msg[tx_pos++]);
        } else {
            wr32(UART + UART_IMSC, 0);
            wr32(UART + UART_ICR, INT_TX);
            tx_done = 1;
        }
    }
    if (!(mis & (INT_RX | INT_RT)))
        return;
    uart_irqs++;
    /* Cleared first, then drained (as Linux's pl011_int): input that
     * arrives once the FIFO reads empty raises RX/RT again. Cleared after
     * the drain, it could wipe the RT of a refill that came in between:
     * the FIFO full, no interrupt, the host's input held back. */
    wr32(UART + UART_ICR, INT_RX | INT_RT);
    while (!(rd32(UART + PL011_FR) & FR_RXFE)) {
        uint8_t c = (uint8_t)rd32(UART + PL011_DR);
        if (rx_head < RXBUF)
            rxbuf[rx_head] = c;
        rx_head++;
        if (c == '\n')
            rx_lines++;
    }
    /* Lingers 5 ms with the FIFO read empty: the host's next bytes come
     * in meanwhile, and must raise RX/RT again (taken once this returns). */
    delay_ms(5);
}

static void on_wdt(void)
{
    wdt_irqs++;
    wr32(WDT + WDT_LOCK, UNLOCK);
    wr32(WDT + WDT_CTL, 0); /* stopped: no second expiry */
    wr32(WDT + WDT_CLR, 1);
    wr32(WDT + WDT_LOCK, 0);
}

void irq(void)
{
    uint32_t id = gic_ack();
    if (id >= 1020) {
        spurious++;
        return;
    }
    if (id == vtimer_intid)
        on_timer();
    else if (id == uart_intid)
        on_uart();
    else if (id == wdt_intid)
        on_wdt();
    else {
        bad++;
        bad_intid = id;
    }
    gic_eoi(id);
}

static void fail(const char *what)
{
    puts_("irq: FAIL ");
    puts_(what);
    puts_("\n");
}

static void timer_test(void)
{
    period = cntfrq() / 100;
    uint64_t t0 = cntvct();
    __asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1; isb"
                     :
                     : "r"(period), "r"(1ull));
    uint64_t sleeps = wait_irq_until(&timer_irqs, N_TIMER);
    uint64_t dt = cntvct() - t0;
    puts_("irq: timer: ");
    putdec(timer_irqs);
    puts_(" interrupts at INTID ");
    putdec(vtimer_intid);
    puts_(", ");
    putdec(dt);
    puts_(" ticks at ");
    putdec(cntfrq());
    puts_(" Hz (");
    putdec(dt * 1000 / cntfrq());
    puts_(" ms), ");
    putdec(sleeps);
    puts_(" sleeps\n");
    if (dt < N_TIMER * period)
        fail("the timer fired early");
    if (timer_irqs != N_TIMER)
        fail("timer interrupts after it was stopped");
}

static void wdt_test(void)
{
    uint64_t t0 = cntvct();
    wr32(WDT + WDT_LOCK, UNLOCK);
    wr32(WDT + WDT_LOAD, 99);
    wr32(WDT + WDT_CLR, 1);
    wr32(WDT + WDT_CTL, 1); /* INTEN, no RESEN */
    wr32(WDT + WDT_LOCK, 0);
    uint64_t sleeps = wait_irq_until(&wdt_irqs, 1);
    uint64_t dt = cntvct() - t0;
    puts_("irq: sp805: ");
    putdec(wdt_irqs);
    puts_(" interrupt at INTID ");
    putdec(wdt_intid);
    puts_(" after ");
    putdec(dt * 1000 / cntfrq());
    puts_(" ms, ");
    putdec(sleeps);
    puts_(" sleeps\n");
    if (rd32(WDT + WDT_RIS) & 1)
        fail("the SP805's interrupt still raw after WdogIntClr");
    if (dt < cntfrq() * 9 / 100) /* a sanity bound: its period is 100 ms */
        fail("the SP805 expired long before its 100 ms");
}

/* Sleep until *flag is set or 5 s of the virtual timer passed (then
 * "watchdog" is set). Returns the sleeps. */
static uint64_t wait_or_watchdog(volatile unsigned *flag)
{
    uint64_t t = cntfrq() * 5, sleeps = 0;
    watchdog = 0;
    __asm__ volatile("msr cntv_tval_el0, %0; msr cntv_ctl_el0, %1; isb"
                     :
                     : "r"(t), "r"(1ull));
    for (;;) {
        irqs_off();
        if (*flag || watchdog)
            break;
        __asm__ volatile("wfi");
        sleeps++;
        irqs_on();
    }
    __asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(0ull));
    irqs_on();
    return sleeps;
}

/* Output by interrupt, without FIFOs (LCR_H.FEN 0): the guest writes the
 * first character, each TX interrupt (the holding register emptied) the
 * next, the one after the last turns TXIM off. (With FIFOs the same
 * holds on qvm: characters leave at once, and each departure that ends
 * at or below the TX level raises it; src/devices/pl011_regs.c.) */
static void uart_tx_test(void)
{
    wr32(UART + UART_LCR_H, 0x60);
    wr32(UART + UART_ICR, INT_TX);
    irqs_off();
    wr32(UART + UART_IMSC, INT_TX);
    wr32(UART + PL011_DR, (uint8_t)tx_msg[tx_pos++]);
    uint64_t sleeps = wait_or_watchdog(&tx_done);
    wr32(UART + UART_IMSC, 0);
    puts_("irq: uart tx: ");
    putdec(tx_pos);
    puts_(" characters in ");
    putdec(tx_irqs);
    puts_(" interrupts, ");
    putdec(sleeps);
    puts_(" sleeps\n");
    if (!tx_done)
        fail("no TX interrupt within 5 s");
}

static void uart_test(void)
{
    wr32(UART + UART_CR, 0);
    wr32(UART + UART_LCR_H, 0x70); /* 8 bits, FIFOs */
    wr32(UART + UART_IFLS, 0);     /* RX at 1/8 */
    wr32(UART + UART_ICR, 0x7ff);
    wr32(UART + UART_IMSC, INT_RX | INT_RT);
    wr32(UART + UART_CR, 0x301); /* UARTEN, TXE, RXE */
    puts_("irq: uart: ready for input\n");
    unsigned tail = 0, nlines = 0;
    uint64_t sleeps = 0;
    for (;;) {
        sleeps += wait_irq_until(&rx_lines, nlines + 1);
        char line[RXBUF + 1];
        unsigned n = 0;
        while (tail < rx_head && tail < RXBUF) {
            char c = (char)rxbuf[tail++];
            if (c == '\n')
                break;
            if (c != '\r')
                line[n++] = c;
        }
        line[n] = 0;
        nlines++;
        puts_("irq: echo ");
        puts_(line);
        puts_("\n");
        if (n == 3 && line[0] == 'e' && line[1] == 'n' && line[2] == 'd')
            break;
        if (tail >= RXBUF) {
            fail("too much input");
            break;
        }
    }
    puts_("irq: uart: ");
    putdec(rx_head);
    puts_(" bytes, ");
    putdec(nlines);
    puts_(" lines in ");
    putdec(uart_irqs);
    puts_(" interrupts at INTID ");
    putdec(uart_intid);
    puts_(", ");
    putdec(sleeps);
    puts_(" sleeps\n");
    if (uart_mis_empty)
        fail("a PL011 interrupt with neither RX nor RT in UARTMIS");
}

int main(uint64_t x0)
{
    __asm__ volatile("msr vbar_el1, %0; isb" ::"r"(irq_vectors));
    uart_intid = fdt_intid(x0, "pl011@", 0);
    wdt_intid = fdt_intid(x0, "watchdog@", 0);
    vtimer_intid = fdt_intid(x0, "timer", 2);
    puts_("irq: device tree: pl011 INTID ");
    putdec(uart_intid);
    puts_(", sp805 INTID ");
    putdec(wdt_intid);
    puts_(", virtual timer INTID ");
    putdec(vtimer_intid);
    puts_("\n");
    if (!uart_intid || !wdt_intid || !vtimer_intid) {
        fail("interrupts missing from the device tree");
        psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    }
    unsigned idx = 0;
    int last = 0;
    uintptr_t rd = gicr_mine(&idx, &last);
    if (!rd) {
        fail("no redistributor with this vCPU's affinity");
        psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    }
    gicd_init();
    uint64_t sre = gic_cpu_init(rd);
    puts_("irq: GICD_TYPER ");
    puthex(rd32(GICD + GICD_TYPER));
    puts_(", redistributor ");
    putdec(idx);
    puts_(last ? " (last)" : "");
    puts_(", ICC_SRE_EL1 ");
    puthex(sre);
    puts_("\n");
    gic_ppi_enable(rd, vtimer_intid);
    gic_spi_enable(uart_intid, mpidr());
    gic_spi_enable(wdt_intid, mpidr());

    timer_test();
    wdt_test();
    uart_tx_test();
    uart_test();

    puts_("irq: spurious ");
    putdec(spurious);
    puts_(", unexpected ");
    putdec(bad);
    puts_("\n");
    if (bad) {
        puts_("irq: FAIL unexpected INTID ");
        putdec(bad_intid);
        puts_("\n");
    }
    puts_("irq: done\n");
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

/*
 * uartirq.c: the uartirq guest (tests/vm/cases/uart-irq.sh). Transmits on
 * COM1 the way Linux's 8250 driver does, on an edge-triggered ISA line
 * (IOAPIC line 4, edge, active high, as the MP table and the MADT describe
 * it): a software transmit buffer, start_tx sets IER.ETBEI only when it was
 * clear, the interrupt handler loops on IIR until "no interrupt" and sends
 * at most 16 bytes per THR-empty interrupt, stop_tx clears ETBEI when the
 * buffer is empty, and a "printk" every few lines writes polled with IER
 * saved, cleared and restored (serial8250_console_write). For the second
 * half of the lines the handler serves one THRE per interrupt, so each
 * chunk waits for the edge its THR writes raised. Before all that, the
 * startup THRE and TXEN tests of serial8250_do_startup run with the line
 * masked in the IOAPIC, as disable_irq_nosync leaves it. If qvm ever failed
 * to give a new interrupt condition a new edge, the guest would wait in hlt
 * forever (the case's time limit catches it); otherwise it prints every
 * line and the counts, "uartirq: done", and powers off.
 */
#include "guest.h"
#include "uart_irq.h"

#define NLINES 300
#define BUFSZ  4096 /* Linux's UART_XMIT_SIZE */

#define IER_THRI 0x02
#define IER_RX   0x05 /* RLSI | RDI, as the driver keeps them */

void guest_main(uint32_t magic, uint32_t info);

/* The driver's state: the transmit buffer and the IER shadow (up->ier). */
static volatile char xmit[BUFSZ];
static volatile uint32_t head, tail; /* free-running */
static volatile uint8_t ier;
static volatile uint32_t n_irq, n_thre, n_sent;
/* Second half: one THRE per interrupt, as drivers without Linux's IIR loop
 * do; the next 16 bytes then wait for the edge the THR writes raised while
 * the interrupt was in service (latched in the local APIC's IRR). */
static volatile int one_per_irq;

static void fail(const char *what)
{
    serial_puts("uartirq: FAIL: ");
    serial_puts(what);
    serial_puts("\n");
    poweroff();
}

static void set_ier(uint8_t v)
{
    ier = v;
    outb(COM1 + 1, v);
}

/* serial8250_tx_chars: up to 16 bytes (tx_loadsz), stop_tx when empty. */
static void tx_chars(void)
{
    for (int count = 16; count > 0 && head != tail; count--) {
        outb(COM1, (uint8_t)xmit[tail % BUFSZ]);
        tail++;
        n_sent++;
    }
    if (head == tail)
        set_ier(ier & (uint8_t)~IER_THRI);
}

void uart_isr_c(void)
{
    n_irq++;
    for (int pass = 0; pass < 512; pass++) { /* PASS_LIMIT */
        uint8_t iir = inb(COM1 + 2);
        if (iir & 1)
            break;
        uint8_t lsr = inb(COM1 + 5);
        if ((iir & 0x0e) == 0x02)
            n_thre++;
        if (lsr & 0x20 && ier & IER_THRI)
            tx_chars();
        else if ((iir & 0x0e) != 0x02)
            (void)inb(COM1 + 6); /* anything else: modem status */
        if (one_per_irq)
            break;
    }
    mmio_w(LAPIC + 0xb0, 0); /* EOI */
}

/* start_tx (serial8250_set_THRI): IER is written only when THRI was off. */
static void start_tx(void)
{
    if (!(ier & IER_THRI))
        set_ier(ier | IER_THRI);
}

/* uart_write from a process: copy what fits, start_tx, wait for room. */
static void tty_write(const char *s)
{
    while (*s) {
        __asm__ volatile("cli");
        while (*s && head - tail < BUFSZ - 1) {
            if (*s == '\n')
                xmit[head++ % BUFSZ] = '\r';
            xmit[head++ % BUFSZ] = *s++;
        }
        start_tx();
        /* Buffer full: sleep until the interrupt handler makes room. */
        while (*s && head - tail >= BUFSZ - 1)
            __asm__ volatile("sti; hlt; cli");
        __asm__ volatile("sti");
    }
}

/* serial8250_console_write: interrupts off, IER saved, cleared, restored. */
static void printk(const char *s, uint32_t n)
{
    __asm__ volatile("cli");
    uint8_t saved = inb(COM1 + 1);
    outb(COM1 + 1, 0);
    serial_puts(s);
    serial_putdec(n);
    serial_puts("\n");
    outb(COM1 + 1, saved);
    __asm__ volatile("sti");
}

static void put_line(uint32_t i)
{
    char b[80];
    int n = 0;
    const char *p = "uartirq: line ";
    while (*p)
        b[n++] = *p++;
    char d[10];
    int k = 0;
    uint32_t v = i;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        b[n++] = d[--k];
    p = " the quick brown fox jumps over the lazy dog\n";
    while (*p)
        b[n++] = *p++;
    b[n] = 0;
    tty_write(b);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    outb(0x21, 0xff); /* 8259s masked: line 4 comes through the IOAPIC */
    outb(0xa1, 0xff);
    outb(COM1 + 1, 0);
    serial_init();
    outb(COM1 + 2, 0xc7); /* FIFOs on and reset */
    outb(COM1 + 4, 0x0b); /* DTR RTS OUT2 */

    uint16_t cs = idt_begin(isr_default, isr_default);
    set_gate(UART_VEC, isr_uart, cs);
    idt_load();
    mmio_w(LAPIC + 0xf0, 0x1ff); /* SVR: APIC on, spurious vector 0xff */
    ioapic_w(0x11 + 2 * UART_LINE, 0);
    /* Masked (disable_irq_nosync after an interrupt came), edge, high. */
    ioapic_w(0x10 + 2 * UART_LINE, UART_VEC | 1u << 16);

    /* serial8250_do_startup's THRE test, the line masked meanwhile. */
    __asm__ volatile("cli");
    outb(COM1 + 1, IER_THRI);
    uint8_t iir1 = inb(COM1 + 2);
    outb(COM1 + 1, 0);
    outb(COM1 + 1, IER_THRI);
    uint8_t iir2 = inb(COM1 + 2);
    outb(COM1 + 1, 0);
    if ((iir1 & 0x0f) != 0x02 || (iir2 & 0x0f) != 0x02)
        fail("THRE not re-asserted when ETBEI is set again");
    /* The TXEN test: ETBEI on, LSR.TEMT, IIR must not say "none". */
    outb(COM1 + 1, IER_THRI);
    uint8_t lsr = inb(COM1 + 5);
    if (!(lsr & 0x40) || (inb(COM1 + 2) & 1))
        fail("no THRE interrupt with ETBEI on and TEMT set");
    outb(COM1 + 1, 0);
    ioapic_w(0x10 + 2 * UART_LINE, UART_VEC); /* enable_irq: unmasked */
    set_ier(IER_RX);
    __asm__ volatile("sti");

    serial_puts("uartirq: ready\n");
    for (uint32_t i = 0; i < NLINES; i++) {
        one_per_irq = i >= NLINES / 2;
        put_line(i);
        if (i % 7 == 3)
            printk("uartirq: printk ", i);
    }
    /* tty_wait_until_sent: the handler must drain everything. */
    __asm__ volatile("cli");
    while (head != tail)
        __asm__ volatile("sti; hlt; cli");
    __asm__ volatile("sti");
    if (ier & IER_THRI)
        fail("THRI still on with nothing to send");
    set_ier(0);
    serial_puts("uartirq: sent ");
    serial_putdec(n_sent);
    serial_puts(" bytes, ");
    serial_putdec(n_irq);
    serial_puts(" interrupts, ");
    serial_putdec(n_thre);
    serial_puts(" THRE\n");
    serial_puts("uartirq: done\n");
    poweroff();
}

/*
 * uart.c: the uart guest (tests/vm/cases/uart.sh). Drives COM1 the way an
 * interrupt-driven driver does: divisor latch and scratch read-back, FIFOs
 * on (IIR reports 0xc0), then an IDT, the in-kernel IOAPIC's redirection
 * entry for line 4 (level, active high, vector 0x24) and the LAPIC; it
 * waits (hlt) for the THR-empty interrupt, then reads one line of host
 * input through received-data interrupts and echoes it as "got: LINE".
 * (It loads its own GDT first: multiboot leaves none.) Then loopback mode:
 * bytes written come back, MSR mirrors MCR, an FIFO reset empties the receiver
 * and an overrun sets LSR.OE. Powers off.
 */
#include "guest.h"
#include "uart_irq.h"

void guest_main(uint32_t magic, uint32_t info);

static volatile uint32_t n_irq, n_thre, n_rx;
static volatile char rxbuf[64];
static volatile uint32_t rx_n;

void uart_isr_c(void)
{
    n_irq++;
    for (;;) {
        uint8_t iir = inb(COM1 + 2);
        if (iir & 1)
            break;
        switch (iir & 0x0e) {
        case 0x02:
            n_thre++; /* reading IIR cleared it */
            break;
        case 0x04:
        case 0x0c:
            while (inb(COM1 + 5) & 1) {
                char c = (char)inb(COM1);
                n_rx++;
                if (rx_n < sizeof(rxbuf))
                    rxbuf[rx_n++] = c;
            }
            break;
        case 0x06:
            (void)inb(COM1 + 5);
            break;
        default:
            (void)inb(COM1 + 6);
            break;
        }
    }
    mmio_w(LAPIC + 0xb0, 0); /* EOI */
}

static void fail(const char *what)
{
    serial_puts("uart: FAIL: ");
    serial_puts(what);
    serial_puts("\n");
    poweroff();
}

static void wait_irq(volatile uint32_t *counter, uint32_t target)
{
    while (*counter < target)
        __asm__ volatile("sti; hlt; cli");
}

static int line_done(void)
{
    for (uint32_t i = 0; i < rx_n; i++)
        if (rxbuf[i] == '\n' || rxbuf[i] == '\r') /* a raw tty sends CR */
            return 1;
    return rx_n >= sizeof(rxbuf);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    outb(0x21, 0xff); /* mask both 8259s: interrupts come via the IOAPIC */
    outb(0xa1, 0xff);
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x80); /* DLAB: divisor 3 = 38400 baud */
    outb(COM1 + 0, 3);
    outb(COM1 + 1, 0);
    if (inb(COM1 + 0) != 3 || inb(COM1 + 1) != 0)
        fail("divisor latch read-back");
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xc1); /* FIFOs on, trigger 14, keep received data */
    outb(COM1 + 4, 0x0b); /* DTR RTS OUT2 */
    outb(COM1 + 7, 0x5a);
    serial_puts("uart: ready\n");
    if (inb(COM1 + 7) != 0x5a)
        fail("scratch register");
    if ((inb(COM1 + 2) & 0xc0) != 0xc0)
        fail("IIR does not report FIFOs (16550A)");
    if ((inb(COM1 + 5) & 0x60) != 0x60)
        fail("LSR THRE|TEMT");

    uint16_t cs = idt_begin(isr_default, isr_default);
    set_gate(UART_VEC, isr_uart, cs);
    idt_load();
    mmio_w(LAPIC + 0xf0, 0x1ff);       /* SVR: APIC on, spurious vector 0xff */
    ioapic_w(0x11 + 2 * UART_LINE, 0); /* destination: APIC 0 */
    ioapic_w(0x10 + 2 * UART_LINE, UART_VEC | 1u << 15); /* level, high */

    outb(COM1 + 1, 0x02); /* ETBEI: THR is empty, so an interrupt now */
    wait_irq(&n_thre, 1);
    serial_puts("uart: THRE interrupt ok\n");
    outb(COM1 + 1, 0x01);        /* ERBFI only */
    wait_irq(&n_irq, n_irq + 1); /* first received-data interrupt */
    while (!line_done())
        __asm__ volatile("sti; hlt; cli");
    serial_puts("got: ");
    for (uint32_t i = 0; i < rx_n && rxbuf[i] != '\n' && rxbuf[i] != '\r'; i++)
        serial_putc(rxbuf[i]);
    serial_puts("\n");
    serial_puts("uart: RX interrupts ");
    serial_putdec(n_irq);
    serial_puts("\n");
    outb(COM1 + 1, 0);

    /* Loopback: TX comes back as RX, MSR follows MCR. */
    outb(COM1 + 4, 0x1b);
    if ((inb(COM1 + 6) & 0xf0) != 0xb0)
        fail("loopback MSR (DTR->DSR, RTS->CTS, OUT2->DCD)");
    outb(COM1, 'A');
    outb(COM1, 'B');
    if (!(inb(COM1 + 5) & 1) || inb(COM1) != 'A' || inb(COM1) != 'B' ||
        (inb(COM1 + 5) & 1))
        fail("loopback data");
    outb(COM1, 'X');
    outb(COM1 + 2, 0xc3); /* RX FIFO reset */
    if (inb(COM1 + 5) & 1)
        fail("RX FIFO reset");
    outb(COM1 + 2, 0x00); /* FIFOs off: a second byte overruns */
    outb(COM1, '1');
    outb(COM1, '2');
    uint8_t lsr = inb(COM1 + 5);
    if ((lsr & 0x03) != 0x03 || inb(COM1) != '1' || (inb(COM1 + 5) & 2))
        fail("overrun (LSR.OE)");
    outb(COM1 + 4, 0x0b);
    outb(COM1 + 2, 0xc1);
    serial_puts("loopback: ok\n");
    serial_puts("uart: done\n");
    poweroff();
}

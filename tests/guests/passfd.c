/*
 * passfd.c: a host interrupt from an inherited descriptor
 * (tests/vm/cases/pass-intr-fd.sh, docs/passthrough.md). The case holds a
 * FIFO open on descriptor 3, which qvm inherits:
 *   pass intr ioapic:10=fd:3
 * and writes one byte into it for each interrupt the guest asks for. The
 * guest programs IOAPIC input 10 level-triggered (vector 0x41); its
 * handler counts the interrupt and EOIs the local APIC. Steps, each
 * printing one "passfd: ..." line:
 *   1. nothing arrives before the case wrote a byte;
 *   2. ROUNDS times "passfd: waiting for interrupt K": the case writes a
 *      byte; the interrupt arrives once and nothing more comes after it
 *      (the line goes down at the EOI: a line left up would be delivered
 *      again, a missed EOI would leave the next byte without an
 *      interrupt); "passfd: interrupt K";
 *   3. "passfd: waiting for no interrupt": the case writes nothing and
 *      nothing arrives.
 * Ends with "passfd: done" and powers off, or "passfd: FAIL ..." and
 * powers off.
 */
#include "guest.h"
#include "uart_irq.h"

#define LINE   10
#define VEC    0x41
#define ROUNDS 5

void guest_main(uint32_t magic, uint32_t info);
void fd_isr_c(void);
extern char isr_fd[];

__asm__(".text\n"
        ".globl isr_fd\n"
        "isr_fd:\n"
        "    pusha\n"
        "    cld\n"
        "    call fd_isr_c\n"
        "    popa\n" IRET_BY_HAND);

static volatile uint32_t n_irq;

void uart_isr_c(void)
{
}

void fd_isr_c(void)
{
    n_irq++;
    mmio_w(LAPIC + 0xb0, 0);
}

static void fail(const char *what, uint32_t v)
{
    guest_fail("passfd", what, v);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    serial_init();
    uint16_t cs = idt_begin(isr_default, isr_default);
    set_gate(VEC, isr_fd, cs);
    idt_load();
    mmio_w(LAPIC + 0xf0, 0x1ff); /* APIC on */
    ioapic_level(LINE, VEC);

    sti_quiet(500000);
    if (n_irq)
        fail("interrupts before a byte", n_irq);
    serial_puts("passfd: no interrupt before a byte\n");

    for (uint32_t k = 1; k <= ROUNDS; k++) {
        uint32_t seen = n_irq;
        serial_puts("passfd: waiting for interrupt ");
        serial_putdec(k);
        serial_puts("\n");
        if (!sti_wait_past(&n_irq, seen))
            fail("no interrupt for byte", k);
        sti_quiet(200000);
        if (n_irq != seen + 1)
            fail("more than one interrupt for one byte, interrupts",
                 n_irq - seen);
        serial_puts("passfd: interrupt ");
        serial_putdec(k);
        serial_puts("\n");
    }

    serial_puts("passfd: waiting for no interrupt\n");
    sti_quiet(2000000);
    if (n_irq != ROUNDS)
        fail("interrupts without a byte, in all", n_irq);
    serial_puts("passfd: ");
    serial_putdec(n_irq);
    serial_puts(" interrupts, none without a byte\n");
    serial_puts("passfd: done\n");
    poweroff();
    for (;;)
        __asm__ volatile("hlt");
}

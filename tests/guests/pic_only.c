/*
 * pic_only.c: the pic-only guest (tests/vm/cases/pic-only.sh). Interrupts
 * through the 8259 pair alone: the IOAPIC is never programmed and the
 * local APIC is left as reset leaves it (LINT0 in virtual-wire ExtINT
 * mode). Probes and initializes both 8259s as Linux does (vector bases
 * 0x20/0x28), then takes through the IDT, with sti:
 *  - COM1's THR-empty interrupt on IRQ 4 (vector 0x24), in service on the
 *    master in the handler, once with a non-specific and once with a
 *    specific EOI;
 *  - a latched request held by the IMR, visible in IRR, delivered at the
 *    unmask;
 *  - COM3's (0x2e8) on the slave's IRQ 11 (vector 0x2b) through the
 *    cascade, EOI'd on the slave then the master;
 *  - both at once: IRQ 11 (the cascade, IR2) before IRQ 4.
 * Waits are bounded spins: a lost interrupt is a FAIL line, not a hang.
 * Prints "pic-only: ok" and powers off.
 */
#include "acpi_guest.h"
#include "uart_irq.h"

#define COM3      0x2e8
#define IER_ETBEI 0x02
#define VEC_IRQ4  0x24
#define VEC_IRQ11 0x2b

#define SPIN_LIMIT 20000000u /* pauses: well over a second of waiting */
#define SPIN_QUIET 200000u

void guest_main(uint32_t magic, uint32_t info);
void slave_isr_c(void);
void spurious_isr_c(void);
void other_isr_c(void);
extern char isr_slave[], isr_spurious[], isr_other[];

__asm__(".text\n"
        ".globl isr_slave\n"
        "isr_slave:\n"
        "    pusha\n"
        "    cld\n"
        "    call slave_isr_c\n"
        "    popa\n" IRET_BY_HAND ".globl isr_spurious\n"
        "isr_spurious:\n"
        "    pusha\n"
        "    cld\n"
        "    call spurious_isr_c\n"
        "    popa\n" IRET_BY_HAND ".globl isr_other\n"
        "isr_other:\n"
        "    pusha\n"
        "    cld\n"
        "    call other_isr_c\n"
        "    popa\n" IRET_BY_HAND);

static volatile uint32_t n_irq4, n_irq11, n_spurious, n_other;
static volatile uint32_t bad_isr; /* handlers that found ISR wrong */
static volatile int specific_eoi;
static volatile uint8_t order[16];
static volatile uint32_t n_order;
static int failed;

static void check_eq(const char *what, uint32_t got, uint32_t want)
{
    if (got == want)
        return;
    serial_puts("pic-only: FAIL: ");
    serial_puts(what);
    serial_puts(": ");
    serial_puthex(got);
    serial_puts(", expected ");
    serial_puthex(want);
    serial_puts("\n");
    failed = 1;
}

static uint8_t read_isr(uint16_t cmd)
{
    outb(cmd, 0x0b);
    uint8_t v = inb(cmd);
    outb(cmd, 0x0a);
    return v;
}

static void note(uint8_t irq)
{
    if (n_order < sizeof(order))
        order[n_order] = irq;
    n_order++;
}

/* IRQ 4 (COM1). */
void uart_isr_c(void)
{
    n_irq4++;
    note(4);
    if (!(read_isr(0x20) & 0x10))
        bad_isr++;
    (void)inb(COM1 + 2); /* IIR: THR empty read, the line drops */
    outb(0x20, specific_eoi ? 0x64 : 0x20);
}

/* IRQ 11 (COM3): in service on the slave and, as IR2, on the master. */
void slave_isr_c(void)
{
    n_irq11++;
    note(11);
    if (!(read_isr(0xa0) & 0x08) || !(read_isr(0x20) & 0x04))
        bad_isr++;
    (void)inb(COM3 + 2);
    outb(0xa0, 0x63);
    outb(0x20, 0x62);
}

void spurious_isr_c(void)
{
    n_spurious++;
}

void other_isr_c(void)
{
    n_other++;
}

/* wait_for: interrupts on until *v reaches want (bounded), then off. */
static void wait_for(volatile uint32_t *v, uint32_t want)
{
    sti_wait(v, want, SPIN_LIMIT);
}

/* quiet: interrupts on for a while; anything pending is taken. */
static void quiet(void)
{
    sti_quiet(SPIN_QUIET);
}

/* Linux's probe_8259A and init_8259A (no auto-EOI). */
static void init_8259(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    outb(0x21, 0xfb);
    check_eq("probe: IMR read back", inb(0x21), 0xfb);
    outb(0x21, 0xff);
    outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
    outb(0x21, 0x20); /* ICW2: IRQ 0-7 at 0x20 */
    outb(0x21, 0x04); /* ICW3: slave on IR2 */
    outb(0x21, 0x01); /* ICW4: 8086, normal EOI */
    outb(0xa0, 0x11);
    outb(0xa1, 0x28);
    outb(0xa1, 0x02);
    outb(0xa1, 0x01);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    check_eq("master IMR", inb(0x21), 0xff);
    check_eq("slave IMR", inb(0xa1), 0xff);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    outb(COM1 + 4, 0x0b); /* OUT2: the PC's IRQ enable */
    outb(COM3 + 3, 0x03);
    outb(COM3 + 1, 0);
    outb(COM3 + 4, 0x0b);
    serial_puts("pic-only: start\n");
    init_8259();

    uint16_t cs = idt_begin(isr_default, isr_other);
    set_gate(VEC_IRQ4, isr_uart, cs);
    set_gate(VEC_IRQ11, isr_slave, cs);
    set_gate(0x27, isr_spurious, cs);
    set_gate(0x2f, isr_spurious, cs);
    idt_load();

    /* IRQ 4 and the cascade unmasked; non-specific EOI. */
    outb(0x21, 0xeb);
    outb(COM1 + 1, IER_ETBEI);
    wait_for(&n_irq4, 1);
    quiet();
    outb(COM1 + 1, 0);
    check_eq("IRQ 4 interrupts", n_irq4, 1);
    check_eq("master ISR after the EOI", read_isr(0x20), 0);

    /* Again, with Linux's specific EOI. */
    specific_eoi = 1;
    outb(COM1 + 1, IER_ETBEI);
    wait_for(&n_irq4, 2);
    quiet();
    outb(COM1 + 1, 0);
    check_eq("IRQ 4 interrupts (specific EOI)", n_irq4, 2);
    check_eq("master ISR after the specific EOI", read_isr(0x20), 0);

    /* Held by the IMR: latched in IRR, delivered at the unmask. */
    outb(0x21, 0xfb);
    outb(COM1 + 1, IER_ETBEI);
    quiet();
    check_eq("IRQ 4 interrupts while masked", n_irq4, 2);
    outb(0x20, 0x0a);
    check_eq("master IRR while masked", inb(0x20) & 0x10, 0x10);
    outb(0x21, 0xeb);
    wait_for(&n_irq4, 3);
    quiet();
    outb(COM1 + 1, 0);
    check_eq("IRQ 4 interrupts after the unmask", n_irq4, 3);

    /* The slave: IRQ 11 through the cascade. */
    outb(0xa1, 0xf7);
    outb(COM3 + 1, IER_ETBEI);
    wait_for(&n_irq11, 1);
    quiet();
    outb(COM3 + 1, 0);
    check_eq("IRQ 11 interrupts", n_irq11, 1);
    check_eq("slave ISR after the EOI", read_isr(0xa0), 0);

    /* Both at once: the cascade (IR2) ranks above IR4. */
    n_order = 0;
    outb(COM1 + 1, IER_ETBEI);
    outb(COM3 + 1, IER_ETBEI);
    wait_for(&n_order, 2);
    quiet();
    outb(COM1 + 1, 0);
    outb(COM3 + 1, 0);
    check_eq("interrupts for two requests", n_order, 2);
    check_eq("first of IRQ 4 and 11", order[0], 11);
    check_eq("second of IRQ 4 and 11", order[1], 4);

    check_eq("handlers that found ISR wrong", bad_isr, 0);
    check_eq("spurious IRQ 7/15", n_spurious, 0);
    check_eq("other vectors", n_other, 0);
    serial_puts("pic-only: irq4 ");
    serial_putdec(n_irq4);
    serial_puts(", irq11 ");
    serial_putdec(n_irq11);
    serial_puts("\n");
    if (!failed)
        serial_puts("pic-only: ok\n");
    poweroff();
}

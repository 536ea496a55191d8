/*
 * passintr.c: the host interrupt pass-through guest
 * (tests/vm/cases/pass-intr-uio.sh, docs/passthrough.md). In the IOMMU
 * lab's L1, QEMU's edu device is bound to uio_pci_generic; the case passes
 * the first page of its BAR0 through /dev/mem and its interrupt through
 * the UIO device:
 *   pass loc mem:0xd0000000,0x1000,rwn=BAR0
 *   pass intr ioapic:5=uio:/dev/uioN
 * The guest programs IOAPIC input 5 level-triggered (vector 0x40); its
 * handler reads edu's interrupt status (0x24), acknowledges it (0x64),
 * counts it with its reasons and EOIs the local APIC. Steps, each printing
 * one "passintr: ..." line:
 *   1. nothing arrives while edu has raised nothing;
 *   2. ROUNDS raises (0x60, status bit 0x8 | round << 8): each arrives
 *      once with its own status, and nothing more comes after it (the
 *      host interrupt is re-enabled at the EOI, not before);
 *   3. a factorial with "interrupt when done" (0x20 bit 7): the
 *      factorial-done interrupt (status bit 0) with 6! = 720;
 *   4. nothing more arrives at the end.
 * Ends with "passintr: done" and powers off, or "passintr: FAIL ..." and
 * powers off.
 */
#include "guest.h"
#include "uart_irq.h"

#define EDU    0xd0000000u
#define EDU_ID 0x010000edu
#define LINE   5
#define VEC    0x40
#define ROUNDS 20

void guest_main(uint32_t magic, uint32_t info);
void edu_isr_c(void);
extern char isr_edu[];

__asm__(".text\n"
        ".globl isr_edu\n"
        "isr_edu:\n"
        "    pusha\n"
        "    cld\n"
        "    call edu_isr_c\n"
        "    popa\n" IRET_BY_HAND);

static volatile uint32_t *const edu = (volatile uint32_t *)EDU;
static volatile uint32_t n_irq, last_why, n_empty;

void uart_isr_c(void)
{
}

void edu_isr_c(void)
{
    uint32_t why = edu[0x24 / 4];
    edu[0x64 / 4] = why;
    if (why)
        last_why = why;
    else
        n_empty++; /* an interrupt with no reason: counted as a failure */
    n_irq++;
    mmio_w(LAPIC + 0xb0, 0);
}

static void fail(const char *what, uint32_t v)
{
    guest_fail("passintr", what, v);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    serial_init();

    uint32_t id = edu[0];
    if (id != EDU_ID)
        fail("edu's ID register", id);
    edu[0x20 / 4] = 0;             /* no factorial interrupt yet */
    edu[0x64 / 4] = edu[0x24 / 4]; /* nothing left over */
    uint16_t cs = idt_begin(isr_default, isr_default);
    set_gate(VEC, isr_edu, cs);
    idt_load();
    mmio_w(LAPIC + 0xf0, 0x1ff); /* APIC on */
    ioapic_level(LINE, VEC);

    sti_quiet(500000);
    if (n_irq)
        fail("interrupts before edu raised any", n_irq);
    serial_puts("passintr: ID 0x010000ed, no interrupt before a raise\n");

    for (uint32_t r = 0; r < ROUNDS; r++) {
        uint32_t seen = n_irq, bit = 0x8u | (r & 0xff) << 8;
        edu[0x60 / 4] = bit; /* raise */
        if (!sti_wait_past(&n_irq, seen))
            fail("no interrupt for raise", r);
        if (last_why != bit)
            fail("interrupt status of a raise", last_why);
        sti_quiet(200000);
        if (n_irq != seen + 1)
            fail("more than one interrupt for one raise, interrupts",
                 n_irq - seen);
    }
    serial_puts("passintr: ");
    serial_putdec(ROUNDS);
    serial_puts(" raised, ");
    serial_putdec(n_irq);
    serial_puts(" handled\n");

    uint32_t seen = n_irq;
    last_why = 0;
    edu[0x20 / 4] = 0x80; /* interrupt when a factorial is done */
    edu[0x08 / 4] = 6;
    if (!sti_wait_past(&n_irq, seen))
        fail("no factorial-done interrupt, status", edu[0x24 / 4]);
    if (!(last_why & 1))
        fail("factorial-done interrupt status", last_why);
    if (edu[0x08 / 4] != 720)
        fail("factorial 6!", edu[0x08 / 4]);
    serial_puts("passintr: factorial-done interrupt, 6! = 720\n");

    sti_quiet(500000);
    if (n_irq != seen + 1)
        fail("interrupts after the last one, in all", n_irq);
    if (n_empty)
        fail("interrupts without a reason", n_empty);
    serial_puts("passintr: ");
    serial_putdec(n_irq);
    serial_puts(" interrupts in all, none without a raise\n");
    serial_puts("passintr: done\n");
    poweroff();
    for (;;)
        __asm__ volatile("hlt");
}

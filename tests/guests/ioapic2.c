/*
 * ioapic2.c: the ioapic2 guest (tests/vm/cases/ioapic2.sh). Two IOAPICs at
 * configured addresses (a at 0xf8000000, GSI 0-23; b at 0xf8100000, GSI
 * 24-47), the local APIC enabled, the 8259s masked. Checks the MADT lists
 * both with their GSI bases and IDs, their version registers, then:
 *  - level delivery on a's line 4 (COM1's THR-empty interrupt): remote IRR
 *    set from delivery until the EOI (read in the entry), redelivery after
 *    a local APIC EOI while the UART still asserts, silence once the
 *    handler has read IIR; an asserted level entry delivers on unmask;
 *  - edge delivery on b's line 3 (COM2 at 0x2f8): one interrupt per rising
 *    edge (IIR read drops the line, a THR write raises it), none for an
 *    edge while the entry is masked.
 * Interrupts are taken with sti and waits bounded by a spin count, so a
 * missing interrupt is a FAIL line, not a hang. Prints "ioapic2: ok" and
 * powers off.
 */
#include "acpi_guest.h"
#include "uart_irq.h"

#define IOAPIC_A  0xf8000000u
#define IOAPIC_B  0xf8100000u
#define COM2      0x2f8
#define LEVEL_VEC 0x40
#define EDGE_VEC  0x41
#define A_LINE    4
#define B_LINE    3
#define B_GSI     24

#define RTE_LEVEL  (1u << 15)
#define RTE_RIRR   (1u << 14)
#define RTE_MASKED (1u << 16)
#define IER_ETBEI  0x02

#define SPIN_LIMIT 20000000u /* pauses: well over a second of waiting */
#define SPIN_QUIET 200000u

void guest_main(uint32_t magic, uint32_t info);
void edge_isr_c(void);
void other_isr_c(void);
extern char isr_edge[], isr_other[];

__asm__(".text\n"
        ".globl isr_edge\n"
        "isr_edge:\n"
        "    pusha\n"
        "    cld\n"
        "    call edge_isr_c\n"
        "    popa\n" IRET_BY_HAND ".globl isr_other\n"
        "isr_other:\n"
        "    pusha\n"
        "    cld\n"
        "    call other_isr_c\n"
        "    popa\n" IRET_BY_HAND);

static volatile uint32_t n_level, n_edge, n_other;
static volatile uint32_t level_keep; /* handler runs leaving THRE set */
static volatile uint32_t rirr_seen;  /* bit n: remote IRR in handler n */
static int failed;

static void fail(const char *what)
{
    serial_puts("ioapic2: FAIL: ");
    serial_puts(what);
    serial_puts("\n");
    failed = 1;
}

static void check_eq(const char *what, uint32_t got, uint32_t want)
{
    if (got == want)
        return;
    serial_puts("ioapic2: FAIL: ");
    serial_puts(what);
    serial_puts(": ");
    serial_puthex(got);
    serial_puts(", expected ");
    serial_puthex(want);
    serial_puts("\n");
    failed = 1;
}

static uint32_t io_rd(uint32_t base, uint32_t reg)
{
    wr32(base, reg);
    return rd32(base + 0x10);
}

static void io_wr(uint32_t base, uint32_t reg, uint32_t v)
{
    wr32(base, reg);
    wr32(base + 0x10, v);
}

static void lapic_eoi(void)
{
    wr32(LAPIC + 0xb0, 0);
}

/* The level handler (COM1 on a:4). */
void uart_isr_c(void)
{
    uint32_t lo = io_rd(IOAPIC_A, 0x10 + 2 * A_LINE);
    if (n_level < 32 && (lo & RTE_RIRR))
        rirr_seen |= 1u << n_level;
    n_level++;
    if (level_keep)
        level_keep--;
    else
        (void)inb(COM1 + 2); /* IIR: THR empty read, the line drops */
    lapic_eoi();
}

void edge_isr_c(void)
{
    n_edge++;
    lapic_eoi(); /* the source stays asserted: no new edge */
}

void other_isr_c(void)
{
    n_other++;
    lapic_eoi();
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

static void check_madt(void)
{
    uint32_t madt = find_table("APIC");
    if (!madt) {
        fail("no MADT");
        return;
    }
    uint32_t len = rd32(madt + 4);
    int seen_a = 0, seen_b = 0;
    for (uint32_t o = 44; o + 2 <= len;) {
        const volatile uint8_t *e = (const volatile uint8_t *)(madt + o);
        if (e[1] < 2)
            break;
        if (e[0] == 1 && e[1] >= 12) {
            uint32_t addr = rd32(madt + o + 4), gsi = rd32(madt + o + 8);
            uint32_t id = e[2];
            if (addr == IOAPIC_A) {
                seen_a = 1;
                check_eq("MADT GSI base of ioapic a", gsi, 0);
                check_eq("ID register of ioapic a",
                         io_rd(IOAPIC_A, 0) >> 24 & 0xf, id);
            } else if (addr == IOAPIC_B) {
                seen_b = 1;
                check_eq("MADT GSI base of ioapic b", gsi, B_GSI);
                check_eq("ID register of ioapic b",
                         io_rd(IOAPIC_B, 0) >> 24 & 0xf, id);
            } else {
                fail("MADT lists an IOAPIC at an address not configured");
            }
        }
        o += e[1];
    }
    if (!seen_a || !seen_b)
        fail("MADT does not list both IOAPICs");
}

static void level_tests(void)
{
    uint32_t sel = 0x10 + 2 * A_LINE;
    io_wr(IOAPIC_A, sel + 1, 0); /* physical, APIC ID 0 */
    io_wr(IOAPIC_A, sel, LEVEL_VEC | RTE_LEVEL);
    check_eq("a:4 entry", io_rd(IOAPIC_A, sel), LEVEL_VEC | RTE_LEVEL);

    /* THRE up with the CPU's interrupts off: delivered, remote IRR set. */
    level_keep = 1;
    outb(COM1 + 1, IER_ETBEI);
    check_eq("a:4 remote IRR after delivery", io_rd(IOAPIC_A, sel) & RTE_RIRR,
             RTE_RIRR);
    /* First handler leaves THRE up and EOIs: delivered again; the second
     * reads IIR, then EOIs: remote IRR clear, no more. */
    wait_for(&n_level, 2);
    quiet();
    check_eq("level interrupts (one, one redelivery)", n_level, 2);
    check_eq("remote IRR seen in both handlers", rirr_seen, 3);
    check_eq("a:4 remote IRR after the EOI", io_rd(IOAPIC_A, sel) & RTE_RIRR,
             0);

    /* Masked: the level is held, not delivered; unmasking delivers. */
    io_wr(IOAPIC_A, sel, LEVEL_VEC | RTE_LEVEL | RTE_MASKED);
    outb(COM1 + 1, 0);
    outb(COM1 + 1, IER_ETBEI); /* THRE again */
    quiet();
    check_eq("masked level interrupts", n_level, 2);
    check_eq("a:4 remote IRR while masked", io_rd(IOAPIC_A, sel) & RTE_RIRR, 0);
    io_wr(IOAPIC_A, sel, LEVEL_VEC | RTE_LEVEL);
    wait_for(&n_level, 3);
    quiet();
    check_eq("level interrupts after unmask", n_level, 3);
    check_eq("a:4 remote IRR at the end", io_rd(IOAPIC_A, sel) & RTE_RIRR, 0);
    outb(COM1 + 1, 0);
    io_wr(IOAPIC_A, sel, LEVEL_VEC | RTE_LEVEL | RTE_MASKED);
}

static void edge_tests(void)
{
    uint32_t sel = 0x10 + 2 * B_LINE;
    outb(COM2 + 3, 0x03);
    outb(COM2 + 1, 0);
    outb(COM2 + 4, 0x0b);
    io_wr(IOAPIC_B, sel + 1, 0);
    io_wr(IOAPIC_B, sel, EDGE_VEC);
    check_eq("b:3 entry", io_rd(IOAPIC_B, sel), EDGE_VEC);

    /* THRE up: one edge, one interrupt, though the line stays up. */
    outb(COM2 + 1, IER_ETBEI);
    wait_for(&n_edge, 1);
    quiet();
    check_eq("edge interrupts (first edge)", n_edge, 1);
    check_eq("b:3 remote IRR (edge)", io_rd(IOAPIC_B, sel) & RTE_RIRR, 0);
    /* Down (IIR read), up (THR written): the next edge. */
    (void)inb(COM2 + 2);
    outb(COM2, 'x');
    wait_for(&n_edge, 2);
    quiet();
    check_eq("edge interrupts (second edge)", n_edge, 2);
    /* An edge while masked is dropped, unmasking does not bring it. */
    io_wr(IOAPIC_B, sel, EDGE_VEC | RTE_MASKED);
    (void)inb(COM2 + 2);
    outb(COM2, 'y');
    io_wr(IOAPIC_B, sel, EDGE_VEC);
    quiet();
    check_eq("edge interrupts (masked edge)", n_edge, 2);
    (void)inb(COM2 + 2);
    outb(COM2, 'z');
    wait_for(&n_edge, 3);
    quiet();
    check_eq("edge interrupts (third edge)", n_edge, 3);
    outb(COM2 + 1, 0);
    io_wr(IOAPIC_B, sel, EDGE_VEC | RTE_MASKED);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    outb(0x21, 0xff); /* 8259s masked: everything comes via the IOAPICs */
    outb(0xa1, 0xff);
    com1_init();
    outb(COM1 + 4, 0x0b);
    serial_puts("ioapic2: start\n");

    uint16_t cs = idt_begin(isr_default, isr_other);
    set_gate(LEVEL_VEC, isr_uart, cs);
    set_gate(EDGE_VEC, isr_edge, cs);
    set_gate(0xff, isr_default, cs); /* the APIC's spurious vector */
    idt_load();
    wr32(LAPIC + 0xf0, 0x1ff);     /* SVR: APIC on, spurious vector 0xff */
    wr32(LAPIC + 0x350, 1u << 16); /* LINT0 masked: no 8259 */

    check_madt();
    check_eq("version of ioapic a", io_rd(IOAPIC_A, 1), 0x00170020);
    check_eq("version of ioapic b", io_rd(IOAPIC_B, 1), 0x00170020);
    check_eq("a:4 at reset", io_rd(IOAPIC_A, 0x10 + 2 * A_LINE), RTE_MASKED);
    check_eq("b:3 at reset", io_rd(IOAPIC_B, 0x10 + 2 * B_LINE), RTE_MASKED);

    level_tests();
    edge_tests();
    check_eq("other interrupts", n_other, 0);
    serial_puts("ioapic2: level ");
    serial_putdec(n_level);
    serial_puts(", edge ");
    serial_putdec(n_edge);
    serial_puts("\n");
    if (!failed)
        serial_puts("ioapic2: ok\n");
    poweroff();
}

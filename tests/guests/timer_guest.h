/*
 * timer_guest.h: what the timer guests (pit.c, rtc_irq.c) share on top of
 * uart_irq.h's GDT/IDT scaffolding: an interrupt stub calling the guest's
 * timer_isr_c, an IOAPIC at any address (QNX puts it at 0xf8000000), the
 * local APIC's EOI, and the MC146818 read the way an OS does it (index
 * and data with interrupts off, so a handler reading register C cannot
 * move the index in between; wait for UIP clear).
 */
#ifndef QVM_TIMER_GUEST_H
#define QVM_TIMER_GUEST_H

#include "guest.h"
#include "uart_irq.h"

void timer_isr_c(void);
extern char isr_timer[];
__asm__(".text\n"
        ".globl isr_timer\n"
        "isr_timer:\n"
        "    pusha\n"
        "    cld\n"
        "    call timer_isr_c\n"
        "    popa\n" IRET_BY_HAND);

/* uart_irq.h's UART stub calls this; no UART vector is installed here. */
void uart_isr_c(void);
void uart_isr_c(void)
{
}

static inline void com1_init(void)
{
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 1); /* 115200 baud */
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x03);
}

static inline void cli(void)
{
    __asm__ volatile("cli" ::: "memory");
}

static inline void sti(void)
{
    __asm__ volatile("sti" ::: "memory");
}

/* An interrupt window: sti; nop lets a pending interrupt in. */
static inline void irq_window(void)
{
    __asm__ volatile("sti; nop; cli" ::: "memory");
}

/* GDT, IDT (every vector to isr_default, `vec` to isr_timer), the local
 * APIC on, the 8259s masked: interrupts come through the IOAPIC only. */
static inline void irq_setup(unsigned vec)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    uint16_t cs = idt_begin(isr_default, isr_default);
    set_gate(vec, isr_timer, cs);
    idt_load();
    mmio_w(LAPIC + 0xf0, 0x1ff); /* SVR: APIC on, spurious vector 0xff */
}

static inline void lapic_eoi(void)
{
    mmio_w(LAPIC + 0xb0, 0);
}

/* IOAPIC redirection entry `pin` at `base`: vector, edge, active high,
 * physical destination APIC 0; masked or not. */
static inline void ioapic_route(uint32_t base, unsigned pin, unsigned vec,
                                int masked)
{
    mmio_w(base, 0x11 + 2 * pin);
    mmio_w(base + 0x10, 0);
    mmio_w(base, 0x10 + 2 * pin);
    mmio_w(base + 0x10, vec | (masked ? 1u << 16 : 0));
}

/* One CMOS register, interrupts off around index and data. */
static inline uint8_t cmos_rd(uint8_t idx)
{
    uint32_t fl;
    __asm__ volatile("pushf; pop %0; cli" : "=r"(fl)::"memory");
    outb(0x70, idx);
    uint8_t v = inb(0x71);
    if (fl & 0x200)
        sti();
    return v;
}

static inline void cmos_wr(uint8_t idx, uint8_t v)
{
    uint32_t fl;
    __asm__ volatile("pushf; pop %0; cli" : "=r"(fl)::"memory");
    outb(0x70, idx);
    outb(0x71, v);
    if (fl & 0x200)
        sti();
}

static inline uint32_t bcd2bin(uint8_t v)
{
    return (uint32_t)(v >> 4) * 10 + (v & 15);
}

/* Seconds since midnight from the RTC (24h BCD, the configs' default). */
static inline uint32_t rtc_daysecs(void)
{
    for (;;) {
        while (cmos_rd(0x0a) & 0x80) /* update in progress */
            ;
        uint8_t s = cmos_rd(0), m = cmos_rd(2), h = cmos_rd(4);
        if (cmos_rd(0) == s)
            return bcd2bin(h) * 3600 + bcd2bin(m) * 60 + bcd2bin(s);
    }
}

/* RTC seconds from `from` to `to`, across midnight. */
static inline uint32_t secs_between(uint32_t from, uint32_t to)
{
    return (to + 86400 - from) % 86400;
}

/* Wait for the RTC's seconds to change: the start of a second. */
static inline uint32_t rtc_next_second(void)
{
    uint32_t s0 = rtc_daysecs(), s;
    while ((s = rtc_daysecs()) == s0)
        ;
    return s;
}

/* say: a, the decimal n, b on COM1. */
static inline void say(const char *a, uint32_t n, const char *b)
{
    serial_puts(a);
    serial_putdec(n);
    serial_puts(b);
}

#endif

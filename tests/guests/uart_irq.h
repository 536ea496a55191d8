/*
 * uart_irq.h: interrupt scaffolding for the UART guests (uart.c,
 * uartirq.c): a flat GDT (multiboot leaves none), an IDT with the entry
 * stub isr_uart (calls the guest's uart_isr_c) and isr_default, and
 * IOAPIC/LAPIC register writes.
 *
 * KVM's instruction emulator (all ring-0 code runs through it on kvm_pvm
 * hosts) cannot do a protected-mode iret, so the stubs return by hand: the
 * frame EIP, CS, EFLAGS (same privilege) becomes EFLAGS, EIP for popf;
 * ret, leaving ESP where iret would.
 */
#ifndef QVM_GUEST_UART_IRQ_H
#define QVM_GUEST_UART_IRQ_H

#include <stdint.h>

#include "guest.h"

#define IOAPIC    0xfec00000u
#define LAPIC     0xfee00000u
#define UART_VEC  0x24
#define UART_LINE 4

void uart_isr_c(void);
extern char isr_uart[], isr_default[];

#define IRET_BY_HAND                                                           \
    "    push %eax\n"                                                          \
    "    mov 4(%esp), %eax\n"                                                  \
    "    xchg %eax, 12(%esp)\n"                                                \
    "    mov %eax, 8(%esp)\n"                                                  \
    "    pop %eax\n"                                                           \
    "    add $4, %esp\n"                                                       \
    "    popf\n"                                                               \
    "    ret\n"
__asm__(".text\n"
        ".globl isr_uart\n"
        "isr_uart:\n"
        "    pusha\n"
        "    cld\n"
        "    call uart_isr_c\n"
        "    popa\n" IRET_BY_HAND ".globl isr_default\n"
        "isr_default:\n" IRET_BY_HAND);

static uint64_t idt[256];
static inline void set_gate(unsigned vec, void *fn, uint16_t cs)
{
    idt[vec] = idt_gate(fn, cs);
}

/* idt_begin: load the GDT and point every IDT gate at `low` (vectors
 * below 0x20) or `high` (the rest); returns CS for more set_gate calls.
 * idt_load: then load the IDT. */
static inline uint16_t idt_begin(void *low, void *high)
{
    gdt_load();
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, v < 0x20 ? low : high, cs);
    return cs;
}

static inline void idt_load(void)
{
    idt_set(idt, sizeof(idt));
}

/* sti_wait: interrupts on until *v reaches want or `spins` pauses pass,
 * then off. sti_quiet: interrupts on for `spins` pauses (anything pending
 * is taken), then off. */
static inline void sti_wait(volatile uint32_t *v, uint32_t want, uint32_t spins)
{
    __asm__ volatile("sti" ::: "memory");
    for (uint32_t i = 0; i < spins && *v < want; i++)
        __asm__ volatile("pause" ::: "memory");
    __asm__ volatile("cli" ::: "memory");
}

static inline void sti_quiet(uint32_t spins)
{
    __asm__ volatile("sti" ::: "memory");
    for (uint32_t i = 0; i < spins; i++)
        __asm__ volatile("pause" ::: "memory");
    __asm__ volatile("cli" ::: "memory");
}

/* sti_wait_past: interrupts on until the count *n passes `seen`
 * (bounded: the case's timeout is the real limit); whether it did. */
static inline int sti_wait_past(volatile uint32_t *n, uint32_t seen)
{
    for (uint32_t i = 0; i < 100000 && *n == seen; i++)
        sti_wait(n, seen + 1, 100000);
    return *n != seen;
}

static inline void mmio_w(uint32_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}

static inline void ioapic_w(uint32_t reg, uint32_t v)
{
    mmio_w(IOAPIC, reg);
    mmio_w(IOAPIC + 0x10, v);
}

/* ioapic_level: IOAPIC input `line` to `vec` on the boot CPU,
 * level-triggered, active high, unmasked. */
static inline void ioapic_level(unsigned line, unsigned vec)
{
    ioapic_w(0x11 + 2 * line, 0);
    ioapic_w(0x10 + 2 * line, vec | 1u << 15);
}

#endif

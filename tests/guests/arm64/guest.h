/*
 * guest.h: what the freestanding aarch64 guests share: the PL011 at QNX's
 * default place (0x1c090000, FVP UART0) and PSCI 0.2 calls through HVC.
 */
#ifndef QVM_GUEST_ARM64_H
#define QVM_GUEST_ARM64_H

#include <stdint.h>

#define PL011_BASE 0x1c090000ul
#define PL011_DR   0x00
#define PL011_FR   0x18
#define FR_TXFF    (1u << 5)

#define PSCI_VERSION      0x84000000u
#define PSCI_SYSTEM_OFF   0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u

static inline uint64_t cntvct(void)
{
    uint64_t v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}

static inline uint64_t cntfrq(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
    return v;
}

/* Busy-waits ms milliseconds of the virtual counter. */
static inline void delay_ms(uint64_t ms)
{
    uint64_t end = cntvct() + cntfrq() * ms / 1000;
    while (cntvct() < end)
        ;
}

/* MMIO with plain LDR/STR: an access KVM can decode (a load or store with
 * writeback, which the compiler may pick in a loop, has no valid syndrome
 * and KVM refuses it). */
static inline uint32_t rd32(uintptr_t a)
{
    uint32_t v;
    __asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}

static inline void wr32(uintptr_t a, uint32_t v)
{
    __asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}

static inline uint64_t rd64(uintptr_t a)
{
    uint64_t v;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
    return v;
}

static inline void wr64(uintptr_t a, uint64_t v)
{
    __asm__ volatile("str %0, [%1]" : : "r"(v), "r"(a) : "memory");
}

static inline uint32_t mmio_r32(uintptr_t a)
{
    return *(volatile uint32_t *)a;
}

static inline void putc_(char c)
{
    while (mmio_r32(PL011_BASE + PL011_FR) & FR_TXFF)
        ;
    wr32(PL011_BASE + PL011_DR, (uint8_t)c);
}

static inline void puts_(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            putc_('\r');
        putc_(*s);
    }
}

static inline void puthex(uint64_t v)
{
    puts_("0x");
    for (int i = 60; i >= 0; i -= 4)
        putc_("0123456789abcdef"[(v >> i) & 0xf]);
}

/* An SMCCC call through HVC #0: x0 = function, x1-x3 = arguments. */
static inline uint64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2,
                                 uint64_t a3)
{
    register uint64_t x0 __asm__("x0") = fn;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;
    __asm__ volatile("hvc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                     :
                     : "memory");
    return x0;
}

/* report_exception: for vectors.S/irqvec.S's exception(): says where
 * ("WHAT exception at vector OFF esr ... far ... elr ...") and powers off
 * (PSCI SYSTEM_OFF), so that a case sees the line, never a hang. */
static inline void report_exception(const char *what, uint64_t esr,
                                    uint64_t far, uint64_t elr, uint64_t off)
{
    puts_(what);
    puts_(" exception at vector ");
    puthex(off);
    puts_(" esr ");
    puthex(esr);
    puts_(" far ");
    puthex(far);
    puts_(" elr ");
    puthex(elr);
    puts_("\n");
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

#endif

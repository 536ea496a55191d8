/*
 * guest.h: the few primitives test guests use: port I/O, a polled COM1
 * (16550 at 0x3f8), and qvm's ACPI PM1a power-off port (0x604,
 * docs/exit-codes.md). Integer instructions, port I/O and hlt only: the
 * KVM on the project's hosts emulates ring-0 code.
 */
#ifndef QVM_GUEST_H
#define QVM_GUEST_H

#include <stdint.h>

#define COM1       0x3f8
#define PM1A_CNT   0x604
#define SLP_EN     (1u << 13)
#define SLP_TYP_S5 (5u << 10)

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void serial_putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20)) /* LSR.THRE */
        ;
    outb(COM1, (uint8_t)c);
}

static inline void serial_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            serial_putc('\r');
        serial_putc(*s);
    }
}

static inline void serial_puthex(uint32_t v)
{
    serial_puts("0x");
    for (int i = 28; i >= 0; i -= 4)
        serial_putc("0123456789abcdef"[(v >> i) & 15]);
}

static inline void serial_putdec(uint32_t v)
{
    char b[11];
    int n = 0;
    do {
        b[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        serial_putc(b[--n]);
}

static inline void poweroff(void)
{
    outw(PM1A_CNT, SLP_EN | SLP_TYP_S5);
}

#endif

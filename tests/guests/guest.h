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

#ifndef __x86_64__
/* flat_gdt: flat 32-bit code at 0x10 and data at 0x18, the selectors the
 * multiboot entry leaves; one table per guest, which ap_start.h's real-mode
 * trampoline also loads (by name, hence `used`). */
static const uint64_t flat_gdt[4] __attribute__((used, aligned(8))) = {
    0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull};

/* gdt_load: load flat_gdt and reload CS, DS, ES and SS from it (a guest
 * that takes interrupts or exceptions must not depend on the loader's GDT,
 * which lives in memory the guest owns). */
static inline void gdt_load(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } gdtr = {sizeof(flat_gdt) - 1, (uint32_t)flat_gdt};
    __asm__ volatile("lgdt %0\n"
                     "ljmp $0x10, $1f\n"
                     "1: mov $0x18, %%eax\n"
                     "mov %%eax, %%ds\n"
                     "mov %%eax, %%es\n"
                     "mov %%eax, %%ss\n"
                     :
                     : "m"(gdtr)
                     : "eax", "memory");
}

/* idt_gate: a 32-bit interrupt gate (present, ring 0) to `fn` through
 * code selector `cs`. */
static inline uint64_t idt_gate(const void *fn, uint16_t cs)
{
    uint32_t o = (uint32_t)fn;
    return (uint64_t)((o & 0xffff) | (uint32_t)cs << 16) |
           (uint64_t)((o & 0xffff0000u) | 0x8e00u) << 32;
}

/* idt_set: load the IDT `t` of `size` bytes. */
static inline void idt_set(const uint64_t *t, uint16_t size)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } idtr = {(uint16_t)(size - 1), (uint32_t)t};
    __asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}
#endif

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* PCI configuration mechanism #1, bus 0, function 0 of device `dev`. */
static inline uint32_t pci_cfg_r(unsigned dev, unsigned reg)
{
    outl(0xcf8, 0x80000000u | dev << 11 | reg);
    return inl(0xcfc);
}

static inline void pci_cfg_w(unsigned dev, unsigned reg, uint32_t v)
{
    outl(0xcf8, 0x80000000u | dev << 11 | reg);
    outl(0xcfc, v);
}

/* serial_init: COM1 at 115200 baud (divisor 1), 8N1, no interrupts. */
static inline void serial_init(void)
{
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 1);
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x03);
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

/* "NAME: FAIL WHAT 0xV", then power off (qvm exits 0: the case checks the
 * line); never returns. */
static inline __attribute__((noreturn)) void
guest_fail(const char *name, const char *what, uint32_t v)
{
    serial_puts(name);
    serial_puts(": FAIL ");
    serial_puts(what);
    serial_puts(" ");
    serial_puthex(v);
    serial_puts("\n");
    poweroff();
    for (;;)
        __asm__ volatile("cli; hlt");
}

#endif

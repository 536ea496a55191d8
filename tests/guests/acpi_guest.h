/*
 * acpi_guest.h: what the ACPI/SMP test guests need to read qvm's firmware
 * tables the way an OS does: find the RSDP by scanning 0xe0000-0xfffff on
 * 16-byte boundaries, check checksums, walk the XSDT, and a few more port
 * and MMIO accessors. 32-bit guests: table addresses are below 4 GiB.
 */
#ifndef QVM_ACPI_GUEST_H
#define QVM_ACPI_GUEST_H

#include "guest.h"

static inline uint32_t rd32(uint32_t addr)
{
    return *(const volatile uint32_t *)addr;
}

static inline void wr32(uint32_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

static inline int mem_eq(const void *a, const char *b, unsigned n)
{
    const volatile char *p = a;
    for (unsigned i = 0; i < n; i++)
        if (p[i] != b[i])
            return 0;
    return 1;
}

static inline uint8_t sum8(uint32_t addr, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + *(const volatile uint8_t *)(addr + i));
    return s;
}

static inline void com1_init(void)
{
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 1);
    outb(COM1 + 1, 0);
    outb(COM1 + 3, 0x03);
}

/* A few microseconds: one exit through the POST port. */
static inline void io_delay(void)
{
    (void)inb(0x80);
}

/* find_rsdp: the RSDP with both checksums right, or 0. */
static inline uint32_t find_rsdp(void)
{
    for (uint32_t a = 0xe0000; a < 0x100000; a += 16)
        if (mem_eq((const void *)a, "RSD PTR ", 8) && sum8(a, 20) == 0 &&
            sum8(a, 36) == 0)
            return a;
    return 0;
}

/* find_table: the XSDT entry with signature sig (checksum right), or 0. */
static inline uint32_t find_table(const char *sig)
{
    uint32_t rsdp = find_rsdp();
    if (!rsdp || *(const volatile uint8_t *)(rsdp + 15) < 2)
        return 0;
    uint32_t x = rd32(rsdp + 24);
    if (!mem_eq((const void *)x, "XSDT", 4) || sum8(x, rd32(x + 4)))
        return 0;
    for (uint32_t o = 36; o + 8 <= rd32(x + 4); o += 8) {
        uint32_t t = rd32(x + o);
        if (mem_eq((const void *)t, sig, 4) && sum8(t, rd32(t + 4)) == 0)
            return t;
    }
    return 0;
}

/* FADT fields (ACPI 6 5.2.9). */
#define FADT_DSDT        40
#define FADT_PM1A_EVT    56
#define FADT_PM1A_CNT    64
#define FADT_PM1_EVT_LEN 88
#define FADT_FLAGS       112
#define FADT_RESET_REG   116
#define FADT_RESET_VAL   128
#define PWRBTN           (1u << 8)

/* s5_typ: SLP_TYPa of \_S5 in the DSDT (Name(_S5_, Package(){a, ...})),
 * or 5 when it cannot be read. */
static inline uint32_t s5_typ(uint32_t fadt)
{
    uint32_t d = rd32(fadt + FADT_DSDT);
    if (!d || !mem_eq((const void *)d, "DSDT", 4))
        return 5;
    uint32_t len = rd32(d + 4);
    for (uint32_t o = 36; o + 8 < len; o++) {
        const volatile uint8_t *p = (const volatile uint8_t *)(d + o);
        if (!mem_eq((const void *)p, "_S5_", 4) || p[4] != 0x12)
            continue;
        unsigned pl = 1 + (p[5] >> 6);              /* PkgLength bytes */
        const volatile uint8_t *e = p + 5 + pl + 1; /* after NumElements */
        if (e[0] == 0x0a)
            return e[1];
        if (e[0] <= 1)
            return e[0];
    }
    return 5;
}

#endif

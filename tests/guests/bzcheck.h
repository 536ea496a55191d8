/*
 * bzcheck.h: checks shared by the bzImage and PVH test guests: the memory
 * map against tests/vm/configs/{bzimage,pvh}.qvmconf (ram 0,0xa0000;
 * reserve 0xa0000,0x20000; rom 0xc0000,0x40000; ram 1m,63m; qvm's own
 * reserved ranges may be carved out of low RAM), the command line and the
 * initrd (tests/guests/bzinitrd.txt). Results go to COM1.
 */
#ifndef QVM_BZCHECK_H
#define QVM_BZCHECK_H

#include "guest.h"

#define EXPECT_CMDLINE "console=ttyS0 bztest=1 qvm"
#define RD_BEGIN       "QVM-INITRD-BEGIN\n"
#define RD_END         "QVM-INITRD-END\n"

static int failures;

static inline uint32_t rd32(const volatile void *p)
{
    const volatile unsigned char *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static inline uint64_t rd64(const volatile void *p)
{
    const volatile unsigned char *b = p;
    return (uint64_t)rd32(b) | (uint64_t)rd32(b + 4) << 32;
}

static inline void check(int ok, const char *what)
{
    serial_puts(ok ? "ok: " : "FAIL: ");
    serial_puts(what);
    serial_puts("\n");
    if (!ok)
        failures++;
}

static inline void puthex64(uint64_t v)
{
    if (v >> 32) {
        serial_puthex((uint32_t)(v >> 32));
        serial_puts("_");
    }
    serial_puthex((uint32_t)v);
}

static inline int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static inline int mem_eq(const char *a, const char *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/*
 * The memory map: `n` entries of `stride` bytes, {u64 addr, u64 size,
 * u32 type}. Sorted, non-overlapping; RAM from 0; [1 MiB, 64 MiB) one RAM
 * entry; [0xa0000, 0x100000) reserved; `rsv` (if non-zero) reserved.
 */
static inline void check_memmap(const unsigned char *m, uint32_t n,
                                uint32_t stride, uint64_t rsv)
{
    int sorted = 1, low = 0, high = 0, hole = 0, rsv_ok = rsv == 0;
    uint64_t prev_end = 0;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *e = m + i * stride;
        uint64_t a = rd64(e), s = rd64(e + 8);
        uint32_t t = rd32(e + 16);
        serial_puts("  map ");
        puthex64(a);
        serial_puts(" +");
        puthex64(s);
        serial_puts(" type ");
        serial_putdec(t);
        serial_puts("\n");
        if (i && a < prev_end)
            sorted = 0;
        prev_end = a + s;
        if (a == 0 && t == 1 && s >= 0x8000)
            low = 1;
        if (a == 0x100000 && s == 63u << 20 && t == 1)
            high = 1;
        if (t == 2 && a <= 0xa0000 && a + s >= 0x100000)
            hole = 1;
        if (t == 2 && a <= rsv && a + s > rsv)
            rsv_ok = 1;
    }
    check(sorted, "memory map sorted, no overlaps");
    check(low, "memory map: RAM from 0");
    check(high, "memory map: RAM [1 MiB, 64 MiB) in one entry");
    check(hole, "memory map: [0xa0000, 0x100000) reserved");
    check(rsv_ok, "memory map: qvm's page tables reserved");
}

static inline void check_initrd(const char *rd, uint64_t size)
{
    serial_puts("initrd at ");
    puthex64((uint64_t)(uintptr_t)rd);
    serial_puts(" size ");
    serial_putdec((uint32_t)size);
    serial_puts("\n");
    check(((uintptr_t)rd & 0xfff) == 0, "initrd page-aligned");
    check(size > sizeof(RD_BEGIN) + sizeof(RD_END) &&
              mem_eq(rd, RD_BEGIN, sizeof(RD_BEGIN) - 1) &&
              mem_eq(rd + size - (sizeof(RD_END) - 1), RD_END,
                     sizeof(RD_END) - 1),
          "initrd contents (begin and end markers)");
}

static inline void check_cmdline(const char *cl)
{
    serial_puts("cmdline: ");
    serial_puts(cl ? cl : "(null)");
    serial_puts("\n");
    check(cl && str_eq(cl, EXPECT_CMDLINE), "command line");
}

#endif

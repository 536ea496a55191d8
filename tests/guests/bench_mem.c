/*
 * bench_mem.c: the guest-memory benchmark guest (bench/README.md, "Guest
 * memory on huge pages"). Touches every 4 KiB page of a 200 MiB span at
 * 16 MiB (so that first-touch faults are not measured), prints "@S" on
 * COM1, then makes BENCH_STEPS read-modify-writes at pseudo-random word
 * addresses in the span (a random walk: each step a likely TLB miss, the
 * cost of a miss depends on the page size behind guest memory), prints
 * "@E" with a checksum and powers off as bench_boot.c does. Needs 256 MiB
 * of guest RAM (bench/measure.sh's MEM_MIB). Flat 32-bit, no paging: the
 * guest's addresses are guest-physical, only the host side's mapping
 * (KVM's NPT/EPT over qvm's or QEMU's memory) changes.
 */
#include "guest.h"

#define MiB         (1u << 20)
#define SPAN_BASE   (16u * MiB)
#define SPAN_SIZE   (200u * MiB)
#define SPAN_WORDS  (SPAN_SIZE / 4u)
#define BENCH_STEPS 4000000u
#define DEBUG_EXIT  0xf4

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    volatile uint32_t *m = (volatile uint32_t *)SPAN_BASE;
    for (uint32_t w = 0; w < SPAN_WORDS; w += 1024)
        m[w] = w;
    serial_puts("@S\n");
    uint32_t x = 12345, sum = 0;
    for (uint32_t i = 0; i < BENCH_STEPS; i++) {
        x = x * 1664525u + 1013904223u;
        uint32_t w = x % SPAN_WORDS;
        uint32_t v = m[w] + i;
        m[w] = v;
        sum += v;
    }
    serial_puts("@E ");
    serial_puthex(sum);
    serial_puts("\n");
    outw(PM1A_CNT, SLP_EN);
    outb(DEBUG_EXIT, 0);
}

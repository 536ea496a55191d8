/*
 * bench_exits.c: the per-exit benchmark guest (bench/README.md). Prints
 * "@S" on COM1, then makes BENCH_EXITS one-byte writes to the POST port 0x80
 * (a sink device in qvm and in QEMU), prints "@E" and powers off as
 * bench_boot.c does. The time between the two markers, divided by
 * BENCH_EXITS, is the cost of one port-I/O exit round trip.
 */
#include "guest.h"

#define BENCH_EXITS 100000
#define UNROLL      10 /* writes per loop turn: few loop instructions */
#define DEBUG_EXIT  0xf4
#define POST_PORT   0x80

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_puts("@S\n");
    for (int i = 0; i < BENCH_EXITS / UNROLL; i++) {
        outb(POST_PORT, 0);
        outb(POST_PORT, 1);
        outb(POST_PORT, 2);
        outb(POST_PORT, 3);
        outb(POST_PORT, 4);
        outb(POST_PORT, 5);
        outb(POST_PORT, 6);
        outb(POST_PORT, 7);
        outb(POST_PORT, 8);
        outb(POST_PORT, 9);
    }
    serial_puts("@E\n");
    outw(PM1A_CNT, SLP_EN);
    outb(DEBUG_EXIT, 0);
}

/*
 * bench_boot.c: the start-up benchmark guest (bench/README.md). Writes one
 * short line on COM1 ("@U") as its very first action, then powers off at
 * once, so that a run measures the VMM's start-up and tear-down and touches
 * almost no guest memory. Power-off is the PM1a control port 0x604 with SLP_TYP
 * 0 (qvm and QEMU q35), then port 0xf4 (QEMU's isa-debug-exit, for microvm and
 * pc, where 0x604 is not the PM block).
 */
#include "guest.h"

#define DEBUG_EXIT 0xf4

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_puts("@U\n");
    outw(PM1A_CNT, SLP_EN);
    outb(DEBUG_EXIT, 0);
}

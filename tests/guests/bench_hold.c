/*
 * bench_hold.c: the density benchmark's guest (bench/density.sh,
 * bench/README.md "Density"): bench_boot's first action, its "@U" line on
 * COM1, then held at hlt with interrupts off instead of powering off, so
 * that the VMM sits idle with what a started guest costs until it is
 * killed. The loop only matters for an NMI.
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_puts("@U\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}

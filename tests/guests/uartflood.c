/*
 * uartflood.c: the uartflood guest (tests/vm/cases/hostdev-flood.sh).
 * Writes 192 KiB to COM1's THR as fast as it can (never waiting: THRE is
 * always set), then a marker line, and powers off. qvm must neither block
 * the vCPU nor grow without bound when the sink does not read: it drops
 * what does not fit its output buffer and says how much.
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_init();
    for (uint32_t i = 0; i < 192u * 1024; i++)
        outb(COM1, (i & 63) == 63 ? '\n' : 'x');
    serial_puts("flood: done\n");
    poweroff();
}

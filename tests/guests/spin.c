/*
 * spin.c: prints its time-stamp counter (`set counter-offset`), then a
 * banner, then halts forever with interrupts disabled.
 * The vCPU blocks inside KVM; qvm must still answer signals: SIGUSR1
 * (status), SIGQUIT/SIGTERM (power cut, exit 3).
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    serial_puts("spin: tsc ");
    serial_puthex(hi);
    serial_puts(" ");
    serial_puthex(lo);
    serial_puts("\n");
    serial_puts("spin: halting forever\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}

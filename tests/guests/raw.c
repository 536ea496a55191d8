/*
 * raw.c: the raw guest. Entered at its first byte (raw.S) with no boot
 * information; it reports its code segment (CS) and where it runs,
 * prints a banner on COM1 and powers off.
 */
#include "guest.h"

void raw_main(void);
void _start(void);

void raw_main(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    serial_init();
    serial_puts("Hello from the raw qvm guest\n");
    serial_puts("entry ");
    serial_puthex((uint32_t)(uintptr_t)_start);
    serial_puts(" cs ");
    serial_puthex(cs);
    serial_puts("\n");
    serial_puts("powering off\n");
    poweroff();
    serial_puts("still running after power-off: FAIL\n");
}

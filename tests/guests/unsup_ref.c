/*
 * unsup_ref.c: reads an I/O port nothing decodes (0x5a5). With
 * `unsupported reference abort` qvm ends with status 5; with the default
 * (ignore) the read returns all ones and the guest powers off.
 */
#include "acpi_guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    serial_puts("unsup-ref: reading unmapped port 0x5a5\n");
    uint8_t v = inb(0x5a5);
    serial_puts("unsup-ref: read ");
    serial_puthex(v);
    serial_puts(", still running\n");
    poweroff();
}

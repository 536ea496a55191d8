/*
 * hello.c: the hello guest. Prints a banner, what the multiboot loader
 * passed (magic, memory sizes, command line, boot loader name) on COM1,
 * then powers off through qvm's ACPI PM1a control port.
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    /* 8N1 at 115200: LCR.DLAB, divisor 1, LCR 3. */
    serial_init();
    serial_puts("Hello from the qvm guest\n");
    serial_puts("multiboot magic ");
    serial_puthex(magic);
    serial_puts(magic == 0x2BADB002u ? " (ok)\n" : " (BAD)\n");
    if (magic == 0x2BADB002u) {
        const volatile uint32_t *mbi = (const volatile uint32_t *)info;
        uint32_t flags = mbi[0];
        if (flags & 1) {
            serial_puts("mem_lower ");
            serial_putdec(mbi[1]);
            serial_puts(" KiB, mem_upper ");
            serial_putdec(mbi[2]);
            serial_puts(" KiB\n");
        }
        if (flags & (1u << 2)) {
            serial_puts("cmdline: ");
            serial_puts((const char *)mbi[4]);
            serial_puts("\n");
        }
        if (flags & (1u << 9)) {
            serial_puts("boot loader: ");
            serial_puts((const char *)mbi[16]);
            serial_puts("\n");
        }
    }
    serial_puts("powering off\n");
    poweroff();
    serial_puts("still running after power-off: FAIL\n");
}

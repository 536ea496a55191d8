/*
 * powerbutton_ignore.c: enables the ACPI power button (PWRBTN_EN) like an
 * ACPI OS, then never looks at it: halts forever with interrupts off. qvm
 * must end it with a second SIGTERM or at the end of the grace period
 * (exit 3, power cut).
 */
#include "acpi_guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    uint32_t fadt = find_table("FACP");
    if (!fadt) {
        serial_puts("powerbutton-ignore: no FADT: FAIL\n");
        return;
    }
    uint16_t evt = (uint16_t)rd32(fadt + FADT_PM1A_EVT);
    outw((uint16_t)(evt + 2), PWRBTN);
    serial_puts("powerbutton-ignore: PWRBTN_EN set, ignoring it\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}

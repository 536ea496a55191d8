/*
 * acpi_poweroff.c: powers off the way an ACPI OS does: RSDP -> XSDT ->
 * FADT, SLP_TYPa from the DSDT's \_S5 package, then SLP_TYP | SLP_EN to
 * the PM1a_CNT_BLK port the FADT names. qvm exits 0, "guest powered off".
 */
#include "acpi_guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    uint32_t fadt = find_table("FACP");
    if (!fadt) {
        serial_puts("acpi-poweroff: no FADT: FAIL\n");
        return;
    }
    uint16_t cnt = (uint16_t)rd32(fadt + FADT_PM1A_CNT);
    uint32_t typ = s5_typ(fadt);
    serial_puts("acpi-poweroff: PM1a_CNT ");
    serial_puthex(cnt);
    serial_puts(", _S5 SLP_TYP ");
    serial_putdec(typ);
    serial_puts("\n");
    outw(cnt, (uint16_t)(SLP_EN | typ << 10));
    serial_puts("still running after power-off: FAIL\n");
}

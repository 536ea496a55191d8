/*
 * acpi_reset.c: resets the way an ACPI OS does: the FADT's RESET_REG
 * (RESET_REG_SUP set, an I/O port) gets RESET_VALUE. qvm exits 0 saying
 * "guest reset".
 */
#include "acpi_guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    uint32_t fadt = find_table("FACP");
    if (!fadt || !(rd32(fadt + FADT_FLAGS) & (1u << 10))) {
        serial_puts("acpi-reset: no FADT reset register: FAIL\n");
        return;
    }
    const volatile uint8_t *gas =
        (const volatile uint8_t *)(fadt + FADT_RESET_REG);
    uint8_t val = *(const volatile uint8_t *)(fadt + FADT_RESET_VAL);
    uint16_t port = (uint16_t)rd32(fadt + FADT_RESET_REG + 4);
    if (gas[0] != 1) {
        serial_puts("acpi-reset: reset register not in I/O space: FAIL\n");
        return;
    }
    serial_puts("acpi-reset: writing ");
    serial_puthex(val);
    serial_puts(" to port ");
    serial_puthex(port);
    serial_puts("\n");
    outb(port, val);
    serial_puts("still running after reset: FAIL\n");
}

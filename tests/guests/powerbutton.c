/*
 * powerbutton.c: an ACPI OS's power button in miniature. Sets PWRBTN_EN
 * in PM1_EN (PM1a_EVT_BLK + PM1_EVT_LEN / 2, from the FADT), then polls
 * PM1_STS for PWRBTN_STS. When qvm presses the button (SIGTERM), prints
 * "power button", clears the status (write 1) and powers off with _S5.
 */
#include "acpi_guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    uint32_t fadt = find_table("FACP");
    if (!fadt) {
        serial_puts("powerbutton: no FADT: FAIL\n");
        return;
    }
    uint16_t sts = (uint16_t)rd32(fadt + FADT_PM1A_EVT);
    uint16_t en =
        (uint16_t)(sts +
                   *(const volatile uint8_t *)(fadt + FADT_PM1_EVT_LEN) / 2);
    uint16_t cnt = (uint16_t)rd32(fadt + FADT_PM1A_CNT);
    outw(sts, PWRBTN); /* clear a stale press */
    outw(en, PWRBTN);
    serial_puts("powerbutton: PWRBTN_EN set, waiting\n");
    while (!(inw(sts) & PWRBTN))
        for (int i = 0; i < 100; i++)
            io_delay();
    serial_puts("power button\n");
    outw(sts, PWRBTN);
    if (inw(sts) & PWRBTN)
        serial_puts("powerbutton: PWRBTN_STS did not clear: FAIL\n");
    outw(cnt, (uint16_t)(SLP_EN | s5_typ(fadt) << 10));
    serial_puts("still running after power-off: FAIL\n");
}

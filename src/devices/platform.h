/*
 * platform.h: the x86 platform's ACPI power-management block as the VM core
 * sees it (devices/platform.c). The PM1a event block is at PM1A_EVT_PORT
 * (PM1_STS at +0, PM1_EN at +2, 16 bits each), the control register at
 * PM1A_CNT_PORT (device.h), the 32-bit ACPI PM timer (3.579545 MHz, free
 * running from VM start) at PM_TMR_PORT; the SCI is ISA IRQ 9, level,
 * active high.
 */
#ifndef QVM_DEVICES_PLATFORM_H
#define QVM_DEVICES_PLATFORM_H

#include <stdbool.h>

#define PM1A_EVT_PORT 0x600
#define PM_TMR_PORT   0x608
#define PM_TMR_HZ     3579545ull
#define PM1_PWRBTN    (1u << 8) /* PWRBTN_STS / PWRBTN_EN */
#define PM_SCI_GSI    9u
#define PM_DEV_NAME   "acpi-pm" /* dev_inst name of the PM block */

/*
 * pm_power_button: press the power button: set PWRBTN_STS and raise the
 * SCI while the guest has PWRBTN_EN set. Returns whether the guest had
 * enabled the button (an ACPI OS listens). `state` is the dev_inst state
 * of PM_DEV_NAME. Context: any thread.
 */
bool pm_power_button(void *state);

#endif

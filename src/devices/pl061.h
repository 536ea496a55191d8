/*
 * pl061.h: ARM's PL061 GPIO controller (PrimeCell, ARM DDI 0190), the
 * register model, pure; and qvm's aarch64 power button on it
 * (devices/pl061.c), as QEMU's virt machine has it: a `gpio-keys` node
 * with KEY_POWER on pin PL061_PWR_PIN, which Linux's gpio-pl061 and
 * gpio-keys drivers turn into a power key event (systemd-logind, acpid or
 * a busybox `poweroff` hook then shut down). SIGTERM presses it.
 *
 * Registers (8 pins, 32-bit accesses, 4 KiB window):
 * - 0x000-0x3fc GPIODATA: address bits 9:2 mask the pins read or written;
 *   a write changes only output pins (GPIODIR set);
 * - 0x400 GPIODIR (1: output), 0x404 GPIOIS (1: level), 0x408 GPIOIBE
 *   (both edges), 0x40c GPIOIEV (1: rising edge / high level), 0x410
 *   GPIOIE (mask), 0x414 GPIORIS, 0x418 GPIOMIS (read-only), 0x41c GPIOIC
 *   (write 1 clears an edge), 0x420 GPIOAFSEL (kept, no effect);
 * - 0xfe0-0xffc: the PrimeCell IDs (peripheral 0x00041061, cell
 *   0xb105f00d).
 * The interrupt output is high while GPIOMIS is not 0.
 *
 * Context: not thread-safe; the glue serializes.
 */
#ifndef QVM_DEVICES_PL061_H
#define QVM_DEVICES_PL061_H

#include <stdbool.h>
#include <stdint.h>

#define PL061_SIZE      0x1000u
#define PL061_DIR       0x400u
#define PL061_IS        0x404u
#define PL061_IBE       0x408u
#define PL061_IEV       0x40cu
#define PL061_IE        0x410u
#define PL061_RIS       0x414u
#define PL061_MIS       0x418u
#define PL061_IC        0x41cu
#define PL061_AFSEL     0x420u
#define PL061_PERIPH_ID 0x00041061u
#define PL061_CELL_ID   0xb105f00du

/* qvm's aarch64 power button: where, which pin, which interrupt. */
#define PL061_PWR_BASE  0x1c1f0000ull
#define PL061_PWR_PIN   3u
#define PL061_PWR_INTID 63u          /* SPI 31: below 64, every vGIC has it */
#define PL061_DEV_NAME  "gpio-power" /* dev_inst name (vm.c finds it) */
#define KEY_POWER_CODE  116u         /* Linux's KEY_POWER */

struct pl061 {
    uint8_t out, in; /* output latch, input levels */
    uint8_t dir, is, ibe, iev, ie, ris, afsel;
};

void pl061_reset(struct pl061 *g);
uint32_t pl061_read(const struct pl061 *g, uint32_t off);
void pl061_write(struct pl061 *g, uint32_t off, uint32_t val);
/* pl061_set_input: drive input pin `pin` (0-7) to `level`. */
void pl061_set_input(struct pl061 *g, unsigned pin, bool level);
static inline bool pl061_irq(const struct pl061 *g)
{
    return (g->ris & g->ie) != 0;
}

/* pl061_power_button (devices/pl061.c): press the power button (pin
 * PL061_PWR_PIN high, released 100 ms later). Returns whether the guest
 * listens (it enabled the pin's interrupt). `state`: the dev_inst state
 * of PL061_DEV_NAME. Context: any thread. */
bool pl061_power_button(void *state);

#endif

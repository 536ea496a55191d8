/*
 * fdt.h: the flattened device tree of an aarch64 VM, built with libfdt
 * from the realized machine (board.h), as Linux's arm64 boot protocol and
 * QNX's guests read it: `/` (#address-cells and #size-cells 2, compatible
 * "linux,dummy-virt", interrupt-parent the GIC), `psci` (arm,psci-0.2 over
 * hvc), `cpus` (each cpu@MPIDR with enable-method psci), one `memory@`
 * per RAM region, `intc@` (arm,gic-v3 with distributor and
 * redistributors, or arm,cortex-a15-gic with distributor and CPU
 * interface), `timer` (arm,armv8-timer, its four PPIs, always-on), the
 * `apb-pclk` fixed clock, each `pl011@` (arm,pl011 + arm,primecell),
 * each `virtio_mmio@` (virtio,mmio, dma-coherent), each `shmem@` (an MMIO
 * `vdev shmem`: qnx,qvm-shmem, its factory page and region window, its
 * interrupt; docs/shmem.md), the other MMIO devices by role (`watchdog@`:
 * arm,sp805 + arm,primecell, after its own `watchdog-clk-BASE` fixed
 * clock: clocks wdog_clk and apb_pclk), the power button (`pl061@`:
 * arm,pl061 + arm,primecell, gpio-controller; `gpio-keys` with a
 * `poweroff` key, linux,code KEY_POWER, on its pin), `chosen` (bootargs,
 * stdout-path = the first PL011, the initrd)
 * and `__symbols__` (gic, apb_pclk, uartN, virtioN: labels for overlays;
 * each of those nodes has a phandle: the GIC 1, the clock 2, then the
 * PL011s and the virtio-mmio devices in order from 3).
 * Pure code over libfdt: unit-tested on any host.
 */
#ifndef QVM_ARCH_ARM64_FDT_H
#define QVM_ARCH_ARM64_FDT_H

#include <stddef.h>

#include "arch/arm64/board.h"
#include "util/compiler.h"

#define ARM64_FDT_PHANDLE_GIC 1
#define ARM64_FDT_PHANDLE_CLK 2
#define ARM64_FDT_MAX_SIZE    (2u << 20) /* Linux's limit for the DTB */
#define ARM64_FDT_KEY_POWER   116        /* Linux's KEY_POWER */

/*
 * arm64_fdt_build: the board's tree into buf (len bytes), packed (its size
 * is fdt_totalsize(buf)). 0; -ENOSPC when it does not fit; -EINVAL for a
 * board the tree cannot describe (an interrupt that is not an SPI, a GIC
 * version other than 2 or 3, no CPU ...). Failures are logged.
 */
int arm64_fdt_build(const struct arm64_board *b, void *buf,
                    size_t len) MUST_CHECK;
/*
 * arm64_fdt_overlay: apply a user's overlay (ovl, ovl_len bytes: an FDT
 * with /plugin/ fragments, libfdt's fdt_overlay_apply) to the tree in buf
 * (len bytes of room), packed again. The tree in buf is unchanged on
 * failure: -EINVAL (not an FDT, or libfdt refused the overlay: logged
 * with `what`), -ENOSPC (the result does not fit in len).
 */
int arm64_fdt_overlay(void *buf, size_t len, const void *ovl, size_t ovl_len,
                      const char *what) MUST_CHECK;
/* arm64_fdt_overlay_file: arm64_fdt_overlay of the file at `path` (`fdt
 * load FILE`); -errno when it cannot be read (logged). */
int arm64_fdt_overlay_file(void *buf, size_t len, const char *path) MUST_CHECK;
/* arm64_fdt_dump: write the tree to `path` (`set fdt-dump-file`), created
 * 0644 or truncated. 0 or -errno (logged). */
int arm64_fdt_dump(const void *fdt, const char *path) MUST_CHECK;

#endif

/*
 * board.h: the aarch64 machine as it was realized, in the terms the
 * flattened device tree needs (fdt.c): memory, CPUs, the GIC, the timer,
 * the PL011s, virtio-mmio and other MMIO devices with their interrupts,
 * and /chosen. Built once after every device is realized, then written out
 * as the FDT: the tree describes what exists, never what was merely
 * configured. Pure data, so that the FDT builder is unit-tested without
 * KVM (and on any host).
 *
 * Interrupts are GIC INTIDs as QNX's `intr gic:N` numbers them: SPIs are
 * 32-1019 (the FDT says SPI N-32), the timer's PPIs 16-31 (PPI N-16).
 */
#ifndef QVM_ARCH_ARM64_BOARD_H
#define QVM_ARCH_ARM64_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARM64_BOARD_MAX_MEM   32
#define ARM64_BOARD_MAX_CPUS  512
#define ARM64_BOARD_MAX_UARTS 8
#define ARM64_BOARD_MAX_VMMIO 64
#define ARM64_BOARD_MAX_OTHER 32
#define ARM64_BOARD_MAX_SHMEM 16

/* The architected timer's PPIs (INTIDs) in the order of the binding:
 * secure physical, non-secure physical, virtual, hypervisor. */
#define ARM64_TIMER_PPIS                                                       \
    {                                                                          \
        29, 30, 27, 26                                                         \
    }

struct arm64_mem {
    uint64_t base, size;
};

/* A device window and its interrupt. */
struct arm64_dev {
    uint64_t base, size;
    uint32_t intid; /* 0: no interrupt */
    bool edge;      /* edge rising, else level high */
};

/* An MMIO device with a role the FDT names: node `name@base`, its
 * compatible list (`compat`, NUL-separated, `compat_len` bytes with the
 * last NUL), and with `primecell` the apb_pclk clock AMBA devices need.
 * clock_hz: a device clock of its own (a fixed-clock node
 * `name-clk-BASE`, the first of its `clocks`, "wdog_clk" as Linux's
 * sp805_wdt reads its rate), 0: none. */
struct arm64_other {
    const char *name;
    const char *compat;
    size_t compat_len;
    struct arm64_dev dev;
    bool primecell;
    uint32_t clock_hz;
};

/* A `vdev shmem` over MMIO (docs/shmem.md): its factory page (dev: window
 * and interrupt) and the region window qvm placed for it. */
struct arm64_shmem {
    struct arm64_dev dev;
    uint64_t win_base, win_size;
};

struct arm64_board {
    struct arm64_mem mem[ARM64_BOARD_MAX_MEM];
    unsigned nmem;
    unsigned ncpus;
    uint64_t mpidr[ARM64_BOARD_MAX_CPUS]; /* each vCPU's MPIDR_EL1 */
    /* The GIC: version 2 or 3; dist its distributor, redist the
     * redistributors (v3) or the CPU interface (v2). */
    unsigned gic_version;
    uint64_t gicd_base, gicd_size;
    uint64_t gicr_base, gicr_size;
    uint32_t timer_ppi[4]; /* INTIDs, ARM64_TIMER_PPIS */
    /* The PL011s; the first is /chosen's stdout-path. */
    struct arm64_dev pl011[ARM64_BOARD_MAX_UARTS];
    unsigned npl011;
    uint32_t uart_clock_hz; /* apb-pclk; 0: 24 MHz */
    struct arm64_dev vmmio[ARM64_BOARD_MAX_VMMIO];
    unsigned nvmmio;
    struct arm64_other other[ARM64_BOARD_MAX_OTHER];
    unsigned nother;
    struct arm64_shmem shmem[ARM64_BOARD_MAX_SHMEM];
    unsigned nshmem;
    /* qvm's power button: a PL061 (`pl061@`, arm,pl061 + arm,primecell, a
     * gpio-controller) and `gpio-keys` with KEY_POWER on pin
     * power_pin (devices/pl061.h). */
    bool has_gpio_power;
    struct arm64_dev gpio_power;
    uint32_t power_pin;
    /* /chosen */
    const char *bootargs; /* NULL: none */
    bool has_initrd;
    uint64_t initrd_start, initrd_end; /* [start, end) */
};

#endif

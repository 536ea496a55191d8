/*
 * board.h: the x86 machine as it was realized, in the terms the firmware
 * tables need. Built once after every device is realized (board.c, from
 * the interrupt platform and the realized devices' descriptions), then
 * written out as ACPI tables (acpi.c) and the MP table (mptable.c): the
 * tables describe what exists, never what was merely configured.
 * Pure data, so that the table writers are unit-tested without KVM.
 */
#ifndef QVM_ARCH_X86_BOARD_H
#define QVM_ARCH_X86_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#define BOARD_MAX_IOAPICS 8
#define BOARD_MAX_OVR     16
#define BOARD_MAX_COMS    8
#define BOARD_MAX_VMMIO   64
#define BOARD_MAX_SHM     16
#define BOARD_MAX_PRT     128

/* MADT / MP interrupt flags: polarity (bits 1:0) and trigger (3:2). */
#define BOARD_POL_HIGH  0x1
#define BOARD_POL_LOW   0x3
#define BOARD_TRIG_EDGE (0x1 << 2)
#define BOARD_TRIG_LVL  (0x3 << 2)

struct board_ioapic {
    uint8_t id;
    uint32_t addr;
    uint32_t gsi_base, npins;
    uint8_t version; /* 0x20 (qvm's) or 0x11 (KVM's) */
};

/* An ISA IRQ that is not on the IOAPIC input of the same number, or that
 * is not edge/active high (the SCI). */
struct board_override {
    uint8_t isa;
    uint32_t gsi;
    uint16_t flags;
};

struct board_line {
    uint64_t base, size; /* the device's window */
    int64_t gsi;         /* -1: no interrupt */
    int isa;             /* the ISA IRQ (8259 input), -1 none */
};

struct board_prt {
    uint8_t dev, pin; /* pin 0-3 = INTA-INTD */
    uint32_t gsi;
};

struct board_hpet {
    bool present;
    uint64_t base;
    unsigned ntimers;
    bool legacy_cap;
    uint16_t min_tick;
    uint32_t period_fs;
};

struct x86_board {
    unsigned ncpus;
    struct board_ioapic ioapic[BOARD_MAX_IOAPICS];
    unsigned nioapic;
    bool pic; /* the 8259 pair exists (MADT PCAT_COMPAT, MP ExtINT) */
    int64_t isa_gsi[16]; /* each ISA IRQ's GSI, -1 when not on an IOAPIC */
    struct board_override ovr[BOARD_MAX_OVR];
    unsigned novr;
    unsigned sci_irq; /* the SCI's ISA IRQ */
    struct board_line com[BOARD_MAX_COMS];
    unsigned ncom;
    struct board_line vmmio[BOARD_MAX_VMMIO];
    unsigned nvmmio;
    /* MMIO shmems: the factory page and line; shm_win their region
     * windows (base, size). */
    struct board_line shm[BOARD_MAX_SHM];
    uint64_t shm_win[BOARD_MAX_SHM][2];
    unsigned nshm;
    bool has_pci;
    struct board_prt prt[BOARD_MAX_PRT];
    unsigned nprt;
    struct board_hpet hpet;
    bool kbc;                   /* an 8042 at 0x60/0x64 */
    bool rtc;                   /* an MC146818 */
    struct board_line rtc_line; /* its ports and interrupt */
    bool legacy_free;           /* `set legacy-free` */
    bool pm_timer;              /* the ACPI PM timer at PM_TMR_PORT */
    uint64_t facs; /* guest address of the FACS (ACPI NVS), 0: none */
};

/* board_add_override: record ISA IRQ -> GSI with flags (dedup by isa). */
void board_add_override(struct x86_board *b, uint8_t isa, uint32_t gsi,
                        uint16_t flags);
/* board_isa_overrides: the overrides the ISA wiring and the SCI need. */
void board_isa_overrides(struct x86_board *b);

#endif

/*
 * x86_boards.h: realized x86 machines (struct x86_board, arch/x86/board.h)
 * for the firmware table tests (test_acpi.c) and the ACPICA check
 * (acpi_dump_tables.c), built by hand the way x86_board_collect would
 * describe them.
 *   tboard_typical  KVM's layout: one IOAPIC (ID ncpus, 0xfec00000, GSI 0,
 *                   24 inputs), the 8259 pair, the 8254 on GSI 2 (IRQ0 ->
 *                   GSI2 override), the SCI, 8042, RTC, PM timer, the FACS
 *                   in ACPI NVS; no devices
 *   tboard_qnx      QNX's minimal Linux platform: IOAPIC at 0xf8000000, the
 *                   8259 pair, the 8254 on input 0, HPET at 0xf8008000,
 *                   COM1, PCI with INTx functions
 *   tboard_2ioapic  two IOAPICs (the second at GSI 24) with virtio-mmio
 *                   devices on the second one, COM1 and COM2, an HPET
 *   tboard_bare     no 8259 pair, no PCI, no 8042/RTC, legacy-free, no PM
 *                   timer, the FACS in the table area
 * (tboard_: not to be confused with board.c's functions.)
 */
#ifndef QVM_TESTS_X86_BOARDS_H
#define QVM_TESTS_X86_BOARDS_H

#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/board.h"

static inline void tboard_add_ioapic(struct x86_board *b, uint8_t id,
                                     uint32_t addr, uint32_t gsi_base,
                                     uint32_t npins, uint8_t version)
{
    b->ioapic[b->nioapic++] =
        (struct board_ioapic){id, addr, gsi_base, npins, version};
}

static inline void tboard_add_com(struct x86_board *b, uint64_t port, int isa,
                                  int64_t gsi)
{
    b->com[b->ncom++] = (struct board_line){port, 8, gsi, isa};
}

static inline void tboard_add_vmmio(struct x86_board *b, uint64_t base,
                                    int64_t gsi)
{
    b->vmmio[b->nvmmio++] = (struct board_line){base, 0x200, gsi, -1};
}

/* An MMIO shmem: factory page, 64 MiB region window, line. */
static inline void tboard_add_shm(struct x86_board *b, uint64_t base,
                                  uint64_t win, int64_t gsi)
{
    b->shm_win[b->nshm][0] = win;
    b->shm_win[b->nshm][1] = 0x4000000;
    b->shm[b->nshm++] = (struct board_line){base, 0x1000, gsi, -1};
}

static inline void tboard_add_prt(struct x86_board *b, uint8_t dev, uint8_t pin,
                                  uint32_t gsi)
{
    b->prt[b->nprt++] = (struct board_prt){dev, pin, gsi};
}

/* The ISA IRQs on the first IOAPIC's inputs of their numbers. */
static inline void tboard_isa_identity(struct x86_board *b)
{
    for (int i = 0; i < 16; i++)
        b->isa_gsi[i] = i;
}

static inline void tboard_typical(struct x86_board *b, unsigned ncpus)
{
    memset(b, 0, sizeof(*b));
    b->ncpus = ncpus;
    tboard_add_ioapic(b, (uint8_t)ncpus, 0xfec00000u, 0, 24, 0x20);
    b->pic = true;
    tboard_isa_identity(b);
    b->isa_gsi[0] = 2;
    b->sci_irq = ACPI_SCI_IRQ;
    board_isa_overrides(b);
    b->kbc = true;
    b->rtc = true;
    b->rtc_line = (struct board_line){0x70, 2, 8, 8};
    b->pm_timer = true;
    b->facs = ACPI_FACS_BASE;
}

static inline void tboard_qnx(struct x86_board *b)
{
    tboard_typical(b, 2);
    b->nioapic = 0;
    tboard_add_ioapic(b, 2, 0xf8000000u, 0, 24, 0x20);
    b->novr = 0;
    b->isa_gsi[0] = 0; /* the 8254 on input 0: no IRQ0 override */
    board_isa_overrides(b);
    b->hpet = (struct board_hpet){true, 0xf8008000u, 3, true, 128, 10000000};
    tboard_add_com(b, 0x3f8, 4, 4);
    b->has_pci = true;
    tboard_add_prt(b, 1, 0, 16);
    tboard_add_prt(b, 2, 0, 17);
    tboard_add_prt(b, 2, 1, 18);
    tboard_add_prt(b, 3, 3, 19);
}

static inline void tboard_2ioapic(struct x86_board *b)
{
    tboard_typical(b, 4);
    tboard_add_ioapic(b, 5, 0xfec01000u, 24, 32, 0x20);
    tboard_add_com(b, 0x3f8, 4, 4);
    tboard_add_com(b, 0x2f8, 3, 3);
    tboard_add_vmmio(b, 0xd0000000u, 24);
    tboard_add_vmmio(b, 0xd0000200u, 25);
    tboard_add_vmmio(b, 0xd0000400u, 40);
    tboard_add_shm(b, 0xfeb00000u, 0xc4000000u, 10);
    b->hpet = (struct board_hpet){true, 0xfed00000u, 3, false, 128, 10000000};
}

static inline void tboard_bare(struct x86_board *b)
{
    memset(b, 0, sizeof(*b));
    b->ncpus = 1;
    tboard_add_ioapic(b, 1, 0xfec00000u, 0, 24, 0x20);
    tboard_isa_identity(b);
    b->sci_irq = ACPI_SCI_IRQ;
    board_isa_overrides(b);
    tboard_add_com(b, 0x3f8, -1, 20); /* no 8259: an IOAPIC input */
    b->legacy_free = true;
}

#endif

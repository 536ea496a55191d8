/*
 * acpi.h: the x86 firmware tables qvm builds from the assembled platform:
 * ACPI (RSDP, XSDT/RSDT, FADT + FACS, DSDT, MADT, HPET, user tables from
 * `acpi load`) and the Intel MP 1.4 table. Pure code: the builders write
 * into a byte buffer that will appear at a given guest-physical address,
 * so unit tests run them without KVM.
 *
 * The platform they describe (see devices/device.h and docs/exit-codes.md):
 *   with PCI: MCFG (ECAM, bus 0), DSDT \_SB.PCI0 (PNP0A08/PNP0A03, _CRS
 *   windows, _PRT: every function's INTx pin -> its GSI), \_SB.MRES
 *   (PNP0C02: the ECAM window), and MP table entries for the INTx lines;
 *   one LNRO0005 device per virtio-mmio vdev (window + level interrupt);
 *   PM1a_EVT_BLK 0x600 (4 bytes: PM1_STS, PM1_EN), PM1a_CNT_BLK 0x604
 *   (2 bytes), PM_TMR_BLK 0x608 (32-bit), SCI on ISA IRQ 9 (level,
 *   active high), reset register I/O 0xcf9 value 6, only _S5 (SLP_TYP 5),
 *   the FACS in ACPI NVS RAM, local APICs at 0xfee00000 with APIC ID =
 *   vCPU index, every realized IOAPIC (IDs from ncpus, GSI bases in
 *   configuration order), an interrupt source override for each ISA IRQ
 *   not on the IOAPIC input of its number, LAPIC NMI on LINT1.
 * Everything comes from struct x86_board (board.h): the realized machine.
 */
#ifndef QVM_ARCH_X86_ACPI_H
#define QVM_ARCH_X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/spec.h"

/* Where the tables go (guest-physical). */
#define ACPI_AREA_BASE 0xe0000ull /* RSDP scan area, 16-byte aligned */
#define ACPI_AREA_SIZE 0x20000ull
#define MPTABLE_BASE   0x9fc00ull /* last KiB of base memory */
#define MPTABLE_SIZE   0x400ull

/*
 * PCI (spec->has_pci): ECAM for bus 0 (devices/pci.h), described by MCFG
 * and reserved (E820 and a PNP0C02 device); the host bridge's windows in
 * its _CRS are config/place.c's default BAR placement windows.
 */
#define ACPI_PCI_ECAM_BASE 0xe0000000ull
#define ACPI_PCI_ECAM_SIZE 0x100000ull /* bus 0 */
#define ACPI_PCI_IO_BASE   0xc000u
#define ACPI_PCI_IO_END    0xffffu /* inclusive */
#define ACPI_PCI_MEM_BASE  0xc0000000u
#define ACPI_PCI_MEM_END   0xdfffffffu /* inclusive */

#define ACPI_SCI_IRQ   9
#define ACPI_PM1A_EVT  0x600
#define ACPI_PM1A_CNT  0x604
#define ACPI_PM_TMR    0x608 /* 32-bit ACPI PM timer, 3.579545 MHz */
#define ACPI_FACS_SIZE 64
/* The FACS lives in writable ACPI NVS memory below the MP table. */
#define ACPI_FACS_BASE 0x9f800ull
#define ACPI_NVS_SIZE  0x400ull
#define ACPI_RESET_REG 0xcf9
#define ACPI_RESET_VAL 0x06
#define X86_LAPIC_BASE 0xfee00000u

/* A user table (`acpi load FILE`), copied as is and listed in the XSDT. */
struct acpi_blob {
    const void *data;
    size_t size;
    const char *path;
};

/*
 * acpi_build: write the RSDP at buf[0] (guest address `base`, which must be
 * 16-byte aligned) and every table after it, within `len` bytes. ncpus
 * local APICs. Returns the number of bytes used, or -1 with a message in
 * err (too small a buffer, a user table without an ACPI header).
 * Context: any; pure.
 */
struct x86_board;
long acpi_build(const struct x86_board *b, const struct acpi_blob *user,
                size_t nuser, uint8_t *buf, size_t len, uint64_t base,
                char *err, size_t errlen);
/* acpi_facs: a FACS (ACPI_FACS_SIZE bytes) at t, for ACPI NVS memory. */
void acpi_facs(uint8_t *t);

/*
 * mptable_build: Intel MP 1.4 floating pointer at buf[0] (guest address
 * `base`) followed by the configuration table. Returns bytes used, or -1
 * when it does not fit in len. Context: any; pure.
 */
long mptable_build(const struct x86_board *b, uint8_t *buf, size_t len,
                   uint64_t base);

/* acpi_checksum: the byte that makes the sum of buf[0..len) zero. */
uint8_t acpi_checksum(const uint8_t *buf, size_t len);

#endif

/*
 * mptable.c: the Intel MultiProcessor Specification 1.4 table, for kernels
 * that read it instead of (or before) ACPI: the floating pointer "_MP_"
 * (16 bytes) followed by the "PCMP" configuration table with one processor
 * entry per vCPU (APIC ID = index, BSP flag on vCPU 0), bus "ISA" (ID 0,
 * or 1 after bus 0 "PCI" when there is PCI: Linux matches an entry's
 * source bus ID against the PCI bus number), every realized IOAPIC (IDs
 * and versions as realized), I/O interrupt entries for the ISA IRQs that
 * reach an IOAPIC input (IRQ2, the cascade, left out; the SCI level/active
 * high), one per PCI (device, INTx pin) of the realized bus (source bus
 * IRQ (dev << 2) | (pin - 1), conforming polarity and trigger: level,
 * active low for PCI), and local interrupt entries ExtINT -> LINT0 (with
 * the 8259 pair), NMI -> LINT1 (MP spec 1.4 chapter 4, D.3). Written from
 * struct x86_board (board.h).
 */
#include "arch/x86/acpi.h"

#include <string.h>

#include "arch/x86/board.h"
#include "util/le.h"

enum { MP_PROC, MP_BUS, MP_IOAPIC, MP_IOINT, MP_LINT };
enum { INT_INT = 0, INT_NMI = 1, INT_EXTINT = 3 };

static uint8_t *io_int(uint8_t *e, uint8_t type, uint16_t flags, uint8_t bus,
                       uint8_t irq, uint8_t apic, uint8_t pin)
{
    e[0] = MP_IOINT, e[1] = type;
    le_put16(e + 2, flags);
    e[4] = bus, e[5] = irq, e[6] = apic, e[7] = pin;
    return e + 8;
}

/* The IOAPIC (MP ID, input) of `gsi`, or false. */
static bool gsi_pin(const struct x86_board *b, int64_t gsi, uint8_t *id,
                    uint8_t *pin)
{
    for (unsigned i = 0; gsi >= 0 && i < b->nioapic; i++) {
        const struct board_ioapic *io = &b->ioapic[i];
        if ((uint64_t)gsi >= io->gsi_base &&
            (uint64_t)gsi < (uint64_t)io->gsi_base + io->npins &&
            gsi - io->gsi_base <= 255) {
            *id = io->id;
            *pin = (uint8_t)(gsi - io->gsi_base);
            return true;
        }
    }
    return false;
}

static unsigned isa_ints(const struct x86_board *b, uint8_t *e, uint8_t bus)
{
    unsigned n = 0;
    for (unsigned irq = 0; irq < 16; irq++) {
        uint8_t id, pin;
        if (irq == 2 || !gsi_pin(b, b->isa_gsi[irq], &id, &pin))
            continue;
        uint16_t flags = 0;
        for (unsigned k = 0; k < b->novr; k++)
            if (b->ovr[k].isa == irq)
                flags = b->ovr[k].flags;
        if (e)
            e = io_int(e, INT_INT, flags, bus, (uint8_t)irq, id, pin);
        n++;
    }
    return n;
}

/* PCI INTx entries: one per (device, pin); `e` NULL counts them. */
static unsigned pci_ints(const struct x86_board *b, uint8_t *e)
{
    unsigned n = 0;
    for (unsigned i = 0; i < b->nprt; i++) {
        const struct board_prt *p = &b->prt[i];
        uint8_t id, pin;
        if (!gsi_pin(b, p->gsi, &id, &pin))
            continue;
        if (e)
            e = io_int(e, INT_INT, 0, 0, (uint8_t)(p->dev << 2 | p->pin), id,
                       pin);
        n++;
    }
    return n;
}

long mptable_build(const struct x86_board *b, uint8_t *buf, size_t len,
                   uint64_t base)
{
    unsigned ncpus = b->ncpus, nio = b->nioapic;
    unsigned nbus = b->has_pci ? 2 : 1, isa = nbus - 1;
    unsigned nint = isa_ints(b, NULL, 0), npci = pci_ints(b, NULL);
    unsigned nlint = b->pic ? 2 : 1;
    size_t cfg_len = 44 + 20 * (size_t)ncpus + 8 * nbus + 8 * nio +
                     8 * (nint + npci) + 8 * nlint;
    if (16 + cfg_len > len || ncpus > 254)
        return -1;
    memset(buf, 0, 16 + cfg_len);

    uint8_t *fp = buf, *c = buf + 16;
    memcpy(fp, "_MP_", 4);
    le_put32(fp + 4, (uint32_t)(base + 16));
    fp[8] = 1; /* length in 16-byte units */
    fp[9] = 4; /* spec revision 1.4 */

    memcpy(c, "PCMP", 4);
    le_put16(c + 4, (uint16_t)cfg_len);
    c[6] = 4;
    memcpy(c + 8, "QVM     ", 8);
    memcpy(c + 16, "QVM KVM     ", 12);
    le_put16(c + 34, (uint16_t)(ncpus + nbus + nio + nint + npci + nlint));
    le_put32(c + 36, X86_LAPIC_BASE);

    uint8_t *e = c + 44;
    for (unsigned i = 0; i < ncpus; i++, e += 20) {
        e[0] = MP_PROC;
        e[1] = (uint8_t)i;
        e[2] = 0x14;                        /* local APIC version */
        e[3] = 1 | (i == 0 ? 2 : 0);        /* EN, BP */
        le_put32(e + 4, 0x600);             /* family 6 */
        le_put32(e + 8, 1u << 0 | 1u << 9); /* FPU, APIC */
    }
    if (b->has_pci) {
        e[0] = MP_BUS, e[1] = 0;
        memcpy(e + 2, "PCI   ", 6);
        e += 8;
    }
    e[0] = MP_BUS, e[1] = (uint8_t)isa;
    memcpy(e + 2, "ISA   ", 6);
    e += 8;
    for (unsigned i = 0; i < nio; i++, e += 8) {
        e[0] = MP_IOAPIC, e[1] = b->ioapic[i].id;
        e[2] = b->ioapic[i].version, e[3] = 1; /* EN */
        le_put32(e + 4, b->ioapic[i].addr);
    }
    isa_ints(b, e, (uint8_t)isa);
    e += 8 * nint;
    pci_ints(b, e);
    e += 8 * npci;
    if (b->pic) {
        e[0] = MP_LINT, e[1] = INT_EXTINT, e[5] = 0, e[6] = 0xff, e[7] = 0;
        e += 8;
    }
    e[0] = MP_LINT, e[1] = INT_NMI, e[5] = 0, e[6] = 0xff, e[7] = 1;

    c[7] = acpi_checksum(c, cfg_len);
    fp[10] = acpi_checksum(fp, 16);
    return (long)(16 + cfg_len);
}

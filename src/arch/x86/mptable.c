/*
 * mptable.c: the Intel MultiProcessor Specification 1.4 table, for kernels
 * that read it instead of (or before) ACPI: the floating pointer "_MP_"
 * (16 bytes) followed by the "PCMP" configuration table with one processor
 * entry per vCPU (APIC ID = index, BSP flag on vCPU 0), bus "ISA" (ID 0,
 * or 1 after bus 0 "PCI" when the spec has PCI: Linux matches an entry's
 * source bus ID against the PCI bus number), every `vdev ioapic` (IDs from
 * ncpus, as in the MADT), I/O interrupt entries for ISA IRQs 0-15 (IRQ0 ->
 * pin 2, IRQ2 is the cascade and is left out, the SCI IRQ 9 level/active
 * high) on the first I/O APIC, one per PCI (device, INTx pin) wired to an
 * I/O APIC line (source bus IRQ (dev << 2) | (pin - 1), conforming
 * polarity and trigger: level, active low for PCI), and local interrupt
 * entries ExtINT -> LINT0, NMI -> LINT1 (MP spec 1.4 chapter 4, D.3).
 */
#include "arch/x86/acpi.h"

#include <string.h>

#include "util/le.h"

static bool is_ioapic(const struct vdev_spec *vd)
{
    const char *n = vdev_type_name(vd);
    return n && strcmp(n, "ioapic") == 0;
}

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

/* The I/O APIC (MP ID, input) of controller `pic`'s `line`, or false. */
static bool ioapic_pin(const struct vm_spec *spec, unsigned ncpus, int pic,
                       uint32_t line, uint8_t *id, uint8_t *pin)
{
    if (pic < 0 || (size_t)pic >= spec->vdevs.n ||
        !is_ioapic(&spec->vdevs.v[pic]))
        return false;
    unsigned k = 0;
    for (int i = 0; i < pic; i++)
        k += is_ioapic(&spec->vdevs.v[i]);
    const struct vdev_spec *io = &spec->vdevs.v[pic];
    if (line >= (io->pic_lines ? io->pic_lines : 24) || line > 255)
        return false;
    *id = (uint8_t)(ncpus + k);
    *pin = (uint8_t)line;
    return true;
}

/* PCI INTx entries: one per (device, pin); `e` NULL counts them. */
static unsigned pci_ints(const struct vm_spec *spec, unsigned ncpus, uint8_t *e)
{
    bool seen[32][4] = {{false}};
    unsigned n = 0;
    for (size_t i = 0; spec->has_pci && i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        unsigned dev = vd->pci.bdf.dev, pin = vd->pci.intx_pin;
        uint8_t id, line;
        if (!vd->is_pci || pin < 1 || pin > 4 || vd->pci.bdf.bus != 0 ||
            dev > 31 || seen[dev][pin - 1] ||
            !ioapic_pin(spec, ncpus, vd->pci.intx.pic, vd->pci.intx.line, &id,
                        &line))
            continue;
        seen[dev][pin - 1] = true;
        if (e)
            e = io_int(e, INT_INT, 0, 0, (uint8_t)(dev << 2 | (pin - 1)), id,
                       line);
        n++;
    }
    return n;
}

long mptable_build(const struct vm_spec *spec, unsigned ncpus, uint8_t *buf,
                   size_t len, uint64_t base)
{
    unsigned nio = 0, first_io = 0;
    for (size_t i = 0; i < spec->vdevs.n; i++)
        if (is_ioapic(&spec->vdevs.v[i]))
            nio++;
    unsigned nint = nio ? 15 : 0, npci = pci_ints(spec, ncpus, NULL);
    unsigned nbus = spec->has_pci ? 2 : 1, isa = nbus - 1;
    size_t cfg_len = 44 + 20 * (size_t)ncpus + 8 * nbus + 8 * nio +
                     8 * (nint + npci) + 8 * 2;
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
    le_put16(c + 34, (uint16_t)(ncpus + nbus + nio + nint + npci + 2));
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
    if (spec->has_pci) {
        e[0] = MP_BUS, e[1] = 0;
        memcpy(e + 2, "PCI   ", 6);
        e += 8;
    }
    e[0] = MP_BUS, e[1] = (uint8_t)isa;
    memcpy(e + 2, "ISA   ", 6);
    e += 8;
    unsigned k = 0;
    for (size_t i = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        if (!is_ioapic(vd))
            continue;
        if (k == 0)
            first_io = ncpus;
        e[0] = MP_IOAPIC, e[1] = (uint8_t)(ncpus + k++);
        e[2] = 0x11, e[3] = 1; /* version, EN */
        le_put32(e + 4, vd->has_loc ? (uint32_t)vd->loc.base : 0xfec00000u);
        e += 8;
    }
    for (unsigned irq = 0; nio && irq < 16; irq++) {
        if (irq == 2)
            continue;
        uint16_t flags = irq == ACPI_SCI_IRQ ? (0x1 | 0x3 << 2) : 0;
        e = io_int(e, INT_INT, flags, (uint8_t)isa, (uint8_t)irq,
                   (uint8_t)first_io, (uint8_t)(irq == 0 ? 2 : irq));
    }
    pci_ints(spec, ncpus, e);
    e += 8 * npci;
    e[0] = MP_LINT, e[1] = INT_EXTINT, e[5] = 0, e[6] = 0xff, e[7] = 0;
    e += 8;
    e[0] = MP_LINT, e[1] = INT_NMI, e[5] = 0, e[6] = 0xff, e[7] = 1;

    c[7] = acpi_checksum(c, cfg_len);
    fp[10] = acpi_checksum(fp, 16);
    return (long)(16 + cfg_len);
}

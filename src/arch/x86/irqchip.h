/*
 * irqchip.h: the x86 interrupt platform's state (irqchip.c), internal to
 * src/arch/x86/.
 */
#ifndef QVM_ARCH_X86_IRQCHIP_H
#define QVM_ARCH_X86_IRQCHIP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/platform.h"
#include "devices/irq.h"

struct vm;
struct vcpu;
struct ioapic;
struct pic;
struct pic_port;

#define X86_MAX_IOAPICS         8
#define X86_SPLIT_MAX_PINS      48 /* KVM's MAX_NR_RESERVED_IOAPIC_PINS */
#define X86_IOAPIC_DEFAULT_BASE 0xfec00000u

struct x86_ioapic {
    struct vm *vm;
    struct ioapic *io; /* split mode only */
    struct irq_chip chip;
    struct irq_input *in; /* npins */
    uint32_t *data;       /* npins: each input's MSI data, as routed */
    int *eoi_fd; /* npins: eventfd signalled at the input's EOI, or -1 */
    uint32_t gsi_base, npins;
    uint64_t base;
    int vdev;
    uint8_t id;
    char label[48];
};

struct x86_arch {
    struct vm *vm;
    bool split;    /* qvm's controllers; else KVM's in-kernel ones */
    char why[128]; /* the reason, for messages and dryrun */
    struct x86_ioapic *ioapics[X86_MAX_IOAPICS];
    unsigned nioapics;
    uint32_t ioapic_pins;      /* configured IOAPIC inputs in all */
    uint32_t ioapic_pins_used; /* realized so far (next GSI base) */
    /* The 8259 pair (split mode: qvm's model). */
    unsigned npics;
    int pic_vdev[2];
    struct pic *pic;
    struct irq_chip pic_chip;
    struct irq_input pic_in[16];
    struct pic_port *pic_ports; /* master, slave, ELCR */
    unsigned pic_refs;
    atomic_bool pic_int; /* the master's INT output */
    /* ISA IRQ -> IOAPIC GSI, as wired (the MADT overrides). */
    int64_t isa_gsi[16];
    bool kernel_pit; /* KVM's PIT exists */
};

struct x86_arch *x86_arch(struct vm *vm);
int x86_irqchip_init(struct vm *vm);
void x86_irqchip_free(struct vm *vm);
struct x86_board;
/* x86_board_collect: the realized machine, for the firmware tables
 * (board.c). After devices_realize. */
void x86_board_collect(struct vm *vm, struct x86_board *b);
/* x86_kick_boot_vcpu: make vCPU 0 look at the 8259's output soon. */
void x86_kick_boot_vcpu(struct vm *vm);

#endif

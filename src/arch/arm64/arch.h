/*
 * arch.h: the arm64 platform state of a VM (vm->arch): KVM's in-kernel
 * vGIC (v3, or v2 where the host offers it) at the addresses of the
 * configuration's `vdev gic`, the device interrupt lines (SPIs) that lead
 * to it, and what the vCPUs were initialised with.
 *
 * Order (KVM's rules, Documentation/virt/kvm/devices/arm-vgic-v3.rst):
 * arch_vm_init creates the vGIC and sets its addresses and number of
 * interrupts before any vCPU exists; arch_vcpu_init initialises each vCPU
 * (KVM_ARM_VCPU_INIT, PSCI 0.2, every vCPU but 0 powered off: PSCI CPU_ON
 * is KVM's); arch_vcpu_boot, once all vCPUs exist, initialises the vGIC
 * (KVM_DEV_ARM_VGIC_CTRL_INIT), replays the lines devices raised before
 * that and sets the boot vCPU's registers.
 */
#ifndef QVM_ARCH_ARM64_ARCH_H
#define QVM_ARCH_ARM64_ARCH_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/irq.h"

struct vm;

/* KVM's default IPA space (KVM_CREATE_VM type 0): 40 bits. */
#define ARM64_IPA_BITS 40

/* The GIC's interrupt IDs: SGIs and PPIs are private, SPIs from 32. */
#define ARM64_GIC_SPI_BASE 32u
#define ARM64_GIC_MAX_IRQS 1024u
/* Resampled irqfds assigned before the vGIC is initialised. */
#define ARM64_GIC_MAX_RESAMPLE 32u

/* GICv3 redistributor frames per vCPU (RD_base + SGI_base, 64K each). */
#define ARM64_GICR_STRIDE  0x20000ull
#define ARM64_GICD_V3_SIZE 0x10000ull
#define ARM64_GICD_V2_SIZE 0x1000ull
#define ARM64_GICC_V2_SIZE 0x2000ull

struct arm64_gic {
    int vdev;         /* index of the `vdev gic` in spec->vdevs, -1: none */
    int fd;           /* the KVM vGIC device, -1 until created */
    bool v2;          /* `version 2` */
    uint64_t dist;    /* distributor */
    uint64_t redist;  /* v3: first redistributor; v2: CPU interface */
    uint32_t nr_irqs; /* KVM_DEV_ARM_VGIC_GRP_NR_IRQS (SGIs/PPIs too) */
    /* Device lines. KVM_IRQ_LINE before CTRL_INIT would make KVM
     * initialise the vGIC with the vCPUs that exist then: levels set
     * earlier are kept in `level` and replayed once `ready`. */
    pthread_mutex_t lock;
    bool ready;
    uint32_t level[ARM64_GIC_MAX_IRQS / 32];
    struct irq_chip chip;
    struct irq_input *in[ARM64_GIC_MAX_IRQS]; /* by INTID, made on demand */
    /* Resampled irqfds (`pass intr`, arch_irqfd_resample) asked for
     * before the vGIC was `ready`: KVM_IRQFD refuses them (EAGAIN) until
     * CTRL_INIT made KVM's GSI routing; arm64_gic_init assigns them. */
    struct arm64_resample {
        uint32_t intid;
        int fd, rfd;
    } resample[ARM64_GIC_MAX_RESAMPLE];
    unsigned nresample;
};

struct arm64_arch {
    struct kvm_vcpu_init init; /* KVM_ARM_PREFERRED_TARGET + features */
    bool have_target;
    bool ext_dabt; /* KVM_CAP_ARM_INJECT_EXT_DABT */
    struct arm64_gic gic;
};

/* arm64_arch: vm->arch (arm64.c). */
struct arm64_arch *arm64_arch(struct vm *vm);

/* gic.c */
int arm64_gic_create(struct vm *vm) MUST_CHECK;
int arm64_gic_init(struct vm *vm) MUST_CHECK; /* after every vCPU */
void arm64_gic_free(struct vm *vm);
int gic_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst) MUST_CHECK;

/* board.c: the realized machine and its device tree at boot_state fdt
 * (after the loaders, before vCPU 0's registers). */
struct arm64_board;
struct boot_state;
int arm64_board_collect(struct vm *vm, const struct boot_state *bs,
                        struct arm64_board *b) MUST_CHECK;
int arm64_write_fdt(struct vm *vm, const struct boot_state *bs) MUST_CHECK;

#endif

/*
 * arch.h: the x86 platform state of a VM (vm->arch): the interrupt
 * controllers and timers qvm emulates (KVM's split irqchip: local APICs
 * in the kernel, IOAPICs, the 8259 pair and the 8254 in qvm), and the
 * realize functions of the x86-only vdevs (their registry rows are in
 * arch_models[]).
 */
#ifndef QVM_ARCH_X86_ARCH_H
#define QVM_ARCH_X86_ARCH_H

#include "devices/device.h"

struct vm;
struct vcpu;
struct kvm_sregs;
struct pit;
struct hpet;

int ioapic_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct dev_inst *inst) MUST_CHECK;
int pic_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst) MUST_CHECK;
int pit_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst) MUST_CHECK;
int hpet_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                 struct dev_inst *inst) MUST_CHECK;
int wdt_ib700_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                      struct dev_inst *inst) MUST_CHECK;

/* x86_pit_out0_enable: HPET legacy replacement (LEG_RT_CNF) disconnects
 * the PIT's OUT0 from its interrupt line; no-op without a PIT. ctx_opaque:
 * dev_ctx.opaque (the struct vm). Context: any. */
void x86_pit_out0_enable(void *ctx_opaque, bool on);
/* pit_dev_out0_enable: the same for qvm's own 8254 (pit_dev.c). */
void pit_dev_out0_enable(void *ctx_opaque, bool on);
/* x86_rtc_irq_enable: HPET legacy replacement's other half: disconnects
 * the MC146818 (every realized DEV_ROLE_RTC of the VM's device list) from
 * IRQ 8 (false) or connects it again; no-op without an RTC. Context: after
 * realize (the device list is complete), not from an RTC callback. */
void x86_rtc_irq_enable(void *ctx_opaque, bool on);

/* x86_fetch_code: up to `max` bytes of code at CS:rip into buf, through
 * the guest's page tables (dump.c); returns how many could be read. The
 * linear address and the physical address of the first byte go to
 * *la_out and *gpa_out when not NULL. Context: the vCPU thread. */
unsigned x86_fetch_code(struct vcpu *vcpu, const struct kvm_sregs *s,
                        uint64_t rip, uint8_t *buf, unsigned max,
                        uint64_t *la_out, uint64_t *gpa_out);

#endif

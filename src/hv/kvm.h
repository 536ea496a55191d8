/*
 * kvm.h: the thin KVM wrapper. This file and kvm.c are the only place in qvm
 * that calls ioctl(2) on /dev/kvm, VM or vCPU file descriptors; everything
 * else goes through these typed functions. Each returns 0 or a negative
 * errno unless stated otherwise, and never exits.
 *
 * The architecture's own wrappers are compiled where the KVM headers offer
 * their structures (asm/kvm.h: __KVM_HAVE_PIT_STATE2 on x86,
 * KVM_ARM_VCPU_PSCI_0_2 on arm64); arch #ifdefs stay in src/arch/
 * (tests/check-deps.sh).
 *
 * Context: kvm_open/kvm_create_vm on the main thread before the guest
 * starts; vCPU functions on the vCPU's own thread (or before it starts).
 */
#ifndef QVM_HV_KVM_H
#define QVM_HV_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "util/compiler.h"

struct kvm_sys {
    int fd;          /* /dev/kvm */
    int vm_fd;       /* KVM_CREATE_VM, -1 until created */
    size_t run_size; /* KVM_GET_VCPU_MMAP_SIZE */
};

/*
 * kvm_open: open /dev/kvm (or $QVM_KVM_DEV when set, for tests) and check the
 * API version. On failure logs ONE fatal line naming the cause and what to
 * do, and returns a negative errno.
 */
int kvm_open(struct kvm_sys *k) MUST_CHECK;
void kvm_close(struct kvm_sys *k);

/* kvm_check_cap: KVM_CHECK_EXTENSION on the VM (or system) fd; <0 error. */
int kvm_check_cap(const struct kvm_sys *k, long cap);
int kvm_create_vm(struct kvm_sys *k) MUST_CHECK;
int kvm_set_mem_slot(const struct kvm_sys *k, uint32_t slot, uint64_t gpa,
                     uint64_t size, void *hva, bool readonly) MUST_CHECK;

/* kvm_enable_cap: KVM_ENABLE_CAP on the VM fd with args[0] = arg0. */
int kvm_enable_cap(const struct kvm_sys *k, uint32_t cap,
                   uint64_t arg0) MUST_CHECK;

#ifdef __KVM_HAVE_PIT_STATE2 /* x86 (asm/kvm.h) */
/* x86 VM-wide set-up. */
int kvm_set_tss_addr(const struct kvm_sys *k, uint64_t addr) MUST_CHECK;
int kvm_set_identity_map_addr(const struct kvm_sys *k,
                              uint64_t addr) MUST_CHECK;
int kvm_create_irqchip(const struct kvm_sys *k) MUST_CHECK;
int kvm_create_pit2(const struct kvm_sys *k) MUST_CHECK;
/* kvm_split_irqchip: local APICs in the kernel, IOAPIC/PIC/PIT in qvm
 * (KVM_CAP_SPLIT_IRQCHIP); GSIs below `ioapic_pins` are IOAPIC inputs
 * whose level-triggered vectors cause KVM_EXIT_IOAPIC_EOI. Before any
 * vCPU exists. */
int kvm_split_irqchip(const struct kvm_sys *k, uint32_t ioapic_pins) MUST_CHECK;
/* kvm_disable_exits: KVM_CAP_X86_DISABLE_EXITS with `exits`
 * (KVM_X86_DISABLE_EXITS_*), before the first vCPU; -EOPNOTSUPP when this
 * KVM cannot disable all of them. */
int kvm_disable_exits(const struct kvm_sys *k, uint32_t exits) MUST_CHECK;
/* kvm_pit_hpet_legacy: the in-kernel PIT's output off (HPET legacy
 * replacement) or on (KVM_SET_PIT2 flags). */
int kvm_pit_hpet_legacy(const struct kvm_sys *k, bool on) MUST_CHECK;
#endif
/* kvm_irq_line: KVM_IRQ_LINE; `irq` is a GSI on x86, the arm64 encoding
 * (type << 24 | vcpu << 16 | id, KVM_ARM_IRQ_*) on arm64. */
int kvm_irq_line(const struct kvm_sys *k, uint32_t gsi, bool level);
/* kvm_set_gsi_routing: replace the whole GSI routing table (irqchip pins
 * and MSI routes). */
int kvm_set_gsi_routing(const struct kvm_sys *k,
                        const struct kvm_irq_routing *r) MUST_CHECK;
/*
 * Fast paths for device models (devices/device.h dev_ctx). Context: any
 * thread once the VM exists.
 * kvm_ioeventfd: KVM signals eventfd `fd` on a guest write of `len` bytes
 * (0: any, needs KVM_CAP_IOEVENTFD_ANY_LENGTH) at `addr` on the port
 * (pio) or memory bus; with `match` only for the value `data`; assign=false
 * removes the same registration (KVM_IOEVENTFD).
 */
int kvm_ioeventfd(const struct kvm_sys *k, bool pio, uint64_t addr,
                  unsigned len, bool match, uint64_t data, int fd,
                  bool assign) MUST_CHECK;
/*
 * kvm_coalesced_zone: guest writes to [addr, addr+size) on the port (pio)
 * or memory bus go to the coalesced ring instead of exiting
 * (KVM_REGISTER_COALESCED_MMIO; vm/pioring.h); assign=false removes the
 * same zone.
 */
int kvm_coalesced_zone(const struct kvm_sys *k, bool pio, uint64_t addr,
                       uint32_t size, bool assign);
/* kvm_irqfd: a write to eventfd `fd` injects `gsi` (KVM_IRQFD). */
int kvm_irqfd(const struct kvm_sys *k, uint32_t gsi, int fd,
              bool assign) MUST_CHECK;
/* kvm_irqfd_resample: the same as a level-triggered line with resample
 * (KVM_IRQFD_FLAG_RESAMPLE): a write to `fd` asserts `gsi`, the guest's
 * EOI of it deasserts it and signals `rfd`. Needs KVM's full in-kernel
 * irqchip (-EINVAL on the split one). */
int kvm_irqfd_resample(const struct kvm_sys *k, uint32_t gsi, int fd, int rfd,
                       bool assign) MUST_CHECK;
/* kvm_signal_msi: inject one MSI (KVM_SIGNAL_MSI): 1 delivered, 0 blocked
 * by the guest (e.g. its local APIC is off), or a negative errno. */
int kvm_signal_msi(const struct kvm_sys *k, uint64_t addr, uint32_t data);
#ifdef __KVM_HAVE_PIT_STATE2 /* x86 (asm/kvm.h) */
/* kvm_get_supported_cpuid: malloc'd table in *out (caller frees). */
int kvm_get_supported_cpuid(const struct kvm_sys *k,
                            struct kvm_cpuid2 **out) MUST_CHECK;
#endif

/* vCPUs. kvm_create_vcpu returns the fd (>= 0) and maps its kvm_run. */
int kvm_create_vcpu(const struct kvm_sys *k, unsigned id,
                    struct kvm_run **run) MUST_CHECK;
void kvm_destroy_vcpu(const struct kvm_sys *k, int fd, struct kvm_run *run);
/* kvm_vcpu_run: KVM_RUN once; -EINTR/-EAGAIN when interrupted. */
int kvm_vcpu_run(int vcpu_fd);
int kvm_get_regs(int vcpu_fd, struct kvm_regs *r) MUST_CHECK;
int kvm_set_regs(int vcpu_fd, const struct kvm_regs *r) MUST_CHECK;
int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *s) MUST_CHECK;
int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *s) MUST_CHECK;
#ifdef __KVM_HAVE_PIT_STATE2 /* x86 (asm/kvm.h) */
int kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *c) MUST_CHECK;
/* kvm_set_msrs: returns the number of MSRs set (>= 0) or a negative errno. */
int kvm_set_msrs(int vcpu_fd, const struct kvm_msrs *m);
#endif
int kvm_set_mp_state(int vcpu_fd, uint32_t state) MUST_CHECK;
/* kvm_get/set_vcpu_events: pending and injected exceptions, interrupts,
 * NMI and SMM state (KVM_GET/SET_VCPU_EVENTS); an exception marked
 * injected is delivered at the next entry, at the current RIP. */
int kvm_get_vcpu_events(int vcpu_fd, struct kvm_vcpu_events *ev) MUST_CHECK;
int kvm_set_vcpu_events(int vcpu_fd,
                        const struct kvm_vcpu_events *ev) MUST_CHECK;
/* kvm_vcpu_tsc_offset: guest TSC = host TSC + offset (KVM_VCPU_TSC_OFFSET,
 * Linux 5.16); -EOPNOTSUPP when this KVM lacks the attribute. */
int kvm_vcpu_tsc_offset(int vcpu_fd, uint64_t offset) MUST_CHECK;
/* kvm_interrupt: queue external interrupt `vector` (KVM_INTERRUPT; with a
 * split irqchip, the 8259's ExtINT vector). vCPU thread only. */
int kvm_interrupt(int vcpu_fd, uint8_t vector) MUST_CHECK;

/* Registers by ID (KVM_GET/SET_ONE_REG; arm64: KVM_REG_ARM64 | ...). The
 * value is `size` bytes (the ID's KVM_REG_SIZE). */
int kvm_get_one_reg(int vcpu_fd, uint64_t id, void *val) MUST_CHECK;
int kvm_set_one_reg(int vcpu_fd, uint64_t id, const void *val) MUST_CHECK;
/*
 * In-kernel devices (KVM_CREATE_DEVICE): kvm_create_device returns the
 * device fd (>= 0). kvm_device_attr: KVM_SET_DEVICE_ATTR (set) or
 * KVM_GET_DEVICE_ATTR on a device (or vCPU) fd; val points at the
 * attribute's value (NULL for attributes without one).
 * kvm_has_device_attr: 0 when the attribute exists (KVM_HAS_DEVICE_ATTR).
 */
int kvm_create_device(const struct kvm_sys *k, uint32_t type) MUST_CHECK;
int kvm_device_attr(int fd, uint32_t group, uint64_t attr, void *val,
                    bool set) MUST_CHECK;
int kvm_has_device_attr(int fd, uint32_t group, uint64_t attr);

#ifdef KVM_ARM_VCPU_PSCI_0_2 /* arm64 (asm/kvm.h) */
/* arm64 vCPUs: the host's preferred target (KVM_ARM_PREFERRED_TARGET), then
 * KVM_ARM_VCPU_INIT with the features the caller chose (before any other
 * vCPU ioctl but KVM_SET/GET_ONE_REG of the ID registers). */
int kvm_arm_preferred_target(const struct kvm_sys *k,
                             struct kvm_vcpu_init *init) MUST_CHECK;
int kvm_arm_vcpu_init(int vcpu_fd, const struct kvm_vcpu_init *init) MUST_CHECK;
#endif

#endif

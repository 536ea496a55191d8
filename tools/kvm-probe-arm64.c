/*
 * kvm-probe-arm64: kvm-probe's guest on aarch64 hosts (the aarch64 lab's L1
 * and arm64 machines; kvm-probe-main.c has the rest). KVM must offer PSCI
 * 0.2, and a one-page guest started at EL1h with the MMU off (str w1, [x0]:
 * a 32-bit store of 0x5a to an address no memory slot covers, then PSCI
 * SYSTEM_OFF through hvc #0) must give exactly one MMIO write exit with that
 * address, size and value, then KVM_EXIT_SYSTEM_EVENT of type SHUTDOWN.
 * Built as tools/kvm-probe on aarch64, and with `aarch64-linux-gnu-gcc
 * -static` by tests/lab/test-lab-arm64.sh (with kvm-probe-main.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm-probe.h"

#define GUEST_BASE  0x40000000ULL
#define PROBE_MMIO  0x10000000ULL
#define PROBE_VALUE 0x5a

/* The guest, in A64 (little endian). */
static const uint32_t probe_code[] = {
    0xd2a20000, /* movz x0, #0x1000, lsl #16      x0 = PROBE_MMIO */
    0x52800b41, /* movz w1, #0x5a                 w1 = PROBE_VALUE */
    0xb9000001, /* str  w1, [x0]                  the MMIO exit */
    0xd2800100, /* movz x0, #0x8                                  */
    0xf2b08000, /* movk x0, #0x8400, lsl #16      x0 = 0x84000008 */
    0xd4000002, /* hvc  #0                        PSCI, KVM's own */
    0x14000000, /* b    .                         never reached */
};

/* KVM_{GET,SET}_ONE_REG id of a 64-bit field of struct kvm_regs */
#define CORE_REG(field)                                                        \
    (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                     \
     (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

static int check_kvm(int kvm, const char *dev)
{
    if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0) {
        say("not usable: %s: no PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2)", dev);
        return -1;
    }
    return 0;
}

/* KVM_ARM_VCPU_INIT with PSCI 0.2 (the VM's preferred target), then the PC
 * at GUEST_BASE. PSTATE stays as the init leaves it: EL1h, DAIF masked, the
 * MMU off. */
static int setup_vcpu(int vm, int vcpu)
{
    struct kvm_vcpu_init init;
    uint64_t pc = GUEST_BASE;
    struct kvm_one_reg reg = {.id = CORE_REG(regs.pc), .addr = (uintptr_t)&pc};

    memset(&init, 0, sizeof(init));
    if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
        say("not usable: KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
        return -1;
    }
    init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
    if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0) {
        say("not usable: KVM_ARM_VCPU_INIT: %s", strerror(errno));
        return -1;
    }
    if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0) {
        say("not usable: KVM_SET_ONE_REG (pc): %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The MMIO write once (state 1 after it), then SYSTEM_OFF. */
static int probe_exit(struct kvm_run *run, int *mmio)
{
    switch (run->exit_reason) {
    case KVM_EXIT_MMIO: {
        uint32_t v;

        memcpy(&v, run->mmio.data, sizeof(v));
        if (!run->mmio.is_write || run->mmio.phys_addr != PROBE_MMIO ||
            run->mmio.len != 4 || v != PROBE_VALUE || *mmio) {
            say("not usable: unexpected MMIO exit (%s of %u bytes at 0x%llx)",
                run->mmio.is_write ? "write" : "read", run->mmio.len,
                (unsigned long long)run->mmio.phys_addr);
            return -1;
        }
        *mmio = 1;
        return 0;
    }
    case KVM_EXIT_SYSTEM_EVENT:
        if (run->system_event.type != KVM_SYSTEM_EVENT_SHUTDOWN) {
            say("not usable: system event %u, not SHUTDOWN",
                run->system_event.type);
            return -1;
        }
        if (!*mmio) {
            say("not usable: SYSTEM_OFF before the guest's MMIO write");
            return -1;
        }
        return 1;
    default:
        say("not usable: guest did not reach SYSTEM_OFF: exit reason %u",
            run->exit_reason);
        return -1;
    }
}

const struct probe_arch probe_arch = {
    .goal = "SYSTEM_OFF",
    .reached = "aarch64 guest: an MMIO exit, then PSCI SYSTEM_OFF",
    .base = GUEST_BASE,
    .size = 0x10000ULL, /* a page on 4, 16 and 64 KiB hosts */
    .code = probe_code,
    .code_len = sizeof(probe_code),
    .check = check_kvm,
    .setup = setup_vcpu,
    .exit = probe_exit,
};

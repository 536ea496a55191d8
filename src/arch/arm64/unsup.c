/*
 * unsup.c: the arm64 side of the `unsupported` policies (vm/unsup.h).
 *
 *  - reference: an access to an address nothing decodes is a data abort
 *    KVM hands to qvm as KVM_EXIT_MMIO. `fail` raises a synchronous
 *    external data abort at the instruction (KVM_SET_VCPU_EVENTS
 *    ext_dabt_pending, KVM_CAP_ARM_INJECT_EXT_DABT), FAR_EL1 the address.
 *    Linux before 6.12 ("KVM: arm64: Don't retire aborted MMIO
 *    instruction") would still complete the MMIO on the next KVM_RUN and
 *    move the PC past the instruction: qvm marks the exit handled
 *    (exit_reason KVM_EXIT_UNKNOWN in kvm_run) so that KVM does not.
 *  - instruction and register: KVM never hands an instruction or a system
 *    register it cannot handle to user space on arm64 (it raises UNDEF in
 *    the guest itself); nothing to set up.
 */
#include <errno.h>
#include <string.h>

#include "arch/arm64/arch.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "arm64"

const char arch_reference_fault_name[] = "external data abort";

int arch_unsup_init(struct vm *vm)
{
    struct arm64_arch *a = arm64_arch(vm);
    a->ext_dabt = kvm_check_cap(&vm->kvm, KVM_CAP_ARM_INJECT_EXT_DABT) > 0;
    if (!a->ext_dabt && vm->spec->unsupported[UNSUP_REFERENCE] == UNSUP_FAIL)
        log_warn(TAG, "`unsupported reference fail` cannot raise data aborts: "
                      "this host's KVM cannot inject them "
                      "(KVM_CAP_ARM_INJECT_EXT_DABT); qvm ends instead");
    return 0;
}

int arch_insn_undefined(struct vcpu *vcpu)
{
    (void)vcpu;
    return -ENOSYS; /* not reached: no emulation failures on arm64 */
}

unsigned arch_insn_len(struct vcpu *vcpu, const uint8_t *bytes, unsigned n)
{
    (void)vcpu, (void)bytes, (void)n;
    return 4; /* A64 */
}

int arch_insn_skip(struct vcpu *vcpu, unsigned len)
{
    uint64_t pc;
    uint64_t id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
                  (offsetof(struct kvm_regs, regs.pc) / sizeof(uint32_t));
    int e = kvm_get_one_reg(vcpu->fd, id, &pc);
    if (e < 0)
        return e;
    pc += len;
    return kvm_set_one_reg(vcpu->fd, id, &pc);
}

int arch_reference_fault(struct vcpu *vcpu)
{
    struct arm64_arch *a = arm64_arch(vcpu->vm);
    if (!a->ext_dabt || vcpu->run->exit_reason != KVM_EXIT_MMIO)
        return -EOPNOTSUPP;
    struct kvm_vcpu_events ev;
    memset(&ev, 0, sizeof(ev));
    ev.exception.ext_dabt_pending = 1;
    int e = kvm_set_vcpu_events(vcpu->fd, &ev);
    if (e < 0)
        return e;
    vcpu->run->exit_reason = KVM_EXIT_UNKNOWN; /* not completed: see above */
    return 0;
}

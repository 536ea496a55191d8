/*
 * unsup.c: the x86 side of the `unsupported` policies (vm/unsup.h): what
 * KVM is asked to hand to qvm, and the exceptions qvm raises.
 *
 *  - instruction: KVM_CAP_EXIT_ON_EMULATION_FAILURE (Linux 5.15) makes
 *    KVM exit with KVM_INTERNAL_ERROR_EMULATION (and the instruction
 *    bytes it fetched) instead of raising #UD itself; qvm then raises #UD
 *    (KVM_SET_VCPU_EVENTS, an exception marked injected: delivered at the
 *    next entry, at the current RIP, which is the instruction's), skips it
 *    (its length from insn_len.c) or ends. Without the capability KVM has
 *    queued #UD already for ring-0 code (and raised it without exiting
 *    for other rings).
 *  - register: KVM_CAP_X86_USER_SPACE_MSR with KVM_MSR_EXIT_REASON_UNKNOWN
 *    (Linux 5.10): an rdmsr/wrmsr of an MSR KVM does not implement exits
 *    to qvm (KVM_EXIT_X86_RDMSR/WRMSR). MSRs KVM implements, including an
 *    access it refuses (a reserved bit: #GP from KVM), never reach the
 *    policy; no MSR filter is installed.
 *  - reference: #GP(0). For a port, the fault IN/OUT raise when the I/O
 *    permission check fails; for memory x86 has no fault for a physical
 *    address nothing decodes, and #GP(0) is the one every OS reports with
 *    the faulting instruction. KVM completes a port access or an MMIO read
 *    only when it is entered again, and then moves RIP past the
 *    instruction: qvm enters it once with immediate_exit (the documented
 *    way to complete a pending operation without running guest code),
 *    then puts back the registers read at the exit (RIP at the
 *    instruction, the destination register untouched) and injects #GP(0).
 *    KVM retires an MMIO write before it exits, so for a write the fault
 *    is reported at the next instruction.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/insn_len.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "x86"

#define EFER_LMA  (1ull << 10)
#define VEC_UD    6
#define VEC_GP    13
#define MAX_CHAIN 4096 /* I/O exits of one instruction (rep ins/outs) */

const char arch_reference_fault_name[] = "#GP(0)";

int arch_unsup_init(struct vm *vm)
{
    const struct vm_spec *spec = vm->spec;
    int e;
    if (kvm_check_cap(&vm->kvm, KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0 &&
        (e = kvm_enable_cap(&vm->kvm, KVM_CAP_EXIT_ON_EMULATION_FAILURE, 1)) <
            0)
        log_debug(TAG, "KVM_CAP_EXIT_ON_EMULATION_FAILURE: %s", strerror(-e));
    else if (kvm_check_cap(&vm->kvm, KVM_CAP_EXIT_ON_EMULATION_FAILURE) <= 0 &&
             spec->unsupported[UNSUP_INSTRUCTION] != UNSUP_FAIL)
        log_warn(TAG,
                 "this host's KVM raises #UD itself for guest code it cannot "
                 "emulate outside ring 0 (no "
                 "KVM_CAP_EXIT_ON_EMULATION_FAILURE): `unsupported "
                 "instruction` applies to ring-0 code only");
    e = -ENOSYS;
    if (kvm_check_cap(&vm->kvm, KVM_CAP_X86_USER_SPACE_MSR) > 0)
        e = kvm_enable_cap(&vm->kvm, KVM_CAP_X86_USER_SPACE_MSR,
                           KVM_MSR_EXIT_REASON_UNKNOWN);
    if (e < 0 && spec->unsupported[UNSUP_REGISTER] != UNSUP_FAIL)
        log_warn(TAG,
                 "`unsupported register %s` cannot apply: this host's KVM "
                 "does not hand unknown MSRs to qvm "
                 "(KVM_CAP_X86_USER_SPACE_MSR: %s); KVM raises #GP (fail)",
                 spec->unsupported[UNSUP_REGISTER] == UNSUP_ABORT ? "abort"
                                                                  : "ignore",
                 strerror(-e));
    return 0;
}

static int inject(struct vcpu *vcpu, uint8_t vec, bool has_err, uint32_t err)
{
    struct kvm_vcpu_events ev;
    int e = kvm_get_vcpu_events(vcpu->fd, &ev);
    if (e < 0)
        return e;
    ev.exception.injected = 1;
    ev.exception.pending = 0;
    ev.exception.nr = vec;
    ev.exception.has_error_code = has_err;
    ev.exception.error_code = err;
    ev.exception_has_payload = 0;
    ev.exception_payload = 0;
    return kvm_set_vcpu_events(vcpu->fd, &ev);
}

int arch_insn_undefined(struct vcpu *vcpu)
{
    return inject(vcpu, VEC_UD, false, 0);
}

static enum x86_cpu_mode cpu_mode(const struct kvm_sregs *s)
{
    if ((s->efer & EFER_LMA) && s->cs.l)
        return X86_MODE_64;
    return s->cs.db ? X86_MODE_32 : X86_MODE_16;
}

unsigned arch_insn_len(struct vcpu *vcpu, const uint8_t *bytes, unsigned n)
{
    struct kvm_sregs s;
    struct kvm_regs r;
    if (kvm_get_sregs(vcpu->fd, &s) < 0)
        return 0;
    enum x86_cpu_mode mode = cpu_mode(&s);
    unsigned len = n ? x86_insn_len(bytes, n, mode) : 0;
    if (len)
        return len;
    /* KVM gave no bytes, or too few (it stops at a page end): read them
     * through the guest's page tables. */
    uint8_t buf[15];
    if (kvm_get_regs(vcpu->fd, &r) < 0)
        return 0;
    n = x86_fetch_code(vcpu, &s, r.rip, buf, sizeof(buf), NULL, NULL);
    return x86_insn_len(buf, n, mode);
}

int arch_insn_skip(struct vcpu *vcpu, unsigned len)
{
    struct kvm_sregs s;
    struct kvm_regs r;
    int e = kvm_get_sregs(vcpu->fd, &s);
    if (e >= 0)
        e = kvm_get_regs(vcpu->fd, &r);
    if (e < 0)
        return e;
    switch (cpu_mode(&s)) {
    case X86_MODE_64:
        r.rip += len;
        break;
    case X86_MODE_32:
        r.rip = (r.rip + len) & 0xffffffffull;
        break;
    default:
        r.rip = (r.rip + len) & 0xffffull;
        break;
    }
    e = kvm_set_regs(vcpu->fd, &r);
    if (e < 0)
        return e;
    /* A KVM without KVM_CAP_EXIT_ON_EMULATION_FAILURE queued #UD. */
    struct kvm_vcpu_events ev;
    e = kvm_get_vcpu_events(vcpu->fd, &ev);
    if (e < 0 || !(ev.exception.injected || ev.exception.pending) ||
        ev.exception.nr != VEC_UD)
        return e;
    ev.exception.injected = ev.exception.pending = 0;
    ev.exception_has_payload = 0;
    return kvm_set_vcpu_events(vcpu->fd, &ev);
}

/* All ones for what the pending access reads. */
static void read_ones(struct vcpu *vcpu, struct kvm_run *run)
{
    if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write) {
        memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
    } else if (run->exit_reason == KVM_EXIT_IO &&
               run->io.direction == KVM_EXIT_IO_IN) {
        uint64_t off = run->io.data_offset;
        uint64_t span = (uint64_t)run->io.size * run->io.count;
        if (off <= vcpu->vm->kvm.run_size &&
            span <= vcpu->vm->kvm.run_size - off)
            memset((unsigned char *)run + off, 0xff, (size_t)span);
    }
}

int arch_reference_fault(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    struct kvm_regs r0;
    int e = kvm_get_regs(vcpu->fd, &r0);
    if (e < 0)
        return e;
    /* Complete the access (and any further I/O exit of the same
     * instruction: a string operation, a split access) without running
     * guest code. */
    for (unsigned i = 0;; i++) {
        if (i == MAX_CHAIN || (run->exit_reason != KVM_EXIT_IO &&
                               run->exit_reason != KVM_EXIT_MMIO)) {
            log_error(TAG,
                      "vCPU %u: cannot complete the access before the fault "
                      "(exit %u)",
                      vcpu->id, run->exit_reason);
            e = -EIO;
            break;
        }
        read_ones(vcpu, run);
        __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        e = kvm_vcpu_run(vcpu->fd);
        if (e == -EINTR) {
            e = 0;
            break;
        }
        if (e < 0)
            break;
    }
    if (!vm_stopping(vcpu->vm))
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (e < 0)
        return e;
    e = kvm_set_regs(vcpu->fd, &r0);
    if (e < 0)
        return e;
    return inject(vcpu, VEC_GP, true, 0);
}

/*
 * exit.c: KVM exit dispatch, a table indexed by kvm_run->exit_reason
 * (style guide section 5). Handlers return true to keep running. What the
 * guest does that qvm cannot or does not emulate is policy, not an error:
 * the `unsupported` policies (vm/unsup.h) decide. Unmapped ports and
 * addresses (reference: ignore, the default, reads all ones and drops
 * writes; fail, #GP(0); abort, 5), instructions KVM cannot emulate
 * (instruction: fail, the default, #UD; ignore, skipped; abort, 5) and
 * MSRs KVM does not implement (register: fail, the default, #GP; ignore,
 * reads 0 and drops writes; abort, 5). Every guest-driven line is
 * rate-limited.
 */
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "vm/dumper.h"
#include "vm/machine.h"
#include "vm/unsup.h"

#define TAG "exit"

static struct log_budget unmapped_rl = LOG_BUDGET_INIT(10, 5000);
static struct log_budget insn_rl = LOG_BUDGET_INIT(10, 5000);
static struct log_budget msr_rl = LOG_BUDGET_INIT(10, 5000);

static const char *const act_name[] = {
    [UNSUP_ABORT] = "abort", [UNSUP_FAIL] = "fail", [UNSUP_IGNORE] = "ignore"};

static void log_unmapped(struct vcpu *vcpu, const char *space, uint64_t addr,
                         unsigned size, bool is_write, uint64_t val,
                         const char *outcome)
{
    uint64_t pc = arch_vcpu_pc(vcpu);
    if (is_write)
        log_guest(&unmapped_rl, LOG_WARN, TAG,
                  "vCPU %u: %u-byte write of 0x%llx to unmapped %s "
                  "0x%llx (pc 0x%llx): %s",
                  vcpu->id, size, (unsigned long long)val, space,
                  (unsigned long long)addr, (unsigned long long)pc,
                  outcome ? outcome : "dropped");
    else
        log_guest(&unmapped_rl, LOG_WARN, TAG,
                  "vCPU %u: %u-byte read from unmapped %s 0x%llx "
                  "(pc 0x%llx): %s",
                  vcpu->id, size, space, (unsigned long long)addr,
                  (unsigned long long)pc, outcome ? outcome : "all ones");
}

/*
 * An access to an unmapped port or address under `unsupported reference`:
 * abort ends qvm with 5, fail raises the access fault (#GP(0) on x86,
 * arch_reference_fault), ignore lets the caller return all ones / drop.
 * Returns true when the caller must not go on with the access (the vCPU
 * stops when vm_stopping()).
 */
static bool reference_policy(struct vcpu *vcpu, const char *space,
                             uint64_t addr, unsigned size, bool is_write,
                             uint64_t val)
{
    switch (unsup_do(vcpu->vm->spec->unsupported[UNSUP_REFERENCE])) {
    case UNSUP_DO_ABORT:
        log_error(TAG,
                  "vCPU %u: %u-byte %s unmapped %s 0x%llx (pc 0x%llx): "
                  "unsupported reference abort",
                  vcpu->id, size, is_write ? "write to" : "read from", space,
                  (unsigned long long)addr,
                  (unsigned long long)arch_vcpu_pc(vcpu));
        arch_vcpu_dump(vcpu, "unsupported reference");
        vm_dump_on_fault(vcpu->vm, "unsupported reference abort");
        vm_request_stop(vcpu->vm, STOP_UNSUPPORTED);
        return true;
    case UNSUP_DO_FAULT: {
        char what[64];
        snprintf(what, sizeof(what), "%s (unsupported reference fail)",
                 arch_reference_fault_name);
        log_unmapped(vcpu, space, addr, size, is_write, val, what);
        int e = arch_reference_fault(vcpu);
        if (e < 0) {
            log_error(TAG, "vCPU %u: cannot raise the fault: %s", vcpu->id,
                      strerror(-e));
            vm_request_stop(vcpu->vm, STOP_INTERNAL);
        }
        return true;
    }
    default:
        log_unmapped(vcpu, space, addr, size, is_write, val, NULL);
        return false;
    }
}

/* String I/O (count > 1) and malformed exits. */
static NOINLINE bool exit_io_slow(struct vcpu *vcpu, struct kvm_run *run)
{
    bool wr = run->io.direction == KVM_EXIT_IO_OUT;
    unsigned size = run->io.size;
    uint64_t off = run->io.data_offset, span;
    /* The data area lies inside the kvm_run mapping; check it anyway. */
    span = (uint64_t)size * run->io.count;
    if (off + span > vcpu->vm->kvm.run_size || size == 0 || size > 4) {
        log_error(TAG, "vCPU %u: malformed I/O exit", vcpu->id);
        vm_request_stop(vcpu->vm, STOP_INTERNAL);
        return false;
    }
    unsigned char *data = (unsigned char *)run + off;
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        if (bus_access(&vcpu->vm->pio, run->io.port, data, size, wr) !=
            BUS_OK) {
            uint64_t v = 0;
            memcpy(&v, data, size);
            if (reference_policy(vcpu, "port", run->io.port, size, wr, v))
                return !vm_stopping(vcpu->vm);
        }
    }
    return true;
}

/* The vCPU of this thread (exit_thread_init): exit_io's slow path finds
 * it here, so that its fast path keeps nothing across bus_access. */
static _Thread_local struct vcpu *self __attribute__((tls_model("local-exec")));

void exit_thread_init(struct vcpu *vcpu)
{
    self = vcpu;
}

static NOINLINE bool io_unmapped(void)
{
    struct vcpu *vcpu = self;
    struct kvm_run *run = vcpu->run;
    unsigned size = run->io.size;
    uint64_t v = 0;
    memcpy(&v, (unsigned char *)run + run->io.data_offset, size);
    bool wr = run->io.direction == KVM_EXIT_IO_OUT;
    if (reference_policy(vcpu, "port", run->io.port, size, wr, v))
        return !vm_stopping(vcpu->vm);
    return true;
}

/* The common case inline (one access of 1, 2 or 4 bytes to a mapped
 * port), the rest out of line: bench/README.md, "Per exit". */
static bool exit_io(struct vcpu *vcpu, struct kvm_run *run)
{
    unsigned size = run->io.size;
    uint64_t off = run->io.data_offset;
    struct vm *vm = vcpu->vm;
    /* The data area lies inside the kvm_run mapping; check it anyway. */
    if (UNLIKELY(run->io.count != 1 || size - 1 > 3 ||
                 off + size > vm->kvm.run_size))
        return exit_io_slow(vcpu, run);
    if (LIKELY(bus_access(&vm->pio, run->io.port, (unsigned char *)run + off,
                          size,
                          run->io.direction == KVM_EXIT_IO_OUT) == BUS_OK))
        return true;
    return io_unmapped();
}

static bool exit_mmio(struct vcpu *vcpu, struct kvm_run *run)
{
    unsigned len = run->mmio.len;
    if (len == 0 || len > sizeof(run->mmio.data)) {
        log_error(TAG, "vCPU %u: malformed MMIO exit", vcpu->id);
        vm_request_stop(vcpu->vm, STOP_INTERNAL);
        return false;
    }
    if (bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
                   run->mmio.is_write) != BUS_OK) {
        uint64_t v = 0;
        memcpy(&v, run->mmio.data, len);
        bool rom = gmem_ptr(&vcpu->vm->mem, run->mmio.phys_addr, 1) != NULL;
        if (rom) /* a write to ROM: dropped, whatever the policy */
            log_unmapped(vcpu, "(rom) address", run->mmio.phys_addr, len,
                         run->mmio.is_write, v, NULL);
        else if (reference_policy(vcpu, "address", run->mmio.phys_addr, len,
                                  run->mmio.is_write, v))
            return !vm_stopping(vcpu->vm);
    }
    return true;
}

static bool exit_hlt(struct vcpu *vcpu, struct kvm_run *run)
{
    (void)run;
    /* Only seen without an in-kernel irqchip: nothing can wake it. */
    log_info(TAG,
             "guest halted (vCPU %u executed hlt with no interrupt "
             "controller)",
             vcpu->id);
    vm_request_stop(vcpu->vm, STOP_POWEROFF);
    return false;
}

static bool exit_shutdown(struct vcpu *vcpu, struct kvm_run *run)
{
    (void)run;
    log_info(TAG, "guest reset (triple fault) on vCPU %u", vcpu->id);
    vm_dump_on_fault(vcpu->vm, "triple fault");
    vm_request_stop(vcpu->vm, STOP_RESET);
    return false;
}

static bool exit_system_event(struct vcpu *vcpu, struct kvm_run *run)
{
    switch (run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        log_info(TAG, "guest powered off (system event)");
        vm_request_stop(vcpu->vm, STOP_POWEROFF);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        log_info(TAG, "guest reset (system event)");
        vm_request_stop(vcpu->vm, STOP_RESET);
        break;
    default:
        log_fatal(TAG, "vCPU %u: system event %u (guest crash)", vcpu->id,
                  run->system_event.type);
        arch_vcpu_dump(vcpu, "system event");
        vm_dump_on_fault(vcpu->vm, "guest crash");
        vm_request_stop(vcpu->vm, STOP_FATAL);
        break;
    }
    return false;
}

static bool exit_fail_entry(struct vcpu *vcpu, struct kvm_run *run)
{
    log_fatal(
        TAG,
        "vCPU %u: KVM could not enter the guest (hardware "
        "reason 0x%llx)",
        vcpu->id,
        (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
    arch_vcpu_dump(vcpu, "entry failure");
    vm_dump_on_fault(vcpu->vm, "entry failure");
    vm_request_stop(vcpu->vm, STOP_FATAL);
    return false;
}

/*
 * An instruction KVM cannot emulate, under `unsupported instruction`.
 * KVM gives the bytes it fetched when it could (none for code in memory
 * that is not RAM or ROM).
 */
static bool unsupported_insn(struct vcpu *vcpu, struct kvm_run *run)
{
    const uint8_t *bytes = NULL;
    unsigned n = 0;
    if (run->emulation_failure.ndata >= 3 &&
        (run->emulation_failure.flags &
         KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
        bytes = run->emulation_failure.insn_bytes;
        n = run->emulation_failure.insn_size;
        if (n > sizeof(run->emulation_failure.insn_bytes))
            n = sizeof(run->emulation_failure.insn_bytes);
    }
    enum unsup_action a = vcpu->vm->spec->unsupported[UNSUP_INSTRUCTION];
    uint64_t pc = arch_vcpu_pc(vcpu);
    unsigned len = a == UNSUP_IGNORE ? arch_insn_len(vcpu, bytes, n) : 0;
    bool no_len;
    enum unsup_do d = unsup_insn_do(a, len, &no_len);
    /* The bytes KVM fetched (up to 15), or the instruction's when
     * skipped. */
    unsigned show = d == UNSUP_DO_IGNORE && len < n ? len : n;
    char hex[48] = "";
    for (unsigned i = 0, k = 0; i < show && i < 15; i++)
        k += (unsigned)snprintf(hex + k, sizeof(hex) - k, " %02x", bytes[i]);
    int e = 0;
    switch (d) {
    case UNSUP_DO_ABORT:
        log_fatal(TAG,
                  "vCPU %u: KVM internal error %u (instruction emulation "
                  "failed); this host's KVM cannot run this guest code "
                  "(unsupported instruction abort)",
                  vcpu->id, KVM_INTERNAL_ERROR_EMULATION);
        arch_vcpu_dump(vcpu, "internal error");
        vm_dump_on_fault(vcpu->vm, "unsupported instruction abort");
        vm_request_stop(vcpu->vm, STOP_UNSUPPORTED);
        return false;
    case UNSUP_DO_IGNORE:
        log_guest(&insn_rl, LOG_WARN, TAG,
                  "vCPU %u: instruction KVM cannot emulate at pc 0x%llx "
                  "(%u bytes%s%s): skipped (unsupported instruction ignore)",
                  vcpu->id, (unsigned long long)pc, len, show ? ":" : "", hex);
        e = arch_insn_skip(vcpu, len);
        break;
    default:
        log_guest(
            &insn_rl, LOG_WARN, TAG,
            "vCPU %u: instruction KVM cannot emulate at pc 0x%llx "
            "(bytes:%s): #UD (unsupported instruction %s%s)",
            vcpu->id, (unsigned long long)pc, n ? hex : " unknown", act_name[a],
            no_len ? "; its length is unknown, so it cannot be skipped" : "");
        e = arch_insn_undefined(vcpu);
        break;
    }
    if (e < 0) {
        log_fatal(TAG, "vCPU %u: cannot apply `unsupported instruction %s`: %s",
                  vcpu->id, act_name[a], strerror(-e));
        arch_vcpu_dump(vcpu, "internal error");
        vm_request_stop(vcpu->vm, STOP_FATAL);
        return false;
    }
    return true;
}

static bool exit_internal_error(struct vcpu *vcpu, struct kvm_run *run)
{
    static const char *const sub[] = {
        [KVM_INTERNAL_ERROR_EMULATION] = "instruction emulation failed",
        [KVM_INTERNAL_ERROR_SIMUL_EX] = "exception during event delivery",
        [KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
    };
    uint32_t s = run->internal.suberror;
    if (s == KVM_INTERNAL_ERROR_EMULATION)
        return unsupported_insn(vcpu, run);
    const char *what = s < ARRAY_SIZE(sub) && sub[s] ? sub[s] : "unknown";
    log_fatal(TAG,
              "vCPU %u: KVM internal error %u (%s); this host's KVM "
              "cannot run this guest code",
              vcpu->id, s, what);
    arch_vcpu_dump(vcpu, "internal error");
    vm_dump_on_fault(vcpu->vm, "KVM internal error");
    vm_request_stop(vcpu->vm, STOP_FATAL);
    return false;
}

/*
 * An MSR KVM does not implement (KVM_MSR_EXIT_REASON_UNKNOWN), under
 * `unsupported register`: fail, #GP(0) at the instruction (KVM raises it
 * for msr.error); ignore, reads 0 and writes dropped; abort, 5.
 */
static bool exit_msr(struct vcpu *vcpu, struct kvm_run *run)
{
    bool wr = run->exit_reason == KVM_EXIT_X86_WRMSR;
    enum unsup_action a = vcpu->vm->spec->unsupported[UNSUP_REGISTER];
    uint32_t idx = run->msr.index;
    unsigned long long val = wr ? (unsigned long long)run->msr.data : 0;
    uint64_t pc = arch_vcpu_pc(vcpu);
    char what[64];
    if (wr)
        snprintf(what, sizeof(what), "wrmsr 0x%x value 0x%llx", idx, val);
    else
        snprintf(what, sizeof(what), "rdmsr 0x%x", idx);
    switch (unsup_do(a)) {
    case UNSUP_DO_ABORT:
        log_error(TAG,
                  "vCPU %u: %s (pc 0x%llx): an MSR KVM does not implement: "
                  "unsupported register abort",
                  vcpu->id, what, (unsigned long long)pc);
        arch_vcpu_dump(vcpu, "unsupported register");
        vm_dump_on_fault(vcpu->vm, "unsupported register abort");
        vm_request_stop(vcpu->vm, STOP_UNSUPPORTED);
        return false;
    case UNSUP_DO_IGNORE:
        log_guest(&msr_rl, LOG_WARN, TAG,
                  "vCPU %u: %s (pc 0x%llx): an MSR KVM does not implement: "
                  "%s (unsupported register ignore)",
                  vcpu->id, what, (unsigned long long)pc,
                  wr ? "dropped" : "reads 0");
        if (!wr)
            run->msr.data = 0;
        run->msr.error = 0;
        return true;
    default:
        log_guest(&msr_rl, LOG_INFO, TAG,
                  "vCPU %u: %s (pc 0x%llx): an MSR KVM does not implement: "
                  "#GP (unsupported register fail)",
                  vcpu->id, what, (unsigned long long)pc);
        run->msr.error = 1;
        return true;
    }
}

static bool exit_continue(struct vcpu *vcpu, struct kvm_run *run)
{
    (void)vcpu, (void)run;
    return true;
}

static bool exit_ioapic_eoi(struct vcpu *vcpu, struct kvm_run *run)
{
    arch_ioapic_eoi(vcpu->vm, run->eoi.vector);
    return true;
}

const exit_fn exit_table[EXIT_TABLE_LEN] = {
    [KVM_EXIT_IOAPIC_EOI] = exit_ioapic_eoi,
    [KVM_EXIT_IO] = exit_io,
    [KVM_EXIT_MMIO] = exit_mmio,
    [KVM_EXIT_HLT] = exit_hlt,
    [KVM_EXIT_SHUTDOWN] = exit_shutdown,
    [KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
    [KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
    [KVM_EXIT_INTERNAL_ERROR] = exit_internal_error,
    [KVM_EXIT_X86_RDMSR] = exit_msr,
    [KVM_EXIT_X86_WRMSR] = exit_msr,
    [KVM_EXIT_INTR] = exit_continue,
    [KVM_EXIT_IRQ_WINDOW_OPEN] = exit_continue,
};

bool exit_unexpected(struct vcpu *vcpu, uint32_t r)
{
    log_fatal(TAG, "vCPU %u: unexpected KVM exit reason %u", vcpu->id, r);
    arch_vcpu_dump(vcpu, "unexpected exit");
    vm_dump_on_fault(vcpu->vm, "unexpected exit");
    vm_request_stop(vcpu->vm, STOP_FATAL);
    return false;
}

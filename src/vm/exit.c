/*
 * exit.c: KVM exit dispatch, a table indexed by kvm_run->exit_reason
 * (style guide section 5). Handlers return true to keep running. Guest
 * accesses to nothing are policy, not errors: unmapped reads return all
 * ones, writes are dropped, both logged with a rate limit.
 */
#include <string.h>

#include "util/log.h"
#include "vm/dumper.h"
#include "vm/machine.h"

#define TAG "exit"

typedef bool (*exit_fn)(struct vcpu *vcpu, struct kvm_run *run);

static struct log_budget unmapped_rl = LOG_BUDGET_INIT(10, 5000);

static void log_unmapped(struct vcpu *vcpu, const char *space, uint64_t addr,
                         unsigned size, bool is_write, uint64_t val)
{
    uint64_t pc = arch_vcpu_pc(vcpu);
    if (is_write)
        log_guest(&unmapped_rl, LOG_WARN, TAG,
                  "vCPU %u: %u-byte write of 0x%llx to unmapped %s "
                  "0x%llx (pc 0x%llx): dropped",
                  vcpu->id, size, (unsigned long long)val, space,
                  (unsigned long long)addr, (unsigned long long)pc);
    else
        log_guest(&unmapped_rl, LOG_WARN, TAG,
                  "vCPU %u: %u-byte read from unmapped %s 0x%llx "
                  "(pc 0x%llx): all ones",
                  vcpu->id, size, space, (unsigned long long)addr,
                  (unsigned long long)pc);
}

/*
 * `unsupported reference abort`: an access to an unmapped port or address
 * ends qvm with status 5. Returns true when the vCPU must stop.
 */
static bool reference_abort(struct vcpu *vcpu, const char *space, uint64_t addr,
                            unsigned size, bool is_write)
{
    if (vcpu->vm->spec->unsupported[UNSUP_REFERENCE] != UNSUP_ABORT)
        return false;
    log_error(TAG,
              "vCPU %u: %u-byte %s unmapped %s 0x%llx (pc 0x%llx): "
              "unsupported reference abort",
              vcpu->id, size, is_write ? "write to" : "read from", space,
              (unsigned long long)addr, (unsigned long long)arch_vcpu_pc(vcpu));
    arch_vcpu_dump(vcpu, "unsupported reference");
    vm_dump_on_fault(vcpu->vm, "unsupported reference abort");
    vm_request_stop(vcpu->vm, STOP_UNSUPPORTED);
    return true;
}

static bool exit_io(struct vcpu *vcpu, struct kvm_run *run)
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
            if (reference_abort(vcpu, "port", run->io.port, size, wr))
                return false;
            log_unmapped(vcpu, "port", run->io.port, size, wr, v);
        }
    }
    return true;
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
        const char *what = gmem_ptr(&vcpu->vm->mem, run->mmio.phys_addr, 1)
                               ? "(rom) address"
                               : "address";
        if (!gmem_ptr(&vcpu->vm->mem, run->mmio.phys_addr, 1) &&
            reference_abort(vcpu, what, run->mmio.phys_addr, len,
                            run->mmio.is_write))
            return false;
        log_unmapped(vcpu, what, run->mmio.phys_addr, len, run->mmio.is_write,
                     v);
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

static bool exit_internal_error(struct vcpu *vcpu, struct kvm_run *run)
{
    static const char *const sub[] = {
        [KVM_INTERNAL_ERROR_EMULATION] = "instruction emulation failed",
        [KVM_INTERNAL_ERROR_SIMUL_EX] = "exception during event delivery",
        [KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
    };
    uint32_t s = run->internal.suberror;
    const char *what = s < ARRAY_SIZE(sub) && sub[s] ? sub[s] : "unknown";
    bool abort = s == KVM_INTERNAL_ERROR_EMULATION &&
                 vcpu->vm->spec->unsupported[UNSUP_INSTRUCTION] == UNSUP_ABORT;
    log_fatal(TAG,
              "vCPU %u: KVM internal error %u (%s); this host's KVM "
              "cannot run this guest code%s",
              vcpu->id, s, what,
              abort ? " (unsupported instruction abort)" : "");
    arch_vcpu_dump(vcpu, "internal error");
    vm_dump_on_fault(vcpu->vm, abort ? "unsupported instruction abort"
                                     : "KVM internal error");
    vm_request_stop(vcpu->vm, abort ? STOP_UNSUPPORTED : STOP_FATAL);
    return false;
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

static const exit_fn exit_table[] = {
    [KVM_EXIT_IOAPIC_EOI] = exit_ioapic_eoi,
    [KVM_EXIT_IO] = exit_io,
    [KVM_EXIT_MMIO] = exit_mmio,
    [KVM_EXIT_HLT] = exit_hlt,
    [KVM_EXIT_SHUTDOWN] = exit_shutdown,
    [KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
    [KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
    [KVM_EXIT_INTERNAL_ERROR] = exit_internal_error,
    [KVM_EXIT_INTR] = exit_continue,
    [KVM_EXIT_IRQ_WINDOW_OPEN] = exit_continue,
};

bool exit_dispatch(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    uint32_t r = run->exit_reason;
    if (r < ARRAY_SIZE(exit_table) && exit_table[r])
        return exit_table[r](vcpu, run);
    log_fatal(TAG, "vCPU %u: unexpected KVM exit reason %u", vcpu->id, r);
    arch_vcpu_dump(vcpu, "unexpected exit");
    vm_dump_on_fault(vcpu->vm, "unexpected exit");
    vm_request_stop(vcpu->vm, STOP_FATAL);
    return false;
}

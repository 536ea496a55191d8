/*
 * arm64.c: arm64 VM and vCPU set-up on KVM (arch.h for the order).
 *   VM: KVM's default IPA space (40 bits; every region must lie below
 *       1 TiB), the in-kernel vGIC (gic.c).
 *   vCPUs: KVM_ARM_PREFERRED_TARGET, KVM_ARM_VCPU_INIT with PSCI 0.2;
 *       vCPU 0 runs, the others start powered off (KVM_ARM_VCPU_POWER_OFF)
 *       until the guest's PSCI CPU_ON, which KVM handles itself.
 *   Boot (Linux Documentation/arch/arm64/booting.rst): PC = the entry,
 *       x0 = the device tree, x1-x3 = 0, PSTATE = EL1h with D, A, I and F
 *       masked, MMU and caches off (KVM's reset state of SCTLR_EL1).
 *   PSCI SYSTEM_OFF and SYSTEM_RESET reach qvm as KVM_EXIT_SYSTEM_EVENT
 *       (vm/exit.c: exit codes as on x86).
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/arch.h"
#include "arch/arm64/core_notes.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "arm64"

const uint16_t arch_core_machine = EM_AARCH64;

/* A core register's KVM_{GET,SET}_ONE_REG ID (offset in 32-bit words). */
#define CORE_REG(off)                                                          \
    (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                     \
     (uint64_t)((off) / sizeof(uint32_t)))
#define REG_X(n)   CORE_REG(offsetof(struct kvm_regs, regs.regs) + 8 * (n))
#define REG_SP     CORE_REG(offsetof(struct kvm_regs, regs.sp))
#define REG_PC     CORE_REG(offsetof(struct kvm_regs, regs.pc))
#define REG_PSTATE CORE_REG(offsetof(struct kvm_regs, regs.pstate))
#define REG_SP_EL1 CORE_REG(offsetof(struct kvm_regs, sp_el1))
#define REG_ELR    CORE_REG(offsetof(struct kvm_regs, elr_el1))
#define REG_SPSR   CORE_REG(offsetof(struct kvm_regs, spsr[KVM_SPSR_EL1]))
/* System registers (op0, op1, CRn, CRm, op2). */
#define SYSREG_ESR_EL1   ARM64_SYS_REG(3, 0, 5, 2, 0)
#define SYSREG_FAR_EL1   ARM64_SYS_REG(3, 0, 6, 0, 0)
#define SYSREG_SCTLR_EL1 ARM64_SYS_REG(3, 0, 1, 0, 0)
#define SYSREG_VBAR_EL1  ARM64_SYS_REG(3, 0, 12, 0, 0)
#define SYSREG_MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)
#define SYSREG_TCR_EL1   ARM64_SYS_REG(3, 0, 2, 0, 2)
#define SYSREG_TTBR0_EL1 ARM64_SYS_REG(3, 0, 2, 0, 0)
#define SYSREG_TTBR1_EL1 ARM64_SYS_REG(3, 0, 2, 0, 1)
#define SYSREG_MAIR_EL1  ARM64_SYS_REG(3, 0, 10, 2, 0)

/* EL1h (M = 0b0101), D, A, I, F masked. */
#define PSTATE_BOOT 0x3c5ull

struct arm64_arch *arm64_arch(struct vm *vm)
{
    return vm->arch;
}

/* The highest guest-physical address the configuration uses (RAM, ROM,
 * the GIC's windows), for KVM's IPA limit. */
static uint64_t top_of_guest(struct vm *vm)
{
    const struct vm_spec *spec = vm->spec;
    const struct arm64_gic *g = &arm64_arch(vm)->gic;
    uint64_t top = 0;
    for (size_t i = 0; i < spec->mem.n; i++) {
        uint64_t e = spec->mem.v[i].base + spec->mem.v[i].size;
        if (e > top)
            top = e;
    }
    unsigned n = spec->cpus.n ? (unsigned)spec->cpus.n : 1;
    uint64_t r = g->redist +
                 (g->v2 ? ARM64_GICC_V2_SIZE : ARM64_GICR_STRIDE * (uint64_t)n);
    return r > top ? r : top;
}

int arch_vm_init(struct vm *vm)
{
    struct arm64_arch *a = calloc(1, sizeof(*a));
    if (!a) {
        log_fatal(TAG, "out of memory");
        return -ENOMEM;
    }
    vm->arch = a;
    a->gic.fd = -1;
    int e = arm64_gic_create(vm);
    if (e < 0)
        return e;
    uint64_t top = top_of_guest(vm);
    if (top > (1ull << ARM64_IPA_BITS)) {
        log_fatal(TAG,
                  "the guest's physical address space reaches 0x%llx; "
                  "qvm gives it KVM's default %d bits (up to 0x%llx)",
                  (unsigned long long)top, ARM64_IPA_BITS,
                  (unsigned long long)(1ull << ARM64_IPA_BITS));
        return -ERANGE;
    }
    e = kvm_arm_preferred_target(&vm->kvm, &a->init);
    if (e < 0) {
        log_fatal(TAG, "KVM_ARM_PREFERRED_TARGET: %s", strerror(-e));
        return e;
    }
    a->init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
    a->have_target = true;
    /* No KVM GSI routing or MSIs yet (no ITS): devices raise their SPIs
     * with KVM_IRQ_LINE. */
    vm->has_irqchip = false;
    return arch_unsup_init(vm);
}

void arch_vm_free(struct vm *vm)
{
    if (!vm->arch)
        return;
    arm64_gic_free(vm);
    free(vm->arch);
    vm->arch = NULL;
}

int arch_vcpu_init(struct vcpu *vcpu)
{
    struct arm64_arch *a = arm64_arch(vcpu->vm);
    struct kvm_vcpu_init init = a->init;
    if (vcpu->id != 0)
        init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
    int e = kvm_arm_vcpu_init(vcpu->fd, &init);
    if (e < 0)
        log_fatal(TAG, "vCPU %u: KVM_ARM_VCPU_INIT (target %u, PSCI 0.2): %s",
                  vcpu->id, init.target, strerror(-e));
    return e;
}

static int set_reg(struct vcpu *vcpu, uint64_t id, uint64_t val,
                   const char *what)
{
    int e = kvm_set_one_reg(vcpu->fd, id, &val);
    if (e < 0)
        log_fatal(TAG, "vCPU %u: cannot set %s: %s", vcpu->id, what,
                  strerror(-e));
    return e;
}

/* x0..x3 of the boot protocol: the loader's (x0: the device tree). */
static void boot_args(const struct boot_state *bs, uint64_t x[4])
{
    memcpy(x, bs->x, sizeof(bs->x));
}

int arch_vcpu_boot(struct vcpu *vcpu, const struct boot_state *bs)
{
    /* Every vCPU exists now: the vGIC can be initialised. */
    int e = arm64_gic_init(vcpu->vm);
    if (e < 0)
        return e;
    if (bs->mode == BOOT_NONE) {
        log_fatal(TAG, "nothing to run: no `load` gave an entry point");
        return -ENOEXEC;
    }
    if ((e = arm64_write_fdt(vcpu->vm, bs)) < 0)
        return e;
    uint64_t x[4];
    boot_args(bs, x);
    for (int i = 0; i < 4; i++)
        if ((e = set_reg(vcpu, REG_X(i), x[i], "x0-x3")) < 0)
            return e;
    if ((e = set_reg(vcpu, REG_PSTATE, PSTATE_BOOT, "PSTATE")) < 0 ||
        (e = set_reg(vcpu, REG_PC, bs->entry, "PC")) < 0)
        return e;
    log_debug(TAG, "vCPU 0 starts at 0x%llx (EL1h, x0 0x%llx)",
              (unsigned long long)bs->entry, (unsigned long long)x[0]);
    return 0;
}

int arch_firmware_init(struct vm *vm)
{
    (void)vm; /* the device tree is built here once the FDT generator is in */
    return 0;
}

int arch_msi_route_alloc(struct vm *vm)
{
    (void)vm;
    return -ENOSYS; /* no ITS yet */
}

int arch_msi_route_set(struct vm *vm, int gsi, bool valid, uint64_t addr,
                       uint32_t data)
{
    (void)vm, (void)gsi, (void)valid, (void)addr, (void)data;
    return -ENOSYS;
}

void arch_vcpu_pre_run(struct vcpu *vcpu)
{
    (void)vcpu;
}

bool arch_vcpu_has_pre_run(struct vcpu *vcpu)
{
    (void)vcpu;
    return false;
}

uint64_t arch_vcpu_pc(struct vcpu *vcpu)
{
    uint64_t pc = 0;
    if (kvm_get_one_reg(vcpu->fd, REG_PC, &pc) < 0)
        return 0;
    return pc;
}

/* ---- registers for messages and dumps ----------------------------------- */

static bool read_regs(struct vcpu *vcpu, struct arm64_core_cpu *r)
{
    memset(r, 0, sizeof(*r));
    if (vcpu->fd < 0)
        return false;
    for (int i = 0; i < 31; i++)
        if (kvm_get_one_reg(vcpu->fd, REG_X(i), &r->x[i]) < 0)
            return false;
    r->valid = kvm_get_one_reg(vcpu->fd, REG_SP, &r->sp) == 0 &&
               kvm_get_one_reg(vcpu->fd, REG_PC, &r->pc) == 0 &&
               kvm_get_one_reg(vcpu->fd, REG_PSTATE, &r->pstate) == 0;
    return r->valid;
}

void arch_vcpu_dump(struct vcpu *vcpu, const char *why)
{
    struct arm64_core_cpu r;
    if (!read_regs(vcpu, &r)) {
        log_error(TAG, "vCPU %u (%s): registers unavailable", vcpu->id, why);
        return;
    }
    log_error(TAG,
              "vCPU %u (%s): pc %016" PRIx64 " pstate %08" PRIx64
              " sp %016" PRIx64,
              vcpu->id, why, r.pc, r.pstate, r.sp);
    for (int i = 0; i < 31; i += 4) {
        char line[160];
        int n = 0;
        for (int k = i; k < i + 4 && k < 31; k++)
            n += snprintf(line + n, sizeof(line) - (size_t)n,
                          "%sx%-2d %016" PRIx64, k > i ? "  " : "", k, r.x[k]);
        log_error(TAG, "  %s", line);
    }
    uint64_t sp1 = 0, elr = 0, esr = 0, far = 0, sctlr = 0, vbar = 0;
    (void)!kvm_get_one_reg(vcpu->fd, REG_SP_EL1, &sp1);
    (void)!kvm_get_one_reg(vcpu->fd, REG_ELR, &elr);
    (void)!kvm_get_one_reg(vcpu->fd, SYSREG_ESR_EL1, &esr);
    (void)!kvm_get_one_reg(vcpu->fd, SYSREG_FAR_EL1, &far);
    (void)!kvm_get_one_reg(vcpu->fd, SYSREG_SCTLR_EL1, &sctlr);
    (void)!kvm_get_one_reg(vcpu->fd, SYSREG_VBAR_EL1, &vbar);
    log_error(TAG,
              "  sp_el1 %016" PRIx64 " elr_el1 %016" PRIx64
              " esr_el1 %08" PRIx64 " far_el1 %016" PRIx64
              " sctlr_el1 %08" PRIx64 " vbar_el1 %016" PRIx64,
              sp1, elr, esr, far, sctlr, vbar);
    /* The instruction, when the PC is a physical address (MMU off). */
    const uint8_t *p =
        (sctlr & 1) ? NULL : gmem_ptr(&vcpu->vm->mem, r.pc, sizeof(uint32_t));
    if (p)
        log_error(TAG, "  instruction at pc: %02x%02x%02x%02x", p[3], p[2],
                  p[1], p[0]);
}

/* The EL1 system registers of the dump's QVM note (0 when unreadable). */
static void read_sysregs(struct vcpu *vcpu, struct qvm_arm64_sysregs *q)
{
    static const struct {
        uint64_t id;
        size_t off;
    } regs[] = {
        {REG_SP_EL1, offsetof(struct qvm_arm64_sysregs, sp_el1)},
        {REG_ELR, offsetof(struct qvm_arm64_sysregs, elr_el1)},
        {REG_SPSR, offsetof(struct qvm_arm64_sysregs, spsr_el1)},
        {SYSREG_ESR_EL1, offsetof(struct qvm_arm64_sysregs, esr_el1)},
        {SYSREG_FAR_EL1, offsetof(struct qvm_arm64_sysregs, far_el1)},
        {SYSREG_SCTLR_EL1, offsetof(struct qvm_arm64_sysregs, sctlr_el1)},
        {SYSREG_TCR_EL1, offsetof(struct qvm_arm64_sysregs, tcr_el1)},
        {SYSREG_TTBR0_EL1, offsetof(struct qvm_arm64_sysregs, ttbr0_el1)},
        {SYSREG_TTBR1_EL1, offsetof(struct qvm_arm64_sysregs, ttbr1_el1)},
        {SYSREG_MAIR_EL1, offsetof(struct qvm_arm64_sysregs, mair_el1)},
        {SYSREG_VBAR_EL1, offsetof(struct qvm_arm64_sysregs, vbar_el1)},
        {SYSREG_MPIDR_EL1, offsetof(struct qvm_arm64_sysregs, mpidr_el1)},
    };
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        uint64_t v = 0;
        (void)!kvm_get_one_reg(vcpu->fd, regs[i].id, &v);
        memcpy((char *)q + regs[i].off, &v, sizeof(v));
    }
}

void arch_dump_save(struct vcpu *vcpu)
{
    struct arm64_core_cpu *c = vcpu->dump_state;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return; /* its notes say "registers unavailable" */
        vcpu->dump_state = c;
    }
    if (!read_regs(vcpu, c)) {
        log_warn(TAG, "vCPU %u: registers unavailable for the dump", vcpu->id);
        return;
    }
    read_sysregs(vcpu, &c->sys);
}

int arch_core_notes(struct vm *vm, struct core_notes *out)
{
    struct arm64_core_cpu *cpus = vm_dump_states(vm, sizeof(*cpus));
    if (!cpus) {
        memset(out, 0, sizeof(*out));
        return -ENOMEM;
    }
    int e = arm64_core_notes(cpus, vm->nvcpus, vm->spec->system, out);
    free(cpus);
    return e;
}

/* `pass loc io:` (vm/passthru.h): aarch64 has no I/O port space (the front
 * end refuses the form). */
const struct pass_port_hw *pass_port_hw = NULL;

/*
 * core_notes.h: the aarch64 notes of a guest dump (docs/dumps.md), from
 * saved KVM register values. Pure: no ioctl, no host-specific headers (the
 * layouts are spelled out, so that the unit tests build aarch64 notes on
 * any host).
 *
 * Per vCPU: an NT_PRSTATUS ("CORE") in the layout of Linux's arm64 struct
 * elf_prstatus (392 bytes; pr_reg is struct user_pt_regs: x0-x30, sp, pc,
 * pstate, what GDB's aarch64-linux core reader takes as a thread's
 * registers; pr_pid = vCPU id + 1, as GDB wants non-zero thread ids) and
 * a "QVM" note of type NT_QVM_ARM64_SYSREGS with the EL1 system registers
 * (struct qvm_arm64_sysregs). One NT_PRPSINFO ("CORE") names the VM.
 */
#ifndef QVM_ARCH_ARM64_CORE_NOTES_H
#define QVM_ARCH_ARM64_CORE_NOTES_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"
#include "vm/coredump.h"

#ifndef EM_AARCH64
#define EM_AARCH64 183
#endif

/* Not a number any NT_* of Linux or BFD uses (x86's is ...01). */
#define NT_QVM_ARM64_SYSREGS 0x51564d02u

/* The "QVM" note's descriptor, little-endian, 8-byte fields. */
struct qvm_arm64_sysregs {
    uint32_t version; /* 1 */
    uint32_t vcpu;    /* the vCPU's index (pr_pid - 1) */
    uint32_t valid;   /* 0: the registers could not be read (all zero) */
    uint32_t pad;
    uint64_t sp_el1, elr_el1, spsr_el1, esr_el1, far_el1;
    uint64_t sctlr_el1, tcr_el1, ttbr0_el1, ttbr1_el1, mair_el1, vbar_el1;
    uint64_t mpidr_el1;
};

/* What arm64.c saves of a vCPU (KVM_GET_ONE_REG). */
struct arm64_core_cpu {
    uint64_t x[31], sp, pc, pstate; /* Linux's user_pt_regs order */
    struct qvm_arm64_sysregs sys;   /* version, vcpu, valid: set here */
    bool valid;
};

/*
 * arm64_core_notes: the notes for `ncpus` vCPUs (cpus[i] is vCPU i), the
 * PRPSINFO naming `system`. 0, or -ENOMEM. Free with core_notes_free.
 */
int arm64_core_notes(const struct arm64_core_cpu *cpus, unsigned ncpus,
                     const char *system, struct core_notes *out) MUST_CHECK;

#endif

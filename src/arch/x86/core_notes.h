/*
 * core_notes.h: the x86-64 notes of a guest dump (docs/dumps.md), from
 * saved KVM register sets. Pure: no ioctl; the unit tests build them from
 * fake register sets.
 *
 * Per vCPU: an NT_PRSTATUS ("CORE") in the layout of Linux's x86-64
 * struct elf_prstatus (user_regs_struct: what GDB reads as a thread's
 * registers; pr_pid = vCPU id + 1, as GDB wants non-zero thread ids) and
 * a "QVM" note of type NT_QVM_X86_SYSREGS with the system registers
 * (struct qvm_x86_sysregs below). One NT_PRPSINFO ("CORE") names the VM.
 */
#ifndef QVM_ARCH_X86_CORE_NOTES_H
#define QVM_ARCH_X86_CORE_NOTES_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"
#include "vm/coredump.h"

/* Not a number any NT_* of Linux or BFD uses: BFD reads notes of unknown
 * names by type as if they were Linux's. */
#define NT_QVM_X86_SYSREGS 0x51564d01u

/* A segment register: flags bit 0 present, 1-2 DPL, 3 D/B, 4 S, 5 L,
 * 6 G, 7 AVL, 8 unusable. */
struct qvm_x86_seg {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type;
    uint8_t pad;
    uint16_t flags;
    uint16_t pad2[3];
};

/* The "QVM" note's descriptor, little-endian, 8-byte fields aligned. */
struct qvm_x86_sysregs {
    uint32_t version; /* 1 */
    uint32_t vcpu;    /* the vCPU's index (pr_pid - 1) */
    uint32_t valid;   /* 0: the registers could not be read (all zero) */
    uint32_t pad;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
    struct qvm_x86_seg cs, ds, es, fs, gs, ss, tr, ldt;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
    uint32_t pad3;
};

struct x86_core_cpu {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    bool valid;
};

/*
 * x86_core_notes: the notes for `ncpus` vCPUs (cpus[i] is vCPU i), the
 * PRPSINFO naming `system`. 0, or -ENOMEM. Free with core_notes_free.
 */
int x86_core_notes(const struct x86_core_cpu *cpus, unsigned ncpus,
                   const char *system, struct core_notes *out) MUST_CHECK;

#endif

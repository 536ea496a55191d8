/*
 * core_notes.c: the x86-64 notes of a guest dump (see core_notes.h).
 */
#include "arch/x86/core_notes.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>

/* The layout GDB's amd64-linux core reader expects (Linux's x86-64
 * struct elf_prstatus and user_regs_struct, as glibc declares them). */
_Static_assert(sizeof(struct elf_prstatus) == 336, "elf_prstatus layout");
_Static_assert(offsetof(struct elf_prstatus, pr_reg) == 112, "pr_reg offset");
_Static_assert(sizeof(elf_gregset_t) == 27 * 8, "user_regs_struct size");
_Static_assert(sizeof(struct elf_prpsinfo) == 136, "elf_prpsinfo layout");
_Static_assert(sizeof(struct qvm_x86_sysregs) == 288, "QVM note layout");

static void prstatus(const struct x86_core_cpu *c, unsigned id,
                     struct elf_prstatus *p)
{
    memset(p, 0, sizeof(*p));
    p->pr_pid = (pid_t)(id + 1);
    p->pr_ppid = 1;
    p->pr_pgrp = 1;
    p->pr_sid = 1;
    const struct kvm_regs *r = &c->regs;
    const struct kvm_sregs *s = &c->sregs;
    struct user_regs_struct u = {
        .r15 = r->r15,
        .r14 = r->r14,
        .r13 = r->r13,
        .r12 = r->r12,
        .rbp = r->rbp,
        .rbx = r->rbx,
        .r11 = r->r11,
        .r10 = r->r10,
        .r9 = r->r9,
        .r8 = r->r8,
        .rax = r->rax,
        .rcx = r->rcx,
        .rdx = r->rdx,
        .rsi = r->rsi,
        .rdi = r->rdi,
        .orig_rax = ~0ull, /* no system call */
        .rip = r->rip,
        .cs = s->cs.selector,
        .eflags = r->rflags,
        .rsp = r->rsp,
        .ss = s->ss.selector,
        .fs_base = s->fs.base,
        .gs_base = s->gs.base,
        .ds = s->ds.selector,
        .es = s->es.selector,
        .fs = s->fs.selector,
        .gs = s->gs.selector,
    };
    _Static_assert(sizeof(u) == sizeof(p->pr_reg), "pr_reg is a user_regs");
    memcpy(&p->pr_reg, &u, sizeof(u));
}

static struct qvm_x86_seg seg(const struct kvm_segment *k)
{
    return (struct qvm_x86_seg){
        .base = k->base,
        .limit = k->limit,
        .selector = k->selector,
        .type = k->type,
        .flags =
            (uint16_t)((k->present & 1) | (k->dpl & 3) << 1 | (k->db & 1) << 3 |
                       (k->s & 1) << 4 | (k->l & 1) << 5 | (k->g & 1) << 6 |
                       (k->avl & 1) << 7 | (k->unusable & 1) << 8)};
}

static void sysregs(const struct x86_core_cpu *c, unsigned id,
                    struct qvm_x86_sysregs *q)
{
    const struct kvm_sregs *s = &c->sregs;
    *q = (struct qvm_x86_sysregs){.version = 1,
                                  .vcpu = id,
                                  .valid = c->valid,
                                  .cr0 = s->cr0,
                                  .cr2 = s->cr2,
                                  .cr3 = s->cr3,
                                  .cr4 = s->cr4,
                                  .cr8 = s->cr8,
                                  .efer = s->efer,
                                  .apic_base = s->apic_base,
                                  .cs = seg(&s->cs),
                                  .ds = seg(&s->ds),
                                  .es = seg(&s->es),
                                  .fs = seg(&s->fs),
                                  .gs = seg(&s->gs),
                                  .ss = seg(&s->ss),
                                  .tr = seg(&s->tr),
                                  .ldt = seg(&s->ldt),
                                  .gdt_base = s->gdt.base,
                                  .idt_base = s->idt.base,
                                  .gdt_limit = s->gdt.limit,
                                  .idt_limit = s->idt.limit};
}

struct storage {
    struct elf_prpsinfo ps;
    struct {
        struct elf_prstatus st;
        struct qvm_x86_sysregs q;
    } cpu[];
};

int x86_core_notes(const struct x86_core_cpu *cpus, unsigned ncpus,
                   const char *system, struct core_notes *out)
{
    int e = core_notes_begin(out,
                             sizeof(struct storage) +
                                 (size_t)ncpus *
                                     sizeof(((struct storage *)0)->cpu[0]),
                             1 + 2 * (size_t)ncpus);
    if (e < 0)
        return e;
    struct storage *s = out->storage;
    /* GDB lists the threads in note order: vCPU 0 first. */
    for (unsigned i = 0; i < ncpus; i++) {
        prstatus(&cpus[i], i, &s->cpu[i].st);
        sysregs(&cpus[i], i, &s->cpu[i].q);
        core_notes_add(out, "CORE", NT_PRSTATUS, &s->cpu[i].st,
                       sizeof(s->cpu[i].st));
        core_notes_add(out, "QVM", NT_QVM_X86_SYSREGS, &s->cpu[i].q,
                       sizeof(s->cpu[i].q));
    }
    s->ps.pr_state = 0;
    s->ps.pr_sname = 'R';
    s->ps.pr_pid = 1;
    core_ps_names(s->ps.pr_fname, sizeof(s->ps.pr_fname), s->ps.pr_psargs,
                  sizeof(s->ps.pr_psargs), system);
    core_notes_add(out, "CORE", NT_PRPSINFO, &s->ps, sizeof(s->ps));
    return 0;
}

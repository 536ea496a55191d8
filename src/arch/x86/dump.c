/*
 * dump.c: vCPU state for fatal errors: general and control registers, and
 * the instruction bytes at CS:RIP, read through the gmem_ptr gate after
 * translating the linear address through the guest's page tables (32-bit,
 * PAE or 4-level, by CR0.PG, CR4.PAE and EFER.LMA); the registers and
 * notes of a guest dump (vm/dumper.h, core_notes.h).
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/core_notes.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "x86"

#define CR0_PG   (1ull << 31)
#define CR4_PSE  (1ull << 4)
#define CR4_PAE  (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define PTE_P    1ull
#define PTE_PS   (1ull << 7)
#define ADDR_52  0x000ffffffffff000ull

static bool rd(const struct gmem *m, uint64_t gpa, void *out, unsigned len)
{
    const void *p = gmem_ptr(m, gpa, len);
    if (!p)
        return false;
    memcpy(out, p, len);
    return true;
}

/* Translate a linear address; false when unmapped or tables unreadable. */
static bool translate(const struct gmem *m, const struct kvm_sregs *s,
                      uint64_t la, uint64_t *gpa)
{
    if (!(s->cr0 & CR0_PG)) {
        *gpa = la & 0xffffffffull;
        return true;
    }
    if (s->efer & EFER_LMA) {
        int levels = s->cr4 & CR4_LA57 ? 5 : 4;
        uint64_t table = s->cr3 & ADDR_52;
        for (int l = levels; l >= 1; l--) {
            unsigned shift = 12 + 9 * (unsigned)(l - 1);
            uint64_t e;
            if (!rd(m, table + ((la >> shift) & 511) * 8, &e, 8) ||
                !(e & PTE_P))
                return false;
            if (l == 1 || ((l == 2 || l == 3) && (e & PTE_PS))) {
                uint64_t mask = (1ull << shift) - 1;
                *gpa = ((e & ADDR_52) & ~mask) | (la & mask);
                return true;
            }
            table = e & ADDR_52;
        }
        return false;
    }
    if (s->cr4 & CR4_PAE) {
        uint64_t e;
        if (!rd(m, (s->cr3 & 0xffffffe0ull) + ((la >> 30) & 3) * 8, &e, 8) ||
            !(e & PTE_P))
            return false;
        if (!rd(m, (e & ADDR_52) + ((la >> 21) & 511) * 8, &e, 8) ||
            !(e & PTE_P))
            return false;
        if (e & PTE_PS) {
            *gpa = (e & ADDR_52 & ~0x1fffffull) | (la & 0x1fffff);
            return true;
        }
        if (!rd(m, (e & ADDR_52) + ((la >> 12) & 511) * 8, &e, 8) ||
            !(e & PTE_P))
            return false;
        *gpa = (e & ADDR_52) | (la & 0xfff);
        return true;
    }
    uint32_t e;
    if (!rd(m, (s->cr3 & 0xfffff000ull) + ((la >> 22) & 1023) * 4, &e, 4) ||
        !(e & PTE_P))
        return false;
    if ((e & PTE_PS) && (s->cr4 & CR4_PSE)) {
        *gpa = (e & 0xffc00000ull) | (la & 0x3fffff);
        return true;
    }
    if (!rd(m, (e & 0xfffff000ull) + ((la >> 12) & 1023) * 4, &e, 4) ||
        !(e & PTE_P))
        return false;
    *gpa = (e & 0xfffff000ull) | (la & 0xfff);
    return true;
}

uint64_t arch_vcpu_pc(struct vcpu *vcpu)
{
    struct kvm_regs r;
    if (vcpu->fd < 0 || kvm_get_regs(vcpu->fd, &r) < 0)
        return 0;
    return r.rip;
}

unsigned x86_fetch_code(struct vcpu *vcpu, const struct kvm_sregs *s,
                        uint64_t rip, uint8_t *buf, unsigned max,
                        uint64_t *la_out, uint64_t *gpa_out)
{
    uint64_t la = (s->efer & EFER_LMA) && s->cs.l ? rip : s->cs.base + rip;
    if (!(s->efer & EFER_LMA) || !s->cs.l)
        la &= 0xffffffffull;
    if (la_out)
        *la_out = la;
    unsigned got = 0;
    for (unsigned i = 0; i < max; i++) {
        uint64_t gpa;
        if (!translate(&vcpu->vm->mem, s, la + i, &gpa) ||
            !rd(&vcpu->vm->mem, gpa, &buf[i], 1))
            break;
        if (i == 0 && gpa_out)
            *gpa_out = gpa;
        got++;
    }
    return got;
}

static void dump_insn(struct vcpu *vcpu, const struct kvm_sregs *s,
                      uint64_t rip)
{
    uint8_t code[15];
    uint64_t la = 0, first = 0;
    unsigned got = x86_fetch_code(vcpu, s, rip, code, 15, &la, &first);
    char buf[80];
    int n = 0;
    for (unsigned i = 0; i < got; i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %02x", code[i]);
    if (got == 0)
        log_fatal(TAG,
                  "vCPU %u: code at linear 0x%llx is not in guest "
                  "memory",
                  vcpu->id, (unsigned long long)la);
    else
        log_fatal(TAG, "vCPU %u: code at linear 0x%llx (physical 0x%llx):%s",
                  vcpu->id, (unsigned long long)la, (unsigned long long)first,
                  buf);
}

void arch_vcpu_dump(struct vcpu *vcpu, const char *why)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (kvm_get_regs(vcpu->fd, &r) < 0 || kvm_get_sregs(vcpu->fd, &s) < 0) {
        log_fatal(TAG, "vCPU %u (%s): registers unavailable", vcpu->id, why);
        return;
    }
    log_fatal(TAG, "vCPU %u (%s): rip %016llx rflags %08llx", vcpu->id, why,
              (unsigned long long)r.rip, (unsigned long long)r.rflags);
    log_fatal(TAG, "  rax %016llx rbx %016llx rcx %016llx rdx %016llx",
              (unsigned long long)r.rax, (unsigned long long)r.rbx,
              (unsigned long long)r.rcx, (unsigned long long)r.rdx);
    log_fatal(TAG, "  rsi %016llx rdi %016llx rsp %016llx rbp %016llx",
              (unsigned long long)r.rsi, (unsigned long long)r.rdi,
              (unsigned long long)r.rsp, (unsigned long long)r.rbp);
    log_fatal(TAG, "  r8  %016llx r9  %016llx r10 %016llx r11 %016llx",
              (unsigned long long)r.r8, (unsigned long long)r.r9,
              (unsigned long long)r.r10, (unsigned long long)r.r11);
    log_fatal(TAG, "  r12 %016llx r13 %016llx r14 %016llx r15 %016llx",
              (unsigned long long)r.r12, (unsigned long long)r.r13,
              (unsigned long long)r.r14, (unsigned long long)r.r15);
    log_fatal(TAG, "  cs %04x base %llx l%u d%u  ss %04x  ds %04x",
              s.cs.selector, (unsigned long long)s.cs.base, s.cs.l, s.cs.db,
              s.ss.selector, s.ds.selector);
    log_fatal(TAG, "  cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx",
              (unsigned long long)s.cr0, (unsigned long long)s.cr2,
              (unsigned long long)s.cr3, (unsigned long long)s.cr4,
              (unsigned long long)s.efer);
    log_fatal(TAG, "  gdt %llx/%x idt %llx/%x", (unsigned long long)s.gdt.base,
              s.gdt.limit, (unsigned long long)s.idt.base, s.idt.limit);
    dump_insn(vcpu, &s, r.rip);
}

/* ---- guest dumps (vm/dumper.h): the registers, then the notes ---------- */

const uint16_t arch_core_machine = EM_X86_64;

void arch_dump_save(struct vcpu *vcpu)
{
    struct x86_core_cpu *c = vcpu->dump_state;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return; /* its notes say "registers unavailable" */
        vcpu->dump_state = c;
    }
    c->valid = vcpu->fd >= 0 && kvm_get_regs(vcpu->fd, &c->regs) == 0 &&
               kvm_get_sregs(vcpu->fd, &c->sregs) == 0;
    if (!c->valid)
        log_warn(TAG, "vCPU %u: registers unavailable for the dump", vcpu->id);
}

int arch_core_notes(struct vm *vm, struct core_notes *out)
{
    struct x86_core_cpu *cpus = vm_dump_states(vm, sizeof(*cpus));
    if (!cpus) {
        memset(out, 0, sizeof(*out));
        return -ENOMEM;
    }
    int e = x86_core_notes(cpus, vm->nvcpus, vm->spec->system, out);
    free(cpus);
    return e;
}

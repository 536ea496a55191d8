/*
 * x86.c: x86 VM and vCPU set-up: in-kernel irqchip (PIC + IOAPIC + LAPIC)
 * and PIT, CPUID from KVM_GET_SUPPORTED_CPUID (hypervisor bit, APIC IDs,
 * KVM leaves), a few MSRs, and the entry register state for each boot
 * protocol (loader/boot.h):
 *   BOOT_PM32:   CR0.PE, flat 4 GiB CS (0x10) and data segments (0x18),
 *                paging off, EFLAGS 0x2, EAX/EBX from the boot state
 *                (multiboot: 0x2BADB002 and the info address).
 *   BOOT_LONG64: CR0.PE|PG, CR4.PAE, EFER.LME|LMA, CR3 = identity map,
 *                64-bit CS.
 * Descriptors are loaded into the hidden segment state; the guest must
 * set up its own GDT before reloading segment registers (as multiboot
 * requires).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot64.h"
#include "arch/x86/layout.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "x86"

#define CR0_PE   (1ull << 0)
#define CR0_ET   (1ull << 4)
#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176

int arch_vm_init(struct vm *vm)
{
    int e = kvm_set_identity_map_addr(&vm->kvm, X86_IDENTITY_MAP_ADDR);
    if (e < 0 && e != -EINVAL) /* not needed (nor offered) everywhere */
        log_debug(TAG, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(-e));
    e = kvm_set_tss_addr(&vm->kvm, X86_TSS_ADDR);
    if (e < 0)
        log_debug(TAG, "KVM_SET_TSS_ADDR: %s", strerror(-e));
    e = kvm_create_irqchip(&vm->kvm);
    if (e < 0) {
        log_fatal(TAG, "KVM_CREATE_IRQCHIP: %s", strerror(-e));
        return e;
    }
    vm->has_irqchip = true;
    e = kvm_create_pit2(&vm->kvm);
    if (e < 0) {
        log_fatal(TAG, "KVM_CREATE_PIT2: %s", strerror(-e));
        return e;
    }
    e = kvm_get_supported_cpuid(&vm->kvm, &vm->cpuid);
    if (e < 0) {
        log_fatal(TAG, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-e));
        return e;
    }
    return 0;
}

void arch_vm_free(struct vm *vm)
{
    free(vm->cpuid);
    vm->cpuid = NULL;
}

static int setup_cpuid(struct vcpu *vcpu)
{
    const struct kvm_cpuid2 *src = vcpu->vm->cpuid;
    size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
    struct kvm_cpuid2 *c = malloc(sz);
    if (!c)
        return -ENOMEM;
    memcpy(c, src, sz);
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            e->ecx |= 1u << 31; /* hypervisor present */
            e->ebx = (e->ebx & 0x00ffffffu) | vcpu->id << 24;
            break;
        case 0xb:
        case 0x1f:
            e->edx = vcpu->id;
            break;
        case 0x40000000:
            /* KVM's signature leaf ("KVMKVMKVM"), kept as reported. */
            break;
        default:
            break;
        }
    }
    int r = kvm_set_cpuid2(vcpu->fd, c);
    free(c);
    return r;
}

static void setup_msrs(struct vcpu *vcpu)
{
    static const struct {
        uint32_t idx;
        uint64_t val;
    } init[] = {
        {MSR_IA32_MISC_ENABLE, 1}, /* fast strings */
        {MSR_IA32_SYSENTER_CS, 0},
        {MSR_IA32_SYSENTER_ESP, 0},
        {MSR_IA32_SYSENTER_EIP, 0},
    };
    struct kvm_msrs *m =
        calloc(1, sizeof(*m) + ARRAY_SIZE(init) * sizeof(m->entries[0]));
    if (!m)
        return;
    m->nmsrs = ARRAY_SIZE(init);
    for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
        m->entries[i].index = init[i].idx;
        m->entries[i].data = init[i].val;
    }
    int r = kvm_set_msrs(vcpu->fd, m);
    free(m);
    if (r < (int)ARRAY_SIZE(init))
        log_debug(TAG, "vCPU %u: set %d of %zu initial MSRs", vcpu->id, r,
                  ARRAY_SIZE(init));
}

int arch_vcpu_init(struct vcpu *vcpu)
{
    int e = setup_cpuid(vcpu);
    if (e < 0) {
        log_fatal(TAG, "vCPU %u: KVM_SET_CPUID2: %s", vcpu->id, strerror(-e));
        return e;
    }
    setup_msrs(vcpu);
    return 0;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
                     bool code64)
{
    *s = (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = sel,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = code64 ? 0 : 1,
        .s = 1,
        .l = code64 ? 1 : 0,
        .g = 1,
    };
}

int arch_vcpu_boot(struct vcpu *vcpu, const struct boot_state *bs)
{
    struct kvm_sregs s;
    struct kvm_regs r;
    int e = kvm_get_sregs(vcpu->fd, &s);
    if (e < 0) {
        log_fatal(TAG, "KVM_GET_SREGS: %s", strerror(-e));
        return e;
    }
    bool lm = bs->mode == BOOT_LONG64;
    flat_seg(&s.cs, 0x10, 0xb, lm);    /* execute/read, accessed */
    flat_seg(&s.ds, 0x18, 0x3, false); /* read/write, accessed */
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.cr0 = CR0_PE | CR0_ET;
    s.cr4 = 0;
    s.efer = 0;
    if (lm) {
        s.cr0 |= CR0_PG;
        s.cr3 = bs->pml4;
        s.cr4 = CR4_PAE;
        s.efer = EFER_LME | EFER_LMA;
    }
    x86_boot_sregs(&s, bs);
    e = kvm_set_sregs(vcpu->fd, &s);
    if (e < 0) {
        log_fatal(TAG, "KVM_SET_SREGS: %s", strerror(-e));
        return e;
    }
    memset(&r, 0, sizeof(r));
    r.rflags = 0x2;
    r.rip = bs->entry;
    r.rax = bs->eax;
    r.rbx = bs->ebx;
    x86_boot_regs(&r, bs);
    e = kvm_set_regs(vcpu->fd, &r);
    if (e < 0) {
        log_fatal(TAG, "KVM_SET_REGS: %s", strerror(-e));
        return e;
    }
    return 0;
}

/*
 * boot64.c: protocol-specific entry state on x86 (see boot64.h).
 * bzImage 64-bit protocol (Linux Documentation/x86/boot.rst): GDTR points
 * at the loader's GDT (0x10 = 64-bit code, 0x18 = data), RSI = boot_params.
 * PVH (Xen docs/misc/pvh.pandoc): TR = a busy 32-bit TSS, base 0, limit
 * 0x67, selector 0x20 of the same GDT.
 */
#include "arch/x86/boot64.h"

#define TSS_SEL    0x20
#define TSS32_BUSY 0xb
#define TSS_LIMIT  0x67

void x86_boot_sregs(struct kvm_sregs *s, const struct boot_state *bs)
{
    if (bs->gdt) {
        s->gdt.base = bs->gdt;
        s->gdt.limit = bs->gdt_limit;
    }
    if (bs->tss32) {
        s->tr = (struct kvm_segment){
            .base = 0,
            .limit = TSS_LIMIT,
            .selector = TSS_SEL,
            .type = TSS32_BUSY,
            .present = 1,
            .s = 0,
        };
    }
}

void x86_boot_regs(struct kvm_regs *r, const struct boot_state *bs)
{
    r->rsi = bs->rsi;
    if (bs->rsp)
        r->rsp = bs->rsp;
}

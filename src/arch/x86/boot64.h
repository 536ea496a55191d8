/*
 * boot64.h: the parts of the x86 entry state that depend on the boot
 * protocol beyond arch_vcpu_boot's flat segments (loader/boot.h): GDTR,
 * the PVH 32-bit TSS, RSI (bzImage boot_params) and RSP.
 */
#ifndef QVM_ARCH_X86_BOOT64_H
#define QVM_ARCH_X86_BOOT64_H

#include <linux/kvm.h>

#include "loader/boot.h"

/* x86_boot_sregs: GDTR and TR from *bs. Context: before KVM_SET_SREGS. */
void x86_boot_sregs(struct kvm_sregs *s, const struct boot_state *bs);
/* x86_boot_regs: RSI and RSP from *bs. Context: before KVM_SET_REGS. */
void x86_boot_regs(struct kvm_regs *r, const struct boot_state *bs);

#endif

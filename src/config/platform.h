/*
 * platform.h: what the configuration's interrupt platform means for how
 * qvm builds it. Pure: decided from the spec alone, so that dryrun prints
 * what the VM builder does.
 */
#ifndef QVM_CONFIG_PLATFORM_H
#define QVM_CONFIG_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "config/spec.h"

/*
 * platform_kvm_layout (x86): true when the configuration describes exactly
 * the board KVM's in-kernel irqchip and PIT provide: one IOAPIC at
 * 0xfec00000 with 24 inputs, the 8259 pair at 0x20/0xa0 (or none
 * configured: KVM's pair then still answers there), and the 8254 at 0x40
 * on IOAPIC input 0 (or none). Otherwise qvm emulates the controllers
 * itself (KVM's split irqchip). `why` gets the reason either way.
 */
bool platform_kvm_layout(const struct vm_spec *s, char *why, size_t n);
/*
 * platform_split_irqchip: whether qvm emulates the interrupt controllers
 * (true) or uses KVM's (false): KVM's exactly when platform_kvm_layout,
 * unless the environment's QVM_IRQCHIP=split|kernel says otherwise (for
 * tests; `kernel` is honoured only when the layout matches).
 */
bool platform_split_irqchip(const struct vm_spec *s, char *why, size_t n);

#endif

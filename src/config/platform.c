/*
 * platform.c: the interrupt platform decision (platform.h).
 */
#include "config/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"

#define KVM_IOAPIC_BASE 0xfec00000u
#define KVM_IOAPIC_PINS 24u

bool platform_kvm_layout(const struct vm_spec *s, char *why, size_t n)
{
    unsigned nio = 0, npic = 0;
    if (s->arch != ARCH_X86_64) {
        snprintf(why, n, "not x86");
        return false;
    }
    for (size_t i = 0; i < s->vdevs.n; i++) {
        const struct vdev_spec *vd = &s->vdevs.v[i];
        unsigned f = vd->type->flags;
        uint64_t base = vd->has_loc ? vd->loc.base : 0;
        if (f & VF_IOAPIC_DS) {
            if (nio++) {
                snprintf(why, n, "more than one IOAPIC");
                return false;
            }
            if (vd->has_loc && base != KVM_IOAPIC_BASE) {
                snprintf(why, n, "an IOAPIC at 0x%llx",
                         (unsigned long long)base);
                return false;
            }
            if (vd->pic_lines && vd->pic_lines != KVM_IOAPIC_PINS) {
                snprintf(why, n, "an IOAPIC with %u inputs", vd->pic_lines);
                return false;
            }
        } else if (f & VF_PIC) {
            uint64_t want = npic++ ? 0xa0 : 0x20;
            if (vd->has_loc && base != want) {
                snprintf(why, n, "an 8259 at 0x%llx", (unsigned long long)base);
                return false;
            }
        } else if (f & VF_PIT) {
            if (vd->has_loc && base != 0x40) {
                snprintf(why, n, "the 8254 at 0x%llx",
                         (unsigned long long)base);
                return false;
            }
            if (vd->intrs.n && vd->intrs.v[0].line != 0) {
                snprintf(why, n, "the 8254 on IOAPIC input %u",
                         vd->intrs.v[0].line);
                return false;
            }
        }
    }
    if (npic == 1) {
        snprintf(why, n, "a single 8259");
        return false;
    }
    snprintf(why, n, "the configuration matches KVM's layout");
    return true;
}

bool platform_split_irqchip(const struct vm_spec *s, char *why, size_t n)
{
    const char *env = getenv("QVM_IRQCHIP");
    if (env && strcmp(env, "split") == 0) {
        snprintf(why, n, "QVM_IRQCHIP=split");
        return true;
    }
    char r[96];
    bool kernel = platform_kvm_layout(s, r, sizeof(r));
    if (env && strcmp(env, "kernel") == 0)
        snprintf(why, n, "%s%s",
                 kernel ? "QVM_IRQCHIP=kernel; "
                        : "QVM_IRQCHIP=kernel ignored: ",
                 r);
    else
        snprintf(why, n, "%s", r);
    return !kernel;
}

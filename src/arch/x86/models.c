/*
 * models.c: the registry rows of the x86-only vdevs (devices/device.h).
 * The interrupt controllers are pass 0: realized before every other vdev.
 */
#include <string.h>

#include "arch/x86/arch.h"
#include "arch/x86/irqchip.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "x86"

/* timer8254: qvm's model with a split irqchip, else KVM's PIT (created by
 * arch_vm_init; nothing to map). */
static int timer8254_realize(const struct vdev_spec *vd,
                             const struct dev_ctx *ctx, struct dev_inst *inst)
{
    struct x86_arch *a = x86_arch(ctx->opaque);
    if (!a->split) {
        log_debug(TAG, "vdev timer8254: KVM's in-kernel PIT");
        return 0;
    }
    return pit_realize(vd, ctx, inst);
}

const struct dev_model arch_models[] = {
    {"ioapic", ioapic_realize, 0},       {"8259", pic_realize, 0},
    {"timer8254", timer8254_realize, 1}, {"hpet", hpet_realize, 1},
    {"wdt-ib700", wdt_ib700_realize, 1},
};
const size_t arch_nmodels = sizeof(arch_models) / sizeof(arch_models[0]);

void x86_pit_out0_enable(void *ctx_opaque, bool on)
{
    struct vm *vm = ctx_opaque;
    struct x86_arch *a = x86_arch(vm);
    if (a->kernel_pit) {
        int e = kvm_pit_hpet_legacy(&vm->kvm, !on);
        if (e < 0)
            log_error(TAG, "KVM_SET_PIT2 (HPET legacy %s): %s",
                      on ? "off" : "on", strerror(-e));
        return;
    }
    pit_dev_out0_enable(ctx_opaque, on);
}

void x86_rtc_irq_enable(void *ctx_opaque, bool on)
{
    struct vm *vm = ctx_opaque;
    for (size_t i = 0; i < vm->devs.v.n; i++) {
        struct dev_inst *d = &vm->devs.v.v[i];
        if (d->desc.role == DEV_ROLE_RTC && d->state)
            rtc_irq_connect(d->state, on);
    }
}

void arch_legacy_replacement(void *ctx_opaque, bool on)
{
    x86_pit_out0_enable(ctx_opaque, !on);
    x86_rtc_irq_enable(ctx_opaque, !on);
}

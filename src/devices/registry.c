/*
 * registry.c: the one visible list of built-in vdev types, and device
 * realization/teardown for a VM.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/pci.h"
#include "virtio/virtio.h"
#include "util/log.h"

#define TAG "devices"

struct model {
    const char *name;
    int (*realize)(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct dev_inst *inst);
};

/*
 * Models that KVM's in-kernel irqchip and PIT (arch_vm_init) provide: the
 * 8259 pair at ports 0x20/0xa0, the 8254 at 0x40-0x43 and the IOAPIC at
 * 0xfec00000. Nothing to map; only a placement KVM cannot honour is noted.
 */
static int inkernel_realize(const struct vdev_spec *vd,
                            const struct dev_ctx *ctx, struct dev_inst *inst)
{
    (void)ctx, (void)inst;
    const char *name = vdev_type_name(vd);
    if (strcmp(name, "ioapic") == 0 && vd->has_loc &&
        vd->loc.base != 0xfec00000u)
        log_warn(TAG,
                 "vdev ioapic at 0x%llx: KVM's in-kernel IOAPIC stays "
                 "at 0xfec00000",
                 (unsigned long long)vd->loc.base);
    log_debug(TAG, "vdev %s: provided by KVM's in-kernel irqchip/PIT", name);
    return 0;
}

/* PCI-only vdevs whose function pci_realize puts on the bus. */
static int pci_only_realize(const struct vdev_spec *vd,
                            const struct dev_ctx *ctx, struct dev_inst *inst)
{
    (void)vd, (void)ctx, (void)inst;
    return 0;
}

static const struct model models[] = {
    {"ser8250", ser8250_realize},       {"pckeyboard", pckbd_realize},
    {"mc146818", rtc_realize},          {"ioapic", inkernel_realize},
    {"8259", inkernel_realize},         {"timer8254", inkernel_realize},
    {"pci-dummy", pci_only_realize},    {"virtio-blk", virtio_realize},
    {"virtio-console", virtio_realize}, {"virtio-entropy", virtio_realize},
    {"virtio-net", virtio_realize},
};

int devices_realize(const struct vm_spec *spec, const struct dev_ctx *ctx_in,
                    struct dev_list *out)
{
    /* Devices keep &out->ctx: the caller's context plus the event loop. */
    out->ctx = *ctx_in;
    out->ctx.system = spec->system;
    out->ctx.ev = ev_new();
    if (!out->ctx.ev)
        return -1;
    if (devices_realize_models(spec, out) < 0)
        return -1;
    return ev_start(out->ctx.ev) < 0 ? -1 : 0;
}

int devices_realize_models(const struct vm_spec *spec, struct dev_list *out)
{
    const struct dev_ctx *ctx = &out->ctx;
    if (platform_realize(ctx, out) < 0 ||
        pci_realize_bus(spec, ctx, out, &out->ctx.pci) < 0)
        return -1;
    for (size_t i = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        const char *name = vdev_type_name(vd);
        const struct model *m = NULL;
        for (size_t j = 0; j < ARRAY_SIZE(models); j++)
            if (name && strcmp(models[j].name, name) == 0)
                m = &models[j];
        if (!m && vd->span.file) {
            log_warn(TAG, "%s:%u: vdev %s is not implemented yet; ignored",
                     vd->span.file, (unsigned)vd->span.line, name ? name : "?");
            continue;
        }
        if (!m) {
            log_warn(TAG,
                     "vdev %s (implicit) is not implemented yet; "
                     "ignored",
                     name ? name : "?");
            continue;
        }
        struct dev_inst inst = {.name = m->name};
        if (m->realize(vd, ctx, &inst) < 0)
            return -1;
        struct dev_inst *slot = VEC_PUSH(&out->v);
        if (!slot) {
            if (inst.teardown)
                inst.teardown(inst.state);
            log_fatal(TAG, "out of memory");
            return -1;
        }
        *slot = inst;
    }
    return 0;
}

void devices_teardown(struct dev_list *l)
{
    ev_stop(l->ctx.ev); /* no backend callback runs from here on */
    for (size_t i = l->v.n; i-- > 0;)
        if (l->v.v[i].teardown)
            l->v.v[i].teardown(l->v.v[i].state);
    VEC_FREE(&l->v);
    ev_free(l->ctx.ev);
    l->ctx.ev = NULL;
    term_restore();
}

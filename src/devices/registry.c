/*
 * registry.c: the one visible list of built-in vdev types, and device
 * realization/teardown for a VM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "devices/device.h"
#include "config/schema.h"
#include "devices/pci.h"
#include "devices/pass_intr.h"
#include "devices/vfio_pci.h"
#include "virtio/virtio.h"
#include "util/log.h"

#define TAG "devices"

/* PCI-only vdevs whose function pci_realize puts on the bus. */
static int pci_only_realize(const struct vdev_spec *vd,
                            const struct dev_ctx *ctx, struct dev_inst *inst)
{
    (void)vd, (void)ctx, (void)inst;
    return 0;
}

/* name, realize, pass, argument (inst->arg). */
static const struct dev_model models[] = {
    {"ser8250", ser8250_realize, 1, NULL},
    {"pckeyboard", pckbd_realize, 1, NULL},
    {"mc146818", rtc_realize, 1, NULL},
    {"pci-dummy", pci_only_realize, 1, NULL},
    {"shmem", shmem_realize, 1, NULL},
    /* aarch64 only (the schema accepts it only there), but plain MMIO
     * code: a generic row, which the x86 fuzz harness also realizes */
    {"pl011", pl011_realize, 1, NULL},
    {"wdt-sp805", wdt_sp805_realize, 1, NULL},
    {"virtio-blk", virtio_realize, 1, VIRTIO_CTOR(virtio_blk_new)},
    {"virtio-console", virtio_realize, 1, VIRTIO_CTOR(virtio_console_new)},
    {"virtio-entropy", virtio_realize, 1, VIRTIO_CTOR(virtio_rng_new)},
    {"virtio-net", virtio_realize, 1, VIRTIO_CTOR(virtio_net_new)},
};

static const struct dev_model *model_find(const char *name)
{
    for (size_t j = 0; name && j < ARRAY_SIZE(models); j++)
        if (strcmp(models[j].name, name) == 0)
            return &models[j];
    for (size_t j = 0; name && j < arch_nmodels; j++)
        if (strcmp(arch_models[j].name, name) == 0)
            return &arch_models[j];
    return NULL;
}

static int realize_one(const struct vdev_spec *vd, const struct dev_model *m,
                       const struct dev_ctx *ctx, struct dev_list *out)
{
    struct dev_inst inst = {.name = m->name, .arg = m->arg, .vd = vd};
    if (m->realize(vd, ctx, &inst) < 0)
        return -1; /* the model freed what it had */
    struct dev_inst *slot = VEC_PUSH(&out->v);
    if (!slot) {
        if (inst.teardown)
            inst.teardown(inst.state);
        log_fatal(TAG, "out of memory");
        return -1;
    }
    *slot = inst;
    return 0;
}

uint64_t devices_timer_slack_ns(const struct vm_spec *spec)
{
    /* `tolerance` (qvm-reference 2.16): default 10 % of QNX's 1 ms tick. */
    return (spec->tolerance_us ? spec->tolerance_us : 100) * 1000;
}

int devices_realize(const struct vm_spec *spec, const struct dev_ctx *ctx_in,
                    struct dev_list *out)
{
    /* Devices keep &out->ctx: the caller's context plus the event loop. */
    out->ctx = *ctx_in;
    out->ctx.system = spec->system;
    out->ctx.timer_slack_ns = devices_timer_slack_ns(spec);
    out->ctx.ev = ev_new();
    if (!out->ctx.ev)
        return -1;
    if (devices_realize_models(spec, out, true) < 0)
        return -1;
    return ev_start(out->ctx.ev) < 0 ? -1 : 0;
}

int devices_realize_models(const struct vm_spec *spec, struct dev_list *out,
                           bool irqchips)
{
    const struct dev_ctx *ctx = &out->ctx;
    for (unsigned pass = 0; pass < 2; pass++) {
        /* After the interrupt controllers: the platform's SCI and the PCI
         * functions' INTx lines need them. The ACPI PM block (ports) is
         * the PC's, the GPIO power button aarch64's. */
        if (pass == 1 &&
            ((spec->arch == ARCH_X86_64 && platform_realize(ctx, out) < 0) ||
             (spec->arch == ARCH_AARCH64 && irqchips &&
              pl061_power_realize(spec, ctx, out) < 0) ||
             pci_realize_bus(spec, ctx, out, &out->ctx.pci) < 0))
            return -1;
        for (size_t i = 0; i < spec->vdevs.n; i++) {
            const struct vdev_spec *vd = &spec->vdevs.v[i];
            const char *name = vdev_type_name(vd);
            const struct dev_model *m = model_find(name);
            if (!m) {
                if (pass == 0)
                    continue;
                if (vd->span.file)
                    log_warn(TAG,
                             "%s:%u: vdev %s is not implemented yet; "
                             "ignored",
                             vd->span.file, (unsigned)vd->span.line,
                             name ? name : "?");
                else
                    log_warn(TAG,
                             "vdev %s (implicit) is not implemented yet; "
                             "ignored",
                             name ? name : "?");
                continue;
            }
            if (m->pass == 0 && !irqchips)
                continue;
            if (m->pass == pass && realize_one(vd, m, ctx, out) < 0)
                return -1;
        }
    }
    /* `pass loc pci:`: host functions through VFIO, after every vdev has
     * its BARs on the bus. */
    if (irqchips && vfio_pci_realize(spec, ctx, out) < 0)
        return -1;
    /* `pass intr ...=uio:`/`=fd:`: host interrupts on guest lines. */
    return irqchips ? pass_intr_realize(spec, ctx, out) : 0;
}

void devices_log_routes(const struct vm_spec *spec)
{
    for (size_t i = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        const struct opt_val *lo = vdev_opt(vd, "log");
        if (!lo || (lo->def->flags & OF_IGNORED))
            continue;
        if (log_route_tag(vdev_type_name(vd), (unsigned)lo->num,
                          (enum log_dest)lo->num2) < 0)
            log_warn(TAG,
                     "vdev %s: too many `log` routes; its lines follow "
                     "`logger`",
                     vdev_type_name(vd));
    }
}

/* `set debug off` after the vdev: left out of the SIGUSR1 report. */
static bool debug_off(const struct vm_spec *spec, const struct vdev_spec *vd)
{
    const char *v = NULL;
    for (size_t i = 0; vd && i < spec->sets.n; i++)
        if (spec->sets.v[i].vdev >= 0 &&
            (size_t)spec->sets.v[i].vdev < spec->vdevs.n &&
            &spec->vdevs.v[spec->sets.v[i].vdev] == vd &&
            strcmp(spec->sets.v[i].name, "debug") == 0)
            v = spec->sets.v[i].value;
    if (!v)
        return false;
    static const char *const off[] = {"off", "no", "false", "0", "disable"};
    for (size_t i = 0; i < ARRAY_SIZE(off); i++)
        if (strcasecmp(v, off[i]) == 0)
            return true;
    return false;
}

void devices_report(const struct dev_list *l, const struct vm_spec *spec)
{
    unsigned hidden = 0;
    for (size_t i = 0; i < l->v.n; i++) {
        const struct dev_inst *d = &l->v.v[i];
        if (debug_off(spec, d->vd)) {
            hidden++;
            continue;
        }
        char state[320] = "";
        if (d->report) {
            d->report(d->state, state, sizeof(state));
        } else if (d->desc.size) {
            snprintf(state, sizeof(state), "at 0x%llx (%llu bytes)",
                     (unsigned long long)d->desc.base,
                     (unsigned long long)d->desc.size);
        }
        const char *vname = d->vd ? d->vd->name : NULL;
        if (d->vd && d->vd->span.file)
            log_info(TAG, "status: device %s%s%s%s (%s:%u): %s", d->name,
                     vname ? " '" : "", vname ? vname : "", vname ? "'" : "",
                     d->vd->span.file, (unsigned)d->vd->span.line,
                     state[0] ? state : "running");
        else
            log_info(TAG, "status: device %s%s%s%s (%s): %s", d->name,
                     vname ? " '" : "", vname ? vname : "", vname ? "'" : "",
                     d->vd ? "implicit" : "qvm's own",
                     state[0] ? state : "running");
    }
    if (hidden)
        log_info(TAG, "status: %u device(s) left out (`set debug off`)",
                 hidden);
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

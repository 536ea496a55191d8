/*
 * registry.c: the one visible list of built-in vdev types, and device
 * realization/teardown for a VM.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "util/log.h"

#define TAG "devices"

struct model {
    const char *name;
    int (*realize)(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct dev_inst *inst);
};

static const struct model models[] = {
    {"ser8250", ser8250_realize},
};

int devices_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                    struct dev_list *out)
{
    if (platform_realize(ctx, out) < 0)
        return -1;
    for (size_t i = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        const char *name = vdev_type_name(vd);
        const struct model *m = NULL;
        for (size_t j = 0; j < ARRAY_SIZE(models); j++)
            if (name && strcmp(models[j].name, name) == 0)
                m = &models[j];
        if (!m) {
            log_warn(TAG, "%s:%u: vdev %s is not implemented yet; ignored",
                     vd->span.file ? vd->span.file : "?",
                     (unsigned)vd->span.line, name ? name : "?");
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
    for (size_t i = l->v.n; i-- > 0;)
        if (l->v.v[i].teardown)
            l->v.v[i].teardown(l->v.v[i].state);
    VEC_FREE(&l->v);
}

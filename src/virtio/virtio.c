/* virtio.c: being written (issue 6). */
#include "virtio/virtio.h"

#include "util/log.h"

/* Placeholder until the transports land: the vdev is skipped, loudly. */
int virtio_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct dev_inst *inst)
{
    (void)ctx, (void)inst;
    log_warn("virtio", "vdev %s is not implemented yet; ignored",
             vdev_type_name(vd));
    return 0;
}

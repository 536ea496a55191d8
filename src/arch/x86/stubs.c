/* Temporary: replaced by the PIT and HPET models being merged. */
#include "arch/x86/arch.h"
#include "util/log.h"

int pit_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst)
{
    (void)vd, (void)ctx, (void)inst;
    log_warn("x86", "vdev timer8254: qvm's 8254 model is not merged yet");
    return 0;
}

void pit_dev_out0_enable(bool on)
{
    (void)on;
}

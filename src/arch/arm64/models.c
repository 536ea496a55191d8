/*
 * models.c: the registry rows of the arm64-only vdevs (devices/device.h).
 * The GIC is pass 0: realized before every other vdev.
 */
#include "arch/arm64/arch.h"

const struct dev_model arch_models[] = {
    {"gic", gic_realize, 0, NULL},
    /* until the PL011 model's generic row lands (it is found first) */
    {"pl011", pl011_sink_realize, 1, NULL},
};
const size_t arch_nmodels = sizeof(arch_models) / sizeof(arch_models[0]);

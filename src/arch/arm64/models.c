/*
 * models.c: the registry rows of the arm64-only vdevs (devices/device.h).
 * The GIC is pass 0: realized before every other vdev.
 */
#include "arch/arm64/arch.h"

const struct dev_model arch_models[] = {
    {"gic", gic_realize, 0, NULL},
    /* `vdev pl011` is a row of the generic registry (devices/pl011.c: a
     * plain MMIO device, also fuzzed on x86). */
};
const size_t arch_nmodels = sizeof(arch_models) / sizeof(arch_models[0]);

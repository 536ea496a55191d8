/*
 * plan.h: the aarch64 device tree from the configuration alone, for
 * `dryrun` with `set fdt-dump-file F` (QNX's qvm writes the tree then
 * too): the board as the VM core would realize it (board.c collects it
 * from the realized devices; this derives the same from the spec: RAM,
 * one MPIDR per `cpu` as KVM resets it, the `vdev gic` addresses, each
 * pl011 and MMIO virtio vdev's window and first interrupt, the loaders'
 * initrd placement), then the `fdt load` overlays. Pure (config, loader,
 * libfdt): built on every host, so that an x86 qvm's `dryrun
 * --target-arch aarch64` writes the tree an aarch64 qvm gives its guest;
 * the aarch64 lab's fdt-dryrun case compares the two.
 */
#ifndef QVM_ARCH_ARM64_PLAN_H
#define QVM_ARCH_ARM64_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "arch/arm64/board.h"
#include "config/spec.h"
#include "util/compiler.h"

struct boot_state;

/* arm64_kvm_mpidr: the MPIDR_EL1 affinity KVM gives vCPU `id` at reset
 * (Aff0 the low 4 bits, Aff1 the next 8, Aff2 the next 8). */
uint64_t arm64_kvm_mpidr(unsigned id);

/*
 * arm64_board_from_spec: the board of a configuration and the loaders'
 * placement (bs: the initrd). 0, or -EINVAL (logged: no `vdev gic`).
 * b->bootargs points into spec.
 */
int arm64_board_from_spec(const struct vm_spec *spec,
                          const struct boot_state *bs,
                          struct arm64_board *b) MUST_CHECK;

/*
 * arm64_fdt_make: the guest's final tree into buf (len bytes of room):
 * the board's tree, then every `fdt load` of the spec in configuration
 * order (arm64_fdt_overlay_file). 0 or a negative errno (logged).
 */
int arm64_fdt_make(const struct arm64_board *b, const struct vm_spec *spec,
                   void *buf, size_t len) MUST_CHECK;

/*
 * arm64_dryrun_fdt: map the spec's RAM (lazily), run the loaders, build
 * the tree as the VM would and write it to `path`. 0 or a negative errno
 * (logged).
 */
int arm64_dryrun_fdt(const struct vm_spec *spec, const char *path) MUST_CHECK;

#endif

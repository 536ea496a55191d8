/*
 * board.c: the arm64 machine as it was realized (struct arm64_board) and
 * its device tree, written where the loader left room for it (boot_state
 * fdt, fdt_size; x0 points there). Memory from the guest view's RAM, the
 * CPUs' MPIDRs as KVM set them, the vGIC as gic.c created it, the PL011s
 * and virtio-mmio devices from their dev_desc (window and INTID), /chosen
 * from the command line and the initrd the loader placed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/arch.h"
#include "arch/arm64/board.h"
#include "arch/arm64/fdt.h"
#include "arch/arm64/plan.h"
#include "devices/pl061.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "arm64"

#define SYSREG_MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)
#define MPIDR_AFF_MASK   0xff00ffffffull

static void add_dev(struct arm64_dev *d, unsigned *n, unsigned max,
                    const struct dev_desc *desc)
{
    if (*n >= max)
        return;
    d[*n] = (struct arm64_dev){
        desc->base, desc->size,
        desc->gsi >= ARM64_GIC_SPI_BASE ? (uint32_t)desc->gsi : 0, false};
    (*n)++;
}

/* An SP805: Linux's sp805_wdt takes its rate from the first clock. */
static void add_sp805(struct arm64_other *o, const struct dev_desc *desc)
{
    static const char compat[] = "arm,sp805\0arm,primecell";
    const struct sp805_info *info = desc->info;
    unsigned n = 0;
    add_dev(&o->dev, &n, 1, desc);
    o->name = "watchdog";
    o->compat = compat;
    o->compat_len = sizeof(compat);
    o->primecell = true;
    o->clock_hz = info && info->hz <= UINT32_MAX ? (uint32_t)info->hz : 0;
}

int arm64_board_collect(struct vm *vm, const struct boot_state *bs,
                        struct arm64_board *b)
{
    struct arm64_arch *a = arm64_arch(vm);
    memset(b, 0, sizeof(*b));
    const struct gview *v = &vm->mem.view;
    for (size_t i = 0; i < v->regions.n && b->nmem < ARM64_BOARD_MAX_MEM; i++)
        if (v->regions.v[i].kind == GV_RAM)
            b->mem[b->nmem++] =
                (struct arm64_mem){v->regions.v[i].gpa, v->regions.v[i].size};
    b->ncpus = vm->nvcpus;
    for (unsigned i = 0; i < vm->nvcpus && i < ARM64_BOARD_MAX_CPUS; i++) {
        uint64_t mpidr = 0;
        if (kvm_get_one_reg(vm->vcpus[i].fd, SYSREG_MPIDR_EL1, &mpidr) < 0) {
            log_fatal(TAG, "vCPU %u: cannot read MPIDR_EL1", i);
            return -EIO;
        }
        b->mpidr[i] = mpidr & MPIDR_AFF_MASK;
    }
    const struct arm64_gic *g = &a->gic;
    if (g->vdev >= 0) {
        b->gic_version = g->v2 ? 2 : 3;
        b->gicd_base = g->dist;
        b->gicd_size = g->v2 ? ARM64_GICD_V2_SIZE : ARM64_GICD_V3_SIZE;
        b->gicr_base = g->redist;
        b->gicr_size =
            g->v2 ? ARM64_GICC_V2_SIZE : ARM64_GICR_STRIDE * vm->nvcpus;
    }
    static const uint32_t ppis[4] = ARM64_TIMER_PPIS;
    memcpy(b->timer_ppi, ppis, sizeof(ppis));
    for (size_t i = 0; i < vm->devs.v.n; i++) {
        const struct dev_desc *d = &vm->devs.v.v[i].desc;
        if (d->role == DEV_ROLE_PL011)
            add_dev(b->pl011, &b->npl011, ARM64_BOARD_MAX_UARTS, d);
        else if (d->role == DEV_ROLE_VIRTIO_MMIO)
            add_dev(b->vmmio, &b->nvmmio, ARM64_BOARD_MAX_VMMIO, d);
        else if (d->role == DEV_ROLE_SHMEM && d->info &&
                 b->nshmem < ARM64_BOARD_MAX_SHMEM) {
            const uint64_t *w = d->info; /* the region window */
            struct arm64_shmem *sh = &b->shmem[b->nshmem];
            unsigned n = 0;
            add_dev(&sh->dev, &n, 1, d);
            sh->win_base = w[0];
            sh->win_size = w[1];
            b->nshmem++;
        } else if (d->role == DEV_ROLE_GPIO_POWER && !b->has_gpio_power) {
            unsigned n = 0;
            add_dev(&b->gpio_power, &n, 1, d);
            b->has_gpio_power = n == 1;
            b->power_pin = PL061_PWR_PIN;
        } else if (d->role == DEV_ROLE_SP805 &&
                   b->nother < ARM64_BOARD_MAX_OTHER)
            add_sp805(&b->other[b->nother++], d);
    }
    b->bootargs = vm->spec->cmdline;
    b->has_initrd = bs->initrd_end > bs->initrd_start;
    b->initrd_start = bs->initrd_start;
    b->initrd_end = bs->initrd_end;
    return 0;
}

int arm64_write_fdt(struct vm *vm, const struct boot_state *bs)
{
    if (bs->mode != BOOT_ARM64 || bs->fdt_size == 0)
        return 0;
    void *dst = gmem_ptr(&vm->mem, bs->fdt, bs->fdt_size);
    if (!dst) {
        log_fatal(TAG, "the device tree's room 0x%llx+0x%llx is not RAM",
                  (unsigned long long)bs->fdt,
                  (unsigned long long)bs->fdt_size);
        return -EINVAL;
    }
    struct arm64_board *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    /* The tree, then the `fdt load` overlays in configuration order:
     * what the guest gets and what fdt-dump-file writes. */
    int e = arm64_board_collect(vm, bs, b);
    if (e == 0 &&
        (e = arm64_fdt_make(b, vm->spec, dst, (size_t)bs->fdt_size)) < 0)
        log_fatal(TAG, "no device tree for the guest (%llu bytes of room): %s",
                  (unsigned long long)bs->fdt_size, strerror(-e));
    free(b);
    if (e < 0)
        return e;
    log_debug(TAG, "device tree at 0x%llx", (unsigned long long)bs->fdt);
    /* `set fdt-dump-file F`: the final tree, as the guest gets it. */
    const char *f = spec_set_var(vm->spec, "fdt-dump-file");
    if (f && (e = arm64_fdt_dump(dst, f)) < 0)
        log_fatal(TAG, "fdt-dump-file %s: %s", f, strerror(-e));
    return e;
}

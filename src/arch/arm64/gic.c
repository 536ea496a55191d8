/*
 * gic.c: `vdev gic` as KVM's in-kernel vGIC (arch.h). GICv3 by default
 * (KVM_DEV_TYPE_ARM_VGIC_V3: distributor at the vdev's `loc`/`gicd`,
 * 0x2f000000 by default, redistributors from `gicr`, 0x2f100000, 128K per
 * vCPU), GICv2 with `version 2` where the host's KVM can emulate it
 * (distributor 0x2c001000, CPU interface `gicc` 0x2c002000). A device's
 * `intr gic:N` is SPI N (INTID N, 32 <= N < 1020), raised with
 * KVM_IRQ_LINE. The architected timer's PPIs (INTIDs 27, 30, 26) are
 * KVM's own: nothing to wire here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arm64/arch.h"
#include "config/schema.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "gic"

static int gic_vdev(const struct vm_spec *spec)
{
    for (size_t i = 0; i < spec->vdevs.n; i++)
        if (strcmp(spec->vdevs.v[i].type->name, "gic") == 0)
            return (int)i;
    return -1;
}

/* The interrupts the configuration uses on the GIC, rounded up to what
 * KVM takes (a multiple of 32, at least 64). */
static uint32_t gic_nr_irqs(const struct vm_spec *spec, int gic)
{
    uint32_t top = 64;
    for (size_t i = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        for (size_t k = 0; k < vd->intrs.n; k++)
            if (vd->intrs.v[k].pic == gic && vd->intrs.v[k].line + 1 > top)
                top = vd->intrs.v[k].line + 1;
    }
    for (size_t i = 0; i < spec->passes.n; i++)
        for (size_t k = 0; k < spec->passes.v[i].intrs.n; k++)
            if (spec->passes.v[i].intrs.v[k].pic == gic &&
                spec->passes.v[i].intrs.v[k].line + 1 > top)
                top = spec->passes.v[i].intrs.v[k].line + 1;
    top = (top + 31) / 32 * 32;
    return top > ARM64_GIC_MAX_IRQS ? ARM64_GIC_MAX_IRQS : top;
}

static void spi_set(struct vm *vm, uint32_t intid, bool level)
{
    uint32_t irq = (uint32_t)KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT |
                   (intid & KVM_ARM_IRQ_NUM_MASK);
    int e = kvm_irq_line(&vm->kvm, irq, level);
    if (e < 0)
        log_error(TAG, "KVM_IRQ_LINE (SPI %u, level %d): %s", intid, level,
                  strerror(-e));
}

/* irq_chip.set_pin: pin is the INTID. */
static void gic_set_pin(void *opaque, uint32_t pin, bool level)
{
    struct vm *vm = opaque;
    struct arm64_gic *g = &arm64_arch(vm)->gic;
    if (pin >= g->nr_irqs)
        return;
    pthread_mutex_lock(&g->lock);
    if (level)
        g->level[pin / 32] |= 1u << (pin % 32);
    else
        g->level[pin / 32] &= ~(1u << (pin % 32));
    bool ready = g->ready;
    pthread_mutex_unlock(&g->lock);
    if (ready)
        spi_set(vm, pin, level);
}

static int set_addr(int fd, uint64_t type, uint64_t addr, const char *what)
{
    int e = kvm_device_attr(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, type, &addr, true);
    if (e < 0)
        log_fatal(TAG,
                  "vdev gic: KVM refuses the %s at 0x%llx: %s (64K-aligned, "
                  "inside the guest's %d-bit physical address space, clear "
                  "of the other GIC windows)",
                  what, (unsigned long long)addr, strerror(-e), ARM64_IPA_BITS);
    return e;
}

int arm64_gic_create(struct vm *vm)
{
    struct arm64_gic *g = &arm64_arch(vm)->gic;
    const struct vm_spec *spec = vm->spec;
    g->fd = -1;
    g->vdev = gic_vdev(spec);
    pthread_mutex_init(&g->lock, NULL);
    g->chip = (struct irq_chip){.name = "gic",
                                .kind = IRQC_OTHER,
                                .set_pin = gic_set_pin,
                                .opaque = vm};
    if (g->vdev < 0) {
        log_fatal(TAG, "no vdev gic in the configuration");
        return -ENOENT;
    }
    const struct vdev_spec *vd = &spec->vdevs.v[g->vdev];
    const struct opt_val *ver = vdev_opt(vd, "version");
    const struct opt_val *gicr = vdev_opt(vd, "gicr");
    const struct opt_val *gicc = vdev_opt(vd, "gicc");
    g->v2 = ver && ver->num == 0; /* the choices are "2", "3" */
    g->dist = vd->loc.base;
    g->redist = g->v2 ? (gicc ? gicc->num : 0x2c002000)
                      : (gicr ? gicr->num : 0x2f100000);
    g->nr_irqs = gic_nr_irqs(spec, g->vdev);
    g->chip.npins = g->nr_irqs;
    int fd = kvm_create_device(&vm->kvm, g->v2 ? KVM_DEV_TYPE_ARM_VGIC_V2
                                               : KVM_DEV_TYPE_ARM_VGIC_V3);
    if (fd < 0) {
        log_fatal(TAG,
                  "vdev gic version %d: this host's KVM cannot emulate it "
                  "(KVM_CREATE_DEVICE: %s)%s",
                  g->v2 ? 2 : 3, strerror(-fd),
                  g->v2 ? "; a GICv3 host without GICv2 compatibility (no "
                          "GICV region) offers only `version 3`"
                        : "");
        return fd;
    }
    g->fd = fd;
    int e = set_addr(
        fd, g->v2 ? KVM_VGIC_V2_ADDR_TYPE_DIST : KVM_VGIC_V3_ADDR_TYPE_DIST,
        g->dist, "distributor");
    if (e == 0)
        e = set_addr(fd,
                     g->v2 ? KVM_VGIC_V2_ADDR_TYPE_CPU
                           : KVM_VGIC_V3_ADDR_TYPE_REDIST,
                     g->redist, g->v2 ? "CPU interface" : "redistributors");
    if (e < 0)
        return e;
    uint32_t nr = g->nr_irqs;
    e = kvm_device_attr(fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr, true);
    if (e < 0) {
        log_fatal(TAG, "vdev gic: KVM_DEV_ARM_VGIC_GRP_NR_IRQS %u: %s", nr,
                  strerror(-e));
        return e;
    }
    log_debug(TAG, "KVM vGICv%d: distributor 0x%llx, %s 0x%llx, %u interrupts",
              g->v2 ? 2 : 3, (unsigned long long)g->dist,
              g->v2 ? "CPU interface" : "redistributors",
              (unsigned long long)g->redist, nr);
    return 0;
}

int arm64_gic_init(struct vm *vm)
{
    struct arm64_gic *g = &arm64_arch(vm)->gic;
    int e = kvm_device_attr(g->fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
                            KVM_DEV_ARM_VGIC_CTRL_INIT, NULL, true);
    if (e < 0) {
        log_fatal(TAG, "vdev gic: KVM_DEV_ARM_VGIC_CTRL_INIT: %s",
                  strerror(-e));
        return e;
    }
    /* Lines raised before the vGIC existed: raise them now. */
    pthread_mutex_lock(&g->lock);
    g->ready = true;
    for (uint32_t i = ARM64_GIC_SPI_BASE; i < g->nr_irqs; i++)
        if (g->level[i / 32] >> (i % 32) & 1)
            spi_set(vm, i, true);
    /* Resampled irqfds asked for before: KVM takes them now. */
    for (unsigned i = 0; i < g->nresample && e == 0; i++) {
        uint32_t intid = g->resample[i].intid;
        e = kvm_irqfd_resample(&vm->kvm, intid - ARM64_GIC_SPI_BASE,
                               g->resample[i].fd, g->resample[i].rfd, true);
        if (e < 0)
            log_fatal(TAG,
                      "gic:%u: KVM_IRQFD with resample (GSI %u): %s (a "
                      "level-triggered SPI until the guest's EOI needs it)",
                      intid, intid - ARM64_GIC_SPI_BASE, strerror(-e));
    }
    g->nresample = 0;
    pthread_mutex_unlock(&g->lock);
    return e;
}

void arm64_gic_free(struct vm *vm)
{
    struct arm64_gic *g = &arm64_arch(vm)->gic;
    for (uint32_t i = 0; i < ARM64_GIC_MAX_IRQS; i++)
        if (g->in[i]) {
            irq_input_destroy(g->in[i]);
            free(g->in[i]);
            g->in[i] = NULL;
        }
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
    pthread_mutex_destroy(&g->lock);
}

/* The registry row: the vGIC itself is made by arch_vm_init (before the
 * vCPUs); this describes it for the device list. */
int gic_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst)
{
    struct arm64_gic *g = &arm64_arch(ctx->opaque)->gic;
    (void)vd;
    inst->desc =
        dev_desc_line(DEV_ROLE_NONE, g->dist,
                      g->v2 ? ARM64_GICD_V2_SIZE : ARM64_GICD_V3_SIZE, NULL);
    return 0;
}

int arch_irq_resolve(void *ctx_opaque, const struct intr *in, int isa,
                     struct irq_line *out)
{
    struct vm *vm = ctx_opaque;
    struct arm64_gic *g = &arm64_arch(vm)->gic;
    (void)isa;
    *out = irq_line_none();
    if (in->pic < 0 || in->pic != g->vdev || in->line < ARM64_GIC_SPI_BASE ||
        in->line >= g->nr_irqs) {
        log_fatal(TAG, "interrupt %s:%u: not an SPI of the GIC",
                  in->pic >= 0 ? spec_pic_label(vm->spec, in->pic) : "?",
                  in->line);
        return -ENOENT;
    }
    struct irq_input **slot = &g->in[in->line];
    if (!*slot) {
        *slot = calloc(1, sizeof(**slot));
        if (!*slot)
            return -ENOMEM;
        irq_input_init(*slot, &g->chip, in->line);
    }
    out->gsi = in->line;
    if (irq_line_connect(out, *slot) < 0) {
        log_fatal(TAG, "gic:%u: too many sources share it", in->line);
        return -ENOSPC;
    }
    return 0;
}

int arch_irq_isa(void *ctx_opaque, unsigned isa, struct irq_line *out)
{
    (void)ctx_opaque, (void)isa;
    *out = irq_line_none();
    return -ENOENT; /* no ISA interrupts on arm64 */
}

void arch_legacy_replacement(void *ctx_opaque, bool on)
{
    (void)ctx_opaque, (void)on; /* no HPET on arm64 */
}

void arch_ioapic_eoi(struct vm *vm, uint8_t vector)
{
    (void)vm, (void)vector; /* KVM_EXIT_IOAPIC_EOI is x86's */
}

int arch_irq_eoi_fd(void *ctx_opaque, int64_t gsi, int fd)
{
    (void)ctx_opaque, (void)gsi, (void)fd;
    return -ENOSYS; /* the GIC is KVM's: irqfd_resample */
}

/*
 * A level-triggered SPI until the guest's EOI (`pass intr`): KVM's
 * resampled irqfd on the vGIC. KVM_IRQFD's GSI is not the INTID: KVM's
 * default vGIC routing (made by CTRL_INIT) maps GSI n to SPI n, INTID
 * n + 32. Before CTRL_INIT KVM_IRQFD fails with EAGAIN (no routing yet):
 * an irqfd asked for then is kept and assigned by arm64_gic_init (an
 * interrupt written to the eventfd meanwhile is injected as KVM assigns
 * it). The vGIC signals the resample eventfd when the guest EOIs a
 * level-configured SPI (its list register's EOI maintenance interrupt).
 */
int arch_irqfd_resample(struct vm *vm, int gsi, int fd, int rfd, bool assign)
{
    struct arm64_gic *g = &arm64_arch(vm)->gic;
    if (gsi < (int)ARM64_GIC_SPI_BASE || (uint32_t)gsi >= g->nr_irqs)
        return -EINVAL;
    if (assign && kvm_check_cap(&vm->kvm, KVM_CAP_IRQFD) <= 0)
        return -ENOSYS;
    pthread_mutex_lock(&g->lock);
    bool ready = g->ready;
    int e = 0;
    if (!ready && assign) {
        if (g->nresample < ARM64_GIC_MAX_RESAMPLE)
            g->resample[g->nresample++] = (struct arm64_resample){
                .intid = (uint32_t)gsi, .fd = fd, .rfd = rfd};
        else
            e = -ENOSPC;
    } else if (!ready) {
        for (unsigned i = 0; i < g->nresample; i++)
            if (g->resample[i].fd == fd &&
                g->resample[i].intid == (uint32_t)gsi) {
                g->resample[i] = g->resample[--g->nresample];
                break;
            }
    }
    pthread_mutex_unlock(&g->lock);
    if (ready)
        e = kvm_irqfd_resample(&vm->kvm, (uint32_t)gsi - ARM64_GIC_SPI_BASE, fd,
                               rfd, assign);
    return e;
}

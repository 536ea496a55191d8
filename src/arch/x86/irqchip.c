/*
 * irqchip.c: the x86 interrupt platform of a VM (arch.h).
 *
 * Two modes, chosen per VM by x86_irqchip_choose (config/platform.h says
 * when; dryrun prints the choice):
 *
 * split (KVM_CAP_SPLIT_IRQCHIP): the local APICs are KVM's; every
 *   `vdev ioapic` is qvm's model (ioapic.c) at its configured `loc`, the
 *   two `vdev 8259` are qvm's pair (pic.c) at theirs, `timer8254` is qvm's
 *   (pit_dev.c). IOAPIC input n of an IOAPIC whose first GSI is b is KVM
 *   GSI b+n, routed to the MSI message its redirection entry makes; a
 *   delivery is KVM_IRQ_LINE on that GSI, and KVM reports the local APICs'
 *   EOIs of level-triggered vectors (KVM_EXIT_IOAPIC_EOI) back to the
 *   models. The 8259 pair's INT output reaches vCPU 0's LINT0: when it is
 *   high, vCPU 0 asks KVM for an interrupt window and injects the vector
 *   of an INTA cycle with KVM_INTERRUPT (arch_vcpu_pre_run).
 *
 * kernel (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2 when a timer8254 exists):
 *   KVM's own IOAPIC (0xfec00000, 24 inputs), 8259 pair (0x20, 0xa0) and
 *   8254 (0x40), used only when the configuration describes exactly that
 *   board, because it costs fewer exits. KVM GSI g is IOAPIC input g and,
 *   below 16 (not 2, the cascade), 8259 input g.
 *
 * In both modes a device's `intr` becomes a struct irq_line through
 * arch_irq_resolve: an IOAPIC input (GSI) and, for an ISA line (a GSI of
 * the first IOAPIC below 16), the 8259 input of the same ISA IRQ. The
 * board's ISA IRQ -> GSI wiring (isa_gsi) is what the MADT's interrupt
 * source overrides and the MP table publish.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/arch.h"
#include "arch/x86/ioapic.h"
#include "arch/x86/irqchip.h"
#include "arch/x86/pic.h"
#include "config/schema.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "irqchip"

static struct x86_arch *arch_of(void *ctx_opaque)
{
    return ((struct vm *)ctx_opaque)->arch;
}

struct x86_arch *x86_arch(struct vm *vm)
{
    return vm->arch;
}

/* ---- the mode ------------------------------------------------------------ */

/* ---- KVM GSI routes of IOAPIC inputs (split) ----------------------------- */

static void pin_route(struct vm *vm, uint32_t gsi, struct ioapic_msg m)
{
    struct gsi_routes *g = &vm->gsi;
    pthread_mutex_lock(&g->lock);
    if (gsi < g->npins) {
        struct kvm_irq_routing_entry *e = &g->table->entries[gsi];
        if (e->u.msi.address_lo != (uint32_t)m.addr ||
            e->u.msi.address_hi != (uint32_t)(m.addr >> 32) ||
            e->u.msi.data != m.data) {
            e->u.msi.address_lo = (uint32_t)m.addr;
            e->u.msi.address_hi = (uint32_t)(m.addr >> 32);
            e->u.msi.data = m.data;
            int r = kvm_set_gsi_routing(&vm->kvm, g->table);
            if (r < 0)
                log_error(TAG, "KVM_SET_GSI_ROUTING (GSI %u): %s", gsi,
                          strerror(-r));
        }
    }
    pthread_mutex_unlock(&g->lock);
}

/* ---- IOAPICs --------------------------------------------------------------
 */

static void io_route(void *opaque, uint32_t pin, struct ioapic_msg msg,
                     bool masked)
{
    struct x86_ioapic *x = opaque;
    (void)masked;
    x->data[pin] = msg.data; /* under the model's lock, as deliver reads */
    pin_route(x->vm, x->gsi_base + pin, msg);
}

static void io_deliver(void *opaque, uint32_t pin)
{
    struct x86_ioapic *x = opaque;
    /* Called with the model's lock held: no ioapic_* call from here. */
    if (((x->data[pin] >> 8) & 7) == 7) {
        LOG_RATELIMITED(LOG_WARN, TAG,
                        "%s input %u: ExtINT delivery through the IOAPIC is "
                        "not supported; program the local APIC's LINT0 "
                        "instead",
                        x->chip.name, pin);
        return;
    }
    int e = kvm_irq_line(&x->vm->kvm, x->gsi_base + pin, true);
    if (e < 0)
        LOG_RATELIMITED(LOG_ERROR, TAG, "KVM_IRQ_LINE %u: %s",
                        x->gsi_base + pin, strerror(-e));
}

/* A resampled input (arch_irq_eoi_fd): the EOI tells its source, which
 * lowers its own level and may raise it again. Where the source is the
 * input's only one, the model takes the input as low at once (no second
 * delivery before the source has lowered it: KVM's resampler does the
 * same); on an input shared with other sources (PCI INTx lines) the model
 * keeps the OR of their levels, and the EOI'd source's level drops when
 * it lowers it (an extra delivery meanwhile is a spurious interrupt, not
 * a lost one). */
static bool io_eoi_pin(void *opaque, uint32_t pin)
{
    struct x86_ioapic *x = opaque;
    int fd = x->eoi_fd[pin];
    if (fd < 0)
        return false;
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        LOG_RATELIMITED(LOG_ERROR, TAG, "%s input %u: EOI eventfd: %s",
                        x->chip.name, pin, strerror(errno));
    return x->in[pin].nsrc <= 1;
}

static const struct ioapic_ops io_ops = {io_route, io_deliver, io_eoi_pin};

static void io_set_pin(void *opaque, uint32_t pin, bool level)
{
    struct x86_ioapic *x = opaque;
    ioapic_set_pin(x->io, pin, level);
}

static void io_eoi(void *opaque, uint8_t vector)
{
    struct x86_ioapic *x = opaque;
    ioapic_eoi(x->io, vector);
}

static uint64_t io_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct x86_ioapic *x = opaque;
    return ioapic_mmio_read(x->io, off, size);
}

static void io_mmio_write(void *opaque, uint64_t off, uint64_t val,
                          unsigned size)
{
    struct x86_ioapic *x = opaque;
    ioapic_mmio_write(x->io, off, val, size);
}

static const struct region_ops io_mmio_ops = {io_mmio_read, io_mmio_write};

static void kernel_set_pin(void *opaque, uint32_t gsi, bool level)
{
    struct vm *vm = opaque;
    int e = kvm_irq_line(&vm->kvm, gsi, level);
    if (e < 0)
        LOG_RATELIMITED(LOG_ERROR, TAG, "KVM_IRQ_LINE %u: %s", gsi,
                        strerror(-e));
}

static void ioapic_teardown(void *state)
{
    struct x86_ioapic *x = state;
    for (uint32_t i = 0; x->in && i < x->npins; i++)
        irq_input_destroy(&x->in[i]);
    free(x->in);
    free(x->data);
    free(x->eoi_fd);
    if (x->io)
        ioapic_free(x->io);
    free(x);
}

static int ioapic_init(struct x86_ioapic *x, const struct vdev_spec *vd,
                       const struct dev_ctx *ctx)
{
    struct vm *vm = x->vm;
    struct x86_arch *a = vm->arch;
    x->vdev = (int)(vd - vm->spec->vdevs.v);
    x->npins = vd->pic_lines ? vd->pic_lines : IOAPIC_DEFAULT_PINS;
    x->base = vd->has_loc ? vd->loc.base : X86_IOAPIC_DEFAULT_BASE;
    x->gsi_base = a->ioapic_pins_used;
    x->id = (uint8_t)(vm->spec->cpus.n + a->nioapics);
    snprintf(x->label, sizeof(x->label), "ioapic %s", vd->name ? vd->name : "");
    x->chip = (struct irq_chip){
        .name = x->label, .kind = IRQC_IOAPIC, .npins = x->npins};
    if (a->split) {
        x->chip.set_pin = io_set_pin;
        x->chip.eoi = io_eoi;
        x->chip.opaque = x;
    } else {
        x->chip.set_pin = kernel_set_pin;
        x->chip.opaque = vm;
    }
    x->in = calloc(x->npins, sizeof(*x->in));
    x->data = calloc(x->npins, sizeof(*x->data));
    x->eoi_fd = calloc(x->npins, sizeof(*x->eoi_fd));
    if (!x->in || !x->data || !x->eoi_fd) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < x->npins; i++)
        x->eoi_fd[i] = -1;
    for (uint32_t i = 0; i < x->npins; i++)
        irq_input_init(&x->in[i], &x->chip, a->split ? i : x->gsi_base + i);
    if (a->split) {
        x->io = ioapic_new(x->id, x->npins, &io_ops, x);
        if (!x->io) {
            log_fatal(TAG, "%s: cannot create the model", x->label);
            return -1;
        }
        int e = bus_map(ctx->mmio, x->label, x->base, IOAPIC_MMIO_SIZE,
                        &io_mmio_ops, x);
        if (e < 0) {
            log_fatal(TAG, "%s: cannot map 0x%llx: %s", x->label,
                      (unsigned long long)x->base, strerror(-e));
            return -1;
        }
    }
    return 0;
}

int ioapic_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct dev_inst *inst)
{
    struct vm *vm = ctx->opaque;
    struct x86_arch *a = arch_of(ctx->opaque);
    if (a->nioapics == X86_MAX_IOAPICS) {
        log_fatal(TAG, "more than %d IOAPICs", X86_MAX_IOAPICS);
        return -1;
    }
    struct x86_ioapic *x = calloc(1, sizeof(*x));
    if (!x) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    x->vm = vm;
    if (ioapic_init(x, vd, ctx) < 0) {
        ioapic_teardown(x);
        return -1;
    }
    inst->state = x;
    inst->teardown = ioapic_teardown;
    a->ioapics[a->nioapics++] = x;
    a->ioapic_pins_used += x->npins;
    log_debug(TAG, "%s at 0x%llx: GSI %u-%u, id %u (%s)", x->label,
              (unsigned long long)x->base, x->gsi_base,
              x->gsi_base + x->npins - 1, x->id,
              a->split ? "qvm" : "KVM in-kernel");
    return 0;
}

/* ---- the 8259 pair --------------------------------------------------------
 */

static void pic_intr(void *opaque, bool level)
{
    struct x86_arch *a = opaque;
    atomic_store(&a->pic_int, level);
    if (level)
        x86_kick_boot_vcpu(a->vm);
}

static const struct pic_ops pic_cb = {pic_intr};

static void pic_set_pin(void *opaque, uint32_t pin, bool level)
{
    struct x86_arch *a = opaque;
    pic_set_irq(a->pic, pin, level);
}

struct pic_port {
    struct x86_arch *a;
    unsigned chip; /* 0 master, 1 slave, 2 ELCR */
};

static uint64_t pic_port_read(void *opaque, uint64_t off, unsigned size)
{
    struct pic_port *p = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && off + i < 2; i++) {
        unsigned o = (unsigned)off + i;
        uint8_t b = p->chip == 2 ? pic_elcr_read(p->a->pic, o)
                                 : pic_read(p->a->pic, p->chip, o);
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void pic_port_write(void *opaque, uint64_t off, uint64_t val,
                           unsigned size)
{
    struct pic_port *p = opaque;
    for (unsigned i = 0; i < size && off + i < 2; i++) {
        unsigned o = (unsigned)off + i;
        uint8_t b = (uint8_t)(val >> (8 * i));
        if (p->chip == 2)
            pic_elcr_write(p->a->pic, o, b);
        else
            pic_write(p->a->pic, p->chip, o, b);
    }
}

static const struct region_ops pic_port_ops = {pic_port_read, pic_port_write};

static void pic_teardown(void *state)
{
    struct x86_arch *a = state;
    if (--a->pic_refs > 0)
        return;
    for (unsigned i = 0; i < 16; i++)
        irq_input_destroy(&a->pic_in[i]);
    if (a->pic)
        pic_free(a->pic);
    a->pic = NULL;
    free(a->pic_ports);
    a->pic_ports = NULL;
}

int pic_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst)
{
    struct vm *vm = ctx->opaque;
    struct x86_arch *a = arch_of(ctx->opaque);
    unsigned chip = a->npics;
    if (chip >= 2) {
        log_fatal(TAG, "%s:%u: a PC has two 8259s (master and slave)",
                  vd->span.file ? vd->span.file : "?", vd->span.line);
        return -1;
    }
    uint64_t base = vd->has_loc ? vd->loc.base : (chip ? 0xa0 : 0x20);
    a->pic_vdev[chip] = (int)(vd - vm->spec->vdevs.v);
    a->npics++;
    if (!a->split) {
        if (base != (chip ? 0xa0u : 0x20u))
            log_warn(TAG, "8259 at 0x%llx: KVM's in-kernel 8259 stays at 0x%x",
                     (unsigned long long)base, chip ? 0xa0 : 0x20);
        return 0;
    }
    if (chip == 0) {
        a->pic_chip = (struct irq_chip){.name = "8259",
                                        .kind = IRQC_PIC,
                                        .set_pin = pic_set_pin,
                                        .opaque = a,
                                        .npins = 16};
        a->pic = pic_new(&pic_cb, a);
        a->pic_ports = calloc(3, sizeof(*a->pic_ports));
        if (!a->pic || !a->pic_ports) {
            log_fatal(TAG, "out of memory");
            return -1;
        }
        for (unsigned i = 0; i < 16; i++)
            irq_input_init(&a->pic_in[i], &a->pic_chip, i);
        for (unsigned i = 0; i < 3; i++)
            a->pic_ports[i] = (struct pic_port){a, i};
        if (bus_map(ctx->pio, "8259 ELCR", 0x4d0, 2, &pic_port_ops,
                    &a->pic_ports[2]) < 0)
            log_warn(TAG, "the 8259 ELCR ports 0x4d0-0x4d1 are taken");
    }
    a->pic_refs++;
    inst->state = a;
    inst->teardown = pic_teardown;
    int e = bus_map(ctx->pio, chip ? "8259 slave" : "8259 master", base, 2,
                    &pic_port_ops, &a->pic_ports[chip]);
    if (e < 0) {
        log_fatal(TAG, "8259: cannot map io 0x%llx: %s",
                  (unsigned long long)base, strerror(-e));
        return -1;
    }
    return 0;
}

void x86_kick_boot_vcpu(struct vm *vm)
{
    if (!vm->nvcpus || !vm->vcpus)
        return;
    struct vcpu *v = &vm->vcpus[0];
    if (v->thread_started && pthread_equal(v->thread, pthread_self()))
        return; /* checked again before the next KVM_RUN */
    pthread_mutex_lock(&vm->lock);
    vcpu_kick(v);
    pthread_mutex_unlock(&vm->lock);
}

/* The 8259's output on the BSP (split irqchip only): kept out of
 * arch_vcpu_pre_run, which every exit calls, so that the common case
 * costs a test and no register saves (bench/README.md, "Per exit"). */
static NOINLINE void pic_pre_run(struct vcpu *vcpu, struct x86_arch *a)
{
    struct kvm_run *run = vcpu->run;
    /* A kick for the 8259 left immediate_exit set: clear it before looking
     * at the output, so that a later kick is not lost. */
    if (!vm_stopping(vcpu->vm))
        __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (!atomic_load(&a->pic_int) || !pic_output(a->pic)) {
        run->request_interrupt_window = 0;
        return;
    }
    if (run->ready_for_interrupt_injection && run->if_flag) {
        uint8_t vec = pic_intack(a->pic);
        int e = kvm_interrupt(vcpu->fd, vec);
        if (e < 0 && e != -EEXIST)
            log_error(TAG, "KVM_INTERRUPT %u: %s", vec, strerror(-e));
        run->request_interrupt_window = pic_output(a->pic);
        return;
    }
    run->request_interrupt_window = 1;
}

bool arch_vcpu_has_pre_run(struct vcpu *vcpu)
{
    const struct x86_arch *a = vcpu->vm->arch;
    return vcpu->id == 0 && a->split && a->pic;
}

void arch_vcpu_pre_run(struct vcpu *vcpu)
{
    struct x86_arch *a = vcpu->vm->arch;
    if (vcpu->id == 0 && a->split && a->pic)
        pic_pre_run(vcpu, a);
}

void arch_ioapic_eoi(struct vm *vm, uint8_t vector)
{
    struct x86_arch *a = vm->arch;
    for (unsigned i = 0; i < a->nioapics; i++)
        if (a->ioapics[i]->io)
            ioapic_eoi(a->ioapics[i]->io, vector);
}

int arch_irq_eoi_fd(void *ctx_opaque, int64_t gsi, int fd)
{
    struct vm *vm = ctx_opaque;
    struct x86_arch *a = vm->arch;
    if (!a->split)
        return -ENOSYS; /* KVM's IOAPIC: irqfd_resample */
    for (unsigned i = 0; i < a->nioapics; i++) {
        struct x86_ioapic *x = a->ioapics[i];
        if (gsi >= x->gsi_base && gsi < (int64_t)x->gsi_base + x->npins) {
            x->eoi_fd[gsi - x->gsi_base] = fd;
            return 0;
        }
    }
    return -ENOENT;
}

int arch_irqfd_resample(struct vm *vm, int gsi, int fd, int rfd, bool assign)
{
    if (!vm->has_irqfd)
        return -ENOSYS;
    return kvm_irqfd_resample(&vm->kvm, (uint32_t)gsi, fd, rfd, assign);
}

/* ---- lines ----------------------------------------------------------------
 */

static struct x86_ioapic *ioapic_of_vdev(struct x86_arch *a, int vdev)
{
    for (unsigned i = 0; i < a->nioapics; i++)
        if (a->ioapics[i]->vdev == vdev)
            return a->ioapics[i];
    return NULL;
}

/* The first IOAPIC, when its GSIs start at 0 (where ISA IRQs land). */
static struct x86_ioapic *isa_ioapic(struct x86_arch *a)
{
    return a->nioapics && a->ioapics[0]->gsi_base == 0 ? a->ioapics[0] : NULL;
}

static int isa_of_gsi(const struct x86_arch *a, int64_t gsi)
{
    for (int i = 0; i < 16; i++)
        if (i != 2 && a->isa_gsi[i] == gsi)
            return i;
    return -1;
}

static int connect(struct irq_line *l, struct irq_input *in, const char *what)
{
    int e = irq_line_connect(l, in);
    if (e < 0)
        log_fatal(TAG, "%s: too many sources on one interrupt input", what);
    return e;
}

/* The 8259 input of ISA IRQ `isa`, when the pair (or the master) exists. */
static struct irq_input *pic_input(struct x86_arch *a, int isa)
{
    if (isa < 0 || isa > 15 || isa == 2 || !a->pic ||
        (isa >= 8 && a->npics < 2))
        return NULL;
    return &a->pic_in[isa];
}

static int line_isa(struct x86_arch *a, int isa, struct irq_line *out)
{
    *out = irq_line_none();
    out->isa = isa;
    struct x86_ioapic *io = isa_ioapic(a);
    int64_t gsi = a->isa_gsi[isa];
    if (!a->split) {
        /* KVM routes GSI g < 16 (not 2) to 8259 input g too. */
        if (!io || gsi < 0 || (uint64_t)gsi >= io->npins)
            return -ENOENT;
        out->gsi = gsi;
        return connect(out, &io->in[gsi], "ISA IRQ");
    }
    if (io && gsi >= 0 && (uint32_t)gsi < io->npins) {
        out->gsi = gsi;
        if (connect(out, &io->in[gsi], "ISA IRQ") < 0)
            return -ENOSPC;
    }
    struct irq_input *pi = pic_input(a, isa);
    if (pi && connect(out, pi, "ISA IRQ") < 0)
        return -ENOSPC;
    return out->n ? 0 : -ENOENT;
}

int arch_irq_isa(void *ctx_opaque, unsigned isa, struct irq_line *out)
{
    struct x86_arch *a = arch_of(ctx_opaque);
    if (isa > 15)
        return -EINVAL;
    return line_isa(a, (int)isa, out);
}

/* On x86 a controller vdev is an IOAPIC (it takes `intr apic`
 * downstream) or one of the 8259 pair. */
static bool is_ioapic(const struct vdev_spec *vd)
{
    return vd->type->flags & VF_IOAPIC_DS;
}

static bool is_8259(const struct vdev_spec *vd)
{
    return (vd->type->flags & VF_PIC) && !is_ioapic(vd);
}

int arch_irq_resolve(void *ctx_opaque, const struct intr *in, int isa,
                     struct irq_line *out)
{
    struct vm *vm = ctx_opaque;
    struct x86_arch *a = vm->arch;
    *out = irq_line_none();
    if (in->pic < 0 || (size_t)in->pic >= vm->spec->vdevs.n)
        return -ENOENT;
    const struct vdev_spec *ctl = &vm->spec->vdevs.v[in->pic];
    if (is_ioapic(ctl)) {
        struct x86_ioapic *io = ioapic_of_vdev(a, in->pic);
        if (!io || in->line >= io->npins) {
            log_fatal(TAG, "interrupt %s:%u: no such IOAPIC input",
                      spec_pic_label(vm->spec, in->pic), in->line);
            return -ENOENT;
        }
        out->gsi = io->gsi_base + in->line;
        if (connect(out, &io->in[in->line], io->label) < 0)
            return -ENOSPC;
        if (!a->split || io->gsi_base != 0)
            return 0;
        if (isa < 0)
            isa = isa_of_gsi(a, out->gsi);
        struct irq_input *pi = pic_input(a, isa);
        out->isa = pi ? isa : -1;
        if (pi && connect(out, pi, "8259") < 0)
            return -ENOSPC;
        return 0;
    }
    /* A line of an 8259: the first is the master (IRQ 0-7). */
    int nth = ctl == &vm->spec->vdevs.v[a->pic_vdev[0]] ? 0 : 1;
    return line_isa(a, (int)in->line + 8 * nth, out);
}

/* ---- set-up ----------------------------------------------------------------
 */

/* The IOAPIC GSI of each ISA IRQ: the same number, except IRQ 0: the 8254's
 * input of the first IOAPIC when the configuration has an 8254, else GSI 2,
 * where a PC's chipset wires IRQ 0 and the HPET specification puts legacy
 * replacement timer 0 in APIC mode. */
/* The GSI of `line` of controller vdev `pic`: an IOAPIC's GSI base (its
 * predecessors' inputs) + line, an 8259's ISA IRQ (the second adds 8); -1
 * for anything else. */
static long pic_gsi(const struct vm_spec *spec, int pic, uint32_t line)
{
    if (pic < 0 || (size_t)pic >= spec->vdevs.n)
        return -1;
    const struct vdev_spec *ctl = &spec->vdevs.v[pic];
    if (!is_ioapic(ctl) && !is_8259(ctl))
        return -1;
    long base = 0;
    for (int i = 0; i < pic; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        if (is_8259(ctl) && is_8259(vd))
            base = 8; /* the second 8259 */
        else if (is_ioapic(ctl) && is_ioapic(vd))
            base += vd->pic_lines ? vd->pic_lines : IOAPIC_DEFAULT_PINS;
    }
    return base + line;
}

static void isa_wiring(struct x86_arch *a, const struct vm_spec *spec)
{
    for (int i = 0; i < 16; i++)
        a->isa_gsi[i] = i;
    a->isa_gsi[0] = 2;
    for (size_t i = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        if (!(vd->type->flags & VF_PIT) || !vd->intrs.n)
            continue;
        long g = pic_gsi(spec, vd->intrs.v[0].pic, vd->intrs.v[0].line);
        if (g >= 0 && g < 16 && is_ioapic(&spec->vdevs.v[vd->intrs.v[0].pic]))
            a->isa_gsi[0] = g;
    }
}

static uint32_t total_ioapic_pins(const struct vm_spec *spec)
{
    uint32_t n = 0;
    for (size_t i = 0; i < spec->vdevs.n; i++)
        if (is_ioapic(&spec->vdevs.v[i]))
            n += spec->vdevs.v[i].pic_lines ? spec->vdevs.v[i].pic_lines
                                            : IOAPIC_DEFAULT_PINS;
    return n;
}

int x86_irqchip_init(struct vm *vm)
{
    struct x86_arch *a = calloc(1, sizeof(*a));
    if (!a) {
        log_fatal(TAG, "out of memory");
        return -ENOMEM;
    }
    vm->arch = a;
    a->vm = vm;
    atomic_init(&a->pic_int, false);
    a->split = platform_split_irqchip(vm->spec, a->why, sizeof(a->why));
    isa_wiring(a, vm->spec);
    uint32_t pins = total_ioapic_pins(vm->spec);
    if (a->split && pins > X86_SPLIT_MAX_PINS) {
        log_fatal(TAG,
                  "%u IOAPIC inputs in all: KVM's split irqchip reserves at "
                  "most %u GSIs for IOAPIC inputs",
                  pins, X86_SPLIT_MAX_PINS);
        return -EINVAL;
    }
    a->ioapic_pins = pins;
    log_debug(TAG, "interrupt controllers: %s (%s)",
              a->split ? "qvm's (KVM split irqchip)" : "KVM's in-kernel",
              a->why);
    return 0;
}

void x86_irqchip_free(struct vm *vm)
{
    free(vm->arch);
    vm->arch = NULL;
}

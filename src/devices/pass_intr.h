/*
 * pass_intr.h: `pass intr PIC:LINE=uio:PATH` / `=fd:N` (docs/passthrough.md):
 * a host interrupt, as a UIO device or an inherited descriptor reports it,
 * raised on a guest interrupt controller input.
 *
 * The guest line is level-triggered from the host interrupt to the guest's
 * EOI of it:
 *   - source readable (the I/O thread): the line goes up (with KVM's
 *     irqchip, a KVM irqfd with resample; with qvm's IOAPIC models,
 *     irq_line_set) unless it is up already (then the interrupt is
 *     coalesced: counted, nothing more);
 *   - the guest's EOI (KVM's resample eventfd, or qvm's IOAPIC model's
 *     EOI eventfd, dev_ctx.irq_eoi_fd): the line goes down and the host
 *     interrupt is re-enabled: UIO's write of a 32-bit 1 (the driver's
 *     irqcontrol), or, for a driver without irqcontrol (uio_pci_generic),
 *     the PCI command register's Interrupt Disable bit cleared through
 *     the function's sysfs `config` (the UIO HOWTO's way for that
 *     driver; no other bit is written); nothing for an inherited fd.
 * The host interrupt stays disabled by its driver from its firing to the
 * guest's EOI, so an interrupt that re-fires at once costs one host
 * interrupt and one guest EOI per round: qvm never spins on it, and logs
 * no line per interrupt (counts in the SIGUSR1 report and at exit).
 *
 * Context: realize and teardown on the main thread; the source and EOI
 * callbacks on the I/O thread; the split irqchip's EOI eventfd is written
 * by the vCPU that EOI'd.
 */
#ifndef QVM_DEVICES_PASS_INTR_H
#define QVM_DEVICES_PASS_INTR_H

#include <stdint.h>

#include "config/spec.h"
#include "devices/device.h"
#include "util/compiler.h"

/* How the host interrupt is re-enabled at the guest's EOI. */
enum pass_reenable {
    PASS_REENABLE_NONE,  /* fd:N: nothing to re-enable */
    PASS_REENABLE_WRITE, /* UIO irqcontrol: write a 32-bit 1 */
    PASS_REENABLE_INTX,  /* the PCI command register's Interrupt Disable */
};

struct pass_irq;

struct pass_irq_stats {
    uint64_t interrupts; /* host interrupts read from the source */
    uint64_t raised;     /* times the guest line went up */
    uint64_t coalesced;  /* host interrupts while it was up */
    uint64_t eois;       /* guest EOIs that lowered it */
    uint64_t reenable_errors;
    bool up;
    bool kvm; /* KVM irqfd with resample (else qvm's IOAPIC EOI hook) */
};

/* pass_intr_realize: one device per `pass intr` with a host source: the
 * UIO device opened, its re-enable method found, the line wired. -1
 * (logged) when any cannot be. */
int pass_intr_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                      struct dev_list *out) MUST_CHECK;

/*
 * pass_irq_new: the state for guest input `in` fed by descriptor `src`
 * (owned from now on when own_src), re-enabled by `how` (cfg_fd: the
 * function's sysfs config for PASS_REENABLE_INTX, owned, else -1). The
 * callbacks are registered on ctx->ev when it is non-NULL (tests call
 * pass_irq_source_ready and pass_irq_eoi_ready themselves). NULL (logged)
 * on failure (src and cfg_fd closed if owned).
 */
struct pass_irq *pass_irq_new(const struct dev_ctx *ctx, const struct intr *in,
                              const char *label, int src, bool own_src,
                              bool uio, enum pass_reenable how, int cfg_fd);
/* pass_irq_source_ready: the source is readable (the I/O thread). */
void pass_irq_source_ready(struct pass_irq *p);
/* pass_irq_eoi_ready: the EOI eventfd is readable (the I/O thread). */
void pass_irq_eoi_ready(struct pass_irq *p);
/* pass_irq_eoi_fd: the eventfd the guest's EOI signals (tests). */
int pass_irq_eoi_fd(const struct pass_irq *p);
void pass_irq_get_stats(struct pass_irq *p, struct pass_irq_stats *s);
void pass_irq_free(struct pass_irq *p);

/* pass_uio_reenable_method: what re-enables UIO device `fd` (node
 * `path`): a probe write of 1 (harmless: the interrupt is enabled at
 * start anyway); ENOSYS or EIO (no irqcontrol) and a PCI function: its sysfs
 * config
 * ($QVM_SYSFS_ROOT/class/uio/uioN/device/config) opened into *cfg_fd and
 * Interrupt Disable cleared. -1 (logged) when neither works. */
int pass_uio_reenable_method(int fd, const char *path, const char *label,
                             enum pass_reenable *how, int *cfg_fd) MUST_CHECK;

#endif

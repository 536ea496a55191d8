/*
 * device.h: what a device model gets from the VM (struct dev_ctx) and the
 * explicit table of built-in vdev types. Devices never include KVM headers:
 * they map regions on the buses, raise lines resolved by ctx->irq_resolve
 * (devices/irq.h) and ask
 * the VM to stop through ctx->stop.
 */
#ifndef QVM_DEVICES_DEVICE_H
#define QVM_DEVICES_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/spec.h"
#include "devices/irq.h"
#include "loader/gview.h"
#include "util/compiler.h"
#include "util/vec.h"
#include "vm/bus.h"
#include "vm/event.h"
#include "vm/stop.h"

struct pci_bus;

struct dev_ctx {
    struct bus *pio, *mmio;
    /* mem: guest RAM/ROM. Every guest-physical address a device follows
     * goes through gview_ptr(ctx->mem, ...), the one checked gate. */
    const struct gview *mem;
    /*
     * irq_resolve: wire a device output to the controller input its
     * `intr` names and, for an ISA line (IOAPIC GSI below 16), to the 8259
     * pair's input too. isa: the ISA IRQ the output drives on the 8259s
     * when that is not the GSI (the PIT's 0), or -1. The line lives as
     * long as the VM. -ENOENT (logged) when the controller does not exist.
     * irq_isa: the line of ISA IRQ `isa` as the board wires it (HPET
     * legacy replacement). Context: realize (main thread).
     */
    int (*irq_resolve)(void *opaque, const struct intr *in, int isa,
                       struct irq_line *out);
    int (*irq_isa)(void *opaque, unsigned isa, struct irq_line *out);
    /*
     * legacy_replacement: an HPET turned legacy replacement on (its timers
     * 0 and 1 take ISA IRQ 0 and 8) or off: the platform disconnects or
     * reconnects the 8254's OUT0 and the RTC's IRQ 8. NULL: nothing to
     * disconnect (a fake machine). Context: any.
     */
    void (*legacy_replacement)(void *opaque, bool on);
    /* stop: end the VM for `why` (first request wins). Context: any. */
    void (*stop)(void *opaque, enum vm_stop why);
    /*
     * dump: write a guest dump now (the configuration's `dump`; a watchdog
     * vdev's `action dump,...`), `why` names the cause in the log. Returns
     * when the dump is written (the vCPUs are paused meanwhile); 0, or -1
     * (logged: no `dump` configured, or it failed). Context: any thread
     * but a vCPU's, holding no lock a vCPU may wait for while it handles
     * an exit (the vCPUs must reach their pause point; vm/dumper.h).
     */
    int (*dump)(void *opaque, const char *why);
    void *opaque;
    /* ev: the I/O event thread for backends (vm/event.h); set by
     * devices_realize, started after every device is realized. */
    struct evloop *ev;
    /* pci: bus 0 (devices/pci.h) when the spec has PCI, else NULL; set by
     * devices_realize before the vdevs are realized. */
    struct pci_bus *pci;
    /* system: the spec's `system` name, or NULL (set by devices_realize);
     * virtio-net's peer endpoints are named after it. */
    const char *system;
    /* timer_slack_ns: how late a device timer may fire (the
     * configuration's `tolerance`; set by devices_realize): dtimer_new's
     * slack. */
    uint64_t timer_slack_ns;

    /*
     * KVM's fast paths, behind function pointers so that devices never
     * include KVM headers. Each returns 0 or a negative errno; -ENOSYS
     * when KVM (or this VM: no in-kernel irqchip) lacks the feature, and
     * the caller then uses its slow path. Context: any thread.
     *
     * ioeventfd: a guest write of `len` bytes (0: any size) at `addr` on
     * the port (pio) or memory bus signals eventfd `fd` inside KVM
     * instead of exiting to qvm; with `match`, only when the value
     * written is `data`. assign=false removes the same registration.
     */
    int (*ioeventfd)(void *opaque, bool pio, uint64_t addr, unsigned len,
                     bool match, uint64_t data, int fd, bool assign);
    /*
     * coalesced_pio: guest writes to ports [port, port+len) no longer exit:
     * KVM queues them and qvm delivers them to the port bus later, in
     * order, before any later exit of any vCPU is handled and at least
     * every few milliseconds while the device calls coalesced_drain on a
     * timer (and once more at teardown). For a register whose writes need
     * no immediate reaction (a UART's THR with no THRE interrupt).
     * assign=false: writes exit again (the queued ones were delivered
     * before the exit that asked). coalesced_drain: deliver what is
     * queued now; call it holding no device lock (the delivery takes it).
     */
    int (*coalesced_pio)(void *opaque, uint64_t port, unsigned len,
                         bool assign);
    void (*coalesced_drain)(void *opaque);
    /*
     * coalesced_on_flush: registers fn(arg, port), called on a vCPU thread
     * with no lock held when queued writes were delivered before an exit;
     * `port` is the port that exit reads, or UINT64_MAX when it is not a
     * port read (a power-off, a reset, MMIO...). A device that holds
     * output for later (ser8250) writes it then unless the exit reads one
     * of its own registers (its console's poll), so that the output comes
     * out before whatever that exit does and logs. Called at realize;
     * NULL: not available.
     */
    void (*coalesced_on_flush)(void *opaque,
                               void (*fn)(void *arg, uint64_t port), void *arg);
    /*
     * MSI routes: msi_route_alloc returns a new GSI (>= 0) for one MSI-X
     * vector; msi_route_set points it at the message (address, data), or
     * removes the route with valid=false; irqfd binds eventfd `fd` to a
     * GSI (a write to fd then injects it inside KVM); msi_send injects
     * one message directly (KVM_SIGNAL_MSI), the slow path.
     */
    int (*msi_route_alloc)(void *opaque);
    int (*msi_route_set)(void *opaque, int gsi, bool valid, uint64_t addr,
                         uint32_t data);
    int (*irqfd)(void *opaque, int gsi, int fd, bool assign);
    /*
     * irqfd_resample: a level-triggered line inside KVM: a write to `fd`
     * asserts `gsi` (an IOAPIC input), the guest's EOI deasserts it and
     * signals `rfd` (VFIO's INTx unmask). -EINVAL when KVM cannot (its
     * split irqchip), -ENOSYS without irqfd.
     */
    int (*irqfd_resample)(void *opaque, int gsi, int fd, int rfd, bool assign);
    /*
     * irq_eoi_fd: the same for qvm's own IOAPIC models (KVM's split
     * irqchip): each guest EOI that clears IOAPIC input `gsi`'s remote IRR
     * takes the input as deasserted in the model and signals eventfd `fd`
     * (from the vCPU that EOI'd); the line's source, which raised it with
     * irq_line_set, lowers it (irq_line_set false) before raising it
     * again. Only for a line with no other source. fd -1: no longer.
     * -ENOSYS where the IOAPIC is KVM's (irqfd_resample) or there is none.
     * Context: realize and teardown.
     */
    int (*irq_eoi_fd)(void *opaque, int64_t gsi, int fd);
    int (*msi_send)(void *opaque, uint64_t addr, uint32_t data);
    /*
     * ram_add: guest RAM at [gpa, gpa+size) backed by host memory `hva`
     * (a KVM memory slot; not in ctx->mem: no device follows pointers
     * there). The device keeps `hva` mapped for the VM's lifetime and may
     * replace its pages (MAP_FIXED). 0 or -errno (logged). Context:
     * realize only.
     */
    int (*ram_add)(void *opaque, uint64_t gpa, uint64_t size, void *hva);
    /*
     * Device memory the guest reaches without exits (a passed device's
     * BAR: VFIO's mmap of it). slot_new reserves a KVM memory slot (>= 0,
     * or -errno; realize only); slot_set puts [gpa, gpa+size) backed by
     * `hva` in it (page-aligned), or empties it with size 0 (the guest's
     * accesses there exit again). Not guest RAM: never in ctx->mem, never
     * mapped for DMA. NULL: not offered (a fake machine). Context: any
     * thread (the PCI remap thread's bar_moved, teardown).
     */
    int (*slot_new)(void *opaque);
    int (*slot_set)(void *opaque, int slot, uint64_t gpa, uint64_t size,
                    void *hva);
};

/* A realized device: torn down (and its output flushed) at VM exit. */
/*
 * What a realized device is to the firmware tables (arch/x86/board.c): its
 * role, its window and the interrupt it actually got. Filled by realize.
 */
enum dev_role {
    DEV_ROLE_NONE,
    DEV_ROLE_UART,        /* a 16550 (ACPI PNP0501) */
    DEV_ROLE_VIRTIO_MMIO, /* virtio-mmio (ACPI LNRO0005) */
    DEV_ROLE_HPET,        /* info: struct hpet_info (arch/x86/hpet.h) */
    DEV_ROLE_KBC,         /* the 8042 */
    DEV_ROLE_RTC,         /* the MC146818 (state: for rtc_irq_connect) */
    DEV_ROLE_SHMEM,       /* an MMIO shmem's factory page (ACPI QNXS0001);
                           * info: uint64_t[2], its region window */
    DEV_ROLE_PL011,       /* an ARM PL011 UART (FDT arm,pl011) */
    DEV_ROLE_SP805,       /* an SP805 watchdog (FDT arm,sp805); info:
                           * struct sp805_info */
    DEV_ROLE_GPIO_POWER,  /* qvm's aarch64 power button: a PL061 with a
                           * gpio-keys KEY_POWER pin (devices/pl061.h) */
};
/* What the FDT needs of an SP805 beyond its window: its counter clock. */
struct sp805_info {
    uint64_t hz;
};
struct dev_desc {
    enum dev_role role;
    uint64_t base, size;
    int64_t gsi; /* -1: none */
    int isa;     /* its 8259 input, -1: none */
    const void *info;
};

struct dev_inst {
    const char *name;
    void *state;
    void (*teardown)(void *state);
    /*
     * report: one line of the device's state for the SIGUSR1 status report
     * (registers, queues, counters), at most `len` bytes with the NUL.
     * NULL: the report says where the device is. Context: the main thread,
     * confined (locks only: no file or other system call).
     */
    void (*report)(void *state, char *buf, size_t len);
    struct dev_desc desc;
    const void *arg; /* the registry row's argument (struct dev_model) */
    const struct vdev_spec *vd; /* its configuration; NULL: qvm's own */
};

/* dev_desc_line: a description of a device with window and line. */
static inline struct dev_desc dev_desc_line(enum dev_role role, uint64_t base,
                                            uint64_t size,
                                            const struct irq_line *l)
{
    return (struct dev_desc){role, base, size, l ? l->gsi : -1, l ? l->isa : -1,
                             NULL};
}

struct dev_list {
    VEC(struct dev_inst) v;
    struct dev_ctx ctx; /* the caller's, plus the event loop */
};

/*
 * devices_realize: the fixed platform devices (port 0x80 sink, ACPI PM1a
 * control at PM1A_CNT_PORT) then every vdev of the spec. Unknown or not yet
 * implemented types are warned about and skipped. Logs and returns -1 on a
 * host failure (e.g. a hostdev that cannot be opened).
 */
int devices_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                    struct dev_list *out) MUST_CHECK;
/*
 * devices_realize_models: what devices_realize does between making the
 * event loop and starting it, with out->ctx filled by the caller (its ev
 * made, and never started when the caller drives every device on its own
 * thread: the fuzz targets, tests/fuzz/fuzz_env.h). irqchips false: the
 * interrupt controllers (pass 0 models) are not realized, because the
 * caller's irq_resolve stands for them (a fake machine without a VM).
 */
int devices_realize_models(const struct vm_spec *spec, struct dev_list *out,
                           bool irqchips) MUST_CHECK;
/* devices_timer_slack_ns: dev_ctx.timer_slack_ns for the spec's
 * `tolerance` (default 100 us). */
uint64_t devices_timer_slack_ns(const struct vm_spec *spec);
/*
 * devices_report: the SIGUSR1 report's device lines (class info): every
 * realized device but the vdevs configured with `set debug off`, each with
 * its report hook's line. Context: the main thread.
 */
void devices_report(const struct dev_list *l, const struct vm_spec *spec);
/*
 * devices_log_routes: each vdev's `log FILTERS DEST` (util/log.h
 * log_route_tag): the lines qvm logs under the vdev's type name (`qvm:
 * warn: ser8250: ...`) of those classes go to DEST. Routing is per type:
 * the vdevs of one type share it (the configuration front end warns when
 * they disagree). Context: main thread, before the VM's threads start.
 */
void devices_log_routes(const struct vm_spec *spec);
/* devices_teardown: stop the event thread, then tear down (flush) each. */
void devices_teardown(struct dev_list *l);

/*
 * A registry row: a vdev type and its realize function. Pass 0 models (the
 * interrupt controllers) are realized before every other vdev, so that
 * lines can be resolved whatever order the configuration lists them in.
 * Generic rows are in devices/registry.c, the architecture's in
 * arch_models (arch/<arch>/models.c).
 */
struct dev_model {
    const char *name;
    int (*realize)(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct dev_inst *inst);
    unsigned pass;
    const void *arg; /* given to realize as inst->arg (virtio: the device
                      * constructor, a virtio_ctor) */
};
extern const struct dev_model arch_models[];
extern const size_t arch_nmodels;

/* Built-in models (one realize function per vdev type). */
int ser8250_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                    struct dev_inst *inst) MUST_CHECK;
int platform_realize(const struct dev_ctx *ctx,
                     struct dev_list *out) MUST_CHECK;
int pckbd_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                  struct dev_inst *inst) MUST_CHECK;
int rtc_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst) MUST_CHECK;
/* shmem_realize: `vdev shmem` (devices/shmem.h, docs/shmem.md). */
int shmem_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                  struct dev_inst *inst) MUST_CHECK;
/* pl011_realize: `vdev pl011` (devices/pl011.h). */
int pl011_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                  struct dev_inst *inst) MUST_CHECK;
/* wdt_sp805_realize: `vdev wdt-sp805` (devices/sp805.h). */
int wdt_sp805_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                      struct dev_inst *inst) MUST_CHECK;
/* pl061_power_realize: qvm's aarch64 power button (devices/pl061.h),
 * after the GIC; nothing without a `vdev gic`. */
int pl061_power_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                        struct dev_list *out) MUST_CHECK;
/* rtc_irq_connect: connect (true, as realized) or disconnect the RTC's
 * interrupt output from its line: HPET legacy replacement takes IRQ 8 from
 * the RTC. rtc_state: the state of a DEV_ROLE_RTC instance. Context: any
 * thread but the RTC's own callbacks. */
void rtc_irq_connect(void *rtc_state, bool on);
/* pci_stub_realize: config mechanism #1 at 0xcf8-0xcff when there is no
 * PCI (all ones: no device), and the 0xcf9 reset control register. */
int pci_stub_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                     struct dev_list *out) MUST_CHECK;

/* Terminal handling for backends that read qvm's own stdin. */
/* term_raw_stdin: put stdin (a tty) in raw mode until term_restore (also
 * run at exit and on fatal signals). ^C still signals qvm. */
void term_raw_stdin(void);
void term_restore(void);

/*
 * The ACPI PM1a control register (16 bits) qvm places at a fixed port, as
 * QEMU's q35/ICH9 PM block does (PMBASE 0x600 + 4). Writing SLP_EN (bit 13)
 * with SLP_TYP (bits 12:10) = 5 (qvm's _S5 value) or 0 (QEMU's) powers the
 * guest off: qvm exits 0 and logs "guest powered off".
 */
#define PM1A_CNT_PORT  0x604
#define PM1_SLP_EN     (1u << 13)
#define PM1_SLP_TYP(v) (((v) >> 10) & 7u)
#define PM1_S5_TYP     5u

#endif

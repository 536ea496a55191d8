/*
 * pci.h: qvm's PCI bus 0 model. Configuration space is reached through
 * configuration mechanism #1 (io:0xcf8-0xcff; 0xcf9 stays the reset
 * control register) and ECAM (bus 0 at 0xe0000000, 4 KiB per function).
 * Each function is a struct pci_function: 256 bytes of configuration space
 * with per-byte write masks and up to six BAR descriptors. The generic bus
 * (vm/bus.h) knows nothing of PCI: when the guest programs a BAR or the
 * command register's decode bits, the model bus_unmap()s the BAR's region
 * and bus_map()s it at the new address.
 *
 * BAR moves are applied by the model's own remap thread, because the
 * config write that requests them runs inside bus_access() and
 * bus_map()/bus_unmap() wait for every access in progress to end (the
 * bus's grace period, vm/bus.h). The remap completes within microseconds
 * of the write; pci_bus_sync() waits for it.
 */
#ifndef QVM_DEVICES_PCI_H
#define QVM_DEVICES_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"

#define PCI_CFG_SIZE         256
#define PCI_ECAM_BASE        0xe0000000ULL
#define PCI_ECAM_SIZE        0x100000ULL /* bus 0 */
#define PCI_CMD_IO           0x0001
#define PCI_CMD_MEM          0x0002
#define PCI_CMD_MASTER       0x0004
#define PCI_CMD_INTX_DISABLE 0x0400
#define PCI_REG_CMD          0x04
#define PCI_REG_STATUS       0x06
#define PCI_STATUS_INTX      0x0008 /* Interrupt Status (read-only) */
#define PCI_STATUS_CAPS      0x0010 /* Capabilities List */
#define PCI_REG_CAP_PTR      0x34
#define PCI_CAP_ID_MSIX      0x11
#define PCI_CAP_ID_VNDR      0x09
#define PCI_MSIX_ENABLE      0x8000 /* Message Control bits */
#define PCI_MSIX_FMASK       0x4000
#define PCI_MSIX_MAX         2048
#define PCI_REG_BAR0         0x10
#define PCI_REG_INTX         0x3c /* line; the pin is at 0x3d */
#define PCI_HOST_VID         0x8086
#define PCI_HOST_DID         0x29c0 /* Q35 DRAM controller, as QEMU's q35 */
#define PCI_HOST_CLASS       0x0600

struct pci_function {
    struct bdf bdf;
    const char *name; /* for region names and messages; not owned */
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE]; /* 1 bits: writable by the guest */
    /* BARs: kind and size (a power of two); bars[i].base is the initial
     * address. A 64-bit BAR i also uses slot i+1 (left BAR_NONE). */
    struct bar bars[6];
    /* Region behind each BAR; NULL ops: reads zero, writes ignored. */
    const struct region_ops *bar_ops[6];
    void *bar_opaque[6];
    /* Optional hooks, set by the function's model before pci_bus_add:
     * bar_moved runs after BAR i was mapped at `base` (mapped) or
     * unmapped (a transport moves its ioeventfds with it). Context: the
     * remap thread. cfg_read runs before a guest read of configuration
     * space at [off, off+size) (the model may refresh f->cfg), cfg_write
     * after a guest write there (f->cfg already updated through wmask).
     * Both under the bus mutex: they must not call pci_bus_* functions. */
    void (*bar_moved)(void *opaque, unsigned i, bool mapped, uint64_t base);
    void (*cfg_read)(void *opaque, unsigned off, unsigned size);
    void (*cfg_write)(void *opaque, unsigned off, unsigned size);
    void *hook_opaque;
    /* INTx: the controller line the pin is wired to (the spec's routing;
     * pci_function_init: line `intx_line` of controller 0), resolved into
     * `intx` by pci_bus_add, used by pci_intx_set. */
    struct intr intx_intr;
    struct irq_line intx;
    /* Private to pci.c. */
    struct pci_bus *bus;
    uint8_t cap_end;       /* next free capability offset */
    struct pci_msix *msix; /* msix.c's; NULL without MSI-X */
    /* Private to pci.c (remap thread): where each BAR is mapped now. */
    bool mapped[6];
    uint64_t mapped_base[6];
    char bar_name[6][48];
    /* Private to pci.c: INTx state under irq_lock (a leaf lock; it holds
     * no resources and needs no destroy). */
    pthread_mutex_t irq_lock;
    bool intx_level;    /* the model's level */
    bool intx_out;      /* what the line was last driven to */
    bool intx_disabled; /* copy of command bit 10 */
};

struct pci_bus;
struct pci_msix;

/*
 * pci_function_from_vdev: pci_function_init + pci_function_set_bar for the
 * identity, BARs (NULL ops) and INTx pin/line that the spec gave the vdev
 * (vd->pci); the model then sets BAR ops, capabilities and hooks and calls
 * pci_bus_add. -1 (logged) on a bad BAR.
 */
int pci_function_from_vdev(struct pci_function *f,
                           const struct vdev_spec *vd) MUST_CHECK;
/*
 * pci_function_add_cap: append a capability to the list (status bit 4 and
 * the pointer at 0x34 are set): `len` bytes of `body`, whose first two
 * bytes (ID, next) pci.c fills in. Returns its offset (dword aligned), or
 * -ENOSPC. The bytes are read-only to the guest until the caller sets
 * f->wmask for them.
 */
int pci_function_add_cap(struct pci_function *f, uint8_t id, const void *body,
                         unsigned len) MUST_CHECK;

/*
 * MSI-X (PCI 3.0, 6.8.2). pci_msix_init adds the capability for `nvec`
 * vectors with the table at table_off and the PBA at pba_off inside BAR
 * `bar` (already set), which pci.c then serves itself: the table and PBA
 * bytes are msix.c's, every other access goes to the ops the BAR had
 * (NULL: reads zero, writes ignored; a passed device's registers sharing
 * the BAR with its table). Each vector gets
 * an MSI route and an irqfd when KVM has them (ctx->msi_route_alloc,
 * ctx->irqfd); the route follows the guest's table writes.
 * Before pci_bus_add. -errno (logged).
 */
int pci_msix_init(struct pci_function *f, unsigned bar, uint32_t table_off,
                  uint32_t pba_off, unsigned nvec) MUST_CHECK;
/* pci_msix_init2: the same with the table in BAR `tbar` and the PBA in
 * BAR `pbar` (two memory BARs, already set; each BAR's other bytes go to
 * the ops it had). */
int pci_msix_init2(struct pci_function *f, unsigned tbar, uint32_t table_off,
                   unsigned pbar, uint32_t pba_off, unsigned nvec) MUST_CHECK;
/* pci_msix_enabled: the guest set MSI-X Enable. Context: any. */
bool pci_msix_enabled(struct pci_function *f);
/*
 * pci_msix_notify: signal `vector`: delivered now (irqfd, else
 * ctx->msi_send), or its pending bit set while the vector or the function
 * is masked (delivered on unmask). False when MSI-X is off or vector is
 * out of range (the caller falls back to INTx or drops it). Context: any.
 */
bool pci_msix_notify(struct pci_function *f, unsigned vector);
/*
 * pci_msix_set_watch: for a function whose interrupts come from outside
 * qvm (a VFIO device's): watch(opaque, vector, irqfd) runs whenever
 * vector's irqfd becomes usable straight (irqfd >= 0: the vector is
 * unmasked, MSI-X on without Function Mask, and its KVM route points at
 * the entry's message: a write to irqfd is the interrupt) or stops being
 * (-1: the source must go through pci_msix_notify, which keeps it pending
 * while masked). Runs under the MSI-X state's lock (a vCPU's table or
 * configuration write): it must not call pci_msix_*. Before pci_bus_add,
 * after pci_msix_init.
 */
void pci_msix_set_watch(struct pci_function *f,
                        void (*watch)(void *opaque, unsigned vector, int irqfd),
                        void *opaque);
/* pci_intx_set: drive the function's INTx line (level-triggered), unless
 * the guest set Interrupt Disable (command bit 10). Context: any. */
void pci_intx_set(struct pci_function *f, bool level);

/*
 * pci_function_init: a type 0 header for `bdf` with the identity given
 * (class: base<<16 | sub<<8 | prog-if), interrupt pin (0 none, 1 INTA..)
 * and line, command/BAR/line registers writable, no capabilities.
 */
void pci_function_init(struct pci_function *f, const char *name, struct bdf bdf,
                       uint16_t vendor, uint16_t device, uint32_t class24,
                       uint8_t intx_pin, uint8_t intx_line);
/*
 * pci_function_set_bar: describe BAR `idx` (kind, power-of-two size, initial
 * address) and its region (ops may be NULL). Sets the BAR register, its
 * write mask (sizing) and the command register's decode bit.
 * -EINVAL for a bad index, size or a 64-bit BAR in slot 5.
 */
int pci_function_set_bar(struct pci_function *f, unsigned idx,
                         enum bar_kind kind, uint64_t base, uint64_t size,
                         const struct region_ops *ops, void *opaque) MUST_CHECK;

/*
 * pci_bus_new: the bus with its host bridge at 00:00.0, mapping 0xcf8-0xcff
 * on ctx->pio and, with `ecam`, PCI_ECAM_BASE on ctx->mmio; starts the remap
 * thread. NULL (logged) on failure. Context: realize.
 */
struct pci_bus *pci_bus_new(const struct dev_ctx *ctx, bool ecam);
/*
 * pci_bus_add: put `f` (owned by the caller, alive until pci_bus_free) on
 * the bus; its enabled BARs are mapped before this returns. -EEXIST if the
 * BDF is taken, -EINVAL if it is not on bus 0. Context: realize.
 */
int pci_bus_add(struct pci_bus *b, struct pci_function *f) MUST_CHECK;
/*
 * pci_bus_remove: take `f` off the bus before its owner frees it: no hook
 * runs for it once this returns (a BAR move in flight is waited for), its
 * BARs are unmapped, its INTx line dropped and its MSI-X state released
 * (the owner has stopped calling pci_msix_notify). Context: teardown, not
 * inside a bus access nor under a lock the hooks take. No-op if f is not
 * on b.
 */
void pci_bus_remove(struct pci_bus *b, struct pci_function *f);
/* pci_bus_sync: wait until every requested BAR move is applied. Context:
 * not inside a bus access. */
void pci_bus_sync(struct pci_bus *b);
/* pci_remap_inline: buses created from now on have no remap thread, and
 * pci_bus_sync (after each BAR-moving configuration write, once the bus
 * lock is released: bus_defer) applies the moves on the caller's thread.
 * For single-threaded test harnesses (tests/fuzz: no thread per bus, each
 * input the same schedule); qvm never calls it. */
void pci_remap_inline(bool on);
/* pci_bus_fn: the function at devfn (bus 0), or NULL. Context: after
 * realize, for the firmware tables. */
const struct pci_function *pci_bus_fn(struct pci_bus *b, unsigned devfn);
/* pci_bus_free: stop the remap thread, unmap every BAR and release the
 * MSI-X state (irqfds, eventfds, routes) of every function added. It does
 * not touch the functions themselves: models torn down before the bus may
 * free theirs once no vCPU runs. No hook is called. */
void pci_bus_free(struct pci_bus *b);

/*
 * pci_realize: with spec->has_pci (x86-64), the bus, its host bridge and one
 * function per PCI vdev (identity, BARs, INTx and pci-dummy `reg` presets
 * from the spec; BAR regions read zero until their models exist). Without
 * PCI it is pci_stub_realize. Logs and returns -1 on failure.
 */
int pci_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                struct dev_list *out) MUST_CHECK;
/* pci_realize_bus: as pci_realize, also returning the bus (NULL without
 * PCI) for ctx->pci. Functions of vdevs whose model attaches its own
 * (VF_VIRTIO types) are left to that model. */
int pci_realize_bus(const struct vm_spec *spec, const struct dev_ctx *ctx,
                    struct dev_list *out, struct pci_bus **bus) MUST_CHECK;

#endif

/*
 * vfio_pci.c: PCI pass-through (`pass loc pci:...`, docs/passthrough.md).
 * A host PCI function bound to vfio-pci is opened through VFIO (hv/vfio.h)
 * and presented on qvm's bus 0 at its configured guest BDF:
 * - guest RAM is mapped for the device's DMA at guest-physical addresses
 *   (an IOVA outside guest RAM faults in the host IOMMU);
 * - configuration space is qvm's own (struct pci_function): the host's
 *   identity (vendor, device, class, revision, subsystem), BARs of the
 *   host's sizes that the guest places, the command register's I/O, memory
 *   and bus master bits forwarded to the device, a capability list with
 *   MSI and MSI-X emulated on top of VFIO's and read-only copies of the
 *   host's vendor-specific capabilities; the expansion ROM and every other
 *   host capability are hidden;
 * - BARs are mapped into the guest where VFIO allows mmap: the mmap is a
 *   KVM memory slot at the guest's BAR address, moved and emptied with the
 *   guest's BAR moves and memory decode (bar_moved, on the PCI remap
 *   thread). Trapped otherwise (I/O, no mmap, a BAR of a host MSI-X table
 *   or PBA that is not passed, and every BAR while INTx is qvm's without
 *   an IOAPIC EOI hook): each
 *   access goes to the mmap in qvm, or pread/pwrite. VFIO's sparse mmap
 *   areas are honoured: only their pages go into slots;
 * - INTx: with KVM's full in-kernel irqchip, VFIO's eventfd is a KVM irqfd
 *   with resample on the function's IOAPIC input: the guest's EOI lowers
 *   the line and signals VFIO's unmask eventfd. Otherwise (the split
 *   irqchip) the eventfd is read on the I/O thread, which drives the INTx
 *   line; VFIO masks the host line when it fires, and the guest's EOI at
 *   qvm's IOAPIC (its EOI hook, ctx->irq_eoi_fd) lowers the guest line and
 *   unmasks the host's, so a still-pending interrupt fires again. Without
 *   that hook, the next access to a BAR (the guest's handler acknowledging
 *   the device) does it, and the BARs stay trapped;
 * - MSI (one vector): when the guest enables it, VFIO's MSI eventfd is a
 *   KVM irqfd on an MSI route that follows the guest's address and data
 *   (KVM_SIGNAL_MSI from the I/O thread without irqfd). INTx is off while
 *   MSI is on (VFIO allows one kind at a time);
 * - MSI-X, when the host's table and PBA are in one BAR: pci.c's MSI-X
 *   model (msix.c) serves them; a BAR that holds nothing else is the
 *   model's whole, one shared with the device's registers passes the
 *   model's other accesses to bar_read/bar_write and has its pages
 *   without table or PBA in memory slots (one per part, VBAR_SLOTS at
 *   most, each following the BAR's moves); when the guest enables
 *   MSI-X, VFIO gets per vector the vector's KVM irqfd while msix.c says it is
 *   unmasked and routed (its watch), else an eventfd the I/O thread
 *   relays to pci_msix_notify (pending while masked).
 */
#include "devices/vfio_pci.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/msix.h"
#include "devices/pci.h"
#include "hv/vfio.h"
#include "util/ckd.h"
#include "util/le.h"
#include "util/log.h"

#define TAG "vfio-pci"

#define PCI_CAP_ID_MSI  0x05
#define MSI_CTRL_ENABLE 0x0001
#define MSI_CTRL_64BIT  0x0080
#define MSI_CAP_LEN     14 /* 64-bit, no per-vector masking */

/* The PCI windows qvm's placement uses (config/place.c). */
#define PCI_MEM_BASE 0xc0000000ULL
#define PCI_MEM_END  0xe0000000ULL
#define PCI_IO_BASE  0xc000ULL
#define PCI_IO_END   0x10000ULL

/* A part of a BAR mapped into the guest: VFIO's mmap of it in a KVM
 * memory slot at the guest's BAR address + off. */
#define VBAR_SLOTS 8
struct vslot {
    uint64_t off, size; /* in the BAR, page aligned */
    void *map;          /* VFIO's mmap of [off, off+size) */
    bool owned;         /* map is its own mmap (else inside vbar.map) */
    int slot;           /* reserved KVM memory slot */
    bool in_slot;       /* the slot holds the mmap now (slot_lock) */
};

struct vbar {
    struct vpci *v;
    unsigned idx;
    void *map; /* the region's mmap (trapped accesses), or NULL: pread/pwrite */
    uint64_t size;
    /* Direct parts (nslots 0: all trapped): the whole BAR, or its pages
     * that VFIO lets us mmap (sparse mmap) and that hold neither the
     * MSI-X table nor the PBA. Under vpci.slot_lock: */
    unsigned nslots;
    struct vslot s[VBAR_SLOTS];
    bool decoded;    /* the guest's BAR is mapped on the bus (bar_moved) */
    uint64_t base;   /* ... at this address */
    const char *why; /* why it stays trapped, or NULL */
    bool shared;     /* holds the emulated MSI-X table and PBA too */
};

struct vpci {
    struct pci_function f;
    struct vfio_dev d;
    const struct dev_ctx *ctx;
    char name[64];
    char host[40]; /* "0000:00:01.0 (1234:11e8)" */
    struct vbar bars[6];
    pthread_mutex_t slot_lock;    /* the BARs' slots (bar_moved vs. realize) */
    bool direct;                  /* BARs with a slot may use it */
    atomic_uint_fast64_t trapped; /* guest BAR accesses that exited */
    bool realized;
    /* INTx */
    int intx_efd;
    int intx_rfd;       /* resample eventfd: VFIO unmasks on the guest's EOI;
                           or qvm's IOAPIC's EOI eventfd (intx_eoi_hook) */
    int intx_ufd;       /* intx_eoi_hook: VFIO's unmask eventfd */
    bool intx_resample; /* INTx is a KVM irqfd with resample */
    bool intx_eoi_hook; /* INTx by qvm, lowered at the guest's EOI */
    atomic_bool intx_pending;
    bool intx_on; /* VFIO's INTx trigger is set */
    /* MSI */
    int msi_cap; /* offset in f.cfg, 0: none */
    int msi_efd, msi_gsi;
    bool msi_irqfd; /* the eventfd injects through KVM (else the I/O thread) */
    bool msi_on;
    uint64_t msi_addr;
    uint32_t msi_data;
    /* MSI-X: pci.c's (msix.c) capability, table and PBA on the host's
     * table BAR (alone there, or shared: bars[msix_bar].shared). VFIO
     * signals, per vector, its KVM irqfd while msix.c says it is unmasked
     * and routed (msix_direct, from the watch), else an eventfd of ours
     * (msix_efd) that the I/O thread relays to pci_msix_notify (pending
     * while masked). */
    int msix_bar;                  /* the table's BAR; -1: no MSI-X passed */
    int msix_pba_bar;              /* the PBA's (often msix_bar) */
    uint32_t msix_table, msix_pba; /* offsets in those BARs */
    unsigned msix_n;
    int msix_cap; /* offset in f.cfg, 0: none */
    int *msix_efd;
    pthread_mutex_t msix_lock; /* msix_direct, msix_on vs. VFIO's fds */
    int *msix_direct;          /* the vector's irqfd, or -1 */
    atomic_uint_fast64_t msix_relayed;
    struct msix_src {
        struct vpci *v;
        unsigned vec;
    } * msix_src;
    bool msix_on;
    struct log_budget budget;
};

/* ---- BARs ---------------------------------------------------------------- */

/* intx_eoi: the guest's EOI (intx_eoi_hook), or else a BAR access, after
 * the INTx line went up: lower it and let VFIO unmask the host line (it
 * fires again if the device still asserts it). */
static void intx_eoi(struct vpci *v)
{
    if (!atomic_exchange(&v->intx_pending, false))
        return;
    pci_intx_set(&v->f, false);
    if (v->intx_eoi_hook) {
        /* the I/O thread: VFIO's unmask eventfd, no ioctl */
        uint64_t one = 1;
        if (write(v->intx_ufd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            log_guest(&v->budget, LOG_WARN, TAG, "%s: INTx unmask: %s", v->name,
                      strerror(errno));
        return;
    }
    int r = vfio_intx_unmask(&v->d);
    if (r < 0)
        log_guest(&v->budget, LOG_WARN, TAG, "%s: INTx unmask: %s", v->name,
                  strerror(-r));
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
    struct vbar *b = opaque;
    uint64_t val = 0;
    atomic_fetch_add(&b->v->trapped, 1);
    /* A misaligned access goes through VFIO's pread/pwrite (a misaligned
     * load or store through the mapping is undefined; UBSan in the fuzz
     * replay found it). */
    if (b->map && off % size == 0) {
        volatile void *p = (volatile char *)b->map + off;
        switch (size) {
        case 1:
            val = *(volatile uint8_t *)p;
            break;
        case 2:
            val = *(volatile uint16_t *)p;
            break;
        case 4:
            val = *(volatile uint32_t *)p;
            break;
        default:
            val = *(volatile uint64_t *)p;
            break;
        }
    } else {
        uint8_t buf[8] = {0};
        if (vfio_region_rw(&b->v->d, b->idx, off, buf, size, false) < 0)
            memset(buf, 0xff, sizeof(buf));
        val = le_get(buf, size);
    }
    if (!b->v->intx_eoi_hook)
        intx_eoi(b->v);
    return val;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vbar *b = opaque;
    atomic_fetch_add(&b->v->trapped, 1);
    /* A misaligned access goes through VFIO's pread/pwrite (a misaligned
     * load or store through the mapping is undefined; UBSan in the fuzz
     * replay found it). */
    if (b->map && off % size == 0) {
        volatile void *p = (volatile char *)b->map + off;
        switch (size) {
        case 1:
            *(volatile uint8_t *)p = (uint8_t)val;
            break;
        case 2:
            *(volatile uint16_t *)p = (uint16_t)val;
            break;
        case 4:
            *(volatile uint32_t *)p = (uint32_t)val;
            break;
        default:
            *(volatile uint64_t *)p = val;
            break;
        }
    } else {
        uint8_t buf[8];
        le_put(buf, val, size);
        if (vfio_region_rw(&b->v->d, b->idx, off, buf, size, true) < 0)
            log_guest(&b->v->budget, LOG_WARN, TAG,
                      "%s: BAR%u write at 0x%llx failed", b->v->name, b->idx,
                      (unsigned long long)off);
    }
    if (!b->v->intx_eoi_hook)
        intx_eoi(b->v);
}

static const struct region_ops bar_ops = {bar_read, bar_write};

/* slot_apply: the BAR's memory slots in line with where the guest
 * decodes it (slot_lock held). The bus region stays as well: an access
 * that exits while a slot is being moved is served by bar_read/bar_write
 * (or msix.c, which passes it on). */
static void slot_apply(struct vbar *b)
{
    struct vpci *v = b->v;
    bool want = v->direct && b->decoded;
    for (unsigned k = 0; k < b->nslots; k++) {
        struct vslot *s = &b->s[k];
        if (s->in_slot) {
            int r = v->ctx->slot_set(v->ctx->opaque, s->slot, 0, 0, NULL);
            if (r < 0)
                log_guest(&v->budget, LOG_WARN, TAG,
                          "%s: BAR%u+0x%llx: cannot remove its memory slot: "
                          "%s",
                          v->name, b->idx, (unsigned long long)s->off,
                          strerror(-r));
            else
                s->in_slot = false;
        }
        if (want && !s->in_slot) {
            int r = v->ctx->slot_set(v->ctx->opaque, s->slot, b->base + s->off,
                                     s->size, s->map);
            if (r < 0)
                log_guest(&v->budget, LOG_WARN, TAG,
                          "%s: BAR%u+0x%llx at 0x%llx: no memory slot (%s): "
                          "trapped",
                          v->name, b->idx, (unsigned long long)s->off,
                          (unsigned long long)(b->base + s->off), strerror(-r));
            else
                s->in_slot = true;
        }
    }
}

/* bar_moved: the guest moved BAR i, or turned its decode on or off
 * (context: the PCI remap thread). */
static void bar_moved(void *opaque, unsigned i, bool mapped, uint64_t base)
{
    struct vpci *v = opaque;
    if (i >= 6 || !v->bars[i].nslots)
        return;
    struct vbar *b = &v->bars[i];
    pthread_mutex_lock(&v->slot_lock);
    b->decoded = mapped;
    b->base = base;
    slot_apply(b);
    pthread_mutex_unlock(&v->slot_lock);
}

/* ---- interrupts ---------------------------------------------------------- */

static void intx_fired(void *opaque, int fd, uint32_t events)
{
    (void)events;
    struct vpci *v = opaque;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) != sizeof(n))
        return;
    atomic_store(&v->intx_pending, true);
    pci_intx_set(&v->f, true);
}

/* eoi_unhook: no EOI hook (any part of it set up); INTx is unmasked at
 * BAR accesses. */
static void eoi_unhook(struct vpci *v)
{
    if (v->intx_eoi_hook) {
        (void)v->ctx->irq_eoi_fd(v->ctx->opaque, v->f.intx.gsi, -1);
        if (v->ctx->ev)
            (void)ev_del(v->ctx->ev, v->intx_rfd);
    }
    v->intx_eoi_hook = false;
    if (v->intx_rfd >= 0)
        close(v->intx_rfd);
    if (v->intx_ufd >= 0)
        close(v->intx_ufd);
    v->intx_rfd = v->intx_ufd = -1;
}

/* qvm's IOAPIC says the guest EOI'd the INTx line. */
static void intx_eoi_fired(void *opaque, int fd, uint32_t events)
{
    (void)events;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) == sizeof(n))
        intx_eoi(opaque);
}

/* The MSI eventfd without irqfd: inject from the I/O thread. */
static void msi_fired(void *opaque, int fd, uint32_t events)
{
    (void)events;
    struct vpci *v = opaque;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) != sizeof(n) || !v->ctx->msi_send)
        return;
    pthread_mutex_lock(&v->f.irq_lock);
    uint64_t addr = v->msi_addr;
    uint32_t data = v->msi_data;
    bool on = v->msi_on;
    pthread_mutex_unlock(&v->f.irq_lock);
    if (on)
        (void)v->ctx->msi_send(v->ctx->opaque, addr, data);
}

static int intx_enable(struct vpci *v, bool on)
{
    if (v->intx_efd < 0 || v->intx_on == on)
        return 0;
    int r = vfio_irq_set(&v->d, VFIO_IRQ_INTX, 0, on ? v->intx_efd : -1);
    if (r == 0)
        v->intx_on = on;
    /* VFIO drops the unmask eventfd with INTx: give it again. */
    if (r == 0 && on && v->intx_resample)
        r = vfio_intx_unmask_fd(&v->d, v->intx_rfd);
    else if (r == 0 && on && v->intx_eoi_hook)
        r = vfio_intx_unmask_fd(&v->d, v->intx_ufd);
    if (!on && atomic_exchange(&v->intx_pending, false))
        pci_intx_set(&v->f, false);
    return r;
}

/* msi_update: the guest changed the MSI capability (context: a vCPU, under
 * the bus mutex). */
static void msi_update(struct vpci *v)
{
    const uint8_t *c = v->f.cfg + v->msi_cap;
    bool en = le_get(c + 2, 2) & MSI_CTRL_ENABLE;
    uint64_t addr = le_get(c + 4, 4) | le_get(c + 8, 4) << 32;
    uint32_t data = (uint32_t)le_get(c + 12, 2);
    pthread_mutex_lock(&v->f.irq_lock);
    bool changed = addr != v->msi_addr || data != v->msi_data;
    v->msi_addr = addr;
    v->msi_data = data;
    pthread_mutex_unlock(&v->f.irq_lock);
    if (en && v->msi_gsi >= 0 && (changed || !v->msi_on)) {
        int r =
            v->ctx->msi_route_set(v->ctx->opaque, v->msi_gsi, true, addr, data);
        if (r < 0)
            log_guest(&v->budget, LOG_WARN, TAG, "%s: MSI route: %s", v->name,
                      strerror(-r));
    }
    if (en == v->msi_on)
        return;
    int r;
    if (en) {
        (void)intx_enable(v, false);
        r = vfio_irq_set(&v->d, VFIO_IRQ_MSI, 0, v->msi_efd);
    } else {
        r = vfio_irq_set(&v->d, VFIO_IRQ_MSI, 0, -1);
        if (v->msi_gsi >= 0)
            (void)v->ctx->msi_route_set(v->ctx->opaque, v->msi_gsi, false, 0,
                                        0);
        if (r == 0)
            r = intx_enable(v, true);
    }
    if (r < 0) {
        log_guest(&v->budget, LOG_WARN, TAG, "%s: MSI %s: %s", v->name,
                  en ? "enable" : "disable", strerror(-r));
        return;
    }
    pthread_mutex_lock(&v->f.irq_lock);
    v->msi_on = en;
    pthread_mutex_unlock(&v->f.irq_lock);
}

/* A vector's eventfd (VFIO signalled it): through msix.c, which delivers
 * it (irqfd or KVM_SIGNAL_MSI) or sets its pending bit while masked. */
static void msix_fired(void *opaque, int fd, uint32_t events)
{
    (void)events;
    struct msix_src *src = opaque;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) != sizeof(n))
        return;
    atomic_fetch_add(&src->v->msix_relayed, 1);
    (void)pci_msix_notify(&src->v->f, src->vec);
}

/* The eventfd VFIO should signal for vector i (msix_lock held). */
static int msix_fd(const struct vpci *v, unsigned i)
{
    return v->msix_direct[i] >= 0 ? v->msix_direct[i] : v->msix_efd[i];
}

/* msix.c's watch: vector i's irqfd became usable straight, or stopped
 * being (context: a vCPU's table or configuration write, under msix.c's
 * lock). While MSI-X is on in VFIO, the vector's eventfd follows. */
static void msix_watch(void *opaque, unsigned i, int irqfd)
{
    struct vpci *v = opaque;
    if (i >= v->msix_n)
        return;
    pthread_mutex_lock(&v->msix_lock);
    v->msix_direct[i] = irqfd;
    if (v->msix_on) {
        int r = vfio_irq_set(&v->d, VFIO_IRQ_MSIX, i, msix_fd(v, i));
        if (r < 0)
            log_guest(&v->budget, LOG_WARN, TAG, "%s: MSI-X vector %u: %s",
                      v->name, i, strerror(-r));
    }
    pthread_mutex_unlock(&v->msix_lock);
}

/* msix_update: the guest wrote MSI-X's Message Control (context: a vCPU,
 * under the bus mutex): Enable on hands VFIO every vector's eventfd (INTx
 * off meanwhile), off takes them back. Function Mask and the per-vector
 * masks are msix.c's: a masked vector's interrupt becomes pending. */
static void msix_update(struct vpci *v)
{
    bool en = le_get(v->f.cfg + v->msix_cap + 2, 2) & PCI_MSIX_ENABLE;
    if (en == v->msix_on)
        return;
    int r;
    if (en) {
        (void)intx_enable(v, false);
        int fds[VFIO_IRQ_SET_MAX];
        pthread_mutex_lock(&v->msix_lock);
        for (unsigned i = 0; i < v->msix_n; i++)
            fds[i] = msix_fd(v, i);
        r = vfio_irq_set_many(&v->d, VFIO_IRQ_MSIX, v->msix_n, fds);
        v->msix_on = r == 0;
        pthread_mutex_unlock(&v->msix_lock);
    } else {
        r = vfio_irq_set(&v->d, VFIO_IRQ_MSIX, 0, -1);
        if (r == 0 && !v->msi_on)
            r = intx_enable(v, true);
    }
    if (r < 0) {
        log_guest(&v->budget, LOG_WARN, TAG, "%s: MSI-X %s: %s", v->name,
                  en ? "enable" : "disable", strerror(-r));
        return;
    }
    pthread_mutex_lock(&v->msix_lock);
    v->msix_on = en;
    pthread_mutex_unlock(&v->msix_lock);
}

/* ---- configuration space ------------------------------------------------- */

static bool overlaps(unsigned off, unsigned size, unsigned at, unsigned len)
{
    return off < at + len && at < off + size;
}

/* cmd_sync: the guest's I/O, memory, bus master and Interrupt Disable bits
 * to the device (VFIO masks INTx for the last, whichever path INTx takes;
 * pci_intx_set honours it too). Without memory decode on the device, VFIO
 * refuses the BARs' mmaps (SIGBUS). */
static int cmd_sync(struct vpci *v)
{
    uint8_t hw[2];
    int r = vfio_region_rw(&v->d, VFIO_PCI_REG_CFG, PCI_REG_CMD, hw, 2, false);
    if (r < 0)
        return r;
    uint16_t bits =
        PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE;
    uint16_t keep = (uint16_t)(le_get(hw, 2) & ~bits);
    uint16_t g = (uint16_t)(le_get(v->f.cfg + PCI_REG_CMD, 2) & bits);
    le_put(hw, keep | g, 2);
    return vfio_region_rw(&v->d, VFIO_PCI_REG_CFG, PCI_REG_CMD, hw, 2, true);
}

/* cfg_read: the status register's Interrupt Status bit is the device's
 * (Linux's pci_check_and_mask_intx, e.g. uio_pci_generic's handler, reads
 * it to tell whether the function interrupted); pci.c's copy follows only
 * the line qvm drives itself, which it does not with KVM's resample
 * irqfd. Every other bit stays qvm's. */
static void cfg_read(void *opaque, unsigned off, unsigned size)
{
    struct vpci *v = opaque;
    uint8_t hw[2];
    if (!v->f.cfg[0x3d] || !overlaps(off, size, PCI_REG_STATUS, 2))
        return;
    int r =
        vfio_region_rw(&v->d, VFIO_PCI_REG_CFG, PCI_REG_STATUS, hw, 2, false);
    if (r < 0)
        return;
    if (hw[0] & PCI_STATUS_INTX)
        v->f.cfg[PCI_REG_STATUS] |= PCI_STATUS_INTX;
    else
        v->f.cfg[PCI_REG_STATUS] &= (uint8_t)~PCI_STATUS_INTX;
}

static void cfg_write(void *opaque, unsigned off, unsigned size)
{
    struct vpci *v = opaque;
    if (overlaps(off, size, PCI_REG_CMD, 2) && cmd_sync(v) < 0)
        log_guest(&v->budget, LOG_WARN, TAG,
                  "%s: command register write failed", v->name);
    if (v->msi_cap && overlaps(off, size, (unsigned)v->msi_cap, MSI_CAP_LEN))
        msi_update(v);
    if (v->msix_cap && overlaps(off, size, (unsigned)v->msix_cap + 2, 2))
        msix_update(v);
}

/* ---- realize and teardown ------------------------------------------------ */

static void vpci_free(struct vpci *v)
{
    if (v->ctx && v->ctx->pci)
        pci_bus_remove(v->ctx->pci, &v->f);
    /* A realize that failed before pci_bus_add leaves the MSI-X state
     * with the function (the bus frees only its functions'). */
    if (v->f.msix) {
        msix_free(v->f.msix);
        v->f.msix = NULL;
    }
    /* No bar_moved runs any more: the slots emptied before the mmaps go
     * (no vCPU runs). */
    for (unsigned i = 0; i < 6; i++)
        for (unsigned k = 0; k < v->bars[i].nslots; k++) {
            struct vslot *s = &v->bars[i].s[k];
            if (s->in_slot && v->ctx &&
                v->ctx->slot_set(v->ctx->opaque, s->slot, 0, 0, NULL) == 0)
                s->in_slot = false;
        }
    if (v->realized)
        log_info(TAG, "%s: %llu guest BAR accesses trapped", v->name,
                 (unsigned long long)atomic_load(&v->trapped));
    if (v->realized && v->msix_cap)
        log_info(TAG, "%s: %llu MSI-X interrupts relayed by qvm", v->name,
                 (unsigned long long)atomic_load(&v->msix_relayed));
    if (v->intx_efd >= 0 && !v->intx_resample && v->ctx->ev)
        (void)ev_del(v->ctx->ev, v->intx_efd);
    if (!v->intx_resample)
        eoi_unhook(v);
    if (v->msi_efd >= 0 && !v->msi_irqfd && v->ctx->ev)
        (void)ev_del(v->ctx->ev, v->msi_efd);
    for (unsigned i = 0; v->msix_efd && v->msix_src && i < v->msix_n; i++)
        if (v->msix_efd[i] >= 0 && v->msix_src[i].v && v->ctx->ev)
            (void)ev_del(v->ctx->ev, v->msix_efd[i]);
    vfio_close(&v->d);
    for (unsigned i = 0; v->msix_efd && i < v->msix_n; i++)
        if (v->msix_efd[i] >= 0)
            close(v->msix_efd[i]);
    free(v->msix_efd);
    free(v->msix_src);
    free(v->msix_direct);
    if (v->msi_efd >= 0 && v->msi_irqfd)
        (void)v->ctx->irqfd(v->ctx->opaque, v->msi_gsi, v->msi_efd, false);
    if (v->msi_gsi >= 0)
        (void)v->ctx->msi_route_set(v->ctx->opaque, v->msi_gsi, false, 0, 0);
    if (v->intx_resample)
        (void)v->ctx->irqfd_resample(v->ctx->opaque, (int)v->f.intx.gsi,
                                     v->intx_efd, v->intx_rfd, false);
    if (v->intx_efd >= 0)
        close(v->intx_efd);
    if (v->intx_rfd >= 0)
        close(v->intx_rfd);
    if (v->msi_efd >= 0)
        close(v->msi_efd);
    for (unsigned i = 0; i < 6; i++) {
        for (unsigned k = 0; k < v->bars[i].nslots; k++) {
            struct vslot *s = &v->bars[i].s[k];
            if (s->owned && s->map && !s->in_slot)
                munmap(s->map, s->size);
        }
        if (v->bars[i].map)
            munmap(v->bars[i].map, v->bars[i].size);
    }
    pthread_mutex_destroy(&v->f.irq_lock);
    pthread_mutex_destroy(&v->slot_lock);
    pthread_mutex_destroy(&v->msix_lock);
    free(v);
}

static void vpci_teardown(void *state)
{
    vpci_free(state);
}

static void vpci_report(void *state, char *buf, size_t len)
{
    struct vpci *v = state;
    snprintf(
        buf, len,
        "%s = host %s, INTx %s, MSI %s, MSI-X %s, %llu BAR accesses trapped",
        v->name, v->host, v->intx_on ? "on" : "off", v->msi_on ? "on" : "off",
        v->msix_on ? "on" : "off",
        (unsigned long long)atomic_load(&v->trapped));
}

/* Where the next BAR goes: above every window the spec placed in the PCI
 * window (vdev BARs, shmem, ...) and the BARs given out so far. */
struct bar_alloc {
    uint64_t mem, io;
};

static void bar_alloc_init(struct bar_alloc *a, const struct vm_spec *spec)
{
    a->mem = PCI_MEM_BASE;
    a->io = PCI_IO_BASE;
    for (size_t i = 0; i < spec->placed.n; i++) {
        const struct placed *p = &spec->placed.v[i];
        uint64_t end = p->base + p->size;
        if (p->space == SPACE_MEM && p->base >= PCI_MEM_BASE &&
            p->base < PCI_MEM_END && end > a->mem)
            a->mem = end;
        if (p->space == SPACE_IO && p->base >= PCI_IO_BASE &&
            p->base < PCI_IO_END && end > a->io)
            a->io = end;
    }
}

static bool bar_take(uint64_t *next, uint64_t end, uint64_t size,
                     uint64_t *base)
{
    uint64_t b = (*next + size - 1) & ~(size - 1);
    if (b < *next || b > end || size > end - b)
        return false;
    *base = b;
    *next = b + size;
    return true;
}

/* host_msix: the host function's MSI-X capability (its list walked):
 * table and PBA BIR|offset, vectors; false when it has none. */
static bool host_msix(struct vpci *v, uint32_t *table, uint32_t *pba,
                      unsigned *n)
{
    uint8_t c[PCI_CFG_SIZE];
    if (vfio_region_rw(&v->d, VFIO_PCI_REG_CFG, 0, c, sizeof(c), false) < 0 ||
        !(le_get(c + PCI_REG_STATUS, 2) & PCI_STATUS_CAPS))
        return false;
    unsigned at = c[PCI_REG_CAP_PTR] & 0xfc;
    for (unsigned k = 0; at >= 0x40 && at <= PCI_CFG_SIZE - 12 && k < 48;
         k++, at = c[at + 1] & 0xfc)
        if (c[at] == PCI_CAP_ID_MSIX) {
            *n = ((unsigned)le_get(c + at + 2, 2) & 0x7ff) + 1;
            *table = (uint32_t)le_get(c + at + 4, 4);
            *pba = (uint32_t)le_get(c + at + 8, 4);
            return true;
        }
    return false;
}

/* msix_fits: the table (offset, n vectors) lies in its BAR of tsize
 * bytes and the PBA in its BAR of psize, qword aligned, and apart when
 * both are in one BAR (pci_msix_init2's rule, checked here so that a host
 * layout it refuses hides MSI-X instead of failing the start). */
static bool msix_fits(uint32_t table, uint64_t tsize, uint32_t pba,
                      uint64_t psize, bool one_bar, unsigned n)
{
    uint64_t tlen = 16ull * n, plen = 8ull * ((n + 63) / 64);
    return n && n <= PCI_MSIX_MAX && !((table | pba) & 7) &&
           range_within(table, tlen, tsize) && range_within(pba, plen, psize) &&
           !(one_bar && table < pba + plen && pba < table + tlen);
}

/* direct_parts: the page-aligned parts of BAR b that may go into memory
 * slots: VFIO's mmappable areas (the sparse list, else the whole region),
 * without the pages of holes[0..nh) ([start, end) in the BAR: the MSI-X
 * table and PBA). Into b->s (offsets and sizes only); their number. */
static unsigned direct_parts(struct vbar *b, const struct vfio_region *r,
                             const uint64_t (*holes)[2], unsigned nh)
{
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    struct vfio_area in[VFIO_AREAS_MAX];
    unsigned n = 0;
    if (r->sparse)
        for (unsigned k = 0; k < r->nareas && k < VFIO_AREAS_MAX; k++)
            in[n++] = r->areas[k];
    else
        in[n++] = (struct vfio_area){0, b->size};
    unsigned out = 0;
    for (unsigned k = 0; k < n; k++) {
        if (in[k].off > b->size || in[k].size > b->size - in[k].off)
            continue;
        uint64_t lo = (in[k].off + pg - 1) / pg * pg;
        uint64_t end = (in[k].off + in[k].size) / pg * pg;
        /* Cut the holes out: the pieces between them, in order (the
         * holes are sorted by the caller). */
        for (unsigned h = 0; h <= nh && lo < end; h++) {
            uint64_t hlo = h < nh ? holes[h][0] / pg * pg : end;
            uint64_t hhi = h < nh ? (holes[h][1] + pg - 1) / pg * pg : end;
            uint64_t stop = hlo < end ? hlo : end;
            if (lo < stop && out < VBAR_SLOTS)
                b->s[out++] = (struct vslot){.off = lo, .size = stop - lo};
            if (hhi > lo)
                lo = hhi;
        }
    }
    return out;
}

/* map_parts: an mmap and a reserved memory slot for each direct part of
 * BAR b: windows into the whole region's mmap when VFIO allows one
 * (b->map), else an mmap each. A part without either stays trapped
 * (dropped from the list). Sets b->why when none is left. */
static void map_parts(struct vpci *v, struct vbar *b, unsigned n)
{
    unsigned kept = 0;
    const char *lost = "VFIO gives no mmap";
    for (unsigned k = 0; k < n; k++) {
        struct vslot s = b->s[k];
        if (b->map) {
            s.map = (char *)b->map + s.off;
        } else {
            s.map = vfio_region_mmap_at(&v->d, VFIO_PCI_REG_BAR0 + b->idx,
                                        s.off, s.size);
            s.owned = true;
            if (!s.map)
                continue;
        }
        s.slot = v->ctx->slot_new(v->ctx->opaque);
        if (s.slot < 0) {
            if (s.owned)
                munmap(s.map, s.size);
            lost = "no memory slot left";
            continue;
        }
        b->s[kept++] = s;
    }
    b->nslots = kept;
    if (!kept)
        b->why = lost;
}

/* msix_exclusive: every page of the BAR (`size` bytes) holds what the
 * BAR has of the MSI-X table and PBA (holes[0..nh), nh 1 or 2, in order,
 * apart: msix_fits), as QEMU and many devices lay it out: pci.c can then
 * serve that BAR whole. Otherwise the BAR is shared with the device's
 * registers. */
static bool msix_exclusive(const uint64_t (*holes)[2], unsigned nh,
                           uint64_t size)
{
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t a0 = holes[0][0] / pg, a1 = (holes[0][1] + pg - 1) / pg;
    uint64_t pages = a1 - a0;
    if (nh == 2) {
        uint64_t b0 = holes[1][0] / pg, b1 = (holes[1][1] + pg - 1) / pg;
        pages = b0 < a1 ? b1 - a0 : pages + (b1 - b0); /* a page in common */
    }
    return size <= pages * pg;
}

/* The BAR's part of MSI-X, for the log. */
static const char *msix_what(const struct vpci *v, unsigned i)
{
    bool t = (int)i == v->msix_bar, p = (int)i == v->msix_pba_bar;
    return t && p ? "MSI-X table and PBA" : t ? "MSI-X table" : "MSI-X PBA";
}

static int setup_bars(struct vpci *v, struct bar_alloc *a)
{
    uint8_t hw[24];
    uint32_t mt = 0, mp = 0;
    unsigned mn = 0;
    int msix_bar = -1, pba_bar = -1;
    if (host_msix(v, &mt, &mp, &mn)) {
        msix_bar = (int)(mt & 7);
        pba_bar = (int)(mp & 7);
    }
    if (vfio_region_rw(&v->d, VFIO_PCI_REG_CFG, PCI_REG_BAR0, hw, sizeof(hw),
                       false) < 0)
        return -EIO;
    /* MSI-X is passed when the table's and the PBA's BARs (one, or two)
     * are memory BARs that hold them; else hidden, and those BARs trapped
     * whole (the guest never reaches the device's own table). */
    bool msix_ok =
        msix_bar >= 0 && msix_bar < 6 && pba_bar < 6 &&
        !(le_get(hw + 4 * msix_bar, 4) & 1) &&
        !(le_get(hw + 4 * pba_bar, 4) & 1) &&
        v->d.irq_count[VFIO_IRQ_MSIX] == mn &&
        msix_fits(mt & ~7u, v->d.regions[VFIO_PCI_REG_BAR0 + msix_bar].size,
                  mp & ~7u, v->d.regions[VFIO_PCI_REG_BAR0 + pba_bar].size,
                  msix_bar == pba_bar, mn);
    if (msix_ok) {
        v->msix_bar = msix_bar;
        v->msix_pba_bar = pba_bar;
        v->msix_table = mt & ~7u;
        v->msix_pba = mp & ~7u;
        v->msix_n = mn;
    }
    for (unsigned i = 0; i < 6; i++) {
        uint64_t size = v->d.regions[VFIO_PCI_REG_BAR0 + i].size;
        if (!size)
            continue;
        uint32_t reg = (uint32_t)le_get(hw + 4 * i, 4);
        enum bar_kind kind = (reg & 1)               ? BAR_IO
                             : ((reg >> 1) & 3) == 2 ? BAR_MEM64
                                                     : BAR_MEM32;
        if (size & (size - 1) || (kind == BAR_MEM64 && i == 5)) {
            log_error(TAG, "%s: host BAR%u of %llu bytes cannot be presented",
                      v->name, i, (unsigned long long)size);
            return -EINVAL;
        }
        uint64_t min = kind == BAR_IO ? 4 : 4096, base;
        uint64_t asize = size < min ? min : size;
        bool ok = kind == BAR_IO ? bar_take(&a->io, PCI_IO_END, asize, &base)
                                 : bar_take(&a->mem, PCI_MEM_END, asize, &base);
        if (!ok) {
            log_error(TAG,
                      "%s: no room for BAR%u (%llu bytes) in the PCI %s "
                      "window",
                      v->name, i, (unsigned long long)size,
                      kind == BAR_IO ? "I/O" : "memory");
            return -ENOSPC;
        }
        struct vbar *b = &v->bars[i];
        b->v = v;
        b->idx = i;
        b->size = size;
        b->nslots = 0;
        const struct vfio_region *rg = &v->d.regions[VFIO_PCI_REG_BAR0 + i];
        /* What this BAR holds of MSI-X: holes[0..nh), in order. */
        uint64_t holes[2][2];
        unsigned nh = 0;
        uint64_t t0 = mt & ~7u, t1 = t0 + 16ull * mn;
        uint64_t p0 = mp & ~7u, p1 = p0 + 8ull * ((mn + 63) / 64);
        bool has_t = msix_ok && (int)i == msix_bar;
        bool has_p = msix_ok && (int)i == pba_bar;
        if (has_t && (!has_p || t0 < p0))
            holes[nh][0] = t0, holes[nh++][1] = t1;
        if (has_p)
            holes[nh][0] = p0, holes[nh++][1] = p1;
        if (has_t && has_p && t0 > p0)
            holes[nh][0] = t0, holes[nh++][1] = t1;
        bool msix_here = nh > 0;
        if (msix_here &&
            msix_exclusive((const uint64_t(*)[2])holes, nh, size)) {
            /* MSI-X's own BAR: pci.c serves it (pci_msix_init2). */
            b->why = has_t && has_p ? "the MSI-X table and PBA, emulated"
                     : has_t        ? "the MSI-X table, emulated"
                                    : "the MSI-X PBA, emulated";
            int r =
                pci_function_set_bar(&v->f, i, kind, base, asize, NULL, NULL);
            if (r < 0) {
                log_error(TAG, "%s: BAR%u: %s", v->name, i, strerror(-r));
                return r;
            }
            if (kind == BAR_MEM64)
                i++;
            continue;
        }
        /* Shared with the device's registers: pci.c serves the table
         * and PBA (pci_msix_init2 over this BAR's ops), the rest is the
         * device's: mapped where VFIO lets us and the page holds neither,
         * trapped (pread/pwrite) next to them. */
        b->shared = msix_here;
        /* The whole region in one mmap where VFIO allows it: the table's
         * pages count only when they are ours to map (MSIX_MAPPABLE). */
        if (kind != BAR_IO && rg->mmap && !rg->sparse &&
            (!msix_here || rg->msix_mappable))
            b->map = vfio_region_mmap(&v->d, VFIO_PCI_REG_BAR0 + i);
        b->why = kind == BAR_IO ? "I/O"
                 : !rg->mmap    ? "VFIO gives no mmap"
                 : ((int)i == msix_bar || (int)i == pba_bar) && !msix_here
                     ? "the MSI-X table or PBA is there"
                 : !v->ctx->slot_new || !v->ctx->slot_set ? "no memory slots"
                                                          : NULL;
        if (!b->why) {
            unsigned n = direct_parts(b, rg, (const uint64_t(*)[2])holes, nh);
            if (!n)
                b->why = size % (uint64_t)sysconf(_SC_PAGESIZE)
                             ? "below a page"
                             : "no page without the MSI-X table or PBA";
            else
                map_parts(v, b, n);
        }
        int r = pci_function_set_bar(&v->f, i, kind, base, asize, &bar_ops, b);
        if (r < 0) {
            log_error(TAG, "%s: BAR%u: %s", v->name, i, strerror(-r));
            return r;
        }
        if (asize != size) {
            /* A BAR smaller than the guest's minimum: the rest reads as
             * ones. Not seen on real devices; refuse to keep it simple. */
            log_error(TAG, "%s: BAR%u of %llu bytes is too small", v->name, i,
                      (unsigned long long)size);
            return -EINVAL;
        }
        if (kind == BAR_MEM64)
            i++;
    }
    return 0;
}

static int setup_msi(struct vpci *v)
{
    if (!v->d.irq_count[VFIO_IRQ_MSI])
        return 0;
    if (!v->ctx->msi_route_alloc || !v->ctx->msi_route_set) {
        log_warn(TAG, "%s: no MSI routes on this VM; MSI hidden", v->name);
        return 0;
    }
    int gsi = v->ctx->msi_route_alloc(v->ctx->opaque);
    if (gsi < 0) {
        log_warn(TAG, "%s: no MSI route (%s); MSI hidden", v->name,
                 strerror(-gsi));
        return 0;
    }
    v->msi_gsi = gsi;
    v->msi_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (v->msi_efd < 0)
        return -errno;
    int r = v->ctx->irqfd ? v->ctx->irqfd(v->ctx->opaque, gsi, v->msi_efd, true)
                          : -ENOSYS;
    if (r == 0) {
        v->msi_irqfd = true;
    } else {
        r = ev_add(v->ctx->ev, v->msi_efd, EPOLLIN, msi_fired, v);
        if (r < 0)
            return r;
    }
    uint8_t body[MSI_CAP_LEN] = {0};
    le_put(body + 2, MSI_CTRL_64BIT, 2); /* one vector */
    int off = pci_function_add_cap(&v->f, PCI_CAP_ID_MSI, body, sizeof(body));
    if (off < 0)
        return off;
    v->msi_cap = off;
    uint8_t *w = v->f.wmask + off;
    w[2] = MSI_CTRL_ENABLE;
    w[4] = 0xfc;
    w[5] = w[6] = w[7] = 0xff;
    w[8] = w[9] = w[10] = w[11] = 0xff;
    w[12] = w[13] = 0xff;
    return 0;
}

/* setup_msix: MSI-X emulated by pci.c on the host's table BAR
 * (setup_bars chose it), an eventfd per vector for VFIO, each relayed by
 * the I/O thread. */
static int setup_msix(struct vpci *v)
{
    if (v->msix_bar < 0)
        return 0;
    int r = pci_msix_init2(&v->f, (unsigned)v->msix_bar, v->msix_table,
                           (unsigned)v->msix_pba_bar, v->msix_pba, v->msix_n);
    if (r < 0)
        return r;
    unsigned at = v->f.cfg[PCI_REG_CAP_PTR];
    for (unsigned k = 0; at && k < 48; k++, at = v->f.cfg[at + 1])
        if (v->f.cfg[at] == PCI_CAP_ID_MSIX)
            v->msix_cap = (int)at;
    v->msix_efd = malloc(v->msix_n * sizeof(*v->msix_efd));
    v->msix_direct = malloc(v->msix_n * sizeof(*v->msix_direct));
    v->msix_src = calloc(v->msix_n, sizeof(*v->msix_src));
    for (unsigned i = 0; v->msix_efd && i < v->msix_n; i++)
        v->msix_efd[i] = -1; /* before any failure: vpci_free closes them */
    if (!v->msix_efd || !v->msix_direct || !v->msix_src || !v->msix_cap)
        return -ENOMEM;
    for (unsigned i = 0; i < v->msix_n; i++)
        v->msix_direct[i] = -1;
    pci_msix_set_watch(&v->f, msix_watch, v);
    for (unsigned i = 0; i < v->msix_n; i++) {
        v->msix_efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (v->msix_efd[i] < 0)
            return -errno;
        v->msix_src[i] = (struct msix_src){v, i};
        r = ev_add(v->ctx->ev, v->msix_efd[i], EPOLLIN, msix_fired,
                   &v->msix_src[i]);
        if (r < 0) {
            v->msix_src[i].v = NULL; /* not on the event loop */
            return r;
        }
    }
    return 0;
}

/* setup_vendor_caps: the host's vendor-specific capabilities (a virtio
 * device's register map), read-only copies: they describe where things
 * are in the BARs and switch nothing. */
static int setup_vendor_caps(struct vpci *v)
{
    uint8_t c[PCI_CFG_SIZE];
    if (vfio_region_rw(&v->d, VFIO_PCI_REG_CFG, 0, c, sizeof(c), false) < 0 ||
        !(le_get(c + PCI_REG_STATUS, 2) & PCI_STATUS_CAPS))
        return 0;
    unsigned at = c[PCI_REG_CAP_PTR] & 0xfc, n = 0;
    for (unsigned k = 0; at >= 0x40 && at <= PCI_CFG_SIZE - 4 && k < 48;
         k++, at = c[at + 1] & 0xfc) {
        unsigned len = c[at + 2];
        if (c[at] != PCI_CAP_ID_VNDR || len < 3 || len > PCI_CFG_SIZE - at)
            continue;
        int r = pci_function_add_cap(&v->f, PCI_CAP_ID_VNDR, c + at, len);
        if (r < 0) {
            log_warn(TAG,
                     "%s: no room for the host's vendor capability at "
                     "0x%x: hidden",
                     v->name, at);
            break;
        }
        n++;
    }
    if (n)
        log_info(TAG, "%s: %u vendor-specific capabilities (read-only)",
                 v->name, n);
    return 0;
}

/* eoi_hook: the guest's EOI of the INTx line from qvm's IOAPIC (intx_rfd,
 * read on the I/O thread), and an unmask eventfd for VFIO (intx_ufd, which
 * intx_enable hands over): the I/O thread unmasks the host line by a
 * write, not an ioctl (its seccomp filter has no VFIO ioctl). 0, or
 * -errno; a hook refused (-ENOENT: no IOAPIC of qvm's there) is no error:
 * INTx is then unmasked at BAR accesses. */
static int eoi_hook(struct vpci *v)
{
    v->intx_rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    v->intx_ufd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (v->intx_rfd < 0 || v->intx_ufd < 0)
        return -errno;
    if (v->ctx->irq_eoi_fd(v->ctx->opaque, v->f.intx.gsi, v->intx_rfd) < 0) {
        eoi_unhook(v);
        return 0;
    }
    int r = ev_add(v->ctx->ev, v->intx_rfd, EPOLLIN, intx_eoi_fired, v);
    if (r < 0) {
        (void)v->ctx->irq_eoi_fd(v->ctx->opaque, v->f.intx.gsi, -1);
        return r;
    }
    v->intx_eoi_hook = true;
    return 0;
}

static int setup_intx(struct vpci *v)
{
    if (!v->d.irq_count[VFIO_IRQ_INTX] || !v->f.cfg[0x3d])
        return 0;
    v->intx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (v->intx_efd < 0)
        return -errno;
    /* KVM's irqfd with resample where the irqchip allows it. */
    if (v->ctx->irqfd_resample && v->f.intx.gsi >= 0) {
        v->intx_rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (v->intx_rfd < 0)
            return -errno;
        if (v->ctx->irqfd_resample(v->ctx->opaque, (int)v->f.intx.gsi,
                                   v->intx_efd, v->intx_rfd, true) == 0) {
            v->intx_resample = true;
            int r = intx_enable(v, true);
            if (r == 0)
                return 0;
            v->intx_resample = false;
            if (intx_enable(v, false) < 0)
                v->intx_on = false;
            (void)v->ctx->irqfd_resample(v->ctx->opaque, (int)v->f.intx.gsi,
                                         v->intx_efd, v->intx_rfd, false);
        }
        close(v->intx_rfd);
        v->intx_rfd = -1;
    }
    int r = ev_add(v->ctx->ev, v->intx_efd, EPOLLIN, intx_fired, v);
    if (r < 0)
        return r;
    /* qvm's IOAPIC (the split irqchip) tells the guest's EOI: the host
     * line is unmasked then, and the BARs need not be trapped. */
    if (v->ctx->irq_eoi_fd && v->f.intx.gsi >= 0 && (r = eoi_hook(v)) < 0)
        return r;
    r = intx_enable(v, true);
    if (r < 0 && v->intx_eoi_hook && v->intx_on) {
        /* VFIO took INTx but not the unmask eventfd: unmask by ioctl at
         * BAR accesses instead */
        log_warn(TAG, "%s: INTx unmask eventfd: %s (unmasked on BAR access)",
                 v->name, strerror(-r));
        eoi_unhook(v);
        return 0;
    }
    return r;
}

int vfio_pci_dma_ranges(const struct gview *g,
                        int (*map)(void *arg, uint64_t gpa, uint64_t size,
                                   void *hva),
                        void *arg)
{
    for (size_t i = 0; g && i < g->regions.n; i++) {
        const struct gview_region *r = &g->regions.v[i];
        if (r->kind != GV_RAM)
            continue;
        int e = map(arg, r->gpa, r->size, r->host);
        if (e < 0)
            return e;
    }
    return 0;
}

struct map_arg {
    struct vpci *v;
    uint64_t gpa, size; /* the range that failed */
};

static int map_one(void *arg, uint64_t gpa, uint64_t size, void *hva)
{
    struct map_arg *m = arg;
    m->gpa = gpa;
    m->size = size;
    return vfio_dma_map(&m->v->d, gpa, size, hva);
}

static int map_ram(struct vpci *v)
{
    struct map_arg m = {v, 0, 0};
    int e = vfio_pci_dma_ranges(v->ctx->mem, map_one, &m);
    if (e < 0)
        log_error(TAG, "%s: cannot map guest RAM 0x%llx+0x%llx for DMA: %s%s",
                  v->name, (unsigned long long)m.gpa,
                  (unsigned long long)m.size, strerror(-e),
                  e == -ENOMEM ? " (the pages are pinned: raise the "
                                 "locked-memory limit, ulimit -l)"
                               : "");
    return e;
}

/* The line qvm's placement would give a vdev in that slot (place.c). */
static int default_pic(const struct vm_spec *spec)
{
    const char *want = spec->arch == ARCH_AARCH64 ? "gic" : "ioapic";
    for (size_t i = 0; i < spec->vdevs.n; i++)
        if (strcmp(vdev_type_name(&spec->vdevs.v[i]), want) == 0)
            return (int)i;
    return -1;
}

static int realize_one(const struct vm_spec *spec, const struct pass_spec *ps,
                       const struct loc *l, const struct dev_ctx *ctx,
                       struct bar_alloc *a, struct dev_inst *inst)
{
    char bdf[16];
    if (l->by_id) {
        int r = vfio_find_by_id(l->vid, l->did, l->idx, bdf, sizeof(bdf));
        if (r < 0) {
            log_error(TAG,
                      "%s:%u: pass pci:%04x/%04x/%u: the host has no such "
                      "PCI function (see lspci -nn)",
                      ps->span.file ? ps->span.file : "?",
                      (unsigned)ps->span.line, l->vid, l->did, l->idx);
            return r;
        }
    } else {
        struct bdf h = l->host_is_bdf ? l->host_bdf : l->bdf;
        snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.%x", h.bus, h.dev, h.fn);
    }
    struct vpci *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->intx_efd = v->intx_rfd = v->intx_ufd = v->msi_efd = v->msi_gsi = -1;
    v->msix_bar = v->msix_pba_bar = -1;
    pthread_mutex_init(&v->slot_lock, NULL);
    pthread_mutex_init(&v->msix_lock, NULL);
    v->budget = (struct log_budget)LOG_BUDGET_INIT(LOG_BURST, LOG_INTERVAL_MS);
    snprintf(v->name, sizeof(v->name), "pass %02x:%02x.%x", l->bdf.bus,
             l->bdf.dev, l->bdf.fn);
    int r = vfio_open(&v->d, bdf);
    if (r < 0) {
        pthread_mutex_destroy(&v->slot_lock);
        pthread_mutex_destroy(&v->msix_lock);
        free(v);
        return r;
    }
    uint8_t hc[64];
    r = vfio_region_rw(&v->d, VFIO_PCI_REG_CFG, 0, hc, sizeof(hc), false);
    if (r < 0) {
        log_error(TAG, "%s: cannot read the configuration space of %s: %s",
                  v->name, bdf, strerror(-r));
        vfio_close(&v->d);
        pthread_mutex_destroy(&v->slot_lock);
        pthread_mutex_destroy(&v->msix_lock);
        free(v);
        return r;
    }
    uint16_t vid = (uint16_t)le_get(hc, 2), did = (uint16_t)le_get(hc + 2, 2);
    snprintf(v->host, sizeof(v->host), "%s (%04x:%04x)", bdf, vid, did);
    int pic = default_pic(spec);
    uint8_t pin = pic >= 0 && v->d.irq_count[VFIO_IRQ_INTX] ? hc[0x3d] : 0;
    if (pin > 4)
        pin = 1;
    uint32_t line = (spec->arch == ARCH_AARCH64 ? 100 : 16) +
                    l->bdf.dev % (spec->arch == ARCH_AARCH64 ? 4u : 8u);
    v->ctx = ctx;
    pci_function_init(&v->f, v->name, l->bdf, vid, did,
                      (uint32_t)le_get(hc + 0x09, 3), pin, (uint8_t)line);
    if (pin)
        v->f.intx_intr = (struct intr){.pic = pic, .line = line};
    v->f.cfg[0x08] = hc[0x08];             /* revision */
    memcpy(v->f.cfg + 0x2c, hc + 0x2c, 4); /* subsystem IDs */
    v->f.cfg_read = cfg_read;
    v->f.cfg_write = cfg_write;
    v->f.bar_moved = bar_moved;
    v->f.hook_opaque = v;
    if ((r = setup_bars(v, a)) < 0 || (r = setup_msi(v)) < 0 ||
        (r = setup_msix(v)) < 0 || (r = setup_vendor_caps(v)) < 0 ||
        (r = map_ram(v)) < 0)
        goto fail;
    if (v->msix_bar >= 0 && v->msix_bar == v->msix_pba_bar)
        log_info(TAG, "%s: MSI-X: %u vectors, table and PBA in BAR%d%s",
                 v->name, v->msix_n, v->msix_bar,
                 v->bars[v->msix_bar].shared ? " (shared with registers)" : "");
    else if (v->msix_bar >= 0)
        log_info(TAG, "%s: MSI-X: %u vectors, table in BAR%d%s, PBA in BAR%d%s",
                 v->name, v->msix_n, v->msix_bar,
                 v->bars[v->msix_bar].shared ? " (shared with registers)" : "",
                 v->msix_pba_bar,
                 v->bars[v->msix_pba_bar].shared ? " (shared with registers)"
                                                 : "");
    else if (v->d.irq_count[VFIO_IRQ_MSIX])
        log_warn(TAG,
                 "%s: host %s has MSI-X with a layout qvm cannot present "
                 "(the table or PBA outside a memory BAR, misaligned or "
                 "overlapping): hidden (MSI and INTx remain)",
                 v->name, v->host);
    r = pci_bus_add(ctx->pci, &v->f);
    if (r < 0) {
        log_error(TAG, "%s: %s", v->name, strerror(-r));
        goto fail;
    }
    if ((r = cmd_sync(v)) < 0) {
        log_error(TAG, "%s: command register: %s", v->name, strerror(-r));
        goto fail;
    }
    if ((r = setup_intx(v)) < 0) {
        log_error(TAG, "%s: INTx: %s", v->name, strerror(-r));
        goto fail;
    }
    log_info(TAG, "%s = host %s, IOMMU group %u, INTx %s", v->name, v->host,
             v->d.group_id,
             !v->intx_on        ? "none"
             : v->intx_resample ? "by KVM irqfd with resample"
             : v->intx_eoi_hook ? "by qvm (unmasked at the guest's EOI)"
                                : "by qvm (unmasked on BAR access)");
    /* BARs in memory slots, unless INTx by qvm needs the guest's BAR
     * accesses to see the handler acknowledge the device (no EOI hook). */
    pthread_mutex_lock(&v->slot_lock);
    v->direct = !(v->intx_on && !v->intx_resample && !v->intx_eoi_hook);
    for (unsigned i = 0; i < 6; i++) {
        struct vbar *b = &v->bars[i];
        if (!b->size)
            continue;
        if (b->nslots && !v->direct)
            b->why = "INTx by qvm needs the guest's BAR accesses";
        slot_apply(b);
        if (b->shared && !b->why) {
            uint64_t mapped = 0;
            for (unsigned k = 0; k < b->nslots; k++)
                mapped += b->s[k].size;
            log_info(TAG,
                     "%s: BAR%u (0x%llx bytes): %s emulated, 0x%llx bytes "
                     "in %u parts mapped into the guest, the rest trapped",
                     v->name, i, (unsigned long long)b->size, msix_what(v, i),
                     (unsigned long long)mapped, b->nslots);
            continue;
        }
        log_info(TAG, "%s: BAR%u (0x%llx bytes) %s%s%s%s%s%s", v->name, i,
                 (unsigned long long)b->size,
                 b->why ? "trapped (" : "mapped into the guest",
                 b->why ? b->why : "", b->why ? ")" : "", b->shared ? ", " : "",
                 b->shared ? msix_what(v, i) : "",
                 b->shared ? " emulated" : "");
    }
    pthread_mutex_unlock(&v->slot_lock);
    v->realized = true;
    inst->name = "pass";
    inst->state = v;
    inst->teardown = vpci_teardown;
    inst->report = vpci_report;
    return 0;
fail:
    vpci_free(v);
    return r;
}

int vfio_pci_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                     struct dev_list *out)
{
    struct bar_alloc a;
    bar_alloc_init(&a, spec);
    for (size_t i = 0; i < spec->passes.n; i++) {
        const struct pass_spec *ps = &spec->passes.v[i];
        for (size_t k = 0; k < ps->locs.n; k++) {
            const struct loc *l = &ps->locs.v[k];
            if (l->space != SPACE_PCI)
                continue;
            if (!ctx->pci) {
                log_error(TAG, "pass pci: this VM has no PCI bus");
                return -1;
            }
            struct dev_inst inst = {0};
            if (realize_one(spec, ps, l, ctx, &a, &inst) < 0)
                return -1;
            struct dev_inst *slot = VEC_PUSH(&out->v);
            if (!slot) {
                vpci_teardown(inst.state);
                log_fatal(TAG, "out of memory");
                return -1;
            }
            *slot = inst;
        }
    }
    return 0;
}

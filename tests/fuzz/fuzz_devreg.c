/*
 * fuzz_devreg.c: the generic device-register fuzz target. A device is a row
 * of `rows` below: a configuration text realized by the registry on the
 * fake VM of fuzz_env.h; the input is then a sequence of guest accesses to
 * whatever regions the devices mapped on the port-I/O and MMIO buses
 * (found on the buses at each access, so a PCI BAR the guest moved is
 * followed), through bus_access and so the devices' region_ops, with
 * writes of guest RAM in between (for devices that follow guest-physical
 * addresses through the gview gate). Each target is this file built with
 * -DDEVREG_ROW="name" (tests/fuzz/meson.build); a new device model is one
 * row here and one entry there.
 *
 * Input: [0] host features (FE_KVM_*), [1..2] length L of the host input,
 * then L bytes of host input (the file @DIR@/in, e.g. a UART's `hostdev <`),
 * then operations, each a control byte c and its operands:
 *   c >> 4 < 14: an access of 1 << (c & 3) bytes, a write when c & 4, on
 *                the MMIO bus when c & 8, else port I/O: [region index]
 *                [offset: 2 bytes], and for a write the value (size bytes);
 *                the region is the index modulo the regions mapped, the
 *                offset modulo its length;
 *   c >> 4 == 14: the same with a 4-byte offset;
 *   c >> 4 == 15: guest RAM write: [address: 2 bytes][n] n bytes.
 * In the targets with the fake clock (DEVREG_CLOCK: wdt_sp805, pl061) an
 * access's c >> 4 also advances the clock first (clock_step) and fires the
 * timers then due; in pl061 the host input is the op indexes before which
 * the power button is pressed; in vfio it describes the fake host function
 * (host_reset), and an access's c >> 4 raises one of its interrupts first
 * (host_interrupt). Each input builds its devices and tears them down: a PCI
 * bus applies BAR moves on this thread (pci_remap_inline), and only the
 * rows that read host files get them written (host_input, shm_clear).
 * Checked: no access reaches outside the buses' regions or guest RAM
 * (ASan), interrupt lines stay in range, every region is unmapped at
 * teardown; UBSan watches the arithmetic.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/schema.h"
#include "devices/pl061.h"
#include "devices/shmem.h"
#include "devices/vfio_pci.h"
#include "fuzz_env.h"
#include "util/le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 4096

struct row {
    const char *name;
    const char *config; /* @DIR@: the directory of host files */
    enum arch arch;     /* the guest architecture; 0: x86-64 */
};

static const struct row rows[] = {
    /* the 16550A, its host input read from a file as the guest drains */
    {"ser8250", "vdev ser8250 loc io:0x3f8 hostdev <@DIR@/in\n"},
    /* PCI bus 0 (mechanism #1, ECAM) with a plain function, a
     * virtio-net (modern and legacy registers, MSI-X table and PBA)
     * and a virtio-entropy over PCI */
    {"pci", "vdev pci-dummy reg 0x00/2=0x1234 reg 0x02/2=0x5678\n"
            "vdev virtio-net legacy\n"
            "vdev virtio-entropy\n"},
    /* the HPET: 4 timers, its default lines, legacy replacement, FSB */
    {"hpet", "vdev hpet intr ioapic:2,ioapic:8,ioapic:10,ioapic:11\n"},
    /* the PL011 (an aarch64 guest's; plain MMIO): FIFOs, IFLS levels,
     * interrupts, loopback, host input from a file */
    {"pl011",
     "vdev gic version 3\n"
     "vdev pl011 loc 0x1c090000 intr gic:37 hostdev <@DIR@/in\n",
     ARCH_AARCH64},
    /* guest_shm twice, over PCI (factory page in BAR0, window in BAR2)
     * and MMIO, sharing regions (regions by name under $QVM_SHM_DIR, one
     * pre-created, names refused by a policy): attach, find, notify each
     * other through the shared header, detach (see shm_hook) */
    {"shmem", "vdev shmem create shared,8k umask 027\n"
              "vdev shmem loc 0xfeb00000 intr ioapic:10 deny secret*\n"},
    /* the IB700 watchdog's ports (its expiry needs the event loop) */
    {"wdt_ib700", "vdev wdt-ib700\n"},
    /* the SP805 twice: `action terminate` with its WDOGINT, and `action
     * fiq`; its time is the fake clock below (DEVREG_CLOCK), its expiry
     * the timer callback the harness fires when that clock passes it */
    {"wdt_sp805",
     "vdev gic version 3\n"
     "vdev wdt-sp805 intr gic:40 frequency 1000000\n"
     "vdev wdt-sp805 loc 0x1c0e0000 intr gic:41 action fiq\n",
     ARCH_AARCH64},
    /* the aarch64 power button's PL061 (pl061_power_realize, which the
     * registry only calls with interrupt controllers): the host input is
     * the op indexes at which the button is pressed; its release is a
     * timer of the fake clock (DEVREG_CLOCK) */
    {"pl061", "vdev gic version 3\n", ARCH_AARCH64},
    /* a host PCI function passed through (vfio_pci.c) behind the PCI bus,
     * the VFIO calls it makes (hv/vfio.h) answered by the fake host
     * function below (DEVREG_VFIO), described by the host input */
    {"vfio", "pass loc pci:0:3.0=pci:0:0x1f.0\n"},
};

static const struct row *row;
static struct vm_spec spec;
static bool uses_in, uses_shm; /* the row has a host input file, shmem */

static uint64_t get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void init(void)
{
    fe_init();
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
        if (strcmp(rows[i].name, DEVREG_ROW) == 0)
            row = &rows[i];
    CHECK(row);
    char path[96];
    snprintf(path, sizeof(path), "%s/in", fe.dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    close(fd);
    snprintf(path, sizeof(path), "%s/shm", fe.dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(setenv("QVM_SHM_DIR", path, 1) == 0);
    /* `pass`'s check looks for the host function in sysfs: not this
     * host's (an empty tree) */
    CHECK(setenv("QVM_SYSFS_ROOT", fe.dir, 1) == 0);
    fe_spec_arch(&spec, row->config, row->arch);
    uses_in = strstr(row->config, "@DIR@/in") != NULL;
    uses_shm = strstr(row->config, "vdev shmem") != NULL;
}

/*
 * vdev shmem's host side stays real (region files under @DIR@/shm, its
 * $QVM_SHM_DIR, emptied before each input so that no region outlives the
 * input that made it), but not its waiter threads: a thread per attached
 * region sleeps on the client's futex word and raises the interrupt when a
 * peer's notify or attach/detach bumps it, at a moment the input does not
 * decide (and its coverage would count for whichever input runs then).
 * shm_hook gives each shmem instance host ops whose watch/unwatch only
 * record (slot, word) and whose wake delivers shmem_event to every slot
 * watching that word at once, on the fuzzing thread: what the waiter does
 * a moment later, in the order the input caused it.
 */
struct shm_watch {
    struct shmem *sh;
    unsigned slot;
    _Atomic uint32_t *word;
    bool used;
};

static struct shm_watch shm_watches[4 * SHM_SLOTS];
static struct shm_host_ops shm_ops;

static int shm_watch(void *o, struct shmem *sh, unsigned slot,
                     struct shm_hdr *hdr, unsigned idx, void **out)
{
    (void)o;
    CHECK(slot < SHM_SLOTS && idx < SHM_MAX_CLIENTS);
    for (size_t i = 0; i < ARRAY_SIZE(shm_watches); i++)
        if (!shm_watches[i].used) {
            shm_watches[i] = (struct shm_watch){sh, slot, &hdr->seq[idx], true};
            *out = &shm_watches[i];
            return 0;
        }
    CHECK(!"more watched regions than slots");
    return -1;
}

static void shm_unwatch(void *o, void *w, struct shm_hdr *hdr, unsigned idx)
{
    (void)o;
    struct shm_watch *sw = w;
    CHECK(sw->used && sw->word == &hdr->seq[idx]);
    sw->used = false;
}

static void shm_wake(void *o, _Atomic uint32_t *word)
{
    (void)o;
    for (size_t i = 0; i < ARRAY_SIZE(shm_watches); i++)
        if (shm_watches[i].used && shm_watches[i].word == word)
            shmem_event(shm_watches[i].sh, shm_watches[i].slot);
}

static void shm_hook(struct dev_list *l)
{
    for (size_t i = 0; i < l->v.n; i++) {
        const struct dev_inst *in = &l->v.v[i];
        if (!in->vd || strcmp(in->vd->type->name, "shmem") != 0)
            continue;
        struct shmem *sh = in->state; /* first member of its state */
        shm_ops = *sh->ops; /* open, close, alive, self: the same for all */
        shm_ops.watch = shm_watch;
        shm_ops.unwatch = shm_unwatch;
        shm_ops.wake = shm_wake;
        sh->ops = &shm_ops;
    }
}

/* Empty @DIR@/shm (the region files of the previous input). */
static void shm_clear(void)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/shm", fe.dir);
    DIR *d = opendir(path);
    CHECK(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            CHECK(unlinkat(dirfd(d), e->d_name, 0) == 0);
    closedir(d);
}

#ifdef DEVREG_CLOCK
/*
 * The fake clock (targets linked with --wrap for dtimer_now, dtimer_new,
 * dtimer_arm, dtimer_disarm, dtimer_free: tests/fuzz/meson.build): time is
 * what the input says, not the host's. Each access advances it by
 * clock_step[c >> 4] first (0 for the control bytes of the other targets'
 * format, 1 us to 16.7 s otherwise), then the timers due by then fire, on
 * the fuzzing thread, in deadline order: what the I/O thread would do at
 * that moment, the same way every run.
 */
#include "devices/dtimer.h"

uint64_t __wrap_dtimer_now(void);
struct dtimer *__wrap_dtimer_new(struct evloop *ev, dtimer_fn fn, void *opaque,
                                 uint64_t slack_ns);
void __wrap_dtimer_arm(struct dtimer *t, uint64_t deadline);
void __wrap_dtimer_disarm(struct dtimer *t);
void __wrap_dtimer_free(struct dtimer *t);
struct dtimer *__real_dtimer_new(struct evloop *ev, dtimer_fn fn, void *opaque,
                                 uint64_t slack_ns);
void __real_dtimer_free(struct dtimer *t);

#define CLOCK_T0 1000000000000ull /* 1000 s: far from 0 both ways */

static const uint64_t clock_step[14] = {
    0,         1000,       4000,       16000,      64000,
    256000,    1024000,    4096000,    16384000,   65536000,
    262144000, 1048576000, 4194304000, 16777216000};

struct ftimer {
    struct dtimer *t;
    dtimer_fn fn;
    void *opaque;
    uint64_t due;
    bool armed;
};

static struct ftimer ftimers[16];
static uint64_t fclock = CLOCK_T0;

uint64_t __wrap_dtimer_now(void)
{
    return fclock;
}

static struct ftimer *ftimer_of(const struct dtimer *t)
{
    for (size_t i = 0; i < ARRAY_SIZE(ftimers); i++)
        if (ftimers[i].t == t)
            return &ftimers[i];
    CHECK(!"a timer the harness did not see created");
    return NULL;
}

struct dtimer *__wrap_dtimer_new(struct evloop *ev, dtimer_fn fn, void *opaque,
                                 uint64_t slack_ns)
{
    struct dtimer *t = __real_dtimer_new(ev, fn, opaque, slack_ns);
    if (t)
        *ftimer_of(NULL) = (struct ftimer){t, fn, opaque, 0, false};
    return t;
}

/* The host timerfd is never armed: only the harness fires timers. */
void __wrap_dtimer_arm(struct dtimer *t, uint64_t deadline)
{
    struct ftimer *f = ftimer_of(t);
    f->due = deadline;
    f->armed = true;
}

void __wrap_dtimer_disarm(struct dtimer *t)
{
    ftimer_of(t)->armed = false;
}

void __wrap_dtimer_free(struct dtimer *t)
{
    if (t)
        *ftimer_of(t) = (struct ftimer){0};
    __real_dtimer_free(t);
}

static void clock_reset(void)
{
    fclock = CLOCK_T0;
    for (size_t i = 0; i < ARRAY_SIZE(ftimers); i++)
        CHECK(!ftimers[i].t); /* every timer freed at teardown */
}

/* Advance the clock, then fire what is due (a bounded number of times: a
 * timer may re-arm itself for a moment already past). */
static void clock_advance(unsigned k)
{
    fclock += clock_step[k];
    for (unsigned n = 0; n < 64; n++) {
        struct ftimer *next = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(ftimers); i++)
            if (ftimers[i].t && ftimers[i].armed && ftimers[i].due <= fclock &&
                (!next || ftimers[i].due < next->due))
                next = &ftimers[i];
        if (!next)
            return;
        next->armed = false;
        next->fn(next->opaque);
    }
}
#else
static void clock_reset(void)
{
}

static void clock_advance(unsigned k)
{
    (void)k;
}
#endif

#ifdef DEVREG_VFIO
/*
 * The fake host PCI function (targets linked with --wrap for the functions
 * of hv/vfio.h that vfio_pci.c calls: tests/fuzz/meson.build), described by
 * the host input:
 *   [0..5] BAR n: bits 0-4 log2 of its size (0: no BAR), bit 5 I/O, bit 6
 *          64-bit, bit 7 VFIO allows mmap (honoured up to 64 KiB);
 *   [6]    bit 0 INTx, bit 1 MSI, bit 2 MSI-X, bit 3 reset, bit 4 an
 *          MSI-X capability (8 vectors) put at 0x40 with its table at
 *          0x1000 and PBA at 0x3000 of BAR0, shared with registers when
 *          BAR0 is larger than those pages (the PBA at 0 of BAR n when
 *          byte 0x48 of the configuration space below has n in bits 0-2), bit 5
 * BAR0's VFIO sparse mmap areas [0, 0x1000) and [0x2000, end), bit 6 BAR0's
 *          MSIX_MAPPABLE, bit 7 memory slots offered (slot_new/slot_set);
 *   [7]    failures: bit 0 open, 1 interrupt set-up, 2 INTx unmask, 3 BAR
 *          access, 4 DMA map, 5 configuration space access; bit 6 the
 *          VM's IOAPIC offers its EOI hook (irq_eoi_fd, the split
 *          irqchip's: INTx unmasked at the EOI, an eventfd watched like
 *          the others), bit 7 that hook refuses;
 *   [8..]  the host's configuration space (the rest zero).
 * Configuration space and BARs are memory; interrupts and DMA mappings are
 * recorded and checked.
 */
#include <sys/epoll.h>
#include <sys/mman.h>

#include "hv/vfio.h"
#include "vm/event.h"

int __wrap_vfio_find_by_id(uint16_t vid, uint16_t did, unsigned idx, char *bdf,
                           size_t len);
int __wrap_vfio_open(struct vfio_dev *d, const char *bdf);
void __wrap_vfio_close(struct vfio_dev *d);
int __wrap_vfio_dma_map(struct vfio_dev *d, uint64_t iova, uint64_t size,
                        void *hva);
int __wrap_vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size);
int __wrap_vfio_region_rw(struct vfio_dev *d, unsigned idx, uint64_t off,
                          void *buf, size_t len, bool write);
void *__wrap_vfio_region_mmap(struct vfio_dev *d, unsigned idx);
void *__wrap_vfio_region_mmap_at(struct vfio_dev *d, unsigned idx, uint64_t off,
                                 uint64_t size);
int __wrap_vfio_irq_set(struct vfio_dev *d, enum vfio_irq_kind kind,
                        unsigned vec, int fd);
int __wrap_vfio_intx_unmask(struct vfio_dev *d);
int __wrap_vfio_intx_unmask_fd(struct vfio_dev *d, int fd);

#define HOST_BAR_MEM 4096u /* backing of each BAR, repeated */

static struct {
    uint8_t bar[6], irqs, fail;
    uint8_t cfg[4096];
    uint8_t mem[6][HOST_BAR_MEM];
    bool open;
    unsigned irq_sets, unmasks, dma_maps;
} host;

static void host_reset(const uint8_t *p, size_t n)
{
    memset(&host, 0, sizeof(host));
    uint8_t hdr[8] = {0};
    memcpy(hdr, p, MIN(n, sizeof(hdr)));
    memcpy(host.bar, hdr, 6);
    host.irqs = hdr[6];
    host.fail = hdr[7];
    if (n > 8)
        memcpy(host.cfg, p + 8, MIN(n - 8, sizeof(host.cfg)));
    if (host.irqs & 16) {
        /* MSI-X in BAR0, table at 0x1000, PBA at 0x3000, 8 vectors; or
         * the PBA at 0 of BAR n when the input's byte 0x48 of the host's
         * configuration space has n (1-7) in its bits 0-2 */
        uint8_t pbir = host.cfg[0x48] & 7;
        uint8_t cap[12] = {PCI_CAP_ID_MSIX, 0, 7, 0, 0, 0x10, 0, 0, pbir,
                           pbir ? 0 : 0x30, 0, 0};
        host.cfg[PCI_REG_STATUS] |= PCI_STATUS_CAPS;
        host.cfg[PCI_REG_CAP_PTR] = 0x40;
        memcpy(host.cfg + 0x40, cap, sizeof(cap));
    }
}

/* The VM's memory slots (with [6] bit 7): a slot holds a page-aligned
 * window of a BAR's mmap. */
static unsigned fuzz_slots;

static int fuzz_slot_new(void *opaque)
{
    (void)opaque;
    return fuzz_slots < 32 ? (int)fuzz_slots++ : -ENOSPC;
}

/* qvm's IOAPIC's EOI hook (with [7] bit 6): one fd per line, -1 to drop */
static int fuzz_eoi_fd[FE_GSIS];

static int fuzz_irq_eoi_fd(void *opaque, int64_t gsi, int fd)
{
    (void)opaque;
    CHECK(gsi >= 0 && gsi < FE_GSIS && fd >= -1);
    CHECK(fd == -1 || fuzz_eoi_fd[gsi] == -1); /* one source per line */
    if (host.fail & 128)
        return -ENOENT;
    fuzz_eoi_fd[gsi] = fd;
    return 0;
}

static int fuzz_slot_set(void *opaque, int slot, uint64_t gpa, uint64_t size,
                         void *hva)
{
    (void)opaque;
    CHECK(slot >= 0 && (unsigned)slot < fuzz_slots);
    CHECK(gpa % 4096 == 0 && size % 4096 == 0 && size <= 0x10000);
    CHECK(!size || (hva && gpa + size > gpa));
    return 0;
}

int __wrap_vfio_find_by_id(uint16_t vid, uint16_t did, unsigned idx, char *bdf,
                           size_t len)
{
    (void)vid, (void)did;
    if (idx)
        return -ENOENT;
    snprintf(bdf, len, "0000:00:1f.0");
    return 0;
}

int __wrap_vfio_open(struct vfio_dev *d, const char *bdf)
{
    CHECK(!host.open);
    memset(d, 0, sizeof(*d));
    d->container = d->group = d->fd = -1;
    if (host.fail & 1)
        return -ENODEV;
    snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
    d->group_id = 7;
    for (unsigned i = 0; i < 6; i++) {
        unsigned b = host.bar[i];
        if (!(b & 31))
            continue;
        d->regions[VFIO_PCI_REG_BAR0 + i] =
            (struct vfio_region){.size = 1ull << (b & 31),
                                 .readable = true,
                                 .writable = true,
                                 .mmap = b & 0x80};
        struct vfio_region *r = &d->regions[VFIO_PCI_REG_BAR0 + i];
        if (i == 0 && (host.irqs & 32) && r->size > 0x2000) {
            r->sparse = true;
            r->nareas = 2;
            r->areas[0] = (struct vfio_area){0, 0x1000};
            r->areas[1] = (struct vfio_area){0x2000, r->size - 0x2000};
        }
        r->msix_mappable = i == 0 && (host.irqs & 64);
        /* the BAR register's kind bits, as the host's configuration has */
        uint32_t reg = b & 0x20 ? 1 : b & 0x40 ? 4 : 0;
        le_put(host.cfg + PCI_REG_BAR0 + 4 * i, reg, 4);
    }
    d->regions[VFIO_PCI_REG_CFG] = (struct vfio_region){
        .size = sizeof(host.cfg), .readable = true, .writable = true};
    d->irq_count[VFIO_IRQ_INTX] = host.irqs & 1;
    d->irq_count[VFIO_IRQ_MSI] = host.irqs >> 1 & 1;
    d->irq_count[VFIO_IRQ_MSIX] = host.irqs & 4 ? 8 : 0;
    d->reset_ok = host.irqs & 8;
    host.open = true;
    return 0;
}

void __wrap_vfio_close(struct vfio_dev *d)
{
    if (d->group_id)
        host.open = false;
    d->group_id = 0;
}

int __wrap_vfio_dma_map(struct vfio_dev *d, uint64_t iova, uint64_t size,
                        void *hva)
{
    (void)d;
    CHECK(host.open && size && hva && iova + size > iova);
    host.dma_maps++;
    return host.fail & 16 ? -ENOMEM : 0;
}

int __wrap_vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size)
{
    (void)d, (void)iova, (void)size;
    return 0;
}

int __wrap_vfio_region_rw(struct vfio_dev *d, unsigned idx, uint64_t off,
                          void *buf, size_t len, bool write)
{
    CHECK(host.open && idx < VFIO_PCI_NREGS && buf && len);
    const struct vfio_region *r = &d->regions[idx];
    if (off > r->size || len > r->size - off)
        return -EIO; /* the kernel's short access */
    uint8_t *m;
    if (idx == VFIO_PCI_REG_CFG) {
        if (host.fail & 32)
            return -EIO;
        m = host.cfg + off;
    } else {
        CHECK(idx < 6);
        if (host.fail & 8)
            return -EIO;
        CHECK(len <= 8);
        m = host.mem[idx] + off % (HOST_BAR_MEM - 8);
    }
    if (write)
        memcpy(m, buf, len);
    else
        memcpy(buf, m, len);
    return 0;
}

void *__wrap_vfio_region_mmap(struct vfio_dev *d, unsigned idx)
{
    CHECK(host.open && idx < 6);
    const struct vfio_region *r = &d->regions[idx];
    if (!r->mmap || r->size > 0x10000)
        return NULL;
    void *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *__wrap_vfio_region_mmap_at(struct vfio_dev *d, unsigned idx, uint64_t off,
                                 uint64_t size)
{
    CHECK(host.open && idx < 6);
    const struct vfio_region *r = &d->regions[idx];
    CHECK(size && off % 4096 == 0 && size % 4096 == 0 && off <= r->size &&
          size <= r->size - off);
    bool in = !r->sparse;
    for (unsigned k = 0; k < r->nareas; k++)
        in |= off >= r->areas[k].off &&
              off + size <= r->areas[k].off + r->areas[k].size;
    CHECK(in); /* only what VFIO lets us mmap */
    if (!r->mmap || size > 0x10000)
        return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int __wrap_vfio_irq_set(struct vfio_dev *d, enum vfio_irq_kind kind,
                        unsigned vec, int fd)
{
    CHECK(host.open && kind <= VFIO_IRQ_MSIX && fd >= -1);
    CHECK(vec < d->irq_count[kind] || (fd < 0 && vec == 0));
    host.irq_sets++;
    return host.fail & 2 ? -EINVAL : 0;
}

int __wrap_vfio_intx_unmask(struct vfio_dev *d)
{
    CHECK(host.open && d->irq_count[VFIO_IRQ_INTX]);
    host.unmasks++;
    return host.fail & 4 ? -EINVAL : 0;
}

int __wrap_vfio_intx_unmask_fd(struct vfio_dev *d, int fd)
{
    CHECK(host.open && d->irq_count[VFIO_IRQ_INTX] && fd >= -1);
    return host.fail & 4 ? -EINVAL : 0;
}

/*
 * The host function's interrupts: vfio_pci.c watches the eventfds it gives
 * VFIO (INTx, and MSI without irqfd) on the I/O thread's event loop; ev_add
 * and ev_del are wrapped to record them, and an access whose c >> 4 is N
 * (1-13) first signals the (N - 1) % n-th watched eventfd and runs its
 * callback on the fuzzing thread, as the I/O thread would. (Timerfds are
 * watched too; a write to one fails and nothing runs.)
 */
int __wrap_ev_add(struct evloop *ev, int fd, uint32_t events, ev_fn fn,
                  void *opaque);
int __wrap_ev_del(struct evloop *ev, int fd);
int __real_ev_add(struct evloop *ev, int fd, uint32_t events, ev_fn fn,
                  void *opaque);
int __real_ev_del(struct evloop *ev, int fd);

static struct watched {
    int fd;
    ev_fn fn;
    void *opaque;
} watched[16];
static unsigned nwatched;

int __wrap_ev_add(struct evloop *ev, int fd, uint32_t events, ev_fn fn,
                  void *opaque)
{
    int r = __real_ev_add(ev, fd, events, fn, opaque);
    if (r == 0) {
        CHECK(nwatched < ARRAY_SIZE(watched));
        watched[nwatched++] = (struct watched){fd, fn, opaque};
    }
    return r;
}

int __wrap_ev_del(struct evloop *ev, int fd)
{
    for (unsigned i = 0; i < nwatched; i++)
        if (watched[i].fd == fd) {
            watched[i] = watched[--nwatched];
            break;
        }
    return __real_ev_del(ev, fd);
}

static void host_interrupt(unsigned k)
{
    if (!k || !nwatched)
        return;
    const struct watched *w = &watched[(k - 1) % nwatched];
    uint64_t one = 1;
    if (write(w->fd, &one, sizeof(one)) == sizeof(one))
        w->fn(w->opaque, w->fd, EPOLLIN);
}
#else
static void host_interrupt(unsigned k)
{
    (void)k;
}
#endif

/* With $QVM_FUZZ_LOG, the regions the first input sees (region indexes
 * for hand-made seeds). */
static void list_regions(void)
{
    static bool done;
    if (done || !getenv("QVM_FUZZ_LOG"))
        return;
    done = true;
    struct bus *b[] = {&fe.pio, &fe.mmio};
    for (unsigned i = 0; i < 2; i++)
        for (size_t k = 0; k < b[i]->regions.n; k++)
            fprintf(stderr, "fuzz: %s region %zu: 0x%llx+0x%llx %s\n",
                    i ? "mmio" : "pio", k,
                    (unsigned long long)b[i]->regions.v[k].base,
                    (unsigned long long)b[i]->regions.v[k].len,
                    b[i]->regions.v[k].name ? b[i]->regions.v[k].name : "");
}

/* The host input file @DIR@/in, for rows that read one; rewritten only
 * when it changes (the device opens it at realize: the same bytes). */
static void host_input(const uint8_t *p, size_t n)
{
    static uint8_t last[0x10000];
    static size_t last_n = SIZE_MAX;
    if (!uses_in || (n == last_n && memcmp(p, last, n) == 0))
        return;
    CHECK(n <= sizeof(last));
    memcpy(last, p, n);
    last_n = n;
    char path[96];
    snprintf(path, sizeof(path), "%s/in", fe.dir);
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(write(fd, p, n) == (ssize_t)n);
    close(fd);
}

/* One guest access at offset `off` of region `ri` of the bus. */
static void access_(struct bus *b, unsigned ri, uint64_t off, unsigned size,
                    bool write, uint64_t val)
{
    pthread_rwlock_rdlock(&b->lock);
    size_t n = b->regions.n;
    uint64_t addr = 0;
    if (n) {
        const struct bus_region *r = &b->regions.v[ri % n];
        addr = r->base + off % r->len;
    }
    pthread_rwlock_unlock(&b->lock);
    if (!n)
        return;
    uint64_t v = write ? val : 0;
    (void)bus_access(b, addr, &v, size, write);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!row)
        init();
    if (size < 3)
        return 0;
    const uint8_t *p = data + 3, *end = data + size;
    size_t hl = MIN((size_t)get(data + 1, 2), size - 3);
    const uint8_t *hin = p;
    host_input(hin, hl);
    p += hl;
    fe_reset(data[0]);
    clock_reset();
    if (uses_shm)
        shm_clear();
    static struct dev_list l;
    fe_realize(&spec, &l);
    shm_hook(&l);
    void *button = NULL;
    uint16_t presses[256] = {0}; /* pl061: presses before op N */
#ifdef DEVREG_PL061
    CHECK(pl061_power_realize(&spec, &l.ctx, &l) == 0);
    for (size_t i = 0; i < l.v.n; i++)
        if (strcmp(l.v.v[i].name, PL061_DEV_NAME) == 0)
            button = l.v.v[i].state;
    CHECK(button);
    for (size_t k = 0; k < hl; k++)
        presses[hin[k]]++;
#endif
#ifdef DEVREG_VFIO
    host_reset(hin, hl);
    fuzz_slots = 0;
    l.ctx.slot_new = host.irqs & 128 ? fuzz_slot_new : NULL;
    l.ctx.slot_set = host.irqs & 128 ? fuzz_slot_set : NULL;
    for (unsigned i = 0; i < FE_GSIS; i++)
        fuzz_eoi_fd[i] = -1;
    l.ctx.irq_eoi_fd = host.fail & 64 ? fuzz_irq_eoi_fd : NULL;
    if (vfio_pci_realize(&spec, &l.ctx, &l) < 0)
        CHECK(!host.open); /* refused (logged): the function closed */
#endif
    list_regions();
    for (unsigned ops = 0; p < end && ops < MAX_OPS; ops++) {
        /* pl061: the host input's bytes are the ops before which the
         * power button is pressed */
        for (unsigned k = 0; button && ops < 256 && k < presses[ops]; k++)
            (void)pl061_power_button(button);
        uint8_t c = *p++;
        unsigned kind = c >> 4;
        if (kind == 15) {
            if (end - p < 3)
                break;
            uint64_t a = get(p, 2) % FE_RAM;
            size_t n = MIN((size_t)p[2], (size_t)(end - p - 3));
            memcpy(fe.ram + a, p + 3, MIN(n, (size_t)(FE_RAM - a)));
            p += 3 + n;
            continue;
        }
        unsigned sz = 1u << (c & 3), offlen = kind == 14 ? 4 : 2;
        bool write = c & 4;
        if ((size_t)(end - p) < 1 + offlen + (write ? sz : 0))
            break;
        unsigned ri = p[0];
        uint64_t off = get(p + 1, offlen);
        p += 1 + offlen;
        uint64_t val = 0;
        if (write) {
            val = get(p, sz);
            p += sz;
        }
        if (kind < 14) {
            clock_advance(kind);
            host_interrupt(kind);
        }
        access_(c & 8 ? &fe.mmio : &fe.pio, ri, off, sz, write, val);
    }
    fe_teardown(&l);
#ifdef DEVREG_VFIO
    CHECK(!host.open); /* the function closed at teardown */
    nwatched = 0;      /* the event loop is freed with its watches */
    for (unsigned i = 0; i < FE_GSIS; i++)
        CHECK(fuzz_eoi_fd[i] == -1); /* every EOI hook dropped */
#endif
    return 0;
}

/*
 * pci.c: PCI bus 0 (see pci.h): configuration mechanism #1, ECAM, the host
 * bridge, type 0 headers with BAR sizing, BAR remapping, the capability
 * list and INTx; MSI-X is msix.c's.
 *
 * 0xcf8 is CONFIG_ADDRESS (dword accesses only): bit 31 enable, bus 23:16,
 * device 15:11, function 10:8, register 7:2. 0xcfc-0xcff is CONFIG_DATA:
 * a byte, word or dword access at 0xcfc+n reaches register+n. Byte
 * accesses to 0xcf9 are the reset control register, as in pci_stub.c.
 * Configuration reads of a missing function (or bus != 0) return all ones;
 * reads past the 256-byte space of a present function through ECAM return
 * zero (no extended capabilities). Unaligned ECAM accesses and 8-byte ones
 * read all ones and are dropped.
 *
 * INTx: the model's level reaches the `intx` line unless command
 * bit 10 (Interrupt Disable) is set; status bit 3 shows the model's level.
 *
 * Context: region ops on vCPU threads (inside a bus access), under the bus
 * mutex; the remap thread calls bus_map()/bus_unmap() and the bar_moved
 * hooks without it. pci_intx_set runs on any thread and takes only the
 * function's irq_lock, a leaf lock taken after the bus mutex (msix.c's
 * mutex is another).
 */
#include "devices/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "devices/msix.h"
#include "util/ckd.h"
#include "util/le.h"
#include "util/log.h"
#include "vm/confine.h"

#define TAG "pci"

#define PCI_PORT 0xcf8
#define RCR_RST  0x04

struct remap {
    struct pci_function *f;
    unsigned devfn, i;
    bool want;
    uint64_t base;
};

/* Where a BAR is mapped, kept by the bus so that pci_bus_free can unmap it
 * after the function's owner is gone. */
struct mapping {
    bool on;
    struct bus *bus;
    uint64_t base;
};

struct pci_bus {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    const struct dev_ctx *ctx;
    uint32_t addr;
    uint8_t rcr;
    bool ports, ecam, quit, started; /* ports, ecam: mapped */
    bool inline_remap;               /* no thread: pci_bus_sync remaps */
    uint64_t req, done;              /* remap passes requested / completed */
    pthread_t thread;
    struct pci_function *fn[256]; /* bus 0, by devfn */
    struct pci_function host;
    struct pci_function *owned; /* realize: the vdev functions */
    struct pci_msix *msix;      /* every added function's MSI-X state */
    struct remap todo[256 * 6]; /* remap thread only */
    struct mapping map[256][6]; /* remap thread, then pci_bus_free */
};

/* ---- configuration space ------------------------------------------------ */

void pci_function_init(struct pci_function *f, const char *name, struct bdf bdf,
                       uint16_t vendor, uint16_t device, uint32_t class24,
                       uint8_t intx_pin, uint8_t intx_line)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->irq_lock, NULL);
    f->name = name;
    f->bdf = bdf;
    le_put(f->cfg + 0x00, vendor, 2);
    le_put(f->cfg + 0x02, device, 2);
    le_put(f->cfg + 0x09, class24, 3);
    f->cfg[0x0e] = 0; /* header type 0, single function */
    f->cfg[0x3c] = intx_pin ? intx_line : 0;
    f->cfg[0x3d] = intx_pin;
    f->intx_intr = (struct intr){.pic = 0, .line = intx_line};
    f->intx = irq_line_none();
    le_put(f->wmask + PCI_REG_CMD, 0x0407, 2); /* io, mem, master, intx dis */
    f->wmask[0x0c] = 0xff;                     /* cache line size */
    f->wmask[0x0d] = 0xff;                     /* latency timer */
    f->wmask[PCI_REG_INTX] = 0xff;
}

int pci_function_set_bar(struct pci_function *f, unsigned idx,
                         enum bar_kind kind, uint64_t base, uint64_t size,
                         const struct region_ops *ops, void *opaque)
{
    if (idx >= 6 || (kind == BAR_MEM64 && idx == 5) || size < 4 ||
        (size & (size - 1)) || (kind == BAR_IO && size > 0x100) ||
        (kind == BAR_MEM32 && size > 0x80000000u) ||
        (kind != BAR_IO && size < 16) || (base & (size - 1)) ||
        kind == BAR_NONE)
        return -EINVAL;
    unsigned r = PCI_REG_BAR0 + 4 * idx;
    f->bars[idx] = (struct bar){kind, base, size, NULL};
    f->bar_ops[idx] = ops;
    f->bar_opaque[idx] = opaque;
    uint64_t mask = ~(size - 1);
    switch (kind) {
    case BAR_IO:
        le_put(f->wmask + r, mask & 0xfffc, 4);
        le_put(f->cfg + r, (base & 0xfffc) | 1, 4);
        le_put(f->cfg + PCI_REG_CMD,
               le_get(f->cfg + PCI_REG_CMD, 2) | PCI_CMD_IO, 2);
        break;
    case BAR_MEM32:
        le_put(f->wmask + r, mask & 0xfffffff0u, 4);
        le_put(f->cfg + r, base & 0xfffffff0u, 4);
        le_put(f->cfg + PCI_REG_CMD,
               le_get(f->cfg + PCI_REG_CMD, 2) | PCI_CMD_MEM, 2);
        break;
    case BAR_MEM64:
        le_put(f->wmask + r, mask & 0xfffffffffffffff0ull, 8);
        le_put(f->cfg + r, (base & ~0xfull) | 0x4, 8);
        f->bars[idx + 1] = (struct bar){BAR_NONE, 0, 0, NULL};
        le_put(f->cfg + PCI_REG_CMD,
               le_get(f->cfg + PCI_REG_CMD, 2) | PCI_CMD_MEM, 2);
        break;
    case BAR_NONE:
        break;
    }
    return 0;
}

/* Where BAR i should be decoded now; false: nowhere. Caller holds lock. */
static bool bar_target(const struct pci_function *f, unsigned i, uint64_t *base)
{
    const struct bar *bar = &f->bars[i];
    uint16_t cmd = (uint16_t)le_get(f->cfg + PCI_REG_CMD, 2);
    unsigned r = PCI_REG_BAR0 + 4 * i;
    uint64_t b;
    switch (bar->kind) {
    case BAR_IO:
        b = le_get(f->cfg + r, 4) & 0xfffc;
        if (!(cmd & PCI_CMD_IO) || !range_within(b, bar->size, 0x10000))
            return false;
        break;
    case BAR_MEM32:
        b = le_get(f->cfg + r, 4) & 0xfffffff0u;
        if (!(cmd & PCI_CMD_MEM))
            return false;
        break;
    case BAR_MEM64:
        b = le_get(f->cfg + r, 8) & ~0xfull;
        if (!(cmd & PCI_CMD_MEM) || b + bar->size < b)
            return false;
        break;
    default:
        return false;
    }
    /* 0 is unassigned; the top of the space is a sizing pattern. */
    if (b == 0 || b + bar->size == 0)
        return false;
    *base = b;
    return true;
}

static uint64_t dummy_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)off, (void)size;
    return 0;
}

static void dummy_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    (void)opaque, (void)off, (void)v, (void)size;
}

static const struct region_ops dummy_ops = {dummy_read, dummy_write};

/* ---- the remap thread --------------------------------------------------- */

static struct bus *bar_bus(const struct pci_bus *b, const struct bar *bar)
{
    return bar->kind == BAR_IO ? b->ctx->pio : b->ctx->mmio;
}

/* Brings every BAR's mapping in line with its registers: all unmaps first,
 * so that BARs swapping addresses do not collide. The bar_moved hooks run
 * after each unmap and each map. */
static void remap_pass(struct pci_bus *b)
{
    unsigned n = 0;
    pthread_mutex_lock(&b->lock);
    for (unsigned d = 0; d < 256; d++) {
        struct pci_function *f = b->fn[d];
        for (unsigned i = 0; f && i < 6; i++) {
            uint64_t base = 0;
            bool want = bar_target(f, i, &base);
            if (want != f->mapped[i] || (want && base != f->mapped_base[i]))
                b->todo[n++] = (struct remap){f, d, i, want, base};
        }
    }
    pthread_mutex_unlock(&b->lock);
    for (unsigned k = 0; k < n; k++) {
        struct pci_function *g = b->todo[k].f;
        unsigned i = b->todo[k].i;
        struct mapping *m = &b->map[b->todo[k].devfn][i];
        if (!g->mapped[i])
            continue;
        (void)bus_unmap(m->bus, m->base);
        g->mapped[i] = m->on = false;
        if (g->bar_moved)
            g->bar_moved(g->hook_opaque, i, false, g->mapped_base[i]);
    }
    for (unsigned k = 0; k < n; k++) {
        struct pci_function *g = b->todo[k].f;
        unsigned i = b->todo[k].i;
        uint64_t base = b->todo[k].base;
        if (!b->todo[k].want)
            continue;
        const struct region_ops *ops =
            g->bar_ops[i] ? g->bar_ops[i] : &dummy_ops;
        struct bus *bus = bar_bus(b, &g->bars[i]);
        int rc = bus_map(bus, g->bar_name[i], base, g->bars[i].size, ops,
                         g->bar_opaque[i]);
        if (rc < 0) {
            log_debug(TAG, "%s BAR%u at 0x%llx not decoded (%d)", g->name, i,
                      (unsigned long long)base, rc);
            continue;
        }
        g->mapped[i] = true;
        g->mapped_base[i] = base;
        b->map[b->todo[k].devfn][i] = (struct mapping){true, bus, base};
        if (g->bar_moved)
            g->bar_moved(g->hook_opaque, i, true, base);
    }
}

static void *remap_thread(void *arg)
{
    struct pci_bus *b = arg;
    confine_thread(CONFINE_PCI);
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (b->done == b->req && !b->quit)
            pthread_cond_wait(&b->cond, &b->lock);
        if (b->quit)
            break;
        uint64_t target = b->req;
        pthread_mutex_unlock(&b->lock);
        remap_pass(b);
        pthread_mutex_lock(&b->lock);
        b->done = target;
        pthread_cond_broadcast(&b->cond);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

static void sync_cb(void *arg)
{
    pci_bus_sync(arg);
}

/* Caller holds the lock. */
static void request_remap(struct pci_bus *b)
{
    b->req++;
    pthread_cond_broadcast(&b->cond);
}

/* Set by pci_remap_inline (single-threaded test harnesses). */
static bool remap_inline;

void pci_remap_inline(bool on)
{
    remap_inline = on;
}

void pci_bus_sync(struct pci_bus *b)
{
    pthread_mutex_lock(&b->lock);
    uint64_t target = b->req;
    if (b->inline_remap) {
        /* The pass the remap thread would make, on this thread. */
        while (b->done < target) {
            pthread_mutex_unlock(&b->lock);
            remap_pass(b);
            pthread_mutex_lock(&b->lock);
            b->done = target;
            target = b->req;
        }
        pthread_mutex_unlock(&b->lock);
        return;
    }
    while (b->done < target && !b->quit)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

/* ---- INTx ---------------------------------------------------------------- */

/* Drive the line to what the model and the command register say. Caller
 * holds f->irq_lock. */
static void intx_drive(struct pci_function *f)
{
    bool out = f->intx_level && !f->intx_disabled && f->cfg[0x3d] != 0;
    if (out == f->intx_out || !f->bus)
        return;
    f->intx_out = out;
    irq_line_set(&f->intx, out);
}

void pci_intx_set(struct pci_function *f, bool level)
{
    pthread_mutex_lock(&f->irq_lock);
    f->intx_level = level;
    intx_drive(f);
    pthread_mutex_unlock(&f->irq_lock);
}

/* ---- capabilities ---------------------------------------------------------
 */

int pci_function_add_cap(struct pci_function *f, uint8_t id, const void *body,
                         unsigned len)
{
    unsigned off = f->cap_end ? (f->cap_end + 3u) & ~3u : 0x40;
    if (len < 2 || off + len > PCI_CFG_SIZE)
        return -ENOSPC;
    if (body)
        memcpy(f->cfg + off, body, len);
    else
        memset(f->cfg + off, 0, len);
    f->cfg[off] = id;
    f->cfg[off + 1] = 0;
    /* Append: follow the list from 0x34 (at most 48 dword-aligned caps). */
    unsigned at = PCI_REG_CAP_PTR;
    for (unsigned n = 0; n < 48 && f->cfg[at] >= 0x40; n++)
        at = f->cfg[at] + 1u;
    f->cfg[at] = (uint8_t)off;
    f->cfg[PCI_REG_STATUS] |= PCI_STATUS_CAPS;
    f->cap_end = (uint8_t)(off + len == PCI_CFG_SIZE ? 0xff : off + len);
    return (int)off;
}

/* ---- configuration accesses --------------------------------------------- */

/* Caller holds the lock. `reg + size` may exceed the 256-byte space. */
static uint64_t cfg_read(struct pci_bus *b, unsigned bus, unsigned devfn,
                         unsigned reg, unsigned size)
{
    struct pci_function *f = bus == 0 ? b->fn[devfn & 0xff] : NULL;
    if (!f)
        return UINT64_MAX;
    if (reg >= PCI_CFG_SIZE)
        return 0;
    if (reg + size > PCI_CFG_SIZE)
        return UINT64_MAX;
    if (reg <= PCI_REG_STATUS && reg + size > PCI_REG_STATUS) {
        pthread_mutex_lock(&f->irq_lock);
        if (f->intx_level)
            f->cfg[PCI_REG_STATUS] |= PCI_STATUS_INTX;
        else
            f->cfg[PCI_REG_STATUS] &= (uint8_t)~PCI_STATUS_INTX;
        pthread_mutex_unlock(&f->irq_lock);
    }
    if (f->cfg_read)
        f->cfg_read(f->hook_opaque, reg, size);
    return le_get(f->cfg + reg, size);
}

static bool touches(unsigned reg, unsigned size, unsigned at, unsigned len)
{
    return reg < at + len && at < reg + size;
}

static void cfg_write(struct pci_bus *b, unsigned bus, unsigned devfn,
                      unsigned reg, uint64_t v, unsigned size)
{
    struct pci_function *f = bus == 0 ? b->fn[devfn & 0xff] : NULL;
    if (!f || reg + size > PCI_CFG_SIZE)
        return;
    bool remap = false;
    for (unsigned i = 0; i < size; i++) {
        unsigned r = reg + i;
        uint8_t m = f->wmask[r], old = f->cfg[r];
        f->cfg[r] = (uint8_t)((old & ~m) | ((v >> (8 * i)) & m));
        if (f->cfg[r] != old &&
            (r == PCI_REG_CMD || (r >= PCI_REG_BAR0 && r < 0x28)))
            remap = true;
    }
    if (remap) {
        request_remap(b);
        /* The vCPU resumes only once the move is applied (the remap
         * thread's bus_map waits for the access we are inside of now). */
        if (bus_defer(sync_cb, b) < 0)
            log_debug(TAG, "BAR move applied asynchronously");
    }
    if (touches(reg, size, PCI_REG_CMD + 1, 1)) {
        pthread_mutex_lock(&f->irq_lock);
        f->intx_disabled =
            f->cfg[PCI_REG_CMD + 1] & (PCI_CMD_INTX_DISABLE >> 8);
        intx_drive(f);
        pthread_mutex_unlock(&f->irq_lock);
    }
    msix_cfg_written(f, reg, size);
    if (f->cfg_write)
        f->cfg_write(f->hook_opaque, reg, size);
}

static uint64_t port_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_bus *b = opaque;
    uint64_t v = UINT64_MAX;
    pthread_mutex_lock(&b->lock);
    if (off == 0 && size == 4) {
        v = b->addr;
    } else if (off == 1 && size == 1) {
        v = b->rcr;
    } else if (off >= 4 && (b->addr & 0x80000000u)) {
        uint32_t a = b->addr;
        v = cfg_read(b, a >> 16 & 0xff, a >> 8 & 0xff,
                     (a & 0xfc) + (unsigned)(off - 4), size);
    }
    pthread_mutex_unlock(&b->lock);
    return v;
}

static void port_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pci_bus *b = opaque;
    bool reset = false;
    pthread_mutex_lock(&b->lock);
    if (off == 0 && size == 4) {
        b->addr = (uint32_t)val & 0x80fffffcu;
    } else if (off == 1 && size == 1) {
        b->rcr = (uint8_t)val & 0x0e;
        reset = val & RCR_RST;
    } else if (off >= 4 && (b->addr & 0x80000000u)) {
        uint32_t a = b->addr;
        cfg_write(b, a >> 16 & 0xff, a >> 8 & 0xff,
                  (a & 0xfc) + (unsigned)(off - 4), val, size);
    }
    pthread_mutex_unlock(&b->lock);
    if (reset) {
        log_info(TAG, "guest reset (0xcf9)");
        b->ctx->stop(b->ctx->opaque, STOP_RESET);
    }
}

static const struct region_ops port_ops = {port_read, port_write};

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_bus *b = opaque;
    if (size > 4 || off % size)
        return UINT64_MAX;
    pthread_mutex_lock(&b->lock);
    uint64_t v = cfg_read(b, (unsigned)(off >> 20), (unsigned)(off >> 12),
                          (unsigned)(off & 0xfff), size);
    pthread_mutex_unlock(&b->lock);
    return v;
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pci_bus *b = opaque;
    if (size > 4 || off % size)
        return;
    pthread_mutex_lock(&b->lock);
    cfg_write(b, (unsigned)(off >> 20), (unsigned)(off >> 12),
              (unsigned)(off & 0xfff), val, size);
    pthread_mutex_unlock(&b->lock);
}

static const struct region_ops ecam_ops = {ecam_read, ecam_write};

/* ---- the bus ------------------------------------------------------------ */

int pci_bus_add(struct pci_bus *b, struct pci_function *f)
{
    if (f->bdf.bus != 0 || f->bdf.dev > 31 || f->bdf.fn > 7)
        return -EINVAL;
    unsigned devfn = (unsigned)f->bdf.dev << 3 | f->bdf.fn;
    if (f->cfg[0x3d] && !f->intx.n && b->ctx->irq_resolve) {
        int e =
            b->ctx->irq_resolve(b->ctx->opaque, &f->intx_intr, -1, &f->intx);
        if (e < 0)
            return e;
        if (f->intx.gsi >= 0 && f->intx.gsi < 0xff)
            f->cfg[0x3c] = (uint8_t)f->intx.gsi;
    }
    for (unsigned i = 0; i < 6; i++)
        snprintf(f->bar_name[i], sizeof(f->bar_name[i]), "%s BAR%u",
                 f->name ? f->name : "pci", i);
    pthread_mutex_lock(&b->lock);
    int rc = b->fn[devfn] ? -EEXIST : 0;
    if (!rc) {
        f->bus = b;
        b->fn[devfn] = f;
        request_remap(b);
        if (f->msix)
            msix_list_add(f->msix, b->ctx, &b->msix);
    }
    pthread_mutex_unlock(&b->lock);
    if (rc)
        return rc;
    if (f->msix)
        msix_fast_paths(f->msix);
    pci_bus_sync(b);
    return 0;
}

const struct pci_function *pci_bus_fn(struct pci_bus *b, unsigned devfn)
{
    if (!b || devfn > 255)
        return NULL;
    pthread_mutex_lock(&b->lock);
    const struct pci_function *f = b->fn[devfn];
    pthread_mutex_unlock(&b->lock);
    return f;
}

void pci_bus_remove(struct pci_bus *b, struct pci_function *f)
{
    unsigned devfn = (unsigned)f->bdf.dev << 3 | f->bdf.fn;
    if (!b || f->bdf.bus != 0 || f->bdf.dev > 31 || f->bdf.fn > 7)
        return;
    pthread_mutex_lock(&b->lock);
    bool on = b->fn[devfn] == f && f != &b->host;
    if (on) {
        b->fn[devfn] = NULL;
        request_remap(b); /* a pass after ours: none holds f any more */
        if (f->msix)
            msix_list_remove(f->msix, &b->msix);
    }
    pthread_mutex_unlock(&b->lock);
    if (!on)
        return;
    pci_bus_sync(b);
    for (unsigned i = 0; i < 6; i++) {
        struct mapping *m = &b->map[devfn][i];
        if (m->on)
            (void)bus_unmap(m->bus, m->base);
        *m = (struct mapping){0};
        f->mapped[i] = false;
    }
    if (f->msix) {
        msix_free(f->msix);
        f->msix = NULL;
    }
    pthread_mutex_lock(&f->irq_lock);
    f->intx_level = false;
    intx_drive(f); /* a line left asserted drops */
    f->bus = NULL;
    pthread_mutex_unlock(&f->irq_lock);
}

struct pci_bus *pci_bus_new(const struct dev_ctx *ctx, bool ecam)
{
    struct pci_bus *b = calloc(1, sizeof(*b));
    if (!b) {
        log_fatal(TAG, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
    b->ctx = ctx;
    pci_function_init(&b->host, "PCI host bridge", (struct bdf){0, 0, 0},
                      PCI_HOST_VID, PCI_HOST_DID, PCI_HOST_CLASS << 8, 0, 0);
    b->fn[0] = &b->host;
    b->inline_remap = remap_inline;
    if (!b->inline_remap) {
        if (pthread_create(&b->thread, NULL, remap_thread, b) != 0) {
            log_fatal(TAG, "cannot start the BAR remap thread");
            goto err;
        }
        b->started = true;
    }
    if (bus_map(ctx->pio, "pci config", PCI_PORT, 8, &port_ops, b) < 0) {
        log_fatal(TAG, "cannot map the PCI configuration ports 0xcf8-0xcff");
        goto err;
    }
    b->ports = true;
    if (ecam && bus_map(ctx->mmio, "PCI ECAM", PCI_ECAM_BASE, PCI_ECAM_SIZE,
                        &ecam_ops, b) < 0) {
        log_fatal(TAG, "cannot map PCI ECAM at 0x%llx",
                  (unsigned long long)PCI_ECAM_BASE);
        goto err;
    }
    b->ecam = ecam;
    return b;
err:
    pci_bus_free(b);
    return NULL;
}

void pci_bus_free(struct pci_bus *b)
{
    if (!b)
        return;
    if (b->started) {
        pthread_mutex_lock(&b->lock);
        b->quit = true;
        pthread_cond_broadcast(&b->cond);
        pthread_mutex_unlock(&b->lock);
        pthread_join(b->thread, NULL);
    }
    for (unsigned d = 0; d < 256; d++)
        for (unsigned i = 0; i < 6; i++)
            if (b->map[d][i].on)
                (void)bus_unmap(b->map[d][i].bus, b->map[d][i].base);
    msix_free_list(&b->msix);
    if (b->ports)
        (void)bus_unmap(b->ctx->pio, PCI_PORT);
    if (b->ecam)
        (void)bus_unmap(b->ctx->mmio, PCI_ECAM_BASE);
    free(b->owned);
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* ---- realize ------------------------------------------------------------ */

/* pci-dummy `reg OFFSET/SIZE=VALUE` presets (identity registers). */
static void apply_regs(struct pci_function *f, const struct vdev_spec *vd)
{
    for (size_t k = 0; k < vd->opts.n; k++) {
        const struct opt_val *o = &vd->opts.v[k];
        if (!o->def || strcmp(o->def->name, "reg") != 0)
            continue;
        if (o->num2 <= 8 && range_within(o->num, o->num2, 0x40))
            le_put(f->cfg + (unsigned)o->num, o->num3, (unsigned)o->num2);
    }
}

int pci_function_from_vdev(struct pci_function *f, const struct vdev_spec *vd)
{
    const struct pci_func *p = &vd->pci;
    const char *name = vd->name ? vd->name : vdev_type_name(vd);
    pci_function_init(f, name, p->bdf, p->vendor, p->device,
                      (uint32_t)p->class_code << 8, p->intx_pin,
                      (uint8_t)p->intx.line);
    if (p->intx_pin)
        f->intx_intr = p->intx;
    for (unsigned i = 0; i < 6; i++) {
        const struct bar *bar = &p->bars[i];
        if (bar->kind == BAR_NONE)
            continue;
        if (pci_function_set_bar(f, i, bar->kind, bar->base, bar->size, NULL,
                                 NULL) < 0) {
            log_fatal(TAG, "%s: BAR%u (%llu bytes at 0x%llx) is not valid",
                      name, i, (unsigned long long)bar->size,
                      (unsigned long long)bar->base);
            return -1;
        }
    }
    return 0;
}

static int add_vdev(struct pci_bus *b, struct pci_function *f,
                    const struct vdev_spec *vd)
{
    if (pci_function_from_vdev(f, vd) < 0)
        return -1;
    if (strcmp(vdev_type_name(vd), "pci-dummy") == 0) {
        const struct pci_func *p = &vd->pci;
        if (p->cloned) { /* `clone`: the rest of the host's identity */
            f->cfg[0x08] = p->revision;
            f->cfg[0x09] = p->prog_if;
            le_put(f->cfg + 0x2c, p->subsys_vendor, 2);
            le_put(f->cfg + 0x2e, p->subsys_id, 2);
        }
        apply_regs(f, vd); /* `reg` presets override the clone */
    }
    if (pci_bus_add(b, f) < 0) {
        log_fatal(TAG, "%s: PCI function %02x:%02x.%x is taken", f->name,
                  vd->pci.bdf.bus, vd->pci.bdf.dev, vd->pci.bdf.fn);
        return -1;
    }
    return 0;
}

static void pci_teardown(void *state)
{
    pci_bus_free(state);
}

int pci_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                struct dev_list *out)
{
    struct pci_bus *b;
    return pci_realize_bus(spec, ctx, out, &b);
}

int pci_realize_bus(const struct vm_spec *spec, const struct dev_ctx *ctx,
                    struct dev_list *out, struct pci_bus **bus)
{
    *bus = NULL;
    if (!spec->has_pci)
        return pci_stub_realize(spec, ctx, out);
    if (spec->arch != ARCH_X86_64)
        return 0;
    struct pci_bus *b = pci_bus_new(ctx, true);
    if (!b)
        return -1;
    struct dev_inst *slot = VEC_PUSH(&out->v);
    if (!slot) {
        pci_bus_free(b);
        log_fatal(TAG, "out of memory");
        return -1;
    }
    *slot = (struct dev_inst){"pci", b, pci_teardown};
    *bus = b;
    b->owned = calloc(spec->vdevs.n + 1, sizeof(*b->owned));
    if (!b->owned) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    for (size_t i = 0, n = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        if (vd->type && ((vd->type->flags & VF_VIRTIO) ||
                         strcmp(vd->type->name, "shmem") == 0))
            continue; /* virtio_pci_attach, shmem_realize add their own */
        if (vd->is_pci && add_vdev(b, &b->owned[n++], vd) < 0)
            return -1;
    }
    return 0;
}

/*
 * pci.c: PCI bus 0 (see pci.h): configuration mechanism #1, ECAM, the host
 * bridge, type 0 headers with BAR sizing, and BAR remapping.
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
 * Context: region ops on vCPU threads (bus read lock held), under the bus
 * mutex; the remap thread calls bus_map()/bus_unmap() without it.
 */
#include "devices/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "util/log.h"

#define TAG "pci"

#define PCI_PORT 0xcf8
#define RCR_RST  0x04

struct remap {
    struct pci_function *f;
    unsigned i;
    bool want;
    uint64_t base;
};

struct pci_bus {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    const struct dev_ctx *ctx;
    uint32_t addr;
    uint8_t rcr;
    bool ports, ecam, quit, started; /* ports, ecam: mapped */
    uint64_t req, done;              /* remap passes requested / completed */
    pthread_t thread;
    struct pci_function *fn[256]; /* bus 0, by devfn */
    struct pci_function host;
    struct pci_function *owned; /* realize: the vdev functions */
    struct remap todo[256 * 6]; /* remap thread only */
};

/* ---- configuration space ------------------------------------------------ */

static void put(uint8_t *p, unsigned off, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, unsigned off, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[off + i] << (8 * i);
    return v;
}

void pci_function_init(struct pci_function *f, const char *name, struct bdf bdf,
                       uint16_t vendor, uint16_t device, uint32_t class24,
                       uint8_t intx_pin, uint8_t intx_line)
{
    memset(f, 0, sizeof(*f));
    f->name = name;
    f->bdf = bdf;
    put(f->cfg, 0x00, vendor, 2);
    put(f->cfg, 0x02, device, 2);
    put(f->cfg, 0x09, class24, 3);
    f->cfg[0x0e] = 0; /* header type 0, single function */
    f->cfg[0x3c] = intx_pin ? intx_line : 0;
    f->cfg[0x3d] = intx_pin;
    put(f->wmask, PCI_REG_CMD, 0x0407, 2); /* io, mem, master, intx dis */
    f->wmask[0x0c] = 0xff;                 /* cache line size */
    f->wmask[0x0d] = 0xff;                 /* latency timer */
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
        put(f->wmask, r, mask & 0xfffc, 4);
        put(f->cfg, r, (base & 0xfffc) | 1, 4);
        put(f->cfg, PCI_REG_CMD, get(f->cfg, PCI_REG_CMD, 2) | PCI_CMD_IO, 2);
        break;
    case BAR_MEM32:
        put(f->wmask, r, mask & 0xfffffff0u, 4);
        put(f->cfg, r, base & 0xfffffff0u, 4);
        put(f->cfg, PCI_REG_CMD, get(f->cfg, PCI_REG_CMD, 2) | PCI_CMD_MEM, 2);
        break;
    case BAR_MEM64:
        put(f->wmask, r, mask & 0xfffffffffffffff0ull, 8);
        put(f->cfg, r, (base & ~0xfull) | 0x4, 8);
        f->bars[idx + 1] = (struct bar){BAR_NONE, 0, 0, NULL};
        put(f->cfg, PCI_REG_CMD, get(f->cfg, PCI_REG_CMD, 2) | PCI_CMD_MEM, 2);
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
    uint16_t cmd = (uint16_t)get(f->cfg, PCI_REG_CMD, 2);
    unsigned r = PCI_REG_BAR0 + 4 * i;
    uint64_t b;
    switch (bar->kind) {
    case BAR_IO:
        b = get(f->cfg, r, 4) & 0xfffc;
        if (!(cmd & PCI_CMD_IO) || b + bar->size > 0x10000)
            return false;
        break;
    case BAR_MEM32:
        b = get(f->cfg, r, 4) & 0xfffffff0u;
        if (!(cmd & PCI_CMD_MEM))
            return false;
        break;
    case BAR_MEM64:
        b = get(f->cfg, r, 8) & ~0xfull;
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
 * so that BARs swapping addresses do not collide. */
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
                b->todo[n++] = (struct remap){f, i, want, base};
        }
    }
    pthread_mutex_unlock(&b->lock);
    for (unsigned k = 0; k < n; k++) {
        struct pci_function *g = b->todo[k].f;
        unsigned i = b->todo[k].i;
        if (g->mapped[i])
            (void)bus_unmap(bar_bus(b, &g->bars[i]), g->mapped_base[i]);
        g->mapped[i] = false;
    }
    for (unsigned k = 0; k < n; k++) {
        struct pci_function *g = b->todo[k].f;
        unsigned i = b->todo[k].i;
        if (!b->todo[k].want)
            continue;
        const struct region_ops *ops =
            g->bar_ops[i] ? g->bar_ops[i] : &dummy_ops;
        int rc =
            bus_map(bar_bus(b, &g->bars[i]), g->bar_name[i], b->todo[k].base,
                    g->bars[i].size, ops, g->bar_opaque[i]);
        if (rc < 0) {
            log_debug(TAG, "%s BAR%u at 0x%llx not decoded (%d)", g->name, i,
                      (unsigned long long)b->todo[k].base, rc);
            continue;
        }
        g->mapped[i] = true;
        g->mapped_base[i] = b->todo[k].base;
    }
}

static void *remap_thread(void *arg)
{
    struct pci_bus *b = arg;
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

/* Caller holds the lock. */
static void request_remap(struct pci_bus *b)
{
    b->req++;
    pthread_cond_broadcast(&b->cond);
}

void pci_bus_sync(struct pci_bus *b)
{
    pthread_mutex_lock(&b->lock);
    uint64_t target = b->req;
    while (b->done < target && !b->quit)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
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
    return get(f->cfg, reg, size);
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
    if (remap)
        request_remap(b);
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
    for (unsigned i = 0; i < 6; i++)
        snprintf(f->bar_name[i], sizeof(f->bar_name[i]), "%s BAR%u",
                 f->name ? f->name : "pci", i);
    pthread_mutex_lock(&b->lock);
    int rc = b->fn[devfn] ? -EEXIST : 0;
    if (!rc) {
        b->fn[devfn] = f;
        request_remap(b);
    }
    pthread_mutex_unlock(&b->lock);
    if (!rc)
        pci_bus_sync(b);
    return rc;
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
    if (pthread_create(&b->thread, NULL, remap_thread, b) != 0) {
        log_fatal(TAG, "cannot start the BAR remap thread");
        goto err;
    }
    b->started = true;
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
    for (unsigned d = 0; d < 256; d++) {
        struct pci_function *f = b->fn[d];
        for (unsigned i = 0; f && i < 6; i++)
            if (f->mapped[i])
                (void)bus_unmap(bar_bus(b, &f->bars[i]), f->mapped_base[i]);
    }
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
        if (o->num + o->num2 <= 0x40 && o->num2 <= 8)
            put(f->cfg, (unsigned)o->num, o->num3, (unsigned)o->num2);
    }
}

static int add_vdev(struct pci_bus *b, struct pci_function *f,
                    const struct vdev_spec *vd)
{
    const struct pci_func *p = &vd->pci;
    const char *name = vd->name ? vd->name : vdev_type_name(vd);
    pci_function_init(f, name, p->bdf, p->vendor, p->device,
                      (uint32_t)p->class_code << 8, p->intx_pin,
                      (uint8_t)p->intx.line);
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
    if (strcmp(vdev_type_name(vd), "pci-dummy") == 0)
        apply_regs(f, vd);
    if (pci_bus_add(b, f) < 0) {
        log_fatal(TAG, "%s: PCI function %02x:%02x.%x is taken", name,
                  p->bdf.bus, p->bdf.dev, p->bdf.fn);
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
        if (vd->type && (vd->type->flags & VF_VIRTIO))
            continue; /* virtio_pci_attach adds its own function */
        if (vd->is_pci && add_vdev(b, &b->owned[n++], vd) < 0)
            return -1;
    }
    return 0;
}

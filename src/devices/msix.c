/*
 * msix.c: MSI-X for the PCI model's functions (pci.h: pci_msix_init,
 * pci_msix_enabled, pci_msix_notify; msix.h: what pci.c calls).
 *
 * MSI-X (PCI 3.0, 6.8.2): Message Control's Enable and Function Mask are
 * the capability's only writable bits. The table (16 bytes per vector:
 * message address low/high, data, vector control whose bit 0 masks the
 * vector, set at reset) and the PBA are served here, at any width and
 * alignment (the spec asks for dwords and qwords; other widths work byte
 * by byte). Reserved bits read zero; PBA writes are ignored. A vector
 * signalled while masked (its bit, Function Mask) sets its pending bit and
 * is delivered when unmasked. Delivery: the vector's irqfd when KVM routes
 * MSIs (a GSI and an eventfd per vector, set up by pci_bus_add; the route
 * is pointed at the entry's message when the vector is unmasked or its
 * entry changes while unmasked), else ctx->msi_send.
 *
 * Context: the table and PBA region ops on vCPU threads; pci_msix_notify
 * on any thread. All take only the state's mutex, a leaf lock taken after
 * the bus mutex (msix_cfg_written).
 */
#include "devices/msix.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/ckd.h"
#include "util/le.h"
#include "util/log.h"

#define TAG "pci"

struct msix_vec {
    uint8_t e[16]; /* the table entry as the guest sees it */
    int gsi;       /* KVM route, or -1 */
    int efd;       /* eventfd bound to gsi by an irqfd, or -1 */
    bool routed;   /* gsi routes to the entry's current message */
    int watched;   /* the fd the watch was last told of (-1: none) */
};

/* A BAR holding the table, the PBA or both: the opaque of its region ops.
 * Its other bytes (a BAR shared with the function's registers) go to the
 * ops the BAR had at pci_msix_init, or read zero (rest_ops NULL). */
struct msix_win {
    struct pci_msix *m;
    bool table, pba; /* what this BAR holds */
    const struct region_ops *rest_ops;
    void *rest_opaque;
};

struct pci_msix {
    pthread_mutex_t lock;
    const struct dev_ctx *ctx; /* NULL until pci_bus_add */
    const char *name;
    unsigned nvec, cap;
    uint32_t table_off, pba_off;
    struct msix_win win[2]; /* the table's BAR; the PBA's, if another */
    bool enabled, fmask;    /* copies of Message Control, under lock */
    struct msix_vec *v;
    uint64_t *pba;
    struct pci_msix *next; /* the bus's list, for pci_bus_free */
    /* pci_msix_set_watch's, called under lock */
    void (*watch)(void *opaque, unsigned vector, int irqfd);
    void *watch_opaque;
};

static struct log_budget msix_rl = LOG_BUDGET_INIT(5, 5000);

static uint64_t vec_addr(const struct msix_vec *v)
{
    return le_get(v->e + 0, 8);
}

static uint32_t vec_data(const struct msix_vec *v)
{
    return (uint32_t)le_get(v->e + 8, 4);
}

static bool vec_masked(const struct pci_msix *m, const struct msix_vec *v)
{
    return !m->enabled || m->fmask || (v->e[12] & 1);
}

static size_t pba_bytes(unsigned nvec)
{
    return 8 * (((size_t)nvec + 63) / 64);
}

/* Point the vector's GSI at its message. Caller holds m->lock. */
static void vec_route(struct pci_msix *m, struct msix_vec *v)
{
    if (v->efd < 0 || v->routed)
        return;
    int e = m->ctx->msi_route_set(m->ctx->opaque, v->gsi, true, vec_addr(v),
                                  vec_data(v));
    if (e < 0) {
        log_guest(&msix_rl, LOG_WARN, TAG,
                  "%s: MSI route 0x%llx/0x%x (GSI %d): %s", m->name,
                  (unsigned long long)vec_addr(v), vec_data(v), v->gsi,
                  strerror(-e));
        return;
    }
    v->routed = true;
}

/* Send vector i now. Caller holds m->lock. */
static void vec_deliver(struct pci_msix *m, unsigned i)
{
    struct msix_vec *v = &m->v[i];
    if (!m->ctx)
        return;
    vec_route(m, v);
    if (v->routed) {
        uint64_t one = 1;
        if (write(v->efd, &one, sizeof(one)) == (ssize_t)sizeof(one))
            return;
    }
    if (!m->ctx->msi_send)
        return;
    int e = m->ctx->msi_send(m->ctx->opaque, vec_addr(v), vec_data(v));
    if (e < 0)
        log_guest(&msix_rl, LOG_WARN, TAG,
                  "%s: MSI-X vector %u (0x%llx/0x%x) not delivered: %s",
                  m->name, i, (unsigned long long)vec_addr(v), vec_data(v),
                  strerror(-e));
}

/* Tell the watch where vector i's interrupts may go straight: its irqfd
 * while it is unmasked and routed, else -1. Caller holds m->lock. */
static void vec_watch(struct pci_msix *m, unsigned i)
{
    struct msix_vec *v = &m->v[i];
    int want = !vec_masked(m, v) && v->routed ? v->efd : -1;
    if (!m->watch || want == v->watched)
        return;
    v->watched = want;
    m->watch(m->watch_opaque, i, want);
}

/* After a change to vector i or to the function's bits: route it and send
 * what is pending once it is unmasked. Caller holds m->lock. */
static void vec_update(struct pci_msix *m, unsigned i)
{
    struct msix_vec *v = &m->v[i];
    if (!vec_masked(m, v)) {
        vec_route(m, v);
        uint64_t bit = 1ull << (i % 64);
        if (m->pba[i / 64] & bit) {
            m->pba[i / 64] &= ~bit;
            vec_deliver(m, i);
        }
    }
    vec_watch(m, i);
}

static bool in_table(const struct msix_win *w, uint64_t o)
{
    const struct pci_msix *m = w->m;
    return w->table && o >= m->table_off && o - m->table_off < 16ull * m->nvec;
}

static bool in_pba(const struct msix_win *w, uint64_t o)
{
    const struct pci_msix *m = w->m;
    return w->pba && o >= m->pba_off && o - m->pba_off < pba_bytes(m->nvec);
}

static uint8_t msix_byte(const struct msix_win *w, uint64_t o)
{
    const struct pci_msix *m = w->m;
    if (in_table(w, o)) {
        uint64_t t = o - m->table_off;
        return m->v[t / 16].e[t % 16];
    }
    if (in_pba(w, o)) {
        uint64_t t = o - m->pba_off;
        return (uint8_t)(m->pba[t / 8] >> (8 * (t % 8)));
    }
    return 0;
}

/* rest_only: [off, off+size) touches neither the table nor the PBA
 * (table_off, pba_off and nvec do not change after pci_msix_init). */
static bool rest_only(const struct msix_win *w, uint64_t off, unsigned size)
{
    const struct pci_msix *m = w->m;
    uint64_t tlen = 16ull * m->nvec, plen = pba_bytes(m->nvec);
    return !(w->table && off < m->table_off + tlen &&
             m->table_off < off + size) &&
           !(w->pba && off < m->pba_off + plen && m->pba_off < off + size);
}

static uint64_t msix_read(void *opaque, uint64_t off, unsigned size)
{
    const struct msix_win *w = opaque;
    struct pci_msix *m = w->m;
    uint64_t v = 0;
    if (size > 8)
        size = 8;
    if (rest_only(w, off, size))
        return w->rest_ops ? w->rest_ops->read(w->rest_opaque, off, size) : 0;
    /* Straddling the table or PBA: those bytes are ours, the others go
     * to the BAR's registers one by one (outside the lock: they may
     * block). */
    for (unsigned i = 0; i < size; i++)
        if (w->rest_ops && !in_table(w, off + i) && !in_pba(w, off + i))
            v |= (w->rest_ops->read(w->rest_opaque, off + i, 1) & 0xff)
                 << (8 * i);
    pthread_mutex_lock(&m->lock);
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)msix_byte(w, off + i) << (8 * i);
    pthread_mutex_unlock(&m->lock);
    return v;
}

/* Writable bits of a table entry: the address is dword aligned, vector
 * control has only its mask bit. */
static const uint8_t entry_wmask[16] = {0xfc, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0x01, 0x00, 0x00, 0x00};

static void msix_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    const struct msix_win *w = opaque;
    struct pci_msix *m = w->m;
    unsigned touched[8], nt = 0;
    if (size > 8)
        size = 8;
    if (rest_only(w, off, size)) {
        if (w->rest_ops)
            w->rest_ops->write(w->rest_opaque, off, val, size);
        return;
    }
    for (unsigned i = 0; i < size; i++)
        if (w->rest_ops && !in_table(w, off + i) && !in_pba(w, off + i))
            w->rest_ops->write(w->rest_opaque, off + i, (val >> (8 * i)) & 0xff,
                               1);
    pthread_mutex_lock(&m->lock);
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = off + i;
        if (!in_table(w, o))
            continue; /* the PBA is read-only, the rest the BAR's */
        uint64_t t = o - m->table_off;
        unsigned k = (unsigned)(t / 16), b = (unsigned)(t % 16);
        struct msix_vec *v = &m->v[k];
        uint8_t nb = (uint8_t)((v->e[b] & ~entry_wmask[b]) |
                               ((val >> (8 * i)) & entry_wmask[b]));
        if (nb == v->e[b])
            continue;
        v->e[b] = nb;
        if (b < 12)
            v->routed = false;
        if (!nt || touched[nt - 1] != k)
            touched[nt++] = k;
    }
    for (unsigned j = 0; j < nt; j++)
        vec_update(m, touched[j]);
    pthread_mutex_unlock(&m->lock);
}

static const struct region_ops msix_ops = {msix_read, msix_write};

void msix_cfg_written(struct pci_function *f, unsigned reg, unsigned size)
{
    struct pci_msix *m = f->msix;
    if (!m || !(reg < m->cap + 4 && m->cap + 2 < reg + size))
        return; /* Message Control is at cap + 2, 2 bytes */
    uint16_t ctl = (uint16_t)le_get(f->cfg + m->cap + 2, 2);
    pthread_mutex_lock(&m->lock);
    m->enabled = ctl & PCI_MSIX_ENABLE;
    m->fmask = ctl & PCI_MSIX_FMASK;
    for (unsigned i = 0; i < m->nvec; i++)
        vec_update(m, i);
    pthread_mutex_unlock(&m->lock);
}

int pci_msix_init(struct pci_function *f, unsigned bar, uint32_t table_off,
                  uint32_t pba_off, unsigned nvec)
{
    return pci_msix_init2(f, bar, table_off, bar, pba_off, nvec);
}

static bool mem_bar(const struct pci_function *f, unsigned bar)
{
    return bar < 6 &&
           (f->bars[bar].kind == BAR_MEM32 || f->bars[bar].kind == BAR_MEM64);
}

int pci_msix_init2(struct pci_function *f, unsigned tbar, uint32_t table_off,
                   unsigned pbar, uint32_t pba_off, unsigned nvec)
{
    const char *name = f->name ? f->name : "pci";
    uint64_t tlen = 16ull * nvec, plen = pba_bytes(nvec);
    if (f->msix) {
        log_error(TAG, "%s: MSI-X set up twice", name);
        return -EEXIST;
    }
    if (!mem_bar(f, tbar) || !mem_bar(f, pbar) || nvec == 0 ||
        nvec > PCI_MSIX_MAX || (table_off | pba_off) & 7 ||
        !range_within(table_off, tlen, f->bars[tbar].size) ||
        !range_within(pba_off, plen, f->bars[pbar].size) ||
        (tbar == pbar && table_off < pba_off + plen &&
         pba_off < table_off + tlen)) {
        log_error(TAG,
                  "%s: bad MSI-X layout (%u vectors, table 0x%x in BAR%u, "
                  "PBA 0x%x in BAR%u)",
                  name, nvec, table_off, tbar, pba_off, pbar);
        return -EINVAL;
    }
    struct pci_msix *m = calloc(1, sizeof(*m));
    if (m) {
        m->v = calloc(nvec, sizeof(*m->v));
        m->pba = calloc(plen / 8, sizeof(*m->pba));
    }
    if (!m || !m->v || !m->pba) {
        if (m)
            free(m->v), free(m->pba);
        free(m);
        log_error(TAG, "%s: out of memory", name);
        return -ENOMEM;
    }
    uint8_t cap[12] = {0};
    le_put(cap + 2, nvec - 1, 2);
    le_put(cap + 4, table_off | tbar, 4);
    le_put(cap + 8, pba_off | pbar, 4);
    int off = pci_function_add_cap(f, PCI_CAP_ID_MSIX, cap, sizeof(cap));
    if (off < 0) {
        free(m->v), free(m->pba), free(m);
        log_error(TAG, "%s: no room for the MSI-X capability", name);
        return off;
    }
    f->wmask[off + 3] = (PCI_MSIX_ENABLE | PCI_MSIX_FMASK) >> 8;
    pthread_mutex_init(&m->lock, NULL);
    m->name = name;
    m->nvec = nvec;
    m->cap = (unsigned)off;
    m->table_off = table_off;
    m->pba_off = pba_off;
    for (unsigned i = 0; i < nvec; i++) {
        m->v[i].e[12] = 1; /* masked */
        m->v[i].gsi = m->v[i].efd = m->v[i].watched = -1;
    }
    unsigned bars[2] = {tbar, pbar};
    for (unsigned k = 0; k < (tbar == pbar ? 1u : 2u); k++) {
        struct msix_win *w = &m->win[k];
        *w = (struct msix_win){.m = m,
                               .table = bars[k] == tbar,
                               .pba = bars[k] == pbar,
                               .rest_ops = f->bar_ops[bars[k]],
                               .rest_opaque = f->bar_opaque[bars[k]]};
        f->bar_ops[bars[k]] = &msix_ops;
        f->bar_opaque[bars[k]] = w;
    }
    f->msix = m;
    return 0;
}

void msix_fast_paths(struct pci_msix *m)
{
    const struct dev_ctx *c = m->ctx;
    if (!c->msi_route_alloc || !c->msi_route_set || !c->irqfd)
        return;
    for (unsigned i = 0; i < m->nvec; i++) {
        int gsi = c->msi_route_alloc(c->opaque);
        if (gsi < 0) {
            if (gsi != -ENOSYS)
                log_warn(TAG,
                         "%s: no MSI route for vector %u (%s); using "
                         "KVM_SIGNAL_MSI",
                         m->name, i, strerror(-gsi));
            return;
        }
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0) {
            log_warn(TAG, "%s: eventfd: %s", m->name, strerror(errno));
            return;
        }
        int e = c->irqfd(c->opaque, gsi, fd, true);
        if (e < 0) {
            close(fd);
            if (e != -ENOSYS)
                log_warn(TAG, "%s: irqfd for GSI %d: %s", m->name, gsi,
                         strerror(-e));
            return;
        }
        pthread_mutex_lock(&m->lock);
        m->v[i].gsi = gsi;
        m->v[i].efd = fd;
        pthread_mutex_unlock(&m->lock);
    }
}

void msix_free(struct pci_msix *m)
{
    for (unsigned i = 0; i < m->nvec; i++) {
        struct msix_vec *v = &m->v[i];
        if (v->efd < 0)
            continue;
        (void)m->ctx->irqfd(m->ctx->opaque, v->gsi, v->efd, false);
        close(v->efd);
    }
    pthread_mutex_destroy(&m->lock);
    free(m->v);
    free(m->pba);
    free(m);
}

bool pci_msix_enabled(struct pci_function *f)
{
    struct pci_msix *m = f->msix;
    if (!m)
        return false;
    pthread_mutex_lock(&m->lock);
    bool on = m->enabled;
    pthread_mutex_unlock(&m->lock);
    return on;
}

void pci_msix_set_watch(struct pci_function *f,
                        void (*watch)(void *opaque, unsigned vector, int irqfd),
                        void *opaque)
{
    struct pci_msix *m = f->msix;
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->watch = watch;
    m->watch_opaque = opaque;
    pthread_mutex_unlock(&m->lock);
}

bool pci_msix_notify(struct pci_function *f, unsigned vector)
{
    struct pci_msix *m = f->msix;
    if (!m)
        return false;
    pthread_mutex_lock(&m->lock);
    bool ok = m->enabled && vector < m->nvec;
    if (ok && vec_masked(m, &m->v[vector]))
        m->pba[vector / 64] |= 1ull << (vector % 64);
    else if (ok)
        vec_deliver(m, vector);
    pthread_mutex_unlock(&m->lock);
    return ok;
}

void msix_list_add(struct pci_msix *m, const struct dev_ctx *ctx,
                   struct pci_msix **list)
{
    m->ctx = ctx;
    m->next = *list;
    *list = m;
}

void msix_list_remove(struct pci_msix *m, struct pci_msix **list)
{
    for (struct pci_msix **p = list; *p; p = &(*p)->next)
        if (*p == m) {
            *p = m->next;
            break;
        }
}

void msix_free_list(struct pci_msix **list)
{
    while (*list) {
        struct pci_msix *m = *list;
        *list = m->next;
        msix_free(m);
    }
}

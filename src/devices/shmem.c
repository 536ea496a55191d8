/*
 * shmem.c: the guest_shm register model (shmem.h, docs/shmem.md).
 *
 * Factory page: the guest writes a name, then a size in pages: the region
 * is created or attached (shm_host_ops.open) into the next free slot of the
 * region window, a client index is claimed in the region's shared header,
 * and `shmem` gives the slot's control page (the data follows 4 KiB on).
 * Control page k is trapped MMIO at win_gpa + k * SHM_SLOT_SIZE; the rest
 * of the slot is guest RAM (a KVM memory slot) where the region is mapped.
 *
 * Status reads are clear-on-read: reading a control page's status returns
 * the pending notifiers (low 16 bits, then cleared) and the attached
 * clients (high 16 bits) and acknowledges the slot's interrupt.
 */
#include "devices/shmem.h"

#include <fnmatch.h>
#include <string.h>

#include "util/ckd.h"
#include "util/log.h"

#define TAG "shmem"

static uint32_t attached_mask(const struct shm_hdr *h)
{
    uint32_t m = 0;
    for (unsigned i = 0; i < SHM_MAX_CLIENTS; i++)
        if (atomic_load(&h->owner[i]))
            m |= 1u << i;
    return m;
}

/* A change of client i's status: its waiter wakes. */
static void bump(struct shmem *sh, struct shm_hdr *h, unsigned i)
{
    atomic_fetch_add(&h->seq[i], 1);
    sh->ops->wake(sh->host, &h->seq[i]);
}

static void bump_others(struct shmem *sh, struct shm_hdr *h, unsigned me)
{
    for (unsigned i = 0; i < SHM_MAX_CLIENTS; i++)
        if (i != me && atomic_load(&h->owner[i]))
            bump(sh, h, i);
}

/* Free the slot of a client whose qvm is gone (killed: it never
 * detached). True when it was reclaimed. */
static bool reclaim(struct shmem *sh, struct shm_hdr *h, unsigned i)
{
    uint32_t pid = atomic_load(&h->owner[i]);
    if (!pid || pid == sh->ops->self || sh->ops->alive(sh->host, pid))
        return false;
    if (!atomic_compare_exchange_strong(&h->owner[i], &pid, 0))
        return false;
    atomic_store(&h->pending[i], 0);
    LOG_RATELIMITED(LOG_INFO, TAG,
                    "%s: client %u (pid %u) is gone; its slot is free",
                    sh->label, i, (unsigned)pid);
    bump_others(sh, h, i);
    return true;
}

/* The line follows the slots' event flags (irq_lock: the waiters set
 * them without the device lock, which detach holds while it stops them). */
static void update_irq(struct shmem *sh)
{
    pthread_mutex_lock(&sh->irq_lock);
    bool level = false;
    for (unsigned k = 0; k < SHM_SLOTS; k++)
        level |= atomic_load(&sh->slots[k].event);
    if (level != sh->level) {
        sh->level = level;
        sh->irq(sh->irq_opaque, level);
    }
    pthread_mutex_unlock(&sh->irq_lock);
}

bool shmem_name_ok(const char *name)
{
    size_t n = strnlen(name, SHM_MAX_NAME);
    if (n == 0 || n >= SHM_MAX_NAME || name[0] == '.')
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == n;
}

bool shmem_policy_permits(const struct shm_policy *p, const char *name)
{
    for (unsigned i = 0; i < p->n; i++)
        if (fnmatch(p->pats[i], name, 0) == 0)
            return p->allow;
    return !p->allow || p->n == 0;
}

static uint64_t ctl_gpa(const struct shmem *sh, unsigned k)
{
    return sh->win_gpa + k * SHM_SLOT_SIZE;
}

static void *data_host(const struct shmem *sh, unsigned k)
{
    return sh->win_host + k * SHM_SLOT_SIZE + SHM_PAGE;
}

static void detach(struct shmem *sh, unsigned k)
{
    struct shm_slot *s = &sh->slots[k];
    if (!s->used)
        return;
    struct shm_hdr *h = s->hdr;
    sh->ops->unwatch(sh->host, s->watch, h, s->idx);
    uint32_t me = sh->ops->self;
    atomic_store(&h->pending[s->idx], 0);
    if (atomic_compare_exchange_strong(&h->owner[s->idx], &me, 0))
        bump_others(sh, h, s->idx);
    sh->ops->close(sh->host, s->handle, data_host(sh, k), s->size);
    LOG_RATELIMITED(LOG_INFO, TAG, "%s: region '%s' detached (client %u)",
                    sh->label, s->name, s->idx);
    s->used = false;
    s->hdr = NULL;
    atomic_store(&s->event, false);
    update_irq(sh);
}

/* Create or attach the factory page's name with `pages` pages of data. */
static uint32_t attach(struct shmem *sh, uint32_t pages)
{
    char name[SHM_MAX_NAME];
    memcpy(name, sh->name, sizeof(name));
    if (!memchr(name, 0, sizeof(name)) || !shmem_name_ok(name)) {
        LOG_RATELIMITED(LOG_WARN, TAG, "%s: illegal region name", sh->label);
        return GSS_ILLEGAL_NAME;
    }
    if (!shmem_policy_permits(&sh->policy, name)) {
        LOG_RATELIMITED(LOG_WARN, TAG, "%s: region '%s' is not allowed here",
                        sh->label, name);
        return GSS_NO_PERMISSION;
    }
    uint64_t size;
    if (pages == 0 || ckd_mul(&size, (uint64_t)pages, SHM_PAGE) ||
        !range_within(SHM_PAGE, size, SHM_SLOT_SIZE)) {
        LOG_RATELIMITED(
            LOG_WARN, TAG,
            "%s: region '%s': %u pages (at most %llu per "
            "region)",
            sh->label, name, (unsigned)pages,
            (unsigned long long)((SHM_SLOT_SIZE - SHM_PAGE) / SHM_PAGE));
        return GSS_NOMEM;
    }
    unsigned k, free_k = SHM_SLOTS;
    for (k = 0; k < SHM_SLOTS; k++) {
        if (sh->slots[k].used && strcmp(sh->slots[k].name, name) == 0) {
            if (size > sh->slots[k].size)
                return GSS_NOMEM;
            sh->shmem = ctl_gpa(sh, k);
            return GSS_OK; /* already attached here */
        }
        if (!sh->slots[k].used && free_k == SHM_SLOTS)
            free_k = k;
    }
    if (free_k == SHM_SLOTS) {
        LOG_RATELIMITED(LOG_WARN, TAG,
                        "%s: region '%s': %u regions attached "
                        "already",
                        sh->label, name, SHM_SLOTS);
        return GSS_NOMEM;
    }
    k = free_k;
    struct shm_slot *s = &sh->slots[k];
    struct shm_hdr *h = NULL;
    void *handle = NULL;
    int st = sh->ops->open(sh->host, name, size, data_host(sh, k), &h, &handle);
    if (st != GSS_OK)
        return (uint32_t)st;
    /* Dead clients first (a restarted peer takes its old index back). */
    for (unsigned i = 0; i < SHM_MAX_CLIENTS; i++)
        reclaim(sh, h, i);
    unsigned idx = SHM_MAX_CLIENTS;
    for (unsigned i = 0; i < SHM_MAX_CLIENTS && idx == SHM_MAX_CLIENTS; i++) {
        uint32_t zero = 0;
        if (atomic_compare_exchange_strong(&h->owner[i], &zero, sh->ops->self))
            idx = i;
    }
    if (idx == SHM_MAX_CLIENTS) {
        sh->ops->close(sh->host, handle, data_host(sh, k), size);
        LOG_RATELIMITED(LOG_WARN, TAG, "%s: region '%s' has %u clients already",
                        sh->label, name, SHM_MAX_CLIENTS);
        return GSS_CLIENT_MAX;
    }
    s->used = true;
    s->hdr = h;
    s->handle = handle;
    s->idx = idx;
    s->size = size;
    atomic_store(&s->event, false);
    memcpy(s->name, name, sizeof(name));
    if (sh->ops->watch(sh->host, sh, k, h, idx, &s->watch) < 0) {
        atomic_store(&h->owner[idx], 0);
        sh->ops->close(sh->host, handle, data_host(sh, k), size);
        s->used = false;
        return GSS_UNKNOWN_FAILURE;
    }
    /* A peer may have notified us between the claim and the watch. */
    if (atomic_load(&h->pending[idx])) {
        atomic_store(&s->event, true);
        update_irq(sh);
    }
    bump_others(sh, h, idx);
    sh->shmem = ctl_gpa(sh, k);
    LOG_RATELIMITED(
        LOG_INFO, TAG,
        "%s: region '%s' (%llu KiB) attached as client %u at 0x%llx", sh->label,
        name, (unsigned long long)(size >> 10), idx,
        (unsigned long long)sh->shmem);
    return GSS_OK;
}

static uint32_t find(struct shmem *sh, uint32_t n)
{
    unsigned seen = 0;
    for (unsigned k = 0; k < SHM_SLOTS; k++)
        if (sh->slots[k].used && seen++ == n) {
            sh->shmem = ctl_gpa(sh, k);
            memcpy(sh->name, sh->slots[k].name, SHM_MAX_NAME);
            return GSS_OK;
        }
    return GSS_DOES_NOT_EXIST;
}

/* Little-endian bytes [off, off+size) of a register image. */
static uint64_t bytes_of(const void *img, size_t len, uint64_t off,
                         unsigned size)
{
    uint64_t v = 0;
    if (!range_within(off, size, len))
        return 0;
    memcpy(&v, (const uint8_t *)img + off, size); /* x86: little-endian */
    return v;
}

static uint64_t factory_read(void *opaque, uint64_t off, unsigned size)
{
    struct shmem *sh = opaque;
    uint8_t img[SHM_F_FIND + 4] = {0};
    pthread_mutex_lock(&sh->lock);
    uint64_t sig = SHM_SIGNATURE;
    memcpy(img + SHM_F_SIGNATURE, &sig, 8);
    memcpy(img + SHM_F_SHMEM, &sh->shmem, 8);
    memcpy(img + SHM_F_VECTOR, &sh->vector, 4);
    memcpy(img + SHM_F_STATUS, &sh->status, 4);
    memcpy(img + SHM_F_NAME, sh->name, SHM_MAX_NAME);
    pthread_mutex_unlock(&sh->lock);
    return bytes_of(img, sizeof(img), off, size);
}

static void factory_write(void *opaque, uint64_t off, uint64_t val,
                          unsigned size)
{
    struct shmem *sh = opaque;
    pthread_mutex_lock(&sh->lock);
    if (range_within(off - SHM_F_NAME, size, SHM_MAX_NAME) &&
        off >= SHM_F_NAME) {
        memcpy(sh->name + (off - SHM_F_NAME), &val, size);
    } else if (off == SHM_F_SIZE && size == 4) {
        sh->status = attach(sh, (uint32_t)val);
    } else if (off == SHM_F_FIND && size == 4) {
        sh->status = find(sh, (uint32_t)val);
    } else {
        LOG_RATELIMITED(LOG_WARN, TAG,
                        "%s: write of %u bytes at factory 0x%llx "
                        "ignored",
                        sh->label, size, (unsigned long long)off);
    }
    pthread_mutex_unlock(&sh->lock);
}

const struct region_ops shmem_factory_ops = {factory_read, factory_write};

/* The control page of slot k, or -1 (a data access that exited: none with
 * a memory slot in place, or outside every slot). */
static int ctl_slot(uint64_t off, uint64_t *reg)
{
    uint64_t k = off / SHM_SLOT_SIZE;
    *reg = off % SHM_SLOT_SIZE;
    if (k >= SHM_SLOTS || *reg >= SHM_PAGE)
        return -1;
    return (int)k;
}

static uint64_t ctl_read(void *opaque, uint64_t off, unsigned size)
{
    struct shmem *sh = opaque;
    uint64_t reg;
    int k = ctl_slot(off, &reg);
    uint64_t v = 0;
    pthread_mutex_lock(&sh->lock);
    struct shm_slot *s = k >= 0 ? &sh->slots[k] : NULL;
    if (!s || !s->used || size != 4) {
        LOG_RATELIMITED(LOG_WARN, TAG,
                        "%s: read of %u bytes at region window "
                        "0x%llx ignored (no region or not a register)",
                        sh->label, size, (unsigned long long)off);
    } else if (reg == SHM_C_STATUS) {
        uint32_t pend = atomic_exchange(&s->hdr->pending[s->idx], 0);
        v = (pend & 0xffff) | attached_mask(s->hdr) << 16;
        atomic_store(&s->event, false);
        update_irq(sh);
    } else if (reg == SHM_C_IDX) {
        v = s->idx;
    }
    pthread_mutex_unlock(&sh->lock);
    return v;
}

static void ctl_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct shmem *sh = opaque;
    uint64_t reg;
    int k = ctl_slot(off, &reg);
    pthread_mutex_lock(&sh->lock);
    struct shm_slot *s = k >= 0 ? &sh->slots[k] : NULL;
    if (!s || !s->used || size != 4 ||
        (reg != SHM_C_NOTIFY && reg != SHM_C_DETACH)) {
        LOG_RATELIMITED(LOG_WARN, TAG,
                        "%s: write of %u bytes at region window "
                        "0x%llx ignored (no region or not a register)",
                        sh->label, size, (unsigned long long)off);
    } else if (reg == SHM_C_DETACH) {
        detach(sh, (unsigned)k);
    } else {
        struct shm_hdr *h = s->hdr;
        uint32_t mask = (uint32_t)val & 0xffff;
        for (unsigned i = 0; i < SHM_MAX_CLIENTS; i++) {
            if (!(mask & (1u << i)) || !atomic_load(&h->owner[i]) ||
                reclaim(sh, h, i))
                continue;
            atomic_fetch_or(&h->pending[i], 1u << s->idx);
            bump(sh, h, i);
        }
    }
    pthread_mutex_unlock(&sh->lock);
}

const struct region_ops shmem_ctl_ops = {ctl_read, ctl_write};

void shmem_event(struct shmem *sh, unsigned slot)
{
    if (slot >= SHM_SLOTS)
        return;
    atomic_store(&sh->slots[slot].event, true);
    update_irq(sh);
}

void shmem_init(struct shmem *sh, const char *label, uint64_t win_gpa,
                uint8_t *win_host, uint32_t vector,
                const struct shm_host_ops *ops, void *host, shm_irq_fn irq,
                void *irq_opaque)
{
    *sh = (struct shmem){.win_gpa = win_gpa,
                         .win_host = win_host,
                         .vector = vector,
                         .ops = ops,
                         .host = host,
                         .irq = irq,
                         .irq_opaque = irq_opaque,
                         .label = label,
                         .status = GSS_DOES_NOT_EXIST};
    pthread_mutex_init(&sh->lock, NULL);
    pthread_mutex_init(&sh->irq_lock, NULL);
}

void shmem_fini(struct shmem *sh)
{
    pthread_mutex_lock(&sh->lock);
    for (unsigned k = 0; k < SHM_SLOTS; k++)
        detach(sh, k);
    pthread_mutex_unlock(&sh->lock);
    pthread_mutex_destroy(&sh->lock);
    pthread_mutex_destroy(&sh->irq_lock);
}

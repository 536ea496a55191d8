/*
 * bus.c: sorted region table with binary search (see bus.h).
 */
#include "vm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/ckd.h"

void bus_init(struct bus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
    pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
    VEC_FREE(&bus->regions);
    pthread_rwlock_destroy(&bus->lock);
}

int bus_map(struct bus *bus, const char *name, uint64_t base, uint64_t len,
            const struct region_ops *ops, void *opaque)
{
    uint64_t last;
    if (!range_last(base, len, &last) || !ops)
        return -EINVAL;
    int rc = 0;
    pthread_rwlock_wrlock(&bus->lock);
    size_t i = 0;
    while (i < bus->regions.n && bus->regions.v[i].base < base)
        i++;
    const struct bus_region *prev = i ? &bus->regions.v[i - 1] : NULL;
    const struct bus_region *next =
        i < bus->regions.n ? &bus->regions.v[i] : NULL;
    if ((prev && ranges_overlap(base, len, prev->base, prev->len)) ||
        (next && ranges_overlap(base, len, next->base, next->len))) {
        rc = -EEXIST;
    } else if (!VEC_PUSH(&bus->regions)) {
        rc = -ENOMEM;
    } else {
        memmove(&bus->regions.v[i + 1], &bus->regions.v[i],
                (bus->regions.n - 1 - i) * sizeof(bus->regions.v[0]));
        bus->regions.v[i] = (struct bus_region){base, len, name, ops, opaque};
    }
    pthread_rwlock_unlock(&bus->lock);
    return rc;
}

int bus_unmap(struct bus *bus, uint64_t base)
{
    int rc = -ENOENT;
    pthread_rwlock_wrlock(&bus->lock);
    for (size_t i = 0; i < bus->regions.n; i++) {
        if (bus->regions.v[i].base != base)
            continue;
        memmove(&bus->regions.v[i], &bus->regions.v[i + 1],
                (bus->regions.n - 1 - i) * sizeof(bus->regions.v[0]));
        bus->regions.n--;
        rc = 0;
        break;
    }
    pthread_rwlock_unlock(&bus->lock);
    return rc;
}

/* Caller holds the lock. */
static const struct bus_region *lookup(const struct bus *bus, uint64_t addr)
{
    size_t lo = 0, hi = bus->regions.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bus->regions.v[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct bus_region *r = &bus->regions.v[lo - 1];
    return addr - r->base < r->len ? r : NULL;
}

const char *bus_find(struct bus *bus, uint64_t addr)
{
    pthread_rwlock_rdlock(&bus->lock);
    const struct bus_region *r = lookup(bus, addr);
    const char *n = r ? r->name : NULL;
    pthread_rwlock_unlock(&bus->lock);
    return n;
}

/* The deferred calls of the access running on this thread. */
struct deferred {
    unsigned depth, n;
    struct {
        void (*fn)(void *arg);
        void *arg;
    } q[BUS_DEFER_MAX];
};
static _Thread_local struct deferred tl_defer;

int bus_defer(void (*fn)(void *arg), void *arg)
{
    struct deferred *d = &tl_defer;
    if (!d->depth || !fn)
        return -EINVAL;
    for (unsigned i = 0; i < d->n; i++)
        if (d->q[i].fn == fn && d->q[i].arg == arg)
            return 0; /* once is enough */
    if (d->n == BUS_DEFER_MAX)
        return -ENOSPC;
    d->q[d->n].fn = fn;
    d->q[d->n].arg = arg;
    d->n++;
    return 0;
}

static enum bus_result access_locked(struct bus *bus, uint64_t addr, void *data,
                                     unsigned size, bool is_write);

enum bus_result bus_access(struct bus *bus, uint64_t addr, void *data,
                           unsigned size, bool is_write)
{
    struct deferred *d = &tl_defer;
    d->depth++;
    enum bus_result r = access_locked(bus, addr, data, size, is_write);
    if (--d->depth == 0) {
        /* Calls may defer more only through a nested bus_access. */
        for (unsigned i = 0; i < d->n; i++)
            d->q[i].fn(d->q[i].arg);
        d->n = 0;
    }
    return r;
}

static enum bus_result access_locked(struct bus *bus, uint64_t addr, void *data,
                                     unsigned size, bool is_write)
{
    if (size == 0 || size > 8) {
        return BUS_UNMAPPED;
    }
    pthread_rwlock_rdlock(&bus->lock);
    const struct bus_region *r = lookup(bus, addr);
    uint64_t off = r ? addr - r->base : 0;
    if (!r || size > r->len - off) {
        pthread_rwlock_unlock(&bus->lock);
        if (!is_write)
            memset(data, 0xff, size);
        return BUS_UNMAPPED;
    }
    if (is_write) {
        uint64_t v = 0;
        memcpy(&v, data, size); /* x86 and arm64 hosts are little-endian */
        if (r->ops->write)
            r->ops->write(r->opaque, off, v, size);
    } else {
        uint64_t v =
            r->ops->read ? r->ops->read(r->opaque, off, size) : UINT64_MAX;
        memcpy(data, &v, size);
    }
    pthread_rwlock_unlock(&bus->lock);
    return BUS_OK;
}

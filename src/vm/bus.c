/*
 * bus.c: the bus (see bus.h): published snapshots of the sorted region
 * table, read without a lock, and the grace period that reclaims them.
 *
 * Readers. Each thread that calls bus_access gets a reader record on its
 * first access (a heap record on a process-wide list that only grows;
 * a thread's record is recycled when it ends, so the list is as long as
 * the most threads that ever read at once). Entering the outermost
 * access stores an odd value to the record's sequence, leaving it the
 * next even value. The entering store and the load of the bus's snapshot
 * are sequentially consistent, and so are the writer's exchange of the
 * snapshot and its loads of the sequences: in their single total order
 * either the reader's load comes after the exchange (it sees the new
 * snapshot) or the writer's load comes after the reader's store (it sees
 * the odd value and waits for the leaving store, a release that orders
 * every use of the old snapshot before the free). Only the reader's own
 * cache line is written: no line is shared by all vCPUs.
 *
 * Last-hit cache: each thread keeps, per bus slot, the region its last
 * access hit and the generation of the snapshot it came from; an access
 * to the same region of the same snapshot skips the binary search.
 */
#include "vm/bus.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "util/ckd.h"
#include "util/log.h"

#define TAG "bus"

#define HIT_SLOTS 4 /* buses with their own last-hit entry (pio, mmio) */

struct bus_reader {
    atomic_ulong seq; /* odd: inside an access */
    atomic_bool used; /* owned by a live thread */
    struct bus_reader *next;
};

/* The thread's state: its record, the access nesting, the deferred
 * calls of the access running on it, the last-hit cache. */
struct reader_tls {
    struct bus_reader *rec;
    unsigned long seq; /* the record's sequence, as last stored */
    unsigned depth, n;
    struct {
        void (*fn)(void *arg);
        void *arg;
    } q[BUS_DEFER_MAX];
    struct {
        uint64_t gen;
        const struct bus_region *r;
    } hit[HIT_SLOTS];
};
static _Thread_local struct reader_tls tl;

static _Atomic(struct bus_reader *) readers;
static atomic_uint_fast64_t next_gen = 1;
static atomic_uint next_slot;
static pthread_key_t reader_key;
static pthread_once_t reader_once = PTHREAD_ONCE_INIT;

/* Thread exit: the record goes back to the pool (its sequence is even:
 * a thread ends outside any access). */
static void reader_release(void *p)
{
    struct bus_reader *rec = p;
    atomic_store_explicit(&rec->used, false, memory_order_release);
}

static void reader_key_init(void)
{
    if (pthread_key_create(&reader_key, reader_release) != 0)
        log_error(TAG, "no thread key: reader records are not recycled");
}

static struct bus_reader *reader_register(void)
{
    struct bus_reader *rec;
    for (rec = atomic_load(&readers); rec; rec = rec->next) {
        bool f = false;
        if (atomic_compare_exchange_strong(&rec->used, &f, true))
            break;
    }
    if (!rec) {
        rec = calloc(1, sizeof(*rec));
        if (!rec)
            return NULL;
        atomic_init(&rec->used, true);
        rec->next = atomic_load(&readers);
        while (!atomic_compare_exchange_weak(&readers, &rec->next, rec))
            ;
    }
    pthread_once(&reader_once, reader_key_init);
    (void)pthread_setspecific(reader_key, rec);
    tl.seq = atomic_load_explicit(&rec->seq, memory_order_relaxed);
    tl.rec = rec;
    return rec;
}

/*
 * The grace period: wait until every reader that is inside an access now
 * has left it. The calling thread's own record is skipped (a writer is
 * never inside an access, bus.h; skipping it turns a misuse into no
 * deadlock). Waits spin a little, then yield the CPU (sched_yield is in
 * every thread kind's filter): a reader inside an access is running a
 * device op, microseconds.
 */
static void synchronize(void)
{
    const struct bus_reader *self = tl.rec;
    for (struct bus_reader *rec = atomic_load(&readers); rec; rec = rec->next) {
        if (rec == self)
            continue;
        unsigned long s = atomic_load(&rec->seq);
        if (!(s & 1))
            continue;
        for (unsigned spin = 0;
             atomic_load_explicit(&rec->seq, memory_order_acquire) == s; spin++)
            if (spin >= 64)
                sched_yield();
    }
}

static struct bus_snap *snap_new(size_t n, const struct bus_region *v)
{
    size_t bytes;
    if (ckd_mul(&bytes, n, sizeof(*v)) ||
        ckd_add(&bytes, bytes, sizeof(struct bus_snap)))
        return NULL;
    struct bus_snap *s = malloc(bytes);
    if (!s)
        return NULL;
    s->gen = atomic_fetch_add(&next_gen, 1);
    s->n = n;
    if (n)
        memcpy(s->v, v, n * sizeof(*v));
    return s;
}

/* Publish the writers' copy (caller holds the lock), wait for the readers
 * of the old snapshot, free it. */
static int publish(struct bus *bus)
{
    struct bus_snap *s = snap_new(bus->regions.n, bus->regions.v);
    if (!s)
        return -ENOMEM;
    struct bus_snap *old = atomic_exchange(&bus->snap, s);
    atomic_fetch_add_explicit(&bus->published, 1, memory_order_relaxed);
    if (bus->sealed) {
        atomic_fetch_add_explicit(&bus->runtime_changes, 1,
                                  memory_order_relaxed);
        log_debug(TAG, "%s: run-time change, %zu regions", bus->name, s->n);
    }
    synchronize();
    free(old);
    atomic_fetch_add_explicit(&bus->reclaimed, 1, memory_order_relaxed);
    return 0;
}

void bus_init(struct bus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
    bus->slot = atomic_fetch_add(&next_slot, 1) % HIT_SLOTS;
    pthread_rwlock_init(&bus->lock, NULL);
    struct bus_snap *s = snap_new(0, NULL);
    atomic_init(&bus->snap, s); /* NULL when out of memory: all unmapped */
    atomic_init(&bus->published, s ? 1 : 0);
}

void bus_destroy(struct bus *bus)
{
    free(atomic_load(&bus->snap));
    atomic_store(&bus->snap, NULL);
    VEC_FREE(&bus->regions);
    pthread_rwlock_destroy(&bus->lock);
}

void bus_seal(struct bus *bus)
{
    pthread_rwlock_wrlock(&bus->lock);
    bus->sealed = true;
    log_debug(TAG, "%s: sealed with %zu regions", bus->name, bus->regions.n);
    pthread_rwlock_unlock(&bus->lock);
}

void bus_stats(const struct bus *bus, struct bus_stats *out)
{
    out->published = atomic_load(&bus->published);
    out->reclaimed = atomic_load(&bus->reclaimed);
    out->runtime_changes = atomic_load(&bus->runtime_changes);
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
        rc = publish(bus);
        if (rc < 0) { /* not published: take it back */
            memmove(&bus->regions.v[i], &bus->regions.v[i + 1],
                    (bus->regions.n - 1 - i) * sizeof(bus->regions.v[0]));
            bus->regions.n--;
        }
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
        struct bus_region gone = bus->regions.v[i];
        memmove(&bus->regions.v[i], &bus->regions.v[i + 1],
                (bus->regions.n - 1 - i) * sizeof(bus->regions.v[0]));
        bus->regions.n--;
        rc = publish(bus);
        if (rc < 0) { /* still published: put it back */
            memmove(&bus->regions.v[i + 1], &bus->regions.v[i],
                    (bus->regions.n - i) * sizeof(bus->regions.v[0]));
            bus->regions.v[i] = gone;
            bus->regions.n++;
        }
        break;
    }
    pthread_rwlock_unlock(&bus->lock);
    return rc;
}

static const struct bus_region *lookup(const struct bus_snap *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct bus_region *r = &m->v[lo - 1];
    return addr - r->base < r->len ? r : NULL;
}

/* The read-side section (outermost access only). False: no record
 * (out of memory), nothing can be read safely. */
static inline bool enter(struct reader_tls *t)
{
    if (t->depth++)
        return true;
    if (__builtin_expect(!t->rec, 0) && !reader_register()) {
        t->depth--;
        return false;
    }
    atomic_store(&t->rec->seq, ++t->seq);
    return true;
}

static void run_deferred(struct reader_tls *t)
{
    /* Calls may defer more only through a nested bus_access. */
    for (unsigned i = 0; i < t->n; i++)
        t->q[i].fn(t->q[i].arg);
    t->n = 0;
}

static inline void leave(struct reader_tls *t)
{
    if (--t->depth)
        return;
    atomic_store_explicit(&t->rec->seq, ++t->seq, memory_order_release);
    if (__builtin_expect(t->n != 0, 0))
        run_deferred(t);
}

const char *bus_find(struct bus *bus, uint64_t addr)
{
    struct reader_tls *t = &tl;
    if (!enter(t))
        return NULL;
    const struct bus_snap *m = atomic_load(&bus->snap);
    const struct bus_region *r = m ? lookup(m, addr) : NULL;
    const char *n = r ? r->name : NULL;
    leave(t);
    return n;
}

int bus_defer(void (*fn)(void *arg), void *arg)
{
    struct reader_tls *t = &tl;
    if (!t->depth || !fn)
        return -EINVAL;
    for (unsigned i = 0; i < t->n; i++)
        if (t->q[i].fn == fn && t->q[i].arg == arg)
            return 0; /* once is enough */
    if (t->n == BUS_DEFER_MAX)
        return -ENOSPC;
    t->q[t->n].fn = fn;
    t->q[t->n].arg = arg;
    t->n++;
    return 0;
}

/* Little-endian loads and stores of 1, 2, 4 or 8 bytes (x86 and arm64
 * hosts are little-endian), without a call to memcpy. */
static inline uint64_t load_le(const void *p, unsigned size)
{
    switch (size) {
    case 1:
        return *(const uint8_t *)p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v = 0;
        memcpy(&v, p, size);
        return v;
    }
    }
}

static inline void store_le(void *p, uint64_t v, unsigned size)
{
    switch (size) {
    case 1:
        *(uint8_t *)p = (uint8_t)v;
        break;
    case 2: {
        uint16_t w = (uint16_t)v;
        memcpy(p, &w, 2);
        break;
    }
    case 4: {
        uint32_t w = (uint32_t)v;
        memcpy(p, &w, 4);
        break;
    }
    default:
        memcpy(p, &v, size);
        break;
    }
}

enum bus_result bus_access(struct bus *bus, uint64_t addr, void *data,
                           unsigned size, bool is_write)
{
    struct reader_tls *t = &tl;
    if (size == 0 || size > 8 || !enter(t))
        goto unmapped;
    const struct bus_snap *m = atomic_load(&bus->snap);
    const struct bus_region *r = t->hit[bus->slot].r;
    /* the cached region is valid only in the snapshot it came from */
    if (!m || t->hit[bus->slot].gen != m->gen || addr - r->base >= r->len) {
        r = m ? lookup(m, addr) : NULL;
        if (!r) {
            leave(t);
            goto unmapped;
        }
        t->hit[bus->slot].gen = m->gen;
        t->hit[bus->slot].r = r;
    }
    uint64_t off = addr - r->base;
    if (size > r->len - off) {
        leave(t);
        goto unmapped;
    }
    const struct region_ops *ops = r->ops;
    void *opaque = r->opaque;
    if (is_write) {
        if (ops->write)
            ops->write(opaque, off, load_le(data, size), size);
    } else {
        store_le(data, ops->read ? ops->read(opaque, off, size) : UINT64_MAX,
                 size);
    }
    leave(t);
    return BUS_OK;
unmapped:
    if (!is_write && size && size <= 8)
        memset(data, 0xff, size);
    return BUS_UNMAPPED;
}

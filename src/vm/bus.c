/*
 * bus.c: the bus (see bus.h): published snapshots of the sorted region
 * table, read without a lock, and the grace period that reclaims them.
 *
 * Readers. Each thread that calls bus_access gets a reader record on its
 * first access (a cache line of its own on a process-wide list that only
 * grows; a thread's record is recycled when it ends, so the list is as
 * long as the most threads that ever read at once). Entering the
 * outermost access stores an odd value to the record's sequence, leaving
 * it the next even value. The entering store and the load of the bus's
 * snapshot are sequentially consistent, and so are the writer's exchange
 * of the snapshot and its loads of the sequences: in their single total
 * order either the reader's load comes after the exchange (it sees the
 * new snapshot) or the writer's load comes after the reader's store (it
 * sees the odd value and waits for the leaving store, a release that
 * orders every use of the old snapshot before the free). Only the
 * reader's own cache line is written: no line is shared by all vCPUs.
 *
 * Last-hit cache: each thread keeps the region its last access hit and
 * the generation of the snapshot it came from (generations are unique
 * over all buses); an access to the same region of the same snapshot
 * skips the binary search.
 *
 * The exit path (bus_access's first half) is written for few
 * instructions (bench/README.md, "Per exit"): snapshot regions carry the
 * ops' functions themselves (never NULL: absent ones are replaced by
 * defaults), the thread state is initial-exec TLS, and everything rare
 * leaves it through a tail call.
 */
#include "vm/bus.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "util/ckd.h"
#include "util/log.h"

#define TAG "bus"

typedef uint64_t (*read_fn)(void *opaque, uint64_t offset, unsigned size);
typedef void (*write_fn)(void *opaque, uint64_t offset, uint64_t val,
                         unsigned size);

/* A region as published: what an access needs, in one place. */
struct snap_region {
    uint64_t base, len;
    read_fn read;
    write_fn write;
    void *opaque;
    const char *name;
};

/* One published map: immutable once published. gen is unique over every
 * snapshot of every bus of the process (the readers' last-hit caches are
 * keyed by it, never by the pointer, which malloc may hand out again). */
struct bus_snap {
    uint64_t gen;
    size_t n;
    struct snap_region v[];
};

#define CACHE_LINE 64

struct bus_reader {
    _Alignas(CACHE_LINE) atomic_ulong seq; /* odd: inside an access */
    atomic_bool used;                      /* owned by a live thread */
    struct bus_reader *next;
};

/* The thread's state: its record, the access nesting, the deferred
 * calls of the access running on it, the last-hit cache (one entry: a
 * generation names a bus and a snapshot of it). */
struct reader_tls {
    /* The thread's record; before its first access, `unregistered`,
     * whose odd sequence sends that access to the slow path, which
     * registers. Only the owner writes the record's sequence: it reads
     * it back relaxed. */
    struct bus_reader *rec;
    unsigned nest; /* accesses inside the outermost one (region ops') */
    unsigned n;
    struct {
        void (*fn)(void *arg);
        void *arg;
    } q[BUS_DEFER_MAX];
    uint64_t hit_gen;
    const struct snap_region *hit;
};
/* The last-hit entry before any hit: contains no address. */
static const struct snap_region no_region;
static struct bus_reader unregistered = {.seq = 1};
/* local-exec: libqvmcore is built as position-independent code, whose
 * default TLS access is a call (__tls_get_addr) that would cost the exit
 * path its register saves; it is only ever linked into executables (qvm,
 * the tests, the fuzz targets, bench/exitpath), where the thread's
 * variables are at a fixed offset from the thread pointer. */
static _Thread_local struct reader_tls tl
    __attribute__((tls_model("local-exec"))) = {.rec = &unregistered,
                                                .hit = &no_region};

static _Atomic(struct bus_reader *) readers;
/* What a bus reads when it could not allocate its first snapshot: no
 * region (never cached: a lookup in it finds nothing), never freed. */
static struct bus_snap empty_snap = {.gen = UINT64_MAX, .n = 0};
static atomic_uint_fast64_t next_gen = 1;
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
        rec = aligned_alloc(CACHE_LINE, sizeof(*rec));
        if (!rec)
            return NULL;
        memset(rec, 0, sizeof(*rec));
        atomic_init(&rec->seq, 0);
        atomic_init(&rec->used, true);
        rec->next = atomic_load(&readers);
        while (!atomic_compare_exchange_weak(&readers, &rec->next, rec))
            ;
    }
    pthread_once(&reader_once, reader_key_init);
    (void)pthread_setspecific(reader_key, rec);
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
static unsigned synchronize(struct bus *bus)
{
    unsigned waited = 0;
    const struct bus_reader *self = tl.rec; /* maybe `unregistered` */
    for (struct bus_reader *rec = atomic_load(&readers); rec; rec = rec->next) {
        if (rec == self)
            continue;
        unsigned long s = atomic_load(&rec->seq);
        if (!(s & 1))
            continue;
        waited++;
        atomic_fetch_add_explicit(&bus->grace_waits, 1, memory_order_relaxed);
        for (unsigned spin = 0;
             atomic_load_explicit(&rec->seq, memory_order_acquire) == s; spin++)
            if (spin >= 64)
                sched_yield();
    }
    return waited;
}

static uint64_t default_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)off, (void)size;
    return UINT64_MAX;
}

static void default_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    (void)opaque, (void)off, (void)v, (void)size;
}

static struct bus_snap *snap_new(size_t n, const struct bus_region *v)
{
    size_t bytes;
    if (ckd_mul(&bytes, n, sizeof(struct snap_region)) ||
        ckd_add(&bytes, bytes, sizeof(struct bus_snap)))
        return NULL;
    struct bus_snap *s = malloc(bytes);
    if (!s)
        return NULL;
    s->gen = atomic_fetch_add(&next_gen, 1);
    s->n = n;
    for (size_t i = 0; i < n; i++)
        s->v[i] = (struct snap_region){
            .base = v[i].base,
            .len = v[i].len,
            .read = v[i].ops->read ? v[i].ops->read : default_read,
            .write = v[i].ops->write ? v[i].ops->write : default_write,
            .opaque = v[i].opaque,
            .name = v[i].name,
        };
    return s;
}

/* Publish the writers' copy (caller holds the lock), wait for the
 * readers of the old snapshot, free it. */
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
    (void)synchronize(bus);
    if (old != &empty_snap)
        free(old);
    atomic_fetch_add_explicit(&bus->reclaimed, 1, memory_order_relaxed);
    return 0;
}

void bus_init(struct bus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
    pthread_rwlock_init(&bus->lock, NULL);
    struct bus_snap *s = snap_new(0, NULL);
    atomic_init(&bus->snap, s ? s : &empty_snap); /* all unmapped */
    atomic_init(&bus->published, 1);
}

void bus_destroy(struct bus *bus)
{
    struct bus_snap *s = atomic_load(&bus->snap);
    if (s != &empty_snap)
        free(s);
    atomic_store(&bus->snap, &empty_snap);
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
    out->grace_waits = atomic_load(&bus->grace_waits);
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

static const struct snap_region *lookup(const struct bus_snap *m, uint64_t addr)
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
    const struct snap_region *r = &m->v[lo - 1];
    return addr - r->base < r->len ? r : NULL;
}

/* The read-side section, outermost or nested. False: no record (out of
 * memory), nothing can be read safely. */
static unsigned long own_seq(const struct reader_tls *t)
{
    return atomic_load_explicit(&t->rec->seq, memory_order_relaxed);
}

static bool enter(struct reader_tls *t)
{
    if (UNLIKELY(t->rec == &unregistered) && !reader_register())
        return false;
    unsigned long s = own_seq(t);
    if (s & 1) {
        t->nest++;
        return true;
    }
    atomic_store(&t->rec->seq, s + 1);
    return true;
}

static NOINLINE void run_deferred(struct reader_tls *t)
{
    /* Calls may defer more only through a nested bus_access. */
    for (unsigned i = 0; i < t->n; i++)
        t->q[i].fn(t->q[i].arg);
    t->n = 0;
}

/* Leaving the outermost access: the release orders every use of the
 * snapshot before it (synchronize's acquire). */
static inline void leave_outer(struct reader_tls *t)
{
    atomic_store_explicit(&t->rec->seq, own_seq(t) + 1, memory_order_release);
    if (UNLIKELY(t->n != 0))
        run_deferred(t);
}

static void leave(struct reader_tls *t)
{
    if (t->nest)
        t->nest--;
    else
        leave_outer(t);
}

const char *bus_find(struct bus *bus, uint64_t addr)
{
    struct reader_tls *t = &tl;
    if (!enter(t))
        return NULL;
    const struct snap_region *r = lookup(atomic_load(&bus->snap), addr);
    const char *n = r ? r->name : NULL;
    leave(t);
    return n;
}

int bus_defer(void (*fn)(void *arg), void *arg)
{
    struct reader_tls *t = &tl;
    if (!(own_seq(t) & 1) || t->rec == &unregistered || !fn)
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

/* Little-endian loads and stores (x86 and arm64 hosts are little-endian).
 * load_pow2: 1, 2, 4 or 8 bytes, without a call to memcpy. */
static inline uint64_t load_pow2(const void *p, unsigned size)
{
    if (size == 1)
        return *(const uint8_t *)p;
    if (size == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    if (size == 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* load_le: 1-8 bytes. */
static inline uint64_t load_le(const void *p, unsigned size)
{
    if (size == 1 || size == 2 || size == 4 || size == 8)
        return load_pow2(p, size);
    uint64_t v = 0;
    memcpy(&v, p, size);
    return v;
}

static inline void store_le(void *p, uint64_t v, unsigned size)
{
    if (size == 1) {
        *(uint8_t *)p = (uint8_t)v;
    } else if (size == 4) {
        uint32_t w = (uint32_t)v;
        memcpy(p, &w, 4);
    } else if (size == 2) {
        uint16_t w = (uint16_t)v;
        memcpy(p, &w, 2);
    } else if (size == 8) {
        memcpy(p, &v, 8);
    } else {
        memcpy(p, &v, size);
    }
}

static NOINLINE void read_op(const struct snap_region *r, uint64_t off,
                             void *data, unsigned size)
{
    store_le(data, r->read(r->opaque, off, size), size);
}

/* An access inside the read-side section whose region is not the
 * thread's last hit: search, check, call, leave. */
static NOINLINE enum bus_result access_entered(struct bus *bus, uint64_t addr,
                                               void *data, unsigned size,
                                               bool is_write)
{
    struct reader_tls *t = &tl;
    const struct bus_snap *m = atomic_load(&bus->snap);
    const struct snap_region *r = lookup(m, addr);
    uint64_t off = r ? addr - r->base : 0;
    if (!r || size > r->len - off) {
        leave(t);
        if (!is_write)
            memset(data, 0xff, size);
        return BUS_UNMAPPED;
    }
    if (!t->nest) { /* a nested access does not replace its caller's hit */
        t->hit_gen = m->gen;
        t->hit = r;
    }
    if (!is_write)
        read_op(r, off, data, size);
    else
        r->write(r->opaque, off, load_le(data, size), size);
    leave(t);
    return BUS_OK;
}

/* Nested accesses, a thread's first access, odd sizes. */
static NOINLINE enum bus_result access_slow(struct bus *bus, uint64_t addr,
                                            void *data, unsigned size,
                                            bool is_write)
{
    if (size == 0 || size > 8)
        return BUS_UNMAPPED;
    if (!enter(&tl)) {
        if (!is_write)
            memset(data, 0xff, size);
        return BUS_UNMAPPED;
    }
    return access_entered(bus, addr, data, size, is_write);
}

/*
 * The exit path: an outermost access by a registered thread to the
 * region it hit last. Only the thread's own state and record are written.
 */
enum bus_result bus_access(struct bus *bus, uint64_t addr, void *data,
                           unsigned size, bool is_write)
{
    struct reader_tls *t = &tl;
    struct bus_reader *rec = t->rec;
    unsigned long s = atomic_load_explicit(&rec->seq, memory_order_relaxed);
    if (UNLIKELY((s & 1) || size - 1 > 7 || (size & (size - 1))))
        goto slow; /* nested, not registered yet, or not 1, 2, 4 or 8 */
    atomic_store(&rec->seq, s + 1);
    const struct bus_snap *m = atomic_load(&bus->snap);
    /* The cached region is valid only in the snapshot it came from (an
     * older one may be freed): the generation first, then the region. */
    if (UNLIKELY(t->hit_gen != m->gen))
        goto miss;
    const struct snap_region *r = t->hit;
    uint64_t off = addr - r->base;
    if (UNLIKELY(off >= r->len || size > r->len - off))
        goto miss;
    if (!is_write)
        read_op(r, off, data, size);
    else
        r->write(r->opaque, off, load_pow2(data, size), size);
    leave_outer(&tl); /* the op's own accesses are over */
    return BUS_OK;
miss:
    return access_entered(bus, addr, data, size, is_write);
slow:
    return access_slow(bus, addr, data, size, is_write);
}

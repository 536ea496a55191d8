/*
 * test_vm_bus.c: the port-I/O/MMIO bus (src/vm/bus.c): overlap refusal,
 * offsets seen by devices, unmapped accesses (all ones / dropped),
 * accesses straddling a region's end, the last-hit cache across remaps,
 * and lock-free readers against a remapping thread (every access reaches
 * the device mapped there, no op runs on a device after its unmap
 * returned, every old snapshot is freed), and, without timing, that an
 * unmap waits for a reader inside the region's op.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm/bus.h"

struct fake {
    uint64_t last_off, last_val;
    unsigned last_size, writes;
};

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
    struct fake *f = opaque;
    f->last_off = off;
    f->last_size = size;
    return 0x1122334455667788ull + off;
}

static void fake_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fake *f = opaque;
    f->last_off = off;
    f->last_val = val;
    f->last_size = size;
    f->writes++;
}

static const struct region_ops ops = {fake_read, fake_write};

static void test_map_overlap(void **state)
{
    (void)state;
    struct bus b;
    struct fake f = {0};
    bus_init(&b, "test");
    assert_int_equal(bus_map(&b, "a", 0x3f8, 8, &ops, &f), 0);
    assert_int_equal(bus_map(&b, "b", 0x3fc, 8, &ops, &f), -EEXIST);
    assert_int_equal(bus_map(&b, "c", 0x3f0, 9, &ops, &f), -EEXIST);
    assert_int_equal(bus_map(&b, "d", 0x3f0, 8, &ops, &f), 0);
    assert_int_equal(bus_map(&b, "e", 0x400, 0, &ops, &f), -EINVAL);
    assert_int_equal(bus_map(&b, "f", UINT64_MAX, 2, &ops, &f), -EINVAL);
    assert_int_equal(bus_map(&b, "g", 0x1000, 1, &ops, &f), 0);
    assert_string_equal(bus_find(&b, 0x3ff), "a");
    assert_string_equal(bus_find(&b, 0x3f0), "d");
    assert_null(bus_find(&b, 0x400));
    assert_int_equal(bus_unmap(&b, 0x3f8), 0);
    assert_null(bus_find(&b, 0x3f8));
    assert_int_equal(bus_map(&b, "b", 0x3fc, 8, &ops, &f), 0);
    bus_destroy(&b);
}

static void test_access_offsets(void **state)
{
    (void)state;
    struct bus b;
    struct fake f = {0};
    bus_init(&b, "test");
    assert_int_equal(bus_map(&b, "dev", 0x1000, 0x100, &ops, &f), 0);
    uint32_t v = 0;
    assert_int_equal(bus_access(&b, 0x1010, &v, 4, false), BUS_OK);
    assert_int_equal(f.last_off, 0x10);
    assert_int_equal(f.last_size, 4);
    assert_int_equal(v, 0x55667798u);
    uint16_t w = 0xbeef;
    assert_int_equal(bus_access(&b, 0x10fe, &w, 2, true), BUS_OK);
    assert_int_equal(f.last_off, 0xfe);
    assert_int_equal(f.last_val, 0xbeef);
    bus_destroy(&b);
}

static void test_unmapped(void **state)
{
    (void)state;
    struct bus b;
    struct fake f = {0};
    bus_init(&b, "test");
    assert_int_equal(bus_map(&b, "dev", 0x1000, 0x10, &ops, &f), 0);
    uint64_t v = 0;
    assert_int_equal(bus_access(&b, 0x2000, &v, 8, false), BUS_UNMAPPED);
    assert_true(v == UINT64_MAX);
    v = 0;
    /* Straddles the end of the region: unmapped, device not called. */
    assert_int_equal(bus_access(&b, 0x100e, &v, 4, false), BUS_UNMAPPED);
    assert_int_equal((uint32_t)v, 0xffffffffu);
    assert_int_equal(bus_access(&b, 0x100e, &v, 4, true), BUS_UNMAPPED);
    assert_int_equal(f.writes, 0);
    assert_int_equal(bus_access(&b, 0x1000, &v, 0, false), BUS_UNMAPPED);
    assert_int_equal(bus_access(&b, 0x1000, &v, 9, false), BUS_UNMAPPED);
    bus_destroy(&b);
}

/* A region whose write maps a second region through bus_defer: the
 * mapping must be in place when bus_access returns (it runs outside the
 * access's read-side section, whose end bus_map's grace period waits
 * for). */
static struct bus *defer_bus;
static int deferred_runs;

static void defer_map(void *arg)
{
    deferred_runs++;
    assert_int_equal(bus_map(defer_bus, "late", 0x2000, 0x10, &ops, arg), 0);
}

static void nop(void *arg)
{
    (void)arg;
}

static void defer_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    (void)off, (void)size;
    if (v == 1) {
        assert_int_equal(bus_defer(defer_map, opaque), 0);
        assert_int_equal(bus_defer(defer_map, opaque), 0); /* deduplicated */
    } else {
        static char args[BUS_DEFER_MAX + 1];
        int rc = 0;
        for (unsigned i = 0; i <= BUS_DEFER_MAX && rc == 0; i++)
            rc = bus_defer(nop, &args[i]);
        assert_int_equal(rc, -ENOSPC);
    }
}

static const struct region_ops defer_ops = {fake_read, defer_write};

static void test_defer(void **state)
{
    (void)state;
    struct bus b;
    bus_init(&b, "mmio");
    defer_bus = &b;
    deferred_runs = 0;
    assert_int_equal(bus_defer(nop, NULL), -EINVAL); /* not in an access */
    assert_int_equal(bus_map(&b, "ctl", 0x1000, 0x10, &defer_ops, NULL), 0);
    assert_null(bus_find(&b, 0x2000));
    uint32_t v = 1;
    assert_int_equal(bus_access(&b, 0x1000, &v, 4, true), BUS_OK);
    assert_int_equal(deferred_runs, 1);
    assert_string_equal(bus_find(&b, 0x2004), "late");
    v = 2; /* overflow the queue: the first BUS_DEFER_MAX still run */
    assert_int_equal(bus_access(&b, 0x1000, &v, 4, true), BUS_OK);
    assert_int_equal(bus_defer(nop, NULL), -EINVAL); /* queue drained */
    bus_destroy(&b);
}

/* The last-hit cache must not survive a remap: the same address, the
 * same thread, another device. */
static void test_hit_cache_remap(void **state)
{
    (void)state;
    struct bus b;
    struct fake f1 = {0}, f2 = {0};
    bus_init(&b, "pio");
    assert_int_equal(bus_map(&b, "one", 0x80, 1, &ops, &f1), 0);
    uint8_t v = 0x11;
    for (int i = 0; i < 3; i++)
        assert_int_equal(bus_access(&b, 0x80, &v, 1, true), BUS_OK);
    assert_int_equal(f1.writes, 3);
    assert_int_equal(bus_unmap(&b, 0x80), 0);
    assert_int_equal(bus_access(&b, 0x80, &v, 1, true), BUS_UNMAPPED);
    assert_int_equal(bus_map(&b, "two", 0x80, 1, &ops, &f2), 0);
    assert_int_equal(bus_access(&b, 0x80, &v, 1, true), BUS_OK);
    assert_int_equal(f1.writes, 3);
    assert_int_equal(f2.writes, 1);
    struct bus_stats st;
    bus_stats(&b, &st);
    /* bus_init's empty snapshot and one per change; all but one freed */
    assert_int_equal(st.published, 4);
    assert_int_equal(st.reclaimed, 3);
    assert_int_equal(st.runtime_changes, 0);
    bus_seal(&b);
    assert_int_equal(bus_unmap(&b, 0x80), 0);
    bus_stats(&b, &st);
    assert_int_equal(st.runtime_changes, 1);
    bus_destroy(&b);
}

/*
 * Readers against a remapper. Four fixed devices (ports 0x10 + 4*i, id
 * i + 1) stay mapped; a "mover" region alternates between two addresses
 * (0x100 and 0x200) on the remapper thread, a new device object each time.
 * A device's read returns its id; after unmapping a device object the
 * remapper marks it dead, and the mover's read op checks, across a short
 * busy loop, that its device is alive: an op running on a device whose
 * unmap already returned (no grace period, an old snapshot freed or
 * reused too early) is counted as a violation.
 */
#define HAMMER_READERS 2
#define HAMMER_MOVES   400
#define MOVER_ID       0x40

struct hdev {
    uint32_t id;
    atomic_bool alive;
};

static atomic_ulong violations;

static uint64_t hdev_read(void *opaque, uint64_t off, unsigned size)
{
    (void)off, (void)size;
    struct hdev *d = opaque;
    return d->id;
}

static uint64_t mover_read(void *opaque, uint64_t off, unsigned size)
{
    (void)off, (void)size;
    struct hdev *d = opaque;
    for (unsigned i = 0; i < 300; i++)
        if (!atomic_load(&d->alive))
            atomic_fetch_add(&violations, 1);
    return d->id;
}

static const struct region_ops hdev_ops = {hdev_read, NULL};
static const struct region_ops mover_ops = {mover_read, NULL};

struct hammer {
    struct bus bus;
    struct hdev fixed[4], mover[HAMMER_MOVES + 1];
    atomic_bool done;
    atomic_ulong reads, mover_hits;
};

static void *hammer_reader(void *arg)
{
    struct hammer *h = arg;
    unsigned long n = 0, hits = 0;
    /* at least a few rounds, and on until the remapper is done */
    for (unsigned round = 0; round < 200 || !atomic_load(&h->done); round++) {
        for (unsigned i = 0; i < 4; i++) {
            uint32_t v = 0;
            if (bus_access(&h->bus, 0x10 + 4 * i, &v, 4, false) != BUS_OK ||
                v != i + 1)
                atomic_fetch_add(&violations, 1);
            n++;
        }
        for (uint64_t a = 0x100; a <= 0x200; a += 0x100) {
            uint32_t v = 0;
            enum bus_result r = bus_access(&h->bus, a + 2, &v, 4, false);
            if (r == BUS_OK && v == MOVER_ID)
                hits++;
            else if (r != BUS_UNMAPPED || v != 0xffffffffu)
                atomic_fetch_add(&violations, 1);
            n++;
        }
    }
    atomic_fetch_add(&h->reads, n);
    atomic_fetch_add(&h->mover_hits, hits);
    return NULL;
}

static void *hammer_remapper(void *arg)
{
    struct hammer *h = arg;
    uint64_t at = 0x100;
    for (unsigned i = 0; i < HAMMER_MOVES; i++) {
        uint64_t to = at == 0x100 ? 0x200 : 0x100;
        if (bus_unmap(&h->bus, at) != 0)
            atomic_fetch_add(&violations, 1);
        /* unmapped: no reader may still be inside its op, ever again */
        atomic_store(&h->mover[i].alive, false);
        atomic_store(&h->mover[i + 1].alive, true);
        if (bus_map(&h->bus, "mover", to, 8, &mover_ops, &h->mover[i + 1]) != 0)
            atomic_fetch_add(&violations, 1);
        at = to;
    }
    atomic_store(&h->done, true);
    return NULL;
}

static void test_readers_vs_remap(void **state)
{
    (void)state;
    static struct hammer h;
    memset(&h, 0, sizeof(h));
    atomic_store(&violations, 0);
    bus_init(&h.bus, "pio");
    for (unsigned i = 0; i < 4; i++) {
        h.fixed[i].id = i + 1;
        atomic_store(&h.fixed[i].alive, true);
        assert_int_equal(
            bus_map(&h.bus, "fixed", 0x10 + 4 * i, 4, &hdev_ops, &h.fixed[i]),
            0);
    }
    for (unsigned i = 0; i <= HAMMER_MOVES; i++)
        h.mover[i].id = MOVER_ID;
    atomic_store(&h.mover[0].alive, true);
    assert_int_equal(
        bus_map(&h.bus, "mover", 0x100, 8, &mover_ops, &h.mover[0]), 0);
    bus_seal(&h.bus);
    struct bus_stats st0;
    bus_stats(&h.bus, &st0);

    pthread_t rd[HAMMER_READERS], wr;
    for (unsigned i = 0; i < HAMMER_READERS; i++)
        assert_int_equal(pthread_create(&rd[i], NULL, hammer_reader, &h), 0);
    assert_int_equal(pthread_create(&wr, NULL, hammer_remapper, &h), 0);
    pthread_join(wr, NULL);
    for (unsigned i = 0; i < HAMMER_READERS; i++)
        pthread_join(rd[i], NULL);

    assert_int_equal(atomic_load(&violations), 0);
    assert_true(atomic_load(&h.reads) > 0);
    assert_true(atomic_load(&h.mover_hits) > 0);
    struct bus_stats st;
    bus_stats(&h.bus, &st);
    /* two snapshots per move, every one but the current freed */
    assert_int_equal(st.published - st0.published, 2 * HAMMER_MOVES);
    assert_int_equal(st.reclaimed, st.published - 1);
    assert_int_equal(st.runtime_changes, 2 * HAMMER_MOVES);
    bus_destroy(&h.bus);
}

/*
 * bus_unmap must not return while a reader is inside the region's op, and
 * this is checked without timing: the reader, inside the op, waits until
 * the unmapping thread has either returned (wrong) or found it inside and
 * started to wait for it (grace_waits).
 */
static struct {
    struct bus bus;
    atomic_bool inside, unmap_returned, returned_while_inside;
} pk;

static uint64_t park_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)off, (void)size;
    atomic_store(&pk.inside, true);
    struct bus_stats st;
    do
        bus_stats(&pk.bus, &st);
    while (!atomic_load(&pk.unmap_returned) && st.grace_waits == 0);
    if (atomic_load(&pk.unmap_returned))
        atomic_store(&pk.returned_while_inside, true);
    return 7;
}

static const struct region_ops park_ops = {park_read, NULL};

static void *park_reader(void *arg)
{
    uint32_t *v = arg;
    (void)bus_access(&pk.bus, 0x500, v, 4, false);
    return NULL;
}

static void *park_unmapper(void *arg)
{
    (void)arg;
    while (!atomic_load(&pk.inside))
        ;
    if (bus_unmap(&pk.bus, 0x500) == 0)
        atomic_store(&pk.unmap_returned, true);
    return NULL;
}

static void test_unmap_waits_for_reader(void **state)
{
    (void)state;
    memset(&pk, 0, sizeof(pk));
    bus_init(&pk.bus, "pio");
    assert_int_equal(bus_map(&pk.bus, "park", 0x500, 4, &park_ops, NULL), 0);
    bus_seal(&pk.bus);
    uint32_t v = 0;
    pthread_t r, u;
    assert_int_equal(pthread_create(&r, NULL, park_reader, &v), 0);
    assert_int_equal(pthread_create(&u, NULL, park_unmapper, NULL), 0);
    pthread_join(r, NULL);
    pthread_join(u, NULL);
    assert_int_equal(v, 7);
    assert_true(atomic_load(&pk.unmap_returned));
    assert_false(atomic_load(&pk.returned_while_inside));
    struct bus_stats st;
    bus_stats(&pk.bus, &st);
    assert_int_equal(st.grace_waits, 1);
    assert_int_equal(st.reclaimed, st.published - 1);
    assert_null(bus_find(&pk.bus, 0x500));
    bus_destroy(&pk.bus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_overlap),
        cmocka_unit_test(test_access_offsets),
        cmocka_unit_test(test_unmapped),
        cmocka_unit_test(test_defer),
        cmocka_unit_test(test_hit_cache_remap),
        cmocka_unit_test(test_readers_vs_remap),
        cmocka_unit_test(test_unmap_waits_for_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_vm_bus.c: the port-I/O/MMIO bus (src/vm/bus.c): overlap refusal,
 * offsets seen by devices, unmapped accesses (all ones / dropped), and
 * accesses straddling a region's end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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
 * mapping must be in place when bus_access returns (it would deadlock if
 * run under the read lock). */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_overlap),
        cmocka_unit_test(test_access_offsets),
        cmocka_unit_test(test_unmapped),
        cmocka_unit_test(test_defer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

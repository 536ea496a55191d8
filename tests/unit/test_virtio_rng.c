/*
 * test_virtio_rng.c: virtio-entropy (src/virtio/rng.c) driven through the
 * shared core by a minimal in-test driver (vdrv.h): the device's identity
 * (ID 4, one queue, no configuration space, no feature bits of its own),
 * random bytes in every writable segment, the per-request bound, readable
 * segments left alone, several requests in a row, `delayed`, and a
 * malformed ring putting the device into NEEDS_RESET without a crash.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <cmocka.h>

#include "vdrv.h"

static void rng_dev(struct vdrv *v, struct vm_spec *s, bool delayed)
{
    vd_env(v);
    struct vdev_spec *vd = vd_spec(s, "virtio-entropy");
    if (delayed)
        vd_spec_opt(vd, "delayed", 5);
    struct virtio_dev *d = NULL;
    assert_int_equal(virtio_rng_new(vd, &v->ctx, &d), 0);
    assert_non_null(d);
    vd_attach(v, d);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void identity(void **state)
{
    (void)state;
    struct vdrv v;
    struct vm_spec s;
    rng_dev(&v, &s, false);
    assert_int_equal(v.d->id, VIRTIO_ID_RNG);
    assert_int_equal(v.d->nqueues, 1);
    assert_int_equal(v.d->config_len, 0);
    assert_int_equal(v.d->host_features, 0);
    assert_true(v.d->vq[0].max_size >= 64);
    assert_non_null(v.d->ops->notify);
    /* The full offer is the core's (VERSION_1 and the ring features). */
    assert_int_equal(virtio_dev_features(v.d, 1) & 1, 1);
    vd_free(&v);
    spec_free(&s);
}

static void delivers_bytes(void **state)
{
    (void)state;
    struct vdrv v;
    struct vm_spec s;
    rng_dev(&v, &s, false);
    vd_start(&v, 0, 1);
    /* Three writable segments, 100 + 28 + 256 bytes, canaries around. */
    uint8_t *buf = vd_ptr(&v, VD_DATA);
    memset(buf, 0, 0x1000);
    struct vd_seg segs[] = {{VD_DATA + 16, 100, true},
                            {VD_DATA + 0x200, 28, true},
                            {VD_DATA + 0x400, 256, true}};
    unsigned irqs = atomic_load(&v.irqs);
    assert_int_equal(vd_request(&v, 0, segs, 3), 384);
    assert_true(vd_wait_irqs(&v, irqs + 1));
    assert_false(all_zero(buf + 16, 100));
    assert_false(all_zero(buf + 0x200, 28));
    assert_false(all_zero(buf + 0x400, 256));
    assert_true(all_zero(buf, 16));                /* before */
    assert_true(all_zero(buf + 116, 0x200 - 116)); /* between */
    assert_true(all_zero(buf + 0x200 + 28, 0x400 - 0x200 - 28));
    assert_true(all_zero(buf + 0x500, 0x100)); /* after */
    /* A second request gets different bytes. */
    uint8_t first[256];
    memcpy(first, buf + 0x400, sizeof(first));
    struct vd_seg one = {VD_DATA + 0x400, 256, true};
    assert_int_equal(vd_request(&v, 0, &one, 1), 256);
    assert_memory_not_equal(first, buf + 0x400, sizeof(first));
    vd_free(&v);
    spec_free(&s);
}

static void bounded_and_readable_ignored(void **state)
{
    (void)state;
    struct vdrv v;
    struct vm_spec s;
    rng_dev(&v, &s, false);
    vd_start(&v, 0, 1);
    /* 256 KiB asked: at most 64 KiB given, and the rest untouched. */
    uint8_t *buf = vd_ptr(&v, VD_DATA);
    memset(buf, 0, 256 * 1024);
    struct vd_seg big = {VD_DATA, 256 * 1024, true};
    int64_t n = vd_request(&v, 0, &big, 1);
    assert_true(n > 0 && n <= 64 * 1024);
    assert_false(all_zero(buf, (size_t)n));
    assert_true(all_zero(buf + n, 256 * 1024 - (size_t)n));
    /* A readable segment before the writable one is not written. */
    uint8_t *ro = vd_ptr(&v, VD_DATA + 0x80000);
    memset(ro, 0x5a, 64);
    struct vd_seg mixed[] = {{VD_DATA + 0x80000, 64, false},
                             {VD_DATA + 0x90000, 32, true}};
    assert_int_equal(vd_request(&v, 0, mixed, 2), 32);
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(ro[i], 0x5a);
    /* Only readable: nothing to fill, used length 0. */
    assert_int_equal(vd_request(&v, 0, mixed, 1), 0);
    vd_free(&v);
    spec_free(&s);
}

static void delayed_source(void **state)
{
    (void)state;
    struct vdrv v;
    struct vm_spec s;
    rng_dev(&v, &s, true); /* delayed 5: first use on the first request */
    vd_start(&v, 0, 1);
    struct vd_seg seg = {VD_DATA, 64, true};
    memset(vd_ptr(&v, VD_DATA), 0, 64);
    assert_int_equal(vd_request(&v, 0, &seg, 1), 64);
    assert_false(all_zero(vd_ptr(&v, VD_DATA), 64));
    vd_free(&v);
    spec_free(&s);
}

static void malformed_ring(void **state)
{
    (void)state;
    struct vdrv v;
    struct vm_spec s;
    rng_dev(&v, &s, false);
    vd_start(&v, 0, 1);
    /* A buffer outside guest RAM: the queue breaks, the device asks for a
     * reset, nothing is written anywhere and nothing is used. */
    struct vd_seg bad = {VD_RAM - 16, 64, true};
    vd_post(&v, 0, &bad, 1);
    vd_kick(&v, 0);
    assert_true(virtio_get_status(v.d) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(vd_used_idx(&v, 0), 0);
    assert_true(atomic_load(&v.cfg_irqs) >= 1);
    /* A further kick does nothing; a reset and a new start work again. */
    vd_kick(&v, 0);
    assert_int_equal(vd_used_idx(&v, 0), 0);
    virtio_reset(v.d);
    assert_int_equal(virtio_get_status(v.d), 0);
    vd_start(&v, 0, 1);
    struct vd_seg good = {VD_DATA, 8, true};
    assert_int_equal(vd_request(&v, 0, &good, 1), 8);
    vd_free(&v);
    spec_free(&s);
}

/* An event loop for the device's own events (re-kicks, the retry timer).
 * `live_ev` lets the teardown stop it when an assertion left the test
 * early: its thread must not go on with the test's dead stack. */
static struct evloop *live_ev;

static void with_events(struct vdrv *v)
{
    v->ctx.ev = ev_new();
    assert_non_null(v->ctx.ev);
    live_ev = v->ctx.ev;
    assert_int_equal(virtio_kicks_start(v->d), 0);
    assert_int_equal(ev_start(v->ctx.ev), 0);
}

static void stop_events(struct vdrv *v)
{
    ev_stop(v->ctx.ev);
    live_ev = NULL;
}

static int stop_left_loop(void **state)
{
    (void)state;
    ev_stop(live_ev); /* after a failure: the rest is left to the exit */
    live_ev = NULL;
    return 0;
}

/* One call answers a bounded batch, then the queue is kicked again: 16
 * requests of 64 KiB are answered in 16 calls (one interrupt each), the
 * others' events running in between. */
static void bounded_batch(void **state)
{
    (void)state;
    struct vdrv v;
    struct vm_spec s;
    rng_dev(&v, &s, false);
    with_events(&v);
    vd_start(&v, 0, 1);
    struct vd_seg big = {VD_DATA, 64 * 1024, true};
    for (unsigned i = 0; i < VD_QSIZE; i++)
        vd_post(&v, 0, &big, 1);
    unsigned irqs = atomic_load(&v.irqs);
    vd_kick(&v, 0);
    assert_true(vd_wait(&v, 0, VD_QSIZE));
    assert_true(vd_wait_irqs(&v, irqs + VD_QSIZE));
    stop_events(&v); /* joins the loop: no interrupt can follow */
    assert_int_equal(atomic_load(&v.irqs) - irqs, VD_QSIZE);
    struct evloop *ev = v.ctx.ev;
    vd_free(&v);
    ev_free(ev);
    spec_free(&s);
}

/* A host whose pool is not initialised: EAGAIN to every GRND_NONBLOCK
 * poll; only a blocking reader makes the kernel initialise it. */
static atomic_bool pool_ready;
static atomic_uint blocking_calls;
static ssize_t cold_host(void *buf, size_t n, unsigned flags)
{
    if (!(flags & GRND_NONBLOCK)) {
        atomic_fetch_add(&blocking_calls, 1);
        atomic_store(&pool_ready, true);
    } else if (!atomic_load(&pool_ready)) {
        errno = EAGAIN;
        return -1;
    }
    memset(buf, 0xa5, n);
    return (ssize_t)n;
}

static void cold_pool_answered(void **state)
{
    (void)state;
    atomic_store(&pool_ready, false);
    atomic_store(&blocking_calls, 0);
    virtio_rng_set_source(cold_host);
    struct vdrv v;
    struct vm_spec s;
    rng_dev(&v, &s, false);
    with_events(&v);
    vd_start(&v, 0, 1);
    struct vd_seg seg = {VD_DATA, 32, true};
    memset(vd_ptr(&v, VD_DATA), 0, 32);
    assert_int_equal(vd_request(&v, 0, &seg, 1), 32);
    assert_int_equal(*(uint8_t *)vd_ptr(&v, VD_DATA + 31), 0xa5);
    assert_int_equal(atomic_load(&blocking_calls), 1);
    stop_events(&v);
    struct evloop *ev = v.ctx.ev;
    vd_free(&v);
    ev_free(ev);
    spec_free(&s);
    virtio_rng_set_source(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity),
        cmocka_unit_test(delivers_bytes),
        cmocka_unit_test(bounded_and_readable_ignored),
        cmocka_unit_test(delayed_source),
        cmocka_unit_test(malformed_ring),
        cmocka_unit_test_teardown(bounded_batch, stop_left_loop),
        cmocka_unit_test_teardown(cold_pool_answered, stop_left_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_virtio_console.c: virtio-console (src/virtio/console.c) driven
 * through the shared core by the in-test driver (vdrv.h: guest RAM behind
 * a gview, split rings placed by hand), with a running event loop for the
 * host end: identity and configuration space, guest output arriving in a
 * file, emergency writes, host input from a FIFO in posted receive buffers,
 * input held in the FIFO (not in qvm) while no buffer is posted and
 * delivered when one is, a stuck output FIFO holding transmit chains back
 * until it drains (nothing lost, nothing unbounded), reset forgetting a
 * held buffer, and malformed chains putting the device into NEEDS_RESET.
 * "Nothing else happens" is checked after a barrier through the event
 * loop (ev_flush.h): every event due by then has been handled.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev_flush.h"
#include "vdrv.h"

#define RXQ         0
#define TXQ         1
#define F_EMERG     (1ull << 2)
#define F_SIZE      (1ull << 0)
#define F_MULTIPORT (1ull << 1)

struct env {
    struct vdrv v;
    struct vm_spec s;
    struct vdev_spec *vd;
    char dir[64], fifo[128], out[128];
    int fd; /* the test's end of the FIFO, or -1 */
    bool stopped;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/test_vcon.XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->fifo, sizeof(e->fifo), "%s/fifo", e->dir);
    snprintf(e->out, sizeof(e->out), "%s/out", e->dir);
    assert_int_equal(mkfifo(e->fifo, 0600), 0);
    e->fd = -1;
    vd_env(&e->v);
    e->v.ctx.ev = ev_new();
    assert_non_null(e->v.ctx.ev);
    e->vd = vd_spec(&e->s, "virtio-console");
    *state = e;
    return 0;
}

static void stop(struct env *e)
{
    if (e->stopped)
        return;
    e->stopped = true;
    ev_stop(e->v.ctx.ev);
    vd_free(&e->v); /* reset, then the host end flushes and closes */
}

static int teardown(void **state)
{
    struct env *e = *state;
    stop(e);
    ev_free(e->v.ctx.ev);
    spec_free(&e->s);
    if (e->fd >= 0)
        close(e->fd);
    unlink(e->fifo);
    unlink(e->out);
    rmdir(e->dir);
    free(e);
    return 0;
}

static void hostdev(struct env *e, enum hostdev_dir dir, const char *path)
{
    struct hostdev *h = VEC_PUSH(&e->vd->hostdevs);
    assert_non_null(h);
    h->kind = HOSTDEV_PATH;
    h->dir = dir;
    h->path = strdup(path);
}

/* The device on a running event loop, negotiated and DRIVER_OK. */
static void start(struct env *e)
{
    struct virtio_dev *d = NULL;
    assert_int_equal(virtio_console_new(e->vd, &e->v.ctx, &d), 0);
    assert_non_null(d);
    vd_attach(&e->v, d);
    assert_int_equal(ev_start(e->v.ctx.ev), 0);
    vd_start(&e->v, F_EMERG, 2);
}

/* The device with input from the FIFO; e->fd is its writer. */
static void start_input(struct env *e)
{
    hostdev(e, HOSTDEV_IN, e->fifo);
    start(e);
    e->fd = open(e->fifo, O_WRONLY | O_NONBLOCK);
    assert_true(e->fd >= 0);
}

/* post: the chain segs[0..n) in descriptors first.. (several chains may
 * be in flight), made available. */
static void post(struct env *e, unsigned q, uint16_t first,
                 const struct vd_seg *segs, unsigned n)
{
    struct vdrv *v = &e->v;
    uint8_t *desc = vd_ptr(v, VD_RING(q));
    for (unsigned i = 0; i < n; i++) {
        uint16_t id = (uint16_t)((first + i) % VD_QSIZE);
        uint16_t next = (uint16_t)((id + 1) % VD_QSIZE);
        uint16_t flags =
            (uint16_t)((i + 1 < n ? 1 : 0) | (segs[i].writable ? 2 : 0));
        memcpy(desc + 16 * id, &segs[i].gpa, 8);
        memcpy(desc + 16 * id + 8, &segs[i].len, 4);
        memcpy(desc + 16 * id + 12, &flags, 2);
        memcpy(desc + 16 * id + 14, &next, 2);
    }
    uint16_t *avail = vd_ptr(v, VD_RING(q) + 0x400);
    uint16_t idx = v->avail_idx[q];
    avail[2 + idx % VD_QSIZE] = first;
    __atomic_store_n(&avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
    v->avail_idx[q] = (uint16_t)(idx + 1);
}

/* The used ring's entry n: id and length. */
static void used(struct env *e, unsigned q, uint16_t n, uint32_t *id,
                 uint32_t *len)
{
    uint32_t *el = vd_ptr(&e->v, VD_RING(q) + 0x800 + 4 + 8 * (n % VD_QSIZE));
    *id = el[0];
    *len = el[1];
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void test_identity(void **state)
{
    struct env *e = *state;
    start(e);
    struct virtio_dev *d = e->v.d;
    assert_int_equal(d->id, VIRTIO_ID_CONSOLE);
    assert_int_equal(d->nqueues, 2);
    assert_int_equal(d->config_len, 12);
    /* Emergency write only: no size (qvm cannot always know it), no
     * multiport (port 0 is the console, no control queue). */
    assert_true(d->host_features & F_EMERG);
    assert_false(d->host_features & (F_SIZE | F_MULTIPORT));
    assert_true(d->vq[RXQ].max_size >= 64 && d->vq[TXQ].max_size >= 64);
    uint8_t cfg[12];
    memset(cfg, 0xee, sizeof(cfg));
    pthread_mutex_lock(&d->lock);
    d->ops->config_read(d, 0, cfg, sizeof(cfg));
    pthread_mutex_unlock(&d->lock);
    static const uint8_t want[12] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(cfg, want, sizeof(want));
    uint16_t max_ports;
    pthread_mutex_lock(&d->lock);
    d->ops->config_read(d, 4, &max_ports, 2);
    pthread_mutex_unlock(&d->lock);
    assert_int_equal(max_ports, 1);
}

static void test_output_and_emergency(void **state)
{
    struct env *e = *state;
    hostdev(e, HOSTDEV_OUT, e->out);
    start(e);
    memcpy(vd_ptr(&e->v, VD_DATA), "hello ", 6);
    memcpy(vd_ptr(&e->v, VD_DATA + 0x100), "world\n", 6);
    /* Two readable segments, and a writable one the device ignores. */
    struct vd_seg segs[] = {{VD_DATA, 6, false},
                            {VD_DATA + 0x100, 6, false},
                            {VD_DATA + 0x200, 16, true}};
    unsigned irqs = atomic_load(&e->v.irqs);
    assert_int_equal(vd_request(&e->v, TXQ, segs, 3), 0);
    assert_true(vd_wait_irqs(&e->v, irqs + 1));
    /* emerg_wr, as a 32-bit write and as a byte write. */
    struct virtio_dev *d = e->v.d;
    uint32_t ch = 'E';
    pthread_mutex_lock(&d->lock);
    d->ops->config_write(d, 8, &ch, 4);
    uint8_t b = '!';
    d->ops->config_write(d, 8, &b, 1);
    d->ops->config_write(d, 0, &ch, 4); /* cols: read-only, ignored */
    pthread_mutex_unlock(&d->lock);
    memcpy(vd_ptr(&e->v, VD_DATA), "bye", 3);
    struct vd_seg one = {VD_DATA, 3, false};
    assert_int_equal(vd_request(&e->v, TXQ, &one, 1), 0);
    stop(e);
    char buf[64] = {0};
    assert_int_equal(read_file(e->out, buf, sizeof(buf)), 17);
    assert_string_equal(buf, "hello world\nE!bye");
}

static void test_input(void **state)
{
    struct env *e = *state;
    start_input(e);
    /* Two 8-byte receive buffers. */
    struct vd_seg b0 = {VD_DATA, 8, true}, b1 = {VD_DATA + 0x100, 8, true};
    post(e, RXQ, 0, &b0, 1);
    post(e, RXQ, 1, &b1, 1);
    vd_kick(&e->v, RXQ);
    assert_int_equal(write(e->fd, "hello", 5), 5);
    assert_true(vd_wait(&e->v, RXQ, 1));
    uint32_t id, len;
    used(e, RXQ, 0, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 5);
    assert_memory_equal(vd_ptr(&e->v, VD_DATA), "hello", 5);
    /* 10 bytes, one 8-byte buffer left: 8 delivered, 2 wait. */
    assert_int_equal(write(e->fd, "0123456789", 10), 10);
    assert_true(vd_wait(&e->v, RXQ, 2));
    used(e, RXQ, 1, &id, &len);
    assert_int_equal(id, 1);
    assert_int_equal(len, 8);
    assert_memory_equal(vd_ptr(&e->v, VD_DATA + 0x100), "01234567", 8);
    /* No buffer: the rest stays in the FIFO (not read into qvm), also
     * once the event thread has handled everything due. */
    assert_true(ev_flush(e->v.ctx.ev));
    assert_int_equal(vd_used_idx(&e->v, RXQ), 2);
    int pending = 0;
    assert_int_equal(ioctl(e->fd, FIONREAD, &pending), 0);
    assert_int_equal(pending, 2);
    /* A new buffer and its kick resume the input. */
    struct vd_seg b2 = {VD_DATA + 0x200, 64, true};
    post(e, RXQ, 2, &b2, 1);
    vd_kick(&e->v, RXQ);
    assert_true(vd_wait(&e->v, RXQ, 3));
    used(e, RXQ, 2, &id, &len);
    assert_int_equal(id, 2);
    assert_int_equal(len, 2);
    assert_memory_equal(vd_ptr(&e->v, VD_DATA + 0x200), "89", 2);
    /* A receive chain with nothing writable comes back empty. */
    struct vd_seg ro = {VD_DATA + 0x300, 8, false};
    assert_int_equal(vd_used_idx(&e->v, RXQ), 3);
    post(e, RXQ, 3, &ro, 1);
    vd_kick(&e->v, RXQ);
    assert_true(vd_wait(&e->v, RXQ, 4));
    used(e, RXQ, 3, &id, &len);
    assert_int_equal(len, 0);
}

#define CHAIN (96u * 1024)

static void test_output_backpressure(void **state)
{
    struct env *e = *state;
    e->fd = open(e->fifo, O_RDONLY | O_NONBLOCK); /* a reader, idle */
    assert_true(e->fd >= 0);
    hostdev(e, HOSTDEV_OUT, e->fifo);
    start(e);
    uint8_t *src = vd_ptr(&e->v, VD_DATA);
    for (size_t i = 0; i < 3 * CHAIN; i++)
        src[i] = (uint8_t)(i * 13 + i / 4093);
    for (unsigned c = 0; c < 3; c++) {
        struct vd_seg s = {VD_DATA + c * CHAIN, CHAIN, false};
        post(e, TXQ, (uint16_t)c, &s, 1);
    }
    vd_kick(&e->v, TXQ);
    /* 288 KiB offered, the FIFO (64 KiB) and qvm's buffer (64 KiB) full:
     * the second chain is held, the third not even taken. */
    assert_true(ev_flush(e->v.ctx.ev));
    assert_int_equal(vd_used_idx(&e->v, TXQ), 1);
    uint8_t *got = malloc(3 * CHAIN);
    size_t have = 0;
    /* Each read makes room; the event thread refills the FIFO. A FIFO
     * left empty for VD_WAIT_MS with output pending is the failure. */
    while (have < 3 * CHAIN) {
        struct pollfd p = {.fd = e->fd, .events = POLLIN};
        if (poll(&p, 1, VD_WAIT_MS) <= 0)
            break;
        ssize_t n = read(e->fd, got + have, 3 * CHAIN - have);
        if (n > 0)
            have += (size_t)n;
    }
    assert_int_equal(have, 3 * CHAIN);
    assert_memory_equal(got, src, 3 * CHAIN);
    assert_true(vd_wait(&e->v, TXQ, 3));
    free(got);
}

static void test_reset_forgets_held_buffer(void **state)
{
    struct env *e = *state;
    start_input(e);
    struct vd_seg b0 = {VD_DATA, 8, true};
    post(e, RXQ, 0, &b0, 1);
    vd_kick(&e->v, RXQ); /* popped and held, waiting for input */
    memset(vd_ptr(&e->v, VD_DATA), 0, 8);
    virtio_reset(e->v.d);
    assert_int_equal(write(e->fd, "late", 4), 4);
    assert_true(ev_flush(e->v.ctx.ev));
    assert_int_equal(*(uint8_t *)vd_ptr(&e->v, VD_DATA), 0); /* untouched */
    assert_int_equal(vd_used_idx(&e->v, RXQ), 0);
    /* The driver starts again: the held input goes to its new buffer. */
    vd_start(&e->v, F_EMERG, 2);
    struct vd_seg b1 = {VD_DATA + 0x100, 8, true};
    post(e, RXQ, 0, &b1, 1);
    vd_kick(&e->v, RXQ);
    assert_true(vd_wait(&e->v, RXQ, 1));
    assert_memory_equal(vd_ptr(&e->v, VD_DATA + 0x100), "late", 4);
}

static void test_malformed_tx_loop(void **state)
{
    struct env *e = *state;
    hostdev(e, HOSTDEV_OUT, e->out);
    start(e);
    /* Descriptors 0 -> 1 -> 0 -> ...: a loop. */
    struct vd_seg s[] = {{VD_DATA, 4, false}, {VD_DATA + 4, 4, false}};
    post(e, TXQ, 0, s, 2);
    uint8_t *desc = vd_ptr(&e->v, VD_RING(TXQ));
    uint16_t f = 1, zero = 0;
    memcpy(desc + 16 + 12, &f, 2);
    memcpy(desc + 16 + 14, &zero, 2);
    vd_kick(&e->v, TXQ);
    assert_true(virtio_get_status(e->v.d) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(vd_used_idx(&e->v, TXQ), 0);
    vd_kick(&e->v, TXQ); /* a broken queue is left alone */
    assert_int_equal(vd_used_idx(&e->v, TXQ), 0);
}

static void test_malformed_rx_outside_ram(void **state)
{
    struct env *e = *state;
    start_input(e);
    /* A buffer running past the end of guest RAM. */
    struct vd_seg bad = {VD_RAM - 4, 64, true};
    post(e, RXQ, 0, &bad, 1);
    vd_kick(&e->v, RXQ);
    assert_true(virtio_get_status(e->v.d) & VIRTIO_STATUS_NEEDS_RESET);
    /* Input now is neither read nor written anywhere. */
    assert_int_equal(write(e->fd, "x", 1), 1);
    assert_true(ev_flush(e->v.ctx.ev));
    int pending = 0;
    assert_int_equal(ioctl(e->fd, FIONREAD, &pending), 0);
    assert_int_equal(pending, 1);
    assert_int_equal(vd_used_idx(&e->v, RXQ), 0);
}

static void test_disconnected(void **state)
{
    struct env *e = *state;
    start(e); /* no hostdev: output discarded, no input */
    memcpy(vd_ptr(&e->v, VD_DATA), "lost", 4);
    struct vd_seg s = {VD_DATA, 4, false};
    assert_int_equal(vd_request(&e->v, TXQ, &s, 1), 0);
    struct vd_seg b = {VD_DATA + 0x100, 8, true};
    post(e, RXQ, 0, &b, 1);
    vd_kick(&e->v, RXQ);
    assert_true(ev_flush(e->v.ctx.ev));
    assert_int_equal(vd_used_idx(&e->v, RXQ), 0);
}

static void test_bad_hostdev(void **state)
{
    struct env *e = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/missing/dir", e->dir);
    hostdev(e, HOSTDEV_IN, path);
    struct virtio_dev *d = (struct virtio_dev *)1;
    assert_int_equal(virtio_console_new(e->vd, &e->v.ctx, &d), -1);
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_and_emergency, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_backpressure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_forgets_held_buffer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_tx_loop, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_malformed_rx_outside_ram, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disconnected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_hostdev, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

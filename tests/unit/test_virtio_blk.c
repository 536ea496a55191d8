/*
 * test_virtio_blk.c: virtio-blk (src/virtio/blk.c) against temporary image
 * files, driven through the shared core by a minimal in-test driver
 * (vdrv.h): configuration space and feature offer, reads and writes
 * checked on the host file, FLUSH reaching fdatasync (and a failed
 * fdatasync staying failed), write-through without FLUSH, GET_ID, a
 * read-only disk, out-of-range and malformed requests, DISCARD and
 * WRITE_ZEROES on the file, host I/O errors and a file that shrank, two
 * queues with `threads 2`, `dio enable`, `delayed`, and start-up errors.
 *
 * fdatasync and preadv64 are interposed below (the test executable's
 * definitions win over libc's) to count calls and inject EIO / EINVAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "unpriv.h"
#include "vdrv.h"

#define IMG_SECTORS 256 /* 128 KiB image */
#define F(bit)      (1ull << (bit))
#define F_SIZE_MAX  1
#define F_SEG_MAX   2
#define F_RO        5
#define F_BLK_SIZE  6
#define F_FLUSH     9
#define F_TOPOLOGY  10
#define F_MQ        12
#define F_DISCARD   13
#define F_WZEROES   14
#define T_IN        0
#define T_OUT       1
#define T_FLUSH     4
#define T_GET_ID    8
#define T_DISCARD   11
#define T_WZEROES   13
#define S_OK        0
#define S_IOERR     1
#define S_UNSUPP    2

/* Guest layout of one request: header, data, status. */
#define G_HDR    (VD_DATA)
#define G_DATA   (VD_DATA + 0x1000)
#define G_STATUS (VD_DATA + 0x800)

static atomic_uint syncs;
static atomic_bool sync_fail;
/* sync_gate: fdatasync waits in it while `sync_hold` (reset_waits). */
static atomic_bool sync_hold, sync_inside;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;

int fdatasync(int fd)
{
    pthread_mutex_lock(&gate_lock);
    atomic_store(&sync_inside, true);
    pthread_cond_broadcast(&gate_cv);
    while (atomic_load(&sync_hold))
        pthread_cond_wait(&gate_cv, &gate_lock);
    atomic_store(&sync_inside, false);
    pthread_mutex_unlock(&gate_lock);
    atomic_fetch_add(&syncs, 1);
    if (atomic_load(&sync_fail)) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

/* preadv (preadv64 with 64-bit offsets): count direct reads (on an
 * O_DIRECT descriptor) and fail them with EINVAL on demand. */
static atomic_uint dio_reads;
static atomic_bool dio_einval;

ssize_t preadv64(int fd, const struct iovec *iov, int n, off64_t off)
{
    if (fcntl(fd, F_GETFL) & O_DIRECT) {
        atomic_fetch_add(&dio_reads, 1);
        if (atomic_load(&dio_einval)) {
            errno = EINVAL;
            return -1;
        }
    }
    return syscall(SYS_preadv, fd, iov, n, (long)off, 0L);
}

struct t {
    struct vdrv v;
    struct vm_spec s;
    char path[64];
    int fd; /* the test's own view of the image */
};

/* image: a temporary file of IMG_SECTORS sectors, sector i filled with
 * the byte i. */
static void image(struct t *t)
{
    strcpy(t->path, "/tmp/qvm-blk-test-XXXXXX");
    t->fd = mkstemp(t->path);
    assert_true(t->fd >= 0);
    uint8_t sec[512];
    for (unsigned i = 0; i < IMG_SECTORS; i++) {
        memset(sec, (int)i, sizeof(sec));
        assert_int_equal(pwrite(t->fd, sec, 512, (off_t)i * 512), 512);
    }
}

struct opts {
    bool ro, dio, delayed;
    unsigned threads;
    const char *name;
};

static int make(struct t *t, const struct opts *o)
{
    vd_env(&t->v);
    struct vdev_spec *vd = vd_spec(&t->s, "virtio-blk");
    vd_spec_hostdev(vd, t->path, o->ro);
    if (o->threads)
        vd_spec_opt(vd, "threads", o->threads);
    if (o->dio)
        vd_spec_opt(vd, "dio", 0); /* enable */
    if (o->delayed)
        vd_spec_opt(vd, "delayed", 0);
    if (o->name)
        vd->name = strdup(o->name);
    struct virtio_dev *d = NULL;
    int rc = virtio_blk_new(vd, &t->v.ctx, &d);
    if (rc == 0) {
        assert_non_null(d);
        vd_attach(&t->v, d);
    }
    return rc;
}

static void setup_dev(struct t *t, const struct opts *o, uint64_t features)
{
    image(t);
    assert_int_equal(make(t, o), 0);
    vd_start(&t->v, features, t->v.d->nqueues);
}

static void done(struct t *t)
{
    vd_free(&t->v);
    spec_free(&t->s);
    close(t->fd);
    unlink(t->path);
}

static void hdr(struct t *t, uint32_t type, uint64_t sector)
{
    uint8_t *h = vd_ptr(&t->v, G_HDR);
    memset(h, 0, 16);
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
}

static uint8_t status(struct t *t)
{
    return *(uint8_t *)vd_ptr(&t->v, G_STATUS);
}

/* req: header, one data segment (len bytes at G_DATA, device-writable for
 * reads), status; returns the status byte. */
static uint8_t req(struct t *t, unsigned q, uint32_t type, uint64_t sector,
                   uint32_t len, bool data_writable, int64_t *used)
{
    hdr(t, type, sector);
    *(uint8_t *)vd_ptr(&t->v, G_STATUS) = 0xee;
    struct vd_seg segs[3] = {{G_HDR, 16, false}};
    unsigned n = 1;
    if (len)
        segs[n++] = (struct vd_seg){G_DATA, len, data_writable};
    segs[n++] = (struct vd_seg){G_STATUS, 1, true};
    int64_t u = vd_request(&t->v, q, segs, n);
    assert_true(u >= 0);
    if (used)
        *used = u;
    return status(t);
}

static uint64_t all_features(void)
{
    return F(F_SIZE_MAX) | F(F_SEG_MAX) | F(F_BLK_SIZE) | F(F_FLUSH) |
           F(F_TOPOLOGY) | F(F_DISCARD) | F(F_WZEROES);
}

static void cfg(struct t *t, uint32_t off, void *buf, uint32_t len)
{
    pthread_mutex_lock(&t->v.d->lock);
    t->v.d->ops->config_read(t->v.d, off, buf, len);
    pthread_mutex_unlock(&t->v.d->lock);
}

static uint64_t cfg64(struct t *t, uint32_t off)
{
    uint64_t v = 0;
    cfg(t, off, &v, 8);
    return v;
}

static uint32_t cfg32(struct t *t, uint32_t off)
{
    uint32_t v = 0;
    cfg(t, off, &v, 4);
    return v;
}

static uint16_t cfg16(struct t *t, uint32_t off)
{
    uint16_t v = 0;
    cfg(t, off, &v, 2);
    return v;
}

/* ---- tests ---- */

static void config_space(void **state)
{
    (void)state;
    struct t t;
    image(&t);
    assert_int_equal(make(&t, &(struct opts){0}), 0);
    struct virtio_dev *d = t.v.d;
    assert_int_equal(d->id, VIRTIO_ID_BLOCK);
    assert_int_equal(d->nqueues, 1);
    assert_true(d->config_len >= 60);
    uint64_t f = d->host_features;
    assert_true(f & F(F_FLUSH));
    assert_true(f & F(F_BLK_SIZE));
    assert_true(f & F(F_SEG_MAX));
    assert_true(f & F(F_DISCARD));
    assert_true(f & F(F_WZEROES));
    assert_false(f & F(F_RO));
    assert_false(f & F(F_MQ));
    assert_int_equal(cfg64(&t, 0), IMG_SECTORS);
    uint32_t seg_max = cfg32(&t, 12);
    assert_true(seg_max >= 1 && seg_max <= VQ_MAX_SEGS - 2);
    assert_true(cfg32(&t, 8) >= 4096); /* size_max */
    assert_int_equal(cfg32(&t, 20), 512);
    assert_int_equal(cfg16(&t, 34), 1); /* num_queues */
    assert_true(cfg32(&t, 36) > 0);     /* max_discard_sectors */
    assert_true(cfg32(&t, 40) > 0);     /* max_discard_seg */
    assert_true(cfg32(&t, 48) > 0);     /* max_write_zeroes_sectors */
    assert_true(cfg32(&t, 52) > 0);
    /* A read straddling the end is clamped, not an overrun. */
    uint8_t tail[8];
    memset(tail, 0xff, sizeof(tail));
    cfg(&t, d->config_len - 4, tail, 4);
    assert_true(d->vq[0].max_size >= 64);
    done(&t);
}

static void read_write(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){0}, all_features());
    /* Read sectors 3-4: the bytes 3 and 4. */
    int64_t used;
    uint8_t *data = vd_ptr(&t.v, G_DATA);
    memset(data, 0xcc, 2048);
    assert_int_equal(req(&t, 0, T_IN, 3, 1024, true, &used), S_OK);
    assert_int_equal(used, 1025);
    for (unsigned i = 0; i < 512; i++) {
        assert_int_equal(data[i], 3);
        assert_int_equal(data[512 + i], 4);
    }
    assert_int_equal(data[1024], 0xcc);
    /* Write sector 10 and check the host file. */
    for (unsigned i = 0; i < 1024; i++)
        data[i] = (uint8_t)(i * 7);
    assert_int_equal(req(&t, 0, T_OUT, 10, 1024, false, &used), S_OK);
    assert_int_equal(used, 1);
    uint8_t back[1024];
    assert_int_equal(pread(t.fd, back, 1024, 10 * 512), 1024);
    assert_memory_equal(back, data, 1024);
    assert_int_equal(pread(t.fd, back, 512, 9 * 512), 512);
    assert_int_equal(back[0], 9); /* neighbour untouched */
    assert_int_equal(pread(t.fd, back, 512, 12 * 512), 512);
    assert_int_equal(back[0], 12);
    /* Several segments in one request, header and status in one
     * descriptor each, data split in three unequal pieces. */
    hdr(&t, T_IN, 20);
    struct vd_seg segs[] = {{G_HDR, 16, false},
                            {G_DATA, 100, true},
                            {G_DATA + 0x2000, 412, true},
                            {G_DATA + 0x3000, 512, true},
                            {G_STATUS, 1, true}};
    assert_int_equal(vd_request(&t.v, 0, segs, 5), 1025);
    assert_int_equal(status(&t), S_OK);
    assert_int_equal(data[99], 20);
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, G_DATA + 0x2000 + 411), 20);
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, G_DATA + 0x3000), 21);
    /* Status byte at the end of the data descriptor (no own segment). */
    hdr(&t, T_IN, 30);
    uint8_t *last = vd_ptr(&t.v, G_DATA + 512);
    *last = 0xee;
    struct vd_seg joined[] = {{G_HDR, 16, false}, {G_DATA, 513, true}};
    assert_int_equal(vd_request(&t.v, 0, joined, 2), 513);
    assert_int_equal(*last, S_OK);
    assert_int_equal(data[0], 30);
    /* Interrupts were raised. */
    assert_true(vd_wait_irqs(&t.v, 4));
    done(&t);
}

static void flush(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){0}, all_features());
    unsigned before = atomic_load(&syncs);
    assert_int_equal(req(&t, 0, T_FLUSH, 0, 0, false, NULL), S_OK);
    assert_int_equal(atomic_load(&syncs), before + 1);
    /* Writes do not sync when FLUSH was negotiated (write-back). */
    assert_int_equal(req(&t, 0, T_OUT, 1, 512, false, NULL), S_OK);
    assert_int_equal(atomic_load(&syncs), before + 1);
    /* A failed fdatasync fails that flush and every later one. */
    atomic_store(&sync_fail, true);
    assert_int_equal(req(&t, 0, T_FLUSH, 0, 0, false, NULL), S_IOERR);
    atomic_store(&sync_fail, false);
    assert_int_equal(req(&t, 0, T_FLUSH, 0, 0, false, NULL), S_IOERR);
    done(&t);
}

/* A reset while a worker is inside a request returns only once the worker
 * is out of it (nothing touches guest memory after reset returns): the
 * flush is held in fdatasync; the reset, on another thread, must not
 * return before the flush is let go. */
static atomic_bool reset_done, reset_saw_worker_inside;

static void *reset_thread(void *arg)
{
    struct t *t = arg;
    virtio_set_status(t->v.d, 0, true);
    atomic_store(&reset_saw_worker_inside, atomic_load(&sync_inside));
    atomic_store(&reset_done, true);
    return NULL;
}

static void reset_waits(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){0}, all_features());
    atomic_store(&sync_hold, true);
    hdr(&t, T_FLUSH, 0);
    struct vd_seg segs[2] = {{G_HDR, 16, false}, {G_STATUS, 1, true}};
    vd_post(&t.v, 0, segs, 2);
    vd_kick(&t.v, 0);
    pthread_mutex_lock(&gate_lock);
    while (!atomic_load(&sync_inside))
        pthread_cond_wait(&gate_cv, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    pthread_t th;
    atomic_store(&reset_done, false);
    assert_int_equal(pthread_create(&th, NULL, reset_thread, &t), 0);
    /* Give a reset that does not wait every chance to return early. */
    for (int i = 0; i < 200 && !atomic_load(&reset_done); i++)
        vd_sleep_ms(1);
    assert_false(atomic_load(&reset_done));
    pthread_mutex_lock(&gate_lock);
    atomic_store(&sync_hold, false);
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_lock);
    pthread_join(th, NULL);
    assert_true(atomic_load(&reset_done));
    assert_false(atomic_load(&reset_saw_worker_inside));
    done(&t);
}

static void writethrough_without_flush(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){0}, all_features() & ~F(F_FLUSH));
    unsigned before = atomic_load(&syncs);
    assert_int_equal(req(&t, 0, T_OUT, 2, 512, false, NULL), S_OK);
    assert_int_equal(atomic_load(&syncs), before + 1);
    assert_int_equal(req(&t, 0, T_IN, 2, 512, true, NULL), S_OK);
    assert_int_equal(atomic_load(&syncs), before + 1);
    done(&t);
}

/* `sched`: each worker thread takes the vdev's policy and priority, or
 * says the host refused it (one warning per device). */
static pthread_mutex_t sched_lines_lock = PTHREAD_MUTEX_INITIALIZER;
static char sched_lines[4096];

static void sched_sink(enum log_class c, const char *line)
{
    (void)c;
    pthread_mutex_lock(&sched_lines_lock);
    size_t n = strlen(sched_lines);
    snprintf(sched_lines + n, sizeof(sched_lines) - n, "%s\n", line);
    pthread_mutex_unlock(&sched_lines_lock);
}

static void sched_workers(void **state)
{
    (void)state;
    struct t t;
    image(&t);
    vd_env(&t.v);
    struct vdev_spec *vd = vd_spec(&t.s, "virtio-blk");
    vd_spec_hostdev(vd, t.path, false);
    vd_spec_opt(vd, "threads", 2);
    vd_spec_opt(vd, "sched", 5);
    vd->opts.v[vd->opts.n - 1].num2 = SCHED_P_FIFO;
    vd->name = strdup("disk7");
    sched_lines[0] = 0;
    log_set_sink(sched_sink);
    log_set_dest(LOG_DEBUG, LOGD_STDERR);
    struct virtio_dev *d = NULL;
    assert_int_equal(virtio_blk_new(vd, &t.v.ctx, &d), 0);
    vd_attach(&t.v, d);
    vd_start(&t.v, all_features() | F(F_MQ), 2);
    /* a request served on each queue: both workers are past their start */
    assert_int_equal(req(&t, 0, T_IN, 1, 512, true, NULL), S_OK);
    assert_int_equal(req(&t, 1, T_IN, 2, 512, true, NULL), S_OK);
    log_set_sink(NULL);
    log_set_dest(LOG_DEBUG, LOGD_NONE);
    /* the SIGUSR1 report's line: status and each queue's progress */
    char rep[320];
    virtio_report(t.v.d, rep, sizeof(rep));
    if (!strstr(rep, "driver-ok") ||
        !strstr(rep, "; blk.rq0 size 16 avail 1 used 1; blk.rq1 size 16 "
                     "avail 1 used 1"))
        fail_msg("report: %s", rep);
    bool ok0 = strstr(sched_lines, "disk7 queue 0 worker: runs SCHED_FIFO "
                                   "priority 5") != NULL;
    bool ok1 = strstr(sched_lines, "disk7 queue 1 worker: runs SCHED_FIFO "
                                   "priority 5") != NULL;
    const char *refused = strstr(sched_lines, "the host refused SCHED_FIFO "
                                              "priority 5");
    if (!(ok0 && ok1)) {
        /* not allowed here (no CAP_SYS_NICE, no RLIMIT_RTPRIO): one
         * warning for the device, not one per worker */
        if (!refused)
            fail_msg("neither applied nor warned:\n%s", sched_lines);
        assert_null(strstr(refused + 1, "the host refused"));
    }
    done(&t);
}

static void get_id(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){.name = "disk0"}, all_features());
    uint8_t *data = vd_ptr(&t.v, G_DATA);
    memset(data, 0xcc, 32);
    int64_t used;
    assert_int_equal(req(&t, 0, T_GET_ID, 0, 20, true, &used), S_OK);
    assert_int_equal(used, 21);
    assert_memory_equal(data, "disk0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
    assert_int_equal(data[20], 0xcc);
    done(&t);
    /* Without a name: the image's base name (19 bytes), NUL-padded. */
    setup_dev(&t, &(struct opts){0}, all_features());
    data = vd_ptr(&t.v, G_DATA);
    const char *base = strrchr(t.path, '/') + 1;
    assert_int_equal(strlen(base), 19);
    assert_int_equal(req(&t, 0, T_GET_ID, 0, 20, true, NULL), S_OK);
    assert_memory_equal(data, base, 19);
    assert_int_equal(data[19], 0);
    /* A short buffer gets what fits. */
    memset(data, 0xcc, 32);
    int64_t used2;
    assert_int_equal(req(&t, 0, T_GET_ID, 0, 4, true, &used2), S_OK);
    assert_int_equal(used2, 5);
    assert_memory_equal(data, base, 4);
    assert_int_equal(data[4], 0xcc);
    done(&t);
}

static void read_only(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){.ro = true}, F(F_RO) | F(F_FLUSH));
    assert_true(t.v.d->host_features & F(F_RO));
    assert_false(t.v.d->host_features & F(F_DISCARD));
    uint8_t *data = vd_ptr(&t.v, G_DATA);
    memset(data, 0x77, 512);
    assert_int_equal(req(&t, 0, T_OUT, 5, 512, false, NULL), S_IOERR);
    uint8_t back[512];
    assert_int_equal(pread(t.fd, back, 512, 5 * 512), 512);
    assert_int_equal(back[0], 5);
    /* Discard and write-zeroes sent anyway are refused too. */
    uint64_t range[2] = {5, 1};
    memcpy(data, range, 16);
    assert_int_equal(req(&t, 0, T_WZEROES, 0, 16, false, NULL), S_IOERR);
    assert_int_equal(req(&t, 0, T_DISCARD, 0, 16, false, NULL), S_IOERR);
    assert_int_equal(pread(t.fd, back, 512, 5 * 512), 512);
    assert_int_equal(back[0], 5);
    /* Reads work. */
    assert_int_equal(req(&t, 0, T_IN, 6, 512, true, NULL), S_OK);
    assert_int_equal(data[0], 6);
    done(&t);
}

static void out_of_range(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){0}, all_features());
    assert_int_equal(req(&t, 0, T_IN, IMG_SECTORS - 1, 512, true, NULL), S_OK);
    assert_int_equal(req(&t, 0, T_IN, IMG_SECTORS - 1, 1024, true, NULL),
                     S_IOERR);
    assert_int_equal(req(&t, 0, T_IN, IMG_SECTORS, 512, true, NULL), S_IOERR);
    assert_int_equal(req(&t, 0, T_OUT, IMG_SECTORS, 512, false, NULL), S_IOERR);
    assert_int_equal(req(&t, 0, T_OUT, UINT64_MAX, 512, false, NULL), S_IOERR);
    assert_int_equal(req(&t, 0, T_IN, UINT64_MAX / 512, 512, true, NULL),
                     S_IOERR);
    /* Data not a whole number of sectors. */
    assert_int_equal(req(&t, 0, T_IN, 0, 100, true, NULL), S_IOERR);
    assert_int_equal(req(&t, 0, T_OUT, 0, 513, false, NULL), S_IOERR);
    struct stat st;
    assert_int_equal(fstat(t.fd, &st), 0);
    assert_int_equal(st.st_size, IMG_SECTORS * 512); /* nothing appended */
    done(&t);
}

static void malformed(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){0}, all_features());
    /* Unknown type. */
    assert_int_equal(req(&t, 0, 99, 0, 0, false, NULL), S_UNSUPP);
    /* Header too short (8 readable bytes). */
    hdr(&t, T_IN, 0);
    struct vd_seg shorthdr[] = {{G_HDR, 8, false}, {G_STATUS, 1, true}};
    *(uint8_t *)vd_ptr(&t.v, G_STATUS) = 0xee;
    assert_int_equal(vd_request(&t.v, 0, shorthdr, 2), 1);
    assert_int_equal(status(&t), S_IOERR);
    /* Writable header: nothing readable at all. */
    struct vd_seg wrhdr[] = {{G_HDR, 16, true}, {G_STATUS, 1, true}};
    *(uint8_t *)vd_ptr(&t.v, G_STATUS) = 0xee;
    assert_int_equal(vd_request(&t.v, 0, wrhdr, 2), 1);
    assert_int_equal(status(&t), S_IOERR);
    /* The device still works. */
    assert_int_equal(req(&t, 0, T_IN, 7, 512, true, NULL), S_OK);
    assert_false(virtio_get_status(t.v.d) & VIRTIO_STATUS_NEEDS_RESET);
    /* No status byte (nothing writable): NEEDS_RESET, no used entry. */
    uint16_t used_before = vd_used_idx(&t.v, 0);
    struct vd_seg nostatus[] = {{G_HDR, 16, false}, {G_DATA, 512, false}};
    hdr(&t, T_OUT, 0);
    vd_post(&t.v, 0, nostatus, 2);
    vd_kick(&t.v, 0);
    assert_true(vd_wait_status(&t.v, VIRTIO_STATUS_NEEDS_RESET));
    assert_int_equal(vd_used_idx(&t.v, 0), used_before);
    uint8_t back[512];
    assert_int_equal(pread(t.fd, back, 512, 0), 512);
    assert_int_equal(back[0], 0); /* the write was not done */
    /* A reset joins the workers; the device starts again. */
    virtio_reset(t.v.d);
    vd_start(&t.v, all_features(), 1);
    assert_int_equal(req(&t, 0, T_IN, 8, 512, true, NULL), S_OK);
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, G_DATA), 8);
    /* A ring pointing outside guest RAM: NEEDS_RESET, no crash. */
    struct vd_seg outside[] = {{VD_RAM - 8, 16, false}, {G_STATUS, 1, true}};
    vd_post(&t.v, 0, outside, 2);
    vd_kick(&t.v, 0);
    assert_true(vd_wait_status(&t.v, VIRTIO_STATUS_NEEDS_RESET));
    done(&t);
}

static void ranges(struct t *t, uint32_t type, uint64_t sector, uint32_t n,
                   uint32_t flags, uint8_t want)
{
    uint8_t *data = vd_ptr(&t->v, G_DATA);
    memcpy(data, &sector, 8);
    memcpy(data + 8, &n, 4);
    memcpy(data + 12, &flags, 4);
    assert_int_equal(req(t, 0, type, 0, 16, false, NULL), want);
}

static void discard_zeroes(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){0}, all_features());
    uint8_t back[512 * 4];
    /* WRITE_ZEROES sectors 40-41, then with UNMAP 50-51. */
    ranges(&t, T_WZEROES, 40, 2, 0, S_OK);
    assert_int_equal(pread(t.fd, back, sizeof(back), 39 * 512), sizeof(back));
    assert_int_equal(back[0], 39);
    for (unsigned i = 512; i < 1536; i++)
        assert_int_equal(back[i], 0);
    assert_int_equal(back[1536], 42);
    ranges(&t, T_WZEROES, 50, 2, 1, S_OK);
    assert_int_equal(pread(t.fd, back, sizeof(back), 49 * 512), sizeof(back));
    assert_int_equal(back[0], 49);
    for (unsigned i = 512; i < 1536; i++)
        assert_int_equal(back[i], 0);
    assert_int_equal(back[1536], 52);
    /* DISCARD 60-61: succeeds, keeps the size and the neighbours. */
    ranges(&t, T_DISCARD, 60, 2, 0, S_OK);
    assert_int_equal(pread(t.fd, back, sizeof(back), 59 * 512), sizeof(back));
    assert_int_equal(back[0], 59);
    assert_int_equal(back[1536], 62);
    struct stat st;
    assert_int_equal(fstat(t.fd, &st), 0);
    assert_int_equal(st.st_size, IMG_SECTORS * 512);
    /* DISCARD with the unmap flag, unknown flags: UNSUPP. */
    ranges(&t, T_DISCARD, 60, 2, 1, S_UNSUPP);
    ranges(&t, T_WZEROES, 60, 2, 2, S_UNSUPP);
    /* Out of range, or a range list of the wrong size: IOERR. */
    ranges(&t, T_WZEROES, IMG_SECTORS - 1, 2, 0, S_IOERR);
    ranges(&t, T_DISCARD, UINT64_MAX, 1, 0, S_IOERR);
    assert_int_equal(req(&t, 0, T_DISCARD, 0, 8, false, NULL), S_IOERR);
    /* Two ranges in one request. */
    uint64_t two[4] = {70, 1, 72, 1};
    memcpy(vd_ptr(&t.v, G_DATA), two, sizeof(two));
    assert_int_equal(req(&t, 0, T_WZEROES, 0, 32, false, NULL), S_OK);
    assert_int_equal(pread(t.fd, back, 512 * 3, 70 * 512), 512 * 3);
    assert_int_equal(back[0], 0);
    assert_int_equal(back[512], 71);
    assert_int_equal(back[1024], 0);
    done(&t);
}

static void host_errors(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){0}, all_features());
    /* The image shrinks under the running disk: reads past the new end
     * are zero-filled; a write that would grow the file past the process'
     * file size limit fails with EFBIG, an I/O error for the guest. */
    assert_int_equal(ftruncate(t.fd, 8 * 512), 0);
    uint8_t *data = vd_ptr(&t.v, G_DATA);
    memset(data, 0xcc, 1024);
    assert_int_equal(req(&t, 0, T_IN, 7, 1024, true, NULL), S_OK);
    assert_int_equal(data[0], 7);
    for (unsigned i = 512; i < 1024; i++)
        assert_int_equal(data[i], 0);
    struct rlimit old, lim = {8 * 512, 8 * 512};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint8_t st = req(&t, 0, T_OUT, 100, 512, false, NULL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, S_IOERR);
    /* Not fatal: the next request works. */
    assert_int_equal(req(&t, 0, T_OUT, 3, 512, false, NULL), S_OK);
    done(&t);
}

static void multiqueue(void **state)
{
    (void)state;
    struct t t;
    image(&t);
    assert_int_equal(make(&t, &(struct opts){.threads = 2}), 0);
    assert_int_equal(t.v.d->nqueues, 2);
    assert_true(t.v.d->host_features & F(F_MQ));
    assert_int_equal(cfg16(&t, 34), 2);
    vd_start(&t.v, all_features() | F(F_MQ), 2);
    /* A read on queue 1 into its own buffers, then one on queue 0. */
    hdr(&t, T_IN, 33);
    uint64_t h1 = VD_DATA + 0x40000;
    memcpy(vd_ptr(&t.v, h1), vd_ptr(&t.v, G_HDR), 16);
    struct vd_seg q1[] = {
        {h1, 16, false}, {h1 + 0x1000, 512, true}, {h1 + 0x800, 1, true}};
    assert_int_equal(vd_request(&t.v, 1, q1, 3), 513);
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, h1 + 0x800), S_OK);
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, h1 + 0x1000), 33);
    assert_int_equal(req(&t, 0, T_IN, 34, 512, true, NULL), S_OK);
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, G_DATA), 34);
    /* Both queues at once. */
    hdr(&t, T_IN, 35);
    memcpy(vd_ptr(&t.v, h1 + 8), &(uint64_t){36}, 8);
    struct vd_seg q0[] = {
        {G_HDR, 16, false}, {G_DATA, 512, true}, {G_STATUS, 1, true}};
    vd_post(&t.v, 0, q0, 3);
    vd_post(&t.v, 1, q1, 3);
    vd_kick(&t.v, 1);
    vd_kick(&t.v, 0);
    assert_true(vd_wait(&t.v, 0, t.v.avail_idx[0]));
    assert_true(vd_wait(&t.v, 1, t.v.avail_idx[1]));
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, G_DATA), 35);
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, h1 + 0x1000), 36);
    done(&t);
}

static bool in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

static void direct_io(void **state)
{
    (void)state;
    struct t t;
    setup_dev(&t, &(struct opts){.dio = true}, all_features());
    uint8_t *data = vd_ptr(&t.v, G_DATA);
    /* Does the file system of the image do O_DIRECT at all? */
    int probe = open(t.path, O_RDONLY | O_DIRECT);
    bool host_dio = probe >= 0;
    if (probe >= 0)
        close(probe);
    else if (in_ci())
        fail_msg("no O_DIRECT on /tmp under CI=true");
    else
        print_message("# no O_DIRECT on the image's file system: only the "
                      "buffered path is checked, then skipped\n");
    /* Aligned: direct. */
    unsigned direct = atomic_load(&dio_reads);
    assert_int_equal(req(&t, 0, T_IN, 9, 4096, true, NULL), S_OK);
    assert_int_equal(data[0], 9);
    assert_int_equal(data[4095], 16);
    assert_int_equal(atomic_load(&dio_reads), direct + (host_dio ? 1 : 0));
    memset(data, 0x3c, 4096);
    assert_int_equal(req(&t, 0, T_OUT, 16, 4096, false, NULL), S_OK);
    uint8_t back[4096];
    assert_int_equal(pread(t.fd, back, 4096, 16 * 512), 4096);
    assert_int_equal(back[0], 0x3c);
    assert_int_equal(back[4095], 0x3c);
    /* Unaligned buffer: the buffered descriptor serves it. */
    hdr(&t, T_IN, 30);
    struct vd_seg odd[] = {
        {G_HDR, 16, false}, {G_DATA + 3, 512, true}, {G_STATUS, 1, true}};
    assert_int_equal(vd_request(&t.v, 0, odd, 3), 513);
    assert_int_equal(status(&t), S_OK);
    assert_int_equal(data[3], 30);
    assert_int_equal(data[3 + 511], 30);
    hdr(&t, T_OUT, 31);
    memset(data + 3, 0x4d, 512);
    odd[1].writable = false;
    assert_int_equal(vd_request(&t.v, 0, odd, 3), 1);
    assert_int_equal(status(&t), S_OK);
    assert_int_equal(pread(t.fd, back, 512, 31 * 512), 512);
    assert_int_equal(back[0], 0x4d);
    assert_int_equal(back[511], 0x4d);
    assert_int_equal(req(&t, 0, T_FLUSH, 0, 0, false, NULL), S_OK);
    /* Unaligned reads did not go direct. */
    direct = atomic_load(&dio_reads);
    hdr(&t, T_IN, 30);
    odd[1].writable = true;
    assert_int_equal(vd_request(&t.v, 0, odd, 3), 513);
    assert_int_equal(atomic_load(&dio_reads), direct);
    /* The host refuses direct I/O (EINVAL): the request still succeeds
     * through the buffered descriptor, and later ones stay buffered. */
    atomic_store(&dio_einval, true);
    memset(data, 0, 4096);
    assert_int_equal(req(&t, 0, T_IN, 40, 4096, true, NULL), S_OK);
    assert_int_equal(data[0], 40);
    assert_int_equal(data[4095], 47);
    atomic_store(&dio_einval, false);
    direct = atomic_load(&dio_reads);
    assert_int_equal(req(&t, 0, T_IN, 48, 4096, true, NULL), S_OK);
    assert_int_equal(data[0], 48);
    assert_int_equal(atomic_load(&dio_reads), direct);
    done(&t);
    if (!host_dio)
        skip(); /* the direct path went unchecked: say so */
}

static void delayed_open(void **state)
{
    (void)state;
    struct t t;
    image(&t);
    /* delayed: nothing opened at start-up, so a missing file is not an
     * error yet; the disk has no capacity and requests fail. */
    unlink(t.path);
    assert_int_equal(make(&t, &(struct opts){.delayed = true}), 0);
    assert_int_equal(cfg64(&t, 0), 0);
    vd_start(&t.v, all_features(), 1);
    assert_int_equal(req(&t, 0, T_IN, 0, 512, true, NULL), S_IOERR);
    done(&t);
    /* The file there: opened on the first configuration read. */
    image(&t);
    assert_int_equal(make(&t, &(struct opts){.delayed = true}), 0);
    assert_int_equal(cfg64(&t, 0), IMG_SECTORS);
    vd_start(&t.v, all_features(), 1);
    assert_int_equal(req(&t, 0, T_IN, 4, 512, true, NULL), S_OK);
    assert_int_equal(*(uint8_t *)vd_ptr(&t.v, G_DATA), 4);
    done(&t);
}

/* In the unprivileged child (unpriv.h): the device refuses the file. */
static bool refused(void *arg)
{
    return make(arg, &(struct opts){0}) == -1;
}

static void open_errors(void **state)
{
    (void)state;
    struct t t;
    image(&t);
    unlink(t.path);
    assert_int_equal(make(&t, &(struct opts){0}), -1);
    vd_free(&t.v);
    spec_free(&t.s);
    close(t.fd);
    /* A directory is neither a file nor a block device. */
    strcpy(t.path, "/tmp");
    t.fd = -1;
    assert_int_equal(make(&t, &(struct opts){0}), -1);
    vd_free(&t.v);
    spec_free(&t.s);
    /* A file only readable: an error without `<`. Root may write it
     * anyway: then this is checked as nobody, in a child. */
    image(&t);
    assert_int_equal(fchmod(t.fd, 0444), 0);
    int held = as_unprivileged(refused, &t);
    if (held < 0) {
        done(&t);
        print_message("# ci-not-applicable: root cannot drop to uid %d "
                      "here (no CAP_SETUID), and root may write a "
                      "read-only file\n",
                      UNPRIV_ID);
        skip();
    }
    assert_int_equal(held, 1);
    if (geteuid() != 0) {
        vd_free(&t.v);
        spec_free(&t.s);
    }
    assert_int_equal(make(&t, &(struct opts){.ro = true}), 0);
    done(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_space),
        cmocka_unit_test(read_write),
        cmocka_unit_test(flush),
        cmocka_unit_test(reset_waits),
        cmocka_unit_test(sched_workers),
        cmocka_unit_test(writethrough_without_flush),
        cmocka_unit_test(get_id),
        cmocka_unit_test(read_only),
        cmocka_unit_test(out_of_range),
        cmocka_unit_test(malformed),
        cmocka_unit_test(discard_zeroes),
        cmocka_unit_test(host_errors),
        cmocka_unit_test(multiqueue),
        cmocka_unit_test(direct_io),
        cmocka_unit_test(delayed_open),
        cmocka_unit_test(open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

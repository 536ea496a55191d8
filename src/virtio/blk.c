/*
 * blk.c: virtio-blk (`vdev virtio-blk`, qvm-reference.md 4.4; virtio 1.2,
 * 5.2) backed by a host file or block device.
 *
 * Requests: IN, OUT, FLUSH (fdatasync), GET_ID, DISCARD (punch a hole;
 * BLKDISCARD on a block device) and WRITE_ZEROES (zero or punch a range,
 * BLKZEROOUT, or write zeroes when the host cannot). Anything else is
 * VIRTIO_BLK_S_UNSUPP. Every request is checked: a header of 16 readable
 * bytes, a status byte (the last writable byte), data lengths in whole
 * 512-byte sectors and sector ranges inside the capacity; a bad request
 * completes with VIRTIO_BLK_S_IOERR. A request without any writable byte
 * has nowhere to put a status, so the device asks for a reset instead
 * (virtio_needs_reset) and stops using that queue.
 *
 * Durability (docs/reliability.md section 2): VIRTIO_BLK_F_FLUSH is
 * offered and a FLUSH completes only after fdatasync() returned 0. A
 * driver that does not negotiate FLUSH gets a write-through disk
 * (fdatasync after every write). A failed fdatasync is permanent: every
 * later FLUSH fails too (no retry that could report lost data as durable).
 * Host I/O errors fail that request with IOERR and are never fatal; a read
 * past the end of a file that shrank is zero-filled.
 *
 * `hostdev <PATH`: read-only (VIRTIO_BLK_F_RO; OUT, DISCARD and
 * WRITE_ZEROES fail with IOERR). A disk that can only be opened read-only
 * without `<` is an error at start-up. `dio enable`: a second descriptor
 * opened with O_DIRECT carries the requests whose buffers and offset meet
 * the host's direct I/O alignment; the others use the buffered one, and
 * an EINVAL from direct I/O switches to buffered I/O for good (logged
 * once). `threads N`: N request queues (VIRTIO_BLK_F_MQ when N > 1), each
 * served by its own worker thread. `delayed SECS|forever`: the file is
 * opened on the guest's first access (configuration read, DRIVER_OK or a
 * kick) instead of at start-up, retried at most once a second for SECS
 * seconds; until then the disk has capacity 0 and requests fail, and the
 * driver is told of the new capacity (configuration change) when it opens.
 * The device ID (GET_ID) is the vdev `name`, else the backing file's base
 * name, or, when longer than 20 bytes, its head and a hash of the path.
 *
 * Context: config_read on vCPU threads, notify on the I/O event thread,
 * both under d->lock (taken by the core). notify only wakes the queue's
 * worker; the workers pop, do the host I/O, push and interrupt without
 * d->lock. The workers are created with the device and live as long as it
 * does: activate lets them serve, reset parks them and waits until none
 * is inside its ring, so nothing touches guest memory once reset returns.
 * (A worker created at DRIVER_OK, as before, could wait seconds for its
 * first time slice on a one-CPU host while the vCPU thread spun polling:
 * a new thread does not preempt, a woken sleeper does. Seen in the nested
 * lab as virtio-bad's "NOT recovered".)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "config/schema.h"
#include "devices/dev_sched.h"
#include "util/ckd.h"
#include "util/le.h"
#include "util/log.h"
#include "virtio/virtio.h"
#include "vm/confine.h"

#define TAG "virtio-blk"

/* Feature bits (virtio 1.2, 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2
#define VIRTIO_BLK_WZ_UNMAP       1u

#define BLK_ID_BYTES  20
#define BLK_QSIZE     256
#define BLK_HDR       16 /* type, ioprio, sector */
#define BLK_RANGE     16 /* discard/write-zeroes segment */
#define BLK_CFG_LEN   60 /* through write_zeroes_may_unmap + padding */
#define SECTOR        512u
#define SEG_MAX       (VQ_MAX_SEGS - 2) /* data segments: header, status */
#define SIZE_MAX_SEG  VQ_MAX_SEG_LEN
#define MAX_RANGE_SEC (1u << 22) /* 2 GiB per discard/zeroes range */
#define MAX_RANGES    32
#define ZBUF_LEN      (64u * 1024)

struct blk;

struct blk_worker {
    struct blk *b;
    unsigned q;
    pthread_t th;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* any change of the four below */
    bool run;            /* under lock: serving (activate .. reset) */
    bool kick;           /* under lock: look at the ring */
    bool busy;           /* under lock: in serve(), outside the lock */
    bool quit;           /* under lock: the device goes */
    atomic_bool stop;    /* set by reset: serve() stops early */
    bool failed;         /* the queue needs a reset: no more pops (set by the
                            worker while busy, cleared while it is parked) */
    struct vq_elem elem;
    struct iovec io[VQ_MAX_SEGS]; /* a request's data segments */
};

struct blk {
    struct virtio_dev dev;
    char *path;
    bool ro, want_dio;
    /* `delayed`: open on first access (under d->lock). */
    bool delayed, opened, gave_up, tried, warned;
    uint64_t delay_s;
    struct timespec first_try, last_try;
    /* What an open publishes, as one pointer: NULL until opened (a
     * `delayed` open happens while workers may already run requests: they
     * load `files` once and see either nothing or all of it). */
    struct blk_files {
        /* fd: the descriptor requests prefer (O_DIRECT with dio); bfd: the
         * buffered one (the same as fd without dio). */
        int fd, bfd;
        uint32_t mem_align, off_align; /* direct I/O alignment */
        bool is_bdev;
    } f;
    _Atomic(const struct blk_files *) files;
    atomic_bool dio_off; /* EINVAL seen: buffered from now on */
    atomic_bool unaligned_seen;
    atomic_uint_fast64_t capacity; /* 512-byte sectors */
    uint32_t blk_size, phys_exp;
    atomic_bool flush_failed;
    bool writethrough; /* FLUSH not negotiated: sync every write */
    bool active;
    struct log_budget rl;
    char id[BLK_ID_BYTES];
    char qnames[VIRTIO_MAX_QUEUES][12];
    struct blk_worker *w;   /* dev.nqueues of them */
    bool inline_serve;      /* no workers: virtio_blk_serve_inline */
    struct dev_sched sched; /* `sched`: each worker applies it to itself */
};

static uint8_t zbuf[ZBUF_LEN] __attribute__((aligned(4096)));

static struct blk *to_blk(struct virtio_dev *d)
{
    return d->priv;
}

/* ---- the backing file ---------------------------------------------------- */

static unsigned log2u(uint32_t v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

/*
 * open_backing: open the path (read-only with `<`), find its size and
 * block sizes, and with `dio` a second, O_DIRECT descriptor. Logs one line
 * and returns -1 on failure.
 */
static int open_backing(struct blk *b)
{
    const char *p = b->path;
    /* `delayed`: a failed try is a warning (once); the give-up is an
     * error. Otherwise the VM cannot start: fatal. */
    enum log_class lc = !b->delayed ? LOG_FATAL
                        : b->warned ? LOG_DEBUG
                                    : LOG_WARN;
    b->warned = b->delayed;
    int fd = open(p, (b->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (!b->ro && (e == EACCES || e == EROFS || e == EPERM))
            log_msg(lc, TAG,
                    "%s: cannot open '%s' for writing: %s (hostdev <%s "
                    "makes a read-only disk)",
                    b->dev.name, p, strerror(e), p);
        else
            log_msg(lc, TAG, "%s: cannot open '%s': %s", b->dev.name, p,
                    strerror(e));
        return -1;
    }
    struct stat st;
    uint64_t size = 0;
    uint32_t lbs = SECTOR, pbs = 4096;
    if (fstat(fd, &st) < 0)
        goto fail_errno;
    if (S_ISBLK(st.st_mode)) {
        int l = 0;
        unsigned int pb = 0;
        if (ioctl(fd, BLKGETSIZE64, &size) < 0)
            goto fail_errno;
        if (ioctl(fd, BLKSSZGET, &l) == 0 && l >= (int)SECTOR &&
            IS_POW2((unsigned)l))
            lbs = (uint32_t)l;
        if (ioctl(fd, BLKPBSZGET, &pb) == 0 && pb >= lbs && IS_POW2(pb))
            pbs = pb;
        else
            pbs = lbs;
        b->f.is_bdev = true;
    } else if (S_ISREG(st.st_mode)) {
        size = (uint64_t)st.st_size;
        if (st.st_blksize >= (blksize_t)SECTOR && st.st_blksize <= 65536 &&
            IS_POW2((uint64_t)st.st_blksize))
            pbs = (uint32_t)st.st_blksize;
    } else {
        log_msg(lc, TAG, "%s: '%s' is not a regular file or a block device",
                b->dev.name, p);
        close(fd);
        return -1;
    }
    if (size % SECTOR)
        log_warn(TAG,
                 "%s: '%s' is %llu bytes, not a multiple of 512; the last "
                 "%llu bytes are not part of the disk",
                 b->dev.name, p, (unsigned long long)size,
                 (unsigned long long)(size % SECTOR));
    b->blk_size = lbs;
    b->phys_exp = pbs > lbs ? log2u(pbs / lbs) : 0;
    b->f.mem_align = b->f.off_align = lbs;
    int dfd = -1;
    if (b->want_dio) {
        dfd = open(p, (b->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_DIRECT);
        if (dfd < 0) {
            log_warn(TAG,
                     "%s: '%s' cannot be opened for direct I/O (%s); "
                     "using buffered I/O",
                     b->dev.name, p, strerror(errno));
        } else {
#ifdef STATX_DIOALIGN
            struct statx sx;
            if (statx(dfd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
                (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
                b->f.mem_align = MAX(sx.stx_dio_mem_align, 1u);
                b->f.off_align = sx.stx_dio_offset_align;
            }
#endif
        }
    }
    b->f.bfd = fd;
    b->f.fd = dfd >= 0 ? dfd : fd;
    atomic_store(&b->capacity, size / SECTOR);
    atomic_store_explicit(&b->files, &b->f, memory_order_release);
    b->opened = true;
    return 0;
fail_errno:
    log_msg(lc, TAG, "%s: '%s': %s", b->dev.name, p, strerror(errno));
    close(fd);
    return -1;
}

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* ensure_open: `delayed`: the guest touched the device. Under d->lock. */
static void ensure_open(struct blk *b)
{
    if (b->opened || b->gave_up)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (b->tried) {
        if (since(&b->last_try, &now) < 1.0)
            return;
    } else {
        b->tried = true;
        b->first_try = now;
    }
    b->last_try = now;
    if (open_backing(b) == 0) {
        log_info(TAG, "%s: '%s' opened (delayed)", b->dev.name, b->path);
        if (b->active)
            virtio_config_changed(&b->dev);
        return;
    }
    if (b->delay_s != UINT64_MAX && since(&b->first_try, &now) >= b->delay_s) {
        b->gave_up = true;
        log_error(TAG,
                  "%s: delayed hostdev '%s' could not be opened; the "
                  "disk stays empty",
                  b->dev.name, b->path);
    }
}

/* ---- requests ------------------------------------------------------------ */

/* The published files, or NULL before the (delayed) open. */
static const struct blk_files *files(struct blk *b)
{
    return atomic_load_explicit(&b->files, memory_order_acquire);
}

static bool aligned(const struct blk_files *f, const struct iovec *v,
                    unsigned n, uint64_t off)
{
    if (off % f->off_align)
        return false;
    for (unsigned i = 0; i < n; i++)
        if ((uintptr_t)v[i].iov_base % f->mem_align ||
            v[i].iov_len % f->off_align)
            return false;
    return true;
}

static void dio_fallback(struct blk *b, int err)
{
    if (!atomic_exchange(&b->dio_off, true))
        log_warn(TAG,
                 "%s: direct I/O on '%s' failed (%s); buffered I/O "
                 "from now on",
                 b->dev.name, b->path, strerror(err));
}

/*
 * rw: read or write w->io[0..n) (len bytes) at byte offset off, looping
 * over EINTR and short transfers. A read that meets the end of the file
 * zero-fills the rest. 0 or -errno.
 */
static int rw(struct blk *b, struct blk_worker *w, bool write, unsigned n,
              uint64_t off, size_t len)
{
    struct iovec *iov = w->io;
    const struct blk_files *f = files(b);
    if (!f)
        return -EIO;
    int dfd = f->fd, bfd = f->bfd;
    bool direct = dfd != bfd && !atomic_load(&b->dio_off);
    if (direct && !aligned(f, iov, n, off)) {
        direct = false;
        if (!atomic_exchange(&b->unaligned_seen, true))
            log_info(TAG,
                     "%s: requests not aligned for direct I/O use "
                     "buffered I/O",
                     b->dev.name);
    }
    int fd = direct ? dfd : bfd;
    unsigned i = 0;
    while (len) {
        ssize_t r = write ? pwritev(fd, iov + i, (int)(n - i), (off_t)off)
                          : preadv(fd, iov + i, (int)(n - i), (off_t)off);
        if (r < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            if (e == EINVAL && direct) {
                dio_fallback(b, e);
                direct = false;
                fd = bfd;
                continue;
            }
            return -e;
        }
        if (r == 0) {
            if (write)
                return -EIO;
            for (; i < n; i++)
                memset(iov[i].iov_base, 0, iov[i].iov_len);
            return 0;
        }
        size_t adv = (size_t)r;
        off += adv;
        len -= MIN(adv, len);
        while (adv && i < n) {
            if (adv >= iov[i].iov_len) {
                adv -= iov[i].iov_len;
                i++;
            } else {
                iov[i].iov_base = (char *)iov[i].iov_base + adv;
                iov[i].iov_len -= adv;
                adv = 0;
            }
        }
    }
    return 0;
}

static bool in_range(struct blk *b, uint64_t sector, uint64_t nsect)
{
    uint64_t cap = atomic_load(&b->capacity);
    return range_within(sector, nsect, cap);
}

static void io_error(struct blk *b, const char *what, uint64_t sector, int e)
{
    log_guest(&b->rl, LOG_ERROR, TAG,
              "%s: %s at sector %llu of '%s': %s (I/O error to the "
              "guest)",
              b->dev.name, what, (unsigned long long)sector, b->path,
              strerror(e));
}

/* sync: fdatasync, permanent failure after the first error. */
static int sync_data(struct blk *b)
{
    if (atomic_load(&b->flush_failed))
        return -EIO;
    const struct blk_files *f = files(b);
    if (!f)
        return -EIO;
    while (fdatasync(f->bfd) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        atomic_store(&b->flush_failed, true);
        log_error(TAG,
                  "%s: fdatasync of '%s' failed: %s; every later flush "
                  "fails",
                  b->dev.name, b->path, strerror(e));
        return -e;
    }
    return 0;
}

static int discard(struct blk *b, uint64_t off, uint64_t len)
{
    const struct blk_files *f = files(b);
    if (!f)
        return -EIO;
    int fd = f->bfd, r;
    if (f->is_bdev) {
        uint64_t range[2] = {off, len};
        r = ioctl(fd, BLKDISCARD, range);
    } else {
        r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)off, (off_t)len);
    }
    if (r == 0)
        return 0;
    /* A discard is a hint: a host that cannot do it keeps the data. */
    if (errno == EOPNOTSUPP || errno == ENOTTY || errno == ENOSYS)
        return 0;
    return -errno;
}

static int write_zeroes(struct blk *b, struct blk_worker *w, uint64_t off,
                        uint64_t len, bool unmap)
{
    const struct blk_files *f = files(b);
    if (!f)
        return -EIO;
    int fd = f->bfd;
    if (f->is_bdev) {
        uint64_t range[2] = {off, len};
        if (ioctl(fd, BLKZEROOUT, range) == 0)
            return 0;
    } else {
        if (unmap && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                               (off_t)off, (off_t)len) == 0)
            return 0;
        if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                      (off_t)off, (off_t)len) == 0)
            return 0;
    }
    /* The host cannot: write zeroes (buffered, from a shared zero page). */
    while (len) {
        if (atomic_load(&w->stop))
            return -EINTR;
        size_t n = (size_t)MIN(len, (uint64_t)ZBUF_LEN);
        ssize_t r = pwrite(fd, zbuf, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
    return 0;
}

/* ranges: DISCARD / WRITE_ZEROES, the segments after the header. */
static uint8_t do_ranges(struct blk *b, struct blk_worker *w,
                         const struct vq_elem *e, bool zeroes)
{
    size_t bytes = e->out_len - BLK_HDR;
    if (bytes == 0 || bytes % BLK_RANGE || bytes / BLK_RANGE > MAX_RANGES)
        return VIRTIO_BLK_S_IOERR;
    if (b->ro)
        return VIRTIO_BLK_S_IOERR;
    size_t n = bytes / BLK_RANGE;
    for (size_t i = 0; i < n; i++) {
        uint8_t s[BLK_RANGE];
        if (vq_copy_from(e, BLK_HDR + i * BLK_RANGE, s, sizeof(s)) != sizeof(s))
            return VIRTIO_BLK_S_IOERR;
        uint64_t sector = le_get64(s);
        uint32_t nsect = le_get32(s + 8), flags = le_get32(s + 12);
        if (flags & ~(zeroes ? VIRTIO_BLK_WZ_UNMAP : 0u))
            return VIRTIO_BLK_S_UNSUPP;
        if (nsect > MAX_RANGE_SEC || !in_range(b, sector, nsect))
            return VIRTIO_BLK_S_IOERR;
        if (nsect == 0)
            continue;
        uint64_t off = sector * SECTOR, len = (uint64_t)nsect * SECTOR;
        int r = zeroes ? write_zeroes(b, w, off, len, flags & 1)
                       : discard(b, off, len);
        if (r < 0) {
            if (r != -EINTR)
                io_error(b, zeroes ? "write-zeroes" : "discard", sector, -r);
            return VIRTIO_BLK_S_IOERR;
        }
    }
    if (zeroes && b->writethrough && sync_data(b) < 0)
        return VIRTIO_BLK_S_IOERR;
    return VIRTIO_BLK_S_OK;
}

/*
 * handle: one request. Returns the bytes written into the chain's writable
 * part (status included), or -1 when there is no status byte.
 */
static int64_t handle(struct blk *b, struct blk_worker *w, struct vq_elem *e)
{
    if (e->in_len == 0 || e->nin == 0)
        return -1;
    const struct iovec *last = &e->iov[e->nout + e->nin - 1];
    uint8_t *status = (uint8_t *)last->iov_base + last->iov_len - 1;
    size_t din = e->in_len - 1; /* writable data bytes before the status */
    uint8_t hdr[BLK_HDR];
    if (e->out_len < BLK_HDR || vq_copy_from(e, 0, hdr, BLK_HDR) != BLK_HDR) {
        *status = VIRTIO_BLK_S_IOERR;
        return 1;
    }
    uint32_t type = le_get32(hdr);
    uint64_t sector = le_get64(hdr + 8);
    uint8_t st = VIRTIO_BLK_S_OK;
    size_t written = 1;
    switch (type) {
    case VIRTIO_BLK_T_IN: {
        if (din % SECTOR || !in_range(b, sector, din / SECTOR)) {
            st = VIRTIO_BLK_S_IOERR;
            break;
        }
        unsigned n = vq_slice(e->iov + e->nout, e->nin, 0, din, w->io);
        int r = rw(b, w, false, n, sector * SECTOR, din);
        if (r < 0) {
            io_error(b, "read", sector, -r);
            st = VIRTIO_BLK_S_IOERR;
            break;
        }
        written = din + 1;
        break;
    }
    case VIRTIO_BLK_T_OUT: {
        size_t len = e->out_len - BLK_HDR;
        if (b->ro || len % SECTOR || !in_range(b, sector, len / SECTOR)) {
            st = VIRTIO_BLK_S_IOERR;
            break;
        }
        unsigned n = vq_slice(e->iov, e->nout, BLK_HDR, len, w->io);
        int r = rw(b, w, true, n, sector * SECTOR, len);
        if (r < 0) {
            io_error(b, "write", sector, -r);
            st = VIRTIO_BLK_S_IOERR;
        } else if (b->writethrough && sync_data(b) < 0) {
            st = VIRTIO_BLK_S_IOERR;
        }
        break;
    }
    case VIRTIO_BLK_T_FLUSH:
        if (sync_data(b) < 0)
            st = VIRTIO_BLK_S_IOERR;
        break;
    case VIRTIO_BLK_T_GET_ID: {
        size_t n = MIN(din, (size_t)BLK_ID_BYTES);
        written = vq_copy_to(e, 0, b->id, n) + 1;
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        st = do_ranges(b, w, e, type == VIRTIO_BLK_T_WRITE_ZEROES);
        break;
    default:
        st = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    *status = st;
    return (int64_t)MIN(written, (size_t)UINT32_MAX);
}

/* ---- workers ------------------------------------------------------------- */

/* serve: answer what the queue holds; stops early when reset asks. */
static void serve(struct blk *b, struct blk_worker *w)
{
    struct virtio_dev *d = &b->dev;
    struct virtqueue *vq = &d->vq[w->q];
    unsigned pushed = 0;
    while (!w->failed && !atomic_load(&w->stop)) {
        int got = vq_pop(vq, &w->elem);
        if (got < 0) {
            w->failed = true;
            virtio_needs_reset(d, vq->error);
            break;
        }
        if (got == 0)
            break;
        int64_t r = handle(b, w, &w->elem);
        if (r < 0) {
            w->failed = true;
            virtio_needs_reset(d, "virtio-blk request without a status byte");
            break;
        }
        vq_push(vq, &w->elem, (uint32_t)r);
        /* Interrupt per batch, at most every 32 requests. */
        if (++pushed == 32) {
            virtio_notify_used(d, w->q);
            pushed = 0;
        }
    }
    if (pushed)
        virtio_notify_used(d, w->q);
}

static void *worker_main(void *arg)
{
    struct blk_worker *w = arg;
    /* Named by itself (prctl): naming another thread opens its /proc
     * file, which no confined thread may do. */
    char tn[16];
    snprintf(tn, sizeof(tn), "qvm-blk-q%u", w->q % 64u);
    (void)pthread_setname_np(pthread_self(), tn);
    char who[64];
    snprintf(who, sizeof(who), "%s queue %u worker", w->b->dev.name, w->q);
    dev_sched_apply_self(&w->b->sched, who);
    confine_thread(CONFINE_BLK);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->quit && !(w->run && w->kick))
            pthread_cond_wait(&w->cond, &w->lock);
        if (w->quit)
            break;
        w->kick = false;
        w->busy = true;
        pthread_mutex_unlock(&w->lock);
        serve(w->b, w);
        pthread_mutex_lock(&w->lock);
        w->busy = false;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Set by virtio_blk_inline (single-threaded test harnesses). */
static bool serve_inline;

void virtio_blk_inline(bool on)
{
    serve_inline = on;
}

void virtio_blk_serve_inline(struct virtio_dev *d, unsigned q)
{
    struct blk *b = to_blk(d);
    if (!b->inline_serve || q >= d->nqueues)
        return;
    struct blk_worker *w = &b->w[q];
    /* what worker_main does once, on the caller's thread */
    pthread_mutex_lock(&w->lock);
    bool go = !w->quit && w->run && w->kick;
    if (go) {
        w->kick = false;
        w->busy = true;
    }
    pthread_mutex_unlock(&w->lock);
    if (!go)
        return;
    serve(b, w);
    pthread_mutex_lock(&w->lock);
    w->busy = false;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Start every queue's worker, parked (the device's construction). */
static int start_workers(struct blk *b)
{
    b->inline_serve = serve_inline;
    if (b->inline_serve)
        return 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = 0;
    for (unsigned q = 0; q < b->dev.nqueues && !err; q++) {
        err = pthread_create(&b->w[q].th, NULL, worker_main, &b->w[q]);
        b->w[q].started = err == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err)
        log_fatal(TAG, "%s: cannot start an I/O thread: %s", b->dev.name,
                  strerror(err));
    return -err;
}

/* Park every worker: no more pops, and wait until none is in its ring. */
static void park_workers(struct blk *b)
{
    for (unsigned q = 0; q < b->dev.nqueues; q++) {
        struct blk_worker *w = &b->w[q];
        pthread_mutex_lock(&w->lock);
        w->run = false;
        w->kick = false;
        atomic_store(&w->stop, true);
        while (w->busy)
            pthread_cond_wait(&w->cond, &w->lock);
        w->failed = false;
        pthread_mutex_unlock(&w->lock);
    }
}

static void end_workers(struct blk *b)
{
    for (unsigned q = 0; q < b->dev.nqueues; q++) {
        struct blk_worker *w = &b->w[q];
        if (!w->started)
            continue;
        pthread_mutex_lock(&w->lock);
        w->quit = true;
        atomic_store(&w->stop, true);
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->th, NULL);
        w->started = false;
    }
}

/* ---- virtio_dev_ops ------------------------------------------------------ */

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    struct blk *b = to_blk(d);
    uint8_t c[BLK_CFG_LEN] = {0};
    if (b->delayed)
        ensure_open(b);
    le_put64(c + 0, atomic_load(&b->capacity));
    le_put32(c + 8, SIZE_MAX_SEG);
    le_put32(c + 12, SEG_MAX);
    le_put32(c + 20, b->blk_size);
    c[24] = (uint8_t)b->phys_exp; /* topology: physical_block_exp */
    c[25] = 0;                    /* alignment_offset */
    le_put16(c + 26, 1);          /* min_io_size (blocks) */
    le_put32(c + 28, 0);          /* opt_io_size: none */
    c[32] = b->writethrough ? 0 : 1;
    le_put16(c + 34, (uint16_t)d->nqueues);
    le_put32(c + 36, MAX_RANGE_SEC); /* max_discard_sectors */
    le_put32(c + 40, MAX_RANGES);
    le_put32(c + 44, b->blk_size / SECTOR); /* discard_sector_alignment */
    le_put32(c + 48, MAX_RANGE_SEC);        /* max_write_zeroes_sectors */
    le_put32(c + 52, MAX_RANGES);
    c[56] = 1; /* write_zeroes_may_unmap */
    if (off >= BLK_CFG_LEN) {
        memset(buf, 0, len);
        return;
    }
    uint32_t n = MIN(len, BLK_CFG_LEN - off);
    memcpy(buf, c + off, n);
    memset((uint8_t *)buf + n, 0, len - n);
}

static int blk_activate(struct virtio_dev *d)
{
    struct blk *b = to_blk(d);
    if (b->delayed)
        ensure_open(b);
    b->writethrough = !virtio_has(d, VIRTIO_BLK_F_FLUSH);
    for (unsigned q = 0; q < d->nqueues; q++) {
        struct blk_worker *w = &b->w[q];
        pthread_mutex_lock(&w->lock);
        atomic_store(&w->stop, false);
        w->failed = false;
        w->run = true;
        w->kick = true; /* look at the ring once: kicks before DRIVER_OK */
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);
    }
    b->active = true;
    return 0;
}

static void blk_notify(struct virtio_dev *d, unsigned q)
{
    struct blk *b = to_blk(d);
    if (b->delayed)
        ensure_open(b);
    if (q >= d->nqueues)
        return;
    struct blk_worker *w = &b->w[q];
    pthread_mutex_lock(&w->lock);
    w->kick = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void blk_reset(struct virtio_dev *d)
{
    struct blk *b = to_blk(d);
    park_workers(b);
    b->active = false;
}

static void blk_destroy(struct virtio_dev *d)
{
    struct blk *b = to_blk(d);
    end_workers(b);
    for (unsigned q = 0; q < d->nqueues; q++) {
        pthread_mutex_destroy(&b->w[q].lock);
        pthread_cond_destroy(&b->w[q].cond);
    }
    const struct blk_files *f = files(b);
    if (f && f->fd != f->bfd)
        close(f->fd);
    if (f)
        close(f->bfd);
    free(b->w);
    free(b->path);
    free(b);
}

static const struct virtio_dev_ops blk_ops = {
    .config_read = blk_config_read,
    .config_write = NULL,
    .activate = blk_activate,
    .notify = blk_notify,
    .reset = blk_reset,
    .destroy = blk_destroy,
};

/* make_id: `name`, else the base name, else its head and a path hash. */
static void make_id(struct blk *b, const struct vdev_spec *vd)
{
    memset(b->id, 0, sizeof(b->id));
    if (vd->name) {
        memcpy(b->id, vd->name, MIN(strlen(vd->name), sizeof(b->id)));
        return;
    }
    const char *base = strrchr(b->path, '/');
    base = base && base[1] ? base + 1 : b->path;
    size_t n = strlen(base);
    if (n <= sizeof(b->id)) {
        memcpy(b->id, base, n);
        return;
    }
    uint32_t h = 2166136261u; /* FNV-1a of the whole path */
    for (const char *p = b->path; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    char tmp[BLK_ID_BYTES + 1];
    snprintf(tmp, sizeof(tmp), "%.11s-%08x", base, h);
    memcpy(b->id, tmp, sizeof(b->id));
}

int virtio_blk_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct virtio_dev **out)
{
    const char *name = vd->name ? vd->name : "virtio-blk";
    if (vd->hostdevs.n == 0 || vd->hostdevs.v[0].kind != HOSTDEV_PATH ||
        vd->hostdevs.v[0].dir == HOSTDEV_OUT || !vd->hostdevs.v[0].path) {
        log_fatal(TAG, "%s needs 'hostdev [<]PATH' (a file or block device)",
                  name);
        return -1;
    }
    const struct hostdev *h = &vd->hostdevs.v[0];
    unsigned nq = 1;
    const struct opt_val *o = vdev_opt(vd, "threads");
    if (o)
        nq = (unsigned)MIN(MAX(o->num, (uint64_t)1), (uint64_t)64);
    struct blk *b = calloc(1, sizeof(*b));
    struct blk_worker *w = calloc(nq, sizeof(*w));
    char *path = strdup(h->path);
    if (!b || !w || !path) {
        free(b);
        free(w);
        free(path);
        log_fatal(TAG, "out of memory");
        return -1;
    }
    struct virtio_dev *d = &b->dev;
    virtio_dev_init(d, ctx, name);
    b->path = path;
    b->w = w;
    b->ro = h->dir == HOSTDEV_IN;
    o = vdev_opt(vd, "dio");
    b->want_dio = o && o->num == 0; /* choices: enable, disable */
    b->f = (struct blk_files){-1, -1, SECTOR, SECTOR, false};
    atomic_init(&b->files, NULL);
    atomic_init(&b->capacity, 0);
    b->blk_size = SECTOR;
    b->rl = (struct log_budget)LOG_BUDGET_INIT(5, 10000);
    o = vdev_opt(vd, "delayed");
    if (o) {
        b->delayed = true;
        b->delay_s = o->num;
    }
    make_id(b, vd);
    dev_sched_init(&b->sched, vd);

    d->ops = &blk_ops;
    d->id = VIRTIO_ID_BLOCK;
    d->host_features =
        1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX |
        1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
        1ull << VIRTIO_BLK_F_TOPOLOGY;
    if (b->ro)
        d->host_features |= 1ull << VIRTIO_BLK_F_RO;
    else
        d->host_features |=
            1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
    if (nq > 1)
        d->host_features |= 1ull << VIRTIO_BLK_F_MQ;
    d->config_len = BLK_CFG_LEN;
    d->nqueues = nq;
    d->priv = b;
    for (unsigned q = 0; q < nq; q++) {
        snprintf(b->qnames[q], sizeof(b->qnames[q]), "blk.rq%u", q);
        d->vq[q].max_size = BLK_QSIZE;
        d->vq[q].name = b->qnames[q];
        w[q].b = b;
        w[q].q = q;
        pthread_mutex_init(&w[q].lock, NULL);
        pthread_cond_init(&w[q].cond, NULL);
    }
    if ((!b->delayed && open_backing(b) < 0) || start_workers(b) < 0) {
        pthread_mutex_destroy(&d->lock);
        blk_destroy(d);
        return -1;
    }
    *out = d;
    return 0;
}

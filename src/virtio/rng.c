/*
 * rng.c: virtio-entropy (`vdev virtio-entropy`, qvm-reference.md 4.7;
 * virtio 1.2, 5.4): one request queue whose device-writable buffers the
 * device fills with bytes from the host's getrandom(2), at most
 * RNG_MAX_REQ bytes per request. There is no configuration space and no
 * feature bit of its own.
 *
 * `delayed SECS|forever`: QNX opens /dev/random only on the first request.
 * getrandom() needs nothing opened, so qvm maps the option to when the host
 * source is first used and how long to wait for it: without `delayed` the
 * source is probed when the device is realized (a host without getrandom is
 * an error then); with it, the first use is the guest's first request.
 * While the host's entropy pool is not yet initialised (getrandom with
 * GRND_NONBLOCK says EAGAIN, early in a host's boot) requests stay queued
 * and qvm retries once a second, while a helper thread waits in a blocking
 * getrandom, which is what makes the kernel initialise the pool (see
 * pool_waiter); with `delayed SECS` it gives up after SECS seconds (0: a
 * single try, `forever`: never) and the device then leaves requests
 * unanswered, as a disconnected source would.
 *
 * One call answers at most RNG_BATCH_BYTES bytes or RNG_BATCH_REQS requests,
 * then kicks the queue again (virtio_kick): the rest is served after the
 * other devices' events, so one guest cannot keep the shared I/O thread.
 *
 * Context: notify and the retry timer run on the I/O event thread, under
 * d->lock (the core takes it around notify; the timer callback takes it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "config/schema.h"
#include "util/log.h"
#include "vm/confine.h"
#include "virtio/virtio.h"

#define TAG             "virtio-entropy"
#define RNG_QSIZE       256
#define RNG_MAX_REQ     (64u * 1024) /* bytes per request */
#define RETRY_PERIOD    1            /* seconds between tries of the source */
#define RNG_BATCH_BYTES (64u * 1024) /* bytes per call before yielding */
#define RNG_BATCH_REQS  64           /* requests per call before yielding */

struct rng {
    struct virtio_dev dev;
    bool delayed;     /* `delayed` given */
    uint64_t delay_s; /* UINT64_MAX: forever */
    bool ready;       /* getrandom() delivered bytes once */
    bool gave_up;
    bool tried;
    struct timespec first_try;
    int timer_fd; /* retry timer on ctx->ev, -1 until needed */
    bool timer_armed;
    bool waiter_started; /* pool_waiter runs (or ran) */
    struct log_budget rl;
    struct vq_elem elem;
};

static struct rng *to_rng(struct virtio_dev *d)
{
    return d->priv;
}

/* The host source: getrandom(2), or a unit test's. */
static ssize_t host_getrandom(void *buf, size_t n, unsigned flags)
{
    return getrandom(buf, n, flags);
}
static _Atomic(virtio_rng_source_fn) source = host_getrandom;

void virtio_rng_set_source(virtio_rng_source_fn fn)
{
    source = fn ? fn : host_getrandom;
}

/* fill: n bytes of host entropy at p. 0, -EAGAIN (pool not ready) or
 * -errno. */
static int fill(void *p, size_t n)
{
    unsigned char *b = p;
    virtio_rng_source_fn fn = source;
    while (n) {
        ssize_t r = fn(b, n, GRND_NONBLOCK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static void arm_timer(struct rng *r)
{
    const struct dev_ctx *ctx = r->dev.ctx;
    if (r->timer_armed || !ctx || !ctx->ev)
        return;
    if (r->timer_fd < 0)
        return; /* created by source_ready */
    struct itimerspec its = {.it_value = {.tv_sec = RETRY_PERIOD}};
    if (timerfd_settime(r->timer_fd, 0, &its, NULL) == 0)
        r->timer_armed = true;
}

static void service(struct rng *r);

static void timer_cb(void *opaque, int fd, uint32_t events)
{
    struct rng *r = opaque;
    uint64_t ticks;
    (void)events;
    if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&r->dev.lock);
    r->timer_armed = false;
    service(r);
    pthread_mutex_unlock(&r->dev.lock);
}

/*
 * pool_waiter: one blocking getrandom. Polling with GRND_NONBLOCK only ever
 * reports EAGAIN: it never makes the kernel initialise its pool. A blocking
 * reader does: Linux >= 5.18 then runs its jitter-entropy generator and is
 * ready within about a second; older kernels wake the reader once enough
 * entropy came in. When the call returns the pool is ready and the next
 * once-a-second retry answers the guest. GRND_INSECURE or /dev/urandom
 * would answer at once, but with bytes that may be predictable, which a
 * guest seeding its own generator must not get. The thread is detached and
 * touches nothing of the device: it may outlive it.
 */
static void *pool_waiter(void *arg)
{
    virtio_rng_source_fn fn = arg;
    confine_thread(CONFINE_RNG);
    unsigned char b;
    while (fn(&b, 1, 0) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void start_waiter(struct rng *r)
{
    if (r->waiter_started)
        return;
    pthread_attr_t at;
    pthread_t t;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 * 1024);
    int e = pthread_create(&t, &at, pool_waiter, (void *)source);
    pthread_attr_destroy(&at);
    if (e)
        log_warn(TAG, "%s: cannot start a thread to wait for the host pool: %s",
                 r->dev.name, strerror(e));
    else
        r->waiter_started = true;
}

/*
 * source_ready: whether getrandom() delivers now. Records the first try
 * (for `delayed`) and arms the once-a-second retry while it does not.
 */
static bool source_ready(struct rng *r)
{
    if (r->ready)
        return true;
    if (r->gave_up)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!r->tried) {
        r->tried = true;
        r->first_try = now;
    }
    unsigned char probe;
    int e = fill(&probe, 1);
    if (e == 0) {
        r->ready = true;
        return true;
    }
    if (e != -EAGAIN) {
        r->gave_up = true;
        log_error(TAG, "%s: getrandom failed: %s; requests stay unanswered",
                  r->dev.name, strerror(-e));
        return false;
    }
    uint64_t waited = (uint64_t)(now.tv_sec - r->first_try.tv_sec);
    if (r->delayed && r->delay_s != UINT64_MAX && waited >= r->delay_s) {
        r->gave_up = true;
        log_error(TAG,
                  "%s: the host entropy pool is still not initialised "
                  "after %llu s (delayed); requests stay unanswered",
                  r->dev.name, (unsigned long long)r->delay_s);
        return false;
    }
    const struct dev_ctx *ctx = r->dev.ctx;
    if (r->timer_fd < 0 && ctx && ctx->ev) {
        r->timer_fd =
            timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (r->timer_fd >= 0 &&
            ev_add(ctx->ev, r->timer_fd, EPOLLIN, timer_cb, r) < 0) {
            close(r->timer_fd);
            r->timer_fd = -1;
        }
    }
    log_guest(&r->rl, LOG_WARN, TAG,
              "%s: the host entropy pool is not initialised yet; "
              "requests wait for it",
              r->dev.name);
    start_waiter(r);
    arm_timer(r);
    return false;
}

/* service: answer the available requests, a batch at a time. Caller holds
 * d->lock. */
static void service(struct rng *r)
{
    struct virtio_dev *d = &r->dev;
    struct virtqueue *vq = &d->vq[0];
    struct vq_elem *e = &r->elem;
    bool pushed = false;
    size_t bytes = 0;
    unsigned reqs = 0;
    while (vq_ready(vq) && source_ready(r)) {
        if (bytes >= RNG_BATCH_BYTES || reqs >= RNG_BATCH_REQS) {
            virtio_kick(d, 0); /* the rest after the other devices */
            break;
        }
        int got = vq_pop(vq, e);
        if (got < 0) {
            virtio_needs_reset(d, vq->error);
            break;
        }
        if (got == 0)
            break;
        /* Readable segments (none in a well-formed request) are ignored;
         * the writable ones get up to RNG_MAX_REQ bytes. */
        size_t want = MIN(e->in_len, (size_t)RNG_MAX_REQ), done = 0;
        for (unsigned i = 0; i < e->nin && done < want; i++) {
            const struct iovec *v = &e->iov[e->nout + i];
            size_t n = MIN(v->iov_len, want - done);
            if (fill(v->iov_base, n) < 0)
                break; /* the pool cannot go back to "not ready" */
            done += n;
        }
        vq_push(vq, e, (uint32_t)done);
        pushed = true;
        bytes += done;
        reqs++;
    }
    if (pushed)
        virtio_notify_used(d, 0);
}

static void rng_config_read(struct virtio_dev *d, uint32_t off, void *buf,
                            uint32_t len)
{
    (void)d, (void)off;
    memset(buf, 0, len);
}

static int rng_activate(struct virtio_dev *d)
{
    (void)d;
    return 0;
}

static void rng_notify(struct virtio_dev *d, unsigned q)
{
    if (q == 0)
        service(to_rng(d));
}

static void rng_reset(struct virtio_dev *d)
{
    struct rng *r = to_rng(d);
    if (r->timer_fd >= 0 && r->timer_armed) {
        struct itimerspec off = {0};
        (void)timerfd_settime(r->timer_fd, 0, &off, NULL);
        r->timer_armed = false;
    }
}

static void rng_destroy(struct virtio_dev *d)
{
    struct rng *r = to_rng(d);
    if (r->timer_fd >= 0) {
        if (d->ctx && d->ctx->ev)
            (void)ev_del(d->ctx->ev, r->timer_fd);
        close(r->timer_fd);
    }
    free(r); /* d->lock: destroyed by virtio_dev_free */
}

static const struct virtio_dev_ops rng_ops = {
    .config_read = rng_config_read,
    .activate = rng_activate,
    .notify = rng_notify,
    .reset = rng_reset,
    .destroy = rng_destroy,
};

int virtio_rng_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                   struct virtio_dev **out)
{
    struct rng *r = calloc(1, sizeof(*r));
    if (!r) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    struct virtio_dev *d = &r->dev;
    virtio_dev_init(d, ctx, vd->name ? vd->name : "virtio-entropy");
    d->ops = &rng_ops;
    d->id = VIRTIO_ID_RNG;
    d->host_features = 0;
    d->config_len = 0;
    d->nqueues = 1;
    d->vq[0].max_size = RNG_QSIZE;
    d->vq[0].name = "rng.rq";
    d->priv = r;
    r->timer_fd = -1;
    r->rl = (struct log_budget)LOG_BUDGET_INIT(1, 60000);
    const struct opt_val *o = vdev_opt(vd, "delayed");
    if (o) {
        r->delayed = true;
        r->delay_s = o->num;
    } else {
        unsigned char probe;
        int e = fill(&probe, 1);
        if (e == 0) {
            r->ready = true;
        } else if (e != -EAGAIN) {
            log_fatal(TAG, "%s: getrandom is not usable: %s", d->name,
                      strerror(-e));
            pthread_mutex_destroy(&d->lock);
            free(r);
            return -1;
        }
    }
    *out = d;
    return 0;
}

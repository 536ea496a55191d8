/*
 * fuzz_vdev.c: virtio device requests. Built with -DVDEV_BLK (virtio-blk
 * on a memfd backing file: read-write, read-only, and two request queues)
 * or -DVDEV_NET (virtio-net with its qvm-to-qvm peer backend, the peer
 * being this harness's own datagram socket: what the guest transmits is
 * read back from it, what it sends is what the guest receives; with and
 * without offloads). A tiny driver on the fake VM of fuzz_env.h builds
 * split rings from the input and drives the device through the shared
 * core (virtio.c) as a transport would; blk's requests are served on the
 * fuzzing thread after each kick (virtio_blk_inline: no worker threads,
 * each input the same schedule), nothing else runs.
 *
 * Input: [0] variant (the vdev, modulo those of the configuration) | 0x10
 * EVENT_IDX | 0x20 INDIRECT_DESC | 0x40 legacy (no VERSION_1; net); [1..4]
 * the device feature bits the driver accepts (of the offer); [5] queue
 * size, a power of two 1..256; then operations, each a control byte c
 * (queue q = c >> 3 & 1) and its operands:
 *   c & 7 == 0: a chain: [n] then n segments [flags: 1 writable, 0x80 at
 *               an address outside RAM][len: 2][addr: 2], then [k] bytes
 *               written at the start of the first segment (a request
 *               header, a frame);
 *   1: kick queue q (and wait for the device);
 *   2: net: a datagram [len: 2][bytes] from the peer, then a receive kick;
 *   3: configuration read [offset][size: 1, 2, 4 or 8];
 *   4: guest RAM write in the data area [addr: 2][n][bytes];
 *   5: reset and start again.
 * Checked: used ids and lengths against what was posted, the requests'
 * status bytes, the frames that reach the peer; ASan/UBSan for the rest.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_env.h"
#include "virtio/net.h"
#include "virtio/virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NQ       2
#define RING(q)  (0x2000u * (q))
#define AVAIL(q) (RING(q) + 0x1000u)
#define USED(q)  (RING(q) + 0x1400u)
#define DATA     0x4000u
#define HDR      6
#define MAX_OPS  1024
#define MAX_SEGS 16
#define WAIT_S   10

#ifdef VDEV_BLK
#define TYPE      "virtio-blk"
#define DISK_SIZE (64u * 1024)
static const char config[] = "vdev virtio-blk hostdev @DIR@/disk\n"
                             "vdev virtio-blk hostdev <@DIR@/disk\n"
                             "vdev virtio-blk threads 2 hostdev @DIR@/disk\n";
static int disk = -1;
#else
#define TYPE "virtio-net"
static const char config[] = "vdev virtio-net name d0 peer /dev/qvm/fz/host\n"
                             "vdev virtio-net name d1 peer /dev/qvm/fz/host "
                             "peerfeats 0xffff\n";
static int host = -1; /* the peer's socket */
#endif

static struct vm_spec spec;
static const struct vdev_spec *variants[8]; /* the spec's vdevs of TYPE */
static unsigned nvariants;
static struct virtio_dev *dev;
static struct virtio_transport_ops tops;
static unsigned interrupts;

/* The driver's view of each queue. */
struct dq {
    uint16_t size, next, avail_idx, used_seen, free;
    uint32_t wlen[256]; /* writable bytes of the chain at each head */
    uint8_t ndesc[256]; /* its descriptors (0: not posted) */
};
static struct dq dq[NQ];
static uint64_t accepted;
static bool legacy;

static uint64_t get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void on_interrupt(struct virtio_dev *d, int q)
{
    (void)d;
    CHECK(q >= -1 && q < NQ);
    __atomic_fetch_add(&interrupts, 1, __ATOMIC_RELAXED);
}

static void init(void)
{
    fe_init();
    char path[96];
#ifdef VDEV_BLK
    virtio_blk_inline(true);
    disk = memfd_create("qvm-fuzz-disk", MFD_CLOEXEC);
    CHECK(disk >= 0);
    char target[64];
    snprintf(target, sizeof(target), "/proc/%d/fd/%d", (int)getpid(), disk);
    snprintf(path, sizeof(path), "%s/disk", fe.dir);
    CHECK(symlink(target, path) == 0);
#else
    host = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(host >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(path, sizeof(path), "%s/fz", fe.dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s/fz/host", fe.dir);
    CHECK(bind(host, (struct sockaddr *)&a, sizeof(a)) == 0);
#endif
    fe_spec(&spec, config);
    for (size_t i = 0; i < spec.vdevs.n && nvariants < 8; i++)
        if (strcmp(vdev_type_name(&spec.vdevs.v[i]), TYPE) == 0)
            variants[nvariants++] = &spec.vdevs.v[i];
    CHECK(nvariants > 0);
    tops.interrupt = on_interrupt;
}

/* The device's address, for the peer's datagrams. */
#ifdef VDEV_NET
static void dev_addr(struct sockaddr_un *a, unsigned variant)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof(a->sun_path), "%s/fz/d%u", fe.dir, variant);
}

/* Read back what the device sent: hellos, goodbyes and whole frames. */
static void drain(void)
{
    static uint8_t buf[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME + 1];
    ssize_t r;
    while ((r = recv(host, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC)) >= 0) {
        if (r == 1)
            CHECK(buf[0] == 'H' || buf[0] == 'B');
        else
            CHECK(r >= VIRTIO_NET_HDR_LEN + 14 &&
                  r <= (ssize_t)(VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME));
    }
}
#endif

/* Negotiate and start the queues; false when the device refused. */
static bool start(void)
{
    struct virtio_dev *d = dev;
    bool modern = !legacy;
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE, modern);
    virtio_set_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER,
                      modern);
    virtio_set_driver_features(d, 0, (uint32_t)accepted);
    virtio_set_driver_features(d, 1, (uint32_t)(accepted >> 32));
    uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                VIRTIO_STATUS_FEATURES_OK;
    virtio_set_status(d, s, modern);
    if (!(virtio_get_status(d) & VIRTIO_STATUS_FEATURES_OK))
        return false;
    memset(fe.ram, 0, DATA);
    for (unsigned q = 0; q < d->nqueues && q < NQ; q++) {
        struct virtqueue *vq = &d->vq[q];
        uint16_t size = dq[q].size;
        memset(&dq[q], 0, sizeof(dq[q]));
        dq[q].size = dq[q].free = size;
        vq->size = size;
        vq->desc_gpa = RING(q);
        vq->driver_gpa = AVAIL(q);
        vq->device_gpa = USED(q);
        vq->enabled = true;
    }
    virtio_set_status(d, s | VIRTIO_STATUS_DRIVER_OK, modern);
    return true;
}

/* A chain from the input; returns the bytes consumed (0: input ended). */
static size_t post(unsigned q, const uint8_t *p, size_t left)
{
    struct dq *Q = &dq[q];
    if (left < 1)
        return 0;
    unsigned n = p[0] % MAX_SEGS + 1;
    size_t need = 1 + 5u * n + 1;
    if (left < need || left < need + p[need - 1])
        return 0;
    size_t k = p[need - 1];
    const uint8_t *seg = p + 1, *payload = p + need;
    if (q >= dev->nqueues || n > Q->free)
        return need + k; /* no room: the driver would wait */
    uint16_t head = Q->next % Q->size;
    uint32_t wlen = 0;
    for (unsigned i = 0; i < n; i++, seg += 5) {
        uint8_t flags = seg[0];
        uint32_t len = (uint32_t)get(seg + 1, 2);
        uint64_t addr = get(seg + 3, 2);
        if (flags & 0x80)
            addr = FE_RAM + (addr << 4); /* outside guest RAM */
        else
            addr = DATA + addr % (FE_RAM - DATA);
        uint16_t idx = (uint16_t)(Q->next++ % Q->size);
        uint8_t *dsc = fe.ram + RING(q) + 16u * idx;
        put(dsc, addr, 8);
        put(dsc + 8, len, 4);
        uint16_t f = (uint16_t)((i + 1 < n ? 1 : 0) | (flags & 1 ? 2 : 0));
        put(dsc + 12, f, 2);
        put(dsc + 14, (uint16_t)(Q->next % Q->size), 2);
        if (flags & 1)
            wlen += len;
        if (i == 0 && addr >= DATA && addr < FE_RAM)
            memcpy(fe.ram + addr, payload,
                   MIN(MIN(k, (size_t)len), (size_t)(FE_RAM - addr)));
    }
    Q->wlen[head] = wlen;
    Q->ndesc[head] = (uint8_t)n;
    Q->free = (uint16_t)(Q->free - n);
    put(fe.ram + AVAIL(q) + 4 + 2u * (Q->avail_idx % Q->size), head, 2);
    Q->avail_idx++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    put(fe.ram + AVAIL(q) + 2, Q->avail_idx, 2);
    return need + k;
}

static uint16_t used_idx(unsigned q)
{
    return __atomic_load_n((uint16_t *)(fe.ram + USED(q) + 2),
                           __ATOMIC_ACQUIRE);
}

/* Check what the device put in the used ring since last time. */
static void check_used(unsigned q)
{
    struct dq *Q = &dq[q];
    uint16_t u = used_idx(q);
    for (; Q->used_seen != u; Q->used_seen++) {
        const uint8_t *e = fe.ram + USED(q) + 4 + 8u * (Q->used_seen % Q->size);
        uint32_t id = (uint32_t)get(e, 4), len = (uint32_t)get(e + 4, 4);
        CHECK(id < Q->size && Q->ndesc[id]);
        CHECK(len <= Q->wlen[id]);
        Q->free = (uint16_t)(Q->free + Q->ndesc[id]);
        Q->ndesc[id] = 0;
    }
}

/* Kick queue q as the event thread would, and let the device finish. */
static void kick(unsigned q)
{
    if (q >= dev->nqueues)
        return;
    pthread_mutex_lock(&dev->lock);
    dev->ops->notify(dev, q);
    pthread_mutex_unlock(&dev->lock);
#ifdef VDEV_BLK
    virtio_blk_serve_inline(dev, q);
    /* the worker answers everything available, or the queue breaks */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (used_idx(q) != dq[q].avail_idx &&
           !(virtio_get_status(dev) & VIRTIO_STATUS_NEEDS_RESET) &&
           (virtio_get_status(dev) & VIRTIO_STATUS_DRIVER_OK)) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        CHECK(t.tv_sec - t0.tv_sec < WAIT_S); /* a request was lost */
        sched_yield();
    }
    /* a broken queue: wait until the worker stopped touching it */
    if (virtio_get_status(dev) & VIRTIO_STATUS_NEEDS_RESET)
        virtio_reset(dev);
#else
    drain();
#endif
    check_used(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!spec.system)
        init();
    if (size < HDR)
        return 0;
    fe_reset(0);
    unsigned variant = (data[0] & 15) % nvariants;
    const struct vdev_spec *vd = variants[variant];
#ifdef VDEV_BLK
    CHECK(ftruncate(disk, 0) == 0 && ftruncate(disk, DISK_SIZE) == 0);
    CHECK(virtio_blk_new(vd, &fe.ctx, &dev) == 0);
    legacy = false;
#else
    static struct dev_ctx nctx;
    nctx = fe.ctx;
    nctx.system = spec.system;
    CHECK(virtio_net_new(vd, &nctx, &dev) == 0);
    legacy = data[0] & 0x40;
    dev->legacy = legacy;
#endif
    dev->tops = &tops;
    uint64_t offer = virtio_offer(dev);
    accepted = (get(data + 1, 4) | (data[0] & 0x10 ? 1ull << 29 : 0) |
                (data[0] & 0x20 ? 1ull << 28 : 0)) &
               offer;
    if (!legacy)
        accepted |= 1ull << VIRTIO_F_VERSION_1;
    for (unsigned q = 0; q < NQ; q++)
        dq[q].size = (uint16_t)(1u << (data[5] % 9));
    const uint8_t *p = data + HDR, *end = data + size;
    if (!start())
        goto out;
    for (unsigned ops = 0; p < end && ops < MAX_OPS; ops++) {
        uint8_t c = *p++;
        unsigned q = (c >> 3) & 1;
        size_t left = (size_t)(end - p);
        switch (c & 7) {
        case 0: {
            size_t used = post(q, p, left);
            if (!used)
                goto out;
            p += used;
            break;
        }
        case 1:
            kick(q);
            break;
        case 2: {
            if (left < 2)
                goto out;
            size_t n = MIN((size_t)get(p, 2), left - 2);
#ifdef VDEV_NET
            struct sockaddr_un a;
            dev_addr(&a, variant);
            (void)sendto(host, p + 2, n, MSG_DONTWAIT, (struct sockaddr *)&a,
                         sizeof(a));
            kick(0);
#endif
            p += 2 + n;
            break;
        }
        case 3: {
            if (left < 2)
                goto out;
            uint64_t v = 0;
            if (!virtio_config_access(dev, p[0], 1u << (p[1] & 3), false, &v))
                CHECK(v == 0);
            p += 2;
            break;
        }
        case 4: {
            if (left < 3)
                goto out;
            size_t a = DATA + (size_t)get(p, 2) % (FE_RAM - DATA);
            size_t n = MIN((size_t)p[2], left - 3);
            memcpy(fe.ram + a, p + 3, MIN(n, (size_t)(FE_RAM - a)));
            p += 3 + n;
            break;
        }
        case 5:
            virtio_reset(dev);
            if (!start())
                goto out;
            break;
        default:
            break;
        }
    }
out:
    virtio_dev_free(dev);
    dev = NULL;
#ifdef VDEV_NET
    drain();
#endif
    return 0;
}

/*
 * netpath.c: qvm's virtio-net frame path without a guest, for callgrind
 * (bench/README.md, "virtio-net in the lab", "Per frame"). One virtio-net
 * device of qvm's own (src/virtio/net.c, its peer backend, the virtqueue
 * code, the event loop) runs as in a qvm process; this program plays its
 * guest (a split ring of QUEUE descriptors in fake RAM, a buffer each) and
 * its peer (a bare AF_UNIX datagram socket at the peer's address):
 *
 *     netpath rx|tx FRAMES SIZE [BATCH] [gso]
 *
 * rx: the guest posts QUEUE mergeable receive buffers of 1536 bytes (what
 * Linux posts for a 1500-byte MTU); the peer sends FRAMES frames of SIZE
 * bytes, BATCH at a time (default 1: each frame alone, the worst case),
 * and the guest returns each used buffer to the ring at once. tx: the
 * guest transmits FRAMES frames of SIZE bytes (one chain each: header and
 * frame), BATCH per kick; the peer reads them. gso: SIZE-byte TCPv4
 * segmentation frames with a partial checksum, offloads negotiated
 * (`peerfeats 0x7fc3`, what the lab's qvm-offl runs).
 *
 * bench/netpath.sh runs it under callgrind and prints the user-space
 * instructions per frame of rx_run / tx_run (the device's receive and
 * transmit passes) and of the event thread as a whole.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config/schema.h"
#include "loader/gview.h"
#include "util/vec.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "vm/event.h"

#define QUEUE     256
#define RX_BUF    1536
#define RAM       (64u << 20)
#define DESC(q)   (0x10000u * (q))
#define AVAIL_OFF 0x1000
#define USED_OFF  0x2000
#define BUFS      0x100000u /* receive buffers, then transmit frames */
#define TXBUF     (VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)

#define F(b) (1ull << (b))

static unsigned char *ram;
static struct gview gv;
static atomic_uint irqs;

struct ring {
    uint64_t desc, avail, used;
    uint16_t avail_idx, last_used;
};

static void die(const char *what)
{
    fprintf(stderr, "netpath: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void on_interrupt(struct virtio_dev *d, int q)
{
    (void)d;
    (void)q;
    atomic_fetch_add(&irqs, 1);
}

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* Descriptor i of ring r: one buffer, device-writable or not. */
static void set_desc(struct ring *r, unsigned i, uint64_t gpa, uint32_t len,
                     bool write)
{
    unsigned char *d = ram + r->desc + 16u * i;
    put64(d, gpa);
    put32(d + 8, len);
    put16(d + 12, write ? 2 : 0);
    put16(d + 14, 0);
}

static void offer(struct ring *r, unsigned i)
{
    put16(ram + r->avail + 4 + 2u * (r->avail_idx % QUEUE), (uint16_t)i);
    r->avail_idx++;
    __atomic_store_n((uint16_t *)(ram + r->avail + 2), r->avail_idx,
                     __ATOMIC_RELEASE);
}

/* The next used element's id, or -1 when there is none yet. */
static int take_used(struct ring *r)
{
    uint16_t idx =
        __atomic_load_n((uint16_t *)(ram + r->used + 2), __ATOMIC_ACQUIRE);
    if (idx == r->last_used)
        return -1;
    const unsigned char *e = ram + r->used + 4 + 8u * (r->last_used % QUEUE);
    r->last_used++;
    return e[0] | e[1] << 8;
}

static void add_opt(struct vdev_spec *vd, const char *name, const char *text,
                    uint64_t num)
{
    struct opt_val *o = VEC_PUSH(&vd->opts);
    if (!o)
        die("opts");
    o->def = opt_find(vd->type->opts, name);
    o->text = strdup(text);
    o->num = num;
}

static void nap(void)
{
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "rx") && strcmp(argv[1], "tx"))) {
        fprintf(stderr, "usage: netpath rx|tx FRAMES SIZE [BATCH] [gso]\n");
        return 2;
    }
    bool rx = !strcmp(argv[1], "rx");
    unsigned long frames = strtoul(argv[2], NULL, 0);
    size_t size = strtoul(argv[3], NULL, 0);
    unsigned batch = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 0) : 1;
    bool gso = argc > 5 && !strcmp(argv[5], "gso");
    if (size < 60 || size > (gso ? 65000 : 1514) || !batch || batch > 8) {
        fprintf(stderr, "netpath: SIZE 60..1514 (gso: ..65000), BATCH 1..8\n");
        return 2;
    }

    char dir[] = "/tmp/qvm-netpath-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    setenv("QVM_RUNTIME_DIR", dir, 1);
    ram = aligned_alloc(4096, RAM);
    if (!ram || gview_add_region(&gv, 0, RAM, ram, GV_RAM) < 0)
        die("ram");
    memset(ram, 0, RAM);

    /* The device: system "sb", name "b", its peer "a" in system "sa". */
    struct dev_ctx ctx = {.mem = &gv, .system = "sb", .ev = ev_new()};
    struct vdev_spec vd = {.type = vdev_type_find("virtio-net"),
                           .name = strdup("b"),
                           .is_pci = true,
                           .pci.bdf = {0, 3, 0}};
    add_opt(&vd, "peer", "/dev/qvm/sa/a", 0);
    if (gso)
        add_opt(&vd, "peerfeats", "0x7fc3", 0x7fc3);
    struct virtio_dev *d = NULL;
    if (!ctx.ev || virtio_net_new(&vd, &ctx, &d) < 0)
        die("virtio_net_new");
    struct virtio_transport_ops tops = {.interrupt = on_interrupt};
    d->tops = &tops;
    if (virtio_kicks_start(d) < 0 || ev_start(ctx.ev) < 0)
        die("event loop");

    /* The peer: a bare socket at RUNDIR/sa/a, connected to the device's. */
    struct sockaddr_un me = {.sun_family = AF_UNIX}, to = me;
    snprintf(me.sun_path, sizeof(me.sun_path), "%s/sa", dir);
    mkdir(me.sun_path, 0700);
    snprintf(me.sun_path, sizeof(me.sun_path), "%s/sa/a", dir);
    snprintf(to.sun_path, sizeof(to.sun_path), "%s/sb/b", dir);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    int sz = 4 << 20;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0 ||
        bind(s, (struct sockaddr *)&me, sizeof(me)) < 0 ||
        connect(s, (struct sockaddr *)&to, sizeof(to)) < 0)
        die("peer socket");
    for (int i = 0; !vnet_link_up(d); i++) {
        if (i > 300000)
            die("link never came up");
        nap();
    }

    /* The driver: VERSION_1, MRG_RXBUF (and the offloads with gso). */
    uint64_t feat = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) |
                    F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF);
    if (gso)
        feat |= F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
                F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_HOST_TSO4);
    uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
    virtio_set_status(d, st, true);
    virtio_set_driver_features(d, 0, (uint32_t)feat);
    virtio_set_driver_features(d, 1, (uint32_t)(feat >> 32));
    virtio_set_status(d, st |= VIRTIO_STATUS_FEATURES_OK, true);
    struct ring rq[2];
    for (unsigned q = 0; q < 2; q++) {
        rq[q] = (struct ring){.desc = DESC(q + 1),
                              .avail = DESC(q + 1) + AVAIL_OFF,
                              .used = DESC(q + 1) + USED_OFF};
        struct virtqueue *vq = &d->vq[q];
        vq->size = QUEUE;
        vq->desc_gpa = rq[q].desc;
        vq->driver_gpa = rq[q].avail;
        vq->device_gpa = rq[q].used;
        vq->enabled = true;
    }
    virtio_set_status(d, st | VIRTIO_STATUS_DRIVER_OK, true);
    if (!(virtio_get_status(d) & VIRTIO_STATUS_DRIVER_OK))
        die("DRIVER_OK");

    static unsigned char frame[VIRTIO_NET_HDR_LEN + 65000];
    memset(frame, 0, VIRTIO_NET_HDR_LEN);
    memset(frame + VIRTIO_NET_HDR_LEN, 0xff, 6); /* broadcast */
    for (size_t i = 6; i < size; i++)
        frame[VIRTIO_NET_HDR_LEN + i] = (unsigned char)(i * 7);
    if (gso) {
        /* NEEDS_CSUM at the TCP checksum of an IPv4/TCP frame, TCPv4 GSO
         * in 1448-byte segments. */
        frame[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        frame[1] = VIRTIO_NET_HDR_GSO_TCPV4;
        put16(frame + 2, 14 + 20 + 32);
        put16(frame + 4, 1448);
        put16(frame + 6, 14 + 20);
        put16(frame + 8, 16);
    }

    struct vnet_stats vs;
    unsigned long done = 0;
    if (rx) {
        struct ring *r = &rq[VIRTIO_NET_RXQ];
        for (unsigned i = 0; i < QUEUE; i++) {
            set_desc(r, i, BUFS + (uint64_t)i * RX_BUF, RX_BUF, true);
            offer(r, i);
        }
        virtio_kick(d, VIRTIO_NET_RXQ);
        while (done < frames) {
            unsigned b = (unsigned)MIN((unsigned long)batch, frames - done);
            for (unsigned i = 0; i < b; i++)
                if (send(s, frame, VIRTIO_NET_HDR_LEN + size, 0) < 0)
                    die("send");
            done += b;
            for (int t = 0;; t++) {
                vnet_stats(d, &vs);
                if (vs.rx_frames + vs.rx_dropped >= done)
                    break;
                if (t > 5000000)
                    die("frames never arrived");
                nap();
            }
            /* The guest takes its frames and posts the buffers again. */
            bool any = false;
            for (int id; (id = take_used(r)) >= 0; any = true)
                offer(r, (unsigned)id);
            if (any)
                virtio_kick(d, VIRTIO_NET_RXQ);
        }
    } else {
        struct ring *r = &rq[VIRTIO_NET_TXQ];
        memcpy(ram + BUFS, frame, VIRTIO_NET_HDR_LEN + size);
        static unsigned char got[TXBUF];
        while (done < frames) {
            unsigned b = (unsigned)MIN((unsigned long)batch, frames - done);
            for (unsigned i = 0; i < b; i++) {
                unsigned k = (unsigned)((done + i) % QUEUE);
                set_desc(r, k, BUFS, (uint32_t)(VIRTIO_NET_HDR_LEN + size),
                         false);
                offer(r, k);
            }
            virtio_kick(d, VIRTIO_NET_TXQ);
            for (unsigned i = 0; i < b;) {
                ssize_t n = recv(s, got, sizeof(got), 0);
                if (n < 0)
                    die("recv");
                if (n > 1) /* not a hello */
                    i++;
            }
            done += b;
            for (unsigned i = 0; i < b;) {
                if (take_used(r) >= 0)
                    i++;
                else
                    nap();
            }
        }
        vnet_stats(d, &vs);
    }
    vnet_stats(d, &vs);
    printf("netpath %s: %lu frames of %zu bytes, batch %u%s: rx %llu "
           "(direct %llu, dropped %llu), tx %llu, interrupts %u\n",
           rx ? "rx" : "tx", frames, size, batch, gso ? ", gso" : "",
           (unsigned long long)vs.rx_frames, (unsigned long long)vs.rx_direct,
           (unsigned long long)vs.rx_dropped, (unsigned long long)vs.tx_frames,
           atomic_load(&irqs));
    ev_stop(ctx.ev);
    virtio_reset(d);
    virtio_dev_free(d);
    ev_free(ctx.ev);
    close(s);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    bool all = (rx ? vs.rx_frames : vs.tx_frames) == frames && !vs.rx_dropped &&
               !vs.tx_dropped && !vs.tx_malformed;
    return system(cmd) == 0 && all ? 0 : 1;
}

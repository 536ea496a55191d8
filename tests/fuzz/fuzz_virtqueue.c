/*
 * fuzz_virtqueue.c: libFuzzer target for the virtqueue (virtqueue.c). The
 * input is a 16-byte header of queue parameters, then an image of guest
 * RAM (64 KiB at 0x10000 and an adjacent 4 KiB at 0x20000; ROM at 0x30000;
 * everything else a hole; a short image is padded with zeroes), then
 * 4-byte patches (offset into RAM, 16-bit value) that the "driver" writes
 * between rounds. Each round pops until the ring
 * is empty or broken, pushing what it popped. Checked: every segment lies
 * inside guest RAM, lengths add up, a round makes at most `size` pops, and
 * a broken queue stays broken with a reason. ASan/UBSan watch the rest.
 *
 * Header: [0] flags (1 packed, 2 event index, 4 indirect, 8 raw size,
 * 16 start with kicks disabled, 32 hold elements until the round ends,
 * 64 ring addresses are absolute: offset * 16); [1..2] size; [3..4],
 * [5..6], [7..8] descriptor, driver and device area offsets into RAM;
 * [9..12] bytes "written" per push; [13] rounds; [14..15] the number of
 * patches at the end of the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE  0x10000u
#define RAM_SIZE  0x10000u
#define RAM2_BASE 0x20000u
#define RAM2_SIZE 0x1000u
#define ROM_BASE  0x30000u
#define ROM_SIZE  0x1000u
#define HDR       16u
#define MAX_HELD  64u

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz_virtqueue: check failed: %s\n", #c);         \
            abort();                                                           \
        }                                                                      \
    } while (0)

static unsigned char *ram, *ram2, *rom;
static struct gview mem;
static struct vq_elem held[MAX_HELD];

static bool inside(const void *p, size_t len, const unsigned char *base,
                   size_t size)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return a >= b && len <= size && a - b <= size - len;
}

/* check_elem: everything a device would touch is guest RAM. */
static void check_elem(const struct vq_elem *e)
{
    size_t out = 0, in = 0;
    CHECK(e->nout + e->nin >= 1 && e->nout + e->nin <= VQ_MAX_SEGS);
    for (unsigned i = 0; i < e->nout + e->nin; i++) {
        const struct iovec *v = &e->iov[i];
        CHECK(v->iov_len > 0 && v->iov_len <= VQ_MAX_SEG_LEN);
        CHECK(inside(v->iov_base, v->iov_len, ram, RAM_SIZE) ||
              inside(v->iov_base, v->iov_len, ram2, RAM2_SIZE));
        if (i < e->nout)
            out += v->iov_len;
        else
            in += v->iov_len;
    }
    CHECK(out == e->out_len && in == e->in_len);
    /* the device's own accesses through the helpers (the write puts back
     * the byte that is there, so rings under buffers do not change) */
    unsigned char buf[64] = {0};
    size_t n =
        vq_copy_from(e, e->out_len > 8 ? e->out_len - 8 : 0, buf, sizeof(buf));
    CHECK(n == MIN(e->out_len, (size_t)8));
    CHECK(vq_copy_to(e, e->in_len, buf, 1) == 0);
    if (e->in_len) {
        const struct iovec *last = &e->iov[e->nout + e->nin - 1];
        buf[0] = ((const unsigned char *)last->iov_base)[last->iov_len - 1];
        CHECK(vq_copy_to(e, e->in_len - 1, buf, 4) == 1);
    }
}

/* max_pops: a bound on the pops of one round. The ring only changes by
 * the device's own writes: a packed ring never makes a descriptor
 * available that way, and a split ring only when the used ring lies over
 * the available ring (the available index then moves at most once round
 * its 16 bits before it runs more than `size` ahead). */
static unsigned max_pops(const struct virtqueue *vq)
{
    if (vq->packed)
        return vq->size;
    uint64_t u0 = vq->device_gpa, u1 = u0 + 6 + 8ull * vq->size;
    uint64_t a0 = vq->driver_gpa, a1 = a0 + 6 + 2ull * vq->size;
    return u0 < a1 && a0 < u1 ? 65536u + vq->size : vq->size;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static bool setup_mem(void)
{
    if (ram)
        return true;
    ram = calloc(1, RAM_SIZE);
    ram2 = calloc(1, RAM2_SIZE);
    rom = calloc(1, ROM_SIZE);
    if (!ram || !ram2 || !rom)
        return false;
    return gview_add_region(&mem, RAM_BASE, RAM_SIZE, ram, GV_RAM) == 0 &&
           gview_add_region(&mem, RAM2_BASE, RAM2_SIZE, ram2, GV_RAM) == 0 &&
           gview_add_region(&mem, ROM_BASE, ROM_SIZE, rom, GV_ROM) == 0;
}

/* round: pop until empty or broken; at most `size` pops. */
static void round_(struct virtqueue *vq, uint32_t written, bool hold)
{
    unsigned pops = 0, nheld = 0, limit = max_pops(vq);
    for (;;) {
        struct vq_elem *e = &held[hold ? nheld % MAX_HELD : 0];
        int r = vq_pop(vq, e);
        if (r < 0) {
            CHECK(r == -EINVAL && vq->broken && vq->error[0]);
            CHECK(vq_pop(vq, e) == -EINVAL);
            break;
        }
        if (r == 0)
            break;
        CHECK(r == 1);
        CHECK(++pops <= limit);
        check_elem(e);
        if (!hold || ++nheld == MAX_HELD) {
            for (unsigned i = 0; i < (hold ? nheld : 1); i++)
                vq_push(vq, &held[hold ? i : 0], written);
            nheld = 0;
        }
    }
    for (unsigned i = 0; i < nheld; i++)
        vq_push(vq, &held[i], written);
    (void)vq_need_interrupt(vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct virtqueue vq;
    if (size < HDR || !setup_mem())
        return 0;
    const uint8_t *h = data;
    size_t npatch = MIN(get16(h + 14), (size - HDR) / 4);
    const uint8_t *patch = data + size - 4 * npatch;
    size_t img = MIN(size - HDR - 4 * npatch, (size_t)RAM_SIZE + RAM2_SIZE);
    memset(ram, 0, RAM_SIZE);
    memset(ram2, 0, RAM2_SIZE);
    memcpy(ram, data + HDR, MIN(img, (size_t)RAM_SIZE));
    if (img > RAM_SIZE)
        memcpy(ram2, data + HDR + RAM_SIZE, img - RAM_SIZE);

    bool packed = h[0] & 1;
    uint64_t features = 1ull << VIRTIO_F_VERSION_1;
    if (packed)
        features |= 1ull << VIRTIO_F_RING_PACKED;
    if (h[0] & 2)
        features |= 1ull << VIRTIO_F_EVENT_IDX;
    if (h[0] & 4)
        features |= 1ull << VIRTIO_F_INDIRECT_DESC;
    uint16_t qs = get16(h + 1);
    if (!(h[0] & 8))
        qs = packed ? (uint16_t)(qs % 256 + 1) : (uint16_t)(1u << (qs % 9));
    uint64_t base = (h[0] & 64) ? 0 : RAM_BASE;
    unsigned scale = (h[0] & 64) ? 16 : 1;

    memset(&vq, 0, sizeof(vq));
    vq.max_size = VQ_MAX_SIZE;
    vq.name = "fuzz";
    vq_reset(&vq);
    vq.size = qs;
    vq.enabled = true;
    vq.desc_gpa = base + (uint64_t)get16(h + 3) * scale;
    vq.driver_gpa = base + (uint64_t)get16(h + 5) * scale;
    vq.device_gpa = base + (uint64_t)get16(h + 7) * scale;
    uint32_t written =
        (uint32_t)(h[9] | h[10] << 8 | h[11] << 16 | (uint32_t)h[12] << 24);
    if (vq_start(&vq, &mem, features) < 0) {
        CHECK(vq.broken && vq.error[0] && !vq_ready(&vq));
        struct vq_elem *e = &held[0];
        CHECK(vq_pop(&vq, e) == -EINVAL);
        return 0;
    }
    if (h[0] & 16)
        vq_disable_kicks(&vq);
    unsigned rounds = 1 + h[13] % 8;
    for (unsigned r = 0; r < rounds; r++) {
        round_(&vq, written, h[0] & 32);
        if (vq.broken)
            break;
        /* the driver adds buffers: its patches for this round */
        for (size_t i = r; i < npatch; i += rounds) {
            uint16_t off = get16(patch + 4 * i);
            uint16_t val = get16(patch + 4 * i + 2);
            if (off < RAM_SIZE - 1)
                memcpy(ram + off, &val, 2);
        }
        if (vq_enable_kicks(&vq) && !vq.broken)
            round_(&vq, written, h[0] & 32);
        if (r & 1)
            vq_disable_kicks(&vq);
    }
    return 0;
}

/*
 * test_virtqueue.c: the virtqueue (src/virtio/virtqueue.c) on rings built
 * in a fake guest memory (a gview over malloc'd buffers): split and packed
 * rings with direct, mixed and indirect chains, used entries, interrupt
 * and kick suppression with and without the event index, wrap-around over
 * many laps, and every malformed-ring class of virtqueue.h, each of which
 * must break the queue for good without touching memory outside the guest.
 *
 * Guest memory: RAM 0x100000-0x1fffff and 0x200000-0x20ffff (adjacent
 * regions), ROM 0x300000-0x300fff; everything else is a hole.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtio/virtqueue.h"

#define RAM_BASE  0x100000ull
#define RAM_SIZE  0x100000ull
#define RAM2_BASE 0x200000ull
#define RAM2_SIZE 0x10000ull
#define ROM_BASE  0x300000ull
#define ROM_SIZE  0x1000ull

/* Ring layout used by most tests. */
#define DESC   0x100000ull
#define DRIVER 0x110000ull
#define DEVICE 0x120000ull
#define TABLE  0x130000ull /* indirect tables */
#define BUF    0x140000ull /* buffers */

#define F_NEXT     1
#define F_WRITE    2
#define F_INDIRECT 4
#define F_AVAIL    (1 << 7)
#define F_USED     (1 << 15)

#define FEAT(b) (1ull << (b))

static unsigned char *ram, *ram2, *rom;
static struct gview mem;
static struct virtqueue vq;
static struct vq_elem el;

/* ---- guest memory helpers (the host is little-endian) ------------------- */

static void *gp(uint64_t gpa)
{
    void *p = gview_ptr(&mem, gpa, 1);
    assert_non_null(p);
    return p;
}

static void w16(uint64_t gpa, uint16_t v)
{
    memcpy(gp(gpa), &v, 2);
}

static void w32(uint64_t gpa, uint32_t v)
{
    memcpy(gp(gpa), &v, 4);
}

static void w64(uint64_t gpa, uint64_t v)
{
    memcpy(gp(gpa), &v, 8);
}

static uint16_t r16(uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, gp(gpa), 2);
    return v;
}

static uint32_t r32(uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, gp(gpa), 4);
    return v;
}

/* A split descriptor at table `t` (DESC for the ring itself). */
static void sdesc_at(uint64_t t, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    w64(t + 16 * i, addr);
    w32(t + 16 * i + 8, len);
    w16(t + 16 * i + 12, flags);
    w16(t + 16 * i + 14, next);
}

static void sdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                  uint16_t next)
{
    sdesc_at(DESC, i, addr, len, flags, next);
}

/* split_avail: publish `head` in the available ring. */
static void split_avail(uint16_t head)
{
    uint16_t idx = r16(DRIVER + 2);
    w16(DRIVER + 4 + 2 * (idx % vq.size), head);
    w16(DRIVER + 2, (uint16_t)(idx + 1));
}

static int group_setup(void **state)
{
    (void)state;
    ram = aligned_alloc(4096, RAM_SIZE);
    ram2 = aligned_alloc(4096, RAM2_SIZE);
    rom = aligned_alloc(4096, ROM_SIZE);
    if (!ram || !ram2 || !rom)
        return -1;
    memset(&mem, 0, sizeof(mem));
    if (gview_add_region(&mem, RAM_BASE, RAM_SIZE, ram, GV_RAM) ||
        gview_add_region(&mem, RAM2_BASE, RAM2_SIZE, ram2, GV_RAM) ||
        gview_add_region(&mem, ROM_BASE, ROM_SIZE, rom, GV_ROM))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gview_free(&mem);
    free(ram);
    free(ram2);
    free(rom);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    memset(ram, 0, RAM_SIZE);
    memset(ram2, 0, RAM2_SIZE);
    memset(rom, 0, ROM_SIZE);
    memset(&vq, 0xa5, sizeof(vq)); /* vq_reset must not rely on zeroes */
    vq.max_size = 1024;
    vq.name = "test.q0";
    vq_reset(&vq);
    return 0;
}

/* start: a queue of `size` at the usual addresses. */
static int start(uint16_t size, uint64_t features)
{
    vq.size = size;
    vq.enabled = true;
    vq.desc_gpa = DESC;
    vq.driver_gpa = DRIVER;
    vq.device_gpa = DEVICE;
    return vq_start(&vq, &mem, features);
}

static void start_ok(uint16_t size, uint64_t features)
{
    assert_int_equal(start(size, features), 0);
    assert_true(vq_ready(&vq));
}

/* expect_broken: vq_pop fails with `why` in vq.error, and keeps failing. */
static void expect_broken(const char *why)
{
    assert_int_equal(vq_pop(&vq, &el), -EINVAL);
    assert_true(vq.broken);
    assert_false(vq_ready(&vq));
    if (!strstr(vq.error, why))
        fail_msg("error '%s' lacks '%s'", vq.error, why);
    assert_int_equal(vq_pop(&vq, &el), -EINVAL);
    assert_int_equal(vq_pop(&vq, &el), -EINVAL);
}

static void assert_seg(unsigned i, uint64_t gpa, size_t len)
{
    assert_ptr_equal(el.iov[i].iov_base, gp(gpa));
    assert_int_equal(el.iov[i].iov_len, len);
}

/* ---- split ring: well-formed chains -------------------------------------- */

static void split_direct(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_VERSION_1));
    assert_int_equal(vq_pop(&vq, &el), 0); /* empty */
    sdesc(5, BUF, 16, F_NEXT, 2);
    sdesc(2, BUF + 0x100, 32, F_NEXT, 7);
    sdesc(7, BUF + 0x200, 64, F_WRITE, 0);
    split_avail(5);
    sdesc(1, BUF + 0x300, 100, 0, 0); /* a one-descriptor chain */
    split_avail(1);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(el.id, 5);
    assert_int_equal(el.ndesc, 3);
    assert_int_equal(el.nout, 2);
    assert_int_equal(el.nin, 1);
    assert_int_equal(el.out_len, 48);
    assert_int_equal(el.in_len, 64);
    assert_seg(0, BUF, 16);
    assert_seg(1, BUF + 0x100, 32);
    assert_seg(2, BUF + 0x200, 64);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(el.id, 1);
    assert_int_equal(el.nout, 1);
    assert_int_equal(el.nin, 0);
    assert_int_equal(vq_pop(&vq, &el), 0);
    assert_false(vq.broken);
}

static void split_writable_only(void **state)
{
    (void)state;
    start_ok(4, 0);
    sdesc(0, BUF, 8, F_WRITE | F_NEXT, 3);
    sdesc(3, BUF + 8, 8, F_WRITE, 0);
    split_avail(0);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(el.nout, 0);
    assert_int_equal(el.nin, 2);
    assert_int_equal(el.in_len, 16);
}

static void split_indirect(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    /* table entries in the order 0 -> 3 -> 1 (2 is unused) */
    sdesc_at(TABLE, 0, BUF, 10, F_NEXT, 3);
    sdesc_at(TABLE, 3, BUF + 0x100, 20, F_NEXT | F_WRITE, 1);
    sdesc_at(TABLE, 1, BUF + 0x200, 30, F_WRITE, 0);
    sdesc(4, TABLE, 4 * 16, F_INDIRECT | F_WRITE, 0); /* WRITE ignored */
    split_avail(4);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(el.id, 4);
    assert_int_equal(el.nout, 1);
    assert_int_equal(el.nin, 2);
    assert_int_equal(el.out_len, 10);
    assert_int_equal(el.in_len, 50);
    assert_seg(0, BUF, 10);
    assert_seg(1, BUF + 0x100, 20);
    assert_seg(2, BUF + 0x200, 30);
    assert_int_equal(vq_pop(&vq, &el), 0);
}

static void split_span_regions(void **state)
{
    (void)state;
    start_ok(4, 0);
    /* one buffer across the two adjacent RAM regions: two iovecs */
    sdesc(0, RAM2_BASE - 8, 24, 0, 0);
    split_avail(0);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(el.nout, 2);
    assert_int_equal(el.out_len, 24);
    assert_ptr_equal(el.iov[0].iov_base, ram + RAM_SIZE - 8);
    assert_int_equal(el.iov[0].iov_len, 8);
    assert_ptr_equal(el.iov[1].iov_base, ram2);
    assert_int_equal(el.iov[1].iov_len, 16);
}

static void split_push_used(void **state)
{
    (void)state;
    start_ok(4, 0);
    sdesc(2, BUF, 16, F_NEXT, 3);
    sdesc(3, BUF + 16, 100, F_WRITE, 0);
    split_avail(2);
    sdesc(1, BUF + 200, 8, 0, 0);
    split_avail(1);
    struct vq_elem a, b;
    assert_int_equal(vq_pop(&vq, &a), 1);
    assert_int_equal(vq_pop(&vq, &b), 1);
    assert_int_equal(r16(DEVICE + 2), 0);
    vq_push(&vq, &b, 0); /* completions out of order */
    assert_int_equal(r16(DEVICE + 2), 1);
    assert_int_equal(r32(DEVICE + 4), 1);
    assert_int_equal(r32(DEVICE + 8), 0);
    vq_push(&vq, &a, 1000); /* clamped to the writable length */
    assert_int_equal(r16(DEVICE + 2), 2);
    assert_int_equal(r32(DEVICE + 12), 2);
    assert_int_equal(r32(DEVICE + 16), 100);
}

/* Many laps of a 4-entry ring with the 16-bit indexes wrapping too. */
static void split_laps(void **state)
{
    (void)state;
    start_ok(4, FEAT(VIRTIO_F_EVENT_IDX));
    vq.last_avail = vq.used_idx = 65530; /* as if after 65530 requests */
    w16(DRIVER + 2, 65530);
    w16(DEVICE + 2, 65530);
    for (unsigned i = 0; i < 40; i++) {
        uint16_t head = (uint16_t)(i % 4);
        sdesc(head, BUF + 64 * i, 8 + i, F_NEXT, (head + 1) % 4);
        sdesc((head + 1) % 4, BUF + 0x10000 + 64 * i, 4, F_WRITE, 0);
        split_avail(head);
        assert_int_equal(vq_pop(&vq, &el), 1);
        assert_int_equal(el.id, head);
        assert_seg(0, BUF + 64 * i, 8 + i);
        assert_seg(1, BUF + 0x10000 + 64 * i, 4);
        vq_push(&vq, &el, 3);
        uint16_t uidx = (uint16_t)(65530 + i + 1);
        assert_int_equal(r16(DEVICE + 2), uidx);
        assert_int_equal(r32(DEVICE + 4 + 8 * ((uint16_t)(uidx - 1) % 4)),
                         head);
        assert_int_equal(vq_pop(&vq, &el), 0);
        /* the empty pop asked for a kick at the next index */
        assert_int_equal(r16(DEVICE + 4 + 8 * 4), uidx);
    }
    assert_false(vq.broken);
}

/* ---- split ring: notifications ------------------------------------------ */

static void push_one(uint16_t head)
{
    sdesc(head, BUF + 32 * head, 8, F_WRITE, 0);
    split_avail(head);
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 8);
}

static void split_interrupt_flags(void **state)
{
    (void)state;
    start_ok(8, 0);
    assert_false(vq_need_interrupt(&vq)); /* nothing used yet */
    push_one(0);
    assert_true(vq_need_interrupt(&vq));
    assert_false(vq_need_interrupt(&vq)); /* already told */
    w16(DRIVER, 1);                       /* VIRTQ_AVAIL_F_NO_INTERRUPT */
    push_one(1);
    assert_false(vq_need_interrupt(&vq));
    w16(DRIVER, 0);
    push_one(2);
    push_one(3);
    assert_true(vq_need_interrupt(&vq)); /* one for the batch */
    assert_false(vq_need_interrupt(&vq));
}

static void split_interrupt_event_idx(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_EVENT_IDX));
    const uint64_t used_event = DRIVER + 4 + 2 * 8;
    w16(DRIVER, 1); /* NO_INTERRUPT is ignored with the event index */
    w16(used_event, 100);
    push_one(0);                         /* used idx 1 */
    assert_true(vq_need_interrupt(&vq)); /* first time: always */
    w16(used_event, 1);                  /* "after entry 1 is used" */
    push_one(1);                         /* used idx 2: crosses 1 */
    assert_true(vq_need_interrupt(&vq));
    w16(used_event, 5);
    push_one(2); /* 3 */
    assert_false(vq_need_interrupt(&vq));
    push_one(3); /* 4 */
    push_one(4); /* 5 */
    assert_false(vq_need_interrupt(&vq));
    push_one(5); /* 6: entry 5 used */
    assert_true(vq_need_interrupt(&vq));
    assert_false(vq_need_interrupt(&vq));
    w16(used_event, 6); /* a batch crossing the event */
    push_one(6);
    push_one(7);
    assert_true(vq_need_interrupt(&vq));
    w16(used_event, 7); /* event already behind */
    push_one(0);
    assert_false(vq_need_interrupt(&vq));
}

static void split_kicks(void **state)
{
    (void)state;
    start_ok(8, 0);
    assert_int_equal(r16(DEVICE), 0);
    vq_disable_kicks(&vq);
    assert_int_equal(r16(DEVICE), 1); /* VIRTQ_USED_F_NO_NOTIFY */
    assert_false(vq_enable_kicks(&vq));
    assert_int_equal(r16(DEVICE), 0);
    vq_disable_kicks(&vq);
    sdesc(0, BUF, 8, 0, 0);
    split_avail(0);
    assert_true(vq_enable_kicks(&vq)); /* arrived while disabled */
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_false(vq_enable_kicks(&vq));
}

static void split_kicks_event_idx(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_EVENT_IDX));
    const uint64_t avail_event = DEVICE + 4 + 8 * 8;
    w16(avail_event, 0x5555);
    sdesc(0, BUF, 8, 0, 0);
    sdesc(1, BUF, 8, 0, 0);
    vq_disable_kicks(&vq);
    assert_int_equal(r16(DEVICE), 0); /* flags unused with the event index */
    split_avail(0);
    split_avail(1);
    assert_true(vq_enable_kicks(&vq));
    assert_int_equal(r16(avail_event), 0);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(vq_pop(&vq, &el), 0);
    assert_int_equal(r16(avail_event), 2); /* kick for entry 2 */
    assert_false(vq_enable_kicks(&vq));
    split_avail(0);
    assert_true(vq_enable_kicks(&vq));
}

/* ---- split ring: malformed chains ---------------------------------------- */

static void split_loop(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, 8, F_NEXT, 1);
    sdesc(1, BUF, 8, F_NEXT, 2);
    sdesc(2, BUF, 8, F_NEXT, 0);
    split_avail(0);
    expect_broken("loops");
}

static void split_self_loop(void **state)
{
    (void)state;
    start_ok(256, 0);
    sdesc(9, BUF, 8, F_NEXT, 9);
    split_avail(9);
    expect_broken("loops or is longer than the queue size (256)");
}

static void split_too_long(void **state)
{
    (void)state;
    /* With next < size a chain longer than the ring must revisit an entry:
     * a 2-entry ring whose chain goes 0 -> 1 -> 0. */
    start_ok(2, 0);
    sdesc(0, BUF, 8, F_NEXT, 1);
    sdesc(1, BUF, 8, F_NEXT, 0);
    split_avail(0);
    expect_broken("longer than the queue size (2)");
}

static void split_too_many_segs(void **state)
{
    (void)state;
    start_ok(512, 0);
    for (unsigned i = 0; i < 257; i++)
        sdesc(i, BUF + 16 * i, 16, i < 256 ? F_NEXT : 0, (uint16_t)(i + 1));
    split_avail(0);
    expect_broken("more than 256 segments");
}

static void split_max_segs_ok(void **state)
{
    (void)state;
    start_ok(512, 0);
    for (unsigned i = 0; i < 256; i++)
        sdesc(i, BUF + 16 * i, 16, i < 255 ? F_NEXT : 0, (uint16_t)(i + 1));
    split_avail(0);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(el.nout, 256);
    assert_int_equal(el.out_len, 256 * 16);
}

static void split_nested_indirect(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    sdesc_at(TABLE, 0, BUF, 8, F_NEXT, 1);
    sdesc_at(TABLE, 1, TABLE + 0x100, 16, F_INDIRECT, 0);
    sdesc(0, TABLE, 32, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("nested indirect");
}

static void split_indirect_not_negotiated(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc_at(TABLE, 0, BUF, 8, 0, 0);
    sdesc(0, TABLE, 16, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("VIRTIO_F_INDIRECT_DESC");
}

static void split_indirect_with_next(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    sdesc_at(TABLE, 0, BUF, 8, 0, 0);
    sdesc(0, TABLE, 16, F_INDIRECT | F_NEXT, 1);
    sdesc(1, BUF, 8, 0, 0);
    split_avail(0);
    expect_broken("indirect descriptor chained");
}

static void split_indirect_after_direct(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    sdesc_at(TABLE, 0, BUF, 8, 0, 0);
    sdesc(0, BUF, 8, F_NEXT, 1);
    sdesc(1, TABLE, 16, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("indirect descriptor chained");
}

static void split_indirect_bad_len(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    sdesc_at(TABLE, 0, BUF, 8, 0, 0);
    sdesc(0, TABLE, 40, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("not a multiple of 16");
}

static void split_indirect_zero_len(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    sdesc(0, TABLE, 0, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("not a multiple of 16");
}

static void split_indirect_outside(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    sdesc(0, RAM2_BASE + RAM2_SIZE - 16, 32, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("indirect table 0x20fff0+0x20 is not inside guest RAM");
}

static void split_indirect_loop(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    sdesc_at(TABLE, 0, BUF, 8, F_NEXT, 1);
    sdesc_at(TABLE, 1, BUF, 8, F_NEXT, 0);
    sdesc(0, TABLE, 32, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("indirect chain loops");
}

static void split_indirect_next_range(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    sdesc_at(TABLE, 0, BUF, 8, F_NEXT, 2); /* a table of 2 entries */
    sdesc(0, TABLE, 32, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("indirect next index 2 out of range");
}

static void split_indirect_too_many_segs(void **state)
{
    (void)state;
    start_ok(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    for (unsigned i = 0; i < 300; i++)
        sdesc_at(TABLE, i, BUF + i, 1, F_NEXT, (uint16_t)(i + 1));
    sdesc(0, TABLE, 300 * 16, F_INDIRECT, 0);
    split_avail(0);
    expect_broken("more than 256 segments");
}

static void split_read_after_write(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, 8, F_WRITE | F_NEXT, 1);
    sdesc(1, BUF + 8, 8, 0, 0);
    split_avail(0);
    expect_broken("readable buffer after a writable one");
}

static void split_zero_len(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, 8, F_NEXT, 1);
    sdesc(1, BUF + 8, 0, F_WRITE, 0);
    split_avail(0);
    expect_broken("zero-length");
}

static void split_huge_len(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, VQ_MAX_SEG_LEN + 1, 0, 0);
    split_avail(0);
    expect_broken("more than 1 GiB");
}

static void split_outside_ram(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, 0x50000, 16, 0, 0); /* a hole */
    split_avail(0);
    expect_broken("buffer 0x50000+0x10 is not inside guest RAM");
}

static void split_straddle_end(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, RAM2_BASE + RAM2_SIZE - 8, 16, F_WRITE, 0);
    split_avail(0);
    expect_broken("not inside guest RAM");
}

static void split_rom_buffer(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, ROM_BASE, 16, F_WRITE, 0);
    split_avail(0);
    expect_broken("not inside guest RAM");
}

static void split_wrap_64(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, 0xfffffffffffffff0ull, 0x20, 0, 0);
    split_avail(0);
    expect_broken("wraps the address space");
}

static void split_avail_jump(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, 8, 0, 0);
    w16(DRIVER + 2, 9); /* 9 entries made available on an 8-entry ring */
    expect_broken("9 ahead");
}

static void split_avail_full_ok(void **state)
{
    (void)state;
    start_ok(8, 0);
    for (unsigned i = 0; i < 8; i++) {
        sdesc(i, BUF, 8, 0, 0);
        split_avail((uint16_t)i);
    }
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(vq_pop(&vq, &el), 0);
}

static void split_next_range(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, 8, F_NEXT, 8);
    split_avail(0);
    expect_broken("next index 8 out of range");
}

static void split_head_range(void **state)
{
    (void)state;
    start_ok(8, 0);
    split_avail(8);
    expect_broken("head index 8 out of range");
}

/* The ring keeps the size it was started with, whatever a transport later
 * writes into vq.size: indexes stay inside the areas checked at start. */
static void split_size_frozen(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, 8, F_NEXT, 9);
    split_avail(0);
    vq.size = 1024;
    expect_broken("next index 9 out of range (queue size 8)");
}

static void split_broken_stays(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, 0, 0, 0);
    split_avail(0);
    expect_broken("zero-length");
    sdesc(0, BUF, 8, 0, 0); /* repaired: still broken until restarted */
    assert_int_equal(vq_pop(&vq, &el), -EINVAL);
    assert_false(vq_enable_kicks(&vq));
    /* a device reset and a new start bring it back */
    vq_reset(&vq);
    assert_false(vq.broken);
    assert_int_equal(vq.error[0], 0);
    assert_int_equal(vq.size, 1024);
    assert_false(vq.enabled);
    assert_int_equal(vq.msix_vector, 0xffff);
    assert_int_equal(vq.desc_gpa, 0);
    assert_int_equal(vq_pop(&vq, &el), 0);
    memset(ram, 0, RAM_SIZE);
    start_ok(8, 0);
    sdesc(0, BUF, 8, 0, 0);
    split_avail(0);
    assert_int_equal(vq_pop(&vq, &el), 1);
}

/* ---- vq_start checks ----------------------------------------------------- */

static void start_expect(uint64_t desc, uint64_t drv, uint64_t dev,
                         uint16_t size, uint64_t features, const char *why)
{
    setup(NULL);
    vq.size = size;
    vq.enabled = true;
    vq.desc_gpa = desc;
    vq.driver_gpa = drv;
    vq.device_gpa = dev;
    assert_int_equal(vq_start(&vq, &mem, features), -EINVAL);
    assert_false(vq_ready(&vq));
    if (!strstr(vq.error, why))
        fail_msg("error '%s' lacks '%s'", vq.error, why);
    assert_int_equal(vq_pop(&vq, &el), -EINVAL);
}

static void start_checks(void **state)
{
    (void)state;
    const uint64_t P = FEAT(VIRTIO_F_RING_PACKED);
    const uint64_t E = FEAT(VIRTIO_F_EVENT_IDX);
    start_expect(DESC, DRIVER, DEVICE, 6, 0, "not a power of two");
    start_expect(DESC, DRIVER, DEVICE, 0, 0, "queue size 0");
    start_expect(DESC, DRIVER, DEVICE, 2048, 0, "queue size 2048"); /* max */
    start_expect(DESC + 8, DRIVER, DEVICE, 8, 0, "not 16-byte aligned");
    start_expect(DESC, DRIVER + 1, DEVICE, 8, 0, "not 2-byte aligned");
    start_expect(DESC, DRIVER, DEVICE + 2, 8, 0, "not 4-byte aligned");
    start_expect(0x50000, DRIVER, DEVICE, 8, 0, "descriptor table 0x50000");
    start_expect(ROM_BASE, DRIVER, DEVICE, 8, 0, "not inside guest RAM");
    start_expect(DESC, 0x50000, DEVICE, 8, 0, "available ring 0x50000");
    /* used ring: 4 + 8 * 8 = 68 bytes; 70 with the event index */
    start_expect(DESC, DRIVER, RAM2_BASE + RAM2_SIZE - 68, 8, E,
                 "used ring 0x20ffbc+0x46 is not inside guest RAM");
    start_expect(DESC, RAM2_BASE + RAM2_SIZE - 18, DEVICE, 8, 0,
                 "available ring 0x20ffee+0x14 is not inside");
    start_expect(DESC, DRIVER, 0xfffffffffffffff0ull, 8, 0, "used ring");
    start_expect(RAM2_BASE + RAM2_SIZE - 64, DRIVER, DEVICE, 8, 0,
                 "descriptor table");
    /* a ring area across two regions is refused: one mapping only */
    start_expect(RAM2_BASE - 64, DRIVER, DEVICE, 8, 0, "descriptor table");
    start_expect(DESC + 8, DRIVER, DEVICE, 8, P, "descriptor ring");
    start_expect(DESC, DRIVER + 2, DEVICE, 8, P, "driver event suppression");
    start_expect(DESC, DRIVER, DEVICE + 2, 8, P, "device event suppression");
    start_expect(DESC, DRIVER, 0x50000, 8, P, "device event suppression");
    start_expect(DESC, DRIVER, DEVICE, 0, P, "queue size 0");
    /* the same used ring fits exactly without the event index */
    setup(NULL);
    vq.size = 8;
    vq.enabled = true;
    vq.desc_gpa = DESC;
    vq.driver_gpa = DRIVER;
    vq.device_gpa = RAM2_BASE + RAM2_SIZE - 68;
    assert_int_equal(vq_start(&vq, &mem, 0), 0);
    assert_true(vq_ready(&vq));
    /* packed sizes need not be powers of two */
    setup(NULL);
    start_ok(6, P);
    setup(NULL);
    vq.max_size = 32768;
    start_ok(32768, P);
    /* a disabled queue is left alone */
    setup(NULL);
    vq.size = 3;
    assert_int_equal(vq_start(&vq, &mem, 0), 0);
    assert_false(vq_ready(&vq));
    assert_int_equal(vq_pop(&vq, &el), 0);
    vq_push(&vq, &el, 0); /* harmless on an unstarted queue */
    assert_false(vq_need_interrupt(&vq));
}

/* ---- packed ring --------------------------------------------------------- */

/* A minimal packed-ring driver (2.8.21), to drive the device side. */
struct pdrv {
    uint16_t next_avail, next_used;
    bool avail_wrap, used_wrap;
    uint16_t nslots[64]; /* per buffer id */
};

static struct pdrv drv;

static void pdesc(unsigned i, uint64_t addr, uint32_t len, uint16_t id,
                  uint16_t flags)
{
    w64(DESC + 16 * i, addr);
    w32(DESC + 16 * i + 8, len);
    w16(DESC + 16 * i + 12, id);
    w16(DESC + 16 * i + 14, flags);
}

struct pbuf {
    uint64_t addr;
    uint32_t len;
    uint16_t flags; /* F_WRITE, F_INDIRECT */
};

/* pdrv_add: make a buffer of n elements available, the head's flags
 * last; the buffer id only in the last descriptor (2.8.6). */
static void pdrv_add(const struct pbuf *b, unsigned n, uint16_t id)
{
    uint16_t head = drv.next_avail, head_flags = 0;
    for (unsigned k = 0; k < n; k++) {
        uint16_t f = b[k].flags;
        uint16_t did = k + 1 < n ? 0xffff : id;
        f |= drv.avail_wrap ? F_AVAIL : F_USED;
        if (k + 1 < n)
            f |= F_NEXT;
        if (k == 0) { /* flags 0: not available in any lap */
            head_flags = f;
            pdesc(drv.next_avail, b[k].addr, b[k].len, did, 0);
        } else {
            pdesc(drv.next_avail, b[k].addr, b[k].len, did, f);
        }
        if (++drv.next_avail == vq.size) {
            drv.next_avail = 0;
            drv.avail_wrap = !drv.avail_wrap;
        }
    }
    drv.nslots[id] = (uint16_t)n;
    w16(DESC + 16 * head + 14, head_flags);
}

/* pdrv_used: the next used buffer's id and length, or -1. */
static int pdrv_used(uint32_t *len)
{
    uint16_t f = r16(DESC + 16 * drv.next_used + 14);
    if (!!(f & F_USED) != drv.used_wrap || !!(f & F_AVAIL) != drv.used_wrap)
        return -1;
    uint16_t id = r16(DESC + 16 * drv.next_used + 12);
    *len = r32(DESC + 16 * drv.next_used + 8);
    assert_true(id < 64);
    drv.next_used = (uint16_t)(drv.next_used + drv.nslots[id]);
    if (drv.next_used >= vq.size) {
        drv.next_used = (uint16_t)(drv.next_used - vq.size);
        drv.used_wrap = !drv.used_wrap;
    }
    return id;
}

static void pstart(uint16_t size, uint64_t features)
{
    memset(&drv, 0, sizeof(drv));
    drv.avail_wrap = drv.used_wrap = true;
    start_ok(size, FEAT(VIRTIO_F_RING_PACKED) | features);
}

static void packed_chain(void **state)
{
    (void)state;
    pstart(8, 0);
    assert_int_equal(vq_pop(&vq, &el), 0);
    struct pbuf b[3] = {
        {BUF, 16, 0}, {BUF + 0x100, 32, 0}, {BUF + 0x200, 64, F_WRITE}};
    pdrv_add(b, 3, 7);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(el.id, 7);
    assert_int_equal(el.ndesc, 3);
    assert_int_equal(el.nout, 2);
    assert_int_equal(el.nin, 1);
    assert_int_equal(el.out_len, 48);
    assert_int_equal(el.in_len, 64);
    assert_seg(0, BUF, 16);
    assert_seg(1, BUF + 0x100, 32);
    assert_seg(2, BUF + 0x200, 64);
    assert_int_equal(vq_pop(&vq, &el), 0);
    vq_push(&vq, &el, 50);
    /* the used descriptor overwrites the head: id, len, AVAIL|USED|WRITE */
    assert_int_equal(r16(DESC + 12), 7);
    assert_int_equal(r32(DESC + 8), 50);
    assert_int_equal(r16(DESC + 14), F_AVAIL | F_USED | F_WRITE);
    uint32_t len;
    assert_int_equal(pdrv_used(&len), 7);
    assert_int_equal(len, 50);
    assert_int_equal(pdrv_used(&len), -1);
    /* nothing written: no WRITE flag */
    struct pbuf c = {BUF, 4, 0};
    pdrv_add(&c, 1, 3);
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 0);
    assert_int_equal(r16(DESC + 3 * 16 + 14), F_AVAIL | F_USED);
}

static void packed_indirect(void **state)
{
    (void)state;
    pstart(8, FEAT(VIRTIO_F_INDIRECT_DESC));
    /* packed tables are used in order; NEXT and id are ignored there */
    const uint64_t t = TABLE + 8; /* tables need no alignment */
    w64(t, BUF);
    w32(t + 8, 10);
    w16(t + 14, F_NEXT);
    w64(t + 16, BUF + 0x100);
    w32(t + 24, 20);
    w16(t + 30, F_WRITE);
    w64(t + 32, BUF + 0x200);
    w32(t + 40, 30);
    w16(t + 46, F_WRITE);
    struct pbuf b = {t, 48, F_INDIRECT};
    pdrv_add(&b, 1, 9);
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_int_equal(el.id, 9);
    assert_int_equal(el.ndesc, 1);
    assert_int_equal(el.nout, 1);
    assert_int_equal(el.nin, 2);
    assert_seg(0, BUF, 10);
    assert_seg(1, BUF + 0x100, 20);
    assert_seg(2, BUF + 0x200, 30);
    vq_push(&vq, &el, 5);
    uint32_t len;
    assert_int_equal(pdrv_used(&len), 9);
    assert_int_equal(len, 5);
}

/* Many laps of a 5-entry ring (not a power of two) with chains of 1 to 3
 * descriptors, some indirect, so chains and used entries cross the end. */
static void packed_laps(void **state)
{
    (void)state;
    pstart(5, FEAT(VIRTIO_F_INDIRECT_DESC));
    for (unsigned i = 0; i < 60; i++) {
        unsigned n = 1 + i % 3;
        uint16_t id = (uint16_t)(i % 64);
        struct pbuf b[3];
        for (unsigned k = 0; k < n; k++)
            b[k] = (struct pbuf){BUF + 0x1000 * i + 0x100 * k, 8 + k,
                                 k == n - 1 ? F_WRITE : 0};
        bool ind = i % 7 == 6;
        if (ind) {
            uint64_t t = TABLE + 0x100 * i;
            for (unsigned k = 0; k < n; k++) {
                w64(t + 16 * k, b[k].addr);
                w32(t + 16 * k + 8, b[k].len);
                w16(t + 16 * k + 14, b[k].flags);
            }
            struct pbuf d = {t, 16 * n, F_INDIRECT};
            pdrv_add(&d, 1, id);
        } else {
            pdrv_add(b, n, id);
        }
        assert_int_equal(vq_pop(&vq, &el), 1);
        assert_int_equal(el.id, id);
        assert_int_equal(el.ndesc, ind ? 1 : n);
        assert_int_equal(el.nout + el.nin, n);
        for (unsigned k = 0; k < n; k++)
            assert_seg(k, b[k].addr, b[k].len);
        assert_int_equal(vq_pop(&vq, &el), 0);
        vq_push(&vq, &el, i);
        uint32_t len;
        assert_int_equal(pdrv_used(&len), id);
        assert_int_equal(len, MIN(i, 8 + n - 1));
        assert_int_equal(pdrv_used(&len), -1);
    }
    assert_false(vq.broken);
    assert_int_equal(vq.last_avail, drv.next_avail);
    assert_int_equal(vq.avail_wrap, drv.avail_wrap);
}

/* Two buffers in flight completed out of order, over the ring's end. */
static void packed_out_of_order(void **state)
{
    (void)state;
    pstart(4, 0);
    struct pbuf one = {BUF, 8, 0}, two[2] = {{BUF, 8, 0}, {BUF, 8, F_WRITE}};
    pdrv_add(&one, 1, 1); /* slot 0 */
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 0);
    uint32_t len;
    assert_int_equal(pdrv_used(&len), 1);
    pdrv_add(&one, 1, 2); /* slot 1 */
    pdrv_add(two, 2, 3);  /* slots 2, 3 */
    pdrv_add(&one, 1, 4); /* slot 0, next lap */
    struct vq_elem a, b, c;
    assert_int_equal(vq_pop(&vq, &a), 1);
    assert_int_equal(vq_pop(&vq, &b), 1);
    assert_int_equal(vq_pop(&vq, &c), 1);
    assert_int_equal(vq_pop(&vq, &el), 0);
    assert_int_equal(b.id, 3);
    assert_int_equal(b.ndesc, 2);
    vq_push(&vq, &b, 8); /* written at slot 1, skips 2 */
    assert_int_equal(pdrv_used(&len), 3);
    vq_push(&vq, &a, 0); /* slot 3 */
    assert_int_equal(pdrv_used(&len), 2);
    vq_push(&vq, &c, 0); /* slot 0 of the next lap */
    assert_int_equal(pdrv_used(&len), 4);
    assert_int_equal(pdrv_used(&len), -1);
}

static void packed_interrupts(void **state)
{
    (void)state;
    pstart(4, 0);
    struct pbuf one = {BUF, 8, F_WRITE};
    assert_false(vq_need_interrupt(&vq));
    pdrv_add(&one, 1, 0);
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_true(vq_need_interrupt(&vq)); /* flags ENABLE (0) */
    assert_false(vq_need_interrupt(&vq));
    w16(DRIVER + 2, 1); /* RING_EVENT_FLAGS_DISABLE */
    pdrv_add(&one, 1, 0);
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_false(vq_need_interrupt(&vq));
    /* DESC without the event index is treated as ENABLE */
    w16(DRIVER + 2, 2);
    w16(DRIVER, 3 | 1 << 15);
    pdrv_add(&one, 1, 0);
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_true(vq_need_interrupt(&vq));
}

static void packed_interrupts_event_idx(void **state)
{
    (void)state;
    pstart(4, FEAT(VIRTIO_F_EVENT_IDX));
    struct pbuf one = {BUF, 8, F_WRITE};
    struct pbuf two[2] = {{BUF, 8, 0}, {BUF, 8, F_WRITE}};
    w16(DRIVER + 2, 2);       /* RING_EVENT_FLAGS_DESC */
    w16(DRIVER, 1 | 1 << 15); /* when slot 1 of lap 1 is used */
    pdrv_add(&one, 1, 0);     /* slot 0 */
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_false(vq_need_interrupt(&vq)); /* slot 0 only */
    pdrv_add(two, 2, 1);                  /* slots 1, 2 */
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_true(vq_need_interrupt(&vq)); /* slots 1-2 cover 1 */
    /* event in the next lap (wrap 0) at slot 0: not before the wrap */
    w16(DRIVER, 0);
    pdrv_add(&one, 1, 2); /* slot 3 */
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_false(vq_need_interrupt(&vq));
    pdrv_add(&one, 1, 3); /* slot 0, lap 2 */
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_true(vq_need_interrupt(&vq));
    /* an event left in the previous lap's slot 3: the next push passes
     * beyond it, no interrupt */
    w16(DRIVER, 3 | 1 << 15);
    pdrv_add(&one, 1, 0); /* slot 1 */
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_false(vq_need_interrupt(&vq));
    /* DISABLE still wins */
    w16(DRIVER + 2, 1);
    w16(DRIVER, 2); /* slot 2, this lap (wrap 0) */
    pdrv_add(&one, 1, 0);
    assert_int_equal(vq_pop(&vq, &el), 1);
    vq_push(&vq, &el, 1);
    assert_false(vq_need_interrupt(&vq));
}

static void packed_kicks(void **state)
{
    (void)state;
    pstart(4, 0);
    assert_int_equal(r16(DEVICE + 2), 0); /* ENABLE */
    vq_disable_kicks(&vq);
    assert_int_equal(r16(DEVICE + 2), 1); /* DISABLE */
    assert_false(vq_enable_kicks(&vq));
    assert_int_equal(r16(DEVICE + 2), 0);
    vq_disable_kicks(&vq);
    struct pbuf one = {BUF, 8, 0};
    pdrv_add(&one, 1, 0);
    assert_int_equal(vq_pop(&vq, &el), 1); /* disabled kicks: still pops */
    pdrv_add(&one, 1, 1);
    assert_true(vq_enable_kicks(&vq));
    assert_int_equal(vq_pop(&vq, &el), 1);
    assert_false(vq_enable_kicks(&vq));
}

static void packed_kicks_event_idx(void **state)
{
    (void)state;
    pstart(4, FEAT(VIRTIO_F_EVENT_IDX));
    assert_int_equal(r16(DEVICE + 2), 2);       /* DESC */
    assert_int_equal(r16(DEVICE), 0 | 1 << 15); /* slot 0, wrap 1 */
    struct pbuf one = {BUF, 8, 0};
    for (unsigned i = 0; i < 5; i++) {
        pdrv_add(&one, 1, 0);
        assert_int_equal(vq_pop(&vq, &el), 1);
        vq_push(&vq, &el, 0);
    }
    assert_int_equal(vq_pop(&vq, &el), 0);
    assert_int_equal(r16(DEVICE), 1); /* slot 1, wrap 0 */
    vq_disable_kicks(&vq);
    assert_int_equal(r16(DEVICE + 2), 1);
    assert_false(vq_enable_kicks(&vq));
    assert_int_equal(r16(DEVICE + 2), 2);
}

/* ---- packed ring: malformed ---------------------------------------------- */

static void pavail(unsigned i, uint64_t addr, uint32_t len, uint16_t flags)
{
    /* first lap: AVAIL set, USED clear */
    pdesc(i, addr, len, 0, flags | F_AVAIL);
}

static void packed_too_long(void **state)
{
    (void)state;
    pstart(4, 0);
    for (unsigned i = 0; i < 4; i++)
        pavail(i, BUF, 8, F_NEXT);
    expect_broken("longer than the queue size (4)");
}

static void packed_bad_chains(void **state)
{
    (void)state;
    static const struct {
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        const char *why;
    } c[] = {
        {BUF, 0, 0, "zero-length"},
        {BUF, VQ_MAX_SEG_LEN + 1, 0, "more than 1 GiB"},
        {0x50000, 8, 0, "not inside guest RAM"},
        {RAM2_BASE + RAM2_SIZE - 4, 8, 0, "not inside guest RAM"},
        {ROM_BASE, 8, 0, "not inside guest RAM"},
        {0xfffffffffffffffcull, 8, 0, "wraps"},
        {TABLE, 8, F_INDIRECT, "VIRTIO_F_INDIRECT_DESC"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
        setup(NULL);
        pstart(4, 0);
        pavail(0, c[i].addr, c[i].len, c[i].flags);
        expect_broken(c[i].why);
    }
    /* readable after writable */
    setup(NULL);
    pstart(4, 0);
    pavail(0, BUF, 8, F_WRITE | F_NEXT);
    pavail(1, BUF, 8, 0);
    expect_broken("readable buffer after a writable one");
}

static void packed_bad_indirect(void **state)
{
    (void)state;
    const uint64_t I = FEAT(VIRTIO_F_INDIRECT_DESC);
    /* not a multiple of 16 */
    pstart(4, I);
    pavail(0, TABLE, 24, F_INDIRECT);
    expect_broken("not a multiple of 16");
    /* nested */
    setup(NULL);
    pstart(4, I);
    w64(TABLE, BUF);
    w32(TABLE + 8, 8);
    w16(TABLE + 14, F_INDIRECT);
    pavail(0, TABLE, 16, F_INDIRECT);
    expect_broken("nested indirect");
    /* with NEXT */
    setup(NULL);
    pstart(4, I);
    w64(TABLE, BUF);
    w32(TABLE + 8, 8);
    pavail(0, TABLE, 16, F_INDIRECT | F_NEXT);
    pavail(1, BUF, 8, 0);
    expect_broken("indirect descriptor chained");
    /* inside a chain */
    setup(NULL);
    pstart(4, I);
    pavail(0, BUF, 8, F_NEXT);
    pavail(1, TABLE, 16, F_INDIRECT);
    expect_broken("indirect descriptor chained");
    /* too many entries */
    setup(NULL);
    pstart(4, I);
    pavail(0, TABLE, 16 * 257, F_INDIRECT);
    expect_broken("indirect table of 257 descriptors");
    /* a zero-length entry in the table */
    setup(NULL);
    pstart(4, I);
    pavail(0, TABLE, 32, F_INDIRECT);
    w64(TABLE, BUF);
    w32(TABLE + 8, 8);
    expect_broken("zero-length");
    /* table outside RAM */
    setup(NULL);
    pstart(4, I);
    pavail(0, 0x60000, 32, F_INDIRECT);
    expect_broken("indirect table 0x60000+0x20 is not inside guest RAM");
}

/* ---- copies -------------------------------------------------------------- */

static void copies(void **state)
{
    (void)state;
    start_ok(8, 0);
    sdesc(0, BUF, 3, F_NEXT, 1);
    sdesc(1, BUF + 0x100, 5, F_NEXT, 2);
    sdesc(2, BUF + 0x200, 7, F_NEXT, 3);
    sdesc(3, BUF + 0x300, 4, F_WRITE | F_NEXT, 4);
    sdesc(4, BUF + 0x400, 6, F_WRITE, 0);
    split_avail(0);
    memcpy(gp(BUF), "abc", 3);
    memcpy(gp(BUF + 0x100), "defgh", 5);
    memcpy(gp(BUF + 0x200), "ijklmno", 7);
    assert_int_equal(vq_pop(&vq, &el), 1);
    char buf[32];
    memset(buf, 0, sizeof(buf));
    assert_int_equal(vq_copy_from(&el, 0, buf, sizeof(buf)), 15);
    assert_string_equal(buf, "abcdefghijklmno");
    memset(buf, 0, sizeof(buf));
    assert_int_equal(vq_copy_from(&el, 2, buf, 8), 8); /* across 3 */
    assert_string_equal(buf, "cdefghij");
    memset(buf, 0, sizeof(buf));
    assert_int_equal(vq_copy_from(&el, 8, buf, 1), 1); /* at a boundary */
    assert_string_equal(buf, "i");
    assert_int_equal(vq_copy_from(&el, 15, buf, 4), 0);
    assert_int_equal(vq_copy_from(&el, 100, buf, 4), 0);
    /* writable part: 4 + 6 bytes */
    assert_int_equal(vq_copy_to(&el, 2, "WXYZ", 4), 4);
    assert_memory_equal(gp(BUF + 0x302), "WX", 2);
    assert_memory_equal(gp(BUF + 0x400), "YZ", 2);
    assert_int_equal(vq_copy_to(&el, 0, "0123456789ABCDEF", 16), 10);
    assert_memory_equal(gp(BUF + 0x300), "0123", 4);
    assert_memory_equal(gp(BUF + 0x400), "456789", 6);
    assert_int_equal(r32(BUF + 0x406), 0); /* nothing past the buffer */
    assert_int_equal(vq_copy_to(&el, 10, "x", 1), 0);
    /* the readable part was not written */
    assert_memory_equal(gp(BUF + 0x200), "ijklmno", 7);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
    const struct CMUnitTest tests[] = {
        T(split_direct),
        T(split_writable_only),
        T(split_indirect),
        T(split_span_regions),
        T(split_push_used),
        T(split_laps),
        T(split_interrupt_flags),
        T(split_interrupt_event_idx),
        T(split_kicks),
        T(split_kicks_event_idx),
        T(split_loop),
        T(split_self_loop),
        T(split_too_long),
        T(split_too_many_segs),
        T(split_max_segs_ok),
        T(split_nested_indirect),
        T(split_indirect_not_negotiated),
        T(split_indirect_with_next),
        T(split_indirect_after_direct),
        T(split_indirect_bad_len),
        T(split_indirect_zero_len),
        T(split_indirect_outside),
        T(split_indirect_loop),
        T(split_indirect_next_range),
        T(split_indirect_too_many_segs),
        T(split_read_after_write),
        T(split_zero_len),
        T(split_huge_len),
        T(split_outside_ram),
        T(split_straddle_end),
        T(split_rom_buffer),
        T(split_wrap_64),
        T(split_avail_jump),
        T(split_avail_full_ok),
        T(split_next_range),
        T(split_head_range),
        T(split_size_frozen),
        T(split_broken_stays),
        T(start_checks),
        T(packed_chain),
        T(packed_indirect),
        T(packed_laps),
        T(packed_out_of_order),
        T(packed_interrupts),
        T(packed_interrupts_event_idx),
        T(packed_kicks),
        T(packed_kicks_event_idx),
        T(packed_too_long),
        T(packed_bad_chains),
        T(packed_bad_indirect),
        T(copies),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * virtqueue.c: qvm's one virtqueue (see virtqueue.h): the split ring
 * (virtio 1.2, 2.7) and the packed ring (2.8), each with indirect
 * descriptors and the event index, and the checks that keep a malformed
 * ring from reaching outside guest RAM or making the device spin.
 *
 * Guest memory: the ring areas are resolved once, at vq_start, through
 * gview_ptr(); every buffer and indirect table of a chain goes through it
 * again at vq_pop. A buffer may span adjacent RAM regions (it then takes
 * one iovec per region); ROM and holes are outside RAM. Each descriptor is
 * copied out of the ring once and only the copy is checked and used, so a
 * driver that rewrites it meanwhile cannot get past the checks.
 *
 * Memory ordering (the driver runs on other CPUs): split: avail->idx is
 * read with acquire, used->idx published with release; packed: a head's
 * flags are read with acquire, a used descriptor's flags written with
 * release. (Acquire loads and release stores rather than fences: the same
 * code on x86, and ThreadSanitizer, which does not model fences, sees the
 * ordering too.) A full fence separates publishing used entries from reading
 * the driver's interrupt suppression (vq_need_interrupt), and publishing the
 * device's kick suppression from re-reading the ring (vq_enable_kicks and
 * an empty vq_pop), so that neither side misses the other's update.
 *
 * Kick suppression: while kicks are enabled and the ring is found empty,
 * vq_pop itself publishes where the next kick is wanted (split with event
 * index: avail_event = the next index; packed with event index: the next
 * descriptor and wrap counter) and looks again, so a device that pops until
 * empty on every kick never misses one.
 *
 * Context: one thread at a time per queue (the device's).
 */
#include "virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Descriptor flags (2.7.5, 2.8). */
#define DESC_F_NEXT     1u
#define DESC_F_WRITE    2u
#define DESC_F_INDIRECT 4u
#define DESC_F_AVAIL    (1u << 7)
#define DESC_F_USED     (1u << 15)

/* Split ring flags (2.7.6, 2.7.8). */
#define AVAIL_F_NO_INTERRUPT 1u
#define USED_F_NO_NOTIFY     1u

/* Packed event suppression (2.8.10). */
#define EVENT_F_ENABLE  0u
#define EVENT_F_DISABLE 1u
#define EVENT_F_DESC    2u

#define DESC_SIZE 16u

/* One descriptor as copied out of guest memory. `next` is the split
 * ring's next field or the packed ring's buffer id. */
struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* ---- guest memory accessors --------------------------------------------- */

/* Ring fields are naturally aligned (checked at vq_start), so these are
 * single, untorn accesses that the compiler neither repeats nor elides. */
static inline uint16_t ld16(const void *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static inline void st16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void st32(void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

/* An acquire load: what the driver wrote before it published this value
 * (with a release store or a fence) is visible after it. */
static inline uint16_t ld16_acquire(const void *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

/* A release store: what was written before is visible to a guest (or
 * ThreadSanitizer, which does not model fences) that sees this value. */
static inline void st16_release(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELEASE);
}

static inline void *at(void *base, size_t off)
{
    return (unsigned char *)base + off;
}

/* read_desc: copy one descriptor (16 bytes, any alignment: indirect tables
 * need none) and use only the copy from then on. */
static void read_desc(const void *p, bool packed, struct desc *d)
{
    unsigned char raw[DESC_SIZE];
    uint64_t a;
    uint32_t l;
    uint16_t w12, w14;
    memcpy(raw, p, sizeof(raw));
    atomic_signal_fence(memory_order_seq_cst); /* no re-reading the ring */
    memcpy(&a, raw, 8);
    memcpy(&l, raw + 8, 4);
    memcpy(&w12, raw + 12, 2);
    memcpy(&w14, raw + 14, 2);
    d->addr = le64toh(a);
    d->len = le32toh(l);
    if (packed) { /* id, flags */
        d->next = le16toh(w12);
        d->flags = le16toh(w14);
    } else { /* flags, next */
        d->flags = le16toh(w12);
        d->next = le16toh(w14);
    }
}

/* ram_ptr: host pointer for [gpa, gpa+len) inside one RAM region, or NULL. */
static void *ram_ptr(const struct gview *v, uint64_t gpa, uint64_t len)
{
    uint64_t span;
    void *p = gview_span(v, gpa, len, GV_RAM, &span);
    return p && span == len ? p : NULL;
}

static int vq_fail(struct virtqueue *vq, const char *fmt, ...) PRINTF_FMT(2, 3);

/* vq_fail: the ring is malformed; the queue is broken from now on. */
static int vq_fail(struct virtqueue *vq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vq->error, sizeof(vq->error), fmt, ap);
    va_end(ap);
    vq->broken = true;
    return -EINVAL;
}

/* ---- start, reset ------------------------------------------------------- */

static void clear_ring_state(struct virtqueue *vq)
{
    vq->mem = NULL;
    vq->desc = vq->driver = vq->device = NULL;
    vq->ring_size = 0;
    vq->last_avail = vq->used_idx = vq->signalled_used = 0;
    vq->signalled_valid = false;
    vq->avail_wrap = vq->used_wrap = true; /* 2.8.1: initialised to 1 */
    vq->used_since_signal = 0;
    vq->kicks_disabled = false;
    vq->broken = false;
    vq->error[0] = 0;
}

/* ring_area: resolve one ring area, or fail the queue. */
static void *ring_area(struct virtqueue *vq, const char *what, uint64_t gpa,
                       uint64_t len, unsigned align)
{
    void *p;
    if (gpa % align) {
        vq_fail(vq, "%s at 0x%llx is not %u-byte aligned", what,
                (unsigned long long)gpa, align);
        return NULL;
    }
    p = ram_ptr(vq->mem, gpa, len);
    if (!p) {
        vq_fail(vq, "%s 0x%llx+0x%llx is not inside guest RAM", what,
                (unsigned long long)gpa, (unsigned long long)len);
        return NULL;
    }
    if ((uintptr_t)p % align) { /* a host mapping not aligned like the gpa */
        vq_fail(vq, "%s at 0x%llx: host mapping not %u-byte aligned", what,
                (unsigned long long)gpa, align);
        return NULL;
    }
    return p;
}

int vq_start(struct virtqueue *vq, const struct gview *mem, uint64_t features)
{
    uint64_t n;
    clear_ring_state(vq);
    vq->mem = mem;
    vq->packed = (features >> VIRTIO_F_RING_PACKED) & 1;
    vq->event_idx = (features >> VIRTIO_F_EVENT_IDX) & 1;
    vq->indirect = (features >> VIRTIO_F_INDIRECT_DESC) & 1;
    if (!vq->enabled)
        return 0;
    n = vq->size;
    if (n == 0 || n > VQ_MAX_SIZE || (vq->max_size && n > vq->max_size))
        return vq_fail(vq, "queue size %u is not 1..%u", vq->size,
                       vq->max_size ? vq->max_size : VQ_MAX_SIZE);
    if (!vq->packed && !IS_POW2(n))
        return vq_fail(vq, "split queue size %u is not a power of two",
                       vq->size);
    void *desc, *drv, *dev;
    if (vq->packed) {
        desc =
            ring_area(vq, "descriptor ring", vq->desc_gpa, DESC_SIZE * n, 16);
        drv = desc ? ring_area(vq, "driver event suppression", vq->driver_gpa,
                               4, 4)
                   : NULL;
        dev = drv ? ring_area(vq, "device event suppression", vq->device_gpa, 4,
                              4)
                  : NULL;
    } else {
        uint64_t ev = vq->event_idx ? 2 : 0;
        desc =
            ring_area(vq, "descriptor table", vq->desc_gpa, DESC_SIZE * n, 16);
        drv = desc ? ring_area(vq, "available ring", vq->driver_gpa,
                               4 + 2 * n + ev, 2)
                   : NULL;
        dev =
            drv ? ring_area(vq, "used ring", vq->device_gpa, 4 + 8 * n + ev, 4)
                : NULL;
    }
    if (!dev) {
        vq->broken = true; /* vq->error says which area */
        return -EINVAL;
    }
    vq->desc = desc;
    vq->driver = drv;
    vq->device = dev;
    vq->ring_size = (uint16_t)n;
    /* Kicks wanted from the first buffer on. */
    if (vq->packed) {
        st16(dev, vq->event_idx ? (uint16_t)(1u << 15) : 0);
        st16(at(dev, 2), vq->event_idx ? EVENT_F_DESC : EVENT_F_ENABLE);
    } else {
        st16(dev, 0);
        if (vq->event_idx)
            st16(at(dev, 4 + 8 * n), 0);
    }
    atomic_thread_fence(memory_order_seq_cst);
    return 0;
}

void vq_reset(struct virtqueue *vq)
{
    clear_ring_state(vq);
    vq->size = vq->max_size;
    vq->enabled = false;
    vq->msix_vector = 0xffff;
    vq->desc_gpa = vq->driver_gpa = vq->device_gpa = 0;
    vq->packed = vq->event_idx = vq->indirect = false;
}

bool vq_ready(const struct virtqueue *vq)
{
    return vq->desc && vq->enabled && !vq->broken;
}

/* ---- chains ------------------------------------------------------------- */

/* elem_init: an empty element, once a chain is known to be there (an
 * empty ring leaves the caller's element alone). */
static void elem_init(struct vq_elem *e)
{
    e->id = 0;
    e->ndesc = 0;
    e->nout = e->nin = 0;
    e->out_len = e->in_len = 0;
}

/* add_buf: append one buffer to e, checked, split at RAM region ends. */
static int add_buf(struct virtqueue *vq, struct vq_elem *e,
                   const struct desc *d)
{
    bool write = d->flags & DESC_F_WRITE;
    uint64_t gpa = d->addr, len = d->len;
    if (len == 0)
        return vq_fail(vq, "zero-length buffer at 0x%llx",
                       (unsigned long long)gpa);
    if (len > VQ_MAX_SEG_LEN)
        return vq_fail(vq, "buffer of %llu bytes (more than 1 GiB)",
                       (unsigned long long)len);
    if (!write && e->nin)
        return vq_fail(vq, "readable buffer after a writable one");
    if (gpa + len < gpa)
        return vq_fail(vq, "buffer 0x%llx+0x%llx wraps the address space",
                       (unsigned long long)gpa, (unsigned long long)len);
    while (len) {
        uint64_t chunk;
        void *p = gview_span(vq->mem, gpa, len, GV_RAM, &chunk);
        if (!p)
            return vq_fail(vq, "buffer 0x%llx+0x%x is not inside guest RAM",
                           (unsigned long long)d->addr, d->len);
        if (e->nout + e->nin >= VQ_MAX_SEGS)
            return vq_fail(vq, "chain of more than %u segments", VQ_MAX_SEGS);
        e->iov[e->nout + e->nin] = (struct iovec){p, chunk};
        if (write) {
            e->nin++;
            e->in_len += chunk;
        } else {
            e->nout++;
            e->out_len += chunk;
        }
        gpa += chunk;
        len -= chunk;
    }
    return 0;
}

/* indirect_table: check an indirect descriptor; its table's host pointer
 * and entry count, or NULL (queue failed). */
static const void *indirect_table(struct virtqueue *vq, const struct desc *d,
                                  bool first, uint32_t *count)
{
    const void *t;
    if (!vq->indirect) {
        vq_fail(vq, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
        return NULL;
    }
    if (!first || (d->flags & DESC_F_NEXT)) {
        vq_fail(vq, "indirect descriptor chained with other descriptors");
        return NULL;
    }
    if (d->len == 0 || d->len % DESC_SIZE) {
        vq_fail(vq, "indirect table length %u is not a multiple of 16", d->len);
        return NULL;
    }
    if (d->len > VQ_MAX_SEG_LEN) {
        vq_fail(vq, "indirect table of %u bytes (more than 1 GiB)", d->len);
        return NULL;
    }
    t = ram_ptr(vq->mem, d->addr, d->len);
    if (!t) {
        vq_fail(vq, "indirect table 0x%llx+0x%x is not inside guest RAM",
                (unsigned long long)d->addr, d->len);
        return NULL;
    }
    *count = d->len / DESC_SIZE;
    return t;
}

/* split_indirect: the chain in an indirect table (2.7.5.3), from entry 0
 * following next; at most `count` steps (each also adds a segment). */
static int split_indirect(struct virtqueue *vq, struct vq_elem *e,
                          const struct desc *id)
{
    uint32_t count, steps = 0, j = 0;
    const unsigned char *t = indirect_table(vq, id, e->ndesc == 1, &count);
    if (!t)
        return -EINVAL;
    for (;;) {
        struct desc d;
        if (steps == count)
            return vq_fail(vq,
                           "indirect chain loops or is longer than its "
                           "table (%u)",
                           count);
        read_desc(t + (size_t)j * DESC_SIZE, false, &d);
        steps++;
        e->ndesc++;
        if (d.flags & DESC_F_INDIRECT)
            return vq_fail(vq, "nested indirect descriptor");
        int r = add_buf(vq, e, &d);
        if (r < 0)
            return r;
        if (!(d.flags & DESC_F_NEXT))
            return 0;
        if (d.next >= count)
            return vq_fail(vq,
                           "indirect next index %u out of range (table "
                           "of %u)",
                           d.next, count);
        j = d.next;
    }
}

/* split_chain: the chain from `head` (< size); at most `size` steps. */
static int split_chain(struct virtqueue *vq, struct vq_elem *e, uint16_t head)
{
    uint16_t i = head;
    for (;;) {
        struct desc d;
        if (e->ndesc == vq->ring_size)
            return vq_fail(vq,
                           "descriptor chain from %u loops or is longer "
                           "than the queue size (%u)",
                           head, vq->ring_size);
        read_desc(at(vq->desc, (size_t)i * DESC_SIZE), false, &d);
        e->ndesc++;
        if (d.flags & DESC_F_INDIRECT)
            return split_indirect(vq, e, &d);
        int r = add_buf(vq, e, &d);
        if (r < 0)
            return r;
        if (!(d.flags & DESC_F_NEXT))
            return 0;
        if (d.next >= vq->ring_size)
            return vq_fail(vq, "next index %u out of range (queue size %u)",
                           d.next, vq->ring_size);
        i = d.next;
    }
}

/* split_avail_idx: the driver's avail->idx (acquire: the ring entries and
 * descriptors it publishes are read after it). */
static uint16_t split_avail_idx(const struct virtqueue *vq)
{
    return ld16_acquire(at(vq->driver, 2));
}

/* split_want_kicks: publish that a kick is wanted for the next buffer. */
static void split_want_kicks(struct virtqueue *vq)
{
    if (vq->event_idx)
        st16(at(vq->device, 4 + 8 * (size_t)vq->ring_size), vq->last_avail);
    else
        st16(vq->device, 0);
}

static int split_pop(struct virtqueue *vq, struct vq_elem *e)
{
    uint16_t idx = split_avail_idx(vq);
    if (idx == vq->last_avail && !vq->kicks_disabled) {
        split_want_kicks(vq);
        atomic_thread_fence(memory_order_seq_cst);
        idx = split_avail_idx(vq);
    }
    uint16_t pending = (uint16_t)(idx - vq->last_avail);
    if (pending == 0)
        return 0;
    if (pending > vq->ring_size)
        return vq_fail(vq,
                       "available index %u is %u ahead of %u (queue size "
                       "%u)",
                       idx, pending, vq->last_avail, vq->ring_size);
    uint16_t head =
        ld16(at(vq->driver, 4 + 2 * (size_t)(vq->last_avail % vq->ring_size)));
    if (head >= vq->ring_size)
        return vq_fail(vq, "head index %u out of range (queue size %u)", head,
                       vq->ring_size);
    elem_init(e);
    e->id = head;
    int r = split_chain(vq, e, head);
    if (r < 0)
        return r;
    vq->last_avail++;
    return 1;
}

/* packed_avail: whether the descriptor with these flags is available in the
 * lap of `wrap` (2.8.1: AVAIL matches the wrap counter, USED does not). */
static bool packed_avail(uint16_t flags, bool wrap)
{
    return !!(flags & DESC_F_AVAIL) == wrap && !!(flags & DESC_F_USED) != wrap;
}

/* packed_head_flags: the next head's flags (acquire: its chain is read
 * after them). */
static uint16_t packed_head_flags(const struct virtqueue *vq)
{
    return ld16_acquire(at(vq->desc, (size_t)vq->last_avail * DESC_SIZE + 14));
}

/* packed_want_kicks: publish that a kick is wanted for the next buffer. */
static void packed_want_kicks(struct virtqueue *vq)
{
    if (vq->event_idx) {
        st16(vq->device, (uint16_t)(vq->last_avail | vq->avail_wrap << 15));
        st16(at(vq->device, 2), EVENT_F_DESC);
    } else {
        st16(at(vq->device, 2), EVENT_F_ENABLE);
    }
}

/* packed_indirect: every entry of the table, in order (2.8.19). */
static int packed_indirect(struct virtqueue *vq, struct vq_elem *e,
                           const struct desc *id)
{
    uint32_t count;
    const unsigned char *t = indirect_table(vq, id, e->ndesc == 1, &count);
    if (!t)
        return -EINVAL;
    if (count > VQ_MAX_SEGS)
        return vq_fail(vq, "indirect table of %u descriptors (more than %u)",
                       count, VQ_MAX_SEGS);
    for (uint32_t j = 0; j < count; j++) {
        struct desc d;
        read_desc(t + (size_t)j * DESC_SIZE, true, &d);
        if (d.flags & DESC_F_INDIRECT)
            return vq_fail(vq, "nested indirect descriptor");
        int r = add_buf(vq, e, &d);
        if (r < 0)
            return r;
    }
    return 0;
}

static int packed_pop(struct virtqueue *vq, struct vq_elem *e)
{
    uint16_t flags = packed_head_flags(vq);
    if (!packed_avail(flags, vq->avail_wrap) && !vq->kicks_disabled) {
        packed_want_kicks(vq);
        atomic_thread_fence(memory_order_seq_cst);
        flags = packed_head_flags(vq);
    }
    if (!packed_avail(flags, vq->avail_wrap))
        return 0;
    elem_init(e);
    uint16_t i = vq->last_avail;
    bool wrap = vq->avail_wrap;
    for (;;) {
        struct desc d;
        int r;
        if (e->ndesc == vq->ring_size)
            return vq_fail(vq,
                           "descriptor chain at %u is longer than the "
                           "queue size (%u)",
                           vq->last_avail, vq->ring_size);
        read_desc(at(vq->desc, (size_t)i * DESC_SIZE), true, &d);
        e->ndesc++;
        if (++i == vq->ring_size) {
            i = 0;
            wrap = !wrap;
        }
        if (d.flags & DESC_F_INDIRECT)
            r = packed_indirect(vq, e, &d); /* alone: no NEXT (checked) */
        else
            r = add_buf(vq, e, &d);
        if (r < 0)
            return r;
        if (!(d.flags & DESC_F_NEXT)) {
            e->id = d.next; /* the buffer id is in the last descriptor */
            break;
        }
    }
    vq->last_avail = i;
    vq->avail_wrap = wrap;
    return 1;
}

int vq_pop(struct virtqueue *vq, struct vq_elem *e)
{
    if (vq->broken)
        return -EINVAL;
    if (!vq_ready(vq))
        return 0;
    return vq->packed ? packed_pop(vq, e) : split_pop(vq, e);
}

/* ---- used buffers ------------------------------------------------------- */

static void count_used(struct virtqueue *vq, unsigned n)
{
    unsigned s = vq->used_since_signal + n;
    vq->used_since_signal = s > 0xffff ? 0xffff : (uint16_t)s;
}

void vq_push(struct virtqueue *vq, const struct vq_elem *e, uint32_t written)
{
    if (!vq->desc)
        return;
    if (written > e->in_len)
        written = (uint32_t)e->in_len;
    if (!vq->packed) {
        void *u =
            at(vq->device, 4 + 8 * (size_t)(vq->used_idx % vq->ring_size));
        st32(u, e->id);
        st32(at(u, 4), written);
        vq->used_idx++;
        st16_release(at(vq->device, 2), vq->used_idx); /* entry before idx */
        count_used(vq, 1);
        return;
    }
    unsigned n = e->ndesc ? e->ndesc : 1;
    if (n > vq->ring_size)
        n = vq->ring_size;
    void *d = at(vq->desc, (size_t)vq->used_idx * DESC_SIZE);
    uint16_t flags = vq->used_wrap ? DESC_F_AVAIL | DESC_F_USED : 0;
    if (written)
        flags |= DESC_F_WRITE;
    st32(at(d, 8), written);
    st16(at(d, 12), e->id);
    st16_release(at(d, 14), flags); /* id, len before flags */
    unsigned next = vq->used_idx + n;
    if (next >= vq->ring_size) {
        next -= vq->ring_size;
        vq->used_wrap = !vq->used_wrap;
    }
    vq->used_idx = (uint16_t)next;
    count_used(vq, n);
}

bool vq_need_interrupt(struct virtqueue *vq)
{
    if (!vq->desc || vq->used_since_signal == 0)
        return false;
    unsigned n = vq->used_since_signal;
    vq->used_since_signal = 0;
    atomic_thread_fence(memory_order_seq_cst); /* used before suppression */
    if (!vq->packed) {
        uint16_t old = vq->signalled_used;
        bool valid = vq->signalled_valid;
        vq->signalled_used = vq->used_idx;
        vq->signalled_valid = true;
        if (!vq->event_idx)
            return !(ld16(vq->driver) & AVAIL_F_NO_INTERRUPT);
        if (!valid || n >= vq->ring_size)
            return true;
        uint16_t ev = ld16(at(vq->driver, 4 + 2 * (size_t)vq->ring_size));
        /* 2.7.10: interrupt when used_event is in [old, used_idx). */
        return (uint16_t)(vq->used_idx - ev - 1) <
               (uint16_t)(vq->used_idx - old);
    }
    uint16_t flags = ld16(at(vq->driver, 2)) & 3;
    if (flags == EVENT_F_DISABLE)
        return false;
    if (flags != EVENT_F_DESC || !vq->event_idx || n >= vq->ring_size)
        return true;
    uint16_t off_wrap = ld16(vq->driver);
    long off = off_wrap & 0x7fff;
    if (!!(off_wrap >> 15) != vq->used_wrap)
        off -= vq->ring_size; /* the previous lap */
    long now = vq->used_idx, before = now - (long)n;
    return before <= off && off < now;
}

void vq_disable_kicks(struct virtqueue *vq)
{
    vq->kicks_disabled = true;
    if (!vq->desc)
        return;
    if (vq->packed)
        st16(at(vq->device, 2), EVENT_F_DISABLE);
    else if (!vq->event_idx) /* with the event index: avail_event stays */
        st16(vq->device, USED_F_NO_NOTIFY);
}

bool vq_enable_kicks(struct virtqueue *vq)
{
    vq->kicks_disabled = false;
    if (!vq_ready(vq))
        return false;
    if (vq->packed) {
        packed_want_kicks(vq);
        atomic_thread_fence(memory_order_seq_cst);
        return packed_avail(packed_head_flags(vq), vq->avail_wrap);
    }
    split_want_kicks(vq);
    atomic_thread_fence(memory_order_seq_cst);
    return split_avail_idx(vq) != vq->last_avail;
}

/* ---- copies ------------------------------------------------------------- */

size_t vq_iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf,
                   size_t len, bool to_iov)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t k = MIN(iov[i].iov_len - off, len - done);
        unsigned char *p = (unsigned char *)iov[i].iov_base + off;
        if (to_iov)
            memcpy(p, (unsigned char *)buf + done, k);
        else
            memcpy((unsigned char *)buf + done, p, k);
        done += k;
        off = 0;
    }
    return done;
}

size_t vq_copy_from(const struct vq_elem *e, size_t off, void *dst, size_t len)
{
    return vq_iov_copy(e->iov, e->nout, off, dst, len, false);
}

unsigned vq_slice(const struct iovec *src, unsigned n, size_t off, size_t len,
                  struct iovec *dst)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len; i++) {
        size_t l = src[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t take = l - off < len ? l - off : len;
        dst[k++] = (struct iovec){(char *)src[i].iov_base + off, take};
        off = 0;
        len -= take;
    }
    return k;
}

size_t vq_copy_to(const struct vq_elem *e, size_t off, const void *src,
                  size_t len)
{
    return vq_iov_copy(e->iov + e->nout, e->nin, off, (void *)(uintptr_t)src,
                       len, true);
}

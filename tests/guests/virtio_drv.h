/*
 * virtio_drv.h: a minimal polled virtio 1.x driver for the freestanding
 * test guests (virtio_blk.c, virtio_rng.c, virtio_con.c, virtio_bad.c).
 * Written from the virtio 1.2 specification:
 *   - transports: modern PCI (4.1: bus 0 scanned through configuration
 *     mechanism #1, the vendor capabilities give the common, notify, ISR
 *     and device configuration structures inside a memory BAR), the
 *     legacy interface of a transitional PCI device (I/O BAR0, 4.1.4.10)
 *     with "legacy" on the command line, and virtio-mmio version 2 (4.2)
 *     at an address from the command line;
 *   - initialisation (3.1.1): reset, ACKNOWLEDGE, DRIVER, features with
 *     VERSION_1, FEATURES_OK read back, queues, DRIVER_OK;
 *   - queues: split (2.7) or packed (2.8) rings in guest memory, direct or
 *     indirect chains; completions are polled (the driver asks for no
 *     interrupts and never takes one).
 * Also helpers for the guests: the multiboot command line, bounded waits
 * timed by the PIT, and messages on COM1. 32-bit, paging off: every address is
 * physical.
 */
#ifndef QVM_VIRTIO_DRV_H
#define QVM_VIRTIO_DRV_H

#include "guest.h"

#define VENDOR_VIRTIO 0x1af4

/* Device status (2.1). */
#define ST_ACK         0x01
#define ST_DRIVER      0x02
#define ST_DRIVER_OK   0x04
#define ST_FEATURES_OK 0x08
#define ST_NEEDS_RESET 0x40
#define ST_FAILED      0x80

/* Transport feature bits (6). */
#define F_INDIRECT    28
#define F_EVENT_IDX   29
#define F_VERSION_1   32
#define F_RING_PACKED 34
#define FBIT(n)       (1ull << (n))

/* Descriptor flags (2.7.5, 2.8.13). */
#define D_NEXT     1
#define D_WRITE    2
#define D_INDIRECT 4
#define D_AVAIL    (1u << 7)
#define D_USED     (1u << 15)

/* PCI capability types (4.1.4). */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR    3
#define CAP_DEVICE 4

/* Common configuration structure offsets (4.1.4.3). */
#define CC_DFSEL   0x00
#define CC_DF      0x04
#define CC_GFSEL   0x08
#define CC_GF      0x0c
#define CC_MSIX    0x10
#define CC_NUMQ    0x12
#define CC_STATUS  0x14
#define CC_GEN     0x15
#define CC_QSEL    0x16
#define CC_QSIZE   0x18
#define CC_QMSIX   0x1a
#define CC_QENABLE 0x1c
#define CC_QNOFF   0x1e
#define CC_QDESC   0x20
#define CC_QDRIVER 0x28
#define CC_QDEVICE 0x30

/* virtio-mmio registers (4.2.2). */
#define M_MAGIC     0x000
#define M_VERSION   0x004
#define M_DEVID     0x008
#define M_VENDOR    0x00c
#define M_DF        0x010
#define M_DFSEL     0x014
#define M_GF        0x020
#define M_GFSEL     0x024
#define M_QSEL      0x030
#define M_QNUMMAX   0x034
#define M_QNUM      0x038
#define M_QREADY    0x044
#define M_QNOTIFY   0x050
#define M_ISR       0x060
#define M_ISRACK    0x064
#define M_STATUS    0x070
#define M_QDESC     0x080
#define M_QDRIVER   0x090
#define M_QDEVICE   0x0a0
#define M_GEN       0x0fc
#define M_CONFIG    0x100
#define MMIO_MAGIC  0x74726976u /* "virt" */
#define VQ_MAX_DESC 256         /* the most descriptors a guest queue uses */

/* The legacy (0.9.5) interface in I/O BAR0 of a transitional PCI device
 * (4.1.4.10), without MSI-X. */
#define L_DF     0x00
#define L_GF     0x04
#define L_PFN    0x08
#define L_QNUM   0x0c
#define L_QSEL   0x0e
#define L_NOTIFY 0x10
#define L_STATUS 0x12
#define L_ISR    0x13
#define L_CONFIG 0x14

static inline void vd_barrier(void)
{
    __asm__ volatile("lock; addl $0, (%%esp)" : : : "memory");
}

/* ---- memory and port accessors ------------------------------------------ */

static inline uint8_t mr8(uint32_t a)
{
    return *(const volatile uint8_t *)a;
}
static inline uint16_t mr16(uint32_t a)
{
    return *(const volatile uint16_t *)a;
}
static inline uint32_t mr32(uint32_t a)
{
    return *(const volatile uint32_t *)a;
}
static inline void mw8(uint32_t a, uint8_t v)
{
    *(volatile uint8_t *)a = v;
}
static inline void mw16(uint32_t a, uint16_t v)
{
    *(volatile uint16_t *)a = v;
}
static inline void mw32(uint32_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}

static inline void vd_memset(void *p, int c, uint32_t n)
{
    volatile uint8_t *d = p;
    while (n--)
        *d++ = (uint8_t)c;
}
static inline void vd_memcpy(void *dst, const void *src, uint32_t n)
{
    volatile uint8_t *d = dst;
    const volatile uint8_t *s = src;
    while (n--)
        *d++ = *s++;
}
static inline int vd_memcmp(const void *a, const void *b, uint32_t n)
{
    const volatile uint8_t *x = a, *y = b;
    for (uint32_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}
static inline uint32_t vd_strlen(const char *s)
{
    uint32_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* ---- messages ----------------------------------------------------------- */

static const char *vd_tag = "virtio";
static unsigned vd_failures;

static inline void say(const char *s)
{
    serial_puts(vd_tag);
    serial_puts(": ");
    serial_puts(s);
}
static inline void sayln(const char *s)
{
    say(s);
    serial_puts("\n");
}
static inline void fail(const char *what)
{
    vd_failures++;
    say("FAIL: ");
    serial_puts(what);
    serial_puts("\n");
}
/* finish: the summary line the cases look for, then power off. */
static inline void finish(void)
{
    say(vd_failures ? "FAIL: " : "done, ");
    serial_putdec(vd_failures);
    serial_puts(" failure(s)\n");
    poweroff();
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* ---- the multiboot command line ----------------------------------------- */

static const char *vd_cmdline = "";

/* arg: the value of "key=VALUE" in the command line (NULL when absent);
 * a bare "key" gives "". */
static inline const char *arg(const char *key)
{
    uint32_t kl = vd_strlen(key);
    const char *p = vd_cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if ((uint32_t)(p - w) >= kl && vd_memcmp(w, key, kl) == 0) {
            if (w[kl] == '=')
                return w + kl + 1;
            if (w + kl == p)
                return "";
        }
    }
    return 0;
}

static inline uint32_t parse_num(const char *s)
{
    uint32_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (s += 2;; s++) {
            char c = *s;
            if (c >= '0' && c <= '9')
                v = v * 16 + (uint32_t)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v = v * 16 + (uint32_t)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v = v * 16 + (uint32_t)(c - 'A' + 10);
            else
                return v;
        }
    }
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (uint32_t)(*s - '0');
    return v;
}

static inline uint32_t arg_num(const char *key, uint32_t def)
{
    const char *v = arg(key);
    return v && *v ? parse_num(v) : def;
}

/* ---- time and bounded waits ------------------------------------------------
 */

/*
 * Time comes from PIT channel 0 (KVM's in-kernel PIT under qvm), free
 * running in mode 2 at 1193182 Hz with a period of 65536 counts: vd_now()
 * adds up the counts elapsed since its last call, so it must be called at
 * least every 54 ms while a wait runs (each poll step does). Waits are
 * also bounded by a count of poll steps, in case the PIT does not count.
 */
#define PIT_HZ 1193182u
static uint16_t vd_pit_last;
static uint64_t vd_clock;

static inline uint16_t pit_read(void)
{
    outb(0x43, 0x00); /* latch channel 0 */
    uint8_t lo = inb(0x40);
    uint8_t hi = inb(0x40);
    return (uint16_t)(lo | hi << 8);
}

static inline void pit_init(void)
{
    outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
    outb(0x40, 0);
    outb(0x40, 0); /* 65536 */
    vd_pit_last = pit_read();
}

static inline uint64_t vd_now(void)
{
    uint16_t c = pit_read();
    vd_clock += (uint16_t)(vd_pit_last - c);
    vd_pit_last = c;
    return vd_clock;
}

struct deadline {
    uint64_t end;
    uint32_t steps;
};

static inline struct deadline deadline_ms(uint32_t ms)
{
    struct deadline d;
    d.end = vd_now() + (uint64_t)ms * (PIT_HZ / 1000);
    d.steps = ms * 2000; /* far more than a step takes */
    return d;
}

/* expired: one poll step (a few port exits), then whether time is up. */
static inline int expired(struct deadline *d)
{
    if (d->steps == 0)
        return 1;
    d->steps--;
    return vd_now() >= d->end;
}

/* vd_start: read the command line and start the clock (first thing in
 * guest_main). */
static inline void vd_start(uint32_t magic, uint32_t info)
{
    pit_init();
    if (magic == 0x2badb002u && (mr32(info) & 4) && mr32(info + 16))
        vd_cmdline = (const char *)mr32(info + 16);
}

/* ---- guest memory for rings and buffers ---------------------------------- */

static uint8_t vd_arena[256 * 1024] __attribute__((aligned(4096)));
static uint32_t vd_arena_used;

static inline void *vd_alloc(uint32_t size, uint32_t align)
{
    uint32_t a = (vd_arena_used + align - 1) & ~(align - 1);
    if (a + size > sizeof(vd_arena)) {
        fail("out of arena memory");
        finish();
    }
    vd_arena_used = a + size;
    vd_memset(vd_arena + a, 0, size);
    return vd_arena + a;
}

/* ---- PCI configuration mechanism #1 ---------------------------------------
 */

static inline uint32_t pci_addr(uint32_t bdf, uint32_t off)
{
    return 0x80000000u | bdf << 8 | (off & 0xfc);
}
static inline uint32_t pci_rd32(uint32_t bdf, uint32_t off)
{
    outl(0xcf8, pci_addr(bdf, off));
    return inl(0xcfc);
}
static inline uint8_t pci_rd8(uint32_t bdf, uint32_t off)
{
    return (uint8_t)(pci_rd32(bdf, off) >> (8 * (off & 3)));
}
static inline uint16_t pci_rd16(uint32_t bdf, uint32_t off)
{
    return (uint16_t)(pci_rd32(bdf, off) >> (8 * (off & 2)));
}
static inline void pci_wr16(uint32_t bdf, uint32_t off, uint16_t v)
{
    outl(0xcf8, pci_addr(bdf, off));
    outw((uint16_t)(0xcfc + (off & 2)), v);
}
static inline void pci_wr32(uint32_t bdf, uint32_t off, uint32_t v)
{
    outl(0xcf8, pci_addr(bdf, off));
    outl(0xcfc, v);
}

/* ---- the device ---------------------------------------------------------- */

struct vdev {
    int mmio;      /* 1: virtio-mmio at base; 0: PCI at bdf */
    int legacy;    /* PCI through the legacy interface at io */
    uint16_t io;   /* legacy: I/O BAR0 */
    uint32_t base; /* virtio-mmio registers */
    uint32_t bdf;  /* PCI: bus << 8 | dev << 3 | fn */
    uint32_t common, notify, isr, devcfg; /* PCI structures (addresses) */
    uint32_t notify_mult, devcfg_len;
    uint32_t id;       /* virtio device ID */
    uint64_t offered;  /* the device's feature bits */
    uint64_t features; /* negotiated */
};

struct vq {
    struct vdev *d;
    uint16_t index, size;
    int packed, indirect;
    uint16_t notify_off;
    uint32_t desc, driver, device; /* ring areas */
    /* split */
    uint16_t avail_idx, last_used;
    uint16_t free_head;
    uint16_t nfree;             /* free descriptors (packed: ring slots) */
    uint16_t next[VQ_MAX_DESC]; /* split free list */
    /* packed */
    uint16_t next_avail, next_used;
    int avail_wrap, used_wrap;
    uint16_t ndesc_of[VQ_MAX_DESC]; /* split: chain length; packed: slots */
    uint16_t free_ids[VQ_MAX_DESC], nids;
    uint32_t indtab[VQ_MAX_DESC]; /* an indirect table per head/id */
};

struct vbuf {
    uint32_t addr, len;
    int write; /* device-writable */
};

/* ---- register access by transport --------------------------------------- */

static inline uint8_t vd_status(struct vdev *d)
{
    if (d->legacy)
        return inb((uint16_t)(d->io + L_STATUS));
    return d->mmio ? (uint8_t)mr32(d->base + M_STATUS)
                   : mr8(d->common + CC_STATUS);
}
static inline void vd_set_status(struct vdev *d, uint8_t s)
{
    if (d->legacy)
        outb((uint16_t)(d->io + L_STATUS), s);
    else if (d->mmio)
        mw32(d->base + M_STATUS, s);
    else
        mw8(d->common + CC_STATUS, s);
}
static inline uint32_t vd_generation(struct vdev *d)
{
    if (d->legacy)
        return 0; /* no generation counter */
    return d->mmio ? mr32(d->base + M_GEN) : mr8(d->common + CC_GEN);
}
static inline uint32_t vd_cfg_addr(struct vdev *d, uint32_t off)
{
    return (d->mmio ? d->base + M_CONFIG : d->devcfg) + off;
}
static inline uint8_t cfg8(struct vdev *d, uint32_t off)
{
    if (d->legacy)
        return inb((uint16_t)(d->io + L_CONFIG + off));
    return mr8(vd_cfg_addr(d, off));
}
static inline uint16_t cfg16(struct vdev *d, uint32_t off)
{
    if (d->legacy)
        return inw((uint16_t)(d->io + L_CONFIG + off));
    return mr16(vd_cfg_addr(d, off));
}
static inline uint32_t cfg32(struct vdev *d, uint32_t off)
{
    if (d->legacy)
        return inl((uint16_t)(d->io + L_CONFIG + off));
    return mr32(vd_cfg_addr(d, off));
}
/* cfg64: a 64-bit field as two 32-bit reads, retried while the
 * configuration generation changes (2.5.1). */
static inline uint64_t cfg64(struct vdev *d, uint32_t off)
{
    for (;;) {
        uint32_t g = vd_generation(d);
        uint64_t v = cfg32(d, off) | (uint64_t)cfg32(d, off + 4) << 32;
        if (vd_generation(d) == g)
            return v;
    }
}

/* ---- discovery ------------------------------------------------------------
 */

/* bar_addr: the address the BAR holds; 0 when it is not a memory BAR
 * below 4 GiB. */
static inline uint32_t bar_addr(uint32_t bdf, unsigned bar)
{
    if (bar > 5)
        return 0;
    uint32_t lo = pci_rd32(bdf, 0x10 + 4 * bar);
    if (lo & 1)
        return 0; /* I/O */
    if (((lo >> 1) & 3) == 2 && (bar == 5 || pci_rd32(bdf, 0x14 + 4 * bar)))
        return 0; /* 64-bit above 4 GiB */
    return lo & ~0xfu;
}

/*
 * pci_find: the n-th (0-based) virtio function of device type `id` on bus 0
 * (modern ID 0x1040 + id, or a transitional ID with that subsystem ID).
 * Fills d from its vendor capabilities; enables memory decoding and bus
 * mastering. 0, or -1 (with a FAIL line).
 */
static inline int pci_find(struct vdev *d, uint32_t id, unsigned n)
{
    vd_memset(d, 0, sizeof(*d));
    for (uint32_t dev = 0; dev < 32; dev++) {
        for (uint32_t fn = 0; fn < 8; fn++) {
            uint32_t bdf = dev << 3 | fn;
            uint32_t vd = pci_rd32(bdf, 0);
            if ((vd & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            uint32_t did = vd >> 16;
            int match = (vd & 0xffff) == VENDOR_VIRTIO &&
                        (did == 0x1040 + id || (did >= 0x1000 && did < 0x1040 &&
                                                pci_rd16(bdf, 0x2e) == id));
            if (match && n-- == 0) {
                d->bdf = bdf;
                goto found;
            }
            if (fn == 0 && !(pci_rd8(bdf, 0x0e) & 0x80))
                break; /* single-function device */
        }
    }
    fail("no such virtio PCI function");
    return -1;
found:
    d->id = id;
    if (arg("legacy")) {
        uint32_t b0 = pci_rd32(d->bdf, 0x10);
        if (!(b0 & 1) || !(b0 & ~3u)) {
            fail("legacy: BAR0 is not an I/O BAR");
            return -1;
        }
        d->legacy = 1;
        d->io = (uint16_t)(b0 & ~3u);
        pci_wr16(d->bdf, 0x04, (uint16_t)(pci_rd16(d->bdf, 0x04) | 0x5));
        return 0;
    }
    uint32_t nb = arg_num("movebar", 0);
    if (nb) {
        /* move BAR4 (the modern registers) the way an OS reassigns it:
         * decoding off, the new address, decoding on */
        uint32_t old = bar_addr(d->bdf, 4);
        uint16_t cmd = pci_rd16(d->bdf, 0x04);
        pci_wr16(d->bdf, 0x04, (uint16_t)(cmd & ~2u));
        pci_wr32(d->bdf, 0x20, nb);
        pci_wr32(d->bdf, 0x24, 0);
        pci_wr16(d->bdf, 0x04, (uint16_t)(cmd | 2));
        say("BAR4 moved from ");
        serial_puthex(old);
        serial_puts(" to ");
        serial_puthex(bar_addr(d->bdf, 4));
        serial_puts("\n");
    }
    if (!(pci_rd16(d->bdf, 0x06) & 0x10)) {
        fail("no capability list");
        return -1;
    }
    uint32_t p = pci_rd8(d->bdf, 0x34) & 0xfc;
    for (unsigned guard = 0; p && guard < 48; guard++) {
        if (pci_rd8(d->bdf, p) == 0x09) { /* vendor-specific */
            uint8_t type = pci_rd8(d->bdf, p + 3);
            uint8_t bar = pci_rd8(d->bdf, p + 4);
            uint32_t off = pci_rd32(d->bdf, p + 8);
            uint32_t len = pci_rd32(d->bdf, p + 12);
            uint32_t at = bar_addr(d->bdf, bar);
            if (at) {
                if (type == CAP_COMMON && !d->common)
                    d->common = at + off;
                if (type == CAP_NOTIFY && !d->notify) {
                    d->notify = at + off;
                    d->notify_mult = pci_rd32(d->bdf, p + 16);
                }
                if (type == CAP_ISR && !d->isr)
                    d->isr = at + off;
                if (type == CAP_DEVICE && !d->devcfg) {
                    d->devcfg = at + off;
                    d->devcfg_len = len;
                }
            }
        }
        p = pci_rd8(d->bdf, p + 1) & 0xfc;
    }
    if (!d->common || !d->notify || !d->isr) {
        fail("virtio PCI capabilities missing (common/notify/isr)");
        return -1;
    }
    pci_wr16(d->bdf, 0x04, (uint16_t)(pci_rd16(d->bdf, 0x04) | 0x6));
    if (nb) {
        /* the first access at the new address must reach the device, as
         * on hardware (a configuration write completes before the next
         * access) */
        uint16_t nq = mr16(d->common + CC_NUMQ);
        say("after the move: num_queues ");
        serial_puthex(nq);
        serial_puts("\n");
        if (nq == 0 || nq == 0xffff)
            fail("the first access after the BAR move missed the device");
    }
    return 0;
}

/* mmio_find: the virtio-mmio device at base; checks magic, version 2 and
 * the device ID. */
static inline int mmio_find(struct vdev *d, uint32_t base, uint32_t id)
{
    vd_memset(d, 0, sizeof(*d));
    d->mmio = 1;
    d->base = base;
    d->id = id;
    if (mr32(base + M_MAGIC) != MMIO_MAGIC) {
        fail("virtio-mmio: bad magic");
        return -1;
    }
    if (mr32(base + M_VERSION) != 2) {
        fail("virtio-mmio: version is not 2");
        return -1;
    }
    if (mr32(base + M_DEVID) != id) {
        fail("virtio-mmio: wrong device ID");
        return -1;
    }
    return 0;
}

/* vd_find: by the command line: "mmio=ADDR" selects virtio-mmio there,
 * otherwise the first PCI function of the type. Says which. */
static inline int vd_find(struct vdev *d, uint32_t id)
{
    uint32_t base = arg_num("mmio", 0);
    int r = base ? mmio_find(d, base, id) : pci_find(d, id, arg_num("nth", 0));
    if (r == 0) {
        say("found device ");
        serial_putdec(id);
        if (d->mmio) {
            serial_puts(" on virtio-mmio at ");
            serial_puthex(base);
        } else if (d->legacy) {
            serial_puts(" on PCI (legacy interface) at io ");
            serial_puthex(d->io);
        } else {
            serial_puts(" on PCI 00:");
            serial_putc("0123456789abcdef"[(d->bdf >> 7) & 1]);
            serial_putc("0123456789abcdef"[(d->bdf >> 3) & 15]);
            serial_putc('.');
            serial_putc((char)('0' + (d->bdf & 7)));
            serial_puts(", common cfg at ");
            serial_puthex(d->common);
        }
        serial_puts("\n");
    }
    return r;
}

/* ---- initialisation ---------------------------------------------------------
 */

static inline int vd_reset(struct vdev *d)
{
    vd_set_status(d, 0);
    for (struct deadline t = deadline_ms(1000); !expired(&t);)
        if (vd_status(d) == 0)
            return 0;
    fail("device status did not read 0 after reset");
    return -1;
}

static inline uint64_t vd_read_features(struct vdev *d)
{
    if (d->legacy)
        return inl((uint16_t)(d->io + L_DF));
    uint64_t f = 0;
    for (uint32_t sel = 0; sel < 2; sel++) {
        uint32_t w;
        if (d->mmio) {
            mw32(d->base + M_DFSEL, sel);
            w = mr32(d->base + M_DF);
        } else {
            mw32(d->common + CC_DFSEL, sel);
            w = mr32(d->common + CC_DF);
        }
        f |= (uint64_t)w << (32 * sel);
    }
    return f;
}

static inline void vd_write_features(struct vdev *d, uint64_t f)
{
    if (d->legacy) {
        outl((uint16_t)(d->io + L_GF), (uint32_t)f);
        return;
    }
    for (uint32_t sel = 0; sel < 2; sel++) {
        uint32_t w = (uint32_t)(f >> (32 * sel));
        if (d->mmio) {
            mw32(d->base + M_GFSEL, sel);
            mw32(d->base + M_GF, w);
        } else {
            mw32(d->common + CC_GFSEL, sel);
            mw32(d->common + CC_GF, w);
        }
    }
}

/*
 * vd_init: reset, ACKNOWLEDGE, DRIVER, accept (offer & want) | VERSION_1,
 * FEATURES_OK and check that it stuck. Queues come next, then
 * vd_driver_ok. 0, or -1 (FAIL line; the device is left FAILED).
 */
static inline int vd_init(struct vdev *d, uint64_t want)
{
    if (vd_reset(d))
        return -1;
    vd_set_status(d, ST_ACK);
    vd_set_status(d, ST_ACK | ST_DRIVER);
    d->offered = vd_read_features(d);
    if (d->legacy) {
        /* 0.9.5: 32 feature bits, no FEATURES_OK step */
        d->features = d->offered & want & 0xffffffffu;
        vd_write_features(d, d->features);
        return 0;
    }
    if (!(d->offered & FBIT(F_VERSION_1))) {
        fail("the device does not offer VERSION_1");
        vd_set_status(d, ST_FAILED);
        return -1;
    }
    d->features = (d->offered & want) | FBIT(F_VERSION_1);
    vd_write_features(d, d->features);
    vd_set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    if (!(vd_status(d) & ST_FEATURES_OK)) {
        fail("FEATURES_OK did not stick");
        vd_set_status(d, ST_FAILED);
        return -1;
    }
    return 0;
}

static inline void vd_driver_ok(struct vdev *d)
{
    vd_set_status(d, (uint8_t)(ST_ACK | ST_DRIVER | ST_DRIVER_OK |
                               (d->legacy ? 0 : ST_FEATURES_OK)));
}

static inline void say_features(struct vdev *d)
{
    say("features offered ");
    serial_puthex((uint32_t)(d->offered >> 32));
    serial_puts(":");
    serial_puthex((uint32_t)d->offered);
    serial_puts(", accepted ");
    serial_puthex((uint32_t)(d->features >> 32));
    serial_puts(":");
    serial_puthex((uint32_t)d->features);
    serial_puts("\n");
}

/* vq_msix_vector: the MSI-X vector vq_setup gives PCI queues
 * (VIRTIO_MSI_NO_VECTOR by default: no MSI-X). */
static uint16_t vq_msix_vector = 0xffff;

/* vq_desc_override: when not 0, vq_setup gives the device this descriptor
 * area address instead of the real one (virtio_bad.c's bad rings). */
static uint32_t vq_desc_override;

/*
 * vq_setup: queue `index` with at most `want` entries (split: rounded down
 * to a power of two), rings from the arena; packed/indirect follow the
 * negotiated features. Before vd_driver_ok. 0, or -1.
 */
static inline int vq_setup(struct vdev *d, struct vq *q, uint16_t index,
                           uint16_t want)
{
    vd_memset(q, 0, sizeof(*q));
    q->d = d;
    q->index = index;
    q->packed = (d->features & FBIT(F_RING_PACKED)) != 0;
    q->indirect = (d->features & FBIT(F_INDIRECT)) != 0;
    uint32_t max;
    if (d->legacy) {
        outw((uint16_t)(d->io + L_QSEL), index);
        max = inw((uint16_t)(d->io + L_QNUM));
        if (inl((uint16_t)(d->io + L_PFN))) {
            fail("legacy: queue PFN is set before setup");
            return -1;
        }
        if (max > VQ_MAX_DESC) {
            fail("legacy: the queue is larger than this driver handles");
            return -1;
        }
        want = (uint16_t)max; /* legacy: the device's size, no choice */
    } else if (d->mmio) {
        mw32(d->base + M_QSEL, index);
        if (mr32(d->base + M_QREADY)) {
            fail("QueueReady is set before setup");
            return -1;
        }
        max = mr32(d->base + M_QNUMMAX);
    } else {
        mw16(d->common + CC_QSEL, index);
        max = mr16(d->common + CC_QSIZE);
        q->notify_off = mr16(d->common + CC_QNOFF);
    }
    if (max == 0) {
        fail("queue not available (size 0)");
        return -1;
    }
    if (want > VQ_MAX_DESC)
        want = VQ_MAX_DESC;
    uint32_t size = max < want ? max : want;
    if (!q->packed && !d->legacy)
        while (size & (size - 1))
            size &= size - 1;
    q->size = (uint16_t)size;
    uint32_t desc_bytes = 16 * size;
    if (q->packed) {
        q->desc = (uint32_t)vd_alloc(desc_bytes, 4096);
        q->driver = (uint32_t)vd_alloc(4, 4096);
        q->device = (uint32_t)vd_alloc(4, 4096);
        mw16(q->driver + 2, 1); /* RING_EVENT_FLAGS_DISABLE: no interrupts */
        q->avail_wrap = q->used_wrap = 1;
        q->nfree = (uint16_t)size;
    } else if (d->legacy) {
        /* one block: descriptors, then the available ring, then the used
         * ring at the next 4096-byte boundary */
        uint32_t used_off = (desc_bytes + 6 + 2 * size + 4095) & ~4095u;
        q->desc = (uint32_t)vd_alloc(used_off + 6 + 8 * size, 4096);
        q->driver = q->desc + desc_bytes;
        q->device = q->desc + used_off;
    } else {
        q->desc = (uint32_t)vd_alloc(desc_bytes, 4096);
        q->driver = (uint32_t)vd_alloc(6 + 2 * size, 4096);
        q->device = (uint32_t)vd_alloc(6 + 8 * size, 4096);
    }
    if (!q->packed) {
        mw16(q->driver, 1); /* VIRTQ_AVAIL_F_NO_INTERRUPT */
        for (uint16_t i = 0; i < size; i++)
            q->next[i] = (uint16_t)(i + 1);
        q->nfree = (uint16_t)size;
    }
    for (uint16_t i = 0; i < size; i++) {
        q->free_ids[i] = (uint16_t)(size - 1 - i);
        if (q->indirect)
            q->indtab[i] = (uint32_t)vd_alloc(16 * 8, 16);
    }
    q->nids = (uint16_t)size;
    uint32_t desc = vq_desc_override ? vq_desc_override : q->desc;
    if (d->legacy) {
        outl((uint16_t)(d->io + L_PFN), desc >> 12);
    } else if (d->mmio) {
        mw32(d->base + M_QNUM, size);
        mw32(d->base + M_QDESC, desc);
        mw32(d->base + M_QDESC + 4, 0);
        mw32(d->base + M_QDRIVER, q->driver);
        mw32(d->base + M_QDRIVER + 4, 0);
        mw32(d->base + M_QDEVICE, q->device);
        mw32(d->base + M_QDEVICE + 4, 0);
        mw32(d->base + M_QREADY, 1);
    } else {
        mw16(d->common + CC_QSIZE, (uint16_t)size);
        mw32(d->common + CC_QDESC, desc);
        mw32(d->common + CC_QDESC + 4, 0);
        mw32(d->common + CC_QDRIVER, q->driver);
        mw32(d->common + CC_QDRIVER + 4, 0);
        mw32(d->common + CC_QDEVICE, q->device);
        mw32(d->common + CC_QDEVICE + 4, 0);
        mw16(d->common + CC_QMSIX, vq_msix_vector);
        if (mr16(d->common + CC_QMSIX) != vq_msix_vector) {
            fail("queue_msix_vector did not read back");
            return -1;
        }
        mw16(d->common + CC_QENABLE, 1);
        if (mr16(d->common + CC_QSIZE) != size ||
            mr16(d->common + CC_QENABLE) != 1) {
            fail("queue size/enable did not read back");
            return -1;
        }
    }
    return 0;
}

/* vq_interrupts: ask the device for used-buffer interrupts (on) or not:
 * split VIRTQ_AVAIL_F_NO_INTERRUPT, packed RING_EVENT_FLAGS_DISABLE. */
static inline void vq_interrupts(struct vq *q, int on)
{
    mw16(q->packed ? q->driver + 2 : q->driver, on ? 0 : 1);
    vd_barrier();
}

/* vd_isr: read (PCI: and so clear) the ISR status; virtio-mmio:
 * InterruptStatus, then acknowledged. */
static inline uint8_t vd_isr(struct vdev *d)
{
    if (d->legacy)
        return inb((uint16_t)(d->io + L_ISR));
    if (!d->mmio)
        return mr8(d->isr);
    uint32_t v = mr32(d->base + M_ISR);
    mw32(d->base + M_ISRACK, v);
    return (uint8_t)v;
}

/* ---- interrupts, seen without taking them ---------------------------------
 * The guests run with interrupts disabled: an interrupt that reaches the
 * local APIC stays pending in its IRR, which is what these check. */

#define VD_LAPIC  0xfee00000u
#define VD_IOAPIC 0xfec00000u

static inline void lapic_on(void)
{
    outb(0x21, 0xff); /* both 8259s masked: lines come via the IOAPIC */
    outb(0xa1, 0xff);
    mw32(VD_LAPIC + 0xf0, 0x1ff); /* SVR: APIC on, spurious 0xff */
}

static inline int lapic_irr(unsigned vec)
{
    return (mr32(VD_LAPIC + 0x200 + 0x10 * (vec >> 5)) >> (vec & 31)) & 1;
}

/* ioapic_route: IOAPIC input `line` -> vector, level, active high, APIC 0 */
static inline void ioapic_route(unsigned line, unsigned vec)
{
    mw32(VD_IOAPIC, 0x11 + 2 * line);
    mw32(VD_IOAPIC + 0x10, 0);
    mw32(VD_IOAPIC, 0x10 + 2 * line);
    mw32(VD_IOAPIC + 0x10, vec | 1u << 15);
}

/* wait_irr: up to `ms` for the vector to become pending. */
static inline int wait_irr(unsigned vec, uint32_t ms)
{
    for (struct deadline t = deadline_ms(ms); !expired(&t);)
        if (lapic_irr(vec))
            return 1;
    return 0;
}

/*
 * msix_setup: PCI only: MSI-X table entry 0 -> `vec` on APIC 0 (edge),
 * unmasked, MSI-X enabled. Entries 1.. stay masked. 0, or -1.
 */
static inline int msix_setup(struct vdev *d, unsigned vec)
{
    uint32_t p = pci_rd8(d->bdf, 0x34) & 0xfc;
    for (unsigned guard = 0; p && guard < 48; guard++) {
        if (pci_rd8(d->bdf, p) == 0x11) {
            uint32_t tbl = pci_rd32(d->bdf, p + 4);
            uint32_t bar = bar_addr(d->bdf, tbl & 7);
            if (!bar)
                return -1;
            uint32_t e = bar + (tbl & ~7u);
            mw32(e, VD_LAPIC);
            mw32(e + 4, 0);
            mw32(e + 8, vec);
            mw32(e + 12, 0);
            uint16_t ctl = pci_rd16(d->bdf, p + 2);
            pci_wr16(d->bdf, p + 2, (uint16_t)((ctl | 0x8000) & ~0x4000));
            return 0;
        }
        p = pci_rd8(d->bdf, p + 1) & 0xfc;
    }
    return -1;
}

static inline void vq_kick(struct vq *q)
{
    vd_barrier();
    if (q->d->legacy)
        outw((uint16_t)(q->d->io + L_NOTIFY), q->index);
    else if (q->d->mmio)
        mw32(q->d->base + M_QNOTIFY, q->index);
    else
        mw16(q->d->notify + (uint32_t)q->notify_off * q->d->notify_mult,
             q->index);
}

/* ---- descriptors ------------------------------------------------------------
 */

static inline void put_desc(uint32_t at, uint32_t addr, uint32_t len,
                            uint16_t w1, uint16_t w2)
{
    /* split: addr, len, flags (w1), next (w2); packed: addr, len, id (w1),
     * flags (w2) */
    mw32(at, addr);
    mw32(at + 4, 0);
    mw32(at + 8, len);
    mw16(at + 12, w1);
    mw16(at + 14, w2);
}

/*
 * vq_add: make a chain of n buffers (readable ones first) available, as an
 * indirect table when `indirect` (and negotiated) or direct descriptors.
 * Returns the chain's token (split: head index; packed: buffer id), or -1
 * when the queue is full. Does not notify.
 */
static inline int vq_add(struct vq *q, const struct vbuf *b, unsigned n,
                         int indirect)
{
    if (n == 0 || n > 8 || !q->nids)
        return -1;
    indirect = indirect && q->indirect;
    unsigned slots = indirect ? 1 : n;
    if (q->packed) {
        if (slots > q->nfree)
            return -1;
        q->nfree = (uint16_t)(q->nfree - slots);
        uint16_t id = q->free_ids[--q->nids];
        uint32_t tab = q->indtab[id];
        if (indirect)
            for (unsigned i = 0; i < n; i++)
                put_desc(tab + 16 * i, b[i].addr, b[i].len, 0,
                         b[i].write ? D_WRITE : 0);
        uint16_t first = q->next_avail, first_flags = 0;
        for (unsigned i = 0; i < slots; i++) {
            uint16_t fl = (uint16_t)(q->avail_wrap ? D_AVAIL : D_USED);
            if (indirect)
                fl |= D_INDIRECT;
            else {
                fl |= b[i].write ? D_WRITE : 0;
                if (i + 1 < n)
                    fl |= D_NEXT;
            }
            uint32_t at = q->desc + 16u * q->next_avail;
            if (indirect)
                put_desc(at, tab, 16 * n, id, 0);
            else
                put_desc(at, b[i].addr, b[i].len, id, 0);
            if (i == 0)
                first_flags = fl;
            else
                mw16(at + 14, fl);
            if (++q->next_avail == q->size) {
                q->next_avail = 0;
                q->avail_wrap = !q->avail_wrap;
            }
        }
        q->ndesc_of[id] = (uint16_t)slots;
        vd_barrier();
        mw16(q->desc + 16u * first + 14, first_flags); /* publish */
        return id;
    }
    if (slots > q->nfree)
        return -1;
    q->nids--; /* split: counts chains in flight */
    uint16_t head = q->free_head;
    uint16_t d = head;
    if (indirect) {
        uint32_t tab = q->indtab[head];
        for (unsigned i = 0; i < n; i++)
            put_desc(tab + 16 * i, b[i].addr, b[i].len,
                     (uint16_t)((b[i].write ? D_WRITE : 0) |
                                (i + 1 < n ? D_NEXT : 0)),
                     (uint16_t)(i + 1));
        put_desc(q->desc + 16u * d, tab, 16 * n, D_INDIRECT, 0);
        q->free_head = q->next[d];
    } else {
        for (unsigned i = 0; i < n; i++) {
            uint16_t nx = q->next[d];
            put_desc(q->desc + 16u * d, b[i].addr, b[i].len,
                     (uint16_t)((b[i].write ? D_WRITE : 0) |
                                (i + 1 < n ? D_NEXT : 0)),
                     i + 1 < n ? nx : 0);
            if (i + 1 < n)
                d = nx;
        }
        q->free_head = q->next[d];
    }
    q->nfree = (uint16_t)(q->nfree - slots);
    q->ndesc_of[head] = (uint16_t)slots;
    mw16(q->driver + 4 + 2u * (q->avail_idx % q->size), head);
    vd_barrier();
    mw16(q->driver + 2, ++q->avail_idx);
    return head;
}

/* vq_used: one completed chain's token (and *len, the bytes written), or
 * -1 when none is there yet. Frees its descriptors. */
static inline int vq_used(struct vq *q, uint32_t *len)
{
    if (q->packed) {
        uint32_t at = q->desc + 16u * q->next_used;
        uint16_t fl = mr16(at + 14);
        int avail = (fl & D_AVAIL) != 0, used = (fl & D_USED) != 0;
        if (avail != used || used != q->used_wrap)
            return -1;
        vd_barrier();
        uint16_t id = mr16(at + 12);
        if (len)
            *len = mr32(at + 8);
        if (id >= q->size) {
            fail("packed: used buffer id out of range");
            return -1;
        }
        q->next_used = (uint16_t)(q->next_used + q->ndesc_of[id]);
        if (q->next_used >= q->size) {
            q->next_used = (uint16_t)(q->next_used - q->size);
            q->used_wrap = !q->used_wrap;
        }
        q->free_ids[q->nids++] = id;
        q->nfree = (uint16_t)(q->nfree + q->ndesc_of[id]);
        return id;
    }
    if (mr16(q->device + 2) == q->last_used)
        return -1;
    vd_barrier();
    uint32_t e = q->device + 4 + 8u * (q->last_used % q->size);
    uint32_t head = mr32(e);
    if (len)
        *len = mr32(e + 4);
    q->last_used++;
    if (head >= q->size) {
        fail("split: used id out of range");
        return -1;
    }
    /* free the chain */
    uint16_t d = (uint16_t)head;
    for (uint16_t i = 1; i < q->ndesc_of[head]; i++)
        d = q->next[d];
    q->next[d] = q->free_head;
    q->free_head = (uint16_t)head;
    q->nfree = (uint16_t)(q->nfree + q->ndesc_of[head]);
    q->nids++;
    return (int)head;
}

/*
 * vq_wait: poll for a completion for up to `ms` milliseconds. The token,
 * -1 on timeout, -2 when the device set DEVICE_NEEDS_RESET.
 */
static inline int vq_wait(struct vq *q, uint32_t *len, uint32_t ms)
{
    struct deadline t = deadline_ms(ms);
    for (uint32_t i = 0;; i++) {
        int tok = vq_used(q, len);
        if (tok >= 0)
            return tok;
        if ((i & 15) == 0 && (vd_status(q->d) & ST_NEEDS_RESET))
            return -2;
        if (expired(&t))
            return -1;
    }
}

/* vq_run: add, kick and wait up to 5 s for this one chain. -1 on timeout,
 * -2 on NEEDS_RESET, -3 when the queue was full; else the bytes written. */
static inline int32_t vq_run(struct vq *q, const struct vbuf *b, unsigned n,
                             int indirect)
{
    int t = vq_add(q, b, n, indirect);
    if (t < 0)
        return -3;
    vq_kick(q);
    uint32_t len = 0;
    int r = vq_wait(q, &len, 5000);
    if (r < 0)
        return r;
    if (r != t)
        fail("a different chain completed");
    return (int32_t)len;
}

#endif

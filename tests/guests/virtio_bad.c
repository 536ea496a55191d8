/*
 * virtio_bad.c: the malicious virtio guest (tests/vm/cases/virtio-bad.sh).
 * On a virtio-blk device (PCI, or virtio-mmio with "mmio=ADDR") it makes
 * one malformed ring or chain per class, kicks, and waits up to 2 s for the
 * device's reaction: DEVICE_NEEDS_RESET in the status ("needs-reset"), the
 * request given back ("failed, status S" / "completed, status 0") or
 * nothing ("no reaction"). Each class says which reactions are right:
 * a malformed chain is either failed or puts the device into NEEDS_RESET,
 * never completed as if it were fine; a malformed ring (not one request)
 * must give NEEDS_RESET. After every class the guest resets the device,
 * sets it up again and reads sector 0 ("recovered"): qvm survived and
 * the device works. Then the same for entropy and console chains in the
 * wrong direction (the PCI functions; the console has input). "ramend=ADDR" is
 * the end of the guest's RAM at 1 MiB (default 0x4000000).
 */
#include "virtio_drv.h"

void guest_main(uint32_t magic, uint32_t info);

#define E_RESET 1 /* must set NEEDS_RESET */
#define E_FAIL  2 /* NEEDS_RESET, or the request failed */
#define E_ANY   3 /* whatever, as long as qvm survives and recovery works */

#define R_NONE  0
#define R_RESET 1
#define R_USED  2

static struct vdev dev;
static struct vq rq;
static uint32_t arena_mark;
static uint32_t hdr, data, stat, tab; /* request buffers */
static uint32_t rbuf;                 /* for the recovery request */
static unsigned cur_q;                /* the queue the classes use */
static uint32_t ram_end;
static unsigned n_classes, n_reset, n_failed;

static int start(uint64_t features)
{
    vd_arena_used = arena_mark;
    if (vd_init(&dev, features))
        return -1;
    if (vq_setup(&dev, &rq, (uint16_t)cur_q, 16))
        return -1;
    vd_driver_ok(&dev);
    return 0;
}

static uint64_t want_features(int packed)
{
    return FBIT(F_INDIRECT) | (packed ? FBIT(F_RING_PACKED) : 0);
}

static uint32_t D(unsigned i)
{
    return rq.desc + 16 * i;
}

/* split descriptor i */
static void sd(unsigned i, uint32_t addr, uint32_t len, uint16_t flags,
               uint16_t next)
{
    put_desc(D(i), addr, len, flags, next);
}

static void header(uint32_t type, uint32_t sector)
{
    mw32(hdr, type);
    mw32(hdr + 4, 0);
    mw32(hdr + 8, sector);
    mw32(hdr + 12, 0);
    mw8(stat, 0xee);
}

/* publish: make the chain at `head` available (split) and kick. */
static void publish(uint16_t head)
{
    mw16(rq.driver + 4 + 2u * (rq.avail_idx % rq.size), head);
    vd_barrier();
    mw16(rq.driver + 2, ++rq.avail_idx);
    vq_kick(&rq);
}

/* packed descriptor i, made available with the current wrap counter */
static void pd(unsigned i, uint32_t addr, uint32_t len, uint16_t flags)
{
    put_desc(D(i), addr, len, 0, 0);
    vd_barrier();
    mw16(D(i) + 14, (uint16_t)(flags | D_AVAIL));
}

static int react(uint32_t ms)
{
    for (struct deadline t = deadline_ms(ms); !expired(&t);) {
        if (vd_status(&dev) & ST_NEEDS_RESET)
            return R_RESET;
        if (rq.packed) {
            uint16_t fl = mr16(D(0) + 14);
            if ((fl & D_USED) && (fl & D_AVAIL))
                return R_USED;
        } else if (mr16(rq.device + 2) != rq.last_used) {
            return R_USED;
        }
    }
    return R_NONE;
}

/* recover: reset and set up the device again, then one good request: a
 * read of sector 0 (blk), 16 bytes of entropy, one byte out of a console's
 * transmit queue. */
static void recover(void)
{
    unsigned saved = cur_q;
    if (dev.id == 3)
        cur_q = 1;
    int ok = start(FBIT(F_INDIRECT)) == 0;
    if (ok && dev.id == 2) {
        header(0, 0);
        struct vbuf b[3] = {{hdr, 16, 0}, {rbuf, 512, 1}, {stat, 1, 1}};
        int32_t r = vq_run(&rq, b, 3, 0);
        ok = r == 513 && mr8(stat) == 0 &&
             vd_memcmp((void *)rbuf, "QVM-VIRTIO-BLK-0", 16) == 0;
        if (!ok) { /* what the device did, for the log */
            serial_puts(" [request ");
            serial_putdec((uint32_t)r);
            serial_puts(", status byte ");
            serial_putdec(mr8(stat));
            serial_puts(", device status ");
            serial_putdec(vd_status(&dev));
            serial_puts("]");
        }
    } else if (ok && dev.id == 4) {
        struct vbuf b = {rbuf, 16, 1};
        int32_t r = vq_run(&rq, &b, 1, 0);
        ok = r > 0 && r <= 16;
    } else if (ok && dev.id == 3) {
        mw8(rbuf, '.');
        struct vbuf b = {rbuf, 1, 0};
        ok = vq_run(&rq, &b, 1, 0) == 0;
    }
    cur_q = saved;
    serial_puts(ok ? ", recovered\n" : ", NOT recovered\n");
    if (!ok)
        fail("the device did not work after a reset");
}

/*
 * verdict: wait for the reaction to the malformed ring or chain and judge
 * it. blk: `stat` holds 0xee until the device writes a status; other
 * devices: a chain given back with 0 bytes written counts as failed.
 */
static void verdict(const char *name, int expect)
{
    int r = react(6000); /* slow beds: a loaded nested lab */
    uint8_t st = mr8(stat);
    n_classes++;
    say(name);
    serial_puts(": ");
    int ok;
    switch (r) {
    case R_RESET:
        n_reset++;
        serial_puts("needs-reset");
        ok = 1;
        break;
    case R_USED:
        if (dev.id != 2) {
            uint32_t len =
                rq.packed
                    ? mr32(D(0) + 8)
                    : mr32(rq.device + 4 + 8u * (rq.last_used % rq.size) + 4);
            serial_puts(len ? "completed, length " : "failed, length ");
            serial_putdec(len);
            ok = len ? expect == E_ANY : expect != E_RESET;
            n_failed += !len;
        } else if (st == 0) {
            serial_puts("completed, status 0");
            ok = expect == E_ANY;
        } else {
            n_failed++;
            serial_puts("failed, status ");
            serial_putdec(st);
            ok = expect != E_RESET;
        }
        break;
    default:
        serial_puts("no reaction");
        ok = expect == E_ANY;
        break;
    }
    if (!ok) {
        serial_puts(" (wrong)");
        vd_failures++;
    }
    vq_desc_override = 0;
    recover();
}

/* A well-formed read of sector 0, but with data buffer (addr, len). */
static void read_with(uint32_t addr_lo, uint32_t addr_hi, uint32_t len)
{
    header(0, 0);
    sd(0, hdr, 16, D_NEXT, 1);
    sd(1, addr_lo, len, D_WRITE | D_NEXT, 2);
    mw32(D(1) + 4, addr_hi);
    sd(2, stat, 1, D_WRITE, 0);
    publish(0);
}

static void split_classes(void)
{
    if (start(FBIT(F_INDIRECT)))
        return;
    /* a loop: 0 -> 1 -> 2 -> 1 (the writable ones; nothing else wrong) */
    header(0, 0);
    sd(0, hdr, 16, D_NEXT, 1);
    sd(1, data, 512, D_WRITE | D_NEXT, 2);
    sd(2, stat, 1, D_WRITE | D_NEXT, 1);
    publish(0);
    verdict("split: chain loop", E_FAIL);

    header(0, 0);
    sd(0, hdr, 16, D_NEXT, (uint16_t)(rq.size + 3));
    publish(0);
    verdict("split: next index out of range", E_FAIL);

    read_with(0xf0000000u, 0, 512);
    verdict("split: buffer outside RAM", E_FAIL);

    read_with(dev.mmio ? dev.base : dev.common, 0, 512);
    verdict("split: buffer on the device's registers", E_FAIL);

    read_with(ram_end - 256, 0, 512);
    verdict("split: buffer across the end of RAM", E_FAIL);

    read_with(0x100000, 1, 512);
    verdict("split: buffer above 4 GiB", E_FAIL);

    read_with(data, 0, 0);
    verdict("split: zero-length buffer", E_FAIL);

    read_with(data, 0, 0x80000000u);
    verdict("split: 2 GiB buffer", E_FAIL);

    header(0, 0);
    sd(0, hdr, 16, D_NEXT, 1);
    sd(1, data, 512, D_WRITE | D_NEXT, 2);
    sd(2, hdr, 16, D_NEXT, 3); /* readable after writable */
    sd(3, stat, 1, D_WRITE, 0);
    publish(0);
    verdict("split: readable after writable", E_FAIL);

    header(0, 0);
    sd(0, hdr, 8, D_NEXT, 1); /* half a header */
    sd(1, data, 512, D_WRITE | D_NEXT, 2);
    sd(2, stat, 1, D_WRITE, 0);
    publish(0);
    verdict("split: short request header", E_FAIL);

    header(0, 0);
    sd(0, hdr, 16, D_WRITE | D_NEXT, 1); /* nothing readable */
    sd(1, stat, 1, D_WRITE, 0);
    publish(0);
    verdict("split: no readable header", E_FAIL);

    header(0, 0);
    sd(0, hdr, 16, 0, 0); /* nothing writable: no status byte */
    publish(0);
    verdict("split: no status byte", E_ANY);

    /* the available index runs far ahead of the device */
    sd(0, hdr, 16, 0, 0);
    mw16(rq.driver + 4, 0);
    rq.avail_idx = (uint16_t)(rq.size + 5);
    vd_barrier();
    mw16(rq.driver + 2, rq.avail_idx);
    vq_kick(&rq);
    mw8(stat, 0xee);
    verdict("split: available index too far ahead", E_RESET);

    header(0, 0);
    publish(0xfff0); /* head index out of range */
    verdict("split: head index out of range", E_ANY);

    if (!(dev.features & FBIT(F_INDIRECT))) {
        sayln("indirect descriptors not offered: indirect classes skipped");
    } else {
        header(0, 0);
        put_desc(tab, hdr, 16, D_NEXT, 1);
        put_desc(tab + 16, data, 512, D_WRITE | D_NEXT, 2);
        put_desc(tab + 32, stat, 1, D_WRITE, 0);
        sd(0, tab, 20, D_INDIRECT, 0); /* length not a multiple of 16 */
        publish(0);
        verdict("split: indirect table length 20", E_FAIL);

        header(0, 0);
        put_desc(tab, tab + 64, 48, D_INDIRECT, 0); /* nested */
        sd(0, tab, 16, D_INDIRECT, 0);
        publish(0);
        verdict("split: nested indirect table", E_FAIL);

        header(0, 0);
        put_desc(tab, hdr, 16, D_NEXT, 1);
        put_desc(tab + 16, data, 512, D_WRITE | D_NEXT, 2);
        put_desc(tab + 32, stat, 1, D_WRITE | D_NEXT, 1); /* loop */
        sd(0, tab, 48, D_INDIRECT, 0);
        publish(0);
        verdict("split: loop inside an indirect table", E_FAIL);

        header(0, 0);
        put_desc(tab, hdr, 16, D_NEXT, 7); /* beyond the table */
        sd(0, tab, 48, D_INDIRECT, 0);
        publish(0);
        verdict("split: indirect next beyond the table", E_FAIL);

        header(0, 0);
        sd(0, 0xf0000000u, 48, D_INDIRECT, 0);
        publish(0);
        verdict("split: indirect table outside RAM", E_FAIL);
    }

    /* Notify a queue that does not exist, then a good request. */
    mw8(stat, 0xee);
    if (dev.mmio)
        mw32(dev.base + M_QNOTIFY, 9);
    else
        mw16(dev.notify + 9 * dev.notify_mult, 9);
    header(0, 0);
    sd(0, hdr, 16, D_NEXT, 1);
    sd(1, data, 512, D_WRITE | D_NEXT, 2);
    sd(2, stat, 1, D_WRITE, 0);
    publish(0);
    verdict("split: kick of a missing queue, then a good read", E_ANY);
}

static void ring_classes(void)
{
    /* ring areas the device cannot use */
    vq_desc_override = 0xf0000000u;
    if (start(0) == 0) {
        mw8(stat, 0xee);
        verdict("ring: descriptor table outside RAM", E_RESET);
    }
    vq_desc_override = 0x200008; /* not 16-byte aligned */
    if (start(0) == 0) {
        mw8(stat, 0xee);
        verdict("ring: misaligned descriptor table", E_RESET);
    }
    vq_desc_override = ram_end - 64; /* runs past the end of RAM */
    if (start(0) == 0) {
        mw8(stat, 0xee);
        verdict("ring: descriptor table across the end of RAM", E_RESET);
    }
    vq_desc_override = 0;
}

static void packed_classes(void)
{
    if (start(want_features(1)))
        return;
    if (!rq.packed) {
        sayln("packed ring not offered: packed classes skipped");
        return;
    }
    /* every slot chained to the next, none ends the chain */
    header(0, 0);
    for (unsigned i = 0; i < rq.size; i++)
        put_desc(D(i), i ? data : hdr, 16, 0, 0);
    for (unsigned i = rq.size; i-- > 0;) {
        vd_barrier();
        mw16(D(i) + 14, (uint16_t)(D_NEXT | D_AVAIL | (i ? D_WRITE : 0)));
    }
    vq_kick(&rq);
    verdict("packed: endless chain", E_FAIL);

    if (start(want_features(1)))
        return;
    header(0, 0);
    pd(2, stat, 1, D_WRITE);
    pd(1, data, 0, D_WRITE | D_NEXT);
    pd(0, hdr, 16, D_NEXT);
    vq_kick(&rq);
    verdict("packed: zero-length buffer", E_FAIL);

    if (start(want_features(1)))
        return;
    header(0, 0);
    pd(2, stat, 1, D_WRITE);
    pd(1, 0xf0000000u, 512, D_WRITE | D_NEXT);
    pd(0, hdr, 16, D_NEXT);
    vq_kick(&rq);
    verdict("packed: buffer outside RAM", E_FAIL);

    if (start(want_features(1)))
        return;
    if (rq.indirect) {
        header(0, 0);
        put_desc(tab, hdr, 16, 0, 0);
        put_desc(tab + 16, data, 512, 0, D_WRITE);
        put_desc(tab + 32, stat, 1, 0, D_WRITE);
        pd(0, tab, 40, D_INDIRECT);
        vq_kick(&rq);
        verdict("packed: indirect table length 40", E_FAIL);
    }
}

/* readable_kept: the 64 bytes at `data` still hold the 0x5a pattern (the
 * device wrote nothing into a buffer the driver made readable). */
static void readable_kept(const char *what)
{
    for (uint32_t i = 0; i < 64; i++)
        if (mr8(data + i) != 0x5a) {
            say(what);
            serial_puts(": the device wrote into a readable buffer (wrong)\n");
            vd_failures++;
            return;
        }
}

/* Device-specific misuse: entropy and console chains with the wrong
 * direction or no length, on the PCI functions of the configuration. */
static void device_classes(void)
{
    if (pci_find(&dev, 4, 0) == 0 && start(0) == 0) {
        vd_memset((void *)data, 0x5a, 64);
        sd(0, data, 64, 0, 0); /* readable only */
        publish(0);
        verdict("rng: a readable buffer only", E_FAIL);
        readable_kept("rng");
        if (start(0) == 0) {
            sd(0, data, 0, D_WRITE, 0);
            publish(0);
            verdict("rng: zero-length buffer", E_FAIL);
        }
    }
    if (pci_find(&dev, 3, 0) == 0) {
        cur_q = 1; /* transmitq */
        if (start(0) == 0) {
            sd(0, data, 16, D_WRITE, 0); /* writable: nothing to send */
            publish(0);
            verdict("console: a writable buffer to transmit", E_FAIL);
        }
        cur_q = 0; /* receiveq: the case gives the console input */
        if (start(0) == 0) {
            vd_memset((void *)data, 0x5a, 64);
            sd(0, data, 64, 0, 0); /* readable only */
            publish(0);
            verdict("console: a readable buffer to receive into", E_FAIL);
            readable_kept("console");
        }
    }
}

/* Stray accesses over the whole register window: reads and writes of a
 * pattern everywhere (the notify area and the status aside). */
static void register_garbage(void)
{
    if (start(0))
        return;
    uint32_t lo, hi;
    if (dev.mmio) {
        lo = dev.base;
        hi = dev.base + 0x200;
    } else {
        lo = bar_addr(dev.bdf, 4);
        hi = lo + 0x4000;
    }
    uint32_t sum = 0;
    for (uint32_t a = lo; a < hi; a += 4) {
        if (dev.mmio ? a - lo == M_STATUS || a - lo == M_QNOTIFY
                     : (a >= dev.notify && a < dev.notify + 0x1000) ||
                           a == dev.common + CC_STATUS - 0)
            continue;
        sum += mr32(a);
        mw32(a, 0xdeadbeefu);
        mw16(a + 2, 0xbeef);
        mw8(a + 1, 0xef);
    }
    (void)sum;
    mw8(stat, 0xee);
    verdict("registers: a pattern written everywhere", E_ANY);
}

void guest_main(uint32_t magic, uint32_t info)
{
    vd_tag = "virtio-bad";
    vd_start(magic, info);
    ram_end = arg_num("ramend", 0x4000000);
    if (vd_find(&dev, 2))
        finish();
    hdr = (uint32_t)vd_alloc(16, 16);
    data = (uint32_t)vd_alloc(4096, 4096);
    stat = (uint32_t)vd_alloc(1, 1);
    tab = (uint32_t)vd_alloc(256, 16);
    rbuf = (uint32_t)vd_alloc(512, 512);
    arena_mark = vd_arena_used;

    split_classes();
    ring_classes();
    packed_classes();
    register_garbage();
    device_classes();

    say("");
    serial_putdec(n_classes);
    serial_puts(" classes: ");
    serial_putdec(n_reset);
    serial_puts(" needs-reset, ");
    serial_putdec(n_failed);
    serial_puts(" failed requests\n");
    vd_reset(&dev);
    finish();
}

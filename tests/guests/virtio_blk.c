/*
 * virtio_blk.c: the virtio-blk guest (tests/vm/cases/virtio-blk-*.sh).
 * Finds the device on PCI, or on virtio-mmio with "mmio=ADDR" on the
 * command line, and drives it with virtio_drv.h, one line per step on
 * COM1. Command line: "packed" (negotiate the packed ring), "indirect"
 * (every request as an indirect table), "wsec=N" (the first of the two
 * sectors written, default 5), "zsec=N" (write-zeroes, default 7), "dsec=N"
 * (discard, default 8). The image the case made holds "QVM-VIRTIO-BLK-0"
 * at the start of sector 0, "QVM-VIRTIO-BLK-1" at sector 1 and
 * "QVM-LAST-SECTOR!" at the last sector.
 *
 * "hold": stop (halted) right after the FLUSH is acknowledged. With
 * virtio-mmio, the DSDT must describe the device.
 *
 * Steps: capacity and features; a two-sector read split over two
 * descriptors; the last sector; four reads in flight at once; a
 * two-sector write of "QVMWRITE s=NNNN\n" lines (read-only disk: must
 * fail with IOERR) and its read-back; FLUSH; GET_ID; WRITE_ZEROES and
 * DISCARD when offered; with several queues (MQ) a read and a flush on the
 * last one; reads beyond the end (IOERR) and an unknown
 * request type (UNSUPP); then a device reset and a read again.
 */
#include "acpi_guest.h"
#include "virtio_drv.h"

#define T_IN     0
#define T_OUT    1
#define T_FLUSH  4
#define T_GET_ID 8
#define T_DISC   11
#define T_WZ     13

#define S_OK     0
#define S_IOERR  1
#define S_UNSUPP 2

#define F_SIZE_MAX 1
#define F_SEG_MAX  2
#define F_RO       5
#define F_BLK_SIZE 6
#define F_FLUSH    9
#define F_DISCARD  13
#define F_WZ       14
#define F_MQ       12

void guest_main(uint32_t magic, uint32_t info);

static struct vdev dev;
static struct vq rq, rq_last; /* queue 0; with MQ also the last queue */
static struct vq *cq = &rq;   /* the queue requests go to */
static uint16_t nqueues = 1;
static int use_indirect;

struct req {
    uint32_t hdr;    /* 16 bytes: type, reserved, sector */
    uint32_t status; /* 1 byte */
};

static struct req new_req(void)
{
    struct req r;
    r.hdr = (uint32_t)vd_alloc(16, 16);
    r.status = (uint32_t)vd_alloc(1, 1);
    return r;
}

static void set_hdr(struct req *r, uint32_t type, uint64_t sector)
{
    mw32(r->hdr, type);
    mw32(r->hdr + 4, 0);
    mw32(r->hdr + 8, (uint32_t)sector);
    mw32(r->hdr + 12, (uint32_t)(sector >> 32));
    mw8(r->status, 0xee); /* the device must overwrite it */
}

/*
 * submit: one request: header, `nseg` data buffers of `seglen` bytes from
 * `data` (device-writable when `in`), status. Returns the chain's token.
 */
static int submit(struct req *r, uint32_t type, uint64_t sector, uint32_t data,
                  unsigned nseg, uint32_t seglen, int in)
{
    struct vbuf b[6];
    unsigned n = 0;
    set_hdr(r, type, sector);
    b[n++] = (struct vbuf){r->hdr, 16, 0};
    for (unsigned i = 0; i < nseg; i++)
        b[n++] = (struct vbuf){data + i * seglen, seglen, in};
    b[n++] = (struct vbuf){r->status, 1, 1};
    return vq_add(cq, b, n, use_indirect);
}

/* run: submit one request and wait for it; the status byte, or -1 (none
 * came back; the reason printed). *len: the used length. */
static int run(uint32_t type, uint64_t sector, uint32_t data, unsigned nseg,
               uint32_t seglen, int in, uint32_t *len)
{
    static struct req r;
    if (!r.hdr)
        r = new_req();
    int t = submit(&r, type, sector, data, nseg, seglen, in);
    if (t < 0) {
        fail("queue full");
        return -1;
    }
    vq_kick(cq);
    uint32_t l = 0;
    int got = vq_wait(cq, &l, 5000);
    if (got == -2) {
        fail("the device set NEEDS_RESET");
        return -1;
    }
    if (got < 0) {
        fail("no completion within 5 s");
        return -1;
    }
    if (got != t)
        fail("another chain completed");
    if (len)
        *len = l;
    return mr8(r.status);
}

static void check_status(const char *what, int st, int want)
{
    if (st != want) {
        say("FAIL: ");
        serial_puts(what);
        serial_puts(": expected status ");
        serial_putdec((uint32_t)want);
        serial_puts("\n");
        vd_failures++;
    }
}

static void say_status(const char *what, int st, int want)
{
    say(what);
    serial_puts(": status ");
    serial_putdec((uint32_t)st);
    serial_puts("\n");
    check_status(what, st, want);
}

static int prefix_is(uint32_t at, const char *s)
{
    return vd_memcmp((const void *)at, s, vd_strlen(s)) == 0;
}

static void say_text(uint32_t at, uint32_t n)
{
    serial_putc('\'');
    for (uint32_t i = 0; i < n; i++) {
        uint8_t c = mr8(at + i);
        serial_putc(c >= 0x20 && c < 0x7f ? (char)c : '.');
    }
    serial_putc('\'');
}

/* fill_write: 16-byte lines "QVMWRITE s=NNNN\n", NNNN = the line's
 * sector. */
static void fill_write(uint32_t at, uint32_t sector, uint32_t nsec)
{
    for (uint32_t s = 0; s < nsec; s++)
        for (uint32_t o = 0; o < 512; o += 16) {
            uint32_t p = at + s * 512 + o, v = sector + s;
            vd_memcpy((void *)p, "QVMWRITE s=", 11);
            mw8(p + 11, (uint8_t)('0' + v / 1000 % 10));
            mw8(p + 12, (uint8_t)('0' + v / 100 % 10));
            mw8(p + 13, (uint8_t)('0' + v / 10 % 10));
            mw8(p + 14, (uint8_t)('0' + v % 10));
            mw8(p + 15, '\n');
        }
}

/* check_dsdt: a virtio-mmio device must be in the DSDT (Linux finds it
 * there, as _HID LNRO0005 with its registers in _CRS). */
static void check_dsdt(uint32_t base)
{
    uint32_t fadt = find_table("FACP"), hid = 0, at = 0;
    uint32_t d = fadt ? rd32(fadt + FADT_DSDT) : 0;
    if (d && mem_eq((const void *)d, "DSDT", 4)) {
        uint32_t len = rd32(d + 4);
        for (uint32_t o = 36; o + 8 <= len; o++) {
            if (mem_eq((const void *)(d + o), "LNRO0005", 8))
                hid++;
            if (rd32(d + o) == base)
                at++;
        }
    }
    say("DSDT: LNRO0005 ");
    serial_puts(hid ? "yes" : "no");
    serial_puts(", registers at ");
    serial_puthex(base);
    serial_puts(at ? " yes\n" : " no\n");
    if (!hid || !at)
        fail("the virtio-mmio device is not described in the DSDT");
}

static int start(uint64_t want)
{
    if (vd_init(&dev, want))
        return -1;
    if (vq_setup(&dev, &rq, 0, (uint16_t)arg_num("qsize", 16)))
        return -1;
    nqueues = 1;
    if (dev.features & FBIT(F_MQ)) {
        nqueues = cfg16(&dev, 34);
        if (nqueues > 1 && vq_setup(&dev, &rq_last, (uint16_t)(nqueues - 1),
                                    (uint16_t)arg_num("qsize", 16)))
            return -1;
    }
    vd_driver_ok(&dev);
    if (vd_status(&dev) & (ST_NEEDS_RESET | ST_FAILED)) {
        fail("device status after DRIVER_OK");
        return -1;
    }
    return 0;
}

void guest_main(uint32_t magic, uint32_t info)
{
    vd_tag = "virtio-blk";
    vd_start(magic, info);
    use_indirect = arg("indirect") != 0;
    uint32_t wsec = arg_num("wsec", 5), zsec = arg_num("zsec", 7),
             dsec = arg_num("dsec", 8);
    if (vd_find(&dev, 2))
        finish();
    uint64_t want = FBIT(F_RO) | FBIT(F_BLK_SIZE) | FBIT(F_FLUSH) |
                    FBIT(F_DISCARD) | FBIT(F_WZ) | FBIT(F_SEG_MAX) |
                    FBIT(F_SIZE_MAX) | FBIT(F_MQ);
    if (arg("packed"))
        want |= FBIT(F_RING_PACKED);
    if (use_indirect)
        want |= FBIT(F_INDIRECT);
    if (start(want))
        finish();
    say_features(&dev);
    if (arg("packed") && !(dev.features & FBIT(F_RING_PACKED)))
        fail("packed ring requested but not offered");
    if (use_indirect && !(dev.features & FBIT(F_INDIRECT)))
        fail("indirect descriptors requested but not offered");
    say(rq.packed ? "packed ring, " : "split ring, ");
    serial_puts(use_indirect ? "indirect" : "direct");
    serial_puts(" descriptors, queue size ");
    serial_putdec(rq.size);
    serial_puts("\n");

    uint64_t cap = cfg64(&dev, 0);
    int ro = (dev.features & FBIT(F_RO)) != 0;
    say("capacity ");
    serial_putdec((uint32_t)cap);
    serial_puts(" sectors");
    if (dev.features & FBIT(F_BLK_SIZE)) {
        serial_puts(", blk_size ");
        serial_putdec(cfg32(&dev, 20));
    }
    serial_puts(ro ? ", read-only\n" : ", read-write\n");
    if (!(dev.offered & FBIT(F_FLUSH)))
        fail("FLUSH not offered");
    if (cap < 16 || cap >> 32) {
        fail("capacity out of the test's range");
        finish();
    }

    if (dev.mmio)
        check_dsdt(dev.base);

    uint32_t buf = (uint32_t)vd_alloc(8192, 4096);
    uint32_t len = 0;

    /* Sectors 0 and 1, one request, two data descriptors. */
    vd_memset((void *)buf, 0xa5, 1024);
    int st = run(T_IN, 0, buf, 2, 512, 1, &len);
    say_status("read sectors 0-1", st, S_OK);
    say("sector 0 ");
    say_text(buf, 16);
    serial_puts(", sector 1 ");
    say_text(buf + 512, 16);
    serial_puts(", used len ");
    serial_putdec(len);
    serial_puts("\n");
    if (!prefix_is(buf, "QVM-VIRTIO-BLK-0") ||
        !prefix_is(buf + 512, "QVM-VIRTIO-BLK-1"))
        fail("sectors 0-1 do not hold the image's pattern");
    if (len != 1025)
        fail("used length of a 1024-byte read is not 1025");

    /* The last sector. */
    st = run(T_IN, cap - 1, buf, 1, 512, 1, &len);
    say_status("read last sector", st, S_OK);
    say("last sector ");
    say_text(buf, 16);
    serial_puts("\n");
    if (!prefix_is(buf, "QVM-LAST-SECTOR!"))
        fail("the last sector does not hold the image's pattern");

    /* Four reads in flight at once. */
    {
        static struct req rs[4];
        static const uint32_t secs[4] = {1, 0, 1, 0};
        int tok[4];
        for (int i = 0; i < 4; i++) {
            if (!rs[i].hdr)
                rs[i] = new_req();
            vd_memset((void *)(buf + 512 * i), 0, 512);
            tok[i] = submit(&rs[i], T_IN, secs[i], buf + 512 * i, 1, 512, 1);
        }
        vq_kick(&rq);
        int done = 0, bad = 0;
        while (done < 4) {
            int t = vq_wait(&rq, &len, 5000);
            if (t < 0)
                break;
            for (int i = 0; i < 4; i++)
                if (t == tok[i]) {
                    const char *want_s =
                        secs[i] ? "QVM-VIRTIO-BLK-1" : "QVM-VIRTIO-BLK-0";
                    if (mr8(rs[i].status) != S_OK ||
                        !prefix_is(buf + 512 * i, want_s))
                        bad++;
                }
            done++;
        }
        say("4 reads in flight: ");
        serial_putdec((uint32_t)done);
        serial_puts(" completed, ");
        serial_putdec((uint32_t)bad);
        serial_puts(" wrong\n");
        if (done != 4 || bad)
            fail("reads in flight");
    }

    /* Write two sectors (two data descriptors), read them back. */
    uint32_t old = buf + 4096;
    st = run(T_IN, wsec, old, 2, 512, 1, 0);
    if (st != S_OK)
        fail("read before write");
    fill_write(buf, wsec, 2);
    st = run(T_OUT, wsec, buf, 2, 512, 0, &len);
    say("write sectors ");
    serial_putdec(wsec);
    serial_puts("-");
    serial_putdec(wsec + 1);
    serial_puts(": status ");
    serial_putdec((uint32_t)st);
    serial_puts("\n");
    check_status("write", st, ro ? S_IOERR : S_OK);
    vd_memset((void *)buf, 0, 1024);
    st = run(T_IN, wsec, buf, 1, 1024, 1, 0);
    say_status("read back", st, S_OK);
    uint32_t cmp_with = ro ? old : buf + 2048;
    if (!ro)
        fill_write(cmp_with, wsec, 2);
    int same = vd_memcmp((void *)buf, (void *)cmp_with, 1024) == 0;
    say(ro ? "read back: unchanged " : "read back: matches ");
    serial_puts(same ? "yes\n" : "no\n");
    if (!same)
        fail("read-back content");

    st = run(T_FLUSH, 0, 0, 0, 0, 0, &len);
    say_status("flush", st, S_OK);
    if (nqueues > 1) {
        /* the last request queue reads and flushes as well */
        cq = &rq_last;
        vd_memset((void *)buf, 0, 512);
        st = run(T_IN, 1, buf, 1, 512, 1, 0);
        say("queue ");
        serial_putdec(nqueues - 1u);
        serial_puts(" of ");
        serial_putdec(nqueues);
        serial_puts(": read sector 1 ");
        serial_puts(st == S_OK && prefix_is(buf, "QVM-VIRTIO-BLK-1") ? "ok"
                                                                     : "wrong");
        serial_puts("\n");
        if (st != S_OK || !prefix_is(buf, "QVM-VIRTIO-BLK-1"))
            vd_failures++;
        st = run(T_FLUSH, 0, 0, 0, 0, 0, 0);
        check_status("flush on the last queue", st, S_OK);
        cq = &rq;
    }
    if (arg("hold")) {
        /* the case kills qvm (SIGKILL) now and checks the image */
        sayln("holding after the flush");
        for (;;)
            __asm__ volatile("cli; hlt");
    }

    vd_memset((void *)buf, 0, 20);
    st = run(T_GET_ID, 0, buf, 1, 20, 1, &len);
    uint32_t idlen = 0;
    while (idlen < 20 && mr8(buf + idlen))
        idlen++;
    say("get-id ");
    say_text(buf, idlen);
    serial_puts("\n");
    say_status("get-id", st, S_OK);

    if (dev.features & FBIT(F_WZ)) {
        /* one segment: sector, num_sectors, flags */
        mw32(buf, zsec);
        mw32(buf + 4, 0);
        mw32(buf + 8, 1);
        mw32(buf + 12, 0);
        st = run(T_WZ, 0, buf, 1, 16, 0, 0);
        say_status("write-zeroes", st, ro ? S_IOERR : S_OK);
    } else {
        sayln("write-zeroes: not offered");
    }
    if (dev.features & FBIT(F_DISCARD)) {
        mw32(buf, dsec);
        mw32(buf + 4, 0);
        mw32(buf + 8, 1);
        mw32(buf + 12, 0);
        st = run(T_DISC, 0, buf, 1, 16, 0, 0);
        /* a read-only disk may fail a discard or ignore it (the case
         * checks that the image did not change) */
        say_status("discard", st, ro && st ? st : S_OK);
    } else {
        sayln("discard: not offered");
    }

    /* Errors the device reports in the status byte. */
    st = run(T_IN, cap, buf, 1, 512, 1, 0);
    say_status("read at the capacity", st, S_IOERR);
    st = run(T_IN, cap - 1, buf, 1, 1024, 1, 0);
    say_status("read across the end", st, S_IOERR);
    st = run(T_OUT, cap, buf, 1, 512, 0, 0);
    say_status("write at the capacity", st, S_IOERR);
    st = run(0x7f, 0, buf, 1, 512, 1, 0);
    say_status("unknown request type", st, S_UNSUPP);

    /* Reset, set up again, read sector 0. */
    vd_arena_used = 0;
    vd_memset(&rq, 0, sizeof(rq));
    vd_memset(&rq_last, 0, sizeof(rq_last));
    if (start(dev.features) == 0) {
        static struct req r2;
        buf = (uint32_t)vd_alloc(512, 512);
        r2 = new_req();
        int t = submit(&r2, T_IN, 0, buf, 1, 512, 1);
        vq_kick(&rq);
        int got = vq_wait(&rq, &len, 5000);
        int ok = got == t && mr8(r2.status) == S_OK &&
                 prefix_is(buf, "QVM-VIRTIO-BLK-0");
        say("after reset: read sector 0 ");
        serial_puts(ok ? "ok\n" : "failed\n");
        if (!ok)
            vd_failures++;
    }
    vd_reset(&dev);
    finish();
}

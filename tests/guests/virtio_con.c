/*
 * virtio_con.c: the virtio-console guest (tests/vm/cases/virtio-console.sh).
 * Finds the device on PCI, or on virtio-mmio with "mmio=ADDR" ("packed"
 * negotiates the packed ring). Posts four 64-byte receive buffers, then
 * on the transmit queue: "virtio-console: hello from the guest" (a chain
 * of two buffers) and 64 lines "line NN ..." of 64 bytes in one 4 KiB
 * buffer. Then it reads `lines=N` (default 1) lines of input from the
 * receive queue (waiting up to `wait=SECS`, default 20) and answers each
 * with "echo: LINE" on the console and "virtio-console: got 'LINE'" on
 * COM1. Powers off.
 */
#include "virtio_drv.h"

#define F_SIZE        0
#define F_MULTIPORT   1
#define F_EMERG_WRITE 2
#define NRX           4
#define RXLEN         64

void guest_main(uint32_t magic, uint32_t info);

static struct vdev dev;
static struct vq rxq, txq;
static uint32_t rxbuf[NRX];
static int rxtok[NRX];

static void tx(const struct vbuf *b, unsigned n, const char *what)
{
    int32_t r = vq_run(&txq, b, n, 0);
    if (r < 0) {
        fail(what);
        return;
    }
    if (r != 0) /* transmit buffers are read-only: nothing written */
        fail("transmit: used length is not 0");
}

static void tx_str(const char *s)
{
    static uint32_t scratch;
    if (!scratch)
        scratch = (uint32_t)vd_alloc(256, 16);
    uint32_t n = vd_strlen(s);
    if (n > 256)
        n = 256;
    vd_memcpy((void *)scratch, s, n);
    struct vbuf b = {scratch, n, 0};
    tx(&b, 1, "transmit");
}

static void post_rx(unsigned i)
{
    struct vbuf b = {rxbuf[i], RXLEN, 1};
    vd_memset((void *)rxbuf[i], 0, RXLEN);
    rxtok[i] = vq_add(&rxq, &b, 1, 0);
    if (rxtok[i] < 0)
        fail("cannot post a receive buffer");
}

void guest_main(uint32_t magic, uint32_t info)
{
    vd_tag = "virtio-console";
    vd_start(magic, info);
    if (vd_find(&dev, 3))
        finish();
    uint64_t want = FBIT(F_SIZE) | FBIT(F_EMERG_WRITE);
    if (arg("packed"))
        want |= FBIT(F_RING_PACKED);
    if (vd_init(&dev, want) || vq_setup(&dev, &rxq, 0, 8) ||
        vq_setup(&dev, &txq, 1, 8))
        finish();
    vd_driver_ok(&dev);
    say_features(&dev);
    say(rxq.packed ? "packed ring" : "split ring");
    serial_puts("\n");
    if (dev.offered & FBIT(F_MULTIPORT))
        sayln("MULTIPORT offered (not used)");
    if (dev.features & FBIT(F_SIZE)) {
        say("size ");
        serial_putdec(cfg16(&dev, 0));
        serial_puts("x");
        serial_putdec(cfg16(&dev, 2));
        serial_puts("\n");
    }

    for (unsigned i = 0; i < NRX; i++) {
        rxbuf[i] = (uint32_t)vd_alloc(RXLEN, 64);
        post_rx(i);
    }
    vq_kick(&rxq);

    /* Output: a chain of two buffers, then one 4 KiB buffer. */
    static const char p1[] = "virtio-console: ";
    static const char p2[] = "hello from the guest\n";
    uint32_t t1 = (uint32_t)vd_alloc(64, 16);
    vd_memcpy((void *)t1, p1, sizeof(p1) - 1);
    vd_memcpy((void *)(t1 + 32), p2, sizeof(p2) - 1);
    struct vbuf hello[2] = {{t1, sizeof(p1) - 1, 0},
                            {t1 + 32, sizeof(p2) - 1, 0}};
    tx(hello, 2, "transmit hello");
    uint32_t page = (uint32_t)vd_alloc(4096, 4096);
    for (uint32_t l = 0; l < 64; l++) {
        uint32_t p = page + 64 * l;
        vd_memcpy((void *)p, "line ", 5);
        mw8(p + 5, (uint8_t)('0' + l / 10));
        mw8(p + 6, (uint8_t)('0' + l % 10));
        mw8(p + 7, ' ');
        for (uint32_t k = 8; k < 63; k++)
            mw8(p + k, (uint8_t)('a' + (l + k) % 26));
        mw8(p + 63, '\n');
    }
    struct vbuf pb = {page, 4096, 0};
    tx(&pb, 1, "transmit 4 KiB");
    sayln("output sent");
    if (dev.features & FBIT(F_EMERG_WRITE)) {
        static const char e[] = "EMERG\n";
        for (unsigned i = 0; e[i]; i++)
            mw32(vd_cfg_addr(&dev, 8), (uint8_t)e[i]);
        sayln("emergency write sent");
    }

    /* Input: lines, echoed. */
    uint32_t want_lines = arg_num("lines", 1);
    struct deadline until = deadline_ms(arg_num("wait", 20) * 1000);
    static char line[256];
    uint32_t ln = 0, lines = 0, total = 0;
    sayln("waiting for input");
    while (lines < want_lines && !expired(&until)) {
        uint32_t len = 0;
        int t = vq_wait(&rxq, &len, 100);
        if (t == -2) {
            fail("the device set NEEDS_RESET");
            break;
        }
        if (t < 0)
            continue;
        unsigned i = 0;
        while (i < NRX && rxtok[i] != t)
            i++;
        if (i == NRX) {
            fail("unknown receive buffer completed");
            break;
        }
        if (len > RXLEN) {
            fail("receive: used length beyond the buffer");
            len = RXLEN;
        }
        total += len;
        for (uint32_t k = 0; k < len; k++) {
            char c = (char)mr8(rxbuf[i] + k);
            if (c != '\n' && c != '\r') {
                if (ln < sizeof(line) - 1)
                    line[ln++] = c;
                continue;
            }
            if (c == '\r' && k + 1 < len && mr8(rxbuf[i] + k + 1) == '\n')
                k++;
            line[ln] = 0;
            say("got '");
            serial_puts(line);
            serial_puts("'\n");
            tx_str("echo: ");
            line[ln++] = '\n';
            line[ln] = 0;
            tx_str(line);
            ln = 0;
            lines++;
        }
        post_rx(i);
        vq_kick(&rxq);
    }
    say("input: ");
    serial_putdec(total);
    serial_puts(" bytes, ");
    serial_putdec(lines);
    serial_puts(" line(s)\n");
    if (lines < want_lines)
        fail("not all input lines arrived");
    finish();
}

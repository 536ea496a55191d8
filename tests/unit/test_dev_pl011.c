/*
 * test_dev_pl011.c: the PL011 (src/devices/pl011.h). The pure register
 * model through explicit calls: reset values, the PrimeCell ID registers,
 * FIFO depths and flags, the IFLS levels of the RX and TX interrupts (TX a
 * transition, not a level), the receive timeout, loopback, overrun and
 * ECR, modem interrupts, IMSC/MIS/ICR. Then `vdev pl011` on the MMIO bus:
 * Linux's AMBA probe and amba-pl011's start-up and console sequence with
 * its interrupt line, and the chardev path with pipes (host input read
 * only while the receive FIFO has room; guest output held in the transmit
 * FIFO, FR.TXFF, while the host end is full, and the TX interrupt when it
 * drains).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev_flush.h"
#include "fake_irq.h"
#include "devices/device.h"
#include "devices/pl011.h"

/* ---- the pure model ---- */

static uint32_t rd(struct pl011 *p, uint32_t off)
{
    return pl011_read(p, off);
}

static void test_reset_and_ids(void **state)
{
    (void)state;
    struct pl011 p;
    pl011_reset(&p);
    assert_int_equal(rd(&p, PL011_CR), 0x300);
    assert_int_equal(rd(&p, PL011_IFLS), 0x12);
    assert_int_equal(rd(&p, PL011_LCR_H), 0);
    assert_int_equal(rd(&p, PL011_IMSC), 0);
    assert_int_equal(rd(&p, PL011_RIS), 0);
    assert_int_equal(rd(&p, PL011_DMACR), 0);
    /* TXFE, RXFE, and CTS/DSR/DCD asserted (a host end is there). */
    assert_int_equal(rd(&p, PL011_FR), 0x97);
    static const uint8_t ids[8] = {0x11, 0x10, 0x34, 0x00,
                                   0x0d, 0xf0, 0x05, 0xb1};
    uint32_t pid = 0, cid = 0;
    for (unsigned i = 0; i < 8; i++) {
        uint32_t v = rd(&p, PL011_PERIPH0 + 4 * i);
        assert_int_equal(v, ids[i]);
        if (i < 4)
            pid |= v << (8 * i);
        else
            cid |= v << (8 * (i - 4));
    }
    assert_int_equal(cid, 0xb105f00d);
    /* amba-pl011's id table: 0x00041011 under mask 0x000fffff. */
    assert_int_equal(pid & 0x000fffff, 0x00041011);
    assert_int_equal(pid, PL011_PERIPHID);
    /* DMACR does not take DMA on. */
    pl011_write(&p, PL011_DMACR, 7);
    assert_int_equal(rd(&p, PL011_DMACR), 0);
    /* Baud divisors and LCR_H widths. */
    pl011_write(&p, PL011_IBRD, 0x1ffff);
    pl011_write(&p, PL011_FBRD, 0xff);
    assert_int_equal(rd(&p, PL011_IBRD), 0xffff);
    assert_int_equal(rd(&p, PL011_FBRD), 0x3f);
}

static void test_rx_fifo_levels(void **state)
{
    (void)state;
    struct pl011 p;
    pl011_reset(&p);
    /* No FIFO: one character holding register; RX at once. */
    assert_int_equal(pl011_rx_room(&p), 1);
    pl011_rx_push(&p, 'a');
    assert_int_equal(pl011_rx_room(&p), 0);
    assert_true(rd(&p, PL011_FR) & PL011_FR_RXFF);
    assert_true(rd(&p, PL011_RIS) & PL011_INT_RX);
    assert_int_equal(rd(&p, PL011_DR), 'a');
    assert_int_equal(rd(&p, PL011_RIS) & PL011_INT_RX, 0);
    assert_true(rd(&p, PL011_FR) & PL011_FR_RXFE);

    /* FIFO, RX level 1/2 (8 of 16). */
    pl011_write(&p, PL011_LCR_H, PL011_LCRH_FEN | 0x60);
    assert_int_equal(pl011_rx_room(&p), 16);
    for (int i = 0; i < 7; i++)
        pl011_rx_push(&p, (uint8_t)('0' + i));
    assert_int_equal(rd(&p, PL011_RIS) & PL011_INT_RX, 0);
    pl011_rx_push(&p, '7');
    assert_true(rd(&p, PL011_RIS) & PL011_INT_RX);
    assert_int_equal(rd(&p, PL011_DR), '0');
    assert_int_equal(rd(&p, PL011_RIS) & PL011_INT_RX, 0); /* below 8 */
    /* The read left characters behind: a receive timeout follows. */
    assert_true(rd(&p, PL011_RIS) & PL011_INT_RT);
    pl011_write(&p, PL011_ICR, PL011_INT_RT);
    assert_int_equal(rd(&p, PL011_RIS), 0);
    pl011_rx_idle(&p); /* the end of a burst */
    assert_true(rd(&p, PL011_RIS) & PL011_INT_RT);
    for (int i = 1; i < 8; i++)
        assert_int_equal(rd(&p, PL011_DR), '0' + i);
    assert_int_equal(rd(&p, PL011_RIS), 0); /* empty: RT cleared */

    /* Each IFLS level: 1/8 2, 1/4 4, 3/4 12, 7/8 14. */
    static const unsigned lv[5] = {2, 4, 8, 12, 14};
    for (unsigned sel = 0; sel < 5; sel++) {
        pl011_write(&p, PL011_IFLS, sel << 3);
        for (unsigned i = 1; i <= 16; i++) {
            pl011_rx_push(&p, 'x');
            assert_int_equal(!!(rd(&p, PL011_RIS) & PL011_INT_RX),
                             i >= lv[sel]);
        }
        assert_int_equal(pl011_rx_room(&p), 0);
        assert_int_equal(rd(&p, PL011_FR) & 0x50, PL011_FR_RXFF);
        while (!(rd(&p, PL011_FR) & PL011_FR_RXFE))
            (void)rd(&p, PL011_DR);
    }
    /* FIFOs turned off keep the oldest character. */
    pl011_rx_push(&p, 'A');
    pl011_rx_push(&p, 'B');
    pl011_write(&p, PL011_LCR_H, 0x60);
    assert_int_equal(rd(&p, PL011_DR), 'A');
    assert_true(rd(&p, PL011_FR) & PL011_FR_RXFE);
}

static void test_tx_interrupt_transition(void **state)
{
    (void)state;
    struct pl011 p;
    pl011_reset(&p);
    const uint8_t *b;
    pl011_write(&p, PL011_IMSC, PL011_INT_TX);
    /* Enabling TXIM on an empty transmitter raises nothing. */
    assert_false(pl011_irq(&p));
    /* No FIFO: one byte fills the holding register. */
    pl011_write(&p, PL011_DR, 'h');
    assert_int_equal(rd(&p, PL011_FR) & 0xa8, PL011_FR_TXFF | PL011_FR_BUSY);
    pl011_write(&p, PL011_DR, 'X'); /* lost: full */
    assert_int_equal(pl011_tx_peek(&p, &b), 1);
    assert_int_equal(b[0], 'h');
    pl011_tx_done(&p, 1);
    assert_true(pl011_irq(&p)); /* the holding register emptied */
    assert_int_equal(rd(&p, PL011_FR) & 0xa8, PL011_FR_TXFE);
    pl011_write(&p, PL011_ICR, PL011_INT_TX);
    assert_false(pl011_irq(&p));

    /* FIFO, TX level 1/2: the interrupt when it passes from 9 to 8. */
    pl011_write(&p, PL011_LCR_H, PL011_LCRH_FEN);
    for (int i = 0; i < 16; i++)
        pl011_write(&p, PL011_DR, (uint8_t)('a' + i));
    assert_true(rd(&p, PL011_FR) & PL011_FR_TXFF);
    pl011_write(&p, PL011_DR, '!'); /* lost */
    assert_false(pl011_irq(&p));
    pl011_tx_done(&p, 7); /* 16 -> 9 */
    assert_false(pl011_irq(&p));
    pl011_tx_done(&p, 1); /* 9 -> 8 */
    assert_true(pl011_irq(&p));
    assert_int_equal(rd(&p, PL011_MIS), PL011_INT_TX);
    /* Filling above the level again clears it. */
    pl011_write(&p, PL011_DR, 'q');
    assert_false(pl011_irq(&p));
    /* A character that leaves a FIFO that never was above the level
     * raises it too (qvm's transmitter sends at once: a FIFO the guest
     * fills never gets there; pl011_regs.c); writing one does not. */
    {
        struct pl011 f;
        pl011_reset(&f);
        pl011_write(&f, PL011_LCR_H, PL011_LCRH_FEN);
        pl011_write(&f, PL011_IMSC, PL011_INT_TX);
        pl011_write(&f, PL011_DR, 'z');
        assert_false(pl011_irq(&f));
        pl011_tx_done(&f, 1);
        assert_true(pl011_irq(&f));
    }
    /* The ring's order survives the wrap. */
    char out[32];
    size_t n = 0, k;
    while ((k = pl011_tx_peek(&p, &b)) > 0) {
        memcpy(out + n, b, k);
        n += k;
        pl011_tx_done(&p, k);
    }
    assert_int_equal(n, 9);
    assert_memory_equal(out, "ijklmnopq", 9);
    assert_true(pl011_irq(&p));
}

static void test_loopback_overrun_modem(void **state)
{
    (void)state;
    struct pl011 p;
    pl011_reset(&p);
    pl011_write(&p, PL011_LCR_H, PL011_LCRH_FEN | 0x60);
    pl011_write(&p, PL011_IMSC, PL011_INT_ALL);
    pl011_write(&p, PL011_CR, 0x301 | PL011_CR_LBE);
    /* Loopback: no host input, modem lines follow the outputs (none). */
    assert_int_equal(pl011_rx_room(&p), 0);
    assert_int_equal(rd(&p, PL011_FR) & 0x107, 0);
    /* CTS, DSR, DCD dropped: their modem interrupts. */
    assert_int_equal(rd(&p, PL011_RIS),
                     PL011_INT_CTS | PL011_INT_DSR | PL011_INT_DCD);
    pl011_write(&p, PL011_ICR, PL011_INT_ALL);
    pl011_write(&p, PL011_CR,
                0x301 | PL011_CR_LBE | PL011_CR_RTS | PL011_CR_OUT2);
    assert_int_equal(rd(&p, PL011_FR) & 0x107, PL011_FR_CTS | PL011_FR_RI);
    assert_int_equal(rd(&p, PL011_RIS), PL011_INT_CTS | PL011_INT_RI);
    pl011_write(&p, PL011_ICR, PL011_INT_ALL);
    /* 17 characters into a 16-deep FIFO: the last one overruns. */
    for (int i = 0; i < 17; i++)
        pl011_write(&p, PL011_DR, (uint8_t)('A' + i));
    assert_true(rd(&p, PL011_RIS) & PL011_INT_OE);
    assert_true(rd(&p, PL011_RSR) & PL011_RSR_OE);
    assert_true(rd(&p, PL011_RIS) & PL011_INT_RX);
    assert_true(rd(&p, PL011_RIS) & PL011_INT_RT);
    assert_int_equal(pl011_tx_peek(&p, &(const uint8_t *){NULL}), 0);
    for (int i = 0; i < 15; i++)
        assert_int_equal(rd(&p, PL011_DR), 'A' + i);
    assert_int_equal(rd(&p, PL011_DR), 'P' | PL011_DR_OE);
    pl011_write(&p, PL011_RSR, 0); /* ECR */
    assert_int_equal(rd(&p, PL011_RSR), 0);
    /* Each character that left the transmitter raised TX. */
    assert_true(rd(&p, PL011_RIS) & PL011_INT_TX);
    pl011_write(&p, PL011_ICR, PL011_INT_OE | PL011_INT_TX);
    assert_int_equal(rd(&p, PL011_RIS), 0);
    assert_false(pl011_irq(&p));
    /* Linux's old start-up trick: FIFOs off, one byte in loopback
     * provokes the TX interrupt. */
    pl011_write(&p, PL011_LCR_H, 0);
    pl011_write(&p, PL011_DR, 0);
    assert_true(rd(&p, PL011_RIS) & PL011_INT_TX);
    /* Leaving loopback: the host end is there again. */
    pl011_write(&p, PL011_CR, 0x301);
    assert_int_equal(rd(&p, PL011_FR) & 0x107, 0x7);
}

static void test_mask_and_clear(void **state)
{
    (void)state;
    struct pl011 p;
    pl011_reset(&p);
    pl011_rx_push(&p, 'x');
    pl011_rx_idle(&p);
    assert_int_equal(rd(&p, PL011_RIS), PL011_INT_RX | PL011_INT_RT);
    assert_int_equal(rd(&p, PL011_MIS), 0);
    assert_false(pl011_irq(&p));
    pl011_write(&p, PL011_IMSC, 0xffff);
    assert_int_equal(rd(&p, PL011_IMSC), PL011_INT_ALL);
    assert_int_equal(rd(&p, PL011_MIS), PL011_INT_RX | PL011_INT_RT);
    pl011_write(&p, PL011_ICR, PL011_INT_RX);
    assert_int_equal(rd(&p, PL011_MIS), PL011_INT_RT);
    assert_true(pl011_irq(&p));
    pl011_write(&p, PL011_IMSC, PL011_INT_RX);
    assert_false(pl011_irq(&p));
    /* RIS, MIS and FR are read-only. */
    pl011_write(&p, PL011_RIS, 0);
    pl011_write(&p, PL011_MIS, 0);
    pl011_write(&p, PL011_FR, 0);
    assert_int_equal(rd(&p, PL011_RIS), PL011_INT_RT);
    assert_int_equal(rd(&p, PL011_FR) & PL011_FR_RXFF, PL011_FR_RXFF);
}

/* ---- `vdev pl011` on the bus ---- */

#define BASE 0x09000000ull
#define SPI  33

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct dev_inst inst;
    pthread_mutex_t m;
    bool level;
    unsigned rises;
    char dir[64], in[96], out[96];
    int in_w, out_r;
};

static void fake_irq(void *opaque, uint32_t line, bool level)
{
    struct env *e = opaque;
    assert_int_equal(line, SPI);
    pthread_mutex_lock(&e->m);
    assert_true(level != e->level); /* only changes reach the line */
    e->level = level;
    e->rises += level;
    pthread_mutex_unlock(&e->m);
}

FAKE_IRQ(fake_irq)

/* the number of rising edges so far (the I/O thread adds to it) */
static unsigned rises(struct env *e)
{
    pthread_mutex_lock(&e->m);
    unsigned n = e->rises;
    pthread_mutex_unlock(&e->m);
    return n;
}

static bool line(struct env *e)
{
    pthread_mutex_lock(&e->m);
    bool l = e->level;
    pthread_mutex_unlock(&e->m);
    return l;
}

static uint32_t r32(struct env *e, uint32_t off)
{
    uint32_t v = 0;
    assert_int_equal(bus_access(&e->mmio, BASE + off, &v, 4, false), BUS_OK);
    return v;
}

static uint16_t r16(struct env *e, uint32_t off)
{
    uint16_t v = 0;
    assert_int_equal(bus_access(&e->mmio, BASE + off, &v, 2, false), BUS_OK);
    return v;
}

static void w16(struct env *e, uint32_t off, uint16_t v)
{
    assert_int_equal(bus_access(&e->mmio, BASE + off, &v, 2, true), BUS_OK);
}

static void w8(struct env *e, uint32_t off, uint8_t v)
{
    assert_int_equal(bus_access(&e->mmio, BASE + off, &v, 1, true), BUS_OK);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    fake_irq_reset();
    pthread_mutex_init(&e->m, NULL);
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = fake_irq_resolve,
                              .irq_isa = fake_irq_isa,
                              .opaque = e,
                              .ev = ev_new()};
    assert_non_null(e->ctx.ev);
    e->vd.has_loc = true;
    e->vd.loc = (struct loc){.space = SPACE_MEM, .base = BASE, .size = 0x1000};
    struct intr *i = VEC_PUSH(&e->vd.intrs);
    i->line = SPI;
    snprintf(e->dir, sizeof(e->dir), "/tmp/test_dev_pl011.XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->in, sizeof(e->in), "%s/in", e->dir);
    snprintf(e->out, sizeof(e->out), "%s/out", e->dir);
    assert_int_equal(mkfifo(e->in, 0600), 0);
    assert_int_equal(mkfifo(e->out, 0600), 0);
    e->in_w = e->out_r = -1;
    *state = e;
    return 0;
}

static void add_hostdev(struct env *e, enum hostdev_dir dir, const char *path)
{
    struct hostdev *h = VEC_PUSH(&e->vd.hostdevs);
    h->dir = dir;
    h->kind = HOSTDEV_PATH;
    h->path = strdup(path);
}

static void realize(struct env *e)
{
    assert_int_equal(pl011_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(e->inst.desc.role, DEV_ROLE_PL011);
    assert_int_equal(e->inst.desc.base, BASE);
    assert_int_equal(e->inst.desc.size, 0x1000);
    assert_int_equal(e->inst.desc.gsi, SPI);
}

static int teardown(void **state)
{
    struct env *e = *state;
    ev_stop(e->ctx.ev);
    if (e->inst.teardown)
        e->inst.teardown(e->inst.state);
    if (e->in_w >= 0)
        close(e->in_w);
    if (e->out_r >= 0)
        close(e->out_r);
    for (size_t i = 0; i < e->vd.hostdevs.n; i++)
        free(e->vd.hostdevs.v[i].path);
    VEC_FREE(&e->vd.hostdevs);
    VEC_FREE(&e->vd.intrs);
    unlink(e->in);
    unlink(e->out);
    rmdir(e->dir);
    ev_free(e->ctx.ev);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    pthread_mutex_destroy(&e->m);
    free(e);
    return 0;
}

/* The output pipe: our read end first, so the chardev's open succeeds. */
static void with_pipes(struct env *e)
{
    e->out_r = open(e->out, O_RDONLY | O_NONBLOCK);
    assert_true(e->out_r >= 0);
    add_hostdev(e, HOSTDEV_OUT, e->out);
    add_hostdev(e, HOSTDEV_IN, e->in);
    realize(e);
    e->in_w = open(e->in, O_WRONLY | O_NONBLOCK);
    assert_true(e->in_w >= 0);
    assert_int_equal(ev_start(e->ctx.ev), 0);
}

static size_t drain(struct env *e, char *buf, size_t len)
{
    size_t n = 0;
    ssize_t k;
    while (n < len && (k = read(e->out_r, buf + n, len - n)) > 0)
        n += (size_t)k;
    return n;
}

/*
 * What Linux does: the AMBA bus reads the CID and PID (32-bit reads from
 * the window's end), amba-pl011's probe and pl011_startup/hwinit
 * (ICR, IMSC, IFLS, CR), set_termios (IBRD, FBRD, LCR_H with FIFOs),
 * pl011_enable_interrupts (ICR, drain, IMSC RT|RX), then the console:
 * 8-bit DR writes between FR polls for TXFF, and BUSY after.
 */
static void test_linux_probe_and_console(void **state)
{
    struct env *e = *state;
    with_pipes(e);
    uint32_t pid = 0, cid = 0;
    for (unsigned i = 0; i < 4; i++) {
        pid |= (r32(e, 0xfe0 + 4 * i) & 0xff) << (8 * i);
        cid |= (r32(e, 0xff0 + 4 * i) & 0xff) << (8 * i);
    }
    assert_int_equal(cid, 0xb105f00d);
    assert_int_equal(pid & 0x000fffff, 0x00041011);
    /* hwinit */
    w16(e, PL011_ICR, 0x7ff);
    assert_int_equal(r16(e, PL011_IMSC), 0);
    /* startup */
    w16(e, PL011_IFLS, 0x12);
    w16(e, PL011_CR, 0x301);
    assert_int_equal(r16(e, PL011_FR) & 0x107, 0x7);
    /* set_termios: 115200 at 24 MHz, 8N1 with FIFOs */
    w16(e, PL011_IBRD, 13);
    w16(e, PL011_FBRD, 1);
    w16(e, PL011_LCR_H, 0x70);
    w16(e, PL011_CR, 0xb01);
    /* enable_interrupts */
    w16(e, PL011_ICR,
        PL011_INT_OE | PL011_INT_BE | PL011_INT_PE | PL011_INT_FE |
            PL011_INT_RT | PL011_INT_RX);
    while (!(r16(e, PL011_FR) & PL011_FR_RXFE))
        (void)r16(e, PL011_DR);
    w16(e, PL011_IMSC, PL011_INT_RT | PL011_INT_RX);
    assert_false(line(e));
    /* The console. */
    const char *msg = "Booting Linux on physical CPU 0x0\n";
    for (const char *c = msg; *c; c++) {
        while (r16(e, PL011_FR) & PL011_FR_TXFF)
            fail_msg("the transmit FIFO must not fill here");
        w8(e, PL011_DR, (uint8_t)*c);
    }
    assert_false(r16(e, PL011_FR) & PL011_FR_BUSY);
    char buf[64] = {0};
    assert_int_equal(drain(e, buf, sizeof(buf)), strlen(msg));
    assert_string_equal(buf, msg);
    assert_false(line(e));
    /* Host input: RT (a short burst), the line up; read by the ISR. */
    assert_int_equal(write(e->in_w, "ls\n", 3), 3);
    assert_true(ev_flush(e->ctx.ev));
    assert_true(line(e));
    uint16_t mis = r16(e, PL011_MIS);
    assert_int_equal(mis, PL011_INT_RT);
    w16(e, PL011_ICR, mis & ~(PL011_INT_RX | PL011_INT_RT | PL011_INT_TX));
    char got[4] = {0};
    for (int i = 0; !(r16(e, PL011_FR) & PL011_FR_RXFE); i++) {
        assert_true(i < 3);
        got[i] = (char)r16(e, PL011_DR);
    }
    assert_string_equal(got, "ls\n");
    assert_false(line(e));
    assert_int_equal(r16(e, PL011_MIS), 0);
    /* 32-bit access at the byte offset inside a register: upper bytes. */
    uint8_t b = 0;
    assert_int_equal(bus_access(&e->mmio, BASE + PL011_CR + 1, &b, 1, false),
                     BUS_OK);
    assert_int_equal(b, 0x0b);
}

/*
 * Host input through a FIFO: never more than the receive FIFO holds is
 * read (the rest waits in the host pipe); the RX interrupt at the level,
 * the timeout after the burst; reading makes room and more comes.
 */
static void test_input_backpressure(void **state)
{
    struct env *e = *state;
    with_pipes(e);
    w16(e, PL011_LCR_H, 0x70);
    w16(e, PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
    char in[40];
    for (int i = 0; i < 40; i++)
        in[i] = (char)('a' + i % 26);
    assert_int_equal(write(e->in_w, in, 40), 40);
    assert_true(ev_flush(e->ctx.ev));
    assert_true(line(e));
    assert_int_equal(r16(e, PL011_FR) & PL011_FR_RXFF, PL011_FR_RXFF);
    assert_int_equal(r16(e, PL011_RIS) & 0x50, PL011_INT_RX | PL011_INT_RT);
    /* 24 bytes are still in the host pipe. */
    char got[40];
    size_t n = 0;
    for (int round = 0; n < 40 && round < 40; round++) {
        while (!(r16(e, PL011_FR) & PL011_FR_RXFE))
            got[n++] = (char)r16(e, PL011_DR);
        assert_false(line(e));            /* empty: RX and RT cleared */
        assert_true(ev_flush(e->ctx.ev)); /* the event thread reads more */
    }
    assert_int_equal(n, 40);
    assert_memory_equal(got, in, 40);
}

/*
 * Guest output into a host pipe nobody reads: the chardev's buffer takes
 * what the pipe does not, then the transmit FIFO fills and FR.TXFF holds
 * the guest back (nothing lost). Draining the pipe empties the FIFO
 * through the event thread, and the TX interrupt comes when it passes the
 * IFLS level, as amba-pl011's interrupt-driven transmitter expects.
 */
static void test_output_flow_control(void **state)
{
    struct env *e = *state;
    with_pipes(e);
    assert_true(fcntl(e->out_r, F_SETPIPE_SZ, 4096) >= 4096);
    w16(e, PL011_LCR_H, 0x70);
    w16(e, PL011_IMSC, PL011_INT_TX);
    size_t sent = 0;
    enum { MAX = 1 << 20 };
    while (!(r16(e, PL011_FR) & PL011_FR_TXFF)) {
        w8(e, PL011_DR, (uint8_t)(sent * 7 + sent / 251));
        sent++;
        assert_true(sent < MAX);
    }
    assert_true(sent > 65536); /* the chardev's 64 KiB buffer, then ours */
    assert_int_equal(r16(e, PL011_FR) & 0xa8, PL011_FR_TXFF | PL011_FR_BUSY);
    w8(e, PL011_DR, 0xee); /* to a full FIFO: lost, as on the hardware */
    assert_false(line(e));
    unsigned rises0 = rises(e);
    char *buf = malloc(MAX);
    size_t got = 0;
    for (int round = 0; got < sent && round < 10000; round++) {
        got += drain(e, buf + got, MAX - got);
        assert_true(ev_flush(e->ctx.ev));
    }
    assert_int_equal(got, sent);
    for (size_t i = 0; i < sent; i++)
        if ((uint8_t)buf[i] != (uint8_t)(i * 7 + i / 251))
            fail_msg("byte %zu differs", i);
    free(buf);
    assert_true(line(e));
    assert_int_equal(rises(e), rises0 + 1);
    assert_int_equal(r16(e, PL011_MIS), PL011_INT_TX);
    assert_int_equal(r16(e, PL011_FR) & 0xa8, PL011_FR_TXFE);
    w16(e, PL011_ICR, PL011_INT_TX);
    assert_false(line(e));
}

/* No hostdev: output is discarded, the guest never waits. */
static void test_disconnected(void **state)
{
    struct env *e = *state;
    realize(e);
    w16(e, PL011_LCR_H, 0x70);
    for (int i = 0; i < 100000; i++)
        w8(e, PL011_DR, 'x');
    assert_int_equal(r16(e, PL011_FR) & 0xb8, PL011_FR_TXFE | PL011_FR_RXFE);
    char rep[160];
    e->inst.report(e->inst.state, rep, sizeof(rep));
    assert_non_null(strstr(rep, "lcr_h 0x70"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_and_ids),
        cmocka_unit_test(test_rx_fifo_levels),
        cmocka_unit_test(test_tx_interrupt_transition),
        cmocka_unit_test(test_loopback_overrun_modem),
        cmocka_unit_test(test_mask_and_clear),
        cmocka_unit_test_setup_teardown(test_linux_probe_and_console, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_input_backpressure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_output_flow_control, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disconnected, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_dev_uart.c: the 16550A register model (src/devices/ser8250.c)
 * through the port-I/O bus: reset values, Linux's autoconfig probes, IIR
 * priorities and the interrupt line, FIFO trigger levels and the character
 * timeout, overrun, loopback and MSR deltas, and the file backends (input
 * read only as the guest drains it; output flushed at teardown).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_irq.h"
#include "config/schema.h"
#include "devices/device.h"

#define COM 0x3f8

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct dev_inst inst;
    bool level;
    unsigned edges, rises;
    char dir[64];
};

static void fake_irq(void *opaque, uint32_t gsi, bool level)
{
    struct env *e = opaque;
    assert_int_equal(gsi, 4);
    assert_true(level != e->level); /* only changes reach the line */
    e->level = level;
    e->edges++;
    e->rises += level;
}

FAKE_IRQ(fake_irq)

static void fake_stop(void *opaque, enum vm_stop why)
{
    (void)opaque, (void)why;
    fail_msg("the UART must never stop the VM");
}

static uint8_t in(struct env *e, unsigned reg)
{
    uint8_t v = 0;
    bus_access(&e->pio, COM + reg, &v, 1, false);
    return v;
}

static void out(struct env *e, unsigned reg, uint8_t v)
{
    bus_access(&e->pio, COM + reg, &v, 1, true);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    fake_irq_reset();
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    /* An event loop that never runs: the batch timer only arms. */
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = fake_irq_resolve,
                              .irq_isa = fake_irq_isa,
                              .stop = fake_stop,
                              .opaque = e,
                              .ev = ev_new()};
    assert_non_null(e->ctx.ev);
    struct intr *i = VEC_PUSH(&e->vd.intrs);
    i->line = 4;
    snprintf(e->dir, sizeof(e->dir), "/tmp/test_dev_uart.XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    *state = e;
    return 0;
}

static void add_hostdev(struct env *e, enum hostdev_dir dir, const char *name)
{
    struct hostdev *h = VEC_PUSH(&e->vd.hostdevs);
    h->dir = dir;
    h->kind = HOSTDEV_PATH;
    h->path = malloc(128);
    snprintf(h->path, 128, "%s/%s", e->dir, name);
}

static void realize(struct env *e)
{
    assert_int_equal(ser8250_realize(&e->vd, &e->ctx, &e->inst), 0);
}

static void unrealize(struct env *e)
{
    if (e->inst.teardown)
        e->inst.teardown(e->inst.state);
    e->inst.teardown = NULL;
}

static int teardown(void **state)
{
    struct env *e = *state;
    unrealize(e);
    for (size_t i = 0; i < e->vd.hostdevs.n; i++) {
        unlink(e->vd.hostdevs.v[i].path);
        free(e->vd.hostdevs.v[i].path);
    }
    VEC_FREE(&e->vd.hostdevs);
    VEC_FREE(&e->vd.intrs);
    rmdir(e->dir);
    ev_free(e->ctx.ev);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    free(e);
    return 0;
}

static void test_reset_and_probe(void **state)
{
    struct env *e = *state;
    realize(e);
    assert_int_equal(in(e, 1), 0x00); /* IER */
    assert_int_equal(in(e, 2), 0x01); /* IIR: nothing, FIFOs off */
    assert_int_equal(in(e, 3), 0x03);
    assert_int_equal(in(e, 5), 0x60); /* THRE|TEMT */
    assert_int_equal(in(e, 6) & 0xf0, 0xb0);
    /* Linux autoconfig: IER reads back, DLAB divisor, FIFO bits. */
    out(e, 1, 0x0f);
    assert_int_equal(in(e, 1), 0x0f);
    out(e, 1, 0);
    assert_int_equal(in(e, 1), 0);
    out(e, 3, 0x80);
    out(e, 0, 0x34);
    out(e, 1, 0x12);
    assert_int_equal(in(e, 0), 0x34);
    assert_int_equal(in(e, 1), 0x12);
    out(e, 3, 0x03);
    assert_int_equal(in(e, 1), 0); /* IER untouched by DLM */
    out(e, 2, 0xc7);
    assert_int_equal(in(e, 2) & 0xc0, 0xc0);
    out(e, 7, 0xa5);
    assert_int_equal(in(e, 7), 0xa5);
    assert_false(e->level);
}

static void test_thre_interrupt(void **state)
{
    struct env *e = *state;
    realize(e);
    out(e, 1, 0x02); /* ETBEI with THR empty: pending at once */
    assert_true(e->level);
    assert_int_equal(in(e, 2), 0x02);
    assert_false(e->level); /* reading IIR cleared it */
    assert_int_equal(in(e, 2), 0x01);
    /* Linux's UART_BUG_THRE test: IER 0 then ETBEI again re-raises. */
    out(e, 1, 0);
    out(e, 1, 0x02);
    assert_int_equal(in(e, 2), 0x02);
    out(e, 0, 'x'); /* no sink: discarded, THR empty again */
    assert_true(e->level);
    out(e, 1, 0);
    assert_false(e->level);
}

/*
 * The interrupt line as Linux's 8250 driver drives it on an edge-triggered
 * ISA IRQ (IOAPIC or 8259): every new interrupt condition after the line
 * went low must raise it again (a new edge), and nothing may leave it high
 * once the driver has seen IIR "no interrupt". Mirrors serial8250_do_startup
 * (THRE and TXEN tests), start_tx/stop_tx, the interrupt handler's IIR loop
 * (16 bytes per THRE) and serial8250_console_write's IER save/clear/restore.
 */
static void test_linux_thre_edges(void **state)
{
    struct env *e = *state;
    realize(e);
    out(e, 2, 0xc7); /* FIFOs on, as set_termios leaves them */
    /* Startup: the THRE re-assert test must not find UART_BUG_THRE. */
    out(e, 1, 0x02);
    assert_int_equal(e->rises, 1);
    assert_int_equal(in(e, 2), 0xc2); /* iir1 */
    assert_false(e->level);
    out(e, 1, 0);
    out(e, 1, 0x02);
    assert_int_equal(e->rises, 2);
    assert_int_equal(in(e, 2), 0xc2); /* re-asserted: no backup timer */
    out(e, 1, 0);
    /* The TXEN test: ETBEI with TEMT set must report THRE in IIR. */
    out(e, 1, 0x02);
    assert_int_equal(in(e, 5) & 0x40, 0x40);
    assert_int_equal(in(e, 2), 0xc2);
    out(e, 1, 0);
    assert_false(e->level);
    unsigned r = e->rises;
    out(e, 1, 0x05); /* up->ier = RLSI | RDI */
    assert_false(e->level);
    for (int burst = 0; burst < 3; burst++) {
        out(e, 1, 0x07); /* start_tx: THRI on, THR empty: a new edge */
        assert_true(e->level);
        assert_int_equal(e->rises, ++r);
        for (int chunk = 0; chunk < 4; chunk++) {
            assert_int_equal(in(e, 2), 0xc2); /* handler: THRE */
            assert_false(e->level);
            for (int i = 0; i < 16; i++)
                out(e, 0, 'a');
            assert_true(e->level); /* FIFO emptied again: one edge */
            assert_int_equal(e->rises, ++r);
            if (chunk == 1) {
                /* printk in the middle: console_write with IER 0. */
                assert_int_equal(in(e, 1), 0x07);
                out(e, 1, 0);
                assert_false(e->level);
                for (int i = 0; i < 40; i++)
                    out(e, 0, 'k');
                assert_false(e->level);
                out(e, 1, 0x07); /* restore: THR empty, a new edge */
                assert_true(e->level);
                assert_int_equal(e->rises, ++r);
            }
        }
        assert_int_equal(in(e, 2), 0xc2);
        out(e, 0, '\n'); /* the last byte: THRE again, one more edge */
        assert_int_equal(e->rises, ++r);
        out(e, 1, 0x05); /* circ buffer empty: stop_tx */
        assert_false(e->level);
        assert_int_equal(in(e, 2), 0xc1); /* the handler loop ends */
        assert_int_equal(e->rises, r);
    }
    /* A console write while idle (THRI off) raises nothing. */
    out(e, 1, 0);
    out(e, 0, 'k');
    out(e, 1, 0x05);
    assert_false(e->level);
    assert_int_equal(e->rises, r);
}

static void test_fifo_trigger_and_timeout(void **state)
{
    struct env *e = *state;
    realize(e);
    out(e, 4, 0x10); /* loopback */
    out(e, 2, 0x41); /* FIFOs, trigger level 4 */
    out(e, 1, 0x01); /* ERBFI */
    assert_false(e->level);
    out(e, 0, 'a');
    out(e, 0, 'b');
    assert_true(e->level);
    assert_int_equal(in(e, 2), 0xcc); /* below the trigger: timeout */
    out(e, 0, 'c');
    out(e, 0, 'd');
    assert_int_equal(in(e, 2), 0xc4); /* trigger level reached */
    assert_int_equal(in(e, 5) & 1, 1);
    assert_int_equal(in(e, 0), 'a');
    assert_int_equal(in(e, 0), 'b');
    assert_int_equal(in(e, 0), 'c');
    assert_int_equal(in(e, 0), 'd');
    assert_int_equal(in(e, 5) & 1, 0);
    assert_int_equal(in(e, 2), 0xc1);
    assert_false(e->level);
    out(e, 0, 'e');
    out(e, 2, 0x43); /* RX FIFO reset */
    assert_int_equal(in(e, 5) & 1, 0);
    assert_false(e->level);
}

static void test_overrun_and_priority(void **state)
{
    struct env *e = *state;
    realize(e);
    out(e, 4, 0x10);
    out(e, 2, 0x01); /* 16-byte FIFO, trigger 1 */
    out(e, 1, 0x07); /* RX, THRE, line status */
    for (int i = 0; i < 17; i++)
        out(e, 0, (uint8_t)('A' + i));
    assert_int_equal(in(e, 2), 0xc6); /* line status first */
    uint8_t lsr = in(e, 5);
    assert_int_equal(lsr & 0x63, 0x63); /* DR OE THRE TEMT */
    assert_int_equal(in(e, 5) & 2, 0);  /* OE clears on read */
    assert_int_equal(in(e, 2), 0xc4);   /* then received data */
    for (int i = 0; i < 16; i++)
        assert_int_equal(in(e, 0), 'A' + i);
    assert_int_equal(in(e, 2), 0xc2); /* then THRE */
    assert_int_equal(in(e, 2), 0xc1);
    /* FIFOs off: one holding register. */
    out(e, 2, 0x00);
    out(e, 0, '1');
    out(e, 0, '2');
    assert_int_equal(in(e, 5) & 3, 3);
    assert_int_equal(in(e, 0), '1');
}

static void test_loopback_msr(void **state)
{
    struct env *e = *state;
    realize(e);
    out(e, 4, 0x10);
    (void)in(e, 6); /* clear the deltas of entering loopback */
    assert_int_equal(in(e, 6), 0x00);
    out(e, 1, 0x08); /* modem status interrupt */
    out(e, 4, 0x1f); /* DTR RTS OUT1 OUT2 */
    assert_true(e->level);
    assert_int_equal(in(e, 2), 0x00);
    assert_int_equal(in(e, 6), 0xfb); /* CTS DSR RI DCD + DCTS DDSR DDCD */
    assert_false(e->level);
    out(e, 4, 0x1b); /* OUT1 off: RI trailing edge */
    assert_int_equal(in(e, 6), 0xb4);
    out(e, 4, 0x00); /* loopback off: the host end (CTS DSR DCD) */
    assert_int_equal(in(e, 6) & 0xf0, 0xb0);
}

static void test_file_backends(void **state)
{
    struct env *e = *state;
    char in_path[128], out_path[128];
    snprintf(in_path, sizeof(in_path), "%s/in", e->dir);
    snprintf(out_path, sizeof(out_path), "%s/out", e->dir);
    FILE *f = fopen(in_path, "w");
    assert_non_null(f);
    fputs("0123456789abcdefXYZ", f);
    fclose(f);
    add_hostdev(e, HOSTDEV_IN, "in");
    add_hostdev(e, HOSTDEV_OUT, "out");
    realize(e);
    /* FIFOs off: one byte buffered, the rest stays in the file. */
    assert_int_equal(in(e, 5) & 1, 1);
    out(e, 2, 0x01);
    char got[32] = {0};
    int n = 0;
    while (in(e, 5) & 1 && n < 31)
        got[n++] = (char)in(e, 0);
    assert_string_equal(got, "0123456789abcdefXYZ");
    for (const char *p = "out put"; *p; p++)
        out(e, 0, (uint8_t)*p);
    unrealize(e); /* flushes */
    f = fopen(out_path, "r");
    assert_non_null(f);
    char buf[32] = {0};
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "out put");
    unlink(in_path);
}

static void test_batch_flushes_at_teardown(void **state)
{
    struct env *e = *state;
    static const struct opt_def batch_def = {.name = "batch"};
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    o->def = &batch_def;
    o->num = 10 * 1000 * 1000; /* 10 s: only teardown flushes */
    add_hostdev(e, HOSTDEV_OUT, "out");
    realize(e);
    for (const char *p = "batched"; *p; p++)
        out(e, 0, (uint8_t)*p);
    unrealize(e);
    VEC_FREE(&e->vd.opts);
    char path[128], buf[32] = {0};
    snprintf(path, sizeof(path), "%s/out", e->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "batched");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_and_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linux_thre_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_trigger_and_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_overrun_and_priority, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_loopback_msr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_backends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_flushes_at_teardown, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

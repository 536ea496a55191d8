/*
 * test_x86_pic.c: the 8259A pair model (src/arch/x86/pic.c) through its
 * ports as a guest programs them: Linux's probe and init sequence (and a
 * QNX-style id/EOI callout pair), masks, priorities across the cascade,
 * every EOI form, auto-EOI, rotation, OCW3 register reads, poll mode,
 * special mask and special fully nested mode, ELCR and LTIM level inputs,
 * edge latches, spurious IRQ 7 and 15, and the exact sequence of the
 * master's INT output changes (ops->intr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/pic.h"

#define MAXEV 64

struct env {
    struct pic *p;
    bool ev[MAXEV]; /* the intr calls, in order */
    unsigned n;
};

static void rec_intr(void *opaque, bool level)
{
    struct env *e = opaque;
    assert_true(e->n < MAXEV);
    /* Only changes are reported. */
    if (e->n)
        assert_true(e->ev[e->n - 1] != level);
    else
        assert_true(level);
    e->ev[e->n++] = level;
}

static const struct pic_ops ops = {rec_intr};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->p = pic_new(&ops, e);
    assert_non_null(e->p);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    pic_free(e->p);
    free(e);
    return 0;
}

/* The PC's ports. */
static void out(struct env *e, uint16_t port, uint8_t v)
{
    switch (port) {
    case 0x20:
    case 0x21:
        pic_write(e->p, 0, port & 1, v);
        break;
    case 0xa0:
    case 0xa1:
        pic_write(e->p, 1, port & 1, v);
        break;
    case 0x4d0:
    case 0x4d1:
        pic_elcr_write(e->p, port & 1, v);
        break;
    default:
        fail_msg("port %#x", port);
    }
}

static uint8_t in(struct env *e, uint16_t port)
{
    switch (port) {
    case 0x20:
    case 0x21:
        return pic_read(e->p, 0, port & 1);
    case 0xa0:
    case 0xa1:
        return pic_read(e->p, 1, port & 1);
    case 0x4d0:
    case 0x4d1:
        return pic_elcr_read(e->p, port & 1);
    default:
        fail_msg("port %#x", port);
    }
    return 0;
}

static uint8_t isr(struct env *e, uint16_t cmd)
{
    out(e, cmd, 0x0b);
    uint8_t v = in(e, cmd);
    out(e, cmd, 0x0a);
    return v;
}

static uint8_t irr(struct env *e, uint16_t cmd)
{
    out(e, cmd, 0x0a);
    return in(e, cmd);
}

/* Linux's init_8259A: everything masked, ICW1-ICW4 on both, masks
 * restored. */
static void init_linux(struct env *e, uint8_t base, bool aeoi, uint8_t mmask,
                       uint8_t smask)
{
    out(e, 0x21, 0xff);
    out(e, 0x20, 0x11);
    out(e, 0x21, base);
    out(e, 0x21, 0x04);
    out(e, 0x21, aeoi ? 0x03 : 0x01);
    out(e, 0xa0, 0x11);
    out(e, 0xa1, base + 8);
    out(e, 0xa1, 0x02);
    out(e, 0xa1, 0x01);
    out(e, 0x21, mmask);
    out(e, 0xa1, smask);
}

static void pulse(struct env *e, unsigned irq)
{
    pic_set_irq(e->p, irq, true);
    pic_set_irq(e->p, irq, false);
}

/* Linux's mask_and_ack_8259A (specific EOIs) without the mask. */
static void eoi_linux(struct env *e, unsigned irq)
{
    if (irq & 8) {
        out(e, 0xa0, 0x60 + (irq & 7));
        out(e, 0x20, 0x62);
    } else {
        out(e, 0x20, 0x60 + irq);
    }
}

static void test_reset_state(void **state)
{
    struct env *e = *state;
    assert_false(pic_output(e->p));
    assert_int_equal(in(e, 0x21), 0);
    assert_int_equal(in(e, 0xa1), 0);
    assert_int_equal(in(e, 0x4d0), 0);
    assert_int_equal(in(e, 0x4d1), 0);
    /* IRQ 2 is the cascade, not an input; 16 and up do not exist. */
    pic_set_irq(e->p, 2, true);
    pic_set_irq(e->p, 16, true);
    pic_set_irq(e->p, 0xffffffff, true);
    assert_false(pic_output(e->p));
    assert_int_equal(e->n, 0);
    assert_int_equal(pic_read(e->p, 2, 0), 0xff);
    assert_int_equal(pic_read(e->p, 0, 2), 0xff);
    assert_int_equal(pic_elcr_read(e->p, 2), 0xff);
    pic_write(e->p, 2, 1, 0);
    pic_elcr_write(e->p, 2, 0xff);
    assert_int_equal(e->n, 0);
}

static void test_linux_probe_and_init(void **state)
{
    struct env *e = *state;
    /* probe_8259A: mask both, write the probe value, read it back. */
    out(e, 0x21, 0xff);
    out(e, 0xa1, 0xff);
    out(e, 0x21, 0xfb);
    assert_int_equal(in(e, 0x21), 0xfb);
    assert_int_equal(in(e, 0xa1), 0xff);
    init_linux(e, 0x30, false, 0xfb, 0xff);
    assert_int_equal(in(e, 0x21), 0xfb);
    assert_int_equal(in(e, 0xa1), 0xff);
    assert_int_equal(e->n, 0);
    /* Unmask IRQ 1 and IRQ 9: vectors 0x31 and 0x39. */
    out(e, 0x21, 0xf9);
    out(e, 0xa1, 0xfd);
    pulse(e, 1);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x31);
    assert_false(pic_output(e->p));
    eoi_linux(e, 1);
    pulse(e, 9);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x39);
    assert_int_equal(isr(e, 0x20), 0x04);
    assert_int_equal(isr(e, 0xa0), 0x02);
    eoi_linux(e, 9);
    assert_int_equal(isr(e, 0x20), 0);
    assert_int_equal(isr(e, 0xa0), 0);
    /* The classic bases 0x20/0x28 too (and ICW2's low bits are ignored). */
    init_linux(e, 0x20, false, 0xef, 0xf7);
    out(e, 0x21, 0xeb);
    pulse(e, 4);
    assert_int_equal(pic_intack(e->p), 0x24);
    eoi_linux(e, 4);
    pulse(e, 11);
    assert_int_equal(pic_intack(e->p), 0x2b);
    eoi_linux(e, 11);
    out(e, 0x20, 0x11);
    out(e, 0x21, 0x47);
    out(e, 0x21, 0x04);
    out(e, 0x21, 0x01);
    pulse(e, 0);
    assert_int_equal(pic_intack(e->p), 0x40);
}

static void test_no_int_during_init(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    /* ICW1 clears IMR; until ICW4 nothing is signalled... */
    out(e, 0x20, 0x11);
    out(e, 0x21, 0x30);
    pulse(e, 3);
    assert_false(pic_output(e->p));
    out(e, 0x21, 0x04);
    assert_false(pic_output(e->p));
    /* ...and a request latched meanwhile comes out after it. */
    out(e, 0x21, 0x01);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x33);
    /* Single mode without ICW4: ICW2 ends the sequence. */
    out(e, 0xa0, 0x12);
    out(e, 0xa1, 0x70);
    assert_int_equal(in(e, 0xa1), 0x00); /* ICW1 cleared the IMR */
    out(e, 0xa1, 0x5a);
    assert_int_equal(in(e, 0xa1), 0x5a);
}

static void test_icw1_resets(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    out(e, 0x4d0, 0x20); /* IRQ 5 level */
    pic_set_irq(e->p, 5, true);
    pulse(e, 6);
    assert_int_equal(pic_intack(e->p), 0x35);
    out(e, 0x20, 0x0b); /* read ISR */
    out(e, 0x21, 0x10);
    /* ICW1: ISR, IMR and the edge latches cleared, IRR read selected;
     * the level input still requests. */
    out(e, 0x20, 0x11);
    out(e, 0x21, 0x30);
    out(e, 0x21, 0x04);
    out(e, 0x21, 0x01);
    assert_int_equal(in(e, 0x21), 0);
    assert_int_equal(in(e, 0x20), 0x20); /* IRR: IRQ 5 only */
    assert_int_equal(isr(e, 0x20), 0);
    assert_int_equal(pic_intack(e->p), 0x35);
    eoi_linux(e, 5);
    pic_set_irq(e->p, 5, false);
    assert_false(pic_output(e->p));
}

static void test_imr(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0xff, 0xff);
    pulse(e, 4);
    /* Masked: latched in IRR, no INT. */
    assert_false(pic_output(e->p));
    assert_int_equal(irr(e, 0x20), 0x10);
    assert_int_equal(e->n, 0);
    out(e, 0x21, 0xef);
    assert_true(pic_output(e->p));
    /* Masking again takes INT down. */
    out(e, 0x21, 0xff);
    assert_false(pic_output(e->p));
    out(e, 0x21, 0xef);
    assert_int_equal(pic_intack(e->p), 0x34);
    assert_int_equal(irr(e, 0x20), 0);
    /* A masked slave IRQ does not reach the master. */
    pulse(e, 12);
    out(e, 0x21, 0xeb);
    assert_int_equal(irr(e, 0xa0), 0x10);
    assert_int_equal(irr(e, 0x20), 0x00);
    assert_false(pic_output(e->p));
    out(e, 0xa1, 0xef);
    assert_int_equal(irr(e, 0x20), 0x04);
    assert_true(pic_output(e->p));
    bool want[] = {true, false, true, false, true};
    assert_int_equal(e->n, 5);
    assert_memory_equal(e->ev, want, sizeof(want));
}

static void test_cascade_priority(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    /* IRQ 8-15 rank between IRQ 1 and IRQ 3. */
    pulse(e, 3);
    pulse(e, 9);
    assert_int_equal(pic_intack(e->p), 0x39);
    /* IRQ 3 waits for the cascade's EOI. */
    assert_false(pic_output(e->p));
    /* IRQ 0 nests above the slave. */
    pulse(e, 0);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x30);
    assert_int_equal(isr(e, 0x20), 0x05);
    eoi_linux(e, 0);
    assert_false(pic_output(e->p));
    /* A slave IRQ of higher priority than the one in service on the slave
     * is still held by the master's cascade in service (fully nested). */
    pulse(e, 8);
    assert_false(pic_output(e->p));
    out(e, 0xa0, 0x61); /* slave EOI for IRQ 9 */
    assert_false(pic_output(e->p));
    out(e, 0x20, 0x62); /* master EOI for the cascade */
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x38);
    eoi_linux(e, 8);
    assert_int_equal(pic_intack(e->p), 0x33);
    eoi_linux(e, 3);
    assert_false(pic_output(e->p));
    /* IRQ 1 beats the slave, IRQ 15 beats IRQ 3. */
    pulse(e, 3);
    pulse(e, 15);
    pulse(e, 1);
    assert_int_equal(pic_intack(e->p), 0x31);
    eoi_linux(e, 1);
    assert_int_equal(pic_intack(e->p), 0x3f);
    eoi_linux(e, 15);
    assert_int_equal(pic_intack(e->p), 0x33);
    eoi_linux(e, 3);
    assert_false(pic_output(e->p));
}

static void test_slave_two_pending(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    pulse(e, 10);
    pulse(e, 14);
    assert_int_equal(pic_intack(e->p), 0x3a);
    eoi_linux(e, 10);
    /* The slave's INT rises again for IRQ 14: a new request on IR2. */
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x3e);
    eoi_linux(e, 14);
    assert_false(pic_output(e->p));
    /* Auto-EOI slave: its INT stays high across the INTA; the master
     * still sees the second request. */
    out(e, 0xa0, 0x11);
    out(e, 0xa1, 0x38);
    out(e, 0xa1, 0x02);
    out(e, 0xa1, 0x03);
    pulse(e, 10);
    pulse(e, 14);
    assert_int_equal(pic_intack(e->p), 0x3a);
    out(e, 0x20, 0x62);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x3e);
    out(e, 0x20, 0x62);
    assert_false(pic_output(e->p));
    assert_int_equal(isr(e, 0xa0), 0);
}

static void test_eoi_forms(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    pulse(e, 5);
    assert_int_equal(pic_intack(e->p), 0x35);
    pulse(e, 3);
    assert_int_equal(pic_intack(e->p), 0x33);
    pulse(e, 1);
    assert_int_equal(pic_intack(e->p), 0x31);
    assert_int_equal(isr(e, 0x20), 0x2a);
    /* Non-specific EOI: the highest priority in service (IRQ 1). */
    out(e, 0x20, 0x20);
    assert_int_equal(isr(e, 0x20), 0x28);
    /* Specific EOI of a lower one (IRQ 5) leaves IRQ 3. */
    out(e, 0x20, 0x65);
    assert_int_equal(isr(e, 0x20), 0x08);
    /* A specific EOI of a level not in service changes nothing. */
    out(e, 0x20, 0x66);
    assert_int_equal(isr(e, 0x20), 0x08);
    /* The no-op command. */
    out(e, 0x20, 0x40);
    assert_int_equal(isr(e, 0x20), 0x08);
    out(e, 0x20, 0x20);
    assert_int_equal(isr(e, 0x20), 0x00);
    /* A non-specific EOI with nothing in service is harmless. */
    out(e, 0x20, 0x20);
    assert_int_equal(isr(e, 0x20), 0x00);
    assert_false(pic_output(e->p));
}

static void test_auto_eoi(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, true, 0x00, 0xff);
    pulse(e, 1);
    pulse(e, 6);
    assert_int_equal(pic_intack(e->p), 0x31);
    /* Nothing in service: IRQ 6 is signalled at once. */
    assert_int_equal(isr(e, 0x20), 0);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x36);
    assert_false(pic_output(e->p));
    /* Priorities do not rotate without "rotate in auto-EOI". */
    pulse(e, 6);
    pulse(e, 1);
    assert_int_equal(pic_intack(e->p), 0x31);
    assert_int_equal(pic_intack(e->p), 0x36);
    /* Rotate in auto-EOI (0x80): the IRQ served becomes the lowest. */
    out(e, 0x20, 0x80);
    pulse(e, 1);
    assert_int_equal(pic_intack(e->p), 0x31);
    pulse(e, 1);
    pulse(e, 6);
    assert_int_equal(pic_intack(e->p), 0x36);
    assert_int_equal(pic_intack(e->p), 0x31);
    /* Cleared again (0x00): no more rotation (IR2 is the highest now). */
    out(e, 0x20, 0x00);
    pulse(e, 1);
    pulse(e, 3);
    assert_int_equal(pic_intack(e->p), 0x33);
    pulse(e, 3);
    assert_int_equal(pic_intack(e->p), 0x33);
    assert_int_equal(pic_intack(e->p), 0x31);
}

static void test_rotation(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0xff);
    /* Rotate on non-specific EOI: IRQ 0 becomes the lowest. */
    pulse(e, 0);
    assert_int_equal(pic_intack(e->p), 0x30);
    out(e, 0x20, 0xa0);
    pulse(e, 0);
    pulse(e, 5);
    assert_int_equal(pic_intack(e->p), 0x35);
    /* IRQ 0 (lowest) does not nest into IRQ 5. */
    assert_false(pic_output(e->p));
    out(e, 0x20, 0xa0); /* IRQ 5 now the lowest: IRQ 6 highest */
    pulse(e, 7);
    pulse(e, 6);
    assert_int_equal(pic_intack(e->p), 0x36);
    out(e, 0x20, 0x20);
    assert_int_equal(pic_intack(e->p), 0x37);
    out(e, 0x20, 0x20);
    assert_int_equal(pic_intack(e->p), 0x30);
    out(e, 0x20, 0x20);
    assert_false(pic_output(e->p));
    /* Set priority: IRQ 4 lowest, so IRQ 5 highest. */
    out(e, 0x20, 0xc4);
    pulse(e, 4);
    pulse(e, 3);
    pulse(e, 6);
    pulse(e, 5);
    assert_int_equal(pic_intack(e->p), 0x35);
    out(e, 0x20, 0x20);
    assert_int_equal(pic_intack(e->p), 0x36);
    out(e, 0x20, 0x20);
    assert_int_equal(pic_intack(e->p), 0x33);
    assert_false(pic_output(e->p)); /* IRQ 4, the lowest, waits */
    /* Rotate on specific EOI: IRQ 3 out of service and lowest. */
    out(e, 0x20, 0xe3);
    assert_int_equal(isr(e, 0x20), 0);
    pulse(e, 3);
    assert_int_equal(pic_intack(e->p), 0x34);
    out(e, 0x20, 0x20);
    assert_int_equal(pic_intack(e->p), 0x33);
    out(e, 0x20, 0x20);
    assert_false(pic_output(e->p));
}

static void test_ocw3_reads(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0xfe, 0xff);
    pulse(e, 0);
    pulse(e, 3);                         /* masked: IRR only */
    assert_int_equal(in(e, 0x20), 0x09); /* IRR after ICW1 */
    assert_int_equal(pic_intack(e->p), 0x30);
    out(e, 0x20, 0x0b);
    assert_int_equal(in(e, 0x20), 0x01);
    assert_int_equal(in(e, 0x20), 0x01); /* the selection persists */
    assert_int_equal(in(e, 0x21), 0xfe); /* the data port is the IMR */
    out(e, 0x20, 0x08); /* OCW3 without RR: selection unchanged */
    assert_int_equal(in(e, 0x20), 0x01);
    out(e, 0x20, 0x0a);
    assert_int_equal(in(e, 0x20), 0x08);
    /* OCW2/EOI does not change the selection. */
    out(e, 0x20, 0x0b);
    out(e, 0x20, 0x20);
    assert_int_equal(in(e, 0x20), 0x00);
    /* The slave has its own. */
    assert_int_equal(in(e, 0xa0), 0x00);
    pulse(e, 13);
    assert_int_equal(in(e, 0xa0), 0x20);
}

static void test_poll(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    /* Nothing pending: the poll byte has bit 7 clear. */
    out(e, 0x20, 0x0c);
    assert_int_equal(in(e, 0x20), 0x00);
    pulse(e, 6);
    pulse(e, 4);
    assert_true(pic_output(e->p));
    /* The poll read acknowledges the highest request. */
    out(e, 0x20, 0x0c);
    assert_int_equal(in(e, 0x20), 0x84);
    assert_int_equal(isr(e, 0x20), 0x10);
    assert_false(pic_output(e->p)); /* IRQ 6 is below IRQ 4 */
    /* The poll command lasts one read: the next one is IRR. */
    assert_int_equal(in(e, 0x20), 0x40);
    out(e, 0x20, 0x20);
    /* A poll read through the data port too. */
    out(e, 0x20, 0x0c);
    assert_int_equal(in(e, 0x21), 0x86);
    assert_int_equal(in(e, 0x21), 0x00); /* IMR again */
    out(e, 0x20, 0x20);
    /* A slave IRQ: the master says IR2, the slave's poll says which. */
    pulse(e, 12);
    out(e, 0x20, 0x0c);
    assert_int_equal(in(e, 0x20), 0x82);
    out(e, 0xa0, 0x0c);
    assert_int_equal(in(e, 0xa0), 0x84);
    assert_int_equal(isr(e, 0xa0), 0x10);
    eoi_linux(e, 12);
    assert_false(pic_output(e->p));
    /* Masked IRs are not polled. */
    out(e, 0x21, 0xff);
    pulse(e, 5);
    out(e, 0x20, 0x0c);
    assert_int_equal(in(e, 0x20), 0x00);
}

static void test_special_mask_mode(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0xff);
    pulse(e, 3);
    assert_int_equal(pic_intack(e->p), 0x33);
    pulse(e, 5);
    /* Fully nested: IRQ 5 waits behind IRQ 3 in service. */
    assert_false(pic_output(e->p));
    /* Mask IRQ 3 alone: still blocked. */
    out(e, 0x21, 0x08);
    assert_false(pic_output(e->p));
    /* Special mask mode: IRQ 3 masked no longer blocks lower levels. */
    out(e, 0x20, 0x68);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x35);
    assert_int_equal(isr(e, 0x20), 0x28);
    out(e, 0x20, 0x65);
    /* And a lower level still waits behind an unmasked one in service. */
    pulse(e, 7);
    assert_true(pic_output(e->p));
    pulse(e, 4);
    assert_int_equal(pic_intack(e->p), 0x34);
    assert_false(pic_output(e->p));
    out(e, 0x20, 0x64);
    assert_int_equal(pic_intack(e->p), 0x37);
    out(e, 0x20, 0x67);
    /* Leaving special mask mode (0x48) restores the nesting. */
    out(e, 0x20, 0x48);
    pulse(e, 6);
    assert_false(pic_output(e->p));
    /* OCW3 with ESMM clear leaves the mode alone. */
    out(e, 0x20, 0x68);
    out(e, 0x20, 0x28);
    assert_true(pic_output(e->p));
}

static void test_special_fully_nested(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    /* Master ICW4 with SFNM (0x11). */
    out(e, 0x20, 0x11);
    out(e, 0x21, 0x30);
    out(e, 0x21, 0x04);
    out(e, 0x21, 0x11);
    pulse(e, 9);
    assert_int_equal(pic_intack(e->p), 0x39);
    /* A higher slave IRQ passes the cascade in service. */
    pulse(e, 8);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x38);
    /* A lower one does not (the slave's own ISR holds it). */
    pulse(e, 11);
    assert_false(pic_output(e->p));
}

static void test_elcr_and_level(void **state)
{
    struct env *e = *state;
    /* IRQ 0, 1, 2, 8 and 13 are always edge. */
    out(e, 0x4d0, 0xff);
    out(e, 0x4d1, 0xff);
    assert_int_equal(in(e, 0x4d0), 0xf8);
    assert_int_equal(in(e, 0x4d1), 0xde);
    out(e, 0x4d0, 0x20);
    out(e, 0x4d1, 0x04);
    assert_int_equal(in(e, 0x4d0), 0x20);
    assert_int_equal(in(e, 0x4d1), 0x04);
    init_linux(e, 0x30, false, 0x00, 0x00);
    /* The ELCR survives the ICWs. */
    assert_int_equal(in(e, 0x4d1), 0x04);
    /* Level IRQ 10: requests while high, again after EOI if still high. */
    pic_set_irq(e->p, 10, true);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x3a);
    assert_int_equal(irr(e, 0xa0), 0x04); /* IRR follows the input */
    assert_false(pic_output(e->p));
    eoi_linux(e, 10);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x3a);
    pic_set_irq(e->p, 10, false);
    assert_int_equal(irr(e, 0xa0), 0x00);
    eoi_linux(e, 10);
    assert_false(pic_output(e->p));
    /* Level IRQ 5 on the master: dropped when low, before any INTA. */
    pic_set_irq(e->p, 5, true);
    assert_true(pic_output(e->p));
    pic_set_irq(e->p, 5, false);
    assert_false(pic_output(e->p));
    assert_int_equal(irr(e, 0x20), 0x00);
    /* A level input masked and unmasked while high still requests. */
    out(e, 0x21, 0x20);
    pic_set_irq(e->p, 5, true);
    assert_false(pic_output(e->p));
    out(e, 0x21, 0x00);
    assert_true(pic_output(e->p));
    /* Back to edge: a level already high is no new edge. */
    out(e, 0x4d0, 0x00);
    assert_false(pic_output(e->p));
    pic_set_irq(e->p, 5, false);
    pic_set_irq(e->p, 5, true);
    assert_true(pic_output(e->p));
    /* An edge latched, then the input made level while low: no request. */
    assert_int_equal(irr(e, 0x20), 0x20);
    pic_set_irq(e->p, 5, false);
    out(e, 0x4d0, 0x20);
    assert_int_equal(irr(e, 0x20), 0x00);
    assert_false(pic_output(e->p));
    /* ...and the old latch does not come back with edge mode. */
    out(e, 0x4d0, 0x00);
    assert_int_equal(irr(e, 0x20), 0x00);
    assert_false(pic_output(e->p));
}

static void test_ltim(void **state)
{
    struct env *e = *state;
    /* ICW1 with LTIM: every input of that chip is level. */
    out(e, 0x20, 0x19);
    out(e, 0x21, 0x30);
    out(e, 0x21, 0x04);
    out(e, 0x21, 0x01);
    pic_set_irq(e->p, 0, true);
    assert_int_equal(pic_intack(e->p), 0x30);
    out(e, 0x20, 0x20);
    assert_int_equal(pic_intack(e->p), 0x30);
    pic_set_irq(e->p, 0, false);
    out(e, 0x20, 0x20);
    assert_false(pic_output(e->p));
    pulse(e, 1);
    assert_false(pic_output(e->p));
}

static void test_edge_latch(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    /* A pulse stays latched until acknowledged. */
    pulse(e, 4);
    assert_int_equal(irr(e, 0x20), 0x10);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x34);
    assert_int_equal(irr(e, 0x20), 0x00);
    /* An input held high gives one request only. */
    pic_set_irq(e->p, 3, true);
    assert_int_equal(pic_intack(e->p), 0x33);
    out(e, 0x20, 0x63);
    assert_int_equal(isr(e, 0x20), 0x10);
    out(e, 0x20, 0x64);
    assert_false(pic_output(e->p));
    pic_set_irq(e->p, 3, true); /* no change: no edge */
    assert_false(pic_output(e->p));
    /* A new edge while in service is latched and served after EOI. */
    pic_set_irq(e->p, 3, false);
    pic_set_irq(e->p, 3, true);
    assert_int_equal(pic_intack(e->p), 0x33);
    pic_set_irq(e->p, 3, false);
    pic_set_irq(e->p, 3, true);
    assert_false(pic_output(e->p));
    assert_int_equal(irr(e, 0x20), 0x08);
    out(e, 0x20, 0x20);
    assert_int_equal(pic_intack(e->p), 0x33);
    out(e, 0x20, 0x20);
    /* Two edges before the INTA are one request. */
    pic_set_irq(e->p, 3, false);
    pulse(e, 3);
    pulse(e, 3);
    assert_int_equal(pic_intack(e->p), 0x33);
    out(e, 0x20, 0x20);
    assert_false(pic_output(e->p));
}

static void test_spurious_7(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    pulse(e, 4);
    assert_true(pic_output(e->p));
    /* The request goes away (masked) before the CPU acknowledges. */
    out(e, 0x21, 0x10);
    assert_false(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x37);
    /* Linux's i8259A_irq_real: not in service, so spurious. */
    assert_int_equal(isr(e, 0x20), 0x00);
    /* With nothing at all. */
    assert_int_equal(pic_intack(e->p), 0x37);
    assert_int_equal(isr(e, 0x20), 0x00);
    /* The latched request is still there for later. */
    out(e, 0x21, 0x00);
    assert_int_equal(pic_intack(e->p), 0x34);
    /* A real IRQ 7 does go in service. */
    pulse(e, 7);
    out(e, 0x20, 0x64);
    assert_int_equal(pic_intack(e->p), 0x37);
    assert_int_equal(isr(e, 0x20), 0x80);
}

static void test_spurious_15(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    pulse(e, 12);
    assert_true(pic_output(e->p));
    /* The slave's request is masked after the master latched IR2. */
    out(e, 0xa1, 0x10);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x3f);
    /* The cascade is in service on the master, nothing on the slave. */
    assert_int_equal(isr(e, 0x20), 0x04);
    assert_int_equal(isr(e, 0xa0), 0x00);
    /* Linux acks the master's cascade only. */
    out(e, 0x20, 0x62);
    assert_false(pic_output(e->p));
    out(e, 0xa1, 0x00);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x3c);
    /* A level slave input dropped before the INTA: spurious 15 too. */
    eoi_linux(e, 12);
    out(e, 0x4d1, 0x08);
    pic_set_irq(e->p, 11, true);
    pic_set_irq(e->p, 11, false);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x3f);
    out(e, 0x20, 0x62);
    assert_false(pic_output(e->p));
}

static void test_intr_sequence(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0x00, 0x00);
    assert_int_equal(e->n, 0);
    pulse(e, 1);        /* up */
    pic_intack(e->p);   /* down: IRQ 1 in service */
    out(e, 0x20, 0x20); /* nothing */
    pulse(e, 3);        /* up */
    pulse(e, 1);        /* still up */
    pic_intack(e->p);   /* IRQ 1: down (IRQ 3 below it) */
    out(e, 0x20, 0x20); /* up: IRQ 3 */
    pic_intack(e->p);   /* down */
    pulse(e, 0);        /* up: IRQ 0 nests */
    pic_intack(e->p);   /* down */
    out(e, 0x20, 0x20); /* nothing (IRQ 3 in service) */
    out(e, 0x20, 0x20); /* nothing */
    pulse(e, 9);        /* up through the cascade */
    out(e, 0xa1, 0x02); /* nothing: IR2 latched on the master */
    out(e, 0xa1, 0x00); /* nothing */
    out(e, 0x21, 0x04); /* down: the cascade masked */
    out(e, 0x21, 0x00); /* up */
    assert_int_equal(pic_intack(e->p), 0x39); /* down */
    eoi_linux(e, 9);
    bool want[] = {true, false, true, false, true, false,
                   true, false, true, false, true, false};
    assert_int_equal(e->n, sizeof(want) / sizeof(want[0]));
    assert_memory_equal(e->ev, want, sizeof(want));
    assert_false(pic_output(e->p));
}

/* QNX-style interrupt callouts: the id callout masks the level and
 * acknowledges it with a specific EOI at once; the kernel's handlers run
 * with the CPU's interrupts on; the eoi callout unmasks. */
static void qnx_id(struct env *e, unsigned irq)
{
    uint16_t data = irq & 8 ? 0xa1 : 0x21;
    out(e, data, in(e, data) | (uint8_t)(1u << (irq & 7)));
    if (irq & 8)
        out(e, 0xa0, 0x60 | (irq & 7));
    out(e, 0x20, 0x60 | (irq & 8 ? 2 : irq));
}

static void qnx_eoi(struct env *e, unsigned irq)
{
    uint16_t data = irq & 8 ? 0xa1 : 0x21;
    out(e, data, in(e, data) & (uint8_t) ~(1u << (irq & 7)));
}

static void test_qnx_style(void **state)
{
    struct env *e = *state;
    init_linux(e, 0x30, false, 0xff, 0xff);
    /* QNX's init leaves everything masked but the cascade; the kernel
     * unmasks each IRQ as a handler is attached. */
    out(e, 0x21, 0xfb);
    qnx_eoi(e, 4);
    qnx_eoi(e, 3);
    qnx_eoi(e, 12);
    assert_int_equal(in(e, 0x21), 0xe3);
    assert_int_equal(in(e, 0xa1), 0xef);
    pulse(e, 4);
    assert_int_equal(pic_intack(e->p), 0x34);
    qnx_id(e, 4);
    assert_int_equal(isr(e, 0x20), 0x00);
    /* With IRQ 4 acknowledged at once, a lower IRQ 12 (slave) and the
     * higher IRQ 3 both get through while IRQ 4's handler runs. */
    pulse(e, 3);
    assert_int_equal(pic_intack(e->p), 0x33);
    qnx_id(e, 3);
    pulse(e, 12);
    assert_int_equal(pic_intack(e->p), 0x3c);
    qnx_id(e, 12);
    assert_int_equal(isr(e, 0x20), 0x00);
    assert_int_equal(isr(e, 0xa0), 0x00);
    /* IRQ 4 again while masked: latched, delivered at the unmask. */
    pulse(e, 4);
    assert_false(pic_output(e->p));
    qnx_eoi(e, 3);
    qnx_eoi(e, 12);
    assert_false(pic_output(e->p));
    qnx_eoi(e, 4);
    assert_true(pic_output(e->p));
    assert_int_equal(pic_intack(e->p), 0x34);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_reset_state),
        T(test_linux_probe_and_init),
        T(test_no_int_during_init),
        T(test_icw1_resets),
        T(test_imr),
        T(test_cascade_priority),
        T(test_slave_two_pending),
        T(test_eoi_forms),
        T(test_auto_eoi),
        T(test_rotation),
        T(test_ocw3_reads),
        T(test_poll),
        T(test_special_mask_mode),
        T(test_special_fully_nested),
        T(test_elcr_and_level),
        T(test_ltim),
        T(test_edge_latch),
        T(test_spurious_7),
        T(test_spurious_15),
        T(test_intr_sequence),
        T(test_qnx_style),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

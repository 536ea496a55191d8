/*
 * test_x86_ioapic.c: the I/O APIC model (src/arch/x86/ioapic.c) through its
 * MMIO window and inputs: the ID, version and arbitration registers,
 * redirection entries through IOREGSEL/IOWIN (read-only bits, reserved
 * bits, out-of-range indices, non-32-bit accesses), edge and level
 * delivery with remote IRR and both EOI paths, and the exact MSI messages
 * handed to the route callback. Every route and delivery is recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "arch/x86/ioapic.h"

#define MAXEV 64

enum ev_kind { EV_ROUTE, EV_DELIVER };

struct ev {
    enum ev_kind kind;
    uint32_t pin;
    struct ioapic_msg msg;
    bool masked;
};

struct rec {
    struct ev ev[MAXEV];
    unsigned n;
};

static void rec_route(void *opaque, uint32_t pin, struct ioapic_msg msg,
                      bool masked)
{
    struct rec *r = opaque;
    assert_true(r->n < MAXEV);
    r->ev[r->n++] =
        (struct ev){.kind = EV_ROUTE, .pin = pin, .msg = msg, .masked = masked};
}

static void rec_deliver(void *opaque, uint32_t pin)
{
    struct rec *r = opaque;
    assert_true(r->n < MAXEV);
    r->ev[r->n++] = (struct ev){.kind = EV_DELIVER, .pin = pin};
}

static const struct ioapic_ops ops = {rec_route, rec_deliver};

struct env {
    struct rec rec;
    struct ioapic *io;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->io = ioapic_new(5, IOAPIC_DEFAULT_PINS, &ops, &e->rec);
    assert_non_null(e->io);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    ioapic_free(e->io);
    free(e);
    return 0;
}

static uint32_t rd(struct ioapic *io, uint32_t reg)
{
    ioapic_mmio_write(io, 0x00, reg, 4);
    return (uint32_t)ioapic_mmio_read(io, 0x10, 4);
}

static void wr(struct ioapic *io, uint32_t reg, uint32_t val)
{
    ioapic_mmio_write(io, 0x00, reg, 4);
    ioapic_mmio_write(io, 0x10, val, 4);
}

static uint32_t rte_lo(struct ioapic *io, uint32_t pin)
{
    return rd(io, 0x10 + 2 * pin);
}

/* program: the whole entry, high dword first (as Linux does). */
static void program(struct ioapic *io, uint32_t pin, uint32_t lo, uint32_t hi)
{
    wr(io, 0x11 + 2 * pin, hi);
    wr(io, 0x10 + 2 * pin, lo);
}

static unsigned count(const struct rec *r, enum ev_kind k, uint32_t pin)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->n; i++)
        n += r->ev[i].kind == k && r->ev[i].pin == pin;
    return n;
}

#define LEVEL    (1u << 15)
#define MASKED   (1u << 16)
#define RIRR     (1u << 14)
#define POLARITY (1u << 13)

static void test_id_version_arbitration(void **state)
{
    struct env *e = *state;
    assert_int_equal(rd(e->io, 0x00), 5u << 24);
    assert_int_equal(rd(e->io, 0x01), 0x00170020);
    assert_int_equal(rd(e->io, 0x02), 5u << 24);
    wr(e->io, 0x00, 0x0a000000);
    assert_int_equal(rd(e->io, 0x00), 0x0a000000);
    assert_int_equal(rd(e->io, 0x02), 0x0a000000);
    /* Only bits 27:24 are the ID. */
    wr(e->io, 0x00, 0xf3ffffff);
    assert_int_equal(rd(e->io, 0x00), 0x03000000);
    /* Version and arbitration are read-only. */
    wr(e->io, 0x01, 0);
    wr(e->io, 0x02, 0x0f000000);
    assert_int_equal(rd(e->io, 0x01), 0x00170020);
    assert_int_equal(rd(e->io, 0x02), 0x03000000);
    assert_int_equal(ioapic_npins(e->io), 24);
    assert_int_equal(e->rec.n, 0);
}

static void test_pin_counts(void **state)
{
    struct env *e = *state;
    struct rec *r = &e->rec;
    assert_null(ioapic_new(0, 0, &ops, r));
    assert_null(ioapic_new(0, IOAPIC_MAX_PINS + 1, &ops, r));
    struct ioapic *io = ioapic_new(1, IOAPIC_MAX_PINS, &ops, r);
    assert_non_null(io);
    assert_int_equal(rd(io, 0x01), 0x00770020);
    assert_int_equal(ioapic_npins(io), 120);
    /* The last entry is at indices 0xfe/0xff. */
    assert_int_equal(rte_lo(io, 119), MASKED);
    wr(io, 0x11 + 2 * 119, 0x12000000);
    assert_int_equal(rd(io, 0xff), 0x12000000);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->ev[0].pin, 119);
    assert_int_equal(r->ev[0].msg.addr, 0xfee12000);
    ioapic_free(io);
    io = ioapic_new(0, 1, &ops, r);
    assert_non_null(io);
    assert_int_equal(rd(io, 0x01), 0x00000020);
    ioapic_free(io);
    io = ioapic_new(0, 48, &ops, r);
    assert_int_equal(rd(io, 0x01), 0x002f0020);
    ioapic_free(io);
}

static void test_regsel(void **state)
{
    struct env *e = *state;
    ioapic_mmio_write(e->io, 0x00, 0x12, 4);
    assert_int_equal(ioapic_mmio_read(e->io, 0x00, 4), 0x12);
    ioapic_mmio_write(e->io, 0x00, 0xffffff3f, 4);
    assert_int_equal(ioapic_mmio_read(e->io, 0x00, 4), 0x3f);
}

static void test_rte_defaults_and_bits(void **state)
{
    struct env *e = *state;
    for (uint32_t pin = 0; pin < 24; pin++) {
        assert_int_equal(rte_lo(e->io, pin), MASKED);
        assert_int_equal(rd(e->io, 0x11 + 2 * pin), 0);
    }
    /* Every bit written: only vector, delivery mode, destination mode,
     * polarity, trigger and mask stick; delivery status, remote IRR and
     * the reserved bits read 0. */
    wr(e->io, 0x10 + 2 * 3, 0xffffffff);
    assert_int_equal(rte_lo(e->io, 3), 0x0001afff);
    wr(e->io, 0x11 + 2 * 3, 0xffffffff);
    assert_int_equal(rd(e->io, 0x11 + 2 * 3), 0xff000000);
    /* The dwords are independent. */
    wr(e->io, 0x10 + 2 * 3, 0x00010031);
    assert_int_equal(rd(e->io, 0x11 + 2 * 3), 0xff000000);
    wr(e->io, 0x11 + 2 * 3, 0x02000000);
    assert_int_equal(rte_lo(e->io, 3), 0x00010031);
    /* Neighbours untouched. */
    assert_int_equal(rte_lo(e->io, 2), MASKED);
    assert_int_equal(rte_lo(e->io, 4), MASKED);
    struct ioapic_msg m;
    bool masked = false, level = true;
    assert_true(ioapic_entry(e->io, 3, &m, &masked, &level));
    assert_true(masked);
    assert_false(level);
    assert_int_equal(m.addr, 0xfee02000);
    assert_int_equal(m.data, 0x4031);
    assert_true(ioapic_entry(e->io, 3, NULL, NULL, NULL));
    assert_false(ioapic_entry(e->io, 24, &m, &masked, &level));
}

static void test_remote_irr_read_only(void **state)
{
    struct env *e = *state;
    /* A guest cannot set remote IRR... */
    program(e->io, 7, 0x40 | LEVEL | RIRR, 0);
    assert_int_equal(rte_lo(e->io, 7), 0x40 | LEVEL);
    /* ...nor clear it by writing the entry. */
    ioapic_set_pin(e->io, 7, true);
    assert_int_equal(rte_lo(e->io, 7), 0x40 | LEVEL | RIRR);
    wr(e->io, 0x10 + 2 * 7, 0x40 | LEVEL);
    assert_int_equal(rte_lo(e->io, 7), 0x40 | LEVEL | RIRR);
    wr(e->io, 0x11 + 2 * 7, 0x01000000);
    assert_int_equal(rte_lo(e->io, 7), 0x40 | LEVEL | RIRR);
    /* Rewriting the same entry neither re-routes nor re-delivers. */
    unsigned n = e->rec.n;
    wr(e->io, 0x10 + 2 * 7, 0x40 | LEVEL);
    assert_int_equal(e->rec.n, n);
}

static void test_out_of_range_and_sizes(void **state)
{
    struct env *e = *state;
    /* Indices past the table and reserved ones read all ones and ignore
     * writes. */
    assert_int_equal(rd(e->io, 0x10 + 2 * 24), 0xffffffff);
    assert_int_equal(rd(e->io, 0x11 + 2 * 24), 0xffffffff);
    assert_int_equal(rd(e->io, 0x03), 0xffffffff);
    assert_int_equal(rd(e->io, 0x0f), 0xffffffff);
    assert_int_equal(rd(e->io, 0xff), 0xffffffff);
    wr(e->io, 0x10 + 2 * 24, 0x30);
    wr(e->io, 0xff, 0x30);
    wr(e->io, 0x03, 0x30);
    assert_int_equal(e->rec.n, 0);
    ioapic_set_pin(e->io, 24, true);
    ioapic_set_pin(e->io, 0xffffffff, true);
    assert_int_equal(e->rec.n, 0);
    /* Other offsets: read 0, writes dropped (0x40 is write-only). */
    assert_int_equal(ioapic_mmio_read(e->io, 0x20, 4), 0);
    assert_int_equal(ioapic_mmio_read(e->io, 0x40, 4), 0);
    assert_int_equal(ioapic_mmio_read(e->io, 0xffc, 4), 0);
    /* Non-32-bit and misaligned accesses read all ones... */
    ioapic_mmio_write(e->io, 0x00, 0x10, 4);
    assert_int_equal(ioapic_mmio_read(e->io, 0x00, 1), 0xff);
    assert_int_equal(ioapic_mmio_read(e->io, 0x10, 2), 0xffff);
    assert_int_equal(ioapic_mmio_read(e->io, 0x10, 8), ~0ull);
    assert_int_equal(ioapic_mmio_read(e->io, 0x12, 4), 0xffffffff);
    /* ...and writes are dropped. */
    ioapic_mmio_write(e->io, 0x00, 0x12, 1);
    assert_int_equal(ioapic_mmio_read(e->io, 0x00, 4), 0x10);
    ioapic_mmio_write(e->io, 0x10, 0x30, 2);
    ioapic_mmio_write(e->io, 0x10, 0x30, 8);
    ioapic_mmio_write(e->io, 0x11, 0x30, 4);
    assert_int_equal(rte_lo(e->io, 0), MASKED);
    assert_int_equal(e->rec.n, 0);
}

static void test_masked_edge_dropped(void **state)
{
    struct env *e = *state;
    program(e->io, 4, 0x30 | MASKED, 0);
    assert_int_equal(e->rec.n, 1); /* the new vector's route, masked */
    assert_true(e->rec.ev[0].masked);
    ioapic_set_pin(e->io, 4, true);
    assert_int_equal(count(&e->rec, EV_DELIVER, 4), 0);
    /* Unmasking does not bring the dropped edge back. */
    wr(e->io, 0x10 + 2 * 4, 0x30);
    assert_int_equal(count(&e->rec, EV_DELIVER, 4), 0);
    assert_int_equal(count(&e->rec, EV_ROUTE, 4), 2);
    assert_false(e->rec.ev[e->rec.n - 1].masked);
    ioapic_set_pin(e->io, 4, false);
    ioapic_set_pin(e->io, 4, true);
    assert_int_equal(count(&e->rec, EV_DELIVER, 4), 1);
    assert_int_equal(e->rec.ev[e->rec.n - 1].kind, EV_DELIVER);
}

static void test_edge_each_rising_edge(void **state)
{
    struct env *e = *state;
    program(e->io, 1, 0x31, 0);
    e->rec.n = 0;
    ioapic_set_pin(e->io, 1, true);
    assert_int_equal(count(&e->rec, EV_DELIVER, 1), 1);
    ioapic_set_pin(e->io, 1, true); /* no edge */
    ioapic_set_pin(e->io, 1, false);
    assert_int_equal(count(&e->rec, EV_DELIVER, 1), 1);
    /* An EOI of the vector means nothing to an edge entry. */
    ioapic_eoi(e->io, 0x31);
    assert_int_equal(count(&e->rec, EV_DELIVER, 1), 1);
    assert_int_equal(rte_lo(e->io, 1), 0x31);
    for (int i = 0; i < 5; i++) {
        ioapic_set_pin(e->io, 1, true);
        ioapic_set_pin(e->io, 1, false);
    }
    assert_int_equal(count(&e->rec, EV_DELIVER, 1), 6);
    assert_int_equal(e->rec.n, 6);
    /* Other pins heard nothing. */
    assert_int_equal(count(&e->rec, EV_DELIVER, 0), 0);
}

static void level_eoi(void **state, bool via_register)
{
    struct env *e = *state;
    program(e->io, 9, 0x41 | LEVEL, 0);
    e->rec.n = 0;
    ioapic_set_pin(e->io, 9, true);
    assert_int_equal(count(&e->rec, EV_DELIVER, 9), 1);
    assert_int_equal(rte_lo(e->io, 9), 0x41 | LEVEL | RIRR);
    /* Remote IRR holds further deliveries while the input stays high. */
    ioapic_set_pin(e->io, 9, false);
    ioapic_set_pin(e->io, 9, true);
    assert_int_equal(count(&e->rec, EV_DELIVER, 9), 1);
    /* An EOI of another vector leaves it. */
    if (via_register)
        ioapic_mmio_write(e->io, 0x40, 0x42, 4);
    else
        ioapic_eoi(e->io, 0x42);
    assert_int_equal(rte_lo(e->io, 9), 0x41 | LEVEL | RIRR);
    assert_int_equal(count(&e->rec, EV_DELIVER, 9), 1);
    /* EOI with the input still asserted: delivered again. */
    if (via_register)
        ioapic_mmio_write(e->io, 0x40, 0x41, 4);
    else
        ioapic_eoi(e->io, 0x41);
    assert_int_equal(count(&e->rec, EV_DELIVER, 9), 2);
    assert_int_equal(rte_lo(e->io, 9), 0x41 | LEVEL | RIRR);
    /* The device deasserts, then the EOI: remote IRR clears, silence. */
    ioapic_set_pin(e->io, 9, false);
    if (via_register)
        ioapic_mmio_write(e->io, 0x40, 0x41, 4);
    else
        ioapic_eoi(e->io, 0x41);
    assert_int_equal(rte_lo(e->io, 9), 0x41 | LEVEL);
    assert_int_equal(count(&e->rec, EV_DELIVER, 9), 2);
    /* A new assertion delivers at once. */
    ioapic_set_pin(e->io, 9, true);
    assert_int_equal(count(&e->rec, EV_DELIVER, 9), 3);
    assert_int_equal(count(&e->rec, EV_ROUTE, 9), 0);
}

/* A resampled input (ops->eoi true, as irqchip.c's for `pass intr`): the
 * EOI takes the input as low before the model looks at the entry again,
 * so an input its source has not lowered yet is not delivered again; the
 * source's own lowering, and its next raise, deliver as usual. */
static unsigned eoi_calls;
static uint32_t eoi_pin;
static bool rs_eoi(void *opaque, uint32_t pin)
{
    (void)opaque;
    eoi_calls++;
    eoi_pin = pin;
    return pin == 9;
}

static void test_resampled_eoi(void **state)
{
    (void)state;
    static const struct ioapic_ops rs_ops = {rec_route, rec_deliver, rs_eoi};
    struct rec r = {0};
    struct ioapic *io = ioapic_new(1, IOAPIC_DEFAULT_PINS, &rs_ops, &r);
    assert_non_null(io);
    program(io, 9, 0x61 | LEVEL, 0);
    program(io, 10, 0x62 | LEVEL, 0);
    r.n = 0;
    eoi_calls = 0;
    ioapic_set_pin(io, 9, true);
    assert_int_equal(count(&r, EV_DELIVER, 9), 1);
    ioapic_eoi(io, 0x61);
    assert_int_equal(eoi_calls, 1);
    assert_int_equal(eoi_pin, 9);
    /* Still asserted by its source, yet not delivered again. */
    assert_int_equal(count(&r, EV_DELIVER, 9), 1);
    assert_int_equal(rte_lo(io, 9), 0x61 | LEVEL);
    ioapic_set_pin(io, 9, false); /* the source follows */
    ioapic_set_pin(io, 9, true);  /* the next host interrupt */
    assert_int_equal(count(&r, EV_DELIVER, 9), 2);
    /* An EOI of a vector with no remote IRR set calls nothing. */
    ioapic_eoi(io, 0x70);
    assert_int_equal(eoi_calls, 1);
    /* An input that is not resampled (false) keeps the usual semantics. */
    ioapic_set_pin(io, 10, true);
    ioapic_eoi(io, 0x62);
    assert_int_equal(eoi_calls, 2);
    assert_int_equal(count(&r, EV_DELIVER, 10), 2);
    ioapic_free(io);
}

static void test_level_eoi_broadcast(void **state)
{
    level_eoi(state, false);
}

static void test_level_eoi_register(void **state)
{
    level_eoi(state, true);
}

static void test_eoi_register_sizes(void **state)
{
    struct env *e = *state;
    program(e->io, 9, 0x41 | LEVEL, 0);
    ioapic_set_pin(e->io, 9, true);
    /* Only a 32-bit write is an EOI; the vector is the low byte. */
    ioapic_mmio_write(e->io, 0x40, 0x41, 1);
    assert_int_equal(rte_lo(e->io, 9), 0x41 | LEVEL | RIRR);
    ioapic_set_pin(e->io, 9, false);
    ioapic_mmio_write(e->io, 0x40, 0xffffff41, 4);
    assert_int_equal(rte_lo(e->io, 9), 0x41 | LEVEL);
}

static void test_masked_level_then_unmask(void **state)
{
    struct env *e = *state;
    program(e->io, 10, 0x51 | LEVEL | MASKED, 0x03000000);
    e->rec.n = 0;
    ioapic_set_pin(e->io, 10, true);
    assert_int_equal(e->rec.n, 0);
    assert_int_equal(rte_lo(e->io, 10), 0x51 | LEVEL | MASKED);
    /* Unmasking an asserted level entry: the route first, then one
     * delivery, remote IRR set. */
    wr(e->io, 0x10 + 2 * 10, 0x51 | LEVEL);
    assert_int_equal(e->rec.n, 2);
    assert_int_equal(e->rec.ev[0].kind, EV_ROUTE);
    assert_int_equal(e->rec.ev[0].pin, 10);
    assert_false(e->rec.ev[0].masked);
    assert_int_equal(e->rec.ev[0].msg.addr, 0xfee03000);
    assert_int_equal(e->rec.ev[0].msg.data, 0x51 | 1u << 14 | 1u << 15);
    assert_int_equal(e->rec.ev[1].kind, EV_DELIVER);
    assert_int_equal(e->rec.ev[1].pin, 10);
    assert_int_equal(rte_lo(e->io, 10), 0x51 | LEVEL | RIRR);
    /* Masked with remote IRR set: the EOI clears it but does not
     * deliver; unmasking then does. */
    wr(e->io, 0x10 + 2 * 10, 0x51 | LEVEL | MASKED);
    ioapic_eoi(e->io, 0x51);
    assert_int_equal(rte_lo(e->io, 10), 0x51 | LEVEL | MASKED);
    assert_int_equal(count(&e->rec, EV_DELIVER, 10), 1);
    wr(e->io, 0x10 + 2 * 10, 0x51 | LEVEL);
    assert_int_equal(count(&e->rec, EV_DELIVER, 10), 2);
    /* A deasserted input unmasked: nothing. */
    wr(e->io, 0x10 + 2 * 10, 0x51 | LEVEL | MASKED);
    ioapic_eoi(e->io, 0x51);
    ioapic_set_pin(e->io, 10, false);
    wr(e->io, 0x10 + 2 * 10, 0x51 | LEVEL);
    assert_int_equal(count(&e->rec, EV_DELIVER, 10), 2);
}

static void test_trigger_switch(void **state)
{
    struct env *e = *state;
    program(e->io, 11, 0x61 | LEVEL, 0);
    ioapic_set_pin(e->io, 11, true);
    assert_int_equal(count(&e->rec, EV_DELIVER, 11), 1);
    /* Switching to edge clears a stuck remote IRR... */
    wr(e->io, 0x10 + 2 * 11, 0x61);
    assert_int_equal(rte_lo(e->io, 11), 0x61);
    assert_int_equal(count(&e->rec, EV_DELIVER, 11), 1);
    /* ...and back to level with the input high delivers. */
    wr(e->io, 0x10 + 2 * 11, 0x61 | LEVEL);
    assert_int_equal(count(&e->rec, EV_DELIVER, 11), 2);
    assert_int_equal(rte_lo(e->io, 11), 0x61 | LEVEL | RIRR);
}

static void test_route_messages(void **state)
{
    struct env *e = *state;
    /* Physical destination, fixed, edge. */
    program(e->io, 2, 0x30, 0x03000000);
    struct ev *last = &e->rec.ev[e->rec.n - 1];
    assert_int_equal(last->kind, EV_ROUTE);
    assert_int_equal(last->pin, 2);
    assert_false(last->masked);
    assert_int_equal(last->msg.addr, 0xfee03000);
    assert_int_equal(last->msg.data, 0x4030);
    /* Logical destination, lowest priority, level. */
    program(e->io, 5, 0x0931 | LEVEL, 0x0f000000);
    last = &e->rec.ev[e->rec.n - 1];
    assert_int_equal(last->pin, 5);
    assert_int_equal(last->msg.addr, 0xfee0f004);
    assert_int_equal(last->msg.data, 0x31 | 1u << 8 | 1u << 14 | 1u << 15);
    /* Destination 0xff (broadcast), logical. */
    program(e->io, 6, 0x0832, 0xff000000);
    last = &e->rec.ev[e->rec.n - 1];
    assert_int_equal(last->msg.addr, 0xfeeff004);
    assert_int_equal(last->msg.data, 0x4032);
    /* Every delivery mode lands in data bits 10:8 (SMI, NMI, INIT and
     * ExtINT included), masked or not. */
    for (uint32_t dm = 0; dm < 8; dm++) {
        unsigned n = e->rec.n;
        wr(e->io, 0x10 + 2 * 2, 0x30 | dm << 8 | MASKED);
        assert_int_equal(e->rec.n, n + 1);
        last = &e->rec.ev[n];
        assert_true(last->masked);
        assert_int_equal(last->msg.addr, 0xfee03000);
        assert_int_equal(last->msg.data, 0x30 | dm << 8 | 1u << 14);
        struct ioapic_msg m;
        bool masked, level;
        assert_true(ioapic_entry(e->io, 2, &m, &masked, &level));
        assert_int_equal(m.data, last->msg.data);
        assert_true(masked);
        assert_false(level);
    }
    /* The polarity bit is stored but is no part of the message. */
    unsigned n = e->rec.n;
    wr(e->io, 0x10 + 2 * 2, 0x730 | MASKED | POLARITY);
    assert_int_equal(e->rec.n, n);
    assert_int_equal(rte_lo(e->io, 2), 0x730 | MASKED | POLARITY);
    /* Changing only the destination re-routes. */
    wr(e->io, 0x11 + 2 * 2, 0x04000000);
    assert_int_equal(e->rec.n, n + 1);
    assert_int_equal(e->rec.ev[n].msg.addr, 0xfee04000);
    /* A delivery comes after the route it uses. */
    wr(e->io, 0x10 + 2 * 2, 0x0033);
    ioapic_set_pin(e->io, 2, true);
    assert_int_equal(e->rec.ev[e->rec.n - 2].kind, EV_ROUTE);
    assert_int_equal(e->rec.ev[e->rec.n - 2].msg.data, 0x4033);
    assert_int_equal(e->rec.ev[e->rec.n - 1].kind, EV_DELIVER);
}

static void test_shared_vector(void **state)
{
    struct env *e = *state;
    program(e->io, 16, 0x50 | LEVEL, 0);
    program(e->io, 17, 0x50 | LEVEL, 0);
    e->rec.n = 0;
    ioapic_set_pin(e->io, 16, true);
    ioapic_set_pin(e->io, 17, true);
    assert_int_equal(count(&e->rec, EV_DELIVER, 16), 1);
    assert_int_equal(count(&e->rec, EV_DELIVER, 17), 1);
    /* One EOI of the shared vector serves both entries. */
    ioapic_eoi(e->io, 0x50);
    assert_int_equal(count(&e->rec, EV_DELIVER, 16), 2);
    assert_int_equal(count(&e->rec, EV_DELIVER, 17), 2);
    ioapic_set_pin(e->io, 16, false);
    ioapic_eoi(e->io, 0x50);
    assert_int_equal(rte_lo(e->io, 16), 0x50 | LEVEL);
    assert_int_equal(rte_lo(e->io, 17), 0x50 | LEVEL | RIRR);
    assert_int_equal(count(&e->rec, EV_DELIVER, 16), 2);
    assert_int_equal(count(&e->rec, EV_DELIVER, 17), 3);
    ioapic_set_pin(e->io, 17, false);
    ioapic_eoi(e->io, 0x50);
    assert_int_equal(rte_lo(e->io, 17), 0x50 | LEVEL);
    assert_int_equal(e->rec.n, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_id_version_arbitration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pin_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regsel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rte_defaults_and_bits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_remote_irr_read_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_and_sizes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_masked_edge_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_edge_each_rising_edge, setup,
                                        teardown),
        cmocka_unit_test(test_resampled_eoi),
        cmocka_unit_test_setup_teardown(test_level_eoi_broadcast, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_level_eoi_register, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_eoi_register_sizes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_masked_level_then_unmask, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trigger_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_vector, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_dev_legacy.c: the PC legacy devices' register logic through the
 * port-I/O bus: the 8042 (src/devices/pckbd.c), the MC146818 RTC/CMOS
 * (src/devices/rtc.c) and the PCI configuration ports stub with the 0xcf9
 * reset (src/devices/pci_stub.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_irq.h"
#include "config/schema.h"
#include "devices/device.h"

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct dev_inst inst;
    bool level;
    unsigned rises;
    int stops;
    enum vm_stop why;
};

static void fake_irq(void *opaque, uint32_t gsi, bool level)
{
    struct env *e = opaque;
    (void)gsi;
    if (level && !e->level)
        e->rises++;
    e->level = level;
}

FAKE_IRQ(fake_irq)

static void fake_stop(void *opaque, enum vm_stop why)
{
    struct env *e = opaque;
    e->stops++;
    e->why = why;
}

static uint32_t in(struct env *e, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    bus_access(&e->pio, port, &v, size, false);
    return v;
}

static void out(struct env *e, uint16_t port, uint32_t v, unsigned size)
{
    bus_access(&e->pio, port, &v, size, true);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    fake_irq_reset();
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = fake_irq_resolve,
                              .irq_isa = fake_irq_isa,
                              .stop = fake_stop,
                              .opaque = e};
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (e->inst.teardown)
        e->inst.teardown(e->inst.state);
    VEC_FREE(&e->vd.intrs);
    VEC_FREE(&e->vd.opts);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    free(e);
    return 0;
}

/* ---- 8042 ---- */

static uint32_t kbd_read(struct env *e)
{
    assert_true(in(e, 0x64, 1) & 1); /* output buffer full */
    return in(e, 0x60, 1);
}

static void test_kbd_probe(void **state)
{
    struct env *e = *state;
    VEC_PUSH(&e->vd.intrs)->line = 1;
    assert_int_equal(pckbd_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(in(e, 0x64, 1) & 1, 0);
    out(e, 0x64, 0xaa, 1);
    assert_true(e->level); /* config bit 0 is on by default */
    assert_int_equal(kbd_read(e), 0x55);
    assert_false(e->level);
    assert_int_equal(in(e, 0x64, 1) & 1, 0);
    out(e, 0x64, 0xab, 1);
    assert_int_equal(kbd_read(e), 0x00);
    out(e, 0x64, 0x60, 1);
    out(e, 0x60, 0x44, 1); /* interrupts off */
    out(e, 0x64, 0x20, 1);
    assert_false(e->level);
    assert_int_equal(kbd_read(e), 0x44);
    out(e, 0x64, 0xa7, 1);
    out(e, 0x64, 0x20, 1);
    assert_int_equal(kbd_read(e) & 0x20, 0x20);
    out(e, 0x64, 0xa8, 1);
    out(e, 0x64, 0x20, 1);
    assert_int_equal(kbd_read(e) & 0x20, 0x00);
    out(e, 0x60, 0xff, 1); /* keyboard reset */
    assert_int_equal(kbd_read(e), 0xfa);
    assert_int_equal(kbd_read(e), 0xaa);
    /* With interrupts on, every queued byte is a new rising edge. */
    out(e, 0x64, 0x60, 1);
    out(e, 0x60, 0x45, 1);
    unsigned r0 = e->rises;
    out(e, 0x60, 0xf2, 1); /* identify: fa ab 83 */
    assert_true(e->level);
    assert_int_equal(kbd_read(e), 0xfa);
    assert_int_equal(kbd_read(e), 0xab);
    assert_int_equal(kbd_read(e), 0x83);
    assert_false(e->level);
    assert_int_equal(e->rises - r0, 3);
    out(e, 0x60, 0xf5, 1);
    assert_int_equal(kbd_read(e), 0xfa);
    out(e, 0x60, 0xf4, 1);
    assert_int_equal(kbd_read(e), 0xfa);
    out(e, 0x64, 0xd4, 1); /* to the (absent) mouse: no answer */
    out(e, 0x60, 0xf4, 1);
    assert_int_equal(in(e, 0x64, 1) & 1, 0);
    assert_int_equal(e->stops, 0);
}

static void test_kbd_reset(void **state)
{
    struct env *e = *state;
    assert_int_equal(pckbd_realize(&e->vd, &e->ctx, &e->inst), 0);
    out(e, 0x64, 0xff, 1); /* pulse nothing */
    assert_int_equal(e->stops, 0);
    out(e, 0x64, 0xfe, 1);
    assert_int_equal(e->stops, 1);
    assert_int_equal(e->why, STOP_RESET);
    out(e, 0x64, 0xd1, 1); /* output port with the reset bit clear */
    out(e, 0x60, 0x02, 1);
    assert_int_equal(e->stops, 2);
}

/* ---- MC146818 ---- */

static uint8_t cmos(struct env *e, uint8_t idx)
{
    out(e, 0x70, 0x80u | idx, 1);
    return (uint8_t)in(e, 0x71, 1);
}

static void cmos_w(struct env *e, uint8_t idx, uint8_t v)
{
    out(e, 0x70, idx, 1);
    out(e, 0x71, v, 1);
}

static unsigned bcd(uint8_t v)
{
    return (v >> 4) * 10u + (v & 15u);
}

static void add_reg(struct env *e, unsigned idx, unsigned val)
{
    static const struct opt_def reg_def = {.name = "reg"};
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    o->def = &reg_def;
    o->num = idx;
    o->num2 = val;
}

/* Read minutes/hours/day, retrying across a minute boundary. */
static void read_clock(struct env *e, struct tm *host, uint8_t *min,
                       uint8_t *hour, uint8_t *day)
{
    for (;;) {
        time_t t0 = time(NULL);
        *min = cmos(e, 2);
        *hour = cmos(e, 4);
        *day = cmos(e, 7);
        time_t t1 = time(NULL);
        if (t0 / 60 == t1 / 60) {
            gmtime_r(&t0, host);
            return;
        }
    }
}

static void test_rtc_modes(void **state)
{
    struct env *e = *state;
    add_reg(e, 0x40, 0xa5);
    add_reg(e, 0x00, 0x12); /* a time register: ignored */
    assert_int_equal(rtc_realize(&e->vd, &e->ctx, &e->inst), 0);
    assert_int_equal(cmos(e, 0x40), 0xa5);
    assert_int_equal(cmos(e, 0x0b), 0x02); /* 24h BCD */
    assert_int_equal(cmos(e, 0x0d), 0x80);
    assert_int_equal(cmos(e, 0x0a) & 0x7f, 0x26);
    struct tm h;
    uint8_t m, hr, d;
    read_clock(e, &h, &m, &hr, &d);
    assert_int_equal(bcd(m), h.tm_min);
    assert_int_equal(bcd(hr), h.tm_hour);
    assert_int_equal(bcd(d), h.tm_mday);
    unsigned year = bcd(cmos(e, 0x32)) * 100 + bcd(cmos(e, 9));
    assert_true(year >= 2024 && year < 2200);
    cmos_w(e, 0x0b, 0x04); /* binary, 12h */
    read_clock(e, &h, &m, &hr, &d);
    assert_int_equal(m, h.tm_min);
    unsigned h12 = h.tm_hour % 12 ? (unsigned)h.tm_hour % 12 : 12;
    assert_int_equal(hr & 0x7f, h12);
    assert_int_equal(!!(hr & 0x80), h.tm_hour >= 12);
    /* Register C never loops and D stays valid; C/D are read-only. */
    for (int i = 0; i < 1000; i++)
        (void)cmos(e, 0x0c);
    cmos_w(e, 0x0d, 0);
    assert_int_equal(cmos(e, 0x0d), 0x80);
    cmos_w(e, 0x7f, 0x3c);
    assert_int_equal(cmos(e, 0x7f), 0x3c);
    /* The index ignores the NMI bit; the index port reads as 0xff. */
    out(e, 0x70, 0xc0, 1);
    assert_int_equal(in(e, 0x71, 1), 0xa5);
}

static void test_rtc_set_time(void **state)
{
    struct env *e = *state;
    assert_int_equal(rtc_realize(&e->vd, &e->ctx, &e->inst), 0);
    cmos_w(e, 0x0b, 0x86); /* SET, binary, 24h */
    cmos_w(e, 9, 99);      /* year 2099 (century kept) */
    cmos_w(e, 0x0b, 0x06);
    unsigned year = cmos(e, 0x32) * 100u + cmos(e, 9);
    assert_true(year == 2099 || year == 2100); /* a new year may pass */
}

/* ---- PCI ports ---- */

static void test_pci_stub(void **state)
{
    struct env *e = *state;
    struct vm_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.arch = ARCH_X86_64;
    struct dev_list l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(pci_stub_realize(&spec, &e->ctx, &l), 0);
    out(e, 0xcf8, 0x80000000u, 4);
    assert_int_equal(in(e, 0xcf8, 4), 0x80000000u);
    assert_int_equal(in(e, 0xcfc, 4), 0xffffffffu); /* no device */
    assert_int_equal(in(e, 0xcfe, 2), 0xffffu);
    out(e, 0xcf9, 0x02, 1);
    assert_int_equal(e->stops, 0);
    out(e, 0xcf9, 0x06, 1);
    assert_int_equal(e->stops, 1);
    assert_int_equal(e->why, STOP_RESET);
    for (size_t i = 0; i < l.v.n; i++)
        l.v.v[i].teardown(l.v.v[i].state);
    VEC_FREE(&l.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kbd_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kbd_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtc_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rtc_set_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pci_stub, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

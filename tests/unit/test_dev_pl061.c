/*
 * test_dev_pl061.c: the PL061 GPIO model (devices/pl061.h) behind qvm's
 * aarch64 power button: the PrimeCell IDs Linux's AMBA bus matches,
 * GPIODATA's address mask, the input pin gpio-keys watches with both
 * edges (a press and a release), single-edge and level modes, the
 * interrupt clear and mask. The power button (pl061_power_realize) on a
 * fake machine with a running event thread: its window and SPI, a press
 * the guest does not listen to, a press it does, and the release the I/O
 * thread's timer makes (waited for, never a wall-clock window).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/schema.h"
#include "config/spec.h"
#include "devices/device.h"
#include "devices/pl061.h"
#include "ev_flush.h"

#define PIN PL061_PWR_PIN
#define BIT (1u << PIN)

static void test_ids_and_data(void **state)
{
    (void)state;
    struct pl061 g;
    pl061_reset(&g);
    static const uint8_t want[8] = {0x61, 0x10, 0x04, 0x00,
                                    0x0d, 0xf0, 0x05, 0xb1};
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(pl061_read(&g, 0xfe0 + 4 * i), want[i]);
    /* Inputs at reset; a write to an input pin changes nothing. */
    pl061_set_input(&g, PIN, true);
    assert_int_equal(pl061_read(&g, 0x3fc), BIT);
    assert_int_equal(pl061_read(&g, BIT << 2), BIT);
    assert_int_equal(pl061_read(&g, 0x4 << 2), 0); /* masked out */
    pl061_write(&g, 0x3fc, 0xff);
    assert_int_equal(pl061_read(&g, 0x3fc), BIT);
    /* Outputs: only the pins the address selects are written. */
    pl061_write(&g, PL061_DIR, 0x03);
    pl061_write(&g, 0x1 << 2, 0xff);
    assert_int_equal(pl061_read(&g, 0x3fc), BIT | 0x1);
    pl061_write(&g, 0x3 << 2, 0x2);
    assert_int_equal(pl061_read(&g, 0x3fc), BIT | 0x2);
    assert_int_equal(pl061_read(&g, PL061_DIR), 0x03);
}

/* What Linux's gpio-keys asks of gpio-pl061: both edges, unmasked. */
static void test_both_edges(void **state)
{
    (void)state;
    struct pl061 g;
    pl061_reset(&g);
    pl061_write(&g, PL061_IBE, BIT);
    pl061_write(&g, PL061_IE, BIT);
    assert_false(pl061_irq(&g));
    pl061_set_input(&g, PIN, true); /* the press */
    assert_true(pl061_irq(&g));
    assert_int_equal(pl061_read(&g, PL061_RIS), BIT);
    assert_int_equal(pl061_read(&g, PL061_MIS), BIT);
    pl061_write(&g, PL061_IC, BIT);
    assert_false(pl061_irq(&g));
    pl061_set_input(&g, PIN, true); /* no change: no edge */
    assert_false(pl061_irq(&g));
    pl061_set_input(&g, PIN, false); /* the release */
    assert_true(pl061_irq(&g));
    pl061_write(&g, PL061_IC, BIT);
    /* Masked: RIS records it, the output stays low. */
    pl061_write(&g, PL061_IE, 0);
    pl061_set_input(&g, PIN, true);
    assert_int_equal(pl061_read(&g, PL061_RIS), BIT);
    assert_int_equal(pl061_read(&g, PL061_MIS), 0);
    assert_false(pl061_irq(&g));
    pl061_write(&g, PL061_IE, BIT);
    assert_true(pl061_irq(&g));
}

static void test_single_edge_and_level(void **state)
{
    (void)state;
    struct pl061 g;
    pl061_reset(&g);
    pl061_write(&g, PL061_IE, BIT);
    /* Falling edge only (IEV 0). */
    pl061_set_input(&g, PIN, true);
    assert_false(pl061_irq(&g));
    pl061_set_input(&g, PIN, false);
    assert_true(pl061_irq(&g));
    pl061_write(&g, PL061_IC, BIT);
    /* Rising only. */
    pl061_write(&g, PL061_IEV, BIT);
    pl061_set_input(&g, PIN, true);
    assert_true(pl061_irq(&g));
    pl061_write(&g, PL061_IC, BIT);
    pl061_set_input(&g, PIN, false);
    assert_false(pl061_irq(&g));
    /* Level high: follows the pin; IC does not clear it. */
    pl061_write(&g, PL061_IS, BIT);
    assert_false(pl061_irq(&g));
    pl061_set_input(&g, PIN, true);
    assert_true(pl061_irq(&g));
    pl061_write(&g, PL061_IC, BIT);
    assert_true(pl061_irq(&g));
    pl061_set_input(&g, PIN, false);
    assert_false(pl061_irq(&g));
}

/* ---- the power button ---- */

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct dev_list list;
    struct vm_spec spec;
    struct irq_chip chip;
    struct irq_input in;
    pthread_mutex_t m;
    pthread_cond_t c;
    bool level;
    unsigned rises, falls;
    struct intr got;
};

static void set_pin(void *opaque, uint32_t pin, bool level)
{
    struct env *e = opaque;
    assert_int_equal(pin, PL061_PWR_INTID);
    pthread_mutex_lock(&e->m);
    e->level = level;
    if (level)
        e->rises++;
    else
        e->falls++;
    pthread_cond_broadcast(&e->c);
    pthread_mutex_unlock(&e->m);
}

static int resolve(void *opaque, const struct intr *in, int isa,
                   struct irq_line *out)
{
    struct env *e = opaque;
    assert_int_equal(isa, -1);
    e->got = *in;
    *out = irq_line_none();
    out->gsi = in->line;
    return irq_line_connect(out, &e->in);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    pthread_mutex_init(&e->m, NULL);
    pthread_cond_init(&e->c, NULL);
    e->chip = (struct irq_chip){
        .name = "gic", .set_pin = set_pin, .opaque = e, .npins = 1024};
    irq_input_init(&e->in, &e->chip, PL061_PWR_INTID);
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = resolve,
                              .opaque = e,
                              .ev = ev_new()};
    assert_non_null(e->ctx.ev);
    assert_int_equal(ev_start(e->ctx.ev), 0);
    /* vdevs: a pl011, then the GIC (index 1). */
    struct vdev_spec *v = VEC_PUSH(&e->spec.vdevs);
    assert_non_null(v);
    v->type = vdev_type_find("pl011");
    v = VEC_PUSH(&e->spec.vdevs);
    assert_non_null(v);
    v->type = vdev_type_find("gic");
    assert_non_null(v->type);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    ev_stop(e->ctx.ev);
    for (size_t i = 0; i < e->list.v.n; i++)
        e->list.v.v[i].teardown(e->list.v.v[i].state);
    VEC_FREE(&e->list.v);
    VEC_FREE(&e->spec.vdevs);
    ev_free(e->ctx.ev);
    irq_input_destroy(&e->in);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    pthread_cond_destroy(&e->c);
    pthread_mutex_destroy(&e->m);
    free(e);
    return 0;
}

static void wr(struct env *e, uint32_t off, uint32_t v)
{
    assert_int_equal(bus_access(&e->mmio, PL061_PWR_BASE + off, &v, 4, true),
                     BUS_OK);
}

static uint32_t rd(struct env *e, uint32_t off)
{
    uint32_t v = 0;
    assert_int_equal(bus_access(&e->mmio, PL061_PWR_BASE + off, &v, 4, false),
                     BUS_OK);
    return v;
}

/* Until the line has risen `n` times (the bound only turns a hang into a
 * failure). */
static void wait_rises(struct env *e, unsigned n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 60;
    pthread_mutex_lock(&e->m);
    int r = 0;
    while (e->rises < n && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&e->c, &e->m, &dl);
    unsigned got = e->rises;
    pthread_mutex_unlock(&e->m);
    assert_true(got >= n);
}

static bool level(struct env *e)
{
    pthread_mutex_lock(&e->m);
    bool l = e->level;
    pthread_mutex_unlock(&e->m);
    return l;
}

static void test_power_button(void **state)
{
    struct env *e = *state;
    assert_int_equal(pl061_power_realize(&e->spec, &e->ctx, &e->list), 0);
    assert_int_equal(e->list.v.n, 1);
    const struct dev_inst *d = &e->list.v.v[0];
    assert_string_equal(d->name, PL061_DEV_NAME);
    assert_int_equal(d->desc.role, DEV_ROLE_GPIO_POWER);
    assert_int_equal(d->desc.base, PL061_PWR_BASE);
    assert_int_equal(d->desc.gsi, PL061_PWR_INTID);
    assert_int_equal(e->got.pic, 1); /* the spec's GIC */
    assert_int_equal(e->got.line, 63);
    assert_int_equal(rd(e, 0xfe0), 0x61);
    /* Nobody listens: the pin goes high, no interrupt. */
    assert_false(pl061_power_button(d->state));
    assert_int_equal(rd(e, 0x3fc), BIT);
    assert_false(level(e));
    /* gpio-keys binds now (both edges, unmasked): the release, from the
     * I/O thread's timer 100 ms after the press, is an edge it sees. */
    wr(e, PL061_IBE, BIT);
    wr(e, PL061_IE, BIT);
    wait_rises(e, 1);
    assert_int_equal(rd(e, 0x3fc), 0);
    wr(e, PL061_IC, BIT);
    assert_false(level(e));
    /* A press it listens to: the line at once, then the release. */
    assert_true(pl061_power_button(d->state));
    assert_true(level(e));
    wr(e, PL061_IC, BIT); /* the handler acknowledges the press */
    /* Unless this thread was slower than the 100 ms (the release's edge
     * then went with the acknowledgement), the release raises it again. */
    if (rd(e, 0x3fc) == BIT)
        wait_rises(e, 3);
    assert_int_equal(rd(e, 0x3fc), 0);
    pthread_mutex_lock(&e->m);
    assert_true(e->rises >= 2);
    pthread_mutex_unlock(&e->m);
    char line[128];
    d->report(d->state, line, sizeof(line));
    assert_non_null(strstr(line, "ie 0x8"));
}

/* No GIC in the configuration: no button, nothing mapped. */
static void test_no_gic(void **state)
{
    struct env *e = *state;
    e->spec.vdevs.n = 1;
    assert_int_equal(pl061_power_realize(&e->spec, &e->ctx, &e->list), 0);
    assert_int_equal(e->list.v.n, 0);
    uint32_t v;
    assert_int_equal(bus_access(&e->mmio, PL061_PWR_BASE, &v, 4, false),
                     BUS_UNMAPPED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_data),
        cmocka_unit_test(test_both_edges),
        cmocka_unit_test(test_single_edge_and_level),
        cmocka_unit_test_setup_teardown(test_power_button, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_gic, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

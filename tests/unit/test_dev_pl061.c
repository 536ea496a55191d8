/*
 * test_dev_pl061.c: the PL061 GPIO model (devices/pl061.h) behind qvm's
 * aarch64 power button: the PrimeCell IDs Linux's AMBA bus matches,
 * GPIODATA's address mask, the input pin gpio-keys watches with both
 * edges (a press and a release), single-edge and level modes, the
 * interrupt clear and mask.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/pl061.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_data),
        cmocka_unit_test(test_both_edges),
        cmocka_unit_test(test_single_edge_and_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

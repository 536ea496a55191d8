/*
 * test_vm_stop.c: qvm's exit status per stop reason (src/vm/stop.h,
 * docs/exit-codes.md): QNX's codes, and QVM_RESET_STATUS, which makes a
 * guest reset end with a status of its own (qvm@.service restarts on it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vm/stop.h"

static void qnx_codes(void **state)
{
    (void)state;
    assert_int_equal(vm_stop_status(STOP_POWEROFF, 0), 0);
    assert_int_equal(vm_stop_status(STOP_RESET, 0), 0);
    assert_int_equal(vm_stop_status(STOP_POWERCUT, 0), 3);
    assert_int_equal(vm_stop_status(STOP_WATCHDOG, 0), 4);
    assert_int_equal(vm_stop_status(STOP_UNSUPPORTED, 0), 5);
    assert_int_equal(vm_stop_status(STOP_VDEV, 0), 6);
    assert_int_equal(vm_stop_status(STOP_INTERNAL, 0), 7);
    assert_int_equal(vm_stop_status(STOP_FATAL, 0), 96);
    assert_int_equal(vm_stop_status((enum vm_stop)99, 0), 7);
}

/* The reset status changes a reset's status and nothing else's: a
 * power-off stays 0, so that the unit does not restart it. */
static void reset_status(void **state)
{
    (void)state;
    assert_int_equal(vm_stop_status(STOP_RESET, 32), 32);
    assert_int_equal(vm_stop_status(STOP_RESET, 63), 63);
    assert_int_equal(vm_stop_status(STOP_POWEROFF, 32), 0);
    assert_int_equal(vm_stop_status(STOP_POWERCUT, 32), 3);
    assert_int_equal(vm_stop_status(STOP_WATCHDOG, 32), 4);
    assert_int_equal(vm_stop_status(STOP_FATAL, 32), 96);
}

static void reset_status_parse(void **state)
{
    (void)state;
    assert_int_equal(vm_reset_status_parse(NULL), 0);
    assert_int_equal(vm_reset_status_parse(""), 0);
    assert_int_equal(vm_reset_status_parse("0"), 0);
    assert_int_equal(vm_reset_status_parse("32"), 32);
    assert_int_equal(vm_reset_status_parse("063"), 63);
    /* QNX's own codes and those outside the user range are refused: a
     * reset must not look like a power cut (3) or a config error (65). */
    assert_int_equal(vm_reset_status_parse("3"), -1);
    assert_int_equal(vm_reset_status_parse("31"), -1);
    assert_int_equal(vm_reset_status_parse("64"), -1);
    assert_int_equal(vm_reset_status_parse("65"), -1);
    assert_int_equal(vm_reset_status_parse("99999999999999999999"), -1);
    assert_int_equal(vm_reset_status_parse("-32"), -1);
    assert_int_equal(vm_reset_status_parse("32 "), -1);
    assert_int_equal(vm_reset_status_parse("0x20"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qnx_codes),
        cmocka_unit_test(reset_status),
        cmocka_unit_test(reset_status_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

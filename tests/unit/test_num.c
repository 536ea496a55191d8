/* test_num.c: the qvmconf number, size and boolean grammar; util/ckd.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/ckd.h"
#include "util/num.h"

static uint64_t ok(const char *s, bool suffix)
{
    uint64_t v = 0xdead;
    assert_int_equal(num_parse(s, suffix, &v), NUM_OK);
    return v;
}

static void test_bases(void **st)
{
    (void)st;
    assert_int_equal(ok("0", false), 0);
    assert_int_equal(ok("42", false), 42);
    assert_int_equal(ok("010", false), 10); /* no octal */
    assert_int_equal(ok("0x1F", false), 31);
    assert_int_equal(ok("0XfF", false), 255);
    assert_int_equal(ok("0d16384", false), 16384);
    assert_int_equal(ok("0xffffffffffffffff", false), UINT64_MAX);
    assert_int_equal(ok("18446744073709551615", false), UINT64_MAX);
}

static void test_suffixes(void **st)
{
    (void)st;
    assert_int_equal(ok("4k", true), 4096);
    assert_int_equal(ok("4K", true), 4096);
    assert_int_equal(ok("128m", true), 128ULL << 20);
    assert_int_equal(ok("1023M", true), 1023ULL << 20);
    assert_int_equal(ok("2g", true), 2ULL << 30);
    assert_int_equal(ok("1T", true), 1ULL << 40);
    assert_int_equal(ok("0x10M", true), 16ULL << 20);
    assert_int_equal(ok("0d8K", true), 8192);
}

static void test_errors(void **st)
{
    (void)st;
    uint64_t v;
    assert_int_equal(num_parse("", true, &v), NUM_EMPTY);
    assert_int_equal(num_parse("0x", true, &v), NUM_EMPTY);
    assert_int_equal(num_parse("0d", true, &v), NUM_EMPTY);
    assert_int_equal(num_parse("12x", true, &v), NUM_BAD);
    assert_int_equal(num_parse("1024Q", true, &v), NUM_BAD);
    assert_int_equal(num_parse("-1", true, &v), NUM_BAD);
    assert_int_equal(num_parse("1MB", true, &v), NUM_BAD);
    assert_int_equal(num_parse("0xg", true, &v), NUM_BAD);
    assert_int_equal(num_parse("0d1f", true, &v), NUM_BAD);
    assert_int_equal(num_parse("4K", false, &v), NUM_SUFFIX);
    assert_int_equal(num_parse("18446744073709551616", false, &v),
                     NUM_OVERFLOW);
    assert_int_equal(num_parse("0x10000000000000000", false, &v), NUM_OVERFLOW);
    assert_int_equal(num_parse("99999999999G", true, &v), NUM_OVERFLOW);
    assert_int_equal(num_parse("16777216T", true, &v), NUM_OVERFLOW);
    assert_string_equal(num_strerror(NUM_OVERFLOW), "does not fit in 64 bits");
}

static void test_bool(void **st)
{
    (void)st;
    const char *yes[] = {"1", "yes", "on", "true", "enable", "ON", "True"};
    const char *no[] = {"0", "no", "off", "false", "disable", "Off"};
    bool b;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        assert_true(bool_parse(yes[i], &b));
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = true;
        assert_true(bool_parse(no[i], &b));
        assert_false(b);
    }
    assert_false(bool_parse("2", &b));
    assert_false(bool_parse("", &b));
    assert_false(bool_parse("yess", &b));
}

static void test_size_str(void **st)
{
    (void)st;
    char buf[32];
    size_str(0xa0000, buf, sizeof(buf));
    assert_string_equal(buf, "640K");
    size_str(1ULL << 30, buf, sizeof(buf));
    assert_string_equal(buf, "1G");
    size_str(1023ULL << 20, buf, sizeof(buf));
    assert_string_equal(buf, "1023M");
    size_str(100, buf, sizeof(buf));
    assert_string_equal(buf, "100");
    size_str(0x1800, buf, sizeof(buf));
    assert_string_equal(buf, "6K");
}

/* range_within: [off, off+len) inside [0, limit), never by wrapping. */
static void test_range_within(void **st)
{
    (void)st;
    assert_true(range_within(0, 0x40, 0x40));
    assert_true(range_within(0x38, 8, 0x40));
    assert_true(range_within(0x40, 0, 0x40)); /* empty, at the end */
    assert_true(range_within(0, 0, 0));
    assert_false(range_within(0x39, 8, 0x40));
    assert_false(range_within(0x41, 0, 0x40));
    assert_false(range_within(0, 0x41, 0x40));
    /* the sums wrap to small numbers: each must still be outside */
    assert_false(range_within(0xfffffffffffffff8ull, 8, 0x40));
    assert_false(range_within(0xfffffffffffffff8ull, 0x10, 0x40));
    assert_false(range_within(8, UINT64_MAX, 0x40));
    assert_false(range_within(UINT64_MAX, 1, UINT64_MAX));
    assert_true(range_within(0, UINT64_MAX, UINT64_MAX));
    assert_true(range_within(UINT64_MAX - 1, 1, UINT64_MAX));
    /* 32-bit guest offsets (the virtio-pci configuration window) */
    assert_false(range_within(0xfffffffcu, 4, 0x4000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bases),    cmocka_unit_test(test_suffixes),
        cmocka_unit_test(test_errors),   cmocka_unit_test(test_bool),
        cmocka_unit_test(test_size_str), cmocka_unit_test(test_range_within),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

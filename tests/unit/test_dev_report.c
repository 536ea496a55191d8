/*
 * test_dev_report.c: what the configuration asks of every device: the
 * SIGUSR1 report's device lines (devices_report: every device with its
 * report hook's line, `set debug off` leaving a vdev out, the last `set
 * debug` of a vdev deciding), and `tolerance` as the device timers' slack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/schema.h"
#include "devices/device.h"
#include "devices/dtimer.h"
#include "util/log.h"

static char lines[4096];

static void sink(enum log_class c, const char *line)
{
    (void)c;
    size_t n = strlen(lines);
    snprintf(lines + n, sizeof(lines) - n, "%s\n", line);
}

static void report_kbd(void *state, char *buf, size_t len)
{
    snprintf(buf, len, "kbd state %d", *(int *)state);
}

static void add_set(struct vm_spec *s, int vdev, const char *value)
{
    struct set_var *sv = VEC_PUSH(&s->sets);
    assert_non_null(sv);
    *sv = (struct set_var){.name = strdup("debug"),
                           .value = strdup(value),
                           .cpu = -1,
                           .vdev = vdev};
}

static void report_lines(void **st)
{
    (void)st;
    struct vm_spec s;
    spec_init(&s, ARCH_X86_64);
    const char *types[] = {"pckeyboard", "mc146818", "ser8250"};
    for (unsigned i = 0; i < 3; i++) {
        struct vdev_spec *vd = VEC_PUSH(&s.vdevs);
        assert_non_null(vd);
        vd->type = vdev_type_find(types[i]);
        vd->span = (struct src_span){"g.qvmconf", 10 + i, 1};
    }
    s.vdevs.v[0].name = strdup("kbd0");
    add_set(&s, 1, "off"); /* the RTC: left out */
    add_set(&s, 0, "off"); /* the keyboard: off, then on again */
    add_set(&s, 0, "on");
    int kstate = 42;
    struct dev_list l = {0};
    struct dev_inst *d;
    assert_non_null(d = VEC_PUSH(&l.v));
    *d = (struct dev_inst){.name = "pckeyboard",
                           .state = &kstate,
                           .report = report_kbd,
                           .vd = &s.vdevs.v[0]};
    assert_non_null(d = VEC_PUSH(&l.v));
    *d = (struct dev_inst){.name = "mc146818", .vd = &s.vdevs.v[1]};
    assert_non_null(d = VEC_PUSH(&l.v));
    *d = (struct dev_inst){.name = "ser8250",
                           .vd = &s.vdevs.v[2],
                           .desc = {.base = 0x3f8, .size = 8}};
    assert_non_null(d = VEC_PUSH(&l.v));
    *d = (struct dev_inst){.name = "acpi-pm"};
    lines[0] = 0;
    log_set_sink(sink);
    devices_report(&l, &s);
    log_set_sink(NULL);
    if (getenv("TEST_VERBOSE"))
        fputs(lines, stderr);
    assert_non_null(strstr(lines, "status: device pckeyboard 'kbd0' "
                                  "(g.qvmconf:10): kbd state 42\n"));
    assert_null(strstr(lines, "mc146818"));
    assert_non_null(strstr(lines, "status: device ser8250 (g.qvmconf:12): "
                                  "at 0x3f8 (8 bytes)\n"));
    assert_non_null(strstr(lines, "status: device acpi-pm (qvm's own): "
                                  "running\n"));
    assert_non_null(strstr(lines, "status: 1 device(s) left out (`set debug "
                                  "off`)\n"));
    VEC_FREE(&l.v);
    spec_free(&s);
}

/* `tolerance US`: every device timer's deadline is rounded up to a
 * multiple of it (timers due close together share one wake-up); the
 * default is 100 us. */
static void tolerance_rounds_deadlines(void **st)
{
    (void)st;
    struct vm_spec s;
    spec_init(&s, ARCH_X86_64);
    s.tolerance_us = 250;
    uint64_t slack = devices_timer_slack_ns(&s);
    assert_int_equal(slack, 250000);
    assert_int_equal(dtimer_round(1000000001, slack), 1000250000);
    assert_int_equal(dtimer_round(1000250000, slack), 1000250000);
    s.tolerance_us = 0; /* not given: 100 us */
    assert_int_equal(devices_timer_slack_ns(&s), 100000);
    assert_int_equal(dtimer_round(1000000001, 100000), 1000100000);
    assert_int_equal(dtimer_round(1234, 0), 1234);
    assert_int_equal(dtimer_round(UINT64_MAX - 1, 1000), UINT64_MAX - 1);
    spec_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_lines),
        cmocka_unit_test(tolerance_rounds_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_dev_report.c: the SIGUSR1 report's device lines (devices_report):
 * every device with its report hook's line, `set debug off` leaving a vdev
 * out, the last `set debug` of a vdev deciding.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

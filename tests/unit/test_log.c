/*
 * test_log.c: the rate-limited log helper for guest-driven messages
 * (src/util/log.c): a burst, then one line per interval, the "suppressed"
 * line when lines get through again, per-site budgets, and a budget shared
 * by threads. The clock is the test's own: no wall-clock windows.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/log.h"

static _Atomic uint64_t fake_ms;
static uint64_t fake_clock(void)
{
    return atomic_load(&fake_ms);
}

static pthread_mutex_t lines_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned nlines;
static char last[1024], prev[1024];

static void sink(enum log_class c, const char *line)
{
    (void)c;
    pthread_mutex_lock(&lines_lock);
    nlines++;
    snprintf(prev, sizeof(prev), "%s", last);
    snprintf(last, sizeof(last), "%s", line);
    pthread_mutex_unlock(&lines_lock);
}

static int setup(void **state)
{
    (void)state;
    atomic_store(&fake_ms, 1000000);
    nlines = 0;
    last[0] = prev[0] = 0;
    log_set_clock(fake_clock);
    log_set_sink(sink);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_set_sink(NULL);
    log_set_clock(NULL);
    return 0;
}

static void burst_then_interval(void **state)
{
    (void)state;
    struct log_budget b = LOG_BUDGET_INIT(3, 1000);
    for (unsigned i = 0; i < 100000; i++)
        log_guest(&b, LOG_WARN, "t", "bad %u", i);
    assert_int_equal(nlines, 3);
    assert_string_equal(last, "qvm: warn: t: bad 2");
    /* Less than an interval later: still nothing. */
    atomic_fetch_add(&fake_ms, 999);
    log_guest(&b, LOG_WARN, "t", "bad again");
    assert_int_equal(nlines, 3);
    /* One interval: one line, after the count of what was dropped. */
    atomic_fetch_add(&fake_ms, 1);
    log_guest(&b, LOG_WARN, "t", "bad later");
    log_guest(&b, LOG_WARN, "t", "bad later still");
    assert_int_equal(nlines, 5);
    assert_string_equal(prev,
                        "qvm: warn: t: 99998 similar messages suppressed");
    assert_string_equal(last, "qvm: warn: t: bad later");
    /* A long quiet time gives back the whole burst, not more. */
    atomic_fetch_add(&fake_ms, 1000000);
    for (unsigned i = 0; i < 10; i++)
        log_guest(&b, LOG_WARN, "t", "after quiet %u", i);
    assert_int_equal(nlines, 5 + 1 + 3); /* suppressed line + burst */
}

static void per_site_budget(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 1000; i++)
        LOG_RATELIMITED(LOG_WARN, "a", "site a %u", i);
    assert_int_equal(nlines, LOG_BURST);
    for (unsigned i = 0; i < 1000; i++)
        LOG_RATELIMITED(LOG_WARN, "b", "site b %u", i);
    assert_int_equal(nlines, 2 * LOG_BURST);
}

static void zeroed_budget_has_default(void **state)
{
    (void)state;
    struct log_budget b = {0};
    for (unsigned i = 0; i < 1000; i++)
        log_guest(&b, LOG_ERROR, "z", "x");
    assert_int_equal(nlines, LOG_BURST);
}

static struct log_budget shared = LOG_BUDGET_INIT(7, 1000);

static void *hammer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < 20000; i++)
        log_guest(&shared, LOG_WARN, "mt", "%u", i);
    return NULL;
}

static void threads_share_a_budget(void **state)
{
    (void)state;
    pthread_t th[4];
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (unsigned i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(nlines, 7);
    atomic_fetch_add(&fake_ms, 1000);
    log_guest(&shared, LOG_WARN, "mt", "later");
    assert_int_equal(nlines, 9);
    assert_string_equal(prev,
                        "qvm: warn: mt: 79993 similar messages suppressed");
}

/* A vdev's `log FILTERS DEST`: its type's lines of those classes go to
 * DEST, the other classes and other tags follow the class's destination. */
static void read_back(FILE *f, char *buf, size_t len)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
}

static void per_tag_routes(void **state)
{
    (void)state;
    FILE *o = tmpfile(), *e = tmpfile();
    assert_non_null(o);
    assert_non_null(e);
    fflush(stdout);
    fflush(stderr);
    int so = dup(STDOUT_FILENO), se = dup(STDERR_FILENO);
    dup2(fileno(o), STDOUT_FILENO);
    dup2(fileno(e), STDERR_FILENO);
    log_routes_clear();
    assert_int_equal(
        log_route_tag("ser8250", 1u << LOG_DEBUG | 1u << LOG_WARN, LOGD_STDOUT),
        0);
    assert_int_equal(log_route_tag("pckeyboard", 1u << LOG_WARN, LOGD_NONE), 0);
    assert_true(log_enabled_tag(LOG_DEBUG, "ser8250"));
    assert_false(log_enabled_tag(LOG_DEBUG, "mc146818"));
    log_debug("ser8250", "a");
    log_debug("mc146818", "b");
    log_warn("ser8250", "c");
    log_warn("pckeyboard", "d");
    log_warn("x", "e");
    log_info("ser8250", "f");
    LOG_RATELIMITED(LOG_DEBUG, "ser8250", "g");
    log_routes_clear();
    log_debug("ser8250", "h");
    dup2(so, STDOUT_FILENO);
    dup2(se, STDERR_FILENO);
    close(so);
    close(se);
    char out[512], err[512];
    read_back(o, out, sizeof(out));
    read_back(e, err, sizeof(err));
    fclose(o);
    fclose(e);
    assert_string_equal(out, "qvm: debug: ser8250: a\n"
                             "qvm: warn: ser8250: c\n"
                             "qvm: debug: ser8250: g\n");
    assert_string_equal(err, "qvm: warn: x: e\nqvm: info: ser8250: f\n");
}

/* A fake /dev/log: a datagram socket bound in a scratch directory. */
static int fake_devlog(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    unlink(path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* The datagram waiting on fd (the sender's send() has returned: it is
 * queued), or "" when there is none. */
static void recv_line(int fd, char *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = 0;
}

/* What `logger ... slog` sends: one syslog datagram per line, with the
 * VM's name as the identifier (journald's SYSLOG_IDENTIFIER), its pid,
 * the severity of its class; a restarted journald (a new socket at the
 * same path) gets the next line. */
static void slog_datagrams(void **state)
{
    (void)state;
    char dir[] = "/tmp/qvm-test-slog-XXXXXX", path[64], buf[1500], want[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/log", dir);
    int srv = fake_devlog(path);
    log_set_sink(NULL);
    log_routes_clear();
    log_slog_set_path(path);
    log_slog_set_ident("web 1:x");
    assert_string_equal(log_slog_ident(), "qvm@web_1_x");
    log_slog_set_ident("web1");
    log_slog_open();
    log_set_dest(LOG_INFO, LOGD_SLOG);
    log_set_dest(LOG_ERROR, LOGD_SLOG);
    log_info("platform", "guest powered off %d", 7);
    recv_line(srv, buf, sizeof(buf));
    /* <13>: facility user (8) | notice (5); then "Mmm dd hh:mm:ss " */
    assert_memory_equal(buf, "<13>", 4);
    assert_true(strlen(buf) > 4 + 16);
    assert_int_equal(buf[4 + 15], ' ');
    snprintf(want, sizeof(want),
             "qvm@web1[%ld]: info: platform: guest "
             "powered off 7",
             (long)getpid());
    assert_string_equal(buf + 4 + 16, want);
    log_error("hostdev", "e");
    recv_line(srv, buf, sizeof(buf));
    assert_memory_equal(buf, "<11>", 4); /* user | err */
    assert_non_null(strstr(buf, "]: error: hostdev: e"));
    recv_line(srv, buf, sizeof(buf));
    assert_string_equal(buf, ""); /* one datagram per line */

    /* journald restarts: its socket is replaced; qvm reconnects */
    close(srv);
    srv = fake_devlog(path);
    log_slog_set_ident(NULL);
    log_info(NULL, "after restart");
    recv_line(srv, buf, sizeof(buf));
    snprintf(want, sizeof(want), "qvm[%ld]: info: after restart",
             (long)getpid());
    assert_non_null(strstr(buf, want));

    log_set_dest(LOG_INFO, LOGD_STDERR);
    log_set_dest(LOG_ERROR, LOGD_STDERR);
    log_slog_set_path(NULL);
    close(srv);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(burst_then_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(per_site_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(zeroed_budget_has_default, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(threads_share_a_budget, setup,
                                        teardown),
        cmocka_unit_test(per_tag_routes),
        cmocka_unit_test(slog_datagrams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_chardev.c: the host end shared by ser8250 and virtio-console
 * (src/devices/chardev.c) on a running event loop: output flow control
 * (a short chardev_write, then `output_room` once a FIFO reader drains, and
 * every byte in order), input read only while the owner wants it
 * (backpressure), a writer that hangs up while input is paused does not
 * make the event thread spin, the `>|command` form gets all output before
 * it is reaped, hostdevs that cannot be opened are clean errors, and
 * `delayed` opens them at a later access (retrying once a second).
 *
 * No wall-clock windows: callbacks signal a condition variable, and
 * "nothing happens" is checked after a barrier through the event loop
 * (ev_flush.h), with the event thread's callback count as the witness.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/schema.h"
#include "devices/chardev.h"
#include "util/log.h"
#include "ev_flush.h"

#define WAIT_S 60 /* bounds a wait for a callback; reached only on a bug */

struct env {
    struct dev_ctx ctx;
    struct vdev_spec vd;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* broadcast by every callback (under lock) */
    struct chardev *cd;
    char dir[64], fifo[128];
    /* Callback records (under lock). */
    unsigned inputs, rooms;
    bool want;
    char in[256];
    size_t in_len;
    bool in_end;
};

static void on_input(void *opaque)
{
    struct env *e = opaque;
    e->inputs++;
    for (;;) {
        size_t room = sizeof(e->in) - e->in_len;
        ssize_t n = chardev_read(e->cd, e->in + e->in_len, room);
        if (n < 0)
            e->in_end = true;
        if (n <= 0)
            break;
        e->in_len += (size_t)n;
    }
    chardev_want_input(e->cd, e->want);
    pthread_cond_broadcast(&e->cond);
}

static void on_room(void *opaque)
{
    struct env *e = opaque;
    e->rooms++;
    pthread_cond_broadcast(&e->cond);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->ctx.ev = ev_new();
    assert_non_null(e->ctx.ev);
    assert_int_equal(ev_start(e->ctx.ev), 0);
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cond, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(e->dir, sizeof(e->dir), "/tmp/test_chardev.XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->fifo, sizeof(e->fifo), "%s/fifo", e->dir);
    assert_int_equal(mkfifo(e->fifo, 0600), 0);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    ev_stop(e->ctx.ev);
    chardev_close(e->cd);
    for (size_t i = 0; i < e->vd.hostdevs.n; i++)
        free(e->vd.hostdevs.v[i].path);
    VEC_FREE(&e->vd.hostdevs);
    VEC_FREE(&e->vd.opts);
    char path[160];
    snprintf(path, sizeof(path), "%s/out", e->dir);
    unlink(path);
    static const char *const extra[] = {"victim", "link", "null"};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", e->dir, extra[i]);
        unlink(path);
    }
    unlink(e->fifo);
    rmdir(e->dir);
    ev_free(e->ctx.ev);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    free(e);
    return 0;
}

static void add_hostdev(struct env *e, enum hostdev_dir dir,
                        enum hostdev_kind kind, const char *path)
{
    struct hostdev *h = VEC_PUSH(&e->vd.hostdevs);
    h->dir = dir;
    h->kind = kind;
    h->path = strdup(path);
}

static int open_cd(struct env *e)
{
    const struct chardev_params p = {.tag = "test",
                                     .what = "the test device",
                                     .lock = &e->lock,
                                     .input = on_input,
                                     .output_room = on_room,
                                     .opaque = e};
    return chardev_new(&e->vd, &e->ctx, &p, &e->cd);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Wait until *counter (read under lock) differs from `old`. */
static unsigned wait_change(struct env *e, const unsigned *counter,
                            unsigned old)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += WAIT_S;
    pthread_mutex_lock(&e->lock);
    int err = 0;
    while (*counter == old && err != ETIMEDOUT)
        err = pthread_cond_timedwait(&e->cond, &e->lock, &dl);
    unsigned v = *counter;
    pthread_mutex_unlock(&e->lock);
    if (v == old)
        fail_msg("no callback within %d s", WAIT_S);
    return v;
}

/* Wait until the input callback saw the end of input. */
static void wait_in_end(struct env *e)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += WAIT_S;
    pthread_mutex_lock(&e->lock);
    int err = 0;
    while (!e->in_end && err != ETIMEDOUT)
        err = pthread_cond_timedwait(&e->cond, &e->lock, &dl);
    pthread_mutex_unlock(&e->lock);
}

#define BIG (300u * 1024)

static void test_write_flow_control(void **state)
{
    struct env *e = *state;
    int rd = open(e->fifo, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    add_hostdev(e, HOSTDEV_OUT, HOSTDEV_PATH, e->fifo);
    assert_int_equal(open_cd(e), 0);
    uint8_t *src = malloc(BIG), *got = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        src[i] = (uint8_t)(i * 7 + i / 251);
    pthread_mutex_lock(&e->lock);
    size_t sent = chardev_write(e->cd, src, BIG);
    pthread_mutex_unlock(&e->lock);
    /* The pipe and the 64 KiB buffer take part; the rest is refused. */
    assert_true(sent >= 64 * 1024);
    assert_true(sent < BIG);
    size_t have = 0;
    unsigned rooms = 0;
    /* Read what arrives; hand the rest over at each output_room. A stall
     * (no byte and no callback for WAIT_S) is the failure. */
    double progress = mono_s();
    while (have < BIG && mono_s() - progress < WAIT_S) {
        struct pollfd p = {.fd = rd, .events = POLLIN};
        (void)poll(&p, 1, 10);
        ssize_t n = read(rd, got + have, BIG - have);
        if (n > 0) {
            have += (size_t)n;
            progress = mono_s();
        }
        pthread_mutex_lock(&e->lock);
        if (e->rooms != rooms && sent < BIG) {
            rooms = e->rooms;
            sent += chardev_write(e->cd, src + sent, BIG - sent);
            progress = mono_s();
        }
        pthread_mutex_unlock(&e->lock);
    }
    assert_int_equal(have, BIG);
    assert_true(rooms >= 1);
    assert_memory_equal(got, src, BIG);
    close(rd);
    free(src);
    free(got);
}

static void test_input_backpressure(void **state)
{
    struct env *e = *state;
    add_hostdev(e, HOSTDEV_IN, HOSTDEV_PATH, e->fifo);
    assert_int_equal(open_cd(e), 0);
    int wr = open(e->fifo, O_WRONLY | O_NONBLOCK);
    assert_true(wr >= 0);
    pthread_mutex_lock(&e->lock);
    e->want = true;
    chardev_want_input(e->cd, true);
    unsigned n0 = e->inputs;
    pthread_mutex_unlock(&e->lock);
    assert_int_equal(write(wr, "abc", 3), 3);
    wait_change(e, &e->inputs, n0);
    pthread_mutex_lock(&e->lock);
    assert_int_equal(e->in_len, 3);
    assert_memory_equal(e->in, "abc", 3);
    /* Paused: no callback, the bytes stay in the FIFO. */
    e->want = false;
    chardev_want_input(e->cd, false);
    unsigned n1 = e->inputs;
    pthread_mutex_unlock(&e->lock);
    assert_int_equal(write(wr, "def", 3), 3);
    /* Every event due is handled (the FIFO is readable before the
     * barrier is posted): still no callback. */
    assert_true(ev_flush(e->ctx.ev));
    pthread_mutex_lock(&e->lock);
    assert_int_equal(e->inputs, n1);
    assert_int_equal(e->in_len, 3);
    e->want = true;
    chardev_want_input(e->cd, true); /* resumed */
    pthread_mutex_unlock(&e->lock);
    wait_change(e, &e->inputs, n1);
    pthread_mutex_lock(&e->lock);
    assert_int_equal(e->in_len, 6);
    assert_memory_equal(e->in, "abcdef", 6);
    assert_false(e->in_end);
    pthread_mutex_unlock(&e->lock);
    close(wr);
}

static void test_hangup_while_paused(void **state)
{
    struct env *e = *state;
    add_hostdev(e, HOSTDEV_IN, HOSTDEV_PATH, e->fifo);
    assert_int_equal(open_cd(e), 0);
    int wr = open(e->fifo, O_WRONLY | O_NONBLOCK);
    assert_true(wr >= 0);
    assert_int_equal(write(wr, "x", 1), 1);
    close(wr); /* hang-up, with input not wanted */
    /* The hang-up is reported (at most once) before the first barrier
     * completes. A fd that keeps being reported (level-triggered with no
     * events: epoll still reports EPOLLHUP) is reported again in every
     * epoll_wait, so at each later barrier: the event thread spins. Two
     * more barriers then may cost two callbacks (the markers), no more. */
    assert_true(ev_flush(e->ctx.ev));
    uint64_t d0 = ev_dispatches(e->ctx.ev);
    assert_true(ev_flush(e->ctx.ev));
    assert_true(ev_flush(e->ctx.ev));
    assert_int_equal(ev_dispatches(e->ctx.ev) - d0, 2);
    pthread_mutex_lock(&e->lock);
    assert_int_equal(e->inputs, 0);
    unsigned n0 = e->inputs;
    e->want = true;
    chardev_want_input(e->cd, true);
    pthread_mutex_unlock(&e->lock);
    wait_change(e, &e->inputs, n0);
    wait_in_end(e);
    pthread_mutex_lock(&e->lock);
    assert_int_equal(e->in_len, 1);
    assert_int_equal(e->in[0], 'x');
    assert_true(e->in_end); /* end of input: -1 from chardev_read */
    char c;
    assert_int_equal(chardev_read(e->cd, &c, 1), -1);
    pthread_mutex_unlock(&e->lock);
}

static void test_pipe_command(void **state)
{
    struct env *e = *state;
    char cmd[200], path[160];
    snprintf(path, sizeof(path), "%s/out", e->dir);
    snprintf(cmd, sizeof(cmd), "cat >'%s'", path);
    add_hostdev(e, HOSTDEV_OUT, HOSTDEV_PIPE, cmd);
    assert_int_equal(open_cd(e), 0);
    pthread_mutex_lock(&e->lock);
    chardev_put(e->cd, "piped ", 6);
    assert_int_equal(chardev_write(e->cd, "output", 6), 6);
    pthread_mutex_unlock(&e->lock);
    ev_stop(e->ctx.ev);
    chardev_close(e->cd); /* flushes, closes the pipe, waits for cat */
    e->cd = NULL;
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[32] = {0};
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "piped output");
}

static void test_open_errors(void **state)
{
    struct env *e = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/missing/in", e->dir);
    add_hostdev(e, HOSTDEV_IN, HOSTDEV_PATH, path);
    assert_int_equal(open_cd(e), -1);
    assert_null(e->cd);
    /* `delayed 0`: no error at start, one try at the first access. */
    static const struct opt_def delayed = {.name = "delayed"};
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    o->def = &delayed;
    o->num = 0;
    assert_int_equal(open_cd(e), 0);
    assert_non_null(e->cd);
    pthread_mutex_lock(&e->lock);
    assert_false(chardev_access(e->cd));
    char c;
    assert_int_equal(chardev_read(e->cd, &c, 1), -1);
    assert_int_equal(chardev_write(e->cd, "x", 1), 1); /* discarded */
    pthread_mutex_unlock(&e->lock);
}

static void test_delayed_open(void **state)
{
    struct env *e = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/out", e->dir);
    add_hostdev(e, HOSTDEV_IN, HOSTDEV_PATH, path);
    static const struct opt_def delayed = {.name = "delayed"};
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    o->def = &delayed;
    o->num = UINT64_MAX; /* forever */
    assert_int_equal(open_cd(e), 0);
    double t0 = mono_s(); /* before the first try */
    pthread_mutex_lock(&e->lock);
    assert_false(chardev_access(e->cd)); /* first access: not there */
    pthread_mutex_unlock(&e->lock);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("late", f);
    fclose(f);
    /* Retried at most once a second: an open now is wrong unless this
     * thread was held up for a second since t0 (then it is the retry). */
    pthread_mutex_lock(&e->lock);
    bool early = chardev_access(e->cd);
    pthread_mutex_unlock(&e->lock);
    if (early)
        assert_true(mono_s() - t0 >= 1.0);
    else
        sleep_ms(1100); /* a lower bound: the retry is due after it */
    pthread_mutex_lock(&e->lock);
    if (!early)
        assert_true(chardev_access(e->cd));
    assert_false(chardev_access(e->cd)); /* opened once */
    char buf[8] = {0};
    assert_int_equal(chardev_read(e->cd, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "late");
    assert_int_equal(chardev_read(e->cd, buf, sizeof(buf)), -1);
    pthread_mutex_unlock(&e->lock);
}

/* The log, captured. */
static unsigned cap_lines, log_lines;
static void log_sink(enum log_class c, const char *line)
{
    (void)c;
    log_lines++;
    if (strstr(line, "reached its cap of 1000 bytes"))
        cap_lines++;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_output_cap(void **state)
{
    struct env *e = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/out", e->dir);
    add_hostdev(e, HOSTDEV_OUT, HOSTDEV_PATH, path);
    setenv("QVM_OUTPUT_CAP", "1000", 1);
    int rc = open_cd(e);
    unsetenv("QVM_OUTPUT_CAP");
    assert_int_equal(rc, 0);
    cap_lines = log_lines = 0;
    log_set_sink(log_sink);
    char buf[300];
    memset(buf, 'x', sizeof(buf));
    pthread_mutex_lock(&e->lock);
    /* The guest never waits: every write is taken (past the cap: dropped). */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(chardev_write(e->cd, buf, sizeof(buf)), sizeof(buf));
    for (int i = 0; i < 1000; i++)
        chardev_put(e->cd, buf, 7);
    pthread_mutex_unlock(&e->lock);
    ev_stop(e->ctx.ev);
    chardev_close(e->cd);
    e->cd = NULL;
    log_set_sink(NULL);
    assert_int_equal(file_size(path), 1000);
    assert_int_equal(cap_lines, 1);
    assert_int_equal(log_lines, 2); /* the cap, then the total at close */
}

static void test_output_cap_env(void **state)
{
    struct env *e = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/out", e->dir);
    add_hostdev(e, HOSTDEV_OUT, HOSTDEV_PATH, path);
    setenv("QVM_OUTPUT_CAP", "lots", 1);
    assert_int_equal(open_cd(e), -1);
    /* 0: no cap. */
    setenv("QVM_OUTPUT_CAP", "0", 1);
    int rc = open_cd(e);
    unsetenv("QVM_OUTPUT_CAP");
    assert_int_equal(rc, 0);
    char buf[4096];
    memset(buf, 'y', sizeof(buf));
    pthread_mutex_lock(&e->lock);
    for (int i = 0; i < 64; i++)
        assert_int_equal(chardev_write(e->cd, buf, sizeof(buf)), sizeof(buf));
    pthread_mutex_unlock(&e->lock);
    ev_stop(e->ctx.ev);
    chardev_close(e->cd);
    e->cd = NULL;
    assert_int_equal(file_size(path), 64 * 4096);
}

static void test_output_file_mode(void **state)
{
    struct env *e = *state;
    char path[160];
    snprintf(path, sizeof(path), "%s/out", e->dir);
    add_hostdev(e, HOSTDEV_OUT, HOSTDEV_PATH, path);
    mode_t old = umask(0);
    int rc = open_cd(e);
    umask(old);
    assert_int_equal(rc, 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_output_no_symlink(void **state)
{
    struct env *e = *state;
    char victim[160], link[160], null[160];
    snprintf(victim, sizeof(victim), "%s/victim", e->dir);
    snprintf(link, sizeof(link), "%s/link", e->dir);
    snprintf(null, sizeof(null), "%s/null", e->dir);
    FILE *f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);
    assert_int_equal(symlink(victim, link), 0);
    /* `>link` and `link`: refused, the target untouched. */
    add_hostdev(e, HOSTDEV_OUT, HOSTDEV_PATH, link);
    assert_int_equal(open_cd(e), -1);
    e->vd.hostdevs.v[0].dir = HOSTDEV_BOTH;
    assert_int_equal(open_cd(e), -1);
    assert_null(e->cd);
    assert_int_equal(file_size(victim), 8);
    /* A link to a device is still followed (/dev/serial/by-id/...). */
    assert_int_equal(symlink("/dev/null", null), 0);
    free(e->vd.hostdevs.v[0].path);
    e->vd.hostdevs.v[0].path = strdup(null);
    e->vd.hostdevs.v[0].dir = HOSTDEV_OUT;
    assert_int_equal(open_cd(e), 0);
}

/* Guest output to stdout when stdout is a pipe nobody reads: a private
 * non-blocking description (stdout's own, shared with the shell, stays
 * blocking), so a full pipe drops output instead of blocking the vCPU. */
static void test_stdout_never_blocks(void **state)
{
    struct env *e = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
    close(p[1]);
    add_hostdev(e, HOSTDEV_OUT, HOSTDEV_STDIO, "-");
    int rc = open_cd(e);
    int fl1 = fcntl(STDOUT_FILENO, F_GETFL);
    /* The chardev's own descriptor of the pipe: non-blocking. */
    struct stat pst, st;
    assert_int_equal(fstat(STDOUT_FILENO, &pst), 0);
    int own = -1;
    for (int fd = 3; fd < 1024 && own < 0; fd++)
        if (fd != saved && fd != p[0] && fstat(fd, &st) == 0 &&
            st.st_ino == pst.st_ino && st.st_dev == pst.st_dev)
            own = fd;
    bool own_nb = own >= 0 && (fcntl(own, F_GETFL) & O_NONBLOCK);
    static char buf[1 << 16];
    memset(buf, 'z', sizeof(buf));
    if (rc == 0) {
        pthread_mutex_lock(&e->lock);
        for (int i = 0; i < 16; i++) /* 1 MiB into a 64 KiB pipe */
            chardev_put(e->cd, buf, sizeof(buf));
        pthread_mutex_unlock(&e->lock);
    }
    int avail = 0;
    ioctl(p[0], FIONREAD, &avail);
    ev_stop(e->ctx.ev);
    chardev_close(e->cd); /* the flush gives up after its 2 s */
    e->cd = NULL;
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(p[0]);
    assert_int_equal(rc, 0);
    assert_false(fl1 & O_NONBLOCK);
    assert_true(own_nb);
    assert_true(avail > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_flow_control, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_input_backpressure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hangup_while_paused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pipe_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delayed_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_cap_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_file_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_no_symlink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stdout_never_blocks, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

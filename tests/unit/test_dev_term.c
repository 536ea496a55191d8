/*
 * test_dev_term.c: qvm's terminal handling (src/devices/term.c) on a
 * pseudo-terminal standing in for stdin: raw mode while the guest runs
 * (no echo, no line editing, CR not translated, ^C still a signal), the
 * saved settings back after term_restore, and after a fatal signal in a
 * child process (the handler restores the terminal before dying).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/device.h"

struct env {
    int master, slave, saved_stdin;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(e->master >= 0);
    assert_int_equal(grantpt(e->master), 0);
    assert_int_equal(unlockpt(e->master), 0);
    e->slave = open(ptsname(e->master), O_RDWR | O_NOCTTY);
    assert_true(e->slave >= 0);
    e->saved_stdin = dup(STDIN_FILENO);
    assert_true(dup2(e->slave, STDIN_FILENO) == STDIN_FILENO);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    dup2(e->saved_stdin, STDIN_FILENO);
    close(e->saved_stdin);
    close(e->slave);
    close(e->master);
    free(e);
    return 0;
}

static void assert_cooked(int fd, const struct termios *before)
{
    struct termios t;
    assert_int_equal(tcgetattr(fd, &t), 0);
    assert_int_equal(t.c_lflag, before->c_lflag);
    assert_int_equal(t.c_iflag, before->c_iflag);
    assert_int_equal(t.c_cc[VSUSP], before->c_cc[VSUSP]);
}

static void test_raw_and_restore(void **state)
{
    struct env *e = *state;
    struct termios before, t;
    assert_int_equal(tcgetattr(e->slave, &before), 0);
    assert_true(before.c_lflag & ICANON);
    term_raw_stdin();
    assert_int_equal(tcgetattr(e->slave, &t), 0);
    assert_false(t.c_lflag & (ICANON | ECHO | IEXTEN));
    assert_false(t.c_iflag & (ICRNL | IXON));
    assert_true(t.c_lflag & ISIG);  /* ^C still stops qvm */
    assert_true(t.c_oflag & OPOST); /* qvm's own log lines stay tidy */
    term_raw_stdin();               /* idempotent: keeps the first save */
    term_restore();
    assert_cooked(e->slave, &before);
    term_restore(); /* twice is harmless */
    assert_cooked(e->slave, &before);
}

static void test_restore_on_fatal_signal(void **state)
{
    struct env *e = *state;
    struct termios before;
    assert_int_equal(tcgetattr(e->slave, &before), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* term.c hooks only default dispositions (cmocka has its own). */
        signal(SIGSEGV, SIG_DFL);
        term_raw_stdin();
        raise(SIGSEGV);
        _exit(0); /* not reached */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSEGV);
    assert_cooked(e->slave, &before);
}

static void test_restore_at_exit(void **state)
{
    struct env *e = *state;
    struct termios before;
    assert_int_equal(tcgetattr(e->slave, &before), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        term_raw_stdin();
        exit(3); /* atexit handler */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);
    assert_cooked(e->slave, &before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: term.c installs its hooks once per process. */
        cmocka_unit_test_setup_teardown(test_restore_on_fatal_signal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_raw_and_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_at_exit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * term.c: qvm's own terminal while a UART reads stdin. Raw input (no line
 * editing, no echo, no flow control, ^Z and ^O passed to the guest) with
 * output processing and ^C/^\ left on, so the guest's console behaves like
 * a serial line and qvm can still be stopped from the keyboard. The saved
 * settings come back on every exit path: the device teardown (normal stops,
 * SIGINT/SIGTERM/SIGQUIT through the main thread), atexit, and a handler
 * for fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGHUP)
 * installed only where the default action was in place.
 *
 * Context: any thread; the signal handler only calls tcsetattr.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "devices/device.h"
#include "util/log.h"

#define TAG "term"

static struct termios saved;
static atomic_bool raw_on;
static bool hooks_installed;
static const int fatal_sigs[] = {SIGSEGV, SIGBUS,  SIGILL,
                                 SIGFPE,  SIGABRT, SIGHUP};

static void restore_now(void)
{
    if (atomic_exchange(&raw_on, false))
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
}

static void on_fatal(int sig)
{
    restore_now();
    /* SA_RESETHAND put the default action back: die of it. */
    raise(sig);
}

static void install_hooks(void)
{
    if (hooks_installed)
        return;
    hooks_installed = true;
    atexit(restore_now);
    for (size_t i = 0; i < ARRAY_SIZE(fatal_sigs); i++) {
        struct sigaction old, sa = {0};
        if (sigaction(fatal_sigs[i], NULL, &old) < 0 ||
            old.sa_handler != SIG_DFL || old.sa_flags & SA_SIGINFO)
            continue;
        sa.sa_handler = on_fatal;
        sa.sa_flags = (int)SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal_sigs[i], &sa, NULL);
    }
}

void term_raw_stdin(void)
{
    if (atomic_load(&raw_on) || !isatty(STDIN_FILENO))
        return;
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &t) < 0)
        return;
    saved = t;
    install_hooks();
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                             ICRNL | IXON);
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    t.c_cc[VSUSP] = _POSIX_VDISABLE; /* ^Z goes to the guest */
    atomic_store(&raw_on, true);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0) {
        atomic_store(&raw_on, false);
        return;
    }
    log_debug(TAG, "stdin in raw mode (^C still stops qvm)");
}

void term_restore(void)
{
    restore_now();
}

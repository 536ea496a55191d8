/*
 * unpriv.h: run a check as an unprivileged user. Permission checks (a
 * read-only file, a directory only root may write) do not apply to root,
 * and CI runs the tests as root: as root, the check runs in a forked child
 * that has dropped to uid/gid 65534 (nobody); otherwise it runs here.
 * The check must not use cmocka's assertions (they would unwind the
 * child's copy of the test runner): it returns true when it held.
 * Header-only; each test includes it once.
 */
#ifndef QVM_TESTS_UNPRIV_H
#define QVM_TESTS_UNPRIV_H

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/compiler.h"

#define UNPRIV_ID      65534
#define UNPRIV_NO_DROP 77 /* the child's status when it could not drop */

/* as_unprivileged: 1 if fn(arg) held, 0 if not, -1 when root could not
 * become UNPRIV_ID here (no CAP_SETUID: a restricted container). */
UNUSED static int as_unprivileged(bool (*fn)(void *), void *arg)
{
    if (geteuid() != 0)
        return fn(arg) ? 1 : 0;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setgid(UNPRIV_ID) < 0 ||
            setuid(UNPRIV_ID) < 0 || geteuid() == 0)
            _exit(UNPRIV_NO_DROP);
        bool ok = fn(arg);
        fflush(stderr);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == UNPRIV_NO_DROP)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : 0;
}

#endif

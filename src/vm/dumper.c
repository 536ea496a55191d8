/*
 * dumper.c: guest dumps: the helper process that opens dump files and
 * starts dump commands, and the dump itself (see dumper.h).
 */
#include "vm/dumper.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vm/confine.h"
#include "vm/coredump.h"
#include "vm/machine.h"

#define TAG "dump"

enum { OP_OPEN = 1, OP_WAIT = 2 };

struct dreq {
    uint32_t op;
    int32_t pid; /* OP_WAIT */
};

struct drep {
    int32_t err;    /* 0 or an errno */
    int32_t pid;    /* OP_OPEN of a command: its pid */
    int32_t status; /* OP_WAIT: the wait status */
    char name[256]; /* OP_OPEN: the file's name, or the command */
};

struct dumper {
    int sock;
    pid_t pid;
    int pagemap;
    bool pipe;
    const char *target; /* the spec's `dump` */
    pthread_mutex_t lock;
    bool closed; /* the vCPUs are going away: no more dumps */
};

/* ---- the helper process (unconfined; _exit only) ------------------------- */

struct helper_cfg {
    const char *dir; /* `dump DIR` */
    const char *cmd; /* `dump "|cmd"`: the command */
    const char *prefix;
    sigset_t mask;
};

/* PREFIX-YYYYMMDD-hhmmss.gcore, then -1 .. -9 before .gcore on a clash. */
static int open_file(const struct helper_cfg *c, struct drep *rp)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    if (!localtime_r(&now, &tm) ||
        !strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm)) {
        rp->err = EINVAL;
        return -1;
    }
    for (int n = 0; n <= 9; n++) {
        char sfx[4] = "";
        if (n)
            snprintf(sfx, sizeof(sfx), "-%d", n);
        char path[PATH_MAX];
        int w = snprintf(rp->name, sizeof(rp->name), "%s-%s%s.gcore", c->prefix,
                         stamp, sfx);
        int w2 = snprintf(path, sizeof(path), "%s/%s", c->dir, rp->name);
        if (w < 0 || (size_t)w >= sizeof(rp->name) || w2 < 0 ||
            (size_t)w2 >= sizeof(path)) {
            rp->err = ENAMETOOLONG;
            return -1;
        }
        int fd = open(
            path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            rp->err = errno;
            return -1;
        }
    }
    rp->err = EEXIST; /* all ten names taken */
    return -1;
}

static int spawn(const struct helper_cfg *c, struct drep *rp)
{
    int p[2];
    snprintf(rp->name, sizeof(rp->name), "%s", c->cmd);
    if (pipe2(p, O_CLOEXEC) < 0) {
        rp->err = errno;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        rp->err = errno;
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        if (dup2(p[0], STDIN_FILENO) < 0)
            _exit(127);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGXFSZ, SIG_DFL);
        sigprocmask(SIG_SETMASK, &c->mask, NULL);
        execl("/bin/sh", "sh", "-c", c->cmd, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    rp->pid = pid;
    return p[1];
}

static void reply(int sock, const struct drep *rp, int fd)
{
    struct iovec iov = {.iov_base = (void *)(uintptr_t)rp,
                        .iov_len = sizeof(*rp)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&u, 0, sizeof(u));
        m.msg_control = u.buf;
        m.msg_controllen = sizeof(u.buf);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &fd, sizeof(int));
    }
    while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

static _Noreturn void helper_main(int sock, const struct helper_cfg *c)
{
    for (;;) {
        struct dreq rq;
        ssize_t r = recv(sock, &rq, sizeof(rq), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            _exit(0); /* qvm closed its end, or is gone */
        struct drep rp;
        memset(&rp, 0, sizeof(rp));
        int fd = -1;
        if (r != sizeof(rq)) {
            rp.err = EINVAL;
        } else if (rq.op == OP_OPEN) {
            fd = c->cmd ? spawn(c, &rp) : open_file(c, &rp);
        } else if (rq.op == OP_WAIT && rq.pid > 0) {
            int st = 0;
            pid_t w;
            while ((w = waitpid(rq.pid, &st, 0)) < 0 && errno == EINTR)
                ;
            rp.err = w < 0 ? errno : 0;
            rp.status = st;
        } else {
            rp.err = EINVAL;
        }
        reply(sock, &rp, fd);
        if (fd >= 0)
            close(fd);
    }
}

/* ---- qvm's side -------------------------------------------------------- */

int dumper_start(const struct vm_spec *spec, const sigset_t *child_mask,
                 struct dumper **out)
{
    *out = NULL;
    if (!spec->dump)
        return 0;
    struct dumper *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    d->target = spec->dump;
    d->pipe = spec->dump[0] == '|';
    struct helper_cfg c = {.dir = d->pipe ? NULL : spec->dump,
                           .cmd = d->pipe ? spec->dump + 1 : NULL,
                           .prefix = spec->system ? spec->system : "qvm-guest",
                           .mask = *child_mask};
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        log_fatal(TAG, "socketpair: %s", strerror(errno));
        free(d);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL); /* nothing buffered twice */
    pid_t pid = fork();
    if (pid < 0) {
        log_fatal(TAG, "cannot start the dump helper: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        free(d);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        prctl(PR_SET_NAME, "qvm-dump");
        /* Only the socket and stdio: a command must not inherit qvm's
         * descriptors (all CLOEXEC anyway; this is belt and braces). */
        int s = sv[1];
        if (s != 3) {
            if (dup2(s, 3) < 0)
                _exit(1);
            s = 3;
        }
        close_range(4, ~0u, 0);
        if (confine_drop_ids() < 0)
            _exit(1);
        helper_main(s, &c);
    }
    close(sv[1]);
    d->sock = sv[0];
    d->pid = pid;
    /* Resident or swapped pages, without touching them (coredump.c); a
     * kernel without it: mincore. */
    d->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&d->lock, NULL);
    *out = d;
    return 0;
}

void dumper_stop(struct dumper *d)
{
    if (!d)
        return;
    close(d->sock);
    int st;
    while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (d->pagemap >= 0)
        close(d->pagemap);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* One request, one reply (and maybe a descriptor). */
static int ask(struct dumper *d, const struct dreq *rq, struct drep *rp,
               int *fd)
{
    if (fd)
        *fd = -1;
    ssize_t w;
    while ((w = send(d->sock, rq, sizeof(*rq), MSG_NOSIGNAL)) < 0 &&
           errno == EINTR)
        ;
    if (w != (ssize_t)sizeof(*rq))
        return w < 0 ? -errno : -EIO;
    struct iovec iov = {.iov_base = rp, .iov_len = sizeof(*rp)};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = sizeof(u.buf)};
    ssize_t r;
    while ((r = recvmsg(d->sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (r != (ssize_t)sizeof(*rp))
        return r < 0 ? -errno : -EIO;
    rp->name[sizeof(rp->name) - 1] = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
            h->cmsg_len == CMSG_LEN(sizeof(int))) {
            int got;
            memcpy(&got, CMSG_DATA(h), sizeof(int));
            if (fd && *fd < 0)
                *fd = got;
            else
                close(got);
        }
    return 0;
}

static const char *describe_status(int st, char *buf, size_t cap)
{
    if (WIFEXITED(st))
        snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "signal %d", WTERMSIG(st));
    else
        snprintf(buf, cap, "status 0x%x", (unsigned)st);
    return buf;
}

int vm_dump(struct vm *vm, const char *why, bool at_exit)
{
    struct dumper *d = vm->dumper;
    if (!d) {
        log_warn(TAG,
                 "%s: no `dump` configured: no guest dump written (a dump "
                 "needs `dump DIRECTORY` or `dump \"|command\"`)",
                 why);
        return -1;
    }
    pthread_mutex_lock(&d->lock);
    if (d->closed) {
        log_warn(TAG, "%s: qvm is ending: no guest dump written", why);
        pthread_mutex_unlock(&d->lock);
        return -1;
    }
    struct dreq rq = {.op = OP_OPEN};
    struct drep rp = {0}; /* read only if ask says it came */
    int fd = -1;
    int e = ask(d, &rq, &rp, &fd);
    if (e < 0 || rp.err || fd < 0) {
        int err = e < 0 ? -e : rp.err ? rp.err : EIO;
        if (d->pipe)
            log_error(TAG, "%s: cannot start the dump command '%s': %s", why,
                      d->target + 1, strerror(err));
        else if (err == EEXIST)
            log_error(TAG,
                      "%s: no dump written: %s-YYYYMMDD-hhmmss.gcore and its "
                      "-1 .. -9 variants all exist in %s",
                      why, vm->spec->system ? vm->spec->system : "qvm-guest",
                      d->target);
        else
            log_error(TAG, "%s: cannot create a dump file in %s: %s", why,
                      d->target, strerror(err));
        if (fd >= 0)
            close(fd);
        pthread_mutex_unlock(&d->lock);
        return -1;
    }
    if (d->pipe)
        log_info(TAG, "%s: dumping the guest to '%s'", why, d->target + 1);
    else
        log_info(TAG, "%s: dumping the guest to %s/%s", why, d->target,
                 rp.name);
    if (!at_exit)
        vcpus_pause(vm);
    struct core_notes cn;
    e = arch_core_notes(vm, &cn);
    const struct gview *v = &vm->mem.view;
    struct core_region *rg =
        calloc(v->regions.n ? v->regions.n : 1, sizeof(*rg));
    struct core_stats st = {0};
    if (e == 0 && rg) {
        for (size_t i = 0; i < v->regions.n; i++)
            rg[i] =
                (struct core_region){v->regions.v[i].gpa, v->regions.v[i].size,
                                     v->regions.v[i].host};
        struct core_opts o = {.machine = arch_core_machine,
                              .seekable = !d->pipe,
                              .pagemap_fd = d->pagemap};
        e = core_write(fd, rg, v->regions.n, cn.notes, cn.n, &o, &st);
    } else if (e == 0) {
        e = -ENOMEM;
    }
    if (!at_exit)
        vcpus_resume(vm);
    free(rg);
    if (cn.notes)
        core_notes_free(&cn);
    close(fd);
    int rc = e < 0 ? -1 : 0;
    if (e < 0)
        log_error(TAG, "%s: writing the dump failed: %s", why, strerror(-e));
    if (d->pipe && rp.pid > 0) {
        struct dreq wq = {.op = OP_WAIT, .pid = rp.pid};
        struct drep wr;
        char sb[48];
        if (ask(d, &wq, &wr, NULL) < 0 || wr.err) {
            log_error(TAG, "%s: the dump command's status is unknown", why);
            rc = -1;
        } else if (!WIFEXITED(wr.status) || WEXITSTATUS(wr.status) != 0) {
            log_error(TAG, "%s: the dump command '%s' ended with %s", why,
                      d->target + 1,
                      describe_status(wr.status, sb, sizeof(sb)));
            rc = -1;
        }
    }
    if (rc == 0)
        log_info(TAG,
                 "%s: dump written: %llu MiB of guest memory in use, "
                 "%llu MiB file",
                 why, (unsigned long long)(st.data_bytes >> 20),
                 (unsigned long long)(st.file_size >> 20));
    pthread_mutex_unlock(&d->lock);
    return rc;
}

void vm_dump_on_fault(struct vm *vm, const char *why)
{
    const char *expect = NULL;
    if (vm->dumper)
        atomic_compare_exchange_strong(&vm->fault_why, &expect, why);
}

void vm_dump_pending(struct vm *vm)
{
    const char *why = atomic_load(&vm->fault_why);
    if (why)
        (void)vm_dump(vm, why, true);
    if (vm->dumper) {
        pthread_mutex_lock(&vm->dumper->lock);
        vm->dumper->closed = true;
        pthread_mutex_unlock(&vm->dumper->lock);
    }
}

void *vm_dump_states(struct vm *vm, size_t each)
{
    unsigned char *a = calloc(vm->nvcpus ? vm->nvcpus : 1, each);
    if (!a)
        return NULL;
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].dump_state)
            memcpy(a + (size_t)i * each, vm->vcpus[i].dump_state, each);
    return a;
}

/*
 * test_confine.c: the seccomp filters of vm/confine.c, installed by the
 * same function qvm's threads call, in forked children: every kind shows
 * `Seccomp: 2`; what a kind needs still works (disk I/O, threads started
 * from a confined thread, KVM's interrupt ioctls reach the kernel); a
 * forbidden call (a socket, exec, fork, an unknown ioctl, executable
 * memory, taking over SIGSYS) ends the child with CONFINE_EXIT_STATUS and
 * one log line naming the call and the thread kind; building the filters
 * leaves no scratch memory behind in every confined thread; thread stacks
 * are too small for a huge page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/log.h"
#include "vm/confine.h"
#include "vm/reaper.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) ||                                        \
    __has_feature(undefined_behavior_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

struct child {
    pid_t pid;
    int err;   /* read end of the child's stderr */
    int ready; /* read end: the child says it is confined */
};

typedef void (*body_fn)(int ready_fd, void *arg);

/* Leave a confined child without exit hooks (a sanitizer's leak check
 * would run under the filter). */
static void quit(int status)
{
    syscall(SYS_exit_group, status);
    _exit(status);
}

static void *noop(void *arg)
{
    return arg;
}

/* Fork; the child confines itself as `kind` and runs body. */
static struct child spawn(enum confine_kind kind, body_fn body, void *arg)
{
    int e[2], r[2];
    assert_int_equal(pipe(e), 0);
    assert_int_equal(pipe(r), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0); /* its own group: a failing test kills all of it */
        close(e[0]);
        close(r[0]);
        dup2(e[1], STDERR_FILENO);
        /* As in qvm, a thread has run before any filter: glibc sets up
         * its thread signals (rt_sigaction) at the first pthread_create. */
        pthread_t t;
        if (pthread_create(&t, NULL, noop, NULL) != 0 ||
            pthread_join(t, NULL) != 0)
            quit(99);
        confine_force();
        confine_thread(kind);
        body(r[1], arg);
        quit(0);
    }
    close(e[1]);
    close(r[1]);
    return (struct child){pid, e[0], r[0]};
}

/* Wait for the child; its exit status (or 128 + signal) and stderr. */
static int finish(struct child *c, char *out, size_t n)
{
    size_t k = 0;
    ssize_t got;
    while (k + 1 < n && (got = read(c->err, out + k, n - 1 - k)) > 0)
        k += (size_t)got;
    out[k] = 0;
    int st;
    assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
    close(c->err);
    close(c->ready);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_killed(enum confine_kind kind, body_fn body, void *arg,
                          const char *call)
{
    struct child c = spawn(kind, body, arg);
    char out[1024];
    int st = finish(&c, out, sizeof(out));
    if (st != CONFINE_EXIT_STATUS)
        fail_msg("%s from the %s thread: status %d, stderr '%s'", call,
                 confine_kind_name(kind), st, out);
    char want[160];
    snprintf(want, sizeof(want),
             "qvm: fatal: confine: the %s thread made a forbidden system "
             "call: %s (",
             confine_kind_name(kind), call);
    if (!strstr(out, want))
        fail_msg("stderr was '%s', wanted '%s'", out, want);
}

/* ---- bodies ---------------------------------------------------------- */

static void park(int ready_fd)
{
    char b = 1;
    assert_int_equal(write(ready_fd, &b, 1), 1);
    static int never;
    for (;;)
        syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void body_park(int ready_fd, void *arg)
{
    (void)arg;
    park(ready_fd);
}

static void body_socket(int ready_fd, void *arg)
{
    (void)ready_fd, (void)arg;
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    (void)s;
    quit(0);
}

static void body_exec(int ready_fd, void *arg)
{
    (void)ready_fd, (void)arg;
    char name[] = "true";
    char *argv[] = {name, NULL};
    execve("/bin/true", argv, argv + 1);
    quit(0);
}

static void body_fork(int ready_fd, void *arg)
{
    (void)ready_fd, (void)arg;
    /* fork(): clone without CLONE_THREAD (clone3 is refused first). */
    pid_t p = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
    if (p == 0)
        quit(0);
    quit(0);
}

static void body_open(int ready_fd, void *arg)
{
    (void)ready_fd, (void)arg;
    int fd = open("/etc/passwd", O_RDONLY);
    (void)fd;
    quit(0);
}

static void body_bad_ioctl(int ready_fd, void *arg)
{
    (void)ready_fd, (void)arg;
    /* A request a vCPU never makes after start-up. */
    int r = ioctl(0, KVM_CREATE_VCPU, 0);
    (void)r;
    quit(0);
}

static void body_exec_mem(int ready_fd, void *arg)
{
    (void)ready_fd, (void)arg;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    (void)p;
    quit(0);
}

static void body_sigsys(int ready_fd, void *arg)
{
    (void)ready_fd, (void)arg;
    /* The raw call: a sanitizer's sigaction may keep it to itself. */
    syscall(SYS_rt_sigaction, SIGSYS, NULL, NULL, 8);
    quit(0);
}

/* A block worker's disk I/O on a file opened before the filter. */
static void body_disk(int ready_fd, void *arg)
{
    (void)ready_fd;
    int fd = *(int *)arg;
    char buf[512];
    memset(buf, 0x5a, sizeof(buf));
    if (pwrite(fd, buf, sizeof(buf), 4096) != (ssize_t)sizeof(buf))
        quit(10);
    if (fdatasync(fd) < 0)
        quit(11);
    memset(buf, 0, sizeof(buf));
    if (pread(fd, buf, sizeof(buf), 4096) != (ssize_t)sizeof(buf) ||
        buf[511] != 0x5a)
        quit(12);
    /* An allowed ioctl reaches the kernel: ENOTTY, not a trap. */
    if (ioctl(fd, KVM_IRQ_LINE, NULL) == 0 || errno != ENOTTY)
        quit(13);
    quit(0);
}

static void *helper_thread(void *arg)
{
    (void)arg;
    confine_thread(CONFINE_RNG);
    char b;
    return (void *)(intptr_t)(getrandom(&b, 1, 0) == 1);
}

/* A vCPU starts the entropy helper (clone3 refused, clone with
 * CLONE_THREAD allowed), which confines itself on top and waits in a
 * blocking getrandom. */
static void body_vcpu_starts_helper(int ready_fd, void *arg)
{
    (void)ready_fd;
    (void)arg;
    pthread_t t;
    if (pthread_create(&t, NULL, helper_thread, NULL) != 0)
        quit(20);
    void *ok;
    if (pthread_join(t, &ok) != 0 || !ok)
        quit(21);
    quit(0);
}

/* ---- tests ----------------------------------------------------------- */

static bool seccomp_mode_2(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool two = false;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "Seccomp:", 8) == 0)
            two = atoi(line + 8) == 2;
    fclose(f);
    return two;
}

static void test_every_kind_is_filtered(void **state)
{
    (void)state;
    for (int k = 0; k < CONFINE_KINDS; k++) {
        struct child c = spawn((enum confine_kind)k, body_park, NULL);
        char b;
        assert_int_equal(read(c.ready, &b, 1), 1);
        bool two = seccomp_mode_2(c.pid);
        kill(c.pid, SIGKILL);
        if (!two)
            fail_msg("the %s filter is not installed",
                     confine_kind_name((enum confine_kind)k));
        char out[256];
        assert_int_equal(finish(&c, out, sizeof(out)), 128 + SIGKILL);
    }
}

static void test_forbidden_calls_end_qvm_named(void **state)
{
    (void)state;
    expect_killed(CONFINE_BLK, body_socket, NULL, "socket");
    expect_killed(CONFINE_IO, body_socket, NULL, "socket");
    expect_killed(CONFINE_VCPU, body_exec, NULL, "execve");
    expect_killed(CONFINE_MAIN, body_exec, NULL, "execve");
    expect_killed(CONFINE_IO, body_fork, NULL, "clone");
    expect_killed(CONFINE_MAIN, body_fork, NULL, "clone"); /* the reaper's
                                                              only */
    expect_killed(CONFINE_VCPU, body_fork, NULL, "clone");
    expect_killed(CONFINE_VCPU, body_open, NULL, "openat");
    expect_killed(CONFINE_RNG, body_open, NULL, "openat");
    expect_killed(CONFINE_PCI, body_open, NULL, "openat");
    expect_killed(CONFINE_VCPU, body_bad_ioctl, NULL, "ioctl");
    expect_killed(CONFINE_BLK, body_exec_mem, NULL, "mmap");
    expect_killed(CONFINE_MAIN, body_sigsys, NULL, "rt_sigaction");
}

static int temp_file(void)
{
    char path[] = "/tmp/qvm-confine-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

static void test_needed_calls_still_work(void **state)
{
    (void)state;
    int fd = temp_file();
    struct child c = spawn(CONFINE_BLK, body_disk, &fd);
    char out[1024];
    int st = finish(&c, out, sizeof(out));
    if (st != 0)
        fail_msg("block worker disk I/O: status %d, stderr '%s'", st, out);
    close(fd);
}

static void test_vcpu_starts_the_entropy_helper(void **state)
{
    (void)state;
    if (SANITIZED) {
        /* The sanitizer runtimes' own thread start-up makes calls no
         * filter of qvm's allows; the plain build runs this test. */
        print_message("# ci-not-applicable: a sanitizer build's thread "
                      "start-up is not qvm's (tested in the plain build)\n");
        skip();
    }
    struct child c = spawn(CONFINE_VCPU, body_vcpu_starts_helper, NULL);
    char out[1024];
    int st = finish(&c, out, sizeof(out));
    if (st != 0)
        fail_msg("vCPU starting the entropy helper: status %d, stderr '%s'", st,
                 out);
}

/* The block workers start with their device, before any vCPU runs: a vCPU
 * itself does no disk I/O. */
static void test_vcpu_does_no_disk_io(void **state)
{
    (void)state;
    int fd = temp_file();
    expect_killed(CONFINE_VCPU, body_disk, &fd, "pwrite64");
    close(fd);
}

/* The teardown's reaper (vm/reaper.h), started by the main thread under
 * its filter: it holds the "VM" (here a pipe's write end) after the
 * starter closed its own copy, closes every other descriptor at once (a
 * pipe the starter also closed reaches end of file while the starter
 * lives), and lets go of the VM once the starter has exited. */
struct reaper_fds {
    int vm_w, other_w, go_r, go_w;
};

static void body_reaper(int ready_fd, void *arg)
{
    struct reaper_fds *f = arg;
    close(f->go_w); /* the test's: its close is the go */
    if (reaper_start(f->vm_w) != 0)
        quit(3);
    close(f->vm_w);
    close(f->other_w);
    char b = 1;
    if (write(ready_fd, &b, 1) != 1)
        quit(4);
    while (read(f->go_r, &b, 1) > 0)
        ;
    quit(0);
}

static bool hangs_up(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLHUP);
}

static void test_main_starts_the_reaper(void **state)
{
    (void)state;
    if (SANITIZED) {
        print_message("# ci-not-applicable: the reaper runs on qvm's thread "
                      "pointer, which a sanitizer runtime's hooks would "
                      "share (tested in the plain build)\n");
        skip();
    }
    int vm[2], other[2], go[2];
    assert_int_equal(pipe(vm), 0);
    assert_int_equal(pipe(other), 0);
    assert_int_equal(pipe(go), 0);
    struct reaper_fds f = {vm[1], other[1], go[0], go[1]};
    struct child c = spawn(CONFINE_MAIN, body_reaper, &f);
    close(vm[1]);
    close(other[1]);
    close(go[0]);
    char b;
    assert_int_equal(read(c.ready, &b, 1), 1);
    /* A bound for a failure, not a synchronisation: the reaper closes its
     * copies as it starts. */
    bool let_go = hangs_up(other[0], 20000);
    bool held = !hangs_up(vm[0], 0); /* held while the starter lives */
    close(go[1]);
    int st;
    assert_int_equal(waitpid(c.pid, &st, 0), c.pid);
    bool gone = hangs_up(vm[0], 20000); /* let go after the exit */
    /* A failing reaper may hold its own pipe (never leaving) and the
     * starter's stderr: end it (it stays in the starter's process group)
     * before reading that stderr, so that a failure fails, never hangs. */
    if (!let_go || !held || !gone)
        kill(-c.pid, SIGKILL);
    char out[1024];
    size_t k = 0;
    ssize_t got;
    while (k + 1 < sizeof(out) &&
           (got = read(c.err, out + k, sizeof(out) - 1 - k)) > 0)
        k += (size_t)got;
    out[k] = 0;
    close(c.err);
    close(c.ready);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("main thread starting the reaper: status 0x%x, stderr '%s'",
                 st, out);
    if (!let_go)
        fail_msg("the reaper kept a descriptor it does not need");
    if (!held)
        fail_msg("the VM descriptor was let go while qvm still ran");
    if (!gone)
        fail_msg("the reaper still holds the VM after qvm's exit");
    close(vm[0]);
    close(other[0]);
}

/* The resident anonymous memory of this process, in KiB. */
static long rss_anon_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "RssAnon:", 8) == 0)
            v = atol(line + 8);
    if (f)
        fclose(f);
    return v;
}

struct parked {
    enum confine_kind kind;
    int ready_w, go_r;
};

static void *confined_parked(void *arg)
{
    const struct parked *p = arg;
    confine_thread(p->kind);
    char b = 1;
    if (write(p->ready_w, &b, 1) != 1)
        quit(98);
    while (read(p->go_r, &b, 1) > 0)
        ;
    return NULL;
}

/* The filters' building memory (libseccomp's scratch, about 90 KiB a
 * filter) does not stay behind in every thread: a vCPU and the I/O thread
 * confined cost the process well under 2 x 90 KiB (bench/README.md,
 * "Density": with a malloc arena each, 176 of a small guest's 440 KiB). */
/* child_result: what the child `pid` wrote into the pipe res (up to len - 1
 * bytes, NUL-terminated: something), once it has exited with 0. */
static void child_result(pid_t pid, int res[2], char *buf, size_t len)
{
    close(res[1]);
    memset(buf, 0, len);
    ssize_t n = read(res[0], buf, len - 1);
    close(res[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(n > 0);
}

static void test_filters_leave_no_scratch_behind(void **state)
{
    (void)state;
    if (SANITIZED) {
        print_message("# ci-not-applicable: a sanitizer runtime has its own "
                      "allocator (tested in the plain build)\n");
        skip();
    }
    int res[2];
    assert_int_equal(pipe(res), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(res[0]);
        int ready[2], go[2];
        pthread_t t[2];
        if (pipe(ready) < 0 || pipe(go) < 0 ||
            pthread_create(&t[0], NULL, noop, NULL) != 0 ||
            pthread_join(t[0], NULL) != 0)
            quit(99);
        confine_force();
        long before = rss_anon_kib();
        struct parked p[2] = {{CONFINE_VCPU, ready[1], go[0]},
                              {CONFINE_IO, ready[1], go[0]}};
        char b;
        for (int i = 0; i < 2; i++) /* one after the other, as in qvm */
            if (pthread_create(&t[i], NULL, confined_parked, &p[i]) != 0 ||
                read(ready[0], &b, 1) != 1)
                quit(99);
        long after = rss_anon_kib();
        dprintf(res[1], "%ld %ld\n", before, after);
        close(go[1]);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        quit(0);
    }
    char buf[64];
    child_result(pid, res, buf, sizeof(buf));
    long before = -1, after = -1;
    assert_true(sscanf(buf, "%ld %ld", &before, &after) == 2);
    assert_true(before > 0 && after > 0);
    if (after - before >= 128)
        fail_msg("two confined threads grew the process by %ld KiB of "
                 "anonymous memory (%ld -> %ld): their filters' scratch "
                 "stayed behind",
                 after - before, before, after);
}

static void *stack_size(void *arg)
{
    (void)arg;
    pthread_attr_t at;
    void *lo;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &at) == 0) {
        if (pthread_attr_getstack(&at, &lo, &size) != 0)
            size = 0;
        pthread_attr_destroy(&at);
    }
    return (void *)(uintptr_t)size;
}

/* qvm's threads (created without attributes) get stacks below 2 MiB, too
 * small to hold a transparent huge page (bench/README.md, "Density": a
 * huge page on an 8 MiB thread stack made a small guest 2 MiB bigger). */
static void test_thread_stacks_hold_no_huge_page(void **state)
{
    (void)state;
    int res[2];
    assert_int_equal(pipe(res), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(res[0]);
        confine_force(); /* no filter on this thread: the settings only */
        pthread_t t;
        void *r = NULL;
        if (pthread_create(&t, NULL, stack_size, NULL) != 0 ||
            pthread_join(t, &r) != 0)
            quit(99);
        dprintf(res[1], "%zu\n", (size_t)(uintptr_t)r);
        quit(0);
    }
    char buf[32];
    child_result(pid, res, buf, sizeof(buf));
    size_t size = strtoul(buf, NULL, 10);
    if (size == 0 || size >= 2u << 20)
        fail_msg("a thread's stack is %zu bytes: not below 2 MiB", size);
}

/* `user` as root: every id changes, root is out of reach, and the
 * threads alive during the drop (glibc runs set*id on each) follow. */
static void *idle_thread(void *arg)
{
    int fd = *(int *)arg;
    char b;
    ssize_t r = read(fd, &b, 1); /* until the drop is done */
    (void)r;
    uid_t ru, eu, su;
    getresuid(&ru, &eu, &su);
    return (void *)(intptr_t)(ru == 65534 && eu == 65534 && su == 65534);
}

static void test_user_drop_as_root(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vm_spec spec;
        memset(&spec, 0, sizeof(spec));
        char user[] = "65534:65534";
        spec.user = user;
        setenv("QVM_SECCOMP", "off", 1);
        int p[2];
        pthread_t t;
        void *ok = NULL;
        if (pipe(p) < 0 || pthread_create(&t, NULL, idle_thread, &p[0]))
            _exit(30);
        if (confine_setup(&spec) < 0 || confine_drop() < 0)
            _exit(31);
        if (write(p[1], "x", 1) != 1 || pthread_join(t, &ok) || !ok)
            _exit(32);
        uid_t r, e, sv;
        gid_t rg, eg, sg, g[4];
        if (getresuid(&r, &e, &sv) || r != 65534 || e != 65534 || sv != 65534 ||
            getresgid(&rg, &eg, &sg) || rg != 65534 || eg != 65534 ||
            sg != 65534 || getgroups(4, g) != 1 || g[0] != 65534)
            _exit(33);
        if (setuid(0) == 0)
            _exit(34);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* A fake /dev/log: a datagram socket bound at path. */
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

/*
 * `logger ... slog` under the filters: with a configuration that sends a
 * class to slog, every thread kind may send its lines to the syslog socket
 * and reconnect to it when journald restarted (a new socket at the same
 * path). The child connects (confine_setup), the parent replaces the
 * socket, then the child's confined thread logs two lines: the first one
 * reconnects.
 */
static void test_slog_under_every_filter(void **state)
{
    (void)state;
    if (SANITIZED) {
        /* A sanitizer runtime's own calls (its logging, its exit path)
         * are not qvm's: the plain build runs this test. */
        print_message("# ci-not-applicable: a sanitizer runtime's calls "
                      "under the filters are not qvm's (tested in the plain "
                      "build)\n");
        skip();
    }
    for (int kind = CONFINE_MAIN; kind <= CONFINE_RNG; kind++) {
        const char *name = confine_kind_name((enum confine_kind)kind);
        char dir[] = "/tmp/qvm-confine-slog-XXXXXX", path[64], buf[512];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/log", dir);
        int srv = fake_devlog(path);
        int up[2], down[2];
        assert_int_equal(pipe(up), 0);
        assert_int_equal(pipe(down), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(srv); /* only the parent holds the "journald" socket */
            struct vm_spec spec;
            memset(&spec, 0, sizeof(spec));
            spec.log_dest[LOG_INFO] = LOGD_SLOG;
            log_slog_set_path(path);
            log_slog_set_ident("vm1");
            pthread_t t;
            char b = 1;
            if (pthread_create(&t, NULL, noop, NULL) || pthread_join(t, NULL) ||
                confine_setup(&spec) < 0)
                quit(30);
            if (write(up[1], &b, 1) != 1 || read(down[0], &b, 1) != 1)
                quit(31);
            confine_thread((enum confine_kind)kind);
            log_set_dest(LOG_INFO, LOGD_SLOG);
            log_info("test", "one");
            log_info("test", "two");
            quit(0);
        }
        close(up[1]);
        close(down[0]);
        char b;
        assert_int_equal(read(up[0], &b, 1), 1); /* the child connected */
        close(srv);                              /* journald restarts */
        srv = fake_devlog(path);
        assert_int_equal(write(down[1], &b, 1), 1);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail_msg("%s thread: status 0x%x", name, st);
        static const char *const want[] = {"info: test: one",
                                           "info: test: two"};
        for (unsigned i = 0; i < 2; i++) {
            ssize_t n = recv(srv, buf, sizeof(buf) - 1, MSG_DONTWAIT);
            buf[n > 0 ? n : 0] = 0;
            if (!strstr(buf, " qvm@vm1[") || !strstr(buf, want[i]))
                fail_msg("%s thread: datagram '%s', wanted '%s'", name, buf,
                         want[i]);
        }
        close(srv);
        close(up[0]);
        close(down[1]);
        unlink(path);
        rmdir(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_is_filtered),
        cmocka_unit_test(test_forbidden_calls_end_qvm_named),
        cmocka_unit_test(test_needed_calls_still_work),
        cmocka_unit_test(test_vcpu_starts_the_entropy_helper),
        cmocka_unit_test(test_vcpu_does_no_disk_io),
        cmocka_unit_test(test_main_starts_the_reaper),
        cmocka_unit_test(test_filters_leave_no_scratch_behind),
        cmocka_unit_test(test_thread_stacks_hold_no_huge_page),
        cmocka_unit_test(test_user_drop_as_root),
        cmocka_unit_test(test_slog_under_every_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

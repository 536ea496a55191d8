/*
 * tstamp: times one VMM run for the benchmark suite (bench/README.md).
 * Forks and execs CMD with stdin from /dev/null, stdout on a pipe and
 * stderr to /dev/null (or -e FILE), polls the pipe and records, on
 * CLOCK_MONOTONIC from just before fork(): the first byte of output, the
 * first appearance of each -M MARK string, and the process's exit (reaped
 * with wait4, whose rusage gives the peak RSS). The child's output is
 * copied to -o FILE if given, and with -l FILE each line of it prefixed
 * with the arrival time of its first byte ("[ms] "). A run that outlives
 * -t SECS is killed.
 *
 * Usage: tstamp [-t SECS] [-o FILE] [-l FILE] [-e FILE] [-M MARK]...
 *               -- CMD [ARG]...
 * Prints one line of key=value pairs (milliseconds, KiB):
 *   first_ms=F exit_ms=X mark1_ms=A ... status=S maxrss_kb=R bytes=N
 * where a missing event prints "-" and S is the exit status, or 128+signal.
 * Exit status: 0 if the run produced output and every mark; 1 if not;
 * 2 on a usage or system error.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MARKS 8
#define TAIL      64 /* bytes kept to find marks split across reads */

struct run {
    double t0, first, exit, mark[MAX_MARKS];
    const char *marks[MAX_MARKS];
    int nmarks, out_fd, log_fd;
    bool line_start;
    size_t bytes;
    char tail[TAIL * 2 + 1];
    size_t tail_len;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int usage(void)
{
    fprintf(stderr, "usage: tstamp [-t SECS] [-o FILE] [-l FILE] [-e FILE] "
                    "[-M MARK]... -- CMD [ARG]...\n");
    return 2;
}

/* Looks for the marks not seen yet in what arrived so far. */
static void scan_marks(struct run *r, const char *buf, size_t n, double t)
{
    for (size_t off = 0; off < n;) {
        size_t room = sizeof(r->tail) - 1 - r->tail_len;
        size_t take = n - off < room ? n - off : room;

        memcpy(r->tail + r->tail_len, buf + off, take);
        r->tail_len += take;
        r->tail[r->tail_len] = '\0';
        off += take;
        for (int i = 0; i < r->nmarks; i++) {
            if (r->mark[i] < 0 &&
                memmem(r->tail, r->tail_len, r->marks[i], strlen(r->marks[i])))
                r->mark[i] = t;
        }
        if (r->tail_len > TAIL) {
            memmove(r->tail, r->tail + r->tail_len - TAIL, TAIL);
            r->tail_len = TAIL;
        }
    }
}

/* Copies buf to the -l log, each line prefixed with t. */
static void log_lines(struct run *r, const char *buf, size_t n, double t)
{
    char stamp[32];
    int sl = snprintf(stamp, sizeof(stamp), "[%.3f] ", t - r->t0);

    for (size_t i = 0; i < n && r->log_fd >= 0;) {
        const char *nl = memchr(buf + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - buf) + 1 : n;

        if ((r->line_start && write(r->log_fd, stamp, (size_t)sl) < 0) ||
            write(r->log_fd, buf + i, end - i) < 0)
            r->log_fd = -1;
        r->line_start = nl != NULL;
        i = end;
    }
}

static void child(int pipe_w, const char *err_path, char **argv)
{
    int null = open("/dev/null", O_RDONLY);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (null < 0 || err < 0 || dup2(null, STDIN_FILENO) < 0 ||
        dup2(pipe_w, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
        _exit(127);
    execvp(argv[0], argv);
    _exit(127);
}

/* Reads the child's output until EOF or the deadline; 0, or -1 if late. */
static int pump(struct run *r, int fd, double deadline)
{
    char buf[4096];

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());

        if (left <= 0)
            return -1;
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        ssize_t got = read(fd, buf, sizeof(buf));
        double t = now_ms();
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        if (r->bytes == 0)
            r->first = t;
        r->bytes += (size_t)got;
        scan_marks(r, buf, (size_t)got, t);
        if (r->out_fd >= 0 && write(r->out_fd, buf, (size_t)got) < 0)
            r->out_fd = -1;
        log_lines(r, buf, (size_t)got, t);
    }
}

static void print_ms(const char *key, double t, double t0)
{
    if (t < 0)
        printf("%s=- ", key);
    else
        printf("%s=%.3f ", key, t - t0);
}

int main(int argc, char **argv)
{
    struct run r = {.first = -1,
                    .exit = -1,
                    .out_fd = -1,
                    .log_fd = -1,
                    .line_start = true};
    const char *err_path = "/dev/null";
    double timeout_s = 60;
    int opt, fds[2], status = 0;
    struct rusage ru = {0};

    while ((opt = getopt(argc, argv, "+t:o:l:e:M:")) != -1) {
        switch (opt) {
        case 't':
            timeout_s = atof(optarg);
            break;
        case 'o':
            r.out_fd = open(optarg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (r.out_fd < 0)
                return perror(optarg), 2;
            break;
        case 'l':
            r.log_fd = open(optarg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (r.log_fd < 0)
                return perror(optarg), 2;
            break;
        case 'e':
            err_path = optarg;
            break;
        case 'M':
            if (r.nmarks == MAX_MARKS || strlen(optarg) > TAIL)
                return usage();
            r.mark[r.nmarks] = -1;
            r.marks[r.nmarks++] = optarg;
            break;
        default:
            return usage();
        }
    }
    if (optind >= argc)
        return usage();
    if (pipe2(fds, O_CLOEXEC) < 0)
        return perror("pipe"), 2;
    r.t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        return perror("fork"), 2;
    if (pid == 0)
        child(fds[1], err_path, argv + optind);
    close(fds[1]);
    if (pump(&r, fds[0], r.t0 + timeout_s * 1e3) < 0)
        kill(pid, SIGKILL);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR)
            return perror("wait4"), 2;
    }
    r.exit = now_ms();

    int ok = r.bytes > 0;
    print_ms("first_ms", r.first, r.t0);
    print_ms("exit_ms", r.exit, r.t0);
    for (int i = 0; i < r.nmarks; i++) {
        char key[32];
        snprintf(key, sizeof(key), "mark%d_ms", i + 1);
        print_ms(key, r.mark[i], r.t0);
        ok &= r.mark[i] >= 0;
    }
    printf("status=%d maxrss_kb=%ld bytes=%zu\n",
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
           ru.ru_maxrss, r.bytes);
    return ok ? 0 : 1;
}

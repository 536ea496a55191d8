/*
 * density: starts N copies of one VMM command at once for the density
 * benchmark (bench/density.sh, bench/README.md "Density"). Each copy gets
 * stdin from /dev/null, stdout on its own pipe and stderr to ERRDIR/I (or
 * /dev/null). All pipes are polled until every copy has printed MARK: the
 * wall time is taken on CLOCK_MONOTONIC from just before the first fork()
 * to the arrival of the last copy's MARK. Then, the guests held (the bench
 * guest halts after its marker), it reads every copy's
 * /proc/PID/smaps_rollup and status and sums their Rss, Pss, Pss_Anon,
 * Pss_File, Pss_Shmem and threads, and takes /proc/meminfo's MemAvailable drop
 * since before the first fork (what the host lost, the kernel's side of the VMs
 * included). With -s FILE, the /proc/PID/smaps of the copy with the
 * largest Rss goes to FILE (the per-mapping breakdown). Finally every copy gets
 * SIGKILL and is reaped; gone_ms is the time from the first kill() to the last
 * copy reaped.
 *
 * Usage: density -n N [-t SECS] [-M MARK] [-e ERRDIR] [-s FILE]
 *                -- CMD [ARG]...
 * Prints one line of key=value pairs (milliseconds, KiB):
 *   n=N marked=K first_ms=A last_ms=B gone_ms=G rss_kb=R pss_kb=P
 *   pss_anon_kb=.. pss_file_kb=.. pss_shmem_kb=.. threads=T avail_drop_kb=D
 * (Pss_Shmem: file pages on tmpfs or ramfs, such as the lab's programs).
 * Exit status: 0 if every copy printed MARK and was still running when
 * measured; 1 if not; 2 on a usage or system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 1024
#define TAIL  64 /* bytes kept to find the mark split across reads */

struct copy {
    pid_t pid;
    int fd;
    double mark;
    char tail[TAIL * 2 + 1];
    size_t tail_len;
};

static struct copy copies[MAX_N];
static struct pollfd pfds[MAX_N];

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int usage(void)
{
    fprintf(stderr, "usage: density -n N [-t SECS] [-M MARK] [-e ERRDIR] "
                    "[-s FILE] -- CMD [ARG]...\n");
    return 2;
}

/* Appends what arrived to c's tail and looks for the mark in it. */
static void scan(struct copy *c, const char *mark, const char *buf, size_t n,
                 double t)
{
    for (size_t off = 0; off < n && c->mark < 0;) {
        size_t room = sizeof(c->tail) - 1 - c->tail_len;
        size_t take = n - off < room ? n - off : room;

        memcpy(c->tail + c->tail_len, buf + off, take);
        c->tail_len += take;
        c->tail[c->tail_len] = '\0';
        off += take;
        if (memmem(c->tail, c->tail_len, mark, strlen(mark)))
            c->mark = t;
        if (c->tail_len > TAIL) {
            memmove(c->tail, c->tail + c->tail_len - TAIL, TAIL);
            c->tail_len = TAIL;
        }
    }
}

static void child(int pipe_w, const char *err_dir, int i, char **argv)
{
    char path[4096];
    int null = open("/dev/null", O_RDONLY);
    int err;

    if (err_dir) {
        snprintf(path, sizeof(path), "%s/%d", err_dir, i);
        err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    } else {
        err = open("/dev/null", O_WRONLY);
    }
    if (null < 0 || err < 0 || dup2(null, STDIN_FILENO) < 0 ||
        dup2(pipe_w, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
        _exit(127);
    execvp(argv[0], argv);
    _exit(127);
}

/* The value of "KEY: N kB" (or "KEY: N") in FILE, summed over its lines;
 * -1 when FILE cannot be read. */
static long field_kb(const char *file, const char *key)
{
    FILE *f = fopen(file, "r");
    char line[512];
    size_t kl = strlen(key);
    long sum = 0;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            sum += strtol(line + kl + 1, NULL, 10);
    }
    fclose(f);
    return sum;
}

/* MemAvailable in KiB, after folding the per-CPU counters into the global
 * ones (vm.stat_refresh, root only: without it the figure lags by up to a
 * second's worth of allocations); -1 when unknown. */
static long mem_available(void)
{
    int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

    if (fd >= 0) {
        if (write(fd, "1\n", 2) < 0) {
            /* not root: the figure lags a little */
        }
        close(fd);
    }
    return field_kb("/proc/meminfo", "MemAvailable");
}

static int copy_file(const char *from, const char *to)
{
    char buf[8192];
    int in = open(from, O_RDONLY), out = -1;
    ssize_t n = 0;

    if (in >= 0)
        out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    }
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return in < 0 || out < 0 || n < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *mark = "@U", *err_dir = NULL, *smaps_to = NULL;
    double timeout_s = 600;
    int opt, n = 0;

    while ((opt = getopt(argc, argv, "+n:t:M:e:s:")) != -1) {
        switch (opt) {
        case 'n':
            n = atoi(optarg);
            break;
        case 't':
            timeout_s = atof(optarg);
            break;
        case 'M':
            mark = optarg;
            break;
        case 'e':
            err_dir = optarg;
            break;
        case 's':
            smaps_to = optarg;
            break;
        default:
            return usage();
        }
    }
    if (optind >= argc || n < 1 || n > MAX_N || !*mark || strlen(mark) > TAIL)
        return usage();

    long avail0 = mem_available();
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        int fds[2];

        if (pipe2(fds, O_CLOEXEC) < 0)
            return perror("pipe"), 2;
        copies[i].mark = -1;
        copies[i].fd = fds[0];
        copies[i].pid = fork();
        if (copies[i].pid < 0)
            return perror("fork"), 2;
        if (copies[i].pid == 0)
            child(fds[1], err_dir, i, argv + optind);
        close(fds[1]);
        pfds[i] = (struct pollfd){.fd = fds[0], .events = POLLIN};
    }

    /* Poll every pipe until each copy printed the mark, or its pipe
     * closed (the copy died), or the deadline. */
    double deadline = t0 + timeout_s * 1e3, first = -1, last = -1;
    int marked = 0, open_fds = n;
    while (marked < n && open_fds > 0) {
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            break;
        int r = poll(pfds, (nfds_t)n, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (int i = 0; i < n; i++) {
            char buf[4096];

            if (pfds[i].fd < 0 || !pfds[i].revents)
                continue;
            ssize_t got = read(pfds[i].fd, buf, sizeof(buf));
            double t = now_ms();
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                close(pfds[i].fd);
                pfds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (copies[i].mark >= 0)
                continue; /* output after the mark: read and dropped */
            scan(&copies[i], mark, buf, (size_t)got, t);
            if (copies[i].mark >= 0) {
                marked++;
                if (first < 0)
                    first = t;
                last = t;
            }
        }
    }

    /* The guests sit at hlt: what they cost now. */
    long rss = 0, pss = 0, pss_anon = 0, pss_file = 0, pss_shmem = 0;
    long threads = 0, big_rss = -1;
    int alive = 0, big = 0;
    for (int i = 0; i < n; i++) {
        char path[64];
        long v;

        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup",
                 (int)copies[i].pid);
        if ((v = field_kb(path, "Rss")) < 0)
            continue;
        alive++;
        if (v > big_rss)
            big = i, big_rss = v;
        rss += v;
        pss += field_kb(path, "Pss");
        pss_anon += field_kb(path, "Pss_Anon");
        pss_file += field_kb(path, "Pss_File");
        pss_shmem += field_kb(path, "Pss_Shmem");
        snprintf(path, sizeof(path), "/proc/%d/status", (int)copies[i].pid);
        threads += field_kb(path, "Threads");
    }
    long avail1 = mem_available();
    if (smaps_to) {
        char path[64];

        snprintf(path, sizeof(path), "/proc/%d/smaps", (int)copies[big].pid);
        if (copy_file(path, smaps_to) < 0)
            perror(smaps_to);
    }

    double killed = now_ms();
    for (int i = 0; i < n; i++)
        kill(copies[i].pid, SIGKILL);
    for (int i = 0; i < n; i++) {
        while (waitpid(copies[i].pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (pfds[i].fd >= 0)
            close(pfds[i].fd);
    }
    double gone = now_ms();

    printf("n=%d marked=%d alive=%d first_ms=", n, marked, alive);
    if (first < 0)
        printf("- last_ms=- ");
    else
        printf("%.3f last_ms=%.3f ", first - t0, last - t0);
    printf("gone_ms=%.3f rss_kb=%ld pss_kb=%ld pss_anon_kb=%ld "
           "pss_file_kb=%ld pss_shmem_kb=%ld threads=%ld avail_drop_kb=%ld\n",
           gone - killed, rss, pss, pss_anon, pss_file, pss_shmem, threads,
           avail0 < 0 || avail1 < 0 ? -1 : avail0 - avail1);
    return marked == n && alive == n ? 0 : 1;
}

/*
 * nettool: the TCP traffic of bench/net.sh (issue 18 item 5), one static
 * binary for L1 and the L2 guests (no iperf in either).
 *
 *   nettool serve PORT            serve clients one after the other, until
 *                                 a client says quit (then exit 0)
 *   nettool send HOST PORT BYTES  stream BYTES to the server
 *   nettool recv HOST PORT BYTES  have the server stream BYTES to us
 *   nettool rr HOST PORT COUNT    COUNT one-byte request/response round
 *                                 trips (TCP_NODELAY both ends)
 *   nettool quit HOST PORT        make the server exit
 *   nettool rtctick HZ            (L1) keep a periodic device interrupt
 *                                 at HZ until killed: the lab's L1 loses
 *                                 its timer interrupt now and then, until
 *                                 another interrupt comes (bench/README.md)
 *
 * A client connects (retrying for up to 180 s: the server's guest may still
 * be booting), sends a 9-byte request (an operation letter and a 64-bit
 * little-endian count), then times the transfer with CLOCK_MONOTONIC: for
 * send, from the request until the server's one-byte acknowledgement that
 * it has read everything; for recv, from the request until the last byte;
 * for rr, each round trip. It prints one line:
 *   @@NET op=send bytes=N ns=T mbps=X            (MB/s, 10^6 bytes)
 *   @@NET op=rr count=N ns=T mean_ns=M median_ns=D min_ns=L max_ns=H
 * and exits 0, or prints "nettool: ..." on stderr and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/hpet.h>
#include <linux/rtc.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK        (64 * 1024)
#define CONNECT_SECS 180
#define MAX_RR       1000000

static uint8_t buf[CHUNK];

static void die(const char *what)
{
    fprintf(stderr, "nettool: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void put_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write");
        b += w;
        n -= (size_t)w;
    }
}

static void get_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            errno = ECONNRESET;
        if (r <= 0)
            die("read");
        b += r;
        n -= (size_t)r;
    }
}

/* Read and drop n bytes. */
static void drain(int fd, uint64_t n)
{
    while (n) {
        size_t want = n < CHUNK ? (size_t)n : CHUNK;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            errno = ECONNRESET;
        if (r <= 0)
            die("read");
        n -= (uint64_t)r;
    }
}

static void stream(int fd, uint64_t n)
{
    while (n) {
        size_t c = n < CHUNK ? (size_t)n : CHUNK;
        put_all(fd, buf, c);
        n -= c;
    }
}

static void nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        die("TCP_NODELAY");
}

static uint64_t get_num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end) {
        fprintf(stderr, "nettool: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static void serve_one(int c, int *quit)
{
    uint8_t req[9];
    get_all(c, req, sizeof(req));
    uint64_t n = 0;
    for (int i = 8; i >= 1; i--)
        n = n << 8 | req[i];
    uint8_t b = 'k';
    switch (req[0]) {
    case 'S':
        drain(c, n);
        put_all(c, &b, 1);
        break;
    case 'R':
        stream(c, n);
        get_all(c, &b, 1); /* the client has everything */
        break;
    case 'P':
        nodelay(c);
        for (uint64_t i = 0; i < n; i++) {
            get_all(c, &b, 1);
            put_all(c, &b, 1);
        }
        break;
    case 'Q':
        *quit = 1;
        put_all(c, &b, 1);
        break;
    default:
        fprintf(stderr, "nettool: unknown request %#x\n", req[0]);
    }
}

static int serve(const char *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    int one = 1;
    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)get_num(port, "port")),
                            .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0)
        die("bind/listen");
    printf("nettool: serving on port %s\n", port);
    fflush(stdout);
    for (int quit = 0; !quit;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            die("accept");
        }
        /* A failing client (reset) must not end the server. */
        pid_t p = fork();
        if (p < 0)
            die("fork");
        if (p == 0) {
            int q = 0;
            serve_one(c, &q);
            _exit(q ? 3 : 0);
        }
        close(c);
        int st;
        while (waitpid(p, &st, 0) < 0 && errno == EINTR)
            ;
        quit = WIFEXITED(st) && WEXITSTATUS(st) == 3;
    }
    close(s);
    return 0;
}

static int dial(const char *host, const char *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)get_num(port, "port"))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "nettool: bad address '%s'\n", host);
        exit(2);
    }
    uint64_t until = now_ns() + (uint64_t)CONNECT_SECS * 1000000000u;
    for (;;) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            die("socket");
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
            return s;
        int e = errno;
        close(s);
        if (now_ns() > until) {
            errno = e;
            die("connect");
        }
        struct timespec t = {0, 200 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
}

static void request(int s, char op, uint64_t n)
{
    uint8_t req[9] = {(uint8_t)op};
    for (int i = 1; i <= 8; i++, n >>= 8)
        req[i] = (uint8_t)n;
    put_all(s, req, sizeof(req));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int client(const char *op, const char *host, const char *port,
                  const char *arg)
{
    int s = dial(host, port);
    uint8_t b = 'k';
    if (!strcmp(op, "quit")) {
        request(s, 'Q', 0);
        get_all(s, &b, 1);
        return 0;
    }
    uint64_t n = get_num(arg, "count");
    if (!strcmp(op, "send") || !strcmp(op, "recv")) {
        int snd = op[0] == 's';
        uint64_t t0 = now_ns();
        request(s, snd ? 'S' : 'R', n);
        if (snd) {
            stream(s, n);
            get_all(s, &b, 1);
        } else {
            drain(s, n);
        }
        uint64_t ns = now_ns() - t0;
        if (!snd)
            put_all(s, &b, 1);
        printf("@@NET op=%s bytes=%llu ns=%llu mbps=%.2f\n", op,
               (unsigned long long)n, (unsigned long long)ns,
               ns ? (double)n * 1e3 / (double)ns : 0.0);
        return 0;
    }
    if (!strcmp(op, "rr")) {
        if (n == 0 || n > MAX_RR) {
            fprintf(stderr, "nettool: count must be 1..%d\n", MAX_RR);
            return 2;
        }
        uint64_t *v = malloc(n * sizeof(*v));
        if (!v)
            die("malloc");
        nodelay(s);
        request(s, 'P', n);
        uint64_t t0 = now_ns(), sum = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t t = now_ns();
            b = (uint8_t)i;
            put_all(s, &b, 1);
            get_all(s, &b, 1);
            v[i] = now_ns() - t;
            sum += v[i];
        }
        uint64_t ns = now_ns() - t0;
        qsort(v, n, sizeof(*v), cmp_u64);
        printf("@@NET op=rr count=%llu ns=%llu mean_ns=%llu median_ns=%llu "
               "min_ns=%llu max_ns=%llu\n",
               (unsigned long long)n, (unsigned long long)ns,
               (unsigned long long)(sum / n), (unsigned long long)v[n / 2],
               (unsigned long long)v[0], (unsigned long long)v[n - 1]);
        free(v);
        return 0;
    }
    fprintf(stderr, "nettool: unknown operation '%s'\n", op);
    return 2;
}

/* A periodic device interrupt: an HPET comparator of its own (/dev/hpet),
 * else the RTC's periodic interrupt (which Linux emulates with the HPET
 * when there is one: then it never fires). */
static _Noreturn void rtctick(const char *hz)
{
    unsigned long f = (unsigned long)get_num(hz, "rate");
    int fd = open("/dev/hpet", O_RDONLY);
    if (fd >= 0 && ioctl(fd, HPET_IRQFREQ, f) == 0 &&
        ioctl(fd, HPET_IE_ON, 0) == 0) {
        printf("nettool: /dev/hpet interrupts at %lu Hz\n", f);
    } else {
        if (fd >= 0)
            close(fd);
        fd = open("/dev/rtc0", O_RDONLY);
        if (fd < 0)
            die("/dev/rtc0");
        if (ioctl(fd, RTC_IRQP_SET, f) < 0 || ioctl(fd, RTC_PIE_ON, 0) < 0)
            die("RTC periodic interrupt");
        printf("nettool: /dev/rtc0 interrupts at %lu Hz\n", f);
    }
    fflush(stdout);
    for (;;) {
        unsigned long d;
        if (read(fd, &d, sizeof(d)) < 0 && errno != EINTR)
            die("read /dev/rtc0");
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    memset(buf, 0x5a, sizeof(buf));
    if (argc == 3 && !strcmp(argv[1], "serve"))
        return serve(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "rtctick"))
        rtctick(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "quit"))
        return client(argv[1], argv[2], argv[3], NULL);
    if (argc == 5)
        return client(argv[1], argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: nettool serve PORT | send|recv HOST PORT BYTES | "
                    "rr HOST PORT COUNT | quit HOST PORT | rtctick HZ\n");
    return 2;
}

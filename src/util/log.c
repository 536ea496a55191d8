/* log.c: class-routed run-time messages (see log.h). */
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

const char *const log_class_names[LOG_NCLASS] = {
    "fatal", "internal", "error", "warn", "info", "debug", "verbose"};
const char *const log_dest_names[4] = {"none", "stdout", "stderr", "slog"};

static enum log_dest dests[LOG_NCLASS] = {LOGD_STDERR, LOGD_STDERR, LOGD_STDERR,
                                          LOGD_STDERR, LOGD_STDERR, LOGD_NONE,
                                          LOGD_NONE};

/* The syslog client (log.h): the socket, its path and the identifier,
 * under slog_lock (lines come from any thread). */
static pthread_mutex_t slog_lock = PTHREAD_MUTEX_INITIALIZER;
static int slog_fd = -1;
static char slog_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = "/dev/log";
static char slog_id[64] = "qvm";

void log_slog_set_ident(const char *system)
{
    pthread_mutex_lock(&slog_lock);
    size_t n = 0;
    if (system && *system) {
        n = (size_t)snprintf(slog_id, sizeof(slog_id), "qvm@");
        for (const char *p = system; *p && n < sizeof(slog_id) - 1; p++) {
            char ch = *p;
            bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
                      ch == '-';
            slog_id[n++] = ok ? ch : '_';
        }
        slog_id[n] = 0;
    } else {
        snprintf(slog_id, sizeof(slog_id), "qvm");
    }
    pthread_mutex_unlock(&slog_lock);
}

const char *log_slog_ident(void)
{
    return slog_id;
}

/* Under slog_lock. */
static void slog_connect(void)
{
    if (slog_fd >= 0)
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, slog_path, sizeof(a.sun_path));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return;
    }
    slog_fd = fd;
}

static void slog_close(void)
{
    if (slog_fd >= 0)
        close(slog_fd);
    slog_fd = -1;
}

void log_slog_open(void)
{
    tzset(); /* the time stamps: /etc/localtime is read now */
    pthread_mutex_lock(&slog_lock);
    slog_connect();
    pthread_mutex_unlock(&slog_lock);
}

void log_slog_set_path(const char *path)
{
    pthread_mutex_lock(&slog_lock);
    slog_close();
    snprintf(slog_path, sizeof(slog_path), "%s", path ? path : "/dev/log");
    pthread_mutex_unlock(&slog_lock);
}

/* One line (without "qvm: ", which the identifier says) as a datagram. */
static void slog_send(int severity, const char *msg)
{
    char dg[1200];
    struct tm tm;
    time_t now = time(NULL);
    char stamp[32] = "Jan  1 00:00:00";
    if (localtime_r(&now, &tm))
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    pthread_mutex_lock(&slog_lock);
    int n = snprintf(dg, sizeof(dg), "<%d>%s %s[%ld]: %s", LOG_USER | severity,
                     stamp, slog_id, (long)getpid(), msg);
    size_t len = n < 0                    ? 0
                 : (size_t)n < sizeof(dg) ? (size_t)n
                                          : sizeof(dg) - 1;
    for (int attempt = 0; len && attempt < 2; attempt++) {
        slog_connect();
        if (slog_fd < 0)
            break;
        if (send(slog_fd, dg, len, MSG_NOSIGNAL) >= 0)
            break;
        if (errno == EINTR)
            continue;
        slog_close(); /* journald restarted: reconnect once */
    }
    pthread_mutex_unlock(&slog_lock);
}

void log_set_dest(enum log_class c, enum log_dest d)
{
    if (c < LOG_NCLASS)
        dests[c] = d;
}

bool log_enabled(enum log_class c)
{
    return c < LOG_NCLASS && dests[c] != LOGD_NONE;
}

/* Per-tag overrides (a vdev's `log`): set before the threads start, read
 * only afterwards. */
#define LOG_MAX_ROUTES 32
static struct log_route {
    char tag[32];
    unsigned mask;
    enum log_dest dest[LOG_NCLASS];
} routes[LOG_MAX_ROUTES];
static unsigned nroutes;

int log_route_tag(const char *tag, unsigned class_mask, enum log_dest d)
{
    struct log_route *r = NULL;
    for (unsigned i = 0; i < nroutes; i++)
        if (strcmp(routes[i].tag, tag) == 0)
            r = &routes[i];
    if (!r) {
        if (nroutes == LOG_MAX_ROUTES || strlen(tag) >= sizeof(r->tag))
            return -1;
        r = &routes[nroutes++];
        memset(r, 0, sizeof(*r));
        strcpy(r->tag, tag);
    }
    for (unsigned c = 0; c < LOG_NCLASS; c++) {
        if (class_mask & (1u << c)) {
            r->mask |= 1u << c;
            r->dest[c] = d;
        }
    }
    return 0;
}

void log_routes_clear(void)
{
    nroutes = 0;
}

/* Where a line of class c with this tag goes. */
static enum log_dest dest_of(enum log_class c, const char *tag)
{
    for (unsigned i = 0; tag && i < nroutes; i++)
        if ((routes[i].mask & (1u << c)) && strcmp(routes[i].tag, tag) == 0)
            return routes[i].dest[c];
    return dests[c];
}

bool log_enabled_tag(enum log_class c, const char *tag)
{
    return c < LOG_NCLASS && dest_of(c, tag) != LOGD_NONE;
}

static void (*_Atomic sink_fn)(enum log_class c, const char *line);

void log_set_sink(void (*sink)(enum log_class c, const char *line))
{
    sink_fn = sink;
}

static void log_vmsg(enum log_class c, const char *tag, const char *fmt,
                     va_list ap) __attribute__((format(printf, 3, 0)));

static void log_vmsg(enum log_class c, const char *tag, const char *fmt,
                     va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "qvm: %s: %s%s", log_class_names[c],
                     tag ? tag : "", tag ? ": " : "");
    if (n < 0)
        return;
    if ((size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    size_t len = 0;
    while (len < sizeof(line) - 2 && line[len])
        len++;
    line[len] = 0;
    void (*sink)(enum log_class, const char *) = sink_fn;
    if (sink) {
        sink(c, line);
        return;
    }
    enum log_dest d = dest_of(c, tag);
    if (d == LOGD_SLOG) {
        slog_send(c <= LOG_ERROR ? LOG_ERR : LOG_NOTICE,
                  strncmp(line, "qvm: ", 5) == 0 ? line + 5 : line);
        if (c != LOG_INTERNAL)
            return;
    }
    line[len++] = '\n';
    int fd = d == LOGD_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
    ssize_t w = write(fd, line, len);
    (void)w;
}

void log_msg(enum log_class c, const char *tag, const char *fmt, ...)
{
    if (!log_enabled_tag(c, tag))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(c, tag, fmt, ap);
    va_end(ap);
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t (*_Atomic clock_fn)(void) = monotonic_ms;

void log_set_clock(uint64_t (*now_ms)(void))
{
    clock_fn = now_ms ? now_ms : monotonic_ms;
}

/* May a line go out now? Returns the number of lines dropped before it
 * through *suppressed. Caller holds budget_lock. */
static bool budget_take(struct log_budget *b, uint64_t now,
                        uint64_t *suppressed)
{
    if (!b->started) {
        b->started = true;
        if (!b->burst && !b->interval_ms) { /* zero-initialised */
            b->burst = LOG_BURST;
            b->interval_ms = LOG_INTERVAL_MS;
        }
        b->tokens = b->burst;
        b->last_ms = now;
    }
    if (b->interval_ms && now > b->last_ms) {
        uint64_t back = (now - b->last_ms) / b->interval_ms;
        if (back >= b->burst - b->tokens) {
            b->tokens = b->burst;
            b->last_ms = now;
        } else {
            b->tokens += (unsigned)back;
            b->last_ms += back * b->interval_ms;
        }
    }
    if (b->tokens == 0) {
        b->suppressed++;
        return false;
    }
    b->tokens--;
    *suppressed = b->suppressed;
    b->suppressed = 0;
    return true;
}

void log_guest(struct log_budget *b, enum log_class c, const char *tag,
               const char *fmt, ...)
{
    static pthread_mutex_t budget_lock = PTHREAD_MUTEX_INITIALIZER;
    if (!log_enabled_tag(c, tag))
        return;
    uint64_t suppressed = 0;
    pthread_mutex_lock(&budget_lock);
    bool ok = budget_take(b, clock_fn(), &suppressed);
    pthread_mutex_unlock(&budget_lock);
    if (!ok)
        return;
    if (suppressed)
        log_msg(c, tag, "%llu similar messages suppressed",
                (unsigned long long)suppressed);
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(c, tag, fmt, ap);
    va_end(ap);
}

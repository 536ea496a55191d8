/* log.c: class-routed run-time messages (see log.h). */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

const char *const log_class_names[LOG_NCLASS] = {
    "fatal", "internal", "error", "warn", "info", "debug", "verbose"};
const char *const log_dest_names[4] = {"none", "stdout", "stderr", "slog"};

static enum log_dest dests[LOG_NCLASS] = {LOGD_STDERR, LOGD_STDERR, LOGD_STDERR,
                                          LOGD_STDERR, LOGD_STDERR, LOGD_NONE,
                                          LOGD_NONE};

void log_set_dest(enum log_class c, enum log_dest d)
{
    if (c < LOG_NCLASS)
        dests[c] = d;
}

bool log_enabled(enum log_class c)
{
    return c < LOG_NCLASS && dests[c] != LOGD_NONE;
}

void log_msg(enum log_class c, const char *tag, const char *fmt, ...)
{
    if (!log_enabled(c))
        return;
    char line[1024];
    int n = snprintf(line, sizeof(line), "qvm: %s: %s%s", log_class_names[c],
                     tag ? tag : "", tag ? ": " : "");
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    if ((size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = 0;
    while (len < sizeof(line) - 2 && line[len])
        len++;
    if (dests[c] == LOGD_SLOG) {
        syslog(c <= LOG_ERROR ? LOG_ERR : LOG_NOTICE, "%s", line);
        if (c != LOG_INTERNAL)
            return;
    }
    line[len++] = '\n';
    int fd = dests[c] == LOGD_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
    ssize_t w = write(fd, line, len);
    (void)w;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool log_ratelimit(struct ratelimit *rl, const char *tag)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    bool ok;
    pthread_mutex_lock(&lock);
    uint64_t t = now_ms();
    if (t - rl->window_start_ms >= rl->interval_ms) {
        if (rl->suppressed)
            log_warn(tag, "%u similar messages suppressed", rl->suppressed);
        rl->window_start_ms = t;
        rl->printed = 0;
        rl->suppressed = 0;
    }
    ok = rl->printed < rl->burst;
    if (ok)
        rl->printed++;
    else
        rl->suppressed++;
    pthread_mutex_unlock(&lock);
    return ok;
}

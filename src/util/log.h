/*
 * log.h: qvm's run-time messages, routed per class as the `logger` option
 * says (qvm-reference.md 2.11). Default: fatal, internal, error, warn and
 * info go to stderr; debug and verbose are off. `slog` maps to syslog.
 *
 * Context: any thread. Each message is written with one write(2), so lines
 * from different threads never interleave.
 */
#ifndef QVM_UTIL_LOG_H
#define QVM_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

enum log_class {
    LOG_FATAL,
    LOG_INTERNAL,
    LOG_ERROR,
    LOG_WARN,
    LOG_INFO,
    LOG_DEBUG,
    LOG_VERBOSE,
    LOG_NCLASS
};

enum log_dest { LOGD_NONE, LOGD_STDOUT, LOGD_STDERR, LOGD_SLOG };

extern const char *const log_class_names[LOG_NCLASS];
extern const char *const log_dest_names[4];

void log_set_dest(enum log_class c, enum log_dest d);
bool log_enabled(enum log_class c);
void log_msg(enum log_class c, const char *tag, const char *fmt, ...)
    PRINTF_FMT(3, 4);

#define log_fatal(tag, ...)   log_msg(LOG_FATAL, tag, __VA_ARGS__)
#define log_error(tag, ...)   log_msg(LOG_ERROR, tag, __VA_ARGS__)
#define log_warn(tag, ...)    log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_info(tag, ...)    log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_debug(tag, ...)   log_msg(LOG_DEBUG, tag, __VA_ARGS__)
#define log_verbose(tag, ...) log_msg(LOG_VERBOSE, tag, __VA_ARGS__)

/*
 * struct ratelimit: at most `burst` messages per `interval_ms`, then one
 * "N messages suppressed" line when the window reopens. For anything a guest
 * can trigger. Zero-initialise with RATELIMIT_INIT(burst, ms).
 */
struct ratelimit {
    unsigned burst, interval_ms;
    uint64_t window_start_ms;
    unsigned printed, suppressed;
};
#define RATELIMIT_INIT(b, ms)                                                  \
    {                                                                          \
        .burst = (b), .interval_ms = (ms)                                      \
    }
/* log_ratelimit: true when the caller may print now. */
bool log_ratelimit(struct ratelimit *rl, const char *tag);

#endif

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
/*
 * `slog`: each line is one datagram to the syslog socket (/dev/log, which
 * systemd-journald serves), "<PRI>TIMESTAMP IDENT[PID]: class: tag: text",
 * facility user, severity err (fatal, internal, error) or notice. IDENT,
 * the journal's SYSLOG_IDENTIFIER, is "qvm@SYSTEM" with the configuration's
 * `system` name (characters other than letters, digits and ._- become _),
 * or "qvm" without one: `journalctl -t qvm@SYSTEM`.
 * log_slog_set_ident: before the threads start (NULL: "qvm").
 * log_slog_open: connect the socket and read the time zone now, so that no
 * later `slog` line opens a file (vm/confine.h); a line also connects it
 * when it is not, and a failed send reconnects once (journald restarted).
 * log_slog_set_path: another socket than /dev/log (tests); closes the
 * connection. log_slog_ident: the identifier in use.
 */
void log_slog_set_ident(const char *system);
void log_slog_open(void);
void log_slog_set_path(const char *path);
const char *log_slog_ident(void);
bool log_enabled(enum log_class c);
void log_msg(enum log_class c, const char *tag, const char *fmt, ...)
    PRINTF_FMT(3, 4);
/*
 * log_route_tag: lines with this tag and a class in class_mask (bit
 * 1 << LOG_*) go to `d` instead of the class's destination (a vdev's
 * `log FILTERS DEST`; the tag is the vdev type's name). Before the threads
 * start; -1 when the table (32 tags) is full. log_routes_clear: none.
 * log_enabled_tag: whether a line of class c with this tag goes anywhere.
 */
int log_route_tag(const char *tag, unsigned class_mask, enum log_dest d);
void log_routes_clear(void);
bool log_enabled_tag(enum log_class c, const char *tag);

#define log_fatal(tag, ...)   log_msg(LOG_FATAL, tag, __VA_ARGS__)
#define log_error(tag, ...)   log_msg(LOG_ERROR, tag, __VA_ARGS__)
#define log_warn(tag, ...)    log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_info(tag, ...)    log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_debug(tag, ...)   log_msg(LOG_DEBUG, tag, __VA_ARGS__)
#define log_verbose(tag, ...) log_msg(LOG_VERBOSE, tag, __VA_ARGS__)

/*
 * Guest-driven messages: anything a guest (or a peer) can make qvm say
 * again and again goes through log_guest() with a budget, never straight
 * through log_msg(). A budget allows a burst of `burst` lines, then at most
 * one line per `interval_ms` (a token bucket: one token back per interval,
 * at most `burst` saved). When a line gets through after others were
 * dropped, a "K similar messages suppressed" line precedes it. Thread-safe;
 * a budget is either per device (a struct member, LOG_BUDGET_INIT) or per
 * call site (LOG_RATELIMITED, a static budget).
 */
struct log_budget {
    unsigned burst, interval_ms;
    bool started;
    unsigned tokens;
    uint64_t last_ms;    /* when the last token was given back */
    uint64_t suppressed; /* dropped since the last line that got through */
};
#define LOG_BUDGET_INIT(b, ms)                                                 \
    {                                                                          \
        .burst = (b), .interval_ms = (ms)                                      \
    }
/* The budget of LOG_RATELIMITED call sites. */
#define LOG_BURST       10
#define LOG_INTERVAL_MS 5000

void log_guest(struct log_budget *b, enum log_class c, const char *tag,
               const char *fmt, ...) PRINTF_FMT(4, 5);

#define LOG_RATELIMITED(c, tag, ...)                                           \
    do {                                                                       \
        static struct log_budget log_site_budget_ =                            \
            LOG_BUDGET_INIT(LOG_BURST, LOG_INTERVAL_MS);                       \
        log_guest(&log_site_budget_, (c), (tag), __VA_ARGS__);                 \
    } while (0)

/*
 * For unit tests: the clock budgets read (NULL: CLOCK_MONOTONIC), and a
 * sink that receives every line instead of its destination (NULL: none).
 */
void log_set_clock(uint64_t (*now_ms)(void));
void log_set_sink(void (*sink)(enum log_class c, const char *line));

#endif

/*
 * diag.h: configuration diagnostics in the compiler format
 *
 *     guest.qvmconf:12:5: error: unknown option 'hostdve' for vdev
 *         'virtio-blk' (did you mean 'hostdev'?)
 *     guest.qvmconf:9:1: note: 'ser8250' occupies io:0x3f8-0x3ff
 *
 * Every error is reported (up to DIAG_MAX_ERRORS), then qvm exits 65. A
 * struct diag outlives parsing: devices that fail while being realized report
 * through it with the span of their vdev block.
 */
#ifndef QVM_CONFIG_DIAG_H
#define QVM_CONFIG_DIAG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/compiler.h"

#define DIAG_MAX_ERRORS 50

/* A position in the configuration: file ("<command line>" for argv). */
struct src_span {
    const char *file; /* interned, lives as long as the lexer */
    uint32_t line, col;
};

struct diag {
    FILE *out;       /* NULL: count only (fuzzing, unit tests) */
    unsigned errors; /* every error, including those past the cap */
    unsigned warnings;
    bool strict;     /* --strict-config: warnings count as errors */
    bool capped;     /* the "too many errors" line was printed */
    bool last_shown; /* whether the last error/warning was printed */
    char last[512];  /* text of the last error or warning (for tests) */
};

void diag_init(struct diag *dg, FILE *out);
void diag_error(struct diag *dg, const struct src_span *at, const char *fmt,
                ...) PRINTF_FMT(3, 4);
void diag_warn(struct diag *dg, const struct src_span *at, const char *fmt, ...)
    PRINTF_FMT(3, 4);
/* diag_note: attached to the previous error or warning; shown with it. */
void diag_note(struct diag *dg, const struct src_span *at, const char *fmt, ...)
    PRINTF_FMT(3, 4);
/* diag_notice: a note on its own (not attached to an error or warning, not
 * counted, not an error under --strict-config): something the reader should
 * know, e.g. that a later definition replaces an earlier one. */
void diag_notice(struct diag *dg, const struct src_span *at, const char *fmt,
                 ...) PRINTF_FMT(3, 4);
static inline bool diag_failed(const struct diag *dg)
{
    return dg->errors > 0;
}

/*
 * did_you_mean: the candidate closest to `word` (edit distance <= 2, and
 * less than half the word's length), or NULL. `names` is NULL-terminated or
 * bounded by n (pass SIZE_MAX for NULL-terminated).
 */
const char *did_you_mean(const char *word, const char *const *names,
                         unsigned n);

#endif

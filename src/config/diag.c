/* diag.c: configuration diagnostics (see diag.h). */
#include "config/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_init(struct diag *dg, FILE *out)
{
    memset(dg, 0, sizeof(*dg));
    dg->out = out;
}

static void emit(struct diag *dg, const struct src_span *at, const char *sev,
                 const char *fmt, va_list ap) PRINTF_FMT(4, 0);
static void emit(struct diag *dg, const struct src_span *at, const char *sev,
                 const char *fmt, va_list ap)
{
    char msg[sizeof(dg->last)] = "";
    if (fmt) /* always true; keeps GCC's -Wformat-truncation quiet under UBSan
              */
        vsnprintf(msg, sizeof(msg), fmt, ap);
    if (strcmp(sev, "note") != 0)
        memcpy(dg->last, msg, sizeof(msg));
    if (!dg->out)
        return;
    if (at && at->file)
        fprintf(dg->out, "%s:%u:%u: %s: %s\n", at->file, at->line, at->col, sev,
                msg);
    else
        fprintf(dg->out, "qvm: %s: %s\n", sev, msg);
}

void diag_error(struct diag *dg, const struct src_span *at, const char *fmt,
                ...)
{
    dg->errors++;
    dg->last_shown = dg->errors <= DIAG_MAX_ERRORS;
    if (!dg->last_shown) {
        if (!dg->capped && dg->out)
            fprintf(dg->out,
                    "qvm: error: too many errors (%d), "
                    "the rest are not shown\n",
                    DIAG_MAX_ERRORS);
        dg->capped = true;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    emit(dg, at, "error", fmt, ap);
    va_end(ap);
}

void diag_warn(struct diag *dg, const struct src_span *at, const char *fmt, ...)
{
    va_list ap;
    if (dg->strict) {
        dg->errors++;
        dg->last_shown = dg->errors <= DIAG_MAX_ERRORS;
        if (!dg->last_shown)
            return;
        va_start(ap, fmt);
        emit(dg, at, "error", fmt, ap);
        va_end(ap);
        return;
    }
    dg->warnings++;
    dg->last_shown = true;
    va_start(ap, fmt);
    emit(dg, at, "warning", fmt, ap);
    va_end(ap);
}

void diag_note(struct diag *dg, const struct src_span *at, const char *fmt, ...)
{
    if (!dg->last_shown)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(dg, at, "note", fmt, ap);
    va_end(ap);
}

void diag_notice(struct diag *dg, const struct src_span *at, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(dg, at, "note", fmt, ap);
    va_end(ap);
}

/* edit_distance: Levenshtein distance of a and b, or any value above `max`
 * once the distance is known to exceed it: the length difference is a lower
 * bound, and so is the smallest entry of a row (entries never decrease down
 * a column's diagonal path). did_you_mean runs this against every name of a
 * list for each unknown word, so the early exits matter for long lists and
 * for inputs full of unknown words (the configuration fuzzer spent a third
 * of its time here). */
static unsigned edit_distance(const char *a, const char *b, unsigned max)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    if ((la > lb ? la - lb : lb - la) > max)
        return max + 1;
    unsigned row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        unsigned lo = row[0];
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
            unsigned best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
            if (best < lo)
                lo = best;
        }
        if (lo > max)
            return max + 1;
    }
    return row[lb];
}

const char *did_you_mean(const char *word, const char *const *names, unsigned n)
{
    const char *best = NULL;
    unsigned best_d = 3;
    size_t lw = strlen(word);
    for (unsigned i = 0; i < n && names[i]; i++) {
        unsigned d = edit_distance(word, names[i], best_d - 1);
        if (d < best_d && d * 2 <= lw + 1) {
            best = names[i];
            best_d = d;
            if (d == 0)
                break;
        }
    }
    return best;
}

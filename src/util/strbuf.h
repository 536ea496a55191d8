/*
 * strbuf.h: a growable, always NUL-terminated string used to build output
 * (dryrun text and JSON, help pages, firmware table names).
 * Allocation failure makes the buffer sticky-failed (sb->oom) instead of
 * crashing; callers check once at the end.
 */
#ifndef QVM_UTIL_STRBUF_H
#define QVM_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/compiler.h"

struct strbuf {
    char *s;
    size_t len, cap;
    bool oom;
};

void sb_init(struct strbuf *sb);
void sb_free(struct strbuf *sb);
void sb_putc(struct strbuf *sb, char c);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) PRINTF_FMT(2, 3);
/* sb_json_str: append s as a JSON string literal (with quotes). */
void sb_json_str(struct strbuf *sb, const char *s);
/* sb_cstr: the contents ("" for an empty or failed buffer). */
const char *sb_cstr(const struct strbuf *sb);

#endif

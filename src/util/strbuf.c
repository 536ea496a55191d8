/* strbuf.c: growable output strings (see strbuf.h). */
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(struct strbuf *sb)
{
    memset(sb, 0, sizeof(*sb));
}

void sb_free(struct strbuf *sb)
{
    free(sb->s);
    sb_init(sb);
}

static bool sb_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->oom)
        return false;
    if (sb->len + extra + 1 <= sb->cap)
        return true;
    size_t ncap = sb->cap ? sb->cap : 64;
    while (ncap < sb->len + extra + 1) {
        if (ncap > ((size_t)-1) / 2) {
            sb->oom = true;
            return false;
        }
        ncap *= 2;
    }
    char *ns = realloc(sb->s, ncap);
    if (!ns) {
        sb->oom = true;
        return false;
    }
    sb->s = ns;
    sb->cap = ncap;
    return true;
}

void sb_putc(struct strbuf *sb, char c)
{
    if (!sb_reserve(sb, 1))
        return;
    sb->s[sb->len++] = c;
    sb->s[sb->len] = '\0';
}

void sb_puts(struct strbuf *sb, const char *s)
{
    size_t n = strlen(s);
    if (!sb_reserve(sb, n))
        return;
    memcpy(sb->s + sb->len, s, n + 1);
    sb->len += n;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void sb_json_str(struct strbuf *sb, const char *s)
{
    sb_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            sb_puts(sb, "\\\"");
            break;
        case '\\':
            sb_puts(sb, "\\\\");
            break;
        case '\n':
            sb_puts(sb, "\\n");
            break;
        case '\t':
            sb_puts(sb, "\\t");
            break;
        case '\r':
            sb_puts(sb, "\\r");
            break;
        default:
            if (*p < 0x20)
                sb_printf(sb, "\\u%04x", *p);
            else
                sb_putc(sb, (char)*p);
        }
    }
    sb_putc(sb, '"');
}

const char *sb_cstr(const struct strbuf *sb)
{
    return sb->s && !sb->oom ? sb->s : "";
}

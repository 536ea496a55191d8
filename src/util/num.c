/* num.c: the qvmconf number, size and boolean grammar (see num.h). */
#include "util/num.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/ckd.h"

static int digit_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static unsigned suffix_shift(char c)
{
    switch (c) {
    case 'k':
    case 'K':
        return 10;
    case 'm':
    case 'M':
        return 20;
    case 'g':
    case 'G':
        return 30;
    case 't':
    case 'T':
        return 40;
    default:
        return 0;
    }
}

enum num_err num_parse(const char *s, bool allow_suffix, uint64_t *out)
{
    unsigned base = 10;
    if (!s || !*s)
        return NUM_EMPTY;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'd' || s[1] == 'D')) {
        s += 2;
    }
    if (!*s)
        return NUM_EMPTY;
    uint64_t v = 0;
    const char *p = s;
    for (; *p; p++) {
        int d = digit_val(*p);
        if (d < 0 || (unsigned)d >= base)
            break;
        if (ckd_mul(&v, v, base) || ckd_add(&v, v, (uint64_t)d))
            return NUM_OVERFLOW;
    }
    if (p == s)
        return NUM_BAD;
    if (*p) {
        unsigned sh = suffix_shift(*p);
        if (sh == 0)
            return NUM_BAD;
        if (!allow_suffix)
            return NUM_SUFFIX;
        if (p[1])
            return NUM_BAD;
        if (v > (UINT64_MAX >> sh))
            return NUM_OVERFLOW;
        v <<= sh;
    }
    *out = v;
    return NUM_OK;
}

const char *num_strerror(enum num_err e)
{
    switch (e) {
    case NUM_OK:
        return "ok";
    case NUM_EMPTY:
        return "has no digits";
    case NUM_BAD:
        return "is not a number";
    case NUM_SUFFIX:
        return "takes no size suffix here";
    case NUM_OVERFLOW:
        return "does not fit in 64 bits";
    }
    return "is invalid";
}

bool bool_parse(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "yes", "on", "true", "enable"};
    static const char *const no[] = {"0", "no", "off", "false", "disable"};
    for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

void size_str(uint64_t v, char *buf, unsigned len)
{
    static const char units[] = {'T', 'G', 'M', 'K'};
    for (unsigned i = 0; i < sizeof(units); i++) {
        unsigned sh = 40 - 10 * i;
        uint64_t unit = 1ULL << sh;
        if (v >= unit && (v & (unit - 1)) == 0) {
            snprintf(buf, len, "%llu%c", (unsigned long long)(v >> sh),
                     units[i]);
            return;
        }
    }
    snprintf(buf, len, "%llu", (unsigned long long)v);
}

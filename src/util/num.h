/*
 * num.h: numbers, sizes and booleans as the qvmconf language writes them
 * (qvm-reference.md section 1.3).
 *
 *   number  := decimal | "0x" hex | "0d" decimal
 *   size    := number [K|M|G|T]      (binary multiples, either case)
 *   boolean := 1|0|yes|no|on|off|true|false|enable|disable
 *
 * A leading 0 does not mean octal. The whole string must be consumed.
 */
#ifndef QVM_UTIL_NUM_H
#define QVM_UTIL_NUM_H

#include <stdbool.h>
#include <stdint.h>

enum num_err {
    NUM_OK = 0,
    NUM_EMPTY,    /* "" or a prefix with no digits ("0x") */
    NUM_BAD,      /* a character that is not a digit of the base */
    NUM_SUFFIX,   /* a size suffix where none is allowed, or an unknown one */
    NUM_OVERFLOW, /* does not fit in 64 bits (after scaling) */
};

/* num_parse: parse s; allow_suffix permits K/M/G/T scaling. */
enum num_err num_parse(const char *s, bool allow_suffix, uint64_t *out);
/* num_strerror: a lower-case phrase for diagnostics ("is not a number"). */
const char *num_strerror(enum num_err e);
/* bool_parse: returns false when s is not a boolean word. */
bool bool_parse(const char *s, bool *out);
/* size_str: human form of a byte count ("640K", "1G", "0x1234"). */
void size_str(uint64_t v, char *buf, unsigned len);

#endif

/*
 * compiler.h: attribute and helper macros shared by every part of qvm.
 * Nothing here has behaviour of its own; it only names compiler features.
 */
#ifndef QVM_UTIL_COMPILER_H
#define QVM_UTIL_COMPILER_H

#include <stddef.h>

#define MUST_CHECK       __attribute__((warn_unused_result))
#define PRINTF_FMT(f, a) __attribute__((format(printf, f, a)))
#define UNUSED           __attribute__((unused))
#define NORETURN         __attribute__((noreturn))
#define NOINLINE         __attribute__((noinline))
#define LIKELY(x)        __builtin_expect(!!(x), 1)
#define UNLIKELY(x)      __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))
#define STATIC_ASSERT(c) _Static_assert(c, #c)
#define MIN(a, b)        ((a) < (b) ? (a) : (b))
#define MAX(a, b)        ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)   (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define IS_POW2(x)       ((x) != 0 && ((x) & ((x)-1)) == 0)

#endif

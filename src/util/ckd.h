/*
 * ckd.h: checked integer arithmetic (C23's ckd_* for C17 builds).
 * Every sum or product of a guest- or config-controlled value goes through
 * these. Each returns true when the result overflowed.
 */
#ifndef QVM_UTIL_CKD_H
#define QVM_UTIL_CKD_H

#include <stdbool.h>
#include <stdint.h>

#define ckd_add(r, a, b) __builtin_add_overflow((a), (b), (r))
#define ckd_sub(r, a, b) __builtin_sub_overflow((a), (b), (r))
#define ckd_mul(r, a, b) __builtin_mul_overflow((a), (b), (r))

/*
 * range_end: last byte of [base, base+size). Returns false when size is 0 or
 * the range wraps past 2^64.
 */
static inline bool range_last(uint64_t base, uint64_t size, uint64_t *last)
{
    return size != 0 && !ckd_add(last, base, size - 1);
}

/*
 * range_within: true when [off, off+len) lies inside [0, limit), computed
 * without wrapping (an empty range at off == limit is inside). Use it for
 * every "off + len <= limit" with a guest- or config-controlled off or len.
 */
static inline bool range_within(uint64_t off, uint64_t len, uint64_t limit)
{
    return off <= limit && len <= limit - off;
}

/* ranges_overlap: both ranges must be valid (non-empty, not wrapping). */
static inline bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b,
                                  uint64_t blen)
{
    return a <= b + (blen - 1) && b <= a + (alen - 1);
}

#endif

/*
 * vec.h: typed growable arrays.
 *
 *     VEC(struct foo) foos = {0};
 *     struct foo *f = VEC_PUSH(&foos);     // zeroed new element, or NULL
 *     for (size_t i = 0; i < foos.n; i++) use(&foos.v[i]);
 *     VEC_FREE(&foos);
 */
#ifndef QVM_UTIL_VEC_H
#define QVM_UTIL_VEC_H

#include <stddef.h>

#define VEC(T)                                                                 \
    struct {                                                                   \
        T *v;                                                                  \
        size_t n, cap;                                                         \
    }

/* vec_grow: make room for one more element; returns the new slot or NULL. */
void *vec_grow(void **v, size_t *n, size_t *cap, size_t elem);

#ifndef __CPPCHECK__
#define VEC_PUSH(vec)                                                          \
    ((__typeof__((vec)->v))vec_grow((void **)&(vec)->v, &(vec)->n,             \
                                    &(vec)->cap, sizeof(*(vec)->v)))
#else /* its parser cannot take a __typeof__ cast (tools/check-static.sh) */
#define VEC_PUSH(vec)                                                          \
    vec_grow((void **)&(vec)->v, &(vec)->n, &(vec)->cap, sizeof(*(vec)->v))
#endif
#define VEC_LAST(vec) ((vec)->n ? &(vec)->v[(vec)->n - 1] : NULL)
#define VEC_FREE(vec)                                                          \
    do {                                                                       \
        free((vec)->v);                                                        \
        (vec)->v = NULL;                                                       \
        (vec)->n = (vec)->cap = 0;                                             \
    } while (0)

#endif

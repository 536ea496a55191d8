/* vec.c: storage growth for the VEC() arrays of vec.h. */
#include "util/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *vec_grow(void **v, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        if (ncap > SIZE_MAX / elem)
            return NULL;
        void *nv = realloc(*v, ncap * elem);
        if (!nv)
            return NULL;
        *v = nv;
        *cap = ncap;
    }
    char *slot = (char *)*v + *n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

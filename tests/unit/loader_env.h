/*
 * loader_env.h: the guest the loader tests boot into: RAM [0, LOW) and
 * [1 MiB, 1 MiB + HIGH) backed by host buffers in a gview, the matching
 * `ram` lines in a vm_spec (optionally the PC ROM at 0xc0000 between them),
 * and two `load` lines: the image under test, then a module or initrd.
 */
#ifndef QVM_TESTS_LOADER_ENV_H
#define QVM_TESTS_LOADER_ENV_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/spec.h"
#include "loader/gview.h"

struct loader_env {
    struct gview *v;
    unsigned char **low, **high;
    struct vm_spec *s;
};

static inline void loader_env_init(struct loader_env e, uint64_t low,
                                   uint64_t high, bool rom, char *image,
                                   char *second, enum blob_type second_blob)
{
    *e.low = calloc(1, low);
    *e.high = calloc(1, high);
    assert_int_equal(gview_add_region(e.v, 0, low, *e.low, GV_RAM), 0);
    assert_int_equal(gview_add_region(e.v, 0x100000, high, *e.high, GV_RAM), 0);
    struct mem_region *m = VEC_PUSH(&e.s->mem);
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0, .size = low};
    if (rom) {
        m = VEC_PUSH(&e.s->mem);
        *m = (struct mem_region){
            .kind = MEM_ROM, .base = 0xc0000, .size = 0x40000};
    }
    m = VEC_PUSH(&e.s->mem);
    *m = (struct mem_region){.kind = MEM_RAM, .base = 0x100000, .size = high};
    struct load_spec *l = VEC_PUSH(&e.s->loads);
    l->path = image;
    l = VEC_PUSH(&e.s->loads);
    l->path = second;
    l->blob = second_blob;
    e.s->entry_load = 0;
}

/* g32 / g64: little-endian fields of boot structures in guest memory. */
static inline uint32_t g32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t g64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline void loader_env_free(struct loader_env e)
{
    gview_free(e.v);
    VEC_FREE(&e.s->mem);
    VEC_FREE(&e.s->loads);
    free(*e.low);
    free(*e.high);
}

#endif

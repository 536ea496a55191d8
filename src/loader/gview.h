/*
 * gview.h: a guest-physical memory view for the loaders, and THE checked
 * gate from guest-physical addresses to host pointers (gview_ptr; the VM
 * core's gmem_ptr is the same function). Pure: no KVM; unit tests build a
 * view over malloc'd buffers.
 *
 * The view also keeps the ranges that loaders have filled, so that the boot
 * information allocator (gview_alloc) never places a structure over an
 * image or module.
 */
#ifndef QVM_LOADER_GVIEW_H
#define QVM_LOADER_GVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"
#include "util/vec.h"

enum gview_kind { GV_RAM, GV_ROM };

struct gview_region {
    uint64_t gpa, size;
    unsigned char *host; /* size bytes, host-writable even for ROM */
    enum gview_kind kind;
};

struct gview_used {
    uint64_t gpa, size;
};

struct gview {
    VEC(struct gview_region) regions; /* sorted by gpa, non-overlapping */
    VEC(struct gview_used) used;      /* filled by loaders */
};

/*
 * gview_ptr: host pointer for [gpa, gpa+len), or NULL when len is 0, the
 * range wraps, or it is not entirely inside one RAM/ROM region.
 * Context: any thread; the view's regions never change while the VM runs.
 */
void *gview_ptr(const struct gview *v, uint64_t gpa, uint64_t len);

/*
 * gview_span: host pointer for gpa in a region of `kind`, and in *span how
 * much of [gpa, gpa+len) that region holds from there (1..len); NULL when
 * len is 0 or gpa is in a hole or a region of the other kind. For a buffer
 * that may cross into the next region: the caller takes *span bytes and
 * asks again at gpa + *span.
 */
void *gview_span(const struct gview *v, uint64_t gpa, uint64_t len,
                 enum gview_kind kind, uint64_t *span);

/* gview_region_at: the region holding gpa, or NULL (a hole). For callers
 * that need a region's bounds; host pointers come from gview_ptr. */
const struct gview_region *gview_region_at(const struct gview *v, uint64_t gpa);

/* gview_add_region: keeps regions sorted; -EEXIST on overlap, -ENOMEM. */
int gview_add_region(struct gview *v, uint64_t gpa, uint64_t size, void *host,
                     enum gview_kind kind) MUST_CHECK;
/* gview_mark_used: record [gpa, gpa+len) as holding loaded data. */
int gview_mark_used(struct gview *v, uint64_t gpa, uint64_t len) MUST_CHECK;
/* gview_is_free: true when no loaded data overlaps [gpa, gpa+len). */
bool gview_is_free(const struct gview *v, uint64_t gpa, uint64_t len);
/*
 * gview_alloc: find `len` bytes of RAM aligned to `align` (power of two),
 * at or above `min` and ending at or below `max`, not overlapping used
 * ranges; marks it used and zeroes it. Returns 0 and the address in *gpa,
 * or -ENOSPC.
 */
int gview_alloc(struct gview *v, uint64_t len, uint64_t align, uint64_t min,
                uint64_t max, uint64_t *gpa) MUST_CHECK;
void gview_free(struct gview *v);

/* gview_write: copy into guest memory through the gate. */
bool gview_write(const struct gview *v, uint64_t gpa, const void *src,
                 uint64_t len) MUST_CHECK;

#endif

/*
 * gview.c: the guest-physical view, the gpa->hva gate and the boot-data
 * allocator (see gview.h). Every sum of a guest- or image-controlled value
 * goes through util/ckd.h.
 */
#include "loader/gview.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/ckd.h"

const struct gview_region *gview_region_at(const struct gview *v, uint64_t gpa)
{
    size_t lo = 0, hi = v->regions.n;
    while (lo < hi) { /* last region with base <= gpa */
        size_t mid = lo + (hi - lo) / 2;
        if (v->regions.v[mid].gpa <= gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct gview_region *r = &v->regions.v[lo - 1];
    return gpa - r->gpa < r->size ? r : NULL;
}

void *gview_ptr(const struct gview *v, uint64_t gpa, uint64_t len)
{
    uint64_t last;
    if (!range_last(gpa, len, &last))
        return NULL;
    const struct gview_region *r = gview_region_at(v, gpa);
    if (!r)
        return NULL;
    uint64_t off = gpa - r->gpa;
    if (len > r->size - off)
        return NULL;
    return r->host + off;
}

void *gview_span(const struct gview *v, uint64_t gpa, uint64_t len,
                 enum gview_kind kind, uint64_t *span)
{
    if (len == 0)
        return NULL;
    const struct gview_region *r = gview_region_at(v, gpa);
    if (!r || r->kind != kind)
        return NULL;
    uint64_t off = gpa - r->gpa; /* < r->size */
    *span = len < r->size - off ? len : r->size - off;
    return r->host + off;
}

int gview_add_region(struct gview *v, uint64_t gpa, uint64_t size, void *host,
                     enum gview_kind kind)
{
    uint64_t last;
    if (!range_last(gpa, size, &last))
        return -EINVAL;
    size_t i = 0;
    while (i < v->regions.n && v->regions.v[i].gpa < gpa)
        i++;
    for (size_t j = 0; j < v->regions.n; j++)
        if (ranges_overlap(gpa, size, v->regions.v[j].gpa,
                           v->regions.v[j].size))
            return -EEXIST;
    if (!VEC_PUSH(&v->regions))
        return -ENOMEM;
    memmove(&v->regions.v[i + 1], &v->regions.v[i],
            (v->regions.n - 1 - i) * sizeof(v->regions.v[0]));
    v->regions.v[i] = (struct gview_region){gpa, size, host, kind};
    return 0;
}

bool gview_is_free(const struct gview *v, uint64_t gpa, uint64_t len)
{
    uint64_t last;
    if (!range_last(gpa, len, &last))
        return false;
    for (size_t i = 0; i < v->used.n; i++)
        if (ranges_overlap(gpa, len, v->used.v[i].gpa, v->used.v[i].size))
            return false;
    return true;
}

int gview_mark_used(struct gview *v, uint64_t gpa, uint64_t len)
{
    uint64_t last;
    if (len == 0)
        return 0;
    if (!range_last(gpa, len, &last))
        return -EINVAL;
    struct gview_used *u = VEC_PUSH(&v->used);
    if (!u)
        return -ENOMEM;
    u->gpa = gpa;
    u->size = len;
    return 0;
}

int gview_alloc(struct gview *v, uint64_t len, uint64_t align, uint64_t min,
                uint64_t max, uint64_t *gpa)
{
    if (len == 0 || !IS_POW2(align))
        return -EINVAL;
    for (size_t i = 0; i < v->regions.n; i++) {
        const struct gview_region *r = &v->regions.v[i];
        if (r->kind != GV_RAM)
            continue;
        uint64_t a = MAX(r->gpa, min), end;
        if (ckd_add(&end, r->gpa, r->size))
            end = UINT64_MAX;
        end = MIN(end, max);
        for (;;) {
            uint64_t s, e;
            if (ckd_add(&s, a, align - 1))
                break;
            s &= ~(align - 1);
            if (ckd_add(&e, s, len) || e > end)
                break;
            bool clash = false;
            for (size_t j = 0; j < v->used.n && !clash; j++) {
                const struct gview_used *u = &v->used.v[j];
                if (ranges_overlap(s, len, u->gpa, u->size)) {
                    clash = true;
                    if (ckd_add(&a, u->gpa, u->size))
                        return -ENOSPC;
                }
            }
            if (clash)
                continue;
            if (gview_mark_used(v, s, len) < 0)
                return -ENOMEM;
            memset(gview_ptr(v, s, len), 0, len);
            *gpa = s;
            return 0;
        }
    }
    return -ENOSPC;
}

void gview_free(struct gview *v)
{
    VEC_FREE(&v->regions);
    VEC_FREE(&v->used);
}

bool gview_write(const struct gview *v, uint64_t gpa, const void *src,
                 uint64_t len)
{
    void *p = gview_ptr(v, gpa, len);
    if (!p)
        return false;
    memcpy(p, src, len);
    return true;
}

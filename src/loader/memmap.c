/*
 * memmap.c: the guest memory map shared by every boot protocol (e820 in
 * boot_params, the PVH memmap, multiboot mmaps): `ram` lines are RAM;
 * `rom`, reserved regions, `reserve loc` lines, qvm's firmware ranges and
 * the loader's own areas are reserved and carved out of RAM, so that no
 * two entries overlap.
 */
#include "loader/boot.h"

#include "util/ckd.h"

struct piece {
    uint64_t a, b; /* [a, b) */
    uint32_t type;
};

/* Append [base, base+size) to p; false when full or the range wraps. */
static bool add(struct piece *p, size_t *n, size_t max, uint64_t base,
                uint64_t size, uint32_t type)
{
    uint64_t end;
    if (size == 0 || ckd_add(&end, base, size) || *n >= max)
        return false;
    p[(*n)++] = (struct piece){base, end, type};
    return true;
}

/* Remove [a, b) from every RAM piece (splitting one when needed). */
static void carve(struct piece *p, size_t *n, size_t max, uint64_t a,
                  uint64_t b)
{
    for (size_t i = 0; i < *n; i++) {
        struct piece *r = &p[i];
        if (r->type != E820_RAM || b <= r->a || a >= r->b)
            continue;
        if (a > r->a && b < r->b) {
            if (*n < max)
                p[(*n)++] = (struct piece){b, r->b, E820_RAM};
            r->b = a;
        } else if (a > r->a) {
            r->b = a;
        } else if (b < r->b) {
            r->a = b;
        } else {
            r->b = r->a; /* empty: dropped below */
        }
    }
}

size_t boot_e820(const struct vm_spec *spec, const struct boot_input *in,
                 const struct e820_ent *extra, size_t nextra,
                 struct e820_ent *out, size_t max)
{
    enum { CAP = 2 * E820_MAX };
    struct piece ram[CAP], rsv[CAP];
    size_t nram = 0, nrsv = 0;
    for (size_t i = 0; i < spec->mem.n; i++) {
        const struct mem_region *m = &spec->mem.v[i];
        if (m->kind == MEM_RAM)
            add(ram, &nram, CAP, m->base, m->size, E820_RAM);
        else
            add(rsv, &nrsv, CAP, m->base, m->size, E820_RESERVED);
    }
    for (size_t i = 0; i < spec->reserves.n; i++)
        for (size_t j = 0; j < spec->reserves.v[i].locs.n; j++) {
            const struct loc *l = &spec->reserves.v[i].locs.v[j];
            if (l->space == SPACE_MEM)
                add(rsv, &nrsv, CAP, l->base, l->size, E820_RESERVED);
        }
    if (in)
        for (size_t i = 0; i < in->nfw && i < BOOT_MAX_FW; i++)
            add(rsv, &nrsv, CAP, in->fw[i].base, in->fw[i].size,
                in->fw[i].type ? in->fw[i].type : E820_RESERVED);
    for (size_t i = 0; i < nextra; i++)
        add(rsv, &nrsv, CAP, extra[i].addr, extra[i].size, extra[i].type);
    for (size_t i = 0; i < nrsv; i++)
        carve(ram, &nram, CAP, rsv[i].a, rsv[i].b);

    struct piece all[2 * CAP];
    size_t n = 0;
    for (size_t i = 0; i < nram; i++)
        if (ram[i].b > ram[i].a)
            all[n++] = ram[i];
    for (size_t i = 0; i < nrsv; i++)
        all[n++] = rsv[i];
    for (size_t i = 1; i < n; i++) /* insertion sort by start, then type */
        for (size_t j = i; j > 0 && (all[j].a < all[j - 1].a ||
                                     (all[j].a == all[j - 1].a &&
                                      all[j].type < all[j - 1].type));
             j--) {
            struct piece t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && out[k - 1].type == all[i].type &&
            all[i].a <= out[k - 1].addr + out[k - 1].size) {
            uint64_t end = MAX(out[k - 1].addr + out[k - 1].size, all[i].b);
            out[k - 1].size = end - out[k - 1].addr;
            continue;
        }
        if (k >= max)
            break;
        out[k++] =
            (struct e820_ent){all[i].a, all[i].b - all[i].a, all[i].type};
    }
    return k;
}

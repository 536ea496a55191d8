/*
 * internal.h: helpers shared by the loaders in src/loader/ (not used
 * outside it): placing boot structures in guest RAM, the identity-mapped
 * page tables and the flat GDT.
 */
#ifndef QVM_LOADER_INTERNAL_H
#define QVM_LOADER_INTERNAL_H

#include "loader/boot.h"

#define GIB4 0x100000000ull

/*
 * boot_place: `len` zeroed bytes at `pref` when that is free RAM (pref 0:
 * no preference), else anywhere in [0x1000, 4 GiB) aligned to `align`.
 * Marks the range used. 0 and *gpa, or -1.
 */
int boot_place(struct gview *v, uint64_t pref, uint64_t len, uint64_t align,
               uint64_t *gpa);

/*
 * boot_identity_map: PML4 + PDPT + 4 PDs (6 pages) mapping [0, 4 GiB)
 * with 2 MiB pages, at `pref` when free (see boot_place).
 */
int boot_identity_map(struct gview *v, uint64_t pref, uint64_t *pml4,
                      struct boot_err *err);

/*
 * boot_write_gdt: a GDT at `pref` (see boot_place): 0x10 = flat code
 * (64-bit when long_mode, else 32-bit), 0x18 = flat data, 0x20 = a 32-bit
 * TSS with base 0 and limit 0x67. Sets bs->gdt and bs->gdt_limit.
 */
int boot_write_gdt(struct gview *v, uint64_t pref, bool long_mode,
                   struct boot_state *bs, struct boot_err *err);

/* boot_name_file: prefix err->msg with "path: ". Returns -1. */
int boot_name_file(struct boot_err *err, const char *path);

/*
 * boot_load_raw: a file's bytes at ls->addr when the load has one (inside
 * one ram/rom region, not over another image), else in free RAM at a 4 KiB
 * boundary in [min, max). Marks it used; *at = where.
 */
int boot_load_raw(struct gview *v, const struct load_spec *ls,
                  const struct boot_image *img, uint64_t min, uint64_t max,
                  uint64_t *at, struct boot_err *err);

/* boot_put_cstring: a NUL-terminated copy below 4 GiB; 0 on failure. */
uint64_t boot_put_cstring(struct gview *v, const char *s, uint64_t pref);

#endif

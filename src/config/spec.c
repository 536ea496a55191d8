/* spec.c: lifetime and lookup helpers of struct vm_spec (see spec.h). */
#include "config/spec.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/schema.h"

const char *arch_name(enum arch a)
{
    switch ((unsigned)a) {
    case ARCH_X86_64:
        return "x86_64";
    case ARCH_AARCH64:
        return "aarch64";
    default:
        return "any";
    }
}

const char *blob_type_name(enum blob_type b)
{
    static const char *const n[] = {"",       "guest", "data",
                                    "initrd", "acpi",  "fdt"};
    return (unsigned)b < ARRAY_SIZE(n) ? n[b] : "?";
}

const char *image_fmt_name(enum image_fmt f)
{
    static const char *const n[] = {
        [IMG_RAW] = "raw binary",
        [IMG_ELF32] = "ELF32",
        [IMG_ELF64] = "ELF64",
        [IMG_MULTIBOOT1_ELF] = "multiboot ELF",
        [IMG_MULTIBOOT1_AOUT] = "multiboot (a.out kludge)",
        [IMG_MULTIBOOT2] = "multiboot2 ELF",
        [IMG_BZIMAGE] = "Linux bzImage",
        [IMG_PVH_ELF] = "PVH ELF (Xen PHYS32_ENTRY note)",
        [IMG_GZIP] = "gzip",
        [IMG_ARM64_IMAGE] = "Linux arm64 Image",
        [IMG_FDT] = "flattened device tree",
    };
    return (unsigned)f < ARRAY_SIZE(n) && n[f] ? n[f] : "?";
}

void spec_init(struct vm_spec *s, enum arch arch)
{
    memset(s, 0, sizeof(*s));
    s->arch = arch;
    s->safety = -1;
    s->entry_load = -1;
    s->unsupported[UNSUP_INSTRUCTION] = UNSUP_FAIL;
    s->unsupported[UNSUP_REFERENCE] = UNSUP_IGNORE;
    s->unsupported[UNSUP_REGISTER] = UNSUP_FAIL;
    /* logger default: fatal,internal,error,warn,info -> stderr (2) */
    for (int i = 0; i < 5; i++)
        s->log_dest[i] = 2;
}

void vdev_spec_clear(struct vdev_spec *vd)
{
    free(vd->name);
    for (size_t k = 0; k < vd->hostdevs.n; k++)
        free(vd->hostdevs.v[k].path);
    for (size_t k = 0; k < vd->opts.n; k++)
        free(vd->opts.v[k].text);
    VEC_FREE(&vd->intrs);
    VEC_FREE(&vd->hostdevs);
    VEC_FREE(&vd->opts);
}

void spec_free(struct vm_spec *s)
{
    free(s->system);
    free(s->cmdline);
    free(s->dump);
    free(s->user);
    VEC_FREE(&s->mem);
    for (size_t i = 0; i < s->cpus.n; i++) {
        free(s->cpus.v[i].cluster);
        free(s->cpus.v[i].partition);
    }
    VEC_FREE(&s->cpus);
    for (size_t i = 0; i < s->loads.n; i++)
        free(s->loads.v[i].path);
    VEC_FREE(&s->loads);
    for (size_t i = 0; i < s->vdevs.n; i++)
        vdev_spec_clear(&s->vdevs.v[i]);
    VEC_FREE(&s->vdevs);
    for (size_t i = 0; i < s->passes.n; i++) {
        VEC_FREE(&s->passes.v[i].locs);
        VEC_FREE(&s->passes.v[i].intrs);
    }
    VEC_FREE(&s->passes);
    for (size_t i = 0; i < s->reserves.n; i++) {
        VEC_FREE(&s->reserves.v[i].locs);
        VEC_FREE(&s->reserves.v[i].intrs);
    }
    VEC_FREE(&s->reserves);
    for (size_t i = 0; i < s->sets.n; i++) {
        free(s->sets.v[i].name);
        free(s->sets.v[i].value);
    }
    VEC_FREE(&s->sets);
    for (size_t i = 0; i < s->placed.n; i++)
        free(s->placed.v[i].what);
    VEC_FREE(&s->placed);
    for (size_t i = 0; i < s->span_files.n; i++)
        free(s->span_files.v[i]);
    VEC_FREE(&s->span_files);
    memset(s, 0, sizeof(*s));
}

const struct opt_val *vdev_opt(const struct vdev_spec *vd, const char *name)
{
    const struct opt_val *last = NULL;
    for (size_t i = 0; i < vd->opts.n; i++)
        if (strcmp(vd->opts.v[i].def->name, name) == 0)
            last = &vd->opts.v[i];
    return last;
}

const char *vdev_type_name(const struct vdev_spec *vd)
{
    return vd->type->name;
}

const char *spec_pic_label(const struct vm_spec *s, int pic)
{
    if (pic == -1)
        return "apic";
    if (pic < 0 || (size_t)pic >= s->vdevs.n)
        return s->arch == ARCH_AARCH64 ? "gic" : "ioapic";
    const struct vdev_spec *vd = &s->vdevs.v[pic];
    return vd->name ? vd->name : vd->type->name;
}

const char *spec_set_var(const struct vm_spec *s, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < s->sets.n; i++)
        if (s->sets.v[i].vdev < 0 && s->sets.v[i].cpu < 0 &&
            strcmp(s->sets.v[i].name, name) == 0)
            v = s->sets.v[i].value;
    return v;
}

int spec_set_bool(const struct vm_spec *s, const char *name, int dflt)
{
    const char *v = spec_set_var(s, name);
    if (!v)
        return dflt;
    static const char *const on[] = {"on", "yes", "true", "1", "enable"};
    static const char *const off[] = {"off", "no", "false", "0", "disable"};
    for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
        if (strcasecmp(v, on[i]) == 0)
            return 1;
        if (strcasecmp(v, off[i]) == 0)
            return 0;
    }
    return dflt;
}

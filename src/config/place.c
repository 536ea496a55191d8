/*
 * place.c: what the configuration leaves implicit, and where everything goes.
 * Adds the implicit vCPU and interrupt controller, resolves controller names,
 * places every window (explicit `loc`, documented defaults, PCI functions
 * with BDF, BARs and INTx) and checks each address space for overlaps.
 * Layout constants are documented in docs/qvmconf.md ("Default placement").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/check_int.h"
#include "util/ckd.h"

/* x86-64 platform layout (qvm's choices; see docs/qvmconf.md) */
/* shmem's region window (devices/shmem.h SHM_WINDOW): PCI BAR2, or for an
 * MMIO shmem a window from the same free space, in vd->pci.bars[2]. */
#define SHM_WINDOW       0x4000000ULL
#define X86_PCI_MEM_BASE 0xc0000000ULL
#define X86_PCI_MEM_END  0xe0000000ULL
#define X86_ECAM_BASE    0xe0000000ULL
#define X86_ECAM_SIZE    0x00100000ULL /* bus 0 */
#define X86_LAPIC_BASE   0xfee00000ULL
#define X86_PCI_IO_BASE  0xc000ULL
#define X86_PCI_IO_END   0x10000ULL
#define X86_ACPI_PM_BASE 0x600ULL
#define X86_ACPI_PM_SIZE 0x10ULL
#define ARM_PCI_MEM_BASE 0x40000000ULL
#define ARM_PCI_MEM_END  0x80000000ULL
#define ARM_ECAM_BASE    0x3f000000ULL
#define ARM_ECAM_SIZE    0x00100000ULL

/* aarch64's power button, a PL061 (devices/pl061.h PL061_PWR_BASE) */
#define ARM_GPIO_POWER 0x1c1f0000ULL

char *fmt(const char *f, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return strdup(buf);
}

const char *vdev_label(const struct vdev_spec *vd, char *buf, size_t len)
{
    if (vd->name)
        snprintf(buf, len, "vdev %s '%s'", vd->type->name, vd->name);
    else
        snprintf(buf, len, "vdev %s", vd->type->name);
    return buf;
}

void range_str(enum space sp, uint64_t base, uint64_t size, char *buf,
               size_t len)
{
    if (sp == SPACE_PCI)
        snprintf(buf, len, "pci:%u:%u.%u", (unsigned)(base >> 8),
                 (unsigned)(base >> 3 & 31), (unsigned)(base & 7));
    else
        snprintf(buf, len, "%s0x%" PRIx64 "-0x%" PRIx64,
                 sp == SPACE_IO ? "io:" : "", base, base + size - 1);
}

struct placed *add_placed(struct checker *c, enum space sp, uint64_t base,
                          uint64_t size, char *what,
                          const struct src_span *span, bool is_default,
                          bool reserve)
{
    if (!what) {
        diag_error(c->dg, span, "out of memory");
        return NULL;
    }
    struct placed *pl = VEC_PUSH(&c->s->placed);
    if (!pl) {
        free(what);
        diag_error(c->dg, span, "out of memory");
        return NULL;
    }
    pl->space = sp;
    pl->base = base;
    pl->size = size;
    pl->what = what;
    pl->is_default = is_default;
    pl->reserve = reserve;
    if (span)
        pl->span = *span;
    return pl;
}

bool is_free(struct checker *c, enum space sp, uint64_t base, uint64_t size)
{
    uint64_t last;
    if (!range_last(base, size, &last))
        return false;
    for (size_t i = 0; i < c->s->placed.n; i++) {
        const struct placed *pl = &c->s->placed.v[i];
        if (pl->space == sp && ranges_overlap(base, size, pl->base, pl->size))
            return false;
    }
    return true;
}

uint64_t bdf_code(struct bdf b)
{
    return (uint64_t)b.bus << 8 | (uint64_t)b.dev << 3 | b.fn;
}

/* ---- 1. implicit parts -------------------------------------------------- */

void add_implicit(struct checker *c)
{
    struct vm_spec *s = c->s;
    if (s->cpus.n == 0) {
        struct cpu_spec *cpu = VEC_PUSH(&s->cpus);
        if (cpu)
            cpu->index = 0;
    }
    const char *want = s->arch == ARCH_AARCH64 ? "gic" : "ioapic";
    c->default_pic = -1;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        if (strcmp(s->vdevs.v[i].type->name, want) == 0) {
            c->default_pic = (int)i;
            break;
        }
    }
    if (c->default_pic < 0) {
        const struct vdev_type *vt = vdev_type_find(want);
        struct vdev_spec *vd = VEC_PUSH(&s->vdevs);
        if (!vd)
            return;
        vd->type = vt;
        vd->name = strdup(want);
        vd->pic_lines = vt->pic_lines;
        c->default_pic = (int)s->vdevs.n - 1;
        if (s->arch == ARCH_X86_64) {
            struct intr *it = VEC_PUSH(&vd->intrs);
            if (it) {
                it->pic = PIC_APIC;
                it->is_default = true;
            }
        }
    }
    if (s->arch == ARCH_AARCH64 && !s->vdevs.v[c->default_pic].name)
        s->vdevs.v[c->default_pic].name = strdup("gic");
}

/* ---- 2. controller names ------------------------------------------------ */

static struct intr *intr_of(struct checker *c, const struct unresolved *u)
{
    if (u->vdev >= 0)
        return &c->s->vdevs.v[u->vdev].intrs.v[u->index];
    return &c->s->passes.v[u->pass].intrs.v[u->index];
}

void resolve_pics(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        struct vdev_spec *vd = &s->vdevs.v[i];
        for (size_t k = 0; k < vd->intrs.n; k++)
            if (vd->intrs.v[k].pic == PIC_IMPLICIT)
                vd->intrs.v[k].pic = c->default_pic;
    }
    for (size_t i = 0; i < s->passes.n; i++)
        for (size_t k = 0; k < s->passes.v[i].intrs.n; k++)
            if (s->passes.v[i].intrs.v[k].pic == PIC_IMPLICIT)
                s->passes.v[i].intrs.v[k].pic = c->default_pic;
    const struct vdev_spec *dp = &s->vdevs.v[c->default_pic];
    bool implicit_named =
        dp->name &&
        strcmp(dp->name, s->arch == ARCH_AARCH64 ? "gic" : "ioapic") == 0;
    for (size_t i = 0; i < c->p->unresolved.n; i++) {
        const struct unresolved *u = &c->p->unresolved.v[i];
        struct intr *it = intr_of(c, u);
        int later = -1;
        const char *names[64];
        unsigned n = 0;
        for (size_t k = 0; k < s->vdevs.n; k++) {
            const struct vdev_spec *vd = &s->vdevs.v[k];
            if (!(vd->type->flags & VF_PIC) || !vd->name)
                continue;
            if (n < 64)
                names[n++] = vd->name;
            if (strcmp(vd->name, u->name) == 0)
                later = (int)k;
        }
        if (later >= 0) {
            diag_error(c->dg, &u->span,
                       "interrupt controller '%s' is used before it is "
                       "defined",
                       u->name);
            diag_note(c->dg, &s->vdevs.v[later].span,
                      "'%s' is defined here; define a controller before the "
                      "vdevs that use it",
                      u->name);
        } else {
            const char *dym = did_you_mean(u->name, names, n);
            diag_error(c->dg, &u->span,
                       "unknown interrupt controller '%s'%s%s%s", u->name,
                       dym ? " (did you mean '" : "", dym ? dym : "",
                       dym ? "'?)" : "");
            if (!dym && !implicit_named && n)
                diag_note(c->dg, &u->span,
                          "a controller is named with 'name' in its vdev");
        }
        it->pic = c->default_pic;
    }
}

/* ---- 3. placement ------------------------------------------------------- */

/*
 * An explicitly placed MMIO vdev inside RAM (QNX's own shmem example puts a
 * factory page at 0x10000000 inside `ram 1024M`) gets a hole: the RAM region
 * is split around the pages of the window, with a warning. Inside ROM it
 * stays an overlap error.
 */
void punch_holes(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        const struct vdev_spec *vd = &s->vdevs.v[i];
        if (!vd->has_loc || vd->loc.space != SPACE_MEM || vd->is_pci)
            continue;
        uint64_t hb = vd->loc.base & ~0xfffULL;
        uint64_t he = ALIGN_UP(vd->loc.base + vd->loc.size, 0x1000ULL);
        for (size_t k = 0; k < s->mem.n; k++) {
            struct mem_region m = s->mem.v[k];
            if (m.kind != MEM_RAM ||
                !ranges_overlap(hb, he - hb, m.base, m.size))
                continue;
            char lb[96];
            diag_warn(c->dg, &vd->span,
                      "%s at 0x%" PRIx64 " lies inside ram; qvm leaves a "
                      "hole in guest RAM at 0x%" PRIx64 "-0x%" PRIx64,
                      vdev_label(vd, lb, sizeof(lb)), vd->loc.base, hb, he - 1);
            uint64_t end = m.base + m.size;
            s->mem.v[k].size = hb > m.base ? hb - m.base : 0;
            if (end > he) {
                /* insert after k: declaration order matters to loads */
                if (!VEC_PUSH(&s->mem))
                    return;
                memmove(&s->mem.v[k + 2], &s->mem.v[k + 1],
                        (s->mem.n - k - 2) * sizeof(s->mem.v[0]));
                s->mem.v[k + 1] = m;
                s->mem.v[k + 1].base = he;
                s->mem.v[k + 1].size = end - he;
            }
            if (s->mem.v[k].size == 0) {
                memmove(&s->mem.v[k], &s->mem.v[k + 1],
                        (s->mem.n - k - 1) * sizeof(s->mem.v[0]));
                s->mem.n--;
                k--;
            }
        }
    }
}

/*
 * The GIC's windows: distributor at `gicd`/`loc` (default 0x2f000000 for
 * v3, 0x2c001000 for v2), then the v2 CPU interface (`gicc`, 8K) or the v3
 * redistributors (`gicr`, 128K per vCPU).
 */
static void place_gic(struct checker *c, struct vdev_spec *vd)
{
    const struct opt_val *ver = vdev_opt(vd, "version");
    bool v2 = ver && ver->num == 0;
    const struct opt_val *gicd = vdev_opt(vd, "gicd");
    const struct opt_val *gicc = vdev_opt(vd, "gicc");
    const struct opt_val *gicr = vdev_opt(vd, "gicr");
    char lb[96];
    vdev_label(vd, lb, sizeof(lb));
    vd->loc.space = SPACE_MEM;
    /* What a GIC of the other version would use is not silently dropped. */
    if (gicd && vd->has_loc && vd->loc.base != gicd->num)
        diag_warn(c->dg, &gicd->span,
                  "%s: 'gicd' and 'loc' both place the distributor; 'gicd' "
                  "(0x%llx) wins",
                  lb, (unsigned long long)gicd->num);
    if (gicc && !v2)
        diag_warn(c->dg, &gicc->span,
                  "%s: 'gicc' has no effect on a GICv3 (it places a GICv2's "
                  "CPU interface; a GICv3 has redistributors: 'gicr')",
                  lb);
    if (gicr && v2)
        diag_warn(c->dg, &gicr->span,
                  "%s: 'gicr' has no effect on a GICv2 (it places a GICv3's "
                  "redistributors; a GICv2 has a CPU interface: 'gicc')",
                  lb);
    if (gicd) {
        vd->loc.base = gicd->num;
        vd->loc.is_default = false;
    } else if (!vd->has_loc) {
        vd->loc.base = v2 ? 0x2c001000 : 0x2f000000;
        vd->loc.is_default = true;
    }
    vd->loc.size = v2 ? 0x1000 : 0x10000;
    vd->has_loc = true;
    add_placed(c, SPACE_MEM, vd->loc.base, vd->loc.size,
               fmt("%s distributor", lb), &vd->span, vd->loc.is_default, false);
    uint64_t base =
        v2 ? (gicc ? gicc->num : 0x2c002000) : (gicr ? gicr->num : 0x2f100000);
    uint64_t size = v2 ? 0x2000 : 0x20000 * (uint64_t)c->s->cpus.n;
    add_placed(c, SPACE_MEM, base, size,
               fmt("%s %s", lb, v2 ? "CPU interface" : "redistributors"),
               &vd->span, v2 ? !gicc : !gicr, false);
}

void place_fixed(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->mem.n; i++) {
        const struct mem_region *m = &s->mem.v[i];
        add_placed(c, SPACE_MEM, m->base, m->size,
                   strdup(m->kind == MEM_ROM ? "rom" : "ram"), &m->span, false,
                   false);
    }
    for (size_t i = 0; i < s->reserves.n; i++) {
        const struct reserve_spec *r = &s->reserves.v[i];
        for (size_t k = 0; k < r->locs.n; k++) {
            const struct loc *l = &r->locs.v[k];
            uint64_t base = l->space == SPACE_PCI ? bdf_code(l->bdf) : l->base;
            add_placed(c, l->space, base, l->size, strdup("reserved"), &r->span,
                       false, true);
        }
    }
    for (size_t i = 0; i < s->passes.n; i++) {
        const struct pass_spec *ps = &s->passes.v[i];
        for (size_t k = 0; k < ps->locs.n; k++) {
            const struct loc *l = &ps->locs.v[k];
            if (l->space == SPACE_PCI && l->by_id && !l->has_host)
                continue; /* guest BDF chosen later */
            uint64_t base = l->space == SPACE_PCI ? bdf_code(l->bdf) : l->base;
            add_placed(c, l->space, base, l->size, strdup("pass"), &ps->span,
                       false, false);
        }
    }
    for (size_t i = 0; i < s->vdevs.n; i++) {
        struct vdev_spec *vd = &s->vdevs.v[i];
        char lb[96];
        if (strcmp(vd->type->name, "gic") == 0) {
            place_gic(c, vd);
            continue;
        }
        if (!vd->has_loc)
            continue;
        vdev_label(vd, lb, sizeof(lb));
        if (vd->loc.space == SPACE_PCI) {
            vd->is_pci = true;
            vd->pci.bdf = vd->loc.bdf;
            add_placed(c, SPACE_PCI, bdf_code(vd->loc.bdf), 1, strdup(lb),
                       &vd->span, false, false);
            continue;
        }
        add_placed(c, vd->loc.space, vd->loc.base, vd->loc.size, strdup(lb),
                   &vd->span, false, false);
        if (vd->type->flags & VF_TWO_WIN)
            add_placed(c, vd->loc.space, vd->loc.base + 4, vd->loc.size,
                       strdup(lb), &vd->span, false, false);
    }
}

void place_platform(struct checker *c)
{
    struct vm_spec *s = c->s;
    if (s->arch == ARCH_X86_64) {
        add_placed(c, SPACE_MEM, X86_LAPIC_BASE, 0x1000,
                   strdup("local APIC (qvm)"), NULL, true, false);
        add_placed(c, SPACE_IO, 0x80, 1, strdup("POST port 0x80 (qvm)"), NULL,
                   true, false);
        add_placed(c, SPACE_IO, X86_ACPI_PM_BASE, X86_ACPI_PM_SIZE,
                   strdup("ACPI PM registers (qvm)"), NULL, true, false);
    } else {
        add_placed(c, SPACE_MEM, ARM_GPIO_POWER, 0x1000,
                   strdup("GPIO power button (qvm)"), NULL, true, false);
    }
    if (!s->has_pci)
        return;
    add_placed(c, SPACE_PCI, 0, 1, strdup("PCI host bridge (qvm)"), NULL, true,
               false);
    if (s->arch == ARCH_X86_64) {
        add_placed(c, SPACE_IO, 0xcf8, 8, strdup("PCI configuration (qvm)"),
                   NULL, true, false);
        add_placed(c, SPACE_MEM, X86_ECAM_BASE, X86_ECAM_SIZE,
                   strdup("PCI ECAM (qvm)"), NULL, true, false);
    } else {
        add_placed(c, SPACE_MEM, ARM_ECAM_BASE, ARM_ECAM_SIZE,
                   strdup("PCI ECAM (qvm)"), NULL, true, false);
    }
}

/* Decides PCI or not for every vdev, before any default is placed. */
void decide_pci(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        struct vdev_spec *vd = &s->vdevs.v[i];
        unsigned f = vd->type->flags;
        if ((f & VF_PCI_ONLY) || ((f & VF_PCI) && !vd->has_loc) ||
            (vd->has_loc && vd->loc.space == SPACE_PCI))
            vd->is_pci = true;
        if (vd->is_pci && s->arch != ARCH_X86_64) {
            /* No PCI host bridge on aarch64 (no ECAM node in the FDT, no
             * bus at run time): an error, not a device the guest never
             * finds. */
            diag_error(c->dg, &vd->span,
                       "vdev %s: qvm has no PCI bus for aarch64 guests; %s",
                       vd->type->name,
                       (f & VF_VIRTIO) || strcmp(vd->type->name, "shmem") == 0
                           ? "give it `loc ADDR` and `intr gic:N` to put it "
                             "on MMIO"
                           : "this vdev is PCI only");
            vd->is_pci = false;
        }
        if (vd->is_pci)
            s->has_pci = true;
    }
    for (size_t i = 0; i < s->passes.n; i++)
        for (size_t k = 0; k < s->passes.v[i].locs.n; k++) {
            if (s->passes.v[i].locs.v[k].space != SPACE_PCI)
                continue;
            if (s->arch != ARCH_X86_64)
                diag_error(c->dg, &s->passes.v[i].span,
                           "pass loc pci: qvm has no PCI bus for aarch64 "
                           "guests");
            else
                s->has_pci = true;
        }
}

void place_defaults(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        struct vdev_spec *vd = &s->vdevs.v[i];
        const struct vdev_type *vt = vd->type;
        char lb[96];
        if (vd->has_loc || vd->is_pci)
            continue;
        vdev_label(vd, lb, sizeof(lb));
        if (!vt->default_locs) {
            diag_error(c->dg, &vd->span,
                       "%s needs 'loc' (it has no default location)", lb);
            continue;
        }
        bool done = false;
        for (unsigned k = 0; vt->default_locs[k]; k++) {
            uint64_t b = vt->default_locs[k];
            uint64_t sz = vt->win_size;
            if (!is_free(c, vt->bare_space, b, sz) ||
                ((vt->flags & VF_TWO_WIN) &&
                 !is_free(c, vt->bare_space, b + 4, sz)))
                continue;
            vd->has_loc = true;
            vd->loc.space = vt->bare_space;
            vd->loc.base = b;
            vd->loc.size = sz;
            vd->loc.is_default = true;
            add_placed(c, vt->bare_space, b, sz, strdup(lb), &vd->span, true,
                       false);
            if (vt->flags & VF_TWO_WIN)
                add_placed(c, vt->bare_space, b + 4, sz, strdup(lb), &vd->span,
                           true, false);
            done = true;
            break;
        }
        if (!done) {
            char r[64];
            range_str(vt->bare_space, vt->default_locs[0], vt->win_size, r,
                      sizeof(r));
            diag_error(c->dg, &vd->span,
                       "no free default location for %s (%s%s is taken or "
                       "reserved); give 'loc'",
                       lb, r, vt->default_locs[1] ? " and the others" : "");
        }
    }
}

/* conflict_end: the end (last byte + 1, or 0 at the top of the space) of
 * the highest placed range of `sp` that overlaps [base, base + size), or
 * `base` when none does. */
static uint64_t conflict_end(struct checker *c, enum space sp, uint64_t base,
                             uint64_t size)
{
    uint64_t end = base;
    for (size_t i = 0; i < c->s->placed.n; i++) {
        const struct placed *pl = &c->s->placed.v[i];
        uint64_t last;
        if (pl->space != sp || !ranges_overlap(base, size, pl->base, pl->size))
            continue;
        if (!range_last(pl->base, pl->size, &last) || last == UINT64_MAX)
            return 0;
        if (last + 1 > end)
            end = last + 1;
    }
    return end;
}

/* Bump allocator for BARs (size a power of two) inside [*next, end),
 * jumping past placed ranges: each step passes at least one of them, so a
 * crowded window costs at most one step per placed range, not one per
 * possible position. */
static bool alloc_window(struct checker *c, enum space sp, uint64_t *next,
                         uint64_t end, uint64_t size, uint64_t *out)
{
    if (!IS_POW2(size) || *next > UINT64_MAX - (size - 1))
        return false;
    uint64_t b = ALIGN_UP(*next, size);
    while (b <= end && size <= end - b) {
        uint64_t e = conflict_end(c, sp, b, size);
        if (e == b) {
            *out = b;
            *next = b + size;
            return true;
        }
        if (e == 0 || e > UINT64_MAX - (size - 1))
            return false;
        b = ALIGN_UP(e, size);
    }
    return false;
}

/* One identity file of a host PCI function (sysfs: "0x8086\n"). */
static bool sysfs_hex(struct checker *c, const char *dir, const char *file,
                      uint64_t max, uint64_t *out)
{
    char path[512];
    unsigned char buf[32];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    long n = c->p->env->read_at(c->p->env->ctx, path, 0, buf, sizeof(buf) - 1);
    if (n <= 0)
        return false;
    buf[n] = 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull((const char *)buf, &end, 16);
    if (errno || end == (char *)buf || (*end && *end != '\n') || v > max)
        return false;
    *out = v;
    return true;
}

/*
 * pci-dummy `clone pci:B:D.F`: vendor, device, class (with programming
 * interface), revision and subsystem IDs of the host function, read from
 * $QVM_SYSFS_ROOT/bus/pci/devices/0000:BB:DD.F (QVM_SYSFS_ROOT defaults to
 * /sys; tests point it at a fake tree). A function that is not there, or
 * whose files do not read, is a configuration error.
 */
static void pci_clone(struct checker *c, struct vdev_spec *vd,
                      const struct opt_val *clone)
{
    const char *root = getenv("QVM_SYSFS_ROOT");
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/0000:%02x:%02x.%x",
             root && *root ? root : "/sys", (unsigned)(clone->num >> 8),
             (unsigned)(clone->num >> 3 & 31), (unsigned)(clone->num & 7));
    struct host_file hf;
    c->p->env->stat_file(c->p->env->ctx, dir, &hf);
    if (!hf.exists) {
        diag_error(c->dg, &clone->span,
                   "'clone %s': the host has no PCI function %02x:%02x.%x "
                   "(%s: %s)",
                   clone->text, (unsigned)(clone->num >> 8),
                   (unsigned)(clone->num >> 3 & 31), (unsigned)(clone->num & 7),
                   dir, strerror(hf.err));
        return;
    }
    static const char *const names[] = {
        "vendor",   "device",           "class",
        "revision", "subsystem_vendor", "subsystem_device"};
    static const uint64_t max[] = {0xffff, 0xffff, 0xffffff,
                                   0xff,   0xffff, 0xffff};
    uint64_t v[6];
    for (unsigned i = 0; i < 6; i++) {
        if (!sysfs_hex(c, dir, names[i], max[i], &v[i])) {
            diag_error(c->dg, &clone->span,
                       "'clone %s': cannot read %s/%s (a hexadecimal "
                       "number up to 0x%" PRIx64 ")",
                       clone->text, dir, names[i], max[i]);
            return;
        }
    }
    vd->pci.vendor = (uint16_t)v[0];
    vd->pci.device = (uint16_t)v[1];
    vd->pci.class_code = (uint16_t)(v[2] >> 8);
    vd->pci.prog_if = (uint8_t)v[2];
    vd->pci.revision = (uint8_t)v[3];
    vd->pci.subsys_vendor = (uint16_t)v[4];
    vd->pci.subsys_id = (uint16_t)v[5];
    vd->pci.cloned = true;
}

static void pci_identity(struct checker *c, struct vdev_spec *vd)
{
    const struct vdev_type *vt = vd->type;
    vd->pci.vendor = vt->pci_vendor;
    vd->pci.device = vt->pci_device;
    vd->pci.class_code = vt->pci_class;
    const struct opt_val *clone = vdev_opt(vd, "clone");
    if (clone)
        pci_clone(c, vd, clone);
    if ((vt->flags & VF_VIRTIO) && vdev_opt(vd, "legacy")) {
        static const uint16_t transitional[] = {0, 0x1000, 0x1001, 0, 0x1005};
        if (vt->virtio_id == 3)
            vd->pci.device = 0x1003;
        else if (vt->virtio_id < ARRAY_SIZE(transitional))
            vd->pci.device = transitional[vt->virtio_id];
    }
    for (size_t k = 0; k < vd->opts.n; k++) {
        const struct opt_val *o = &vd->opts.v[k];
        if (strcmp(o->def->name, "reg") != 0 || vt->pci_vendor != 0xffff)
            continue;
        if (o->num == 0 && o->num2 >= 2)
            vd->pci.vendor = (uint16_t)o->num3;
        if (o->num == 2 && o->num2 >= 2)
            vd->pci.device = (uint16_t)o->num3;
        if (o->num == 0 && o->num2 >= 4)
            vd->pci.device = (uint16_t)(o->num3 >> 16);
        if (o->num == 0x0a && o->num2 >= 2)
            vd->pci.class_code = (uint16_t)o->num3;
        if (o->num == 0x09 && o->num2 >= 3)
            vd->pci.class_code = (uint16_t)(o->num3 >> 8);
        if (o->num == 0x08 && o->num2 >= 4)
            vd->pci.class_code = (uint16_t)(o->num3 >> 16);
    }
}

static unsigned virtio_vectors(const struct vdev_spec *vd)
{
    const struct opt_val *th = vdev_opt(vd, "threads");
    switch (vd->type->virtio_id) {
    case 1:
        return 3; /* rx, tx, config */
    case 2:
        return 1 + (unsigned)(th ? th->num : 1);
    case 3:
        return 3;
    default:
        return 2;
    }
}

bool line_reserved(struct checker *c, int pic, uint32_t line)
{
    if (pic != c->default_pic)
        return false;
    for (size_t i = 0; i < c->s->reserves.n; i++)
        for (size_t k = 0; k < c->s->reserves.v[i].intrs.n; k++)
            if (c->s->reserves.v[i].intrs.v[k] == line)
                return true;
    return false;
}

struct bar_req {
    unsigned idx;
    enum bar_kind kind;
    uint64_t size;
    const char *what;
};

static bool free_bdf(struct checker *c, struct bdf *out)
{
    for (unsigned dev = 1; dev < 32; dev++) {
        struct bdf b = {0, (uint8_t)dev, 0};
        if (is_free(c, SPACE_PCI, bdf_code(b), 1)) {
            *out = b;
            return true;
        }
    }
    return false;
}

void place_pass_by_id(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->passes.n; i++) {
        struct pass_spec *ps = &s->passes.v[i];
        for (size_t k = 0; k < ps->locs.n; k++) {
            struct loc *l = &ps->locs.v[k];
            if (l->space != SPACE_PCI || !l->by_id || l->has_host)
                continue;
            if (!free_bdf(c, &l->bdf)) {
                diag_error(c->dg, &ps->span,
                           "no free PCI slot on bus 0 for pass pci:%04x/%04x",
                           l->vid, l->did);
                continue;
            }
            l->size = 1;
            l->is_default = true;
            add_placed(c, SPACE_PCI, bdf_code(l->bdf), 1,
                       fmt("pass pci:%04x/%04x", l->vid, l->did), &ps->span,
                       true, false);
        }
    }
}

void place_pci(struct checker *c)
{
    struct vm_spec *s = c->s;
    bool arm = s->arch == ARCH_AARCH64;
    uint64_t mem_next = arm ? ARM_PCI_MEM_BASE : X86_PCI_MEM_BASE;
    uint64_t mem_end = arm ? ARM_PCI_MEM_END : X86_PCI_MEM_END;
    uint64_t io_next = X86_PCI_IO_BASE;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        struct vdev_spec *vd = &s->vdevs.v[i];
        char lb[96];
        if (!vd->is_pci && strcmp(vd->type->name, "shmem") == 0 &&
            vd->has_loc && vd->loc.space == SPACE_MEM) {
            uint64_t base;
            vdev_label(vd, lb, sizeof(lb));
            if (!alloc_window(c, SPACE_MEM, &mem_next, mem_end, SHM_WINDOW,
                              &base)) {
                diag_error(c->dg, &vd->span,
                           "no room for the region window of %s", lb);
                continue;
            }
            vd->pci.bars[2] = (struct bar){.kind = BAR_MEM64,
                                           .base = base,
                                           .size = SHM_WINDOW,
                                           .what = "regions"};
            add_placed(c, SPACE_MEM, base, SHM_WINDOW, fmt("%s regions", lb),
                       &vd->span, true, false);
        }
        if (!vd->is_pci)
            continue;
        vdev_label(vd, lb, sizeof(lb));
        if (!vd->has_loc) {
            struct bdf b;
            bool found = free_bdf(c, &b);
            if (found) {
                vd->pci.bdf = b;
                vd->has_loc = true;
                vd->loc.space = SPACE_PCI;
                vd->loc.bdf = b;
                vd->loc.size = 1;
                vd->loc.is_default = true;
                add_placed(c, SPACE_PCI, bdf_code(b), 1, strdup(lb), &vd->span,
                           true, false);
            }
            if (!found) {
                diag_error(c->dg, &vd->span,
                           "no free PCI slot on bus 0 for %s (devices 1-31 "
                           "are taken or reserved)",
                           lb);
                continue;
            }
        }
        pci_identity(c, vd);
        const struct vdev_type *vt = vd->type;
        struct bar_req bars[3];
        unsigned nb = 0;
        if (vt->flags & VF_VIRTIO) {
            if (vdev_opt(vd, "legacy") && !arm)
                bars[nb++] = (struct bar_req){0, BAR_IO, 0x80,
                                              "virtio legacy registers"};
            bars[nb++] = (struct bar_req){1, BAR_MEM32, 0x1000, "msi-x"};
            bars[nb++] =
                (struct bar_req){4, BAR_MEM64, 0x4000, "virtio registers"};
            vd->pci.msix_vectors = (uint16_t)virtio_vectors(vd);
        } else if (strcmp(vt->name, "shmem") == 0) {
            bars[nb++] = (struct bar_req){0, BAR_MEM32, 0x1000, "factory page"};
            bars[nb++] = (struct bar_req){2, BAR_MEM64, SHM_WINDOW, "regions"};
        }
        for (unsigned k = 0; k < nb; k++) {
            uint64_t base;
            bool io = bars[k].kind == BAR_IO;
            if (!alloc_window(
                    c, io ? SPACE_IO : SPACE_MEM, io ? &io_next : &mem_next,
                    io ? X86_PCI_IO_END : mem_end, bars[k].size, &base)) {
                diag_error(c->dg, &vd->span,
                           "no room for the %s BAR of %s in the PCI %s "
                           "window",
                           bars[k].what, lb, io ? "I/O" : "memory");
                continue;
            }
            struct bar *bar = &vd->pci.bars[bars[k].idx];
            bar->kind = bars[k].kind;
            bar->base = base;
            bar->size = bars[k].size;
            bar->what = bars[k].what;
            add_placed(c, io ? SPACE_IO : SPACE_MEM, base, bars[k].size,
                       fmt("%s BAR%u", lb, bars[k].idx), &vd->span, true,
                       false);
        }
        if (vt->flags & VF_NO_INTR)
            continue;
        vd->pci.intx_pin = 1;
        if (vd->intrs.n) {
            vd->pci.intx = vd->intrs.v[0];
            continue;
        }
        uint32_t first = arm ? 100 : 16, span = arm ? 4 : 8;
        for (uint32_t k = 0; k < span; k++) {
            uint32_t line = first + (vd->pci.bdf.dev + k) % span;
            if (line_reserved(c, c->default_pic, line))
                continue;
            vd->pci.intx.pic = c->default_pic;
            vd->pci.intx.line = line;
            vd->pci.intx.is_default = true;
            break;
        }
    }
}

/* ---- overlap check ------------------------------------------------------ */

static int cmp_placed(const void *a, const void *b)
{
    const struct placed *x = a, *y = b;
    if (x->space != y->space)
        return x->space < y->space ? -1 : 1;
    if (x->base != y->base)
        return x->base < y->base ? -1 : 1;
    return 0;
}

static bool exempt(const struct placed *a, const struct placed *b)
{
    if (a->reserve && b->reserve)
        return true;
    /* reserve keeps qvm's automatic choices away; explicit use is allowed */
    if (a->reserve || b->reserve) {
        const struct placed *o = a->reserve ? b : a;
        return !o->is_default && strcmp(o->what, "ram") != 0 &&
               strcmp(o->what, "rom") != 0;
    }
    /* the two windows of one pckeyboard do not overlap each other */
    return false;
}

void check_overlaps(struct checker *c)
{
    struct vm_spec *s = c->s;
    size_t n = s->placed.n;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            const struct placed *a = &s->placed.v[i], *b = &s->placed.v[j];
            if (a->space != b->space ||
                !ranges_overlap(a->base, a->size, b->base, b->size) ||
                exempt(a, b))
                continue;
            char ra[64], rb[64];
            range_str(a->space, a->base, a->size, ra, sizeof(ra));
            range_str(b->space, b->base, b->size, rb, sizeof(rb));
            const struct src_span *at = b->span.file ? &b->span : &a->span;
            diag_error(c->dg, at, "%s%s %s overlaps %s %s", b->what,
                       b->is_default ? " (default placement)" : "", rb, a->what,
                       ra);
            if (a->span.file)
                diag_note(c->dg, &a->span, "%s is declared here", a->what);
        }
    }
    qsort(s->placed.v, n, sizeof(s->placed.v[0]), cmp_placed);
}

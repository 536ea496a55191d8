/*
 * check.c: the whole-configuration checks that follow placement (place.c):
 * default interrupts and interrupt conflicts, vCPUs and clusters, the host
 * files that `load` and `hostdev` name, and the remaining cross-option
 * rules. check_spec() runs every step in order.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/check_int.h"
#include "loader/sniff.h"
#include "util/ckd.h"
#include "util/num.h"

/* ---- 4. interrupts ------------------------------------------------------ */

static void add_irq(struct checker *c, const struct intr *it, const char *what,
                    const struct src_span *span, bool share_any, bool pci,
                    int owner)
{
    if (it->pic < 0)
        return;
    struct irq_use *u = VEC_PUSH(&c->irqs);
    if (!u)
        return;
    u->pic = it->pic;
    u->line = it->line;
    snprintf(u->what, sizeof(u->what), "%s", what);
    u->span = it->span.file ? it->span : *span;
    u->share_any = share_any;
    u->pci = pci;
    u->is_default = it->is_default;
    u->owner = owner;
}

static void default_intrs(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        struct vdev_spec *vd = &s->vdevs.v[i];
        const struct vdev_type *vt = vd->type;
        char lb[96];
        vdev_label(vd, lb, sizeof(lb));
        if (vd->intrs.n && (vt->flags & VF_NO_INTR)) {
            diag_error(c->dg, &vd->intrs.v[0].span, "%s takes no 'intr'", lb);
            continue;
        }
        if (vd->is_pci || vd->intrs.n || !vd->has_loc ||
            (vt->flags & (VF_PIC | VF_NO_INTR)))
            continue;
        if ((vt->flags & VF_PCI) && vd->has_loc) {
            diag_error(c->dg, &vd->span,
                       "%s at a memory 'loc' is a virtio-mmio/MMIO device and "
                       "needs 'intr'",
                       lb);
            continue;
        }
        if (!vt->default_lines)
            continue;
        unsigned slot = 0, count = 1;
        if (vt->flags & VF_SHARED) {
            while (vt->default_lines[count] != UINT32_MAX)
                count++;
        } else {
            bool matched = false;
            for (unsigned k = 0; vt->default_locs && vt->default_locs[k]; k++) {
                if (vt->default_locs[k] == vd->loc.base) {
                    slot = k;
                    matched = true;
                }
            }
            if (!matched) {
                diag_error(c->dg, &vd->span,
                           "%s at a non-default 'loc' needs 'intr'", lb);
                continue;
            }
        }
        for (unsigned k = 0; k < count; k++) {
            uint32_t line = vt->default_lines[slot + k];
            if (line_reserved(c, c->default_pic, line)) {
                diag_error(c->dg, &vd->span,
                           "the default interrupt of %s (%s:%u) is "
                           "reserved; give 'intr'",
                           lb, spec_pic_label(s, c->default_pic), line);
                break;
            }
            struct intr *it = VEC_PUSH(&vd->intrs);
            if (!it)
                break;
            it->pic = c->default_pic;
            it->line = line;
            it->is_default = true;
        }
    }
}

static void check_irqs(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        const struct vdev_spec *vd = &s->vdevs.v[i];
        char lb[96];
        vdev_label(vd, lb, sizeof(lb));
        if (vd->type->flags & VF_PIC)
            continue;
        if (strcmp(vd->type->name, "hpet") == 0 && vd->intrs.n > 32)
            diag_error(c->dg, &vd->span,
                       "hpet has at most 32 timers (%zu interrupts given)",
                       vd->intrs.n);
        if (vd->is_pci) {
            if (vd->pci.intx_pin)
                add_irq(c, &vd->pci.intx, lb, &vd->span, false, true, (int)i);
            continue;
        }
        for (size_t k = 0; k < vd->intrs.n; k++) {
            if (vd->intrs.v[k].pic == PIC_APIC)
                continue;
            add_irq(c, &vd->intrs.v[k], lb, &vd->span,
                    (vd->type->flags & VF_SHARED) != 0, false, (int)i);
        }
    }
    for (size_t i = 0; i < s->passes.n; i++)
        for (size_t k = 0; k < s->passes.v[i].intrs.n; k++)
            add_irq(c, &s->passes.v[i].intrs.v[k], "pass", &s->passes.v[i].span,
                    false, false, -1 - (int)i);
    for (size_t i = 0; i < c->irqs.n; i++) {
        for (size_t j = i + 1; j < c->irqs.n; j++) {
            const struct irq_use *a = &c->irqs.v[i], *b = &c->irqs.v[j];
            if (a->pic != b->pic || a->line != b->line)
                continue;
            if (a->owner == b->owner) {
                diag_error(c->dg, &b->span,
                           "interrupt %s:%u is given twice for %s",
                           spec_pic_label(s, b->pic), b->line, b->what);
                continue;
            }
            if (a->share_any || b->share_any || (a->pci && b->pci))
                continue;
            diag_error(c->dg, &b->span,
                       "interrupt %s:%u of %s is already used by %s",
                       spec_pic_label(s, b->pic), b->line, b->what, a->what);
            diag_note(c->dg, &a->span, "%s%s uses %s:%u here", a->what,
                      a->is_default ? " (by default)" : "",
                      spec_pic_label(s, a->pic), a->line);
        }
    }
    /* controllers: ioapic must point at the local APICs */
    for (size_t i = 0; i < s->vdevs.n; i++) {
        const struct vdev_spec *vd = &s->vdevs.v[i];
        if (!(vd->type->flags & VF_IOAPIC_DS))
            continue;
        for (size_t k = 0; k < vd->intrs.n; k++)
            if (vd->intrs.v[k].pic != PIC_APIC)
                diag_error(c->dg, &vd->intrs.v[k].span,
                           "an ioapic's 'intr' can only be 'apic'");
    }
}

/* ---- 5. host files ------------------------------------------------------ */

static bool covered(const struct vm_spec *s, size_t nmem, uint64_t addr,
                    uint64_t len, size_t *which)
{
    uint64_t last;
    if (!range_last(addr, len ? len : 1, &last))
        return false;
    for (size_t i = 0; i < nmem; i++) {
        const struct mem_region *m = &s->mem.v[i];
        if (m->kind != MEM_RESERVED && addr >= m->base &&
            last <= m->base + (m->size - 1)) {
            if (which)
                *which = i;
            return true;
        }
    }
    return false;
}

struct reader_ctx {
    const struct cfg_env *env;
    const char *path;
};

static long env_read(void *ctx, uint64_t off, unsigned char *buf, size_t len)
{
    const struct reader_ctx *rc = ctx;
    return rc->env->read_at(rc->env->ctx, rc->path, off, buf, len);
}

static void check_loads(struct checker *c)
{
    struct vm_spec *s = c->s;
    const struct cfg_env *env = c->p->env;
    int initrd = -1;
    bool entry_taken = false;
    for (size_t i = 0; i < s->loads.n; i++) {
        struct load_spec *l = &s->loads.v[i];
        struct host_file hf;
        env->stat_file(env->ctx, l->path, &hf);
        if (!hf.exists) {
            diag_error(c->dg, &l->span, "cannot load '%s': %s", l->path,
                       strerror(hf.err));
            continue;
        }
        if (!hf.is_reg && !hf.is_blk) {
            diag_error(c->dg, &l->span, "cannot load '%s': not a regular file",
                       l->path);
            continue;
        }
        l->file_size = hf.size;
        if (hf.is_reg && hf.size == 0) {
            diag_error(c->dg, &l->span, "cannot load '%s': the file is empty",
                       l->path);
            continue;
        }
        struct reader_ctx rc = {env, l->path};
        int got = image_sniff_file(env_read, &rc, &l->fmt);
        if (got < 0) {
            diag_error(c->dg, &l->span, "cannot read '%s': %s", l->path,
                       strerror(-got));
            continue;
        }
        if (l->blob == BLOB_INITRD) {
            if (initrd >= 0) {
                diag_error(c->dg, &l->span,
                           "only one 'initrd load' is "
                           "allowed");
                diag_note(c->dg, &s->loads.v[initrd].span,
                          "the first initrd is here");
            }
            initrd = (int)i;
        }
        if (l->blob == BLOB_FDT && l->fmt != IMG_FDT)
            diag_error(c->dg, &l->span,
                       "'%s' is not a flattened device tree (no d00dfeed "
                       "magic)",
                       l->path);
        bool guest = l->blob == BLOB_NONE || l->blob == BLOB_GUEST;
        if (guest && ((l->fmt == IMG_ARM64_IMAGE && s->arch != ARCH_AARCH64) ||
                      (l->fmt == IMG_BZIMAGE && s->arch != ARCH_X86_64))) {
            diag_error(c->dg, &l->span,
                       "'%s' is a %s, which is not for %s guests", l->path,
                       image_fmt_name(l->fmt), arch_name(s->arch));
            continue;
        }
        if (guest && !entry_taken) {
            l->sets_entry = true;
            s->entry_load = (int)i;
            entry_taken = true;
        }
        bool placed_by_headers =
            guest && image_is_executable(l->fmt) && l->fmt != IMG_ARM64_IMAGE;
        if (l->has_addr && placed_by_headers)
            diag_warn(c->dg, &l->span,
                      "the address is ignored: a %s is placed where its "
                      "headers say",
                      image_fmt_name(l->fmt));
        if (!l->has_addr || placed_by_headers)
            continue;
        size_t nmem = c->p->load_mem_n.v[i], which;
        uint64_t len = hf.is_reg ? hf.size : 1;
        if (covered(s, nmem, l->addr, len, NULL))
            continue;
        if (covered(s, s->mem.n, l->addr, len, &which)) {
            diag_error(c->dg, &l->span,
                       "'load' at 0x%" PRIx64 " comes before the ram/rom "
                       "that holds it",
                       l->addr);
            diag_note(c->dg, &s->mem.v[which].span,
                      "declare this before the load");
        } else {
            diag_error(c->dg, &l->span,
                       "'%s' (%" PRIu64 " bytes) at 0x%" PRIx64
                       " does not fit in guest RAM or ROM",
                       l->path, len, l->addr);
        }
    }
    if (!entry_taken && !s->dryrun && s->loads.n == 0 &&
        c->p->parse_errors == 0)
        diag_error(c->dg, NULL, "no guest image: add 'load FILE'");
}

static bool uart_like(const struct vdev_type *vt)
{
    return strcmp(vt->name, "ser8250") == 0 || strcmp(vt->name, "pl011") == 0 ||
           strcmp(vt->name, "virtio-console") == 0;
}

static void check_path_exists(struct checker *c, const struct hostdev *h,
                              const char *lb, bool need_existing)
{
    const struct cfg_env *env = c->p->env;
    struct host_file hf;
    env->stat_file(env->ctx, h->path, &hf);
    if (hf.exists && hf.is_dir) {
        diag_error(c->dg, &h->span, "hostdev '%s' of %s is a directory",
                   h->path, lb);
        return;
    }
    if (hf.exists || !need_existing) {
        if (!hf.exists) {
            /* an output file is created; its directory must exist */
            char dir[4096];
            snprintf(dir, sizeof(dir), "%s", h->path);
            char *sl = strrchr(dir, '/');
            if (sl) {
                *(sl == dir ? sl + 1 : sl) = '\0';
                struct host_file hd;
                env->stat_file(env->ctx, dir, &hd);
                if (!hd.exists || !hd.is_dir)
                    diag_error(c->dg, &h->span,
                               "cannot create hostdev '%s' of %s: directory "
                               "'%s' does not exist",
                               h->path, lb, dir);
            }
        }
        return;
    }
    diag_error(c->dg, &h->span, "hostdev '%s' of %s: %s", h->path, lb,
               strerror(hf.err));
}

static void check_hostdevs(struct checker *c)
{
    struct vm_spec *s = c->s;
    int stdin_user = -1;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        struct vdev_spec *vd = &s->vdevs.v[i];
        char lb[96];
        vdev_label(vd, lb, sizeof(lb));
        if (strcmp(vd->type->name, "virtio-blk") == 0) {
            if (vd->hostdevs.n == 0) {
                diag_error(c->dg, &vd->span,
                           "%s needs 'hostdev' (its backing file or block "
                           "device)",
                           lb);
                continue;
            }
            struct hostdev *h = &vd->hostdevs.v[0];
            if (h->kind != HOSTDEV_PATH || h->dir == HOSTDEV_OUT) {
                diag_error(c->dg, &h->span,
                           "%s needs a file or block device ([<]PATH), not "
                           "'%s'",
                           lb, h->path);
                continue;
            }
            check_path_exists(c, h, lb, true);
            continue;
        }
        if (!uart_like(vd->type))
            continue;
        const struct hostdev *in = NULL, *out = NULL;
        for (size_t k = 0; k < vd->hostdevs.n; k++) {
            const struct hostdev *h = &vd->hostdevs.v[k];
            bool reads = h->dir != HOSTDEV_OUT && h->kind != HOSTDEV_PIPE;
            bool writes = h->dir != HOSTDEV_IN;
            if (reads && in) {
                diag_error(c->dg, &h->span, "%s has two inputs", lb);
                diag_note(c->dg, &in->span, "the first input is here");
            }
            if (writes && out) {
                diag_error(c->dg, &h->span, "%s has two outputs", lb);
                diag_note(c->dg, &out->span, "the first output is here");
            }
            if (reads)
                in = h;
            if (writes)
                out = h;
            if (h->kind == HOSTDEV_STDIO && reads) {
                if (stdin_user >= 0 && stdin_user != (int)i) {
                    char ob[96];
                    diag_error(
                        c->dg, &h->span,
                        "qvm's standard input is already the input of "
                        "%s",
                        vdev_label(&s->vdevs.v[stdin_user], ob, sizeof(ob)));
                } else {
                    stdin_user = (int)i;
                }
            }
            if (h->kind == HOSTDEV_PATH)
                check_path_exists(c, h, lb, h->dir != HOSTDEV_OUT);
        }
    }
}

/* ---- everything else ---------------------------------------------------- */

static bool cluster_lookup(struct checker *c, const char *name,
                           uint64_t mask[4])
{
    memset(mask, 0, 4 * sizeof(uint64_t));
    uint64_t n;
    if (strncmp(name, "_cpu-", 5) == 0 &&
        num_parse(name + 5, false, &n) == NUM_OK && n < 256) {
        mask[n / 64] |= 1ULL << (n % 64);
        return true;
    }
    const char *path = getenv("QVM_CLUSTERS");
    char *data = NULL;
    size_t len;
    const struct cfg_env *env = c->p->env;
    if (env->read_file(env->ctx, path && *path ? path : "/etc/qvm/clusters",
                       &data, &len) < 0)
        return false;
    bool found = false;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        char nm[128], cpus[512];
        if (line[0] == '#' || sscanf(line, "%127s %511s", nm, cpus) != 2 ||
            strcmp(nm, name) != 0)
            continue;
        char *s2 = NULL;
        for (char *x = strtok_r(cpus, ",", &s2); x;
             x = strtok_r(NULL, ",", &s2))
            if (num_parse(x, false, &n) == NUM_OK && n < 256)
                mask[n / 64] |= 1ULL << (n % 64);
        found = true;
    }
    free(data);
    return found;
}

static void check_reserved_intrs(struct checker *c)
{
    const struct vm_spec *s = c->s;
    uint32_t lines = s->vdevs.v[c->default_pic].pic_lines;
    for (size_t i = 0; i < s->reserves.n; i++)
        for (size_t k = 0; k < s->reserves.v[i].intrs.n; k++)
            if (s->reserves.v[i].intrs.v[k] >= lines)
                diag_error(c->dg, &s->reserves.v[i].span,
                           "reserved interrupt %u does not exist on '%s' "
                           "(lines 0-%u)",
                           s->reserves.v[i].intrs.v[k],
                           spec_pic_label(s, c->default_pic), lines - 1);
}

static void check_cpus(struct checker *c)
{
    struct vm_spec *s = c->s;
    unsigned max = s->arch == ARCH_X86_64 ? 254 : 512;
    if (s->cpus.n > max)
        diag_error(c->dg, &s->cpus.v[max].span,
                   "too many vCPUs: %zu (at most %u)", s->cpus.n, max);
    for (size_t i = 0; i < s->cpus.n; i++) {
        struct cpu_spec *cpu = &s->cpus.v[i];
        if (!cpu->cluster)
            continue;
        if (cpu->has_runmask) {
            diag_error(c->dg, &cpu->span,
                       "cpu %zu has both 'runmask' and 'cluster'; use one", i);
            continue;
        }
        if (!cluster_lookup(c, cpu->cluster, cpu->runmask)) {
            diag_error(c->dg, &cpu->span,
                       "unknown CPU cluster '%s' (use _cpu-N, or define it "
                       "in $QVM_CLUSTERS or /etc/qvm/clusters)",
                       cpu->cluster);
            continue;
        }
        cpu->has_runmask = true;
    }
    for (size_t i = 0; i < s->vdevs.n; i++) {
        const struct vdev_spec *vd = &s->vdevs.v[i];
        const struct opt_val *v = vdev_opt(vd, "version");
        if (strcmp(vd->type->name, "gic") == 0 && v && v->num == 0 &&
            s->cpus.n > 8)
            diag_error(c->dg, &vd->span,
                       "a GICv2 serves at most 8 vCPUs (%zu configured)",
                       s->cpus.n);
    }
}

/* A vdev's `log` routes the lines of its type (devices_log_routes): two
 * vdevs of one type that disagree share the later one's routing. */
static void check_log_routes(struct checker *c)
{
    const struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->vdevs.n; i++) {
        const struct opt_val *a = vdev_opt(&s->vdevs.v[i], "log");
        if (!a || (a->def->flags & OF_IGNORED))
            continue;
        for (size_t k = i + 1; k < s->vdevs.n; k++) {
            const struct opt_val *b = vdev_opt(&s->vdevs.v[k], "log");
            if (s->vdevs.v[k].type != s->vdevs.v[i].type || !b ||
                (b->num == a->num && b->num2 == a->num2))
                continue;
            diag_warn(c->dg, &b->span,
                      "'log %s' and 'log %s' both route the lines of every "
                      "vdev %s (qvm routes a vdev's lines by its type; for a "
                      "class both name, the later one wins)",
                      b->text, a->text, s->vdevs.v[k].type->name);
            diag_note(c->dg, &a->span, "the other 'log' is here");
            break;
        }
    }
}

static const char *sysfs_root(void)
{
    const char *root = getenv("QVM_SYSFS_ROOT");
    return root && *root ? root : "/sys";
}

/* sysfs_id: a sysfs file holding one hexadecimal ID ("0x1234\n"). */
static bool sysfs_id(const struct cfg_env *env, const char *slot,
                     const char *file, unsigned *out)
{
    char path[400];
    unsigned char buf[16];
    snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s", sysfs_root(), slot,
             file);
    long n = env->read_at(env->ctx, path, 0, buf, sizeof(buf) - 1);
    if (n <= 0)
        return false;
    buf[n] = 0;
    char *end;
    unsigned long v = strtoul((const char *)buf, &end, 16);
    if (end == (char *)buf || v > 0xffff)
        return false;
    *out = (unsigned)v;
    return true;
}

/* The host functions with one vendor and device ID, collected by name. */
struct id_match {
    const struct cfg_env *env;
    unsigned vid, did;
    char names[64][16];
    size_t n;
};

static void id_match_each(void *arg, const char *name)
{
    struct id_match *m = arg;
    unsigned v, d;
    if (m->n < 64 && strlen(name) < sizeof(m->names[0]) &&
        sysfs_id(m->env, name, "vendor", &v) && v == m->vid &&
        sysfs_id(m->env, name, "device", &d) && d == m->did)
        snprintf(m->names[m->n++], sizeof(m->names[0]), "%s", name);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* find_by_id: the idx-th host function (by sysfs name, as the run time's
 * vfio_find_by_id counts them) with these IDs, into slot. */
static bool find_by_id(const struct cfg_env *env, unsigned vid, unsigned did,
                       unsigned idx, char *slot, size_t len)
{
    static struct id_match m;
    char path[300];
    m = (struct id_match){.env = env, .vid = vid, .did = did};
    snprintf(path, sizeof(path), "%s/bus/pci/devices", sysfs_root());
    if (!env->list_dir || env->list_dir(env->ctx, path, id_match_each, &m) < 0)
        return false;
    qsort(m.names, m.n, sizeof(m.names[0]), cmp_name);
    if (idx >= m.n)
        return false;
    snprintf(slot, len, "%s", m.names[idx]);
    return true;
}

/* pass_host_desc: the host function `slot` ("0000:00:01.0") as sysfs
 * shows it, for dryrun: its IDs and driver from uevent, its IOMMU group
 * ("0000:00:01.0 1234:11e8, driver vfio-pci, IOMMU group 3"; the
 * $QVM_SYSFS_ROOT tree replaces /sys), and its BARs from `resource`
 * ("BAR0 mem 0xfea00000 1M, BAR2 io 0xc000 32"). False when it is not
 * there. */
static bool pass_host_desc(const struct cfg_env *env, const char *slot,
                           struct loc *l)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/uevent", sysfs_root(),
             slot);
    unsigned char buf[1024];
    long n = env->read_at(env->ctx, path, 0, buf, sizeof(buf) - 1);
    if (n <= 0) {
        snprintf(l->host_desc, sizeof(l->host_desc), "%s: not present", slot);
        return false;
    }
    buf[n] = 0;
    char id[16] = "?", drv[32] = "";
    for (char *line = (char *)buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        if (strncmp(line, "PCI_ID=", 7) == 0)
            snprintf(id, sizeof(id), "%s", line + 7);
        else if (strncmp(line, "DRIVER=", 7) == 0)
            snprintf(drv, sizeof(drv), "%s", line + 7);
        line = nl;
    }
    for (char *p = id; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    char group[64] = "", target[256];
    snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group",
             sysfs_root(), slot);
    if (env->read_link &&
        env->read_link(env->ctx, path, target, sizeof(target)) > 0) {
        const char *b = strrchr(target, '/');
        snprintf(group, sizeof(group), ", IOMMU group %.32s",
                 b ? b + 1 : target);
    } else {
        snprintf(group, sizeof(group), ", no IOMMU group");
    }
    snprintf(l->host_desc, sizeof(l->host_desc), "%s %s, %s%s%s%s", slot, id,
             drv[0] ? "driver " : "", drv[0] ? drv : "no driver",
             drv[0] && strcmp(drv, "vfio-pci") != 0 ? " (not vfio-pci)" : "",
             group);
    /* resource: one line per BAR (then the ROM and bridge windows),
     * "START END FLAGS" in hexadecimal; IORESOURCE_IO 0x100, _MEM 0x200,
     * _PREFETCH 0x2000, _MEM_64 0x100000. */
    snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/resource", sysfs_root(),
             slot);
    n = env->read_at(env->ctx, path, 0, buf, sizeof(buf) - 1);
    if (n <= 0)
        return true;
    buf[n] = 0;
    size_t used = 0;
    char *line = (char *)buf;
    for (unsigned bar = 0; bar < 6 && line && *line; bar++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        unsigned long long st, en, fl;
        if (sscanf(line, "%llx %llx %llx", &st, &en, &fl) == 3 && en > st &&
            (fl & 0x300)) {
            char sz[32];
            size_str(en - st + 1, sz, sizeof(sz));
            int w = snprintf(l->host_bars + used, sizeof(l->host_bars) - used,
                             "%sBAR%u %s 0x%llx %s%s%s", used ? ", " : "", bar,
                             fl & 0x100 ? "io" : "mem", st, sz,
                             fl & 0x100000 ? " 64-bit" : "",
                             fl & 0x2000 ? " prefetchable" : "");
            if (w < 0 || (size_t)w >= sizeof(l->host_bars) - used) {
                l->host_bars[used] = 0;
                break;
            }
            used += (size_t)w;
        }
        line = nl;
    }
    return true;
}

/*
 * host_owner: the innermost entry of the host's /proc/iomem (io false) or
 * /proc/ioports (io true) holding all of [lo, hi] ($QVM_PROC_ROOT replaces
 * /proc). Empty when none does (or the file is unreadable, or shows
 * zeros, as it does to non-root users).
 */
static void host_owner(const struct cfg_env *env, bool io, uint64_t lo,
                       uint64_t hi, char *out, size_t len)
{
    const char *root = getenv("QVM_PROC_ROOT");
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", root && *root ? root : "/proc",
             io ? "ioports" : "iomem");
    out[0] = 0;
    static unsigned char buf[32768];
    long n = env->read_at(env->ctx, path, 0, buf, sizeof(buf) - 1);
    if (n <= 0)
        return;
    buf[n] = 0;
    size_t best = 0;
    bool found = false;
    for (char *line = (char *)buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        size_t depth = strspn(line, " ");
        char *end;
        uint64_t a = strtoull(line + depth, &end, 16), b;
        if (*end == '-') {
            b = strtoull(end + 1, &end, 16);
            if (strncmp(end, " : ", 3) == 0 && a <= lo && hi <= b && b > 0 &&
                (!found || depth >= best)) {
                best = depth;
                found = true;
                snprintf(out, len, "%s", end + 3);
            }
        }
        line = nl;
    }
}

/* `pass loc mem:`/`io:`: what the host has there, for dryrun; a range
 * /proc/iomem calls RAM is refused by /dev/mem: said now. */
static void pass_host_ranges(struct checker *c)
{
    struct vm_spec *s = c->s;
    for (size_t i = 0; i < s->passes.n; i++) {
        struct pass_spec *ps = &s->passes.v[i];
        for (size_t k = 0; k < ps->locs.n; k++) {
            struct loc *l = &ps->locs.v[k];
            if (l->space == SPACE_PCI)
                continue;
            bool io = l->space == SPACE_IO;
            uint64_t h = l->has_host ? l->host_base : l->base, last;
            if (!range_last(h, l->size, &last))
                continue;
            char own[64];
            host_owner(c->p->env, io, h, last, own, sizeof(own));
            struct pass_attrs a;
            pass_attrs_parse(l->attrs, &a);
            if (io)
                snprintf(l->host_desc, sizeof(l->host_desc),
                         "ports 0x%" PRIx64 "-0x%" PRIx64 "%s%s%s", h, last,
                         own[0] ? " (" : "", own, own[0] ? ")" : "");
            else
                snprintf(l->host_desc, sizeof(l->host_desc),
                         "0x%" PRIx64 "-0x%" PRIx64 " %s, %s%s%s%s", h, last,
                         a.write ? "read/write" : "read-only",
                         a.cached ? "cached" : "uncached", own[0] ? " (" : "",
                         own, own[0] ? ")" : "");
            if (!io && strcmp(own, "System RAM") == 0)
                diag_warn(c->dg, &ps->span,
                          "host 0x%" PRIx64 "-0x%" PRIx64 " is System RAM "
                          "(/proc/iomem): /dev/mem refuses it "
                          "(CONFIG_STRICT_DEVMEM) and qvm will fail at "
                          "start; give the guest RAM with `ram`",
                          h, last);
        }
    }
}

static void check_misc(struct checker *c)
{
    struct vm_spec *s = c->s;
    const struct cfg_env *env = c->p->env;
    if (s->mem.n == 0 && !c->p->saw_mem && c->p->parse_errors == 0)
        diag_error(c->dg, NULL,
                   "no 'ram': the guest has no memory (add e.g. 'ram 64m')");
    if (s->dump && s->dump[0] != '|') {
        struct host_file hf;
        env->stat_file(env->ctx, s->dump, &hf);
        if (!hf.exists || !hf.is_dir)
            diag_error(c->dg, NULL, "dump directory '%s' %s", s->dump,
                       hf.exists ? "is not a directory" : "does not exist");
    }
    for (size_t i = 0; i < s->vdevs.n; i++) {
        const struct vdev_spec *vd = &s->vdevs.v[i];
        char lb[96];
        vdev_label(vd, lb, sizeof(lb));
        for (size_t k = 0; k < i && vd->name; k++) {
            const struct vdev_spec *o = &s->vdevs.v[k];
            if (o->name && strcmp(o->name, vd->name) == 0 && o->span.file) {
                diag_error(c->dg, &vd->span, "two vdevs are named '%s'",
                           vd->name);
                diag_note(c->dg, &o->span, "the first '%s' is here", vd->name);
            }
        }
        if (strcmp(vd->type->name, "shmem") == 0 && vdev_opt(vd, "allow") &&
            vdev_opt(vd, "deny"))
            diag_error(c->dg, &vdev_opt(vd, "deny")->span,
                       "%s: use either 'allow' or 'deny', not both", lb);
        if (strcmp(vd->type->name, "virtio-net") == 0) {
            const struct opt_val *peer = vdev_opt(vd, "peer");
            char self[512];
            snprintf(self, sizeof(self), "/dev/qvm/%s/%s",
                     s->system ? s->system : "", vd->name ? vd->name : "");
            if (peer && strcmp(peer->text, self) == 0)
                diag_error(c->dg, &peer->span, "%s is its own peer", lb);
        }
        if (strcmp(vd->type->name, "shmem") == 0) {
            for (size_t a = 0; a < vd->opts.n; a++) {
                const struct opt_val *x = &vd->opts.v[a];
                if (strcmp(x->def->name, "create") != 0)
                    continue;
                size_t la = strcspn(x->text, ",");
                /* devices/shmem.h: a region window slot less its control
                 * page (docs/shmem.md). */
                if (x->text[0] == '.' ||
                    strspn(x->text,
                           "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") < la)
                    diag_error(c->dg, &x->span,
                               "%s: region name '%.*s': A-Z a-z 0-9 . _ - "
                               "only, not starting with '.'",
                               lb, (int)la, x->text);
                if (x->num > 0x1000000 - 0x1000)
                    diag_error(c->dg, &x->span,
                               "%s: region '%.*s' is larger than 16 MiB - "
                               "4 KiB, the most a region can be",
                               lb, (int)la, x->text);
                for (size_t b = 0; b < a; b++) {
                    const struct opt_val *y = &vd->opts.v[b];
                    if (strcmp(y->def->name, "create") == 0 &&
                        strcspn(y->text, ",") == la &&
                        strncmp(x->text, y->text, la) == 0)
                        diag_error(c->dg, &x->span,
                                   "%s creates region '%.*s' twice", lb,
                                   (int)la, x->text);
                }
            }
        }
        /* Watchdogs: `fiq` pulses the vdev's interrupt (x86 has no FIQ),
         * which must then exist; `intr` is only for `fiq` (the SP805's
         * is its WDOGINT too: raised at the first expiry); `dump,` needs
         * the top-level `dump`. */
        const struct opt_def *wdt = opt_find(vd->type->opts, "action");
        if (wdt && wdt->type == OPT_WDT_ACTION) {
            const struct opt_val *act = vdev_opt(vd, "action");
            bool fiq = act && act->num == 1;
            if (fiq && vd->intrs.n == 0)
                diag_error(c->dg, &act->span,
                           "%s: 'action %s' raises the vdev's interrupt: "
                           "give it an 'intr' (or use 'action terminate')",
                           lb, act->text);
            else if (!fiq && vd->intrs.n &&
                     strcmp(vd->type->name, "wdt-sp805") != 0)
                diag_warn(c->dg, &vd->intrs.v[0].span,
                          "%s: 'intr' is only raised by 'action fiq'; "
                          "ignored with 'action %s'",
                          lb, act ? act->text : "terminate");
            if (act && act->num2 && !s->dump)
                diag_warn(c->dg, &act->span,
                          "%s: 'action %s' but no top-level 'dump': the "
                          "watchdog writes no dump",
                          lb, act->text);
        }
        if (strcmp(vd->type->name, "pci-dummy") == 0 &&
            !vdev_opt(vd, "clone") && vd->pci.vendor == 0xffff)
            diag_warn(c->dg, &vd->span,
                      "%s has vendor ID 0xffff, which guests read as no "
                      "device: give 'reg 0x00/2=VENDOR' or 'clone'",
                      lb);
    }
    for (size_t i = 0; i < s->passes.n; i++) {
        struct pass_spec *ps = &s->passes.v[i];
        for (size_t k = 0; k < ps->locs.n; k++) {
            struct loc *l = &ps->locs.v[k];
            if (l->space != SPACE_PCI)
                continue;
            char slot[16];
            if (l->by_id) {
                if (!find_by_id(env, l->vid, l->did, l->idx, slot,
                                sizeof(slot))) {
                    snprintf(l->host_desc, sizeof(l->host_desc),
                             "%04x:%04x function #%u: not present", l->vid,
                             l->did, l->idx);
                    diag_warn(c->dg, &ps->span,
                              "the host has no PCI function %04x:%04x #%u "
                              "(lspci -nn): passing it through (VFIO) will "
                              "fail at start",
                              l->vid, l->did, l->idx);
                    continue;
                }
            } else {
                struct bdf h = l->host_is_bdf ? l->host_bdf : l->bdf;
                snprintf(slot, sizeof(slot), "0000:%02x:%02x.%x", h.bus, h.dev,
                         h.fn);
            }
            if (!pass_host_desc(env, slot, l))
                diag_warn(c->dg, &ps->span,
                          "host PCI device %s is not present: passing it "
                          "through (VFIO) will fail at start",
                          slot + 5);
        }
    }
}

/* `pass intr ...=uio:PATH`: PATH must be a UIO device's node (a character
 * device named uioN that /sys/class/uio lists; $QVM_SYSFS_ROOT replaces
 * /sys); dryrun shows its driver and, for a PCI function, its address. */
static void pass_uio_check(struct checker *c, struct intr *it)
{
    const struct cfg_env *env = c->p->env;
    const char *base = strrchr(it->src_path, '/');
    base = base ? base + 1 : it->src_path;
    struct host_file hf;
    env->stat_file(env->ctx, it->src_path, &hf);
    if (!hf.exists) {
        diag_error(c->dg, &it->span,
                   "pass intr: UIO device '%s' does not exist (bind the "
                   "device to a UIO driver, e.g. uio_pci_generic; "
                   "/sys/class/uio lists the UIO devices)",
                   it->src_path);
        return;
    }
    const char *root = getenv("QVM_SYSFS_ROOT");
    char path[300];
    unsigned char buf[512];
    long n = -1;
    if (hf.is_chr && strncmp(base, "uio", 3) == 0 && base[3] >= '0' &&
        base[3] <= '9' && strspn(base + 3, "0123456789") == strlen(base + 3)) {
        snprintf(path, sizeof(path), "%s/class/uio/%s/name",
                 root && *root ? root : "/sys", base);
        n = env->read_at(env->ctx, path, 0, buf, sizeof(buf) - 1);
    }
    if (n <= 0) {
        diag_error(c->dg, &it->span,
                   "pass intr: '%s' is not a UIO device (a character device "
                   "/dev/uioN that /sys/class/uio lists)",
                   it->src_path);
        return;
    }
    buf[n] = 0;
    buf[strcspn((char *)buf, "\n")] = 0;
    char name[48];
    snprintf(name, sizeof(name), "%.40s", (char *)buf);
    char slot[32] = "";
    snprintf(path, sizeof(path), "%s/class/uio/%s/device/uevent",
             root && *root ? root : "/sys", base);
    n = env->read_at(env->ctx, path, 0, buf, sizeof(buf) - 1);
    if (n > 0) {
        buf[n] = 0;
        const char *ps = strstr((char *)buf, "PCI_SLOT_NAME=");
        if (ps) {
            ps += strlen("PCI_SLOT_NAME=");
            snprintf(slot, sizeof(slot), ", PCI %.*s",
                     (int)(strcspn(ps, "\n") < 16 ? strcspn(ps, "\n") : 16),
                     ps);
        }
    }
    snprintf(it->src_desc, sizeof(it->src_desc), "%.16s (%.40s%.24s)", base,
             name, slot);
}

/* `pass`: PCI functions go through VFIO (devices/vfio_pci.c), host memory
 * through /dev/mem and I/O ports trapped and forwarded (vm/passthru.h);
 * a host interrupt has no Linux equivalent (docs/passthrough.md). */
static void check_passes(struct checker *c)
{
    bool x86 = c->s->arch == ARCH_X86_64;
    for (size_t i = 0; i < c->s->passes.n; i++) {
        struct pass_spec *ps = &c->s->passes.v[i];
        for (size_t k = 0; k < ps->locs.n; k++) {
            const struct loc *l = &ps->locs.v[k];
            if (l->space == SPACE_IO && !x86)
                diag_error(c->dg, &ps->span,
                           "pass loc io: aarch64 has no I/O port space");
            if (l->space != SPACE_MEM || !l->attrs[0])
                continue;
            struct pass_attrs a;
            pass_attrs_parse(l->attrs, &a);
            if (!a.read)
                diag_warn(c->dg, &ps->span,
                          "'pass loc mem:' attributes '%s' without 'r': KVM "
                          "memory is always readable; the guest can read it",
                          l->attrs);
        }
        for (size_t k = 0; k < ps->intrs.n; k++) {
            struct intr *it = &ps->intrs.v[k];
            if (it->src == INTR_SRC_NONE) {
                diag_warn(c->dg, &it->span,
                          "'pass intr' without a host source has no effect "
                          "on Linux: user space gets a host interrupt only "
                          "from the driver that owns its device, a bare "
                          "host vector cannot be taken; name the device's "
                          "UIO node (=uio:/dev/uioN) or an inherited "
                          "descriptor (=fd:N) (docs/passthrough.md). The "
                          "guest line stays reserved and is never raised");
                continue;
            }
            if (it->pic == PIC_APIC)
                continue;
            if (!x86 && it->line < 32)
                diag_error(c->dg, &it->span,
                           "pass intr %s:%u: a host interrupt goes to a "
                           "shared peripheral interrupt (gic:32 to "
                           "gic:1019)",
                           spec_pic_label(c->s, it->pic), it->line);
            if (it->src == INTR_SRC_UIO)
                pass_uio_check(c, it);
        }
    }
}

/* `reserve` keeps qvm's automatic placements out of a range: on aarch64
 * there are no I/O ports and no PCI bus to place anything on. */
static void check_reserves(struct checker *c)
{
    if (c->s->arch == ARCH_X86_64)
        return;
    for (size_t i = 0; i < c->s->reserves.n; i++) {
        const struct reserve_spec *rs = &c->s->reserves.v[i];
        for (size_t k = 0; k < rs->locs.n; k++)
            if (rs->locs.v[k].space != SPACE_MEM)
                diag_error(c->dg, &rs->span, "reserve loc %s: %s",
                           rs->locs.v[k].space == SPACE_IO ? "io" : "pci",
                           rs->locs.v[k].space == SPACE_IO
                               ? "aarch64 has no I/O port space"
                               : "qvm has no PCI bus for aarch64 guests");
    }
}

void check_spec(struct parser *p)
{
    struct checker c = {.p = p, .s = p->spec, .dg = p->dg};
    add_implicit(&c);
    resolve_pics(&c);
    decide_pci(&c);
    punch_holes(&c);
    place_fixed(&c);
    place_platform(&c);
    place_defaults(&c);
    place_pci(&c);
    place_pass_by_id(&c);
    check_passes(&c);
    check_reserves(&c);
    pass_host_ranges(&c);
    check_overlaps(&c);
    default_intrs(&c);
    check_irqs(&c);
    check_reserved_intrs(&c);
    check_cpus(&c);
    check_loads(&c);
    check_hostdevs(&c);
    check_misc(&c);
    check_log_routes(&c);
    VEC_FREE(&c.irqs);
}

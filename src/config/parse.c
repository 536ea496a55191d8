/*
 * parse.c: the token stream into a struct vm_spec.
 *
 * One pass, top to bottom (qvm-reference.md 1.5). A context opener (cpu,
 * vdev, pass, reserve) starts a context that lasts until the next opener;
 * a word is first looked up in the current context's table, then in the
 * top-level table. Inside a context a single-valued option given twice keeps
 * the last value; OF_MULTI options accumulate. On an error the parser reports
 * it and carries on with the next word, so every error is shown.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse_int.h"
#include "util/ckd.h"
#include "util/num.h"

#define MAX_ARGS 2 /* `set NAME VALUE`, `unsupported TYPE ACTION`, logs */

static unsigned nargs_of(const struct opt_def *d)
{
    if (d->type == OPT_FLAG)
        return 0;
    if (d->type == OPT_LOG || d->id == TOP_SET || d->id == TOP_UNSUPPORTED)
        return 2;
    return 1;
}

static bool is_opener(const char *w)
{
    return strcmp(w, "vdev") == 0 || strcmp(w, "cpu") == 0 ||
           strcmp(w, "pass") == 0 || strcmp(w, "reserve") == 0;
}

/* What an argument an option does not take reads as: an empty word, never
 * a null pointer (handlers index `a` by their option's arity). */
static char no_arg_text[1];
static struct token no_arg = {.text = no_arg_text};

/* Takes the argument words of option d (at token t) into a; the slots
 * past its arity are no_arg. False if one is missing. */
static bool take_args(struct parser *p, const struct opt_def *d,
                      const struct token *t, struct token *a[static MAX_ARGS])
{
    unsigned n = nargs_of(d);
    bool bad = false;
    for (unsigned i = 0; i < MAX_ARGS; i++)
        a[i] = &no_arg;
    for (unsigned i = 0; i < n; i++) {
        /* an option's arguments never come from another file: a file that
         * ends in `cmdline` must not take the next command-line word */
        if (p->pos >= p->ntoks ||
            (!p->toks[p->pos].quoted && is_opener(p->toks[p->pos].text)) ||
            p->toks[p->pos].span.file != t->span.file) {
            diag_error(p->dg, &t->span, "'%s' needs %s (%s)", d->name,
                       n == 1 ? "an argument" : "more arguments",
                       d->syntax ? d->syntax : d->name);
            return false;
        }
        a[i] = &p->toks[p->pos++];
        bad |= a[i]->bad;
    }
    return !bad;
}

/* ---- option status: architecture, deprecated, ignored, rejected --------- */

/* Returns false when the option must not be applied. */
static bool opt_status(struct parser *p, const struct opt_def *d,
                       const struct token *t, const char *where)
{
    if (d->arch && !(d->arch & p->spec->arch)) {
        diag_error(p->dg, &t->span,
                   "%s'%s' is only for %s guests; this qvm runs %s guests",
                   where, d->name, arch_name((enum arch)d->arch),
                   arch_name(p->spec->arch));
        return false;
    }
    if (d->flags & OF_REJECTED) {
        diag_error(p->dg, &t->span, "%s'%s' is not supported: %s", where,
                   d->name, d->why);
        return false;
    }
    if (d->flags & OF_IGNORED)
        diag_warn(p->dg, &t->span, "%s'%s' has no effect on Linux: %s", where,
                  d->name, d->why);
    if (d->ign_arch & p->spec->arch)
        diag_warn(p->dg, &t->span, "%s'%s' has no effect on %s guests: %s",
                  where, d->name, arch_name(p->spec->arch), d->ign_why);
    if (d->flags & OF_DEPRECATED)
        diag_warn(p->dg, &t->span, "%s'%s' is an old spelling; write '%s'",
                  where, d->name, d->why);
    return true;
}

/* ---- top level ---------------------------------------------------------- */

static bool parse_mem(struct parser *p, const struct token *t,
                      enum mem_kind kind)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", t->text);
    char *len = split_at(buf, ',');
    struct mem_region r = {.kind = kind, .span = t->span};
    if (len) {
        if (!parse_u64(p, t, "start", buf, true, &r.base) ||
            !parse_u64(p, t, "length", len, true, &r.size))
            return false;
    } else {
        if (!parse_u64(p, t, "length", buf, true, &r.size))
            return false;
        r.base_default = true;
        for (size_t i = 0; i < p->spec->mem.n; i++) {
            const struct mem_region *m = &p->spec->mem.v[i];
            if (m->kind != MEM_RESERVED && m->base + m->size > r.base)
                r.base = m->base + m->size;
        }
    }
    const char *what = kind == MEM_ROM ? "rom" : "ram";
    uint64_t last;
    if (r.size == 0) {
        diag_error(p->dg, &t->span, "%s length is zero", what);
        return false;
    }
    if (!range_last(r.base, r.size, &last) || last >= (1ULL << 52)) {
        diag_error(p->dg, &t->span,
                   "%s '%s' ends beyond the guest-physical address space "
                   "(52 bits)",
                   what, t->text);
        return false;
    }
    if ((r.base | r.size) & 0xfff) {
        diag_error(p->dg, &t->span,
                   "%s '%s' is not page aligned (start and length must be "
                   "multiples of 4K)",
                   what, t->text);
        return false;
    }
    struct mem_region *slot = VEC_PUSH(&p->spec->mem);
    if (!slot) {
        diag_error(p->dg, &t->span, "out of memory");
        return false;
    }
    *slot = r;
    return true;
}

static void top_load(struct parser *p, const struct token *t)
{
    struct load_spec l = {.blob = p->blob_pending ? p->blob : BLOB_NONE,
                          .span = p->blob_pending ? p->blob_span : t->span};
    const char *path = t->text;
    const char *comma = strchr(t->text, ',');
    if (comma) {
        char abuf[64];
        size_t n = (size_t)(comma - t->text);
        if (n < sizeof(abuf)) {
            memcpy(abuf, t->text, n);
            abuf[n] = '\0';
            uint64_t a;
            if (num_parse(abuf, true, &a) == NUM_OK) {
                l.has_addr = true;
                l.addr = a;
                path = comma + 1;
            }
        }
    }
    if (!*path) {
        diag_error(p->dg, &t->span, "'load %s' names no file", t->text);
        return;
    }
    if (l.has_addr && (l.blob == BLOB_FDT)) {
        diag_error(p->dg, &t->span,
                   "'fdt load' takes no address: qvm places the device tree");
        return;
    }
    l.path = xstrdup(p, path, &t->span);
    struct load_spec *slot = l.path ? VEC_PUSH(&p->spec->loads) : NULL;
    size_t *mn = slot ? VEC_PUSH(&p->load_mem_n) : NULL;
    if (!mn) {
        if (slot)
            p->spec->loads.n--;
        free(l.path);
        diag_error(p->dg, &t->span, "out of memory");
        return;
    }
    *slot = l;
    *mn = p->spec->mem.n;
}

/*
 * A single-instance vdev (VF_ONE) defined again: QNX takes the last
 * configuration read (qvm-reference.md 1.5). The first definition's options,
 * its `set` variables and its pending `intr` names are dropped and the
 * instance keeps its place (controllers are referred to by index), with a
 * note naming both places.
 */
static void vdev_redefine(struct parser *p, int idx, const struct token *cmd)
{
    struct vdev_spec *vd = &p->spec->vdevs.v[idx];
    diag_notice(p->dg, &cmd->span,
                "vdev '%s' is defined again: this definition replaces the one "
                "at %s:%u:%u (a single-instance vdev takes the last "
                "configuration read)",
                vd->type->name, vd->span.file ? vd->span.file : "?",
                (unsigned)vd->span.line, (unsigned)vd->span.col);
    vdev_spec_clear(vd);
    const struct vdev_type *vt = vd->type;
    memset(vd, 0, sizeof(*vd));
    vd->type = vt;
    vd->span = cmd->span;
    vd->pic_lines = vt->pic_lines;
    for (size_t i = p->unresolved.n; i-- > 0;) {
        struct unresolved *u = &p->unresolved.v[i];
        if (u->vdev == idx) {
            free(u->name);
            *u = p->unresolved.v[--p->unresolved.n];
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < p->spec->sets.n; i++) {
        struct set_var *sv = &p->spec->sets.v[i];
        if (sv->vdev == idx) {
            free(sv->name);
            free(sv->value);
            continue;
        }
        p->spec->sets.v[w++] = *sv;
    }
    p->spec->sets.n = w;
    p->ctx = CTX_VDEV;
    p->ctx_index = idx;
}

/* A single-valued top-level option given again: the last one read wins. */
static void top_again(struct parser *p, const char *what,
                      const struct src_span *now, struct src_span *first)
{
    if (first->file)
        diag_notice(p->dg, now,
                    "'%s' is given again: this value replaces the one at "
                    "%s:%u:%u (the last one read wins)",
                    what, first->file, (unsigned)first->line,
                    (unsigned)first->col);
    *first = *now;
}

static void top_vdev(struct parser *p, const struct token *cmd,
                     const struct token *t)
{
    p->ctx = CTX_SKIP;
    const struct vdev_type *vt = vdev_type_find(t->text);
    if (!vt) {
        const char *names[64];
        unsigned n = 0;
        for (; n < 64 && vdev_types[n]; n++)
            names[n] = vdev_types[n]->name;
        const char *w = t->text;
        if (strncmp(w, "vdev-", 5) == 0)
            w += 5;
        const char *dym = did_you_mean(w, names, n);
        if (dym)
            diag_error(p->dg, &t->span,
                       "unknown vdev type '%s' (did you mean '%s'?)", t->text,
                       dym);
        else
            diag_error(p->dg, &t->span,
                       "unknown vdev type '%s' (`qvm help vdev` lists them)",
                       t->text);
        return;
    }
    if (!(vt->arch & p->spec->arch)) {
        diag_error(p->dg, &t->span,
                   "vdev '%s' is only for %s guests; this qvm runs %s guests",
                   vt->name, arch_name((enum arch)vt->arch),
                   arch_name(p->spec->arch));
        return;
    }
    if (vt->flags & VF_REJECT) {
        diag_error(p->dg, &t->span, "vdev '%s' is not supported: %s", vt->name,
                   vt->why);
        return;
    }
    if (vt->flags & VF_IGNORE) {
        diag_warn(p->dg, &t->span, "vdev '%s' is ignored: %s", vt->name,
                  vt->why);
        return;
    }
    if (vt->flags & VF_ONE) {
        for (size_t i = 0; i < p->spec->vdevs.n; i++) {
            if (p->spec->vdevs.v[i].type == vt) {
                vdev_redefine(p, (int)i, cmd);
                return;
            }
        }
    }
    struct vdev_spec *vd = VEC_PUSH(&p->spec->vdevs);
    if (!vd) {
        diag_error(p->dg, &t->span, "out of memory");
        return;
    }
    vd->type = vt;
    vd->span = cmd->span;
    vd->pic_lines = vt->pic_lines;
    p->ctx = CTX_VDEV;
    p->ctx_index = (int)p->spec->vdevs.n - 1;
}

static void top_set(struct parser *p, struct token *const *a)
{
    const struct token *vt = a[0], *val = a[1];
    const struct opt_def *d = opt_find(set_vars, vt->text);
    if (!d) {
        const char *names[64];
        unsigned n = 0;
        for (; n < 64 && set_vars[n].name; n++)
            names[n] = set_vars[n].name;
        const char *dym = did_you_mean(vt->text, names, n);
        diag_error(p->dg, &vt->span, "unknown variable '%s'%s%s%s", vt->text,
                   dym ? " (did you mean '" : " (`qvm set ?` lists them)",
                   dym ? dym : "", dym ? "'?)" : "");
        return;
    }
    if (!opt_status(p, d, vt, "set "))
        return;
    bool in_vdev = p->ctx == CTX_VDEV, in_cpu = p->ctx == CTX_CPU;
    if ((d->flags & (OF_SET_GLOB | OF_SET_GUEST | OF_SET_CPU)) == 0 &&
        !in_vdev) {
        diag_error(p->dg, &vt->span,
                   "'set %s' applies to a vdev: put it after the vdev it "
                   "configures",
                   d->name);
        return;
    }
    if (in_vdev && !(d->flags & OF_SET_VDEV) && !(d->flags & OF_SET_GLOB) &&
        !(d->flags & OF_SET_GUEST)) {
        diag_error(p->dg, &vt->span, "'set %s' does not apply to a vdev",
                   d->name);
        return;
    }
    struct opt_val ov = {0};
    if (!parse_value(p, d, &a[1], &ov))
        return;
    struct set_var *sv = VEC_PUSH(&p->spec->sets);
    if (!sv) {
        diag_error(p->dg, &vt->span, "out of memory");
        return;
    }
    sv->name = xstrdup(p, d->name, &vt->span);
    sv->value = xstrdup(p, val->text, &val->span);
    sv->cpu = in_cpu && (d->flags & OF_SET_CPU) ? p->ctx_index : -1;
    sv->vdev = in_vdev && (d->flags & OF_SET_VDEV) ? p->ctx_index : -1;
    sv->span = vt->span;
}

static void top_unsupported(struct parser *p, struct token *const *a)
{
    static const char *const types[] = {"instruction", "reference", "register",
                                        NULL};
    static const char *const acts[] = {"abort", "fail", "ignore", NULL};
    int ti = -1, ai = -1;
    for (int i = 0; types[i]; i++)
        if (strcmp(types[i], a[0]->text) == 0)
            ti = i;
    for (int i = 0; acts[i]; i++)
        if (strcmp(acts[i], a[1]->text) == 0)
            ai = i;
    if (ti < 0)
        diag_error(p->dg, &a[0]->span,
                   "'unsupported %s': the type is instruction, reference or "
                   "register",
                   a[0]->text);
    if (ai < 0)
        diag_error(p->dg, &a[1]->span,
                   "'unsupported ... %s': the action is abort, fail or "
                   "ignore",
                   a[1]->text);
    if (ti >= 0 && ai >= 0)
        p->spec->unsupported[ti] = (enum unsup_action)ai;
    /* On aarch64 KVM hands qvm only unmapped data accesses (reference):
     * an instruction or a system register it does not handle is an
     * undefined-instruction exception KVM raises in the guest itself. */
    if (ti >= 0 && ti != UNSUP_REFERENCE && p->spec->arch == ARCH_AARCH64)
        diag_warn(p->dg, &a[0]->span,
                  "'unsupported %s' has no effect on aarch64 guests: KVM "
                  "raises an undefined-instruction exception in the guest "
                  "itself for %s it does not handle, and none reaches qvm",
                  types[ti],
                  ti == UNSUP_INSTRUCTION ? "an instruction"
                                          : "a system register");
}

static void top_logger(struct parser *p, struct token *const *a)
{
    uint64_t mask, dest;
    if (!parse_log(p, a[0], a[1], &mask, &dest))
        return;
    for (unsigned i = 0; i < 7; i++)
        if (mask & (1u << i))
            p->spec->log_dest[i] = (uint8_t)dest;
}

static void skip_unknown_args(struct parser *p);

static void handle_top(struct parser *p, const struct opt_def *d,
                       struct token *t)
{
    struct token *a[MAX_ARGS];
    if (p->blob_pending && d->id != TOP_LOAD && d->id != TOP_PASS) {
        diag_error(p->dg, &p->blob_span,
                   "'%s' must be followed by 'load' (or 'pass')",
                   blob_type_name(p->blob));
        p->blob_pending = false;
    }
    if (d->id == TOP_SYSTEM) {
        if (!p->seen_system && t != &p->toks[0]) {
            diag_error(p->dg, &t->span,
                       "'system' must be the first entry of the "
                       "configuration");
        }
    }
    if (!opt_status(p, d, t, "")) {
        if (d->flags & OF_REJECTED)
            skip_unknown_args(p);
        return;
    }
    if (d->id == TOP_SET && p->pos < p->ntoks &&
        strcmp(p->toks[p->pos].text, "?") == 0) {
        p->pos++;
        p->res->list_set_vars = true;
        return;
    }
    if (!take_args(p, d, t, a))
        return;
    switch ((enum top_id)d->id) {
    case TOP_SYSTEM:
        if (p->seen_system)
            top_again(p, "system", &t->span, &p->system_span);
        p->seen_system = true;
        p->system_span = t->span;
        if (strchr(a[0]->text, '/') || !a[0]->text[0]) {
            diag_error(p->dg, &a[0]->span,
                       "system name '%s' must be non-empty and contain "
                       "no '/'",
                       a[0]->text);
        } else {
            free(p->spec->system);
            p->spec->system = xstrdup(p, a[0]->text, &a[0]->span);
        }
        break;
    case TOP_RAM:
    case TOP_ROM:
        p->saw_mem = true;
        parse_mem(p, a[0], d->id == TOP_RAM ? MEM_RAM : MEM_ROM);
        break;
    case TOP_CPU: {
        struct cpu_spec *c = VEC_PUSH(&p->spec->cpus);
        if (!c) {
            diag_error(p->dg, &t->span, "out of memory");
            return;
        }
        c->index = (unsigned)p->spec->cpus.n - 1;
        c->span = t->span;
        p->ctx = CTX_CPU;
        p->ctx_index = (int)c->index;
        break;
    }
    case TOP_LOAD:
        top_load(p, a[0]);
        p->blob_pending = false;
        break;
    case TOP_CMDLINE:
        top_again(p, "cmdline", &t->span, &p->once_span[TOP_CMDLINE]);
        free(p->spec->cmdline);
        p->spec->cmdline = xstrdup(p, a[0]->text, &a[0]->span);
        break;
    case TOP_VDEV:
        top_vdev(p, t, a[0]);
        break;
    case TOP_PASS:
    case TOP_RESERVE: {
        bool pass = d->id == TOP_PASS;
        if (pass) {
            struct pass_spec *ps = VEC_PUSH(&p->spec->passes);
            if (!ps)
                return;
            ps->blob = p->blob_pending ? p->blob : BLOB_NONE;
            ps->span = t->span;
            p->ctx_index = (int)p->spec->passes.n - 1;
        } else {
            struct reserve_spec *rs = VEC_PUSH(&p->spec->reserves);
            if (!rs)
                return;
            rs->span = t->span;
            p->ctx_index = (int)p->spec->reserves.n - 1;
        }
        p->blob_pending = false;
        p->ctx = pass ? CTX_PASS : CTX_RESERVE;
        break;
    }
    case TOP_LOGGER:
        top_logger(p, a);
        break;
    case TOP_DUMP:
        top_again(p, "dump", &t->span, &p->once_span[TOP_DUMP]);
        free(p->spec->dump);
        p->spec->dump = xstrdup(p, a[0]->text, &a[0]->span);
        p->dump_span = a[0]->span;
        break;
    case TOP_DRYRUN:
        p->spec->dryrun = true;
        p->dryrun_span = t->span;
        break;
    case TOP_SET:
        top_set(p, a);
        break;
    case TOP_UNSUPPORTED:
        top_unsupported(p, a);
        break;
    case TOP_TOLERANCE: {
        struct opt_val ov = {0};
        if (parse_value(p, d, a, &ov)) {
            top_again(p, "tolerance", &t->span, &p->once_span[TOP_TOLERANCE]);
            p->spec->tolerance_us = ov.num;
        }
        break;
    }
    case TOP_SAFETY: {
        struct opt_val ov = {0};
        if (!parse_value(p, d, a, &ov))
            break;
        top_again(p, "safety", &t->span, &p->once_span[TOP_SAFETY]);
        p->spec->safety = (int)ov.num;
        if (ov.num == 2)
            diag_error(p->dg, &a[0]->span,
                       "'safety required' cannot be met: no part of qvm is "
                       "safety-certified");
        else if (ov.num == 1)
            diag_warn(p->dg, &a[0]->span,
                      "qvm is not safety-certified; every vdev runs "
                      "uncertified");
        break;
    }
    case TOP_BLOB:
        p->blob_pending = true;
        p->blob_span = t->span;
        p->blob = strcmp(d->name, "guest") == 0    ? BLOB_GUEST
                  : strcmp(d->name, "data") == 0   ? BLOB_DATA
                  : strcmp(d->name, "initrd") == 0 ? BLOB_INITRD
                  : strcmp(d->name, "acpi") == 0   ? BLOB_ACPI
                                                   : BLOB_FDT;
        break;
    case TOP_USER:
        if (!a[0]->text[0] || a[0]->text[0] == ':' ||
            strchr(a[0]->text, ':') != strrchr(a[0]->text, ':')) {
            diag_error(p->dg, &a[0]->span,
                       "user '%s': give USER or USER:GROUP (names or "
                       "numbers)",
                       a[0]->text);
            break;
        }
        top_again(p, "user", &t->span, &p->once_span[TOP_USER]);
        free(p->spec->user);
        p->spec->user = xstrdup(p, a[0]->text, &a[0]->span);
        break;
    case TOP_REJECTED:
        break;
    }
}

/* ---- contexts ----------------------------------------------------------- */

static const char *ctx_label(struct parser *p, char *buf, size_t len)
{
    switch (p->ctx) {
    case CTX_CPU:
        return "cpu";
    case CTX_PASS:
        return "pass";
    case CTX_RESERVE:
        return "reserve";
    case CTX_VDEV:
        snprintf(buf, len, "vdev %s",
                 p->spec->vdevs.v[p->ctx_index].type->name);
        return buf;
    default:
        return "top level";
    }
}

static const struct opt_def *ctx_table(struct parser *p)
{
    switch (p->ctx) {
    case CTX_CPU:
        return cpu_opts;
    case CTX_PASS:
        return pass_opts;
    case CTX_RESERVE:
        return reserve_opts;
    case CTX_VDEV:
        return p->spec->vdevs.v[p->ctx_index].type->opts;
    default:
        return NULL;
    }
}

static void ctx_cpu(struct parser *p, const struct opt_def *d,
                    struct token *const *a)
{
    struct cpu_spec *c = &p->spec->cpus.v[p->ctx_index];
    switch (d->id) {
    case CPU_RUNMASK:
        if (parse_cpulist(p, a[0], c->runmask))
            c->has_runmask = true;
        break;
    case CPU_CLUSTER:
        free(c->cluster);
        c->cluster = xstrdup(p, a[0]->text, &a[0]->span);
        break;
    case CPU_PARTITION:
        free(c->partition);
        c->partition = xstrdup(p, a[0]->text, &a[0]->span);
        break;
    case CPU_SCHED:
        parse_sched(p, a[0], &c->sched);
        break;
    }
}

static void ctx_pass(struct parser *p, const struct opt_def *d,
                     struct token *const *a)
{
    struct pass_spec *ps = &p->spec->passes.v[p->ctx_index];
    if (d->id == PASS_LOC) {
        struct loc l;
        if (!parse_loc(p, a[0], LOC_PASS, NULL, &l))
            return;
        struct loc *slot = VEC_PUSH(&ps->locs);
        if (slot)
            *slot = l;
        return;
    }
    parse_intrs(p, a[0], false, true, &ps->intrs, -1, p->ctx_index);
}

static void ctx_reserve(struct parser *p, const struct opt_def *d,
                        struct token *const *a)
{
    struct reserve_spec *rs = &p->spec->reserves.v[p->ctx_index];
    if (d->id == RES_LOC) {
        struct loc l;
        if (!parse_loc(p, a[0], LOC_RESERVE, NULL, &l))
            return;
        struct loc *slot = VEC_PUSH(&rs->locs);
        if (slot)
            *slot = l;
        return;
    }
    uint64_t n;
    if (!parse_u64(p, a[0], "interrupt line", a[0]->text, false, &n))
        return;
    if (n > 1019) {
        diag_error(p->dg, &a[0]->span,
                   "interrupt %" PRIu64 " is out of "
                   "range",
                   n);
        return;
    }
    uint32_t *slot = VEC_PUSH(&rs->intrs);
    if (slot)
        *slot = (uint32_t)n;
}

static void parse_hostdev(struct parser *p, struct vdev_spec *vd,
                          const struct opt_def *d, const struct token *t)
{
    struct hostdev h = {
        .dir = HOSTDEV_BOTH, .kind = HOSTDEV_PATH, .span = t->span};
    const char *s = t->text;
    if (*s == '<') {
        h.dir = HOSTDEV_IN;
        s++;
    } else if (*s == '>') {
        h.dir = HOSTDEV_OUT;
        s++;
    }
    if (strcmp(s, "-") == 0) {
        h.kind = HOSTDEV_STDIO;
    } else if (*s == '|') {
        h.kind = HOSTDEV_PIPE;
        s++;
        if (h.dir != HOSTDEV_OUT) {
            diag_error(p->dg, &t->span,
                       "a pipe hostdev is output only: write >\"|COMMAND\"");
            return;
        }
    } else if (strcmp(s, "pty") == 0 && h.dir == HOSTDEV_BOTH) {
        h.kind = HOSTDEV_PTY;
    }
    if (!*s) {
        diag_error(p->dg, &t->span, "'hostdev %s' names nothing", t->text);
        return;
    }
    h.path = xstrdup(p, s, &t->span);
    if (!h.path)
        return;
    if (!(d->flags & OF_MULTI)) {
        for (size_t i = 0; i < vd->hostdevs.n; i++)
            free(vd->hostdevs.v[i].path);
        vd->hostdevs.n = 0;
    }
    struct hostdev *slot = VEC_PUSH(&vd->hostdevs);
    if (!slot) {
        free(h.path);
        return;
    }
    *slot = h;
}

static void ctx_vdev(struct parser *p, const struct opt_def *d,
                     struct token *const *a)
{
    struct vdev_spec *vd = &p->spec->vdevs.v[p->ctx_index];
    const struct token *t = a[0];
    switch (d->id) {
    case VD_LOC: {
        struct loc l;
        if (!parse_loc(p, t, LOC_VDEV, vd->type, &l))
            return;
        vd->loc = l;
        vd->has_loc = true;
        return;
    }
    case VD_INTR:
    case VD_INTRMAP:
        if (!(d->flags & OF_MULTI)) {
            vd->intrs.n = 0;
            for (size_t i = p->unresolved.n; i-- > 0;) {
                struct unresolved *u = &p->unresolved.v[i];
                if (u->vdev == p->ctx_index) {
                    free(u->name);
                    *u = p->unresolved.v[--p->unresolved.n];
                }
            }
        }
        parse_intrs(p, t, (vd->type->flags & VF_IOAPIC_DS) != 0, false,
                    &vd->intrs, p->ctx_index, -1);
        return;
    case VD_NAME:
        if (!t->text[0] || strchr(t->text, '/') ||
            ((vd->type->flags & VF_PIC) && strchr(t->text, ':'))) {
            diag_error(p->dg, &t->span,
                       "name '%s' must be non-empty, without '/'%s", t->text,
                       (vd->type->flags & VF_PIC)
                           ? " or ':' (it is used in PIC:LINE)"
                           : "");
            return;
        }
        free(vd->name);
        vd->name = xstrdup(p, t->text, &t->span);
        return;
    case VD_HOSTDEV:
        parse_hostdev(p, vd, d, t);
        return;
    default:
        break;
    }
    struct opt_val ov = {
        .def = d, .span = d->type == OPT_FLAG && !t ? vd->span : t->span};
    if (t && !parse_value(p, d, a, &ov))
        return;
    struct strbuf sb;
    sb_init(&sb);
    for (unsigned i = 0; i < nargs_of(d); i++)
        sb_printf(&sb, "%s%s", i ? " " : "", a[i]->text);
    ov.text = sb.s ? sb.s : strdup("");
    if (!ov.text)
        return;
    if (!(d->flags & OF_MULTI)) {
        for (size_t i = 0; i < vd->opts.n; i++) {
            if (vd->opts.v[i].def == d) {
                free(vd->opts.v[i].text);
                vd->opts.v[i] = ov;
                return;
            }
        }
    }
    struct opt_val *slot = VEC_PUSH(&vd->opts);
    if (!slot) {
        free(ov.text);
        return;
    }
    *slot = ov;
}

static void handle_ctx(struct parser *p, const struct opt_def *d,
                       struct token *t)
{
    char buf[64];
    char where[96];
    struct token *a[MAX_ARGS];
    snprintf(where, sizeof(where), "%s: ", ctx_label(p, buf, sizeof(buf)));
    if (!opt_status(p, d, t, where))
        return;
    if (!take_args(p, d, t, a))
        return;
    switch (p->ctx) {
    case CTX_CPU:
        ctx_cpu(p, d, a);
        break;
    case CTX_PASS:
        ctx_pass(p, d, a);
        break;
    case CTX_RESERVE:
        ctx_reserve(p, d, a);
        break;
    case CTX_VDEV:
        if (d->type == OPT_FLAG) {
            /* flags carry the option's own span */
            struct token flag = *t;
            a[0] = &flag;
            struct vdev_spec *vd = &p->spec->vdevs.v[p->ctx_index];
            for (size_t i = 0; i < vd->opts.n; i++)
                if (vd->opts.v[i].def == d)
                    return;
            struct opt_val *slot = VEC_PUSH(&vd->opts);
            if (slot) {
                slot->def = d;
                slot->text = strdup("");
                slot->span = t->span;
            }
            return;
        }
        ctx_vdev(p, d, a);
        break;
    default:
        break;
    }
}

/* ---- unknown words ------------------------------------------------------ */

/* Is w an option of some vdev type (any architecture)? */
static const struct opt_def *any_vdev_opt(const char *w)
{
    for (unsigned i = 0; vdev_types[i]; i++) {
        const struct opt_def *d = opt_find(vdev_types[i]->opts, w);
        if (d)
            return d;
    }
    return NULL;
}

static bool is_keyword(struct parser *p, const char *w)
{
    const struct opt_def *tab = ctx_table(p);
    return opt_find(top_opts, w) || (tab && opt_find(tab, w));
}

/* After an error: skip words until the next known keyword. */
static void skip_unknown_args(struct parser *p)
{
    while (p->pos < p->ntoks && !is_keyword(p, p->toks[p->pos].text))
        p->pos++;
}

static void unknown_word(struct parser *p, struct token *t)
{
    const char *w = t->text;
    char buf[64];
    const char *label = ctx_label(p, buf, sizeof(buf));
    const char *owner = NULL;
    if (opt_find(cpu_opts, w))
        owner = "cpu";
    else if (opt_find(pass_opts, w) || opt_find(reserve_opts, w))
        owner = "vdev, pass or reserve";
    else if (any_vdev_opt(w))
        owner = "vdev";
    if (owner && p->ctx == CTX_NONE) {
        diag_error(p->dg, &t->span,
                   "'%s' is outside its context: it must follow '%s'", w,
                   owner);
    } else if (owner) {
        diag_error(p->dg, &t->span, "'%s' is not an option of %s", w, label);
    } else {
        const char *names[128];
        unsigned n = 0;
        for (const struct opt_def *d = ctx_table(p); d && d->name && n < 64;
             d++)
            names[n++] = d->name;
        for (const struct opt_def *d = top_opts; d->name && n < 128; d++)
            names[n++] = d->name;
        const char *dym = did_you_mean(w, names, n);
        if (dym)
            diag_error(p->dg, &t->span,
                       "unknown option '%s' in %s (did you mean '%s'?)", w,
                       label, dym);
        else
            diag_error(p->dg, &t->span, "unknown option '%s' in %s", w, label);
    }
    skip_unknown_args(p);
}

static void parse_stream(struct parser *p)
{
    while (p->pos < p->ntoks) {
        struct token *t = &p->toks[p->pos++];
        if (t->bad)
            continue;
        const struct opt_def *tab = ctx_table(p);
        const struct opt_def *d = tab ? opt_find(tab, t->text) : NULL;
        if (d && !p->blob_pending) {
            handle_ctx(p, d, t);
            continue;
        }
        d = opt_find(top_opts, t->text);
        if (d) {
            handle_top(p, d, t);
            continue;
        }
        if (p->ctx == CTX_SKIP) {
            /* options of a vdev we already reported: consume quietly */
            const struct opt_def *vo = any_vdev_opt(t->text);
            if (vo) {
                struct token *a[MAX_ARGS];
                if (take_args(p, vo, t, a))
                    continue;
                continue;
            }
        }
        unknown_word(p, t);
    }
    if (p->blob_pending)
        diag_error(p->dg, &p->blob_span, "'%s' must be followed by 'load'",
                   blob_type_name(p->blob));
}

static void spec_keep_files(struct vm_spec *spec, struct lexer *lx)
{
    spec->span_files.v = lx->files.v;
    spec->span_files.n = lx->files.n;
    spec->span_files.cap = lx->files.cap;
    lx->files.v = NULL;
    lx->files.n = lx->files.cap = 0;
}

static bool build(struct lexer *lx, struct diag *dg, const struct cfg_env *env,
                  struct vm_spec *spec, struct cfg_result *res)
{
    struct cfg_result dummy = {0};
    struct parser p = {
        .toks = lx->toks.v,
        .ntoks = lx->toks.n,
        .dg = dg,
        .spec = spec,
        .env = env,
        .res = res ? res : &dummy,
        .ctx_index = -1,
    };
    memset(p.res, 0, sizeof(*p.res));
    parse_stream(&p);
    p.parse_errors = dg->errors;
    if (!p.res->list_set_vars)
        check_spec(&p);
    for (size_t i = 0; i < p.unresolved.n; i++)
        free(p.unresolved.v[i].name);
    VEC_FREE(&p.unresolved);
    VEC_FREE(&p.load_mem_n);
    return !diag_failed(dg);
}

bool cfg_build(int argc, const char *const *argv, const struct cfg_env *env,
               struct diag *dg, struct vm_spec *spec, struct cfg_result *res)
{
    struct lexer lx;
    lex_init(&lx, env, dg);
    lex_argv(&lx, argc, argv);
    bool ok = build(&lx, dg, env, spec, res);
    spec_keep_files(spec, &lx);
    lex_free(&lx);
    return ok;
}

bool cfg_build_buffer(const char *name, const char *data, size_t len,
                      const struct cfg_env *env, struct diag *dg,
                      struct vm_spec *spec, struct cfg_result *res)
{
    struct lexer lx;
    lex_init(&lx, env, dg);
    lex_buffer(&lx, name, data, len);
    bool ok = build(&lx, dg, env, spec, res);
    spec_keep_files(spec, &lx);
    lex_free(&lx);
    return ok;
}

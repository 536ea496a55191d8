/*
 * values.c: the argument grammar of every option type (schema.h enum
 * opt_type): numbers and sizes, locations (qvm-reference.md 3.2), interrupt
 * specifications (3.3), scheduling, MACs, log filters and the composite
 * forms. Each parser reports its own errors with the argument's span.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse_int.h"
#include "util/ckd.h"
#include "util/num.h"
char *xstrdup(struct parser *p, const char *s, const struct src_span *at)
{
    char *c = strdup(s ? s : "");
    if (!c)
        diag_error(p->dg, at, "out of memory");
    return c;
}

/* ---- small value parsers ------------------------------------------------ */

bool parse_u64(struct parser *p, const struct token *t, const char *what,
               const char *text, bool suffix, uint64_t *out)
{
    enum num_err e = num_parse(text, suffix, out);
    if (e == NUM_OK)
        return true;
    diag_error(p->dg, &t->span, "%s '%s' %s", what, text, num_strerror(e));
    return false;
}

static bool check_bounds(struct parser *p, const struct token *t,
                         const struct opt_def *d, uint64_t v)
{
    if (v < d->min || (d->max && v > d->max)) {
        diag_error(p->dg, &t->span,
                   "'%s' value %" PRIu64 " is out of range (%" PRIu64
                   "-%" PRIu64 ")",
                   d->name, v, d->min, d->max);
        return false;
    }
    return true;
}

/*
 * copy_text: s into buf (n bytes) for splitting in place. A value that does
 * not fit is an error (never silently cut: the cut text could parse).
 */
static bool copy_text(struct parser *p, const struct token *t, char *buf,
                      size_t n, const char *s)
{
    size_t len = strlen(s);
    if (len >= n) {
        diag_error(p->dg, &t->span, "'%s' is too long (at most %zu characters)",
                   t->text, n - 1);
        return false;
    }
    memcpy(buf, s, len + 1);
    return true;
}

/* Splits s at the first occurrence of c; returns the rest or NULL. */
char *split_at(char *s, char c)
{
    char *x = strchr(s, c);
    if (!x)
        return NULL;
    *x = '\0';
    return x + 1;
}

/* "B:D[.F]" */
static bool parse_bdf(struct parser *p, const struct token *t, const char *text,
                      struct bdf *out, bool *has_fn)
{
    char buf[64];
    if (!copy_text(p, t, buf, sizeof(buf), text))
        return false;
    char *dev = split_at(buf, ':');
    char *fn = dev ? split_at(dev, '.') : NULL;
    uint64_t b, d, f = 0;
    if (!dev || num_parse(buf, false, &b) || num_parse(dev, false, &d) ||
        (fn && num_parse(fn, false, &f))) {
        diag_error(p->dg, &t->span,
                   "'%s' is not a PCI address (write pci:BUS:DEV[.FUNC])",
                   text);
        return false;
    }
    if (b > 255 || d > 31 || f > 7) {
        diag_error(p->dg, &t->span,
                   "PCI address '%s' out of range (bus 0-255, device 0-31, "
                   "function 0-7)",
                   text);
        return false;
    }
    out->bus = (uint8_t)b;
    out->dev = (uint8_t)d;
    out->fn = (uint8_t)f;
    if (has_fn)
        *has_fn = fn != NULL;
    return true;
}

/* "VID/DID" */
/* VID/DID[/IDX]: IDX (default 0) picks among several host functions with
 * the same IDs. */
static bool parse_ids(const char *text, struct loc *out)
{
    char buf[64];
    size_t len = strlen(text);
    if (len >= sizeof(buf))
        return false;
    memcpy(buf, text, len + 1);
    char *d = split_at(buf, '/');
    char *ix = d ? split_at(d, '/') : NULL;
    uint64_t v, dd, i = 0;
    if (!d || num_parse(buf, false, &v) || num_parse(d, false, &dd) ||
        v > 0xffff || dd > 0xffff ||
        (ix && (num_parse(ix, false, &i) || i > 0xffff)))
        return false;
    out->vid = (uint16_t)v;
    out->did = (uint16_t)dd;
    out->idx = (uint16_t)i;
    return true;
}

static bool space_prefix(const char **s, enum space *sp)
{
    if (strncmp(*s, "mem:", 4) == 0) {
        *sp = SPACE_MEM;
        *s += 4;
    } else if (strncmp(*s, "io:", 3) == 0) {
        *sp = SPACE_IO;
        *s += 3;
    } else if (strncmp(*s, "pci:", 4) == 0) {
        *sp = SPACE_PCI;
        *s += 4;
    } else {
        return false;
    }
    return true;
}

static const char *space_word(enum space s)
{
    return s == SPACE_MEM ? "mem" : s == SPACE_IO ? "io" : "pci";
}

static bool parse_pci_loc(struct parser *p, const struct token *t,
                          const char *rest, enum loc_mode mode, struct loc *out)
{
    char buf[128];
    if (!copy_text(p, t, buf, sizeof(buf), rest))
        return false;
    char *host = split_at(buf, '=');
    if (mode == LOC_PASS && !host && strchr(buf, '/')) {
        out->by_id = true;
        if (!parse_ids(buf, out)) {
            diag_error(p->dg, &t->span,
                       "'%s' is not a PCI device ID pair (write "
                       "pci:VENDOR/DEVICE[/INDEX])",
                       rest);
            return false;
        }
        return true;
    }
    bool has_fn = false;
    if (!parse_bdf(p, t, buf, &out->bdf, &has_fn))
        return false;
    if (mode == LOC_RESERVE && !has_fn)
        out->size = 8; /* every function of the device */
    else
        out->size = 1;
    if (!host)
        return true;
    if (mode != LOC_PASS) {
        diag_error(p->dg, &t->span,
                   "'=' names a host device; it is only valid in 'pass loc'");
        return false;
    }
    if (strncmp(host, "pci:", 4) != 0) {
        diag_error(p->dg, &t->span,
                   "host side '%s' must be pci:B:D.F or pci:VENDOR/DEVICE",
                   host);
        return false;
    }
    host += 4;
    out->has_host = true;
    if (strchr(host, '/')) {
        out->by_id = true;
        if (!parse_ids(host, out)) {
            diag_error(p->dg, &t->span,
                       "'%s' is not a PCI device ID pair (write "
                       "pci:VENDOR/DEVICE[/INDEX])",
                       host);
            return false;
        }
        return true;
    }
    out->host_is_bdf = true;
    return parse_bdf(p, t, host, &out->host_bdf, NULL);
}

static bool attrs_valid(const char *a)
{
    for (; *a; a++)
        if (!strchr("+-rwxcemndst", *a))
            return false;
    return true;
}

void pass_attrs_parse(const char *attrs, struct pass_attrs *out)
{
    *out = (struct pass_attrs){.read = true, .write = true};
    if (!attrs || !*attrs)
        return;
    if (attrs[0] != '-')
        *out = (struct pass_attrs){0};
    bool add = true;
    for (const char *a = attrs; *a; a++) {
        switch (*a) {
        case '+':
            add = true;
            break;
        case '-':
            add = false;
            break;
        case 'r':
            out->read = add;
            break;
        case 'w':
            out->write = add;
            break;
        case 'c':
            out->cached = add;
            break;
        case 'n':
            out->cached = !add;
            break;
        default: /* x e m d s t: nothing on Linux (passthru.h) */
            break;
        }
    }
}

/*
 * parse_loc: a location (qvm-reference.md 2.9, 2.10, 3.2).
 *   vdev:    [mem:|io:]ADDR | pci:B:D[.F]
 *   reserve: [mem:]START,LENGTH | io:PORT[,LENGTH] | pci:B:D[.F]
 *   pass:    [mem:|io:]START,LENGTH[,ATTRS][=HOST] | pci:... (see above)
 */
bool parse_loc(struct parser *p, const struct token *t, enum loc_mode mode,
               const struct vdev_type *vt, struct loc *out)
{
    const char *s = t->text;
    memset(out, 0, sizeof(*out));
    out->space = vt ? vt->bare_space : SPACE_MEM;
    bool explicit_space = space_prefix(&s, &out->space);
    if (vt && !(vt->loc_spaces & (1u << out->space))) {
        diag_error(p->dg, &t->span,
                   "vdev '%s' cannot be placed in %s space (loc '%s')",
                   vt->name, space_word(out->space), t->text);
        return false;
    }
    if (out->space == SPACE_PCI)
        return parse_pci_loc(p, t, s, mode, out);
    (void)explicit_space;
    char buf[256];
    if (!copy_text(p, t, buf, sizeof(buf), s))
        return false;
    char *host = mode == LOC_PASS ? split_at(buf, '=') : NULL;
    char *len = split_at(buf, ',');
    char *attrs = len ? split_at(len, ',') : NULL;
    if (!parse_u64(p, t, "address", buf, true, &out->base))
        return false;
    if (mode == LOC_VDEV) {
        if (len) {
            diag_error(p->dg, &t->span,
                       "a vdev's loc is one address; the size of '%s' is "
                       "fixed",
                       vt ? vt->name : "a vdev");
            return false;
        }
        out->size = vt && vt->win_size ? vt->win_size : 1;
    } else if (len) {
        if (!parse_u64(p, t, "length", len, true, &out->size))
            return false;
    } else if (out->space == SPACE_IO && mode == LOC_RESERVE) {
        out->size = 1;
    } else {
        diag_error(p->dg, &t->span, "'%s' needs a length (START,LENGTH)",
                   t->text);
        return false;
    }
    if (attrs) {
        if (mode != LOC_PASS || strlen(attrs) >= sizeof(out->attrs) ||
            !attrs_valid(attrs)) {
            diag_error(p->dg, &t->span,
                       "bad attributes '%s' (letters + - r w x c e m n d s "
                       "t, in 'pass loc' only)",
                       attrs);
            return false;
        }
        snprintf(out->attrs, sizeof(out->attrs), "%s", attrs);
    }
    uint64_t last;
    if (!range_last(out->base, out->size, &last)) {
        diag_error(p->dg, &t->span, "'%s': %s", t->text,
                   out->size ? "range wraps past the end of the address "
                               "space"
                             : "length is zero");
        return false;
    }
    if (out->space == SPACE_IO && last > 0xffff) {
        diag_error(p->dg, &t->span, "I/O port range '%s' goes past port 0xffff",
                   t->text);
        return false;
    }
    if (host) {
        if (!parse_u64(p, t, "host address", host, true, &out->host_base))
            return false;
        out->has_host = true;
        uint64_t hlast;
        /* io: QNX passes ports at the same numbers; qvm also takes
         * =HOSTPORT (the guest's ports forward to those host ports). */
        if (out->space == SPACE_IO &&
            (!range_last(out->host_base, out->size, &hlast) ||
             hlast > 0xffff)) {
            diag_error(p->dg, &t->span,
                       "host I/O port range '%s' goes past port 0xffff",
                       t->text);
            return false;
        }
    }
    if (mode == LOC_PASS && out->space == SPACE_MEM) {
        uint64_t hb = out->has_host ? out->host_base : out->base;
        if ((hb | out->size | out->base) & 0xfff) {
            diag_error(p->dg, &t->span,
                       "pass-through memory '%s' must be page aligned "
                       "(start, host start and length multiples of 4K)",
                       t->text);
            return false;
        }
    }
    return true;
}

/* ---- interrupts ----------------------------------------------------- */

static int find_pic(struct parser *p, const char *name)
{
    for (size_t i = 0; i < p->spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &p->spec->vdevs.v[i];
        if ((vd->type->flags & VF_PIC) && vd->name &&
            strcmp(vd->name, name) == 0)
            return (int)i;
    }
    /* The ARM GIC is named `gic` whether or not it is configured. */
    if (p->spec->arch == ARCH_AARCH64 && strcmp(name, "gic") == 0) {
        for (size_t i = 0; i < p->spec->vdevs.n; i++)
            if (strcmp(p->spec->vdevs.v[i].type->name, "gic") == 0)
                return (int)i;
    }
    return PIC_UNRESOLVED;
}

static bool is_implicit_pic(struct parser *p, const char *name)
{
    return (p->spec->arch == ARCH_X86_64 && strcmp(name, "ioapic") == 0) ||
           (p->spec->arch == ARCH_AARCH64 && strcmp(name, "gic") == 0);
}

static uint32_t pic_line_count(struct parser *p, int pic)
{
    if (pic >= 0)
        return p->spec->vdevs.v[pic].type->pic_lines;
    return p->spec->arch == ARCH_AARCH64 ? 1020 : 24;
}

/* A pass intr's host source (qvm's extension): "uio:/dev/uioN",
 * "uio:uioN" (short for /dev/uioN) or "fd:N". */
static bool parse_intr_src(struct parser *p, const struct token *t,
                           const char *host, struct intr *out)
{
    if (host[0] == 'f') {
        uint64_t fd;
        if (!parse_u64(p, t, "descriptor", host + 3, false, &fd))
            return false;
        if (fd < 3 || fd > INT32_MAX) {
            diag_error(p->dg, &t->span,
                       "'%s': the descriptor must be an inherited one, 3 or "
                       "above (0-2 are qvm's standard input and output)",
                       host);
            return false;
        }
        out->src = INTR_SRC_FD;
        out->src_fd = (int)fd;
        return true;
    }
    const char *path = host + 4;
    int n =
        strchr(path, '/')
            ? snprintf(out->src_path, sizeof(out->src_path), "%s", path)
            : snprintf(out->src_path, sizeof(out->src_path), "/dev/%s", path);
    if (!*path || n < 0 || (size_t)n >= sizeof(out->src_path)) {
        diag_error(p->dg, &t->span,
                   "'%s': give a UIO device, e.g. uio:/dev/uio0 or uio:uio0",
                   host);
        return false;
    }
    out->src = INTR_SRC_UIO;
    return true;
}

/* One "PIC:LINE" item (pass: "PIC:LINE[=HOST]", ",u" handled by caller). */
static bool parse_one_intr(struct parser *p, const struct token *t, char *item,
                           bool allow_apic, bool pass, struct intr *out,
                           char **unresolved_name)
{
    memset(out, 0, sizeof(*out));
    out->span = t->span;
    *unresolved_name = NULL;
    char *host = pass ? split_at(item, '=') : NULL;
    if (strcmp(item, "apic") == 0) {
        if (!allow_apic) {
            diag_error(p->dg, &t->span,
                       "'intr apic' is only valid on a vdev ioapic (it names "
                       "the local APICs downstream)");
            return false;
        }
        out->pic = PIC_APIC;
        return true;
    }
    char *line = split_at(item, ':');
    if (!line || !*item) {
        diag_error(p->dg, &t->span,
                   "interrupt '%s' must be written PIC:LINE (e.g. "
                   "myioapic:4%s)",
                   item, p->spec->arch == ARCH_AARCH64 ? ", gic:37" : "");
        return false;
    }
    uint64_t n;
    if (!parse_u64(p, t, "interrupt line", line, false, &n))
        return false;
    out->pic = find_pic(p, item);
    if (out->pic == PIC_UNRESOLVED && is_implicit_pic(p, item))
        out->pic = PIC_IMPLICIT;
    uint32_t lines = pic_line_count(p, out->pic);
    if (out->pic == PIC_UNRESOLVED) {
        *unresolved_name = item;
    } else if (n >= lines) {
        diag_error(p->dg, &t->span,
                   "interrupt line %" PRIu64 " does not exist on '%s' "
                   "(lines 0-%u)",
                   n, item, lines - 1);
        return false;
    }
    if (p->spec->arch == ARCH_AARCH64 && out->pic != PIC_UNRESOLVED &&
        strcmp(item, "gic") == 0 && n < 32 && !pass) {
        diag_error(p->dg, &t->span,
                   "gic:%" PRIu64 " is not a shared peripheral interrupt "
                   "(device interrupts are gic:32 to gic:1019)",
                   n);
        return false;
    }
    out->line = (uint32_t)n;
    if (host && (strncmp(host, "uio:", 4) == 0 || strncmp(host, "fd:", 3) == 0))
        return parse_intr_src(p, t, host, out);
    if (host) {
        uint64_t hv;
        if (!parse_u64(p, t, "host vector", host, false, &hv))
            return false;
        if (hv > UINT32_MAX) {
            diag_error(p->dg, &t->span, "host vector '%s' is too large", host);
            return false;
        }
        out->has_host = true;
        out->host_vector = (uint32_t)hv;
    }
    return true;
}

/* Parses an intr list into a vector; records unresolved names. */
#define INTR_VEC VEC(struct intr)
bool parse_intrs(struct parser *p, const struct token *t, bool allow_apic,
                 bool pass, void *vecp, int vdev, int passi)
{
    INTR_VEC *vec = vecp;
    char *buf = xstrdup(p, t->text, &t->span);
    if (!buf)
        return false;
    bool ok = true;
    char *save = NULL;
    struct intr *prev = NULL;
    for (char *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        if (pass && prev &&
            (strcmp(item, "u") == 0 || strncmp(item, "u=", 2) == 0)) {
            prev->unmask_u = true;
            if (item[1] == '=') {
                uint64_t hv;
                if (!parse_u64(p, t, "host vector", item + 2, false, &hv)) {
                    ok = false;
                    continue;
                }
                prev->has_host = true;
                prev->host_vector = (uint32_t)hv;
            }
            continue;
        }
        struct intr it;
        char *unres;
        if (!parse_one_intr(p, t, item, allow_apic, pass, &it, &unres)) {
            ok = false;
            prev = NULL;
            continue;
        }
        struct intr *slot = VEC_PUSH(vec);
        if (!slot) {
            diag_error(p->dg, &t->span, "out of memory");
            ok = false;
            break;
        }
        *slot = it;
        prev = slot;
        if (unres) {
            struct unresolved *u = VEC_PUSH(&p->unresolved);
            char *nm = xstrdup(p, unres, &t->span);
            if (!u || !nm) {
                free(nm);
                ok = false;
                break;
            }
            u->name = nm;
            u->vdev = vdev;
            u->pass = passi;
            u->index = vec->n - 1;
            u->span = t->span;
        }
    }
    free(buf);
    return ok;
}

/* ---- typed option values ------------------------------------------------ */

bool parse_sched(struct parser *p, const struct token *t, struct sched_spec *s)
{
    char buf[128];
    if (!copy_text(p, t, buf, sizeof(buf), t->text))
        return false;
    memset(s, 0, sizeof(*s));
    if (strchr(buf, ',')) {
        size_t n = strlen(buf);
        if (n && (buf[n - 1] == 's' || buf[n - 1] == 'S'))
            buf[n - 1] = '\0';
        uint64_t v[5];
        unsigned k = 0;
        char *save = NULL;
        for (char *x = strtok_r(buf, ",", &save); x;
             x = strtok_r(NULL, ",", &save)) {
            if (k == 5 || num_parse(x, false, &v[k]) != NUM_OK)
                goto bad;
            k++;
        }
        if (k != 5 || v[0] == 0 || v[0] > 255 || v[1] > v[0])
            goto bad;
        s->policy = SCHED_P_SPORADIC;
        s->prio = (uint32_t)v[0];
        s->lo_prio = (uint32_t)v[1];
        s->max_repl = (uint32_t)v[2];
        s->repl_period_ns = v[3];
        s->init_budget_ns = v[4];
        return true;
    }
    size_t n = strlen(buf);
    s->policy = SCHED_P_RR;
    if (n && strchr("rfoRFO", buf[n - 1])) {
        char c = (char)tolower((unsigned char)buf[n - 1]);
        s->policy = c == 'f'   ? SCHED_P_FIFO
                    : c == 'o' ? SCHED_P_OTHER
                               : SCHED_P_RR;
        buf[n - 1] = '\0';
    }
    uint64_t prio;
    if (num_parse(buf, false, &prio) != NUM_OK || prio == 0 || prio > 255)
        goto bad;
    s->prio = (uint32_t)prio;
    return true;
bad:
    diag_error(p->dg, &t->span,
               "'sched %s' is not PRIO[r|f|o] (PRIO 1-255) or "
               "HI,LO,MAXREPL,PERIOD,BUDGET",
               t->text);
    return false;
}

bool parse_cpulist(struct parser *p, const struct token *t, uint64_t mask[4])
{
    char buf[512];
    if (!copy_text(p, t, buf, sizeof(buf), t->text))
        return false;
    memset(mask, 0, 4 * sizeof(uint64_t));
    char *save = NULL;
    bool any = false;
    for (char *x = strtok_r(buf, ",", &save); x;
         x = strtok_r(NULL, ",", &save)) {
        uint64_t c;
        if (num_parse(x, false, &c) != NUM_OK || c > 255) {
            diag_error(p->dg, &t->span,
                       "runmask '%s': '%s' is not a host CPU number (0-255)",
                       t->text, x);
            return false;
        }
        mask[c / 64] |= 1ULL << (c % 64);
        any = true;
    }
    if (!any)
        diag_error(p->dg, &t->span, "runmask '%s' names no CPU", t->text);
    return any;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char extra;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &extra) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return strlen(s) == 17;
}

bool parse_log(struct parser *p, const struct token *ft, const struct token *dt,
               uint64_t *mask, uint64_t *dest)
{
    char buf[256];
    if (!copy_text(p, ft, buf, sizeof(buf), ft->text))
        return false;
    *mask = 0;
    char *save = NULL;
    bool ok = true;
    for (char *x = strtok_r(buf, ",", &save); x;
         x = strtok_r(NULL, ",", &save)) {
        unsigned i;
        for (i = 0; log_filter_names[i]; i++)
            if (strcmp(log_filter_names[i], x) == 0)
                break;
        if (!log_filter_names[i]) {
            const char *dym = did_you_mean(x, log_filter_names, 99);
            diag_error(p->dg, &ft->span,
                       "unknown log class '%s'%s%s%s (classes: fatal, "
                       "internal, error, warn, info, debug, verbose)",
                       x, dym ? " (did you mean '" : "", dym ? dym : "",
                       dym ? "'?)" : "");
            ok = false;
            continue;
        }
        *mask |= 1u << i;
    }
    static const char *const dests[] = {"none", "stdout", "stderr", "slog",
                                        NULL};
    unsigned d;
    for (d = 0; dests[d]; d++)
        if (strcmp(dests[d], dt->text) == 0)
            break;
    if (!dests[d]) {
        diag_error(p->dg, &dt->span,
                   "unknown log destination '%s' (stdout, stderr, slog or "
                   "none)",
                   dt->text);
        return false;
    }
    *dest = d;
    return ok;
}

/* Type-checks the argument words of a generic option into `out`. */
bool parse_value(struct parser *p, const struct opt_def *d,
                 struct token *const *a, struct opt_val *out)
{
    const struct token *t = a[0];
    char buf[512];
    switch (d->type) {
    case OPT_FLAG:
        return true;
    case OPT_NUM:
    case OPT_SIZE:
        return parse_u64(p, t, d->name, t->text, d->type == OPT_SIZE,
                         &out->num) &&
               check_bounds(p, t, d, out->num);
    case OPT_BOOL: {
        bool b;
        if (!bool_parse(t->text, &b)) {
            diag_error(p->dg, &t->span,
                       "'%s' takes on/off (yes/no, true/false, 1/0), not "
                       "'%s'",
                       d->name, t->text);
            return false;
        }
        out->num = b;
        return true;
    }
    case OPT_ENUM:
        for (unsigned i = 0; d->choices[i]; i++) {
            if (strcmp(d->choices[i], t->text) == 0) {
                out->num = i;
                return true;
            }
        }
        snprintf(buf, sizeof(buf), "%s", d->choices[0]);
        for (unsigned i = 1; d->choices[i]; i++)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ", %s",
                     d->choices[i]);
        diag_error(p->dg, &t->span, "'%s' must be one of: %s, not '%s'",
                   d->name, buf, t->text);
        return false;
    case OPT_STR:
    case OPT_NAME:
    case OPT_HOSTPATH:
    case OPT_PEER:
    case OPT_GID:
        if (!t->text[0]) {
            diag_error(p->dg, &t->span, "'%s' needs a non-empty value",
                       d->name);
            return false;
        }
        if (d->type == OPT_PEER &&
            strncmp(t->text, "/dev/vdevpeers/", 15) != 0 &&
            strncmp(t->text, "/dev/qvm/", 9) != 0) {
            diag_error(p->dg, &t->span,
                       "peer '%s' must be /dev/vdevpeers/NAME (a tap "
                       "interface) or /dev/qvm/SYSTEM/NAME (another qvm)",
                       t->text);
            return false;
        }
        if (d->type == OPT_PEER &&
            strncmp(t->text, "/dev/vdevpeers/", 15) == 0) {
            size_t n = strlen(t->text + 15);
            if (n == 0 || n > 15 || strchr(t->text + 15, '/')) {
                diag_error(p->dg, &t->span,
                           "tap interface name '%s' must be 1-15 "
                           "characters without '/'",
                           t->text + 15);
                return false;
            }
        }
        if (d->type == OPT_PEER && strncmp(t->text, "/dev/qvm/", 9) == 0) {
            const char *sys = t->text + 9, *sl = strchr(sys, '/');
            if (!sl || sl == sys || !sl[1] || strchr(sl + 1, '/')) {
                diag_error(p->dg, &t->span,
                           "peer '%s' must be /dev/qvm/SYSTEM/NAME", t->text);
                return false;
            }
        }
        return true;
    case OPT_DELAYED:
        if (strcmp(t->text, "forever") == 0) {
            out->num = UINT64_MAX;
            return true;
        }
        return parse_u64(p, t, "delayed", t->text, false, &out->num);
    case OPT_CMOS_REG: {
        if (!copy_text(p, t, buf, sizeof(buf), t->text))
            return false;
        char *val = split_at(buf, ',');
        if (!val || num_parse(buf, false, &out->num) ||
            num_parse(val, false, &out->num2) || out->num > 127 ||
            out->num2 > 255) {
            diag_error(p->dg, &t->span,
                       "'reg %s' must be INDEX,VALUE (index 0-127, value "
                       "0-255)",
                       t->text);
            return false;
        }
        return true;
    }
    case OPT_PCI_REG: {
        if (!copy_text(p, t, buf, sizeof(buf), t->text))
            return false;
        char *sz = split_at(buf, '/');
        char *val = sz ? split_at(sz, '=') : NULL;
        uint64_t off, size, v;
        if (!val || num_parse(buf, false, &off) ||
            num_parse(sz, false, &size) || num_parse(val, false, &v) ||
            (size != 1 && size != 2 && size != 4 && size != 8 &&
             !(size == 3 && off == 9)) ||
            (size != 3 && off % size) || !range_within(off, size, 0x40) ||
            (size < 8 && v >> (size * 8))) {
            diag_error(p->dg, &t->span,
                       "'reg %s' must be OFFSET/SIZE=VALUE (size 1, 2, 4 or "
                       "8, aligned, or 0x09/3 for the class code; within "
                       "the 64-byte header, value fits)",
                       t->text);
            return false;
        }
        out->num = off;
        out->num2 = size;
        out->num3 = v;
        return true;
    }
    case OPT_SHM_CREATE: {
        if (!copy_text(p, t, buf, sizeof(buf), t->text))
            return false;
        char *size = split_at(buf, ',');
        char *mode = size ? split_at(size, ',') : NULL;
        char *gid = mode ? split_at(mode, ',') : NULL;
        uint64_t m = 0666;
        if (!size || !buf[0] || strlen(buf) > 31 ||
            num_parse(size, true, &out->num) || out->num == 0 ||
            (mode && (!*mode || strspn(mode, "01234567") != strlen(mode) ||
                      (m = strtoull(mode, NULL, 8)) > 0777)) ||
            (gid && !gid[0])) {
            diag_error(p->dg, &t->span,
                       "'create %s' must be NAME,SIZE[,MODE[,GID]] (name "
                       "1-31 characters, size > 0, mode octal)",
                       t->text);
            return false;
        }
        out->num2 = m;
        return true;
    }
    case OPT_WDT_ACTION: {
        if (!copy_text(p, t, buf, sizeof(buf), t->text))
            return false;
        char *x = buf;
        out->num2 = 0;
        if (strncmp(x, "dump,", 5) == 0) {
            out->num2 = 1;
            x += 5;
        }
        if (strcmp(x, "terminate") == 0) {
            out->num = 0;
            return true;
        }
        if (strcmp(x, "fiq") == 0) {
            out->num = 1;
            return true;
        }
        diag_error(p->dg, &t->span,
                   "'action %s' must be [dump,]terminate or [dump,]fiq",
                   t->text);
        return false;
    }
    case OPT_NUM_LIST: {
        if (!copy_text(p, t, buf, sizeof(buf), t->text))
            return false;
        uint64_t v[3] = {0};
        unsigned k = 0;
        char *save = NULL;
        for (char *x = strtok_r(buf, ",", &save); x;
             x = strtok_r(NULL, ",", &save)) {
            if (k == d->nlist || num_parse(x, true, &v[k]) != NUM_OK) {
                diag_error(p->dg, &t->span, "'%s %s' must be %s", d->name,
                           t->text, d->syntax);
                return false;
            }
            k++;
        }
        out->num = v[0];
        out->num2 = v[1];
        out->num3 = v[2];
        if (d->nlist == 3 && k != 3) {
            diag_error(p->dg, &t->span, "'%s %s' must be %s", d->name, t->text,
                       d->syntax);
            return false;
        }
        return true;
    }
    case OPT_BDF: {
        struct bdf b;
        if (strncmp(t->text, "pci:", 4) != 0) {
            diag_error(p->dg, &t->span, "'%s %s' must be pci:B:D.F", d->name,
                       t->text);
            return false;
        }
        if (!parse_bdf(p, t, t->text + 4, &b, NULL))
            return false;
        out->num = (uint64_t)b.bus << 8 | b.dev << 3 | b.fn;
        return true;
    }
    case OPT_MAC: {
        uint8_t mac[6];
        if (!parse_mac(t->text, mac)) {
            diag_error(p->dg, &t->span,
                       "'%s' is not a MAC address (XX:XX:XX:XX:XX:XX)",
                       t->text);
            return false;
        }
        if (mac[0] & 1) {
            diag_error(p->dg, &t->span,
                       "MAC %s is a multicast address; a NIC needs a "
                       "unicast one (first byte even)",
                       t->text);
            return false;
        }
        for (int i = 0; i < 6; i++)
            out->num = out->num << 8 | mac[i];
        return true;
    }
    case OPT_LOG:
        return parse_log(p, a[0], a[1], &out->num, &out->num2);
    case OPT_MODE:
        if (!t->text[0] || strspn(t->text, "01234567") != strlen(t->text) ||
            (out->num = strtoull(t->text, NULL, 8)) > 0777) {
            diag_error(p->dg, &t->span,
                       "'%s %s' must be octal permission bits (0-0777)",
                       d->name, t->text);
            return false;
        }
        return true;
    case OPT_SUBST:
        if (!strchr(t->text, ',') || t->text[strlen(t->text) - 1] == ',') {
            diag_error(p->dg, &t->span, "'subst %s' must be [ORIGINAL],PREFIX",
                       t->text);
            return false;
        }
        return true;
    case OPT_SCHED: {
        struct sched_spec s;
        if (!parse_sched(p, t, &s))
            return false;
        out->num = s.prio;
        out->num2 = s.policy;
        return true;
    }
    case OPT_CPULIST:
    case OPT_LOC:
    case OPT_INTR:
    case OPT_HOSTDEV:
        break;
    }
    return true;
}

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

static char *xstrdup(struct parser *p, const char *s, const struct src_span *at)
{
    char *c = strdup(s ? s : "");
    if (!c)
        diag_error(p->dg, at, "out of memory");
    return c;
}

/* ---- small value parsers ------------------------------------------------ */

static bool parse_u64(struct parser *p, const struct token *t, const char *what,
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

/* Splits s at the first occurrence of c; returns the rest or NULL. */
static char *split_at(char *s, char c)
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
    snprintf(buf, sizeof(buf), "%s", text);
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
static bool parse_ids(const char *text, uint16_t *vid, uint16_t *did)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", text);
    char *d = split_at(buf, '/');
    uint64_t v, dd;
    if (!d || num_parse(buf, false, &v) || num_parse(d, false, &dd) ||
        v > 0xffff || dd > 0xffff)
        return false;
    *vid = (uint16_t)v;
    *did = (uint16_t)dd;
    return true;
}

enum loc_mode { LOC_VDEV, LOC_PASS, LOC_RESERVE };

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
    snprintf(buf, sizeof(buf), "%s", rest);
    char *host = split_at(buf, '=');
    if (mode == LOC_PASS && !host && strchr(buf, '/')) {
        out->by_id = true;
        if (!parse_ids(buf, &out->vid, &out->did)) {
            diag_error(p->dg, &t->span,
                       "'%s' is not a PCI device ID pair (write "
                       "pci:VENDOR/DEVICE)",
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
        if (!parse_ids(host, &out->vid, &out->did)) {
            diag_error(p->dg, &t->span,
                       "'%s' is not a PCI device ID pair (write "
                       "pci:VENDOR/DEVICE)",
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

/*
 * parse_loc: a location (qvm-reference.md 2.9, 2.10, 3.2).
 *   vdev:    [mem:|io:]ADDR | pci:B:D[.F]
 *   reserve: [mem:]START,LENGTH | io:PORT[,LENGTH] | pci:B:D[.F]
 *   pass:    [mem:|io:]START,LENGTH[,ATTRS][=HOST] | pci:... (see above)
 */
static bool parse_loc(struct parser *p, const struct token *t,
                      enum loc_mode mode, const struct vdev_type *vt,
                      struct loc *out)
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
    snprintf(buf, sizeof(buf), "%s", s);
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
                       vt->name);
            return false;
        }
        out->size = vt->win_size ? vt->win_size : 1;
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
        if (out->space == SPACE_IO) {
            diag_error(p->dg, &t->span,
                       "'=HOST' is meaningless for I/O ports (they pass "
                       "through at the same numbers)");
            return false;
        }
        if (!parse_u64(p, t, "host address", host, true, &out->host_base))
            return false;
        out->has_host = true;
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

const char *pic_label(const struct parser *p, int pic)
{
    return spec_pic_label(p->spec, pic);
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
static bool parse_intrs(struct parser *p, const struct token *t,
                        bool allow_apic, bool pass, void *vecp, int vdev,
                        int passi)
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

static bool parse_sched(struct parser *p, const struct token *t,
                        struct sched_spec *s)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", t->text);
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

static bool parse_cpulist(struct parser *p, const struct token *t,
                          uint64_t mask[4])
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", t->text);
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

static bool parse_log(struct parser *p, const struct token *ft,
                      const struct token *dt, uint64_t *mask, uint64_t *dest)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", ft->text);
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
static bool parse_value(struct parser *p, const struct opt_def *d,
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
        snprintf(buf, sizeof(buf), "%s", t->text);
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
        snprintf(buf, sizeof(buf), "%s", t->text);
        char *sz = split_at(buf, '/');
        char *val = sz ? split_at(sz, '=') : NULL;
        uint64_t off, size, v;
        if (!val || num_parse(buf, false, &off) ||
            num_parse(sz, false, &size) || num_parse(val, false, &v) ||
            (size != 1 && size != 2 && size != 4 && size != 8 &&
             !(size == 3 && off == 9)) ||
            (size != 3 && off % size) || off + size > 0x40 ||
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
        snprintf(buf, sizeof(buf), "%s", t->text);
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
        snprintf(buf, sizeof(buf), "%s", t->text);
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
        snprintf(buf, sizeof(buf), "%s", t->text);
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

/* Takes the argument words of option d (at token t); false if missing. */
static bool take_args(struct parser *p, const struct opt_def *d,
                      const struct token *t, struct token **a)
{
    unsigned n = nargs_of(d);
    bool bad = false;
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

static void top_vdev(struct parser *p, const struct token *cmd,
                     const struct token *t)
{
    p->ctx = CTX_SKIP;
    const struct vdev_type *vt = vdev_type_find(t->text);
    if (!vt) {
        const char *names[64];
        unsigned n = 0;
        for (; vdev_types[n] && n < 64; n++)
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
                diag_error(p->dg, &t->span, "only one vdev '%s' is allowed",
                           vt->name);
                diag_note(p->dg, &p->spec->vdevs.v[i].span,
                          "the first '%s' is here", vt->name);
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
        for (; set_vars[n].name && n < 64; n++)
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
    struct token *a[2] = {0};
    if (p->blob_pending && d->id != TOP_LOAD && d->id != TOP_PASS) {
        diag_error(p->dg, &p->blob_span,
                   "'%s' must be followed by 'load' (or 'pass')",
                   blob_type_name(p->blob));
        p->blob_pending = false;
    }
    if (d->id == TOP_SYSTEM) {
        if (p->seen_system) {
            diag_error(p->dg, &t->span, "'system' is given twice");
            diag_note(p->dg, &p->system_span, "the first 'system' is here");
        } else if (t != &p->toks[0]) {
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
        if (!p->seen_system) {
            p->seen_system = true;
            p->system_span = t->span;
            if (strchr(a[0]->text, '/') || !a[0]->text[0])
                diag_error(p->dg, &a[0]->span,
                           "system name '%s' must be non-empty and contain "
                           "no '/'",
                           a[0]->text);
            else
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
        if (parse_value(p, d, a, &ov))
            p->spec->tolerance_us = ov.num;
        break;
    }
    case TOP_SAFETY: {
        struct opt_val ov = {0};
        if (!parse_value(p, d, a, &ov))
            break;
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
    struct token *a[2] = {0};
    snprintf(where, sizeof(where), "%s: ", ctx_label(p, buf, sizeof(buf)));
    if (!opt_status(p, d, t, where))
        return;
    if (!take_args(p, d, t, a))
        return;
    if (d->type == OPT_FLAG)
        a[0] = NULL;
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
                struct token *a[2];
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
    struct cfg_result dummy;
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

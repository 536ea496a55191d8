/*
 * test_schema_walk.c: nothing in the configuration language is silently
 * ignored. Walks every top-level option, every `cpu`, `pass` and `reserve`
 * option, every `set` variable, every vdev type and every option of every
 * vdev type in the schema (src/config/schema.c) and checks that each one
 *
 *   - is rejected: OF_REJECTED / VF_REJECT, or only for the other
 *     architecture (aarch64 guests have no back end here): a configuration
 *     using it is an error that says why; or
 *   - is warned about: OF_IGNORED / VF_IGNORE: a configuration using it
 *     builds with a warning that says why (and what happens instead); or
 *   - works: tests/unit/option-tests.txt names the test(s) that exercise it
 *     (unit test functions, golden configurations, VM cases, real-guest
 *     cases), and each named test exists.
 *
 * A new option with neither a flag nor a row fails here, and so does a row
 * for an option the schema no longer has, or that is flagged (its status
 * is the flag's), or whose test is gone. See option-tests.txt's header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config/front.h"
#include "config/schema.h"
#include "fake_env.h"

#ifndef QVM_SOURCE_ROOT
#error "QVM_SOURCE_ROOT: the source tree (tests/meson.build defines it)"
#endif

static char elf64[64] = "\x7f"
                        "ELF\x02\x01\x01";
static const struct fake_file files[] = {
    {.path = "g.elf", .data = elf64, .len = sizeof(elf64)},
    {.path = "disk.img", .data = "disk"},
    {0},
};

/* ---- the table ----------------------------------------------------------- */

struct row {
    char ctx[48], opt[48];
    char ev[8][96];
    unsigned nev, line;
    bool used;
};
static struct row rows[512];
static unsigned nrows;
static char failures[65536];
static unsigned nfail;

static void failf(const char *fmt, ...) PRINTF_FMT(1, 2);
static void failf(const char *fmt, ...)
{
    size_t n = strlen(failures);
    va_list ap;
    va_start(ap, fmt);
    if (n < sizeof(failures) - 2) {
        vsnprintf(failures + n, sizeof(failures) - n - 1, fmt, ap);
        strcat(failures, "\n");
    }
    va_end(ap);
    nfail++;
}

static void read_table(void)
{
    const char *path = QVM_SOURCE_ROOT "/tests/unit/option-tests.txt";
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char line[1024];
    unsigned ln = 0;
    while (fgets(line, sizeof(line), f)) {
        ln++;
        char *h = strchr(line, '#');
        if (h)
            *h = 0;
        char *save = NULL, *w = strtok_r(line, " \t\r\n", &save);
        if (!w)
            continue;
        if (nrows == sizeof(rows) / sizeof(rows[0]))
            fail_msg("option-tests.txt: too many rows");
        struct row *r = &rows[nrows++];
        memset(r, 0, sizeof(*r));
        r->line = ln;
        snprintf(r->ctx, sizeof(r->ctx), "%s", w);
        w = strtok_r(NULL, " \t\r\n", &save);
        if (!w)
            fail_msg("option-tests.txt:%u: CONTEXT OPTION TEST...", ln);
        snprintf(r->opt, sizeof(r->opt), "%s", w);
        while ((w = strtok_r(NULL, " \t\r\n", &save)) && r->nev < 8)
            snprintf(r->ev[r->nev++], sizeof(r->ev[0]), "%s", w);
    }
    fclose(f);
}

static struct row *find_row(const char *ctx, const char *opt)
{
    for (unsigned i = 0; i < nrows; i++)
        if (strcmp(rows[i].ctx, ctx) == 0 && strcmp(rows[i].opt, opt) == 0)
            return &rows[i];
    return NULL;
}

/* ---- evidence ------------------------------------------------------------ */

static char *slurp(const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", QVM_SOURCE_ROOT, rel);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, k;
    char tmp[4096];
    while ((k = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (n + k + 1 > cap) {
            cap = (n + k + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        memcpy(buf + n, tmp, k);
        n += k;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    else
        buf[n] = 0;
    return buf;
}

/* word as a whole identifier in text */
static bool has_ident(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strstr(p, word)) != NULL; p += n) {
        char b = p == text ? ' ' : p[-1], a = p[n];
        bool ib = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                  (b >= '0' && b <= '9') || b == '_';
        bool ia = (a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z') ||
                  (a >= '0' && a <= '9') || a == '_';
        if (!ib && !ia)
            return true;
    }
    return false;
}

/* Is this line in the list file (one name per line, # comments)? */
static bool listed(const char *rel, const char *name)
{
    char *t = slurp(rel);
    bool ok = false;
    for (char *save = NULL, *l = t ? strtok_r(t, "\n", &save) : NULL; l;
         l = strtok_r(NULL, "\n", &save)) {
        char *h = strchr(l, '#');
        if (h)
            *h = 0;
        char w[128];
        if (sscanf(l, "%127s", w) == 1 && strcmp(w, name) == 0)
            ok = true;
    }
    free(t);
    return ok;
}

/*
 * One piece of evidence:
 *   unit:FILE:FUNCTION   tests/unit/FILE defines FUNCTION (and meson builds
 *                        FILE into a unit test)
 *   golden:good/NAME     tests/configs/good/NAME.qvmconf (or bad/) exists
 *                        and uses the option's word
 *   vm:CASE              tests/vm/cases/CASE.sh exists
 *   realguest:CASE       tests/realguests/cases/CASE.sh exists and is listed
 *                        in tests/realguests/enabled
 *   script:PATH          a test script (tests/PATH) that meson runs
 */
static void check_evidence(const struct row *r, const char *ev,
                           const char *word)
{
    char rel[256], a[96], b[96];
    if (sscanf(ev, "unit:%95[^:]:%95s", a, b) == 2) {
        snprintf(rel, sizeof(rel), "tests/unit/%s", a);
        char *t = slurp(rel);
        char *m = slurp("tests/meson.build");
        if (!t)
            failf("option-tests.txt:%u: %s: no %s", r->line, ev, rel);
        else if (!has_ident(t, b))
            failf("option-tests.txt:%u: %s: %s has no '%s'", r->line, ev, rel,
                  b);
        if (m && !strstr(m, a))
            failf("option-tests.txt:%u: %s: tests/meson.build does not "
                  "build %s",
                  r->line, ev, a);
        free(t);
        free(m);
        return;
    }
    if (strncmp(ev, "golden:", 7) == 0) {
        snprintf(rel, sizeof(rel), "tests/configs/%s.qvmconf", ev + 7);
        char *t = slurp(rel);
        if (!t)
            failf("option-tests.txt:%u: %s: no %s", r->line, ev, rel);
        else if (word && !has_ident(t, word))
            failf("option-tests.txt:%u: %s: %s does not use '%s'", r->line, ev,
                  rel, word);
        free(t);
        return;
    }
    if (strncmp(ev, "vm:", 3) == 0) {
        snprintf(rel, sizeof(rel), "tests/vm/cases/%s.sh", ev + 3);
        char *t = slurp(rel);
        if (!t)
            failf("option-tests.txt:%u: %s: no %s", r->line, ev, rel);
        free(t);
        return;
    }
    if (strncmp(ev, "realguest:", 10) == 0) {
        snprintf(rel, sizeof(rel), "tests/realguests/cases/%s.sh", ev + 10);
        char *t = slurp(rel);
        if (!t)
            failf("option-tests.txt:%u: %s: no %s", r->line, ev, rel);
        else if (!listed("tests/realguests/enabled", ev + 10))
            failf("option-tests.txt:%u: %s: not in tests/realguests/enabled",
                  r->line, ev);
        free(t);
        return;
    }
    if (strncmp(ev, "script:", 7) == 0) {
        snprintf(rel, sizeof(rel), "tests/%s", ev + 7);
        char *t = slurp(rel);
        char *m = slurp("tests/meson.build");
        const char *base = strrchr(ev + 7, '/');
        if (!t)
            failf("option-tests.txt:%u: %s: no %s", r->line, ev, rel);
        if (m && !strstr(m, base ? base + 1 : ev + 7))
            failf("option-tests.txt:%u: %s: tests/meson.build does not run "
                  "it",
                  r->line, ev);
        free(t);
        free(m);
        return;
    }
    failf("option-tests.txt:%u: '%s': evidence is unit:FILE:FUNC, "
          "golden:good/NAME, vm:CASE, realguest:CASE or script:PATH",
          r->line, ev);
}

/* An option that works: its row, with evidence. */
static void expect_row(const char *ctx, const char *opt, const char *word)
{
    struct row *r = find_row(ctx, opt);
    if (!r) {
        failf("%s '%s' is accepted and not flagged: add a row '%s %s TEST...' "
              "to tests/unit/option-tests.txt naming the test(s) of its "
              "effect, or flag it OF_IGNORED/OF_REJECTED with a `why`",
              ctx, opt, ctx, opt);
        return;
    }
    r->used = true;
    if (r->nev == 0)
        failf("option-tests.txt:%u: %s %s names no test", r->line, ctx, opt);
    for (unsigned i = 0; i < r->nev; i++)
        check_evidence(r, r->ev[i], word);
}

/* A flagged option has no row: its status is the flag's. */
static void expect_no_row(const char *ctx, const char *opt, const char *why)
{
    struct row *r = find_row(ctx, opt);
    if (r) {
        r->used = true;
        failf("option-tests.txt:%u: %s %s is %s in the schema: remove the "
              "row (or the flag)",
              r->line, ctx, opt, why);
    }
}

/* ---- rejected / warned: the diagnostic a configuration gets ------------- */

static struct vm_spec spec;
static struct diag dg;
static char *msgs;
static size_t msgs_len;

static bool build(const char *text)
{
    spec_free(&spec);
    spec_init(&spec, ARCH_X86_64);
    free(msgs);
    msgs = NULL;
    FILE *f = open_memstream(&msgs, &msgs_len);
    diag_init(&dg, f);
    bool ok = cfg_build_buffer("t", text, strlen(text), fake_env(files), &dg,
                               &spec, NULL);
    fclose(f);
    return ok;
}

/* A value of the option's type that the parser accepts. */
static const char *sample(const struct opt_def *d)
{
    switch (d->type) {
    case OPT_FLAG:
        return "";
    case OPT_NUM:
        return d->min > 32 ? "14318180" : "32";
    case OPT_SIZE:
        return "0x1000";
    case OPT_BOOL:
        return "on";
    case OPT_ENUM:
        return d->choices[0];
    case OPT_STR:
    case OPT_NAME:
        return "x1";
    case OPT_SCHED:
        return "10";
    case OPT_LOG:
        return "info stdout";
    default:
        return NULL;
    }
}

#define BASE "ram 64m load g.elf "

/* What a vdev of this type needs besides the option tested. */
static const char *vdev_needs(const struct vdev_type *vt)
{
    return strcmp(vt->name, "virtio-blk") == 0 ? " hostdev disk.img" : "";
}

static void expect_diag(const char *text, bool error, const char *why,
                        const char *what)
{
    bool ok = build(text);
    const char *sev = error ? ": error: " : ": warning: ";
    if (error ? ok : !ok)
        failf("%s: '%s' %s (wanted %s)\n  %s", what, text,
              ok ? "is accepted" : "is rejected",
              error ? "an error" : "a warning", msgs);
    else if (!strstr(msgs, sev) || (why && !strstr(msgs, why)))
        failf("%s: '%s' does not say why (wanted%s'%s')\n  %s", what, text, sev,
              why ? why : "", msgs);
}

/* One table entry: rejected, warned about, or a row. */
static void walk_opt(const char *ctx, const struct opt_def *d,
                     const char *prefix, const char *suffix, const char *word)
{
    char label[160], text[512];
    snprintf(label, sizeof(label), "%s %s", ctx, d->name);
    if (d->arch && !(d->arch & ARCH_X86_64)) {
        /* aarch64 only: no aarch64 back end, an error on this qvm */
        expect_no_row(ctx, d->name, "only for aarch64 guests");
        const char *v = sample(d);
        if (!v) {
            failf("%s: add a sample value for its type to sample()", label);
            return;
        }
        snprintf(text, sizeof(text), "%s%s %s%s", prefix, d->name, v, suffix);
        expect_diag(text, true, "only for aarch64 guests", label);
        return;
    }
    if (d->flags & (OF_REJECTED | OF_IGNORED)) {
        bool rej = d->flags & OF_REJECTED;
        expect_no_row(ctx, d->name, rej ? "OF_REJECTED" : "OF_IGNORED");
        if (!d->why || !*d->why) {
            failf("%s is %s without a `why`", label,
                  rej ? "OF_REJECTED" : "OF_IGNORED");
            return;
        }
        const char *v = sample(d);
        if (!v) {
            failf("%s: add a sample value for its type to sample()", label);
            return;
        }
        snprintf(text, sizeof(text), "%s%s %s%s", prefix, d->name, v, suffix);
        expect_diag(text, rej, d->why, label);
        return;
    }
    expect_row(ctx, d->name, word ? word : d->name);
}

static void walk(void **st)
{
    (void)st;
    read_table();
    char prefix[256], ctx[64];
    for (const struct opt_def *d = top_opts; d->name; d++) {
        /* a rejected top-level word takes whatever follows it */
        walk_opt("top", d, BASE, "", NULL);
    }
    for (const struct opt_def *d = cpu_opts; d->name; d++)
        walk_opt("cpu", d, BASE "cpu ", "", NULL);
    for (const struct opt_def *d = pass_opts; d->name; d++)
        walk_opt("pass", d, BASE "pass ", "", NULL);
    for (const struct opt_def *d = reserve_opts; d->name; d++)
        walk_opt("reserve", d, BASE "reserve ", "", NULL);
    for (const struct opt_def *d = set_vars; d->name; d++) {
        bool vdev_only =
            (d->flags & (OF_SET_GLOB | OF_SET_GUEST | OF_SET_CPU)) == 0;
        walk_opt("set", d,
                 vdev_only ? BASE "vdev pckeyboard set " : BASE "set ", "",
                 NULL);
    }
    for (unsigned i = 0; vdev_types[i]; i++) {
        const struct vdev_type *vt = vdev_types[i];
        snprintf(ctx, sizeof(ctx), "vdev:%s", vt->name);
        char text[256];
        snprintf(text, sizeof(text), BASE "vdev %s%s", vt->name,
                 vdev_needs(vt));
        if (!(vt->arch & ARCH_X86_64) || (vt->flags & VF_REJECT)) {
            /* the type is an error: so is each of its options */
            expect_no_row(ctx, "-", "rejected");
            expect_diag(text, true,
                        vt->flags & VF_REJECT ? vt->why
                                              : "only for aarch64 guests",
                        ctx);
            for (const struct opt_def *d = vt->opts; d->name; d++)
                expect_no_row(ctx, d->name, "of a rejected vdev");
            continue;
        }
        if (vt->flags & VF_IGNORE) {
            expect_no_row(ctx, "-", "VF_IGNORE");
            expect_diag(text, false, vt->why, ctx);
            for (const struct opt_def *d = vt->opts; d->name; d++)
                expect_no_row(ctx, d->name, "of an ignored vdev");
            continue;
        }
        /* the type itself: the test that shows the device working */
        expect_row(ctx, "-", vt->name);
        snprintf(prefix, sizeof(prefix), BASE "vdev %s%s ", vt->name,
                 vdev_needs(vt));
        for (const struct opt_def *d = vt->opts; d->name; d++)
            walk_opt(ctx, d, prefix, "", NULL);
    }
    for (unsigned i = 0; i < nrows; i++)
        if (!rows[i].used)
            failf("option-tests.txt:%u: %s %s is not in the schema (a "
                  "stale row, or a misspelt context/option)",
                  rows[i].line, rows[i].ctx, rows[i].opt);
    spec_free(&spec);
    free(msgs);
    msgs = NULL;
    if (nfail) {
        fputs(failures, stderr);
        fail_msg("%u problem(s), listed above", nfail);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

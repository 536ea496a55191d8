/*
 * test_schema_walk.c: nothing in the configuration language is silently
 * ignored. Walks every top-level option, every `cpu`, `pass` and `reserve`
 * option, every `set` variable, every vdev type and every option of every
 * vdev type in the schema (src/config/schema.c), once for an x86-64 guest
 * and once for an aarch64 guest, and checks that each one
 *
 *   - is rejected: OF_REJECTED / VF_REJECT, or only for the other
 *     architecture: a configuration using it is an error that says why; or
 *   - is warned about: OF_IGNORED / VF_IGNORE, or `ign_arch` naming the
 *     architecture walked: a configuration using it builds with a warning
 *     that says why (and what happens instead); or
 *   - works on that architecture: tests/unit/option-tests.txt (x86-64) or
 *     tests/unit/option-tests-aarch64.txt (aarch64) names the test(s) that
 *     exercise it there (unit test functions, golden configurations, VM
 *     cases, real-guest cases), and each named test exists and is one of
 *     that architecture's.
 *
 * A new option with neither a flag nor a row fails here, and so does a row
 * for an option the schema no longer has, or that is flagged (its status
 * is the flag's), or whose test is gone. See the tables' headers.
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
/* ELF64, little-endian, e_machine EM_AARCH64 (183) */
static char a64elf[64] = "\x7f"
                         "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"
                         "\x02\0\xb7";
static const struct fake_file files[] = {
    {.path = "g.elf", .data = elf64, .len = sizeof(elf64)},
    {.path = "a64.elf", .data = a64elf, .len = sizeof(a64elf)},
    {.path = "disk.img", .data = "disk"},
    {0},
};

/* ---- the architecture walked --------------------------------------------- */

struct walk_arch {
    enum arch arch;
    const char *table;    /* the rows, under tests/unit/ */
    const char *base;     /* what every configuration needs */
    const char *vdev_set; /* a vdev context for vdev-only `set`s */
};
static const struct walk_arch wa_x86 = {ARCH_X86_64, "option-tests.txt",
                                        "ram 64m load g.elf ",
                                        "vdev pckeyboard set "};
static const struct walk_arch wa_a64 = {
    ARCH_AARCH64, "option-tests-aarch64.txt",
    "ram 0x80000000,64m load a64.elf ", "vdev pl011 set "};
static const struct walk_arch *W;

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
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/unit/%s", QVM_SOURCE_ROOT, W->table);
    nrows = 0;
    failures[0] = 0;
    nfail = 0;
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
            fail_msg("%s: too many rows", W->table);
        struct row *r = &rows[nrows++];
        memset(r, 0, sizeof(*r));
        r->line = ln;
        snprintf(r->ctx, sizeof(r->ctx), "%s", w);
        w = strtok_r(NULL, " \t\r\n", &save);
        if (!w)
            fail_msg("%s:%u: CONTEXT OPTION TEST...", W->table, ln);
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

/* Is rel a golden configuration for an aarch64 guest (its qvm-flags)? */
static bool golden_is_aarch64(const char *text)
{
    const char *nl = strchr(text, '\n');
    size_t n = nl ? (size_t)(nl - text) : strlen(text);
    const char *f = "# qvm-flags:";
    if (n < strlen(f) || strncmp(text, f, strlen(f)) != 0)
        return false;
    const char *a = strstr(text, "--target-arch aarch64");
    return a && a < text + n;
}

/*
 * One piece of evidence:
 *   unit:FILE:FUNCTION   tests/unit/FILE defines FUNCTION (and meson builds
 *                        FILE into a unit test); in the aarch64 table not
 *                        a test of x86 code (test_x86_*, test_acpi*)
 *   golden:good/NAME     tests/configs/good/NAME.qvmconf (or bad/) exists
 *                        and uses the option's word; for the architecture
 *                        walked (`# qvm-flags: --target-arch aarch64` on
 *                        the first line in the aarch64 table, not in the
 *                        x86-64 table)
 *   vm:CASE              tests/vm/cases/CASE.sh exists (x86-64 table)
 *   realguest:CASE       tests/realguests/cases/CASE.sh exists and is listed
 *                        in tests/realguests/enabled (x86-64 table)
 *   vm-arm64:CASE        tests/vm/cases-arm64/CASE.sh exists (aarch64 table)
 *   realguest-arm64:CASE tests/realguests/cases-arm64/CASE.sh exists
 *                        (aarch64 table; tools/test.sh runs every one)
 *   script:PATH          a test script (tests/PATH) that meson runs
 */
static void check_evidence(const struct row *r, const char *ev,
                           const char *word)
{
    char rel[256], a[96], b[96];
    bool a64 = W->arch == ARCH_AARCH64;
    if (sscanf(ev, "unit:%95[^:]:%95s", a, b) == 2) {
        snprintf(rel, sizeof(rel), "tests/unit/%s", a);
        char *t = slurp(rel);
        char *m = slurp("tests/meson.build");
        if (!t)
            failf("%s:%u: %s: no %s", W->table, r->line, ev, rel);
        else if (!has_ident(t, b))
            failf("%s:%u: %s: %s has no '%s'", W->table, r->line, ev, rel, b);
        if (m && !strstr(m, a))
            failf("%s:%u: %s: tests/meson.build does not build %s", W->table,
                  r->line, ev, a);
        if (a64 && (strncmp(a, "test_x86_", 9) == 0 ||
                    strncmp(a, "test_acpi", 9) == 0))
            failf("%s:%u: %s tests x86 code, not what an aarch64 guest gets",
                  W->table, r->line, ev);
        free(t);
        free(m);
        return;
    }
    if (strncmp(ev, "golden:", 7) == 0) {
        snprintf(rel, sizeof(rel), "tests/configs/%s.qvmconf", ev + 7);
        char *t = slurp(rel);
        if (!t)
            failf("%s:%u: %s: no %s", W->table, r->line, ev, rel);
        else if (word && !has_ident(t, word))
            failf("%s:%u: %s: %s does not use '%s'", W->table, r->line, ev, rel,
                  word);
        else if (golden_is_aarch64(t) != a64)
            failf("%s:%u: %s: %s is %s an aarch64 configuration (its first "
                  "line: # qvm-flags: --target-arch aarch64)",
                  W->table, r->line, ev, rel, a64 ? "not" : "");
        free(t);
        return;
    }
    static const struct {
        const char *prefix, *dir, *enabled;
        enum arch arch;
    } cases[] = {
        {"vm:", "tests/vm/cases", NULL, ARCH_X86_64},
        {"realguest:", "tests/realguests/cases", "tests/realguests/enabled",
         ARCH_X86_64},
        {"vm-arm64:", "tests/vm/cases-arm64", NULL, ARCH_AARCH64},
        {"realguest-arm64:", "tests/realguests/cases-arm64", NULL,
         ARCH_AARCH64},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].prefix);
        if (strncmp(ev, cases[i].prefix, n) != 0)
            continue;
        snprintf(rel, sizeof(rel), "%s/%s.sh", cases[i].dir, ev + n);
        char *t = slurp(rel);
        if (cases[i].arch != W->arch)
            failf("%s:%u: %s: a case of the %s lab, not for %s guests",
                  W->table, r->line, ev, arch_name(cases[i].arch),
                  arch_name(W->arch));
        else if (!t)
            failf("%s:%u: %s: no %s", W->table, r->line, ev, rel);
        else if (cases[i].enabled && !listed(cases[i].enabled, ev + n))
            failf("%s:%u: %s: not in %s", W->table, r->line, ev,
                  cases[i].enabled);
        free(t);
        return;
    }
    if (strncmp(ev, "script:", 7) == 0) {
        snprintf(rel, sizeof(rel), "tests/%s", ev + 7);
        char *t = slurp(rel);
        char *m = slurp("tests/meson.build");
        const char *base = strrchr(ev + 7, '/');
        if (!t)
            failf("%s:%u: %s: no %s", W->table, r->line, ev, rel);
        if (m && !strstr(m, base ? base + 1 : ev + 7))
            failf("%s:%u: %s: tests/meson.build does not run it", W->table,
                  r->line, ev);
        free(t);
        free(m);
        return;
    }
    failf("%s:%u: '%s': evidence is unit:FILE:FUNC, golden:good/NAME, "
          "vm:CASE, realguest:CASE, vm-arm64:CASE, realguest-arm64:CASE or "
          "script:PATH",
          W->table, r->line, ev);
}

/* An option that works: its row, with evidence. */
static void expect_row(const char *ctx, const char *opt, const char *word)
{
    struct row *r = find_row(ctx, opt);
    if (!r) {
        failf("%s '%s' is accepted on %s guests and not flagged: add a row "
              "'%s %s TEST...' to tests/unit/%s naming the test(s) of its "
              "effect there, or flag it (OF_IGNORED/OF_REJECTED with a "
              "`why`, or `ign_arch` with an `ign_why`)",
              ctx, opt, arch_name(W->arch), ctx, opt, W->table);
        return;
    }
    r->used = true;
    if (r->nev == 0)
        failf("%s:%u: %s %s names no test", W->table, r->line, ctx, opt);
    for (unsigned i = 0; i < r->nev; i++)
        check_evidence(r, r->ev[i], word);
}

/* A flagged option has no row: its status is the flag's. */
static void expect_no_row(const char *ctx, const char *opt, const char *why)
{
    struct row *r = find_row(ctx, opt);
    if (r) {
        r->used = true;
        failf("%s:%u: %s %s is %s in the schema: remove the "
              "row (or the flag)",
              W->table, r->line, ctx, opt, why);
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
    spec_init(&spec, W->arch);
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
    case OPT_NUM_LIST:
        return d->nlist == 3 ? "0x2c1f0000,64,16" : "1,2";
    default:
        return NULL;
    }
}

/* What a vdev of this type needs besides the option tested. */
static const char *vdev_needs(const struct vdev_type *vt)
{
    bool blk = strcmp(vt->name, "virtio-blk") == 0;
    /* aarch64 has no PCI bus: virtio and shmem on MMIO */
    if (W->arch == ARCH_AARCH64 &&
        ((vt->flags & VF_VIRTIO) || strcmp(vt->name, "shmem") == 0))
        return blk ? " hostdev disk.img loc 0x1c300000 intr gic:40"
                   : " loc 0x1c300000 intr gic:40";
    return blk ? " hostdev disk.img" : "";
}

static void expect_diag(const char *text, bool error, const char *why,
                        const char *what)
{
    bool ok = build(text);
    const char *sev = error ? ": error: " : ": warning: ";
    if (error ? ok : !ok)
        failf("%s (%s): '%s' %s (wanted %s)\n  %s", what, arch_name(W->arch),
              text, ok ? "is accepted" : "is rejected",
              error ? "an error" : "a warning", msgs);
    else if (!strstr(msgs, sev) || (why && !strstr(msgs, why)))
        failf("%s (%s): '%s' does not say why (wanted%s'%s')\n  %s", what,
              arch_name(W->arch), text, sev, why ? why : "", msgs);
}

/* An entry of the configuration text `text` (the option's sample value
 * filled in) with the given status: no row, and its diagnostic. */
static void expect_flagged(const char *ctx, const struct opt_def *d,
                           const char *prefix, const char *suffix, bool error,
                           const char *why, const char *status)
{
    char label[160], text[512];
    snprintf(label, sizeof(label), "%s %s", ctx, d->name);
    expect_no_row(ctx, d->name, status);
    if (!why || !*why) {
        failf("%s is %s without a reason", label, status);
        return;
    }
    const char *v = sample(d);
    if (!v) {
        failf("%s: add a sample value for its type to sample()", label);
        return;
    }
    snprintf(text, sizeof(text), "%s%s %s%s", prefix, d->name, v, suffix);
    expect_diag(text, error, why, label);
}

/* One table entry: rejected, warned about, or a row. */
static void walk_opt(const char *ctx, const struct opt_def *d,
                     const char *prefix, const char *suffix, const char *word)
{
    char why[96];
    if (d->ign_arch &&
        (!d->ign_why || (d->flags & (OF_IGNORED | OF_REJECTED)) ||
         (d->arch && !(d->arch & ~d->ign_arch))))
        failf("%s %s: ign_arch needs an ign_why, and an architecture where "
              "the option is usable and not otherwise flagged",
              ctx, d->name);
    if (d->arch && !(d->arch & W->arch)) {
        /* the other architecture's: an error */
        snprintf(why, sizeof(why), "only for %s guests",
                 arch_name((enum arch)d->arch));
        expect_flagged(ctx, d, prefix, suffix, true, why, why);
        return;
    }
    if (d->flags & (OF_REJECTED | OF_IGNORED)) {
        bool rej = d->flags & OF_REJECTED;
        expect_flagged(ctx, d, prefix, suffix, rej, d->why,
                       rej ? "OF_REJECTED" : "OF_IGNORED");
        return;
    }
    if (d->ign_arch & W->arch) {
        snprintf(why, sizeof(why), "ign_arch %s", arch_name(W->arch));
        expect_flagged(ctx, d, prefix, suffix, false, d->ign_why, why);
        return;
    }
    expect_row(ctx, d->name, word ? word : d->name);
}

static void walk(const struct walk_arch *wa)
{
    W = wa;
    read_table();
    char prefix[256], ctx[64], base[128], set[256];
    snprintf(base, sizeof(base), "%s", W->base);
    for (const struct opt_def *d = top_opts; d->name; d++) {
        /* a rejected top-level word takes whatever follows it */
        walk_opt("top", d, base, "", NULL);
    }
    snprintf(prefix, sizeof(prefix), "%scpu ", base);
    for (const struct opt_def *d = cpu_opts; d->name; d++)
        walk_opt("cpu", d, prefix, "", NULL);
    snprintf(prefix, sizeof(prefix), "%spass ", base);
    for (const struct opt_def *d = pass_opts; d->name; d++)
        walk_opt("pass", d, prefix, "", NULL);
    snprintf(prefix, sizeof(prefix), "%sreserve ", base);
    for (const struct opt_def *d = reserve_opts; d->name; d++)
        walk_opt("reserve", d, prefix, "", NULL);
    for (const struct opt_def *d = set_vars; d->name; d++) {
        bool vdev_only =
            (d->flags & (OF_SET_GLOB | OF_SET_GUEST | OF_SET_CPU)) == 0;
        snprintf(set, sizeof(set), "%s%s", base,
                 vdev_only ? W->vdev_set : "set ");
        walk_opt("set", d, set, "", NULL);
    }
    for (unsigned i = 0; vdev_types[i]; i++) {
        const struct vdev_type *vt = vdev_types[i];
        snprintf(ctx, sizeof(ctx), "vdev:%s", vt->name);
        char text[256], why[64];
        snprintf(text, sizeof(text), "%svdev %s%s", base, vt->name,
                 vdev_needs(vt));
        if (!(vt->arch & W->arch) || (vt->flags & VF_REJECT)) {
            /* the type is an error: so is each of its options */
            bool other = !(vt->arch & W->arch);
            snprintf(why, sizeof(why), "only for %s guests",
                     arch_name((enum arch)vt->arch));
            expect_no_row(ctx, "-", "rejected");
            expect_diag(text, true, other ? why : vt->why, ctx);
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
        snprintf(prefix, sizeof(prefix), "%svdev %s%s ", base, vt->name,
                 vdev_needs(vt));
        for (const struct opt_def *d = vt->opts; d->name; d++)
            walk_opt(ctx, d, prefix, "", NULL);
    }
    for (unsigned i = 0; i < nrows; i++)
        if (!rows[i].used)
            failf("%s:%u: %s %s is not in the schema (a "
                  "stale row, or a misspelt context/option)",
                  W->table, rows[i].line, rows[i].ctx, rows[i].opt);
    spec_free(&spec);
    free(msgs);
    msgs = NULL;
    if (nfail) {
        fputs(failures, stderr);
        fail_msg("%u problem(s), listed above", nfail);
    }
}

/* Every entry usable on an x86-64 guest. */
static void walk_x86_64(void **st)
{
    (void)st;
    walk(&wa_x86);
}

/* Every entry usable on an aarch64 guest: the aarch64-only ones and those
 * for every architecture. */
static void walk_aarch64(void **st)
{
    (void)st;
    walk(&wa_a64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_x86_64),
        cmocka_unit_test(walk_aarch64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

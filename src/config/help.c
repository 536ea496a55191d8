/*
 * help.c: `qvm --help`, `qvm help vdev [TYPE]`, `qvm set ?` and the
 * reference part of docs/qvmconf.md, all generated from schema.c.
 */
#include <string.h>

#include "config/front.h"
#include "config/schema.h"

static void wrap(struct strbuf *o, const char *text, unsigned indent)
{
    unsigned col = indent;
    for (unsigned i = 0; i < indent; i++)
        sb_putc(o, ' ');
    const char *p = text;
    while (*p) {
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        unsigned n = (unsigned)(p - w);
        if (col > indent && col + 1 + n > 78) {
            sb_putc(o, '\n');
            for (unsigned i = 0; i < indent; i++)
                sb_putc(o, ' ');
            col = indent;
        } else if (col > indent) {
            sb_putc(o, ' ');
            col++;
        }
        for (unsigned i = 0; i < n; i++)
            sb_putc(o, w[i]);
        col += n;
        while (*p == ' ')
            p++;
    }
    sb_putc(o, '\n');
}

static bool for_arch(unsigned mask, enum arch arch)
{
    return mask == 0 || (mask & arch);
}

static void opt_entry(struct strbuf *o, const struct opt_def *d)
{
    sb_printf(o, "  %s\n", d->syntax ? d->syntax : d->name);
    struct strbuf t;
    sb_init(&t);
    if (d->help)
        sb_puts(&t, d->help);
    if (d->why && (d->flags & (OF_IGNORED | OF_REJECTED)))
        sb_printf(&t, "%s(%s: %s)", t.len ? " " : "",
                  d->flags & OF_REJECTED ? "not supported" : "no effect",
                  d->why);
    if (d->why && (d->flags & OF_DEPRECATED))
        sb_printf(&t, " (old spelling of %s)", d->why);
    if (d->def)
        sb_printf(&t, " [default: %s]", d->def);
    if (d->arch)
        sb_printf(&t, " [%s only]", arch_name((enum arch)d->arch));
    if (d->ign_arch)
        sb_printf(&t, " (no effect on %s: %s)",
                  arch_name((enum arch)d->ign_arch), d->ign_why);
    wrap(o, sb_cstr(&t), 6);
    sb_free(&t);
}

void help_usage(struct strbuf *o, enum arch arch)
{
    sb_puts(o, "usage: qvm [--strict-config] [--json] @FILE|OPTION ...\n"
               "       qvm help vdev [TYPE] | qvm set ? | qvm --version\n\n"
               "qvm runs one virtual machine on Linux/KVM, described by QNX "
               "qvm configuration\nwords given on the command line and in "
               "@files (one stream, read once).\n\n"
               "qvm flags (before the configuration):\n"
               "  --strict-config   treat warnings as errors\n"
               "  --json            dryrun output as JSON\n"
               "  --target-arch A   check a configuration for another "
               "architecture (dryrun)\n\n"
               "configuration options:\n");
    for (const struct opt_def *d = top_opts; d->name; d++)
        if (for_arch(d->arch, arch) && !(d->flags & OF_REJECTED))
            opt_entry(o, d);
    sb_puts(o, "\ncpu options:\n");
    for (const struct opt_def *d = cpu_opts; d->name; d++)
        opt_entry(o, d);
    sb_puts(o, "\nvdev types (qvm help vdev TYPE for their options):\n");
    for (unsigned i = 0; vdev_types[i]; i++) {
        const struct vdev_type *vt = vdev_types[i];
        if (!for_arch(vt->arch, arch) || (vt->flags & VF_REJECT))
            continue;
        sb_printf(o, "  %-16s", vt->name);
        wrap(o, vt->help, 0);
    }
    sb_puts(o, "\nExit status: 0 guest powered off or reset (a reset: "
               "$QVM_RESET_STATUS when set),\n65 configuration error, 64 "
               "error before the guest started, 96 fatal error\nafter it "
               "started (docs/exit-codes.md, qvm(1)).\n");
}

int help_vdev(struct strbuf *o, const char *name, enum arch arch)
{
    if (!name) {
        for (unsigned i = 0; vdev_types[i]; i++) {
            const struct vdev_type *vt = vdev_types[i];
            sb_printf(o, "%-16s [%s]%s\n", vt->name,
                      arch_name((enum arch)vt->arch),
                      vt->flags & VF_REJECT   ? " (not supported)"
                      : vt->flags & VF_IGNORE ? " (ignored)"
                                              : "");
            wrap(o, vt->help, 4);
        }
        return 0;
    }
    const struct vdev_type *vt = vdev_type_find(name);
    if (!vt)
        return -1;
    sb_printf(o, "vdev %s  [%s]\n", vt->name, arch_name((enum arch)vt->arch));
    wrap(o, vt->help, 2);
    if (vt->why)
        wrap(o, vt->why, 2);
    if (vt->example)
        sb_printf(o, "  example: %s\n", vt->example);
    sb_puts(o, "options:\n");
    for (const struct opt_def *d = vt->opts; d->name; d++)
        opt_entry(o, d);
    (void)arch;
    return 0;
}

void help_set_vars(struct strbuf *o, enum arch arch)
{
    sb_puts(o, "set variables (set NAME VALUE):\n");
    for (const struct opt_def *d = set_vars; d->name; d++) {
        if (!for_arch(d->arch, arch))
            continue;
        sb_printf(o, "  %-28s %-8s %s\n", d->name, opt_type_word(d->type),
                  d->flags & OF_SET_VDEV ? "vdev" : "global");
        struct strbuf t;
        sb_init(&t);
        sb_puts(&t, d->help);
        if (d->def)
            sb_printf(&t, " [default: %s]", d->def);
        if (d->flags & OF_IGNORED)
            sb_printf(&t, " (no effect on Linux: %s)", d->why);
        if (d->ign_arch & arch)
            sb_printf(&t, " (no effect on %s: %s)", arch_name(arch),
                      d->ign_why);
        wrap(o, sb_cstr(&t), 6);
        sb_free(&t);
    }
}

/* ---- markdown ----------------------------------------------------------- */

static void md_cell(struct strbuf *o, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            sb_puts(o, "\\|");
        else
            sb_putc(o, *s);
    }
}

/*
 * What qvm does with an option (the status column; tests/unit/
 * test_schema_walk.c checks each claim): works, warns (accepted, no
 * effect: a warning says why), error (rejected: the error says why). An
 * option of the other architecture, or of a vdev that is itself rejected or
 * ignored, takes that status. vdev_status: NULL, or the vdev type's.
 */
/* The vdev type's own status, NULL for a plain "works". */
static const char *vdev_status_word(const struct vdev_type *vt)
{
    if (vt->flags & VF_REJECT)
        return "error (the vdev)";
    if (vt->flags & VF_IGNORE)
        return "warns (the vdev)";
    if (vt->arch == ARCH_AARCH64)
        return "works (aarch64 only)";
    return NULL;
}

static const char *opt_status_word(const struct opt_def *d,
                                   const struct vdev_type *vt)
{
    if (vt && vt->flags & (VF_REJECT | VF_IGNORE))
        return vdev_status_word(vt);
    bool a64 = d->arch == ARCH_AARCH64 || (vt && vt->arch == ARCH_AARCH64);
    if (d->flags & OF_REJECTED)
        return "error";
    if (d->flags & OF_IGNORED)
        return a64 ? "warns (aarch64 only)" : "warns";
    if (a64)
        return "works (aarch64 only)";
    if (d->ign_arch == ARCH_AARCH64)
        return "works on x86_64; warns on aarch64";
    if (d->flags & OF_DEPRECATED)
        return "works (warns: old spelling)";
    return "works";
}

static void md_table(struct strbuf *o, const struct opt_def *tab,
                     const struct vdev_type *vt)
{
    sb_puts(o, "| option | status | type | default | arch | description |\n"
               "|---|---|---|---|---|---|\n");
    for (const struct opt_def *d = tab; d->name; d++) {
        sb_puts(o, "| `");
        md_cell(o, d->syntax ? d->syntax : d->name);
        sb_printf(o, "` | %s | %s | ", opt_status_word(d, vt),
                  opt_type_word(d->type));
        md_cell(o, d->def ? d->def : "-");
        sb_printf(o, " | %s | ",
                  d->arch ? arch_name((enum arch)d->arch) : "all");
        md_cell(o, d->help);
        if (d->flags & OF_MULTI)
            sb_puts(o, " Repeatable.");
        if (d->flags & OF_REQUIRED)
            sb_puts(o, " Required.");
        if (d->flags & (OF_IGNORED | OF_REJECTED)) {
            sb_puts(o, d->flags & OF_REJECTED ? " **Not supported:** "
                                              : " **No effect on Linux:** ");
            md_cell(o, d->why);
        }
        if (d->ign_arch) {
            sb_printf(o, " **No effect on %s:** ",
                      arch_name((enum arch)d->ign_arch));
            md_cell(o, d->ign_why);
        }
        if (d->flags & OF_DEPRECATED) {
            sb_puts(o, " Old spelling of `");
            md_cell(o, d->why);
            sb_puts(o, "` (warning).");
        }
        if (d->example) {
            sb_puts(o, " Example: `");
            md_cell(o, d->example);
            sb_puts(o, "`");
        }
        sb_puts(o, " |\n");
    }
}

void help_markdown(struct strbuf *o)
{
    sb_puts(o, "<!-- generated by `qvm help --markdown` from "
               "src/config/schema.c; do not edit -->\n"
               "Status of each option: **works** (it has an effect, shown "
               "by the tests tests/unit/option-tests.txt names for x86-64 "
               "guests and tests/unit/option-tests-aarch64.txt for aarch64 "
               "guests), **warns** "
               "(accepted, no effect: a warning at `dryrun` and at start "
               "says why), **error** (rejected: the error says why); "
               "tests/unit/test_schema_walk.c checks every entry.\n\n"
               "### Top-level options\n\n");
    md_table(o, top_opts, NULL);
    sb_puts(o, "\n### `cpu` options\n\n");
    md_table(o, cpu_opts, NULL);
    sb_puts(o, "\n### `pass` options\n\n");
    md_table(o, pass_opts, NULL);
    sb_puts(o, "\n### `reserve` options\n\n");
    md_table(o, reserve_opts, NULL);
    sb_puts(o, "\n### `set` variables\n\n"
               "Context: `global` variables go anywhere; `vdev` variables "
               "follow the vdev they configure.\n\n");
    md_table(o, set_vars, NULL);
    sb_puts(o, "\n### vdev types\n");
    for (unsigned i = 0; vdev_types[i]; i++) {
        const struct vdev_type *vt = vdev_types[i];
        const char *vst = vdev_status_word(vt);
        sb_printf(o, "\n#### `vdev %s` (%s)\n\n", vt->name,
                  arch_name((enum arch)vt->arch));
        sb_printf(o, "Status: %s. ", vst ? vst : "works");
        md_cell(o, vt->help);
        sb_puts(o, ".");
        if (vt->why) {
            sb_puts(o, vt->flags & VF_REJECT ? " **Not supported:** "
                                             : " **Ignored (warning):** ");
            md_cell(o, vt->why);
            sb_puts(o, ".");
        }
        if (vt->flags & VF_ONE)
            sb_puts(o, " At most one instance: a second definition "
                       "replaces the first (with a note).");
        if (vt->pic_lines)
            sb_printf(o, " Interrupt controller with %u lines.", vt->pic_lines);
        if (vt->example)
            sb_printf(o, "\n\nExample: `%s`", vt->example);
        sb_puts(o, "\n\n");
        md_table(o, vt->opts, vt);
    }
}

/* ---- man page (qvmconf(5)) ---------------------------------------------- */

/* Text for roff: backslashes escaped, a leading '.' or '\'' made
 * literal, `word` set in bold. */
static void man_text(struct strbuf *o, const char *s)
{
    bool bold = false;
    if (s && (*s == '.' || *s == '\''))
        sb_puts(o, "\\&");
    for (; s && *s; s++) {
        if (*s == '\\')
            sb_puts(o, "\\e");
        else if (*s == '`') {
            sb_puts(o, bold ? "\\fR" : "\\fB");
            bold = !bold;
        } else if (*s == '\n')
            sb_putc(o, ' ');
        else if (*s == '-' && s[1] == '-')
            sb_puts(o, "\\-");
        else
            sb_putc(o, *s);
    }
    if (bold)
        sb_puts(o, "\\fR");
}

/* A schema phrase as a sentence: a capital, a full stop. */
static void man_sentence(struct strbuf *t, const char *s)
{
    if (!s || !*s)
        return;
    size_t start = t->len;
    sb_printf(t, "%s%s", start ? " " : "", s);
    if (t->oom || !t->s)
        return;
    char *b = t->s + start + (start ? 1 : 0);
    if (*b >= 'a' && *b <= 'z')
        *b = (char)(*b - 'a' + 'A');
    if (t->s[t->len - 1] != '.')
        sb_putc(t, '.');
}

static void man_table(struct strbuf *o, const struct opt_def *tab,
                      const struct vdev_type *vt)
{
    for (const struct opt_def *d = tab; d->name; d++) {
        sb_puts(o, ".TP\n\\fB");
        man_text(o, d->syntax ? d->syntax : d->name);
        sb_puts(o, "\\fR\n");
        struct strbuf t;
        sb_init(&t);
        man_sentence(&t, d->help);
        if (d->flags & OF_MULTI &&
            !strstr(d->help ? d->help : "", "repeatable"))
            sb_puts(&t, " Repeatable.");
        if (d->flags & OF_REQUIRED)
            sb_puts(&t, " Required.");
        if (d->flags & (OF_IGNORED | OF_REJECTED))
            sb_printf(&t, " %s %s.",
                      d->flags & OF_REJECTED ? "Not supported:"
                                             : "No effect on Linux:",
                      d->why);
        if (d->ign_arch)
            sb_printf(&t, " No effect on %s: %s.",
                      arch_name((enum arch)d->ign_arch), d->ign_why);
        if (d->flags & OF_DEPRECATED)
            sb_printf(&t, " Old spelling of `%s` (warning).", d->why);
        if (d->example)
            sb_printf(&t, " Example: `%s`.", d->example);
        const char *txt = sb_cstr(&t);
        man_text(o, txt + strspn(txt, " "));
        sb_free(&t);
        sb_printf(o, "\n.br\nType: %s; default: ", opt_type_word(d->type));
        man_text(o, d->def ? d->def : "none");
        sb_printf(o, "; architecture: %s; status: %s.\n",
                  d->arch ? arch_name((enum arch)d->arch) : "all",
                  opt_status_word(d, vt));
    }
}

void help_man(struct strbuf *o)
{
    sb_puts(o, ".\\\" generated by `qvm help --man` from src/config/schema.c\n"
               ".SH OPTIONS\n"
               "Status of each option: \\fBworks\\fR (it has an effect), "
               "\\fBwarns\\fR (accepted, no effect: a warning at "
               "\\fBdryrun\\fR and at start says why), \\fBerror\\fR "
               "(rejected: the error says why).\n"
               ".SS Top-level options\n");
    man_table(o, top_opts, NULL);
    sb_puts(o, ".SS cpu options\n");
    man_table(o, cpu_opts, NULL);
    sb_puts(o, ".SS pass options\n");
    man_table(o, pass_opts, NULL);
    sb_puts(o, ".SS reserve options\n");
    man_table(o, reserve_opts, NULL);
    sb_puts(o, ".SS set variables\n"
               "\\fBglobal\\fR variables go anywhere; \\fBvdev\\fR "
               "variables follow the vdev they configure.\n");
    man_table(o, set_vars, NULL);
    sb_puts(o, ".SH VDEV TYPES\n");
    for (unsigned i = 0; vdev_types[i]; i++) {
        const struct vdev_type *vt = vdev_types[i];
        const char *vst = vdev_status_word(vt);
        sb_printf(o, ".SS vdev %s (%s)\n", vt->name,
                  arch_name((enum arch)vt->arch));
        struct strbuf t;
        sb_init(&t);
        sb_printf(&t, "Status: %s.", vst ? vst : "works");
        man_sentence(&t, vt->help);
        if (vt->why)
            sb_printf(&t, " %s %s.",
                      vt->flags & VF_REJECT ? "Not supported:"
                                            : "Ignored (warning):",
                      vt->why);
        if (vt->flags & VF_ONE)
            sb_puts(&t, " At most one instance: a second definition "
                        "replaces the first (with a note).");
        if (vt->pic_lines)
            sb_printf(&t, " Interrupt controller with %u lines.",
                      vt->pic_lines);
        if (vt->example)
            sb_printf(&t, " Example: `%s`.", vt->example);
        man_text(o, sb_cstr(&t));
        sb_free(&t);
        sb_putc(o, '\n');
        man_table(o, vt->opts, vt);
    }
}

void help_man_vdevs(struct strbuf *o)
{
    sb_puts(o, ".\\\" generated by `qvm help --man-vdevs` from "
               "src/config/schema.c\n");
    for (unsigned i = 0; vdev_types[i]; i++) {
        const struct vdev_type *vt = vdev_types[i];
        struct strbuf t;
        sb_init(&t);
        sb_printf(&t, "(%s%s)", arch_name((enum arch)vt->arch),
                  vt->flags & VF_REJECT   ? ", not supported"
                  : vt->flags & VF_IGNORE ? ", ignored"
                                          : "");
        man_sentence(&t, vt->help);
        sb_printf(o, ".TP\n.B %s\n", vt->name);
        man_text(o, sb_cstr(&t));
        sb_putc(o, '\n');
        sb_free(&t);
    }
}

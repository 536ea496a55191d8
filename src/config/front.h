/*
 * front.h: the configuration front end as one call.
 *
 *   argv words and @files -> tokens (lexer.c) -> struct vm_spec (parse.c)
 *   -> checked, placed spec (check.c) -> dryrun output (dryrun.c)
 *
 * Pure: reads files only through the cfg_env hooks, never touches KVM.
 */
#ifndef QVM_CONFIG_FRONT_H
#define QVM_CONFIG_FRONT_H

#include <stdbool.h>

#include "config/diag.h"
#include "config/lexer.h"
#include "config/spec.h"
#include "util/strbuf.h"

struct cfg_result {
    bool list_set_vars; /* `set ?` was given: print the variable table */
};

/*
 * cfg_build: fills `spec` (initialised by the caller with spec_init) from
 * argv words, reporting every problem into dg. Returns true when dg has no
 * errors. The spec is usable (and must be freed) either way.
 * Context: main thread, before any VM exists.
 */
bool cfg_build(int argc, const char *const *argv, const struct cfg_env *env,
               struct diag *dg, struct vm_spec *spec, struct cfg_result *res);
/* cfg_build_buffer: the same for one in-memory file (tests, fuzzing). */
bool cfg_build_buffer(const char *name, const char *data, size_t len,
                      const struct cfg_env *env, struct diag *dg,
                      struct vm_spec *spec, struct cfg_result *res);

/* dryrun_text / dryrun_json: the assembled platform (docs/dryrun.md). */
void dryrun_text(const struct vm_spec *s, struct strbuf *out);
void dryrun_json(const struct vm_spec *s, struct strbuf *out);

/* help.c: text generated from the schema tables. */
void help_usage(struct strbuf *out, enum arch arch);
int help_vdev(struct strbuf *out, const char *name, enum arch arch);
void help_set_vars(struct strbuf *out, enum arch arch);
void help_markdown(struct strbuf *out);
/* help_man: the option reference of the qvmconf(5) man page (roff). */
void help_man(struct strbuf *out);
/* help_man_vdevs: the vdev type list of the qvm(1) man page (roff). */
void help_man_vdevs(struct strbuf *out);

#endif

/*
 * parse_int.h: state shared by parse.c (syntax, per-option checks) and
 * check.c (whole-configuration checks and placement). Private to config/.
 */
#ifndef QVM_CONFIG_PARSE_INT_H
#define QVM_CONFIG_PARSE_INT_H

#include "config/front.h"
#include "config/lexer.h"
#include "config/schema.h"

/* intr.pic values besides a vdev index */
#define PIC_APIC       (-1) /* `intr apic` on an ioapic */
#define PIC_IMPLICIT   (-2) /* the implicit ioapic / gic, by its name */
#define PIC_UNRESOLVED (-3) /* named a controller not defined before */

enum ctx_kind { CTX_NONE, CTX_CPU, CTX_VDEV, CTX_PASS, CTX_RESERVE, CTX_SKIP };

struct unresolved {
    char *name;
    int vdev;     /* the vdev whose intr it is, or -1 (pass) */
    int pass;     /* the pass whose intr it is, or -1 */
    size_t index; /* index in that intrs vector */
    struct src_span span;
};

struct parser {
    struct token *toks;
    size_t ntoks, pos;
    struct diag *dg;
    struct vm_spec *spec;
    const struct cfg_env *env;
    struct cfg_result *res;
    enum ctx_kind ctx;
    int ctx_index;
    bool blob_pending;
    enum blob_type blob;
    struct src_span blob_span;
    bool seen_system;
    struct src_span system_span;
    bool seen_cmdline;
    VEC(struct unresolved) unresolved;
    VEC(size_t) load_mem_n; /* per load: spec->mem.n when it was read */
    struct src_span dryrun_span;
    struct src_span dump_span;
    /* where each single-valued top-level option (by top_id) was last
     * given: a second one replaces it with a note */
    struct src_span once_span[TOP_REJECTED + 1];
    bool saw_mem;          /* a ram/rom word, even one with a bad value */
    unsigned parse_errors; /* errors before check_spec: absence checks
                            * (no ram, no image) would only cascade */
};

/* values.c: argument parsers; each reports its errors itself. */
enum loc_mode { LOC_VDEV, LOC_PASS, LOC_RESERVE };
char *xstrdup(struct parser *p, const char *s, const struct src_span *at);
bool parse_u64(struct parser *p, const struct token *t, const char *what,
               const char *text, bool suffix, uint64_t *out);
char *split_at(char *s, char c);
bool parse_loc(struct parser *p, const struct token *t, enum loc_mode mode,
               const struct vdev_type *vt, struct loc *out);
/* parse_intrs: into `vecp` (a VEC(struct intr) *); names of controllers not
 * defined yet are recorded in p->unresolved (vdev or pass index). */
bool parse_intrs(struct parser *p, const struct token *t, bool allow_apic,
                 bool pass, void *vecp, int vdev, int passi);
bool parse_sched(struct parser *p, const struct token *t, struct sched_spec *s);
bool parse_cpulist(struct parser *p, const struct token *t, uint64_t mask[4]);
bool parse_log(struct parser *p, const struct token *ft, const struct token *dt,
               uint64_t *mask, uint64_t *dest);
bool parse_value(struct parser *p, const struct opt_def *d,
                 struct token *const *a, struct opt_val *out);

/* check.c: whole-configuration checks and default placement. */
void check_spec(struct parser *p);
/* parse.c: controller label for messages. */

#endif

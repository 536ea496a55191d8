/*
 * schema.h: the declarative tables of the qvmconf language.
 *
 * One table per top-level option, per `cpu`/`pass`/`reserve` context, per
 * vdev type, and for `set` variables. Parsing (parse.c), the semantic checks
 * (check.c), `qvm --help`, `qvm help vdev NAME`, "did you mean" suggestions
 * and docs/qvmconf.md (qvm help --markdown) all read these tables and nothing
 * else, so the language has one definition.
 */
#ifndef QVM_CONFIG_SCHEMA_H
#define QVM_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "config/spec.h"

/* How an option's argument words are checked and stored (struct opt_val). */
enum opt_type {
    OPT_FLAG,       /* no argument */
    OPT_NUM,        /* number (decimal, 0x, 0d) */
    OPT_SIZE,       /* number with optional K/M/G/T */
    OPT_STR,        /* any word */
    OPT_BOOL,       /* on/off, yes/no, true/false, 1/0, enable/disable */
    OPT_ENUM,       /* one of choices[]; num = index */
    OPT_LOC,        /* location (qvm-reference.md 3.2) */
    OPT_INTR,       /* PIC:LINE[,PIC:LINE...] or apic */
    OPT_HOSTDEV,    /* [<|>]PATH, -, >-, >"|cmd", pty */
    OPT_NAME,       /* vdev name (no ':' for controllers) */
    OPT_HOSTPATH,   /* an existing host file or directory, or "|cmd" */
    OPT_SCHED,      /* PRIO[r|f|o] or HI,LO,MAX,PERIOD,BUDGET[s] */
    OPT_CPULIST,    /* runmask: N[,N...] */
    OPT_CMOS_REG,   /* INDEX,VALUE */
    OPT_PCI_REG,    /* OFFSET/SIZE=VALUE */
    OPT_SHM_CREATE, /* NAME,SIZE[,MODE[,GID]] */
    OPT_DELAYED,    /* SECS | forever */
    OPT_WDT_ACTION, /* [dump,]terminate | [dump,]fiq */
    OPT_NUM_LIST,   /* N[,N...] (fixed count in nargs_list) */
    OPT_BDF,        /* pci:B:D.F */
    OPT_MAC,        /* XX:XX:XX:XX:XX:XX */
    OPT_PEER,       /* /dev/vdevpeers/NAME or /dev/qvm/SYSTEM/NAME */
    OPT_LOG,        /* FILTER[,FILTER...] DEST (2 words) */
    OPT_GID,        /* group name or number */
    OPT_MODE,       /* octal permission bits */
    OPT_SUBST,      /* [ORIGINAL],PREFIX */
};

/* opt_def.flags */
#define OF_MULTI     (1u << 0) /* repeatable; values accumulate */
#define OF_REQUIRED  (1u << 1) /* must be given (see check.c for loc/intr) */
#define OF_IGNORED   (1u << 2) /* QNX-only: accepted, warning says `why` */
#define OF_REJECTED  (1u << 3) /* known, cannot work here: error says `why` */
#define OF_CONTEXT   (1u << 4) /* top level: opens a context */
#define OF_BLOB      (1u << 5) /* top level: blob type word before load/pass */
#define OF_SET_GLOB  (1u << 6) /* set variable contexts */
#define OF_SET_GUEST (1u << 7)
#define OF_SET_CPU   (1u << 8)
#define OF_SET_VDEV  (1u << 9)
#define OF_DEPRECATED                                                          \
    (1u << 10) /* accepted, warning names the new spelling                     \
                */

struct opt_def {
    const char *name;
    enum opt_type type;
    unsigned flags;
    unsigned arch;      /* ARCH_* mask; 0 means every architecture */
    int id;             /* handler id (top-level / cpu / special vdev) */
    const char *syntax; /* "hostdev [<|>]PATH" */
    const char *def;    /* default, as documented; NULL: none */
    const char *help;
    const char *example;
    const char *const *choices; /* OPT_ENUM, NULL-terminated */
    const char *why;            /* reason for OF_IGNORED / OF_REJECTED */
    uint64_t min, max;          /* numeric bounds (max 0: unbounded) */
    unsigned nlist;             /* OPT_NUM_LIST: max numbers */
    /* Accepted and without effect on these architectures only (ARCH_*
     * mask; it works on the others): a configuration for one of them gets
     * a warning that says `ign_why` (and what happens instead). */
    unsigned ign_arch;
    const char *ign_why;
};

/* vdev_type.flags */
#define VF_ONE       (1u << 0) /* at most one instance */
#define VF_PIC       (1u << 1) /* interrupt controller, named in `intr` */
#define VF_PCI       (1u << 2) /* a PCI function unless `loc` is mem/io */
#define VF_INTR_REQ  (1u << 3) /* `intr` required (non-PCI placements) */
#define VF_NO_INTR   (1u << 4) /* `intr` not accepted */
#define VF_SHARED    (1u << 5) /* its lines may be shared with others */
#define VF_REJECT    (1u << 6) /* known, cannot work on Linux: error */
#define VF_IGNORE    (1u << 7) /* accepted, does nothing: warning */
#define VF_VIRTIO    (1u << 8)
#define VF_PCI_ONLY  (1u << 9)  /* always a PCI function */
#define VF_LOC_REQ   (1u << 10) /* `loc` required */
#define VF_TWO_WIN   (1u << 11) /* pckeyboard: second window at loc+4 */
#define VF_IOAPIC_DS (1u << 12) /* accepts `intr apic` (downstream) */
#define VF_PIT       (1u << 13) /* the 8254: its line is ISA IRQ 0 */

struct vdev_type {
    const char *name;
    unsigned arch; /* ARCH_* mask */
    unsigned flags;
    unsigned loc_spaces;   /* bit (1 << SPACE_x) for each accepted space */
    enum space bare_space; /* space of a bare number in `loc` */
    uint64_t win_size;     /* window at `loc` (bytes or ports) */
    const uint64_t *default_locs;  /* tried in order; 0-terminated */
    const uint32_t *default_lines; /* intr line for each default loc */
    uint32_t pic_lines;            /* controllers: number of input lines */
    uint16_t pci_vendor, pci_device, pci_class;
    uint8_t virtio_id;
    const struct opt_def *opts; /* terminated by an entry with name NULL */
    const char *help;
    const char *why; /* VF_REJECT / VF_IGNORE reason */
    const char *example;
};

/* Top-level option handler ids (opt_def.id). */
enum top_id {
    TOP_SYSTEM = 1,
    TOP_RAM,
    TOP_ROM,
    TOP_CPU,
    TOP_LOAD,
    TOP_CMDLINE,
    TOP_VDEV,
    TOP_PASS,
    TOP_RESERVE,
    TOP_LOGGER,
    TOP_DUMP,
    TOP_DRYRUN,
    TOP_SET,
    TOP_UNSUPPORTED,
    TOP_TOLERANCE,
    TOP_SAFETY,
    TOP_BLOB,
    TOP_USER,
    TOP_REJECTED,
};
/* Context option ids. */
enum ctx_id {
    CPU_RUNMASK = 100,
    CPU_PARTITION,
    CPU_CLUSTER,
    CPU_SCHED,
    PASS_LOC,
    PASS_INTR,
    RES_LOC,
    RES_INTR,
    VD_LOC,
    VD_INTR,
    VD_NAME,
    VD_HOSTDEV,
    VD_OTHER,
    VD_INTRMAP,
};

extern const struct opt_def top_opts[];
extern const struct opt_def cpu_opts[];
extern const struct opt_def pass_opts[];
extern const struct opt_def reserve_opts[];
extern const struct opt_def set_vars[];
extern const struct vdev_type *const vdev_types[]; /* NULL-terminated */
extern const char *const log_filter_names[];       /* NULL-terminated */

/* opt_find: entry named `name` in a NULL-name-terminated table, or NULL. */
const struct opt_def *opt_find(const struct opt_def *tab, const char *name);
/* vdev_type_find: normalises "pl011", "vdev-pl011", "vdev-pl011.so". */
const struct vdev_type *vdev_type_find(const char *word);
/* opt_type_syntax: a short word for the argument type ("size", "loc"). */
const char *opt_type_word(enum opt_type t);

#endif

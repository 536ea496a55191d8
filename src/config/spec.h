/*
 * spec.h: the VM description that the configuration front end produces.
 *
 * Plain data: no KVM, no file descriptors. Everything qvm needs to assemble
 * the VM is here, already checked (no overlaps, interrupts on existing
 * controller lines, host files present) and with every default placement
 * resolved, so that `dryrun` prints exactly what the VM builder will use.
 * Strings are owned by the spec and freed by spec_free().
 */
#ifndef QVM_CONFIG_SPEC_H
#define QVM_CONFIG_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "config/diag.h"
#include "util/vec.h"

struct vdev_type;
struct opt_def;

enum arch { ARCH_X86_64 = 1 << 0, ARCH_AARCH64 = 1 << 1 };
#define ARCH_ALL (ARCH_X86_64 | ARCH_AARCH64)
const char *arch_name(enum arch a);

/* Address spaces that a location can name (qvm-reference.md 3.2). */
enum space { SPACE_MEM, SPACE_IO, SPACE_PCI };

struct bdf {
    uint8_t bus, dev, fn;
};

/*
 * struct loc: a resolved `loc`. For mem/io, [base, base+size). For PCI, a
 * guest BDF, or (pass-through only) a host device named by IDs.
 */
struct loc {
    enum space space;
    uint64_t base, size;
    struct bdf bdf;
    bool has_host;      /* pass: "=host" given */
    uint64_t host_base; /* pass mem: host-physical start */
    bool host_is_bdf;   /* pass pci: "=pci:B:D.F" */
    struct bdf host_bdf;
    bool by_id; /* pci:VID/DID[/IDX] (guest BDF auto or given) */
    uint16_t vid, did;
    uint16_t idx;        /* pci:VID/DID/IDX: the idx-th such host function */
    char host_desc[128]; /* pass: the host's side as found (dryrun) */
    char host_bars[192]; /* pass pci: the host function's BARs (dryrun) */
    char attrs[16];      /* pass mem: attribute letters as written */
    bool is_default;     /* chosen by qvm, not written in the config */
};

/* What a `pass loc mem:` attribute string asks for (qvm-reference 2.9):
 * letters left to right, after `+` added (the start), after `-` removed.
 * No attributes: read and write, uncached. Otherwise the set starts empty
 * (or at read+write when the string starts with `-`). `c` cacheable (else
 * uncached, as `n` says); x, e, m, d, s, t change nothing on Linux. */
struct pass_attrs {
    bool read, write, cached;
};
void pass_attrs_parse(const char *attrs, struct pass_attrs *out);

/* struct intr: `PIC:LINE`, or `apic` (only on ioapic). */
struct intr {
    int pic; /* index into spec->vdevs of the controller; -1 apic */
    uint32_t line;
    bool has_host; /* pass: "=host_vector" */
    uint32_t host_vector;
    bool unmask_u; /* pass: ",u" */
    /* pass (qvm's extension, docs/passthrough.md): the host source after
     * `=`: `uio:PATH` (a UIO device, /dev/uioN; `uio:uioN` is short for
     * it) or `fd:N` (a readable descriptor qvm inherited). */
    enum intr_src { INTR_SRC_NONE, INTR_SRC_UIO, INTR_SRC_FD } src;
    char src_path[64]; /* INTR_SRC_UIO: the device's path */
    int src_fd;        /* INTR_SRC_FD */
    char src_desc[96]; /* INTR_SRC_UIO: the host device as sysfs has it */
    bool is_default;
    struct src_span span;
};

/* struct hostdev: one `hostdev` word (ser8250, virtio-console, -blk...). */
enum hostdev_dir { HOSTDEV_BOTH, HOSTDEV_IN, HOSTDEV_OUT };
enum hostdev_kind {
    HOSTDEV_STDIO, /* "-": qvm's stdin and/or stdout */
    HOSTDEV_PATH,  /* a file, device or FIFO */
    HOSTDEV_PIPE,  /* ">|command": output piped to a spawned shell command */
    HOSTDEV_PTY,   /* "pty": a new pseudo-terminal whose name qvm prints */
    HOSTDEV_TAP,   /* virtio-net peer: a Linux tap interface */
    HOSTDEV_PEER,  /* virtio-net peer: another qvm's vdev */
};
struct hostdev {
    enum hostdev_dir dir;
    enum hostdev_kind kind;
    char *path; /* path, command, tap name or peer socket path */
    struct src_span span;
};

/* One option value as written, after type checking (see schema.h). */
struct opt_val {
    const struct opt_def *def;
    char *text;          /* the argument(s) as written, space-joined */
    uint64_t num;        /* OPT_NUM/OPT_SIZE/OPT_ENUM index/OPT_BOOL */
    uint64_t num2, num3; /* second/third fields of composite options */
    struct src_span span;
};

enum mem_kind { MEM_RAM, MEM_ROM, MEM_RESERVED };
struct mem_region {
    enum mem_kind kind;
    uint64_t base, size;
    bool base_default; /* "ram LENGTH": placed after the previous region */
    struct src_span span;
};

enum sched_policy {
    SCHED_P_DEFAULT,
    SCHED_P_RR,
    SCHED_P_FIFO,
    SCHED_P_OTHER,
    SCHED_P_SPORADIC
};
struct sched_spec {
    enum sched_policy policy;
    uint32_t prio;
    /* sporadic: hi,lo,max_repl,repl_period_ns,init_budget_ns */
    uint32_t lo_prio, max_repl;
    uint64_t repl_period_ns, init_budget_ns;
};

struct cpu_spec {
    unsigned index;
    bool has_runmask;
    uint64_t runmask[4]; /* host CPUs 0..255 */
    char *cluster;       /* as written; resolved into runmask */
    char *partition;     /* QNX APS partition: warned, not applied */
    struct sched_spec sched;
    struct src_span span;
};

enum blob_type {
    BLOB_NONE,
    BLOB_GUEST,
    BLOB_DATA,
    BLOB_INITRD,
    BLOB_ACPI,
    BLOB_FDT
};
const char *blob_type_name(enum blob_type b);

/* What `load` found in the file (sniffed by content, see loader/sniff.h). */
enum image_fmt {
    IMG_RAW,
    IMG_ELF32,
    IMG_ELF64,
    IMG_MULTIBOOT1_ELF,
    IMG_MULTIBOOT1_AOUT,
    IMG_MULTIBOOT2,
    IMG_BZIMAGE,
    IMG_PVH_ELF,
    IMG_GZIP,
    IMG_ARM64_IMAGE,
    IMG_FDT,
};
const char *image_fmt_name(enum image_fmt f);

struct load_spec {
    enum blob_type blob;
    bool has_addr;
    uint64_t addr;
    char *path;
    uint64_t file_size;
    enum image_fmt fmt;
    enum image_fmt inner_fmt; /* for IMG_GZIP: the decompressed format */
    bool sets_entry;          /* the first executable image */
    struct src_span span;
};

struct pass_spec {
    enum blob_type blob;
    VEC(struct loc) locs;
    VEC(struct intr) intrs;
    struct src_span span;
};

struct reserve_spec {
    VEC(struct loc) locs;
    VEC(uint32_t) intrs; /* plain numbers: lines of the default controller */
    struct src_span span;
};

/* A PCI BAR assigned by qvm for an emulated function. */
enum bar_kind { BAR_NONE, BAR_IO, BAR_MEM32, BAR_MEM64 };
struct bar {
    enum bar_kind kind;
    uint64_t base, size;
    const char *what; /* "virtio registers", "msi-x", "factory page" */
};

struct pci_func {
    struct bdf bdf;
    uint16_t vendor, device, class_code; /* class: base<<8 | sub */
    struct bar bars[6];
    uint8_t intx_pin; /* 1 = INTA .. 4 = INTD, 0 none */
    struct intr intx; /* the controller line INTx is routed to */
    uint16_t msix_vectors;
    /* pci-dummy `clone`: the rest of the host function's identity */
    bool cloned;
    uint8_t revision, prog_if;
    uint16_t subsys_vendor, subsys_id;
};

struct vdev_spec {
    const struct vdev_type *type;
    char *name; /* `name`, or NULL */
    bool has_loc;
    struct loc loc; /* mem/io window, or the PCI BDF */
    bool is_pci;    /* a PCI function (loc pci:, or by default) */
    struct pci_func pci;
    VEC(struct intr) intrs;
    VEC(struct hostdev) hostdevs;
    VEC(struct opt_val) opts; /* every other option, as typed values */
    uint32_t pic_lines;       /* controllers: number of input lines */
    struct src_span span;
};

struct set_var {
    char *name, *value;
    int cpu;  /* index of the current cpu context, or -1 */
    int vdev; /* index of the current vdev context, or -1 */
    struct src_span span;
};

enum unsup_type {
    UNSUP_INSTRUCTION,
    UNSUP_REFERENCE,
    UNSUP_REGISTER,
    UNSUP_NTYPES
};
enum unsup_action { UNSUP_ABORT, UNSUP_FAIL, UNSUP_IGNORE };

/* A placed window in one of the address spaces, for overlap checks. */
struct placed {
    enum space space;
    uint64_t base, size; /* for PCI: base = bus<<8|dev<<3|fn, size 1 (or 8) */
    char *what;          /* "ram", "rom", "vdev ser8250", "pass", ... */
    bool is_default;
    bool reserve;
    struct src_span span;
};

struct vm_spec {
    enum arch arch;
    char *system; /* NULL: "qvm-guest" for dump prefixes */
    VEC(struct mem_region) mem;
    VEC(struct cpu_spec) cpus;
    VEC(struct load_spec) loads;
    char *cmdline;
    VEC(struct vdev_spec) vdevs;
    VEC(struct pass_spec) passes;
    VEC(struct reserve_spec) reserves;
    VEC(struct set_var) sets;
    VEC(struct placed) placed; /* every window, sorted by space/base */
    uint8_t log_dest[8];       /* per log_class, from `logger` */
    enum unsup_action unsupported[UNSUP_NTYPES];
    uint64_t tolerance_us; /* 0: default (10 % of the host tick) */
    int safety;            /* -1 unset, 0 none, 1 warn, 2 required */
    char *dump;            /* directory, or "|command" */
    char *user;            /* `user NAME[:GROUP]`, or NULL */
    bool dryrun;
    int entry_load;         /* index into loads, or -1 */
    bool has_pci;           /* any PCI function: host bridge at 00:00.0 */
    VEC(char *) span_files; /* owned: file names the spans point to */
};

void spec_init(struct vm_spec *s, enum arch arch);
/* vdev_spec_clear: free what a vdev_spec owns (name, hostdev paths,
 * option texts, its vectors); the struct itself stays. */
void vdev_spec_clear(struct vdev_spec *vd);
void spec_free(struct vm_spec *s);

/* Helpers for the VM builder and the printers. */
const struct opt_val *vdev_opt(const struct vdev_spec *vd, const char *name);
const char *vdev_type_name(const struct vdev_spec *vd);
/* pic_label: the controller's name as written in `intr` ("myioapic"). */
const char *spec_pic_label(const struct vm_spec *s, int pic);
/* spec_set_var: last `set NAME` in the given context (-1: global) or NULL. */
const char *spec_set_var(const struct vm_spec *s, const char *name);
/* spec_set_bool: a global boolean `set NAME` (1 on, 0 off), or dflt. */
int spec_set_bool(const struct vm_spec *s, const char *name, int dflt);

#endif

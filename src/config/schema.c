/*
 * schema.c: the qvmconf language, as data (see schema.h).
 * Sources: qvm-reference.md sections 2-4 (QNX Hypervisor 7.0-8.0 docs).
 * Defaults marked "qvm" are this implementation's choices, documented in
 * docs/qvmconf.md.
 */
#include "config/schema.h"

#include <string.h>

/* ---- shared option entries --------------------------------------------- */

#define O_NAME                                                                 \
    {                                                                          \
        .name = "name", .type = OPT_NAME, .id = VD_NAME,                       \
        .syntax = "name NAME",                                                 \
        .help =                                                                \
            "instance name: the vdev appears as /dev/qvm/SYSTEM/NAME (on "     \
            "Linux: RUNDIR/SYSTEM/NAME, docs/virtio-net.md); controllers are " \
            "referred to by it in `intr`",                                     \
        .example = "name console0"                                             \
    }
#define O_LOG                                                                  \
    {                                                                          \
        .name = "log", .type = OPT_LOG, .id = VD_OTHER,                        \
        .syntax = "log FILTER[,FILTER...] DEST",                               \
        .help = "where this vdev's messages of the listed classes go (as for " \
                "`logger`; the other classes follow `logger`): the lines qvm " \
                "logs under the vdev's type name. Routing is per type: vdevs " \
                "of one type share it (a warning when they disagree)",         \
        .example = "log debug,info stderr"                                     \
    }
/* log on a vdev that logs nothing under its own name: warned about. */
#define O_LOG_NONE(why_)                                                       \
    {                                                                          \
        .name = "log", .type = OPT_LOG, .flags = OF_IGNORED, .id = VD_OTHER,   \
        .syntax = "log FILTER[,FILTER...] DEST",                               \
        .help = "this vdev's messages: classes as for `logger`", .why = why_   \
    }
#define O_SCHED                                                                \
    {                                                                          \
        .name = "sched", .type = OPT_SCHED, .id = VD_OTHER,                    \
        .syntax = "sched PRIO[r|f|o]",                                         \
        .help = "policy and priority of the vdev's own host threads "          \
                "(SCHED_RR; f SCHED_FIFO; o SCHED_OTHER at nice 0), set by "   \
                "each thread as it starts; a warning when the host refuses "   \
                "(CAP_SYS_NICE or RLIMIT_RTPRIO)",                             \
        .example = "sched 10"                                                  \
    }
/* sched on a vdev without a host thread of its own: warned about. */
#define O_SCHED_NO_THREAD                                                      \
    {                                                                          \
        .name = "sched", .type = OPT_SCHED, .flags = OF_IGNORED,               \
        .id = VD_OTHER, .syntax = "sched PRIO[r|f|o]",                         \
        .help = "QNX: priority of the vdev's host-side input threads",         \
        .why = "this vdev has no host thread of its own (qvm's shared I/O "    \
               "thread and the vCPU threads serve it), so there is no thread " \
               "to give the priority to"                                       \
    }
#define O_INTR(dflt_)                                                          \
    {                                                                          \
        .name = "intr", .type = OPT_INTR, .id = VD_INTR,                       \
        .syntax = "intr PIC:LINE", .def = dflt_,                               \
        .help = "the interrupt the device raises: line LINE of the interrupt " \
                "controller named PIC",                                        \
        .example = "intr myioapic:4"                                           \
    }
#define O_LOC(dflt_, ex)                                                       \
    {                                                                          \
        .name = "loc", .type = OPT_LOC, .id = VD_LOC,                          \
        .syntax = "loc [mem:|io:]ADDR | pci:BUS:DEV[.FUNC]", .def = dflt_,     \
        .help = "where the device appears to the guest", .example = ex         \
    }
#define O_HOSTDEV(help_)                                                       \
    {                                                                          \
        .name = "hostdev", .type = OPT_HOSTDEV, .flags = OF_MULTI,             \
        .id = VD_HOSTDEV,                                                      \
        .syntax = "hostdev [<|>]PATH | [<|>]- | >\"|CMD\" | "                  \
                  "pty",                                                       \
        .help = help_, .example = "hostdev >-"                                 \
    }
#define O_DELAYED                                                              \
    {                                                                          \
        .name = "delayed", .type = OPT_DELAYED, .id = VD_OTHER,                \
        .syntax = "delayed SECS|forever",                                      \
        .help = "open the host device on the guest's first access, retrying "  \
                "for SECS seconds (0: once; forever: never give up)",          \
        .example = "delayed 5"                                                 \
    }
#define O_LEGACY                                                               \
    {                                                                          \
        .name = "legacy", .type = OPT_FLAG, .id = VD_OTHER,                    \
        .syntax = "legacy",                                                    \
        .help = "also present the VIRTIO 0.9.5 legacy interface "              \
                "(transitional PCI device IDs, I/O BAR)",                      \
        .ign_arch = ARCH_AARCH64,                                              \
        .ign_why = "the device is on virtio-mmio there (no PCI bus), which "   \
                   "qvm presents as version 2 (VIRTIO 1.x) only"               \
    }
#define O_END                                                                  \
    {                                                                          \
        0                                                                      \
    }

static const char *const on_off[] = {"enable", "disable", NULL};

/* ---- top level ---------------------------------------------------------- */

const struct opt_def top_opts[] = {
    {.name = "system",
     .type = OPT_STR,
     .id = TOP_SYSTEM,
     .syntax = "system NAME",
     .help = "names the VM; must be the first entry. Named vdevs appear "
             "under /dev/qvm/NAME (on Linux: RUNDIR/NAME, where RUNDIR is "
             "$QVM_RUNTIME_DIR, /run/qvm or $XDG_RUNTIME_DIR/qvm), "
             "dump files use it as prefix",
     .def = "qvm-guest (dump prefix)",
     .example = "system guest1"},
    {.name = "ram",
     .type = OPT_STR,
     .flags = OF_MULTI,
     .id = TOP_RAM,
     .syntax = "ram [START,]LENGTH",
     .help = "guest RAM at START (default: right after the highest RAM/ROM "
             "so far); repeatable",
     .example = "ram 1m,1023m"},
    {.name = "rom",
     .type = OPT_STR,
     .flags = OF_MULTI,
     .id = TOP_ROM,
     .syntax = "rom [START,]LENGTH",
     .help = "guest ROM: like ram, but the guest cannot write it",
     .example = "rom 0xc0000,0x40000"},
    {.name = "cpu",
     .type = OPT_FLAG,
     .flags = OF_CONTEXT | OF_MULTI,
     .id = TOP_CPU,
     .syntax = "cpu [runmask|cluster|partition|sched ...]",
     .def = "one vCPU when no cpu is given",
     .help = "adds one vCPU (one host thread); the options after it "
             "configure it",
     .example = "cpu runmask 1 sched 10"},
    {.name = "load",
     .type = OPT_STR,
     .flags = OF_MULTI,
     .id = TOP_LOAD,
     .syntax = "[BLOBTYPE] load [ADDR,]FILE",
     .help = "copies FILE into guest memory. ELF (also multiboot), Linux "
             "bzImage, PVH vmlinux and gzip images (x86-64), Linux arm64 "
             "Image, gzip'd Image and ELF64 (aarch64) are recognised by "
             "content and placed where their headers say (an arm64 Image "
             "at ADDR when given); the first executable image sets the "
             "entry point. Anything else is raw data at ADDR or at the "
             "first free RAM",
     .example = "load guest.elf"},
    {.name = "cmdline",
     .type = OPT_STR,
     .id = TOP_CMDLINE,
     .syntax = "cmdline STRING",
     .help = "command line for the guest (Linux boot_params, multiboot "
             "cmdline, PVH cmdline, FDT /chosen/bootargs)",
     .example = "cmdline \"console=ttyS0 panic=-1\""},
    {.name = "vdev",
     .type = OPT_STR,
     .flags = OF_CONTEXT | OF_MULTI,
     .id = TOP_VDEV,
     .syntax = "vdev TYPE [option ...]",
     .help = "adds a virtual device of TYPE (also written vdev-TYPE or "
             "vdev-TYPE.so); see `qvm help vdev`",
     .example = "vdev ser8250 hostdev >-"},
    {.name = "pass",
     .type = OPT_FLAG,
     .id = TOP_PASS,
     .syntax = "[BLOBTYPE] pass [loc LOC] [intr INTR]",
     .flags = OF_CONTEXT | OF_MULTI,
     .help = "passes a host memory region, I/O ports, PCI device or "
             "interrupt through to the guest (PCI: through VFIO; memory: "
             "/dev/mem; ports: trapped and forwarded; interrupts: from "
             "a UIO device or an inherited descriptor named after `=`, "
             "docs/passthrough.md)",
     .example = "pass loc pci:0:2.0=pci:0:2.0"},
    {.name = "reserve",
     .type = OPT_FLAG,
     .flags = OF_CONTEXT | OF_MULTI,
     .id = TOP_RESERVE,
     .syntax = "reserve [loc LOC[,LENGTH]] [intr N]",
     .help = "keeps qvm from placing anything there automatically; "
             "explicit use stays allowed",
     .example = "reserve loc 0xa0000,0x20000"},
    {.name = "logger",
     .type = OPT_LOG,
     .flags = OF_MULTI,
     .id = TOP_LOGGER,
     .syntax = "logger FILTER[,FILTER...] stdout|stderr|slog|none",
     .def = "fatal,internal,error,warn,info to stderr",
     .help = "routes qvm's messages of the listed classes (fatal, internal, "
             "error, warn, info, debug, verbose); slog means syslog",
     .example = "logger debug,info stdout"},
    {.name = "dump",
     .type = OPT_HOSTPATH,
     .id = TOP_DUMP,
     .syntax = "dump DIRECTORY | \"|COMMAND\"",
     .help = "where a guest dump goes (SIGUSR2, watchdog action dump, a "
             "fatal guest fault): PREFIX-YYYYMMDD-hhmmss.gcore in DIRECTORY, "
             "or piped to COMMAND (an ELF core; docs/dumps.md)",
     .example = "dump /var/dumps"},
    {.name = "dryrun",
     .type = OPT_FLAG,
     .id = TOP_DRYRUN,
     .syntax = "dryrun",
     .help = "assemble the VM, print it, and exit without starting it"},
    {.name = "set",
     .type = OPT_STR,
     .flags = OF_MULTI,
     .id = TOP_SET,
     .syntax = "set VARIABLE VALUE",
     .help = "sets a configuration variable in the current context (global, "
             "cpu or vdev); `qvm set ?` lists them",
     .example = "set exit-on-halt off"},
    {.name = "unsupported",
     .type = OPT_STR,
     .flags = OF_MULTI,
     .id = TOP_UNSUPPORTED,
     .syntax = "unsupported instruction|reference|register abort|fail|ignore",
     .def = "instruction fail, reference ignore, register fail",
     .help = "what qvm does when the guest does something it cannot "
             "emulate: an instruction KVM cannot emulate, an access to an "
             "unmapped port or address (reference), an MSR KVM does not "
             "implement (register). abort: exit 5 naming it; fail: an "
             "exception to the guest (#UD for an instruction, #GP(0) "
             "otherwise); ignore: the instruction is skipped, unmapped "
             "reads return all ones and MSRs read 0, writes are dropped "
             "(docs/exit-codes.md). On aarch64 only `reference` reaches "
             "qvm (fail: a synchronous external data abort at the access); "
             "`instruction` and `register` warn there (KVM raises UNDEF in "
             "the guest itself)",
     .example = "unsupported reference abort"},
    {.name = "tolerance",
     .type = OPT_NUM,
     .id = TOP_TOLERANCE,
     .syntax = "tolerance MICROSECONDS",
     .def = "100 (10% of QNX's 1 ms tick)",
     .help = "how late a host timer that drives a guest timer (HPET, 8254, "
             "RTC; on aarch64 the SP805 and the power button's release) "
             "may fire: qvm rounds its device timers' deadlines up to "
             "a multiple of it, so that timers due close together share one "
             "host wake-up",
     .example = "tolerance 100",
     .max = 1000000000},
    {.name = "safety",
     .type = OPT_ENUM,
     .id = TOP_SAFETY,
     .syntax = "safety none|warn|required",
     .choices = (const char *const[]){"none", "warn", "required", NULL},
     .help = "QNX Hypervisor for Safety: reaction to components that are not "
             "safety-certified. No part of qvm is certified: `required` is "
             "an error, `warn` warns, `none` is accepted"},
    {.name = "guest",
     .type = OPT_FLAG,
     .flags = OF_BLOB,
     .id = TOP_BLOB,
     .syntax = "guest load FILE",
     .help = "the guest image (same as a plain "
             "load)"},
    {.name = "data",
     .type = OPT_FLAG,
     .flags = OF_BLOB,
     .id = TOP_BLOB,
     .syntax = "data load [ADDR,]FILE",
     .help = "raw data, never interpreted and never an entry point"},
    {.name = "initrd",
     .type = OPT_FLAG,
     .flags = OF_BLOB,
     .id = TOP_BLOB,
     .syntax = "initrd load [ADDR,]FILE",
     .help = "initial RAM disk; its place is passed to the guest "
             "(boot_params, PVH module, FDT /chosen)"},
    {.name = "acpi",
     .type = OPT_FLAG,
     .flags = OF_BLOB,
     .id = TOP_BLOB,
     .arch = ARCH_X86_64,
     .syntax = "acpi load [ADDR,]FILE",
     .help = "an extra ACPI table added to the XSDT"},
    {.name = "fdt",
     .type = OPT_FLAG,
     .flags = OF_BLOB,
     .id = TOP_BLOB,
     .arch = ARCH_AARCH64,
     .syntax = "fdt load FILE",
     .help = "an FDT overlay merged onto the generated device tree"},
    {.name = "suppress",
     .type = OPT_FLAG,
     .flags = OF_REJECTED,
     .id = TOP_REJECTED,
     .syntax = "suppress ...",
     .why = "QNX documents no syntax for it, so qvm cannot honour it"},
    {.name = "debug",
     .type = OPT_FLAG,
     .flags = OF_REJECTED,
     .id = TOP_REJECTED,
     .syntax = "debug ...",
     .why = "QNX documents `debug` only as a vdev variable: write "
            "`set debug on|off` after a vdev"},
    {.name = "gdb",
     .type = OPT_FLAG,
     .flags = OF_REJECTED,
     .id = TOP_REJECTED,
     .syntax = "gdb ...",
     .why = "no live GDB stub yet; use `dump` and a core-file debugger"},
    {.name = "user",
     .type = OPT_STR,
     .id = TOP_USER,
     .syntax = "user USER[:GROUP]",
     .def = "the user qvm was started as",
     .help = "started as root, qvm drops to this user and group (names "
             "from /etc/passwd and /etc/group, or numbers; default group: "
             "the user's own) once /dev/kvm, the disks, hostdevs, taps "
             "and sockets are open, before the guest runs; the only "
             "supplementary group is GROUP. QNX documents no syntax for "
             "`user`: this one is qvm's",
     .example = "user qvm:kvm"},
    O_END,
};

/* ---- cpu, pass, reserve contexts ---------------------------------------- */

const struct opt_def cpu_opts[] = {
    {.name = "runmask",
     .type = OPT_CPULIST,
     .id = CPU_RUNMASK,
     .syntax = "runmask N[,N...]",
     .def = "any host CPU",
     .help = "host CPUs (0-based) the vCPU thread may run on",
     .example = "runmask 0,1",
     .max = 255},
    {.name = "cluster",
     .type = OPT_STR,
     .id = CPU_CLUSTER,
     .syntax = "cluster NAME",
     .def = "no restriction",
     .help = "host CPU cluster the vCPU thread runs on. On Linux the "
             "clusters are `_cpu-N` (host CPU N) and the names listed in "
             "$QVM_CLUSTERS or /etc/qvm/clusters (NAME CPU[,CPU...])",
     .example = "cluster _cpu-1"},
    {.name = "partition",
     .type = OPT_STR,
     .flags = OF_IGNORED,
     .id = CPU_PARTITION,
     .syntax = "partition NAME",
     .why = "adaptive partitioning is a QNX scheduler feature; on Linux the "
            "vCPU thread stays in qvm's cgroup",
     .help = "QNX APS partition of the vCPU thread"},
    {.name = "sched",
     .type = OPT_SCHED,
     .id = CPU_SCHED,
     .syntax = "sched PRIO[r|f|o] | sched HI,LO,MAXREPL,PERIOD,BUDGETs",
     .def = "qvm's own policy and priority",
     .help = "vCPU thread priority and policy: r round-robin (SCHED_RR), "
             "f FIFO (SCHED_FIFO), o other (= r); the five-number form is "
             "QNX sporadic scheduling, approximated by SCHED_RR at HI",
     .example = "sched 10f"},
    O_END,
};

const struct opt_def pass_opts[] = {
    {.name = "loc",
     .type = OPT_LOC,
     .flags = OF_MULTI,
     .id = PASS_LOC,
     .syntax = "loc [mem:|io:]START,LENGTH[,ATTRS][=HOST] | "
               "pci:B:D[.F][=pci:B:D.F|=pci:VID/DID] | pci:VID/DID",
     .help = "host resource to pass through: a memory region (ATTRS: "
             "r w x c e m n ...: read-only without w, uncached unless c; "
             "HOST defaults to the same address; mapped from /dev/mem), "
             "I/O ports (=HOST: other host ports; forwarded by qvm), or a "
             "PCI device (VFIO)",
     .example = "loc mem:0x2000,0x1000,rwn=0x1000"},
    {.name = "intr",
     .type = OPT_INTR,
     .flags = OF_MULTI,
     .id = PASS_INTR,
     .syntax = "intr PIC:LINE[,u][=HOSTVECTOR|=uio:PATH|=fd:N]",
     .help = "forwards a host interrupt to this guest controller line, "
             "level-triggered until the guest's EOI: qvm's extension "
             "=uio:/dev/uioN (or =uio:uioN) takes it from a UIO device "
             "(e.g. a PCI function bound to uio_pci_generic), =fd:N from "
             "a readable descriptor qvm inherited; a bare HOSTVECTOR (or "
             "none) is a warning: user space gets no bare host interrupt "
             "(a PCI function's also come with `pass loc pci:`)",
     .example = "intr myioapic:11=uio:/dev/uio0"},
    O_END,
};

const struct opt_def reserve_opts[] = {
    {.name = "loc",
     .type = OPT_LOC,
     .flags = OF_MULTI,
     .id = RES_LOC,
     .syntax = "loc [mem:]START,LENGTH | io:PORT[,LENGTH] | pci:B:D[.F]",
     .help = "a range qvm must not pick for automatic placements",
     .example = "loc 0xa0000,0x20000"},
    {.name = "intr",
     .type = OPT_NUM,
     .flags = OF_MULTI,
     .id = RES_INTR,
     .syntax = "intr N",
     .help = "an interrupt line (of the default "
             "controller) qvm must not assign "
             "automatically",
     .example = "intr 39"},
    O_END,
};

/* ---- set variables ------------------------------------------------------ */

const struct opt_def set_vars[] = {
    {.name = "counter-offset",
     .type = OPT_NUM,
     .flags = OF_SET_GLOB,
     .def = "all ones (guest counter starts at 0)",
     .help = "host minus guest time-stamp counter; all ones: the guest's "
             "counter starts at 0 (KVM's own start); 0: the same as the "
             "host's. Set on every vCPU with KVM_VCPU_TSC_OFFSET (Linux "
             "5.16); a warning when KVM lacks it",
     .ign_arch = ARCH_AARCH64,
     .ign_why = "qvm does not offset the guest's generic timer: its "
                "virtual counter (CNTVCT_EL0) starts at about 0 when KVM "
                "creates the VM, as KVM sets it"},
    {.name = "debug",
     .type = OPT_BOOL,
     .flags = OF_SET_VDEV,
     .def = "on",
     .help = "include this vdev in the SIGUSR1 status report (which lists "
             "every device with its state: virtio status, features and "
             "queue indices; off leaves it out)"},
    {.name = "exit-on-halt",
     .type = OPT_BOOL,
     .flags = OF_SET_GLOB | OF_SET_GUEST,
     .def = "on",
     .help = "on: a guest HLT exits to the hypervisor (KVM blocks the vCPU "
             "thread until an interrupt is due; the host CPU is free); off: "
             "the guest halts in hardware (KVM_CAP_X86_DISABLE_EXITS HLT: "
             "lower wake-up latency, the host CPU stays busy; a warning when "
             "KVM lacks it). The SIGUSR1 report says which is in force",
     .ign_arch = ARCH_AARCH64,
     .ign_why = "KVM, not qvm, decides whether a guest's WFI leaves the "
                "guest (then KVM blocks the vCPU thread until an interrupt "
                "is due); qvm has no control over it there"},
    {.name = "fdt-dump-file",
     .type = OPT_STR,
     .flags = OF_SET_GLOB | OF_SET_GUEST,
     .arch = ARCH_AARCH64,
     .help = "write the device tree qvm built from the realized machine "
             "to this file when the VM starts (with dryrun: the tree the "
             "configuration would give, the same bytes)"},
    {.name = "ram-pages",
     .type = OPT_ENUM,
     .flags = OF_SET_GLOB | OF_SET_GUEST,
     .choices = (const char *const[]){"huge", "small", "hugetlb", NULL},
     .def = "huge",
     .help = "the host pages behind guest ram. huge: each ram region is "
             "placed at a host address congruent to its guest address "
             "modulo 2 MiB and transparent huge pages are requested "
             "(MADV_HUGEPAGE), so KVM can map guest memory with 2 MiB "
             "pages; small: 4 KiB pages only; hugetlb: reserved 2 MiB "
             "pages of the host's pool (`sysctl vm.nr_hugepages`), taken "
             "at start (an error when too few are free), ram base and size "
             "multiples of 2 MiB. Rom stays on 4 KiB pages. qvm's own (QNX has "
             "no such variable)"},
    {.name = "grow-heap",
     .type = OPT_SIZE,
     .flags = OF_SET_GLOB | OF_IGNORED,
     .why = "qvm's heap grows on demand on Linux",
     .help = "enlarge qvm's heap at start"},
    {.name = "message-block-timeout",
     .type = OPT_NUM,
     .flags = OF_SET_GLOB | OF_IGNORED,
     .def = "10000",
     .why = "it bounds QNX message passing, which qvm on Linux does not use",
     .help = "longest a message to a host server may block (ms)"},
    {.name = "slog-buffer",
     .type = OPT_SIZE,
     .flags = OF_SET_GLOB | OF_IGNORED,
     .def = "4K",
     .why = "slog messages go to syslog, which does its own buffering",
     .help = "slog buffer size"},
    {.name = "vdev-message-block-timeout",
     .type = OPT_NUM,
     .flags = OF_SET_VDEV | OF_IGNORED,
     .why = "it bounds QNX message passing, which qvm on Linux does not use",
     .help = "per-vdev message-block-timeout"},
    {.name = "gic-hwassist",
     .type = OPT_BOOL,
     .flags = OF_SET_GLOB | OF_IGNORED,
     .arch = ARCH_AARCH64,
     .def = "true",
     .why = "KVM's in-kernel vGIC always uses the host GIC's "
            "virtualisation assist (qvm has no software GIC)",
     .help = "use the hardware GIC virtualisation assist"},
    {.name = "host-paddr-gicd",
     .type = OPT_SIZE,
     .flags = OF_SET_GLOB | OF_IGNORED,
     .arch = ARCH_AARCH64,
     .why = "KVM's vgic finds the host GIC itself",
     .help = "host GIC distributor address"},
    {.name = "host-paddr-gich",
     .type = OPT_SIZE,
     .flags = OF_SET_GLOB | OF_IGNORED,
     .arch = ARCH_AARCH64,
     .why = "KVM's vgic finds the host GIC itself",
     .help = "host GICv2 hypervisor control interface address"},
    {.name = "host-paddr-gicv",
     .type = OPT_SIZE,
     .flags = OF_SET_GLOB | OF_IGNORED,
     .arch = ARCH_AARCH64,
     .why = "KVM's vgic finds the host GIC itself",
     .help = "host GICv2 virtual CPU interface address"},
    {.name = "host-paddr-gicr",
     .type = OPT_SIZE,
     .flags = OF_SET_GLOB | OF_IGNORED,
     .arch = ARCH_AARCH64,
     .why = "KVM's vgic finds the host GIC itself",
     .help = "host GICv3 redistributor address"},
    {.name = "legacy-free",
     .type = OPT_BOOL,
     .flags = OF_SET_GLOB | OF_SET_GUEST,
     .arch = ARCH_X86_64,
     .def = "off",
     .help = "no legacy ISA devices in the firmware tables (ACPI FADT "
             "IAPC_BOOT_ARCH without LEGACY_DEVICES and 8042)"},
    {.name = "posted-interrupts",
     .type = OPT_BOOL,
     .flags = OF_SET_GLOB | OF_SET_GUEST | OF_IGNORED,
     .arch = ARCH_X86_64,
     .why = "KVM uses posted interrupts by itself where the host has them",
     .help = "use VT-x posted interrupts"},
    {.name = "virtual-interrupts",
     .type = OPT_BOOL,
     .flags = OF_SET_GLOB | OF_SET_GUEST | OF_IGNORED,
     .arch = ARCH_X86_64,
     .why = "KVM uses APIC virtualisation by itself where the host has it",
     .help = "use APIC virtualisation"},
    O_END,
};

const char *const log_filter_names[] = {"fatal", "internal", "error",   "warn",
                                        "info",  "debug",    "verbose", NULL};

/* ---- vdev types --------------------------------------------------------- */

#define SP(s)   (1u << (s))
#define NO_LINE UINT32_MAX

static const uint64_t gic_locs[] = {0x2f000000, 0};
static const struct opt_def gic_opts[] = {
    O_LOC("0x2f000000 (v3), 0x2c001000 (v2)", "loc 0x2f000000"),
    {.name = "gicd",
     .type = OPT_SIZE,
     .id = VD_OTHER,
     .syntax = "gicd ADDR",
     .help = "distributor address (same as loc)",
     .example = "gicd 0x2f000000"},
    {.name = "gicc",
     .type = OPT_SIZE,
     .id = VD_OTHER,
     .syntax = "gicc ADDR",
     .def = "0x2c002000",
     .help = "GICv2 CPU interface address"},
    {.name = "gicr",
     .type = OPT_SIZE,
     .id = VD_OTHER,
     .syntax = "gicr ADDR",
     .def = "0x2f100000",
     .help = "GICv3 redistributor base"},
    {.name = "version",
     .type = OPT_ENUM,
     .id = VD_OTHER,
     .syntax = "version 2|3",
     .def = "3",
     .choices = (const char *const[]){"2", "3", NULL},
     .help = "GIC architecture version presented to the guest"},
    {.name = "its",
     .flags = OF_IGNORED,
     .why = "qvm's aarch64 devices interrupt through SPIs and it has no PCI "
            "bus there, so nothing would send MSIs: no ITS is created",
     .type = OPT_SIZE,
     .id = VD_OTHER,
     .syntax = "its ADDR",
     .help = "virtual ITS address (needs num-lpis)"},
    {.name = "its-prealloc",
     .flags = OF_IGNORED,
     .why = "qvm's aarch64 devices interrupt through SPIs and it has no PCI "
            "bus there, so nothing would send MSIs: no ITS is created",
     .type = OPT_NUM_LIST,
     .id = VD_OTHER,
     .syntax = "its-prealloc NDT[,NITT]",
     .nlist = 2,
     .help = "ITS device and interrupt-translation table preallocation"},
    {.name = "num-lpis",
     .flags = OF_IGNORED,
     .why = "qvm's aarch64 devices interrupt through SPIs and it has no PCI "
            "bus there, so nothing would send MSIs: no ITS or LPIs are created",
     .type = OPT_NUM,
     .id = VD_OTHER,
     .syntax = "num-lpis N",
     .help = "number of LPIs (with its)",
     .max = 65536},
    {.name = "msi",
     .flags = OF_IGNORED,
     .why = "qvm's aarch64 devices interrupt through SPIs and it has no PCI "
            "bus there, so nothing would send MSIs: no MSI frame is created",
     .type = OPT_NUM_LIST,
     .id = VD_OTHER,
     .syntax = "msi ADDR,BASE,NUM",
     .nlist = 3,
     .help = "GICv2m-style MSI frame (GICv2 only)"},
    {.name = "host-gicd",
     .type = OPT_SIZE,
     .flags = OF_IGNORED,
     .id = VD_OTHER,
     .syntax = "host-gicd ADDR",
     .why = "deprecated by QNX, and KVM's vgic finds the host GIC itself"},
    {.name = "host-gich",
     .type = OPT_SIZE,
     .flags = OF_IGNORED,
     .id = VD_OTHER,
     .syntax = "host-gich ADDR",
     .why = "deprecated by QNX, and KVM's vgic finds the host GIC itself"},
    {.name = "host-gicr",
     .type = OPT_SIZE,
     .flags = OF_IGNORED,
     .id = VD_OTHER,
     .syntax = "host-gicr ADDR",
     .why = "deprecated by QNX, and KVM's vgic finds the host GIC itself"},
    {.name = "host-gicv",
     .type = OPT_SIZE,
     .flags = OF_IGNORED,
     .id = VD_OTHER,
     .syntax = "host-gicv ADDR",
     .why = "deprecated by QNX, and KVM's vgic finds the host GIC itself"},
    O_LOG,
    O_END,
};
static const struct vdev_type vt_gic = {
    .name = "gic",
    .arch = ARCH_AARCH64,
    .flags = VF_ONE | VF_PIC | VF_NO_INTR,
    .loc_spaces = SP(SPACE_MEM),
    .bare_space = SPACE_MEM,
    .win_size = 0x10000,
    .default_locs = gic_locs,
    .pic_lines = 1020,
    .opts = gic_opts,
    .help = "ARM generic interrupt controller; always present (named "
            "`gic`), configure it to change version or addresses",
    .example = "vdev gic version 2"};

static const uint64_t ioapic_locs[] = {0xfec00000, 0};
static const struct opt_def ioapic_opts[] = {
    O_LOC("0xfec00000", "loc 0xf8000000"),
    {.name = "intr",
     .type = OPT_INTR,
     .id = VD_INTR,
     .syntax = "intr apic",
     .def = "apic",
     .help = "downstream controller: the local APICs (`apic`, the only "
             "value)"},
    O_NAME,
    {.name = "hostvector",
     .type = OPT_NUM,
     .flags = OF_IGNORED,
     .why = "it numbers host interrupts for `pass intr`, which Linux "
            "cannot give to user space by number (`pass intr` names a UIO "
            "device or a descriptor instead, docs/passthrough.md)",
     .id = VD_OTHER,
     .syntax = "hostvector N",
     .def = "previous controller's hostvector + its line count",
     .help = "host interrupt number of input line 0 (for pass-through)"},
    O_LOG_NONE("the interrupt controllers log as qvm's interrupt "
               "platform (`irqchip`), which `logger` routes"),
    O_END,
};
static const struct vdev_type vt_ioapic = {
    .name = "ioapic",
    .arch = ARCH_X86_64,
    .flags = VF_PIC | VF_IOAPIC_DS,
    .loc_spaces = SP(SPACE_MEM),
    .bare_space = SPACE_MEM,
    .win_size = 0x1000,
    .default_locs = ioapic_locs,
    .pic_lines = 24,
    .opts = ioapic_opts,
    .help = "I/O APIC with 24 inputs, listed in the ACPI MADT and MP table. "
            "When none is configured qvm provides one named `ioapic` at "
            "0xfec00000",
    .example = "vdev ioapic loc 0xfec00000 intr apic name myioapic"};

static const uint64_t pic_locs[] = {0x20, 0xa0, 0};
static const struct opt_def pic_opts[] = {
    O_LOC("0x20 (first), 0xa0 (second)", "loc 0x20"),
    O_NAME,
    {.name = "hostvector",
     .type = OPT_NUM,
     .flags = OF_IGNORED,
     .why = "it numbers host interrupts for `pass intr`, which Linux "
            "cannot give to user space by number (`pass intr` names a UIO "
            "device or a descriptor instead, docs/passthrough.md)",
     .id = VD_OTHER,
     .syntax = "hostvector N",
     .help = "host interrupt number of input line 0 (for pass-through)"},
    O_LOG_NONE("the interrupt controllers log as qvm's interrupt "
               "platform (`irqchip`), which `logger` routes"),
    O_END,
};
static const struct vdev_type vt_8259 = {
    .name = "8259",
    .arch = ARCH_X86_64,
    .flags = VF_PIC | VF_NO_INTR,
    .loc_spaces = SP(SPACE_IO),
    .bare_space = SPACE_IO,
    .win_size = 2,
    .default_locs = pic_locs,
    .pic_lines = 8,
    .opts = pic_opts,
    .help = "8259A programmable interrupt controller (define two: master "
            "at 0x20, slave at 0xa0)",
    .example = "vdev 8259 loc 0x20"};

static const uint64_t pit_locs[] = {0x40, 0};
static const uint32_t pit_lines[] = {0, NO_LINE};
static const struct opt_def pit_opts[] = {
    O_LOC("io:0x40", "loc 0x40"),
    O_INTR("line 0 of the first ioapic"),
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_timer8254 = {
    .name = "timer8254",
    .arch = ARCH_X86_64,
    .flags = VF_ONE | VF_PIT,
    .loc_spaces = SP(SPACE_IO),
    .bare_space = SPACE_IO,
    .win_size = 4,
    .default_locs = pit_locs,
    .default_lines = pit_lines,
    .opts = pit_opts,
    .help = "Intel 8254 programmable interval timer with the port 0x61 "
            "gate (qvm's model; KVM's in-kernel PIT when the whole "
            "interrupt platform matches KVM's layout)",
    .example = "vdev timer8254 intr myioapic:0"};

static const uint64_t rtc_locs[] = {0x70, 0};
static const uint32_t rtc_lines[] = {8, NO_LINE};
static const struct opt_def rtc_opts[] = {
    O_LOC("io:0x70", "loc 0x70"),
    O_INTR("line 8 of the first ioapic"),
    {.name = "reg",
     .type = OPT_CMOS_REG,
     .flags = OF_MULTI,
     .id = VD_OTHER,
     .syntax = "reg INDEX,VALUE",
     .help = "presets CMOS register INDEX (0-127) to VALUE (0-255)",
     .example = "reg 0x0b,0x02"},
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_mc146818 = {
    .name = "mc146818",
    .arch = ARCH_X86_64,
    .flags = VF_ONE,
    .loc_spaces = SP(SPACE_IO),
    .bare_space = SPACE_IO,
    .win_size = 2,
    .default_locs = rtc_locs,
    .default_lines = rtc_lines,
    .opts = rtc_opts,
    .help = "MC146818 real-time clock and CMOS memory, set from host time",
    .example = "vdev mc146818 reg 0x0b,0x02"};

static const uint64_t hpet_locs[] = {0xfed00000, 0};
static const uint32_t hpet_lines[] = {2, 8, NO_LINE};
static const struct opt_def hpet_opts[] = {
    O_LOC("0xfed00000", "loc 0xf8008000"),
    {.name = "intr",
     .type = OPT_INTR,
     .flags = OF_MULTI,
     .id = VD_INTR,
     .syntax = "intr PIC:LINE[,PIC:LINE...]",
     .def = "timer 0 on line 2, timer 1 on line 8 of the first ioapic",
     .help = "one interrupt per timer (up to 32 timers); repeatable",
     .example = "intr myioapic:0,myioapic:8"},
    {.name = "intrmap",
     .type = OPT_INTR,
     .flags = OF_MULTI | OF_DEPRECATED,
     .id = VD_INTRMAP,
     .syntax = "intrmap PIC:LINE[,...]",
     .why = "intr",
     .help = "QNX 7.0 spelling of intr"},
    {.name = "frequency",
     .type = OPT_NUM,
     .id = VD_OTHER,
     .syntax = "frequency HZ",
     .def = "14318180",
     .help = "main counter frequency",
     .min = 1000,
     .max = 1000000000},
    {.name = "legacy-free",
     .type = OPT_FLAG,
     .id = VD_OTHER,
     .syntax = "legacy-free",
     .help = "clear LEG_RT_CAP: no legacy replacement routing"},
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_hpet = {
    .name = "hpet",
    .arch = ARCH_X86_64,
    .flags = VF_SHARED,
    .loc_spaces = SP(SPACE_MEM),
    .bare_space = SPACE_MEM,
    .win_size = 0x400,
    .default_locs = hpet_locs,
    .default_lines = hpet_lines,
    .opts = hpet_opts,
    .help = "high-precision event timer, described by the ACPI HPET table "
            "(only the first hpet is). Its lines may be shared with the PIT "
            "and RTC (legacy replacement)",
    .example = "vdev hpet loc 0xfed00000 intr myioapic:2,myioapic:8"};

static const uint64_t com_locs[] = {0x3f8, 0x2f8, 0};
static const uint32_t com_lines[] = {4, 3};
static const struct opt_def ser8250_opts[] = {
    O_LOC("io:0x3f8 (then 0x2f8)", "loc 0x3f8"),
    O_INTR("line 4 (then 3) of the first ioapic"),
    O_HOSTDEV("host end of the UART: `-` qvm's stdin and stdout, `>-` "
              "stdout only, `<PATH` input, `>PATH` output file, PATH both, "
              ">\"|CMD\" output piped to CMD, `pty` a new pseudo-terminal"),
    {.name = "batch",
     .type = OPT_NUM,
     .id = VD_OTHER,
     .syntax = "batch USEC",
     .def = "0 (no batching)",
     .help = "buffer output until USEC microseconds pass without a new "
             "character",
     .max = 10000000},
    O_DELAYED,
    O_SCHED_NO_THREAD,
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_ser8250 = {
    .name = "ser8250",
    .arch = ARCH_X86_64,
    .flags = 0,
    .loc_spaces = SP(SPACE_IO) | SP(SPACE_MEM),
    .bare_space = SPACE_IO,
    .win_size = 8,
    .default_locs = com_locs,
    .default_lines = com_lines,
    .opts = ser8250_opts,
    .help = "16550A UART (COM1 at 0x3f8 IRQ 4, then COM2 at 0x2f8 IRQ 3)",
    .example = "vdev ser8250 intr myioapic:4 hostdev >-"};

static const uint64_t pl011_locs[] = {0x1c090000, 0};
static const uint32_t pl011_lines[] = {37};
static const struct opt_def pl011_opts[] = {
    O_LOC("0x1c090000", "loc 0x1c090000"),
    O_INTR("gic:37"),
    O_HOSTDEV("host end of the UART (same forms as ser8250)"),
    {.name = "batch",
     .type = OPT_NUM,
     .id = VD_OTHER,
     .syntax = "batch USEC",
     .help = "as for ser8250",
     .max = 10000000},
    O_DELAYED,
    O_SCHED_NO_THREAD,
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_pl011 = {
    .name = "pl011",
    .arch = ARCH_AARCH64,
    .flags = 0,
    .loc_spaces = SP(SPACE_MEM),
    .bare_space = SPACE_MEM,
    .win_size = 0x1000,
    .default_locs = pl011_locs,
    .default_lines = pl011_lines,
    .opts = pl011_opts,
    .help = "ARM PL011 UART (FVP UART0 placement)",
    .example = "vdev pl011 loc 0x1c090000 intr gic:37 hostdev >-"};

#define VIRTIO_LOC                                                             \
    O_LOC("a PCI function (bus 0, next free device); on aarch64 required "     \
          "(virtio-mmio: no PCI bus)",                                         \
          "loc 0x1c0d0000")
#define VIRTIO_INTR                                                            \
    O_INTR("PCI INTx/MSI-X, assigned by qvm (required with a "                 \
           "memory loc, so on aarch64)")

static const struct opt_def vcon_opts[] = {
    VIRTIO_LOC,
    VIRTIO_INTR,
    O_HOSTDEV("host end of the console (same forms as ser8250)"),
    O_DELAYED,
    O_LEGACY,
    O_SCHED_NO_THREAD,
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_vcon = {
    .name = "virtio-console",
    .arch = ARCH_ALL,
    .flags = VF_PCI | VF_VIRTIO,
    .loc_spaces = SP(SPACE_MEM) | SP(SPACE_PCI),
    .bare_space = SPACE_MEM,
    .win_size = 0x200,
    .pci_vendor = 0x1af4,
    .pci_device = 0x1043,
    .pci_class = 0x0780,
    .virtio_id = 3,
    .opts = vcon_opts,
    .help = "VIRTIO console (Linux hvc0); PCI unless loc+intr give "
            "virtio-mmio",
    .example = "vdev virtio-console hostdev -"};

static const struct opt_def vblk_opts[] = {
    VIRTIO_LOC,
    VIRTIO_INTR,
    {.name = "hostdev",
     .type = OPT_HOSTDEV,
     .flags = OF_REQUIRED,
     .id = VD_HOSTDEV,
     .syntax = "hostdev [<]PATH",
     .help = "backing file or block device; `<` makes the disk read-only",
     .example = "hostdev disk.img"},
    O_DELAYED,
    {.name = "dio",
     .type = OPT_ENUM,
     .id = VD_OTHER,
     .syntax = "dio enable|disable",
     .def = "disable",
     .choices = on_off,
     .help = "O_DIRECT I/O (falls back to buffered I/O for good on the "
             "first failure)"},
    {.name = "threads",
     .type = OPT_NUM,
     .id = VD_OTHER,
     .syntax = "threads N",
     .def = "1",
     .help = "I/O worker threads (and request queues)",
     .min = 1,
     .max = 64},
    O_LEGACY,
    O_SCHED,
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_vblk = {
    .name = "virtio-blk",
    .arch = ARCH_ALL,
    .flags = VF_PCI | VF_VIRTIO,
    .loc_spaces = SP(SPACE_MEM) | SP(SPACE_PCI),
    .bare_space = SPACE_MEM,
    .win_size = 0x200,
    .pci_vendor = 0x1af4,
    .pci_device = 0x1042,
    .pci_class = 0x0100,
    .virtio_id = 2,
    .opts = vblk_opts,
    .help = "VIRTIO block device backed by a host file or block device",
    .example = "vdev virtio-blk hostdev disk.img"};

static const struct opt_def vnet_opts[] = {
    VIRTIO_LOC,
    VIRTIO_INTR,
    {.name = "mac",
     .type = OPT_MAC,
     .id = VD_OTHER,
     .syntax = "mac XX:XX:XX:XX:XX:XX",
     .def = "a locally administered MAC "
            "derived from system and name",
     .help = "the guest's MAC address",
     .example = "mac 52:54:00:12:34:56"},
    {.name = "peer",
     .type = OPT_PEER,
     .id = VD_OTHER,
     .syntax = "peer /dev/vdevpeers/NAME | /dev/qvm/SYSTEM/NAME",
     .help = "the other end: /dev/vdevpeers/NAME is the Linux tap interface "
             "NAME; /dev/qvm/SYSTEM/NAME is the virtio-net named NAME of "
             "the qvm whose system is SYSTEM",
     .example = "peer /dev/vdevpeers/vp0"},
    {.name = "peerfeats",
     .type = OPT_NUM,
     .id = VD_OTHER,
     .syntax = "peerfeats MASK",
     .def = "0",
     .help = "VIRTIO-net feature bits the peer supports (offloads)",
     .max = 0xffffffff},
    {.name = "tapdev",
     .type = OPT_STR,
     .flags = OF_DEPRECATED,
     .id = VD_OTHER,
     .syntax = "tapdev TAP",
     .why = "peer /dev/vdevpeers/TAP",
     .help = "QNX 7.0: attach to a host tap interface"},
    O_LEGACY,
    O_SCHED_NO_THREAD,
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_vnet = {
    .name = "virtio-net",
    .arch = ARCH_ALL,
    .flags = VF_PCI | VF_VIRTIO,
    .loc_spaces = SP(SPACE_MEM) | SP(SPACE_PCI),
    .bare_space = SPACE_MEM,
    .win_size = 0x200,
    .pci_vendor = 0x1af4,
    .pci_device = 0x1041,
    .pci_class = 0x0200,
    .virtio_id = 1,
    .opts = vnet_opts,
    .help = "VIRTIO network device connected point to point to a peer",
    .example = "vdev virtio-net peer /dev/vdevpeers/vp0 mac 52:54:00:00:00:01"};

static const struct opt_def vrng_opts[] = {
    VIRTIO_LOC,        VIRTIO_INTR, O_DELAYED, O_LEGACY,
    O_SCHED_NO_THREAD, O_NAME,      O_LOG,     O_END,
};
static const struct vdev_type vt_vrng = {
    .name = "virtio-entropy",
    .arch = ARCH_ALL,
    .flags = VF_PCI | VF_VIRTIO,
    .loc_spaces = SP(SPACE_MEM) | SP(SPACE_PCI),
    .bare_space = SPACE_MEM,
    .win_size = 0x200,
    .pci_vendor = 0x1af4,
    .pci_device = 0x1044,
    .pci_class = 0x00ff,
    .virtio_id = 4,
    .opts = vrng_opts,
    .help = "VIRTIO entropy source (Linux virtio-rng) fed by getrandom()",
    .example = "vdev virtio-entropy"};

static const struct opt_def shmem_opts[] = {
    O_LOC("a PCI function (factory page in BAR0); on aarch64 required (no "
          "PCI bus)",
          "loc 0x10000000"),
    O_INTR("PCI INTx, assigned by qvm (required with a memory loc, so on "
           "aarch64)"),
    {.name = "create",
     .type = OPT_SHM_CREATE,
     .flags = OF_MULTI,
     .id = VD_OTHER,
     .syntax = "create NAME,SIZE[,MODE[,GID]]",
     .help = "creates region NAME of SIZE bytes when qvm starts",
     .example = "create TEST1,0xf0000"},
    {.name = "allow",
     .type = OPT_STR,
     .flags = OF_MULTI,
     .id = VD_OTHER,
     .syntax = "allow PATTERN",
     .help = "only regions matching these shell patterns may be used"},
    {.name = "deny",
     .type = OPT_STR,
     .flags = OF_MULTI,
     .id = VD_OTHER,
     .syntax = "deny PATTERN",
     .help = "regions matching these shell patterns may not be used"},
    {.name = "gid",
     .type = OPT_GID,
     .id = VD_OTHER,
     .syntax = "gid NAME|ID",
     .def = "qvm's effective group",
     .help = "group of created regions"},
    {.name = "umask",
     .type = OPT_MODE,
     .id = VD_OTHER,
     .syntax = "umask BITS",
     .def = "0",
     .help = "permission bits removed from created regions"},
    {.name = "subst",
     .type = OPT_SUBST,
     .id = VD_OTHER,
     .syntax = "subst [ORIGINAL],PREFIX",
     .help = "prefix added to region names as the host sees them"},
    {.name = "sched",
     .type = OPT_SCHED,
     .flags = OF_IGNORED,
     .id = VD_OTHER,
     .syntax = "sched PRIO[r|f|o]",
     .help = "QNX: priority of the vdev's host-side threads",
     .why = "the region waiter threads (one per attached region, they raise "
            "the interrupt on a peer's notification) run at qvm's own "
            "policy and priority; a per-vdev priority is not applied to them "
            "yet"},

    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_shmem = {
    .name = "shmem",
    .arch = ARCH_ALL,
    .flags = VF_PCI,
    .loc_spaces = SP(SPACE_MEM) | SP(SPACE_PCI),
    .bare_space = SPACE_MEM,
    .win_size = 0x1000,
    .pci_vendor = 0x1c05,
    .pci_device = 0x0001,
    .pci_class = 0x0500,
    .opts = shmem_opts,
    .help = "named memory regions shared between guests and host "
            "processes, with notifications (QNX guest_shm protocol)",
    .example = "vdev shmem create TEST1,1M"};

static const uint64_t sp805_locs[] = {0x1c0f0000, 0};
static const struct opt_def sp805_opts[] = {
    O_LOC("0x1c0f0000", "loc 0x1c0f0000"),
    O_INTR("none"),
    {.name = "action",
     .type = OPT_WDT_ACTION,
     .id = VD_OTHER,
     .syntax = "action [dump,]terminate|fiq",
     .def = "terminate",
     .help = "at the second expiry (the reset): optionally dump the guest "
             "(needs the top-level `dump`), then end qvm (exit 4), or with "
             "`fiq` keep the interrupt asserted, restart the counter and "
             "run on"},
    {.name = "frequency",
     .type = OPT_NUM,
     .id = VD_OTHER,
     .syntax = "frequency HZ",
     .def = "25000000",
     .min = 1,
     .max = 1000000000,
     .help = "counter clock (WDOGCLK): the rate Linux's sp805_wdt reads "
             "from the FDT"},
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_sp805 = {
    .name = "wdt-sp805",
    .arch = ARCH_AARCH64,
    .flags = 0,
    .loc_spaces = SP(SPACE_MEM),
    .bare_space = SPACE_MEM,
    .win_size = 0x1000,
    .default_locs = sp805_locs,
    .opts = sp805_opts,
    .help = "ARM SP805 watchdog as Linux's sp805_wdt drives it (PrimeCell, "
            "arm,sp805 in the FDT with a clock of `frequency`): the counter "
            "counts WdogLoad+1 ticks, raises `intr` (level) at zero and, "
            "not cleared (WdogIntClr) by the next zero with RESEN set, "
            "takes the action: two periods",
    .example = "vdev wdt-sp805 action dump,terminate"};

static const uint64_t ib700_locs[] = {0x441, 0};
static const struct opt_def ib700_opts[] = {
    O_LOC("io:0x441 (ports 0x441-0x443)", "loc 0x441"),
    O_INTR("none"),
    {.name = "action",
     .type = OPT_WDT_ACTION,
     .id = VD_OTHER,
     .syntax = "action [dump,]terminate|fiq",
     .def = "terminate",
     .help = "on expiry: log it, optionally dump the guest (needs the "
             "top-level `dump`), then end qvm (exit 4), or with `fiq` pulse "
             "the vdev's `intr` (required then; x86 has no FIQ) and run on"},
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_ib700 = {
    .name = "wdt-ib700",
    .arch = ARCH_X86_64,
    .flags = VF_ONE,
    .loc_spaces = SP(SPACE_IO),
    .bare_space = SPACE_IO,
    .win_size = 3,
    .default_locs = ib700_locs,
    .opts = ib700_opts,
    .help = "IB700 watchdog as Linux's ib700wdt drives it: write-only "
            "ports, any write to loc (0x441) stops it, a write of V to "
            "loc+2 (0x443) starts or pings it with a timeout of 30-2*(V&15) "
            "seconds",
    .example = "vdev wdt-ib700 action terminate"};

static const uint64_t kbd_locs[] = {0x60, 0};
static const uint32_t kbd_lines[] = {1};
static const struct opt_def kbd_opts[] = {
    O_LOC("io:0x60 (and 0x64)", "loc 0x60"),
    O_INTR("line 1 of the first "
           "ioapic"),
    O_NAME,
    O_LOG,
    O_END,
};
static const struct vdev_type vt_pckbd = {
    .name = "pckeyboard",
    .arch = ARCH_X86_64,
    .flags = VF_ONE | VF_TWO_WIN,
    .loc_spaces = SP(SPACE_IO),
    .bare_space = SPACE_IO,
    .win_size = 1,
    .default_locs = kbd_locs,
    .default_lines = kbd_lines,
    .opts = kbd_opts,
    .help = "minimal 8042 keyboard controller (data 0x60, command 0x64); "
            "command 0xFE resets the guest",
    .example = "vdev pckeyboard"};

static const struct opt_def dummy_opts[] = {
    {.name = "loc",
     .type = OPT_LOC,
     .id = VD_LOC,
     .syntax = "loc pci:BUS:DEV[.FUNC]",
     .def = "next free device on bus 0",
     .help = "where the function appears"},
    {.name = "reg",
     .type = OPT_PCI_REG,
     .flags = OF_MULTI,
     .id = VD_OTHER,
     .syntax = "reg OFFSET/SIZE=VALUE",
     .help = "sets an identity register (vendor 0x00/2, device 0x02/2, "
             "revision 0x08/1, class 0x09/3, header type 0x0e/1, subsystem "
             "vendor 0x2c/2, subsystem 0x2e/2)",
     .example = "reg 0x00/2=0x8086"},
    {.name = "clone",
     .type = OPT_BDF,
     .id = VD_OTHER,
     .syntax = "clone pci:B:D.F",
     .help = "copies the identity of host PCI function B:D.F (domain 0): "
             "vendor, device, class with programming interface, revision "
             "and subsystem IDs, read from /sys/bus/pci/devices/"
             "0000:BB:DD.F when the configuration is read "
             "($QVM_SYSFS_ROOT replaces /sys, for tests); a function the "
             "host does not have is a configuration error (exit 65). `reg` "
             "presets override what it copies",
     .example = "clone pci:0:31.0"},
    O_NAME,
    O_LOG_NONE("an inert PCI function has nothing to log"),
    O_END,
};
static const struct vdev_type vt_dummy = {
    .name = "pci-dummy",
    .arch = ARCH_X86_64,
    .flags = VF_PCI | VF_PCI_ONLY | VF_NO_INTR,
    .loc_spaces = SP(SPACE_PCI),
    .bare_space = SPACE_PCI,
    .pci_vendor = 0xffff,
    .pci_device = 0xffff,
    .opts = dummy_opts,
    .help = "inactive PCI function that only shows identity registers",
    .example = "vdev pci-dummy clone pci:0:31.0"};

static const struct opt_def none_opts[] = {O_LOC(NULL, NULL), O_INTR(NULL),
                                           O_NAME, O_LOG, O_END};
static const struct vdev_type vt_smmu = {
    .name = "smmu",
    .arch = ARCH_ALL,
    .flags = VF_REJECT,
    .opts = none_opts,
    .help = "QNX smmuman service for guests",
    .why = "it serves QNX's smmuman; qvm on Linux has no virtual IOMMU "
           "(isolate pass-through devices with VFIO on the host)"};
static const struct vdev_type vt_progress = {
    .name = "progress",
    .arch = ARCH_ALL,
    .flags = VF_IGNORE,
    .opts = none_opts,
    .help = "shipped by QNX 7.1, purpose undocumented",
    .why = "QNX documents no behaviour for it"};
static const struct vdev_type vt_gvtg = {
    .name = "vgpu-gvtg",
    .arch = ARCH_X86_64,
    .flags = VF_REJECT,
    .opts = none_opts,
    .help = "Intel GVT-g mediated GPU",
    .why = "Intel GVT-g mediated GPUs are not supported by qvm (use a "
           "pass-through GPU)"};
static const struct vdev_type vt_vgpu = {
    .name = "virtio-gpu",
    .arch = ARCH_ALL,
    .flags = VF_REJECT,
    .opts = none_opts,
    .help = "VIRTIO GPU (QNX 8.0)",
    .why = "virtio-gpu is not implemented in qvm yet"};

const struct vdev_type *const vdev_types[] = {
    &vt_gic,      &vt_ioapic, &vt_8259,  &vt_timer8254, &vt_mc146818, &vt_hpet,
    &vt_ser8250,  &vt_pl011,  &vt_vcon,  &vt_vblk,      &vt_vnet,     &vt_vrng,
    &vt_shmem,    &vt_sp805,  &vt_ib700, &vt_pckbd,     &vt_dummy,    &vt_smmu,
    &vt_progress, &vt_gvtg,   &vt_vgpu,  NULL,
};

/* Linear: the tables are short. The first byte is compared before strcmp,
 * which makes a miss (every unknown word is looked up in several tables)
 * one byte compare per entry. */
const struct opt_def *opt_find(const struct opt_def *tab, const char *name)
{
    for (; tab && tab->name; tab++)
        if (tab->name[0] == name[0] && strcmp(tab->name, name) == 0)
            return tab;
    return NULL;
}

const struct vdev_type *vdev_type_find(const char *word)
{
    char buf[64];
    const char *w = word;
    if (strncmp(w, "vdev-", 5) == 0)
        w += 5;
    size_t n = strlen(w);
    if (n > 3 && strcmp(w + n - 3, ".so") == 0)
        n -= 3;
    if (n >= sizeof(buf))
        return NULL;
    memcpy(buf, w, n);
    buf[n] = '\0';
    for (unsigned i = 0; vdev_types[i]; i++)
        if (strcmp(vdev_types[i]->name, buf) == 0)
            return vdev_types[i];
    return NULL;
}

const char *opt_type_word(enum opt_type t)
{
    static const char *const words[] = {
        [OPT_FLAG] = "flag",
        [OPT_NUM] = "number",
        [OPT_SIZE] = "size",
        [OPT_STR] = "string",
        [OPT_BOOL] = "boolean",
        [OPT_ENUM] = "keyword",
        [OPT_LOC] = "location",
        [OPT_INTR] = "interrupt",
        [OPT_HOSTDEV] = "host device",
        [OPT_NAME] = "name",
        [OPT_HOSTPATH] = "host path",
        [OPT_SCHED] = "priority",
        [OPT_CPULIST] = "CPU list",
        [OPT_CMOS_REG] = "index,value",
        [OPT_PCI_REG] = "offset/size=value",
        [OPT_SHM_CREATE] = "name,size[,mode[,gid]]",
        [OPT_DELAYED] = "seconds|forever",
        [OPT_WDT_ACTION] = "action",
        [OPT_NUM_LIST] = "number list",
        [OPT_BDF] = "PCI address",
        [OPT_MAC] = "MAC address",
        [OPT_PEER] = "peer path",
        [OPT_LOG] = "filters destination",
        [OPT_GID] = "group",
        [OPT_MODE] = "octal mode",
        [OPT_SUBST] = "[original],prefix",
    };
    return (unsigned)t < ARRAY_SIZE(words) && words[t] ? words[t] : "value";
}

/*
 * core_notes.c: the aarch64 notes of a guest dump (see core_notes.h).
 */
#include "arch/arm64/core_notes.h"

#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Linux's arm64 struct elf_prstatus (include/uapi/linux/elfcore.h with
 * the arm64 elf_gregset_t), which GDB's aarch64-linux core reader
 * expects: 392 bytes, pr_reg at 112. */
struct a64_timeval {
    int64_t sec, usec;
};
struct a64_prstatus {
    int32_t si_signo, si_code, si_errno;
    int16_t pr_cursig;
    uint16_t pad0;
    uint64_t pr_sigpend, pr_sighold;
    int32_t pr_pid, pr_ppid, pr_pgrp, pr_sid;
    struct a64_timeval pr_utime, pr_stime, pr_cutime, pr_cstime;
    uint64_t pr_reg[34]; /* x0-x30, sp, pc, pstate */
    int32_t pr_fpvalid;
    uint32_t pad1;
};
/* Linux's 64-bit struct elf_prpsinfo (arm64: 32-bit uid/gid). */
struct a64_prpsinfo {
    char pr_state, pr_sname, pr_zomb, pr_nice;
    uint32_t pad0;
    uint64_t pr_flag;
    uint32_t pr_uid, pr_gid;
    int32_t pr_pid, pr_ppid, pr_pgrp, pr_sid;
    char pr_fname[16];
    char pr_psargs[80];
};
_Static_assert(sizeof(struct a64_prstatus) == 392, "elf_prstatus layout");
_Static_assert(offsetof(struct a64_prstatus, pr_pid) == 32, "pr_pid offset");
_Static_assert(offsetof(struct a64_prstatus, pr_reg) == 112, "pr_reg offset");
_Static_assert(sizeof(struct a64_prpsinfo) == 136, "elf_prpsinfo layout");
_Static_assert(offsetof(struct a64_prpsinfo, pr_fname) == 40, "pr_fname");
_Static_assert(sizeof(struct qvm_arm64_sysregs) == 112, "QVM note layout");

struct storage {
    struct a64_prpsinfo ps;
    struct {
        struct a64_prstatus st;
        struct qvm_arm64_sysregs q;
    } cpu[];
};

int arm64_core_notes(const struct arm64_core_cpu *cpus, unsigned ncpus,
                     const char *system, struct core_notes *out)
{
    int e = core_notes_begin(out,
                             sizeof(struct storage) +
                                 (size_t)ncpus *
                                     sizeof(((struct storage *)0)->cpu[0]),
                             1 + 2 * (size_t)ncpus);
    if (e < 0)
        return e;
    struct storage *s = out->storage;
    /* GDB lists the threads in note order: vCPU 0 first. */
    for (unsigned i = 0; i < ncpus; i++) {
        const struct arm64_core_cpu *c = &cpus[i];
        struct a64_prstatus *p = &s->cpu[i].st;
        p->pr_pid = (int32_t)(i + 1);
        p->pr_ppid = p->pr_pgrp = p->pr_sid = 1;
        if (c->valid) {
            memcpy(p->pr_reg, c->x, sizeof(c->x));
            p->pr_reg[31] = c->sp;
            p->pr_reg[32] = c->pc;
            p->pr_reg[33] = c->pstate;
            s->cpu[i].q = c->sys;
        }
        s->cpu[i].q.version = 1;
        s->cpu[i].q.vcpu = i;
        s->cpu[i].q.valid = c->valid;
        s->cpu[i].q.pad = 0;
        core_notes_add(out, "CORE", NT_PRSTATUS, p, sizeof(*p));
        core_notes_add(out, "QVM", NT_QVM_ARM64_SYSREGS, &s->cpu[i].q,
                       sizeof(s->cpu[i].q));
    }
    s->ps.pr_sname = 'R';
    s->ps.pr_pid = 1;
    core_ps_names(s->ps.pr_fname, sizeof(s->ps.pr_fname), s->ps.pr_psargs,
                  sizeof(s->ps.pr_psargs), system);
    core_notes_add(out, "CORE", NT_PRPSINFO, &s->ps, sizeof(s->ps));
    return 0;
}

/*
 * unsup.h: the `unsupported TYPE ACTION` policies as decisions, pure (the
 * exits that apply them are in exit.c, the exceptions in the arch).
 *
 *   instruction (KVM cannot emulate it; default fail):
 *     fail   the undefined-opcode exception at the instruction (x86 #UD);
 *     ignore the instruction is skipped when its length is known, else
 *            as fail (with a warning that says so);
 *     abort  qvm ends with 5.
 *   reference (a port or guest-physical address nothing decodes; default
 *   ignore):
 *     fail   the access faults (x86 #GP(0));
 *     ignore reads return all ones, writes are dropped;
 *     abort  qvm ends with 5.
 *   register (an MSR KVM does not implement; default fail):
 *     fail   #GP(0) at the rdmsr/wrmsr;
 *     ignore reads return 0, writes are dropped;
 *     abort  qvm ends with 5, naming the MSR.
 */
#ifndef QVM_VM_UNSUP_H
#define QVM_VM_UNSUP_H

#include <stdbool.h>

#include "config/spec.h"

enum unsup_do {
    UNSUP_DO_ABORT,  /* end qvm with 5 (STOP_UNSUPPORTED) */
    UNSUP_DO_FAULT,  /* raise the architectural exception */
    UNSUP_DO_IGNORE, /* skip / all ones / 0; writes dropped */
};

/* unsup_do: what `a` means for a type other than instruction. */
static inline enum unsup_do unsup_do(enum unsup_action a)
{
    return a == UNSUP_ABORT  ? UNSUP_DO_ABORT
           : a == UNSUP_FAIL ? UNSUP_DO_FAULT
                             : UNSUP_DO_IGNORE;
}

/*
 * unsup_insn_do: an instruction KVM cannot emulate under `a`, `len` its
 * length (0: unknown). `ignore` skips only an instruction of known
 * length; otherwise it faults and *no_len is set (say why).
 */
static inline enum unsup_do unsup_insn_do(enum unsup_action a, unsigned len,
                                          bool *no_len)
{
    *no_len = false;
    enum unsup_do d = unsup_do(a);
    if (d == UNSUP_DO_IGNORE && len == 0) {
        *no_len = true;
        return UNSUP_DO_FAULT;
    }
    return d;
}

#endif

/*
 * dumper.h: guest dumps (the configuration's `dump DIR` or `dump
 * "|command"`; docs/dumps.md).
 *
 * Where a dump goes is decided by a small helper process forked before
 * the VM is built (before guest RAM is mapped, so that it shares none of
 * it copy-on-write, and before any seccomp filter, which a child would
 * inherit: a `sh -c` started by a confined qvm thread would die of the
 * filter at its first exec). It runs with qvm's `user` ids and knows only
 * the configured target: on request it creates the next dump file
 * (PREFIX-YYYYMMDD-hhmmss[-N].gcore, 0600, O_EXCL | O_NOFOLLOW) or starts
 * the command with `/bin/sh -c` on a pipe, and hands the descriptor back
 * over a socketpair (SCM_RIGHTS); it also reaps the command and reports
 * its status. qvm's confined threads then only write to a descriptor
 * they were given: none of them may open a file or fork, and a qvm taken
 * over by its guest can ask for nothing but another dump to the
 * configured place. The helper ends when qvm closes its end (or dies:
 * PR_SET_PDEATHSIG).
 */
#ifndef QVM_VM_DUMPER_H
#define QVM_VM_DUMPER_H

#include <signal.h>
#include <stdbool.h>

#include "config/spec.h"
#include "util/compiler.h"

struct vm;
struct dumper;

/*
 * dumper_start: when the spec has `dump`, start the helper (child_mask:
 * the signal mask a command starts with) and open /proc/self/pagemap for
 * the sparse copy; *out NULL otherwise. 0, or -1 logged. Context: the
 * main thread, before the VM is built and confined.
 */
int dumper_start(const struct vm_spec *spec, const sigset_t *child_mask,
                 struct dumper **out) MUST_CHECK;
/* dumper_stop: close the helper's socket and reap it. */
void dumper_stop(struct dumper *d);

/*
 * vm_dump: write a guest dump now, `why` naming the cause in the log:
 * the vCPUs are kicked out of KVM_RUN and parked (each saves its
 * registers), memory is streamed to the dump, the vCPUs resume.
 * at_exit: the vCPU threads have ended (their registers were saved as
 * they ended); nothing to pause. 0, or -1 logged (no `dump` configured,
 * or it failed). One dump at a time (later callers wait).
 * Context: any thread but a vCPU's; the caller must not hold a lock a
 * vCPU may wait for while handling an exit.
 */
int vm_dump(struct vm *vm, const char *why, bool at_exit);

/*
 * vm_dump_on_fault: a vCPU met a fatal guest fault (`why`): when `dump`
 * is configured, qvm writes a dump once every vCPU has stopped, before it
 * ends (vm_dump_pending). The first fault wins. Context: a vCPU thread.
 */
void vm_dump_on_fault(struct vm *vm, const char *why);
/* vm_dump_pending: the dump vm_dump_on_fault asked for, after the vCPU
 * threads have been joined; later vm_dump calls (a watchdog on the I/O
 * thread, which outlives the vCPUs) write nothing: the vCPUs are about
 * to be destroyed. Context: the main thread, in the teardown. */
void vm_dump_pending(struct vm *vm);

#endif

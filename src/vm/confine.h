/*
 * confine.h: qvm's confinement (README "Confinement"). Every thread kind
 * installs its own seccomp filter (libseccomp) in the thread itself, right
 * after its set-up and before it serves the guest; the main thread does so
 * last, once every vCPU runs. A filter allows only the system calls its
 * kind makes after start-up (ioctl(2) only with the request numbers qvm
 * uses). A forbidden call traps (SECCOMP_RET_TRAP): the SIGSYS handler
 * logs one line naming the call and the thread kind and ends qvm with
 * CONFINE_EXIT_STATUS. QVM_SECCOMP=off turns it all off for debugging.
 *
 * Filters stack: a thread started by a confined thread keeps its parent's
 * filter beside its own, so a vCPU's filter also allows what the block
 * workers and the entropy helper it may start need.
 *
 * `user NAME[:GROUP]` (confine_drop): as root, qvm drops to that user and
 * group after opening its devices and before the vCPUs start.
 *
 * Context: confine_setup and confine_drop on the main thread before the
 * vCPUs start; confine_thread on the thread to confine. Without a
 * successful confine_setup (unit tests, QVM_SECCOMP=off), confine_thread
 * does nothing.
 */
#ifndef QVM_VM_CONFINE_H
#define QVM_VM_CONFINE_H

#include <stdbool.h>

#include "config/spec.h"
#include "util/compiler.h"

/* QNX's "unexpected error" (docs/exit-codes.md). */
#define CONFINE_EXIT_STATUS 7

enum confine_kind {
    CONFINE_MAIN,  /* vm_run's wait loop, then the teardown */
    CONFINE_VCPU,  /* KVM_RUN and device emulation on exits */
    CONFINE_IO,    /* the I/O event thread (vm/event.c) */
    CONFINE_BLK,   /* virtio-blk queue workers */
    CONFINE_PCI,   /* the PCI BAR remap thread */
    CONFINE_RNG,   /* virtio-entropy's blocking getrandom helper */
    CONFINE_SHMEM, /* a shmem region's waiter (FUTEX_WAIT, the interrupt) */
    CONFINE_KINDS,
};

/*
 * confine_setup: QVM_SECCOMP (unset or "on": confine; "off": not), what
 * the configuration needs beyond the fixed sets (`delayed` hostdevs open
 * files from a vCPU; `logger slog` keeps a syslog socket), the user to
 * drop to; installs the SIGSYS handler. Also, confined or not, how the
 * threads started from then on use memory: one malloc arena, 1 MiB
 * stacks (bench/README.md, "Density"). 0, or -1 logged (fatal).
 */
int confine_setup(const struct vm_spec *spec) MUST_CHECK;

/* confine_enabled: confine_setup ran and confinement is on. */
bool confine_enabled(void);

/*
 * confine_drop: `user`: setgroups, setresgid, setresuid, then checks that
 * every id changed and that root cannot be regained. 0 (also when there
 * is no `user`), or -1 logged.
 */
int confine_drop(void) MUST_CHECK;
/* confine_drop_ids: the same without the log line (the dump helper,
 * vm/dumper.h). */
int confine_drop_ids(void) MUST_CHECK;

/*
 * confine_thread: install kind's filter on the calling thread (and
 * PR_SET_NO_NEW_PRIVS). When the filter cannot be installed, qvm ends
 * with CONFINE_EXIT_STATUS after a log line: a thread never serves the
 * guest unconfined when confinement is on.
 */
void confine_thread(enum confine_kind kind);

/* confine_kind_name: "main", "vCPU", "I/O", "block worker", ... */
const char *confine_kind_name(enum confine_kind kind);

/*
 * confine_force: for tests: confine as if confine_setup had run with
 * QVM_SECCOMP=on and no configuration needs (installs the SIGSYS handler).
 */
void confine_force(void);

#endif

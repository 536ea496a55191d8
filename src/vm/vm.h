/*
 * vm.h: the VM core's entry point, called by main() when not in dryrun.
 */
#ifndef QVM_VM_VM_H
#define QVM_VM_VM_H

#include "config/spec.h"

/* vm_run: build the VM the spec describes and run it until the guest powers
 * off/resets or a fault ends it. Returns qvm's process exit status (0 guest
 * poweroff/reset, 3 power cut (SIGQUIT), 5 unsupported op with abort, 6 vdev
 * error, 7 unexpected error, 64 fatal error before the guest started,
 * 96 fatal error after the guest started). Never calls exit().
 *
 * Signals while the guest runs (handled on the calling thread through a
 * signalfd; they are blocked in the process for the duration): SIGQUIT
 * ends the VM with status 3 (power cut); SIGTERM, SIGINT, SIGHUP and
 * SIGALRM press the ACPI power button (docs/exit-codes.md: a second one,
 * the end of the grace period or a guest without ACPI power button mean a
 * power cut, 3); SIGUSR1 logs the VM status; SIGUSR2 writes a guest
 * dump when the spec has `dump` (vm/dumper.h; the guest runs on), else
 * says that no dump is configured. SIGPIPE is blocked so that a closed output
 * pipe is an error, not death; SIGXFSZ is ignored (a write past the file
 * size limit fails with EFBIG). The signal mask and SIGXFSZ's action are
 * restored on return.
 * Context: main thread, once per process.
 */
int vm_run(const struct vm_spec *spec);

#endif

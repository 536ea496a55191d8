/*
 * reaper.h: the VM's last reference, dropped after qvm has exited.
 *
 * Destroying a KVM VM takes the kernel milliseconds (kvm_destroy_vm and
 * the address space's MMU-notifier release wait for SRCU grace periods:
 * about 20 ms on a test host, bench/README.md). Paid in qvm's own exit,
 * whoever waits for qvm (a supervisor restarting the VM, a test suite)
 * waits for it. reaper_start, called in the teardown once the guest's
 * output is flushed and its disks are closed, makes a process that shares
 * qvm's address space (CLONE_VM: no page tables copied) and holds only the
 * VM's file descriptor; qvm then exits at once, and the reaper, woken by
 * the end of qvm (a pipe whose only writer was qvm), lets go of the VM and
 * the memory and exits. Its name is `qvm-reaper`; it never outlives qvm by
 * more than the teardown, and a qvm killed with SIGKILL never starts one
 * (the kernel then tears down in qvm's exit, as without it).
 */
#ifndef QVM_VM_REAPER_H
#define QVM_VM_REAPER_H

#include <stdbool.h>

/* reaper_start: 0 once the reaper holds vm_fd (the caller then must not
 * unmap guest memory: the reaper's exit does), or -errno (nothing
 * started; the caller tears down itself). Main thread, after every other
 * thread of qvm is joined. */
int reaper_start(int vm_fd);

#endif

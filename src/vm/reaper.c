/*
 * reaper.c: the VM's last reference, dropped after qvm has exited (see
 * reaper.h).
 */
#include "vm/reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/log.h"

#define TAG   "reaper"
#define STACK (64u * 1024u)

struct reaper_args {
    int vm_fd, wait_fd;
};

/* close_but: close every descriptor except a and b (a < b). */
static void close_but(int a, int b)
{
    if (a > 0)
        syscall(SYS_close_range, 0u, (unsigned)a - 1, 0u);
    if (b > a + 1)
        syscall(SYS_close_range, (unsigned)a + 1, (unsigned)b - 1, 0u);
    syscall(SYS_close_range, (unsigned)b + 1, ~0u, 0u);
}

/* The reaper: qvm's memory, its own copy of qvm's descriptor table. It
 * keeps the VM and the read end of the pipe only (a copy of qvm's stdout
 * would hold a reader of qvm's output until the teardown is done), waits
 * for the pipe's end of file (qvm gone), and exits: the kernel then drops
 * the VM and the address space here. Only raw system calls: this runs on
 * qvm's memory and thread pointer, next to qvm's main thread. */
static int reaper_main(void *arg)
{
    const struct reaper_args *a = arg;
    syscall(SYS_prctl, PR_SET_NAME, (unsigned long)"qvm-reaper", 0ul, 0ul, 0ul);
    int lo = a->vm_fd < a->wait_fd ? a->vm_fd : a->wait_fd;
    int hi = a->vm_fd < a->wait_fd ? a->wait_fd : a->vm_fd;
    int wait_fd = a->wait_fd;
    close_but(lo, hi);
    char c;
    while (syscall(SYS_read, wait_fd, &c, 1ul) > 0)
        ;
    syscall(SYS_exit_group, 0);
    return 0;
}

int reaper_start(int vm_fd)
{
    if (vm_fd < 0)
        return -EBADF;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    uint8_t *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    /* The arguments at the bottom of the reaper's stack (never unmapped:
     * the reaper's exit takes the address space). */
    struct reaper_args *a = (struct reaper_args *)(void *)stack;
    a->vm_fd = vm_fd;
    a->wait_fd = p[0];
    /* No exit signal: nobody waits for it (init reaps it once qvm is gone;
     * while qvm lives it cannot end). */
    int pid = clone(reaper_main, stack + STACK, CLONE_VM, a);
    int e = pid < 0 ? errno : 0;
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        munmap(stack, STACK);
        log_debug(TAG, "no reaper (%s): the VM is torn down before the exit",
                  strerror(e));
        return -e;
    }
    /* p[1] stays open until qvm's exit closes it: the reaper's signal. */
    log_debug(TAG, "reaper %d holds the VM", pid);
    return 0;
}

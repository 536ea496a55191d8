/*
 * confine.c: per-thread seccomp filters, the SIGSYS handler that names a
 * forbidden call, and the `user` privilege drop (see confine.h).
 *
 * Why SECCOMP_RET_TRAP and not SECCOMP_RET_KILL_PROCESS: a killed process
 * leaves the name of the call in the kernel's audit log only, which is
 * often not there (containers, no auditd) and never in qvm's own log; a
 * trap runs our SIGSYS handler in the offending thread, which writes one
 * line naming the call and the thread kind and ends the whole process
 * with _exit(CONFINE_EXIT_STATUS). The handler cannot be replaced from a
 * confined thread (rt_sigaction on SIGSYS is itself forbidden) and it
 * never returns to the offending code. Every confined thread keeps SIGSYS
 * unblocked: the kernel would otherwise reset it to its default action
 * (a core dump without the log line).
 */
#include "vm/confine.h"

#include <errno.h>
#include <grp.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <linux/vfio.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

#define TAG "confine"

#define THREAD_STACK (1024u * 1024u)
#define NAME_SLOTS   512 /* x86-64 syscall numbers in use are below this */
#define NAME_LEN     32

static struct {
    bool on;
    bool delayed;   /* a `delayed` hostdev: a vCPU may open files */
    bool shmem;     /* a `vdev shmem`: a vCPU opens and makes regions */
    bool vfio;      /* a `pass loc pci:`: VFIO device interrupts and regions */
    bool pass_intr; /* a `pass intr ...=uio:`: a PCI function's command
                     * register (uio_pci_generic's re-enable) */
    bool slog;      /* `logger slog`: syslog's socket may be reopened */
    bool drop;      /* `user`: threads alive during the drop may set ids */
    bool dump;      /* `dump`: the main and I/O threads may write dumps */
    uid_t uid;
    gid_t gid;
    const char *user; /* as given */
    uint32_t arch;    /* the native audit architecture (si_arch) */
    char names[NAME_SLOTS][NAME_LEN];
} cf;

static _Thread_local int cur_kind = -1;

static const char *const kind_names[CONFINE_KINDS] = {
    [CONFINE_MAIN] = "main",
    [CONFINE_VCPU] = "vCPU",
    [CONFINE_IO] = "I/O",
    [CONFINE_BLK] = "block worker",
    [CONFINE_PCI] = "PCI remap",
    [CONFINE_RNG] = "entropy helper",
    [CONFINE_SHMEM] = "shmem waiter",
};

const char *confine_kind_name(enum confine_kind kind)
{
    return (unsigned)kind < CONFINE_KINDS ? kind_names[kind] : "?";
}

bool confine_enabled(void)
{
    return cf.on;
}

/* ---- the SIGSYS handler (async-signal-safe: no stdio, no malloc) ------- */

static size_t put(char *b, size_t n, size_t cap, const char *s)
{
    while (*s && n + 1 < cap)
        b[n++] = *s++;
    return n;
}

static size_t put_num(char *b, size_t n, size_t cap, long v)
{
    char t[24];
    size_t k = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do
        t[k++] = (char)('0' + u % 10);
    while ((u /= 10) && k < sizeof(t));
    if (v < 0 && n + 1 < cap)
        b[n++] = '-';
    while (k && n + 1 < cap)
        b[n++] = t[--k];
    return n;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    char line[256];
    size_t n = 0, cap = sizeof(line);
    int nr = si->si_syscall;
    n = put(line, n, cap, "qvm: fatal: confine: the ");
    n = put(line, n, cap, cur_kind >= 0 ? kind_names[cur_kind] : "unconfined");
    n = put(line, n, cap, " thread made a forbidden system call: ");
    if ((uint32_t)si->si_arch != cf.arch)
        n = put(line, n, cap, "(foreign architecture) ");
    else if (nr >= 0 && nr < NAME_SLOTS && cf.names[nr][0])
        n = put(line, n, cap, cf.names[nr]);
    else
        n = put(line, n, cap, "?");
    n = put(line, n, cap, " (");
    n = put_num(line, n, cap, nr);
    n = put(line, n, cap,
            "); qvm ends (seccomp; QVM_SECCOMP=off turns confinement off "
            "for debugging)\n");
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
    /* The raw call: no exit hooks (a sanitizer's would run under the
     * filter). */
    syscall(SYS_exit_group, CONFINE_EXIT_STATUS);
    _exit(CONFINE_EXIT_STATUS);
}

/* Each thread builds its own filter with libseccomp, about 90 KiB of
 * scratch memory freed right after seccomp_load. In a thread's own malloc
 * arena (glibc gives each new thread one, up to 8 per CPU) that memory
 * stays resident for good: 176 KiB of a small guest's 436 KiB of
 * anonymous memory with a vCPU and the I/O thread (bench/README.md,
 * "Density"). With one arena the threads, which start one after another,
 * reuse the same scratch, and confine_thread gives it back. No thread
 * allocates on a hot path (only when devices are made), so the shared
 * arena's lock costs nothing measurable. */
static void one_arena(void)
{
    mallopt(M_ARENA_MAX, 1);
}

/* Threads' stacks: 1 MiB (qvm's deepest frames are a few KiB; the rng
 * helper asks for 64 KiB) instead of glibc's 8 MiB. Not for the virtual
 * size: a stack mapping of 2 MiB or more can hold a transparent huge page,
 * and the kernel aligns large anonymous mappings to 2 MiB, so with THP
 * "always" the first touch of a thread's stack, at its aligned top, often
 * took a whole huge page: 2 MiB more for a small guest (bench/README.md,
 * "Density": in the lab's Linux 6.1, 1 of 8 and 1 of 64 guests had a
 * 2052 KiB thread stack; kernels since 6.7 keep MAP_STACK mappings off
 * huge pages themselves). For every thread created without attributes
 * from here on. */
static void small_stacks(void)
{
    pthread_attr_t at;
    if (pthread_attr_init(&at) != 0)
        return;
    if (pthread_attr_setstacksize(&at, THREAD_STACK) == 0)
        pthread_setattr_default_np(&at);
    pthread_attr_destroy(&at);
}

/* How qvm's threads use memory; before any thread starts. */
static void thread_memory(void)
{
    one_arena();
    small_stacks();
}

static void install_handler(void)
{
    cf.arch = seccomp_arch_native();
    for (int nr = 0; nr < NAME_SLOTS; nr++) {
        char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        if (s) {
            snprintf(cf.names[nr], NAME_LEN, "%s", s);
            free(s);
        }
    }
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigfillset(&sa.sa_mask);
    sigaction(SIGSYS, &sa, NULL);
}

/* ---- the filters --------------------------------------------------------- */

static const unsigned long ioctl_tty[] = {TCGETS, TCSETS, TCSETSW, TCSETSF};
/* A vCPU: its own ioctls (registers for the fatal-exit dump; registers
 * and events for the `unsupported` policies: a skipped instruction, an
 * injected #UD or #GP). */
#ifdef __KVM_HAVE_PIT_STATE2 /* x86 (asm/kvm.h) */
static const unsigned long ioctl_vcpu[] = {
    KVM_RUN,      KVM_GET_REGS,        KVM_GET_SREGS,      KVM_INTERRUPT,
    KVM_SET_REGS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS};
/* Interrupts and KVM's fast paths on the VM fd, from any device context. */
static const unsigned long ioctl_irq[] = {KVM_IRQ_LINE,
                                          KVM_SIGNAL_MSI,
                                          KVM_SET_GSI_ROUTING,
                                          KVM_IRQFD,
                                          KVM_IOEVENTFD,
                                          KVM_GET_PIT2,
                                          KVM_SET_PIT2,
                                          KVM_REGISTER_COALESCED_MMIO,
                                          KVM_UNREGISTER_COALESCED_MMIO};
#else
/* arm64 (src/arch/arm64/): registers by ID, an external data abort
 * through the vCPU events. */
static const unsigned long ioctl_vcpu[] = {KVM_RUN, KVM_GET_ONE_REG,
                                           KVM_SET_ONE_REG, KVM_GET_VCPU_EVENTS,
                                           KVM_SET_VCPU_EVENTS};
static const unsigned long ioctl_irq[] = {KVM_IRQ_LINE,
                                          KVM_SIGNAL_MSI,
                                          KVM_SET_GSI_ROUTING,
                                          KVM_IRQFD,
                                          KVM_IOEVENTFD,
                                          KVM_REGISTER_COALESCED_MMIO,
                                          KVM_UNREGISTER_COALESCED_MMIO};
#endif
static const unsigned long ioctl_blk_io[] = {BLKDISCARD, BLKZEROOUT};
static const unsigned long ioctl_blk_open[] = {BLKGETSIZE64, BLKSSZGET,
                                               BLKPBSZGET};
static const unsigned long ioctl_pty[] = {TIOCGPTN, TIOCSPTLCK};
static const unsigned long ioctl_tun[] = {TUNSETOFFLOAD};
/* PCI pass-through (devices/vfio_pci.c): a vCPU switches the device's
 * interrupts (MSI on, INTx unmasked after a BAR access); the teardown turns
 * them off, resets the device and empties the BARs' memory slots; the PCI
 * remap thread moves those slots with the guest's BARs. */
static const unsigned long ioctl_vfio_run[] = {VFIO_DEVICE_SET_IRQS};
static const unsigned long ioctl_vfio_end[] = {
    VFIO_DEVICE_SET_IRQS, VFIO_DEVICE_RESET, KVM_SET_USER_MEMORY_REGION};
static const unsigned long ioctl_vfio_slot[] = {KVM_SET_USER_MEMORY_REGION};

struct fb {
    scmp_filter_ctx f;
    int err;
};

static void rule(struct fb *b, uint32_t action, int nr, unsigned n,
                 const struct scmp_arg_cmp *a)
{
    if (b->err || nr < 0)
        return; /* nr < 0: a call this architecture does not have */
    int e = seccomp_rule_add_array(b->f, action, nr, n, a);
    if (e < 0)
        b->err = e;
}

static void allow(struct fb *b, const int *nrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rule(b, SCMP_ACT_ALLOW, nrs[i], 0, NULL);
}

#define ALLOW(b, ...)                                                          \
    do {                                                                       \
        static const int nrs_[] = {__VA_ARGS__};                               \
        allow(b, nrs_, ARRAY_SIZE(nrs_));                                      \
    } while (0)

static void allow_ioctls(struct fb *b, const unsigned long *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* The request is an int in the kernel: compare the low 32 bits. */
        struct scmp_arg_cmp a =
            SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, reqs[i]);
        rule(b, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &a);
    }
}

#define ALLOW_IOCTLS(b, set) allow_ioctls(b, set, ARRAY_SIZE(set))

/* Memory without PROT_EXEC: qvm never maps code after start-up. */
static void allow_memory(struct fb *b)
{
    struct scmp_arg_cmp noexec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &noexec);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, &noexec);
    ALLOW(b, SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(brk),
          SCMP_SYS(mremap));
}

/* Threads (CLONE_THREAD) only: no fork, no vfork-and-exec. glibc tries
 * clone3 first, whose flags are behind a pointer: ENOSYS makes it fall
 * back to clone. */
static void allow_threads(struct fb *b)
{
    struct scmp_arg_cmp th =
        SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &th);
    rule(b, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
    /* The new thread names itself and installs its own filter under this
     * one (a filter only ever narrows what a thread may do). */
    static const long pr[] = {PR_SET_NAME, PR_SET_NO_NEW_PRIVS, PR_GET_SECCOMP};
    for (size_t i = 0; i < ARRAY_SIZE(pr); i++) {
        struct scmp_arg_cmp a = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pr[i]);
        rule(b, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, &a);
    }
    ALLOW(b, SCMP_SYS(seccomp));
}

/* The teardown's reaper (vm/reaper.h): a process sharing qvm's memory
 * (clone with CLONE_VM and nothing else: no thread, no fork), a pipe, and
 * in the reaper, which runs under this filter: its name, closing every
 * other descriptor, the wait on the pipe. */
static void allow_reaper(struct fb *b)
{
    struct scmp_arg_cmp vm = SCMP_A0(SCMP_CMP_EQ, CLONE_VM);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &vm);
    rule(b, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
    struct scmp_arg_cmp name = SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, &name);
    ALLOW(b, SCMP_SYS(pipe2), SCMP_SYS(close_range));
}

static void allow_sigaction(struct fb *b)
{
    struct scmp_arg_cmp notsys = SCMP_A0(SCMP_CMP_NE, SIGSYS);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1, &notsys);
}

/* What every thread does: locks, time, memory, logging, signals to its
 * own threads, thread start-up and exit. */
static void base(struct fb *b)
{
    ALLOW(b, SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group),
          SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
          SCMP_SYS(rt_sigprocmask), SCMP_SYS(clock_gettime),
          SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
          SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(sched_yield),
          SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
          SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
          SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(getrandom),
          SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
          SCMP_SYS(sigaltstack)); /* the own thread's: sanitizers */
    struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid());
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, &self);
    allow_memory(b);
    ALLOW_IOCTLS(b, ioctl_tty); /* the terminal restored on a crash */
    if (cf.slog) {
        /* the slog client (util/log.c) reconnects when its socket fails */
        struct scmp_arg_cmp unix_ = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
        rule(b, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, &unix_);
        ALLOW(b, SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(close));
    }
}

/* Threads alive while `user` drops the ids: glibc runs the set*id calls
 * on every thread (SIGSETXID); only to the target ids. */
static void allow_setid(struct fb *b)
{
    if (!cf.drop)
        return;
    struct scmp_arg_cmp u[3] = {SCMP_A0(SCMP_CMP_EQ, cf.uid),
                                SCMP_A1(SCMP_CMP_EQ, cf.uid),
                                SCMP_A2(SCMP_CMP_EQ, cf.uid)};
    struct scmp_arg_cmp g[3] = {SCMP_A0(SCMP_CMP_EQ, cf.gid),
                                SCMP_A1(SCMP_CMP_EQ, cf.gid),
                                SCMP_A2(SCMP_CMP_EQ, cf.gid)};
    struct scmp_arg_cmp one = SCMP_A0(SCMP_CMP_EQ, 1);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(setresuid), 3, u);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(setresgid), 3, g);
    rule(b, SCMP_ACT_ALLOW, SCMP_SYS(setgroups), 1, &one);
}

/* Device emulation's host I/O: chardevs, ptys, pipes, taps, sockets,
 * eventfds, timers, the kick eventfds made at DRIVER_OK. */
static void device_io(struct fb *b)
{
    ALLOW(b, SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(close), SCMP_SYS(poll),
          SCMP_SYS(ppoll), SCMP_SYS(epoll_ctl), SCMP_SYS(eventfd2),
          SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
          SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
          SCMP_SYS(recvmsg), SCMP_SYS(connect), SCMP_SYS(lseek));
    ALLOW_IOCTLS(b, ioctl_irq);
}

/* Disk I/O (virtio-blk). */
static void disk_io(struct fb *b)
{
    ALLOW(b, SCMP_SYS(pread64), SCMP_SYS(preadv), SCMP_SYS(pwrite64),
          SCMP_SYS(pwritev), SCMP_SYS(fdatasync), SCMP_SYS(fsync),
          SCMP_SYS(fallocate), SCMP_SYS(lseek), SCMP_SYS(read));
    ALLOW_IOCTLS(b, ioctl_blk_io);
}

/* Writing a guest dump (vm/dumper.c) on the main thread (SIGUSR2, a
 * fault's dump at exit) or the I/O thread (a watchdog's action): the
 * helper's socket (the descriptor comes with SCM_RIGHTS), the untouched
 * pages looked up (pagemap, mincore), holes by lseek and ftruncate. */
static void allow_dump(struct fb *b)
{
    if (!cf.dump)
        return;
    ALLOW(b, SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
          SCMP_SYS(recvfrom), SCMP_SYS(pread64), SCMP_SYS(mincore),
          SCMP_SYS(lseek), SCMP_SYS(ftruncate), SCMP_SYS(close));
}

static void build_kind(struct fb *b, enum confine_kind kind)
{
    base(b);
    switch (kind) {
    case CONFINE_MAIN:
        /* The wait loop, then the teardown: joins, closes, unmaps, the
         * terminal restored, a `>|command` reaped, a virtio-net socket
         * unlinked, output flushed. */
        ALLOW(b, SCMP_SYS(read), SCMP_SYS(close), SCMP_SYS(poll),
              SCMP_SYS(ppoll), SCMP_SYS(wait4), SCMP_SYS(kill),
              SCMP_SYS(epoll_ctl), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
              SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(unlink),
              SCMP_SYS(unlinkat), SCMP_SYS(rmdir), SCMP_SYS(sendto),
              SCMP_SYS(timerfd_settime), SCMP_SYS(lseek));
        allow_sigaction(b);
        ALLOW_IOCTLS(b, ioctl_irq);
        allow_dump(b);
        allow_reaper(b);
        if (cf.vfio) {
            /* ...and a passed device without a reset method left with
             * its decode and bus master off: its command register. */
            ALLOW(b, SCMP_SYS(pread64), SCMP_SYS(pwrite64));
            ALLOW_IOCTLS(b, ioctl_vfio_end);
        }
        break;
    case CONFINE_VCPU:
        ALLOW_IOCTLS(b, ioctl_vcpu);
        ALLOW_IOCTLS(b, ioctl_tun); /* offloads follow the driver */
        device_io(b);
        allow_threads(b); /* the entropy helper, shmem waiters */
        if (cf.shmem) {
            /* Create-or-attach by name (devices/shmem_host.c): a region
             * file under its directory, sized, its mode and group set,
             * renamed into place; kill(pid, 0) asks whether a peer lives;
             * a waiter thread per region. */
            ALLOW(b, SCMP_SYS(openat), SCMP_SYS(newfstatat), SCMP_SYS(fstat),
                  SCMP_SYS(ftruncate), SCMP_SYS(fchmod), SCMP_SYS(fchown),
                  SCMP_SYS(renameat2), SCMP_SYS(unlinkat));
            struct scmp_arg_cmp sig0 = SCMP_A1(SCMP_CMP_EQ, 0);
            rule(b, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, &sig0);
        }
        if (cf.delayed) {
            /* A `delayed` hostdev opens on the guest's first access. */
            ALLOW(b, SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(newfstatat),
                  SCMP_SYS(fstat), SCMP_SYS(fcntl), SCMP_SYS(timerfd_create),
                  SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2));
            allow_sigaction(b);
            ALLOW_IOCTLS(b, ioctl_blk_open);
            ALLOW_IOCTLS(b, ioctl_pty);
        }
        if (cf.vfio) {
            /* Configuration space (the command register) and BARs VFIO
             * gives no mmap for: pread/pwrite on the device fd. */
            ALLOW(b, SCMP_SYS(pread64), SCMP_SYS(pwrite64));
            ALLOW_IOCTLS(b, ioctl_vfio_run);
        }
        break;
    case CONFINE_IO:
        ALLOW(b, SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait));
        device_io(b);
        allow_threads(b); /* the entropy helper */
        allow_setid(b);
        allow_dump(b);
        if (cf.pass_intr)
            /* `pass intr ...=uio:` re-enabled at the guest's EOI through
             * the command register (devices/pass_intr.c). */
            ALLOW(b, SCMP_SYS(pread64), SCMP_SYS(pwrite64));
        break;
    case CONFINE_BLK: /* started with the device, before `user` */
        disk_io(b);
        ALLOW_IOCTLS(b, ioctl_irq);
        allow_setid(b);
        break;
    case CONFINE_PCI:
        ALLOW(b, SCMP_SYS(eventfd2), SCMP_SYS(close), SCMP_SYS(epoll_ctl));
        ALLOW_IOCTLS(b, ioctl_irq);
        if (cf.vfio)
            ALLOW_IOCTLS(b, ioctl_vfio_slot); /* a passed BAR moved */
        allow_setid(b);
        break;
    case CONFINE_SHMEM:
        /* shmem_event: the device's line (an IOAPIC model, KVM_IRQ_LINE,
         * an irqfd write). */
        ALLOW_IOCTLS(b, ioctl_irq);
        break;
    case CONFINE_RNG:
    case CONFINE_KINDS:
        break;
    }
}

static void die(const char *what, int e)
{
    log_fatal(TAG, "cannot confine the %s thread: %s: %s",
              confine_kind_name((enum confine_kind)cur_kind), what,
              strerror(e));
    _exit(CONFINE_EXIT_STATUS);
}

void confine_thread(enum confine_kind kind)
{
    if (!cf.on || (unsigned)kind >= CONFINE_KINDS)
        return;
    cur_kind = (int)kind;
    sigset_t sys;
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
    struct fb b = {.f = seccomp_init(SCMP_ACT_TRAP)};
    if (!b.f)
        die("seccomp_init", ENOMEM);
    /* A call made through another architecture's entry: trapped too. */
    if (seccomp_attr_set(b.f, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP) < 0)
        b.err = -EINVAL;
    /* PR_SET_NO_NEW_PRIVS (libseccomp's default, said here). */
    if (!b.err && seccomp_attr_set(b.f, SCMP_FLTATR_CTL_NNP, 1) < 0)
        b.err = -EINVAL;
    build_kind(&b, kind);
    if (b.err) {
        seccomp_release(b.f);
        die("building the filter", -b.err);
    }
    int e = seccomp_load(b.f);
    seccomp_release(b.f);
    if (e < 0)
        die("seccomp_load", -e);
    malloc_trim(0); /* the builder's scratch (one_arena); brk, madvise */
}

/* ---- set-up and `user` -------------------------------------------------- */

/* A number, or a name looked up in FILE (files only: qvm is static). */
static bool parse_id(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || v >= 0xffffffffUL)
        return false;
    *out = v;
    return true;
}

static int resolve_user(const char *spec)
{
    char name[256];
    snprintf(name, sizeof(name), "%s", spec);
    char *group = strchr(name, ':');
    if (group)
        *group++ = 0;
    unsigned long v;
    bool have_gid = false;
    if (parse_id(name, &v)) {
        cf.uid = (uid_t)v;
    } else {
        FILE *f = fopen("/etc/passwd", "re");
        struct passwd *pw = NULL;
        while (f && (pw = fgetpwent(f)) != NULL)
            if (strcmp(pw->pw_name, name) == 0)
                break;
        if (pw) {
            cf.uid = pw->pw_uid;
            cf.gid = pw->pw_gid;
            have_gid = true;
        }
        if (f)
            fclose(f);
        if (!pw) {
            log_fatal(TAG, "user '%s': no such user in /etc/passwd", name);
            return -1;
        }
    }
    if (group && parse_id(group, &v)) {
        cf.gid = (gid_t)v;
        have_gid = true;
    } else if (group) {
        FILE *f = fopen("/etc/group", "re");
        struct group *gr = NULL;
        while (f && (gr = fgetgrent(f)) != NULL)
            if (strcmp(gr->gr_name, group) == 0)
                break;
        if (gr) {
            cf.gid = gr->gr_gid;
            have_gid = true;
        }
        if (f)
            fclose(f);
        if (!gr) {
            log_fatal(TAG, "user '%s': no such group '%s' in /etc/group", spec,
                      group);
            return -1;
        }
    }
    if (!have_gid) {
        log_fatal(TAG,
                  "user '%s': a numeric user needs a group (user "
                  "UID:GID)",
                  spec);
        return -1;
    }
    return 0;
}

static bool needs_delayed(const struct vm_spec *spec, bool *pipe)
{
    bool any = false;
    *pipe = false;
    for (size_t i = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        if (!vdev_opt(vd, "delayed"))
            continue;
        any = true;
        for (size_t k = 0; k < vd->hostdevs.n; k++)
            if (vd->hostdevs.v[k].kind == HOSTDEV_PIPE)
                *pipe = true;
    }
    return any;
}

int confine_setup(const struct vm_spec *spec)
{
    thread_memory(); /* confined or not */
    cf.user = spec->user;
    cf.dump = spec->dump != NULL;
    if (spec->user) {
        if (geteuid() != 0) {
            log_fatal(TAG,
                      "user %s: qvm must be started as root to change "
                      "its user",
                      spec->user);
            return -1;
        }
        if (resolve_user(spec->user) < 0)
            return -1;
        cf.drop = true;
    }
    const char *s = getenv("QVM_SECCOMP");
    if (s && strcmp(s, "off") == 0) {
        log_warn(TAG, "QVM_SECCOMP=off: no seccomp filters (debugging "
                      "only)");
        return 0;
    }
    if (s && *s && strcmp(s, "on") != 0) {
        log_fatal(TAG, "QVM_SECCOMP='%s': 'on' or 'off'", s);
        return -1;
    }
    bool pipe;
    cf.delayed = needs_delayed(spec, &pipe);
    for (size_t i = 0; i < spec->vdevs.n; i++)
        if (vdev_type_name(&spec->vdevs.v[i]) &&
            strcmp(vdev_type_name(&spec->vdevs.v[i]), "shmem") == 0)
            cf.shmem = true;
    for (size_t i = 0; i < spec->passes.n; i++)
        for (size_t k = 0; k < spec->passes.v[i].locs.n; k++)
            if (spec->passes.v[i].locs.v[k].space == SPACE_PCI)
                cf.vfio = true;
    for (size_t i = 0; i < spec->passes.n; i++)
        for (size_t k = 0; k < spec->passes.v[i].intrs.n; k++)
            if (spec->passes.v[i].intrs.v[k].src == INTR_SRC_UIO)
                cf.pass_intr = true;
    if (pipe) {
        /* The command would start from a vCPU, under its filter. */
        log_warn(TAG, "a `delayed` >|command hostdev cannot be started "
                      "from a confined vCPU: no seccomp filters for this VM");
        return 0;
    }
    for (int c = 0; c < LOG_NCLASS; c++)
        if (spec->log_dest[c] == LOGD_SLOG)
            cf.slog = true;
    for (size_t i = 0; i < spec->vdevs.n; i++) { /* a vdev's `log ... slog` */
        const struct opt_val *lo = vdev_opt(&spec->vdevs.v[i], "log");
        if (lo && lo->num2 == LOGD_SLOG)
            cf.slog = true;
    }
    if (cf.slog)
        log_slog_open();
    if (prctl(PR_GET_SECCOMP) < 0 && errno == EINVAL) {
        log_fatal(TAG, "this kernel has no seccomp; QVM_SECCOMP=off runs "
                       "qvm unconfined");
        return -1;
    }
    install_handler();
    cf.on = true;
    return 0;
}

void confine_force(void)
{
    thread_memory();
    install_handler();
    cf.on = true;
}

int confine_drop_ids(void)
{
    if (!cf.drop)
        return 0;
    gid_t g = cf.gid;
    if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 ||
        setresuid(cf.uid, cf.uid, cf.uid) < 0) {
        log_fatal(TAG, "user %s: cannot change to uid %u gid %u: %s", cf.user,
                  (unsigned)cf.uid, (unsigned)g, strerror(errno));
        return -1;
    }
    uid_t r, e, s;
    gid_t rg, eg, sg, list[2];
    int n = getgroups(2, list);
    bool ok = getresuid(&r, &e, &s) == 0 && r == cf.uid && e == cf.uid &&
              s == cf.uid && getresgid(&rg, &eg, &sg) == 0 && rg == g &&
              eg == g && sg == g && n == 1 && list[0] == g;
    /* Root must be out of reach: tried on this thread only (raw call). */
    if (ok && cf.uid != 0 && syscall(SYS_setresuid, 0, 0, 0) == 0)
        ok = false;
    if (!ok) {
        log_fatal(TAG, "user %s: the ids did not change as asked", cf.user);
        return -1;
    }
    return 0;
}

int confine_drop(void)
{
    if (!cf.drop)
        return 0;
    if (confine_drop_ids() < 0)
        return -1;
    log_info(TAG, "running as uid %u gid %u (user %s)", (unsigned)cf.uid,
             (unsigned)cf.gid, cf.user);
    return 0;
}

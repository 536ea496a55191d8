/*
 * kvm-probe: decides whether this machine's /dev/kvm is usable for qvm's VM
 * tests, and is the "raw KVM floor" (the least a VMM can do: open, create a
 * VM and a vCPU, run one exit) that qvm's start-up is measured against.
 * "Usable" means: /dev/kvm opens read-write, KVM_GET_API_VERSION is 12, and a
 * one-page guest of the host's architecture (kvm-probe-x86.c,
 * kvm-probe-arm64.c: struct probe_arch) makes its one expected exit and
 * reaches its goal, within a timeout enforced by alarm() so that the probe
 * can never hang. Standalone: only libc and <linux/kvm.h>.
 *
 * Usage: kvm-probe [-q] [DEVICE]   (DEVICE defaults to /dev/kvm)
 * Prints one line, "kvm-probe: usable (...)" or "kvm-probe: not usable: ...",
 * unless -q, and exits 0 if usable, 1 if not, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm-probe.h"

#define PROBE_TIMEOUT_S 10

static int quiet;

void say(const char *fmt, ...)
{
    va_list ap;

    if (quiet)
        return;
    va_start(ap, fmt);
    (void)fputs("kvm-probe: ", stdout);
    (void)vprintf(fmt, ap);
    (void)fputc('\n', stdout);
    va_end(ap);
    (void)fflush(stdout);
}

/* Only async-signal-safe calls: the line was formatted before the alarm. */
static char alarm_msg[128];

static void on_alarm(int sig)
{
    ssize_t n = 0;

    (void)sig;
    if (!quiet)
        n = write(STDOUT_FILENO, alarm_msg, strlen(alarm_msg));
    (void)n;
    _exit(1);
}

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static const char *open_error(int err)
{
    switch (err) {
    case ENOENT:
    case ENXIO:
    case ENODEV:
        return "missing";
    case EACCES:
    case EPERM:
        return "permission denied";
    default:
        return strerror(err);
    }
}

/* Runs the vCPU to the goal; returns 0 or -1 with a message. */
static int run_guest(int vcpu, struct kvm_run *run)
{
    const char *goal = probe_arch.goal;
    int state = 0;

    for (int i = 0; i < 16; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            say("not usable: guest did not reach %s: KVM_RUN: %s", goal,
                strerror(errno));
            return -1;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_INTERNAL_ERROR:
            say("not usable: guest did not reach %s: internal error, "
                "suberror %u",
                goal, run->internal.suberror);
            return -1;
        case KVM_EXIT_FAIL_ENTRY:
            say("not usable: guest did not reach %s: entry failed, reason "
                "0x%llx",
                goal,
                (unsigned long long)
                    run->fail_entry.hardware_entry_failure_reason);
            return -1;
        default: {
            int r = probe_arch.exit(run, &state);
            if (r != 0)
                return r > 0 ? 0 : -1;
            break;
        }
        }
    }
    say("not usable: guest did not reach %s: too many exits", goal);
    return -1;
}

static int probe_guest(int kvm)
{
    struct kvm_userspace_memory_region region;
    struct kvm_run *run = MAP_FAILED;
    uint8_t *mem = MAP_FAILED;
    int vm = -1, vcpu = -1, ret = -1;
    long run_size;

    vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
    if (vm < 0) {
        say("not usable: KVM_CREATE_VM: %s", strerror(errno));
        goto out;
    }
    mem = mmap(NULL, probe_arch.size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        say("not usable: mmap: %s", strerror(errno));
        goto out;
    }
    memcpy(mem, probe_arch.code, probe_arch.code_len);
    region = (struct kvm_userspace_memory_region){
        .slot = 0,
        .guest_phys_addr = probe_arch.base,
        .memory_size = probe_arch.size,
        .userspace_addr = (uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        say("not usable: KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
        goto out;
    }
    vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
    if (vcpu < 0) {
        say("not usable: KVM_CREATE_VCPU: %s", strerror(errno));
        goto out;
    }
    run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0UL);
    if (run_size < (long)sizeof(*run)) {
        say("not usable: KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
        goto out;
    }
    run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu,
               0);
    if (run == MAP_FAILED) {
        say("not usable: mmap of kvm_run: %s", strerror(errno));
        goto out;
    }
    if (probe_arch.setup(vm, vcpu) == 0 && run_guest(vcpu, run) == 0)
        ret = 0;
    munmap(run, (size_t)run_size);
out:
    if (mem != MAP_FAILED)
        munmap(mem, probe_arch.size);
    if (vcpu >= 0)
        close(vcpu);
    if (vm >= 0)
        close(vm);
    return ret;
}

int main(int argc, char **argv)
{
    const char *dev = "/dev/kvm";
    double t0;
    int kvm, api, argi = 1;

    if (argi < argc && strcmp(argv[argi], "-q") == 0) {
        quiet = 1;
        argi++;
    }
    if (argi < argc && argv[argi][0] != '-')
        dev = argv[argi++];
    if (argi != argc) {
        (void)fprintf(stderr, "usage: kvm-probe [-q] [DEVICE]\n");
        return 2;
    }

    (void)snprintf(alarm_msg, sizeof(alarm_msg),
                   "kvm-probe: not usable: guest did not reach %s within the "
                   "timeout\n",
                   probe_arch.goal);
    (void)signal(SIGALRM, on_alarm);
    alarm(PROBE_TIMEOUT_S);
    t0 = now_us();

    kvm = open(dev, O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        say("not usable: %s: %s", dev, open_error(errno));
        return 1;
    }
    api = ioctl(kvm, KVM_GET_API_VERSION, 0UL);
    if (api < 0) {
        say("not usable: %s: KVM_GET_API_VERSION: %s", dev, strerror(errno));
        close(kvm);
        return 1;
    }
    if (api != KVM_API_VERSION) {
        say("not usable: %s: wrong API version %d (want %d)", dev, api,
            KVM_API_VERSION);
        close(kvm);
        return 1;
    }
    if ((probe_arch.check && probe_arch.check(kvm, dev) < 0) ||
        probe_guest(kvm) < 0) {
        close(kvm);
        return 1;
    }
    close(kvm);
    say("usable (%s, API %d, %s in %.0f us)", dev, api, probe_arch.reached,
        now_us() - t0);
    return 0;
}

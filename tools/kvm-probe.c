/*
 * kvm-probe: decides whether this machine's /dev/kvm is usable for qvm's VM
 * tests, and is the "raw KVM floor" (the least a VMM can do: open, create a
 * VM and a vCPU, run one exit) that qvm's start-up is measured against.
 * "Usable" means: /dev/kvm opens read-write, KVM_GET_API_VERSION is 12, and a
 * one-page real-mode guest (mov al, 0x5a; out 0xf4, al; hlt) reaches
 * KVM_EXIT_HLT after its port write, within a timeout enforced by alarm() so
 * that the probe can never hang. Standalone: only libc and <linux/kvm.h>.
 *
 * Usage: kvm-probe [-q] [DEVICE]   (DEVICE defaults to /dev/kvm)
 * Prints one line, "kvm-probe: usable (...)" or "kvm-probe: not usable: ...",
 * unless -q, and exits 0 if usable, 1 if not, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PROBE_TIMEOUT_S 10
#define GUEST_BASE      0x1000
#define GUEST_SIZE      0x1000
#define PROBE_PORT      0xf4
#define PROBE_BYTE      0x5a

/* mov al, 0x5a; out 0xf4, al; hlt; jmp to the hlt */
static const uint8_t probe_code[] = {
    0xb0, PROBE_BYTE, 0xe6, PROBE_PORT, 0xf4, 0xeb, 0xfd,
};

static int quiet;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
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

static void on_alarm(int sig)
{
    static const char msg[] = "kvm-probe: not usable: guest did not reach hlt "
                              "within the timeout\n";
    ssize_t n = 0;

    (void)sig;
    if (!quiet)
        n = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
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

/* Sets up a real-mode vCPU at GUEST_BASE; returns 0 or -1 with a message. */
static int setup_vcpu(int vcpu)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;

    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
        say("not usable: KVM_GET_SREGS: %s", strerror(errno));
        return -1;
    }
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
        say("not usable: KVM_SET_SREGS: %s", strerror(errno));
        return -1;
    }
    regs = (struct kvm_regs){0};
    regs.rip = GUEST_BASE;
    regs.rflags = 0x2;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
        say("not usable: KVM_SET_REGS: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Runs the vCPU until hlt; returns 0 or -1 with a message. */
static int run_to_hlt(int vcpu, struct kvm_run *run)
{
    int saw_out = 0;

    for (int i = 0; i < 16; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            say("not usable: guest did not reach hlt: KVM_RUN: %s",
                strerror(errno));
            return -1;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            const uint8_t *data = (const uint8_t *)run + run->io.data_offset;

            if (run->io.direction != KVM_EXIT_IO_OUT ||
                run->io.port != PROBE_PORT || run->io.size != 1 ||
                data[0] != PROBE_BYTE) {
                say("not usable: guest did not reach hlt: unexpected port "
                    "I/O (port 0x%x)",
                    run->io.port);
                return -1;
            }
            saw_out = 1;
            break;
        }
        case KVM_EXIT_HLT:
            if (!saw_out) {
                say("not usable: guest did not reach hlt: hlt before its "
                    "port write");
                return -1;
            }
            return 0;
        case KVM_EXIT_INTERNAL_ERROR:
            say("not usable: guest did not reach hlt: internal error, "
                "suberror %u",
                run->internal.suberror);
            return -1;
        case KVM_EXIT_FAIL_ENTRY:
            say("not usable: guest did not reach hlt: entry failed, "
                "reason 0x%llx",
                (unsigned long long)
                    run->fail_entry.hardware_entry_failure_reason);
            return -1;
        default:
            say("not usable: guest did not reach hlt: exit reason %u",
                run->exit_reason);
            return -1;
        }
    }
    say("not usable: guest did not reach hlt: too many exits");
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
    mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        say("not usable: mmap: %s", strerror(errno));
        goto out;
    }
    memcpy(mem, probe_code, sizeof(probe_code));
    region = (struct kvm_userspace_memory_region){
        .slot = 0,
        .guest_phys_addr = GUEST_BASE,
        .memory_size = GUEST_SIZE,
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
    if (setup_vcpu(vcpu) == 0 && run_to_hlt(vcpu, run) == 0)
        ret = 0;
    munmap(run, (size_t)run_size);
out:
    if (mem != MAP_FAILED)
        munmap(mem, GUEST_SIZE);
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
    if (probe_guest(kvm) < 0) {
        close(kvm);
        return 1;
    }
    close(kvm);
    say("usable (%s, API %d, guest reached hlt in %.0f us)", dev, api,
        now_us() - t0);
    return 0;
}

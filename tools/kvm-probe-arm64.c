/*
 * kvm-probe-arm64: kvm-probe for aarch64 hosts (the aarch64 lab's L1 and
 * arm64 machines): decides whether this machine's /dev/kvm runs an arm64
 * guest. "Usable" means: /dev/kvm opens read-write, KVM_GET_API_VERSION is
 * 12, KVM offers PSCI 0.2, and a one-page guest started at EL1h with the MMU
 * off (str w1, [x0]: a 32-bit store of 0x5a to an address no memory slot
 * covers, then PSCI SYSTEM_OFF through hvc #0) gives exactly one MMIO write
 * exit with that address, size and value, then KVM_EXIT_SYSTEM_EVENT of
 * type SHUTDOWN, within a timeout enforced by alarm(). The same output and
 * exit statuses as kvm-probe; built as tools/kvm-probe on aarch64, and with
 * `aarch64-linux-gnu-gcc -static` by tests/lab/test-lab-arm64.sh. Standalone:
 * only libc and <linux/kvm.h> (of an arm64 target).
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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PROBE_TIMEOUT_S 10
#define GUEST_BASE      0x40000000ULL
#define GUEST_SIZE      0x10000ULL /* a page on 4, 16 and 64 KiB hosts */
#define PROBE_MMIO      0x10000000ULL
#define PROBE_VALUE     0x5a

/* The guest, in A64 (little endian). */
static const uint32_t probe_code[] = {
    0xd2a20000, /* movz x0, #0x1000, lsl #16      x0 = PROBE_MMIO */
    0x52800b41, /* movz w1, #0x5a                 w1 = PROBE_VALUE */
    0xb9000001, /* str  w1, [x0]                  the MMIO exit */
    0xd2800100, /* movz x0, #0x8                                  */
    0xf2b08000, /* movk x0, #0x8400, lsl #16      x0 = 0x84000008 */
    0xd4000002, /* hvc  #0                        PSCI, KVM's own */
    0x14000000, /* b    .                         never reached */
};

/* KVM_{GET,SET}_ONE_REG id of a 64-bit field of struct kvm_regs */
#define CORE_REG(field)                                                        \
    (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                     \
     (offsetof(struct kvm_regs, field) / sizeof(uint32_t)))

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
    static const char msg[] = "kvm-probe: not usable: guest did not reach "
                              "PSCI SYSTEM_OFF within the timeout\n";
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

/* KVM_ARM_VCPU_INIT with PSCI 0.2 (the VM's preferred target), then the PC
 * at GUEST_BASE; returns 0 or -1 with a message. PSTATE stays as the init
 * leaves it: EL1h, DAIF masked, the MMU off. */
static int setup_vcpu(int vm, int vcpu)
{
    struct kvm_vcpu_init init;
    uint64_t pc = GUEST_BASE;
    struct kvm_one_reg reg = {.id = CORE_REG(regs.pc), .addr = (uintptr_t)&pc};

    memset(&init, 0, sizeof(init));
    if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
        say("not usable: KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
        return -1;
    }
    init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
    if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0) {
        say("not usable: KVM_ARM_VCPU_INIT: %s", strerror(errno));
        return -1;
    }
    if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0) {
        say("not usable: KVM_SET_ONE_REG (pc): %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Runs the vCPU to its SYSTEM_OFF; returns 0 or -1 with a message. */
static int run_to_off(int vcpu, struct kvm_run *run)
{
    int mmio = 0;

    for (int i = 0; i < 16; i++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            say("not usable: guest did not reach SYSTEM_OFF: KVM_RUN: %s",
                strerror(errno));
            return -1;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_MMIO: {
            uint32_t v;

            memcpy(&v, run->mmio.data, sizeof(v));
            if (!run->mmio.is_write || run->mmio.phys_addr != PROBE_MMIO ||
                run->mmio.len != 4 || v != PROBE_VALUE || mmio) {
                say("not usable: unexpected MMIO exit (%s of %u bytes at "
                    "0x%llx)",
                    run->mmio.is_write ? "write" : "read", run->mmio.len,
                    (unsigned long long)run->mmio.phys_addr);
                return -1;
            }
            mmio = 1;
            break;
        }
        case KVM_EXIT_SYSTEM_EVENT:
            if (run->system_event.type != KVM_SYSTEM_EVENT_SHUTDOWN) {
                say("not usable: system event %u, not SHUTDOWN",
                    run->system_event.type);
                return -1;
            }
            if (!mmio) {
                say("not usable: SYSTEM_OFF before the guest's MMIO write");
                return -1;
            }
            return 0;
        case KVM_EXIT_INTERNAL_ERROR:
            say("not usable: guest did not reach SYSTEM_OFF: internal "
                "error, suberror %u",
                run->internal.suberror);
            return -1;
        case KVM_EXIT_FAIL_ENTRY:
            say("not usable: guest did not reach SYSTEM_OFF: entry failed, "
                "reason 0x%llx",
                (unsigned long long)
                    run->fail_entry.hardware_entry_failure_reason);
            return -1;
        default:
            say("not usable: guest did not reach SYSTEM_OFF: exit reason %u",
                run->exit_reason);
            return -1;
        }
    }
    say("not usable: guest did not reach SYSTEM_OFF: too many exits");
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
    if (setup_vcpu(vm, vcpu) == 0 && run_to_off(vcpu, run) == 0)
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
    if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0) {
        say("not usable: %s: no PSCI 0.2 (KVM_CAP_ARM_PSCI_0_2)", dev);
        close(kvm);
        return 1;
    }
    if (probe_guest(kvm) < 0) {
        close(kvm);
        return 1;
    }
    close(kvm);
    say("usable (%s, API %d, aarch64 guest: an MMIO exit, then PSCI "
        "SYSTEM_OFF in %.0f us)",
        dev, api, now_us() - t0);
    return 0;
}

/*
 * vm.c: VM lifecycle: open KVM, create the VM, map memory, realize
 * devices, load the guest, create and start the vCPUs, then wait on the
 * main thread for a stop request or a signal, and tear everything down.
 */
#include "vm/vm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/pl061.h"
#include "devices/platform.h"
#include "util/log.h"
#include "vm/confine.h"
#include "vm/dumper.h"
#include "vm/machine.h"
#include "vm/reaper.h"

#define TAG "vm"

#define STATUS_EARLY_FATAL 64
#define SHUTDOWN_GRACE_S   30 /* default QVM_SHUTDOWN_GRACE */

void vm_request_stop(struct vm *vm, enum vm_stop why)
{
    int expect = -1;
    if (!atomic_compare_exchange_strong(&vm->stop, &expect, (int)why))
        return;
    uint64_t one = 1;
    if (vm->stop_efd >= 0) {
        ssize_t w = write(vm->stop_efd, &one, sizeof(one));
        (void)w;
    }
    pthread_mutex_lock(&vm->lock);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vcpu_kick(&vm->vcpus[i]);
    pthread_mutex_unlock(&vm->lock);
}

static void ctx_stop(void *opaque, enum vm_stop why)
{
    vm_request_stop(opaque, why);
}

/* Guest dumps (the configuration's `dump`; vm/dumper.h). */
static int ctx_dump(void *opaque, const char *why)
{
    return vm_dump(opaque, why, false);
}

/* ---- KVM fast paths for devices (device.h); -ENOSYS: use the slow path */

static int ctx_ioeventfd(void *opaque, bool pio, uint64_t addr, unsigned len,
                         bool match, uint64_t data, int fd, bool assign)
{
    struct vm *vm = opaque;
    if (!vm->has_ioeventfd || (len == 0 && !vm->has_ioeventfd_any) ||
        (len == 0 && match))
        return -ENOSYS;
    return kvm_ioeventfd(&vm->kvm, pio, addr, len, match, data, fd, assign);
}

/* A write KVM queued in the coalesced ring, delivered as if it exited. */
static void coalesced_deliver(void *opaque, bool pio, uint64_t addr,
                              const uint8_t *data, unsigned len)
{
    struct vm *vm = opaque;
    uint8_t buf[8];
    memcpy(buf, data, len);
    if (bus_access(pio ? &vm->pio : &vm->mmio, addr, buf, len, true) != BUS_OK)
        log_debug(TAG, "coalesced write to unmapped %s 0x%llx dropped",
                  pio ? "port" : "address", (unsigned long long)addr);
}

static int ctx_coalesced_pio(void *opaque, uint64_t port, unsigned len,
                             bool assign)
{
    struct vm *vm = opaque;
    if (!vm->has_coalesced_pio || len == 0)
        return -ENOSYS;
    return kvm_coalesced_zone(&vm->kvm, true, port, len, assign);
}

static void ctx_coalesced_drain(void *opaque)
{
    struct vm *vm = opaque;
    pioring_drain(&vm->coalesced);
}

static void ctx_coalesced_on_flush(void *opaque,
                                   void (*fn)(void *arg, uint64_t port),
                                   void *arg)
{
    struct vm *vm = opaque;
    if (vm->ncflush == ARRAY_SIZE(vm->cflush)) {
        log_debug(TAG, "no room for another coalesced-output flush");
        return;
    }
    vm->cflush[vm->ncflush].fn = fn;
    vm->cflush[vm->ncflush++].arg = arg;
}

static int ctx_msi_route_alloc(void *opaque)
{
    struct vm *vm = opaque;
    if (!vm->has_irqfd)
        return -ENOSYS; /* a route is only useful behind an irqfd */
    return arch_msi_route_alloc(vm);
}

static int ctx_msi_route_set(void *opaque, int gsi, bool valid, uint64_t addr,
                             uint32_t data)
{
    return arch_msi_route_set(opaque, gsi, valid, addr, data);
}

static int ctx_irqfd(void *opaque, int gsi, int fd, bool assign)
{
    struct vm *vm = opaque;
    if (!vm->has_irqfd)
        return -ENOSYS;
    if (gsi < 0)
        return -EINVAL;
    return kvm_irqfd(&vm->kvm, (uint32_t)gsi, fd, assign);
}

static int ctx_irqfd_resample(void *opaque, int gsi, int fd, int rfd,
                              bool assign)
{
    if (gsi < 0)
        return -EINVAL;
    return arch_irqfd_resample(opaque, gsi, fd, rfd, assign);
}

static int ctx_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
    struct vm *vm = opaque;
    if (!vm->has_signal_msi)
        return -ENOSYS;
    int e = kvm_signal_msi(&vm->kvm, addr, data);
    return e < 0 ? e : 0; /* 0: the guest blocks it, as hardware would */
}

/* Devices' memory slots (shmem's region window, a passed device's BARs):
 * KVM memory slots from DEV_SLOT_BASE up, clear of the spec's regions and
 * the firmware's (arch) below. */
#define DEV_SLOT_BASE 256

static int ctx_slot_new(void *opaque)
{
    struct vm *vm = opaque;
    if (vm->next_dev_slot < DEV_SLOT_BASE)
        vm->next_dev_slot = DEV_SLOT_BASE;
    if (vm->next_dev_slot >= INT16_MAX)
        return -ENOSPC;
    return (int)vm->next_dev_slot++;
}

static int ctx_slot_set(void *opaque, int slot, uint64_t gpa, uint64_t size,
                        void *hva)
{
    struct vm *vm = opaque;
    if (slot < DEV_SLOT_BASE || (uint32_t)slot >= vm->next_dev_slot)
        return -EINVAL;
    /* Size 0 deletes the slot (KVM ignores the other fields then). */
    return kvm_set_mem_slot(&vm->kvm, (uint32_t)slot, size ? gpa : 0, size,
                            size ? hva : NULL, false);
}

static int ctx_ram_add(void *opaque, uint64_t gpa, uint64_t size, void *hva)
{
    struct vm *vm = opaque;
    int slot = ctx_slot_new(vm);
    int e = slot < 0 ? slot : ctx_slot_set(vm, slot, gpa, size, hva);
    if (e < 0) {
        log_fatal(TAG, "KVM_SET_USER_MEMORY_REGION (device) 0x%llx,0x%llx: %s",
                  (unsigned long long)gpa, (unsigned long long)size,
                  strerror(-e));
        return e;
    }
    return 0;
}

/*
 * Which fast paths this VM offers. QVM_KVM_FAST=none (or a comma list of
 * "ioeventfd", "irqfd", "coalesced") restricts them, to exercise the slow
 * paths (MMIO/port exits for kicks, KVM_SIGNAL_MSI for MSI-X, an exit per
 * UART THR write) on a host that has everything. KVM_SIGNAL_MSI is the
 * slow path itself: always used when KVM has it.
 */
static bool fast_allowed(const char *what)
{
    const char *s = getenv("QVM_KVM_FAST");
    if (!s || !*s)
        return true;
    size_t n = strlen(what);
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += n)
        if ((p == s || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return true;
    return false;
}

static void probe_fast_paths(struct vm *vm)
{
    const struct kvm_sys *k = &vm->kvm;
    vm->has_ioeventfd =
        kvm_check_cap(k, KVM_CAP_IOEVENTFD) > 0 && fast_allowed("ioeventfd");
    vm->has_ioeventfd_any =
        vm->has_ioeventfd && kvm_check_cap(k, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
    vm->has_irqfd = vm->has_irqchip && kvm_check_cap(k, KVM_CAP_IRQFD) > 0 &&
                    kvm_check_cap(k, KVM_CAP_IRQ_ROUTING) > 0 &&
                    fast_allowed("irqfd");
    vm->has_signal_msi =
        vm->has_irqchip && kvm_check_cap(k, KVM_CAP_SIGNAL_MSI) > 0;
    /* The ring is a page of each vCPU's mapping (attached with vCPU 0). */
    long page = sysconf(_SC_PAGESIZE);
    vm->has_coalesced_pio =
        kvm_check_cap(k, KVM_CAP_COALESCED_PIO) > 0 &&
        kvm_check_cap(k, KVM_CAP_COALESCED_MMIO) ==
            KVM_COALESCED_MMIO_PAGE_OFFSET &&
        page > 0 &&
        k->run_size >=
            (size_t)(KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * (size_t)page &&
        fast_allowed("coalesced");
    log_debug(TAG,
              "KVM fast paths: ioeventfd %s%s, irqfd %s, signal-msi %s, "
              "coalesced pio %s",
              vm->has_ioeventfd ? "yes" : "no",
              vm->has_ioeventfd_any ? " (any length)" : "",
              vm->has_irqfd ? "yes" : "no", vm->has_signal_msi ? "yes" : "no",
              vm->has_coalesced_pio ? "yes" : "no (THR writes exit)");
}

static int build(struct vm *vm)
{
    const struct vm_spec *spec = vm->spec;
    if (kvm_open(&vm->kvm) < 0)
        return -1;
    int e = kvm_create_vm(&vm->kvm);
    if (e < 0) {
        log_fatal(TAG, "KVM_CREATE_VM: %s", strerror(-e));
        return -1;
    }
    /* Memory before the in-kernel irqchip and PIT: once they exist, every
     * memslot change waits for an SRCU grace period (4-8 ms of start-up,
     * bench/README.md). KVM needs them only before the first vCPU. */
    if (gmem_init(&vm->mem, spec) < 0 ||
        gmem_register(&vm->mem, &vm->kvm) < 0 ||
        passthru_mem_setup(&vm->pass, spec, &vm->kvm, &vm->mmio) < 0 ||
        arch_vm_init(vm) < 0)
        return -1;
    probe_fast_paths(vm);
    vm->dev_ctx =
        (struct dev_ctx){.pio = &vm->pio,
                         .mmio = &vm->mmio,
                         .mem = &vm->mem.view,
                         .irq_resolve = arch_irq_resolve,
                         .irq_isa = arch_irq_isa,
                         .legacy_replacement = arch_legacy_replacement,
                         .stop = ctx_stop,
                         .dump = ctx_dump,
                         .opaque = vm,
                         .ioeventfd = ctx_ioeventfd,
                         .msi_route_alloc = ctx_msi_route_alloc,
                         .msi_route_set = ctx_msi_route_set,
                         .irqfd = ctx_irqfd,
                         .irqfd_resample = ctx_irqfd_resample,
                         .irq_eoi_fd = arch_irq_eoi_fd,
                         .msi_send = ctx_msi_send,
                         .ram_add = ctx_ram_add,
                         .slot_new = ctx_slot_new,
                         .slot_set = ctx_slot_set,
                         .coalesced_pio = ctx_coalesced_pio,
                         .coalesced_drain = ctx_coalesced_drain,
                         .coalesced_on_flush = ctx_coalesced_on_flush};
    if (devices_realize(spec, &vm->dev_ctx, &vm->devs) < 0)
        return -1;
    for (size_t i = 0; i < vm->devs.v.n; i++)
        if (strcmp(vm->devs.v.v[i].name, PM_DEV_NAME) == 0)
            vm->pm = vm->devs.v.v[i].state;
        else if (strcmp(vm->devs.v.v[i].name, PL061_DEV_NAME) == 0)
            vm->gpio_power = vm->devs.v.v[i].state;
    vm->nvcpus = spec->cpus.n ? (unsigned)spec->cpus.n : 1;
    vm->vcpus = calloc(vm->nvcpus, sizeof(*vm->vcpus));
    if (!vm->vcpus) {
        vm->nvcpus = 0;
        log_fatal(TAG, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vm->vcpus[i].fd = -1;
    /* Firmware tables first: the loaders copy the RSDP and avoid them. */
    if (arch_firmware_init(vm) < 0)
        return -1;
    struct boot_err berr = {{0}};
    if (boot_load_spec(&vm->mem.view, spec, &vm->boot_in, &vm->boot, &berr) <
        0) {
        log_fatal("loader", "%s", berr.msg);
        return -1;
    }
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vcpu_create(vm, &vm->vcpus[i], i) < 0)
            return -1;
    if (vm->has_coalesced_pio)
        pioring_attach(&vm->coalesced,
                       (char *)vm->vcpus[0].run +
                           (size_t)KVM_COALESCED_MMIO_PAGE_OFFSET *
                               (size_t)sysconf(_SC_PAGESIZE),
                       (size_t)sysconf(_SC_PAGESIZE));
    /* Port permissions last: the vCPU threads, created after this, inherit
     * them; the I/O and helper threads, created before, have none. */
    if (passthru_io_setup(&vm->pass, spec, &vm->pio) < 0)
        return -1;
    return arch_vcpu_boot(&vm->vcpus[0], &vm->boot);
}

static const char *exit_name(unsigned r)
{
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "unknown",
        [KVM_EXIT_IO] = "io",
        [KVM_EXIT_HLT] = "hlt",
        [KVM_EXIT_MMIO] = "mmio",
        [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq-window",
        [KVM_EXIT_SHUTDOWN] = "shutdown",
        [KVM_EXIT_FAIL_ENTRY] = "fail-entry",
        [KVM_EXIT_INTR] = "intr",
        [KVM_EXIT_INTERNAL_ERROR] = "internal-error",
        [KVM_EXIT_SYSTEM_EVENT] = "system-event",
        [KVM_EXIT_IOAPIC_EOI] = "ioapic-eoi",
    };
    return r < ARRAY_SIZE(names) && names[r] ? names[r] : NULL;
}

static void log_status(struct vm *vm, const struct timespec *t0)
{
    static const char *const states[] = {
        [VCPU_CREATED] = "not started",
        [VCPU_IN_GUEST] = "in the guest (KVM_RUN)",
        [VCPU_IN_QVM] = "handling an exit",
        [VCPU_STOPPED] = "stopped",
    };
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double up = (double)(t.tv_sec - t0->tv_sec) +
                (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
    log_info(TAG, "status: system %s, up %.1f s, %u vCPU(s), %zu device(s), %s",
             vm->spec->system ? vm->spec->system : "qvm-guest", up, vm->nvcpus,
             vm->devs.v.n,
             vm->spec->arch != ARCH_X86_64
                 ? "WFI as KVM decides (exit-on-halt is x86's)"
             : vm->hlt_in_guest ? "HLT stays in the guest (exit-on-halt off)"
                                : "HLT exits (exit-on-halt on)");
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        char by[256] = "";
        size_t n = 0;
        for (unsigned r = 0; r < VCPU_EXIT_REASONS; r++) {
            unsigned long c = atomic_load(&v->by_reason[r]);
            const char *name = exit_name(r);
            if (!c || n >= sizeof(by))
                continue;
            int w = name ? snprintf(by + n, sizeof(by) - n, "%s%s %lu",
                                    n ? ", " : "", name, c)
                         : snprintf(by + n, sizeof(by) - n, "%sreason %u %lu",
                                    n ? ", " : "", r, c);
            if (w > 0)
                n += (size_t)w;
        }
        int st = atomic_load(&v->state);
        log_info(TAG, "status: vCPU %u: %s, %lu exits to qvm%s%s%s", i,
                 st >= 0 && st <= VCPU_STOPPED ? states[st] : "?",
                 vcpu_exits(v), n ? " (" : "", by, n ? ")" : "");
    }
    if (vm->has_coalesced_pio)
        log_info(TAG, "status: coalesced port writes delivered: %llu",
                 (unsigned long long)pioring_delivered(&vm->coalesced));
    devices_report(&vm->devs, vm->spec);
}

/* QVM_SHUTDOWN_GRACE: seconds the guest gets after the power button. */
static int shutdown_grace(void)
{
    const char *s = getenv("QVM_SHUTDOWN_GRACE");
    char *end;
    long v = s ? strtol(s, &end, 10) : -1;
    if (!s || *end || v < 0 || v > 86400)
        return SHUTDOWN_GRACE_S;
    return (int)v;
}

/*
 * SIGTERM/SIGINT: press the power button: ACPI's on x86, the gpio-keys
 * KEY_POWER pin of qvm's PL061 on aarch64 (devices/pl061.h). A guest
 * listening (ACPI: PWRBTN_EN set; GPIO: the pin's interrupt enabled) gets
 * shutdown_grace() seconds to power off; a second signal, the end of the
 * grace period or a guest that does not listen cut the power (status 3).
 */
static void power_button(struct vm *vm, int signo)
{
    const char *sig = signo == SIGINT    ? "SIGINT"
                      : signo == SIGHUP  ? "SIGHUP"
                      : signo == SIGALRM ? "SIGALRM"
                                         : "SIGTERM";
    if (vm->pwrbtn_presses++) {
        log_info(TAG, "%s again: power cut", sig);
        vm_request_stop(vm, STOP_POWERCUT);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &vm->pwrbtn);
    if (vm->gpio_power) {
        if (!pl061_power_button(vm->gpio_power)) {
            log_info(TAG,
                     "%s: the guest has not enabled the GPIO power key's "
                     "interrupt (no gpio-keys driver); power cut",
                     sig);
            vm_request_stop(vm, STOP_POWERCUT);
            return;
        }
        log_info(TAG,
                 "%s: GPIO power key (KEY_POWER) pressed; the guest has %d s "
                 "to shut down (QVM_SHUTDOWN_GRACE), a second signal cuts the "
                 "power",
                 sig, shutdown_grace());
        return;
    }
    if (!vm->pm || !pm_power_button(vm->pm)) {
        log_info(TAG,
                 "%s: the guest has not enabled the ACPI power button "
                 "(no ACPI OS); power cut",
                 sig);
        vm_request_stop(vm, STOP_POWERCUT);
        return;
    }
    log_info(TAG,
             "%s: ACPI power button pressed; the guest has %d s to shut "
             "down (QVM_SHUTDOWN_GRACE), a second signal cuts the power",
             sig, shutdown_grace());
}

/* poll timeout (ms) until the grace period ends, or -1; 0 when over. */
static int grace_left_ms(const struct vm *vm)
{
    if (!vm->pwrbtn_presses)
        return -1;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long el = (long long)(t.tv_sec - vm->pwrbtn.tv_sec) * 1000 +
                   (t.tv_nsec - vm->pwrbtn.tv_nsec) / 1000000;
    long long left = (long long)shutdown_grace() * 1000 - el;
    return left <= 0 ? 0 : (int)left;
}

/* Main thread: wait for a stop request or a signal. */
static void wait_loop(struct vm *vm, int sfd)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!vm_stopping(vm)) {
        struct pollfd p[2] = {{.fd = vm->stop_efd, .events = POLLIN},
                              {.fd = sfd, .events = POLLIN}};
        int left = grace_left_ms(vm);
        if (left == 0) {
            log_info(TAG,
                     "the guest did not power off within %d s of the "
                     "power button; power cut",
                     shutdown_grace());
            vm_request_stop(vm, STOP_POWERCUT);
            break;
        }
        if (poll(p, 2, left) < 0) {
            if (errno == EINTR)
                continue;
            log_fatal(TAG, "poll: %s", strerror(errno));
            vm_request_stop(vm, STOP_INTERNAL);
            break;
        }
        if (!(p[1].revents & POLLIN))
            continue;
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) != sizeof(si))
            continue;
        switch (si.ssi_signo) {
        case SIGUSR1:
            log_status(vm, &t0);
            break;
        case SIGQUIT:
            log_info(TAG, "SIGQUIT: power cut");
            vm_request_stop(vm, STOP_POWERCUT);
            break;
        case SIGUSR2: /* a dump; the guest goes on running */
            (void)vm_dump(vm, "SIGUSR2", false);
            break;
        default: /* SIGTERM, SIGINT, SIGHUP, SIGALRM */
            power_button(vm, (int)si.ssi_signo);
            break;
        }
    }
}

static void teardown(struct vm *vm)
{
    if (!vm_stopping(vm))
        vm_request_stop(vm, STOP_INTERNAL);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].vm)
            vcpu_join(&vm->vcpus[i]);
    vm_dump_pending(vm); /* a fatal guest fault's dump, every vCPU still */
    /* The writes still queued, before the ring is unmapped with the vCPUs
     * and before the devices' final flush. */
    pioring_detach(&vm->coalesced);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].vm)
            log_debug(TAG, "vCPU %u: %lu exits to qvm, %lu of them port I/O", i,
                      vcpu_exits(&vm->vcpus[i]),
                      atomic_load(&vm->vcpus[i].by_reason[KVM_EXIT_IO]));
    log_debug(TAG, "coalesced port writes delivered: %llu",
              (unsigned long long)pioring_delivered(&vm->coalesced));
    for (unsigned i = 0; i < vm->nvcpus; i++)
        if (vm->vcpus[i].vm)
            vcpu_destroy(&vm->vcpus[i]);
    free(vm->vcpus);
    devices_teardown(&vm->devs); /* output flushed, disks closed */
    passthru_free(&vm->pass);
    arch_vm_free(vm);
    /* The kernel's VM teardown after qvm's exit, in the reaper (unless
     * QVM_REAPER=off): then the memory stays mapped for it. */
    const char *r = getenv("QVM_REAPER");
    if ((r && strcmp(r, "off") == 0) || reaper_start(vm->kvm.vm_fd) < 0)
        gmem_free(&vm->mem);
    else
        gmem_forget(&vm->mem);
    kvm_close(&vm->kvm);
    bus_destroy(&vm->pio);
    bus_destroy(&vm->mmio);
    if (vm->stop_efd >= 0)
        close(vm->stop_efd);
    dumper_stop(vm->dumper);
    pthread_cond_destroy(&vm->pause_cv);
    pthread_mutex_destroy(&vm->pause_lock);
    pthread_mutex_destroy(&vm->gsi.lock);
    pthread_mutex_destroy(&vm->lock);
    pioring_destroy(&vm->coalesced);
}

int vm_run(const struct vm_spec *spec)
{
    struct vm vm_s, *vm = &vm_s;
    memset(vm, 0, sizeof(*vm));
    vm->spec = spec;
    vm->kvm.fd = vm->kvm.vm_fd = -1;
    atomic_init(&vm->stop, -1);
    pthread_mutex_init(&vm->lock, NULL);
    pthread_mutex_init(&vm->gsi.lock, NULL);
    pthread_mutex_init(&vm->pause_lock, NULL);
    pthread_cond_init(&vm->pause_cv, NULL);
    atomic_init(&vm->pause_req, false);
    atomic_init(&vm->fault_why, NULL);
    bus_init(&vm->pio, "pio");
    bus_init(&vm->mmio, "mmio");
    pioring_init(&vm->coalesced, coalesced_deliver, vm);
    vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    /* Every signal whose default would end qvm without its teardown (no
     * output flush, no terminal restore) is taken through the signalfd.
     * SIGXFSZ is ignored: a write past RLIMIT_FSIZE then fails with EFBIG,
     * which the writer handles (hostdev output stops, a disk write is an
     * I/O error to the guest). */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_xfsz;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGXFSZ, &ign, &old_xfsz);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGALRM);
    sigaddset(&block, SIGQUIT);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGPIPE);
    sigaddset(&block, vcpu_kick_signal());
    pthread_sigmask(SIG_BLOCK, &block, &old);
    sigdelset(&block, SIGPIPE);
    sigdelset(&block, vcpu_kick_signal());
    int sfd = signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);

    int status = STATUS_EARLY_FATAL;
    const char *rs = getenv("QVM_RESET_STATUS");
    int reset_status = vm_reset_status_parse(rs);
    if (reset_status < 0) {
        log_fatal(TAG,
                  "QVM_RESET_STATUS=%s: not 0 or a status of 32-63 "
                  "(docs/exit-codes.md)",
                  rs);
        goto out;
    }
    if (vm->stop_efd < 0 || sfd < 0) {
        log_fatal(TAG, "cannot create eventfd/signalfd: %s", strerror(errno));
        goto out;
    }
    /* Confinement (README "Confinement"): the I/O and PCI remap threads
     * confine themselves as they start (in build), then `user` drops the
     * ids once everything is open, each vCPU confines itself before its
     * first KVM_RUN, and this thread does last. */
    if (confine_setup(spec) < 0 || dumper_start(spec, &old, &vm->dumper) < 0 ||
        build(vm) < 0 || confine_drop() < 0)
        goto out;
    /* Realize is over: later bus changes are run-time ones (vm/bus.h). */
    bus_seal(&vm->pio);
    bus_seal(&vm->mmio);
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        if (vcpu_start(&vm->vcpus[i]) < 0) {
            if (i == 0)
                goto out;
            vm_request_stop(vm, STOP_FATAL);
            break;
        }
    }
    confine_thread(CONFINE_MAIN);
    wait_loop(vm, sfd);
    status = vm_stop_status((enum vm_stop)atomic_load(&vm->stop), reset_status);
out:
    teardown(vm);
    if (sfd >= 0) {
        struct signalfd_siginfo si; /* drain: don't die of a late ^C */
        while (read(sfd, &si, sizeof(si)) == sizeof(si))
            ;
        close(sfd);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sigaction(SIGXFSZ, &old_xfsz, NULL);
    return status;
}

/*
 * exitpath.c: qvm's real exit path without /dev/kvm, for callgrind
 * (bench/README.md, "Per exit"). One vCPU thread of qvm's own (vcpu_start,
 * vcpu_thread's loop and dispatch, exit_io, bus_access) runs against
 * the platform devices as qvm realizes them (platform_realize: the port
 * 0x80 sink, the ACPI PM block) on a sealed bus. Only the system call
 * is faked: the link wraps libc's ioctl (-Wl,--wrap=ioctl), and the
 * wrapper, for KVM_RUN, writes what KVM would into the kvm_run and
 * returns 0: a one-byte OUT to port 0x80, as bench_exits makes, N times,
 * then a HLT exit, which stops the vCPU. Everything else is qvm's code.
 *
 *     exitpath [N] [PORT]    (defaults: 100000, 0x80)
 *
 * bench/exitpath.sh runs it under callgrind and prints the instructions
 * per exit, with and without the ioctl.
 */
#include <errno.h>
#include <stdarg.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/irqchip.h"
#include "vm/machine.h"

int __real_ioctl(int fd, unsigned long req, ...);
int __wrap_ioctl(int fd, unsigned long req, ...);

static struct kvm_run *fake_run;
static unsigned long left;
static uint16_t port = 0x80;

#define RUN_SIZE (3 * 4096)
#define PIO_DATA 4096 /* KVM_PIO_PAGE_OFFSET * page size */

int __wrap_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (req != KVM_RUN)
        return __real_ioctl(fd, req, arg);
    struct kvm_run *run = fake_run;
    if (left == 0) {
        run->exit_reason = KVM_EXIT_HLT;
        return 0;
    }
    left--;
    run->exit_reason = KVM_EXIT_IO;
    run->io.direction = KVM_EXIT_IO_OUT;
    run->io.size = 1;
    run->io.port = port;
    run->io.count = 1;
    run->io.data_offset = PIO_DATA;
    ((unsigned char *)run)[PIO_DATA] = (unsigned char)left;
    return 0;
}

static int no_irq(void *opaque, unsigned isa, struct irq_line *out)
{
    (void)opaque, (void)isa, (void)out;
    return -ENOENT;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
    if (argc > 2)
        port = (uint16_t)strtoul(argv[2], NULL, 0);
    static struct vm vm;
    static struct vm_spec spec;
    static struct x86_arch arch; /* KVM's irqchip: pre-run does nothing */
    static struct vcpu vcpu;
    fake_run = calloc(1, RUN_SIZE);
    if (!fake_run)
        return 1;
    vm.spec = &spec;
    vm.arch = &arch;
    vm.kvm.run_size = RUN_SIZE;
    atomic_init(&vm.stop, -1);
    vm.stop_efd = -1;
    pthread_mutex_init(&vm.lock, NULL);
    pthread_mutex_init(&vm.pause_lock, NULL);
    pthread_cond_init(&vm.pause_cv, NULL);
    bus_init(&vm.pio, "pio");
    bus_init(&vm.mmio, "mmio");
    struct dev_ctx ctx = {.pio = &vm.pio, .mmio = &vm.mmio, .irq_isa = no_irq};
    struct dev_list devs = {0};
    if (platform_realize(&ctx, &devs) < 0)
        return 1;
    bus_seal(&vm.pio);
    bus_seal(&vm.mmio);
    vcpu = (struct vcpu){.vm = &vm, .id = 0, .fd = -1, .run = fake_run};
    vm.vcpus = &vcpu;
    vm.nvcpus = 1;
    left = n;
    if (vcpu_start(&vcpu) < 0)
        return 1;
    vcpu_join(&vcpu);
    printf("exitpath: %lu exits to port 0x%x, %lu left\n", vcpu_exits(&vcpu),
           port, left);
    return left == 0 ? 0 : 1;
}

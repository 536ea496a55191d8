/*
 * kvm-probe-x86: kvm-probe's guest on x86 hosts (kvm-probe-main.c has the
 * rest): a one-page real-mode guest (mov al, 0x5a; out 0xf4, al; hlt) must
 * make exactly that port write, then reach KVM_EXIT_HLT.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm-probe.h"

#define GUEST_BASE 0x1000
#define PROBE_PORT 0xf4
#define PROBE_BYTE 0x5a

/* mov al, 0x5a; out 0xf4, al; hlt; jmp to the hlt */
static const uint8_t probe_code[] = {
    0xb0, PROBE_BYTE, 0xe6, PROBE_PORT, 0xf4, 0xeb, 0xfd,
};

/* A real-mode vCPU at GUEST_BASE. */
static int setup_vcpu(int vm, int vcpu)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;

    (void)vm;
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

/* The port write once (state 1 after it), then hlt. */
static int probe_exit(struct kvm_run *run, int *saw_out)
{
    switch (run->exit_reason) {
    case KVM_EXIT_IO: {
        const uint8_t *data = (const uint8_t *)run + run->io.data_offset;

        if (run->io.direction != KVM_EXIT_IO_OUT ||
            run->io.port != PROBE_PORT || run->io.size != 1 ||
            data[0] != PROBE_BYTE) {
            say("not usable: guest did not reach hlt: unexpected port I/O "
                "(port 0x%x)",
                run->io.port);
            return -1;
        }
        *saw_out = 1;
        return 0;
    }
    case KVM_EXIT_HLT:
        if (!*saw_out) {
            say("not usable: guest did not reach hlt: hlt before its port "
                "write");
            return -1;
        }
        return 1;
    default:
        say("not usable: guest did not reach hlt: exit reason %u",
            run->exit_reason);
        return -1;
    }
}

const struct probe_arch probe_arch = {
    .goal = "hlt",
    .reached = "guest reached hlt",
    .base = GUEST_BASE,
    .size = 0x1000,
    .code = probe_code,
    .code_len = sizeof(probe_code),
    .setup = setup_vcpu,
    .exit = probe_exit,
};

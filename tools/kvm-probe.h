/*
 * kvm-probe.h: what an architecture's probe (kvm-probe-x86.c,
 * kvm-probe-arm64.c) gives the common part (kvm-probe-main.c): the guest's
 * code and where it runs, how its vCPU starts, and what each exit means.
 * Standalone like the probe: libc and <linux/kvm.h> only.
 */
#ifndef KVM_PROBE_H
#define KVM_PROBE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct probe_arch {
    const char *goal;    /* "hlt": "guest did not reach <goal>" */
    const char *reached; /* "usable (DEV, API 12, <reached> in N us)" */
    uint64_t base;       /* guest physical address of the code */
    uint64_t size;       /* its memory slot: a host page at least */
    const void *code;
    size_t code_len;
    /* What KVM must offer (NULL: nothing more); 0, or -1 after a say(). */
    int (*check)(int kvm, const char *dev);
    /* The vCPU at `base`; 0, or -1 after a say(). */
    int (*setup)(int vm, int vcpu);
    /* One exit the common loop does not know: 1 the probe's goal was
     * reached, 0 go on, -1 after a say(). `state` starts at 0. */
    int (*exit)(struct kvm_run *run, int *state);
};

extern const struct probe_arch probe_arch;

/* "kvm-probe: " + the message + a newline on stdout, unless -q. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

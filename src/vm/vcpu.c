/*
 * vcpu.c: one host thread per vCPU running the KVM_RUN loop. A stop
 * request sets run->immediate_exit and signals the thread with a no-op
 * handler, so a vCPU blocked in KVM_RUN (e.g. halted) leaves it promptly.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "util/log.h"
#include "vm/machine.h"

#define TAG "vcpu"

int vcpu_kick_signal(void)
{
    return SIGRTMIN + 2;
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned id)
{
    memset(vcpu, 0, sizeof(*vcpu));
    vcpu->vm = vm;
    vcpu->id = id;
    vcpu->fd = kvm_create_vcpu(&vm->kvm, id, &vcpu->run);
    if (vcpu->fd < 0) {
        log_fatal(TAG, "cannot create vCPU %u: %s", id, strerror(-vcpu->fd));
        return vcpu->fd;
    }
    return arch_vcpu_init(vcpu);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *vcpu = arg;
    struct vm *vm = vcpu->vm;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, vcpu_kick_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    while (!vm_stopping(vm)) {
        int r = kvm_vcpu_run(vcpu->fd);
        if (r == -EINTR || r == -EAGAIN)
            continue;
        if (r < 0) {
            log_fatal(TAG, "vCPU %u: KVM_RUN: %s", vcpu->id, strerror(-r));
            vm_request_stop(vm, STOP_FATAL);
            break;
        }
        atomic_fetch_add_explicit(&vcpu->exits, 1, memory_order_relaxed);
        if (!exit_dispatch(vcpu))
            break;
    }
    return NULL;
}

static void kick_handler(int sig)
{
    (void)sig;
}

int vcpu_start(struct vcpu *vcpu)
{
    static bool handler_set;
    if (!handler_set) {
        struct sigaction sa = {.sa_handler = kick_handler};
        sigemptyset(&sa.sa_mask);
        sigaction(vcpu_kick_signal(), &sa, NULL);
        handler_set = true;
    }
    struct vm *vm = vcpu->vm;
    pthread_mutex_lock(&vm->lock);
    int e = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
    if (e == 0) {
        vcpu->thread_started = true;
        if (vm_stopping(vm))
            vcpu_kick(vcpu);
    }
    pthread_mutex_unlock(&vm->lock);
    if (e) {
        log_fatal(TAG, "cannot start the thread of vCPU %u: %s", vcpu->id,
                  strerror(e));
        return -e;
    }
    return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
    if (vcpu->run)
        __atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (vcpu->thread_started)
        pthread_kill(vcpu->thread, vcpu_kick_signal());
}

void vcpu_destroy(struct vcpu *vcpu)
{
    if (vcpu->thread_started) {
        pthread_join(vcpu->thread, NULL);
        vcpu->thread_started = false;
    }
    if (vcpu->fd >= 0 || vcpu->run)
        kvm_destroy_vcpu(&vcpu->vm->kvm, vcpu->fd, vcpu->run);
    vcpu->fd = -1;
    vcpu->run = NULL;
}

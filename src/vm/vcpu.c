/*
 * vcpu.c: one host thread per vCPU running the KVM_RUN loop. A stop
 * request sets run->immediate_exit and signals the thread with a no-op
 * handler, so a vCPU blocked in KVM_RUN (e.g. halted) leaves it promptly.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"
#include "util/log.h"
#include "vm/confine.h"
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

/* `runmask`/`cluster`: pin the thread to the given host CPUs. */
static void apply_affinity(struct vcpu *vcpu, const struct cpu_spec *cs)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    unsigned n = 0;
    for (unsigned c = 0; c < 256 && c < CPU_SETSIZE; c++)
        if (cs->runmask[c / 64] >> (c % 64) & 1) {
            CPU_SET(c, &set);
            n++;
        }
    if (!n)
        return;
    int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (e)
        log_warn(TAG,
                 "vCPU %u: cannot apply its runmask (%u host CPUs): %s; "
                 "it runs on any CPU",
                 vcpu->id, n, strerror(e));
}

/* `sched`: SCHED_RR/SCHED_FIFO at the priority, clamped to the host's. */
static void apply_sched(struct vcpu *vcpu, const struct sched_spec *ss)
{
    int pol;
    switch (ss->policy) {
    case SCHED_P_RR:
    case SCHED_P_OTHER:    /* QNX "other" is round-robin */
    case SCHED_P_SPORADIC: /* no sporadic server on Linux: RR at HI */
        pol = SCHED_RR;
        break;
    case SCHED_P_FIFO:
        pol = SCHED_FIFO;
        break;
    default:
        return;
    }
    int lo = sched_get_priority_min(pol), hi = sched_get_priority_max(pol);
    int prio = ss->prio < (uint32_t)lo   ? lo
               : ss->prio > (uint32_t)hi ? hi
                                         : (int)ss->prio;
    if ((uint32_t)prio != ss->prio)
        log_warn(TAG, "vCPU %u: priority %u clamped to %d (host range %d-%d)",
                 vcpu->id, ss->prio, prio, lo, hi);
    struct sched_param sp = {.sched_priority = prio};
    int e = pthread_setschedparam(pthread_self(), pol, &sp);
    if (e)
        log_warn(TAG,
                 "vCPU %u: the host refused %s priority %d: %s%s; it runs "
                 "with the default policy",
                 vcpu->id, pol == SCHED_RR ? "SCHED_RR" : "SCHED_FIFO", prio,
                 strerror(e),
                 e == EPERM ? " (needs CAP_SYS_NICE or an RLIMIT_RTPRIO)" : "");
}

/*
 * A dump asked the vCPUs to pause: save the registers, wait for the end of
 * the pause. The kick that brought the vCPU here set immediate_exit: it is
 * cleared before the loop looks at the stop flag again, so a stop request
 * made meanwhile (flag first, kick second) is never lost.
 */
static void park(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    arch_dump_save(vcpu);
    pthread_mutex_lock(&vm->pause_lock);
    vcpu->parked = true;
    pthread_cond_broadcast(&vm->pause_cv);
    while (atomic_load(&vm->pause_req))
        pthread_cond_wait(&vm->pause_cv, &vm->pause_lock);
    vcpu->parked = false;
    pthread_mutex_unlock(&vm->pause_lock);
    __atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

/* Deliver what KVM queued, then let the devices that hold output write it
 * before this exit is handled (dev_ctx.coalesced_on_flush), unless it
 * reads one of their own ports (a console's LSR poll: batching goes on):
 * a power-off's or a reset's log line then comes after the guest's last
 * bytes. */
static NOINLINE void
coalesced_before_exit(struct vm *vm, const struct kvm_run *run, uint32_t why)
{
    if (pioring_drain(&vm->coalesced) == 0)
        return;
    uint64_t port = why == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN
                        ? run->io.port
                        : UINT64_MAX;
    for (unsigned i = 0; i < vm->ncflush; i++)
        vm->cflush[i].fn(vm->cflush[i].arg, port);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *vcpu = arg;
    struct vm *vm = vcpu->vm;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, vcpu_kick_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    /* Named by itself (prctl), as the block workers are: `ps -L`, and
     * the tests find a vCPU's runmask and sched in /proc by the name. */
    char tn[16];
    snprintf(tn, sizeof(tn), "qvm-vcpu%u", vcpu->id % 1000u);
    (void)pthread_setname_np(pthread_self(), tn);
    if (vcpu->id < vm->spec->cpus.n) {
        const struct cpu_spec *cs = &vm->spec->cpus.v[vcpu->id];
        if (cs->has_runmask)
            apply_affinity(vcpu, cs);
        apply_sched(vcpu, &cs->sched);
    }
    confine_thread(CONFINE_VCPU);
    const bool pre_run = arch_vcpu_has_pre_run(vcpu);
    exit_thread_init(vcpu);

    /* The exit path (bench/README.md, "Per exit"): only this vCPU's own
     * counters are written; state is for the status report (relaxed). */
    while (!vm_stopping(vm)) {
        if (UNLIKELY(atomic_load(&vm->pause_req))) {
            park(vcpu);
            continue;
        }
        if (pre_run)
            arch_vcpu_pre_run(vcpu);
        atomic_store_explicit(&vcpu->state, VCPU_IN_GUEST,
                              memory_order_relaxed);
        int r = kvm_vcpu_run(vcpu->fd);
        atomic_store_explicit(&vcpu->state, VCPU_IN_QVM, memory_order_relaxed);
        if (UNLIKELY(r < 0)) {
            if (r == -EINTR || r == -EAGAIN)
                continue;
            log_fatal(TAG, "vCPU %u: KVM_RUN: %s", vcpu->id, strerror(-r));
            vm_request_stop(vm, STOP_FATAL);
            break;
        }
        struct kvm_run *run = vcpu->run;
        uint32_t why = run->exit_reason;
        /* Writes KVM queued (vm/pioring.h) reach their device before
         * anything this exit does. */
        if (UNLIKELY(pioring_pending(&vm->coalesced)))
            coalesced_before_exit(vm, run, why);
        if (UNLIKELY(why >= VCPU_EXIT_REASONS)) {
            atomic_fetch_add_explicit(&vcpu->exits_other, 1,
                                      memory_order_relaxed);
            if (!exit_unexpected(vcpu, why))
                break;
            continue;
        }
        exit_fn fn = exit_table[why]; /* read before the counter */
        atomic_fetch_add_explicit(&vcpu->by_reason[why], 1,
                                  memory_order_relaxed);
        bool go_on =
            LIKELY(fn != NULL) ? fn(vcpu, run) : exit_unexpected(vcpu, why);
        if (!go_on)
            break;
    }
    if (vm->dumper)
        arch_dump_save(vcpu); /* a dump at exit (vm_dump_pending) */
    pthread_mutex_lock(&vm->pause_lock);
    atomic_store(&vcpu->state, VCPU_STOPPED);
    pthread_cond_broadcast(&vm->pause_cv);
    pthread_mutex_unlock(&vm->pause_lock);
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

unsigned long vcpu_exits(struct vcpu *vcpu)
{
    unsigned long n = atomic_load(&vcpu->exits_other);
    for (unsigned r = 0; r < VCPU_EXIT_REASONS; r++)
        n += atomic_load(&vcpu->by_reason[r]);
    return n;
}

void vcpu_join(struct vcpu *vcpu)
{
    if (vcpu->thread_started) {
        pthread_join(vcpu->thread, NULL);
        vcpu->thread_started = false;
    }
}

/* Running: started and not ended; such a vCPU must park for a dump. */
static bool must_park(const struct vcpu *v)
{
    return v->thread_started && atomic_load(&v->state) != VCPU_STOPPED &&
           !v->parked;
}

void vcpus_pause(struct vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    atomic_store(&vm->pause_req, true);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vcpu_kick(&vm->vcpus[i]);
    pthread_mutex_unlock(&vm->lock);
    pthread_mutex_lock(&vm->pause_lock);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        while (must_park(&vm->vcpus[i]))
            pthread_cond_wait(&vm->pause_cv, &vm->pause_lock);
    pthread_mutex_unlock(&vm->pause_lock);
}

void vcpus_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->pause_lock);
    atomic_store(&vm->pause_req, false);
    pthread_cond_broadcast(&vm->pause_cv);
    pthread_mutex_unlock(&vm->pause_lock);
}

void vcpu_destroy(struct vcpu *vcpu)
{
    vcpu_join(vcpu);
    free(vcpu->dump_state);
    vcpu->dump_state = NULL;
    if (vcpu->fd >= 0 || vcpu->run)
        kvm_destroy_vcpu(&vcpu->vm->kvm, vcpu->fd, vcpu->run);
    vcpu->fd = -1;
    vcpu->run = NULL;
}

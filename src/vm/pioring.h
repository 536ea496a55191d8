/*
 * pioring.h: the consumer of KVM's coalesced I/O ring (KVM_CAP_COALESCED_PIO,
 * KVM_CAP_COALESCED_MMIO). A guest write into a registered zone does not
 * exit: KVM appends it to one ring per VM (a page of the vCPU mapping at
 * KVM_COALESCED_MMIO_PAGE_OFFSET) and qvm delivers it later, in order,
 * through `deliver` (the port or memory bus). A full ring makes the write
 * exit as usual, so a write is never lost.
 *
 * Ordering: every vCPU exit drains the ring before it is dispatched
 * (pioring_pending is a load and a compare), so a register write that
 * exits always reaches its device after the data the same vCPU queued
 * before it. A device whose zone is registered drains it on a timer too
 * (dev_ctx.coalesced_drain), so that output never waits for an idle guest,
 * and the teardown drains it once more (pioring_detach) after the vCPUs
 * stopped and before the devices' final flush.
 *
 * Context: any thread; one consumer at a time (the lock), and `deliver`
 * runs under it, so two drains never reorder entries. Lock order: the
 * ring's lock, then the device's.
 */
#ifndef QVM_VM_PIORING_H
#define QVM_VM_PIORING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

typedef void (*pioring_fn)(void *opaque, bool pio, uint64_t addr,
                           const uint8_t *data, unsigned len);

struct pioring {
    pthread_mutex_t lock;
    struct kvm_coalesced_mmio_ring *ring; /* NULL: nothing to drain */
    uint32_t max;                         /* entries in the ring */
    pioring_fn deliver;
    void *opaque;
    uint64_t delivered, bad; /* entries (under the lock) */
};

void pioring_init(struct pioring *r, pioring_fn deliver, void *opaque);
/*
 * pioring_attach: the ring is the page at `page` of `page_size` bytes (the
 * vCPU mapping's KVM_COALESCED_MMIO_PAGE_OFFSET page; a test's own page).
 * Before the vCPUs run.
 */
void pioring_attach(struct pioring *r, void *page, size_t page_size);
/* pioring_drain: deliver every queued entry, oldest first; how many. */
unsigned pioring_drain(struct pioring *r);
/* pioring_pending: whether the ring holds an entry (no lock: a hint). */
static inline bool pioring_pending(struct pioring *r)
{
    struct kvm_coalesced_mmio_ring *ring =
        __atomic_load_n(&r->ring, __ATOMIC_ACQUIRE);
    return ring && __atomic_load_n(&ring->first, __ATOMIC_RELAXED) !=
                       __atomic_load_n(&ring->last, __ATOMIC_RELAXED);
}
/* pioring_before_exit: what a vCPU does before it dispatches an exit:
 * drain when something is queued. */
static inline void pioring_before_exit(struct pioring *r)
{
    if (pioring_pending(r))
        pioring_drain(r);
}
/* pioring_detach: drain, then forget the ring (before it is unmapped):
 * later drains deliver nothing. */
void pioring_detach(struct pioring *r);
/* pioring_delivered: entries delivered so far. */
uint64_t pioring_delivered(struct pioring *r);
void pioring_destroy(struct pioring *r);

#endif

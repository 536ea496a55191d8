/*
 * pioring.c: KVM's coalesced I/O ring, consumed in order (see pioring.h).
 * KVM (virt/kvm/coalesced_mmio.c) writes the entry at `last`, then
 * advances `last` (after a write barrier) and refuses a write when the
 * ring is full ((last + 1) % max == first); qvm reads from `first` and
 * advances it once the entry is delivered.
 */
#include "vm/pioring.h"

#include <string.h>

#include "util/log.h"

#define TAG "pioring"

void pioring_init(struct pioring *r, pioring_fn deliver, void *opaque)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->deliver = deliver;
    r->opaque = opaque;
}

void pioring_attach(struct pioring *r, void *page, size_t page_size)
{
    pthread_mutex_lock(&r->lock);
    r->max = (uint32_t)((page_size - sizeof(struct kvm_coalesced_mmio_ring)) /
                        sizeof(struct kvm_coalesced_mmio));
    __atomic_store_n(&r->ring, (struct kvm_coalesced_mmio_ring *)page,
                     __ATOMIC_RELEASE);
    pthread_mutex_unlock(&r->lock);
}

/* Caller holds the lock. */
static unsigned drain_locked(struct pioring *r)
{
    struct kvm_coalesced_mmio_ring *ring = r->ring;
    if (!ring || !r->max)
        return 0;
    unsigned n = 0;
    uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
    uint32_t last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
    while (first != last) {
        if (first >= r->max || last >= r->max) {
            /* Only KVM writes `last`, only qvm `first`: never happens. */
            if (!r->bad++)
                log_error(TAG, "coalesced ring indices out of range (%u, %u)",
                          first, last);
            break;
        }
        struct kvm_coalesced_mmio e;
        memcpy(&e, &ring->coalesced_mmio[first], sizeof(e));
        if (e.len >= 1 && e.len <= sizeof(e.data)) {
            r->deliver(r->opaque, e.pio != 0, e.phys_addr, e.data, e.len);
            r->delivered++;
            n++;
        } else if (!r->bad++) {
            log_error(TAG, "coalesced write of %u bytes at 0x%llx dropped",
                      e.len, (unsigned long long)e.phys_addr);
        }
        first = (first + 1) % r->max;
        /* The entry is consumed: KVM may reuse its slot. */
        __atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
        if (first == last)
            last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
    }
    return n;
}

unsigned pioring_drain(struct pioring *r)
{
    pthread_mutex_lock(&r->lock);
    unsigned n = drain_locked(r);
    pthread_mutex_unlock(&r->lock);
    return n;
}

void pioring_detach(struct pioring *r)
{
    pthread_mutex_lock(&r->lock);
    drain_locked(r);
    __atomic_store_n(&r->ring, NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&r->lock);
}

uint64_t pioring_delivered(struct pioring *r)
{
    pthread_mutex_lock(&r->lock);
    uint64_t n = r->delivered;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void pioring_destroy(struct pioring *r)
{
    pthread_mutex_destroy(&r->lock);
}

/*
 * memory.h: guest physical memory built from the spec's `ram` and `rom`
 * lines. Each region is an anonymous MAP_NORESERVE mapping, so start-up does
 * no work proportional to the RAM size; pages are populated on first touch.
 * Each lies between two 2 MiB PROT_NONE guards: a host-side overrun past
 * either end of guest memory faults instead of reaching another mapping.
 * ROM is host-writable (for loaders) and read-only to the guest
 * (KVM_MEM_READONLY; guest writes become MMIO exits and are dropped).
 */
#ifndef QVM_VM_MEMORY_H
#define QVM_VM_MEMORY_H

#include <stdint.h>

#include "config/spec.h"
#include "hv/kvm.h"
#include "loader/gview.h"
#include "util/compiler.h"

struct gmem_map {
    void *host;
    uint64_t size;
};

struct gmem {
    struct gview view;
    VEC(struct gmem_map) maps;
};

/* gmem_init: map every ram/rom region. Logs and returns -errno on failure. */
int gmem_init(struct gmem *m, const struct vm_spec *spec) MUST_CHECK;
/* gmem_register: one KVM memory slot per region. */
int gmem_register(const struct gmem *m, const struct kvm_sys *k) MUST_CHECK;
void gmem_free(struct gmem *m);
/* gmem_forget: the bookkeeping only; the mappings stay (the reaper's exit
 * unmaps them, vm/reaper.h). */
void gmem_forget(struct gmem *m);

/*
 * gmem_ptr: THE gate from guest-physical to host addresses: NULL on
 * overflow, zero length or any byte outside one ram/rom region.
 * Context: any thread.
 */
static inline void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
    return gview_ptr(&m->view, gpa, len);
}

#endif

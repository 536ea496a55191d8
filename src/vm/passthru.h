/*
 * passthru.h: `pass loc mem:` and `pass loc io:` (docs/passthrough.md).
 *
 * Memory: each range of host physical memory is an mmap of /dev/mem
 * (MAP_SHARED, O_SYNC unless the attributes say cacheable) made at start,
 * before confinement, and given to KVM as its own memory slot (read-only
 * without `w`). It is not guest RAM: it is never added to the guest view
 * (struct gmem), so no device, loader or VFIO DMA map ever sees it.
 *
 * I/O ports: KVM exits on every guest port access (ioperm does not reach
 * the guest), so each range is a region on the port bus whose accesses
 * qvm forwards with in/out to the host ports, after ioperm() on the main
 * thread before the vCPU threads exist (the I/O permission bitmap is per
 * thread and inherited by the threads it creates). A guest port reaches
 * only its own range's host port: host = host_base + (guest - base).
 *
 * Context: passthru_mem_setup and passthru_io_setup on the main thread at
 * start; the port region ops on vCPU threads.
 */
#ifndef QVM_VM_PASSTHRU_H
#define QVM_VM_PASSTHRU_H

#include <stdbool.h>
#include <stdint.h>

#include "config/spec.h"
#include "hv/kvm.h"
#include "util/compiler.h"
#include "util/vec.h"
#include "vm/bus.h"

/* KVM memory slots of passed memory: PASS_SLOT_BASE + n, between the
 * spec's regions (and the ACPI area's) and the devices' (vm.c). */
#define PASS_SLOT_BASE 128u
#define PASS_SLOT_MAX  64u

struct pass_mem {
    void *host;
    uint64_t gpa, size, host_pa;
    bool readonly;
};

struct pass_io {
    uint64_t base, count, host_base;
};

/* The host's port instructions and ioperm, replaceable by tests. */
struct pass_port_hw {
    int (*ioperm)(unsigned long from, unsigned long num, int on);
    uint32_t (*in)(uint16_t port, unsigned size);
    void (*out)(uint16_t port, uint32_t val, unsigned size);
};
extern const struct pass_port_hw *pass_port_hw;

struct passthru {
    VEC(struct pass_mem) mem;
    VEC(struct pass_io) io;
};

/*
 * pass_mem_map: mmap host physical [host_pa, +size) from `devmem` (the
 * path of /dev/mem; $QVM_DEVMEM replaces it in tests). Logs one line
 * saying why and what to do, and returns -errno, on failure.
 */
int pass_mem_map(const char *devmem, uint64_t host_pa, uint64_t size,
                 const struct pass_attrs *a, void **out) MUST_CHECK;

/* passthru_mem_setup: map every `pass loc mem:` and give it a KVM slot
 * (k NULL: map only, for tests); a read-only one also gets a region on
 * mmio (NULL: none) that drops and logs the guest's writes, which exit to
 * qvm. -1 (logged) on failure. */
int passthru_mem_setup(struct passthru *p, const struct vm_spec *spec,
                       const struct kvm_sys *k, struct bus *mmio) MUST_CHECK;
/* passthru_io_setup: ioperm and a port-bus region for each `pass loc io:`.
 * -1 (logged) on failure. */
int passthru_io_setup(struct passthru *p, const struct vm_spec *spec,
                      struct bus *pio) MUST_CHECK;
/* passthru_free: unmap the memory (after the vCPUs are gone). */
void passthru_free(struct passthru *p);

#endif

/*
 * bus.h: an address space (port I/O or MMIO) of device regions. Regions
 * are sorted and never overlap; devices see offsets into their region,
 * never absolute addresses.
 *
 * The exit path takes no lock (issue 18 item 3). bus_access reads an
 * immutable sorted array of regions (a snapshot) through an atomic
 * pointer, inside a read-side section that only touches the calling
 * thread's own reader record (its sequence counter: odd while inside).
 * bus_map and bus_unmap, serialised by the bus's writer lock (never
 * taken by bus_access), build a new snapshot, publish it, then wait for a
 * grace period: every reader that was inside a section when the new
 * snapshot was published has left it. Then the old snapshot is freed.
 * So when bus_map/bus_unmap return, no thread is still in an op of a
 * region they removed (callers may free the device, as with the reader
 * lock this replaces), and at most one snapshot per bus outlives a
 * writer: a guest moving a BAR a million times leaves nothing behind.
 * Why a synchronous grace period rather than deferred reclamation
 * (epochs): run-time changes are rare (PCI BAR programming, the remap
 * thread already holds the vCPU that asked until the move is applied),
 * a grace period lasts at most one exit per vCPU, and only it gives the
 * "gone when unmap returns" contract. docs/devices.md, "The buses".
 *
 * Sealing: every region a machine has for its whole life is mapped while
 * devices are realized; bus_seal, called before the vCPUs start, marks
 * the end of that. Later changes are run-time changes (PCI BAR moves
 * through the remap thread, teardown): published the same way, counted
 * (bus_stats) and logged at debug level.
 *
 * Context: bus_access, bus_find and bus_defer on any thread (vCPU
 * threads); bus_map, bus_unmap, bus_seal on any thread but never from
 * inside a region op (use bus_defer); bus_init/bus_destroy with no other
 * user.
 */
#ifndef QVM_VM_BUS_H
#define QVM_VM_BUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"
#include "util/vec.h"

struct region_ops {
    /* size is 1, 2, 4 or 8; offset + size <= region length. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t val, unsigned size);
};

struct bus_region {
    uint64_t base, len;
    const char *name;
    const struct region_ops *ops;
    void *opaque;
};

/* One published map (bus.c): immutable once published. */
struct bus_snap;

struct bus {
    const char *name;                /* "pio", "mmio" */
    _Atomic(struct bus_snap *) snap; /* what bus_access reads */
    /* lock guards the writers' copy of the regions (equal to *snap
     * between writers): bus_map/bus_unmap hold it exclusively; code
     * that lists the regions (tests, the fuzz harness) may hold it
     * shared. bus_access never takes it. */
    pthread_rwlock_t lock;
    VEC(struct bus_region) regions;
    bool sealed;
    atomic_ulong published, reclaimed, runtime_changes, grace_waits;
};

enum bus_result { BUS_OK, BUS_UNMAPPED };

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
/* bus_map: -EINVAL for zero length or wrap, -EEXIST on overlap, -ENOMEM. */
int bus_map(struct bus *bus, const char *name, uint64_t base, uint64_t len,
            const struct region_ops *ops, void *opaque) MUST_CHECK;
int bus_unmap(struct bus *bus, uint64_t base);
/* bus_seal: realize is over (vm_run, before the vCPUs start). */
void bus_seal(struct bus *bus);
/* bus_find: name of the region holding addr, or NULL (for messages). */
const char *bus_find(struct bus *bus, uint64_t addr);
/*
 * bus_access: little-endian `size`-byte access at addr. Unmapped (or
 * straddling a region's end): reads fill data with all ones, writes are
 * dropped, and BUS_UNMAPPED is returned for the caller to log.
 */
enum bus_result bus_access(struct bus *bus, uint64_t addr, void *data,
                           unsigned size, bool is_write);
/*
 * bus_defer: called from inside a region op, run fn(arg) on the same
 * thread right after that bus_access returns, outside the read-side
 * section, so that a device can change the bus (bus_map/bus_unmap,
 * directly or through another thread it waits for) before the vCPU goes
 * back to the guest: a PCI BAR move is complete when the config write
 * that asked for it returns, as on hardware. At most BUS_DEFER_MAX per
 * access: -ENOSPC beyond, -EINVAL outside a bus access.
 */
#define BUS_DEFER_MAX 8
int bus_defer(void (*fn)(void *arg), void *arg) MUST_CHECK;

/* bus_stats: snapshots published and freed since bus_init, the maps and
 * unmaps made after bus_seal, and how many times a writer found a reader
 * inside an access and waited for it to leave. For tests and reports. */
struct bus_stats {
    unsigned long published, reclaimed, runtime_changes, grace_waits;
};
void bus_stats(const struct bus *bus, struct bus_stats *out);

#endif

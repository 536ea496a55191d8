/*
 * bus.h: an address space (port I/O or MMIO) of device regions. Regions
 * are sorted and never overlap; devices see offsets into their region,
 * never absolute addresses.
 *
 * Context: bus_access on vCPU threads under the read lock; bus_map and
 * bus_unmap take the write lock.
 */
#ifndef QVM_VM_BUS_H
#define QVM_VM_BUS_H

#include <pthread.h>
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

struct bus {
    const char *name; /* "pio", "mmio" */
    pthread_rwlock_t lock;
    VEC(struct bus_region) regions;
};

enum bus_result { BUS_OK, BUS_UNMAPPED };

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
/* bus_map: -EINVAL for zero length or wrap, -EEXIST on overlap, -ENOMEM. */
int bus_map(struct bus *bus, const char *name, uint64_t base, uint64_t len,
            const struct region_ops *ops, void *opaque) MUST_CHECK;
int bus_unmap(struct bus *bus, uint64_t base);
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
 * thread right after that bus_access returns, with no bus lock held, so
 * that a device can change the bus (bus_map/bus_unmap, directly or through
 * another thread it waits for) before the vCPU goes back to the guest: a
 * PCI BAR move is complete when the config write that asked for it
 * returns, as on hardware. At most BUS_DEFER_MAX per access: -ENOSPC
 * beyond, -EINVAL outside a bus access.
 */
#define BUS_DEFER_MAX 8
int bus_defer(void (*fn)(void *arg), void *arg) MUST_CHECK;

#endif

/*
 * shmem.h: `vdev shmem`, QNX's guest_shm protocol (qvm-reference 4.6,
 * docs/shmem.md): named regions of host shared memory that several VMs
 * (and host processes) attach, with per-client notifications.
 *
 * The model (shmem.c) is the guest-visible part: the factory page (BAR0 or
 * `loc`), one trapped control page per attached region, and the region
 * window where each region's data is mapped. It reaches the host through
 * struct shm_host_ops (shmem_host.c: files under /dev/shm, a futex
 * waiter thread per region; tests: a fake). What the VMs sharing a region
 * agree on is struct shm_hdr, the first page of the region's host object,
 * which no guest ever maps.
 */
#ifndef QVM_DEVICES_SHMEM_H
#define QVM_DEVICES_SHMEM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"
#include "util/compiler.h"
#include "vm/bus.h"

#define SHM_SIGNATURE   0x4d534732474d5651ULL /* "QVMG2GSM" */
#define SHM_MAX_CLIENTS 16
#define SHM_MAX_NAME    32
#define SHM_PAGE        0x1000ULL
/* The region window: SHM_SLOTS regions per vdev, each a control page then
 * at most SHM_SLOT_SIZE - SHM_PAGE bytes of data. */
#define SHM_SLOTS     4
#define SHM_SLOT_SIZE 0x1000000ULL /* 16 MiB */
#define SHM_WINDOW    (SHM_SLOTS * SHM_SLOT_SIZE)

/* Factory page registers. */
#define SHM_F_SIGNATURE 0x00
#define SHM_F_SHMEM     0x08
#define SHM_F_VECTOR    0x10
#define SHM_F_STATUS    0x14
#define SHM_F_SIZE      0x18
#define SHM_F_NAME      0x1c
#define SHM_F_FIND      0x3c
/* Control page registers. */
#define SHM_C_STATUS 0x00
#define SHM_C_IDX    0x04
#define SHM_C_NOTIFY 0x08
#define SHM_C_DETACH 0x0c

enum shm_status {
    GSS_OK,
    GSS_UNKNOWN_FAILURE,
    GSS_NOMEM,
    GSS_CLIENT_MAX,
    GSS_ILLEGAL_NAME,
    GSS_NO_PERMISSION,
    GSS_DOES_NOT_EXIST,
};

/*
 * The first page of a region's host object, shared by every process that
 * attaches it. All zero is the initial state (a new object is zero-filled).
 * owner[i]: the pid of client i's qvm, 0 when free (claimed by
 * compare-and-swap; a dead owner's slot is reclaimed by the next attach or
 * notify). pending[i]: the clients that notified i and that i has not read
 * yet. seq[i]: bumped on every change of i's status (a notification, an
 * attach or detach); client i's waiter sleeps on it (FUTEX_WAIT on a shared
 * mapping works across processes). Every value read from here is checked:
 * another process may have written anything.
 */
struct shm_hdr {
    uint32_t magic; /* 0 or SHM_HDR_MAGIC */
    uint32_t version;
    _Atomic uint32_t owner[SHM_MAX_CLIENTS];
    _Atomic uint32_t pending[SHM_MAX_CLIENTS];
    _Atomic uint32_t seq[SHM_MAX_CLIENTS];
};

struct shmem;

/*
 * The host side. open: region `name` (validated: 1-31 characters of
 * [A-Za-z0-9._-], not starting with '.'), at least `size` data bytes,
 * created when absent; its data mapped at `where` (size bytes, MAP_FIXED)
 * and its header returned in *hdr. Returns a GSS_* status; on GSS_OK
 * *handle is what close takes. close: unmap (the data range returns to
 * anonymous zero pages) and release. alive: whether process `pid` exists.
 * wake: wake the waiters of a header word. watch: start a waiter for
 * client `idx` of slot `slot` that calls shmem_event(sh, slot) whenever
 * hdr->seq[idx] changes; unwatch stops it (not from the waiter itself).
 * self: this process's pid, the value owner[] holds.
 */
struct shm_host_ops {
    int (*open)(void *o, const char *name, uint64_t size, void *where,
                struct shm_hdr **hdr, void **handle);
    void (*close)(void *o, void *handle, void *where, uint64_t size);
    bool (*alive)(void *o, uint32_t pid);
    void (*wake)(void *o, _Atomic uint32_t *word);
    int (*watch)(void *o, struct shmem *sh, unsigned slot, struct shm_hdr *hdr,
                 unsigned idx, void **w);
    void (*unwatch)(void *o, void *w, struct shm_hdr *hdr, unsigned idx);
    uint32_t self;
};

/* Output: the interrupt (PCI INTx or the `intr` line), level-triggered:
 * asserted while some attached region has an unread status change. */
typedef void (*shm_irq_fn)(void *opaque, bool level);

struct shm_slot {
    bool used;
    char name[SHM_MAX_NAME];
    struct shm_hdr *hdr;
    void *handle, *watch;
    unsigned idx;
    uint64_t size;
    /* A status change the guest has not read yet: set by the waiter
     * (shmem_event), cleared by a status read. */
    atomic_bool event;
};

struct shm_policy {
    const char *const *pats; /* shell patterns */
    unsigned n;
    bool allow; /* true: only matching names; false: matching denied */
};

struct shmem {
    pthread_mutex_t lock;     /* registers and slots */
    pthread_mutex_t irq_lock; /* level; taken inside lock, or alone */
    /* factory page */
    char name[SHM_MAX_NAME];
    uint64_t shmem; /* control page of the last create/find */
    uint32_t status;
    uint32_t vector;
    /* the region window: guest-physical base, host base (SHM_WINDOW) */
    uint64_t win_gpa;
    uint8_t *win_host;
    struct shm_slot slots[SHM_SLOTS];
    bool level;
    struct shm_policy policy;
    const struct shm_host_ops *ops;
    void *host;
    shm_irq_fn irq;
    void *irq_opaque;
    const char *label; /* for messages */
};

extern const struct region_ops shmem_factory_ops; /* opaque: struct shmem */
extern const struct region_ops shmem_ctl_ops;     /* control pages */

/* shmem_init: a device with no region attached. */
void shmem_init(struct shmem *sh, const char *label, uint64_t win_gpa,
                uint8_t *win_host, uint32_t vector,
                const struct shm_host_ops *ops, void *host, shm_irq_fn irq,
                void *irq_opaque);
/* shmem_fini: detach every region (peers see it go). */
void shmem_fini(struct shmem *sh);
/* shmem_event: the waiter of `slot` saw its status change. Context: any
 * thread (it takes only the irq lock: unwatch may wait for it). */
void shmem_event(struct shmem *sh, unsigned slot);
/* shmem_name_ok: the region-name rule (see shm_host_ops.open). */
bool shmem_name_ok(const char *name);
/* shmem_policy_permits: allow/deny by shell pattern. */
bool shmem_policy_permits(const struct shm_policy *p, const char *name);

#endif

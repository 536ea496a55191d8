/*
 * fuzz_devreg.c: the generic device-register fuzz target. A device is a row
 * of `rows` below: a configuration text realized by the registry on the
 * fake VM of fuzz_env.h; the input is then a sequence of guest accesses to
 * whatever regions the devices mapped on the port-I/O and MMIO buses
 * (found on the buses at each access, so a PCI BAR the guest moved is
 * followed), through bus_access and so the devices' region_ops, with
 * writes of guest RAM in between (for devices that follow guest-physical
 * addresses through the gview gate). Each target is this file built with
 * -DDEVREG_ROW="name" (tests/fuzz/meson.build); a new device model is one
 * row here and one entry there.
 *
 * Input: [0] host features (FE_KVM_*), [1..2] length L of the host input,
 * then L bytes of host input (the file @DIR@/in, e.g. a UART's `hostdev <`),
 * then operations, each a control byte c and its operands:
 *   c >> 4 < 14: an access of 1 << (c & 3) bytes, a write when c & 4, on
 *                the MMIO bus when c & 8, else port I/O: [region index]
 *                [offset: 2 bytes], and for a write the value (size bytes);
 *                the region is the index modulo the regions mapped, the
 *                offset modulo its length;
 *   c >> 4 == 14: the same with a 4-byte offset;
 *   c >> 4 == 15: guest RAM write: [address: 2 bytes][n] n bytes.
 * Checked: no access reaches outside the buses' regions or guest RAM
 * (ASan), interrupt lines stay in range, every region is unmapped at
 * teardown; UBSan watches the arithmetic.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/schema.h"
#include "devices/shmem.h"
#include "fuzz_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 4096

struct row {
    const char *name;
    const char *config; /* @DIR@: the directory of host files */
    enum arch arch;     /* the guest architecture; 0: x86-64 */
};

static const struct row rows[] = {
    /* the 16550A, its host input read from a file as the guest drains */
    {"ser8250", "vdev ser8250 loc io:0x3f8 hostdev <@DIR@/in\n"},
    /* PCI bus 0 (mechanism #1, ECAM) with a plain function, a
     * virtio-net (modern and legacy registers, MSI-X table and PBA)
     * and a virtio-entropy over PCI */
    {"pci", "vdev pci-dummy reg 0x00/2=0x1234 reg 0x02/2=0x5678\n"
            "vdev virtio-net legacy\n"
            "vdev virtio-entropy\n"},
    /* the HPET: 4 timers, its default lines, legacy replacement, FSB */
    {"hpet", "vdev hpet intr ioapic:2,ioapic:8,ioapic:10,ioapic:11\n"},
    /* the PL011 (an aarch64 guest's; plain MMIO): FIFOs, IFLS levels,
     * interrupts, loopback, host input from a file */
    {"pl011",
     "vdev gic version 3\n"
     "vdev pl011 loc 0x1c090000 intr gic:37 hostdev <@DIR@/in\n",
     ARCH_AARCH64},
    /* guest_shm twice, over PCI (factory page in BAR0, window in BAR2)
     * and MMIO, sharing regions (regions by name under $QVM_SHM_DIR, one
     * pre-created, names refused by a policy): attach, find, notify each
     * other through the shared header, detach (see shm_hook) */
    {"shmem", "vdev shmem create shared,8k umask 027\n"
              "vdev shmem loc 0xfeb00000 intr ioapic:10 deny secret*\n"},
    /* the IB700 watchdog's ports (its expiry needs the event loop) */
    {"wdt_ib700", "vdev wdt-ib700\n"},
};

static const struct row *row;
static struct vm_spec spec;

static uint64_t get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void init(void)
{
    fe_init();
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
        if (strcmp(rows[i].name, DEVREG_ROW) == 0)
            row = &rows[i];
    CHECK(row);
    char path[96];
    snprintf(path, sizeof(path), "%s/in", fe.dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    close(fd);
    snprintf(path, sizeof(path), "%s/shm", fe.dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(setenv("QVM_SHM_DIR", path, 1) == 0);
    fe_spec_arch(&spec, row->config, row->arch);
}

/*
 * vdev shmem's host side stays real (region files under @DIR@/shm, its
 * $QVM_SHM_DIR, emptied before each input so that no region outlives the
 * input that made it), but not its waiter threads: a thread per attached
 * region sleeps on the client's futex word and raises the interrupt when a
 * peer's notify or attach/detach bumps it, at a moment the input does not
 * decide (and its coverage would count for whichever input runs then).
 * shm_hook gives each shmem instance host ops whose watch/unwatch only
 * record (slot, word) and whose wake delivers shmem_event to every slot
 * watching that word at once, on the fuzzing thread: what the waiter does
 * a moment later, in the order the input caused it.
 */
struct shm_watch {
    struct shmem *sh;
    unsigned slot;
    _Atomic uint32_t *word;
    bool used;
};

static struct shm_watch shm_watches[4 * SHM_SLOTS];
static struct shm_host_ops shm_ops;

static int shm_watch(void *o, struct shmem *sh, unsigned slot,
                     struct shm_hdr *hdr, unsigned idx, void **out)
{
    (void)o;
    CHECK(slot < SHM_SLOTS && idx < SHM_MAX_CLIENTS);
    for (size_t i = 0; i < ARRAY_SIZE(shm_watches); i++)
        if (!shm_watches[i].used) {
            shm_watches[i] = (struct shm_watch){sh, slot, &hdr->seq[idx], true};
            *out = &shm_watches[i];
            return 0;
        }
    CHECK(!"more watched regions than slots");
    return -1;
}

static void shm_unwatch(void *o, void *w, struct shm_hdr *hdr, unsigned idx)
{
    (void)o;
    struct shm_watch *sw = w;
    CHECK(sw->used && sw->word == &hdr->seq[idx]);
    sw->used = false;
}

static void shm_wake(void *o, _Atomic uint32_t *word)
{
    (void)o;
    for (size_t i = 0; i < ARRAY_SIZE(shm_watches); i++)
        if (shm_watches[i].used && shm_watches[i].word == word)
            shmem_event(shm_watches[i].sh, shm_watches[i].slot);
}

static void shm_hook(struct dev_list *l)
{
    for (size_t i = 0; i < l->v.n; i++) {
        const struct dev_inst *in = &l->v.v[i];
        if (!in->vd || strcmp(in->vd->type->name, "shmem") != 0)
            continue;
        struct shmem *sh = in->state; /* first member of its state */
        shm_ops = *sh->ops; /* open, close, alive, self: the same for all */
        shm_ops.watch = shm_watch;
        shm_ops.unwatch = shm_unwatch;
        shm_ops.wake = shm_wake;
        sh->ops = &shm_ops;
    }
}

/* Empty @DIR@/shm (the region files of the previous input). */
static void shm_clear(void)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/shm", fe.dir);
    DIR *d = opendir(path);
    CHECK(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            CHECK(unlinkat(dirfd(d), e->d_name, 0) == 0);
    closedir(d);
}

/* With $QVM_FUZZ_LOG, the regions the first input sees (region indexes
 * for hand-made seeds). */
static void list_regions(void)
{
    static bool done;
    if (done || !getenv("QVM_FUZZ_LOG"))
        return;
    done = true;
    struct bus *b[] = {&fe.pio, &fe.mmio};
    for (unsigned i = 0; i < 2; i++)
        for (size_t k = 0; k < b[i]->regions.n; k++)
            fprintf(stderr, "fuzz: %s region %zu: 0x%llx+0x%llx %s\n",
                    i ? "mmio" : "pio", k,
                    (unsigned long long)b[i]->regions.v[k].base,
                    (unsigned long long)b[i]->regions.v[k].len,
                    b[i]->regions.v[k].name ? b[i]->regions.v[k].name : "");
}

static void host_input(const uint8_t *p, size_t n)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/in", fe.dir);
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(write(fd, p, n) == (ssize_t)n);
    close(fd);
}

/* One guest access at offset `off` of region `ri` of the bus. */
static void access_(struct bus *b, unsigned ri, uint64_t off, unsigned size,
                    bool write, uint64_t val)
{
    pthread_rwlock_rdlock(&b->lock);
    size_t n = b->regions.n;
    uint64_t addr = 0;
    if (n) {
        const struct bus_region *r = &b->regions.v[ri % n];
        addr = r->base + off % r->len;
    }
    pthread_rwlock_unlock(&b->lock);
    if (!n)
        return;
    uint64_t v = write ? val : 0;
    (void)bus_access(b, addr, &v, size, write);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!row)
        init();
    if (size < 3)
        return 0;
    const uint8_t *p = data + 3, *end = data + size;
    size_t hl = MIN((size_t)get(data + 1, 2), size - 3);
    host_input(p, hl);
    p += hl;
    fe_reset(data[0]);
    shm_clear();
    static struct dev_list l;
    fe_realize(&spec, &l);
    shm_hook(&l);
    list_regions();
    for (unsigned ops = 0; p < end && ops < MAX_OPS; ops++) {
        uint8_t c = *p++;
        unsigned kind = c >> 4;
        if (kind == 15) {
            if (end - p < 3)
                break;
            uint64_t a = get(p, 2) % FE_RAM;
            size_t n = MIN((size_t)p[2], (size_t)(end - p - 3));
            memcpy(fe.ram + a, p + 3, MIN(n, (size_t)(FE_RAM - a)));
            p += 3 + n;
            continue;
        }
        unsigned sz = 1u << (c & 3), offlen = kind == 14 ? 4 : 2;
        bool write = c & 4;
        if ((size_t)(end - p) < 1 + offlen + (write ? sz : 0))
            break;
        unsigned ri = p[0];
        uint64_t off = get(p + 1, offlen);
        p += 1 + offlen;
        uint64_t val = 0;
        if (write) {
            val = get(p, sz);
            p += sz;
        }
        access_(c & 8 ? &fe.mmio : &fe.pio, ri, off, sz, write, val);
    }
    fe_teardown(&l);
    return 0;
}

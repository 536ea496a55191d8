/*
 * passthru.c: host memory and I/O ports passed to the guest (passthru.h).
 */
#include "vm/passthru.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/ckd.h"
#include "util/log.h"

#define TAG "pass"

static const char *devmem_path(const char *devmem)
{
    const char *e = getenv("QVM_DEVMEM");
    return devmem ? devmem : e && *e ? e : "/dev/mem";
}

int pass_mem_map(const char *devmem, uint64_t host_pa, uint64_t size,
                 const struct pass_attrs *a, void **out)
{
    const char *path = devmem_path(devmem);
    unsigned long long lo = (unsigned long long)host_pa;
    uint64_t end;
    if (size == 0 || size > SIZE_MAX || host_pa > (uint64_t)INT64_MAX ||
        ckd_add(&end, host_pa, size - 1)) {
        log_fatal(TAG,
                  "host memory 0x%llx,0x%llx: not a range this host can "
                  "map",
                  lo, (unsigned long long)size);
        return -EINVAL;
    }
    int flags = (a->write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    if (!a->cached)
        flags |= O_SYNC; /* /dev/mem maps uncached (UC-) with O_SYNC */
    int fd = open(path, flags);
    if (fd < 0) {
        int e = errno;
        log_fatal(TAG, "pass mem host 0x%llx-0x%llx: cannot open %s: %s%s", lo,
                  (unsigned long long)end, path, strerror(e),
                  e == EACCES || e == EPERM
                      ? " (host memory needs CAP_SYS_RAWIO: start qvm as "
                        "root)"
                  : e == ENOENT ? " (the host kernel has no /dev/mem: "
                                  "CONFIG_DEVMEM)"
                                : "");
        return -e;
    }
    int prot = PROT_READ | (a->write ? PROT_WRITE : 0);
    void *p = mmap(NULL, (size_t)size, prot, MAP_SHARED, fd, (off_t)host_pa);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        log_fatal(
            TAG, "pass mem host 0x%llx-0x%llx: %s refuses to map it: %s%s", lo,
            (unsigned long long)end, path, strerror(e),
            e == EPERM
                ? " (it is host RAM, or a range a host driver claims, "
                  "which CONFIG_STRICT_DEVMEM and CONFIG_IO_STRICT_DEVMEM "
                  "keep from user space; /proc/iomem shows its owner: "
                  "unbind that driver, or boot the host with "
                  "iomem=relaxed; guest RAM is given with `ram`, not "
                  "`pass`)"
            : e == EINVAL ? " (past the host's physical address width, "
                            "or mapped elsewhere with another cache "
                            "type: try the other of the `c`/`n` "
                            "attributes)"
                          : "");
        return -e;
    }
    *out = p;
    return 0;
}

/* A read-only range's writes exit to qvm (KVM_MEM_READONLY); reads never
 * do, but answer from the mapping all the same. */
static uint64_t ro_read(void *opaque, uint64_t off, unsigned size)
{
    const struct pass_mem *m = opaque;
    uint64_t v = 0;
    memcpy(&v, (const uint8_t *)m->host + off, size);
    return v;
}

static void ro_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    const struct pass_mem *m = opaque;
    LOG_RATELIMITED(LOG_WARN, TAG,
                    "guest %u-byte write of 0x%llx to read-only pass memory "
                    "0x%llx (host 0x%llx; attributes without w): dropped",
                    size, (unsigned long long)val,
                    (unsigned long long)(m->gpa + off),
                    (unsigned long long)(m->host_pa + off));
}

static const struct region_ops ro_ops = {ro_read, ro_write};

int passthru_mem_setup(struct passthru *p, const struct vm_spec *spec,
                       const struct kvm_sys *k, struct bus *mmio)
{
    /* Fixed size first: the bus keeps pointers to the elements. */
    size_t n = 0;
    for (size_t i = 0; i < spec->passes.n; i++)
        for (size_t j = 0; j < spec->passes.v[i].locs.n; j++)
            n += spec->passes.v[i].locs.v[j].space == SPACE_MEM;
    if (n == 0)
        return 0;
    if (n > PASS_SLOT_MAX) {
        log_fatal(TAG, "more than %u `pass loc mem:` ranges", PASS_SLOT_MAX);
        return -1;
    }
    p->mem.v = calloc(n, sizeof(*p->mem.v));
    if (!p->mem.v) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    p->mem.cap = n;
    bool ro_ok = !k || kvm_check_cap(k, KVM_CAP_READONLY_MEM) > 0;
    for (size_t i = 0; i < spec->passes.n; i++) {
        const struct pass_spec *ps = &spec->passes.v[i];
        for (size_t j = 0; j < ps->locs.n; j++) {
            const struct loc *l = &ps->locs.v[j];
            if (l->space != SPACE_MEM)
                continue;
            struct pass_attrs a;
            pass_attrs_parse(l->attrs, &a);
            uint64_t host = l->has_host ? l->host_base : l->base;
            if (!a.write && !ro_ok) {
                log_fatal(TAG,
                          "pass mem 0x%llx: read-only (no `w`) but KVM "
                          "lacks read-only memory slots",
                          (unsigned long long)l->base);
                return -1;
            }
            void *h = NULL; /* set by pass_mem_map when it returns 0 */
            if (pass_mem_map(NULL, host, l->size, &a, &h) < 0)
                return -1;
            struct pass_mem *m = &p->mem.v[p->mem.n++];
            *m = (struct pass_mem){.host = h,
                                   .gpa = l->base,
                                   .size = l->size,
                                   .host_pa = host,
                                   .readonly = !a.write};
            uint32_t slot = PASS_SLOT_BASE + (uint32_t)(p->mem.n - 1);
            int e =
                k ? kvm_set_mem_slot(k, slot, m->gpa, m->size, h, m->readonly)
                  : 0;
            if (e < 0) {
                log_fatal(TAG,
                          "pass mem 0x%llx,0x%llx: KVM_SET_USER_MEMORY_REGION: "
                          "%s",
                          (unsigned long long)m->gpa,
                          (unsigned long long)m->size, strerror(-e));
                return -1;
            }
            if (m->readonly && mmio &&
                (e = bus_map(mmio, "pass mem (read-only)", m->gpa, m->size,
                             &ro_ops, m)) < 0) {
                log_fatal(TAG, "pass mem 0x%llx,0x%llx: cannot map: %s",
                          (unsigned long long)m->gpa,
                          (unsigned long long)m->size, strerror(-e));
                return -1;
            }
            log_info(TAG, "mem: guest 0x%llx-0x%llx = host 0x%llx (%s, %s)",
                     (unsigned long long)m->gpa,
                     (unsigned long long)(m->gpa + m->size - 1),
                     (unsigned long long)host,
                     m->readonly ? "read-only" : "read/write",
                     a.cached ? "cached" : "uncached");
        }
    }
    return 0;
}

/* ---- I/O ports --------------------------------------------------------- */

/* pass_port_hw: the architecture's (src/arch/x86/port_io.c: in/out after
 * ioperm; NULL on aarch64, which has no I/O port space). */

/* The bus gives offset + size <= count, so the host port stays in the
 * range's own host ports. Sizes: 1, 2 or 4 (port I/O has no 8). */
static uint64_t io_read(void *opaque, uint64_t off, unsigned size)
{
    const struct pass_io *r = opaque;
    if (size > 4)
        return ~0ull;
    return pass_port_hw->in((uint16_t)(r->host_base + off), size);
}

static void io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    const struct pass_io *r = opaque;
    if (size > 4)
        return;
    pass_port_hw->out((uint16_t)(r->host_base + off), (uint32_t)val, size);
}

static const struct region_ops io_ops = {io_read, io_write};

int passthru_io_setup(struct passthru *p, const struct vm_spec *spec,
                      struct bus *pio)
{
    size_t n = 0;
    for (size_t i = 0; i < spec->passes.n; i++)
        for (size_t j = 0; j < spec->passes.v[i].locs.n; j++)
            n += spec->passes.v[i].locs.v[j].space == SPACE_IO;
    if (n == 0)
        return 0;
    if (!pass_port_hw) {
        log_fatal(TAG, "pass io: this host has no I/O ports");
        return -1;
    }
    /* Fixed size first: the bus keeps pointers to the elements. */
    p->io.v = calloc(n, sizeof(*p->io.v));
    if (!p->io.v) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    p->io.cap = n;
    for (size_t i = 0; i < spec->passes.n; i++) {
        const struct pass_spec *ps = &spec->passes.v[i];
        for (size_t j = 0; j < ps->locs.n; j++) {
            const struct loc *l = &ps->locs.v[j];
            if (l->space != SPACE_IO)
                continue;
            uint64_t host = l->has_host ? l->host_base : l->base;
            uint64_t last;
            if (l->size == 0 || ckd_add(&last, host, l->size - 1) ||
                last > 0xffff) {
                log_fatal(TAG, "pass io: host ports 0x%llx,%llu past 0xffff",
                          (unsigned long long)host,
                          (unsigned long long)l->size);
                return -1;
            }
            if (pass_port_hw->ioperm((unsigned long)host,
                                     (unsigned long)l->size, 1) < 0) {
                int e = errno;
                log_fatal(TAG, "pass io: ioperm host ports 0x%llx-0x%llx: %s%s",
                          (unsigned long long)host, (unsigned long long)last,
                          strerror(e),
                          e == EPERM ? " (host ports need CAP_SYS_RAWIO: "
                                       "start qvm as root)"
                                     : "");
                return -1;
            }
            struct pass_io *r = &p->io.v[p->io.n++];
            *r = (struct pass_io){
                .base = l->base, .count = l->size, .host_base = host};
            int e = bus_map(pio, "pass io", r->base, r->count, &io_ops, r);
            if (e < 0) {
                log_fatal(TAG, "pass io 0x%llx,%llu: cannot map: %s",
                          (unsigned long long)r->base,
                          (unsigned long long)r->count, strerror(-e));
                return -1;
            }
            log_info(TAG, "io: guest ports 0x%llx-0x%llx = host 0x%llx-0x%llx",
                     (unsigned long long)r->base,
                     (unsigned long long)(r->base + r->count - 1),
                     (unsigned long long)host, (unsigned long long)last);
        }
    }
    return 0;
}

void passthru_free(struct passthru *p)
{
    for (size_t i = 0; i < p->mem.n; i++)
        munmap(p->mem.v[i].host, (size_t)p->mem.v[i].size);
    VEC_FREE(&p->mem);
    VEC_FREE(&p->io);
}

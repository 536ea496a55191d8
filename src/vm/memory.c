/*
 * memory.c: guest RAM/ROM mappings and their KVM memory slots.
 */
#include "vm/memory.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/log.h"

#define TAG  "memory"
#define PAGE 4096ull
#define HUGE (2ull << 20)

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26) /* MAP_HUGE_SHIFT 26, log2(2 MiB) */
#endif

enum pages { PAGES_HUGE, PAGES_SMALL, PAGES_HUGETLB };

static enum pages pages_of(const struct vm_spec *spec)
{
    const char *v = spec_set_var(spec, "ram-pages");
    if (v && strcmp(v, "small") == 0)
        return PAGES_SMALL;
    if (v && strcmp(v, "hugetlb") == 0)
        return PAGES_HUGETLB;
    return PAGES_HUGE;
}

/* 2 MiB of PROT_NONE on each side of every region (as Firecracker guards
 * its guest memory): a host-side overrun past either end of guest memory
 * faults instead of reaching whatever the host mapped next to it. Address
 * space only: the guards are never backed. */
#define GUARD HUGE

/*
 * map_guarded: `size` bytes mapped with `flags` (MAP_FIXED added) between
 * two GUARD-sized PROT_NONE reservations, at a host address congruent to
 * `gpa` modulo `align` (0 or 2 MiB). The congruence lets every 2 MiB-
 * aligned stretch of guest-physical memory be one 2 MiB-aligned host
 * stretch: only then can a huge page back it and KVM map it with one large
 * page (KVM checks that guest and host addresses agree in their low 21
 * bits). Reserves the guards and `align` of slack, maps the memory over
 * the middle, and gives back the slack. MAP_FAILED and errno on failure.
 */
static void *map_guarded(uint64_t gpa, uint64_t size, uint64_t align, int flags)
{
    if (size > SIZE_MAX - 2 * GUARD - HUGE) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    size_t total = (size_t)(size + 2 * GUARD + align);
    uint8_t *res = mmap(NULL, total, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED)
        return res;
    uint8_t *p = res + GUARD;
    if (align)
        p += ((gpa & (align - 1)) - ((uintptr_t)p & (align - 1))) & (align - 1);
    if (mmap(p, (size_t)size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, -1,
             0) == MAP_FAILED) {
        int e = errno;
        munmap(res, total);
        errno = e;
        return MAP_FAILED;
    }
    size_t head = (size_t)(p - GUARD - res);
    size_t tail = total - head - (size_t)(size + 2 * GUARD);
    if (head)
        munmap(res, head);
    if (tail)
        munmap(p + size + GUARD, tail);
    return p;
}

/* unmap_guarded: a map_guarded mapping with its guards. */
static void unmap_guarded(void *p, uint64_t size)
{
    munmap((uint8_t *)p - GUARD, (size_t)(size + 2 * GUARD));
}

/* map_region: the host memory behind one ram/rom region, as `set
 * ram-pages` asks (ram only: a rom stays on small pages). */
static void *map_region(const struct mem_region *r, enum pages pages)
{
    const int anon = MAP_PRIVATE | MAP_ANONYMOUS;
    if (r->kind == MEM_ROM || pages == PAGES_SMALL)
        return map_guarded(r->base, r->size, 0, anon | MAP_NORESERVE);
    if (pages == PAGES_HUGETLB) {
        if ((r->base | r->size) & (HUGE - 1)) {
            errno = EINVAL;
            log_fatal(TAG,
                      "ram 0x%llx,0x%llx: with `set ram-pages hugetlb` a "
                      "ram region's base and size must be multiples of 2 MiB",
                      (unsigned long long)r->base, (unsigned long long)r->size);
            return MAP_FAILED;
        }
        /* Reserved now (no MAP_NORESERVE): a shortage is this error at
         * start, not a SIGBUS when the guest first touches the page. */
        void *p = map_guarded(r->base, r->size, HUGE,
                              anon | MAP_HUGETLB | MAP_HUGE_2MB);
        if (p == MAP_FAILED) {
            int e = errno;
            log_fatal(TAG,
                      "ram 0x%llx,0x%llx: cannot map 2 MiB huge pages (%s): "
                      "are there enough free ones? Reserve them with `sysctl "
                      "vm.nr_hugepages=N` "
                      "(N = %llu for this region) or use `set ram-pages "
                      "huge`",
                      (unsigned long long)r->base, (unsigned long long)r->size,
                      strerror(e), (unsigned long long)(r->size / HUGE));
            errno = e;
        }
        return p;
    }
    bool huge = r->size >= HUGE;
    void *p =
        map_guarded(r->base, r->size, huge ? HUGE : 0, anon | MAP_NORESERVE);
    if (p != MAP_FAILED && huge &&
        madvise(p, (size_t)r->size, MADV_HUGEPAGE) < 0)
        log_debug(TAG, "ram 0x%llx: no transparent huge pages: %s",
                  (unsigned long long)r->base, strerror(errno));
    return p;
}

int gmem_init(struct gmem *m, const struct vm_spec *spec)
{
    memset(m, 0, sizeof(*m));
    enum pages pages = pages_of(spec);
    for (size_t i = 0; i < spec->mem.n; i++) {
        const struct mem_region *r = &spec->mem.v[i];
        if (r->kind == MEM_RESERVED)
            continue;
        const char *what = r->kind == MEM_ROM ? "rom" : "ram";
        if ((r->base | r->size) & (PAGE - 1) || r->size == 0) {
            log_fatal(TAG,
                      "%s 0x%llx,0x%llx: base and size must be multiples"
                      " of 4 KiB",
                      what, (unsigned long long)r->base,
                      (unsigned long long)r->size);
            return -EINVAL;
        }
        if (r->size > SIZE_MAX) {
            log_fatal(TAG, "%s 0x%llx,0x%llx: too large for this host", what,
                      (unsigned long long)r->base, (unsigned long long)r->size);
            return -ENOMEM;
        }
        void *p = map_region(r, pages);
        if (p == MAP_FAILED) {
            int e = errno;
            if (pages == PAGES_HUGETLB && r->kind == MEM_RAM)
                return -e; /* said by map_region */
            log_fatal(TAG, "cannot map %s 0x%llx,0x%llx: %s", what,
                      (unsigned long long)r->base, (unsigned long long)r->size,
                      strerror(e));
            return -e;
        }
        struct gmem_map *gm = VEC_PUSH(&m->maps);
        if (!gm) {
            unmap_guarded(p, r->size);
            return -ENOMEM;
        }
        gm->host = p;
        gm->size = r->size;
        int e = gview_add_region(&m->view, r->base, r->size, p,
                                 r->kind == MEM_ROM ? GV_ROM : GV_RAM);
        if (e < 0) {
            log_fatal(TAG, "%s 0x%llx,0x%llx overlaps another region", what,
                      (unsigned long long)r->base, (unsigned long long)r->size);
            return e;
        }
    }
    if (m->view.regions.n == 0) {
        log_fatal(TAG, "the configuration has no ram");
        return -EINVAL;
    }
    return 0;
}

int gmem_register(const struct gmem *m, const struct kvm_sys *k)
{
    bool ro_ok = kvm_check_cap(k, KVM_CAP_READONLY_MEM) > 0;
    for (size_t i = 0; i < m->view.regions.n; i++) {
        const struct gview_region *r = &m->view.regions.v[i];
        bool ro = r->kind == GV_ROM;
        if (ro && !ro_ok) {
            log_warn(TAG,
                     "KVM lacks read-only memory: rom 0x%llx is "
                     "writable by the guest",
                     (unsigned long long)r->gpa);
            ro = false;
        }
        int e = kvm_set_mem_slot(k, (uint32_t)i, r->gpa, r->size, r->host, ro);
        if (e < 0) {
            log_fatal(TAG, "KVM_SET_USER_MEMORY_REGION 0x%llx,0x%llx: %s",
                      (unsigned long long)r->gpa, (unsigned long long)r->size,
                      strerror(-e));
            return e;
        }
    }
    return 0;
}

void gmem_forget(struct gmem *m)
{
    VEC_FREE(&m->maps);
    gview_free(&m->view);
}

void gmem_free(struct gmem *m)
{
    for (size_t i = 0; i < m->maps.n; i++)
        unmap_guarded(m->maps.v[i].host, m->maps.v[i].size);
    VEC_FREE(&m->maps);
    gview_free(&m->view);
}

/*
 * memory.c: guest RAM/ROM mappings and their KVM memory slots.
 */
#include "vm/memory.h"

#include <errno.h>
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

/*
 * map_aligned: an anonymous mapping of `size` bytes whose address is
 * congruent to `gpa` modulo 2 MiB, so that every 2 MiB-aligned stretch of
 * guest-physical memory is one 2 MiB-aligned host stretch: only then can a
 * transparent huge page back it and KVM map it with one large page (KVM
 * checks that guest and host addresses agree in their low 21 bits). Over-
 * reserves 2 MiB and gives back the head and the tail.
 */
static void *map_aligned(uint64_t gpa, uint64_t size)
{
    int prot = PROT_READ | PROT_WRITE;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (size < HUGE)
        return mmap(NULL, (size_t)size, prot, flags, -1, 0);
    uint8_t *p = mmap(NULL, (size_t)(size + HUGE), prot, flags, -1, 0);
    if (p == MAP_FAILED)
        return p;
    uint64_t skew =
        ((gpa & (HUGE - 1)) - ((uintptr_t)p & (HUGE - 1))) & (HUGE - 1);
    if (skew)
        munmap(p, (size_t)skew);
    if (HUGE - skew)
        munmap(p + skew + size, (size_t)(HUGE - skew));
    return p + skew;
}

/* map_region: the host memory behind one ram/rom region, as `set
 * ram-pages` asks (ram only: a rom stays on small pages). */
static void *map_region(const struct mem_region *r, enum pages pages)
{
    if (r->kind == MEM_ROM || pages == PAGES_SMALL)
        return mmap(NULL, (size_t)r->size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
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
        void *p = mmap(NULL, (size_t)r->size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
                       -1, 0);
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
    void *p = map_aligned(r->base, r->size);
    if (p != MAP_FAILED && r->size >= HUGE &&
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
            munmap(p, (size_t)r->size);
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
        munmap(m->maps.v[i].host, (size_t)m->maps.v[i].size);
    VEC_FREE(&m->maps);
    gview_free(&m->view);
}

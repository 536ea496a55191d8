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

int gmem_init(struct gmem *m, const struct vm_spec *spec)
{
    memset(m, 0, sizeof(*m));
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
        void *p = mmap(NULL, (size_t)r->size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            int e = errno;
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

void gmem_free(struct gmem *m)
{
    for (size_t i = 0; i < m->maps.n; i++)
        munmap(m->maps.v[i].host, (size_t)m->maps.v[i].size);
    VEC_FREE(&m->maps);
    gview_free(&m->view);
}

/*
 * plan.c: the aarch64 device tree from the configuration (arch/arm64/
 * plan.h), for dryrun.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/arm64/fdt.h"
#include "arch/arm64/plan.h"
#include "devices/pl061.h"
#include "devices/sp805.h"
#include "loader/boot.h"
#include "loader/gview.h"
#include "util/log.h"

#define TAG "fdt"

/* The GIC's windows (arch.h's sizes and gic.c's defaults). */
#define GICD_V3_SIZE  0x10000ull
#define GICD_V2_SIZE  0x1000ull
#define GICC_V2_SIZE  0x2000ull
#define GICR_STRIDE   0x20000ull
#define GICR_DEFAULT  0x2f100000ull
#define GICC_DEFAULT  0x2c002000ull
#define PL011_WINDOW  0x1000ull
#define GIC_SPI_FIRST 32u

uint64_t arm64_kvm_mpidr(unsigned id)
{
    return (uint64_t)(id & 0xf) | (uint64_t)(id >> 4 & 0xff) << 8 |
           (uint64_t)(id >> 12 & 0xff) << 16;
}

static void add_dev(struct arm64_dev *d, unsigned *n, unsigned max,
                    const struct vdev_spec *vd, uint64_t size)
{
    if (*n >= max)
        return;
    uint32_t line = vd->intrs.n ? vd->intrs.v[0].line : 0;
    d[*n] = (struct arm64_dev){vd->loc.base, size,
                               line >= GIC_SPI_FIRST ? line : 0, false};
    (*n)++;
}

int arm64_board_from_spec(const struct vm_spec *spec,
                          const struct boot_state *bs, struct arm64_board *b)
{
    memset(b, 0, sizeof(*b));
    for (size_t i = 0; i < spec->mem.n && b->nmem < ARM64_BOARD_MAX_MEM; i++)
        if (spec->mem.v[i].kind == MEM_RAM)
            b->mem[b->nmem++] =
                (struct arm64_mem){spec->mem.v[i].base, spec->mem.v[i].size};
    /* The VM's RAM regions come sorted (the guest view's order). */
    for (unsigned i = 1; i < b->nmem; i++)
        for (unsigned j = i; j > 0 && b->mem[j].base < b->mem[j - 1].base;
             j--) {
            struct arm64_mem t = b->mem[j];
            b->mem[j] = b->mem[j - 1];
            b->mem[j - 1] = t;
        }
    b->ncpus = spec->cpus.n ? (unsigned)spec->cpus.n : 1;
    for (unsigned i = 0; i < b->ncpus && i < ARM64_BOARD_MAX_CPUS; i++)
        b->mpidr[i] = arm64_kvm_mpidr(i);
    static const uint32_t ppis[4] = ARM64_TIMER_PPIS;
    memcpy(b->timer_ppi, ppis, sizeof(ppis));
    bool gic = false;
    for (size_t i = 0; i < spec->vdevs.n; i++) {
        const struct vdev_spec *vd = &spec->vdevs.v[i];
        const char *type = vdev_type_name(vd);
        if (strcmp(type, "gic") == 0 && !gic) {
            const struct opt_val *ver = vdev_opt(vd, "version");
            const struct opt_val *gicr = vdev_opt(vd, "gicr");
            const struct opt_val *gicc = vdev_opt(vd, "gicc");
            bool v2 = ver && ver->num == 0; /* the choices are "2", "3" */
            gic = true;
            b->gic_version = v2 ? 2 : 3;
            b->gicd_base = vd->loc.base;
            b->gicd_size = v2 ? GICD_V2_SIZE : GICD_V3_SIZE;
            b->gicr_base = v2 ? (gicc ? gicc->num : GICC_DEFAULT)
                              : (gicr ? gicr->num : GICR_DEFAULT);
            b->gicr_size = v2 ? GICC_V2_SIZE : GICR_STRIDE * b->ncpus;
        } else if (strcmp(type, "pl011") == 0) {
            add_dev(b->pl011, &b->npl011, ARM64_BOARD_MAX_UARTS, vd,
                    PL011_WINDOW);
        } else if (strncmp(type, "virtio-", 7) == 0 && !vd->is_pci &&
                   vd->has_loc && vd->loc.space == SPACE_MEM) {
            add_dev(b->vmmio, &b->nvmmio, ARM64_BOARD_MAX_VMMIO, vd,
                    vd->loc.size);
        } else if (strcmp(type, "shmem") == 0 && !vd->is_pci && vd->has_loc &&
                   vd->loc.space == SPACE_MEM && vd->pci.bars[2].size &&
                   b->nshmem < ARM64_BOARD_MAX_SHMEM) {
            /* The factory page, and the region window the front end
             * placed (devices/shmem_host.c's DEV_ROLE_SHMEM info). */
            struct arm64_shmem *sh = &b->shmem[b->nshmem];
            unsigned n = 0;
            add_dev(&sh->dev, &n, 1, vd, 0x1000);
            sh->win_base = vd->pci.bars[2].base;
            sh->win_size = vd->pci.bars[2].size;
            b->nshmem++;
        } else if (strcmp(type, "wdt-sp805") == 0 && vd->has_loc &&
                   b->nother < ARM64_BOARD_MAX_OTHER) {
            /* As board.c's add_sp805: Linux's sp805_wdt takes its rate
             * from the first clock. */
            static const char compat[] = "arm,sp805\0arm,primecell";
            const struct opt_val *freq = vdev_opt(vd, "frequency");
            uint64_t hz = freq && freq->num ? freq->num : SP805_DEFAULT_HZ;
            struct arm64_other *o = &b->other[b->nother++];
            unsigned n = 0;
            add_dev(&o->dev, &n, 1, vd, SP805_SIZE);
            o->name = "watchdog";
            o->compat = compat;
            o->compat_len = sizeof(compat);
            o->primecell = true;
            o->clock_hz = hz <= UINT32_MAX ? (uint32_t)hz : 0;
        }
    }
    if (!gic) {
        log_error(TAG, "no vdev gic in the configuration");
        return -EINVAL;
    }
    /* qvm's power button, on every machine with a GIC (vm.c). */
    b->has_gpio_power = true;
    b->gpio_power =
        (struct arm64_dev){PL061_PWR_BASE, PL061_SIZE, PL061_PWR_INTID, false};
    b->power_pin = PL061_PWR_PIN;
    b->bootargs = spec->cmdline;
    b->has_initrd = bs->initrd_end > bs->initrd_start;
    b->initrd_start = bs->initrd_start;
    b->initrd_end = bs->initrd_end;
    return 0;
}

int arm64_fdt_make(const struct arm64_board *b, const struct vm_spec *spec,
                   void *buf, size_t len)
{
    int e = arm64_fdt_build(b, buf, len);
    for (size_t i = 0; e == 0 && i < spec->loads.n; i++)
        if (spec->loads.v[i].blob == BLOB_FDT)
            e = arm64_fdt_overlay_file(buf, len, spec->loads.v[i].path);
    return e;
}

struct lazy_ram {
    void *p;
    size_t size;
};

int arm64_dryrun_fdt(const struct vm_spec *spec, const char *path)
{
    struct gview v = {0};
    struct lazy_ram *maps = calloc(spec->mem.n + 1, sizeof(*maps));
    struct arm64_board *b = calloc(1, sizeof(*b));
    struct boot_state bs = {0};
    struct boot_err berr = {{0}};
    int e = maps && b ? 0 : -ENOMEM;
    for (size_t i = 0; e == 0 && i < spec->mem.n; i++) {
        const struct mem_region *r = &spec->mem.v[i];
        if (r->kind == MEM_RESERVED || r->size > SIZE_MAX)
            continue;
        /* Untouched pages cost nothing: only what the loaders write. */
        void *p = mmap(NULL, (size_t)r->size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            e = -errno;
            break;
        }
        maps[i] = (struct lazy_ram){p, (size_t)r->size};
        e = gview_add_region(&v, r->base, r->size, p,
                             r->kind == MEM_ROM ? GV_ROM : GV_RAM);
    }
    if (e == 0 && boot_load_spec(&v, spec, NULL, &bs, &berr) < 0) {
        log_error("loader", "%s", berr.msg);
        e = -EINVAL;
    }
    if (e == 0 && bs.fdt_size == 0) {
        log_error(TAG, "no device tree: the loaders made no room for it");
        e = -EINVAL;
    }
    void *dst = e == 0 ? gview_ptr(&v, bs.fdt, bs.fdt_size) : NULL;
    if (e == 0 && !dst)
        e = -EINVAL;
    if (e == 0)
        e = arm64_board_from_spec(spec, &bs, b);
    if (e == 0)
        e = arm64_fdt_make(b, spec, dst, (size_t)bs.fdt_size);
    if (e == 0)
        e = arm64_fdt_dump(dst, path);
    for (size_t i = 0; maps && i < spec->mem.n; i++)
        if (maps[i].p)
            munmap(maps[i].p, maps[i].size);
    gview_free(&v);
    free(maps);
    free(b);
    return e;
}

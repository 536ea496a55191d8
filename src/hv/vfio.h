/*
 * vfio.h: the thin VFIO wrapper (Linux's user-space device access, the
 * mechanism behind `pass loc pci:...`, docs/passthrough.md). This file and
 * vfio.c are the only place in qvm that calls ioctl(2) on VFIO container,
 * group and device file descriptors; device models (devices/vfio_pci.c) go
 * through these typed functions. Each returns 0 or a negative errno unless
 * stated otherwise, and never exits.
 *
 * One container (type1 v2 IOMMU) per opened device: its group is added to
 * it, so every device of a qvm has its own IOMMU domain with guest RAM
 * mapped at its guest-physical addresses.
 *
 * Context: vfio_open, vfio_dma_map and vfio_close on the main thread
 * (realize, teardown); the configuration space, region and interrupt
 * functions on any thread (vCPU exits, the I/O thread).
 */
#ifndef QVM_HV_VFIO_H
#define QVM_HV_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/* Indices of struct vfio_dev.regions and of the interrupt types, as VFIO's
 * PCI device numbers them (linux/vfio.h VFIO_PCI_*_INDEX). */
enum {
    VFIO_PCI_REG_BAR0 = 0,
    VFIO_PCI_REG_ROM = 6,
    VFIO_PCI_REG_CFG = 7,
    VFIO_PCI_NREGS = 9
};
enum vfio_irq_kind { VFIO_IRQ_INTX = 0, VFIO_IRQ_MSI = 1, VFIO_IRQ_MSIX = 2 };

/* The areas of a region VFIO lets user space mmap when it says which
 * (VFIO_REGION_INFO_CAP_SPARSE_MMAP; the first VFIO_AREAS_MAX kept, the
 * others are then trapped). */
#define VFIO_AREAS_MAX 8
struct vfio_area {
    uint64_t off, size; /* in the region */
};

struct vfio_region {
    uint64_t size, offset; /* offset: in the device fd */
    bool readable, writable, mmap;
    bool sparse;        /* only areas[] may be mmapped */
    bool msix_mappable; /* VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: the MSI-X
                         * table's pages may be mmapped too */
    unsigned nareas;
    struct vfio_area areas[VFIO_AREAS_MAX];
};

struct vfio_dev {
    char bdf[16]; /* "0000:00:01.0" */
    unsigned group_id;
    int container, group, fd; /* -1 when closed */
    struct vfio_region regions[VFIO_PCI_NREGS];
    uint32_t irq_count[3]; /* INTx, MSI, MSI-X vectors (0: none) */
    bool reset_ok;         /* VFIO_DEVICE_FLAGS_RESET */
};

/*
 * vfio_find_by_id: the host PCI function with vendor `vid`, device `did`,
 * the idx-th (0-based, in the order of /sys/bus/pci/devices) of those, into
 * bdf ("DDDD:BB:DD.F"). -ENOENT when there are fewer (not logged).
 */
int vfio_find_by_id(uint16_t vid, uint16_t did, unsigned idx, char *bdf,
                    size_t len) MUST_CHECK;
/*
 * vfio_open: open the IOMMU group of host function `bdf` through VFIO, set
 * a type1 v2 IOMMU for it and get the device and its regions. On failure
 * logs ONE error line saying what is wrong and what to do (not bound to
 * vfio-pci and how to bind it, group not viable and why, in use, no VFIO)
 * and returns a negative errno; d is left closed.
 */
int vfio_open(struct vfio_dev *d, const char *bdf) MUST_CHECK;
/* vfio_close: interrupts off, device reset when it has a reset method,
 * else its command register's bus master, memory and I/O decode turned
 * off and Interrupt Disable set (pwrite); every descriptor closed (the
 * IOMMU mappings go with the container). */
void vfio_close(struct vfio_dev *d);
/* vfio_dma_map: the device may read and write [iova, iova+size), backed
 * by host memory `hva` (pinned by the kernel until unmapped). */
int vfio_dma_map(struct vfio_dev *d, uint64_t iova, uint64_t size,
                 void *hva) MUST_CHECK;
int vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size);
/* vfio_region_rw: pread/pwrite `len` bytes at `off` of region `idx`;
 * 0, or -EIO for a short access. */
int vfio_region_rw(struct vfio_dev *d, unsigned idx, uint64_t off, void *buf,
                   size_t len, bool write) MUST_CHECK;
/* vfio_region_mmap: the region mapped shared into qvm, or NULL (it does
 * not allow mmap, or mmap failed). Unmapped by the caller (munmap). */
void *vfio_region_mmap(struct vfio_dev *d, unsigned idx);
/* vfio_region_caps_parse: the capability chain of a region's info
 * (struct vfio_region_info and what follows, argsz bytes, as
 * VFIO_DEVICE_GET_REGION_INFO filled it) into r (r->size already set):
 * the sparse mmap areas inside the region (others dropped, the first
 * VFIO_AREAS_MAX kept) and MSIX_MAPPABLE. A malformed chain is read up
 * to where it goes wrong. Pure: for get_info and the unit tests. */
void vfio_region_caps_parse(const void *info, uint32_t argsz,
                            struct vfio_region *r);
/* vfio_region_mmap_at: [off, off+size) of the region mapped shared (both
 * page aligned, inside the region), or NULL. Unmapped by the caller. */
void *vfio_region_mmap_at(struct vfio_dev *d, unsigned idx, uint64_t off,
                          uint64_t size);
/*
 * vfio_irq_set: eventfd `fd` is signalled for interrupt `vec` of `kind`
 * (VFIO_IRQ_SET_ACTION_TRIGGER); fd -1 with vec 0 turns that kind off
 * altogether. Only one kind can be on at a time (VFIO's rule): turn INTx
 * off before MSI on. INTx is masked by VFIO when it fires until
 * vfio_intx_unmask. vfio_intx_unmask_fd: VFIO unmasks INTx when eventfd
 * `fd` is written (KVM's irqfd resample), -1 to remove it.
 */
int vfio_irq_set(struct vfio_dev *d, enum vfio_irq_kind kind, unsigned vec,
                 int fd) MUST_CHECK;
/* vfio_irq_set_many: eventfds fds[0..count) for vectors 0..count-1 of
 * `kind` at once (MSI-X: VFIO enables that many vectors; an fd of -1
 * leaves its vector without one). count at most VFIO_IRQ_SET_MAX. */
#define VFIO_IRQ_SET_MAX 2048
int vfio_irq_set_many(struct vfio_dev *d, enum vfio_irq_kind kind,
                      unsigned count, const int *fds) MUST_CHECK;
int vfio_intx_unmask(struct vfio_dev *d) MUST_CHECK;
int vfio_intx_unmask_fd(struct vfio_dev *d, int fd) MUST_CHECK;

#endif

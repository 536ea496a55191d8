/*
 * vfio_pci.h: PCI pass-through through VFIO (`pass loc pci:...`;
 * devices/vfio_pci.c, docs/passthrough.md).
 */
#ifndef QVM_DEVICES_VFIO_PCI_H
#define QVM_DEVICES_VFIO_PCI_H

#include "devices/device.h"

/*
 * vfio_pci_realize: one passed-through function per `pass loc pci:` of the
 * spec, on ctx->pci at its guest BDF, added to `out`. A host function that
 * cannot be had (missing, not bound to vfio-pci, group not viable, in use)
 * is an error (logged, with what to do): -1. Context: realize, after the
 * PCI bus and before the event thread starts.
 */
int vfio_pci_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                     struct dev_list *out) MUST_CHECK;

/*
 * vfio_pci_dma_ranges: what a passed function may reach by DMA, each
 * range given to map(arg, gpa, size, hva) in address order (the first
 * error stops it and is returned): every RAM region of the guest view `g`
 * (ctx->mem), at its guest-physical address, and nothing else. Not the
 * ROM regions (firmware, the ACPI tables' area: a device writing there
 * would change them), not the KVM memory slots outside the view: a shmem
 * region window (memory shared with other VMs through the shmem protocol,
 * not guest RAM), a passed BAR's slot. Guest RAM is all there when
 * devices are realized and never changes while the VM runs
 * (loader/gview.h): no RAM is added, moved or removed later (the one
 * region added after realize is the ACPI area, a ROM), so the mappings
 * made at realize stay right. Context: realize.
 */
int vfio_pci_dma_ranges(const struct gview *g,
                        int (*map)(void *arg, uint64_t gpa, uint64_t size,
                                   void *hva),
                        void *arg) MUST_CHECK;

#endif

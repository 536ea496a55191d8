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

#endif

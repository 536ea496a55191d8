/*
 * msix.h: the PCI model's MSI-X (msix.c), as pci.c uses it. Models use
 * pci.h's pci_msix_init, pci_msix_enabled and pci_msix_notify; this header
 * is for pci.c only: the bus keeps a list of its functions' MSI-X states
 * (so that pci_bus_free can release them after the functions' owners are
 * gone) and tells msix.c of configuration writes.
 *
 * Context: msix_list_add/msix_list_remove and msix_cfg_written under the
 * bus mutex; msix_fast_paths at realize; msix_free once no vCPU can reach
 * the table and the owner has stopped calling pci_msix_notify.
 */
#ifndef QVM_DEVICES_MSIX_H
#define QVM_DEVICES_MSIX_H

#include "devices/device.h"
#include "devices/pci.h"

/* msix_list_add: m belongs to a bus now (ctx: the bus's), at the head of
 * *list. msix_list_remove: take it off *list (no-op if absent). */
void msix_list_add(struct pci_msix *m, const struct dev_ctx *ctx,
                   struct pci_msix **list);
void msix_list_remove(struct pci_msix *m, struct pci_msix **list);
/* msix_free_list: msix_free every state on *list, which ends empty. */
void msix_free_list(struct pci_msix **list);
/* msix_fast_paths: a GSI and an irqfd per vector, when KVM has them (else
 * delivery goes through ctx->msi_send). After msix_list_add. */
void msix_fast_paths(struct pci_msix *m);
/* msix_free: release the irqfds, eventfds and the state. */
void msix_free(struct pci_msix *m);
/* msix_cfg_written: the guest wrote [reg, reg+size) of f's configuration
 * space (f->cfg updated): follows Message Control's Enable and Function
 * Mask. No-op without MSI-X. */
void msix_cfg_written(struct pci_function *f, unsigned reg, unsigned size);

#endif

/*
 * pci_stub.c: the PC's PCI configuration mechanism #1 ports (0xcf8-0xcff)
 * until qvm emulates PCI, plus the reset control register at 0xcf9.
 *
 * 0xcf8 is CONFIG_ADDRESS (dword accesses only; it reads back what was
 * written), 0xcfc-0xcff CONFIG_DATA: with no PCI function in the spec
 * (spec->has_pci false) every data read returns all ones ("no device"),
 * which is how Linux's pci=conf1 probe concludes there is no bus, and data
 * writes are dropped. Byte accesses to 0xcf9 are the reset control
 * register (as on PIIX/ICH chipsets and in QEMU): writing a value with bit
 * 2 (RST_CPU) set resets the guest: qvm logs "guest reset (0xcf9)" and
 * exits 0 (arch/x86 maps its own reset register only where nothing owns
 * 0xcf9); the FADT's RESET_REG (value 6) points here.
 * When the spec has PCI functions, the PCI model (pci.c) owns these ports
 * instead.
 *
 * Context: vCPU threads, under the device mutex.
 */
#include <pthread.h>
#include <stdlib.h>

#include "devices/device.h"
#include "util/log.h"

#define TAG "pci"

#define PCI_PORT 0xcf8
#define RCR_RST  0x04

struct pci_stub {
    pthread_mutex_t lock;
    const struct dev_ctx *ctx;
    uint32_t addr;
    uint8_t rcr;
};

static uint64_t pci_read(void *opaque, uint64_t off, unsigned size)
{
    struct pci_stub *p = opaque;
    uint64_t v = UINT64_MAX;
    pthread_mutex_lock(&p->lock);
    if (off == 0 && size == 4)
        v = p->addr;
    else if (off == 1 && size == 1)
        v = p->rcr;
    pthread_mutex_unlock(&p->lock);
    return v; /* CONFIG_DATA: no device */
}

static void pci_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pci_stub *p = opaque;
    bool reset = false;
    pthread_mutex_lock(&p->lock);
    if (off == 0 && size == 4) {
        p->addr = (uint32_t)val & 0x80fffffcu;
    } else if (off == 1 && size == 1) {
        p->rcr = (uint8_t)val & 0x0e;
        reset = val & RCR_RST;
    }
    pthread_mutex_unlock(&p->lock);
    if (reset) {
        log_info(TAG, "guest reset (0xcf9)");
        p->ctx->stop(p->ctx->opaque, STOP_RESET);
    }
}

static const struct region_ops pci_ops = {pci_read, pci_write};

static void pci_teardown(void *state)
{
    struct pci_stub *p = state;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

int pci_stub_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                     struct dev_list *out)
{
    if (spec->arch != ARCH_X86_64)
        return 0;
    if (spec->has_pci)
        log_warn(TAG, "PCI functions are not emulated yet; the guest sees "
                      "an empty PCI bus");
    struct pci_stub *p = calloc(1, sizeof(*p));
    struct dev_inst *slot = p ? VEC_PUSH(&out->v) : NULL;
    if (!slot) {
        free(p);
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->ctx = ctx;
    *slot = (struct dev_inst){"pci-stub", p, pci_teardown};
    if (bus_map(ctx->pio, "pci config", PCI_PORT, 8, &pci_ops, p) < 0) {
        log_fatal(TAG, "cannot map the PCI configuration ports 0xcf8-0xcff");
        return -1;
    }
    return 0;
}

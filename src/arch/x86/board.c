/*
 * board.c: the realized x86 machine (board.h), collected from the
 * interrupt platform (irqchip.c) and the realized devices' descriptions
 * (struct dev_desc), for the firmware tables.
 */
#include "arch/x86/board.h"

#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/hpet.h"
#include "arch/x86/ioapic.h"
#include "arch/x86/irqchip.h"
#include "devices/pci.h"
#include "util/log.h"
#include "vm/machine.h"

#define TAG "x86"

void board_add_override(struct x86_board *b, uint8_t isa, uint32_t gsi,
                        uint16_t flags)
{
    for (unsigned i = 0; i < b->novr; i++) {
        if (b->ovr[i].isa == isa) {
            b->ovr[i].gsi = gsi;
            b->ovr[i].flags = flags;
            return;
        }
    }
    if (b->novr < BOARD_MAX_OVR)
        b->ovr[b->novr++] = (struct board_override){isa, gsi, flags};
}

void board_isa_overrides(struct x86_board *b)
{
    for (unsigned isa = 0; isa < 16; isa++) {
        int64_t g = b->isa_gsi[isa];
        if (isa == 2 || g < 0)
            continue;
        if (isa == b->sci_irq)
            board_add_override(b, (uint8_t)isa, (uint32_t)g,
                               BOARD_POL_HIGH | BOARD_TRIG_LVL);
        else if (g != isa)
            board_add_override(b, (uint8_t)isa, (uint32_t)g, 0);
    }
}

static bool set_on(const struct vm_spec *spec, const char *name)
{
    const char *v = spec_set_var(spec, name);
    return v && (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0 ||
                 strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static void add_devices(struct x86_board *b, const struct dev_list *l)
{
    for (size_t i = 0; i < l->v.n; i++) {
        const struct dev_desc *d = &l->v.v[i].desc;
        struct board_line line = {d->base, d->size, d->gsi, d->isa};
        switch (d->role) {
        case DEV_ROLE_UART:
            if (b->ncom < BOARD_MAX_COMS && d->base <= 0xffff)
                b->com[b->ncom++] = line;
            break;
        case DEV_ROLE_VIRTIO_MMIO:
            if (b->nvmmio < BOARD_MAX_VMMIO)
                b->vmmio[b->nvmmio++] = line;
            break;
        case DEV_ROLE_HPET:
            if (!b->hpet.present && d->info) { /* only the first one */
                const struct hpet_info *h = d->info;
                b->hpet = (struct board_hpet){true,        h->base,
                                              h->ntimers,  h->legacy_cap,
                                              h->min_tick, h->period_fs};
            }
            break;
        case DEV_ROLE_SHMEM:
            if (b->nshm < BOARD_MAX_SHM && d->info) {
                const uint64_t *w = d->info;
                b->shm_win[b->nshm][0] = w[0];
                b->shm_win[b->nshm][1] = w[1];
                b->shm[b->nshm++] = line;
            }
            break;
        case DEV_ROLE_KBC:
            b->kbc = true;
            break;
        case DEV_ROLE_RTC:
            if (!b->rtc)
                b->rtc_line = line;
            b->rtc = true;
            break;
        case DEV_ROLE_NONE:
        case DEV_ROLE_PL011: /* aarch64's: never on an x86 board */
        case DEV_ROLE_SP805:
        case DEV_ROLE_GPIO_POWER:
            break;
        }
    }
}

static void add_pci(struct x86_board *b, struct pci_bus *bus)
{
    b->has_pci = bus != NULL;
    bool seen[32][4] = {{false}};
    for (unsigned devfn = 0; bus && devfn < 256; devfn++) {
        const struct pci_function *f = pci_bus_fn(bus, devfn);
        if (!f)
            continue;
        unsigned dev = devfn >> 3, pin = f->cfg[0x3d];
        if (pin < 1 || pin > 4 || f->intx.gsi < 0 || seen[dev][pin - 1] ||
            b->nprt == BOARD_MAX_PRT)
            continue;
        seen[dev][pin - 1] = true;
        b->prt[b->nprt++] = (struct board_prt){(uint8_t)dev, (uint8_t)(pin - 1),
                                               (uint32_t)f->intx.gsi};
    }
}

void x86_board_collect(struct vm *vm, struct x86_board *b)
{
    struct x86_arch *a = x86_arch(vm);
    memset(b, 0, sizeof(*b));
    b->ncpus = vm->nvcpus;
    for (unsigned i = 0; i < a->nioapics && i < BOARD_MAX_IOAPICS; i++) {
        const struct x86_ioapic *x = a->ioapics[i];
        b->ioapic[b->nioapic++] =
            (struct board_ioapic){x->id, (uint32_t)x->base, x->gsi_base,
                                  x->npins, a->split ? IOAPIC_VERSION : 0x11};
    }
    /* KVM's in-kernel irqchip always has its 8259 pair. */
    b->pic = !a->split || (a->pic && a->npics == 2);
    bool isa_io = a->nioapics && a->ioapics[0]->gsi_base == 0;
    for (unsigned i = 0; i < 16; i++)
        b->isa_gsi[i] =
            isa_io && a->isa_gsi[i] < a->ioapics[0]->npins ? a->isa_gsi[i] : -1;
    b->sci_irq = ACPI_SCI_IRQ;
    board_isa_overrides(b);
    add_devices(b, &vm->devs);
    add_pci(b, vm->devs.ctx.pci);
    b->legacy_free = set_on(vm->spec, "legacy-free");
    b->pm_timer = true;
}

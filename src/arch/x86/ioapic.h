/*
 * ioapic.h: the I/O APIC register model (82093AA registers, version 0x20
 * with the EOI register, as QEMU's and current chipsets' IOAPICs), pure:
 * no KVM. The platform glue (irqchip.c) turns its callbacks into KVM GSI
 * routes and deliveries.
 *
 * Registers (MMIO, aligned 32-bit accesses; others read all ones / are
 * dropped; other offsets read 0, writes to them are dropped):
 *   0x00 IOREGSEL (bits 7:0), 0x10 IOWIN, 0x40 EOI (write: vector).
 *   Indirect: 0x00 ID (bits 27:24), 0x01 version (0x20 | (npins-1) << 16),
 *   0x02 arbitration (= ID), 0x10 + 2n / 0x11 + 2n redirection entry n
 *   (low / high dword); other indices read all ones, writes are dropped.
 *   Remote IRR (bit 14) and delivery status (bit 12, always 0: delivery is
 *   immediate) are read-only; bits 17-55 are reserved (read 0); switching
 *   an entry to edge clears its remote IRR (Linux's way to clear a stuck
 *   one). The polarity bit is stored only: inputs are logical (true =
 *   asserted), as QEMU's model treats them.
 *
 * Semantics: an unmasked edge-triggered entry delivers on each rising
 * edge of its input; a masked one drops the edge. A level-triggered entry
 * delivers while its input is asserted and remote IRR is clear, and sets
 * remote IRR; an EOI of the entry's vector (ioapic_eoi: the local APIC's
 * EOI broadcast, or the EOI register) clears remote IRR and, if the input
 * is still asserted, delivers again. Unmasking an asserted level entry
 * with remote IRR clear delivers.
 *
 * Every change of an entry's message calls ops->route(pin, msg, masked);
 * every delivery calls ops->deliver(pin) after the route is current. The
 * message is the x86 MSI format: address 0xfee00000 | dest(63:56) << 12 |
 * destmode(bit 11) << 2; data = vector | delivery mode(10:8) << 8 |
 * 1 << 14 | trigger(bit 15) << 15.
 *
 * Context: any thread; the model has its own mutex, held while the
 * callbacks run (they must not call back into this ioapic).
 */
#ifndef QVM_ARCH_X86_IOAPIC_H
#define QVM_ARCH_X86_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_MMIO_SIZE    0x1000
#define IOAPIC_VERSION      0x20
#define IOAPIC_DEFAULT_PINS 24
#define IOAPIC_MAX_PINS     120 /* the version register's 8-bit field */

struct ioapic_msg {
    uint64_t addr;
    uint32_t data;
};

struct ioapic_ops {
    void (*route)(void *opaque, uint32_t pin, struct ioapic_msg msg,
                  bool masked);
    void (*deliver)(void *opaque, uint32_t pin);
    /* eoi (optional): an EOI cleared `pin`'s remote IRR. True: the input
     * is a resampled line (as KVM's irqfd resampler): the model takes it
     * as deasserted before it looks at the entry again, and its source
     * lowers its own level later (irq_line_set) before it raises it
     * anew. */
    bool (*eoi)(void *opaque, uint32_t pin);
};

struct ioapic;

/* ioapic_new: all entries masked, edge, vector 0; NULL when out of memory
 * or npins is 0 or above IOAPIC_MAX_PINS. id: the ID register's initial
 * value (4 bits; the MADT's ID must fit). ops is kept, not copied. */
struct ioapic *ioapic_new(uint8_t id, uint32_t npins,
                          const struct ioapic_ops *ops, void *opaque);
void ioapic_free(struct ioapic *io);
uint64_t ioapic_mmio_read(struct ioapic *io, uint64_t off, unsigned size);
void ioapic_mmio_write(struct ioapic *io, uint64_t off, uint64_t val,
                       unsigned size);
/* ioapic_set_pin: input `pin` (< npins; others ignored) is now `level`. */
void ioapic_set_pin(struct ioapic *io, uint32_t pin, bool level);
/* ioapic_eoi: EOI broadcast for `vector`. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* ioapic_entry: pin's current message, mask and trigger mode (true =
 * level; for the glue's tables); false when pin >= npins. Any of the
 * out-pointers may be NULL. */
bool ioapic_entry(struct ioapic *io, uint32_t pin, struct ioapic_msg *msg,
                  bool *masked, bool *level);
uint32_t ioapic_npins(const struct ioapic *io);

#endif

/*
 * irq.h: interrupt lines as devices see them, and interrupt controllers as
 * the platform wires them.
 *
 * A device's `intr` is resolved once, at realize, into a struct irq_line:
 * the controller inputs its output is wired to (on a PC an ISA IRQ reaches
 * both an 8259 input and an IOAPIC pin). Several sources may share one
 * input (PCI INTx): the input's level is the OR of its sources, and the
 * controller hears only changes of that OR.
 *
 * Controllers implement struct irq_chip. set_pin is called with the input's
 * lock held (lock order: input, then the chip's own lock); a chip must not
 * call back into irq_line_set for its own inputs from set_pin.
 *
 * Context: irq_line_set from any thread.
 */
#ifndef QVM_DEVICES_IRQ_H
#define QVM_DEVICES_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

enum irq_chip_kind { IRQC_IOAPIC, IRQC_PIC, IRQC_OTHER };

struct irq_chip {
    const char *name; /* for messages: "ioapic myioapic", "8259" */
    enum irq_chip_kind kind;
    /* set_pin: input `pin` now has `level` (the OR of its sources). */
    void (*set_pin)(void *opaque, uint32_t pin, bool level);
    /* eoi: the local APICs end-of-interrupt'ed `vector` (level-triggered
     * IOAPIC entries; KVM_EXIT_IOAPIC_EOI). NULL when not needed. */
    void (*eoi)(void *opaque, uint8_t vector);
    void *opaque;
    uint32_t npins;
};

#define IRQ_MAX_SOURCES 32 /* sources per controller input */

/* One controller input, shared by up to IRQ_MAX_SOURCES sources. */
struct irq_input {
    pthread_mutex_t lock;
    const struct irq_chip *chip;
    uint32_t pin;
    uint32_t nsrc;     /* sources handed out */
    uint32_t asserted; /* bit per source */
};

#define IRQ_LINE_FANOUT 2

/*
 * A device's interrupt output. n == 0: not connected (irq_line_set does
 * nothing). gsi/isa say where it ended up, for messages and the tables.
 */
struct irq_line {
    struct irq_input *in[IRQ_LINE_FANOUT];
    uint32_t bit[IRQ_LINE_FANOUT];
    unsigned n;
    int64_t gsi; /* IOAPIC global system interrupt, or -1 */
    int isa;     /* ISA IRQ on the 8259 pair, or -1 */
};

/* irq_input_init: an input `pin` of `chip`, no sources yet. */
void irq_input_init(struct irq_input *in, const struct irq_chip *chip,
                    uint32_t pin);
void irq_input_destroy(struct irq_input *in);
/* irq_line_connect: add `in` to the line as a new source; -ENOSPC when the
 * input has IRQ_MAX_SOURCES sources or the line IRQ_LINE_FANOUT inputs. */
int irq_line_connect(struct irq_line *l, struct irq_input *in) MUST_CHECK;
/* irq_line_set: drive the line (level-triggered semantics). */
void irq_line_set(const struct irq_line *l, bool level);
/* irq_line_pulse: an edge: set then clear. */
void irq_line_pulse(const struct irq_line *l);
/* irq_line_none: a line that goes nowhere. */
static inline struct irq_line irq_line_none(void)
{
    return (struct irq_line){.n = 0, .gsi = -1, .isa = -1};
}

#endif

/*
 * fake_irq.h: dev_ctx.irq_resolve / irq_isa for unit tests. Line N of any
 * controller (and ISA IRQ N) is one shared input whose changes call the
 * test's sink fn(ctx opaque, N, level), like an interrupt controller would
 * see them. Use: FAKE_IRQ(my_sink) at file scope, then
 * `.irq_resolve = fake_irq_resolve, .irq_isa = fake_irq_isa` in the ctx,
 * and fake_irq_reset() whenever a new fake machine is made: a machine
 * allocated where the last one was (same opaque) must not inherit its
 * inputs, whose sources may still be asserted.
 */
#ifndef QVM_TESTS_FAKE_IRQ_H
#define QVM_TESTS_FAKE_IRQ_H

#include <errno.h>

#include "devices/irq.h"
#include "util/compiler.h"

#define FAKE_IRQ_LINES 256

#define FAKE_IRQ(fn)                                                           \
    static struct irq_chip fake_irq_chip_;                                     \
    static struct irq_input fake_irq_in_[FAKE_IRQ_LINES];                      \
    static void *fake_irq_owner_[FAKE_IRQ_LINES];                              \
    static bool fake_irq_init_[FAKE_IRQ_LINES];                                \
    static int fake_irq_connect_(void *o, uint32_t n, struct irq_line *out)    \
    {                                                                          \
        *out = irq_line_none();                                                \
        if (n >= FAKE_IRQ_LINES)                                               \
            return -ENOENT;                                                    \
        fake_irq_chip_ = (struct irq_chip){.name = "fake",                     \
                                           .set_pin = (fn),                    \
                                           .opaque = o,                        \
                                           .npins = FAKE_IRQ_LINES};           \
        if (!fake_irq_init_[n] || fake_irq_owner_[n] != o) {                   \
            irq_input_init(&fake_irq_in_[n], &fake_irq_chip_, n);              \
            fake_irq_owner_[n] = o;                                            \
            fake_irq_init_[n] = true;                                          \
        }                                                                      \
        out->gsi = n;                                                          \
        return irq_line_connect(out, &fake_irq_in_[n]);                        \
    }                                                                          \
    UNUSED static void fake_irq_reset(void)                                    \
    {                                                                          \
        for (unsigned i_ = 0; i_ < FAKE_IRQ_LINES; i_++) {                     \
            if (fake_irq_init_[i_])                                            \
                irq_input_destroy(&fake_irq_in_[i_]);                          \
            fake_irq_init_[i_] = false;                                        \
            fake_irq_owner_[i_] = NULL;                                        \
        }                                                                      \
    }                                                                          \
    static int fake_irq_resolve(void *o, const struct intr *in, int isa,       \
                                struct irq_line *out)                          \
    {                                                                          \
        (void)isa;                                                             \
        return fake_irq_connect_(o, in->line, out);                            \
    }                                                                          \
    static int fake_irq_isa(void *o, unsigned isa, struct irq_line *out)       \
    {                                                                          \
        return fake_irq_connect_(o, isa, out);                                 \
    }

#endif

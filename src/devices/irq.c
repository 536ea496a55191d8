/*
 * irq.c: shared controller inputs (the OR of their sources) and device
 * interrupt lines (irq.h).
 */
#include "devices/irq.h"

#include <errno.h>

void irq_input_init(struct irq_input *in, const struct irq_chip *chip,
                    uint32_t pin)
{
    pthread_mutex_init(&in->lock, NULL);
    in->chip = chip;
    in->pin = pin;
    in->nsrc = 0;
    in->asserted = 0;
}

void irq_input_destroy(struct irq_input *in)
{
    pthread_mutex_destroy(&in->lock);
}

int irq_line_connect(struct irq_line *l, struct irq_input *in)
{
    if (l->n >= IRQ_LINE_FANOUT)
        return -ENOSPC;
    pthread_mutex_lock(&in->lock);
    uint32_t s = in->nsrc;
    if (s < IRQ_MAX_SOURCES)
        in->nsrc++;
    pthread_mutex_unlock(&in->lock);
    if (s >= IRQ_MAX_SOURCES)
        return -ENOSPC;
    l->in[l->n] = in;
    l->bit[l->n] = 1u << s;
    l->n++;
    return 0;
}

void irq_line_set(const struct irq_line *l, bool level)
{
    for (unsigned i = 0; i < l->n; i++) {
        struct irq_input *in = l->in[i];
        pthread_mutex_lock(&in->lock);
        bool was = in->asserted != 0;
        if (level)
            in->asserted |= l->bit[i];
        else
            in->asserted &= ~l->bit[i];
        bool now = in->asserted != 0;
        if (now != was)
            in->chip->set_pin(in->chip->opaque, in->pin, now);
        pthread_mutex_unlock(&in->lock);
    }
}

void irq_line_pulse(const struct irq_line *l)
{
    irq_line_set(l, true);
    irq_line_set(l, false);
}

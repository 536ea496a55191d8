/* Temporary: replaced by the IOAPIC and 8259 models being merged. */
#include <stddef.h>

#include "arch/x86/ioapic.h"
#include "arch/x86/pic.h"

struct ioapic *ioapic_new(uint8_t id, uint32_t npins,
                          const struct ioapic_ops *ops, void *opaque)
{
    (void)id, (void)npins, (void)ops, (void)opaque;
    return NULL;
}
void ioapic_free(struct ioapic *io)
{
    (void)io;
}
uint64_t ioapic_mmio_read(struct ioapic *io, uint64_t off, unsigned size)
{
    (void)io, (void)off, (void)size;
    return ~0ull;
}
void ioapic_mmio_write(struct ioapic *io, uint64_t off, uint64_t val,
                       unsigned size)
{
    (void)io, (void)off, (void)val, (void)size;
}
void ioapic_set_pin(struct ioapic *io, uint32_t pin, bool level)
{
    (void)io, (void)pin, (void)level;
}
void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    (void)io, (void)vector;
}
bool ioapic_entry(struct ioapic *io, uint32_t pin, struct ioapic_msg *msg,
                  bool *masked, bool *level)
{
    (void)io, (void)pin, (void)msg, (void)masked, (void)level;
    return false;
}
uint32_t ioapic_npins(const struct ioapic *io)
{
    (void)io;
    return 0;
}
struct pic *pic_new(const struct pic_ops *ops, void *opaque)
{
    (void)ops, (void)opaque;
    return NULL;
}
void pic_free(struct pic *p)
{
    (void)p;
}
uint8_t pic_read(struct pic *p, unsigned chip, unsigned off)
{
    (void)p, (void)chip, (void)off;
    return 0xff;
}
void pic_write(struct pic *p, unsigned chip, unsigned off, uint8_t val)
{
    (void)p, (void)chip, (void)off, (void)val;
}
uint8_t pic_elcr_read(struct pic *p, unsigned chip)
{
    (void)p, (void)chip;
    return 0;
}
void pic_elcr_write(struct pic *p, unsigned chip, uint8_t val)
{
    (void)p, (void)chip, (void)val;
}
void pic_set_irq(struct pic *p, unsigned irq, bool level)
{
    (void)p, (void)irq, (void)level;
}
bool pic_output(struct pic *p)
{
    (void)p;
    return false;
}
uint8_t pic_intack(struct pic *p)
{
    (void)p;
    return 0;
}

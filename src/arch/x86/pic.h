/*
 * pic.h: the cascaded 8259A pair of a PC (master at 0x20/0x21, slave at
 * 0xa0/0xa1, slave INT on master IR2) with the ELCR (0x4d0/0x4d1), pure:
 * no KVM. The glue (irqchip.c) maps the ports where the configuration
 * puts each `vdev 8259` and delivers the master's INT output to the boot
 * vCPU's LINT0 (ExtINT) with KVM_INTERRUPT.
 *
 * Modelled: ICW1-ICW4 (edge/level per LTIM, single/cascade, ICW4 auto-EOI,
 * vector base), OCW1 (IMR), OCW2 (non-specific/specific EOI, rotate on
 * EOI, set priority, rotate in auto-EOI), OCW3 (read IRR/ISR, poll mode,
 * special mask mode), the ELCR (IRQ 0, 1, 2, 8, 13 are always edge), the
 * priority resolver with rotation, spurious IRQ 7/15 on an INTA cycle
 * with nothing pending, special fully nested mode not needed by PCs.
 * Edge inputs latch on a rising edge; level inputs (ELCR or LTIM) request
 * while high. The slave's INT drives the master's IR2 (an edge input, low
 * during an INTA cycle of the cascade, so a request still pending on the
 * slave afterwards latches IR2 again); pic_set_irq ignores IRQ 2. After a
 * poll command (OCW3 P) the next read of either port of that chip returns
 * the poll byte (0x80 | IR, the IR acknowledged; 0 when none). A chip
 * between ICW1 and its last ICW asserts no INT. At pic_new both chips are
 * as the 8259A's reset leaves them for KVM and QEMU: IMR 0, vector base 0,
 * no ICW4 functions.
 *
 * Context: any thread; the model has its own mutex; ops->intr runs with it
 * held and must not call back into the pair.
 */
#ifndef QVM_ARCH_X86_PIC_H
#define QVM_ARCH_X86_PIC_H

#include <stdbool.h>
#include <stdint.h>

struct pic_ops {
    /* intr: the master's INT output changed (called on changes only: after
     * pic_intack the output may stay high for the next request, so the
     * glue checks pic_output after each injection). */
    void (*intr)(void *opaque, bool level);
};

struct pic;

struct pic *pic_new(const struct pic_ops *ops, void *opaque);
void pic_free(struct pic *p);
/* chip 0: master, 1: slave; off 0 or 1 (the command and data ports). */
uint8_t pic_read(struct pic *p, unsigned chip, unsigned off);
void pic_write(struct pic *p, unsigned chip, unsigned off, uint8_t val);
/* The ELCR of chip 0 or 1 (ports 0x4d0, 0x4d1). */
uint8_t pic_elcr_read(struct pic *p, unsigned chip);
void pic_elcr_write(struct pic *p, unsigned chip, uint8_t val);
/* pic_set_irq: ISA IRQ 0-15 input level (others ignored). */
void pic_set_irq(struct pic *p, unsigned irq, bool level);
/* pic_output: the master's INT output. */
bool pic_output(struct pic *p);
/* pic_intack: the CPU's interrupt acknowledge: the vector to deliver (a
 * spurious IRQ 7 / 15 vector when nothing is pending any more). */
uint8_t pic_intack(struct pic *p);

#endif

/*
 * pit.h: the Intel 8254 programmable interval timer of a PC (counters 0-2
 * at ports 0x40-0x42, control word at 0x43; the counter 2 gate and output
 * in port 0x61 with the speaker data bit), pure: time is an argument (ns
 * of CLOCK_MONOTONIC), the input clock 1193182 Hz.
 *
 * Modelled: all six modes (0 interrupt on terminal count, 1 hardware
 * retriggerable one-shot, 2 rate generator, 3 square wave, 4 software
 * strobe, 5 hardware strobe), binary and BCD counting, LSB/MSB/LSB-then-
 * MSB access, counter latch, the read-back command (count and status,
 * several counters at once, null count), gates (counters 0 and 1 always
 * enabled; counter 2's gate is port 0x61 bit 0), port 0x61 bit 5 = OUT2,
 * bit 4 toggling (refresh), bit 1 stored (speaker data).
 *
 * Counter 0's output drives the timer interrupt: ops->out0 is called for
 * every change of OUT0 the guest can observe as an edge (for the periodic
 * modes one rising edge per period, delivered as a pulse by the glue), and
 * ops->arm asks to be called back (pit_tick) at the time of the next edge.
 * If several periods passed since the last tick, one edge is delivered
 * (as hardware behind a busy CPU would lose them).
 *
 * Context: any thread; own mutex, held while ops run.
 */
#ifndef QVM_ARCH_X86_PIT_H
#define QVM_ARCH_X86_PIT_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ 1193182u

struct pit_ops {
    void (*out0)(void *opaque, bool level);
    /* arm: call pit_tick at `deadline` (ns); 0: nothing pending. */
    void (*arm)(void *opaque, uint64_t deadline);
};

struct pit;

struct pit *pit_new(const struct pit_ops *ops, void *opaque, uint64_t now);
void pit_free(struct pit *p);
/* off 0-3: ports 0x40-0x43. */
uint8_t pit_read(struct pit *p, unsigned off, uint64_t now);
void pit_write(struct pit *p, unsigned off, uint8_t val, uint64_t now);
/* Port 0x61 (system control port B). */
uint8_t pit_port61_read(struct pit *p, uint64_t now);
void pit_port61_write(struct pit *p, uint8_t val, uint64_t now);
/* pit_tick: the time asked for by ops->arm has come (or passed). */
void pit_tick(struct pit *p, uint64_t now);
/* pit_set_out0_enabled: false disconnects OUT0 from the interrupt (HPET
 * legacy replacement); the counter keeps counting. */
void pit_set_out0_enabled(struct pit *p, bool on, uint64_t now);

#endif

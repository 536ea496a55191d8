/*
 * rtc.h: the MC146818 real-time clock and CMOS RAM model behind `vdev
 * mc146818` (rtc.c), pure: time is an argument, in nanoseconds of
 * CLOCK_REALTIME (the guest's clock is host UTC plus an offset the guest
 * moves by setting the time; the glue converts deadlines for its
 * CLOCK_MONOTONIC device timer).
 *
 * Interrupts: register C's flags PF (periodic, at register A's rate), AF
 * (alarm: registers 1, 3, 5 against seconds, minutes, hours; 0xc0-0xff
 * match anything) and UF (update ended, once a second) are set by time
 * whatever register B enables; IRQF is set while a flag and its enable
 * (PIE, AIE, UIE) are both set, and the IRQ output follows IRQF
 * (ops->irq: true when IRQF becomes set, false when a read of C or a
 * write of B clears it), so flags coalesce until the guest reads C.
 * ops->arm asks for rtc_tick at the next time IRQF would become set (0:
 * nothing can: no enabled interrupt, IRQF already set, or the output
 * disconnected).
 *
 * HPET legacy replacement disconnects the RTC from IRQ 8 (the chipset
 * gates it off): rtc_set_irq_connected(false) drops the output and keeps
 * it low (ops->irq follows IRQF AND connected) while register C's flags
 * and IRQF work as before for a guest that polls them; connecting again
 * with IRQF set raises the output (an edge on IRQ 8, as the gate opens).
 *
 * Context: any thread; own mutex, held while ops run.
 */
#ifndef QVM_DEVICES_RTC_H
#define QVM_DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>

struct rtc_ops {
    void (*irq)(void *opaque, bool level);
    /* arm: call rtc_tick at `deadline` (ns of CLOCK_REALTIME); 0: none. */
    void (*arm)(void *opaque, uint64_t deadline);
};

struct rtc;

/* rtc_new: register A 0x26 (32.768 kHz, 1024 Hz periodic rate), B 0x02
 * (24h BCD, no interrupts); NULL when out of memory. */
struct rtc *rtc_new(const struct rtc_ops *ops, void *opaque, uint64_t now);
void rtc_free(struct rtc *r);
/* rtc_preset: set CMOS byte or register A/B `idx` (0-127) before the
 * guest runs; false (nothing set) for the clock registers and C/D. */
bool rtc_preset(struct rtc *r, unsigned idx, uint8_t val, uint64_t now);
/* off 0: the index port (loc, bit 7 = NMI mask), 1: the data port. */
uint8_t rtc_io_read(struct rtc *r, unsigned off, uint64_t now);
void rtc_io_write(struct rtc *r, unsigned off, uint8_t val, uint64_t now);
/* rtc_tick: the time asked for by ops->arm has come (or passed). */
void rtc_tick(struct rtc *r, uint64_t now);
/* rtc_set_irq_connected: connect (true, the initial state) or disconnect
 * the IRQ output from its line (above). */
void rtc_set_irq_connected(struct rtc *r, bool on, uint64_t now);

#endif

/*
 * sp805.h: ARM's SP805 watchdog (PrimeCell, ARM DDI 0270B) behind `vdev
 * wdt-sp805` (qvm-reference.md 4.8), pure: time is an argument (ns of
 * CLOCK_MONOTONIC) and the model says when it wants to be woken.
 *
 * The registers as Linux's sp805_wdt driver uses them, 32 bits each in a
 * 4 KiB window:
 * - 0x000 WdogLoad (reset 0xffffffff): a write reloads the counter;
 * - 0x004 WdogValue (read-only): the counter, decremented at `frequency`;
 * - 0x008 WdogControl: INTEN (bit 0) runs the counter and enables the
 *   interrupt (0 -> 1 reloads the counter; 1 -> 0 stops it), RESEN (bit 1)
 *   enables the reset output;
 * - 0x00c WdogIntClr (write-only): clears the interrupt, reloads;
 * - 0x010 WdogRIS, 0x014 WdogMIS (read-only): raw and masked interrupt;
 * - 0xc00 WdogLock: 0x1ACCE551 unlocks, any other value locks (reads 1
 *   when locked); when locked, writes to the other registers are ignored;
 * - 0xf00 WdogITCR, 0xf04 WdogITOP: integration test, read 0, writes
 *   ignored;
 * - 0xfe0-0xffc: the PrimeCell IDs (peripheral 0x00141805, cell
 *   0xb105f00d), which Linux's AMBA bus matches.
 *
 * The counter counts Load + 1 ticks down to zero; then the interrupt is
 * raised (RIS) and the counter reloaded. Reaching zero again with the
 * interrupt still set asserts the reset output when RESEN is set: that
 * is the watchdog's action (sp805_tick reports it once); the counter then
 * stays stopped until sp805_reset_ack (the guest runs on: `action fiq`).
 * Without RESEN the counter runs on and nothing more happens.
 *
 * Context: not thread-safe; the glue (wdt_sp805.c) serializes.
 */
#ifndef QVM_DEVICES_SP805_H
#define QVM_DEVICES_SP805_H

#include <stdbool.h>
#include <stdint.h>

#define SP805_SIZE       0x1000u
#define SP805_DEFAULT_HZ 25000000ull /* `frequency` left out */
#define SP805_LOAD       0x000u
#define SP805_VALUE      0x004u
#define SP805_CONTROL    0x008u
#define SP805_INTCLR     0x00cu
#define SP805_RIS        0x010u
#define SP805_MIS        0x014u
#define SP805_LOCK       0xc00u
#define SP805_ITCR       0xf00u
#define SP805_ITOP       0xf04u
#define SP805_INTEN      0x1u
#define SP805_RESEN      0x2u
#define SP805_UNLOCK     0x1acce551u
#define SP805_NS_PER_S   1000000000ull
#define SP805_PERIPH_ID  0x00141805u
#define SP805_CELL_ID    0xb105f00du

struct sp805 {
    uint64_t freq; /* counter clock, Hz (> 0) */
    uint32_t load, ctl;
    bool ris, locked;
    bool reset; /* the reset output is asserted (until sp805_reset_ack) */
    /* The counter: v0 at t0 (ns) while it runs (ctl INTEN, !reset),
     * else frozen at v0. */
    uint32_t v0;
    uint64_t t0;
};

/* sp805_init: the reset state, counting at `freq` Hz (0: 1 Hz). */
void sp805_init(struct sp805 *w, uint64_t freq);
/* sp805_read: the 32-bit register at `off` (4-byte aligned, < SP805_SIZE)
 * at time `now`; unknown offsets read 0. */
uint32_t sp805_read(const struct sp805 *w, uint32_t off, uint64_t now);
/* sp805_write: a 32-bit write at `off`. Run sp805_tick before it (the
 * counter is brought up to `now` first). */
void sp805_write(struct sp805 *w, uint32_t off, uint32_t val, uint64_t now);
/*
 * sp805_tick: bring the counter up to `now` (expiries that are due: the
 * interrupt, the reset). Returns true once when the reset output was
 * asserted by this call. *next (if not NULL): when to be called again
 * (ns), 0 when nothing more can happen without a write.
 */
bool sp805_tick(struct sp805 *w, uint64_t now, uint64_t *next);
/* sp805_irq: the interrupt output (WDOGINT = RIS and INTEN). */
static inline bool sp805_irq(const struct sp805 *w)
{
    return w->ris && (w->ctl & SP805_INTEN);
}
/* sp805_reset_ack: the reset was handled without resetting the guest:
 * the counter restarts from Load at `now` (the interrupt stays set). */
void sp805_reset_ack(struct sp805 *w, uint64_t now);
/* sp805_period_ns: how long `v` + 1 ticks take (rounded up, >= 1). */
uint64_t sp805_period_ns(const struct sp805 *w, uint32_t v);

#endif

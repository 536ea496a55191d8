/*
 * wdt_ib700.h: the IB700 single-board computer's watchdog behind `vdev
 * wdt-ib700` (qvm-reference.md 4.8), pure: time is an argument (ns of
 * CLOCK_MONOTONIC) and the model says when it wants to be woken.
 *
 * The register interface is what Linux's ib700wdt driver and the board's
 * manual use, two write-only byte ports in a 3-port window at `loc`
 * (0x441 by default):
 * - loc + 0 (0x441), STOP: any value disarms the watchdog;
 * - loc + 2 (0x443), START: arms it, or re-arms it (a ping), with the
 *   timeout of index (value & 0xf): 30 - 2 * index seconds, so 0x0 = 30 s,
 *   0xe = 2 s and 0xf = 0 s (expires at once). Linux writes
 *   15 - (timeout + 1) / 2 for its `timeout` parameter (default 30 s).
 * loc + 1 is decoded by no register. Reads return all ones (the ports are
 * write-only, as on the board). A write wider than a byte is taken byte
 * lane by byte lane (`out dx, ax` at 0x441 is a stop).
 *
 * Expiry is one-shot: the watchdog is disarmed when it expires, and
 * ib700_tick reports it once; the guest arms it again with a START write.
 *
 * Context: not thread-safe; the glue (wdt_ib700_dev.c) serializes.
 */
#ifndef QVM_ARCH_X86_WDT_IB700_H
#define QVM_ARCH_X86_WDT_IB700_H

#include <stdbool.h>
#include <stdint.h>

#define IB700_WINDOW    3u /* ports loc .. loc + 2 */
#define IB700_STOP_OFF  0u
#define IB700_START_OFF 2u
#define IB700_NS_PER_S  1000000000ull

struct ib700 {
    bool armed;
    unsigned index;    /* of the last START write */
    uint64_t deadline; /* when armed */
};

/* ib700_timeout_s: the timeout of START value `index` (low 4 bits). */
static inline unsigned ib700_timeout_s(unsigned index)
{
    return 30u - 2u * (index & 0xfu);
}

void ib700_init(struct ib700 *w);
/*
 * ib700_write: a `size`-byte write of `val` at offset `off` of the window
 * (off + size <= IB700_WINDOW: the bus never hands out more). Returns the
 * deadline to be woken at (ns), 0 when the watchdog is now disarmed, or
 * UINT64_MAX when the write changed nothing (no register decoded).
 */
uint64_t ib700_write(struct ib700 *w, uint64_t off, uint64_t val, unsigned size,
                     uint64_t now);
/*
 * ib700_tick: the time asked for has come (or passed, or not: spurious
 * wake-ups are fine). Returns true once per expiry, the watchdog then
 * disarmed; *timeout_s (if not NULL) gets the timeout that expired.
 * Otherwise false, and *next the deadline to wait for (0: disarmed).
 */
bool ib700_tick(struct ib700 *w, uint64_t now, unsigned *timeout_s,
                uint64_t *next);

#endif

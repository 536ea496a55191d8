/*
 * dtimer.h: host timers for device models (PIT, HPET, RTC). A dtimer is a
 * one-shot timerfd on CLOCK_MONOTONIC whose callback runs on the VM's I/O
 * event thread (vm/event.h). Device models keep their registers as pure
 * functions of the guest's clock and use a dtimer only to be woken when an
 * interrupt is due: the callback takes the device lock, looks at the time
 * and re-arms. A callback may run late or spuriously; it must check.
 *
 * Time is nanoseconds of CLOCK_MONOTONIC (dtimer_now()).
 * Context: dtimer_arm/dtimer_disarm from any thread (also the callback).
 */
#ifndef QVM_DEVICES_DTIMER_H
#define QVM_DEVICES_DTIMER_H

#include <stdint.h>

#include "util/compiler.h"

struct evloop;
struct dtimer;

typedef void (*dtimer_fn)(void *opaque);

/* dtimer_now: CLOCK_MONOTONIC in nanoseconds. */
uint64_t dtimer_now(void);
/* dtimer_new: NULL (logged) on failure. slack_ns: how late it may fire
 * (dev_ctx.timer_slack_ns, the configuration's `tolerance`): deadlines are
 * rounded up to a multiple of it, so that timers due close together cost
 * one host wake-up; 0 = exact. */
struct dtimer *dtimer_new(struct evloop *ev, dtimer_fn fn, void *opaque,
                          uint64_t slack_ns);
/* dtimer_round: the deadline a timer with this slack is armed for (rounded
 * up to a multiple of slack_ns; unchanged with slack 0 or 1). */
uint64_t dtimer_round(uint64_t deadline, uint64_t slack_ns);
/* dtimer_arm: fire once at absolute time `deadline` (in the past: soon). */
void dtimer_arm(struct dtimer *t, uint64_t deadline);
void dtimer_disarm(struct dtimer *t);
/* dtimer_free: disarm, unregister, close; NULL is fine. Call after the
 * event thread has stopped or from a context that holds no device lock. */
void dtimer_free(struct dtimer *t);

#endif

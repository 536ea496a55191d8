/*
 * wdt_action.h: what a watchdog vdev does when it expires, shared by
 * `vdev wdt-ib700` and `vdev wdt-sp805` (qvm-reference.md 4.8):
 * `action [dump,]terminate` (the default) and `action [dump,]fiq`.
 *
 * terminate: one error line naming the watchdog, a guest dump first with
 * `dump,` (dev_ctx.dump, with the configured top-level `dump`), then
 * STOP_WATCHDOG: qvm exits 4 (docs/exit-codes.md).
 * fiq: a warning (rate limited: the guest can repeat it), the dump with
 * `dump,`, and the guest runs on; what the interrupt does is the device's.
 *
 * Context: wdt_action_expired on the I/O event thread, without the
 * device's mutex (a dump pauses the vCPUs, which may be waiting for it).
 */
#ifndef QVM_DEVICES_WDT_ACTION_H
#define QVM_DEVICES_WDT_ACTION_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "util/log.h"

struct wdt_action {
    const struct dev_ctx *ctx;
    const char *tag; /* the type name: `vdev TYPE log` routes its lines */
    bool fiq, dump;
    char label[80];               /* "wdt-ib700 'NAME' (io 0x441)" */
    struct log_budget rl, rl_dbg; /* expiries (fiq), start/stop */
};

/*
 * wdt_action_init: the vdev's `action`, its label ("TYPE ['NAME'] (SPACE
 * 0xBASE)") and budgets. `fiq` without an `intr` is fatal (the front end
 * rejects it; a spec built otherwise too): -1 after the message.
 */
int wdt_action_init(struct wdt_action *a, const struct vdev_spec *vd,
                    const struct dev_ctx *ctx, const char *type,
                    const char *space, uint64_t base);
/*
 * wdt_action_expired: carry out the action, saying "LABEL expired: not
 * pinged within WITHIN; action ...: FIQ_EFFECT" for fiq. Returns true when
 * the guest runs on (fiq: the caller raises its interrupt), false when the
 * VM was stopped.
 */
bool wdt_action_expired(struct wdt_action *a, const char *within,
                        const char *fiq_effect);

#endif

/*
 * wdt_action.c: a watchdog's expiry action (see wdt_action.h).
 */
#include "devices/wdt_action.h"

#include <stdio.h>

int wdt_action_init(struct wdt_action *a, const struct vdev_spec *vd,
                    const struct dev_ctx *ctx, const char *type,
                    const char *space, uint64_t base)
{
    const struct opt_val *act = vdev_opt(vd, "action");
    a->ctx = ctx;
    a->tag = type;
    a->fiq = act && act->num == 1;
    a->dump = act && act->num2;
    a->rl = (struct log_budget)LOG_BUDGET_INIT(LOG_BURST, LOG_INTERVAL_MS);
    a->rl_dbg = a->rl;
    if (vd->name)
        snprintf(a->label, sizeof(a->label), "%s '%s' (%s 0x%llx)", type,
                 vd->name, space, (unsigned long long)base);
    else
        snprintf(a->label, sizeof(a->label), "%s (%s 0x%llx)", type, space,
                 (unsigned long long)base);
    if (a->fiq && !vd->intrs.n) {
        log_fatal(type, "%s: 'action fiq' needs an 'intr' to raise", a->label);
        return -1;
    }
    return 0;
}

bool wdt_action_expired(struct wdt_action *a, const char *within,
                        const char *fiq_effect)
{
    char why[96];
    snprintf(why, sizeof(why), "watchdog %s", a->label);
    const char *dump = a->dump ? "dump," : "";
    if (a->fiq)
        log_guest(&a->rl, LOG_WARN, a->tag,
                  "%s expired: not pinged within %s; action %sfiq: %s",
                  a->label, within, dump, fiq_effect);
    else
        log_error(a->tag,
                  "%s expired: not pinged within %s; action %sterminate: "
                  "the guest ends (exit 4)",
                  a->label, within, dump);
    if (a->dump)
        (void)a->ctx->dump(a->ctx->opaque, why);
    if (a->fiq)
        return true;
    a->ctx->stop(a->ctx->opaque, STOP_WATCHDOG);
    return false;
}

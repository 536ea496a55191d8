/*
 * stop.h: why a VM stops, and the qvm exit status for each reason
 * (docs/exit-codes.md). Devices request a stop through their dev_ctx.
 */
#ifndef QVM_VM_STOP_H
#define QVM_VM_STOP_H

enum vm_stop {
    STOP_POWEROFF,    /* guest powered off: 0 */
    STOP_RESET,       /* guest reset (triple fault, reset port): 0 */
    STOP_POWERCUT,    /* SIGQUIT/SIGTERM/SIGINT: 3 */
    STOP_WATCHDOG,    /* a watchdog vdev's `action terminate`: 4 */
    STOP_UNSUPPORTED, /* `unsupported ... abort`: 5 */
    STOP_VDEV,        /* unexpected vdev error: 6 */
    STOP_INTERNAL,    /* unexpected qvm error: 7 */
    STOP_FATAL,       /* fatal error after the guest started: 96 */
};

/* reset_status: what a guest reset ends with: 0 as in QNX, or the
 * QVM_RESET_STATUS a supervisor asked for (vm_reset_status_parse). */
static inline int vm_stop_status(enum vm_stop s, int reset_status)
{
    static const int codes[] = {0, 0, 3, 4, 5, 6, 7, 96};
    if (s == STOP_RESET)
        return reset_status;
    return (unsigned)s < sizeof(codes) / sizeof(codes[0]) ? codes[s] : 7;
}

/*
 * QVM_RESET_STATUS (docs/exit-codes.md): unset or empty, 0 (QNX's status
 * for a reset, the same as a power-off); else a decimal status of QNX's
 * user-defined range 32-63 (GTC_CUSTOM_MIN..GTC_MAX), so that a supervisor
 * (qvm@.service) tells a reset from a power-off. -1: not a valid value.
 */
static inline int vm_reset_status_parse(const char *s)
{
    if (!s || !*s)
        return 0;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 63)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v == 0 || (v >= 32 && v <= 63) ? v : -1;
}

#endif

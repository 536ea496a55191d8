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

static inline int vm_stop_status(enum vm_stop s)
{
    static const int codes[] = {0, 0, 3, 4, 5, 6, 7, 96};
    return (unsigned)s < sizeof(codes) / sizeof(codes[0]) ? codes[s] : 7;
}

#endif

/*
 * dev_sched.h: a vdev's `sched PRIO[r|f|o]` applied to the device's own
 * host threads (virtio-blk's workers). Each thread applies it to itself as
 * it starts, before it confines itself: sched_setscheduler(0, ...) on the
 * calling thread only (the vCPU filter allows exactly that, vm/confine.c).
 */
#ifndef QVM_DEVICES_DEV_SCHED_H
#define QVM_DEVICES_DEV_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>

#include "config/spec.h"

struct dev_sched {
    bool set;           /* `sched` given */
    int policy, prio;   /* SCHED_RR/SCHED_FIFO/SCHED_OTHER, clamped priority */
    atomic_bool warned; /* one warning per device, not per thread start */
    const char *tag;    /* the device's log tag (its type: `log` routes it) */
};

/* dev_sched_init: from the vdev's `sched` option (none: set = false);
 * the lines are logged under the vdev type's name. */
void dev_sched_init(struct dev_sched *s, const struct vdev_spec *vd);
/* dev_sched_apply_self: the calling thread takes the policy; `who` names
 * it in the log ("disk0 queue 0"). 0, or a positive errno (warned once per
 * device: the host refused, e.g. no CAP_SYS_NICE or RLIMIT_RTPRIO). */
int dev_sched_apply_self(struct dev_sched *s, const char *who);

#endif

/* dev_sched.c: a vdev's `sched` on its own threads (see dev_sched.h). */
#include "devices/dev_sched.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/log.h"

void dev_sched_init(struct dev_sched *s, const struct vdev_spec *vd)
{
    memset(s, 0, sizeof(*s));
    atomic_init(&s->warned, false);
    s->tag = vdev_type_name(vd);
    const struct opt_val *o = vdev_opt(vd, "sched");
    if (!o)
        return;
    /* num: priority, num2: enum sched_policy (config/values.c) */
    switch ((enum sched_policy)o->num2) {
    case SCHED_P_FIFO:
        s->policy = SCHED_FIFO;
        break;
    case SCHED_P_OTHER:
        s->policy = SCHED_OTHER;
        break;
    default: /* r, and QNX sporadic: round-robin at its high priority */
        s->policy = SCHED_RR;
        break;
    }
    int lo = sched_get_priority_min(s->policy);
    int hi = sched_get_priority_max(s->policy);
    int64_t p = (int64_t)o->num;
    s->prio = p < lo ? lo : p > hi ? hi : (int)p;
    if (s->policy != SCHED_OTHER && s->prio != p)
        log_warn(s->tag, "%s: priority %lld clamped to %d (host range %d-%d)",
                 vd->name ? vd->name : vdev_type_name(vd), (long long)p,
                 s->prio, lo, hi);
    s->set = true;
}

static const char *pol_name(int pol)
{
    return pol == SCHED_FIFO ? "SCHED_FIFO"
           : pol == SCHED_RR ? "SCHED_RR"
                             : "SCHED_OTHER";
}

int dev_sched_apply_self(struct dev_sched *s, const char *who)
{
    if (!s->set)
        return 0;
    struct sched_param sp = {.sched_priority = s->prio};
    /* pid 0: this thread (glibc's pthread_setschedparam passes the TID,
     * which the seccomp filter cannot tell from another process's) */
    if (syscall(SYS_sched_setscheduler, 0, s->policy, &sp) != 0) {
        int e = errno;
        if (!atomic_exchange(&s->warned, true))
            log_warn(s->tag,
                     "%s: the host refused %s priority %d: %s%s; the "
                     "thread runs with qvm's policy",
                     who, pol_name(s->policy), s->prio, strerror(e),
                     e == EPERM ? " (needs CAP_SYS_NICE or an RLIMIT_RTPRIO)"
                                : "");
        return e;
    }
    if (log_enabled_tag(LOG_DEBUG, s->tag)) { /* what the kernel now says */
        int pol = sched_getscheduler(0);
        struct sched_param got = {0};
        sched_getparam(0, &got);
        log_debug(s->tag, "%s: runs %s priority %d", who, pol_name(pol),
                  got.sched_priority);
    }
    return 0;
}

/*
 * dtimer.c: one-shot device timers on timerfd (dtimer.h).
 */
#include "devices/dtimer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vm/event.h"

#define TAG "timer"

struct dtimer {
    struct evloop *ev;
    int fd;
    dtimer_fn fn;
    void *opaque;
    uint64_t slack;
};

uint64_t dtimer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_fire(void *opaque, int fd, uint32_t events)
{
    struct dtimer *t = opaque;
    (void)events;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) != sizeof(n))
        return; /* disarmed or re-armed meanwhile (EAGAIN) */
    t->fn(t->opaque);
}

struct dtimer *dtimer_new(struct evloop *ev, dtimer_fn fn, void *opaque,
                          uint64_t slack_ns)
{
    struct dtimer *t = calloc(1, sizeof(*t));
    if (!t) {
        log_fatal(TAG, "out of memory");
        return NULL;
    }
    t->ev = ev;
    t->fn = fn;
    t->opaque = opaque;
    t->slack = slack_ns;
    t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (t->fd < 0) {
        log_fatal(TAG, "timerfd_create: %s", strerror(errno));
        free(t);
        return NULL;
    }
    int e = ev_add(ev, t->fd, EPOLLIN, on_fire, t);
    if (e < 0) {
        log_fatal(TAG, "cannot watch a timerfd: %s", strerror(-e));
        close(t->fd);
        free(t);
        return NULL;
    }
    return t;
}

uint64_t dtimer_round(uint64_t deadline, uint64_t slack)
{
    /* The slack: deadlines round up to a multiple of it, so that timers
     * due within one slack period share one host wake-up. */
    if (slack > 1 && deadline % slack && deadline <= UINT64_MAX - slack)
        deadline += slack - deadline % slack;
    return deadline;
}

void dtimer_arm(struct dtimer *t, uint64_t deadline)
{
    if (!deadline)
        deadline = 1; /* 0 would disarm: fire at once instead */
    deadline = dtimer_round(deadline, t->slack);
    struct itimerspec its = {
        .it_value = {.tv_sec = (time_t)(deadline / 1000000000ull),
                     .tv_nsec = (long)(deadline % 1000000000ull)}};
    (void)timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void dtimer_disarm(struct dtimer *t)
{
    struct itimerspec its = {{0, 0}, {0, 0}};
    (void)timerfd_settime(t->fd, 0, &its, NULL);
}

void dtimer_free(struct dtimer *t)
{
    if (!t)
        return;
    dtimer_disarm(t);
    (void)ev_del(t->ev, t->fd);
    close(t->fd);
    free(t);
}

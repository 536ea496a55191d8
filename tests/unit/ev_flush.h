/*
 * ev_flush.h: a barrier through a running event loop (vm/event.h), for
 * the tests' "nothing else happens" checks without a wall-clock window.
 * ev_flush posts a marker (an eventfd registered with the loop) and waits
 * until the event thread has run its callback. epoll reports ready fds in
 * the order they became ready, and the thread runs one epoll_wait's
 * callbacks in order: so when ev_flush returns, every callback for an
 * event that was ready before the call has run to its end, and a fd that
 * is still reported (level-triggered, e.g. a hang-up) was reported once
 * more. EV_FLUSH_MS bounds the wait only to turn a hung event thread into
 * a failure; it is never reached when the code under test works.
 * Header-only; each test includes it once.
 */
#ifndef QVM_TESTS_EV_FLUSH_H
#define QVM_TESTS_EV_FLUSH_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/compiler.h"
#include "vm/event.h"

#define EV_FLUSH_MS 60000

struct ev_marker {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool seen;
};

static void ev_marker_cb(void *opaque, int fd, uint32_t events)
{
    struct ev_marker *k = opaque;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r, (void)events;
    pthread_mutex_lock(&k->m);
    k->seen = true;
    pthread_cond_signal(&k->c);
    pthread_mutex_unlock(&k->m);
}

/* ev_flush: true once the event thread ran every callback that was due
 * when it was called; false if it did not within EV_FLUSH_MS (hung). */
UNUSED static bool ev_flush(struct evloop *ev)
{
    /* On the heap: a hung thread may still run the callback after a
     * failed flush, so k is then left to it (leaked). */
    struct ev_marker *k = calloc(1, sizeof(*k));
    if (!k)
        return false;
    pthread_mutex_init(&k->m, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->c, &ca);
    pthread_condattr_destroy(&ca);
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    bool ok = fd >= 0 && ev_add(ev, fd, EPOLLIN, ev_marker_cb, k) == 0;
    if (ok) {
        uint64_t one = 1;
        ok = write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one);
    }
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += EV_FLUSH_MS / 1000;
    pthread_mutex_lock(&k->m);
    int e = 0;
    while (ok && !k->seen && e != ETIMEDOUT)
        e = pthread_cond_timedwait(&k->c, &k->m, &dl);
    ok = ok && k->seen;
    pthread_mutex_unlock(&k->m);
    if (fd >= 0) {
        (void)ev_del(ev, fd);
        close(fd);
    }
    if (!ok)
        return false;
    pthread_cond_destroy(&k->c);
    pthread_mutex_destroy(&k->m);
    free(k);
    return true;
}

#endif

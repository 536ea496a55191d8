/*
 * event.h: the I/O event thread. Device backends (stdin, ptys, pipes,
 * FIFOs, timers) register file descriptors with a callback; one thread per
 * VM waits on them with epoll and runs the callbacks, so host input is
 * handled off the vCPU threads.
 *
 * Context: ev_add/ev_mod/ev_del may be called from any thread, also from a
 * callback. A callback runs on the event thread and must not block; it
 * takes its device's own lock. ev_stop joins the thread: after it returns
 * no callback runs, so devices tear down afterwards (devices_teardown).
 */
#ifndef QVM_VM_EVENT_H
#define QVM_VM_EVENT_H

#include <stdint.h>

#include "util/compiler.h"

struct evloop;

/* events: EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLERR as reported by epoll_wait. */
typedef void (*ev_fn)(void *opaque, int fd, uint32_t events);

/* ev_new: NULL (logged) when epoll or eventfd cannot be created. */
struct evloop *ev_new(void);
/* ev_start: spawn the thread; -errno. Callbacks may be added before. */
int ev_start(struct evloop *ev) MUST_CHECK;
/* ev_stop: wake the thread and join it; idempotent. */
void ev_stop(struct evloop *ev);
/* ev_free: ev_stop, then free (does not close the registered fds). */
void ev_free(struct evloop *ev);

/*
 * ev_add: watch fd for `events` (EPOLLIN, EPOLLOUT; 0 = registered but
 * idle). -EPERM for fds epoll cannot watch (regular files, /dev/null):
 * those are always ready and the caller does their I/O directly.
 */
int ev_add(struct evloop *ev, int fd, uint32_t events, ev_fn fn,
           void *opaque) MUST_CHECK;
/* ev_mod: change the watched events (backpressure: 0 stops reading). */
int ev_mod(struct evloop *ev, int fd, uint32_t events);
int ev_del(struct evloop *ev, int fd);

/* ev_dispatches: how many callbacks the event thread has begun so far,
 * each counted before it runs (a wake-up for a fd nobody wants shows
 * here: tests count them; a callback that wakes a waiter is counted). */
uint64_t ev_dispatches(struct evloop *ev);

#endif

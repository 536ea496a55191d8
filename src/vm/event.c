/*
 * event.c: the I/O event thread (see event.h). One epoll set, one eventfd
 * to stop the thread. Registrations are never freed before ev_free: ev_del
 * only marks them dead, so a callback racing with ev_del from a vCPU
 * thread never touches freed memory.
 */
#include "vm/event.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "vm/confine.h"

#define TAG "event"

struct ev_reg {
    struct ev_reg *next;
    int fd;
    ev_fn fn;
    void *opaque;
    atomic_bool dead;
};

struct evloop {
    int epfd, stopfd;
    pthread_t thread;
    bool running;
    pthread_mutex_t lock; /* the registration list */
    struct ev_reg *regs;
    atomic_uint_fast64_t dispatches; /* callbacks begun (ev_dispatches) */
};

struct evloop *ev_new(void)
{
    struct evloop *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        log_fatal(TAG, "out of memory");
        return NULL;
    }
    atomic_init(&ev->dispatches, 0);
    ev->epfd = epoll_create1(EPOLL_CLOEXEC);
    ev->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&ev->lock, NULL);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    if (ev->epfd < 0 || ev->stopfd < 0 ||
        epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->stopfd, &e) < 0) {
        log_fatal(TAG, "cannot create the event loop: %s", strerror(errno));
        ev_free(ev);
        return NULL;
    }
    return ev;
}

static void *ev_thread(void *arg)
{
    struct evloop *ev = arg;
    confine_thread(CONFINE_IO);
    for (;;) {
        struct epoll_event es[16];
        int n = epoll_wait(ev->epfd, es, 16, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error(TAG, "epoll_wait: %s", strerror(errno));
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            struct ev_reg *r = es[i].data.ptr;
            if (!r)
                return NULL; /* the stop eventfd */
            if (!atomic_load(&r->dead)) {
                /* Counted before the call: a thread the callback wakes
                 * (a test's ev_flush marker) sees its own dispatch. */
                atomic_fetch_add_explicit(&ev->dispatches, 1,
                                          memory_order_release);
                r->fn(r->opaque, r->fd, es[i].events);
            }
        }
    }
}

int ev_start(struct evloop *ev)
{
    if (ev->running)
        return 0;
    /* The thread must not take signals meant for the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int e = pthread_create(&ev->thread, NULL, ev_thread, ev);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        log_fatal(TAG, "cannot start the event thread: %s", strerror(e));
        return -e;
    }
    ev->running = true;
    return 0;
}

void ev_stop(struct evloop *ev)
{
    if (!ev || !ev->running)
        return;
    uint64_t one = 1;
    ssize_t w = write(ev->stopfd, &one, sizeof(one));
    (void)w;
    pthread_join(ev->thread, NULL);
    ev->running = false;
}

void ev_free(struct evloop *ev)
{
    if (!ev)
        return;
    ev_stop(ev);
    for (struct ev_reg *r = ev->regs, *nx; r; r = nx) {
        nx = r->next;
        free(r);
    }
    if (ev->epfd >= 0)
        close(ev->epfd);
    if (ev->stopfd >= 0)
        close(ev->stopfd);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
}

static struct ev_reg *find(struct evloop *ev, int fd)
{
    for (struct ev_reg *r = ev->regs; r; r = r->next)
        if (r->fd == fd && !atomic_load(&r->dead))
            return r;
    return NULL;
}

int ev_add(struct evloop *ev, int fd, uint32_t events, ev_fn fn, void *opaque)
{
    struct ev_reg *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->fd = fd;
    r->fn = fn;
    r->opaque = opaque;
    atomic_init(&r->dead, false);
    struct epoll_event e = {.events = events, .data.ptr = r};
    pthread_mutex_lock(&ev->lock);
    if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
        int err = errno;
        pthread_mutex_unlock(&ev->lock);
        free(r);
        return -err;
    }
    r->next = ev->regs;
    ev->regs = r;
    pthread_mutex_unlock(&ev->lock);
    return 0;
}

uint64_t ev_dispatches(struct evloop *ev)
{
    return atomic_load_explicit(&ev->dispatches, memory_order_acquire);
}

int ev_mod(struct evloop *ev, int fd, uint32_t events)
{
    pthread_mutex_lock(&ev->lock);
    struct ev_reg *r = find(ev, fd);
    int e = -ENOENT;
    if (r) {
        struct epoll_event ee = {.events = events, .data.ptr = r};
        e = epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &ee) < 0 ? -errno : 0;
    }
    pthread_mutex_unlock(&ev->lock);
    return e;
}

int ev_del(struct evloop *ev, int fd)
{
    pthread_mutex_lock(&ev->lock);
    struct ev_reg *r = find(ev, fd);
    int e = -ENOENT;
    if (r) {
        atomic_store(&r->dead, true);
        e = epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
    }
    pthread_mutex_unlock(&ev->lock);
    return e;
}

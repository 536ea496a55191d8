/*
 * chardev.h: the host end of a character device (ser8250, virtio-console):
 * every `hostdev` form of qvm-reference.md 4.3 (`-`, `<-`, `>-`, files,
 * devices and FIFOs, `>|command`, `pty`), the `batch` and `delayed`
 * options, and what each needs on the host: raw stdin (term.c), a pty whose
 * name is printed, a spawned command reaped at the end.
 *
 * Output goes to a bounded buffer (64 KiB) written without blocking: at
 * once, or after `batch USEC` of quiet, or when the event loop says the
 * sink is writable; it is flushed at teardown (a slow sink gets 2 s).
 * chardev_write takes what fits and calls `output_room` once there is room
 * again (flow control); chardev_put drops what does not fit, counted and
 * logged (a UART, whose guest cannot be made to wait). A regular-file sink
 * takes at most QVM_OUTPUT_CAP bytes (default 64 MiB; 0: no cap), then
 * output is dropped (said once); output files are created 0600 and a
 * symbolic link is followed only to a device or FIFO.
 * Input is pulled by the owner with chardev_read, only while it has room:
 * chardev_want_input(false) stops watching the fd (backpressure), so held
 * input stays in the host fd and qvm's memory stays bounded. Pollable fds
 * are read once per readiness report (inside the `input` callback) and so
 * never block; fds epoll cannot watch (regular files) are read directly.
 *
 * Context: every function with the owner's lock held (chardev_new and
 * chardev_close: the event thread not running); the callbacks run on the
 * event thread with that lock taken by the chardev.
 */
#ifndef QVM_DEVICES_CHARDEV_H
#define QVM_DEVICES_CHARDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "devices/device.h"
#include "util/compiler.h"

struct chardev;

struct chardev_params {
    const char *tag;       /* log tag: "ser8250" */
    const char *what;      /* in messages: "the UART" */
    pthread_mutex_t *lock; /* the owner's lock, taken around callbacks */
    /* input: host input may be read now (chardev_read). NULL: none. */
    void (*input)(void *opaque);
    /* output_room: chardev_write took less than offered earlier and the
     * buffer has room again (or the sink failed: writes now discard). */
    void (*output_room)(void *opaque);
    void *opaque;
};

/*
 * chardev_new: the host end for vd's hostdevs and its `batch`/`delayed`
 * options. Without `delayed`, every hostdev is opened now; a failure is
 * logged (one line, with the hostdev's place in the configuration) and
 * returns -1. With no hostdev the device is simply disconnected (output
 * discarded, no input). The owner then reads initial input (files).
 */
int chardev_new(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                const struct chardev_params *p,
                struct chardev **out) MUST_CHECK;
/*
 * chardev_access: the guest touched the device. With `delayed`, tries to
 * open the hostdevs (at most once a second, until `delayed SECS` ran out);
 * returns true when they have just been opened (the owner reads input).
 */
bool chardev_access(struct chardev *c);

/*
 * chardev_read: up to len bytes of host input. >0: bytes read; 0: none
 * now (wait for the `input` callback, after chardev_want_input(true));
 * -1: no input connected, or none ever again (end of file, error).
 */
ssize_t chardev_read(struct chardev *c, void *buf, size_t len);
/* chardev_want_input: the owner has room for input (watch the fd) or not
 * (stop watching it: backpressure). */
void chardev_want_input(struct chardev *c, bool want);

/*
 * chardev_write: queue guest output; returns the bytes taken (len when the
 * output is disconnected or failed: discarded, as a line with nothing on
 * it). Less than len: the buffer is full; `output_room` follows.
 */
size_t chardev_write(struct chardev *c, const void *buf, size_t len);
/* chardev_put: chardev_write, dropping (and counting) what does not fit. */
void chardev_put(struct chardev *c, const void *buf, size_t len);
/*
 * chardev_hold: while held, output stays in the buffer (up to 4 KiB, then
 * it is written as usual) until the owner calls chardev_flush, on a timer
 * of its own; releasing the hold flushes. For output that nobody waits
 * for byte by byte (a UART's polled console writes): one write(2) and one
 * wake-up of the reader per batch instead of per byte. chardev_flush:
 * write what the sink takes now (never blocks). NULL is ignored.
 */
void chardev_hold(struct chardev *c, bool hold);
void chardev_flush(struct chardev *c);

/*
 * chardev_close: flush the output (a slow sink gets 2 s), report dropped
 * output, restore the terminal, close everything, end the `>|command`
 * (after it had time to finish) and free. NULL is ignored. Called after
 * the event thread stopped (or before it started).
 */
void chardev_close(struct chardev *c);

#endif

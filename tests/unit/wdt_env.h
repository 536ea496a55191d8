/*
 * wdt_env.h: the fake machine of the watchdog glue tests (test_dev_sp805.c,
 * test_x86_wdt_ib700.c): buses, an event thread, one interrupt pin PIN
 * (defined by the includer) whose rises are counted, and a dev_ctx whose
 * stop and dump record what the device asked, in order ('i' interrupt,
 * 'd' dump, 's' stop), waking wait_events. The log lines naming an expiry
 * are counted, the last one kept. Static functions: included once per
 * test program, after <cmocka.h>.
 */
#ifndef QVM_TESTS_WDT_ENV_H
#define QVM_TESTS_WDT_ENV_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "config/schema.h"
#include "devices/device.h"
#include "util/log.h"
#include "vm/event.h"

struct env {
    struct bus pio, mmio;
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct dev_inst inst;
    struct irq_chip chip;
    struct irq_input in;
    pthread_mutex_t m;
    pthread_cond_t c;
    unsigned stops, dumps, rises, events; /* events: each of them */
    bool level;
    enum vm_stop why;
    char dump_why[128];
    char order[8]; /* 'd' dump, 's' stop, 'i' interrupt */
    int resolve_calls;
};

static char last_line[512];
static unsigned lines_with_expired;

static void sink(enum log_class c, const char *line)
{
    (void)c;
    if (strstr(line, "expired")) {
        lines_with_expired++;
        snprintf(last_line, sizeof(last_line), "%s", line);
    }
}

static void note(struct env *e, char what)
{
    /* under e->m */
    size_t n = strlen(e->order);
    if (n + 1 < sizeof(e->order))
        e->order[n] = what;
    e->events++;
    pthread_cond_broadcast(&e->c);
}

static void set_pin(void *opaque, uint32_t pin, bool level)
{
    struct env *e = opaque;
    assert_int_equal(pin, PIN);
    pthread_mutex_lock(&e->m);
    e->level = level;
    if (level) {
        e->rises++;
        note(e, 'i');
    }
    pthread_mutex_unlock(&e->m);
}

static int resolve(void *opaque, const struct intr *in, int isa,
                   struct irq_line *out)
{
    struct env *e = opaque;
    assert_int_equal(isa, -1);
    assert_int_equal(in->line, PIN);
    e->resolve_calls++;
    *out = irq_line_none();
    out->gsi = PIN;
    return irq_line_connect(out, &e->in);
}

static void stop(void *opaque, enum vm_stop why)
{
    struct env *e = opaque;
    pthread_mutex_lock(&e->m);
    e->stops++;
    e->why = why;
    note(e, 's');
    pthread_mutex_unlock(&e->m);
}

static int dump(void *opaque, const char *why)
{
    struct env *e = opaque;
    pthread_mutex_lock(&e->m);
    e->dumps++;
    snprintf(e->dump_why, sizeof(e->dump_why), "%s", why);
    note(e, 'd');
    pthread_mutex_unlock(&e->m);
    return -1; /* as without a `dump`: the action goes on */
}

/* env_setup: the machine, and the vdev at `loc` (its spec's options and
 * interrupts added by the test). */
static int env_setup(void **state, struct loc loc)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    bus_init(&e->pio, "pio");
    bus_init(&e->mmio, "mmio");
    pthread_mutex_init(&e->m, NULL);
    pthread_cond_init(&e->c, NULL);
    e->chip = (struct irq_chip){
        .name = "fake", .set_pin = set_pin, .opaque = e, .npins = 64};
    irq_input_init(&e->in, &e->chip, PIN);
    e->ctx = (struct dev_ctx){.pio = &e->pio,
                              .mmio = &e->mmio,
                              .irq_resolve = resolve,
                              .stop = stop,
                              .dump = dump,
                              .opaque = e,
                              .ev = ev_new(),
                              .timer_slack_ns = 0};
    assert_non_null(e->ctx.ev);
    assert_int_equal(ev_start(e->ctx.ev), 0);
    e->vd.has_loc = true;
    e->vd.loc = loc;
    e->vd.span = (struct src_span){.file = "wdt.qvmconf", .line = 3};
    last_line[0] = '\0';
    lines_with_expired = 0;
    log_set_sink(sink);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    ev_stop(e->ctx.ev);
    log_set_sink(NULL);
    if (e->inst.teardown)
        e->inst.teardown(e->inst.state);
    VEC_FREE(&e->vd.intrs);
    VEC_FREE(&e->vd.opts);
    ev_free(e->ctx.ev);
    irq_input_destroy(&e->in);
    bus_destroy(&e->pio);
    bus_destroy(&e->mmio);
    pthread_cond_destroy(&e->c);
    pthread_mutex_destroy(&e->m);
    free(e);
    return 0;
}

/* action: 0 terminate, 1 fiq; dump: the `dump,` prefix. */
static void set_action(struct env *e, unsigned action, bool with_dump)
{
    static const struct opt_def def = {.name = "action"};
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    assert_non_null(o);
    *o = (struct opt_val){.def = &def, .num = action, .num2 = with_dump};
}

static void add_intr(struct env *e)
{
    struct intr *in = VEC_PUSH(&e->vd.intrs);
    assert_non_null(in);
    *in = (struct intr){.pic = 0, .line = PIN};
}

/* Until `n` events were seen (the bound only turns a hang into a
 * failure). */
static void wait_events(struct env *e, unsigned n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 60;
    pthread_mutex_lock(&e->m);
    int r = 0;
    while (e->events < n && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&e->c, &e->m, &dl);
    unsigned got = e->events;
    pthread_mutex_unlock(&e->m);
    assert_true(got >= n);
}

#endif

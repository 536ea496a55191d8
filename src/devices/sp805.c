/*
 * sp805.c: the SP805 watchdog's registers and counter (sp805.h).
 */
#include "devices/sp805.h"

#include "util/ckd.h"

void sp805_init(struct sp805 *w, uint64_t freq)
{
    *w = (struct sp805){
        .freq = freq ? freq : 1, .load = UINT32_MAX, .v0 = UINT32_MAX};
}

uint64_t sp805_period_ns(const struct sp805 *w, uint32_t v)
{
    /* (v + 1) * 1e9 <= 2^32 * 1e9 < 2^63: no overflow. */
    uint64_t n = ((uint64_t)v + 1) * SP805_NS_PER_S;
    uint64_t p = n / w->freq + (n % w->freq != 0);
    return p ? p : 1;
}

static bool running(const struct sp805 *w)
{
    return (w->ctl & SP805_INTEN) && !w->reset;
}

static uint64_t deadline(const struct sp805 *w)
{
    uint64_t d;
    if (ckd_add(&d, w->t0, sp805_period_ns(w, w->v0)))
        return UINT64_MAX;
    return d;
}

/* The counter at `now`, expiries that are due not taken: 0 then. */
static uint32_t value(const struct sp805 *w, uint64_t now)
{
    if (!running(w))
        return w->v0;
    if (now <= w->t0)
        return w->v0;
    uint64_t el = now - w->t0;
    if (el >= sp805_period_ns(w, w->v0))
        return 0;
    /* el < (v0 + 1) * 1e9 / freq + 1, so el * freq < 2^63. */
    uint64_t ticks = el * w->freq / SP805_NS_PER_S;
    return ticks >= w->v0 ? 0 : w->v0 - (uint32_t)ticks;
}

static void reload(struct sp805 *w, uint64_t now)
{
    w->v0 = w->load;
    w->t0 = now;
}

uint32_t sp805_read(const struct sp805 *w, uint32_t off, uint64_t now)
{
    if (off >= 0xfe0 && off < 0xff0)
        return SP805_PERIPH_ID >> (8 * ((off - 0xfe0) / 4)) & 0xffu;
    if (off >= 0xff0 && off < 0x1000)
        return SP805_CELL_ID >> (8 * ((off - 0xff0) / 4)) & 0xffu;
    switch (off) {
    case SP805_LOAD:
        return w->load;
    case SP805_VALUE:
        return value(w, now);
    case SP805_CONTROL:
        return w->ctl;
    case SP805_RIS:
        return w->ris;
    case SP805_MIS:
        return sp805_irq(w);
    case SP805_LOCK:
        return w->locked;
    default:
        return 0; /* WdogIntClr (write-only), ITCR, ITOP, reserved */
    }
}

void sp805_write(struct sp805 *w, uint32_t off, uint32_t val, uint64_t now)
{
    if (off == SP805_LOCK) {
        w->locked = val != SP805_UNLOCK;
        return;
    }
    if (w->locked)
        return;
    switch (off) {
    case SP805_LOAD:
        w->load = val;
        reload(w, now);
        break;
    case SP805_CONTROL: {
        uint32_t nv = val & (SP805_INTEN | SP805_RESEN);
        if (!(w->ctl & SP805_INTEN) && (nv & SP805_INTEN))
            reload(w, now);
        else if ((w->ctl & SP805_INTEN) && !(nv & SP805_INTEN))
            w->v0 = value(w, now); /* stopped where it is */
        w->ctl = nv;
        break;
    }
    case SP805_INTCLR:
        w->ris = false;
        if (!w->reset)
            reload(w, now);
        break;
    default:
        break; /* read-only, integration test, reserved */
    }
}

bool sp805_tick(struct sp805 *w, uint64_t now, uint64_t *next)
{
    bool fired = false;
    /* At most: the interrupt, then the reset or whole periods skipped. */
    for (int i = 0; i < 3 && running(w); i++) {
        uint64_t dl = deadline(w);
        if (now < dl)
            break;
        w->t0 = dl;
        w->v0 = w->load;
        if (!w->ris) {
            w->ris = true;
            continue;
        }
        if (w->ctl & SP805_RESEN) {
            w->reset = true;
            w->v0 = 0;
            fired = true;
            break;
        }
        /* No reset: only the counter moves; skip the whole periods. */
        uint64_t p = sp805_period_ns(w, w->load);
        w->t0 += (now - w->t0) / p * p;
    }
    if (next)
        *next = !running(w) || (w->ris && !(w->ctl & SP805_RESEN))
                    ? 0
                    : deadline(w);
    return fired;
}

void sp805_reset_ack(struct sp805 *w, uint64_t now)
{
    w->reset = false;
    reload(w, now);
}

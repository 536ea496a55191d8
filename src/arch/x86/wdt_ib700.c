/*
 * wdt_ib700.c: the IB700 watchdog's registers and timer (wdt_ib700.h).
 */
#include "arch/x86/wdt_ib700.h"

#include "util/ckd.h"

void ib700_init(struct ib700 *w)
{
    *w = (struct ib700){.armed = false};
}

uint64_t ib700_write(struct ib700 *w, uint64_t off, uint64_t val, unsigned size,
                     uint64_t now)
{
    uint64_t ret = UINT64_MAX;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t o = off + i;
        unsigned byte = (unsigned)(val >> (8 * i)) & 0xffu;
        if (o == IB700_STOP_OFF) {
            w->armed = false;
            w->deadline = 0;
            ret = 0;
        } else if (o == IB700_START_OFF) {
            uint64_t t = (uint64_t)ib700_timeout_s(byte) * IB700_NS_PER_S;
            uint64_t d;
            if (ckd_add(&d, now, t))
                d = UINT64_MAX - 1;
            w->armed = true;
            w->index = byte & 0xfu;
            w->deadline = d ? d : 1; /* 0 means disarmed */
            ret = w->deadline;
        }
    }
    return ret;
}

bool ib700_tick(struct ib700 *w, uint64_t now, unsigned *timeout_s,
                uint64_t *next)
{
    if (w->armed && now >= w->deadline) {
        w->armed = false;
        w->deadline = 0;
        if (timeout_s)
            *timeout_s = ib700_timeout_s(w->index);
        if (next)
            *next = 0;
        return true;
    }
    if (next)
        *next = w->armed ? w->deadline : 0;
    return false;
}

/*
 * rtc.c: the MC146818 real-time clock and CMOS RAM (`vdev mc146818`,
 * qvm-reference.md 4.2) at loc (0x70: index, bit 7 = NMI mask, stored
 * only) and loc+1 (0x71: data): the model (rtc.h) and its glue.
 *
 * The clock is the host's UTC time plus an offset the guest changes by
 * writing the time registers (0 seconds, 2 minutes, 4 hours, 6 day of week,
 * 7 day, 8 month, 9 year, 0x32 century); nothing ticks inside qvm. Values
 * are BCD or binary as register B's DM bit (0x04) says, hours 24h or 12h
 * (bit 7 = PM) per bit 1. Register A's update-in-progress bit is set for the
 * last 244 us of each host second, computed from host time (no loops). The
 * update cycle ends at each host second boundary (the guest's seconds are
 * the host's); register D reads 0x80 (valid RAM and time).
 *
 * Interrupts (rtc.h): the flags of register C are computed for the time
 * between two accesses when the second one comes: PF when the periodic
 * rate's period boundary (register A RS bits on the 32.768 kHz time base,
 * counted from the epoch) was crossed, UF when a second boundary was and
 * AF when one of the seconds passed matches the alarm; no UF or AF while
 * register B's SET bit holds the clock or register A's divider is in
 * reset (DV 11x), no PF with RS 0 or the divider in reset. IRQ 8 (`intr`)
 * is asserted while IRQF is set: the MC146818's IRQ pin is a level
 * (active low, on an edge-triggered ISA input on a PC) that stays asserted
 * until the guest reads C, which is what Linux's rtc-cmos and QNX do in
 * their handlers, so a rising edge per read of C is the interrupt. A
 * device timer wakes the model only when an enabled flag can next raise
 * IRQF: none with PIE, AIE and UIE clear, none while IRQF is set.
 * While the HPET's legacy replacement holds IRQ 8 (rtc_irq_connect, called
 * by the platform's HPET glue) the output stays low and no timer runs;
 * the realized device describes itself as DEV_ROLE_RTC so that the
 * platform finds it (and the firmware tables announce a CMOS RTC).
 *
 * `reg INDEX,VALUE` presets CMOS bytes, the alarm and registers A/B
 * (`reg 0x0b,0x02` = 24h BCD, the default).
 *
 * Context: vCPU threads and the I/O event thread, under the model mutex.
 */
#include "devices/rtc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/schema.h"
#include "devices/device.h"
#include "devices/dtimer.h"
#include "util/log.h"

#define TAG "mc146818"

#define REG_SEC_ALARM  0x01
#define REG_MIN_ALARM  0x03
#define REG_HOUR_ALARM 0x05
#define REG_A          0x0a
#define REG_B          0x0b
#define REG_C          0x0c
#define REG_D          0x0d
#define REG_CENT       0x32
#define A_UIP          0x80
#define A_DV           0x70
#define A_DV_RESET     0x60 /* DV 110 and 111: divider chain in reset */
#define A_RS           0x0f
#define B_SET          0x80
#define B_PIE          0x40
#define B_AIE          0x20
#define B_UIE          0x10
#define B_DM           0x04
#define B_24H          0x02
#define C_IRQF         0x80
#define C_PF           0x40
#define C_AF           0x20
#define C_UF           0x10
#define UIP_NS         244000u
#define NS_PER_S       1000000000ull
#define TIME_BASE_HZ   32768u
#define NEVER          UINT64_MAX

struct rtc {
    pthread_mutex_t lock;
    const struct rtc_ops *ops;
    void *opaque;
    uint8_t ram[128];
    uint8_t index;
    bool nmi_masked;
    int64_t offset; /* guest time - host time, seconds */
    uint64_t last;  /* flags are computed up to this time (ns) */
    uint8_t flags;  /* PF AF UF, set since the last read of C */
    bool irq;       /* the level given to ops->irq */
    bool cut;       /* the output disconnected (HPET legacy replacement) */
    uint64_t armed; /* the deadline given to ops->arm */
};

static bool is_time_reg(unsigned r)
{
    return r == 0 || r == 2 || r == 4 || r == 6 || r == 7 || r == 8 || r == 9 ||
           r == REG_CENT;
}

static uint8_t enc(const struct rtc *r, unsigned v)
{
    if (r->ram[REG_B] & B_DM)
        return (uint8_t)v;
    return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static unsigned dec(const struct rtc *r, uint8_t v)
{
    if (r->ram[REG_B] & B_DM)
        return v;
    return (unsigned)(v >> 4) * 10 + (v & 15);
}

static uint8_t enc_hour(const struct rtc *r, unsigned h)
{
    if (r->ram[REG_B] & B_24H)
        return enc(r, h);
    return (uint8_t)(enc(r, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
}

static void guest_tm(const struct rtc *r, uint64_t now, struct tm *tm)
{
    time_t t = (time_t)((int64_t)(now / NS_PER_S) + r->offset);
    gmtime_r(&t, tm);
}

static uint8_t time_reg(const struct rtc *r, unsigned reg, uint64_t now)
{
    struct tm tm;
    guest_tm(r, now, &tm);
    switch (reg) {
    case 0:
        return enc(r, (unsigned)tm.tm_sec % 60);
    case 2:
        return enc(r, (unsigned)tm.tm_min);
    case 4:
        return enc_hour(r, (unsigned)tm.tm_hour);
    case 6:
        return enc(r, (unsigned)tm.tm_wday + 1);
    case 7:
        return enc(r, (unsigned)tm.tm_mday);
    case 8:
        return enc(r, (unsigned)tm.tm_mon + 1);
    case 9:
        return enc(r, (unsigned)(tm.tm_year + 1900) % 100);
    default: /* REG_CENT */
        return enc(r, (unsigned)(tm.tm_year + 1900) / 100);
    }
}

/* The guest sets one field of the clock: move the offset. */
static void set_time_reg(struct rtc *r, unsigned reg, uint8_t v, uint64_t now)
{
    struct tm tm;
    guest_tm(r, now, &tm);
    time_t before = timegm(&tm);
    unsigned d = dec(r, (uint8_t)(reg == 4 ? v & 0x7f : v));
    switch (reg) {
    case 0:
        tm.tm_sec = (int)(d % 60);
        break;
    case 2:
        tm.tm_min = (int)(d % 60);
        break;
    case 4:
        if (!(r->ram[REG_B] & B_24H))
            d = d % 12 + (v & 0x80 ? 12 : 0);
        tm.tm_hour = (int)(d % 24);
        break;
    case 6:
        return; /* derived from the date */
    case 7:
        tm.tm_mday = d >= 1 && d <= 31 ? (int)d : tm.tm_mday;
        break;
    case 8:
        tm.tm_mon = d >= 1 && d <= 12 ? (int)d - 1 : tm.tm_mon;
        break;
    case 9:
        tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + (int)(d % 100) - 1900;
        break;
    default: /* REG_CENT */
        tm.tm_year = (int)(d % 100) * 100 + (tm.tm_year + 1900) % 100 - 1900;
        break;
    }
    time_t after = timegm(&tm);
    if (after != (time_t)-1 && before != (time_t)-1)
        r->offset += (int64_t)(after - before);
}

/* ---- interrupt flags ---- */

static bool divider_reset(const struct rtc *r)
{
    return (r->ram[REG_A] & A_DV_RESET) == A_DV_RESET;
}

static bool clock_runs(const struct rtc *r)
{
    return !(r->ram[REG_B] & B_SET) && !divider_reset(r);
}

/* The periodic rate's period in 32.768 kHz cycles; 0: none. RS 1 and 2
 * are 256 and 128 Hz on this time base, as RS 8 and 9. */
static uint32_t period_cycles(const struct rtc *r)
{
    unsigned rs = r->ram[REG_A] & A_RS;
    if (!rs || divider_reset(r))
        return 0;
    return 1u << ((rs < 3 ? rs + 7 : rs) - 1);
}

static uint64_t to_cycles(uint64_t ns)
{
    return ns / NS_PER_S * TIME_BASE_HZ +
           ns % NS_PER_S * TIME_BASE_HZ / NS_PER_S;
}

/* The first ns at which to_cycles() reaches x. */
static uint64_t cycles_ns(uint64_t x)
{
    return x / TIME_BASE_HZ * NS_PER_S +
           (x % TIME_BASE_HZ * NS_PER_S + TIME_BASE_HZ - 1) / TIME_BASE_HZ;
}

static bool dont_care(uint8_t v)
{
    return (v & 0xc0) == 0xc0;
}

/* The first set bit of mask at or after `from`, or -1. */
static int next_bit(uint64_t mask, unsigned from)
{
    mask = from < 64 ? mask >> from : 0;
    return mask ? (int)from + __builtin_ctzll(mask) : -1;
}

/* The first host second after `after` whose guest time matches the alarm
 * registers, or NEVER (a register no time matches). */
static uint64_t alarm_next(const struct rtc *r, uint64_t after)
{
    uint64_t hm = 0, mm = 0, sm = 0;
    uint8_t ah = r->ram[REG_HOUR_ALARM], am = r->ram[REG_MIN_ALARM],
            as = r->ram[REG_SEC_ALARM];
    for (unsigned v = 0; v < 60; v++) {
        if (v < 24 && (dont_care(ah) || ah == enc_hour(r, v)))
            hm |= 1ull << v;
        if (dont_care(am) || am == enc(r, v))
            mm |= 1ull << v;
        if (dont_care(as) || as == enc(r, v))
            sm |= 1ull << v;
    }
    if (!hm || !mm || !sm)
        return NEVER;
    int64_t g = (int64_t)after + 1 + r->offset; /* guest seconds */
    for (unsigned i = 0; i < 16; i++) {
        int64_t tod = (g % 86400 + 86400) % 86400;
        unsigned h = (unsigned)(tod / 3600), m = (unsigned)(tod / 60 % 60),
                 s = (unsigned)(tod % 60);
        int nh = next_bit(hm, h), nm = next_bit(mm, m), ns = next_bit(sm, s);
        if (nh < 0)
            g += 86400 - tod; /* tomorrow */
        else if ((unsigned)nh != h)
            g += ((int64_t)nh - h) * 3600 - m * 60 - s;
        else if (nm < 0)
            g += 3600 - m * 60 - s;
        else if ((unsigned)nm != m)
            g += ((int64_t)nm - m) * 60 - s;
        else if (ns < 0)
            g += 60 - s;
        else
            return (uint64_t)(g + (ns - (int64_t)s) - r->offset);
    }
    return NEVER; /* not reached: some time of day matches */
}

/* The flags the time from r->last to now sets. */
static void advance(struct rtc *r, uint64_t now)
{
    if (now <= r->last) {
        r->last = now; /* the host clock stepped back: nothing passed */
        return;
    }
    uint32_t p = period_cycles(r);
    if (p && to_cycles(now) / p != to_cycles(r->last) / p)
        r->flags |= C_PF;
    uint64_t s0 = r->last / NS_PER_S, s1 = now / NS_PER_S;
    if (clock_runs(r) && s1 != s0) {
        r->flags |= C_UF;
        if (alarm_next(r, s0) <= s1)
            r->flags |= C_AF;
    }
    r->last = now;
}

static bool irqf(const struct rtc *r)
{
    return r->flags & r->ram[REG_B] & (C_PF | C_AF | C_UF);
}

static void update_irq(struct rtc *r)
{
    bool level = irqf(r) && !r->cut;
    if (level != r->irq) {
        r->irq = level;
        r->ops->irq(r->opaque, level);
    }
}

/* The next time an enabled flag can set IRQF (ns), or 0. */
static uint64_t next_due(const struct rtc *r, uint64_t now)
{
    if (r->cut)
        return 0; /* no interrupt can come: C is computed when read */
    if (irqf(r))
        return 0; /* the guest must read C first */
    uint8_t b = r->ram[REG_B];
    uint64_t due = NEVER;
    uint32_t p = period_cycles(r);
    if (b & B_PIE && p)
        due = cycles_ns((to_cycles(now) / p + 1) * p);
    if (clock_runs(r)) {
        uint64_t s = now / NS_PER_S;
        if (b & B_UIE)
            due = MIN(due, (s + 1) * NS_PER_S);
        if (b & B_AIE) {
            uint64_t a = alarm_next(r, s);
            if (a != NEVER)
                due = MIN(due, a * NS_PER_S);
        }
    }
    return due == NEVER ? 0 : due;
}

static void rearm(struct rtc *r, uint64_t now, bool force)
{
    uint64_t d = next_due(r, now);
    if (force || d != r->armed) {
        r->armed = d;
        r->ops->arm(r->opaque, d);
    }
}

/* ---- registers ---- */

static uint8_t reg_read(struct rtc *r, unsigned reg, uint64_t now)
{
    if (is_time_reg(reg))
        return time_reg(r, reg, now);
    switch (reg) {
    case REG_A: {
        uint8_t a = r->ram[REG_A] & 0x7f;
        if (now % NS_PER_S >= NS_PER_S - UIP_NS && clock_runs(r))
            a |= A_UIP;
        return a;
    }
    case REG_C: {
        uint8_t c = (uint8_t)(r->flags | (irqf(r) ? C_IRQF : 0));
        r->flags = 0;
        return c;
    }
    case REG_D:
        return 0x80;
    default:
        return r->ram[reg];
    }
}

static void reg_write(struct rtc *r, unsigned reg, uint8_t v, uint64_t now)
{
    if (is_time_reg(reg)) {
        set_time_reg(r, reg, v, now);
        return;
    }
    switch (reg) {
    case REG_A:
        r->ram[REG_A] = v & 0x7f; /* UIP is read-only */
        break;
    case REG_B:
        r->ram[REG_B] = v & B_SET ? (uint8_t)(v & ~B_UIE) : v;
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    default:
        r->ram[reg] = v;
        break;
    }
}

struct rtc *rtc_new(const struct rtc_ops *ops, void *opaque, uint64_t now)
{
    struct rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    r->ops = ops;
    r->opaque = opaque;
    r->ram[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
    r->ram[REG_B] = B_24H;
    r->last = now;
    return r;
}

void rtc_free(struct rtc *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

bool rtc_preset(struct rtc *r, unsigned idx, uint8_t val, uint64_t now)
{
    idx &= 0x7f;
    if (is_time_reg(idx) || idx == REG_C || idx == REG_D)
        return false;
    pthread_mutex_lock(&r->lock);
    advance(r, now);
    r->ram[idx] = idx == REG_A ? val & 0x7f : val;
    update_irq(r);
    rearm(r, now, false);
    pthread_mutex_unlock(&r->lock);
    return true;
}

uint8_t rtc_io_read(struct rtc *r, unsigned off, uint64_t now)
{
    if (off == 0)
        return 0xff; /* the index register is write-only */
    pthread_mutex_lock(&r->lock);
    advance(r, now);
    uint8_t v = reg_read(r, r->index, now);
    update_irq(r);
    rearm(r, now, false);
    pthread_mutex_unlock(&r->lock);
    return v;
}

void rtc_io_write(struct rtc *r, unsigned off, uint8_t val, uint64_t now)
{
    pthread_mutex_lock(&r->lock);
    if (off == 0) {
        r->index = val & 0x7f;
        r->nmi_masked = val & 0x80;
    } else {
        advance(r, now);
        reg_write(r, r->index, val, now);
        update_irq(r);
        rearm(r, now, false);
    }
    pthread_mutex_unlock(&r->lock);
}

void rtc_tick(struct rtc *r, uint64_t now)
{
    pthread_mutex_lock(&r->lock);
    advance(r, now);
    update_irq(r);
    rearm(r, now, true);
    pthread_mutex_unlock(&r->lock);
}

void rtc_set_irq_connected(struct rtc *r, bool on, uint64_t now)
{
    pthread_mutex_lock(&r->lock);
    advance(r, now);
    r->cut = !on;
    update_irq(r);
    rearm(r, now, false);
    pthread_mutex_unlock(&r->lock);
}

/* ---- the vdev ---- */

struct rtc_dev {
    struct rtc *rtc;
    struct irq_line line;
    struct dtimer *timer; /* only with a connected line */
};

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void on_irq(void *opaque, bool level)
{
    struct rtc_dev *d = opaque;
    irq_line_set(&d->line, level);
}

/* The model's deadlines are CLOCK_REALTIME, the timer's CLOCK_MONOTONIC. */
static void on_arm(void *opaque, uint64_t deadline)
{
    struct rtc_dev *d = opaque;
    if (!d->timer)
        return;
    if (!deadline) {
        dtimer_disarm(d->timer);
        return;
    }
    uint64_t rt = realtime_ns(), mono = dtimer_now();
    dtimer_arm(d->timer, deadline > rt ? mono + (deadline - rt) : mono);
}

static const struct rtc_ops dev_ops = {on_irq, on_arm};

static void on_timer(void *opaque)
{
    struct rtc_dev *d = opaque;
    rtc_tick(d->rtc, realtime_ns());
}

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    struct rtc_dev *d = opaque;
    (void)size;
    return rtc_io_read(d->rtc, (unsigned)off, realtime_ns());
}

static void dev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct rtc_dev *d = opaque;
    (void)size;
    rtc_io_write(d->rtc, (unsigned)off, (uint8_t)val, realtime_ns());
}

static const struct region_ops rtc_region_ops = {dev_read, dev_write};

static void rtc_teardown(void *state)
{
    struct rtc_dev *d = state;
    dtimer_free(d->timer);
    rtc_free(d->rtc);
    free(d);
}

static int connect_line(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                        struct irq_line *line)
{
    *line = irq_line_none();
    if (vd->intrs.n == 0) {
        log_warn(TAG, "no intr: the RTC's interrupt (ISA IRQ 8) is not "
                      "connected");
        return 0;
    }
    if (!ctx->irq_resolve) {
        log_debug(TAG, "no interrupt routing on this platform: IRQ 8 is "
                       "not connected");
        return 0;
    }
    return ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], 8, line) < 0 ? -1 : 0;
}

int rtc_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst)
{
    if (vd->has_loc && vd->loc.space != SPACE_IO) {
        log_fatal(TAG, "only io: locations are supported for mc146818");
        return -1;
    }
    uint64_t base = vd->has_loc ? vd->loc.base : 0x70;
    struct rtc_dev *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    if (connect_line(vd, ctx, &d->line) < 0) {
        free(d);
        return -1;
    }
    if (d->line.n) {
        d->timer = dtimer_new(ctx->ev, on_timer, d, 0);
        if (!d->timer) {
            free(d);
            return -1;
        }
    }
    uint64_t now = realtime_ns();
    d->rtc = rtc_new(&dev_ops, d, now);
    if (!d->rtc) {
        log_fatal(TAG, "out of memory");
        rtc_teardown(d);
        return -1;
    }
    for (size_t i = 0; i < vd->opts.n; i++) {
        const struct opt_val *o = &vd->opts.v[i];
        if (!o->def || !o->def->name || strcmp(o->def->name, "reg") != 0)
            continue;
        if (!rtc_preset(d->rtc, (unsigned)o->num, (uint8_t)o->num2, now))
            log_warn(TAG,
                     "%s:%u: reg 0x%02x: the clock follows host time and "
                     "registers C/D are read-only; preset ignored",
                     o->span.file ? o->span.file : "?", (unsigned)o->span.line,
                     (unsigned)(o->num & 0x7f));
    }
    int e = bus_map(ctx->pio, "mc146818", base, 2, &rtc_region_ops, d);
    if (e < 0) {
        log_fatal(TAG, "cannot map the RTC at io 0x%llx: %s",
                  (unsigned long long)base, strerror(-e));
        rtc_teardown(d);
        return -1;
    }
    inst->state = d;
    inst->teardown = rtc_teardown;
    inst->desc =
        dev_desc_line(DEV_ROLE_RTC, base, 2, d->line.n ? &d->line : NULL);
    return 0;
}

void rtc_irq_connect(void *rtc_state, bool on)
{
    struct rtc_dev *d = rtc_state;
    rtc_set_irq_connected(d->rtc, on, realtime_ns());
}

/*
 * rtc.c: the MC146818 real-time clock and CMOS RAM (`vdev mc146818`,
 * qvm-reference.md 4.2) at loc (0x70: index, bit 7 = NMI mask, stored
 * only) and loc+1 (0x71: data).
 *
 * The clock is the host's UTC time plus an offset the guest changes by
 * writing the time registers (0 seconds, 2 minutes, 4 hours, 6 day of week,
 * 7 day, 8 month, 9 year, 0x32 century); nothing ticks inside qvm. Values
 * are BCD or binary as register B's DM bit (0x04) says, hours 24h or 12h
 * (bit 7 = PM) per bit 1. Register A's update-in-progress bit is set for the
 * last 244 us of each host second, computed from host time (no loops, no
 * timer). Register C reports the update-ended flag once per second and the
 * periodic flag at the rate register A selects (both computed when C is
 * read; reading clears them); register D reads 0x80 (valid RAM and time).
 * Not implemented: the periodic, alarm and update-ended *interrupts*
 * (IRQ 8 is never raised) and the alarm flag. `reg INDEX,VALUE` presets
 * CMOS bytes and registers A/B (`reg 0x0b,0x02` = 24h BCD, the default).
 *
 * Context: vCPU threads, under the device mutex.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/schema.h"
#include "devices/device.h"
#include "util/log.h"

#define TAG "mc146818"

#define REG_A    0x0a
#define REG_B    0x0b
#define REG_C    0x0c
#define REG_D    0x0d
#define REG_CENT 0x32
#define A_UIP    0x80
#define B_SET    0x80
#define B_PIE    0x40
#define B_AIE    0x20
#define B_UIE    0x10
#define B_DM     0x04
#define B_24H    0x02
#define C_IRQF   0x80
#define C_PF     0x40
#define C_UF     0x10
#define UIP_NS   244000L

struct rtc {
    pthread_mutex_t lock;
    uint8_t ram[128];
    uint8_t index;
    bool nmi_masked;
    int64_t offset;              /* guest time - host time, seconds */
    struct timespec last_c_read; /* host time of the last C read */
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

static void guest_tm(const struct rtc *r, const struct timespec *now,
                     struct tm *tm)
{
    time_t t = (time_t)(now->tv_sec + r->offset);
    gmtime_r(&t, tm);
}

static uint8_t time_reg(const struct rtc *r, unsigned reg,
                        const struct timespec *now)
{
    struct tm tm;
    guest_tm(r, now, &tm);
    switch (reg) {
    case 0:
        return enc(r, (unsigned)tm.tm_sec % 60);
    case 2:
        return enc(r, (unsigned)tm.tm_min);
    case 4:
        if (r->ram[REG_B] & B_24H)
            return enc(r, (unsigned)tm.tm_hour);
        return (
            uint8_t)(enc(r, tm.tm_hour % 12 ? (unsigned)tm.tm_hour % 12 : 12) |
                     (tm.tm_hour >= 12 ? 0x80 : 0));
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
static void set_time_reg(struct rtc *r, unsigned reg, uint8_t v,
                         const struct timespec *now)
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

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Register C: flags since the last read, computed from host time. */
static uint8_t reg_c(struct rtc *r, const struct timespec *now)
{
    uint8_t c = 0;
    if (now->tv_sec != r->last_c_read.tv_sec)
        c |= C_UF;
    unsigned rs = r->ram[REG_A] & 15;
    if (rs) {
        /* Periodic rate: 32768 >> (rs - 1) Hz (rs 1, 2 as 8, 9). */
        unsigned s = rs < 3 ? rs + 7 : rs;
        double period = (double)(1u << (s - 1)) / 32768.0;
        if (secs(&r->last_c_read, now) >= period)
            c |= C_PF;
    }
    if (c & r->ram[REG_B] & (B_PIE | B_UIE))
        c |= C_IRQF;
    r->last_c_read = *now;
    return c;
}

static uint8_t rtc_reg_read(struct rtc *r, unsigned reg)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (is_time_reg(reg))
        return time_reg(r, reg, &now);
    switch (reg) {
    case REG_A: {
        uint8_t a = r->ram[REG_A] & 0x7f;
        if (now.tv_nsec >= 1000000000L - UIP_NS && !(r->ram[REG_B] & B_SET))
            a |= A_UIP;
        return a;
    }
    case REG_C:
        return reg_c(r, &now);
    case REG_D:
        return 0x80;
    default:
        return r->ram[reg];
    }
}

static void rtc_reg_write(struct rtc *r, unsigned reg, uint8_t v)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (is_time_reg(reg)) {
        set_time_reg(r, reg, v, &now);
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

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned size)
{
    struct rtc *r = opaque;
    (void)size;
    pthread_mutex_lock(&r->lock);
    uint8_t v = off == 0 ? 0xff : rtc_reg_read(r, r->index);
    pthread_mutex_unlock(&r->lock);
    return v;
}

static void rtc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct rtc *r = opaque;
    (void)size;
    pthread_mutex_lock(&r->lock);
    if (off == 0) {
        r->index = (uint8_t)(val & 0x7f);
        r->nmi_masked = val & 0x80;
    } else {
        rtc_reg_write(r, r->index, (uint8_t)val);
    }
    pthread_mutex_unlock(&r->lock);
}

static const struct region_ops rtc_ops = {rtc_read, rtc_write};

static void rtc_teardown(void *state)
{
    struct rtc *r = state;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int rtc_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                struct dev_inst *inst)
{
    struct rtc *r = calloc(1, sizeof(*r));
    if (!r) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->ram[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
    r->ram[REG_B] = B_24H;
    inst->state = r;
    inst->teardown = rtc_teardown;
    for (size_t i = 0; i < vd->opts.n; i++) {
        const struct opt_val *o = &vd->opts.v[i];
        if (!o->def || !o->def->name || strcmp(o->def->name, "reg") != 0)
            continue;
        unsigned idx = (unsigned)(o->num & 0x7f);
        if (is_time_reg(idx) || idx == REG_C || idx == REG_D) {
            log_warn(TAG,
                     "%s:%u: reg 0x%02x: the clock follows host time and "
                     "registers C/D are read-only; preset ignored",
                     o->span.file ? o->span.file : "?", (unsigned)o->span.line,
                     idx);
            continue;
        }
        r->ram[idx] = (uint8_t)o->num2;
    }
    uint64_t base = vd->has_loc ? vd->loc.base : 0x70;
    if (vd->has_loc && vd->loc.space != SPACE_IO) {
        log_fatal(TAG, "only io: locations are supported for mc146818");
        rtc_teardown(r);
        return -1;
    }
    int e = bus_map(ctx->pio, "mc146818", base, 2, &rtc_ops, r);
    if (e < 0) {
        log_fatal(TAG, "cannot map the RTC at io 0x%llx: %s",
                  (unsigned long long)base, strerror(-e));
        rtc_teardown(r);
        return -1;
    }
    return 0;
}

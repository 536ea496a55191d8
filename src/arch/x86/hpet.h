/*
 * hpet.h: the IA-PC HPET 1.0a register block (1 KiB at `loc`), pure: time
 * is an argument (ns of CLOCK_MONOTONIC).
 *
 * Modelled: general capabilities (rev 1, NUM_TIM_CAP = ntimers-1,
 * COUNT_SIZE_CAP 64-bit, LEG_RT_CAP unless legacy-free, vendor 0x8086,
 * COUNTER_CLK_PERIOD from `frequency` in fs), general configuration
 * (ENABLE_CNF, LEG_RT_CNF), general interrupt status (level: write 1 to
 * clear), the 64-bit main counter (readable and writable while halted,
 * 32-bit halves), and per timer: Tn_INT_TYPE_CNF (edge/level), INT_ENB,
 * TYPE_CNF (periodic, if PER_INT_CAP), SIZE_CAP (64-bit) and 32BIT_MODE,
 * VAL_SET_CNF (periodic accumulator), INT_ROUTE_CNF (only the routes in
 * INT_ROUTE_CAP: qvm's routing is fixed by the configuration), FSB_EN and
 * FSB_INT_DEL_CAP (MSI: Tn_FSB_INT_ROUTE address/value), the comparator
 * with 32-bit wrap-around, one-shot and periodic. Legacy replacement:
 * timer 0 drives ISA IRQ 0's line and timer 1 ISA IRQ 8's (it wins over
 * FSB). Comparators match on equality: one written behind the counter
 * matches only after the counter wraps around (2^32 ticks for a 32-bit
 * timer), which is what Linux's set_next_event ETIME check expects.
 *
 * Interrupt outputs go through ops: set_irq(timer, level) for the routed
 * line (edge: a pulse per expiry; level: asserted until the status bit is
 * cleared), set_legacy(which 0/1, level) in legacy replacement mode,
 * msi(addr, data) for FSB delivery; arm(deadline) asks for hpet_tick at
 * the next expiry of any enabled timer.
 *
 * Context: any thread; own mutex, held while ops run.
 */
#ifndef QVM_ARCH_X86_HPET_H
#define QVM_ARCH_X86_HPET_H

#include <stdbool.h>
#include <stdint.h>

#define HPET_MMIO_SIZE  0x400
#define HPET_MAX_TIMERS 32
#define HPET_DEFAULT_HZ 14318180u /* QNX's default `frequency` */

/*
 * hpet_mmio_size: the register block of `ntimers` timers. Timer n's
 * registers are at 0x100 + 0x20 n, so the specification's 1 KiB holds 24
 * timers; timers 24-31 lie at 0x400-0x4ff and need a larger window.
 */
static inline uint64_t hpet_mmio_size(unsigned ntimers)
{
    uint64_t end = 0x100 + 0x20 * (uint64_t)ntimers;
    return end > HPET_MMIO_SIZE ? end : HPET_MMIO_SIZE;
}

struct hpet_ops {
    void (*set_irq)(void *opaque, unsigned timer, bool level);
    void (*set_legacy)(void *opaque, unsigned which, bool level);
    void (*msi)(void *opaque, uint64_t addr, uint32_t data);
    void (*arm)(void *opaque, uint64_t deadline); /* 0: nothing pending */
    /* legacy: LEG_RT_CNF changed (the glue disconnects the PIT's OUT0
     * and the RTC's IRQ 8). */
    void (*legacy)(void *opaque, bool on);
};

struct hpet_params {
    uint64_t base;       /* guest-physical address (for hpet_describe) */
    uint64_t hz;         /* main counter frequency */
    unsigned ntimers;    /* 3 by default, at most HPET_MAX_TIMERS */
    bool legacy_capable; /* LEG_RT_CAP (false for `legacy-free`) */
    uint32_t route_cap[HPET_MAX_TIMERS]; /* Tn_INT_ROUTE_CAP: IOAPIC
                                          * inputs each timer may use */
    uint8_t route[HPET_MAX_TIMERS];      /* initial Tn_INT_ROUTE_CNF */
};

struct hpet;

/*
 * What the firmware tables say about a realized HPET (its dev_desc info;
 * the ACPI HPET table of IA-PC HPET 1.0a, 3.2.4): hpet_describe.
 */
struct hpet_info {
    uint64_t base;      /* Base Address (system memory) */
    unsigned ntimers;   /* comparators (NUM_TIM_CAP + 1) */
    bool legacy_cap;    /* LEG_RT_CAP */
    uint32_t period_fs; /* COUNTER_CLK_PERIOD */
    uint16_t min_tick;  /* Main Counter Minimum Clock_tick in Periodic Mode */
    uint32_t block_id;  /* Event Timer Block ID: capabilities bits 31:0 */
    uint16_t vendor_id; /* VENDOR_ID (0x8086) */
    bool counter_64bit; /* COUNT_SIZE_CAP */
    uint64_t hz;        /* the configured main counter frequency */
};

/* hpet_period_fs: COUNTER_CLK_PERIOD for `hz` (fs, rounded to nearest);
 * 0 when it does not fit the register's 32 bits (hz below 232831). */
uint32_t hpet_period_fs(uint64_t hz);

/* hpet_new: the block after reset (counter halted at 0, every timer
 * disabled, comparators all ones). ntimers 0 means 3. NULL when p is
 * invalid (hpet_period_fs(hz) == 0, ntimers above HPET_MAX_TIMERS, a route
 * above 31) or out of memory. */
struct hpet *hpet_new(const struct hpet_params *p, const struct hpet_ops *ops,
                      void *opaque, uint64_t now);
void hpet_free(struct hpet *h);
uint64_t hpet_read(struct hpet *h, uint64_t off, unsigned size, uint64_t now);
void hpet_write(struct hpet *h, uint64_t off, uint64_t val, unsigned size,
                uint64_t now);
void hpet_tick(struct hpet *h, uint64_t now);
void hpet_describe(const struct hpet *h, struct hpet_info *out);

#endif

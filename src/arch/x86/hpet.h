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
 * timer 0 drives ISA IRQ 0's line and timer 1 ISA IRQ 8's.
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

struct hpet_ops {
    void (*set_irq)(void *opaque, unsigned timer, bool level);
    void (*set_legacy)(void *opaque, unsigned which, bool level);
    void (*msi)(void *opaque, uint64_t addr, uint32_t data);
    void (*arm)(void *opaque, uint64_t deadline); /* 0: nothing pending */
    /* legacy: LEG_RT_CNF changed (the glue disconnects the PIT's OUT0). */
    void (*legacy)(void *opaque, bool on);
};

struct hpet_params {
    uint64_t hz;         /* main counter frequency */
    unsigned ntimers;    /* 3 by default, at most HPET_MAX_TIMERS */
    bool legacy_capable; /* LEG_RT_CAP (false for `legacy-free`) */
    uint32_t route_cap[HPET_MAX_TIMERS]; /* Tn_INT_ROUTE_CAP: IOAPIC
                                          * inputs each timer may use */
    uint8_t route[HPET_MAX_TIMERS];      /* initial Tn_INT_ROUTE_CNF */
};

struct hpet;

/* What the firmware tables say about a realized HPET (its dev_desc info). */
struct hpet_info {
    uint64_t base;
    unsigned ntimers;
    bool legacy_cap;
    uint32_t period_fs;
    uint16_t min_tick;
};

struct hpet *hpet_new(const struct hpet_params *p, const struct hpet_ops *ops,
                      void *opaque, uint64_t now);
void hpet_free(struct hpet *h);
uint64_t hpet_read(struct hpet *h, uint64_t off, unsigned size, uint64_t now);
void hpet_write(struct hpet *h, uint64_t off, uint64_t val, unsigned size,
                uint64_t now);
void hpet_tick(struct hpet *h, uint64_t now);

#endif

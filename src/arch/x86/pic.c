/*
 * pic.c: the cascaded 8259A pair with the ELCR (pic.h): initialization
 * and operation command words, the priority resolver with rotation and
 * special mask mode, edge latches and level inputs, the INTA cycle and
 * poll mode (Intel 8259A datasheet, "Programming the 8259A"). Pure: the
 * master's INT output goes out through ops->intr.
 */
#include "arch/x86/pic.h"

#include <pthread.h>
#include <stdlib.h>

#define CASCADE_IR 2

/* ICW1 (A0 = 0, D4 = 1). */
#define ICW1_IC4  0x01
#define ICW1_SNGL 0x02
#define ICW1_LTIM 0x08
#define ICW1      0x10
/* ICW4. */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* OCW3 (A0 = 0, D4:D3 = 01). */
#define OCW3      0x08
#define OCW3_RIS  0x01
#define OCW3_RR   0x02
#define OCW3_P    0x04
#define OCW3_SMM  0x20
#define OCW3_ESMM 0x40
/* OCW2: R SL EOI in bits 7:5, level in bits 2:0. */
enum {
    OCW2_ROT_AEOI_CLEAR = 0,
    OCW2_NS_EOI = 1,
    OCW2_NOP = 2,
    OCW2_S_EOI = 3,
    OCW2_ROT_AEOI_SET = 4,
    OCW2_ROT_NS_EOI = 5,
    OCW2_SET_PRIO = 6,
    OCW2_ROT_S_EOI = 7,
};

/* Inputs the ELCR cannot make level-triggered: IRQ 0, 1, 2 and 8, 13. */
static const uint8_t elcr_mask[2] = {0xf8, 0xde};

enum init_state { INIT_NONE, INIT_ICW2, INIT_ICW3, INIT_ICW4 };

struct pic_chip {
    uint8_t imr;
    uint8_t isr;
    uint8_t edge_irr; /* latched rising edges of edge-triggered inputs */
    uint8_t input;    /* the inputs' levels */
    uint8_t elcr;
    uint8_t base; /* ICW2: vector of IR0 */
    uint8_t prio; /* the IR with the highest priority */
    uint8_t icw3; /* stored only */
    enum init_state init;
    bool ic4, single, ltim, aeoi, sfnm;
    bool rotate_aeoi, read_isr, poll, special_mask;
};

struct pic {
    pthread_mutex_t lock;
    const struct pic_ops *ops;
    void *opaque;
    struct pic_chip c[2];
    bool out; /* the master's INT as last reported */
};

static uint8_t level_mask(const struct pic_chip *c)
{
    return c->ltim ? 0xff : c->elcr;
}

static uint8_t chip_irr(const struct pic_chip *c)
{
    uint8_t lvl = level_mask(c);
    return (uint8_t)((c->edge_irr & ~lvl) | (c->input & lvl));
}

/* The priority rank of IR `ir`: 0 is the highest. */
static unsigned rank(const struct pic_chip *c, unsigned ir)
{
    return (ir - c->prio) & 7;
}

/* highest: the IR of the highest priority in `bits`, or -1. */
static int highest(const struct pic_chip *c, uint8_t bits)
{
    for (unsigned r = 0; r < 8; r++) {
        unsigned ir = (c->prio + r) & 7;
        if (bits & (1u << ir))
            return (int)ir;
    }
    return -1;
}

/* pending: the IR the chip would interrupt for, or -1: the highest
 * unmasked request above everything in service (special mask mode: above
 * every unmasked IR in service; special fully nested master: a slave
 * request is not blocked by the cascade being in service). None while an
 * initialization sequence is under way. */
static int pending(const struct pic_chip *c, bool master)
{
    if (c->init != INIT_NONE)
        return -1; /* no vector base yet: INT stays low */
    int ir = highest(c, chip_irr(c) & (uint8_t)~c->imr);
    if (ir < 0)
        return -1;
    uint8_t isr = c->isr;
    if (c->special_mask)
        isr &= (uint8_t)~c->imr;
    if (master && c->sfnm)
        isr &= (uint8_t) ~(1u << CASCADE_IR);
    int cur = highest(c, isr);
    if (cur >= 0 && rank(c, (unsigned)cur) <= rank(c, (unsigned)ir))
        return -1;
    return ir;
}

static void set_input(struct pic_chip *c, unsigned ir, bool level)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (level && !(c->input & bit) && !(level_mask(c) & bit))
        c->edge_irr |= bit;
    if (level)
        c->input |= bit;
    else
        c->input &= (uint8_t)~bit;
}

static bool cascaded(const struct pic *p)
{
    return !p->c[0].single;
}

/* update: feed the slave's INT to the master's IR2 and report a change of
 * the master's INT. */
static void update(struct pic *p)
{
    if (cascaded(p))
        set_input(&p->c[0], CASCADE_IR, pending(&p->c[1], false) >= 0);
    bool out = pending(&p->c[0], true) >= 0;
    if (out != p->out) {
        p->out = out;
        p->ops->intr(p->opaque, out);
    }
}

/* ack: IR `ir` is acknowledged (INTA or poll): into service (unless
 * auto-EOI), its edge latch cleared. */
static void ack(struct pic_chip *c, unsigned ir)
{
    uint8_t bit = (uint8_t)(1u << ir);
    c->edge_irr &= (uint8_t)~bit;
    if (!c->aeoi)
        c->isr |= bit;
    else if (c->rotate_aeoi)
        c->prio = (uint8_t)((ir + 1) & 7);
}

struct pic *pic_new(const struct pic_ops *ops, void *opaque)
{
    struct pic *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    p->ops = ops;
    p->opaque = opaque;
    return p;
}

void pic_free(struct pic *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static uint8_t poll_read(struct pic *p, struct pic_chip *c)
{
    c->poll = false;
    int ir = pending(c, c == &p->c[0]);
    if (ir < 0)
        return 0;
    ack(c, (unsigned)ir);
    update(p);
    return (uint8_t)(0x80 | ir);
}

uint8_t pic_read(struct pic *p, unsigned chip, unsigned off)
{
    if (chip > 1 || off > 1)
        return 0xff;
    pthread_mutex_lock(&p->lock);
    struct pic_chip *c = &p->c[chip];
    uint8_t v;
    if (c->poll)
        v = poll_read(p, c);
    else if (off == 1)
        v = c->imr;
    else
        v = c->read_isr ? c->isr : chip_irr(c);
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void write_icw1(struct pic_chip *c, uint8_t val)
{
    uint8_t input = c->input, elcr = c->elcr;
    *c = (struct pic_chip){
        .input = input,
        .elcr = elcr,
        .init = INIT_ICW2,
        .ic4 = val & ICW1_IC4,
        .single = val & ICW1_SNGL,
        .ltim = val & ICW1_LTIM,
    };
}

static void write_ocw2(struct pic_chip *c, uint8_t val)
{
    unsigned lvl = val & 7;
    int ir;
    switch (val >> 5) {
    case OCW2_ROT_AEOI_CLEAR:
        c->rotate_aeoi = false;
        break;
    case OCW2_ROT_AEOI_SET:
        c->rotate_aeoi = true;
        break;
    case OCW2_NS_EOI:
    case OCW2_ROT_NS_EOI:
        ir = highest(c, c->isr);
        if (ir < 0)
            break;
        c->isr &= (uint8_t) ~(1u << ir);
        if (val >> 5 == OCW2_ROT_NS_EOI)
            c->prio = (uint8_t)((ir + 1) & 7);
        break;
    case OCW2_S_EOI:
        c->isr &= (uint8_t) ~(1u << lvl);
        break;
    case OCW2_ROT_S_EOI:
        c->isr &= (uint8_t) ~(1u << lvl);
        c->prio = (uint8_t)((lvl + 1) & 7);
        break;
    case OCW2_SET_PRIO:
        c->prio = (uint8_t)((lvl + 1) & 7);
        break;
    default: /* OCW2_NOP */
        break;
    }
}

static void write_cmd(struct pic_chip *c, uint8_t val)
{
    if (val & ICW1) {
        write_icw1(c, val);
    } else if (val & OCW3) {
        if (val & OCW3_P)
            c->poll = true;
        if (val & OCW3_RR)
            c->read_isr = val & OCW3_RIS;
        if (val & OCW3_ESMM)
            c->special_mask = val & OCW3_SMM;
    } else {
        write_ocw2(c, val);
    }
}

static void write_data(struct pic_chip *c, uint8_t val)
{
    switch (c->init) {
    case INIT_NONE:
        c->imr = val;
        break;
    case INIT_ICW2:
        c->base = val & 0xf8;
        c->init = !c->single ? INIT_ICW3 : c->ic4 ? INIT_ICW4 : INIT_NONE;
        break;
    case INIT_ICW3:
        c->icw3 = val;
        c->init = c->ic4 ? INIT_ICW4 : INIT_NONE;
        break;
    case INIT_ICW4:
        c->aeoi = val & ICW4_AEOI;
        c->sfnm = val & ICW4_SFNM;
        c->init = INIT_NONE;
        break;
    }
}

void pic_write(struct pic *p, unsigned chip, unsigned off, uint8_t val)
{
    if (chip > 1 || off > 1)
        return;
    pthread_mutex_lock(&p->lock);
    if (off == 0)
        write_cmd(&p->c[chip], val);
    else
        write_data(&p->c[chip], val);
    update(p);
    pthread_mutex_unlock(&p->lock);
}

uint8_t pic_elcr_read(struct pic *p, unsigned chip)
{
    if (chip > 1)
        return 0xff;
    pthread_mutex_lock(&p->lock);
    uint8_t v = p->c[chip].elcr;
    pthread_mutex_unlock(&p->lock);
    return v;
}

void pic_elcr_write(struct pic *p, unsigned chip, uint8_t val)
{
    if (chip > 1)
        return;
    pthread_mutex_lock(&p->lock);
    struct pic_chip *c = &p->c[chip];
    c->elcr = val & elcr_mask[chip];
    c->edge_irr &= (uint8_t)~level_mask(c);
    update(p);
    pthread_mutex_unlock(&p->lock);
}

void pic_set_irq(struct pic *p, unsigned irq, bool level)
{
    if (irq > 15 || irq == CASCADE_IR)
        return;
    pthread_mutex_lock(&p->lock);
    set_input(&p->c[irq >> 3], irq & 7, level);
    update(p);
    pthread_mutex_unlock(&p->lock);
}

bool pic_output(struct pic *p)
{
    pthread_mutex_lock(&p->lock);
    bool out = p->out;
    pthread_mutex_unlock(&p->lock);
    return out;
}

uint8_t pic_intack(struct pic *p)
{
    pthread_mutex_lock(&p->lock);
    struct pic_chip *m = &p->c[0], *s = &p->c[1];
    int ir = pending(m, true);
    uint8_t vec;
    if (ir < 0) {
        vec = m->base + 7; /* spurious IRQ 7: nothing goes in service */
    } else if (ir == CASCADE_IR && cascaded(p)) {
        ack(m, CASCADE_IR);
        int sir = pending(s, false);
        if (sir >= 0)
            ack(s, (unsigned)sir);
        vec = (uint8_t)(s->base + (sir >= 0 ? sir : 7));
        /* The slave's INT is low during the cycle: a request still
         * pending afterwards is a new edge on the master's IR2. */
        m->input &= (uint8_t) ~(1u << CASCADE_IR);
    } else {
        ack(m, (unsigned)ir);
        vec = (uint8_t)(m->base + ir);
    }
    update(p);
    pthread_mutex_unlock(&p->lock);
    return vec;
}

/*
 * ioapic.c: the I/O APIC register model (ioapic.h): the indirect register
 * window, the redirection table, edge and level (remote IRR) delivery and
 * the EOI paths. Pure: deliveries and message changes go out through the
 * ops the platform glue supplies.
 */
#include "arch/x86/ioapic.h"

#include <pthread.h>
#include <stdlib.h>

/* Indirect registers (IOREGSEL values). */
#define REG_ID     0x00
#define REG_VER    0x01
#define REG_ARB    0x02
#define REG_REDTBL 0x10

/* MMIO offsets. */
#define MMIO_REGSEL 0x00
#define MMIO_WIN    0x10
#define MMIO_EOI    0x40

/* Redirection entry bits. */
#define RTE_VECTOR    0xffull
#define RTE_DELMODE   (7ull << 8)
#define RTE_DESTMODE  (1ull << 11)
#define RTE_DELIVS    (1ull << 12)
#define RTE_POLARITY  (1ull << 13)
#define RTE_REMOTEIRR (1ull << 14)
#define RTE_LEVEL     (1ull << 15)
#define RTE_MASK      (1ull << 16)
#define RTE_DEST      (0xffull << 56)
/* What a guest write may change; remote IRR and delivery status are the
 * chip's, bits 17-55 are reserved (read as zero). */
#define RTE_WRITABLE                                                           \
    (RTE_VECTOR | RTE_DELMODE | RTE_DESTMODE | RTE_POLARITY | RTE_LEVEL |      \
     RTE_MASK | RTE_DEST)

#define ID_SHIFT 24
#define ID_MASK  0x0fu

struct ioapic {
    pthread_mutex_t lock;
    const struct ioapic_ops *ops;
    void *opaque;
    uint32_t npins;
    uint8_t id;
    uint8_t regsel;
    uint64_t *rte;
    bool *input; /* the pins' levels (true = asserted) */
};

static struct ioapic_msg rte_msg(uint64_t e)
{
    uint64_t dest = (e & RTE_DEST) >> 56;
    uint64_t destmode = (e & RTE_DESTMODE) ? 1 : 0;
    uint32_t trig = (e & RTE_LEVEL) ? 1 : 0;
    return (struct ioapic_msg){
        .addr = 0xfee00000ull | dest << 12 | destmode << 2,
        .data =
            (uint32_t)(e & (RTE_VECTOR | RTE_DELMODE)) | 1u << 14 | trig << 15,
    };
}

/* deliver: one interrupt from pin; level entries take remote IRR. */
static void deliver(struct ioapic *io, uint32_t pin)
{
    if (io->rte[pin] & RTE_LEVEL)
        io->rte[pin] |= RTE_REMOTEIRR;
    io->ops->deliver(io->opaque, pin);
}

/* service_level: a level entry whose input is asserted delivers when it is
 * unmasked and remote IRR is clear. */
static void service_level(struct ioapic *io, uint32_t pin)
{
    uint64_t e = io->rte[pin];
    if ((e & RTE_LEVEL) && io->input[pin] && !(e & RTE_MASK) &&
        !(e & RTE_REMOTEIRR))
        deliver(io, pin);
}

struct ioapic *ioapic_new(uint8_t id, uint32_t npins,
                          const struct ioapic_ops *ops, void *opaque)
{
    if (npins == 0 || npins > IOAPIC_MAX_PINS)
        return NULL;
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io)
        return NULL;
    io->rte = calloc(npins, sizeof(*io->rte));
    io->input = calloc(npins, sizeof(*io->input));
    if (!io->rte || !io->input) {
        free(io->rte);
        free(io->input);
        free(io);
        return NULL;
    }
    pthread_mutex_init(&io->lock, NULL);
    io->ops = ops;
    io->opaque = opaque;
    io->npins = npins;
    io->id = id & ID_MASK;
    for (uint32_t i = 0; i < npins; i++)
        io->rte[i] = RTE_MASK;
    return io;
}

void ioapic_free(struct ioapic *io)
{
    if (!io)
        return;
    pthread_mutex_destroy(&io->lock);
    free(io->rte);
    free(io->input);
    free(io);
}

static uint32_t reg_read(const struct ioapic *io, uint8_t reg)
{
    switch (reg) {
    case REG_ID:
    case REG_ARB:
        return (uint32_t)io->id << ID_SHIFT;
    case REG_VER:
        return IOAPIC_VERSION | (io->npins - 1) << 16;
    default:
        break;
    }
    uint32_t pin = (uint32_t)(reg - REG_REDTBL) / 2;
    if (reg < REG_REDTBL || pin >= io->npins)
        return 0xffffffffu;
    uint64_t e = io->rte[pin];
    return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
}

static void rte_write(struct ioapic *io, uint32_t pin, bool high, uint32_t val)
{
    uint64_t old = io->rte[pin];
    uint64_t dw = high ? (uint64_t)val << 32 : val;
    uint64_t keep = high ? 0xffffffffull : 0xffffffffull << 32;
    uint64_t e =
        (old & keep) | (dw & ~keep & RTE_WRITABLE) | (old & ~RTE_WRITABLE);
    /* An edge entry has no remote IRR (Linux clears a stuck one by
     * switching the entry to edge and back). */
    if (!(e & RTE_LEVEL))
        e &= ~RTE_REMOTEIRR;
    io->rte[pin] = e;
    struct ioapic_msg om = rte_msg(old), nm = rte_msg(e);
    bool omask = old & RTE_MASK, nmask = e & RTE_MASK;
    if (om.addr != nm.addr || om.data != nm.data || omask != nmask)
        io->ops->route(io->opaque, pin, nm, nmask);
    service_level(io, pin);
}

static void reg_write(struct ioapic *io, uint8_t reg, uint32_t val)
{
    if (reg == REG_ID) {
        io->id = (uint8_t)((val >> ID_SHIFT) & ID_MASK);
        return;
    }
    uint32_t pin = (uint32_t)(reg - REG_REDTBL) / 2;
    if (reg < REG_REDTBL || pin >= io->npins)
        return; /* version, arbitration, reserved: read-only */
    rte_write(io, pin, reg & 1, val);
}

uint64_t ioapic_mmio_read(struct ioapic *io, uint64_t off, unsigned size)
{
    if (size != 4 || (off & 3))
        return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    pthread_mutex_lock(&io->lock);
    uint32_t v = 0;
    if (off == MMIO_REGSEL)
        v = io->regsel;
    else if (off == MMIO_WIN)
        v = reg_read(io, io->regsel);
    pthread_mutex_unlock(&io->lock);
    return v;
}

static void eoi_locked(struct ioapic *io, uint8_t vector)
{
    for (uint32_t pin = 0; pin < io->npins; pin++) {
        uint64_t e = io->rte[pin];
        if (!(e & RTE_REMOTEIRR) || (e & RTE_VECTOR) != vector)
            continue;
        io->rte[pin] = e & ~RTE_REMOTEIRR;
        if (io->ops->eoi && io->ops->eoi(io->opaque, pin))
            io->input[pin] = false;
        service_level(io, pin);
    }
}

void ioapic_mmio_write(struct ioapic *io, uint64_t off, uint64_t val,
                       unsigned size)
{
    if (size != 4 || (off & 3))
        return;
    pthread_mutex_lock(&io->lock);
    if (off == MMIO_REGSEL)
        io->regsel = (uint8_t)val;
    else if (off == MMIO_WIN)
        reg_write(io, io->regsel, (uint32_t)val);
    else if (off == MMIO_EOI)
        eoi_locked(io, (uint8_t)val);
    pthread_mutex_unlock(&io->lock);
}

void ioapic_set_pin(struct ioapic *io, uint32_t pin, bool level)
{
    if (pin >= io->npins)
        return;
    pthread_mutex_lock(&io->lock);
    bool was = io->input[pin];
    io->input[pin] = level;
    uint64_t e = io->rte[pin];
    if (e & RTE_LEVEL)
        service_level(io, pin);
    else if (level && !was && !(e & RTE_MASK))
        deliver(io, pin);
    pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    pthread_mutex_lock(&io->lock);
    eoi_locked(io, vector);
    pthread_mutex_unlock(&io->lock);
}

bool ioapic_entry(struct ioapic *io, uint32_t pin, struct ioapic_msg *msg,
                  bool *masked, bool *level)
{
    if (pin >= io->npins)
        return false;
    pthread_mutex_lock(&io->lock);
    uint64_t e = io->rte[pin];
    pthread_mutex_unlock(&io->lock);
    if (msg)
        *msg = rte_msg(e);
    if (masked)
        *masked = e & RTE_MASK;
    if (level)
        *level = e & RTE_LEVEL;
    return true;
}

uint32_t ioapic_npins(const struct ioapic *io)
{
    return io->npins;
}

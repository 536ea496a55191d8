/*
 * gic.h: what the interrupt-taking aarch64 guests (gic.c, smp.c) share:
 * MMIO with plain LDR/STR (an access KVM can decode), a small reader of
 * the device tree qvm passes in x0, the GICv3 as a guest driver programs
 * it (distributor, the redistributor of the calling vCPU found by its
 * GICR_TYPER affinity, the CPU interface's system registers) and the
 * race-free way to wait for an interrupt (mask, test, WFI, unmask).
 * Linked with irqvec.S (the vectors, secondary_entry).
 */
#ifndef QVM_GUEST_ARM64_GIC_H
#define QVM_GUEST_ARM64_GIC_H

#include "guest.h"

/* GICv3 distributor registers */
#define GICD_CTLR      0x0000
#define GICD_TYPER     0x0004
#define GICD_IGROUPR   0x0080
#define GICD_ISENABLER 0x0100
#define GICD_IPRIORITY 0x0400
#define GICD_ICFGR     0x0c00
#define GICD_IROUTER   0x6000
#define GICD_CTLR_RWP  (1u << 31)
/* redistributor: RD_base, then SGI_base 64K above */
#define GICR_TYPER      0x0008
#define GICR_WAKER      0x0014
#define GICR_SGI        0x10000
#define GICR_STRIDE     0x20000
#define GICR_TYPER_LAST (1u << 4)

/* The CPU interface (op0 3, op1 0, CRn 12 or 4). */
#define ICC_PMR_EL1     "S3_0_C4_C6_0"
#define ICC_IAR1_EL1    "S3_0_C12_C12_0"
#define ICC_EOIR1_EL1   "S3_0_C12_C12_1"
#define ICC_BPR1_EL1    "S3_0_C12_C12_3"
#define ICC_SRE_EL1     "S3_0_C12_C12_5"
#define ICC_IGRPEN1_EL1 "S3_0_C12_C12_7"
#define RD_SYS(r, v)    __asm__ volatile("mrs %0, " r : "=r"(v))
#define WR_SYS(r, v)    __asm__ volatile("msr " r ", %0; isb" : : "r"(v))

#define PSCI_CPU_OFF       0x84000002u
#define PSCI_CPU_ON        0xc4000003u
#define PSCI_AFFINITY_INFO 0xc4000004u

extern char irq_vectors[];
extern char secondary_entry[];
int main(uint64_t x0);
void irq(void);
void exception(uint64_t esr, uint64_t far, uint64_t elr, uint64_t off);
void secondary_main(uint64_t ctx);

static inline uint64_t mpidr(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(v));
    return v & 0xff00ffffffull;
}

static inline void putdec(uint64_t v)
{
    char b[21];
    int i = 20;
    b[i] = 0;
    do
        b[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 0);
    puts_(b + i);
}

/* ---- the device tree ---------------------------------------------------- */

static inline uint32_t be32(const volatile uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static inline int prefix(const volatile uint8_t *s, const char *p)
{
    for (; *p; p++, s++)
        if (*s != (uint8_t)*p)
            return 0;
    return 1;
}

static inline int same(const volatile uint8_t *s, const char *p)
{
    for (; *p; p++, s++)
        if (*s != (uint8_t)*p)
            return 0;
    return *s == 0;
}

/*
 * fdt_prop: the property `prop` of the nth node (0: the first) whose name
 * begins with `node` (any depth); its length in *len. NULL when the tree,
 * the node or the property is not there.
 */
static inline const volatile uint8_t *fdt_prop(uint64_t fdt, const char *node,
                                               unsigned nth, const char *prop,
                                               uint32_t *len)
{
    const volatile uint8_t *f = (const volatile uint8_t *)fdt;
    if (!fdt || be32(f) != 0xd00dfeedu)
        return 0;
    const volatile uint8_t *st = f + be32(f + 8), *str = f + be32(f + 12);
    uint32_t size = be32(f + 36), off = 0;
    int depth = 0, in = -1; /* the depth of the matching node */
    while (off + 4 <= size) {
        uint32_t tok = be32(st + off);
        off += 4;
        if (tok == 1) { /* FDT_BEGIN_NODE */
            const volatile uint8_t *name = st + off;
            uint32_t n = 0;
            while (name[n])
                n++;
            off += (n + 4) & ~3u;
            depth++;
            if (in < 0 && prefix(name, node) && nth-- == 0)
                in = depth;
        } else if (tok == 2) { /* FDT_END_NODE */
            if (in == depth)
                return 0;
            depth--;
        } else if (tok == 3) { /* FDT_PROP */
            uint32_t l = be32(st + off), nameoff = be32(st + off + 4);
            if (in == depth && same(str + nameoff, prop)) {
                *len = l;
                return st + off + 8;
            }
            off += 8 + ((l + 3) & ~3u);
        } else if (tok != 4) { /* FDT_END or garbage; FDT_NOP goes on */
            break;
        }
    }
    return 0;
}

/* The INTID of the nth interrupt specifier (GIC: type, number, flags) of
 * a node; 0 if it has none. */
static inline uint32_t fdt_intid(uint64_t fdt, const char *node, unsigned nth)
{
    uint32_t len = 0;
    const volatile uint8_t *p = fdt_prop(fdt, node, 0, "interrupts", &len);
    if (!p || len < 12 * (nth + 1))
        return 0;
    p += 12 * nth;
    return be32(p + 4) + (be32(p) == 1 ? 16 : 32); /* PPI : SPI */
}

/* ---- the GICv3 ---------------------------------------------------------- */

#define GICD 0x2f000000ul /* vdev gic's defaults (src/arch/arm64/gic.c) */
#define GICR 0x2f100000ul

/* The redistributor whose GICR_TYPER affinity is the caller's MPIDR, 0 if
 * none (walking the frames up to the one marked Last). */
static inline uintptr_t gicr_mine(unsigned *index, int *last)
{
    uint64_t me = mpidr();
    uint32_t aff = (uint32_t)((me & 0xffffff) | (me >> 32 & 0xff) << 24);
    for (unsigned i = 0; i < 64; i++) {
        uintptr_t r = GICR + GICR_STRIDE * i;
        uint64_t t = rd64(r + GICR_TYPER);
        if ((uint32_t)(t >> 32) == aff) {
            *index = i;
            *last = (t & GICR_TYPER_LAST) != 0;
            return r;
        }
        if (t & GICR_TYPER_LAST)
            break;
    }
    return 0;
}

/* Wake the caller's redistributor; its CPU interface: system registers,
 * every priority let through, group 1 on. Returns ICC_SRE_EL1. */
static inline uint64_t gic_cpu_init(uintptr_t rd)
{
    wr32(rd + GICR_WAKER, rd32(rd + GICR_WAKER) & ~2u); /* ProcessorSleep */
    for (int i = 0; i < 1000000 && (rd32(rd + GICR_WAKER) & 4); i++)
        ; /* ChildrenAsleep */
    uint64_t sre;
    RD_SYS(ICC_SRE_EL1, sre);
    WR_SYS(ICC_SRE_EL1, sre | 1);
    RD_SYS(ICC_SRE_EL1, sre);
    WR_SYS(ICC_PMR_EL1, (uint64_t)0xff);
    WR_SYS(ICC_BPR1_EL1, (uint64_t)0);
    WR_SYS(ICC_IGRPEN1_EL1, (uint64_t)1);
    return sre;
}

/* A PPI (or SGI) of the caller's redistributor: group 1, priority 0xa0,
 * enabled. */
static inline void gic_ppi_enable(uintptr_t rd, uint32_t intid)
{
    uintptr_t sgi = rd + GICR_SGI;
    wr32(sgi + GICD_IGROUPR, rd32(sgi + GICD_IGROUPR) | 1u << intid);
    uintptr_t p = sgi + GICD_IPRIORITY + (intid & ~3u);
    wr32(p, (rd32(p) & ~(0xffu << 8 * (intid % 4))) | 0xa0u << 8 * (intid % 4));
    wr32(sgi + GICD_ISENABLER, 1u << intid);
}

/* The distributor on, affinity routing (ARE), group 1. */
static inline void gicd_init(void)
{
    wr32(GICD + GICD_CTLR, 0x12); /* ARE_NS | EnableGrp1 */
    for (int i = 0; i < 1000000 && (rd32(GICD + GICD_CTLR) & GICD_CTLR_RWP);
         i++)
        ;
}

/* An SPI: group 1, priority 0xa0, level-sensitive, routed to the vCPU of
 * MPIDR `aff`, enabled. */
static inline void gic_spi_enable(uint32_t intid, uint64_t aff)
{
    uintptr_t w = 4 * (intid / 32);
    wr32(GICD + GICD_IGROUPR + w,
         rd32(GICD + GICD_IGROUPR + w) | 1u << (intid % 32));
    uintptr_t p = GICD + GICD_IPRIORITY + (intid & ~3u);
    wr32(p, (rd32(p) & ~(0xffu << 8 * (intid % 4))) | 0xa0u << 8 * (intid % 4));
    uintptr_t c = GICD + GICD_ICFGR + 4 * (intid / 16);
    wr32(c, rd32(c) & ~(3u << 2 * (intid % 16)));
    wr64(GICD + GICD_IROUTER + 8 * (uintptr_t)intid, aff);
    wr32(GICD + GICD_ISENABLER + w, 1u << (intid % 32));
}

static inline uint32_t gic_ack(void)
{
    uint64_t v;
    RD_SYS(ICC_IAR1_EL1, v);
    return (uint32_t)v & 0xffffff;
}

static inline void gic_eoi(uint32_t intid)
{
    WR_SYS(ICC_EOIR1_EL1, (uint64_t)intid);
}

static inline void irqs_on(void)
{
    __asm__ volatile("msr daifclr, #2; isb" ::: "memory");
}

static inline void irqs_off(void)
{
    __asm__ volatile("msr daifset, #2" ::: "memory");
}

/* Sleep until *flag reaches `want` (or more): the test with IRQs masked,
 * then WFI (a pending interrupt wakes it even masked), then unmask to
 * take it. Returns how many times it slept. */
static inline uint64_t wait_irq_until(volatile unsigned *flag, unsigned want)
{
    uint64_t sleeps = 0;
    for (;;) {
        irqs_off();
        if (*flag >= want)
            break;
        __asm__ volatile("wfi");
        sleeps++;
        irqs_on();
    }
    irqs_on();
    return sleeps;
}

#endif

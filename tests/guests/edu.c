/*
 * edu.c: the pass-through guest (tests/vm/cases/vfio-edu.sh): drives QEMU's
 * edu teaching device (PCI 1234:11e8, QEMU's docs/specs/edu.rst) that qvm
 * passes through with VFIO (`pass loc pci:0x1234/0x11e8`) in the IOMMU lab.
 * Steps, each printing one "edu: ..." line:
 *   1. finds 1234:11e8 on bus 0, its BAR0 (memory decode and bus master on);
 *   2. the ID register (0x010000ed) and the liveness register (inverse);
 *      1000 reads of the ID (none exits when qvm maps BAR0 into the
 *      guest: the case checks qvm's count); BAR0 moved (the ID at the new
 *      address, all ones at the old one and with memory decode off) and
 *      back;
 *   3. a factorial, polled (10! = 3628800);
 *   4. INTx: a factorial with "raise an interrupt when done"; the handler
 *      (IOAPIC line from configuration register 0x3c, level-triggered)
 *      reads the interrupt status, acknowledges it, counts;
 *   4b. Interrupt Disable: a raised interrupt is not delivered while the
 *      command register's bit 10 is set, and is once it is cleared;
 *   5. DMA: 2 KiB from guest RAM to edu's buffer and back to another
 *      place in guest RAM, each with a completion interrupt; intact;
 *   6. MSI: the capability found in the list, pointed at the local APIC,
 *      enabled (the IOAPIC line masked); a raised interrupt and a
 *      factorial's each arrive at the MSI handler, none at INTx's;
 *   7. a DMA from an address outside guest RAM (the IOMMU has nothing
 *      there): edu's buffer is read back; it must not hold anything but
 *      zeros, all ones or what it held before. Then a DMA from edu to an
 *      address outside guest RAM (it must not reach anything).
 * Ends with "edu: done" and powers off, or "edu: FAIL ..." and powers off.
 * QEMU 7.2's edu aborts on a DMA of exactly 4096 bytes: 2 KiB here.
 */
#include "guest.h"
#include "uart_irq.h"

#define VEC_INTX 0x40
#define VEC_MSI  0x41
#define EDU_ID   0x010000edu
#define DMA_BUF  0x40000u /* edu's buffer, in its DMA address space */
#define DMA_LEN  2048u
#define RAM_SRC  0x200000u
#define RAM_DST  0x300000u
#define OUTSIDE  0x0f000000u /* 240 MiB: no guest RAM (32 MiB configured) */

void guest_main(uint32_t magic, uint32_t info);
void intx_isr_c(void);
void msi_isr_c(void);
extern char isr_intx[], isr_msi[];

__asm__(".text\n"
        ".globl isr_intx\n"
        "isr_intx:\n"
        "    pusha\n"
        "    cld\n"
        "    call intx_isr_c\n"
        "    popa\n" IRET_BY_HAND ".globl isr_msi\n"
        "isr_msi:\n"
        "    pusha\n"
        "    cld\n"
        "    call msi_isr_c\n"
        "    popa\n" IRET_BY_HAND);

static volatile uint32_t *edu;
static volatile uint32_t n_intx, n_msi, why_intx, why_msi;

void uart_isr_c(void)
{
}

static uint32_t ack(void)
{
    uint32_t why = edu[0x24 / 4];
    edu[0x64 / 4] = why;
    return why;
}

void intx_isr_c(void)
{
    why_intx |= ack();
    n_intx++;
    mmio_w(LAPIC + 0xb0, 0);
}

void msi_isr_c(void)
{
    why_msi |= ack();
    n_msi++;
    mmio_w(LAPIC + 0xb0, 0);
}

static void fail(const char *what, uint32_t v)
{
    guest_fail("edu", what, v);
}

/* wait_count: interrupts on until *c passes `seen` (bounded: the case's
 * timeout is the real limit). */
static int wait_count(volatile uint32_t *c, uint32_t seen)
{
    for (uint32_t i = 0; i < 100000 && *c == seen; i++)
        sti_wait(c, seen + 1, 100000);
    return *c != seen;
}

/* wait_reason: until an interrupt counted in *c brought `bit` in *why (an
 * INTx taken again after its handler acknowledged the device, a
 * spurious one, has no reason: it does not count). */
static int wait_reason(volatile uint32_t *c, volatile uint32_t *why,
                       uint32_t bit)
{
    for (uint32_t k = 0; k < 16 && !(*why & bit); k++)
        if (!wait_count(c, *c))
            break;
    return (*why & bit) != 0;
}

static void factorial_polled(uint32_t n, uint32_t want)
{
    edu[0x08 / 4] = n;
    uint32_t i = 0;
    while (edu[0x20 / 4] & 1)
        if (++i == 10000000)
            fail("factorial never finished, status", edu[0x20 / 4]);
    uint32_t got = edu[0x08 / 4];
    if (got != want)
        fail("factorial", got);
}

/* dma: one transfer with a completion interrupt, counted in *c. */
static void dma(uint32_t src, uint32_t dst, uint32_t to_ram,
                volatile uint32_t *c, volatile uint32_t *why)
{
    *why = 0;
    edu[0x80 / 4] = src;
    edu[0x84 / 4] = 0;
    edu[0x88 / 4] = dst;
    edu[0x8c / 4] = 0;
    edu[0x90 / 4] = DMA_LEN;
    edu[0x94 / 4] = 0;
    edu[0x98 / 4] = 1u | (to_ram ? 2u : 0u) | 4u;
    if (!wait_reason(c, why, 0x100))
        fail("no DMA completion interrupt, reasons seen", *why);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    serial_init();
    unsigned dev;
    for (dev = 1; dev < 32; dev++)
        if (pci_cfg_r(dev, 0) == 0x11e81234u)
            break;
    if (dev == 32)
        fail("no PCI function 1234:11e8 on bus 0", 0);
    uint32_t bar = pci_cfg_r(dev, 0x10);
    if (bar & 1)
        fail("BAR0 is not a memory BAR", bar);
    edu = (volatile uint32_t *)(bar & ~0xfu);
    pci_cfg_w(dev, 4, pci_cfg_r(dev, 4) | 6); /* memory decode, bus master */
    serial_puts("edu: found at device ");
    serial_putdec(dev);
    serial_puts(" of bus 0, BAR0 ");
    serial_puthex(bar & ~0xfu);
    serial_puts("\n");

    /* edu has no reset: what an earlier guest left (interrupt on
     * factorial, raised reasons) is cleared first. */
    edu[0x20 / 4] = 0;
    edu[0x64 / 4] = edu[0x24 / 4];

    uint32_t id = edu[0];
    if (id != EDU_ID)
        fail("ID register", id);
    edu[1] = 0x12345678u;
    if (edu[1] != ~0x12345678u)
        fail("liveness register", edu[1]);
    serial_puts("edu: ID ");
    serial_puthex(id);
    serial_puts(", liveness ok\n");

    /* 1000 reads of the ID register: none exits where qvm maps BAR0 into
     * the guest (the case reads qvm's count of trapped BAR accesses). */
    for (uint32_t i = 0; i < 1000; i++)
        if (edu[0] != EDU_ID)
            fail("ID register in 1000 reads", i);
    serial_puts("edu: 1000 reads of the ID register\n");

    /* BAR0 moved 16 MiB up: the ID there, all ones at the old address;
     * with memory decode off, all ones at the new one; then back. */
    uint32_t base0 = bar & ~0xfu, moved = base0 + 0x1000000u;
    volatile uint32_t *edu2 = (volatile uint32_t *)moved;
    uint32_t cmd0 = pci_cfg_r(dev, 4) & 0xffff;
    pci_cfg_w(dev, 0x10, moved);
    if (edu2[0] != EDU_ID)
        fail("ID register at the moved BAR0", edu2[0]);
    if (edu[0] != 0xffffffffu)
        fail("the old BAR0 address still decodes", edu[0]);
    pci_cfg_w(dev, 4, cmd0 & ~2u);
    if (edu2[0] != 0xffffffffu)
        fail("BAR0 decodes with memory decode off", edu2[0]);
    pci_cfg_w(dev, 4, cmd0);
    if (edu2[0] != EDU_ID)
        fail("ID register with memory decode on again", edu2[0]);
    pci_cfg_w(dev, 0x10, base0);
    if (edu[0] != EDU_ID || edu2[0] != 0xffffffffu)
        fail("ID register at BAR0 moved back", edu[0]);
    serial_puts("edu: BAR0 moved: the ID at the new address, all ones at "
                "the old one and with memory decode off\n");

    factorial_polled(10, 3628800);
    serial_puts("edu: factorial 10! = 3628800 (polled)\n");

    /* INTx through the IOAPIC. */
    uint32_t line = pci_cfg_r(dev, 0x3c) & 0xff;
    uint16_t cs = idt_begin(isr_default, isr_default);
    set_gate(VEC_INTX, isr_intx, cs);
    set_gate(VEC_MSI, isr_msi, cs);
    idt_load();
    mmio_w(LAPIC + 0xf0, 0x1ff); /* APIC on */
    ioapic_w(0x11 + 2 * line, 0);
    ioapic_w(0x10 + 2 * line, VEC_INTX | 1u << 15); /* level, active high */
    edu[0x20 / 4] = 0x80; /* interrupt when a factorial is done */
    edu[0x08 / 4] = 5;
    if (!wait_reason(&n_intx, &why_intx, 1))
        fail("no INTx interrupt, interrupt status", edu[0x24 / 4]);
    if (edu[0x08 / 4] != 120)
        fail("INTx: factorial", edu[0x08 / 4]);
    serial_puts("edu: INTx: IOAPIC line ");
    serial_putdec(line);
    serial_puts(", factorial 5! = 120 interrupt delivered\n");

    /* Interrupt Disable (command bit 10): a raised interrupt is held
     * while it is set and delivered once it is cleared. An interrupt
     * already on its way when the bit is set may still come (PCI allows
     * it; with qvm's own INTx path, VFIO's host line is unmasked at the
     * ISR's status read, before its acknowledge, and can fire once more,
     * as under QEMU's): taken here, before the raise, it is not counted. */
    uint32_t cmd = pci_cfg_r(dev, 4) & 0xffff;
    pci_cfg_w(dev, 4, cmd | 0x400);
    sti_quiet(200000);
    why_intx = 0;
    uint32_t held = n_intx;
    edu[0x60 / 4] = 0x8; /* raise */
    sti_quiet(200000);
    held = n_intx - held;
    pci_cfg_w(dev, 4, cmd);
    if (!wait_reason(&n_intx, &why_intx, 8))
        fail("no INTx once Interrupt Disable was cleared, status",
             edu[0x24 / 4]);
    if (held)
        fail("INTx while Interrupt Disable was set, interrupts", held);
    serial_puts("edu: INTx: held while Interrupt Disable was set, delivered "
                "when cleared\n");

    /* DMA guest RAM -> edu -> guest RAM. */
    volatile uint8_t *src = (volatile uint8_t *)RAM_SRC;
    volatile uint8_t *dst = (volatile uint8_t *)RAM_DST;
    for (uint32_t i = 0; i < DMA_LEN; i++) {
        src[i] = (uint8_t)(i * 7 + 3);
        dst[i] = 0;
    }
    dma(RAM_SRC, DMA_BUF, 0, &n_intx, &why_intx);
    dma(DMA_BUF, RAM_DST, 1, &n_intx, &why_intx);
    for (uint32_t i = 0; i < DMA_LEN; i++)
        if (dst[i] != (uint8_t)(i * 7 + 3))
            fail("DMA data differs at byte", i);
    serial_puts("edu: DMA: 2048 bytes to the device and back intact\n");

    /* MSI. */
    uint32_t cap = pci_cfg_r(dev, 0x34) & 0xfc;
    while (cap && (pci_cfg_r(dev, cap) & 0xff) != 0x05)
        cap = (pci_cfg_r(dev, cap) >> 8) & 0xfc;
    if (!cap)
        fail("no MSI capability", pci_cfg_r(dev, 0x34));
    uint32_t ctl = pci_cfg_r(dev, cap) >> 16;
    pci_cfg_w(dev, cap + 4, LAPIC); /* destination: APIC 0 */
    unsigned data_off = 8;
    if (ctl & 0x80) {
        pci_cfg_w(dev, cap + 8, 0);
        data_off = 12;
    }
    pci_cfg_w(dev, cap + data_off, VEC_MSI); /* fixed, edge */
    pci_cfg_w(dev, cap, (pci_cfg_r(dev, cap) & 0xffffu) | (ctl | 1u) << 16);
    ioapic_w(0x10 + 2 * line, 1u << 16); /* INTx masked */
    uint32_t intx_before = n_intx;
    why_msi = 0;
    edu[0x60 / 4] = 0x4; /* raise */
    if (!wait_reason(&n_msi, &why_msi, 4))
        fail("no MSI for a raised interrupt, reason", why_msi);
    why_msi = 0;
    edu[0x08 / 4] = 6;
    if (!wait_reason(&n_msi, &why_msi, 1) || edu[0x08 / 4] != 720)
        fail("no MSI for a factorial, reason", why_msi);
    if (n_intx != intx_before)
        fail("INTx while MSI is on", n_intx - intx_before);
    serial_puts(
        "edu: MSI: raised and factorial 6! = 720 interrupts delivered\n");

    /* DMA outside guest RAM: the IOMMU stops it. */
    dma(OUTSIDE, DMA_BUF, 0, &n_msi, &why_msi);
    for (uint32_t i = 0; i < DMA_LEN; i++)
        dst[i] = 0x5a;
    dma(DMA_BUF, RAM_DST, 1, &n_msi, &why_msi);
    uint32_t zeros = 0, ones = 0, old = 0;
    for (uint32_t i = 0; i < DMA_LEN; i++) {
        zeros += dst[i] == 0;
        ones += dst[i] == 0xff;
        old += dst[i] == (uint8_t)(i * 7 + 3);
    }
    if (zeros != DMA_LEN && ones != DMA_LEN && old != DMA_LEN)
        fail("a DMA from outside guest RAM brought data; zero bytes", zeros);
    serial_puts("edu: DMA from outside guest RAM: nothing came (");
    serial_puts(zeros == DMA_LEN  ? "zeros"
                : ones == DMA_LEN ? "all ones"
                                  : "the buffer unchanged");
    serial_puts(")\n");
    dma(DMA_BUF, OUTSIDE, 1, &n_msi, &why_msi);
    serial_puts("edu: DMA to outside guest RAM: completed, the guest lives\n");
    serial_puts("edu: done\n");
    poweroff();
}

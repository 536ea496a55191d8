/*
 * pl011.h: the ARM PrimeCell UART (PL011, TRM r1p5) as a pure register
 * model, driven by explicit calls (pl011_regs.c; no locks, no host I/O),
 * and its bus glue (pl011.c: `vdev pl011` on the MMIO bus, the host end
 * through devices/chardev.h).
 *
 * Registers (offset): 0x000 DR, 0x004 RSR/ECR, 0x018 FR, 0x020 ILPR,
 * 0x024 IBRD, 0x028 FBRD, 0x02c LCR_H, 0x030 CR, 0x034 IFLS, 0x038 IMSC,
 * 0x03c RIS, 0x040 MIS, 0x044 ICR, 0x048 DMACR (reads 0: no DMA), and the
 * PrimeCell identification at 0xfe0-0xffc (PeriphID 0x00341011: part
 * 0x011, designer ARM 0x41, revision 3 = r1p5; CellID 0xb105f00d), which
 * Linux's AMBA bus reads to bind amba-pl011 (it masks the revision).
 *
 * FIFOs: 16 deep each with LCR_H.FEN, else 1-character holding registers.
 * The receive FIFO keeps each character's error bits (DR 11:8). The
 * transmit FIFO holds what the host end has not taken yet (its output
 * buffer is full): FR.TXFF then makes the guest wait instead of losing
 * output, FR.BUSY is set while it holds anything.
 *
 * Interrupts (RIS bits, the TRM's conditions):
 *   RX  the receive FIFO reaches the IFLS level (1/8 .. 7/8 of 16; one
 *       character without FIFOs); cleared when reading drops it below
 *   RT  receive timeout: qvm delivers host input in bursts, so "32 bit
 *       periods without new data" is the end of a burst (pl011_rx_idle)
 *       or a DR read that leaves characters behind; cleared when the FIFO
 *       empties
 *   TX  the transmit FIFO passes from above the IFLS level to at or below
 *       it (without FIFOs: the holding register empties). As on the
 *       hardware it is a transition, not a level: enabling TXIM on an
 *       empty FIFO raises nothing
 *   OE  a character arrived with the receive FIFO full (loopback only:
 *       host input is flow-controlled)
 *   modem (RI, CTS, DCD, DSR): a change of those inputs (loopback only;
 *       otherwise CTS, DSR and DCD are steadily asserted)
 * All bits clear by ICR; the interrupt line is MIS = RIS & IMSC != 0.
 *
 * CR.UARTEN/TXE/RXE do not gate data: `earlycon=pl011` writes to a UART
 * that no firmware enabled (QEMU does the same). CR.LBE loops transmitted
 * characters back into the receive FIFO.
 */
#ifndef QVM_DEVICES_PL011_H
#define QVM_DEVICES_PL011_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL011_FIFO 16
#define PL011_SIZE 0x1000 /* the window */

/* Register offsets. */
#define PL011_DR      0x000
#define PL011_RSR     0x004
#define PL011_FR      0x018
#define PL011_ILPR    0x020
#define PL011_IBRD    0x024
#define PL011_FBRD    0x028
#define PL011_LCR_H   0x02c
#define PL011_CR      0x030
#define PL011_IFLS    0x034
#define PL011_IMSC    0x038
#define PL011_RIS     0x03c
#define PL011_MIS     0x040
#define PL011_ICR     0x044
#define PL011_DMACR   0x048
#define PL011_PERIPH0 0xfe0
#define PL011_CELL0   0xff0

/* DR error bits, RSR bits. */
#define PL011_DR_FE  (1u << 8)
#define PL011_DR_PE  (1u << 9)
#define PL011_DR_BE  (1u << 10)
#define PL011_DR_OE  (1u << 11)
#define PL011_RSR_OE (1u << 3)
/* FR */
#define PL011_FR_CTS  (1u << 0)
#define PL011_FR_DSR  (1u << 1)
#define PL011_FR_DCD  (1u << 2)
#define PL011_FR_BUSY (1u << 3)
#define PL011_FR_RXFE (1u << 4)
#define PL011_FR_TXFF (1u << 5)
#define PL011_FR_RXFF (1u << 6)
#define PL011_FR_TXFE (1u << 7)
#define PL011_FR_RI   (1u << 8)
/* LCR_H */
#define PL011_LCRH_FEN (1u << 4)
/* CR */
#define PL011_CR_UARTEN (1u << 0)
#define PL011_CR_LBE    (1u << 7)
#define PL011_CR_TXE    (1u << 8)
#define PL011_CR_RXE    (1u << 9)
#define PL011_CR_DTR    (1u << 10)
#define PL011_CR_RTS    (1u << 11)
#define PL011_CR_OUT1   (1u << 12)
#define PL011_CR_OUT2   (1u << 13)
/* IMSC / RIS / MIS / ICR */
#define PL011_INT_RI  (1u << 0)
#define PL011_INT_CTS (1u << 1)
#define PL011_INT_DCD (1u << 2)
#define PL011_INT_DSR (1u << 3)
#define PL011_INT_RX  (1u << 4)
#define PL011_INT_TX  (1u << 5)
#define PL011_INT_RT  (1u << 6)
#define PL011_INT_FE  (1u << 7)
#define PL011_INT_PE  (1u << 8)
#define PL011_INT_BE  (1u << 9)
#define PL011_INT_OE  (1u << 10)
#define PL011_INT_ALL 0x7ffu

#define PL011_PERIPHID 0x00341011u
#define PL011_CELLID   0xb105f00du

struct pl011 {
    uint16_t rx[PL011_FIFO]; /* character | DR error bits */
    unsigned rx_head, rx_n;
    uint8_t tx[PL011_FIFO];
    unsigned tx_head, tx_n;
    uint16_t rsr, ibrd, fbrd, lcr_h, cr, ifls, imsc, ris;
    uint8_t ilpr;
};

/* pl011_reset: the TRM's reset values (CR 0x300, IFLS 0x12, FIFOs off). */
void pl011_reset(struct pl011 *p);
/*
 * pl011_read / pl011_write: a guest access to the 32-bit register at
 * `off` (a multiple of 4 below PL011_SIZE), with its side effects (a DR
 * read pops the receive FIFO, a DR write pushes the transmit FIFO or, in
 * loopback, the receive FIFO). Unknown offsets read 0, writes to them and
 * to read-only registers are ignored.
 */
uint32_t pl011_read(struct pl011 *p, uint32_t off);
void pl011_write(struct pl011 *p, uint32_t off, uint32_t val);

/* pl011_rx_room: how many characters the receive FIFO takes now (0 in
 * loopback: the transmitter owns the receiver's input). */
unsigned pl011_rx_room(const struct pl011 *p);
/* pl011_rx_push: one character of host input; a full FIFO overruns. */
void pl011_rx_push(struct pl011 *p, uint8_t c);
/* pl011_rx_idle: the end of a burst of input: a receive timeout when
 * characters are waiting. */
void pl011_rx_idle(struct pl011 *p);

/* pl011_tx_peek: the transmit FIFO's oldest bytes, contiguous (up to the
 * ring's wrap); returns how many (0: empty). */
size_t pl011_tx_peek(const struct pl011 *p, const uint8_t **bytes);
/* pl011_tx_done: the host end took the n oldest bytes (the TX interrupt
 * when the FIFO passes through its level). */
void pl011_tx_done(struct pl011 *p, size_t n);

/* pl011_fifo_en: LCR_H.FEN. pl011_loopback: CR.LBE. */
static inline bool pl011_fifo_en(const struct pl011 *p)
{
    return p->lcr_h & PL011_LCRH_FEN;
}
static inline bool pl011_loopback(const struct pl011 *p)
{
    return p->cr & PL011_CR_LBE;
}
/* pl011_irq: the combined interrupt output (MIS != 0). */
static inline bool pl011_irq(const struct pl011 *p)
{
    return (p->ris & p->imsc) != 0;
}

#endif

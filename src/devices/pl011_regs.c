/*
 * pl011_regs.c: the PL011's registers, FIFOs and interrupt conditions as a
 * pure model (devices/pl011.h); pl011.c puts it on the bus.
 */
#include <string.h>

#include "devices/pl011.h"

/* IFLS level fractions (1/8, 1/4, 1/2, 3/4, 7/8) of a 16-deep FIFO; the
 * reserved encodings 5-7 act as 7/8. */
static unsigned ifls_level(unsigned sel)
{
    static const unsigned lv[5] = {2, 4, 8, 12, 14};
    return lv[sel < 5 ? sel : 4];
}

static unsigned cap(const struct pl011 *p)
{
    return pl011_fifo_en(p) ? PL011_FIFO : 1;
}

static unsigned rx_level(const struct pl011 *p)
{
    return pl011_fifo_en(p) ? ifls_level((p->ifls >> 3) & 7) : 1;
}

/* The TX interrupt fires when characters leave the transmitter and leave
 * it at or below this level (without FIFOs: the holding register
 * empties). The PL011 asserts it on the pass through the level; qvm's
 * transmitter sends at once, so a FIFO never fills past the level while
 * the guest writes and a guest that waits for the interrupt after filling
 * it would wait for ever: every departure that ends at or below the level
 * counts (as QEMU's PL011 does). Enabling TXIM on an idle transmitter
 * still raises nothing. */
static unsigned tx_level(const struct pl011 *p)
{
    return pl011_fifo_en(p) ? ifls_level(p->ifls & 7) : 0;
}

/* Modem inputs as FR bits: steadily asserted, or in loopback the
 * outputs (RTS->CTS, DTR->DSR, Out1->DCD, Out2->RI). */
static uint16_t modem(const struct pl011 *p)
{
    if (!pl011_loopback(p))
        return PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD;
    uint16_t c = p->cr, m = 0;
    m |= c & PL011_CR_RTS ? PL011_FR_CTS : 0;
    m |= c & PL011_CR_DTR ? PL011_FR_DSR : 0;
    m |= c & PL011_CR_OUT1 ? PL011_FR_DCD : 0;
    m |= c & PL011_CR_OUT2 ? PL011_FR_RI : 0;
    return m;
}

void pl011_reset(struct pl011 *p)
{
    memset(p, 0, sizeof(*p));
    p->cr = PL011_CR_TXE | PL011_CR_RXE;
    p->ifls = 0x12;
}

unsigned pl011_rx_room(const struct pl011 *p)
{
    if (pl011_loopback(p) || p->rx_n >= cap(p))
        return 0;
    return cap(p) - p->rx_n;
}

static void rx_in(struct pl011 *p, uint16_t c)
{
    if (p->rx_n >= cap(p)) {
        /* Overrun: the character is lost; the newest one in the FIFO
         * carries OE, as the TRM's DR.OE "receive FIFO already full". */
        p->rsr |= PL011_RSR_OE;
        p->ris |= PL011_INT_OE;
        unsigned last = (p->rx_head + p->rx_n - 1) % PL011_FIFO;
        p->rx[last] |= PL011_DR_OE;
        return;
    }
    p->rx[(p->rx_head + p->rx_n) % PL011_FIFO] = c;
    p->rx_n++;
    if (p->rx_n >= rx_level(p))
        p->ris |= PL011_INT_RX;
}

void pl011_rx_push(struct pl011 *p, uint8_t c)
{
    rx_in(p, c);
}

void pl011_rx_idle(struct pl011 *p)
{
    if (p->rx_n)
        p->ris |= PL011_INT_RT;
}

static uint16_t rx_pop(struct pl011 *p)
{
    if (!p->rx_n)
        return 0;
    uint16_t c = p->rx[p->rx_head];
    p->rx_head = (p->rx_head + 1) % PL011_FIFO;
    p->rx_n--;
    if (p->rx_n < rx_level(p))
        p->ris &= (uint16_t)~PL011_INT_RX;
    if (!p->rx_n)
        p->ris &= (uint16_t)~PL011_INT_RT;
    else
        p->ris |= PL011_INT_RT; /* the rest waits: a timeout follows */
    /* RSR: the errors of the character just read, OE kept until ECR. */
    p->rsr = (uint16_t)((p->rsr & PL011_RSR_OE) | ((c >> 8) & 7));
    return c;
}

/* The transmit FIFO went from `before` to `after` characters. */
static void tx_moved(struct pl011 *p, unsigned before, unsigned after)
{
    unsigned t = tx_level(p);
    if (after < before && after <= t)
        p->ris |= PL011_INT_TX;
    else if (after > t)
        p->ris &= (uint16_t)~PL011_INT_TX; /* filled above the level */
}

static void tx_write(struct pl011 *p, uint8_t c)
{
    if (pl011_loopback(p)) {
        /* Through the transmitter into the receiver at once. */
        tx_moved(p, p->tx_n + 1, p->tx_n);
        rx_in(p, c);
        pl011_rx_idle(p);
        return;
    }
    if (p->tx_n >= cap(p))
        return; /* the TRM: a write to a full FIFO is lost */
    p->tx[(p->tx_head + p->tx_n) % PL011_FIFO] = c;
    p->tx_n++;
    tx_moved(p, p->tx_n - 1, p->tx_n);
}

size_t pl011_tx_peek(const struct pl011 *p, const uint8_t **bytes)
{
    *bytes = &p->tx[p->tx_head];
    unsigned n = PL011_FIFO - p->tx_head;
    return p->tx_n < n ? p->tx_n : n;
}

void pl011_tx_done(struct pl011 *p, size_t n)
{
    if (n > p->tx_n)
        n = p->tx_n;
    if (!n)
        return;
    unsigned before = p->tx_n;
    p->tx_head = (unsigned)((p->tx_head + n) % PL011_FIFO);
    p->tx_n -= (unsigned)n;
    tx_moved(p, before, p->tx_n);
}

static uint32_t id_reg(uint32_t off)
{
    unsigned i = (off - PL011_PERIPH0) / 4; /* 0-3 PeriphID, 4-7 CellID */
    uint32_t v = i < 4 ? PL011_PERIPHID : PL011_CELLID;
    return (v >> (8 * (i & 3))) & 0xff;
}

uint32_t pl011_read(struct pl011 *p, uint32_t off)
{
    switch (off) {
    case PL011_DR:
        return rx_pop(p);
    case PL011_RSR:
        return p->rsr & 0xf;
    case PL011_FR: {
        uint32_t fr = modem(p);
        fr |= p->tx_n ? PL011_FR_BUSY : PL011_FR_TXFE;
        fr |= p->tx_n >= cap(p) ? PL011_FR_TXFF : 0;
        fr |= p->rx_n ? 0 : PL011_FR_RXFE;
        fr |= p->rx_n >= cap(p) ? PL011_FR_RXFF : 0;
        return fr;
    }
    case PL011_ILPR:
        return p->ilpr;
    case PL011_IBRD:
        return p->ibrd;
    case PL011_FBRD:
        return p->fbrd;
    case PL011_LCR_H:
        return p->lcr_h;
    case PL011_CR:
        return p->cr;
    case PL011_IFLS:
        return p->ifls;
    case PL011_IMSC:
        return p->imsc;
    case PL011_RIS:
        return p->ris;
    case PL011_MIS:
        return p->ris & p->imsc;
    case PL011_DMACR:
        return 0;
    default:
        if (off >= PL011_PERIPH0 && off < PL011_SIZE)
            return id_reg(off);
        return 0;
    }
}

/* A change of the modem inputs raises their interrupts. */
static void modem_changed(struct pl011 *p, uint16_t old)
{
    uint16_t ch = old ^ modem(p);
    p->ris |= ch & PL011_FR_CTS ? PL011_INT_CTS : 0;
    p->ris |= ch & PL011_FR_DSR ? PL011_INT_DSR : 0;
    p->ris |= ch & PL011_FR_DCD ? PL011_INT_DCD : 0;
    p->ris |= ch & PL011_FR_RI ? PL011_INT_RI : 0;
}

static void set_lcr_h(struct pl011 *p, uint16_t v)
{
    bool was = pl011_fifo_en(p);
    p->lcr_h = v;
    if (was == pl011_fifo_en(p))
        return;
    /* Down to one holding register: the oldest character stays. */
    if (p->rx_n > cap(p))
        p->rx_n = cap(p);
    if (p->tx_n > cap(p))
        p->tx_n = cap(p);
}

void pl011_write(struct pl011 *p, uint32_t off, uint32_t val)
{
    switch (off) {
    case PL011_DR:
        tx_write(p, (uint8_t)val);
        break;
    case PL011_RSR: /* ECR: any write clears the errors */
        p->rsr = 0;
        break;
    case PL011_ILPR:
        p->ilpr = (uint8_t)val;
        break;
    case PL011_IBRD:
        p->ibrd = (uint16_t)val;
        break;
    case PL011_FBRD:
        p->fbrd = val & 0x3f;
        break;
    case PL011_LCR_H:
        set_lcr_h(p, val & 0xff);
        break;
    case PL011_CR: {
        uint16_t old = modem(p);
        p->cr = val & 0xff87; /* bits 6:3 reserved */
        modem_changed(p, old);
        break;
    }
    case PL011_IFLS:
        p->ifls = val & 0x3f;
        break;
    case PL011_IMSC:
        p->imsc = val & PL011_INT_ALL;
        break;
    case PL011_ICR:
        p->ris &= (uint16_t) ~(val & PL011_INT_ALL);
        break;
    default: /* FR, RIS, MIS, DMACR (no DMA), IDs: read-only here */
        break;
    }
}

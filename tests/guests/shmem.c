/*
 * shmem.c: the shmem guest (tests/vm/cases/shmem.sh), a guest_shm client
 * as QNX's sample drivers are (qvm-reference 4.6, docs/shmem.md). The
 * multiboot command line says what to do:
 *   role=a|b|c   a answers, b starts each exchange, c only attaches
 *   name=NAME    the region
 *   mmio=HEX     the factory page's address (else: the PCI function
 *                1c05:0001 on bus 0, BAR0; its memory decode enabled)
 *   rounds=N     exchanges per session (default 3)
 *   sessions=N   (a) peers served one after the other (default 1)
 *   end=spin     (b) stay up when done instead of powering off
 * One exchange: b writes "msg from b N" at data[256 * its index] and
 * notifies a; a's interrupt handler reads the control page's status (the
 * notifier's bit), a checks the text, writes its own at data[256 * its
 * index] and notifies b, whose handler sees a's bit; b checks a's text.
 * Every wait is for an interrupt (the handler counts them), never a poll
 * of the shared memory. Prints "shmem: ROLE done, N interrupts" and powers
 * off, or "shmem: FAIL ..."; c prints "shmem: c status N" (the attach's
 * status) and powers off.
 */
#include "guest.h"
#include "uart_irq.h"

#define VEC 0x40

void guest_main(uint32_t magic, uint32_t info);
void shm_isr_c(void);
extern char isr_shm[];

__asm__(".text\n"
        ".globl isr_shm\n"
        "isr_shm:\n"
        "    pusha\n"
        "    cld\n"
        "    call shm_isr_c\n"
        "    popa\n" IRET_BY_HAND);

static volatile uint32_t *ctl;
static volatile uint32_t irqs, pending, attached;

void uart_isr_c(void)
{
}

void shm_isr_c(void)
{
    uint32_t st = ctl[0]; /* clear-on-read: acknowledges the interrupt */
    pending |= st & 0xffff;
    attached = st >> 16;
    irqs++;
    mmio_w(LAPIC + 0xb0, 0);
}

static void fail(const char *what, uint32_t v)
{
    guest_fail("shmem", what, v);
}

/* The value of `key=` in the command line, copied to buf ("" if absent). */
static const char *arg(const char *cl, const char *key, char *buf, unsigned len)
{
    unsigned kl = 0;
    while (key[kl])
        kl++;
    buf[0] = 0;
    for (const char *p = cl; p && *p; p++) {
        if (p != cl && p[-1] != ' ')
            continue;
        unsigned i = 0;
        while (i < kl && p[i] == key[i])
            i++;
        if (i < kl || p[kl] != '=')
            continue;
        p += kl + 1;
        for (i = 0; i + 1 < len && p[i] && p[i] != ' '; i++)
            buf[i] = p[i];
        buf[i] = 0;
        break;
    }
    return buf;
}

static uint32_t num(const char *s, uint32_t base, uint32_t dflt)
{
    if (!*s)
        return dflt;
    uint32_t v = 0;
    for (; *s; s++) {
        uint32_t d = *s >= 'a'   ? (uint32_t)(*s - 'a' + 10)
                     : *s >= 'A' ? (uint32_t)(*s - 'A' + 10)
                                 : (uint32_t)(*s - '0');
        v = v * base + d;
    }
    return v;
}

static void put_msg(volatile char *dst, char role, uint32_t n)
{
    const char *t = "msg from ";
    unsigned i = 0;
    for (; t[i]; i++)
        dst[i] = t[i];
    dst[i++] = role;
    dst[i++] = ' ';
    dst[i++] = (char)('0' + n % 10);
    dst[i] = 0;
}

static int same_msg(const volatile char *s, char role, uint32_t n)
{
    char want[16];
    put_msg(want, role, n);
    for (unsigned i = 0; i < sizeof(want); i++) {
        if (s[i] != want[i])
            return 0;
        if (!want[i])
            return 1;
    }
    return 0;
}

static void wait_irq(uint32_t seen)
{
    while (irqs == seen)
        sti_wait(&irqs, seen + 1, 0x10000000u);
}

/* The lowest bit set in `*bits`, taken out; waits for one. */
static unsigned take_notifier(void)
{
    for (;;) {
        uint32_t seen = irqs;
        uint32_t p = pending;
        if (p) {
            unsigned i = 0;
            while (!(p & (1u << i)))
                i++;
            pending &= ~(1u << i);
            return i;
        }
        wait_irq(seen);
    }
}

void guest_main(uint32_t magic, uint32_t info)
{
    serial_init();
    const volatile uint32_t *mbi = (const volatile uint32_t *)info;
    if (magic != 0x2BADB002u || !(mbi[0] & (1u << 2)))
        fail("no multiboot command line", magic);
    const char *cl = (const char *)mbi[4];
    char role[4], name[32], buf[16];
    arg(cl, "role", role, sizeof(role));
    arg(cl, "name", name, sizeof(name));
    uint32_t rounds = num(arg(cl, "rounds", buf, sizeof(buf)), 10, 3);
    uint32_t sessions = num(arg(cl, "sessions", buf, sizeof(buf)), 10, 1);
    int spin = arg(cl, "end", buf, sizeof(buf))[0] == 's';
    uint32_t fac = num(arg(cl, "mmio", buf, sizeof(buf)), 16, 0);
    if (!fac) {
        unsigned dev;
        for (dev = 1; dev < 32; dev++)
            if (pci_cfg_r(dev, 0) == 0x00011c05u)
                break;
        if (dev == 32)
            fail("no PCI function 1c05:0001", 0);
        fac = pci_cfg_r(dev, 0x10) & ~0xfu;
        if (pci_cfg_r(dev, 0x14) & 1 || !(pci_cfg_r(dev, 0x18) & 4))
            fail("BAR2 is not a 64-bit memory BAR", pci_cfg_r(dev, 0x18));
        pci_cfg_w(dev, 4, pci_cfg_r(dev, 4) | 2); /* memory decode */
        serial_puts("shmem: PCI function at device ");
        serial_putdec(dev);
        serial_puts("\n");
    }
    volatile uint32_t *f = (volatile uint32_t *)fac;
    if (f[0] != 0x474d5651u || f[1] != 0x4d534732u)
        fail("signature", f[0]);
    /* The name with aligned 4-byte stores, then the size: attach. */
    int end = 0;
    for (unsigned i = 0; i < 32; i += 4) {
        uint32_t w = 0;
        for (unsigned k = 0; k < 4; k++) {
            end |= !name[i + k];
            if (!end)
                w |= (uint32_t)(uint8_t)name[i + k] << (8 * k);
        }
        f[(0x1c + i) / 4] = w;
    }
    f[0x18 / 4] = 4; /* 16 KiB */
    uint32_t status = f[0x14 / 4];
    if (role[0] == 'c') {
        serial_puts("shmem: c status ");
        serial_putdec(status);
        serial_puts("\n");
        poweroff();
        return;
    }
    if (status != 0)
        fail("attach status", status);
    if (f[3] != 0)
        fail("control page above 4 GiB", f[3]);
    ctl = (volatile uint32_t *)f[2];
    volatile char *data = (volatile char *)(f[2] + 0x1000);
    uint32_t gsi = f[0x10 / 4];
    uint32_t me = ctl[1];
    serial_puts("shmem: ");
    serial_puts(role);
    serial_puts(" attached as client ");
    serial_putdec(me);
    serial_puts(", line ");
    serial_putdec(gsi);
    serial_puts("\n");
    /* Level-triggered, active high: the line stays up until the status
     * is read. */
    uint16_t cs = idt_begin(isr_default, isr_default);
    set_gate(VEC, isr_shm, cs);
    idt_load();
    mmio_w(LAPIC + 0xf0, 0x1ff); /* APIC on */
    ioapic_w(0x11 + 2 * gsi, 0);
    ioapic_w(0x10 + 2 * gsi, VEC | 1u << 15);
    uint32_t st = ctl[0]; /* what came before the handler was in place */
    pending |= st & 0xffff;
    attached = st >> 16;
    uint32_t mask = 1u << me;
    if (role[0] == 'b') {
        /* Wait for a peer (its attach interrupts us if it comes later). */
        while (!(attached & ~mask)) {
            uint32_t seen = irqs;
            if (attached & ~mask)
                break;
            wait_irq(seen);
        }
        uint32_t peers = attached & ~mask;
        for (uint32_t r = 0; r < rounds; r++) {
            put_msg(data + 256 * me, 'b', r);
            ctl[2] = peers; /* notify */
            unsigned from = take_notifier();
            if (!same_msg(data + 256 * from, 'a', r))
                fail("b read a wrong message from client", from);
            serial_puts("shmem: b read 'msg from a ");
            serial_putdec(r);
            serial_puts("'\n");
        }
    } else {
        for (uint32_t s = 0; s < sessions; s++)
            for (uint32_t r = 0; r < rounds; r++) {
                unsigned from = take_notifier();
                if (!same_msg(data + 256 * from, 'b', r))
                    fail("a read a wrong message from client", from);
                serial_puts("shmem: a read 'msg from b ");
                serial_putdec(r);
                serial_puts("' from client ");
                serial_putdec(from);
                serial_puts("\n");
                put_msg(data + 256 * me, 'a', r);
                ctl[2] = 1u << from;
            }
    }
    serial_puts("shmem: ");
    serial_puts(role);
    serial_puts(" done, ");
    serial_putdec(irqs);
    serial_puts(" interrupts\n");
    if (role[0] == 'b' && spin)
        for (;;)
            __asm__ volatile("cli; hlt");
    ctl[3] = 1; /* detach */
    poweroff();
}

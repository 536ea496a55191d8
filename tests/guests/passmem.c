/*
 * passmem.c: the memory and I/O port pass-through guest
 * (tests/vm/cases/pass-mem-io.sh, docs/passthrough.md). The case passes
 * the first page of QEMU's edu device's BAR0 (edu bound to no driver in
 * the IOMMU lab's L1) twice through /dev/mem, and two of L1's CMOS RTC
 * ports:
 *   pass loc mem:0xd0000000,0x1000,rwn=BAR0   (read/write)
 *   pass loc mem:0xd0001000,0x1000,r=BAR0     (read-only)
 *   pass loc io:0x520,2=0x70                  (the RTC's index and data)
 * Steps, each printing one "passmem: ..." line:
 *   1. edu's ID register (0x010000ed) through both mappings, and its
 *      liveness register (writes the inverse) through the read/write one;
 *   2. a factorial (5! = 120) through the read/write mapping, polled;
 *   3. a write of 7 to the factorial register through the read-only
 *      mapping: refused (KVM_MEM_READONLY, the write exits to qvm and is
 *      dropped), so the register still reads 120;
 *   4. the RTC's status registers A and B and the diagnostic byte (0x0e)
 *      through the passed ports, printed for the case to compare with what
 *      L1 itself reads; port 0x522, next to the range, reads all ones.
 * Ends with "passmem: done" and powers off, or "passmem: FAIL ..." and
 * powers off.
 */
#include "guest.h"

#define EDU_RW  0xd0000000u
#define EDU_RO  0xd0001000u
#define EDU_ID  0x010000edu
#define RTC_IDX 0x520
#define RTC_DAT 0x521

void guest_main(uint32_t magic, uint32_t info);

static uint32_t rd(uint32_t a)
{
    return *(volatile uint32_t *)a;
}

static void wr(uint32_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}

static void fail(const char *what, uint32_t got)
{
    serial_puts("passmem: FAIL ");
    serial_puts(what);
    serial_puts(" (read ");
    serial_puthex(got);
    serial_puts(")\n");
    poweroff();
    for (;;)
        __asm__ volatile("hlt");
}

static uint8_t cmos(uint8_t reg)
{
    outb(RTC_IDX, reg);
    return inb(RTC_DAT);
}

static void print_reg(const char *name, uint8_t v)
{
    serial_puts(name);
    serial_puthex(v);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic;
    (void)info;
    serial_init();

    uint32_t id = rd(EDU_RW), id_ro = rd(EDU_RO + 0);
    if (id != EDU_ID)
        fail("edu's ID through the read/write mapping", id);
    if (id_ro != EDU_ID)
        fail("edu's ID through the read-only mapping", id_ro);
    wr(EDU_RW + 4, 0x12345678u);
    uint32_t live = rd(EDU_RW + 4);
    if (live != ~0x12345678u)
        fail("edu's liveness register", live);
    serial_puts("passmem: ID 0x010000ed (both mappings), liveness ok\n");

    wr(EDU_RW + 8, 5);
    for (unsigned i = 0; (rd(EDU_RW + 0x20) & 1) && i < 100000000u; i++)
        ;
    uint32_t f = rd(EDU_RW + 8);
    if (f != 120)
        fail("5! from edu", f);
    serial_puts("passmem: factorial 5! = 120\n");

    wr(EDU_RO + 8, 7); /* refused: 7! would be 5040 */
    for (unsigned i = 0; (rd(EDU_RW + 0x20) & 1) && i < 100000000u; i++)
        ;
    f = rd(EDU_RO + 8);
    if (f != 120)
        fail("the factorial register after a write through the read-only "
             "mapping",
             f);
    serial_puts("passmem: read-only mapping: the write was refused, the "
                "register still 120\n");

    uint8_t a = cmos(0x0a) & 0x7f, b = cmos(0x0b), d = cmos(0x0e);
    serial_puts("passmem: rtc");
    print_reg(" A=", a);
    print_reg(" B=", b);
    print_reg(" diag=", d);
    serial_puts("\n");
    uint8_t beyond = inb(RTC_DAT + 1);
    if (beyond != 0xff)
        fail("port 0x522, outside the passed range", beyond);
    serial_puts("passmem: port 0x522 outside the range reads 0xff\n");
    serial_puts("passmem: done\n");
    poweroff();
    for (;;)
        __asm__ volatile("hlt");
}

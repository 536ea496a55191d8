/*
 * rtc.c: the rtc guest (tests/vm/cases/rtc.sh). Reads the MC146818 clock
 * the way Linux's mc146818_get_time does (wait for UIP clear, read, read
 * again until two reads agree), decodes BCD or binary and 12/24h as
 * register B says, and prints "rtc: YYYY-MM-DD HH:MM:SS"; also prints
 * registers B and D, CMOS byte 0x40 (preset by the config) and checks that
 * reading register C returns (it must not loop) and that a RAM byte
 * written reads back. Powers off.
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

static uint8_t cmos(uint8_t idx)
{
    outb(0x70, (uint8_t)(0x80 | idx)); /* NMI stays masked */
    return inb(0x71);
}

static void cmos_w(uint8_t idx, uint8_t v)
{
    outb(0x70, (uint8_t)(0x80 | idx));
    outb(0x71, v);
}

static void put2(uint32_t v)
{
    serial_putc((char)('0' + v / 10 % 10));
    serial_putc((char)('0' + v % 10));
}

struct t {
    uint8_t s, m, h, d, mo, y, c;
};

static void read_raw(struct t *t)
{
    while (cmos(0x0a) & 0x80) /* update in progress */
        ;
    t->s = cmos(0);
    t->m = cmos(2);
    t->h = cmos(4);
    t->d = cmos(7);
    t->mo = cmos(8);
    t->y = cmos(9);
    t->c = cmos(0x32);
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_init();
    struct t a, b;
    do {
        read_raw(&a);
        read_raw(&b);
    } while (a.s != b.s || a.m != b.m || a.h != b.h || a.d != b.d);
    uint8_t rb = cmos(0x0b);
    int bin = rb & 0x04, h24 = rb & 0x02;
    uint8_t pm = (uint8_t)(a.h & 0x80);
    if (!h24)
        a.h &= 0x7f;
#define DEC(x) (bin ? (uint32_t)(x) : (uint32_t)((x) >> 4) * 10 + ((x)&15))
    uint32_t hour = DEC(a.h);
    if (!h24)
        hour = hour % 12 + (pm ? 12 : 0);
    serial_puts("rtc: ");
    put2(DEC(a.c));
    put2(DEC(a.y));
    serial_putc('-');
    put2(DEC(a.mo));
    serial_putc('-');
    put2(DEC(a.d));
    serial_putc(' ');
    put2(hour);
    serial_putc(':');
    put2(DEC(a.m));
    serial_putc(':');
    put2(DEC(a.s));
    serial_puts("\n");
    serial_puts("rtc: reg B ");
    serial_puthex(rb);
    serial_puts(" reg D ");
    serial_puthex(cmos(0x0d));
    serial_puts(" cmos 0x40 ");
    serial_puthex(cmos(0x40));
    serial_puts("\n");
    for (int i = 0; i < 3; i++)
        (void)cmos(0x0c); /* must return every time */
    cmos_w(0x41, 0xc3);
    serial_puts(cmos(0x41) == 0xc3 ? "rtc: cmos ram ok\n"
                                   : "rtc: cmos ram FAIL\n");
    poweroff();
}

/*
 * kbdreset.c: the kbdreset guest (tests/vm/cases/kbdreset.sh). Probes the
 * 8042 as Linux's i8042 driver does (self test 0x55, interface test 0x00,
 * configuration byte read/write, keyboard reset 0xfa 0xaa), prints what it
 * saw, then pulses the reset line with command 0xfe: qvm must exit 0 with
 * "guest reset (8042)". Falls through to a power-off if nothing happens.
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

static int ob_full(void)
{
    for (int i = 0; i < 1000; i++)
        if (inb(0x64) & 1)
            return 1;
    return 0;
}

static uint32_t read_data(void)
{
    return ob_full() ? inb(0x60) : 0x100; /* 0x100: nothing */
}

static void cmd(uint8_t c)
{
    while (inb(0x64) & 2)
        ;
    outb(0x64, c);
}

static void data(uint8_t c)
{
    while (inb(0x64) & 2)
        ;
    outb(0x60, c);
}

static void show(const char *what, uint32_t v)
{
    serial_puts(what);
    serial_puthex(v);
    serial_puts("\n");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_init();
    cmd(0xad); /* keyboard off, aux off, flush */
    cmd(0xa7);
    while (inb(0x64) & 1)
        (void)inb(0x60);
    cmd(0xaa);
    show("kbd: self test ", read_data());
    cmd(0xab);
    show("kbd: kbd test ", read_data());
    cmd(0x20);
    uint32_t cfg = read_data();
    show("kbd: config ", cfg);
    cmd(0x60);
    data((uint8_t)(cfg & ~3u)); /* interrupts off */
    cmd(0x20);
    show("kbd: config now ", read_data());
    cmd(0xae);
    data(0xff);
    uint32_t ack = read_data();
    show("kbd: reset ack ", ack);
    show("kbd: reset bat ", read_data());
    data(0xf4);
    show("kbd: enable ack ", read_data());
    show("kbd: status ", inb(0x64));
    serial_puts("kbd: resetting through the 8042\n");
    cmd(0xfe);
    serial_puts("kbd: still running after 0xfe: FAIL\n");
    poweroff();
}

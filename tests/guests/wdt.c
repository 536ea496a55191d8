/*
 * wdt.c: the wdt guest (tests/vm/cases/wdt-ping.sh, wdt-expire.sh) drives
 * `vdev wdt-ib700` the way Linux's ib700wdt does (a byte to 0x443 starts
 * or pings it with the timeout index, a write to 0x441 stops it), timed by
 * the RTC's seconds. The last word of the multiboot command line picks the
 * scenario:
 *  - "ping": start with index 13 (4 s), ping at every RTC second for 10
 *    RTC seconds (more than two timeouts), stop it the board manual's way
 *    (`out dx, ax` at 0x441), wait 6 RTC seconds (more than a timeout: a
 *    stopped watchdog must not fire), print "wdt: done" and power off;
 *  - "expire": start with index 14 (2 s), ping 3 times a second apart,
 *    print "wdt: stopped pinging" and spin: qvm must end the guest
 *    (exit 4). "wdt: still alive" after 20 RTC seconds is a failure.
 * Failures print "wdt: FAIL ...".
 */
#include "timer_guest.h"

#define WDT_STOP  0x441
#define WDT_START 0x443

void guest_main(uint32_t magic, uint32_t info);

/* timer_guest.h's stub: no interrupt is enabled here (IF stays 0). */
void timer_isr_c(void)
{
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* The last word of the command line (multiboot's starts with the image's
 * path). */
static const char *last_word(const char *s)
{
    const char *w = s;
    for (; *s; s++)
        if (*s == ' ')
            w = s + 1;
    return w;
}

/* Busy-wait n RTC seconds from the start of the current one. */
static uint32_t wait_secs(uint32_t n)
{
    uint32_t s = rtc_daysecs();
    for (uint32_t i = 0; i < n; i++)
        s = rtc_next_second();
    return s;
}

static void ping_scenario(void)
{
    uint32_t t0 = rtc_next_second();
    outb(WDT_START, 13); /* 4 s */
    serial_puts("wdt: started (4 s)\n");
    unsigned pings = 0;
    while (secs_between(t0, rtc_daysecs()) < 10) {
        (void)rtc_next_second();
        outb(WDT_START, 13);
        pings++;
    }
    say("wdt: pinged ", pings, " times over 10 RTC seconds\n");
    outw(WDT_STOP, 0x000f); /* MOV AX,000FH; MOV DX,0441H; OUT DX,AX */
    serial_puts("wdt: stopped\n");
    (void)wait_secs(6);
    serial_puts("wdt: done\n");
    poweroff();
}

static void expire_scenario(void)
{
    (void)rtc_next_second();
    outb(WDT_START, 14); /* 2 s */
    serial_puts("wdt: started (2 s)\n");
    for (int i = 0; i < 3; i++) {
        (void)rtc_next_second();
        outb(WDT_START, 14);
    }
    serial_puts("wdt: stopped pinging\n");
    (void)wait_secs(20);
    serial_puts("wdt: FAIL still alive 20 s after the last ping\n");
    poweroff();
}

void guest_main(uint32_t magic, uint32_t info)
{
    com1_init();
    const char *cmd = "";
    const volatile uint32_t *mbi = (const volatile uint32_t *)info;
    if (magic == 0x2BADB002u && (mbi[0] & (1u << 2)))
        cmd = last_word((const char *)mbi[4]);
    serial_puts("wdt: start\n");
    if (streq(cmd, "ping"))
        ping_scenario();
    else if (streq(cmd, "expire"))
        expire_scenario();
    serial_puts("wdt: FAIL unknown command line\n");
    poweroff();
}

/*
 * wdt.c: the aarch64 watchdog guest (tests/vm/cases-arm64/wdt-sp805.sh)
 * drives `vdev wdt-sp805` at 0x1c0f0000 the way Linux's sp805_wdt does
 * (unlock, WdogLoad, WdogIntClr, WdogControl INTEN|RESEN, lock; a ping is
 * unlock, WdogIntClr, lock), timed by the architected counter (CNTVCT_EL0
 * at CNTFRQ_EL0). Its configuration counts at `frequency 1000`: WdogLoad
 * 1999 is a period of 2 s, the reset due 4 s after the last ping (room for
 * a slow lab).
 *  - wdt_pet: ping every 0.5 s for 6 s, check the interrupt never came,
 *    stop it (WdogControl 0), wait 5 s (a stopped watchdog does not act),
 *    print "wdt: done" and power off (PSCI SYSTEM_OFF: exit 0);
 *  - wdt_starve (-DSTARVE): start it, ping once after 0.3 s, print
 *    "wdt: starving", wait for the
 *    interrupt of the first expiry (WdogRIS) and print it, then spin: qvm
 *    must end the guest at the second expiry (exit 4). "wdt: still alive"
 *    after 20 s is a failure.
 * Failures print "wdt: FAIL ...".
 */
#include "guest.h"

#define WDT       0x1c0f0000ul
#define WDT_LOAD  0x000
#define WDT_VALUE 0x004
#define WDT_CTL   0x008
#define WDT_CLR   0x00c
#define WDT_RIS   0x010
#define WDT_MIS   0x014
#define WDT_LOCK  0xc00
#define UNLOCK    0x1acce551u

int main(uint64_t x0);

static uint32_t id(uintptr_t base)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (rd32(base + 4 * (uintptr_t)i) & 0xff) << (8 * i);
    return v;
}

static void ping(void)
{
    wr32(WDT + WDT_LOCK, UNLOCK);
    wr32(WDT + WDT_CLR, 1);
    wr32(WDT + WDT_LOCK, 0);
}

int main(uint64_t x0)
{
    (void)x0;
    puts_("wdt: sp805 ids ");
    puthex(id(WDT + 0xfe0));
    puts_(" ");
    puthex(id(WDT + 0xff0));
    puts_("\n");
    wr32(WDT + WDT_LOCK, UNLOCK);
    wr32(WDT + WDT_LOAD, 1999);
    wr32(WDT + WDT_CLR, 1);
    wr32(WDT + WDT_CTL, 3);
    wr32(WDT + WDT_LOCK, 0);
    if (rd32(WDT + WDT_LOCK) != 1 || rd32(WDT + WDT_CTL) != 3)
        puts_("wdt: FAIL lock or control does not read back\n");
    puts_("wdt: started\n");
#ifdef STARVE
    delay_ms(300);
    ping(); /* one, then none */
    puts_("wdt: starving\n");
    uint64_t end = cntvct() + cntfrq() * 20;
    while (!(rd32(WDT + WDT_RIS) & 1) && cntvct() < end)
        ;
    if (rd32(WDT + WDT_MIS) & 1)
        puts_("wdt: interrupt (first expiry)\n");
    while (cntvct() < end)
        ;
    puts_("wdt: still alive\n");
#else
    for (int i = 0; i < 12; i++) {
        delay_ms(500);
        if (rd32(WDT + WDT_RIS) & 1)
            puts_("wdt: FAIL interrupt while pinged\n");
        ping();
    }
    puts_("wdt: pinged for 6 s\n");
    wr32(WDT + WDT_LOCK, UNLOCK);
    wr32(WDT + WDT_CTL, 0);
    wr32(WDT + WDT_LOCK, 0);
    uint32_t v = rd32(WDT + WDT_VALUE);
    delay_ms(5000);
    if (rd32(WDT + WDT_VALUE) != v)
        puts_("wdt: FAIL the stopped counter moved\n");
    puts_("wdt: done\n");
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
#endif
    for (;;)
        __asm__ volatile("wfi");
}

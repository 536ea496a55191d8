/*
 * pwrbtn.c: the aarch64 power-button guest (tests/vm/cases-arm64/
 * pwrbtn.sh). It finds qvm's power key in the device tree (gpio-keys with
 * KEY_POWER on a PL061), reads the PL061's PrimeCell IDs at 0x1c1f0000,
 * sets up pin 3 as Linux's gpio-keys does (both edges, unmasked), prints
 * the address of a marker string (for dumps) and "pwrbtn: ready", then
 * polls the masked interrupt status (GPIOMIS) every 10 ms: on the press
 * it clears it, prints "pwrbtn: power key pressed", sees the release (the
 * pin low, or its edge: "pwrbtn: released") and powers off with PSCI
 * SYSTEM_OFF (exit 0). Failures print "pwrbtn: FAIL ...".
 */
#include "guest.h"

#define GPIO     0x1c1f0000ul
#define GPIO_IBE 0x408
#define GPIO_IE  0x410
#define GPIO_MIS 0x418
#define GPIO_IC  0x41c
#define PIN      3u

int main(uint64_t x0);

/* For the dump case (cases-arm64/dump.sh): found at the printed address
 * in the guest's memory of a dump. */
static const char marker[] = "QVM-DUMP-MARKER-a64: pwrbtn";

static uint32_t be32(const volatile uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int holds(const volatile uint8_t *p, uint32_t n, const char *s)
{
    uint32_t k = 0;
    while (s[k])
        k++;
    for (uint32_t i = 0; i + k < n; i++) {
        uint32_t j = 0;
        while (j <= k && p[i + j] == (uint8_t)s[j])
            j++;
        if (j > k)
            return 1;
    }
    return 0;
}

static uint32_t id(uintptr_t base)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (rd32(base + 4 * (uintptr_t)i) & 0xff) << (8 * i);
    return v;
}

/* Until the pin's interrupt, at most `ms`: 1 if it came. */
static int wait_irq(uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 10) {
        if (rd32(GPIO + GPIO_MIS) & (1u << PIN))
            return 1;
        delay_ms(10);
    }
    return 0;
}

int main(uint64_t x0)
{
    const volatile uint8_t *f = (const volatile uint8_t *)x0;
    if (!x0 || be32(f) != 0xd00dfeedu)
        puts_("pwrbtn: FAIL no device tree\n");
    else if (!holds(f, be32(f + 4), "gpio-keys") ||
             !holds(f, be32(f + 4), "arm,pl061"))
        puts_("pwrbtn: FAIL no gpio-keys or PL061 in the device tree\n");
    puts_("pwrbtn: pl061 ids ");
    puthex(id(GPIO + 0xfe0));
    puts_(" ");
    puthex(id(GPIO + 0xff0));
    puts_("\n");
    wr32(GPIO + GPIO_IBE, 1u << PIN);
    wr32(GPIO + GPIO_IC, 1u << PIN);
    wr32(GPIO + GPIO_IE, 1u << PIN);
    puts_("pwrbtn: marker at ");
    puthex((uintptr_t)marker);
    puts_("\n");
    puts_("pwrbtn: ready\n");
    if (!wait_irq(600000)) {
        puts_("pwrbtn: FAIL no press in 600 s\n");
        for (;;)
            __asm__ volatile("wfi");
    }
    /* Acknowledge it at once, then look at the pin as gpio-keys does: the
     * release may already have come (its edge went with the IC write). */
    wr32(GPIO + GPIO_IC, 1u << PIN);
    puts_("pwrbtn: power key pressed\n");
    if (!(rd32(GPIO + (1u << PIN << 2)) & (1u << PIN)) || wait_irq(10000))
        puts_("pwrbtn: released\n");
    else
        puts_("pwrbtn: FAIL no release\n");
    puts_("pwrbtn: SYSTEM_OFF\n");
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

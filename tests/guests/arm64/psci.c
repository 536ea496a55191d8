/*
 * psci.c: prints on the PL011 (the registers' boot state, the PSCI
 * version), then powers off with PSCI SYSTEM_OFF (qvm exits 0) or, built
 * as psci_reset, resets with SYSTEM_RESET (qvm exits with QNX's reset
 * code). Used by tests/vm/cases/arm64-psci.sh.
 */
#include "guest.h"

#ifndef PSCI_END
#define PSCI_END PSCI_SYSTEM_OFF
#endif

int main(uint64_t x0);

static uint32_t be32(const volatile uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* whether the n bytes at p hold the string s (with its NUL) */
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

/* The device tree qvm passes in x0: its header and a few compatibles. */
static void check_fdt(uint64_t x0)
{
    const volatile uint8_t *f = (const volatile uint8_t *)x0;
    if (!x0 || be32(f) != 0xd00dfeedu) {
        puts_("arm64 guest: no device tree at x0\n");
        return;
    }
    uint32_t n = be32(f + 4);
    puts_("arm64 guest: device tree, ");
    puthex(n);
    puts_(" bytes:");
    puts_(holds(f, n, "arm,pl011") ? " arm,pl011" : "");
    puts_(holds(f, n, "arm,gic-v3") ? " arm,gic-v3" : "");
    puts_(holds(f, n, "arm,psci-0.2") ? " arm,psci-0.2" : "");
    puts_(holds(f, n, "arm,armv8-timer") ? " arm,armv8-timer" : "");
    puts_("\n");
}

int main(uint64_t x0)
{
    uint64_t el, daif;
    __asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
    __asm__ volatile("mrs %0, DAIF" : "=r"(daif));
    puts_("arm64 guest: hello from EL");
    putc_((char)('0' + ((el >> 2) & 3)));
    puts_(", DAIF ");
    puthex(daif);
    puts_(", x0 ");
    puthex(x0);
    puts_("\n");
    check_fdt(x0);
    uint64_t v = psci_call(PSCI_VERSION, 0, 0, 0);
    puts_("arm64 guest: PSCI version ");
    puthex(v);
    puts_("\n");
    puts_(PSCI_END == PSCI_SYSTEM_OFF ? "arm64 guest: SYSTEM_OFF\n"
                                      : "arm64 guest: SYSTEM_RESET\n");
    psci_call(PSCI_END, 0, 0, 0);
    puts_("arm64 guest: PSCI call returned\n");
    for (;;)
        __asm__ volatile("wfi");
}

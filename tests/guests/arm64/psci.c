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

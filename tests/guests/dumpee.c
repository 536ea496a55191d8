/*
 * dumpee.c: the guest of tests/vm/cases/dump.sh. Copies a marker string to
 * guest-physical MARKER_GPA, starts the second CPU (INIT + SIPI through the
 * local APIC, as smp.c does), which spins counting in ap_main, and prints
 * "dumpee: tick N" on COM1 forever, so that the case can see the guest
 * go on running after a dump. It never stops on its own (the case ends it
 * with SIGQUIT).
 */
#define AP_MAX_CPUS 4
#include "ap_start.h"

#define MARKER_GPA 0x300000u

static const char marker[] = "QVM-DUMP-MARKER-7f3a: dumpee's memory";

void guest_main(uint32_t magic, uint32_t info);

volatile uint32_t ap_spins;

void ap_main(void)
{
    __asm__ volatile("lock incl %0" : "+m"(ap_up) : : "memory");
    for (;;)
        ap_spins = ap_spins + 1;
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    volatile char *m = (volatile char *)MARKER_GPA;
    for (unsigned i = 0; i < sizeof(marker); i++)
        m[i] = marker[i];
    serial_puts("dumpee: marker at ");
    serial_puthex(MARKER_GPA);
    serial_puts("\n");
    uint32_t ids[AP_MAX_CPUS];
    uint32_t n = madt_cpus(find_table("APIC"), ids);
    start_aps(ids, n);
    while (ap_up + 1 < n)
        io_delay();
    serial_puts("dumpee: ");
    serial_putdec(ap_up + 1);
    serial_puts(" CPUs up\n");
    for (uint32_t tick = 1;; tick++) {
        for (volatile uint32_t i = 0; i < 3000000; i++)
            ;
        serial_puts("dumpee: tick ");
        serial_putdec(tick);
        serial_puts("\n");
    }
}

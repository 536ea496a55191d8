/*
 * bench_smp.c: the SMP scaling benchmark guest (bench/README.md, "SMP
 * scaling"). Starts every AP the MADT lists (INIT + SIPI, ap_start.h;
 * two CPUs at most are used), prints "@S" on COM1 once all are up, then
 * each CPU makes BENCH_WRITES one-byte writes to the scratch register of
 * its own UART (the BSP COM1's 0x3ff, the first AP COM2's 0x2ff: the same
 * device model, two instances, so the two vCPUs share no device), the BSP
 * waits for the AP's count, prints "@E" and powers off as bench_exits.c
 * does. Exits per second between the markers: BENCH_WRITES times the CPUs
 * over the time. Without its APs up, it prints "bench_smp: FAIL" instead
 * of "@E". A CPU exception prints what it was (exc_report.h).
 */
#define AP_MAX_CPUS     4
#define EXC_REPORT_NAME "bench_smp"
/* After an exception report: power off as at "@E" (0xf4: DEBUG_EXIT). */
#define EXC_REPORT_EXIT() (outw(PM1A_CNT, SLP_EN), outb(0xf4, 0))
#include "ap_start.h"
#include "exc_report.h"

#define BENCH_WRITES 100000
#define UNROLL       10
#define DEBUG_EXIT   0xf4
#define SCR_BSP      0x3ff /* COM1 + 7 */
#define SCR_AP       0x2ff /* COM2 + 7 */

void guest_main(uint32_t magic, uint32_t info);

volatile uint32_t go, done;

static void hammer(uint16_t port)
{
    for (int i = 0; i < BENCH_WRITES / UNROLL; i++) {
        outb(port, 0);
        outb(port, 1);
        outb(port, 2);
        outb(port, 3);
        outb(port, 4);
        outb(port, 5);
        outb(port, 6);
        outb(port, 7);
        outb(port, 8);
        outb(port, 9);
    }
}

void ap_main(void)
{
    uint32_t me;
    exc_report_install();
    __asm__ volatile("movl $1, %0\n\tlock xaddl %0, %1"
                     : "=&r"(me), "+m"(ap_up)
                     :
                     : "memory");
    if (me != 0)
        return; /* one AP hammers; more would share COM2 */
    while (!go)
        __asm__ volatile("pause" ::: "memory");
    hammer(SCR_AP);
    __asm__ volatile("lock incl %0" : "+m"(done) : : "memory");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    exc_report_install();
    uint32_t ids[AP_MAX_CPUS];
    uint32_t madt = find_table("APIC");
    uint32_t n = madt ? madt_cpus(madt, ids) : 1;
    if (n > 2)
        n = 2;
    if (n > 1) {
        start_aps(ids, n);
        for (int i = 0; i < 200000 && ap_up + 1 < n; i++)
            io_delay();
    }
    if (ap_up + 1 < n) {
        serial_puts("bench_smp: FAIL (APs not up)\n");
    } else {
        serial_puts("@S\n");
        go = 1;
        hammer(SCR_BSP);
        while (done + 1 < n)
            __asm__ volatile("pause" ::: "memory");
        serial_puts("@E\n");
    }
    outw(PM1A_CNT, SLP_EN);
    outb(DEBUG_EXIT, 0);
}

/*
 * smp.c: the SMP guest. Finds the RSDP by scanning 0xe0000-0xfffff, walks
 * XSDT -> MADT for the local APIC IDs, checks the MP table at 0x9fc00, then
 * starts every AP with INIT + SIPI through the local APIC's ICR. Each AP
 * enters a real-mode trampoline at 0x8000, switches to protected mode,
 * takes a stack and reports its APIC ID (LAPIC ID register) on COM1 under
 * an xchg spinlock. The BSP waits for them, prints "SMP: N CPUs up" and
 * powers off through the PM1a control register the FADT names. A CPU
 * exception prints what it was (exc_report.h) and powers off.
 */
#define EXC_REPORT_NAME   "smp"
#define EXC_REPORT_EXIT() outw(PM1A_CNT, SLP_EN)
#include "ap_start.h"
#include "exc_report.h"

void guest_main(uint32_t magic, uint32_t info);

volatile uint32_t print_lock;

static void lock(void)
{
    uint32_t v;
    do {
        v = 1;
        __asm__ volatile("xchgl %0, %1"
                         : "+r"(v), "+m"(print_lock)
                         :
                         : "memory");
    } while (v);
}

static void unlock(void)
{
    __asm__ volatile("" : : : "memory");
    print_lock = 0;
}

void ap_main(void)
{
    exc_report_install();
    uint32_t id = rd32(LAPIC + LAPIC_ID) >> 24;
    lock();
    serial_puts("AP: APIC ID ");
    serial_putdec(id);
    serial_puts(" up\n");
    __asm__ volatile("lock incl %0" : "+m"(ap_up) : : "memory");
    unlock();
}

/* The MP table (MP spec 1.4): processor entries, or -1 if absent/bad. */
static int mp_processors(void)
{
    uint32_t fp = 0x9fc00;
    if (!mem_eq((const void *)fp, "_MP_", 4) || sum8(fp, 16))
        return -1;
    uint32_t c = rd32(fp + 4);
    if (!mem_eq((const void *)c, "PCMP", 4))
        return -1;
    uint32_t len = rd32(c + 4) & 0xffff, count = rd32(c + 34) & 0xffff;
    if (sum8(c, len))
        return -1;
    int procs = 0;
    uint32_t e = c + 44;
    for (uint32_t i = 0; i < count && e < c + len; i++) {
        uint8_t type = *(const volatile uint8_t *)e;
        if (type == 0)
            procs++;
        e += type == 0 ? 20 : 8;
    }
    return procs;
}

static void acpi_poweroff(void)
{
    uint32_t fadt = find_table("FACP");
    uint16_t cnt = fadt ? (uint16_t)rd32(fadt + FADT_PM1A_CNT) : PM1A_CNT;
    outw(cnt, (uint16_t)(SLP_EN | (fadt ? s5_typ(fadt) : 5) << 10));
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    com1_init();
    exc_report_install();
    serial_puts("smp: starting\n");
    int mp = mp_processors();
    serial_puts("MP: ");
    if (mp < 0)
        serial_puts("no valid MP table\n");
    else {
        serial_putdec((uint32_t)mp);
        serial_puts(" processors\n");
    }
    uint32_t madt = find_table("APIC");
    if (!madt) {
        serial_puts("smp: no RSDP/XSDT/MADT: FAIL\n");
        acpi_poweroff();
        return;
    }
    uint32_t ids[AP_MAX_CPUS];
    uint32_t n = madt_cpus(madt, ids);
    uint32_t bsp = bsp_apic_id();
    serial_puts("ACPI: ");
    serial_putdec(n);
    serial_puts(" CPUs in the MADT, BSP APIC ID ");
    serial_putdec(bsp);
    serial_puts("\n");

    start_aps(ids, n);
    for (int i = 0; i < 200000 && ap_up + 1 < n; i++)
        io_delay();
    lock();
    serial_puts("SMP: ");
    serial_putdec(ap_up + 1);
    serial_puts(" CPUs up\n");
    unlock();
    acpi_poweroff();
    serial_puts("still running after power-off: FAIL\n");
}

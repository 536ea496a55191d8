/*
 * dumpee.c: the guest of tests/vm/cases/dump.sh. Copies a marker string to
 * guest-physical MARKER_GPA, starts the second CPU (INIT + SIPI through the
 * local APIC, as smp.c does), which spins counting in ap_main, and prints
 * "dumpee: tick N" on COM1 forever, so that the case can see the guest
 * go on running after a dump. It never stops on its own (the case ends it
 * with SIGQUIT).
 */
#include "acpi_guest.h"

#define TRAMP      0x8000u /* SIPI vector 0x08 */
#define LAPIC      0xfee00000u
#define LAPIC_ID   0x20
#define LAPIC_SVR  0xf0
#define ICR_LO     0x300
#define ICR_HI     0x310
#define MARKER_GPA 0x300000u
#define MAX_CPUS   4

static const char marker[] = "QVM-DUMP-MARKER-7f3a: dumpee's memory";

void guest_main(uint32_t magic, uint32_t info);
void ap_main(void);
extern const char tramp_start[], tramp_end[];

volatile uint32_t ap_ticket, ap_up, ap_spins;
uint8_t ap_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));
const uint64_t gdt[4] = {0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull};

__asm__(".pushsection .text\n"
        ".code16\n"
        ".globl tramp_start\n"
        "tramp_start:\n"
        "  cli\n"
        "  movw %cs, %ax\n"
        "  movw %ax, %ds\n"
        "  lgdtl (tramp_gdtr - tramp_start)\n"
        "  movl %cr0, %eax\n"
        "  orl $1, %eax\n"
        "  movl %eax, %cr0\n"
        "  ljmpl $0x10, $ap_entry32\n"
        "  .balign 4\n"
        "tramp_gdtr:\n"
        "  .word 31\n"
        "  .long gdt\n"
        ".globl tramp_end\n"
        "tramp_end:\n"
        ".code32\n"
        "ap_entry32:\n"
        "  movw $0x18, %ax\n"
        "  movw %ax, %ds\n"
        "  movw %ax, %es\n"
        "  movw %ax, %fs\n"
        "  movw %ax, %gs\n"
        "  movw %ax, %ss\n"
        "  movl $1, %eax\n"
        "  lock xaddl %eax, ap_ticket\n"
        "  incl %eax\n"
        "  shll $12, %eax\n"
        "  addl $ap_stacks, %eax\n"
        "  movl %eax, %esp\n"
        "  call ap_main\n"
        "1: cli\n"
        "  hlt\n"
        "  jmp 1b\n"
        ".popsection\n");

void ap_main(void)
{
    __asm__ volatile("lock incl %0" : "+m"(ap_up) : : "memory");
    for (;;)
        ap_spins = ap_spins + 1;
}

static void send_ipi(uint32_t apic_id, uint32_t lo)
{
    wr32(LAPIC + ICR_HI, apic_id << 24);
    wr32(LAPIC + ICR_LO, lo);
    for (int i = 0; i < 1000 && (rd32(LAPIC + ICR_LO) & 0x1000); i++)
        io_delay();
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
    uint32_t madt = find_table("APIC"), n = 0, ids[MAX_CPUS];
    for (uint32_t o = 44; madt && o + 2 <= rd32(madt + 4);) {
        const volatile uint8_t *e = (const volatile uint8_t *)(madt + o);
        if (e[0] == 0 && (e[4] & 1) && n < MAX_CPUS)
            ids[n++] = e[3];
        if (e[1] == 0)
            break;
        o += e[1];
    }
    uint32_t bsp = rd32(LAPIC + LAPIC_ID) >> 24;
    volatile char *dst = (volatile char *)TRAMP;
    for (const char *s = tramp_start; s < tramp_end; s++)
        *dst++ = *s;
    wr32(LAPIC + LAPIC_SVR, rd32(LAPIC + LAPIC_SVR) | 0x100);
    for (uint32_t i = 0; i < n; i++) {
        if (ids[i] == bsp)
            continue;
        send_ipi(ids[i], 0x4500);                 /* INIT, assert */
        send_ipi(ids[i], 0x4600 | (TRAMP >> 12)); /* STARTUP */
    }
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

/*
 * ap_start.h: starting the application processors of a freestanding guest
 * (smp.c, dumpee.c). The local APIC IDs come from the MADT; each AP gets
 * INIT + SIPI through the BSP's local APIC ICR and enters a real-mode
 * trampoline copied to AP_TRAMP (SIPI vector 0x08), which loads a flat GDT,
 * switches to protected mode, takes its own stack and calls the includer's
 * `void ap_main(void)`; when that returns the AP halts. `ap_up` counts the
 * APs that bumped it (ap_main's job, with `lock incl`). AP_MAX_CPUS may be
 * defined before the include (default 16).
 */
#ifndef QVM_GUEST_AP_START_H
#define QVM_GUEST_AP_START_H

#include "acpi_guest.h"

#ifndef AP_MAX_CPUS
#define AP_MAX_CPUS 16
#endif
#define AP_TRAMP     0x8000u
#define LAPIC        0xfee00000u
#define LAPIC_ID     0x20
#define LAPIC_SVR    0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

void ap_main(void);
extern const char tramp_start[], tramp_end[];

volatile uint32_t ap_ticket, ap_up;
uint8_t ap_stacks[AP_MAX_CPUS][4096] __attribute__((aligned(16)));

/*
 * The trampoline runs in real mode with CS = AP_TRAMP >> 4, so the GDTR is
 * addressed relative to tramp_start; the far jump is to the linked
 * (absolute) address of ap_entry32.
 */
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
        "  .long flat_gdt\n"
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

static void send_ipi(uint32_t apic_id, uint32_t lo)
{
    wr32(LAPIC + LAPIC_ICR_HI, apic_id << 24);
    wr32(LAPIC + LAPIC_ICR_LO, lo);
    for (int i = 0; i < 1000 && (rd32(LAPIC + LAPIC_ICR_LO) & 0x1000); i++)
        io_delay(); /* delivery pending */
}

/* madt_cpus: the enabled local APIC IDs of the MADT at `madt` (at most
 * AP_MAX_CPUS); their number. */
static uint32_t madt_cpus(uint32_t madt, uint32_t ids[AP_MAX_CPUS])
{
    uint32_t n = 0;
    for (uint32_t o = 44; madt && o + 2 <= rd32(madt + 4);) {
        const volatile uint8_t *e = (const volatile uint8_t *)(madt + o);
        if (e[0] == 0 && (e[4] & 1) && n < AP_MAX_CPUS)
            ids[n++] = e[3];
        if (e[1] == 0)
            break;
        o += e[1];
    }
    return n;
}

/* bsp_apic_id: the local APIC ID of the CPU running this. */
static uint32_t bsp_apic_id(void)
{
    return rd32(LAPIC + LAPIC_ID) >> 24;
}

/* start_aps: INIT + SIPI to every ID of ids[0..n) but the BSP's. */
static void start_aps(const uint32_t *ids, uint32_t n)
{
    uint32_t bsp = bsp_apic_id();
    volatile char *dst = (volatile char *)AP_TRAMP;
    for (const char *s = tramp_start; s < tramp_end; s++)
        *dst++ = *s;
    wr32(LAPIC + LAPIC_SVR, rd32(LAPIC + LAPIC_SVR) | 0x100);
    for (uint32_t i = 0; i < n; i++) {
        if (ids[i] == bsp)
            continue;
        send_ipi(ids[i], 0x4500);                    /* INIT, assert */
        send_ipi(ids[i], 0x4600 | (AP_TRAMP >> 12)); /* STARTUP */
    }
}

#endif

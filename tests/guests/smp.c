/*
 * smp.c: the SMP guest. Finds the RSDP by scanning 0xe0000-0xfffff, walks
 * XSDT -> MADT for the local APIC IDs, checks the MP table at 0x9fc00, then
 * starts every AP with INIT + SIPI through the local APIC's ICR. Each AP
 * enters a real-mode trampoline at 0x8000, switches to protected mode,
 * takes a stack and reports its APIC ID (LAPIC ID register) on COM1 under
 * an xchg spinlock. The BSP waits for them, prints "SMP: N CPUs up" and
 * powers off through the PM1a control register the FADT names.
 */
#include "acpi_guest.h"

#define TRAMP     0x8000u /* SIPI vector 0x08 */
#define LAPIC     0xfee00000u
#define LAPIC_ID  0x20
#define LAPIC_SVR 0xf0
#define ICR_LO    0x300
#define ICR_HI    0x310
#define MAX_CPUS  16

void guest_main(uint32_t magic, uint32_t info);
void ap_main(void);
extern const char tramp_start[], tramp_end[];

volatile uint32_t ap_ticket, ap_up, print_lock;
uint8_t ap_stacks[MAX_CPUS][4096] __attribute__((aligned(16)));
/* Flat 32-bit code (0x10) and data (0x18), as the multiboot entry has. */
const uint64_t gdt[4] = {0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull};

/*
 * The AP trampoline, copied to TRAMP: real mode with CS = TRAMP >> 4, so
 * the GDTR is addressed relative to tramp_start; the far jump is to the
 * linked (absolute) address of ap_entry32.
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

static void send_ipi(uint32_t apic_id, uint32_t lo)
{
    wr32(LAPIC + ICR_HI, apic_id << 24);
    wr32(LAPIC + ICR_LO, lo);
    for (int i = 0; i < 1000 && (rd32(LAPIC + ICR_LO) & 0x1000); i++)
        io_delay(); /* delivery pending */
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
    uint32_t ids[MAX_CPUS], n = 0;
    for (uint32_t o = 44; o + 2 <= rd32(madt + 4);) {
        const volatile uint8_t *e = (const volatile uint8_t *)(madt + o);
        if (e[0] == 0 && (e[4] & 1) && n < MAX_CPUS)
            ids[n++] = e[3];
        if (e[1] == 0)
            break;
        o += e[1];
    }
    uint32_t bsp = rd32(LAPIC + LAPIC_ID) >> 24;
    serial_puts("ACPI: ");
    serial_putdec(n);
    serial_puts(" CPUs in the MADT, BSP APIC ID ");
    serial_putdec(bsp);
    serial_puts("\n");

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

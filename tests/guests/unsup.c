/*
 * unsup.c: the `unsupported instruction|reference|register` policies as a
 * guest sees them (tests/vm/cases/unsup-*.sh, docs/exit-codes.md row 5).
 * An IDT records the vector, error code and EIP of #UD and #GP and
 * resumes after the instruction under test; the guest prints one line
 * per step, "unsup: STEP: OUTCOME", where OUTCOME is "no exception" or
 * "#UD|#GP(err) at the instruction|after the instruction|at eip 0x...",
 * and for reads the value the destination register holds afterwards
 * (0x5a... when the instruction did not complete).
 *
 * Steps, in order (an `abort` policy ends qvm at its first step):
 *   insn-mmio   flds from unmapped guest-physical memory: KVM must emulate
 *               the access and its emulator has no x87 loads;
 *   insn-fetch  a jump to unmapped memory: KVM cannot even fetch the
 *               instruction (its length is unknown);
 *   ref-in, ref-out       a port nothing decodes (0x5a5);
 *   ref-read, ref-write   unmapped guest-physical memory;
 *   msr-read, msr-write   an MSR KVM does not implement (0xbad).
 */
#include "uart_irq.h"

#include "guest.h"

#define UNMAPPED 0x10000000u /* above unsup.qvmconf's 64 MiB of RAM */
#define PORT     0x5a5
#define MSR      0xbad
#define POISON   0x5a5a5a5au

/* uart_irq.h's UART stub: unused here. */
void uart_isr_c(void)
{
}

void guest_main(uint32_t magic, uint32_t info);
void trap_c(uint32_t *frame);
extern char isr_ud[], isr_gp[], isr_other[];

static volatile uint32_t trap_vec, trap_err, trap_eip, trap_count;
static volatile uint32_t resume_eip, t_at, t_next;

/* The stubs push an error code (0 for #UD) and the vector, then trap_c
 * gets the frame: vector, error code, EIP, CS, EFLAGS. */
__asm__(".text\n"
        "isr_ud:\n"
        "    pushl $0\n"
        "    pushl $6\n"
        "    jmp isr_common\n"
        "isr_gp:\n"
        "    pushl $13\n"
        "    jmp isr_common\n"
        "isr_common:\n"
        "    pusha\n"
        "    lea 32(%esp), %eax\n"
        "    push %eax\n"
        "    call trap_c\n"
        "    add $4, %esp\n"
        "    popa\n"
        "    add $8, %esp\n" IRET_BY_HAND "isr_other:\n"
        "    call other_trap\n");

void trap_c(uint32_t *frame)
{
    trap_vec = frame[0];
    trap_err = frame[1];
    trap_eip = frame[2];
    trap_count++;
    frame[2] = resume_eip;
}

void other_trap(void);
void other_trap(void)
{
    serial_puts("unsup: FAIL: an unexpected exception\n");
    poweroff();
    for (;;)
        __asm__ volatile("cli; hlt");
}

static void arm(void)
{
    trap_count = 0;
    trap_vec = trap_err = trap_eip = 0;
}

static void report(const char *step, int show_val, uint32_t val)
{
    serial_puts("unsup: ");
    serial_puts(step);
    serial_puts(": ");
    if (!trap_count) {
        serial_puts("no exception");
    } else {
        if (trap_vec == 6) {
            serial_puts("#UD");
        } else {
            serial_puts("#GP(");
            serial_putdec(trap_err);
            serial_puts(")");
        }
        if (trap_eip == t_at) {
            serial_puts(" at the instruction");
        } else if (trap_eip == t_next) {
            serial_puts(" after the instruction");
        } else {
            serial_puts(" at eip ");
            serial_puthex(trap_eip);
        }
    }
    if (show_val) {
        serial_puts(", value ");
        serial_puthex(val);
    }
    serial_puts("\n");
}

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    uint16_t cs = idt_begin(isr_other, isr_other);
    set_gate(6, isr_ud, cs);
    set_gate(13, isr_gp, cs);
    idt_load();
    serial_puts("unsup: start\n");

    arm();
    __asm__ volatile("movl $1f, %0\n"
                     "movl $2f, %1\n"
                     "movl $2f, %2\n"
                     "1: flds (%3)\n"
                     "2:\n"
                     : "=m"(t_at), "=m"(t_next), "=m"(resume_eip)
                     : "r"(UNMAPPED)
                     : "memory");
    report("insn-mmio", 0, 0);

    arm();
    t_at = UNMAPPED;
    t_next = 0;
    __asm__ volatile("movl $2f, %0\n"
                     "jmp *%1\n"
                     "2:\n"
                     : "=m"(resume_eip)
                     : "r"(UNMAPPED)
                     : "memory");
    report("insn-fetch", 0, 0);

    uint32_t v;
    arm();
    __asm__ volatile("movl $1f, %1\n"
                     "movl $2f, %2\n"
                     "movl $2f, %3\n"
                     "1: inb %%dx, %%al\n"
                     "2:\n"
                     : "=a"(v), "=m"(t_at), "=m"(t_next), "=m"(resume_eip)
                     : "a"(POISON), "d"(PORT)
                     : "memory");
    report("ref-in", 1, v);

    arm();
    __asm__ volatile("movl $1f, %0\n"
                     "movl $2f, %1\n"
                     "movl $2f, %2\n"
                     "1: outb %%al, %%dx\n"
                     "2:\n"
                     : "=m"(t_at), "=m"(t_next), "=m"(resume_eip)
                     : "a"(0x42), "d"(PORT)
                     : "memory");
    report("ref-out", 0, 0);

    arm();
    __asm__ volatile("movl $1f, %1\n"
                     "movl $2f, %2\n"
                     "movl $2f, %3\n"
                     "1: movl (%4), %0\n"
                     "2:\n"
                     : "=a"(v), "=m"(t_at), "=m"(t_next), "=m"(resume_eip)
                     : "r"(UNMAPPED), "a"(POISON)
                     : "memory");
    report("ref-read", 1, v);

    arm();
    __asm__ volatile("movl $1f, %0\n"
                     "movl $2f, %1\n"
                     "movl $2f, %2\n"
                     "1: movl %%eax, (%3)\n"
                     "2:\n"
                     : "=m"(t_at), "=m"(t_next), "=m"(resume_eip)
                     : "r"(UNMAPPED), "a"(0x42)
                     : "memory");
    report("ref-write", 0, 0);

    uint32_t hi;
    arm();
    __asm__ volatile("movl $1f, %2\n"
                     "movl $2f, %3\n"
                     "movl $2f, %4\n"
                     "1: rdmsr\n"
                     "2:\n"
                     : "=a"(v), "=d"(hi), "=m"(t_at), "=m"(t_next),
                       "=m"(resume_eip)
                     : "c"(MSR), "a"(POISON), "d"(POISON)
                     : "memory");
    report("msr-read", 1, v | hi);

    arm();
    __asm__ volatile("movl $1f, %0\n"
                     "movl $2f, %1\n"
                     "movl $2f, %2\n"
                     "1: wrmsr\n"
                     "2:\n"
                     : "=m"(t_at), "=m"(t_next), "=m"(resume_eip)
                     : "c"(MSR), "a"(0x9abcdef0u), "d"(0x12345678u)
                     : "memory");
    report("msr-write", 0, 0);

    serial_puts("unsup: done\n");
    poweroff();
}

/*
 * exc_report.h: a CPU exception in a freestanding test guest says what it
 * was instead of ending as a bare triple fault (qvm cannot report the
 * registers of one: KVM resets an SVM vCPU's state at a shutdown).
 * exc_report_install() loads a flat GDT of its own (the multiboot loader's
 * GDTR is not to be relied on: a far transfer through it may fault) and an
 * IDT whose 32 exception vectors print, on COM1,
 *
 *     <EXC_REPORT_NAME>: FAIL exception V on APIC A at EIP, error E, ...
 *
 * with EFLAGS, ESP (before the exception), EAX..EBP, CR2 and the eight
 * words on the interrupted stack, then run EXC_REPORT_EXIT() when the
 * includer defines it (a power-off, so the run ends now) and halt that CPU
 * with interrupts off.
 * Each CPU calls it (the APs too: the IDTR is per CPU). COM1 is written
 * without a lock: two CPUs faulting at once interleave their lines.
 */
#ifndef QVM_GUEST_EXC_REPORT_H
#define QVM_GUEST_EXC_REPORT_H

#include "guest.h"

#ifndef EXC_REPORT_NAME
#define EXC_REPORT_NAME "guest"
#endif

/* Each stub pushes a zero error code where the CPU pushes none, then its
 * vector, and joins exc_common: pusha, the frame's address, the C part. */
#define EXC_STUB(n)                                                            \
    "exc_stub" #n ":\n"                                                        \
    "  pushl $0\n"                                                             \
    "  pushl $" #n "\n"                                                        \
    "  jmp exc_common\n"
#define EXC_STUB_ERR(n)                                                        \
    "exc_stub" #n ":\n"                                                        \
    "  pushl $" #n "\n"                                                        \
    "  jmp exc_common\n"
/* clang-format off */
#define EXC_STUBS                                                              \
    EXC_STUB(0) EXC_STUB(1) EXC_STUB(2) EXC_STUB(3) EXC_STUB(4) EXC_STUB(5)    \
    EXC_STUB(6) EXC_STUB(7) EXC_STUB_ERR(8) EXC_STUB(9) EXC_STUB_ERR(10)       \
    EXC_STUB_ERR(11) EXC_STUB_ERR(12) EXC_STUB_ERR(13) EXC_STUB_ERR(14)        \
    EXC_STUB(15) EXC_STUB(16) EXC_STUB_ERR(17) EXC_STUB(18) EXC_STUB(19)       \
    EXC_STUB(20) EXC_STUB_ERR(21) EXC_STUB(22) EXC_STUB(23) EXC_STUB(24)       \
    EXC_STUB(25) EXC_STUB(26) EXC_STUB(27) EXC_STUB(28) EXC_STUB_ERR(29)       \
    EXC_STUB_ERR(30) EXC_STUB(31)
/* clang-format on */
__asm__(".text\n" EXC_STUBS "exc_common:\n"
        "  pusha\n"
        "  push %esp\n"
        "  call exc_report_c\n"
        "1: cli\n"
        "  hlt\n"
        "  jmp 1b\n");

extern char exc_stub0[], exc_stub1[], exc_stub2[], exc_stub3[], exc_stub4[],
    exc_stub5[], exc_stub6[], exc_stub7[], exc_stub8[], exc_stub9[],
    exc_stub10[], exc_stub11[], exc_stub12[], exc_stub13[], exc_stub14[],
    exc_stub15[], exc_stub16[], exc_stub17[], exc_stub18[], exc_stub19[],
    exc_stub20[], exc_stub21[], exc_stub22[], exc_stub23[], exc_stub24[],
    exc_stub25[], exc_stub26[], exc_stub27[], exc_stub28[], exc_stub29[],
    exc_stub30[], exc_stub31[];

/* The stack exc_common hands over: pusha's registers, the vector, the
 * error code, then what the CPU pushed (same privilege: no SS:ESP). */
struct exc_frame {
    uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
    uint32_t vec, err, eip, cs, eflags;
};

/* One " NAME 0x..." field of the report. */
static void exc_put(const char *name, uint32_t v)
{
    serial_puts(name);
    serial_puthex(v);
}

void exc_report_c(struct exc_frame *f);
void exc_report_c(struct exc_frame *f)
{
    uint32_t cr2, apic = *(volatile uint32_t *)0xfee00020u >> 24;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    /* The interrupted ESP: above the frame's EIP, CS, EFLAGS. */
    const uint32_t *sp = &f->eflags + 1;
    serial_puts(EXC_REPORT_NAME ": FAIL exception ");
    serial_putdec(f->vec);
    serial_puts(" on APIC ");
    serial_putdec(apic);
    exc_put(" at ", f->eip);
    exc_put(", error ", f->err);
    exc_put(", EFLAGS ", f->eflags);
    exc_put(", ESP ", (uint32_t)sp);
    exc_put(", CR2 ", cr2);
    exc_put("\n  EAX ", f->eax);
    exc_put(" EBX ", f->ebx);
    exc_put(" ECX ", f->ecx);
    exc_put(" EDX ", f->edx);
    exc_put(" ESI ", f->esi);
    exc_put(" EDI ", f->edi);
    exc_put(" EBP ", f->ebp);
    serial_puts("\n  stack");
    for (int i = 0; i < 8; i++)
        exc_put(" ", sp[i]);
    serial_puts("\n");
#ifdef EXC_REPORT_EXIT
    EXC_REPORT_EXIT();
#endif
}

static uint64_t exc_idt[32];

static inline void exc_report_install(void)
{
    static char *const stubs[32] = {
        exc_stub0,  exc_stub1,  exc_stub2,  exc_stub3,  exc_stub4,  exc_stub5,
        exc_stub6,  exc_stub7,  exc_stub8,  exc_stub9,  exc_stub10, exc_stub11,
        exc_stub12, exc_stub13, exc_stub14, exc_stub15, exc_stub16, exc_stub17,
        exc_stub18, exc_stub19, exc_stub20, exc_stub21, exc_stub22, exc_stub23,
        exc_stub24, exc_stub25, exc_stub26, exc_stub27, exc_stub28, exc_stub29,
        exc_stub30, exc_stub31};
    gdt_load();
    for (unsigned v = 0; v < 32; v++)
        exc_idt[v] = idt_gate(stubs[v], 0x10);
    idt_set(exc_idt, sizeof(exc_idt));
}

#endif

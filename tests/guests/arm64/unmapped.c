/*
 * unmapped.c: a 4-byte read from 0x10000000, where nothing is mapped,
 * under the configuration's `unsupported reference` policy: ignore, the
 * read gives all ones and the guest powers off; fail, a synchronous
 * external data abort at the load (ESR_EL1 EC 0x25, FSC 0x10, FAR_EL1 the
 * address, ELR_EL1 the load itself), reported and then powered off; abort,
 * qvm ends with 5. Used by tests/vm/cases-arm64/unsup-ref.sh.
 */
#include "guest.h"

#define UNMAPPED 0x10000000ul

extern char vectors[];
int main(uint64_t x0);
void exception(uint64_t esr, uint64_t far, uint64_t elr, uint64_t off);

void exception(uint64_t esr, uint64_t far, uint64_t elr, uint64_t off)
{
    report_exception("unmapped:", esr, far, elr, off);
}

int main(uint64_t x0)
{
    (void)x0;
    __asm__ volatile("msr vbar_el1, %0; isb" ::"r"(vectors));
    extern char load_insn[];
    puts_("unmapped: load at ");
    puthex((uint64_t)load_insn);
    puts_("\n");
    uint32_t v;
    __asm__ volatile(".global load_insn\nload_insn: ldr %w0, [%1]"
                     : "=r"(v)
                     : "r"(UNMAPPED)
                     : "memory");
    puts_("unmapped: read ");
    puthex(v);
    puts_("\n");
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

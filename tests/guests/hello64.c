/*
 * hello64.c: a plain ELF64 guest (no multiboot header). qvm enters it in
 * 64-bit mode with the first 4 GiB identity-mapped and no stack, so the
 * entry sets one up before calling C. Prints a banner and powers off.
 */
#include "guest.h"

void guest_main64(void);
void _start(void);

__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "    lea stack64+8192(%rip), %rsp\n"
        "    call guest_main64\n"
        "1:  cli\n"
        "    hlt\n"
        "    jmp 1b\n");

static unsigned char stack64[8192] __attribute__((aligned(16), used));

void guest_main64(void)
{
    serial_puts("Hello from the 64-bit qvm guest\n");
    poweroff();
}

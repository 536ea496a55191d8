/*
 * pvhguest.c: the PVH test guest. Checks the PVH entry state (32-bit
 * protected mode, paging off, CS = 0x10, TR = a 32-bit TSS) and struct
 * hvm_start_info v1 (Xen public/arch-x86/hvm/start_info.h): magic,
 * version, the command line, the initrd as module 0 and the memory map.
 * Prints each check on COM1, then "PVH-TEST: PASS" or "... FAIL", and
 * powers off.
 */
#include "bzcheck.h"

void pvh_main(const unsigned char *si);

void pvh_main(const unsigned char *si)
{
    uint32_t cr0;
    uint16_t cs, tr;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    __asm__ volatile("str %0" : "=r"(tr));
    serial_puts("pvh guest: start_info at ");
    serial_puthex((uint32_t)(uintptr_t)si);
    serial_puts(", cr0 ");
    serial_puthex(cr0);
    serial_puts(", tr ");
    serial_puthex(tr);
    serial_puts("\n");
    check((cr0 & 1) && !(cr0 & 0x80000000u), "protected mode, paging off");
    check(cs == 0x10, "CS = 0x10");
    check(tr == 0x20, "TR = 0x20 (32-bit TSS)");

    check(rd32(si) == 0x336ec578u, "hvm_start_info magic");
    check(rd32(si + 4) == 1, "hvm_start_info version 1");
    check_cmdline((const char *)(uintptr_t)rd64(si + 24));
    check(rd32(si + 12) == 1, "nr_modules = 1");
    const unsigned char *mod = (const unsigned char *)(uintptr_t)rd64(si + 16);
    if (rd32(si + 12) >= 1)
        check_initrd((const char *)(uintptr_t)rd64(mod), rd64(mod + 8));
    uint32_t n = rd32(si + 48);
    serial_puts("memmap entries: ");
    serial_putdec(n);
    serial_puts("\n");
    check(n >= 3 && n <= 128, "memmap_entries");
    check_memmap((const unsigned char *)(uintptr_t)rd64(si + 40), n, 24, 0);
    serial_puts("rsdp_paddr ");
    serial_puthex((uint32_t)rd64(si + 32));
    serial_puts("\n");

    serial_puts(failures ? "PVH-TEST: FAIL\n" : "PVH-TEST: PASS\n");
    poweroff();
}

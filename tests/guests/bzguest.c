/*
 * bzguest.c: the bzImage test kernel's 64-bit entry (see bzguest.S). It
 * reads boot_params the way Linux does (Documentation/x86/zero-page.rst):
 * the copied setup header, type_of_loader, cmd_line_ptr, ramdisk_*, the
 * e820 table; and checks the CPU state of the 64-bit boot protocol (long
 * mode with paging, CS = 0x10, interrupts off). Prints each check on COM1,
 * then "BZIMAGE-TEST: PASS" or "... FAIL", and powers off.
 */
#include "bzcheck.h"

void bz_main(const unsigned char *bp);

static uint64_t rdmsr(uint32_t idx)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(idx));
    return (uint64_t)hi << 32 | lo;
}

void bz_main(const unsigned char *bp)
{
    uint64_t cr0, cr3, cr4, rflags;
    uint16_t cs;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    __asm__ volatile("pushfq; pop %0" : "=r"(rflags));
    uint64_t efer = rdmsr(0xc0000080);
    serial_puts("bzimage guest: boot_params at ");
    puthex64((uint64_t)(uintptr_t)bp);
    serial_puts(", cr0 ");
    puthex64(cr0);
    serial_puts(", cr3 ");
    puthex64(cr3);
    serial_puts(", cr4 ");
    puthex64(cr4);
    serial_puts(", efer ");
    puthex64(efer);
    serial_puts("\n");
    check((cr0 & 0x80000001u) == 0x80000001u, "CR0.PE and CR0.PG");
    check(cr4 & 0x20, "CR4.PAE");
    check((efer & 0x500) == 0x500, "EFER.LME and EFER.LMA");
    check(cs == 0x10, "CS = 0x10 (__BOOT_CS)");
    check(!(rflags & 0x200), "interrupts off");

    check(rd32(bp + 0x202) == 0x53726448u, "setup header copied (HdrS)");
    check((bp[0x1fe] | bp[0x1ff] << 8) == 0xaa55, "boot_flag copied");
    check(bp[0x210] == 0xff, "type_of_loader = 0xff");
    check(bp[0x211] & 1, "loadflags LOADED_HIGH");
    check((bp[0x1fa] | bp[0x1fb] << 8) == 0xffff, "vid_mode = 0xffff");
    check(rd32(bp + 0x214) == 0x100000, "code32_start = load address");

    uint64_t cl = rd32(bp + 0x228) | (uint64_t)rd32(bp + 0xc8) << 32;
    check_cmdline((const char *)(uintptr_t)cl);

    uint64_t rd = rd32(bp + 0x218) | (uint64_t)rd32(bp + 0xc0) << 32;
    uint64_t rdsz = rd32(bp + 0x21c) | (uint64_t)rd32(bp + 0xc4) << 32;
    check(rd >= 0x100000 + rd32(bp + 0x260), "initrd above init_size");
    check_initrd((const char *)(uintptr_t)rd, rdsz);

    uint32_t n = bp[0x1e8];
    serial_puts("e820 entries: ");
    serial_putdec(n);
    serial_puts("\n");
    check(n >= 4 && n <= 128, "e820_entries");
    check_memmap(bp + 0x2d0, n, 20, cr3);
    uint64_t rsdp = rd64(bp + 0x70);
    serial_puts("acpi_rsdp_addr ");
    puthex64(rsdp);
    serial_puts("\n");

    /* The identity map reaches the top of RAM. */
    volatile uint32_t *top = (volatile uint32_t *)(uintptr_t)0x3fff000;
    *top = 0x5a5aa5a5u;
    check(*top == 0x5a5aa5a5u, "identity map covers the top of RAM");

    serial_puts(failures ? "BZIMAGE-TEST: FAIL\n" : "BZIMAGE-TEST: PASS\n");
    poweroff();
}

/*
 * mbinfo_aout.S: multiboot 1 header with the a.out kludge (flag 16) and
 * the entry for the mbaout guest (mbinfo.c linked flat by mbinfo_aout.ld
 * and turned into a raw file with objcopy -O binary, so the loader must
 * use the header's addresses, not an ELF).
 */
#define MB_FLAGS 0x00010003 /* page-align modules, memory info, a.out */

    .section .multiboot, "a"
    .align 4
mb_header:
    .long 0x1BADB002            /* magic */
    .long MB_FLAGS
    .long -(0x1BADB002 + MB_FLAGS)
    .long mb_header             /* header_addr */
    .long _load_start           /* load_addr */
    .long _load_end             /* load_end_addr */
    .long _bss_end              /* bss_end_addr */
    .long _start                /* entry_addr */

    .text
    .globl _start
_start:
    cli
    movl $stack_top, %esp
    pushl %ebx
    pushl %eax
    call guest_main
1:  cli
    hlt
    jmp 1b

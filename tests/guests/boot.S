/*
 * boot.S: multiboot1 header and entry for the freestanding test guests.
 * The loader enters in 32-bit protected mode with EAX = 0x2BADB002 and
 * EBX = the multiboot info; we set a stack and call guest_main(eax, ebx).
 */
    .section .multiboot, "a"
    .align 4
    .long 0x1BADB002            /* magic */
    .long 0x00000003            /* flags: page-align modules, memory info */
    .long -(0x1BADB002 + 0x3)   /* checksum */

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

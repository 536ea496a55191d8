/*
 * raw.S: entry of the raw guest, a flat binary (objcopy -O binary) that qvm
 * loads at the `load` address and enters at its first byte in 32-bit
 * protected mode (docs/boot.md). No multiboot header, no ELF.
 */
    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    movl $stack_top, %esp
    call raw_main
1:  cli
    hlt
    jmp 1b

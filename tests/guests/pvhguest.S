/*
 * pvhguest.S: the PVH test guest's Xen note (XEN_ELFNOTE_PHYS32_ENTRY,
 * Xen public/elfnote.h) and 32-bit entry: EBX = hvm_start_info; set a
 * stack and call pvh_main(start_info).
 */
    .section .note.Xen, "a", @note
    .align 4
    .long 4                 /* namesz */
    .long 4                 /* descsz */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start

    .text
    .code32
    .globl pvh_start
pvh_start:
    cli
    movl $stack_top, %esp
    pushl %ebx
    call pvh_main
1:  cli
    hlt
    jmp 1b

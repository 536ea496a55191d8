/* vectors.S: an EL1 vector table whose every entry calls
 * exception(esr, far, elr, offset of the entry), which does not return. */
    .section .text.vectors, "ax"
    .balign 2048
    .global vectors
vectors:
    .irp off, 0x000, 0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780
    .balign 128
    mrs x0, esr_el1
    mrs x1, far_el1
    mrs x2, elr_el1
    mov x3, #\off
    b exception
    .endr

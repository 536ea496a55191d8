/* irqvec.S: an EL1 vector table for the interrupt-taking guests (gic.c,
 * smp.c). An IRQ from the current EL with SP_ELx (offset 0x280) saves the
 * registers a C call may clobber, calls irq() and returns with ERET; every
 * other entry calls exception(esr, far, elr, offset of the entry), which
 * does not return. Also secondary_entry: where PSCI CPU_ON starts a
 * secondary vCPU (x0 = the context id): its own stack, then
 * secondary_main(x0). */
    .section .text.vectors, "ax"
    .balign 2048
    .global irq_vectors
irq_vectors:
    .irp off, 0x000, 0x080, 0x100, 0x180, 0x200
    .balign 128
    mrs x0, esr_el1
    mrs x1, far_el1
    mrs x2, elr_el1
    mov x3, #\off
    b exception
    .endr
    .balign 128 /* 0x280: IRQ, current EL with SP_ELx */
    stp x0, x1, [sp, #-176]!
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x29, [sp, #144]
    str x30, [sp, #160]
    bl irq
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x29, [sp, #144]
    ldr x30, [sp, #160]
    ldp x0, x1, [sp], #176
    eret
    .irp off, 0x300, 0x380, 0x400, 0x480, 0x500, 0x580, 0x600, 0x680, 0x700, 0x780
    .balign 128
    mrs x0, esr_el1
    mrs x1, far_el1
    mrs x2, elr_el1
    mov x3, #\off
    b exception
    .endr

    .text
    .weak secondary_main /* a guest without secondaries has none */
    .global secondary_entry
secondary_entry:
    ldr x1, =secondary_stack_top
    mov sp, x1
    bl secondary_main
1:  wfi
    b 1b

    .bss
    .balign 16
    .space 0x2000
secondary_stack_top:

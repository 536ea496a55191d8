/* start.S: entry of the freestanding aarch64 guests (EL1h, MMU off, x0 =
 * the device tree or 0): a stack below _stack_top, then main(x0). */
    .section .text.start, "ax"
    .global _start
_start:
    ldr x1, =_stack_top
    mov sp, x1
    bl main
1:  wfi
    b 1b

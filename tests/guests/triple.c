/*
 * triple.c: prints a banner, then loads an empty IDT and raises an
 * exception: the exception cannot be delivered, which becomes a double and
 * then a triple fault. qvm must exit 0 with "guest reset (triple fault)".
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_puts("triple: about to triple-fault\n");
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } idtr = {0, 0};
    __asm__ volatile("lidt %0" : : "m"(idtr));
    __asm__ volatile("ud2");
    serial_puts("triple: still alive: FAIL\n");
}

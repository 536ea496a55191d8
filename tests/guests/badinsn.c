/*
 * badinsn.c: prints a banner, then executes the x87 instruction fwait
 * (0x9b). The kvm_pvm backend emulates ring-0 guest code and cannot
 * emulate it, so KVM reports an internal error: qvm must exit 96 and print
 * the vCPU registers and the instruction bytes ("9b ..."). On a KVM that
 * runs it natively (VMX/SVM) the guest powers off instead (exit 0,
 * "badinsn: fwait ran").
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_puts("badinsn: executing fwait\n");
    __asm__ volatile(".byte 0x9b"); /* fwait */
    serial_puts("badinsn: fwait ran\n");
    poweroff();
}

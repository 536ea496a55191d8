/*
 * badinsn.c: prints a banner, then executes the x87 instruction fwait
 * (0x9b). The kvm_pvm backend emulates ring-0 guest code and cannot
 * emulate it, so KVM reports an internal error: qvm must exit 96 and print
 * the vCPU registers and the instruction bytes ("9b ..."). A KVM with
 * VMX/SVM runs fwait natively ("badinsn: fwait ran"); the guest then jumps
 * to BAD_RIP, guest-physical memory that is neither RAM nor a device: no
 * KVM can fetch an instruction there (an emulation failure, the same
 * internal error), so the outcome is 96 on every host.
 */
#include "guest.h"

/* Above the 64 MiB of RAM of badinsn.qvmconf, below every device. */
#define BAD_RIP 0x10000000u

void guest_main(uint32_t magic, uint32_t info);

void guest_main(uint32_t magic, uint32_t info)
{
    (void)magic, (void)info;
    serial_puts("badinsn: executing fwait\n");
    __asm__ volatile(".byte 0x9b"); /* fwait */
    serial_puts("badinsn: fwait ran; jumping to unmapped 0x10000000\n");
    __asm__ volatile("jmp *%0" : : "r"(BAD_RIP));
    serial_puts("badinsn: FAIL: ran on after the jump\n");
    poweroff();
}

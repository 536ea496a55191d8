/*
 * layout.h: fixed x86 guest-physical addresses qvm uses for itself.
 * KVM needs three pages for the real-mode TSS and one for the EPT identity
 * map below 4 GiB; they sit just below the BIOS area at the top of 4 GiB,
 * where no `ram` line should go (the I/O APIC is at 0xfec00000/0xf8000000,
 * the ROM window at 0xfffc0000).
 */
#ifndef QVM_ARCH_X86_LAYOUT_H
#define QVM_ARCH_X86_LAYOUT_H

#define X86_IDENTITY_MAP_ADDR 0xfeffc000ull /* 1 page */
#define X86_TSS_ADDR          0xfeffd000ull /* 3 pages */

#endif

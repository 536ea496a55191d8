/*
 * insn_len.h: the length of one x86 instruction from its bytes, for
 * `unsupported instruction ignore` (qvm skips an instruction KVM cannot
 * emulate). Pure: no KVM, no guest memory.
 *
 * Decodes legacy prefixes, REX, VEX (C4/C5), EVEX (62) and the one-byte,
 * 0F, 0F38 and 0F3A opcode maps: ModRM, SIB, displacements and
 * immediates. It does not check that the instruction is valid, only how
 * long it is; AMD's XOP (8F with ModRM.reg != 0) and 3DNow! suffixes are
 * decoded where their length is fixed, XOP is reported unknown.
 */
#ifndef QVM_ARCH_X86_INSN_LEN_H
#define QVM_ARCH_X86_INSN_LEN_H

#include <stddef.h>
#include <stdint.h>

enum x86_cpu_mode {
    X86_MODE_16, /* CS.D = 0 (real mode, 16-bit protected mode) */
    X86_MODE_32, /* CS.D = 1 */
    X86_MODE_64, /* EFER.LMA and CS.L */
};

/*
 * x86_insn_len: the length (1-15) of the instruction that starts at
 * b[0], decoded in `mode`; 0 when the n bytes given end before the
 * instruction does, or when it is longer than 15 bytes or cannot be
 * decoded (then the caller does not know where the next one starts).
 */
unsigned x86_insn_len(const uint8_t *b, size_t n, enum x86_cpu_mode mode);

#endif

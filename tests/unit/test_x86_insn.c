/*
 * test_x86_insn.c: the instruction length decoder (src/arch/x86/insn_len.c)
 * against encodings from GNU as (objdump's lengths) in 16-, 32- and 64-bit
 * modes, truncated input, and the `unsupported` policy decisions
 * (src/vm/unsup.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch/x86/insn_len.h"
#include "vm/unsup.h"

struct vec {
    enum x86_cpu_mode mode;
    uint8_t b[15];
    unsigned len;
};

/* Generated with GNU as + objdump -d (the comment is the instruction). */
static const struct vec vecs[] = {
    {X86_MODE_32, {0xd9, 0x00}, 2}, /* flds   (%eax) */
    {X86_MODE_32,
     {0xd9, 0x05, 0x00, 0x00, 0x00, 0x10},
     6},                                        /* flds   0x10000000 */
    {X86_MODE_32, {0xdd, 0x44, 0x8b, 0x08}, 4}, /* fldl   0x8(%ebx,%ecx,4) */
    {X86_MODE_32,
     {0xc7, 0x05, 0x78, 0x56, 0x34, 0x12, 0x01, 0x00, 0x00, 0x00},
     10}, /* movl   $0x1,0x12345678 */
    {X86_MODE_32,
     {0x66, 0xc7, 0x80, 0x34, 0x12, 0x00, 0x00, 0x01, 0x00},
     9},                            /* movw   $0x1,0x1234(%eax) */
    {X86_MODE_32, {0xe4, 0x60}, 2}, /* in     $0x60,%al */
    {X86_MODE_32, {0xec}, 1},       /* in     (%dx),%al */
    {X86_MODE_32, {0xef}, 1},       /* out    %eax,(%dx) */
    {X86_MODE_32, {0x0f, 0x32}, 2}, /* rdmsr */
    {X86_MODE_32, {0x0f, 0x30}, 2}, /* wrmsr */
    {X86_MODE_32, {0x0f, 0x0b}, 2}, /* ud2 */
    {X86_MODE_32,
     {0x05, 0x78, 0x56, 0x34, 0x12},
     5},                                        /* add    $0x12345678,%eax */
    {X86_MODE_32, {0x04, 0x01}, 2},             /* add    $0x1,%al */
    {X86_MODE_32, {0x83, 0x04, 0x24, 0x01}, 4}, /* addl   $0x1,(%esp) */
    {X86_MODE_32,
     {0x81, 0x44, 0x24, 0x04, 0x00, 0x01, 0x00, 0x00},
     8},                                        /* addl   $0x100,0x4(%esp) */
    {X86_MODE_32, {0xf6, 0x45, 0x10, 0x01}, 4}, /* testb  $0x1,0x10(%ebp) */
    {X86_MODE_32,
     {0xf7, 0x00, 0x00, 0x00, 0x01, 0x00},
     6},                            /* testl  $0x10000,(%eax) */
    {X86_MODE_32, {0xf7, 0x10}, 2}, /* notl   (%eax) */
    {X86_MODE_32,
     {0xa1, 0x78, 0x56, 0x34, 0x12},
     5}, /* mov    0x12345678,%eax */
    {X86_MODE_32,
     {0x66, 0xa1, 0x34, 0x12, 0x00, 0x00},
     6}, /* mov    0x1234,%ax */
    {X86_MODE_32,
     {0x8d, 0x4c, 0x58, 0x10},
     4}, /* lea    0x10(%eax,%ebx,2),%ecx */
    {X86_MODE_32,
     {0x8d, 0x0c, 0x85, 0x00, 0x00, 0x00, 0x00},
     7},                            /* lea    0x0(,%eax,4),%ecx */
    {X86_MODE_32, {0xeb, 0xfe}, 2}, /* jmp    0x5e */
    {X86_MODE_32, {0xe8, 0xfb, 0xff, 0xff, 0xff}, 5},       /* call   0x60 */
    {X86_MODE_32, {0x0f, 0x85, 0xfa, 0x0f, 0x00, 0x00}, 6}, /* jne    0x1065 */
    {X86_MODE_32,
     {0xea, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00},
     7},                                        /* ljmp   $0x10,$0x1000 */
    {X86_MODE_32, {0xc8, 0x08, 0x00, 0x00}, 4}, /* enter  $0x8,$0x0 */
    {X86_MODE_32, {0xc2, 0x04, 0x00}, 3},       /* ret    $0x4 */
    {X86_MODE_32, {0x0f, 0x28, 0x00}, 3},       /* movaps (%eax),%xmm0 */
    {X86_MODE_32,
     {0xf3, 0x0f, 0x6f, 0x48, 0x10},
     5}, /* movdqu 0x10(%eax),%xmm1 */
    {X86_MODE_32,
     {0x66, 0x0f, 0x70, 0x00, 0x1b},
     5}, /* pshufd $0x1b,(%eax),%xmm0 */
    {X86_MODE_32, {0x66, 0x0f, 0x38, 0x00, 0x00}, 5}, /* pshufb (%eax),%xmm0 */
    {X86_MODE_32,
     {0x66, 0x0f, 0x3a, 0x16, 0x00, 0x01},
     6},                                        /* pextrd $0x1,%xmm0,(%eax) */
    {X86_MODE_32, {0xf3, 0x0f, 0xb8, 0x08}, 4}, /* popcnt (%eax),%ecx */
    {X86_MODE_32, {0x0f, 0xa4, 0x03, 0x03}, 4}, /* shld   $0x3,%eax,(%ebx) */
    {X86_MODE_32, {0x0f, 0xba, 0x20, 0x03}, 4}, /* btl    $0x3,(%eax) */
    {X86_MODE_32, {0x0f, 0xc7, 0x0e}, 3},       /* cmpxchg8b (%esi) */
    {X86_MODE_32, {0xc5, 0xfe, 0x6f, 0x00}, 4}, /* vmovdqu (%eax),%ymm0 */
    {X86_MODE_32,
     {0xc5, 0xfd, 0x70, 0x08, 0x01},
     5}, /* vpshufd $0x1,(%eax),%ymm1 */
    {X86_MODE_32,
     {0xc4, 0xe3, 0xfd, 0x00, 0x08, 0x01},
     6},                                  /* vpermq $0x1,(%eax),%ymm1 */
    {X86_MODE_32, {0xc5, 0xf8, 0x77}, 3}, /* vzeroupper */
    {X86_MODE_32,
     {0x62, 0xf1, 0x7e, 0x48, 0x6f, 0x40, 0x01},
     7},                                  /* vmovdqu32 0x40(%eax),%zmm0 */
    {X86_MODE_32, {0xc4, 0x00}, 2},       /* les    (%eax),%eax */
    {X86_MODE_32, {0x9b}, 1},             /* fwait */
    {X86_MODE_32, {0xf0, 0xff, 0x00}, 3}, /* lock incl (%eax) */
    {X86_MODE_32, {0xf3, 0xa4}, 2},       /* rep movsb %ds:(%esi),%es:(%edi) */
    {X86_MODE_32, {0x67, 0x8b, 0x00}, 3}, /* mov    (%bx,%si),%eax */
    {X86_MODE_32,
     {0x67, 0x66, 0xc7, 0x47, 0x02, 0x34, 0x12},
     7},                                  /* movw   $0x1234,0x2(%bx) */
    {X86_MODE_32, {0xcd, 0x80}, 2},       /* int    $0x80 */
    {X86_MODE_32, {0x0f, 0xa2}, 2},       /* cpuid */
    {X86_MODE_32, {0x0f, 0x20, 0xc0}, 3}, /* mov    %cr0,%eax */
    {X86_MODE_32, {0x0f, 0xc8}, 2},       /* bswap  %eax */
    {X86_MODE_64, {0xd9, 0x00}, 2},       /* flds   (%rax) */
    {X86_MODE_64,
     {0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     10}, /* movabs $0x1122334455667788,%rax */
    {X86_MODE_64,
     {0xb8, 0x44, 0x33, 0x22, 0x11},
     5}, /* mov    $0x11223344,%eax */
    {X86_MODE_64,
     {0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     9}, /* movabs 0x1122334455667788,%al */
    {X86_MODE_64,
     {0x8b, 0x05, 0x10, 0x00, 0x00, 0x00},
     6}, /* mov    0x10(%rip),%eax */
    {X86_MODE_64,
     {0x48, 0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00},
     11},                                       /* movq   $0x1,0x10(%rip) */
    {X86_MODE_64, {0x41, 0x89, 0x04, 0x24}, 4}, /* mov    %eax,(%r12) */
    {X86_MODE_64, {0x41, 0x89, 0x45, 0x00}, 4}, /* mov    %eax,0x0(%r13) */
    {X86_MODE_64, {0x4c, 0x8b, 0x04, 0x24}, 4}, /* mov    (%rsp),%r8 */
    {X86_MODE_64,
     {0x48, 0x05, 0x78, 0x56, 0x34, 0x12},
     6}, /* add    $0x12345678,%rax */
    {X86_MODE_64, {0x66, 0xc7, 0x00, 0x01, 0x00}, 5}, /* movw   $0x1,(%rax) */
    {X86_MODE_64, {0xe9, 0xfb, 0x00, 0x00, 0x00}, 5}, /* jmp    0x142 */
    {X86_MODE_64, {0xe8, 0xfb, 0xff, 0xff, 0xff}, 5}, /* call   0x47 */
    {X86_MODE_64, {0x0f, 0x85, 0xfa, 0x0f, 0x00, 0x00}, 6}, /* jne    0x104c */
    {X86_MODE_64, {0xc5, 0x7e, 0x6f, 0x00}, 4}, /* vmovdqu (%rax),%ymm8 */
    {X86_MODE_64,
     {0xc4, 0xc3, 0xfd, 0x00, 0x09, 0x01},
     6}, /* vpermq $0x1,(%r9),%ymm1 */
    {X86_MODE_64,
     {0x62, 0xe1, 0xfe, 0x48, 0x6f, 0x40, 0x01},
     7},                            /* vmovdqu64 0x40(%rax),%zmm16 */
    {X86_MODE_64, {0x0f, 0x32}, 2}, /* rdmsr */
    {X86_MODE_64, {0x48, 0x0f, 0xc7, 0x0f}, 4}, /* cmpxchg16b (%rdi) */
    {X86_MODE_64, {0xec}, 1},                   /* in     (%dx),%al */
    {X86_MODE_64,
     {0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10},
     7},                                  /* mov    0x10000000,%eax */
    {X86_MODE_64, {0x67, 0x8b, 0x00}, 3}, /* mov    (%eax),%eax */
    {X86_MODE_64,
     {0xf0, 0x48, 0x0f, 0xc1, 0x03},
     5}, /* lock xadd %rax,(%rbx) */
    {X86_MODE_16,
     {0xc7, 0x47, 0x02, 0x34, 0x12},
     5}, /* movw   $0x1234,0x2(%bx) */
    {X86_MODE_16,
     {0x66, 0xc7, 0x47, 0x02, 0x78, 0x56, 0x34, 0x12},
     8},                                  /* movl   $0x12345678,0x2(%bx) */
    {X86_MODE_16, {0xa1, 0x34, 0x12}, 3}, /* mov    0x1234,%ax */
    {X86_MODE_16, {0x67, 0x66, 0x8b, 0x00}, 4}, /* mov    (%eax),%eax */
    {X86_MODE_16, {0xe4, 0x60}, 2},             /* in     $0x60,%al */
    {X86_MODE_16, {0xe9, 0xfd, 0x00}, 3},       /* jmp    0x116 */
    {X86_MODE_16, {0xd9, 0x04}, 2},             /* flds   (%si) */
};

static void lengths(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        const struct vec *v = &vecs[i];
        uint8_t buf[15];
        /* What follows the instruction must not matter. */
        memset(buf, 0x90, sizeof(buf));
        memcpy(buf, v->b, v->len);
        unsigned got = x86_insn_len(buf, sizeof(buf), v->mode);
        if (got != v->len)
            fail_msg("vector %zu (mode %d, first byte 0x%02x): length %u, "
                     "expected %u",
                     i, (int)v->mode, v->b[0], got, v->len);
        /* Exactly the instruction's bytes are enough... */
        assert_int_equal(x86_insn_len(v->b, v->len, v->mode), v->len);
        /* ...and one fewer is not. */
        assert_int_equal(x86_insn_len(v->b, v->len - 1, v->mode), 0);
    }
}

static void mode_matters(void **state)
{
    (void)state;
    /* 40 is inc %eax in 32-bit mode, REX in 64-bit mode. */
    static const uint8_t rex[] = {0x40, 0x90};
    assert_int_equal(x86_insn_len(rex, 2, X86_MODE_32), 1);
    assert_int_equal(x86_insn_len(rex, 2, X86_MODE_64), 2);
    /* b8 imm: 16 bits in 16-bit mode, 32 in 32-bit mode. */
    static const uint8_t mov[] = {0xb8, 1, 2, 3, 4};
    assert_int_equal(x86_insn_len(mov, 5, X86_MODE_16), 3);
    assert_int_equal(x86_insn_len(mov, 5, X86_MODE_32), 5);
    /* c4 with a memory ModRM is les outside 64-bit mode, VEX inside
     * (here with map 0, which does not exist: unknown). */
    static const uint8_t c4[] = {0xc4, 0x00, 0x90, 0x90, 0x90};
    assert_int_equal(x86_insn_len(c4, 5, X86_MODE_32), 2);
    assert_int_equal(x86_insn_len(c4, 5, X86_MODE_64), 0);
    /* vmovdqa (%rax),%ymm0 in its three-byte VEX form: VEX in both. */
    static const uint8_t vex3[] = {0xc4, 0xe1, 0x7d, 0x6f, 0x00, 0x90};
    assert_int_equal(x86_insn_len(vex3, 6, X86_MODE_32), 5);
    assert_int_equal(x86_insn_len(vex3, 6, X86_MODE_64), 5);
}

static void limits(void **state)
{
    (void)state;
    assert_int_equal(x86_insn_len(NULL, 0, X86_MODE_32), 0);
    /* Prefixes only: more than 15 bytes is no instruction. */
    uint8_t pfx[15];
    memset(pfx, 0x66, sizeof(pfx));
    assert_int_equal(x86_insn_len(pfx, sizeof(pfx), X86_MODE_32), 0);
    /* 14 prefixes and a one-byte opcode: 15, the longest there is. */
    pfx[14] = 0x90;
    assert_int_equal(x86_insn_len(pfx, sizeof(pfx), X86_MODE_32), 15);
    /* 14 prefixes and an opcode with a ModRM: 16 bytes, too long. */
    pfx[14] = 0x8b;
    assert_int_equal(x86_insn_len(pfx, sizeof(pfx), X86_MODE_32), 0);
    /* AMD XOP (8f with ModRM.reg != 0) is not decoded; pop r/m is. */
    static const uint8_t xop[] = {0x8f, 0xe9, 0x78, 0x90, 0xc0, 0x90};
    static const uint8_t pop[] = {0x8f, 0x00};
    assert_int_equal(x86_insn_len(xop, sizeof(xop), X86_MODE_64), 0);
    assert_int_equal(x86_insn_len(pop, sizeof(pop), X86_MODE_64), 2);
}

static void policies(void **state)
{
    (void)state;
    bool no_len = true;
    assert_int_equal(unsup_insn_do(UNSUP_FAIL, 3, &no_len), UNSUP_DO_FAULT);
    assert_false(no_len);
    assert_int_equal(unsup_insn_do(UNSUP_ABORT, 3, &no_len), UNSUP_DO_ABORT);
    assert_false(no_len);
    assert_int_equal(unsup_insn_do(UNSUP_IGNORE, 3, &no_len), UNSUP_DO_IGNORE);
    assert_false(no_len);
    /* ignore without a length: the instruction faults, and says why. */
    assert_int_equal(unsup_insn_do(UNSUP_IGNORE, 0, &no_len), UNSUP_DO_FAULT);
    assert_true(no_len);
    assert_int_equal(unsup_insn_do(UNSUP_ABORT, 0, &no_len), UNSUP_DO_ABORT);
    assert_false(no_len);
    assert_int_equal(unsup_do(UNSUP_ABORT), UNSUP_DO_ABORT);
    assert_int_equal(unsup_do(UNSUP_FAIL), UNSUP_DO_FAULT);
    assert_int_equal(unsup_do(UNSUP_IGNORE), UNSUP_DO_IGNORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lengths),
        cmocka_unit_test(mode_matters),
        cmocka_unit_test(limits),
        cmocka_unit_test(policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

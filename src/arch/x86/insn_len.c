/*
 * insn_len.c: x86 instruction length decoding (insn_len.h), after the
 * opcode maps of the Intel SDM volume 2 appendix A and AMD's APM volume 3.
 */
#include "arch/x86/insn_len.h"

#include <stdbool.h>

#define MAX_LEN 15

/* Immediate kinds. */
enum imm {
    I_NONE,
    I_8,
    I_16,
    I_Z,    /* 2 or 4 bytes by operand size */
    I_V,    /* 2, 4 or 8 (REX.W): mov r, imm (B8-BF) */
    I_MOFF, /* address size: mov al/ax, moffs (A0-A3) */
    I_PTR,  /* z + 2: far pointer (9A, EA) */
    I_ENTER /* 16 + 8 (C8) */
};

struct dec {
    const uint8_t *b;
    size_t n, at;
    bool op16, addr16, addr64, rex_w;
};

static bool more(const struct dec *d, size_t k)
{
    return d->at + k <= d->n && d->at + k <= MAX_LEN;
}

/* ModRM (at d->at) with its SIB and displacement; false when cut short. */
static bool modrm(struct dec *d)
{
    if (!more(d, 1))
        return false;
    uint8_t m = d->b[d->at++];
    unsigned mod = m >> 6, rm = m & 7, disp = 0;
    if (mod == 3)
        return true;
    if (d->addr16) {
        if (mod == 1)
            disp = 1;
        else if (mod == 2 || (mod == 0 && rm == 6))
            disp = 2;
    } else {
        if (rm == 4) {
            if (!more(d, 1))
                return false;
            uint8_t sib = d->b[d->at++];
            if (mod == 0 && (sib & 7) == 5)
                disp = 4;
        }
        if (mod == 1)
            disp = 1;
        else if (mod == 2 || (mod == 0 && rm == 5))
            disp = 4;
    }
    if (!more(d, disp))
        return false;
    d->at += disp;
    return true;
}

static unsigned imm_size(const struct dec *d, enum imm k)
{
    unsigned z = d->op16 ? 2 : 4;
    switch (k) {
    case I_8:
        return 1;
    case I_16:
        return 2;
    case I_Z:
        return z;
    case I_V:
        return d->rex_w ? 8 : z;
    case I_MOFF:
        return d->addr16 ? 2 : d->addr64 ? 8 : 4;
    case I_PTR:
        return z + 2;
    case I_ENTER:
        return 3;
    default:
        return 0;
    }
}

static unsigned finish(struct dec *d, bool has_modrm, enum imm k)
{
    if (has_modrm && !modrm(d))
        return 0;
    unsigned s = imm_size(d, k);
    if (!more(d, s))
        return 0;
    return (unsigned)(d->at + s);
}

/* The one-byte map (op already consumed). */
static unsigned one_byte(struct dec *d, uint8_t op)
{
    if (op < 0x40) {
        switch (op & 7) {
        case 4:
            return finish(d, false, I_8);
        case 5:
            return finish(d, false, I_Z);
        case 6:
        case 7:
            return finish(d, false, I_NONE);
        default:
            return finish(d, true, I_NONE);
        }
    }
    if (op < 0x62)
        return finish(d, false, I_NONE); /* inc/dec, push/pop, pusha */
    if (op <= 0x63)
        return finish(d, true, I_NONE); /* bound, arpl/movsxd */
    switch (op) {
    case 0x68:
        return finish(d, false, I_Z);
    case 0x69:
        return finish(d, true, I_Z);
    case 0x6a:
        return finish(d, false, I_8);
    case 0x6b:
        return finish(d, true, I_8);
    case 0x80:
    case 0x82:
    case 0x83:
    case 0xc0:
    case 0xc1:
    case 0xc6:
        return finish(d, true, I_8);
    case 0x81:
    case 0xc7:
        return finish(d, true, I_Z);
    case 0x9a:
    case 0xea:
        return finish(d, false, I_PTR);
    case 0xa8:
    case 0xcd:
    case 0xd4:
    case 0xd5:
    case 0xeb:
        return finish(d, false, I_8);
    case 0xa9:
    case 0xe8:
    case 0xe9:
        return finish(d, false, I_Z);
    case 0xc2:
    case 0xca:
        return finish(d, false, I_16);
    case 0xc8:
        return finish(d, false, I_ENTER);
    case 0xf6:
    case 0xf7: {
        /* test r/m, imm: ModRM.reg 0 or 1 */
        if (!more(d, 1))
            return 0;
        unsigned reg = (d->b[d->at] >> 3) & 7;
        return finish(d, true, reg > 1 ? I_NONE : op == 0xf6 ? I_8 : I_Z);
    }
    default:
        break;
    }
    if (op >= 0x70 && op <= 0x7f)
        return finish(d, false, I_8);
    if (op >= 0x84 && op <= 0x8f)
        return finish(d, true, I_NONE);
    if (op >= 0xa0 && op <= 0xa3)
        return finish(d, false, I_MOFF);
    if (op >= 0xb0 && op <= 0xb7)
        return finish(d, false, I_8);
    if (op >= 0xb8 && op <= 0xbf)
        return finish(d, false, I_V);
    if ((op >= 0xc4 && op <= 0xc5) || (op >= 0xd0 && op <= 0xd3) ||
        (op >= 0xd8 && op <= 0xdf) || op == 0xfe || op == 0xff)
        return finish(d, true, I_NONE);
    if (op >= 0xe0 && op <= 0xe7)
        return finish(d, false, I_8);
    return finish(d, false, I_NONE); /* 6c-6f, 90-9f, a4-af, c3, c9... */
}

/* The 0F map (op after 0F). */
static unsigned two_byte(struct dec *d, uint8_t op)
{
    switch (op) {
    case 0x0f: /* 3DNow!: ModRM, then the opcode as an imm8 */
    case 0x70:
    case 0x71:
    case 0x72:
    case 0x73:
    case 0xa4:
    case 0xac:
    case 0xba:
    case 0xc2:
    case 0xc4:
    case 0xc5:
    case 0xc6:
        return finish(d, true, I_8);
    default:
        break;
    }
    if ((op >= 0x04 && op <= 0x0c) || op == 0x0e ||
        (op >= 0x30 && op <= 0x37) || op == 0x77 || op == 0xa0 || op == 0xa1 ||
        op == 0xa2 || op == 0xa8 || op == 0xa9 || op == 0xaa ||
        (op >= 0xc8 && op <= 0xcf))
        return finish(d, false, I_NONE);
    if (op >= 0x80 && op <= 0x8f)
        return finish(d, false, I_Z);
    return finish(d, true, I_NONE);
}

/* An opcode in VEX/EVEX map `map` (1 0F, 2 0F38, 3 0F3A, 5/6 FP16). */
static unsigned vex_map(struct dec *d, unsigned map, bool evex)
{
    if (!more(d, 1))
        return 0;
    uint8_t op = d->b[d->at++];
    switch (map) {
    case 1:
        if (op == 0x77 && !evex) /* vzeroupper/vzeroall */
            return finish(d, false, I_NONE);
        if ((op >= 0x70 && op <= 0x73) || op == 0xc2 ||
            (op >= 0xc4 && op <= 0xc6))
            return finish(d, true, I_8);
        return finish(d, true, I_NONE);
    case 2:
    case 5:
    case 6:
        return finish(d, true, I_NONE);
    case 3:
        return finish(d, true, I_8);
    default:
        return 0;
    }
}

unsigned x86_insn_len(const uint8_t *b, size_t n, enum x86_cpu_mode mode)
{
    struct dec d = {.b = b, .n = n};
    bool m64 = mode == X86_MODE_64;
    bool def16 = mode == X86_MODE_16;
    bool p66 = false, p67 = false;
    for (;;) {
        if (!more(&d, 1))
            return 0;
        uint8_t c = b[d.at];
        if (c == 0x66)
            p66 = true;
        else if (c == 0x67)
            p67 = true;
        else if (!(c == 0xf0 || c == 0xf2 || c == 0xf3 || c == 0x2e ||
                   c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 ||
                   c == 0x65))
            break;
        d.at++;
    }
    d.op16 = def16 != p66;
    d.addr16 = !m64 && def16 != p67;
    d.addr64 = m64 && !p67;
    uint8_t op = b[d.at];
    if (m64 && (op & 0xf0) == 0x40) { /* REX */
        d.rex_w = op & 8;
        d.at++;
        if (!more(&d, 1))
            return 0;
        op = b[d.at];
        if (d.rex_w)
            d.op16 = false;
    }
    if (m64 && (op == 0xe8 || op == 0xe9 || (op >= 0x70 && op <= 0x7f)))
        d.op16 = false; /* near branches: rel32 in 64-bit mode */
    d.at++;
    /* VEX and EVEX: in 64-bit mode always, else when the next byte
     * would be a register ModRM (LES/LDS/BOUND take memory only). */
    if ((op == 0xc4 || op == 0xc5 || op == 0x62) && more(&d, 1) &&
        (m64 || (b[d.at] & 0xc0) == 0xc0)) {
        if (op == 0xc5) {
            d.at += 1;
            return vex_map(&d, 1, false);
        }
        if (op == 0xc4) {
            if (!more(&d, 2))
                return 0;
            unsigned map = b[d.at] & 0x1f;
            d.at += 2;
            return vex_map(&d, map, false);
        }
        if (!more(&d, 3))
            return 0;
        unsigned map = b[d.at] & 7;
        d.at += 3;
        return vex_map(&d, map, true);
    }
    if (op == 0x8f && more(&d, 1) && (b[d.at] & 0x38) != 0)
        return 0; /* AMD XOP */
    if (op != 0x0f)
        return one_byte(&d, op);
    if (!more(&d, 1))
        return 0;
    op = b[d.at++];
    if (op == 0x38 || op == 0x3a) {
        if (!more(&d, 1))
            return 0;
        d.at++;
        return finish(&d, true, op == 0x3a ? I_8 : I_NONE);
    }
    if (m64 && op >= 0x80 && op <= 0x8f)
        d.op16 = false;
    return two_byte(&d, op);
}

/*
 * elf.c: ELF32/ELF64 loading for x86 guests and ELF64 for aarch64 guests
 * (System V gABI, "Program header"). Segments are loaded at p_paddr;
 * p_memsz beyond p_filesz is zeroed. Every field from the image is checked
 * before use.
 */
#include <elf.h>
#include <string.h>

#include "loader/boot.h"
#include "util/ckd.h"

#define fail boot_fail

/* One program header, widened to 64 bits. */
struct phdr {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz;
};

static int read_phdr(const struct boot_image *img, bool is64, uint64_t off,
                     struct phdr *p)
{
    if (is64) {
        Elf64_Phdr h;
        memcpy(&h, img->data + off, sizeof(h));
        *p = (struct phdr){h.p_type,  h.p_offset, h.p_vaddr,
                           h.p_paddr, h.p_filesz, h.p_memsz};
    } else {
        Elf32_Phdr h;
        memcpy(&h, img->data + off, sizeof(h));
        *p = (struct phdr){h.p_type,  h.p_offset, h.p_vaddr,
                           h.p_paddr, h.p_filesz, h.p_memsz};
    }
    return 0;
}

static int load_segment(struct gview *v, const struct boot_image *img,
                        unsigned i, const struct phdr *p, struct boot_err *err)
{
    uint64_t fend, mend;
    if (p->filesz > p->memsz)
        return fail(err, "phdr[%u]: p_filesz 0x%llx > p_memsz 0x%llx", i,
                    (unsigned long long)p->filesz,
                    (unsigned long long)p->memsz);
    if (ckd_add(&fend, p->offset, p->filesz) || fend > img->size)
        return fail(err,
                    "phdr[%u]: file data [0x%llx, +0x%llx) is past the end "
                    "of the file (0x%zx bytes)",
                    i, (unsigned long long)p->offset,
                    (unsigned long long)p->filesz, img->size);
    if (p->memsz == 0)
        return 0;
    if (ckd_add(&mend, p->paddr, p->memsz))
        return fail(err, "phdr[%u]: 0x%llx + 0x%llx overflows", i,
                    (unsigned long long)p->paddr, (unsigned long long)p->memsz);
    unsigned char *dst = gview_ptr(v, p->paddr, p->memsz);
    if (!dst)
        return fail(err,
                    "phdr[%u]: segment [0x%llx, 0x%llx) is not inside one "
                    "ram/rom region",
                    i, (unsigned long long)p->paddr, (unsigned long long)mend);
    if (!gview_is_free(v, p->paddr, p->memsz))
        return fail(err,
                    "phdr[%u]: segment [0x%llx, 0x%llx) overlaps "
                    "another loaded image",
                    i, (unsigned long long)p->paddr, (unsigned long long)mend);
    memcpy(dst, img->data + p->offset, p->filesz);
    memset(dst + p->filesz, 0, p->memsz - p->filesz);
    if (gview_mark_used(v, p->paddr, p->memsz) < 0)
        return fail(err, "out of memory");
    return 0;
}

/* The machine check: x86 (EM_386, EM_X86_64) or aarch64 (ELF64 EM_AARCH64). */
static int check_machine(enum arch arch, bool is64, unsigned machine,
                         struct boot_err *err)
{
    if (arch != ARCH_AARCH64) {
        if (machine == EM_386 || machine == EM_X86_64)
            return 0;
        if (machine == EM_AARCH64 || machine == EM_ARM)
            return fail(err,
                        "an %s ELF (e_machine %u) is not for x86-64 guests",
                        machine == EM_ARM ? "ARM" : "AArch64", machine);
        return fail(err, "ELF machine %u is not x86", machine);
    }
    if (machine == EM_AARCH64 && is64)
        return 0;
    if (machine == EM_ARM)
        return fail(err,
                    "a 32-bit ARM ELF (ELFCLASS32, EM_ARM): aarch64 guests "
                    "boot AArch64 images only (ELF64, EM_AARCH64)");
    if (machine == EM_386 || machine == EM_X86_64)
        return fail(err, "an x86 ELF (e_machine %u) is not for aarch64 guests",
                    machine);
    if (!is64)
        return fail(err,
                    "ELF32 machine %u is not for aarch64 guests "
                    "(ELF64 EM_AARCH64 expected)",
                    machine);
    return fail(err, "ELF machine %u is not AArch64 (EM_AARCH64 = %u)", machine,
                (unsigned)EM_AARCH64);
}

int elf_load(struct gview *v, const struct boot_image *img, uint64_t *entry,
             uint64_t *hi, struct boot_err *err)
{
    return elf_load_arch(v, img, ARCH_X86_64, entry, hi, err);
}

int elf_load_arch(struct gview *v, const struct boot_image *img, enum arch arch,
                  uint64_t *entry, uint64_t *hi, struct boot_err *err)
{
    const unsigned char *d = img->data;
    if (img->size < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG) != 0)
        return fail(err, "not an ELF file");
    if (d[EI_DATA] != ELFDATA2LSB)
        return fail(err, arch == ARCH_AARCH64
                             ? "big-endian ELF: qvm runs little-endian "
                               "aarch64 guests"
                             : "big-endian ELF is not an x86 image");
    bool is64 = d[EI_CLASS] == ELFCLASS64;
    if (!is64 && d[EI_CLASS] != ELFCLASS32)
        return fail(err, "unknown ELF class %u", d[EI_CLASS]);
    uint64_t phoff, e_entry;
    unsigned phnum, phentsize, machine, type;
    if (is64) {
        Elf64_Ehdr h;
        if (img->size < sizeof(h))
            return fail(err, "truncated ELF header");
        memcpy(&h, d, sizeof(h));
        phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
        machine = h.e_machine, type = h.e_type, e_entry = h.e_entry;
    } else {
        Elf32_Ehdr h;
        if (img->size < sizeof(h))
            return fail(err, "truncated ELF header");
        memcpy(&h, d, sizeof(h));
        phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
        machine = h.e_machine, type = h.e_type, e_entry = h.e_entry;
    }
    if (check_machine(arch, is64, machine, err) < 0)
        return -1;
    if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
        return fail(err, "bad e_phentsize %u", phentsize);
    if (type != ET_EXEC && type != ET_DYN)
        return fail(err, "ELF type %u is not an executable", type);
    uint64_t tab, tabend;
    if (phnum == 0)
        return fail(err, "ELF has no program headers");
    if (ckd_mul(&tab, (uint64_t)phnum, (uint64_t)phentsize) ||
        ckd_add(&tabend, phoff, tab) || tabend > img->size)
        return fail(err, "program header table is past the end of the file");

    bool any = false, entry_set = false;
    *hi = 0;
    *entry = e_entry;
    for (unsigned i = 0; i < phnum; i++) {
        struct phdr p;
        read_phdr(img, is64, phoff + (uint64_t)i * phentsize, &p);
        if (p.type != PT_LOAD)
            continue;
        if (load_segment(v, img, i, &p, err) < 0)
            return -1;
        any = true;
        uint64_t end = p.paddr + p.memsz; /* checked in load_segment */
        if (end > *hi)
            *hi = end;
        uint64_t vend;
        if (!entry_set && !ckd_add(&vend, p.vaddr, p.memsz) &&
            e_entry >= p.vaddr && e_entry < vend) {
            *entry = e_entry - p.vaddr + p.paddr;
            entry_set = true;
        }
    }
    if (!any)
        return fail(err, "ELF has no PT_LOAD segment");
    return 0;
}

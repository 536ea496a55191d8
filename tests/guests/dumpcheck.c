/*
 * dumpcheck.c: a host tool (not a guest) for tests/vm/cases/dump.sh,
 * built static and placed beside the guests so that the VM test payload
 * carries it into the nested lab, which has no gdb. It reads a guest dump
 * (docs/dumps.md) the way a debugger would and checks it:
 *
 *   dumpcheck [-r] FILE NCPUS RIP_LO RIP_HI [GPA STRING]
 *
 * An AArch64 core (EM_AARCH64: tests/vm/cases-arm64/, built into
 * guests/arm64/) is checked the same way with the PC for rip and, in its
 * "QVM" notes, MPIDR_EL1 bit 31 (RES1) for CR0.PE.
 *
 * an ELF64 x86-64 core; exactly NCPUS NT_PRSTATUS notes with pr_pid 1..N
 * in order, each rip in [RIP_LO, RIP_HI) and inside a PT_LOAD; NCPUS "QVM"
 * notes (version 1, valid, CR0.PE set); one NT_PRPSINFO; every PT_LOAD
 * within the file with p_paddr = p_vaddr; STRING at guest-physical GPA
 * (through the PT_LOAD that holds it). -r: the vCPUs may be in their
 * reset state (AMD's KVM reinitialises a vCPU after a triple fault): no
 * CR0.PE check. Prints what it found; exit 0 when everything holds, 1
 * otherwise.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NT_QVM_X86_SYSREGS   0x51564d01u /* src/arch/x86/core_notes.h */
#define NT_QVM_ARM64_SYSREGS 0x51564d02u /* src/arch/arm64/core_notes.h */
#ifndef EM_AARCH64
#define EM_AARCH64 183
#endif

/* Linux's elf_prstatus of each: its size, pr_pid at 32, pr_reg at 112;
 * the indices of the PC and the SP in pr_reg (x86-64 user_regs_struct:
 * rip 16, rsp 19; arm64 user_pt_regs: x0-x30, sp 31, pc 32). Offsets,
 * not the host's struct: the tool runs on either. */
#define PRSTATUS_X86   336u
#define PRSTATUS_ARM64 392u

static int bad;

static void no(const char *msg, unsigned long long v)
{
    printf("dumpcheck: FAIL: %s (0x%llx)\n", msg, v);
    bad = 1;
}

static int rd(int fd, void *b, size_t n, uint64_t off)
{
    return pread(fd, b, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

int main(int argc, char **argv)
{
    int reset_ok = argc > 1 && !strcmp(argv[1], "-r");
    if (reset_ok) {
        argv++;
        argc--;
    }
    if (argc != 5 && argc != 7) {
        fprintf(
            stderr,
            "usage: dumpcheck [-r] FILE NCPUS RIP_LO RIP_HI [GPA STRING]\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        perror(argv[1]);
        return 1;
    }
    unsigned ncpus = (unsigned)strtoul(argv[2], NULL, 0);
    uint64_t lo = strtoull(argv[3], NULL, 0), hi = strtoull(argv[4], NULL, 0);
    Elf64_Ehdr eh;
    if (rd(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_CORE ||
        (eh.e_machine != EM_X86_64 && eh.e_machine != EM_AARCH64) ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum < 2 ||
        eh.e_phnum > 64) {
        printf("dumpcheck: FAIL: not an ELF64 x86-64 or AArch64 core\n");
        return 1;
    }
    int arm = eh.e_machine == EM_AARCH64;
    printf("dumpcheck: %s core\n", arm ? "AArch64" : "x86-64");
    Elf64_Phdr ph[64];
    if (rd(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff)) {
        printf("dumpcheck: FAIL: program headers\n");
        return 1;
    }
    unsigned nload = 0;
    Elf64_Phdr *note = NULL;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_NOTE)
            note = &ph[i];
        if (ph[i].p_type != PT_LOAD)
            continue;
        nload++;
        printf("dumpcheck: PT_LOAD gpa 0x%llx size 0x%llx at 0x%llx\n",
               (unsigned long long)ph[i].p_paddr,
               (unsigned long long)ph[i].p_filesz,
               (unsigned long long)ph[i].p_offset);
        if (ph[i].p_paddr != ph[i].p_vaddr)
            no("p_paddr != p_vaddr", ph[i].p_paddr);
        if (ph[i].p_offset + ph[i].p_filesz > (uint64_t)sb.st_size)
            no("PT_LOAD past the end of the file", ph[i].p_offset);
    }
    if (!note || !nload || note->p_filesz > 1 << 20) {
        printf("dumpcheck: FAIL: no PT_NOTE or no PT_LOAD\n");
        return 1;
    }
    unsigned char *n = malloc(note->p_filesz);
    if (!n || rd(fd, n, note->p_filesz, note->p_offset)) {
        printf("dumpcheck: FAIL: notes unreadable\n");
        return 1;
    }
    unsigned nst = 0, nq = 0, nps = 0;
    for (uint64_t o = 0; o + sizeof(Elf64_Nhdr) <= note->p_filesz;) {
        Elf64_Nhdr nh;
        memcpy(&nh, n + o, sizeof(nh));
        uint64_t dn = o + sizeof(nh) + ((nh.n_namesz + 3) & ~3u);
        uint64_t next = dn + ((nh.n_descsz + 3) & ~3u);
        if (next > note->p_filesz || nh.n_namesz == 0) {
            no("a note runs past PT_NOTE", o);
            break;
        }
        const char *name = (const char *)n + o + sizeof(nh);
        if (name[nh.n_namesz - 1] != 0) {
            no("a note name is not terminated", o);
            break;
        }
        if (!strcmp(name, "CORE") && nh.n_type == NT_PRSTATUS &&
            nh.n_descsz == (arm ? PRSTATUS_ARM64 : PRSTATUS_X86)) {
            int32_t pid;
            uint64_t pc, sp;
            memcpy(&pid, n + dn + 32, 4);
            memcpy(&pc, n + dn + 112 + 8 * (arm ? 32 : 16), 8);
            memcpy(&sp, n + dn + 112 + 8 * (arm ? 31 : 19), 8);
            printf("dumpcheck: vCPU %d: %s 0x%llx %s 0x%llx\n", pid - 1,
                   arm ? "pc" : "rip", (unsigned long long)pc,
                   arm ? "sp" : "rsp", (unsigned long long)sp);
            if (pid != (int)nst + 1)
                no("pr_pid out of order", (unsigned long long)pid);
            if (pc < lo || pc >= hi)
                no("the PC outside the guest's code", pc);
            int in = 0;
            for (unsigned i = 0; i < eh.e_phnum; i++)
                in |= ph[i].p_type == PT_LOAD && pc >= ph[i].p_paddr &&
                      pc - ph[i].p_paddr < ph[i].p_filesz;
            if (!in)
                no("the PC in no PT_LOAD", pc);
            nst++;
        } else if (arm && !strcmp(name, "QVM") &&
                   nh.n_type == NT_QVM_ARM64_SYSREGS && nh.n_descsz >= 112) {
            uint32_t ver, vcpu, valid;
            uint64_t sctlr, mpidr;
            memcpy(&ver, n + dn, 4);
            memcpy(&vcpu, n + dn + 4, 4);
            memcpy(&valid, n + dn + 8, 4);
            memcpy(&sctlr, n + dn + 56, 8);
            memcpy(&mpidr, n + dn + 104, 8);
            printf("dumpcheck: vCPU %u: sctlr_el1 0x%llx mpidr_el1 0x%llx\n",
                   vcpu, (unsigned long long)sctlr, (unsigned long long)mpidr);
            if (ver != 1 || !valid || vcpu != nq || !(mpidr & (1ull << 31)))
                no("QVM note: version, valid, vCPU or MPIDR_EL1", mpidr);
            nq++;
        } else if (!arm && !strcmp(name, "QVM") &&
                   nh.n_type == NT_QVM_X86_SYSREGS && nh.n_descsz >= 56) {
            uint32_t ver, vcpu, valid;
            uint64_t cr0, cr3;
            memcpy(&ver, n + dn, 4);
            memcpy(&vcpu, n + dn + 4, 4);
            memcpy(&valid, n + dn + 8, 4);
            memcpy(&cr0, n + dn + 16, 8);
            memcpy(&cr3, n + dn + 32, 8);
            printf("dumpcheck: vCPU %u: cr0 0x%llx cr3 0x%llx\n", vcpu,
                   (unsigned long long)cr0, (unsigned long long)cr3);
            if (ver != 1 || !valid || vcpu != nq || (!reset_ok && !(cr0 & 1)))
                no("QVM note: version, valid, vCPU or CR0.PE", cr0);
            nq++;
        } else if (!strcmp(name, "CORE") && nh.n_type == NT_PRPSINFO) {
            nps++;
        }
        o = next;
    }
    printf("dumpcheck: %u PT_LOAD, %u NT_PRSTATUS, %u QVM, %u NT_PRPSINFO\n",
           nload, nst, nq, nps);
    if (nst != ncpus || nq != ncpus || nps != 1)
        no("note counts", nst);
    if (argc == 7) {
        uint64_t gpa = strtoull(argv[5], NULL, 0);
        size_t len = strlen(argv[6]);
        char buf[256];
        int found = 0;
        for (unsigned i = 0; i < eh.e_phnum && len < sizeof(buf); i++)
            if (ph[i].p_type == PT_LOAD && gpa >= ph[i].p_paddr &&
                gpa - ph[i].p_paddr + len <= ph[i].p_filesz &&
                !rd(fd, buf, len, ph[i].p_offset + gpa - ph[i].p_paddr))
                found = !memcmp(buf, argv[6], len);
        if (!found)
            no("the string is not at its guest-physical address", gpa);
        else
            printf("dumpcheck: 0x%llx: \"%s\"\n", (unsigned long long)gpa,
                   argv[6]);
    }
    if (!bad)
        printf("dumpcheck: ok\n");
    return bad;
}

/*
 * rawkvm: the benchmark floor (bench/README.md). The least a VMM must do to
 * run the bench guests: open /dev/kvm, create a VM with one memory slot and
 * one vCPU, copy the guest ELF32's PT_LOAD segments into guest memory, enter
 * at the ELF entry in 32-bit protected mode with flat segments (as qvm
 * does, EAX = the multiboot magic, EBX = an empty multiboot info), and run.
 * Port I/O is emulated minimally: writes to COM1's data register go to
 * stdout one byte per write(2), COM1's LSR reads "transmitter empty", port
 * 0x80 is a sink, and a write with SLP_EN to the PM1a control port 0x604,
 * any write to 0xf4, or hlt ends the run with status 0. No irqchip, no
 * CPUID setup, no threads. Standalone: libc and <linux/kvm.h> only.
 *
 * Usage: rawkvm [-m MIB] GUEST.ELF    (MIB: guest RAM, default 256)
 * Exit status: 0 when the guest powers off or halts; 1 on any error.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define COM1       0x3f8
#define COM1_LSR   (COM1 + 5)
#define LSR_EMPTY  0x60 /* THRE | TEMT */
#define POST_PORT  0x80
#define DEBUG_EXIT 0xf4
#define PM1A_CNT   0x604
#define SLP_EN     (1u << 13)
#define MB_MAGIC   0x2BADB002u
#define MBI_ADDR   0x9000 /* an all-zero multiboot info: no fields valid */
#define MIB        (1024ull * 1024)

struct raw {
    int kvm, vm, vcpu;
    uint8_t *ram;
    uint64_t ram_size;
    struct kvm_run *run;
};

static int fail(const char *what)
{
    fprintf(stderr, "rawkvm: %s: %s\n", what, strerror(errno));
    return -1;
}

/* Copies the PT_LOAD segments of the ELF32 image at `img` into RAM. */
static int load_elf(struct raw *r, const uint8_t *img, size_t len,
                    uint32_t *entry)
{
    Elf32_Ehdr eh;

    if (len < sizeof(eh))
        return errno = ENOEXEC, fail("guest");
    memcpy(&eh, img, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_machine != EM_386)
        return errno = ENOEXEC, fail("guest (not an ELF32 i386 image)");
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr ph;
        uint64_t at = eh.e_phoff + (uint64_t)i * eh.e_phentsize;

        if (at + sizeof(ph) > len)
            return errno = ENOEXEC, fail("guest program headers");
        memcpy(&ph, img + at, sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        if (ph.p_filesz > ph.p_memsz ||
            (uint64_t)ph.p_offset + ph.p_filesz > len ||
            (uint64_t)ph.p_paddr + ph.p_memsz > r->ram_size)
            return errno = ENOEXEC, fail("guest segment");
        memcpy(r->ram + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
    }
    *entry = eh.e_entry;
    return 0;
}

static int load_file(struct raw *r, const char *path, uint32_t *entry)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0)
        return fail(path);
    void *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (img == MAP_FAILED)
        return fail(path);
    int e = load_elf(r, img, (size_t)st.st_size, entry);
    munmap(img, (size_t)st.st_size);
    return e;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
    *s = (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = sel,
        .type = type,
        .present = 1,
        .db = 1,
        .s = 1,
        .g = 1,
    };
}

static int setup_vm(struct raw *r)
{
    struct kvm_userspace_memory_region region;

    r->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (r->kvm < 0)
        return fail("/dev/kvm");
    r->vm = ioctl(r->kvm, KVM_CREATE_VM, 0);
    if (r->vm < 0)
        return fail("KVM_CREATE_VM");
    r->ram = mmap(NULL, r->ram_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r->ram == MAP_FAILED)
        return fail("guest RAM");
    region = (struct kvm_userspace_memory_region){
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = r->ram_size,
        .userspace_addr = (uintptr_t)r->ram,
    };
    if (ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return fail("KVM_SET_USER_MEMORY_REGION");
    return 0;
}

static int setup_vcpu(struct raw *r, uint32_t entry)
{
    struct kvm_sregs s;
    struct kvm_regs regs = {0};

    r->vcpu = ioctl(r->vm, KVM_CREATE_VCPU, 0);
    if (r->vcpu < 0)
        return fail("KVM_CREATE_VCPU");
    int size = ioctl(r->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < 0)
        return fail("KVM_GET_VCPU_MMAP_SIZE");
    r->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
                  r->vcpu, 0);
    if (r->run == MAP_FAILED)
        return fail("kvm_run");
    if (ioctl(r->vcpu, KVM_GET_SREGS, &s) < 0)
        return fail("KVM_GET_SREGS");
    flat_seg(&s.cs, 0x10, 0xb);
    flat_seg(&s.ds, 0x18, 0x3);
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.cr0 = 0x11; /* PE | ET */
    s.cr4 = 0;
    s.efer = 0;
    if (ioctl(r->vcpu, KVM_SET_SREGS, &s) < 0)
        return fail("KVM_SET_SREGS");
    regs.rflags = 0x2;
    regs.rip = entry;
    regs.rax = MB_MAGIC;
    regs.rbx = MBI_ADDR;
    if (ioctl(r->vcpu, KVM_SET_REGS, &regs) < 0)
        return fail("KVM_SET_REGS");
    return 0;
}

/* Handles one port-I/O exit; returns 1 to go on, 0 at power-off. */
static int port_io(struct raw *r)
{
    uint8_t *data = (uint8_t *)r->run + r->run->io.data_offset;
    uint16_t port = r->run->io.port;
    unsigned size = r->run->io.size;

    for (uint32_t i = 0; i < r->run->io.count; i++, data += size) {
        if (r->run->io.direction == KVM_EXIT_IO_IN) {
            memset(data, 0xff, size);
            if (port == COM1_LSR)
                data[0] = LSR_EMPTY;
            continue;
        }
        if (port == COM1) {
            if (write(STDOUT_FILENO, data, 1) < 0)
                return fail("stdout");
        } else if (port == DEBUG_EXIT) {
            return 0;
        } else if (port == PM1A_CNT && size == 2) {
            uint16_t v;
            memcpy(&v, data, 2);
            if (v & SLP_EN)
                return 0;
        }
    }
    return 1;
}

static int run_guest(struct raw *r)
{
    for (;;) {
        if (ioctl(r->vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return fail("KVM_RUN");
        }
        switch (r->run->exit_reason) {
        case KVM_EXIT_IO: {
            int e = port_io(r);
            if (e <= 0)
                return e;
            break;
        }
        case KVM_EXIT_HLT:
            return 0;
        default:
            fprintf(stderr, "rawkvm: unexpected exit reason %u\n",
                    r->run->exit_reason);
            return -1;
        }
    }
}

int main(int argc, char **argv)
{
    struct raw r = {.ram_size = 256 * MIB};
    uint32_t entry = 0;
    int opt;

    while ((opt = getopt(argc, argv, "m:")) != -1) {
        if (opt != 'm' || atoi(optarg) < 2) {
            fprintf(stderr, "usage: rawkvm [-m MIB] GUEST.ELF\n");
            return 1;
        }
        r.ram_size = (uint64_t)atoi(optarg) * MIB;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: rawkvm [-m MIB] GUEST.ELF\n");
        return 1;
    }
    if (setup_vm(&r) < 0 || load_file(&r, argv[optind], &entry) < 0 ||
        setup_vcpu(&r, entry) < 0 || run_guest(&r) < 0)
        return 1;
    return 0;
}

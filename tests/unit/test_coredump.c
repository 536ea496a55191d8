/*
 * test_coredump.c: the guest dump's ELF64 core (vm/coredump.c) with the
 * x86-64 notes (arch/x86/core_notes.c), from a fake machine: two memory
 * regions holding marker strings and two vCPUs with known registers.
 * The file's structure is parsed here; Debian's gdb then reads it
 * (`info registers` of each thread, `x/s` of the markers): skipped when
 * gdb is missing, a failure with CI=true. A dump of mostly untouched
 * memory is sparse (st_blocks), the pipe form carries zeros instead, and
 * a 1 GiB dump leaves the RSS where it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/core_notes.h"
#include "vm/coredump.h"

#define PAGE    4096ull
#define MARKER1 "qvm-dump-marker: low memory"
#define MARKER2 "qvm-dump-marker: high region"
#define GPA1    0x0ull
#define GPA2    0x100000ull
#define SIZE1   0x40000ull  /* 256 KiB */
#define SIZE2   0x200000ull /* 2 MiB */
#define OFF1    0x1234ull
#define OFF2    0x80010ull

static void *map(uint64_t size)
{
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

struct fake {
    unsigned char *m1, *m2;
    struct core_region rg[2];
    struct x86_core_cpu cpu[2];
    struct core_notes cn;
};

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    f->m1 = map(SIZE1);
    f->m2 = map(SIZE2);
    memcpy(f->m1 + OFF1, MARKER1, sizeof(MARKER1));
    memcpy(f->m2 + OFF2, MARKER2, sizeof(MARKER2));
    f->rg[0] = (struct core_region){GPA1, SIZE1, f->m1};
    f->rg[1] = (struct core_region){GPA2, SIZE2, f->m2};
    for (unsigned i = 0; i < 2; i++) {
        struct x86_core_cpu *c = &f->cpu[i];
        c->valid = true;
        c->regs.rip = 0x101000 + i * 0x10;
        c->regs.rsp = 0x8ff0 + i * 0x1000;
        c->regs.rax = 0x1111111100000000ull + i;
        c->regs.rflags = 0x202;
        c->sregs.cs.selector = 0x10;
        c->sregs.ss.selector = 0x18;
        c->sregs.ds.selector = 0x18;
        c->sregs.cr0 = 0x80000011;
        c->sregs.cr3 = 0x2000 + i * 0x1000;
        c->sregs.cr4 = 0x20;
        c->sregs.efer = 0x500;
        c->sregs.gdt.base = 0x9000;
        c->sregs.gdt.limit = 0x1f;
        c->sregs.idt.base = 0xa000;
        c->sregs.idt.limit = 0xfff;
    }
    assert_int_equal(x86_core_notes(f->cpu, 2, "dumptest", &f->cn), 0);
}

static void fake_free(struct fake *f)
{
    core_notes_free(&f->cn);
    munmap(f->m1, SIZE1);
    munmap(f->m2, SIZE2);
}

static int tmpfile_fd(char *path)
{
    strcpy(path, "/tmp/qvm-core-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    return fd;
}

static int pagemap(void)
{
    return open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
}

static void write_fake(struct fake *f, int fd)
{
    struct core_opts o = {
        .machine = EM_X86_64, .seekable = true, .pagemap_fd = -1};
    struct core_stats st;
    assert_int_equal(core_write(fd, f->rg, 2, f->cn.notes, f->cn.n, &o, &st),
                     0);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return b;
}

/* The structure: ELF header, PT_NOTE with 2 x (PRSTATUS, QVM) + PRPSINFO,
 * a PT_LOAD per region at its guest-physical address. */
static void test_layout(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    char path[64];
    int fd = tmpfile_fd(path);
    write_fake(&f, fd);
    close(fd);
    size_t len;
    unsigned char *b = slurp(path, &len);
    unlink(path);
    Elf64_Ehdr eh;
    memcpy(&eh, b, sizeof(eh));
    assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
    assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
    assert_int_equal(eh.e_type, ET_CORE);
    assert_int_equal(eh.e_machine, EM_X86_64);
    assert_int_equal(eh.e_phnum, 3);
    Elf64_Phdr ph[3];
    memcpy(ph, b + eh.e_phoff, sizeof(ph));
    assert_int_equal(ph[0].p_type, PT_NOTE);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(ph[1 + i].p_type, PT_LOAD);
        assert_int_equal(ph[1 + i].p_paddr, f.rg[i].gpa);
        assert_int_equal(ph[1 + i].p_vaddr, f.rg[i].gpa);
        assert_int_equal(ph[1 + i].p_filesz, f.rg[i].size);
        assert_int_equal(ph[1 + i].p_offset % PAGE, 0);
        assert_true(ph[1 + i].p_offset + ph[1 + i].p_filesz <= len);
    }
    assert_string_equal((char *)b + ph[1].p_offset + OFF1, MARKER1);
    assert_string_equal((char *)b + ph[2].p_offset + OFF2, MARKER2);
    /* The notes, in order. */
    size_t o = ph[0].p_offset, end = o + ph[0].p_filesz;
    unsigned nst = 0, nq = 0, nps = 0;
    while (o < end) {
        Elf64_Nhdr nh;
        memcpy(&nh, b + o, sizeof(nh));
        const char *name = (const char *)b + o + sizeof(nh);
        const unsigned char *d = b + o + sizeof(nh) + ((nh.n_namesz + 3) & ~3u);
        if (nh.n_type == NT_PRSTATUS && strcmp(name, "CORE") == 0) {
            struct elf_prstatus ps;
            assert_int_equal(nh.n_descsz, sizeof(ps));
            memcpy(&ps, d, sizeof(ps));
            assert_int_equal(ps.pr_pid, nst + 1);
            struct user_regs_struct u;
            memcpy(&u, &ps.pr_reg, sizeof(u));
            assert_int_equal(u.rip, f.cpu[nst].regs.rip);
            assert_int_equal(u.rsp, f.cpu[nst].regs.rsp);
            assert_int_equal(u.rax, f.cpu[nst].regs.rax);
            assert_int_equal(u.cs, 0x10);
            assert_int_equal(u.ss, 0x18);
            nst++;
        } else if (nh.n_type == NT_QVM_X86_SYSREGS &&
                   strcmp(name, "QVM") == 0) {
            struct qvm_x86_sysregs q;
            assert_int_equal(nh.n_descsz, sizeof(q));
            memcpy(&q, d, sizeof(q));
            assert_int_equal(q.version, 1);
            assert_int_equal(q.vcpu, nq);
            assert_int_equal(q.valid, 1);
            assert_int_equal(q.cr3, 0x2000 + nq * 0x1000);
            assert_int_equal(q.efer, 0x500);
            assert_int_equal(q.gdt_base, 0x9000);
            assert_int_equal(q.idt_limit, 0xfff);
            assert_int_equal(q.cs.selector, 0x10);
            nq++;
        } else if (nh.n_type == NT_PRPSINFO && strcmp(name, "CORE") == 0) {
            struct elf_prpsinfo pi;
            memcpy(&pi, d, sizeof(pi));
            assert_string_equal(pi.pr_fname, "dumptest");
            nps++;
        } else {
            fail_msg("unexpected note type %u", nh.n_type);
        }
        o += sizeof(nh) + ((nh.n_namesz + 3) & ~3u) + ((nh.n_descsz + 3) & ~3u);
    }
    assert_int_equal(o, end);
    assert_int_equal(nst, 2);
    assert_int_equal(nq, 2);
    assert_int_equal(nps, 1);
    free(b);
    fake_free(&f);
}

/* Debian's gdb reads the registers of both vCPUs and guest memory. */
static void test_gdb(void **state)
{
    (void)state;
    if (system("command -v gdb >/dev/null 2>&1") != 0) {
        const char *ci = getenv("CI");
        if (ci && strcmp(ci, "true") == 0)
            fail_msg("gdb not found (Debian: apt-get install gdb)");
        printf("# gdb not found (Debian: apt-get install gdb)\n");
        skip();
    }
    struct fake f;
    fake_init(&f);
    char path[64];
    int fd = tmpfile_fd(path);
    write_fake(&f, fd);
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "gdb -nx -batch -ex 'info threads' -ex 'thread 1' "
             "-ex 'info registers rip rsp rax' -ex 'thread 2' "
             "-ex 'info registers rip rsp rax' -ex 'x/s 0x%llx' "
             "-ex 'x/s 0x%llx' -c %s 2>&1",
             (unsigned long long)(GPA1 + OFF1),
             (unsigned long long)(GPA2 + OFF2), path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[16384];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    pclose(p);
    unlink(path);
    for (const char *l = out; *l;) { /* as TAP comments */
        size_t k = strcspn(l, "\n");
        printf("# %.*s\n", (int)k, l);
        l += k + (l[k] == '\n');
    }
    /* Thread i's registers follow "[Switching to thread i ...]". */
    const char *t1 = strstr(out, "Switching to thread 1");
    const char *t2 = strstr(out, "Switching to thread 2");
    assert_non_null(t1);
    assert_non_null(t2);
    assert_true(t2 > t1);
    char want[128];
    static const char *const rows[2][3] = {
        {"rip            0x101000", "rsp            0x8ff0",
         "rax            0x1111111100000000"},
        {"rip            0x101010", "rsp            0x9ff0",
         "rax            0x1111111100000001"}};
    for (unsigned i = 0; i < 2; i++) {
        const char *from = i ? t2 : t1;
        for (unsigned k = 0; k < 3; k++) {
            const char *hit = strstr(from, rows[i][k]);
            assert_non_null(hit);
            if (i == 0)
                assert_true(hit < t2);
        }
    }
    snprintf(want, sizeof(want), "0x%llx:\t\"%s\"",
             (unsigned long long)(GPA1 + OFF1), MARKER1);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof(want), "0x%llx:\t\"%s\"",
             (unsigned long long)(GPA2 + OFF2), MARKER2);
    assert_non_null(strstr(out, want));
    fake_free(&f);
}

/* A 64 MiB region with three touched pages: the file has holes (by
 * pagemap and by mincore), and reads back as the memory. */
static void sparse_with(int pm)
{
    const uint64_t size = 64ull << 20;
    unsigned char *m = map(size);
    const uint64_t touch[3] = {0, 17 * PAGE + 5, size - 1};
    for (unsigned i = 0; i < 3; i++)
        m[touch[i]] = (unsigned char)(0xa0 + i);
    struct core_region rg = {0x100000, size, m};
    char path[64];
    int fd = tmpfile_fd(path);
    struct core_opts o = {
        .machine = EM_X86_64, .seekable = true, .pagemap_fd = pm};
    struct core_stats st;
    assert_int_equal(core_write(fd, &rg, 1, NULL, 0, &o, &st), 0);
    assert_int_equal(st.data_bytes, 3 * PAGE);
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    assert_int_equal((uint64_t)sb.st_size, st.file_size);
    assert_int_equal((uint64_t)sb.st_size, PAGE + size);
    /* 3 data pages and the header page; some slack for the filesystem. */
    assert_true((uint64_t)sb.st_blocks * 512 <= 64 * PAGE);
    for (unsigned i = 0; i < 3; i++) {
        unsigned char c = 0;
        assert_int_equal(pread(fd, &c, 1, (off_t)(PAGE + touch[i])), 1);
        assert_int_equal(c, 0xa0 + i);
    }
    unsigned char c = 1;
    assert_int_equal(pread(fd, &c, 1, (off_t)(PAGE + 40 * PAGE)), 1);
    assert_int_equal(c, 0);
    close(fd);
    unlink(path);
    munmap(m, (size_t)size);
}

static void test_sparse_pagemap(void **state)
{
    (void)state;
    int pm = pagemap();
    if (pm < 0)
        skip();
    sparse_with(pm);
    close(pm);
}

static void test_sparse_mincore(void **state)
{
    (void)state;
    sparse_with(-1);
}

/* The pipe form: no seeking, zeros for the holes. */
struct drain {
    int fd;
    uint64_t n, nonzero;
    unsigned char at[2];
    uint64_t where[2];
};

static void *drain(void *arg)
{
    struct drain *d = arg;
    static unsigned char buf[65536];
    ssize_t r;
    while ((r = read(d->fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < r; i++) {
            uint64_t pos = d->n + (uint64_t)i;
            if (pos >= PAGE && buf[i])
                d->nonzero++;
            for (unsigned k = 0; k < 2; k++)
                if (pos == d->where[k])
                    d->at[k] = buf[i];
        }
        d->n += (uint64_t)r;
    }
    return NULL;
}

static void test_pipe(void **state)
{
    (void)state;
    const uint64_t size = 8ull << 20;
    unsigned char *m = map(size);
    m[3 * PAGE] = 0x5a;
    m[size - 2] = 0xa5;
    struct core_region rg = {0, size, m};
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct drain d = {.fd = p[0], .where = {PAGE + 3 * PAGE, PAGE + size - 2}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, drain, &d), 0);
    int pm = pagemap();
    struct core_opts o = {
        .machine = EM_X86_64, .seekable = false, .pagemap_fd = pm};
    struct core_stats st;
    assert_int_equal(core_write(p[1], &rg, 1, NULL, 0, &o, &st), 0);
    close(p[1]);
    pthread_join(t, NULL);
    close(p[0]);
    if (pm >= 0)
        close(pm);
    assert_int_equal(d.n, PAGE + size);
    assert_int_equal(d.nonzero, 2);
    assert_int_equal(d.at[0], 0x5a);
    assert_int_equal(d.at[1], 0xa5);
    munmap(m, (size_t)size);
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long size, res;
    assert_int_equal(fscanf(f, "%lu %lu", &size, &res), 2);
    fclose(f);
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A 1 GiB guest: the dump leaves the RSS within 4 MiB of where it was. */
static void test_rss_1g(void **state)
{
    (void)state;
    const uint64_t size = 1ull << 30;
    unsigned char *m = map(size);
    for (uint64_t a = 0; a < size; a += 64ull << 20)
        m[a] = 1; /* 16 touched pages spread over the GiB */
    struct core_region rg = {0x100000, size, m};
    char path[64];
    int fd = tmpfile_fd(path);
    int pm = pagemap();
    struct core_opts o = {
        .machine = EM_X86_64, .seekable = true, .pagemap_fd = pm};
    struct core_stats st;
    uint64_t before = rss_bytes();
    assert_int_equal(core_write(fd, &rg, 1, NULL, 0, &o, &st), 0);
    uint64_t after = rss_bytes();
    printf("# RSS %llu KiB before the 1 GiB dump, %llu KiB after\n",
           (unsigned long long)(before >> 10),
           (unsigned long long)(after >> 10));
    assert_true(after <= before + (4ull << 20));
    assert_int_equal(st.data_bytes, 16 * PAGE);
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    assert_int_equal((uint64_t)sb.st_size, PAGE + size);
    assert_true((uint64_t)sb.st_blocks * 512 <= 1ull << 20);
    if (pm >= 0)
        close(pm);
    close(fd);
    unlink(path);
    munmap(m, (size_t)size);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_gdb),
        cmocka_unit_test(test_sparse_pagemap),
        cmocka_unit_test(test_sparse_mincore),
        cmocka_unit_test(test_pipe),
        cmocka_unit_test(test_rss_1g),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

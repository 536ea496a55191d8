/*
 * test_arm64_core_notes.c: the aarch64 guest dump (arch/arm64/
 * core_notes.c through vm/coredump.c's writer) from a fake machine: a
 * memory region holding a marker string and two vCPUs with known
 * registers. The notes' layout is parsed here (NT_PRSTATUS with pr_pid
 * and user_pt_regs at 112, the QVM note, NT_PRPSINFO); binutils' readelf
 * must call it an AArch64 core with two NT_PRSTATUS; Debian's
 * gdb-multiarch then reads it as an aarch64 core (`info registers` of
 * each thread, `x/s` of the marker). A tool that is missing skips its
 * part; with CI=true it is a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arm64/core_notes.h"
#include "vm/coredump.h"

#define MARKER "qvm-dump-marker: aarch64 RAM"
#define GPA    0x80000000ull
#define SIZE   0x100000ull
#define OFF    0x4321ull

struct fake {
    unsigned char *m;
    struct core_region rg;
    struct arm64_core_cpu cpu[2];
    struct core_notes cn;
    char path[64];
};

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    f->m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(f->m != MAP_FAILED);
    memcpy(f->m + OFF, MARKER, sizeof(MARKER));
    f->rg = (struct core_region){GPA, SIZE, f->m};
    for (unsigned i = 0; i < 2; i++) {
        struct arm64_core_cpu *c = &f->cpu[i];
        c->valid = true;
        for (unsigned r = 0; r < 31; r++)
            c->x[r] = 0x1000000000000000ull * (i + 1) + r;
        c->sp = 0x80100000ull + i * 0x1000;
        c->pc = 0x80000040ull + i * 0x10;
        c->pstate = 0x3c5;
        c->sys.sctlr_el1 = 0x30d00800;
        c->sys.vbar_el1 = 0x80000800;
        c->sys.mpidr_el1 = 0x80000000ull | i;
    }
    assert_int_equal(arm64_core_notes(f->cpu, 2, "a64test", &f->cn), 0);
    strcpy(f->path, "/tmp/qvm-a64core-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    struct core_opts o = {
        .machine = EM_AARCH64, .seekable = true, .pagemap_fd = -1};
    struct core_stats st;
    assert_int_equal(core_write(fd, &f->rg, 1, f->cn.notes, f->cn.n, &o, &st),
                     0);
    close(fd);
}

static void fake_free(struct fake *f)
{
    core_notes_free(&f->cn);
    munmap(f->m, SIZE);
    unlink(f->path);
}

static uint64_t u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The notes in order, as the writer laid them out. */
static void test_layout(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    assert_int_equal(f.cn.n, 5);
    for (unsigned i = 0; i < 2; i++) {
        const struct core_note *st = &f.cn.notes[2 * i];
        assert_string_equal(st->name, "CORE");
        assert_int_equal(st->type, NT_PRSTATUS);
        assert_int_equal(st->size, 392);
        const unsigned char *d = st->desc;
        assert_int_equal(u32(d + 32), i + 1); /* pr_pid */
        for (unsigned r = 0; r < 31; r++)
            assert_int_equal(u64(d + 112 + 8 * r), f.cpu[i].x[r]);
        assert_int_equal(u64(d + 112 + 8 * 31), f.cpu[i].sp);
        assert_int_equal(u64(d + 112 + 8 * 32), f.cpu[i].pc);
        assert_int_equal(u64(d + 112 + 8 * 33), 0x3c5);
        const struct core_note *q = &f.cn.notes[2 * i + 1];
        assert_string_equal(q->name, "QVM");
        assert_int_equal(q->type, NT_QVM_ARM64_SYSREGS);
        const struct qvm_arm64_sysregs *s = q->desc;
        assert_int_equal(s->version, 1);
        assert_int_equal(s->vcpu, i);
        assert_int_equal(s->valid, 1);
        assert_int_equal(s->mpidr_el1, 0x80000000ull | i);
        assert_int_equal(s->vbar_el1, 0x80000800);
    }
    assert_int_equal(f.cn.notes[4].type, NT_PRPSINFO);
    assert_int_equal(f.cn.notes[4].size, 136);
    assert_string_equal((const char *)f.cn.notes[4].desc + 40, "a64test");
    /* The file: an ELF64 core for EM_AARCH64. */
    FILE *fp = fopen(f.path, "rb");
    assert_non_null(fp);
    Elf64_Ehdr eh;
    assert_int_equal(fread(&eh, sizeof(eh), 1, fp), 1);
    fclose(fp);
    assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
    assert_int_equal(eh.e_type, ET_CORE);
    assert_int_equal(eh.e_machine, EM_AARCH64);
    fake_free(&f);
}

/* An unreadable vCPU: zeros, and the QVM note says so. */
static void test_invalid_cpu(void **state)
{
    (void)state;
    struct arm64_core_cpu c[1];
    memset(c, 0, sizeof(c));
    c[0].x[0] = 77; /* stale: not written when not valid */
    struct core_notes cn;
    assert_int_equal(arm64_core_notes(c, 1, NULL, &cn), 0);
    assert_int_equal(cn.n, 3);
    assert_int_equal(u64((const unsigned char *)cn.notes[0].desc + 112), 0);
    const struct qvm_arm64_sysregs *s = cn.notes[1].desc;
    assert_int_equal(s->valid, 0);
    assert_string_equal((const char *)cn.notes[2].desc + 40, "qvm-guest");
    core_notes_free(&cn);
}

static bool have(const char *tool)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    if (system(cmd) == 0)
        return true;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0)
        fail_msg("%s not found (Debian: apt-get install %s)", tool,
                 strcmp(tool, "readelf") == 0 ? "binutils" : tool);
    printf("# %s not found\n", tool);
    return false;
}

static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[16384];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = 0;
    pclose(p);
    for (const char *l = out; *l;) { /* as TAP comments */
        size_t k = strcspn(l, "\n");
        printf("# %.*s\n", (int)k, l);
        l += k + (l[k] == '\n');
    }
    return out;
}

static unsigned count(const char *s, const char *what)
{
    unsigned n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

static void test_readelf(void **state)
{
    (void)state;
    if (!have("readelf"))
        skip();
    struct fake f;
    fake_init(&f);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "readelf -h -n %s 2>&1", f.path);
    const char *out = run(cmd);
    assert_non_null(strstr(out, "AArch64"));
    assert_non_null(strstr(out, "CORE (Core file)"));
    assert_int_equal(count(out, "NT_PRSTATUS"), 2);
    assert_int_equal(count(out, "NT_PRPSINFO"), 1);
    fake_free(&f);
}

static void test_gdb_multiarch(void **state)
{
    (void)state;
    if (!have("gdb-multiarch"))
        skip();
    struct fake f;
    fake_init(&f);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "gdb-multiarch -nx -batch -ex 'info threads' -ex 'thread 1' "
             "-ex 'info registers pc sp x0 x30' -ex 'thread 2' "
             "-ex 'info registers pc sp x0 x30' -ex 'x/s 0x%llx' -c %s 2>&1",
             (unsigned long long)(GPA + OFF), f.path);
    const char *out = run(cmd);
    const char *t1 = strstr(out, "Switching to thread 1");
    const char *t2 = strstr(out, "Switching to thread 2");
    assert_non_null(t1);
    assert_non_null(t2);
    assert_true(t2 > t1);
    static const char *const rows[2][4] = {
        {"pc             0x80000040", "sp             0x80100000",
         "x0             0x1000000000000000",
         "x30            0x100000000000001e"},
        {"pc             0x80000050", "sp             0x80101000",
         "x0             0x2000000000000000",
         "x30            0x200000000000001e"}};
    for (unsigned i = 0; i < 2; i++) {
        const char *from = i ? t2 : t1;
        for (unsigned k = 0; k < 4; k++) {
            const char *hit = strstr(from, rows[i][k]);
            if (!hit)
                fail_msg("gdb-multiarch: no '%s' for thread %u", rows[i][k],
                         i + 1);
            if (i == 0)
                assert_true(hit < t2);
        }
    }
    char want[128];
    snprintf(want, sizeof(want), "0x%llx:\t\"%s\"",
             (unsigned long long)(GPA + OFF), MARKER);
    assert_non_null(strstr(out, want));
    fake_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_invalid_cpu),
        cmocka_unit_test(test_readelf),
        cmocka_unit_test(test_gdb_multiarch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

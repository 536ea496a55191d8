/*
 * test_memory.c: guest RAM mappings (src/vm/memory.c) as `set ram-pages`
 * asks: host addresses congruent to guest addresses modulo 2 MiB and
 * MADV_HUGEPAGE (the VMA's "hg" flag in /proc/self/smaps) by default; plain
 * mappings with `small`; hugetlb refused with a clear error when the host
 * has no free huge pages; 2 MiB of PROT_NONE guard on each side of every
 * region, which a host-side overrun hits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/front.h"
#include "fake_env.h"
#include "vm/memory.h"

#define MiB (1ull << 20)

static char elf64[64] = "\x7f"
                        "ELF\x02\x01\x01";
static const struct fake_file files[] = {
    {.path = "g.elf", .data = elf64, .len = sizeof(elf64)},
    {0},
};

static struct vm_spec spec;
static struct gmem mem;

static void build(const char *text)
{
    struct diag dg;
    spec_init(&spec, ARCH_X86_64);
    diag_init(&dg, NULL);
    assert_true(cfg_build_buffer("t", text, strlen(text), fake_env(files), &dg,
                                 &spec, NULL));
}

static int teardown(void **st)
{
    (void)st;
    gmem_free(&mem);
    spec_free(&spec);
    return 0;
}

/* vma_flags: the VmFlags line of the mapping that holds `p`, or "". */
static const char *vma_flags(const void *p)
{
    static char flags[512];
    char line[512];
    flags[0] = 0;
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    bool in = false;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            memcpy(flags, line + 8, strlen(line + 8) + 1);
            break;
        }
    }
    fclose(f);
    return flags;
}

static bool has_flag(const char *flags, const char *f)
{
    char word[8];
    snprintf(word, sizeof(word), " %s ", f);
    char padded[520];
    snprintf(padded, sizeof(padded), " %s ", flags);
    for (char *c = padded; *c; c++)
        if (*c == '\n')
            *c = ' ';
    return strstr(padded, word) != NULL;
}

static const struct gview_region *region_at(uint64_t gpa)
{
    for (size_t i = 0; i < mem.view.regions.n; i++)
        if (mem.view.regions.v[i].gpa == gpa)
            return &mem.view.regions.v[i];
    fail_msg("no region at 0x%llx", (unsigned long long)gpa);
    return NULL;
}

/* Default: huge. A region whose guest base is 1 MiB past a 2 MiB boundary
 * gets a host address 1 MiB past one, and the VMA is MADV_HUGEPAGE. */
static void test_huge_default(void **st)
{
    (void)st;
    build("ram 0x100000,63m ram 0x10000000,64m rom 0xfff00000,1m "
          "load g.elf");
    assert_int_equal(gmem_init(&mem, &spec), 0);
    const struct gview_region *lo = region_at(0x100000);
    const struct gview_region *hi = region_at(0x10000000);
    assert_int_equal((uintptr_t)lo->host & (2 * MiB - 1), MiB);
    assert_int_equal((uintptr_t)hi->host & (2 * MiB - 1), 0);
    assert_true(has_flag(vma_flags(lo->host), "hg"));
    assert_true(has_flag(vma_flags(hi->host), "hg"));
    /* The whole region is usable: first and last byte. */
    ((volatile uint8_t *)hi->host)[0] = 1;
    ((volatile uint8_t *)hi->host)[64 * MiB - 1] = 2;
    /* rom: small pages */
    assert_false(has_flag(vma_flags(region_at(0xfff00000)->host), "hg"));
}

/* `set ram-pages small`: no huge-page advice. */
static void test_small(void **st)
{
    (void)st;
    build("set ram-pages small ram 0x10000000,64m load g.elf");
    assert_int_equal(gmem_init(&mem, &spec), 0);
    assert_false(has_flag(vma_flags(region_at(0x10000000)->host), "hg"));
}

/* hugetlb: a base that is not 2 MiB-aligned is refused; with no huge pages
 * reserved on the host (the usual case; skipped otherwise) the error comes
 * at start, not as a SIGBUS at the guest's first touch. */
static void test_hugetlb(void **st)
{
    (void)st;
    build("set ram-pages hugetlb ram 0x100000,63m load g.elf");
    assert_int_equal(gmem_init(&mem, &spec), -EINVAL);
    gmem_free(&mem);
    spec_free(&spec);
    FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
    long n = -1;
    if (f) {
        if (fscanf(f, "%ld", &n) != 1)
            n = -1;
        fclose(f);
    }
    FILE *o = fopen("/proc/sys/vm/nr_overcommit_hugepages", "r");
    long ov = -1;
    if (o) {
        if (fscanf(o, "%ld", &ov) != 1)
            ov = -1;
        fclose(o);
    }
    build("set ram-pages hugetlb ram 0x200000,64m load g.elf");
    int e = gmem_init(&mem, &spec);
    if (n != 0 || ov != 0) {
        if (e == 0)
            assert_int_equal(
                (uintptr_t)region_at(0x200000)->host & (2 * MiB - 1), 0);
        skip(); /* this host has huge pages to give */
    }
    assert_int_equal(e, -ENOMEM);
}

/* vma_perms: the permissions ("rw-p", "---p") and bounds of the mapping
 * that holds `p`, from /proc/self/maps; false when nothing maps it. */
static bool vma_perms(const void *p, char perms[5], uintptr_t *lo,
                      uintptr_t *hi)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx %4s", &a, &b, perms) == 3 &&
            (uintptr_t)p >= a && (uintptr_t)p < b) {
            *lo = a;
            *hi = b;
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* Every region, whatever its pages, sits between two 2 MiB PROT_NONE
 * guards; a write one byte past a region's end kills the writer. */
static void test_guards(void **st)
{
    (void)st;
    build("ram 0x100000,63m ram 0x10000000,1m rom 0xfff00000,1m "
          "load g.elf");
    assert_int_equal(gmem_init(&mem, &spec), 0);
    for (size_t i = 0; i < mem.view.regions.n; i++) {
        const struct gview_region *r = &mem.view.regions.v[i];
        char perms[5];
        uintptr_t lo, hi;
        assert_true(vma_perms(r->host, perms, &lo, &hi));
        assert_string_equal(perms, "rw-p");
        assert_true(vma_perms(r->host - 1, perms, &lo, &hi));
        assert_string_equal(perms, "---p");
        assert_true(lo <= (uintptr_t)r->host - 2 * MiB);
        assert_true(vma_perms(r->host + r->size, perms, &lo, &hi));
        assert_string_equal(perms, "---p");
        assert_true(hi >= (uintptr_t)r->host + r->size + 2 * MiB);
    }
    const struct gview_region *r = region_at(0x10000000);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* not a sanitizer's report */
        ((volatile uint8_t *)r->host)[r->size] = 1;
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_huge_default, teardown),
        cmocka_unit_test_teardown(test_small, teardown),
        cmocka_unit_test_teardown(test_hugetlb, teardown),
        cmocka_unit_test_teardown(test_guards, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_dumper.c: the dump helper process and vm_dump (vm/dumper.c) on a
 * fake machine without KVM (one RAM region with a marker, no vCPUs, dumps
 * "at exit" so that nothing is paused): the directory form's names
 * (PREFIX-YYYYMMDD-hhmmss.gcore, then -1 .. -9 on a clash, then giving
 * up with a log line), mode 0600, a symbolic link never followed, and the
 * pipe form (the command gets the dump on stdin; a failing command is
 * reported).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vm/dumper.h"
#include "vm/machine.h"

#define RAM    0x100000ull
#define MARKER "test_dumper's marker"
#define AT     0x4321ull
/* Names pre-taken from now on, in seconds: the test must end before. */
#define SPAN 600

static char logbuf[8192];

static void sink(enum log_class c, const char *line)
{
    (void)c;
    size_t n = strlen(logbuf);
    snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

struct fx {
    char dir[64];
    char system[16];
    char dump[256];
    struct vm_spec spec;
    struct vm vm;
    unsigned char *ram;
};

static void fx_init(struct fx *f, const char *dump)
{
    memset(f, 0, sizeof(*f));
    strcpy(f->dir, "/tmp/qvm-dumper-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    strcpy(f->system, "fakevm");
    snprintf(f->dump, sizeof(f->dump), "%s", dump ? dump : f->dir);
    f->spec.system = f->system;
    f->spec.dump = f->dump;
    f->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(f->ram != MAP_FAILED);
    memcpy(f->ram + AT, MARKER, sizeof(MARKER));
    assert_int_equal(gview_add_region(&f->vm.mem.view, 0, RAM, f->ram, GV_RAM),
                     0);
    f->vm.spec = &f->spec;
    sigset_t none;
    sigemptyset(&none);
    assert_int_equal(dumper_start(&f->spec, &none, &f->vm.dumper), 0);
    assert_non_null(f->vm.dumper);
    logbuf[0] = 0;
    log_set_sink(sink);
}

static void fx_free(struct fx *f)
{
    log_set_sink(NULL);
    dumper_stop(f->vm.dumper);
    gview_free(&f->vm.mem.view);
    munmap(f->ram, RAM);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void name_at(char *out, size_t cap, const struct fx *f, time_t t, int n)
{
    struct tm tm;
    char stamp[32];
    localtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    char sfx[4] = "";
    if (n)
        snprintf(sfx, sizeof(sfx), "-%d", n);
    snprintf(out, cap, "%s/fakevm-%s%s.gcore", f->dir, stamp, sfx);
}

/* Take names n0..n1 for every second from now on (SPAN s). */
static void take(const struct fx *f, int n0, int n1)
{
    time_t now = time(NULL);
    for (time_t t = now; t < now + SPAN; t++)
        for (int n = n0; n <= n1; n++) {
            char p[256];
            name_at(p, sizeof(p), f, t, n);
            int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
            assert_true(fd >= 0);
            close(fd);
        }
}

/* The file is an ELF core with the marker at its guest-physical address. */
static void check_core(const char *path)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    Elf64_Ehdr eh;
    assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
    assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
    assert_int_equal(eh.e_type, ET_CORE);
    assert_int_equal(eh.e_phnum, 2);
    Elf64_Phdr ph;
    assert_int_equal(
        pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + sizeof(ph))),
        sizeof(ph));
    assert_int_equal(ph.p_type, PT_LOAD);
    assert_int_equal(ph.p_paddr, 0);
    char buf[sizeof(MARKER)];
    assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)(ph.p_offset + AT)),
                     sizeof(buf));
    assert_string_equal(buf, MARKER);
    close(fd);
}

/* The first dump takes the plain name, mode 0600. */
static void test_first_name(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    time_t t0 = time(NULL);
    assert_int_equal(vm_dump(&f.vm, "test", true), 0);
    time_t t1 = time(NULL);
    char p[256];
    struct stat sb;
    bool found = false;
    for (time_t t = t0; t <= t1 && !found; t++) {
        name_at(p, sizeof(p), &f, t, 0);
        found = stat(p, &sb) == 0;
    }
    assert_true(found);
    assert_int_equal(sb.st_mode & 07777, 0600);
    check_core(p);
    assert_non_null(strstr(logbuf, "test: dump written"));
    fx_free(&f);
}

/* Names taken up to -8: the dump is -9; then none is left: no dump. */
static void test_clash(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    take(&f, 0, 8);
    time_t t0 = time(NULL);
    assert_int_equal(vm_dump(&f.vm, "test", true), 0);
    char p[256];
    name_at(p, sizeof(p), &f, t0, 9);
    struct stat sb;
    if (stat(p, &sb) != 0)
        name_at(p, sizeof(p), &f, t0 + 1, 9);
    check_core(p);
    /* Every -9 of the span taken too. */
    time_t now = time(NULL);
    for (time_t t = now; t < now + SPAN; t++) {
        name_at(p, sizeof(p), &f, t, 9);
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    logbuf[0] = 0;
    assert_int_equal(vm_dump(&f.vm, "again", true), -1);
    assert_non_null(strstr(logbuf, "again: no dump written"));
    assert_non_null(strstr(logbuf, "-1 .. -9 variants all exist"));
    fx_free(&f);
}

/* A symbolic link in the way is never followed. */
static void test_symlink(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f, NULL);
    take(&f, 0, 8);
    char target[128];
    snprintf(target, sizeof(target), "%s/target", f.dir);
    time_t now = time(NULL);
    for (time_t t = now; t < now + SPAN; t++) {
        char p[256];
        name_at(p, sizeof(p), &f, t, 9);
        assert_int_equal(symlink(target, p), 0);
    }
    assert_int_equal(vm_dump(&f.vm, "test", true), -1);
    struct stat sb;
    assert_int_not_equal(lstat(target, &sb), 0);
    fx_free(&f);
}

/* The pipe form: the command writes its stdin to a file. */
static void test_pipe(void **state)
{
    (void)state;
    char cmd[200], out[128];
    struct fx f;
    char dir[] = "/tmp/qvm-dumper-pipe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(out, sizeof(out), "%s/out.gcore", dir);
    snprintf(cmd, sizeof(cmd), "|cat >%s", out);
    fx_init(&f, cmd);
    assert_int_equal(vm_dump(&f.vm, "test", true), 0);
    check_core(out);
    fx_free(&f);
    /* A failing command: reported. */
    fx_init(&f, "|cat >/dev/null; exit 3");
    assert_int_equal(vm_dump(&f.vm, "test", true), -1);
    assert_non_null(strstr(logbuf, "ended with exit status 3"));
    fx_free(&f);
    unlink(out);
    rmdir(dir);
}

/* No `dump`: vm_dump says so. */
static void test_none(void **state)
{
    (void)state;
    struct vm vm;
    memset(&vm, 0, sizeof(vm));
    logbuf[0] = 0;
    log_set_sink(sink);
    assert_int_equal(vm_dump(&vm, "SIGUSR2", false), -1);
    log_set_sink(NULL);
    assert_non_null(strstr(logbuf, "SIGUSR2: no `dump` configured"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_name), cmocka_unit_test(test_clash),
        cmocka_unit_test(test_symlink),    cmocka_unit_test(test_pipe),
        cmocka_unit_test(test_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

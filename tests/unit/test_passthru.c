/*
 * test_passthru.c: `pass loc mem:` and `pass loc io:` (src/vm/passthru.c,
 * docs/passthrough.md) without a host to pass: /dev/mem is a temporary
 * file ($QVM_DEVMEM), the port instructions and ioperm are fakes. What
 * the attribute letters mean; that a passed range maps the host bytes
 * it names and is never guest RAM (so never DMA-mapped for VFIO); the
 * errors that say why a range cannot be mapped; that a guest port reaches
 * only its own host port; the front end's checks and host descriptions.
 * The real /dev/mem and ports run in the lab (tests/vm/cases/pass-mem-io.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/front.h"
#include "fake_env.h"
#include "util/log.h"
#include "vm/memory.h"
#include "vm/passthru.h"

#define PG 4096u

static char elf64[64] = "\x7f"
                        "ELF\x02\x01\x01";
static const char iomem[] = "00000000-00000fff : Reserved\n"
                            "00001000-0009fbff : System RAM\n"
                            "c0000000-febfffff : PCI Bus 0000:00\n"
                            "  fea00000-feafffff : 0000:00:04.0\n";
static const char ioports[] = "0000-0cf7 : PCI Bus 0000:00\n"
                              "  0070-0077 : rtc0\n";
static const struct fake_file files[] = {
    {.path = "g.elf", .data = elf64, .len = sizeof(elf64)},
    {.path = "/proc/iomem", .data = iomem},
    {.path = "/proc/ioports", .data = ioports},
    {0},
};

static struct vm_spec spec;
static struct diag dg;
static char last[1024];
static char devmem[64];

static void sink(enum log_class c, const char *line)
{
    (void)c;
    snprintf(last, sizeof(last), "%s", line);
}

static bool built;

static bool build(const char *text)
{
    if (built)
        spec_free(&spec);
    built = true;
    spec_init(&spec, ARCH_X86_64);
    diag_init(&dg, NULL);
    return cfg_build_buffer("t", text, strlen(text), fake_env(files), &dg,
                            &spec, NULL);
}

/* A fake /dev/mem: 4 pages, byte i of page p is p * 16 + (i & 15). */
static int setup(void **st)
{
    (void)st;
    unsetenv("QVM_PROC_ROOT");
    snprintf(devmem, sizeof(devmem), "/tmp/qvm-devmem.XXXXXX");
    int fd = mkstemp(devmem);
    assert_true(fd >= 0);
    unsigned char page[PG];
    for (unsigned p = 0; p < 4; p++) {
        for (unsigned i = 0; i < PG; i++)
            page[i] = (unsigned char)(p * 16 + (i & 15));
        assert_int_equal(write(fd, page, PG), PG);
    }
    close(fd);
    setenv("QVM_DEVMEM", devmem, 1);
    log_set_sink(sink);
    last[0] = 0;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    log_set_sink(NULL);
    unlink(devmem);
    unsetenv("QVM_DEVMEM");
    if (built)
        spec_free(&spec);
    built = false;
    return 0;
}

static void test_attrs(void **st)
{
    (void)st;
    static const struct {
        const char *a;
        bool r, w, c;
    } t[] = {
        {"", true, true, false},      {"r", true, false, false},
        {"rw", true, true, false},    {"rwn", true, true, false},
        {"rwc", true, true, true},    {"+rw-x", true, true, false},
        {"-w", true, false, false},   {"rw-w", true, false, false},
        {"rc-c", true, false, false}, {"w", false, true, false},
        {"rx", true, false, false},   {"+rwc-n", true, true, true},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct pass_attrs a;
        pass_attrs_parse(t[i].a, &a);
        if (a.read != t[i].r || a.write != t[i].w || a.cached != t[i].c)
            fail_msg("'%s': r%d w%d c%d", t[i].a, a.read, a.write, a.cached);
    }
}

static void test_map_reads_host_bytes(void **st)
{
    (void)st;
    struct pass_attrs a = {.read = true, .write = true};
    void *p;
    assert_int_equal(pass_mem_map(devmem, 2 * PG, PG, &a, &p), 0);
    const unsigned char *b = p;
    assert_int_equal(b[0], 32);
    assert_int_equal(b[PG - 1], 32 + 15);
    /* Shared: a guest write reaches the host bytes. */
    ((unsigned char *)p)[5] = 0xa5;
    munmap(p, PG);
    FILE *f = fopen(devmem, "rb");
    assert_non_null(f);
    fseek(f, 2 * PG + 5, SEEK_SET);
    assert_int_equal(fgetc(f), 0xa5);
    fclose(f);
}

static void test_map_errors_say_why(void **st)
{
    (void)st;
    struct pass_attrs a = {.read = true};
    void *p;
    assert_int_equal(pass_mem_map("/nonexistent/mem", 0, PG, &a, &p), -ENOENT);
    assert_non_null(strstr(last, "CONFIG_DEVMEM"));
    assert_int_equal(pass_mem_map(devmem, 0, 0, &a, &p), -EINVAL);
    assert_int_equal(pass_mem_map(devmem, UINT64_MAX - PG + 1, 2 * PG, &a, &p),
                     -EINVAL);
    /* /dev/mem's EPERM (CONFIG_STRICT_DEVMEM) cannot be faked with a file:
     * a directory gives another errno and the generic text. */
    assert_true(pass_mem_map("/", 0, PG, &a, &p) < 0);
    assert_non_null(strstr(last, "pass mem host 0x0-0xfff"));
}

/* Passed memory has its own mapping and is never in the guest view: no
 * device, loader or VFIO DMA map (which maps the view's RAM) sees it. */
static void test_setup_not_guest_ram(void **st)
{
    (void)st;
    assert_true(build("ram 0,16M\nload g.elf\n"
                      "pass loc mem:0xd0000000,0x1000,r=0x1000\n"
                      "pass loc mem:0xd0002000,0x2000,rwc=0x2000\n"));
    struct passthru p = {0};
    struct bus mmio;
    bus_init(&mmio, "mmio");
    assert_int_equal(passthru_mem_setup(&p, &spec, NULL, &mmio), 0);
    assert_int_equal(p.mem.n, 2);
    assert_true(p.mem.v[0].readonly);
    assert_int_equal(p.mem.v[0].gpa, 0xd0000000);
    assert_int_equal(p.mem.v[0].host_pa, 0x1000);
    assert_int_equal(((unsigned char *)p.mem.v[0].host)[3], 16 + 3);
    assert_false(p.mem.v[1].readonly);
    assert_int_equal(((unsigned char *)p.mem.v[1].host)[PG + 1], 48 + 1);
    assert_non_null(strstr(last, "read/write, cached"));
    struct gmem m;
    assert_int_equal(gmem_init(&m, &spec), 0);
    assert_null(gmem_ptr(&m, 0xd0000000, 1));
    assert_null(gmem_ptr(&m, 0xd0002000, 1));
    for (size_t i = 0; i < m.view.regions.n; i++)
        assert_true(m.view.regions.v[i].gpa + m.view.regions.v[i].size <=
                    0xd0000000);
    gmem_free(&m);
    /* The read-only range's writes (KVM exits on them) are dropped and
     * said; the read/write range has no region: KVM never exits there. */
    uint32_t v = 0x77;
    last[0] = 0;
    assert_int_equal(bus_access(&mmio, 0xd0000008, &v, 4, true), BUS_OK);
    assert_non_null(strstr(last, "read-only pass memory 0xd0000008"));
    assert_int_equal(((unsigned char *)p.mem.v[0].host)[8], 16 + 8);
    v = 0;
    assert_int_equal(bus_access(&mmio, 0xd0000004, &v, 1, false), BUS_OK);
    assert_int_equal(v, 16 + 4);
    assert_int_equal(bus_access(&mmio, 0xd0002000, &v, 4, true), BUS_UNMAPPED);
    passthru_free(&p);
    bus_destroy(&mmio);
}

static void test_setup_fails_without_devmem(void **st)
{
    (void)st;
    assert_true(build("ram 0,16M\nload g.elf\n"
                      "pass loc mem:0xd0000000,0x1000,rw=0x1000\n"));
    setenv("QVM_DEVMEM", "/nonexistent/mem", 1);
    struct passthru p = {0};
    assert_int_equal(passthru_mem_setup(&p, &spec, NULL, NULL), -1);
    assert_int_equal(p.mem.n, 0);
    passthru_free(&p);
}

/* ---- ports ------------------------------------------------------------ */

static struct {
    unsigned long perm_from[4], perm_num[4];
    int nperm;
    int perm_err;
    int nin, nout;
    uint16_t port;
    uint32_t val;
    unsigned size;
} hw;

static int fk_ioperm(unsigned long from, unsigned long num, int on)
{
    assert_int_equal(on, 1);
    if (hw.perm_err) {
        errno = hw.perm_err;
        return -1;
    }
    hw.perm_from[hw.nperm] = from;
    hw.perm_num[hw.nperm++] = num;
    return 0;
}

static uint32_t fk_in(uint16_t port, unsigned size)
{
    hw.nin++;
    hw.port = port;
    hw.size = size;
    return 0x12345678u & (size == 4 ? 0xffffffffu : (1u << size * 8) - 1);
}

static void fk_out(uint16_t port, uint32_t val, unsigned size)
{
    hw.nout++;
    hw.port = port;
    hw.val = val;
    hw.size = size;
}

static const struct pass_port_hw fake_hw = {fk_ioperm, fk_in, fk_out};

static void test_io_forwards_in_range(void **st)
{
    (void)st;
    memset(&hw, 0, sizeof(hw));
    const struct pass_port_hw *real = pass_port_hw;
    pass_port_hw = &fake_hw;
    assert_true(build("ram 0,16M\nload g.elf\n"
                      "pass loc io:0x520,2=0x70\n"
                      "pass loc io:0x500,4\n"));
    struct bus pio;
    bus_init(&pio, "pio");
    struct passthru p = {0};
    assert_int_equal(passthru_io_setup(&p, &spec, &pio), 0);
    assert_int_equal(hw.nperm, 2);
    assert_int_equal(hw.perm_from[0], 0x70);
    assert_int_equal(hw.perm_num[0], 2);
    assert_int_equal(hw.perm_from[1], 0x500);
    assert_int_equal(hw.perm_num[1], 4);

    uint32_t v = 0;
    assert_int_equal(bus_access(&pio, 0x521, &v, 1, false), BUS_OK);
    assert_int_equal(hw.port, 0x71);
    assert_int_equal(v, 0x78);
    v = 0xbeef;
    assert_int_equal(bus_access(&pio, 0x502, &v, 2, true), BUS_OK);
    assert_int_equal(hw.port, 0x502);
    assert_int_equal(hw.val, 0xbeef);
    assert_int_equal(hw.size, 2);
    /* Next to the range, or straddling its end: never a host port. */
    int in = hw.nin, out = hw.nout;
    assert_int_equal(bus_access(&pio, 0x522, &v, 1, false), BUS_UNMAPPED);
    assert_int_equal(bus_access(&pio, 0x521, &v, 2, false), BUS_UNMAPPED);
    assert_int_equal(bus_access(&pio, 0x503, &v, 4, true), BUS_UNMAPPED);
    assert_int_equal(bus_access(&pio, 0x51f, &v, 1, true), BUS_UNMAPPED);
    assert_int_equal(hw.nin, in);
    assert_int_equal(hw.nout, out);

    passthru_free(&p);
    bus_destroy(&pio);
    pass_port_hw = real;
}

static void test_io_without_rawio(void **st)
{
    (void)st;
    memset(&hw, 0, sizeof(hw));
    hw.perm_err = EPERM;
    const struct pass_port_hw *real = pass_port_hw;
    pass_port_hw = &fake_hw;
    assert_true(build("ram 0,16M\nload g.elf\npass loc io:0x70,2\n"));
    struct bus pio;
    bus_init(&pio, "pio");
    struct passthru p = {0};
    assert_int_equal(passthru_io_setup(&p, &spec, &pio), -1);
    assert_non_null(strstr(last, "CAP_SYS_RAWIO"));
    uint32_t v = 0;
    assert_int_equal(bus_access(&pio, 0x70, &v, 1, false), BUS_UNMAPPED);
    passthru_free(&p);
    bus_destroy(&pio);
    pass_port_hw = real;
}

/* ---- the front end ------------------------------------------------------ */

static void test_config_checks(void **st)
{
    (void)st;
    /* A host port range past 0xffff. */
    assert_false(build("ram 0,16M\nload g.elf\npass loc io:0x500,4=0xfffe\n"));
    assert_non_null(strstr(dg.last, "past port 0xffff"));
    /* pass intr: a warning that says why. */
    assert_true(build("ram 0,16M\nload g.elf\n"
                      "vdev ioapic loc 0xfec00000 intr apic name io\n"
                      "pass intr io:9\n"));
    assert_int_equal(dg.warnings, 1);
    assert_non_null(strstr(dg.last, "a bare host vector cannot be taken"));
    /* A host source: an inherited descriptor, no warning. */
    assert_true(build("ram 0,16M\nload g.elf\n"
                      "vdev ioapic loc 0xfec00000 intr apic name io\n"
                      "pass intr io:9=fd:5\n"));
    assert_int_equal(dg.warnings, 0);
    assert_int_equal(spec.passes.v[0].intrs.v[0].src, INTR_SRC_FD);
    assert_int_equal(spec.passes.v[0].intrs.v[0].src_fd, 5);
    assert_int_equal(spec.passes.v[0].intrs.v[0].line, 9);
    /* A UIO device by its short name: /dev/uioN, which must exist. */
    assert_false(build("ram 0,16M\nload g.elf\n"
                       "pass intr ioapic:9=uio:uio3\n"));
    assert_non_null(strstr(dg.last, "UIO device '/dev/uio3' does not exist"));
    /* Standard I/O is no inherited descriptor. */
    assert_false(build("ram 0,16M\nload g.elf\npass intr ioapic:9=fd:2\n"));
    assert_non_null(strstr(dg.last, "3 or above"));
    /* Attributes without r. */
    assert_true(build("ram 0,16M\nload g.elf\n"
                      "pass loc mem:0xd0000000,0x1000,w=0xfea00000\n"));
    assert_non_null(strstr(dg.last, "always readable"));
}

static void test_host_descriptions(void **st)
{
    (void)st;
    assert_true(build("ram 0,16M\nload g.elf\n"
                      "pass loc mem:0xd0000000,0x1000,r=0xfea00000\n"
                      "pass loc io:0x520,2=0x70\n"));
    assert_int_equal(dg.warnings, 0);
    assert_string_equal(spec.passes.v[0].locs.v[0].host_desc,
                        "0xfea00000-0xfea00fff read-only, uncached "
                        "(0000:00:04.0)");
    assert_string_equal(spec.passes.v[1].locs.v[0].host_desc,
                        "ports 0x70-0x71 (rtc0)");
    /* Host RAM: /dev/mem refuses it; said before start. */
    assert_true(build("ram 0,16M\nload g.elf\n"
                      "pass loc mem:0xd0000000,0x1000,rw=0x2000\n"));
    assert_int_equal(dg.warnings, 1);
    assert_non_null(strstr(dg.last, "System RAM"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attrs),
        cmocka_unit_test_setup_teardown(test_map_reads_host_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_map_errors_say_why, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_setup_not_guest_ram, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_setup_fails_without_devmem, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_io_forwards_in_range, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_io_without_rawio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_descriptions, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

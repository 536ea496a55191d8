/*
 * test_arm64_plan.c: the aarch64 device tree from a configuration
 * (src/arch/arm64/plan.c, `dryrun` with `set fdt-dump-file`): KVM's reset
 * MPIDRs; a configuration parsed from text (two vCPUs, GICv3, a PL011 and
 * a virtio-mmio device, an initrd and two `fdt load` overlays) written to
 * a file, read back with libfdt: the board's nodes, the initrd as the
 * loaders placed it, both overlays applied in configuration order; an
 * overlay that does not apply fails the dump and writes no file.
 * Overlays are made with libfdt's sequential writer (no dtc needed).
 */
#include <errno.h>
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/arm64/plan.h"
#include "config/front.h"
#include "config/lexer.h"

static char dir[64];

static int mk_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_arm64_plan.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int rm_dir(void **state)
{
    (void)state;
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const void *data, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* An overlay of one fragment: `target-path` gets property `name` = v. */
static void write_overlay(const char *file, const char *target,
                          const char *name, uint32_t v)
{
    char buf[1024];
    assert_int_equal(fdt_create(buf, sizeof(buf)), 0);
    assert_int_equal(fdt_finish_reservemap(buf), 0);
    assert_int_equal(fdt_begin_node(buf, ""), 0);
    assert_int_equal(fdt_begin_node(buf, "fragment@0"), 0);
    assert_int_equal(fdt_property_string(buf, "target-path", target), 0);
    assert_int_equal(fdt_begin_node(buf, "__overlay__"), 0);
    assert_int_equal(fdt_property_u32(buf, name, v), 0);
    assert_int_equal(fdt_end_node(buf), 0);
    assert_int_equal(fdt_end_node(buf), 0);
    assert_int_equal(fdt_end_node(buf), 0);
    assert_int_equal(fdt_finish(buf), 0);
    write_file(file, buf, fdt_totalsize(buf));
}

static void test_kvm_mpidr(void **state)
{
    (void)state;
    assert_int_equal(arm64_kvm_mpidr(0), 0);
    assert_int_equal(arm64_kvm_mpidr(15), 0xf);
    assert_int_equal(arm64_kvm_mpidr(16), 0x100);
    assert_int_equal(arm64_kvm_mpidr(0x1234), 0x012304);
}

static void *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static const fdt32_t *cells(const void *f, const char *path, const char *name,
                            int n)
{
    int off = fdt_path_offset(f, path), len;
    if (off < 0)
        fail_msg("no node %s", path);
    const fdt32_t *c = fdt_getprop(f, off, name, &len);
    if (!c || len != n * 4)
        fail_msg("%s %s: %d bytes, want %d", path, name, c ? len : -1, n * 4);
    return c;
}

static uint64_t u64(const fdt32_t *c)
{
    return (uint64_t)fdt32_to_cpu(c[0]) << 32 | fdt32_to_cpu(c[1]);
}

/* Build the spec of `conf` (paths relative to dir) and dump its tree. */
static int dump(const char *conf, const char *out)
{
    char cwd[256];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    struct diag dg;
    diag_init(&dg, stderr);
    struct vm_spec spec;
    spec_init(&spec, ARCH_AARCH64);
    struct cfg_result res;
    assert_true(cfg_build_buffer("t.qvmconf", conf, strlen(conf),
                                 cfg_env_host(), &dg, &spec, &res));
    int e = arm64_dryrun_fdt(&spec, out);
    spec_free(&spec);
    assert_int_equal(chdir(cwd), 0);
    return e;
}

#define CONF                                                                   \
    "system t\nram 0x40000000,128M\ncpu\ncpu\n"                                \
    "vdev gic version 3 loc 0x2f000000\n"                                      \
    "load 0x40080000,k.bin\ninitrd load initrd\n"                              \
    "cmdline \"console=ttyAMA0\"\n"                                            \
    "vdev pl011 loc 0x1c090000 intr gic:37\n"                                  \
    "vdev virtio-entropy loc 0x1c0e0000 intr gic:43\n"

static void test_dryrun_tree(void **state)
{
    (void)state;
    static const char kernel[4096];
    static const char initrd[1000] = "initrd";
    write_file("k.bin", kernel, sizeof(kernel));
    write_file("initrd", initrd, sizeof(initrd));
    write_overlay("a.dtbo", "/chosen", "qnx,a", 1);
    write_overlay("b.dtbo", "/chosen", "qnx,a", 2); /* b after a wins */
    write_overlay("c.dtbo", "/pl011@1c090000", "qnx,c", 3);
    assert_int_equal(dump(CONF "fdt load a.dtbo\nfdt load b.dtbo\n"
                               "fdt load c.dtbo\n",
                          "t.dtb"),
                     0);
    char path[128];
    snprintf(path, sizeof(path), "%s/t.dtb", dir);
    size_t len = 0;
    void *f = read_all(path, &len);
    assert_non_null(f);
    assert_int_equal(fdt_check_full(f, len), 0);
    assert_int_equal(fdt32_to_cpu(*cells(f, "/cpus/cpu@0", "reg", 1)), 0);
    assert_int_equal(fdt32_to_cpu(*cells(f, "/cpus/cpu@1", "reg", 1)), 1);
    const fdt32_t *r = cells(f, "/memory@40000000", "reg", 4);
    assert_int_equal(u64(r), 0x40000000);
    assert_int_equal(u64(r + 2), 128 << 20);
    r = cells(f, "/intc@2f000000", "reg", 8);
    assert_int_equal(u64(r + 4), 0x2f100000); /* gic.c's default gicr */
    assert_int_equal(u64(r + 6), 2 * 0x20000);
    r = cells(f, "/pl011@1c090000", "interrupts", 3);
    assert_int_equal(fdt32_to_cpu(r[1]), 37 - 32);
    r = cells(f, "/virtio_mmio@1c0e0000", "reg", 4);
    assert_int_equal(u64(r + 2), 0x200);
    r = cells(f, "/virtio_mmio@1c0e0000", "interrupts", 3);
    assert_int_equal(fdt32_to_cpu(r[1]), 43 - 32);
    /* The initrd where the loaders put it: 1000 bytes, page aligned, after
     * the kernel and the DTB room. */
    uint64_t s = u64(cells(f, "/chosen", "linux,initrd-start", 2));
    uint64_t e = u64(cells(f, "/chosen", "linux,initrd-end", 2));
    assert_int_equal(e - s, sizeof(initrd));
    assert_int_equal(s & 0xfff, 0);
    assert_true(s > 0x40080000 && e <= 0x48000000);
    /* The overlays, in configuration order. */
    assert_int_equal(fdt32_to_cpu(*cells(f, "/chosen", "qnx,a", 1)), 2);
    assert_int_equal(fdt32_to_cpu(*cells(f, "/pl011@1c090000", "qnx,c", 1)), 3);
    free(f);

    /* An overlay whose target is not in the tree: an error, no file. */
    write_overlay("bad.dtbo", "/nosuch", "x", 1);
    assert_int_equal(dump(CONF "fdt load a.dtbo\nfdt load bad.dtbo\n", "u.dtb"),
                     -EINVAL);
    snprintf(path, sizeof(path), "%s/u.dtb", dir);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kvm_mpidr),
        cmocka_unit_test(test_dryrun_tree),
    };
    return cmocka_run_group_tests(tests, mk_dir, rm_dir);
}

/*
 * test_arm64_fdt.c: the aarch64 device tree (src/arch/arm64/fdt.c) of a
 * sample board: read back with libfdt (nodes, reg, interrupts, phandles,
 * /chosen), then decompiled by dtc (Debian's device-tree-compiler) and
 * compared with the whole expected source; a GICv2 board; an overlay
 * applied by target path and by label, a bad one refused with the tree
 * intact and its error naming the fragment and the missing target or
 * label; a whole tree given as an overlay refused; a tree too big for its
 * buffer is -ENOSPC, a board the tree cannot describe -EINVAL; the dump file.
 * dtc missing: those checks skip (a failure when CI=true).
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/arm64/fdt.h"
#include "util/log.h"

#define BUFSZ 65536

static struct arm64_board *sample(void)
{
    struct arm64_board *b = calloc(1, sizeof(*b));
    b->mem[0] = (struct arm64_mem){0x40000000, 0x8000000};
    b->mem[1] = (struct arm64_mem){0x100000000ull, 0x40000000};
    b->nmem = 2;
    b->ncpus = 2;
    b->mpidr[0] = 0x80000000;
    b->mpidr[1] = 0x80000001;
    b->gic_version = 3;
    b->gicd_base = 0x2f000000;
    b->gicd_size = 0x10000;
    b->gicr_base = 0x2f100000;
    b->gicr_size = 0x40000;
    const uint32_t ppi[4] = ARM64_TIMER_PPIS;
    memcpy(b->timer_ppi, ppi, sizeof(ppi));
    b->pl011[0] = (struct arm64_dev){0x1c090000, 0x1000, 37, false};
    b->pl011[1] = (struct arm64_dev){0x1c0a0000, 0x1000, 38, false};
    b->npl011 = 2;
    b->vmmio[0] = (struct arm64_dev){0x1c0d0000, 0x200, 41, false};
    b->vmmio[1] = (struct arm64_dev){0x1c0c0000, 0x200, 40, true};
    b->nvmmio = 2;
    static const char wdt[] = "arm,sp805\0arm,primecell";
    b->other[0] = (struct arm64_other){
        "watchdog", wdt, sizeof(wdt), {0x1c0f0000, 0x1000, 64, false}, true};
    b->nother = 1;
    b->bootargs = "console=ttyAMA0 earlycon=pl011,mmio32,0x1c090000";
    b->has_initrd = true;
    b->initrd_start = 0x48000000;
    b->initrd_end = 0x48123456;
    return b;
}

static void *build(const struct arm64_board *b)
{
    void *buf = malloc(BUFSZ);
    assert_int_equal(arm64_fdt_build(b, buf, BUFSZ), 0);
    assert_int_equal(fdt_check_header(buf), 0);
    assert_true(fdt_totalsize(buf) < BUFSZ);
    return buf;
}

static const void *prop(const void *f, const char *path, const char *name,
                        int *len)
{
    int off = fdt_path_offset(f, path);
    if (off < 0)
        fail_msg("no node %s: %s", path, fdt_strerror(off));
    const void *p = fdt_getprop(f, off, name, len);
    if (!p)
        fail_msg("no %s in %s", name, path);
    return p;
}

static void assert_cells(const void *f, const char *path, const char *name,
                         const uint32_t *want, int n)
{
    int len;
    const fdt32_t *c = prop(f, path, name, &len);
    assert_int_equal(len, n * 4);
    for (int i = 0; i < n; i++)
        assert_int_equal(fdt32_to_cpu(c[i]), want[i]);
}

static void assert_str(const void *f, const char *path, const char *name,
                       const char *want, int wlen)
{
    int len;
    const char *s = prop(f, path, name, &len);
    assert_int_equal(len, wlen);
    assert_memory_equal(s, want, (size_t)wlen);
}

static void test_libfdt_reads(void **state)
{
    (void)state;
    struct arm64_board *b = sample();
    void *f = build(b);
    assert_cells(f, "/", "#address-cells", (uint32_t[]){2}, 1);
    assert_cells(f, "/", "#size-cells", (uint32_t[]){2}, 1);
    assert_cells(f, "/", "interrupt-parent", (uint32_t[]){1}, 1);
    assert_str(f, "/", "compatible", "linux,dummy-virt", 17);
    assert_str(f, "/psci", "compatible", "arm,psci-0.2", 13);
    assert_str(f, "/psci", "method", "hvc", 4);
    /* CPUs: reg = the MPIDR's affinity fields, PSCI. */
    assert_cells(f, "/cpus", "#address-cells", (uint32_t[]){1}, 1);
    assert_cells(f, "/cpus/cpu@1", "reg", (uint32_t[]){1}, 1);
    assert_str(f, "/cpus/cpu@0", "enable-method", "psci", 5);
    assert_int_equal(fdt_path_offset(f, "/cpus/cpu@2"), -FDT_ERR_NOTFOUND);
    /* Memory, both regions, 64-bit. */
    assert_cells(f, "/memory@100000000", "reg",
                 (uint32_t[]){1, 0, 0, 0x40000000}, 4);
    assert_str(f, "/memory@40000000", "device_type", "memory", 7);
    /* The GIC: its phandle is the root's interrupt-parent. */
    int gic = fdt_node_offset_by_phandle(f, 1);
    assert_true(gic >= 0);
    assert_string_equal(fdt_get_name(f, gic, NULL), "intc@2f000000");
    assert_str(f, "/intc@2f000000", "compatible", "arm,gic-v3", 11);
    assert_cells(f, "/intc@2f000000", "#interrupt-cells", (uint32_t[]){3}, 1);
    assert_cells(
        f, "/intc@2f000000", "reg",
        (uint32_t[]){0, 0x2f000000, 0, 0x10000, 0, 0x2f100000, 0, 0x40000}, 8);
    int len;
    assert_non_null(prop(f, "/intc@2f000000", "interrupt-controller", &len));
    assert_int_equal(len, 0);
    /* The timer's PPIs: 29, 30, 27, 26 as PPI 13, 14, 11, 10. */
    assert_cells(f, "/timer", "interrupts",
                 (uint32_t[]){1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4}, 12);
    assert_non_null(prop(f, "/timer", "always-on", &len));
    /* The PL011s: SPI = INTID - 32, the clock by phandle. */
    assert_cells(f, "/pl011@1c090000", "interrupts", (uint32_t[]){0, 5, 4}, 3);
    assert_cells(f, "/pl011@1c0a0000", "reg",
                 (uint32_t[]){0, 0x1c0a0000, 0, 0x1000}, 4);
    assert_str(f, "/pl011@1c090000", "compatible", "arm,pl011\0arm,primecell",
               24);
    assert_cells(f, "/pl011@1c090000", "clocks", (uint32_t[]){2, 2}, 2);
    int clk = fdt_node_offset_by_phandle(f, 2);
    assert_string_equal(fdt_get_name(f, clk, NULL), "apb-pclk");
    assert_cells(f, "/apb-pclk", "clock-frequency", (uint32_t[]){24000000}, 1);
    /* virtio-mmio: level and edge. */
    assert_cells(f, "/virtio_mmio@1c0d0000", "interrupts",
                 (uint32_t[]){0, 9, 4}, 3);
    assert_cells(f, "/virtio_mmio@1c0c0000", "interrupts",
                 (uint32_t[]){0, 8, 1}, 3);
    assert_non_null(prop(f, "/virtio_mmio@1c0c0000", "dma-coherent", &len));
    assert_str(f, "/watchdog@1c0f0000", "compatible",
               "arm,sp805\0arm,primecell", 24);
    assert_cells(f, "/watchdog@1c0f0000", "clocks", (uint32_t[]){2}, 1);
    /* chosen */
    assert_str(f, "/chosen", "stdout-path", "/pl011@1c090000", 16);
    assert_cells(f, "/chosen", "linux,initrd-end", (uint32_t[]){0, 0x48123456},
                 2);
    const char *ba = prop(f, "/chosen", "bootargs", &len);
    assert_string_equal(ba, b->bootargs);
    /* Exactly these nodes under /. */
    static const char *const want[] = {"psci",
                                       "cpus",
                                       "memory@40000000",
                                       "memory@100000000",
                                       "intc@2f000000",
                                       "timer",
                                       "apb-pclk",
                                       "pl011@1c090000",
                                       "pl011@1c0a0000",
                                       "virtio_mmio@1c0d0000",
                                       "virtio_mmio@1c0c0000",
                                       "watchdog@1c0f0000",
                                       "chosen",
                                       "__symbols__"};
    int node, i = 0;
    fdt_for_each_subnode(node, f, 0)
    {
        assert_true(i < 14);
        assert_string_equal(fdt_get_name(f, node, NULL), want[i++]);
    }
    assert_int_equal(i, 14);
    free(f);
    free(b);
}

static bool have_dtc(void)
{
    if (system("dtc --version >/dev/null 2>&1") == 0)
        return true;
    if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
        fail_msg("dtc (device-tree-compiler) is missing");
    return false;
}

/* dtc's decompilation of the tree, sorted. Caller frees. */
static char *decompile(const void *f, const char *dir)
{
    char path[128], cmd[320];
    snprintf(path, sizeof(path), "%s/t.dtb", dir);
    assert_int_equal(arm64_fdt_dump(f, path), 0);
    snprintf(cmd, sizeof(cmd), "dtc -q -I dtb -O dts %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = calloc(1, 16384);
    size_t n = fread(out, 1, 16383, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    unlink(path);
    return out;
}

static const char expected_dts[] =
    "/dts-v1/;\n"
    "\n"
    "/ {\n"
    "\t#address-cells = <0x02>;\n"
    "\t#size-cells = <0x02>;\n"
    "\tcompatible = \"linux,dummy-virt\";\n"
    "\tmodel = \"qvm\";\n"
    "\tinterrupt-parent = <0x01>;\n"
    "\n"
    "\tpsci {\n"
    "\t\tcompatible = \"arm,psci-0.2\";\n"
    "\t\tmethod = \"hvc\";\n"
    "\t};\n"
    "\n"
    "\tcpus {\n"
    "\t\t#address-cells = <0x01>;\n"
    "\t\t#size-cells = <0x00>;\n"
    "\n"
    "\t\tcpu@0 {\n"
    "\t\t\tdevice_type = \"cpu\";\n"
    "\t\t\tcompatible = \"arm,armv8\";\n"
    "\t\t\tenable-method = \"psci\";\n"
    "\t\t\treg = <0x00>;\n"
    "\t\t};\n"
    "\n"
    "\t\tcpu@1 {\n"
    "\t\t\tdevice_type = \"cpu\";\n"
    "\t\t\tcompatible = \"arm,armv8\";\n"
    "\t\t\tenable-method = \"psci\";\n"
    "\t\t\treg = <0x01>;\n"
    "\t\t};\n"
    "\t};\n"
    "\n"
    "\tmemory@40000000 {\n"
    "\t\tdevice_type = \"memory\";\n"
    "\t\treg = <0x00 0x40000000 0x00 0x8000000>;\n"
    "\t};\n"
    "\n"
    "\tmemory@100000000 {\n"
    "\t\tdevice_type = \"memory\";\n"
    "\t\treg = <0x01 0x00 0x00 0x40000000>;\n"
    "\t};\n"
    "\n"
    "\tintc@2f000000 {\n"
    "\t\tcompatible = \"arm,gic-v3\";\n"
    "\t\t#interrupt-cells = <0x03>;\n"
    "\t\tinterrupt-controller;\n"
    "\t\treg = <0x00 0x2f000000 0x00 0x10000 0x00 0x2f100000 0x00 "
    "0x40000>;\n"
    "\t\tphandle = <0x01>;\n"
    "\t};\n"
    "\n"
    "\ttimer {\n"
    "\t\tcompatible = \"arm,armv8-timer\";\n"
    "\t\tinterrupts = <0x01 0x0d 0x04 0x01 0x0e 0x04 0x01 0x0b 0x04 0x01 "
    "0x0a 0x04>;\n"
    "\t\talways-on;\n"
    "\t};\n"
    "\n"
    "\tapb-pclk {\n"
    "\t\tcompatible = \"fixed-clock\";\n"
    "\t\t#clock-cells = <0x00>;\n"
    "\t\tclock-frequency = <0x16e3600>;\n"
    "\t\tclock-output-names = \"clk24mhz\";\n"
    "\t\tphandle = <0x02>;\n"
    "\t};\n"
    "\n"
    "\tpl011@1c090000 {\n"
    "\t\tcompatible = \"arm,pl011\\0arm,primecell\";\n"
    "\t\treg = <0x00 0x1c090000 0x00 0x1000>;\n"
    "\t\tinterrupts = <0x00 0x05 0x04>;\n"
    "\t\tclocks = <0x02 0x02>;\n"
    "\t\tclock-names = \"uartclk\\0apb_pclk\";\n"
    "\t\tphandle = <0x03>;\n"
    "\t};\n"
    "\n"
    "\tpl011@1c0a0000 {\n"
    "\t\tcompatible = \"arm,pl011\\0arm,primecell\";\n"
    "\t\treg = <0x00 0x1c0a0000 0x00 0x1000>;\n"
    "\t\tinterrupts = <0x00 0x06 0x04>;\n"
    "\t\tclocks = <0x02 0x02>;\n"
    "\t\tclock-names = \"uartclk\\0apb_pclk\";\n"
    "\t\tphandle = <0x04>;\n"
    "\t};\n"
    "\n"
    "\tvirtio_mmio@1c0d0000 {\n"
    "\t\tcompatible = \"virtio,mmio\";\n"
    "\t\treg = <0x00 0x1c0d0000 0x00 0x200>;\n"
    "\t\tinterrupts = <0x00 0x09 0x04>;\n"
    "\t\tdma-coherent;\n"
    "\t\tphandle = <0x05>;\n"
    "\t};\n"
    "\n"
    "\tvirtio_mmio@1c0c0000 {\n"
    "\t\tcompatible = \"virtio,mmio\";\n"
    "\t\treg = <0x00 0x1c0c0000 0x00 0x200>;\n"
    "\t\tinterrupts = <0x00 0x08 0x01>;\n"
    "\t\tdma-coherent;\n"
    "\t\tphandle = <0x06>;\n"
    "\t};\n"
    "\n"
    "\twatchdog@1c0f0000 {\n"
    "\t\tcompatible = \"arm,sp805\\0arm,primecell\";\n"
    "\t\treg = <0x00 0x1c0f0000 0x00 0x1000>;\n"
    "\t\tinterrupts = <0x00 0x20 0x04>;\n"
    "\t\tclocks = <0x02>;\n"
    "\t\tclock-names = \"apb_pclk\";\n"
    "\t};\n"
    "\n"
    "\tchosen {\n"
    "\t\tbootargs = \"console=ttyAMA0 earlycon=pl011,mmio32,0x1c090000\";\n"
    "\t\tstdout-path = \"/pl011@1c090000\";\n"
    "\t\tlinux,initrd-start = <0x00 0x48000000>;\n"
    "\t\tlinux,initrd-end = <0x00 0x48123456>;\n"
    "\t};\n"
    "\n"
    "\t__symbols__ {\n"
    "\t\tgic = \"/intc@2f000000\";\n"
    "\t\tapb_pclk = \"/apb-pclk\";\n"
    "\t\tuart0 = \"/pl011@1c090000\";\n"
    "\t\tuart1 = \"/pl011@1c0a0000\";\n"
    "\t\tvirtio0 = \"/virtio_mmio@1c0d0000\";\n"
    "\t\tvirtio1 = \"/virtio_mmio@1c0c0000\";\n"
    "\t};\n"
    "};\n";

static char tmpdir[64];

static int mk_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_arm64_fdt.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_dir(void **state)
{
    (void)state;
    return rmdir(tmpdir);
}

static void test_dtc_decompiles(void **state)
{
    (void)state;
    if (!have_dtc())
        skip();
    struct arm64_board *b = sample();
    void *f = build(b);
    char *dts = decompile(f, tmpdir);
    assert_string_equal(dts, expected_dts);
    free(dts);
    free(f);
    free(b);
}

/* GICv2: distributor + CPU interface, PPIs with the CPU mask; a single
 * CPU at Aff3 != 0 takes 2 address cells; no PL011: no stdout-path. */
static void test_gicv2_board(void **state)
{
    (void)state;
    struct arm64_board *b = sample();
    b->gic_version = 2;
    b->gicr_base = 0x2c002000;
    b->gicr_size = 0x2000;
    b->ncpus = 1;
    b->mpidr[0] = 0x100000000ull | 0x80000000;
    b->npl011 = 0;
    b->has_initrd = false;
    void *f = build(b);
    assert_str(f, "/intc@2f000000", "compatible", "arm,cortex-a15-gic", 19);
    assert_cells(
        f, "/intc@2f000000", "reg",
        (uint32_t[]){0, 0x2f000000, 0, 0x10000, 0, 0x2c002000, 0, 0x2000}, 8);
    assert_cells(
        f, "/timer", "interrupts",
        (uint32_t[]){1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104},
        12);
    assert_cells(f, "/cpus", "#address-cells", (uint32_t[]){2}, 1);
    assert_cells(f, "/cpus/cpu@100000000", "reg", (uint32_t[]){1, 0}, 2);
    int off = fdt_path_offset(f, "/chosen");
    assert_null(fdt_getprop(f, off, "stdout-path", NULL));
    assert_null(fdt_getprop(f, off, "linux,initrd-start", NULL));
    free(f);
    free(b);
}

/* An SP805 with its own counter clock (board.c's wdt-sp805): a fixed
 * clock before it, the first of its clocks (Linux's sp805_wdt reads the
 * rate of clock 0), apb_pclk the second (the AMBA bus's, by name). */
static void test_sp805_clock(void **state)
{
    (void)state;
    struct arm64_board *b = sample();
    b->other[0].clock_hz = 25000000;
    void *f = build(b);
    const char *wd = "/watchdog@1c0f0000", *clk = "/watchdog-clk-1c0f0000";
    assert_str(f, clk, "compatible", "fixed-clock", 12);
    assert_cells(f, clk, "#clock-cells", (uint32_t[]){0}, 1);
    assert_cells(f, clk, "clock-frequency", (uint32_t[]){25000000}, 1);
    int len;
    uint32_t ph = fdt32_to_cpu(*(const fdt32_t *)prop(f, clk, "phandle", &len));
    assert_true(ph > 2);
    assert_cells(f, wd, "clocks", (uint32_t[]){ph, 2}, 2);
    assert_str(f, wd, "clock-names", "wdog_clk\0apb_pclk", 18);
    assert_cells(f, wd, "interrupts", (uint32_t[]){0, 32, 4}, 3);
    assert_cells(f, wd, "reg", (uint32_t[]){0, 0x1c0f0000, 0, 0x1000}, 4);
    /* The clock node has no reg: no unit address (dtc's check). */
    assert_int_equal(fdt_node_offset_by_phandle(f, ph),
                     fdt_path_offset(f, clk));
    free(f);
    free(b);
}

/* qvm's power button: a PL061 gpio-controller and gpio-keys with
 * KEY_POWER on its pin, as QEMU's virt machine has them. */
static void test_gpio_power(void **state)
{
    (void)state;
    struct arm64_board *b = sample();
    b->has_gpio_power = true;
    b->gpio_power = (struct arm64_dev){0x1c1f0000, 0x1000, 63, false};
    b->power_pin = 3;
    void *f = build(b);
    const char *g = "/pl061@1c1f0000";
    assert_str(f, g, "compatible", "arm,pl061\0arm,primecell", 24);
    assert_cells(f, g, "interrupts", (uint32_t[]){0, 31, 4}, 3);
    assert_cells(f, g, "#gpio-cells", (uint32_t[]){2}, 1);
    assert_cells(f, g, "clocks", (uint32_t[]){2}, 1);
    int len;
    assert_non_null(prop(f, g, "gpio-controller", &len));
    uint32_t ph = fdt32_to_cpu(*(const fdt32_t *)prop(f, g, "phandle", &len));
    const char *k = "/gpio-keys/poweroff";
    assert_str(f, "/gpio-keys", "compatible", "gpio-keys", 10);
    assert_cells(f, k, "linux,code", (uint32_t[]){116}, 1);
    assert_cells(f, k, "gpios", (uint32_t[]){ph, 3, 0}, 3);
    assert_int_equal(fdt_node_offset_by_phandle(f, ph), fdt_path_offset(f, g));
    free(f);
    /* A pin the PL061 does not have: no tree. */
    b->power_pin = 8;
    void *buf = malloc(BUFSZ);
    assert_int_equal(arm64_fdt_build(b, buf, BUFSZ), -EINVAL);
    free(buf);
    free(b);
}

static void test_bad_boards(void **state)
{
    (void)state;
    char buf[4096];
    struct arm64_board *b = sample();
    b->vmmio[1].intid = 31; /* a PPI where an SPI is needed */
    assert_int_equal(arm64_fdt_build(b, buf, sizeof(buf)), -EINVAL);
    b->vmmio[1].intid = 40;
    b->gic_version = 4;
    assert_int_equal(arm64_fdt_build(b, buf, sizeof(buf)), -EINVAL);
    b->gic_version = 2;
    b->ncpus = 9; /* GICv2 reaches 8 */
    assert_int_equal(arm64_fdt_build(b, buf, sizeof(buf)), -EINVAL);
    b->gic_version = 3;
    b->ncpus = 0;
    assert_int_equal(arm64_fdt_build(b, buf, sizeof(buf)), -EINVAL);
    b->ncpus = 2;
    b->timer_ppi[2] = 33;
    assert_int_equal(arm64_fdt_build(b, buf, sizeof(buf)), -EINVAL);
    free(b);
}

/* Too big for its buffer: an error, never a write past it. */
static void test_too_big(void **state)
{
    (void)state;
    struct arm64_board *b = sample();
    void *f = build(b);
    size_t need = fdt_totalsize(f);
    for (size_t len = 0; len < need; len += 61) {
        char *small = malloc(len + 64);
        memset(small, 0xa5, len + 64);
        assert_int_equal(arm64_fdt_build(b, small, len), -ENOSPC);
        for (size_t i = len; i < len + 64; i++)
            assert_int_equal((uint8_t)small[i], 0xa5);
        free(small);
    }
    char *exact = malloc(need);
    assert_int_equal(arm64_fdt_build(b, exact, need), 0);
    assert_memory_equal(exact, f, need);
    free(exact);
    /* 512 CPUs with long bootargs still fit in the default size. */
    b->ncpus = ARM64_BOARD_MAX_CPUS;
    for (unsigned i = 0; i < b->ncpus; i++)
        b->mpidr[i] = ((i / 16) << 8) | (i % 16);
    char *big = malloc(ARM64_FDT_MAX_SIZE);
    assert_int_equal(arm64_fdt_build(b, big, ARM64_FDT_MAX_SIZE), 0);
    assert_true(fdt_path_offset(big, "/cpus/cpu@1f0f") >= 0);
    free(big);
    free(f);
    free(b);
}

/* An overlay compiled by dtc: /plugin/ with a target path and a label. */
static void *compile_overlay(const char *src, size_t *len)
{
    char in[128], out[128], cmd[384];
    snprintf(in, sizeof(in), "%s/o.dts", tmpdir);
    snprintf(out, sizeof(out), "%s/o.dtbo", tmpdir);
    FILE *fp = fopen(in, "w");
    assert_non_null(fp);
    fputs(src, fp);
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "dtc -q -@ -I dts -O dtb -o %s %s", out, in);
    assert_int_equal(system(cmd), 0);
    unlink(in);
    fp = fopen(out, "rb");
    assert_non_null(fp);
    void *buf = malloc(65536);
    *len = fread(buf, 1, 65536, fp);
    fclose(fp);
    return buf;
}

static void test_overlay(void **state)
{
    (void)state;
    if (!have_dtc())
        skip();
    struct arm64_board *b = sample();
    void *f = build(b);
    size_t olen;
    void *ovl = compile_overlay(
        "/dts-v1/;\n/plugin/;\n"
        "&{/chosen} { bootargs = \"console=hvc0\"; qnx,extra = <7>; };\n"
        "&uart1 { status = \"disabled\"; };\n"
        "&{/} { sensor@1c100000 { compatible = \"acme,sensor\";\n"
        "    reg = <0 0x1c100000 0 0x100>; interrupts = <0 40 4>;\n"
        "    interrupt-parent = <&gic>; }; };\n",
        &olen);
    char path[160];
    snprintf(path, sizeof(path), "%s/o.dtbo", tmpdir);
    assert_int_equal(arm64_fdt_overlay_file(f, BUFSZ, path), 0);
    assert_str(f, "/chosen", "bootargs", "console=hvc0", 13);
    assert_cells(f, "/chosen", "qnx,extra", (uint32_t[]){7}, 1);
    assert_str(f, "/pl011@1c0a0000", "status", "disabled", 9);
    assert_cells(f, "/sensor@1c100000", "interrupt-parent", (uint32_t[]){1}, 1);
    /* The rest is untouched. */
    assert_str(f, "/pl011@1c090000", "compatible", "arm,pl011\0arm,primecell",
               24);
    assert_cells(f, "/intc@2f000000", "phandle", (uint32_t[]){1}, 1);

    /* Refused: no room (the tree unchanged), not an FDT, a label that
     * does not exist, a missing file. */
    void *g = build(b);
    size_t glen = fdt_totalsize(g);
    void *copy = malloc(glen);
    memcpy(copy, g, glen);
    assert_int_equal(arm64_fdt_overlay(g, glen, ovl, olen, "ovl"), -ENOSPC);
    assert_memory_equal(g, copy, glen);
    assert_int_equal(arm64_fdt_overlay(g, BUFSZ, "junk", 4, "junk"), -EINVAL);
    assert_int_equal(arm64_fdt_overlay(g, BUFSZ, ovl, olen - 1, "cut"),
                     -EINVAL);
    free(ovl);
    ovl =
        compile_overlay("/dts-v1/;\n/plugin/;\n&nosuch { x = <1>; };\n", &olen);
    assert_int_equal(arm64_fdt_overlay(g, BUFSZ, ovl, olen, "nosuch"), -EINVAL);
    assert_memory_equal(g, copy, glen);
    unlink(path);
    assert_int_equal(arm64_fdt_overlay_file(g, BUFSZ, path), -ENOENT);
    free(copy);
    free(ovl);
    free(g);
    free(f);
    free(b);
}

/* The last error line qvm logged (log_set_sink). */
static char last_err[512];
static void err_sink(enum log_class c, const char *line)
{
    if (c == LOG_ERROR)
        snprintf(last_err, sizeof(last_err), "%s", line);
}

static void expect_refused(void *g, const char *src, const char *what,
                           const char *want1, const char *want2)
{
    size_t olen, glen = fdt_totalsize(g);
    void *ovl = compile_overlay(src, &olen);
    void *copy = malloc(glen);
    memcpy(copy, g, glen);
    last_err[0] = '\0';
    assert_int_equal(arm64_fdt_overlay(g, BUFSZ, ovl, olen, what), -EINVAL);
    assert_memory_equal(g, copy, glen);
    if (!strstr(last_err, want1) || !strstr(last_err, want2))
        fail_msg("error '%s' lacks '%s' or '%s'", last_err, want1, want2);
    free(copy);
    free(ovl);
}

/* A refused overlay says which fragment and which target or label. */
static void test_overlay_errors(void **state)
{
    (void)state;
    if (!have_dtc())
        skip();
    struct arm64_board *b = sample();
    void *g = build(b);
    log_set_sink(err_sink);
    /* A label the tree does not have, as the second fragment's target. */
    expect_refused(g,
                   "/dts-v1/;\n/plugin/;\n&uart0 { a = <1>; };\n"
                   "&nosuch { x = <1>; };\n",
                   "o.dtbo", "o.dtbo: fragment fragment@1: target &nosuch",
                   "no such label in qvm's device tree (its labels: gic "
                   "apb_pclk uart0 uart1 virtio0 virtio1)");
    /* A path the tree does not have. */
    expect_refused(g, "/dts-v1/;\n/plugin/;\n&{/soc/nosuch} { x = <1>; };\n",
                   "p.dtbo", "fragment fragment@0: target-path '/soc/nosuch'",
                   "is not in qvm's device tree");
    /* A reference inside a fragment to a label the tree does not have. */
    expect_refused(g,
                   "/dts-v1/;\n/plugin/;\n&{/} { dev@1000 {\n"
                   "    interrupt-parent = <&its>; }; };\n",
                   "r.dtbo",
                   "fragment fragment@0: /fragment@0/__overlay__/dev@1000, "
                   "property interrupt-parent refers to &its",
                   "no such label");
    /* A phandle target that is not in the tree. */
    expect_refused(g,
                   "/dts-v1/;\n/ { fragment@0 { target = <0x77>;\n"
                   "    __overlay__ { x = <1>; }; }; };\n",
                   "h.dtbo", "fragment fragment@0: target phandle 119",
                   "is not in qvm's device tree");
    /* A whole tree (QNX 7's `fdt load`) is not an overlay. */
    size_t glen = fdt_totalsize(g);
    void *whole = malloc(glen);
    memcpy(whole, g, glen);
    last_err[0] = '\0';
    assert_int_equal(arm64_fdt_overlay(g, BUFSZ, whole, glen, "whole.dtb"),
                     -EINVAL);
    assert_non_null(strstr(last_err, "whole.dtb: not an overlay"));
    log_set_sink(NULL);
    char path[160];
    snprintf(path, sizeof(path), "%s/o.dtbo", tmpdir);
    unlink(path);
    free(whole);
    free(g);
    free(b);
}

static void test_dump(void **state)
{
    (void)state;
    struct arm64_board *b = sample();
    void *f = build(b);
    char path[128];
    snprintf(path, sizeof(path), "%s/dump.dtb", tmpdir);
    assert_int_equal(arm64_fdt_dump(f, path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, fdt_totalsize(f));
    FILE *fp = fopen(path, "rb");
    void *back = malloc((size_t)st.st_size);
    assert_int_equal(fread(back, 1, (size_t)st.st_size, fp), st.st_size);
    fclose(fp);
    assert_memory_equal(back, f, (size_t)st.st_size);
    unlink(path);
    assert_int_equal(arm64_fdt_dump(f, "/nonexistent/dir/x.dtb"), -ENOENT);
    free(back);
    free(f);
    free(b);
}

/* An MMIO `vdev shmem` (docs/shmem.md): node shmem@<factory page>,
 * compatible qnx,qvm-shmem, reg = the factory page then the region
 * window, its SPI level-high; an interrupt that is not an SPI: -EINVAL. */
static void test_shmem_node(void **state)
{
    (void)state;
    struct arm64_board *b = sample();
    b->shmem[0] = (struct arm64_shmem){
        {0x1c100000, 0x1000, 45, false}, 0x8000000000ull, 0x4000000};
    b->shmem[1] = (struct arm64_shmem){
        {0x1c101000, 0x1000, 0, false}, 0x8004000000ull, 0x4000000};
    b->nshmem = 2;
    void *f = build(b);
    assert_str(f, "/shmem@1c100000", "compatible", "qnx,qvm-shmem", 14);
    assert_cells(f, "/shmem@1c100000", "reg",
                 (uint32_t[]){0, 0x1c100000, 0, 0x1000, 0x80, 0, 0, 0x4000000},
                 8);
    assert_cells(f, "/shmem@1c100000", "interrupts", (uint32_t[]){0, 13, 4}, 3);
    /* Without an intr: the node, no interrupts. */
    assert_cells(
        f, "/shmem@1c101000", "reg",
        (uint32_t[]){0, 0x1c101000, 0, 0x1000, 0x80, 0x4000000, 0, 0x4000000},
        8);
    int off = fdt_path_offset(f, "/shmem@1c101000");
    assert_null(fdt_getprop(f, off, "interrupts", NULL));
    free(f);
    char buf[4096];
    b->shmem[1].dev.intid = 27; /* a PPI */
    assert_int_equal(arm64_fdt_build(b, buf, sizeof(buf)), -EINVAL);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libfdt_reads),
        cmocka_unit_test(test_dtc_decompiles),
        cmocka_unit_test(test_gicv2_board),
        cmocka_unit_test(test_sp805_clock),
        cmocka_unit_test(test_gpio_power),
        cmocka_unit_test(test_bad_boards),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_overlay),
        cmocka_unit_test(test_overlay_errors),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_shmem_node),
    };
    return cmocka_run_group_tests(tests, mk_dir, rm_dir);
}

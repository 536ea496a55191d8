/*
 * test_vfio.c: hv/vfio.c's host look-ups on a fake sysfs tree
 * (QVM_SYSFS_ROOT): which function `pci:VID/DID/IDX` names, and the one
 * error line vfio_open gives for each way a host function cannot be
 * passed (missing, not bound to vfio-pci, no IOMMU group); the teardown's
 * command register write on a device without a reset method (a file for
 * the device); what a passed function may reach by DMA (every RAM region
 * of a VM's memory, nothing else). The VFIO ioctls themselves run in the
 * IOMMU lab
 * (tests/vm/cases/vfio-edu.sh).
 */
#include <errno.h>
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

#include <linux/vfio.h>

#include "config/front.h"
#include "devices/vfio_pci.h"
#include "fake_env.h"
#include "hv/vfio.h"
#include "util/log.h"
#include "vm/memory.h"

static char root[256];
static char last[1024];
static int nlines;

static void sink(enum log_class c, const char *line)
{
    (void)c;
    snprintf(last, sizeof(last), "%s", line);
    nlines++;
}

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void dir(const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

static void link_to(const char *target, const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    assert_int_equal(symlink(target, p), 0);
}

/* A function at slot with IDs, optionally bound to drv and in group g
 * (-1: none). */
static void function(const char *slot, const char *vid, const char *did,
                     const char *drv, int g)
{
    char rel[256], t[256];
    snprintf(rel, sizeof(rel), "bus/pci/devices/%s", slot);
    dir(rel);
    snprintf(rel, sizeof(rel), "bus/pci/devices/%s/vendor", slot);
    put(rel, vid);
    snprintf(rel, sizeof(rel), "bus/pci/devices/%s/device", slot);
    put(rel, did);
    if (drv) {
        snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", drv);
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver", slot);
        link_to(t, rel);
    }
    if (g >= 0) {
        snprintf(t, sizeof(t), "../../../kernel/iommu_groups/%d", g);
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s/iommu_group", slot);
        link_to(t, rel);
    }
}

static int setup(void **st)
{
    (void)st;
    snprintf(root, sizeof(root), "%s/qvm-vfio-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(root));
    dir("bus");
    dir("bus/pci");
    dir("bus/pci/devices");
    function("0000:00:03.0", "0x1234\n", "0x11e8\n", "vfio-pci", 7);
    function("0000:00:01.0", "0x1234\n", "0x11e8\n", NULL, 3);
    function("0000:00:02.0", "0x8086\n", "0x10d3\n", "e1000e", 4);
    function("0000:00:04.0", "0x1234\n", "0x0001\n", "vfio-pci", -1);
    setenv("QVM_SYSFS_ROOT", root, 1);
    log_set_sink(sink);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    log_set_sink(NULL);
    unsetenv("QVM_SYSFS_ROOT");
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_find_by_id(void **st)
{
    (void)st;
    char bdf[16];
    /* In slot order, whatever order the directory lists them in. */
    assert_int_equal(vfio_find_by_id(0x1234, 0x11e8, 0, bdf, sizeof(bdf)), 0);
    assert_string_equal(bdf, "0000:00:01.0");
    assert_int_equal(vfio_find_by_id(0x1234, 0x11e8, 1, bdf, sizeof(bdf)), 0);
    assert_string_equal(bdf, "0000:00:03.0");
    assert_int_equal(vfio_find_by_id(0x1234, 0x11e8, 2, bdf, sizeof(bdf)),
                     -ENOENT);
    assert_int_equal(vfio_find_by_id(0x8086, 0x10d3, 0, bdf, sizeof(bdf)), 0);
    assert_string_equal(bdf, "0000:00:02.0");
    assert_int_equal(vfio_find_by_id(0xabcd, 0x11e8, 0, bdf, sizeof(bdf)),
                     -ENOENT);
    /* Too small a buffer is not a match. */
    assert_int_equal(vfio_find_by_id(0x1234, 0x11e8, 0, bdf, 8), -ENOENT);
}

/* open_fails: vfio_open refuses bdf with errno e and one line holding
 * `want`; the device is left closed. */
static void open_fails(const char *bdf, int e, const char *want)
{
    struct vfio_dev d;
    nlines = 0;
    last[0] = 0;
    assert_int_equal(vfio_open(&d, bdf), e);
    assert_int_equal(nlines, 1);
    if (!strstr(last, want))
        fail_msg("'%s' lacks '%s'", last, want);
    assert_int_equal(d.fd, -1);
    assert_int_equal(d.group, -1);
    assert_int_equal(d.container, -1);
}

static void test_open_errors(void **st)
{
    (void)st;
    open_fails("0000:00:09.0", -ENOENT, "no host PCI function 0000:00:09.0");
    open_fails("0000:00:02.0", -ENODEV,
               "host PCI function 0000:00:02.0 is bound to e1000e, not to "
               "vfio-pci: bind it with: modprobe vfio-pci; echo vfio-pci > "
               "/sys/bus/pci/devices/0000:00:02.0/driver_override; echo "
               "0000:00:02.0 > /sys/bus/pci/devices/0000:00:02.0/driver/"
               "unbind; echo 0000:00:02.0 > /sys/bus/pci/drivers_probe");
    /* No driver: nothing to unbind. */
    open_fails("0000:00:01.0", -ENODEV,
               "is bound to no driver, not to vfio-pci: bind it with: "
               "modprobe vfio-pci; echo vfio-pci > "
               "/sys/bus/pci/devices/0000:00:01.0/driver_override; echo "
               "0000:00:01.0 > /sys/bus/pci/drivers_probe");
    assert_null(strstr(last, "unbind"));
    open_fails("0000:00:04.0", -ENODEV,
               "0000:00:04.0 has no IOMMU group: the host's IOMMU is off");
}

/* closed_cmd: a device whose configuration space is a file (the device
 * fd pread/pwrite on; offset 0x1000 in it, as VFIO's regions sit at
 * offsets) with command register `cmd`, closed by vfio_close; the
 * command register it is left with. */
static unsigned closed_cmd(unsigned cmd, bool reset_ok)
{
    char p[300];
    snprintf(p, sizeof(p), "%s/devfd", root);
    FILE *f = fopen(p, "w+");
    assert_non_null(f);
    uint8_t cfg[0x1100] = {0};
    cfg[0x1000 + 4] = (uint8_t)cmd;
    cfg[0x1000 + 5] = (uint8_t)(cmd >> 8);
    cfg[0x1000 + 6] = 0x10; /* status, untouched */
    assert_int_equal(fwrite(cfg, 1, sizeof(cfg), f), sizeof(cfg));
    fflush(f);
    struct vfio_dev d;
    memset(&d, 0, sizeof(d));
    d.container = d.group = -1;
    d.fd = dup(fileno(f));
    assert_true(d.fd >= 0);
    d.reset_ok = reset_ok;
    d.regions[VFIO_PCI_REG_CFG] = (struct vfio_region){
        .size = 0x100, .offset = 0x1000, .readable = true, .writable = true};
    vfio_close(&d);
    assert_int_equal(d.fd, -1);
    uint8_t got[8];
    assert_int_equal(fseek(f, 0x1000, SEEK_SET), 0);
    assert_int_equal(fread(got, 1, sizeof(got), f), sizeof(got));
    fclose(f);
    unlink(p);
    assert_int_equal(got[6], 0x10);
    return got[4] | (unsigned)got[5] << 8;
}

/* Teardown of a device without a reset method (edu) leaves its bus
 * master, memory and I/O decode off and INTx disabled, the rest of the
 * command register as it was; one with a reset method is reset (the
 * kernel's ioctl), its command register not written. */
static void test_close_quiesces(void **st)
{
    (void)st;
    nlines = 0;
    assert_int_equal(closed_cmd(0x0107, false), 0x0500);
    assert_int_equal(closed_cmd(0x0006, false), 0x0400);
    assert_int_equal(closed_cmd(0x0000, false), 0x0400);
    assert_int_equal(closed_cmd(0x0107, true), 0x0107);
    assert_int_equal(nlines, 0);
}

/* ---- what a passed function may reach by DMA ----------------------------- */

struct dma_rec {
    unsigned n, fail_at;
    uint64_t gpa[8], size[8];
    void *hva[8];
};

static int rec_map(void *arg, uint64_t gpa, uint64_t size, void *hva)
{
    struct dma_rec *r = arg;
    if (r->n == r->fail_at)
        return -ENOMEM;
    assert_true(r->n < 8);
    r->gpa[r->n] = gpa;
    r->size[r->n] = size;
    r->hva[r->n] = hva;
    r->n++;
    return 0;
}

static char elf64[64] = "\x7f"
                        "ELF\x02\x01\x01";
static const struct fake_file files[] = {
    {.path = "g.elf", .data = elf64, .len = sizeof(elf64)},
    {0},
};

/* Every RAM region of a VM's memory (vm/memory.c from a configuration with
 * RAM, ROM and a shmem region window) is mapped for DMA at its guest
 * address with its host memory, in order; nothing else is: not the ROM,
 * not the shmem window (KVM memory slots outside the guest view). The
 * first failure stops the mapping and is returned. */
static void test_dma_ranges(void **st)
{
    (void)st;
    static const char text[] =
        "ram 0,0xa0000 rom 0xc0000,0x40000 ram 1m,31m "
        "ram 0x10000000,16m rom 0xfff00000,1m load g.elf vdev ioapic "
        "vdev shmem";
    struct vm_spec spec;
    struct diag dg;
    spec_init(&spec, ARCH_X86_64);
    diag_init(&dg, NULL);
    assert_true(cfg_build_buffer("t", text, strlen(text), fake_env(files), &dg,
                                 &spec, NULL));
    struct gmem mem;
    assert_int_equal(gmem_init(&mem, &spec), 0);

    struct dma_rec r = {.fail_at = ~0u};
    assert_int_equal(vfio_pci_dma_ranges(&mem.view, rec_map, &r), 0);
    /* Exactly the configuration's RAM, in order. */
    unsigned k = 0;
    for (size_t i = 0; i < spec.mem.n; i++) {
        const struct mem_region *m = &spec.mem.v[i];
        if (m->kind != MEM_RAM)
            continue;
        assert_true(k < r.n);
        assert_int_equal(r.gpa[k], m->base);
        assert_int_equal(r.size[k], m->size);
        assert_ptr_equal(r.hva[k], gmem_ptr(&mem, m->base, m->size));
        k++;
    }
    assert_int_equal(k, 3);
    assert_int_equal(r.n, 3);
    /* Nothing of the ROM or of the shmem region window. */
    const struct vdev_spec *sh = NULL;
    for (size_t i = 0; i < spec.vdevs.n; i++)
        if (strcmp(vdev_type_name(&spec.vdevs.v[i]), "shmem") == 0)
            sh = &spec.vdevs.v[i];
    assert_non_null(sh);
    const struct bar *win = &sh->pci.bars[2];
    assert_true(win->size > 0);
    for (unsigned i = 0; i < r.n; i++) {
        assert_false(r.gpa[i] < win->base + win->size &&
                     win->base < r.gpa[i] + r.size[i]);
        assert_false(r.gpa[i] < 0x100000 && r.gpa[i] + r.size[i] > 0xc0000);
        assert_true(r.gpa[i] + r.size[i] <= 0xfff00000);
    }
    /* The first failure stops it. */
    r = (struct dma_rec){.fail_at = 1};
    assert_int_equal(vfio_pci_dma_ranges(&mem.view, rec_map, &r), -ENOMEM);
    assert_int_equal(r.n, 1);
    gmem_free(&mem);
    spec_free(&spec);
}

/* The region info's capability chain (VFIO_DEVICE_GET_REGION_INFO): a
 * sparse mmap list (areas outside the region dropped) and MSIX_MAPPABLE;
 * a chain that loops, a list longer than the buffer and a truncated
 * header stop the walk without reading past argsz. */
static void test_region_caps(void **state)
{
    (void)state;
    _Alignas(8) uint8_t buf[256];
    memset(buf, 0, sizeof(buf));
    struct vfio_region_info ri = {.argsz = sizeof(buf),
                                  .flags = VFIO_REGION_INFO_FLAG_CAPS,
                                  .cap_offset = sizeof(ri)};
    memcpy(buf, &ri, sizeof(ri));
    struct vfio_region_info_cap_sparse_mmap sm = {
        .header = {.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP, .version = 1},
        .nr_areas = 3};
    uint32_t at = sizeof(ri);
    uint32_t next =
        at + sizeof(sm) + 3 * sizeof(struct vfio_region_sparse_mmap_area);
    sm.header.next = next;
    memcpy(buf + at, &sm, sizeof(sm));
    struct vfio_region_sparse_mmap_area a[3] = {
        {0, 0x1000}, {0x3000, 0x5000}, {0x7000, 0x2000}}; /* last: past */
    memcpy(buf + at + sizeof(sm), a, sizeof(a));
    struct vfio_info_cap_header mx = {.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
                                      .version = 1};
    memcpy(buf + next, &mx, sizeof(mx));

    struct vfio_region r = {.size = 0x8000, .mmap = true};
    vfio_region_caps_parse(buf, sizeof(buf), &r);
    assert_true(r.sparse);
    assert_true(r.msix_mappable);
    assert_int_equal(r.nareas, 2);
    assert_int_equal(r.areas[0].off, 0);
    assert_int_equal(r.areas[0].size, 0x1000);
    assert_int_equal(r.areas[1].off, 0x3000);
    assert_int_equal(r.areas[1].size, 0x5000);

    /* Without the CAPS flag: nothing. */
    struct vfio_region r2 = {.size = 0x8000};
    ri.flags = 0;
    memcpy(buf, &ri, sizeof(ri));
    vfio_region_caps_parse(buf, sizeof(buf), &r2);
    assert_false(r2.sparse || r2.msix_mappable);
    ri.flags = VFIO_REGION_INFO_FLAG_CAPS;
    memcpy(buf, &ri, sizeof(ri));

    /* A loop (next back to itself) and a list longer than the buffer:
     * the areas that fit, once. */
    sm.header.next = at;
    sm.nr_areas = 1000;
    memcpy(buf + at, &sm, sizeof(sm));
    struct vfio_region r3 = {.size = 0x8000};
    vfio_region_caps_parse(buf, at + sizeof(sm) + 2 * sizeof(a[0]) + 4, &r3);
    assert_true(r3.sparse);
    assert_false(r3.msix_mappable);
    assert_int_equal(r3.nareas, 2);

    /* A header cut by argsz, and an info shorter than its header. */
    struct vfio_region r4 = {.size = 0x8000};
    vfio_region_caps_parse(buf, at + 4, &r4);
    assert_false(r4.sparse);
    vfio_region_caps_parse(buf, 8, &r4);
    assert_false(r4.sparse);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_by_id),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_close_quiesces),
        cmocka_unit_test(test_dma_ranges),
        cmocka_unit_test(test_region_caps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

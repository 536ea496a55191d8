/*
 * test_config.c: parser and semantic checks, on in-memory configurations:
 * every option of every table, context rules, defaults, every error class.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/diag.h"
#include "config/front.h"
#include "config/schema.h"
#include "fake_env.h"

/* A tiny ELF64 and a fake bzImage for `load`. */
static char elf64[64] = "\x7f"
                        "ELF\x02\x01\x01";
static char bzimage[0x300];
static char pvh[40064]; /* ELF64 whose Xen PVH note lies beyond 32 KiB */

static const struct fake_file files[] = {
    {.path = "g.elf", .data = elf64, .len = sizeof(elf64)},
    {.path = "bz", .data = bzimage, .len = sizeof(bzimage)},
    {.path = "pvh.elf", .data = pvh, .len = sizeof(pvh)},
    {.path = "raw.bin", .data = "rawdata"},
    {.path = "disk.img", .data = "disk"},
    {.path = "in.txt", .data = "input"},
    {.path = "dumps", .dir = true},
    {.path = "out", .dir = true},
#define SYSPCI "/sys/bus/pci/devices/0000:00:1f.0"
    {.path = SYSPCI, .dir = true},
    {.path = SYSPCI "/vendor", .data = "0x8086\n"},
    {.path = SYSPCI "/device", .data = "0xa304\n"},
    {.path = SYSPCI "/class", .data = "0x060100\n"},
    {.path = SYSPCI "/revision", .data = "0x10\n"},
    {.path = SYSPCI "/subsystem_vendor", .data = "0x1028\n"},
    {.path = SYSPCI "/subsystem_device", .data = "0x0869\n"},
    {0},
};

static struct vm_spec spec;
static struct diag dg;
static char *msgs; /* every diagnostic of the last build */
static size_t msgs_len;

static bool build_arch(const char *text, enum arch arch)
{
    spec_free(&spec);
    spec_init(&spec, arch);
    free(msgs);
    msgs = NULL;
    FILE *f = open_memstream(&msgs, &msgs_len);
    diag_init(&dg, f);
    bool ok = cfg_build_buffer("t", text, strlen(text), fake_env(files), &dg,
                               &spec, NULL);
    fclose(f);
    if (getenv("TEST_VERBOSE"))
        fputs(msgs, stderr);
    return ok;
}

static bool build(const char *text)
{
    return build_arch(text, ARCH_X86_64);
}

#define BASE "ram 64m load g.elf "

static void expect_ok(const char *text)
{
    if (!build(text))
        fail_msg("config rejected: %s\n  -> %s", text, msgs);
}

static void expect_err(const char *text, const char *substr)
{
    if (build(text))
        fail_msg("config accepted: %s (wanted '%s')", text, substr);
    if (!strstr(msgs, substr))
        fail_msg("config: %s\n  errors: %s\n  wanted: %s", text, msgs, substr);
}

static int teardown(void **st)
{
    (void)st;
    spec_free(&spec);
    free(msgs);
    msgs = NULL;
    return 0;
}

static const struct vdev_spec *vdev(const char *type, unsigned nth)
{
    for (size_t i = 0; i < spec.vdevs.n; i++)
        if (strcmp(spec.vdevs.v[i].type->name, type) == 0 && nth-- == 0)
            return &spec.vdevs.v[i];
    fail_msg("no vdev %s", type);
    return NULL;
}

/* ---- contexts ----------------------------------------------------------- */

static void test_last_wins_and_accumulation(void **st)
{
    (void)st;
    expect_ok(BASE "cpu sched 8 sched 6f cpu runmask 0,1 runmask 3");
    assert_int_equal(spec.cpus.n, 2);
    assert_int_equal(spec.cpus.v[0].sched.prio, 6);
    assert_int_equal(spec.cpus.v[0].sched.policy, SCHED_P_FIFO);
    assert_int_equal(spec.cpus.v[1].runmask[0], 1u << 3);
    expect_ok(BASE
              "vdev ser8250 hostdev <in.txt hostdev >out/log "
              "vdev hpet intr ioapic:2 intr ioapic:8,ioapic:10 "
              "vdev shmem create A,4k create B,1m,0640 create C,8k,0600,7");
    assert_int_equal(vdev("ser8250", 0)->hostdevs.n, 2);
    assert_int_equal(vdev("hpet", 0)->intrs.n, 3);
    assert_int_equal(vdev("shmem", 0)->opts.n, 3);
    assert_int_equal(vdev("shmem", 0)->opts.v[1].num, 1 << 20);
    assert_int_equal(vdev("shmem", 0)->opts.v[1].num2, 0640);
    /* a single-valued vdev option: last wins, one value kept */
    expect_ok(BASE "vdev virtio-blk hostdev disk.img threads 2 threads 4");
    assert_int_equal(vdev("virtio-blk", 0)->opts.n, 1);
    assert_int_equal(vdev_opt(vdev("virtio-blk", 0), "threads")->num, 4);
    /* the context lasts across stand-alone options */
    expect_ok("ram 64m vdev ser8250 cmdline \"x y\" loc 0x2f8 intr ioapic:3 "
              "load g.elf");
    assert_int_equal(vdev("ser8250", 0)->loc.base, 0x2f8);
    assert_string_equal(spec.cmdline, "x y");
    /* logger lines accumulate, later wins per class */
    expect_ok(BASE "logger debug,info stdout logger info none");
    assert_int_equal(spec.log_dest[5], 1);
    assert_int_equal(spec.log_dest[4], 0);
}

static void test_ram_placement(void **st)
{
    (void)st;
    expect_ok("ram 0xa0000 rom 0xc0000,0x40000 ram 1024M load g.elf");
    assert_int_equal(spec.mem.n, 3);
    assert_int_equal(spec.mem.v[0].base, 0);
    assert_int_equal(spec.mem.v[2].base, 0x100000);
    assert_int_equal(spec.mem.v[2].size, 1ULL << 30);
    assert_int_equal(spec.mem.v[1].kind, MEM_ROM);
    expect_err("ram 0x1800 load g.elf", "not page aligned");
    expect_err("ram 0,0 load g.elf", "length is zero");
    expect_err("ram 0,64m rom 32m,1m load g.elf", "overlaps ram");
    expect_err("ram 99999999999G", "does not fit in 64 bits");
    expect_err("ram 0xfffffffffffff000,8k", "beyond the guest-physical");
    expect_err("load g.elf", "no 'ram'");
}

static void test_system_rules(void **st)
{
    (void)st;
    expect_ok("system vm1 " BASE);
    assert_string_equal(spec.system, "vm1");
    expect_err(BASE "system vm1", "'system' must be the first entry");
    /* defined twice: the last one read wins, with a note (QNX's rule) */
    expect_ok("system a " BASE "system b");
    assert_string_equal(spec.system, "b");
    assert_non_null(strstr(msgs, "t:1:29: note: 'system' is given again: "
                                 "this value replaces the one at t:1:1"));
    assert_int_equal(dg.warnings, 0);
    expect_err("system x/y " BASE, "no '/'");
}

static void test_unknown_words(void **st)
{
    (void)st;
    expect_err(BASE "rma 1m", "did you mean 'ram'?");
    expect_err(BASE "vdev ser8250 hostdve >-", "did you mean 'hostdev'?");
    expect_err(BASE "vdev ser825", "did you mean 'ser8250'?");
    expect_err(BASE "vdev frobnicator", "unknown vdev type 'frobnicator'");
    expect_err(BASE "loc 0x3f8", "outside its context: it must follow");
    expect_err(BASE "vdev ser8250 runmask 1", "not an option of vdev ser8250");
    expect_err(BASE "cpu hostdev x", "not an option of cpu");
    expect_err(BASE "initrd cpu", "must be followed by 'load'");
    expect_err(BASE "gdb tcp:1234", "not supported");
    expect_err(BASE "vdev ser8250 hostdev", "needs an argument");
    expect_err(BASE "vdev ser8250 hostdev vdev pckeyboard",
               "needs an argument");
    /* one error each, not a cascade */
    build(BASE "vdev nosuch loc 0x3f8 intr ioapic:4 hostdev >- cpu");
    assert_int_equal(dg.errors, 1);
}

static void test_vdev_names(void **st)
{
    (void)st;
    expect_ok(BASE "vdev vdev-ser8250.so vdev vdev-pckeyboard vdev "
                   "mc146818.so");
    assert_int_equal(spec.vdevs.n, 4); /* + implicit ioapic */
    expect_err(BASE "vdev ser8250 name a vdev ser8250 name a",
               "two vdevs are named 'a'");
    /* a single-instance vdev defined twice: the second definition
     * replaces the first (its options and `set`s) in the same place */
    expect_ok(BASE "vdev mc146818 reg 1,2 set debug off vdev timer8254 "
                   "vdev mc146818 name rtc2 reg 3,4");
    assert_int_equal(spec.vdevs.n, 3); /* + implicit ioapic */
    assert_string_equal(vdev("mc146818", 0)->name, "rtc2");
    assert_int_equal(vdev("mc146818", 0)->opts.n, 1);
    assert_string_equal(vdev("mc146818", 0)->opts.v[0].text, "3,4");
    assert_int_equal(spec.sets.n, 0);
    assert_non_null(strstr(msgs, "note: vdev 'mc146818' is defined again"));
    assert_non_null(strstr(msgs, "replaces the one at t:1:20"));
    expect_err(BASE "vdev ioapic name my:pic", "or ':'");
}

static void test_arch(void **st)
{
    (void)st;
    expect_err(BASE "vdev pl011", "only for aarch64 guests");
    expect_err(BASE "vdev gic version 2", "only for aarch64 guests");
    expect_err(BASE "vdev wdt-sp805", "only for aarch64 guests");
    expect_err(BASE "fdt load g.elf", "only for aarch64 guests");
    expect_err(BASE "set fdt-dump-file x", "only for aarch64 guests");
    if (build_arch("ram 0x80000000,128m load g.elf vdev ser8250", ARCH_AARCH64))
        fail();
    assert_non_null(strstr(msgs, "only for x86_64 guests"));
    if (!build_arch("ram 0x80000000,128m load g.elf vdev gic version 2 "
                    "vdev pl011 hostdev >- vdev virtio-blk loc 0x1c0d0000 "
                    "intr gic:41 hostdev disk.img",
                    ARCH_AARCH64))
        fail_msg("%s", dg.last);
    assert_int_equal(vdev("pl011", 0)->loc.base, 0x1c090000);
    assert_int_equal(vdev("pl011", 0)->intrs.v[0].line, 37);
    assert_int_equal(vdev("virtio-blk", 0)->is_pci, 0);
    build_arch("ram 0x80000000,128m load g.elf vdev pl011 intr gic:5",
               ARCH_AARCH64);
    assert_non_null(strstr(msgs, "not a shared peripheral"));
    build_arch("ram 0x80000000,128m load g.elf vdev gic version 2 "
               "cpu cpu cpu cpu cpu cpu cpu cpu cpu",
               ARCH_AARCH64);
    assert_non_null(strstr(msgs, "at most 8 vCPUs"));
}

static void test_unsupported_and_ignored(void **st)
{
    (void)st;
    expect_err(BASE "vdev smmu", "not supported");
    expect_err(BASE "vdev vgpu-gvtg", "not supported");
    expect_err(BASE "vdev virtio-gpu", "not supported");
    expect_err(BASE "safety required", "cannot be met");
    expect_ok(BASE "vdev progress cpu partition p1 safety warn "
                   "set grow-heap 1m");
    assert_int_equal(dg.warnings, 4);
    assert_non_null(strstr(msgs, "no effect on Linux"));
    /* --strict-config turns warnings into errors */
    spec_free(&spec);
    spec_init(&spec, ARCH_X86_64);
    diag_init(&dg, NULL);
    dg.strict = true;
    const char *t = BASE "cpu partition p1";
    assert_false(
        cfg_build_buffer("t", t, strlen(t), fake_env(files), &dg, &spec, NULL));
}

static void test_defaults_x86(void **st)
{
    (void)st;
    expect_ok(BASE "vdev ser8250 vdev ser8250 vdev timer8254 vdev mc146818 "
                   "vdev pckeyboard vdev hpet vdev 8259 vdev 8259 "
                   "vdev wdt-ib700");
    const struct vdev_spec *c1 = vdev("ser8250", 0), *c2 = vdev("ser8250", 1);
    assert_int_equal(c1->loc.base, 0x3f8);
    assert_int_equal(c1->intrs.v[0].line, 4);
    assert_true(c1->loc.is_default);
    assert_int_equal(c2->loc.base, 0x2f8);
    assert_int_equal(c2->intrs.v[0].line, 3);
    assert_int_equal(vdev("timer8254", 0)->loc.base, 0x40);
    assert_int_equal(vdev("timer8254", 0)->intrs.v[0].line, 0);
    assert_int_equal(vdev("mc146818", 0)->intrs.v[0].line, 8);
    assert_int_equal(vdev("pckeyboard", 0)->loc.base, 0x60);
    assert_int_equal(vdev("hpet", 0)->loc.base, 0xfed00000);
    assert_int_equal(vdev("hpet", 0)->intrs.n, 2);
    assert_int_equal(vdev("8259", 0)->loc.base, 0x20);
    assert_int_equal(vdev("8259", 1)->loc.base, 0xa0);
    assert_int_equal(vdev("wdt-ib700", 0)->loc.base, 0x441);
    /* the implicit I/O APIC */
    const struct vdev_spec *io = vdev("ioapic", 0);
    assert_string_equal(io->name, "ioapic");
    assert_int_equal(io->loc.base, 0xfec00000);
    assert_int_equal(spec.cpus.n, 1);
    /* a third UART has no default */
    expect_err(BASE "vdev ser8250 vdev ser8250 vdev ser8250",
               "no free default location");
    /* reserve pushes the default away; explicit use stays allowed */
    expect_ok(BASE "reserve loc io:0x3f8,8 vdev ser8250");
    assert_int_equal(vdev("ser8250", 0)->loc.base, 0x2f8);
    expect_ok(BASE "reserve loc io:0x3f8,8 vdev ser8250 loc 0x3f8");
    expect_err(BASE "reserve intr 4 vdev ser8250", "is reserved");
    expect_err(BASE "vdev ser8250 loc 0x3e8", "non-default 'loc' needs");
    expect_err(BASE "reserve loc 0,4k", "overlaps ram");
}

static void test_pci_placement(void **st)
{
    (void)st;
    expect_ok(BASE "vdev virtio-blk hostdev disk.img vdev virtio-net "
                   "loc pci:0:5 vdev virtio-entropy legacy vdev shmem "
                   "vdev pci-dummy reg 0x00/2=0x8086 reg 0x02/2=0x1234");
    const struct vdev_spec *b = vdev("virtio-blk", 0);
    assert_true(b->is_pci);
    assert_int_equal(b->pci.bdf.dev, 1);
    assert_int_equal(b->pci.vendor, 0x1af4);
    assert_int_equal(b->pci.device, 0x1042);
    assert_int_equal(b->pci.bars[4].kind, BAR_MEM64);
    assert_int_equal(b->pci.bars[1].base, 0xc0000000);
    assert_int_equal(b->pci.intx_pin, 1);
    assert_int_equal(b->pci.intx.line, 17);
    assert_int_equal(vdev("virtio-net", 0)->pci.bdf.dev, 5);
    const struct vdev_spec *r = vdev("virtio-entropy", 0);
    assert_int_equal(r->pci.bdf.dev, 2);
    assert_int_equal(r->pci.device, 0x1005); /* transitional */
    assert_int_equal(r->pci.bars[0].kind, BAR_IO);
    assert_int_equal(r->pci.bars[0].base, 0xc000);
    assert_int_equal(vdev("shmem", 0)->pci.vendor, 0x1c05);
    assert_int_equal(vdev("pci-dummy", 0)->pci.device, 0x1234);
    assert_int_equal(vdev("pci-dummy", 0)->pci.intx_pin, 0);
    assert_true(spec.has_pci);
    /* BDF conflicts and MMIO transport */
    expect_err(BASE "vdev virtio-entropy loc pci:0:3 vdev shmem loc pci:0:3",
               "overlaps");
    expect_err(BASE "reserve loc pci:0:1 vdev virtio-entropy loc pci:0:1.0 "
                    "vdev ser8250 loc pci:0:2",
               "cannot be placed in pci space");
    expect_ok(BASE "reserve loc pci:0:1 vdev virtio-entropy");
    assert_int_equal(vdev("virtio-entropy", 0)->pci.bdf.dev, 2);
    expect_ok(BASE "vdev virtio-entropy loc 0xd0000000 intr ioapic:5");
    assert_false(vdev("virtio-entropy", 0)->is_pci);
    assert_int_equal(vdev("virtio-entropy", 0)->loc.size, 0x200);
    expect_err(BASE "vdev virtio-entropy loc 0xd0000000", "needs 'intr'");
    expect_err(BASE "vdev pci-dummy loc 0x1000", "not a PCI address");
    expect_err(BASE "vdev pci-dummy loc mem:0x1000", "cannot be placed in mem");
    expect_err(BASE "vdev virtio-entropy loc pci:0:32", "out of range");
}

static void test_interrupts(void **st)
{
    (void)st;
    expect_ok(BASE "vdev ioapic loc 0xf8000000 intr apic name myio "
                   "vdev ser8250 intr myio:4 vdev timer8254 intr myio:0 "
                   "vdev hpet intr myio:0,myio:8 vdev mc146818");
    assert_int_equal(vdev("ser8250", 0)->intrs.v[0].pic, 0);
    expect_err(BASE "vdev ser8250 intr ioapic:4 vdev pckeyboard intr ioapic:4",
               "already used by vdev ser8250");
    expect_err(BASE "vdev ser8250 intr ioapic:24", "does not exist");
    expect_err(BASE "vdev ser8250 intr nopic:4", "unknown interrupt "
                                                 "controller 'nopic'");
    expect_err(BASE "vdev ser8250 intr mypic:4 vdev ioapic name mypic",
               "used before it is defined");
    expect_err(BASE "vdev ser8250 intr apic", "only valid on a vdev ioapic");
    expect_err(BASE "vdev ser8250 intr 4", "must be written PIC:LINE");
    expect_err(BASE "vdev ser8250 intr ioapic:x", "is not a number");
    expect_err(BASE "vdev 8259 intr ioapic:3", "not an option of vdev 8259");
    expect_err(BASE "vdev ioapic intr ioapic:1", "can only be 'apic'");
    /* an 8259 named as a controller, with 8 lines */
    expect_ok(BASE "vdev 8259 name pic1 vdev ser8250 intr pic1:4");
    expect_err(BASE "vdev 8259 name pic1 vdev ser8250 intr pic1:8",
               "lines 0-7");
    /* pass-through interrupts: ,u and =host */
    expect_ok(BASE "pass intr ioapic:11,u=0x20 intr ioapic:12=44");
    assert_true(spec.passes.v[0].intrs.v[0].unmask_u);
    assert_int_equal(spec.passes.v[0].intrs.v[0].host_vector, 0x20);
    assert_int_equal(spec.passes.v[0].intrs.v[1].host_vector, 44);
    expect_err(BASE "vdev ser8250 pass intr ioapic:4", "already used");
}

static void test_loc_forms(void **st)
{
    (void)st;
    expect_ok(BASE "pass loc mem:0x20000000,0x1000,rwn=0x1000 "
                   "loc io:0x2e8,8 loc pci:0:2.0=pci:0:2.0 "
                   "loc pci:0x8086/0x5aa8 loc pci:0:3=pci:0x8086/0x1234 "
                   "reserve loc 0xa0000000,0x20000 loc io:0x100 loc pci:0:9");
    const struct pass_spec *p = &spec.passes.v[0];
    assert_int_equal(p->locs.n, 5);
    assert_int_equal(p->locs.v[0].host_base, 0x1000);
    assert_string_equal(p->locs.v[0].attrs, "rwn");
    assert_true(p->locs.v[2].host_is_bdf);
    assert_true(p->locs.v[3].by_id);
    assert_int_equal(p->locs.v[3].vid, 0x8086);
    assert_int_equal(spec.reserves.v[0].locs.v[2].size, 8);
    expect_err(BASE "pass loc 0x2000,0x800", "page aligned");
    expect_err(BASE "pass loc 0x2000", "needs a length");
    expect_err(BASE "pass loc mem:0x2000,0x1000,rwq", "bad attributes");
    expect_err(BASE "pass loc io:0xfff0,0x20", "past port 0xffff");
    expect_err(BASE "pass loc pci:0:1=0:2.0", "must be pci:");
    expect_err(BASE "vdev ser8250 loc 0x3f8,8", "one address");
    expect_err(BASE "vdev ser8250 loc 0x10000", "past port 0xffff");
    expect_err(BASE "pass loc 0,4k", "overlaps ram");
    expect_err(BASE "vdev hpet loc 0xd0000000 vdev ioapic loc 0xd0000000",
               "overlaps vdev hpet");
    expect_err(BASE "vdev ser8250 loc 0x40 intr ioapic:4 vdev timer8254",
               "no free default location for vdev timer8254");
    /* MMIO inside RAM leaves a hole */
    expect_ok("ram 64m load g.elf vdev shmem loc 0x100000 intr ioapic:10");
    assert_int_equal(spec.mem.n, 2);
    assert_int_equal(spec.mem.v[0].size, 0x100000);
    assert_int_equal(spec.mem.v[1].base, 0x101000);
    assert_int_equal(dg.warnings, 1);
}

static void test_loads(void **st)
{
    (void)st;
    expect_ok("ram 64m load g.elf initrd load raw.bin data load "
              "0x10000,raw.bin acpi load raw.bin");
    assert_int_equal(spec.loads.v[0].fmt, IMG_ELF64);
    assert_true(spec.loads.v[0].sets_entry);
    assert_int_equal(spec.entry_load, 0);
    assert_int_equal(spec.loads.v[1].blob, BLOB_INITRD);
    assert_false(spec.loads.v[1].sets_entry);
    assert_int_equal(spec.loads.v[2].addr, 0x10000);
    expect_ok("ram 64m load 0x1000,raw.bin load bz");
    assert_int_equal(spec.loads.v[0].fmt, IMG_RAW);
    assert_true(spec.loads.v[0].sets_entry);
    assert_int_equal(spec.loads.v[1].fmt, IMG_BZIMAGE);
    assert_false(spec.loads.v[1].sets_entry);
    expect_ok("ram 64m load pvh.elf");
    assert_int_equal(spec.loads.v[0].fmt, IMG_PVH_ELF);
    expect_err("ram 64m load nothere", "cannot load 'nothere'");
    expect_err("ram 64m load dumps", "not a regular file");
    expect_err("load 0x1000,raw.bin ram 64m",
               "comes before the ram/rom that holds it");
    expect_err("ram 64m load 0x8000000,raw.bin", "does not fit");
    expect_err("ram 64m load g.elf initrd load raw.bin initrd load raw.bin",
               "only one 'initrd load'");
    expect_err("ram 64m load 0x1000,", "names no file");
    build("ram 64m load 0x1000,g.elf");
    assert_int_equal(dg.warnings, 1);
}

static void test_hostdevs(void **st)
{
    (void)st;
    expect_ok(BASE "vdev ser8250 hostdev - vdev ser8250 hostdev >\"|cat\" "
                   "vdev virtio-console hostdev pty vdev virtio-blk "
                   "hostdev <disk.img");
    assert_int_equal(vdev("ser8250", 0)->hostdevs.v[0].kind, HOSTDEV_STDIO);
    assert_int_equal(vdev("ser8250", 1)->hostdevs.v[0].kind, HOSTDEV_PIPE);
    assert_string_equal(vdev("ser8250", 1)->hostdevs.v[0].path, "cat");
    assert_int_equal(vdev("virtio-console", 0)->hostdevs.v[0].kind,
                     HOSTDEV_PTY);
    assert_int_equal(vdev("virtio-blk", 0)->hostdevs.v[0].dir, HOSTDEV_IN);
    expect_err(BASE "vdev ser8250 hostdev - hostdev >out/x", "two outputs");
    expect_err(BASE "vdev ser8250 hostdev - vdev ser8250 hostdev <-",
               "standard input is already");
    expect_err(BASE "vdev ser8250 hostdev <nofile", "No such file");
    expect_err(BASE "vdev ser8250 hostdev >nodir/x", "does not exist");
    expect_err(BASE "vdev ser8250 hostdev \"|cat\"", "output only");
    expect_err(BASE "vdev virtio-blk", "needs 'hostdev'");
    expect_err(BASE "vdev virtio-blk hostdev -", "needs a file");
    expect_err(BASE "vdev virtio-blk hostdev nodisk", "No such file");
}

static void test_typed_values(void **st)
{
    (void)st;
    expect_ok(BASE "vdev mc146818 reg 0x0b,0x02 reg 10,0x26 "
                   "vdev virtio-net mac 52:54:00:12:34:56 peer "
                   "/dev/vdevpeers/vp0 peerfeats 0x7fc3 "
                   "vdev virtio-net name n2 peer /dev/qvm/other/n1 "
                   "vdev virtio-blk hostdev disk.img dio enable delayed "
                   "forever vdev wdt-ib700 action dump,terminate");
    assert_int_equal(vdev("mc146818", 0)->opts.v[0].num, 0x0b);
    assert_int_equal(vdev("mc146818", 0)->opts.v[0].num2, 2);
    assert_int_equal(vdev_opt(vdev("virtio-net", 0), "mac")->num,
                     0x525400123456ULL);
    assert_int_equal(vdev_opt(vdev("virtio-blk", 0), "delayed")->num,
                     UINT64_MAX);
    assert_int_equal(vdev_opt(vdev("wdt-ib700", 0), "action")->num2, 1);
    expect_err(BASE "vdev mc146818 reg 200,1", "index 0-127");
    expect_err(BASE "vdev virtio-net mac 52:54:00:12:34", "not a MAC");
    expect_err(BASE "vdev virtio-net mac 01:00:5e:00:00:01", "multicast");
    expect_err(BASE "vdev virtio-net peer /tmp/x", "must be /dev/vdevpeers");
    expect_err(BASE "vdev virtio-net peer /dev/vdevpeers/waytoolongname01",
               "1-15 characters");
    expect_err("system s " BASE "vdev virtio-net name n peer /dev/qvm/s/n",
               "its own peer");
    expect_err(BASE "vdev virtio-blk hostdev disk.img dio maybe",
               "must be one of");
    expect_err(BASE "vdev virtio-blk hostdev disk.img threads 0",
               "out of range");
    expect_err(BASE "vdev hpet frequency 10", "out of range");
    expect_err(BASE "vdev pci-dummy reg 0x01/2=1", "OFFSET/SIZE=VALUE");
    expect_err(BASE "vdev pci-dummy reg 0x00/1=0x100", "value fits");
    expect_err(BASE "vdev shmem create X", "NAME,SIZE");
    expect_err(BASE "vdev shmem create "
                    "AVERYLONGREGIONNAMETHATISTOOLONGFORIT,4k",
               "1-31 characters");
    expect_err(BASE "vdev shmem allow a* deny b*", "not both");
    expect_err(BASE "vdev wdt-ib700 action reboot", "[dump,]terminate");
    expect_err(BASE "cpu sched 0", "PRIO 1-255");
    expect_err(BASE "cpu sched 10x", "PRIO 1-255");
    expect_ok(BASE "cpu sched 20,10,5,1000000,500000s cpu sched 7o");
    assert_int_equal(spec.cpus.v[0].sched.policy, SCHED_P_SPORADIC);
    assert_int_equal(spec.cpus.v[0].sched.lo_prio, 10);
    assert_int_equal(spec.cpus.v[1].sched.policy, SCHED_P_OTHER);
    expect_err(BASE "cpu runmask 300", "host CPU number");
    expect_ok(BASE "cpu cluster _cpu-1");
    assert_int_equal(spec.cpus.v[0].runmask[0], 2);
    expect_err(BASE "cpu cluster big", "unknown CPU cluster");
    expect_err(BASE "cpu runmask 1 cluster _cpu-1", "use one");
}

static void test_set_and_globals(void **st)
{
    (void)st;
    expect_ok(BASE "set exit-on-halt off vdev ser8250 set debug off "
                   "unsupported reference abort unsupported instruction "
                   "ignore tolerance 100 dump dumps logger verbose stderr");
    assert_int_equal(spec.sets.n, 2);
    assert_int_equal(spec.sets.v[1].vdev, 0);
    assert_string_equal(spec_set_var(&spec, "exit-on-halt"), "off");
    assert_int_equal(spec.unsupported[UNSUP_REFERENCE], UNSUP_ABORT);
    assert_int_equal(spec.unsupported[UNSUP_INSTRUCTION], UNSUP_IGNORE);
    assert_int_equal(spec.tolerance_us, 100);
    expect_err(BASE "set exit-on-hlt off", "did you mean 'exit-on-halt'");
    expect_err(BASE "set debug off", "applies to a vdev");
    expect_err(BASE "set exit-on-halt maybe", "takes on/off");
    expect_err(BASE "unsupported memory abort", "the type is");
    expect_err(BASE "unsupported reference panic", "the action is");
    expect_err(BASE "logger loud stderr", "unknown log class");
    expect_err(BASE "logger info file", "unknown log destination");
    expect_err(BASE "dump nodir", "does not exist");
    expect_ok(BASE "dump \"|gzip >x.gz\"");
    struct cfg_result res;
    spec_free(&spec);
    spec_init(&spec, ARCH_X86_64);
    diag_init(&dg, NULL);
    const char *t = "set ?";
    assert_true(
        cfg_build_buffer("t", t, strlen(t), fake_env(files), &dg, &spec, &res));
    assert_true(res.list_set_vars);
}

/* The plain Levenshtein distance, for checking did_you_mean's early
 * exits against. */
static unsigned ref_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned d[40][40];
    assert_true(la < 40 && lb < 40);
    for (size_t i = 0; i <= la; i++)
        for (size_t j = 0; j <= lb; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = (unsigned)(i + j);
                continue;
            }
            unsigned v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* did_you_mean picks the first name at the smallest distance (at most 2,
 * and at most half the word's length rounded up): the same answer as the
 * full computation over every name, for words near and far from them. */
static void test_did_you_mean(void **st)
{
    (void)st;
    static const char *const names[] = {
        "console", "cpu",        "ram",        "rom",   "vdev",
        "pass",    "reserve",    "system",     "load",  "initrd",
        "cmdline", "dryrun",     "logger",     "debug", "user",
        "ser8250", "virtio-net", "virtio-blk", "hpet",  NULL};
    const unsigned n = sizeof(names) / sizeof(names[0]) - 1;
    static const char *const words[] = {
        "consol",    "cosnole",    "cpus",
        "rma",       "rm",         "vdevv",
        "pas",       "reserv",     "sytem",
        "lod",       "intrd",      "cmdlin",
        "dryrn",     "loger",      "debgu",
        "usr",       "ser825",     "virtio-nt",
        "virtio-bk", "hpt",        "x",
        "",          "zzzzzzzzzz", "virtio",
        "console",   "ro",         "abcdefghijklmnopqrstuvwxyz0123"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        const char *want = NULL;
        unsigned best = 3;
        for (unsigned i = 0; i < n; i++) {
            unsigned d = ref_distance(words[w], names[i]);
            if (d < best && d * 2 <= strlen(words[w]) + 1) {
                want = names[i];
                best = d;
            }
        }
        const char *got = did_you_mean(words[w], names, n);
        if (want == NULL)
            assert_null(got);
        else
            assert_string_equal(got, want);
    }
    assert_string_equal(did_you_mean("consol", names, n), "console");
    assert_string_equal(did_you_mean("virtio-nt", names, n), "virtio-net");
    assert_null(did_you_mean("zzzzzzzzzz", names, n));
}

static void test_error_cap(void **st)
{
    (void)st;
    char text[4096] = BASE;
    for (int i = 0; i < 70; i++)
        strcat(text, "rom bogus ");
    build(text);
    assert_int_equal(dg.errors, 70);
    assert_true(dg.capped);
}

/*
 * Every option of every vdev type for this architecture: a value built from
 * its type is accepted, and (for typed options) a wrong one is rejected.
 */
static const char *good_value(const struct opt_def *d)
{
    switch (d->type) {
    case OPT_NUM:
        return d->min >= 1000 ? "14318180" : d->min ? "2" : "1";
    case OPT_SIZE:
        return "0x1000";
    case OPT_BOOL:
        return "on";
    case OPT_ENUM:
        return d->choices[0];
    case OPT_NAME:
    case OPT_STR:
    case OPT_GID:
        return "x1";
    case OPT_DELAYED:
        return "5";
    case OPT_CMOS_REG:
        return "0x0b,0x02";
    case OPT_PCI_REG:
        return "0x00/2=0x8086";
    case OPT_SHM_CREATE:
        return "R1,64k";
    case OPT_WDT_ACTION:
        return "dump,terminate";
    case OPT_NUM_LIST:
        return "1,2,3";
    case OPT_BDF:
        return "pci:0:31.0";
    case OPT_MAC:
        return "52:54:00:00:00:01";
    case OPT_PEER:
        return "/dev/vdevpeers/vp0";
    case OPT_LOG:
        return "debug stderr";
    case OPT_MODE:
        return "022";
    case OPT_SUBST:
        return ",pre";
    case OPT_SCHED:
        return "10r";
    default:
        return NULL;
    }
}

static const char *bad_value(const struct opt_def *d)
{
    switch (d->type) {
    case OPT_NUM:
    case OPT_SIZE:
    case OPT_NUM_LIST:
        return "12q";
    case OPT_BOOL:
    case OPT_ENUM:
    case OPT_CMOS_REG:
    case OPT_PCI_REG:
    case OPT_SHM_CREATE:
    case OPT_WDT_ACTION:
    case OPT_BDF:
    case OPT_MAC:
    case OPT_PEER:
    case OPT_MODE:
    case OPT_SUBST:
    case OPT_SCHED:
    case OPT_DELAYED:
        return "zz";
    default:
        return NULL;
    }
}

static void test_every_vdev_option(void **st)
{
    (void)st;
    unsigned checked = 0;
    for (unsigned i = 0; vdev_types[i]; i++) {
        const struct vdev_type *vt = vdev_types[i];
        if (!(vt->arch & ARCH_X86_64) || (vt->flags & (VF_REJECT | VF_IGNORE)))
            continue;
        for (const struct opt_def *d = vt->opts; d->name; d++) {
            const char *gv = good_value(d);
            char text[512];
            const char *extra =
                strcmp(vt->name, "virtio-blk") == 0 ? " hostdev disk.img" : "";
            if (d->type == OPT_FLAG) {
                snprintf(text, sizeof(text), BASE "vdev %s %s%s", vt->name,
                         d->name, extra);
            } else if (gv) {
                snprintf(text, sizeof(text), BASE "vdev %s %s %s%s", vt->name,
                         d->name, gv, extra);
            } else {
                continue; /* loc/intr/hostdev: tested above */
            }
            if (!build(text))
                fail_msg("%s: %s", text, dg.last);
            const char *bv = bad_value(d);
            if (bv) {
                snprintf(text, sizeof(text), BASE "vdev %s %s %s%s", vt->name,
                         d->name, bv, extra);
                if (build(text))
                    fail_msg("accepted: %s", text);
            }
            checked++;
        }
    }
    assert_true(checked > 40);
}

static void test_every_top_and_cpu_option_documented(void **st)
{
    (void)st;
    const struct opt_def *tabs[] = {top_opts, cpu_opts, pass_opts, reserve_opts,
                                    set_vars};
    for (size_t t = 0; t < 5; t++)
        for (const struct opt_def *d = tabs[t]; d->name; d++)
            if (!d->help && !d->why)
                fail_msg("option '%s' has no help text", d->name);
    for (unsigned i = 0; vdev_types[i]; i++) {
        assert_non_null(vdev_types[i]->help);
        assert_non_null(vdev_type_find(vdev_types[i]->name));
        for (const struct opt_def *d = vdev_types[i]->opts; d->name; d++)
            if (!d->help && !d->why)
                fail_msg("vdev %s option '%s' has no help text",
                         vdev_types[i]->name, d->name);
    }
}

int main(void)
{
    bzimage[0x1fe] = 0x55;
    bzimage[0x1ff] = (char)0xaa;
    memcpy(bzimage + 0x202, "HdrS", 4);
    memcpy(pvh,
           "\x7f"
           "ELF\x02\x01\x01",
           7);
    pvh[0x20] = 64;                     /* e_phoff */
    pvh[0x36] = 56;                     /* e_phentsize */
    pvh[0x38] = 1;                      /* e_phnum */
    pvh[64] = 4;                        /* PT_NOTE */
    pvh[64 + 8] = (char)(40000 & 0xff); /* p_offset */
    pvh[64 + 9] = (char)(40000 >> 8);
    pvh[64 + 32] = 20; /* p_filesz */
    memcpy(pvh + 40000, "\x04\0\0\0\x04\0\0\0\x12\0\0\0Xen\0\0\0\0\x01", 20);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_last_wins_and_accumulation, teardown),
        cmocka_unit_test_teardown(test_ram_placement, teardown),
        cmocka_unit_test_teardown(test_system_rules, teardown),
        cmocka_unit_test_teardown(test_unknown_words, teardown),
        cmocka_unit_test_teardown(test_vdev_names, teardown),
        cmocka_unit_test_teardown(test_arch, teardown),
        cmocka_unit_test_teardown(test_unsupported_and_ignored, teardown),
        cmocka_unit_test_teardown(test_defaults_x86, teardown),
        cmocka_unit_test_teardown(test_pci_placement, teardown),
        cmocka_unit_test_teardown(test_interrupts, teardown),
        cmocka_unit_test_teardown(test_loc_forms, teardown),
        cmocka_unit_test_teardown(test_loads, teardown),
        cmocka_unit_test_teardown(test_hostdevs, teardown),
        cmocka_unit_test_teardown(test_typed_values, teardown),
        cmocka_unit_test_teardown(test_set_and_globals, teardown),
        cmocka_unit_test(test_did_you_mean),
        cmocka_unit_test_teardown(test_error_cap, teardown),
        cmocka_unit_test_teardown(test_every_vdev_option, teardown),
        cmocka_unit_test_teardown(test_every_top_and_cpu_option_documented,
                                  teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

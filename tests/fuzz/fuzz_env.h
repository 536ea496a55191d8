/*
 * fuzz_env.h: the fake VM the device fuzz targets share (fuzz_devreg.c,
 * fuzz_vdev.c): the port-I/O and MMIO buses, 64 KiB of guest RAM at gpa 0
 * behind a gview (the one gate devices reach guest memory through), and a
 * dev_ctx whose callbacks record what the device asked for (irq_set, stop,
 * msi_send, MSI routes, irqfds; ioeventfd refused or accepted). Devices
 * are built from a configuration text through the real front end, and
 * realized with the registry (devices_realize_models) on an event loop
 * that is never started: everything runs on the fuzzing thread. A
 * temporary directory (substituted for @DIR@ in the text) holds
 * host files; it is also $QVM_RUNTIME_DIR. Header-only, included once.
 */
#ifndef QVM_TESTS_FUZZ_ENV_H
#define QVM_TESTS_FUZZ_ENV_H

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/fake_irq.h"
#include "config/front.h"
#include "devices/device.h"
#include "devices/pci.h"
#include "util/log.h"

#define FE_RAM  0x10000u
#define FE_GSIS 1024

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #c);                                                       \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* What the host offers (the first input byte): KVM's fast paths. */
#define FE_KVM_ROUTES 1 /* msi_route_alloc/set and irqfd succeed */
#define FE_KVM_IOEVFD 2 /* ioeventfd registrations succeed */

struct fenv {
    struct bus pio, mmio;
    unsigned char *ram;
    struct gview mem;
    struct dev_ctx ctx;
    char dir[64];
    unsigned kvm; /* FE_KVM_* */
    /* recorded */
    bool level[FE_GSIS];
    unsigned irqs, stops, msis, routes, irqfds, ram_adds;
    int next_gsi;
};

static struct fenv fe;

/*
 * Keep freed memory mapped between inputs. Each input realizes and frees
 * its devices, and some allocations are above glibc's mmap and trim
 * thresholds (virtio-net's 133 KB receive stash): by default each input
 * mapped and zeroed them afresh, page by page, and page faults were most
 * of the time (fuzz_pci: 2,200 executions a second, 13,700 with this).
 * Speed only: what an input does is unchanged (ASan's allocator ignores
 * it).
 */
__attribute__((constructor)) static void fe_malloc_keep(void)
{
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

static void fe_irq(void *opaque, uint32_t gsi, bool level)
{
    (void)opaque;
    CHECK(gsi < FE_GSIS);
    fe.level[gsi] = level;
    fe.irqs++;
}

/* The interrupt controllers: line N of any controller is fe_irq(N). */
FAKE_IRQ(fe_irq)

static void fe_stop(void *opaque, enum vm_stop why)
{
    (void)opaque, (void)why;
    fe.stops++;
}

static int fe_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
    (void)opaque, (void)addr, (void)data;
    fe.msis++;
    return 0;
}

static int fe_route_alloc(void *opaque)
{
    (void)opaque;
    if (!(fe.kvm & FE_KVM_ROUTES))
        return -ENOSYS;
    return fe.next_gsi++;
}

static int fe_route_set(void *opaque, int gsi, bool valid, uint64_t addr,
                        uint32_t data)
{
    (void)opaque, (void)valid, (void)addr, (void)data;
    CHECK(gsi >= 24 && gsi < fe.next_gsi);
    fe.routes++;
    return 0;
}

static int fe_irqfd(void *opaque, int gsi, int fd, bool assign)
{
    (void)opaque, (void)assign;
    CHECK(gsi >= 24 && gsi < fe.next_gsi && fd >= 0);
    fe.irqfds++;
    return 0;
}

static int fe_ioeventfd(void *opaque, bool pio, uint64_t addr, unsigned len,
                        bool match, uint64_t data, int fd, bool assign)
{
    (void)opaque, (void)pio, (void)addr, (void)match, (void)data;
    (void)assign;
    CHECK(len <= 8 && fd >= 0);
    return fe.kvm & FE_KVM_IOEVFD ? 0 : -ENOSYS;
}

/* Guest RAM a device backs itself (vdev shmem's region window): a KVM
 * memory slot in qvm; nothing reaches it through the buses here. */
static int fe_ram_add(void *opaque, uint64_t gpa, uint64_t size, void *hva)
{
    (void)opaque;
    CHECK(size && hva && gpa + size > gpa);
    fe.ram_adds++;
    return 0;
}

static void fe_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fe.dir);
    if (fe.dir[0] && system(cmd) != 0)
        fprintf(stderr, "fuzz: cannot remove %s\n", fe.dir);
}

/* fe_init: once per process. Only fatal and internal errors are logged
 * (all with $QVM_FUZZ_LOG set): guest mistakes are what is fed in. */
static void fe_init(void)
{
    if (fe.ram)
        return;
    bool verbose = getenv("QVM_FUZZ_LOG") != NULL;
    for (int c = LOG_ERROR; c < LOG_NCLASS; c++)
        log_set_dest((enum log_class)c, verbose ? LOGD_STDERR : LOGD_NONE);
    /* A PCI bus applies its BAR moves on the fuzzing thread (no remap
     * thread created and joined per input, no hand-off per move). */
    pci_remap_inline(true);
    bus_init(&fe.pio, "pio");
    bus_init(&fe.mmio, "mmio");
    fe.ram = calloc(1, FE_RAM);
    CHECK(fe.ram);
    CHECK(gview_add_region(&fe.mem, 0, FE_RAM, fe.ram, GV_RAM) == 0);
    /* on tmpfs when there is one: shmem's region files are made and
     * removed for each input (2.8x its executions a second against ext4) */
    snprintf(fe.dir, sizeof(fe.dir), "%s/qvm-fuzz.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    CHECK(mkdtemp(fe.dir));
    atexit(fe_cleanup);
    CHECK(setenv("QVM_RUNTIME_DIR", fe.dir, 1) == 0);
    /* the guest image every configuration names (load @DIR@/guest) */
    char path[96];
    snprintf(path, sizeof(path), "%s/guest", fe.dir);
    FILE *g = fopen(path, "wb");
    CHECK(g && fwrite("\xf4\xeb\xfd", 1, 3, g) == 3 && fclose(g) == 0);
    fe.ctx = (struct dev_ctx){
        .pio = &fe.pio,
        .mmio = &fe.mmio,
        .mem = &fe.mem,
        .irq_resolve = fake_irq_resolve,
        .irq_isa = fake_irq_isa,
        .stop = fe_stop,
        .opaque = &fe,
        .ioeventfd = fe_ioeventfd,
        .msi_route_alloc = fe_route_alloc,
        .msi_route_set = fe_route_set,
        .irqfd = fe_irqfd,
        .msi_send = fe_msi_send,
        .ram_add = fe_ram_add,
    };
}

/* fe_reset: a fresh machine for one input (RAM zeroed, records cleared). */
static void fe_reset(unsigned kvm)
{
    memset(fe.ram, 0, FE_RAM);
    memset(fe.level, 0, sizeof(fe.level));
    fe.irqs = fe.stops = fe.msis = fe.routes = fe.irqfds = fe.ram_adds = 0;
    fe.next_gsi = 24;
    fake_irq_reset();
    fe.kvm = kvm;
}

/* fe_spec: the spec of a configuration text (@DIR@: the directory) after
 * `system fz`, 1 MiB of RAM and the guest image, for guests of `arch`
 * (0: x86-64). */
static void fe_spec_arch(struct vm_spec *spec, const char *cfg, enum arch arch)
{
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof(text),
                                "system fz ram 1m load %s/guest\n", fe.dir);
    for (const char *c = cfg; *c && n + sizeof(fe.dir) < sizeof(text);) {
        if (strncmp(c, "@DIR@", 5) == 0) {
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", fe.dir);
            c += 5;
        } else {
            text[n++] = *c++;
        }
    }
    text[n] = '\0';
    struct diag dg;
    diag_init(&dg, stderr);
    spec_init(spec, arch ? arch : ARCH_X86_64);
    if (!cfg_build_buffer("fuzz", text, strlen(text), cfg_env_host(), &dg, spec,
                          NULL)) {
        fprintf(stderr, "fuzz: configuration rejected:\n%s\n", text);
        abort();
    }
}

UNUSED static void fe_spec(struct vm_spec *spec, const char *cfg)
{
    fe_spec_arch(spec, cfg, 0);
}

/* fe_realize / fe_teardown: the spec's devices on the fake VM. */
UNUSED static void fe_realize(const struct vm_spec *spec, struct dev_list *l)
{
    memset(l, 0, sizeof(*l));
    l->ctx = fe.ctx;
    l->ctx.system = spec->system;
    l->ctx.ev = ev_new();
    CHECK(l->ctx.ev);
    CHECK(devices_realize_models(spec, l, false) == 0);
}

UNUSED static void fe_teardown(struct dev_list *l)
{
    devices_teardown(l);
    /* what stays mapped for the VM's life (the platform's ports) */
    struct bus *b[] = {&fe.pio, &fe.mmio};
    for (unsigned i = 0; i < 2; i++)
        while (b[i]->regions.n)
            CHECK(bus_unmap(b[i], b[i]->regions.v[0].base) == 0);
}

#endif

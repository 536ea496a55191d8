/*
 * x86.c: x86 VM and vCPU set-up: in-kernel irqchip (PIC + IOAPIC + LAPIC)
 * and PIT, CPUID from KVM_GET_SUPPORTED_CPUID (hypervisor bit, APIC IDs,
 * KVM leaves), a few MSRs, and the entry register state for each boot
 * protocol (loader/boot.h):
 *   BOOT_PM32:   CR0.PE, flat 4 GiB CS (0x10) and data segments (0x18),
 *                paging off, EFLAGS 0x2, EAX/EBX from the boot state
 *                (multiboot: 0x2BADB002 and the info address).
 *   BOOT_LONG64: CR0.PE|PG, CR4.PAE, EFER.LME|LMA, CR3 = identity map,
 *                64-bit CS.
 * Descriptors are loaded into the hidden segment state; the guest must
 * set up its own GDT before reloading segment registers (as multiboot
 * requires).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/boot64.h"
#include "arch/x86/acpi.h"
#include "arch/x86/board.h"
#include "arch/x86/irqchip.h"
#include "arch/x86/layout.h"
#include "config/schema.h"
#include "devices/pci.h"
#include "util/le.h"
#include "util/log.h"
#include "util/num.h"
#include "vm/machine.h"

#define TAG "x86"

#define CR0_PE   (1ull << 0)
#define CR0_ET   (1ull << 4)
#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176

/*
 * The KVM GSI routing table (vm->gsi; KVM_SET_GSI_ROUTING replaces it at
 * once). Kernel irqchip: GSI g is KVM's IOAPIC input g and, below 16 (but
 * not the cascade, 2), 8259 input g, so that the in-kernel PIT (GSI 0)
 * reaches IOAPIC input 0 as the configuration wires it. Split irqchip: GSI
 * g < the IOAPIC inputs in all is one MSI route per input, kept equal to
 * its redirection entry by irqchip.c. MSI routes for MSI-X vectors follow
 * from msi_base.
 */
#define X86_IOAPIC_PINS 24

static int gsi_grow(struct gsi_routes *g, uint32_t want)
{
    if (want <= g->cap)
        return 0;
    uint32_t cap = g->cap ? g->cap : 64;
    while (cap < want)
        cap *= 2;
    struct kvm_irq_routing *t =
        realloc(g->table, sizeof(*t) + cap * sizeof(t->entries[0]));
    if (!t)
        return -ENOMEM;
    if (!g->table)
        memset(t, 0, sizeof(*t));
    g->table = t;
    g->cap = cap;
    return 0;
}

static int set_gsi_routing(struct vm *vm, bool split, uint32_t split_pins)
{
    struct gsi_routes *g = &vm->gsi;
    if (gsi_grow(g, 16 + X86_IOAPIC_PINS + split_pins) < 0)
        return -ENOMEM;
    struct kvm_irq_routing *r = g->table;
    uint32_t n = 0;
    if (split) {
        for (uint32_t gsi = 0; gsi < split_pins; gsi++)
            r->entries[n++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_MSI,
                .u.msi = {.address_lo = 0xfee00000u}};
        g->msi_base = split_pins;
    } else {
        for (uint32_t gsi = 0; gsi < 16; gsi++) {
            if (gsi == 2)
                continue;
            r->entries[n++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = {gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
                                      : KVM_IRQCHIP_PIC_SLAVE,
                              gsi % 8}};
        }
        for (uint32_t gsi = 0; gsi < X86_IOAPIC_PINS; gsi++)
            r->entries[n++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = {KVM_IRQCHIP_IOAPIC, gsi}};
        g->msi_base = X86_IOAPIC_PINS;
    }
    r->nr = n;
    r->flags = 0;
    g->npins = n;
    g->next_gsi = g->msi_base;
    int max = kvm_check_cap(&vm->kvm, KVM_CAP_IRQ_ROUTING);
    g->max_gsi = max > (int)g->msi_base ? (uint32_t)max : 0;
    return kvm_set_gsi_routing(&vm->kvm, r);
}

int arch_msi_route_alloc(struct vm *vm)
{
    struct gsi_routes *g = &vm->gsi;
    if (!vm->has_irqchip || !g->max_gsi)
        return -ENOSYS;
    pthread_mutex_lock(&g->lock);
    int gsi = g->next_gsi < g->max_gsi ? (int)g->next_gsi++ : -ENOSPC;
    pthread_mutex_unlock(&g->lock);
    return gsi;
}

static bool same_route(const struct kvm_irq_routing_entry *a,
                       const struct kvm_irq_routing_entry *b)
{
    return a->gsi == b->gsi && a->type == b->type &&
           a->u.msi.address_lo == b->u.msi.address_lo &&
           a->u.msi.address_hi == b->u.msi.address_hi &&
           a->u.msi.data == b->u.msi.data;
}

int arch_msi_route_set(struct vm *vm, int gsi, bool valid, uint64_t addr,
                       uint32_t data)
{
    struct gsi_routes *g = &vm->gsi;
    if (!vm->has_irqchip || !g->max_gsi)
        return -ENOSYS;
    pthread_mutex_lock(&g->lock);
    if (gsi < 0 || (uint32_t)gsi < g->msi_base ||
        (uint32_t)gsi >= g->next_gsi) {
        pthread_mutex_unlock(&g->lock);
        return -EINVAL;
    }
    struct kvm_irq_routing *t = g->table;
    uint32_t i = g->npins;
    while (i < t->nr && t->entries[i].gsi != (uint32_t)gsi)
        i++;
    bool had = i < t->nr;
    struct kvm_irq_routing_entry old =
        had ? t->entries[i] : (struct kvm_irq_routing_entry){0};
    struct kvm_irq_routing_entry ne = {
        .gsi = (uint32_t)gsi,
        .type = KVM_IRQ_ROUTING_MSI,
        .u.msi = {.address_lo = (uint32_t)addr,
                  .address_hi = (uint32_t)(addr >> 32),
                  .data = data}};
    int e = 0;
    if (valid && had && same_route(&old, &ne)) {
        /* nothing to change */
    } else if (valid && !had && (e = gsi_grow(g, t->nr + 1)) == 0) {
        t = g->table;
        t->entries[t->nr++] = ne;
        e = kvm_set_gsi_routing(&vm->kvm, t);
        if (e < 0)
            t->nr--;
    } else if (valid && had) {
        t->entries[i] = ne;
        e = kvm_set_gsi_routing(&vm->kvm, t);
        if (e < 0)
            t->entries[i] = old;
    } else if (!valid && had) {
        t->entries[i] = t->entries[--t->nr];
        e = kvm_set_gsi_routing(&vm->kvm, t);
        if (e < 0) {
            t->entries[t->nr++] = t->entries[i];
            t->entries[i] = old;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return e;
}

static bool has_pit(const struct vm_spec *spec)
{
    for (size_t i = 0; i < spec->vdevs.n; i++)
        if (spec->vdevs.v[i].type->flags & VF_PIT)
            return true;
    return false;
}

int arch_vm_init(struct vm *vm)
{
    int e = kvm_set_identity_map_addr(&vm->kvm, X86_IDENTITY_MAP_ADDR);
    if (e < 0 && e != -EINVAL) /* not needed (nor offered) everywhere */
        log_debug(TAG, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(-e));
    e = kvm_set_tss_addr(&vm->kvm, X86_TSS_ADDR);
    if (e < 0)
        log_debug(TAG, "KVM_SET_TSS_ADDR: %s", strerror(-e));
    e = x86_irqchip_init(vm);
    if (e < 0)
        return e;
    /* `set exit-on-halt off` (QNX: HLT does not exit; the guest halts in
     * hardware, lower wake-up latency, the host CPU stays busy). On, the
     * default: HLT exits to KVM, whose in-kernel local APIC blocks the
     * vCPU thread in the host until an interrupt is due. */
    if (!spec_set_bool(vm->spec, "exit-on-halt", 1)) {
        e = kvm_disable_exits(&vm->kvm, KVM_X86_DISABLE_EXITS_HLT);
        if (e < 0)
            log_warn(TAG,
                     "set exit-on-halt off: this host's KVM cannot let the "
                     "guest halt in hardware (KVM_CAP_X86_DISABLE_EXITS "
                     "HLT: %s); HLT exits to KVM as with `on`",
                     strerror(-e));
        else
            log_debug(TAG, "exit-on-halt off: HLT stays in the guest "
                           "(KVM_X86_DISABLE_EXITS_HLT)");
        vm->hlt_in_guest = e == 0;
    }
    struct x86_arch *a = x86_arch(vm);
    if (a->split) {
        e = kvm_split_irqchip(&vm->kvm, a->ioapic_pins);
        if (e < 0) {
            log_fatal(TAG,
                      "KVM_CAP_SPLIT_IRQCHIP: %s (this host's KVM cannot "
                      "let qvm emulate the interrupt controllers the "
                      "configuration places: %s)",
                      strerror(-e), a->why);
            return e;
        }
    } else {
        e = kvm_create_irqchip(&vm->kvm);
        if (e < 0) {
            log_fatal(TAG, "KVM_CREATE_IRQCHIP: %s", strerror(-e));
            return e;
        }
    }
    vm->has_irqchip = true;
    e = set_gsi_routing(vm, a->split, a->ioapic_pins);
    if (e < 0) {
        log_fatal(TAG, "KVM_SET_GSI_ROUTING: %s", strerror(-e));
        return e;
    }
    if (!a->split && has_pit(vm->spec)) {
        e = kvm_create_pit2(&vm->kvm);
        if (e < 0) {
            log_fatal(TAG, "KVM_CREATE_PIT2: %s", strerror(-e));
            return e;
        }
        a->kernel_pit = true;
    }
    e = kvm_get_supported_cpuid(&vm->kvm, &vm->cpuid);
    if (e < 0) {
        log_fatal(TAG, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-e));
        return e;
    }
    return arch_unsup_init(vm);
}

void arch_vm_free(struct vm *vm)
{
    x86_irqchip_free(vm);
    free(vm->cpuid);
    vm->cpuid = NULL;
    free(vm->gsi.table);
    vm->gsi.table = NULL;
    vm->gsi.cap = 0;
    if (vm->fw_host)
        munmap(vm->fw_host, (size_t)vm->fw_size);
    vm->fw_host = NULL;
}

/* ---- firmware tables (acpi.h) ------------------------------------------- */

/* The FADT reset register: I/O ACPI_RESET_REG, value ACPI_RESET_VAL. */
static uint64_t reset_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)off, (void)size;
    return 0;
}

static void reset_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct vm *vm = opaque;
    (void)off, (void)size;
    if ((val & 0xff) != ACPI_RESET_VAL && !(val & 0x04)) /* RST_CPU */
        return;
    log_info(TAG, "guest reset (ACPI reset register)");
    vm_request_stop(vm, STOP_RESET);
}

static const struct region_ops reset_ops = {reset_read, reset_write};

static bool mem_overlaps(const struct vm_spec *spec, uint64_t base,
                         uint64_t size, const char **what)
{
    for (size_t i = 0; i < spec->placed.n; i++) {
        const struct placed *p = &spec->placed.v[i];
        if (p->space == SPACE_MEM && p->base < base + size &&
            base < p->base + p->size) {
            *what = p->what;
            return true;
        }
    }
    return false;
}

static int add_fw_range(struct vm *vm, uint64_t base, uint64_t size,
                        uint32_t type)
{
    struct boot_input *in = &vm->boot_in;
    if (in->nfw == BOOT_MAX_FW)
        return -ENOSPC;
    in->fw[in->nfw++] = (struct boot_fw_range){base, size, type};
    return gview_mark_used(&vm->mem.view, base, size);
}

/*
 * The ACPI area: the config's rom/ram when one covers 0xe0000-0xfffff,
 * else a qvm-owned read-only region when nothing else is placed there.
 */
static uint8_t *acpi_area(struct vm *vm)
{
    uint8_t *p = gmem_ptr(&vm->mem, ACPI_AREA_BASE, ACPI_AREA_SIZE);
    if (p)
        return p;
    const char *what = NULL;
    if (mem_overlaps(vm->spec, ACPI_AREA_BASE, ACPI_AREA_SIZE, &what)) {
        log_warn(TAG,
                 "no ACPI tables: 0x%llx-0x%llx is partly taken by %s "
                 "(give it a `rom` or leave it free)",
                 (unsigned long long)ACPI_AREA_BASE,
                 (unsigned long long)(ACPI_AREA_BASE + ACPI_AREA_SIZE - 1),
                 what ? what : "something");
        return NULL;
    }
    void *h = mmap(NULL, ACPI_AREA_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED) {
        log_warn(TAG, "no ACPI tables: %s", strerror(errno));
        return NULL;
    }
    bool ro = kvm_check_cap(&vm->kvm, KVM_CAP_READONLY_MEM) > 0;
    uint32_t slot = (uint32_t)vm->mem.view.regions.n;
    int e =
        kvm_set_mem_slot(&vm->kvm, slot, ACPI_AREA_BASE, ACPI_AREA_SIZE, h, ro);
    if (e == 0)
        e = gview_add_region(&vm->mem.view, ACPI_AREA_BASE, ACPI_AREA_SIZE, h,
                             GV_ROM);
    if (e < 0) {
        munmap(h, ACPI_AREA_SIZE);
        log_warn(TAG, "no ACPI tables: cannot map 0x%llx: %s",
                 (unsigned long long)ACPI_AREA_BASE, strerror(-e));
        return NULL;
    }
    vm->fw_host = h;
    vm->fw_size = ACPI_AREA_SIZE;
    return h;
}

/* Write one table to DIR/sig.dat (sig lower-cased; sig2.dat, ... for
 * repeats), as `acpidump -b` does, so that `iasl -d *.dat` reads them. */
static int dump_table(const char *dir, const uint8_t *t, size_t len)
{
    char sig[5], path[4096];
    for (int i = 0; i < 4; i++)
        sig[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] - 'A' + 'a' : t[i]);
    sig[4] = 0;
    int fd = -1;
    for (int k = 1; k < 100 && fd < 0; k++) {
        if (k == 1)
            snprintf(path, sizeof(path), "%s/%s.dat", dir, sig);
        else
            snprintf(path, sizeof(path), "%s/%s%d.dat", dir, sig, k);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0 || write(fd, t, len) != (ssize_t)len) {
        log_fatal(TAG, "QVM_ACPI_DUMP: cannot write %s: %s", path,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return close(fd);
}

/*
 * QVM_ACPI_DUMP=DIR: write every table qvm built (from the XSDT, plus the
 * DSDT) to DIR, for ACPICA's disassembler. Tables live in `area` (guest
 * address ACPI_AREA_BASE, `len` bytes).
 */
static const uint8_t *in_area(const uint8_t *area, size_t len, uint64_t gpa,
                              uint64_t n)
{
    if (gpa < ACPI_AREA_BASE || gpa - ACPI_AREA_BASE > len ||
        n > len - (gpa - ACPI_AREA_BASE))
        return NULL;
    return area + (gpa - ACPI_AREA_BASE);
}

static int acpi_dump(const uint8_t *area, size_t len)
{
    const char *dir = getenv("QVM_ACPI_DUMP");
    if (!dir || !*dir)
        return 0;
    const uint8_t *xsdt = in_area(area, len, le_get64(area + 24), 36);
    if (!xsdt)
        return -1;
    uint32_t xlen = le_get32(xsdt + 4);
    if (!in_area(area, len, le_get64(area + 24), xlen) ||
        dump_table(dir, xsdt, xlen) < 0)
        return -1;
    for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
        uint64_t gpa = le_get64(xsdt + off);
        const uint8_t *t = in_area(area, len, gpa, 36);
        if (!t || !in_area(area, len, gpa, le_get32(t + 4)))
            continue;
        if (dump_table(dir, t, le_get32(t + 4)) < 0)
            return -1;
        if (memcmp(t, "FACP", 4) == 0) {
            const uint8_t *d = in_area(area, len, le_get64(t + 140), 36);
            if (d && in_area(area, len, le_get64(t + 140), le_get32(d + 4)) &&
                dump_table(dir, d, le_get32(d + 4)) < 0)
                return -1;
        }
    }
    log_info(TAG, "ACPI tables written to %s (QVM_ACPI_DUMP)", dir);
    return 0;
}

static int build_acpi(struct vm *vm, const struct x86_board *board)
{
    const struct vm_spec *spec = vm->spec;
    uint8_t *area = acpi_area(vm);
    if (!area)
        return 0;
    struct acpi_blob blobs[16];
    struct boot_image imgs[16];
    size_t n = 0;
    int rc = -1;
    for (size_t i = 0; i < spec->loads.n; i++) {
        const struct load_spec *ls = &spec->loads.v[i];
        if (ls->blob != BLOB_ACPI)
            continue;
        struct boot_err err;
        if (n == ARRAY_SIZE(blobs)) {
            log_fatal(TAG, "more than %zu `acpi load` tables",
                      ARRAY_SIZE(blobs));
            goto out;
        }
        if (boot_read_file(ls->path, &imgs[n], &err) < 0) {
            log_fatal(TAG, "%s", err.msg);
            goto out;
        }
        blobs[n] = (struct acpi_blob){imgs[n].data, imgs[n].size, ls->path};
        n++;
    }
    char msg[256];
    long len = acpi_build(board, blobs, n, area, ACPI_AREA_SIZE, ACPI_AREA_BASE,
                          msg, sizeof(msg));
    if (len < 0) {
        log_fatal(TAG, "%s", msg);
        goto out;
    }
    if (acpi_dump(area, (size_t)len) < 0)
        goto out;
    if (add_fw_range(vm, ACPI_AREA_BASE, ACPI_AREA_SIZE, E820_RESERVED) < 0) {
        log_fatal(TAG, "cannot reserve the ACPI area");
        goto out;
    }
    vm->boot_in.rsdp_gpa = ACPI_AREA_BASE;
    log_debug(TAG, "ACPI tables at 0x%llx (%ld bytes)",
              (unsigned long long)ACPI_AREA_BASE, len);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        free((void *)(uintptr_t)imgs[i].data);
    return rc;
}

static bool is_ram(const struct vm_spec *spec, uint64_t base, uint64_t size)
{
    for (size_t i = 0; i < spec->mem.n; i++) {
        const struct mem_region *r = &spec->mem.v[i];
        if (r->kind == MEM_RAM && r->base <= base &&
            base + size <= r->base + r->size)
            return true;
    }
    return false;
}

/*
 * The BIOS data area words some boot code reads even without a BIOS: Xen's
 * head.S places its trampoline below the EBDA segment (0x40E) or the base
 * memory size in KiB (0x413); with both zero it wraps around 4 GiB. COM1's
 * port goes in 0x400 as a BIOS would leave it.
 */
#define BDA_BASE 0x400u
static void write_bda(struct vm *vm, uint64_t ebda_at, uint64_t facs)
{
    bool have_ebda = ebda_at != 0;
    uint8_t *bda = gmem_ptr(&vm->mem, BDA_BASE, 0x100);
    if (!bda || !is_ram(vm->spec, BDA_BASE, 0x100))
        return;
    uint64_t top = 0;
    for (size_t i = 0; i < vm->spec->mem.n; i++) {
        const struct mem_region *r = &vm->spec->mem.v[i];
        if (r->kind == MEM_RAM && r->base == 0)
            top = r->size < 0xa0000 ? r->size : 0xa0000;
    }
    if (have_ebda)
        top = ebda_at;
    if (facs && facs < top)
        top = facs; /* base memory ends below the NVS page */
    uint16_t com1 = 0x3f8, ebda = have_ebda ? MPTABLE_BASE >> 4 : 0;
    uint16_t kib = (uint16_t)(top >> 10);
    memcpy(bda + 0x00, &com1, 2);
    memcpy(bda + 0x0e, &ebda, 2);
    memcpy(bda + 0x13, &kib, 2);
}

_Static_assert(ACPI_PCI_ECAM_BASE == PCI_ECAM_BASE &&
                   ACPI_PCI_ECAM_SIZE == PCI_ECAM_SIZE,
               "the MCFG must describe pci.c's ECAM");

/*
 * The FACS in ACPI NVS memory (the guest writes its waking vector and
 * global lock there): 1 KiB of base memory below the MP table, when RAM
 * is there and free. Returns its address, or 0 (then it goes with the
 * read-only tables, and a warning says a guest's writes are lost).
 */
static uint64_t place_facs(struct vm *vm)
{
    uint8_t *p = gmem_ptr(&vm->mem, ACPI_FACS_BASE, ACPI_NVS_SIZE);
    if (!p || !is_ram(vm->spec, ACPI_FACS_BASE, ACPI_NVS_SIZE) ||
        !gview_is_free(&vm->mem.view, ACPI_FACS_BASE, ACPI_NVS_SIZE) ||
        add_fw_range(vm, ACPI_FACS_BASE, ACPI_NVS_SIZE, E820_NVS) < 0) {
        log_warn(TAG,
                 "no free RAM at 0x%llx for the ACPI NVS page: the FACS is "
                 "read-only (a guest's waking vector writes are dropped)",
                 (unsigned long long)ACPI_FACS_BASE);
        return 0;
    }
    memset(p, 0, ACPI_NVS_SIZE);
    acpi_facs(p);
    return ACPI_FACS_BASE;
}

int arch_firmware_init(struct vm *vm)
{
    struct x86_board board;
    x86_board_collect(vm, &board);
    board.facs = place_facs(vm);
    if (build_acpi(vm, &board) < 0)
        return -1;
    /* The ECAM window is reserved in the memory map too (Linux accepts
     * MMCONFIG early only from an E820-reserved window). */
    if (vm->spec->has_pci &&
        add_fw_range(vm, ACPI_PCI_ECAM_BASE, ACPI_PCI_ECAM_SIZE,
                     E820_RESERVED) < 0) {
        log_fatal(TAG, "cannot reserve the PCI ECAM window");
        return -1;
    }
    bool have_ebda = false;
    uint8_t *mp = gmem_ptr(&vm->mem, MPTABLE_BASE, MPTABLE_SIZE);
    if (mp && is_ram(vm->spec, MPTABLE_BASE, MPTABLE_SIZE) &&
        gview_is_free(&vm->mem.view, MPTABLE_BASE, MPTABLE_SIZE)) {
        if (mptable_build(&board, mp, MPTABLE_SIZE, MPTABLE_BASE) < 0)
            log_warn(TAG, "no MP table: %u vCPUs do not fit in 1 KiB",
                     vm->nvcpus);
        else if (add_fw_range(vm, MPTABLE_BASE, MPTABLE_SIZE, E820_RESERVED) <
                 0)
            return -1;
        else
            have_ebda = true;
    }
    write_bda(vm, have_ebda ? MPTABLE_BASE : 0, board.facs);
    if (!bus_find(&vm->pio, ACPI_RESET_REG) &&
        bus_map(&vm->pio, "acpi reset", ACPI_RESET_REG, 1, &reset_ops, vm) <
            0) {
        log_fatal(TAG, "cannot map the ACPI reset register");
        return -1;
    }
    return 0;
}

static int setup_cpuid(struct vcpu *vcpu)
{
    const struct kvm_cpuid2 *src = vcpu->vm->cpuid;
    size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
    struct kvm_cpuid2 *c = malloc(sz);
    if (!c)
        return -ENOMEM;
    memcpy(c, src, sz);
    /* KVM reports its TSC-deadline timer through a capability, never in
     * KVM_GET_SUPPORTED_CPUID: without the bit Linux calibrates its local
     * APIC timer against the PIT (slower boots, bench/README.md). */
    bool tscdl = vcpu->vm->has_irqchip &&
                 kvm_check_cap(&vcpu->vm->kvm, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            e->ecx |= 1u << 31; /* hypervisor present */
            if (tscdl)
                e->ecx |= 1u << 24; /* TSC-deadline timer */
            e->ebx = (e->ebx & 0x00ffffffu) | vcpu->id << 24;
            break;
        case 0xb:
        case 0x1f:
            e->edx = vcpu->id;
            break;
        case 0x40000000:
            /* KVM's signature leaf ("KVMKVMKVM"), kept as reported. */
            break;
        default:
            break;
        }
    }
    int r = kvm_set_cpuid2(vcpu->fd, c);
    free(c);
    return r;
}

static void setup_msrs(struct vcpu *vcpu)
{
    static const struct {
        uint32_t idx;
        uint64_t val;
    } init[] = {
        {MSR_IA32_MISC_ENABLE, 1}, /* fast strings */
        {MSR_IA32_SYSENTER_CS, 0},
        {MSR_IA32_SYSENTER_ESP, 0},
        {MSR_IA32_SYSENTER_EIP, 0},
    };
    struct kvm_msrs *m =
        calloc(1, sizeof(*m) + ARRAY_SIZE(init) * sizeof(m->entries[0]));
    if (!m)
        return;
    m->nmsrs = ARRAY_SIZE(init);
    for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
        m->entries[i].index = init[i].idx;
        m->entries[i].data = init[i].val;
    }
    int r = kvm_set_msrs(vcpu->fd, m);
    free(m);
    if (r < (int)ARRAY_SIZE(init))
        log_debug(TAG, "vCPU %u: set %d of %zu initial MSRs", vcpu->id, r,
                  ARRAY_SIZE(init));
}

/*
 * `set counter-offset N`: the host's time-stamp counter minus the guest's.
 * All ones (the default) means the guest's counter starts at 0, which is
 * what KVM does when it creates a vCPU; anything else sets KVM's offset
 * (guest = host + offset, so offset = -N) on every vCPU alike.
 */
static void setup_tsc_offset(struct vcpu *vcpu)
{
    const char *v = spec_set_var(vcpu->vm->spec, "counter-offset");
    uint64_t n;
    if (!v || num_parse(v, false, &n) != NUM_OK || n == UINT64_MAX)
        return;
    int e = kvm_vcpu_tsc_offset(vcpu->fd, (uint64_t)0 - n);
    if (e < 0 && vcpu->id == 0)
        log_warn(TAG,
                 "set counter-offset 0x%llx: this host's KVM cannot offset "
                 "the guest's TSC (KVM_VCPU_TSC_OFFSET: %s); the guest's "
                 "counter starts at 0",
                 (unsigned long long)n, strerror(-e));
    else if (e == 0 && vcpu->id == 0)
        log_debug(TAG, "counter-offset 0x%llx: guest TSC = host TSC - it",
                  (unsigned long long)n);
}

int arch_vcpu_init(struct vcpu *vcpu)
{
    int e = setup_cpuid(vcpu);
    if (e < 0) {
        log_fatal(TAG, "vCPU %u: KVM_SET_CPUID2: %s", vcpu->id, strerror(-e));
        return e;
    }
    setup_msrs(vcpu);
    setup_tsc_offset(vcpu);
    if (vcpu->id == 0 || !vcpu->vm->has_irqchip)
        return 0;
    /* APs wait for INIT/SIPI from the BSP (KVM's in-kernel LAPIC). */
    e = kvm_set_mp_state(vcpu->fd, KVM_MP_STATE_UNINITIALIZED);
    if (e < 0) {
        log_fatal(TAG, "vCPU %u: KVM_SET_MP_STATE: %s", vcpu->id, strerror(-e));
        return e;
    }
    return 0;
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
                     bool code64)
{
    *s = (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = sel,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = code64 ? 0 : 1,
        .s = 1,
        .l = code64 ? 1 : 0,
        .g = 1,
    };
}

int arch_vcpu_boot(struct vcpu *vcpu, const struct boot_state *bs)
{
    struct kvm_sregs s;
    struct kvm_regs r;
    int e = kvm_get_sregs(vcpu->fd, &s);
    if (e < 0) {
        log_fatal(TAG, "KVM_GET_SREGS: %s", strerror(-e));
        return e;
    }
    bool lm = bs->mode == BOOT_LONG64;
    flat_seg(&s.cs, 0x10, 0xb, lm);    /* execute/read, accessed */
    flat_seg(&s.ds, 0x18, 0x3, false); /* read/write, accessed */
    s.es = s.fs = s.gs = s.ss = s.ds;
    s.cr0 = CR0_PE | CR0_ET;
    s.cr4 = 0;
    s.efer = 0;
    if (lm) {
        s.cr0 |= CR0_PG;
        s.cr3 = bs->pml4;
        s.cr4 = CR4_PAE;
        s.efer = EFER_LME | EFER_LMA;
    }
    x86_boot_sregs(&s, bs);
    e = kvm_set_sregs(vcpu->fd, &s);
    if (e < 0) {
        log_fatal(TAG, "KVM_SET_SREGS: %s", strerror(-e));
        return e;
    }
    memset(&r, 0, sizeof(r));
    r.rflags = 0x2;
    r.rip = bs->entry;
    r.rax = bs->eax;
    r.rbx = bs->ebx;
    x86_boot_regs(&r, bs);
    e = kvm_set_regs(vcpu->fd, &r);
    if (e < 0) {
        log_fatal(TAG, "KVM_SET_REGS: %s", strerror(-e));
        return e;
    }
    return 0;
}

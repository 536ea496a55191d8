/*
 * kvm.c: every ioctl(2) qvm makes on KVM file descriptors (see kvm.h).
 * Errors are returned as negative errnos; only kvm_open logs, because its
 * failure is the one users meet most and it must say what to do.
 */
#include "hv/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/log.h"

#define TAG "kvm"

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do {
        r = ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR && req != KVM_RUN);
    return r < 0 ? -errno : r;
}

/* For ioctls that only read their argument. */
static int xioctl_in(int fd, unsigned long req, const void *arg)
{
    return xioctl(fd, req, (void *)(uintptr_t)arg);
}

int kvm_open(struct kvm_sys *k)
{
    const char *dev = getenv("QVM_KVM_DEV");
    if (!dev || !*dev)
        dev = "/dev/kvm";
    k->vm_fd = -1;
    k->run_size = 0;
    k->fd = open(dev, O_RDWR | O_CLOEXEC);
    if (k->fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENXIO || e == ENODEV)
            log_fatal(TAG,
                      "cannot open %s: %s: KVM is not available on this "
                      "host; load kvm_intel or kvm_amd, or use tools/qvm-lab",
                      dev, strerror(e));
        else if (e == EACCES || e == EPERM)
            log_fatal(TAG,
                      "cannot open %s: %s: join the kvm group (or ask "
                      "for read-write access to %s)",
                      dev, strerror(e), dev);
        else
            log_fatal(TAG, "cannot open %s: %s", dev, strerror(e));
        return -e;
    }
    int v = xioctl(k->fd, KVM_GET_API_VERSION, NULL);
    if (v != KVM_API_VERSION) {
        if (v < 0)
            log_fatal(TAG,
                      "%s is not a KVM device (KVM_GET_API_VERSION: %s); "
                      "use a Linux KVM host or tools/qvm-lab",
                      dev, strerror(-v));
        else
            log_fatal(TAG,
                      "%s speaks KVM API version %d, qvm needs %d; use a "
                      "Linux KVM host or tools/qvm-lab",
                      dev, v, KVM_API_VERSION);
        close(k->fd);
        k->fd = -1;
        return -EINVAL;
    }
    int sz = xioctl(k->fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
    if (sz < (int)sizeof(struct kvm_run)) {
        log_fatal(TAG, "%s: bad KVM_GET_VCPU_MMAP_SIZE (%d)", dev, sz);
        close(k->fd);
        k->fd = -1;
        return sz < 0 ? sz : -EINVAL;
    }
    k->run_size = (size_t)sz;
    return 0;
}

void kvm_close(struct kvm_sys *k)
{
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->fd >= 0)
        close(k->fd);
    k->vm_fd = k->fd = -1;
}

int kvm_check_cap(const struct kvm_sys *k, long cap)
{
    int fd = k->vm_fd >= 0 ? k->vm_fd : k->fd;
    return xioctl(fd, KVM_CHECK_EXTENSION, (void *)cap);
}

int kvm_create_vm(struct kvm_sys *k)
{
    int fd = xioctl(k->fd, KVM_CREATE_VM, (void *)0);
    if (fd < 0)
        return fd;
    k->vm_fd = fd;
    return 0;
}

int kvm_set_mem_slot(const struct kvm_sys *k, uint32_t slot, uint64_t gpa,
                     uint64_t size, void *hva, bool readonly)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .flags = readonly ? KVM_MEM_READONLY : 0,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)hva,
    };
    int e = xioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
    return e < 0 ? e : 0;
}

int kvm_enable_cap(const struct kvm_sys *k, uint32_t cap, uint64_t arg0)
{
    struct kvm_enable_cap c = {.cap = cap, .args = {arg0}};
    int e = xioctl(k->vm_fd, KVM_ENABLE_CAP, &c);
    return e < 0 ? e : 0;
}

#ifdef __KVM_HAVE_PIT_STATE2 /* x86 (asm/kvm.h) */
int kvm_set_tss_addr(const struct kvm_sys *k, uint64_t addr)
{
    int e = xioctl(k->vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)addr);
    return e < 0 ? e : 0;
}

int kvm_set_identity_map_addr(const struct kvm_sys *k, uint64_t addr)
{
    int e = xioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
    return e < 0 ? e : 0;
}

int kvm_create_irqchip(const struct kvm_sys *k)
{
    int e = xioctl(k->vm_fd, KVM_CREATE_IRQCHIP, NULL);
    return e < 0 ? e : 0;
}

int kvm_create_pit2(const struct kvm_sys *k)
{
    struct kvm_pit_config pc = {.flags = KVM_PIT_SPEAKER_DUMMY};
    int e = xioctl(k->vm_fd, KVM_CREATE_PIT2, &pc);
    return e < 0 ? e : 0;
}

int kvm_split_irqchip(const struct kvm_sys *k, uint32_t ioapic_pins)
{
    struct kvm_enable_cap c = {.cap = KVM_CAP_SPLIT_IRQCHIP,
                               .args = {ioapic_pins}};
    int e = xioctl(k->vm_fd, KVM_ENABLE_CAP, &c);
    return e < 0 ? e : 0;
}

int kvm_disable_exits(const struct kvm_sys *k, uint32_t exits)
{
    int have = kvm_check_cap(k, KVM_CAP_X86_DISABLE_EXITS);
    if (have < 0)
        return have;
    if (((uint32_t)have & exits) != exits)
        return -EOPNOTSUPP;
    struct kvm_enable_cap c = {.cap = KVM_CAP_X86_DISABLE_EXITS,
                               .args = {exits}};
    int e = xioctl(k->vm_fd, KVM_ENABLE_CAP, &c);
    return e < 0 ? e : 0;
}

#endif

int kvm_vcpu_tsc_offset(int vcpu_fd, uint64_t offset)
{
#ifdef KVM_VCPU_TSC_OFFSET
    struct kvm_device_attr a = {.group = KVM_VCPU_TSC_CTRL,
                                .attr = KVM_VCPU_TSC_OFFSET,
                                .addr = (uint64_t)(uintptr_t)&offset};
    int e = xioctl(vcpu_fd, KVM_HAS_DEVICE_ATTR, &a);
    if (e < 0)
        return e == -ENXIO || e == -ENOTTY || e == -EINVAL ? -EOPNOTSUPP : e;
    e = xioctl(vcpu_fd, KVM_SET_DEVICE_ATTR, &a);
    return e < 0 ? e : 0;
#else
    (void)vcpu_fd, (void)offset;
    return -EOPNOTSUPP;
#endif
}

#ifdef __KVM_HAVE_PIT_STATE2 /* x86 (asm/kvm.h) */
int kvm_pit_hpet_legacy(const struct kvm_sys *k, bool on)
{
    struct kvm_pit_state2 st;
    int e = xioctl(k->vm_fd, KVM_GET_PIT2, &st);
    if (e < 0)
        return e;
    if (on)
        st.flags |= KVM_PIT_FLAGS_HPET_LEGACY;
    else
        st.flags &= ~(uint32_t)KVM_PIT_FLAGS_HPET_LEGACY;
    e = xioctl(k->vm_fd, KVM_SET_PIT2, &st);
    return e < 0 ? e : 0;
}

#endif

int kvm_set_gsi_routing(const struct kvm_sys *k,
                        const struct kvm_irq_routing *r)
{
    int e = xioctl_in(k->vm_fd, KVM_SET_GSI_ROUTING, r);
    return e < 0 ? e : 0;
}

int kvm_ioeventfd(const struct kvm_sys *k, bool pio, uint64_t addr,
                  unsigned len, bool match, uint64_t data, int fd, bool assign)
{
    struct kvm_ioeventfd a = {
        .datamatch = data,
        .addr = addr,
        .len = len,
        .fd = fd,
        .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    int e = xioctl(k->vm_fd, KVM_IOEVENTFD, &a);
    return e < 0 ? e : 0;
}

int kvm_coalesced_zone(const struct kvm_sys *k, bool pio, uint64_t addr,
                       uint32_t size, bool assign)
{
    struct kvm_coalesced_mmio_zone z = {.addr = addr, .size = size};
    z.pio = pio ? 1 : 0;
    int e = xioctl(k->vm_fd,
                   assign ? KVM_REGISTER_COALESCED_MMIO
                          : KVM_UNREGISTER_COALESCED_MMIO,
                   &z);
    return e < 0 ? e : 0;
}

int kvm_irqfd(const struct kvm_sys *k, uint32_t gsi, int fd, bool assign)
{
    struct kvm_irqfd a = {
        .fd = (uint32_t)fd,
        .gsi = gsi,
        .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
    };
    int e = xioctl(k->vm_fd, KVM_IRQFD, &a);
    return e < 0 ? e : 0;
}

int kvm_irqfd_resample(const struct kvm_sys *k, uint32_t gsi, int fd, int rfd,
                       bool assign)
{
    struct kvm_irqfd a = {
        .fd = (uint32_t)fd,
        .gsi = gsi,
        .flags = assign ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN,
        .resamplefd = assign ? (uint32_t)rfd : 0,
    };
    int e = xioctl(k->vm_fd, KVM_IRQFD, &a);
    return e < 0 ? e : 0;
}

int kvm_signal_msi(const struct kvm_sys *k, uint64_t addr, uint32_t data)
{
    struct kvm_msi m = {
        .address_lo = (uint32_t)addr,
        .address_hi = (uint32_t)(addr >> 32),
        .data = data,
    };
    return xioctl(k->vm_fd, KVM_SIGNAL_MSI, &m);
}

int kvm_irq_line(const struct kvm_sys *k, uint32_t gsi, bool level)
{
    struct kvm_irq_level l = {.irq = gsi, .level = level ? 1 : 0};
    int e = xioctl(k->vm_fd, KVM_IRQ_LINE, &l);
    return e < 0 ? e : 0;
}

#ifdef __KVM_HAVE_PIT_STATE2 /* x86 (asm/kvm.h) */
int kvm_get_supported_cpuid(const struct kvm_sys *k, struct kvm_cpuid2 **out)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c =
            calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
        if (!c)
            return -ENOMEM;
        c->nent = n;
        int e = xioctl(k->fd, KVM_GET_SUPPORTED_CPUID, c);
        if (e >= 0) {
            *out = c;
            return 0;
        }
        free(c);
        if (e != -E2BIG)
            return e;
    }
    return -E2BIG;
}

#endif

int kvm_create_vcpu(const struct kvm_sys *k, unsigned id, struct kvm_run **run)
{
    int fd = xioctl(k->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)id);
    if (fd < 0)
        return fd;
    void *p =
        mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return -e;
    }
    *run = p;
    return fd;
}

void kvm_destroy_vcpu(const struct kvm_sys *k, int fd, struct kvm_run *run)
{
    if (run)
        munmap(run, k->run_size);
    if (fd >= 0)
        close(fd);
}

/* Every exit comes through here: no retry loop (xioctl's), EINTR is the
 * caller's. */
int kvm_vcpu_run(int vcpu_fd)
{
    int r = ioctl(vcpu_fd, KVM_RUN, NULL);
    return r < 0 ? -errno : r; /* 0 */
}

int kvm_get_regs(int vcpu_fd, struct kvm_regs *r)
{
    int e = xioctl(vcpu_fd, KVM_GET_REGS, r);
    return e < 0 ? e : 0;
}

int kvm_set_regs(int vcpu_fd, const struct kvm_regs *r)
{
    int e = xioctl_in(vcpu_fd, KVM_SET_REGS, r);
    return e < 0 ? e : 0;
}

int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *s)
{
    int e = xioctl(vcpu_fd, KVM_GET_SREGS, s);
    return e < 0 ? e : 0;
}

int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *s)
{
    int e = xioctl_in(vcpu_fd, KVM_SET_SREGS, s);
    return e < 0 ? e : 0;
}

#ifdef __KVM_HAVE_PIT_STATE2 /* x86 (asm/kvm.h) */
int kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *c)
{
    int e = xioctl_in(vcpu_fd, KVM_SET_CPUID2, c);
    return e < 0 ? e : 0;
}

int kvm_set_msrs(int vcpu_fd, const struct kvm_msrs *m)
{
    return xioctl_in(vcpu_fd, KVM_SET_MSRS, m);
}

#endif

int kvm_set_mp_state(int vcpu_fd, uint32_t state)
{
    struct kvm_mp_state s = {.mp_state = state};
    int e = xioctl(vcpu_fd, KVM_SET_MP_STATE, &s);
    return e < 0 ? e : 0;
}

int kvm_get_vcpu_events(int vcpu_fd, struct kvm_vcpu_events *ev)
{
    int e = xioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, ev);
    return e < 0 ? e : 0;
}

int kvm_set_vcpu_events(int vcpu_fd, const struct kvm_vcpu_events *ev)
{
    int e = xioctl_in(vcpu_fd, KVM_SET_VCPU_EVENTS, ev);
    return e < 0 ? e : 0;
}

int kvm_interrupt(int vcpu_fd, uint8_t vector)
{
    struct kvm_interrupt i = {.irq = vector};
    int e = xioctl(vcpu_fd, KVM_INTERRUPT, &i);
    return e < 0 ? e : 0;
}

int kvm_get_one_reg(int vcpu_fd, uint64_t id, void *val)
{
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
    int e = xioctl(vcpu_fd, KVM_GET_ONE_REG, &r);
    return e < 0 ? e : 0;
}

int kvm_set_one_reg(int vcpu_fd, uint64_t id, const void *val)
{
    struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
    int e = xioctl(vcpu_fd, KVM_SET_ONE_REG, &r);
    return e < 0 ? e : 0;
}

int kvm_create_device(const struct kvm_sys *k, uint32_t type)
{
    struct kvm_create_device d = {.type = type};
    int e = xioctl(k->vm_fd, KVM_CREATE_DEVICE, &d);
    return e < 0 ? e : (int)d.fd;
}

int kvm_device_attr(int fd, uint32_t group, uint64_t attr, void *val, bool set)
{
    struct kvm_device_attr a = {
        .group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val};
    int e = xioctl(fd, set ? KVM_SET_DEVICE_ATTR : KVM_GET_DEVICE_ATTR, &a);
    return e < 0 ? e : 0;
}

int kvm_has_device_attr(int fd, uint32_t group, uint64_t attr)
{
    struct kvm_device_attr a = {.group = group, .attr = attr};
    int e = xioctl(fd, KVM_HAS_DEVICE_ATTR, &a);
    return e < 0 ? e : 0;
}

#ifdef KVM_ARM_VCPU_PSCI_0_2 /* arm64 (asm/kvm.h) */
int kvm_arm_preferred_target(const struct kvm_sys *k,
                             struct kvm_vcpu_init *init)
{
    memset(init, 0, sizeof(*init));
    int e = xioctl(k->vm_fd, KVM_ARM_PREFERRED_TARGET, init);
    return e < 0 ? e : 0;
}

int kvm_arm_vcpu_init(int vcpu_fd, const struct kvm_vcpu_init *init)
{
    int e = xioctl_in(vcpu_fd, KVM_ARM_VCPU_INIT, init);
    return e < 0 ? e : 0;
}
#endif

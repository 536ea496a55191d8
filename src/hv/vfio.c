/*
 * vfio.c: every ioctl(2) qvm makes on VFIO file descriptors (see vfio.h),
 * and the sysfs look-ups that explain why a host device cannot be opened.
 */
#include "hv/vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "util/log.h"

#define TAG      "vfio"
#define VFIO_DEV "/dev/vfio"

/* sysfs: $QVM_SYSFS_ROOT (tests point it at a fake tree), else /sys. */
static const char *sysfs(void)
{
    const char *r = getenv("QVM_SYSFS_ROOT");
    return r && *r ? r : "/sys";
}

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do {
        r = ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

/* read_hex: a sysfs file holding one hexadecimal number ("0x1234\n"). */
static bool read_hex(const char *path, unsigned long *v)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool ok = fscanf(f, "%lx", v) == 1;
    fclose(f);
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vfio_find_by_id(uint16_t vid, uint16_t did, unsigned idx, char *bdf,
                    size_t len)
{
    char top[1024];
    snprintf(top, sizeof(top), "%s/bus/pci/devices", sysfs());
    DIR *dir = opendir(top);
    if (!dir)
        return -errno;
    char *names[256] = {0};
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) && n < sizeof(names) / sizeof(names[0])) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        unsigned long v, d;
        snprintf(p, sizeof(p), "%s/%s/vendor", top, e->d_name);
        if (!read_hex(p, &v) || v != vid)
            continue;
        snprintf(p, sizeof(p), "%s/%s/device", top, e->d_name);
        if (!read_hex(p, &d) || d != did)
            continue;
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(dir);
    qsort(names, n, sizeof(names[0]), cmp_str);
    int r = -ENOENT;
    if (idx < n && strlen(names[idx]) < len) {
        strcpy(bdf, names[idx]);
        r = 0;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return r;
}

/* link_base: the last component of a sysfs link, or "" when there is
 * none. */
static void link_base(const char *path, char *out, size_t len)
{
    char t[PATH_MAX];
    ssize_t n = readlink(path, t, sizeof(t) - 1);
    out[0] = 0;
    if (n <= 0)
        return;
    t[n] = 0;
    const char *b = strrchr(t, '/');
    b = b ? b + 1 : t;
    size_t k = strlen(b);
    if (k >= len)
        k = len - 1;
    memcpy(out, b, k);
    out[k] = 0;
}

/* group_members: the functions in IOMMU group g and their drivers, for
 * the "not viable" message. */
static void group_members(unsigned g, char *out, size_t len)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/kernel/iommu_groups/%u/devices", sysfs(), g);
    out[0] = 0;
    DIR *dir = opendir(p);
    if (!dir)
        return;
    size_t used = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        char q[PATH_MAX], drv[64];
        snprintf(q, sizeof(q), "%s/bus/pci/devices/%s/driver", sysfs(),
                 e->d_name);
        link_base(q, drv, sizeof(drv));
        int n = snprintf(out + used, len - used, "%s%s (%s)", used ? ", " : "",
                         e->d_name, drv[0] ? drv : "no driver");
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
    closedir(dir);
}

static void close_all(struct vfio_dev *d)
{
    if (d->fd >= 0)
        close(d->fd);
    if (d->group >= 0)
        close(d->group);
    if (d->container >= 0)
        close(d->container);
    d->fd = d->group = d->container = -1;
}

/* bind_hint: the commands that bind `bdf` to vfio-pci (its driver, when
 * it has one, let go of it first). */
static void bind_hint(const char *bdf, bool bound, char *out, size_t len)
{
    char unbind[128] = "";
    if (bound)
        snprintf(unbind, sizeof(unbind),
                 "echo %s > /sys/bus/pci/devices/%s/driver/unbind; ", bdf, bdf);
    snprintf(out, len,
             "bind it with: modprobe vfio-pci; echo vfio-pci > "
             "/sys/bus/pci/devices/%s/driver_override; %secho %s > "
             "/sys/bus/pci/drivers_probe",
             bdf, unbind, bdf);
}

/* check_host: the sysfs facts, with a message for each way they are
 * wrong; fills d->group_id. */
static int check_host(struct vfio_dev *d, const char *bdf)
{
    char p[PATH_MAX], v[64], hint[512];
    snprintf(p, sizeof(p), "%s/bus/pci/devices/%s", sysfs(), bdf);
    if (access(p, F_OK) != 0) {
        log_error(TAG, "no host PCI function %s (see lspci -D)", bdf);
        return -ENOENT;
    }
    snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/driver", sysfs(), bdf);
    link_base(p, v, sizeof(v));
    if (strcmp(v, "vfio-pci") != 0) {
        bind_hint(bdf, v[0] != 0, hint, sizeof(hint));
        log_error(TAG, "host PCI function %s is %s%s, not to vfio-pci: %s", bdf,
                  v[0] ? "bound to " : "bound to no driver", v, hint);
        return -ENODEV;
    }
    snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group", sysfs(), bdf);
    link_base(p, v, sizeof(v));
    char *end;
    unsigned long g = strtoul(v, &end, 10);
    if (!v[0] || *end || g > UINT_MAX) {
        log_error(TAG,
                  "host PCI function %s has no IOMMU group: the host's IOMMU "
                  "is off (intel_iommu=on or amd_iommu=on on its kernel "
                  "command line)",
                  bdf);
        return -ENODEV;
    }
    d->group_id = (unsigned)g;
    return 0;
}

static int open_group(struct vfio_dev *d)
{
    d->container = open(VFIO_DEV "/vfio", O_RDWR | O_CLOEXEC);
    if (d->container < 0) {
        int e = errno;
        log_error(TAG, "cannot open " VFIO_DEV "/vfio: %s (modprobe vfio-pci)",
                  strerror(e));
        return -e;
    }
    int r = xioctl(d->container, VFIO_GET_API_VERSION, NULL);
    if (r != VFIO_API_VERSION) {
        log_error(TAG, "VFIO API version %d, qvm needs %d", r,
                  VFIO_API_VERSION);
        return -ENOTSUP;
    }
    if (xioctl(d->container, VFIO_CHECK_EXTENSION,
               (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) <= 0) {
        log_error(TAG, "this host's VFIO has no type1 v2 IOMMU");
        return -ENOTSUP;
    }
    char p[64];
    snprintf(p, sizeof(p), VFIO_DEV "/%u", d->group_id);
    d->group = open(p, O_RDWR | O_CLOEXEC);
    if (d->group < 0) {
        int e = errno;
        if (e == EBUSY)
            log_error(TAG,
                      "%s (IOMMU group %u of %s) is in use: another qvm or "
                      "VMM has it",
                      p, d->group_id, d->bdf);
        else
            log_error(TAG, "cannot open %s (IOMMU group of %s): %s", p, d->bdf,
                      strerror(e));
        return -e;
    }
    struct vfio_group_status st = {.argsz = sizeof(st)};
    r = xioctl(d->group, VFIO_GROUP_GET_STATUS, &st);
    if (r < 0)
        return r;
    if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        char m[1024];
        group_members(d->group_id, m, sizeof(m));
        log_error(TAG,
                  "IOMMU group %u of %s is not viable: every function in it "
                  "must be bound to vfio-pci (or to no driver); it holds %s",
                  d->group_id, d->bdf, m);
        return -EBUSY;
    }
    r = xioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container);
    if (r < 0) {
        log_error(TAG, "IOMMU group %u of %s: cannot set its container: %s",
                  d->group_id, d->bdf, strerror(-r));
        return r;
    }
    r = xioctl(d->container, VFIO_SET_IOMMU,
               (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
    if (r < 0) {
        log_error(TAG, "IOMMU group %u of %s: cannot set a type1 v2 IOMMU: %s",
                  d->group_id, d->bdf, strerror(-r));
        return r;
    }
    d->fd = xioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
    if (d->fd < 0) {
        r = d->fd;
        d->fd = -1;
        if (r == -EBUSY)
            log_error(TAG, "%s is in use: another qvm or VMM has it", d->bdf);
        else
            log_error(TAG, "cannot get %s from its IOMMU group %u: %s", d->bdf,
                      d->group_id, strerror(-r));
        return r;
    }
    return 0;
}

void vfio_region_caps_parse(const void *info, uint32_t argsz,
                            struct vfio_region *r)
{
    struct vfio_region_info ri;
    if (argsz < sizeof(ri))
        return;
    memcpy(&ri, info, sizeof(ri));
    if (!(ri.flags & VFIO_REGION_INFO_FLAG_CAPS))
        return;
    const uint8_t *base = info;
    uint32_t at = ri.cap_offset;
    for (unsigned k = 0; at >= sizeof(ri) && k < 16; k++) {
        struct vfio_info_cap_header h;
        if (at > argsz || argsz - at < sizeof(h))
            break;
        memcpy(&h, base + at, sizeof(h));
        if (h.id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE)
            r->msix_mappable = true;
        if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
            struct vfio_region_info_cap_sparse_mmap sm;
            if (argsz - at < sizeof(sm))
                break;
            memcpy(&sm, base + at, sizeof(sm));
            r->sparse = true;
            r->nareas = 0;
            uint64_t room = (argsz - at - sizeof(sm)) /
                            sizeof(struct vfio_region_sparse_mmap_area);
            for (uint64_t j = 0; j < sm.nr_areas && j < room; j++) {
                struct vfio_region_sparse_mmap_area a;
                memcpy(&a, base + at + sizeof(sm) + j * sizeof(a), sizeof(a));
                if (!a.size || a.offset > r->size ||
                    a.size > r->size - a.offset)
                    continue;
                if (r->nareas == VFIO_AREAS_MAX)
                    break;
                r->areas[r->nareas++] =
                    (struct vfio_area){.off = a.offset, .size = a.size};
            }
        }
        if (!h.next || h.next <= at)
            break;
        at = h.next;
    }
}

/* region_caps: the region's capability chain (the info again, `argsz`
 * bytes): its sparse mmap areas and whether the MSI-X table may be
 * mmapped. */
static void region_caps(struct vfio_dev *d, unsigned idx, uint32_t argsz)
{
    if (argsz > 65536)
        return;
    struct vfio_region_info *ri = calloc(1, argsz);
    if (!ri)
        return;
    ri->argsz = argsz;
    ri->index = idx;
    if (xioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, ri) == 0)
        vfio_region_caps_parse(ri, argsz, &d->regions[idx]);
    free(ri);
}

static int get_info(struct vfio_dev *d)
{
    struct vfio_device_info di = {.argsz = sizeof(di)};
    int r = xioctl(d->fd, VFIO_DEVICE_GET_INFO, &di);
    if (r < 0)
        return r;
    if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
        di.num_regions < VFIO_PCI_CONFIG_REGION_INDEX + 1) {
        log_error(TAG, "%s is not a VFIO PCI device", d->bdf);
        return -ENODEV;
    }
    d->reset_ok = di.flags & VFIO_DEVICE_FLAGS_RESET;
    for (unsigned i = 0; i < VFIO_PCI_NREGS && i < di.num_regions; i++) {
        struct vfio_region_info ri = {.argsz = sizeof(ri), .index = i};
        if (xioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
            continue; /* e.g. no VGA region */
        d->regions[i] = (struct vfio_region){
            .size = ri.size,
            .offset = ri.offset,
            .readable = ri.flags & VFIO_REGION_INFO_FLAG_READ,
            .writable = ri.flags & VFIO_REGION_INFO_FLAG_WRITE,
            .mmap = ri.flags & VFIO_REGION_INFO_FLAG_MMAP,
        };
        if ((ri.flags & VFIO_REGION_INFO_FLAG_CAPS) && ri.argsz > sizeof(ri))
            region_caps(d, i, ri.argsz);
    }
    for (unsigned i = 0; i < 3 && i < di.num_irqs; i++) {
        struct vfio_irq_info ii = {.argsz = sizeof(ii), .index = i};
        if (xioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) == 0)
            d->irq_count[i] = ii.count;
    }
    return 0;
}

int vfio_open(struct vfio_dev *d, const char *bdf)
{
    memset(d, 0, sizeof(*d));
    d->fd = d->group = d->container = -1;
    if (strlen(bdf) >= sizeof(d->bdf))
        return -EINVAL;
    strcpy(d->bdf, bdf);
    int r = check_host(d, bdf);
    if (r == 0)
        r = open_group(d);
    if (r == 0)
        r = get_info(d);
    if (r < 0)
        close_all(d);
    return r;
}

/* quiesce: a device without a reset method left with bus master, memory
 * and I/O decode off and INTx disabled in its real command register, so
 * that it neither masters DMA nor decodes until its next user enables it
 * (the kernel's release of the device does the same for bus master). */
static void quiesce(struct vfio_dev *d)
{
    uint8_t c[2];
    if (vfio_region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, c,
                       sizeof(c), false) < 0)
        return;
    unsigned cmd = (unsigned)c[0] | (unsigned)c[1] << 8;
    cmd &=
        ~(unsigned)(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    cmd |= PCI_COMMAND_INTX_DISABLE;
    c[0] = (uint8_t)cmd;
    c[1] = (uint8_t)(cmd >> 8);
    if (vfio_region_rw(d, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, c,
                       sizeof(c), true) < 0)
        log_warn(TAG, "%s: cannot turn its decode and bus master off", d->bdf);
}

void vfio_close(struct vfio_dev *d)
{
    if (d->fd >= 0) {
        for (unsigned k = 0; k < 3; k++)
            if (d->irq_count[k] &&
                vfio_irq_set(d, (enum vfio_irq_kind)k, 0, -1) < 0)
                continue; /* that kind was not on */
        if (d->reset_ok)
            (void)xioctl(d->fd, VFIO_DEVICE_RESET, NULL);
        else
            quiesce(d);
    }
    close_all(d);
}

int vfio_dma_map(struct vfio_dev *d, uint64_t iova, uint64_t size, void *hva)
{
    struct vfio_iommu_type1_dma_map m = {
        .argsz = sizeof(m),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (uint64_t)(uintptr_t)hva,
        .iova = iova,
        .size = size,
    };
    return xioctl(d->container, VFIO_IOMMU_MAP_DMA, &m);
}

int vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size)
{
    struct vfio_iommu_type1_dma_unmap m = {
        .argsz = sizeof(m), .iova = iova, .size = size};
    return xioctl(d->container, VFIO_IOMMU_UNMAP_DMA, &m);
}

int vfio_region_rw(struct vfio_dev *d, unsigned idx, uint64_t off, void *buf,
                   size_t len, bool write)
{
    if (idx >= VFIO_PCI_NREGS || off > d->regions[idx].size ||
        len > d->regions[idx].size - off)
        return -EINVAL;
    off_t at = (off_t)(d->regions[idx].offset + off);
    ssize_t n =
        write ? pwrite(d->fd, buf, len, at) : pread(d->fd, buf, len, at);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EIO;
}

void *vfio_region_mmap(struct vfio_dev *d, unsigned idx)
{
    if (idx >= VFIO_PCI_NREGS || !d->regions[idx].mmap || !d->regions[idx].size)
        return NULL;
    int prot = (d->regions[idx].readable ? PROT_READ : 0) |
               (d->regions[idx].writable ? PROT_WRITE : 0);
    void *p = mmap(NULL, d->regions[idx].size, prot, MAP_SHARED, d->fd,
                   (off_t)d->regions[idx].offset);
    return p == MAP_FAILED ? NULL : p;
}

void *vfio_region_mmap_at(struct vfio_dev *d, unsigned idx, uint64_t off,
                          uint64_t size)
{
    uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    if (idx >= VFIO_PCI_NREGS || !d->regions[idx].mmap || !size ||
        off > d->regions[idx].size || size > d->regions[idx].size - off ||
        (off | size) % pg)
        return NULL;
    int prot = (d->regions[idx].readable ? PROT_READ : 0) |
               (d->regions[idx].writable ? PROT_WRITE : 0);
    void *p = mmap(NULL, size, prot, MAP_SHARED, d->fd,
                   (off_t)(d->regions[idx].offset + off));
    return p == MAP_FAILED ? NULL : p;
}

/* set_irqs: VFIO_DEVICE_SET_IRQS with one eventfd, or none (DATA_NONE). */
static int set_irqs(struct vfio_dev *d, unsigned index, uint32_t action,
                    unsigned start, unsigned count, int fd, bool with_fd)
{
    /* The header, then the eventfd in its flexible data[]: built in a
     * byte buffer (a struct ending in a flexible array may not be a
     * member of another in ISO C). */
    struct vfio_irq_set s;
    _Alignas(8) uint8_t buf[sizeof(s) + sizeof(int32_t)];
    memset(&s, 0, sizeof(s));
    s.argsz = (uint32_t)(with_fd ? sizeof(buf) : sizeof(s));
    s.flags =
        action | (with_fd ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
    s.index = index;
    s.start = start;
    s.count = count;
    int32_t efd = fd;
    memcpy(buf, &s, sizeof(s));
    memcpy(buf + sizeof(s), &efd, sizeof(efd));
    return xioctl(d->fd, VFIO_DEVICE_SET_IRQS, buf);
}

int vfio_irq_set(struct vfio_dev *d, enum vfio_irq_kind kind, unsigned vec,
                 int fd)
{
    if ((unsigned)kind >= 3)
        return -EINVAL;
    if (fd < 0 && vec == 0)
        return set_irqs(d, (unsigned)kind, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0,
                        -1, false);
    return set_irqs(d, (unsigned)kind, VFIO_IRQ_SET_ACTION_TRIGGER, vec, 1, fd,
                    true);
}

int vfio_irq_set_many(struct vfio_dev *d, enum vfio_irq_kind kind,
                      unsigned count, const int *fds)
{
    struct vfio_irq_set s;
    _Alignas(8) uint8_t buf[sizeof(s) + VFIO_IRQ_SET_MAX * sizeof(int32_t)];
    if ((unsigned)kind >= 3 || !count || count > VFIO_IRQ_SET_MAX)
        return -EINVAL;
    memset(&s, 0, sizeof(s));
    s.argsz = (uint32_t)(sizeof(s) + count * sizeof(int32_t));
    s.flags = VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD;
    s.index = (uint32_t)kind;
    s.start = 0;
    s.count = count;
    memcpy(buf, &s, sizeof(s));
    for (unsigned i = 0; i < count; i++) {
        int32_t efd = fds[i];
        memcpy(buf + sizeof(s) + i * sizeof(efd), &efd, sizeof(efd));
    }
    return xioctl(d->fd, VFIO_DEVICE_SET_IRQS, buf);
}

int vfio_intx_unmask(struct vfio_dev *d)
{
    return set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 0,
                    1, -1, false);
}

int vfio_intx_unmask_fd(struct vfio_dev *d, int fd)
{
    return set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, 0,
                    1, fd, true);
}

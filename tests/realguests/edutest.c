/*
 * edutest: a static helper for the real-guest initramfs (prepare.sh) that
 * drives QEMU's edu device (PCI 1234:11e8, QEMU's docs/specs/edu.rst) from
 * Linux userspace, the device being passed through to this guest by its
 * VMM (qvm's `pass loc pci:0x1234/0x11e8`, or QEMU's -device vfio-pci):
 * tests/realguests/cases/linux-vfio-edu.sh and bench/vfio.sh.
 *
 *   1. finds 1234:11e8 in /sys/bus/pci/devices, binds it to
 *      uio_pci_generic (new_id) and maps BAR0 through sysfs resource0;
 *   2. the ID register (0x010000ed) and the liveness register (inverse);
 *   3. a factorial, polled (10! = 3628800);
 *   4. INTx through uio: a factorial with "raise an interrupt when done";
 *      read() on /dev/uioN returns (uio_pci_generic's handler saw the
 *      status register's Interrupt Status bit and masked INTx with the
 *      command register's Interrupt Disable), the interrupt is
 *      acknowledged in edu and INTx unmasked again (below);
 *   5. DMA: 2 KiB from guest RAM to edu's buffer and back to another page,
 *      intact; the buffers are locked pages whose physical addresses
 *      /proc/self/pagemap gives (2 KiB fits in a page: no need for more
 *      than one physically contiguous page);
 *   6. MSI: Debian's kernel has neither an in-tree driver that gives an
 *      arbitrary function's MSI to user space without an IOMMU
 *      (uio_pci_generic is INTx only; vfio-pci's no-IOMMU mode,
 *      CONFIG_VFIO_NOIOMMU, is not built) nor one to write: the program
 *      writes the MSI capability itself through sysfs `config` (found in
 *      the capability list; address 0xfee00000, CPU 0's local APIC, data
 *      0xf7: x86's X86_PLATFORM_IPI_VECTOR, which Linux handles and
 *      nothing else sends in a guest) and enables it; each MSI is then
 *      one run of Linux's handler for that vector, which its tracepoint
 *      irq_vectors:x86_platform_ipi_entry records (tracefs, clock mono).
 *      A raised interrupt and a factorial's must each give one.
 * Prints one "edu: ..." line per step, "edu: done" at the end and exits 0,
 * or "edu: FAIL ..." and exits 1.
 *
 * INTx is unmasked again by clearing the command register's Interrupt
 * Disable bit through sysfs `config` (uio_pci_generic has no irqcontrol
 * here: write() on /dev/uioN is ENOSYS), as Linux's uio how-to does.
 *
 * Options: --hold: after MSI is enabled, a factorial with its interrupt is
 * started and the program prints "edu: holding" and sleeps forever (the
 * case SIGKILLs the VMM then). --bench N: after the checks, N rounds of
 * 1,000 reads of the ID register (clock_gettime around them), N INTx
 * latencies (from the write that starts a factorial with its interrupt
 * to the return of read() on /dev/uioN) and N MSI latencies (from that
 * write to the tracepoint's time stamp in the vector's handler; and from
 * a write to the raise register, which edu turns into its MSI at once,
 * without its factorial thread), one "edu: bench ..." line each and the
 * medians.
 * QEMU 7.2's edu aborts on a DMA of exactly 4096 bytes: 2 KiB here; its
 * DMA addresses are 28 bits: the guest has at most 256 MiB.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#define EDU_ID   0x010000edu
#define DMA_BUF  0x40000u
#define DMA_LEN  2048u
#define BAR_SIZE 0x100000u

static volatile uint32_t *edu;
static int bad; /* a step failed, the others ran */
static char bdf[300];

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("edu: FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static int put(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    close(fd);
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static unsigned long hexfile(const char *dir, const char *name)
{
    char p[512], b[32] = "";
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return 0;
    if (!fgets(b, sizeof(b), f))
        b[0] = 0;
    fclose(f);
    return strtoul(b, NULL, 16);
}

static void find(void)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[700];
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s", e->d_name);
        if (hexfile(p, "vendor") == 0x1234 && hexfile(p, "device") == 0x11e8) {
            snprintf(bdf, sizeof(bdf), "%s", e->d_name);
            break;
        }
    }
    if (d)
        closedir(d);
    if (!bdf[0])
        fail("no PCI function 1234:11e8 in /sys/bus/pci/devices");
    printf("edu: found 1234:11e8 at %s\n", bdf);
}

static void waitpath(const char *p)
{
    for (int i = 0; i < 100 && access(p, F_OK) != 0; i++)
        usleep(50000);
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void idle(unsigned reg, unsigned bit, const char *what)
{
    for (int i = 0; i < 5000; i++) {
        if (!(edu[reg / 4] & bit))
            return;
        usleep(1000);
    }
    fail("%s still busy after 5 s", what);
}

/* ---- uio_pci_generic: ID, factorial, INTx, DMA ---- */

static int cfgfd, ufd;
static uint32_t intx_count;

static void cmd_set(uint16_t set, uint16_t clear)
{
    uint16_t c;
    if (pread(cfgfd, &c, 2, 4) != 2)
        fail("reading the command register: %s", strerror(errno));
    c = (uint16_t)((c | set) & ~clear);
    if (pwrite(cfgfd, &c, 2, 4) != 2)
        fail("writing the command register: %s", strerror(errno));
}

/* intx_unmask: uio_pci_generic's handler masked INTx with the command
 * register's Interrupt Disable bit: clear it. */
static void intx_unmask(void)
{
    cmd_set(0, 0x0400);
}

static uint32_t ack(void)
{
    uint32_t why = edu[0x24 / 4];
    edu[0x64 / 4] = why;
    return why;
}

/* intx_wait: 1 when read() on /dev/uioN returned within 5 s; the
 * interrupt is acknowledged in edu and INTx unmasked again. */
static int intx_wait(void)
{
    struct pollfd pf = {.fd = ufd, .events = POLLIN};
    int ok = poll(&pf, 1, 5000) == 1 && read(ufd, &intx_count, 4) == 4;
    ack();
    intx_unmask();
    return ok;
}

static uint64_t phys(void *va)
{
    int fd = open("/proc/self/pagemap", O_RDONLY);
    uint64_t e = 0;
    if (fd < 0 || pread(fd, &e, 8, (off_t)((uintptr_t)va / 4096 * 8)) != 8)
        fail("/proc/self/pagemap: %s", strerror(errno));
    close(fd);
    if (!(e >> 63) || !(e & ((1ull << 55) - 1)))
        fail("no physical address for the DMA buffer (pagemap 0x%llx)",
             (unsigned long long)e);
    return (e & ((1ull << 55) - 1)) * 4096 + (uintptr_t)va % 4096;
}

static void dma(uint64_t src, uint64_t dst, uint32_t cmd)
{
    edu[0x80 / 4] = (uint32_t)src;
    edu[0x88 / 4] = (uint32_t)dst;
    edu[0x90 / 4] = DMA_LEN;
    edu[0x98 / 4] = cmd;
    idle(0x98, 1, "DMA");
}

static void with_uio(void)
{
    char p[700];
    snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
    (void)put(p, bdf);
    if (put("/sys/bus/pci/drivers/uio_pci_generic/new_id", "1234 11e8") < 0) {
        snprintf(p, sizeof(p), "/sys/bus/pci/drivers/uio_pci_generic/bind");
        if (put(p, bdf) < 0)
            fail("cannot bind %s to uio_pci_generic: %s", bdf, strerror(errno));
    }
    snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/uio", bdf);
    waitpath(p);
    DIR *d = opendir(p);
    struct dirent *e;
    char uio[300] = "";
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, "uio", 3))
            snprintf(uio, sizeof(uio), "/dev/%s", e->d_name);
    if (d)
        closedir(d);
    if (!uio[0])
        fail("%s has no uio device after binding uio_pci_generic", bdf);
    waitpath(uio);
    ufd = open(uio, O_RDWR);
    if (ufd < 0)
        fail("%s: %s", uio, strerror(errno));
    snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/config", bdf);
    if ((cfgfd = open(p, O_RDWR)) < 0)
        fail("%s: %s", p, strerror(errno));
    snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/resource0", bdf);
    int rfd = open(p, O_RDWR | O_SYNC);
    void *m = rfd < 0 ? MAP_FAILED
                      : mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                             rfd, 0);
    if (m == MAP_FAILED)
        fail("mapping %s: %s", p, strerror(errno));
    edu = m;
    printf("edu: bound to uio_pci_generic (%s), BAR0 mapped\n", uio);

    uint32_t id = edu[0];
    edu[1] = 0x12345678u;
    uint32_t live = edu[1];
    if (id != EDU_ID || live != ~0x12345678u)
        fail("ID 0x%08x, liveness 0x%08x", id, live);
    printf("edu: ID 0x%08x, liveness ok\n", id);

    edu[0x20 / 4] = 0;
    edu[0x08 / 4] = 10;
    idle(0x20, 1, "factorial");
    if (edu[0x08 / 4] != 3628800)
        fail("10! read back as %u", edu[0x08 / 4]);
    printf("edu: factorial 10! = %u (polled)\n", edu[0x08 / 4]);

    /* INTx: a factorial with its interrupt; then a raised one, after
     * INTx was unmasked again. A missing interrupt is reported and the
     * other steps still run. */
    uint32_t got = 0;
    intx_unmask();
    edu[0x20 / 4] = 0x80;
    edu[0x08 / 4] = 5;
    idle(0x20, 1, "factorial");
    got += intx_wait();
    edu[0x20 / 4] = 0;
    if (edu[0x08 / 4] != 120)
        fail("INTx: 5! = %u", edu[0x08 / 4]);
    edu[0x60 / 4] = 0x100;
    got += intx_wait();
    if (got == 2)
        printf("edu: INTx: factorial 5! = 120 and a raised interrupt "
               "delivered through uio (count %u)\n",
               intx_count);
    else {
        printf("edu: FAIL INTx: %u of 2 interrupts came through uio within "
               "5 s each\n",
               got);
        bad = 1;
    }

    /* DMA: bus master on; 2 KiB out of one locked page and back into
     * another. */
    cmd_set(0x0004, 0);
    uint8_t *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (buf == MAP_FAILED || mlock(buf, 8192) < 0)
        fail("DMA buffer: %s", strerror(errno));
    /* A pattern of this run (edu's buffer keeps what an earlier run left:
     * the device has no reset). */
    unsigned seed = (unsigned)now_ns() | 1;
    for (unsigned i = 0; i < DMA_LEN; i++) {
        buf[i] = (uint8_t)(i * 7 + seed + (seed >> 8) * (i >> 8));
        buf[4096 + i] = 0;
    }
    uint64_t src = phys(buf), dst = phys(buf + 4096);
    if (src + DMA_LEN > 1ull << 28 || dst + DMA_LEN > 1ull << 28)
        fail("DMA buffers at 0x%llx/0x%llx: edu reaches 256 MiB only",
             (unsigned long long)src, (unsigned long long)dst);
    dma(src, DMA_BUF, 1);
    dma(DMA_BUF, dst, 1 | 2);
    if (memcmp(buf, buf + 4096, DMA_LEN))
        fail("DMA: the 2 KiB came back different (guest physical 0x%llx -> "
             "edu -> 0x%llx)",
             (unsigned long long)src, (unsigned long long)dst);
    printf("edu: DMA: 2048 bytes to the device and back intact (guest "
           "physical 0x%llx -> 0x%llx, pattern 0x%x)\n",
           (unsigned long long)src, (unsigned long long)dst, seed);
    munmap(buf, 8192);
}

/* ---- MSI: the capability written by hand, Linux's vector 0xf7 ---- */

#define TRACE     "/sys/kernel/tracing"
#define MSI_VEC   0xf7 /* X86_PLATFORM_IPI_VECTOR */
#define MSI_EVENT "x86_platform_ipi_entry"

/* trace_last: how many handler entries the trace holds; *ts: the time
 * stamp (CLOCK_MONOTONIC, ns) of the last. */
static int trace_last(double *ts)
{
    static char b[1 << 16];
    int fd = open(TRACE "/trace", O_RDONLY), n = 0;
    ssize_t len = fd < 0 ? -1 : read(fd, b, sizeof(b) - 1);
    if (fd >= 0)
        close(fd);
    if (len < 0)
        fail(TRACE "/trace: %s", strerror(errno));
    b[len] = 0;
    char *save = NULL;
    for (char *l = strtok_r(b, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        /* "  <idle>-0  [000] d.h1.  123.456789: x86_platform_ipi_entry:" */
        char *e = strstr(l, ": " MSI_EVENT ":");
        if (*l == '#' || !e)
            continue;
        char *t = e;
        while (t > l && t[-1] != ' ')
            t--;
        n++;
        if (ts)
            *ts = strtod(t, NULL) * 1e9;
    }
    return n;
}

static void trace_clear(void)
{
    if (put(TRACE "/trace", "\n") < 0)
        fail("clearing " TRACE "/trace: %s", strerror(errno));
}

/* msi_wait: 1 when the handler ran once more than `before` within 5 s. */
static int msi_wait(int before, double *ts)
{
    for (int i = 0; i < 5000; i++) {
        if (trace_last(ts) > before)
            return 1;
        usleep(1000);
    }
    return 0;
}

static void msi_setup(void)
{
    if (mount("nodev", TRACE, "tracefs", 0, NULL) < 0 && errno != EBUSY)
        fail("mounting tracefs: %s", strerror(errno));
    if (put(TRACE "/trace_clock", "mono") < 0 ||
        put(TRACE "/events/irq_vectors/" MSI_EVENT "/enable", "1") < 0)
        fail("tracefs: the " MSI_EVENT " event: %s", strerror(errno));
    trace_clear();
    uint8_t cap = 0, id = 0, next;
    if (pread(cfgfd, &cap, 1, 0x34) != 1)
        fail("config: %s", strerror(errno));
    for (int i = 0; cap && i < 48; i++, cap = next) {
        if (pread(cfgfd, &id, 1, cap) != 1 ||
            pread(cfgfd, &next, 1, cap + 1) != 1)
            fail("config: %s", strerror(errno));
        if (id == 0x05)
            break;
    }
    if (id != 0x05)
        fail("MSI: no MSI capability in the list");
    uint16_t ctl;
    uint32_t lo = 0xfee00000u, hi = 0, data = MSI_VEC;
    if (pread(cfgfd, &ctl, 2, cap + 2) != 2)
        fail("config: %s", strerror(errno));
    int is64 = ctl & 0x80;
    ctl = (uint16_t)((ctl & ~0x0070) | 1); /* one vector, enabled */
    if (pwrite(cfgfd, &lo, 4, cap + 4) != 4 ||
        (is64 && pwrite(cfgfd, &hi, 4, cap + 8) != 4) ||
        pwrite(cfgfd, &data, 2, cap + (is64 ? 12 : 8)) != 2 ||
        pwrite(cfgfd, &ctl, 2, cap + 2) != 2)
        fail("MSI: writing the capability: %s", strerror(errno));
    printf("edu: MSI capability at 0x%02x (%s-bit) enabled: address "
           "0xfee00000, vector 0x%02x\n",
           cap, is64 ? "64" : "32", MSI_VEC);
    int n = trace_last(NULL);
    edu[0x60 / 4] = 0x200;
    int ok = msi_wait(n, NULL);
    ack();
    edu[0x20 / 4] = 0x80;
    edu[0x08 / 4] = 6;
    int ok2 = msi_wait(n + ok, NULL);
    ack();
    edu[0x20 / 4] = 0;
    if (!ok || !ok2)
        fail("MSI: %s interrupt never reached the handler",
             !ok ? "a raised" : "a factorial's");
    if (edu[0x08 / 4] != 720)
        fail("MSI: 6! = %u", edu[0x08 / 4]);
    printf("edu: MSI: raised and factorial 6! = 720 interrupts delivered\n");
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void median(double *t, int n, const char *what)
{
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("edu: bench %s median: %.0f ns\n", what, t[n / 2]);
}

static void bench_mmio_intx(int rounds)
{
    double *t = calloc((size_t)rounds, sizeof(*t));
    volatile uint32_t sink = 0;
    for (int r = 0; r < rounds; r++) {
        double a = now_ns();
        for (int i = 0; i < 1000; i++)
            sink += edu[0];
        t[r] = now_ns() - a;
        printf("edu: bench mmio round %d: 1000 reads in %.0f ns\n", r + 1,
               t[r]);
    }
    (void)sink;
    median(t, rounds, "mmio 1000 reads");
    for (int r = 0; r < rounds; r++) {
        struct pollfd pf = {.fd = ufd, .events = POLLIN};
        edu[0x20 / 4] = 0x80;
        double a = now_ns();
        edu[0x08 / 4] = 7;
        if (poll(&pf, 1, 5000) != 1 || read(ufd, &intx_count, 4) != 4)
            fail("bench: no INTx within 5 s of a factorial");
        t[r] = now_ns() - a;
        ack();
        intx_unmask();
        printf("edu: bench intx round %d: factorial to uio read %.0f ns\n",
               r + 1, t[r]);
    }
    edu[0x20 / 4] = 0;
    median(t, rounds, "intx factorial to uio read");
    free(t);
}

static void bench_msi(int rounds)
{
    double *t = calloc((size_t)rounds, sizeof(*t));
    for (int r = 0; r < rounds; r++) {
        trace_clear();
        double a = now_ns(), ts = 0;
        edu[0x60 / 4] = 0x400;
        if (!msi_wait(0, &ts))
            fail("bench: no MSI within 5 s of a raised interrupt");
        t[r] = ts - a;
        ack();
        printf("edu: bench msi-raise round %d: raise to handler %.0f ns\n",
               r + 1, t[r]);
    }
    median(t, rounds, "msi raise to handler");
    for (int r = 0; r < rounds; r++) {
        trace_clear();
        edu[0x20 / 4] = 0x80;
        double a = now_ns(), ts = 0;
        edu[0x08 / 4] = 7;
        if (!msi_wait(0, &ts))
            fail("bench: no MSI within 5 s of a factorial");
        t[r] = ts - a;
        ack();
        printf("edu: bench msi round %d: factorial to handler %.0f ns\n", r + 1,
               t[r]);
    }
    edu[0x20 / 4] = 0;
    median(t, rounds, "msi factorial to handler");
    free(t);
}

int main(int argc, char **argv)
{
    int hold = 0, rounds = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hold"))
            hold = 1;
        else if (!strcmp(argv[i], "--bench") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else
            fail("usage: edutest [--hold] [--bench N]");
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    find();
    with_uio();
    if (rounds > 0)
        bench_mmio_intx(rounds);
    msi_setup();
    if (hold) {
        edu[0x20 / 4] = 0x80;
        edu[0x08 / 4] = 8;
        printf("edu: holding\n");
        for (;;)
            pause();
    }
    if (rounds > 0)
        bench_msi(rounds);
    if (bad)
        return 1;
    printf("edu: done\n");
    return 0;
}

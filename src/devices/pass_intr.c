/*
 * pass_intr.c: a host interrupt from a UIO device or an inherited
 * descriptor on a guest line, level-triggered until the guest's EOI
 * (pass_intr.h, docs/passthrough.md).
 */
#include "devices/pass_intr.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"

#define TAG "pass"

#define PCI_COMMAND_REG   4
#define PCI_CMD_INTX_DISA 0x400

struct pass_irq {
    const struct dev_ctx *ctx;
    char label[48];
    int src;
    bool own_src, uio;
    enum pass_reenable how;
    int cfg_fd;
    bool kvm;      /* irqfd with resample on gsi */
    int efd;       /* kvm: the irqfd's trigger */
    int rfd;       /* the EOI eventfd: KVM's resample fd or the model's */
    bool eoi_hook; /* rfd registered with ctx->irq_eoi_fd */
    bool src_watched;
    int64_t gsi;
    struct irq_line line;
    pthread_mutex_t lock; /* the stats, read by the report */
    struct pass_irq_stats st;
};

static void reenable(struct pass_irq *p)
{
    int e = 0;
    if (p->how == PASS_REENABLE_WRITE) {
        int32_t one = 1;
        if (write(p->src, &one, sizeof(one)) != (ssize_t)sizeof(one))
            e = errno ? errno : EIO;
    } else if (p->how == PASS_REENABLE_INTX) {
        uint8_t cmd[2];
        if (pread(p->cfg_fd, cmd, 2, PCI_COMMAND_REG) != 2)
            e = errno ? errno : EIO;
        else if (cmd[1] & (PCI_CMD_INTX_DISA >> 8)) {
            cmd[1] &= (uint8_t) ~(PCI_CMD_INTX_DISA >> 8);
            if (pwrite(p->cfg_fd, cmd, 2, PCI_COMMAND_REG) != 2)
                e = errno ? errno : EIO;
        }
    }
    if (e) {
        pthread_mutex_lock(&p->lock);
        p->st.reenable_errors++;
        pthread_mutex_unlock(&p->lock);
        LOG_RATELIMITED(LOG_ERROR, TAG,
                        "%s: cannot re-enable the host interrupt: %s", p->label,
                        strerror(e));
    }
}

/* The line up: KVM's irqfd, or qvm's IOAPIC input. */
static void raise_line(struct pass_irq *p)
{
    if (p->kvm) {
        uint64_t one = 1;
        if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            LOG_RATELIMITED(LOG_ERROR, TAG, "%s: irqfd: %s", p->label,
                            strerror(errno));
    } else {
        irq_line_set(&p->line, true);
    }
}

static void stop_watching(struct pass_irq *p, const char *why)
{
    if (p->src_watched && p->ctx->ev)
        (void)ev_del(p->ctx->ev, p->src);
    p->src_watched = false;
    log_error(TAG,
              "%s: the host source %s: the guest line gets no more "
              "interrupts",
              p->label, why);
}

void pass_irq_source_ready(struct pass_irq *p)
{
    unsigned char buf[64];
    /* UIO: exactly the 32-bit interrupt count; a descriptor: what is
     * there (an eventfd's 8-byte counter, a pipe's bytes). */
    ssize_t n = read(p->src, buf, p->uio ? 4 : sizeof(buf));
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        char why[96];
        snprintf(why, sizeof(why), "cannot be read: %s", strerror(errno));
        stop_watching(p, why);
        return;
    }
    if (n == 0) {
        stop_watching(p, "was closed");
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->st.interrupts++;
    bool was = p->st.up;
    if (was) {
        p->st.coalesced++;
    } else {
        p->st.up = true;
        p->st.raised++;
    }
    pthread_mutex_unlock(&p->lock);
    if (!was)
        raise_line(p);
}

void pass_irq_eoi_ready(struct pass_irq *p)
{
    uint64_t v;
    if (read(p->rfd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        return; /* EAGAIN: nothing new */
    pthread_mutex_lock(&p->lock);
    bool was = p->st.up;
    p->st.up = false;
    if (was)
        p->st.eois++;
    pthread_mutex_unlock(&p->lock);
    if (!was)
        return; /* an EOI of the vector with the line already down */
    /* KVM's resampler lowered its line itself; qvm's IOAPIC model took
     * the input as low at the EOI: its source's level follows. */
    if (!p->kvm)
        irq_line_set(&p->line, false);
    reenable(p);
}

static void src_cb(void *opaque, int fd, uint32_t events)
{
    (void)fd, (void)events;
    pass_irq_source_ready(opaque);
}

static void eoi_cb(void *opaque, int fd, uint32_t events)
{
    (void)fd, (void)events;
    pass_irq_eoi_ready(opaque);
}

int pass_irq_eoi_fd(const struct pass_irq *p)
{
    return p->rfd;
}

void pass_irq_get_stats(struct pass_irq *p, struct pass_irq_stats *s)
{
    pthread_mutex_lock(&p->lock);
    *s = p->st;
    pthread_mutex_unlock(&p->lock);
}

void pass_irq_free(struct pass_irq *p)
{
    if (!p)
        return;
    if (p->ctx->ev) {
        if (p->src_watched)
            (void)ev_del(p->ctx->ev, p->src);
        (void)ev_del(p->ctx->ev, p->rfd);
    }
    if (p->kvm)
        (void)p->ctx->irqfd_resample(p->ctx->opaque, (int)p->gsi, p->efd,
                                     p->rfd, false);
    if (p->eoi_hook)
        (void)p->ctx->irq_eoi_fd(p->ctx->opaque, p->gsi, -1);
    if (!p->kvm)
        irq_line_set(&p->line, false);
    if (p->efd >= 0)
        close(p->efd);
    if (p->rfd >= 0)
        close(p->rfd);
    if (p->own_src && p->src >= 0)
        close(p->src);
    if (p->cfg_fd >= 0)
        close(p->cfg_fd);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

struct pass_irq *pass_irq_new(const struct dev_ctx *ctx, const struct intr *in,
                              const char *label, int src, bool own_src,
                              bool uio, enum pass_reenable how, int cfg_fd)
{
    struct pass_irq *p = calloc(1, sizeof(*p));
    if (!p) {
        log_fatal(TAG, "out of memory");
        if (own_src)
            close(src);
        if (cfg_fd >= 0)
            close(cfg_fd);
        return NULL;
    }
    *p = (struct pass_irq){.ctx = ctx,
                           .src = src,
                           .own_src = own_src,
                           .uio = uio,
                           .how = how,
                           .cfg_fd = cfg_fd,
                           .efd = -1,
                           .rfd = -1,
                           .gsi = -1,
                           .line = irq_line_none()};
    pthread_mutex_init(&p->lock, NULL);
    snprintf(p->label, sizeof(p->label), "%s", label);
    if (ctx->irq_resolve(ctx->opaque, in, -1, &p->line) < 0) {
        pass_irq_free(p);
        return NULL; /* logged */
    }
    p->gsi = p->line.gsi;
    p->rfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->rfd < 0 || p->efd < 0) {
        log_fatal(TAG, "%s: eventfd: %s", label, strerror(errno));
        pass_irq_free(p);
        return NULL;
    }
    /* KVM's irqchip: a resampled irqfd; qvm's IOAPIC: its EOI hook. */
    int r = -ENOSYS;
    if (ctx->irqfd_resample && p->gsi >= 0)
        r = ctx->irqfd_resample(ctx->opaque, (int)p->gsi, p->efd, p->rfd, true);
    if (r == 0) {
        p->kvm = true;
    } else {
        close(p->efd);
        p->efd = -1;
        int h = ctx->irq_eoi_fd && p->gsi >= 0
                    ? ctx->irq_eoi_fd(ctx->opaque, p->gsi, p->rfd)
                    : -ENOSYS;
        if (h < 0) {
            log_fatal(TAG,
                      "%s: no way to tell the guest's EOI of this line "
                      "(KVM irqfd with resample: %s; qvm's IOAPIC: %s)",
                      label, strerror(-r), strerror(-h));
            pass_irq_free(p);
            return NULL;
        }
        p->eoi_hook = true;
    }
    p->st.kvm = p->kvm;
    if (ctx->ev) {
        if (ev_add(ctx->ev, p->rfd, EPOLLIN, eoi_cb, p) < 0 ||
            ev_add(ctx->ev, p->src, EPOLLIN, src_cb, p) < 0) {
            log_fatal(TAG, "%s: cannot watch the host source", label);
            pass_irq_free(p);
            return NULL;
        }
        p->src_watched = true;
    }
    return p;
}

/* The UIO node's sysfs directory: $QVM_SYSFS_ROOT/class/uio/uioN. */
static void uio_sysfs(const char *path, const char *leaf, char *out, size_t len)
{
    const char *root = getenv("QVM_SYSFS_ROOT");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, len, "%s/class/uio/%s/%s", root && *root ? root : "/sys",
             base, leaf);
}

int pass_uio_reenable_method(int fd, const char *path, const char *label,
                             enum pass_reenable *how, int *cfg_fd)
{
    *cfg_fd = -1;
    int32_t one = 1;
    if (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
        *how = PASS_REENABLE_WRITE;
        return 0;
    }
    int e = errno;
    char cfg[320];
    uio_sysfs(path, "device/config", cfg, sizeof(cfg));
    /* No irqcontrol: ENOSYS (EIO before Linux 4.x). */
    bool none = e == ENOSYS || e == EIO;
    int c = none ? open(cfg, O_RDWR | O_CLOEXEC) : -1;
    if (c < 0) {
        log_fatal(TAG,
                  "%s: %s: its driver cannot re-enable the interrupt (write "
                  "of 1: %s) and it is no PCI function with a config at "
                  "%s (%s)",
                  label, path, strerror(e), cfg,
                  none ? strerror(errno) : "not tried");
        return -1;
    }
    uint8_t cmd[2];
    if (pread(c, cmd, 2, PCI_COMMAND_REG) != 2) {
        log_fatal(TAG, "%s: %s: cannot read the command register: %s", label,
                  cfg, strerror(errno));
        close(c);
        return -1;
    }
    *how = PASS_REENABLE_INTX;
    *cfg_fd = c;
    return 0;
}

/* ---- the device ---------------------------------------------------------- */

static void teardown(void *state)
{
    struct pass_irq *p = state;
    struct pass_irq_stats s;
    pass_irq_get_stats(p, &s);
    log_info(TAG,
             "%s: %llu host interrupts, %llu raised, %llu coalesced, %llu "
             "EOIs",
             p->label, (unsigned long long)s.interrupts,
             (unsigned long long)s.raised, (unsigned long long)s.coalesced,
             (unsigned long long)s.eois);
    pass_irq_free(p);
}

static void report(void *state, char *buf, size_t len)
{
    struct pass_irq *p = state;
    struct pass_irq_stats s;
    pass_irq_get_stats(p, &s);
    snprintf(buf, len,
             "%s: line %s, %llu host interrupts, %llu coalesced, %llu EOIs, "
             "%llu re-enable errors",
             p->label, s.up ? "up" : "down", (unsigned long long)s.interrupts,
             (unsigned long long)s.coalesced, (unsigned long long)s.eois,
             (unsigned long long)s.reenable_errors);
}

static int realize_one(const struct vm_spec *spec, const struct intr *it,
                       const struct dev_ctx *ctx, struct dev_list *out)
{
    char label[48];
    snprintf(label, sizeof(label), "pass intr %.24s:%u",
             spec_pic_label(spec, it->pic), it->line);
    int fd, cfg = -1;
    enum pass_reenable how = PASS_REENABLE_NONE;
    bool uio = it->src == INTR_SRC_UIO;
    if (uio) {
        fd = open(it->src_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            log_fatal(TAG, "%s: cannot open %s: %s%s", label, it->src_path,
                      strerror(e),
                      e == ENOENT   ? " (bind the device to a UIO driver, e.g. "
                                      "uio_pci_generic)"
                      : e == EACCES ? " (a UIO device is root's by default)"
                                    : "");
            return -1;
        }
        if (pass_uio_reenable_method(fd, it->src_path, label, &how, &cfg) < 0) {
            close(fd);
            return -1;
        }
    } else {
        fd = it->src_fd;
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
            log_fatal(TAG,
                      "%s: descriptor %d: %s (the program that starts qvm "
                      "must leave it open)",
                      label, fd, strerror(errno));
            return -1;
        }
    }
    struct pass_irq *p = pass_irq_new(ctx, it, label, fd, uio, uio, how, cfg);
    if (!p)
        return -1;
    /* Re-enable now: an interrupt its driver disabled before qvm opened
     * the device would never be reported. */
    reenable(p);
    struct dev_inst *slot = VEC_PUSH(&out->v);
    if (!slot) {
        log_fatal(TAG, "out of memory");
        pass_irq_free(p);
        return -1;
    }
    *slot = (struct dev_inst){.name = "pass-intr",
                              .state = p,
                              .teardown = teardown,
                              .report = report,
                              .desc = {.gsi = -1, .isa = -1}};
    if (uio)
        log_info(TAG,
                 "%s = %s: level until the guest's EOI (%s), re-enabled "
                 "by %s",
                 label, it->src_path,
                 p->kvm ? "KVM irqfd with resample" : "qvm's IOAPIC",
                 how == PASS_REENABLE_WRITE
                     ? "a write of 1 (the driver's irqcontrol)"
                     : "clearing Interrupt Disable in the command register "
                       "(the driver has no irqcontrol)");
    else
        log_info(TAG, "%s = descriptor %d: level until the guest's EOI (%s)",
                 label, fd,
                 p->kvm ? "KVM irqfd with resample" : "qvm's IOAPIC");
    return 0;
}

int pass_intr_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                      struct dev_list *out)
{
    for (size_t i = 0; i < spec->passes.n; i++)
        for (size_t k = 0; k < spec->passes.v[i].intrs.n; k++) {
            const struct intr *it = &spec->passes.v[i].intrs.v[k];
            if (it->src != INTR_SRC_NONE && realize_one(spec, it, ctx, out) < 0)
                return -1;
        }
    return 0;
}

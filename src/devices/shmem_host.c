/*
 * shmem_host.c: `vdev shmem` on Linux (docs/shmem.md): the realize
 * function and the host side of the model (shm_host_ops).
 *
 * A region NAME is the file DIR/qvm-shmem-<NAME after subst> (DIR:
 * $QVM_SHM_DIR, default /dev/shm, where POSIX shm_open("/qvm-shmem-NAME")
 * finds it): one page of struct shm_hdr, then the data. It is made under a
 * temporary name, sized, given its mode and group, then renamed into place
 * with RENAME_NOREPLACE, so that whoever opens it sees a complete object;
 * two creators race harmlessly (the loser opens the winner's). Opening it
 * read-write needs the file's permissions: the kernel refuses other users
 * (GSS_NO_PERMISSION).
 *
 * Each attached region has a waiter thread (CONFINE_SHMEM) sleeping with
 * FUTEX_WAIT on its client's seq word in the shared header: a peer's notify
 * or attach/detach bumps it and FUTEX_WAKEs it (a futex on a shared file
 * mapping is keyed by the page, so the wake crosses processes); the waiter
 * then raises the interrupt through shmem_event. No polling.
 *
 * The region window (SHM_WINDOW host bytes, anonymous, no reserve) is
 * registered as SHM_SLOTS KVM memory slots at realize, one per slot's data
 * part; attaching maps the file over a slot's data with MAP_FIXED and
 * detaching maps anonymous memory back (KVM follows the host mapping
 * through its MMU notifier): no memory slot changes at run time.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config/schema.h"
#include "devices/device.h"
#include "devices/pci.h"
#include "devices/shmem.h"
#include "util/log.h"
#include "vm/confine.h"

#define TAG        "shmem"
#define SHM_PREFIX "qvm-shmem-"

struct shm_create {
    char name[SHM_MAX_NAME];
    uint64_t size;
    mode_t mode;
    gid_t gid;
};

struct shm_dev {
    struct shmem sh; /* first */
    struct shm_host_ops ops;
    const struct dev_ctx *ctx;
    char label[96];
    int dirfd;
    mode_t umask_;
    gid_t gid;
    bool has_gid;
    char subst_from[SHM_MAX_NAME], subst_to[64];
    const char **pats;
    struct pci_function *pci;
    struct irq_line line;
    uint8_t *win;
    bool mapped_factory, mapped_ctl;
    uint64_t loc;
    uint64_t win_desc[2]; /* DEV_ROLE_SHMEM's info */
};

struct waiter {
    pthread_t th;
    struct shmem *sh;
    unsigned slot;
    _Atomic uint32_t *word;
    uint32_t seen;
    atomic_bool stop;
};

struct handle {
    struct shm_hdr *hdr;
};

static int futex(_Atomic uint32_t *w, int op, uint32_t val)
{
    return (int)syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

/* The host file name of region `name`: the prefix, then `subst`. */
static int host_name(const struct shm_dev *d, const char *name, char *out,
                     size_t len)
{
    size_t n = strlen(d->subst_from);
    int w;
    if ((d->subst_to[0] || n) && strncmp(name, d->subst_from, n) == 0)
        w = snprintf(out, len, SHM_PREFIX "%s%s", d->subst_to, name + n);
    else
        w = snprintf(out, len, SHM_PREFIX "%s", name);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

static int status_of(int e)
{
    return e == EACCES || e == EPERM                  ? GSS_NO_PERMISSION
           : e == ENOMEM || e == ENOSPC || e == EFBIG ? GSS_NOMEM
           : e == ENOENT                              ? GSS_DOES_NOT_EXIST
                                                      : GSS_UNKNOWN_FAILURE;
}

/*
 * Open region file `fn` read-write, creating it with `bytes` of data, mode
 * and group when absent. Returns the fd or -errno.
 */
static int open_or_create(struct shm_dev *d, const char *fn, uint64_t bytes,
                          mode_t mode, bool has_gid, gid_t gid, bool *created)
{
    *created = false;
    for (int tries = 0; tries < 4; tries++) {
        int fd = openat(d->dirfd, fn, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0 || errno != ENOENT)
            return fd >= 0 ? fd : -errno;
        char tmp[SHM_MAX_NAME + 96];
        snprintf(tmp, sizeof(tmp), ".%s.%d.%d", fn, (int)getpid(), tries);
        fd = openat(d->dirfd, tmp,
                    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return -errno;
        int e = 0;
        if (ftruncate(fd, (off_t)(SHM_PAGE + bytes)) < 0 ||
            (has_gid && fchown(fd, (uid_t)-1, gid) < 0) || fchmod(fd, mode) < 0)
            e = -errno;
        if (!e && syscall(SYS_renameat2, d->dirfd, tmp, d->dirfd, fn,
                          RENAME_NOREPLACE) == 0) {
            *created = true;
            return fd;
        }
        if (!e && errno != EEXIST)
            e = -errno;
        unlinkat(d->dirfd, tmp, 0);
        close(fd);
        if (e)
            return e;
        /* Another creator won: open theirs. */
    }
    return -EAGAIN;
}

static int h_open(void *o, const char *name, uint64_t size, void *where,
                  struct shm_hdr **hdr, void **handle)
{
    struct shm_dev *d = o;
    char fn[SHM_MAX_NAME + 80];
    if (host_name(d, name, fn, sizeof(fn)) < 0)
        return GSS_ILLEGAL_NAME;
    mode_t mode = 0666 & ~d->umask_;
    bool created;
    int fd = open_or_create(d, fn, size, mode, d->has_gid, d->gid, &created);
    if (fd < 0) {
        LOG_RATELIMITED(LOG_WARN, TAG, "%s: region '%s' (%s): %s", d->label,
                        name, fn, strerror(-fd));
        return status_of(-fd);
    }
    struct stat st;
    int st_ = GSS_OK;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        st_ = GSS_UNKNOWN_FAILURE;
    else if ((uint64_t)st.st_size < SHM_PAGE + size)
        st_ = GSS_NOMEM; /* exists, smaller than asked */
    void *h = MAP_FAILED;
    if (st_ == GSS_OK) {
        h = mmap(NULL, SHM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (h == MAP_FAILED ||
            mmap(where, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                 fd, SHM_PAGE) == MAP_FAILED)
            st_ = GSS_UNKNOWN_FAILURE;
    }
    close(fd);
    if (st_ != GSS_OK) {
        if (h != MAP_FAILED)
            munmap(h, SHM_PAGE);
        LOG_RATELIMITED(LOG_WARN, TAG, "%s: region '%s' (%s): status %d",
                        d->label, name, fn, st_);
        return st_;
    }
    if (created)
        LOG_RATELIMITED(LOG_INFO, TAG,
                        "%s: created region '%s' (%s, %llu bytes, mode %04o)",
                        d->label, name, fn, (unsigned long long)size,
                        (unsigned)mode);
    *hdr = h;
    *handle = h;
    return GSS_OK;
}

static void h_close(void *o, void *handle, void *where, uint64_t size)
{
    (void)o;
    /* The data range goes back to the window's anonymous zero pages. */
    void *p =
        mmap(where, size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED)
        log_error(TAG, "remapping a detached region: %s", strerror(errno));
    munmap(handle, SHM_PAGE);
}

static bool h_alive(void *o, uint32_t pid)
{
    (void)o;
    if (pid > INT_MAX)
        return false;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static void h_wake(void *o, _Atomic uint32_t *w)
{
    (void)o;
    futex(w, FUTEX_WAKE, INT_MAX);
}

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    confine_thread(CONFINE_SHMEM);
    uint32_t seen = w->seen;
    while (!atomic_load(&w->stop)) {
        /* Sleeps only while the word still holds `seen`: a bump between
         * the load and the wait makes FUTEX_WAIT return at once. */
        futex(w->word, FUTEX_WAIT, seen);
        uint32_t now = atomic_load(w->word);
        if (now != seen && !atomic_load(&w->stop)) {
            seen = now;
            shmem_event(w->sh, w->slot);
        }
    }
    return NULL;
}

static int h_watch(void *o, struct shmem *sh, unsigned slot,
                   struct shm_hdr *hdr, unsigned idx, void **out)
{
    (void)o;
    struct waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->sh = sh;
    w->slot = slot;
    w->word = &hdr->seq[idx];
    /* What the word holds now, before the thread runs: a change after the
     * attach is an event even if the thread starts late. */
    w->seen = atomic_load(w->word);
    int e = pthread_create(&w->th, NULL, waiter_main, w);
    if (e) {
        log_error(TAG, "waiter thread: %s", strerror(e));
        free(w);
        return -e;
    }
    *out = w;
    return 0;
}

static void h_unwatch(void *o, void *arg, struct shm_hdr *hdr, unsigned idx)
{
    (void)o, (void)hdr, (void)idx;
    struct waiter *w = arg;
    atomic_store(&w->stop, true);
    /* Our own client's word: the change wakes (or keeps awake) only us. */
    atomic_fetch_add(w->word, 1);
    futex(w->word, FUTEX_WAKE, INT_MAX);
    pthread_join(w->th, NULL);
    free(w);
}

/* A group by number or /etc/group name (qvm is static: no NSS). */
static int parse_gid(const char *s, gid_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s && !*end && !errno && v < 0xffffffffUL) {
        *out = (gid_t)v;
        return 0;
    }
    FILE *f = fopen("/etc/group", "re");
    struct group *g = NULL;
    while (f && (g = fgetgrent(f)) != NULL)
        if (strcmp(g->gr_name, s) == 0)
            break;
    if (g)
        *out = g->gr_gid;
    if (f)
        fclose(f);
    return g ? 0 : -1;
}

/* `create NAME,SIZE[,MODE[,GID]]`: the region made now, its memory
 * reserved (fallocate), so that guests find it whatever their order. */
static int create_one(struct shm_dev *d, const struct opt_val *o)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", o->text);
    char *f[4] = {buf, NULL, NULL, NULL};
    for (int i = 1; i < 4 && f[i - 1]; i++) {
        char *c = strchr(f[i - 1], ',');
        if (c)
            *c++ = 0;
        f[i] = c;
    }
    if (!shmem_name_ok(buf)) {
        log_fatal(TAG,
                  "%s: create %s: names are 1-31 characters of "
                  "A-Z a-z 0-9 . _ - (not starting with '.')",
                  d->label, o->text);
        return -1;
    }
    uint64_t size = (o->num + SHM_PAGE - 1) & ~(SHM_PAGE - 1);
    if (size > SHM_SLOT_SIZE - SHM_PAGE) {
        log_fatal(TAG, "%s: create %s: at most %llu bytes per region", d->label,
                  o->text, (unsigned long long)(SHM_SLOT_SIZE - SHM_PAGE));
        return -1;
    }
    mode_t mode = f[2] ? (mode_t)o->num2 : 0666 & ~d->umask_;
    mode &= 0666; /* never execute bits */
    gid_t gid = d->gid;
    bool has_gid = d->has_gid;
    if (f[3]) {
        if (parse_gid(f[3], &gid) < 0) {
            log_fatal(TAG, "%s: create %s: no group '%s'", d->label, o->text,
                      f[3]);
            return -1;
        }
        has_gid = true;
    }
    char fn[SHM_MAX_NAME + 80];
    bool created;
    if (host_name(d, buf, fn, sizeof(fn)) < 0)
        return -1;
    int fd = open_or_create(d, fn, size, mode, has_gid, gid, &created);
    if (fd < 0) {
        log_fatal(TAG, "%s: create %s: %s: %s", d->label, o->text, fn,
                  strerror(-fd));
        return -1;
    }
    struct stat st;
    int e = fstat(fd, &st) < 0 ? errno : 0;
    if (!e && (uint64_t)st.st_size < SHM_PAGE + size)
        e = EEXIST; /* a smaller region of that name exists */
    if (!e)
        e = posix_fallocate(fd, 0, (off_t)(SHM_PAGE + size));
    close(fd);
    if (e) {
        log_fatal(TAG, "%s: create %s: %s: %s", d->label, o->text, fn,
                  e == EEXIST ? "exists, smaller" : strerror(e));
        return -1;
    }
    log_info(TAG, "%s: region '%s' %s (%s)", d->label, buf,
             created ? "created" : "exists", fn);
    return 0;
}

static void irq_pci(void *o, bool level)
{
    pci_intx_set(o, level);
}

static void irq_line(void *o, bool level)
{
    irq_line_set(o, level);
}

static void teardown(void *state)
{
    struct shm_dev *d = state;
    shmem_fini(&d->sh); /* peers see us go */
    if (d->pci && d->ctx->pci)
        pci_bus_remove(d->ctx->pci, d->pci);
    if (d->mapped_factory)
        bus_unmap(d->ctx->mmio, d->loc);
    if (d->mapped_ctl)
        bus_unmap(d->ctx->mmio, d->sh.win_gpa);
    if (d->dirfd >= 0)
        close(d->dirfd);
    /* No vCPU runs any more (as guest RAM, unmapped before KVM closes). */
    if (d->win && d->win != MAP_FAILED)
        munmap(d->win, SHM_WINDOW);
    free(d->pci);
    free(d->pats);
    free(d);
}

static void bar_moved(void *opaque, unsigned i, bool mapped, uint64_t base)
{
    struct shm_dev *d = opaque;
    if (i == 2 && mapped && base != d->sh.win_gpa)
        LOG_RATELIMITED(LOG_WARN, TAG,
                        "%s: the guest moved the region BAR to 0x%llx; "
                        "region data stays at 0x%llx",
                        d->label, (unsigned long long)base,
                        (unsigned long long)d->sh.win_gpa);
}

static int setup_options(struct shm_dev *d, const struct vdev_spec *vd)
{
    unsigned npat = 0;
    bool allow = false;
    d->pats = calloc(vd->opts.n + 1, sizeof(*d->pats));
    if (!d->pats)
        return -1;
    for (size_t i = 0; i < vd->opts.n; i++) {
        const struct opt_val *o = &vd->opts.v[i];
        const char *n = o->def && o->def->name ? o->def->name : "";
        if (strcmp(n, "allow") == 0 || strcmp(n, "deny") == 0) {
            allow = n[0] == 'a';
            d->pats[npat++] = o->text;
        } else if (strcmp(n, "umask") == 0) {
            d->umask_ = (mode_t)o->num;
        } else if (strcmp(n, "gid") == 0) {
            if (parse_gid(o->text, &d->gid) < 0) {
                log_fatal(TAG, "%s: gid %s: no such group", d->label, o->text);
                return -1;
            }
            d->has_gid = true;
        } else if (strcmp(n, "subst") == 0) {
            const char *c = strchr(o->text, ',');
            size_t fl = c ? (size_t)(c - o->text) : 0;
            if (!c || fl >= sizeof(d->subst_from) ||
                strlen(c + 1) >= sizeof(d->subst_to) || strchr(c + 1, '/')) {
                log_fatal(TAG, "%s: subst %s: [ORIGINAL],PREFIX without '/'",
                          d->label, o->text);
                return -1;
            }
            memcpy(d->subst_from, o->text, fl);
            snprintf(d->subst_to, sizeof(d->subst_to), "%s", c + 1);
        } else if (strcmp(n, "create") == 0) {
            if (create_one(d, o) < 0)
                return -1;
        }
    }
    d->sh.policy = (struct shm_policy){d->pats, npat, allow};
    return 0;
}

static int setup(struct shm_dev *d, const struct vdev_spec *vd,
                 const struct dev_ctx *ctx, const struct bar *rb);

int shmem_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                  struct dev_inst *inst)
{
    struct shm_dev *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    d->ctx = ctx;
    d->dirfd = -1;
    if (vd->name)
        snprintf(d->label, sizeof(d->label), "vdev shmem '%s'", vd->name);
    else
        snprintf(d->label, sizeof(d->label), "vdev shmem");
    const struct bar *rb = &vd->pci.bars[2];
    if (rb->size != SHM_WINDOW) {
        log_fatal(TAG, "%s: no region window was placed", d->label);
        free(d);
        return -1;
    }
    const char *dir = getenv("QVM_SHM_DIR");
    if (!dir || !*dir)
        dir = "/dev/shm";
    d->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd < 0) {
        log_fatal(TAG, "%s: %s: %s", d->label, dir, strerror(errno));
        free(d);
        return -1;
    }
    d->win = mmap(NULL, SHM_WINDOW, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (d->win == MAP_FAILED) {
        log_fatal(TAG, "%s: region window: %s", d->label, strerror(errno));
        close(d->dirfd);
        free(d);
        return -1;
    }
    d->ops =
        (struct shm_host_ops){h_open,  h_close,   h_alive,           h_wake,
                              h_watch, h_unwatch, (uint32_t)getpid()};
    uint32_t vector = vd->is_pci    ? vd->pci.intx.line
                      : vd->intrs.n ? vd->intrs.v[0].line
                                    : 0;
    shmem_init(&d->sh, d->label, rb->base, d->win, vector, &d->ops, d,
               vd->is_pci ? irq_pci : irq_line, NULL);
    if (setup(d, vd, ctx, rb) < 0) {
        teardown(d); /* the registry frees nothing of a failed model */
        return -1;
    }
    inst->state = d;
    inst->teardown = teardown;
    if (!vd->is_pci) {
        inst->desc = dev_desc_line(DEV_ROLE_SHMEM, d->loc, SHM_PAGE, &d->line);
        d->win_desc[0] = rb->base;
        d->win_desc[1] = SHM_WINDOW;
        inst->desc.info = d->win_desc;
    }
    return 0;
}

static int setup(struct shm_dev *d, const struct vdev_spec *vd,
                 const struct dev_ctx *ctx, const struct bar *rb)
{
    bool pci = vd->is_pci;
    if (setup_options(d, vd) < 0)
        return -1;
    for (unsigned k = 0; k < SHM_SLOTS; k++) {
        uint64_t off = k * SHM_SLOT_SIZE + SHM_PAGE;
        if (!ctx->ram_add ||
            ctx->ram_add(ctx->opaque, rb->base + off, SHM_SLOT_SIZE - SHM_PAGE,
                         d->win + off) < 0) {
            log_fatal(TAG, "%s: cannot map the region window", d->label);
            return -1;
        }
    }
    if (pci) {
        d->pci = calloc(1, sizeof(*d->pci));
        if (!d->pci || pci_function_from_vdev(d->pci, vd) < 0)
            return -1;
        d->pci->bar_ops[0] = &shmem_factory_ops;
        d->pci->bar_opaque[0] = &d->sh;
        d->pci->bar_ops[2] = &shmem_ctl_ops;
        d->pci->bar_opaque[2] = &d->sh;
        d->pci->bar_moved = bar_moved;
        d->pci->hook_opaque = d;
        d->sh.irq_opaque = d->pci;
        int e = pci_bus_add(ctx->pci, d->pci);
        if (e < 0) {
            log_fatal(TAG, "%s: %s", d->label, strerror(-e));
            return -1;
        }
        return 0;
    }
    if (!vd->intrs.n ||
        ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], -1, &d->line) < 0)
        return -1;
    d->sh.irq_opaque = &d->line;
    d->loc = vd->loc.base;
    if (bus_map(ctx->mmio, "shmem", d->loc, SHM_PAGE, &shmem_factory_ops,
                &d->sh) < 0 ||
        !(d->mapped_factory = true) ||
        bus_map(ctx->mmio, "shmem regions", rb->base, SHM_WINDOW,
                &shmem_ctl_ops, &d->sh) < 0) {
        log_fatal(TAG, "%s: cannot map 0x%llx", d->label,
                  (unsigned long long)d->loc);
        return -1;
    }
    d->mapped_ctl = true;
    return 0;
}

/*
 * test_shmem.c: the guest_shm register model (devices/shmem.c) with a fake
 * host: regions are calloc'd headers shared by the fake "VMs" of one test
 * (each a struct shmem with its own pid), waiters are pumped by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/schema.h"
#include "devices/device.h"
#include "devices/shmem.h"
#include "fake_irq.h"

#define WIN 0x80000000ULL

struct fake_region {
    char name[SHM_MAX_NAME];
    uint64_t size;
    struct shm_hdr hdr;
};
static struct fake_region regions[4];
static unsigned nregions;
static uint32_t dead_pid; /* alive() is false for it */
static unsigned opens, closes, wakes;

struct watch {
    struct shmem *sh;
    unsigned slot, idx;
    struct shm_hdr *hdr;
    uint32_t seen;
    bool on;
};
static struct watch watches[16];

static int f_open(void *o, const char *name, uint64_t size, void *where,
                  struct shm_hdr **hdr, void **handle)
{
    (void)o, (void)where;
    if (strcmp(name, "forbidden") == 0)
        return GSS_NO_PERMISSION;
    for (unsigned i = 0; i < nregions; i++)
        if (strcmp(regions[i].name, name) == 0) {
            if (size > regions[i].size)
                return GSS_NOMEM;
            *hdr = &regions[i].hdr;
            *handle = &regions[i];
            opens++;
            return GSS_OK;
        }
    struct fake_region *r = &regions[nregions++];
    strcpy(r->name, name);
    r->size = size;
    *hdr = &r->hdr;
    *handle = r;
    opens++;
    return GSS_OK;
}

static void f_close(void *o, void *handle, void *where, uint64_t size)
{
    (void)o, (void)handle, (void)where, (void)size;
    closes++;
}

static bool f_alive(void *o, uint32_t pid)
{
    (void)o;
    return pid != dead_pid;
}

static void f_wake(void *o, _Atomic uint32_t *w)
{
    (void)o, (void)w;
    wakes++;
}

static int f_watch(void *o, struct shmem *sh, unsigned slot,
                   struct shm_hdr *hdr, unsigned idx, void **w)
{
    (void)o;
    for (unsigned i = 0; i < 16; i++)
        if (!watches[i].on) {
            watches[i] = (struct watch){
                sh, slot, idx, hdr, atomic_load(&hdr->seq[idx]), true};
            *w = &watches[i];
            return 0;
        }
    return -1;
}

static void f_unwatch(void *o, void *w, struct shm_hdr *hdr, unsigned idx)
{
    (void)o, (void)hdr, (void)idx;
    ((struct watch *)w)->on = false;
}

/* What the waiter threads do: an event for each changed seq word. */
static void pump(void)
{
    for (unsigned i = 0; i < 16; i++) {
        struct watch *w = &watches[i];
        uint32_t now = w->on ? atomic_load(&w->hdr->seq[w->idx]) : 0;
        if (w->on && now != w->seen) {
            w->seen = now;
            shmem_event(w->sh, w->slot);
        }
    }
}

#define OPS(pid)                                                               \
    {                                                                          \
        f_open, f_close, f_alive, f_wake, f_watch, f_unwatch, pid              \
    }
static const struct shm_host_ops ops[3] = {OPS(100), OPS(200), OPS(300)};

struct vm {
    struct shmem sh;
    bool level;
    unsigned edges;
};
static struct vm vms[3];

static void irq(void *o, bool level)
{
    struct vm *v = o;
    if (level && !v->level)
        v->edges++;
    v->level = level;
}

static int setup(void **state)
{
    (void)state;
    memset(regions, 0, sizeof(regions));
    memset(watches, 0, sizeof(watches));
    nregions = opens = closes = wakes = 0;
    dead_pid = 0;
    for (unsigned i = 0; i < 3; i++) {
        vms[i] = (struct vm){0};
        shmem_init(&vms[i].sh, "vdev shmem", WIN, NULL, 10 + i, &ops[i], NULL,
                   irq, &vms[i]);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 3; i++)
        shmem_fini(&vms[i].sh);
    return 0;
}

static uint64_t frd(struct vm *v, uint64_t off, unsigned size)
{
    return shmem_factory_ops.read(&v->sh, off, size);
}
static void fwr(struct vm *v, uint64_t off, uint64_t val, unsigned size)
{
    shmem_factory_ops.write(&v->sh, off, val, size);
}
static uint32_t crd(struct vm *v, unsigned slot, uint64_t reg)
{
    return (uint32_t)shmem_ctl_ops.read(&v->sh, slot * SHM_SLOT_SIZE + reg, 4);
}
static void cwr(struct vm *v, unsigned slot, uint64_t reg, uint32_t val)
{
    shmem_ctl_ops.write(&v->sh, slot * SHM_SLOT_SIZE + reg, val, 4);
}

/* The name with 4-byte stores, as the reference asks of guests. */
static void set_name(struct vm *v, const char *name)
{
    char buf[SHM_MAX_NAME] = {0};
    memcpy(buf, name, strnlen(name, sizeof(buf)));
    for (unsigned i = 0; i < SHM_MAX_NAME; i += 4) {
        uint32_t w;
        memcpy(&w, buf + i, 4);
        fwr(v, SHM_F_NAME + i, w, 4);
    }
}

static uint32_t attach(struct vm *v, const char *name, uint32_t pages)
{
    set_name(v, name);
    fwr(v, SHM_F_SIZE, pages, 4);
    return (uint32_t)frd(v, SHM_F_STATUS, 4);
}

static void test_factory_page(void **state)
{
    (void)state;
    struct vm *a = &vms[0];
    assert_true(frd(a, SHM_F_SIGNATURE, 8) == SHM_SIGNATURE);
    assert_int_equal(frd(a, 0, 4), 0x474d5651);
    assert_int_equal(frd(a, 4, 4), 0x4d534732);
    assert_int_equal(frd(a, 0, 1), 'Q');
    assert_int_equal(frd(a, SHM_F_VECTOR, 4), 10);
    assert_int_equal(frd(a, SHM_F_STATUS, 4), GSS_DOES_NOT_EXIST);
    set_name(a, "abc");
    assert_int_equal(frd(a, SHM_F_NAME, 4), 0x636261);
    /* Past the registers: zero. */
    assert_int_equal(frd(a, 0x800, 4), 0);
    assert_int_equal(frd(a, 0xffc, 4), 0);
}

static void test_attach_two_vms(void **state)
{
    (void)state;
    struct vm *a = &vms[0], *b = &vms[1];
    assert_int_equal(attach(a, "region1", 16), GSS_OK);
    assert_true(frd(a, SHM_F_SHMEM, 8) == WIN);
    assert_int_equal(crd(a, 0, SHM_C_IDX), 0);
    assert_int_equal(crd(a, 0, SHM_C_STATUS), 1u << 16);
    assert_false(a->level);
    /* b attaches the same name: client 1; a's status changes. */
    assert_int_equal(attach(b, "region1", 16), GSS_OK);
    assert_int_equal(crd(b, 0, SHM_C_IDX), 1);
    assert_int_equal(nregions, 1);
    pump();
    assert_true(a->level);
    assert_false(b->level);
    assert_int_equal(crd(a, 0, SHM_C_STATUS), 3u << 16);
    assert_false(a->level); /* the read acknowledged it */
    /* Attaching again here is the same slot. */
    assert_int_equal(attach(a, "region1", 4), GSS_OK);
    assert_true(frd(a, SHM_F_SHMEM, 8) == WIN);
    /* Larger than the region: no. */
    assert_int_equal(attach(a, "region1", 32), GSS_NOMEM);
    /* A second region: the next slot. */
    assert_int_equal(attach(a, "region2", 1), GSS_OK);
    assert_true(frd(a, SHM_F_SHMEM, 8) == WIN + SHM_SLOT_SIZE);
    /* find: by connection number. */
    fwr(a, SHM_F_FIND, 0, 4);
    assert_int_equal(frd(a, SHM_F_STATUS, 4), GSS_OK);
    assert_true(frd(a, SHM_F_SHMEM, 8) == WIN);
    fwr(a, SHM_F_FIND, 1, 4);
    assert_true(frd(a, SHM_F_SHMEM, 8) == WIN + SHM_SLOT_SIZE);
    fwr(a, SHM_F_FIND, 2, 4);
    assert_int_equal(frd(a, SHM_F_STATUS, 4), GSS_DOES_NOT_EXIST);
}

static void test_notify(void **state)
{
    (void)state;
    struct vm *a = &vms[0], *b = &vms[1], *c = &vms[2];
    assert_int_equal(attach(a, "r", 1), GSS_OK);
    assert_int_equal(attach(b, "r", 1), GSS_OK);
    assert_int_equal(attach(c, "r", 1), GSS_OK);
    pump();
    for (unsigned i = 0; i < 3; i++)
        crd(&vms[i], 0, SHM_C_STATUS);
    assert_false(a->level || b->level || c->level);
    /* b notifies a only. */
    unsigned edges = a->edges;
    cwr(b, 0, SHM_C_NOTIFY, 1u << 0);
    pump();
    assert_true(a->level);
    assert_int_equal(a->edges, edges + 1);
    assert_false(b->level || c->level);
    assert_int_equal(crd(a, 0, SHM_C_STATUS), 7u << 16 | 1u << 1);
    assert_false(a->level);
    /* Clear-on-read. */
    assert_int_equal(crd(a, 0, SHM_C_STATUS), 7u << 16);
    /* a notifies b and c; an unattached index is ignored. */
    cwr(a, 0, SHM_C_NOTIFY, 0x0006 | 1u << 9 | 0xffff0000u);
    pump();
    assert_true(b->level && c->level);
    assert_int_equal(crd(b, 0, SHM_C_STATUS), 7u << 16 | 1u << 0);
    assert_int_equal(crd(c, 0, SHM_C_STATUS), 7u << 16 | 1u << 0);
    assert_int_equal(atomic_load(&regions[0].hdr.pending[9]), 0);
    /* Two notifiers before the read: both bits. */
    cwr(a, 0, SHM_C_NOTIFY, 1u << 2);
    cwr(b, 0, SHM_C_NOTIFY, 1u << 2);
    pump();
    assert_int_equal(crd(c, 0, SHM_C_STATUS), 7u << 16 | 3u);
    /* c detaches: a and b see it go. */
    cwr(c, 0, SHM_C_DETACH, 1);
    pump();
    assert_true(a->level && b->level);
    assert_int_equal(crd(a, 0, SHM_C_STATUS), 3u << 16);
    assert_int_equal(crd(c, 0, SHM_C_STATUS), 0); /* no region there now */
    assert_int_equal(closes, 1);
}

static void test_client_limit_and_reclaim(void **state)
{
    (void)state;
    struct vm *a = &vms[0], *b = &vms[1];
    assert_int_equal(attach(a, "full", 1), GSS_OK);
    struct shm_hdr *h = &regions[0].hdr;
    for (unsigned i = 1; i < SHM_MAX_CLIENTS; i++)
        atomic_store(&h->owner[i], 1000 + i);
    assert_int_equal(attach(b, "full", 1), GSS_CLIENT_MAX);
    assert_int_equal(crd(b, 0, SHM_C_STATUS), 0); /* nothing attached */
    assert_int_equal(closes, 1);
    /* Client 7's qvm was killed: the next attach takes its slot. */
    dead_pid = 1007;
    atomic_store(&h->pending[7], 0x5);
    assert_int_equal(attach(b, "full", 1), GSS_OK);
    assert_int_equal(crd(b, 0, SHM_C_IDX), 7);
    assert_int_equal(atomic_load(&h->owner[7]), 200);
    assert_int_equal(crd(b, 0, SHM_C_STATUS) & 0xffff, 0);
    /* A notification to a dead client reclaims it too. */
    dead_pid = 1003;
    cwr(b, 0, SHM_C_NOTIFY, 1u << 3);
    assert_int_equal(atomic_load(&h->owner[3]), 0);
    assert_int_equal(atomic_load(&h->pending[3]), 0);
}

static void test_bad_accesses(void **state)
{
    (void)state;
    struct vm *a = &vms[0];
    a->sh.policy = (struct shm_policy){(const char *const[]){"sec*"}, 1, false};
    assert_int_equal(attach(a, "", 1), GSS_ILLEGAL_NAME);
    assert_int_equal(attach(a, "../etc", 1), GSS_ILLEGAL_NAME);
    assert_int_equal(attach(a, ".hidden", 1), GSS_ILLEGAL_NAME);
    assert_int_equal(attach(a, "a b", 1), GSS_ILLEGAL_NAME);
    /* 32 characters: no room for the NUL. */
    set_name(a, "0123456789abcdef0123456789abcdef");
    fwr(a, SHM_F_SIZE, 1, 4);
    assert_int_equal(frd(a, SHM_F_STATUS, 4), GSS_ILLEGAL_NAME);
    assert_int_equal(attach(a, "secret", 1), GSS_NO_PERMISSION);
    assert_int_equal(attach(a, "forbidden", 1), GSS_NO_PERMISSION);
    assert_int_equal(attach(a, "ok", 0), GSS_NOMEM);
    assert_int_equal(attach(a, "ok", 0xffffffffu), GSS_NOMEM);
    assert_int_equal(
        attach(a, "ok", (uint32_t)((SHM_SLOT_SIZE - SHM_PAGE) / SHM_PAGE + 1)),
        GSS_NOMEM);
    assert_int_equal(opens, 0);
    assert_int_equal(
        attach(a, "ok", (uint32_t)((SHM_SLOT_SIZE - SHM_PAGE) / SHM_PAGE)),
        GSS_OK);
    /* Only 4-byte stores to size trigger anything. */
    set_name(a, "other");
    fwr(a, SHM_F_SIZE, 1, 2);
    fwr(a, SHM_F_SIZE, 1, 8);
    assert_int_equal(opens, 1);
    /* Slots full. */
    assert_int_equal(attach(a, "r2", 1), GSS_OK);
    assert_int_equal(attach(a, "r3", 1), GSS_OK);
    assert_int_equal(attach(a, "r4", 1), GSS_OK);
    assert_int_equal(attach(a, "r5", 1), GSS_NOMEM);
    /* The control window: registers only, 4 bytes only. */
    assert_int_equal(shmem_ctl_ops.read(&a->sh, SHM_C_IDX, 2), 0);
    assert_int_equal(shmem_ctl_ops.read(&a->sh, 0x10, 4), 0);
    assert_int_equal(shmem_ctl_ops.read(&a->sh, SHM_PAGE, 4), 0);
    assert_int_equal(shmem_ctl_ops.read(&a->sh, SHM_WINDOW - 4, 4), 0);
    shmem_ctl_ops.write(&a->sh, SHM_C_DETACH, 1, 2);
    shmem_ctl_ops.write(&a->sh, SHM_C_STATUS, 1, 4);
    shmem_ctl_ops.write(&a->sh, SHM_WINDOW - 4, 1, 4);
    assert_int_equal(closes, 0);
    /* Odd factory accesses: the name can be written bytewise, past it
     * nothing. */
    fwr(a, SHM_F_NAME + 31, 'x', 1);
    assert_int_equal(frd(a, SHM_F_NAME + 31, 1), 'x');
    fwr(a, SHM_F_NAME + 30, 0x4142, 2);
    fwr(a, SHM_F_NAME + 30, 0x41424344, 4); /* crosses the end: ignored */
    assert_int_equal(frd(a, SHM_F_NAME + 30, 2), 0x4142);
    fwr(a, 0xff8, ~0ull, 8);
    fwr(a, SHM_F_SIGNATURE, 0, 8);
    assert_true(frd(a, SHM_F_SIGNATURE, 8) == SHM_SIGNATURE);
}

static void test_policy(void **state)
{
    (void)state;
    const char *allow[] = {"pub*", "x?"};
    struct shm_policy p = {allow, 2, true};
    assert_true(shmem_policy_permits(&p, "public"));
    assert_true(shmem_policy_permits(&p, "xy"));
    assert_false(shmem_policy_permits(&p, "xyz"));
    p.allow = false;
    assert_false(shmem_policy_permits(&p, "public"));
    assert_true(shmem_policy_permits(&p, "xyz"));
    p.n = 0;
    assert_true(shmem_policy_permits(&p, "any"));
}

/* ---- the host side (shmem_host.c): two MMIO devices in this process,
 * regions in a temporary QVM_SHM_DIR, the waiter threads for real. */

static pthread_mutex_t hl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hc = PTHREAD_COND_INITIALIZER;
static bool hlevel[2];
static unsigned hedges[2];

static void host_sink(void *o, uint32_t n, bool level)
{
    (void)o;
    unsigned i = n == 10 ? 0 : 1;
    pthread_mutex_lock(&hl);
    if (level && !hlevel[i])
        hedges[i]++;
    hlevel[i] = level;
    pthread_cond_broadcast(&hc);
    pthread_mutex_unlock(&hl);
}
FAKE_IRQ(host_sink)

static int fake_ram_add(void *o, uint64_t gpa, uint64_t size, void *hva)
{
    (void)o, (void)gpa, (void)size, (void)hva;
    return 0;
}

/* Wait (bounded only as a failure) for device i's line to rise. */
static bool wait_edge(unsigned i, unsigned edges)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 20;
    pthread_mutex_lock(&hl);
    while (hedges[i] <= edges)
        if (pthread_cond_timedwait(&hc, &hl, &t) != 0)
            break;
    bool ok = hedges[i] > edges;
    pthread_mutex_unlock(&hl);
    return ok;
}

static unsigned edges_of(unsigned i)
{
    pthread_mutex_lock(&hl);
    unsigned n = hedges[i];
    pthread_mutex_unlock(&hl);
    return n;
}

struct henv {
    struct bus mmio;
    struct dev_ctx ctx;
    struct vdev_spec vd;
    struct dev_inst inst;
};

/* An option of the device's spec, as the front end types it. */
static void henv_opt(struct henv *e, const char *name, char *text, uint64_t num,
                     uint64_t num2)
{
    struct opt_val *o = VEC_PUSH(&e->vd.opts);
    assert_non_null(o);
    for (const struct opt_def *d = e->vd.type->opts; d->name; d++)
        if (strcmp(d->name, name) == 0)
            o->def = d;
    assert_non_null(o->def);
    o->text = text;
    o->num = num;
    o->num2 = num2;
}

static void henv_init(struct henv *e, uint32_t line, char *create, bool options)
{
    memset(e, 0, sizeof(*e));
    bus_init(&e->mmio, "mmio");
    e->ctx = (struct dev_ctx){.mmio = &e->mmio,
                              .irq_resolve = fake_irq_resolve,
                              .irq_isa = fake_irq_isa,
                              .ram_add = fake_ram_add,
                              .opaque = e};
    e->vd.type = vdev_type_find("shmem");
    assert_non_null(e->vd.type);
    e->vd.has_loc = true;
    e->vd.loc =
        (struct loc){.space = SPACE_MEM, .base = 0x10000000, .size = 0x1000};
    struct intr *in = VEC_PUSH(&e->vd.intrs);
    assert_non_null(in);
    *in = (struct intr){.line = line};
    e->vd.pci.bars[2] = (struct bar){BAR_MEM64, 0xc0000000, SHM_WINDOW, "r"};
    if (create)
        henv_opt(e, "create", create, 16384, 0600);
    if (options) {
        /* Guest-made regions: mode 0666 & ~027, our group, host names
         * with "sub_" for a leading "pre". */
        static char umask_[] = "027", subst[] = "pre,sub_", gid[16];
        snprintf(gid, sizeof(gid), "%u", (unsigned)getegid());
        henv_opt(e, "umask", umask_, 027, 0);
        henv_opt(e, "gid", gid, 0, 0);
        henv_opt(e, "subst", subst, 0, 0);
    }
    assert_int_equal(shmem_realize(&e->vd, &e->ctx, &e->inst), 0);
}

static void henv_fini(struct henv *e)
{
    e->inst.teardown(e->inst.state);
    VEC_FREE(&e->vd.intrs);
    VEC_FREE(&e->vd.opts);
    bus_destroy(&e->mmio);
}

static struct shmem *hsh(struct henv *e)
{
    return e->inst.state; /* struct shm_dev starts with its struct shmem */
}

static uint32_t hattach(struct henv *e, const char *name, uint32_t pages)
{
    struct shmem *sh = hsh(e);
    char buf[SHM_MAX_NAME] = {0};
    memcpy(buf, name, strlen(name));
    for (unsigned i = 0; i < SHM_MAX_NAME; i += 4) {
        uint32_t w;
        memcpy(&w, buf + i, 4);
        shmem_factory_ops.write(sh, SHM_F_NAME + i, w, 4);
    }
    shmem_factory_ops.write(sh, SHM_F_SIZE, pages, 4);
    return (uint32_t)shmem_factory_ops.read(sh, SHM_F_STATUS, 4);
}

static void test_host(void **state)
{
    (void)state;
    char dir[] = "/tmp/qvm-shmem-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("QVM_SHM_DIR", dir, 1);
    fake_irq_reset();
    static struct henv a, b;
    static char create[] = "hostreg,16K,0600";
    henv_init(&a, 10, create, false);
    henv_init(&b, 11, NULL, true);
    /* `create`: the file, its mode and size (a page of header first). */
    char path[512];
    snprintf(path, sizeof(path), "%s/qvm-shmem-hostreg", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 4096 + 16384);
    /* Attach both; larger than the region: NOMEM. */
    assert_int_equal(hattach(&a, "hostreg", 4), GSS_OK);
    unsigned ea = edges_of(0);
    assert_int_equal(hattach(&b, "hostreg", 5), GSS_NOMEM);
    assert_int_equal(hattach(&b, "hostreg", 4), GSS_OK);
    /* A hears B's attach from its waiter thread. */
    assert_true(wait_edge(0, ea));
    assert_int_equal(shmem_ctl_ops.read(hsh(&a), SHM_C_STATUS, 4), 3u << 16);
    /* The data is shared: written through A's window, read in B's. */
    char *da = (char *)hsh(&a)->win_host + SHM_PAGE;
    char *db = (char *)hsh(&b)->win_host + SHM_PAGE;
    strcpy(da + 100, "from a");
    assert_string_equal(db + 100, "from a");
    /* B notifies A: A's line rises, the status names B. */
    ea = edges_of(0);
    unsigned eb = edges_of(1);
    shmem_ctl_ops.write(hsh(&b), SHM_C_NOTIFY, 1u << 0, 4);
    assert_true(wait_edge(0, ea));
    assert_int_equal(shmem_ctl_ops.read(hsh(&a), SHM_C_STATUS, 4),
                     3u << 16 | 1u << 1);
    /* And back. */
    shmem_ctl_ops.write(hsh(&a), SHM_C_NOTIFY, 1u << 1, 4);
    assert_true(wait_edge(1, eb));
    assert_int_equal(shmem_ctl_ops.read(hsh(&b), SHM_C_STATUS, 4) & 0xffff,
                     1u << 0);
    /* A fresh name is created on first use: b's umask 027 and gid. */
    assert_int_equal(hattach(&b, "fresh", 1), GSS_OK);
    snprintf(path, sizeof(path), "%s/qvm-shmem-fresh", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(st.st_gid, getegid());
    /* b's subst: "pre..." is "sub_..." on the host. */
    assert_int_equal(hattach(&b, "prefixed", 1), GSS_OK);
    snprintf(path, sizeof(path), "%s/qvm-shmem-sub_fixed", dir);
    assert_int_equal(stat(path, &st), 0);
    /* a's default mode: 0666. */
    assert_int_equal(hattach(&a, "plain", 1), GSS_OK);
    snprintf(path, sizeof(path), "%s/qvm-shmem-plain", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666);
    /* B detaches: A sees it go; B's window reads zero again. */
    ea = edges_of(0);
    shmem_ctl_ops.write(hsh(&b), SHM_C_DETACH, 1, 4);
    assert_true(wait_edge(0, ea));
    assert_int_equal(shmem_ctl_ops.read(hsh(&a), SHM_C_STATUS, 4), 1u << 16);
    assert_int_equal(db[100], 0);
    henv_fini(&b);
    henv_fini(&a);
    /* No temporary file is left behind. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    unsigned n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' &&
            (de->d_name[1] == 0 || strcmp(de->d_name, "..") == 0))
            continue;
        assert_true(strncmp(de->d_name, "qvm-shmem-", 10) == 0);
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
        n++;
    }
    closedir(d);
    assert_int_equal(n, 4);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_factory_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_two_vms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_limit_and_reclaim, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
        cmocka_unit_test(test_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * pl061.c: the PL061 GPIO register model (devices/pl061.h) and qvm's
 * aarch64 power button on it: realized by devices_realize on every
 * aarch64 VM with a GIC (pl061_power_realize), at PL061_PWR_BASE with
 * gic:PL061_PWR_INTID, described in the FDT with a gpio-keys KEY_POWER
 * key on PL061_PWR_PIN (arch/arm64/board.c). SIGTERM presses the key
 * (vm.c): the pin goes high, then low again 100 ms later on the I/O
 * thread's timer, as a button does (gpio-keys reports the press and the
 * release; QEMU's virt machine pulses its gpio-key the same way).
 *
 * Context: region ops on vCPU threads, the button on the main thread, the
 * release on the I/O thread; the device mutex serializes them.
 */
#include "devices/pl061.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "devices/dtimer.h"
#include "util/log.h"

#define TAG "gpio-power"

#define RELEASE_NS 100000000ull /* the key is held 100 ms */

void pl061_reset(struct pl061 *g)
{
    memset(g, 0, sizeof(*g));
}

static uint8_t levels(const struct pl061 *g)
{
    return (uint8_t)((g->out & g->dir) | (g->in & ~g->dir));
}

/* Level-sensitive pins follow their level; edges from `before`. */
static void detect(struct pl061 *g, uint8_t before)
{
    uint8_t now = levels(g), ch = before ^ now;
    uint8_t rise = ch & now, fall = ch & before;
    uint8_t edge = (uint8_t)((ch & g->ibe) | (rise & g->iev & ~g->ibe) |
                             (fall & ~g->iev & ~g->ibe));
    uint8_t lvl = (uint8_t)((now & g->iev) | (~now & ~g->iev));
    g->ris = (uint8_t)((g->ris & ~g->is) | (edge & ~g->is) | (lvl & g->is));
}

uint32_t pl061_read(const struct pl061 *g, uint32_t off)
{
    if (off < 0x400)
        return levels(g) & (off >> 2);
    if (off >= 0xfe0 && off < 0xff0)
        return PL061_PERIPH_ID >> (8 * ((off - 0xfe0) / 4)) & 0xffu;
    if (off >= 0xff0 && off < 0x1000)
        return PL061_CELL_ID >> (8 * ((off - 0xff0) / 4)) & 0xffu;
    switch (off) {
    case PL061_DIR:
        return g->dir;
    case PL061_IS:
        return g->is;
    case PL061_IBE:
        return g->ibe;
    case PL061_IEV:
        return g->iev;
    case PL061_IE:
        return g->ie;
    case PL061_RIS:
        return g->ris;
    case PL061_MIS:
        return g->ris & g->ie;
    case PL061_AFSEL:
        return g->afsel;
    default:
        return 0;
    }
}

void pl061_write(struct pl061 *g, uint32_t off, uint32_t val)
{
    uint8_t v = (uint8_t)val, before = levels(g);
    if (off < 0x400) {
        uint8_t mask = (uint8_t)(off >> 2 & g->dir); /* inputs: no effect */
        g->out = (uint8_t)((g->out & ~mask) | (v & mask));
        detect(g, before);
        return;
    }
    switch (off) {
    case PL061_DIR:
        g->dir = v;
        break;
    case PL061_IS:
        g->is = v;
        break;
    case PL061_IBE:
        g->ibe = v;
        break;
    case PL061_IEV:
        g->iev = v;
        break;
    case PL061_IE:
        g->ie = v;
        break;
    case PL061_IC:
        g->ris &= (uint8_t) ~(v & ~g->is);
        break;
    case PL061_AFSEL:
        g->afsel = v;
        break;
    default:
        return; /* RIS, MIS, IDs: read-only */
    }
    detect(g, before);
}

void pl061_set_input(struct pl061 *g, unsigned pin, bool level)
{
    if (pin > 7)
        return;
    uint8_t before = levels(g);
    g->in = (uint8_t)(level ? g->in | 1u << pin : g->in & ~(1u << pin));
    detect(g, before);
}

/* ---- the power button ---- */

struct pl061_dev {
    pthread_mutex_t lock;
    struct pl061 g;
    struct irq_line line;
    bool level;
    struct dtimer *release;
};

static void update_irq(struct pl061_dev *d)
{
    bool level = pl061_irq(&d->g);
    if (level != d->level)
        irq_line_set(&d->line, level);
    d->level = level;
}

static uint64_t gpio_read(void *opaque, uint64_t off, unsigned size)
{
    struct pl061_dev *d = opaque;
    (void)size;
    pthread_mutex_lock(&d->lock);
    uint32_t v = pl061_read(&d->g, (uint32_t)(off & ~3ull));
    pthread_mutex_unlock(&d->lock);
    return v >> (8 * (off % 4));
}

static void gpio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pl061_dev *d = opaque;
    (void)size;
    if (off % 4)
        return;
    pthread_mutex_lock(&d->lock);
    pl061_write(&d->g, (uint32_t)off, (uint32_t)val);
    update_irq(d);
    pthread_mutex_unlock(&d->lock);
}

static const struct region_ops gpio_ops = {gpio_read, gpio_write};

static void release(void *opaque)
{
    struct pl061_dev *d = opaque;
    pthread_mutex_lock(&d->lock);
    pl061_set_input(&d->g, PL061_PWR_PIN, false);
    update_irq(d);
    pthread_mutex_unlock(&d->lock);
}

bool pl061_power_button(void *state)
{
    struct pl061_dev *d = state;
    pthread_mutex_lock(&d->lock);
    pl061_set_input(&d->g, PL061_PWR_PIN, true);
    update_irq(d);
    bool listens = (d->g.ie >> PL061_PWR_PIN) & 1u;
    pthread_mutex_unlock(&d->lock);
    dtimer_arm(d->release, dtimer_now() + RELEASE_NS);
    return listens;
}

static void gpio_report(void *state, char *buf, size_t len)
{
    struct pl061_dev *d = state;
    pthread_mutex_lock(&d->lock);
    snprintf(buf, len, "in %#x dir %#x ie %#x ris %#x line %s", d->g.in,
             d->g.dir, d->g.ie, d->g.ris, d->level ? "high" : "low");
    pthread_mutex_unlock(&d->lock);
}

static void gpio_teardown(void *state)
{
    struct pl061_dev *d = state;
    dtimer_free(d->release);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int pl061_power_realize(const struct vm_spec *spec, const struct dev_ctx *ctx,
                        struct dev_list *out)
{
    int gic = -1;
    for (size_t i = 0; i < spec->vdevs.n && gic < 0; i++)
        if (strcmp(vdev_type_name(&spec->vdevs.v[i]), "gic") == 0)
            gic = (int)i;
    if (gic < 0)
        return 0; /* no interrupt controller: no button */
    struct pl061_dev *d = calloc(1, sizeof(*d));
    if (!d) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&d->lock, NULL);
    pl061_reset(&d->g);
    d->line = irq_line_none();
    struct dev_inst inst = {.name = PL061_DEV_NAME,
                            .state = d,
                            .teardown = gpio_teardown,
                            .report = gpio_report};
    const struct intr in = {.pic = gic, .line = PL061_PWR_INTID};
    if (ctx->irq_resolve(ctx->opaque, &in, -1, &d->line) < 0 ||
        !(d->release = dtimer_new(ctx->ev, release, d, ctx->timer_slack_ns))) {
        gpio_teardown(d);
        return -1;
    }
    int e = bus_map(ctx->mmio, PL061_DEV_NAME, PL061_PWR_BASE, PL061_SIZE,
                    &gpio_ops, d);
    struct dev_inst *slot = e < 0 ? NULL : VEC_PUSH(&out->v);
    if (!slot) {
        log_fatal(TAG, "cannot map the power button's PL061 at 0x%llx: %s",
                  (unsigned long long)PL061_PWR_BASE,
                  e < 0 ? strerror(-e) : "out of memory");
        gpio_teardown(d);
        return -1;
    }
    inst.desc = dev_desc_line(DEV_ROLE_GPIO_POWER, PL061_PWR_BASE, PL061_SIZE,
                              &d->line);
    *slot = inst;
    return 0;
}

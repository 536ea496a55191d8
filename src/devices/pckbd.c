/*
 * pckbd.c: the 8042 keyboard controller (`vdev pckeyboard`,
 * qvm-reference.md 4.9) as far as Linux's i8042 driver and QNX probe it:
 * data port at loc (0x60), status/command port at loc+4 (0x64).
 *
 * Controller commands: 0x20 read / 0x60 write the configuration byte,
 * 0xa7/0xa8 disable/enable aux, 0xa9 aux interface test (0x00), 0xaa self
 * test (0x55), 0xab keyboard interface test (0x00), 0xad/0xae disable/
 * enable the keyboard, 0xc0 input port, 0xd0/0xd1 read/write the output
 * port, 0xd2/0xd3 echo a byte as if from the keyboard/aux, 0xd4 send a byte
 * to the aux device (there is none: nothing answers, as on a PC without a
 * mouse), 0xf0-0xff pulse output lines. Pulsing the reset line (0xfe, any
 * 0xf0-0xfe with bit 0 clear) or clearing bit 0 of the output port resets
 * the guest: qvm logs "guest reset (8042)" and exits 0 (docs/exit-codes.md).
 * Keyboard commands (data port): 0xff reset (0xfa 0xaa), 0xf4/0xf5
 * enable/disable scanning, 0xf2 identify (0xfa 0xab 0x83), 0xee echo,
 * 0xed/0xf3/0xf0 with an argument, 0xf6 defaults; others ack (0xfa).
 * No keys are ever pressed. IRQ 1 (the first `intr`) is high while the
 * output buffer holds a keyboard byte and configuration bit 0 is set; it
 * drops on each data read and rises again for the next queued byte.
 *
 * Context: vCPU threads, under the device mutex.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "util/log.h"

#define TAG "pckeyboard"

#define ST_OBF  0x01
#define ST_SYS  0x04
#define ST_CMD  0x08
#define ST_UNLK 0x10
#define ST_AUXB 0x20

#define CFG_KBD_INT 0x01
#define CFG_AUX_INT 0x02
#define CFG_SYS     0x04
#define CFG_KBD_DIS 0x10
#define CFG_AUX_DIS 0x20
#define CFG_XLATE   0x40
#define OUT_Q       16

struct kbd {
    pthread_mutex_t lock;
    const struct dev_ctx *ctx;
    bool has_irq, irq_level;
    struct irq_line line;
    uint8_t q[OUT_Q], qaux[OUT_Q]; /* output bytes, 1 = from aux */
    unsigned qh, qn;
    uint8_t cfg, outport, status_cmd;
    uint8_t pending_ctl; /* controller command awaiting a data byte */
    uint8_t pending_kbd; /* keyboard command awaiting an argument */
    bool scanning;
};

static void push(struct kbd *k, uint8_t v, bool aux)
{
    if (k->qn >= OUT_Q)
        return;
    unsigned i = (k->qh + k->qn) % OUT_Q;
    k->q[i] = v;
    k->qaux[i] = aux;
    k->qn++;
}

static void update_irq(struct kbd *k)
{
    bool level = k->qn && !k->qaux[k->qh] && k->cfg & CFG_KBD_INT;
    if (k->has_irq && level != k->irq_level)
        irq_line_set(&k->line, level);
    k->irq_level = level;
}

static void reset_guest(struct kbd *k)
{
    log_info(TAG, "guest reset (8042)");
    k->ctx->stop(k->ctx->opaque, STOP_RESET);
}

static void kbd_command(struct kbd *k, uint8_t v)
{
    if (k->pending_kbd) {
        uint8_t c = k->pending_kbd;
        k->pending_kbd = 0;
        push(k, 0xfa, false);
        if (c == 0xf0 && v == 0)
            push(k, k->cfg & CFG_XLATE ? 0x41 : 0x02, false);
        return;
    }
    switch (v) {
    case 0xff: /* reset and self test */
        k->scanning = true;
        push(k, 0xfa, false);
        push(k, 0xaa, false);
        break;
    case 0xf4:
        k->scanning = true;
        push(k, 0xfa, false);
        break;
    case 0xf5:
        k->scanning = false;
        push(k, 0xfa, false);
        break;
    case 0xf6:
        push(k, 0xfa, false);
        break;
    case 0xf2:
        push(k, 0xfa, false);
        push(k, 0xab, false);
        push(k, 0x83, false);
        break;
    case 0xee:
        push(k, 0xee, false);
        break;
    case 0xed:
    case 0xf3:
    case 0xf0:
        k->pending_kbd = v;
        push(k, 0xfa, false);
        break;
    default:
        push(k, 0xfa, false);
        break;
    }
}

static void data_write(struct kbd *k, uint8_t v)
{
    uint8_t c = k->pending_ctl;
    k->pending_ctl = 0;
    switch (c) {
    case 0x60:
        k->cfg = v;
        break;
    case 0xd1:
        k->outport = v;
        if (!(v & 1))
            reset_guest(k);
        break;
    case 0xd2:
        push(k, v, false);
        break;
    case 0xd3:
        push(k, v, true);
        break;
    case 0xd4:
        break; /* no aux device answers */
    default:
        if (c >= 0x61 && c <= 0x7f)
            break;                       /* write to controller RAM: ignored */
        k->cfg &= (uint8_t)~CFG_KBD_DIS; /* writing to the kbd enables it */
        kbd_command(k, v);
        break;
    }
}

static void ctl_command(struct kbd *k, uint8_t v)
{
    switch (v) {
    case 0x20:
        push(k, k->cfg, false);
        break;
    case 0x60:
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xd4:
        k->pending_ctl = v;
        break;
    case 0xa7:
        k->cfg |= CFG_AUX_DIS;
        break;
    case 0xa8:
        k->cfg &= (uint8_t)~CFG_AUX_DIS;
        break;
    case 0xa9:
    case 0xab:
        push(k, 0x00, false);
        break;
    case 0xaa:
        k->cfg |= CFG_SYS;
        push(k, 0x55, false);
        break;
    case 0xad:
        k->cfg |= CFG_KBD_DIS;
        break;
    case 0xae:
        k->cfg &= (uint8_t)~CFG_KBD_DIS;
        break;
    case 0xc0:
        push(k, 0xa0, false); /* keyboard not inhibited, colour */
        break;
    case 0xd0:
        push(k, k->outport, false);
        break;
    default:
        if (v >= 0x21 && v <= 0x3f) {
            push(k, 0, false); /* controller RAM */
        } else if (v >= 0xf0 && !(v & 1)) {
            reset_guest(k);
        }
        break;
    }
}

static uint64_t kbd_read(struct kbd *k, bool status)
{
    uint8_t v;
    pthread_mutex_lock(&k->lock);
    if (status) {
        v = (uint8_t)(ST_UNLK | (k->cfg & CFG_SYS ? ST_SYS : 0) |
                      k->status_cmd);
        if (k->qn)
            v |= ST_OBF | (k->qaux[k->qh] ? ST_AUXB : 0);
    } else if (k->qn) {
        v = k->q[k->qh];
        k->qh = (k->qh + 1) % OUT_Q;
        k->qn--;
        /* The next byte loads into the output buffer as a new interrupt:
         * pulse the line so an edge-triggered IRQ 1 sees it (Linux takes
         * one byte per interrupt). */
        if (k->irq_level && k->has_irq)
            irq_line_set(&k->line, false);
        k->irq_level = false;
    } else {
        v = k->q[(k->qh + OUT_Q - 1) % OUT_Q]; /* the last byte again */
    }
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return v;
}

static void kbd_write(struct kbd *k, bool command, uint64_t val)
{
    pthread_mutex_lock(&k->lock);
    if (command) {
        k->status_cmd = ST_CMD;
        ctl_command(k, (uint8_t)val);
    } else {
        k->status_cmd = 0;
        data_write(k, (uint8_t)val);
    }
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
}

/* Two one-byte regions: data (loc) and status/command (loc + 4). */
static uint64_t data_rd(void *opaque, uint64_t off, unsigned size)
{
    (void)off, (void)size;
    return kbd_read(opaque, false);
}

static void data_wr(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)off, (void)size;
    kbd_write(opaque, false, val);
}

static uint64_t cmd_rd(void *opaque, uint64_t off, unsigned size)
{
    (void)off, (void)size;
    return kbd_read(opaque, true);
}

static void cmd_wr(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)off, (void)size;
    kbd_write(opaque, true, val);
}

static const struct region_ops data_ops = {data_rd, data_wr};
static const struct region_ops cmd_ops = {cmd_rd, cmd_wr};

static void kbd_teardown(void *state)
{
    struct kbd *k = state;
    pthread_mutex_destroy(&k->lock);
    free(k);
}

int pckbd_realize(const struct vdev_spec *vd, const struct dev_ctx *ctx,
                  struct dev_inst *inst)
{
    struct kbd *k = calloc(1, sizeof(*k));
    if (!k) {
        log_fatal(TAG, "out of memory");
        return -1;
    }
    pthread_mutex_init(&k->lock, NULL);
    k->ctx = ctx;
    k->cfg = CFG_KBD_INT | CFG_SYS | CFG_XLATE | CFG_AUX_DIS;
    k->outport = 0x03; /* reset line high, A20 on */
    k->scanning = true;
    inst->state = k;
    inst->teardown = kbd_teardown;
    uint64_t base = vd->has_loc ? vd->loc.base : 0x60;
    if (vd->intrs.n) {
        if (ctx->irq_resolve(ctx->opaque, &vd->intrs.v[0], -1, &k->line) < 0) {
            kbd_teardown(k);
            return -1;
        }
        k->has_irq = true;
    }
    if (vd->has_loc && vd->loc.space != SPACE_IO) {
        log_fatal(TAG, "only io: locations are supported for pckeyboard");
        kbd_teardown(k);
        return -1;
    }
    inst->desc =
        dev_desc_line(DEV_ROLE_KBC, base, 5, k->has_irq ? &k->line : NULL);
    int e = bus_map(ctx->pio, "8042 data", base, 1, &data_ops, k);
    if (e >= 0) {
        e = bus_map(ctx->pio, "8042 status/command", base + 4, 1, &cmd_ops, k);
        if (e < 0)
            bus_unmap(ctx->pio, base);
    }
    if (e < 0) {
        log_fatal(TAG, "cannot map the 8042 at io 0x%llx/0x%llx: %s",
                  (unsigned long long)base, (unsigned long long)base + 4,
                  strerror(-e));
        kbd_teardown(k);
        return -1;
    }
    return 0;
}

/*
 * fdt.c: the aarch64 VM's flattened device tree (arch/arm64/fdt.h), with
 * libfdt's sequential writer, then overlays and the dump file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arm64/fdt.h"
#include "util/log.h"

#define TAG "fdt"

/* GIC interrupt specifier cells: type, number, flags. */
#define GIC_SPI       0
#define GIC_PPI       1
#define IRQ_EDGE_RISE 1
#define IRQ_LEVEL_HI  4

/* libfdt calls return >= 0 or -FDT_ERR_*: pass the first error up. */
#define TRY(x)                                                                 \
    do {                                                                       \
        int r_ = (x);                                                          \
        if (r_ < 0)                                                            \
            return r_;                                                         \
    } while (0)

#define SYM_MAX 128

/* The labels written to __symbols__ at the end of `/`. */
struct syms {
    char name[SYM_MAX][24];
    char path[SYM_MAX][48];
    unsigned n;
    uint32_t next_phandle; /* a labelled node needs one (overlay fixups) */
};

static void sym_add(struct syms *s, const char *name, const char *path)
{
    if (s->n == SYM_MAX)
        return;
    snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
    snprintf(s->path[s->n], sizeof(s->path[0]), "%s", path);
    s->n++;
}

static int prop_reg(void *f, uint64_t base, uint64_t size)
{
    fdt64_t r[2] = {cpu_to_fdt64(base), cpu_to_fdt64(size)};
    return fdt_property(f, "reg", r, sizeof(r));
}

static int prop_cells(void *f, const char *name, const uint32_t *v, size_t n)
{
    fdt32_t c[16];
    if (n > 16)
        return -FDT_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++)
        c[i] = cpu_to_fdt32(v[i]);
    return fdt_property(f, name, c, (int)(n * sizeof(c[0])));
}

static int begin_unit(void *f, char *path, size_t plen, const char *name,
                      uint64_t base)
{
    snprintf(path, plen, "/%s@%llx", name, (unsigned long long)base);
    return fdt_begin_node(f, path + 1);
}

/* An SPI device's `interrupts`. */
static int prop_spi(void *f, const struct arm64_dev *d)
{
    if (!d->intid)
        return 0;
    uint32_t c[3] = {GIC_SPI, d->intid - 32,
                     d->edge ? IRQ_EDGE_RISE : IRQ_LEVEL_HI};
    return prop_cells(f, "interrupts", c, 3);
}

static int prop_apb_clock(void *f, bool uart)
{
    uint32_t clk[2] = {ARM64_FDT_PHANDLE_CLK, ARM64_FDT_PHANDLE_CLK};
    if (uart) {
        TRY(prop_cells(f, "clocks", clk, 2));
        return fdt_property(f, "clock-names", "uartclk\0apb_pclk", 17);
    }
    TRY(prop_cells(f, "clocks", clk, 1));
    return fdt_property(f, "clock-names", "apb_pclk", 9);
}

static int node_cpus(void *f, const struct arm64_board *b)
{
    bool aff3 = false;
    for (unsigned i = 0; i < b->ncpus; i++)
        aff3 |= (b->mpidr[i] >> 32 & 0xff) != 0;
    TRY(fdt_begin_node(f, "cpus"));
    TRY(fdt_property_u32(f, "#address-cells", aff3 ? 2 : 1));
    TRY(fdt_property_u32(f, "#size-cells", 0));
    for (unsigned i = 0; i < b->ncpus; i++) {
        uint64_t id = b->mpidr[i] & 0xff00ffffffull; /* the Aff fields */
        char name[32];
        snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)id);
        TRY(fdt_begin_node(f, name));
        TRY(fdt_property_string(f, "device_type", "cpu"));
        TRY(fdt_property_string(f, "compatible", "arm,armv8"));
        TRY(fdt_property_string(f, "enable-method", "psci"));
        if (aff3)
            TRY(fdt_property_u64(f, "reg", id));
        else
            TRY(fdt_property_u32(f, "reg", (uint32_t)id));
        TRY(fdt_end_node(f));
    }
    return fdt_end_node(f);
}

static int node_gic(void *f, const struct arm64_board *b, struct syms *s)
{
    char path[48];
    TRY(begin_unit(f, path, sizeof(path), "intc", b->gicd_base));
    sym_add(s, "gic", path);
    if (b->gic_version == 3)
        TRY(fdt_property_string(f, "compatible", "arm,gic-v3"));
    else
        TRY(fdt_property_string(f, "compatible", "arm,cortex-a15-gic"));
    TRY(fdt_property_u32(f, "#interrupt-cells", 3));
    TRY(fdt_property(f, "interrupt-controller", NULL, 0));
    fdt64_t r[4] = {cpu_to_fdt64(b->gicd_base), cpu_to_fdt64(b->gicd_size),
                    cpu_to_fdt64(b->gicr_base), cpu_to_fdt64(b->gicr_size)};
    TRY(fdt_property(f, "reg", r, sizeof(r)));
    TRY(fdt_property_u32(f, "phandle", ARM64_FDT_PHANDLE_GIC));
    return fdt_end_node(f);
}

static int node_timer(void *f, const struct arm64_board *b)
{
    /* GICv2's PPI specifiers carry the mask of the CPUs they reach. */
    uint32_t flags = IRQ_LEVEL_HI;
    if (b->gic_version == 2)
        flags |= ((1u << b->ncpus) - 1) << 8;
    uint32_t c[12];
    for (unsigned i = 0; i < 4; i++) {
        c[3 * i] = GIC_PPI;
        c[3 * i + 1] = b->timer_ppi[i] - 16;
        c[3 * i + 2] = flags;
    }
    TRY(fdt_begin_node(f, "timer"));
    TRY(fdt_property_string(f, "compatible", "arm,armv8-timer"));
    TRY(prop_cells(f, "interrupts", c, 12));
    TRY(fdt_property(f, "always-on", NULL, 0));
    return fdt_end_node(f);
}

static int node_clock(void *f, const struct arm64_board *b, struct syms *s)
{
    sym_add(s, "apb_pclk", "/apb-pclk");
    TRY(fdt_begin_node(f, "apb-pclk"));
    TRY(fdt_property_string(f, "compatible", "fixed-clock"));
    TRY(fdt_property_u32(f, "#clock-cells", 0));
    TRY(fdt_property_u32(f, "clock-frequency",
                         b->uart_clock_hz ? b->uart_clock_hz : 24000000));
    TRY(fdt_property_string(f, "clock-output-names", "clk24mhz"));
    TRY(fdt_property_u32(f, "phandle", ARM64_FDT_PHANDLE_CLK));
    return fdt_end_node(f);
}

static int node_dev(void *f, const char *name, const char *compat,
                    size_t compat_len, const struct arm64_dev *d, char *path,
                    size_t plen)
{
    TRY(begin_unit(f, path, plen, name, d->base));
    TRY(fdt_property(f, "compatible", compat, (int)compat_len));
    TRY(prop_reg(f, d->base, d->size));
    return prop_spi(f, d);
}

/* The power button as QEMU's virt machine describes it: a PL061 and a
 * gpio-keys KEY_POWER key on one of its pins. */
static int node_gpio_power(void *f, const struct arm64_board *b, struct syms *s)
{
    static const char c[] = "arm,pl061\0arm,primecell";
    char path[48];
    uint32_t ph = s->next_phandle++;
    TRY(node_dev(f, "pl061", c, sizeof(c), &b->gpio_power, path, sizeof(path)));
    TRY(fdt_property(f, "gpio-controller", NULL, 0));
    TRY(fdt_property_u32(f, "#gpio-cells", 2));
    TRY(prop_apb_clock(f, false));
    TRY(fdt_property_u32(f, "phandle", ph));
    TRY(fdt_end_node(f));
    sym_add(s, "gpio_power", path);
    TRY(fdt_begin_node(f, "gpio-keys"));
    TRY(fdt_property_string(f, "compatible", "gpio-keys"));
    TRY(fdt_begin_node(f, "poweroff"));
    TRY(fdt_property_string(f, "label", "GPIO Key Poweroff"));
    TRY(fdt_property_u32(f, "linux,code", ARM64_FDT_KEY_POWER));
    uint32_t g[3] = {ph, b->power_pin, 0}; /* active high */
    TRY(prop_cells(f, "gpios", g, 3));
    TRY(fdt_end_node(f));
    return fdt_end_node(f);
}

static int node_chosen(void *f, const struct arm64_board *b,
                       const char *stdout_path)
{
    TRY(fdt_begin_node(f, "chosen"));
    if (b->bootargs)
        TRY(fdt_property_string(f, "bootargs", b->bootargs));
    if (stdout_path)
        TRY(fdt_property_string(f, "stdout-path", stdout_path));
    if (b->has_initrd) {
        TRY(fdt_property_u64(f, "linux,initrd-start", b->initrd_start));
        TRY(fdt_property_u64(f, "linux,initrd-end", b->initrd_end));
    }
    return fdt_end_node(f);
}

static int build(const struct arm64_board *b, void *f, size_t len,
                 struct syms *s)
{
    char path[48], stdout_path[48] = "";
    s->next_phandle = ARM64_FDT_PHANDLE_CLK + 1;
    TRY(fdt_create(f, (int)len));
    TRY(fdt_finish_reservemap(f));
    TRY(fdt_begin_node(f, ""));
    TRY(fdt_property_u32(f, "#address-cells", 2));
    TRY(fdt_property_u32(f, "#size-cells", 2));
    TRY(fdt_property_string(f, "compatible", "linux,dummy-virt"));
    TRY(fdt_property_string(f, "model", "qvm"));
    TRY(fdt_property_u32(f, "interrupt-parent", ARM64_FDT_PHANDLE_GIC));

    TRY(fdt_begin_node(f, "psci"));
    TRY(fdt_property_string(f, "compatible", "arm,psci-0.2"));
    TRY(fdt_property_string(f, "method", "hvc"));
    TRY(fdt_end_node(f));
    TRY(node_cpus(f, b));
    for (unsigned i = 0; i < b->nmem; i++) {
        TRY(begin_unit(f, path, sizeof(path), "memory", b->mem[i].base));
        TRY(fdt_property_string(f, "device_type", "memory"));
        TRY(prop_reg(f, b->mem[i].base, b->mem[i].size));
        TRY(fdt_end_node(f));
    }
    TRY(node_gic(f, b, s));
    TRY(node_timer(f, b));
    TRY(node_clock(f, b, s));
    for (unsigned i = 0; i < b->npl011; i++) {
        static const char c[] = "arm,pl011\0arm,primecell";
        TRY(node_dev(f, "pl011", c, sizeof(c), &b->pl011[i], path,
                     sizeof(path)));
        TRY(prop_apb_clock(f, true));
        TRY(fdt_property_u32(f, "phandle", s->next_phandle++));
        TRY(fdt_end_node(f));
        char label[24];
        snprintf(label, sizeof(label), "uart%u", i);
        sym_add(s, label, path);
        if (i == 0)
            memcpy(stdout_path, path, sizeof(path));
    }
    for (unsigned i = 0; i < b->nvmmio; i++) {
        static const char c[] = "virtio,mmio";
        TRY(node_dev(f, "virtio_mmio", c, sizeof(c), &b->vmmio[i], path,
                     sizeof(path)));
        TRY(fdt_property(f, "dma-coherent", NULL, 0));
        TRY(fdt_property_u32(f, "phandle", s->next_phandle++));
        TRY(fdt_end_node(f));
        char label[24];
        snprintf(label, sizeof(label), "virtio%u", i);
        sym_add(s, label, path);
    }
    for (unsigned i = 0; i < b->nshmem; i++) {
        /* docs/shmem.md: the factory page, then the region window. */
        const struct arm64_shmem *sh = &b->shmem[i];
        static const char c[] = "qnx,qvm-shmem";
        TRY(begin_unit(f, path, sizeof(path), "shmem", sh->dev.base));
        TRY(fdt_property(f, "compatible", c, sizeof(c)));
        fdt64_t r[4] = {cpu_to_fdt64(sh->dev.base), cpu_to_fdt64(sh->dev.size),
                        cpu_to_fdt64(sh->win_base), cpu_to_fdt64(sh->win_size)};
        TRY(fdt_property(f, "reg", r, sizeof(r)));
        TRY(prop_spi(f, &sh->dev));
        TRY(fdt_end_node(f));
    }
    for (unsigned i = 0; i < b->nother; i++) {
        const struct arm64_other *o = &b->other[i];
        uint32_t clk = 0;
        if (o->clock_hz) {
            char name[64];
            snprintf(name, sizeof(name), "%s-clk-%llx", o->name,
                     (unsigned long long)o->dev.base);
            clk = s->next_phandle++;
            TRY(fdt_begin_node(f, name));
            TRY(fdt_property_string(f, "compatible", "fixed-clock"));
            TRY(fdt_property_u32(f, "#clock-cells", 0));
            TRY(fdt_property_u32(f, "clock-frequency", o->clock_hz));
            TRY(fdt_property_u32(f, "phandle", clk));
            TRY(fdt_end_node(f));
        }
        TRY(node_dev(f, o->name, o->compat, o->compat_len, &o->dev, path,
                     sizeof(path)));
        if (clk && o->primecell) {
            uint32_t c[2] = {clk, ARM64_FDT_PHANDLE_CLK};
            TRY(prop_cells(f, "clocks", c, 2));
            TRY(fdt_property(f, "clock-names", "wdog_clk\0apb_pclk", 18));
        } else if (clk) {
            TRY(prop_cells(f, "clocks", &clk, 1));
        } else if (o->primecell) {
            TRY(prop_apb_clock(f, false));
        }
        TRY(fdt_end_node(f));
    }
    if (b->has_gpio_power)
        TRY(node_gpio_power(f, b, s));
    TRY(node_chosen(f, b, b->npl011 ? stdout_path : NULL));
    TRY(fdt_begin_node(f, "__symbols__"));
    for (unsigned i = 0; i < s->n; i++)
        TRY(fdt_property_string(f, s->name[i], s->path[i]));
    TRY(fdt_end_node(f));
    TRY(fdt_end_node(f));
    /* fdt_finish leaves the blob compact: totalsize is what it holds. */
    return fdt_finish(f);
}

static bool spi_ok(const struct arm64_dev *d, const char *what)
{
    if (!d->intid || (d->intid >= 32 && d->intid <= 1019))
        return true;
    log_error(TAG, "%s at 0x%llx: interrupt %u is not a GIC SPI (32-1019)",
              what, (unsigned long long)d->base, d->intid);
    return false;
}

static bool board_ok(const struct arm64_board *b)
{
    if (b->gic_version != 2 && b->gic_version != 3) {
        log_error(TAG, "GIC version %u: the FDT describes versions 2 and 3",
                  b->gic_version);
        return false;
    }
    unsigned maxc = b->gic_version == 2 ? 8 : ARM64_BOARD_MAX_CPUS;
    if (!b->ncpus || b->ncpus > maxc) {
        log_error(TAG, "%u CPUs: GICv%u takes 1 to %u", b->ncpus,
                  b->gic_version, maxc);
        return false;
    }
    for (unsigned i = 0; i < 4; i++)
        if (b->timer_ppi[i] < 16 || b->timer_ppi[i] > 31) {
            log_error(TAG, "timer interrupt %u is not a PPI (16-31)",
                      b->timer_ppi[i]);
            return false;
        }
    if (b->nmem > ARM64_BOARD_MAX_MEM || b->npl011 > ARM64_BOARD_MAX_UARTS ||
        b->nvmmio > ARM64_BOARD_MAX_VMMIO ||
        b->nother > ARM64_BOARD_MAX_OTHER || b->nshmem > ARM64_BOARD_MAX_SHMEM)
        return false;
    for (unsigned i = 0; i < b->npl011; i++)
        if (!spi_ok(&b->pl011[i], "pl011"))
            return false;
    for (unsigned i = 0; i < b->nvmmio; i++)
        if (!spi_ok(&b->vmmio[i], "virtio-mmio"))
            return false;
    for (unsigned i = 0; i < b->nshmem; i++)
        if (!spi_ok(&b->shmem[i].dev, "shmem"))
            return false;
    if (b->has_gpio_power &&
        (!spi_ok(&b->gpio_power, "pl061") || b->power_pin > 7))
        return false;
    for (unsigned i = 0; i < b->nother; i++) {
        const struct arm64_other *o = &b->other[i];
        if (!o->name || !o->compat || !o->compat_len ||
            o->compat[o->compat_len - 1] != '\0' || !spi_ok(&o->dev, o->name))
            return false;
    }
    if (b->has_initrd && b->initrd_end < b->initrd_start) {
        log_error(TAG, "the initrd ends before it starts");
        return false;
    }
    return true;
}

int arm64_fdt_build(const struct arm64_board *b, void *buf, size_t len)
{
    if (!board_ok(b))
        return -EINVAL;
    if (len > ARM64_FDT_MAX_SIZE)
        len = ARM64_FDT_MAX_SIZE;
    struct syms *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int r = build(b, buf, len, s);
    free(s);
    if (r == -FDT_ERR_NOSPACE) {
        log_error(TAG, "the device tree does not fit in %zu bytes", len);
        return -ENOSPC;
    }
    if (r < 0) {
        log_error(TAG, "building the device tree: %s", fdt_strerror(r));
        return -EINVAL;
    }
    return 0;
}

/* The labels of qvm's tree (its __symbols__), for a message. */
static void list_labels(const void *base, char *out, size_t n)
{
    int sym = fdt_path_offset(base, "/__symbols__"), prop;
    size_t at = 0;
    out[0] = '\0';
    if (sym < 0)
        return;
    fdt_for_each_property_offset(prop, base, sym)
    {
        const char *name;
        if (!fdt_getprop_by_offset(base, prop, &name, NULL))
            continue;
        int k = snprintf(out + at, n - at, "%s%s", at ? " " : "", name);
        if (k < 0 || (size_t)k >= n - at)
            return;
        at += (size_t)k;
    }
}

/* The fragment named by a fixup location "/FRAGMENT[/...]:prop:offset". */
static void fixup_fragment(const char *loc, size_t loc_len, char *frag,
                           size_t n)
{
    size_t i = loc_len && loc[0] == '/' ? 1 : 0, k = 0;
    while (i < loc_len && loc[i] != '/' && loc[i] != ':' && k + 1 < n)
        frag[k++] = loc[i++];
    frag[k] = '\0';
}

/*
 * Why libfdt refused an overlay, in the user's terms: a fragment whose
 * target (a label, a phandle or a path) or whose reference to a label is
 * not in qvm's tree, or a fragment without __overlay__ or target. Returns
 * true when it found and logged a reason.
 */
static bool overlay_explain(const void *base, const void *ovl, const char *what)
{
    char labels[512];
    list_labels(base, labels, sizeof(labels));
    int fix = fdt_path_offset(ovl, "/__fixups__"), prop;
    if (fix >= 0) {
        fdt_for_each_property_offset(prop, ovl, fix)
        {
            const char *label;
            int vlen;
            const char *v = fdt_getprop_by_offset(ovl, prop, &label, &vlen);
            int sym = fdt_path_offset(base, "/__symbols__");
            if (!v || (sym >= 0 && fdt_getprop(base, sym, label, NULL)))
                continue;
            /* v: NUL-separated "/fragment@0:target:0" or
             * "/fragment@1/__overlay__/node:prop:0". */
            const char *colon = memchr(v, ':', strnlen(v, (size_t)vlen));
            size_t plen =
                colon ? (size_t)(colon - v) : strnlen(v, (size_t)vlen);
            char frag[64];
            fixup_fragment(v, plen, frag, sizeof(frag));
            if (colon && strncmp(colon, ":target:", 8) == 0)
                log_error(TAG,
                          "%s: fragment %s: target &%s: no such label in "
                          "qvm's device tree (its labels: %s)",
                          what, frag, label, labels);
            else
                log_error(TAG,
                          "%s: fragment %s: %.*s%s%.*s refers to &%s: no "
                          "such label in qvm's device tree (its labels: %s)",
                          what, frag, (int)plen, v, colon ? ", property " : "",
                          colon ? (int)strcspn(colon + 1, ":") : 0,
                          colon ? colon + 1 : "", label, labels);
            return true;
        }
    }
    int frag;
    fdt_for_each_subnode(frag, ovl, 0)
    {
        const char *name = fdt_get_name(ovl, frag, NULL);
        /* libfdt skips the nodes without __overlay__ (__fixups__ ...). */
        if (!name || fdt_subnode_offset(ovl, frag, "__overlay__") < 0)
            continue;
        const char *tpath = fdt_getprop(ovl, frag, "target-path", NULL);
        int tlen;
        const fdt32_t *t = fdt_getprop(ovl, frag, "target", &tlen);
        if (tpath && fdt_path_offset(base, tpath) < 0) {
            log_error(TAG,
                      "%s: fragment %s: target-path '%s' is not in qvm's "
                      "device tree",
                      what, name, tpath);
            return true;
        }
        if (!tpath && t && tlen == 4 &&
            fdt_node_offset_by_phandle(base, fdt32_to_cpu(*t)) < 0) {
            log_error(TAG,
                      "%s: fragment %s: target phandle %u is not in qvm's "
                      "device tree",
                      what, name, fdt32_to_cpu(*t));
            return true;
        }
        if (!tpath && (!t || tlen != 4)) {
            log_error(TAG, "%s: fragment %s has no target or target-path", what,
                      name);
            return true;
        }
    }
    return false;
}

int arm64_fdt_overlay(void *buf, size_t len, const void *ovl, size_t ovl_len,
                      const char *what)
{
    if (ovl_len < sizeof(struct fdt_header) || fdt_check_header(ovl) != 0 ||
        fdt_totalsize(ovl) > ovl_len || fdt_check_full(ovl, ovl_len) != 0) {
        log_error(TAG, "%s: not a flattened device tree", what);
        return -EINVAL;
    }
    /* A whole tree (QNX 7's `fdt load`) has no fragment: libfdt would
     * apply nothing. */
    int frag, nfrag = 0;
    fdt_for_each_subnode(frag, ovl, 0)
    {
        nfrag += fdt_subnode_offset(ovl, frag, "__overlay__") >= 0;
    }
    if (nfrag == 0) {
        log_error(TAG,
                  "%s: not an overlay (no fragment with an __overlay__ "
                  "node): qvm builds the device tree and applies overlays "
                  "to it; compile the file with /plugin/ (dtc -@)",
                  what);
        return -EINVAL;
    }
    /* libfdt changes the overlay and, on failure, spoils the base: work
     * on copies. */
    void *base = malloc(len), *o = malloc(fdt_totalsize(ovl));
    int r = -FDT_ERR_INTERNAL;
    if (base && o) {
        memcpy(o, ovl, fdt_totalsize(ovl));
        r = fdt_open_into(buf, base, (int)len);
        if (r == 0)
            r = fdt_overlay_apply(base, o);
        if (r == 0)
            r = fdt_pack(base);
        if (r == 0)
            memcpy(buf, base, fdt_totalsize(base));
    }
    free(base);
    free(o);
    if (r == -FDT_ERR_NOSPACE) {
        log_error(TAG,
                  "%s: the device tree with the overlay does not fit "
                  "in %zu bytes",
                  what, len);
        return -ENOSPC;
    }
    if (r < 0) {
        if (!overlay_explain(buf, ovl, what))
            log_error(TAG, "%s: cannot apply the overlay: %s", what,
                      fdt_strerror(r));
        return -EINVAL;
    }
    return 0;
}

int arm64_fdt_overlay_file(void *buf, size_t len, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        log_error(TAG, "fdt load %s: %s", path, strerror(e));
        if (fd >= 0)
            close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)ARM64_FDT_MAX_SIZE) {
        log_error(TAG, "fdt load %s: not a regular file of at most %u bytes",
                  path, ARM64_FDT_MAX_SIZE);
        close(fd);
        return -EINVAL;
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *ovl = malloc(n ? n : 1);
    while (ovl && got < n) {
        ssize_t k = read(fd, ovl + got, n - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    int r = -ENOMEM;
    if (ovl && got != n) {
        log_error(TAG, "fdt load %s: short read", path);
        r = -EIO;
    } else if (ovl) {
        r = arm64_fdt_overlay(buf, len, ovl, n, path);
    }
    free(ovl);
    return r;
}

int arm64_fdt_dump(const void *fdt, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t n = fdt_totalsize(fdt), done = 0;
    while (fd >= 0 && done < n) {
        ssize_t k = write(fd, (const char *)fdt + done, n - done);
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    int e = done == n ? 0 : errno ? errno : EIO;
    if (fd >= 0 && close(fd) < 0 && !e)
        e = errno;
    if (e) {
        log_error(TAG, "set fdt-dump-file %s: %s", path, strerror(e));
        return -e;
    }
    return 0;
}

/*
 * dryrun.c: the assembled platform as text and as JSON.
 * Both formats are documented in docs/dryrun.md and checked by the golden
 * tests (tests/configs/good/ *.out and *.json); change them together.
 */
#include <inttypes.h>
#include <string.h>

#include "config/front.h"
#include "config/platform.h"
#include "config/schema.h"
#include "loader/sniff.h"
#include "util/num.h"

static const char *space_name(enum space s)
{
    return s == SPACE_MEM ? "mem" : s == SPACE_IO ? "io" : "pci";
}

static void span_txt(struct strbuf *o, const struct src_span *sp)
{
    if (sp->file)
        sb_printf(o, "%s:%u", sp->file, sp->line);
    else
        sb_puts(o, "qvm");
}

static void intr_txt(struct strbuf *o, const struct vm_spec *s,
                     const struct intr *it)
{
    if (it->pic == -1)
        sb_puts(o, "apic");
    else
        sb_printf(o, "%s:%u", spec_pic_label(s, it->pic), it->line);
    if (it->has_host)
        sb_printf(o, "=%u", it->host_vector);
    if (it->src == INTR_SRC_UIO)
        sb_printf(o, "=uio:%s", it->src_path);
    else if (it->src == INTR_SRC_FD)
        sb_printf(o, "=fd:%d", it->src_fd);
}

static void loc_txt(struct strbuf *o, const struct loc *l)
{
    if (l->space == SPACE_PCI) {
        sb_printf(o, "pci:%u:%u.%u", l->bdf.bus, l->bdf.dev, l->bdf.fn);
        if (l->has_host && l->host_is_bdf)
            sb_printf(o, "=pci:%u:%u.%u", l->host_bdf.bus, l->host_bdf.dev,
                      l->host_bdf.fn);
        else if (l->by_id)
            sb_printf(o, "=pci:%04x/%04x", l->vid, l->did);
        if (l->by_id && l->idx)
            sb_printf(o, "/%u", l->idx);
        return;
    }
    sb_printf(o, "%s:0x%" PRIx64, space_name(l->space), l->base);
    if (l->size > 1 || l->space == SPACE_MEM) {
        char sz[32];
        size_str(l->size, sz, sizeof(sz));
        sb_printf(o, ",%s", sz);
    }
    if (l->attrs[0])
        sb_printf(o, ",%s", l->attrs);
    if (l->has_host)
        sb_printf(o, "=0x%" PRIx64, l->host_base);
}

static const char *hostdev_kind(const struct hostdev *h)
{
    static const char *const k[] = {"stdio", "path", "pipe",
                                    "pty",   "tap",  "peer"};
    return k[h->kind];
}

static const char *hostdev_dir(const struct hostdev *h)
{
    return h->dir == HOSTDEV_IN    ? "in"
           : h->dir == HOSTDEV_OUT ? "out"
                                   : "in+out";
}

static void sched_txt(struct strbuf *o, const struct sched_spec *sc)
{
    static const char pol[] = {'-', 'r', 'f', 'o', 's'};
    if (sc->policy == SCHED_P_DEFAULT)
        sb_puts(o, "inherit");
    else if (sc->policy == SCHED_P_SPORADIC)
        sb_printf(o, "sporadic %u,%u,%u,%" PRIu64 ",%" PRIu64, sc->prio,
                  sc->lo_prio, sc->max_repl, sc->repl_period_ns,
                  sc->init_budget_ns);
    else
        sb_printf(o, "%u%c", sc->prio, pol[sc->policy]);
}

static void mask_txt(struct strbuf *o, const uint64_t m[4])
{
    bool first = true;
    for (unsigned c = 0; c < 256; c++) {
        if (m[c / 64] & (1ULL << (c % 64))) {
            sb_printf(o, "%s%u", first ? "" : ",", c);
            first = false;
        }
    }
}

static const char *peer_mapping(const char *peer, char *buf, size_t len)
{
    if (strncmp(peer, "/dev/vdevpeers/", 15) == 0)
        snprintf(buf, len, "tap interface %s", peer + 15);
    else
        snprintf(buf, len,
                 "qvm peer socket RUNDIR/%s; RUNDIR: docs/virtio-net.md",
                 peer + 9);
    return buf;
}

static void text_vdev(struct strbuf *o, const struct vm_spec *s,
                      const struct vdev_spec *vd)
{
    sb_printf(o, "  %s", vd->type->name);
    if (vd->name)
        sb_printf(o, " '%s'", vd->name);
    sb_puts(o, "  (");
    if (vd->span.file)
        span_txt(o, &vd->span);
    else
        sb_puts(o, "implicit");
    sb_puts(o, ")\n");
    if (vd->has_loc) {
        sb_puts(o, "      loc ");
        loc_txt(o, &vd->loc);
        sb_puts(o, vd->loc.is_default ? "  (default)\n" : "\n");
    }
    if (vd->is_pci) {
        const struct pci_func *f = &vd->pci;
        sb_printf(o, "      pci %04x:%04x class %04x", f->vendor, f->device,
                  f->class_code);
        if (f->cloned)
            sb_printf(o, " prog-if %02x rev %02x subsystem %04x:%04x (cloned)",
                      f->prog_if, f->revision, f->subsys_vendor, f->subsys_id);
        if (f->msix_vectors)
            sb_printf(o, " msi-x %u", f->msix_vectors);
        if (f->intx_pin) {
            sb_printf(o, " INT%c -> ", 'A' + f->intx_pin - 1);
            intr_txt(o, s, &f->intx);
        }
        sb_puts(o, "\n");
    } else {
        for (size_t k = 0; k < vd->intrs.n; k++) {
            sb_puts(o, "      intr ");
            intr_txt(o, s, &vd->intrs.v[k]);
            sb_puts(o, vd->intrs.v[k].is_default ? "  (default)\n" : "\n");
        }
    }
    for (size_t k = 0; k < vd->hostdevs.n; k++) {
        const struct hostdev *h = &vd->hostdevs.v[k];
        sb_printf(o, "      hostdev %s %s %s\n", hostdev_dir(h),
                  hostdev_kind(h), h->path);
    }
    for (size_t k = 0; k < vd->opts.n; k++) {
        const struct opt_val *ov = &vd->opts.v[k];
        sb_printf(o, "      %s%s%s", ov->def->name, ov->text[0] ? " " : "",
                  ov->text);
        if (strcmp(ov->def->name, "peer") == 0) {
            char buf[256];
            sb_printf(o, "  (%s)", peer_mapping(ov->text, buf, sizeof(buf)));
        }
        sb_puts(o, "\n");
    }
    for (size_t k = 0; k < s->sets.n; k++)
        if (s->sets.v[k].vdev >= 0 && &s->vdevs.v[s->sets.v[k].vdev] == vd)
            sb_printf(o, "      set %s %s\n", s->sets.v[k].name,
                      s->sets.v[k].value);
}

void dryrun_text(const struct vm_spec *s, struct strbuf *o)
{
    static const char *const act[] = {"abort", "fail", "ignore"};
    sb_printf(o, "system %s (%s)\n", s->system ? s->system : "(unnamed)",
              arch_name(s->arch));
    static const char *const sect[] = {"memory map", "i/o ports",
                                       "pci functions"};
    for (int sp = SPACE_MEM; sp <= SPACE_PCI; sp++) {
        bool any = false;
        for (size_t i = 0; i < s->placed.n; i++) {
            const struct placed *pl = &s->placed.v[i];
            if ((int)pl->space != sp)
                continue;
            if (!any)
                sb_printf(o, "%s:\n", sect[sp]);
            any = true;
            char sz[32];
            size_str(pl->size, sz, sizeof(sz));
            if (sp == SPACE_PCI)
                sb_printf(o, "  %02x:%02x.%x  %-40s", (unsigned)(pl->base >> 8),
                          (unsigned)(pl->base >> 3 & 31),
                          (unsigned)(pl->base & 7), pl->what);
            else if (sp == SPACE_IO)
                sb_printf(o, "  0x%04" PRIx64 "-0x%04" PRIx64 "  %-40s",
                          pl->base, pl->base + pl->size - 1, pl->what);
            else
                sb_printf(o, "  0x%016" PRIx64 "-0x%016" PRIx64 " %7s  %-32s",
                          pl->base, pl->base + pl->size - 1, sz, pl->what);
            if (pl->is_default && pl->span.file)
                sb_puts(o, " default");
            while (o->len && o->s[o->len - 1] == ' ')
                o->s[--o->len] = '\0';
            sb_puts(o, "\n");
        }
    }
    sb_puts(o, "cpus:\n");
    for (size_t i = 0; i < s->cpus.n; i++) {
        const struct cpu_spec *c = &s->cpus.v[i];
        sb_printf(o, "  cpu %u  runmask ", c->index);
        if (c->has_runmask)
            mask_txt(o, c->runmask);
        else
            sb_puts(o, "any");
        if (c->cluster)
            sb_printf(o, " (cluster %s)", c->cluster);
        sb_puts(o, "  sched ");
        sched_txt(o, &c->sched);
        if (c->partition)
            sb_printf(o, "  partition %s (ignored)", c->partition);
        sb_puts(o, "\n");
    }
    sb_puts(o, "vdevs:\n");
    for (size_t i = 0; i < s->vdevs.n; i++)
        text_vdev(o, s, &s->vdevs.v[i]);
    for (size_t i = 0; i < s->passes.n; i++) {
        const struct pass_spec *ps = &s->passes.v[i];
        sb_puts(o, "pass");
        if (ps->blob)
            sb_printf(o, " (%s)", blob_type_name(ps->blob));
        sb_puts(o, "  (");
        span_txt(o, &ps->span);
        sb_puts(o, ")\n");
        for (size_t k = 0; k < ps->locs.n; k++) {
            sb_puts(o, "      loc ");
            loc_txt(o, &ps->locs.v[k]);
            sb_puts(o, "\n");
            if (ps->locs.v[k].host_desc[0])
                sb_printf(o, "        host %s\n", ps->locs.v[k].host_desc);
            if (ps->locs.v[k].host_bars[0])
                sb_printf(o, "        host %s\n", ps->locs.v[k].host_bars);
        }
        for (size_t k = 0; k < ps->intrs.n; k++) {
            const struct intr *it = &ps->intrs.v[k];
            sb_puts(o, "      intr ");
            intr_txt(o, s, it);
            sb_puts(o, "\n");
            if (it->src == INTR_SRC_UIO)
                sb_printf(o, "        host %s, level until the guest's EOI\n",
                          it->src_desc[0] ? it->src_desc : it->src_path);
            else if (it->src == INTR_SRC_FD)
                sb_printf(o,
                          "        host descriptor %d (inherited), level "
                          "until the guest's EOI\n",
                          it->src_fd);
        }
    }
    sb_puts(o, "load:\n");
    for (size_t i = 0; i < s->loads.n; i++) {
        const struct load_spec *l = &s->loads.v[i];
        sb_printf(o, "  %s  %s", l->path, image_fmt_name(l->fmt));
        if (l->blob)
            sb_printf(o, ", %s", blob_type_name(l->blob));
        if (l->blob == BLOB_FDT)
            sb_puts(o, " overlay, applied to qvm's device tree");
        else if (l->has_addr)
            sb_printf(o, " at 0x%" PRIx64, l->addr);
        else if (image_is_executable(l->fmt) &&
                 (l->blob == BLOB_NONE || l->blob == BLOB_GUEST))
            sb_puts(o, " where its headers say");
        else
            sb_puts(o, " at the first free RAM");
        sb_printf(o, ", %" PRIu64 " bytes", l->file_size);
        if (l->sets_entry)
            sb_puts(o, ", entry");
        sb_puts(o, "\n");
    }
    if (s->cmdline)
        sb_printf(o, "cmdline: \"%s\"\n", s->cmdline);
    if (s->arch == ARCH_X86_64) {
        char why[128];
        bool split = platform_split_irqchip(s, why, sizeof(why));
        sb_printf(o, "interrupt controllers: %s (%s)\n",
                  split ? "qvm's IOAPIC, 8259 and 8254 models on KVM's split "
                          "irqchip"
                        : "KVM's in-kernel IOAPIC, 8259 pair and 8254",
                  why);
    }
    sb_printf(o, "unsupported: instruction %s, reference %s, register %s\n",
              act[s->unsupported[0]], act[s->unsupported[1]],
              act[s->unsupported[2]]);
    sb_puts(o, "logger:");
    for (int i = 0; i < 7; i++)
        sb_printf(o, " %s=%s", log_filter_names[i],
                  s->log_dest[i] == 0   ? "none"
                  : s->log_dest[i] == 1 ? "stdout"
                  : s->log_dest[i] == 2 ? "stderr"
                                        : "slog");
    sb_puts(o, "\n");
    for (size_t i = 0; i < s->sets.n; i++) {
        const struct set_var *v = &s->sets.v[i];
        if (v->vdev >= 0)
            continue;
        sb_printf(o, "set %s %s", v->name, v->value);
        if (v->cpu >= 0)
            sb_printf(o, " (cpu %d)", v->cpu);
        sb_puts(o, "\n");
    }
    if (s->tolerance_us)
        sb_printf(o, "tolerance: %" PRIu64 " us\n", s->tolerance_us);
    if (s->dump)
        sb_printf(o, "dump: %s\n", s->dump);
}

/* ---- JSON --------------------------------------------------------------- */

static void j_span(struct strbuf *o, const struct src_span *sp)
{
    if (!sp->file) {
        sb_puts(o, "null");
        return;
    }
    sb_puts(o, "{\"file\":");
    sb_json_str(o, sp->file);
    sb_printf(o, ",\"line\":%u,\"col\":%u}", sp->line, sp->col);
}

static void j_intr(struct strbuf *o, const struct vm_spec *s,
                   const struct intr *it)
{
    sb_puts(o, "{\"controller\":");
    sb_json_str(o, spec_pic_label(s, it->pic));
    if (it->pic != -1)
        sb_printf(o, ",\"line\":%u", it->line);
    if (it->has_host)
        sb_printf(o, ",\"host_vector\":%u", it->host_vector);
    if (it->src == INTR_SRC_UIO) {
        sb_puts(o, ",\"host_uio\":");
        sb_json_str(o, it->src_path);
        if (it->src_desc[0]) {
            sb_puts(o, ",\"host\":");
            sb_json_str(o, it->src_desc);
        }
    } else if (it->src == INTR_SRC_FD) {
        sb_printf(o, ",\"host_fd\":%d", it->src_fd);
    }
    sb_printf(o, ",\"default\":%s}", it->is_default ? "true" : "false");
}

static void j_loc(struct strbuf *o, const struct loc *l)
{
    sb_printf(o, "{\"space\":\"%s\"", space_name(l->space));
    if (l->space == SPACE_PCI) {
        sb_printf(o, ",\"bus\":%u,\"device\":%u,\"function\":%u", l->bdf.bus,
                  l->bdf.dev, l->bdf.fn);
        if (l->by_id)
            sb_printf(o, ",\"vendor_id\":%u,\"device_id\":%u,\"index\":%u",
                      l->vid, l->did, l->idx);
        if (l->host_is_bdf)
            sb_printf(o, ",\"host\":\"%02x:%02x.%x\"", l->host_bdf.bus,
                      l->host_bdf.dev, l->host_bdf.fn);
    } else {
        sb_printf(o, ",\"base\":%" PRIu64 ",\"size\":%" PRIu64, l->base,
                  l->size);
        if (l->attrs[0]) {
            sb_puts(o, ",\"attrs\":");
            sb_json_str(o, l->attrs);
        }
        if (l->has_host)
            sb_printf(o, ",\"host_base\":%" PRIu64, l->host_base);
    }
    if (l->host_desc[0]) {
        sb_puts(o, ",\"host_identity\":");
        sb_json_str(o, l->host_desc);
    }
    if (l->host_bars[0]) {
        sb_puts(o, ",\"host_bars\":");
        sb_json_str(o, l->host_bars);
    }
    sb_printf(o, ",\"default\":%s}", l->is_default ? "true" : "false");
}

static void j_vdev(struct strbuf *o, const struct vm_spec *s,
                   const struct vdev_spec *vd)
{
    sb_puts(o, "{\"type\":");
    sb_json_str(o, vd->type->name);
    sb_puts(o, ",\"name\":");
    if (vd->name)
        sb_json_str(o, vd->name);
    else
        sb_puts(o, "null");
    sb_puts(o, ",\"at\":");
    j_span(o, &vd->span);
    if (vd->has_loc) {
        sb_puts(o, ",\"loc\":");
        j_loc(o, &vd->loc);
    }
    sb_puts(o, ",\"intr\":[");
    for (size_t k = 0; !vd->is_pci && k < vd->intrs.n; k++) {
        sb_puts(o, k ? "," : "");
        j_intr(o, s, &vd->intrs.v[k]);
    }
    sb_puts(o, "]");
    if (vd->is_pci) {
        const struct pci_func *f = &vd->pci;
        sb_printf(o,
                  ",\"pci\":{\"vendor\":%u,\"device\":%u,\"class\":%u,"
                  "\"msix_vectors\":%u,\"bars\":[",
                  f->vendor, f->device, f->class_code, f->msix_vectors);
        bool first = true;
        for (unsigned b = 0; b < 6; b++) {
            const struct bar *bar = &f->bars[b];
            if (bar->kind == BAR_NONE)
                continue;
            static const char *const kinds[] = {"", "io", "mem32", "mem64"};
            sb_printf(o,
                      "%s{\"index\":%u,\"kind\":\"%s\",\"base\":%" PRIu64
                      ",\"size\":%" PRIu64 ",\"what\":",
                      first ? "" : ",", b, kinds[bar->kind], bar->base,
                      bar->size);
            sb_json_str(o, bar->what);
            sb_puts(o, "}");
            first = false;
        }
        sb_puts(o, "]");
        if (f->cloned)
            sb_printf(o,
                      ",\"cloned\":{\"prog_if\":%u,\"revision\":%u,"
                      "\"subsystem_vendor\":%u,\"subsystem_id\":%u}",
                      f->prog_if, f->revision, f->subsys_vendor, f->subsys_id);
        if (f->intx_pin) {
            sb_printf(o, ",\"intx\":{\"pin\":\"INT%c\",\"route\":",
                      'A' + f->intx_pin - 1);
            j_intr(o, s, &f->intx);
            sb_puts(o, "}");
        }
        sb_puts(o, "}");
    }
    sb_puts(o, ",\"hostdev\":[");
    for (size_t k = 0; k < vd->hostdevs.n; k++) {
        const struct hostdev *h = &vd->hostdevs.v[k];
        sb_printf(o,
                  "%s{\"dir\":\"%s\",\"kind\":\"%s\",\"path\":", k ? "," : "",
                  hostdev_dir(h), hostdev_kind(h));
        sb_json_str(o, h->path);
        sb_puts(o, "}");
    }
    sb_puts(o, "],\"options\":{");
    for (size_t k = 0; k < vd->opts.n; k++) {
        sb_puts(o, k ? "," : "");
        sb_json_str(o, vd->opts.v[k].def->name);
        sb_puts(o, ":");
        sb_json_str(o, vd->opts.v[k].text);
    }
    sb_puts(o, "}}");
}

void dryrun_json(const struct vm_spec *s, struct strbuf *o)
{
    sb_puts(o, "{\"system\":");
    if (s->system)
        sb_json_str(o, s->system);
    else
        sb_puts(o, "null");
    sb_printf(o, ",\"arch\":\"%s\",\"map\":[", arch_name(s->arch));
    for (size_t i = 0; i < s->placed.n; i++) {
        const struct placed *pl = &s->placed.v[i];
        sb_printf(o,
                  "%s{\"space\":\"%s\",\"base\":%" PRIu64 ",\"size\":%" PRIu64
                  ",\"what\":",
                  i ? "," : "", space_name(pl->space), pl->base, pl->size);
        sb_json_str(o, pl->what);
        sb_printf(o, ",\"default\":%s}", pl->is_default ? "true" : "false");
    }
    sb_puts(o, "],\"cpus\":[");
    for (size_t i = 0; i < s->cpus.n; i++) {
        const struct cpu_spec *c = &s->cpus.v[i];
        sb_printf(o, "%s{\"index\":%u,\"runmask\":", i ? "," : "", c->index);
        if (c->has_runmask) {
            sb_puts(o, "[");
            bool first = true;
            for (unsigned k = 0; k < 256; k++)
                if (c->runmask[k / 64] & (1ULL << (k % 64))) {
                    sb_printf(o, "%s%u", first ? "" : ",", k);
                    first = false;
                }
            sb_puts(o, "]");
        } else {
            sb_puts(o, "null");
        }
        sb_puts(o, ",\"sched\":");
        struct strbuf t;
        sb_init(&t);
        sched_txt(&t, &c->sched);
        sb_json_str(o, sb_cstr(&t));
        sb_free(&t);
        sb_puts(o, "}");
    }
    sb_puts(o, "],\"vdevs\":[");
    for (size_t i = 0; i < s->vdevs.n; i++) {
        sb_puts(o, i ? "," : "");
        j_vdev(o, s, &s->vdevs.v[i]);
    }
    sb_puts(o, "],\"pass\":[");
    for (size_t i = 0; i < s->passes.n; i++) {
        const struct pass_spec *ps = &s->passes.v[i];
        sb_printf(o, "%s{\"locs\":[", i ? "," : "");
        for (size_t k = 0; k < ps->locs.n; k++) {
            sb_puts(o, k ? "," : "");
            j_loc(o, &ps->locs.v[k]);
        }
        sb_puts(o, "],\"intr\":[");
        for (size_t k = 0; k < ps->intrs.n; k++) {
            sb_puts(o, k ? "," : "");
            j_intr(o, s, &ps->intrs.v[k]);
        }
        sb_puts(o, "]}");
    }
    sb_puts(o, "],\"load\":[");
    for (size_t i = 0; i < s->loads.n; i++) {
        const struct load_spec *l = &s->loads.v[i];
        sb_printf(o, "%s{\"path\":", i ? "," : "");
        sb_json_str(o, l->path);
        sb_printf(o,
                  ",\"format\":\"%s\",\"blob\":\"%s\",\"size\":%" PRIu64
                  ",\"entry\":%s",
                  image_fmt_name(l->fmt), blob_type_name(l->blob), l->file_size,
                  l->sets_entry ? "true" : "false");
        if (l->has_addr)
            sb_printf(o, ",\"addr\":%" PRIu64, l->addr);
        sb_puts(o, "}");
    }
    sb_puts(o, "],\"cmdline\":");
    if (s->cmdline)
        sb_json_str(o, s->cmdline);
    else
        sb_puts(o, "null");
    if (s->arch == ARCH_X86_64) {
        char why[128];
        bool split = platform_split_irqchip(s, why, sizeof(why));
        sb_printf(
            o, ",\"irqchip\":{\"by\":\"%s\",\"why\":", split ? "qvm" : "kvm");
        sb_json_str(o, why);
        sb_puts(o, "}");
    }
    sb_puts(o, ",\"set\":{");
    bool first = true;
    for (size_t i = 0; i < s->sets.n; i++) {
        if (s->sets.v[i].vdev >= 0)
            continue;
        sb_puts(o, first ? "" : ",");
        sb_json_str(o, s->sets.v[i].name);
        sb_puts(o, ":");
        sb_json_str(o, s->sets.v[i].value);
        first = false;
    }
    sb_puts(o, "}}\n");
}

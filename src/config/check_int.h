/*
 * check_int.h: the state shared by place.c (placement) and check.c (the
 * remaining whole-configuration checks). Private to config/.
 */
#ifndef QVM_CONFIG_CHECK_INT_H
#define QVM_CONFIG_CHECK_INT_H

#include "config/parse_int.h"

struct irq_use {
    int pic;
    uint32_t line;
    char what[96]; /* a vdev_label(), up to 95 characters */
    struct src_span span;
    bool share_any; /* hpet: legacy replacement shares with anything */
    bool pci;       /* PCI INTx: shares with other INTx */
    bool is_default;
    int owner; /* vdev index, or -1 - pass index */
};

struct checker {
    struct parser *p;
    struct vm_spec *s;
    struct diag *dg;
    VEC(struct irq_use) irqs;
    int default_pic;
};

char *fmt(const char *f, ...) PRINTF_FMT(1, 2);
const char *vdev_label(const struct vdev_spec *vd, char *buf, size_t len);
void range_str(enum space sp, uint64_t base, uint64_t size, char *buf,
               size_t len);
struct placed *add_placed(struct checker *c, enum space sp, uint64_t base,
                          uint64_t size, char *what,
                          const struct src_span *span, bool is_default,
                          bool reserve);
bool is_free(struct checker *c, enum space sp, uint64_t base, uint64_t size);
uint64_t bdf_code(struct bdf b);
bool line_reserved(struct checker *c, int pic, uint32_t line);

/* The placement steps, in the order check_spec() runs them. */
void add_implicit(struct checker *c);
void resolve_pics(struct checker *c);
void decide_pci(struct checker *c);
void punch_holes(struct checker *c);
void place_fixed(struct checker *c);
void place_platform(struct checker *c);
void place_defaults(struct checker *c);
void place_pci(struct checker *c);
void place_pass_by_id(struct checker *c);
void check_overlaps(struct checker *c);

#endif

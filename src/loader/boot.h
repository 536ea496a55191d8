/*
 * boot.h: turn the `load`/`cmdline` lines of a vm_spec into guest memory
 * contents and an architectural entry state. Pure apart from reading the
 * image files: no KVM. Formats handled: multiboot1 (ELF and a.out kludge),
 * ELF32, ELF64 and raw binaries. Multiboot 2, bzImage, PVH and gzip'd
 * images are reported as not supported yet.
 *
 * A bad image is an error message in `err`, never a crash: every address
 * and length taken from an image goes through checked arithmetic and the
 * gview_ptr gate.
 */
#ifndef QVM_LOADER_BOOT_H
#define QVM_LOADER_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "config/spec.h"
#include "loader/gview.h"
#include "util/compiler.h"

/* How the boot vCPU starts. */
enum boot_mode {
    BOOT_NONE,   /* nothing executable loaded */
    BOOT_PM32,   /* 32-bit protected mode, flat segments, paging off */
    BOOT_LONG64, /* 64-bit mode, identity-mapped first 4 GiB */
};

struct boot_state {
    enum boot_mode mode;
    uint64_t entry;
    uint32_t eax, ebx;  /* multiboot: 0x2BADB002 and the info address */
    uint64_t pml4;      /* BOOT_LONG64: guest-physical CR3 */
    enum image_fmt fmt; /* of the entry image */
};

struct boot_err {
    char msg[256];
};

/* boot_fail: format err->msg and return -1. */
int boot_fail(struct boot_err *err, const char *fmt, ...) PRINTF_FMT(2, 3);

/* An image in host memory (the whole file). */
struct boot_image {
    const unsigned char *data;
    size_t size;
    const char *path;
};

/*
 * elf_load: load the PT_LOAD segments of an ELF32/ELF64 x86 image at their
 * physical addresses. Sets *entry (e_entry translated to physical when it
 * lies in a segment whose vaddr differs from paddr) and *hi (end of the
 * highest segment). Returns 0 or -1 with err filled.
 */
int elf_load(struct gview *v, const struct boot_image *img, uint64_t *entry,
             uint64_t *hi, struct boot_err *err) MUST_CHECK;

/* Multiboot 1 (Multiboot Specification 0.6.96). */
#define MB1_BOOT_MAGIC 0x2BADB002u
struct mb1_header {
    uint64_t offset; /* of the header in the file */
    uint32_t flags;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};
/* mb1_find: 0 and *h filled, or -1 (no valid header in the first 8 KiB). */
int mb1_find(const struct boot_image *img, struct mb1_header *h);
/* mb1_load: load the kernel (a.out kludge or ELF) and set *entry, *hi. */
int mb1_load(struct gview *v, const struct boot_image *img,
             const struct mb1_header *h, uint64_t *entry, uint64_t *hi,
             struct boot_err *err) MUST_CHECK;

struct mb1_module {
    uint64_t start, end; /* [start, end) in guest memory */
    const char *string;  /* the module's command line */
};
/*
 * mb1_write_info: build the multiboot information structure (mem_lower,
 * mem_upper, memory map from the spec's ram/rom/reserve lines, cmdline,
 * boot loader name "qvm", modules) in free low RAM. *info gets its address.
 */
int mb1_write_info(struct gview *v, const struct vm_spec *spec,
                   const char *kernel_path, const struct mb1_module *mods,
                   size_t nmods, uint32_t *info,
                   struct boot_err *err) MUST_CHECK;

/*
 * boot_load_spec: load every `load` line of the spec (reading the files)
 * and fill *bs. The entry image is spec->entry_load (or the first load when
 * that is -1); other loads become multiboot modules / data at their address
 * or after the kernel. Returns 0 or -1 with err filled.
 */
int boot_load_spec(struct gview *v, const struct vm_spec *spec,
                   struct boot_state *bs, struct boot_err *err) MUST_CHECK;

/* boot_read_file: read a whole file (malloc'd; caller frees). */
int boot_read_file(const char *path, struct boot_image *img,
                   struct boot_err *err) MUST_CHECK;

#endif

/*
 * boot.h: turn the `load`/`cmdline` lines of a vm_spec into guest memory
 * contents and an architectural entry state. Pure apart from reading the
 * image files: no KVM. Formats handled: for x86-64 guests Linux bzImage
 * (64-bit boot protocol), PVH ELF (Xen PHYS32_ENTRY note), multiboot 1 (ELF
 * and a.out kludge), multiboot 2 (ELF), plain ELF32/ELF64, raw binaries;
 * for aarch64 guests (spec->arch == ARCH_AARCH64) Linux's arm64 Image,
 * ELF64 EM_AARCH64 (QNX IFS) and raw binaries; any of these
 * gzip-compressed. docs/boot.md describes where things are placed.
 *
 * A bad image is an error message in `err`, never a crash: every address
 * and length taken from an image goes through checked arithmetic and the
 * gview_ptr gate.
 */
#ifndef QVM_LOADER_BOOT_H
#define QVM_LOADER_BOOT_H

#include <stdbool.h>
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
    /*
     * AArch64 (Linux Documentation/arch/arm64/booting.rst): PC = entry,
     * X0..X3 = x[0..3], PSTATE = BOOT_ARM64_PSTATE (EL1h, D, A, I and F
     * masked), MMU and data cache off (SCTLR_EL1 at its reset value).
     * The arch layer sets the registers; the loader only decides values.
     */
    BOOT_ARM64,
};

/* PSTATE for BOOT_ARM64: M[3:0] = 0b0101 (EL1h), D A I F (bits 9..6) set. */
#define BOOT_ARM64_PSTATE 0x3c5ull

struct boot_state {
    enum boot_mode mode;
    uint64_t entry;
    uint32_t eax, ebx;  /* multiboot: magic and info; PVH: EBX=start_info */
    uint64_t pml4;      /* BOOT_LONG64: guest-physical CR3 */
    enum image_fmt fmt; /* of the entry image (after gunzip) */
    uint64_t rsi;       /* bzImage: boot_params */
    uint64_t rsp;       /* 0: leave it 0 */
    uint64_t gdt;       /* GDTR base, or 0: no GDT in guest memory */
    uint16_t gdt_limit;
    bool tss32; /* PVH: TR = 32-bit TSS, base 0, limit 0x67 (sel 0x20) */
    /*
     * BOOT_ARM64 only. x[0] = fdt, x[1..3] = 0. The loader leaves room for
     * the device tree: [fdt, fdt + fdt_size) is free RAM, 2 MiB aligned and
     * 2 MiB long (ARM64_FDT_MAX) when the guest has room for it, else
     * ARM64_FDT_MIN bytes, marked used so nothing else is loaded there. The
     * arch layer writes the DTB there after boot_load_spec (at most
     * fdt_size bytes), with /chosen linux,initrd-start = initrd_start and
     * linux,initrd-end = initrd_end (end exclusive; both 0: no initrd) and
     * the command line as bootargs.
     */
    uint64_t x[4];
    uint64_t fdt, fdt_size;
    uint64_t initrd_start, initrd_end;
    uint64_t kernel_start, kernel_end; /* the entry image's extent */
};

/*
 * struct boot_input: what the rest of qvm tells the loaders. All zero
 * means "nothing": no ACPI, no firmware ranges.
 *   rsdp_gpa  guest-physical address of the ACPI RSDP (0 = none). It goes
 *             to boot_params.acpi_rsdp_addr, hvm_start_info.rsdp_paddr
 *             and the multiboot2 ACPI tag (the RSDP is copied from guest
 *             memory, so write the tables before boot_load_spec).
 *   fw[nfw]   guest-physical ranges holding qvm's firmware tables (e.g.
 *             0x9FC00-0x9FFFF, 0xE0000-0xFFFFF). The loaders never place
 *             anything there and report them in every memory map (e820,
 *             PVH memmap, multiboot mmap) with the given e820 type
 *             (E820_RESERVED, E820_ACPI or E820_NVS), carved out of RAM.
 */
#define BOOT_MAX_FW 16
struct boot_fw_range {
    uint64_t base, size;
    uint32_t type;
};
struct boot_input {
    uint64_t rsdp_gpa;
    size_t nfw;
    struct boot_fw_range fw[BOOT_MAX_FW];
};

/* e820 memory map entries (Linux zero-page.rst, ACPI "address ranges"). */
#define E820_RAM      1u
#define E820_RESERVED 2u
#define E820_ACPI     3u
#define E820_NVS      4u
#define E820_MAX      128
struct e820_ent {
    uint64_t addr, size;
    uint32_t type;
};
/*
 * boot_e820: the guest's memory map: `ram` lines as E820_RAM, `rom`,
 * reserved regions and `reserve loc` lines as E820_RESERVED, the input's
 * firmware ranges and `extra` (qvm's own reserved areas, e.g. page
 * tables) carved out of RAM. Sorted by address, adjacent entries of one
 * type merged; at most `max` entries. Returns the number written.
 */
size_t boot_e820(const struct vm_spec *spec, const struct boot_input *in,
                 const struct e820_ent *extra, size_t nextra,
                 struct e820_ent *out, size_t max);

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
/*
 * elf_load_arch: the same for a guest of `arch`: elf_load is
 * elf_load_arch(ARCH_X86_64); ARCH_AARCH64 takes ELF64 EM_AARCH64 only
 * (ELF32 ARM, x86 and big-endian ELF are refused with the reason).
 */
int elf_load_arch(struct gview *v, const struct boot_image *img, enum arch arch,
                  uint64_t *entry, uint64_t *hi,
                  struct boot_err *err) MUST_CHECK;

/*
 * Linux arm64 Image (Documentation/arch/arm64/booting.rst, "Call the
 * kernel image"): a 64-byte header with the magic "ARM\x64" at 0x38.
 * arm64_image_header: parse and check it. image_size 0 (kernels before
 * 3.17, whose text_offset has no defined endianness) means text_offset
 * 0x80000 and flags 0. 0 or -1 + err.
 */
#define ARM64_HDR_SIZE        64
#define ARM64_MAGIC_OFF       0x38
#define ARM64_KERNEL_ALIGN    (2ull << 20) /* base = load - text_offset */
#define ARM64_OLD_TEXT_OFFSET 0x80000ull
#define ARM64_NOSIZE_SLACK    (8ull << 20) /* image_size 0: room for BSS */
#define ARM64_FLAG_BE         (1ull << 0)
#define ARM64_FLAG_PAGE_SHIFT 1 /* 2 bits: 0 unspecified, 4K, 16K, 64K */
#define ARM64_FLAG_PHYS_ANY   (1ull << 3) /* base anywhere in RAM */
#define ARM64_FDT_MAX         (2ull << 20)
#define ARM64_FDT_MIN         (64ull << 10)
#define ARM64_INITRD_WINDOW   (32ull << 30) /* 1 GiB aligned, covers kernel */
struct arm64_header {
    uint64_t text_offset, image_size, flags;
    uint64_t extent; /* bytes reserved from the load address */
};
int arm64_image_header(const struct boot_image *img, struct arm64_header *h,
                       struct boot_err *err) MUST_CHECK;
/*
 * arm64_load_images: boot_load_images for an aarch64 guest, once the entry
 * image (imgs[entry], gunzipped into *kernel when it was compressed) is
 * known to be of format f. Loads it (Image: at `load ADDR,` when given,
 * which must be text_offset above a 2 MiB boundary, else at text_offset
 * above the first 2 MiB boundary of the lowest RAM that holds it; ELF:
 * segments at p_paddr; raw: at its address or the first free page of
 * RAM), then the loads with an address, the DTB room, the initrd (page
 * aligned after the DTB room, in the 1 GiB aligned 32 GiB window that
 * holds the kernel) and the other loads. `fdt load` files are not loaded:
 * the FDT builder reads them. Errors name the file.
 */
int arm64_load_images(struct gview *v, const struct vm_spec *spec,
                      const struct boot_image *imgs, int entry,
                      const struct boot_image *kernel, enum image_fmt f,
                      struct boot_state *bs, struct boot_err *err) MUST_CHECK;

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
 * mem_upper, memory map from boot_e820 (in may be NULL), cmdline,
 * boot loader name "qvm", modules) in free low RAM. *info gets its address.
 */
int mb1_write_info(struct gview *v, const struct vm_spec *spec,
                   const struct boot_input *in, const char *kernel_path,
                   const struct mb1_module *mods, size_t nmods, uint32_t *info,
                   struct boot_err *err) MUST_CHECK;

/*
 * Linux bzImage, 64-bit boot protocol (Documentation/x86/boot.rst).
 * bz_load: validate the setup header and copy the protected-mode part to
 * its load address (*load; 0x100000, or pref_address aligned to
 * kernel_alignment when relocatable), reserving init_size. *hi = end of
 * init_size, *initrd_max = highest end address for the initrd.
 */
int bz_load(struct gview *v, const struct boot_image *img, uint64_t *load,
            uint64_t *hi, uint64_t *initrd_max,
            struct boot_err *err) MUST_CHECK;
/*
 * bz_write_params: the zero page, command line, e820 map, page tables and
 * GDT in low RAM, and the entry state (long mode at load + 0x200, RSI =
 * boot_params). initrd_size 0: no initrd.
 */
int bz_write_params(struct gview *v, const struct vm_spec *spec,
                    const struct boot_input *in, const struct boot_image *img,
                    uint64_t load, uint64_t initrd, uint64_t initrd_size,
                    struct boot_state *bs, struct boot_err *err) MUST_CHECK;
/* Offsets in boot_params (Documentation/x86/zero-page.rst). */
#define BP_ACPI_RSDP_ADDR    0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_SETUP_SECTS       0x1f1
#define BP_SYSSIZE           0x1f4
#define BP_VID_MODE          0x1fa
#define BP_BOOT_FLAG         0x1fe
#define BP_HEADER            0x202
#define BP_VERSION           0x206
#define BP_TYPE_OF_LOADER    0x210
#define BP_LOADFLAGS         0x211
#define BP_CODE32_START      0x214
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE      0x21c
#define BP_CMD_LINE_PTR      0x228
#define BP_INITRD_ADDR_MAX   0x22c
#define BP_KERNEL_ALIGNMENT  0x230
#define BP_RELOCATABLE       0x234
#define BP_XLOADFLAGS        0x236
#define BP_CMDLINE_SIZE      0x238
#define BP_HW_SUBARCH        0x23c
#define BP_PAYLOAD_OFFSET    0x248
#define BP_PAYLOAD_LENGTH    0x24c
#define BP_PREF_ADDRESS      0x258
#define BP_INIT_SIZE         0x260
#define BP_E820_TABLE        0x2d0
#define BP_SIZE              4096
#define XLF_KERNEL_64        (1u << 0)
#define LOADED_HIGH          (1u << 0)

/* qvm's fixed low-RAM layout for the bzImage protocol (docs/boot.md). */
#define BZ_GDT_ADDR    0x500ull
#define BZ_PARAMS_ADDR 0x7000ull
#define BZ_STACK_TOP   0x8ff0ull
#define BZ_PT_ADDR     0x9000ull /* PML4, PDPT, 4 PDs: 0x9000-0xefff */
#define BZ_PT_SIZE     0x6000ull
#define BZ_CMDLINE     0x20000ull

/*
 * PVH (Xen public/arch-x86/hvm/start_info.h, public/elfnote.h).
 * pvh_entry: the XEN_ELFNOTE_PHYS32_ENTRY of an ELF image, 0 or -1.
 */
#define PVH_START_MAGIC 0x336EC578u
int pvh_entry(const struct boot_image *img, uint32_t *entry,
              struct boot_err *err) MUST_CHECK;
/*
 * pvh_write_start_info: hvm_start_info v1 with the command line, modules
 * (mods[0] is the initrd when there is one), rsdp_paddr and the memory
 * map; sets EBX, the GDT and the 32-bit TSS in *bs.
 */
int pvh_write_start_info(struct gview *v, const struct vm_spec *spec,
                         const struct boot_input *in,
                         const struct mb1_module *mods, size_t nmods,
                         struct boot_state *bs,
                         struct boot_err *err) MUST_CHECK;

/* Multiboot 2 (Multiboot2 Specification 2.0). */
#define MB2_BOOT_MAGIC 0x36D76289u
struct mb2_header {
    uint64_t offset; /* of the header in the file */
    uint32_t length;
    bool has_addr, has_entry;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
    uint32_t entry_addr;
    bool want_rsdp;
};
/* mb2_find: parse and check the header (first 32 KiB); 0 or -1 + err. */
int mb2_find(const struct boot_image *img, struct mb2_header *h,
             struct boot_err *err) MUST_CHECK;
int mb2_load(struct gview *v, const struct boot_image *img,
             const struct mb2_header *h, uint64_t *entry, uint64_t *hi,
             struct boot_err *err) MUST_CHECK;
/*
 * mb2_write_info: the MBI (cmdline, boot loader name, modules, basic
 * meminfo, mmap, ACPI RSDP copy when in->rsdp_gpa) below 4 GiB.
 */
int mb2_write_info(struct gview *v, const struct vm_spec *spec,
                   const struct boot_input *in, const char *kernel_path,
                   const struct mb1_module *mods, size_t nmods, uint32_t *info,
                   struct boot_err *err) MUST_CHECK;

/*
 * boot_gunzip: decompress a gzip image into a malloc'd buffer of at most
 * `limit` bytes (more is refused: a decompression bomb or an image larger
 * than the guest); no allocation is ever larger than `limit`.
 * out->path = in->path. 0 or -1 + err.
 * boot_gunzip_limit: the limit for a VM with `ram` bytes of RAM: that, but
 * at most BOOT_GUNZIP_MAX (no kernel needs more; the heap copy must not
 * grow with the guest's RAM).
 */
#define BOOT_GUNZIP_MAX (512ull << 20)
uint64_t boot_gunzip_limit(uint64_t ram);
int boot_gunzip(const struct boot_image *in, uint64_t limit,
                struct boot_image *out, struct boot_err *err) MUST_CHECK;

/*
 * boot_load_images: the core of boot_load_spec on images already in
 * memory: imgs[i] holds the file of spec->loads.v[i]. The entry image
 * (spec->entry_load, or the first load when that is -1) is gunzipped when
 * compressed, sniffed and loaded; `force` (IMG_RAW: sniff) overrides the
 * sniffed format (for the fuzz target). The `initrd load` becomes the
 * bzImage ramdisk / PVH module 0 / a multiboot module; other loads go to
 * their address, or after the kernel as multiboot/PVH modules.
 * in may be NULL. Returns 0 or -1 with err naming the file and the reason.
 */
int boot_load_images(struct gview *v, const struct vm_spec *spec,
                     const struct boot_input *in, const struct boot_image *imgs,
                     enum image_fmt force, struct boot_state *bs,
                     struct boot_err *err) MUST_CHECK;

/*
 * boot_load_spec: read every `load` file of the spec and call
 * boot_load_images. Returns 0 or -1 with err filled.
 * Context: the main thread, before the vCPUs start.
 */
int boot_load_spec(struct gview *v, const struct vm_spec *spec,
                   const struct boot_input *in, struct boot_state *bs,
                   struct boot_err *err) MUST_CHECK;

/* boot_read_file: read a whole file (malloc'd; caller frees). */
int boot_read_file(const char *path, struct boot_image *img,
                   struct boot_err *err) MUST_CHECK;

#endif

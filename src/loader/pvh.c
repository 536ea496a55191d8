/*
 * pvh.c: the Xen PVH direct boot ABI for ELF kernels (Linux vmlinux with
 * CONFIG_PVH): the entry is the XEN_ELFNOTE_PHYS32_ENTRY note (Xen
 * public/elfnote.h, type 18), entered in 32-bit protected mode with
 * paging off and EBX = struct hvm_start_info (Xen
 * public/arch-x86/hvm/start_info.h, version 1 with the memory map).
 *
 * hvm_start_info (56 bytes): u32 magic, version, flags, nr_modules;
 * u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
 * u32 memmap_entries, reserved. hvm_modlist_entry (32): u64 paddr, size,
 * cmdline_paddr, reserved. hvm_memmap_table_entry (24): u64 addr, size;
 * u32 type, reserved.
 */
#include <string.h>

#include "loader/internal.h"
#include "util/le.h"
#include "util/ckd.h"

#define fail boot_fail

#define XEN_ELFNOTE_PHYS32_ENTRY 18u
#define SI_SIZE                  56
#define MOD_SIZE                 32
#define MM_SIZE                  24
#define PT_NOTE_TYPE             4u

/* Walk one note area; 1 and *entry when the PVH note is found. */
static int scan_notes(const unsigned char *p, uint64_t n, uint32_t *entry,
                      struct boot_err *err)
{
    uint64_t off = 0;
    while (n - off >= 12) {
        uint32_t namesz = le_get32(p + off), descsz = le_get32(p + off + 4);
        uint32_t type = le_get32(p + off + 8);
        uint64_t name_al = ALIGN_UP((uint64_t)namesz, 4ull);
        uint64_t desc_al = ALIGN_UP((uint64_t)descsz, 4ull), desc, next;
        if (ckd_add(&desc, off + 12, name_al) ||
            ckd_add(&next, desc, desc_al) || next > n)
            return 0;
        if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
            memcmp(p + off + 12, "Xen", 4) == 0) {
            if (descsz != 4 && descsz != 8)
                return fail(err,
                            "Xen PHYS32_ENTRY note has %u bytes, not 4 "
                            "or 8",
                            descsz);
            uint64_t e = descsz == 8 ? le_get64(p + desc) : le_get32(p + desc);
            if (e > UINT32_MAX)
                return fail(err, "PVH entry 0x%llx is above 4 GiB",
                            (unsigned long long)e);
            *entry = (uint32_t)e;
            return 1;
        }
        off = next;
    }
    return 0;
}

int pvh_entry(const struct boot_image *img, uint32_t *entry,
              struct boot_err *err)
{
    const unsigned char *d = img->data;
    if (img->size < 0x40 || memcmp(d,
                                   "\x7f"
                                   "ELF",
                                   4) != 0)
        return fail(err, "not an ELF file");
    bool is64 = d[4] == 2;
    uint64_t phoff = is64 ? le_get64(d + 0x20) : le_get32(d + 0x1c);
    unsigned phentsize = le_get16(d + (is64 ? 0x36 : 0x2a));
    unsigned phnum = le_get16(d + (is64 ? 0x38 : 0x2c));
    if (phentsize < (is64 ? 56u : 32u))
        return fail(err, "bad e_phentsize %u", phentsize);
    for (unsigned i = 0; i < phnum; i++) {
        uint64_t ph, end;
        if (ckd_add(&ph, phoff, (uint64_t)i * phentsize) ||
            ckd_add(&end, ph, phentsize) || end > img->size)
            return fail(err, "program header table is past the end of the "
                             "file");
        const unsigned char *e = d + ph;
        if (le_get32(e) != PT_NOTE_TYPE)
            continue;
        uint64_t off = is64 ? le_get64(e + 8) : le_get32(e + 4);
        uint64_t sz = is64 ? le_get64(e + 32) : le_get32(e + 16), nend;
        if (ckd_add(&nend, off, sz) || nend > img->size)
            return fail(err, "phdr[%u]: PT_NOTE past the end of the file", i);
        int r = scan_notes(d + off, sz, entry, err);
        if (r)
            return r < 0 ? -1 : 0;
    }
    return fail(err, "no Xen PHYS32_ENTRY note (not a PVH kernel)");
}

int pvh_write_start_info(struct gview *v, const struct vm_spec *spec,
                         const struct boot_input *in,
                         const struct mb1_module *mods, size_t nmods,
                         struct boot_state *bs, struct boot_err *err)
{
    unsigned char si[SI_SIZE] = {0};
    uint64_t at, ml = 0, mm, cl = 0;
    if (boot_place(v, 0, SI_SIZE, 8, &at) < 0)
        return fail(err, "no free RAM below 4 GiB for hvm_start_info");
    if (boot_write_gdt(v, BZ_GDT_ADDR, false, bs, err) < 0)
        return -1;
    if (spec->cmdline) {
        cl = boot_put_cstring(v, spec->cmdline, 0);
        if (!cl)
            return fail(err, "no free RAM below 4 GiB for the command line");
    }
    if (nmods) {
        uint64_t len;
        if (ckd_mul(&len, (uint64_t)nmods, (uint64_t)MOD_SIZE) ||
            boot_place(v, 0, len, 8, &ml) < 0)
            return fail(err, "no free RAM below 4 GiB for the module list");
        for (size_t i = 0; i < nmods; i++) {
            unsigned char m[MOD_SIZE] = {0};
            le_put64(m, mods[i].start);
            le_put64(m + 8, mods[i].end - mods[i].start);
            if (!gview_write(v, ml + MOD_SIZE * i, m, MOD_SIZE))
                return fail(err, "module list outside guest RAM");
        }
    }
    struct e820_ent map[E820_MAX];
    size_t n = boot_e820(spec, in, NULL, 0, map, E820_MAX);
    if (!n || boot_place(v, 0, n * MM_SIZE, 8, &mm) < 0)
        return fail(err, "no free RAM below 4 GiB for the PVH memory map");
    for (size_t i = 0; i < n; i++) {
        unsigned char e[MM_SIZE] = {0};
        le_put64(e, map[i].addr);
        le_put64(e + 8, map[i].size);
        le_put32(e + 16, map[i].type);
        if (!gview_write(v, mm + MM_SIZE * i, e, MM_SIZE))
            return fail(err, "memory map outside guest RAM");
    }
    le_put32(si, PVH_START_MAGIC);
    le_put32(si + 4, 1);
    le_put32(si + 12, (uint32_t)nmods);
    le_put64(si + 16, ml);
    le_put64(si + 24, cl);
    le_put64(si + 32, in ? in->rsdp_gpa : 0);
    le_put64(si + 40, mm);
    le_put32(si + 48, (uint32_t)n);
    if (!gview_write(v, at, si, SI_SIZE))
        return fail(err, "hvm_start_info outside guest RAM");
    bs->mode = BOOT_PM32;
    bs->ebx = (uint32_t)at;
    bs->tss32 = true;
    return 0;
}

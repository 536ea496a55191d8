/*
 * coredump.c: the ELF64 core writer (see coredump.h).
 */
#include "vm/coredump.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/ckd.h"

#define PAGE       4096ull
#define CHUNK_PG   256u /* pages looked up per pagemap/mincore call */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

static uint32_t pad4(uint32_t n)
{
    return (n + 3u) & ~3u;
}

void core_notes_free(struct core_notes *n)
{
    free(n->notes);
    free(n->storage);
    memset(n, 0, sizeof(*n));
}

int core_notes_begin(struct core_notes *out, size_t size, size_t max)
{
    memset(out, 0, sizeof(*out));
    out->storage = calloc(1, size);
    out->notes = calloc(max ? max : 1, sizeof(*out->notes));
    if (!out->storage || !out->notes) {
        core_notes_free(out);
        return -ENOMEM;
    }
    return 0;
}

void core_notes_add(struct core_notes *out, const char *name, uint32_t type,
                    const void *desc, size_t len)
{
    out->notes[out->n++] = (struct core_note){name, type, desc, (uint32_t)len};
}

void core_ps_names(char *fname, size_t fname_len, char *psargs,
                   size_t psargs_len, const char *system)
{
    const char *s = system ? system : "qvm-guest";
    snprintf(fname, fname_len, "%s", s);
    snprintf(psargs, psargs_len, "qvm system %s", s);
}

uint64_t core_notes_size(const struct core_note *notes, size_t nnotes)
{
    uint64_t n = 0;
    for (size_t i = 0; i < nnotes; i++)
        n += sizeof(Elf64_Nhdr) + pad4((uint32_t)strlen(notes[i].name) + 1) +
             pad4(notes[i].size);
    return n;
}

/* write(2) until done (a pipe takes it in pieces). */
static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        if (w == 0)
            return -EIO;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static const unsigned char zeros[64 * 1024];

/* `len` zero bytes: a hole when the file is seekable, else written. */
static int skip(int fd, bool seekable, uint64_t len)
{
    if (seekable) {
        if (len > INT64_MAX || lseek(fd, (off_t)len, SEEK_CUR) < 0)
            return -errno;
        return 0;
    }
    while (len) {
        size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        int e = write_all(fd, zeros, n);
        if (e < 0)
            return e;
        len -= n;
    }
    return 0;
}

/*
 * Which of the `n` pages at `host` hold data: resident or swapped out
 * (pagemap), or resident (mincore: a swapped-out page would be taken for
 * a hole, hence pagemap first). Neither call touches the pages. On any
 * failure every page counts as data (never a wrong hole).
 */
static void touched(const unsigned char *host, unsigned n, int pagemap_fd,
                    bool *out)
{
    if (pagemap_fd >= 0) {
        uint64_t pm[CHUNK_PG];
        off_t off = (off_t)((uintptr_t)host / PAGE * sizeof(uint64_t));
        ssize_t r = pread(pagemap_fd, pm, n * sizeof(uint64_t), off);
        if (r == (ssize_t)(n * sizeof(uint64_t))) {
            for (unsigned i = 0; i < n; i++)
                out[i] = (pm[i] & (PM_PRESENT | PM_SWAPPED)) != 0;
            return;
        }
    }
    unsigned char v[CHUNK_PG];
    if (mincore((void *)(uintptr_t)host, (size_t)n * PAGE, v) == 0) {
        for (unsigned i = 0; i < n; i++)
            out[i] = v[i] & 1;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        out[i] = true;
}

static int write_region(int fd, const struct core_region *r,
                        const struct core_opts *o, struct core_stats *st)
{
    uint64_t npages = r->size / PAGE;
    for (uint64_t pg = 0; pg < npages;) {
        unsigned n =
            npages - pg < CHUNK_PG ? (unsigned)(npages - pg) : CHUNK_PG;
        bool t[CHUNK_PG];
        touched(r->host + pg * PAGE, n, o->pagemap_fd, t);
        for (unsigned i = 0; i < n;) {
            unsigned j = i;
            while (j < n && t[j] == t[i])
                j++;
            const unsigned char *p = r->host + (pg + i) * PAGE;
            uint64_t len = (uint64_t)(j - i) * PAGE;
            int e = t[i] ? write_all(fd, p, (size_t)len)
                         : skip(fd, o->seekable, len);
            if (e < 0)
                return e;
            if (t[i])
                st->data_bytes += len;
            i = j;
        }
        pg += n;
    }
    return 0;
}

int core_write(int fd, const struct core_region *regions, size_t nregions,
               const struct core_note *notes, size_t nnotes,
               const struct core_opts *o, struct core_stats *st)
{
    struct core_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof(*st));
    if (nregions > 0xfffe)
        return -E2BIG;
    uint16_t phnum = (uint16_t)(1 + nregions);
    uint64_t note_off =
        sizeof(Elf64_Ehdr) + (uint64_t)phnum * sizeof(Elf64_Phdr);
    uint64_t note_sz = core_notes_size(notes, nnotes);
    uint64_t off = (note_off + note_sz + PAGE - 1) & ~(PAGE - 1);

    Elf64_Ehdr eh = {
        .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
                    EV_CURRENT, ELFOSABI_NONE},
        .e_type = ET_CORE,
        .e_machine = o->machine,
        .e_version = EV_CURRENT,
        .e_phoff = sizeof(Elf64_Ehdr),
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = phnum,
    };
    int e = write_all(fd, &eh, sizeof(eh));
    Elf64_Phdr ph = {.p_type = PT_NOTE,
                     .p_offset = note_off,
                     .p_filesz = note_sz,
                     .p_align = 4};
    if (!e)
        e = write_all(fd, &ph, sizeof(ph));
    for (size_t i = 0; i < nregions && !e; i++) {
        const struct core_region *r = &regions[i];
        if (r->size % PAGE || (uintptr_t)r->host % PAGE)
            return -EINVAL;
        ph = (Elf64_Phdr){.p_type = PT_LOAD,
                          .p_flags = PF_R | PF_W | PF_X,
                          .p_offset = off,
                          .p_vaddr = r->gpa,
                          .p_paddr = r->gpa,
                          .p_filesz = r->size,
                          .p_memsz = r->size,
                          .p_align = PAGE};
        if (ckd_add(&off, off, r->size))
            return -EOVERFLOW;
        e = write_all(fd, &ph, sizeof(ph));
    }
    for (size_t i = 0; i < nnotes && !e; i++) {
        uint32_t nl = (uint32_t)strlen(notes[i].name) + 1;
        Elf64_Nhdr nh = {
            .n_namesz = nl, .n_descsz = notes[i].size, .n_type = notes[i].type};
        char name[64] = {0};
        if (nl > sizeof(name))
            return -EINVAL;
        memcpy(name, notes[i].name, nl);
        e = write_all(fd, &nh, sizeof(nh));
        if (!e)
            e = write_all(fd, name, pad4(nl));
        if (!e && notes[i].size)
            e = write_all(fd, notes[i].desc, notes[i].size);
        if (!e)
            e = write_all(fd, zeros, pad4(notes[i].size) - notes[i].size);
    }
    uint64_t hdr_end = note_off + note_sz;
    if (!e)
        e = write_all(fd, zeros,
                      (size_t)(((hdr_end + PAGE - 1) & ~(PAGE - 1)) - hdr_end));
    for (size_t i = 0; i < nregions && !e; i++)
        e = write_region(fd, &regions[i], o, st);
    /* A trailing hole: the file must still be as long as the headers say. */
    if (!e && o->seekable && ftruncate(fd, (off_t)off) < 0)
        e = -errno;
    st->file_size = off;
    return e;
}

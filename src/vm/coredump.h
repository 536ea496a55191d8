/*
 * coredump.h: the generic ELF64 core writer behind guest dumps
 * (docs/dumps.md). Pure: no KVM; the caller hands it the guest memory
 * regions (host mappings with their guest-physical addresses) and the
 * notes the architecture built (arch_core_notes), and a file descriptor.
 *
 * Layout: the ELF header, one PT_NOTE then one PT_LOAD per region
 * (p_paddr = p_vaddr = the guest-physical address, p_filesz = p_memsz =
 * the region's size, p_offset page-aligned), the notes, then each
 * region's bytes. Streamed: the writer holds only its small buffers, never
 * guest RAM; host pages that were never touched (neither resident nor
 * swapped, from /proc/self/pagemap, else mincore) are not read (reading
 * them would fault them in): a seekable file gets a hole (lseek, and
 * ftruncate for a trailing one), a pipe gets zeros.
 */
#ifndef QVM_VM_COREDUMP_H
#define QVM_VM_COREDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

struct core_region {
    uint64_t gpa, size;        /* size: a multiple of 4 KiB */
    const unsigned char *host; /* page-aligned host mapping of `size` */
};

struct core_note {
    const char *name; /* "CORE", "QVM" */
    uint32_t type;
    const void *desc;
    uint32_t size;
};

/* A set of notes and the storage their descriptors live in. */
struct core_notes {
    struct core_note *notes;
    size_t n;
    void *storage;
};
void core_notes_free(struct core_notes *n);
/*
 * core_notes_begin: zeroed storage of `size` bytes (out->storage) and room
 * for `max` notes; -ENOMEM with *out empty. core_notes_add appends a note
 * (at most `max`). core_ps_names: a prpsinfo's pr_fname and pr_psargs for
 * the guest `system` (NULL: "qvm-guest").
 */
int core_notes_begin(struct core_notes *out, size_t size,
                     size_t max) MUST_CHECK;
void core_notes_add(struct core_notes *out, const char *name, uint32_t type,
                    const void *desc, size_t len);
void core_ps_names(char *fname, size_t fname_len, char *psargs,
                   size_t psargs_len, const char *system);

struct core_opts {
    uint16_t machine; /* e_machine (EM_X86_64) */
    bool seekable;    /* holes by lseek; false: zeros are written */
    int pagemap_fd;   /* /proc/self/pagemap, or -1: mincore */
};

struct core_stats {
    uint64_t file_size;  /* bytes of the ELF file */
    uint64_t data_bytes; /* guest bytes read from touched pages */
};

/*
 * core_write: write the core to fd from its current position (0 for a new
 * file). 0, or a negative errno (fd's write failed: EPIPE, ENOSPC, ...).
 * Context: any thread; the regions must not change meanwhile (the vCPUs
 * are paused or stopped).
 */
int core_write(int fd, const struct core_region *regions, size_t nregions,
               const struct core_note *notes, size_t nnotes,
               const struct core_opts *o, struct core_stats *st) MUST_CHECK;

/* core_notes_size: the bytes the PT_NOTE segment of these notes takes. */
uint64_t core_notes_size(const struct core_note *notes, size_t nnotes);

#endif

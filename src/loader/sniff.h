/*
 * sniff.h: recognise a guest image by its content (qvm-reference.md 2.5,
 * 5.1). Pure: looks only at the bytes it is given.
 */
#ifndef QVM_LOADER_SNIFF_H
#define QVM_LOADER_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#include "config/spec.h"

/*
 * image_sniff: the format of an image whose first `len` bytes are `buf`
 * (pass at least the first 32 KiB when the file has them: multiboot headers
 * may be anywhere in the first 8 KiB (MB1) or 32 KiB (MB2)). Returns IMG_RAW
 * for anything not recognised. A multiboot header wins over plain ELF; the
 * a.out kludge (MB1 flag 16) wins over ELF headers; an ELF with the Xen
 * PHYS32_ENTRY note is IMG_PVH_ELF unless it also has a multiboot header.
 */
enum image_fmt image_sniff(const unsigned char *buf, size_t len);

/*
 * image_sniff_file: the same for a whole file, read through `rd` (up to
 * `len` bytes at `off`; returns bytes read or a negative errno). Unlike
 * image_sniff it also finds a PVH note that lies beyond the first 32 KiB
 * (as in Linux's vmlinux). Returns a negative errno if the file cannot be
 * read, else the format.
 */
typedef long (*sniff_read_fn)(void *ctx, uint64_t off, unsigned char *buf,
                              size_t len);
int image_sniff_file(sniff_read_fn rd, void *ctx, enum image_fmt *fmt);

/* image_is_executable: true for formats that set the boot entry point. */
int image_is_executable(enum image_fmt f);

#endif

/*
 * sniff.h: recognise a guest image by its content (qvm-reference.md 2.5,
 * 5.1). Pure: looks only at the bytes it is given.
 */
#ifndef QVM_LOADER_SNIFF_H
#define QVM_LOADER_SNIFF_H

#include <stddef.h>

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

/* image_is_executable: true for formats that set the boot entry point. */
int image_is_executable(enum image_fmt f);

#endif

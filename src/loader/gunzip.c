/*
 * gunzip.c: gzip-compressed guest images (RFC 1952) through zlib, bounded
 * by a caller-given limit (the guest's RAM) so that a decompression bomb
 * is an error, not an out-of-memory kill.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "loader/boot.h"

#define fail boot_fail

int boot_gunzip(const struct boot_image *in, uint64_t limit,
                struct boot_image *out, struct boot_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return fail(err, "zlib: cannot initialise");
    size_t cap = 1 << 20, len = 0;
    if (limit < cap)
        cap = limit ? (size_t)limit : 1;
    unsigned char *buf = malloc(cap);
    const unsigned char *src = in->data;
    size_t left = in->size;
    int rc = Z_OK;
    while (buf && rc != Z_STREAM_END) {
        if (len == cap) {
            if (cap >= limit)
                break;
            size_t ncap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
            if (ncap > limit)
                ncap = (size_t)limit;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        uInt in_chunk = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
        uInt out_chunk =
            cap - len > UINT32_MAX ? UINT32_MAX : (uInt)(cap - len);
        zs.next_in = (Bytef *)(uintptr_t)src;
        zs.avail_in = in_chunk;
        zs.next_out = buf + len;
        zs.avail_out = out_chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        src += in_chunk - zs.avail_in;
        left -= in_chunk - zs.avail_in;
        len += out_chunk - zs.avail_out;
        if (rc == Z_BUF_ERROR && zs.avail_out != 0 && left == 0) {
            rc = Z_DATA_ERROR; /* no more input: truncated */
            break;
        }
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            break;
    }
    const char *msg = zs.msg;
    inflateEnd(&zs);
    if (!buf)
        return fail(err, "out of memory decompressing the gzip image");
    if (rc != Z_STREAM_END) {
        free(buf);
        if (len == cap && cap >= limit)
            return fail(err,
                        "the gzip image decompresses to more than the "
                        "guest's RAM (0x%llx bytes)",
                        (unsigned long long)limit);
        return fail(err, "corrupt or truncated gzip data%s%s", msg ? ": " : "",
                    msg ? msg : "");
    }
    out->data = buf;
    out->size = len;
    out->path = in->path;
    return 0;
}

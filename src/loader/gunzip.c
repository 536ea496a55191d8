/*
 * gunzip.c: gzip-compressed guest images (RFC 1952) through zlib, bounded
 * by a caller-given limit (boot_gunzip_limit: the guest's RAM, at most
 * 512 MiB) so that a decompression bomb is a clear error, not an
 * out-of-memory kill: the output buffer never grows past the limit.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "loader/boot.h"
#include "util/num.h"

#define fail boot_fail

uint64_t boot_gunzip_limit(uint64_t ram)
{
    return ram < BOOT_GUNZIP_MAX ? ram : BOOT_GUNZIP_MAX;
}

/* More output than `limit`? The output buffer is full: one byte more of
 * room tells a stream that ends here from one that goes on. */
static int probe_end(z_stream *zs, const unsigned char **src, size_t *left)
{
    unsigned char extra;
    for (;;) {
        uInt in_chunk = *left > UINT32_MAX ? UINT32_MAX : (uInt)*left;
        zs->next_in = (Bytef *)(uintptr_t)*src;
        zs->avail_in = in_chunk;
        zs->next_out = &extra;
        zs->avail_out = 1;
        int rc = inflate(zs, Z_NO_FLUSH);
        zs->next_out = NULL; /* no pointer to `extra` outlives the call */
        *src += in_chunk - zs->avail_in;
        *left -= in_chunk - zs->avail_in;
        if (zs->avail_out == 0)
            return Z_NEED_DICT; /* output past the limit */
        if (rc != Z_OK || in_chunk == zs->avail_in)
            return rc == Z_BUF_ERROR ? Z_DATA_ERROR : rc;
    }
}

int boot_gunzip(const struct boot_image *in, uint64_t limit,
                struct boot_image *out, struct boot_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return fail(err, "zlib: cannot initialise");
    if (limit > SIZE_MAX)
        limit = SIZE_MAX;
    /* The buffer grows by doubling, never past `limit`. */
    size_t cap = 1 << 20, len = 0;
    if (limit < cap)
        cap = limit ? (size_t)limit : 1;
    unsigned char *buf = malloc(cap);
    const unsigned char *src = in->data;
    size_t left = in->size;
    int rc = Z_OK;
    bool too_big = false;
    while (buf && rc != Z_STREAM_END) {
        if (len == cap) {
            if (cap >= limit) {
                rc = probe_end(&zs, &src, &left);
                too_big = rc == Z_NEED_DICT;
                break;
            }
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
        /* cppcheck-suppress nullPointerArithmeticRedundantCheck
         * (the loop runs only while buf is set) */
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
        if (too_big) {
            char lim[32];
            size_str(limit, lim, sizeof(lim));
            return fail(err,
                        "the gzip image decompresses to more than %s (a "
                        "kernel may take the guest's RAM, at most 512M); "
                        "not loaded",
                        lim);
        }
        return fail(err, "corrupt or truncated gzip data%s%s", msg ? ": " : "",
                    msg ? msg : "");
    }
    out->data = buf;
    out->size = len;
    out->path = in->path;
    return 0;
}

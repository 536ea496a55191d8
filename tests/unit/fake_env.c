/* fake_env.c: an in-memory host for the front-end tests and the fuzzer. */
#include "fake_env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct fake_file *g_files;

static const struct fake_file *find(void *ctx, const char *path)
{
    (void)ctx;
    for (const struct fake_file *f = g_files; f && f->path; f++)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}

static size_t flen(const struct fake_file *f)
{
    return f->len ? f->len : (f->data ? strlen(f->data) : 0);
}

static int fk_read(void *ctx, const char *path, char **data, size_t *len)
{
    const struct fake_file *f = find(ctx, path);
    if (!f || f->dir || !f->data)
        return f && f->dir ? -EISDIR : -ENOENT;
    *len = flen(f);
    *data = malloc(*len + 1);
    if (!*data)
        return -ENOMEM;
    memcpy(*data, f->data, *len);
    (*data)[*len] = '\0';
    return 0;
}

static int fk_id(void *ctx, const char *path, char *out, size_t outlen)
{
    const struct fake_file *f = find(ctx, path);
    if (!f || (!f->data && !f->dir))
        return -ENOENT;
    const char *p = path;
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    strncpy(out, p, outlen - 1);
    out[outlen - 1] = '\0';
    return 0;
}

static void fk_stat(void *ctx, const char *path, struct host_file *hf)
{
    const struct fake_file *f = find(ctx, path);
    memset(hf, 0, sizeof(*hf));
    if (!f || (!f->data && !f->dir)) {
        hf->err = ENOENT;
        return;
    }
    hf->exists = true;
    hf->is_dir = f->dir;
    hf->is_reg = !f->dir;
    hf->size = flen(f);
}

static long fk_read_at(void *ctx, const char *path, uint64_t off,
                       unsigned char *buf, size_t len)
{
    const struct fake_file *f = find(ctx, path);
    if (!f || !f->data)
        return -ENOENT;
    if (off >= flen(f))
        return 0;
    size_t n = flen(f) - off < len ? flen(f) - off : len;
    memcpy(buf, f->data + off, n);
    return (long)n;
}

static int fk_list_dir(void *ctx, const char *path,
                       void (*each)(void *arg, const char *name), void *arg)
{
    const struct fake_file *d = find(ctx, path);
    if (!d || !d->dir)
        return d ? -ENOTDIR : -ENOENT;
    size_t n = strlen(path);
    for (const struct fake_file *f = g_files; f && f->path; f++) {
        const char *rest = f->path + n;
        if (strncmp(f->path, path, n) == 0 && rest[0] == '/' && rest[1] &&
            !strchr(rest + 1, '/') && (f->data || f->dir || f->link))
            each(arg, rest + 1);
    }
    return 0;
}

static long fk_read_link(void *ctx, const char *path, char *out, size_t len)
{
    const struct fake_file *f = find(ctx, path);
    if (!f || !f->link)
        return f ? -EINVAL : -ENOENT;
    if (len == 0)
        return -EINVAL;
    size_t n = strlen(f->link) < len - 1 ? strlen(f->link) : len - 1;
    memcpy(out, f->link, n);
    out[n] = '\0';
    return (long)n;
}

static int fk_asinfo(void *ctx, const char *name, uint64_t *start,
                     uint64_t *length)
{
    (void)ctx;
    if (strcmp(name, "ram0") == 0) {
        *start = 0x80000000;
        *length = 0x10000000;
        return 0;
    }
    if (strcmp(name, "dev1") == 0) {
        *start = 0xfe000000;
        *length = 0x1000;
        return 0;
    }
    return -ENOENT;
}

const struct cfg_env *fake_env(const struct fake_file *files)
{
    static struct cfg_env env;
    env.read_file = fk_read;
    env.file_id = fk_id;
    env.stat_file = fk_stat;
    env.read_at = fk_read_at;
    env.list_dir = fk_list_dir;
    env.read_link = fk_read_link;
    env.asinfo = fk_asinfo;
    env.ctx = NULL;
    g_files = files;
    return &env;
}

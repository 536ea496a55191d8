/* lexer.c: argv and @files into one token stream (grammar in lexer.h). */
#include "config/lexer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/num.h"
#include "util/strbuf.h"

void lex_init(struct lexer *lx, const struct cfg_env *env, struct diag *dg)
{
    memset(lx, 0, sizeof(*lx));
    lx->env = env;
    lx->dg = dg;
}

void lex_free(struct lexer *lx)
{
    for (size_t i = 0; i < lx->toks.n; i++)
        free(lx->toks.v[i].text);
    for (size_t i = 0; i < lx->files.n; i++)
        free(lx->files.v[i]);
    for (size_t i = 0; i < lx->stack.n; i++)
        free(lx->stack.v[i]);
    VEC_FREE(&lx->toks);
    VEC_FREE(&lx->files);
    VEC_FREE(&lx->stack);
    VEC_FREE(&lx->chain);
}

static const char *intern(struct lexer *lx, const char *name)
{
    for (size_t i = 0; i < lx->files.n; i++)
        if (strcmp(lx->files.v[i], name) == 0)
            return lx->files.v[i];
    char *copy = strdup(name);
    char **slot = copy ? VEC_PUSH(&lx->files) : NULL;
    if (!slot) {
        free(copy);
        return "<out of memory>";
    }
    *slot = copy;
    return copy;
}

/* Replaces $asinfo_start{NAME} / $asinfo_length{NAME}; false on error. */
static bool subst_asinfo(struct lexer *lx, struct strbuf *out, const char *text,
                         const struct src_span *at)
{
    static const char pfx[] = "$asinfo_";
    const char *p = text;
    const char *hit;
    while ((hit = strstr(p, pfx)) != NULL) {
        for (const char *q = p; q < hit; q++)
            sb_putc(out, *q);
        const char *kind = hit + sizeof(pfx) - 1;
        bool is_start = strncmp(kind, "start{", 6) == 0;
        bool is_len = strncmp(kind, "length{", 7) == 0;
        const char *name = kind + (is_start ? 6 : 7);
        const char *close = (is_start || is_len) ? strchr(name, '}') : NULL;
        if (!close || close == name) {
            diag_error(lx->dg, at,
                       "malformed '%s' (write $asinfo_start{NAME} or "
                       "$asinfo_length{NAME})",
                       text);
            return false;
        }
        char nm[128];
        size_t n = (size_t)(close - name);
        if (n >= sizeof(nm))
            n = sizeof(nm) - 1;
        memcpy(nm, name, n);
        nm[n] = '\0';
        uint64_t start = 0, length = 0;
        if (!lx->env->asinfo ||
            lx->env->asinfo(lx->env->ctx, nm, &start, &length) != 0) {
            diag_error(lx->dg, at,
                       "unknown host memory region '%s' in $asinfo "
                       "(regions come from $QVM_ASINFO or /etc/qvm/asinfo)",
                       nm);
            return false;
        }
        sb_printf(out, "0x%" PRIx64, is_start ? start : length);
        p = close + 1;
    }
    sb_puts(out, p);
    return true;
}

static void include_file(struct lexer *lx, const char *path,
                         const struct src_span *at);

static void push_token(struct lexer *lx, const char *text, bool quoted,
                       struct src_span span)
{
    if (!quoted && text[0] == '@') {
        if (!text[1]) {
            diag_error(lx->dg, &span, "'@' must be followed by a file name");
            return;
        }
        include_file(lx, text + 1, &span);
        return;
    }
    if (lx->toks.n >= LEX_MAX_TOKENS) {
        if (lx->toks.n == LEX_MAX_TOKENS)
            diag_error(lx->dg, &span, "configuration has more than %u words",
                       LEX_MAX_TOKENS);
        return;
    }
    struct strbuf sb;
    sb_init(&sb);
    bool bad = false;
    if (strstr(text, "$asinfo_") && !subst_asinfo(lx, &sb, text, &span)) {
        sb_free(&sb);
        bad = true; /* keep the word, so its option does not eat the next */
    }
    char *copy = sb.s ? sb.s : strdup(text);
    if (sb.oom || !copy) {
        if (copy != sb.s)
            free(copy);
        sb_free(&sb);
        diag_error(lx->dg, &span, "out of memory");
        return;
    }
    struct token *t = VEC_PUSH(&lx->toks);
    if (!t) {
        free(copy);
        diag_error(lx->dg, &span, "out of memory");
        return;
    }
    t->text = copy;
    t->span = span;
    t->quoted = quoted;
    t->bad = bad;
}

void lex_argv(struct lexer *lx, int argc, const char *const *argv)
{
    const char *file = intern(lx, "<command line>");
    for (int i = 0; i < argc; i++) {
        struct src_span sp = {file, 1, (uint32_t)i + 1};
        push_token(lx, argv[i], false, sp);
    }
}

struct cursor {
    const char *data;
    size_t len, i;
    uint32_t line, col;
};

static void advance(struct cursor *c)
{
    if (c->data[c->i] == '\n') {
        c->line++;
        c->col = 1;
    } else {
        c->col++;
    }
    c->i++;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' ||
           ch == '\f';
}

/* Inside quotes: a blank run (with backslash-newlines) at c->i. */
static void quoted_blanks(struct cursor *c, struct strbuf *tok)
{
    size_t start = c->i;
    bool fold = false;
    while (c->i < c->len) {
        char ch = c->data[c->i];
        if (ch == '\\' && c->i + 1 < c->len &&
            (c->data[c->i + 1] == '\n' ||
             (c->data[c->i + 1] == '\r' && c->i + 2 < c->len &&
              c->data[c->i + 2] == '\n'))) {
            fold = true;
            advance(c);
            continue;
        }
        if (!is_blank(ch))
            break;
        if (ch != ' ')
            fold = true;
        advance(c);
    }
    if (fold)
        sb_putc(tok, ' ');
    else
        for (size_t k = start; k < c->i; k++)
            sb_putc(tok, c->data[k]);
}

/* Reads one word at c->i; returns false when it must be dropped. */
static bool read_word(struct lexer *lx, struct cursor *c, const char *file,
                      struct strbuf *tok, bool *quoted)
{
    bool in_q = false;
    struct src_span qspan = {file, 0, 0};
    bool ok = true;
    while (c->i < c->len) {
        char ch = c->data[c->i];
        if (ch == '\0') {
            struct src_span sp = {file, c->line, c->col};
            diag_error(lx->dg, &sp, "NUL byte in configuration text");
            advance(c); /* the word around it is kept: no cascade */
            continue;
        }
        if (!in_q) {
            if (is_blank(ch))
                break;
            if (ch == '"') {
                in_q = true;
                *quoted = true;
                qspan.line = c->line;
                qspan.col = c->col;
                advance(c);
                continue;
            }
            sb_putc(tok, ch);
            advance(c);
            continue;
        }
        if (ch == '"') {
            in_q = false;
            advance(c);
            continue;
        }
        if (ch == '\\' && c->i + 1 < c->len &&
            (c->data[c->i + 1] == '"' || c->data[c->i + 1] == '\\')) {
            advance(c);
            sb_putc(tok, c->data[c->i]);
            advance(c);
            continue;
        }
        if (is_blank(ch) || ch == '\\') {
            size_t before = c->i;
            quoted_blanks(c, tok);
            if (c->i != before)
                continue;
        }
        sb_putc(tok, ch);
        advance(c);
    }
    if (in_q) {
        diag_error(lx->dg, &qspan, "unterminated quote");
        return false;
    }
    return ok;
}

void lex_buffer(struct lexer *lx, const char *name, const char *data,
                size_t len)
{
    const char *file = intern(lx, name);
    struct cursor c = {data, len, 0, 1, 1};
    while (c.i < c.len) {
        char ch = c.data[c.i];
        if (is_blank(ch)) {
            advance(&c);
            continue;
        }
        if (ch == '#') {
            while (c.i < c.len && c.data[c.i] != '\n')
                advance(&c);
            continue;
        }
        struct src_span sp = {file, c.line, c.col};
        struct strbuf tok;
        sb_init(&tok);
        bool quoted = false;
        bool ok = read_word(lx, &c, file, &tok, &quoted);
        if (!tok.oom)
            push_token(lx, tok.s ? tok.s : "", quoted, sp);
        if (!ok && lx->toks.n)
            lx->toks.v[lx->toks.n - 1].bad = true; /* reported; no cascade */
        sb_free(&tok);
    }
}

static void include_file(struct lexer *lx, const char *path,
                         const struct src_span *at)
{
    if (lx->stack.n >= LEX_MAX_DEPTH) {
        diag_error(lx->dg, at, "'@%s' nests deeper than %d files", path,
                   LEX_MAX_DEPTH);
        return;
    }
    char id[PATH_MAX];
    int r = lx->env->file_id(lx->env->ctx, path, id, sizeof(id));
    if (r < 0) {
        diag_error(lx->dg, at, "cannot read '@%s': %s", path, strerror(-r));
        return;
    }
    for (size_t i = 0; i < lx->stack.n; i++) {
        if (strcmp(lx->stack.v[i], id) == 0) {
            diag_error(lx->dg, at, "'@%s' includes itself (an @file cycle)",
                       path);
            for (size_t k = lx->chain.n; k-- > 0;)
                diag_note(lx->dg, lx->chain.v[k], "included from here");
            return;
        }
    }
    char *data = NULL;
    size_t len = 0;
    r = lx->env->read_file(lx->env->ctx, path, &data, &len);
    if (r < 0) {
        diag_error(lx->dg, at, "cannot read '@%s': %s", path,
                   r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
        return;
    }
    char *idc = strdup(id);
    char **slot = idc ? VEC_PUSH(&lx->stack) : NULL;
    const struct src_span **site = slot ? VEC_PUSH(&lx->chain) : NULL;
    if (!site) {
        if (slot)
            lx->stack.n--;
        free(idc);
        free(data);
        diag_error(lx->dg, at, "out of memory");
        return;
    }
    *slot = idc;
    /* The include site may move when toks grows; keep a private copy. */
    struct src_span site_copy = *at;
    *site = &site_copy;
    lex_buffer(lx, path, data, len);
    lx->chain.n--;
    lx->stack.n--;
    free(idc);
    free(data);
}

/* ---- the real host ---------------------------------------------------- */

/* read_stream: all of a pipe or character device, at most LEX_MAX_FILE
 * bytes (-EFBIG beyond). Closes fd. */
static int read_stream(int fd, char **data, size_t *len)
{
    size_t cap = 4096, got = 0;
    char *buf = malloc(cap + 1);
    int rc = buf ? 0 : -ENOMEM;
    while (rc == 0) {
        if (got == cap) {
            char *nb = cap >= LEX_MAX_FILE ? NULL : realloc(buf, cap * 2 + 1);
            if (!nb) {
                rc = cap >= LEX_MAX_FILE ? -EFBIG : -ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -errno;
        else if (n == 0)
            break;
        else
            got += (size_t)n;
    }
    close(fd);
    if (rc == 0 && got > LEX_MAX_FILE)
        rc = -EFBIG;
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

static int host_read_file(void *ctx, const char *path, char **data, size_t *len)
{
    (void)ctx;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
        return read_stream(fd, data, len); /* @/dev/stdin, a pipe */
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    if ((uint64_t)st.st_size > LEX_MAX_FILE) {
        close(fd);
        return -EFBIG;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

static int host_file_id(void *ctx, const char *path, char *out, size_t outlen)
{
    (void)ctx;
    char buf[PATH_MAX];
    if (realpath(path, buf)) {
        snprintf(out, outlen, "%s", buf);
        return 0;
    }
    /* No path of its own (/dev/stdin on a pipe): identify it by inode, so
     * include cycles are still caught. */
    int e = errno;
    struct stat st;
    if (stat(path, &st) < 0)
        return -e;
    snprintf(out, outlen, "<dev %ju inode %ju>", (uintmax_t)st.st_dev,
             (uintmax_t)st.st_ino);
    return 0;
}

static void host_stat_file(void *ctx, const char *path, struct host_file *hf)
{
    (void)ctx;
    struct stat st;
    memset(hf, 0, sizeof(*hf));
    if (stat(path, &st) < 0) {
        hf->err = errno;
        return;
    }
    hf->exists = true;
    hf->is_reg = S_ISREG(st.st_mode);
    hf->is_dir = S_ISDIR(st.st_mode);
    hf->is_blk = S_ISBLK(st.st_mode);
    hf->is_chr = S_ISCHR(st.st_mode);
    hf->is_fifo = S_ISFIFO(st.st_mode);
    hf->size = (uint64_t)st.st_size;
}

static long host_read_at(void *ctx, const char *path, uint64_t off,
                         unsigned char *buf, size_t len)
{
    (void)ctx;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return (long)got;
}

static int host_list_dir(void *ctx, const char *path,
                         void (*each)(void *arg, const char *name), void *arg)
{
    (void)ctx;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            each(arg, e->d_name);
    closedir(d);
    return 0;
}

static long host_read_link(void *ctx, const char *path, char *out, size_t len)
{
    (void)ctx;
    if (len == 0)
        return -EINVAL;
    ssize_t n = readlink(path, out, len - 1);
    if (n < 0)
        return -errno;
    out[n] = '\0';
    return (long)n;
}

static int host_asinfo(void *ctx, const char *name, uint64_t *start,
                       uint64_t *length)
{
    (void)ctx;
    const char *path = getenv("QVM_ASINFO");
    FILE *f = fopen(path && *path ? path : "/etc/qvm/asinfo", "re");
    if (!f)
        return -ENOENT;
    char line[512];
    int r = -ENOENT;
    while (fgets(line, sizeof(line), f)) {
        char nm[128], s[64], l[64];
        if (line[0] == '#' || sscanf(line, "%127s %63s %63s", nm, s, l) != 3)
            continue;
        if (strcmp(nm, name) != 0)
            continue;
        if (num_parse(s, true, start) == NUM_OK &&
            num_parse(l, true, length) == NUM_OK)
            r = 0;
        break;
    }
    fclose(f);
    return r;
}

const struct cfg_env *cfg_env_host(void)
{
    static const struct cfg_env env = {
        .read_file = host_read_file,
        .file_id = host_file_id,
        .stat_file = host_stat_file,
        .read_at = host_read_at,
        .list_dir = host_list_dir,
        .read_link = host_read_link,
        .asinfo = host_asinfo,
    };
    return &env;
}

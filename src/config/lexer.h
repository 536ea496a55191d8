/*
 * lexer.h: the qvmconf token stream (qvm-reference.md 1.1-1.4).
 *
 * Command-line words and `@file`s form ONE stream, read once, top to bottom.
 * Each command-line word is one token (the shell already split them); a word
 * `@path` is replaced by the tokens of that file. In files:
 *   - tokens are separated by blanks (space, tab, CR, LF); line breaks carry
 *     no meaning;
 *   - `#` at the start of a token begins a comment that runs to end of line;
 *   - double quotes group text with blanks ("a b"); they may occur inside a
 *     word (hostdev >"|tee log"). Inside quotes, backslash-newline continues
 *     the line, a run of blanks containing a newline or tab folds into one
 *     space, and \" and \\ are the only escapes;
 *   - a token `@path` (unquoted) includes another file, nested to any depth
 *     up to LEX_MAX_DEPTH, resolved against qvm's current directory (as QNX
 *     does, not the including file's); an include cycle is an error;
 *   - `$asinfo_start{NAME}` and `$asinfo_length{NAME}` are replaced by the
 *     start / length of the host memory region NAME (see cfg_env.asinfo).
 */
#ifndef QVM_CONFIG_LEXER_H
#define QVM_CONFIG_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/diag.h"
#include "util/vec.h"

#define LEX_MAX_DEPTH  16
#define LEX_MAX_FILE   (16u << 20) /* a configuration file above 16 MiB */
#define LEX_MAX_TOKENS (1u << 20)

struct token {
    char *text;
    struct src_span span;
    bool quoted;
    bool bad; /* already reported (e.g. unknown $asinfo): skip quietly */
};

/* What the front end may ask of the host; replaced by fakes in tests. */
struct host_file {
    bool exists, is_reg, is_dir, is_blk, is_chr, is_fifo;
    uint64_t size;
    int err; /* errno when !exists */
};

struct cfg_env {
    /* read_file: whole file into a malloc'd buffer; 0 or -errno. */
    int (*read_file)(void *ctx, const char *path, char **data, size_t *len);
    /* file_id: a stable identity for cycle detection; 0 or -errno. */
    int (*file_id)(void *ctx, const char *path, char *out, size_t outlen);
    /* stat_file: what is at `path` (follows symlinks). */
    void (*stat_file)(void *ctx, const char *path, struct host_file *hf);
    /* read_at: up to `len` bytes of a host file from offset `off`; bytes
     * read (short at the end of the file) or -errno */
    long (*read_at)(void *ctx, const char *path, uint64_t off,
                    unsigned char *buf, size_t len);
    /* list_dir: calls each(arg, name) for every entry of a directory but
     * "." and "..", in no particular order; 0 or -errno. */
    int (*list_dir)(void *ctx, const char *path,
                    void (*each)(void *arg, const char *name), void *arg);
    /* read_link: the target of a symbolic link, NUL-terminated in out
     * (truncated to len - 1); its length or -errno. */
    long (*read_link)(void *ctx, const char *path, char *out, size_t len);
    /* asinfo: host memory region by name; 0 or -ENOENT. */
    int (*asinfo)(void *ctx, const char *name, uint64_t *start,
                  uint64_t *length);
    void *ctx;
};

/* cfg_env_host: the real filesystem; asinfo from $QVM_ASINFO, else
 * /etc/qvm/asinfo (lines "NAME START LENGTH", # comments). */
const struct cfg_env *cfg_env_host(void);

struct lexer {
    VEC(struct token) toks;
    VEC(char *) files; /* interned file names, owned */
    VEC(char *) stack; /* identities of files being read (cycles) */
    VEC(const struct src_span *) chain; /* include sites, for messages */
    const struct cfg_env *env;
    struct diag *dg;
};

void lex_init(struct lexer *lx, const struct cfg_env *env, struct diag *dg);
void lex_free(struct lexer *lx);
/* lex_argv: tokens of argv[0..argc) (not the program name). */
void lex_argv(struct lexer *lx, int argc, const char *const *argv);
/* lex_buffer: tokens of an in-memory file named `name` (tests, fuzzing). */
void lex_buffer(struct lexer *lx, const char *name, const char *data,
                size_t len);

#endif

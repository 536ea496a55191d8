/* fake_env.h: an in-memory host for front-end tests (no filesystem). */
#ifndef QVM_TESTS_FAKE_ENV_H
#define QVM_TESTS_FAKE_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include "config/lexer.h"

struct fake_file {
    const char *path;
    const char *data; /* NULL with dir=false: does not exist */
    size_t len;       /* 0: strlen(data) */
    bool dir;
    const char *link; /* a symbolic link to this target (data NULL) */
};

/* fake_env: files[] is NULL-path-terminated; asinfo has "ram0" and "dev1".
 * A directory lists the paths directly below it that files[] names. */
const struct cfg_env *fake_env(const struct fake_file *files);

#endif

/*
 * fuzz_qvmconf.c: libFuzzer target for the whole configuration front end:
 * lexer, parser, semantic checks and both dryrun printers, on an in-memory
 * host (tests/unit/fake_env.c), so any byte string is a configuration file.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/front.h"
#include "fake_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char elf[64] = "\x7f"
                      "ELF\x02\x01\x01";

static const struct fake_file files[] = {
    {.path = "g.elf", .data = elf, .len = sizeof(elf)},
    {.path = "raw.bin", .data = "raw"},
    {.path = "disk.img", .data = "disk"},
    {.path = "inc", .data = "ram 1m cpu vdev ser8250 hostdev >-"},
    {.path = "loop", .data = "cpu @loop"},
    {.path = "dir", .dir = true},
    {0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum arch arches[] = {ARCH_X86_64, ARCH_AARCH64};
    for (unsigned a = 0; a < 2; a++) {
        struct diag dg;
        struct vm_spec spec;
        diag_init(&dg, NULL);
        spec_init(&spec, arches[a]);
        struct cfg_result res;
        if (cfg_build_buffer("fuzz", (const char *)data, size, fake_env(files),
                             &dg, &spec, &res)) {
            struct strbuf sb;
            sb_init(&sb);
            dryrun_text(&spec, &sb);
            dryrun_json(&spec, &sb);
            sb_free(&sb);
        }
        spec_free(&spec);
    }
    return 0;
}

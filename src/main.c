/*
 * main.c: qvm's entry point: qvm flags, the configuration front end, then
 * dryrun or the VM. The only place that maps results to exit codes
 * (docs/exit-codes.md).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arch/arm64/plan.h"
#include "config/front.h"
#include "devices/device.h"
#include "util/log.h"
#include "vm/vm.h"

#define EXIT_CONFIG 65

static int print_out(struct strbuf *sb, FILE *f)
{
    if (sb->oom) {
        fprintf(stderr, "qvm: out of memory\n");
        sb_free(sb);
        return 64;
    }
    fputs(sb_cstr(sb), f);
    sb_free(sb);
    return 0;
}

static int cmd_help(int argc, char **argv, enum arch arch)
{
    struct strbuf sb;
    sb_init(&sb);
    if (argc >= 1 && strcmp(argv[0], "--markdown") == 0) {
        help_markdown(&sb);
    } else if (argc >= 1 && strcmp(argv[0], "--man") == 0) {
        help_man(&sb);
    } else if (argc >= 1 && strcmp(argv[0], "--man-vdevs") == 0) {
        help_man_vdevs(&sb);
    } else if (argc >= 1 && strcmp(argv[0], "vdev") == 0) {
        if (help_vdev(&sb, argc >= 2 ? argv[1] : NULL, arch) < 0) {
            fprintf(stderr,
                    "qvm: unknown vdev type '%s' (qvm help vdev "
                    "lists them)\n",
                    argv[1]);
            sb_free(&sb);
            return EXIT_CONFIG;
        }
    } else if (argc >= 1 && strcmp(argv[0], "set") == 0) {
        help_set_vars(&sb, arch);
    } else {
        help_usage(&sb, arch);
    }
    return print_out(&sb, stdout);
}

int main(int argc, char **argv)
{
    enum arch arch = ARCH_X86_64;
#if defined(__aarch64__)
    arch = ARCH_AARCH64;
#endif
    bool json = false, strict = false, arch_forced = false;
    int i = 1;
    /* Load the time zone now: the RTC's gmtime_r/timegm would otherwise
     * open /etc/localtime on a vCPU thread, under its seccomp filter. */
    tzset();
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return cmd_help(0, NULL, arch);
        if (strcmp(argv[i], "--version") == 0) {
            printf("qvm %s\n", QVM_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--strict-config") == 0) {
            strict = true;
        } else if (strcmp(argv[i], "--target-arch") == 0 && i + 1 < argc) {
            i++;
            arch_forced = true;
            if (strcmp(argv[i], "aarch64") == 0)
                arch = ARCH_AARCH64;
            else if (strcmp(argv[i], "x86_64") == 0)
                arch = ARCH_X86_64;
            else {
                fprintf(stderr,
                        "qvm: unknown architecture '%s' (x86_64 or "
                        "aarch64)\n",
                        argv[i]);
                return EXIT_CONFIG;
            }
        } else {
            fprintf(stderr, "qvm: unknown flag '%s' (qvm --help)\n", argv[i]);
            return EXIT_CONFIG;
        }
    }
    if (i < argc && strcmp(argv[i], "help") == 0)
        return cmd_help(argc - i - 1, argv + i + 1, arch);
    if (i == argc) {
        fprintf(stderr, "qvm: no configuration given (usage: qvm "
                        "@FILE.qvmconf [option ...]; qvm --help)\n");
        return EXIT_CONFIG;
    }

    struct diag dg;
    diag_init(&dg, stderr);
    dg.strict = strict;
    struct vm_spec spec;
    spec_init(&spec, arch);
    struct cfg_result res;
    bool ok = cfg_build(argc - i, (const char *const *)(argv + i),
                        cfg_env_host(), &dg, &spec, &res);
    if (res.list_set_vars && ok) {
        struct strbuf sb;
        sb_init(&sb);
        help_set_vars(&sb, arch);
        spec_free(&spec);
        return print_out(&sb, stdout);
    }
    if (!ok) {
        fprintf(stderr, "qvm: %u error%s in the configuration; exiting\n",
                dg.errors, dg.errors == 1 ? "" : "s");
        spec_free(&spec);
        return EXIT_CONFIG;
    }
    int rc;
    if (spec.dryrun) {
        struct strbuf sb;
        sb_init(&sb);
        if (json)
            dryrun_json(&spec, &sb);
        else
            dryrun_text(&spec, &sb);
        rc = print_out(&sb, stdout);
        /* QNX's qvm writes the device tree on a dryrun too: the tree the
         * guest would get, overlays applied (arch/arm64/plan.h). */
        const char *fdt_file = spec_set_var(&spec, "fdt-dump-file");
        if (rc == 0 && spec.arch == ARCH_AARCH64 && fdt_file) {
            if (arm64_dryrun_fdt(&spec, fdt_file) < 0)
                rc = EXIT_CONFIG;
            else if (!json) /* QNX's line; the JSON has the variable */
                printf("FDT saved to '%s'\n", fdt_file);
        }
        if (rc == 0)
            fprintf(json ? stderr : stdout, "Exiting: dryrun completed\n");
    } else if (arch_forced) {
        fprintf(stderr, "qvm: --target-arch only checks a configuration "
                        "(add dryrun)\n");
        rc = EXIT_CONFIG;
    } else {
        for (int c = 0; c < LOG_NCLASS; c++)
            log_set_dest((enum log_class)c, (enum log_dest)spec.log_dest[c]);
        devices_log_routes(&spec);       /* each vdev's `log FILTERS DEST` */
        log_slog_set_ident(spec.system); /* `slog`: qvm@SYSTEM */
        rc = vm_run(&spec);
    }
    spec_free(&spec);
    return rc;
}

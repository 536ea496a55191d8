/*
 * acpi_dump_tables.c: writes the ACPI tables qvm builds for the sample
 * boards of x86_boards.h (tboard_qnx, tboard_2ioapic, tboard_bare) to
 * DIR/BOARD/sig.dat, one file per table as `acpidump -b` writes them
 * (xsdt, rsdt, facp, facs, dsdt, apic, mcfg, hpet), for ACPICA's
 * disassembler (tests/unit/acpi-iasl.sh runs `iasl -d` on each). Not the
 * RSDP: Debian 12's iasl (20200925) does not read it from a file.
 * Usage: acpi_dump_tables DIR. Exit status 0, or 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "x86_boards.h"
#include "arch/x86/acpi.h"
#include "arch/x86/board.h"
#include "util/le.h"

static uint8_t area[ACPI_AREA_SIZE];

static int put(const char *dir, const char *name, const uint8_t *t, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(t, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "acpi_dump_tables: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The table at guest address gpa, with its length, or NULL. */
static const uint8_t *table(uint64_t gpa, size_t used, uint32_t *len)
{
    if (gpa < ACPI_AREA_BASE || gpa - ACPI_AREA_BASE + 8 > used)
        return NULL;
    const uint8_t *t = area + (gpa - ACPI_AREA_BASE);
    *len = le_get32(t + 4);
    if (*len < 8 || gpa - ACPI_AREA_BASE + *len > used)
        return NULL;
    return t;
}

/* A table under its signature, lower-cased. */
static int put_table(const char *dir, const uint8_t *t, uint32_t len)
{
    char sig[5];
    for (int i = 0; i < 4; i++)
        sig[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] - 'A' + 'a' : t[i]);
    sig[4] = 0;
    return put(dir, sig, t, len);
}

static int dump(const char *top, const char *name, const struct x86_board *b)
{
    char dir[4096], err[256];
    snprintf(dir, sizeof(dir), "%s/%s", top, name);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "acpi_dump_tables: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    long used = acpi_build(b, NULL, 0, area, sizeof(area), ACPI_AREA_BASE, err,
                           sizeof(err));
    if (used < 0) {
        fprintf(stderr, "acpi_dump_tables: %s: %s\n", name, err);
        return -1;
    }
    uint32_t len;
    const uint8_t *x = table(le_get64(area + 24), (size_t)used, &len);
    const uint8_t *r = table(le_get32(area + 16), (size_t)used, &len);
    if (!x || !r) {
        fprintf(stderr, "acpi_dump_tables: %s: no XSDT/RSDT\n", name);
        return -1;
    }
    if (put_table(dir, r, len) < 0)
        return -1;
    uint32_t xlen = le_get32(x + 4);
    if (put_table(dir, x, xlen) < 0)
        return -1;
    for (uint32_t o = 36; o + 8 <= xlen; o += 8) {
        const uint8_t *t = table(le_get64(x + o), (size_t)used, &len);
        if (!t) {
            fprintf(stderr, "acpi_dump_tables: %s: bad XSDT entry\n", name);
            return -1;
        }
        if (put_table(dir, t, len) < 0)
            return -1;
        if (memcmp(t, "FACP", 4) != 0)
            continue;
        const uint8_t *d = table(le_get64(t + 140), (size_t)used, &len);
        if (!d || put_table(dir, d, len) < 0)
            return -1;
        uint8_t facs[ACPI_FACS_SIZE];
        const uint8_t *fc = facs;
        if (b->facs)
            acpi_facs(facs); /* what the VM puts in ACPI NVS */
        else if (!(fc = table(le_get64(t + 132), (size_t)used, &len)))
            return -1;
        if (put(dir, "facs", fc, ACPI_FACS_SIZE) < 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: acpi_dump_tables DIR\n");
        return 2;
    }
    struct x86_board b;
    tboard_qnx(&b);
    if (dump(argv[1], "qnx", &b) < 0)
        return 1;
    tboard_2ioapic(&b);
    if (dump(argv[1], "2ioapic", &b) < 0)
        return 1;
    tboard_bare(&b);
    if (dump(argv[1], "bare", &b) < 0)
        return 1;
    return 0;
}

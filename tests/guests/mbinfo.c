/*
 * mbinfo.c: the mbinfo guest. Walks the multiboot 1 information structure
 * (flags, mem_lower/mem_upper, memory map, command line, boot loader name,
 * modules) and prints it on COM1 in a stable format for
 * tests/vm/cases/mbinfo.sh and mbaout.sh, then powers off. Built twice: as
 * a multiboot ELF (boot.S, guest.ld) and as an a.out-kludge flat binary
 * (mbinfo_aout.S, mbinfo_aout.ld).
 */
#include "guest.h"

void guest_main(uint32_t magic, uint32_t info);

static void put_hex64(uint64_t v)
{
    serial_puthex((uint32_t)(v >> 32));
    for (int i = 28; i >= 0; i -= 4)
        serial_putc("0123456789abcdef"[((uint32_t)v >> i) & 15]);
}

static void put_byte(uint8_t b)
{
    serial_putc("0123456789abcdef"[b >> 4]);
    serial_putc("0123456789abcdef"[b & 15]);
}

static void put_quoted(const char *s)
{
    serial_putc('\'');
    serial_puts(s);
    serial_putc('\'');
}

void guest_main(uint32_t magic, uint32_t info)
{
    serial_init();
    serial_puts("mbinfo: magic ");
    serial_puthex(magic);
    serial_puts("\n");
    if (magic != 0x2BADB002u) {
        serial_puts("mbinfo: bad magic\n");
        poweroff();
        return;
    }
    const volatile uint32_t *mbi = (const volatile uint32_t *)info;
    uint32_t flags = mbi[0];
    serial_puts("flags ");
    serial_puthex(flags);
    serial_puts("\n");
    if (flags & 1) {
        serial_puts("mem_lower ");
        serial_putdec(mbi[1]);
        serial_puts(" mem_upper ");
        serial_putdec(mbi[2]);
        serial_puts("\n");
    }
    if (flags & (1u << 2)) {
        serial_puts("cmdline: ");
        put_quoted((const char *)mbi[4]);
        serial_puts("\n");
    }
    if (flags & (1u << 9)) {
        serial_puts("boot_loader_name: ");
        put_quoted((const char *)mbi[16]);
        serial_puts("\n");
    }
    if (flags & (1u << 3)) {
        uint32_t n = mbi[5];
        const volatile uint32_t *m = (const volatile uint32_t *)mbi[6];
        serial_puts("mods_count ");
        serial_putdec(n);
        serial_puts("\n");
        for (uint32_t i = 0; i < n && i < 16; i++, m += 4) {
            const volatile uint8_t *d = (const volatile uint8_t *)m[0];
            serial_puts("mod ");
            serial_putdec(i);
            serial_puts(": ");
            serial_puthex(m[0]);
            serial_puts("-");
            serial_puthex(m[1]);
            serial_puts(" ");
            put_quoted((const char *)m[2]);
            serial_puts(" first-bytes");
            for (uint32_t k = 0; k < 2 && m[0] + k < m[1]; k++) {
                serial_puts(" ");
                put_byte(d[k]);
            }
            serial_puts("\n");
        }
    }
    if (flags & (1u << 6)) {
        uint32_t len = mbi[11], at = mbi[12], end = at + len;
        while (at + 24 <= end) {
            const volatile uint32_t *e = (const volatile uint32_t *)at;
            uint64_t base = e[1] | (uint64_t)e[2] << 32;
            uint64_t size = e[3] | (uint64_t)e[4] << 32;
            serial_puts("mmap: ");
            put_hex64(base);
            serial_puts(" ");
            put_hex64(size);
            serial_puts(" ");
            serial_putdec(e[5]);
            serial_puts("\n");
            at += e[0] + 4;
        }
    }
    serial_puts("mbinfo: done\n");
    poweroff();
    serial_puts("still running after power-off: FAIL\n");
}

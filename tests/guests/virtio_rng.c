/*
 * virtio_rng.c: the virtio-entropy guest (tests/vm/cases/virtio-rng.sh).
 * Finds the device on PCI, or on virtio-mmio with "mmio=ADDR" ("packed"
 * negotiates the packed ring), and asks for entropy on its request queue:
 * 64 bytes in one buffer, 64 more in a chain of two 32-byte buffers, and
 * 4096 bytes; each answer must be non-empty, no longer than the buffers,
 * not all one byte value, and the two 64-byte answers must differ. Then
 * one request with interrupts on: the INTx line (PCI: the configuration
 * space's interrupt line; virtio-mmio: "irq=N") must reach the local APIC
 * through the IOAPIC and the ISR status must say why; and over PCI, again
 * with MSI-X vector 0 for the queue.
 */
#include "virtio_drv.h"

void guest_main(uint32_t magic, uint32_t info);

static struct vdev dev;
static struct vq q;

/* distinct: how many different byte values the n bytes at p hold. */
static uint32_t distinct(uint32_t p, uint32_t n)
{
    uint32_t seen[8] = {0}, count = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t b = mr8(p + i);
        if (!(seen[b >> 5] & 1u << (b & 31))) {
            seen[b >> 5] |= 1u << (b & 31);
            count++;
        }
    }
    return count;
}

static int32_t ask(const char *what, const struct vbuf *b, unsigned n,
                   uint32_t total)
{
    for (unsigned i = 0; i < n; i++)
        vd_memset((void *)b[i].addr, 0, b[i].len);
    int32_t len = vq_run(&q, b, n, 0);
    say(what);
    if (len < 0) {
        serial_puts(": no answer\n");
        fail(len == -2 ? "the device set NEEDS_RESET"
                       : "no completion within 5 s");
        return -1;
    }
    /* a chain of buffers is filled in order: count what the first len
     * bytes cover */
    uint32_t left = (uint32_t)len, d = 0;
    for (unsigned i = 0; i < n && left; i++) {
        uint32_t k = left < b[i].len ? left : b[i].len;
        d += distinct(b[i].addr, k); /* an upper bound across buffers */
        left -= k;
    }
    serial_puts(": got ");
    serial_putdec((uint32_t)len);
    serial_puts(" bytes, ");
    serial_putdec(d > 256 ? 256 : d);
    serial_puts(" distinct values\n");
    if (len == 0 || (uint32_t)len > total)
        fail("answer length out of range");
    else if (len >= 16 &&
             distinct(b[0].addr, len < 32 ? (uint32_t)len : 32) < 4)
        fail("the bytes are (nearly) all the same");
    return len;
}

void guest_main(uint32_t magic, uint32_t info)
{
    vd_tag = "virtio-rng";
    vd_start(magic, info);
    if (vd_find(&dev, 4))
        finish();
    /* ACCESS_PLATFORM (33), when a passed-through device offers it
     * (tests/vm/cases/vfio-virtio-rng.sh): its DMA goes through the host's
     * IOMMU, where qvm maps guest RAM at guest-physical addresses: the
     * addresses this driver gives are right. */
    if (vd_init(&dev, (arg("packed") ? FBIT(F_RING_PACKED) : 0) | FBIT(33)) ||
        vq_setup(&dev, &q, 0, 8))
        finish();
    vd_driver_ok(&dev);
    say_features(&dev);
    say(q.packed ? "packed ring" : "split ring");
    serial_puts("\n");

    uint32_t a = (uint32_t)vd_alloc(64, 64);
    uint32_t b = (uint32_t)vd_alloc(64, 64);
    uint32_t big = (uint32_t)vd_alloc(4096, 4096);

    struct vbuf one = {a, 64, 1};
    int32_t la = ask("64-byte buffer", &one, 1, 64);
    struct vbuf two[2] = {{b, 32, 1}, {b + 32, 32, 1}};
    int32_t lb = ask("two 32-byte buffers", two, 2, 64);
    if (la >= 16 && lb >= 16) {
        uint32_t n = (uint32_t)(la < lb ? la : lb);
        int same = vd_memcmp((void *)a, (void *)b, n) == 0;
        say("the two answers ");
        serial_puts(same ? "are equal\n" : "differ\n");
        if (same)
            fail("two answers are the same bytes");
    }
    struct vbuf page = {big, 4096, 1};
    ask("4096-byte buffer", &page, 1, 4096);

    /* Interrupts: INTx (virtio-mmio: its `intr` line, given as irq=N)
     * through the IOAPIC, with the ISR bit; then MSI-X (PCI). */
    lapic_on();
    uint32_t line = dev.mmio ? arg_num("irq", 0) : pci_rd8(dev.bdf, 0x3c);
    if (line && line < 24) {
        ioapic_route(line, 0x50);
        (void)vd_isr(&dev);
        vq_interrupts(&q, 1);
        ask("with an interrupt", &one, 1, 64);
        int got = wait_irr(0x50, 1000);
        uint8_t isr = vd_isr(&dev);
        say("INTx: IOAPIC line ");
        serial_putdec(line);
        serial_puts(got ? ", delivered" : ", not delivered");
        serial_puts(", ISR ");
        serial_puthex(isr);
        serial_puts("\n");
        if (!got || !(isr & 1))
            fail("no INTx interrupt for a used buffer");
    } else {
        sayln("INTx: no line (give irq=N for virtio-mmio)");
    }
    if (!dev.mmio) {
        vd_reset(&dev);
        vd_arena_used = 0;
        vq_msix_vector = 0;
        if (msix_setup(&dev, 0x51) || vd_init(&dev, dev.features) ||
            vq_setup(&dev, &q, 0, 8)) {
            fail("MSI-X setup");
        } else {
            vd_driver_ok(&dev);
            vq_interrupts(&q, 1);
            a = (uint32_t)vd_alloc(64, 64);
            one.addr = a;
            ask("with MSI-X", &one, 1, 64);
            int got = wait_irr(0x51, 1000);
            say("MSI-X: vector 0 ");
            serial_puts(got ? "delivered\n" : "not delivered\n");
            if (!got)
                fail("no MSI-X interrupt for a used buffer");
        }
    }
    vd_reset(&dev);
    finish();
}

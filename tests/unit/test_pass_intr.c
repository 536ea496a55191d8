/*
 * test_pass_intr.c: `pass intr ...=uio:`/`=fd:` at run time
 * (devices/pass_intr.c) with fakes: a socketpair stands for /dev/uioN (the
 * test writes the 32-bit interrupt count into one end, qvm reads it from
 * the other and writes its re-enable there), a pipe for an inherited
 * descriptor, a temporary file for a PCI function's sysfs config; the
 * guest line is a fake controller input (fake_irq.h), the EOI hooks are
 * fake dev_ctx functions recording their eventfds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/pass_intr.h"
#include "fake_irq.h"
#include "util/log.h"

static int level = -1; /* the fake input's level, -1: never set */
static unsigned changes;

static void sink(void *o, uint32_t pin, bool l)
{
    (void)o, (void)pin;
    level = l;
    changes++;
}
FAKE_IRQ(sink)

static bool kvm_mode;
static int kvm_fd = -1, kvm_rfd = -1, eoi_hook_fd = -2;
static int64_t hook_gsi = -1;

static int fk_resample(void *o, int gsi, int fd, int rfd, bool assign)
{
    (void)o, (void)gsi;
    if (!kvm_mode)
        return -EINVAL; /* KVM's split irqchip */
    kvm_fd = assign ? fd : -1;
    kvm_rfd = assign ? rfd : -1;
    return 0;
}

static int fk_eoi_fd(void *o, int64_t gsi, int fd)
{
    (void)o;
    hook_gsi = gsi;
    eoi_hook_fd = fd;
    return 0;
}

static char last[512];
static void log_sink(enum log_class c, const char *line)
{
    (void)c;
    snprintf(last, sizeof(last), "%s", line);
}

static struct dev_ctx ctx;
static const struct intr in5 = {.pic = 0, .line = 5, .src = INTR_SRC_UIO};

static int setup(void **st)
{
    (void)st;
    fake_irq_reset();
    level = -1;
    changes = 0;
    kvm_mode = false;
    kvm_fd = kvm_rfd = -1;
    eoi_hook_fd = -2;
    hook_gsi = -1;
    last[0] = 0;
    ctx = (struct dev_ctx){.irq_resolve = fake_irq_resolve,
                           .irq_isa = fake_irq_isa,
                           .irqfd_resample = fk_resample,
                           .irq_eoi_fd = fk_eoi_fd,
                           .opaque = &ctx};
    log_set_sink(log_sink);
    return 0;
}

static void interrupt(int peer, uint32_t count)
{
    assert_int_equal(write(peer, &count, 4), 4);
}

static void eoi(struct pass_irq *p)
{
    uint64_t one = 1;
    assert_int_equal(write(pass_irq_eoi_fd(p), &one, 8), 8);
    pass_irq_eoi_ready(p);
}

/* What qvm wrote to the fake UIO device: the count of 32-bit 1s. */
static int reenables(int peer)
{
    int32_t v[16];
    ssize_t n = recv(peer, v, sizeof(v), MSG_DONTWAIT);
    if (n < 0)
        return 0;
    for (ssize_t i = 0; i < n / 4; i++)
        assert_int_equal(v[i], 1);
    return (int)(n / 4);
}

/* qvm's IOAPIC (split irqchip): interrupt -> line up; a second before the
 * EOI coalesced; EOI -> line down and a write of 1; then again. */
static void test_split_uio(void **st)
{
    (void)st;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    struct pass_irq *p = pass_irq_new(&ctx, &in5, "pass intr ioapic:5", sv[0],
                                      true, true, PASS_REENABLE_WRITE, -1);
    assert_non_null(p);
    assert_int_equal(eoi_hook_fd, pass_irq_eoi_fd(p));
    assert_int_equal(hook_gsi, 5);
    struct pass_irq_stats s;
    pass_irq_get_stats(p, &s);
    assert_false(s.kvm);

    interrupt(sv[1], 1);
    pass_irq_source_ready(p);
    assert_int_equal(level, 1);
    assert_int_equal(reenables(sv[1]), 0);
    interrupt(sv[1], 2);
    pass_irq_source_ready(p);
    assert_int_equal(level, 1);
    assert_int_equal(changes, 1);
    pass_irq_get_stats(p, &s);
    assert_int_equal(s.interrupts, 2);
    assert_int_equal(s.raised, 1);
    assert_int_equal(s.coalesced, 1);
    assert_true(s.up);

    eoi(p);
    assert_int_equal(level, 0);
    assert_int_equal(reenables(sv[1]), 1);
    pass_irq_get_stats(p, &s);
    assert_int_equal(s.eois, 1);
    assert_false(s.up);
    /* An EOI with the line down (another source's vector): nothing. */
    eoi(p);
    assert_int_equal(reenables(sv[1]), 0);
    assert_int_equal(changes, 2);
    /* Nothing readable: no interrupt. */
    pass_irq_source_ready(p);
    assert_int_equal(changes, 2);

    interrupt(sv[1], 3);
    pass_irq_source_ready(p);
    assert_int_equal(level, 1);
    eoi(p);
    assert_int_equal(level, 0);
    assert_int_equal(reenables(sv[1]), 1);
    pass_irq_free(p);
    assert_int_equal(eoi_hook_fd, -1); /* the hook removed */
    close(sv[1]);
}

/* KVM's irqchip: the line is the irqfd (KVM lowers it at the EOI); the
 * resample eventfd is the EOI. qvm's own input is never driven. */
static void test_kvm_resample(void **st)
{
    (void)st;
    kvm_mode = true;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    struct pass_irq *p = pass_irq_new(&ctx, &in5, "pass intr ioapic:5", sv[0],
                                      true, true, PASS_REENABLE_WRITE, -1);
    assert_non_null(p);
    assert_true(kvm_fd >= 0);
    assert_int_equal(kvm_rfd, pass_irq_eoi_fd(p));
    assert_int_equal(eoi_hook_fd, -2);

    interrupt(sv[1], 1);
    pass_irq_source_ready(p);
    interrupt(sv[1], 2);
    pass_irq_source_ready(p);
    uint64_t v = 0;
    assert_int_equal(read(kvm_fd, &v, 8), 8);
    assert_int_equal(v, 1); /* one assertion for the two */
    assert_int_equal(changes, 0);
    assert_int_equal(reenables(sv[1]), 0);
    eoi(p);
    assert_int_equal(reenables(sv[1]), 1);
    assert_int_equal(changes, 0);
    pass_irq_free(p);
    assert_int_equal(kvm_fd, -1); /* the irqfd deassigned */
    close(sv[1]);
}

/* uio_pci_generic has no irqcontrol: the re-enable clears Interrupt
 * Disable (bit 10) in the command register, nothing else. */
static void test_reenable_by_command_register(void **st)
{
    (void)st;
    char path[] = "/tmp/qvm-pass-intr-cfg.XXXXXX";
    int cfg = mkstemp(path);
    assert_true(cfg >= 0);
    unlink(path);
    uint8_t space[8] = {0xe8, 0x11, 0x34, 0x12, 0x07, 0x05, 0x10, 0x00};
    assert_int_equal(pwrite(cfg, space, 8, 0), 8);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    struct pass_irq *p = pass_irq_new(&ctx, &in5, "pass intr ioapic:5", sv[0],
                                      true, true, PASS_REENABLE_INTX, cfg);
    assert_non_null(p);
    interrupt(sv[1], 1);
    pass_irq_source_ready(p);
    uint8_t got[8];
    assert_int_equal(pread(cfg, got, 8, 0), 8);
    assert_memory_equal(got, space, 8); /* not before the EOI */
    eoi(p);
    assert_int_equal(pread(cfg, got, 8, 0), 8);
    space[5] = 0x01; /* 0x0507 -> 0x0107 */
    assert_memory_equal(got, space, 8);
    assert_int_equal(reenables(sv[1]), 0);
    pass_irq_free(p); /* closes cfg */
    close(sv[1]);
}

/* An inherited descriptor: any readable bytes are one interrupt; nothing
 * to re-enable; its end stops the watch (no spinning on EOF). */
static void test_fd_source(void **st)
{
    (void)st;
    int pf[2];
    assert_int_equal(pipe(pf), 0);
    struct intr in = {.pic = 0, .line = 7, .src = INTR_SRC_FD, .src_fd = pf[0]};
    struct pass_irq *p = pass_irq_new(&ctx, &in, "pass intr ioapic:7", pf[0],
                                      true, false, PASS_REENABLE_NONE, -1);
    assert_non_null(p);
    assert_int_equal(write(pf[1], "xyz", 3), 3);
    pass_irq_source_ready(p);
    assert_int_equal(level, 1);
    eoi(p);
    assert_int_equal(level, 0);
    close(pf[1]);
    pass_irq_source_ready(p); /* EOF */
    assert_non_null(strstr(last, "was closed"));
    struct pass_irq_stats s;
    pass_irq_get_stats(p, &s);
    assert_int_equal(s.interrupts, 1);
    assert_int_equal(changes, 2);
    pass_irq_free(p);
}

/* No EOI hook anywhere: refused with the reasons. */
static void test_no_eoi_hook(void **st)
{
    (void)st;
    ctx.irq_eoi_fd = NULL;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    assert_null(pass_irq_new(&ctx, &in5, "pass intr ioapic:5", sv[0], true,
                             true, PASS_REENABLE_WRITE, -1));
    assert_non_null(strstr(last, "no way to tell the guest's EOI"));
    close(sv[1]);
}

/* The probe write: a UIO driver with irqcontrol takes it. */
static void test_reenable_probe(void **st)
{
    (void)st;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    enum pass_reenable how = PASS_REENABLE_NONE;
    int cfg = 0;
    assert_int_equal(
        pass_uio_reenable_method(sv[0], "/dev/uio0", "pass intr", &how, &cfg),
        0);
    assert_int_equal(how, PASS_REENABLE_WRITE);
    assert_int_equal(cfg, -1);
    assert_int_equal(reenables(sv[1]), 1);
    /* A descriptor that takes no write and is no PCI function: refused. */
    int pf[2];
    assert_int_equal(pipe(pf), 0);
    assert_int_equal(
        pass_uio_reenable_method(pf[0], "/dev/uio9", "pass intr", &how, &cfg),
        -1);
    assert_non_null(strstr(last, "cannot re-enable"));
    close(pf[0]);
    close(pf[1]);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_split_uio, setup),
        cmocka_unit_test_setup(test_kvm_resample, setup),
        cmocka_unit_test_setup(test_reenable_by_command_register, setup),
        cmocka_unit_test_setup(test_fd_source, setup),
        cmocka_unit_test_setup(test_no_eoi_hook, setup),
        cmocka_unit_test_setup(test_reenable_probe, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#!/usr/bin/env python3
"""mkseeds_devreg.py: hand-made seeds of the device-register targets of
fuzz_devreg.c (see its header comment for the input format) for the
devices whose protocol a fuzzer would take long to find on its own: a
region name then a size written to vdev shmem's factory page, the control
page of the region that gives. The region indexes are the order of the
regions on each bus (by base; QVM_FUZZ_LOG=1 lists them). Run it again
after changing the format or the rows; it writes tests/fuzz/corpus/T/seed-*
(names that campaign.sh's minimisation keeps)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def access(mmio, write, size, region, off, val=0, tick=0):
    """One guest access (a 4-byte offset when it does not fit in 2); in
    the targets with the fake clock, `tick` (1-13) advances it first by
    4 ** (tick - 1) microseconds."""
    c = {1: 0, 2: 1, 4: 2, 8: 3}[size] | (4 if write else 0) | (8 if mmio else 0)
    c |= tick << 4
    if off > 0xffff:
        b = struct.pack('<BBI', 0xe0 | c, region, off)
    else:
        b = struct.pack('<BBH', c, region, off)
    if write:
        b += val.to_bytes(size, 'little')
    return b


def seed(ops, kvm=0, host=b''):
    return struct.pack('<BH', kvm, len(host)) + host + b''.join(ops)


def write_seeds(target, seeds):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, 'seed-' + name), 'wb') as f:
            f.write(data)


# --- vdev shmem: regions on the MMIO bus (QVM_FUZZ_LOG=1 fuzz_shmem) ---
# mmio 0: shmem BAR0 (PCI factory), 1: shmem BAR2 (PCI window),
# 2: "shmem regions" (MMIO window), 3: PCI ECAM, 4: "shmem" (MMIO factory)
PF, PW, MW, MF = 0, 1, 2, 4
F_SIG, F_SHMEM, F_VECTOR, F_STATUS, F_SIZE, F_NAME, F_FIND = \
    0x00, 0x08, 0x10, 0x14, 0x18, 0x1c, 0x3c
C_STATUS, C_IDX, C_NOTIFY, C_DETACH = 0x0, 0x4, 0x8, 0xc
SLOT = 0x1000000


def shm_name(factory, name):
    b = name.encode() + b'\0'
    b += b'\0' * (-len(b) % 4)
    return [access(True, True, 4, factory, F_NAME + i,
                   int.from_bytes(b[i:i + 4], 'little'))
            for i in range(0, len(b), 4)]


def shm_attach(factory, name, pages):
    return shm_name(factory, name) + [
        access(True, True, 4, factory, F_SIZE, pages),
        access(True, False, 4, factory, F_STATUS),
        access(True, False, 8, factory, F_SHMEM)]


def ctl(window, slot, reg, write=False, val=0):
    return access(True, write, 4, window, slot * SLOT + reg, val)


shm = {}
# PCI attaches the pre-created region, the MMIO one joins it; they notify
# each other and themselves, read and acknowledge, detach.
shm['two-clients'] = seed(
    shm_attach(PF, 'shared', 1) + [ctl(PW, 0, C_IDX), ctl(PW, 0, C_STATUS)]
    + shm_attach(MF, 'shared', 2)
    + [ctl(MW, 0, C_IDX), ctl(PW, 0, C_STATUS),
       ctl(MW, 0, C_NOTIFY, True, 0x3), ctl(PW, 0, C_NOTIFY, True, 0x2),
       ctl(MW, 0, C_STATUS), ctl(PW, 0, C_STATUS),
       ctl(MW, 0, C_DETACH, True, 1), ctl(PW, 0, C_STATUS),
       ctl(PW, 0, C_NOTIFY, True, 0xffff), ctl(PW, 0, C_DETACH, True, 0)])
# The MMIO device: new regions until the window is full, a policy refusal,
# bad names and sizes, find, the read-only registers.
ops = [access(True, False, 8, MF, F_SIG), access(True, False, 4, MF, F_VECTOR),
       access(True, False, 4, MF, F_STATUS)]
ops += shm_attach(MF, 'secret1', 1) + shm_attach(MF, '.hidden', 1)
for i, (n, p) in enumerate([('cam0', 16), ('cam1', 1), ('x', 4095),
                            ('y.z', 2), ('full', 1)]):
    ops += shm_attach(MF, n, p) + [ctl(MW, min(i, 3), C_IDX)]
ops += shm_attach(MF, 'cam0', 17) + shm_attach(MF, 'cam0', 0)
ops += shm_attach(MF, 'big', 0x1000) + shm_attach(MF, 'a' * 32, 1)
ops += [access(True, True, 4, MF, F_FIND, k) for k in (0, 2, 3, 4)]
ops += [access(True, False, 4, MF, F_NAME), ctl(MW, 2, C_DETACH, True, 0),
        access(True, True, 4, MF, F_FIND, 2), ctl(MW, 2, C_STATUS),
        access(True, True, 2, MF, F_SIZE, 1), ctl(MW, 1, C_STATUS + 2)]
shm['mmio-slots'] = seed(ops)
# The PCI function through mechanism #1: the command register, BAR2 moved.
cfg = lambda reg: access(False, True, 4, 4, 0, 0x80000800 | reg)  # 00:01.0
shm['pci-config'] = seed(
    [cfg(0x00), access(False, False, 4, 4, 4), cfg(0x04),
     access(False, True, 2, 4, 4, 0x0), access(False, True, 2, 4, 4, 0x7),
     cfg(0x18), access(False, True, 4, 4, 4, 0xffffffff),
     access(False, False, 4, 4, 4), access(False, True, 4, 4, 4, 0xd0000000),
     cfg(0x3c), access(False, False, 4, 4, 4)]
    + shm_attach(PF, 'moved', 1) + [ctl(PW, 0, C_NOTIFY, True, 1)])
write_seeds('shmem', shm)

# --- wdt-ib700: pio region 1, ports 0x441 (stop) .. 0x443 (start) ---
W = 1
write_seeds('wdt_ib700', {
    'start-stop': seed([access(False, True, 1, W, 2, 0x0f),
                        access(False, True, 1, W, 2, 0x00),
                        access(False, False, 1, W, 0),
                        access(False, True, 1, W, 0, 0),
                        access(False, True, 4, W, 0, 0x00050000),
                        access(False, True, 2, W, 1, 0x0700),
                        access(False, False, 4, W, 2)]),
})

# --- wdt-sp805 (fake clock): mmio 0: 0x1c0e0000 (action fiq, 25 MHz),
# mmio 1: 0x1c0f0000 (action terminate, 1 MHz) ---
LOAD, VALUE, CTL, INTCLR, RIS, MIS, LOCK, ITCR, ITOP = \
    0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0xc00, 0xf00, 0xf04
UNLOCK = 0x1acce551


def sp(region, reg, write=False, val=0, tick=0, size=4):
    return access(True, write, size, region, reg, val, tick)


def sp_ids(region):
    return [sp(region, 0xfe0 + 4 * i) for i in range(8)]


# Linux's sp805_wdt on the terminating one: unlock, load, INTEN|RESEN,
# lock; pings (INTCLR) as time passes, then no more pings: two periods of
# 0.5 s and the reset is asserted (the timer fires: stop).
ops = sp_ids(1) + [sp(1, LOCK, True, UNLOCK), sp(1, LOAD, True, 499999),
                   sp(1, CTL, True, 3), sp(1, LOCK, True, 0),
                   sp(1, LOCK), sp(1, CTL, True, 0)]
for _ in range(3):
    ops += [sp(1, VALUE, tick=10), sp(1, LOCK, True, UNLOCK),
            sp(1, INTCLR, True, 0), sp(1, LOCK, True, 1)]
ops += [sp(1, RIS, tick=9), sp(1, MIS), sp(1, VALUE, tick=10),
        sp(1, RIS), sp(1, VALUE, tick=11), sp(1, CTL), sp(1, VALUE, tick=11)]
sp805 = {'linux-expiry': seed(ops)}
# action fiq at 25 MHz: 1 ms periods, the interrupt kept asserted through
# several expiries, cleared, the test registers, byte and 8-byte accesses.
ops = [sp(0, LOCK, True, UNLOCK), sp(0, LOAD, True, 24999),
       sp(0, CTL, True, 3), sp(0, VALUE, tick=6), sp(0, RIS, tick=7),
       sp(0, MIS, tick=7), sp(0, VALUE, tick=8), sp(0, INTCLR, True, 5),
       sp(0, RIS), sp(0, ITCR, True, 1), sp(0, ITOP, True, 3),
       sp(0, ITCR, True, 0), sp(0, LOAD, True, 0, tick=1),
       sp(0, VALUE, tick=1), sp(0, CTL, True, 1), sp(0, VALUE, tick=3),
       sp(0, LOAD + 1, size=1), sp(0, VALUE + 2, size=2),
       sp(0, LOAD, True, 0x1234, size=8), sp(0, CTL + 1, True, 1, size=1),
       sp(0, 0xffc, size=1), sp(0, LOCK, True, 0), sp(0, LOAD, True, 7),
       sp(0, LOAD)]
sp805['fiq'] = seed(ops)
write_seeds('wdt_sp805', sp805)

# --- the power button's PL061 (fake clock): mmio 0; the host input is the
# op indexes before which the button is pressed ---
G = 0
DIR, IS, IBE, IEV, IE, GRIS, GMIS, IC, AFSEL = \
    0x400, 0x404, 0x408, 0x40c, 0x410, 0x414, 0x418, 0x41c, 0x420
PIN = 1 << 3


def gp(reg, write=False, val=0, tick=0, size=4):
    return access(True, write, size, G, reg, val, tick)


# Linux's gpio-pl061 and gpio-keys: IDs, all inputs, both edges on the
# pin, enabled; a press (the key's interrupt, the data register, IC), the
# release 100 ms later on the fake clock; then level-sensitive, rising
# edge only, outputs.
ops = [gp(0xfe0 + 4 * i) for i in range(8)]
ops += [gp(DIR, True, 0), gp(IS, True, 0), gp(IBE, True, PIN),
        gp(IE, True, PIN)]
press1 = len(ops)
ops += [gp(GMIS), gp(GRIS), gp(PIN << 2), gp(IC, True, PIN), gp(GMIS),
        gp(GMIS, tick=9), gp(PIN << 2, tick=9), gp(GRIS), gp(IC, True, PIN),
        gp(IS, True, PIN), gp(IEV, True, PIN), gp(IBE, True, 0)]
press2 = len(ops)
ops += [gp(GMIS), gp(IC, True, PIN), gp(GRIS), gp(0x3fc, tick=10),
        gp(IEV, True, 0), gp(GMIS), gp(IS, True, 0), gp(IEV, True, PIN),
        gp(DIR, True, 0xf7), gp(0x3fc, True, 0xff), gp(0x3fc), gp(0x0c, True, 0),
        gp(AFSEL, True, 1), gp(AFSEL), gp(DIR), gp(IEV), gp(IBE),
        gp(IS, size=1), gp(IE + 1, True, 1, size=1), gp(0x3fc, size=8)]
press3 = len(ops)
ops += [gp(GRIS), gp(GRIS, tick=10)]
write_seeds('pl061', {'linux-keys': seed(ops, host=bytes([press1, press2,
                                                          press3]))})

# --- vfio: a host function passed through at 00:03.0; pio 4: 0xcf8 ---
def vfio_host(bars, irqs, fail, cfg):
    return bytes(bars) + bytes([irqs, fail]) + cfg


def cfgspace(vid, did, cls, rev, pin):
    c = bytearray(64)
    struct.pack_into('<HH', c, 0, vid, did)
    c[8] = rev
    c[9:12] = cls.to_bytes(3, 'little')
    struct.pack_into('<HH', c, 0x2c, vid, 0x0001)
    c[0x34] = 0x50  # the host's own capabilities: hidden
    c[0x3d] = pin
    return bytes(c)


CF = 4


def cw(reg, val, size=4):
    """A configuration write of 00:03.0 through mechanism #1."""
    return [access(False, True, 4, CF, 0, 0x80001800 | (reg & 0xfc)),
            access(False, True, size, CF, 4 + (reg & 3), val)]


def cr(reg, size=4):
    return [access(False, True, 4, CF, 0, 0x80001800 | (reg & 0xfc)),
            access(False, False, size, CF, 4 + (reg & 3))]


# BAR0 4 KiB mmap, BAR1 32 bytes of I/O, BAR2 8 KiB 64-bit (pread/pwrite),
# BAR4 64 KiB mmap; INTx and MSI. The guest reads the identity, sizes and
# moves BARs, enables decode, touches each BAR, sets up MSI (address, data,
# enable, disable), takes INTx, hides it, sizes the ROM.
host = vfio_host([0x80 | 12, 0x20 | 5, 0x40 | 13, 0, 0x80 | 16, 0], 3, 0,
                 cfgspace(0x8086, 0x10d3, 0x020000, 1, 1))
ops = cr(0x00) + cr(0x08) + cr(0x2c) + cr(0x3c) + cr(0x34, 1)
ops += cw(0x04, 0, 2)  # decode off while sizing, as Linux does
for b in range(6):
    ops += cw(0x10 + 4 * b, 0xffffffff) + cr(0x10 + 4 * b)
ops += cw(0x10, 0xd0000000) + cw(0x14, 0xc000) + cw(0x18, 0xc0002004)
ops += cw(0x1c, 0) + cw(0x20, 0xc0010000) + cw(0x24, 0)
ops += cw(0x04, 0x0007, 2) + cr(0x04)
# mmio (by base): 0 BAR2, 1 BAR4, 2 BAR0, 3 ECAM; pio 5: BAR1
ops += [access(True, True, 4, 2, 0x10, 0x12345678),
        access(True, False, 4, 2, 0x10), access(True, False, 8, 2, 0xff8),
        access(True, True, 2, 0, 0x1ffe, 0xbeef),
        access(True, False, 2, 0, 0x1ffe), access(True, False, 1, 1, 0xffff),
        access(False, True, 4, 5, 0x1c, 0xcafe),
        access(False, False, 1, 5, 0x1f)]
pre = list(ops)
# The host raises INTx (an access's tick: the harness's host_interrupt)
# before BAR reads (which lower and unmask it), also with Interrupt Disable.
ops += [access(True, False, 4, 2, 0, tick=1), access(True, False, 4, 2, 4)]
ops += cw(0x04, 0x0407, 2) + [access(True, False, 4, 2, 0, tick=1)]
ops += cw(0x04, 0x0007, 2) + cr(0x04) + [access(True, False, 4, 2, 0)]
ops += cr(0x40) + cr(0x44) + cw(0x44, 0xfee01000) + cw(0x48, 0)
ops += cw(0x4c, 0x4041, 2) + cw(0x42, 1, 2) + cr(0x42, 2)
ops += cw(0x4c, 0x4042, 2) + cw(0x42, 0, 2) + cw(0x04, 0x0407, 2)
ops += [access(True, False, 4, 2, 0)]
ops += cw(0x30, 0xfffff800) + cr(0x30) + cw(0x04, 0, 2)
ops += cw(0x10, 0xc0000000) + cw(0x04, 0x0002, 2) + cr(0x10)
vfio = {'nic': seed(ops, kvm=1, host=host)}
# The same with MSI-X (hidden) and no INTx, VFIO refusing interrupts
# (the MSI enable) and BAR accesses failing (no mmap anywhere); then with
# INTx and without KVM routes (MSI hidden), unmasks failing.
host = vfio_host([12, 0x20 | 2, 0x40 | 13, 0, 20, 0], 0xe, 0x0a,
                 cfgspace(0x10de, 0x1eb8, 0x030000, 0xa1, 2))
vfio['failures'] = seed(ops, kvm=1, host=host)
host = vfio_host([12, 0x20 | 2, 0x40 | 13, 0, 20, 0], 0x9, 0x04,
                 cfgspace(0x1af4, 0x1000, 0x020000, 0, 9))
vfio['no-routes'] = seed(ops, kvm=0, host=host)
# Refused at realize: open fails; a 64-bit BAR5; no room; a 16-byte BAR.
vfio['open-fails'] = seed(cr(0) + cr(0x10), host=vfio_host([12] + [0] * 5, 1, 1, b''))
vfio['bar5-64bit'] = seed(cr(0), host=vfio_host([0] * 5 + [0x40 | 12], 0, 0, b''))
vfio['no-room'] = seed(cr(0), host=vfio_host([30, 30, 0, 0, 0, 0], 0, 0, b''))
vfio['small-bar'] = seed(cr(0), host=vfio_host([4, 0, 0, 0, 0, 0], 0, 0, b''))
# The split irqchip's EOI hook ([7] bit 6) with memory slots ([6] bit 7):
# the host raises INTx (tick 1: the first watched eventfd), BAR reads
# change nothing, the guest's EOI (tick 2: the hook's eventfd) lowers and
# unmasks it; again; then the rest. And the hook refusing (bit 7), and
# VFIO refusing the unmask eventfd ([7] bit 2): INTx unmasked at BAR
# accesses, the BARs trapped.
eoi = [access(True, False, 4, 2, 0, tick=1), access(True, False, 4, 2, 4),
       access(True, False, 4, 2, 0, tick=2), access(True, False, 4, 2, 0, tick=1),
       access(True, False, 4, 2, 0, tick=2)]
for name, fail in (('eoi-hook', 0x40), ('eoi-hook-refused', 0xc0),
                   ('eoi-hook-no-unmask-fd', 0x44)):
    host = vfio_host([0x80 | 12, 0x20 | 5, 0x40 | 13, 0, 0x80 | 16, 0], 0x83,
                     fail, cfgspace(0x1234, 0x11e8, 0x00ff00, 0x10, 1))
    vfio[name] = seed(pre + eoi + ops[len(pre):], kvm=1, host=host)
# MSI-X with the table in BAR0 (32 KiB, shared with registers) and the
# PBA alone in BAR2 (configuration byte 0x48: 2), memory slots: the guest
# enables MSI-X, the host raises vectors (ticks), the guest reads BARs.
cfg = cfgspace(0x8086, 0x10d3, 0x020000, 3, 1) + bytes(8) + bytes([2])
host = vfio_host([0x80 | 15, 0, 12, 0, 0, 0], 0x80 | 0x10 | 0x04, 0, cfg)
ops2 = pre + cw(0x42, 0x8000, 2)
ops2 += [access(True, False, 8, k, 0x800 * k, tick=2 + k) for k in range(4)]
ops2 += [access(True, True, 4, k, 0x100c, 0, tick=1) for k in range(3)]
vfio['msix-two-bars'] = seed(ops2, kvm=1, host=host)
write_seeds('vfio', vfio)

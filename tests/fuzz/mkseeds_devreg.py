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


def access(mmio, write, size, region, off, val=0):
    """One guest access (a 4-byte offset when it does not fit in 2)."""
    c = {1: 0, 2: 1, 4: 2, 8: 3}[size] | (4 if write else 0) | (8 if mmio else 0)
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

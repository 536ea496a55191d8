#!/usr/bin/env python3
"""mkseeds_virtqueue.py: writes the seed corpus of fuzz_virtqueue (see the
header comment of fuzz_virtqueue.c for the input format) into
tests/fuzz/corpus/virtqueue. Run it again after changing the format."""
import os
import struct

RAM = 0x10000       # guest address of the RAM image
DESC, DRV, DEV, TBL, BUF = 0x0, 0x1000, 0x2000, 0x3000, 0x4000
NEXT, WRITE, INDIRECT, AVAIL, USED = 1, 2, 4, 1 << 7, 1 << 15
PACKED, EVIDX, INDIR, RAW, NOKICK, HOLD, WILD = 1, 2, 4, 8, 16, 32, 64


class Seed:
    def __init__(self, flags, size, rounds=1, written=16,
                 desc=DESC, drv=DRV, dev=DEV):
        self.hdr = struct.pack('<BHHHHIB', flags, size, desc, drv, dev,
                               written, rounds)
        self.ram = bytearray(0x6000)
        self.patches = b''

    def put(self, off, fmt, *v):
        struct.pack_into(fmt, self.ram, off, *v)

    def sdesc(self, i, addr, ln, flags, nxt=0, table=DESC):
        self.put(table + 16 * i, '<QIHH', addr, ln, flags, nxt)

    def pdesc(self, i, addr, ln, bid, flags, table=DESC):
        self.put(table + 16 * i, '<QIHH', addr, ln, bid, flags)

    def avail(self, heads, size):
        for k, h in enumerate(heads):
            self.put(DRV + 4 + 2 * (k % size), '<H', h)
        self.put(DRV + 2, '<H', len(heads))

    def patch(self, off, val):
        self.patches += struct.pack('<HH', off, val)

    def write(self, name):
        d = os.path.join(os.path.dirname(__file__), 'corpus', 'virtqueue')
        with open(os.path.join(d, name), 'wb') as f:
            npatch = struct.pack('<H', len(self.patches) // 4)
            f.write(self.hdr + npatch + bytes(self.ram) + self.patches)


def main():
    # split, event index: a mixed chain, a writable one, then (round 2)
    # the driver adds a third chain
    s = Seed(EVIDX, 3, rounds=2)  # size 8
    s.sdesc(0, RAM + BUF, 16, NEXT, 1)
    s.sdesc(1, RAM + BUF + 0x100, 32, NEXT, 2)
    s.sdesc(2, RAM + BUF + 0x200, 64, WRITE)
    s.sdesc(3, RAM + BUF + 0x300, 8, WRITE)
    s.sdesc(4, RAM + BUF + 0x400, 8, 0)
    s.avail([0, 3], 8)
    s.patch(DRV + 4 + 2 * 2, 4)
    s.patch(DRV + 2, 3)
    s.write('split-direct')

    # split indirect
    s = Seed(INDIR, 2)  # size 4
    s.sdesc(0, RAM + BUF, 10, NEXT, 2, table=TBL)
    s.sdesc(2, RAM + BUF + 0x100, 20, NEXT | WRITE, 1, table=TBL)
    s.sdesc(1, RAM + BUF + 0x200, 30, WRITE, table=TBL)
    s.sdesc(1, RAM + TBL, 48, INDIRECT)
    s.avail([1], 4)
    s.write('split-indirect')

    # split: a loop; a readable after writable; a buffer across regions
    s = Seed(0, 3)
    s.sdesc(0, RAM + BUF, 8, NEXT, 1)
    s.sdesc(1, RAM + BUF, 8, NEXT, 0)
    s.avail([0], 8)
    s.write('split-loop')
    s = Seed(0, 3)
    s.sdesc(0, RAM + BUF, 8, WRITE | NEXT, 1)
    s.sdesc(1, RAM + BUF, 8, 0)
    s.avail([0], 8)
    s.write('split-read-after-write')
    s = Seed(0, 3)
    s.sdesc(0, RAM + 0x10000 - 8, 24, WRITE)
    s.avail([0], 8)
    s.write('split-span')

    # split: used ring over the available ring, held elements
    s = Seed(HOLD, 3, dev=DRV)
    for i in range(8):
        s.sdesc(i, RAM + BUF + 16 * i, 16, WRITE)
    s.avail(list(range(8)), 8)
    s.write('split-overlap')

    # split: a misaligned used ring; addresses anywhere (wild)
    s = Seed(0, 3, dev=DEV + 2)
    s.write('split-misaligned')
    s = Seed(WILD, 3, desc=0x1000, drv=0x1100, dev=0x2ff0)
    s.write('split-wild')

    # packed: a chain of 3, a single, an indirect table
    s = Seed(PACKED | INDIR | EVIDX, 7)  # size 8
    s.pdesc(0, RAM + BUF, 16, 0xffff, AVAIL | NEXT)
    s.pdesc(1, RAM + BUF + 0x100, 32, 0xffff, AVAIL | NEXT)
    s.pdesc(2, RAM + BUF + 0x200, 64, 1, AVAIL | WRITE)
    s.pdesc(3, RAM + BUF + 0x300, 8, 2, AVAIL | WRITE)
    s.pdesc(0, RAM + BUF, 10, 0, 0, table=TBL)
    s.pdesc(1, RAM + BUF + 0x100, 20, 0, WRITE, table=TBL)
    s.pdesc(4, RAM + TBL, 32, 3, AVAIL | INDIRECT)
    s.write('packed-chains')

    # packed, size 3: a lap, then the driver's next lap (wrap 0) in patches
    s = Seed(PACKED, 2, rounds=3)
    for i in range(3):
        s.pdesc(i, RAM + BUF + 0x100 * i, 8, i, AVAIL | WRITE)
    for i in range(3):
        s.patch(DESC + 16 * i + 14, USED | WRITE)
    s.write('packed-laps')

    # packed: a chain longer than the ring
    s = Seed(PACKED, 3)  # size 4
    for i in range(4):
        s.pdesc(i, RAM + BUF, 8, 0, AVAIL | NEXT)
    s.write('packed-too-long')


if __name__ == '__main__':
    main()

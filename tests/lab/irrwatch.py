#!/usr/bin/env python3
"""irrwatch.py SOCKET [SECS]: lab-run's stall sampler (see unstall in lab-run).

One process on one connection to L1's QEMU monitor (HMP, a unix socket)
for the whole run: every SECS seconds (default 1; lab-run passes
$LAB_IRR_INTERVAL) `info lapic`; the same IRR vectors pending
in two samples in a row are QEMU 7.2's TCG stall: it prints lab-run's
"L1 stalled with IRR ..." line and presses a key (`sendkey shift`), whose
interrupt takes the pending one with it. Waits up to 10 minutes for the
socket; ends when QEMU closes the monitor. tests/lab/test-irrwatch.sh
drives it against a fake monitor.
"""
import re, socket, sys, time
path = sys.argv[1]
interval = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
def connect():
    for _ in range(600):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(1)
    sys.exit(0)
s = connect()
buf = b''
def until_prompt():
    global buf
    while b'(qemu)' not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit(0)
        buf += d
    out, _, buf = buf.partition(b'(qemu)')
    return re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', out.decode(errors='replace'))
until_prompt()  # the banner
last = ''
while True:
    time.sleep(interval)
    try:
        s.sendall(b'info lapic\n')
        t = until_prompt()
    except OSError:
        sys.exit(0)
    m = re.search(r'^IRR[ \t]*(.*?)[ \t]*$', t.replace('\r', ''), re.M)
    irr = m.group(1) if m else ''
    if not irr or 'none' in irr:
        last = ''
        continue
    if irr != last:
        last = irr
        continue
    last = ''
    print('lab-run: L1 stalled with IRR %s pending (the QEMU TCG stall); '
          'pressing a key to wake it' % irr, flush=True)
    try:
        s.sendall(b'sendkey shift\n')
        until_prompt()
    except OSError:
        sys.exit(0)

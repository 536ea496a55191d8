#!/bin/sh
# test-irrwatch.sh: lab-run's stall sampler (tests/lab/irrwatch.py) against
# a fake QEMU monitor that answers `info lapic` from a script of IRR
# states: the same vectors pending in two samples in a row are a stall
# (one line, one key press); a change of vectors or an empty IRR is not;
# after a press the next stall needs two samples again; the sampler ends
# when the monitor closes. Prints TAP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
echo 1..3
python3 - "$W/mon" "$W/keys" <<'PY' &
import socket, sys
path, keys = sys.argv[1], sys.argv[2]
seq = ['(none)', '236', '236', '236', '236', '48', '(none)']
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
c, _ = srv.accept()
c.sendall(b'QEMU 7.2.22 monitor - type \'help\' for more information\r\n(qemu) ')
buf, pressed, i = b'', 0, 0
while i < len(seq):
    d = c.recv(4096)
    if not d:
        break
    buf += d
    while b'\n' in buf:
        line, _, buf = buf.partition(b'\n')
        cmd = line.decode().strip()
        out = cmd + '\r\n'
        if cmd == 'info lapic':
            out += ('dumping local APIC state for CPU 0\r\n\r\n'
                    'LVT0\t 0x00010700 active-hi edge  masked   ExtINT (vec 0)\r\n'
                    'ISR\t (none)\r\nIRR\t %s\r\n\r\nAPR 0x00 TPR 0x00 DFR 0x0f '
                    'LDR 0x01 PPR 0x00\r\n' % seq[i])
            i += 1
        elif cmd == 'sendkey shift':
            pressed += 1
        c.sendall(out.encode() + b'\x1b[K(qemu) ')
open(keys, 'w').write('%d\n' % pressed)
c.close()
PY
srv=$!
# the sampler waits for the socket (it may start first)
out=$(timeout 60 python3 "$here/irrwatch.py" "$W/mon")
rc=$?
wait "$srv"
n=$(echo "$out" | grep -c 'lab-run: L1 stalled with IRR 236 pending')
if [ "$n" = 2 ] && [ "$(echo "$out" | grep -c stalled)" = 2 ]; then
    echo "ok 1 - two stalls of vector 236 seen (and 48 alone is not one)"
else
    echo "not ok 1 - stall lines: $n, output: $out"
fi
if [ "$(cat "$W/keys" 2>/dev/null)" = 2 ]; then
    echo "ok 2 - a key pressed for each stall"
else
    echo "not ok 2 - keys pressed: $(cat "$W/keys" 2>/dev/null)"
fi
if [ "$rc" = 0 ]; then
    echo "ok 3 - the sampler ends when the monitor closes"
else
    echo "not ok 3 - the sampler exited $rc"
fi

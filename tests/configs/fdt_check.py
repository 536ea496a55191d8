#!/usr/bin/env python3
"""fdt_check.py DTS JSON [INITRD_SIZE]: check a device tree, as `dtc -I dtb
-O dts` decompiled qvm's `set fdt-dump-file` blob, against the machine
`qvm --json ... dryrun` describes (docs/dryrun.md): the RAM (memory@
nodes), one cpu node per vCPU with enable-method psci and a PSCI 0.2 node
(hvc), the GIC's compatible and reg (distributor and redistributors or CPU
interface, from the memory map), the architected timer's four PPIs (secure,
non-secure, virtual, hypervisor physical: INTIDs 29, 30, 27, 26, level
high), each pl011 and MMIO virtio vdev's reg and interrupts (and no other
such node), /chosen's bootargs (the cmdline), stdout-path (the first
PL011) and the initrd (INITRD_SIZE bytes, inside RAM). Prints every
mismatch and exits 1 when there is one."""
import json
import re
import sys

TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|<[^>]*>|\[[^\]]*\]|[{};=]|[^\s{};=]+')


def parse(text):
    """dtc's output -> {path: {prop: value}}; a value is a list of ints
    (cells), a list of strings, or True (an empty property)."""
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    toks = TOKEN.findall(text)
    nodes, stack, i = {}, [], 0
    while i < len(toks):
        t = toks[i]
        if t == '/dts-v1/' or t == ';' and not stack:
            i += 1
            continue
        if i + 1 < len(toks) and toks[i + 1] == '{':
            stack.append(t)
            path = '/' + '/'.join(stack[1:]) if len(stack) > 1 else '/'
            nodes[path] = {}
            i += 2
            continue
        if t == '}':
            stack.pop()
            i += 2  # '};'
            continue
        path = '/' + '/'.join(stack[1:]) if len(stack) > 1 else '/'
        if toks[i + 1] == ';':
            nodes[path][t] = True
            i += 2
            continue
        assert toks[i + 1] == '=', (t, toks[i + 1])
        j, val = i + 2, []
        while toks[j] != ';':
            v = toks[j]
            if v.startswith('<'):
                val += [int(c, 0) for c in v[1:-1].split()]
            elif v.startswith('"'):
                val += v[1:-1].encode().decode('unicode_escape').split('\0')
            j += 1
        nodes[path][t] = val
        i = j + 1
    return nodes


def u64s(cells):
    return [cells[k] << 32 | cells[k + 1] for k in range(0, len(cells), 2)]


def main():
    tree = parse(open(sys.argv[1]).read())
    m = json.load(open(sys.argv[2]))
    initrd_size = int(sys.argv[3]) if len(sys.argv) > 3 else None
    bad = []

    def want(cond, msg):
        if not cond:
            bad.append(msg)

    def get(path, prop):
        v = tree.get(path, {}).get(prop)
        want(v is not None, f'{path}: no {prop}')
        return v

    # memory
    ram = sorted((r['base'], r['size']) for r in m['map'] if r['what'] == 'ram')
    mem = sorted(tuple(u64s(p['reg'])) for n, p in tree.items()
                 if n.startswith('/memory@'))
    want(mem == ram, f'memory nodes {mem}, RAM {ram}')
    for base, _ in ram:
        want(f'/memory@{base:x}' in tree, f'no /memory@{base:x}')
    # cpus and psci
    ncpu = len(m['cpus']) or 1
    cpus = sorted(n for n in tree if re.fullmatch(r'/cpus/cpu@[0-9a-f]+', n))
    want(len(cpus) == ncpu, f'{len(cpus)} cpu nodes, {ncpu} vCPUs')
    for c in cpus:
        want(tree[c].get('enable-method') == ['psci'], f'{c}: not psci')
        want(tree[c].get('device_type') == ['cpu'], f'{c}: device_type')
        want(f'/cpus/cpu@{tree[c]["reg"][-1]:x}' == c, f'{c}: reg')
    want(get('/psci', 'compatible') == ['arm,psci-0.2'], '/psci compatible')
    want(get('/psci', 'method') == ['hvc'], '/psci method')
    # the GIC
    gic = [v for v in m['vdevs'] if v['type'] == 'gic']
    want(len(gic) == 1, 'no vdev gic')
    v3 = gic[0]['options'].get('version', '3') == '3'
    dist = [(r['base'], r['size']) for r in m['map']
            if r['what'].startswith('vdev gic') and
            r['what'].endswith(' distributor')]
    other = [(r['base'], r['size']) for r in m['map']
             if r['what'].startswith('vdev gic') and
             ('redistributors' in r['what'] or 'CPU interface' in r['what'])]
    want(len(dist) == 1 and len(other) == 1, f'GIC windows {dist} {other}')
    intc = f'/intc@{dist[0][0]:x}' if dist else '/intc'
    want(get(intc, 'compatible') ==
         ['arm,gic-v3' if v3 else 'arm,cortex-a15-gic'], f'{intc} compatible')
    want(u64s(get(intc, 'reg') or []) == [*dist[0], *other[0]],
         f'{intc}: reg {u64s(get(intc, "reg") or [])}, map {dist} {other}')
    want('interrupt-controller' in tree.get(intc, {}), f'{intc}: no flag')
    phandle = (get(intc, 'phandle') or [None])[0]
    want(get('/', 'interrupt-parent') == [phandle], 'interrupt-parent')
    # the timer: PPIs 13, 14, 11, 10 (INTIDs 29, 30, 27, 26), level high
    # (GICv2: with the mask of the CPUs)
    flags = 4 if v3 else 4 | ((1 << ncpu) - 1) << 8
    want(get('/timer', 'interrupts') ==
         [1, 13, flags, 1, 14, flags, 1, 11, flags, 1, 10, flags],
         f'/timer interrupts {get("/timer", "interrupts")}')
    want(get('/timer', 'compatible') == ['arm,armv8-timer'], 'timer compat')
    # PL011s and virtio-mmio: each vdev's node, and no other
    def dev_nodes(prefix):
        return {n for n in tree if n.startswith(prefix)}

    for kind, prefix, compat in (
            ('pl011', '/pl011@', ['arm,pl011', 'arm,primecell']),
            ('virtio-', '/virtio_mmio@', ['virtio,mmio'])):
        vds = [v for v in m['vdevs'] if v['type'].startswith(kind)
               and v['loc'] and v['loc']['space'] == 'mem']
        seen = set()
        for v in vds:
            n = f'{prefix}{v["loc"]["base"]:x}'
            seen.add(n)
            want(n in tree, f'{v["type"]} at {v["loc"]["base"]:#x}: no {n}')
            if n not in tree:
                continue
            want(tree[n].get('compatible') == compat, f'{n}: compatible')
            want(u64s(tree[n].get('reg', [])) ==
                 [v['loc']['base'], v['loc']['size']],
                 f'{n}: reg {u64s(tree[n].get("reg", []))}, vdev '
                 f'{v["loc"]["base"]:#x},{v["loc"]["size"]:#x}')
            irq = [0, v['intr'][0]['line'] - 32, 4] if v['intr'] else None
            want(tree[n].get('interrupts') == irq,
                 f'{n}: interrupts {tree[n].get("interrupts")}, vdev {irq}')
        extra = dev_nodes(prefix) - seen
        want(not extra, f'nodes without a vdev: {sorted(extra)}')
    # /chosen
    want(get('/chosen', 'bootargs') == [m['cmdline']] if m['cmdline']
         else 'bootargs' not in tree['/chosen'], '/chosen bootargs')
    pl = [v for v in m['vdevs'] if v['type'] == 'pl011']
    if pl:
        want(get('/chosen', 'stdout-path') ==
             [f'/pl011@{pl[0]["loc"]["base"]:x}'], '/chosen stdout-path')
    if initrd_size is not None:
        s = u64s(get('/chosen', 'linux,initrd-start') or [0, 0])[0]
        e = u64s(get('/chosen', 'linux,initrd-end') or [0, 0])[0]
        want(e - s == initrd_size, f'initrd {s:#x}-{e:#x}: {e - s} bytes, '
             f'the file {initrd_size}')
        want(any(b <= s and e <= b + n for b, n in ram),
             f'initrd {s:#x}-{e:#x} is not in RAM')
    for b in bad:
        print(f'fdt_check: {b}')
    print(f'fdt_check: {sys.argv[1]}: {"ok" if not bad else "MISMATCH"} '
          f'({len(cpus)} cpus, {len(mem)} memory, '
          f'{len(dev_nodes("/pl011@"))} pl011, '
          f'{len(dev_nodes("/virtio_mmio@"))} virtio-mmio)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""kmods.py TAG MODDIR GROUP...: Debian kernel modules for a guest's
initramfs, with their dependencies, in load order.

MODDIR is a kernel's lib/modules/VERSION (from its unpacked package).
Each GROUP is DIR=MOD[,MOD...]: those modules and every module they
depend on (each module's own "depends=", as modinfo shows it) that no
earlier group took, copied to DIR as NAME.ko, their load order in
DIR/order. Built-in modules (the package's modules.builtin) are left out.
A GROUP FILE:=MOD copies that one module's file to FILE (no order). TAG
names the caller in messages. Used by prepare-virtio.sh (x86) and
prepare-arm64.sh."""
import os
import re
import shutil
import sys


def main(argv):
    tag, mdir, groups = argv[1], argv[2], argv[3:]
    norm = lambda n: n.replace('-', '_')
    paths = {}
    for line in open(os.path.join(mdir, 'modules.order')):
        p = line.strip()
        paths[norm(os.path.basename(p)[:-3])] = p
    builtin = {norm(os.path.basename(l.strip())[:-3])
               for l in open(os.path.join(mdir, 'modules.builtin'))}
    order, done = [], set()

    def add(n):
        if n in done or n in builtin:
            return
        if n not in paths:
            sys.exit('%s: module %s is in neither modules.order nor '
                     'modules.builtin' % (tag, n))
        done.add(n)
        d = open(os.path.join(mdir, paths[n]), 'rb').read()
        m = re.search(rb'\0depends=([^\0]*)\0', d)
        for dep in (m.group(1).decode().split(',') if m else []):
            if dep:
                add(norm(dep))
        order.append(n)

    for g in groups:
        if ':=' in g:
            dest, n = g.split(':=', 1)
            shutil.copy(os.path.join(mdir, paths[norm(n)]), dest)
            continue
        out, mods = g.split('=', 1)
        first = len(order)
        for n in mods.split(','):
            add(norm(n))
        for n in order[first:]:
            shutil.copy(os.path.join(mdir, paths[n]),
                        os.path.join(out, n + '.ko'))
        with open(os.path.join(out, 'order'), 'w') as f:
            f.write(''.join(n + '\n' for n in order[first:]))
        print('%s: modules in %s: %s' % (tag, out, ' '.join(order[first:])),
              file=sys.stderr)


if __name__ == '__main__':
    main(sys.argv)

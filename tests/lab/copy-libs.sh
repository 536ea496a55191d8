#!/bin/sh
# copy-libs.sh: makes dynamically linked programs runnable inside another root
# (the nested lab's L1 initramfs) by copying the shared libraries that `ldd`
# lists for them, and the dynamic loader, to the same absolute paths under
# ROOT. Symbolic links are followed, so ROOT receives regular files. Static
# programs and non-ELF files are left alone.
#
# Usage: copy-libs.sh ROOT FILE...
# Exit status: 0, or 1 if ldd reports a library as "not found".
set -eu
[ $# -ge 1 ] || { echo "usage: copy-libs.sh ROOT FILE..." >&2; exit 2; }
ROOT=$1
shift
rc=0
for f in "$@"; do
    [ -f "$f" ] || continue
    [ "$(head -c 4 "$f" | od -An -c | tr -d ' \n')" = '177ELF' ] || continue
    out=$(ldd "$f" 2>/dev/null) || continue # "not a dynamic executable"
    if echo "$out" | grep -q 'not found'; then
        echo "copy-libs: $f: $(echo "$out" | grep 'not found' | tr -s '\t ' ' ')" >&2
        rc=1
    fi
    # Lines look like "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)"
    # or "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no path.
    for lib in $(echo "$out" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
        [ -e "$ROOT$lib" ] && continue
        mkdir -p "$ROOT$(dirname "$lib")"
        cp -L "$lib" "$ROOT$lib"
    done
done
exit $rc

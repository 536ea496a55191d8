#!/bin/sh
# deb-check.sh [OUTDIR]: builds qvm's Debian package as a user would, in a
# clean copy of the tree (git archive of HEAD and the tracked files'
# changes), then checks it: lintian without errors, the files where they
# belong (dpkg-deb -c), dependencies computed (Depends names libc6 and
# libseccomp2, from ${shlibs:Depends}), and the packaged qvm, extracted into
# a scratch root (dpkg-deb -x), prints its version, passes dryrun on the
# packaged example service.qvmconf and has its man pages render. OUTDIR:
# keep the .deb there. DEB_BUILD_OPTIONS defaults to nocheck (CI runs the
# unit tests itself; DEB_BUILD_OPTIONS= runs them in the build too).
# Needs dpkg-dev, debhelper, lintian, fakeroot and the Build-Depends.
set -eu
cd "$(dirname "$0")/.."
out=${1:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qvm-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb-check: $*" >&2; exit 1; }

rev=$(git stash create 2>/dev/null || true)
mkdir "$tmp/qvm"
git archive "${rev:-HEAD}" | tar -x -C "$tmp/qvm"
echo "deb-check: dpkg-buildpackage -us -uc -b in a clean tree ($tmp/qvm)"
if ! (cd "$tmp/qvm" && DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck} \
    dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
    tail -n 60 "$tmp/build.log" >&2
    fail "dpkg-buildpackage failed"
fi
set -- "$tmp"/qvm_*.deb
[ $# -eq 1 ] && [ -f "$1" ] || fail "no single qvm_*.deb built: $*"
deb=$1
echo "deb-check: built $(basename "$deb")"

# lintian: errors fail, the rest is shown
lintian --fail-on error --tag-display-limit 0 "$deb" ||
    fail "lintian reports errors"

dpkg-deb -c "$deb" | awk '{ print $6 }' >"$tmp/contents"
for f in ./usr/bin/qvm ./usr/bin/qvm-lab ./usr/share/man/man1/qvm.1.gz \
    ./usr/share/man/man5/qvmconf.5.gz ./usr/share/man/man1/qvm-lab.1.gz \
    ./lib/systemd/system/qvm@.service \
    ./usr/share/doc/qvm/examples/service.qvmconf \
    ./usr/share/doc/qvm/exit-codes.md.gz ./usr/share/qvm/lab/lab-run \
    ./usr/share/qvm/lab/fetch.sh ./etc/qvm/; do
    grep -qxF "$f" "$tmp/contents" || fail "the package lacks $f"
done
echo "deb-check: dpkg-deb -c: qvm, qvm-lab, man pages, unit, examples, lab"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libc6 libseccomp2 zlib1g; do
    case $depends in *"$d"*) ;; *) fail "Depends lacks $d: $depends" ;; esac
done
echo "deb-check: Depends: $depends"

dpkg-deb -x "$deb" "$tmp/root"
want=$(sed -n "s/^ *version: '\([^']*\)'.*/\1/p" meson.build | head -n 1)
got=$("$tmp/root/usr/bin/qvm" --version)
[ "$got" = "qvm $want" ] || fail "qvm --version: '$got', not 'qvm $want'"
echo "deb-check: $got"
grep -q "^ExecStart=/usr/bin/qvm @/etc/qvm/%i.qvmconf$" \
    "$tmp/root/lib/systemd/system/qvm@.service" ||
    fail "qvm@.service does not run /usr/bin/qvm @/etc/qvm/%i.qvmconf"
# dryrun of the packaged example, from a directory with stand-in images
mkdir "$tmp/guest"
printf x >"$tmp/guest/vmlinuz"
printf x >"$tmp/guest/initramfs.cpio.gz"
(cd "$tmp/guest" && "$tmp/root/usr/bin/qvm" \
    @"$tmp/root/usr/share/doc/qvm/examples/service.qvmconf" dryrun) \
    >"$tmp/dryrun" 2>&1 || { cat "$tmp/dryrun" >&2; fail "dryrun failed"; }
grep -q 'Exiting: dryrun completed' "$tmp/dryrun" || fail "dryrun incomplete"
echo "deb-check: dryrun of examples/service.qvmconf completed"
for m in man1/qvm.1.gz man5/qvmconf.5.gz man1/qvm-lab.1.gz; do
    w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l \
        "$tmp/root/usr/share/man/$m" 2>&1 >/dev/null)
    [ -z "$w" ] || fail "man -l $m: $w"
done
echo "deb-check: the packaged man pages render without warnings"
[ -z "$out" ] || cp "$deb" "$out/"
echo "deb-check: ok"

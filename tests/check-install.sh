#!/bin/sh
# check-install.sh BUILDDIR: `meson install --destdir` of the build into a
# scratch tree (TAP): qvm, qvm-lab and the lab, the man pages, the examples,
# /etc/qvm and the systemd unit are where the README ("Installing") says;
# the installed qvm runs (--version, dryrun of the installed example) and the
# installed qvm-lab uses the installed qvm and lab (--where).
set -u
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
if ! meson install -C "$build" --no-rebuild --destdir "$tmp/dest" >"$tmp/log" 2>&1; then
    sed 's/^/# /' "$tmp/log"
    echo "not ok 1 - meson install"
    echo "1..1"
    exit 1
fi
ok "meson install --destdir"
meson introspect "$build" --buildoptions | python3 -c '
import json, sys
v = {o["name"]: o["value"] for o in json.load(sys.stdin)}
for k in ("prefix", "bindir", "datadir", "mandir", "sysconfdir", "systemdunitdir"):
    print(v[k])' >"$tmp/dirs"
{ read -r prefix; read -r bindir; read -r datadir; read -r mandir
  read -r sysconfdir; read -r unitdir; } <"$tmp/dirs"
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
root=$tmp/dest
B=$root$(abs "$bindir") D=$root$(abs "$datadir") M=$root$(abs "$mandir")
E=$root$(abs "$sysconfdir") U=$root${unitdir:-$prefix/lib/systemd/system}
for f in "$B/qvm" "$B/qvm-lab" "$D/qvm/lab/lab-run" "$D/qvm/lab/fetch.sh" \
    "$D/qvm/lab/mk-initramfs.sh" "$D/qvm/lab/copy-libs.sh" "$D/qvm/lab/l1-init"; do
    if [ -x "$f" ] && [ -f "$f" ]; then ok "${f#"$root"} (executable)"; else notok "${f#"$root"} (executable)"; fi
done
for f in "$M/man1/qvm.1" "$M/man5/qvmconf.5" "$M/man1/qvm-lab.1" \
    "$D/doc/qvm/exit-codes.md" "$D/doc/qvm/README.md" "$U/qvm@.service"; do
    if [ -f "$f" ]; then ok "${f#"$root"}"; else notok "${f#"$root"}"; fi
done
src=$(cd "$(dirname "$0")/.." && pwd)
for f in "$src"/examples/*.qvmconf; do # meson.build lists them one by one
    i=$D/doc/qvm/examples/$(basename "$f")
    if cmp -s "$f" "$i"; then ok "${i#"$root"}"; else notok "${i#"$root"} (examples/$(basename "$f") is not installed)"; fi
done
if [ -d "$E/qvm" ]; then ok "${E#"$root"}/qvm/"; else notok "${E#"$root"}/qvm/"; fi
# the unit runs the installed qvm on the installed configuration directory
want="ExecStart=$(abs "$bindir")/qvm @$(abs "$sysconfdir")/qvm/%i.qvmconf"
if grep -qxF "$want" "$U/qvm@.service" 2>/dev/null; then ok "qvm@.service: $want"; else notok "qvm@.service: $want"; fi
v=$("$B/qvm" --version 2>&1)
case $v in "qvm "*) ok "installed qvm --version: $v" ;; *) notok "installed qvm --version: $v" ;; esac
mkdir "$tmp/guest"
printf x >"$tmp/guest/vmlinuz"
printf x >"$tmp/guest/initramfs.cpio.gz"
if (cd "$tmp/guest" && "$B/qvm" @"$D/doc/qvm/examples/service.qvmconf" dryrun) 2>&1 |
    grep -q 'Exiting: dryrun completed'; then
    ok "installed qvm: dryrun of the installed service.qvmconf"
else
    notok "installed qvm: dryrun of the installed service.qvmconf"
fi
w=$(cd "$tmp" && "$B/qvm-lab" --where 2>&1)
if [ "$w" = "qvm $B/qvm
lab $D/qvm/lab" ]; then
    ok "installed qvm-lab uses the installed qvm and lab"
else
    notok "installed qvm-lab uses the installed qvm and lab: $w"
fi
echo "1..$n"
exit $failed

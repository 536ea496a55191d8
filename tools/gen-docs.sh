#!/bin/sh
# gen-docs.sh QVM [--check]: writes the documents generated from the option
# tables of src/config/schema.c: docs/qvmconf.md from docs/qvmconf.md.in and
# `qvm help --markdown`, the man pages docs/man/qvmconf.5 (from
# docs/man/qvmconf.5.in and `qvm help --man`) and docs/man/qvm.1 (from
# docs/man/qvm.1.in and `qvm help --man-vdevs`). --check: fail if any is
# stale (the test docs-up-to-date).
set -eu
qvm=$1
case $qvm in /*) ;; *) qvm=$(pwd)/$qvm ;; esac
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$("$qvm" --version | sed 's/^qvm //')

# fill TEMPLATE OUT MARKER FILE: TEMPLATE with the line MARKER replaced by
# FILE's lines, @VERSION@ by qvm's version
fill() {
    awk -v ref="$4" -v mark="$3" -v ver="$version" '
        $0 == mark { while ((getline l < ref) > 0) print l; next }
        { gsub(/@VERSION@/, ver); print }' "$1" >"$2"
}

"$qvm" help --markdown >"$tmp/md"
"$qvm" help --man >"$tmp/man5"
"$qvm" help --man-vdevs >"$tmp/man1"
fill docs/qvmconf.md.in "$tmp/qvmconf.md" @REFERENCE@ "$tmp/md"
fill docs/man/qvmconf.5.in "$tmp/qvmconf.5" @REFERENCE@ "$tmp/man5"
fill docs/man/qvm.1.in "$tmp/qvm.1" @VDEVS@ "$tmp/man1"

stale=0
for f in docs/qvmconf.md docs/man/qvmconf.5 docs/man/qvm.1; do
    new=$tmp/$(basename "$f")
    if [ "${2:-}" = --check ]; then
        if ! cmp -s "$new" "$f"; then
            echo "$f is stale: run tools/gen-docs.sh build/qvm"
            diff -u "$f" "$new" | head -40 || true
            stale=1
        else
            echo "$f is up to date"
        fi
    else
        cp "$new" "$f"
    fi
done
exit $stale

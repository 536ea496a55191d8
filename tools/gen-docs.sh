#!/bin/sh
# gen-docs.sh QVM [--check]: writes docs/qvmconf.md from docs/qvmconf.md.in
# and `qvm help --markdown` (the option tables). --check: fail if stale.
set -eu
qvm=$1
case $qvm in /*) ;; *) qvm=$(pwd)/$qvm ;; esac
cd "$(dirname "$0")/.."
tmp=$(mktemp)
ref=$(mktemp)
"$qvm" help --markdown > "$ref"
awk -v ref="$ref" '$0 == "@REFERENCE@" { while ((getline l < ref) > 0) print l; next } { print }' \
    docs/qvmconf.md.in > "$tmp"
if [ "${2:-}" = --check ]; then
    if ! cmp -s "$tmp" docs/qvmconf.md; then
        echo "docs/qvmconf.md is stale: run tools/gen-docs.sh build/qvm"
        diff -u docs/qvmconf.md "$tmp" | head -40
        rm -f "$tmp" "$ref"
        exit 1
    fi
    echo "docs/qvmconf.md is up to date"
    rm -f "$tmp" "$ref"
    exit 0
fi
mv "$tmp" docs/qvmconf.md
rm -f "$ref"

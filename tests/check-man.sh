#!/bin/sh
# check-man.sh: the man pages (docs/man/qvm.1, docs/man/qvmconf.5) render
# without a single warning: groff with every warning on (-ww) and in
# man's own check (man --warnings -l), as a reader's `man` renders them.
# Skipped (77) without groff, unless CI=true. Whether they are in sync with
# the schema is the test docs-up-to-date (tools/gen-docs.sh --check).
set -u
cd "$(dirname "$0")/.."
if ! command -v groff >/dev/null 2>&1; then
    echo "groff is not installed"
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
export LC_ALL=C.UTF-8 MANWIDTH=80
failed=0
for page in docs/man/qvm.1 docs/man/qvmconf.5 docs/man/qvm-lab.1; do
    out=$(groff -man -ww -z -Tutf8 "$page" 2>&1)
    if command -v man >/dev/null 2>&1; then
        out="$out$(man --warnings -l "$page" 2>&1 >/dev/null)"
    fi
    if [ -n "$out" ]; then
        echo "$page: warnings:"
        echo "$out"
        failed=1
    else
        echo "$page: no warnings"
    fi
done
exit $failed

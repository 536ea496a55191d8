#!/bin/sh
# check-format.sh: every tracked C file matches .clang-format (clang-format
# 14). Prints the files that do not, and how to fix them; exit 1 if any.
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "check-format: clang-format is not installed" >&2; exit 1; }
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find src tests tools -name '*.[ch]'); do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f"
        bad=1
    fi
done
[ $bad = 0 ] && echo "check-format: all C files are formatted" && exit 0
echo "fix with: clang-format -i FILE" >&2
exit 1

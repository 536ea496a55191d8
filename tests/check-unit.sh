#!/bin/sh
# check-unit.sh UNIT QVM: the systemd unit qvm@.service (UNIT: the one meson
# configured, build/qvm@.service) against docs/exit-codes.md, TAP.
#  1. systemd-analyze verify says nothing about it (run on a copy whose
#     ExecStart is the built QVM, with the man pages of docs/man; skipped
#     without systemd-analyze, unless CI=true);
#  2. each status of the table "Under systemd" in docs/exit-codes.md is
#     restarted or not, a success or a failure, as the unit's Restart=,
#     RestartPreventExitStatus= and SuccessExitStatus= make it; the unit's
#     QVM_RESET_STATUS is the table's reset status; every single status of
#     the main table is in it, and every status the unit names.
set -u
unit=$1
qvm=$2
case $qvm in /*) ;; *) qvm=$(pwd)/$qvm ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
doc=$root/docs/exit-codes.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }

# 1. systemd-analyze verify
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$tmp/unit" "$tmp/man/man1" "$tmp/man/man5"
    cp "$root/docs/man/qvm.1" "$tmp/man/man1/"
    cp "$root/docs/man/qvmconf.5" "$tmp/man/man5/"
    sed "s|^ExecStart=[^ ]*/qvm |ExecStart=$qvm |" "$unit" >"$tmp/unit/qvm@.service"
    if (cd "$tmp" && MANPATH=$tmp/man systemd-analyze verify \
        "$tmp/unit/qvm@.service") >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
        ok "systemd-analyze verify qvm@.service"
    else
        notok "systemd-analyze verify qvm@.service"
        sed 's/^/# /' "$tmp/out"
    fi
elif [ "${CI:-}" = true ]; then
    notok "systemd-analyze verify qvm@.service: no systemd-analyze"
else
    n=$((n + 1))
    echo "ok $n - systemd-analyze verify qvm@.service # SKIP no systemd-analyze"
fi

# 2. the exit statuses
key() { sed -n "s/^$1=//p" "$unit" | tr '\n' ' '; }
restart=$(key Restart)
success=" 0 $(key SuccessExitStatus) "
prevent=" $(key RestartPreventExitStatus) "
reset=$(sed -n 's/^Environment=QVM_RESET_STATUS=//p' "$unit")
case $restart in
"always "*) ok "Restart=always" ;;
*) notok "Restart=$restart: this test knows Restart=always" ;;
esac
# the table "Under systemd": | STATUS | why | the service |
awk '/^## Under systemd/ { on = 1; next } /^## / { on = 0 }
     on && /^\| [0-9]+ \|/' "$doc" >"$tmp/table"
if [ -s "$tmp/table" ]; then
    ok "docs/exit-codes.md has the table \"Under systemd\""
else
    notok "docs/exit-codes.md has no table \"Under systemd\""
fi
while IFS='|' read -r _ code why service _; do
    code=$(echo "$code" | tr -d ' ')
    case $success in *" $code "*) res=success ;; *) res=failed ;; esac
    case $prevent in *" $code "*) rs="not restarted" ;; *) rs=restarted ;; esac
    case $service in
    *"$res, $rs"*) ok "status $code: $res, $rs" ;;
    *) notok "status $code: the unit makes it \"$res, $rs\", the table says \"$service\"" ;;
    esac
    case $why in
    *QVM_RESET_STATUS*)
        if [ "$code" = "$reset" ]; then
            ok "the reset status $code is the unit's QVM_RESET_STATUS"
        else
            notok "the table's reset status $code, the unit's QVM_RESET_STATUS=$reset"
        fi ;;
    esac
done <"$tmp/table"
codes=" $(cut -d'|' -f2 "$tmp/table" | tr -d ' ' | tr '\n' ' ') "
# every single status of the main table (before "## The power-off port")
main=$(awk '/^## / && NR > 1 { exit } /^\| [0-9]+ \|/' "$doc" | cut -d'|' -f2 | tr -d ' ')
missing=''
for c in $main $success $prevent $reset; do
    case $codes in
    *" $c "*) ;;
    *) missing="$missing $c" ;;
    esac
done
if [ -z "$missing" ]; then
    ok "the table covers every status of docs/exit-codes.md and of the unit"
else
    notok "statuses not in the table \"Under systemd\":$missing"
fi
echo "1..$n"
exit $failed

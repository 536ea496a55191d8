#!/bin/sh
# build.sh: installs missing build dependencies (tools/deps.sh) and builds
# qvm, its tools and the test guests into build/.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build

#!/bin/sh
# targets.sh: the fuzz targets and their seeds, for campaign.sh and
# check-cov.sh (tests/fuzz/meson.build builds them; tools/test.sh runs them).
#   targets.sh names          every target
#   targets.sh seeds TARGET   its corpus directories (committed + extra)
#   targets.sh extra TARGET   the extra seed directories only
#   targets.sh max_len TARGET the input size a campaign explores
set -eu
cd "$(dirname "$0")/../.."
case $1 in
names) echo qvmconf loader virtqueue ser8250 pci hpet pl011 shmem wdt_ib700 wdt_sp805 pl061 vfio virtio_blk virtio_net ;;
extra) [ "$2" = qvmconf ] && echo tests/configs/good tests/configs/bad || true ;;
seeds) echo tests/fuzz/corpus/"$2" $("$0" extra "$2") ;;
max_len)
    case $2 in
    virtqueue) echo 70000 ;;
    loader) echo 65536 ;;
    *) echo 4096 ;;
    esac ;;
*) echo "usage: targets.sh names|seeds T|extra T|max_len T" >&2; exit 2 ;;
esac

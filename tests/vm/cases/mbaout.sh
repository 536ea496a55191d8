#!/bin/sh
# mbaout: the mbinfo guest built as a multiboot 1 a.out-kludge flat binary
# (guests/mbaout.bin, not an ELF: qvm loads it by the header's load, bss and
# entry addresses); the same checks as mbinfo.sh.
MBINFO_NAME=mbaout MBINFO_KERNEL=guests/mbaout.bin exec sh "$(dirname "$0")/mbinfo.sh"

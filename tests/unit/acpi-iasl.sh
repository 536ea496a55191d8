#!/bin/sh
# acpi-iasl.sh DUMPER: ACPICA's disassembler over the ACPI tables qvm builds
# for the sample boards of tests/unit/x86_boards.h. DUMPER
# (acpi_dump_tables) writes them as DIR/BOARD/sig.dat; every table must
# disassemble with `iasl -d` (exit status 0, no error, warning or bad
# checksum in its output or in the .dsl), the DSDT must compile back
# without errors or warnings, and the .dsl must show what the board has.
# Exit 77 (skipped) without iasl, except with CI=true: a failure then.
set -u
dumper=$1
if ! command -v iasl >/dev/null 2>&1; then
    echo "acpi-iasl: iasl not found (Debian: apt-get install acpica-tools)"
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$dumper" "$dir" || exit 1

fail=0
bad() {
    echo "not ok - $*"
    fail=1
}

# The tables each board must have, exactly.
tables() {
    case $1 in
    qnx) echo "apic dsdt facp facs hpet mcfg rsdt xsdt" ;;
    2ioapic) echo "apic dsdt facp facs hpet rsdt xsdt" ;;
    bare) echo "apic dsdt facp facs rsdt xsdt" ;;
    esac
}

for b in qnx 2ioapic bare; do
    got=
    for f in "$dir/$b"/*.dat; do
        f=${f##*/}
        got="$got${f%.dat} "
    done
    [ "$got" = "$(tables $b) " ] || bad "$b: tables '$got', not '$(tables $b)'"
    for t in $(tables $b); do
        log=$dir/$b/$t.log
        if ! (cd "$dir/$b" && iasl -d "$t.dat") >"$log" 2>&1; then
            bad "$b/$t: iasl -d failed"
            cat "$log"
        fi
        if grep -E -i 'error|warning|incorrect|not contain a valid' "$log"; then
            bad "$b/$t: iasl -d complained"
        fi
        if [ ! -s "$dir/$b/$t.dsl" ]; then
            bad "$b/$t: no $t.dsl"
        elif grep -E -i '\*\*\*\*|incorrect|error|unknown' "$dir/$b/$t.dsl"; then
            bad "$b/$t: problems in the disassembly"
        fi
        # One line: no offsets or comments, runs of blanks as one space.
        sed -e 's/^\[[^]]*\] *//' -e 's|//.*||' -e 's|/\*[^*]*\*/||g' \
            "$dir/$b/$t.dsl" | tr -s ' \t\n' ' ' >"$dir/$b/$t.txt"
    done
    # The DSDT compiles back.
    if ! (cd "$dir/$b" && iasl -p "$dir/$b/rt" dsdt.dsl) >"$dir/$b/rt.log" 2>&1 ||
        ! grep -q ' 0 Errors, 0 Warnings' "$dir/$b/rt.log"; then
        bad "$b: the disassembled DSDT does not compile"
        cat "$dir/$b/rt.log"
    fi
done

# count BOARD TABLE N TEXT: TEXT occurs N times in the table's .dsl
# (without a process per check: the text is read once per table).
cached=
count() {
    if [ "$cached" != "$1/$2" ]; then
        IFS= read -r text <"$dir/$1/$2.txt"
        cached=$1/$2
    fi
    rest=$text n=0
    while :; do
        case $rest in
        *"$4"*) rest=${rest#*"$4"} n=$((n + 1)) ;;
        *) break ;;
        esac
    done
    [ "$n" -eq "$3" ] || bad "$1/$2: '$4' $n times, not $3"
}
has() { count "$1" "$2" 1 "$3"; }
hasnt() { count "$1" "$2" 0 "$3"; }

ioapic() { # BOARD ID ADDR GSI_BASE (hex, as iasl prints them)
    has "$1" apic "I/O Apic ID : $2 Reserved : 00 Address : $3 Interrupt : $4 "
}
ovr() { # BOARD ISA GSI FLAGS
    has "$1" apic "Bus : 00 Source : $2 Interrupt : $3 Flags (decoded below) : $4 "
}

# QNX's minimal Linux platform: IOAPIC at 0xf8000000, 8259 pair, PIT on
# input 0 (no IRQ0 override), HPET at 0xf8008000, COM1, PCI with INTx.
b=qnx
has $b apic "PC-AT Compatibility : 1 "
count $b apic 2 "Subtable Type : 00 [Processor Local APIC]"
count $b apic 1 "Subtable Type : 01 [I/O APIC]"
ioapic $b 02 F8000000 00000000
count $b apic 1 "Subtable Type : 02 [Interrupt Source Override]"
ovr $b 09 00000009 000D
has $b apic "Subtable Type : 04 [Local APIC NMI] Length : 06 Processor ID : FF Flags (decoded below) : 0005 Polarity : 1 Trigger Mode : 1 Interrupt Input LINT : 01 "
has $b facp "FACS Address : 0009F800 "
has $b facp "FACS Address : 000000000009F800 "
has $b facp "SCI Interrupt : 0009 "
has $b facp "PM1A Event Block Address : 00000600 "
has $b facp "PM1A Control Block Address : 00000604 "
has $b facp "PM Timer Block Address : 00000608 "
has $b facp "PM Timer Block Length : 04 "
has $b facp "32-bit PM Timer (V1) : 1 "
has $b facp "PM Timer Block : [Generic Address Structure] Space ID : 01 [SystemIO] Bit Width : 20 Bit Offset : 00 Encoded Access Width : 03 [DWord Access:32] Address : 0000000000000608 "
has $b facp "Boot Flags (decoded below) : 0007 "
has $b facp "Reset Register Supported (V2) : 1 "
has $b facp "Hardware Reduced (V5) : 0 "
has $b facp "Address : 0000000000000CF9 Value to cause reset : 06 "
has $b facs 'Signature : "FACS" Length : 00000040 '
has $b mcfg "Base Address : 00000000E0000000 Segment Group Number : 0000 Start Bus Number : 00 End Bus Number : 00 "
has $b hpet "Hardware Block ID : 8086A201 "
has $b hpet "Address : 00000000F8008000 "
has $b dsdt 'Device (COM1) { Name (_HID, EisaId ("PNP0501") ) Name (_UID, One) Name (_CRS, ResourceTemplate () { IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08, ) IRQNoFlags () {4} }) }'
has $b dsdt 'Device (RTC) { Name (_HID, EisaId ("PNP0B00") ) Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0070, 0x0070, 0x01, 0x02, ) IRQNoFlags () {8} }) }'
has $b dsdt 'Name (_HID, EisaId ("PNP0A08") )'
has $b dsdt 'Name (_CID, EisaId ("PNP0A03") )'
has $b dsdt 'Name (_PRT, Package (0x04) { Package (0x04) { 0x0001FFFF, Zero, Zero, 0x10 }, Package (0x04) { 0x0002FFFF, Zero, Zero, 0x11 }, Package (0x04) { 0x0002FFFF, One, Zero, 0x12 }, Package (0x04) { 0x0003FFFF, 0x03, Zero, 0x13 } })'
has $b dsdt 'Name (_HID, EisaId ("PNP0C02") )'
has $b dsdt 'Memory32Fixed (ReadWrite, 0xE0000000, 0x00100000, )'
has $b dsdt 'Device (HPET) { Name (_HID, EisaId ("PNP0103") ) Name (_UID, Zero) Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, 0xF8008000, 0x00000400, ) }) }'
hasnt $b dsdt 'LNRO0005'

# Two IOAPICs, virtio-mmio on the second, COM1 and COM2, the 8254 on GSI 2.
b=2ioapic
has $b apic "PC-AT Compatibility : 1 "
count $b apic 4 "Subtable Type : 00 [Processor Local APIC]"
count $b apic 2 "Subtable Type : 01 [I/O APIC]"
ioapic $b 04 FEC00000 00000000
ioapic $b 05 FEC01000 00000018
count $b apic 2 "Subtable Type : 02 [Interrupt Source Override]"
ovr $b 00 00000002 0000
ovr $b 09 00000009 000D
has $b hpet "Hardware Block ID : 80862201 "
has $b hpet "Address : 00000000FED00000 "
has $b dsdt 'IRQNoFlags () {4}'
has $b dsdt 'IRQNoFlags () {3}'
count $b dsdt 2 'EisaId ("PNP0501")'
count $b dsdt 3 'Name (_HID, "LNRO0005")'
has $b dsdt 'Device (VR00) { Name (_HID, "LNRO0005") Name (_UID, Zero) Name (_CCA, One) Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, 0xD0000000, 0x00000200, ) Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, ) { 0x00000018, } }) }'
has $b dsdt 'Memory32Fixed (ReadWrite, 0xD0000200, 0x00000200, ) Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, ) { 0x00000019, }'
has $b dsdt 'Memory32Fixed (ReadWrite, 0xD0000400, 0x00000200, ) Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, ) { 0x00000028, }'
has $b dsdt 'EisaId ("PNP0103")'
hasnt $b dsdt 'PNP0A08'

# No 8259 pair, no PCI, legacy-free, no 8042/RTC/PM timer, the FACS in
# the table area, COM1 on an IOAPIC input.
b=bare
has $b apic "PC-AT Compatibility : 0 "
count $b apic 1 "Subtable Type : 01 [I/O APIC]"
ioapic $b 01 FEC00000 00000000
count $b apic 1 "Subtable Type : 02 [Interrupt Source Override]"
ovr $b 09 00000009 000D
has $b facp "PM Timer Block Address : 00000000 "
has $b facp "32-bit PM Timer (V1) : 0 "
has $b facp "Boot Flags (decoded below) : 0024 "
has $b facp "RTC Century Index : 00 "
count $b facp 1 "FACS Address : 000E00"
count $b facp 1 "FACS Address : 00000000000E00"
has $b dsdt 'IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08, ) Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, ) { 0x00000014, }'
hasnt $b dsdt 'PNP0A08'
hasnt $b dsdt 'PNP0103'
hasnt $b dsdt 'LNRO0005'

# Every board: only \_S5 (SLP_TYP 5), at the root.
for b in qnx 2ioapic bare; do
    has $b dsdt 'Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })'
    grep -q '^    Name (_S5, ' "$dir/$b/dsdt.dsl" || bad "$b: _S5 not at the root"
    for s in _S0 _S1 _S2 _S3 _S4; do
        hasnt $b dsdt "Name ($s"
    done
done

if [ $fail = 0 ]; then
    echo "ok - iasl disassembles the tables of qnx, 2ioapic, bare"
fi
exit $fail

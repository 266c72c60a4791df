#!/usr/bin/env bash
# acpi_iasl.sh: the monitor's ACPI tables (monitor/acpi.c, as built by
# tests/monitor/test_acpi for a 2-vCPU machine with three PCI devices) read by
# an independent parser: ACPICA's disassembler (iasl -d, Debian's
# acpica-tools) takes every table without an error or a warning (lengths,
# checksums, AML grammar), and the disassembled DSDT declares what Linux
# looks for: the PCI host bridge with its _CRS and _PRT, COM1, the PS/2
# keyboard and \_S5.
# Exit: 0 pass, 77 skip (iasl missing), 1 fail.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/common.sh

NAME=acpi_iasl
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
command -v iasl >/dev/null || { echo "$NAME: SKIP: iasl (acpica-tools) not installed" >&2; exit 77; }
[[ -x build/tests/monitor/test_acpi ]] || fail "build/tests/monitor/test_acpi not built (make unit-tests)"

ACPI_DUMP_DIR=$TMP build/tests/monitor/test_acpi >"$TMP/test.log" 2>&1 ||
	{ cat "$TMP/test.log" >&2; fail "test_acpi failed"; }
for t in DSDT FACP APIC FACS XSDT; do
	[[ -s $TMP/$t.dat ]] || fail "test_acpi wrote no $t.dat"
	(cd "$TMP" && iasl -d "$t.dat") >"$TMP/$t.iasl" 2>&1 || { cat "$TMP/$t.iasl" >&2; fail "iasl -d $t.dat failed"; }
	if grep -iE '(^|[^a-z])(error|warning)s?[^a-z]' "$TMP/$t.iasl" "$TMP/$t.dsl" | grep -vE ' 0 Errors, 0 Warnings|Compilation complete' >&2; then
		fail "iasl reports a problem in $t"
	fi
done
dsl=$TMP/DSDT.dsl
for want in 'Device (PCI0)' 'EisaId ("PNP0A03")' 'Name (_PRT, Package (0x03)' '0x0002FFFF' \
	'WordBusNumber (ResourceProducer' 'DWordMemory (ResourceProducer' \
	'EisaId ("PNP0501")' 'EisaId ("PNP0303")' 'Name (\_S5, Package (0x04)'; do
	grep -qF "$want" "$dsl" || { cat "$dsl" >&2; fail "the DSDT has no '$want'"; }
done
grep -q 'SCI Interrupt : 0009' "$TMP/FACP.dsl" || fail "FADT: SCI is not 9"
grep -q 'Hardware Reduced (V5) : 0' "$TMP/FACP.dsl" || fail "FADT: hardware-reduced flag set"
[[ $(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' "$TMP/APIC.dsl") == 2 ]] ||
	fail "MADT: not 2 local APICs"
echo "$NAME: PASS"

#!/bin/bash
# check_insns.sh ELF_OR_OBJECT...: fails (exit 1) when the code contains an
# instruction that the kvm_pvm CPL0 emulator cannot run or that is broken on
# kvm_pvm (a KVM without hardware virtualization), listing each one
# with its address, section and function. Exit 0: none found; 2: usage or
# tool error.
#
# Every executable section is disassembled with objdump; a section named
# .boot32 (netguest's PVH entry) in 32-bit mode, the rest in 64-bit mode.
set -euo pipefail

prog=check_insns
if [ $# -lt 1 ]; then
	echo "usage: $0 ELF_OR_OBJECT..." >&2
	exit 2
fi
command -v objdump >/dev/null || { echo "$prog: objdump not found (install binutils)" >&2; exit 2; }

# The awk program reads objdump -d --no-show-raw-insn -w output and prints one
# line per offending instruction. Rules, by mnemonic (prefixes stripped):
#  - exact names: the emulator's failure list plus instructions that inject
#    #UD or hang there, and syscall/sysenter, broken from CPL3;
#  - families: v* (AVX, VMX, verr/verw), xsave*/xrstor*, crc32*, x87 (f*)
#    except fxsave/fxrstor;
#  - any MMX/SSE/AVX/mask register operand: netguest has no FPU/SIMD state
#    (CR4.OSFXSR is off) and is built with -mgeneral-regs-only;
#  - "(bad)": bytes objdump cannot decode could hide anything.
read -r -d '' AWK <<'EOF' || true
BEGIN {
	n = split("int3 int int1 icebp into fwait wait clac stac cmpxchg16b popcnt rdtscp " \
		  "ldmxcsr stmxcsr fldcw fnsave frstor fnclex fclex fninit finit fnstsw fstsw " \
		  "fnstcw fstcw fnstenv fldenv xgetbv xsetbv pxor clwb lsl lar monitor mwait " \
		  "monitorx mwaitx umonitor umwait tpause rdpkru wrpkru vmcall vmmcall vmfunc " \
		  "movbe rdpid syscall sysenter sysexit sysret sysretq sysexitq", names, " ")
	for (i = 1; i <= n; i++)
		forbidden[names[i]] = 1
	bad = 0
}
/^Disassembly of section / { section = $4; sub(/:$/, "", section); next }
/^[0-9a-f]+ <.*>:$/ { func = $2; sub(/:$/, "", func); next }
/^ *[0-9a-f]+:\t/ {
	line = $0
	addr = line; sub(/:.*/, "", addr); gsub(/ /, "", addr)
	insn = line; sub(/^ *[0-9a-f]+:\t/, "", insn)
	m = split(insn, w, /[ \t]+/)
	k = 1
	while (k <= m && w[k] ~ /^(rep|repz|repnz|repe|repne|lock|data16|data32|addr16|addr32|cs|ds|es|ss|fs|gs|notrack|bnd|rex(\.[WRXB]+)?|xacquire|xrelease)$/)
		k++
	mn = w[k]
	why = ""
	if (mn in forbidden) why = mn
	else if (mn ~ /^v/) why = "v* (AVX/VMX/verr/verw)"
	else if (mn ~ /^(xsave|xrstor)/) why = "xsave/xrstor family"
	else if (mn ~ /^crc32/) why = "crc32"
	else if (mn ~ /^f/ && mn !~ /^fxsave(64)?$/ && mn !~ /^fxrstor(64)?$/) why = "x87"
	else if (insn ~ /%(x|y|z)mm[0-9]|%mm[0-7]|%k[0-7]([^0-9]|$)/) why = "SIMD register operand"
	else if (insn ~ /\(bad\)/) why = "undecodable bytes"
	if (why != "") {
		printf "%s: forbidden instruction (%s) at 0x%s in %s %s: %s\n", FILENAME_, why, addr, section, func, insn
		bad++
	}
	count++
}
END { printf "#count %d %d\n", count, bad }
EOF

status=0
for f in "$@"; do
	if [ ! -r "$f" ]; then
		echo "$prog: $f: cannot read" >&2
		exit 2
	fi
	if ! sections=$(objdump -h -w "$f" 2>&1); then
		echo "$prog: $f: objdump -h failed: $sections" >&2
		exit 2
	fi
	sections=$(awk '/CODE/ { print $2 }' <<<"$sections")
	if [ -z "$sections" ]; then
		echo "$prog: $f: no executable section" >&2
		exit 2
	fi
	total=0
	bad=0
	for s in $sections; do
		mode=()
		[ "$s" = .boot32 ] && mode=(-M i386)
		if ! out=$(objdump -d --no-show-raw-insn -w "${mode[@]}" -j "$s" "$f" |
			awk -v FILENAME_="$f" "$AWK"); then
			echo "$prog: $f: disassembly of $s failed" >&2
			exit 2
		fi
		grep -v '^#count ' <<<"$out" || true
		read -r _ c b < <(grep '^#count ' <<<"$out")
		total=$((total + c))
		bad=$((bad + b))
	done
	if [ "$bad" -gt 0 ]; then
		echo "$prog: $f: FAIL: $bad forbidden of $total instructions" >&2
		status=1
	else
		echo "$prog: $f: ok: $total instructions, none forbidden"
	fi
done
exit $status

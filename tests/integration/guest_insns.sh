#!/bin/bash
# build/netguest.elf has no instruction the kvm_pvm CPL0 emulator cannot run
# (tests/guest/check_insns.sh), and the checker itself catches them: a
# fixture with forbidden instructions must fail, naming each one, and a
# fixture of allowed ones must pass.
set -u
elf=${GUEST_ELF:-build/netguest.elf}
check=tests/guest/check_insns.sh
[ -f "$elf" ] || { echo "FAIL: $elf missing (run make first)" >&2; exit 1; }
command -v objdump >/dev/null || { echo "skip: objdump not found (binutils)" >&2; exit 77; }
command -v gcc >/dev/null || { echo "skip: gcc not found" >&2; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! "$check" "$elf"; then
	echo "FAIL: $elf contains forbidden instructions (listed above)" >&2
	exit 1
fi

cat >"$tmp/bad.S" <<'ASM'
	.text
bad:	int3
	int $0x80
	fwait
	popcnt %rax, %rbx
	crc32q %rax, %rbx
	rdtscp
	ldmxcsr (%rax)
	xsave (%rax)
	pxor %xmm0, %xmm0
	movq %xmm0, %rax
	vpaddd %ymm0, %ymm1, %ymm2
	clac
	lsl %eax, %ebx
	mwait
	vmcall
	lock cmpxchg16b (%rax)
	fldcw (%rax)
	.section .boot32, "ax", @progbits
	.code32
bad32:	int3
ASM
cat >"$tmp/good.S" <<'ASM'
	.text
good:	cli
	hlt
	rep movsb
	rep stosq
	ud2
	fxsave (%rax)
	fxrstor (%rax)
	rdtsc
	rdmsr
	wrmsr
	lock xaddq %rax, (%rbx)
	iretq
	outb %al, $0x80
	.section .boot32, "ax", @progbits
	.code32
good32:	ljmpl $0x10, $0
	lgdtl (%eax)
ASM
gcc -c "$tmp/bad.S" -o "$tmp/bad.o" && gcc -c "$tmp/good.S" -o "$tmp/good.o" ||
	{ echo "FAIL: cannot assemble the fixtures" >&2; exit 1; }

"$check" "$tmp/bad.o" >"$tmp/bad.out" 2>&1
rc=$?
if [ $rc -ne 1 ]; then
	cat "$tmp/bad.out" >&2
	echo "FAIL: check_insns accepted forbidden instructions (exit $rc)" >&2
	exit 1
fi
for m in int3 'int    \$0x80' fwait popcnt crc32 rdtscp ldmxcsr xsave pxor 'movq   %xmm0' vpaddd clac lsl mwait vmcall cmpxchg16b fldcw; do
	grep -q "forbidden instruction .*: .*$m" "$tmp/bad.out" ||
		{ cat "$tmp/bad.out" >&2; echo "FAIL: check_insns did not report '$m'" >&2; exit 1; }
done
grep -q 'forbidden instruction (int3) at 0x0 in .boot32' "$tmp/bad.out" ||
	{ cat "$tmp/bad.out" >&2; echo "FAIL: check_insns missed int3 in .boot32" >&2; exit 1; }

if ! "$check" "$tmp/good.o" >"$tmp/good.out" 2>&1; then
	cat "$tmp/good.out" >&2
	echo "FAIL: check_insns rejected allowed instructions" >&2
	exit 1
fi
echo "check_insns: netguest clean; fixture with 18 forbidden instructions rejected, allowed fixture accepted"

#!/usr/bin/env bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# prepare: scripts/build-linux-guest.sh build/linux
# linux_banner.sh (slow): our monitor starts a stock Debian kernel far enough
# that its serial console shows the "Linux version" banner and echoes our
# kernel command line ("Command line: ... vmmtest=<random token>").
#
#   build/vmm-monitor --kernel build/linux/vmlinux --initrd build/linux/initramfs.cpio.gz \
#       --memory 256 --cmdline "console=ttyS0 earlyprintk=serial,ttyS0 ... vmmtest=<token>"
#
# The serial console is the monitor's stdout. Within VMM_LINUX_BANNER_TIMEOUT
# seconds (default 180) both must appear; then the monitor is stopped
# (SIGTERM, then SIGKILL) and the test passes: on a kvm_pvm host Linux cannot
# get much further (SYSCALL from CPL3 stays at CPL3 there), so nothing after
# the banner is checked.
#
# Cases: vmlinux (PVH entry) always; bzImage (the decompressor stub) too
# unless the host's /dev/kvm is kvm_pvm, where every guest CPL0 instruction is
# emulated and decompressing 8 MB of xz alone would take minutes
# (VMM_LINUX_BZIMAGE=1 forces it, =0 disables it).
# Exit: 0 pass, 77 skip (reason on stderr), anything else fail.
# Skips when VMM_SKIP_SLOW=1, when build/vmm-monitor is missing, when there is
# no /dev/kvm, or when the guest cannot be built.
# Environment: VMM_MONITOR (default build/vmm-monitor), LINUX_GUEST_DIR
# (default build/linux), VMM_LINUX_CMDLINE_EXTRA (appended to the cmdline).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/common.sh

NAME=linux_banner
MONITOR=${VMM_MONITOR:-build/vmm-monitor}
GUEST=${LINUX_GUEST_DIR:-build/linux}
LIMIT=${VMM_LINUX_BANNER_TIMEOUT:-180}
BUILD_TIMEOUT=900
TERM_GRACE=5

skip() { echo "$NAME: SKIP: $*" >&2; exit 77; }
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
info() { echo "$NAME: $*" >&2; }

[[ ${VMM_SKIP_SLOW:-0} == 1 ]] && skip "slow test (VMM_SKIP_SLOW=1)"
[[ -x $MONITOR ]] || skip "$MONITOR not built"
[[ -e /dev/kvm ]] || no_kvm "no /dev/kvm"
command -v timeout >/dev/null 2>&1 || skip "timeout (coreutils) not installed"

have_guest() {
	[[ -s $GUEST/vmlinux && -s $GUEST/bzImage && -s $GUEST/initramfs.cpio.gz && -s $GUEST/VERSION ]]
}
WORK=$TMP
MON_PID=""
CLEANUP+=('[[ -z $MON_PID ]] || stop_monitor')
trap 'exit 130' INT TERM

if ! timeout "$BUILD_TIMEOUT" scripts/build-linux-guest.sh "$GUEST" >"$WORK/build.log" 2>&1; then
	if have_guest; then
		info "warning: build-linux-guest.sh failed; using the existing $GUEST: $(tail -n1 "$WORK/build.log")"
	else
		tail -n 5 "$WORK/build.log" >&2
		skip "cannot build the Linux guest (scripts/build-linux-guest.sh failed; no apt access?)"
	fi
fi
have_guest || skip "no Linux guest in $GUEST after building"
info "guest: $(head -n1 "$GUEST/VERSION")"

PVM=0
[[ -d /sys/module/kvm_pvm ]] && PVM=1

# Options for a stock kernel on a kvm_pvm host:
# PVM rewrites CPUID leaves 1 and 7, so features whose instructions its CPL0
# emulator cannot run (SSE3..AVX, POPCNT, RDRAND, ERMS, RDSEED, SMAP, FSRM,
# SERIALIZE, XSAVE, FSGSBASE, PKU) are hidden on the command line. Harmless
# on other hosts.
CMDLINE_BASE="console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 noxsave nofsgsbase nopku"
CMDLINE_BASE+=" clearcpuid=128,129,137,140,147,148,151,153,156,157,158,297,306,308,580,590"
CMDLINE_BASE+=" tsc=unstable mitigations=off init_on_alloc=0 nokaslr"
[[ -n ${VMM_LINUX_CMDLINE_EXTRA:-} ]] && CMDLINE_BASE+=" $VMM_LINUX_CMDLINE_EXTRA"

stop_monitor() {
	local pid=$MON_PID i
	MON_PID=""
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < TERM_GRACE * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		info "monitor ignored SIGTERM for ${TERM_GRACE}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# run_case <label> <kernel>: 0 pass, 1 fail, 77 skip.
run_case() {
	local label=$1 kernel=$2 token out err start t_banner="" t_cmdline="" rc=""
	token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	out=$WORK/$label.serial err=$WORK/$label.stderr
	local cmdline="$CMDLINE_BASE vmmtest=$token"
	info "$label: $MONITOR --kernel $kernel --initrd $GUEST/initramfs.cpio.gz --memory 256 --cmdline \"$cmdline\""
	start=$(date +%s.%N)
	"$MONITOR" --kernel "$kernel" --initrd "$GUEST/initramfs.cpio.gz" --memory 256 \
		--cmdline "$cmdline" </dev/null >"$out" 2>"$err" &
	MON_PID=$!
	local deadline=$((SECONDS + LIMIT))
	while ((SECONDS < deadline)); do
		if [[ -z $t_banner ]] && grep -aq "Linux version " "$out"; then
			t_banner=$(elapsed "$start")
		fi
		if [[ -z $t_cmdline ]] && grep -aE "Command line:.*vmmtest=$token" "$out" >/dev/null; then
			t_cmdline=$(elapsed "$start")
		fi
		[[ -n $t_banner && -n $t_cmdline ]] && break
		if ! kill -0 "$MON_PID" 2>/dev/null; then
			wait "$MON_PID"
			rc=$?
			MON_PID=""
			# The last output may have landed after the previous look.
			grep -aq "Linux version " "$out" && t_banner=${t_banner:-$(elapsed "$start")}
			grep -aE "Command line:.*vmmtest=$token" "$out" >/dev/null && t_cmdline=${t_cmdline:-$(elapsed "$start")}
			break
		fi
		sleep 0.2
	done
	local total
	total=$(elapsed "$start")
	[[ -n $MON_PID ]] && stop_monitor
	if [[ -n $t_banner && -n $t_cmdline ]]; then
		info "$label: ok: banner after $t_banner s, command line after $t_cmdline s${rc:+ (monitor had exited with status $rc)}"
		grep -a -m1 "Linux version " "$out" | tr -d '\r' | sed "s/^/  | /" >&2
		return 0
	fi
	if [[ -n $rc && -z $t_banner ]] && [[ $rc == 69 || $rc == 77 ]] && [[ ! -s $out ]]; then
		info "$label: monitor exited with status $rc (no usable /dev/kvm): $(tail -n1 "$err")"
		return 77
	fi
	local why
	if [[ -n $rc ]]; then why="monitor exited with status $rc after $total s"
	else why="not seen within ${LIMIT}s"; fi
	[[ -z $t_banner ]] && why+="; no 'Linux version' banner"
	[[ -z $t_cmdline ]] && why+="; no 'Command line: ... vmmtest=$token'"
	info "$label: FAILED: $why"
	info "$label: serial (last 20 lines):"
	tail -n 20 "$out" | tr -d '\r' | sed "s/^/  | /" >&2
	info "$label: monitor stderr (last 20 lines):"
	tail -n 20 "$err" | sed "s/^/  | /" >&2
	return 1
}

cases=(vmlinux)
case ${VMM_LINUX_BZIMAGE:-auto} in
1) cases+=(bzImage) ;;
0) ;;
*) if ((PVM)); then
	info "bzImage case skipped: /dev/kvm is kvm_pvm, where the decompressor runs emulated (set VMM_LINUX_BZIMAGE=1 to force)"
   else
	cases+=(bzImage)
   fi ;;
esac

failed=0 skipped=0 passed=0
for c in "${cases[@]}"; do
	run_case "$c" "$GUEST/$c"
	case $? in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
((failed == 0)) || fail "$failed of ${#cases[@]} case(s) failed"
((passed > 0)) || skip "no case could run"
echo "$NAME: PASS"

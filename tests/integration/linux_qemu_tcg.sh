#!/usr/bin/env bash
# linux_qemu_tcg.sh: the Linux guest of scripts/build-linux-guest.sh under
# QEMU TCG (software emulation, no KVM), a reference check of the guest image
# itself, independent of our monitor. Three boots:
#   pvh       -kernel vmlinux with the guest's own command-line keys: both
#             NICs (pcnet32, virtio_net) named, with their MACs and addresses;
#             vmm.run runs iperf3 and reports its exit status; vmm.netdev=1
#             prints the counters; then init's shutdown and ACPI power-off.
#   bzimage   -kernel bzImage with no keys: init, modules, NICs, power-off.
#   button    -kernel vmlinux running "sleep 600": QEMU's system_powerdown
#             (the ACPI fixed power button) makes acpid power the guest off.
# No network: the NICs have no peer. Exit: 0 pass, 77 skip (reason on
# stderr), anything else fail.
# Environment: LINUX_GUEST_DIR (default build/linux), QEMU (default
# qemu-system-x86_64), LINUX_TCG_TIMEOUT seconds per boot (default 120).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NAME=linux_qemu_tcg
GUEST=${LINUX_GUEST_DIR:-build/linux}
QEMU=${QEMU:-qemu-system-x86_64}
BOOT_TIMEOUT=${LINUX_TCG_TIMEOUT:-120}
BUILD_TIMEOUT=900
# After the button press, the guest's shutdown takes about 2 s of busybox
# init's pauses; TCG on a busy host may take a few times that.
POWERDOWN_TIMEOUT=30

skip() { echo "$NAME: SKIP: $*" >&2; exit 77; }
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
info() { echo "$NAME: $*" >&2; }

command -v "$QEMU" >/dev/null 2>&1 || skip "$QEMU not installed"
command -v timeout >/dev/null 2>&1 || skip "timeout (coreutils) not installed"

have_guest() {
	[[ -s $GUEST/vmlinux && -s $GUEST/bzImage && -s $GUEST/initramfs.cpio.gz && -s $GUEST/VERSION ]]
}
# The build script is idempotent (seconds when up to date) and falls back to
# cached .debs without network; a failed build is a skip, not a failure,
# unless an earlier build left usable outputs.
build_log=$(mktemp)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK" "$build_log"' EXIT
if ! timeout "$BUILD_TIMEOUT" scripts/build-linux-guest.sh "$GUEST" >"$build_log" 2>&1; then
	if have_guest; then
		info "warning: build-linux-guest.sh failed; using the existing $GUEST: $(tail -n1 "$build_log")"
	else
		tail -n 5 "$build_log" >&2
		skip "cannot build the Linux guest (scripts/build-linux-guest.sh failed; no apt access?)"
	fi
fi
have_guest || skip "no Linux guest in $GUEST after building"
info "guest: $(head -n1 "$GUEST/VERSION")"

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# boot <label> <kernel> <extra kernel arguments> <marker>...: boots, watches
# the serial log and checks that every marker (a fixed string) is in it.
# A marker "press:<text>" is no check: once <text> is in the log, QEMU's
# system_powerdown presses the power button, and the guest must then be off
# within POWERDOWN_TIMEOUT seconds.
boot() {
	local label=$1 kernel=$2 extra=$3
	shift 3
	local log=$WORK/$label.log mon=$WORK/$label.mon pid start t_init="" t_press="" pressed_at=0 hung="" press="" rc m
	local -a markers=()
	for m in "$@"; do
		if [[ $m == press:* ]]; then press=${m#press:}; else markers+=("$m"); fi
	done
	mkfifo "$mon.in" "$mon.out" || fail "mkfifo in $WORK failed"
	# Both ends read-write: opening a FIFO so never blocks, and QEMU's
	# replies never fill it up unread.
	exec 7<>"$mon.in" 8<>"$mon.out"
	start=$(date +%s.%N)
	timeout -s KILL "$BOOT_TIMEOUT" "$QEMU" -accel tcg -m 256 -smp 1 -display none \
		-serial "file:$log" -monitor "pipe:$mon" \
		-no-reboot -nic none -device pcnet,romfile= -device virtio-net-pci,romfile= \
		-kernel "$kernel" -initrd "$GUEST/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1${extra:+ $extra}" </dev/null >"$WORK/$label.qemu" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [[ -z $t_init ]] && grep -qa "vmm-linux-guest: init reached" "$log" 2>/dev/null; then
			t_init=$(elapsed "$start")
		fi
		if [[ -n $press && -z $t_press ]] && grep -qaF "$press" "$log" 2>/dev/null; then
			echo system_powerdown >&7
			t_press=$(elapsed "$start")
			pressed_at=$SECONDS
		fi
		if [[ -n $t_press && -z $hung ]] && ((SECONDS - pressed_at > POWERDOWN_TIMEOUT)); then
			hung=1
			kill -TERM "$pid" 2>/dev/null # timeout(1) passes it on to QEMU
		fi
		sleep 0.1
	done
	wait "$pid"
	rc=$?
	exec 7>&- 8>&-
	local total ok=1 why=""
	total=$(elapsed "$start")
	if [[ -n $press && -z $t_press ]]; then ok=0 why="never saw '$press', so the button was not pressed"
	elif [[ -n $hung ]]; then ok=0 why="still running ${POWERDOWN_TIMEOUT}s after system_powerdown"
	elif ((rc == 137)); then ok=0 why="QEMU killed after ${BOOT_TIMEOUT}s"
	elif ((rc != 0)); then ok=0 why="QEMU exited with status $rc: $(tail -n1 "$WORK/$label.qemu")"; fi
	for m in "Linux version " "Command line: console=ttyS0 panic=-1" \
		"vmm-linux-guest: init reached" "vmm-linux-guest: modules loaded: " \
		"${markers[@]}" "vmm-linux-guest: shutting down" "vmm-linux-guest: shutdown done" \
		"reboot: Power down"; do
		grep -qaF "$m" "$log" || { ok=0 why="${why:+$why; }missing '$m'"; }
	done
	grep -qaE "vmm-linux-guest: modules loaded: [0-9]+ ok, 0 failed" "$log" ||
		{ ok=0 why="${why:+$why; }a module failed to load"; }
	local nics
	nics=$(grep -a "vmm-linux-guest: nics:" "$log" | tr -d '\r' | head -n1)
	[[ $nics == *":pcnet32"* ]] || { ok=0 why="${why:+$why; }no pcnet32 NIC"; }
	[[ $nics == *":virtio_net"* ]] || { ok=0 why="${why:+$why; }no virtio_net NIC"; }
	if ((ok)); then
		info "$label: ok: init reached after ${t_init:-?} s,${t_press:+ button pressed at $t_press s,} powered off after $total s (${nics#*: })"
		return 0
	fi
	info "$label: FAILED: $why (after $total s); last serial lines:"
	tail -n 25 "$log" | sed "s/^/  | /" >&2
	return 1
}

# QEMU gives the first NIC 52:54:00:12:34:56, the next ...:57.
failed=0
boot pvh "$GUEST/vmlinux" \
	'vmm.ip0=198.51.100.2/24 vmm.ip1=198.51.100.130/25,fd00::2/64 vmm.netdev=1 vmm.run="iperf3 --version; exit 3"' \
	"vmm-linux-guest: eth0 pcnet32 52:54:00:12:34:56 198.51.100.2/24" \
	"vmm-linux-guest: eth1 virtio_net 52:54:00:12:34:57 198.51.100.130/25,fd00::2/64" \
	"vmm-linux-guest: acpid: power button on /dev/input/event" "vmm-linux-guest: ready" \
	"vmm-linux-guest: run: iperf3 --version; exit 3" "iperf 3." "vmm-linux-guest: run: exit 3" \
	"vmm-linux-guest: netdev eth0 rx_bytes=0 rx_packets=0 " "vmm-linux-guest: netdev eth1 " \
	"vmm-linux-guest: powering off" || failed=1
boot bzimage "$GUEST/bzImage" "" "vmm-linux-guest: eth0 pcnet32 52:54:00:12:34:56 none" \
	"vmm-linux-guest: powering off" || failed=1
boot button "$GUEST/vmlinux" "vmm.run=sleep%20600" "press:vmm-linux-guest: run: sleep 600" \
	"vmm-linux-guest: power button pressed" || failed=1
((failed == 0)) || fail "the Linux guest did not boot, run or power off as expected under QEMU TCG"
echo "$NAME: PASS"

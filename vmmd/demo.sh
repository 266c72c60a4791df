#!/bin/bash
# The main job in one command: vmmd with a demo VM (netguest, idle), then
# `vmctl list` and `vmctl stats`. Everything lives in a temporary folder and
# is stopped and removed at the end. Usage: vmmd/demo.sh [BUILD_DIR]
set -eu
B=${1:-build}
for f in vmmd vmctl vmm-monitor netguest.elf; do
	[ -e "$B/$f" ] || { echo "demo: $B/$f missing (run make)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/vmmd-demo.XXXXXX)
VMCTL="$B/vmctl --socket $T/run/vmmd.sock"
pid=
cleanup() {
	$VMCTL stop demo >/dev/null 2>&1 || true
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
echo '{}' >"$T/vmmd.json"
"$B/vmmd" --config "$T/vmmd.json" --state-dir "$T/state" --runtime-dir "$T/run" 2>"$T/vmmd.log" &
pid=$!
for _ in $(seq 1 100); do $VMCTL version >/dev/null 2>&1 && break; sleep 0.05; done
run() { echo "\$ vmctl $*"; $VMCTL "$@"; }
run version
run create demo --kernel "$B/netguest.elf" --cmdline idle --memory 32 --restart on-failure
run start demo
sleep 0.5
run list
run stats demo
run stop demo
echo "--- console log ($T/state/logs/demo.log):"
cat "$T/state/logs/demo.log"

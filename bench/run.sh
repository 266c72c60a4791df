#!/bin/bash
# bench/run.sh RUNS [nic.py flags...] | --quick: every benchmark of `make
# bench` in one go (so that the test host, where there is no KVM here, boots
# once): what one exit costs, the NIC benchmark, netbridge against a Linux
# bridge, TCP throughput of a stock Linux guest. --quick is `make
# bench-quick`: one run each, into build/bench-quick/.
# The Linux guest (scripts/build-linux-guest.sh build/linux, which needs apt)
# is built by make first. bench/linux_tcp.py runs through testhost/with-kvm
# --linux: here where this KVM can run Linux to user space (or inside the
# test host already), else in a test host of its own (kvm_pvm cannot).
# Environment: BENCH_LINUX_RUNS (default 3) and BENCH_LINUX_ARGS (e.g.
# "--size 32M --systems pcnet") for bench/linux_tcp.py.
set -eu
cd "$(dirname "$0")/.."
linux_tcp() { # linux_tcp.py flags...
	echo "== TCP throughput of a stock Linux guest (bench/linux_tcp.py)"
	testhost/with-kvm --linux --timeout "${BENCH_LINUX_TIMEOUT:-14400}" -- python3 bench/linux_tcp.py "$@"
}
if [ "${1:-}" = --quick ]; then
	mkdir -p build/bench-quick
	echo "== what one exit costs (bench/exitcost.py)"
	python3 bench/exitcost.py --runs 1 --n 1000 --out build/bench-quick/exitcost.md
	python3 bench/nic.py --quick --out-dir build/bench-quick
	BENCH_LINUX_TIMEOUT=${BENCH_LINUX_TIMEOUT:-1800} linux_tcp --quick --out-dir build/bench-quick
	exit
fi
runs=${1:-5}
shift || true
echo "== what one exit costs (bench/exitcost.py)"
python3 bench/exitcost.py --runs 3 --out bench/results/exitcost.md
python3 bench/nic.py --runs "$runs" "$@"
echo "== netbridge vs Linux bridge vs veth (bench/netbridge.sh)"
bash bench/netbridge.sh 2 "$runs" | tee bench/results/netbridge.md
echo "== netbridge across hosts (VXLAN) and under rate limits (bench/netbridge_sharing.sh)"
bash bench/netbridge_sharing.sh 2 "$runs" | tee bench/results/netbridge_sharing.md
# shellcheck disable=SC2086 # BENCH_LINUX_ARGS: flags, split at blanks
linux_tcp --runs "${BENCH_LINUX_RUNS:-3}" ${BENCH_LINUX_ARGS:-}

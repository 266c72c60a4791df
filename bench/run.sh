#!/bin/bash
# bench/run.sh RUNS [nic.py flags...] | --quick: every benchmark of `make
# bench` in one go (so that the test host, where there is no KVM here, boots
# once): what one exit costs, the NIC benchmark, netbridge against a Linux
# bridge. --quick is `make bench-quick`: one run each, into build/bench-quick/.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = --quick ]; then
	mkdir -p build/bench-quick
	echo "== what one exit costs (bench/exitcost.py)"
	python3 bench/exitcost.py --runs 1 --n 1000 --out build/bench-quick/exitcost.md
	exec python3 bench/nic.py --quick --out-dir build/bench-quick
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

# Helpers for the netbridge integration tests (source after tests/lib/common.sh).
# Every test owns its namespaces (removed on every exit path by CLEANUP) and a
# runtime of its own (pins under /sys/fs/bpf/$RT, removed the same way).
# Tools run in a namespace with nsenter --net, not `ip netns exec`: the latter
# remounts /sys, which would hide the bpffs pins from one call to the next.
NBCTL=${NBCTL:-build/nbctl}
NBFRAME=${NBFRAME:-build/nbframe}
[ -x "$NBCTL" ] && [ -x "$NBFRAME" ] || fail "build first: make build/nbctl build/nbframe"
[ "$(id -u)" = 0 ] || skip "netbridge tests need root (network namespaces, BPF)"
command -v ip >/dev/null || skip "iproute2 (ip) not installed"
command -v nsenter >/dev/null || skip "nsenter not installed"
[ -d /sys/kernel/btf ] || skip "no kernel BTF"

# A signal (run.sh's timeout, Ctrl-C) exits through the EXIT trap's cleanup.
trap 'exit 143' TERM
trap 'exit 130' INT

RT=nbtest$$
NS=nbsw$$

in_ns() { # NS CMD...
	local ns=$1
	shift
	nsenter --net="/var/run/netns/$ns" "$@"
}
nbctl() { in_ns "$NS" "$NBCTL" -r "$RT" "$@"; }
frames() { in_ns "$NS" "$NBFRAME" "$@"; }

ns_add() { # NAME: a namespace deleted on exit, lo up, no IPv6 chatter
	ip netns add "$1" || fail "ip netns add $1"
	CLEANUP+=("ip netns del $1")
	in_ns "$1" ip link set lo up
	in_ns "$1" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null || true
}

# Creates $NS and the runtime; skips when this kernel or sandbox has no BPF.
nb_setup() {
	ns_add "$NS"
	CLEANUP+=("rm -rf /sys/fs/bpf/$RT")
	CLEANUP+=("in_ns $NS $NBCTL -r $RT destroy-all >/dev/null 2>&1")
	if ! nbctl mode >"$TMP/probe" 2>&1; then
		grep -qiE 'not permitted|bpffs|permission|not supported|Function not implemented' \
			"$TMP/probe" && skip "BPF unavailable: $(tail -n 1 "$TMP/probe")"
		fail "nbctl mode: $(cat "$TMP/probe")"
	fi
}

# stat PORT KEY: one counter
stat() { nbctl stats "$1" | awk -v k="$2" '$1 == k { print $2 }'; }

# expect_stats PORT rx_frames rx_bytes tx_frames tx_bytes [drop_x=N ...]
expect_stats() {
	local port=$1 out k v kv
	out=$(nbctl stats "$port") || fail "stats $port"
	set -- rx_frames="$2" rx_bytes="$3" tx_frames="$4" tx_bytes="$5" "${@:6}"
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		[ "$(echo "$out" | awk -v k="$k" '$1 == k { print $2 }')" = "$v" ] ||
			fail "port $port: $k: want $v, got: $(echo "$out" | tr '\n' ' ')"
	done
	# drops not named must be zero
	for k in drop_spoofed drop_no_route drop_redirect_failed drop_flood_limit; do
		case " $* " in *" $k="*) continue ;; esac
		[ "$(echo "$out" | awk -v k="$k" '$1 == k { print $2 }')" = 0 ] ||
			fail "port $port: $k not zero: $(echo "$out" | tr '\n' ' ')"
	done
}

# In a report of nbframe: frames received on IF (all), and of one flow.
rx_of() { awk -v i="$2" '$1 == i && $2 ~ /^rx=/ { sub("rx=", "", $2); print $2 }' "$1"; }
flow_of() { # REPORT IF SRC DST -> n
	awk -v i="$2" -v f="$3>$4" '$1 == i && $2 == f { sub("n=", "", $4); print $4 }' "$1"
}
expect_rx() { # REPORT IF N
	local got
	got=$(rx_of "$1" "$2")
	[ "$got" = "$3" ] || fail "$2 received ${got:-nothing}, want $3: $(grep "^$2 " "$1" | tr '\n' ';')"
}
expect_flow() { # REPORT IF SRC DST N
	local got
	got=$(flow_of "$1" "$2" "$3" "$4")
	[ "${got:-0}" = "$5" ] || fail "$2: $3>$4: got ${got:-0} frames, want $5"
}

# IDs of the programs and links attached to port PORT (tcx pins or clsact
# filters), to check after teardown that none survives.
attached_ids() { # IFNAME -> "prog:N" / "link:N" words
	local idx
	idx=$(in_ns "$NS" ip -o link show dev "$1" | cut -d: -f1) || fail "no interface $1"
	for dir in in eg xdp; do
		[ -e "/sys/fs/bpf/$RT/link-$idx-$dir" ] || continue
		bpftool -j link show pinned "/sys/fs/bpf/$RT/link-$idx-$dir" |
			python3 -c 'import json,sys; d=json.load(sys.stdin); print("link:%d prog:%d" % (d["id"], d["prog_id"]))'
	done
	for dir in ingress egress; do
		in_ns "$NS" tc filter show dev "$1" "$dir" 2>/dev/null | grep -o ' id [0-9]*' | sed 's/ id /prog:/'
	done
}
# "prog:N" of the devmap egress programs in nb_xdp_tx (one per port entry,
# all the same program), to check that a restart replaces them.
devmap_progs() {
	bpftool -j map dump pinned "/sys/fs/bpf/$RT/nb_xdp_tx" | python3 -c '
import json, sys
ids = {int(v[7], 16) << 24 | int(v[6], 16) << 16 | int(v[5], 16) << 8 | int(v[4], 16)
       for v in (e["value"] for e in json.load(sys.stdin))}
print(" ".join("prog:%d" % i for i in sorted(ids)))'
}
gone() { # "prog:N"/"link:N" -> true when the kernel has no such object
	local kind=${1%%:*} id=${1#*:}
	! bpftool "$kind" show id "$id" >/dev/null 2>&1
}

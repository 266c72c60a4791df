# Helpers for the vmmd integration tests (tests/integration/vmmd_*.sh):
# each test gets its own state and runtime folders under $TMP, and on every
# exit path kills the vmmd it started and every monitor whose command line
# names its runtime folder (by pid, found in /proc).
. tests/lib/common.sh
need_kvm
VMMD=${VMMD:-build/vmmd}
VMCTL=${VMCTL:-build/vmctl}
[ -x "$VMMD" ] && [ -x "$VMCTL" ] && [ -x "$MONITOR" ] && [ -f "$GUEST" ] || fail "build first (make)"
# private copies: other builds may rewrite build/ while the test runs; vmmd
# finds vmm-monitor next to itself
mkdir -p "$TMP/bin"
cp "$GUEST" "$TMP/netguest.elf" && cp "$VMMD" "$TMP/bin/" && cp "$VMCTL" "$TMP/bin/vmctl" &&
	cp "$MONITOR" "$TMP/bin/vmm-monitor" || fail "copying the binaries"
GUEST_ABS=$TMP/netguest.elf
VMMD=$TMP/bin/$(basename "$VMMD")
VMCTL=$TMP/bin/vmctl
MONITOR=$TMP/bin/vmm-monitor
S=$TMP/state
R=$TMP/run
SOCK=$R/vmmd.sock
VMMD_PID=
VMMD_LOG=$TMP/vmmd.log

# pids of the monitors of this test (their --control lies under $R): one grep
# over every process's argument list (NUL-separated), not two processes per
# process, which inside the test host (TCG) costs seconds a call.
our_monitors() {
	local f pid
	for f in $(grep -lzx -- "$R/vms/.*\.sock" /proc/[0-9]*/cmdline 2>/dev/null); do
		pid=${f#/proc/}
		echo "${pid%/cmdline}"
	done
	return 0
}
kill_ours() {
	[ -n "$VMMD_PID" ] && kill -9 "$VMMD_PID" 2>/dev/null && wait "$VMMD_PID" 2>/dev/null
	local p
	for p in $(our_monitors); do kill -9 "$p" 2>/dev/null; done
	return 0
}
CLEANUP+=(kill_ours)

# start_vmmd [vmmd flags...]: starts vmmd and waits until it answers
start_vmmd() {
	# an empty config of our own: a host's /etc/vmmd/vmmd.json must not leak in
	# (a --config in "$@" comes later and wins)
	[ -f "$TMP/empty.json" ] || echo '{}' >"$TMP/empty.json"
	"$VMMD" --config "$TMP/empty.json" --state-dir "$S" --runtime-dir "$R" "$@" >>"$VMMD_LOG" 2>&1 &
	VMMD_PID=$!
	wait_for "$VMCTL" --socket "$SOCK" version >/dev/null 2>&1 ||
		fail "vmmd did not answer: $(tail -n 20 "$VMMD_LOG")"
}
vmctl() { "$VMCTL" --socket "$SOCK" "$@"; }
# raw request: req METHOD [PARAMS-JSON] -> the reply line
req() { $CTL "$SOCK" "$@"; }
# field EXPR < json: prints the value of d<EXPR>
field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); v=eval("d"+sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list)) or v is None else v)' "$1"; }
# create_idle NAME [more vmctl create flags]
create_idle() {
	local n=$1
	shift
	vmctl create "$n" --kernel "$GUEST_ABS" --cmdline idle --memory 16 "$@" >/dev/null ||
		fail "create $n"
}
vm_state() { vmctl info "$1" --output json | field '["state"]'; }
vm_state_pid() { vmctl info "$1" --output json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["pid"])'; }
vm_pid() { vmctl info "$1" --output json | field '["pid"]'; }
is_monitor() { [ "$(basename "$(readlink /proc/"$1"/exe 2>/dev/null)")" = vmm-monitor ]; }
state_is() { [ "$(vm_state "$1")" = "$2" ]; }
# wait_state NAME STATE [SECS]
wait_state() { WAIT_SECS=${3:-10} wait_for state_is "$1" "$2"; }
# wait_ended NAME PID STATE [SECS]: vmmd logged that NAME's monitor PID ended
# in STATE. For a VM that a policy restarts, where STATE lasts only the
# backoff (1 s at first), less than a poll of vmctl info may take under TCG.
wait_ended() {
	WAIT_SECS=${4:-10} wait_for grep -q "vm $1: monitor $2 ended (exit status [0-9-]*): $3," "$VMMD_LOG"
}
fail() {
	echo "FAIL: $*" >&2
	echo "--- vmmd log (last 30 lines):" >&2
	grep -v 'client pid' "$VMMD_LOG" | tail -n 40 >&2
	exit 1
}
# wait_new_pid NAME OLDPID [SECS]: running again with another monitor
_new_pid() { local sp; sp=$(vm_state_pid "$1"); [ "${sp% *}" = running ] && [ "${sp#* }" != "$2" ]; }
wait_new_pid() { WAIT_SECS=${3:-10} wait_for _new_pid "$1" "$2"; }

# net_setup PREFIX: what a networked vmmd test needs: root, nsenter, BTF,
# a private copy of nbctl ($NBCTL); a namespace $NS (lo up, no IPv6 chatter)
# and a netbridge runtime $RT, both named PREFIX$$ and removed on every exit
# path; inns CMD runs CMD in $NS. vmmd runs in $NS with start_net_vmmd CONFIG.
net_setup() {
	net_prereqs
	NS=$1$$
	RT=$1$$
	NSP=/var/run/netns/$NS
	net_ns_add "$NS"
}
# net_prereqs: root, nsenter, BTF, a private nbctl; signals end through CLEANUP
net_prereqs() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespace, BPF)"
	command -v nsenter >/dev/null || skip "nsenter not installed"
	[ -d /sys/kernel/btf ] || skip "no kernel BTF"
	NBCTL=${NBCTL:-build/nbctl}
	[ -x "$NBCTL" ] || fail "build first: $NBCTL"
	cp "$NBCTL" "$TMP/bin/nbctl" && NBCTL=$TMP/bin/nbctl
	trap 'exit 143' TERM
	trap 'exit 130' INT
}
# net_ns_add NAME: namespace NAME (lo up, no IPv6 chatter) and the netbridge
# runtime of the same name, both removed on every exit path
net_ns_add() {
	local p=/var/run/netns/$1
	ip netns add "$1" || skip "cannot create a network namespace"
	CLEANUP+=("ip netns del $1")
	CLEANUP+=("rm -rf /sys/fs/bpf/$1")
	CLEANUP+=("nsenter --net=$p $NBCTL -r $1 destroy-all >/dev/null 2>&1")
	nsenter --net="$p" ip link set lo up
	nsenter --net="$p" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
}
inns() { nsenter --net="$NSP" "$@"; }
# start_net_vmmd CONFIG: vmmd in $NS (nsenter execs it: $VMMD_PID is vmmd)
start_net_vmmd() {
	nsenter --net="$NSP" "$VMMD" --config "$1" --state-dir "$S" --runtime-dir "$R" \
		>>"$VMMD_LOG" 2>&1 </dev/null &
	VMMD_PID=$!
	wait_for "$VMCTL" --socket "$SOCK" version >/dev/null 2>&1 ||
		fail "vmmd did not answer: $(tail -n 20 "$VMMD_LOG")"
}

# refuses_config JSON PATTERN: vmmd started with JSON as its config does not
# start, and its message matches PATTERN (grep's basic regex)
refuses_config() {
	echo "$1" >"$TMP/bad.json"
	timeout 10 "$VMMD" --config "$TMP/bad.json" --state-dir "$TMP/sbad" --runtime-dir "$TMP/rbad" \
		>"$TMP/bad.log" 2>&1 && fail "vmmd started with the config $1"
	grep -q -- "$2" "$TMP/bad.log" || fail "config $1: $(cat "$TMP/bad.log")"
}

#!/bin/bash
# netbridge error paths: every refusal names the object and the cause, leaves
# nothing behind, and a missing capability is named.
. tests/lib/common.sh
. tests/netbridge/lib.sh
nb_setup

expect_err() { # PATTERN CMD... : CMD fails with exit 1 and PATTERN on stderr
	local pat=$1
	shift
	"$@" >"$TMP/out" 2>"$TMP/err" && fail "accepted: $*"
	grep -qE -- "$pat" "$TMP/err" || fail "$*: want /$pat/, got: $(cat "$TMP/err")"
}

expect_err 'runtime "a/b": invalid name' in_ns "$NS" "$NBCTL" -r a/b mode
expect_err 'switch "bad name": invalid name' nbctl switch add "bad name"
expect_err 'switch nosuch: No such file' nbctl switch del nosuch
nbctl switch add sw0 || fail "switch add"
expect_err 'port "vmm-0123456789ab": invalid interface name' nbctl port add sw0 vmm-0123456789ab 02:00:00:00:00:01
expect_err 'MAC 02:00:00:00:00: expected' nbctl port add sw0 vmm-a-0 02:00:00:00:00
expect_err 'port vmm-a-0: MAC 01:00:5e:00:00:01 is a group address' nbctl port add sw0 vmm-a-0 01:00:5e:00:00:01
in_ns "$NS" ip link add dummyv0 type veth peer name dummyv1
expect_err 'port dummyv0: interface exists' nbctl port add sw0 dummyv0 02:00:00:00:00:01
expect_err 'port dummyv0: not a port of runtime' nbctl port del dummyv0
expect_err 'port nosuch0: no such interface' nbctl port del nosuch0
nbctl uplink sw0 dummyv0 || fail "uplink"
expect_err 'port dummyv0: is an uplink' nbctl port del dummyv0

# Attach-mode knobs: unknown values refused; an uplink whose driver has no
# native XDP (a Linux bridge device here) falls back to tc alone, unless
# NB_UPLINK=xdp demands XDP.
expect_err "attach mode 'bogus'.*want tcx\\|clsact\\|xdp" env NB_ATTACH=bogus "$NBCTL" -r "$RT" mode
expect_err "uplink mode 'fast'" env NB_UPLINK=fast "$NBCTL" -r "$RT" mode
in_ns "$NS" ip link add nbbr0 type bridge || fail "bridge"
expect_err 'uplink nbbr0: attach native xdp \(uplink mode xdp\)' in_ns "$NS" env NB_UPLINK=xdp "$NBCTL" -r "$RT" uplink sw0 nbbr0
[ -z "$(in_ns "$NS" tc filter show dev nbbr0 ingress)" ] || fail "refused uplink left a filter"
nbctl uplink sw0 nbbr0 || fail "uplink on a bridge device"
nbctl ports sw0 | grep -q '^nbbr0 type=uplink .*attach=tcx$' || fail "bridge uplink: $(nbctl ports sw0)"
nbctl uplink sw0 none || fail "uplink none"
nbctl uplink sw0 dummyv0 || fail "uplink back"

nbctl switch add sw1 || fail "switch add sw1"
expect_err 'port dummyv0: already a port of this runtime' nbctl uplink sw1 dummyv0
expect_err 'unknown command' nbctl frobnicate
nbctl uplink sw0 none || fail "uplink none"
[ -z "$(in_ns "$NS" tc filter show dev dummyv0 ingress)" ] || fail "filter left"
[ "$(ls /sys/fs/bpf/$RT | grep -c '^link-')" = 0 ] || fail "link pins left: $(ls /sys/fs/bpf/$RT)"
in_ns "$NS" ip -o link show | grep -q vmm- && fail "a refused port left its tap"
echo "refusals ok"

# Missing capabilities: named in the message, nothing created.
if command -v setpriv >/dev/null; then
	expect_err 'needs CAP_BPF' in_ns "$NS" setpriv --bounding-set=-bpf,-sys_admin,-net_admin,-perfmon \
		--inh-caps=-all "$NBCTL" -r "${RT}np" mode
	[ -e "/sys/fs/bpf/${RT}np" ] && fail "failed open left its pin directory"
	echo "missing capability ok"
fi
nbctl destroy-all || fail "destroy-all"
[ -e "/sys/fs/bpf/$RT" ] && fail "pins left"
exit 0

#!/bin/bash
# netbridge benchmark: frames/s forwarded port -> port, port -> uplink and
# uplink -> port at 64 B and 1514 B (60 and 1514 bytes written: 64 B on the
# wire with the FCS, and a 1500-byte IP packet), for netbridge, a Linux bridge
# and a direct veth pair (the limit), side by side. The uplink -> port path
# runs twice for netbridge: with the native XDP fast path on the (veth)
# uplink, the default, and forced to tc (NB_UPLINK=tc, a second switch).
#
#   bench/netbridge.sh [SECONDS_PER_RUN] [REPS]     (defaults 2 and 3; root)
#
# Everything runs in one namespace made for the run (removed on exit). The
# writer (build/nbframe flood: one write() per frame, pinned to CPU 0) sends
# into a tap as a VM monitor would; "forwarded" is what reached the
# destination device: for a tap, TX packets + TX dropped (the destination
# tap is attached but not read, so that no reader competes for the CPU and
# the switch alone is measured); for a veth, the peer's RX packets. Uplink ->
# port: an AF_PACKET writer on the uplink's peer (pinned to CPU 0), counted
# on the destination tap the same way. Median of REPS interleaved runs.
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib/common.sh
. tests/netbridge/lib.sh
nb_setup
DUR=${1:-2}
REPS=${2:-3}
MS=$((DUR * 1000))
A=02:00:00:00:00:0a B=02:00:00:00:00:0b
sh_ns() { in_ns "$NS" sh -c "$*"; }

# counters DEV FIELD... : sum of stats64 fields ("tx.packets", "tx.dropped", ...)
counters() {
	local dev=$1
	shift
	in_ns "$NS" ip -s -j link show dev "$dev" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(sum(s[f.split(".")[0]][f.split(".")[1]] for f in sys.argv[1:]))' "$@"
}

# netbridge: taps nbA, nbB on sw0; uplink nbU (veth) <-> nbX
nbctl switch add sw0 >/dev/null || fail "switch add"
nbctl port add sw0 nbA $A >/dev/null || fail "port add"
nbctl port add sw0 nbB $B >/dev/null || fail "port add"
sh_ns "ip link add nbU type veth peer name nbX && ip link set nbU up && ip link set nbX up" || fail "veth"
nbctl uplink sw0 nbU || fail "uplink"
XN=$(in_ns "$NS" ip -o link show nbX | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
frames pkt:nbX -- send nbX ff:ff:ff:ff:ff:ff "$XN" 1 60 -- wait 50 >/dev/null || fail "learn"
nbctl fdb sw0 | grep -q "^$XN nbU learned" || fail "uplink MAC not learned"
# the same, uplink forced to tc: switch sw1, tap nbC (MAC A), uplink nbV <-> nbY
nbctl switch add sw1 >/dev/null || fail "switch add sw1"
nbctl port add sw1 nbC $A >/dev/null || fail "port add"
sh_ns "ip link add nbV type veth peer name nbY && ip link set nbV up && ip link set nbY up" || fail "veth"
NB_UPLINK=tc nbctl uplink sw1 nbV || fail "uplink nbV"
UPL_XDP=$(nbctl ports sw0 | sed -n 's/^nbU .*attach=//p')
UPL_TC=$(nbctl ports sw1 | sed -n 's/^nbV .*attach=//p')
YN=$(in_ns "$NS" ip -o link show nbY | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)

# Linux bridge: taps brA, brB, veth brU <-> brX, static entries
for t in brA brB; do
	sh_ns "ip tuntap add dev $t mode tap vnet_hdr && echo 1 >/proc/sys/net/ipv6/conf/$t/disable_ipv6 && ip link set $t up" ||
		fail "tap $t"
done
sh_ns "ip link add br0 type bridge stp_state 0 && ip link add brU type veth peer name brX &&
	ip link set brA master br0 && ip link set brB master br0 && ip link set brU master br0 &&
	ip link set br0 up && ip link set brU up && ip link set brX up" || fail "bridge"
XB=$(in_ns "$NS" ip -o link show brX | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
sh_ns "bridge fdb add $A dev brA master static && bridge fdb add $B dev brB master static &&
	bridge fdb add $XB dev brU master static" ||
	fail "bridge fdb"

# direct veth pair (the limit)
sh_ns "ip link add dA type veth peer name dB && ip link set dA up && ip link set dB up" || fail "veth"

run() { # PATH SIZE -> frames/s forwarded
	local path=$1 size=$2 dst fields before after
	case $path in
	nb-port) dst=nbB fields="tx.packets tx.dropped"
		 set -- tap:nbA tap:nbB -- flood nbA $B $A $MS $size ;;
	br-port) dst=brB fields="tx.packets tx.dropped"
		 set -- tap:brA tap:brB -- flood brA $B $A $MS $size ;;
	veth)    dst=dB fields="rx.packets"
		 set -- pkt:dA -- flood dA $B $A $MS $size ;;
	nb-upl)  dst=nbX fields="rx.packets"
		 set -- tap:nbA tap:nbB -- flood nbA "$XN" $A $MS $size ;;
	br-upl)  dst=brX fields="rx.packets"
		 set -- tap:brA tap:brB -- flood brA "$XB" $A $MS $size ;;
	nb-in)   dst=nbA fields="tx.packets tx.dropped"
		 set -- tap:nbA pkt:nbX -- flood nbX $A "$XN" $MS $size ;;
	nb-in-tc) dst=nbC fields="tx.packets tx.dropped"
		 set -- tap:nbC pkt:nbY -- flood nbY $A "$YN" $MS $size ;;
	br-in)   dst=brA fields="tx.packets tx.dropped"
		 set -- tap:brA pkt:brX -- flood brX $A "$XB" $MS $size ;;
	esac
	before=$(counters $dst $fields)
	in_ns "$NS" taskset -c 0 "$NBFRAME" "$@" >/dev/null || fail "nbframe $*"
	after=$(counters $dst $fields)
	echo $(((after - before) * 1000 / MS))
}

PATHS="nb-port br-port veth nb-upl br-upl nb-in nb-in-tc br-in"
declare -A res
for rep in $(seq 1 "$REPS"); do
	for size in 60 1514; do
		for p in $PATHS; do
			res[$p.$size]="${res[$p.$size]:-} $(run $p $size)"
		done
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
label() {
	case $1 in
	nb-port) echo "netbridge   VM port -> VM port" ;;
	br-port) echo "Linux bridge VM port -> VM port" ;;
	veth)    echo "direct veth (limit)" ;;
	nb-upl)  echo "netbridge   VM port -> uplink" ;;
	br-upl)  echo "Linux bridge VM port -> uplink" ;;
	nb-in)   echo "netbridge   uplink -> VM ($UPL_XDP)" ;;
	nb-in-tc) echo "netbridge   uplink -> VM ($UPL_TC)" ;;
	br-in)   echo "Linux bridge uplink -> VM port" ;;
	esac
}
echo "netbridge bench: frames/s forwarded, median of $REPS x ${DUR}s, writer pinned to CPU 0, $(nproc) CPUs, attach $(nbctl mode)"
printf '%-38s %14s %14s\n' path "64 B" "1514 B"
for p in $PATHS; do
	printf '%-38s %14s %14s\n' "$(label $p)" "$(echo ${res[$p.60]} | median)" "$(echo ${res[$p.1514]} | median)"
done

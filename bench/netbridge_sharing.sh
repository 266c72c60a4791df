#!/bin/bash
# netbridge across hosts and under limits, side by side (root):
#   1. VXLAN: frames/s from a VM port on "host" A to a VM port on "host" B
#      (two namespaces, a veth underlay with MTU 1550), through netbridge
#      switches with VXLAN uplinks, against the same path through Linux
#      bridges with VXLAN devices; 64 B and 1514 B frames.
#   2. Rate limits: requested against achieved frames/s at 3 settings, send
#      (tx) and receive (rx) limits, on a flood of 1000-byte frames.
#   3. The switch's cost of a limit: frames/s VM port -> VM port with a limit
#      set that the flood never reaches, against no limit; the difference in
#      ns per frame.
#
#   bench/netbridge_sharing.sh [SECONDS_PER_RUN] [REPS]   (defaults 2 and 3)
#
# The writer (build/nbframe flood, one write() per frame, pinned to CPU 0)
# writes into a tap as a monitor would; "forwarded" is what reached the
# destination tap (VXLAN: TX packets + TX dropped of the tap, held open and
# not read; limits: the switch's rx count of the destination port). Median
# of REPS interleaved runs.
set -u
cd "$(dirname "$0")/.." || exit 2
. tests/lib/common.sh
. tests/netbridge/lib.sh
nb_setup
DUR=${1:-2}
REPS=${2:-3}
MS=$((DUR * 1000))
A=02:00:00:00:01:0a B=02:00:00:00:01:0b C=02:00:00:00:01:0c D=02:00:00:00:01:0d
NS2=nbsh$$
RT2=nbsh$$
ns_add "$NS2"
CLEANUP+=("rm -rf /sys/fs/bpf/$RT2")
CLEANUP+=("in_ns $NS2 $NBCTL -r $RT2 destroy-all >/dev/null 2>&1")
nbctl2() { in_ns "$NS2" "$NBCTL" -r "$RT2" "$@"; }
ip link add ula netns "$NS" mtu 1550 type veth peer name ulb netns "$NS2" mtu 1550 || fail "underlay"
in_ns "$NS" sh -c "ip addr add 198.51.100.129/25 dev ula && ip link set ula up" || fail "ula"
in_ns "$NS2" sh -c "ip addr add 198.51.100.130/25 dev ulb && ip link set ulb up" || fail "ulb"

# counters NS DEV FIELD...: sum of stats64 fields
counters() {
	local ns=$1 dev=$2
	shift 2
	in_ns "$ns" ip -s -j link show dev "$dev" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(sum(s[f.split(".")[0]][f.split(".")[1]] for f in sys.argv[1:]))' "$@"
}
tap() { # NS NAME
	in_ns "$1" sh -c "ip tuntap add dev $2 mode tap vnet_hdr &&
		echo 1 >/proc/sys/net/ipv6/conf/$2/disable_ipv6 && ip link set $2 up" || fail "tap $2"
}

# netbridge: A's nbA and B's nbB, switch sw0 on each, VXLAN VNI 42
nbctl switch add sw0 >/dev/null && nbctl2 switch add sw0 >/dev/null || fail "switch add"
nbctl vxlan sw0 vni=42 local=198.51.100.129 remote=198.51.100.130 name=vx42 >/dev/null &&
	nbctl2 vxlan sw0 vni=42 local=198.51.100.130 remote=198.51.100.129 name=vx42 >/dev/null ||
	fail "vxlan uplinks"
nbctl port add sw0 nbA $A >/dev/null && nbctl2 port add sw0 nbB $B >/dev/null || fail "ports"
# Linux bridges: A's brA and B's brB, VXLAN VNI 43 (the same UDP port)
for side in "$NS brA 198.51.100.129 198.51.100.130" "$NS2 brB 198.51.100.130 198.51.100.129"; do
	set -- $side
	tap "$1" "$2"
	in_ns "$1" sh -c "ip link add br0 type bridge stp_state 0 &&
		ip link add vx43 mtu 1500 type vxlan id 43 local $3 dstport 4789 learning &&
		bridge fdb append 00:00:00:00:00:00 dev vx43 dst $4 &&
		echo 1 >/proc/sys/net/ipv6/conf/vx43/disable_ipv6 &&
		ip link set $2 master br0 && ip link set vx43 master br0 &&
		ip link set vx43 up && ip link set br0 up" || fail "bridge on $1"
done
# learning both ways: one broadcast from each destination, then the sender
learn() { # NS TAP MAC
	in_ns "$1" "$NBFRAME" "tap:$2" -- send "$2" ff:ff:ff:ff:ff:ff "$3" 1 60 -- wait 100 >/dev/null ||
		fail "learn $2"
}
learn "$NS2" nbB $B && learn "$NS" nbA $A && learn "$NS2" brB $C && learn "$NS" brA $D
nbctl fdb sw0 | grep -q "^$B vx42 learned" || fail "B's MAC not learned behind A's uplink"

flood() { # NS SRC DST_MAC SRC_MAC SIZE DST_NS DST_TAP -> frames/s at DST_TAP
	local before after
	before=$(counters "$6" "$7" tx.packets tx.dropped)
	# the destination tap is held open (attached, not read): a bridge port
	# without carrier would not be forwarded to
	in_ns "$1" taskset -c 0 "$NBFRAME" "tap:$2" "tap:$7@$6" -- flood "$2" "$3" "$4" $MS "$5" \
		>/dev/null ||
		fail "flood $2"
	after=$(counters "$6" "$7" tx.packets tx.dropped)
	echo $(((after - before) * 1000 / MS))
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A res
for rep in $(seq 1 "$REPS"); do
	for size in 60 1514; do
		res[nb.$size]="${res[nb.$size]:-} $(flood "$NS" nbA $B $A $size "$NS2" nbB)"
		res[br.$size]="${res[br.$size]:-} $(flood "$NS" brA $C $D $size "$NS2" brB)"
	done
done
echo "netbridge across hosts and under limits: median of $REPS x ${DUR}s, writer pinned to CPU 0, $(nproc) CPUs, kernel $(uname -r)"
echo
echo "VXLAN, VM port on host A -> VM port on host B (frames/s forwarded):"
printf '| %-44s | %10s | %10s |\n' path "64 B" "1514 B"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "------------" "------------"
printf '| %-44s | %10s | %10s |\n' "netbridge, VXLAN uplink" "$(echo ${res[nb.60]} | median)" \
	"$(echo ${res[nb.1514]} | median)"
printf '| %-44s | %10s | %10s |\n' "Linux bridge + VXLAN device" "$(echo ${res[br.60]} | median)" \
	"$(echo ${res[br.1514]} | median)"

# limits on host A: nbA -> nbA2, the same switch
nbctl port add sw0 nbA2 $C >/dev/null || fail "port nbA2"
# flood_port SIZE: frames/s nbA -> nbA2 as the switch delivered them (its
# rx count at nbA2: an unread open tap would hide up to its queue length
# of frames, a limit's whole budget at low rates)
flood_port() {
	local before after
	before=$(stat nbA2 rx_frames)
	in_ns "$NS" taskset -c 0 "$NBFRAME" tap:nbA -- flood nbA $C $A $MS "$1" >/dev/null ||
		fail "flood nbA"
	after=$(stat nbA2 rx_frames)
	echo $(((after - before) * 1000 / MS))
}
lim_run() { # DIR PKTS
	local r port=nbA
	[ "$1" = rx ] && port=nbA2
	nbctl limit $port "$1_pkts=$2" || fail "limit $port"
	r=$(flood_port 1000)
	nbctl limit $port none || fail "limit none"
	echo "$r"
}
PACED=$(nbctl limit nbA2 | awk '$1 == "rx_paced" { print $2 }')
echo
echo "Rate limits, requested vs achieved (frames/s of 1000-byte frames; rx $([ "$PACED" = 1 ] && echo paced by fq || echo policed: no sch_fq in this kernel)):"
printf '| %-10s | %12s | %12s | %8s |\n' direction requested achieved error
printf '|%s|%s|%s|%s|\n' "------------" "--------------" "--------------" "----------"
for dir in tx rx; do
	for want in 1000 10000 50000; do
		vals=
		for rep in $(seq 1 "$REPS"); do vals="$vals $(lim_run $dir $want)"; done
		got=$(echo $vals | median)
		printf '| %-10s | %12s | %12s | %7s%% |\n' "$dir" "$want" "$got" \
			"$(python3 -c "print('%+.1f' % (100.0 * ($got - $want) / $want))")"
	done
done

# the cost of a limit that is never reached
declare -A cost
for rep in $(seq 1 "$REPS"); do
	nbctl limit nbA none || fail "limit none"
	cost[none]="${cost[none]:-} $(flood_port 60)"
	nbctl limit nbA tx_bits=1000000000000 || fail "limit high"
	cost[tx]="${cost[tx]:-} $(flood_port 60)"
	nbctl limit nbA none && nbctl limit nbA2 rx_bits=1000000000000 || fail "limit high rx"
	cost[rx]="${cost[rx]:-} $(flood_port 60)"
	nbctl limit nbA2 none || fail "limit none"
done
n0=$(echo ${cost[none]} | median)
echo
echo "The switch's cost of a limit (VM port -> VM port, 64 B, a limit never reached):"
printf '| %-28s | %10s | %14s |\n' case "frames/s" "ns per frame"
printf '|%s|%s|%s|\n' "------------------------------" "------------" "----------------"
for k in none tx rx; do
	n=$(echo ${cost[$k]} | median)
	printf '| %-28s | %10s | %14s |\n' "$( [ $k = none ] && echo "no limit" || echo "$k limit set")" "$n" \
		"$(python3 -c "print('%.0f' % (1e9 / $n)) if $n else print('-')")"
done
echo
echo "(ns per frame is the whole path, writer included; the difference to 'no limit' is the limit's cost)"

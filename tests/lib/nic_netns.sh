# The NIC tests' network namespace (source it after tests/lib/common.sh, with
# NS and TAP set): the namespace, removed on every exit path, with lo up and
# one vnet_hdr tap TAP (IPv6 off, so the host sends nothing unasked), with
# address NIC_TAP_ADDR (e.g. 198.51.100.1/24) when that is set.
#   inns CMD...                  runs CMD in the namespace
#   counter NAME                 the tap's statistics/NAME
#   send_test_frames N PAD [P]   N frames of ethertype 0x88b5 (IEEE local
#                                experimental) to 52:54:00:ab:cd:ef, each a
#                                4-byte sequence number and PAD zero bytes,
#                                pausing P seconds after every 16 (default 0)
ip netns add "$NS" || skip "cannot create a network namespace"
CLEANUP+=("ip netns del $NS")
inns() { ip netns exec "$NS" "$@"; }
inns ip link set lo up
inns ip tuntap add dev "$TAP" mode tap vnet_hdr || fail "ip tuntap add"
inns sysctl -qw net.ipv6.conf."$TAP".disable_ipv6=1
if [ -n "${NIC_TAP_ADDR:-}" ]; then
	inns ip addr add "$NIC_TAP_ADDR" dev "$TAP" || fail "ip addr add $NIC_TAP_ADDR"
fi
inns ip link set "$TAP" up
counter() { inns cat /sys/class/net/"$TAP"/statistics/"$1"; }

send_test_frames() {
	inns python3 - "$TAP" "$1" "$2" "${3:-0}" <<'PY'
import socket, struct, sys, time
tap, n, pad, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((tap, 0))
src = s.getsockname()[4][:6]
for i in range(n):
    s.send(bytes.fromhex("525400abcdef") + src + b"\x88\xb5" + struct.pack("!I", i) + bytes(pad))
    if pause and i % 16 == 15:
        time.sleep(pause)
PY
}

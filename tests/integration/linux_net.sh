#!/bin/bash
# needs: kvm-linux (tests/run.sh runs it in the test host where this machine's KVM cannot run Linux)
# prepare: scripts/build-linux-guest.sh build/linux
# linux_net.sh (slow): two stock Linux guests under vmmd, each with a PCnet
# (pcnet32) NIC on switch sw0 and a virtio-net (virtio_net) NIC on sw1, in a
# network namespace of vmmd's own (198.51.100.0/25 on sw0, .128/25 on sw1,
# the host ports nt-h0 and nt-h1 holding .1 and .129):
#   - lx1 pings the host and lx2 over each NIC separately, then moves 2 MB
#     with iperf3 (4096-byte writes) each way over each NIC against the
#     host's iperf3 server;
#   - the guest's /proc/net/dev and vmctl stats (switch port and device
#     counters) agree on the frames each NIC moved;
#   - vmctl stop lx2 presses the ACPI power button: the guest's own shutdown
#     messages appear on its console, then "reboot: Power down", and vmmd
#     reports it stopped (user) within the grace time;
#   - vmctl stop --force lx1 kills it at once.
# A guest kernel that dies or stalls in the test host ends the test with 75:
# tests/run.sh runs it once more (tests/lib/linux_guest.sh,
# linux_platform_fail); elsewhere that fails it.
. tests/vmmd/lib.sh
NAME=linux_net
. tests/lib/linux_guest.sh
command -v iperf3 >/dev/null || skip "iperf3 not installed (scripts/install-deps.sh)"
linux_guest_prereqs
net_setup vmmdlx
cp "$LINUX_GUEST/bzImage" "$LINUX_GUEST/initramfs.cpio.gz" "$TMP/" || fail "copying the guest"
# the guests' consoles outlive the test, for a look after a failure
CLEANUP+=('for f in "$S"/logs/lx*.log; do [ -f "$f" ] && cp "$f" "build/test-logs/linux_net.$(basename "$f" .log).console"; done')

cat >"$TMP/net.json" <<EOF
{"netbridge_runtime": "$RT", "stop_timeout_s": 60,
 "switches": [{"name": "sw0", "uplink": null, "host_port": "nt-h0"},
              {"name": "sw1", "uplink": null, "host_port": "nt-h1"}]}
EOF
start_net_vmmd "$TMP/net.json"
grep -q "netbridge runtime $RT: 2 switch" "$VMMD_LOG" || fail "switches not set up: $(tail -n 5 "$VMMD_LOG")"
inns ip addr add 198.51.100.1/25 dev nt-h0 || fail "nt-h0 address"
inns ip addr add 198.51.100.129/25 dev nt-h1 || fail "nt-h1 address"
inns iperf3 -s -D -I "$TMP/iperf3.pid" --logfile "$TMP/iperf3.log" || fail "iperf3 server"
CLEANUP+=('kill "$(cat "$TMP/iperf3.pid" 2>/dev/null)" 2>/dev/null')

# define NAME HOSTNUM RUN: a Linux VM with .HOSTNUM on sw0 and .(128+HOSTNUM) on sw1
define() {
	local cmd="$LINUX_CMDLINE vmm.ip0=198.51.100.$2/25 vmm.ip1=198.51.100.$((128 + $2))/25"
	local m
	m=$(printf %02x "$2")
	vmctl create "$1" --kernel "$TMP/bzImage" --initrd "$TMP/initramfs.cpio.gz" --memory 256 \
		--vcpus 1 --cmdline "$cmd vmm.run=$3" \
		--nic "model=pcnet,switch=sw0,mac=52:54:00:6c:00:$m" \
		--nic "model=virtio-net,switch=sw1,mac=52:54:00:6c:01:$m" >"$TMP/create.out" 2>&1 ||
		fail "create $1: $(cat "$TMP/create.out")"
}
console_has() { grep -aq -- "$2" "$S/logs/$1.log" 2>/dev/null; }
# the console of a VM whose kernel died, if any
died() { grep -alE "$LINUX_DIED_RE" "$S"/logs/lx*.log 2>/dev/null | head -n 1; }
console_has_or_died() { console_has "$1" "$2" || [ -n "$(died)" ]; }
wait_console() { # NAME TEXT SECONDS (real ones: wait_for's scaling off)
	local d
	if ! TEST_TIME_SCALE=1 WAIT_SECS=$3 wait_for console_has_or_died "$1" "$2"; then
		tail -n 25 "$S/logs/$1.log" | tr -d '\r' >&2
		# a guest that stalls is the test host's hazard too: once more there
		linux_platform_fail "$1: no '$2' on its console within $3 s (console above)"
	fi
	d=$(died)
	[ -z "$d" ] || linux_platform_fail "$(basename "$d" .log): the guest kernel died:" \
		"$(grep -aoE -m1 "($LINUX_DIED_RE).*" "$d" | tr -d '\r')"
}

# lx2 stays up; lx1 runs the checks, prints its counters and waits.
define lx2 12 "sleep%20100000"
script="ping -c 3 -W 5 198.51.100.1 && ping -c 3 -W 5 198.51.100.129"
script+=" && ping -c 3 -W 5 198.51.100.12 && ping -c 3 -W 5 198.51.100.140"
for dst in 198.51.100.1 198.51.100.129; do
	script+=" && iperf3 -c $dst -l 4096 -n 2M && iperf3 -c $dst -l 4096 -n 2M -R"
done
script+=" && echo LX-CHECKS-OK; cat /proc/net/dev; echo LX-COUNTERS-END; sleep 100000"
define lx1 11 "\"$script\""
vmctl start lx2 >/dev/null || fail "start lx2"
wait_console lx2 'vmm-linux-guest: ready' 240
vmctl start lx1 >/dev/null || fail "start lx1"
wait_console lx1 '^LX-COUNTERS-END' 420
console_has lx1 '^LX-CHECKS-OK' || fail "lx1: a check failed: $(grep -a -A3 -i 'unreachable\|error\|100% packet loss' "$S/logs/lx1.log" | head -20)"
grep -aq 'nics: eth0:pcnet32 eth1:virtio_net' "$S/logs/lx1.log" ||
	fail "lx1: NIC drivers: $(grep -a 'nics:' "$S/logs/lx1.log")"
got=$(grep -ac ' receiver' "$S/logs/lx1.log")
[ "$got" = 4 ] || fail "lx1: $got iperf3 runs finished, want 4"

# The guest's counters (/proc/net/dev, printed once the checks ended) and
# vmctl stats, read now: the same frames, give or take the few the
# guest may have sent since (ARP). The switch counts wire frames
# (netbridge/README.md): for pcnet32 the guest's own frames; virtio_net
# takes GSO, so there the switch counts more (the segments of each GSO
# frame, each with its headers) and never fewer.
python3 - "$S/logs/lx1.log" <(vmctl stats lx1 --output json) <<'PY' || fail "lx1: counters disagree"
import json, re, sys
log = open(sys.argv[1], errors="replace").read()
dev = log[log.rindex("Inter-|"):log.rindex("LX-COUNTERS-END")]
guest = {}
for line in dev.splitlines():
    m = re.match(r"\s*(eth\d+):\s*(.*)", line)
    if m:
        f = [int(x) for x in m.group(2).split()]
        guest[m.group(1)] = {"rx": f[1], "tx": f[9], "rx_bytes": f[0], "tx_bytes": f[8]}
st = json.load(open(sys.argv[2]))
ok = True
for i, nic in enumerate(st["nics"]):
    g = guest["eth%d" % i]
    sp, d = nic["switch_port"], nic["device"]
    gso = nic.get("model") == "virtio-net"
    print(f"eth{i} ({nic.get('model')}): guest rx {g['rx']} ({g['rx_bytes']} B) tx {g['tx']} "
          f"({g['tx_bytes']} B); device rx {d['rx']['frames']} ({d['rx']['bytes']} B) "
          f"tx {d['tx']['frames']} ({d['tx']['bytes']} B); switch port rx {sp['rx_frames']} "
          f"({sp['rx_bytes']} B) tx {sp['tx_frames']} ({sp['tx_bytes']} B)")
    # iperf3 -n 2M each way over each NIC (measured: 1.8-2.2 MB either way)
    if g["tx_bytes"] < 1000000 or g["rx_bytes"] < 1000000:
        print(f"eth{i}: too few bytes for the iperf3 runs"); ok = False
    # the device delivered what the guest counted (and at most a few more since);
    # switch port counters are from the VM's side, as the device's
    for what in ("tx", "rx"):
        dev_n, dev_b = d[what]["frames"], d[what]["bytes"]
        port_n, port_b = sp[what + "_frames"], sp[what + "_bytes"]
        if not (0 <= dev_n - g[what] <= 4):
            print(f"eth{i} {what}: device {dev_n} vs guest {g[what]}"); ok = False
        if not gso and abs(port_n - dev_n) > 4:
            print(f"eth{i} {what}: switch port {port_n} vs device {dev_n}"); ok = False
        # GSO: never fewer; the bytes of the extra segments are headers
        # (Ethernet + IP + TCP, at most 14 + 40 + 60 each)
        if gso and not (port_n >= dev_n - 4 and
                        dev_b - 4 * 1514 <= port_b <= dev_b + (port_n - dev_n) * 114 + 4 * 1514):
            print(f"eth{i} {what}: switch port {port_n} frames {port_b} B vs device "
                  f"{dev_n} frames {dev_b} B"); ok = False
sys.exit(0 if ok else 1)
PY

# Graceful stop: the power button, the guest's own shutdown.
start=$SECONDS
vmctl stop lx2 --timeout 120 >/dev/null || fail "stop lx2"
state_is lx2 stopped || fail "lx2: $(vmctl info lx2 --output json)"
info "lx2 stopped in $((SECONDS - start)) s"
for line in 'vmm-linux-guest: power button pressed' 'vmm-linux-guest: shutting down' 'reboot: Power down'; do
	console_has lx2 "$line" || fail "lx2: no '$line' on its console: $(tail -n 15 "$S/logs/lx2.log")"
done
[ "$(vmctl info lx2 --output json | field '["reason"]')" = user ] || fail "lx2: reason not user"
grep -q 'pressed the power button' "$S/logs/lx2.log" "$VMMD_LOG" 2>/dev/null ||
	info "note: the monitor's 'pressed the power button' line is not in the logs"

# Forced stop.
start=$SECONDS
vmctl stop lx1 --force >/dev/null || fail "stop --force lx1"
state_is lx1 stopped || fail "lx1 not stopped"
((SECONDS - start < 30)) || fail "forced stop took $((SECONDS - start)) s"
console_has lx1 'vmm-linux-guest: shutting down' && fail "lx1 ran its shutdown on a forced stop"
[ "$(vmctl info lx1 --output json | field '["reason"]')" = user-forced ] || fail "lx1: reason not user-forced"
echo "$NAME: PASS"

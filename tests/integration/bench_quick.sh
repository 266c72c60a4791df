#!/bin/bash
# needs: kvm-linux (tests/run.sh runs it in the test host where this machine's KVM cannot run Linux)
# prepare: scripts/build-linux-guest.sh build/linux
# parallel: no
# Smoke test of the benchmarks: bench/exitcost.py (one short run),
# `bench/nic.py --quick` (1 run, 64 and 1514 B, every system) and
# `bench/linux_tcp.py --quick` (a stock Linux guest, iperf3 4 MiB each way:
# vmm PCnet opt=all, vmm virtio-net opt=all, QEMU pcnet), what `make
# bench-quick` runs, into a temporary directory, then checks that every
# figure was produced (not how big it is): the Markdown tables, the JSON with
# each figure for every available system, direction and size (guest <-> guest
# through netbridge at 64 B too), the ratios and targets, the start-time
# table, and a PNG. It needs a KVM that runs Linux to user space (kvm_pvm
# cannot: then tests/run.sh runs it in the test host); without the Linux guest
# (build/linux, no apt) the Linux part is left out with a note.
# Skips (77) without KVM, root, /dev/net/tun, QEMU, gnuplot or iperf3, and under
# VMM_SKIP_SLOW=1. ~2 minutes here, ~10 in the test host.
. tests/lib/common.sh
[[ ${VMM_SKIP_SLOW:-0} == 1 ]] && skip "slow test (VMM_SKIP_SLOW=1)"
need_kvm
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, taps)"
[ -c /dev/net/tun ] || skip "/dev/net/tun absent"
command -v ip >/dev/null || skip "iproute2 (ip) absent"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
command -v gnuplot >/dev/null || skip "gnuplot not installed"
command -v iperf3 >/dev/null || skip "iperf3 not installed (scripts/install-deps.sh)"
command -v taskset >/dev/null || skip "taskset (util-linux) absent"
# the test host has one CPU (one TCG thread runs all of them anyway): there
# the VM and the host side share it
[ "$(nproc)" -ge 2 ] || [ -n "${TESTHOST:-}" ] || skip "needs 2 CPUs (VM and host writer pinned apart)"
[ -x "$MONITOR" ] && [ -f "$GUEST" ] && [ -x build/nbframe ] || fail "build first: $MONITOR, $GUEST, build/nbframe"

# What one exit costs: every kind measured, with and without the optimizations.
timeout 300 python3 bench/exitcost.py --runs 1 --n 500 --out "$TMP/exitcost.md" >"$TMP/exitcost.log" 2>&1 ||
	{ cat "$TMP/exitcost.log"; fail "bench/exitcost.py: exit $?"; }
[ "$(grep -c '^| [a-zA-Z].* | [0-9][0-9,.]* ([0-9,.]*-[0-9,.]*), .* | [0-9][0-9,.]* (' "$TMP/exitcost.md")" -eq 6 ] ||
	{ cat "$TMP/exitcost.md"; fail "bench/exitcost.py: not every kind has a figure in both columns"; }
grep -q "coalesced PIO" "$TMP/exitcost.md" && grep -q ioeventfd "$TMP/exitcost.md" ||
	fail "bench/exitcost.py: rows lack the coalesced PIO and ioeventfd cells"
! ls /var/run/netns 2>/dev/null | grep -q "^vmmexit" || fail "an exitcost namespace was left behind"

# ~90 s here; inside the test host (nested KVM under TCG) about 4 minutes.
limit=240
[ -n "${TESTHOST:-}" ] && limit=900
timeout --kill-after=10 $limit python3 bench/nic.py --quick --out-dir "$TMP/out" >"$TMP/log" 2>&1
rc=$?
[ $rc -eq 0 ] || { tail -40 "$TMP/log"; fail "bench/nic.py --quick: exit $rc"; }
grep -q "took [0-9]* s" "$TMP/log" || fail "no elapsed time printed"
[ -s "$TMP/out/latest.md" ] || fail "no Markdown table"
head -c 8 "$TMP/out/latest.png" | od -An -c | grep -q 'P   N   G' || fail "no PNG plot"
! ls /var/run/netns 2>/dev/null | grep -q "^vmmbench" || fail "a bench namespace was left behind"
! ls /sys/fs/bpf 2>/dev/null | grep -q "^vmmbench" || fail "a bench netbridge runtime (bpffs pins) was left behind"

python3 - "$TMP/out/latest.json" <<'PY' || fail "figures missing (above)"
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
sizes = r["config"]["sizes"]
assert sizes == [64, 1514], sizes
avail = {n: s for n, s in r["systems"].items() if s["available"]}
for must in ("vmm pcnet opt=none", "vmm pcnet opt=coalesce", "vmm pcnet opt=coalesce+combine",
             "vmm pcnet opt=all", "qemu pcnet", "native (tap writer/reader)"):
    if must not in avail:
        bad.append(f"{must}: not run ({r['systems'].get(must, {}).get('why')})")
for name, s in avail.items():
    want = ["fps", "mbps", "cpu_us_per_frame", "host_idle"]
    if s["kind"] != "native":
        want += ["nic_io_per_frame", "irqs_per_frame"]
    if s["kind"] == "vmm":
        want += ["exits_per_frame", "kvm_run_us_per_frame", "exit_handling_us_per_frame"]
    for d in ("tx", "rx"):
        for size in sizes:
            c = r["directions"].get(d, {}).get(str(size), {}).get(name)
            summ = c and c["summary"]
            if not summ:
                bad.append(f"{name} {d} {size}: no result")
                continue
            bad += [f"{name} {d} {size}: no {k}" for k in want if k not in summ]
            if summ["fps"]["median"] <= 0:
                bad.append(f"{name} {d} {size}: 0 frames/s")
for row in r["ratios"]:
    if row["model"] == "pcnet":
        for k in ("vmm/qemu", "vmm/native", "coalesce/none", "coalesce+combine/coalesce",
                  "all/coalesce+combine"):
            if row[k] is None:
                bad.append(f"ratio {k} pcnet {row['direction']} {row['size']}: missing")
# guest <-> guest through netbridge: one size, opt=all and opt=none of every
# available vmm NIC, unless netbridge itself cannot run here (reason given)
g = r.get("guest_guest")
if not g:
    bad.append("guest<->guest: no guest_guest section")
elif not g["available"]:
    if not g.get("why"):
        bad.append("guest<->guest: unavailable without a reason")
    print("note: guest<->guest n/a:", g["why"])
else:
    assert g["sizes"] == [64], g["sizes"]
    for must in ("vmm pcnet opt=all", "vmm pcnet opt=none"):
        if must not in g["systems"]:
            bad.append(f"guest<->guest: {must} not run")
    if not g.get("qemu_why"):
        bad.append("guest<->guest: no QEMU note")
    # QEMU as both guests too: the same figures, NIC I/O instead of exits
    for must in ("qemu pcnet", "qemu virtio-net"):
        if must in avail and must not in g.get("qemu_systems", []):
            bad.append(f"guest<->guest: {must} not run")
    common = ("fps", "mbps", "tx_fps", "irqs_per_frame_tx", "irqs_per_frame_rx", "switch_drops",
              "tap_drops", "lost_frames", "switch_forwarded")
    wants = [(n, ("exits_per_frame_tx", "exits_per_frame_rx", "rx_nic_drops")) for n in g["systems"]]
    wants += [(n, ("nic_io_per_frame_tx", "nic_io_per_frame_rx")) for n in g.get("qemu_systems", [])]
    for name, own in wants:
        c = r["directions"].get("gg", {}).get("64", {}).get(name)
        summ = c and c["summary"]
        if not summ:
            bad.append(f"guest<->guest {name}: no result")
            continue
        bad += [f"guest<->guest {name}: no {k}" for k in common + own if k not in summ]
        if summ["fps"]["median"] <= 0:
            bad.append(f"guest<->guest {name}: 0 frames/s")
    for row in r.get("ratios_gg", []):
        if row.get("model") == "pcnet" and row.get("vmm/qemu") is None:
            bad.append("ratio gg vmm/qemu pcnet: missing")
    if not any(row.get("model") == "pcnet" for row in r.get("ratios_gg", [])):
        bad.append("ratios_gg: no pcnet row")
# 64 KiB TSO frames on virtio-net (guest -> host): every virtio-net system
# that ran, and the native writer of the same GSO frames
t = r.get("tso") or {}
if not t.get("run"):
    bad.append("tso: not run")
else:
    want_tso = [n for n, s in avail.items() if s.get("model") == "virtio-net" or s["kind"] == "native"]
    for name in want_tso:
        if name not in t.get("systems", []):
            bad.append(f"tso {name}: not run ({t.get('not_available', {}).get(name)})")
            continue
        c = r["directions"].get("tx_tso", {}).get(str(t["size"]), {}).get(name)
        summ = c and c["summary"]
        if not summ:
            bad.append(f"tso {name}: no result")
            continue
        keys = ["fps", "gbps", "cpu_us_per_frame"] + (["exits_per_frame"] if avail[name]["kind"] == "vmm" else [])
        bad += [f"tso {name}: no {k}" for k in keys if k not in summ]
        if summ["fps"]["median"] <= 0:
            bad.append(f"tso {name}: 0 frames/s")
if not r["targets"]:
    bad.append("no targets")
st = r.get("start_time", {})
if "vmm-monitor" not in st or "first_byte_ms" not in st["vmm-monitor"]:
    bad.append("no start-time figures")
for k in ("nproc", "kernel", "kvm_module", "date"):
    if not r["machine"].get(k):
        bad.append(f"machine: no {k}")
for b in bad:
    print("missing:", b)
for f in r.get("failures", []) if bad else []:
    print("failed cell:", f)
sys.exit(1 if bad else 0)
PY
for h in "guest -> host" "host -> guest" "guest <-> guest through netbridge" "## Ratios" "## Targets" "Start time and memory" "kvm_"; do
	grep -q -- "$h" "$TMP/out/latest.md" || fail "latest.md: no '$h'"
done
grep -E "^(wrote|  )" "$TMP/log" | tail -3

# TCP throughput of a stock Linux guest: one short row of each kind, both
# directions, every figure (KVM's own exit counters where debugfs has them).
if [ ! -s build/linux/bzImage ] || [ ! -s build/linux/initramfs.cpio.gz ]; then
	echo "note: no Linux guest in build/linux (scripts/build-linux-guest.sh needs apt): bench/linux_tcp.py left out"
	echo "pass"
	exit 0
fi
limit=300
[ -n "${TESTHOST:-}" ] && limit=1200
timeout --kill-after=10 $limit python3 bench/linux_tcp.py --quick --out-dir "$TMP/linux" \
	--console-dir "$TMP/linux/console" >"$TMP/linux.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { tail -40 "$TMP/linux.log"; fail "bench/linux_tcp.py --quick: exit $rc"; }
! ls /var/run/netns 2>/dev/null | grep -q "^vmmbench" || fail "linux_tcp.py left its namespace behind"
python3 - "$TMP/linux/linux_tcp.json" <<'PY' || { tail -n 30 "$TMP"/linux/console/*; fail "Linux TCP figures missing (above)"; }
import json, os, sys
r = json.load(open(sys.argv[1]))
bad = []
assert r["config"]["size"] == "4M" and r["config"]["runs"] == 1, r["config"]
kvm_counters = os.path.isdir("/sys/kernel/debug/kvm")
for name in ("vmm pcnet opt=all", "vmm virtio-net opt=all", "qemu pcnet"):
    s = r["systems"].get(name)
    if not s or not s["available"]:
        bad.append(f"{name}: not run ({s and s['why']})")
        continue
    # guest time: /proc/PID/stat's guest_time, which every KVM user has
    want = ["mbps", "guest_idle", "cpu_ms_per_mib", "packets", "guest_irqs_per_packet",
            "guest_ms_per_mib", "guest_share", "vmm_free_mbps"]
    if s["kind"] == "vmm":
        want += ["exits_per_packet", "nic_exits_per_packet", "nic_irqs_per_packet"]
    if kvm_counters:
        want += ["kvm_exits_per_packet", "kvm_io_mmio_per_packet"]
    for d in ("tx", "rx"):
        summ = r["directions"][d][name]["summary"]
        if not summ:
            bad.append(f"{name} {d}: no result")
            continue
        bad += [f"{name} {d}: no {k}" for k in want if k not in summ]
        if summ["mbps"]["median"] <= 0 or summ["packets"]["median"] < 100:
            bad.append(f"{name} {d}: {summ['mbps']['median']} Mb/s, {summ['packets']['median']} packets")
rows = {x["ratio"]: x for x in r["ratios"]}
for k in ("vmm PCnet opt=all / QEMU pcnet", "exits/packet, vmm PCnet opt=all (pcnet32)",
          "exits/packet, vmm virtio-net opt=all (virtio_net)", "vmm virtio-net / vmm PCnet opt=all"):
    for d in ("tx", "rx"):
        if rows.get(k, {}).get(d) is None:
            bad.append(f"ratio {k} {d}: missing")
        if k.startswith("vmm ") and rows.get(k, {}).get(f"{d}_ceiling") is None:
            bad.append(f"ratio {k} {d}: no 'most possible here'")
for k in ("nproc", "kernel", "kvm_module", "date", "where"):
    if not r["machine"].get(k):
        bad.append(f"machine: no {k}")
for b in bad:
    print("missing:", b)
for f in r.get("failures", []) if bad else []:
    print("failed boot:", f)
sys.exit(1 if bad else 0)
PY
for h in "## guest -> host" "## host -> guest" "## Ratios" "Met in both directions" "Measured " "Most possible here"; do
	grep -q -- "$h" "$TMP/linux/linux_tcp.md" || fail "linux_tcp.md: no '$h'"
done
grep -E "^(wrote|  run)" "$TMP/linux.log" | tail -4
echo "pass"

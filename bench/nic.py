#!/usr/bin/env python3
"""NIC benchmark: the paper's experiment on this host, vmm-monitor at
each optimization step side by side with QEMU and the native limit, same
netguest ELF and same NIC model for every VM.

Systems (rows):
  vmm pcnet opt=none, opt=coalesce, opt=coalesce+combine, opt=all  (Table 3 order)
  qemu pcnet            (-M pc, tap backend, vhost=off)
  vmm virtio-net ...    (same four steps) and qemu virtio-net-pci,disable-legacy=on:
                        probed with a short netguest tx; "n/a" rows when absent
  native                a host process (build/nbframe, C, one write() per frame)
                        on a tap of the same kind: the limit of the tap itself
Directions:
  tx  guest -> host: netguest "tx count=N size=S"; frames counted at the tap
      (rx_packets); time = host clock from the guest's "ready" line to its
      "result" line. native: nbframe writes into a tap for T ms.
  rx  host -> guest: nbframe floods the tap through AF_PACKET (pinned to the
      host CPU) while netguest "rx count=N" counts; time = flood start to the
      result line. native: a second nbframe reads the tap for T ms.
  gg  guest <-> guest through netbridge: a netbridge switch (runtime
      vmmbench<PID>, nbctl under nsenter --net) with two VM ports; netguest
      "rx count=N" in one monitor, "tx count=N size=S dst=<its MAC>" in a
      second (same NIC model and opt; opt=none and opt=all), and the same with
      two QEMUs (same NIC model; -netdev tap,ifname=<netbridge's tap>,vhost=off;
      the rx guest is stopped through QMP send-key Ctrl-Alt-Del where vmm uses
      its control "stop"); frames/s the rx guest counted, exits/frame on each
      side (vmm), NIC I/O and IRQs per frame on each side (guests' counters),
      drops from the switch's counters, the rx tap and the rx NIC (vmm).
  tx 64 KiB TSO (virtio-net only; with tx, or alone as --directions tso):
      netguest "tx count=N size=65214 tso=1 nic=virtio": Ethernet + IPv4 + TCP
      GSO frames (virtio_net_hdr NEEDS_CSUM, gso_type TCPV4, gso_size 1448;
      TCP payload 65160 B = 45 full segments) to a MAC no interface has, so
      the host drops each at ip_rcv, unsegmented; the tap counts one packet per
      GSO frame. vmm virtio-net at each opt, qemu virtio-net, and natively a
      Python writer (one write() per frame) of the same frames to an
      IFF_VNET_HDR tap (build/nbframe stops at 9216 B).
Figures per cell (median, min, max over the runs; runs interleaved):
  frames/s, Mb/s (frame bytes without FCS), exits/frame by cause (vmm: the
  monitor's control socket at "ready" and its --stats-file at exit; COM1 and
  debug-exit accesses excluded), NIC I/O per frame and IRQs per frame (the
  guest's own io_ops/irqs counters, same for every system), monitor CPU
  us/frame (/proc/PID/stat utime+stime over the window), host idle share
  (/proc/stat, both cores, over the window).
Every network setup lives in namespaces made here and removed on every exit
path (198.51.100.0/24). The VM process is pinned to --vm-cpu, the host-side
writer/reader and this script to --host-cpu.

usage: bench/nic.py [--quick] [--runs N] [--sizes 64,512,1514] [--out-dir DIR]
                    [--start-runs N] [--no-start-time] [--gg-sizes 64,...]
                    [--directions tx,tso,rx,gg] [--systems REGEX]
                    [--tso-size S] [--tso-count N]
e.g. only the 64 KiB TSO cells, vmm virtio-net opt=all/none, QEMU and native:
  bench/nic.py --directions tso --systems 'virtio-net opt=(all|none)|qemu virtio|native' \
               --runs 1 --no-start-time --out-dir /tmp/tso
e.g. only guest <-> guest, vmm opt=all against QEMU, one run:
  bench/nic.py --directions gg --systems 'opt=all|qemu' --runs 1 --no-start-time
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import nic_host as host
from nic_cells import *  # noqa: F401,F403
from nic_host import *  # noqa: F401,F403
from nic_report import *  # noqa: F401,F403


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 run, sizes 64 and 1514, few frames (TSO: 300 GSO frames)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="64,512,1514")
    ap.add_argument("--count", type=int, default=2000, help="frames per VM run")
    ap.add_argument("--native-ms", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per VM run")
    ap.add_argument("--vm-cpu", type=int, default=1)
    ap.add_argument("--host-cpu", type=int, default=0)
    ap.add_argument("--out-dir", default="bench/results")
    ap.add_argument("--name", default="latest")
    ap.add_argument("--start-runs", type=int, default=20)
    ap.add_argument("--no-start-time", action="store_true")
    ap.add_argument("--gg-sizes", default=None,
                    help="frame sizes of guest <-> guest through netbridge (default: --sizes)")
    ap.add_argument("--directions", "--only", default="tx,rx,gg",
                    help="directions to run, comma-separated: tx (guest -> host, with the "
                         "64 KiB TSO cells), tso (only the 64 KiB TSO cells of tx), rx (host "
                         "-> guest), gg (guest <-> guest through netbridge); default tx,rx,gg")
    ap.add_argument("--tso-size", type=int, default=TSO_SIZE,
                    help=f"frame bytes of the guest -> host TSO cells (virtio-net; "
                         f"{TSO_HDRS + TSO_MSS + 1}..65549; default {TSO_SIZE}: 45 full "
                         f"{TSO_MSS} B segments); 0: no TSO cells")
    ap.add_argument("--tso-count", type=int, default=2000,
                    help="GSO frames per VM run of the TSO cells (default 2000; --quick 300)")
    ap.add_argument("--systems", default=None, metavar="REGEX",
                    help="run only the systems whose name matches REGEX (re.search), e.g. "
                         "'opt=all|qemu', 'virtio', 'native'; default all")
    args = ap.parse_args()
    dirs = [d.strip() for d in args.directions.split(",") if d.strip()]
    if not dirs or set(dirs) - {"tx", "tso", "rx", "gg"}:
        ap.error(f"--directions: tx, tso, rx and/or gg, not {args.directions!r}")
    if args.tso_size and not TSO_HDRS + TSO_MSS < args.tso_size <= 65549:
        ap.error(f"--tso-size: {TSO_HDRS + TSO_MSS + 1}..65549 (or 0), not {args.tso_size}")
    if args.quick:
        args.runs, args.sizes, args.count, args.native_ms = 1, "64,1514", 500, 300
        args.tso_count = min(args.tso_count, 300)
        args.gg_sizes = args.gg_sizes or "64"
        args.timeout = min(args.timeout, 30.0)
        args.start_runs = min(args.start_runs, 2)
    sizes = [int(x) for x in args.sizes.split(",")]
    run_tso = bool(args.tso_size) and ("tx" in dirs or "tso" in dirs)
    gg_sizes = [int(x) for x in (args.gg_sizes or args.sizes).split(",")]
    t_start = time.monotonic()
    for f in (MONITOR, GUEST, NBFRAME):
        if not os.path.exists(f):
            print(f"nic.py: {f} missing: run make first", file=sys.stderr)
            return 2
    if os.geteuid() != 0:
        print("nic.py: needs root (network namespaces, taps)", file=sys.stderr)
        return 77
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("nic.py: /dev/kvm not accessible", file=sys.stderr)
        return 77
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    os.sched_setaffinity(0, {args.host_cpu})
    os.makedirs(args.out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vmm-bench.")

    systems = [System(f"vmm pcnet opt={o}", "vmm", "pcnet", o) for o in STEPS]
    systems.append(System("qemu pcnet", "qemu", "pcnet"))
    systems += [System(f"vmm virtio-net opt={o}", "vmm", "virtio-net", o) for o in STEPS]
    systems.append(System("qemu virtio-net", "qemu", "virtio-net"))
    native = System(NATIVE_NAME, "native", "tap")
    if args.systems:
        try:
            pick = re.compile(args.systems)
        except re.error as e:
            ap.error(f"--systems: {e}")
        systems = [s for s in systems if pick.search(s.name)]
        if not pick.search(native.name):
            native = None
        if not systems and not native:
            ap.error(f"--systems {args.systems!r} matches no system")
    hosts = [native] if native else []  # the native row, if selected
    results = {"directions": {}, "systems": {}}
    start_md = ""
    global NB_WHY
    gg_qemu_why = ("measured: two QEMU VMs (-M pc, same NIC model, -netdev tap,ifname=<the "
                   "netbridge tap>,vhost=off) in place of the two monitors, same pinning, "
                   "frame counts and sizes; exits/frame n/a (every NIC I/O is an exit on QEMU), "
                   "rx NIC drops n/a (QEMU counts none; frames it cannot take stay in the tap "
                   "and show as tap drops)")
    try:
        ns_setup()
        NB_WHY = nb_setup() if "gg" in dirs else "not run (--directions)"
        if NB_WHY and "gg" in dirs:
            print(f"  guest <-> guest: n/a ({NB_WHY})", file=sys.stderr)
        for s in systems:
            why = probe(s, tmp, args)
            if why:
                s.available, s.why = False, why
                print(f"  {s.name}: n/a ({why})", file=sys.stderr)
        gg_systems = [s for s in systems if s.kind == "qemu" or s.opt in GG_OPTS]
        runsets, failures = {}, []
        results["failures"] = failures
        # --quick has one run a cell: a cell that fails (a stalled guest
        # under a slow nested KVM, say) is tried once more; every failure
        # is kept in results["failures"] and printed.
        tries = 2 if args.quick else 1

        def measure(fn, what):
            for attempt in range(tries):
                try:
                    return fn()
                except (RuntimeError, OSError, KeyError, ValueError,
                        subprocess.SubprocessError) as e:
                    print(f"  run {run + 1}: {e}", file=sys.stderr)
                    failures.append(dict(what, run=run + 1, error=str(e),
                                         retried=attempt > 0))
            return None
        tso_systems = [s for s in systems if s.model == "virtio-net"] + hosts
        tso_why = {s.name: s.why for s in tso_systems if not s.available}
        for run in range(args.runs):
            for direction in [d for d in ("tx", "rx") if d in dirs]:
                for size in sizes:
                    for s in [x for x in systems if x.available] + hosts:
                        key = (s.name, direction, size)
                        r = measure(lambda: native_cell(direction, size, args, tmp)
                                    if s.kind == "native"
                                    else vm_cell(s, direction, size, args.count, args, tmp),
                                    {"system": s.name, "direction": direction, "size": size})
                        if r is None:
                            runsets.setdefault(key, [])
                            continue
                        runsets.setdefault(key, []).append(r)
                        print(f"  run {run + 1}/{args.runs} {direction} {size:5d} B "
                              f"{s.name:32s} {r['fps']:12,.0f} frames/s", file=sys.stderr)
            # guest -> host, 64 KiB TSO: virtio-net systems and the native writer
            for s in [x for x in tso_systems if x.name not in tso_why] if run_tso else []:
                key = (s.name, TSO_KEY, args.tso_size)
                r = measure(lambda: native_tso_cell(args.tso_size, args, tmp)
                            if s.kind == "native"
                            else vm_cell(s, "tx", args.tso_size, args.tso_count, args, tmp,
                                         tso=True),
                            {"system": s.name, "direction": TSO_KEY, "size": args.tso_size})
                if r is None:
                    runsets.setdefault(key, [])
                    if not runsets[key]:  # never worked: no TSO here, skip later runs
                        tso_why[s.name] = failures[-1]["error"][:200]
                    continue
                runsets.setdefault(key, []).append(r)
                print(f"  run {run + 1}/{args.runs} tx TSO {args.tso_size} B {s.name:32s} "
                      f"{r['fps']:12,.0f} GSO frames/s {r['gbps']:6.2f} Gb/s", file=sys.stderr)
            for size in gg_sizes if "gg" in dirs and not NB_WHY else []:
                for s in [x for x in gg_systems if x.available]:
                    key = (s.name, "gg", size)
                    r = measure(lambda: gg_cell(s, size, args.count, args, tmp),
                                {"system": s.name, "direction": "gg", "size": size})
                    if r is None:
                        runsets.setdefault(key, [])
                        continue
                    runsets.setdefault(key, []).append(r)
                    print(f"  run {run + 1}/{args.runs} gg {size:5d} B {s.name:32s} "
                          f"{r['fps']:12,.0f} frames/s received, lost {r['lost_frames']}, "
                          f"switch drops {r['switch_drops']}", file=sys.stderr)
        for s in systems + hosts:
            results["systems"][s.name] = {"kind": s.kind, "model": s.model, "opt": s.opt,
                                          "available": s.available, "why": s.why}
        for (name, d, size), runs in runsets.items():
            results["directions"].setdefault(d, {}).setdefault(str(size), {})[name] = {
                "summary": summarize(runs) if runs else None, "runs": runs}
        results["guest_guest"] = {
            "available": not NB_WHY, "why": NB_WHY, "sizes": gg_sizes,
            "run": "gg" in dirs,
            # vmm-monitor rows (exits per side from the monitors) and QEMU rows
            "systems": [s.name for s in gg_systems if s.available and s.kind == "vmm"],
            "qemu_systems": [s.name for s in gg_systems if s.available and s.kind == "qemu"],
            "not_available": {s.name: s.why for s in gg_systems if not s.available},
            "qemu": "measured", "qemu_why": gg_qemu_why,
            "setup": f"netbridge switch of runtime vmmbench<PID> in the bench namespace, VM "
                     f"ports {GG_TX_TAP} ({GG_TX_MAC}, tx VM, CPU {args.vm_cpu}) and "
                     f"{GG_RX_TAP} ({GG_RX_MAC}, rx VM, CPU {args.host_cpu}), attach mode "
                     f"{host.NB_MODE}"}
        segs = -(-(args.tso_size - TSO_HDRS) // TSO_MSS) if args.tso_size else 0
        results["tso"] = {
            "run": run_tso, "key": TSO_KEY, "size": args.tso_size, "count": args.tso_count,
            "native_ms": args.native_ms, "tcp_payload": args.tso_size - TSO_HDRS,
            "headers": TSO_HDRS, "gso_size": TSO_MSS, "segments_per_frame": segs,
            "dst_mac": TSO_SINK_MAC,
            "systems": [s.name for s in tso_systems
                        if runsets.get((s.name, TSO_KEY, args.tso_size))],
            "not_available": {n: w for n, w in tso_why.items()},
            "guest": f"netguest tx count={args.tso_count} size={args.tso_size} "
                     f"dst={TSO_SINK_MAC} tso=1 nic=virtio",
            "native": "python3 writer in the bench namespace (build/nbframe takes <= 9216 B): "
                      "the guest's frame behind a 10-byte virtio_net_hdr (NEEDS_CSUM, GSO "
                      "TCPV4, hdr_len 54, gso_size 1448, csum_start 34, csum_offset 16), "
                      "one write() per frame to an IFF_VNET_HDR tap, pinned to the VM CPU",
            "what": "guest -> host GSO frames: frames = GSO frames (one tap packet each, "
                    "checked with rx_bytes = frames x size); on a wire each would be "
                    f"{segs} TCP segments of <= {TSO_MSS} B payload; the host drops each "
                    "frame at ip_rcv, unsegmented (its destination MAC is no interface's)"}
    finally:
        cleanup()
    if not args.no_start_time:
        sj = os.path.join(tmp, "start.json")
        r = subprocess.run([sys.executable, "bench/start_time.py", "--runs",
                            str(args.start_runs), "--json", sj],
                           stdout=subprocess.PIPE, text=True)
        start_md = r.stdout
        if r.returncode == 0 and os.path.exists(sj):
            results["start_time"] = json.load(open(sj))
    elapsed = time.monotonic() - t_start
    results["machine"] = machine()
    results["config"] = {"runs": args.runs, "sizes": sizes, "count": args.count,
                         "native_ms": args.native_ms, "vm_cpu": args.vm_cpu,
                         "host_cpu": args.host_cpu, "quick": args.quick, "gg_sizes": gg_sizes,
                         "directions": dirs, "systems": args.systems,
                         "tso_size": args.tso_size, "tso_count": args.tso_count,
                         "elapsed_s": round(elapsed, 1)}
    results["ratios"] = ratios(results, sizes, systems, native)
    results["ratios_gg"] = ratios_gg(results, gg_sizes)
    results["ratios_tso"] = ratios_tso(results, args.tso_size) if run_tso else []
    results["targets"] = targets(results, sizes)
    base = os.path.join(args.out_dir, args.name)
    json.dump(results, open(base + ".json", "w"), indent=1)
    md = report(results, sizes, systems, hosts, start_md)
    open(base + ".md", "w").write(md)
    plot(results, sizes, systems, hosts, base + ".png", tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    print(md)
    print(f"wrote {base}.md, {base}.json, {base}.png; took {elapsed:.0f} s "
          f"({elapsed / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        cleanup()

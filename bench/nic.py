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
import os
import shutil
import signal
import sys
import tempfile
import time

import nic_host as host
import nic_report as report
import nic_run
from nic_host import GUEST, MONITOR, NBFRAME, TSO_HDRS, TSO_MSS, TSO_SIZE


def parse_args():
    """The command line, checked, with --quick's smaller figures applied; and
    ArgumentParser.error for what only the plan can check."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 run, sizes 64 and 1514, few frames (TSO: 300 GSO frames)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="64,512,1514")
    ap.add_argument("--count", type=int, default=2000, help="frames per VM run")
    ap.add_argument("--native-ms", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per VM run")
    ap.add_argument("--vm-cpu", type=int, default=None,
                    help="CPU of the VM process (default 1; 0 with one CPU)")
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
    try:
        nic_run.parse_directions(args.directions)
    except ValueError as e:
        ap.error(str(e))
    if args.tso_size and not TSO_HDRS + TSO_MSS < args.tso_size <= 65549:
        ap.error(f"--tso-size: {TSO_HDRS + TSO_MSS + 1}..65549 (or 0), not {args.tso_size}")
    if args.quick:
        args.runs, args.sizes, args.count, args.native_ms = 1, "64,1514", 500, 300
        args.tso_count = min(args.tso_count, 300)
        args.gg_sizes = args.gg_sizes or "64"
        args.timeout = min(args.timeout, 30.0)
        args.start_runs = min(args.start_runs, 2)
    if args.vm_cpu is None:
        args.vm_cpu = host.default_vm_cpu()
    return args, ap.error


def cannot_run():
    """(message, exit status) when this host cannot run the bench, else None."""
    for f in (MONITOR, GUEST, NBFRAME):
        if not os.path.exists(f):
            return f"nic.py: {f} missing: run make first", 2
    if os.geteuid() != 0:
        return "nic.py: needs root (network namespaces, taps)", 77
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "nic.py: /dev/kvm not accessible", 77
    return None


def main():
    args, usage_error = parse_args()
    t_start = time.monotonic()
    why = cannot_run()
    if why:
        print(why[0], file=sys.stderr)
        return why[1]
    try:
        plan = nic_run.Plan(args)
    except ValueError as e:
        usage_error(str(e))
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, host.on_signal)
    os.sched_setaffinity(0, {args.host_cpu})
    os.makedirs(args.out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vmm-bench.")
    results = nic_run.measure(plan, args, tmp)
    start_md = ""
    if not args.no_start_time:
        start_md, start_json = nic_run.start_time(args, tmp)
        if start_json is not None:
            results["start_time"] = start_json
    elapsed = time.monotonic() - t_start
    report.complete(results, plan, args, elapsed)
    report.write(results, plan, args, start_md, tmp, elapsed)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        host.cleanup()

"""bench/nic_run.py: what a NIC benchmark run (bench/nic.py) measures and the
measuring itself: the plan (directions, sizes, the systems of each), the
runs, interleaved, each cell tried and recorded, and the results dict that
nic_report.py turns into the tables."""
import json
import os
import re
import subprocess
import sys

import nic_host as host
from nic_cells import gg_cell, native_cell, native_tso_cell, probe, vm_cell
from nic_host import (GG_OPTS, GG_RX_MAC, GG_RX_TAP, GG_TX_MAC, GG_TX_TAP, NATIVE_NAME, STEPS,
                      TSO_HDRS, TSO_KEY, TSO_MSS, TSO_SINK_MAC, System)
from nic_report import summarize

DIRECTIONS = ("tx", "tso", "rx", "gg")
GG_QEMU_WHY = ("measured: two QEMU VMs (-M pc, same NIC model, -netdev tap,ifname=<the "
               "netbridge tap>,vhost=off) in place of the two monitors, same pinning, "
               "frame counts and sizes; exits/frame n/a (every NIC I/O is an exit on QEMU), "
               "rx NIC drops n/a (QEMU counts none; frames it cannot take stay in the tap "
               "and show as tap drops)")
# What a cell may fail with; anything else is a bug of the bench and stops it.
CELL_ERRORS = (RuntimeError, OSError, KeyError, ValueError, subprocess.SubprocessError)


def parse_directions(text):
    """--directions as a list; ValueError when it names none or an unknown one."""
    dirs = [d.strip() for d in text.split(",") if d.strip()]
    if not dirs or set(dirs) - set(DIRECTIONS):
        raise ValueError(f"--directions: tx, tso, rx and/or gg, not {text!r}")
    return dirs


class Plan:
    """The cells of a run, from the command line: directions, frame sizes, and
    the systems (rows) of each. ValueError when --systems selects nothing."""

    def __init__(self, args):
        self.dirs = parse_directions(args.directions)
        self.sizes = [int(x) for x in args.sizes.split(",")]
        self.gg_sizes = [int(x) for x in (args.gg_sizes or args.sizes).split(",")]
        self.run_tso = bool(args.tso_size) and ("tx" in self.dirs or "tso" in self.dirs)
        systems = [System(f"vmm pcnet opt={o}", "vmm", "pcnet", o) for o in STEPS]
        systems.append(System("qemu pcnet", "qemu", "pcnet"))
        systems += [System(f"vmm virtio-net opt={o}", "vmm", "virtio-net", o) for o in STEPS]
        systems.append(System("qemu virtio-net", "qemu", "virtio-net"))
        native = System(NATIVE_NAME, "native", "tap")
        if args.systems:
            try:
                pick = re.compile(args.systems)
            except re.error as e:
                raise ValueError(f"--systems: {e}") from e
            systems = [s for s in systems if pick.search(s.name)]
            if not pick.search(native.name):
                native = None
            if not systems and not native:
                raise ValueError(f"--systems {args.systems!r} matches no system")
        self.systems, self.native = systems, native
        self.hosts = [native] if native else []  # the native row, if selected
        self.gg_systems = [s for s in systems if s.kind == "qemu" or s.opt in GG_OPTS]
        self.tso_systems = [s for s in systems if s.model == "virtio-net"] + self.hosts


class Run:
    """The measurements: every run of every cell (runsets, keyed (system,
    direction, size)), every failed try, and why guest <-> guest or a
    system's TSO cells cannot run."""

    def __init__(self, plan, args, tmp):
        self.plan, self.args, self.tmp = plan, args, tmp
        self.runsets, self.failures, self.tso_why, self.nb_why = {}, [], {}, ""
        # --quick has one run a cell: a cell that fails (a stalled guest
        # under a slow nested KVM, say) is tried once more; every failure
        # is kept in results["failures"] and printed.
        self.tries = 2 if args.quick else 1

    def setup(self):
        """The namespace, the switch (gg) and a probe of each system."""
        plan, args = self.plan, self.args
        host.ns_setup()
        self.nb_why = host.nb_setup() if "gg" in plan.dirs else "not run (--directions)"
        if self.nb_why and "gg" in plan.dirs:
            print(f"  guest <-> guest: n/a ({self.nb_why})", file=sys.stderr)
        for s in plan.systems:
            why = probe(s, self.tmp, args)
            if why:
                s.available, s.why = False, why
                print(f"  {s.name}: n/a ({why})", file=sys.stderr)
        self.tso_why = {s.name: s.why for s in plan.tso_systems if not s.available}

    def cell(self, i, key, fn):
        """Run i of one cell: its figures, kept in runsets, or None when every
        try failed (each failure kept)."""
        name, direction, size = key
        r = None
        for attempt in range(self.tries):
            try:
                r = fn()
                break
            except CELL_ERRORS as e:
                print(f"  run {i + 1}: {e}", file=sys.stderr)
                self.failures.append({"system": name, "direction": direction, "size": size,
                                      "run": i + 1, "error": str(e), "retried": attempt > 0})
        runs = self.runsets.setdefault(key, [])
        if r is not None:
            runs.append(r)
        return r

    def rounds(self):
        """Every run; inside each, directions, sizes and systems interleaved."""
        for i in range(self.args.runs):
            self.host_round(i)
            if self.plan.run_tso:
                self.tso_round(i)
            if "gg" in self.plan.dirs and not self.nb_why:
                self.gg_round(i)

    def host_round(self, i):
        """guest -> host and host -> guest, every size and system."""
        plan, args, tmp = self.plan, self.args, self.tmp
        for direction in [d for d in ("tx", "rx") if d in plan.dirs]:
            for size in plan.sizes:
                for s in [x for x in plan.systems if x.available] + plan.hosts:
                    r = self.cell(i, (s.name, direction, size),
                                  lambda: native_cell(direction, size, args, tmp)
                                  if s.kind == "native"
                                  else vm_cell(s, direction, size, args.count, args, tmp))
                    if r is not None:
                        print(f"  run {i + 1}/{args.runs} {direction} {size:5d} B "
                              f"{s.name:32s} {r['fps']:12,.0f} frames/s", file=sys.stderr)

    def tso_round(self, i):
        """guest -> host, 64 KiB TSO: virtio-net systems and the native writer;
        a system whose first try fails is left out of the later runs."""
        plan, args, tmp = self.plan, self.args, self.tmp
        for s in [x for x in plan.tso_systems if x.name not in self.tso_why]:
            key = (s.name, TSO_KEY, args.tso_size)
            r = self.cell(i, key, lambda: native_tso_cell(args.tso_size, args, tmp)
                          if s.kind == "native"
                          else vm_cell(s, "tx", args.tso_size, args.tso_count, args, tmp,
                                       tso=True))
            if r is None:
                if not self.runsets[key]:  # never worked: no TSO here, skip later runs
                    self.tso_why[s.name] = self.failures[-1]["error"][:200]
                continue
            print(f"  run {i + 1}/{args.runs} tx TSO {args.tso_size} B {s.name:32s} "
                  f"{r['fps']:12,.0f} GSO frames/s {r['gbps']:6.2f} Gb/s", file=sys.stderr)

    def gg_round(self, i):
        """guest <-> guest through netbridge, every gg size and system."""
        plan, args = self.plan, self.args
        for size in plan.gg_sizes:
            for s in [x for x in plan.gg_systems if x.available]:
                r = self.cell(i, (s.name, "gg", size),
                              lambda: gg_cell(s, size, args.count, args, self.tmp))
                if r is not None:
                    print(f"  run {i + 1}/{args.runs} gg {size:5d} B {s.name:32s} "
                          f"{r['fps']:12,.0f} frames/s received, lost {r['lost_frames']}, "
                          f"switch drops {r['switch_drops']}", file=sys.stderr)

    def results(self):
        """The measurements as results.json has them (before nic_report.py adds
        machine, config, ratios and targets)."""
        plan, args = self.plan, self.args
        results = {"directions": {}, "systems": {}, "failures": self.failures}
        for s in plan.systems + plan.hosts:
            results["systems"][s.name] = {"kind": s.kind, "model": s.model, "opt": s.opt,
                                          "available": s.available, "why": s.why}
        for (name, d, size), runs in self.runsets.items():
            results["directions"].setdefault(d, {}).setdefault(str(size), {})[name] = {
                "summary": summarize(runs) if runs else None, "runs": runs}
        gg = plan.gg_systems
        results["guest_guest"] = {
            "available": not self.nb_why, "why": self.nb_why, "sizes": plan.gg_sizes,
            "run": "gg" in plan.dirs,
            # vmm-monitor rows (exits per side from the monitors) and QEMU rows
            "systems": [s.name for s in gg if s.available and s.kind == "vmm"],
            "qemu_systems": [s.name for s in gg if s.available and s.kind == "qemu"],
            "not_available": {s.name: s.why for s in gg if not s.available},
            "qemu": "measured", "qemu_why": GG_QEMU_WHY,
            "setup": f"netbridge switch of runtime vmmbench<PID> in the bench namespace, VM "
                     f"ports {GG_TX_TAP} ({GG_TX_MAC}, tx VM, CPU {args.vm_cpu}) and "
                     f"{GG_RX_TAP} ({GG_RX_MAC}, rx VM, CPU {args.host_cpu}), attach mode "
                     f"{host.NB_MODE}"}
        results["tso"] = self.tso_results()
        return results

    def tso_results(self):
        args = self.args
        segs = -(-(args.tso_size - TSO_HDRS) // TSO_MSS) if args.tso_size else 0
        return {
            "run": self.plan.run_tso, "key": TSO_KEY, "size": args.tso_size,
            "count": args.tso_count, "native_ms": args.native_ms,
            "tcp_payload": args.tso_size - TSO_HDRS, "headers": TSO_HDRS, "gso_size": TSO_MSS,
            "segments_per_frame": segs, "dst_mac": TSO_SINK_MAC,
            "systems": [s.name for s in self.plan.tso_systems
                        if self.runsets.get((s.name, TSO_KEY, args.tso_size))],
            "not_available": dict(self.tso_why),
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


def measure(plan, args, tmp):
    """Sets the host up, runs every cell and tears the host down on every exit
    path; the results dict."""
    run = Run(plan, args, tmp)
    try:
        run.setup()
        run.rounds()
        return run.results()
    finally:
        host.cleanup()


def start_time(args, tmp):
    """bench/start_time.py into the same report: (its Markdown, its JSON or
    None)."""
    sj = os.path.join(tmp, "start.json")
    r = subprocess.run([sys.executable, "bench/start_time.py", "--runs", str(args.start_runs),
                        "--json", sj], stdout=subprocess.PIPE, text=True)
    if r.returncode == 0 and os.path.exists(sj):
        return r.stdout, json.load(open(sj))
    return r.stdout, None

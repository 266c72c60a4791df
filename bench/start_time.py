#!/usr/bin/env python3
"""Start time and memory overhead: vmm-monitor (plain and jailed with
--sandbox) vs QEMU microvm on the same netguest ELF, in one run.

For each system, N runs of `netguest selftest`:
  first byte  process start -> first byte on the serial console (stdout)
  total       process start -> process exit (boot, selftest, debug-exit)
  overhead    vmm: peak RSS - guest RAM resident (from the monitor's stats);
              QEMU: peak RSS (its guest RAM is in there too: an upper bound)
Prints a Markdown table (median, min, max) and writes JSON if asked.
usage: start_time.py [--runs N] [--json FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GUEST = "build/netguest.elf"


def run_once(argv, stats_file=None):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    first = p.stdout.read(1)
    t1 = time.perf_counter()
    out = first + p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    t2 = time.perf_counter()
    p.returncode = os.waitstatus_to_exitcode(status)
    if b"result=pass" not in out:
        raise RuntimeError(f"{argv[0]}: no result=pass (exit {p.returncode})")
    # ru_maxrss can carry the forking parent's peak over exec: for QEMU it is
    # an upper bound; the monitor reports its own VmHWM.
    mem = ru.ru_maxrss * 1024
    if stats_file:
        st = json.load(open(stats_file))["memory"]
        mem = st["peak_rss_bytes"] - st["guest_resident_bytes"]
    return (t1 - t0) * 1e3, (t2 - t0) * 1e3, mem / 1048576.0


def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp()
    stats = os.path.join(tmp, "stats.json")
    systems = {
        "vmm-monitor": (["build/vmm-monitor", "--no-sandbox", "--kernel", GUEST, "--cmdline",
                         "selftest", "--memory", "128", "--stats", "none", "--stats-file", stats],
                        stats),
    }
    if os.geteuid() == 0:  # the jail needs root to set up
        sandbox_stats = os.path.join(tmp, "stats-sandbox.json")
        systems["vmm-monitor --sandbox"] = (
            [a for a in systems["vmm-monitor"][0][:-1] if a != "--no-sandbox"]
            + [sandbox_stats, "--sandbox"], sandbox_stats)
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        systems["qemu microvm"] = ([qemu, "-M", "microvm", "-accel", "kvm", "-m", "128",
                                    "-nodefaults", "-no-user-config", "-nographic",
                                    "-serial", "stdio", "-device",
                                    "isa-debug-exit,iobase=0xf4,iosize=4",
                                    "-kernel", GUEST, "-append", "selftest"], None)
    results = {}
    # Interleave the systems so that machine noise hits both alike.
    samples = {name: ([], [], []) for name in systems}
    for _ in range(args.runs):
        for name, (argv, sf) in systems.items():
            a, b, c = run_once(argv, sf)
            for lst, v in zip(samples[name], (a, b, c)):
                lst.append(v)
    for name, (first, total, mem) in samples.items():
        results[name] = {"first_byte_ms": summary(first), "total_ms": summary(total),
                         "overhead_mib": summary(mem)}
    shutil.rmtree(tmp)

    print(f"### Start time and memory, netguest selftest, {args.runs} runs each\n")
    print("| system | first serial byte ms (min-max) | boot+selftest+exit ms (min-max) "
          "| memory overhead MiB |")
    print("|---|---|---|---|")
    for name, r in results.items():
        f, t, m = r["first_byte_ms"], r["total_ms"], r["overhead_mib"]
        print(f"| {name} | {f['median']:.1f} ({f['min']:.1f}-{f['max']:.1f}) "
              f"| {t['median']:.1f} ({t['min']:.1f}-{t['max']:.1f}) | {m['median']:.2f} |")
    if "qemu microvm" in results:
        v, q = results["vmm-monitor"], results["qemu microvm"]
        print(f"\nratio QEMU/vmm: first byte {q['first_byte_ms']['median'] / v['first_byte_ms']['median']:.1f}x, "
              f"total {q['total_ms']['median'] / v['total_ms']['median']:.1f}x")
    if "vmm-monitor --sandbox" in results:
        v, j = results["vmm-monitor"], results["vmm-monitor --sandbox"]
        print(f"\nthe sandbox adds {j['first_byte_ms']['median'] - v['first_byte_ms']['median']:+.2f} ms "
              f"to the first byte and {j['total_ms']['median'] - v['total_ms']['median']:+.2f} ms "
              "to the whole run (target: at most 2 ms)")
    print("\ntargets: first byte <= 5 ms, overhead <= 4 MiB (vmm: peak RSS minus guest RAM "
          "touched; QEMU: whole peak RSS, guest RAM included)")
    if args.json:
        json.dump(results, open(args.json, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

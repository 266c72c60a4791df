#!/usr/bin/env python3
"""bench/exitcost.py: what one exit costs on the KVM in use, kind by kind.

netguest's exitcost mode (guest/mode_exitcost.c) times N of one instruction
per kind under vm-monitor; this runs it with a PCnet NIC and with a virtio-net
NIC (each on a tap in a namespace made for the run), once with every
optimization (opt=all) and once with none, and prints one table:

  kind                                   opt=all    opt=none
  exit handled in KVM (CPUID)            ns/op      ns/op
  port I/O to user space (COM1 SCR)      ...
  MMIO to user space (unclaimed)         ...
  PCnet RAP write                        coalesced  PIO to user space
  virtio-net TX notify                   ioeventfd  MMIO to user space
  interrupt injection (self-IPI + EOI)   ...

Usage: bench/exitcost.py [--n N] [--runs R] [--out FILE.md]  (root, KVM)
Each cell is the median of R runs (default 3).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

MONITOR = "build/vmm-monitor"
GUEST = "build/netguest.elf"
NS = f"vmmexit{os.getpid()}"
TAP = "xc0"
ROWS = [
    ("cpuid", "exit handled in KVM (CPUID)", "in the kernel", "in the kernel"),
    ("pio_user", "port I/O to user space (OUT to COM1 SCR)", "to the monitor", "to the monitor"),
    ("mmio_user", "MMIO to user space (read, unclaimed)", "to the monitor", "to the monitor"),
    ("pcnet_rap", "PCnet RAP write (OUT)", "coalesced PIO", "to the monitor"),
    ("vnet_notify", "virtio-net TX notify (MMIO write)", "ioeventfd", "to the monitor"),
    ("irq", "interrupt injection (self-IPI, handler, EOI)", "in the kernel", "in the kernel"),
]
LINE = re.compile(r"netguest: exitcost kind=(\w+) n=(\d+) cycles=(\d+) ns_per_op=([\d.]+)")


def sh(*argv, check=True):
    return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def run_guest(nic, opt, n):
    """One monitor run; {kind: ns_per_op}."""
    r = subprocess.run(["ip", "netns", "exec", NS, MONITOR, "--kernel", GUEST, "--stats", "none",
                        "--cmdline", f"exitcost n={n} nic={nic}",
                        "--nic", f"model={'virtio-net' if nic == 'virtio' else 'pcnet'},"
                                 f"tap={TAP},opt={opt}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if r.returncode != 0 or "result=pass" not in r.stdout:
        sys.exit(f"exitcost: nic={nic} opt={opt}: monitor exit {r.returncode}:\n{r.stdout[-2000:]}")
    return {m.group(1): float(m.group(4)) for m in LINE.finditer(r.stdout)}


def where():
    if os.environ.get("TESTHOST"):
        return (f"in the test host: nested KVM (kvm_amd) under QEMU TCG, inner kernel "
                f"{os.uname().release}; not hardware times")
    mods = sorted(m for m in os.listdir("/sys/module") if m.startswith("kvm_"))
    return f"directly on this machine's KVM ({','.join(mods) or '?'}), kernel {os.uname().release}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="instructions per kind and run")
    ap.add_argument("--runs", type=int, default=3, help="runs per cell (median)")
    ap.add_argument("--out", help="also write the table (Markdown) here")
    args = ap.parse_args()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        sys.exit("exitcost: /dev/kvm not accessible (make bench runs this in the test host "
                 "where there is none)")
    for f in (MONITOR, GUEST):
        if not os.path.exists(f):
            sys.exit(f"exitcost: {f} missing (run make)")
    sh("ip", "netns", "add", NS)
    try:
        sh("ip", "-n", NS, "tuntap", "add", "dev", TAP, "mode", "tap", "vnet_hdr")
        sh("ip", "-n", NS, "link", "set", TAP, "up")
        cells = {}  # (kind, opt) -> [ns]
        for _ in range(args.runs):
            for opt in ("all", "none"):
                for nic in ("pcnet", "virtio"):
                    for kind, ns in run_guest(nic, opt, args.n).items():
                        cells.setdefault((kind, opt), []).append(ns)
    finally:
        subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)

    def cell(kind, opt, how):
        v = cells.get((kind, opt))
        if not v:
            return "n/a"
        return f"{statistics.median(v):,.2f} ({min(v):,.2f}-{max(v):,.2f}), {how}"

    lines = [f"## What one exit costs ({where()})", "",
             f"netguest `exitcost` under vmm-monitor: ns per instruction, median (min-max) of "
             f"{args.runs} runs of {args.n}; each NIC row is that NIC's register with every "
             f"optimization (opt=all) and with none.", "",
             "| kind | opt=all | opt=none |", "|---|---|---|"]
    for kind, what, how_all, how_none in ROWS:
        lines.append(f"| {what} | {cell(kind, 'all', how_all)} | {cell(kind, 'none', how_none)} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

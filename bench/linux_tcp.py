#!/usr/bin/env python3
"""TCP throughput of a stock Linux guest: the VMware Workstation paper's
Table 3 (Sugerman et al., USENIX 2001) with an unmodified guest and its own
drivers (Debian's kernel: pcnet32, virtio_net), vmm-monitor at each
optimization step side by side with QEMU, same guest image, same tap.

Workload: one TCP connection, `iperf3 -c 198.51.100.1 -l 4096 -n SIZE` from
the guest (guest -> host), then the same with -R (host -> guest), against
`iperf3 -s` in a network namespace made here (tap bnt0, 198.51.100.1/24; the
guest is 198.51.100.2/24). One boot per system and run does both directions.
Guest: scripts/build-linux-guest.sh's bzImage + initramfs (build/linux),
256 MiB, 1 vCPU, driven by its command line (vmm.ip0, vmm.run).

Systems (rows):
  vmm pcnet opt=none, opt=coalesce, opt=coalesce+combine, opt=all  (Table 3 order)
  qemu pcnet          -M pc -accel kvm -cpu host -device pcnet, tap, vhost=off
  vmm virtio-net opt=all
  qemu virtio-net     -device virtio-net-pci,disable-legacy=on, tap, vhost=off
Figures per direction (median, min-max over the runs):
  Mb/s                iperf3's receiver figure
  guest idle          /proc/stat of the guest (idle+iowait), over the transfer
  CPU ms/MiB          utime+stime of the VM's process (all threads), bracketed
                      by the guest's "go"/"done" console lines, per MiB moved;
                      of it in guest mode (guest_time): the guest's own code
  exits/packet        vmm: its stats (control socket at "go" and "done"), every
                      exit to user space but COM1, by cause
  KVM exits/packet    every system: KVM's own per-VM counters (debugfs
                      kvm/PID-FD: exits, io_exits, mmio_exits, halt_exits, ...),
                      every exit from the guest, to user space or not
  NIC exits, IRQs     vmm: the NIC's register exits and interrupts (its stats);
                      every system: the NIC's lines of the guest's
                      /proc/interrupts
  packets             the guest's eth0 frames, rx + tx, over the transfer
                      (/proc/net/dev; a GSO/TSO frame counts once)
Ratios and the issue's targets side by side, each with the most it can be on
this machine (the first system's Mb/s had its VM process cost nothing but the
guest's own code, over the second's measured Mb/s); reports, never asserts.
A boot that stalls (not ready within --boot-timeout; once ready, no frame on
the tap and no console line for --stall-timeout) is tried again, --tries in
all; every failure is in the report.

usage: bench/linux_tcp.py [--quick] [--runs N] [--size 100M] [--systems REGEX]
                          [--out-dir DIR] [--name NAME] [--console-dir DIR]
                          [--kernel bzImage|vmlinux] [--guest-dir DIR] [--boot-log]
                          [--timeout S] [--boot-timeout S] [--stall-timeout S]
                          [--tries N] [--vm-cpu N] [--host-cpu N] [--nic-args K=V,...]
e.g. the PCnet rows only, one run of 8 MiB each way, in the test host:
  testhost/with-kvm --linux --timeout 1500 -- python3 bench/linux_tcp.py \\
      --runs 1 --size 8M --systems pcnet --out-dir build/ltcp
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import nic_host as host
from nic_host import (CHILDREN, MONITOR, STEPS, VM_TAP, Lines, System, control_stats, exit_causes,
                      finish, proc_times, start_vm, vm_pid)
from nic_report import machine, summarize

GUEST_DIR = "build/linux"
SERVER_IP = "198.51.100.1"   # the tap's side, nic_host.TAP_ADDRS
GUEST_IP = "198.51.100.2/24"
GUEST_MAC = "52:54:00:12:34:56"
IPERF_PORT = 5201
MEMORY_MIB, VCPUS = 256, 1
# tests/lib/linux_guest.sh's line, with testhost/guest-args in the test host
# (nopv: KVM's paravirt features lose wakeups under nested KVM there, QEMU's
# guest's too; the TSC's frequency, so that the guest keeps its clock on the
# TSC, not on the ACPI PM timer (ours) or the HPET (QEMU's), an exit each
# time), plus quiet (unless --boot-log): the boot log over a serial port exits
# per character, which is slow under nested KVM. Every row boots the same line.
BASE_CMDLINE = " ".join(["console=ttyS0 panic=-1 nokaslr mitigations=off init_on_alloc=0"]
                        + subprocess.run([os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "..", "testhost", "guest-args")],
                                         stdout=subprocess.PIPE,
                                         text=True).stdout.split())
QUICK_SYSTEMS = ("vmm pcnet opt=all", "vmm virtio-net opt=all", "qemu pcnet")
DIRECTIONS = {"tx": "guest -> host", "rx": "host -> guest (-R)"}
KVM_DEBUGFS = "/sys/kernel/debug/kvm"
CAUSE_KEYS = ("exits_by_cause", "kvm_exits_by_cause", "nic_counts_per_packet")
# KVM's per-VM exit counters (sums over the vCPUs), debugfs names
KVM_EXITS = ("io_exits", "mmio_exits", "halt_exits", "irq_exits", "irq_window_exits",
             "request_irq_exits", "signal_exits", "nmi_window_exits")
NIC_COUNTS = ("doorbells", "tx_runs", "tx_kick_polls", "tx_defer_entered", "rdp_coalesced",
              "rap_coalesced", "irq_injections", "tx_irq_deferred", "tx_irq_timer")
SUMMARY_KEYS = ["mbps", "sender_mbps", "guest_idle", "cpu_ms_per_mib", "guest_ms_per_mib",
                "guest_share", "vmm_free_mbps", "packets",
                "bytes_per_data_packet", "guest_irqs_per_packet", "exits_per_packet",
                "nic_exits_per_packet", "nic_irqs_per_packet", "kvm_exits_per_packet",
                "kvm_io_mmio_per_packet", "iperf_cpu_local", "iperf_cpu_remote", "window_s",
                "monitor_frames"]


class LinuxSystem(System):
    """A row: the stock Linux guest on vmm-monitor (NIC model, opt) or QEMU."""

    kernel = initrd = None  # the guest's files, set by main()
    nic_args = ""           # --nic-args: more keys of vmm-monitor's --nic

    def argv(self, cmdline, tmp, tap=VM_TAP, gmac=GUEST_MAC, qmp=False):
        if self.kind == "vmm":
            return [MONITOR, "--kernel", self.kernel, "--initrd", self.initrd,
                    "--cmdline", cmdline, "--memory", str(MEMORY_MIB), "--vcpus", str(VCPUS),
                    "--nic", f"model={self.model},tap={tap},mac={gmac},opt={self.opt}"
                    + (f",{self.nic_args}" if self.nic_args else ""),
                    "--stats", "none", "--stats-file", f"{tmp}/stats.json",
                    "--control", f"{tmp}/ctl.sock"]
        dev = "pcnet" if self.model == "pcnet" else "virtio-net-pci,disable-legacy=on"
        return ["qemu-system-x86_64", "-M", "pc", "-accel", "kvm", "-cpu", "host",
                "-m", str(MEMORY_MIB), "-smp", str(VCPUS), "-nodefaults", "-no-user-config",
                "-nographic", "-no-reboot", "-serial", "stdio",
                "-kernel", self.kernel, "-initrd", self.initrd, "-append", cmdline,
                "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
                "-device", f"{dev},romfile=,netdev=n0,mac={gmac}"]


def all_systems():
    s = [LinuxSystem(f"vmm pcnet opt={o}", "vmm", "pcnet", o) for o in STEPS]
    s.append(LinuxSystem("qemu pcnet", "qemu", "pcnet"))
    s.append(LinuxSystem("vmm virtio-net opt=all", "vmm", "virtio-net", "all"))
    s.append(LinuxSystem("qemu virtio-net", "qemu", "virtio-net"))
    return s


def guest_run(size):
    """vmm.run: per direction, the guest's counters into a file, "go" on the
    console (the host takes its own counters when it reads it), iperf3 into a
    file, the counters again, "done"; then the files on the console, as
    short as they can be: the console is slow (every character exits) and
    under nested KVM a long one sometimes stalls. Nothing reaches the console
    during a transfer but those two lines. No '"' or '%' (the command line's
    quoting)."""
    iperf = f"iperf3 -c {SERVER_IP} -p {IPERF_PORT} -l 4096 -n {size} -V -f m -i 0"
    return ("s(){ head -n1 /proc/stat; grep eth0: /proc/net/dev; "
            "grep -E 'eth0|virtio' /proc/interrupts; }; "
            "x(){ sleep 1; s >/tmp/$1.0; echo vmm-bench: go $1; "
            + iperf + " $2 >/tmp/$1.out 2>&1; r=$?; s >/tmp/$1.1; echo vmm-bench: done $1 rc=$r; "
            "[ $r = 0 ] && grep -E 'sender|receiver|CPU Util' /tmp/$1.out >/tmp/$1.res "
            "|| cp /tmp/$1.out /tmp/$1.res; }; "
            "echo vmm-bench: clocksource "
            "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource); "
            "x tx; x rx -R; sleep 1; "
            "for f in tx.0 tx.1 tx.res rx.0 rx.1 rx.res; do echo vmm-bench: file $f; cat /tmp/$f; done; "
            "echo vmm-bench: end")


def base_cmdline(args):
    return BASE_CMDLINE + ("" if args.boot_log else " quiet")


def kernel_cmdline(args):
    return f'{base_cmdline(args)} vmm.ip0={GUEST_IP} vmm.run="{guest_run(args.size)}"'


def size_bytes(size):
    """iperf3's -n: a number with K, M or G (powers of 1024)."""
    m = re.fullmatch(r"(\d+)([KMG]?)", size)
    if not m:
        raise ValueError(f"--size: a number with K, M or G (e.g. 100M), not {size!r}")
    return int(m.group(1)) * 1024 ** " KMG".index(m.group(2) or " ")


def kvm_stats(pid):
    """KVM's per-VM counters of the VM created by pid (debugfs kvm/PID-FD),
    or None where debugfs is not mounted."""
    try:
        dirs = [d for d in os.listdir(KVM_DEBUGFS) if d.startswith(f"{pid}-")]
    except OSError:
        return None
    if len(dirs) != 1:
        return None
    out = {}
    for name in ("exits",) + KVM_EXITS:
        try:
            out[name] = int(open(os.path.join(KVM_DEBUGFS, dirs[0], name)).read())
        except (OSError, ValueError):
            pass
    return out if "exits" in out else None


def host_snapshot(sysm, p, tmp):
    """The host's counters at a console marker: time, the VM process's CPU,
    the monitor's stats (vmm), KVM's counters."""
    vp = vm_pid(p.pid)
    cpu, guest = proc_times(vp) or (None, None)
    return {"t": time.monotonic(), "cpu": cpu, "guest": guest, "kvm": kvm_stats(vp),
            "stats": control_stats(f"{tmp}/ctl.sock") if sysm.kind == "vmm" else None}


def start_server(args, tmp):
    """iperf3 -s in the namespace, pinned to the host CPU; one per boot (a
    test cut short by a dead guest cannot block the next)."""
    log = open(f"{tmp}/server.log", "w+")
    p = subprocess.Popen(["ip", "netns", "exec", host.NS, "taskset", "-c", str(args.host_cpu),
                          "iperf3", "-s", "-B", SERVER_IP, "-p", str(IPERF_PORT), "-f", "m"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    CHILDREN.append(p)
    end = time.monotonic() + 20
    # its stdout is a file, so block-buffered: ask the socket table instead
    while not host.inns("ss", "-Hltn", f"sport = :{IPERF_PORT}").stdout.strip():
        if p.poll() is not None or time.monotonic() > end:
            raise RuntimeError(f"iperf3 -s: not listening on {SERVER_IP}:{IPERF_PORT} "
                               f"(exit {p.poll()}): " + open(f"{tmp}/server.log").read()[-300:])
        time.sleep(0.2)
    return p


def console_files(text):
    """The files the guest printed after "vmm-bench: file NAME", by name."""
    files, cur = {}, None
    for line in text:
        line = line.rstrip("\r")
        m = re.match(r"vmm-bench: (file (\S+)|end)$", line)
        if m:
            cur = m.group(2)
            files[cur] = []
        elif line.startswith("vmm-bench: "):
            cur = None
        elif cur:
            files[cur].append(line)
    files.pop(None, None)
    return files


def guest_counters(lines):
    """(cpu fields of /proc/stat, eth0's /proc/net/dev fields, the NIC's
    interrupts) from one of the guest's snapshots."""
    cpu = dev = None
    irqs = 0
    for line in lines:
        if line.startswith("cpu "):
            cpu = [int(x) for x in line.split()[1:9]]
        elif re.match(r"\s*eth0:", line):
            dev = [int(x) for x in line.split(":", 1)[1].split()]
        else:
            m = re.match(r"\s*\w+:((?:\s+\d+)+)\s+(.*)", line)
            if m and re.search(r"\beth0\b|virtio", m.group(2)):
                irqs += sum(int(x) for x in m.group(1).split())
    if cpu is None or dev is None:
        raise RuntimeError("a guest snapshot lacks /proc/stat or eth0: " + " | ".join(lines[:3]))
    return cpu, dev, irqs


UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def iperf_figures(lines):
    """Receiver and sender Mb/s and the CPU use of both ends from iperf3's
    text output (-V -f m)."""
    out = {}
    for line in lines:
        m = re.search(r"\]\s+[\d.]+-([\d.]+)\s+sec\s+[\d.]+ \w?Bytes\s+([\d.]+) (\w?)bits/sec"
                      r".*\b(sender|receiver)\s*$", line)
        if m:
            out[f"{m.group(4)}_mbps"] = float(m.group(2)) * UNITS[m.group(3)] / 1e6
            out[f"{m.group(4)}_seconds"] = float(m.group(1))
        m = re.search(r"CPU Utilization: local/\w+ ([\d.]+)%.*remote/\w+ ([\d.]+)%", line)
        if m:
            out["cpu_local"], out["cpu_remote"] = float(m.group(1)), float(m.group(2))
    if "receiver_mbps" not in out:
        raise RuntimeError("iperf3: no receiver line: " + " | ".join(lines[-4:]))
    return out


def guest_figures(h0, h1, nbytes, mbps):
    """The guest's own CPU time over the transfer (its one vCPU in guest
    mode), per MiB, and its share of the VM process's CPU time; and the Mb/s
    the rest bounds: had the VM process cost nothing but the guest's own code
    (every exit, KVM's side and the VMM's free), the bracket would have been
    shorter by that rest, and no device model can do better than that."""
    if None in (h0["guest"], h1["guest"], h0["cpu"], h1["cpu"]):
        return {}
    g, cpu, wall = h1["guest"] - h0["guest"], h1["cpu"] - h0["cpu"], h1["t"] - h0["t"]
    if g <= 0 or cpu <= 0:
        return {}
    left = max(wall - max(0.0, cpu - g), g)  # guest_time is raw ticks, cpu is not: never > wall
    return {"guest_ms_per_mib": g * 1e3 / (nbytes / 2**20), "guest_share": min(1.0, g / cpu),
            "vmm_free_mbps": mbps * wall / left}


def direction_figures(sysm, d, files, h0, h1, nbytes):
    """The figures of one direction of one boot."""
    (c0, v0, i0), (c1, v1, i1) = guest_counters(files[f"{d}.0"]), guest_counters(files[f"{d}.1"])
    ip = iperf_figures(files[f"{d}.res"])
    # /proc/net/dev: rx bytes, packets at 0, 1; tx bytes, packets at 8, 9
    rx, tx = v1[1] - v0[1], v1[9] - v0[9]
    pk = max(1, rx + tx)
    data_pk, data_b = (tx, v1[8] - v0[8]) if d == "tx" else (rx, v1[0] - v0[0])
    idle = (c1[3] + c1[4]) - (c0[3] + c0[4])
    mib = nbytes / 2**20
    out = {"mbps": ip["receiver_mbps"], "sender_mbps": ip.get("sender_mbps"),
           "seconds": ip["receiver_seconds"], "packets": pk, "packets_rx": rx, "packets_tx": tx,
           "bytes_per_data_packet": data_b / max(1, data_pk),
           "guest_idle": idle / max(1, sum(c1) - sum(c0)),
           "guest_irqs_per_packet": (i1 - i0) / pk,
           "cpu_ms_per_mib": (h1["cpu"] - h0["cpu"]) * 1e3 / mib
           if None not in (h0["cpu"], h1["cpu"]) else None,
           "window_s": h1["t"] - h0["t"],
           **guest_figures(h0, h1, nbytes, ip["receiver_mbps"]),
           "iperf_cpu_local": ip.get("cpu_local"), "iperf_cpu_remote": ip.get("cpu_remote")}
    k0, k1 = h0["kvm"], h1["kvm"]
    if k0 and k1:
        out["kvm_exits_per_packet"] = (k1["exits"] - k0["exits"]) / pk
        by = {k: (k1[k] - k0[k]) / pk for k in KVM_EXITS if k in k0 and k in k1}
        by["other (in-kernel)"] = out["kvm_exits_per_packet"] - sum(by.values())
        out["kvm_exits_by_cause"] = by
        out["kvm_io_mmio_per_packet"] = by.get("io_exits", 0) + by.get("mmio_exits", 0)
    s0, s1 = h0["stats"], h1["stats"]
    if s0 and s1:
        a, b = exit_causes(s0), exit_causes(s1)
        by = {k: (b[k] - a.get(k, 0)) / pk for k in b if b[k] - a.get(k, 0)}
        n0, n1 = s0["nics"][0], s1["nics"][0]
        out.update({"exits_per_packet": sum(by.values()), "exits_by_cause": by,
                    "nic_exits_per_packet": (n1["exits"]["total"] - n0["exits"]["total"]) / pk,
                    "nic_irqs_per_packet": (n1["interrupts"] - n0["interrupts"]) / pk,
                    "monitor_frames": sum(n1[x]["frames"] - n0[x]["frames"] for x in ("tx", "rx")),
                    # the NIC's own work per packet: doorbells (TDMD, notify),
                    # TX runs, deferral ticks, writes that waited in KVM's ring
                    "nic_counts_per_packet": {k: (n1[k] - n0[k]) / pk for k in NIC_COUNTS
                                              if isinstance(n1.get(k), int) and k in n0}})
    return out


def reap(pid, timeout=30):
    """Kill the VM's own process (a jailed vmm-monitor's child dies with the
    waiter finish() kills, but KVM may take seconds to tear the VM down) and
    wait until it is gone, so that the next boot finds the tap free."""
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            return
        if stat[stat.rindex(")") + 2] == "Z":  # dead, its parent not yet told
            return
        time.sleep(0.2)


def tap_frames(pid):
    """Frames through the tap so far (rx + tx), from /proc/PID/net/dev of a
    process inside the namespace (no subprocess inside a measurement)."""
    for line in open(f"/proc/{pid}/net/dev"):
        if line.strip().startswith(f"{VM_TAP}:"):
            f = line.split(":", 1)[1].split()
            return int(f[1]) + int(f[9])
    return 0


class Stalled(RuntimeError):
    pass


def boot(sysm, args, tmp, label="run1"):
    """One boot of the guest on sysm, both directions: {"tx": figures, "rx":
    figures, "clocksource": ...}, or RuntimeError with the console's tail.
    Stalled (a RuntimeError) when the guest is not ready within
    --boot-timeout, or then neither a frame crosses the tap nor a line comes
    on the console for --stall-timeout: under nested KVM a guest now and then waits for good on a
    wakeup that never comes (testhost/README.md), and the boot is tried
    again (--tries)."""
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    server = start_server(args, tmp)
    p = start_vm(sysm, kernel_cmdline(args), tmp, args.vm_cpu, gmac=GUEST_MAC)
    log = None
    if args.console_dir:
        slug = re.sub(r"[^\w.+=-]+", "_", sysm.name)
        log = open(os.path.join(args.console_dir, f"{slug}-{label}.log"), "w")
    lines = Lines(p, log)
    snaps, rcs, ended = {}, {}, False

    def tail():
        err = open(f"{tmp}/vm.err").read().strip().splitlines()
        return (" | ".join(x.rstrip("\r") for x in lines.text[-6:])
                + (f" || stderr: {' | '.join(err[-3:])}" if err else ""))

    def nic_state():
        """The monitor's NIC counters, for a stall's message."""
        if sysm.kind != "vmm":
            return ""
        try:
            n = control_stats(f"{tmp}/ctl.sock")["nics"][0]
        except (OSError, ValueError, KeyError, IndexError) as e:
            return f" (monitor stats: {e})"
        keys = ("interrupts", "irq_injections", "doorbells", "tx_runs", "tx_irq_deferred",
                "tx_irq_timer", "tx_defer_entered", "tx_kick_polls", "rdp_coalesced")
        return (f" (NIC: tx {n['tx']['frames']}, rx {n['rx']['frames']} frames, drops "
                f"{ {k: v for k, v in n['drops'].items() if v} }, "
                + ", ".join(f"{k} {n[k]}" for k in keys if k in n) + ")")

    def wait(what, pat, until, progress=True):
        """The console line matching pat; RuntimeError otherwise (Stalled:
        with progress, neither a frame on the tap nor a console line for
        --stall-timeout; or not before until, short of the deadline)."""
        seen, seen_t = (tap_frames(server.pid), len(lines.text)), time.monotonic()
        while True:
            line = lines.until(pat, min(until, time.monotonic() + 5))
            now = time.monotonic()
            if line:
                return line
            if lines.eof:
                when = f"exit {p.poll()}" if p.poll() is not None else "its output ended"
                raise RuntimeError(f"{sysm.name}: no '{what}' ({when}); console: {tail()}")
            if now >= until:
                raise (Stalled if until < deadline else RuntimeError)(
                    f"{sysm.name}: no '{what}' within {until - t0:.0f} s of the start; "
                    f"console: {tail()}")
            n = (tap_frames(server.pid), len(lines.text))
            if n != seen:
                seen, seen_t = n, now
            elif progress and now - seen_t > args.stall_timeout:
                raise Stalled(f"{sysm.name}: no frame on the tap and no console line for "
                              f"{now - seen_t:.0f} s before '{what}'{nic_state()}; "
                              f"console: {tail()}")
    vp = None
    try:
        wait("vmm-linux-guest: ready", r"^vmm-linux-guest: ready",
             min(deadline, t0 + args.boot_timeout), progress=False)
        vp = vm_pid(p.pid)
        for d in DIRECTIONS:
            for phase in ("go", "done"):
                line = wait(f"vmm-bench: {phase} {d}", rf"^vmm-bench: {phase} {d}\b", deadline)
                snaps[d, phase] = host_snapshot(sysm, p, tmp)
                if phase == "done":
                    rcs[d] = line.split("rc=")[-1].strip()
        wait("vmm-bench: end", r"^vmm-bench: end\s*$", deadline)
        ended = True
    finally:
        vp = vp or vm_pid(p.pid)
        finish(p, 60 if ended else 1)  # the guest powers off by itself
        if vp != p.pid:  # a jailed monitor's child (p itself is reaped by now)
            reap(vp)
        if log:
            log.close()
        server.kill()
        server.wait()
        CHILDREN.remove(server)
    files = console_files(lines.text)
    for d, rc in rcs.items():
        if rc != "0":
            raise RuntimeError(f"{sysm.name} {d}: iperf3 exit {rc}: "
                               + " | ".join(files.get(f"{d}.res", [])[-4:]))
    out = {d: direction_figures(sysm, d, files, snaps[d, "go"], snaps[d, "done"],
                                size_bytes(args.size)) for d in DIRECTIONS}
    cs = [x for x in lines.text if x.startswith("vmm-bench: clocksource")]
    out["clocksource"] = cs[0].split()[-1] if cs else "?"
    out["exit_status"] = p.returncode
    return out


def measure(systems, args, tmp):
    """Every run, systems interleaved inside each; (runs by system and
    direction, failures, clocksources)."""
    runs = {s.name: {d: [] for d in DIRECTIONS} for s in systems}
    failures, clock = [], {}
    for i in range(args.runs):
        for s in [x for x in systems if x.available]:
            for attempt in range(args.tries):
                t0 = time.monotonic()
                try:
                    r = boot(s, args, tmp, f"run{i + 1}-try{attempt + 1}")
                except (RuntimeError, OSError, KeyError, ValueError, IndexError,
                        subprocess.SubprocessError) as e:
                    print(f"  run {i + 1} try {attempt + 1}: {e}", file=sys.stderr)
                    failures.append({"system": s.name, "run": i + 1, "try": attempt + 1,
                                     "stalled": isinstance(e, Stalled), "error": str(e)[:600]})
                    continue
                for d in DIRECTIONS:
                    runs[s.name][d].append(r[d])
                clock[s.name] = r["clocksource"]
                print(f"  run {i + 1}/{args.runs} {s.name:24s} "
                      f"tx {r['tx']['mbps']:8.1f} Mb/s, rx {r['rx']['mbps']:8.1f} Mb/s "
                      f"(boot {time.monotonic() - t0:.0f} s)", file=sys.stderr)
                break
            if not runs[s.name]["tx"]:  # every try failed and none ever worked
                s.available = False
                s.why = (f"every boot failed ({args.tries} tries in run {i + 1}, later runs skip "
                         f"it); the last: {failures[-1]['error'][:240]}")
    return runs, failures, clock


def med(results, d, name, k="mbps"):
    c = results["directions"][d].get(name)
    if not c or not c["summary"] or k not in c["summary"]:
        return None
    return c["summary"][k]["median"]


# (label, numerator system, denominator system, goal as text, test)
RATIOS = [
    ("PCnet opt=all / opt=none", "vmm pcnet opt=all", "vmm pcnet opt=none", ">= 2", 2.0),
    ("vmm PCnet opt=all / QEMU pcnet", "vmm pcnet opt=all", "qemu pcnet", ">= 1.5", 1.5),
    ("vmm virtio-net / QEMU virtio-net", "vmm virtio-net opt=all", "qemu virtio-net", ">= 2", 2.0),
] + [(f"PCnet step {b} / {a}", f"vmm pcnet opt={b}", f"vmm pcnet opt={a}", ">= 1.0", 1.0)
     for a, b in zip(STEPS, STEPS[1:])] + [
    ("vmm virtio-net / vmm PCnet opt=all", "vmm virtio-net opt=all", "vmm pcnet opt=all", "-", None),
    ("QEMU virtio-net / QEMU pcnet", "qemu virtio-net", "qemu pcnet", "-", None)]
# (label, system, figure, goal as text, bound)
EXIT_TARGETS = [("exits/packet, vmm PCnet opt=all (pcnet32)", "vmm pcnet opt=all",
                 "exits_per_packet", "<= 1", 1.0),
                ("exits/packet, vmm virtio-net opt=all (virtio_net)", "vmm virtio-net opt=all",
                 "exits_per_packet", "<= 0.1", 0.1)]


def ratios_and_targets(results):
    rows = []
    for label, a, b, goal, bound in RATIOS:
        row = {"ratio": label, "goal": goal, "kind": "ratio"}
        for d in DIRECTIONS:
            x, y = med(results, d, a), med(results, d, b)
            row[d] = x / y if x and y else None
            g = med(results, d, a, "vmm_free_mbps")
            row[f"{d}_ceiling"] = g / y if g and y else None
            if bound is not None and row[d] is not None:
                row[f"{d}_met"] = row[d] >= bound
        rows.append(row)
    for label, name, k, goal, bound in EXIT_TARGETS:
        row = {"ratio": label, "goal": goal, "kind": "exits"}
        for d in DIRECTIONS:
            row[d] = med(results, d, name, k)
            if row[d] is not None:
                row[f"{d}_met"] = row[d] <= bound
        rows.append(row)
    return rows


def fmt(s, k, spec="{:.2f}"):
    if not s or k not in s:
        return "n/a"
    x = s[k]
    if s.get("runs", 1) > 1:
        return f"{spec.format(x['median'])} ({spec.format(x['min'])}-{spec.format(x['max'])})"
    return spec.format(x["median"])


def top(s, key, n=3):
    c = s.get(key)
    if not c:
        return "-"
    items = sorted(c.items(), key=lambda kv_: -kv_[1])[:n]
    return ", ".join(f"{k.split('.', 1)[-1]} {v:.2f}" for k, v in items if v >= 0.005) or "-"


def met_text(row):
    flags = [row.get(f"{d}_met") for d in DIRECTIONS]
    if "tx_met" not in row and "rx_met" not in row:
        return "n/a" if row["goal"] != "-" else ""
    if all(flags):
        return "yes"
    if not any(flags):
        return "**no**"
    return "**" + " only, ".join(d for d in DIRECTIONS if row.get(f"{d}_met")) + " only**"


def report(results):
    m, cfg, g = results["machine"], results["config"], results["guest"]
    L = [f"# TCP throughput of a stock Linux guest: vmm-monitor vs QEMU ({m['date']})", "",
         f"Measured {m['where']}.", "",
         f"Machine: {m['nproc']} CPUs ({m['cpu']}), kernel {m['kernel']}, KVM module "
         f"{m['kvm_module']}, {m['qemu'] or 'no QEMU'}. Guest: {g['version']}, "
         f"{g['kernel']} + initramfs (busybox, iperf3, the NIC modules), {MEMORY_MIB} MiB, "
         f"{VCPUS} vCPU, one NIC (eth0), kernel command line `{g['base_cmdline']} vmm.ip0={GUEST_IP} "
         f"vmm.run=...` for every system. Workload: one TCP connection, `iperf3 -c {SERVER_IP} "
         f"-l 4096 -n {cfg['size']}` from the guest (guest -> host), then with `-R` (host -> "
         f"guest), against `iperf3 -s` in a network namespace of the bench (tap {VM_TAP}, "
         f"vnet_hdr, {SERVER_IP}/24); one boot per system and run for both directions; "
         f"{cfg['runs']} run(s), systems interleaved, median (min-max over the runs). VM pinned to "
         f"CPU {cfg['vm_cpu']}, iperf3 -s and this script to CPU {cfg['host_cpu']}. "
         + (f"vmm rows' NICs also `{cfg['nic_args']}`. " if cfg.get("nic_args") else "") + "Took "
         f"{cfg['elapsed_s']:.0f} s. Made by bench/linux_tcp.py.", "",
         "Columns: Mb/s: iperf3's receiver figure. Guest idle: the guest's /proc/stat "
         "(idle+iowait) over the transfer. CPU ms/MiB: utime+stime of the VM's process (every "
         "thread; vmm-monitor's jailed child), bracketed by the guest's console lines just "
         "before and after the transfer (not the whole run), per MiB moved. In guest: the "
         "part of it in guest mode (guest_time of /proc/PID/stat: the vCPU running the "
         "guest's own code; the rest is exits, the VMM and the host kernel for it), and its share "
         "of the CPU time. Packets: the "
         "guest's eth0 frames, rx + tx (data and ACKs), over the transfer; a GSO/TSO frame "
         "of virtio_net counts once (B/data packet shows its size). Exits/packet (vmm): every "
         "exit to user space in the same bracket but COM1, from the monitor's stats, top causes. "
         "NIC exits / IRQs per packet (vmm): the NIC's register exits and interrupts, its "
         "stats. Guest IRQs/packet: the NIC's lines of the guest's /proc/interrupts (every "
         "system). KVM exits/packet: KVM's own per-VM counters (debugfs kvm/PID-FD), every "
         "exit from the guest, to user space or not, for every system; in brackets io_exits + "
         "mmio_exits as KVM counts them (io_exits: every port access that left the guest, "
         "also those KVM handles itself, e.g. a coalesced write; on pcnet nearly all the "
         "NIC's), then the top causes (\"other\": exits KVM counts under no reason of its "
         "own, e.g. MSR writes, nested page faults); n/a where debugfs is not mounted. So "
         "exits/packet is what reaches the monitor, KVM exits/packet what leaves the guest. "
         "The paper (Workstation 2.0, pcnet32): 12 I/O exits and 1 IRQ per packet.", ""]
    names = [s for s in results["systems"]]
    for d, title in DIRECTIONS.items():
        L += [f"## {title}", "",
              "| system | Mb/s | guest idle | CPU ms/MiB | in guest: ms/MiB, share of CPU | exits/packet (top causes) | NIC exits "
              "/ IRQs per packet | guest IRQs/packet | KVM exits/packet (io+mmio; top causes) "
              "| packets (B/data packet) |", "|---|---|---|---|---|---|---|---|---|---|"]
        for name in names:
            c = results["directions"][d].get(name)
            if not c or not c["summary"]:
                why = results["systems"][name]["why"] or "no successful run"
                L.append(f"| {name} | n/a ({why[:200]}) | | | | | | | | |")
                continue
            s = c["summary"]
            ex = (f"{fmt(s, 'exits_per_packet')} ({top(s, 'exits_by_cause')})"
                  if "exits_per_packet" in s else "n/a (QEMU: see KVM)")
            nic = (f"{fmt(s, 'nic_exits_per_packet')} / {fmt(s, 'nic_irqs_per_packet')}"
                   if "nic_exits_per_packet" in s else "n/a")
            kvm = (f"{fmt(s, 'kvm_exits_per_packet')} ({fmt(s, 'kvm_io_mmio_per_packet')}; "
                   f"{top(s, 'kvm_exits_by_cause')})" if "kvm_exits_per_packet" in s else "n/a")
            idle = fmt(s, "guest_idle", "{:.0%}")
            gt = (f"{s['guest_ms_per_mib']['median']:.1f}, {s['guest_share']['median']:.0%}"
                  if "guest_share" in s else "n/a")
            L.append(f"| {name} | {fmt(s, 'mbps', '{:.1f}')} | {idle} | "
                     f"{fmt(s, 'cpu_ms_per_mib', '{:.1f}')} | {gt} | {ex} | {nic} | "
                     f"{fmt(s, 'guest_irqs_per_packet')} | {kvm} | "
                     f"{s['packets']['median']:,.0f} ({s['bytes_per_data_packet']['median']:,.0f}) |")
        L.append("")
    L += ["## Ratios (Mb/s medians) and the targets", "",
          "| ratio or figure | guest -> host | host -> guest | target | met | most possible here "
          "(-> / <-) |", "|---|---|---|---|---|---|"]

    def r(v):
        return "n/a" if v is None else f"{v:.2f}"
    for row in results["ratios"]:
        ceil = (f"{r(row.get('tx_ceiling'))} / {r(row.get('rx_ceiling'))}"
                if row["kind"] == "ratio" else "")
        L.append(f"| {row['ratio']} | {r(row['tx'])} | {r(row['rx'])} | {row['goal']} | "
                 f"{met_text(row)} | {ceil} |")
    met = [row["ratio"] for row in results["ratios"] if met_text(row) == "yes"]
    missed = [f"{row['ratio']} ({met_text(row).strip('*')})" for row in results["ratios"]
              if met_text(row) not in ("yes", "", "n/a")]
    na = [row["ratio"] for row in results["ratios"] if met_text(row) == "n/a"]
    L += ["", "Most possible here: the first system's Mb/s had its VM process cost nothing "
          "but the guest's own code, over the second's measured Mb/s. That is its Mb/s times "
          "the bracket's wall time over the wall time less the VM process's CPU time outside "
          "guest mode (every exit, KVM's side and the VMM's, all free); the guest's own work, "
          "the host's side and the waiting stay. A ratio above it cannot be measured on this "
          "machine; where it is below the target, no device model could meet the target here.",
          "", "Met in both directions: " + ("; ".join(met) or "none") + ".",
          "Missed: " + ("; ".join(missed) or "none") + "."]
    if na:
        L.append("Not measured: " + "; ".join(na) + ".")
    L += ["", "Guest clocksource: " + ", ".join(
        f"{n}: {c}" for n, c in results["clocksource"].items()) + "."
          if results["clocksource"] else "", ""]
    if results["failures"]:
        L += ["Failed boots (left out of the medians):", ""]
        L += [f"- {f['system']} run {f['run']} try {f['try']}"
              f"{' (stalled)' if f['stalled'] else ''}: {f['error'][:300]}"
              for f in results["failures"]]
        L.append("")
    return "\n".join(L) + "\n"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"1 run of 4M each way, rows {', '.join(QUICK_SYSTEMS)}; a failed boot "
                         "is tried once more")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", default="100M", help="iperf3 -n, each direction (default 100M)")
    ap.add_argument("--systems", default=None, metavar="REGEX",
                    help="only the rows whose name matches (re.search), e.g. 'pcnet', "
                         "'opt=all|qemu'")
    ap.add_argument("--kernel", default="bzImage", choices=("bzImage", "vmlinux"),
                    help="the guest kernel file of --guest-dir (vmlinux: PVH entry)")
    ap.add_argument("--guest-dir", default=GUEST_DIR)
    ap.add_argument("--boot-log", action="store_true",
                    help="the kernel's boot messages on the console (no quiet): slower boots, "
                         "a console that shows where a boot stopped")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per boot, both transfers included (default 300 + 10 per "
                         "MiB of --size)")
    ap.add_argument("--boot-timeout", type=float, default=150.0,
                    help="seconds from the start to the guest's ready line before the boot "
                         "counts as stalled and is tried again (default 150)")
    ap.add_argument("--stall-timeout", type=float, default=60.0,
                    help="seconds without a frame on the tap or a console line, once the "
                         "guest is ready, before the boot counts as stalled (default 60)")
    ap.add_argument("--tries", type=int, default=3,
                    help="boots per row and run before it is given up (default 3)")
    ap.add_argument("--vm-cpu", type=int, default=None,
                    help="CPU of the VM's process (default 1; 0 in the test host)")
    ap.add_argument("--host-cpu", type=int, default=0,
                    help="CPU of iperf3 -s and this script (default 0)")
    ap.add_argument("--nic-args", default="", metavar="KEY=V,...",
                    help="more keys for vmm-monitor's --nic on every vmm row, e.g. "
                         "txkick_us=500 (the report names them)")
    ap.add_argument("--out-dir", default="bench/results")
    ap.add_argument("--console-dir", default=None, metavar="DIR",
                    help="write each boot's console to DIR/<system>-run<N>.log as it comes")
    ap.add_argument("--name", default="linux_tcp")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.size = 1, "4M"
        args.systems = args.systems or "^(" + "|".join(re.escape(s) for s in QUICK_SYSTEMS) + ")$"
    try:
        nbytes = size_bytes(args.size)
        pick = re.compile(args.systems) if args.systems else None
    except (ValueError, re.error) as e:
        ap.error(str(e))
    if args.timeout is None:
        args.timeout = 300.0 + 10 * nbytes / 2**20
    if args.vm_cpu is None:
        # In the test host (nested KVM under QEMU TCG) QEMU's guest stalled for
        # good in a sleep or a transfer with the VM on CPU 1 and iperf3 -s on
        # 0, never with both on CPU 0 (that was before nopv: see
        # testhost/README.md).
        args.vm_cpu = 0 if os.environ.get("TESTHOST") else host.default_vm_cpu()
    systems = [s for s in all_systems() if not pick or pick.search(s.name)]
    if not systems or args.runs < 1:
        ap.error(f"--systems {args.systems!r} matches no row" if not systems else "--runs >= 1")
    return args, systems


def cannot_run(args):
    """(message, exit status) when this host cannot run the bench, else None."""
    k, i = os.path.join(args.guest_dir, args.kernel), os.path.join(args.guest_dir,
                                                                    "initramfs.cpio.gz")
    for f, how in ((MONITOR, "make all"), (k, f"scripts/build-linux-guest.sh {args.guest_dir}"),
                   (i, f"scripts/build-linux-guest.sh {args.guest_dir}")):
        if not os.path.exists(f):
            return f"linux_tcp.py: {f} missing (run {how} first)", 2
    if os.geteuid() != 0:
        return "linux_tcp.py: needs root (network namespace, tap)", 77
    if subprocess.run(["which", "iperf3"], stdout=subprocess.DEVNULL).returncode:
        return "linux_tcp.py: iperf3 not installed on the host (scripts/install-deps.sh)", 77
    r = subprocess.run(["testhost/kvm-usable", "--linux"], stdout=subprocess.PIPE, text=True)
    if r.returncode:
        return (f"linux_tcp.py: {r.stdout.strip()}: run it in the test host, "
                f"`testhost/with-kvm --linux -- python3 bench/linux_tcp.py ...`", 77)
    return None


def main():
    args, systems = parse_args()
    t_start = time.monotonic()
    why = cannot_run(args)
    if why:
        print(why[0], file=sys.stderr)
        return why[1]
    LinuxSystem.kernel = os.path.join(args.guest_dir, args.kernel)
    LinuxSystem.initrd = os.path.join(args.guest_dir, "initramfs.cpio.gz")
    LinuxSystem.nic_args = args.nic_args
    if subprocess.run(["which", "qemu-system-x86_64"], stdout=subprocess.DEVNULL).returncode:
        for s in systems:
            if s.kind == "qemu":
                s.available, s.why = False, "qemu-system-x86_64 not installed"
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, host.on_signal)
    os.sched_setaffinity(0, {args.host_cpu})
    os.makedirs(args.out_dir, exist_ok=True)
    if args.console_dir:
        os.makedirs(args.console_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vmm-linux-tcp.")
    try:
        host.ns_setup(taps=(VM_TAP,))
        runs, failures, clock = measure(systems, args, tmp)
    finally:
        host.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - t_start
    version = open(os.path.join(args.guest_dir, "VERSION")).readline().strip()
    results = {
        "machine": machine(),
        "config": {"runs": args.runs, "size": args.size, "size_bytes": size_bytes(args.size),
                   "quick": args.quick, "systems": args.systems, "vm_cpu": args.vm_cpu,
                   "host_cpu": args.host_cpu, "timeout_s": args.timeout, "nic_args": args.nic_args,
                   "elapsed_s": round(elapsed, 1), "cpu_bracket": "transfer (console markers)",
                   "exits_bracket": "transfer (console markers, control socket)"},
        "guest": {"version": version, "kernel": args.kernel,
                  "cmdline": kernel_cmdline(args), "base_cmdline": base_cmdline(args), "memory_mib": MEMORY_MIB, "vcpus": VCPUS},
        "systems": {s.name: {"kind": s.kind, "model": s.model, "opt": s.opt,
                             "available": s.available and any(runs[s.name].values()),
                             "why": s.why or next((f["error"] for f in reversed(failures)
                                                   if f["system"] == s.name), "")}
                    for s in systems},
        "directions": {d: {s.name: {"summary": summarize(runs[s.name][d], SUMMARY_KEYS,
                                                               CAUSE_KEYS)
                                    if runs[s.name][d] else None, "runs": runs[s.name][d]}
                           for s in systems} for d in DIRECTIONS},
        "clocksource": clock, "failures": failures}
    results["ratios"] = ratios_and_targets(results)
    base = os.path.join(args.out_dir, args.name)
    json.dump(results, open(base + ".json", "w"), indent=1)
    md = report(results)
    open(base + ".md", "w").write(md)
    print(md)
    print(f"wrote {base}.md, {base}.json; took {elapsed:.0f} s ({elapsed / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        host.cleanup()

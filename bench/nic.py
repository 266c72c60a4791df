#!/usr/bin/env python3
"""NIC benchmark (issue 6): the paper's experiment on this host, vmm-monitor at
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
      second (same NIC model and opt; opt=none and opt=all); frames/s the rx
      guest counted, exits/frame on each side, drops from the switch's
      counters, the rx tap and the rx NIC. QEMU as the peer: n/a.
Figures per cell (median, min, max over the runs; runs interleaved):
  frames/s, Mb/s (frame bytes without FCS), exits/frame by cause (vmm: the
  monitor's control socket at "ready" and its --stats-file at exit; COM1 and
  debug-exit accesses excluded), NIC I/O per frame and IRQs per frame (the
  guest's own io_ops/irqs counters, same for every system), monitor CPU
  us/frame (/proc/PID/stat utime+stime over the window), host idle share
  (/proc/stat, both cores, over the window).
Every network setup lives in namespaces made here and removed on every exit
path (198.51.100.0/24). The VM process is pinned to --vm-cpu, the host-side
writer/reader and this script to --host-cpu (shared/notes/platform-ebpf.md
6.9).

usage: bench/nic.py [--quick] [--runs N] [--sizes 64,512,1514] [--out-dir DIR]
                    [--start-runs N] [--no-start-time]
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

MONITOR = "build/vmm-monitor"
GUEST = "build/netguest.elf"
NBFRAME = "build/nbframe"
NBCTL = "build/nbctl"
TSC_HZ = 2.6e9
GUEST_MAC = "52:54:00:ab:cd:ef"
HOST_MAC = "02:00:00:00:00:01"
VM_TAP = "bnt0"
NATIVE_TAP = "bnn0"
STEPS = ["none", "coalesce", "coalesce+combine", "all"]
# guest <-> guest through netbridge: two VM ports of one switch
GG_TX_TAP, GG_RX_TAP = "bng0", "bng1"
GG_TX_MAC, GG_RX_MAC = "52:54:00:00:00:0a", "52:54:00:00:00:0b"
GG_OPTS = ["none", "all"]
NB_RT = None      # netbridge runtime of this run (pins under /sys/fs/bpf/NB_RT)
NB_WHY = ""       # why guest <-> guest cannot run here
NB_MODE = "?"     # attach mode of the VM ports (nbctl ports)
CLK_TCK = os.sysconf("SC_CLK_TCK")
CHILDREN = []
NS = None


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def inns(*argv):
    return sh("ip", "netns", "exec", NS, *argv)


def ns_setup():
    global NS
    NS = f"vmmbench{os.getpid()}"
    sh("ip", "netns", "add", NS)
    inns("ip", "link", "set", "lo", "up")
    for i, tap in enumerate((VM_TAP, NATIVE_TAP)):
        inns("ip", "tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr")
        inns("sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1")
        inns("ip", "link", "set", tap, "address", HOST_MAC if i == 0 else "02:00:00:00:00:02")
        inns("ip", "addr", "add", f"198.51.100.{1 + 100 * i}/24", "dev", tap)
        inns("ip", "link", "set", tap, "up")


def nbctl(*argv, check=True):
    # nsenter, not `ip netns exec`: the latter remounts /sys, hiding bpffs pins
    return sh("nsenter", f"--net=/var/run/netns/{NS}", NBCTL, "-r", NB_RT, *argv, check=check)


def nb_setup():
    """A netbridge switch of this run's own runtime, with two VM ports (taps
    created by netbridge); "" or why it cannot be made."""
    global NB_RT
    if not os.path.exists(NBCTL):
        return f"{NBCTL} missing"
    if not shutil.which("nsenter"):
        return "nsenter not installed"
    NB_RT = f"vmmbench{os.getpid()}"
    try:
        nbctl("switch", "add", "gg")
        for tap, mac in ((GG_TX_TAP, GG_TX_MAC), (GG_RX_TAP, GG_RX_MAC)):
            nbctl("port", "add", "gg", tap, mac)
            inns("sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1")
            inns("ip", "link", "set", tap, "up")
        global NB_MODE
        m = re.search(r"attach=(\S+)", nbctl("ports", "gg").stdout)
        NB_MODE = m.group(1) if m else "?"
    except subprocess.CalledProcessError as e:
        return f"netbridge: {' '.join(e.cmd[3:])}: {(e.stderr or '').strip()[-160:]}"
    return ""


def nb_cleanup():
    global NB_RT
    if NB_RT and NS:
        subprocess.run(["nsenter", f"--net=/var/run/netns/{NS}", NBCTL, "-r", NB_RT,
                        "destroy-all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if NB_RT:
        shutil.rmtree(f"/sys/fs/bpf/{NB_RT}", ignore_errors=True)
    NB_RT = None


def nb_stats(port):
    out = {}
    for line in nbctl("stats", port).stdout.splitlines():
        k, v = line.split()
        out[k] = int(v)
    return out


def cleanup():
    for p in CHILDREN:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass
    CHILDREN.clear()
    nb_cleanup()
    if NS:
        subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)


def on_signal(sig, _frame):
    raise SystemExit(128 + sig)


def counter(tap, name):
    return int(inns("cat", f"/sys/class/net/{tap}/statistics/{name}").stdout)


def proc_cpu(pid):
    """utime+stime of a process, all threads including those that have
    already ended (a vCPU thread is joined right after the result line, so
    per-thread schedstat would lose it), seconds; 10 ms ticks."""
    try:
        f = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    rest = f[f.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def host_cpu():
    """(idle, total) jiffies over all CPUs."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return v[3] + v[4], sum(v[:8])


def control_stats(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(b'{"id":1,"method":"stats"}\n')
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(65536)
        if not c:
            break
        buf += c
    s.close()
    return json.loads(buf)["result"]


def exit_causes(st):
    """Exit counts by cause: NIC registers by name, other regions, and KVM
    exit reasons other than io/mmio (hlt, ...)."""
    causes = {}
    for nic in st.get("nics", []):
        for k, v in nic["exits"].items():
            if k != "total":
                causes[f"{nic['name']}.{k}"] = causes.get(f"{nic['name']}.{k}", 0) + v
    nicnames = {n["name"] for n in st.get("nics", [])}
    for r in st.get("regions", []):
        if r["name"] in nicnames or r["name"] in ("com1", "debug-exit"):
            continue
        n = r["reads"] + r["writes"]
        if n:
            causes[r["name"]] = n
    for reason, v in st["exits"]["by_reason"].items():
        if reason not in ("io", "mmio"):
            causes[reason] = v["count"]
    return causes


def kv(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


class System:
    def __init__(self, name, kind, model, opt=None):
        self.name, self.kind, self.model, self.opt = name, kind, model, opt
        self.available, self.why = True, ""

    def argv(self, cmdline, tmp, tap=VM_TAP, gmac=GUEST_MAC):
        if self.kind == "vmm":
            mac = f",mac={gmac}"
            return [MONITOR, "--kernel", GUEST, "--cmdline", cmdline, "--memory", "64",
                    "--nic", f"model={self.model},tap={tap}{mac},opt={self.opt}",
                    "--stats", "none", "--stats-file", f"{tmp}/stats.json",
                    "--control", f"{tmp}/ctl.sock"]
        dev = ("pcnet,romfile=" if self.model == "pcnet"
               else "virtio-net-pci,disable-legacy=on,romfile=")
        return ["qemu-system-x86_64", "-M", "pc", "-accel", "kvm", "-m", "64", "-nodefaults",
                "-no-user-config", "-nographic", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-kernel", GUEST, "-append", cmdline,
                "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
                "-device", f"{dev},netdev=n0,mac={gmac}"]


def start_vm(sysm, cmdline, tmp, cpu, tap=VM_TAP, gmac=GUEST_MAC):
    for f in ("stats.json", "ctl.sock"):
        try:
            os.unlink(f"{tmp}/{f}")
        except FileNotFoundError:
            pass
    err = open(f"{tmp}/vm.err", "w")
    p = subprocess.Popen(["ip", "netns", "exec", NS, "taskset", "-c", str(cpu),
                          *sysm.argv(cmdline, tmp, tap, gmac)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=err, text=True, errors="replace")
    CHILDREN.append(p)
    return p


class Lines:
    """Lines of a child's stdout, read from the raw fd (no hidden buffering,
    so select() never misses a line that already arrived)."""

    def __init__(self, p):
        self.p, self.fd, self.buf, self.eof = p, p.stdout.fileno(), b"", False
        self.text = []

    def until(self, pat, deadline):
        """The first line matching pat, or None at EOF or the deadline."""
        import select
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.decode(errors="replace")
                self.text.append(line)
                if re.search(pat, line):
                    return line
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
                self.buf += b"\n"
            self.buf += chunk


def finish(p, timeout=20):
    """Wait for a VM to exit by itself; kill it after timeout seconds."""
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.stdout.close()
    if p in CHILDREN:
        CHILDREN.remove(p)


def vm_cell(sysm, direction, size, count, args, tmp):
    """One run of one VM system: returns the figures (dict) or raises."""
    deadline = time.monotonic() + args.timeout
    if direction == "tx":
        cmd = f"tx count={count} size={size} dst={HOST_MAC}"
    else:
        cmd = f"rx count={count} time={int(args.timeout) - 5}"
    before_tap = counter(VM_TAP, "rx_packets")
    p = start_vm(sysm, cmd, tmp, args.vm_cpu)
    out_lines = Lines(p)
    flood = line = None
    try:
        if not out_lines.until(rf"mode={direction} ready", deadline):
            raise RuntimeError(f"{sysm.name} {direction}: no ready line: "
                               + open(f"{tmp}/vm.err").read()[-300:])
        if direction == "tx":  # the guest starts sending right after this line
            t0, c0, h0 = time.monotonic(), proc_cpu(p.pid), host_cpu()
        st0 = control_stats(f"{tmp}/ctl.sock") if sysm.kind == "vmm" else None
        if direction == "rx":
            flood = subprocess.Popen(["taskset", "-c", str(args.host_cpu), NBFRAME,
                                      f"pkt:{VM_TAP}@{NS}", "--", "flood", VM_TAP, GUEST_MAC,
                                      HOST_MAC, str(int(args.timeout * 1000)), str(size)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            CHILDREN.append(flood)
            t0, c0, h0 = time.monotonic(), proc_cpu(p.pid), host_cpu()
        line = out_lines.until(rf"mode={direction} result=", deadline)
        t1, c1, h1 = time.monotonic(), proc_cpu(p.pid), host_cpu()
        if not line:
            raise RuntimeError(f"{sysm.name} {direction}: no result line; last output: "
                               + " | ".join(out_lines.text[-2:]))
    finally:
        if flood:
            flood.kill()
            flood.wait()
            CHILDREN.remove(flood)
        finish(p, 20 if line else 1)
    res = kv(line)
    el = t1 - t0
    if direction == "tx":
        frames = counter(VM_TAP, "rx_packets") - before_tap
        if res.get("result") != "pass" or frames != count:
            raise RuntimeError(f"{sysm.name} tx: {line.strip()} tap saw {frames}")
    else:
        frames = int(res["rx_frames"])
        if frames == 0:
            raise RuntimeError(f"{sysm.name} rx: nothing received: {line.strip()}")
    out = {"frames": frames, "seconds": el, "fps": frames / el,
           "mbps": frames * size * 8 / el / 1e6,
           "guest_cycles": int(res.get("cycles", 0)),
           "nic_io_per_frame": int(res["io_ops"]) / frames,
           "irqs_per_frame": int(res["irqs"]) / frames,
           "cpu_us_per_frame": (c1 - c0) * 1e6 / frames if c0 is not None and c1 is not None
           else None,
           "host_idle": (h1[0] - h0[0]) / max(1, h1[1] - h0[1])}
    if st0 is not None:
        st1 = json.load(open(f"{tmp}/stats.json"))
        n0, n1 = st0["nics"][0], st1["nics"][0]
        nf = (n1[direction]["frames"] - n0[direction]["frames"]) or 1
        a, b = exit_causes(st0), exit_causes(st1)
        by = {k: (b[k] - a.get(k, 0)) / nf for k in b if b[k] - a.get(k, 0)}
        out["exits_per_frame"] = sum(by.values())
        # where the vCPU's time goes, per frame: inside KVM_RUN (guest code,
        # and on kvm_pvm its emulated CPL0 instructions) vs handling exits
        out["kvm_run_us_per_frame"] = (st1["exits"]["run_ns"] - st0["exits"]["run_ns"]) / nf / 1e3
        out["exit_handling_us_per_frame"] = sum(
            v["ns"] - st0["exits"]["by_reason"].get(k, {"ns": 0})["ns"]
            for k, v in st1["exits"]["by_reason"].items()) / nf / 1e3
        out["exits_by_cause"] = by
        out["nic_interrupts_per_frame"] = (n1["interrupts"] - n0["interrupts"]) / nf
        if "rap_coalesced" in n1:
            out["rap_coalesced_per_frame"] = (n1["rap_coalesced"] - n0["rap_coalesced"]) / nf
        out["doorbells_per_frame"] = (n1.get("doorbells", 0) - n0.get("doorbells", 0)) / nf
        out["drops"] = {k: n1["drops"][k] - n0["drops"][k] for k in n1["drops"]}
        if "tx_batches" in n1:  # frames per TX pass (send combining at work?)
            out["tx_batches"] = {k: v - n0["tx_batches"].get(k, 0)
                                 for k, v in n1["tx_batches"].items()}
    return out


def native_cell(direction, size, args, tmp):
    ms = args.native_ms
    if direction == "tx":
        before = counter(NATIVE_TAP, "rx_packets")
        argv = ["taskset", "-c", str(args.vm_cpu), NBFRAME, f"tap:{NATIVE_TAP}@{NS}", "--",
                "flood", NATIVE_TAP, HOST_MAC, "02:00:00:00:00:03", str(ms), str(size)]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        CHILDREN.append(p)
        h0 = host_cpu()
        _, status, ru = os.wait4(p.pid, 0)
        h1 = host_cpu()
        CHILDREN.remove(p)
        p.returncode = 0
        out = p.stdout.read()
        m = re.search(r"sent=(\d+)", out)
        if os.waitstatus_to_exitcode(status) != 0 or not m:
            raise RuntimeError(f"native tx: {out} {p.stderr.read()}")
        frames = counter(NATIVE_TAP, "rx_packets") - before
    else:
        fl = subprocess.Popen(["taskset", "-c", str(args.host_cpu), NBFRAME,
                               f"pkt:{NATIVE_TAP}@{NS}", "--", "flood", NATIVE_TAP, "02:00:00:00:00:03",
                               HOST_MAC, str(ms + 4000), str(size)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        CHILDREN.append(fl)
        p = subprocess.Popen(["taskset", "-c", str(args.vm_cpu), NBFRAME, f"tap:{NATIVE_TAP}@{NS}",
                              "--", "wait", str(ms), "--", "report"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        CHILDREN.append(p)
        h0 = host_cpu()
        _, status, ru = os.wait4(p.pid, 0)
        h1 = host_cpu()
        CHILDREN.remove(p)
        p.returncode = 0
        fl.kill()
        fl.wait()
        CHILDREN.remove(fl)
        out = p.stdout.read()
        m = re.search(rf"{NATIVE_TAP} rx=(\d+)", out)
        if os.waitstatus_to_exitcode(status) != 0 or not m:
            raise RuntimeError(f"native rx: {out} {p.stderr.read()}")
        frames = int(m.group(1))
    el = ms / 1000.0
    if frames == 0:
        raise RuntimeError(f"native {direction}: no frames")
    return {"frames": frames, "seconds": el, "fps": frames / el,
            "mbps": frames * size * 8 / el / 1e6,
            "cpu_us_per_frame": (ru.ru_utime + ru.ru_stime) * 1e6 / frames,
            "host_idle": (h1[0] - h0[0]) / max(1, h1[1] - h0[1])}


def monitor_delta(st0, st1, direction):
    """Exits/IRQs per NIC frame moved in `direction` between two monitor
    stats snapshots (COM1/debug-exit left out, as in vm_cell)."""
    n0, n1 = st0["nics"][0], st1["nics"][0]
    nf = (n1[direction]["frames"] - n0[direction]["frames"]) or 1
    a, b = exit_causes(st0), exit_causes(st1)
    by = {k: (b[k] - a.get(k, 0)) / nf for k in b if b[k] - a.get(k, 0)}
    return {"exits_per_frame": sum(by.values()), "exits_by_cause": by,
            "nic_interrupts_per_frame": (n1["interrupts"] - n0["interrupts"]) / nf,
            "nic_drops": {k: n1["drops"][k] - n0["drops"][k] for k in n1["drops"]}}


def gg_cell(sysm, size, count, args, tmp):
    """guest <-> guest through netbridge: a netguest rx VM on one switch port
    (pinned to --host-cpu), a netguest tx VM sending `count` frames to its MAC
    on the other (pinned to --vm-cpu). frames/s = frames the rx guest counted
    / (tx ready -> rx result; when frames were lost the rx guest is stopped
    1 s after the tx result and the window ends at the tx result)."""
    deadline = time.monotonic() + args.timeout
    dt, dr = os.path.join(tmp, "ggtx"), os.path.join(tmp, "ggrx")
    for d in (dt, dr):
        os.makedirs(d, exist_ok=True)
    sw0 = {p: nb_stats(p) for p in (GG_TX_TAP, GG_RX_TAP)}
    tapdrop0 = counter(GG_RX_TAP, "tx_dropped")
    prx = start_vm(sysm, f"rx count={count} time={int(args.timeout) - 5}", dr, args.host_cpu,
                   GG_RX_TAP, GG_RX_MAC)
    lrx = Lines(prx)
    ptx = lx = rline = tline = None
    stopped = False
    try:
        if not lrx.until(r"mode=rx ready", deadline):
            raise RuntimeError(f"{sysm.name} gg: rx VM: no ready line: "
                               + open(f"{dr}/vm.err").read()[-300:])
        srx0 = control_stats(f"{dr}/ctl.sock")
        ptx = start_vm(sysm, f"tx count={count} size={size} dst={GG_RX_MAC}", dt, args.vm_cpu,
                       GG_TX_TAP, GG_TX_MAC)
        lx = Lines(ptx)
        if not lx.until(r"mode=tx ready", deadline):
            raise RuntimeError(f"{sysm.name} gg: tx VM: no ready line: "
                               + open(f"{dt}/vm.err").read()[-300:])
        t0, h0 = time.monotonic(), host_cpu()
        ct0, cr0 = proc_cpu(ptx.pid), proc_cpu(prx.pid)
        stx0 = control_stats(f"{dt}/ctl.sock")
        tline = lx.until(r"mode=tx result=", deadline)
        ttx = time.monotonic()
        ct1 = proc_cpu(ptx.pid)
        if not tline:
            raise RuntimeError(f"{sysm.name} gg: tx VM: no result line; last output: "
                               + " | ".join(lx.text[-2:]))
        rline = lrx.until(r"mode=rx result=", min(deadline, ttx + 1.0))
        t1, cr1, h1 = time.monotonic(), proc_cpu(prx.pid), host_cpu()
        if not rline:  # frames lost: stop the rx guest, it prints its counts
            stopped = True
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(f"{dr}/ctl.sock")
            s.sendall(b'{"id":1,"method":"stop","params":{"timeout_ms":5000}}\n')
            rline = lrx.until(r"mode=rx result=", time.monotonic() + 10)
            s.close()
            t1 = ttx
            if not rline:
                raise RuntimeError(f"{sysm.name} gg: rx VM: no result line after stop")
    finally:
        if ptx:
            finish(ptx, 20 if tline else 1)
        finish(prx, 20 if rline else 1)
    sw1 = {p: nb_stats(p) for p in (GG_TX_TAP, GG_RX_TAP)}
    rt, rr = kv(tline), kv(rline)
    if rt.get("result") != "pass":
        raise RuntimeError(f"{sysm.name} gg: tx: {tline.strip()}")
    frames = int(rr["rx_frames"])
    if frames == 0:
        raise RuntimeError(f"{sysm.name} gg: nothing received: {rline.strip()}")
    el = t1 - t0
    sw_drops = {}
    for p in sw1:
        for k, v in sw1[p].items():
            if k.startswith("drop_") and v - sw0[p][k]:
                sw_drops[f"{p}.{k[5:]}"] = v - sw0[p][k]
    out = {"frames": frames, "sent": count, "seconds": el, "rx_stopped": stopped,
           "fps": frames / el, "mbps": frames * size * 8 / el / 1e6,
           "tx_fps": count / max(1e-9, ttx - t0),
           "lost_frames": count - frames,
           "switch_forwarded": sw1[GG_RX_TAP]["rx_frames"] - sw0[GG_RX_TAP]["rx_frames"],
           "switch_drops": sum(sw_drops.values()), "switch_drops_by_cause": sw_drops,
           "tap_drops": counter(GG_RX_TAP, "tx_dropped") - tapdrop0,
           "irqs_per_frame_tx": int(rt["irqs"]) / count,
           "irqs_per_frame_rx": int(rr["irqs"]) / frames,
           "cpu_us_per_frame_tx": (ct1 - ct0) * 1e6 / count if None not in (ct0, ct1) else None,
           "cpu_us_per_frame_rx": (cr1 - cr0) * 1e6 / frames if None not in (cr0, cr1)
           else None,
           "host_idle": (h1[0] - h0[0]) / max(1, h1[1] - h0[1])}
    for side, d, st0 in (("tx", dt, stx0), ("rx", dr, srx0)):
        m = monitor_delta(st0, json.load(open(f"{d}/stats.json")), side)
        out[f"exits_per_frame_{side}"] = m["exits_per_frame"]
        out[f"exits_by_cause_{side}"] = m["exits_by_cause"]
        out[f"nic_drops_{side}"] = m["nic_drops"]
    out["rx_nic_drops"] = sum(out["nic_drops_rx"].values())
    return out


def probe(sysm, tmp, args):
    """Can this system run netguest tx on its NIC at all? (short run)"""
    if sysm.kind == "qemu" and not shutil.which("qemu-system-x86_64"):
        return "qemu-system-x86_64 not installed"
    p = start_vm(sysm, f"tx count=10 size=64 dst={HOST_MAC}", tmp, args.vm_cpu)
    line = Lines(p).until(r"result=", time.monotonic() + 40)
    finish(p, 5)
    if line and "mode=tx result=pass" in line:
        return ""
    err = open(f"{tmp}/vm.err").read().strip().splitlines()
    return (line.strip() if line else (err[-1] if err else "no result line"))[:160]


SUMMARY_KEYS = ["fps", "mbps", "exits_per_frame", "nic_io_per_frame", "irqs_per_frame",
                "nic_interrupts_per_frame", "cpu_us_per_frame", "host_idle",
                "kvm_run_us_per_frame", "exit_handling_us_per_frame", "doorbells_per_frame",
                # guest <-> guest
                "tx_fps", "lost_frames", "switch_forwarded", "switch_drops", "tap_drops",
                "rx_nic_drops", "exits_per_frame_tx", "exits_per_frame_rx", "irqs_per_frame_tx",
                "irqs_per_frame_rx", "cpu_us_per_frame_tx", "cpu_us_per_frame_rx"]


def summarize(runs):
    s = {}
    for k in SUMMARY_KEYS:
        xs = [r[k] for r in runs if r.get(k) is not None]
        if xs:
            s[k] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}
    for key in ("exits_by_cause", "exits_by_cause_tx", "exits_by_cause_rx"):
        causes = {}
        for r in runs:
            for c, v in r.get(key, {}).items():
                causes.setdefault(c, []).append(v)
        if causes:
            s[key] = {c: statistics.median(v + [0] * (len(runs) - len(v)))
                      for c, v in causes.items()}
    s["runs"] = len(runs)
    return s


def fmt(x, k):
    if x is None:
        return "n/a"
    m = x["median"]
    if k == "fps":
        return f"{m:,.0f} ({x['min']:,.0f}-{x['max']:,.0f})"
    if k == "n":
        return f"{m:.0f}"
    if k == "host_idle":
        return f"{m * 100:.0f}%"
    if k == "mbps":
        return f"{m:.2f}" if m < 10 else f"{m:.0f}"
    return f"{m:.2f}"


def top_causes(s, n=3, key="exits_by_cause"):
    c = s.get(key)
    if not c:
        return ""
    items = sorted(c.items(), key=lambda kv_: -kv_[1])[:n]
    return ", ".join(f"{k.split('.', 1)[-1]} {v:.2f}" for k, v in items if v >= 0.005) or "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 run, sizes 64 and 1514, few frames")
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
    args = ap.parse_args()
    if args.quick:
        args.runs, args.sizes, args.count, args.native_ms = 1, "64,1514", 500, 300
        args.gg_sizes = args.gg_sizes or "64"
        args.timeout = min(args.timeout, 30.0)
        args.start_runs = min(args.start_runs, 2)
    sizes = [int(x) for x in args.sizes.split(",")]
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
    native = System("native (tap writer/reader)", "native", "tap")
    results = {"directions": {}, "systems": {}}
    start_md = ""
    global NB_WHY
    gg_qemu_why = ("not measured: QEMU as the peer of guest <-> guest is optional in issue 6 "
                   "and left out (its tap backend would take a netbridge port the same way)")
    try:
        ns_setup()
        NB_WHY = nb_setup()
        if NB_WHY:
            print(f"  guest <-> guest: n/a ({NB_WHY})", file=sys.stderr)
        for s in systems:
            why = probe(s, tmp, args)
            if why:
                s.available, s.why = False, why
                print(f"  {s.name}: n/a ({why})", file=sys.stderr)
        gg_systems = [s for s in systems if s.kind == "vmm" and s.opt in GG_OPTS]
        runsets, failures = {}, []
        results["failures"] = failures
        for run in range(args.runs):
            for direction in ("tx", "rx"):
                for size in sizes:
                    for s in [x for x in systems if x.available] + [native]:
                        key = (s.name, direction, size)
                        try:
                            r = (native_cell(direction, size, args, tmp) if s.kind == "native"
                                 else vm_cell(s, direction, size, args.count, args, tmp))
                        except RuntimeError as e:
                            print(f"  run {run + 1}: {e}", file=sys.stderr)
                            failures.append({"system": s.name, "direction": direction,
                                             "size": size, "run": run + 1, "error": str(e)})
                            runsets.setdefault(key, [])
                            continue
                        runsets.setdefault(key, []).append(r)
                        print(f"  run {run + 1}/{args.runs} {direction} {size:5d} B "
                              f"{s.name:32s} {r['fps']:12,.0f} frames/s", file=sys.stderr)
            for size in gg_sizes if not NB_WHY else []:
                for s in [x for x in gg_systems if x.available]:
                    key = (s.name, "gg", size)
                    try:
                        r = gg_cell(s, size, args.count, args, tmp)
                    except (RuntimeError, OSError, KeyError, ValueError,
                            subprocess.CalledProcessError) as e:
                        print(f"  run {run + 1}: {e}", file=sys.stderr)
                        failures.append({"system": s.name, "direction": "gg", "size": size,
                                         "run": run + 1, "error": str(e)})
                        runsets.setdefault(key, [])
                        continue
                    runsets.setdefault(key, []).append(r)
                    print(f"  run {run + 1}/{args.runs} gg {size:5d} B {s.name:32s} "
                          f"{r['fps']:12,.0f} frames/s received, lost {r['lost_frames']}, "
                          f"switch drops {r['switch_drops']}", file=sys.stderr)
        for s in systems + [native]:
            results["systems"][s.name] = {"kind": s.kind, "model": s.model, "opt": s.opt,
                                          "available": s.available, "why": s.why}
        for (name, d, size), runs in runsets.items():
            results["directions"].setdefault(d, {}).setdefault(str(size), {})[name] = {
                "summary": summarize(runs) if runs else None, "runs": runs}
        results["guest_guest"] = {
            "available": not NB_WHY, "why": NB_WHY, "sizes": gg_sizes,
            "systems": [s.name for s in gg_systems if s.available],
            "not_available": {s.name: s.why for s in gg_systems if not s.available},
            "qemu": "n/a", "qemu_why": gg_qemu_why,
            "setup": f"netbridge switch of runtime vmmbench<PID> in the bench namespace, VM "
                     f"ports {GG_TX_TAP} ({GG_TX_MAC}, tx VM, CPU {args.vm_cpu}) and "
                     f"{GG_RX_TAP} ({GG_RX_MAC}, rx VM, CPU {args.host_cpu}), attach mode "
                     f"{NB_MODE}"}
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
                         "elapsed_s": round(elapsed, 1)}
    results["ratios"] = ratios(results, sizes, systems, native)
    results["targets"] = targets(results, sizes)
    base = os.path.join(args.out_dir, args.name)
    json.dump(results, open(base + ".json", "w"), indent=1)
    md = report(results, sizes, systems, native, start_md)
    open(base + ".md", "w").write(md)
    plot(results, sizes, systems, native, base + ".png", tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    print(md)
    print(f"wrote {base}.md, {base}.json, {base}.png; took {elapsed:.0f} s "
          f"({elapsed / 60:.1f} min)")
    return 0


def machine():
    kvm = sorted(m for m in os.listdir("/sys/module") if m.startswith("kvm_"))
    qv = ""
    if shutil.which("qemu-system-x86_64"):
        qv = sh("qemu-system-x86_64", "--version").stdout.splitlines()[0]
    model = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"nproc": os.cpu_count(), "kernel": os.uname().release,
            "kvm_module": ",".join(kvm) or "none", "cpu": model, "qemu": qv,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def med(results, d, size, name, k="fps"):
    c = results["directions"].get(d, {}).get(str(size), {}).get(name)
    if not c or not c["summary"] or k not in c["summary"]:
        return None
    return c["summary"][k]["median"]


def ratios(results, sizes, systems, native):
    out = []
    for model in ("pcnet", "virtio-net"):
        best = f"vmm {model} opt=all"
        for d in ("tx", "rx"):
            for size in sizes:
                row = {"model": model, "direction": d, "size": size}
                v = med(results, d, size, best)
                q = med(results, d, size, f"qemu {model}")
                n = med(results, d, size, native.name)
                row["vmm/qemu"] = v / q if v and q else None
                row["vmm/native"] = v / n if v and n else None
                for a, b in zip(STEPS, STEPS[1:]):
                    x = med(results, d, size, f"vmm {model} opt={a}")
                    y = med(results, d, size, f"vmm {model} opt={b}")
                    row[f"{b}/{a}"] = y / x if x and y else None
                out.append(row)
    return out


def targets(results, sizes):
    """The issue's targets, met or not, each with the measured figure and,
    where missed, what the counters say limits it."""
    t = []

    def add(what, value, goal, ok, cause=""):
        t.append({"target": what, "value": value, "goal": goal,
                  "met": ok if value is not None else None,
                  "cause": "" if ok else cause})

    for model, goal in (("pcnet", 3.0), ("virtio-net", 2.0)):
        v = med(results, "tx", 64, f"vmm {model} opt=all")
        q = med(results, "tx", 64, f"qemu {model}")
        r = v / q if v and q else None
        add(f"vmm/QEMU {model} 64 B tx", r, f">= {goal}", r is not None and r >= goal,
            cause_text(results, "tx", 64, f"vmm {model} opt=all"))
    for model in ("pcnet", "virtio-net"):
        v = med(results, "tx", 1514, f"vmm {model} opt=all")
        n = med(results, "tx", 1514, "native (tap writer/reader)")
        r = v / n if v and n else None
        add(f"vmm/native {model} 1514 B tx", r, ">= 0.9", r is not None and r >= 0.9,
            cause_text(results, "tx", 1514, f"vmm {model} opt=all", native=n))
    for model, goal in (("pcnet", 1.0), ("virtio-net", 0.05)):
        for d in ("tx", "rx"):
            e = med(results, d, sizes[0], f"vmm {model} opt=all", "exits_per_frame")
            add(f"exits/frame {model} opt=all {d} {sizes[0]} B", e, f"<= {goal}",
                e is not None and e <= goal, cause_text(results, d, sizes[0],
                                                        f"vmm {model} opt=all"))
    for model in ("pcnet", "virtio-net"):
        for d in ("tx", "rx"):
            steps = [med(results, d, sizes[0], f"vmm {model} opt={o}") for o in STEPS]
            if None in steps:
                add(f"step up at each optimization, {model} {d} {sizes[0]} B", None, "> 1.05x", False)
                continue
            rs = [b / a for a, b in zip(steps, steps[1:])]
            add(f"step up at each optimization, {model} {d} {sizes[0]} B",
                " / ".join(f"{x:.2f}" for x in rs), "each > 1.05x", all(x > 1.05 for x in rs),
                step_cause(results, d, sizes[0], model))
    return t


def cause_text(results, d, size, name, native=None):
    c = results["directions"].get(d, {}).get(str(size), {}).get(name)
    if not c or not c["summary"]:
        return "not measured (system n/a)"
    s = c["summary"]
    parts = []
    if "exits_per_frame" in s:
        parts.append(f"{s['exits_per_frame']['median']:.2f} exits/frame ({top_causes(s)})")
    if "irqs_per_frame" in s:
        parts.append(f"{s['irqs_per_frame']['median']:.2f} IRQs/frame")
    if "cpu_us_per_frame" in s:
        parts.append(f"monitor CPU {s['cpu_us_per_frame']['median']:.1f} us/frame")
    if "kvm_run_us_per_frame" in s:
        parts.append(f"of which vCPU in KVM_RUN {s['kvm_run_us_per_frame']['median']:.1f} us, "
                     f"exit handling {s['exit_handling_us_per_frame']['median']:.1f} us")
    if "fps" in s:
        parts.append(f"{1e6 / s['fps']['median']:.1f} us wall/frame")
    if native:
        parts.append(f"native {1e6 / native:.2f} us/frame")
    return "; ".join(parts)


def step_cause(results, d, size, model):
    parts = []
    for o in STEPS:
        c = results["directions"].get(d, {}).get(str(size), {}).get(f"vmm {model} opt={o}")
        if c and c["summary"] and "exits_per_frame" in c["summary"]:
            s = c["summary"]
            parts.append(f"{o}: {s['exits_per_frame']['median']:.2f} exits, "
                         f"{s['irqs_per_frame']['median']:.2f} IRQs, "
                         f"{1e6 / s['fps']['median']:.0f} us/frame")
    return "; ".join(parts)


def report(results, sizes, systems, native, start_md):
    m, cfg = results["machine"], results["config"]
    L = [f"# NIC benchmark: vmm-monitor vs QEMU vs native ({m['date']})", "",
         f"Machine: {m['nproc']} CPUs ({m['cpu']}), kernel {m['kernel']}, KVM module "
         f"{m['kvm_module']}, {m['qemu'] or 'no QEMU'}. "
         f"Runs per cell: {cfg['runs']} (interleaved), median (min-max); "
         f"{cfg['count']} frames per VM run, {cfg['native_ms']} ms per native run; VM pinned to "
         f"CPU {cfg['vm_cpu']}, host writer/reader to CPU {cfg['host_cpu']}. "
         f"Took {cfg['elapsed_s']:.0f} s. Made by `make bench` (bench/nic.py).", "",
         "Columns: frames/s; Mb/s (frame bytes, no FCS); exits/frame (vmm only: every KVM exit "
         "in the transfer window except COM1/debug-exit, per NIC frame) and its top causes; NIC "
         "I/O/frame and IRQs/frame as the guest counts them (io_ops, irqs; every NIC I/O is an "
         "exit on QEMU); CPU us/frame of the VM process (all threads) or native process; host "
         "idle share over both CPUs.", ""]
    for d, title in (("tx", "guest -> host (netguest tx; frames counted at the tap)"),
                     ("rx", "host -> guest (tap flooded by a host writer; netguest rx counts)")):
        L += [f"## {title}", "",
              "| size | system | frames/s | Mb/s | exits/frame (top causes) | NIC I/O/frame "
              "| IRQs/frame | CPU us/frame | vCPU us/frame: KVM_RUN / exits | host idle |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for size in sizes:
            for s in systems + [native]:
                c = results["directions"].get(d, {}).get(str(size), {}).get(s.name)
                if not s.available or not c or not c["summary"]:
                    why = s.why or "no successful run"
                    L.append(f"| {size} | {s.name} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
                             if not s.available else
                             f"| {size} | {s.name} | n/a ({why}) | | | | | | | |")
                    continue
                x = c["summary"]
                ex = (f"{fmt(x.get('exits_per_frame'), 'e')} ({top_causes(x)})"
                      if "exits_per_frame" in x else "n/a")
                kr = (f"{fmt(x.get('kvm_run_us_per_frame'), 'x')} / "
                      f"{fmt(x.get('exit_handling_us_per_frame'), 'x')}"
                      if "kvm_run_us_per_frame" in x else "n/a")
                L.append(f"| {size} | {s.name} | {fmt(x.get('fps'), 'fps')} | "
                         f"{fmt(x.get('mbps'), 'mbps')} | {ex} | "
                         f"{fmt(x.get('nic_io_per_frame'), 'x')} | "
                         f"{fmt(x.get('irqs_per_frame'), 'x')} | "
                         f"{fmt(x.get('cpu_us_per_frame'), 'x')} | {kr} | "
                         f"{fmt(x.get('host_idle'), 'host_idle')} |")
        L.append("")
    L += gg_report(results)
    na = [s for s in systems if not s.available]
    if na:
        L += ["Not available on this tree (probed with a 10-frame netguest tx):", ""]
        L += [f"- {s.name}: {s.why}" for s in na]
        L.append("")
    if results.get("failures"):
        L += ["Failed runs (left out of the medians):", ""]
        L += [f"- {f['system']} {f['direction']} {f['size']} B run {f['run']}: {f['error'][:200]}"
              for f in results["failures"]]
        L.append("")
    L += ["## Ratios (frames/s medians)", "",
          "| NIC | dir | size | vmm/QEMU | vmm/native | coalesce/none | "
          "+combine/coalesce | all/+combine |", "|---|---|---|---|---|---|---|---|"]

    def r(v):
        return "n/a" if v is None else f"{v:.2f}"
    for row in results["ratios"]:
        L.append(f"| {row['model']} | {row['direction']} | {row['size']} | {r(row['vmm/qemu'])} "
                 f"| {r(row['vmm/native'])} | {r(row['coalesce/none'])} | "
                 f"{r(row['coalesce+combine/coalesce'])} | {r(row['all/coalesce+combine'])} |")
    L += ["", "vmm = vmm-monitor with opt=all; steps in the paper's Table 3 order "
          "(none -> coalesce -> coalesce+combine -> all = +irqfd).", "",
          "## Targets (issue 6)", "", "| target | measured | goal | met | what limits it (measured) |",
          "|---|---|---|---|---|"]
    for t in results["targets"]:
        v = t["value"]
        vs = "n/a" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**missed**")
        L.append(f"| {t['target']} | {vs} | {t['goal']} | {met} | {t['cause']} |")
    L += ["", "![frames/s vs frame size](latest.png)", ""]
    if start_md:
        L += ["## Start time and memory (bench/start_time.py)", "", start_md.replace("### ", "")]
    return "\n".join(L) + "\n"


def gg_report(results):
    g = results.get("guest_guest")
    L = ["## guest <-> guest through netbridge (netguest tx VM -> switch -> netguest rx VM)", ""]
    if not g:
        return L + ["Not run.", ""]
    L += [f"Setup: {g['setup']}. frames/s: frames the rx guest counted over the window from "
          "the tx guest's ready line to the rx guest's result line (to the tx result line when "
          "frames were lost and the rx guest had to be stopped); sender frames/s: the tx "
          "guest's own rate; exits/frame per side: every KVM exit of that monitor in the window "
          "but COM1/debug-exit, per NIC frame it moved; switch drops: netbridge's drop counters "
          "of both ports (`nbctl stats`); tap drops: the rx tap's tx_dropped (the rx monitor did "
          "not read the tap in time); rx NIC drops: the rx monitor's NIC drop counters (e.g. "
          "no_rx_buffer: the guest had no free RX buffer); lost: sent minus counted.", ""]
    if not g["available"]:
        return L + [f"n/a: {g['why']}", ""]
    L += ["| size | system | frames/s received | Mb/s | sender frames/s | exits/frame tx side "
          "(top causes) | exits/frame rx side (top causes) | IRQs/frame tx / rx | switch drops "
          "| tap drops | rx NIC drops | lost | host idle |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in g["sizes"]:
        for name in g["systems"]:
            c = results["directions"].get("gg", {}).get(str(size), {}).get(name)
            if not c or not c["summary"]:
                L.append(f"| {size} | {name} | n/a (no successful run) | | | | | | | | | | |")
                continue
            x = c["summary"]
            L.append(f"| {size} | {name} | {fmt(x.get('fps'), 'fps')} | {fmt(x.get('mbps'), 'mbps')}"
                     f" | {fmt(x.get('tx_fps'), 'fps')} | {fmt(x.get('exits_per_frame_tx'), 'x')} "
                     f"({top_causes(x, key='exits_by_cause_tx')}) | "
                     f"{fmt(x.get('exits_per_frame_rx'), 'x')} "
                     f"({top_causes(x, key='exits_by_cause_rx')}) | "
                     f"{fmt(x.get('irqs_per_frame_tx'), 'x')} / {fmt(x.get('irqs_per_frame_rx'), 'x')}"
                     f" | {fmt(x.get('switch_drops'), 'n')} | {fmt(x.get('tap_drops'), 'n')} | "
                     f"{fmt(x.get('rx_nic_drops'), 'n')} | "
                     f"{fmt(x.get('lost_frames'), 'n')} | {fmt(x.get('host_idle'), 'host_idle')} |")
        L.append(f"| {size} | qemu (peer) | {g['qemu']} ({g['qemu_why']}) | | | | | | | | | | |")
    for name, why in g.get("not_available", {}).items():
        L.append(f"| - | {name} | n/a ({why}) | | | | | | | | | | |")
    L.append("")
    return L


def plot(results, sizes, systems, native, png, tmp):
    if not shutil.which("gnuplot"):
        print("nic.py: gnuplot not installed: no plot", file=sys.stderr)
        return
    names = [s.name for s in systems if s.available] + [native.name]
    cmds = [f"set terminal pngcairo size 1400,650" if "pngcairo" in
            sh("gnuplot", "-e", "set terminal", check=False).stdout +
            sh("gnuplot", "-e", "set terminal", check=False).stderr else
            "set terminal png size 1400,650",
            f"set output '{png}'", "set multiplot layout 1,2",
            "set logscale y", "set xlabel 'frame size (bytes)'", "set ylabel 'frames/s'",
            "set key outside bottom center horizontal font ',8'", "set grid",
            f"set xtics ({', '.join(str(x) for x in sizes)})", "set xrange [0:1600]"]
    for d in ("tx", "rx"):
        parts = []
        for i, n in enumerate(names):
            f = os.path.join(tmp, f"{d}{i}.dat")
            with open(f, "w") as fh:
                for size in sizes:
                    v = med(results, d, size, n)
                    if v:
                        fh.write(f"{size} {v}\n")
            parts.append(f"'{f}' using 1:2 with linespoints title '{n}'")
        cmds.append(f"set title '{'guest -> host' if d == 'tx' else 'host -> guest'}'")
        cmds.append("plot " + ", ".join(parts))
    cmds.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(cmds), text=True, check=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        cleanup()

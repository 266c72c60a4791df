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

MONITOR = "build/vmm-monitor"
GUEST = "build/netguest.elf"
NBFRAME = "build/nbframe"
NBCTL = "build/nbctl"
GUEST_MAC = "52:54:00:ab:cd:ef"
HOST_MAC = "02:00:00:00:00:01"
VM_TAP = "bnt0"
NATIVE_TAP = "bnn0"
STEPS = ["none", "coalesce", "coalesce+combine", "all"]
# guest <-> guest through netbridge: two VM ports of one switch
GG_TX_TAP, GG_RX_TAP = "bng0", "bng1"
GG_TX_MAC, GG_RX_MAC = "52:54:00:00:00:0a", "52:54:00:00:00:0b"
GG_OPTS = ["none", "all"]
NATIVE_NAME = "native (tap writer/reader)"
# 64 KiB TSO (guest -> host, virtio-net): the guest's frame layout (guest/mode_net.c
# fill_tcp_ipv4): Ethernet + IPv4 + TCP without options, 54 B of headers
TSO_HDRS, TSO_MSS = 54, 1448
# 45 full MSS segments (65160 B of TCP payload, what Linux's own TSO builds at
# MSS 1448 under the 64 KiB GSO limit): every segment on the wire a 1514 B frame
TSO_SIZE = TSO_HDRS + 45 * TSO_MSS  # 65214
TSO_SINK_MAC = "02:00:00:00:00:fe"  # no interface has it: dropped at ip_rcv (OTHERHOST)
TSO_KEY = "tx_tso"                   # results["directions"] key of these cells
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

    def argv(self, cmdline, tmp, tap=VM_TAP, gmac=GUEST_MAC, qmp=False):
        if self.kind == "vmm":
            mac = f",mac={gmac}"
            return [MONITOR, "--kernel", GUEST, "--cmdline", cmdline, "--memory", "64",
                    "--nic", f"model={self.model},tap={tap}{mac},opt={self.opt}",
                    "--stats", "none", "--stats-file", f"{tmp}/stats.json",
                    "--control", f"{tmp}/ctl.sock"]
        dev = ("pcnet,romfile=" if self.model == "pcnet"
               else "virtio-net-pci,disable-legacy=on,romfile=")
        # QMP only where the bench may have to stop the guest (guest <-> guest):
        # Ctrl-Alt-Del through QEMU's i8042, as vmm-monitor's control "stop"
        return ["qemu-system-x86_64", "-M", "pc", "-accel", "kvm", "-m", "64", "-nodefaults",
                "-no-user-config", "-nographic", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-kernel", GUEST, "-append", cmdline,
                "-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
                "-device", f"{dev},netdev=n0,mac={gmac}"] + (
                    ["-qmp", f"unix:{tmp}/qmp.sock,server=on,wait=off"] if qmp else [])


def start_vm(sysm, cmdline, tmp, cpu, tap=VM_TAP, gmac=GUEST_MAC, qmp=False):
    for f in ("stats.json", "ctl.sock", "qmp.sock"):
        try:
            os.unlink(f"{tmp}/{f}")
        except FileNotFoundError:
            pass
    err = open(f"{tmp}/vm.err", "w")
    p = subprocess.Popen(["ip", "netns", "exec", NS, "taskset", "-c", str(cpu),
                          *sysm.argv(cmdline, tmp, tap, gmac, qmp)], stdin=subprocess.DEVNULL,
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


def vm_cell(sysm, direction, size, count, args, tmp, tso=False):
    """One run of one VM system: returns the figures (dict) or raises. tso:
    guest -> host GSO frames (virtio-net, size up to 65549)."""
    deadline = time.monotonic() + args.timeout
    if tso:
        cmd = f"tx count={count} size={size} dst={TSO_SINK_MAC} tso=1 nic=virtio"
    elif direction == "tx":
        cmd = f"tx count={count} size={size} dst={HOST_MAC}"
    else:
        cmd = f"rx count={count} time={int(args.timeout) - 5}"
    before_tap = counter(VM_TAP, "rx_packets")
    before_bytes = counter(VM_TAP, "rx_bytes")
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
        nbytes = counter(VM_TAP, "rx_bytes") - before_bytes
        if tso and nbytes != count * size:  # each GSO frame whole at the tap
            raise RuntimeError(f"{sysm.name} tx TSO: tap saw {frames} frames, {nbytes} bytes, "
                               f"not {count} x {size}")
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
    if tso:
        out.update(tso_figures(frames, size, el))
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


def tso_figures(frames, size, seconds):
    """TSO cells: Gb/s of GSO frame bytes (as Mb/s elsewhere: one set of
    headers per frame), of TCP payload, and segments/s on the wire."""
    segs = -(-(size - TSO_HDRS) // TSO_MSS)
    return {"gbps": frames * size * 8 / seconds / 1e9,
            "tcp_payload_gbps": frames * (size - TSO_HDRS) * 8 / seconds / 1e9,
            "segments_per_frame": segs, "segments_per_s": frames * segs / seconds}


# The native TSO writer, run as `python3 -c` inside the bench namespace (the
# tap must be opened there; Python 3.11 has no os.setns): the guest's frame
# (guest/mode_net.c fill_tcp_ipv4: IPv4 header checksum valid, TCP checksum
# field = the pseudo-header sum, as Linux's CHECKSUM_PARTIAL) behind a 10-byte
# virtio_net_hdr (NEEDS_CSUM, GSO_TCPV4, hdr_len 54, gso_size 1448, csum_start
# 34, csum_offset 16); the TCP sequence number advances by the payload per frame,
# as the guest's does; one write() per frame for MS ms; prints JSON.
NATIVE_TSO_WRITER = r"""
import fcntl, json, os, resource, struct, sys, time
tap, ms, size, dst, src, mss, hdrs = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
    bytes.fromhex(sys.argv[4].replace(":", "")), bytes.fromhex(sys.argv[5].replace(":", "")),
    int(sys.argv[6]), int(sys.argv[7]))
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", tap.encode(), 0x0002 | 0x1000 | 0x4000))
def csum(b, s=0):
    if len(b) % 2: b += b"\0"
    s += sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return s
addrs = bytes([198, 51, 100, 2, 198, 51, 100, 1])
tcp_len, pay = size - 34, size - hdrs
ip = bytearray(struct.pack("!BBHHHBBH8s", 0x45, 0, size - 14, 0, 0x4000, 64, 6, 0, addrs))
struct.pack_into("!H", ip, 10, ~csum(bytes(ip)) & 0xffff)
tcp = bytearray(struct.pack("!HHIIBBHHH", 40000, 5001, 0, 0, 5 << 4, 0x18, 0xffff, 0, 0))
struct.pack_into("!H", tcp, 16, csum(addrs, 6 + tcp_len))
f = dst + src + b"\x08\x00" + bytes(ip) + bytes(tcp)
f += bytes((i * 7 + 3) & 0xff for i in range(hdrs, size))
gso = 1 if pay > mss else 0
vh = struct.pack("<BBHHHH", 1, gso, hdrs, mss, 34, 16)
buf = bytearray(vh + f)
seqoff = len(vh) + 38
end = time.monotonic() + ms / 1000
r0, t0, sent = resource.getrusage(resource.RUSAGE_SELF), time.monotonic(), 0
while True:
    for _ in range(64):
        struct.pack_into("!I", buf, seqoff, (sent * pay) & 0xffffffff)
        if os.write(fd, buf) == len(buf):
            sent += 1
    if time.monotonic() >= end:
        break
t1, r1 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"sent": sent, "seconds": t1 - t0,
                  "cpu_s": r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime}))
"""


def native_tso_cell(size, args, tmp):
    """The native peer of the TSO cells: the same GSO frames written by a
    host process into an IFF_VNET_HDR tap for --native-ms, one write() per
    frame, pinned to the VM's CPU; frames and bytes counted at the tap."""
    b0, p0 = counter(NATIVE_TAP, "rx_bytes"), counter(NATIVE_TAP, "rx_packets")
    h0 = host_cpu()
    r = subprocess.run(["ip", "netns", "exec", NS, "taskset", "-c", str(args.vm_cpu),
                        sys.executable, "-c", NATIVE_TSO_WRITER, NATIVE_TAP, str(args.native_ms),
                        str(size), TSO_SINK_MAC, "02:00:00:00:00:03", str(TSO_MSS),
                        str(TSO_HDRS)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=args.native_ms / 1000 + 30)
    h1 = host_cpu()
    try:
        w = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"native tx TSO: writer: {r.stdout[-200:]} {r.stderr[-300:]}")
    frames = counter(NATIVE_TAP, "rx_packets") - p0
    nbytes = counter(NATIVE_TAP, "rx_bytes") - b0
    if r.returncode != 0 or not frames or nbytes != frames * size:
        raise RuntimeError(f"native tx TSO: wrote {w['sent']}, tap saw {frames} frames, "
                           f"{nbytes} bytes (frame {size} B); {r.stderr[-200:]}")
    el = w["seconds"]
    out = {"frames": frames, "written": w["sent"], "seconds": el, "fps": frames / el,
           "mbps": frames * size * 8 / el / 1e6,
           "cpu_us_per_frame": w["cpu_s"] * 1e6 / frames,
           "host_idle": (h1[0] - h0[0]) / max(1, h1[1] - h0[1])}
    out.update(tso_figures(frames, size, el))
    return out


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


def request_stop(sysm, d):
    """Ask a VM for a graceful stop (netguest then prints its counts): the
    monitor's control "stop", or Ctrl-Alt-Del through QEMU's i8042 over QMP
    (the same keys vmm-monitor sends)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        if sysm.kind == "vmm":
            s.connect(f"{d}/ctl.sock")
            s.sendall(b'{"id":1,"method":"stop","params":{"timeout_ms":5000}}\n')
            return s  # the reply comes when the VM has stopped: keep it open
        s.connect(f"{d}/qmp.sock")
        f = s.makefile("rwb")
        f.readline()  # greeting
        keys = [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]
        for cmd in ({"execute": "qmp_capabilities"},
                    {"execute": "send-key", "arguments": {"keys": keys}}):
            f.write(json.dumps(cmd).encode() + b"\n")
            f.flush()
            while True:  # skip events until the command's answer
                ans = json.loads(f.readline() or b"{}")
                if "return" in ans or "error" in ans or not ans:
                    break
            if "error" in ans:
                raise RuntimeError(f"qmp {cmd['execute']}: {ans['error']}")
        return s
    except OSError as e:
        s.close()
        raise RuntimeError(f"{sysm.name}: stop request: {e}") from e


def gg_cell(sysm, size, count, args, tmp):
    """guest <-> guest through netbridge: a netguest rx VM on one switch port
    (pinned to --host-cpu), a netguest tx VM sending `count` frames to its MAC
    on the other (pinned to --vm-cpu); both of the same system (vmm-monitor at
    one opt, or QEMU, tap backend opening the netbridge tap by name, vhost
    off). frames/s = frames the rx guest counted / (tx ready -> rx result;
    when frames were lost the rx guest is stopped 1 s after the tx result and
    the window ends at the tx result). Exits per side for vmm-monitor only
    (its own accounting); NIC I/O and IRQs per frame from the guests' result
    lines for every system."""
    deadline = time.monotonic() + args.timeout
    vmm = sysm.kind == "vmm"
    dt, dr = os.path.join(tmp, "ggtx"), os.path.join(tmp, "ggrx")
    for d in (dt, dr):
        os.makedirs(d, exist_ok=True)
    sw0 = {p: nb_stats(p) for p in (GG_TX_TAP, GG_RX_TAP)}
    tapdrop0 = counter(GG_RX_TAP, "tx_dropped")
    prx = start_vm(sysm, f"rx count={count} time={int(args.timeout) - 5}", dr, args.host_cpu,
                   GG_RX_TAP, GG_RX_MAC, qmp=not vmm)
    lrx = Lines(prx)
    ptx = lx = rline = tline = None
    stopped = False
    try:
        if not lrx.until(r"mode=rx ready", deadline):
            raise RuntimeError(f"{sysm.name} gg: rx VM: no ready line: "
                               + open(f"{dr}/vm.err").read()[-300:])
        srx0 = control_stats(f"{dr}/ctl.sock") if vmm else None
        ptx = start_vm(sysm, f"tx count={count} size={size} dst={GG_RX_MAC}", dt, args.vm_cpu,
                       GG_TX_TAP, GG_TX_MAC)
        lx = Lines(ptx)
        if not lx.until(r"mode=tx ready", deadline):
            raise RuntimeError(f"{sysm.name} gg: tx VM: no ready line: "
                               + open(f"{dt}/vm.err").read()[-300:])
        t0, h0 = time.monotonic(), host_cpu()
        ct0, cr0 = proc_cpu(ptx.pid), proc_cpu(prx.pid)
        stx0 = control_stats(f"{dt}/ctl.sock") if vmm else None
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
            s = request_stop(sysm, dr)
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
           "nic_io_per_frame_tx": int(rt["io_ops"]) / count,
           "nic_io_per_frame_rx": int(rr["io_ops"]) / frames,
           "cpu_us_per_frame_tx": (ct1 - ct0) * 1e6 / count if None not in (ct0, ct1) else None,
           "cpu_us_per_frame_rx": (cr1 - cr0) * 1e6 / frames if None not in (cr0, cr1)
           else None,
           "host_idle": (h1[0] - h0[0]) / max(1, h1[1] - h0[1])}
    if not vmm:
        return out
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
                # 64 KiB TSO
                "gbps", "tcp_payload_gbps", "segments_per_s",
                # guest <-> guest
                "tx_fps", "lost_frames", "switch_forwarded", "switch_drops", "tap_drops",
                "rx_nic_drops", "exits_per_frame_tx", "exits_per_frame_rx", "irqs_per_frame_tx",
                "irqs_per_frame_rx", "cpu_us_per_frame_tx", "cpu_us_per_frame_rx",
                "nic_io_per_frame_tx", "nic_io_per_frame_rx"]


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


def exit_cells(x):
    """The exits/frame (top causes) and vCPU time (KVM_RUN / exits) cells of
    a summary; "n/a" for systems without exit counters."""
    ex = (f"{fmt(x.get('exits_per_frame'), 'e')} ({top_causes(x)})"
          if "exits_per_frame" in x else "n/a")
    kr = (f"{fmt(x.get('kvm_run_us_per_frame'), 'x')} / "
          f"{fmt(x.get('exit_handling_us_per_frame'), 'x')}"
          if "kvm_run_us_per_frame" in x else "n/a")
    return ex, kr


def top_causes(s, n=3, key="exits_by_cause"):
    c = s.get(key)
    if not c:
        return "-"
    items = sorted(c.items(), key=lambda kv_: -kv_[1])[:n]
    return ", ".join(f"{k.split('.', 1)[-1]} {v:.2f}" for k, v in items if v >= 0.005) or "-"


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
        tso_systems = [s for s in systems if s.model == "virtio-net"] + hosts
        tso_why = {s.name: s.why for s in tso_systems if not s.available}
        for run in range(args.runs):
            for direction in [d for d in ("tx", "rx") if d in dirs]:
                for size in sizes:
                    for s in [x for x in systems if x.available] + hosts:
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
            # guest -> host, 64 KiB TSO: virtio-net systems and the native writer
            for s in [x for x in tso_systems if x.name not in tso_why] if run_tso else []:
                key = (s.name, TSO_KEY, args.tso_size)
                try:
                    r = (native_tso_cell(args.tso_size, args, tmp) if s.kind == "native"
                         else vm_cell(s, "tx", args.tso_size, args.tso_count, args, tmp,
                                      tso=True))
                except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                    print(f"  run {run + 1}: {e}", file=sys.stderr)
                    failures.append({"system": s.name, "direction": TSO_KEY,
                                     "size": args.tso_size, "run": run + 1, "error": str(e)})
                    runsets.setdefault(key, [])
                    if not runsets[key]:  # never worked: no TSO here, skip later runs
                        tso_why[s.name] = str(e)[:200]
                    continue
                runsets.setdefault(key, []).append(r)
                print(f"  run {run + 1}/{args.runs} tx TSO {args.tso_size} B {s.name:32s} "
                      f"{r['fps']:12,.0f} GSO frames/s {r['gbps']:6.2f} Gb/s", file=sys.stderr)
            for size in gg_sizes if "gg" in dirs and not NB_WHY else []:
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
                     f"{NB_MODE}"}
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
    if os.environ.get("TESTHOST"):
        where = (f"in the test host: nested KVM ({','.join(kvm) or 'none'}) under QEMU TCG, "
                 f"inner kernel {os.uname().release}; not hardware times, compare side by side only")
    elif "kvm_pvm" in kvm:
        where = "directly on this machine's kvm_pvm (KVM without hardware virtualization)"
    else:
        where = f"directly on this machine's KVM ({','.join(kvm) or 'none'})"
    return {"nproc": os.cpu_count(), "kernel": os.uname().release, "where": where,
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
                n = med(results, d, size, NATIVE_NAME)
                row["vmm/qemu"] = v / q if v and q else None
                row["vmm/native"] = v / n if v and n else None
                for a, b in zip(STEPS, STEPS[1:]):
                    x = med(results, d, size, f"vmm {model} opt={a}")
                    y = med(results, d, size, f"vmm {model} opt={b}")
                    row[f"{b}/{a}"] = y / x if x and y else None
                out.append(row)
    return out


def ratios_gg(results, gg_sizes):
    """guest <-> guest: vmm-monitor (opt=all, and opt=none) over QEMU, same NIC
    model, frames/s the rx guest counted; and opt=all over opt=none."""
    out = []
    for model in ("pcnet", "virtio-net"):
        for size in gg_sizes:
            a = med(results, "gg", size, f"vmm {model} opt=all")
            n = med(results, "gg", size, f"vmm {model} opt=none")
            q = med(results, "gg", size, f"qemu {model}")
            out.append({"model": model, "direction": "gg", "size": size,
                        "vmm/qemu": a / q if a and q else None,
                        "vmm opt=none/qemu": n / q if n and q else None,
                        "all/none": a / n if a and n else None})
    return out


def ratios_tso(results, size):
    """64 KiB TSO, GSO frames/s medians: vmm virtio-net opt=all over QEMU
    virtio-net and over native, and each optimization step over the one
    before."""
    v = med(results, TSO_KEY, size, "vmm virtio-net opt=all")
    q = med(results, TSO_KEY, size, "qemu virtio-net")
    n = med(results, TSO_KEY, size, NATIVE_NAME)
    row = {"model": "virtio-net", "direction": TSO_KEY, "size": size,
           "vmm/qemu": v / q if v and q else None, "vmm/native": v / n if v and n else None}
    for a, b in zip(STEPS, STEPS[1:]):
        x = med(results, TSO_KEY, size, f"vmm virtio-net opt={a}")
        y = med(results, TSO_KEY, size, f"vmm virtio-net opt={b}")
        row[f"{b}/{a}"] = y / x if x and y else None
    return [row]


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
        n = med(results, "tx", 1514, NATIVE_NAME)
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
    if d not in results.get("config", {}).get("directions", [d]):
        return "not run (--directions)"
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


def report(results, sizes, systems, hosts, start_md):
    m, cfg = results["machine"], results["config"]
    L = [f"# NIC benchmark: vmm-monitor vs QEMU vs native ({m['date']})", "",
         f"Measured {m.get('where', 'here')}.", "",
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
        if d not in cfg.get("directions", ["tx", "rx", "gg"]):
            L += [f"## {title}", "", "Not run (--directions).", ""]
            continue
        L += [f"## {title}", "",
              "| size | system | frames/s | Mb/s | exits/frame (top causes) | NIC I/O/frame "
              "| IRQs/frame | CPU us/frame | vCPU us/frame: KVM_RUN / exits | host idle |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for size in sizes:
            for s in systems + hosts:
                c = results["directions"].get(d, {}).get(str(size), {}).get(s.name)
                if not s.available or not c or not c["summary"]:
                    why = s.why or "no successful run"
                    L.append(f"| {size} | {s.name} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |"
                             if not s.available else
                             f"| {size} | {s.name} | n/a ({why}) | | | | | | | |")
                    continue
                x = c["summary"]
                ex, kr = exit_cells(x)
                L.append(f"| {size} | {s.name} | {fmt(x.get('fps'), 'fps')} | "
                         f"{fmt(x.get('mbps'), 'mbps')} | {ex} | "
                         f"{fmt(x.get('nic_io_per_frame'), 'x')} | "
                         f"{fmt(x.get('irqs_per_frame'), 'x')} | "
                         f"{fmt(x.get('cpu_us_per_frame'), 'x')} | {kr} | "
                         f"{fmt(x.get('host_idle'), 'host_idle')} |")
        L.append("")
    L += tso_report(results, systems, hosts)
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
        if row["direction"] not in cfg.get("directions", ["tx", "rx"]):
            continue
        L.append(f"| {row['model']} | {row['direction']} | {row['size']} | {r(row['vmm/qemu'])} "
                 f"| {r(row['vmm/native'])} | {r(row['coalesce/none'])} | "
                 f"{r(row['coalesce+combine/coalesce'])} | {r(row['all/coalesce+combine'])} |")
    gg_rows = (results.get("ratios_gg", [])
               if results.get("guest_guest", {}).get("run", True) else [])
    for row in gg_rows:
        L.append(f"| {row['model']} | gg | {row['size']} | {r(row['vmm/qemu'])} | n/a "
                 f"| - | - | - |")
    for row in results.get("ratios_tso", []):
        L.append(f"| {row['model']} | tx 64 KiB TSO | {row['size']} | {r(row['vmm/qemu'])} "
                 f"| {r(row['vmm/native'])} | {r(row['coalesce/none'])} | "
                 f"{r(row['coalesce+combine/coalesce'])} | {r(row['all/coalesce+combine'])} |")
    L += ["", "vmm = vmm-monitor with opt=all; steps in the paper's Table 3 order "
          "(none -> coalesce -> coalesce+combine -> all = +irqfd). gg = guest <-> guest "
          "through netbridge: a vmm-monitor pair vs a QEMU pair, frames/s the rx guest counted "
          "(no native peer; only opt=none and opt=all run there)."]
    if gg_rows:
        L.append("gg, the other ratios: " + "; ".join(
            f"{row['model']} {row['size']} B: vmm opt=none/QEMU {r(row['vmm opt=none/qemu'])}, "
            f"opt=all/opt=none {r(row['all/none'])}" for row in gg_rows) + ".")
    L += ["",
          "## Targets", "", "| target | measured | goal | met | what limits it (measured) |",
          "|---|---|---|---|---|"]
    for t in results["targets"]:
        v = t["value"]
        vs = "n/a" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**missed**")
        L.append(f"| {t['target']} | {vs} | {t['goal']} | {met} | {t['cause']} |")
    L += ["", "![frames/s vs frame size: tx, rx, guest <-> guest](latest.png)", ""]
    if start_md:
        L += ["## Start time and memory (bench/start_time.py)", "", start_md.replace("### ", "")]
    return "\n".join(L) + "\n"


def tso_report(results, systems, hosts):
    t = results.get("tso") or {}
    L = ["## guest -> host, 64 KiB TSO (virtio-net; netguest tx tso=1)", ""]
    if not t.get("run"):
        return L + ["Not run (--directions without tx or tso, or --tso-size 0).", ""]
    L += [f"Frames: {t['size']} B GSO frames (Ethernet + IPv4 + TCP, {t['headers']} B of "
          f"headers, {t['tcp_payload']} B of TCP payload) with a virtio_net_hdr NEEDS_CSUM + "
          f"gso_type TCPV4, gso_size {t['gso_size']}: one GSO frame = {t['segments_per_frame']} "
          f"TCP segments on a wire. The guest: `{t['guest']}` ({t['count']} GSO frames per "
          f"run); the tap counts one packet of {t['size']} B per GSO frame (checked); the host "
          f"drops each at ip_rcv unsegmented (destination MAC {t['dst_mac']}, no interface's). "
          f"Native: {t['native']}, for {t['native_ms']} ms. frames/s = GSO frames/s; Gb/s: "
          f"GSO frame bytes (one set of headers per frame, as Mb/s elsewhere); TCP payload "
          f"Gb/s; segments/s = GSO frames/s x {t['segments_per_frame']}; exits, NIC I/O, "
          f"IRQs, CPU per GSO frame. Not in the plot (its x axis ends at 1514 B).", "",
          "| size | system | GSO frames/s | Gb/s | TCP payload Gb/s | segments/s | "
          "exits/frame (top causes) | NIC I/O/frame | IRQs/frame | CPU us/frame | "
          "vCPU us/frame: KVM_RUN / exits | host idle |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lab = f"{t['size']} (64 KiB TSO)"
    for s in [x for x in systems if x.model == "virtio-net"] + hosts:
        c = results["directions"].get(TSO_KEY, {}).get(str(t["size"]), {}).get(s.name)
        if not c or not c["summary"]:
            why = t["not_available"].get(s.name) or s.why or "no successful run"
            L.append(f"| {lab} | {s.name} | n/a ({why[:160]}) | | | | | | | | | |")
            continue
        x = c["summary"]
        ex, kr = exit_cells(x)
        sp = x.get("segments_per_s")
        L.append(f"| {lab} | {s.name} | {fmt(x.get('fps'), 'fps')} | "
                 f"{fmt(x.get('gbps'), 'x')} | {fmt(x.get('tcp_payload_gbps'), 'x')} | "
                 f"{sp['median']:,.0f} | {ex} | {fmt(x.get('nic_io_per_frame'), 'x')} | "
                 f"{fmt(x.get('irqs_per_frame'), 'x')} | {fmt(x.get('cpu_us_per_frame'), 'x')}"
                 f" | {kr} | {fmt(x.get('host_idle'), 'host_idle')} |")
    L.append("")
    return L


def gg_report(results):
    g = results.get("guest_guest")
    L = ["## guest <-> guest through netbridge (netguest tx VM -> switch -> netguest rx VM)", ""]
    if not g or not g.get("run", True):
        return L + ["Not run" + (" (--directions)." if g else "."), ""]
    L += [f"Setup: {g['setup']}. Both VMs of a row are the same system: two vmm-monitors "
          "(same NIC model and opt) or two QEMUs (same NIC model, `-netdev tap,ifname=<the "
          "netbridge tap>,script=no,downscript=no,vhost=off`, which opens netbridge's "
          "persistent tap by name as vmm-monitor's `--nic tap=` does), same pinning, frame "
          "counts and sizes. frames/s: frames the rx guest counted over the window from "
          "the tx guest's ready line to the rx guest's result line (to the tx result line when "
          "frames were lost and the rx guest had to be stopped: control `stop` on vmm-monitor, "
          "Ctrl-Alt-Del over QMP on QEMU, the same i8042 keys); sender frames/s: the tx "
          "guest's own rate; exits/frame per side (vmm-monitor only): every KVM exit of that "
          "monitor in the window but COM1/debug-exit, per NIC frame it moved; NIC I/O/frame and "
          "IRQs/frame per side: the guests' own io_ops/irqs counters (on QEMU every NIC I/O is "
          "an exit); switch drops: netbridge's drop counters of both ports (`nbctl stats`); "
          "tap drops: the rx tap's tx_dropped (the rx VM did not read the tap in time); rx NIC "
          "drops: the rx monitor's NIC drop counters (e.g. no_rx_buffer: the guest had no free "
          "RX buffer; QEMU keeps no such counter, n/a); lost: sent minus counted.", ""]
    if not g["available"]:
        return L + [f"n/a: {g['why']}", ""]
    L += ["| size | system | frames/s received | Mb/s | sender frames/s | exits/frame tx side "
          "(top causes) | exits/frame rx side (top causes) | NIC I/O/frame tx / rx "
          "| IRQs/frame tx / rx | switch forwarded | switch drops | tap drops | rx NIC drops "
          "| lost | host idle |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    names = g["systems"] + g.get("qemu_systems", [])
    order = {n: i for i, n in enumerate(names)}
    # NIC by NIC: vmm opt=none, vmm opt=all, then QEMU with the same NIC
    names.sort(key=lambda n: (0 if "pcnet" in n else 1, order[n] if n.startswith("vmm") else 99))
    for size in g["sizes"]:
        for name in names:
            c = results["directions"].get("gg", {}).get(str(size), {}).get(name)
            if not c or not c["summary"]:
                L.append(f"| {size} | {name} | n/a (no successful run) | | | | | | | | | | | | |")
                continue
            x = c["summary"]

            def ex(side):
                k = f"exits_per_frame_{side}"
                if k not in x:
                    return "n/a"
                return f"{fmt(x.get(k), 'x')} ({top_causes(x, key=f'exits_by_cause_{side}')})"
            L.append(f"| {size} | {name} | {fmt(x.get('fps'), 'fps')} | {fmt(x.get('mbps'), 'mbps')}"
                     f" | {fmt(x.get('tx_fps'), 'fps')} | {ex('tx')} | {ex('rx')} | "
                     f"{fmt(x.get('nic_io_per_frame_tx'), 'x')} / "
                     f"{fmt(x.get('nic_io_per_frame_rx'), 'x')} | "
                     f"{fmt(x.get('irqs_per_frame_tx'), 'x')} / {fmt(x.get('irqs_per_frame_rx'), 'x')}"
                     f" | {fmt(x.get('switch_forwarded'), 'n')} | {fmt(x.get('switch_drops'), 'n')}"
                     f" | {fmt(x.get('tap_drops'), 'n')} | {fmt(x.get('rx_nic_drops'), 'n')} | "
                     f"{fmt(x.get('lost_frames'), 'n')} | {fmt(x.get('host_idle'), 'host_idle')} |")
    for name, why in g.get("not_available", {}).items():
        L.append(f"| - | {name} | n/a ({why}) | | | | | | | | | | | | |")
    L.append("")
    return L


def plot(results, sizes, systems, hosts, png, tmp):
    """frames/s vs frame size: guest -> host, host -> guest, and guest <->
    guest through netbridge (its own sizes and systems), log scale."""
    if not shutil.which("gnuplot"):
        print("nic.py: gnuplot not installed: no plot", file=sys.stderr)
        return
    names = [s.name for s in systems if s.available] + [h.name for h in hosts]
    g = results.get("guest_guest") or {}
    gg_names = g.get("systems", []) + g.get("qemu_systems", [])
    gg_sizes = g.get("sizes", sizes)
    term = sh("gnuplot", "-e", "set terminal", check=False)
    cmds = ["set terminal pngcairo size 1800,650" if "pngcairo" in term.stdout + term.stderr
            else "set terminal png size 1800,650",
            f"set output '{png}'", "set multiplot layout 1,3",
            "set logscale y", "set xlabel 'frame size (bytes)'", "set ylabel 'frames/s'",
            "set key outside bottom center horizontal font ',8'", "set grid",
            "set xrange [0:1600]"]
    for d, title, ns, ss in (("tx", "guest -> host", names, sizes),
                             ("rx", "host -> guest", names, sizes),
                             ("gg", "guest <-> guest (netbridge)", gg_names, gg_sizes)):
        parts = []
        for i, n in enumerate(ns):
            f = os.path.join(tmp, f"{d}{i}.dat")
            pts = [(size, med(results, d, size, n)) for size in ss]
            pts = [(x, y) for x, y in pts if y]
            if not pts:  # direction or system not run: no line
                continue
            with open(f, "w") as fh:
                fh.writelines(f"{x} {y}\n" for x, y in pts)
            parts.append(f"'{f}' using 1:2 with linespoints title '{n}'")
        cmds.append(f"set title '{title}'")
        cmds.append(f"set xtics ({', '.join(str(x) for x in ss)})")
        cmds.append("plot " + ", ".join(parts) if parts else
                    "unset logscale y; set yrange [0:1]; plot 0 title 'not run'; "
                    "set logscale y; set autoscale y")
    cmds.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(cmds), text=True, check=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        cleanup()

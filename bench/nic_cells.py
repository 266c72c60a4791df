"""bench/nic_cells.py: the NIC benchmark's workloads (bench/nic.py): one
measured cell per call (tx, rx, guest<->guest, 64 KiB TSO; vmm, QEMU, native)."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import nic_host as host
from nic_host import (CHILDREN, GG_RX_MAC, GG_RX_TAP, GG_TX_MAC, GG_TX_TAP, GUEST_MAC, HOST_MAC,
                      NATIVE_TAP, NBFRAME, TSO_HDRS, TSO_MSS, TSO_SINK_MAC, VM_TAP, Lines,
                      control_stats, counter, exit_causes, finish, host_cpu, kv, nb_stats,
                      proc_cpu, start_vm, vm_pid)


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
        vp = vm_pid(p.pid)
        if direction == "tx":  # the guest starts sending right after this line
            t0, c0, h0 = time.monotonic(), proc_cpu(vp), host_cpu()
        st0 = control_stats(f"{tmp}/ctl.sock") if sysm.kind == "vmm" else None
        if direction == "rx":
            flood = subprocess.Popen(["taskset", "-c", str(args.host_cpu), NBFRAME,
                                      f"pkt:{VM_TAP}@{host.NS}", "--", "flood", VM_TAP, GUEST_MAC,
                                      HOST_MAC, str(int(args.timeout * 1000)), str(size)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            CHILDREN.append(flood)
            t0, c0, h0 = time.monotonic(), proc_cpu(vp), host_cpu()
        line = out_lines.until(rf"mode={direction} result=", deadline)
        t1, c1, h1 = time.monotonic(), proc_cpu(vp), host_cpu()
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
        m = monitor_delta(st0, st1, direction)
        n0, n1, nf = st0["nics"][0], st1["nics"][0], m["frames"]
        out["exits_per_frame"] = m["exits_per_frame"]
        # where the vCPU's time goes, per frame: inside KVM_RUN (guest code,
        # and on kvm_pvm its emulated CPL0 instructions) vs handling exits
        out["kvm_run_us_per_frame"] = (st1["exits"]["run_ns"] - st0["exits"]["run_ns"]) / nf / 1e3
        out["exit_handling_us_per_frame"] = sum(
            v["ns"] - st0["exits"]["by_reason"].get(k, {"ns": 0})["ns"]
            for k, v in st1["exits"]["by_reason"].items()) / nf / 1e3
        out["exits_by_cause"] = m["exits_by_cause"]
        out["nic_interrupts_per_frame"] = m["nic_interrupts_per_frame"]
        if "rap_coalesced" in n1:
            out["rap_coalesced_per_frame"] = (n1["rap_coalesced"] - n0["rap_coalesced"]) / nf
        out["doorbells_per_frame"] = (n1.get("doorbells", 0) - n0.get("doorbells", 0)) / nf
        out["drops"] = m["nic_drops"]
        if "tx_batches" in n1:  # frames per TX pass (send combining at work?)
            out["tx_batches"] = {k: v - n0["tx_batches"].get(k, 0)
                                 for k, v in n1["tx_batches"].items()}
    return out


def nbframe_run(argv, pattern, what):
    """Runs a host-side nbframe to its end: (the match of pattern in its
    output, its rusage, host_cpu() before and after); RuntimeError when it
    fails or does not print pattern."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    CHILDREN.append(p)
    h0 = host_cpu()
    _, status, ru = os.wait4(p.pid, 0)
    h1 = host_cpu()
    CHILDREN.remove(p)
    p.returncode = 0
    out = p.stdout.read()
    m = re.search(pattern, out)
    if os.waitstatus_to_exitcode(status) != 0 or not m:
        raise RuntimeError(f"{what}: {out} {p.stderr.read()}")
    return m, ru, h0, h1


def native_cell(direction, size, args, tmp):
    ms = args.native_ms
    if direction == "tx":
        before = counter(NATIVE_TAP, "rx_packets")
        _, ru, h0, h1 = nbframe_run(
            ["taskset", "-c", str(args.vm_cpu), NBFRAME, f"tap:{NATIVE_TAP}@{host.NS}", "--",
             "flood", NATIVE_TAP, HOST_MAC, "02:00:00:00:00:03", str(ms), str(size)],
            r"sent=(\d+)", "native tx")
        frames = counter(NATIVE_TAP, "rx_packets") - before
    else:
        fl = subprocess.Popen(["taskset", "-c", str(args.host_cpu), NBFRAME,
                               f"pkt:{NATIVE_TAP}@{host.NS}", "--", "flood", NATIVE_TAP, "02:00:00:00:00:03",
                               HOST_MAC, str(ms + 4000), str(size)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        CHILDREN.append(fl)
        try:
            m, ru, h0, h1 = nbframe_run(
                ["taskset", "-c", str(args.vm_cpu), NBFRAME, f"tap:{NATIVE_TAP}@{host.NS}",
                 "--", "wait", str(ms), "--", "report"], rf"{NATIVE_TAP} rx=(\d+)", "native rx")
        finally:
            fl.kill()
            fl.wait()
            CHILDREN.remove(fl)
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
    r = subprocess.run(["ip", "netns", "exec", host.NS, "taskset", "-c", str(args.vm_cpu),
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
    stats snapshots (COM1/debug-exit left out), and that frame count (at
    least 1)."""
    n0, n1 = st0["nics"][0], st1["nics"][0]
    nf = (n1[direction]["frames"] - n0[direction]["frames"]) or 1
    a, b = exit_causes(st0), exit_causes(st1)
    by = {k: (b[k] - a.get(k, 0)) / nf for k in b if b[k] - a.get(k, 0)}
    return {"frames": nf, "exits_per_frame": sum(by.values()), "exits_by_cause": by,
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
        vtx, vrx = vm_pid(ptx.pid), vm_pid(prx.pid)
        ct0, cr0 = proc_cpu(vtx), proc_cpu(vrx)
        stx0 = control_stats(f"{dt}/ctl.sock") if vmm else None
        tline = lx.until(r"mode=tx result=", deadline)
        ttx = time.monotonic()
        ct1 = proc_cpu(vtx)
        if not tline:
            raise RuntimeError(f"{sysm.name} gg: tx VM: no result line; last output: "
                               + " | ".join(lx.text[-2:]))
        rline = lrx.until(r"mode=rx result=", min(deadline, ttx + 1.0))
        t1, cr1, h1 = time.monotonic(), proc_cpu(vrx), host_cpu()
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

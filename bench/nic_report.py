"""bench/nic_report.py: the NIC benchmark's results (bench/nic.py): medians,
ratios, targets, the Markdown tables and the plot."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from nic_host import NATIVE_NAME, STEPS, TSO_KEY, sh


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


CAUSE_KEYS = ("exits_by_cause", "exits_by_cause_tx", "exits_by_cause_rx")


def summarize(runs, keys=SUMMARY_KEYS, cause_keys=CAUSE_KEYS):
    """Median, min and max of each figure of keys over the runs (those that
    have it); the dicts of cause_keys (exits by cause) as the median of each
    cause, a cause absent from a run counting 0."""
    s = {}
    for k in keys:
        xs = [r[k] for r in runs if r.get(k) is not None]
        if xs:
            s[k] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}
    for key in cause_keys:
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


def step_ratios(results, d, size, model):
    """frames/s medians of each optimization step over the one before, keyed
    "coalesce/none", ..."""
    out = {}
    for a, b in zip(STEPS, STEPS[1:]):
        x = med(results, d, size, f"vmm {model} opt={a}")
        y = med(results, d, size, f"vmm {model} opt={b}")
        out[f"{b}/{a}"] = y / x if x and y else None
    return out


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
                row.update(step_ratios(results, d, size, model))
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
    row.update(step_ratios(results, TSO_KEY, size, "virtio-net"))
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


def complete(results, plan, args, elapsed):
    """Adds what follows from the measurements (nic_run.py's results): the
    machine, the configuration, the ratios and the targets."""
    results["machine"] = machine()
    results["config"] = {"runs": args.runs, "sizes": plan.sizes, "count": args.count,
                         "native_ms": args.native_ms, "vm_cpu": args.vm_cpu,
                         "host_cpu": args.host_cpu, "quick": args.quick,
                         "gg_sizes": plan.gg_sizes, "directions": plan.dirs,
                         "systems": args.systems, "tso_size": args.tso_size,
                         "tso_count": args.tso_count, "elapsed_s": round(elapsed, 1)}
    results["ratios"] = ratios(results, plan.sizes, plan.systems, plan.native)
    results["ratios_gg"] = ratios_gg(results, plan.gg_sizes)
    results["ratios_tso"] = ratios_tso(results, args.tso_size) if plan.run_tso else []
    results["targets"] = targets(results, plan.sizes)


def write(results, plan, args, start_md, tmp, elapsed):
    """OUT_DIR/NAME.json, .md and .png; the Markdown and where they went on
    stdout."""
    base = os.path.join(args.out_dir, args.name)
    json.dump(results, open(base + ".json", "w"), indent=1)
    md = report(results, plan.sizes, plan.systems, plan.hosts, start_md)
    open(base + ".md", "w").write(md)
    plot(results, plan.sizes, plan.systems, plan.hosts, base + ".png", tmp)
    print(md)
    print(f"wrote {base}.md, {base}.json, {base}.png; took {elapsed:.0f} s "
          f"({elapsed / 60:.1f} min)")

"""bench/nic_host.py: the host side of the NIC benchmark (bench/nic.py): the
namespace, taps and netbridge switch of a run, the VM processes (vmm-monitor
or QEMU) and the counters read from them. The run's state (NS, NB_RT,
NB_MODE, CHILDREN) lives here."""
import json
import os
import re
import shutil
import socket
import subprocess
import time

MONITOR = "build/vmm-monitor"
GUEST = "build/netguest.elf"
NBFRAME = "build/nbframe"
NBCTL = "build/nbctl"
GUEST_MAC = "52:54:00:ab:cd:ef"
HOST_MAC = "02:00:00:00:00:01"
VM_TAP = "bnt0"
NATIVE_TAP = "bnn0"
# The optimization steps in the paper's Table 3 order, as --nic opt= values: the
# switch names are the monitor's (monitor/nic_config.c, listed by its --help);
# the result keys and ratio columns are named after these steps.
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
NB_MODE = "?"     # attach mode of the VM ports (nbctl ports)
CLK_TCK = os.sysconf("SC_CLK_TCK")
CHILDREN = []
NS = None


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


def inns(*argv):
    return sh("ip", "netns", "exec", NS, *argv)


# The taps ns_setup() can make: MAC and address of the host side
TAP_ADDRS = {VM_TAP: (HOST_MAC, "198.51.100.1/24"),
             NATIVE_TAP: ("02:00:00:00:00:02", "198.51.100.101/24")}


def ns_setup(taps=(VM_TAP, NATIVE_TAP)):
    """The run's namespace vmmbench<PID>, lo up, with the given taps of
    TAP_ADDRS (vnet_hdr, IPv6 off: the host sends the guest nothing of its
    own)."""
    global NS
    NS = f"vmmbench{os.getpid()}"
    sh("ip", "netns", "add", NS)
    inns("ip", "link", "set", "lo", "up")
    for tap in taps:
        mac, addr = TAP_ADDRS[tap]
        inns("ip", "tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr")
        inns("sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=1")
        inns("ip", "link", "set", tap, "address", mac)
        inns("ip", "addr", "add", addr, "dev", tap)
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


def proc_times(pid):
    """(utime+stime, guest time) of a process, all threads including those
    that have already ended (a vCPU thread is joined right after the result
    line, so per-thread schedstat would lose it), seconds, or None; 10 ms
    ticks. Guest time is the part of utime a vCPU thread spent running the
    guest (KVM_RUN in guest mode), the rest is the VMM's and the kernel's."""
    try:
        f = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    rest = f[f.rindex(")") + 2:].split()  # from field 3 (state): utime 14, guest_time 43
    return (int(rest[11]) + int(rest[12])) / CLK_TCK, int(rest[40]) / CLK_TCK


def proc_cpu(pid):
    """utime+stime of a process (proc_times), seconds, or None."""
    t = proc_times(pid)
    return t and t[0]


def vm_pid(pid):
    """The process that runs the VM started as pid: vmm-monitor jails itself
    (as root, by default) by forking into a PID namespace, and the process
    started only waits for that child, which runs the VM (so its own
    /proc/PID/stat shows almost no CPU); QEMU runs the VM itself. Call it once
    the guest has printed something (the child exists by then)."""
    try:
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return pid
    if len(kids) == 1 and open(f"/proc/{kids[0]}/comm").read().strip() == "vmm-monitor":
        return int(kids[0])
    return pid


def default_vm_cpu():
    """The VM's CPU when none is given: 1, apart from the host side on 0;
    0 with one CPU (the test host: one TCG thread runs all of its CPUs
    anyway)."""
    return 1 if len(os.sched_getaffinity(0)) >= 2 else 0


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
    so select() never misses a line that already arrived); each also written
    to log (a text file) as it arrives, if given."""

    def __init__(self, p, log=None):
        self.p, self.fd, self.buf, self.eof = p, p.stdout.fileno(), b"", False
        self.text, self.log = [], log

    def until(self, pat, deadline):
        """The first line matching pat, or None at EOF or the deadline."""
        import select
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.decode(errors="replace")
                self.text.append(line)
                if self.log:
                    self.log.write(line + "\n")
                    self.log.flush()
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

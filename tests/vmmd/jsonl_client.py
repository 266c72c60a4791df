"""Socket helpers for the vmmd integration tests' Python parts
(sys.path.insert(0, "tests/vmmd"); from jsonl_client import conn, read_lines)."""
import json
import socket
import time


def conn(path, timeout=20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_lines(s, n, times=None):
    """The next n reply lines of s, parsed; times (a list) gets each one's
    time.monotonic() of arrival."""
    buf, out = b"", []
    while len(out) < n:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise SystemExit("connection closed after %d of %d replies" % (len(out), n))
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append(json.loads(line))
            if times is not None:
                times.append(time.monotonic())
    return out

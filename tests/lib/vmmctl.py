#!/usr/bin/env python3
"""Tiny client for the newline-delimited JSON control sockets (tests only).

usage: vmmctl.py SOCKET METHOD [JSON-PARAMS]   prints the reply line
       vmmctl.py SOCKET --raw LINE             sends LINE as is
"""
import json
import socket
import sys


def main():
    path, method = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    if method == "--raw":
        line = sys.argv[3]
    else:
        req = {"id": 1, "method": method}
        if len(sys.argv) > 3:
            req["params"] = json.loads(sys.argv[3])
        line = json.dumps(req)
    try:
        s.sendall(line.encode() + b"\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused at once (vmmd's limits, permissions): its error line is still to read
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    sys.stdout.write(buf.decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())

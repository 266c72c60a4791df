#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Hostile and heavy clients: 200 malformed or oversized requests, 100
# concurrent clients, clients that vanish mid-request or never read: every
# request is answered, and vmmd stays up and responsive.
. tests/vmmd/lib.sh
start_vmmd
create_idle r1
vmctl start r1 >/dev/null || fail "start r1"

python3 - "$SOCK" <<'PY' || fail "robustness client failed"
import json, os, random, socket, sys, threading

path = sys.argv[1]
random.seed(7)

sys.path.insert(0, "tests/vmmd")
from jsonl_client import read_lines, conn as connect

def conn():
    return connect(path)

# 200 bad requests on one connection, pipelined
bad = []
for i in range(200):
    k = i % 10
    if k == 0: bad.append(b"{not json")
    elif k == 1: bad.append(b"[]")
    elif k == 2: bad.append(b'{"id":%d}' % i)
    elif k == 3: bad.append(b'{"id":%d,"method":42}' % i)
    elif k == 4: bad.append(b'{"id":%d,"method":"vm.nope"}' % i)
    elif k == 5: bad.append(b'{"id":%d,"method":"vm.create","params":{"name":"x","kernel":"/none","junk":%s}}' % (i, b"[" * 20 + b"]" * 20))
    elif k == 6: bad.append(b'{"id":%d,"method":"vm.info","params":"r1"}' % i)
    elif k == 7: bad.append(bytes(random.randrange(1, 256) for _ in range(200)).replace(b"\n", b" "))
    elif k == 8: bad.append(b'{"id":%d,"method":"vm.start","params":{"name":"%s"}}' % (i, b"z" * 5000))
    else: bad.append(b'{"id":%d,"method":"vm.list","params":{"pad":"%s"}}' % (i, b"A" * 300000))  # oversized
s = conn()
s.sendall(b"\n".join(bad) + b"\n")
replies = read_lines(s, 200)
assert all("error" in r for r in replies), [r for r in replies if "error" not in r][:3]
codes = {r["error"]["code"] for r in replies}
assert {"parse_error", "invalid_request", "method_not_found", "invalid_params",
        "request_too_large", "not_found"} <= codes, codes
# the connection still works after all that
s.sendall(b'{"id":"ok","method":"vm.info","params":{"name":"r1"}}\n')
r = read_lines(s, 1)[0]
assert r["id"] == "ok" and r["result"]["state"] == "running", r
s.close()

# 100 concurrent clients, each a few requests including stats of a running VM
errors = []
def client(i):
    try:
        s = conn()
        reqs = [{"id": 1, "method": "daemon.version"}, {"id": 2, "method": "vm.list"},
                {"id": 3, "method": "vm.stats", "params": {"name": "r1"}},
                {"id": 4, "method": "vm.info", "params": {"name": "nope%d" % i}}]
        s.sendall(b"".join(json.dumps(q).encode() + b"\n" for q in reqs))
        rs = read_lines(s, 4)
        assert [r["id"] for r in rs] == [1, 2, 3, 4], rs
        assert rs[0]["result"]["protocol"] == 1
        assert rs[2]["result"]["exits"]["total"] > 0
        assert rs[3]["error"]["code"] == "not_found"
        s.close()
    except BaseException as e:
        errors.append("client %d: %r" % (i, e))
ts = [threading.Thread(target=client, args=(i,)) for i in range(100)]
socks = []
for t in ts: t.start()
for t in ts: t.join()
assert not errors, errors[:5]

# clients that vanish: mid-line, right after a request, after subscribing
for i in range(50):
    s = conn()
    s.sendall([b'{"id":1,"meth', b'{"id":1,"method":"vm.list"}\n',
               b'{"id":1,"method":"events.subscribe"}\n'][i % 3])
    s.close()
# a client that never reads while asking for a lot
s = conn()
s.setblocking(False)
try:
    for i in range(2000):
        s.send(b'{"id":1,"method":"vm.info","params":{"name":"r1"}}\n' * 50)
except BlockingIOError:
    pass
lazy = s

# still answering
s = conn()
s.sendall(b'{"id":9,"method":"vm.list"}\n')
assert read_lines(s, 1)[0]["result"]["vms"][0]["name"] == "r1"
lazy.close()
print("ok")
PY
kill -0 $VMMD_PID || fail "vmmd died"
vmctl list | grep -q '^r1 *running' || fail "r1 not running after the storm"
vmctl stop r1 >/dev/null || fail "stop r1"
echo pass

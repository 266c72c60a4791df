#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Who may use which socket: the read-write socket serves root and members of
# socket_group (SO_PEERCRED, checked per connection: a non-member that
# reaches it gets permission_denied); a non-root member may only name files
# it can read itself; floods of idle connections to the read-only socket are
# refused past readonly_max_clients and readonly_max_per_uid while the
# read-write socket keeps answering, and idle read-only clients are dropped
# (subscribers are not); the read-only socket shows no host paths. Other uids
# come from setpriv: no users or groups are added to the host.
. tests/vmmd/lib.sh
[ "$(id -u)" = 0 ] || skip "needs root (setpriv to other uids)"
command -v setpriv >/dev/null || skip "setpriv not installed"
G=
for g in kvm users nogroup; do getent group "$g" >/dev/null && G=$g && break; done
[ -n "$G" ] || skip "none of the groups kvm, users, nogroup exists"
GID=$(getent group "$G" | cut -d: -f3)
OUTSIDER=4242 MEMBER=4243
as_outsider() { setpriv --reuid=$OUTSIDER --regid=$OUTSIDER --clear-groups "$@"; }
as_member() { setpriv --reuid=$MEMBER --regid=$MEMBER --groups="$GID" "$@"; }
# the other uids reach the sockets, the binaries and the guest through $TMP
chmod 755 "$TMP" && chmod 644 "$GUEST_ABS" || fail "chmod"
# a python3 that other uids may run (not one under root's home)
OPY=
for p in /usr/bin/python3 /usr/local/bin/python3 "$(command -v python3)"; do
	as_outsider "$p" -c '' 2>/dev/null && OPY=$p && break
done
[ -n "$OPY" ] || skip "no python3 that other uids may run"
cp tests/lib/vmmctl.py "$TMP/bin/" && chmod 644 "$TMP/bin/vmmctl.py" || fail "copying vmmctl.py"
OCTL="$OPY $TMP/bin/vmmctl.py"
RO=$R/vmmd-ro.sock
IDLE=$(scaled 6)
cat >"$TMP/vmmd.json" <<EOF
{"socket_group": "$G", "readonly_max_clients": 20, "readonly_max_per_uid": 4,
 "readonly_idle_timeout_s": $IDLE}
EOF
start_vmmd --config "$TMP/vmmd.json"
[ "$(stat -c '%a %G' "$SOCK")" = "660 $G" ] || fail "socket: $(stat -c '%a %G' "$SOCK")"

# --- who is served on the read-write socket
vmctl list >/dev/null || fail "root refused"
as_member "$VMCTL" --socket "$SOCK" list >/dev/null || fail "member $MEMBER of $G refused"
# the socket's mode keeps the outsider out; read-only commands fall back to vmmd-ro.sock
as_outsider "$VMCTL" --socket "$SOCK" create x --kernel "$GUEST_ABS" 2>"$TMP/err"
[ $? -eq 1 ] && grep -q 'Permission denied' "$TMP/err" || fail "outsider create: $(cat "$TMP/err")"
as_outsider "$VMCTL" --socket "$SOCK" list >/dev/null || fail "outsider list (read-only fallback)"
# past the mode (a socket unit's SocketMode=0666, say), vmmd itself refuses
chmod 666 "$SOCK"
as_outsider "$VMCTL" --socket "$SOCK" create x --kernel "$GUEST_ABS" 2>"$TMP/err"
[ $? -eq 1 ] || fail "outsider through a 0666 socket: want exit 1"
grep -q "^error: uid $OUTSIDER is not root and not in group $G; the read-only socket $RO serves everyone (permission_denied)$" "$TMP/err" ||
	fail "outsider message: $(cat "$TMP/err")"
[ "$(as_outsider $OCTL "$SOCK" vm.list | field '["error"]["code"]')" = permission_denied ] ||
	fail "outsider raw request"
grep -q "uid $OUTSIDER: refused on the read-write socket: uid $OUTSIDER is not root" "$VMMD_LOG" ||
	fail "refusal not logged"
chmod 660 "$SOCK"

# --- files with the client's permissions
cp "$GUEST_ABS" "$TMP/secret.elf" && chmod 600 "$TMP/secret.elf"
mkdir -m 700 "$TMP/private" && cp "$GUEST_ABS" "$TMP/private/guest.elf" && chmod 644 "$TMP/private/guest.elf"
as_member "$VMCTL" --socket "$SOCK" create m0 --kernel "$TMP/secret.elf" 2>"$TMP/err"
[ $? -eq 1 ] || fail "member with a 0600 root kernel: want exit 1"
grep -q "^error: kernel $TMP/secret.elf: not readable by uid $MEMBER (permission_denied)" "$TMP/err" ||
	fail "member kernel message: $(cat "$TMP/err")"
as_member $OCTL "$SOCK" vm.create "{\"name\":\"m0\",\"kernel\":\"$GUEST_ABS\",\"initrd\":\"$TMP/secret.elf\"}" >"$TMP/out"
[ "$(field '["error"]["code"]' <"$TMP/out") $(field '["error"]["field"]' <"$TMP/out")" = "permission_denied initrd" ] ||
	fail "member initrd: $(cat "$TMP/out")"
grep -q "initrd $TMP/secret.elf: not readable by uid $MEMBER" "$TMP/out" || fail "initrd message: $(cat "$TMP/out")"
as_member "$VMCTL" --socket "$SOCK" create m0 --kernel "$TMP/private/guest.elf" 2>"$TMP/err"
[ $? -eq 1 ] && grep -q "not readable by uid $MEMBER" "$TMP/err" || fail "member, file in a 0700 folder: $(cat "$TMP/err")"
[ ! -e "$S/vms/m0.json" ] || fail "a refused definition was written"
as_member "$VMCTL" --socket "$SOCK" create m1 --kernel "$GUEST_ABS" --cmdline idle --memory 16 >/dev/null ||
	fail "member with a readable kernel"
as_member "$VMCTL" --socket "$SOCK" start m1 >/dev/null || fail "member start m1"
as_member "$VMCTL" --socket "$SOCK" stop --force m1 >/dev/null || fail "member stop m1"
# the owner is recorded and the files are opened as the owner at every start:
# a kernel swapped for a link to a root-only file after the check fails the
# start, naming the uid
mkdir "$TMP/own" && cp "$GUEST_ABS" "$TMP/own/k.elf" && chown -R $MEMBER "$TMP/own"
as_member "$VMCTL" --socket "$SOCK" create m2 --kernel "$TMP/own/k.elf" --cmdline idle --memory 16 \
	>/dev/null || fail "member create m2"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["owner"]["uid"] != int(sys.argv[2]))' \
	"$S/vms/m2.json" $MEMBER || fail "no owner in m2: $(cat "$S/vms/m2.json")"
as_member "$VMCTL" --socket "$SOCK" start m2 >/dev/null || fail "member start m2"
as_member "$VMCTL" --socket "$SOCK" stop --force m2 >/dev/null || fail "member stop m2"
as_member ln -sf "$TMP/secret.elf" "$TMP/own/k.elf" || fail "swap the kernel"
as_member "$VMCTL" --socket "$SOCK" start m2 2>"$TMP/err" && fail "m2 started on a root-only kernel"
grep -q "kernel $TMP/own/k.elf: Permission denied (to the uid that defined it)" "$TMP/err" ||
	fail "swapped kernel: $(cat "$TMP/err")"
$OCTL "$SOCK" vm.create "{\"name\":\"m3\",\"kernel\":\"$GUEST_ABS\",\"owner\":{\"uid\":0,\"gid\":0,\"groups\":[]}}" >"$TMP/out"
grep -q 'owner: set by vmmd' "$TMP/out" || fail "a client's owner was taken: $(cat "$TMP/out")"
vmctl create r0 --kernel "$TMP/secret.elf" --cmdline idle --memory 16 >/dev/null || fail "root with a 0600 kernel"

# --- the read-only socket shows no host paths; the read-write socket does
create_idle p1 --initrd "$GUEST_ABS"
vmctl start p1 >/dev/null || fail "start p1"
ro_has_no_paths() {
	$CTL "$RO" "$@" >"$TMP/out"
	grep -q '"result"' "$TMP/out" || fail "read-only $1: $(head -c 300 "$TMP/out")"
	! grep -q "$TMP" "$TMP/out" || fail "read-only $1 shows a host path: $(grep -o ".\{40\}$TMP.\{20\}" "$TMP/out" | head -3)"
}
ro_has_no_paths vm.list
ro_has_no_paths vm.info '{"name":"p1"}'
ro_has_no_paths vm.stats '{"name":"p1"}'
$CTL "$RO" vm.info '{"name":"p1"}' | python3 -c '
import json, sys
r = json.load(sys.stdin)["result"]; d = r["definition"]
hidden = [d["kernel"], d["initrd"], d["cmdline"], r["log"], r["control"], r["console"]]
assert hidden == [None] * 6, hidden
assert r["state"] == "running" and d["memory_mib"] == 16, r' || fail "read-only vm.info"
$CTL "$SOCK" vm.info '{"name":"p1"}' | python3 -c '
import json, sys
r = json.load(sys.stdin)["result"]; d = r["definition"]
assert d["kernel"] == sys.argv[1] and d["initrd"] == sys.argv[1] and d["cmdline"] == "idle", d
assert r["log"] and r["control"], r' "$GUEST_ABS" || fail "read-write vm.info"
"$VMCTL" --socket "$RO" info p1 | grep -q '^kernel: *(not shown on the read-only socket)' ||
	fail "vmctl info on the read-only socket: $("$VMCTL" --socket "$RO" info p1)"
"$VMCTL" --socket "$RO" console p1 </dev/null 2>"$TMP/err"
[ $? -eq 1 ] && grep -q 'the read-only socket does not show console sockets' "$TMP/err" ||
	fail "vmctl console on the read-only socket: $(cat "$TMP/err")"

# --- floods of idle connections to the read-only socket
# flood.py SOCKET N: opens N connections, reports how many stay and why the
# others were refused (line 1), then waits for the ones that stayed to be
# dropped as idle (line 2)
cat >"$TMP/flood.py" <<'PY'
import json, select, socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append((s, time.monotonic()))
time.sleep(1)
held, refused = [], {}
for s, t0 in socks:
    if select.select([s], [], [], 0)[0]:
        e = json.loads(s.makefile("rb").readline())["error"]
        key = e["code"] + ": " + e["message"]
        refused[key] = refused.get(key, 0) + 1
        s.close()
    else:
        held.append((s, t0))
print(json.dumps({"held": len(held), "refused": refused}), flush=True)
codes, after = [], []
for s, t0 in held:
    s.settimeout(60)
    f = s.makefile("rb")
    line = f.readline()
    codes.append(json.loads(line)["error"]["code"] if line else "eof")
    if f.readline() == b"":
        after.append(round(time.monotonic() - t0, 1))
print(json.dumps({"codes": sorted(set(codes)), "closed": len(after), "after": after}), flush=True)
PY
chmod 644 "$TMP/flood.py"
admin_works() {
	local i
	for i in 1 2 3; do
		vmctl list >/dev/null || fail "vmctl list on the read-write socket failed during a flood"
		as_member "$VMCTL" --socket "$SOCK" info p1 >/dev/null || fail "member vm.info during a flood"
	done
}
# wait_ready N: N floods have written their first line
wait_ready() { [ "$(grep -l . "$TMP"/flood.*.out 2>/dev/null | wc -l)" -ge "$1" ]; }
# one uid, 300 connections: 4 stay
rm -f "$TMP"/flood.*.out
setpriv --reuid=5000 --regid=5000 --clear-groups "$OPY" "$TMP/flood.py" "$RO" 300 >"$TMP/flood.0.out" &
FLOOD=$!
WAIT_SECS=30 wait_for wait_ready 1 || fail "flood did not connect: $(cat "$TMP/flood.0.out")"
admin_works
wait $FLOOD || fail "flood script failed"
python3 - "$TMP/flood.0.out" "$IDLE" <<'PY' || fail "one-uid flood: $(cat "$TMP/flood.0.out")"
import json, sys
first, second = [json.loads(l) for l in open(sys.argv[1])]
idle = int(sys.argv[2])
assert first["held"] == 4, first
assert sum(first["refused"].values()) == 296, first
assert all(k.startswith("busy: uid 5000 has 4 connections to the read-only socket already "
                        "(readonly_max_per_uid)") for k in first["refused"]), first
assert second["codes"] == ["idle_timeout"] and second["closed"] == 4, second
assert all(idle - 0.5 <= a <= idle + 5 for a in second["after"]), second
PY
# ten uids, 30 connections each: 20 stay in all, at most 4 per uid
rm -f "$TMP"/flood.*.out
pids=()
for u in $(seq 5001 5010); do
	setpriv --reuid=$u --regid=$u --clear-groups "$OPY" "$TMP/flood.py" "$RO" 30 >"$TMP/flood.$u.out" &
	pids+=($!)
done
WAIT_SECS=30 wait_for wait_ready 10 || fail "floods did not connect"
admin_works
# the full read-only socket refuses vmctl with the daemon's message
as_outsider "$VMCTL" --socket "$RO" list 2>"$TMP/err"
[ $? -eq 1 ] && grep -q '^error: the read-only socket has 20 clients already (readonly_max_clients) (busy)' "$TMP/err" ||
	fail "vmctl on a full read-only socket: $(cat "$TMP/err")"
for p in "${pids[@]}"; do wait "$p" || fail "flood script failed"; done
python3 - "$TMP"/flood.50*.out <<'PY' || fail "ten-uid flood: $(cat "$TMP"/flood.50*.out)"
import json, sys
held, msgs = 0, set()
for name in sys.argv[1:]:
    first, second = [json.loads(l) for l in open(name)]
    assert first["held"] <= 4 and first["held"] + sum(first["refused"].values()) == 30, (name, first)
    assert second["codes"] in ([], ["idle_timeout"]) and second["closed"] == first["held"], second
    held += first["held"]
    msgs |= {k.split(" (")[-1] for k in first["refused"]}
assert held == 20, held
assert "readonly_max_clients)" in msgs, msgs
PY
$CTL "$RO" vm.list | grep -q '"result"' || fail "the read-only socket after the floods"

# --- idle: a subscriber and a client that keeps asking stay; an idle one goes;
# the read-write socket has no idle limit
python3 - "$RO" "$SOCK" "$IDLE" <<'PY' || fail "idle clients"
import json, socket, sys, time
sys.path.insert(0, "tests/vmmd")
from jsonl_client import conn, read_lines
ro, rw, idle = sys.argv[1], sys.argv[2], int(sys.argv[3])
sub, busy, quiet, admin = conn(ro), conn(ro), conn(ro), conn(rw)
def ask(s, i):
    s.sendall(json.dumps({"id": i, "method": "daemon.version"}).encode() + b"\n")
    r = read_lines(s, 1)[0]
    while "event" in r:
        r = read_lines(s, 1)[0]
    assert r.get("id") == i and "result" in r, r
sub.sendall(b'{"id":1,"method":"events.subscribe"}\n')
assert read_lines(sub, 1)[0]["result"]["subscribed"]
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < idle + 2:
    i += 1
    ask(busy, i)
    time.sleep(idle / 3)
t = time.monotonic() - t0
r = read_lines(quiet, 1)[0]
assert r["id"] is None and r["error"]["code"] == "idle_timeout", r
assert "readonly_idle_timeout_s" in r["error"]["message"], r
assert quiet.recv(100) == b"", "the idle client was not closed"
for s in (sub, busy, admin):
    ask(s, 1000)
PY

vmctl stop --force p1 >/dev/null || fail "stop p1"
grep -q 'runtime error\|AddressSanitizer' "$VMMD_LOG" && fail "sanitizer report"
echo "PASS: admin socket for root and $G only, files read as the client, read-only limits and idle drop, no paths on the read-only socket"

#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Every kind of bad request gets a stable error code (and, for definitions,
# the field at fault); vmctl maps them to exit codes 1/2/3/4 and `error: `
# lines; a daemon of another protocol version gets a clear message.
. tests/vmmd/lib.sh
start_vmmd

# expect CODE FIELD METHOD [PARAMS]: the reply's error code (and field,
# unless -); queued, and checked in one go by check_expected
: >"$TMP/cases"
expect() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4-}" >>"$TMP/cases"; }
check_expected() {
	python3 - "$SOCK" "$TMP/cases" <<'PY' || fail "unexpected replies"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
bad = 0
for n, case in enumerate(open(sys.argv[2]).read().splitlines()):
    code, field, method, params = case.split("\t", 3)
    if method == "--raw":
        line = params
    else:
        req = {"id": n, "method": method}
        if params:
            req["params"] = json.loads(params)
        line = json.dumps(req)
    f.write(line.encode() + b"\n"); f.flush()
    r = json.loads(f.readline())
    e = r.get("error") or {}
    if e.get("code") != code or (field != "-" and e.get("field") != field) or not e.get("message"):
        print("FAIL: %s %.200s -> %s (want %s, field %s)" % (method, params, r, code, field))
        bad += 1
sys.exit(1 if bad else 0)
PY
	: >"$TMP/cases"
}
k=$GUEST_ABS
def() { echo "{\"name\":\"v\",\"kernel\":\"$k\"$1}"; }

# framing and envelope
expect parse_error - --raw '{oops'
expect parse_error - --raw '{"id":1,"method":"vm.list"} trailing'
expect invalid_request - --raw '[1,2]'
expect invalid_request - --raw '{"id":1}'
expect invalid_request - --raw '{"id":1,"method":"vm.list","params":[1]}'
expect invalid_request - --raw '{"id":[1],"method":"vm.list"}'
expect method_not_found - vm.frobnicate
expect invalid_params '' vm.create

# definitions: every field
expect invalid_params name vm.create "{\"kernel\":\"$k\"}"
expect invalid_params name vm.create "{\"name\":\"-bad\",\"kernel\":\"$k\"}"
expect invalid_params name vm.create "{\"name\":\"a/b\",\"kernel\":\"$k\"}"
expect invalid_params name vm.create "{\"name\":\"$(printf 'x%.0s' {1..65})\",\"kernel\":\"$k\"}"
expect invalid_params name vm.create "{\"name\":7,\"kernel\":\"$k\"}"
expect invalid_params kernel vm.create '{"name":"v"}'
expect invalid_params kernel vm.create '{"name":"v","kernel":"/nonexistent/vmlinux"}'
expect invalid_params kernel vm.create '{"name":"v","kernel":"build/netguest.elf"}'
expect invalid_params kernel vm.create '{"name":"v","kernel":"/tmp"}'
expect invalid_params initrd vm.create "$(def ',"initrd":"/nonexistent"')"
expect invalid_params memory_mib vm.create "$(def ',"memory_mib":4')"
expect invalid_params memory_mib vm.create "$(def ',"memory_mib":999999')"
expect invalid_params memory_mib vm.create "$(def ',"memory_mib":-1')"
expect invalid_params memory_mib vm.create "$(def ',"memory_mib":"64"')"
expect invalid_params memory_mib vm.create "$(def ',"memory_mib":64.5')"
expect invalid_params vcpus vm.create "$(def ',"vcpus":0')"
expect invalid_params vcpus vm.create "$(def ',"vcpus":65')"
expect invalid_params cmdline vm.create "$(def ",\"cmdline\":\"$(printf 'c%.0s' {1..4096})\"")"
expect invalid_params autostart vm.create "$(def ',"autostart":"yes"')"
expect invalid_params restart vm.create "$(def ',"restart":"sometimes"')"
expect invalid_params colour vm.create "$(def ',"colour":"blue"')"
expect invalid_params nics vm.create "$(def ',"nics":{}')"
expect invalid_params 'nics[0].mac' vm.create "$(def ',"nics":[{"switch":"sw0","mac":"52:54:00:zz:00:01"}]')"
expect invalid_params 'nics[0].mac' vm.create "$(def ',"nics":[{"switch":"sw0","mac":"01:00:5e:00:00:01"}]')"
expect invalid_params 'nics[1].mac' vm.create "$(def ',"nics":[{"switch":"sw0","mac":"52:54:00:00:00:01"},{"switch":"sw0","mac":"52:54:00:00:00:01"}]')"
expect invalid_params 'nics[0].switch' vm.create "$(def ',"nics":[{"mac":"52:54:00:00:00:01"}]')"
expect invalid_params 'nics[0].model' vm.create "$(def ',"nics":[{"switch":"sw0","model":"e1000"}]')"
expect invalid_params 'nics[0].speed' vm.create "$(def ',"nics":[{"switch":"sw0","speed":1}]')"

check_expected

# duplicates: name, MAC across VMs; MACs assigned when not given
[ "$(req vm.create "$(def ',"memory_mib":16,"cmdline":"idle"')" | field '["result"]["name"]')" = v ] || fail "create v"
expect already_exists name vm.create "$(def '')"
req vm.create "{\"name\":\"n1\",\"kernel\":\"$k\",\"nics\":[{\"switch\":\"sw0\",\"mac\":\"52:54:00:00:00:01\"},{\"switch\":\"sw0\"}]}" >"$TMP/n1"
mac=$(field '["result"]["definition"]["nics"][1]["mac"]' <"$TMP/n1")
case $mac in 52:54:00:*) ;; *) fail "no MAC assigned: $(cat "$TMP/n1")" ;; esac
expect mac_conflict 'nics[0].mac' vm.create "{\"name\":\"n2\",\"kernel\":\"$k\",\"nics\":[{\"switch\":\"sw0\",\"mac\":\"52:54:00:00:00:01\"}]}"
expect mac_conflict 'nics[0].mac' vm.create "{\"name\":\"n2\",\"kernel\":\"$k\",\"nics\":[{\"switch\":\"sw0\",\"mac\":\"$mac\"}]}"
# no switches in this vmmd's config: the start fails, saying why
expect start_failed - vm.start '{"name":"n1"}'
expect invalid_params name switch.stats '{"name":1}'
expect invalid_params bogus switch.list '{"bogus":1}'
expect not_found - switch.stats '{"name":"sw0"}'
check_expected

# methods on VMs
expect not_found - vm.start '{"name":"nope"}'
expect not_found - vm.info '{"name":"nope"}'
expect invalid_params name vm.start '{}'
expect invalid_params name vm.start '{"name":1}'
expect invalid_params force vm.start '{"name":"v","force":true}'
expect invalid_params force vm.stop '{"name":"v","force":"yes"}'
expect invalid_params timeout vm.stop '{"name":"v","timeout":0}'
expect invalid_params timeout vm.stop '{"name":"v","timeout":"5"}'
expect invalid_params x vm.list '{"x":1}'
expect not_running - vm.stats '{"name":"v"}'
check_expected
[ "$(req vm.start '{"name":"v"}' | field '["result"]["state"]')" = running ] || fail "start v"
expect running - vm.delete '{"name":"v"}'
check_expected

# read-only socket: reads work, changes are refused
[ "$($CTL "$R/vmmd-ro.sock" vm.list | field '["result"]["vms"][0]["name"]')" = n1 ] || fail "ro list"
[ "$($CTL "$R/vmmd-ro.sock" vm.create "$(def '')" | field '["error"]["code"]')" = read_only ] || fail "ro create"
[ "$($CTL "$R/vmmd-ro.sock" vm.stop '{"name":"v"}' | field '["error"]["code"]')" = read_only ] || fail "ro stop"
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "socket mode $(stat -c %a "$SOCK")"

# nothing half-created by the failures
[ "$(ls "$S/vms")" = "$(printf 'n1.json\nv.json')" ] || fail "definitions: $(ls -A "$S/vms")"

# vmctl: exit codes and messages
vmctl info nope 2>"$TMP/err"; [ $? -eq 4 ] || fail "vmctl info nope: want 4"
grep -q "^error: no VM named 'nope'" "$TMP/err" || fail "message: $(cat "$TMP/err")"
vmctl stats n1 2>/dev/null; [ $? -eq 3 ] || fail "vmctl stats of stopped: want 3"
vmctl frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown command: want 2"
vmctl 2>/dev/null; [ $? -eq 2 ] || fail "no command: want 2"
vmctl stop 2>/dev/null; [ $? -eq 2 ] || fail "stop without a name: want 2"
vmctl create x 2>/dev/null; [ $? -eq 2 ] || fail "create without --kernel: want 2"
vmctl create x --kernel "$k" --memory lots 2>/dev/null; [ $? -eq 2 ] || fail "--memory lots: want 2"
vmctl create x --kernel "$k" --memory 2 2>"$TMP/err"; [ $? -eq 1 ] || fail "--memory 2: want 1"
grep -q 'memory_mib' "$TMP/err" || fail "memory error does not name the field: $(cat "$TMP/err")"
vmctl --output yaml list 2>/dev/null; [ $? -eq 2 ] || fail "--output yaml: want 2"
"$VMCTL" --socket "$TMP/none.sock" list 2>"$TMP/err"; [ $? -eq 1 ] || fail "no daemon: want 1"
grep -q 'cannot connect to vmmd' "$TMP/err" || fail "no-daemon message"
"$VMCTL" --socket "$TMP/none.sock" create x 2>/dev/null; [ $? -eq 2 ] || fail "usage is checked before connecting"
vmctl stop v >/dev/null || fail "stop v"

# a daemon of another protocol version
python3 - "$TMP/old.sock" <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); f = c.makefile("rwb")
req = json.loads(f.readline())
f.write(json.dumps({"id": req["id"], "result": {"protocol": 2, "version": "9.0"}}).encode() + b"\n"); f.flush()
PY
FAKE=$!
CLEANUP+=("kill $FAKE 2>/dev/null")
wait_for test -S "$TMP/old.sock"
"$VMCTL" --socket "$TMP/old.sock" list 2>"$TMP/err"; [ $? -eq 1 ] || fail "old daemon: want 1"
grep -q 'speaks protocol 2' "$TMP/err" || fail "protocol message: $(cat "$TMP/err")"

kill -0 $VMMD_PID || fail "vmmd died"
echo pass

/* fuzz_runrec.c: libFuzzer target for what a restarted vmmd reads to find
 * its monitors again (vm_adopt.c): the runtime record STATE/run/NAME.json
 * (vmmd_runrec_from_json) and the monitor's end file, its --stats-file
 * (vmmd_endfile_status). Both are files that a crash or a full disk may
 * have cut short, and that anyone with access to the directories may have
 * written.
 *
 * Input: a JSON text, parsed as state_read_json() parses a file (json-c,
 * up to the first NUL), read both ways.
 *
 * Invariants: an accepted record has a pid in 0..INT_MAX and a control
 * socket path that fits its buffer, NUL-terminated like the reason; it
 * reads back (vmmd_runrec_to_json, vmmd_runrec_from_json) the same, except
 * that the reason and exit status are kept only with restart_pending. The
 * end file's status is its integer "exit_status" clamped to an int, or -1. */
#include <limits.h>

#include "tests/fuzz/fuzz_json.h"
#include "vmmd/vmdef.h"

static void runrec(struct json_object *o)
{
	struct vmmd_runrec r, back;
	struct json_object *j;

	if (vmmd_runrec_from_json(o, &r) < 0)
		return;
	FZ_CHECK(r.pid >= 0);
	FZ_CHECK(memchr(r.sock, 0, sizeof(r.sock)) && memchr(r.reason, 0, sizeof(r.reason)));
	j = vmmd_runrec_to_json(&r);
	FZ_CHECK(vmmd_runrec_from_json(j, &back) == 0);
	json_object_put(j);
	FZ_CHECK(back.pid == r.pid && back.starttime == r.starttime &&
		 back.started_at_ms == r.started_at_ms && !strcmp(back.sock, r.sock));
	FZ_CHECK(back.restart_pending == r.restart_pending);
	if (r.restart_pending)
		FZ_CHECK(!strcmp(back.reason, r.reason) && back.exit_status == r.exit_status);
	else
		FZ_CHECK(!back.reason[0] && back.exit_status == -1);
}

static void endfile(struct json_object *o)
{
	struct json_object *v;
	int status = vmmd_endfile_status(o);

	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "exit_status", &v) && json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		FZ_CHECK(status == (n > INT_MAX ? INT_MAX : n < INT_MIN ? INT_MIN : n));
	} else {
		FZ_CHECK(status == -1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o;

	fz_quiet_logging(LOG_P_ERR - 1);
	o = fz_json_parse(data, size);
	if (!o)
		return 0;
	runrec(o);
	endfile(o);
	json_object_put(o);
	return 0;
}

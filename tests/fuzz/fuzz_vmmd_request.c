/* fuzz_vmmd_request.c: libFuzzer target for vmmd's request checks: a
 * client's lines as server.c's process_line() takes them, through
 * jsonl_parse_request() and what server_dispatch() checks before a handler
 * runs (vmmd/request.c: the method table, the read-only socket, shutdown,
 * the parameter keys, params.name).
 *
 * Input: a config byte, then the lines (split at '\n' by jsonl_feed, in one
 * chunk, the last one ended for it). Config byte: bit 0 the read-only socket, bit 1 the daemon is
 * shutting down.
 *
 * Invariants: a request that gets through names a method of the table, is
 * no changing method on the read-only socket or while shutting down, has
 * only the parameters the method lists (when it lists them), and a string
 * params.name where the method needs a VM; a refusal is an error reply with
 * the code that the first failed check gives, "field" with invalid_params,
 * and the request's id; every reply serializes to one line. */
#include <json-c/json.h>

#include "common/jsonl.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmmd/request.h"

struct ctx {
	bool readonly, shutting_down;
};

FZ_NOCOV static const char *error_code(struct json_object *reply, struct json_object *req)
{
	struct json_object *e, *code, *id, *rid;

	FZ_CHECK(reply && json_object_object_get_ex(reply, "error", &e));
	FZ_CHECK(json_object_object_get_ex(e, "code", &code) &&
		 json_object_is_type(code, json_type_string));
	FZ_CHECK(json_object_object_get_ex(reply, "id", &id));
	/* the framing's refusals echo what id they could (common/jsonl.c) */
	if (req && json_object_object_get_ex(req, "id", &rid) && rid)
		FZ_CHECK(json_object_equal(id, rid));
	else if (req)
		FZ_CHECK(!id);
	return json_object_get_string(code);
}

FZ_NOCOV static bool has_field(struct json_object *reply)
{
	struct json_object *e, *field;

	return json_object_object_get_ex(reply, "error", &e) &&
	       json_object_object_get_ex(e, "field", &field) &&
	       json_object_is_type(field, json_type_string);
}

FZ_NOCOV static void check_serializes(struct json_object *reply)
{
	size_t len;
	char *s = jsonl_serialize(reply, &len);

	FZ_CHECK(s && len && s[len - 1] == '\n' && !memchr(s, '\n', len - 1));
	free(s);
}

FZ_NOCOV static bool listed(const char *const *keys, const char *key)
{
	for (; *keys; keys++)
		if (!strcmp(*keys, key))
			return true;
	return false;
}

/* What the checks must find, from the table alone: the expected error code
 * of the first check that fails, or NULL. */
FZ_NOCOV static const char *predict(const struct ctx *x, const char *method,
				    struct json_object *params, const struct vmmd_method **out)
{
	const struct vmmd_method *m = NULL;
	struct json_object *name;

	for (unsigned i = 0; i < VMMD_M_COUNT; i++)
		if (!strcmp(vmmd_methods[i].name, method))
			m = &vmmd_methods[i];
	*out = m;
	if (!m)
		return JSONL_E_METHOD;
	if (m->writes && x->readonly)
		return VMMD_E_READ_ONLY;
	if (m->writes && x->shutting_down)
		return VMMD_E_SHUTTING_DOWN;
	if (m->keys && params) {
		json_object_object_foreach(params, key, v) {
			(void)v;
			if (!listed(m->keys, key))
				return JSONL_E_PARAMS;
		}
	}
	if (m->vm && (!params || !json_object_object_get_ex(params, "name", &name) ||
		      !json_object_is_type(name, json_type_string)))
		return JSONL_E_PARAMS;
	return NULL;
}

static int on_line(void *opaque, char *line)
{
	const struct ctx *x = opaque;
	struct json_object *req, *params, *reply;
	const struct vmmd_method *m, *want_m;
	const char *method, *name, *want;

	if (!line)
		return 0;
	if (jsonl_parse_request(line, &req, &method, &params, &reply) < 0) {
		error_code(reply, NULL);
		check_serializes(reply);
		json_object_put(reply);
		return 0;
	}
	want = predict(x, method, params, &want_m);
	reply = NULL;
	m = vmmd_request_method(req, method, x->readonly, x->shutting_down, "/run/vmmd/vmmd.sock",
				&reply);
	if (m) {
		FZ_CHECK(m == want_m && !reply);
		reply = vmmd_request_params(req, m, params, &name);
		if (!reply && m->vm) {
			struct json_object *n;
			FZ_CHECK(name && json_object_object_get_ex(params, "name", &n) &&
				 json_object_get_string(n) == name);
		}
	}
	if (reply) {
		const char *code = error_code(reply, req);
		FZ_CHECK(want && !strcmp(code, want));
		FZ_CHECK(strcmp(code, JSONL_E_PARAMS) || has_field(reply));
		check_serializes(reply);
		json_object_put(reply);
	} else {
		FZ_CHECK(!want);
	}
	json_object_put(req);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	uint8_t cfg = fz_u8(&in);
	struct ctx x = { .readonly = cfg & 1, .shutting_down = cfg & 2 };
	struct jsonl_buf b = { 0 };

	fz_quiet_logging(LOG_P_ERR - 1);
	FZ_CHECK(jsonl_feed(&b, (const char *)in.p, in.n, on_line, &x) == 0);
	FZ_CHECK(jsonl_feed(&b, "\n", 1, on_line, &x) == 0); /* the last line, unfinished */
	jsonl_buf_free(&b);
	return 0;
}

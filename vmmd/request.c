/* request.c: see request.h. */
#include "vmmd/request.h"

#include <stdio.h>
#include <string.h>

#include "common/jsonl.h"
#include "common/util.h"

static const char *const name_only[] = { "name", NULL };
static const char *const no_params[] = { NULL };
static const char *const stop_keys[] = { "name", "force", "timeout", NULL };
static const char *const switch_keys[] = { "name", NULL };
static const char *const limit_keys[] = { "name", "nic", "limit", NULL };

const struct vmmd_method vmmd_methods[VMMD_M_COUNT] = {
	[VMMD_M_VERSION] = { "daemon.version", no_params, false, false },
	[VMMD_M_LIST] = { "vm.list", no_params, false, false },
	[VMMD_M_INFO] = { "vm.info", name_only, true, false },
	[VMMD_M_STATS] = { "vm.stats", name_only, true, false },
	[VMMD_M_SUBSCRIBE] = { "events.subscribe", no_params, false, false },
	[VMMD_M_SWITCH_LIST] = { "switch.list", switch_keys, false, false },
	[VMMD_M_SWITCH_STATS] = { "switch.stats", switch_keys, false, false },
	[VMMD_M_CREATE] = { "vm.create", NULL, false, true },
	[VMMD_M_DELETE] = { "vm.delete", name_only, true, true },
	[VMMD_M_START] = { "vm.start", name_only, true, true },
	/* stop and restart look the VM up after their other parameters */
	[VMMD_M_STOP] = { "vm.stop", stop_keys, false, true },
	[VMMD_M_RESTART] = { "vm.restart", stop_keys, false, true },
	[VMMD_M_SET_LIMIT] = { "vm.set_limit", limit_keys, true, true },
};

const struct vmmd_method *vmmd_request_method(struct json_object *req, const char *method,
					      bool readonly, bool shutting_down,
					      const char *sock_path, struct json_object **reply)
{
	const struct vmmd_method *m = NULL;

	for (unsigned i = 0; i < ARRAY_SIZE(vmmd_methods) && !m; i++)
		if (!strcmp(method, vmmd_methods[i].name))
			m = &vmmd_methods[i];
	if (!m)
		*reply = jsonl_error(req, JSONL_E_METHOD, "unknown method '%.80s' (see daemon.version)",
				     method);
	else if (readonly && m->writes)
		*reply = jsonl_error(req, VMMD_E_READ_ONLY,
				     "%s changes state; this is the read-only socket (use %s)", method,
				     sock_path);
	else if (shutting_down && m->writes)
		*reply = jsonl_error(req, VMMD_E_SHUTTING_DOWN, "vmmd is shutting down");
	else
		return m;
	return NULL;
}

struct json_object *vmmd_params_error(struct json_object *req, const char *field, const char *fmt,
				      const char *arg)
{
	struct json_object *reply = jsonl_error(req, JSONL_E_PARAMS, fmt, arg), *e;

	if (json_object_object_get_ex(reply, "error", &e))
		json_object_object_add(e, "field", json_object_new_string(field));
	return reply;
}

/* Checks that params has only the allowed keys (NULL-terminated list). */
static struct json_object *check_keys(struct json_object *req, const char *method,
				      struct json_object *params, const char *const *allowed)
{
	if (!params)
		return NULL;
	json_object_object_foreach(params, key, v) {
		bool ok = false;
		(void)v;
		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(*a, key);
		if (!ok) {
			char msg[160];
			snprintf(msg, sizeof(msg), "%.60s: unknown parameter of %s", key, method);
			return vmmd_params_error(req, key, "%s", msg);
		}
	}
	return NULL;
}

const char *vmmd_request_name(struct json_object *req, struct json_object *params,
			      struct json_object **reply)
{
	struct json_object *v;

	if (!params || !json_object_object_get_ex(params, "name", &v)) {
		*reply = vmmd_params_error(req, "name", "%s", "name: missing");
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		*reply = vmmd_params_error(req, "name", "%s", "name: must be a string");
		return NULL;
	}
	return json_object_get_string(v);
}

struct json_object *vmmd_request_params(struct json_object *req, const struct vmmd_method *m,
					struct json_object *params, const char **name)
{
	struct json_object *reply = NULL;

	*name = NULL;
	if (m->keys && (reply = check_keys(req, m->name, params, m->keys)))
		return reply;
	if (m->vm && !(*name = vmmd_request_name(req, params, &reply)))
		return reply;
	return NULL;
}

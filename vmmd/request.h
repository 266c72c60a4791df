/* request.h: the checks a control request passes before the daemon acts on
 * it: the method table (names, parameters, which need a VM, which change
 * state), the socket and shutdown refusals, and the parameter keys. They
 * need no daemon state, so unit tests and the fuzz target call them alone;
 * server_dispatch() makes them in the order below. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>

/* Stable error codes beyond the framing's (jsonl.h). */
#define VMMD_E_NOT_FOUND "not_found"
#define VMMD_E_EXISTS "already_exists"
#define VMMD_E_MAC_CONFLICT "mac_conflict"
#define VMMD_E_NOT_RUNNING "not_running"
#define VMMD_E_RUNNING "running"
#define VMMD_E_BUSY "busy"
#define VMMD_E_START_FAILED "start_failed"
#define VMMD_E_MONITOR "monitor_error"
#define VMMD_E_STORAGE "storage_error"
#define VMMD_E_READ_ONLY "read_only"
#define VMMD_E_UNSUPPORTED "unsupported"
#define VMMD_E_SHUTTING_DOWN "shutting_down"
#define VMMD_E_NETWORK "network_error"

/* The protocol's methods (vmmd/PROTOCOL.md), in the order daemon.version
 * lists them. */
enum vmmd_method_id {
	VMMD_M_VERSION,
	VMMD_M_LIST,
	VMMD_M_INFO,
	VMMD_M_STATS,
	VMMD_M_SUBSCRIBE,
	VMMD_M_SWITCH_LIST,
	VMMD_M_SWITCH_STATS,
	VMMD_M_CREATE,
	VMMD_M_DELETE,
	VMMD_M_START,
	VMMD_M_STOP,
	VMMD_M_RESTART,
	VMMD_M_SET_LIMIT,
	VMMD_M_COUNT
};

struct vmmd_method {
	const char *name;
	/* the parameters it takes (NULL-terminated); NULL: the handler checks them */
	const char *const *keys;
	bool vm;     /* params.name must name a VM, found before the handler runs */
	bool writes; /* changes state: the read-only socket and a shutting-down daemon refuse it */
};

/* Indexed by enum vmmd_method_id. */
extern const struct vmmd_method vmmd_methods[VMMD_M_COUNT];

/* The method a request calls, or NULL with *reply set: method_not_found,
 * read_only (a changing method on the read-only socket; sock_path: the
 * socket to use) or shutting_down (a changing method while the daemon
 * exits). */
const struct vmmd_method *vmmd_request_method(struct json_object *req, const char *method,
					      bool readonly, bool shutting_down,
					      const char *sock_path, struct json_object **reply);

/* The parameters of a request to m: only m's keys (when m lists them), and
 * where m needs a VM, params.name a string, returned in *name. NULL, or the
 * invalid_params reply. */
struct json_object *vmmd_request_params(struct json_object *req, const struct vmmd_method *m,
					struct json_object *params, const char **name);

/* params.name, which must be a string; NULL with *reply set if it is not. */
const char *vmmd_request_name(struct json_object *req, struct json_object *params,
			      struct json_object **reply);

/* An invalid_params reply: the message fmt with arg, and "field". */
struct json_object *vmmd_params_error(struct json_object *req, const char *field, const char *fmt,
				      const char *arg);

/* jsonl.h: the control protocol's framing, shared by the monitor, vmmd and
 * vmctl: newline-delimited JSON over a stream socket, one request per line
 *   {"id":7,"method":"vm.start","params":{...}}
 * answered by {"id":7,"result":{...}} or {"id":7,"error":{"code":"not_found",
 * "message":"..."}}. Error codes are stable symbols; messages are for people. */
#pragma once
#include <json-c/json.h>
#include <stddef.h>

#define JSONL_LINE_MAX (256 * 1024)

/* Protocol error codes shared by every server. */
#define JSONL_E_PARSE "parse_error"
#define JSONL_E_INVALID "invalid_request"
#define JSONL_E_METHOD "method_not_found"
#define JSONL_E_PARAMS "invalid_params"
#define JSONL_E_TOO_LARGE "request_too_large"
#define JSONL_E_INTERNAL "internal_error"

/* Accumulates bytes from a stream and yields complete lines. */
struct jsonl_buf {
	char *data;
	size_t len, cap;
	int discarding; /* inside an over-long line: drop until its newline */
};

void jsonl_buf_free(struct jsonl_buf *b);

/* Appends n bytes and calls on_line(ctx, line) for each complete line
 * (NUL-terminated, without the newline; empty lines skipped). A line longer
 * than JSONL_LINE_MAX is dropped and on_line is called with NULL once, so the
 * server can answer request_too_large. Stops early and returns the callback's
 * value if it returns non-zero; else 0, or -ENOMEM. */
int jsonl_feed(struct jsonl_buf *b, const char *in, size_t n, int (*on_line)(void *ctx, char *line),
	       void *ctx);

/* Parses one request line. On success returns 0 and sets *req (owned by the
 * caller), *method and *params (borrowed from *req; params may be NULL).
 * On failure returns -EINVAL and sets *reply to an error reply to send. */
int jsonl_parse_request(const char *line, struct json_object **req, const char **method,
			struct json_object **params, struct json_object **reply);

/* Builds {"id":id,"result":result} (takes result; id copied from req). */
struct json_object *jsonl_result(struct json_object *req, struct json_object *result);
/* Builds {"id":..,"error":{"code":code,"message":...}}; req may be NULL. */
struct json_object *jsonl_error(struct json_object *req, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Serializes o plus a newline into a malloc'd string (*len set). */
char *jsonl_serialize(struct json_object *o, size_t *len);
/* Writes o and a newline to a blocking fd. 0 or -errno. */
int jsonl_send(int fd, struct json_object *o);

/* jsonl.c: see jsonl.h. */
#include "common/jsonl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void jsonl_buf_free(struct jsonl_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int buf_append(struct jsonl_buf *b, const char *in, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = MAX(b->cap * 2, b->len + n + 1);
		char *d = realloc(b->data, MAX(cap, (size_t)4096));
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = MAX(cap, (size_t)4096);
	}
	memcpy(b->data + b->len, in, n);
	b->len += n;
	return 0;
}

int jsonl_feed(struct jsonl_buf *b, const char *in, size_t n, int (*on_line)(void *ctx, char *line),
	       void *ctx)
{
	while (n > 0) {
		const char *nl = memchr(in, '\n', n);
		size_t take = nl ? (size_t)(nl - in) : n;
		int r;

		if (b->discarding) {
			if (nl)
				b->discarding = 0;
		} else if (b->len + take > JSONL_LINE_MAX) {
			b->len = 0;
			b->discarding = !nl;
			r = on_line(ctx, NULL);
			if (r)
				return r;
		} else {
			r = buf_append(b, in, take);
			if (r < 0)
				return r;
			if (nl) {
				b->data[b->len] = 0;
				b->len = 0;
				if (b->data[0] && strspn(b->data, " \t\r") != strlen(b->data)) {
					r = on_line(ctx, b->data);
					if (r)
						return r;
				}
			}
		}
		in += take + (nl ? 1 : 0);
		n -= take + (nl ? 1 : 0);
	}
	return 0;
}

static struct json_object *copy_id(struct json_object *req)
{
	struct json_object *id;

	if (req && json_object_is_type(req, json_type_object) &&
	    json_object_object_get_ex(req, "id", &id))
		return json_object_get(id);
	return NULL;
}

struct json_object *jsonl_result(struct json_object *req, struct json_object *result)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", copy_id(req));
	json_object_object_add(o, "result", result ? result : json_object_new_object());
	return o;
}

struct json_object *jsonl_error(struct json_object *req, const char *code, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "id", copy_id(req));
	json_object_object_add(o, "error", e);
	return o;
}

int jsonl_parse_request(const char *line, struct json_object **req, const char **method,
			struct json_object **params, struct json_object **reply)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o, *m, *id;
	enum json_tokener_error jerr;
	size_t len = strlen(line);

	*req = NULL;
	*params = NULL;
	*reply = NULL;
	if (!tok) {
		*reply = jsonl_error(NULL, JSONL_E_INTERNAL, "out of memory");
		return -EINVAL;
	}
	/* with its NUL: a number or literal at the end of the line ends there
	 * (without, json-c waits for more and "1" would be no JSON text) */
	o = json_tokener_parse_ex(tok, line, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (o && jerr == json_tokener_success && (size_t)tok->char_offset < len &&
	    strspn(line + tok->char_offset, " \t\r") != len - (size_t)tok->char_offset) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success) {
		json_object_put(o);
		*reply = jsonl_error(NULL, JSONL_E_PARSE, "request is not a valid JSON text");
		return -EINVAL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		*reply = jsonl_error(NULL, JSONL_E_INVALID, "request must be a JSON object");
		json_object_put(o);
		return -EINVAL;
	}
	if (json_object_object_get_ex(o, "id", &id) && id &&
	    !json_object_is_type(id, json_type_int) && !json_object_is_type(id, json_type_string)) {
		*reply = jsonl_error(NULL, JSONL_E_INVALID, "\"id\" must be an integer or a string");
		json_object_put(o);
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, "method", &m) || !json_object_is_type(m, json_type_string)) {
		*reply = jsonl_error(o, JSONL_E_INVALID, "request has no \"method\" string");
		json_object_put(o);
		return -EINVAL;
	}
	if (json_object_object_get_ex(o, "params", params) && *params &&
	    !json_object_is_type(*params, json_type_object)) {
		*reply = jsonl_error(o, JSONL_E_INVALID, "\"params\" must be an object");
		json_object_put(o);
		*params = NULL;
		return -EINVAL;
	}
	*method = json_object_get_string(m);
	*req = o;
	return 0;
}

char *jsonl_serialize(struct json_object *o, size_t *len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = strlen(s);
	char *out = malloc(n + 2);

	if (!out)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = 0;
	*len = n + 1;
	return out;
}

int jsonl_send(int fd, struct json_object *o)
{
	size_t len;
	_cleanup_free_ char *s = jsonl_serialize(o, &len);

	if (!s)
		return -ENOMEM;
	return write_all(fd, s, len);
}

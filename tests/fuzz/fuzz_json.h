/* fuzz_json.h: what the fuzz targets of JSON readers share: the input
 * parsed as the daemon parses its files, and a model of "one JSON text". */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "common/util.h"
#include "tests/fuzz/fuzz_input.h"

/* data parsed as state_read_json() parses a file: json-c, up to the first
 * NUL, what follows the value ignored. NULL when it is no JSON. */
static inline struct json_object *fz_json_parse(const uint8_t *data, size_t size)
{
	char *text = fz_strndup(data, size);
	struct json_object *o = json_tokener_parse(text);

	free(text);
	return o;
}

/* s is one JSON text (as json-c reads a whole string) followed by nothing
 * but characters of blanks. */
FZ_NOCOV static inline bool fz_one_json_text(const char *s, const char *blanks)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	const char *rest;
	bool ok;

	FZ_CHECK(tok);
	o = json_tokener_parse_ex(tok, s, -1);
	rest = s + MIN(json_tokener_get_parse_end(tok), strlen(s)); /* it may count the NUL */
	ok = o && json_tokener_get_error(tok) == json_tokener_success &&
	     strspn(rest, blanks) == strlen(rest);
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

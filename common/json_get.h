/* json_get.h: values out of json-c objects, for the readers of the monitor's
 * stats and the daemon's replies (monitor, vmmd, vmctl). A NULL object, a
 * missing key or a wrong type reads as NULL or 0. */
#pragma once
#include <json-c/json.h>
#include <stdint.h>

/* o[key] as a string, or NULL. */
const char *json_get_str(struct json_object *o, const char *key);
/* o[a] (or o[a][b] when b is not NULL) as a number. */
int64_t json_get_i64(struct json_object *o, const char *a, const char *b);
uint64_t json_get_u64(struct json_object *o, const char *a, const char *b);

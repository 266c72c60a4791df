/* json_get.c: see json_get.h. */
#include "common/json_get.h"

#include <stddef.h>

static struct json_object *lookup(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, a, &v) || !v)
		return NULL;
	if (b && (!json_object_object_get_ex(v, b, &v) || !v))
		return NULL;
	return v;
}

const char *json_get_str(struct json_object *o, const char *key)
{
	struct json_object *v = lookup(o, key, NULL);

	return v ? json_object_get_string(v) : NULL;
}

int64_t json_get_i64(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = lookup(o, a, b);

	return v ? json_object_get_int64(v) : 0;
}

uint64_t json_get_u64(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = lookup(o, a, b);

	return v ? json_object_get_uint64(v) : 0;
}

/* Unit tests of the control protocol framing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonl.h"

struct lines {
	char got[8][128];
	int n, too_long;
};

static int collect(void *ctx, char *line)
{
	struct lines *l = ctx;
	if (!line) {
		l->too_long++;
		return 0;
	}
	snprintf(l->got[l->n++], sizeof(l->got[0]), "%s", line);
	return 0;
}

static void test_feed_splits_lines(void **state)
{
	struct jsonl_buf b = { 0 };
	struct lines l = { 0 };
	(void)state;
	assert_int_equal(jsonl_feed(&b, "{\"a\":1}\n{\"b\"", 12, collect, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.got[0], "{\"a\":1}");
	assert_int_equal(jsonl_feed(&b, ":2}\n\n  \n", 8, collect, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.got[1], "{\"b\":2}");
	jsonl_buf_free(&b);
}

static void test_feed_too_long(void **state)
{
	struct jsonl_buf b = { 0 };
	struct lines l = { 0 };
	char *big = malloc(JSONL_LINE_MAX + 10);
	(void)state;
	memset(big, 'x', JSONL_LINE_MAX + 10);
	assert_int_equal(jsonl_feed(&b, big, JSONL_LINE_MAX + 10, collect, &l), 0);
	assert_int_equal(l.too_long, 1);
	assert_int_equal(jsonl_feed(&b, "yyy\n{}\n", 7, collect, &l), 0);
	assert_int_equal(l.too_long, 1); /* rest of the long line discarded */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.got[0], "{}");
	free(big);
	jsonl_buf_free(&b);
}

static const char *error_code(struct json_object *reply)
{
	struct json_object *e, *c;
	assert_true(json_object_object_get_ex(reply, "error", &e));
	assert_true(json_object_object_get_ex(e, "code", &c));
	return json_object_get_string(c);
}

static void test_parse_request(void **state)
{
	struct json_object *req, *params, *reply, *id;
	const char *method;
	(void)state;

	assert_int_equal(jsonl_parse_request("{\"id\":7,\"method\":\"status\",\"params\":{\"x\":1}}",
					     &req, &method, &params, &reply), 0);
	assert_string_equal(method, "status");
	assert_non_null(params);
	reply = jsonl_result(req, NULL);
	assert_true(json_object_object_get_ex(reply, "id", &id));
	assert_int_equal(json_object_get_int(id), 7);
	json_object_put(reply);
	json_object_put(req);

	assert_int_equal(jsonl_parse_request("{nope", &req, &method, &params, &reply), -EINVAL);
	assert_string_equal(error_code(reply), JSONL_E_PARSE);
	json_object_put(reply);
	assert_int_equal(jsonl_parse_request("[1]", &req, &method, &params, &reply), -EINVAL);
	assert_string_equal(error_code(reply), JSONL_E_INVALID);
	json_object_put(reply);
	/* a number or literal that ends the line is a JSON text too, not an object */
	assert_int_equal(jsonl_parse_request("1", &req, &method, &params, &reply), -EINVAL);
	assert_string_equal(error_code(reply), JSONL_E_INVALID);
	json_object_put(reply);
	assert_int_equal(jsonl_parse_request("true", &req, &method, &params, &reply), -EINVAL);
	assert_string_equal(error_code(reply), JSONL_E_INVALID);
	json_object_put(reply);
	assert_int_equal(jsonl_parse_request("12x", &req, &method, &params, &reply), -EINVAL);
	assert_string_equal(error_code(reply), JSONL_E_PARSE);
	json_object_put(reply);
	assert_int_equal(jsonl_parse_request("{\"id\":1}", &req, &method, &params, &reply), -EINVAL);
	assert_string_equal(error_code(reply), JSONL_E_INVALID);
	assert_true(json_object_object_get_ex(reply, "id", &id));
	assert_int_equal(json_object_get_int(id), 1);
	json_object_put(reply);
	assert_int_equal(jsonl_parse_request("{\"method\":\"x\",\"params\":3}", &req, &method,
					     &params, &reply), -EINVAL);
	json_object_put(reply);
	assert_int_equal(jsonl_parse_request("{\"method\":\"x\"} {}", &req, &method, &params,
					     &reply), -EINVAL);
	json_object_put(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_splits_lines),
		cmocka_unit_test(test_feed_too_long),
		cmocka_unit_test(test_parse_request),
	};
	return cmocka_run_group_tests_name("jsonl", tests, NULL, NULL);
}

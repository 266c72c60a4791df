/* Unit tests of the checks a request passes before vmmd's handlers run
 * (vmmd/request.c): each refusal's code, and its field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonl.h"
#include "vmmd/request.h"

/* The refusal of line on a socket (readonly) of a daemon (shutting_down),
 * checking that its field is field: its code, or "" when it gets through. */
static const char *check(const char *line, bool readonly, bool shutting_down, const char *field)
{
	static char code[32];
	struct json_object *req, *params, *reply = NULL, *e, *v;
	const struct vmmd_method *m;
	const char *method, *name;

	assert_int_equal(jsonl_parse_request(line, &req, &method, &params, &reply), 0);
	m = vmmd_request_method(req, method, readonly, shutting_down, "/run/vmmd/vmmd.sock", &reply);
	if (m)
		reply = vmmd_request_params(req, m, params, &name);
	code[0] = 0;
	if (reply) {
		assert_true(json_object_object_get_ex(reply, "error", &e));
		assert_true(json_object_object_get_ex(e, "code", &v));
		snprintf(code, sizeof(code), "%s", json_object_get_string(v));
		if (field) {
			assert_true(json_object_object_get_ex(e, "field", &v));
			assert_string_equal(json_object_get_string(v), field);
		}
		assert_true(json_object_object_get_ex(reply, "id", &v));
		assert_int_equal(json_object_get_int(v), 1);
		json_object_put(reply);
	} else if (m->vm) {
		assert_string_equal(name, "web1");
	}
	json_object_put(req);
	return code;
}

static void test_refusals(void **state)
{
	(void)state;
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.list\"}", true, true, NULL), "");
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.info\",\"params\":{\"name\":\"web1\"}}",
				  true, false, NULL), "");
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.start\",\"params\":{\"name\":\"web1\"}}",
				  false, false, NULL), "");
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.nope\"}", false, false, NULL),
			    JSONL_E_METHOD);
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.start\",\"params\":{\"name\":\"web1\"}}",
				  true, false, NULL), VMMD_E_READ_ONLY);
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.create\"}", false, true, NULL),
			    VMMD_E_SHUTTING_DOWN);
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.list\",\"params\":{\"name\":\"a\"}}", false,
				  false, "name"), JSONL_E_PARAMS);
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.stop\",\"params\":{\"name\":\"a\",\"x\":1}}",
				  false, false, "x"), JSONL_E_PARAMS);
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.info\"}", false, false, "name"),
			    JSONL_E_PARAMS);
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.info\",\"params\":{\"name\":1}}", false,
				  false, "name"), JSONL_E_PARAMS);
	/* stop looks its VM up after its other parameters: no name is no refusal here */
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.stop\"}", false, false, NULL), "");
	/* vm.create's handler checks its parameters itself */
	assert_string_equal(check("{\"id\":1,\"method\":\"vm.create\",\"params\":{\"x\":1}}", false,
				  false, NULL), "");
}

static void test_table(void **state)
{
	(void)state;
	for (unsigned i = 0; i < VMMD_M_COUNT; i++) {
		assert_non_null(vmmd_methods[i].name);
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(vmmd_methods[i].name, vmmd_methods[j].name);
	}
	assert_string_equal(vmmd_methods[VMMD_M_VERSION].name, "daemon.version");
	assert_string_equal(vmmd_methods[VMMD_M_SET_LIMIT].name, "vm.set_limit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

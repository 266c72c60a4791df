/* netbridge helpers: MAC parsing/formatting and name validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "netbridge/netbridge.h"

static void test_parse_mac_ok(void **state)
{
	uint8_t mac[6];
	char s[18];
	(void)state;

	assert_int_equal(nb_parse_mac("02:00:5e:C6:33:0A", mac), 0);
	assert_int_equal(mac[0], 0x02);
	assert_int_equal(mac[3], 0xc6);
	assert_int_equal(mac[5], 0x0a);
	nb_format_mac(mac, s);
	assert_string_equal(s, "02:00:5e:c6:33:0a");
}

static void test_parse_mac_bad(void **state)
{
	uint8_t mac[6] = { 1, 2, 3, 4, 5, 6 };
	(void)state;

	assert_int_equal(nb_parse_mac("02:00:5e:c6:33", mac), -EINVAL);
	assert_int_equal(nb_parse_mac("02:00:5e:c6:33:0g", mac), -EINVAL);
	assert_int_equal(nb_parse_mac("02-00-5e-c6-33-0a", mac), -EINVAL);
	assert_int_equal(nb_parse_mac("02:00:5e:c6:33:0a:", mac), -EINVAL);
	assert_int_equal(nb_parse_mac(NULL, mac), -EINVAL);
	/* untouched on failure */
	assert_int_equal(mac[0], 1);
	assert_int_equal(mac[5], 6);
}

static void test_valid_name(void **state)
{
	(void)state;
	assert_int_equal(nb_valid_name("vmm-web1-0", 16), 0);
	assert_int_equal(nb_valid_name("a.b_c-9", 16), 0);
	assert_int_equal(nb_valid_name("123456789012345", 16), 0);
	assert_int_equal(nb_valid_name("1234567890123456", 16), -EINVAL);
	assert_int_equal(nb_valid_name("", 16), -EINVAL);
	assert_int_equal(nb_valid_name("..", 16), -EINVAL);
	assert_int_equal(nb_valid_name("a/b", 16), -EINVAL);
	assert_int_equal(nb_valid_name("a b", 16), -EINVAL);
	assert_int_equal(nb_valid_name(NULL, 16), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_mac_ok),
		cmocka_unit_test(test_parse_mac_bad),
		cmocka_unit_test(test_valid_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

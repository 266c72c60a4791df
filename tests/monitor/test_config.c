/* Unit tests of the monitor's flag and JSON config parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/config.h"
#include "common/log.h"

static int parse(struct monitor_config *c, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"vmm-monitor";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	return config_parse_args(c, argc, argv);
}

static void test_flags(void **state)
{
	struct monitor_config c;
	const char *args[] = { "--kernel", "k.elf", "--initrd", "i.gz", "--cmdline", "a b",
			       "--memory", "256", "--vcpus", "2", "--control", "/tmp/s",
			       "--console", "file:/tmp/log", "--stats", "json", NULL };
	(void)state;
	config_init(&c);
	assert_int_equal(parse(&c, args), 0);
	assert_string_equal(c.kernel, "k.elf");
	assert_string_equal(c.initrd, "i.gz");
	assert_string_equal(c.cmdline, "a b");
	assert_int_equal(c.memory_mib, 256);
	assert_int_equal(c.vcpus, 2);
	assert_string_equal(c.control, "/tmp/s");
	assert_int_equal(c.console, CONSOLE_FILE);
	assert_string_equal(c.console_path, "/tmp/log");
	assert_int_equal(c.stats, STATS_JSON);
	assert_int_equal(config_validate(&c, 1ull << 34), 0);
	config_free(&c);
}

static void test_bad_flags(void **state)
{
	struct monitor_config c;
	const char *unknown[] = { "--kernel", "k", "--bogus", NULL };
	const char *notnum[] = { "--memory", "12x", NULL };
	const char *neg[] = { "--vcpus", "-1", NULL };
	const char *missing[] = { "--kernel", NULL };
	const char *stray[] = { "--kernel", "k", "extra", NULL };
	const char *console[] = { "--console", "tcp:1", NULL };
	(void)state;
	config_init(&c);
	assert_int_equal(parse(&c, unknown), MON_EXIT_USAGE);
	assert_int_equal(parse(&c, notnum), MON_EXIT_USAGE);
	assert_int_equal(parse(&c, neg), MON_EXIT_USAGE);
	assert_int_equal(parse(&c, missing), MON_EXIT_USAGE);
	assert_int_equal(parse(&c, stray), MON_EXIT_USAGE);
	assert_int_equal(parse(&c, console), MON_EXIT_USAGE);
	config_free(&c);
}

/* An unknown short option stops getopt inside its argument ("-ab"); the
 * next call must still parse its own argv from the start. */
static void test_parse_again(void **state)
{
	struct monitor_config c;
	const char *cluster[] = { "-ab", NULL };
	const char *good[] = { "--kernel", "k", "--memory", "64", NULL };
	(void)state;
	config_init(&c);
	assert_int_equal(parse(&c, cluster), MON_EXIT_USAGE);
	assert_int_equal(parse(&c, good), 0);
	assert_string_equal(c.kernel, "k");
	assert_int_equal(c.memory_mib, 64);
	config_free(&c);
}

static void test_validate_ranges(void **state)
{
	struct monitor_config c;
	(void)state;
	config_init(&c);
	assert_int_equal(config_validate(&c, 0), MON_EXIT_USAGE); /* no kernel */
	c.kernel = strdup("k");
	c.memory_mib = 4;
	assert_int_equal(config_validate(&c, 1ull << 34), MON_EXIT_CONFIG);
	c.memory_mib = 2048;
	assert_int_equal(config_validate(&c, 1ull << 30), MON_EXIT_CONFIG); /* over host */
	c.memory_mib = 128;
	c.vcpus = 0;
	assert_int_equal(config_validate(&c, 1ull << 34), MON_EXIT_CONFIG);
	c.vcpus = MON_VCPUS_MAX + 1;
	assert_int_equal(config_validate(&c, 1ull << 34), MON_EXIT_CONFIG);
	c.vcpus = 1;
	assert_int_equal(config_validate(&c, 1ull << 34), 0);
	config_free(&c);
}

static void test_json(void **state)
{
	struct monitor_config c;
	(void)state;
	config_init(&c);
	assert_int_equal(config_load_json_string(&c,
		"{\"kernel\":\"/k\",\"memory_mib\":64,\"vcpus\":2,\"cmdline\":\"idle\","
		"\"console\":\"none\"}\n", "t.json"), 0);
	assert_string_equal(c.kernel, "/k");
	assert_int_equal(c.memory_mib, 64);
	assert_int_equal(c.vcpus, 2);
	assert_int_equal(c.console, CONSOLE_NONE);
	assert_int_equal(config_load_json_string(&c, "{\"kernal\":\"/k\"}", "t"), MON_EXIT_USAGE);
	assert_int_equal(config_load_json_string(&c, "{\"memory_mib\":\"64\"}", "t"), MON_EXIT_USAGE);
	assert_int_equal(config_load_json_string(&c, "{\"memory_mib\":-5}", "t"), MON_EXIT_USAGE);
	assert_int_equal(config_load_json_string(&c, "{\"kernel\":", "t"), MON_EXIT_DATAERR);
	assert_int_equal(config_load_json_string(&c, "[1,2]", "t"), MON_EXIT_DATAERR);
	assert_int_equal(config_load_json_string(&c, "{} x", "t"), MON_EXIT_DATAERR);
	assert_int_equal(config_load_json(&c, "/nonexistent/vm.json"), MON_EXIT_NOINPUT);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_bad_flags),
		cmocka_unit_test(test_parse_again),
		cmocka_unit_test(test_validate_ranges),
		cmocka_unit_test(test_json),
	};
	log_set_max_level(0); /* the errors are expected */
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

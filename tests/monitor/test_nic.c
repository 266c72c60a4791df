/* test_nic.c: the --nic flag: every key, the opt= switch lists, and the
 * errors, through nic_parse and config_parse_args. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "monitor/config.h"
#include "monitor/nic.h"

static void test_tap_defaults(void **state)
{
	struct nic_config c;
	const char *why = NULL;

	(void)state;
	assert_int_equal(nic_parse("model=pcnet,tap=tap0", &c, &why), 0);
	assert_string_equal(c.model->name, "pcnet");
	assert_string_equal(c.tap, "tap0");
	assert_int_equal(c.fd, -1);
	assert_false(c.has_mac);
	assert_int_equal(c.opts, NETDEV_OPT_ALL);
	assert_int_equal(c.txirq_frames, NIC_TXIRQ_FRAMES);
	assert_int_equal(c.txirq_us, NIC_TXIRQ_US);
	assert_int_equal(c.txkick_us, NIC_TXKICK_US);
	assert_int_equal(nic_parse("model=virtio-net,tap=tap1", &c, &why), 0);
	assert_string_equal(c.model->name, "virtio-net");
	assert_string_equal(c.tap, "tap1");
}

static void test_fd_mac_opts(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0xab, 0xcd, 0xef, 0x01, 0x23 };
	struct nic_config c;
	const char *why = NULL;
	char buf[64];

	(void)state;
	assert_int_equal(nic_parse("model=pcnet,fd=7,mac=02:ab:CD:ef:01:23,opt=none", &c, &why), 0);
	assert_int_equal(c.fd, 7);
	assert_string_equal(c.tap, "");
	assert_true(c.has_mac);
	assert_memory_equal(c.mac, mac, 6);
	assert_int_equal(c.opts, 0);
	assert_string_equal(nic_opts_string(c.opts, buf, sizeof(buf)), "none");
	assert_int_equal(nic_parse("model=pcnet,tap=t,opt=combine+irqfd", &c, &why), 0);
	assert_int_equal(c.opts, NETDEV_OPT_COMBINE | NETDEV_OPT_IRQFD);
	assert_string_equal(nic_opts_string(c.opts, buf, sizeof(buf)), "combine+irqfd");
	assert_int_equal(nic_parse("model=pcnet,tap=t,opt=-coalesce", &c, &why), 0);
	assert_int_equal(c.opts, NETDEV_OPT_COMBINE | NETDEV_OPT_IRQFD);
	assert_int_equal(nic_parse("model=pcnet,tap=t,opt=-coalesce+-irqfd", &c, &why), 0);
	assert_int_equal(c.opts, NETDEV_OPT_COMBINE);
	assert_int_equal(nic_parse("model=pcnet,tap=t,opt=all", &c, &why), 0);
	assert_string_equal(nic_opts_string(c.opts, buf, sizeof(buf)), "coalesce+combine+irqfd");
	/* The TX interrupt coalescing bounds of combine. */
	assert_int_equal(nic_parse("model=pcnet,tap=t,txirq_frames=8,txirq_us=200", &c, &why), 0);
	assert_int_equal(c.txirq_frames, 8);
	assert_int_equal(c.txirq_us, 200);
	assert_int_equal(c.opts, NETDEV_OPT_ALL);
	assert_int_equal(nic_parse("model=pcnet,tap=t,txirq_frames=0", &c, &why), 0);
	assert_int_equal(c.txirq_frames, 0);
	assert_int_equal(c.txirq_us, NIC_TXIRQ_US);
	/* The TDMD deferral tick; 0 turns deferral off. */
	assert_int_equal(nic_parse("model=pcnet,tap=t,txkick_us=250", &c, &why), 0);
	assert_int_equal(c.txkick_us, 250);
	assert_int_equal(nic_parse("model=pcnet,tap=t,txkick_us=0", &c, &why), 0);
	assert_int_equal(c.txkick_us, 0);
}

static void test_errors(void **state)
{
	static const char *const bad[] = {
		"tap=tap0",                                  /* no model */
		"model=virtio,tap=tap0",                     /* the model is virtio-net */
		"model=pcnet",                               /* no backend */
		"model=pcnet,tap=t,fd=3",                    /* both */
		"model=pcnet,tap=",                          /* empty name */
		"model=pcnet,tap=a_name_that_is_too_long",   /* > IFNAMSIZ */
		"model=pcnet,tap=a/b",
		"model=pcnet,fd=x",
		"model=pcnet,tap=t,mac=01:00:5e:00:00:01",   /* multicast */
		"model=pcnet,tap=t,mac=52:54:00:12:34",
		"model=pcnet,tap=t,mac=52:54:00:12:34:56:78",
		"model=pcnet,tap=t,mac=52:54:00:12:34:5",    /* one digit */
		"model=pcnet,tap=t,mac=02:-1:00:00:00:01",   /* a sign: read as ff */
		"model=pcnet,tap=t,mac=02: 1:00:00:00:01",
		"model=pcnet,tap=t,opt=fast",
		"model=pcnet,tap=t,colour=blue",
		"model=pcnet,tap=t,novalue",
		"model=pcnet,tap=t,txirq_frames=257",         /* over the largest ring */
		"model=pcnet,tap=t,txirq_frames=x",
		"model=pcnet,tap=t,txirq_us=100001",
		"model=pcnet,tap=t,txirq_us=-1",
		"model=pcnet,tap=t,txkick_us=10001",
		"model=pcnet,tap=t,txkick_us=fast",
	};
	struct nic_config c;

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		if (nic_parse(bad[i], &c, &why) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(why);
	}
}

static void test_flag_repeatable(void **state)
{
	struct monitor_config cfg;
	char *argv[] = { "vmm-monitor", "--kernel", "k", "--nic", "model=pcnet,tap=a",
			 "--nic", "model=pcnet,tap=b,opt=none", NULL };
	char *bad[] = { "vmm-monitor", "--kernel", "k", "--nic", "model=pcnet", NULL };

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_parse_args(&cfg, 7, argv), 0);
	assert_int_equal(cfg.nr_nics, 2);
	assert_string_equal(cfg.nics[0].tap, "a");
	assert_string_equal(cfg.nics[1].tap, "b");
	assert_int_equal(cfg.nics[1].opts, 0);
	config_free(&cfg);
	config_init(&cfg);
	assert_int_equal(config_parse_args(&cfg, 5, bad), MON_EXIT_USAGE);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_defaults),
		cmocka_unit_test(test_fd_mac_opts),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_flag_repeatable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

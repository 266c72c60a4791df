/* Unit tests of vmmd's VM definitions (validation naming the field), the
 * daemon config, runtime records and the atomic state files (round trips). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "vmmd/conf.h"
#include "vmmd/vmdef.h"

static char tmpdir[64];
static char kernel[128];

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vmmd-unit.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/kernel", tmpdir);
	f = fopen(kernel, "w");
	if (!f)
		return -1;
	fputs("not really a kernel", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Parses text (with %K replaced by the kernel path); returns the result. */
static int parse(const char *text, struct vmdef *d, struct vmdef_error *err)
{
	char buf[8192], *p;
	struct json_object *o;
	int r;

	snprintf(buf, sizeof(buf), "%s", text);
	while ((p = strstr(buf, "%K"))) {
		char rest[8192];
		snprintf(rest, sizeof(rest), "%s", p + 2);
		snprintf(p, sizeof(buf) - (size_t)(p - buf), "%s%s", kernel, rest);
	}
	o = json_tokener_parse(buf);
	assert_non_null(o);
	r = vmdef_from_json(o, VMDEF_CHECK_FILES, d, err);
	json_object_put(o);
	return r;
}

static void expect_field(const char *text, const char *field)
{
	struct vmdef d;
	struct vmdef_error err;

	if (parse(text, &d, &err) != -EINVAL || strcmp(err.field, field))
		fail_msg("%s: want an error on '%s', got '%s' (%s)", text, field, err.field,
			 err.message);
	assert_non_null(strstr(err.message, field[0] ? field : ""));
	vmdef_free(&d);
}

static void test_minimal_defaults(void **state)
{
	struct vmdef d;
	struct vmdef_error err;

	(void)state;
	assert_int_equal(parse("{\"name\":\"web1\",\"kernel\":\"%K\"}", &d, &err), 0);
	assert_string_equal(d.name, "web1");
	assert_string_equal(d.kernel, kernel);
	assert_null(d.initrd);
	assert_null(d.cmdline);
	assert_int_equal(d.memory_mib, VMDEF_MEM_DEFAULT_MIB);
	assert_int_equal(d.vcpus, 1);
	assert_false(d.autostart);
	assert_int_equal(d.restart, VMDEF_RESTART_NO);
	assert_int_equal(d.nr_nics, 0);
	vmdef_free(&d);
}

static void test_bad_fields(void **state)
{
	(void)state;
	expect_field("[]", "");
	expect_field("{\"kernel\":\"%K\"}", "name");
	expect_field("{\"name\":\"\",\"kernel\":\"%K\"}", "name");
	expect_field("{\"name\":\".x\",\"kernel\":\"%K\"}", "name");
	expect_field("{\"name\":\"a b\",\"kernel\":\"%K\"}", "name");
	expect_field("{\"name\":\"a/b\",\"kernel\":\"%K\"}", "name");
	expect_field("{\"name\":true,\"kernel\":\"%K\"}", "name");
	expect_field("{\"name\":\"a\"}", "kernel");
	expect_field("{\"name\":\"a\",\"kernel\":\"relative/path\"}", "kernel");
	expect_field("{\"name\":\"a\",\"kernel\":\"/nonexistent/k\"}", "kernel");
	expect_field("{\"name\":\"a\",\"kernel\":\"/\"}", "kernel");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"initrd\":\"/nonexistent\"}", "initrd");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"memory_mib\":7}", "memory_mib");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"memory_mib\":3073}", "memory_mib");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"memory_mib\":-5}", "memory_mib");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"memory_mib\":1e3}", "memory_mib");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"memory_mib\":\"64\"}", "memory_mib");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"vcpus\":0}", "vcpus");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"vcpus\":65}", "vcpus");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"autostart\":1}", "autostart");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"restart\":\"maybe\"}", "restart");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"cmdline\":5}", "cmdline");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"colour\":\"red\"}", "colour");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[1]}", "nics[0]");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[{}]}", "nics[0].switch");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[{\"switch\":\"s\",\"mac\":\"52:54:00:00:00\"}]}",
		     "nics[0].mac");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[{\"switch\":\"s\",\"mac\":\"52:54:00:00:00:0g\"}]}",
		     "nics[0].mac");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[{\"switch\":\"s\",\"mac\":\"ff:ff:ff:ff:ff:ff\"}]}",
		     "nics[0].mac");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[{\"switch\":\"s\",\"mac\":\"00:00:00:00:00:00\"}]}",
		     "nics[0].mac");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[{\"switch\":\"s\",\"mac\":\"52:54:00:00:00:01\"},"
		     "{\"switch\":\"s\",\"mac\":\"52:54:00:00:00:01\"}]}",
		     "nics[1].mac");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[{\"switch\":\"s\",\"model\":\"e1000\"}]}",
		     "nics[0].model");
	expect_field("{\"name\":\"a\",\"kernel\":\"%K\",\"nics\":[{\"switch\":\"s\",\"x\":1}]}", "nics[0].x");
}

static void test_limits(void **state)
{
	char text[8192], name[VMDEF_NAME_MAX + 2];
	struct vmdef d;
	struct vmdef_error err;

	(void)state;
	memset(name, 'n', VMDEF_NAME_MAX);
	name[VMDEF_NAME_MAX] = 0;
	snprintf(text, sizeof(text), "{\"name\":\"%s\",\"kernel\":\"%%K\",\"memory_mib\":3072,\"vcpus\":64}",
		 name);
	assert_int_equal(parse(text, &d, &err), 0);
	vmdef_free(&d);
	name[VMDEF_NAME_MAX] = 'n';
	name[VMDEF_NAME_MAX + 1] = 0;
	snprintf(text, sizeof(text), "{\"name\":\"%s\",\"kernel\":\"%%K\"}", name);
	expect_field(text, "name");

	memset(text, 0, sizeof(text));
	strcpy(text, "{\"name\":\"a\",\"kernel\":\"%K\",\"cmdline\":\"");
	memset(text + strlen(text), 'c', VMDEF_CMDLINE_MAX + 1);
	strcat(text, "\"}");
	expect_field(text, "cmdline");
}

static void test_round_trip(void **state)
{
	struct vmdef a, b;
	struct vmdef_error err;
	struct json_object *o, *back;

	(void)state;
	assert_int_equal(parse("{\"name\":\"db-1.x_y\",\"kernel\":\"%K\",\"initrd\":\"%K\","
			       "\"cmdline\":\"console=ttyS0 quiet\",\"memory_mib\":256,\"vcpus\":4,"
			       "\"autostart\":true,\"restart\":\"on-failure\",\"nics\":[{\"switch\":"
			       "\"sw0\",\"model\":\"pcnet\",\"mac\":\"52:54:00:AB:cd:01\"},{\"switch\":\"sw1\"}]}",
			       &a, &err),
			 0);
	assert_int_equal(a.nr_nics, 2);
	assert_true(a.nics[0].mac_set);
	assert_false(a.nics[1].mac_set);
	assert_int_equal(a.nics[0].mac[3], 0xab);

	/* through a state file and back */
	o = vmdef_to_json(&a);
	assert_int_equal(state_write_json(tmpdir, "db-1.x_y.json", o), 0);
	json_object_put(o);
	assert_int_equal(state_read_json(tmpdir, "db-1.x_y.json", &back), 0);
	assert_int_equal(vmdef_from_json(back, VMDEF_CHECK_FILES, &b, &err), 0);
	json_object_put(back);

	assert_string_equal(a.name, b.name);
	assert_string_equal(a.kernel, b.kernel);
	assert_string_equal(a.initrd, b.initrd);
	assert_string_equal(a.cmdline, b.cmdline);
	assert_int_equal(a.memory_mib, b.memory_mib);
	assert_int_equal(a.vcpus, b.vcpus);
	assert_int_equal(a.autostart, b.autostart);
	assert_int_equal(a.restart, b.restart);
	assert_int_equal(a.nr_nics, b.nr_nics);
	assert_memory_equal(a.nics, b.nics, sizeof(a.nics));
	vmdef_free(&a);
	vmdef_free(&b);
}

static void test_state_files(void **state)
{
	struct json_object *o = json_object_new_object(), *back;
	char path[256];
	struct stat st;

	(void)state;
	json_object_object_add(o, "v", json_object_new_int(1));
	assert_int_equal(state_write_json(tmpdir, "f.json", o), 0);
	json_object_object_add(o, "v", json_object_new_int(2));
	assert_int_equal(state_write_json(tmpdir, "f.json", o), 0);
	json_object_put(o);
	assert_int_equal(state_read_json(tmpdir, "f.json", &back), 0);
	assert_int_equal(json_object_get_int(json_object_object_get(back, "v")), 2);
	json_object_put(back);
	/* no temporary files left */
	snprintf(path, sizeof(path), "ls -A '%s' | grep -q '^\\.f\\.json'", tmpdir);
	assert_int_not_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/f.json", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	assert_int_equal(state_remove(tmpdir, "f.json"), 0);
	assert_int_equal(state_remove(tmpdir, "f.json"), 0);
	assert_int_equal(state_read_json(tmpdir, "f.json", &back), -ENOENT);

	/* a write into a missing folder fails and changes nothing */
	o = json_object_new_object();
	assert_int_equal(state_write_json("/nonexistent-dir", "f.json", o), -ENOENT);
	json_object_put(o);

	/* not JSON */
	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{broken", f);
	fclose(f);
	assert_int_equal(state_read_json(tmpdir, "bad.json", &back), -EINVAL);

	snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
	assert_int_equal(state_mkdir_p(path, 0750), 0);
	assert_int_equal(state_mkdir_p(path, 0750), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_runrec(void **state)
{
	struct vmmd_runrec a = { .pid = 4242, .starttime = 123456789012ull, .started_at_ms = 1767225600123 },
			   b;
	struct json_object *o, *back;

	(void)state;
	snprintf(a.sock, sizeof(a.sock), "/run/vmmd/vms/web1.sock");
	o = vmmd_runrec_to_json(&a);
	assert_int_equal(state_write_json(tmpdir, "web1.json", o), 0);
	json_object_put(o);
	assert_int_equal(state_read_json(tmpdir, "web1.json", &back), 0);
	assert_int_equal(vmmd_runrec_from_json(back, &b), 0);
	json_object_put(back);
	assert_int_equal(a.pid, b.pid);
	assert_int_equal(a.starttime, b.starttime);
	assert_int_equal(a.started_at_ms, b.started_at_ms);
	assert_string_equal(a.sock, b.sock);

	assert_false(b.restart_pending);
	assert_int_equal(b.exit_status, -1);

	/* a pending policy restart */
	memset(&a, 0, sizeof(a));
	a.restart_pending = true;
	a.exit_status = 137;
	snprintf(a.reason, sizeof(a.reason), "killed-by-SIGKILL");
	o = vmmd_runrec_to_json(&a);
	assert_int_equal(vmmd_runrec_from_json(o, &b), 0);
	json_object_put(o);
	assert_true(b.restart_pending);
	assert_int_equal(b.pid, 0);
	assert_int_equal(b.exit_status, 137);
	assert_string_equal(b.reason, "killed-by-SIGKILL");

	back = json_tokener_parse("{\"pid\":-1,\"starttime\":0,\"started_at_ms\":0,\"control\":\"x\"}");
	assert_int_equal(vmmd_runrec_from_json(back, &b), -EINVAL);
	json_object_put(back);
	back = json_tokener_parse("{\"pid\":1,\"starttime\":0,\"started_at_ms\":0}");
	assert_int_equal(vmmd_runrec_from_json(back, &b), -EINVAL);
	json_object_put(back);

	/* the monitor's end file */
	back = json_tokener_parse("{\"exit_status\":81,\"exits\":{\"total\":3}}");
	assert_int_equal(vmmd_endfile_status(back), 81);
	json_object_put(back);
	back = json_tokener_parse("{\"exit_status\":\"81\"}");
	assert_int_equal(vmmd_endfile_status(back), -1);
	json_object_put(back);
	back = json_tokener_parse("[81]");
	assert_int_equal(vmmd_endfile_status(back), -1);
	json_object_put(back);
}

static void test_conf(void **state)
{
	struct vmmd_conf c;
	char path[256], err[256];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/vmmd.json", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"monitor\":\"/usr/libexec/vmm/vmm-monitor\",\"state_dir\":\"/s\",\"runtime_dir\":\"\","
	      "\"socket_group\":\"kvm\",\"stop_vms_on_exit\":true,\"stop_timeout_s\":5,"
	      "\"readonly_socket\":false,\"log_level\":\"debug\",\"idle_exit_s\":120,"
	      "\"readonly_max_clients\":16,\"readonly_max_per_uid\":2,\"readonly_idle_timeout_s\":0}",
	      f);
	fclose(f);
	vmmd_conf_init(&c);
	assert_int_equal(vmmd_conf_load(&c, path, err, sizeof(err)), 0);
	assert_string_equal(c.monitor, "/usr/libexec/vmm/vmm-monitor");
	assert_string_equal(c.state_dir, "/s");
	assert_null(c.runtime_dir);
	assert_string_equal(c.socket_group, "kvm");
	assert_true(c.stop_vms_on_exit);
	assert_false(c.readonly_socket);
	assert_int_equal(c.stop_timeout_s, 5);
	assert_int_equal(c.log_level, 7);
	assert_int_equal(c.idle_exit_s, 120);
	assert_int_equal(c.readonly_max_clients, 16);
	assert_int_equal(c.readonly_max_per_uid, 2);
	assert_int_equal(c.readonly_idle_timeout_s, 0);
	vmmd_conf_free(&c);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"stop_vms_on_exit\":true,\"socket_mode\":\"0600\"}", f);
	fclose(f);
	vmmd_conf_init(&c);
	assert_int_equal(vmmd_conf_load(&c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "socket_mode"));
	vmmd_conf_free(&c);

	vmmd_conf_init(&c);
	assert_int_equal(vmmd_conf_load(&c, "/nonexistent.json", err, sizeof(err)), -ENOENT);
	vmmd_conf_free(&c);

	/* the same from text; refused: what follows the object (white space
	 * and what lies past a NUL aside), and strings with a NUL in them */
	{
		static const char ok[] = "{\"stop_timeout_s\":7}\n\t \r\n\0junk";
		static const char *const bad[] = { "{\"stop_timeout_s\":7}}",
						   "{\"stop_timeout_s\":7} {\"log_level\":\"debug\"}",
						   "{} x",
						   /* strings cut short at a NUL */
						   "{\"state_dir\":\"/var/lib\\u0000/x\"}",
						   "{\"switches\":[{\"name\":\"sw\\u00000\"}]}" };
		vmmd_conf_init(&c);
		assert_int_equal(vmmd_conf_parse(&c, ok, sizeof(ok) - 1, err, sizeof(err)), 0);
		assert_int_equal(c.stop_timeout_s, 7);
		vmmd_conf_free(&c);
		for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			vmmd_conf_init(&c);
			assert_int_equal(vmmd_conf_parse(&c, bad[i], strlen(bad[i]), err, sizeof(err)),
					 -EINVAL);
			vmmd_conf_free(&c);
		}
	}
}

/* conf_file: writes text to the test's config file and loads it. */
static int conf_text(struct vmmd_conf *c, const char *text, char *err, size_t errlen)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/vmmd-sw.json", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	vmmd_conf_init(c);
	return vmmd_conf_load(c, path, err, errlen);
}

static void test_conf_switches(void **state)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "{\"switches\":{}}", "switches: must be an array" },
		{ "{\"switches\":[1]}", "switches[0]: must be an object" },
		{ "{\"switches\":[{\"uplink\":null}]}", "switches[0].name: required" },
		{ "{\"switches\":[{\"name\":null}]}", "switches[0].name" },
		{ "{\"switches\":[{\"name\":\"a\",\"vlan\":1}]}", "switches[0].vlan: unknown key" },
		{ "{\"switches\":[{\"name\":\"a\",\"host_port\":\"0123456789abcdef\"}]}",
		  "switches[0].host_port" },
		{ "{\"switches\":[{\"name\":\"a b\"}]}", "switches[0].name" },
		{ "{\"switches\":[{\"name\":\"a\"},{\"name\":\"a\"}]}", "switches[1].name: 'a' is repeated" },
		{ "{\"netbridge_runtime\":\"a/b\"}", "netbridge_runtime" },
		{ "{\"switches\":[{\"name\":\"a\",\"vxlan\":1}]}", "switches[0].vxlan: must be an object" },
		{ "{\"switches\":[{\"name\":\"a\",\"vxlan\":{\"local\":\"198.51.100.1\","
		  "\"remote\":[\"198.51.100.2\"]}}]}", "switches[0].vxlan: vni and local are required" },
		{ "{\"switches\":[{\"name\":\"a\",\"vxlan\":{\"vni\":16777216}}]}",
		  "switches[0].vxlan.vni: must be an integer in 1..16777215" },
		{ "{\"switches\":[{\"name\":\"a\",\"vxlan\":{\"vni\":1,\"local\":\"host1\"}}]}",
		  "switches[0].vxlan.local: must be an IPv4 or IPv6 address" },
		{ "{\"switches\":[{\"name\":\"a\",\"vxlan\":{\"vni\":1,\"local\":\"198.51.100.1\"}}]}",
		  "switches[0].vxlan: needs a remote or a group" },
		{ "{\"switches\":[{\"name\":\"a\",\"vxlan\":{\"vni\":1,\"local\":\"198.51.100.1\","
		  "\"remote\":[\"198.51.100.2\",\"x\"]}}]}", "switches[0].vxlan.remote[1]: must be" },
		{ "{\"switches\":[{\"name\":\"a\",\"vxlan\":{\"vni\":1,\"local\":\"198.51.100.1\","
		  "\"group\":\"239.1.1.1\"}}]}", "switches[0].vxlan.group: needs dev" },
		{ "{\"switches\":[{\"name\":\"a\",\"vxlan\":{\"vni\":1,\"local\":\"198.51.100.1\","
		  "\"remote\":[\"198.51.100.2\"],\"ttl\":3}}]}", "switches[0].vxlan.ttl: unknown key" },
		{ "{\"switches\":[{\"name\":\"a\",\"uplink\":\"eth0\",\"vxlan\":{\"vni\":1,"
		  "\"local\":\"198.51.100.1\",\"remote\":[\"198.51.100.2\"]}}]}",
		  "switches[0]: uplink and vxlan exclude each other" },
		{ "{\"readonly_max_clients\":0}", "readonly_max_clients: must be an integer in 1..512" },
		{ "{\"readonly_max_per_uid\":\"8\"}", "readonly_max_per_uid: must be an integer" },
		{ "{\"readonly_idle_timeout_s\":-1}", "readonly_idle_timeout_s: must be an integer in 0..86400" },
	};
	struct vmmd_conf c;
	char err[256];

	(void)state;
	assert_int_equal(conf_text(&c, "{\"netbridge_runtime\":\"vmmt1\",\"switches\":["
				       "{\"name\":\"sw0\",\"uplink\":null,\"host_port\":\"h0\"},"
				       "{\"name\":\"sw.1\",\"uplink\":\"eth0\"}]}",
				   err, sizeof(err)), 0);
	assert_string_equal(c.netbridge_runtime, "vmmt1");
	assert_int_equal(c.nr_switches, 2);
	assert_string_equal(c.switches[0].name, "sw0");
	assert_string_equal(c.switches[0].uplink, "");
	assert_string_equal(c.switches[0].host_port, "h0");
	assert_string_equal(c.switches[1].name, "sw.1");
	assert_string_equal(c.switches[1].uplink, "eth0");
	assert_string_equal(c.switches[1].host_port, "");
	assert_int_equal(c.switches[1].vxlan.vni, 0);
	vmmd_conf_free(&c);
	assert_int_equal(conf_text(&c, "{\"switches\":[{\"name\":\"sw0\",\"vxlan\":{\"vni\":42,"
				       "\"local\":\"fd00::1\",\"remote\":[\"fd00::2\",\"fd00::3\"],"
				       "\"port\":8472,\"mtu\":1450,\"name\":\"vx42\",\"group\":null}}]}",
				   err, sizeof(err)), 0);
	assert_int_equal(c.switches[0].vxlan.vni, 42);
	assert_string_equal(c.switches[0].vxlan.local, "fd00::1");
	assert_int_equal(c.switches[0].vxlan.nr_remotes, 2);
	assert_string_equal(c.switches[0].vxlan.remotes[1], "fd00::3");
	assert_int_equal(c.switches[0].vxlan.port, 8472);
	assert_int_equal(c.switches[0].vxlan.mtu, 1450);
	assert_string_equal(c.switches[0].vxlan.name, "vx42");
	assert_string_equal(c.switches[0].vxlan.group, "");
	vmmd_conf_free(&c);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(conf_text(&c, bad[i].text, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].err))
			fail_msg("%s: error '%s' lacks '%s'", bad[i].text, err, bad[i].err);
		vmmd_conf_free(&c);
	}
}

/* The examples in etc/examples/ stay valid (the tests run from the
 * repository's root). */
static void test_examples(void **state)
{
	static const char *const confs[] = { "etc/vmmd.json", "etc/examples/vmmd-vxlan-host-a.json",
					     "etc/examples/vmmd-vxlan-host-b.json" };
	struct vmdef_error verr;
	struct json_object *o;
	struct vmmd_conf c;
	struct vmdef d;
	char err[256];

	(void)state;
	for (unsigned i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		vmmd_conf_init(&c);
		if (vmmd_conf_load(&c, confs[i], err, sizeof(err)) != 0)
			fail_msg("%s: %s", confs[i], err);
		vmmd_conf_free(&c);
	}
	o = json_object_from_file("etc/examples/vm-limited.json");
	assert_non_null(o);
	if (vmdef_from_json(o, 0, &d, &verr) != 0)
		fail_msg("vm-limited.json: %s", verr.message);
	assert_int_equal(d.nics[0].limit.tx.bits_per_s, 100000000);
	assert_int_equal(d.nics[0].limit.rx.pkts_per_s, 20000);
	vmdef_free(&d);
	json_object_put(o);
}

static void test_mac_and_names(void **state)
{
	uint8_t mac[6];
	char s[18];

	(void)state;
	assert_int_equal(mac_parse("52:54:00:12:34:56", mac), 0);
	vmdef_mac_format(mac, s);
	assert_string_equal(s, "52:54:00:12:34:56");
	assert_int_equal(mac_parse("52:54:00:12:34:5", mac), -EINVAL);
	assert_int_equal(mac_parse("52-54-00-12-34-56", mac), -EINVAL);
	assert_int_equal(mac_parse(" 2:54:00:12:34:56", mac), -EINVAL);
	assert_true(vmdef_name_valid("a"));
	assert_true(vmdef_name_valid("Web-1.prod_x"));
	assert_false(vmdef_name_valid(""));
	assert_false(vmdef_name_valid("_a"));
	assert_false(vmdef_name_valid("a\n"));
	assert_false(vmdef_name_valid(".."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults), cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_limits),           cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_state_files),      cmocka_unit_test(test_runrec),
		cmocka_unit_test(test_conf),             cmocka_unit_test(test_conf_switches), cmocka_unit_test(test_examples),             cmocka_unit_test(test_mac_and_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

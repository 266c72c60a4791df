/* show.c: the read commands' human tables (vmctl.h); --output json prints
 * the daemon's result as it is. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/contract.h"
#include "common/json_get.h"
#include "common/jsonl.h"
#include "common/util.h"

#include "vmctl/vmctl.h"

/* what vm.info on the read-only socket leaves out (null) */
#define HIDDEN "(not shown on the read-only socket)"

const char *pid_str(struct json_object *o, char *buf, size_t len)
{
	int64_t pid = json_get_i64(o, "pid", NULL);

	if (!pid)
		return "-";
	snprintf(buf, len, "%lld", (long long)pid);
	return buf;
}

/* ---- commands ---- */

int cmd_list(void)
{
	struct json_object *reply, *res, *vms;
	int r = call_result("vm.list", NULL, &reply, &res);
	size_t n;

	if (r)
		goto out;
	if (!json_object_object_get_ex(res, "vms", &vms) || !json_object_is_type(vms, json_type_array)) {
		fprintf(stderr, "error: vmmd's vm.list reply has no vms array\n");
		r = EXIT_ERR;
		goto out;
	}
	if (json_out) {
		print_json(vms);
		goto out;
	}
	n = json_object_array_length(vms);
	printf("%-20s %-9s %8s %7s %5s  %s\n", "NAME", "STATE", "PID", "MEM", "VCPUS", "REASON");
	for (size_t i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);
		char pid[24], mem[24];
		snprintf(mem, sizeof(mem), "%lldM", (long long)json_get_i64(vm, "memory_mib", NULL));
		printf("%-20s %-9s %8s %7s %5lld  %s\n", json_get_str(vm, "name"), json_get_str(vm, "state"),
		       pid_str(vm, pid, sizeof(pid)), mem, (long long)json_get_i64(vm, "vcpus", NULL),
		       json_get_str(vm, "reason") ? json_get_str(vm, "reason") : "");
	}
out:
	json_object_put(reply);
	return r;
}

int cmd_info(const char *name, bool status_only)
{
	struct json_object *reply, *res, *def;
	int r = call_result("vm.info", name_params(name), &reply, &res);
	char pid[24];

	if (r)
		goto out;
	if (status_only) {
		const char *state = json_get_str(res, "state");
		if (json_out)
			print_json(res);
		else
			printf("%s: %s (%s)\n", name, state, json_get_str(res, "reason"));
		r = state && !strcmp(state, "running") ? EXIT_OK : EXIT_NOT_RUNNING;
		goto out;
	}
	if (json_out) {
		print_json(res);
		goto out;
	}
	json_object_object_get_ex(res, "definition", &def);
	printf("name:        %s\n", json_get_str(res, "name"));
	printf("state:       %s (%s)\n", json_get_str(res, "state"), json_get_str(res, "reason"));
	printf("pid:         %s\n", pid_str(res, pid, sizeof(pid)));
	printf("kernel:      %s\n", json_get_str(def, "kernel") ? json_get_str(def, "kernel") : HIDDEN);
	if (json_get_str(def, "initrd"))
		printf("initrd:      %s\n", json_get_str(def, "initrd"));
	if (json_get_str(def, "cmdline"))
		printf("cmdline:     %s\n", json_get_str(def, "cmdline"));
	printf("memory:      %lld MiB\n", (long long)json_get_i64(res, "memory_mib", NULL));
	printf("vcpus:       %lld\n", (long long)json_get_i64(res, "vcpus", NULL));
	printf("autostart:   %s\n", json_get_str(res, "autostart"));
	printf("restart:     %s (%lld restarts)\n", json_get_str(res, "restart"),
	       (long long)json_get_i64(res, "restarts", NULL));
	if (json_get_str(res, "control"))
		printf("control:     %s\n", json_get_str(res, "control"));
	printf("log:         %s\n", json_get_str(res, "log") ? json_get_str(res, "log") : HIDDEN);
	if (json_get_str(res, "last_exit_status"))
		printf("last exit:   %s\n", json_get_str(res, "last_exit_status"));
out:
	json_object_put(reply);
	return r;
}

static int64_t sum_obj(struct json_object *o, const char *key)
{
	struct json_object *v;
	int64_t n = 0;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return 0;
	json_object_object_foreach(v, k, x) {
		(void)k;
		n += json_object_get_int64(x);
	}
	return n;
}

static void print_drops(const char *who, struct json_object *o)
{
	struct json_object *v;
	bool any = false;

	if (!o || !json_object_object_get_ex(o, "drops", &v) || !json_object_is_type(v, json_type_object))
		return;
	json_object_object_foreach(v, k, x) {
		if (!json_object_get_int64(x))
			continue;
		printf("%s%s=%lld", any ? " " : "    drops (" , k, (long long)json_object_get_int64(x));
		any = true;
		(void)who;
	}
	if (any)
		printf(", %s)\n", who);
}

/* vm.stats "nics": per NIC, the switch port's counters (guest point of view)
 * next to the device's. */
static void print_nics(struct json_object *res)
{
	struct json_object *nics;

	if (!json_object_object_get_ex(res, "nics", &nics) ||
	    !json_object_is_type(nics, json_type_array) || !json_object_array_length(nics))
		return;
	printf("nics (cumulative, guest point of view: rx = to the guest; switch = its netbridge "
	       "port, device = the NIC model):\n");
	for (size_t i = 0; i < json_object_array_length(nics); i++) {
		struct json_object *n = json_object_array_get_idx(nics, i), *sp = NULL, *dev = NULL,
				   *v;
		char epf[24] = "-", ipf[24] = "-";

		json_object_object_get_ex(n, "switch_port", &sp);
		json_object_object_get_ex(n, "device", &dev);
		if (json_object_object_get_ex(n, "exits_per_frame", &v) && v)
			snprintf(epf, sizeof(epf), "%.2f", json_object_get_double(v));
		if (json_object_object_get_ex(n, "interrupts_per_frame", &v) && v)
			snprintf(ipf, sizeof(ipf), "%.2f", json_object_get_double(v));
		printf("  nic %lld: %s %s, switch %s, port %s\n", (long long)json_get_i64(n, "index", NULL),
		       json_get_str(n, "model"), json_get_str(n, "mac"), json_get_str(n, "switch"), json_get_str(n, "port"));
		printf("    %-7s %10s %12s %10s %12s %7s\n", "SOURCE", "RX_FRAMES", "RX_BYTES",
		       "TX_FRAMES", "TX_BYTES", "DROPS");
		if (sp)
			printf("    %-7s %10lld %12lld %10lld %12lld %7lld\n", "switch",
			       (long long)json_get_i64(sp, "rx_frames", NULL), (long long)json_get_i64(sp, "rx_bytes", NULL),
			       (long long)json_get_i64(sp, "tx_frames", NULL), (long long)json_get_i64(sp, "tx_bytes", NULL),
			       (long long)sum_obj(sp, "drops"));
		else
			printf("    %-7s (no port)\n", "switch");
		if (dev)
			printf("    %-7s %10lld %12lld %10lld %12lld %7lld\n", "device",
			       (long long)json_get_i64(dev, "rx", "frames"), (long long)json_get_i64(dev, "rx", "bytes"),
			       (long long)json_get_i64(dev, "tx", "frames"), (long long)json_get_i64(dev, "tx", "bytes"),
			       (long long)sum_obj(dev, "drops"));
		else
			printf("    %-7s (no counters from the monitor)\n", "device");
		print_drops("switch", sp);
		print_drops("device", dev);
		if (json_object_object_get_ex(n, "limit", &v) && v) {
			char lim[160];

			limit_format(v, lim, sizeof(lim));
			printf("    %s; %lld frames held back\n", lim,
			       (long long)json_get_i64(sp, "rx_delayed", NULL));
		}
		if (dev)
			printf("    device: %lld exits (%s per frame), %lld interrupts (%s per frame)\n",
			       (long long)json_get_i64(dev, "exits", "total"), epf,
			       (long long)json_get_i64(dev, "interrupts", NULL), ipf);
	}
}

int cmd_stats(const char *name)
{
	struct json_object *reply, *res, *exits, *by, *regions;
	int r = call_result("vm.stats", name_params(name), &reply, &res);

	if (r)
		goto out;
	if (json_out) {
		print_json(res);
		goto out;
	}
	printf("vm %s, monitor pid %lld, up %.3f s\n", name, (long long)json_get_i64(res, "pid", NULL),
	       (double)json_get_i64(res, "uptime_ns", NULL) / 1e9);
	if (json_object_object_get_ex(res, "exits", &exits)) {
		printf("exits: %lld, %.3f ms in KVM_RUN\n", (long long)json_get_i64(exits, "total", NULL),
		       (double)json_get_i64(exits, "run_ns", NULL) / 1e6);
		if (json_object_object_get_ex(exits, "by_reason", &by) &&
		    json_object_is_type(by, json_type_object)) {
			printf("  %-20s %12s %14s\n", "REASON", "COUNT", "USER_NS");
			json_object_object_foreach(by, key, v)
				printf("  %-20s %12lld %14lld\n", key, (long long)json_get_i64(v, "count", NULL),
				       (long long)json_get_i64(v, "ns", NULL));
		}
	}
	if (json_object_object_get_ex(res, "regions", &regions) &&
	    json_object_is_type(regions, json_type_array)) {
		printf("  %-5s %-20s %10s %12s %12s\n", "SPACE", "REGION", "BASE", "READS", "WRITES");
		for (size_t i = 0; i < json_object_array_length(regions); i++) {
			struct json_object *g = json_object_array_get_idx(regions, i);
			if (!json_get_i64(g, "reads", NULL) && !json_get_i64(g, "writes", NULL))
				continue;
			printf("  %-5s %-20s %#10llx %12lld %12lld\n", json_get_str(g, "space"), json_get_str(g, "name"),
			       (long long)json_get_i64(g, "base", NULL), (long long)json_get_i64(g, "reads", NULL),
			       (long long)json_get_i64(g, "writes", NULL));
		}
	}
	print_nics(res);
out:
	json_object_put(reply);
	return r;
}

/* stats --watch: one line per sample with the exit rate since the last one
 * (rates are computed here from the cumulative counters). */
int cmd_stats_watch(const char *name, double interval)
{
	int64_t last_total = -1, last_up = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!json_out)
		printf("%-8s %12s %14s %12s\n", "TIME", "UPTIME_S", "EXITS", "EXITS/S");
	while (!stop_events) {
		struct json_object *reply, *res, *exits = NULL;
		int r = call_result("vm.stats", name_params(name), &reply, &res);
		struct timespec ts = { (time_t)interval, (long)((interval - (time_t)interval) * 1e9) };

		if (r) {
			json_object_put(reply);
			return r;
		}
		if (json_out) {
			printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE));
		} else {
			int64_t up = json_get_i64(res, "uptime_ns", NULL), total;
			time_t t = time(NULL);
			struct tm tm;
			char hms[16];

			json_object_object_get_ex(res, "exits", &exits);
			total = json_get_i64(exits, "total", NULL);
			localtime_r(&t, &tm);
			strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
			if (last_total >= 0 && up > last_up)
				printf("%-8s %12.3f %14lld %12.0f\n", hms, up / 1e9, (long long)total,
				       (double)(total - last_total) * 1e9 / (double)(up - last_up));
			else
				printf("%-8s %12.3f %14lld %12s\n", hms, up / 1e9, (long long)total, "-");
			last_total = total;
			last_up = up;
		}
		json_object_put(reply);
		nanosleep(&ts, NULL);
	}
	return EXIT_OK;
}

int cmd_switch(const char *sub, const char *name)
{
	bool stats = !strcmp(sub, "stats");
	struct json_object *reply, *res, *sws;
	int r = call_result(stats ? "switch.stats" : "switch.list", name ? name_params(name) : NULL,
			    &reply, &res);

	if (r)
		goto out;
	if (json_out) {
		print_json(res);
		goto out;
	}
	if (!json_object_object_get_ex(res, "switches", &sws) ||
	    !json_object_is_type(sws, json_type_array)) {
		fprintf(stderr, "error: vmmd's reply has no switches array\n");
		r = EXIT_ERR;
		goto out;
	}
	if (!json_object_array_length(sws))
		printf("no switches (netbridge runtime %s)\n", json_get_str(res, "runtime"));
	for (size_t i = 0; i < json_object_array_length(sws); i++) {
		struct json_object *sw = json_object_array_get_idx(sws, i), *ports, *vx;
		char uplink[96];

		if (json_object_object_get_ex(sw, "vxlan", &vx) && vx)
			snprintf(uplink, sizeof(uplink), "vxlan (VNI %lld, local %.46s)",
				 (long long)json_get_i64(vx, "vni", NULL), json_get_str(vx, "local") ?: "?");
		else
			snprintf(uplink, sizeof(uplink), "%.40s",
				 json_get_str(sw, "uplink") ? json_get_str(sw, "uplink") : "-");
		printf("switch %s: uplink %s, host port %s, attach %s%s\n", json_get_str(sw, "name"),
		       uplink,
		       json_get_str(sw, "host_port") ? json_get_str(sw, "host_port") : "-", json_get_str(res, "attach"),
		       json_get_i64(sw, "configured", NULL) ? "" : " (not in the config)");
		if (!json_object_object_get_ex(sw, "ports", &ports))
			continue;
		if (stats)
			printf("  %-15s %-6s %-12s %10s %12s %10s %12s %s\n", "PORT", "TYPE", "VM",
			       "RX_FRAMES", "RX_BYTES", "TX_FRAMES", "TX_BYTES", "DROPS");
		else
			printf("  %-15s %-6s %-17s %s\n", "PORT", "TYPE", "MAC", "VM");
		for (size_t j = 0; j < json_object_array_length(ports); j++) {
			struct json_object *p = json_object_array_get_idx(ports, j), *dr;
			const char *vmname = json_get_str(p, "vm");
			char vm[96];
			if (vmname)
				snprintf(vm, sizeof(vm), "%.80s/%lld", vmname, (long long)json_get_i64(p, "nic", NULL));
			else
				snprintf(vm, sizeof(vm), "-");
			if (!stats) {
				printf("  %-15s %-6s %-17s %s\n", json_get_str(p, "port"), json_get_str(p, "type"),
				       json_get_str(p, "mac") ? json_get_str(p, "mac") : "-", vm);
				continue;
			}
			printf("  %-15s %-6s %-12s %10lld %12lld %10lld %12lld", json_get_str(p, "port"),
			       json_get_str(p, "type"), vm, (long long)json_get_i64(p, "rx_frames", NULL),
			       (long long)json_get_i64(p, "rx_bytes", NULL), (long long)json_get_i64(p, "tx_frames", NULL),
			       (long long)json_get_i64(p, "tx_bytes", NULL));
			if (json_object_object_get_ex(p, "drops", &dr) &&
			    json_object_is_type(dr, json_type_object)) {
				const char *sep = " ";
				json_object_object_foreach(dr, k, v) {
					printf("%s%s=%lld", sep, k, (long long)json_object_get_int64(v));
					sep = ",";
				}
			}
			printf("\n");
		}
	}
out:
	json_object_put(reply);
	return r;
}

/* console NAME: the VM's console socket (vm.info "console") to and from our
 * stdin/stdout. A terminal is put in raw mode and Ctrl-] detaches; otherwise
 * bytes are copied as they are: stdin until its end, output until the VM's
 * end or SIGINT/SIGTERM (exit 0). */
int cmd_events(void)
{
	struct json_object *reply, *res, *msg;
	int r = call_result("events.subscribe", NULL, &reply, &res);

	json_object_put(reply);
	if (r)
		return r;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!stop_events && (msg = read_msg())) {
		struct json_object *data;
		if (!json_get_str(msg, "event")) {
			json_object_put(msg);
			continue;
		}
		if (json_out) {
			printf("%s\n", json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
									 JSON_C_TO_STRING_NOSLASHESCAPE));
		} else {
			time_t t = (time_t)(json_get_i64(msg, "ts_ms", NULL) / 1000);
			struct tm tm;
			char ts[32];
			localtime_r(&t, &tm);
			strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
			json_object_object_get_ex(msg, "data", &data);
			printf("%s %s %s %s (%s)\n", ts, json_get_str(msg, "event"), json_get_str(data, "name"),
			       json_get_str(data, "state"), json_get_str(data, "reason") ? json_get_str(data, "reason") : "");
		}
		json_object_put(msg);
	}
	return stop_events ? EXIT_OK : EXIT_ERR;
}

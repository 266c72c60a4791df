/* vmctl: the command-line client of vmmd (vmctl/README.md). One connection
 * per invocation; the daemon's protocol version is checked first. Human
 * tables by default, `--output json` on every read; errors on stderr as
 * `error: ...`; exit codes 0 ok, 1 error, 2 usage, 3 not running, 4 no such VM. */
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

#define VMCTL_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3, EXIT_NO_VM = 4 };

static const char *sock_path;
static bool json_out;
static int fd = -1;
static char *rbuf;
static size_t rlen, rcap;
static int next_id = 1;
static bool parse_only; /* check a command's flags before connecting */
static volatile sig_atomic_t stop_events;
static void on_signal(int sig)
{
	(void)sig;
	stop_events = 1;
}

static void usage(FILE *f);

static int die_usage(const char *fmt, const char *arg);

/* --output VALUE, wherever it is given: table (the default) or json. */
static int set_output(const char *value)
{
	if (strcmp(value, "json") && strcmp(value, "table"))
		return die_usage("--output: '%s' is not json or table", value);
	json_out = !strcmp(value, "json");
	return 0;
}

static int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see vmctl --help)\n");
	return EXIT_USAGE;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		fd = -1;
		return r;
	}
	return 0;
}

/* Connects; read-only commands fall back to the read-only socket next to the
 * main one when the main one refuses us (permissions). */
static int connect_daemon(bool readonly)
{
	int r = try_connect(sock_path);

	if (r == -EACCES && readonly) {
		char ro[PATH_MAX];
		const char *slash = strrchr(sock_path, '/');
		snprintf(ro, sizeof(ro), "%.*svmmd-ro.sock", slash ? (int)(slash - sock_path + 1) : 0,
			 sock_path);
		if (try_connect(ro) == 0)
			return 0;
	}
	if (r < 0) {
		fprintf(stderr, "error: cannot connect to vmmd at %s: %s%s\n", sock_path, strerror(-r),
			r == -ENOENT || r == -ECONNREFUSED ? " (is vmmd running? see --socket)" :
			r == -EACCES ? " (not in the socket's group?)" : "");
		return EXIT_ERR;
	}
	return 0;
}

/* Reads one line from the daemon and parses it; NULL on EOF or error. */
static struct json_object *read_msg(void)
{
	for (;;) {
		char *nl = rlen ? memchr(rbuf, '\n', rlen) : NULL;
		ssize_t n;

		if (nl) {
			struct json_object *o;
			size_t len = (size_t)(nl - rbuf);
			*nl = 0;
			o = json_tokener_parse(rbuf);
			memmove(rbuf, nl + 1, rlen - len - 1);
			rlen -= len + 1;
			if (!o)
				fprintf(stderr, "error: vmmd sent a line that is not JSON\n");
			return o;
		}
		if (rlen + 65536 > rcap) {
			char *p;
			if (rcap > (64u << 20)) {
				fprintf(stderr, "error: vmmd sent a line longer than 64 MiB\n");
				return NULL;
			}
			p = realloc(rbuf, rcap ? rcap * 2 : 131072);
			if (!p)
				return NULL;
			rbuf = p;
			rcap = rcap ? rcap * 2 : 131072;
		}
		n = read(fd, rbuf + rlen, rcap - rlen - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "error: vmmd closed the connection%s%s\n", n < 0 ? ": " : "",
				n < 0 ? strerror(errno) : "");
			return NULL;
		}
		rlen += (size_t)n;
	}
}

/* Sends a request and waits for its reply (events in between are skipped).
 * Returns the reply (owned by the caller) or NULL after printing why. */
static struct json_object *call(const char *method, struct json_object *params)
{
	struct json_object *req = json_object_new_object(), *reply, *id;
	int my_id = next_id++, r;

	json_object_object_add(req, "id", json_object_new_int(my_id));
	json_object_object_add(req, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(req, "params", params);
	r = jsonl_send(fd, req);
	json_object_put(req);
	if (r < 0) {
		fprintf(stderr, "error: sending to vmmd at %s: %s\n", sock_path, strerror(-r));
		return NULL;
	}
	while ((reply = read_msg())) {
		if (json_object_object_get_ex(reply, "id", &id) && json_object_is_type(id, json_type_int) &&
		    json_object_get_int(id) == my_id)
			return reply;
		json_object_put(reply);
	}
	return NULL;
}

/* Maps an error reply to a message and an exit status. */
static int report_error(struct json_object *reply)
{
	struct json_object *e;
	const char *code, *msg;

	if (!json_object_object_get_ex(reply, "error", &e)) {
		fprintf(stderr, "error: vmmd sent a reply with neither result nor error\n");
		return EXIT_ERR;
	}
	code = json_get_str(e, "code");
	msg = json_get_str(e, "message");
	fprintf(stderr, "error: %s%s%s%s\n", msg ? msg : "", code ? " (" : "", code ? code : "",
		code ? ")" : "");
	if (code && !strcmp(code, "not_found"))
		return EXIT_NO_VM;
	if (code && !strcmp(code, "not_running"))
		return EXIT_NOT_RUNNING;
	return EXIT_ERR;
}

/* Calls and unwraps: *result borrowed from *reply. Returns an exit status. */
static int call_result(const char *method, struct json_object *params, struct json_object **reply,
		       struct json_object **result)
{
	*reply = call(method, params);
	if (!*reply)
		return EXIT_ERR;
	if (!json_object_object_get_ex(*reply, "result", result))
		return report_error(*reply);
	return EXIT_OK;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int check_version(struct json_object **version)
{
	struct json_object *reply, *res;
	int r = call_result("daemon.version", NULL, &reply, &res);
	int64_t proto;

	*version = NULL;
	if (r != EXIT_OK) {
		if (reply)
			fprintf(stderr, "error: vmmd at %s does not speak vmctl's protocol %d "
				"(no daemon.version); use a vmctl of the same release\n",
				sock_path, VMM_PROTOCOL_VERSION);
		json_object_put(reply);
		return EXIT_ERR;
	}
	proto = json_get_i64(res, "protocol", NULL);
	if (proto != VMM_PROTOCOL_VERSION) {
		fprintf(stderr, "error: vmmd at %s speaks protocol %lld (vmmd %s); this vmctl speaks "
			"protocol %d; use a vmctl of the same release as the daemon\n",
			sock_path, (long long)proto, json_get_str(res, "version") ? json_get_str(res, "version") : "?",
			VMM_PROTOCOL_VERSION);
		json_object_put(reply);
		return EXIT_ERR;
	}
	*version = reply;
	return EXIT_OK;
}

static struct json_object *name_params(const char *name)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "name", json_object_new_string(name));
	return p;
}

static const char *pid_str(struct json_object *o, char *buf, size_t len)
{
	int64_t pid = json_get_i64(o, "pid", NULL);

	if (!pid)
		return "-";
	snprintf(buf, len, "%lld", (long long)pid);
	return buf;
}

/* ---- commands ---- */

static int cmd_list(void)
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

static int cmd_info(const char *name, bool status_only)
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
	printf("kernel:      %s\n", json_get_str(def, "kernel"));
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
	printf("log:         %s\n", json_get_str(res, "log"));
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
		if (dev)
			printf("    device: %lld exits (%s per frame), %lld interrupts (%s per frame)\n",
			       (long long)json_get_i64(dev, "exits", "total"), epf,
			       (long long)json_get_i64(dev, "interrupts", NULL), ipf);
	}
}

static int cmd_stats(const char *name)
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
static int cmd_stats_watch(const char *name, double interval)
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

static int print_brief(struct json_object *res)
{
	struct json_object *changed;
	char pid[24];

	if (json_out) {
		print_json(res);
		return EXIT_OK;
	}
	if (json_object_object_get_ex(res, "changed", &changed) && !json_object_get_boolean(changed))
		printf("%s: already %s\n", json_get_str(res, "name"), json_get_str(res, "state"));
	else
		printf("%s: %s (%s)%s%s\n", json_get_str(res, "name"), json_get_str(res, "state"),
		       json_get_str(res, "reason"), json_get_i64(res, "pid", NULL) ? ", pid " : "",
		       json_get_i64(res, "pid", NULL) ? pid_str(res, pid, sizeof(pid)) : "");
	return EXIT_OK;
}

static int cmd_simple(const char *method, struct json_object *params)
{
	struct json_object *reply, *res;
	int r = call_result(method, params, &reply, &res);

	if (!r) {
		if (!strcmp(method, "vm.delete")) {
			if (json_out)
				print_json(res);
			else
				printf("%s: deleted\n", json_get_str(res, "name"));
		} else {
			r = print_brief(res);
		}
	}
	json_object_put(reply);
	return r;
}

static int cmd_stop(int argc, char **argv, const char *method)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { "timeout", required_argument, NULL, 't' },
					      { "output", required_argument, NULL, 'o' },
					      { NULL, 0, NULL, 0 } };
	struct json_object *p;
	bool force = false;
	uint64_t timeout = 0;
	int opt;

	optind = 0; /* glibc: re-initialize (argument permutation) */
	while ((opt = getopt_long(argc, argv, "ft:o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': force = true; break;
		case 't':
			if (parse_u64(optarg, 86400, &timeout) < 0 || !timeout)
				return die_usage("--timeout: '%s' is not a number of seconds in 1..86400",
						 optarg);
			break;
		case 'o':
			if (set_output(optarg))
				return EXIT_USAGE;
			break;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return die_usage("%s needs exactly one VM name", argv[0]);
	if (parse_only)
		return EXIT_OK;
	p = name_params(argv[optind]);
	if (force)
		json_object_object_add(p, "force", json_object_new_boolean(true));
	if (timeout)
		json_object_object_add(p, "timeout", json_object_new_int64((int64_t)timeout));
	return cmd_simple(method, p);
}

static int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' }, { "memory", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'v' },  { "autostart", no_argument, NULL, 'a' },
		{ "restart", required_argument, NULL, 'r' }, { "file", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' }, { "nic", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *def = NULL, *reply, *res, *nics = NULL;
	const char *kernel = NULL, *initrd = NULL, *cmdline = NULL, *restart = NULL, *file = NULL;
	uint64_t memory = 0, vcpus = 0;
	bool autostart = false;
	int opt, r;

	optind = 0; /* glibc: re-initialize (argument permutation) */
	while ((opt = getopt_long(argc, argv, "k:i:c:m:v:ar:f:o:n:", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': {
			/* model=M,switch=S[,mac=X]: keys as in the JSON definition */
			struct json_object *nic = json_object_new_object();
			char *spec = strdup(optarg), *save = NULL, *kv;
			for (kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
				char *eq = strchr(kv, '=');
				if (!eq || eq == kv) {
					free(spec);
					json_object_put(nic);
					json_object_put(nics);
					return die_usage("--nic: '%s' is not KEY=VALUE (model, switch, mac)",
							 kv);
				}
				*eq = 0;
				json_object_object_add(nic, kv, json_object_new_string(eq + 1));
			}
			free(spec);
			if (!nics)
				nics = json_object_new_array();
			json_object_array_add(nics, nic);
			break;
		}
		case 'k': kernel = optarg; break;
		case 'i': initrd = optarg; break;
		case 'c': cmdline = optarg; break;
		case 'm':
			if (parse_u64(optarg, UINT32_MAX, &memory) < 0)
				return die_usage("--memory: '%s' is not a number of MiB", optarg);
			break;
		case 'v':
			if (parse_u64(optarg, UINT32_MAX, &vcpus) < 0)
				return die_usage("--vcpus: '%s' is not a number", optarg);
			break;
		case 'a': autostart = true; break;
		case 'r': restart = optarg; break;
		case 'f': file = optarg; break;
		case 'o':
			if (set_output(optarg))
				return EXIT_USAGE;
			break;
		default: return EXIT_USAGE;
		}
	}
	if (file) {
		if (optind != argc || kernel || initrd || cmdline || memory || vcpus || autostart ||
		    restart || nics) {
			json_object_put(nics);
			return die_usage("%s", "create --file takes no name and no other flags");
		}
		if (parse_only)
			return EXIT_OK;
		def = json_object_from_file(file);
		if (!def) {
			fprintf(stderr, "error: %s: %s\n", file, json_util_get_last_err());
			return EXIT_ERR;
		}
	} else {
		char abs[PATH_MAX];
		if (optind + 1 != argc || !kernel || parse_only)
			json_object_put(nics);
		if (optind + 1 != argc)
			return die_usage("%s", "create needs one VM name (or --file VM.json)");
		if (!kernel)
			return die_usage("%s", "create needs --kernel FILE");
		if (parse_only)
			return EXIT_OK;
		def = json_object_new_object();
		json_object_object_add(def, "name", json_object_new_string(argv[optind]));
		/* the daemon resolves nothing against our working directory */
		json_object_object_add(def, "kernel", json_object_new_string(realpath(kernel, abs) ? abs : kernel));
		if (initrd)
			json_object_object_add(def, "initrd",
					       json_object_new_string(realpath(initrd, abs) ? abs : initrd));
		if (cmdline)
			json_object_object_add(def, "cmdline", json_object_new_string(cmdline));
		if (memory)
			json_object_object_add(def, "memory_mib", json_object_new_int64((int64_t)memory));
		if (vcpus)
			json_object_object_add(def, "vcpus", json_object_new_int64((int64_t)vcpus));
		if (autostart)
			json_object_object_add(def, "autostart", json_object_new_boolean(true));
		if (restart)
			json_object_object_add(def, "restart", json_object_new_string(restart));
		if (nics)
			json_object_object_add(def, "nics", nics);
	}
	r = call_result("vm.create", def, &reply, &res);
	if (!r) {
		if (json_out)
			print_json(res);
		else
			printf("%s: created\n", json_get_str(res, "name"));
	}
	json_object_put(reply);
	return r;
}

/* switch list|stats [NAME] */
static int cmd_switch(const char *sub, const char *name)
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
		struct json_object *sw = json_object_array_get_idx(sws, i), *ports;
		printf("switch %s: uplink %s, host port %s, attach %s%s\n", json_get_str(sw, "name"),
		       json_get_str(sw, "uplink") ? json_get_str(sw, "uplink") : "-",
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
static int cmd_console(const char *name)
{
	struct json_object *reply, *res;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), in_open = true;
	const char *path;
	int cfd, r = call_result("vm.info", name_params(name), &reply, &res);

	if (r) {
		json_object_put(reply);
		return r;
	}
	path = json_get_str(res, "console");
	if (!path) {
		fprintf(stderr, "error: vm %s is %s: no console to attach to (log: %s)\n", name,
			json_get_str(res, "state"), json_get_str(res, "log") ? json_get_str(res, "log") : "-");
		json_object_put(reply);
		return EXIT_NOT_RUNNING;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "error: console socket path too long: %s\n", path);
		json_object_put(reply);
		return EXIT_ERR;
	}
	strcpy(sa.sun_path, path);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "error: console %s: %s\n", path, strerror(errno));
		json_object_put(reply);
		return EXIT_ERR;
	}
	json_object_put(reply);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tty) {
		fprintf(stderr, "attached to %s's console (Ctrl-] detaches)\r\n", name);
		tcgetattr(STDIN_FILENO, &saved);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	while (!stop_events) {
		struct pollfd pf[2] = { { cfd, POLLIN, 0 }, { in_open ? STDIN_FILENO : -1, POLLIN, 0 } };
		char buf[4096];
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents) {
			n = read(cfd, buf, sizeof(buf));
			if (n <= 0)
				break; /* the VM ended (or another client took over) */
			if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;
		}
		if (pf[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				continue;
			}
			if (tty) {
				char *esc = memchr(buf, 0x1d, (size_t)n); /* Ctrl-] */
				if (esc) {
					write_all(cfd, buf, (size_t)(esc - buf));
					break;
				}
			}
			if (write_all(cfd, buf, (size_t)n) < 0)
				break;
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\r\ndetached from %s's console\n", name);
	}
	close(cfd);
	return EXIT_OK;
}

static int cmd_events(void)
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

/* ---- the command table ---- */

/* One command line, as the table's handlers see it. */
struct invocation {
	int argc;
	char **argv;        /* from the command's own name on */
	const char *name;   /* the VM (or switch) named, or NULL */
	const char *sub;    /* switch: list or stats */
	bool watch;         /* stats --watch */
	double interval;    /* stats --interval */
	struct json_object *version; /* the daemon's daemon.version reply */
};

enum args {
	ARGS_NONE,   /* [--output F] */
	ARGS_VM,     /* NAME [--output F] and the command's own flags */
	ARGS_SWITCH, /* list|stats [NAME] [--output F] */
	ARGS_GETOPT, /* the handler parses its flags (called once with parse_only first) */
};

static int run_version(struct invocation *in)
{
	struct json_object *res;

	json_object_object_get_ex(in->version, "result", &res);
	if (json_out) {
		print_json(res);
		return EXIT_OK;
	}
	printf("vmctl %s (protocol %d)\n", VMCTL_VERSION, VMM_PROTOCOL_VERSION);
	printf("vmmd  %s (protocol %lld), pid %lld, socket %s\n", json_get_str(res, "version"),
	       (long long)json_get_i64(res, "protocol", NULL), (long long)json_get_i64(res, "pid", NULL),
	       sock_path);
	return EXIT_OK;
}
static int run_list(struct invocation *in) { (void)in; return cmd_list(); }
static int run_info(struct invocation *in) { return cmd_info(in->name, false); }
static int run_status(struct invocation *in) { return cmd_info(in->name, true); }
static int run_stats(struct invocation *in)
{
	return in->watch ? cmd_stats_watch(in->name, in->interval) : cmd_stats(in->name);
}
static int run_create(struct invocation *in) { return cmd_create(in->argc, in->argv); }
static int run_start(struct invocation *in) { return cmd_simple("vm.start", name_params(in->name)); }
static int run_stop(struct invocation *in) { return cmd_stop(in->argc, in->argv, "vm.stop"); }
static int run_restart(struct invocation *in) { return cmd_stop(in->argc, in->argv, "vm.restart"); }
static int run_delete(struct invocation *in) { return cmd_simple("vm.delete", name_params(in->name)); }
static int run_switch(struct invocation *in) { return cmd_switch(in->sub, in->name); }
static int run_console(struct invocation *in) { return cmd_console(in->name); }
static int run_events(struct invocation *in) { (void)in; return cmd_events(); }

/* stats' own flags: 1 when argv[*i] was one (and consumed), 0 when not. */
static int stats_flag(struct invocation *in, char **argv, int argc, int *i)
{
	char *end;

	if (!strcmp(argv[*i], "--watch")) {
		in->watch = true;
		return 1;
	}
	if (strcmp(argv[*i], "--interval") || *i + 1 >= argc)
		return 0;
	in->interval = strtod(argv[++*i], &end);
	if (*end || !(in->interval >= 0.1 && in->interval <= 3600))
		return die_usage("--interval: '%s' is not a number of seconds in 0.1..3600",
				 argv[*i]), -1;
	in->watch = true;
	return 1;
}

static const struct command {
	const char *name;
	const char *args, *help; /* for --help */
	enum args kind;
	bool writes;             /* false: the read-only socket serves it */
	int (*run)(struct invocation *in);
	int (*flag)(struct invocation *in, char **argv, int argc, int *i);
} commands[] = {
	{ "list", "", "VMs and their states", ARGS_NONE, false, run_list, NULL },
	{ "info", "NAME", "definition, state, pid, log", ARGS_VM, false, run_info, NULL },
	{ "status", "NAME", "state; exit 0 running, 3 not running, 4 unknown", ARGS_VM, false,
	  run_status, NULL },
	{ "stats", "NAME [--watch [--interval S]]",
	  "the monitor's counters (--watch: rates every S s)", ARGS_VM, false,
	  run_stats, stats_flag },
	{ "create",
	  "NAME --kernel FILE [--cmdline STR] [--memory MIB] [--vcpus N]\n"
	  "         [--initrd FILE] [--autostart] [--restart no|on-failure|always]\n"
	  "         [--nic model=pcnet|virtio-net,switch=NAME[,mac=MAC]]...\n"
	  "  create --file VM.json",
	  "define a VM (--file: as JSON, vmmd/PROTOCOL.md); `define` is the same", ARGS_GETOPT, true, run_create, NULL },
	{ "start", "NAME", "start and wait until it runs", ARGS_VM, true, run_start, NULL },
	{ "stop", "NAME [--force] [--timeout S]", "ask the guest, force after S seconds",
	  ARGS_GETOPT, true, run_stop, NULL },
	{ "restart", "NAME [--force] [--timeout S]", "stop, then start", ARGS_GETOPT, true,
	  run_restart, NULL },
	{ "delete", "NAME", "remove a stopped VM's definition", ARGS_VM, true, run_delete, NULL },
	{ "switch", "list|stats [NAME]", "the switches, their ports (and counters)", ARGS_SWITCH,
	  false, run_switch, NULL },
	{ "console", "NAME", "attach to the serial console (Ctrl-] detaches)", ARGS_VM, false,
	  run_console, NULL },
	{ "events", "", "print VM state changes as they happen", ARGS_NONE, false, run_events,
	  NULL },
	{ "version", "", "vmctl's and vmmd's versions", ARGS_NONE, false, run_version, NULL },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmctl [--socket PATH] [--output table|json] COMMAND [ARGS]\ncommands:\n");
	for (unsigned i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];
		size_t len = strlen(c->name) + (*c->args ? 1 + strlen(c->args) : 0);

		fprintf(f, "  %s%s%s", c->name, *c->args ? " " : "", c->args);
		if (len <= 32 && !strchr(c->args, '\n'))
			fprintf(f, "%*s  %s\n", (int)(32 - len), "", c->help);
		else
			fprintf(f, "\n  %-32s  %s\n", "", c->help);
	}
	fprintf(f, "socket: --socket, else $VMMD_SOCKET, else %s\n"
		   "exit status: 0 ok, 1 error, 2 usage, 3 not running, 4 no such VM\n",
		VMMD_DEFAULT_SOCKET);
}

/* The arguments after the command's name, for every kind but ARGS_GETOPT:
 * names by position, --output anywhere, the command's own flags. */
static int scan_args(const struct command *c, struct invocation *in)
{
	int names = 0, first = 1, r;

	if (c->kind == ARGS_SWITCH) {
		if (in->argc < 2 || (strcmp(in->argv[1], "list") && strcmp(in->argv[1], "stats")))
			return die_usage("%s", "switch needs list or stats");
		in->sub = in->argv[1];
		first = 2;
	}
	for (int i = first; i < in->argc; i++) {
		const char *a = in->argv[i];

		if (!strcmp(a, "--output") && i + 1 < in->argc) {
			if (set_output(in->argv[++i]))
				return EXIT_USAGE;
		} else if (!strncmp(a, "--output=", 9)) {
			if (set_output(a + 9))
				return EXIT_USAGE;
		} else if (c->flag && (r = c->flag(in, in->argv, in->argc, &i)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
		} else if (a[0] == '-' && c->kind != ARGS_NONE) {
			return die_usage("unknown option '%s'", a);
		} else if (c->kind == ARGS_NONE || (c->kind == ARGS_SWITCH && names)) {
			return die_usage("unexpected argument '%s'", a);
		} else {
			names++;
			in->name = a;
		}
	}
	if (c->kind == ARGS_VM && names != 1)
		return die_usage("%s needs exactly one VM name", c->name);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' },
					      { "output", required_argument, NULL, 'o' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, 'V' },
					      { NULL, 0, NULL, 0 } };
	struct invocation in = { .interval = 1.0 };
	const struct command *c = NULL;
	const char *name;
	int opt, r;

	sock_path = getenv("VMMD_SOCKET") && *getenv("VMMD_SOCKET") ? getenv("VMMD_SOCKET") :
								     VMMD_DEFAULT_SOCKET;
	while ((opt = getopt_long(argc, argv, "+s:o:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 's': sock_path = optarg; break;
		case 'o':
			if (set_output(optarg))
				return EXIT_USAGE;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("vmctl %s (protocol %d)\n", VMCTL_VERSION, VMM_PROTOCOL_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (!strcmp(name, "define")) /* virsh's name for it: persist, do not start */
		name = "create";
	for (unsigned i = 0; i < ARRAY_SIZE(commands) && !c; i++)
		if (!strcmp(name, commands[i].name))
			c = &commands[i];
	if (!c)
		return die_usage("unknown command '%s'", name);
	in.argc = argc - optind;
	in.argv = argv + optind;
	signal(SIGPIPE, SIG_IGN);

	/* Every flag is checked before the daemon is asked anything. */
	if (c->kind == ARGS_GETOPT) {
		parse_only = true;
		r = c->run(&in);
		parse_only = false;
	} else {
		r = scan_args(c, &in);
	}
	if (r)
		return r;
	if ((r = connect_daemon(!c->writes)) != 0)
		return r;
	if ((r = check_version(&in.version)) != 0)
		return r;
	r = c->run(&in);
	json_object_put(in.version);
	close(fd);
	free(rbuf);
	return r;
}

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

#include "vmctl/vmctl.h"

static void usage(FILE *f);

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
static int run_set_limit(struct invocation *in) { return cmd_set_limit(in->argc, in->argv); }

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
	{ "set-limit", "NAME NIC [--tx SPEC|none] [--rx SPEC|none]\n"
	  "         SPEC: bits=N,pkts=N,burst=BYTES,burst-pkts=N (N: k, M, G)",
	  "a NIC's rate limits, at once and in the definition", ARGS_GETOPT, true, run_set_limit,
	  NULL },
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

/* config.c: see config.h. */
#include "monitor/config.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "monitor/nic.h"

#define CONFIG_FILE_MAX (1u << 20)

/* Jailed unless asked not to: when started as root (the jail needs root to
 * set up), except in sanitizer builds (LeakSanitizer traces the process at
 * exit, which no jail allows). */
static bool sandbox_default(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return false;
#else
	return geteuid() == 0;
#endif
}

void config_init(struct monitor_config *c)
{
	memset(c, 0, sizeof(*c));
	c->memory_mib = 128;
	c->vcpus = 1;
	c->control_fd = -1;
	c->console = CONSOLE_STDIO;
	c->console_fd = -1;
	c->stats = STATS_HUMAN;
	c->kernel_fd = c->initrd_fd = c->kvm_fd = c->stats_fd = -1;
	c->console_log_fd = c->console_old_fd = -1;
	c->sandbox.uid = c->sandbox.gid = SANDBOX_UID_DEFAULT;
	c->sandbox.enabled = sandbox_default();
}

void config_free(struct monitor_config *c)
{
	free(c->name);
	free(c->kernel);
	free(c->initrd);
	free(c->cmdline);
	free(c->control);
	free(c->console_path);
	free(c->console_tee);
	free(c->stats_file);
	memset(c, 0, sizeof(*c));
}

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_uint_opt(const char *what, const char *v, uint64_t max, uint32_t *out)
{
	uint64_t x;
	int r = parse_u64(v, max, &x);

	if (r == -ERANGE) {
		log_err("%s: %s is out of range (at most %llu)", what, v, (unsigned long long)max);
		return MON_EXIT_USAGE;
	}
	if (r < 0) {
		log_err("%s: '%s' is not a number", what, v);
		return MON_EXIT_USAGE;
	}
	*out = (uint32_t)x;
	return 0;
}

/* "stdio", "none", "file:PATH", "unix:PATH", "fd:N", or the tee
 * "file:PATH,unix:PATH" (either order): output to both, input from the socket. */
static int parse_console(struct monitor_config *c, const char *what, const char *v)
{
	const char *comma = strchr(v, ',');
	uint64_t fd;

	free(c->console_tee);
	c->console_tee = NULL;
	if (comma) {
		const char *file = NULL, *sock = NULL, *a = v, *b = comma + 1;
		size_t alen = (size_t)(comma - v);

		if (!strncmp(a, "file:", 5) && !strncmp(b, "unix:", 5))
			file = a, sock = b;
		else if (!strncmp(a, "unix:", 5) && !strncmp(b, "file:", 5))
			file = b, sock = a;
		if (!file || alen <= 5 || !b[5] || strchr(b, ',')) {
			log_err("%s: '%s': a tee is file:PATH,unix:PATH", what, v);
			return MON_EXIT_USAGE;
		}
		c->console = CONSOLE_FILE;
		if (file == a) {
			char *p = strndup(a + 5, alen - 5);
			if (!p)
				return MON_EXIT_OSERR;
			free(c->console_path);
			c->console_path = p;
			return set_str(&c->console_tee, sock + 5) < 0 ? MON_EXIT_OSERR : 0;
		}
		c->console_tee = strndup(a + 5, alen - 5);
		if (!c->console_tee)
			return MON_EXIT_OSERR;
		return set_str(&c->console_path, file + 5) < 0 ? MON_EXIT_OSERR : 0;
	}
	if (!strcmp(v, "stdio")) {
		c->console = CONSOLE_STDIO;
	} else if (!strcmp(v, "none")) {
		c->console = CONSOLE_NONE;
	} else if (!strncmp(v, "file:", 5) && v[5]) {
		c->console = CONSOLE_FILE;
		return set_str(&c->console_path, v + 5) < 0 ? MON_EXIT_OSERR : 0;
	} else if (!strncmp(v, "unix:", 5) && v[5]) {
		c->console = CONSOLE_UNIX;
		return set_str(&c->console_path, v + 5) < 0 ? MON_EXIT_OSERR : 0;
	} else if (!strncmp(v, "fd:", 3) && parse_u64(v + 3, 65535, &fd) == 0) {
		c->console = CONSOLE_FD;
		c->console_fd = (int)fd;
	} else {
		log_err("%s: '%s' is not one of stdio, none, file:PATH, unix:PATH, fd:N", what, v);
		return MON_EXIT_USAGE;
	}
	return 0;
}

static int parse_stats(struct monitor_config *c, const char *what, const char *v)
{
	if (!strcmp(v, "human"))
		c->stats = STATS_HUMAN;
	else if (!strcmp(v, "json"))
		c->stats = STATS_JSON;
	else if (!strcmp(v, "none"))
		c->stats = STATS_NONE;
	else {
		log_err("%s: '%s' is not one of human, json, none", what, v);
		return MON_EXIT_USAGE;
	}
	return 0;
}

void config_usage(FILE *f)
{
	char opts[64];

	fprintf(f,
		"Usage: vmm-monitor --kernel FILE [options]\n"
		"Runs one KVM virtual machine in this process.\n\n"
		"  --kernel FILE        PVH ELF (XEN_ELFNOTE_PHYS32_ENTRY) or Linux bzImage\n"
		"  --initrd FILE        initial ramdisk (PVH module / Linux initrd)\n"
		"  --cmdline STR        kernel command line (max %u bytes)\n"
		"  --memory MIB         guest RAM in MiB (%u..%u, default 128)\n"
		"  --vcpus N            virtual CPUs (1..%u, default 1)\n"
		"  --name NAME          VM name used in messages (default vm)\n"
		"  --config FILE.json   read settings from a JSON file; later flags override it\n"
		"  --control PATH       serve the JSON control socket at PATH\n"
		"  --control-fd N       serve the control socket on inherited listening fd N\n"
		"  --console SPEC       serial console: stdio (default), none, file:PATH,\n"
		"                       unix:PATH (listening socket), fd:N (inherited fd),\n"
		"                       file:PATH,unix:PATH (tee: the file gets everything, the\n"
		"                       socket a live view and the input)\n"
		"  --console-max BYTES  a console file's cap: past it the file becomes FILE.1\n"
		"                       and starts again (0, the default: no cap)\n"
		"  --console-log-fd N, --console-old-fd N\n"
		"                       inherited fds for the console file and FILE.1 (read and\n"
		"                       written instead of the paths)\n"
		"  --stats FORMAT       exit-accounting summary on stderr at exit: human (default),\n"
		"                       json, none\n"
		"  --stats-file PATH    also write the JSON summary to PATH at exit\n"
		"  --kernel-fd N, --initrd-fd N, --kvm-fd N, --stats-fd N\n"
		"                       inherited fds to read the kernel and initrd from (the\n"
		"                       paths then only name them), to use as /dev/kvm, to\n"
		"                       write the stats file to\n"
		"  --sandbox            run the guest jailed: own PID, mount (empty root) and IPC\n"
		"                       namespaces, an unprivileged uid, no capabilities,\n"
		"                       no_new_privs, a seccomp allow-list (needs root to start;\n"
		"                       the default when started as root)\n"
		"  --no-sandbox         run unjailed (debugging with gdb or strace)\n"
		"  --sandbox-uid N, --sandbox-gid N\n"
		"                       the ids it runs as (default %u)\n"
		"  --nic model=pcnet,tap=NAME|fd=N[,mac=MAC][,opt=LIST]\n"
		"                       a NIC on a tap (tap=NAME opens or creates it; fd=N is an\n"
		"                       inherited tap); repeatable. opt: the I/O optimizations\n"
		"                       (default all): none, or %s, or -NAME\n"
		"  --debug              debug logging\n"
		"  --help               this text\n\n"
		"Exit status: the guest's debug-exit status (0..63; 0 = pass), 0 after a clean\n"
		"poweroff or a requested stop, 64 usage, 65 bad kernel/initrd, 66 missing file,\n"
		"69 no KVM, 70 internal error, 71 host resource error, 77 /dev/kvm permission,\n"
		"78 size out of range, 80 guest reset, 81 triple fault, 82 emulation failure,\n"
		"83 VM entry failure, 128+N killed by signal N.\n",
		MON_CMDLINE_MAX, MON_MEM_MIN_MIB, MON_MEM_MAX_MIB, MON_VCPUS_MAX, SANDBOX_UID_DEFAULT,
		nic_opts_string(NETDEV_OPT_ALL, opts, sizeof(opts)));
}

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY, OPT_VCPUS, OPT_NAME, OPT_CONFIG,
	OPT_CONTROL, OPT_CONTROL_FD, OPT_CONSOLE, OPT_STATS, OPT_STATS_FILE, OPT_DEBUG, OPT_HELP, OPT_NIC,
	OPT_KERNEL_FD, OPT_INITRD_FD, OPT_KVM_FD, OPT_STATS_FD, OPT_SANDBOX, OPT_SANDBOX_UID,
	OPT_SANDBOX_GID, OPT_CONSOLE_MAX, OPT_NO_SANDBOX, OPT_CONSOLE_LOG_FD, OPT_CONSOLE_OLD_FD,
};

/* --X-fd N: an inherited fd number */
static int parse_fd_opt(const char *what, const char *v, int *out)
{
	uint32_t fd;
	int r = parse_uint_opt(what, v, 65535, &fd);

	if (r == 0)
		*out = (int)fd;
	return r;
}

int config_parse_args(struct monitor_config *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "vcpus", required_argument, NULL, OPT_VCPUS },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "control-fd", required_argument, NULL, OPT_CONTROL_FD },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "stats", required_argument, NULL, OPT_STATS },
		{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "nic", required_argument, NULL, OPT_NIC },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "kernel-fd", required_argument, NULL, OPT_KERNEL_FD },
		{ "initrd-fd", required_argument, NULL, OPT_INITRD_FD },
		{ "kvm-fd", required_argument, NULL, OPT_KVM_FD },
		{ "stats-fd", required_argument, NULL, OPT_STATS_FD },
		{ "sandbox", no_argument, NULL, OPT_SANDBOX },
		{ "sandbox-uid", required_argument, NULL, OPT_SANDBOX_UID },
		{ "sandbox-gid", required_argument, NULL, OPT_SANDBOX_GID },
		{ "console-max", required_argument, NULL, OPT_CONSOLE_MAX },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "console-log-fd", required_argument, NULL, OPT_CONSOLE_LOG_FD },
		{ "console-old-fd", required_argument, NULL, OPT_CONSOLE_OLD_FD },
		{}
	};
	int o, r = 0;
	uint32_t id;

	opterr = 0;
	/* 0, not 1: glibc then forgets where it stopped in the last argv (an
	 * unknown short option leaves it inside "-ab"), so a second call parses
	 * its own argv from the start */
	optind = 0;
	while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		const char *v = optarg;
		switch (o) {
		case OPT_KERNEL: r = set_str(&c->kernel, v); break;
		case OPT_INITRD: r = set_str(&c->initrd, v); break;
		case OPT_CMDLINE: r = set_str(&c->cmdline, v); break;
		case OPT_NAME: r = set_str(&c->name, v); break;
		case OPT_CONTROL: r = set_str(&c->control, v); break;
		case OPT_STATS_FILE: r = set_str(&c->stats_file, v); break;
		case OPT_MEMORY: r = parse_uint_opt("--memory", v, UINT32_MAX, &c->memory_mib); break;
		case OPT_VCPUS: r = parse_uint_opt("--vcpus", v, UINT32_MAX, &c->vcpus); break;
		case OPT_CONTROL_FD: r = parse_fd_opt("--control-fd", v, &c->control_fd); break;
		case OPT_KERNEL_FD: r = parse_fd_opt("--kernel-fd", v, &c->kernel_fd); break;
		case OPT_INITRD_FD: r = parse_fd_opt("--initrd-fd", v, &c->initrd_fd); break;
		case OPT_KVM_FD: r = parse_fd_opt("--kvm-fd", v, &c->kvm_fd); break;
		case OPT_STATS_FD: r = parse_fd_opt("--stats-fd", v, &c->stats_fd); break;
		case OPT_CONSOLE_LOG_FD:
			r = parse_fd_opt("--console-log-fd", v, &c->console_log_fd);
			break;
		case OPT_CONSOLE_OLD_FD:
			r = parse_fd_opt("--console-old-fd", v, &c->console_old_fd);
			break;
		case OPT_SANDBOX: c->sandbox.enabled = true; break;
		case OPT_NO_SANDBOX: c->sandbox.enabled = false; break;
		case OPT_CONSOLE_MAX:
			if (parse_u64(v, UINT64_C(1) << 40, &c->console_max) < 0 ||
			    (c->console_max && c->console_max < 4096)) {
				log_err("--console-max: '%s' is not a size in bytes (0, or 4096..2^40)",
					v);
				return MON_EXIT_USAGE;
			}
			break;
		case OPT_SANDBOX_UID:
			r = parse_uint_opt("--sandbox-uid", v, UINT32_MAX - 1, &id);
			c->sandbox.uid = (uid_t)id;
			break;
		case OPT_SANDBOX_GID:
			r = parse_uint_opt("--sandbox-gid", v, UINT32_MAX - 1, &id);
			c->sandbox.gid = (gid_t)id;
			break;
		case OPT_CONSOLE: r = parse_console(c, "--console", v); break;
		case OPT_STATS: r = parse_stats(c, "--stats", v); break;
		case OPT_DEBUG: c->debug = true; break;
		case OPT_NIC: {
			const char *why = "";
			if (c->nr_nics == NIC_MAX) {
				log_err("--nic: at most %u NICs", NIC_MAX);
				return MON_EXIT_USAGE;
			}
			if (nic_parse(v, &c->nics[c->nr_nics], &why) < 0) {
				log_err("--nic %s: %s", v, why);
				return MON_EXIT_USAGE;
			}
			c->nr_nics++;
			break;
		}
		case OPT_CONFIG: r = config_load_json(c, v); break;
		case OPT_HELP: config_usage(stdout); return 1;
		case ':':
			log_err("%s: missing value (see --help)", argv[optind - 1]);
			return MON_EXIT_USAGE;
		default:
			log_err("%s: unknown option (see --help)", argv[optind - 1]);
			return MON_EXIT_USAGE;
		}
		if (r < 0)
			return MON_EXIT_OSERR;
		if (r > 0)
			return r;
	}
	if (optind < argc) {
		log_err("%s: unexpected argument (options take the form --name VALUE; see --help)",
			argv[optind]);
		return MON_EXIT_USAGE;
	}
	return 0;
}

/* JSON keys; every key in the file must be one of these. */
static int json_set(struct monitor_config *c, const char *origin, const char *key,
		    struct json_object *v)
{
	char what[128];
	const char *s;
	int64_t n;

	static const char *const known[] = { "name", "kernel", "initrd", "cmdline", "memory_mib",
					     "vcpus", "control", "console", "stats", "stats_file" };
	bool ok = false;

	snprintf(what, sizeof(what), "%s: key \"%s\"", origin, key);
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		ok = ok || !strcmp(key, known[i]);
	if (!ok) {
		log_err("%s: unknown key (known: name, kernel, initrd, cmdline, memory_mib, vcpus, "
			"control, console, stats, stats_file)", what);
		return MON_EXIT_USAGE;
	}
	if (!strcmp(key, "memory_mib") || !strcmp(key, "vcpus")) {
		if (!json_object_is_type(v, json_type_int)) {
			log_err("%s: expected an integer", what);
			return MON_EXIT_USAGE;
		}
		n = json_object_get_int64(v);
		if (n < 0 || n > UINT32_MAX) {
			log_err("%s: %lld is out of range", what, (long long)n);
			return MON_EXIT_USAGE;
		}
		if (!strcmp(key, "vcpus"))
			c->vcpus = (uint32_t)n;
		else
			c->memory_mib = (uint32_t)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		log_err("%s: expected a string", what);
		return MON_EXIT_USAGE;
	}
	s = json_object_get_string(v);
	if (!strcmp(key, "kernel"))
		return set_str(&c->kernel, s) < 0 ? MON_EXIT_OSERR : 0;
	if (!strcmp(key, "initrd"))
		return set_str(&c->initrd, s) < 0 ? MON_EXIT_OSERR : 0;
	if (!strcmp(key, "cmdline"))
		return set_str(&c->cmdline, s) < 0 ? MON_EXIT_OSERR : 0;
	if (!strcmp(key, "name"))
		return set_str(&c->name, s) < 0 ? MON_EXIT_OSERR : 0;
	if (!strcmp(key, "control"))
		return set_str(&c->control, s) < 0 ? MON_EXIT_OSERR : 0;
	if (!strcmp(key, "stats_file"))
		return set_str(&c->stats_file, s) < 0 ? MON_EXIT_OSERR : 0;
	if (!strcmp(key, "console"))
		return parse_console(c, what, s);
	return parse_stats(c, what, s); /* "stats", the last known key */
}

int config_load_json_string(struct monitor_config *c, const char *json, const char *origin)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root;
	enum json_tokener_error jerr;
	int r = 0;

	if (!tok)
		return MON_EXIT_OSERR;
	root = json_tokener_parse_ex(tok, json, (int)strlen(json));
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success ||
	    tok->char_offset < (int)strlen(json) /* trailing garbage */) {
		if (root && jerr == json_tokener_success) {
			/* whitespace after the object is fine */
			const char *rest = json + tok->char_offset;
			while (*rest == ' ' || *rest == '\n' || *rest == '\t' || *rest == '\r')
				rest++;
			if (!*rest)
				goto parsed;
		}
		log_err("%s: invalid JSON at offset %d: %s", origin, (int)tok->char_offset,
			jerr == json_tokener_success    ? "trailing data"
			: jerr == json_tokener_continue ? "unexpected end of input"
							: json_tokener_error_desc(jerr));
		r = MON_EXIT_DATAERR;
		goto out;
	}
parsed:
	if (!json_object_is_type(root, json_type_object)) {
		log_err("%s: expected a JSON object at the top level", origin);
		r = MON_EXIT_DATAERR;
		goto out;
	}
	json_object_object_foreach(root, key, val) {
		r = json_set(c, origin, key, val);
		if (r)
			break;
	}
out:
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}

int config_load_json(struct monitor_config *c, const char *path)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r = read_file(path, CONFIG_FILE_MAX, &buf, &len);

	if (r < 0) {
		log_errno(r, "config %s", path);
		return r == -ENOENT || r == -EACCES || r == -EISDIR ? MON_EXIT_NOINPUT
								     : MON_EXIT_DATAERR;
	}
	if (strlen((char *)buf) != len) {
		log_err("config %s: contains a NUL byte; not a JSON text file", path);
		return MON_EXIT_DATAERR;
	}
	{
		char origin[PATH_MAX + 8];
		snprintf(origin, sizeof(origin), "config %s", path);
		return config_load_json_string(c, (char *)buf, origin);
	}
}

int config_validate(const struct monitor_config *c, uint64_t host_mem_bytes)
{
	uint64_t mem = (uint64_t)c->memory_mib << 20;

	if ((!c->kernel || !*c->kernel) && c->kernel_fd < 0) {
		log_err("no kernel given: use --kernel FILE (see --help)");
		return MON_EXIT_USAGE;
	}
	if (c->sandbox.enabled && (!c->sandbox.uid || !c->sandbox.gid)) {
		log_err("--sandbox-uid/--sandbox-gid: the sandbox never runs as root (0)");
		return MON_EXIT_USAGE;
	}
	if (c->memory_mib < MON_MEM_MIN_MIB || c->memory_mib > MON_MEM_MAX_MIB) {
		log_err("memory: %u MiB is out of range (%u..%u MiB)", c->memory_mib,
			MON_MEM_MIN_MIB, MON_MEM_MAX_MIB);
		return MON_EXIT_CONFIG;
	}
	if (host_mem_bytes && mem > host_mem_bytes) {
		log_err("memory: %u MiB is more than this host's %llu MiB", c->memory_mib,
			(unsigned long long)(host_mem_bytes >> 20));
		return MON_EXIT_CONFIG;
	}
	if (c->vcpus < 1 || c->vcpus > MON_VCPUS_MAX) {
		log_err("vcpus: %u is out of range (1..%u)", c->vcpus, MON_VCPUS_MAX);
		return MON_EXIT_CONFIG;
	}
	if (c->cmdline && strlen(c->cmdline) > MON_CMDLINE_MAX) {
		log_err("cmdline: %zu bytes is longer than %u", strlen(c->cmdline), MON_CMDLINE_MAX);
		return MON_EXIT_USAGE;
	}
	return 0;
}

/* fuzz_monitor_config.c: libFuzzer target for the monitor's configuration,
 * monitor/config.c: a JSON config (config_load_json_string, what --config
 * FILE reads) and the command line (config_parse_args, --nic included),
 * then config_validate, as main.c runs them.
 *
 * Input: a config byte, then pieces separated by NUL bytes. Config byte:
 * bit 0: the first piece is a JSON config, loaded first; bit 1: the other
 * pieces are arguments after argv[0] (at most 64). An input with an argument
 * that getopt_long takes for --config (a prefix "--conf") is skipped: the
 * file's content is the JSON piece, and the target reads no files.
 *
 * Invariants: the result is 0, 1 (--help) or the documented exit status of
 * a bad value (usage, data error, resource failure); what a success leaves
 * is consistent: each NIC has a model and exactly one of tap and fd, a file
 * or socket console has its path, a tee only with a file console, fd
 * numbers in 0..65535; config_validate() accepts only a kernel (a path or
 * --kernel-fd), memory and
 * vCPUs in range and a command line that fits. After any command line, a
 * good one parses (config_parse_args keeps no state from one call to the
 * next). Everything frees cleanly (LeakSanitizer), also after a refusal. */
#include <stdio.h>

#include "common/contract.h"
#include "monitor/config.h"
#include "tests/fuzz/fuzz_input.h"

#define MAX_ARGS 64

FZ_NOCOV static void check_config(const struct monitor_config *c)
{
	FZ_CHECK(c->nr_nics <= NIC_MAX);
	for (unsigned i = 0; i < c->nr_nics; i++) {
		const struct nic_config *n = &c->nics[i];
		FZ_CHECK(n->model);
		FZ_CHECK(!n->tap[0] != (n->fd < 0));
		FZ_CHECK(n->fd <= 65535 && memchr(n->tap, 0, sizeof(n->tap)));
	}
	if (c->console == CONSOLE_FILE || c->console == CONSOLE_UNIX)
		FZ_CHECK(c->console_path && c->console_path[0]);
	if (c->console_tee)
		FZ_CHECK(c->console == CONSOLE_FILE && c->console_tee[0]);
	if (c->console == CONSOLE_FD)
		FZ_CHECK(c->console_fd >= 0 && c->console_fd <= 65535);
	FZ_CHECK(c->control_fd >= -1 && c->control_fd <= 65535);
}

FZ_NOCOV static void check_valid(const struct monitor_config *c)
{
	/* A kernel by path, or by an inherited fd (vmmd's --kernel-fd). */
	FZ_CHECK((c->kernel && c->kernel[0]) || (c->kernel_fd >= 0 && c->kernel_fd <= 65535));
	FZ_CHECK(c->memory_mib >= MON_MEM_MIN_MIB && c->memory_mib <= MON_MEM_MAX_MIB);
	FZ_CHECK(c->vcpus >= 1 && c->vcpus <= MON_VCPUS_MAX);
	FZ_CHECK(!c->cmdline || strlen(c->cmdline) <= MON_CMDLINE_MAX);
}

/* A parse leaves nothing behind for the next one (getopt's state): a good
 * command line parses after any other. */
FZ_NOCOV static void after_parse(void)
{
	static char *good[] = { "vmm-monitor", "--kernel", "/k", "--memory", "64", NULL };
	struct monitor_config c;

	config_init(&c);
	FZ_CHECK(config_parse_args(&c, 5, good) == 0);
	FZ_CHECK(c.kernel && !strcmp(c.kernel, "/k") && c.memory_mib == 64);
	config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct fz in = { data, size };
	uint8_t cfg = fz_u8(&in);
	char *text = fz_strndup(in.p, in.n), *p = text, *end = text + in.n;
	char *argv[MAX_ARGS + 2];
	struct monitor_config c;
	int argc = 0, r = 0;

	fz_quiet_logging(LOG_P_ERR - 1);
	if (!quiet && !getenv("FUZZ_VERBOSE")) {
		quiet = true;
		FZ_CHECK(freopen("/dev/null", "w", stdout)); /* --help */
	}
	config_init(&c);
	if (cfg & 1) {
		r = config_load_json_string(&c, p, "fuzz");
		FZ_CHECK(r == 0 || r == MON_EXIT_USAGE || r == MON_EXIT_DATAERR ||
			 r == MON_EXIT_OSERR);
		p += strlen(p) + 1;
	}
	if (r == 0 && (cfg & 2)) {
		argv[argc++] = (char *)"vmm-monitor";
		for (; p < end && argc <= MAX_ARGS; p += strlen(p) + 1) {
			if (!strncmp(p, "--conf", 6))
				goto out;
			argv[argc++] = p;
		}
		argv[argc] = NULL;
		r = config_parse_args(&c, argc, argv);
		FZ_CHECK(r == 0 || r == 1 || r == MON_EXIT_USAGE || r == MON_EXIT_OSERR);
		after_parse();
	}
	if (r == 0) {
		check_config(&c);
		if (config_validate(&c, 4ull << 30) == 0)
			check_valid(&c);
	}
out:
	config_free(&c);
	free(text);
	return 0;
}

/* config.h: a monitor's configuration, from command-line flags and/or a JSON
 * file (flags given after --config override the file). json-c stays here; the
 * rest of the monitor sees only struct monitor_config. */
#pragma once

#include "common/contract.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "monitor/nic.h"
#include "monitor/sandbox.h"

#define MON_MEM_MIN_MIB 8u
#define MON_MEM_MAX_MIB 3072u /* RAM lies below the 3 GiB PCI hole */
#define MON_VCPUS_MAX 64u
#define MON_CMDLINE_MAX 4095u

enum console_kind { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_UNIX, CONSOLE_FD, CONSOLE_NONE };
enum stats_format { STATS_HUMAN, STATS_JSON, STATS_NONE };

struct monitor_config {
	char *name;    /* VM name for messages (default: "vm") */
	char *kernel;  /* required */
	char *initrd;
	char *cmdline;
	uint32_t memory_mib; /* default 128 */
	uint32_t vcpus;      /* default 1 */
	char *control;       /* control socket path; NULL: none */
	int control_fd;      /* inherited listening socket (-1: none) */
	enum console_kind console;
	char *console_path; /* file or unix socket path */
	char *console_tee;  /* file:PATH,unix:TEE: the file gets everything, TEE is a live view */
	int console_fd;
	uint64_t console_max;    /* file: cap in bytes, rotated into PATH.1 (0: none) */
	enum stats_format stats; /* summary on stderr at exit */
	char *stats_file;        /* JSON summary written here at exit */
	struct nic_config nics[NIC_MAX]; /* --nic, in order: pcnet0, pcnet1... */
	unsigned nr_nics;
	bool debug;
	/* Inherited fds (-1: none) for what vmmd opens on the monitor's behalf:
	 * the kernel and initrd (read instead of the paths, which then only name
	 * them in messages), /dev/kvm, the stats file. */
	int kernel_fd, initrd_fd, kvm_fd, stats_fd;
	/* the console file (file:PATH) and, with a cap, PATH.1, opened by vmmd */
	int console_log_fd, console_old_fd;
	struct sandbox_config sandbox; /* --sandbox, --sandbox-uid, --sandbox-gid */
};

/* Exit statuses: MON_EXIT_* in common/contract.h. */

void config_init(struct monitor_config *c);
void config_free(struct monitor_config *c);

/* Parses argv. Returns 0, 1 when --help/--version was printed (exit 0), or a
 * MON_EXIT_* status after printing an error naming the flag. */
int config_parse_args(struct monitor_config *c, int argc, char **argv);

/* Loads a JSON config file into c. Returns 0 or a MON_EXIT_* status after
 * printing an error naming the file and the key. */
int config_load_json(struct monitor_config *c, const char *path);
/* Same, from a string (tests); `origin` names it in messages. */
int config_load_json_string(struct monitor_config *c, const char *json, const char *origin);

/* Checks what flags alone cannot: kernel given, sizes in range for this host.
 * Returns 0 or a MON_EXIT_* status after printing why. */
int config_validate(const struct monitor_config *c, uint64_t host_mem_bytes);

void config_usage(FILE *f);

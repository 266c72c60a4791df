/* vmdef.h: a VM definition (what `vm.create` takes and STATE/vms/<name>.json
 * holds), its validation, the daemon's config file, and the state files
 * written atomically. json-c stays in these files; the daemon works on the
 * typed structs. Nothing here needs libev or libsystemd, so unit tests link it
 * alone. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>

#include "common/contract.h"
#include <stdint.h>
#include <sys/types.h>

/* Limits of vmm-monitor (monitor/config.h), checked here so that a bad
 * definition is refused at create time, naming the field. */
#define VMDEF_NAME_MAX 64
#define VMDEF_MEM_MIN_MIB 8u
#define VMDEF_MEM_MAX_MIB 3072u
#define VMDEF_MEM_DEFAULT_MIB 128u
#define VMDEF_VCPUS_MAX 64u
#define VMDEF_CMDLINE_MAX 4095u
#define VMDEF_NICS_MAX 8
#define VMDEF_CPU_WEIGHT_DEFAULT 100u
#define VMDEF_SWITCH_NAME_MAX 15 /* an interface name */

enum vmdef_restart { VMDEF_RESTART_NO, VMDEF_RESTART_ON_FAILURE, VMDEF_RESTART_ALWAYS };

/* A NIC's rate limit in one direction (netbridge.h, struct nb_rate): all
 * zero is none. */
struct vmdef_rate {
	uint64_t bits_per_s, pkts_per_s, burst_bytes, burst_pkts;
};
/* tx: what the guest sends; rx: what it receives. */
struct vmdef_limit {
	struct vmdef_rate tx, rx;
};

struct vmdef_nic {
	char model[16];  /* "virtio-net" or "pcnet" */
	char sw[VMDEF_SWITCH_NAME_MAX + 1];
	uint8_t mac[6];
	bool mac_set;    /* false: the daemon assigns one at create */
	struct vmdef_limit limit;
};

/* Who defined the VM, when that was neither root nor vmmd's own uid: its
 * kernel and initrd are opened with these credentials at every start, so
 * that the client can make vmmd read no file it could not read itself. */
#define VMDEF_GROUPS_MAX 64
struct vmdef_owner {
	bool set;
	uint32_t uid, gid;
	uint32_t groups[VMDEF_GROUPS_MAX];
	unsigned nr_groups;
};

struct vmdef {
	char name[VMDEF_NAME_MAX + 1];
	char *kernel, *initrd, *cmdline; /* initrd, cmdline may be NULL */
	uint32_t memory_mib, vcpus;
	uint32_t cpu_weight;  /* its cgroup's cpu.weight, 1..10000 */
	bool autostart;
	enum vmdef_restart restart;
	unsigned nr_nics;
	struct vmdef_nic nics[VMDEF_NICS_MAX];
	struct vmdef_owner owner; /* vmmd's record, never a client's */
};

/* Why a definition was refused: the field ("memory_mib", "nics[1].mac", or
 * "" for the whole object) and a message for people. */
struct vmdef_error {
	char field[48];
	char message[256];
};

/* Check that kernel and initrd exist and are readable regular files. */
#define VMDEF_CHECK_FILES 1u
/* vmmd's own stored definition: "owner" is read (a client's is refused). */
#define VMDEF_STORED 2u

/* Fills d from a JSON object, validating every field: unknown keys, types,
 * ranges, names, paths, MACs (unicast, not repeated within the VM). Returns 0
 * or -EINVAL with *err filled. d is always left safe to vmdef_free(). */
int vmdef_from_json(struct json_object *o, unsigned flags, struct vmdef *d, struct vmdef_error *err);
struct json_object *vmdef_to_json(const struct vmdef *d);
void vmdef_free(struct vmdef *d);
/* True if name is a valid VM name ([A-Za-z0-9][A-Za-z0-9._-]*, at most 64). */
bool vmdef_name_valid(const char *name);
const char *vmdef_restart_name(enum vmdef_restart r);
/* "limit": {"tx": RATE|null, "rx": RATE|null}, RATE: {"bits_per_s",
 * "pkts_per_s", "burst_bytes", "burst_pkts"} (integers, absent = 0). A key
 * absent from o leaves that direction of *l as it is; null clears it. field:
 * the JSON path of o for messages ("nics[0].limit"). */
int vmdef_limit_from_json(struct json_object *o, const char *field, struct vmdef_limit *l,
			  struct vmdef_error *err);
/* NULL when there is no limit. */
struct json_object *vmdef_limit_to_json(const struct vmdef_limit *l);
bool vmdef_rate_set(const struct vmdef_rate *r);

/* bytes -> "52:54:00:12:34:56" (mac_parse in common/util.h reads it). */
void vmdef_mac_format(const uint8_t mac[6], char out[18]);

/* The runtime record STATE/run/<name>.json of a running monitor: what a
 * restarted vmmd needs to find it again. */
struct vmmd_runrec {
	pid_t pid;                 /* 0: spawn in progress (find it by its socket) */
	uint64_t starttime;        /* /proc/PID/stat field 22, against pid reuse */
	int64_t started_at_ms;     /* wall clock */
	char sock[256];            /* its control socket */
	/* pid 0 and no monitor: a policy restart was pending when vmmd ended */
	bool restart_pending;
	char reason[64];           /* why it ended (with restart_pending) */
	int exit_status;           /* -1 unknown */
};

struct json_object *vmmd_runrec_to_json(const struct vmmd_runrec *r);
int vmmd_runrec_from_json(struct json_object *o, struct vmmd_runrec *r);

/* The exit status in a monitor's end file (its --stats-file, parsed), or
 * -1 when it has none. */
int vmmd_endfile_status(struct json_object *o);

/* Writes o to dir/file atomically: a temporary file in dir, fsync, rename,
 * fsync of dir. 0 or -errno; on failure the old file is untouched. */
int state_write_json(const char *dir, const char *file, struct json_object *o);
/* Reads and parses dir/file (at most 1 MiB). 0 or -errno (-EINVAL: not JSON). */
int state_read_json(const char *dir, const char *file, struct json_object **out);
/* Removes dir/file and fsyncs dir. 0 (also when it was absent) or -errno. */
int state_remove(const char *dir, const char *file);
/* mkdir -p with mode for the missing components. 0 or -errno. */
int state_mkdir_p(const char *path, mode_t mode);

/* vmmd.h: the VM host daemon. One libev loop owns everything: the control
 * sockets and their clients (server.c), the VMs and their monitors (vm*.c),
 * signals, systemd notification and config (main.c). The wire protocol is in
 * vmmd/PROTOCOL.md. */
#pragma once
#include <ev.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/contract.h"
#include "common/jsonl.h"
#include "vmmd/conf.h"
#include "vmmd/request.h"
#include "vmmd/vmdef.h"

#define VMMD_VERSION "0.1.0"

enum vm_state {
	VM_DEFINED,
	VM_STARTING,
	VM_RUNNING,
	VM_STOPPING,
	VM_STOPPED,
	VM_CRASHED,
};

struct client;
struct nb;
struct peer;
struct vm_call;

/* A request whose reply waits for a VM to reach a state (start, stop,
 * restart). c is NULL once the client has gone. */
struct waiter {
	struct waiter *next;
	struct client *c;
	struct json_object *req;
	enum { WAIT_START, WAIT_STOP, WAIT_RESTART } kind;
};

struct vmmd_vm {
	struct vmmd_vm *next;
	struct vmmd *d;
	struct vmdef def;
	enum vm_state state;
	char reason[64];
	int last_exit_status;      /* -1: none or unknown */

	pid_t pid;                 /* 0 when no monitor */
	uint64_t starttime;        /* /proc stat, against pid reuse */
	int64_t started_at_ms;
	uint64_t start_ns;         /* monotonic, for backoff */
	bool is_child;             /* spawned by this vmmd: ev_child sees its status */
	bool adopted;
	ev_child child_w;
	int pidfd;
	ev_io pidfd_w;
	ev_timer poll_w;           /* adopted monitors without a pidfd */
	ev_timer ready_w;          /* starting: poll the monitor socket */
	uint64_t ready_deadline_ns;
	ev_timer kill_w;           /* stopping: escalate to SIGKILL */
	ev_timer restart_w;        /* restart policy backoff */
	bool stop_requested, forced;
	bool restart_after_stop;
	unsigned restarts;
	unsigned backoff_ms;
	struct waiter *waiters;
	struct vm_call *calls;     /* requests to the monitor in flight (vm_monitor.c) */
	bool ready_probe;          /* starting: a readiness request is in flight */
	char sock[PATH_MAX];       /* monitor control socket */
	char log[PATH_MAX];        /* console and monitor messages */
	char endfile[PATH_MAX];    /* monitor --stats-file: how it ended */
	char console[PATH_MAX];    /* console socket (tee with the log); "" if the path is too long */
	uid_t sandbox_uid;         /* its monitor's uid and gid (0: not jailed) */
	bool machine;              /* registered with systemd-machined (machined.c) */
	struct machined_reg *machined_reg; /* a registration in flight */
};

struct vmmd {
	struct ev_loop *loop;
	struct vmmd_conf conf;
	char *config_path;
	char *cli_state_dir, *cli_runtime_dir;
	char state_dir[PATH_MAX], runtime_dir[PATH_MAX];
	char vms_dir[PATH_MAX], run_dir[PATH_MAX], logs_dir[PATH_MAX], sock_dir[PATH_MAX];
	char sock_path[PATH_MAX], ro_sock_path[PATH_MAX];
	char monitor[PATH_MAX];
	int lock_fd;
	struct vmmd_vm *vms;
	struct nb *nb;             /* netbridge; NULL: no switches or unavailable */
	char nb_runtime[33];
	char nb_error[256];        /* why nb is NULL with switches configured */
	ev_timer fdb_age_w;        /* ages learned uplink MACs out of the forwarding tables */
	struct client *clients;
	unsigned nr_clients;
	gid_t admin_gid;           /* members may use the read-write socket (auth.c); -1: none */
	char admin_group[64];      /* its name, for messages */
	bool shutting_down;
	bool ready_sent;
	bool activated;            /* the control socket came from systemd */
	uint64_t last_activity_ns; /* for idle exit */
};

/* server.c */
int server_open(struct vmmd *d);
void server_stop_accepting(struct vmmd *d);
/* Flushes what can be written to every client, then closes them all. */
void server_close_all(struct vmmd *d);
/* Queues a reply (takes o) to c; c may be NULL (client gone: dropped). */
void client_send(struct client *c, struct json_object *o);
/* Queues the reply (takes o) of a request answered later that keeps its
 * place among the client's replies (vm.stats): the client's later requests
 * are processed after it. c may be NULL. */
void client_send_ordered(struct client *c, struct json_object *o);
/* c came through the read-only socket: its replies show no host paths. */
bool client_readonly(const struct client *c);
/* Sends {"event":name,"data":data,"ts_ms":...} to subscribers (takes data). */
void server_event(struct vmmd *d, const char *name, struct json_object *data);
/* Answers the daemon's methods; NULL when the reply comes later. */
struct json_object *server_dispatch(struct vmmd *d, struct client *c, struct json_object *req,
				    const char *method, struct json_object *params);

/* vm.c (the rest of the VM code, vm_*.c, shares vm_internal.h) */
const char *vm_state_name(enum vm_state s);
struct vmmd_vm *vm_find(struct vmmd *d, const char *name);
/* Loads the definitions and re-adopts monitors recorded in STATE/run. */
int vm_load_all(struct vmmd *d);
void vm_autostart(struct vmmd *d);
struct json_object *vm_summary_json(struct vmmd_vm *vm);
/* hide_paths: kernel, initrd, cmdline, log, control and console are null
 * (the read-only socket). */
struct json_object *vm_info_json(struct vmmd_vm *vm, bool hide_paths);
/* The methods working on VMs; each returns the reply, or NULL if it will be
 * sent later to c. vm.create: p is the client, and the files it names must be
 * readable by it (auth.h). */
struct json_object *vmmd_vm_create(struct vmmd *d, struct json_object *req, struct json_object *params,
				   const struct peer *p);
struct json_object *vm_delete(struct vmmd *d, struct json_object *req, struct vmmd_vm *vm);
/* Writes the VM's definition to STATE/vms/NAME.json (atomically). */
int vm_def_save(struct vmmd_vm *vm);
struct json_object *vm_start_req(struct vmmd *d, struct client *c, struct json_object *req,
				 struct vmmd_vm *vm);
struct json_object *vm_stop_req(struct vmmd *d, struct client *c, struct json_object *req,
				struct vmmd_vm *vm, bool force, uint32_t timeout_s, bool restart);
struct json_object *vm_stats(struct vmmd *d, struct client *c, struct json_object *req,
			     struct vmmd_vm *vm);
/* A client went away: forget it in every waiter. */
void vm_forget_client(struct vmmd *d, struct client *c);
/* Asks every running VM to stop (shutdown with stop_vms_on_exit). Returns
 * how many are still running. */
unsigned vm_stop_all(struct vmmd *d);
unsigned vm_nr_active(struct vmmd *d);
/* VMs with a policy restart pending. */
unsigned vm_nr_pending(struct vmmd *d);
void vm_free_all(struct vmmd *d);

/* net.c */
/* Opens the netbridge runtime and creates or adopts the config's switches
 * (failures are logged and kept in nb_error: VMs with NICs then cannot start). */
int net_open(struct vmmd *d);
/* teardown: no VM is left running, so vmmd's own devices (VXLAN uplinks)
 * go too; the taps, host ports and counters always stay for the next vmmd. */
void net_close(struct vmmd *d, bool teardown);
void net_port_name(const struct vmmd_vm *vm, unsigned i, char out[16]);
/* Adds a port per NIC; fds[i] gets its tap fd (O_CLOEXEC). 0, or -errno with
 * err filled and nothing left behind. */
int net_ports_add(struct vmmd_vm *vm, int *fds, char *err, size_t errlen);
/* Removes the VM's ports (absent ones are fine). */
void net_ports_remove(struct vmmd_vm *vm);
/* vm.stats "nics": switch port counters merged with the monitor's (takes nothing). */
struct json_object *net_vm_nics(struct vmmd_vm *vm, struct json_object *dev_nics);
/* vm.set_limit: params {name, nic, limit}: the NIC's rate limits, in force at
 * once on a running VM and stored in its definition. */
struct json_object *net_set_limit(struct vmmd_vm *vm, struct json_object *req,
				  struct json_object *params);
/* switch.list (stats false) and switch.stats; name NULL: all. */
struct json_object *net_switch_list(struct vmmd *d, struct json_object *req, const char *name,
				    bool stats);

/* main.c */
void vmmd_update_status(struct vmmd *d);
/* Called when the last VM stopped during a stop-all shutdown. */
void vmmd_maybe_exit(struct vmmd *d);

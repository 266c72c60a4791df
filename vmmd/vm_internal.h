/* vm_internal.h: what the vm*.c files share with one another; the rest of
 * vmmd uses only the vm.c part of vmmd.h.
 *   vm.c           the VM list, lifecycle state and events, waiters, methods
 *   vm_spawn.c     starting a monitor
 *   vm_supervise.c watchers, exit status, stop escalation, restart policy
 *   vm_adopt.c     runtime records and re-adoption after a vmmd restart
 *   vm_monitor.c   the monitor's control socket
 *   vm_proc.c      monitors as /proc sees them */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmmd/vmmd.h"

/* vm.c */
/* starting, running or stopping: a monitor is there */
bool vm_active(const struct vmmd_vm *vm);
/* Sets the state and reason, sends the vm.state event, updates the status. */
void vm_set_state(struct vmmd_vm *vm, enum vm_state s, const char *reason);
/* Answers the waiters of the given kinds (bit mask of 1 << kind): with the
 * VM's brief when err_code is NULL, else with that error. */
void vm_waiters_resolve(struct vmmd_vm *vm, unsigned kinds, const char *err_code, const char *msg);
/* The monitor's socket, end file, log and console paths from the directories. */
void vm_set_paths(struct vmmd_vm *vm);

/* vm_spawn.c */
/* Starts the VM's monitor (state starting). 0, or -errno with err filled and
 * nothing left behind. */
int vm_spawn(struct vmmd_vm *vm, char *err, size_t errlen);

/* vm_supervise.c */
/* Sets up the VM's watchers (vm_new); none is started. */
void vm_watchers_init(struct vmmd_vm *vm);
void vm_stop_watchers(struct vmmd_vm *vm);
/* vm->pid is this vmmd's child: a child watcher gives its exit status. */
void vm_watch_child(struct vmmd_vm *vm);
/* vm->pid is an adopted monitor: a pidfd, or a /proc poll without one. */
void vm_watch_adopted(struct vmmd_vm *vm);
/* Polls the monitor's socket until it answers (running) or the start times
 * out (killed); the first poll at once (5 ms) or after one poll interval. */
void vm_watch_ready(struct vmmd_vm *vm, bool first_at_once);
void vm_kill(struct vmmd_vm *vm, int sig);
/* The state and reason a monitor's exit status leaves (-1: unknown). */
enum vm_state vm_classify_exit(int status, char *reason, size_t len);
/* The exit status in the monitor's end file; -1 if it left none. */
int vm_endfile_status(struct vmmd_vm *vm);
/* Applies the restart policy to a VM that has ended. */
void vm_schedule_restart(struct vmmd_vm *vm);
void vm_cancel_restart(struct vmmd_vm *vm);

/* vm_adopt.c */
/* STATE/run/NAME.json from the VM's pid, or its pending restart. */
int vm_runrec_write(struct vmmd_vm *vm);
void vm_runrec_remove(struct vmmd_vm *vm);
/* Re-adopts the monitor recorded in STATE/run/NAME.json, if it still runs. */
void vm_readopt(struct vmmd_vm *vm);

/* vm_monitor.c */
/* What a call's completion needs: the client request it answers (c NULL: none,
 * or the client has gone), the monitor's pid when it was asked, and arg. */
struct vm_call_for {
	struct client *c;
	struct json_object *req; /* a reference is held while the call is in flight */
	pid_t pid;
	void *arg;
};
/* A call has ended: r is 0 with result, -EPROTO with error (the monitor's
 * error object, or NULL), -ETIMEDOUT after 2 s, -ECANCELED when the monitor
 * ended or the VM is freed (vm_calls_cancel), or another -errno. result and
 * error belong to the call (take a reference to keep them). */
typedef void vm_call_done(struct vmmd_vm *vm, struct vm_call_for *f, int r,
			  struct json_object *result, struct json_object *error);
/* Sends one request to the VM's monitor on loop, without blocking: 0 when
 * done will be called exactly once, later; -errno (socket refused or absent,
 * out of memory) when it will not. */
int vm_call_start(struct vmmd_vm *vm, struct ev_loop *loop, const char *method,
		  struct json_object *params, vm_call_done *done, const struct vm_call_for *f);
/* Ends every call of the VM in flight (done gets -ECANCELED). */
void vm_calls_cancel(struct vmmd_vm *vm);
/* A client went away: its calls' replies are dropped. */
void vm_calls_forget_client(struct vmmd_vm *vm, struct client *c);
/* One request, blocking up to 2 s on a private loop: for re-adoption before
 * the main loop runs. 0 with *result, or -errno. */
int vm_monitor_call_sync(struct vmmd_vm *vm, const char *method, struct json_object **result);

/* vm_proc.c */
/* State letter and start time (clock ticks since boot) of a process. */
int proc_stat(pid_t pid, char *state, uint64_t *starttime);
uid_t proc_uid(pid_t pid);

/* cgroup.c: the monitor's cgroup v2 with the VM's limits. *procs_fd: its
 * cgroup.procs for the child to join (-1: no cgroups on this host). */
#define VMMD_CGROUP_OVERHEAD_MIB 64u /* memory.max above the guest's RAM */
#define VMMD_CGROUP_EXTRA_TASKS 16u  /* pids.max above the vCPUs */
int vm_cgroup_create(struct vmmd_vm *vm, int *procs_fd, char *err, size_t errlen);
void vm_cgroup_remove(struct vmmd_vm *vm);

/* machined.c: under systemd, the monitor registered with systemd-machined
 * (a scope in machine.slice with the VM's limits) instead of the cgroup. */
/* True if this VM's monitor is to be registered: "machined" is "auto",
 * systemd runs, machined answers and takes the VM's name. */
bool vm_machined_use(struct vmmd_vm *vm);
/* ifindex[i]: the interface index of tapfds[i] (0: unknown). */
void vm_machined_nics(const int *tapfds, unsigned n, int *ifindex);
/* Registers the spawned monitor vm->pid; a failure is logged (the VM runs
 * on, in vmmd's cgroup). 0 or -errno. */
int vm_machined_register(struct vmmd_vm *vm, const int *ifindex, unsigned n);
/* A re-adopted monitor: vm->machine if machined has it. */
void vm_machined_adopted(struct vmmd_vm *vm);
/* The monitor ended: its machine terminated, if it has one. */
void vm_machined_end(struct vmmd_vm *vm);
/* True if pid is a live vmm-monitor started at starttime (0: any). */
bool proc_is_monitor(pid_t pid, uint64_t starttime);
/* The running monitor whose command line has `--control sock`; 0: none. */
pid_t proc_find_monitor(const char *sock);

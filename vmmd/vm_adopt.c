/* vm_adopt.c: runtime records (STATE/run/NAME.json), written around each spawn
 * and pending restart, and re-adoption from them when vmmd starts: a monitor
 * that still runs is watched again, one that ended meanwhile is reported from
 * its end file, a pending policy restart is carried out, a start cut short is
 * cleaned up. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/vm_internal.h"

/* Messages are cut to their buffers on purpose; paths are bounded by
 * resolve() in main.c (directories at most PATH_MAX - 64, names 64). */
#pragma GCC diagnostic ignored "-Wformat-truncation"

int vm_runrec_write(struct vmmd_vm *vm)
{
	struct vmmd_runrec rec = { .pid = vm->pid, .starttime = vm->starttime,
				   .started_at_ms = vm->started_at_ms };
	struct json_object *o;
	char file[VMDEF_NAME_MAX + 8];
	int r;

	snprintf(rec.sock, sizeof(rec.sock), "%s", vm->sock);
	if (!vm->pid && ev_is_active(&vm->restart_w)) {
		rec.restart_pending = true;
		snprintf(rec.reason, sizeof(rec.reason), "%s", vm->reason);
		rec.exit_status = vm->last_exit_status;
	}
	snprintf(file, sizeof(file), "%s.json", vm->def.name);
	o = vmmd_runrec_to_json(&rec);
	r = state_write_json(vm->d->run_dir, file, o);
	json_object_put(o);
	return r;
}

void vm_runrec_remove(struct vmmd_vm *vm)
{
	char file[VMDEF_NAME_MAX + 8];
	int r;

	/* a jailed monitor cannot remove its sockets' files: the record and
	 * they go together */
	unlink(vm->sock);
	if (vm->console[0])
		unlink(vm->console);
	vm->sandbox_uid = 0;
	if (vm->machine)
		vm_machined_end(vm);
	else
		vm_cgroup_remove(vm);
	snprintf(file, sizeof(file), "%s.json", vm->def.name);
	r = state_remove(vm->d->run_dir, file);
	if (r < 0)
		log_errno(r, "vm %s: removing runtime record %s/%s", vm->def.name, vm->d->run_dir,
			  file);
}

/* Re-adopts the monitor recorded in STATE/run/<name>.json, if it still runs. */
void vm_readopt(struct vmmd_vm *vm)
{
	struct vmmd *d = vm->d;
	struct vmmd_runrec rec;
	struct json_object *o, *res;
	char file[VMDEF_NAME_MAX + 8];
	pid_t pid = 0;
	int r;

	snprintf(file, sizeof(file), "%s.json", vm->def.name);
	r = state_read_json(d->run_dir, file, &o);
	if (r == -ENOENT)
		return;
	if (r < 0 || vmmd_runrec_from_json(o, &rec) < 0) {
		if (r >= 0)
			json_object_put(o);
		log_warn("vm %s: runtime record %s/%s is unreadable; looking for the monitor by "
			 "its socket", vm->def.name, d->run_dir, file);
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.sock, sizeof(rec.sock), "%s", vm->sock);
	} else {
		json_object_put(o);
	}
	if (rec.pid && proc_is_monitor(rec.pid, rec.starttime))
		pid = rec.pid;
	else
		pid = proc_find_monitor(rec.sock);
	if (!pid && !rec.pid && rec.restart_pending) {
		log_notice("vm %s: a policy restart was pending when the previous vmmd ended (%s)",
			   vm->def.name, rec.reason);
		vm->state = VM_CRASHED;
		snprintf(vm->reason, sizeof(vm->reason), "%s", rec.reason[0] ? rec.reason : "unknown");
		vm->last_exit_status = rec.exit_status;
		vm->start_ns = now_ns();
		vm_schedule_restart(vm);
		if (!ev_is_active(&vm->restart_w))
			vm_runrec_remove(vm); /* the policy changed meanwhile */
		return;
	}
	if (!pid && !rec.pid) {
		/* killed between the first record and the fork: nothing started */
		log_notice("vm %s: a start was interrupted by the end of the previous vmmd; no "
			   "monitor runs", vm->def.name);
		net_ports_remove(vm);
		vm_runrec_remove(vm);
		unlink(vm->sock);
		snprintf(vm->reason, sizeof(vm->reason), "start-interrupted");
		return;
	}
	if (!pid) {
		/* It ended while no vmmd watched: its end file says how. */
		int status = vm_endfile_status(vm);
		char reason[64];
		enum vm_state s = vm_classify_exit(status, reason, sizeof(reason));

		log_notice("vm %s: monitor %d ended while vmmd was not running (exit status %d: %s)",
			   vm->def.name, (int)rec.pid, status, reason);
		vm->last_exit_status = status;
		net_ports_remove(vm);
		vm_runrec_remove(vm);
		unlink(vm->sock);
		vm->state = s;
		snprintf(vm->reason, sizeof(vm->reason), "%s", reason);
		vm->start_ns = now_ns();
		vm_schedule_restart(vm);
		return;
	}
	vm->pid = pid;
	vm->adopted = true;
	vm->is_child = false;
	vm->started_at_ms = rec.started_at_ms;
	vm->start_ns = now_ns();
	{
		char state;
		if (proc_stat(pid, &state, &vm->starttime) < 0)
			vm->starttime = rec.starttime;
	}
	vm->sandbox_uid = proc_uid(pid); /* its uid stays taken */
	vm_machined_adopted(vm);         /* registered already: not again */
	snprintf(vm->sock, sizeof(vm->sock), "%s", rec.sock);
	vm_watch_adopted(vm);
	if (rec.pid != pid && (r = vm_runrec_write(vm)) < 0)
		log_errno(r, "vm %s: runtime record", vm->def.name);
	if (vm_monitor_call_sync(vm, "status", &res) == 0) {
		json_object_put(res);
		vm->state = VM_RUNNING;
		snprintf(vm->reason, sizeof(vm->reason), "adopted");
		log_info("vm %s: re-adopted running monitor pid %d", vm->def.name, (int)pid);
	} else {
		vm->state = VM_STARTING;
		snprintf(vm->reason, sizeof(vm->reason), "adopted");
		vm_watch_ready(vm, false);
		log_info("vm %s: re-adopted monitor pid %d, waiting for its socket", vm->def.name,
			 (int)pid);
	}
}

/* vm.c: VMs: the list, the lifecycle state and its events, the waiters of
 * start/stop/restart requests, definitions loaded and created, and the methods
 * on VMs. Spawning is in vm_spawn.c, supervision and restart policy in
 * vm_supervise.c, runtime records and re-adoption in vm_adopt.c, the monitor's
 * control socket in vm_monitor.c, /proc in vm_proc.c (vm_internal.h). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/auth.h"
#include "vmmd/vm_internal.h"

/* Messages are cut to their buffers on purpose; paths are bounded by
 * resolve() in main.c (directories at most PATH_MAX - 64, names 64). */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define FORCE_GRACE_S 5.0

const char *vm_state_name(enum vm_state s)
{
	switch (s) {
	case VM_DEFINED: return "defined";
	case VM_STARTING: return "starting";
	case VM_RUNNING: return "running";
	case VM_STOPPING: return "stopping";
	case VM_STOPPED: return "stopped";
	case VM_CRASHED: return "crashed";
	}
	return "unknown";
}

struct vmmd_vm *vm_find(struct vmmd *d, const char *name)
{
	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next)
		if (!strcmp(vm->def.name, name))
			return vm;
	return NULL;
}

bool vm_active(const struct vmmd_vm *vm)
{
	return vm->state == VM_STARTING || vm->state == VM_RUNNING || vm->state == VM_STOPPING;
}

unsigned vm_nr_active(struct vmmd *d)
{
	unsigned n = 0;

	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next)
		n += vm_active(vm);
	return n;
}

unsigned vm_nr_pending(struct vmmd *d)
{
	unsigned n = 0;

	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next)
		n += ev_is_active(&vm->restart_w);
	return n;
}

/* ---- events, replies, waiters ---- */

void vm_set_state(struct vmmd_vm *vm, enum vm_state s, const char *reason)
{
	struct json_object *data = json_object_new_object();

	vm->state = s;
	snprintf(vm->reason, sizeof(vm->reason), "%s", reason);
	vm->d->last_activity_ns = now_ns();
	json_object_object_add(data, "name", json_object_new_string(vm->def.name));
	json_object_object_add(data, "state", json_object_new_string(vm_state_name(s)));
	json_object_object_add(data, "reason", json_object_new_string(reason));
	json_object_object_add(data, "pid", vm->pid ? json_object_new_int(vm->pid) : NULL);
	if ((s == VM_STOPPED || s == VM_CRASHED) && vm->last_exit_status >= 0)
		json_object_object_add(data, "exit_status",
				       json_object_new_int(vm->last_exit_status));
	server_event(vm->d, "vm.state", data);
	vmmd_update_status(vm->d);
}

struct json_object *vm_summary_json(struct vmmd_vm *vm)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(vm->def.name));
	json_object_object_add(o, "state", json_object_new_string(vm_state_name(vm->state)));
	json_object_object_add(o, "reason", json_object_new_string(vm->reason));
	json_object_object_add(o, "pid", vm->pid ? json_object_new_int(vm->pid) : NULL);
	json_object_object_add(o, "memory_mib", json_object_new_int64(vm->def.memory_mib));
	json_object_object_add(o, "vcpus", json_object_new_int64(vm->def.vcpus));
	json_object_object_add(o, "autostart", json_object_new_boolean(vm->def.autostart));
	json_object_object_add(o, "restart",
			       json_object_new_string(vmdef_restart_name(vm->def.restart)));
	return o;
}

struct json_object *vm_info_json(struct vmmd_vm *vm, bool hide_paths)
{
	struct json_object *o = vm_summary_json(vm), *def = vmdef_to_json(&vm->def);
	struct stat st;
	bool live = !hide_paths && vm->pid && vm->console[0] && stat(vm->console, &st) == 0 &&
		    S_ISSOCK(st.st_mode);

	if (hide_paths) {
		/* host paths and the guest's command line are for the admin group */
		json_object_object_add(def, "kernel", NULL);
		json_object_object_add(def, "initrd", NULL);
		json_object_object_add(def, "cmdline", NULL);
	}
	json_object_object_add(o, "definition", def);
	json_object_object_add(o, "control", vm->pid && !hide_paths ?
						     json_object_new_string(vm->sock) : NULL);
	json_object_object_add(o, "log", hide_paths ? NULL : json_object_new_string(vm->log));
	json_object_object_add(o, "console", live ? json_object_new_string(vm->console) : NULL);
	json_object_object_add(o, "started_at_ms",
			       vm->pid ? json_object_new_int64(vm->started_at_ms) : NULL);
	json_object_object_add(o, "adopted", json_object_new_boolean(vm->adopted));
	json_object_object_add(o, "restarts", json_object_new_int(vm->restarts));
	json_object_object_add(o, "last_exit_status", vm->last_exit_status >= 0 ?
						     json_object_new_int(vm->last_exit_status) : NULL);
	json_object_object_add(o, "restart_pending",
			       json_object_new_boolean(ev_is_active(&vm->restart_w)));
	return o;
}

static struct json_object *vm_brief(struct vmmd_vm *vm, bool changed)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(vm->def.name));
	json_object_object_add(o, "state", json_object_new_string(vm_state_name(vm->state)));
	json_object_object_add(o, "reason", json_object_new_string(vm->reason));
	json_object_object_add(o, "pid", vm->pid ? json_object_new_int(vm->pid) : NULL);
	json_object_object_add(o, "changed", json_object_new_boolean(changed));
	return o;
}

static void waiter_add(struct vmmd_vm *vm, struct client *c, struct json_object *req, int kind)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (!w) {
		client_send(c, jsonl_error(req, JSONL_E_INTERNAL, "out of memory"));
		return;
	}
	w->c = c;
	w->req = json_object_get(req);
	w->kind = kind;
	w->next = vm->waiters;
	vm->waiters = w;
}

/* Answers the waiters of the given kinds (bit mask of 1 << kind): with the
 * VM's brief when err_code is NULL, else with that error. */
void vm_waiters_resolve(struct vmmd_vm *vm, unsigned kinds, const char *err_code, const char *msg)
{
	struct waiter **pp = &vm->waiters;

	while (*pp) {
		struct waiter *w = *pp;
		if (!(kinds & (1u << w->kind))) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (err_code)
			client_send(w->c, jsonl_error(w->req, err_code, "%s", msg));
		else
			client_send(w->c, jsonl_result(w->req, vm_brief(vm, true)));
		json_object_put(w->req);
		free(w);
	}
}

void vm_forget_client(struct vmmd *d, struct client *c)
{
	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next) {
		for (struct waiter *w = vm->waiters; w; w = w->next)
			if (w->c == c)
				w->c = NULL;
		vm_calls_forget_client(vm, c);
	}
}

/* ---- the list, loading ---- */

static struct vmmd_vm *vm_new(struct vmmd *d)
{
	struct vmmd_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->d = d;
	vm->pidfd = -1;
	vm->last_exit_status = -1;
	snprintf(vm->reason, sizeof(vm->reason), "created");
	vm_watchers_init(vm);
	return vm;
}

void vm_set_paths(struct vmmd_vm *vm)
{
	struct vmmd *d = vm->d;

	snprintf(vm->sock, sizeof(vm->sock), "%s/%s.sock", d->sock_dir, vm->def.name);
	snprintf(vm->endfile, sizeof(vm->endfile), "%s/%s.end.json", d->sock_dir, vm->def.name);
	snprintf(vm->log, sizeof(vm->log), "%s/%s.log", d->logs_dir, vm->def.name);
	snprintf(vm->console, sizeof(vm->console), "%s/%s.console", d->sock_dir, vm->def.name);
	if (strlen(vm->console) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		vm->console[0] = 0; /* the log file only */
}

static void vm_link(struct vmmd *d, struct vmmd_vm *vm)
{
	struct vmmd_vm **pp = &d->vms;

	/* sorted by name: list output is stable */
	while (*pp && strcmp((*pp)->def.name, vm->def.name) < 0)
		pp = &(*pp)->next;
	vm->next = *pp;
	*pp = vm;
}

static void vm_free(struct vmmd_vm *vm)
{
	vm_stop_watchers(vm);
	ev_timer_stop(vm->d->loop, &vm->restart_w);
	vm_waiters_resolve(vm, ~0u, VMMD_E_SHUTTING_DOWN, "vmmd is shutting down");
	vmdef_free(&vm->def);
	free(vm);
}

void vm_free_all(struct vmmd *d)
{
	while (d->vms) {
		struct vmmd_vm *vm = d->vms;
		d->vms = vm->next;
		vm_free(vm);
	}
}

int vm_load_all(struct vmmd *d)
{
	DIR *dir = opendir(d->vms_dir);
	struct dirent *de;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);
		struct json_object *o;
		struct vmdef_error err;
		struct vmmd_vm *vm;
		int r;

		if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json"))
			continue;
		r = state_read_json(d->vms_dir, de->d_name, &o);
		if (r < 0) {
			log_errno(r, "definition %s/%s: skipped", d->vms_dir, de->d_name);
			continue;
		}
		vm = vm_new(d);
		if (!vm) {
			json_object_put(o);
			closedir(dir);
			return -ENOMEM;
		}
		r = vmdef_from_json(o, VMDEF_STORED, &vm->def, &err);
		json_object_put(o);
		if (r < 0 || strlen(vm->def.name) != n - 5 || strncmp(vm->def.name, de->d_name, n - 5)) {
			log_err("definition %s/%s: skipped: %s", d->vms_dir, de->d_name,
				r < 0 ? err.message : "the name does not match the file name");
			vmdef_free(&vm->def);
			free(vm);
			continue;
		}
		vm->state = VM_DEFINED;
		snprintf(vm->reason, sizeof(vm->reason), "loaded");
		vm_set_paths(vm);
		vm_link(d, vm);
	}
	closedir(dir);
	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next)
		vm_readopt(vm);
	return 0;
}

void vm_autostart(struct vmmd *d)
{
	char err[256];

	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next) {
		if (!vm->def.autostart || vm_active(vm) || ev_is_active(&vm->restart_w))
			continue;
		log_info("vm %s: autostart", vm->def.name);
		if (vm_spawn(vm, err, sizeof(err)) < 0)
			log_err("vm %s: autostart: %s", vm->def.name, err);
	}
}

/* ---- methods ---- */

static struct json_object *field_error(struct json_object *req, const char *code, const char *field,
				       const char *msg)
{
	struct json_object *reply = jsonl_error(req, code, "%s", msg), *e;

	if (json_object_object_get_ex(reply, "error", &e))
		json_object_object_add(e, "field", json_object_new_string(field));
	return reply;
}

static bool mac_in_use(struct vmmd *d, const uint8_t mac[6], const struct vmdef *self)
{
	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next)
		for (unsigned i = 0; i < vm->def.nr_nics; i++)
			if (vm->def.nics[i].mac_set && !memcmp(vm->def.nics[i].mac, mac, 6))
				return true;
	for (unsigned i = 0; i < self->nr_nics; i++)
		if (self->nics[i].mac_set && !memcmp(self->nics[i].mac, mac, 6))
			return true;
	return false;
}

int vm_def_save(struct vmmd_vm *vm)
{
	char file[VMDEF_NAME_MAX + 8];
	struct json_object *o = vmdef_to_json(&vm->def);
	int r;

	snprintf(file, sizeof(file), "%s.json", vm->def.name);
	r = state_write_json(vm->d->vms_dir, file, o);
	json_object_put(o);
	if (r < 0)
		log_errno(r, "vm %s: writing definition %s/%s", vm->def.name, vm->d->vms_dir, file);
	return r;
}

struct json_object *vmmd_vm_create(struct vmmd *d, struct json_object *req, struct json_object *params,
				   const struct peer *p)
{
	struct vmdef_error err;
	struct json_object *o;
	struct vmmd_vm *vm;
	int r;

	if (!params)
		return field_error(req, JSONL_E_PARAMS, "", "vm.create needs params: a VM definition");
	vm = vm_new(d);
	if (!vm)
		return jsonl_error(req, JSONL_E_INTERNAL, "out of memory");
	r = vmdef_from_json(params, VMDEF_CHECK_FILES, &vm->def, &err);
	if (r < 0) {
		vmdef_free(&vm->def);
		free(vm);
		return r == -EINVAL ? field_error(req, JSONL_E_PARAMS, err.field, err.message) :
				      jsonl_error(req, JSONL_E_INTERNAL, "%s", strerror(-r));
	}
	if (auth_check_files(p, &vm->def, &err) < 0) {
		o = field_error(req, VMMD_E_PERMISSION, err.field, err.message);
		goto fail;
	}
	auth_record_owner(p, &vm->def);
	if (vm_find(d, vm->def.name)) {
		snprintf(err.message, sizeof(err.message), "name: a VM named '%s' already exists",
			 vm->def.name);
		o = field_error(req, VMMD_E_EXISTS, "name", err.message);
		goto fail;
	}
	for (unsigned i = 0; i < vm->def.nr_nics; i++) {
		struct vmdef_nic *nic = &vm->def.nics[i];
		if (nic->mac_set) {
			nic->mac_set = false; /* not compared with itself */
			if (mac_in_use(d, nic->mac, &vm->def)) {
				char mac[18];
				vmdef_mac_format(nic->mac, mac);
				snprintf(err.field, sizeof(err.field), "nics[%u].mac", i);
				snprintf(err.message, sizeof(err.message),
					 "%s: %s is already used by another VM", err.field, mac);
				o = field_error(req, VMMD_E_MAC_CONFLICT, err.field, err.message);
				goto fail;
			}
			nic->mac_set = true;
		}
	}
	for (unsigned i = 0; i < vm->def.nr_nics; i++) {
		struct vmdef_nic *nic = &vm->def.nics[i];
		while (!nic->mac_set) {
			uint32_t rnd = (uint32_t)random();
			uint8_t mac[6] = { 0x52, 0x54, 0x00, (uint8_t)(rnd >> 16), (uint8_t)(rnd >> 8),
					   (uint8_t)rnd };
			if (!mac_in_use(d, mac, &vm->def)) {
				memcpy(nic->mac, mac, 6);
				nic->mac_set = true;
			}
		}
	}
	vm_set_paths(vm);
	if (strlen(vm->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err.message, sizeof(err.message),
			 "name: too long for a socket path under %s (at most %zu bytes there)",
			 d->sock_dir, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		o = field_error(req, JSONL_E_PARAMS, "name", err.message);
		goto fail;
	}
	r = vm_def_save(vm);
	if (r < 0) {
		o = jsonl_error(req, VMMD_E_STORAGE, "vm %s: writing %s/%s.json: %s (nothing was "
				"changed)", vm->def.name, d->vms_dir, vm->def.name, strerror(-r));
		goto fail;
	}
	vm_link(d, vm);
	log_info("vm %s: defined", vm->def.name);
	vm_set_state(vm, VM_DEFINED, "created");
	return jsonl_result(req, vm_info_json(vm, false));
fail:
	vmdef_free(&vm->def);
	free(vm);
	return o;
}

struct json_object *vm_delete(struct vmmd *d, struct json_object *req, struct vmmd_vm *vm)
{
	char file[VMDEF_NAME_MAX + 8];
	struct json_object *data;
	int r;

	if (vm_active(vm))
		return jsonl_error(req, VMMD_E_RUNNING, "vm %s is %s; stop it first", vm->def.name,
				   vm_state_name(vm->state));
	snprintf(file, sizeof(file), "%s.json", vm->def.name);
	r = state_remove(d->vms_dir, file);
	if (r < 0)
		return jsonl_error(req, VMMD_E_STORAGE, "vm %s: removing %s/%s: %s", vm->def.name,
				   d->vms_dir, file, strerror(-r));
	vm_cancel_restart(vm);
	net_ports_remove(vm);
	for (struct vmmd_vm **pp = &d->vms; *pp; pp = &(*pp)->next)
		if (*pp == vm) {
			*pp = vm->next;
			break;
		}
	log_info("vm %s: deleted", vm->def.name);
	data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string(vm->def.name));
	json_object_object_add(data, "state", json_object_new_string("deleted"));
	json_object_object_add(data, "reason", json_object_new_string("user"));
	server_event(d, "vm.state", data);
	data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string(vm->def.name));
	json_object_object_add(data, "deleted", json_object_new_boolean(true));
	vm_free(vm);
	vmmd_update_status(d);
	return jsonl_result(req, data);
}

struct json_object *vm_start_req(struct vmmd *d, struct client *c, struct json_object *req,
				 struct vmmd_vm *vm)
{
	char err[512];

	(void)d;
	switch (vm->state) {
	case VM_RUNNING:
		return jsonl_result(req, vm_brief(vm, false));
	case VM_STARTING:
		waiter_add(vm, c, req, WAIT_START);
		return NULL;
	case VM_STOPPING:
		return jsonl_error(req, VMMD_E_BUSY, "vm %s is stopping; try again when it has stopped",
				   vm->def.name);
	default:
		break;
	}
	vm_cancel_restart(vm);
	vm->backoff_ms = 0;
	if (vm_spawn(vm, err, sizeof(err)) < 0)
		return jsonl_error(req, VMMD_E_START_FAILED, "%s", err);
	waiter_add(vm, c, req, WAIT_START);
	return NULL;
}

/* The monitor's answer to a graceful or forced stop request: if it did not
 * take it, SIGTERM (the monitor ends the VM at once on it). */
static void on_stop_reply(struct vmmd_vm *vm, struct vm_call_for *f, int r, struct json_object *res,
			  struct json_object *merr)
{
	(void)f;
	(void)res;
	if (r >= 0 || r == -ECANCELED || vm->state != VM_STOPPING)
		return; /* taken, or the monitor has ended */
	log_warn("vm %s: stop through %s failed (%s%s%s); sending SIGTERM", vm->def.name,
		 vm->sock, strerror(-r), merr ? ": " : "", merr ? json_object_to_json_string(merr) : "");
	vm_kill(vm, SIGTERM);
}

struct json_object *vm_stop_req(struct vmmd *d, struct client *c, struct json_object *req,
				struct vmmd_vm *vm, bool force, uint32_t timeout_s, bool restart)
{
	struct vm_call_for f = { .pid = vm->pid };
	struct json_object *params;
	int r;

	switch (vm->state) {
	case VM_DEFINED:
	case VM_STOPPED:
	case VM_CRASHED:
		if (ev_is_active(&vm->restart_w)) {
			vm_cancel_restart(vm);
			if (!restart)
				vm_set_state(vm, VM_STOPPED, "user");
		}
		if (restart)
			return vm_start_req(d, c, req, vm);
		return jsonl_result(req, vm_brief(vm, false));
	case VM_STOPPING:
		waiter_add(vm, c, req, restart ? WAIT_RESTART : WAIT_STOP);
		vm->restart_after_stop |= restart;
		if (force && !vm->forced) {
			vm->forced = true;
			vm_kill(vm, SIGKILL);
		}
		return NULL;
	case VM_STARTING:
		/* its socket may not be up yet: the monitor ends the VM at once on SIGTERM */
		vm->stop_requested = true;
		vm->restart_after_stop = restart;
		vm_kill(vm, SIGTERM);
		ev_timer_set(&vm->kill_w, FORCE_GRACE_S, 0);
		ev_timer_start(d->loop, &vm->kill_w);
		vm_set_state(vm, VM_STOPPING, "user");
		waiter_add(vm, c, req, restart ? WAIT_RESTART : WAIT_STOP);
		return NULL;
	case VM_RUNNING:
		break;
	}
	vm->stop_requested = true;
	vm->forced = force;
	vm->restart_after_stop = restart;
	ev_timer_set(&vm->kill_w, (force ? 0 : timeout_s) + FORCE_GRACE_S, 0);
	ev_timer_start(d->loop, &vm->kill_w);
	vm_set_state(vm, VM_STOPPING, force ? "user-forced" : "user");
	waiter_add(vm, c, req, restart ? WAIT_RESTART : WAIT_STOP);
	params = json_object_new_object();
	if (force)
		json_object_object_add(params, "force", json_object_new_boolean(true));
	else
		json_object_object_add(params, "timeout_ms",
				       json_object_new_int64((int64_t)timeout_s * 1000));
	r = vm_call_start(vm, d->loop, "stop", params, on_stop_reply, &f);
	json_object_put(params);
	if (r < 0)
		on_stop_reply(vm, &f, r, NULL, NULL);
	return NULL;
}

/* vm.stats' reply from the monitor's (or the call's error). */
static struct json_object *stats_reply(struct vmmd_vm *vm, struct client *c, struct json_object *req,
				       pid_t pid, int r, struct json_object *res, struct json_object *merr)
{
	/* the monitor's socket is a host path: not for the read-only socket */
	const char *at = c && client_readonly(c) ? "" : " at ", *sock = *at ? vm->sock : "";

	if (r == -ECANCELED && vm->d->shutting_down)
		return jsonl_error(req, VMMD_E_SHUTTING_DOWN, "vmmd is shutting down");
	if (r == -ECANCELED)
		return jsonl_error(req, VMMD_E_MONITOR, "vm %s: monitor %d%s%s: it ended before "
				   "it answered", vm->def.name, (int)pid, at, sock);
	if (r < 0)
		return jsonl_error(req, VMMD_E_MONITOR, "vm %s: monitor %d%s%s: %s%s%s",
				   vm->def.name, (int)pid, at, sock, strerror(-r), merr ? ": " : "",
				   merr ? json_object_to_json_string(merr) : "");
	if (!json_object_is_type(res, json_type_object))
		return jsonl_error(req, VMMD_E_MONITOR, "vm %s: monitor sent stats that are not an "
				   "object", vm->def.name);
	res = json_object_get(res);
	json_object_object_add(res, "name", json_object_new_string(vm->def.name));
	json_object_object_add(res, "pid", json_object_new_int(pid));
	{
		struct json_object *dev = NULL;
		json_object_object_get_ex(res, "nics", &dev);
		json_object_object_add(res, "nics", net_vm_nics(vm, dev));
	}
	return jsonl_result(req, res);
}

static void on_stats_reply(struct vmmd_vm *vm, struct vm_call_for *f, int r, struct json_object *res,
			   struct json_object *merr)
{
	client_send_ordered(f->c, stats_reply(vm, f->c, f->req, f->pid, r, res, merr));
}

struct json_object *vm_stats(struct vmmd *d, struct client *c, struct json_object *req,
			     struct vmmd_vm *vm)
{
	struct vm_call_for f = { .c = c, .req = req, .pid = vm->pid };
	int r;

	if (vm->state != VM_RUNNING && vm->state != VM_STOPPING)
		return jsonl_error(req, VMMD_E_NOT_RUNNING, "vm %s is %s", vm->def.name,
				   vm_state_name(vm->state));
	r = vm_call_start(vm, d->loop, "stats", NULL, on_stats_reply, &f);
	if (r < 0)
		return stats_reply(vm, c, req, f.pid, r, NULL, NULL);
	return NULL; /* on_stats_reply answers */
}

unsigned vm_stop_all(struct vmmd *d)
{
	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next) {
		vm_cancel_restart(vm);
		if (vm->state == VM_RUNNING || vm->state == VM_STARTING) {
			struct json_object *reply =
				vm_stop_req(d, NULL, NULL, vm, false, d->conf.stop_timeout_s, false);
			json_object_put(reply);
		}
	}
	return vm_nr_active(d);
}

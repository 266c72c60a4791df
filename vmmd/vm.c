/* vm.c: VMs and their monitors: definitions on disk, spawn, readiness,
 * supervision (a child watcher for monitors this vmmd spawned, a pidfd for
 * re-adopted ones), stop with escalation, restart policy with backoff, and
 * re-adoption after a vmmd restart from STATE/run/<name>.json. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "vmmd.h"

/* Messages are cut to their buffers on purpose; paths are bounded by
 * resolve() in main.c (directories at most PATH_MAX - 64, names 64). */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define READY_TIMEOUT_NS (15ull * 1000000000ull)
#define READY_POLL_S 0.02
#define ADOPTED_POLL_S 0.5
#define FORCE_GRACE_S 5.0
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u
#define BACKOFF_RESET_NS (30ull * 1000000000ull)
#define MONITOR_CALL_TIMEOUT_MS 2000

static void vm_exited(struct vm *vm, bool have_status, int wstatus);
static int vm_spawn(struct vm *vm, char *err, size_t errlen);
static void vm_set_paths(struct vm *vm);

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

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct vm *vm_find(struct vmmd *d, const char *name)
{
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		if (!strcmp(vm->def.name, name))
			return vm;
	return NULL;
}

static bool vm_active(const struct vm *vm)
{
	return vm->state == VM_STARTING || vm->state == VM_RUNNING || vm->state == VM_STOPPING;
}

unsigned vm_nr_active(struct vmmd *d)
{
	unsigned n = 0;

	for (struct vm *vm = d->vms; vm; vm = vm->next)
		n += vm_active(vm);
	return n;
}

unsigned vm_nr_pending(struct vmmd *d)
{
	unsigned n = 0;

	for (struct vm *vm = d->vms; vm; vm = vm->next)
		n += ev_is_active(&vm->restart_w);
	return n;
}

/* ---- /proc ---- */

/* State letter and start time (clock ticks since boot) of a process. */
static int proc_stat(pid_t pid, char *state, uint64_t *starttime)
{
	char path[64], buf[1024], *p;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	unsigned long long st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	/* after ") ": field 3 is the state; starttime is field 22 */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
			  "%*d %llu",
		   state, &st) != 2)
		return -EIO;
	*starttime = st;
	return 0;
}

/* True if pid is a live vmm-monitor started at starttime (0: any). */
static bool proc_is_monitor(pid_t pid, uint64_t starttime)
{
	char path[64], exe[PATH_MAX], state;
	uint64_t st;
	ssize_t n;
	const char *base;

	if (pid <= 0 || proc_stat(pid, &state, &st) < 0 || state == 'Z' || state == 'X')
		return false;
	if (starttime && st != starttime)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return false;
	exe[n] = 0;
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return !strncmp(base, "vmm-monitor", 11);
}

/* Finds a running monitor whose command line has `--control sock`: a start
 * that a killed vmmd left half done. */
static pid_t proc_find_monitor(const char *sock)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	if (!dir)
		return 0;
	while (!found && (de = readdir(dir))) {
		char path[300], buf[8192];
		_cleanup_close_ int fd = -1;
		ssize_t n;
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *a = buf; a < buf + n; a += strlen(a) + 1)
			if (!strcmp(a, "--control") && a + strlen(a) + 1 < buf + n &&
			    !strcmp(a + strlen(a) + 1, sock) && proc_is_monitor(pid, 0)) {
				found = pid;
				break;
			}
	}
	closedir(dir);
	return found;
}

/* ---- talking to a monitor ---- */

/* One request to a monitor's control socket, blocking with a timeout: the
 * monitor answers from its I/O thread at once. 0 with *result, -EPROTO with
 * *error (the monitor's error object), or -errno. */
static int monitor_call(const char *sock, const char *method, struct json_object *params,
			struct json_object **result, struct json_object **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { MONITOR_CALL_TIMEOUT_MS / 1000, (MONITOR_CALL_TIMEOUT_MS % 1000) * 1000 };
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *line = NULL, *buf = NULL;
	struct json_object *req, *reply, *v;
	size_t len, got = 0, cap = 65536;
	int r;

	*result = NULL;
	if (error)
		*error = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	req = json_object_new_object();
	json_object_object_add(req, "id", json_object_new_int(1));
	json_object_object_add(req, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(req, "params", json_object_get(params));
	line = jsonl_serialize(req, &len);
	json_object_put(req);
	if (!line)
		return -ENOMEM;
	if ((r = write_all(fd, line, len)) < 0)
		return r;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (got + 1 >= cap) {
			char *nb;
			if (cap >= (4u << 20))
				return -EMSGSIZE;
			nb = realloc(buf, cap * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + got, cap - got - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		got += (size_t)n;
		if (memchr(buf + got - n, '\n', (size_t)n))
			break;
	}
	buf[got] = 0;
	reply = json_tokener_parse(buf);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		json_object_put(reply);
		return -EBADMSG;
	}
	if (json_object_object_get_ex(reply, "result", &v)) {
		*result = json_object_get(v);
		r = 0;
	} else {
		if (error && json_object_object_get_ex(reply, "error", &v))
			*error = json_object_get(v);
		r = -EPROTO;
	}
	json_object_put(reply);
	return r;
}

/* ---- events, replies, records ---- */

static void vm_set_state(struct vm *vm, enum vm_state s, const char *reason)
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

struct json_object *vm_summary_json(struct vm *vm)
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

struct json_object *vm_info_json(struct vm *vm)
{
	struct json_object *o = vm_summary_json(vm);

	json_object_object_add(o, "definition", vmdef_to_json(&vm->def));
	json_object_object_add(o, "control", vm->pid ? json_object_new_string(vm->sock) : NULL);
	json_object_object_add(o, "log", json_object_new_string(vm->log));
	{
		struct stat st;
		bool live = vm->pid && vm->console[0] && stat(vm->console, &st) == 0 &&
			    S_ISSOCK(st.st_mode);
		json_object_object_add(o, "console", live ? json_object_new_string(vm->console) : NULL);
	}
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

static struct json_object *vm_brief(struct vm *vm, bool changed)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(vm->def.name));
	json_object_object_add(o, "state", json_object_new_string(vm_state_name(vm->state)));
	json_object_object_add(o, "reason", json_object_new_string(vm->reason));
	json_object_object_add(o, "pid", vm->pid ? json_object_new_int(vm->pid) : NULL);
	json_object_object_add(o, "changed", json_object_new_boolean(changed));
	return o;
}

static void waiter_add(struct vm *vm, struct client *c, struct json_object *req, int kind)
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
static void waiters_resolve(struct vm *vm, unsigned kinds, const char *err_code, const char *msg)
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
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		for (struct waiter *w = vm->waiters; w; w = w->next)
			if (w->c == c)
				w->c = NULL;
}

static int runrec_write(struct vm *vm)
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

static void runrec_remove(struct vm *vm)
{
	char file[VMDEF_NAME_MAX + 8];
	int r;

	snprintf(file, sizeof(file), "%s.json", vm->def.name);
	r = state_remove(vm->d->run_dir, file);
	if (r < 0)
		log_errno(r, "vm %s: removing runtime record %s/%s", vm->def.name, vm->d->run_dir,
			  file);
}

/* ---- supervision ---- */

static void stop_watchers(struct vm *vm)
{
	struct ev_loop *loop = vm->d->loop;

	ev_child_stop(loop, &vm->child_w);
	ev_io_stop(loop, &vm->pidfd_w);
	ev_timer_stop(loop, &vm->poll_w);
	ev_timer_stop(loop, &vm->ready_w);
	ev_timer_stop(loop, &vm->kill_w);
	if (vm->pidfd >= 0) {
		close(vm->pidfd);
		vm->pidfd = -1;
	}
}

/* Signals the monitor, making sure (for adopted ones) that the pid is still
 * that monitor and not a reused number. */
static void vm_kill(struct vm *vm, int sig)
{
	if (!vm->pid)
		return;
	if (!vm->is_child && !proc_is_monitor(vm->pid, vm->starttime))
		return;
	if (kill(vm->pid, sig) < 0 && errno != ESRCH)
		log_warn("vm %s: kill %d: %s", vm->def.name, (int)vm->pid, strerror(errno));
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct vm *vm = w->data;

	(void)revents;
	ev_child_stop(loop, w);
	vm_exited(vm, true, w->rstatus);
}

static void on_pidfd(struct ev_loop *loop, ev_io *w, int revents)
{
	struct vm *vm = w->data;

	(void)loop;
	(void)revents;
	vm_exited(vm, false, 0);
}

static void on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vm *vm = w->data;

	(void)loop;
	(void)revents;
	if (!proc_is_monitor(vm->pid, vm->starttime))
		vm_exited(vm, false, 0);
}

static void watch_adopted(struct vm *vm)
{
	vm->pidfd = (int)syscall(SYS_pidfd_open, vm->pid, 0);
	if (vm->pidfd >= 0) {
		fcntl(vm->pidfd, F_SETFD, FD_CLOEXEC);
		ev_io_set(&vm->pidfd_w, vm->pidfd, EV_READ);
		ev_io_start(vm->d->loop, &vm->pidfd_w);
	} else {
		ev_timer_set(&vm->poll_w, ADOPTED_POLL_S, ADOPTED_POLL_S);
		ev_timer_start(vm->d->loop, &vm->poll_w);
	}
}

static void vm_became_running(struct vm *vm, const char *reason)
{
	ev_timer_stop(vm->d->loop, &vm->ready_w);
	vm_set_state(vm, VM_RUNNING, reason);
	log_info("vm %s: running, monitor pid %d", vm->def.name, (int)vm->pid);
	waiters_resolve(vm, 1u << WAIT_START | 1u << WAIT_RESTART, NULL, NULL);
}

static void on_ready_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vm *vm = w->data;
	struct json_object *res;

	(void)revents;
	if (vm->state != VM_STARTING) {
		ev_timer_stop(loop, w);
		return;
	}
	if (monitor_call(vm->sock, "status", NULL, &res, NULL) == 0) {
		json_object_put(res);
		vm_became_running(vm, vm->adopted ? "adopted" : "booted");
		return;
	}
	if (now_ns() > vm->ready_deadline_ns) {
		log_err("vm %s: monitor %d did not answer on %s within %llu s; killing it",
			vm->def.name, (int)vm->pid, vm->sock, READY_TIMEOUT_NS / 1000000000ull);
		snprintf(vm->reason, sizeof(vm->reason), "start-timeout");
		ev_timer_stop(loop, w);
		vm_kill(vm, SIGKILL);
	}
}

static void on_kill_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vm *vm = w->data;

	(void)loop;
	(void)revents;
	log_warn("vm %s: monitor %d has not ended after the stop request; sending SIGKILL",
		 vm->def.name, (int)vm->pid);
	vm->forced = true;
	vm_kill(vm, SIGKILL);
}

static void on_restart_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vm *vm = w->data;
	char err[256];

	(void)loop;
	(void)revents;
	if (vm_active(vm) || vm->d->shutting_down)
		return;
	log_info("vm %s: restarting (policy %s, restart #%u)", vm->def.name,
		 vmdef_restart_name(vm->def.restart), vm->restarts + 1);
	vm->restarts++;
	if (vm_spawn(vm, err, sizeof(err)) < 0) {
		log_err("vm %s: restart: %s", vm->def.name, err);
		snprintf(vm->reason, sizeof(vm->reason), "restart-failed");
		runrec_remove(vm);
	}
}

/* How a monitor's exit status reads: the state and reason it leaves. */
static enum vm_state classify(int status, char *reason, size_t len)
{
	static const struct {
		int status;
		const char *reason;
	} known[] = {
		{ 64, "monitor-usage-error" },     { 65, "image-corrupt" },
		{ 66, "image-missing" },           { 69, "kvm-unavailable" },
		{ 70, "monitor-internal-error" },  { 71, "host-resource-error" },
		{ 77, "kvm-permission-denied" },   { 78, "resources-out-of-range" },
		{ 81, "guest-triple-fault" },      { 82, "emulation-failure" },
		{ 83, "vm-entry-failure" },        { 127, "monitor-exec-failed" },
	};

	if (status == 0) {
		snprintf(reason, len, "guest-shutdown");
		return VM_STOPPED;
	}
	if (status == 80) {
		snprintf(reason, len, "guest-reset");
		return VM_STOPPED;
	}
	if (status < 0) {
		snprintf(reason, len, "monitor-vanished");
		return VM_CRASHED;
	}
	if (status <= 63) {
		snprintf(reason, len, "guest-exit-%d", status);
		return VM_CRASHED;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(known); i++)
		if (known[i].status == status) {
			snprintf(reason, len, "%s", known[i].reason);
			return VM_CRASHED;
		}
	if (status > 128 && status < 128 + 65) {
		const char *abbrev = sigabbrev_np(status - 128);
		if (abbrev)
			snprintf(reason, len, "killed-by-SIG%s", abbrev);
		else
			snprintf(reason, len, "killed-by-signal-%d", status - 128);
		return VM_CRASHED;
	}
	snprintf(reason, len, "monitor-exit-%d", status);
	return VM_CRASHED;
}

/* The monitor's own account of its end (--stats-file), for monitors that
 * are not our children. -1 if it left none (killed). */
static int endfile_status(struct vm *vm)
{
	struct json_object *o, *v;
	char *slash = strrchr(vm->endfile, '/');
	char dir[PATH_MAX];
	int status = -1;

	if (!slash)
		return -1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - vm->endfile), vm->endfile);
	if (state_read_json(dir, slash + 1, &o) < 0)
		return -1;
	if (json_object_object_get_ex(o, "exit_status", &v) && json_object_is_type(v, json_type_int))
		status = json_object_get_int(v);
	json_object_put(o);
	return status;
}

/* The last line of the VM's log, for start failure messages. */
static void log_tail(struct vm *vm, char *out, size_t len)
{
	_cleanup_close_ int fd = open(vm->log, O_RDONLY | O_CLOEXEC);
	char buf[512];
	off_t end;
	ssize_t n;
	char *p;

	out[0] = 0;
	if (fd < 0 || (end = lseek(fd, 0, SEEK_END)) < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0);
	if (n <= 0)
		return;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	p = strrchr(buf, '\n');
	p = p ? p + 1 : buf;
	if (p[0] == '<' && p[1] && p[2] == '>')
		p += 3;
	snprintf(out, len, "%s", p);
}

static void schedule_restart(struct vm *vm)
{
	bool failed = vm->state == VM_CRASHED || !strcmp(vm->reason, "guest-reset");

	if (vm->def.restart == VMDEF_RESTART_NO ||
	    (vm->def.restart == VMDEF_RESTART_ON_FAILURE && !failed))
		return;
	if (now_ns() - vm->start_ns > BACKOFF_RESET_NS || !vm->backoff_ms)
		vm->backoff_ms = BACKOFF_MIN_MS;
	log_info("vm %s: restart policy %s: restarting in %u ms", vm->def.name,
		 vmdef_restart_name(vm->def.restart), vm->backoff_ms);
	ev_timer_set(&vm->restart_w, vm->backoff_ms / 1000.0, 0);
	ev_timer_start(vm->d->loop, &vm->restart_w);
	vm->backoff_ms = MIN(vm->backoff_ms * 2, BACKOFF_MAX_MS);
	/* a vmmd that ends before the timer fires leaves the restart to the next */
	int r = runrec_write(vm);
	if (r < 0)
		log_errno(r, "vm %s: recording the pending restart", vm->def.name);
}

/* A pending policy restart is called off (user stop, start, delete). */
static void cancel_restart(struct vm *vm)
{
	if (!ev_is_active(&vm->restart_w))
		return;
	ev_timer_stop(vm->d->loop, &vm->restart_w);
	runrec_remove(vm);
}

static void vm_exited(struct vm *vm, bool have_status, int wstatus)
{
	bool was_starting = vm->state == VM_STARTING;
	char reason[64], msg[512], tail[200];
	enum vm_state s;
	int status;

	stop_watchers(vm);
	if (have_status)
		status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
			 WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : -1;
	else
		status = endfile_status(vm);
	vm->last_exit_status = status;
	s = classify(status, reason, sizeof(reason));
	if (vm->stop_requested) {
		s = VM_STOPPED;
		snprintf(reason, sizeof(reason), "%s", vm->forced || status > 128 ? "user-forced" : "user");
	} else if (was_starting && !strcmp(vm->reason, "start-timeout")) {
		snprintf(reason, sizeof(reason), "start-timeout");
	}
	log_notice("vm %s: monitor %d ended (exit status %d): %s, %s", vm->def.name, (int)vm->pid,
		   status, vm_state_name(s), reason);
	vm->pid = 0;
	vm->starttime = 0;
	vm->is_child = vm->adopted = false;
	net_ports_remove(vm);
	runrec_remove(vm);
	unlink(vm->sock);
	if (vm->console[0])
		unlink(vm->console);
	vm_set_state(vm, s, reason);

	waiters_resolve(vm, 1u << WAIT_STOP, NULL, NULL);
	if (was_starting && s == VM_STOPPED) {
		/* a guest that is done before its socket was polled: not a failure */
		waiters_resolve(vm, 1u << WAIT_START | 1u << WAIT_RESTART, NULL, NULL);
	} else if (was_starting) {
		log_tail(vm, tail, sizeof(tail));
		snprintf(msg, sizeof(msg), "vm %s: monitor exited with status %d (%s) before it was "
			 "ready; see %s%s%s", vm->def.name, status, reason, vm->log,
			 tail[0] ? ": " : "", tail);
		waiters_resolve(vm, 1u << WAIT_START | 1u << WAIT_RESTART, VMMD_E_START_FAILED, msg);
	}
	if (vm->restart_after_stop && !vm->d->shutting_down) {
		vm->restart_after_stop = false;
		vm->stop_requested = vm->forced = false;
		if (vm_spawn(vm, msg, sizeof(msg)) < 0)
			waiters_resolve(vm, 1u << WAIT_RESTART, VMMD_E_START_FAILED, msg);
	} else {
		vm->restart_after_stop = false;
		if (!vm->stop_requested && !vm->d->shutting_down)
			schedule_restart(vm);
		vm->stop_requested = vm->forced = false;
		waiters_resolve(vm, 1u << WAIT_RESTART, VMMD_E_SHUTTING_DOWN,
				"vmmd is shutting down");
	}
	vmmd_maybe_exit(vm->d);
}

/* ---- spawning ---- */

static int vm_spawn(struct vm *vm, char *err, size_t errlen)
{
	struct vmmd *d = vm->d;
	char mem[16], vcpus[16], console[2 * PATH_MAX + 16], head[256];
	char nicarg[VMDEF_NICS_MAX][64];
	const char *argv[24 + 2 * VMDEF_NICS_MAX];
	_cleanup_close_ int logfd = -1, nullfd = -1;
	int tapfds[VMDEF_NICS_MAX], hifds[VMDEF_NICS_MAX];
	unsigned nn = vm->def.nr_nics;
	int argc = 0, r;
	pid_t pid;

	vm_set_paths(vm); /* an adopted monitor may have used another runtime dir */
	if (access(d->monitor, X_OK) < 0) {
		snprintf(err, errlen, "monitor %s: %s (set \"monitor\" in the config)", d->monitor,
			 strerror(errno));
		return -errno;
	}
	logfd = open(vm->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0) {
		r = -errno;
		snprintf(err, errlen, "vm %s: log %s: %s", vm->def.name, vm->log, strerror(errno));
		return r;
	}
	unlink(vm->sock);
	unlink(vm->endfile);
	/* A record before the fork: a vmmd killed between fork and the second
	 * record finds the monitor by its socket path. */
	vm->pid = 0;
	vm->starttime = 0;
	vm->started_at_ms = realtime_ms();
	r = runrec_write(vm);
	if (r < 0) {
		snprintf(err, errlen, "vm %s: runtime record in %s: %s", vm->def.name, d->run_dir,
			 strerror(-r));
		return r;
	}
	/* Ports after the first record: a vmmd killed from here on finds them
	 * (start-interrupted removes them). The tap fds move above 63 so that
	 * the child can put them at 3.. without clobbering one another. */
	r = net_ports_add(vm, tapfds, err, errlen);
	if (r < 0) {
		runrec_remove(vm);
		return r;
	}
	for (unsigned i = 0; i < nn; i++) {
		hifds[i] = fcntl(tapfds[i], F_DUPFD_CLOEXEC, 64);
		close(tapfds[i]);
		if (hifds[i] < 0) {
			r = -errno;
			snprintf(err, errlen, "vm %s: tap fd: %s", vm->def.name, strerror(errno));
			for (unsigned j = 0; j < i; j++)
				close(hifds[j]);
			net_ports_remove(vm);
			runrec_remove(vm);
			return r;
		}
	}
	snprintf(mem, sizeof(mem), "%u", vm->def.memory_mib);
	snprintf(vcpus, sizeof(vcpus), "%u", vm->def.vcpus);
	/* the log gets everything from boot; the socket is vmctl console's live view */
	if (vm->console[0] && !strchr(vm->log, ',') && !strchr(vm->console, ','))
		snprintf(console, sizeof(console), "file:%s,unix:%s", vm->log, vm->console);
	else
		snprintf(console, sizeof(console), "file:%s", vm->log);
	argv[argc++] = d->monitor;
	argv[argc++] = "--name";
	argv[argc++] = vm->def.name;
	argv[argc++] = "--kernel";
	argv[argc++] = vm->def.kernel;
	if (vm->def.initrd) {
		argv[argc++] = "--initrd";
		argv[argc++] = vm->def.initrd;
	}
	if (vm->def.cmdline) {
		argv[argc++] = "--cmdline";
		argv[argc++] = vm->def.cmdline;
	}
	argv[argc++] = "--memory";
	argv[argc++] = mem;
	argv[argc++] = "--vcpus";
	argv[argc++] = vcpus;
	argv[argc++] = "--control";
	argv[argc++] = vm->sock;
	argv[argc++] = "--console";
	argv[argc++] = console;
	argv[argc++] = "--stats";
	argv[argc++] = "none";
	argv[argc++] = "--stats-file";
	argv[argc++] = vm->endfile;
	for (unsigned i = 0; i < nn; i++) {
		char mac[18];
		vmdef_mac_format(vm->def.nics[i].mac, mac);
		snprintf(nicarg[i], sizeof(nicarg[i]), "model=%s,fd=%u,mac=%s",
			 vm->def.nics[i].model, 3 + i, mac);
		argv[argc++] = "--nic";
		argv[argc++] = nicarg[i];
	}
	argv[argc] = NULL;

	snprintf(head, sizeof(head), "<6>vmmd: starting vm %s (%u MiB, %u vCPU)\n", vm->def.name,
		 vm->def.memory_mib, vm->def.vcpus);
	(void)!write(logfd, head, strlen(head));

	pid = fork();
	if (pid < 0) {
		r = -errno;
		snprintf(err, errlen, "vm %s: fork: %s", vm->def.name, strerror(errno));
		for (unsigned i = 0; i < nn; i++)
			close(hifds[i]);
		net_ports_remove(vm);
		runrec_remove(vm);
		return r;
	}
	if (pid == 0) {
		sigset_t all;

		/* Its own session: survives vmmd, no terminal signals. */
		setsid();
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		for (unsigned i = 0; i < nn; i++)
			dup2(hifds[i], 3 + (int)i); /* dup2 clears FD_CLOEXEC */
		close_range(3 + nn, ~0u, 0);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (unsigned i = 0; i < nn; i++)
		close(hifds[i]);
	vm->pid = pid;
	vm->is_child = true;
	vm->adopted = false;
	vm->start_ns = now_ns();
	{
		char state;
		if (proc_stat(pid, &state, &vm->starttime) < 0)
			vm->starttime = 0;
	}
	ev_child_set(&vm->child_w, pid, 0);
	ev_child_start(d->loop, &vm->child_w);
	r = runrec_write(vm);
	if (r < 0)
		log_errno(r, "vm %s: runtime record in %s (a restarted vmmd will look for the "
			  "monitor by its socket)", vm->def.name, d->run_dir);
	vm->stop_requested = vm->forced = false;
	vm->ready_deadline_ns = now_ns() + READY_TIMEOUT_NS;
	ev_timer_set(&vm->ready_w, 0.005, READY_POLL_S);
	ev_timer_start(d->loop, &vm->ready_w);
	vm_set_state(vm, VM_STARTING, "start");
	log_info("vm %s: started monitor pid %d", vm->def.name, (int)pid);
	return 0;
}

/* ---- loading and adoption ---- */

static struct vm *vm_new(struct vmmd *d)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->d = d;
	vm->pidfd = -1;
	vm->last_exit_status = -1;
	snprintf(vm->reason, sizeof(vm->reason), "created");
	ev_child_init(&vm->child_w, on_child, 0, 0);
	ev_io_init(&vm->pidfd_w, on_pidfd, -1, EV_READ);
	ev_init(&vm->poll_w, on_poll);
	ev_init(&vm->ready_w, on_ready_poll);
	ev_init(&vm->kill_w, on_kill_timeout);
	ev_init(&vm->restart_w, on_restart_timer);
	vm->child_w.data = vm->pidfd_w.data = vm->poll_w.data = vm->ready_w.data =
		vm->kill_w.data = vm->restart_w.data = vm;
	return vm;
}

static void vm_set_paths(struct vm *vm)
{
	struct vmmd *d = vm->d;

	snprintf(vm->sock, sizeof(vm->sock), "%s/%s.sock", d->sock_dir, vm->def.name);
	snprintf(vm->endfile, sizeof(vm->endfile), "%s/%s.end.json", d->sock_dir, vm->def.name);
	snprintf(vm->log, sizeof(vm->log), "%s/%s.log", d->logs_dir, vm->def.name);
	snprintf(vm->console, sizeof(vm->console), "%s/%s.console", d->sock_dir, vm->def.name);
	if (strlen(vm->console) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		vm->console[0] = 0; /* the log file only */
}

static void vm_link(struct vmmd *d, struct vm *vm)
{
	struct vm **pp = &d->vms;

	/* sorted by name: list output is stable */
	while (*pp && strcmp((*pp)->def.name, vm->def.name) < 0)
		pp = &(*pp)->next;
	vm->next = *pp;
	*pp = vm;
}

static void vm_free(struct vm *vm)
{
	stop_watchers(vm);
	ev_timer_stop(vm->d->loop, &vm->restart_w);
	waiters_resolve(vm, ~0u, VMMD_E_SHUTTING_DOWN, "vmmd is shutting down");
	vmdef_free(&vm->def);
	free(vm);
}

void vm_free_all(struct vmmd *d)
{
	while (d->vms) {
		struct vm *vm = d->vms;
		d->vms = vm->next;
		vm_free(vm);
	}
}

/* Re-adopts the monitor recorded in STATE/run/<name>.json, if it still runs. */
static void vm_readopt(struct vm *vm)
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
		schedule_restart(vm);
		if (!ev_is_active(&vm->restart_w))
			runrec_remove(vm); /* the policy changed meanwhile */
		return;
	}
	if (!pid && !rec.pid) {
		/* killed between the first record and the fork: nothing started */
		log_notice("vm %s: a start was interrupted by the end of the previous vmmd; no "
			   "monitor runs", vm->def.name);
		net_ports_remove(vm);
		runrec_remove(vm);
		unlink(vm->sock);
		snprintf(vm->reason, sizeof(vm->reason), "start-interrupted");
		return;
	}
	if (!pid) {
		/* It ended while no vmmd watched: its end file says how. */
		int status = endfile_status(vm);
		char reason[64];
		enum vm_state s = classify(status, reason, sizeof(reason));

		log_notice("vm %s: monitor %d ended while vmmd was not running (exit status %d: %s)",
			   vm->def.name, (int)rec.pid, status, reason);
		vm->last_exit_status = status;
		net_ports_remove(vm);
		runrec_remove(vm);
		unlink(vm->sock);
		vm->state = s;
		snprintf(vm->reason, sizeof(vm->reason), "%s", reason);
		vm->start_ns = now_ns();
		schedule_restart(vm);
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
	snprintf(vm->sock, sizeof(vm->sock), "%s", rec.sock);
	watch_adopted(vm);
	if (rec.pid != pid && (r = runrec_write(vm)) < 0)
		log_errno(r, "vm %s: runtime record", vm->def.name);
	if (monitor_call(vm->sock, "status", NULL, &res, NULL) == 0) {
		json_object_put(res);
		vm->state = VM_RUNNING;
		snprintf(vm->reason, sizeof(vm->reason), "adopted");
		log_info("vm %s: re-adopted running monitor pid %d", vm->def.name, (int)pid);
	} else {
		vm->state = VM_STARTING;
		snprintf(vm->reason, sizeof(vm->reason), "adopted");
		vm->ready_deadline_ns = now_ns() + READY_TIMEOUT_NS;
		ev_timer_set(&vm->ready_w, READY_POLL_S, READY_POLL_S);
		ev_timer_start(d->loop, &vm->ready_w);
		log_info("vm %s: re-adopted monitor pid %d, waiting for its socket", vm->def.name,
			 (int)pid);
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
		struct vm *vm;
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
		r = vmdef_from_json(o, 0, &vm->def, &err);
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
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		vm_readopt(vm);
	return 0;
}

void vm_autostart(struct vmmd *d)
{
	char err[256];

	for (struct vm *vm = d->vms; vm; vm = vm->next) {
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
	for (struct vm *vm = d->vms; vm; vm = vm->next)
		for (unsigned i = 0; i < vm->def.nr_nics; i++)
			if (vm->def.nics[i].mac_set && !memcmp(vm->def.nics[i].mac, mac, 6))
				return true;
	for (unsigned i = 0; i < self->nr_nics; i++)
		if (self->nics[i].mac_set && !memcmp(self->nics[i].mac, mac, 6))
			return true;
	return false;
}

struct json_object *vm_create(struct vmmd *d, struct json_object *req, struct json_object *params)
{
	struct vmdef_error err;
	struct json_object *o;
	struct vm *vm;
	char file[VMDEF_NAME_MAX + 8];
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
	o = vmdef_to_json(&vm->def);
	snprintf(file, sizeof(file), "%s.json", vm->def.name);
	r = state_write_json(d->vms_dir, file, o);
	json_object_put(o);
	if (r < 0) {
		log_errno(r, "vm %s: writing definition %s/%s", vm->def.name, d->vms_dir, file);
		o = jsonl_error(req, VMMD_E_STORAGE, "vm %s: writing %s/%s: %s (nothing was changed)",
				vm->def.name, d->vms_dir, file, strerror(-r));
		goto fail;
	}
	vm_link(d, vm);
	log_info("vm %s: defined", vm->def.name);
	vm_set_state(vm, VM_DEFINED, "created");
	return jsonl_result(req, vm_info_json(vm));
fail:
	vmdef_free(&vm->def);
	free(vm);
	return o;
}

struct json_object *vm_delete(struct vmmd *d, struct json_object *req, struct vm *vm)
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
	cancel_restart(vm);
	net_ports_remove(vm);
	for (struct vm **pp = &d->vms; *pp; pp = &(*pp)->next)
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
				 struct vm *vm)
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
	cancel_restart(vm);
	vm->backoff_ms = 0;
	if (vm_spawn(vm, err, sizeof(err)) < 0)
		return jsonl_error(req, VMMD_E_START_FAILED, "%s", err);
	waiter_add(vm, c, req, WAIT_START);
	return NULL;
}

struct json_object *vm_stop_req(struct vmmd *d, struct client *c, struct json_object *req,
				struct vm *vm, bool force, uint32_t timeout_s, bool restart)
{
	struct json_object *params, *res = NULL, *merr = NULL;
	int r;

	switch (vm->state) {
	case VM_DEFINED:
	case VM_STOPPED:
	case VM_CRASHED:
		if (ev_is_active(&vm->restart_w)) {
			cancel_restart(vm);
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
	params = json_object_new_object();
	if (force)
		json_object_object_add(params, "force", json_object_new_boolean(true));
	else
		json_object_object_add(params, "timeout_ms",
				       json_object_new_int64((int64_t)timeout_s * 1000));
	r = monitor_call(vm->sock, "stop", params, &res, &merr);
	json_object_put(params);
	json_object_put(res);
	if (r < 0) {
		log_warn("vm %s: stop through %s failed (%s%s%s); sending SIGTERM", vm->def.name,
			 vm->sock, strerror(-r), merr ? ": " : "",
			 merr ? json_object_to_json_string(merr) : "");
		vm_kill(vm, SIGTERM);
	}
	json_object_put(merr);
	vm->stop_requested = true;
	vm->forced = force;
	vm->restart_after_stop = restart;
	ev_timer_set(&vm->kill_w, (force ? 0 : timeout_s) + FORCE_GRACE_S, 0);
	ev_timer_start(d->loop, &vm->kill_w);
	vm_set_state(vm, VM_STOPPING, force ? "user-forced" : "user");
	waiter_add(vm, c, req, restart ? WAIT_RESTART : WAIT_STOP);
	return NULL;
}

struct json_object *vm_stats(struct vmmd *d, struct json_object *req, struct vm *vm)
{
	struct json_object *res, *merr = NULL;
	int r;

	(void)d;
	if (vm->state != VM_RUNNING && vm->state != VM_STOPPING)
		return jsonl_error(req, VMMD_E_NOT_RUNNING, "vm %s is %s", vm->def.name,
				   vm_state_name(vm->state));
	r = monitor_call(vm->sock, "stats", NULL, &res, &merr);
	if (r < 0) {
		struct json_object *reply =
			jsonl_error(req, VMMD_E_MONITOR, "vm %s: monitor %d at %s: %s%s%s",
				    vm->def.name, (int)vm->pid, vm->sock, strerror(-r),
				    merr ? ": " : "", merr ? json_object_to_json_string(merr) : "");
		json_object_put(merr);
		return reply;
	}
	if (!json_object_is_type(res, json_type_object)) {
		json_object_put(res);
		return jsonl_error(req, VMMD_E_MONITOR, "vm %s: monitor sent stats that are not an "
				   "object", vm->def.name);
	}
	json_object_object_add(res, "name", json_object_new_string(vm->def.name));
	json_object_object_add(res, "pid", json_object_new_int(vm->pid));
	{
		struct json_object *dev = NULL;
		json_object_object_get_ex(res, "nics", &dev);
		json_object_object_add(res, "nics", net_vm_nics(vm, dev));
	}
	return jsonl_result(req, res);
}

unsigned vm_stop_all(struct vmmd *d)
{
	for (struct vm *vm = d->vms; vm; vm = vm->next) {
		cancel_restart(vm);
		if (vm->state == VM_RUNNING || vm->state == VM_STARTING) {
			struct json_object *reply =
				vm_stop_req(d, NULL, NULL, vm, false, d->conf.stop_timeout_s, false);
			json_object_put(reply);
		}
	}
	return vm_nr_active(d);
}

/* vm_supervise.c: a VM's monitor while it runs and when it ends: the watchers
 * (a child watcher for monitors this vmmd spawned, a pidfd or a /proc poll for
 * re-adopted ones), the readiness poll, SIGKILL escalation of a stop, the exit
 * status read as a state and reason, and the restart policy with backoff. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/vm_internal.h"

/* Messages are cut to their buffers on purpose; paths are bounded by
 * resolve() in main.c (directories at most PATH_MAX - 64, names 64). */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define READY_TIMEOUT_NS (15ull * 1000000000ull)
#define READY_POLL_S 0.02
#define ADOPTED_POLL_S 0.5
#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u
#define BACKOFF_RESET_NS (30ull * 1000000000ull)

static void vm_exited(struct vmmd_vm *vm, bool have_status, int wstatus);

void vm_stop_watchers(struct vmmd_vm *vm)
{
	struct ev_loop *loop = vm->d->loop;

	ev_child_stop(loop, &vm->child_w);
	ev_io_stop(loop, &vm->pidfd_w);
	ev_timer_stop(loop, &vm->poll_w);
	ev_timer_stop(loop, &vm->ready_w);
	ev_timer_stop(loop, &vm->kill_w);
	vm_calls_cancel(vm);
	if (vm->pidfd >= 0) {
		close(vm->pidfd);
		vm->pidfd = -1;
	}
}

/* Signals the monitor, making sure (for adopted ones) that the pid is still
 * that monitor and not a reused number. */
void vm_kill(struct vmmd_vm *vm, int sig)
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
	struct vmmd_vm *vm = w->data;

	(void)revents;
	ev_child_stop(loop, w);
	vm_exited(vm, true, w->rstatus);
}

static void on_pidfd(struct ev_loop *loop, ev_io *w, int revents)
{
	struct vmmd_vm *vm = w->data;

	(void)loop;
	(void)revents;
	vm_exited(vm, false, 0);
}

static void on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vmmd_vm *vm = w->data;

	(void)loop;
	(void)revents;
	if (!proc_is_monitor(vm->pid, vm->starttime))
		vm_exited(vm, false, 0);
}

void vm_watch_adopted(struct vmmd_vm *vm)
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

void vm_watch_child(struct vmmd_vm *vm)
{
	ev_child_set(&vm->child_w, vm->pid, 0);
	ev_child_start(vm->d->loop, &vm->child_w);
}

static void vm_became_running(struct vmmd_vm *vm, const char *reason)
{
	ev_timer_stop(vm->d->loop, &vm->ready_w);
	vm_set_state(vm, VM_RUNNING, reason);
	log_info("vm %s: running, monitor pid %d", vm->def.name, (int)vm->pid);
	vm_waiters_resolve(vm, 1u << WAIT_START | 1u << WAIT_RESTART, NULL, NULL);
}

static void on_ready_reply(struct vmmd_vm *vm, struct vm_call_for *f, int r,
			   struct json_object *result, struct json_object *error)
{
	(void)f;
	(void)result;
	(void)error;
	vm->ready_probe = false;
	if (r == 0 && vm->state == VM_STARTING && ev_is_active(&vm->ready_w))
		vm_became_running(vm, vm->adopted ? "adopted" : "booted");
}

static void on_ready_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vmmd_vm *vm = w->data;
	struct vm_call_for f = { .pid = vm->pid };

	(void)revents;
	if (vm->state != VM_STARTING) {
		ev_timer_stop(loop, w);
		return;
	}
	/* one probe at a time; a monitor that has not answered yet is not ready */
	if (!vm->ready_probe && vm_call_start(vm, loop, "status", NULL, on_ready_reply, &f) == 0)
		vm->ready_probe = true;
	if (now_ns() > vm->ready_deadline_ns) {
		log_err("vm %s: monitor %d did not answer on %s within %llu s; killing it",
			vm->def.name, (int)vm->pid, vm->sock, READY_TIMEOUT_NS / 1000000000ull);
		snprintf(vm->reason, sizeof(vm->reason), "start-timeout");
		ev_timer_stop(loop, w);
		vm_kill(vm, SIGKILL);
	}
}

void vm_watch_ready(struct vmmd_vm *vm, bool first_at_once)
{
	vm->ready_deadline_ns = now_ns() + READY_TIMEOUT_NS;
	ev_timer_set(&vm->ready_w, first_at_once ? 0.005 : READY_POLL_S, READY_POLL_S);
	ev_timer_start(vm->d->loop, &vm->ready_w);
}

static void on_kill_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vmmd_vm *vm = w->data;

	(void)loop;
	(void)revents;
	log_warn("vm %s: monitor %d has not ended after the stop request; sending SIGKILL",
		 vm->def.name, (int)vm->pid);
	vm->forced = true;
	vm_kill(vm, SIGKILL);
}

static void on_restart_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vmmd_vm *vm = w->data;
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
		vm_runrec_remove(vm);
	}
}

/* How a monitor's exit status reads: the state and reason it leaves. */
enum vm_state vm_classify_exit(int status, char *reason, size_t len)
{
	static const struct {
		int status;
		const char *reason;
	} known[] = {
		{ MON_EXIT_USAGE, "monitor-usage-error" },
		{ MON_EXIT_DATAERR, "image-corrupt" },
		{ MON_EXIT_NOINPUT, "image-missing" },
		{ MON_EXIT_NOKVM, "kvm-unavailable" },
		{ MON_EXIT_SOFTWARE, "monitor-internal-error" },
		{ MON_EXIT_OSERR, "host-resource-error" },
		{ MON_EXIT_NOPERM, "kvm-permission-denied" },
		{ MON_EXIT_CONFIG, "resources-out-of-range" },
		{ MON_EXIT_TRIPLE_FAULT, "guest-triple-fault" },
		{ MON_EXIT_EMULATION, "emulation-failure" },
		{ MON_EXIT_ENTRY_FAIL, "vm-entry-failure" },
		{ MON_EXIT_EXEC_FAILED, "monitor-exec-failed" },
	};

	if (status == MON_EXIT_OK) {
		snprintf(reason, len, "guest-shutdown");
		return VM_STOPPED;
	}
	if (status == MON_EXIT_RESET) {
		snprintf(reason, len, "guest-reset");
		return VM_STOPPED;
	}
	if (status == MON_EXIT_HALTED) {
		snprintf(reason, len, "guest-halted");
		return VM_STOPPED;
	}
	if (status < 0) {
		snprintf(reason, len, "monitor-vanished");
		return VM_CRASHED;
	}
	if (status <= MON_EXIT_GUEST_MAX) {
		snprintf(reason, len, "guest-exit-%d", status);
		return VM_CRASHED;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(known); i++)
		if (known[i].status == status) {
			snprintf(reason, len, "%s", known[i].reason);
			return VM_CRASHED;
		}
	if (status > MON_EXIT_SIGNAL_BASE && status < MON_EXIT_SIGNAL_BASE + 65) {
		const char *abbrev = sigabbrev_np(status - MON_EXIT_SIGNAL_BASE);
		if (abbrev)
			snprintf(reason, len, "killed-by-SIG%s", abbrev);
		else
			snprintf(reason, len, "killed-by-signal-%d", status - MON_EXIT_SIGNAL_BASE);
		return VM_CRASHED;
	}
	snprintf(reason, len, "monitor-exit-%d", status);
	return VM_CRASHED;
}

/* The monitor's own account of its end (--stats-file), for monitors that
 * are not our children. -1 if it left none (killed). */
int vm_endfile_status(struct vmmd_vm *vm)
{
	struct json_object *o;
	char *slash = strrchr(vm->endfile, '/');
	char dir[PATH_MAX];
	int status;

	if (!slash)
		return -1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - vm->endfile), vm->endfile);
	if (state_read_json(dir, slash + 1, &o) < 0)
		return -1;
	status = vmmd_endfile_status(o);
	json_object_put(o);
	return status;
}

/* The last line of the VM's log, for start failure messages. */
static void log_tail(struct vmmd_vm *vm, char *out, size_t len)
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

void vm_schedule_restart(struct vmmd_vm *vm)
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
	int r = vm_runrec_write(vm);
	if (r < 0)
		log_errno(r, "vm %s: recording the pending restart", vm->def.name);
}

/* A pending policy restart is called off (user stop, start, delete). */
void vm_cancel_restart(struct vmmd_vm *vm)
{
	if (!ev_is_active(&vm->restart_w))
		return;
	ev_timer_stop(vm->d->loop, &vm->restart_w);
	vm_runrec_remove(vm);
}

static void vm_exited(struct vmmd_vm *vm, bool have_status, int wstatus)
{
	bool was_starting = vm->state == VM_STARTING;
	char reason[64], msg[512], tail[200];
	enum vm_state s;
	int status;

	vm_stop_watchers(vm);
	if (have_status)
		status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
			 WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : -1;
	else
		status = vm_endfile_status(vm);
	vm->last_exit_status = status;
	s = vm_classify_exit(status, reason, sizeof(reason));
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
	vm_runrec_remove(vm);
	unlink(vm->sock);
	if (vm->console[0])
		unlink(vm->console);
	vm_set_state(vm, s, reason);

	vm_waiters_resolve(vm, 1u << WAIT_STOP, NULL, NULL);
	if (was_starting && s == VM_STOPPED) {
		/* a guest that is done before its socket was polled: not a failure */
		vm_waiters_resolve(vm, 1u << WAIT_START | 1u << WAIT_RESTART, NULL, NULL);
	} else if (was_starting) {
		log_tail(vm, tail, sizeof(tail));
		snprintf(msg, sizeof(msg), "vm %s: monitor exited with status %d (%s) before it was "
			 "ready; see %s%s%s", vm->def.name, status, reason, vm->log,
			 tail[0] ? ": " : "", tail);
		vm_waiters_resolve(vm, 1u << WAIT_START | 1u << WAIT_RESTART, VMMD_E_START_FAILED, msg);
	}
	if (vm->restart_after_stop && !vm->d->shutting_down) {
		vm->restart_after_stop = false;
		vm->stop_requested = vm->forced = false;
		if (vm_spawn(vm, msg, sizeof(msg)) < 0)
			vm_waiters_resolve(vm, 1u << WAIT_RESTART, VMMD_E_START_FAILED, msg);
	} else {
		vm->restart_after_stop = false;
		if (!vm->stop_requested && !vm->d->shutting_down)
			vm_schedule_restart(vm);
		vm->stop_requested = vm->forced = false;
		vm_waiters_resolve(vm, 1u << WAIT_RESTART, VMMD_E_SHUTTING_DOWN,
				"vmmd is shutting down");
	}
	vmmd_maybe_exit(vm->d);
}

void vm_watchers_init(struct vmmd_vm *vm)
{
	ev_child_init(&vm->child_w, on_child, 0, 0);
	ev_io_init(&vm->pidfd_w, on_pidfd, -1, EV_READ);
	ev_init(&vm->poll_w, on_poll);
	ev_init(&vm->ready_w, on_ready_poll);
	ev_init(&vm->kill_w, on_kill_timeout);
	ev_init(&vm->restart_w, on_restart_timer);
	vm->child_w.data = vm->pidfd_w.data = vm->poll_w.data = vm->ready_w.data =
		vm->kill_w.data = vm->restart_w.data = vm;
}

/* main.c: vmmd, the VM host daemon: flags and config, directories and the
 * state lock, signals (SIGTERM/SIGINT: leave or stop the VMs; SIGHUP: reload
 * the config), systemd notification (READY once the socket answers, STATUS,
 * WATCHDOG) and the loop. See vmmd/README.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/vmmd.h"

#define DEFAULT_CONFIG "/etc/vmmd/vmmd.json"

static ev_signal sigterm_w, sigint_w, sighup_w;
static ev_timer watchdog_w, ready_w, exit_deadline_w, idle_w;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmmd [--config FILE] [--state-dir DIR] [--runtime-dir DIR] [--debug]\n"
		"  --config FILE       JSON config (default %s if it exists)\n"
		"  --state-dir DIR     definitions, runtime records, logs (default %s)\n"
		"  --runtime-dir DIR   control sockets (default %s)\n"
		"  --debug             log debug messages\n"
		"  --version           print the version and protocol\n",
		DEFAULT_CONFIG, VMMD_DEFAULT_STATE_DIR, VMMD_DEFAULT_RUNTIME_DIR);
}

void vmmd_update_status(struct vmmd *d)
{
	unsigned defined = 0, running = 0;

	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next) {
		defined++;
		running += vm->state == VM_RUNNING;
	}
	sd_notifyf(0, "STATUS=%u VMs defined, %u running%s", defined, running,
		   d->shutting_down ? "; shutting down" : "");
}

void vmmd_maybe_exit(struct vmmd *d)
{
	if (d->shutting_down && vm_nr_active(d) == 0) {
		log_info("all VMs stopped; exiting");
		ev_break(d->loop, EVBREAK_ALL);
	}
}

/* Config file, then flags: the effective paths and monitor. */
static int resolve(struct vmmd *d)
{
	const char *sd = d->cli_state_dir ? d->cli_state_dir :
			 d->conf.state_dir ? d->conf.state_dir : VMMD_DEFAULT_STATE_DIR;
	const char *rd = d->cli_runtime_dir ? d->cli_runtime_dir :
			 d->conf.runtime_dir ? d->conf.runtime_dir : VMMD_DEFAULT_RUNTIME_DIR;

	if (strlen(sd) > PATH_MAX - 64 || strlen(rd) > PATH_MAX - 64)
		return -ENAMETOOLONG;
	snprintf(d->state_dir, sizeof(d->state_dir), "%s", sd);
	snprintf(d->runtime_dir, sizeof(d->runtime_dir), "%s", rd);
	snprintf(d->vms_dir, sizeof(d->vms_dir), "%s/vms", sd);
	snprintf(d->run_dir, sizeof(d->run_dir), "%s/run", sd);
	snprintf(d->logs_dir, sizeof(d->logs_dir), "%s/logs", sd);
	snprintf(d->sock_dir, sizeof(d->sock_dir), "%s/vms", rd);
	snprintf(d->sock_path, sizeof(d->sock_path), "%s/vmmd.sock", rd);
	snprintf(d->ro_sock_path, sizeof(d->ro_sock_path), "%s/vmmd-ro.sock", rd);
	return 0;
}

static void resolve_monitor(struct vmmd *d)
{
	char self[PATH_MAX];
	ssize_t n;

	if (d->conf.monitor) {
		snprintf(d->monitor, sizeof(d->monitor), "%s", d->conf.monitor);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		snprintf(d->monitor, sizeof(d->monitor), "vmm-monitor");
		return;
	}
	self[n] = 0;
	snprintf(d->monitor, sizeof(d->monitor), "%.*s/vmm-monitor", PATH_MAX - 20, dirname(self));
}

static int load_config(struct vmmd *d, struct vmmd_conf *c, bool required)
{
	char err[512];
	int r;

	vmmd_conf_init(c);
	if (!d->config_path)
		return 0;
	if (!required && access(d->config_path, F_OK) < 0)
		return 0;
	r = vmmd_conf_load(c, d->config_path, err, sizeof(err));
	if (r < 0) {
		log_err("config %s: %s", d->config_path, err);
		vmmd_conf_free(c);
		return r;
	}
	return 0;
}

static bool streq_null(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct vmmd *d = ev_userdata(loop);
	struct vmmd_conf c;

	(void)w;
	(void)revents;
	sd_notify(0, "RELOADING=1");
	if (load_config(d, &c, true) < 0) {
		log_err("reload: keeping the old config");
	} else {
		if (!streq_null(c.state_dir, d->conf.state_dir) ||
		    !streq_null(c.runtime_dir, d->conf.runtime_dir) ||
		    !streq_null(c.socket_group, d->conf.socket_group) ||
		    c.readonly_socket != d->conf.readonly_socket)
			log_warn("reload: state_dir, runtime_dir, socket_group and readonly_socket take "
				 "effect at the next start");
		/* the sockets and the admin group are as they were made at the start */
		free(c.state_dir);
		free(c.runtime_dir);
		free(c.socket_group);
		c.state_dir = d->conf.state_dir;
		c.runtime_dir = d->conf.runtime_dir;
		c.socket_group = d->conf.socket_group;
		c.readonly_socket = d->conf.readonly_socket;
		d->conf.state_dir = d->conf.runtime_dir = d->conf.socket_group = NULL;
		vmmd_conf_free(&d->conf);
		d->conf = c;
		log_set_max_level(d->conf.log_level);
		resolve_monitor(d);
		log_info("reloaded config %s (monitor %s)", d->config_path ? d->config_path : "-",
			 d->monitor);
	}
	sd_notify(0, "READY=1");
}

static void on_exit_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	log_warn("VMs still running after the stop timeout; exiting anyway");
	ev_break(loop, EVBREAK_ALL);
}

static void on_sigterm(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct vmmd *d = ev_userdata(loop);
	unsigned left;

	(void)revents;
	if (d->shutting_down)
		return;
	d->shutting_down = true;
	sd_notify(0, "STOPPING=1");
	log_notice("got %s: stopping", strsignal(w->signum));
	server_stop_accepting(d);
	if (!d->conf.stop_vms_on_exit) {
		log_info("leaving %u VM(s) running (stop_vms_on_exit is false)", vm_nr_active(d));
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	left = vm_stop_all(d);
	log_info("stopping %u VM(s) (stop_vms_on_exit)", left);
	if (!left) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&exit_deadline_w, on_exit_deadline, d->conf.stop_timeout_s + 10.0, 0);
	ev_timer_start(loop, &exit_deadline_w);
}

/* Socket-activated and idle (no client, no VM running or about to restart):
 * exit; systemd starts vmmd again on the next connection (libvirt's
 * --timeout). */
static void on_idle_check(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vmmd *d = ev_userdata(loop);

	(void)w;
	(void)revents;
	if (!d->activated || !d->conf.idle_exit_s || d->shutting_down)
		return;
	if (d->nr_clients || vm_nr_active(d) || vm_nr_pending(d)) {
		d->last_activity_ns = now_ns();
		return;
	}
	if (now_ns() - d->last_activity_ns < (uint64_t)d->conf.idle_exit_s * 1000000000ull)
		return;
	log_info("idle for %u s with no VM running; exiting (socket activation starts vmmd again)",
		 d->conf.idle_exit_s);
	d->shutting_down = true;
	sd_notify(0, "STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sd_notify(0, "WATCHDOG=1");
}

/* Runs once the loop runs, so that the socket answers when systemd hears
 * READY=1. */
static void on_ready(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vmmd *d = ev_userdata(loop);
	unsigned n = 0;

	(void)w;
	(void)revents;
	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next)
		n++;
	d->ready_sent = true;
	vm_autostart(d);
	sd_notify(0, "READY=1");
	vmmd_update_status(d);
	log_info("ready: %s, %u VM(s) defined, %u running", d->sock_path, n, vm_nr_active(d));
}

static int make_dirs(struct vmmd *d)
{
	const struct {
		const char *path;
		mode_t mode;
	} dirs[] = { { d->state_dir, 0755 }, { d->vms_dir, 0750 }, { d->run_dir, 0750 },
		     { d->logs_dir, 0750 },  { d->runtime_dir, 0755 }, { d->sock_dir, 0750 } };

	for (unsigned i = 0; i < ARRAY_SIZE(dirs); i++) {
		int r = state_mkdir_p(dirs[i].path, dirs[i].mode);
		if (r < 0)
			return log_errno(r, "directory %s", dirs[i].path);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vmmd d = { .lock_fd = -1 };
	bool config_required = false, debug = false, teardown;
	char lock_path[PATH_MAX + 16];
	uint64_t wd_usec = 0;
	int opt, r;

	log_set_ident("vmmd");
	while ((opt = getopt_long(argc, argv, "c:s:r:dVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': d.config_path = optarg; config_required = true; break;
		case 's': d.cli_state_dir = optarg; break;
		case 'r': d.cli_runtime_dir = optarg; break;
		case 'd': debug = true; break;
		case 'V': printf("vmmd %s (protocol %d)\n", VMMD_VERSION, VMM_PROTOCOL_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!d.config_path)
		d.config_path = DEFAULT_CONFIG;
	if (load_config(&d, &d.conf, config_required) < 0)
		return 1;
	if (!config_required && access(DEFAULT_CONFIG, F_OK) < 0)
		d.config_path = NULL;
	log_set_max_level(debug ? LOG_P_DEBUG : d.conf.log_level);
	if (resolve(&d) < 0) {
		log_err("state or runtime directory path too long");
		return 1;
	}
	resolve_monitor(&d);
	if (make_dirs(&d) < 0)
		return 1;

	/* One vmmd per state directory: two would both adopt and restart VMs. */
	snprintf(lock_path, sizeof(lock_path), "%s/vmmd.lock", d.state_dir);
	d.lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (d.lock_fd < 0) {
		log_errno(-errno, "lock %s", lock_path);
		return 1;
	}
	if (flock(d.lock_fd, LOCK_EX | LOCK_NB) < 0) {
		log_err("state directory %s is in use by another vmmd (lock %s held)", d.state_dir,
			lock_path);
		return 1;
	}

	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(now_ns() ^ (uint64_t)getpid()));
	d.loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!d.loop) {
		log_err("libev: no event loop");
		return 1;
	}
	ev_set_userdata(d.loop, &d);
	if ((r = server_open(&d)) < 0)
		return 1;
	net_open(&d); /* failures logged; VMs without NICs work regardless */
	r = vm_load_all(&d);
	if (r < 0) {
		log_errno(r, "loading definitions from %s", d.vms_dir);
		server_stop_accepting(&d);
		return 1;
	}
	log_info("vmmd %s (protocol %d): state %s, runtime %s, monitor %s", VMMD_VERSION,
		 VMM_PROTOCOL_VERSION, d.state_dir, d.runtime_dir, d.monitor);

	ev_signal_init(&sigterm_w, on_sigterm, SIGTERM);
	ev_signal_init(&sigint_w, on_sigterm, SIGINT);
	ev_signal_init(&sighup_w, on_sighup, SIGHUP);
	ev_signal_start(d.loop, &sigterm_w);
	ev_signal_start(d.loop, &sigint_w);
	ev_signal_start(d.loop, &sighup_w);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec) {
		ev_timer_init(&watchdog_w, on_watchdog, wd_usec / 2e6, wd_usec / 2e6);
		ev_timer_start(d.loop, &watchdog_w);
		log_info("watchdog: pinging every %.1f s", wd_usec / 2e6);
	}
	d.last_activity_ns = now_ns();
	ev_timer_init(&idle_w, on_idle_check, 0.5, 0.5);
	ev_timer_start(d.loop, &idle_w);
	ev_timer_init(&ready_w, on_ready, 0, 0);
	ev_timer_start(d.loop, &ready_w);

	ev_run(d.loop, 0);

	server_stop_accepting(&d);
	/* every VM stopped: nothing is left to use vmmd's own network devices */
	teardown = d.conf.stop_vms_on_exit && !vm_nr_active(&d);
	vm_free_all(&d);
	net_close(&d, teardown);
	server_close_all(&d);
	vmmd_conf_free(&d.conf);
	close(d.lock_fd);
	log_info("exited");
	return 0;
}

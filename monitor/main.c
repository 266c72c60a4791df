/* vmm-monitor: runs one KVM virtual machine in this process (the paper's
 * "VMApp"). See monitor/README.md for flags, the control protocol and exit
 * statuses. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <fcntl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/json_get.h"
#include "common/jsonl.h"
#include "common/log.h"
#include "monitor/acpi.h"
#include "monitor/nic.h"
#include "monitor/monitor.h"
#include "monitor/sandbox.h"
#include "monitor/stats.h"
#include "common/util.h"

#define KERNEL_MAX (512u << 20)
#define INITRD_MAX (1024u << 20)

int monitor_exit_status(enum vm_end end, int status)
{
	switch (end) {
	case VM_END_DEBUG_EXIT:
		return status < 0 ? MON_EXIT_GUEST_MAX : MIN(status, MON_EXIT_GUEST_MAX);
	case VM_END_POWEROFF:
	case VM_END_STOPPED:
		return MON_EXIT_OK;
	case VM_END_RESET: return MON_EXIT_RESET;
	case VM_END_TRIPLE_FAULT: return MON_EXIT_TRIPLE_FAULT;
	case VM_END_EMULATION: return MON_EXIT_EMULATION;
	case VM_END_ENTRY_FAIL: return MON_EXIT_ENTRY_FAIL;
	case VM_END_HALTED: return MON_EXIT_HALTED;
	case VM_END_SIGNAL: return MON_EXIT_SIGNAL_BASE + status;
	case VM_END_NONE:
	case VM_END_ERROR:
		break;
	}
	return MON_EXIT_OSERR;
}

/* Reads a kernel or initrd (from fd when >= 0, else path), mapping
 * failures to exit statuses. */
static int load_image(const char *vm, const char *what, const char *path, int fd, size_t max,
		      uint8_t **buf, size_t *len)
{
	char fdname[32];
	int r;

	if (fd >= 0) {
		snprintf(fdname, sizeof(fdname), "(fd %d)", fd);
		path = path ? path : fdname;
		r = read_fd(fd, max, buf, len);
		close(fd);
	} else {
		r = read_file(path, max, buf, len);
	}
	if (r == -ENOENT) {
		log_err("vm %s: %s %s: no such file", vm, what, path);
		return MON_EXIT_NOINPUT;
	}
	if (r == -EFBIG) {
		log_err("vm %s: %s %s: larger than %zu MiB", vm, what, path, max >> 20);
		return MON_EXIT_DATAERR;
	}
	if (r < 0) {
		log_errno(r, "vm %s: %s %s", vm, what, path);
		return MON_EXIT_NOINPUT;
	}
	if (*len == 0) {
		log_err("vm %s: %s %s: file is empty", vm, what, path);
		return MON_EXIT_DATAERR;
	}
	return 0;
}

/* The exit accounting plus "nics": one object per NIC (nic.h). */
static struct json_object *monitor_stats(struct monitor *m)
{
	struct json_object *st = stats_json(&m->vm), *nics = json_object_new_array();

	for (unsigned i = 0; i < m->machine.nr_nics; i++)
		if (m->machine.nics[i])
			json_object_array_add(nics, nic_stats_json(m->machine.nics[i]));
	json_object_object_add(st, "nics", nics);
	return st;
}

static void stop_forced(void *ctx)
{
	struct monitor *m = ctx;
	vm_end(&m->vm, VM_END_STOPPED, 0);
}

static void stop_graceful(void *ctx)
{
	struct monitor *m = ctx;
	vm_ask_guest_to_stop(&m->vm);
}

static const char *vm_state(struct monitor *m)
{
	enum vm_end e;
	bool stopping;

	pthread_mutex_lock(&m->vm.lock);
	e = m->vm.end;
	stopping = m->vm.stop_requested;
	pthread_mutex_unlock(&m->vm.lock);
	if (e != VM_END_NONE)
		return "stopped";
	return stopping ? "stopping" : "running";
}

static struct json_object *status_json(struct monitor *m)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(m->vm.name));
	json_object_object_add(o, "state", json_object_new_string(vm_state(m)));
	json_object_object_add(o, "pid", json_object_new_int(sandbox_host_pid()));
	json_object_object_add(o, "protocol", json_object_new_int(MONITOR_PROTOCOL_VERSION));
	json_object_object_add(o, "vcpus", json_object_new_int((int)m->vm.nr_vcpus));
	json_object_object_add(o, "memory_mib", json_object_new_int((int)(m->vm.mem.size >> 20)));
	json_object_object_add(o, "kernel", json_object_new_string(m->cfg->kernel));
	json_object_object_add(o, "boot_format", json_object_new_string(m->vm.boot.format));
	json_object_object_add(o, "uptime_ns",
			       json_object_new_uint64(now_ns() - m->vm.start_ns));
	return o;
}

struct json_object *monitor_handle_request(void *ctx, const char *method,
					   struct json_object *params, struct json_object *req,
					   void (**after_reply)(void *ctx))
{
	struct monitor *m = ctx;

	if (!strcmp(method, "status"))
		return jsonl_result(req, status_json(m));
	if (!strcmp(method, "stats"))
		return jsonl_result(req, monitor_stats(m));
	if (!strcmp(method, "stop")) {
		struct json_object *v;
		bool force = false;
		int64_t timeout_ms = 0;

		if (params) {
			json_object_object_foreach(params, key, val) {
				(void)val;
				if (strcmp(key, "force") && strcmp(key, "timeout_ms"))
					return jsonl_error(req, JSONL_E_PARAMS,
							   "stop: unknown parameter \"%s\"", key);
			}
			if (json_object_object_get_ex(params, "force", &v)) {
				if (!json_object_is_type(v, json_type_boolean))
					return jsonl_error(req, JSONL_E_PARAMS,
							   "stop: \"force\" must be a boolean");
				force = json_object_get_boolean(v);
			}
			if (json_object_object_get_ex(params, "timeout_ms", &v)) {
				if (!json_object_is_type(v, json_type_int) ||
				    (timeout_ms = json_object_get_int64(v)) < 0 ||
				    timeout_ms > 3600 * 1000)
					return jsonl_error(req, JSONL_E_PARAMS,
							   "stop: \"timeout_ms\" must be an integer "
							   "0..3600000");
			}
		}
		if (force) {
			*after_reply = stop_forced;
		} else {
			vm_mark_stopping(&m->vm);
			*after_reply = stop_graceful;
			if (timeout_ms > 0) {
				struct itimerspec its = {
					.it_value = { .tv_sec = timeout_ms / 1000,
						      .tv_nsec = (timeout_ms % 1000) * 1000000 },
				};
				timerfd_settime(m->stop_timer_fd, 0, &its, NULL);
			}
		}
		return jsonl_result(req, status_json(m));
	}
	return jsonl_error(req, JSONL_E_METHOD, "unknown method \"%s\" (known: status, stats, stop)",
			   method);
}

static void on_done(void *ctx, int fd, uint32_t events)
{
	struct monitor *m = ctx;
	uint64_t v;

	(void)events;
	(void)!read(fd, &v, sizeof(v));
	m->done = true;
}

static void on_signal(void *ctx, int fd, uint32_t events)
{
	struct monitor *m = ctx;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_notice("vm %s: got signal %d (%s), stopping now", m->vm.name, (int)si.ssi_signo,
		   strsignal((int)si.ssi_signo));
	vm_end(&m->vm, VM_END_SIGNAL, (int)si.ssi_signo);
}

static void on_stop_timeout(void *ctx, int fd, uint32_t events)
{
	struct monitor *m = ctx;
	uint64_t v;

	(void)events;
	(void)!read(fd, &v, sizeof(v));
	log_notice("vm %s: guest did not stop in time; stopping it now", m->vm.name);
	vm_end(&m->vm, VM_END_STOPPED, 0);
}

static void on_watch(void *ctx, int fd, uint32_t events)
{
	struct monitor *m = ctx;
	uint64_t v;

	(void)events;
	(void)!read(fd, &v, sizeof(v));
	if (!vm_watch(&m->vm))
		return;
	log_warn("vm %s: the guest halted: every vCPU is in HLT with interrupts off and "
		 "nothing can wake it; ending the VM (a guest that cannot power off by ACPI "
		 "halts like this)", m->vm.name);
	for (unsigned i = 0; i < m->vm.nr_vcpus; i++) {
		struct vcpu *v = &m->vm.vcpus[i];
		if (__atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == VCPU_HALTED_CLI)
			log_info("vm %s: vcpu %u halted at rip=0x%llx", m->vm.name, i,
				 (unsigned long long)__atomic_load_n(&v->probe_rip, __ATOMIC_RELAXED));
		else /* vm_watch returns true only when the others wait so */
			log_info("vm %s: vcpu %u waits for INIT/SIPI", m->vm.name, i);
	}
	vm_end(&m->vm, VM_END_HALTED, 0);
}

static int setup_loop(struct monitor *m)
{
	const struct itimerspec every_second = { { 1, 0 }, { 1, 0 } };
	sigset_t set;
	int r;

	m->loop = ioloop_new();
	if (!m->loop)
		return -ENOMEM;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	m->stop_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	m->watch_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->signal_fd < 0 || m->stop_timer_fd < 0 || m->watch_timer_fd < 0 ||
	    timerfd_settime(m->watch_timer_fd, 0, &every_second, NULL) < 0)
		return -errno;
	if ((r = ioloop_add(m->loop, m->signal_fd, EPOLLIN, on_signal, m)) < 0 ||
	    (r = ioloop_add(m->loop, m->stop_timer_fd, EPOLLIN, on_stop_timeout, m)) < 0 ||
	    (r = ioloop_add(m->loop, m->watch_timer_fd, EPOLLIN, on_watch, m)) < 0 ||
	    (r = ioloop_add(m->loop, m->vm.done_fd, EPOLLIN, on_done, m)) < 0)
		return r;
	return 0;
}

static void print_nics_human(FILE *f, struct json_object *st)
{
	struct json_object *nics, *n, *name;

	if (!json_object_object_get_ex(st, "nics", &nics))
		return;
	for (size_t i = 0; i < json_object_array_length(nics); i++) {
		n = json_object_array_get_idx(nics, i);
		json_object_object_get_ex(n, "name", &name);
		fprintf(f, "%s: tx %" PRIu64 " frames %" PRIu64 " bytes, rx %" PRIu64 " frames %" PRIu64
			" bytes, exits %" PRIu64 ", interrupts %" PRIu64 ", doorbells %" PRIu64 "\n",
			json_object_get_string(name), json_get_u64(n, "tx", "frames"), json_get_u64(n, "tx", "bytes"),
			json_get_u64(n, "rx", "frames"), json_get_u64(n, "rx", "bytes"), json_get_u64(n, "exits", "total"),
			json_get_u64(n, "interrupts", NULL), json_get_u64(n, "doorbells", NULL));
	}
}

static void report(struct monitor *m, int status)
{
	struct json_object *st = monitor_stats(m);

	json_object_object_add(st, "end", json_object_new_string(vm_end_name(m->vm.end)));
	json_object_object_add(st, "exit_status", json_object_new_int(status));
	if (m->cfg->stats == STATS_HUMAN) {
		fprintf(stderr, "vm %s: ended: %s, exit status %d\n", m->vm.name,
			vm_end_name(m->vm.end), status);
		stats_print_human(stderr, st);
		print_nics_human(stderr, st);
	} else if (m->cfg->stats == STATS_JSON) {
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
	}
	if (m->cfg->stats_fd >= 0) {
		if (json_object_to_fd(m->cfg->stats_fd, st, JSON_C_TO_STRING_PLAIN) < 0)
			log_err("vm %s: stats file: %s", m->vm.name, json_util_get_last_err());
	} else if (m->cfg->stats_file && json_object_to_file_ext(m->cfg->stats_file, st,
								 JSON_C_TO_STRING_PLAIN) < 0) {
		log_err("vm %s: stats file %s: %s", m->vm.name, m->cfg->stats_file,
			json_util_get_last_err());
	}
	json_object_put(st);
}

/* Opens every host resource the VM needs: the I/O loop, console, devices
 * and their taps, the control socket, the stats file. After this the
 * monitor touches no host file by path (the sandbox hides them). */
static int open_host_side(struct monitor *m, const char *name)
{
	struct monitor_config *cfg = m->cfg;
	int r;

	r = setup_loop(m);
	if (r < 0)
		return log_errno(r, "vm %s: I/O loop", name), MON_EXIT_OSERR;
	r = console_open(&m->console, m->loop, cfg);
	if (r < 0)
		return MON_EXIT_OSERR;
	r = machine_create(&m->machine, &m->vm, m->console);
	if (r < 0)
		return MON_EXIT_OSERR;
	r = machine_add_nics(&m->machine, cfg, m->loop);
	if (r < 0)
		return r == -EINVAL || r == -ENODEV ? MON_EXIT_USAGE : MON_EXIT_OSERR;
	r = machine_build_acpi(&m->machine);
	if (r < 0)
		return r == -E2BIG ? MON_EXIT_CONFIG : MON_EXIT_OSERR;
	if (cfg->control || cfg->control_fd >= 0) {
		r = control_open(&m->control, m->loop, cfg->control, cfg->control_fd,
				 monitor_handle_request, m);
		if (r < 0) {
			log_errno(r, "vm %s: control socket %s", name,
				  cfg->control ? cfg->control : "(inherited fd)");
			return MON_EXIT_OSERR;
		}
	}
	if (cfg->stats_file && cfg->stats_fd < 0 && cfg->sandbox.enabled) {
		cfg->stats_fd = open(cfg->stats_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (cfg->stats_fd < 0)
			return log_errno(-errno, "vm %s: stats file %s", name, cfg->stats_file),
			       MON_EXIT_OSERR;
	}
	stats_open_proc();
	return 0;
}

static int kvm_status(int r)
{
	if (r == -EACCES || r == -EPERM)
		return MON_EXIT_NOPERM;
	if (r == -ENOENT || r == -ENODEV || r == -ENXIO)
		return MON_EXIT_NOKVM;
	if (r == -E2BIG)
		return MON_EXIT_CONFIG;
	return MON_EXIT_OSERR;
}

/* Host side first (files, KVM, devices), then the sandbox, then what the
 * guest's side controls: the kernel image is parsed only inside it. A KVM
 * that cannot make the VM is reported after the kernel was checked, so a
 * junk kernel is told apart from a host without KVM. */
static int run(struct monitor *m)
{
	struct monitor_config *cfg = m->cfg;
	const char *name = cfg->name ? cfg->name : "vm";
	const char *kname = cfg->kernel ? cfg->kernel : "(fd)";
	_cleanup_free_ uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	struct boot_images img;
	struct boot_state st;
	char err[256];
	int r, r_kvm, status;

	r = config_validate(cfg, vm_host_mem_bytes());
	if (r)
		return r;
	r = load_image(name, "kernel", cfg->kernel, cfg->kernel_fd, KERNEL_MAX, &kernel,
		       &kernel_len);
	if (r)
		return r;
	if (cfg->initrd || cfg->initrd_fd >= 0) {
		r = load_image(name, "initrd", cfg->initrd, cfg->initrd_fd, INITRD_MAX, &initrd,
			       &initrd_len);
		if (r)
			return r;
	}
	m->vm_inited = true;
	r = vm_init(&m->vm, name, (uint64_t)cfg->memory_mib << 20);
	if (r < 0)
		return MON_EXIT_OSERR;
	vm_host_is_pvm();
	r_kvm = vm_create(&m->vm, cfg->vcpus, cfg->kvm_fd);
	if (r_kvm == 0) {
		r = open_host_side(m, name);
		if (r)
			return r;
	}
	if (cfg->sandbox.enabled) {
		if (sandbox_enter(&cfg->sandbox, name) < 0)
			return MON_EXIT_OSERR;
		m->vm.vcpu_thread_init = sandbox_vcpu_thread;
	}
	img = (struct boot_images){ kernel, kernel_len, initrd, initrd_len, cfg->cmdline,
				    ACPI_RSDP_ADDR };
	r = boot_load(&m->vm.mem, &img, &st, err, sizeof(err));
	if (r < 0) {
		log_err("vm %s: kernel %s: %s", name, kname, err);
		return r == -ENOSPC ? MON_EXIT_CONFIG : MON_EXIT_DATAERR;
	}
	if (r_kvm < 0)
		return kvm_status(r_kvm);
	if (st.is_linux && vm_host_is_pvm())
		log_warn("vm %s: this host's KVM is kvm_pvm (nested, no VT-x): unmodified Linux "
			 "cannot reach user space here (system calls from ring 3 fail, several "
			 "kernel instructions cannot be emulated); expect the boot to stop early",
			 name);
	free(TAKE_PTR(kernel));
	free(TAKE_PTR(initrd));
	r = vm_setup_boot(&m->vm, &st);
	if (r < 0)
		return MON_EXIT_OSERR;
	log_debug("vm %s: booting %s (%s), entry 0x%llx, %u MiB, %u vCPU(s)", name, kname,
		  st.format, (unsigned long long)st.entry, cfg->memory_mib, cfg->vcpus);
	r = vm_start(&m->vm);
	while (!m->done) {
		r = ioloop_run_once(m->loop, -1);
		if (r < 0) {
			log_errno(r, "vm %s: I/O loop", name);
			vm_end(&m->vm, VM_END_ERROR, 0);
			break;
		}
	}
	vm_join(&m->vm);
	status = monitor_exit_status(m->vm.end, m->vm.end_status);
	report(m, status);
	return status;
}

int main(int argc, char **argv)
{
	struct monitor_config cfg;
	struct monitor m = { .cfg = &cfg, .signal_fd = -1, .stop_timer_fd = -1,
			     .watch_timer_fd = -1 };
	int r;

	log_set_ident("vmm-monitor");
	config_init(&cfg);
	r = config_parse_args(&cfg, argc, argv);
	if (r == 1) {
		config_free(&cfg);
		return 0;
	}
	if (r == 0) {
		if (cfg.debug)
			log_set_max_level(LOG_P_DEBUG);
		const char *sockets[] = {
			cfg.control,
			cfg.console == CONSOLE_UNIX ? cfg.console_path : cfg.console_tee,
			NULL,
		};

		if (!sockets[0]) { /* no control socket: the console's alone */
			sockets[0] = sockets[1];
			sockets[1] = NULL;
		}
		if (cfg.sandbox.enabled && sandbox_pidns(sockets) < 0)
			r = MON_EXIT_OSERR;
		else
			r = run(&m);
	}
	control_close(m.control);
	machine_destroy(&m.machine);
	console_close(m.console);
	if (m.loop)
		ioloop_free(m.loop);
	if (m.signal_fd >= 0)
		close(m.signal_fd);
	if (m.stop_timer_fd >= 0)
		close(m.stop_timer_fd);
	if (m.watch_timer_fd >= 0)
		close(m.watch_timer_fd);
	if (m.vm_inited)
		vm_destroy(&m.vm);
	config_free(&cfg);
	return r;
}

/* vm_spawn.c: starting a monitor: its runtime record, switch ports and tap
 * fds, the log, the argv, and the fork into a session of its own that outlives
 * vmmd; then the child watcher and the readiness poll. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/vm_internal.h"

/* Messages are cut to their buffers on purpose; paths are bounded by
 * resolve() in main.c (directories at most PATH_MAX - 64, names 64). */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static int64_t realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A spawn that failed after its ports were added: nothing left behind. */
static void spawn_undo(struct vmmd_vm *vm, int *fds, unsigned nr_fds)
{
	for (unsigned i = 0; i < nr_fds; i++)
		close(fds[i]);
	net_ports_remove(vm);
	vm_runrec_remove(vm);
}

int vm_spawn(struct vmmd_vm *vm, char *err, size_t errlen)
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
	r = vm_runrec_write(vm);
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
		vm_runrec_remove(vm);
		return r;
	}
	for (unsigned i = 0; i < nn; i++) {
		hifds[i] = fcntl(tapfds[i], F_DUPFD_CLOEXEC, 64);
		close(tapfds[i]);
		if (hifds[i] < 0) {
			r = -errno;
			snprintf(err, errlen, "vm %s: tap fd: %s", vm->def.name, strerror(errno));
			spawn_undo(vm, hifds, i);
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
		spawn_undo(vm, hifds, nn);
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
		_exit(MON_EXIT_EXEC_FAILED);
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
	vm_watch_child(vm);
	r = vm_runrec_write(vm);
	if (r < 0)
		log_errno(r, "vm %s: runtime record in %s (a restarted vmmd will look for the "
			  "monitor by its socket)", vm->def.name, d->run_dir);
	vm->stop_requested = vm->forced = false;
	vm_watch_ready(vm, true);
	vm_set_state(vm, VM_STARTING, "start");
	log_info("vm %s: started monitor pid %d", vm->def.name, (int)pid);
	return 0;
}

/* vm_spawn.c: starting a monitor: its runtime record, switch ports and tap
 * fds, the log, the argv, and the fork into a session of its own that outlives
 * vmmd; then the child watcher and the readiness poll. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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

/* The lowest uid of the configured range no other running monitor has. */
static uid_t sandbox_uid_pick(struct vmmd_vm *vm)
{
	const struct vmmd_conf *c = &vm->d->conf;

	for (uint32_t i = 0; i < c->sandbox_uids; i++) {
		uid_t uid = (uid_t)(c->sandbox_uid_base + i);
		bool taken = false;

		for (struct vmmd_vm *o = vm->d->vms; o && !taken; o = o->next)
			taken = o != vm && o->pid > 0 && o->sandbox_uid == uid;
		if (!taken)
			return uid;
	}
	return 0;
}

/* What vmmd opens for a jailed monitor, passed as fds after the taps:
 * the kernel, the initrd, /dev/kvm and the stats file. */
struct spawn_files {
	int fds[4];
	unsigned n;
};

static int spawn_file(struct vmmd_vm *vm, struct spawn_files *f, const char *flag,
		      const char *path, int flags, char *err, size_t errlen)
{
	int fd = open(path, flags | O_CLOEXEC, 0640);

	if (fd < 0) {
		snprintf(err, errlen, "vm %s: %s %s: %s", vm->def.name, flag + 2, path,
			 strerror(errno));
		return -errno;
	}
	f->fds[f->n++] = fd;
	return 0;
}

static void spawn_files_close(struct spawn_files *f)
{
	for (unsigned i = 0; i < f->n; i++)
		close(f->fds[i]);
	f->n = 0;
}

/* A spawn that failed after its ports were added: nothing left behind. */
static void spawn_undo(struct vmmd_vm *vm, int *fds, unsigned nr_fds)
{
	for (unsigned i = 0; i < nr_fds; i++)
		close(fds[i]);
	net_ports_remove(vm);
	vm_runrec_remove(vm);
}

/* The child's side: its own session (survives vmmd, no terminal signals),
 * stdin /dev/null, stdout and stderr the log, the fds at 3.., exec. */
struct spawn_child {
	const char **argv;
	int nullfd, logfd;
	const int *fds;
	unsigned nfd;
};

static int spawn_child_main(void *arg)
{
	struct spawn_child *c = arg;
	sigset_t all;

	setsid();
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	dup2(c->nullfd, 0);
	dup2(c->logfd, 1);
	dup2(c->logfd, 2);
	for (unsigned i = 0; i < c->nfd; i++)
		dup2(c->fds[i], 3 + (int)i); /* dup2 clears FD_CLOEXEC */
	close_range(3 + c->nfd, ~0u, 0);
	execv(c->argv[0], (char *const *)c->argv);
	return MON_EXIT_EXEC_FAILED;
}

/* clone()'s stack for the child, which execs at once */
static char child_stack[64 * 1024] __attribute__((aligned(16)));

int vm_spawn(struct vmmd_vm *vm, char *err, size_t errlen)
{
	struct vmmd *d = vm->d;
	char mem[16], vcpus[16], console[2 * PATH_MAX + 16], head[256];
	char nicarg[VMDEF_NICS_MAX][64];
	const char *argv[36 + 2 * VMDEF_NICS_MAX];
	_cleanup_close_ int logfd = -1, nullfd = -1;
	int tapfds[VMDEF_NICS_MAX + 4], hifds[VMDEF_NICS_MAX + 4];
	struct spawn_files files = { .n = 0 };
	char uid[16], conmax[24];
	unsigned nn = vm->def.nr_nics, nfd;
	int argc = 0, r;
	pid_t pid;

	vm_set_paths(vm); /* an adopted monitor may have used another runtime dir */
	if (access(d->monitor, X_OK) < 0) {
		snprintf(err, errlen, "monitor %s: %s (set \"monitor\" in the config)", d->monitor,
			 strerror(errno));
		return -errno;
	}
	vm->sandbox_uid = 0;
	if (d->conf.sandbox && !(vm->sandbox_uid = sandbox_uid_pick(vm))) {
		snprintf(err, errlen, "vm %s: all %u sandbox uids from %u are in use "
			 "(sandbox_uids in the config)", vm->def.name, d->conf.sandbox_uids,
			 d->conf.sandbox_uid_base);
		return -EUSERS;
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
	if (vm->sandbox_uid) {
		r = spawn_file(vm, &files, "--kernel-fd", vm->def.kernel, O_RDONLY, err, errlen);
		if (r == 0 && vm->def.initrd)
			r = spawn_file(vm, &files, "--initrd-fd", vm->def.initrd, O_RDONLY, err,
				       errlen);
		if (r == 0)
			r = spawn_file(vm, &files, "--kvm-fd", "/dev/kvm", O_RDWR, err, errlen);
		if (r == 0)
			r = spawn_file(vm, &files, "--stats-fd", vm->endfile,
				       O_WRONLY | O_CREAT | O_TRUNC, err, errlen);
		if (r < 0) {
			spawn_files_close(&files);
			return r;
		}
	}
	/* A record before the fork: a vmmd killed between fork and the second
	 * record finds the monitor by its socket path. */
	vm->pid = 0;
	vm->starttime = 0;
	vm->started_at_ms = realtime_ms();
	r = vm_runrec_write(vm);
	if (r < 0) {
		snprintf(err, errlen, "vm %s: runtime record in %s: %s", vm->def.name, d->run_dir,
			 strerror(-r));
		spawn_files_close(&files);
		return r;
	}
	/* Ports after the first record: a vmmd killed from here on finds them
	 * (start-interrupted removes them). The tap fds move above 63 so that
	 * the child can put them at 3.. without clobbering one another. */
	r = net_ports_add(vm, tapfds, err, errlen);
	if (r < 0) {
		spawn_files_close(&files);
		vm_runrec_remove(vm);
		return r;
	}
	for (unsigned j = 0; j < files.n; j++)
		tapfds[nn + j] = files.fds[j];
	nfd = nn + files.n;
	files.n = 0; /* now among tapfds */
	for (unsigned i = 0; i < nfd; i++) {
		hifds[i] = fcntl(tapfds[i], F_DUPFD_CLOEXEC, 64);
		close(tapfds[i]);
		if (hifds[i] < 0) {
			r = -errno;
			snprintf(err, errlen, "vm %s: tap fd: %s", vm->def.name, strerror(errno));
			for (unsigned j = i + 1; j < nfd; j++)
				close(tapfds[j]);
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
	snprintf(conmax, sizeof(conmax), "%llu", (unsigned long long)d->conf.console_max_bytes);
	argv[argc++] = "--console-max";
	argv[argc++] = conmax;
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
	if (vm->sandbox_uid) {
		/* the flags in the order the fds were opened */
		static const char *const fdflags[] = { "--kernel-fd", "--initrd-fd", "--kvm-fd",
						       "--stats-fd" };
		static char fdnum[4][16];
		unsigned k = 0;

		for (unsigned j = 0; j < ARRAY_SIZE(fdflags); j++) {
			if (j == 1 && !vm->def.initrd)
				continue;
			snprintf(fdnum[j], sizeof(fdnum[j]), "%u", 3 + nn + k++);
			argv[argc++] = fdflags[j];
			argv[argc++] = fdnum[j];
		}
		snprintf(uid, sizeof(uid), "%u", (unsigned)vm->sandbox_uid);
		argv[argc++] = "--sandbox";
		argv[argc++] = "--sandbox-uid";
		argv[argc++] = uid;
		argv[argc++] = "--sandbox-gid";
		argv[argc++] = uid;
	}
	argv[argc] = NULL;

	snprintf(head, sizeof(head), "<6>vmmd: starting vm %s (%u MiB, %u vCPU)\n", vm->def.name,
		 vm->def.memory_mib, vm->def.vcpus);
	(void)!write(logfd, head, strlen(head));

	{
		struct spawn_child c = { argv, nullfd, logfd, hifds, nfd };

		/* jailed: PID 1 of a PID namespace of its own (the monitor does
		 * the rest of its sandbox itself, sandbox.h) */
		if (vm->sandbox_uid)
			pid = clone(spawn_child_main, child_stack + sizeof(child_stack),
				    CLONE_NEWPID | SIGCHLD, &c);
		else
			pid = fork();
		if (pid == 0)
			_exit(spawn_child_main(&c));
	}
	if (pid < 0) {
		r = -errno;
		snprintf(err, errlen, "vm %s: %s: %s", vm->def.name,
			 vm->sandbox_uid ? "clone into a PID namespace" : "fork", strerror(errno));
		spawn_undo(vm, hifds, nfd);
		return r;
	}
	for (unsigned i = 0; i < nfd; i++)
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

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
#include "vmmd/auth.h"
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
	int fds[6];
	const char *flags[6]; /* the monitor's flag for each */
	unsigned n;
};

/* path opened for the monitor (with the VM's owner's credentials when it
 * has one and asked: kernel and initrd), passed as flag's fd. */
static int spawn_file(struct vmmd_vm *vm, struct spawn_files *f, const char *flag,
		      const char *path, int flags, bool as_owner, char *err, size_t errlen)
{
	int fd = as_owner ? auth_open_as_owner(&vm->def, path) : open(path, flags | O_CLOEXEC, 0640);

	if (fd < 0) {
		int r = as_owner ? fd : -errno;

		/* "--kernel-fd" names the kernel */
		snprintf(err, errlen, "vm %s: %.*s %s: %s%s", vm->def.name, (int)strlen(flag) - 5,
			 flag + 2, path, strerror(-r),
			 as_owner && r == -EACCES ? " (to the uid that defined it)" : "");
		return r;
	}
	f->flags[f->n] = flag;
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
	int cgroup_fd; /* its cgroup's cgroup.procs, or -1 */
};

static int spawn_child_main(void *arg)
{
	struct spawn_child *c = arg;
	sigset_t all;

	/* into its cgroup before anything runs: exec and all */
	if (c->cgroup_fd >= 0 && write(c->cgroup_fd, "0", 1) != 1) {
		dprintf(c->logfd, "<3>vmmd: joining the VM's cgroup: %s\n", strerror(errno));
		return MON_EXIT_OSERR;
	}
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

/* The monitor's command line, in buffers of its own. */
struct spawn_argv {
	const char *v[48 + 2 * VMDEF_NICS_MAX]; /* 23 + fds 12 + jail 5 + NULL, and the NICs */
	int n;
	char mem[16], vcpus[16], conmax[24], uid[16];
	char console[2 * PATH_MAX + 16];
	char nic[VMDEF_NICS_MAX][64];
	char fdnum[6][16];
};

static void arg2(struct spawn_argv *a, const char *flag, const char *value)
{
	a->v[a->n++] = flag;
	a->v[a->n++] = value;
}

/* nn tap fds at 3.., then (jailed) the kernel, initrd, /dev/kvm and stats
 * file fds in the order vm_spawn opened them. */
static void build_argv(struct vmmd_vm *vm, unsigned nn, const struct spawn_files *files,
		       struct spawn_argv *a)
{
	struct vmmd *d = vm->d;

	snprintf(a->mem, sizeof(a->mem), "%u", vm->def.memory_mib);
	snprintf(a->vcpus, sizeof(a->vcpus), "%u", vm->def.vcpus);
	snprintf(a->conmax, sizeof(a->conmax), "%llu", (unsigned long long)d->conf.console_max_bytes);
	/* the log gets everything from boot; the socket is vmctl console's live view */
	if (vm->console[0] && !strchr(vm->log, ',') && !strchr(vm->console, ','))
		snprintf(a->console, sizeof(a->console), "file:%s,unix:%s", vm->log, vm->console);
	else
		snprintf(a->console, sizeof(a->console), "file:%s", vm->log);
	a->n = 0;
	a->v[a->n++] = d->monitor;
	arg2(a, "--name", vm->def.name);
	arg2(a, "--kernel", vm->def.kernel);
	if (vm->def.initrd)
		arg2(a, "--initrd", vm->def.initrd);
	if (vm->def.cmdline)
		arg2(a, "--cmdline", vm->def.cmdline);
	arg2(a, "--memory", a->mem);
	arg2(a, "--vcpus", a->vcpus);
	arg2(a, "--control", vm->sock);
	arg2(a, "--console", a->console);
	arg2(a, "--console-max", a->conmax);
	arg2(a, "--stats", "none");
	arg2(a, "--stats-file", vm->endfile);
	for (unsigned i = 0; i < nn; i++) {
		char mac[18];

		vmdef_mac_format(vm->def.nics[i].mac, mac);
		snprintf(a->nic[i], sizeof(a->nic[i]), "model=%s,fd=%u,mac=%s",
			 vm->def.nics[i].model, 3 + i, mac);
		arg2(a, "--nic", a->nic[i]);
	}
	for (unsigned j = 0; j < files->n; j++) {
		snprintf(a->fdnum[j], sizeof(a->fdnum[j]), "%u", 3 + nn + j);
		arg2(a, files->flags[j], a->fdnum[j]);
	}
	if (vm->sandbox_uid) {
		snprintf(a->uid, sizeof(a->uid), "%u", (unsigned)vm->sandbox_uid);
		a->v[a->n++] = "--sandbox";
		arg2(a, "--sandbox-uid", a->uid);
		arg2(a, "--sandbox-gid", a->uid);
	} else {
		a->v[a->n++] = "--no-sandbox"; /* the config says so */
	}
	a->v[a->n] = NULL;
}

/* What vmmd opens for the monitor and passes after the taps: the kernel and
 * initrd when jailed or when the VM has an owner (opened with its
 * credentials), and for a jailed monitor /dev/kvm, the stats file, the
 * console log and its previous part. */
static int spawn_open_files(struct vmmd_vm *vm, struct spawn_files *f, char *err, size_t errlen)
{
	bool jailed = vm->sandbox_uid, owner = vm->def.owner.set;
	int r = 0;

	if (jailed || owner)
		r = spawn_file(vm, f, "--kernel-fd", vm->def.kernel, O_RDONLY, owner, err, errlen);
	if (r == 0 && (jailed || owner) && vm->def.initrd)
		r = spawn_file(vm, f, "--initrd-fd", vm->def.initrd, O_RDONLY, owner, err, errlen);
	if (r == 0 && jailed)
		r = spawn_file(vm, f, "--kvm-fd", "/dev/kvm", O_RDWR, false, err, errlen);
	if (r == 0 && jailed)
		r = spawn_file(vm, f, "--stats-fd", vm->endfile, O_WRONLY | O_CREAT | O_TRUNC, false,
			       err, errlen);
	if (r == 0 && jailed)
		r = spawn_file(vm, f, "--console-log-fd", vm->log, O_RDWR | O_CREAT | O_APPEND,
			       false, err, errlen);
	if (r == 0 && jailed && vm->d->conf.console_max_bytes) {
		char old[PATH_MAX + 2];

		snprintf(old, sizeof(old), "%s.1", vm->log);
		r = spawn_file(vm, f, "--console-old-fd", old, O_WRONLY | O_CREAT, false, err,
			       errlen);
	}
	if (r < 0)
		spawn_files_close(f);
	return r;
}

/* The child: jailed, PID 1 of a PID namespace of its own (the monitor does
 * the rest of its sandbox itself, sandbox.h); else a plain fork. */
static pid_t spawn_process(struct vmmd_vm *vm, struct spawn_child *c)
{
	pid_t pid;

	if (vm->sandbox_uid)
		return clone(spawn_child_main, child_stack + sizeof(child_stack),
			     CLONE_NEWPID | SIGCHLD, c);
	pid = fork();
	if (pid == 0)
		_exit(spawn_child_main(c));
	return pid;
}

/* The spawned monitor as vmmd's child, recorded and watched. */
static void spawn_started(struct vmmd_vm *vm, pid_t pid)
{
	char state;
	int r;

	vm->pid = pid;
	vm->is_child = true;
	vm->adopted = false;
	vm->start_ns = now_ns();
	if (proc_stat(pid, &state, &vm->starttime) < 0)
		vm->starttime = 0;
	vm_watch_child(vm);
	r = vm_runrec_write(vm);
	if (r < 0)
		log_errno(r, "vm %s: runtime record in %s (a restarted vmmd will look for the "
			  "monitor by its socket)", vm->def.name, vm->d->run_dir);
	vm->stop_requested = vm->forced = false;
	vm_watch_ready(vm, true);
	vm_set_state(vm, VM_STARTING, "start");
	log_info("vm %s: started monitor pid %d", vm->def.name, (int)pid);
}

int vm_spawn(struct vmmd_vm *vm, char *err, size_t errlen)
{
	struct vmmd *d = vm->d;
	_cleanup_close_ int logfd = -1, nullfd = -1, cgfd = -1;
	int tapfds[VMDEF_NICS_MAX + 6], hifds[VMDEF_NICS_MAX + 6], ifindex[VMDEF_NICS_MAX];
	bool machined;
	struct spawn_files files = { .n = 0 };
	unsigned nn = vm->def.nr_nics, nfd;
	struct spawn_argv a;
	char head[256];
	int r;
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
	if ((r = spawn_open_files(vm, &files, err, errlen)) < 0)
		return r;
	/* under systemd, machined's scope instead of our own group: not both */
	machined = vm_machined_use(vm);
	r = machined ? 0 : vm_cgroup_create(vm, &cgfd, err, errlen);
	if (r < 0) {
		spawn_files_close(&files);
		return r;
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
		vm_cgroup_remove(vm);
		return r;
	}
	/* Ports after the first record: a vmmd killed from here on finds them
	 * (start-interrupted removes them). The fds move above 63 so that the
	 * child can put them at 3.. without clobbering one another. */
	r = net_ports_add(vm, tapfds, err, errlen);
	if (r < 0) {
		spawn_files_close(&files);
		vm_runrec_remove(vm);
		return r;
	}
	for (unsigned j = 0; j < files.n; j++)
		tapfds[nn + j] = files.fds[j];
	nfd = nn + files.n; /* files.flags stay for the argv */
	for (unsigned i = 0; i < nfd; i++) {
		hifds[i] = fcntl(tapfds[i], F_DUPFD_CLOEXEC, 64);
		close(tapfds[i]);
		if (hifds[i] < 0) {
			r = -errno;
			snprintf(err, errlen, "vm %s: fd for the monitor: %s", vm->def.name,
				 strerror(errno));
			for (unsigned j = i + 1; j < nfd; j++)
				close(tapfds[j]);
			spawn_undo(vm, hifds, i);
			return r;
		}
	}
	build_argv(vm, nn, &files, &a);
	snprintf(head, sizeof(head), "<6>vmmd: starting vm %s (%u MiB, %u vCPU)\n", vm->def.name,
		 vm->def.memory_mib, vm->def.vcpus);
	(void)!write(logfd, head, strlen(head));
	{
		struct spawn_child c = { a.v, nullfd, logfd, hifds, nfd, cgfd };

		pid = spawn_process(vm, &c);
	}
	if (pid < 0) {
		r = -errno;
		snprintf(err, errlen, "vm %s: %s: %s", vm->def.name,
			 vm->sandbox_uid ? "clone into a PID namespace" : "fork", strerror(errno));
		spawn_undo(vm, hifds, nfd);
		return r;
	}
	vm_machined_nics(hifds, nn, ifindex);
	for (unsigned i = 0; i < nfd; i++)
		close(hifds[i]);
	spawn_started(vm, pid);
	if (machined)
		vm_machined_register(vm, ifindex, nn);
	return 0;
}

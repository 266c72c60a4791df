/* sandbox.c: the monitor's jail (sandbox.h): namespaces, an empty root,
 * ids, capabilities, no_new_privs, and seccomp allow-lists by libseccomp. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/contract.h"
#include "common/log.h"
#include "common/util.h"
#include "monitor/sandbox.h"

/* The I/O thread (main loop, control and console sockets, device timers,
 * tap receive, thread start) and glibc's needs behind them, measured with
 * strace over the monitor's tests. */
static const char *const io_calls[] = {
	"read", "write", "readv", "writev", "pread64", "close", "fcntl", "lseek", "ioctl",
	"mmap", "munmap", "mprotect", "madvise", "mremap", "brk", "mincore", "futex",
	"set_robust_list", "rseq", "clone", "clone3", "exit", "exit_group", "rt_sigaction",
	"rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill", "tkill", "getpid", "gettid",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "epoll_create1", "eventfd2", "timerfd_create",
	"timerfd_settime", "timerfd_gettime", "signalfd4", "accept4", "sendto", "sendmsg",
	"recvfrom", "recvmsg", "setsockopt", "getsockopt", "shutdown", "getrandom",
	"clock_gettime", "clock_nanosleep", "nanosleep", "sched_yield", "sched_getaffinity",
	"sysinfo", "prctl", "newfstatat", "fstat", "statx", "restart_syscall",
	"seccomp", /* a vCPU thread narrows its own filter (filters only ever add up) */
	"ftruncate", "pwrite64", /* the console log's rotation */
};

/* A vCPU thread: KVM_RUN and the device emulation it does on exits (MMIO
 * and port I/O handlers, tap transmit, timers, interrupt and ioeventfd
 * setup), never a new thread, socket or signal handler. */
static const char *const vcpu_calls[] = {
	"read", "write", "readv", "writev", "close", "fcntl", "ioctl", "mmap", "munmap",
	"mprotect", "madvise", "mremap", "brk", "futex", "exit", "exit_group", "rt_sigprocmask",
	"rt_sigreturn", "tgkill", "tkill", "getpid", "gettid", "epoll_ctl", "eventfd2",
	"timerfd_settime", "sendto", "clock_gettime", "clock_nanosleep", "nanosleep",
	"sched_yield", "restart_syscall", "sigaltstack",
	"newfstatat", "fstat", "pread64", "pwrite64", "ftruncate", /* the console's rotation */
};

/* Answered EACCES: nothing is there to open or remove (glibc may look; the
 * console and control sockets try to remove their files at the end, which
 * the caller does instead). */
static const char *const denied_calls[] = {
	"open", "openat", "openat2", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "unlink", "unlinkat",
};

static int add_rules(scmp_filter_ctx ctx, const char *const *names, size_t n, uint32_t action)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, action, nr, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Loads an allow-list on the calling thread (tsync: on every thread). */
static int load_filter(const char *const *allow, size_t n, bool tsync)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return -ENOMEM;
	r = add_rules(ctx, allow, n, SCMP_ACT_ALLOW);
	if (r == 0)
		r = add_rules(ctx, denied_calls, ARRAY_SIZE(denied_calls), SCMP_ACT_ERRNO(EACCES));
	if (r == 0 && tsync)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

int sandbox_seccomp_io(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return load_filter(io_calls, ARRAY_SIZE(io_calls), true);
}

int sandbox_vcpu_thread(void)
{
	return load_filter(vcpu_calls, ARRAY_SIZE(vcpu_calls), false);
}

static pid_t child_pid;
static pid_t host_pid;

pid_t sandbox_host_pid(void)
{
	return host_pid ? host_pid : getpid();
}

/* Our pid as the host sees it, while the host's /proc is still there. */
static pid_t proc_self_pid(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	return (pid_t)atoi(buf);
}

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int sandbox_pidns(const char *const *cleanup)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	int status;

	if (getpid() == 1) { /* vmmd cloned us into one: it knows our host pid */
		host_pid = proc_self_pid();
		return 0;
	}
	/* by hand: the pid the user started (and signals) is the waiter's */
	host_pid = getpid();
	if (unshare(CLONE_NEWPID) < 0)
		return log_errno(-errno, "sandbox: PID namespace");
	child_pid = fork();
	if (child_pid < 0)
		return log_errno(-errno, "sandbox: fork into the PID namespace");
	if (child_pid == 0) {
		/* the waiter killed (kill -9): the VM goes with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		return 0;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (waitpid(child_pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(MON_EXIT_OSERR);
	/* the jailed child cannot see its socket files any more */
	for (; cleanup && *cleanup; cleanup++)
		unlink(*cleanup);
	if (WIFSIGNALED(status))
		_exit(MON_EXIT_SIGNAL_BASE + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

/* An empty, read-only tmpfs as /: no host file is reachable by path. */
static int empty_root(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return log_errno(-errno, "sandbox: make mounts private");
	if (mount("vmm-sandbox", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=4,mode=0555") < 0)
		return log_errno(-errno, "sandbox: mount the empty root");
	if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return log_errno(-errno, "sandbox: pivot_root");
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return log_errno(-errno, "sandbox: detach the host's root");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return log_errno(-errno, "sandbox: make the root read-only");
	return 0;
}

static int drop_privileges(uid_t uid, gid_t gid)
{
	if (!uid || !gid)
		return log_errno(-EINVAL, "sandbox: uid %u gid %u: must not be root",
				 (unsigned)uid, (unsigned)gid);
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return log_errno(-errno, "sandbox: drop capability %d", cap);
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return log_errno(-errno, "sandbox: become uid %u gid %u", (unsigned)uid,
				 (unsigned)gid);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return log_errno(-errno, "sandbox: clear ambient capabilities");
	return 0;
}

int sandbox_enter(const struct sandbox_config *sc, const char *name)
{
	int r;

	if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0)
		return log_errno(-errno, "vm %s: sandbox: mount and IPC namespaces (needs root)",
				 name);
	r = empty_root();
	if (r == 0)
		r = drop_privileges(sc->uid, sc->gid);
	if (r < 0)
		return r;
	r = sandbox_seccomp_io();
	if (r < 0)
		return log_errno(r, "vm %s: sandbox: seccomp filter", name);
	log_debug("vm %s: sandboxed: uid %u gid %u, empty root, seccomp", name, (unsigned)sc->uid,
		  (unsigned)sc->gid);
	return 0;
}

/* sandbox.h: the jail a monitor runs its guest in (--sandbox).
 *
 * Once every host resource the monitor needs is open (kernel and initrd
 * read, /dev/kvm, taps, the console and control sockets, the stats file),
 * and before it parses anything the guest controls (the kernel image, then
 * every exit), the monitor enters:
 *   - its own PID namespace (vmmd clones it there; by hand, sandbox_pidns()
 *     forks into one), mount namespace with an empty read-only root (no host
 *     file is visible) and IPC namespace;
 *   - an unprivileged uid and gid, no supplementary groups, no capabilities
 *     (the bounding set emptied too), PR_SET_NO_NEW_PRIVS;
 *   - a seccomp allow-list (libseccomp): the I/O thread's list for the
 *     process; each vCPU thread narrows it to its own shorter list.
 * A syscall outside the list kills the process (SIGSYS); opening a file is
 * answered EACCES instead (nothing is there to open, and glibc may try). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#define SANDBOX_UID_DEFAULT 65534 /* "nobody", for a monitor started by hand */

struct sandbox_config {
	bool enabled;
	uid_t uid;
	gid_t gid;
};

/* By hand (not already PID 1 of a namespace): unshare the PID namespace and
 * fork; the child returns 0 and goes on as PID 1 (killed if the parent
 * dies), the parent waits, passes SIGTERM/SIGINT/SIGHUP on, removes the
 * files in cleanup (NULL-terminated: the sockets the child made, which it
 * cannot remove from its jail) and exits with the child's status. */
int sandbox_pidns(const char *const *cleanup);
/* The monitor's pid as the host sees it (what the control socket's status
 * reports): by hand, the waiter's; else our own. */
pid_t sandbox_host_pid(void);
/* Mount and IPC namespaces, empty root, ids, capabilities, no_new_privs and
 * the I/O thread's seccomp filter. name: for messages. 0 or -errno (the
 * message logged). */
int sandbox_enter(const struct sandbox_config *sc, const char *name);
/* A vCPU thread's own, shorter list, on top of the process's. 0 or -errno. */
int sandbox_vcpu_thread(void);
/* The filters alone (the sandbox's test installs them in a child). */
int sandbox_seccomp_io(void);

/* vm_proc.c: monitors as /proc sees them: a pid's state and start time, whether
 * it is still the vmm-monitor that was recorded (against pid reuse), and the
 * monitor serving a given control socket. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "vmmd/vm_internal.h"

/* State letter and start time (clock ticks since boot) of a process. */
int proc_stat(pid_t pid, char *state, uint64_t *starttime)
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

/* The real uid of a process (0 when unknown or root). */
uid_t proc_uid(pid_t pid)
{
	char path[64], buf[2048], *p;
	_cleanup_close_ int fd = -1;
	unsigned long uid = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "\nUid:");
	if (p)
		sscanf(p + 5, "%lu", &uid);
	return (uid_t)uid;
}

/* True if pid is a live vmm-monitor started at starttime (0: any). */
bool proc_is_monitor(pid_t pid, uint64_t starttime)
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
pid_t proc_find_monitor(const char *sock)
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

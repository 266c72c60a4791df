/* cgroup.c: each running monitor in a cgroup v2 of its own,
 * <root>/<cgroup_parent>/<instance>/vm-NAME, with the VM's resource limits
 * (instance: 8 hex digits of a hash of vmmd's state directory, so that two
 * vmmds on one host never share a group):
 *   memory.max  guest RAM + VMMD_CGROUP_OVERHEAD_MIB (the monitor, KVM's
 *               page tables and vCPU state, device buffers)
 *   pids.max    vCPUs + VMMD_CGROUP_EXTRA_TASKS (the I/O thread and room)
 *   cpu.weight  the definition's cpu_weight (100: the kernel's default)
 * The child joins it between clone and exec (it writes "0" to the group's
 * cgroup.procs, an fd vmmd opened), so no instant of the monitor runs
 * outside it. Where the host has no cgroup v2 with the memory, pids and cpu
 * controllers (a v1 or hybrid host), VMs run without these limits and vmmd
 * says so once. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/vm_internal.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static int write_str(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_all(fd, value, strlen(value));
}

/* The controllers we need are in dir's cgroup.controllers. */
static bool has_controllers(const char *dir)
{
	char path[PATH_MAX], buf[256];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "memory") && strstr(buf, "pids") && strstr(buf, "cpu");
}

/* A group whose children get the memory, pids and cpu controllers. */
static int make_level(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return write_str(dir, "cgroup.subtree_control", "+memory +pids +cpu");
}

/* The parent with the controllers handed down to its children; "" when
 * there is no usable cgroup v2 here (said once). Set up once: later calls
 * (every start and stop) only return it. */
static const char *parent_dir(struct vmmd *d)
{
	static char dir[PATH_MAX], made_for[PATH_MAX];
	static bool said;
	struct statfs st;
	const char *why = NULL;

	if (!d->conf.cgroup_parent || !*d->conf.cgroup_parent)
		return "";
	if (*made_for && !strcmp(made_for, d->conf.cgroup_parent))
		return dir;
	snprintf(dir, sizeof(dir), CGROUP_ROOT "/%s", d->conf.cgroup_parent);
	if (statfs(CGROUP_ROOT, &st) < 0 || st.f_type != CGROUP2_SUPER_MAGIC)
		why = "no cgroup v2 at " CGROUP_ROOT;
	else if (!has_controllers(CGROUP_ROOT))
		why = "the memory, pids and cpu controllers are not available";
	else if (write_str(CGROUP_ROOT, "cgroup.subtree_control", "+memory +pids +cpu") < 0 &&
		 !has_controllers(dir))
		why = "cannot enable the memory, pids and cpu controllers";
	else if (make_level(dir) < 0)
		why = "cannot create the parent group or hand the controllers down in it";
	else {
		uint32_t h = 2166136261u;

		for (const char *p = d->state_dir; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%08x", h);
		if (make_level(dir) < 0)
			why = "cannot create vmmd's group or hand the controllers down in it";
	}
	if (why) {
		if (!said)
			log_warn("cgroups: %s (%s): VMs run without memory, task and CPU limits", why,
				 dir);
		said = true;
		return "";
	}
	snprintf(made_for, sizeof(made_for), "%s", d->conf.cgroup_parent);
	return dir;
}

static void group_dir(struct vmmd_vm *vm, const char *parent, char *out, size_t len)
{
	snprintf(out, len, "%s/vm-%s", parent, vm->def.name);
}

int vm_cgroup_create(struct vmmd_vm *vm, int *procs_fd, char *err, size_t errlen)
{
	const char *parent = parent_dir(vm->d);
	char dir[PATH_MAX], val[32], path[PATH_MAX + 16];
	int r;

	*procs_fd = -1;
	if (!*parent)
		return 0;
	group_dir(vm, parent, dir, sizeof(dir));
	if (rmdir(dir) < 0 && errno != ENOENT) { /* left by a crash: empty, or in use */
		snprintf(err, errlen, "vm %s: cgroup %s: %s", vm->def.name, dir, strerror(errno));
		return -errno;
	}
	if (mkdir(dir, 0755) < 0) {
		snprintf(err, errlen, "vm %s: cgroup %s: %s", vm->def.name, dir, strerror(errno));
		return -errno;
	}
	snprintf(val, sizeof(val), "%llu",
		 ((unsigned long long)vm->def.memory_mib + VMMD_CGROUP_OVERHEAD_MIB) << 20);
	r = write_str(dir, "memory.max", val);
	if (r == 0) {
		snprintf(val, sizeof(val), "%u", vm->def.vcpus + VMMD_CGROUP_EXTRA_TASKS);
		r = write_str(dir, "pids.max", val);
	}
	if (r == 0) {
		snprintf(val, sizeof(val), "%u", vm->def.cpu_weight);
		r = write_str(dir, "cpu.weight", val);
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (r == 0 && (*procs_fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, errlen, "vm %s: cgroup %s: limits: %s", vm->def.name, dir, strerror(-r));
		rmdir(dir);
		return r;
	}
	return 0;
}

void vm_cgroup_remove(struct vmmd_vm *vm)
{
	const char *parent = parent_dir(vm->d);
	char dir[PATH_MAX];

	if (!*parent)
		return;
	group_dir(vm, parent, dir, sizeof(dir));
	if (rmdir(dir) < 0 && errno != ENOENT)
		log_warn("vm %s: removing cgroup %s: %s", vm->def.name, dir, strerror(errno));
}

/* machined.c: under systemd, each monitor registered with systemd-machined
 * as machine "vmm-NAME" of class vm (what libvirt does), which puts it in a
 * transient scope machine-vmm\x2dNAME.scope in machine.slice with the VM's
 * limits as scope properties (MemoryMax guest RAM + VMMD_CGROUP_OVERHEAD_MIB,
 * TasksMax vCPUs + VMMD_CGROUP_EXTRA_TASKS, CPUWeight the definition's
 * cpu_weight); vmmd's own cgroup (cgroup.c) is then not made. The prefix
 * keeps VMs apart from containers and other managers' machines of the same
 * name in machined's one namespace.
 *
 * The calls block vmmd's loop for a moment: machined answers CreateMachine
 * once systemd has started the scope (tens of ms), and a call is bounded by
 * MACHINED_TIMEOUT_USEC. A connection per call: VM starts are rare, and
 * nothing is left to watch on the bus. */
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/vm_internal.h"

#define MACHINED_DEST "org.freedesktop.machine1"
#define MACHINED_PATH "/org/freedesktop/machine1"
#define MACHINED_IFACE "org.freedesktop.machine1.Manager"
#define MACHINED_TIMEOUT_USEC (5 * 1000 * 1000ull)
#define MACHINE_PREFIX "vmm-"

static int bus_open(sd_bus **bus)
{
	int r = sd_bus_open_system(bus);

	if (r >= 0)
		sd_bus_set_method_call_timeout(*bus, MACHINED_TIMEOUT_USEC);
	return r;
}

/* machined's rule for names is a host name's: labels of letters, digits and
 * '-' split by single dots, 64 characters at most. */
static bool machine_name(const struct vmmd_vm *vm, char *out, size_t len)
{
	const char *n = vm->def.name;
	size_t l = strlen(n);

	if (strlen(MACHINE_PREFIX) + l > 64 || strchr(n, '_') || strstr(n, "..") || n[l - 1] == '.')
		return false;
	snprintf(out, len, MACHINE_PREFIX "%s", n);
	return true;
}

bool vm_machined_use(struct vmmd_vm *vm)
{
	static bool found, said;
	char name[80];
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	if (!vm->d->conf.machined || sd_booted() <= 0)
		return false;
	if (!machine_name(vm, name, sizeof(name))) {
		log_notice("vm %s: the name is not one systemd-machined takes (no '_', no '..', no "
			   "final '.', at most %zu characters): vmmd's own cgroup instead",
			   vm->def.name, 64 - strlen(MACHINE_PREFIX));
		return false;
	}
	if (found)
		return true;
	/* machined is bus-activated: a ping starts it where it is installed.
	 * Only a success is kept: machined may come up after vmmd. */
	r = bus_open(&bus);
	if (r >= 0)
		r = sd_bus_call_method(bus, MACHINED_DEST, MACHINED_PATH, "org.freedesktop.DBus.Peer",
				       "Ping", &e, NULL, "");
	if (r < 0) {
		if (!said)
			log_notice("systemd-machined not reachable on the system bus (%s): VMs in "
				   "vmmd's own cgroups", e.message ? e.message : strerror(-r));
		said = true;
		return false;
	}
	found = true;
	return true;
}

void vm_machined_nics(const int *tapfds, unsigned n, int *ifindex)
{
	for (unsigned i = 0; i < n; i++) {
		struct ifreq ifr = { 0 };

		ifindex[i] = ioctl(tapfds[i], TUNGETIFF, &ifr) == 0 ? (int)if_nametoindex(ifr.ifr_name)
								    : 0;
	}
}

int vm_machined_register(struct vmmd_vm *vm, const int *ifindex, unsigned n)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	char name[80], desc[128];
	int idx[VMDEF_NICS_MAX], r;
	unsigned ni = 0;

	if (!machine_name(vm, name, sizeof(name)))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (ifindex[i] > 0)
			idx[ni++] = ifindex[i];
	snprintf(desc, sizeof(desc), "vmm VM %s", vm->def.name);
	r = bus_open(&bus);
	/* The previous run's machine may still be going (its scope stops once
	 * systemd sees it empty): a few tries. */
	for (int tries = 0; r >= 0 && tries < 10; tries++) {
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

		sd_bus_error_free(&e);
		r = sd_bus_message_new_method_call(bus, &m, MACHINED_DEST, MACHINED_PATH,
						   MACHINED_IFACE, "CreateMachineWithNetwork");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", name);
		if (r >= 0)
			r = sd_bus_message_append_array(m, 'y', NULL, 0); /* no id */
		if (r >= 0)
			r = sd_bus_message_append(m, "ssus", "vmmd", "vm", (uint32_t)vm->pid, "");
		if (r >= 0)
			r = sd_bus_message_append_array(m, 'i', idx, ni * sizeof(int));
		if (r >= 0)
			r = sd_bus_message_append(
				m, "a(sv)", 5, "Slice", "s", "machine.slice", "Description", "s", desc,
				"MemoryMax", "t",
				((uint64_t)vm->def.memory_mib + VMMD_CGROUP_OVERHEAD_MIB) << 20,
				"TasksMax", "t", (uint64_t)(vm->def.vcpus + VMMD_CGROUP_EXTRA_TASKS),
				"CPUWeight", "t", (uint64_t)vm->def.cpu_weight);
		if (r >= 0)
			r = sd_bus_call(bus, m, 0, &e, NULL);
		if (r >= 0 || !sd_bus_error_has_name(&e, "org.freedesktop.machine1.MachineExists"))
			break;
		usleep(100 * 1000);
	}
	if (r < 0) {
		log_err("vm %s: registering machine %s with systemd-machined: %s; the VM runs in "
			"vmmd's cgroup without its limits", vm->def.name, name,
			e.message ? e.message : strerror(-r));
		return r;
	}
	vm->machine = true;
	log_info("vm %s: machine %s (systemd-machined), pid %d", vm->def.name, name, (int)vm->pid);
	return 0;
}

void vm_machined_adopted(struct vmmd_vm *vm)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;

	/* registered by the vmmd that started it: the scope stayed */
	vm->machine = vm_machined_use(vm) && bus_open(&bus) >= 0 &&
		      sd_bus_call_method(bus, MACHINED_DEST, MACHINED_PATH, MACHINED_IFACE,
					 "GetMachineByPID", NULL, NULL, "u", (uint32_t)vm->pid) >= 0;
}

void vm_machined_end(struct vmmd_vm *vm)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	char name[80];
	int r;

	if (!vm->machine)
		return;
	vm->machine = false;
	/* The scope would go by itself once empty; terminating now frees the
	 * name at once for the next start. Gone already: nothing to do. */
	if (!machine_name(vm, name, sizeof(name)))
		return;
	r = bus_open(&bus);
	if (r >= 0)
		r = sd_bus_call_method(bus, MACHINED_DEST, MACHINED_PATH, MACHINED_IFACE,
				       "TerminateMachine", &e, NULL, "s", name);
	if (r < 0 && !sd_bus_error_has_name(&e, "org.freedesktop.machine1.NoSuchMachine"))
		log_warn("vm %s: terminating machine %s: %s", vm->def.name, name,
			 e.message ? e.message : strerror(-r));
}

/* machined.c: under systemd, each monitor registered with systemd-machined
 * as machine "vmm-NAME" of class vm (what libvirt does), which puts it in a
 * transient scope machine-vmm\x2dNAME.scope in machine.slice with the VM's
 * limits as scope properties (MemoryMax guest RAM + VMMD_CGROUP_OVERHEAD_MIB,
 * TasksMax vCPUs + VMMD_CGROUP_EXTRA_TASKS, CPUWeight the definition's
 * cpu_weight); vmmd's own cgroup (cgroup.c) is then not made. The prefix
 * keeps VMs apart from containers and other managers' machines of the same
 * name in machined's one namespace.
 *
 * Registration runs on vmmd's loop, never blocking it: machined answers
 * CreateMachine only once systemd has started the scope, which takes tens
 * of milliseconds on hardware and seconds in a nested test host, longer than
 * a watchdog interval. A connection per registration, watched by libev until
 * the answer (or MACHINED_TIMEOUT_USEC); TerminateMachine is sent without
 * waiting for an answer. Whether machined exists is judged by its program
 * being installed (it is bus-activated), not by a call. */
#include <errno.h>
#include <ev.h>
#include <poll.h>
#include <stdlib.h>
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

	if (!vm->d->conf.machined || sd_booted() <= 0)
		return false;
	if (!machine_name(vm, name, sizeof(name))) {
		log_notice("vm %s: the name is not one systemd-machined takes (no '_', no '..', no "
			   "final '.', at most %zu characters): vmmd's own cgroup instead",
			   vm->def.name, 64 - strlen(MACHINE_PREFIX));
		return false;
	}
	if (!found)
		found = access("/usr/lib/systemd/systemd-machined", X_OK) == 0 ||
			access("/lib/systemd/systemd-machined", X_OK) == 0;
	if (!found && !said)
		log_notice("systemd-machined is not installed (package systemd-container): VMs in "
			   "vmmd's own cgroups");
	said = true;
	return found;
}

void vm_machined_nics(const int *tapfds, unsigned n, int *ifindex)
{
	for (unsigned i = 0; i < n; i++) {
		struct ifreq ifr = { 0 };

		ifindex[i] = ioctl(tapfds[i], TUNGETIFF, &ifr) == 0 ? (int)if_nametoindex(ifr.ifr_name)
								    : 0;
	}
}

/* One registration in flight. */
struct machined_reg {
	struct vmmd_vm *vm;
	pid_t pid;            /* the leader it is for */
	sd_bus *bus;
	sd_bus_slot *slot;
	ev_io io;
	ev_timer retry, deadline;
	unsigned tries;
	bool done;            /* answered: freed once sd_bus_process returns */
	int idx[VMDEF_NICS_MAX];
	unsigned ni;
	char name[80], desc[128];
};

static void reg_free(struct machined_reg *g)
{
	struct ev_loop *loop = g->vm->d->loop;

	ev_io_stop(loop, &g->io);
	ev_timer_stop(loop, &g->retry);
	ev_timer_stop(loop, &g->deadline);
	sd_bus_slot_unref(g->slot);
	sd_bus_flush_close_unref(g->bus);
	if (g->vm->machined_reg == g)
		g->vm->machined_reg = NULL;
	free(g);
}

/* The bus's fd watched for what sd-bus wants next. */
static void reg_watch(struct machined_reg *g)
{
	struct ev_loop *loop = g->vm->d->loop;
	int ev = sd_bus_get_events(g->bus);

	ev_io_stop(loop, &g->io);
	if (ev < 0)
		return;
	ev_io_set(&g->io, sd_bus_get_fd(g->bus),
		  ((ev & POLLIN) ? EV_READ : 0) | ((ev & POLLOUT) ? EV_WRITE : 0));
	ev_io_start(loop, &g->io);
}

static int reg_send(struct machined_reg *g);

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct machined_reg *g = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	struct vmmd_vm *vm = g->vm;

	(void)ret_error;
	g->slot = sd_bus_slot_unref(g->slot);
	if (vm->pid != g->pid) { /* that monitor ended meanwhile: its scope goes with it */
		g->done = true;
		return 0;
	}
	/* the previous run's machine may still be going (its scope stops once
	 * systemd sees it empty): a few tries */
	if (e && sd_bus_error_has_name(e, "org.freedesktop.machine1.MachineExists") &&
	    ++g->tries < 10) {
		ev_timer_start(vm->d->loop, &g->retry);
		return 0;
	}
	if (e) {
		log_err("vm %s: registering machine %s with systemd-machined: %s; the VM runs in "
			"vmmd's cgroup without its limits", vm->def.name, g->name, e->message);
	} else {
		vm->machine = true;
		log_info("vm %s: machine %s (systemd-machined), pid %d", vm->def.name, g->name,
			 (int)g->pid);
	}
	g->done = true;
	return 0;
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct machined_reg *g = w->data;

	(void)loop;
	(void)revents;
	while (!g->done && sd_bus_process(g->bus, NULL) > 0)
		;
	if (g->done)
		reg_free(g);
	else
		reg_watch(g);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct machined_reg *g = w->data;

	(void)loop;
	(void)revents;
	if (reg_send(g) < 0) {
		log_err("vm %s: registering machine %s with systemd-machined: cannot send",
			g->vm->def.name, g->name);
		reg_free(g);
	}
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct machined_reg *g = w->data;

	(void)loop;
	(void)revents;
	log_err("vm %s: systemd-machined did not answer in %llu s; the VM runs in vmmd's cgroup "
		"without its limits", g->vm->def.name, MACHINED_TIMEOUT_USEC / 1000000);
	reg_free(g);
}

static int reg_send(struct machined_reg *g)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	struct vmmd_vm *vm = g->vm;
	int r;

	r = sd_bus_message_new_method_call(g->bus, &m, MACHINED_DEST, MACHINED_PATH,
					   MACHINED_IFACE, "CreateMachineWithNetwork");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", g->name);
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', NULL, 0); /* no id */
	if (r >= 0)
		r = sd_bus_message_append(m, "ssus", "vmmd", "vm", (uint32_t)g->pid, "");
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'i', g->idx, g->ni * sizeof(int));
	if (r >= 0)
		r = sd_bus_message_append(
			m, "a(sv)", 5, "Slice", "s", "machine.slice", "Description", "s", g->desc,
			"MemoryMax", "t", ((uint64_t)vm->def.memory_mib + VMMD_CGROUP_OVERHEAD_MIB) << 20,
			"TasksMax", "t", (uint64_t)(vm->def.vcpus + VMMD_CGROUP_EXTRA_TASKS),
			"CPUWeight", "t", (uint64_t)vm->def.cpu_weight);
	if (r >= 0)
		r = sd_bus_call_async(g->bus, &g->slot, m, on_reply, g, MACHINED_TIMEOUT_USEC);
	if (r >= 0)
		reg_watch(g);
	return r;
}

int vm_machined_register(struct vmmd_vm *vm, const int *ifindex, unsigned n)
{
	struct machined_reg *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->vm = vm;
	g->pid = vm->pid;
	if (!machine_name(vm, g->name, sizeof(g->name))) {
		free(g);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++)
		if (ifindex[i] > 0)
			g->idx[g->ni++] = ifindex[i];
	snprintf(g->desc, sizeof(g->desc), "vmm VM %s", vm->def.name);
	ev_init(&g->io, on_io);
	ev_timer_init(&g->retry, on_retry, 0.1, 0);
	ev_timer_init(&g->deadline, on_deadline, MACHINED_TIMEOUT_USEC / 1e6 + 1, 0);
	g->io.data = g->retry.data = g->deadline.data = g;
	if (vm->machined_reg)
		reg_free(vm->machined_reg);
	vm->machined_reg = g;
	r = bus_open(&g->bus);
	if (r >= 0)
		r = reg_send(g);
	if (r < 0) {
		log_err("vm %s: registering machine %s with systemd-machined: %s; the VM runs in "
			"vmmd's cgroup without its limits", vm->def.name, g->name, strerror(-r));
		reg_free(g);
		return r;
	}
	ev_timer_start(vm->d->loop, &g->deadline);
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
	char name[80];
	int r;

	if (vm->machined_reg) /* its answer would be for a monitor that is gone */
		reg_free(vm->machined_reg);
	if (!vm->machine)
		return;
	vm->machine = false;
	/* The scope would go by itself once empty; terminating now frees the
	 * name at once for the next start. Sent, not waited for: an answer
	 * would only say the machine was gone already. */
	if (!machine_name(vm, name, sizeof(name)))
		return;
	r = bus_open(&bus);
	if (r >= 0)
		r = sd_bus_call_method_async(bus, NULL, MACHINED_DEST, MACHINED_PATH, MACHINED_IFACE,
					     "TerminateMachine", NULL, NULL, "s", name);
	if (r < 0)
		log_warn("vm %s: terminating machine %s: %s", vm->def.name, name, strerror(-r));
}

/* net.c: vmmd's networking through netbridge. The switches of the config are
 * created (or adopted: netbridge keeps its state pinned) when vmmd starts; a
 * VM's NICs become netbridge VM ports (persistent taps) at spawn, whose fds
 * the monitor inherits; the ports go when the monitor has ended. Counters come
 * from the switch (per port) and from the monitor (per device). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stddef.h>

#include "common/json_get.h"
#include "common/log.h"
#include "netbridge/netbridge.h"
#include "netbridge/netbridge_env.h"
#include "common/util.h"
#include "vmmd/vmmd.h"

#define NET_PORTS_MAX 32

static const struct vmmd_switch_conf *switch_conf(struct vmmd *d, const char *name)
{
	for (unsigned i = 0; i < d->conf.nr_switches; i++)
		if (!strcmp(d->conf.switches[i].name, name))
			return &d->conf.switches[i];
	return NULL;
}

static bool have_uplink_port(const struct nb_port_info *ports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ports[i].type == NB_PORT_TYPE_UPLINK)
			return true;
	return false;
}

/* The switch's VXLAN uplink as the config defines it. */
static int vxlan_setup(struct vmmd *d, const struct vmmd_switch_conf *sc)
{
	const struct vmmd_vxlan_conf *x = &sc->vxlan;
	struct nb_vxlan vx = { .vni = x->vni, .local = x->local, .nr_remotes = x->nr_remotes,
			       .group = x->group, .dev = x->dev, .port = x->port, .mtu = x->mtu };
	char dev[NB_IFNAME_MAX];
	int r;

	for (unsigned i = 0; i < x->nr_remotes; i++)
		vx.remotes[i] = x->remotes[i];
	r = nb_set_vxlan_uplink(d->nb, sc->name, x->name, &vx, dev);
	if (r < 0) {
		log_err("switch %s: vxlan uplink: %s", sc->name, nb_last_error());
		return r;
	}
	log_info("switch %s: vxlan uplink %s (VNI %u, %u remote(s)%s%s)", sc->name, dev, x->vni,
		 x->nr_remotes, x->group[0] ? ", group " : "", x->group);
	return 0;
}

/* Adopts what exists: a host port or uplink of a switch that survives a
 * restart is kept as it is (re-creating the host veth would drop the host's
 * addresses on it). */
static int switch_setup(struct vmmd *d, const struct vmmd_switch_conf *sc)
{
	struct nb_port_info ports[NET_PORTS_MAX];
	bool have_host = false, have_uplink = false;
	size_t n = 0;
	int r;

	r = nb_switch_create(d->nb, sc->name);
	if (r == -EEXIST) {
		if (nb_port_list(d->nb, sc->name, ports, NET_PORTS_MAX, &n) < 0)
			n = 0;
		for (size_t i = 0; i < MIN(n, (size_t)NET_PORTS_MAX); i++) {
			if (ports[i].type == NB_PORT_TYPE_HOST && sc->host_port[0] &&
			    if_nametoindex(sc->host_port))
				have_host = true;
			if (ports[i].type == NB_PORT_TYPE_UPLINK && !strcmp(ports[i].name, sc->uplink))
				have_uplink = true;
		}
		log_info("switch %s: adopted (%zu ports)", sc->name, n);
	} else if (r < 0) {
		log_err("switch %s: %s", sc->name, nb_last_error());
		return r;
	} else {
		log_info("switch %s: created", sc->name);
	}
	if (sc->vxlan.vni && !have_uplink_port(ports, MIN(n, (size_t)NET_PORTS_MAX))) {
		r = vxlan_setup(d, sc);
		if (r < 0)
			return r;
	}
	if (!have_uplink && sc->uplink[0]) {
		r = nb_set_uplink(d->nb, sc->name, sc->uplink);
		if (r < 0) {
			log_err("switch %s: uplink %s: %s", sc->name, sc->uplink, nb_last_error());
			return r;
		}
	}
	if (!have_host && sc->host_port[0]) {
		r = nb_set_host_port(d->nb, sc->name, sc->host_port, NULL);
		if (r < 0) {
			log_err("switch %s: host port %s: %s", sc->name, sc->host_port,
				nb_last_error());
			return r;
		}
	}
	return 0;
}

/* Learned (uplink-side) forwarding entries older than this are dropped, as a
 * Linux bridge's default ageing time; VM MACs are static and never age. */
#define NET_FDB_MAX_AGE_MS (300 * 1000)
#define NET_FDB_AGE_PERIOD_S 30.0

static void on_fdb_age(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vmmd *d = (struct vmmd *)((char *)w - offsetof(struct vmmd, fdb_age_w));
	int r;

	(void)loop;
	(void)revents;
	if (!d->nb)
		return;
	r = nb_fdb_age(d->nb, NET_FDB_MAX_AGE_MS);
	if (r < 0)
		log_warn("netbridge runtime %s: forwarding table ageing: %s", d->nb_runtime,
			 nb_last_error());
	else if (r > 0)
		log_debug("netbridge runtime %s: aged out %d learned MAC(s)", d->nb_runtime, r);
}

int net_open(struct vmmd *d)
{
	int r;

	snprintf(d->nb_runtime, sizeof(d->nb_runtime), "%s",
		 d->conf.netbridge_runtime ? d->conf.netbridge_runtime : "vmmd");
	if (!d->conf.nr_switches)
		return 0;
	/* the switch's attach knobs: the environment, as for nbctl */
	struct nb_options opts = nb_options_from_env();
	r = nb_open(d->nb_runtime, &opts, &d->nb);
	if (r < 0) {
		snprintf(d->nb_error, sizeof(d->nb_error), "netbridge runtime %s: %s", d->nb_runtime,
			 nb_last_error());
		log_err("%s; VMs with NICs cannot start", d->nb_error);
		d->nb = NULL;
		return r;
	}
	for (unsigned i = 0; i < d->conf.nr_switches; i++)
		if (switch_setup(d, &d->conf.switches[i]) < 0 && !d->nb_error[0])
			snprintf(d->nb_error, sizeof(d->nb_error), "switch %s: %s",
				 d->conf.switches[i].name, nb_last_error());
	log_info("netbridge runtime %s: %u switch(es), attach mode %s", d->nb_runtime,
		 d->conf.nr_switches, nb_attach_mode(d->nb));
	ev_timer_init(&d->fdb_age_w, on_fdb_age, NET_FDB_AGE_PERIOD_S, NET_FDB_AGE_PERIOD_S);
	ev_timer_start(d->loop, &d->fdb_age_w);
	return 0;
}

void net_close(struct vmmd *d, bool teardown)
{
	if (d->nb)
		ev_timer_stop(d->loop, &d->fdb_age_w);
	/* The VXLAN devices are vmmd's own: they go when no VM is left to use
	 * them. Taps and the host port stay, as ever (the next vmmd adopts them). */
	for (unsigned i = 0; d->nb && teardown && i < d->conf.nr_switches; i++) {
		const struct vmmd_switch_conf *sc = &d->conf.switches[i];

		if (!sc->vxlan.vni)
			continue;
		if (nb_set_uplink(d->nb, sc->name, NULL) < 0)
			log_warn("switch %s: removing the vxlan uplink: %s", sc->name, nb_last_error());
		else
			log_info("switch %s: vxlan uplink removed", sc->name);
	}
	nb_close(d->nb); /* the datapath, taps and counters stay */
	d->nb = NULL;
}

/* "vmm-NAME-I" when it fits in an interface name, else "vmm-" + 8 hex digits
 * of a hash of the name + "-I". */
void net_port_name(const struct vmmd_vm *vm, unsigned i, char out[16])
{
	uint32_t h = 2166136261u;

	if (strlen(vm->def.name) + 6 <= 15 && !strchr(vm->def.name, '.')) {
		snprintf(out, 16, "vmm-%s-%u", vm->def.name, i);
		return;
	}
	for (const char *s = vm->def.name; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	snprintf(out, 16, "vmm-%08x-%u", h, i);
}

static void rate_to_nb(const struct vmdef_rate *r, struct nb_rate *o)
{
	o->bits_per_s = r->bits_per_s;
	o->pkts_per_s = r->pkts_per_s;
	o->burst_bytes = r->burst_bytes;
	o->burst_pkts = r->burst_pkts;
}

static int port_limit(struct vmmd *d, const char *port, const struct vmdef_limit *l)
{
	struct nb_port_limit nl;

	rate_to_nb(&l->tx, &nl.tx);
	rate_to_nb(&l->rx, &nl.rx);
	return nb_port_set_limit(d->nb, port, &nl);
}

int net_ports_add(struct vmmd_vm *vm, int *fds, char *err, size_t errlen)
{
	struct vmmd *d = vm->d;

	for (unsigned i = 0; i < vm->def.nr_nics; i++)
		fds[i] = -1;
	if (!vm->def.nr_nics)
		return 0;
	if (!d->nb) {
		snprintf(err, errlen, "vm %s: networking is unavailable: %s", vm->def.name,
			 d->nb_error[0] ? d->nb_error : "no switches in the config");
		return -ENODEV;
	}
	for (unsigned i = 0; i < vm->def.nr_nics; i++) {
		const struct vmdef_nic *nic = &vm->def.nics[i];
		char port[16];
		int r;

		if (!switch_conf(d, nic->sw)) {
			snprintf(err, errlen, "vm %s: nics[%u].switch: no switch named '%s' in the "
				 "config", vm->def.name, i, nic->sw);
			r = -ENOENT;
			goto fail;
		}
		net_port_name(vm, i, port);
		nb_port_remove(d->nb, port); /* left over by a crash */
		r = nb_port_add_vm(d->nb, nic->sw, port, nic->mac, NULL, &fds[i]);
		if (r < 0) {
			snprintf(err, errlen, "vm %s: nics[%u]: %s", vm->def.name, i, nb_last_error());
			goto fail;
		}
		log_info("vm %s: nic %u: port %s on switch %s", vm->def.name, i, port, nic->sw);
		r = port_limit(d, port, &nic->limit);
		if (r < 0) {
			snprintf(err, errlen, "vm %s: nics[%u].limit: %s", vm->def.name, i,
				 nb_last_error());
			goto fail;
		}
		continue;
fail:
		for (unsigned j = 0; j <= i; j++)
			if (fds[j] >= 0) {
				close(fds[j]);
				fds[j] = -1;
			}
		net_ports_remove(vm);
		return r;
	}
	return 0;
}

void net_ports_remove(struct vmmd_vm *vm)
{
	struct vmmd *d = vm->d;

	if (!d->nb)
		return;
	for (unsigned i = 0; i < vm->def.nr_nics; i++) {
		char port[16];
		int r;

		net_port_name(vm, i, port);
		r = nb_port_remove(d->nb, port);
		if (r == 0)
			log_info("vm %s: nic %u: port %s removed", vm->def.name, i, port);
		else if (r != -ENOENT && r != -ENODEV)
			log_warn("vm %s: nic %u: removing port %s: %s", vm->def.name, i, port,
				 nb_last_error());
	}
}

static struct json_object *port_counters(const struct nb_port_stats *st)
{
	struct json_object *o = json_object_new_object(), *dr = json_object_new_object();

	json_object_object_add(o, "rx_frames", json_object_new_uint64(st->rx_frames));
	json_object_object_add(o, "rx_bytes", json_object_new_uint64(st->rx_bytes));
	json_object_object_add(o, "tx_frames", json_object_new_uint64(st->tx_frames));
	json_object_object_add(o, "tx_bytes", json_object_new_uint64(st->tx_bytes));
	for (int k = 0; k < NB_DROP_STAT_COUNT; k++)
		json_object_object_add(dr, nb_drop_name((enum nb_drop)k),
				       json_object_new_uint64(st->drops[k]));
	json_object_object_add(o, "drops", dr);
	json_object_object_add(o, "rx_delayed", json_object_new_uint64(st->rx_delayed));
	return o;
}

struct json_object *net_vm_nics(struct vmmd_vm *vm, struct json_object *dev_nics)
{
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < vm->def.nr_nics; i++) {
		const struct vmdef_nic *nic = &vm->def.nics[i];
		struct json_object *o = json_object_new_object(), *dev = NULL;
		struct nb_port_stats st;
		char port[16], mac[18];
		uint64_t frames;

		net_port_name(vm, i, port);
		vmdef_mac_format(nic->mac, mac);
		json_object_object_add(o, "index", json_object_new_int((int)i));
		json_object_object_add(o, "model", json_object_new_string(nic->model));
		json_object_object_add(o, "mac", json_object_new_string(mac));
		json_object_object_add(o, "switch", json_object_new_string(nic->sw));
		json_object_object_add(o, "port", json_object_new_string(port));
		json_object_object_add(o, "limit", vmdef_limit_to_json(&nic->limit));
		if (vm->d->nb && nb_port_stats(vm->d->nb, port, &st) == 0)
			json_object_object_add(o, "switch_port", port_counters(&st));
		else
			json_object_object_add(o, "switch_port", NULL);
		if (dev_nics && json_object_is_type(dev_nics, json_type_array) &&
		    i < json_object_array_length(dev_nics))
			dev = json_object_get(json_object_array_get_idx(dev_nics, i));
		frames = json_get_u64(dev, "tx", "frames") + json_get_u64(dev, "rx", "frames");
		json_object_object_add(o, "exits_per_frame",
				       dev && frames ? json_object_new_double(
							       (double)json_get_u64(dev, "exits", "total") /
							       (double)frames) : NULL);
		json_object_object_add(o, "interrupts_per_frame",
				       dev && frames ? json_object_new_double(
							       (double)json_get_u64(dev, "interrupts", NULL) /
							       (double)frames) : NULL);
		json_object_object_add(o, "device", dev);
		json_object_array_add(a, o);
	}
	return a;
}

static const char *port_type_name(enum nb_port_type t)
{
	return t == NB_PORT_TYPE_VM ? "vm" : t == NB_PORT_TYPE_UPLINK ? "uplink" : "host";
}

/* The VM and NIC index owning a VM port, if any. */
static struct vmmd_vm *port_owner(struct vmmd *d, const char *port, unsigned *idx)
{
	for (struct vmmd_vm *vm = d->vms; vm; vm = vm->next)
		for (unsigned i = 0; i < vm->def.nr_nics; i++) {
			char p[16];
			net_port_name(vm, i, p);
			if (!strcmp(p, port)) {
				*idx = i;
				return vm;
			}
		}
	return NULL;
}

static struct json_object *vxlan_json(const struct vmmd_vxlan_conf *x)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "vni", json_object_new_int64(x->vni));
	json_object_object_add(o, "local", json_object_new_string(x->local));
	for (unsigned i = 0; i < x->nr_remotes; i++)
		json_object_array_add(a, json_object_new_string(x->remotes[i]));
	json_object_object_add(o, "remote", a);
	json_object_object_add(o, "group", x->group[0] ? json_object_new_string(x->group) : NULL);
	json_object_object_add(o, "port", json_object_new_int(x->port ?: NB_VXLAN_PORT_DEFAULT));
	json_object_object_add(o, "mtu", json_object_new_int64(x->mtu ?: NB_VXLAN_MTU_DEFAULT));
	return o;
}

static struct json_object *switch_json(struct vmmd *d, const char *name, bool stats)
{
	const struct vmmd_switch_conf *sc = switch_conf(d, name);
	struct nb_port_info ports[NET_PORTS_MAX];
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t n = 0;

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "configured", json_object_new_boolean(sc != NULL));
	json_object_object_add(o, "uplink", sc && sc->uplink[0] ?
					    json_object_new_string(sc->uplink) : NULL);
	json_object_object_add(o, "vxlan", sc && sc->vxlan.vni ? vxlan_json(&sc->vxlan) : NULL);
	json_object_object_add(o, "host_port", sc && sc->host_port[0] ?
					       json_object_new_string(sc->host_port) : NULL);
	if (nb_port_list(d->nb, name, ports, NET_PORTS_MAX, &n) < 0)
		n = 0;
	for (size_t i = 0; i < MIN(n, (size_t)NET_PORTS_MAX); i++) {
		struct json_object *p = json_object_new_object();
		struct nb_port_stats st;
		unsigned idx = 0;
		struct vmmd_vm *vm = ports[i].type == NB_PORT_TYPE_VM ?
					port_owner(d, ports[i].name, &idx) : NULL;
		char mac[18];

		json_object_object_add(p, "port", json_object_new_string(ports[i].name));
		json_object_object_add(p, "type",
				       json_object_new_string(port_type_name(ports[i].type)));
		if (ports[i].type != NB_PORT_TYPE_UPLINK) {
			nb_format_mac(ports[i].mac, mac);
			json_object_object_add(p, "mac", json_object_new_string(mac));
		}
		json_object_object_add(p, "attach", ports[i].attach ?
						    json_object_new_string(ports[i].attach) : NULL);
		json_object_object_add(p, "vm", vm ? json_object_new_string(vm->def.name) : NULL);
		json_object_object_add(p, "nic", vm ? json_object_new_int((int)idx) : NULL);
		if (stats && nb_port_stats(d->nb, ports[i].name, &st) == 0) {
			struct json_object *c = port_counters(&st);
			json_object_object_foreach(c, k, v)
				json_object_object_add(p, k, json_object_get(v));
			json_object_put(c);
		}
		json_object_array_add(a, p);
	}
	json_object_object_add(o, "ports", a);
	return o;
}

struct json_object *net_switch_list(struct vmmd *d, struct json_object *req, const char *name,
				    bool stats)
{
	char names[64][32];
	size_t n = 0;
	struct json_object *a = json_object_new_array(), *o;
	bool found = false;

	if (d->nb && nb_switch_list(d->nb, names, 64, &n) < 0) {
		json_object_put(a);
		return jsonl_error(req, VMMD_E_NETWORK, "%s", nb_last_error());
	}
	for (size_t i = 0; i < MIN(n, (size_t)64); i++) {
		if (name && strcmp(name, names[i]))
			continue;
		found = true;
		json_object_array_add(a, switch_json(d, names[i], stats));
	}
	if (name && !found) {
		json_object_put(a);
		return jsonl_error(req, VMMD_E_NOT_FOUND, "no switch named '%.40s'%s%s", name,
				   d->nb ? "" : ": ", d->nb ? "" :
				   (d->nb_error[0] ? d->nb_error : "no switches in the config"));
	}
	o = json_object_new_object();
	json_object_object_add(o, "runtime", json_object_new_string(d->nb_runtime));
	json_object_object_add(o, "attach", json_object_new_string(d->nb ? nb_attach_mode(d->nb) :
							   "none"));
	json_object_object_add(o, "switches", a);
	return jsonl_result(req, o);
}

struct json_object *net_set_limit(struct vmmd_vm *vm, struct json_object *req,
				  struct json_object *params)
{
	struct vmdef_limit l;
	struct vmdef_error err = { 0 };
	struct json_object *v, *lim, *o;
	int64_t i;
	char port[16];
	int r;

	if (!json_object_object_get_ex(params, "nic", &v) || !json_object_is_type(v, json_type_int) ||
	    (i = json_object_get_int64(v)) < 0 || i >= (int64_t)vm->def.nr_nics)
		return jsonl_error(req, JSONL_E_PARAMS, "nic: must be the index of a NIC of vm %s "
				   "(0..%d)", vm->def.name, (int)vm->def.nr_nics - 1);
	if (!json_object_object_get_ex(params, "limit", &lim))
		return jsonl_error(req, JSONL_E_PARAMS, "limit: missing ({\"tx\": RATE|null, "
				   "\"rx\": RATE|null} or null)");
	l = vm->def.nics[i].limit;
	if (vmdef_limit_from_json(lim, "limit", &l, &err) < 0)
		return jsonl_error(req, JSONL_E_PARAMS, "%s", err.message);
	net_port_name(vm, (unsigned)i, port);
	/* live first: a limit the switch refuses is not stored either */
	if (vm->d->nb && if_nametoindex(port)) {
		r = port_limit(vm->d, port, &l);
		if (r < 0)
			return jsonl_error(req, VMMD_E_NETWORK, "vm %s: nic %d: %s", vm->def.name,
					   (int)i, nb_last_error());
	}
	vm->def.nics[i].limit = l;
	r = vm_def_save(vm);
	if (r < 0)
		return jsonl_error(req, VMMD_E_STORAGE, "vm %s: nic %d: the limit is in force but "
				   "could not be stored: %s", vm->def.name, (int)i, strerror(-r));
	log_info("vm %s: nic %d: limit set", vm->def.name, (int)i);
	o = json_object_new_object();
	json_object_object_add(o, "nic", json_object_new_int((int)i));
	json_object_object_add(o, "limit", vmdef_limit_to_json(&l));
	return jsonl_result(req, o);
}

/* nb_switch.c: switches (a row of the switch table, its flood slots and
 * forwarding entries) and their two special ports: the uplink and the host
 * port. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netbridge/nb_internal.h"
#include "common/util.h"


int nb_switch_find(struct nb *nb, const char *name, __u32 *id, struct nb_switch *sw)
{
	for (__u32 i = 0; i < NB_MAX_SWITCHES; i++) {
		if (bpf_map_lookup_elem(nb->fd_switches, &i, sw) < 0)
			return nb_fail(-errno, "switch %s: read switch table", name);
		if (sw->in_use && !strncmp(sw->name, name, sizeof(sw->name))) {
			*id = i;
			return 0;
		}
	}
	return nb_fail(-ENOENT, "switch %s", name);
}

int nb_switch_create(struct nb *nb, const char *name)
{
	struct nb_switch sw;
	__u32 id, free_id = NB_MAX_SWITCHES;

	if (nb_valid_name(name, NB_SWITCH_NAME_MAX) < 0)
		return nb_fail(-EINVAL, "switch \"%s\": invalid name (1..31 of [A-Za-z0-9_.-])",
			       name ?: "");
	for (id = 0; id < NB_MAX_SWITCHES; id++) {
		if (bpf_map_lookup_elem(nb->fd_switches, &id, &sw) < 0)
			return nb_fail(-errno, "switch %s: read switch table", name);
		if (sw.in_use && !strncmp(sw.name, name, sizeof(sw.name)))
			return nb_fail(-EEXIST, "switch %s: create", name);
		if (!sw.in_use && free_id == NB_MAX_SWITCHES)
			free_id = id;
	}
	if (free_id == NB_MAX_SWITCHES)
		return nb_fail(-ENOSPC, "switch %s: create (all %d switches in use)", name,
			       NB_MAX_SWITCHES);
	memset(&sw, 0, sizeof(sw));
	snprintf(sw.name, sizeof(sw.name), "%s", name);
	sw.in_use = 1;
	if (bpf_map_update_elem(nb->fd_switches, &free_id, &sw, BPF_ANY) < 0)
		return nb_fail(-errno, "switch %s: write switch table", name);
	return 0;
}

int nb_switch_set_flood_limit(struct nb *nb, const char *name, uint32_t frames_per_s)
{
	struct nb_switch sw;
	__u32 id;
	int r = nb_switch_find(nb, name, &id, &sw);

	if (r < 0)
		return r;
	sw.flood_limit = frames_per_s;
	if (bpf_map_update_elem(nb->fd_switches, &id, &sw, BPF_ANY) < 0)
		return nb_fail(-errno, "switch %s: write switch table", name);
	return 0;
}

int nb_switch_list(struct nb *nb, char (*names)[32], size_t max, size_t *n)
{
	struct nb_switch sw;

	*n = 0;
	for (__u32 i = 0; i < NB_MAX_SWITCHES; i++) {
		if (bpf_map_lookup_elem(nb->fd_switches, &i, &sw) < 0)
			return nb_fail(-errno, "read switch table");
		if (!sw.in_use)
			continue;
		if (*n < max)
			snprintf(names[*n], 32, "%.31s", sw.name);
		(*n)++;
	}
	return 0;
}

/* Takes the switch's current uplink out (deleting it if netbridge made it). */
static int uplink_remove(struct nb *nb, struct nb_switch *swr)
{
	struct nb_port p;
	int r;

	if (swr->uplink_ifindex && bpf_map_lookup_elem(nb->fd_ports, &swr->uplink_ifindex, &p) == 0) {
		r = nb_port_delete(nb, swr->uplink_ifindex, &p);
		if (r < 0)
			return r;
	}
	swr->uplink_ifindex = 0;
	return 0;
}

/* Plugs ps as switch id's uplink and records it in the switch table. */
static int uplink_plug(struct nb *nb, struct nb_switch *swr, const struct nb_port_spec *ps)
{
	int r = nb_port_plug(nb, ps);

	if (r < 0)
		return r;
	swr->uplink_ifindex = (__u32)ps->ifindex;
	if (bpf_map_update_elem(nb->fd_switches, &ps->switch_id, swr, BPF_ANY) < 0)
		return nb_fail(-errno, "switch %s: write switch table", ps->sw_name);
	return 0;
}

int nb_set_uplink(struct nb *nb, const char *sw, const char *ifname)
{
	struct nb_port_spec ps = { .sw_name = sw, .name = ifname, .kind = NB_PORT_UPLINK };
	struct nb_switch swr;
	int r = nb_switch_find(nb, sw, &ps.switch_id, &swr);

	if (r == 0)
		r = uplink_remove(nb, &swr);
	if (r < 0 || !ifname || !*ifname)
		return r;
	ps.ifindex = (int)if_nametoindex(ifname);
	if (!ps.ifindex)
		return nb_fail(-ENODEV, "switch %s: uplink %s: no such interface", sw, ifname);
	return uplink_plug(nb, &swr, &ps);
}

/* The name of a device netbridge makes for a switch (prefix "nbh": the
 * switch side of the host veth, "nbx": a VXLAN uplink): prefix + 8 hex
 * digits of a hash of runtime/switch, unique per netns for distinct runtimes
 * and switches. */
static void switch_dev_name(const struct nb *nb, const char *sw, const char *prefix,
			    char out[NB_IFNAME_MAX])
{
	uint32_t h = 2166136261u;

	for (const char *s = nb->runtime; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *s = sw; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	snprintf(out, NB_IFNAME_MAX, "%s%08x", prefix, h);
}

int nb_set_host_port(struct nb *nb, const char *sw, const char *host_ifname, char *port_out)
{
	struct nb_port_spec ps = { .sw_name = sw, .kind = NB_PORT_HOST };
	char side[NB_IFNAME_MAX];
	struct nb_switch swr;
	struct nb_port p;
	int r = nb_switch_find(nb, sw, &ps.switch_id, &swr);

	if (r < 0)
		return r;
	if (swr.host_ifindex && bpf_map_lookup_elem(nb->fd_ports, &swr.host_ifindex, &p) == 0) {
		r = nb_port_delete(nb, swr.host_ifindex, &p);
		if (r < 0)
			return r;
		swr.host_ifindex = 0;
	}
	if (!host_ifname || !*host_ifname)
		return 0;
	if (nb_valid_name(host_ifname, NB_IFNAME_MAX) < 0)
		return nb_fail(-EINVAL, "switch %s: host port \"%s\": invalid interface name", sw,
			       host_ifname);
	switch_dev_name(nb, sw, "nbh", side);
	ps.name = side;
	r = nb_veth_create(side, host_ifname);
	if (r < 0)
		return r;
	ps.ifindex = (int)if_nametoindex(side);
	r = ps.ifindex ? 0 : nb_fail(-errno, "host port %s: find %s", host_ifname, side);
	if (r == 0)
		r = nb_link_mac(host_ifname, ps.mac);
	if (r == 0)
		r = nb_ipv6_disable(side);
	if (r == 0)
		r = nb_link_set_up(side);
	if (r == 0)
		r = nb_link_set_up(host_ifname);
	if (r == 0)
		r = nb_port_plug(nb, &ps);
	if (r < 0) {
		if (ps.ifindex)
			nb_link_delete(ps.ifindex);
		return r;
	}
	swr.host_ifindex = (__u32)ps.ifindex;
	if (bpf_map_update_elem(nb->fd_switches, &ps.switch_id, &swr, BPF_ANY) < 0)
		return nb_fail(-errno, "switch %s: write switch table", sw);
	if (port_out)
		snprintf(port_out, NB_IFNAME_MAX, "%s", side);
	return 0;
}

int nb_set_vxlan_uplink(struct nb *nb, const char *sw, const char *ifname,
			const struct nb_vxlan *vx, char *ifname_out)
{
	struct nb_port_spec ps = { .sw_name = sw, .kind = NB_PORT_UPLINK, .own_dev = true };
	char name[NB_IFNAME_MAX];
	struct nb_switch swr;
	int r = nb_switch_find(nb, sw, &ps.switch_id, &swr);

	if (r < 0)
		return r;
	if (ifname && *ifname) {
		if (nb_valid_name(ifname, NB_IFNAME_MAX) < 0)
			return nb_fail(-EINVAL, "switch %s: vxlan \"%s\": invalid interface name", sw,
				       ifname);
		snprintf(name, sizeof(name), "%s", ifname);
	} else {
		switch_dev_name(nb, sw, "nbx", name);
	}
	if (if_nametoindex(name))
		return nb_fail(-EEXIST, "switch %s: vxlan %s: interface exists", sw, name);
	r = uplink_remove(nb, &swr);
	if (r < 0)
		return r;
	ps.name = name;
	ps.ifindex = nb_vxlan_create(name, vx);
	if (ps.ifindex < 0)
		return ps.ifindex;
	r = nb_ipv6_disable(name);
	if (r == 0)
		r = nb_link_set_up(name);
	if (r == 0)
		r = uplink_plug(nb, &swr, &ps);
	if (r < 0) {
		nb_link_delete(ps.ifindex);
		return r;
	}
	if (ifname_out)
		snprintf(ifname_out, NB_IFNAME_MAX, "%s", name);
	return 0;
}

int nb_switch_destroy(struct nb *nb, const char *name)
{
	struct nb_switch sw;
	__u32 id;
	int r = nb_switch_find(nb, name, &id, &sw), first = 0;

	if (r < 0)
		return r;
	for (__u32 s = 0; s < NB_MAX_PORTS; s++) {
		__u32 idx = id * NB_MAX_PORTS + s;
		struct nb_slot slot;
		struct nb_port p;

		if (bpf_map_lookup_elem(nb->fd_slots, &idx, &slot) < 0 || !slot.ifindex)
			continue;
		if (bpf_map_lookup_elem(nb->fd_ports, &slot.ifindex, &p) == 0) {
			r = nb_port_delete(nb, slot.ifindex, &p);
		} else {
			struct nb_slot empty = { 0 };

			r = bpf_map_update_elem(nb->fd_slots, &idx, &empty, BPF_ANY) < 0 ? -errno : 0;
		}
		if (r < 0 && !first)
			first = r;
	}
	nb_fdb_flush(nb, id, 0);
	memset(&sw, 0, sizeof(sw));
	if (bpf_map_update_elem(nb->fd_switches, &id, &sw, BPF_ANY) < 0 && !first)
		first = nb_fail(-errno, "switch %s: write switch table", name);
	return first;
}


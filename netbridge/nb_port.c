/* nb_port.c: ports: putting an interface into the datapath (record, programs,
 * devmap entry, forwarding entry, flood slot) and taking it out; VM taps;
 * re-attaching every recorded port after a control-plane restart. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>

#include "common/log.h"
#include "netbridge.skel.h"
#include "netbridge/nb_internal.h"
#include "common/util.h"


/* A fresh slot: its counters zeroed, no limit (a receive limit paced if
 * paced). */
static void zero_stats(struct nb *nb, __u32 idx, bool paced)
{
	size_t len = (size_t)nb->ncpus * sizeof(struct nb_counters);
	void *zeros = calloc(1, len);

	if (zeros) {
		bpf_map_update_elem(nb->fd_stats, &idx, zeros, BPF_ANY);
		free(zeros);
	}
	nb_limit_reset(nb, idx, paced);
}

static void fdb_key(__u32 switch_id, const uint8_t mac[6], struct nb_fdb_key *k)
{
	memset(k, 0, sizeof(*k));
	k->switch_id = switch_id;
	memcpy(k->mac, mac, 6);
}

/* Deletes the entries of switch_id, all of them (ifindex 0) or those that
 * point to ifindex. Returns how many. */
int nb_fdb_flush(struct nb *nb, __u32 switch_id, __u32 ifindex)
{
	struct nb_fdb_key key, next, *prev = NULL;
	struct nb_fdb_val val;
	int removed = 0;

	/* Deleting while iterating restarts the walk from the last kept key,
	 * which get_next_key tolerates (a deleted key restarts from the top). */
	while (bpf_map_get_next_key(nb->fd_fdb, prev, &next) == 0) {
		if (bpf_map_lookup_elem(nb->fd_fdb, &next, &val) == 0 &&
		    next.switch_id == switch_id && (!ifindex || val.ifindex == ifindex)) {
			bpf_map_delete_elem(nb->fd_fdb, &next);
			removed++;
			continue; /* prev unchanged: the walk goes on after it */
		}
		key = next;
		prev = &key;
	}
	return removed;
}

/* Removes a port from the datapath: out of the flood list and the FDB first
 * (no new frames go to it), then programs, record and counters. Deleting its
 * device is the caller's. Idempotent. */
static int port_unplug(struct nb *nb, __u32 ifindex, const struct nb_port *p)
{
	__u32 idx = p->switch_id * NB_MAX_PORTS + p->slot;
	struct nb_slot empty = { 0 };
	struct nb_switch sw;
	int r;

	bpf_map_update_elem(nb->fd_slots, &idx, &empty, BPF_ANY);
	nb_fdb_flush(nb, p->switch_id, ifindex);
	if (p->attach & NB_ATTACH_XDP_DRV)
		r = nb_detach(nb, (int)ifindex, NB_DIR_XDP, p->attach);
	else
		r = 0;
	r = nb_detach(nb, (int)ifindex, NB_DIR_INGRESS, p->attach) ?: r;
	if (p->kind != NB_PORT_UPLINK && (p->attach & NB_ATTACH_MODE_MASK) != NB_ATTACH_XDP_SKB) {
		int r2 = nb_detach(nb, (int)ifindex, NB_DIR_EGRESS, p->attach);

		r = r ?: r2;
	}
	bpf_map_delete_elem(nb->fd_xdp_tx, &ifindex);
	bpf_map_delete_elem(nb->fd_ports, &ifindex);
	zero_stats(nb, idx, false);
	if (bpf_map_lookup_elem(nb->fd_switches, &p->switch_id, &sw) == 0) {
		if (sw.uplink_ifindex == ifindex)
			sw.uplink_ifindex = 0;
		if (sw.host_ifindex == ifindex)
			sw.host_ifindex = 0;
		bpf_map_update_elem(nb->fd_switches, &p->switch_id, &sw, BPF_ANY);
	}
	return r;
}

static int prog_fd_for(const struct nb *nb, int kind, int dir)
{
	if (kind == NB_PORT_UPLINK)
		return bpf_program__fd(dir == NB_DIR_XDP ? nb->skel->progs.nb_uplink_xdp
							 : nb->skel->progs.nb_uplink_ingress);
	if (dir == NB_DIR_XDP)
		return bpf_program__fd(nb->skel->progs.nb_port_xdp);
	return bpf_program__fd(dir == NB_DIR_EGRESS ? nb->skel->progs.nb_port_egress
						    : nb->skel->progs.nb_port_ingress);
}

/* The port as a target of XDP redirects, with this process's egress program. */
static int devmap_add(struct nb *nb, __u32 ifindex, const char *name)
{
	struct bpf_devmap_val v = { .ifindex = ifindex };

	v.bpf_prog.fd = bpf_program__fd(nb->skel->progs.nb_xdp_egress);
	if (bpf_map_update_elem(nb->fd_xdp_tx, &ifindex, &v, BPF_ANY) < 0)
		return nb_fail(-errno, "port %s: write XDP devmap", name);
	return 0;
}

/* Restart: the ports recorded in the pinned maps are re-attached to this
 * process's programs (a tcx link is updated in place, atomically; a clsact
 * filter replaced), so that the datapath always runs the code of the last
 * control plane, with the same maps and counters. A missing link is
 * recreated; a port whose interface disappeared while no control plane ran
 * (tap deleted by hand) is removed from the tables. */
int nb_ports_adopt(struct nb *nb)
{
	__u32 keys[NB_MAX_SWITCHES * NB_MAX_PORTS], *prev = NULL, next;
	size_t n = 0;

	while (n < ARRAY_SIZE(keys) && bpf_map_get_next_key(nb->fd_ports, prev, &next) == 0) {
		keys[n] = next;
		prev = &keys[n++];
	}
	for (size_t i = 0; i < n; i++) {
		char ifname[IF_NAMESIZE];
		struct nb_port p;
		int ndirs, mode, r;

		if (bpf_map_lookup_elem(nb->fd_ports, &keys[i], &p) < 0)
			continue;
		if (!if_indextoname(keys[i], ifname)) {
			log_info("netbridge %s: interface #%u of switch #%u is gone, removing its port",
				 nb->runtime, keys[i], p.switch_id);
			port_unplug(nb, keys[i], &p);
			continue;
		}
		r = devmap_add(nb, keys[i], ifname);
		if (r < 0)
			return r;
		mode = p.attach & NB_ATTACH_MODE_MASK;
		ndirs = p.kind == NB_PORT_UPLINK ? 1 : 2;
		if (mode == NB_ATTACH_XDP_SKB)
			ndirs = 1;
		for (int d = 0; d < ndirs + !!(p.attach & NB_ATTACH_XDP_DRV); d++) {
			int dir = d == ndirs ? NB_DIR_XDP : d;
			int prog_fd, got = 0;

			if (mode == NB_ATTACH_XDP_SKB)
				dir = NB_DIR_XDP;
			prog_fd = prog_fd_for(nb, p.kind, dir);
			if (mode == NB_ATTACH_TCX || dir == NB_DIR_XDP) {
				char path[300];
				int fd;

				nb_link_pin_path(nb, (int)keys[i], dir, path, sizeof(path));
				fd = bpf_obj_get(path);
				if (fd >= 0) {
					r = bpf_link_update(fd, prog_fd, NULL) < 0 ? -errno : 0;
					close(fd);
					if (r < 0)
						return nb_fail(r, "port %s: update pinned link %s",
							       ifname, path);
					continue;
				}
			}
			/* clsact: replace the filter; a link without a pin: attach anew */
			if (dir == NB_DIR_XDP && p.kind == NB_PORT_UPLINK) {
				r = nb_attach_xdp(nb, (int)keys[i], prog_fd, XDP_FLAGS_DRV_MODE);
				if (r < 0)
					return nb_fail(r, "port %s: attach native xdp link", ifname);
				continue;
			}
			r = nb_attach(nb, (int)keys[i], dir, prog_fd, prog_fd, mode, &got);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* fq on a VM tap or host port, for its receive limit's pacing; without
 * sch_fq in this kernel, receive limits only police (said once). */
static bool port_fq(struct nb *nb, const struct nb_port_spec *ps)
{
	int r = nb_qdisc_fq(ps->name, ps->ifindex);

	if (r == 0)
		return true;
	if (!nb->fq_missing_said)
		log_info("netbridge %s: %s; receive limits drop instead of pacing", nb->runtime,
			 nb_last_error());
	nb->fq_missing_said = true;
	return false;
}

/* Puts an existing interface into the datapath. */
int nb_port_plug(struct nb *nb, const struct nb_port_spec *ps)
{
	__u32 ifindex = (__u32)ps->ifindex, base = ps->switch_id * NB_MAX_PORTS, idx = 0;
	struct nb_port p = { 0 }, old;
	struct nb_slot slot;
	struct nb_fdb_key key;
	struct nb_fdb_val fv = { 0 };
	int mode = 0, r;

	if (bpf_map_lookup_elem(nb->fd_ports, &ifindex, &old) == 0)
		return nb_fail(-EEXIST, "port %s: already a port of this runtime", ps->name);
	if (ps->kind != NB_PORT_UPLINK) {
		fdb_key(ps->switch_id, ps->mac, &key);
		if (bpf_map_lookup_elem(nb->fd_fdb, &key, &fv) == 0 && (fv.flags & NB_FDB_STATIC)) {
			char m[18];

			nb_format_mac(ps->mac, m);
			return nb_fail(-EEXIST, "port %s: MAC %s already on switch %s", ps->name, m,
				       ps->sw_name);
		}
	}
	for (p.slot = 0; p.slot < NB_MAX_PORTS; p.slot++) {
		idx = base + p.slot;
		if (bpf_map_lookup_elem(nb->fd_slots, &idx, &slot) < 0)
			return nb_fail(-errno, "port %s: read slot table", ps->name);
		if (!slot.ifindex)
			break;
	}
	if (p.slot == NB_MAX_PORTS)
		return nb_fail(-ENOSPC, "port %s: switch %s has all %d ports in use", ps->name,
			       ps->sw_name, NB_MAX_PORTS);
	p.switch_id = ps->switch_id;
	p.kind = (__u8)ps->kind;
	memcpy(p.mac, ps->mac, 6);
	zero_stats(nb, idx, ps->kind != NB_PORT_UPLINK && port_fq(nb, ps));
	/* Record first: the programs find it from their first frame on. */
	if (bpf_map_update_elem(nb->fd_ports, &ifindex, &p, BPF_NOEXIST) < 0)
		return nb_fail(-errno, "port %s: write port table", ps->name);
	r = devmap_add(nb, ifindex, ps->name);
	if (r == 0)
		r = nb_attach(nb, ps->ifindex, NB_DIR_INGRESS,
			      prog_fd_for(nb, ps->kind, NB_DIR_INGRESS),
			      ps->kind == NB_PORT_UPLINK ? -1 : prog_fd_for(nb, ps->kind, NB_DIR_XDP),
			      NB_ATTACH_NONE, &mode);
	if (r == 0 && ps->kind != NB_PORT_UPLINK &&
	    (mode & NB_ATTACH_MODE_MASK) != NB_ATTACH_XDP_SKB) {
		int mode2 = 0;

		r = nb_attach(nb, ps->ifindex, NB_DIR_EGRESS, prog_fd_for(nb, ps->kind, NB_DIR_EGRESS),
			      -1, mode & NB_ATTACH_MODE_MASK, &mode2);
		if (r < 0)
			nb_detach(nb, ps->ifindex, NB_DIR_INGRESS, mode);
		mode |= mode2;
	}
	if (r == 0 && ps->kind == NB_PORT_UPLINK && nb->uplink_xdp) {
		/* The fast path where the driver has native XDP (veth, real
		 * NICs); tc alone otherwise. Never generic XDP here: it is no
		 * faster than tc and excludes native XDP on the device. */
		int rx = nb_attach_xdp(nb, ps->ifindex, prog_fd_for(nb, ps->kind, NB_DIR_XDP),
				       XDP_FLAGS_DRV_MODE);

		if (rx == 0) {
			mode |= NB_ATTACH_XDP_DRV;
		} else if (nb->uplink_xdp == 2) {
			r = nb_fail(rx, "uplink %s: attach native xdp (uplink mode xdp)", ps->name);
			nb_detach(nb, ps->ifindex, NB_DIR_INGRESS, mode);
		} else {
			log_info("netbridge %s: uplink %s: no native XDP (%s), tc only", nb->runtime,
				 ps->name, strerror(-rx));
		}
	}
	if (r < 0) {
		bpf_map_delete_elem(nb->fd_xdp_tx, &ifindex);
		bpf_map_delete_elem(nb->fd_ports, &ifindex);
		return r;
	}
	p.attach = (__u8)(mode | (ps->own_dev ? NB_ATTACH_OWN_DEV : 0));
	bpf_map_update_elem(nb->fd_ports, &ifindex, &p, BPF_EXIST);
	/* Reachable and flooded to only once it counts its own egress. */
	if (ps->kind != NB_PORT_UPLINK) {
		fv.ifindex = ifindex;
		fv.flags = NB_FDB_STATIC;
		fv.seen_ns = 0;
		if (bpf_map_update_elem(nb->fd_fdb, &key, &fv, BPF_ANY) < 0) {
			r = nb_fail(-errno, "port %s: write forwarding table", ps->name);
			port_unplug(nb, ifindex, &p);
			return r;
		}
	}
	slot.ifindex = ifindex;
	slot.kind = (__u32)ps->kind;
	if ((mode & NB_ATTACH_MODE_MASK) == NB_ATTACH_XDP_SKB)
		slot.kind |= NB_SLOT_RX_AT_SITE;
	if (bpf_map_update_elem(nb->fd_slots, &idx, &slot, BPF_ANY) < 0) {
		r = nb_fail(-errno, "port %s: write slot table", ps->name);
		port_unplug(nb, ifindex, &p);
		return r;
	}
	return 0;
}

int nb_port_add_vm_mq(struct nb *nb, const char *sw, const char *port, const uint8_t mac[6],
		      unsigned queues, int *ifindex_out, int *tap_fds_out)
{
	struct nb_port_spec ps = { .sw_name = sw, .name = port, .kind = NB_PORT_VM };
	int fds[NB_MAX_QUEUES];
	struct nb_switch swr;
	int r;

	if (nb_valid_name(port, NB_IFNAME_MAX) < 0)
		return nb_fail(-EINVAL, "port \"%s\": invalid interface name (1..15 of "
					"[A-Za-z0-9_.-])", port ?: "");
	if (queues < 1 || queues > NB_MAX_QUEUES)
		return nb_fail(-EINVAL, "port %s: %u queues (1..%d)", port, queues, NB_MAX_QUEUES);
	if (mac[0] & 1) {
		char m[18];

		nb_format_mac(mac, m);
		return nb_fail(-EINVAL, "port %s: MAC %s is a group address", port, m);
	}
	r = nb_switch_find(nb, sw, &ps.switch_id, &swr);
	if (r < 0)
		return r;
	memcpy(ps.mac, mac, 6);
	/* TUNSETIFF would attach to an existing tap instead of failing. */
	if (if_nametoindex(port))
		return nb_fail(-EEXIST, "port %s: interface exists", port);
	r = nb_tap_create(port, queues, fds);
	if (r < 0)
		return r;
	ps.ifindex = (int)if_nametoindex(port);
	if (!ps.ifindex)
		r = nb_fail(-errno, "port %s: find new tap", port);
	if (r == 0)
		r = nb_ipv6_disable(port);
	if (r == 0)
		r = nb_link_set_up(port);
	if (r == 0)
		r = nb_port_plug(nb, &ps);
	if (r < 0) {
		for (unsigned i = 0; i < queues; i++)
			close(fds[i]);
		if (ps.ifindex)
			nb_link_delete(ps.ifindex);
		return r;
	}
	if (ifindex_out)
		*ifindex_out = ps.ifindex;
	for (unsigned i = 0; i < queues; i++) {
		if (tap_fds_out)
			tap_fds_out[i] = fds[i];
		else
			close(fds[i]);
	}
	return 0;
}

int nb_port_add_vm(struct nb *nb, const char *sw, const char *port, const uint8_t mac[6],
		   int *ifindex_out, int *tap_fd_out)
{
	return nb_port_add_vm_mq(nb, sw, port, mac, 1, ifindex_out, tap_fd_out);
}

int nb_port_lookup(struct nb *nb, const char *name, __u32 *ifindex, struct nb_port *p)
{
	*ifindex = if_nametoindex(name);
	if (!*ifindex)
		return nb_fail(-ENODEV, "port %s: no such interface", name);
	if (bpf_map_lookup_elem(nb->fd_ports, ifindex, p) < 0)
		return nb_fail(-ENOENT, "port %s: not a port of runtime %s", name, nb->runtime);
	return 0;
}

/* Unplugs and deletes what we created (taps, host veth, a VXLAN uplink); an
 * existing interface used as the uplink stays. */
int nb_port_delete(struct nb *nb, __u32 ifindex, const struct nb_port *p)
{
	int r = port_unplug(nb, ifindex, p);

	if (p->kind != NB_PORT_UPLINK || (p->attach & NB_ATTACH_OWN_DEV)) {
		int r2 = nb_link_delete((int)ifindex);

		r = r ?: r2;
	}
	return r;
}

int nb_port_lookup_not_uplink(struct nb *nb, const char *name, const char *why, __u32 *ifindex,
			      struct nb_port *p)
{
	int r = nb_port_lookup(nb, name, ifindex, p);

	if (r == 0 && p->kind == NB_PORT_UPLINK)
		return nb_fail(-EINVAL, "port %s: is an uplink (%s)", name, why);
	return r;
}

int nb_port_remove(struct nb *nb, const char *port)
{
	struct nb_port p;
	__u32 ifindex;
	int r = nb_port_lookup_not_uplink(nb, port, "detach it with nb_set_uplink", &ifindex, &p);

	return r < 0 ? r : nb_port_delete(nb, ifindex, &p);
}


/* nb.c: the netbridge control plane: runtime (bpffs pins, skeleton), switches,
 * ports, counters, forwarding table.
 *
 * The control plane keeps no state of its own: switches, ports, slots and the
 * forwarding table are the pinned maps (nb_abi.h), so that a restarted
 * process (nb_open of the same runtime) sees exactly what the datapath uses.
 * Cleanup: one `goto out`-free style per function, with cleanup attributes
 * for fds; multi-step creations unwind explicitly in reverse order. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/log.h"
#include "netbridge.skel.h"
#include "netbridge/nb_internal.h"
#include "common/util.h"

#define NB_BPFFS_DEFAULT "/sys/fs/bpf"

static __thread char nb_errbuf[512];

const char *nb_last_error(void)
{
	return nb_errbuf;
}

int nb_fail(int r, const char *fmt, ...)
{
	const char *hint = "";
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(nb_errbuf, sizeof(nb_errbuf), fmt, ap);
	va_end(ap);
	if (r == -EPERM || r == -EACCES)
		hint = " (needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN for bpffs: run as root)";
	if (n >= 0 && (size_t)n < sizeof(nb_errbuf))
		snprintf(nb_errbuf + n, sizeof(nb_errbuf) - (size_t)n, ": %s%s", strerror(-r), hint);
	log_debug("netbridge: %s", nb_errbuf);
	return r;
}

static int debug_libbpf; /* libbpf's print hook is global: nb_open sets it */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && !debug_libbpf)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	/* libbpf warns about harmless things (an existing clsact qdisc); the
	 * failures that matter come back as errors with our context. */
	log_debug("libbpf: %s", buf);
	return 0;
}

const char *nb_drop_name(enum nb_drop d)
{
	static const char *const names[] = { "spoofed", "no_route", "redirect_failed",
					     "flood_limit" };

	return (unsigned)d < ARRAY_SIZE(names) ? names[d] : "?";
}

static const char *attach_name(int mode)
{
	bool xdp = mode & NB_ATTACH_XDP_DRV;

	switch (mode & NB_ATTACH_MODE_MASK) {
	case NB_ATTACH_TCX:
		return xdp ? "xdpdrv+tcx" : "tcx";
	case NB_ATTACH_CLSACT:
		return xdp ? "xdpdrv+clsact" : "clsact";
	case NB_ATTACH_XDP_SKB:
		return "xdpgeneric";
	default:
		return "none";
	}
}

const char *nb_attach_mode(const struct nb *nb)
{
	return attach_name(nb->mode);
}

/* ---- runtime ---------------------------------------------------------- */

static int ensure_bpffs(const char *root)
{
	struct statfs st;

	if (statfs(root, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return nb_fail(-errno, "bpffs: create mount point %s", root);
	if (mount("bpf", root, "bpf", 0, "mode=0700") < 0)
		return nb_fail(-errno, "bpffs: mount on %s", root);
	return 0;
}

static int adopt_ports(struct nb *nb);

int nb_open(const char *runtime, const struct nb_options *opts, struct nb **out)
{
	static const struct nb_options defaults;
	const struct nb_options *o = opts ?: &defaults;
	const char *root = o->bpffs && *o->bpffs ? o->bpffs : NB_BPFFS_DEFAULT;
	const char *attach = o->attach, *uplink = o->uplink;
	struct bpf_map *map;
	struct nb *nb;
	int r = 0;

	*out = NULL;
	nb_errbuf[0] = 0;
	if (nb_valid_name(runtime, NB_SWITCH_NAME_MAX + 1) < 0)
		return nb_fail(-EINVAL, "runtime \"%s\": invalid name (1..32 of [A-Za-z0-9_.-])",
			       runtime ?: "");
	debug_libbpf = o->debug_libbpf;
	libbpf_set_print(libbpf_print);
	r = ensure_bpffs(root);
	if (r < 0)
		return r;
	nb = calloc(1, sizeof(*nb));
	if (!nb)
		return nb_fail(-ENOMEM, "runtime %s: allocate", runtime);
	snprintf(nb->runtime, sizeof(nb->runtime), "%s", runtime);
	snprintf(nb->pin_dir, sizeof(nb->pin_dir), "%s/%s", root, runtime);
	nb->fd_ports = nb->fd_slots = nb->fd_switches = nb->fd_fdb = nb->fd_stats = -1;
	nb->fd_xdp_tx = -1;
	if (attach && *attach) {
		if (!strcmp(attach, "tcx"))
			nb->mode = nb->tc_mode = NB_ATTACH_TCX;
		else if (!strcmp(attach, "clsact"))
			nb->mode = nb->tc_mode = NB_ATTACH_CLSACT;
		else if (!strcmp(attach, "xdp") || !strcmp(attach, "xdpgeneric"))
			nb->mode = NB_ATTACH_XDP_SKB;
		else
			r = -EINVAL;
	}
	nb->uplink_xdp = 1;
	if (uplink && *uplink) {
		if (!strcmp(uplink, "tc"))
			nb->uplink_xdp = 0;
		else if (!strcmp(uplink, "xdp"))
			nb->uplink_xdp = 2;
		else if (strcmp(uplink, "auto"))
			r = -EINVAL;
	}
	if (r < 0) {
		free(nb);
		return nb_fail(r, "runtime %s: attach mode '%s', uplink mode '%s' (want tcx|clsact|xdp, "
				  "tc|auto|xdp)", runtime, attach ?: "", uplink ?: "");
	}
	if (mkdir(nb->pin_dir, 0700) < 0 && errno != EEXIST) {
		r = nb_fail(-errno, "runtime %s: create pin directory %s", runtime, nb->pin_dir);
		goto fail;
	}
	nb->skel = nb_bpf__open();
	if (!nb->skel) {
		r = nb_fail(-errno, "runtime %s: open BPF object", runtime);
		goto fail;
	}
	bpf_object__for_each_map(map, nb->skel->obj) {
		char path[300];

		snprintf(path, sizeof(path), "%s/%s", nb->pin_dir, bpf_map__name(map));
		if (map == nb->skel->maps.nb_xdp_tx) {
			/* The kernel adds BPF_F_RDONLY_PROG to a devmap's flags,
			 * which libbpf's pin reuse check takes for a mismatch:
			 * reuse it by hand, pin it after the load. */
			_cleanup_close_ int fd = bpf_obj_get(path);

			if (fd >= 0 && bpf_map__reuse_fd(map, fd) < 0) {
				r = nb_fail(-errno, "runtime %s: reuse pinned map %s", runtime, path);
				goto fail;
			}
			continue;
		}
		r = bpf_map__set_pin_path(map, path);
		if (r < 0) {
			r = nb_fail(r, "runtime %s: map %s: set pin path", runtime,
				    bpf_map__name(map));
			goto fail;
		}
	}
	/* Reuses the maps pinned by a previous control plane, pins new ones. */
	r = nb_bpf__load(nb->skel);
	if (r < 0) {
		r = nb_fail(r, "runtime %s: load BPF programs and maps (pins in %s)", runtime,
			    nb->pin_dir);
		goto fail;
	}
	nb->fd_ports = bpf_map__fd(nb->skel->maps.nb_ports);
	nb->fd_slots = bpf_map__fd(nb->skel->maps.nb_slots);
	nb->fd_switches = bpf_map__fd(nb->skel->maps.nb_switches);
	nb->fd_fdb = bpf_map__fd(nb->skel->maps.nb_fdb);
	nb->fd_stats = bpf_map__fd(nb->skel->maps.nb_stats);
	nb->fd_xdp_tx = bpf_map__fd(nb->skel->maps.nb_xdp_tx);
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/nb_xdp_tx", nb->pin_dir);
		if (bpf_obj_pin(nb->fd_xdp_tx, path) < 0 && errno != EEXIST) {
			r = nb_fail(-errno, "runtime %s: pin %s", runtime, path);
			goto fail;
		}
	}
	nb->ncpus = libbpf_num_possible_cpus();
	if (nb->ncpus <= 0) {
		r = nb_fail(nb->ncpus ?: -EINVAL, "runtime %s: count possible CPUs", runtime);
		goto fail;
	}
	/* Adopt the attach modes of the existing ports (unless forced). */
	if (!(attach && *attach)) {
		__u32 key, *prev = NULL, next;
		struct nb_port p;

		while (bpf_map_get_next_key(nb->fd_ports, prev, &next) == 0) {
			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(nb->fd_ports, &key, &p) < 0)
				continue;
			if (p.kind == NB_PORT_UPLINK && !nb->tc_mode)
				nb->tc_mode = p.attach & NB_ATTACH_MODE_MASK;
			else if (p.kind != NB_PORT_UPLINK && !nb->mode)
				nb->mode = p.attach & NB_ATTACH_MODE_MASK;
		}
		if (!nb->tc_mode && nb->mode != NB_ATTACH_XDP_SKB)
			nb->tc_mode = nb->mode;
	}
	r = adopt_ports(nb);
	if (r < 0)
		goto fail;
	*out = nb;
	return 0;
fail:
	rmdir(nb->pin_dir); /* only if this call left it empty */
	nb_close(nb);
	return r;
}

void nb_close(struct nb *nb)
{
	if (!nb)
		return;
	nb_bpf__destroy(nb->skel);
	free(nb);
}

/* ---- switches --------------------------------------------------------- */

static int switch_find(struct nb *nb, const char *name, __u32 *id, struct nb_switch *sw)
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
	int r = switch_find(nb, name, &id, &sw);

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

/* ---- ports ------------------------------------------------------------ */

static void zero_stats(struct nb *nb, __u32 idx)
{
	size_t len = (size_t)nb->ncpus * sizeof(struct nb_counters);
	void *zeros = calloc(1, len);

	if (zeros) {
		bpf_map_update_elem(nb->fd_stats, &idx, zeros, BPF_ANY);
		free(zeros);
	}
}

static void fdb_key(__u32 switch_id, const uint8_t mac[6], struct nb_fdb_key *k)
{
	memset(k, 0, sizeof(*k));
	k->switch_id = switch_id;
	memcpy(k->mac, mac, 6);
}

/* Deletes the entries of switch_id, all of them (ifindex 0) or those that
 * point to ifindex. Returns how many. */
static int fdb_flush(struct nb *nb, __u32 switch_id, __u32 ifindex)
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

struct port_spec {
	__u32 switch_id;
	const char *sw_name;
	const char *name;
	int ifindex;
	int kind;
	uint8_t mac[6];
};

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
	fdb_flush(nb, p->switch_id, ifindex);
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
	zero_stats(nb, idx);
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
static int adopt_ports(struct nb *nb)
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

/* Puts an existing interface into the datapath. */
static int port_plug(struct nb *nb, const struct port_spec *ps)
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
	zero_stats(nb, idx);
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
	p.attach = (__u8)mode;
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
	struct port_spec ps = { .sw_name = sw, .name = port, .kind = NB_PORT_VM };
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
	r = switch_find(nb, sw, &ps.switch_id, &swr);
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
		r = port_plug(nb, &ps);
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

static int port_lookup(struct nb *nb, const char *name, __u32 *ifindex, struct nb_port *p)
{
	*ifindex = if_nametoindex(name);
	if (!*ifindex)
		return nb_fail(-ENODEV, "port %s: no such interface", name);
	if (bpf_map_lookup_elem(nb->fd_ports, ifindex, p) < 0)
		return nb_fail(-ENOENT, "port %s: not a port of runtime %s", name, nb->runtime);
	return 0;
}

/* Unplugs and deletes what we created (taps, host veth); an uplink stays. */
static int port_remove(struct nb *nb, __u32 ifindex, const struct nb_port *p)
{
	int r = port_unplug(nb, ifindex, p);

	if (p->kind != NB_PORT_UPLINK) {
		int r2 = nb_link_delete((int)ifindex);

		r = r ?: r2;
	}
	return r;
}

int nb_port_remove(struct nb *nb, const char *port)
{
	struct nb_port p;
	__u32 ifindex;
	int r = port_lookup(nb, port, &ifindex, &p);

	if (r < 0)
		return r;
	if (p.kind == NB_PORT_UPLINK)
		return nb_fail(-EINVAL, "port %s: is an uplink (detach it with nb_set_uplink)",
			       port);
	return port_remove(nb, ifindex, &p);
}

int nb_set_uplink(struct nb *nb, const char *sw, const char *ifname)
{
	struct port_spec ps = { .sw_name = sw, .name = ifname, .kind = NB_PORT_UPLINK };
	struct nb_switch swr;
	struct nb_port p;
	int r = switch_find(nb, sw, &ps.switch_id, &swr);

	if (r < 0)
		return r;
	if (swr.uplink_ifindex && bpf_map_lookup_elem(nb->fd_ports, &swr.uplink_ifindex, &p) == 0) {
		r = port_remove(nb, swr.uplink_ifindex, &p);
		if (r < 0)
			return r;
		swr.uplink_ifindex = 0;
	}
	if (!ifname || !*ifname)
		return 0;
	ps.ifindex = (int)if_nametoindex(ifname);
	if (!ps.ifindex)
		return nb_fail(-ENODEV, "switch %s: uplink %s: no such interface", sw, ifname);
	r = port_plug(nb, &ps);
	if (r < 0)
		return r;
	swr.uplink_ifindex = (__u32)ps.ifindex;
	if (bpf_map_update_elem(nb->fd_switches, &ps.switch_id, &swr, BPF_ANY) < 0)
		return nb_fail(-errno, "switch %s: write switch table", sw);
	return 0;
}

/* The switch side of the host veth: "nbh" + 8 hex digits of a hash of
 * runtime/switch, unique per netns for distinct runtimes and switches. */
static void host_side_name(const struct nb *nb, const char *sw, char out[NB_IFNAME_MAX])
{
	uint32_t h = 2166136261u;

	for (const char *s = nb->runtime; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *s = sw; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	snprintf(out, NB_IFNAME_MAX, "nbh%08x", h);
}

int nb_set_host_port(struct nb *nb, const char *sw, const char *host_ifname, char *port_out)
{
	struct port_spec ps = { .sw_name = sw, .kind = NB_PORT_HOST };
	char side[NB_IFNAME_MAX];
	struct nb_switch swr;
	struct nb_port p;
	int r = switch_find(nb, sw, &ps.switch_id, &swr);

	if (r < 0)
		return r;
	if (swr.host_ifindex && bpf_map_lookup_elem(nb->fd_ports, &swr.host_ifindex, &p) == 0) {
		r = port_remove(nb, swr.host_ifindex, &p);
		if (r < 0)
			return r;
		swr.host_ifindex = 0;
	}
	if (!host_ifname || !*host_ifname)
		return 0;
	if (nb_valid_name(host_ifname, NB_IFNAME_MAX) < 0)
		return nb_fail(-EINVAL, "switch %s: host port \"%s\": invalid interface name", sw,
			       host_ifname);
	host_side_name(nb, sw, side);
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
		r = port_plug(nb, &ps);
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

int nb_switch_destroy(struct nb *nb, const char *name)
{
	struct nb_switch sw;
	__u32 id;
	int r = switch_find(nb, name, &id, &sw), first = 0;

	if (r < 0)
		return r;
	for (__u32 s = 0; s < NB_MAX_PORTS; s++) {
		__u32 idx = id * NB_MAX_PORTS + s;
		struct nb_slot slot;
		struct nb_port p;

		if (bpf_map_lookup_elem(nb->fd_slots, &idx, &slot) < 0 || !slot.ifindex)
			continue;
		if (bpf_map_lookup_elem(nb->fd_ports, &slot.ifindex, &p) == 0) {
			r = port_remove(nb, slot.ifindex, &p);
		} else {
			struct nb_slot empty = { 0 };

			r = bpf_map_update_elem(nb->fd_slots, &idx, &empty, BPF_ANY) < 0 ? -errno : 0;
		}
		if (r < 0 && !first)
			first = r;
	}
	fdb_flush(nb, id, 0);
	memset(&sw, 0, sizeof(sw));
	if (bpf_map_update_elem(nb->fd_switches, &id, &sw, BPF_ANY) < 0 && !first)
		first = nb_fail(-errno, "switch %s: write switch table", name);
	return first;
}

int nb_destroy_all(struct nb *nb)
{
	static const char *const maps[] = { "nb_ports", "nb_slots", "nb_switches", "nb_fdb",
					    "nb_stats", "nb_xdp_tx" };
	char names[NB_MAX_SWITCHES][32];
	char path[300];
	size_t n = 0;
	int r, first = 0;

	r = nb_switch_list(nb, names, NB_MAX_SWITCHES, &n);
	if (r < 0)
		first = r;
	for (size_t i = 0; i < n && i < NB_MAX_SWITCHES; i++) {
		r = nb_switch_destroy(nb, names[i]);
		if (r < 0 && !first)
			first = r;
	}
	if (first == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
			snprintf(path, sizeof(path), "%s/%s", nb->pin_dir, maps[i]);
			if (unlink(path) < 0 && errno != ENOENT && !first)
				first = nb_fail(-errno, "runtime %s: unpin %s", nb->runtime, path);
		}
		if (rmdir(nb->pin_dir) < 0 && errno != ENOENT && !first)
			first = nb_fail(-errno, "runtime %s: remove %s (something else is pinned there)",
					nb->runtime, nb->pin_dir);
	}
	nb_close(nb);
	return first;
}

/* ---- counters and tables ---------------------------------------------- */

int nb_port_stats(struct nb *nb, const char *port, struct nb_port_stats *out)
{
	struct nb_counters *percpu;
	struct nb_port p;
	__u32 ifindex, idx;
	int r = port_lookup(nb, port, &ifindex, &p);

	if (r < 0)
		return r;
	idx = p.switch_id * NB_MAX_PORTS + p.slot;
	percpu = calloc((size_t)nb->ncpus, sizeof(*percpu));
	if (!percpu)
		return nb_fail(-ENOMEM, "port %s: read counters", port);
	if (bpf_map_lookup_elem(nb->fd_stats, &idx, percpu) < 0) {
		r = nb_fail(-errno, "port %s: read counters", port);
		free(percpu);
		return r;
	}
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < nb->ncpus; c++) {
		out->rx_frames += percpu[c].rx_frames;
		out->rx_bytes += percpu[c].rx_bytes;
		out->tx_frames += percpu[c].tx_frames;
		out->tx_bytes += percpu[c].tx_bytes;
		for (int d = 0; d < NB_DROP_STAT_COUNT; d++)
			out->drops[d] += percpu[c].drops[d];
	}
	free(percpu);
	return 0;
}

int nb_port_list(struct nb *nb, const char *sw, struct nb_port_info *out, size_t max, size_t *n)
{
	struct nb_switch swr;
	__u32 id;
	int r = switch_find(nb, sw, &id, &swr);

	*n = 0;
	if (r < 0)
		return r;
	for (__u32 s = 0; s < NB_MAX_PORTS; s++) {
		__u32 idx = id * NB_MAX_PORTS + s;
		struct nb_slot slot;
		struct nb_port p;

		if (bpf_map_lookup_elem(nb->fd_slots, &idx, &slot) < 0 || !slot.ifindex ||
		    bpf_map_lookup_elem(nb->fd_ports, &slot.ifindex, &p) < 0)
			continue;
		if (*n < max) {
			struct nb_port_info *o = &out[*n];

			memset(o, 0, sizeof(*o));
			if (!if_indextoname(slot.ifindex, o->name))
				snprintf(o->name, sizeof(o->name), "#%u", slot.ifindex);
			o->ifindex = (int)slot.ifindex;
			o->type = (enum nb_port_type)p.kind;
			memcpy(o->mac, p.mac, 6);
			o->attach = attach_name(p.attach);
		}
		(*n)++;
	}
	return 0;
}

int nb_fdb_dump(struct nb *nb, const char *sw, struct nb_fdb_entry *out, size_t max, size_t *n)
{
	struct nb_fdb_key key, *prev = NULL, next;
	struct nb_fdb_val val;
	struct nb_switch swr;
	uint64_t now = now_ns();
	__u32 id;
	int r = switch_find(nb, sw, &id, &swr);

	*n = 0;
	if (r < 0)
		return r;
	while (bpf_map_get_next_key(nb->fd_fdb, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.switch_id != id || bpf_map_lookup_elem(nb->fd_fdb, &key, &val) < 0)
			continue;
		if (*n < max) {
			struct nb_fdb_entry *e = &out[*n];

			memset(e, 0, sizeof(*e));
			memcpy(e->mac, key.mac, 6);
			e->ifindex = (int)val.ifindex;
			if (!if_indextoname(val.ifindex, e->port))
				snprintf(e->port, sizeof(e->port), "#%u", val.ifindex);
			e->learned = !!(val.flags & NB_FDB_LEARNED);
			if (e->learned && now > val.seen_ns)
				e->age_ms = (now - val.seen_ns) / 1000000u;
		}
		(*n)++;
	}
	return 0;
}

int nb_fdb_age(struct nb *nb, uint64_t max_age_ms)
{
	struct nb_fdb_key key, *prev = NULL, next;
	struct nb_fdb_val val;
	uint64_t now = now_ns();
	int removed = 0;

	while (bpf_map_get_next_key(nb->fd_fdb, prev, &next) == 0) {
		if (bpf_map_lookup_elem(nb->fd_fdb, &next, &val) == 0 &&
		    (val.flags & NB_FDB_LEARNED) && now > val.seen_ns &&
		    (now - val.seen_ns) / 1000000u >= max_age_ms) {
			bpf_map_delete_elem(nb->fd_fdb, &next);
			removed++;
			continue;
		}
		key = next;
		prev = &key;
	}
	return removed;
}

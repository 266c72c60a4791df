/* nb_query.c: reading the datapath's state: per-port counters (summed over
 * CPUs), the port list, the forwarding table and its ageing. */
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


int nb_port_stats(struct nb *nb, const char *port, struct nb_port_stats *out)
{
	struct nb_counters *percpu;
	struct nb_port p;
	__u32 ifindex, idx;
	int r = nb_port_lookup(nb, port, &ifindex, &p);

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
		for (int d = 0; d < NB_DROP_MAX; d++)
			out->drops[d] += percpu[c].drops[d];
	}
	free(percpu);
	nb_limit_stats(nb, idx, out);
	return 0;
}

int nb_port_list(struct nb *nb, const char *sw, struct nb_port_info *out, size_t max, size_t *n)
{
	struct nb_switch swr;
	__u32 id;
	int r = nb_switch_find(nb, sw, &id, &swr);

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
			o->attach = nb_attach_name(p.attach);
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
	int r = nb_switch_find(nb, sw, &id, &swr);

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

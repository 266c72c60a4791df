/* nb_limit.c: per-port rate limits (nb_abi.h, nb_limits): the control plane
 * writes a direction's rates and bursts, the datapath keeps its departure
 * clock in the same entry and counts what it held back or dropped in
 * nb_limit_stats. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "netbridge/nb_internal.h"

#define NSEC 1000000000ull
#define FULL_FRAME 1514u

void nb_limit_reset(struct nb *nb, __u32 idx, bool paced)
{
	struct nb_limit l = { 0 };
	size_t len = (size_t)nb->ncpus * sizeof(struct nb_limit_counters);
	void *zeros = calloc(1, len);

	if (paced)
		l.dir[NB_LIMIT_RX].flags = NB_LIMIT_PACED;
	bpf_map_update_elem(nb->fd_limits, &idx, &l, BPF_ANY);
	if (zeros) {
		bpf_map_update_elem(nb->fd_limit_stats, &idx, zeros, BPF_ANY);
		free(zeros);
	}
}

void nb_limit_stats(struct nb *nb, __u32 idx, struct nb_port_stats *out)
{
	struct nb_limit_counters *percpu = calloc((size_t)nb->ncpus, sizeof(*percpu));

	if (!percpu)
		return;
	if (bpf_map_lookup_elem(nb->fd_limit_stats, &idx, percpu) == 0)
		for (int c = 0; c < nb->ncpus; c++) {
			out->drops[NB_DROP_STAT_RATE_TX] += percpu[c].dropped[NB_LIMIT_TX];
			out->drops[NB_DROP_STAT_RATE_RX] += percpu[c].dropped[NB_LIMIT_RX];
			out->rx_delayed += percpu[c].delayed[NB_LIMIT_RX];
		}
	free(percpu);
}

/* One direction of the ABI entry from r; the clock restarts. */
static int dir_from_rate(const char *port, const char *name, const struct nb_rate *r,
			 struct nb_limit_dir *d)
{
	__u64 bytes, pkts, ns = 0;

	if (r->bits_per_s > NB_RATE_BITS_MAX || r->pkts_per_s > NB_RATE_PKTS_MAX)
		return nb_fail(-ERANGE, "port %s: %s limit %llu bit/s, %llu frames/s (at most "
				  "%llu and %llu)", port, name, (unsigned long long)r->bits_per_s,
			       (unsigned long long)r->pkts_per_s, NB_RATE_BITS_MAX, NB_RATE_PKTS_MAX);
	if ((r->burst_bytes && !r->bits_per_s) || (r->burst_pkts && !r->pkts_per_s))
		return nb_fail(-EINVAL, "port %s: %s burst without its rate", port, name);
	d->bits_per_s = r->bits_per_s;
	d->pkts_per_s = r->pkts_per_s;
	d->burst_bytes = r->burst_bytes;
	d->burst_pkts = r->burst_pkts;
	d->next_ns = 0;
	if (r->bits_per_s) {
		bytes = r->burst_bytes ?: r->bits_per_s / 8 * NB_BURST_DEFAULT_MS / 1000;
		if (bytes < 2 * FULL_FRAME)
			bytes = 2 * FULL_FRAME;
		ns = bytes * 8 * NSEC / r->bits_per_s;
	}
	if (r->pkts_per_s) {
		pkts = r->burst_pkts ?: r->pkts_per_s * NB_BURST_DEFAULT_MS / 1000;
		if (pkts < 2)
			pkts = 2;
		if (!ns || pkts * NSEC / r->pkts_per_s < ns)
			ns = pkts * NSEC / r->pkts_per_s;
	}
	d->burst_ns = ns;
	return 0;
}

static int limit_lookup(struct nb *nb, const char *port, __u32 *idx, struct nb_limit *l)
{
	struct nb_port p;
	__u32 ifindex;
	int r = nb_port_lookup_not_uplink(nb, port, "it has no limits: limit the VMs' ports",
					  &ifindex, &p);

	if (r < 0)
		return r;
	*idx = p.switch_id * NB_MAX_PORTS + p.slot;
	if (bpf_map_lookup_elem(nb->fd_limits, idx, l) < 0)
		return nb_fail(-errno, "port %s: read limits", port);
	return 0;
}

int nb_port_set_limit(struct nb *nb, const char *port, const struct nb_port_limit *lim)
{
	struct nb_limit l;
	__u32 idx, paced;
	int r = limit_lookup(nb, port, &idx, &l);

	if (r < 0)
		return r;
	paced = l.dir[NB_LIMIT_RX].flags & NB_LIMIT_PACED;
	memset(&l, 0, sizeof(l));
	r = dir_from_rate(port, "send", &lim->tx, &l.dir[NB_LIMIT_TX]);
	if (r == 0)
		r = dir_from_rate(port, "receive", &lim->rx, &l.dir[NB_LIMIT_RX]);
	if (r < 0)
		return r;
	l.dir[NB_LIMIT_RX].flags = paced;
	if (bpf_map_update_elem(nb->fd_limits, &idx, &l, BPF_ANY) < 0)
		return nb_fail(-errno, "port %s: write limits", port);
	return 0;
}

int nb_port_get_limit(struct nb *nb, const char *port, struct nb_port_limit *out, bool *paced)
{
	struct nb_rate *dst[2] = { &out->tx, &out->rx };
	struct nb_limit l;
	__u32 idx;
	int r = limit_lookup(nb, port, &idx, &l);

	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		dst[i]->bits_per_s = l.dir[i].bits_per_s;
		dst[i]->pkts_per_s = l.dir[i].pkts_per_s;
		dst[i]->burst_bytes = l.dir[i].burst_bytes;
		dst[i]->burst_pkts = l.dir[i].burst_pkts;
	}
	if (paced)
		*paced = l.dir[NB_LIMIT_RX].flags & NB_LIMIT_PACED;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/* netbridge.bpf.c: the switch datapath, tc programs (sched_cls) and XDP.
 *
 *   nb_port_ingress   tc ingress of a VM tap or the host port: frames the VM
 *                     sent. Anti-spoofing, FDB lookup, bpf_redirect, or flood.
 *   nb_port_egress    tc egress of a VM tap or the host port: frames delivered
 *                     to the VM (rx).
 *   nb_uplink_ingress tc ingress of the uplink: learn source MACs; frames to a
 *                     VM MAC are redirected to its tap; group frames are cloned
 *                     to every port and passed to the host stack; the rest
 *                     passes untouched.
 *   nb_port_xdp       generic XDP on a VM tap or the host port (the last step
 *                     of the attach fallback chain): nb_port_ingress in XDP,
 *                     redirects and floods through the devmap nb_xdp_tx.
 *   nb_uplink_xdp     native XDP on the uplink (where the driver has it): learn;
 *                     frames to a VM MAC are redirected to its tap through
 *                     nb_xdp_tx; everything else (group frames included: XDP
 *                     cannot clone) XDP_PASS to the stack, i.e. to
 *                     nb_uplink_ingress.
 *   nb_xdp_egress     devmap egress program of every nb_xdp_tx entry: keeps a
 *                     frame in its switch and counts it as the target's rx
 *                     (no tc egress runs after an XDP redirect).
 *
 * Rate limits (nb_limits): a VM's sending is policed where its frames enter
 * (nb_port_ingress, nb_port_xdp), its receiving paced at its tap's egress
 * (nb_port_egress) by departure times that the fq qdisc honours; frames for
 * a port with a receive limit never take the XDP fast path, and in generic
 * XDP mode (nb_xdp_egress) the receive limit only polices.
 *
 * Map layout: ../nb_abi.h. Flooding is a bounded bpf_clone_redirect loop over
 * the switch's row of nb_slots (the verifier rejects bpf_redirect_map in a tc
 * program: devmap redirects exist only for XDP). */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "nb_abi.h"

/* Not in vmlinux.h (they are macros in the UAPI). */
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NB_MAX_SWITCHES * NB_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct nb_port);
} nb_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NB_MAX_SWITCHES * NB_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct nb_slot);
} nb_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NB_MAX_SWITCHES);
	__type(key, __u32);
	__type(value, struct nb_switch);
} nb_switches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NB_MAX_FDB);
	__type(key, struct nb_fdb_key);
	__type(value, struct nb_fdb_val);
} nb_fdb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NB_MAX_SWITCHES * NB_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct nb_counters);
} nb_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, NB_MAX_SWITCHES * NB_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} nb_xdp_tx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NB_MAX_SWITCHES * NB_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct nb_limit);
} nb_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NB_MAX_SWITCHES * NB_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct nb_limit_counters);
} nb_limit_stats SEC(".maps");

static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
	       a[5] == b[5];
}

static __always_inline __u32 port_index(const struct nb_port *p)
{
	return p->switch_id * NB_MAX_PORTS + p->slot;
}

static __always_inline struct nb_counters *port_counters(const struct nb_port *p)
{
	__u32 idx = port_index(p);

	return bpf_map_lookup_elem(&nb_stats, &idx);
}

static __always_inline struct ethhdr *eth_header(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (data + sizeof(struct ethhdr) > end) {
		if (bpf_skb_pull_data(skb, sizeof(struct ethhdr)))
			return NULL;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		if (data + sizeof(struct ethhdr) > end)
			return NULL;
	}
	return data;
}

/* What a tc program's frame is on the wire: a GSO frame (the host stack's
 * TCP, a virtio-net guest's TSO; the tap splits it for a VM that does not
 * take GSO, after the switch) counts as the segments it stands for, with
 * their headers; any other frame as one. The kernel's segment count when it
 * has one (the host stack's), else from the headers (a tap's frames leave it
 * 0); a GSO frame whose headers do not parse counts once. */
struct wire {
	__u32 frames;
	__u64 bytes;
};

/* Ethernet + IPv4/IPv6 + TCP/UDP header length of a frame, 0 if unknown. */
static __always_inline __u32 gso_header_len(struct __sk_buff *skb)
{
	__u8 b[2];
	__u32 l3 = sizeof(struct ethhdr), l4;
	__u16 proto;

	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)))
		return 0;
	if (proto == bpf_htons(0x8100)) { /* one VLAN tag */
		l3 += 4;
		if (bpf_skb_load_bytes(skb, 16, &proto, sizeof(proto)))
			return 0;
	}
	if (proto == bpf_htons(0x0800)) {
		if (bpf_skb_load_bytes(skb, l3, &b[0], 1) || bpf_skb_load_bytes(skb, l3 + 9, &b[1], 1))
			return 0;
		l4 = l3 + (b[0] & 0xf) * 4u;
	} else if (proto == bpf_htons(0x86dd)) {
		if (bpf_skb_load_bytes(skb, l3 + 6, &b[1], 1))
			return 0;
		l4 = l3 + 40;
	} else {
		return 0;
	}
	if (b[1] == 17)
		return l4 + 8;
	if (b[1] != 6 || bpf_skb_load_bytes(skb, l4 + 12, &b[0], 1))
		return 0;
	return l4 + (b[0] >> 4) * 4u;
}

static __always_inline struct wire wire_of(struct __sk_buff *skb)
{
	struct wire w = { .frames = 1, .bytes = skb->len };
	__u32 size = skb->gso_size, segs = skb->gso_segs, hdr;

	if (!size)
		return w;
	hdr = gso_header_len(skb);
	if (!hdr || hdr >= skb->len)
		return w;
	if (!segs)
		segs = (skb->len - hdr + size - 1) / size;
	if (segs > 1) {
		w.frames = segs;
		w.bytes += (__u64)(segs - 1) * hdr;
	}
	return w;
}

static __always_inline void count_tx(struct nb_counters *c, struct wire w)
{
	c->tx_frames += w.frames;
	c->tx_bytes += w.bytes;
}

static __always_inline void count_rx(struct nb_counters *c, struct wire w)
{
	c->rx_frames += w.frames;
	c->rx_bytes += w.bytes;
}

static __always_inline int limited(__u32 idx, int dir)
{
	struct nb_limit *l = bpf_map_lookup_elem(&nb_limits, &idx);

	return l && (l->dir[dir & 1].bits_per_s || l->dir[dir & 1].pkts_per_s);
}

enum { LIMIT_PASS = 0, LIMIT_DROP = 1 };

/* The departure clock of port idx in direction dir for a frame of len
 * bytes (nb_abi.h, nb_limits). Returns LIMIT_DROP, or LIMIT_PASS with
 * *depart set to a departure time in the future when the frame is to be
 * held back (paced), 0 otherwise. Clock updates race between CPUs; a lost
 * update lets one more frame through, as in Cilium's EDT map. */
static __always_inline int limit_check(__u32 idx, int dir, __u32 len, __u64 *depart)
{
	struct nb_limit *l = bpf_map_lookup_elem(&nb_limits, &idx);
	struct nb_limit_counters *c;
	struct nb_limit_dir *d;
	__u64 now, cost = 0, t;

	*depart = 0;
	if (!l)
		return LIMIT_PASS;
	d = &l->dir[dir & 1];
	if (!d->bits_per_s && !d->pkts_per_s)
		return LIMIT_PASS;
	if (d->bits_per_s)
		cost = (__u64)len * 8 * 1000000000ull / d->bits_per_s;
	if (d->pkts_per_s && 1000000000ull / d->pkts_per_s > cost)
		cost = 1000000000ull / d->pkts_per_s;
	now = bpf_ktime_get_ns();
	t = d->next_ns > now ? d->next_ns : now;
	c = bpf_map_lookup_elem(&nb_limit_stats, &idx);
	if (t - now > d->burst_ns) {
		if (c)
			c->dropped[dir & 1]++;
		return LIMIT_DROP;
	}
	d->next_ns = t + cost;
	if (t > now && (d->flags & NB_LIMIT_PACED)) {
		*depart = t;
		if (c)
			c->delayed[dir & 1]++;
	}
	return LIMIT_PASS;
}

/* The switch counts frames to the uplink where it sends them (the uplink's
 * egress also carries the host's own traffic), and so to a port in
 * generic-XDP mode (it has no egress hook); VM taps and the host port in tc
 * modes count at their own egress. kind: a slot's kind (with
 * NB_SLOT_RX_AT_SITE). */
static __always_inline void count_rx_at_redirect(__u32 stat_idx, __u32 kind, struct wire w)
{
	struct nb_counters *c;

	if (kind != NB_PORT_UPLINK && !(kind & NB_SLOT_RX_AT_SITE))
		return;
	c = bpf_map_lookup_elem(&nb_stats, &stat_idx);
	if (c)
		count_rx(c, w);
}

/* Flood limiter: at most sw->flood_limit flooded frames per second from one
 * port on one CPU. Returns 1 when the frame may be flooded. */
static __always_inline int flood_allowed(__u32 switch_id, struct nb_counters *c)
{
	struct nb_switch *sw = bpf_map_lookup_elem(&nb_switches, &switch_id);
	__u64 now;

	if (!sw || !sw->flood_limit)
		return 1;
	now = bpf_ktime_get_ns();
	if (now - c->flood_window_ns >= 1000000000ull) {
		c->flood_window_ns = now;
		c->flood_in_window = 0;
	}
	if (c->flood_in_window >= sw->flood_limit)
		return 0;
	c->flood_in_window++;
	return 1;
}

/* Clones the frame to every port of the switch but the ingress one. */
static __always_inline void flood(struct __sk_buff *skb, const struct nb_port *in,
				  __u32 in_ifindex, struct nb_counters *c, struct wire w)
{
	__u32 base = in->switch_id * NB_MAX_PORTS;

	for (__u32 i = 0; i < NB_MAX_PORTS; i++) {
		__u32 idx = base + i;
		struct nb_slot *s = bpf_map_lookup_elem(&nb_slots, &idx);

		if (!s || !s->ifindex || s->ifindex == in_ifindex)
			continue;
		if (bpf_clone_redirect(skb, s->ifindex, 0)) {
			c->drops[NB_DROP_REDIRECT_FAILED]++;
			continue;
		}
		count_rx_at_redirect(idx, s->kind, w);
	}
}

/* Unicast to a known port of the same switch: redirect. Returns the tc verdict. */
static __always_inline int forward(struct __sk_buff *skb, const struct nb_fdb_val *e,
				   __u32 in_ifindex, struct nb_counters *c, struct wire w)
{
	struct nb_port *out;

	out = bpf_map_lookup_elem(&nb_ports, &e->ifindex);
	if (!out || e->ifindex == in_ifindex) {
		c->drops[NB_DROP_NO_ROUTE]++;
		return TC_ACT_SHOT;
	}
	count_rx_at_redirect(port_index(out),
			     out->kind | ((out->attach & NB_ATTACH_MODE_MASK) == NB_ATTACH_XDP_SKB
						  ? NB_SLOT_RX_AT_SITE
						  : 0),
			     w);
	return bpf_redirect(e->ifindex, 0);
}

SEC("tc")
int nb_port_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	__u64 depart;
	struct nb_fdb_key key = {};
	struct nb_fdb_val *e;
	struct nb_counters *c;
	struct nb_port *p;
	struct ethhdr *eth;
	struct wire w;

	p = bpf_map_lookup_elem(&nb_ports, &ifindex);
	if (!p)
		return TC_ACT_SHOT; /* a port being added or removed: not switched yet */
	c = port_counters(p);
	if (!c)
		return TC_ACT_SHOT;
	w = wire_of(skb);
	count_tx(c, w);
	eth = eth_header(skb);
	if (!eth) {
		c->drops[NB_DROP_NO_ROUTE]++;
		return TC_ACT_SHOT;
	}
	if (!mac_eq(eth->h_source, p->mac)) {
		c->drops[NB_DROP_SPOOFED]++;
		return TC_ACT_SHOT;
	}
	if (limit_check(port_index(p), NB_LIMIT_TX, skb->len, &depart) == LIMIT_DROP)
		return TC_ACT_SHOT;
	if (!(eth->h_dest[0] & 1)) {
		key.switch_id = p->switch_id;
		__builtin_memcpy(key.mac, eth->h_dest, NB_ETH_ALEN);
		e = bpf_map_lookup_elem(&nb_fdb, &key);
		if (e)
			return forward(skb, e, ifindex, c, w);
	}
	/* broadcast, multicast, unknown unicast */
	if (!flood_allowed(p->switch_id, c)) {
		c->drops[NB_DROP_FLOOD_LIMIT]++;
		return TC_ACT_SHOT;
	}
	flood(skb, p, ifindex, c, w);
	return TC_ACT_SHOT;
}

SEC("tc")
int nb_port_egress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	__u64 depart;
	struct nb_counters *c;
	struct nb_port *p;

	p = bpf_map_lookup_elem(&nb_ports, &ifindex);
	if (!p)
		return TC_ACT_OK;
	if (limit_check(port_index(p), NB_LIMIT_RX, skb->len, &depart) == LIMIT_DROP)
		return TC_ACT_SHOT;
	/* fq holds the frame until then (a mono delivery time, not a stamp) */
	if (depart)
		bpf_skb_set_tstamp(skb, depart, BPF_SKB_TSTAMP_DELIVERY_MONO);
	c = port_counters(p);
	if (c)
		count_rx(c, wire_of(skb));
	return TC_ACT_OK;
}

static __always_inline void learn(__u32 switch_id, const __u8 *src, __u32 ifindex)
{
	struct nb_fdb_key key = { .switch_id = switch_id };
	struct nb_fdb_val val = { .ifindex = ifindex, .flags = NB_FDB_LEARNED };
	struct nb_fdb_val *e;
	__u64 now;

	if (src[0] & 1)
		return; /* a group address is never a source */
	__builtin_memcpy(key.mac, src, NB_ETH_ALEN);
	now = bpf_ktime_get_ns();
	e = bpf_map_lookup_elem(&nb_fdb, &key);
	if (e) {
		/* A VM's static entry is never taken over from outside. */
		if (!(e->flags & NB_FDB_LEARNED))
			return;
		/* Refresh at most every 100 ms: no write per frame. */
		if (e->ifindex == ifindex && now - e->seen_ns < 100000000ull)
			return;
	}
	val.seen_ns = now;
	bpf_map_update_elem(&nb_fdb, &key, &val, BPF_ANY);
}

SEC("tc")
int nb_uplink_ingress(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct nb_fdb_key key = {};
	struct nb_fdb_val *e;
	struct nb_counters *c;
	struct nb_port *p;
	struct ethhdr *eth;
	struct wire w;

	p = bpf_map_lookup_elem(&nb_ports, &ifindex);
	if (!p)
		return TC_ACT_OK;
	c = port_counters(p);
	eth = eth_header(skb);
	if (!c || !eth)
		return TC_ACT_OK;
	learn(p->switch_id, eth->h_source, ifindex);
	if (eth->h_dest[0] & 1) {
		w = wire_of(skb);
		count_tx(c, w);
		if (flood_allowed(p->switch_id, c))
			flood(skb, p, ifindex, c, w);
		else
			c->drops[NB_DROP_FLOOD_LIMIT]++;
		return TC_ACT_OK; /* the host stack gets its copy */
	}
	key.switch_id = p->switch_id;
	__builtin_memcpy(key.mac, eth->h_dest, NB_ETH_ALEN);
	e = bpf_map_lookup_elem(&nb_fdb, &key);
	if (!e || (e->flags & NB_FDB_LEARNED))
		return TC_ACT_OK; /* not for a VM: the host stack's */
	w = wire_of(skb);
	count_tx(c, w);
	return forward(skb, e, ifindex, c, w);
}

/* ---- XDP ---------------------------------------------------------------- */

SEC("xdp")
int nb_port_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex, len = (__u32)(end - data);
	struct nb_fdb_key key = {};
	struct nb_fdb_val *e;
	struct nb_counters *c;
	struct nb_port *p, *out;
	struct ethhdr *eth = data;
	__u64 depart;
	long act;

	p = bpf_map_lookup_elem(&nb_ports, &ifindex);
	if (!p)
		return XDP_DROP; /* a port being added or removed: not switched yet */
	c = port_counters(p);
	if (!c)
		return XDP_DROP;
	c->tx_frames++;
	c->tx_bytes += len;
	if ((void *)(eth + 1) > end) {
		c->drops[NB_DROP_NO_ROUTE]++;
		return XDP_DROP;
	}
	if (!mac_eq(eth->h_source, p->mac)) {
		c->drops[NB_DROP_SPOOFED]++;
		return XDP_DROP;
	}
	if (limit_check(port_index(p), NB_LIMIT_TX, len, &depart) == LIMIT_DROP)
		return XDP_DROP;
	if (!(eth->h_dest[0] & 1)) {
		key.switch_id = p->switch_id;
		__builtin_memcpy(key.mac, eth->h_dest, NB_ETH_ALEN);
		e = bpf_map_lookup_elem(&nb_fdb, &key);
		if (e) {
			out = bpf_map_lookup_elem(&nb_ports, &e->ifindex);
			if (!out || e->ifindex == ifindex) {
				c->drops[NB_DROP_NO_ROUTE]++;
				return XDP_DROP;
			}
			/* rx is counted by nb_xdp_egress */
			act = bpf_redirect_map(&nb_xdp_tx, e->ifindex, XDP_ABORTED);
			if (act != XDP_REDIRECT) {
				c->drops[NB_DROP_REDIRECT_FAILED]++;
				return XDP_DROP;
			}
			return XDP_REDIRECT;
		}
	}
	/* broadcast, multicast, unknown unicast: to every entry of the devmap
	 * but the ingress port; nb_xdp_egress keeps those of this switch */
	if (!flood_allowed(p->switch_id, c)) {
		c->drops[NB_DROP_FLOOD_LIMIT]++;
		return XDP_DROP;
	}
	act = bpf_redirect_map(&nb_xdp_tx, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	if (act != XDP_REDIRECT) {
		c->drops[NB_DROP_REDIRECT_FAILED]++;
		return XDP_DROP;
	}
	return XDP_REDIRECT;
}

SEC("xdp")
int nb_uplink_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex, len = (__u32)(end - data);
	struct nb_fdb_key key = {};
	struct nb_fdb_val *e;
	struct nb_counters *c;
	struct nb_port *p, *out;
	struct ethhdr *eth = data;

	p = bpf_map_lookup_elem(&nb_ports, &ifindex);
	if (!p || (void *)(eth + 1) > end)
		return XDP_PASS;
	c = port_counters(p);
	if (!c)
		return XDP_PASS;
	learn(p->switch_id, eth->h_source, ifindex);
	if (eth->h_dest[0] & 1)
		return XDP_PASS; /* nb_uplink_ingress clones it to the ports */
	key.switch_id = p->switch_id;
	__builtin_memcpy(key.mac, eth->h_dest, NB_ETH_ALEN);
	e = bpf_map_lookup_elem(&nb_fdb, &key);
	if (!e || (e->flags & NB_FDB_LEARNED) || e->ifindex == ifindex)
		return XDP_PASS; /* the host stack's (or tc's to judge) */
	/* Only taps: a native redirect into a veth (the host port) drops
	 * silently unless its peer has NAPI; tc takes that path. */
	out = bpf_map_lookup_elem(&nb_ports, &e->ifindex);
	if (!out || out->kind != NB_PORT_VM || limited(port_index(out), NB_LIMIT_RX))
		return XDP_PASS; /* a paced port's egress hook does its limit */
	if (bpf_redirect_map(&nb_xdp_tx, e->ifindex, XDP_PASS) != XDP_REDIRECT)
		return XDP_PASS;
	/* delivered from outside; the tap's rx is counted by nb_xdp_egress */
	c->tx_frames++;
	c->tx_bytes += len;
	return XDP_REDIRECT;
}

SEC("xdp/devmap")
int nb_xdp_egress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 in = ctx->ingress_ifindex, out = ctx->egress_ifindex;
	struct nb_port *pi, *po;
	struct nb_counters *c;
	__u64 depart;

	pi = bpf_map_lookup_elem(&nb_ports, &in);
	po = bpf_map_lookup_elem(&nb_ports, &out);
	if (!pi || !po || pi->switch_id != po->switch_id)
		return XDP_DROP; /* another switch (a broadcast), or a port going away */
	if (limit_check(port_index(po), NB_LIMIT_RX, (__u32)(end - data), &depart) == LIMIT_DROP)
		return XDP_DROP;
	c = port_counters(po);
	if (c) {
		c->rx_frames++;
		c->rx_bytes += (__u32)(end - data);
	}
	return XDP_PASS;
}

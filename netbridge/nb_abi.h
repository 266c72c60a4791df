/* nb_abi.h: the map layout shared by the BPF programs (netbridge/bpf/) and the
 * control plane. Every map is pinned under /sys/fs/bpf/<runtime>/, so this
 * layout is an ABI between a running datapath and the next control plane:
 * change a struct and the next start refuses the pinned maps (libbpf reports
 * the mismatch) instead of misreading them.
 *
 * Includes no headers: the BPF side gets __u8.. from vmlinux.h, the user side
 * from <linux/types.h>. */
#pragma once

#define NB_MAX_SWITCHES 64
#define NB_MAX_PORTS 32 /* per switch; also the flood loop bound */
#define NB_MAX_FDB 8192
#define NB_SWITCH_NAME_MAX 32 /* with the NUL */
#define NB_ETH_ALEN 6

/* nb_ports (HASH, key: __u32 ifindex) */
enum nb_port_kind { NB_PORT_VM = 1, NB_PORT_UPLINK = 2, NB_PORT_HOST = 3 };
/* nb_port.attach: the mode of the port's tc/XDP hooks (NB_ATTACH_MODE_MASK)
 * or'ed with flags. NB_ATTACH_XDP_SKB: generic XDP (XDP_FLAGS_SKB_MODE) on a
 * VM/host port's ingress, the last step of the fallback chain; such a port
 * has no egress hook. NB_ATTACH_XDP_DRV: the uplink also has the native XDP
 * fast path (in front of its tc program, which keeps group frames). */
enum nb_attach_mode {
	NB_ATTACH_NONE = 0,
	NB_ATTACH_TCX = 1,
	NB_ATTACH_CLSACT = 2,
	NB_ATTACH_XDP_SKB = 3
};
#define NB_ATTACH_MODE_MASK 0x0f
#define NB_ATTACH_XDP_DRV 0x40
/* or'ed into nb_port.attach: netbridge created the uplink's device (a VXLAN
 * device) and deletes it with the port */
#define NB_ATTACH_OWN_DEV 0x20
/* or'ed into nb_port.attach: netbridge created the clsact qdisc and removes it */
#define NB_ATTACH_OWN_QDISC 0x80

struct nb_port {
	__u32 switch_id;
	__u32 slot;        /* index in the switch's row of nb_slots; stats index is
			      switch_id * NB_MAX_PORTS + slot */
	__u8 mac[NB_ETH_ALEN]; /* VM/host port: the only source MAC accepted */
	__u8 kind;         /* enum nb_port_kind */
	__u8 attach;       /* enum nb_attach_mode used for this port | NB_ATTACH_OWN_QDISC */
};

/* nb_slots (ARRAY, NB_MAX_SWITCHES * NB_MAX_PORTS, index switch_id *
 * NB_MAX_PORTS + slot): the flood list. ifindex 0 = free slot. */
struct nb_slot {
	__u32 ifindex;
	__u32 kind; /* enum nb_port_kind | NB_SLOT_RX_AT_SITE */
};
/* The port has no tc egress hook (generic-XDP mode): a tc program that
 * clones or redirects to it counts its rx there (the uplink always is). */
#define NB_SLOT_RX_AT_SITE 0x100

/* nb_xdp_tx (DEVMAP_HASH, key: ifindex, value: struct bpf_devmap_val with the
 * egress program nb_xdp_egress): every port of the runtime, the targets of
 * XDP redirects. nb_xdp_egress drops what crosses switches (a generic-XDP
 * flood is a broadcast over the whole map) and counts rx for the rest: after
 * an XDP redirect no tc egress hook runs. */

/* nb_switches (ARRAY, NB_MAX_SWITCHES): control plane only. */
struct nb_switch {
	char name[NB_SWITCH_NAME_MAX];
	__u32 in_use;
	__u32 uplink_ifindex;
	__u32 host_ifindex; /* switch side of the host veth pair */
	__u32 flood_limit;  /* flooded frames per second per port per CPU, 0 = none */
};

/* nb_fdb (HASH, NB_MAX_FDB) */
struct nb_fdb_key {
	__u32 switch_id;
	__u8 mac[NB_ETH_ALEN];
	__u8 pad[2]; /* zero */
};
enum { NB_FDB_STATIC = 1, NB_FDB_LEARNED = 2 };
struct nb_fdb_val {
	__u32 ifindex;
	__u32 flags;     /* NB_FDB_* */
	__u64 seen_ns;   /* CLOCK_MONOTONIC, learned entries; the control plane ages them */
};

/* nb_stats (PERCPU_ARRAY, NB_MAX_SWITCHES * NB_MAX_PORTS): guest point of
 * view. rx = delivered to the port (VM: counted at the tap's tc egress;
 * uplink/host: counted where the switch redirects to it), tx = sent into the
 * switch by the port (counted at its tc ingress). */
enum nb_drop_reason {
	NB_DROP_SPOOFED = 0,
	NB_DROP_NO_ROUTE,
	NB_DROP_REDIRECT_FAILED,
	NB_DROP_FLOOD_LIMIT,
	NB_DROP_MAX
};
struct nb_counters {
	__u64 rx_frames;
	__u64 rx_bytes;
	__u64 tx_frames;
	__u64 tx_bytes;
	__u64 drops[NB_DROP_MAX];
	/* flood limiter state (per CPU): window start and frames in it */
	__u64 flood_window_ns;
	__u64 flood_in_window;
};

/* nb_limits (ARRAY, NB_MAX_SWITCHES * NB_MAX_PORTS, the stats index): a
 * port's rate limits, per direction from the guest's point of view
 * (NB_LIMIT_TX: frames the port sends into the switch, policed at its
 * ingress; NB_LIMIT_RX: frames delivered to it, paced at its egress). Each
 * direction is a departure clock (the EDT scheme of Cilium's bandwidth
 * manager): a frame costs max(bytes * 8 / bits_per_s, 1 / pkts_per_s) of
 * clock; the clock never lags now; a frame whose departure would be more
 * than burst_ns ahead of now is dropped. RX with NB_LIMIT_PACED (an fq
 * qdisc on the port's device): the frame's skb->tstamp is its departure
 * time and fq holds it until then; otherwise it passes at once (policing).
 * A rate of 0 is no limit in that dimension; all 0: no limit. */
enum { NB_LIMIT_TX = 0, NB_LIMIT_RX = 1 };
#define NB_LIMIT_PACED 1
struct nb_limit_dir {
	__u64 bits_per_s;
	__u64 pkts_per_s;
	__u64 burst_bytes; /* as set (the control plane's record) */
	__u64 burst_pkts;
	__u64 burst_ns;    /* the bursts as clock: the smaller where both are set */
	__u64 next_ns; /* the departure clock (datapath state) */
	__u32 flags;   /* NB_LIMIT_PACED */
	__u32 pad;
};
struct nb_limit {
	struct nb_limit_dir dir[2];
};
/* nb_limit_stats (PERCPU_ARRAY, same index): frames the limits held back
 * (given a later departure) and dropped, per direction. */
struct nb_limit_counters {
	__u64 delayed[2];
	__u64 dropped[2];
};

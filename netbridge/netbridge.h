/* netbridge.h: the eBPF virtual switch, as a library for vmmd (and nbctl).
 *
 * A runtime (one per vmmd instance) owns switches; a switch owns ports: VM
 * ports (persistent taps it creates), at most one uplink (an existing host
 * interface it attaches to) and at most one host port (a veth pair into the
 * host stack). Frames are switched by tc programs in the kernel; all state
 * lives in BPF maps pinned under /sys/fs/bpf/<runtime>/, so closing the
 * library (or a crash) neither detaches the datapath nor loses counters, and
 * the next nb_open() of the same runtime adopts everything.
 *
 * Every function returns 0 (or a count) or a negative errno. On failure,
 * nb_last_error() says what failed on which object and why, e.g.
 * "port vmm-web1-0: attach tc ingress: Operation not permitted (needs
 * CAP_NET_ADMIN and CAP_BPF)"; the caller logs it once. Not thread safe: one
 * thread per struct nb. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nb;

#define NB_IFNAME_MAX 16 /* IFNAMSIZ, with the NUL */

/* How nb_open() attaches and pins; all zero (or a NULL pointer) is the
 * default. The library reads no environment: programs fill this in, e.g.
 * with nb_options_from_env() (netbridge_env.h). */
struct nb_options {
	const char *bpffs;  /* bpffs mount point; NULL: /sys/fs/bpf */
	const char *attach; /* VM ports: "tcx", "clsact" or "xdp" fixes the mode (no
			     * probing, no fallback); NULL or "": probe in that order */
	const char *uplink; /* "tc": never the native XDP fast path; "xdp": it or
			     * fail; NULL, "" or "auto": where the driver has it */
	int debug_libbpf;   /* libbpf's debug messages into the log */
};

/* Opens (creating on first use) the runtime: mounts bpffs if needed, loads
 * the programs and reuses the maps pinned under <bpffs>/<runtime>/.
 * runtime: [A-Za-z0-9_-], 1..32 chars. opts may be NULL. */
int nb_open(const char *runtime, const struct nb_options *opts, struct nb **out);
/* Releases this process's handles; the datapath and pins stay. NULL ok. */
void nb_close(struct nb *nb);
/* Removes every switch of the runtime (taps, host veths, uplink hooks, pins)
 * and closes nb. */
int nb_destroy_all(struct nb *nb);

/* The last failure's message (thread-local; empty when none). */
const char *nb_last_error(void);
/* How programs are attached to VM taps and host ports: "tcx", "clsact" or
 * "xdpgeneric" (the probed step of the fallback chain; known after the first
 * attach, "none" before). The uplink's mode is per port (nb_port_list). */
const char *nb_attach_mode(const struct nb *nb);

/* Switch names: [A-Za-z0-9_.-], 1..31 chars. */
int nb_switch_create(struct nb *nb, const char *name);
/* Removes all ports (taps and the host veth deleted, uplink detached), its
 * forwarding table and the switch. */
int nb_switch_destroy(struct nb *nb, const char *name);
/* Flooded frames per second per port (per CPU); 0 = unlimited (default).
 * Frames over the limit count as drops[NB_DROP_FLOOD_LIMIT]. */
int nb_switch_set_flood_limit(struct nb *nb, const char *name, uint32_t frames_per_s);

/* Creates tap `port` (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, persistent, up, IPv6
 * off so that the host sends nothing into it), attaches it to switch `sw`
 * with `mac` as the only source address accepted and a static forwarding
 * entry for it. *ifindex_out (if not NULL) gets the tap's ifindex;
 * *tap_fd_out (if not NULL) gets an open O_CLOEXEC fd on the tap for the
 * monitor, else it is closed. -EEXIST if the interface or MAC exists. */
int nb_port_add_vm(struct nb *nb, const char *sw, const char *port, const uint8_t mac[6],
		   int *ifindex_out, int *tap_fd_out);
/* The same with a multi-queue tap (IFF_MULTI_QUEUE) of `queues` queues
 * (1..NB_MAX_QUEUES; 1 makes a plain tap as above): tap_fds_out (if not
 * NULL) gets one fd per queue, `queues` entries. */
#define NB_MAX_QUEUES 16
int nb_port_add_vm_mq(struct nb *nb, const char *sw, const char *port, const uint8_t mac[6],
		      unsigned queues, int *ifindex_out, int *tap_fds_out);
/* Removes a VM port (deletes the tap) or the host port; for the uplink use
 * nb_set_uplink(nb, sw, NULL). */
int nb_port_remove(struct nb *nb, const char *port);

/* Attaches existing interface `ifname` as the switch's uplink (NULL or ""
 * detaches the current one). Frames from it to a VM MAC are redirected to
 * the VM, group frames are cloned to every port and also passed to the host
 * stack, everything else passes untouched. Its source MACs are learned. A tc
 * program always; in front of it a native XDP program that redirects frames
 * for VM taps, when the driver has native XDP (see $NB_UPLINK). */
int nb_set_uplink(struct nb *nb, const char *sw, const char *ifname);

/* A VXLAN uplink: a kernel VXLAN device that netbridge creates, attaches as
 * the switch's uplink (the same programs and counters as any uplink) and
 * deletes with it. Broadcast and unknown unicast go to every static remote
 * (the device's all-zeros forwarding entries: head-end replication) or to
 * the multicast group; the device learns which remote has which MAC, the
 * switch learns the remote MACs against the uplink port. */
#define NB_VXLAN_PEERS_MAX 16
#define NB_VXLAN_PORT_DEFAULT 4789 /* IANA's VXLAN port */
#define NB_VXLAN_MTU_DEFAULT 1500
struct nb_vxlan {
	uint32_t vni;          /* 1..16777215 */
	const char *local;     /* this host's underlay address, IPv4 or IPv6 */
	const char *remotes[NB_VXLAN_PEERS_MAX]; /* the peers' underlay addresses */
	size_t nr_remotes;
	const char *group;     /* multicast group, or NULL; needs dev */
	const char *dev;       /* underlay device, or NULL (routed by the host) */
	uint16_t port;         /* UDP port; 0: 4789 */
	uint32_t mtu;          /* the device's MTU; 0: 1500 (the underlay carries
				  the 50 (IPv4) or 70 (IPv6) bytes more) */
};
/* Creates VXLAN device ifname (NULL or "": "nbx<8 hex digits>", named in
 * *ifname_out if not NULL) and makes it switch sw's uplink, replacing the
 * current one. -EEXIST if ifname exists. */
int nb_set_vxlan_uplink(struct nb *nb, const char *sw, const char *ifname,
			const struct nb_vxlan *vx, char *ifname_out);

/* Creates the veth pair host_ifname (host end, up, for the host's
 * addresses) <-> "nbh<8 hex digits>" (switch end, named in *port_out if not
 * NULL, NB_IFNAME_MAX bytes) and adds the switch end as a port whose only
 * source MAC is host_ifname's: the host reaches VMs with no uplink. NULL or
 * "" removes it (the pair is deleted). */
int nb_set_host_port(struct nb *nb, const char *sw, const char *host_ifname, char *port_out);

enum nb_drop {
	NB_DROP_STAT_SPOOFED = 0,    /* source MAC is not the port's */
	NB_DROP_STAT_NO_ROUTE,       /* stale entry, hairpin, runt */
	NB_DROP_STAT_REDIRECT_FAILED,/* clone/redirect refused by the target */
	NB_DROP_STAT_FLOOD_LIMIT,    /* over the switch's flood limit */
	NB_DROP_STAT_RATE_TX,        /* over the port's send limit */
	NB_DROP_STAT_RATE_RX,        /* over the port's receive limit */
	NB_DROP_STAT_COUNT
};

/* Guest point of view, exact sums over CPUs, cumulative since the port was
 * added (not reset by a control-plane restart). rx = delivered to the port,
 * tx = sent by the port into the switch (drops included). */
struct nb_port_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t tx_frames, tx_bytes;
	uint64_t drops[NB_DROP_STAT_COUNT];
	uint64_t rx_delayed; /* frames the receive limit held back (paced) */
};
int nb_port_stats(struct nb *nb, const char *port, struct nb_port_stats *out);
const char *nb_drop_name(enum nb_drop d);

/* Rate limits of a port, per direction from the guest's point of view:
 * tx, what the VM sends into the switch (policed where it enters: frames
 * over the limit are dropped), rx, what the switch delivers to it (paced
 * where the kernel has the fq qdisc: frames are held back until their
 * departure time and dropped only past the burst; policed otherwise). A
 * frame costs max(bytes * 8 / bits_per_s, 1 / pkts_per_s) seconds of the
 * direction's clock; a burst lets the clock run that far ahead of now. */
struct nb_rate {
	uint64_t bits_per_s;  /* 0: no bit rate limit */
	uint64_t pkts_per_s;  /* 0: no packet rate limit */
	uint64_t burst_bytes; /* 0: NB_BURST_DEFAULT_MS of bits_per_s, at least 2 full frames */
	uint64_t burst_pkts;  /* 0: NB_BURST_DEFAULT_MS of pkts_per_s, at least 2 */
};
#define NB_BURST_DEFAULT_MS 10
/* Above any link a host has: a typo (bits for bytes, a missing unit) is
 * refused instead of silently meaning "unlimited". */
#define NB_RATE_BITS_MAX 10000000000000ull /* 10 Tbit/s */
#define NB_RATE_PKTS_MAX 1000000000ull     /* 1 G frames/s */
struct nb_port_limit {
	struct nb_rate tx, rx;
};
/* Sets (all zero: removes) the limits of a VM or host port, at once, on a
 * running datapath. */
int nb_port_set_limit(struct nb *nb, const char *port, const struct nb_port_limit *l);
/* The limits as set (bursts as given, 0 for defaults); *paced (if not
 * NULL): whether the receive limit holds frames back (fq) or only drops. */
int nb_port_get_limit(struct nb *nb, const char *port, struct nb_port_limit *out, bool *paced);

enum nb_port_type { NB_PORT_TYPE_VM = 1, NB_PORT_TYPE_UPLINK = 2, NB_PORT_TYPE_HOST = 3 };
struct nb_port_info {
	char name[NB_IFNAME_MAX];
	int ifindex;
	enum nb_port_type type;
	uint8_t mac[6]; /* VM/host port */
	const char *attach; /* "tcx", "clsact", "xdpgeneric"; uplink: "tcx",
			       "clsact", "xdpdrv+tcx", "xdpdrv+clsact" */
};
/* Fills up to max ports of switch sw (slot order); *n = how many exist. */
int nb_port_list(struct nb *nb, const char *sw, struct nb_port_info *out, size_t max, size_t *n);
/* Fills up to max switch names (NB_SWITCH_NAME_MAX = 32 bytes each). */
int nb_switch_list(struct nb *nb, char (*names)[32], size_t max, size_t *n);

struct nb_fdb_entry {
	uint8_t mac[6];
	char port[NB_IFNAME_MAX];
	int ifindex;
	int learned;     /* 0: static (VM/host port), 1: learned on the uplink */
	uint64_t age_ms; /* learned entries: since last seen */
};
int nb_fdb_dump(struct nb *nb, const char *sw, struct nb_fdb_entry *out, size_t max, size_t *n);
/* Removes learned entries of every switch not seen for max_age_ms; returns
 * how many were removed (the control plane calls it periodically). */
int nb_fdb_age(struct nb *nb, uint64_t max_age_ms);

/* Helpers (no privileges needed). */
int nb_parse_mac(const char *s, uint8_t mac[6]);
void nb_format_mac(const uint8_t mac[6], char out[18]);
int nb_valid_name(const char *s, size_t max); /* 0 or -EINVAL */

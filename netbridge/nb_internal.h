/* nb_internal.h: shared between the files of netbridge; not for users. */
#pragma once
#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "netbridge/nb_abi.h"
#include "netbridge/netbridge.h"

struct nb_bpf;

struct nb {
	char runtime[NB_SWITCH_NAME_MAX + 1];
	char pin_dir[256];        /* <bpffs>/<runtime> */
	struct nb_bpf *skel;
	int fd_ports, fd_slots, fd_switches, fd_fdb, fd_stats;
	int fd_xdp_tx;
	int fd_limits, fd_limit_stats;
	int ncpus;
	int mode;                 /* enum nb_attach_mode of new VM/host ports */
	int tc_mode;              /* tcx or clsact: the uplink's tc program */
	bool fq_missing_said;     /* no sch_fq: logged once */
	int uplink_xdp;           /* NB_UPLINK: 0 tc only, 1 auto (native XDP if it
				     attaches), 2 native XDP required */
};

/* Records "fmt...: strerror(-r)[ (hint)]" as the last error; returns r. */
int nb_fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "tcx", "xdpdrv+clsact"...: an nb_port.attach value for people. */
const char *nb_attach_name(int mode);

/* nb_switch.c */
int nb_switch_find(struct nb *nb, const char *name, __u32 *id, struct nb_switch *sw);

/* nb_port.c: a port as the datapath records it */
struct nb_port_spec {
	__u32 switch_id;
	const char *sw_name;
	const char *name;
	int ifindex;
	int kind; /* enum nb_port_kind */
	uint8_t mac[6];
	bool own_dev; /* an uplink netbridge created: deleted with the port */
};
/* Puts an existing interface into the datapath. */
int nb_port_plug(struct nb *nb, const struct nb_port_spec *ps);
/* Unplugs and deletes what netbridge created (taps, host veth); an uplink stays. */
int nb_port_delete(struct nb *nb, __u32 ifindex, const struct nb_port *p);
int nb_port_lookup(struct nb *nb, const char *name, __u32 *ifindex, struct nb_port *p);
/* The same for a VM or host port: an uplink is -EINVAL, "is an uplink (why)". */
int nb_port_lookup_not_uplink(struct nb *nb, const char *name, const char *why, __u32 *ifindex,
			      struct nb_port *p);
/* nb_limit.c: a new port's limits (none) and counters, with the receive
 * limit paced when its device has fq. */
void nb_limit_reset(struct nb *nb, __u32 idx, bool paced);
void nb_limit_stats(struct nb *nb, __u32 idx, struct nb_port_stats *out);

/* Re-attaches every recorded port to this process's programs (nb_open). */
int nb_ports_adopt(struct nb *nb);
/* Deletes the forwarding entries of switch_id, all (ifindex 0) or those to
 * ifindex; returns how many. */
int nb_fdb_flush(struct nb *nb, __u32 switch_id, __u32 ifindex);

/* nb_ifc.c: interfaces */
int nb_tap_create(const char *name, unsigned queues, int *fds);
int nb_link_delete(int ifindex);
int nb_link_set_up(const char *name);
int nb_ipv6_disable(const char *name);
int nb_veth_create(const char *name, const char *peer);
int nb_link_mac(const char *name, uint8_t mac[6]);
/* Makes fq (which honours the departure times of the receive limits) the
 * root qdisc of a device netbridge owns. -ENOENT/-EOPNOTSUPP: no sch_fq. */
int nb_qdisc_fq(const char *name, int ifindex);
/* Creates VXLAN device name as vx says, with its static peers; returns its
 * ifindex. Down: the caller sets it up. */
int nb_vxlan_create(const char *name, const struct nb_vxlan *vx);

/* nb_attach.c: programs on interfaces. dir: 0 ingress, 1 egress, 2 XDP */
enum { NB_DIR_INGRESS = 0, NB_DIR_EGRESS = 1, NB_DIR_XDP = 2 };
int nb_attach(struct nb *nb, int ifindex, int dir, int tc_fd, int xdp_fd, int want, int *mode_out);
int nb_attach_xdp(struct nb *nb, int ifindex, int prog_fd, unsigned flags);
int nb_detach(struct nb *nb, int ifindex, int dir, int mode);
/* Path of the pinned tcx link of (ifindex, dir). */
void nb_link_pin_path(const struct nb *nb, int ifindex, int dir, char *buf, size_t len);

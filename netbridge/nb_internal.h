/* nb_internal.h: shared between the files of netbridge; not for users. */
#pragma once
#include <linux/types.h>
#include <stdbool.h>

#include "netbridge/nb_abi.h"
#include "netbridge/netbridge.h"

struct nb_bpf;

struct nb {
	char runtime[NB_SWITCH_NAME_MAX + 1];
	char pin_dir[256];        /* <bpffs>/<runtime> */
	struct nb_bpf *skel;
	int fd_ports, fd_slots, fd_switches, fd_fdb, fd_stats;
	int fd_xdp_tx;
	int ncpus;
	int mode;                 /* enum nb_attach_mode of new VM/host ports */
	int tc_mode;              /* tcx or clsact: the uplink's tc program */
	int uplink_xdp;           /* NB_UPLINK: 0 tc only, 1 auto (native XDP if it
				     attaches), 2 native XDP required */
};

/* Records "fmt...: strerror(-r)[ (hint)]" as the last error; returns r. */
int nb_fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* nb_ifc.c: interfaces */
int nb_tap_create(const char *name, unsigned queues, int *fds);
int nb_link_delete(int ifindex);
int nb_link_set_up(const char *name);
int nb_ipv6_disable(const char *name);
int nb_veth_create(const char *name, const char *peer);
int nb_link_mac(const char *name, uint8_t mac[6]);

/* nb_attach.c: programs on interfaces. dir: 0 ingress, 1 egress, 2 XDP */
enum { NB_DIR_INGRESS = 0, NB_DIR_EGRESS = 1, NB_DIR_XDP = 2 };
int nb_attach(struct nb *nb, int ifindex, int dir, int tc_fd, int xdp_fd, int want, int *mode_out);
int nb_attach_xdp(struct nb *nb, int ifindex, int prog_fd, unsigned flags);
int nb_detach(struct nb *nb, int ifindex, int dir, int mode);
/* Path of the pinned tcx link of (ifindex, dir). */
void nb_link_pin_path(const struct nb *nb, int ifindex, int dir, char *buf, size_t len);

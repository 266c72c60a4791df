/* nb_ifc.c: the interfaces netbridge creates and deletes: persistent taps
 * (tun ioctls), veth pairs, VXLAN devices with their static peers, and link
 * deletion (rtnetlink, by hand: a few fixed messages do not justify libnl). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/pkt_sched.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if_arp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netbridge/nb_internal.h"
#include "common/util.h"

/* queues == 1: a plain tap; 2..NB_MAX_QUEUES: IFF_MULTI_QUEUE, one fd per
 * queue. fds (queues entries) gets the open fds, or NULL: all closed. */
int nb_tap_create(const char *name, unsigned queues, int *fds)
{
	int opened[NB_MAX_QUEUES], r = 0;
	unsigned n = 0;

	for (; n < queues; n++) {
		struct ifreq ifr = { 0 };

		opened[n] = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (opened[n] < 0) {
			r = nb_fail(-errno, "port %s: open /dev/net/tun", name);
			break;
		}
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (queues > 1 ? IFF_MULTI_QUEUE : 0);
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		if (ioctl(opened[n], TUNSETIFF, &ifr) < 0) {
			r = nb_fail(-errno, "port %s: create tap (TUNSETIFF, queue %u)", name, n);
			close(opened[n]);
			break;
		}
		if (n == 0 && ioctl(opened[n], TUNSETPERSIST, 1) < 0) {
			r = nb_fail(-errno, "port %s: make tap persistent", name);
			n++;
			break;
		}
	}
	if (r < 0 && n > 0)
		ioctl(opened[0], TUNSETPERSIST, 0); /* the tap goes with its last fd */
	for (unsigned i = 0; i < n; i++) {
		if (r == 0 && fds)
			fds[i] = opened[i];
		else
			close(opened[i]);
	}
	return r;
}

static int ifreq_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
	return ioctl(s, req, ifr) < 0 ? -errno : 0;
}

int nb_link_set_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int r = ifreq_ioctl(name, SIOCGIFFLAGS, &ifr);

	if (r < 0)
		return nb_fail(r, "interface %s: get flags", name);
	ifr.ifr_flags |= IFF_UP;
	r = ifreq_ioctl(name, SIOCSIFFLAGS, &ifr);
	if (r < 0)
		return nb_fail(r, "interface %s: set up", name);
	return 0;
}

int nb_link_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int r = ifreq_ioctl(name, SIOCGIFHWADDR, &ifr);

	if (r < 0)
		return nb_fail(r, "interface %s: get MAC address", name);
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		return nb_fail(-EINVAL, "interface %s: not an Ethernet device", name);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* The host must send nothing into a switch port by itself (router
 * solicitations, MLD): every frame a VM gets comes through the switch, and
 * the counters stay exact. ENOENT: no IPv6 in this kernel, nothing to do. */
int nb_ipv6_disable(const char *name)
{
	char path[128];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : nb_fail(-errno, "interface %s: disable IPv6", name);
	if (write(fd, "1", 1) != 1)
		return nb_fail(-errno, "interface %s: disable IPv6", name);
	return 0;
}

/* rtnetlink: one request, one ack. Attributes are appended at the end of
 * the message in buf (cap bytes). */
struct nl_msg {
	union {
		struct nlmsghdr nh;
		char buf[1024];
	};
};

/* A message of type with its family header (hdr, hdrlen bytes) */
static void nl_init_hdr(struct nl_msg *m, int type, int flags, const void *hdr, size_t hdrlen)
{
	memset(m, 0, sizeof(*m));
	m->nh.nlmsg_len = (__u32)NLMSG_LENGTH(hdrlen);
	m->nh.nlmsg_type = (unsigned short)type;
	m->nh.nlmsg_flags = (unsigned short)flags;
	memcpy(m->buf + NLMSG_HDRLEN, hdr, hdrlen);
}

static void nl_init(struct nl_msg *m, int type, int flags, int ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };

	nl_init_hdr(m, type, flags, &ifi, sizeof(ifi));
}

static size_t nl_attr(struct nl_msg *m, int type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(m->nh.nlmsg_len);
	struct rtattr rta = { .rta_type = (unsigned short)type,
			      .rta_len = (unsigned short)RTA_LENGTH(len) };

	if (off + RTA_SPACE(len) > sizeof(m->buf))
		return 0; /* cannot happen with the fixed messages here */
	memcpy(m->buf + off, &rta, sizeof(rta));
	if (len)
		memcpy(m->buf + off + RTA_LENGTH(0), data, len);
	m->nh.nlmsg_len = (__u32)(off + RTA_SPACE(len));
	return off;
}

static void nl_nest_end(struct nl_msg *m, size_t off)
{
	unsigned short len = (unsigned short)(m->nh.nlmsg_len - off);

	memcpy(m->buf + off + offsetof(struct rtattr, rta_len), &len, sizeof(len));
}

static int nl_transact(struct nlmsghdr *nh)
{
	_cleanup_close_ int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	ssize_t n;

	if (s < 0)
		return -errno;
	nh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nh->nlmsg_seq = 1;
	if (sendto(s, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	n = recv(s, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, (size_t)n);
	     r = NLMSG_NEXT(r, n)) {
		if (r->nlmsg_type == NLMSG_ERROR)
			return ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	}
	return -EPROTO;
}

int nb_veth_create(const char *name, const char *peer)
{
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
	size_t linkinfo, data, peerinfo;
	struct nl_msg m;
	int r;

	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	nl_attr(&m, IFLA_IFNAME, name, strlen(name) + 1);
	linkinfo = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m, IFLA_INFO_KIND, "veth", 5);
	data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
	peerinfo = nl_attr(&m, VETH_INFO_PEER, &peer_ifi, sizeof(peer_ifi));
	nl_attr(&m, IFLA_IFNAME, peer, strlen(peer) + 1);
	nl_nest_end(&m, peerinfo);
	nl_nest_end(&m, data);
	nl_nest_end(&m, linkinfo);
	r = nl_transact(&m.nh);
	if (r < 0)
		return nb_fail(r, "host port %s: create veth pair %s/%s", peer, name, peer);
	return 0;
}

int nb_link_delete(int ifindex)
{
	struct nl_msg m;
	int r;

	nl_init(&m, RTM_DELLINK, 0, ifindex);
	r = nl_transact(&m.nh);
	if (r < 0 && r != -ENODEV)
		return nb_fail(r, "interface #%d: delete", ifindex);
	return 0;
}

int nb_qdisc_fq(const char *name, int ifindex)
{
	struct tcmsg tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
			    .tcm_parent = TC_H_ROOT };
	/* room for every frame a burst may hold back, per flow and in all */
	__u32 limit = 10000, flow_limit = 10000;
	struct nl_msg m;
	size_t opts;
	int r;

	nl_init_hdr(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, &tc, sizeof(tc));
	nl_attr(&m, TCA_KIND, "fq", 3);
	opts = nl_attr(&m, TCA_OPTIONS, NULL, 0);
	nl_attr(&m, TCA_FQ_PLIMIT, &limit, sizeof(limit));
	nl_attr(&m, TCA_FQ_FLOW_PLIMIT, &flow_limit, sizeof(flow_limit));
	nl_nest_end(&m, opts);
	r = nl_transact(&m.nh);
	if (r < 0)
		return nb_fail(r, "port %s: fq qdisc", name);
	return 0;
}

/* An IPv4 or IPv6 address in text: its family and bytes (4 or 16). */
struct nb_addr {
	int family;
	unsigned char a[16];
	size_t len;
};

static int addr_parse(const char *s, struct nb_addr *out)
{
	if (s && inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET, out->len = 4;
		return 0;
	}
	if (s && inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6, out->len = 16;
		return 0;
	}
	return -EINVAL;
}

static int ifindex_of(const char *name)
{
	struct ifreq ifr = { 0 };

	return ifreq_ioctl(name, SIOCGIFINDEX, &ifr) < 0 ? 0 : ifr.ifr_ifindex;
}

static bool addr_multicast(const struct nb_addr *x)
{
	return x->family == AF_INET ? (x->a[0] & 0xf0) == 0xe0 : x->a[0] == 0xff;
}

/* The addresses of a VXLAN definition, checked: one family, a unicast local
 * address, unicast peers, a multicast group with its device. */
static int vxlan_addrs(const char *name, const struct nb_vxlan *vx, struct nb_addr *local,
		       struct nb_addr *group, struct nb_addr *peers)
{
	if (!vx->vni || vx->vni > 0xffffff)
		return nb_fail(-EINVAL, "vxlan %s: VNI %u (1..16777215)", name, vx->vni);
	if (vx->nr_remotes > NB_VXLAN_PEERS_MAX)
		return nb_fail(-EINVAL, "vxlan %s: %zu remotes (at most %d)", name, vx->nr_remotes,
			       NB_VXLAN_PEERS_MAX);
	if (!vx->nr_remotes && !(vx->group && *vx->group))
		return nb_fail(-EINVAL, "vxlan %s: no remote and no group: nowhere to flood to", name);
	if (addr_parse(vx->local, local) < 0 || addr_multicast(local))
		return nb_fail(-EINVAL, "vxlan %s: local address '%s': not a unicast IPv4 or IPv6 "
				  "address", name, vx->local ?: "");
	group->family = 0;
	if (vx->group && *vx->group) {
		if (addr_parse(vx->group, group) < 0 || !addr_multicast(group) ||
		    group->family != local->family)
			return nb_fail(-EINVAL, "vxlan %s: group '%s': not a multicast address of the "
					  "local address's family", name, vx->group);
		if (!vx->dev || !*vx->dev)
			return nb_fail(-EINVAL, "vxlan %s: a multicast group needs the underlay "
					  "device (dev)", name);
	}
	for (size_t i = 0; i < vx->nr_remotes; i++)
		if (addr_parse(vx->remotes[i], &peers[i]) < 0 || addr_multicast(&peers[i]) ||
		    peers[i].family != local->family)
			return nb_fail(-EINVAL, "vxlan %s: remote '%s': not a unicast address of the "
					  "local address's family", name, vx->remotes[i] ?: "");
	return 0;
}

/* A static peer: an all-zeros entry in the device's own forwarding table,
 * so that broadcast and unknown unicast go to it (head-end replication). */
static int vxlan_peer_add(const char *name, int ifindex, const struct nb_addr *peer)
{
	static const unsigned char zeros[6];
	struct ndmsg nd = { .ndm_family = AF_BRIDGE, .ndm_ifindex = ifindex,
			    .ndm_state = NUD_NOARP | NUD_PERMANENT, .ndm_flags = NTF_SELF };
	char text[INET6_ADDRSTRLEN];
	struct nl_msg m;
	int r;

	nl_init_hdr(&m, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, &nd, sizeof(nd));
	nl_attr(&m, NDA_LLADDR, zeros, sizeof(zeros));
	nl_attr(&m, NDA_DST, peer->a, peer->len);
	r = nl_transact(&m.nh);
	if (r < 0)
		return nb_fail(r, "vxlan %s: add remote %s", name,
			       inet_ntop(peer->family, peer->a, text, sizeof(text)) ?: "?");
	return 0;
}

int nb_vxlan_create(const char *name, const struct nb_vxlan *vx)
{
	struct nb_addr local, group, peers[NB_VXLAN_PEERS_MAX];
	__u32 vni = vx->vni, mtu = vx->mtu ?: NB_VXLAN_MTU_DEFAULT, link = 0;
	__u16 port = htons(vx->port ?: NB_VXLAN_PORT_DEFAULT);
	__u8 learning = 1;
	size_t linkinfo, data;
	struct nl_msg m;
	int r, ifindex;

	r = vxlan_addrs(name, vx, &local, &group, peers);
	if (r < 0)
		return r;
	if (vx->dev && *vx->dev && !(link = (__u32)ifindex_of(vx->dev)))
		return nb_fail(-ENODEV, "vxlan %s: underlay device %s", name, vx->dev);
	nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	nl_attr(&m, IFLA_IFNAME, name, strlen(name) + 1);
	nl_attr(&m, IFLA_MTU, &mtu, sizeof(mtu));
	linkinfo = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	nl_attr(&m, IFLA_INFO_KIND, "vxlan", 6);
	data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
	nl_attr(&m, IFLA_VXLAN_ID, &vni, sizeof(vni));
	nl_attr(&m, local.family == AF_INET ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, local.a, local.len);
	if (group.family)
		nl_attr(&m, group.family == AF_INET ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, group.a,
			group.len);
	if (link)
		nl_attr(&m, IFLA_VXLAN_LINK, &link, sizeof(link));
	nl_attr(&m, IFLA_VXLAN_PORT, &port, sizeof(port));
	nl_attr(&m, IFLA_VXLAN_LEARNING, &learning, sizeof(learning));
	nl_nest_end(&m, data);
	nl_nest_end(&m, linkinfo);
	r = nl_transact(&m.nh);
	if (r < 0)
		return nb_fail(r, "vxlan %s: create (VNI %u)", name, vni);
	ifindex = ifindex_of(name);
	if (!ifindex)
		return nb_fail(-ENODEV, "vxlan %s: find the new device", name);
	for (size_t i = 0; i < vx->nr_remotes; i++) {
		r = vxlan_peer_add(name, ifindex, &peers[i]);
		if (r < 0) {
			nb_link_delete(ifindex);
			return r;
		}
	}
	return ifindex;
}

/* nb_ifc.c: the interfaces netbridge creates and deletes: persistent taps
 * (tun ioctls), veth pairs and link deletion (rtnetlink, by hand: a few
 * fixed messages do not justify libnl). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
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

static struct nlmsghdr *nl_init(struct nl_msg *m, int type, int flags, int ifindex)
{
	struct ifinfomsg *ifi;

	memset(m, 0, sizeof(*m));
	m->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	m->nh.nlmsg_type = (unsigned short)type;
	m->nh.nlmsg_flags = (unsigned short)flags;
	ifi = (struct ifinfomsg *)(m->buf + NLMSG_HDRLEN);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return &m->nh;
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

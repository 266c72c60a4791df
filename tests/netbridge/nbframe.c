/* nbframe: test helper for netbridge. Opens endpoints (taps of a switch, or
 * any interface through AF_PACKET, in any named netns), then runs commands in
 * order while reading every endpoint, and reports what each one received.
 *
 *   nbframe ENDPOINT... [-- COMMAND ARGS]...
 *   ENDPOINT: tap:IFNAME[@NETNS] | pkt:IFNAME[@NETNS]
 *   send IFNAME DST SRC COUNT SIZE   COUNT frames of SIZE bytes (>= 60, no
 *                                    FCS), ethertype 0x88b5, to DST from SRC
 *   flood IFNAME DST SRC MS SIZE     send as fast as possible for MS ms, no
 *                                    reading; prints "IFNAME sent=N" (bench)
 *   sendtso IFNAME DST SRC PAYLOAD MSS
 *                                    one IPv4 TCP frame (198.51.100.1 ->
 *                                    .2) with PAYLOAD bytes after its 54
 *                                    bytes of headers, given to a tap as
 *                                    GSO (TCPV4, gso_size MSS): what a TSO
 *                                    guest sends; a tap without offloads
 *                                    receives it as ceil(PAYLOAD/MSS) frames
 *   wait MS                          keep receiving for MS milliseconds
 *   report                           per endpoint: "IFNAME rx=N" then one
 *                                    line per (src, dst, type): "IFNAME
 *                                    SRC>DST type=0xTTTT n=N bytes=B"
 * Taps carry a 10-byte virtio-net header (IFF_VNET_HDR), zero here but for
 * sendtso.
 * Exit 0, or 1 with a message naming the failing endpoint or command. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netbridge/netbridge.h"
#include "common/util.h"

#define MAX_EP 16
#define MAX_FLOWS 64
#define VNET_HDR_LEN 10
#define TEST_ETHERTYPE 0x88b5

struct flow {
	uint8_t src[6], dst[6];
	uint16_t type;
	uint64_t n, bytes;
};

struct endpoint {
	char name[IFNAMSIZ];
	int fd, is_tap, ifindex;
	int ctl; /* a socket in the endpoint's netns, for SIOCGIFFLAGS */
	uint64_t rx;
	struct flow flows[MAX_FLOWS];
	int nflows;
};

static struct endpoint eps[MAX_EP];
static int neps;

static int die(const char *fmt, const char *arg, int err)
{
	fprintf(stderr, "nbframe: ");
	fprintf(stderr, fmt, arg);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fprintf(stderr, "\n");
	exit(1);
}

static int enter_netns(const char *ns)
{
	char path[256];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		die("netns %s", ns, errno);
	return 0;
}

static void open_endpoint(const char *spec)
{
	struct endpoint *ep = &eps[neps];
	char buf[128], *at, *name;
	int self = -1;

	if (neps == MAX_EP)
		die("too many endpoints at %s", spec, 0);
	snprintf(buf, sizeof(buf), "%s", spec);
	at = strchr(buf, '@');
	if (at) {
		*at = 0;
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		enter_netns(at + 1);
	}
	if (!strncmp(buf, "tap:", 4)) {
		struct ifreq ifr = { 0 };

		name = buf + 4;
		ep->is_tap = 1;
		ep->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.15s", name);
		if (ep->fd < 0 || ioctl(ep->fd, TUNSETIFF, &ifr) < 0)
			die("tap %s: attach", name, errno);
	} else if (!strncmp(buf, "pkt:", 4)) {
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(ETH_P_ALL) };

		name = buf + 4;
		ep->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
		if (ep->fd < 0)
			die("packet socket for %s", name, errno);
		sll.sll_ifindex = (int)if_nametoindex(name);
		if (!sll.sll_ifindex || bind(ep->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
			die("interface %s: bind packet socket", name, errno);
		ep->ifindex = sll.sll_ifindex;
	} else {
		die("endpoint %s: expected tap:IFNAME or pkt:IFNAME", spec, 0);
		return;
	}
	snprintf(ep->name, sizeof(ep->name), "%.15s", name);
	ep->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ep->ctl < 0)
		die("socket in the netns of %s", name, errno);
	if (self >= 0) {
		if (setns(self, CLONE_NEWNET) < 0)
			die("back to own netns from %s", spec, errno);
		close(self);
	}
	neps++;
}

/* A tap gets its carrier when our fd attaches, but its qdisc is only
 * activated later by linkwatch (up to a second): until then the kernel drops
 * what is sent to it. Wait until every tap is running. */
static void wait_running(void)
{
	uint64_t end = now_ns() + 5000000000ull;

	for (int i = 0; i < neps; i++) {
		struct ifreq ifr = { 0 };

		memcpy(ifr.ifr_name, eps[i].name, sizeof(ifr.ifr_name));
		for (;;) {
			if (ioctl(eps[i].ctl, SIOCGIFFLAGS, &ifr) < 0)
				die("interface %s: get flags", eps[i].name, errno);
			if (ifr.ifr_flags & IFF_RUNNING)
				break;
			if (now_ns() > end)
				die("interface %s: not running after 5 s", eps[i].name, 0);
			usleep(10000);
		}
	}
	usleep(20000); /* linkwatch sets the flag just before activating the qdisc */
}

static struct endpoint *find(const char *name)
{
	for (int i = 0; i < neps; i++)
		if (!strcmp(eps[i].name, name))
			return &eps[i];
	die("no endpoint %s", name, 0);
	return NULL;
}

static void record(struct endpoint *ep, const uint8_t *f, size_t len)
{
	struct flow *fl = NULL;
	uint16_t type;

	if (len < 14)
		return;
	ep->rx++;
	type = (uint16_t)(f[12] << 8 | f[13]);
	for (int i = 0; i < ep->nflows; i++)
		if (!memcmp(ep->flows[i].dst, f, 6) && !memcmp(ep->flows[i].src, f + 6, 6) &&
		    ep->flows[i].type == type)
			fl = &ep->flows[i];
	if (!fl && ep->nflows < MAX_FLOWS) {
		fl = &ep->flows[ep->nflows++];
		memcpy(fl->dst, f, 6);
		memcpy(fl->src, f + 6, 6);
		fl->type = type;
	}
	if (fl) {
		fl->n++;
		fl->bytes += len;
	}
}

static void drain(struct endpoint *ep)
{
	uint8_t buf[65536];

	for (;;) {
		if (ep->is_tap) {
			ssize_t n = read(ep->fd, buf, sizeof(buf));

			if (n < 0)
				break;
			if (n >= VNET_HDR_LEN)
				record(ep, buf + VNET_HDR_LEN, (size_t)n - VNET_HDR_LEN);
		} else {
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(ep->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

			if (n < 0)
				break;
			if (from.sll_pkttype != PACKET_OUTGOING)
				record(ep, buf, (size_t)n);
		}
	}
}

static void receive_for(int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	struct pollfd pfd[MAX_EP];

	for (;;) {
		uint64_t now = now_ns();

		for (int i = 0; i < neps; i++) {
			pfd[i].fd = eps[i].fd;
			pfd[i].events = POLLIN;
		}
		if (now >= end)
			break;
		if (poll(pfd, (nfds_t)neps, (int)((end - now) / 1000000u) + 1) < 0 && errno != EINTR)
			die("poll%s", "", errno);
		for (int i = 0; i < neps; i++)
			if (pfd[i].revents & POLLIN)
				drain(&eps[i]);
	}
	for (int i = 0; i < neps; i++)
		drain(&eps[i]);
}

static void send_frames(char **a)
{
	struct endpoint *ep = find(a[0]);
	uint8_t buf[VNET_HDR_LEN + 9216] = { 0 };
	uint8_t *f = buf + VNET_HDR_LEN;
	unsigned long count = strtoul(a[3], NULL, 10), size = strtoul(a[4], NULL, 10);

	if (nb_parse_mac(a[1], f) < 0 || nb_parse_mac(a[2], f + 6) < 0)
		die("send %s: bad MAC", a[0], 0);
	if (size < 60 || size > 9216)
		die("send: size %s out of 60..9216", a[4], 0);
	f[12] = TEST_ETHERTYPE >> 8;
	f[13] = TEST_ETHERTYPE & 0xff;
	for (unsigned long i = 0; i < count; i++) {
		ssize_t n;

		memcpy(f + 14, &i, sizeof(i)); /* a sequence number */
		for (;;) {
			if (ep->is_tap) {
				n = write(ep->fd, buf, VNET_HDR_LEN + size);
			} else {
				struct sockaddr_ll to = { .sll_family = AF_PACKET,
							  .sll_ifindex = ep->ifindex, .sll_halen = 6 };

				memcpy(to.sll_addr, f, 6);
				n = sendto(ep->fd, f, size, 0, (struct sockaddr *)&to, sizeof(to));
			}
			if (n >= 0)
				break;
			if (errno != EAGAIN && errno != ENOBUFS)
				die("send on %s", ep->name, errno);
			receive_for(1);
		}
		/* keep the receivers' queues from overflowing */
		if ((i & 63) == 63)
			receive_for(0);
	}
}

/* One IPv4 TCP frame of PAYLOAD bytes handed to the tap as GSO (TCPV4,
 * gso_size MSS, the checksum left to the kernel: NEEDS_CSUM). */
static void send_tso(char **a)
{
	static uint8_t buf[VNET_HDR_LEN + 65536];
	struct endpoint *ep = find(a[0]);
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)buf;
	uint8_t *f = buf + VNET_HDR_LEN, *ip = f + 14, *tcp = ip + 20;
	unsigned long payload = strtoul(a[3], NULL, 10), mss = strtoul(a[4], NULL, 10);
	unsigned tot = 40 + (unsigned)payload;

	if (!ep->is_tap)
		die("sendtso %s: not a tap", a[0], 0);
	if (payload < 1 || tot > 65535 || mss < 64 || mss > 9000)
		die("sendtso: payload or MSS out of range at %s", a[3], 0);
	memset(buf, 0, VNET_HDR_LEN + 54);
	if (nb_parse_mac(a[1], f) < 0 || nb_parse_mac(a[2], f + 6) < 0)
		die("sendtso %s: bad MAC", a[0], 0);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h->hdr_len = 54;
	h->gso_size = (uint16_t)mss;
	h->csum_start = 34;
	h->csum_offset = 16;
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, (uint8_t[]){ 198, 51, 100, 1, 198, 51, 100, 2 }, 8);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	tcp[0] = 0x9c; /* ports 40000 -> 5201 */
	tcp[1] = 0x40;
	tcp[2] = 0x14;
	tcp[3] = 0x51;
	tcp[12] = 5 << 4;
	tcp[13] = 0x18; /* PSH ACK */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	memset(tcp + 20, 0xa5, payload);
	if (write(ep->fd, buf, VNET_HDR_LEN + 54 + payload) < 0)
		die("sendtso on %s", ep->name, errno);
}

/* As fast as possible for ms milliseconds, nothing read meanwhile (a
 * separate nbframe sinks the other end); prints "IFNAME sent=N". */
static void flood_frames(char **a)
{
	struct endpoint *ep = find(a[0]);
	uint8_t buf[VNET_HDR_LEN + 9216] = { 0 };
	uint8_t *f = buf + VNET_HDR_LEN;
	unsigned long ms = strtoul(a[3], NULL, 10), size = strtoul(a[4], NULL, 10);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = ep->ifindex,
				  .sll_halen = 6 };
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u, sent = 0;

	if (nb_parse_mac(a[1], f) < 0 || nb_parse_mac(a[2], f + 6) < 0)
		die("flood %s: bad MAC", a[0], 0);
	if (size < 60 || size > 9216)
		die("flood: size %s out of 60..9216", a[4], 0);
	f[12] = TEST_ETHERTYPE >> 8;
	f[13] = TEST_ETHERTYPE & 0xff;
	memcpy(to.sll_addr, f, 6);
	for (;;) {
		for (int i = 0; i < 256; i++) {
			ssize_t n = ep->is_tap ? write(ep->fd, buf, VNET_HDR_LEN + size)
					       : sendto(ep->fd, f, size, 0, (struct sockaddr *)&to,
							sizeof(to));

			if (n >= 0)
				sent++;
			else if (errno != EAGAIN && errno != ENOBUFS)
				die("flood on %s", ep->name, errno);
		}
		if (now_ns() >= end)
			break;
	}
	printf("%s sent=%llu\n", ep->name, (unsigned long long)sent);
	fflush(stdout);
}

static void report(void)
{
	for (int i = 0; i < neps; i++) {
		struct endpoint *ep = &eps[i];

		printf("%s rx=%llu\n", ep->name, (unsigned long long)ep->rx);
		for (int j = 0; j < ep->nflows; j++) {
			char s[18], d[18];

			nb_format_mac(ep->flows[j].src, s);
			nb_format_mac(ep->flows[j].dst, d);
			printf("%s %s>%s type=0x%04x n=%llu bytes=%llu\n", ep->name, s, d,
			       ep->flows[j].type, (unsigned long long)ep->flows[j].n,
			       (unsigned long long)ep->flows[j].bytes);
		}
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && strcmp(argv[i], "--"); i++)
		open_endpoint(argv[i]);
	wait_running();
	while (i < argc) {
		char **a = &argv[++i];
		int left = argc - i;

		if (left <= 0)
			break;
		if (!strcmp(a[0], "send") && left >= 6) {
			send_frames(a + 1);
			i += 6;
		} else if (!strcmp(a[0], "sendtso") && left >= 6) {
			send_tso(a + 1);
			i += 6;
		} else if (!strcmp(a[0], "flood") && left >= 6) {
			flood_frames(a + 1);
			i += 6;
		} else if (!strcmp(a[0], "wait") && left >= 2) {
			receive_for(atoi(a[1]));
			i += 2;
		} else if (!strcmp(a[0], "report")) {
			report();
			i += 1;
		} else {
			die("bad command at %s", a[0], 0);
		}
	}
	return 0;
}

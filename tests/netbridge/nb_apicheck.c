/* nb_apicheck: drives the netbridge library as vmmd does, in the current
 * netns (tests/integration/netbridge_api.sh runs it in a namespace of its
 * own): open, switch, two VM ports with their tap fds handed back, a frame
 * through the switch on those fds, exact counters, close and reopen (the
 * counters and the datapath survive), a multi-queue port, port list, FDB
 * dump, removal, destroy.
 * Usage: nb_apicheck RUNTIME. Exit 0, or 1 naming the failed step. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netbridge/netbridge.h"
#include "netbridge/netbridge_env.h"

#define VNET_HDR_LEN 10

static int check(int ok, const char *what, int r)
{
	if (!ok) {
		fprintf(stderr, "nb_apicheck: %s failed (%d %s): %s\n", what, r,
			r < 0 ? strerror(-r) : "", nb_last_error());
		_exit(1);
	}
	return 0;
}

/* The tap's qdisc is activated by linkwatch some time after it is up with
 * a carrier (up to a second); until then frames to it are dropped. */
static void wait_running(const char *ifname)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	for (int i = 0; i < 500; i++) {
		check(ioctl(s, SIOCGIFFLAGS, &ifr) == 0, "SIOCGIFFLAGS", -errno);
		if (ifr.ifr_flags & IFF_RUNNING)
			break;
		usleep(10000);
	}
	check(ifr.ifr_flags & IFF_RUNNING, ifname, -ETIMEDOUT);
	close(s);
	usleep(20000);
}

/* One frame A -> B through the switch, written on fa, read back on fb. */
static void pass_frame(int fa, int fb, const uint8_t a[6], const uint8_t b[6])
{
	uint8_t buf[VNET_HDR_LEN + 60] = { 0 }, in[2048];
	struct pollfd p = { .fd = fb, .events = POLLIN };
	ssize_t n;

	memcpy(buf + VNET_HDR_LEN, b, 6);
	memcpy(buf + VNET_HDR_LEN + 6, a, 6);
	buf[VNET_HDR_LEN + 12] = 0x88;
	buf[VNET_HDR_LEN + 13] = 0xb5;
	check(write(fa, buf, sizeof(buf)) == (ssize_t)sizeof(buf), "write on tap A", -errno);
	check(poll(&p, 1, 2000) == 1, "frame at tap B", -ETIMEDOUT);
	n = read(fb, in, sizeof(in));
	check(n == (ssize_t)sizeof(buf), "read on tap B", n < 0 ? -errno : (int)n);
	check(!memcmp(in + VNET_HDR_LEN, buf + VNET_HDR_LEN, 60), "frame content", 0);
}

int main(int argc, char **argv)
{
	const uint8_t a[6] = { 2, 0, 0, 0, 0, 0xa }, b[6] = { 2, 0, 0, 0, 0, 0xb };
	const uint8_t c[6] = { 2, 0, 0, 0, 0, 0xc }, d[6] = { 2, 0, 0, 0, 0, 0xd };
	const struct nb_options opts = nb_options_from_env();
	int fc[2] = { -1, -1 };
	struct nb_port_stats sa, sb;
	struct nb_port_info ports[4];
	struct nb_fdb_entry fdb[8];
	struct nb *nb;
	int r, fa = -1, fb = -1, ia = 0, ib = 0;
	uint64_t sent;
	size_t n;

	if (argc != 2)
		return 2;
	r = nb_open(argv[1], &opts, &nb);
	check(r == 0, "nb_open", r);
	r = nb_switch_create(nb, "apisw");
	check(r == 0, "nb_switch_create", r);
	r = nb_port_add_vm(nb, "apisw", "vmm-api-0", a, &ia, &fa);
	check(r == 0 && ia > 0 && fa >= 0, "nb_port_add_vm A", r);
	r = nb_port_add_vm(nb, "apisw", "vmm-api-1", b, &ib, &fb);
	check(r == 0 && ib > 0 && fb >= 0 && ib != ia, "nb_port_add_vm B", r);
	wait_running("vmm-api-0");
	wait_running("vmm-api-1");
	pass_frame(fa, fb, a, b);
	r = nb_port_stats(nb, "vmm-api-0", &sa);
	check(r == 0 && sa.tx_frames == 1 && sa.tx_bytes == 60 && sa.rx_frames == 0, "stats A", r);
	r = nb_port_stats(nb, "vmm-api-1", &sb);
	check(r == 0 && sb.rx_frames == 1 && sb.rx_bytes == 60 && sb.tx_frames == 0, "stats B", r);
	sent = sa.tx_frames;

	/* control plane restart: the monitor's fds and the datapath stay */
	nb_close(nb);
	r = nb_open(argv[1], &opts, &nb);
	check(r == 0, "nb_open again", r);
	r = nb_port_stats(nb, "vmm-api-0", &sa);
	check(r == 0 && sa.tx_frames == sent && sent == 1, "stats A after restart", r);
	pass_frame(fa, fb, a, b);
	r = nb_port_stats(nb, "vmm-api-1", &sb);
	check(r == 0 && sb.rx_frames == 2 && sb.rx_bytes == 120, "stats B after restart", r);
	/* a multi-queue tap: the frame arrives on one of its queue fds */
	r = nb_port_add_vm_mq(nb, "apisw", "vmm-api-2", c, 2, NULL, fc);
	check(r == 0 && fc[0] >= 0 && fc[1] >= 0 && fc[0] != fc[1], "nb_port_add_vm_mq", r);
	r = nb_port_add_vm_mq(nb, "apisw", "vmm-api-3", d, NB_MAX_QUEUES + 1, NULL, NULL);
	check(r == -EINVAL && strstr(nb_last_error(), "queues"), "too many queues", r);
	wait_running("vmm-api-2");
	{
		uint8_t buf[VNET_HDR_LEN + 60] = { 0 }, in[2048];
		struct pollfd p[2] = { { .fd = fc[0], .events = POLLIN },
				       { .fd = fc[1], .events = POLLIN } };

		memcpy(buf + VNET_HDR_LEN, c, 6);
		memcpy(buf + VNET_HDR_LEN + 6, a, 6);
		check(write(fa, buf, sizeof(buf)) == (ssize_t)sizeof(buf), "write A to C", -errno);
		check(poll(p, 2, 2000) == 1, "frame on one queue of C", -ETIMEDOUT);
		check(read(p[0].revents ? fc[0] : fc[1], in, sizeof(in)) == (ssize_t)sizeof(buf),
		      "read on C", -errno);
	}
	r = nb_port_stats(nb, "vmm-api-2", &sb);
	check(r == 0 && sb.rx_frames == 1 && sb.rx_bytes == 60, "stats C", r);
	close(fc[0]);
	close(fc[1]);
	r = nb_port_remove(nb, "vmm-api-2");
	check(r == 0, "nb_port_remove C", r);

	r = nb_port_list(nb, "apisw", ports, 4, &n);
	check(r == 0 && n == 2 && !strcmp(ports[0].name, "vmm-api-0") &&
		      ports[1].ifindex == ib && ports[1].type == NB_PORT_TYPE_VM &&
		      !memcmp(ports[1].mac, b, 6),
	      "nb_port_list", r);
	r = nb_fdb_dump(nb, "apisw", fdb, 8, &n);
	check(r == 0 && n == 2 && !fdb[0].learned, "nb_fdb_dump", r);
	r = nb_port_stats(nb, "nosuch0", &sa);
	check(r == -ENODEV && strstr(nb_last_error(), "nosuch0"), "stats of a missing port", r);

	close(fa);
	close(fb);
	r = nb_port_remove(nb, "vmm-api-0");
	check(r == 0, "nb_port_remove", r);
	r = nb_port_list(nb, "apisw", ports, 4, &n);
	check(r == 0 && n == 1, "nb_port_list after remove", r);
	r = nb_switch_destroy(nb, "apisw");
	check(r == 0, "nb_switch_destroy", r);
	r = nb_port_list(nb, "apisw", ports, 4, &n);
	check(r == -ENOENT, "switch gone", r);
	r = nb_destroy_all(nb);
	check(r == 0, "nb_destroy_all", r);
	printf("nb_apicheck: ok\n");
	return 0;
}

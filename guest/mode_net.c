/* mode_net.c: the network modes, on the PCnet (pcnet.c) or virtio-net
 * (virtio_net.c) driver.
 *
 *   tx count=N size=S dst=MAC   sends N frames of S bytes (60..1514, no FCS)
 *                               of ethertype 0x88b5 with a sequence number,
 *                               waits until all completed, returns 0;
 *      tso=1                    virtio-net only: IPv4/TCP frames of up to
 *                               65549 bytes (198.51.100.2:40000 to
 *                               198.51.100.1:5001) that the device segments
 *   rx [count=N] [time=T]       counts received frames of ethertype 0x88b5
 *                               until N arrived, T seconds passed or the stop
 *                               request; returns 0
 *   echo ip=A.B.C.D             answers ARP requests and ICMP echo requests
 *                               for that address until the stop request, then
 *                               powers off
 *      ping=A.B.C.D [count=N]   meanwhile resolves that address (ARP) and
 *      [time=T]                 sends it N echo requests (default 5), one
 *                               every 200 ms, and prints one result line
 *                               when all N were answered or T seconds
 *                               (default 20, by the PIT) passed
 * nic=pcnet|virtio|auto (default auto) picks the driver; intr=auto|msix|intx
 * (default auto) how virtio-net interrupts (PCnet: INTx only).
 * Each prints "netguest: mode=M ready ..." once the NIC is up, and one
 * "netguest: mode=M result=... key=value..." summary. Frame payloads are
 * written at CPL3 (user_call); the driver and the per-frame work run at CPL0.
 * The PIT ticks at TICK_HZ meanwhile (tick_start): timeouts count ticks, and
 * no hlt outlasts a tick, so a late or lost NIC interrupt costs at most a
 * tick (the waits poll the rings again; "polled=" counts the waits that
 * ended so) and a stalled NIC fails with its ring state printed.
 */
#include "netguest.h"

#define ETH_HLEN 14
#define ETHERTYPE_TEST 0x88b5 /* IEEE 802 local experimental */
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_IPV4 0x0800
#define FRAME_MIN 60
#define FRAME_MAX 1514
#define IP_HLEN 20
#define TCP_SEQ_OFF (ETH_HLEN + IP_HLEN + 4)
#define TCP_CSUM_OFF (ETH_HLEN + IP_HLEN + 16)
#define TSO_SPORT 40000
#define TSO_DPORT 5001
#define TX_WAIT_TICKS (5 * TICK_HZ)  /* for one free descriptor */
#define TX_DRAIN_TICKS (5 * TICK_HZ) /* for the last frames, plus 1 ms a frame */

static int parse_mac(const char *s, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++) {
		unsigned v = 0;
		for (unsigned k = 0; k < 2; k++, s++) {
			char c = *s;
			unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
				   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
				   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
			if (d > 15)
				return -1;
			v = v * 16 + d;
		}
		mac[i] = (uint8_t)v;
		if (i < 5 && *s++ != ':')
			return -1;
	}
	return *s ? -1 : 0;
}

static int parse_ip(const char *s, uint8_t ip[4])
{
	for (unsigned i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || v > 255)
			return -1;
		ip[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	return *s ? -1 : 0;
}

/* The driver: PCnet (pcnet.c) or virtio-net (virtio_net.c), by nic=pcnet|
 * virtio, or by what is on the bus (nic=auto, the default: virtio-net when
 * present, else PCnet). */
struct nic_driver {
	bool (*open)(net_rx_fn fn);
	void (*close)(void);
	bool (*tx_free)(void);
	unsigned (*tx_slot)(void);
	unsigned (*tx_slots)(void);
	uint8_t *(*tx_buf)(unsigned slot);
	void (*tx_send)(unsigned len);
	unsigned (*tx_pending)(void);
	void (*tx_reclaim)(void);
	void (*dump)(void);
};
static const struct nic_driver pcnet_driver = { net_open, net_close, net_tx_free, net_tx_slot,
						net_tx_slots, net_tx_buf, net_tx_send, net_tx_pending,
						net_tx_reclaim, net_dump };
static const struct nic_driver virtio_driver = { vnet_open, vnet_close, vnet_tx_free, vnet_tx_slot,
						 vnet_tx_slots, vnet_tx_buf, vnet_tx_send,
						 vnet_tx_pending, vnet_tx_reclaim, vnet_dump };
static const struct nic_driver *nic = &pcnet_driver;

static bool nic_choose(const char *name)
{
	unsigned dev;

	if (!name || !kstrcmp(name, "auto"))
		nic = pci_find(0x1af4, 0x1041, &dev) ? &virtio_driver : &pcnet_driver;
	else if (!kstrcmp(name, "virtio"))
		nic = &virtio_driver;
	else if (!kstrcmp(name, "pcnet"))
		nic = &pcnet_driver;
	else
		return false;
	return true;
}

/* intr=: MSI-X is virtio-net's only (PCnet has INTx alone). */
static bool intr_choose(const char *name)
{
	if (!name || !kstrcmp(name, "auto"))
		vnet_intr = NET_INTR_AUTO;
	else if (!kstrcmp(name, "msix"))
		vnet_intr = NET_INTR_MSIX;
	else if (!kstrcmp(name, "intx"))
		vnet_intr = NET_INTR_INTX;
	else
		return false;
	return vnet_intr != NET_INTR_MSIX || nic == &virtio_driver;
}

/* nic= and intr=, shared by the modes (TSO off unless tx turns it on). */
static bool nic_args_ok(struct cmdline *c)
{
	bool ok = nic_choose(cmdline_get(c, "nic"));

	vnet_tso = false;
	return intr_choose(cmdline_get(c, "intr")) && ok;
}

/* Shared by the modes: every key known, values valid. */
static bool args_ok(const char *mode, struct cmdline *c, bool bad)
{
	const struct cmdline_arg *u = cmdline_unused(c);

	if (bad) {
		kprintf("netguest: mode=%s result=fail error=bad-value\n", mode);
		return false;
	}
	if (u) {
		kprintf("netguest: mode=%s result=fail error=unknown-arg arg=%s\n", mode, u->key);
		return false;
	}
	return true;
}

/* ---- tx ---- */

struct fill_job {
	uint8_t dst[6], src[6];
	unsigned size;
	bool tso;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071 one's complement sum of n bytes (n even), not folded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	return sum;
}

static unsigned csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum & 0xffff;
}

/* CPL3: IPv4 (valid header checksum, DF) and TCP (ACK|PSH) headers after
 * the Ethernet header of a TSO frame. The TCP checksum field holds the
 * folded pseudo-header sum over the whole TCP length, uncomplemented, as
 * Linux's __tcp_v4_send_check leaves it for CHECKSUM_PARTIAL: the device
 * adds the segment's own bytes (virtio 5.1.6.2). */
static void fill_tcp_ipv4(uint8_t *f, unsigned size)
{
	static const uint8_t addrs[8] = { 198, 51, 100, 2, 198, 51, 100, 1 };
	uint8_t *ip = f + ETH_HLEN, *tcp = ip + IP_HLEN;
	unsigned tcp_len = size - ETH_HLEN - IP_HLEN;

	memset(ip, 0, IP_HLEN + 20);
	ip[0] = 0x45;
	put16(ip + 2, size - ETH_HLEN);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 6; /* TCP */
	memcpy(ip + 12, addrs, 8);
	put16(ip + 10, ~csum_fold(csum_add(0, ip, IP_HLEN)) & 0xffff);
	put16(tcp, TSO_SPORT);
	put16(tcp + 2, TSO_DPORT);
	tcp[12] = 5 << 4; /* data offset: no options */
	tcp[13] = 0x18;   /* ACK | PSH */
	put16(tcp + 14, 0xffff);
	put16(f + TCP_CSUM_OFF, csum_fold(csum_add(6 + tcp_len, addrs, 8)));
}

/* CPL3: writes the header and the payload pattern into every TX buffer
 * once; per frame only the sequence number changes. */
static long user_fill_tx(void *arg)
{
	const struct fill_job *job = arg;
	unsigned payload = job->tso ? NET_TSO_HDRS : ETH_HLEN;

	for (unsigned slot = 0; slot < nic->tx_slots(); slot++) {
		uint8_t *f = nic->tx_buf(slot);
		for (unsigned i = 0; i < 6; i++) {
			f[i] = job->dst[i];
			f[6 + i] = job->src[i];
		}
		put16(f + 12, job->tso ? ETHERTYPE_IPV4 : ETHERTYPE_TEST);
		if (job->tso)
			fill_tcp_ipv4(f, job->size);
		for (unsigned i = payload; i < job->size; i++)
			f[i] = (uint8_t)(i * 7 + 3);
	}
	return 0;
}

/* The per-frame sequence number: after the Ethernet header, or (TSO) the
 * TCP sequence number of a byte stream of frames' payloads. The TCP
 * header is outside the checksum's pseudo-header part, so that stays. */
static void tx_set_seq(uint8_t *f, uint32_t seq, const struct fill_job *job)
{
	if (job->tso)
		*(volatile uint32_t *)(f + TCP_SEQ_OFF) =
			__builtin_bswap32(seq * (job->size - NET_TSO_HDRS));
	else
		*(volatile uint32_t *)(f + ETH_HLEN) = seq;
}

/* Waits with IF=0 between the test and hlt (no lost-wakeup window) until
 * done() or the deadline (in ticks). A wait that ends on a wake-up with no
 * NIC interrupt (a tick) found its completion by polling: counted. */
static bool wait_until(bool (*done)(void), uint64_t deadline)
{
	bool by_tick = false;

	while (!done()) {
		uint64_t irqs = net_stats.irqs;
		if (ticks >= deadline)
			return false;
		irq_wait();
		by_tick = net_stats.irqs == irqs;
	}
	if (by_tick)
		net_stats.polled++;
	return true;
}

static bool tx_drained(void)
{
	return !nic->tx_pending();
}

/* Interrupts stay enabled while sending, as in Linux: TINT interrupts the
 * loop (the handler saves and restores RAP). */
static bool wait_tx_free(void)
{
	bool ok;

	irq_disable();
	ok = wait_until(nic->tx_free, ticks + TX_WAIT_TICKS);
	irq_enable();
	return ok;
}

int mode_tx(struct cmdline *c)
{
	struct fill_job job = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, .size = FRAME_MIN };
	uint64_t count = 1000, size = FRAME_MIN, tso = 0, t0, cycles;
	unsigned pending;
	const char *dst = cmdline_get(c, "dst");
	bool bad = cmdline_get_u64(c, "count", &count) < 0 || cmdline_get_u64(c, "size", &size) < 0 ||
		   cmdline_get_u64(c, "tso", &tso) < 0 || tso > 1 ||
		   size < FRAME_MIN || size > (tso ? NET_TSO_FRAME_MAX : FRAME_MAX) ||
		   (dst && parse_mac(dst, job.dst) < 0);
	struct user_result r;
	uint64_t sent = 0;

	bad = !nic_args_ok(c) || bad || (tso && nic != &virtio_driver);
	if (!args_ok("tx", c, bad))
		return 1;
	vnet_tso = job.tso = tso;
	pic_init();
	tick_start();
	if (!nic->open(NULL))
		return 1;
	job.size = (unsigned)size;
	for (unsigned i = 0; i < 6; i++)
		job.src[i] = net_mac[i];
	r = user_call(user_fill_tx, &job);
	if (r.vector >= 0) {
		kprintf("netguest: mode=tx result=fail error=exception vector=%d\n", r.vector);
		return 1;
	}
	kprintf("netguest: mode=tx ready count=%lu size=%lu%s\n", count, size, tso ? " tso=1" : "");
	console_flush();
	net_stats.io_ops = 0;
	net_stats.irqs = 0;
	t0 = rdtsc();
	irq_enable();
	for (sent = 0; sent < count; sent++) {
		if (!wait_tx_free())
			break;
		tx_set_seq(nic->tx_buf(nic->tx_slot()), (uint32_t)sent, &job);
		nic->tx_send((unsigned)size);
	}
	irq_disable();
	wait_until(tx_drained, ticks + TX_DRAIN_TICKS + count * TICK_HZ / 1000);
	cycles = rdtsc() - t0;
	pending = nic->tx_pending();
	irq_enable();
	if (sent != count || pending || net_stats.tx_errors) {
		kprintf("netguest: mode=tx result=fail tx_frames=%lu wanted=%lu pending=%u errors=%lu "
			"irqs=%lu polled=%lu ticks=%lu\n",
			sent, count, pending, net_stats.tx_errors, net_stats.irqs, net_stats.polled, ticks);
		nic->dump();
		return 1;
	}
	tick_stop();
	kprintf("netguest: mode=tx result=pass tx_frames=%lu tx_bytes=%lu errors=0 irqs=%lu io_ops=%lu "
		"cycles=%lu polled=%lu\n",
		net_stats.tx_frames, net_stats.tx_bytes, net_stats.irqs, net_stats.io_ops, cycles,
		net_stats.polled);
	return 0;
}

/* ---- rx ---- */

static volatile uint64_t rx_test_frames, rx_test_bytes, rx_other;

static void rx_count(const uint8_t *f, unsigned len)
{
	if (len >= ETH_HLEN && f[12] == (ETHERTYPE_TEST >> 8) && f[13] == (ETHERTYPE_TEST & 0xff)) {
		rx_test_frames++;
		rx_test_bytes += len;
	} else {
		rx_other++;
	}
}

int mode_rx(struct cmdline *c)
{
	uint64_t count = 0, secs = 0, t0, cycles;
	bool bad = cmdline_get_u64(c, "count", &count) < 0 || cmdline_get_u64(c, "time", &secs) < 0;

	bad = !nic_args_ok(c) || bad;
	if (!args_ok("rx", c, bad))
		return 1;
	rx_test_frames = rx_test_bytes = rx_other = 0;
	pic_init();
	tick_start();
	stop_request_listen();
	if (!nic->open(rx_count))
		return 1;
	kprintf("netguest: mode=rx ready mac=%02x:%02x:%02x:%02x:%02x:%02x\n", net_mac[0], net_mac[1],
		net_mac[2], net_mac[3], net_mac[4], net_mac[5]);
	console_flush();
	net_stats.io_ops = 0;
	net_stats.irqs = 0;
	t0 = rdtsc();
	irq_disable();
	while (!stop_requested && (!count || rx_test_frames < count) &&
	       (!secs || ticks < secs * TICK_HZ))
		irq_wait();
	cycles = rdtsc() - t0;
	irq_enable();
	tick_stop();
	nic->close();
	kprintf("netguest: mode=rx result=pass rx_frames=%lu rx_bytes=%lu other=%lu errors=%lu irqs=%lu "
		"io_ops=%lu cycles=%lu stopped=%u\n",
		rx_test_frames, rx_test_bytes, rx_other, net_stats.rx_errors, net_stats.irqs,
		net_stats.io_ops, cycles, stop_requested ? 1u : 0u);
	return 0;
}

/* ---- echo ---- */

static uint8_t echo_ip[4];
static volatile uint64_t arp_replies, icmp_replies, echo_dropped;

static bool ip_is_ours(const uint8_t *p)
{
	return p[0] == echo_ip[0] && p[1] == echo_ip[1] && p[2] == echo_ip[2] && p[3] == echo_ip[3];
}

/* A TX slot for a reply from the interrupt handler (no waiting there). */
static uint8_t *reply_buf(void)
{
	if (!nic->tx_free())
		nic->tx_reclaim();
	if (!nic->tx_free()) {
		echo_dropped++;
		return NULL;
	}
	return nic->tx_buf(nic->tx_slot());
}

/* RFC 826 ARP request for our address -> reply. */
static void echo_arp(const uint8_t *f, unsigned len)
{
	uint8_t *o;

	if (len < ETH_HLEN + 28 || f[14] != 0 || f[15] != 1 || f[16] != 8 || f[17] != 0 ||
	    f[20] != 0 || f[21] != 1 || !ip_is_ours(f + 38))
		return;
	if (!(o = reply_buf()))
		return;
	memcpy(o, f + 6, 6);          /* to the asker */
	memcpy(o + 6, net_mac, 6);
	o[12] = 0x08, o[13] = 0x06;
	memcpy(o + 14, f + 14, 6);    /* htype, ptype, hlen, plen */
	o[20] = 0, o[21] = 2;         /* reply */
	memcpy(o + 22, net_mac, 6);   /* sender: us */
	memcpy(o + 28, echo_ip, 4);
	memcpy(o + 32, f + 22, 10);   /* target: the asker's MAC and IP */
	nic->tx_send(FRAME_MIN > 42 ? FRAME_MIN : 42);
	arp_replies++;
}

/* RFC 792 echo request to us -> echo reply: the same frame with addresses
 * swapped and type 0; the ICMP checksum is adjusted for the type change
 * (RFC 1624), the IP header checksum does not change. */
static void echo_icmp(const uint8_t *f, unsigned len)
{
	unsigned ihl = (f[14] & 0xf) * 4u, tot;
	uint8_t *o, *icmp;
	uint32_t sum;

	if (len < ETH_HLEN + 20 || (f[14] >> 4) != 4 || ihl < 20 || f[23] != 1 || !ip_is_ours(f + 30))
		return;
	tot = (unsigned)f[16] << 8 | f[17];
	if (tot < ihl + 8 || ETH_HLEN + tot > len || f[14 + ihl] != 8)
		return;
	if (!(o = reply_buf()))
		return;
	memcpy(o, f, ETH_HLEN + tot);
	memcpy(o, f + 6, 6);
	memcpy(o + 6, net_mac, 6);
	memcpy(o + 26, f + 30, 4);
	memcpy(o + 30, f + 26, 4);
	icmp = o + ETH_HLEN + ihl;
	icmp[0] = 0;
	sum = (uint32_t)(~((unsigned)icmp[2] << 8 | icmp[3]) & 0xffff) + (~0x0800u & 0xffff);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	icmp[2] = (uint8_t)(sum >> 8);
	icmp[3] = (uint8_t)sum;
	nic->tx_send(ETH_HLEN + tot < FRAME_MIN ? FRAME_MIN : ETH_HLEN + tot);
	icmp_replies++;
}

/* ---- the ping client of echo: ARP, then ICMP echo requests ---- */

#define PING_ID 0x6e67 /* "ng": the identifier of our echo requests */
#define PING_GAP_TICKS (TICK_HZ / 5)

static struct {
	uint8_t ip[4], mac[6];
	bool active, mac_known, done;
	unsigned count, sent;
	volatile unsigned received;
	uint64_t next_tick, deadline;
} ping;

static bool ip_eq(const uint8_t *a, const uint8_t *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static void ping_rx_arp(const uint8_t *f, unsigned len)
{
	if (len >= ETH_HLEN + 28 && f[20] == 0 && f[21] == 2 && ip_eq(f + 28, ping.ip)) {
		memcpy(ping.mac, f + 22, 6);
		ping.mac_known = true;
	}
}

static void ping_rx_icmp(const uint8_t *f, unsigned len)
{
	unsigned ihl = (f[14] & 0xf) * 4u;

	if (len >= ETH_HLEN + ihl + 8 && ihl >= 20 && f[23] == 1 && ip_eq(f + 26, ping.ip) &&
	    ip_is_ours(f + 30) && f[14 + ihl] == 0 &&
	    ((unsigned)f[14 + ihl + 4] << 8 | f[14 + ihl + 5]) == PING_ID)
		ping.received++;
}

static void ping_arp_request(void)
{
	uint8_t *o = reply_buf();

	if (!o)
		return;
	memset(o, 0, FRAME_MIN);
	memset(o, 0xff, 6);
	memcpy(o + 6, net_mac, 6);
	o[12] = 0x08, o[13] = 0x06;
	o[15] = 1, o[16] = 8, o[18] = 6, o[19] = 4, o[21] = 1; /* Ethernet/IPv4, request */
	memcpy(o + 22, net_mac, 6);
	memcpy(o + 28, echo_ip, 4);
	memcpy(o + 38, ping.ip, 4);
	nic->tx_send(FRAME_MIN);
}

static void ping_request(unsigned seq)
{
	uint8_t *o = reply_buf(), *ip, *icmp;
	unsigned tot = IP_HLEN + 8 + 32;

	if (!o)
		return;
	memcpy(o, ping.mac, 6);
	memcpy(o + 6, net_mac, 6);
	o[12] = 0x08, o[13] = 0x00;
	ip = o + ETH_HLEN;
	memset(ip, 0, tot);
	ip[0] = 0x45, ip[8] = 64, ip[9] = 1;
	put16(ip + 2, tot);
	memcpy(ip + 12, echo_ip, 4);
	memcpy(ip + 16, ping.ip, 4);
	put16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
	icmp = ip + IP_HLEN;
	icmp[0] = 8;
	put16(icmp + 4, PING_ID);
	put16(icmp + 6, seq);
	for (unsigned i = 8; i < tot - IP_HLEN; i++)
		icmp[i] = (uint8_t)i;
	put16(icmp + 2, csum_fold(csum_add(0, icmp, tot - IP_HLEN)));
	nic->tx_send(ETH_HLEN + tot < FRAME_MIN ? FRAME_MIN : ETH_HLEN + tot);
}

/* One step of the client, from the main loop with interrupts off (the
 * handler sends replies on the same ring). */
static void ping_step(void)
{
	if (!ping.active || ping.done || ticks < ping.next_tick)
		return;
	if (ping.received >= ping.count || ticks >= ping.deadline) {
		ping.done = true;
		kprintf("netguest: mode=echo ping=%u.%u.%u.%u result=%s sent=%u received=%u\n",
			ping.ip[0], ping.ip[1], ping.ip[2], ping.ip[3],
			ping.received >= ping.count ? "pass" : "fail", ping.sent, ping.received);
		console_flush();
		return;
	}
	if (!ping.mac_known)
		ping_arp_request();
	else if (ping.sent < ping.count)
		ping_request(++ping.sent);
	ping.next_tick = ticks + PING_GAP_TICKS;
}

static void echo_rx(const uint8_t *f, unsigned len)
{
	if (len < ETH_HLEN)
		return;
	if (f[12] == 0x08 && f[13] == 0x06) {
		echo_arp(f, len);
		if (ping.active)
			ping_rx_arp(f, len);
	} else if (f[12] == 0x08 && f[13] == 0x00) {
		echo_icmp(f, len);
		if (ping.active && len >= ETH_HLEN + 20)
			ping_rx_icmp(f, len);
	}
}

/* ping=, count=, time=: the client's arguments; false on a bad value. */
static bool ping_args(struct cmdline *c)
{
	const char *to = cmdline_get(c, "ping");
	uint64_t count = 5, time = 20;
	bool bad = cmdline_get_u64(c, "count", &count) < 0 || cmdline_get_u64(c, "time", &time) < 0;

	memset(&ping, 0, sizeof(ping));
	if (!to)
		return !bad;
	if (bad || parse_ip(to, ping.ip) < 0 || !count || count > 10000 || !time || time > 3600)
		return false;
	ping.active = true;
	ping.count = (unsigned)count;
	ping.deadline = time * TICK_HZ; /* from tick_start */
	return true;
}

int mode_echo(struct cmdline *c)
{
	const char *ip = cmdline_get(c, "ip");
	bool bad = !ip || parse_ip(ip, echo_ip) < 0;

	bad = !ping_args(c) || bad;
	bad = !nic_args_ok(c) || bad;
	if (!args_ok("echo", c, bad))
		return 1;
	arp_replies = icmp_replies = echo_dropped = 0;
	pic_init();
	tick_start();
	stop_request_listen();
	if (!nic->open(echo_rx))
		return 1;
	kprintf("netguest: mode=echo ready ip=%u.%u.%u.%u mac=%02x:%02x:%02x:%02x:%02x:%02x\n", echo_ip[0],
		echo_ip[1], echo_ip[2], echo_ip[3], net_mac[0], net_mac[1], net_mac[2], net_mac[3],
		net_mac[4], net_mac[5]);
	console_flush();
	ping.deadline += ticks;
	irq_disable();
	while (!stop_requested) {
		ping_step();
		irq_wait();
	}
	irq_enable();
	tick_stop();
	nic->close();
	kprintf("netguest: mode=echo result=stopped arp_replies=%lu icmp_replies=%lu dropped=%lu "
		"rx_frames=%lu tx_frames=%lu irqs=%lu io_ops=%lu\n",
		arp_replies, icmp_replies, echo_dropped, net_stats.rx_frames, net_stats.tx_frames,
		net_stats.irqs, net_stats.io_ops);
	poweroff();
}

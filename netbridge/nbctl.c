/* nbctl: debugging CLI for netbridge, one library call per command.
 *
 *   nbctl [-r RUNTIME] [-v] COMMAND ...     (RUNTIME default: $NB_RUNTIME or "vmm")
 *   switch add|del NAME           create / destroy a switch
 *   switch list                   switch names
 *   flood-limit SWITCH N          flooded frames/s per port per CPU (0 = off)
 *   port add SWITCH TAP MAC       create tap TAP as a VM port with source MAC
 *   port del PORT                 remove a VM or host port (deletes it)
 *   ports SWITCH                  "NAME type=vm ifindex=N mac=M attach=MODE", MODE:
 *                                 tcx, clsact, xdpgeneric; uplink: tcx, clsact,
 *                                 xdpdrv+tcx, xdpdrv+clsact (native XDP in front)
 *   uplink SWITCH IFNAME|none     attach / detach the uplink
 *   host SWITCH IFNAME|none       create / remove the host veth (IFNAME is the host end)
 *   vxlan SWITCH vni=N local=ADDR [remote=ADDR[,ADDR...]] [group=ADDR dev=IF]
 *         [port=P] [mtu=M] [name=IF]
 *                                 create a VXLAN device as the uplink; prints its name
 *   limit PORT [none | KEY=N...]   show / set a port's rate limits; KEY: tx_bits,
 *                                 tx_pkts, tx_burst, tx_burst_pkts, rx_... (per
 *                                 second; bursts in bytes and frames)
 *   stats PORT                    counters, one "key value" per line
 *   fdb SWITCH                    "MAC PORT static|learned age_ms=N"
 *   age MS                        remove learned entries older than MS
 *   mode                          VM ports' attach mode (tcx, clsact, xdpgeneric, none)
 * Environment: NB_ATTACH=tcx|clsact|xdp, NB_UPLINK=tc|auto|xdp (netbridge.h).
 *   destroy-all                   remove every switch and the runtime's pins
 * Exit 0, 1 on failure (message on stderr), 2 on usage errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "netbridge/netbridge.h"
#include "netbridge/netbridge_env.h"
#include "common/util.h"

#define REPORTED (-100000) /* run() printed the message itself */
#define USAGE (-100001)

static int usage(void)
{
	fprintf(stderr, "usage: nbctl [-r RUNTIME] [-v] switch add|del|list [NAME] | flood-limit SW N |\n"
			"       port add SW TAP MAC | port del PORT | ports SW | uplink SW IF|none |\n"
			"       host SW IF|none | vxlan SW vni=N local=A [remote=A,..] [group=G dev=IF]\n"
			"       [port=P] [mtu=M] [name=IF] | limit PORT [none|KEY=N...] | stats PORT |\n"
			"       fdb SW | age MS | mode |\n"
			"       destroy-all\n");
	return 2;
}

static int fail(int r, const char *what)
{
	if (*nb_last_error())
		log_err("%s: %s", what, nb_last_error());
	else
		log_errno(r, "%s", what);
	return 1;
}

static const char *type_name(enum nb_port_type t)
{
	return t == NB_PORT_TYPE_VM ? "vm" : t == NB_PORT_TYPE_UPLINK ? "uplink" : "host";
}

/* vxlan SW KEY=VALUE...: the definition in vx (pointing into argv and
 * remotes), the device name in *name. */
static int vxlan_args(int argc, char **argv, struct nb_vxlan *vx, const char **name)
{
	for (int i = 2; i < argc; i++) {
		char *v = strchr(argv[i], '='), *tok, *save = NULL;
		uint64_t n;

		if (!v)
			return USAGE;
		*v++ = 0;
		if (!strcmp(argv[i], "vni") || !strcmp(argv[i], "port") || !strcmp(argv[i], "mtu")) {
			if (parse_u64(v, UINT32_MAX, &n) < 0)
				return USAGE;
			if (argv[i][0] == 'v')
				vx->vni = (uint32_t)n;
			else if (argv[i][0] == 'm')
				vx->mtu = (uint32_t)n;
			else if (n > UINT16_MAX)
				return USAGE;
			else
				vx->port = (uint16_t)n;
		} else if (!strcmp(argv[i], "local")) {
			vx->local = v;
		} else if (!strcmp(argv[i], "group")) {
			vx->group = v;
		} else if (!strcmp(argv[i], "dev")) {
			vx->dev = v;
		} else if (!strcmp(argv[i], "name")) {
			*name = v;
		} else if (!strcmp(argv[i], "remote")) {
			for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (vx->nr_remotes == NB_VXLAN_PEERS_MAX)
					return USAGE;
				vx->remotes[vx->nr_remotes++] = tok;
			}
		} else {
			return USAGE;
		}
	}
	return 0;
}

/* limit PORT KEY=N...: tx_bits, tx_pkts, tx_burst, tx_burst_pkts, rx_... */
static int limit_args(int argc, char **argv, struct nb_port_limit *l)
{
	static const char *const keys[] = { "bits", "pkts", "burst", "burst_pkts" };

	memset(l, 0, sizeof(*l));
	if (argc == 3 && !strcmp(argv[2], "none"))
		return 0;
	for (int i = 2; i < argc; i++) {
		char *v = strchr(argv[i], '=');
		struct nb_rate *r = !strncmp(argv[i], "tx_", 3) ? &l->tx :
				    !strncmp(argv[i], "rx_", 3) ? &l->rx : NULL;
		uint64_t *field[] = { r ? &r->bits_per_s : NULL, r ? &r->pkts_per_s : NULL,
				      r ? &r->burst_bytes : NULL, r ? &r->burst_pkts : NULL };
		size_t k;

		if (!v || !r)
			return USAGE;
		*v++ = 0;
		for (k = 0; k < ARRAY_SIZE(keys) && strcmp(argv[i] + 3, keys[k]); k++)
			;
		if (k == ARRAY_SIZE(keys) || parse_u64(v, UINT64_MAX, field[k]) < 0)
			return USAGE;
	}
	return 0;
}

static void limit_print(const char *dir, const struct nb_rate *r)
{
	printf("%s_bits %llu\n%s_pkts %llu\n%s_burst %llu\n%s_burst_pkts %llu\n", dir,
	       (unsigned long long)r->bits_per_s, dir, (unsigned long long)r->pkts_per_s, dir,
	       (unsigned long long)r->burst_bytes, dir, (unsigned long long)r->burst_pkts);
}

static int run(struct nb *nb, int argc, char **argv)
{
	const char *cmd = argv[0];
	int r;

	if (!strcmp(cmd, "switch") && argc == 3 && !strcmp(argv[1], "add"))
		return nb_switch_create(nb, argv[2]);
	if (!strcmp(cmd, "switch") && argc == 3 && !strcmp(argv[1], "del"))
		return nb_switch_destroy(nb, argv[2]);
	if (!strcmp(cmd, "switch") && argc == 2 && !strcmp(argv[1], "list")) {
		char names[64][32];
		size_t n;

		r = nb_switch_list(nb, names, 64, &n);
		for (size_t i = 0; r == 0 && i < n && i < 64; i++)
			printf("%s\n", names[i]);
		return r;
	}
	if (!strcmp(cmd, "flood-limit") && argc == 3) {
		uint64_t v;

		if (parse_u64(argv[2], UINT32_MAX, &v) < 0) {
			fprintf(stderr, "nbctl: flood limit %s: expected 0..%u\n", argv[2], UINT32_MAX);
			return REPORTED;
		}
		return nb_switch_set_flood_limit(nb, argv[1], (uint32_t)v);
	}
	if (!strcmp(cmd, "port") && argc == 5 && !strcmp(argv[1], "add")) {
		uint8_t mac[6];
		int ifindex;

		if (nb_parse_mac(argv[4], mac) < 0) {
			fprintf(stderr, "nbctl: MAC %s: expected xx:xx:xx:xx:xx:xx\n", argv[4]);
			return REPORTED;
		}
		r = nb_port_add_vm(nb, argv[2], argv[3], mac, &ifindex, NULL);
		if (r == 0)
			printf("%s ifindex=%d\n", argv[3], ifindex);
		return r;
	}
	if (!strcmp(cmd, "port") && argc == 3 && !strcmp(argv[1], "del"))
		return nb_port_remove(nb, argv[2]);
	if (!strcmp(cmd, "ports") && argc == 2) {
		struct nb_port_info p[64];
		size_t n;

		r = nb_port_list(nb, argv[1], p, 64, &n);
		for (size_t i = 0; r == 0 && i < n && i < 64; i++) {
			char m[18];

			nb_format_mac(p[i].mac, m);
			printf("%s type=%s ifindex=%d mac=%s attach=%s\n", p[i].name,
			       type_name(p[i].type), p[i].ifindex, m, p[i].attach);
		}
		return r;
	}
	if ((!strcmp(cmd, "uplink") || !strcmp(cmd, "host")) && argc == 3) {
		const char *ifname = strcmp(argv[2], "none") ? argv[2] : NULL;
		char side[NB_IFNAME_MAX];

		if (!strcmp(cmd, "uplink"))
			return nb_set_uplink(nb, argv[1], ifname);
		r = nb_set_host_port(nb, argv[1], ifname, side);
		if (r == 0 && ifname)
			printf("%s port=%s\n", ifname, side);
		return r;
	}
	if (!strcmp(cmd, "vxlan") && argc >= 3) {
		struct nb_vxlan vx = { 0 };
		const char *name = NULL;
		char dev[NB_IFNAME_MAX];

		r = vxlan_args(argc, argv, &vx, &name);
		if (r == 0)
			r = nb_set_vxlan_uplink(nb, argv[1], name, &vx, dev);
		if (r == 0)
			printf("%s\n", dev);
		return r;
	}
	if (!strcmp(cmd, "limit") && argc >= 2) {
		struct nb_port_limit l;
		bool paced;

		if (argc > 2) {
			r = limit_args(argc, argv, &l);
			return r ?: nb_port_set_limit(nb, argv[1], &l);
		}
		r = nb_port_get_limit(nb, argv[1], &l, &paced);
		if (r == 0) {
			limit_print("tx", &l.tx);
			limit_print("rx", &l.rx);
			printf("rx_paced %d\n", paced);
		}
		return r;
	}
	if (!strcmp(cmd, "stats") && argc == 2) {
		struct nb_port_stats s;

		r = nb_port_stats(nb, argv[1], &s);
		if (r < 0)
			return r;
		printf("rx_frames %llu\nrx_bytes %llu\ntx_frames %llu\ntx_bytes %llu\n",
		       (unsigned long long)s.rx_frames, (unsigned long long)s.rx_bytes,
		       (unsigned long long)s.tx_frames, (unsigned long long)s.tx_bytes);
		for (int d = 0; d < NB_DROP_STAT_COUNT; d++)
			printf("drop_%s %llu\n", nb_drop_name((enum nb_drop)d),
			       (unsigned long long)s.drops[d]);
		printf("rx_delayed %llu\n", (unsigned long long)s.rx_delayed);
		return 0;
	}
	if (!strcmp(cmd, "fdb") && argc == 2) {
		struct nb_fdb_entry e[256];
		size_t n;

		r = nb_fdb_dump(nb, argv[1], e, 256, &n);
		for (size_t i = 0; r == 0 && i < n && i < 256; i++) {
			char m[18];

			nb_format_mac(e[i].mac, m);
			printf("%s %s %s age_ms=%llu\n", m, e[i].port,
			       e[i].learned ? "learned" : "static", (unsigned long long)e[i].age_ms);
		}
		return r;
	}
	if (!strcmp(cmd, "age") && argc == 2) {
		uint64_t ms;

		if (parse_u64(argv[1], UINT64_MAX, &ms) < 0) {
			fprintf(stderr, "nbctl: age %s: expected milliseconds\n", argv[1]);
			return REPORTED;
		}
		r = nb_fdb_age(nb, ms);
		if (r >= 0)
			printf("removed %d\n", r);
		return r < 0 ? r : 0;
	}
	if (!strcmp(cmd, "mode") && argc == 1) {
		printf("%s\n", nb_attach_mode(nb));
		return 0;
	}
	fprintf(stderr, "nbctl: unknown command or wrong arguments: %s\n", cmd);
	return USAGE;
}

int main(int argc, char **argv)
{
	const char *runtime = getenv("NB_RUNTIME") ?: "vmm";
	struct nb *nb;
	int opt, r;

	log_set_ident("nbctl");
	while ((opt = getopt(argc, argv, "+r:v")) != -1) {
		switch (opt) {
		case 'r':
			runtime = optarg;
			break;
		case 'v':
			log_set_max_level(LOG_P_DEBUG);
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	struct nb_options opts = nb_options_from_env();
	r = nb_open(runtime, &opts, &nb);
	if (r < 0)
		return fail(r, "open runtime");
	if (!strcmp(argv[0], "destroy-all")) {
		r = nb_destroy_all(nb);
		return r < 0 ? fail(r, "destroy-all") : 0;
	}
	r = run(nb, argc, argv);
	nb_close(nb);
	if (r == USAGE)
		return usage();
	if (r == REPORTED)
		return 1;
	return r < 0 ? fail(r, argv[0]) : 0;
}

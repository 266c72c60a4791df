/* nb.c: the netbridge control plane's runtime: bpffs pins, the skeleton,
 * errors, and destroying everything (switches: nb_switch.c, ports:
 * nb_port.c, counters and tables: nb_query.c).
 *
 * The control plane keeps no state of its own: switches, ports, slots and the
 * forwarding table are the pinned maps (nb_abi.h), so that a restarted
 * process (nb_open of the same runtime) sees exactly what the datapath uses.
 * Cleanup: one `goto out`-free style per function, with cleanup attributes
 * for fds; multi-step creations unwind explicitly in reverse order. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/log.h"
#include "netbridge.skel.h"
#include "netbridge/nb_internal.h"
#include "common/util.h"

#define NB_BPFFS_DEFAULT "/sys/fs/bpf"

static __thread char nb_errbuf[512];

const char *nb_last_error(void)
{
	return nb_errbuf;
}

int nb_fail(int r, const char *fmt, ...)
{
	const char *hint = "";
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(nb_errbuf, sizeof(nb_errbuf), fmt, ap);
	va_end(ap);
	if (r == -EPERM || r == -EACCES)
		hint = " (needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN for bpffs: run as root)";
	if (n >= 0 && (size_t)n < sizeof(nb_errbuf))
		snprintf(nb_errbuf + n, sizeof(nb_errbuf) - (size_t)n, ": %s%s", strerror(-r), hint);
	log_debug("netbridge: %s", nb_errbuf);
	return r;
}

static int debug_libbpf; /* libbpf's print hook is global: nb_open sets it */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && !debug_libbpf)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	/* libbpf warns about harmless things (an existing clsact qdisc); the
	 * failures that matter come back as errors with our context. */
	log_debug("libbpf: %s", buf);
	return 0;
}

const char *nb_drop_name(enum nb_drop d)
{
	static const char *const names[] = { "spoofed", "no_route", "redirect_failed",
					     "flood_limit", "rate_tx", "rate_rx" };

	return (unsigned)d < ARRAY_SIZE(names) ? names[d] : "?";
}

const char *nb_attach_name(int mode)
{
	bool xdp = mode & NB_ATTACH_XDP_DRV;

	switch (mode & NB_ATTACH_MODE_MASK) {
	case NB_ATTACH_TCX:
		return xdp ? "xdpdrv+tcx" : "tcx";
	case NB_ATTACH_CLSACT:
		return xdp ? "xdpdrv+clsact" : "clsact";
	case NB_ATTACH_XDP_SKB:
		return "xdpgeneric";
	default:
		return "none";
	}
}

const char *nb_attach_mode(const struct nb *nb)
{
	return nb_attach_name(nb->mode);
}

/* ---- runtime ---------------------------------------------------------- */

static int ensure_bpffs(const char *root)
{
	struct statfs st;

	if (statfs(root, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return nb_fail(-errno, "bpffs: create mount point %s", root);
	if (mount("bpf", root, "bpf", 0, "mode=0700") < 0)
		return nb_fail(-errno, "bpffs: mount on %s", root);
	return 0;
}

/* The attach knobs of nb_options into nb->mode, tc_mode, uplink_xdp. */
static int parse_modes(struct nb *nb, const char *attach, const char *uplink)
{
	int r = 0;

	if (attach && *attach) {
		if (!strcmp(attach, "tcx"))
			nb->mode = nb->tc_mode = NB_ATTACH_TCX;
		else if (!strcmp(attach, "clsact"))
			nb->mode = nb->tc_mode = NB_ATTACH_CLSACT;
		else if (!strcmp(attach, "xdp") || !strcmp(attach, "xdpgeneric"))
			nb->mode = NB_ATTACH_XDP_SKB;
		else
			r = -EINVAL;
	}
	nb->uplink_xdp = 1;
	if (uplink && *uplink) {
		if (!strcmp(uplink, "tc"))
			nb->uplink_xdp = 0;
		else if (!strcmp(uplink, "xdp"))
			nb->uplink_xdp = 2;
		else if (strcmp(uplink, "auto"))
			r = -EINVAL;
	}
	if (r < 0)
		return nb_fail(r, "runtime %s: attach mode '%s', uplink mode '%s' (want tcx|clsact|xdp, "
				  "tc|auto|xdp)", nb->runtime, attach ?: "", uplink ?: "");
	return 0;
}

/* Opens the skeleton with every map pinned under nb->pin_dir: the maps of
 * a previous control plane are reused, new ones pinned. */
static int load_skeleton(struct nb *nb)
{
	struct bpf_map *map;
	char path[300];
	int r;

	nb->skel = nb_bpf__open();
	if (!nb->skel)
		return nb_fail(-errno, "runtime %s: open BPF object", nb->runtime);
	bpf_object__for_each_map(map, nb->skel->obj) {
		snprintf(path, sizeof(path), "%s/%s", nb->pin_dir, bpf_map__name(map));
		if (map == nb->skel->maps.nb_xdp_tx) {
			/* The kernel adds BPF_F_RDONLY_PROG to a devmap's flags,
			 * which libbpf's pin reuse check takes for a mismatch:
			 * reuse it by hand, pin it after the load. */
			_cleanup_close_ int fd = bpf_obj_get(path);

			if (fd >= 0 && bpf_map__reuse_fd(map, fd) < 0)
				return nb_fail(-errno, "runtime %s: reuse pinned map %s", nb->runtime,
					       path);
			continue;
		}
		r = bpf_map__set_pin_path(map, path);
		if (r < 0)
			return nb_fail(r, "runtime %s: map %s: set pin path", nb->runtime,
				       bpf_map__name(map));
	}
	r = nb_bpf__load(nb->skel);
	if (r < 0)
		return nb_fail(r, "runtime %s: load BPF programs and maps (pins in %s)", nb->runtime,
			       nb->pin_dir);
	nb->fd_ports = bpf_map__fd(nb->skel->maps.nb_ports);
	nb->fd_slots = bpf_map__fd(nb->skel->maps.nb_slots);
	nb->fd_switches = bpf_map__fd(nb->skel->maps.nb_switches);
	nb->fd_fdb = bpf_map__fd(nb->skel->maps.nb_fdb);
	nb->fd_stats = bpf_map__fd(nb->skel->maps.nb_stats);
	nb->fd_limits = bpf_map__fd(nb->skel->maps.nb_limits);
	nb->fd_limit_stats = bpf_map__fd(nb->skel->maps.nb_limit_stats);
	nb->fd_xdp_tx = bpf_map__fd(nb->skel->maps.nb_xdp_tx);
	snprintf(path, sizeof(path), "%s/nb_xdp_tx", nb->pin_dir);
	if (bpf_obj_pin(nb->fd_xdp_tx, path) < 0 && errno != EEXIST)
		return nb_fail(-errno, "runtime %s: pin %s", nb->runtime, path);
	return 0;
}

/* Unless forced by the options, new ports take the attach modes the
 * existing ones have. */
static void adopt_modes(struct nb *nb)
{
	__u32 key, *prev = NULL, next;
	struct nb_port p;

	while (bpf_map_get_next_key(nb->fd_ports, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(nb->fd_ports, &key, &p) < 0)
			continue;
		if (p.kind == NB_PORT_UPLINK && !nb->tc_mode)
			nb->tc_mode = p.attach & NB_ATTACH_MODE_MASK;
		else if (p.kind != NB_PORT_UPLINK && !nb->mode)
			nb->mode = p.attach & NB_ATTACH_MODE_MASK;
	}
	if (!nb->tc_mode && nb->mode != NB_ATTACH_XDP_SKB)
		nb->tc_mode = nb->mode;
}

int nb_open(const char *runtime, const struct nb_options *opts, struct nb **out)
{
	static const struct nb_options defaults;
	const struct nb_options *o = opts ?: &defaults;
	const char *root = o->bpffs && *o->bpffs ? o->bpffs : NB_BPFFS_DEFAULT;
	struct nb *nb;
	int r;

	*out = NULL;
	nb_errbuf[0] = 0;
	if (nb_valid_name(runtime, NB_SWITCH_NAME_MAX + 1) < 0)
		return nb_fail(-EINVAL, "runtime \"%s\": invalid name (1..32 of [A-Za-z0-9_.-])",
			       runtime ?: "");
	debug_libbpf = o->debug_libbpf;
	libbpf_set_print(libbpf_print);
	r = ensure_bpffs(root);
	if (r < 0)
		return r;
	nb = calloc(1, sizeof(*nb));
	if (!nb)
		return nb_fail(-ENOMEM, "runtime %s: allocate", runtime);
	snprintf(nb->runtime, sizeof(nb->runtime), "%s", runtime);
	snprintf(nb->pin_dir, sizeof(nb->pin_dir), "%s/%s", root, runtime);
	nb->fd_ports = nb->fd_slots = nb->fd_switches = nb->fd_fdb = nb->fd_stats = -1;
	nb->fd_xdp_tx = nb->fd_limits = nb->fd_limit_stats = -1;
	r = parse_modes(nb, o->attach, o->uplink);
	if (r < 0) {
		free(nb);
		return r;
	}
	if (mkdir(nb->pin_dir, 0700) < 0 && errno != EEXIST) {
		r = nb_fail(-errno, "runtime %s: create pin directory %s", runtime, nb->pin_dir);
		goto fail;
	}
	r = load_skeleton(nb);
	if (r < 0)
		goto fail;
	nb->ncpus = libbpf_num_possible_cpus();
	if (nb->ncpus <= 0) {
		r = nb_fail(nb->ncpus ?: -EINVAL, "runtime %s: count possible CPUs", runtime);
		goto fail;
	}
	if (!(o->attach && *o->attach))
		adopt_modes(nb);
	r = nb_ports_adopt(nb);
	if (r < 0)
		goto fail;
	*out = nb;
	return 0;
fail:
	rmdir(nb->pin_dir); /* only if this call left it empty */
	nb_close(nb);
	return r;
}

void nb_close(struct nb *nb)
{
	if (!nb)
		return;
	nb_bpf__destroy(nb->skel);
	free(nb);
}

int nb_destroy_all(struct nb *nb)
{
	static const char *const maps[] = { "nb_ports", "nb_slots", "nb_switches", "nb_fdb",
					    "nb_stats", "nb_xdp_tx", "nb_limits", "nb_limit_stats" };
	char names[NB_MAX_SWITCHES][32];
	char path[300];
	size_t n = 0;
	int r, first = 0;

	r = nb_switch_list(nb, names, NB_MAX_SWITCHES, &n);
	if (r < 0)
		first = r;
	for (size_t i = 0; i < n && i < NB_MAX_SWITCHES; i++) {
		r = nb_switch_destroy(nb, names[i]);
		if (r < 0 && !first)
			first = r;
	}
	if (first == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
			snprintf(path, sizeof(path), "%s/%s", nb->pin_dir, maps[i]);
			if (unlink(path) < 0 && errno != ENOENT && !first)
				first = nb_fail(-errno, "runtime %s: unpin %s", nb->runtime, path);
		}
		if (rmdir(nb->pin_dir) < 0 && errno != ENOENT && !first)
			first = nb_fail(-errno, "runtime %s: remove %s (something else is pinned there)",
					nb->runtime, nb->pin_dir);
	}
	nb_close(nb);
	return first;
}


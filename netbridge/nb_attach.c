/* nb_attach.c: attaching the switch programs to interfaces.
 *
 * Fallback chain for VM/host ports, probed on the first attach of a runtime:
 *   1. tcx link (kernel >= 6.6): bpf_link_create with BPF_TCX_INGRESS/EGRESS,
 *      pinned as <pin_dir>/link-<ifindex>-{in,eg} so that it outlives the
 *      process. libbpf 1.1 and the 6.1 UAPI headers lack the attach types,
 *      hence the local numbers.
 *   2. netlink clsact (bpf_tc_hook_create + bpf_tc_attach): the filter lives
 *      on the device, which keeps it (and its program) alive; nothing to pin.
 *   3. generic XDP (XDP_FLAGS_SKB_MODE) as a bpf_link pinned as
 *      <pin_dir>/link-<ifindex>-xdp, ingress only.
 * The uplink's tc program takes steps 1-2 (its own probe); its optional
 * native XDP fast path is a pinned XDP link too (XDP_FLAGS_DRV_MODE).
 * $NB_ATTACH=tcx|clsact|xdp fixes the ports' step (tests exercise each). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netbridge/nb_internal.h"
#include "common/util.h"

#define NB_BPF_TCX_INGRESS 46
#define NB_BPF_TCX_EGRESS 47
#define NB_TC_HANDLE 0x4e42 /* "NB" */
#define NB_TC_PRIORITY 0x4e42
#define ENOTSUPP_KERNEL 524

#include "common/log.h"

static const char *dir_name(int dir)
{
	return dir == NB_DIR_EGRESS ? "egress" : dir == NB_DIR_XDP ? "xdp" : "ingress";
}

void nb_link_pin_path(const struct nb *nb, int ifindex, int dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/link-%d-%s", nb->pin_dir, ifindex,
		 dir == NB_DIR_EGRESS ? "eg" : dir == NB_DIR_XDP ? "xdp" : "in");
}

/* An XDP link (flags: XDP_FLAGS_SKB_MODE or XDP_FLAGS_DRV_MODE), pinned. */
int nb_attach_xdp(struct nb *nb, int ifindex, int prog_fd, unsigned flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	_cleanup_close_ int fd = -1;
	char path[300];

	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return -errno;
	nb_link_pin_path(nb, ifindex, NB_DIR_XDP, path, sizeof(path));
	unlink(path);
	if (bpf_obj_pin(fd, path) < 0)
		return nb_fail(-errno, "interface #%d: pin xdp link at %s", ifindex, path);
	return 0;
}

static int detach_link(struct nb *nb, int ifindex, int dir)
{
	char path[300];
	int fd, r = 0;

	nb_link_pin_path(nb, ifindex, dir, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		/* Detaches now, whoever else holds the link. */
		if (bpf_link_detach(fd) < 0 && errno != ENOLINK && errno != ENODEV)
			r = nb_fail(-errno, "interface #%d: detach %s link", ifindex,
				    dir_name(dir));
		close(fd);
	}
	if (unlink(path) < 0 && errno != ENOENT && r == 0)
		r = nb_fail(-errno, "unpin %s", path);
	return r;
}

static int attach_tcx(struct nb *nb, int ifindex, int dir, int prog_fd)
{
	enum bpf_attach_type type =
		(enum bpf_attach_type)(dir == NB_DIR_EGRESS ? NB_BPF_TCX_EGRESS : NB_BPF_TCX_INGRESS);
	_cleanup_close_ int fd = -1;
	char path[300];

	fd = bpf_link_create(prog_fd, ifindex, type, NULL);
	if (fd < 0)
		return -errno;
	nb_link_pin_path(nb, ifindex, dir, path, sizeof(path));
	unlink(path); /* a stale pin of a deleted device with a reused ifindex */
	if (bpf_obj_pin(fd, path) < 0)
		return nb_fail(-errno, "interface #%d: pin tcx %s link at %s", ifindex, dir_name(dir),
			       path);
	return 0;
}

static int attach_clsact(int ifindex, int dir, int prog_fd, bool *created_qdisc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = dir == NB_DIR_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NB_TC_HANDLE, .priority = NB_TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int r;

	r = bpf_tc_hook_create(&hook);
	if (r < 0 && r != -EEXIST)
		return r;
	*created_qdisc = r == 0;
	r = bpf_tc_attach(&hook, &opts);
	if (r < 0 && *created_qdisc) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	return r;
}

static bool unsupported(int r)
{
	return r == -EINVAL || r == -EOPNOTSUPP || r == -ENOTSUPP_KERNEL || r == -ENOENT;
}

static const char *mode_name(int mode)
{
	return mode == NB_ATTACH_TCX ? "tcx link" : mode == NB_ATTACH_CLSACT ? "tc filter (clsact)"
									   : "generic xdp link";
}

static int attach_mode(struct nb *nb, int ifindex, int dir, int prog_fd, int mode, bool *created)
{
	*created = false;
	if (mode == NB_ATTACH_TCX)
		return attach_tcx(nb, ifindex, dir, prog_fd);
	if (mode == NB_ATTACH_CLSACT)
		return attach_clsact(ifindex, dir, prog_fd, created);
	return nb_attach_xdp(nb, ifindex, prog_fd, XDP_FLAGS_SKB_MODE);
}

/* want: NB_ATTACH_NONE (the runtime's mode, probing on first use) or a
 * fixed mode (re-attaching a port as it was, the egress of a port).
 * xdp_fd >= 0: a VM/host port's ingress, whose chain ends in generic XDP
 * (prog xdp_fd; the port then has no egress hook) and whose mode is
 * nb->mode; xdp_fd < 0: the uplink's tc program, tcx or clsact, nb->tc_mode.
 * *mode_out gets the mode, or'ed with NB_ATTACH_OWN_QDISC when this call
 * created the clsact qdisc. */
int nb_attach(struct nb *nb, int ifindex, int dir, int tc_fd, int xdp_fd, int want, int *mode_out)
{
	int *cur = xdp_fd >= 0 ? &nb->mode : &nb->tc_mode;
	int last = xdp_fd >= 0 ? NB_ATTACH_XDP_SKB : NB_ATTACH_CLSACT;
	bool created = false;
	int m, r = -EOPNOTSUPP;

	if (want != NB_ATTACH_NONE) {
		r = attach_mode(nb, ifindex, dir, want == NB_ATTACH_XDP_SKB ? xdp_fd : tc_fd, want,
				&created);
		if (r < 0)
			return nb_fail(r, "interface #%d: attach %s %s", ifindex, mode_name(want),
				       dir_name(dir));
		*mode_out = want | (created ? NB_ATTACH_OWN_QDISC : 0);
		return 0;
	}
	for (m = *cur ? *cur : NB_ATTACH_TCX; m <= last; m++) {
		r = attach_mode(nb, ifindex, dir, m == NB_ATTACH_XDP_SKB ? xdp_fd : tc_fd, m,
				&created);
		if (r == 0) {
			if (*cur != m)
				log_debug("netbridge %s: attaching with %s", nb->runtime, mode_name(m));
			*cur = m;
			*mode_out = m | (created ? NB_ATTACH_OWN_QDISC : 0);
			return 0;
		}
		/* probed or forced before: no fallback; else only when the
		 * kernel lacks the mechanism */
		if (*cur == m || !unsupported(r))
			break;
		log_info("netbridge %s: %s %s on interface #%d: %s, falling back", nb->runtime,
			 mode_name(m), dir_name(dir), ifindex, strerror(-r));
	}
	return nb_fail(r, "interface #%d: attach %s %s%s", ifindex, mode_name(m > last ? last : m),
		       dir_name(dir), m > last ? " (no tcx, clsact or generic XDP)" : "");
}

/* Idempotent: what is already gone is not an error. */
int nb_detach(struct nb *nb, int ifindex, int dir, int mode)
{
	int r;

	if (dir == NB_DIR_XDP || (mode & NB_ATTACH_MODE_MASK) == NB_ATTACH_TCX ||
	    (mode & NB_ATTACH_MODE_MASK) == NB_ATTACH_XDP_SKB) {
		return detach_link(nb, ifindex,
				   (mode & NB_ATTACH_MODE_MASK) == NB_ATTACH_XDP_SKB ? NB_DIR_XDP : dir);
	} else if ((mode & NB_ATTACH_MODE_MASK) == NB_ATTACH_CLSACT) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = dir == NB_DIR_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NB_TC_HANDLE, .priority = NB_TC_PRIORITY);

		r = bpf_tc_detach(&hook, &opts);
		if (r < 0 && r != -ENOENT && r != -ENODEV && r != -EINVAL)
			return nb_fail(r, "interface #%d: detach tc %s filter", ifindex,
				       dir_name(dir));
		if (mode & NB_ATTACH_OWN_QDISC) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
	}
	return 0;
}

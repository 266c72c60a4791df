/* nb_attach.c: attaching the switch programs to interfaces.
 *
 * Fallback chain, probed on the first attach of a runtime:
 *   1. tcx link (kernel >= 6.6): bpf_link_create with BPF_TCX_INGRESS/EGRESS,
 *      pinned as <pin_dir>/link-<ifindex>-{in,eg} so that it outlives the
 *      process. libbpf 1.1 and the 6.1 UAPI headers lack the attach types,
 *      hence the local numbers.
 *   2. netlink clsact (bpf_tc_hook_create + bpf_tc_attach): the filter lives
 *      on the device, which keeps it (and its program) alive; nothing to pin.
 * $NB_ATTACH=clsact starts at 2 (tests exercise both). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "netbridge/nb_internal.h"
#include "util.h"

#define NB_BPF_TCX_INGRESS 46
#define NB_BPF_TCX_EGRESS 47
#define NB_TC_HANDLE 0x4e42 /* "NB" */
#define NB_TC_PRIORITY 0x4e42
#define ENOTSUPP_KERNEL 524

static const char *dir_name(int dir)
{
	return dir == NB_DIR_EGRESS ? "egress" : "ingress";
}

void nb_link_pin_path(const struct nb *nb, int ifindex, int dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/link-%d-%s", nb->pin_dir, ifindex, dir == NB_DIR_EGRESS ? "eg" : "in");
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

/* want: NB_ATTACH_NONE (the runtime's mode, probing on first use) or a
 * fixed mode (re-attaching a port as it was). *mode_out gets NB_ATTACH_TCX or
 * NB_ATTACH_CLSACT, or'ed with NB_ATTACH_OWN_QDISC when this call created the
 * clsact qdisc. */
int nb_attach(struct nb *nb, int ifindex, int dir, int prog_fd, int want, int *mode_out)
{
	bool created = false;
	int r;

	if (want == NB_ATTACH_TCX) {
		r = attach_tcx(nb, ifindex, dir, prog_fd);
		if (r < 0)
			return nb_fail(r, "interface #%d: attach tcx %s link", ifindex,
				       dir_name(dir));
		*mode_out = NB_ATTACH_TCX;
		return 0;
	}
	if (want == NB_ATTACH_NONE && nb->mode != NB_ATTACH_CLSACT) {
		r = attach_tcx(nb, ifindex, dir, prog_fd);
		if (r == 0) {
			nb->mode = NB_ATTACH_TCX;
			*mode_out = NB_ATTACH_TCX;
			return 0;
		}
		if (nb->mode == NB_ATTACH_TCX ||
		    !(r == -EINVAL || r == -EOPNOTSUPP || r == -ENOTSUPP_KERNEL))
			return nb_fail(r, "interface #%d: attach tcx %s link", ifindex,
				       dir_name(dir));
		/* no tcx in this kernel: clsact from now on */
		nb->mode = NB_ATTACH_CLSACT;
	}
	r = attach_clsact(ifindex, dir, prog_fd, &created);
	if (r < 0)
		return nb_fail(r, "interface #%d: attach tc %s filter (clsact)", ifindex,
			       dir_name(dir));
	*mode_out = NB_ATTACH_CLSACT | (created ? NB_ATTACH_OWN_QDISC : 0);
	return 0;
}

/* Idempotent: what is already gone is not an error. */
int nb_detach(struct nb *nb, int ifindex, int dir, int mode)
{
	char path[300];
	int r = 0;

	if ((mode & ~NB_ATTACH_OWN_QDISC) == NB_ATTACH_TCX) {
		int fd;

		nb_link_pin_path(nb, ifindex, dir, path, sizeof(path));
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			/* Detaches now, whoever else holds the link. */
			if (bpf_link_detach(fd) < 0 && errno != ENOLINK && errno != ENODEV)
				r = nb_fail(-errno, "interface #%d: detach tcx %s link", ifindex,
					    dir_name(dir));
			close(fd);
		}
		if (unlink(path) < 0 && errno != ENOENT && r == 0)
			r = nb_fail(-errno, "unpin %s", path);
		return r;
	} else if ((mode & ~NB_ATTACH_OWN_QDISC) == NB_ATTACH_CLSACT) {
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

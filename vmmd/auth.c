/* auth.c: the control sockets' files (mode, group), their admission rules
 * and the definition's files checked with the client's credentials (auth.h). */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/auth.h"
#include "vmmd/vmmd.h"

int auth_listen(struct vmmd *d, const char *path, mode_t mode, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("control socket %s: path longer than %zu bytes", path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_errno(-errno, "control socket %s: socket", path);
	unlink(path); /* stale: we hold the state lock */
	old = umask(0777 & ~mode);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return log_errno(-errno, "control socket %s: bind", path);
	chmod(path, mode);
	if (d->conf.socket_group) {
		struct group *g = getgrnam(d->conf.socket_group);
		if (!g)
			log_warn("control socket %s: group '%s' does not exist; leaving the group "
				 "as is", path, d->conf.socket_group);
		else if (chown(path, (uid_t)-1, g->gr_gid) < 0)
			log_warn("control socket %s: chgrp %s: %s", path, d->conf.socket_group,
				 strerror(errno));
	}
	if (listen(fd, 256) < 0)
		return log_errno(-errno, "control socket %s: listen", path);
	*out = TAKE_FD(fd);
	return 0;
}

void auth_init(struct vmmd *d, int sock_fd)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct group *g;
	struct stat st;

	d->admin_gid = (gid_t)-1;
	snprintf(d->admin_group, sizeof(d->admin_group), "%s",
		 d->conf.socket_group ? d->conf.socket_group : "(none)");
	if (d->conf.socket_group) {
		if ((g = getgrnam(d->conf.socket_group)))
			d->admin_gid = g->gr_gid;
		else
			log_warn("socket_group '%s' does not exist: only root and uid %d may use the "
				 "read-write socket", d->conf.socket_group, (int)geteuid());
		return;
	}
	/* the group the socket file got (ours, or systemd's SocketGroup=) */
	memset(&sa, 0, sizeof(sa));
	if (getsockname(sock_fd, (struct sockaddr *)&sa, &len) < 0 || !sa.sun_path[0] ||
	    stat(sa.sun_path, &st) < 0) {
		log_warn("read-write socket: its file's group is unknown: only root and uid %d may "
			 "use it (set socket_group)", (int)geteuid());
		return;
	}
	d->admin_gid = st.st_gid;
	if ((g = getgrgid(st.st_gid)))
		snprintf(d->admin_group, sizeof(d->admin_group), "%s", g->gr_name);
	else
		snprintf(d->admin_group, sizeof(d->admin_group), "%d", (int)st.st_gid);
}

const char *auth_admit(struct vmmd *d, const struct peer *p, bool readonly, unsigned clients,
		       unsigned uid_clients, char *msg, size_t len)
{
	if (!readonly) {
		if (p->uid != 0 && p->uid != geteuid() && !peer_in_group(p, d->admin_gid)) {
			snprintf(msg, len, "uid %d is not root and not in group %s%s%s%s",
				 (int)p->uid, d->admin_group,
				 d->conf.readonly_socket ? "; the read-only socket " : "",
				 d->conf.readonly_socket ? d->ro_sock_path : "",
				 d->conf.readonly_socket ? " serves everyone" : "");
			return VMMD_E_PERMISSION;
		}
		if (clients >= VMMD_MAX_CLIENTS) {
			snprintf(msg, len, "the read-write socket has %u clients already (its limit)",
				 clients);
			return VMMD_E_BUSY;
		}
		return NULL;
	}
	if (clients >= d->conf.readonly_max_clients) {
		snprintf(msg, len, "the read-only socket has %u clients already "
			 "(readonly_max_clients)", clients);
		return VMMD_E_BUSY;
	}
	if (uid_clients >= d->conf.readonly_max_per_uid) {
		snprintf(msg, len, "uid %d has %u connections to the read-only socket already "
			 "(readonly_max_per_uid)", (int)p->uid, uid_clients);
		return VMMD_E_BUSY;
	}
	return NULL;
}

void auth_refuse(int fd, const struct peer *p, bool readonly, const char *code, const char *msg)
{
	static uint64_t last_ns;
	static unsigned quiet;
	uint64_t now = now_ns();
	char more[64] = "";
	struct json_object *o = jsonl_error(NULL, code, "%s", msg);
	size_t len;
	char *s = jsonl_serialize(o, &len);

	json_object_put(o);
	/* a line this short fits in a fresh connection's socket buffer */
	if (s)
		(void)!write(fd, s, len);
	free(s);
	close(fd);
	if (last_ns && now - last_ns < 1000000000ull) {
		quiet++;
		return;
	}
	if (quiet)
		snprintf(more, sizeof(more), " (%u more refusals since the last one logged)", quiet);
	log_warn("client pid %d uid %d: refused on the %s socket: %s%s", (int)p->pid, (int)p->uid,
		 readonly ? "read-only" : "read-write", msg, more);
	last_ns = now;
	quiet = 0;
}

int auth_check_files(const struct peer *p, const struct vmdef *def, struct vmdef_error *err)
{
	const char *const fields[] = { "kernel", "initrd" };
	const char *const paths[] = { def->kernel, def->initrd };

	if (p->uid == 0 || p->uid == geteuid())
		return 0;
	for (unsigned i = 0; i < ARRAY_SIZE(paths); i++) {
		int r = paths[i] ? peer_can_read(p, paths[i]) : 0;

		if (!r)
			continue;
		snprintf(err->field, sizeof(err->field), "%s", fields[i]);
		snprintf(err->message, sizeof(err->message), "%s %s: not readable by uid %d%s%s",
			 fields[i], paths[i], (int)p->uid, r == -EACCES ? "" : ": ",
			 r == -EACCES ? "" : strerror(-r));
		log_warn("vm.create %s by pid %d uid %d refused: %s", def->name, (int)p->pid,
			 (int)p->uid, err->message);
		return r;
	}
	return 0;
}

void auth_record_owner(const struct peer *p, struct vmdef *def)
{
	struct vmdef_owner *ow = &def->owner;

	memset(ow, 0, sizeof(*ow));
	if (p->uid == 0 || p->uid == geteuid() || p->uid == (uid_t)-1)
		return;
	ow->set = true;
	ow->uid = p->uid;
	ow->gid = p->gid;
	ow->nr_groups = MIN(p->nr_groups, (unsigned)VMDEF_GROUPS_MAX);
	for (unsigned i = 0; i < ow->nr_groups; i++)
		ow->groups[i] = p->groups[i];
}

int auth_open_as_owner(const struct vmdef *def, const char *path)
{
	gid_t groups[VMDEF_GROUPS_MAX];
	struct peer p = { .uid = def->owner.uid, .gid = def->owner.gid, .groups = groups,
			  .nr_groups = def->owner.nr_groups };

	for (unsigned i = 0; i < p.nr_groups; i++)
		groups[i] = def->owner.groups[i];
	return peer_open_read(&p, path);
}

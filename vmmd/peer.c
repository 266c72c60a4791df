/* peer.c: a control client's identity (peer.h): SO_PEERCRED, its groups,
 * and opening a file as that identity in a child process. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "vmmd/peer.h"

void peer_free(struct peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->nr_groups = 0;
}

/* SO_PEERGROUPS: first the size (ERANGE), then the groups. */
static int groups_sockopt(int fd, struct peer *p)
{
	socklen_t len = 0;
	gid_t *g;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) == 0)
		return 0; /* none */
	if (errno != ERANGE)
		return -errno;
	if (!(g = malloc(len)))
		return -ENOMEM;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		int r = -errno;
		free(g);
		return r;
	}
	p->groups = g;
	p->nr_groups = len / sizeof(gid_t);
	return 0;
}

int peer_groups_from_status(FILE *f, struct peer *p)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_free_ gid_t *g = NULL;
	bool uid_ok = false, gid_ok = false, seen = false;
	unsigned n = 0, cap = 0;
	size_t len = 0;

	while (getline(&line, &len, f) > 0) {
		unsigned long real, eff;
		char *s, *end;

		if (sscanf(line, "Uid: %lu %lu", &real, &eff) == 2)
			uid_ok = eff == p->uid;
		else if (sscanf(line, "Gid: %lu %lu", &real, &eff) == 2)
			gid_ok = eff == p->gid;
		if (strncmp(line, "Groups:", 7))
			continue;
		seen = true;
		for (s = line + 7;; s = end) {
			unsigned long v = strtoul(s, &end, 10);
			if (end == s)
				break;
			if (n == cap) {
				gid_t *ng = realloc(g, (cap = cap ? cap * 2 : 16) * sizeof(*g));
				if (!ng)
					return -ENOMEM;
				g = ng;
			}
			g[n++] = (gid_t)v;
		}
	}
	if (!seen)
		return -EINVAL;
	if (!uid_ok || !gid_ok)
		return -ESRCH;
	free(p->groups);
	p->groups = TAKE_PTR(g);
	p->nr_groups = n;
	return 0;
}

int peer_get(int fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char path[32];
	FILE *f;
	int r;

	*p = (struct peer){ .uid = (uid_t)-1, .gid = (gid_t)-1 };
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;
	r = groups_sockopt(fd, p);
	if (r != -ENOPROTOOPT)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)cred.pid);
	if (!(f = fopen(path, "re")))
		return -errno;
	r = peer_groups_from_status(f, p);
	fclose(f);
	return r;
}

bool peer_in_group(const struct peer *p, gid_t gid)
{
	if (gid == (gid_t)-1)
		return false;
	if (p->gid == gid)
		return true;
	for (unsigned i = 0; i < p->nr_groups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

/* The child's side: p's identity, then the open; the fd goes back over
 * sock. Exits with 0 or the errno. */
static void open_as(const struct peer *p, const char *path, int sock)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	char one = 1;
	struct iovec iov = { &one, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	struct stat st;
	int fd;

	if (setgroups(p->nr_groups, p->groups) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0)
		_exit(EPERM);
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		_exit(errno);
	if (fstat(fd, &st) < 0)
		_exit(errno);
	if (!S_ISREG(st.st_mode))
		_exit(EINVAL);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	_exit(sendmsg(sock, &mh, 0) == 1 ? 0 : errno);
}

int peer_open_read(const struct peer *p, const char *path)
{
	char ctl[CMSG_SPACE(sizeof(int))], one;
	struct iovec iov = { &one, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	int sv[2], status, fd = -1;
	sigset_t all;
	pid_t pid;

	/* -1 would mean "leave as it is" to setresuid: the daemon's own identity */
	if (p->uid == (uid_t)-1 || p->gid == (gid_t)-1)
		return -EPERM;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	sigfillset(&all);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		/* the daemon's signal handlers are not for this child */
		sigprocmask(SIG_SETMASK, &all, NULL);
		close(sv[0]);
		open_as(p, path, sv[1]);
	}
	close(sv[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			close(sv[0]);
			return -errno;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		close(sv[0]);
		return WIFEXITED(status) ? -WEXITSTATUS(status) : -ECHILD;
	}
	if (recvmsg(sv[0], &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) == 1 &&
	    (cm = CMSG_FIRSTHDR(&mh)) && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	close(sv[0]);
	return fd >= 0 ? fd : -EIO;
}

int peer_can_read(const struct peer *p, const char *path)
{
	int fd = peer_open_read(p, path);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

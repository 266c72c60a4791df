/* peer.h: who is at the other end of a control connection (SO_PEERCRED and
 * the supplementary groups), and whether that identity may open a file. No
 * libev or json-c: unit tests link it alone. */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* The identity a client connected with: the effective ids of its connect(). */
struct peer {
	pid_t pid;
	uid_t uid;       /* (uid_t)-1: unknown */
	gid_t gid;       /* primary group; (gid_t)-1: unknown */
	gid_t *groups;   /* supplementary groups */
	unsigned nr_groups;
};

/* Fills p from a connected Unix socket. The groups come from SO_PEERGROUPS:
 * the credentials the kernel took at connect(), with no race. Where the
 * kernel lacks it (before Linux 4.13) they come from /proc/PID/status, read
 * only if that process still has the uid and gid of SO_PEERCRED: a process
 * that ended and whose pid was reused by another identity is not believed,
 * but one that changed its groups since connect() (or a pid reused by the
 * same uid and gid) is taken as it is now. 0, or -errno with what is known
 * filled (uid and gid -1 when SO_PEERCRED failed; no groups when they could
 * not be read). p is always safe to peer_free(). */
int peer_get(int fd, struct peer *p);
void peer_free(struct peer *p);
/* The Uid:, Gid: and Groups: lines of a /proc/PID/status text into p->groups,
 * if its effective uid and gid are p->uid and p->gid. 0, -ESRCH (another
 * identity), -EINVAL (no such lines) or -ENOMEM. */
int peer_groups_from_status(FILE *f, struct peer *p);
/* p's primary or a supplementary group is gid. */
bool peer_in_group(const struct peer *p, gid_t gid);
/* Whether p could open path for reading itself: a child process takes p's
 * groups, gid and uid (in that order, all of them: real, effective, saved)
 * and opens it, so that the daemon's own credentials never change. 0, or
 * -errno as p would get it (-EINVAL: not a regular file; -EPERM also when
 * this process may not take p's identity). Blocks until the child is done
 * (an open: no reads; O_NONBLOCK, so a FIFO does not wait for a writer). */
int peer_can_read(const struct peer *p, const char *path);
/* The same, keeping the file: the child hands the fd it opened back over a
 * socket pair. An O_CLOEXEC fd, or -errno. */
int peer_open_read(const struct peer *p, const char *path);

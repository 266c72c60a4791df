/* Unit tests of vmmd/peer.c: a client's identity from a socket and from
 * /proc/PID/status, group membership, and files opened as another uid (as
 * root only: the check takes the client's identity in a child). */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmmd/peer.h"

static int status_text(const char *text, struct peer *p)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	assert_non_null(f);
	r = peer_groups_from_status(f, p);
	fclose(f);
	return r;
}

static void test_status(void **state)
{
	struct peer p = { .uid = 1000, .gid = 1000 };

	(void)state;
	assert_int_equal(status_text("Name:\tsh\nUid:\t1000\t1000\t1000\t1000\n"
				     "Gid:\t1000\t1000\t1000\t1000\nNgid:\t0\n"
				     "Groups:\t4 24 27 100 \n", &p), 0);
	assert_int_equal(p.nr_groups, 4);
	assert_int_equal(p.groups[0], 4);
	assert_int_equal(p.groups[3], 100);
	assert_true(peer_in_group(&p, 27));
	assert_true(peer_in_group(&p, 1000)); /* the primary group */
	assert_false(peer_in_group(&p, 28));
	assert_false(peer_in_group(&p, (gid_t)-1));
	/* no supplementary groups */
	assert_int_equal(status_text("Uid:\t1000\t1000\t1000\t1000\nGid:\t5\t1000\t1000\t1000\n"
				     "Groups:\t\n", &p), 0);
	assert_int_equal(p.nr_groups, 0);
	/* a pid reused by another identity: not believed, the groups stay as they were */
	p.groups = malloc(sizeof(gid_t));
	p.groups[0] = 7;
	p.nr_groups = 1;
	assert_int_equal(status_text("Uid:\t0\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n"
				     "Groups:\t0 7 8\n", &p), -ESRCH);
	assert_int_equal(status_text("Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t0\t0\t0\n"
				     "Groups:\t0\n", &p), -ESRCH);
	assert_int_equal(status_text("Uid:\t1000\t1000\t1000\t1000\n", &p), -EINVAL);
	assert_int_equal(p.nr_groups, 1);
	peer_free(&p);
	assert_null(p.groups);
}

/* Over a socketpair the peer is this process. */
static void test_socket(void **state)
{
	gid_t groups[256];
	int sv[2], n = getgroups(256, groups);
	struct peer p;

	(void)state;
	assert_true(n >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(peer_get(sv[0], &p), 0);
	assert_int_equal(p.pid, getpid());
	assert_int_equal(p.uid, geteuid());
	assert_int_equal(p.gid, getegid());
	assert_int_equal(p.nr_groups, n);
	for (int i = 0; i < n; i++)
		assert_true(peer_in_group(&p, groups[i]));
	peer_free(&p);
	close(sv[0]);
	close(sv[1]);
	/* not a socket: unknown, safe to free */
	assert_int_equal(pipe(sv), 0);
	assert_int_equal(peer_get(sv[0], &p), -ENOTSOCK);
	assert_int_equal(p.uid, (uid_t)-1);
	assert_int_equal(p.gid, (gid_t)-1);
	peer_free(&p);
	close(sv[0]);
	close(sv[1]);
}

static void write_file(const char *path, mode_t mode, gid_t gid)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("data", f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(chown(path, 0, gid), 0);
}

static void test_can_read(void **state)
{
	char dir[] = "/tmp/vmmd-peer.XXXXXX", path[128], hidden[128];
	gid_t extra = 4300;
	struct peer p = { .pid = 1, .uid = 4242, .gid = 4242 };

	(void)state;
	if (geteuid() != 0)
		skip(); /* taking another identity needs root */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	write_file(path, 0644, 0);
	assert_int_equal(peer_can_read(&p, path), 0);
	write_file(path, 0600, 0);
	assert_int_equal(peer_can_read(&p, path), -EACCES);
	/* a supplementary group opens a group-readable file */
	write_file(path, 0640, extra);
	assert_int_equal(peer_can_read(&p, path), -EACCES);
	p.groups = &extra;
	p.nr_groups = 1;
	assert_int_equal(peer_can_read(&p, path), 0);
	p.nr_groups = 0;
	/* a folder it cannot enter */
	snprintf(hidden, sizeof(hidden), "%s/private", dir);
	assert_int_equal(mkdir(hidden, 0700), 0);
	snprintf(hidden, sizeof(hidden), "%s/private/f", dir);
	write_file(hidden, 0644, 0);
	assert_int_equal(peer_can_read(&p, hidden), -EACCES);
	assert_int_equal(peer_can_read(&p, "/nonexistent/f"), -ENOENT);
	assert_int_equal(peer_can_read(&p, dir), -EINVAL); /* not a regular file */
	/* an unknown identity is never the daemon's own */
	p.uid = (uid_t)-1;
	assert_int_equal(peer_can_read(&p, "/etc/hostname"), -EPERM);
	unlink(hidden);
	snprintf(hidden, sizeof(hidden), "%s/private", dir);
	rmdir(hidden);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_socket),
		cmocka_unit_test(test_can_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

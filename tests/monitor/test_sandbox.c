/* test_sandbox.c: the sandbox's seccomp filters, installed in a child
 * process exactly as the monitor installs them (sandbox_seccomp_io, then
 * sandbox_vcpu_thread on a vCPU thread): a listed syscall works, a file
 * open is refused with EACCES, anything else kills the process with SIGSYS.
 * No root needed (no_new_privs). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "monitor/sandbox.h"

enum probe { PROBE_GETPID, PROBE_OPEN, PROBE_SOCKET, PROBE_VCPU_CLONE, PROBE_VCPU_IOCTL };

/* Runs probe in a child under the filters; its wait status. */
static int run_probe(enum probe p)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (sandbox_seccomp_io() < 0)
			_exit(90);
		switch (p) {
		case PROBE_GETPID:
			_exit(syscall(SYS_getpid) > 0 ? 0 : 91);
		case PROBE_OPEN:
			_exit(open("/etc/hostname", O_RDONLY) < 0 && errno == EACCES ? 0 : 92);
		case PROBE_SOCKET:
			syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); /* not on the list */
			_exit(93);
		case PROBE_VCPU_CLONE:
			if (sandbox_vcpu_thread() < 0)
				_exit(94);
			syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); /* the I/O thread's, not a vCPU's */
			_exit(95);
		case PROBE_VCPU_IOCTL:
			if (sandbox_vcpu_thread() < 0)
				_exit(94);
			_exit(ioctl(-1, 0) < 0 && errno == EBADF ? 0 : 96); /* KVM_RUN's syscall */
		}
		_exit(97);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_allowed(void **state)
{
	int st;

	(void)state;
	st = run_probe(PROBE_GETPID);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = run_probe(PROBE_VCPU_IOCTL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_open_refused(void **state)
{
	int st = run_probe(PROBE_OPEN);

	(void)state;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_unlisted_kills(void **state)
{
	int st;

	(void)state;
	st = run_probe(PROBE_SOCKET);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
	st = run_probe(PROBE_VCPU_CLONE);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_open_refused),
		cmocka_unit_test(test_unlisted_kills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

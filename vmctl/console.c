/* console.c: vmctl console NAME (vmctl.h). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/contract.h"
#include "common/json_get.h"
#include "common/jsonl.h"
#include "common/util.h"

#include "vmctl/vmctl.h"

int cmd_console(const char *name)
{
	struct json_object *reply, *res;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO), in_open = true;
	const char *path;
	int cfd, r = call_result("vm.info", name_params(name), &reply, &res);

	if (r) {
		json_object_put(reply);
		return r;
	}
	path = json_get_str(res, "console");
	if (!path && !json_get_str(res, "log")) {
		/* the read-only socket (our fallback) shows no host paths */
		fprintf(stderr, "error: vm %s: the read-only socket does not show console sockets; "
			"vmctl console needs the read-write socket %s\n", name, sock_path);
		json_object_put(reply);
		return EXIT_ERR;
	}
	if (!path) {
		fprintf(stderr, "error: vm %s is %s: no console to attach to (log: %s)\n", name,
			json_get_str(res, "state"), json_get_str(res, "log"));
		json_object_put(reply);
		return EXIT_NOT_RUNNING;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "error: console socket path too long: %s\n", path);
		json_object_put(reply);
		return EXIT_ERR;
	}
	strcpy(sa.sun_path, path);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "error: console %s: %s\n", path, strerror(errno));
		json_object_put(reply);
		return EXIT_ERR;
	}
	json_object_put(reply);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tty) {
		fprintf(stderr, "attached to %s's console (Ctrl-] detaches)\r\n", name);
		tcgetattr(STDIN_FILENO, &saved);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	while (!stop_events) {
		struct pollfd pf[2] = { { cfd, POLLIN, 0 }, { in_open ? STDIN_FILENO : -1, POLLIN, 0 } };
		char buf[4096];
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents) {
			n = read(cfd, buf, sizeof(buf));
			if (n <= 0)
				break; /* the VM ended (or another client took over) */
			if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;
		}
		if (pf[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				continue;
			}
			if (tty) {
				char *esc = memchr(buf, 0x1d, (size_t)n); /* Ctrl-] */
				if (esc) {
					write_all(cfd, buf, (size_t)(esc - buf));
					break;
				}
			}
			if (write_all(cfd, buf, (size_t)n) < 0)
				break;
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\r\ndetached from %s's console\n", name);
	}
	close(cfd);
	return EXIT_OK;
}

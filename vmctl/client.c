/* client.c: vmctl's connection to vmmd and the protocol (vmctl.h). */
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

const char *sock_path;
bool json_out;
int fd = -1;
char *rbuf;
static size_t rlen, rcap;
static int next_id = 1;
bool parse_only;
volatile sig_atomic_t stop_events;
void on_signal(int sig)
{
	(void)sig;
	stop_events = 1;
}


/* --output VALUE, wherever it is given: table (the default) or json. */
int set_output(const char *value)
{
	if (strcmp(value, "json") && strcmp(value, "table"))
		return die_usage("--output: '%s' is not json or table", value);
	json_out = !strcmp(value, "json");
	return 0;
}

int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see vmctl --help)\n");
	return EXIT_USAGE;
}

int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		fd = -1;
		return r;
	}
	return 0;
}

/* Connects; read-only commands fall back to the read-only socket next to the
 * main one when the main one refuses us (permissions). */
int connect_daemon(bool readonly)
{
	int r = try_connect(sock_path);

	if (r == -EACCES && readonly) {
		char ro[PATH_MAX];
		const char *slash = strrchr(sock_path, '/');
		snprintf(ro, sizeof(ro), "%.*svmmd-ro.sock", slash ? (int)(slash - sock_path + 1) : 0,
			 sock_path);
		if (try_connect(ro) == 0)
			return 0;
	}
	if (r < 0) {
		fprintf(stderr, "error: cannot connect to vmmd at %s: %s%s\n", sock_path, strerror(-r),
			r == -ENOENT || r == -ECONNREFUSED ? " (is vmmd running? see --socket)" :
			r == -EACCES ? " (not in the socket's group?)" : "");
		return EXIT_ERR;
	}
	return 0;
}

/* Reads one line from the daemon and parses it; NULL on EOF or error. */
struct json_object *read_msg(void)
{
	for (;;) {
		char *nl = rlen ? memchr(rbuf, '\n', rlen) : NULL;
		ssize_t n;

		if (nl) {
			struct json_object *o;
			size_t len = (size_t)(nl - rbuf);
			*nl = 0;
			o = json_tokener_parse(rbuf);
			memmove(rbuf, nl + 1, rlen - len - 1);
			rlen -= len + 1;
			if (!o)
				fprintf(stderr, "error: vmmd sent a line that is not JSON\n");
			return o;
		}
		if (rlen + 65536 > rcap) {
			char *p;
			if (rcap > (64u << 20)) {
				fprintf(stderr, "error: vmmd sent a line longer than 64 MiB\n");
				return NULL;
			}
			p = realloc(rbuf, rcap ? rcap * 2 : 131072);
			if (!p)
				return NULL;
			rbuf = p;
			rcap = rcap ? rcap * 2 : 131072;
		}
		n = read(fd, rbuf + rlen, rcap - rlen - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "error: vmmd closed the connection%s%s\n", n < 0 ? ": " : "",
				n < 0 ? strerror(errno) : "");
			return NULL;
		}
		rlen += (size_t)n;
	}
}

/* Sends a request and waits for its reply (events in between are skipped).
 * Returns the reply (owned by the caller) or NULL after printing why. */
struct json_object *call(const char *method, struct json_object *params)
{
	struct json_object *req = json_object_new_object(), *reply, *id;
	int my_id = next_id++, r;

	json_object_object_add(req, "id", json_object_new_int(my_id));
	json_object_object_add(req, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(req, "params", params);
	r = jsonl_send(fd, req);
	json_object_put(req);
	/* a refused connection is closed at once: its error line is still to read */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
		fprintf(stderr, "error: sending to vmmd at %s: %s\n", sock_path, strerror(-r));
		return NULL;
	}
	while ((reply = read_msg())) {
		if (r == 0 && json_object_object_get_ex(reply, "id", &id) &&
		    json_object_is_type(id, json_type_int) && json_object_get_int(id) == my_id)
			return reply;
		/* an error for no request: the connection was refused (permission,
		 * limits) or is being closed; the daemon's message is the answer */
		if (json_object_object_get_ex(reply, "id", &id) && !id &&
		    json_object_object_get_ex(reply, "error", NULL))
			return reply;
		json_object_put(reply);
	}
	return NULL;
}

/* Maps an error reply to a message and an exit status. */
int report_error(struct json_object *reply)
{
	struct json_object *e;
	const char *code, *msg;

	if (!json_object_object_get_ex(reply, "error", &e)) {
		fprintf(stderr, "error: vmmd sent a reply with neither result nor error\n");
		return EXIT_ERR;
	}
	code = json_get_str(e, "code");
	msg = json_get_str(e, "message");
	fprintf(stderr, "error: %s%s%s%s\n", msg ? msg : "", code ? " (" : "", code ? code : "",
		code ? ")" : "");
	if (code && !strcmp(code, "not_found"))
		return EXIT_NO_VM;
	if (code && !strcmp(code, "not_running"))
		return EXIT_NOT_RUNNING;
	return EXIT_ERR;
}

/* Calls and unwraps: *result borrowed from *reply. Returns an exit status. */
int call_result(const char *method, struct json_object *params, struct json_object **reply,
		       struct json_object **result)
{
	*reply = call(method, params);
	if (!*reply)
		return EXIT_ERR;
	if (!json_object_object_get_ex(*reply, "result", result))
		return report_error(*reply);
	return EXIT_OK;
}

void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
}

int check_version(struct json_object **version)
{
	struct json_object *reply, *res, *id;
	int r = call_result("daemon.version", NULL, &reply, &res);
	int64_t proto;

	*version = NULL;
	if (r != EXIT_OK) {
		if (reply && json_object_object_get_ex(reply, "id", &id) && id)
			fprintf(stderr, "error: vmmd at %s does not speak vmctl's protocol %d "
				"(no daemon.version); use a vmctl of the same release\n",
				sock_path, VMM_PROTOCOL_VERSION);
		json_object_put(reply);
		return EXIT_ERR;
	}
	proto = json_get_i64(res, "protocol", NULL);
	if (proto != VMM_PROTOCOL_VERSION) {
		fprintf(stderr, "error: vmmd at %s speaks protocol %lld (vmmd %s); this vmctl speaks "
			"protocol %d; use a vmctl of the same release as the daemon\n",
			sock_path, (long long)proto, json_get_str(res, "version") ? json_get_str(res, "version") : "?",
			VMM_PROTOCOL_VERSION);
		json_object_put(reply);
		return EXIT_ERR;
	}
	*version = reply;
	return EXIT_OK;
}

struct json_object *name_params(const char *name)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "name", json_object_new_string(name));
	return p;
}

/* vm_monitor.c: requests to a monitor's control socket (RUNTIME/vms/NAME.sock),
 * one JSON line each way. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"
#include "vm_internal.h"

#define MONITOR_CALL_TIMEOUT_MS 2000

/* One request to a monitor's control socket, blocking with a timeout: the
 * monitor answers from its I/O thread at once. 0 with *result, -EPROTO with
 * *error (the monitor's error object), or -errno. */
int vm_monitor_call(const char *sock, const char *method, struct json_object *params,
			struct json_object **result, struct json_object **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { MONITOR_CALL_TIMEOUT_MS / 1000, (MONITOR_CALL_TIMEOUT_MS % 1000) * 1000 };
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *line = NULL, *buf = NULL;
	struct json_object *req, *reply, *v;
	size_t len, got = 0, cap = 65536;
	int r;

	*result = NULL;
	if (error)
		*error = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	req = json_object_new_object();
	json_object_object_add(req, "id", json_object_new_int(1));
	json_object_object_add(req, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(req, "params", json_object_get(params));
	line = jsonl_serialize(req, &len);
	json_object_put(req);
	if (!line)
		return -ENOMEM;
	if ((r = write_all(fd, line, len)) < 0)
		return r;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (got + 1 >= cap) {
			char *nb;
			if (cap >= (4u << 20))
				return -EMSGSIZE;
			nb = realloc(buf, cap * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + got, cap - got - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -ECONNRESET;
		got += (size_t)n;
		if (memchr(buf + got - n, '\n', (size_t)n))
			break;
	}
	buf[got] = 0;
	reply = json_tokener_parse(buf);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		json_object_put(reply);
		return -EBADMSG;
	}
	if (json_object_object_get_ex(reply, "result", &v)) {
		*result = json_object_get(v);
		r = 0;
	} else {
		if (error && json_object_object_get_ex(reply, "error", &v))
			*error = json_object_get(v);
		r = -EPROTO;
	}
	json_object_put(reply);
	return r;
}

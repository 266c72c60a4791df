/* control.c: see control.h. At most CONTROL_MAX_CLIENTS at once; each
 * client's replies are written with a send timeout so that a client that
 * does not read cannot stall the I/O thread for long. */
#include "monitor/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/jsonl.h"
#include "common/log.h"
#include "common/util.h"

#define CONTROL_MAX_CLIENTS 32

struct client {
	struct control *c;
	int fd;
	struct jsonl_buf in;
};

struct control {
	struct ioloop *loop;
	int listen_fd;
	char *path; /* unlinked on close when we created it */
	control_handler_fn fn;
	void *ctx;
	struct client *clients[CONTROL_MAX_CLIENTS];
};

static void client_close(struct client *cl)
{
	struct control *c = cl->c;

	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	ioloop_del(c->loop, cl->fd);
	close(cl->fd);
	jsonl_buf_free(&cl->in);
	free(cl);
}

static int on_line(void *ctx, char *line)
{
	struct client *cl = ctx;
	struct control *c = cl->c;
	struct json_object *req = NULL, *params, *reply;
	void (*after)(void *) = NULL;
	const char *method;
	int r;

	if (!line)
		reply = jsonl_error(NULL, JSONL_E_TOO_LARGE, "request longer than %d bytes",
				    JSONL_LINE_MAX);
	else if (jsonl_parse_request(line, &req, &method, &params, &reply) == 0)
		reply = c->fn(c->ctx, method, params, req, &after);
	r = jsonl_send(cl->fd, reply);
	json_object_put(reply);
	json_object_put(req);
	if (after)
		after(c->ctx);
	return r < 0 ? r : 0;
}

static void on_client(void *ctx, int fd, uint32_t events)
{
	struct client *cl = ctx;
	char buf[4096];
	ssize_t n;

	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || jsonl_feed(&cl->in, buf, (size_t)n, on_line, cl) != 0)
		client_close(cl);
}

static void on_accept(void *ctx, int fd, uint32_t events)
{
	struct control *c = ctx;
	struct timeval tv = { .tv_sec = 1 };
	struct client *cl;
	unsigned slot;
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return;
	for (slot = 0; slot < CONTROL_MAX_CLIENTS && c->clients[slot]; slot++)
		;
	if (slot == CONTROL_MAX_CLIENTS) {
		struct json_object *e = jsonl_error(NULL, "busy", "too many control clients (%d)",
						    CONTROL_MAX_CLIENTS);
		jsonl_send(cfd, e);
		json_object_put(e);
		close(cfd);
		return;
	}
	/* Replies go out blocking with a timeout; reads stay non-blocking. */
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(cfd);
		return;
	}
	cl->c = c;
	cl->fd = cfd;
	if (ioloop_add(c->loop, cfd, EPOLLIN, on_client, cl) < 0) {
		close(cfd);
		free(cl);
		return;
	}
	c->clients[slot] = cl;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int control_open(struct control **out, struct ioloop *loop, const char *path, int listen_fd,
		 control_handler_fn fn, void *ctx)
{
	struct control *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->fn = fn;
	c->ctx = ctx;
	if (listen_fd >= 0) {
		c->listen_fd = listen_fd;
		fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
		fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
	} else {
		c->listen_fd = listen_unix(path);
		if (c->listen_fd < 0) {
			r = c->listen_fd;
			free(c);
			return r;
		}
		c->path = strdup(path);
	}
	r = ioloop_add(loop, c->listen_fd, EPOLLIN, on_accept, c);
	if (r < 0) {
		close(c->listen_fd);
		free(c->path);
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i])
			client_close(c->clients[i]);
	ioloop_del(c->loop, c->listen_fd);
	close(c->listen_fd);
	if (c->path) {
		unlink(c->path);
		free(c->path);
	}
	free(c);
}

/* console.c: see console.h. */
#include "monitor/console.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define CONSOLE_PENDING_MAX 4096
#define CONSOLE_RETRY_NS (5 * 1000 * 1000)

struct console {
	struct ioloop *loop;
	enum console_kind kind;
	pthread_mutex_t lock; /* out_fd, out_is_socket */
	int out_fd;           /* -1: output dropped */
	int out_is_socket;
	int in_fd;     /* -1: no input */
	int listen_fd; /* unix, tee: listening socket */
	int tee_fd;    /* tee: the attached client (live output, input); under lock */
	char *path;    /* unix: unlinked on close */
	int timer_fd;  /* retries pending input */
	console_push_fn push;
	void *push_ctx;
	uint8_t pending[CONSOLE_PENDING_MAX];
	size_t npending;
	uint64_t dropped;
	/* file: the size cap (0: none), PATH.1 for the previous part, the
	 * file's size as last known */
	uint64_t max, size;
	int old_fd;
};

#define ROTATE_CHUNK (64 * 1024)

/* The log reached its cap: its content becomes PATH.1 (the one before is
 * dropped) and the log starts again empty. By descriptors only, so that it
 * works in the sandbox. Under c->lock. */
static void rotate(struct console *c, size_t len)
{
	static uint8_t buf[ROTATE_CHUNK];
	struct stat st;
	off_t off = 0;

	/* the monitor's own messages go to the same file, uncounted */
	if (fstat(c->out_fd, &st) < 0)
		return;
	c->size = (uint64_t)st.st_size;
	if (c->size + len <= c->max)
		return;
	if (c->old_fd >= 0 && ftruncate(c->old_fd, 0) == 0) {
		while (off < st.st_size) {
			ssize_t n = pread(c->out_fd, buf, sizeof(buf), off);

			if (n <= 0 || pwrite(c->old_fd, buf, (size_t)n, off) != n)
				break;
			off += n;
		}
	}
	if (ftruncate(c->out_fd, 0) == 0)
		c->size = 0;
}

int console_tx(void *ctx, const uint8_t *buf, size_t len)
{
	struct console *c = ctx;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->out_fd < 0) {
		c->dropped += len;
	} else if (c->out_is_socket) {
		ssize_t n = send(c->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < (ssize_t)len)
			c->dropped += len - (n > 0 ? (size_t)n : 0);
	} else {
		if (c->max && c->size + len > c->max)
			rotate(c, len);
		r = write_all(c->out_fd, buf, len);
		if (r < 0)
			c->dropped += len;
		else
			c->size += len;
	}
	/* the tee's live view: what a slow client cannot take is only in the file */
	if (c->tee_fd >= 0)
		(void)!send(c->tee_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	pthread_mutex_unlock(&c->lock);
	return r;
}

uint64_t console_dropped(struct console *c)
{
	uint64_t d;

	pthread_mutex_lock(&c->lock);
	d = c->dropped;
	pthread_mutex_unlock(&c->lock);
	return d;
}

void console_set_input(struct console *c, console_push_fn push, void *ctx)
{
	c->push = push;
	c->push_ctx = ctx;
}

static void arm_retry(struct console *c, int on)
{
	struct itimerspec its = { 0 };

	if (on)
		its.it_value.tv_nsec = CONSOLE_RETRY_NS;
	timerfd_settime(c->timer_fd, 0, &its, NULL);
}

/* Moves pending input into the UART; re-arms the retry timer if some stays. */
static void flush_pending(struct console *c)
{
	size_t took;

	if (!c->push || !c->npending)
		return;
	took = c->push(c->push_ctx, c->pending, c->npending);
	memmove(c->pending, c->pending + took, c->npending - took);
	c->npending -= took;
	arm_retry(c, c->npending > 0);
}

static void on_timer(void *ctx, int fd, uint32_t events)
{
	struct console *c = ctx;
	uint64_t ticks;

	(void)events;
	(void)!read(fd, &ticks, sizeof(ticks));
	flush_pending(c);
}

static void drop_input(struct console *c)
{
	ioloop_del(c->loop, c->in_fd);
	pthread_mutex_lock(&c->lock);
	if (c->kind == CONSOLE_UNIX) {
		close(c->in_fd); /* the client socket: in and out */
		c->out_fd = -1;
	} else if (c->tee_fd >= 0 && c->tee_fd == c->in_fd) {
		close(c->tee_fd);
		c->tee_fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
	c->in_fd = -1;
}

static void on_input(void *ctx, int fd, uint32_t events)
{
	struct console *c = ctx;
	ssize_t n;

	(void)events;
	if (c->npending == CONSOLE_PENDING_MAX)
		return; /* the guest is not reading; the timer retries */
	n = read(fd, c->pending + c->npending, CONSOLE_PENDING_MAX - c->npending);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_input(c);
		return;
	}
	c->npending += (size_t)n;
	flush_pending(c);
}

static void on_accept(void *ctx, int fd, uint32_t events)
{
	struct console *c = ctx;
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return;
	if (c->in_fd >= 0) { /* one client at a time: the newest wins */
		drop_input(c);
	}
	pthread_mutex_lock(&c->lock);
	if (c->kind == CONSOLE_UNIX) {
		c->out_fd = cfd;
		c->out_is_socket = 1;
	} else {
		c->tee_fd = cfd; /* tee: the file stays the main output */
	}
	pthread_mutex_unlock(&c->lock);
	c->in_fd = cfd;
	if (ioloop_add(c->loop, cfd, EPOLLIN, on_input, c) < 0)
		drop_input(c);
}

static int open_unix(struct console *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0)
		return -errno;
	unlink(path);
	if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->listen_fd, 4) < 0)
		return -errno;
	c->path = strdup(path);
	return ioloop_add(c->loop, c->listen_fd, EPOLLIN, on_accept, c);
}

static int is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int console_open(struct console **out, struct ioloop *loop, const struct monitor_config *cfg)
{
	struct console *c = calloc(1, sizeof(*c));
	int r = 0;

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->kind = cfg->console;
	c->out_fd = c->in_fd = c->listen_fd = c->tee_fd = c->old_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->timer_fd < 0 || ioloop_add(loop, c->timer_fd, EPOLLIN, on_timer, c) < 0) {
		r = -errno;
		goto fail;
	}

	switch (cfg->console) {
	case CONSOLE_NONE:
		break;
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->out_is_socket = is_socket(STDOUT_FILENO);
		/* stdin may be /dev/null or a file, which epoll refuses: no input then. */
		if (ioloop_add(loop, STDIN_FILENO, EPOLLIN, on_input, c) == 0)
			c->in_fd = STDIN_FILENO;
		break;
	case CONSOLE_FILE:
		/* readable too when capped: the rotation copies it */
		c->out_fd = cfg->console_log_fd >= 0 ? cfg->console_log_fd :
			    open(cfg->console_path,
				 (cfg->console_max ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND | O_CLOEXEC,
				 0640);
		if (c->out_fd < 0) {
			r = log_errno(-errno, "console file %s", cfg->console_path);
			goto fail;
		}
		if (cfg->console_max) {
			_cleanup_free_ char *old = NULL;
			struct stat st;

			if (asprintf(&old, "%s.1", cfg->console_path) < 0) {
				r = -ENOMEM;
				goto fail;
			}
			c->old_fd = cfg->console_old_fd >= 0 ? cfg->console_old_fd :
				    open(old, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
			if (c->old_fd < 0) {
				r = log_errno(-errno, "console file %s", old);
				goto fail;
			}
			c->max = cfg->console_max;
			c->size = fstat(c->out_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
		}
		if (cfg->console_tee) {
			r = open_unix(c, cfg->console_tee);
			if (r < 0) {
				log_errno(r, "console socket %s", cfg->console_tee);
				goto fail;
			}
		}
		break;
	case CONSOLE_UNIX:
		r = open_unix(c, cfg->console_path);
		if (r < 0) {
			log_errno(r, "console socket %s", cfg->console_path);
			goto fail;
		}
		break;
	case CONSOLE_FD:
		if (fcntl(cfg->console_fd, F_GETFD) < 0) {
			r = log_errno(-errno, "console fd %d", cfg->console_fd);
			goto fail;
		}
		fcntl(cfg->console_fd, F_SETFD, FD_CLOEXEC);
		c->out_fd = cfg->console_fd;
		c->out_is_socket = is_socket(cfg->console_fd);
		fcntl(cfg->console_fd, F_SETFL, fcntl(cfg->console_fd, F_GETFL) | O_NONBLOCK);
		if (ioloop_add(loop, cfg->console_fd, EPOLLIN, on_input, c) == 0)
			c->in_fd = cfg->console_fd;
		break;
	}
	*out = c;
	return 0;
fail:
	console_close(c);
	return r ? r : -EIO;
}

void console_close(struct console *c)
{
	if (!c)
		return;
	if (c->in_fd >= 0)
		ioloop_del(c->loop, c->in_fd);
	if (c->tee_fd >= 0) {
		close(c->tee_fd);
		if (c->in_fd == c->tee_fd)
			c->in_fd = -1;
		c->tee_fd = -1;
	}
	if (c->timer_fd >= 0) {
		ioloop_del(c->loop, c->timer_fd);
		close(c->timer_fd);
	}
	if (c->listen_fd >= 0) {
		ioloop_del(c->loop, c->listen_fd);
		close(c->listen_fd);
	}
	if (c->path) {
		unlink(c->path);
		free(c->path);
	}
	if (c->old_fd >= 0)
		close(c->old_fd);
	if (c->out_fd > STDERR_FILENO)
		close(c->out_fd);
	else if (c->in_fd > STDERR_FILENO)
		close(c->in_fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

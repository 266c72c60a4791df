/* ioloop.c: see ioloop.h. Handlers are kept in a small table indexed by a
 * slot number stored in epoll_event.data, so that a handler removed while
 * events are pending is never called. */
#include "monitor/ioloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/util.h"

struct watch {
	int fd; /* -1: free slot */
	ioloop_fn fn;
	void *ctx;
};

struct ioloop {
	int epfd;
	struct watch *w;
	unsigned n;
};

struct ioloop *ioloop_new(void)
{
	struct ioloop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void ioloop_free(struct ioloop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->w);
	free(l);
}

static int find(struct ioloop *l, int fd)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->w[i].fd == fd)
			return (int)i;
	return -1;
}

int ioloop_add(struct ioloop *l, int fd, uint32_t events, ioloop_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = events };
	int slot = find(l, -1);

	if (fd < 0 || find(l, fd) >= 0)
		return -EINVAL;
	if (slot < 0) {
		struct watch *w = realloc(l->w, (l->n + 1) * sizeof(*w));
		if (!w)
			return -ENOMEM;
		l->w = w;
		slot = (int)l->n++;
	}
	ev.data.u32 = (uint32_t)slot;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		l->w[slot].fd = -1;
		return -errno;
	}
	l->w[slot] = (struct watch){ fd, fn, ctx };
	return 0;
}

int ioloop_mod(struct ioloop *l, int fd, uint32_t events)
{
	int slot = find(l, fd);
	struct epoll_event ev = { .events = events };

	if (slot < 0)
		return -ENOENT;
	ev.data.u32 = (uint32_t)slot;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int ioloop_del(struct ioloop *l, int fd)
{
	int slot = find(l, fd);

	if (slot < 0)
		return -ENOENT;
	l->w[slot].fd = -1;
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int ioloop_run_once(struct ioloop *l, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(l->epfd, ev, ARRAY_SIZE(ev), timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t slot = ev[i].data.u32;
		struct watch w;
		if (slot >= l->n || l->w[slot].fd < 0)
			continue; /* removed by an earlier handler */
		w = l->w[slot];
		w.fn(w.ctx, w.fd, ev[i].events);
	}
	return n;
}

/* vm_monitor.c: requests to a monitor's control socket (RUNTIME/vms/NAME.sock),
 * one JSON line each way, on the loop: a non-blocking connect, write and read
 * driven by an ev_io watcher, a 2 s ev_timer per request, and a completion
 * callback. A monitor that is slow or stopped (SIGSTOP) costs its own
 * requests the timeout and nobody else anything. A VM's calls in flight are
 * on vm->calls; vm_calls_cancel (from vm_stop_watchers: the monitor ended, or
 * the VM is freed) completes them with -ECANCELED, so no callback outlives
 * its VM. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "vmmd/vm_internal.h"

#define MONITOR_CALL_TIMEOUT_S 2.0
/* a full listen backlog: connect again after this long */
#define CONNECT_RETRY_S 0.01
#define REPLY_MAX (4u << 20)

struct vm_call {
	struct vm_call *next;
	struct vmmd_vm *vm;
	struct ev_loop *loop;
	struct sockaddr_un sa;
	int fd;
	bool connected;
	ev_io io_w;
	ev_timer timeout_w, retry_w;
	char *out;
	size_t out_len, out_off;
	char *in;
	size_t in_len, in_cap;
	vm_call_done *done;
	struct vm_call_for f;
};

static void call_complete(struct vm_call *call, int r, struct json_object *result,
			  struct json_object *error)
{
	struct vm_call **pp;

	for (pp = &call->vm->calls; *pp; pp = &(*pp)->next)
		if (*pp == call) {
			*pp = call->next;
			break;
		}
	ev_io_stop(call->loop, &call->io_w);
	ev_timer_stop(call->loop, &call->timeout_w);
	ev_timer_stop(call->loop, &call->retry_w);
	if (call->fd >= 0)
		close(call->fd);
	call->done(call->vm, &call->f, r, result, error);
	json_object_put(call->f.req);
	free(call->out);
	free(call->in);
	free(call);
}

/* The reply line: 0 with *result, -EPROTO with *error (may stay NULL), or -EBADMSG. */
static int call_parse(char *buf, struct json_object **result, struct json_object **error)
{
	struct json_object *reply = json_tokener_parse(buf), *v;
	int r;

	*result = *error = NULL;
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		json_object_put(reply);
		return -EBADMSG;
	}
	if (json_object_object_get_ex(reply, "result", &v)) {
		*result = json_object_get(v);
		r = 0;
	} else {
		if (json_object_object_get_ex(reply, "error", &v))
			*error = json_object_get(v);
		r = -EPROTO;
	}
	json_object_put(reply);
	return r;
}

/* Reads what there is; true when the call is complete. */
static bool call_read(struct vm_call *call)
{
	struct json_object *result, *error;
	ssize_t n;
	int r;

	for (;;) {
		if (call->in_len + 1 >= call->in_cap) {
			size_t cap = call->in_cap ? call->in_cap * 2 : 65536;
			char *p;
			if (cap > REPLY_MAX) {
				call_complete(call, -EMSGSIZE, NULL, NULL);
				return true;
			}
			p = realloc(call->in, cap);
			if (!p) {
				call_complete(call, -ENOMEM, NULL, NULL);
				return true;
			}
			call->in = p;
			call->in_cap = cap;
		}
		n = read(call->fd, call->in + call->in_len, call->in_cap - call->in_len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0) {
			call_complete(call, n < 0 ? -errno : -ECONNRESET, NULL, NULL);
			return true;
		}
		call->in_len += (size_t)n;
		if (memchr(call->in + call->in_len - n, '\n', (size_t)n))
			break;
	}
	call->in[call->in_len] = 0;
	r = call_parse(call->in, &result, &error);
	call_complete(call, r, result, error);
	json_object_put(result);
	json_object_put(error);
	return true;
}

/* Writes what the socket takes, then waits for the reply. */
static bool call_write(struct vm_call *call)
{
	while (call->out_off < call->out_len) {
		ssize_t n = write(call->fd, call->out + call->out_off, call->out_len - call->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n < 0) {
			call_complete(call, -errno, NULL, NULL);
			return true;
		}
		call->out_off += (size_t)n;
	}
	ev_io_stop(call->loop, &call->io_w);
	ev_io_set(&call->io_w, call->fd, EV_READ);
	ev_io_start(call->loop, &call->io_w);
	return false;
}

static void on_call_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct vm_call *call = w->data;

	(void)loop;
	if (!call->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(call->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			call_complete(call, -err, NULL, NULL);
			return;
		}
		call->connected = true;
	}
	if (revents & EV_WRITE)
		call_write(call);
	else
		call_read(call);
}

static void on_call_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	call_complete(w->data, -ETIMEDOUT, NULL, NULL);
}

/* Connects (again); 0 when the call goes on, -errno when it failed. */
static int call_connect(struct vm_call *call)
{
	if (connect(call->fd, (struct sockaddr *)&call->sa, sizeof(call->sa)) == 0) {
		call->connected = true;
	} else if (errno == EAGAIN) {
		/* a Unix socket's backlog is full: no connection is pending, try again */
		ev_timer_set(&call->retry_w, CONNECT_RETRY_S, 0);
		ev_timer_start(call->loop, &call->retry_w);
		return 0;
	} else if (errno != EINPROGRESS && errno != EINTR) {
		return -errno;
	}
	ev_io_set(&call->io_w, call->fd, EV_WRITE);
	ev_io_start(call->loop, &call->io_w);
	return 0;
}

static void on_call_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vm_call *call = w->data;
	int r;

	(void)loop;
	(void)revents;
	if ((r = call_connect(call)) < 0)
		call_complete(call, r, NULL, NULL);
}

int vm_call_start(struct vmmd_vm *vm, struct ev_loop *loop, const char *method,
		  struct json_object *params, vm_call_done *done, const struct vm_call_for *f)
{
	struct vm_call *call;
	struct json_object *req;
	int r;

	if (strlen(vm->sock) >= sizeof(call->sa.sun_path))
		return -ENAMETOOLONG;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->vm = vm;
	call->loop = loop;
	call->done = done;
	call->f = *f;
	call->sa.sun_family = AF_UNIX;
	strcpy(call->sa.sun_path, vm->sock);
	req = json_object_new_object();
	json_object_object_add(req, "id", json_object_new_int(1));
	json_object_object_add(req, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(req, "params", json_object_get(params));
	call->out = jsonl_serialize(req, &call->out_len);
	json_object_put(req);
	call->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!call->out || call->fd < 0) {
		r = call->out ? -errno : -ENOMEM;
		goto fail;
	}
	ev_io_init(&call->io_w, on_call_io, call->fd, EV_WRITE);
	ev_timer_init(&call->timeout_w, on_call_timeout, MONITOR_CALL_TIMEOUT_S, 0);
	ev_init(&call->retry_w, on_call_retry);
	call->io_w.data = call->timeout_w.data = call->retry_w.data = call;
	if ((r = call_connect(call)) < 0)
		goto fail;
	ev_timer_start(loop, &call->timeout_w);
	json_object_get(call->f.req);
	call->next = vm->calls;
	vm->calls = call;
	return 0;
fail:
	ev_io_stop(loop, &call->io_w);
	if (call->fd >= 0)
		close(call->fd);
	free(call->out);
	free(call);
	return r;
}

void vm_calls_cancel(struct vmmd_vm *vm)
{
	while (vm->calls)
		call_complete(vm->calls, -ECANCELED, NULL, NULL);
}

void vm_calls_forget_client(struct vmmd_vm *vm, struct client *c)
{
	for (struct vm_call *call = vm->calls; call; call = call->next)
		if (call->f.c == c)
			call->f.c = NULL;
}

/* ---- blocking, before the loop runs ---- */

struct sync_call {
	int r;
	struct json_object *result;
};

static void on_sync_done(struct vmmd_vm *vm, struct vm_call_for *f, int r, struct json_object *result,
			 struct json_object *error)
{
	struct sync_call *s = f->arg;

	(void)vm;
	(void)error;
	s->r = r;
	s->result = json_object_get(result);
}

int vm_monitor_call_sync(struct vmmd_vm *vm, const char *method, struct json_object **result)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	struct sync_call s = { .r = -EINPROGRESS };
	struct vm_call_for f = { .arg = &s };
	int r;

	*result = NULL;
	if (!loop)
		return -ENOMEM;
	r = vm_call_start(vm, loop, method, NULL, on_sync_done, &f);
	if (r == 0) {
		ev_run(loop, 0); /* returns when the call's watchers are done */
		r = s.r;
		*result = s.result;
	}
	ev_loop_destroy(loop);
	return r;
}

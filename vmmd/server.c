/* server.c: vmmd's control sockets (read-write and read-only), their clients
 * and the method handlers (the method table and the checks before a handler
 * runs are in request.c). Newline-delimited JSON (common/jsonl.h); every write
 * is non-blocking with a per-client output queue so that one slow client
 * never stalls the loop; a client that lets its queue grow past OUT_MAX is
 * dropped. Who is admitted to which socket is auth.c's rule; each listener
 * counts its own clients, so that the read-only socket's cannot take the
 * read-write socket's places, and the read-only socket drops clients idle for
 * readonly_idle_timeout_s. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/auth.h"
#include "vmmd/vmmd.h"

#define OUT_MAX (8u << 20)
#define OUT_PAUSE_READ (1u << 20)

struct listener {
	ev_io w;
	int fd;
	bool readonly;
	bool activated; /* from systemd: not ours to unlink */
	const char *path;
	unsigned nr_clients;
};

/* A request line read while an earlier request's in-order reply was still
 * coming (vm.stats): processed once that reply is out. */
struct held_line {
	struct held_line *next;
	bool too_large; /* stands for an over-long line (jsonl_feed gave NULL) */
	char line[];
};

struct client {
	struct client *next, *prev;
	struct vmmd *d;
	int fd;
	ev_io rw, ww;
	struct jsonl_buf in;
	char *out;
	size_t out_len, out_off, out_cap;
	unsigned pending; /* replies that come later (start, stop, stats) */
	unsigned ordered; /* of those, replies that keep their place (stats): later lines wait */
	struct held_line *held, **held_tail;
	ev_timer resume_w; /* processes the held lines once the ordered replies are out */
	ev_timer idle_w;   /* read-only socket: no request for readonly_idle_timeout_s */
	bool subscriber, readonly, eof, reading;
	bool dead; /* to be closed from its write watcher: never freed under a caller */
	struct listener *l;
	struct peer peer;
};

static struct listener listeners[2] = { { .fd = -1 }, { .fd = -1 } };

static void client_close(struct client *c);

/* Marks c for closing; the close happens in on_client_write, outside of any
 * request processing that may still hold c. */
static void client_kill(struct client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	shutdown(c->fd, SHUT_RDWR);
	ev_io_stop(c->d->loop, &c->rw);
	c->reading = false;
	ev_io_start(c->d->loop, &c->ww);
}

static void client_update_io(struct client *c)
{
	struct ev_loop *loop = c->d->loop;
	size_t queued = c->out_len - c->out_off;
	bool want_read = !c->eof && queued < OUT_PAUSE_READ && !c->ordered && !c->held;

	if (c->dead)
		return;

	if (queued)
		ev_io_start(loop, &c->ww);
	else
		ev_io_stop(loop, &c->ww);
	if (want_read && !c->reading)
		ev_io_start(loop, &c->rw);
	else if (!want_read && c->reading)
		ev_io_stop(loop, &c->rw);
	c->reading = want_read;
}

/* Writes what the socket takes; false if the client is gone. */
static bool client_flush(struct client *c)
{
	if (c->dead)
		return false;
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			client_kill(c);
			return false;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->eof && !c->pending && !c->held && c->out_len == 0) {
		client_kill(c);
		return false;
	}
	client_update_io(c);
	return true;
}

static bool client_queue_raw(struct client *c, const char *s, size_t len)
{
	if (c->dead)
		return false;
	if (c->out_len - c->out_off + len > OUT_MAX) {
		log_warn("client pid %d: more than %u bytes unread; dropping it", (int)c->peer.pid,
			 OUT_MAX);
		client_kill(c);
		return false;
	}
	if (c->out_off && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = MAX(c->out_cap * 2, c->out_len + len);
		char *p = realloc(c->out, cap);
		if (!p) {
			client_kill(c);
			return false;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	return true;
}

/* Queues o (taken) and tries to write; false if the client was closed. */
static bool client_queue(struct client *c, struct json_object *o)
{
	size_t len;
	_cleanup_free_ char *s = jsonl_serialize(o, &len);

	json_object_put(o);
	if (!s) {
		client_kill(c);
		return false;
	}
	if (!client_queue_raw(c, s, len))
		return false;
	return client_flush(c);
}

void client_send(struct client *c, struct json_object *o)
{
	if (!c) {
		json_object_put(o);
		return;
	}
	if (c->pending)
		c->pending--;
	client_queue(c, o);
}

bool client_readonly(const struct client *c)
{
	return c->readonly;
}

void client_send_ordered(struct client *c, struct json_object *o)
{
	/* the held lines go on from the next loop iteration, after this reply */
	if (c && c->ordered && !--c->ordered && c->held && !c->dead)
		ev_timer_start(c->d->loop, &c->resume_w);
	client_send(c, o);
}

void server_event(struct vmmd *d, const char *name, struct json_object *data)
{
	struct json_object *o = json_object_new_object();
	struct timespec ts;
	_cleanup_free_ char *s = NULL;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_object_add(o, "event", json_object_new_string(name));
	json_object_object_add(o, "data", data);
	json_object_object_add(o, "ts_ms", json_object_new_int64((int64_t)ts.tv_sec * 1000 +
								 ts.tv_nsec / 1000000));
	s = jsonl_serialize(o, &len);
	json_object_put(o);
	if (!s)
		return;
	for (struct client *c = d->clients, *next; c; c = next) {
		next = c->next;
		if (c->subscriber && client_queue_raw(c, s, len))
			client_flush(c);
	}
}

static void client_close(struct client *c)
{
	struct vmmd *d = c->d;

	ev_io_stop(d->loop, &c->rw);
	ev_io_stop(d->loop, &c->ww);
	ev_timer_stop(d->loop, &c->resume_w);
	ev_timer_stop(d->loop, &c->idle_w);
	while (c->held) {
		struct held_line *h = c->held;
		c->held = h->next;
		free(h);
	}
	vm_forget_client(d, c);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		d->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->nr_clients--;
	c->l->nr_clients--;
	d->last_activity_ns = now_ns();
	peer_free(&c->peer);
	jsonl_buf_free(&c->in);
	free(c->out);
	free(c);
}

/* ---- methods ---- */

/* The VM called name, or NULL with *reply set. */
static struct vmmd_vm *vm_named(struct vmmd *d, struct json_object *req, const char *name,
				struct json_object **reply)
{
	struct vmmd_vm *vm = vm_find(d, name);

	if (!vm)
		*reply = jsonl_error(req, VMMD_E_NOT_FOUND, "no VM named '%.80s'", name);
	return vm;
}

/* The VM named by params.name, or NULL with *reply set. */
static struct vmmd_vm *get_vm(struct vmmd *d, struct json_object *req, struct json_object *params,
			      struct json_object **reply)
{
	const char *name = vmmd_request_name(req, params, reply);

	return name ? vm_named(d, req, name, reply) : NULL;
}

/* One request, as the method handlers see it. */
struct call {
	struct vmmd *d;
	struct client *c;
	struct json_object *req, *params;
	const char *method;
	struct vmmd_vm *vm; /* the VM named by params.name, for methods that take one */
};

static struct json_object *m_version(struct call *m);

static struct json_object *m_list(struct call *m)
{
	struct json_object *a = json_object_new_array(), *o = json_object_new_object();

	for (struct vmmd_vm *vm = m->d->vms; vm; vm = vm->next)
		json_object_array_add(a, vm_summary_json(vm));
	json_object_object_add(o, "vms", a);
	return jsonl_result(m->req, o);
}

static struct json_object *m_info(struct call *m)
{
	return jsonl_result(m->req, vm_info_json(m->vm, m->c->readonly));
}

static struct json_object *m_stats(struct call *m)
{
	struct json_object *reply = vm_stats(m->d, m->c, m->req, m->vm);

	if (!reply)
		m->c->ordered++; /* client_send_ordered answers */
	return reply;
}

static struct json_object *m_subscribe(struct call *m)
{
	struct json_object *o = json_object_new_object();

	m->c->subscriber = true;
	/* events may be rare: a subscriber is never idle */
	ev_timer_stop(m->d->loop, &m->c->idle_w);
	json_object_object_add(o, "subscribed", json_object_new_boolean(true));
	return jsonl_result(m->req, o);
}

static struct json_object *switch_list(struct call *m, bool stats)
{
	struct json_object *v = NULL;

	if (m->params && json_object_object_get_ex(m->params, "name", &v) &&
	    !json_object_is_type(v, json_type_string))
		return vmmd_params_error(m->req, "name", "%s", "name: must be a string");
	return net_switch_list(m->d, m->req, v ? json_object_get_string(v) : NULL, stats);
}

static struct json_object *m_switch_list(struct call *m)
{
	return switch_list(m, false);
}

static struct json_object *m_switch_stats(struct call *m)
{
	return switch_list(m, true);
}

static struct json_object *m_create(struct call *m)
{
	return vmmd_vm_create(m->d, m->req, m->params, &m->c->peer);
}

static struct json_object *m_delete(struct call *m)
{
	return vm_delete(m->d, m->req, m->vm);
}

static struct json_object *m_start(struct call *m)
{
	return vm_start_req(m->d, m->c, m->req, m->vm);
}

static struct json_object *stop_or_restart(struct call *m, bool restart)
{
	struct json_object *v, *reply;
	bool force = false;
	uint32_t timeout = m->d->conf.stop_timeout_s;

	if (m->params && json_object_object_get_ex(m->params, "force", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return vmmd_params_error(m->req, "force", "%s", "force: must be true or false");
		force = json_object_get_boolean(v);
	}
	if (m->params && json_object_object_get_ex(m->params, "timeout", &v)) {
		int64_t t = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || t < 1 || t > 86400)
			return vmmd_params_error(m->req, "timeout", "%s",
						 "timeout: must be an integer number of seconds in 1..86400");
		timeout = (uint32_t)t;
	}
	/* the VM is looked up after its parameters are checked */
	if (!(m->vm = get_vm(m->d, m->req, m->params, &reply)))
		return reply;
	return vm_stop_req(m->d, m->c, m->req, m->vm, force, timeout, restart);
}

static struct json_object *m_set_limit(struct call *m)
{
	return net_set_limit(m->vm, m->req, m->params);
}

static struct json_object *m_stop(struct call *m)
{
	return stop_or_restart(m, false);
}

static struct json_object *m_restart(struct call *m)
{
	return stop_or_restart(m, true);
}

/* The handlers of vmmd_methods (vmmd/request.h), by method. */
static struct json_object *(*const handlers[VMMD_M_COUNT])(struct call *m) = {
	[VMMD_M_VERSION] = m_version,
	[VMMD_M_LIST] = m_list,
	[VMMD_M_INFO] = m_info,
	[VMMD_M_STATS] = m_stats,
	[VMMD_M_SUBSCRIBE] = m_subscribe,
	[VMMD_M_SWITCH_LIST] = m_switch_list,
	[VMMD_M_SWITCH_STATS] = m_switch_stats,
	[VMMD_M_CREATE] = m_create,
	[VMMD_M_DELETE] = m_delete,
	[VMMD_M_START] = m_start,
	[VMMD_M_STOP] = m_stop,
	[VMMD_M_RESTART] = m_restart,
	[VMMD_M_SET_LIMIT] = m_set_limit,
};

static struct json_object *m_version(struct call *m)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	json_object_object_add(o, "protocol", json_object_new_int(VMM_PROTOCOL_VERSION));
	json_object_object_add(o, "version", json_object_new_string(VMMD_VERSION));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "readonly", json_object_new_boolean(m->c->readonly));
	for (unsigned i = 0; i < ARRAY_SIZE(vmmd_methods); i++)
		json_object_array_add(a, json_object_new_string(vmmd_methods[i].name));
	json_object_object_add(o, "methods", a);
	return jsonl_result(m->req, o);
}

struct json_object *server_dispatch(struct vmmd *d, struct client *c, struct json_object *req,
				    const char *method, struct json_object *params)
{
	struct call m = { .d = d, .c = c, .req = req, .params = params, .method = method };
	const struct vmmd_method *mt;
	struct json_object *reply;
	const char *name;

	mt = vmmd_request_method(req, method, c->readonly, d->shutting_down, d->sock_path, &reply);
	if (!mt)
		return reply;
	if (mt->writes) {
		/* who changed what: one line per changing request */
		struct json_object *n = NULL;
		if (params)
			json_object_object_get_ex(params, "name", &n);
		log_info("%s %.80s requested by pid %d uid %d", method,
			 n && json_object_is_type(n, json_type_string) ? json_object_get_string(n) : "-",
			 (int)c->peer.pid, (int)c->peer.uid);
	}
	if ((reply = vmmd_request_params(req, mt, params, &name)))
		return reply;
	if (mt->vm && !(m.vm = vm_named(d, req, name, &reply)))
		return reply;
	return handlers[mt - vmmd_methods](&m);
}

/* ---- clients ---- */

/* One request line, answered (or to be answered later); non-zero if the
 * client is gone. */
static int process_line(struct client *c, char *line)
{
	struct json_object *req, *params, *reply;
	const char *method;

	if (!line)
		return client_queue(c, jsonl_error(NULL, JSONL_E_TOO_LARGE,
						   "request longer than %d bytes", JSONL_LINE_MAX)) ?
			       0 : 1;
	if (jsonl_parse_request(line, &req, &method, &params, &reply) < 0)
		return client_queue(c, reply) ? 0 : 1;
	reply = server_dispatch(c->d, c, req, method, params);
	json_object_put(req);
	if (!reply) {
		c->pending++;
		return 0;
	}
	return client_queue(c, reply) ? 0 : 1;
}

static int on_line(void *ctx, char *line)
{
	struct client *c = ctx;

	if (ev_is_active(&c->idle_w)) {
		c->idle_w.repeat = c->d->conf.readonly_idle_timeout_s; /* SIGHUP may change it */
		ev_timer_again(c->d->loop, &c->idle_w);
	}

	if (c->ordered || c->held) {
		/* an earlier reply is still to come: this one waits its turn */
		size_t len = line ? strlen(line) : 0;
		struct held_line *h = malloc(sizeof(*h) + len + 1);
		if (!h)
			return 1;
		h->next = NULL;
		h->too_large = !line;
		memcpy(h->line, line ? line : "", len + 1);
		*c->held_tail = h;
		c->held_tail = &h->next;
		return 0;
	}
	return process_line(c, line);
}

static void on_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *c = w->data;

	(void)loop;
	(void)revents;
	while (c->held && !c->ordered && !c->dead) {
		struct held_line *h = c->held;
		int r;

		if (!(c->held = h->next))
			c->held_tail = &c->held;
		r = process_line(c, h->too_large ? NULL : h->line);
		free(h);
		if (r) {
			client_kill(c);
			return;
		}
	}
	client_flush(c);
}

static void on_client_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;
	char buf[65536];
	ssize_t n;

	(void)loop;
	(void)revents;
	n = read(c->fd, buf, sizeof(buf));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		client_close(c);
		return;
	}
	if (n == 0) {
		c->eof = true;
		client_flush(c);
		return;
	}
	/* a non-zero return means the client is gone */
	if (jsonl_feed(&c->in, buf, (size_t)n, on_line, c) < 0)
		client_kill(c);
}

static void on_client_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;

	(void)loop;
	(void)revents;
	if (c->dead)
		client_close(c);
	else
		client_flush(c);
}

/* Read-only socket: no request for readonly_idle_timeout_s. One that is
 * still being answered (vm.stats) is not idle. */
static void on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *c = w->data;
	uint32_t t = c->d->conf.readonly_idle_timeout_s;

	(void)revents;
	if (c->pending || c->ordered || c->held || !t) {
		w->repeat = t;
		ev_timer_again(loop, w);
		return;
	}
	log_debug("client pid %d uid %d: no request for %u s on the read-only socket; closing it",
		  (int)c->peer.pid, (int)c->peer.uid, t);
	if (client_queue(c, jsonl_error(NULL, VMMD_E_IDLE, "no request for %u s on the read-only "
					"socket (readonly_idle_timeout_s); closing", t)))
		client_kill(c); /* what was written is still read by the client */
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct vmmd *d = ev_userdata(loop);
	struct peer p;
	unsigned uid_clients = 0;
	const char *refusal;
	char msg[256];
	struct client *c;
	int fd, r;

	(void)revents;
	fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("control socket: accept: %s", strerror(errno));
		return;
	}
	if ((r = peer_get(fd, &p)) < 0)
		log_warn("client pid %d uid %d: its credentials: %s (taken as uid %d and gid %d only)",
			 (int)p.pid, (int)p.uid, strerror(-r), (int)p.uid, (int)p.gid);
	for (c = l->readonly ? d->clients : NULL; c; c = c->next)
		uid_clients += c->readonly && c->peer.uid == p.uid;
	refusal = auth_admit(d, &p, l->readonly, l->nr_clients, uid_clients, msg, sizeof(msg));
	if (refusal || !(c = calloc(1, sizeof(*c)))) {
		auth_refuse(fd, &p, l->readonly, refusal ? refusal : JSONL_E_INTERNAL,
			    refusal ? msg : "out of memory");
		peer_free(&p);
		return;
	}
	c->d = d;
	c->fd = fd;
	c->l = l;
	c->readonly = l->readonly;
	c->peer = p;
	ev_io_init(&c->rw, on_client_read, fd, EV_READ);
	ev_io_init(&c->ww, on_client_write, fd, EV_WRITE);
	ev_timer_init(&c->resume_w, on_resume, 0, 0);
	ev_timer_init(&c->idle_w, on_idle, 0, d->conf.readonly_idle_timeout_s);
	c->held_tail = &c->held;
	c->rw.data = c->ww.data = c->resume_w.data = c->idle_w.data = c;
	c->next = d->clients;
	if (d->clients)
		d->clients->prev = c;
	d->clients = c;
	d->nr_clients++;
	l->nr_clients++;
	d->last_activity_ns = now_ns();
	log_debug("client pid %d uid %d gid %d connected%s", (int)p.pid, (int)p.uid, (int)p.gid,
		  l->readonly ? " (read-only socket)" : "");
	if (l->readonly && d->conf.readonly_idle_timeout_s)
		ev_timer_again(loop, &c->idle_w);
	client_update_io(c);
}

/* ---- listening sockets ---- */

int server_open(struct vmmd *d)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names), r;

	ev_set_userdata(d->loop, d);
	for (int i = 0; i < MAX(n, 0); i++) {
		int fd = SD_LISTEN_FDS_START + i;
		bool ro = names && names[i] &&
			  (!strcmp(names[i], "ro") || !strcmp(names[i], "vmmd-ro"));
		struct listener *l = &listeners[ro ? 1 : 0];

		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0 || l->fd >= 0) {
			log_warn("socket activation: fd %d (%s) is not a listening stream Unix socket "
				 "or is one too many; ignored", fd, names && names[i] ? names[i] : "?");
			close(fd);
			continue;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		l->fd = fd;
		l->activated = true;
		if (!ro)
			d->activated = true;
		log_info("socket activation: using fd %d (%s)%s", fd,
			 names && names[i] ? names[i] : "unnamed", ro ? " as the read-only socket" : "");
	}
	if (names) {
		for (int i = 0; i < MAX(n, 0); i++)
			free(names[i]);
		free(names);
	}
	if (listeners[0].fd < 0) {
		if ((r = auth_listen(d, d->sock_path, 0660, &listeners[0].fd)) < 0)
			return r;
		listeners[0].path = d->sock_path;
	}
	if (listeners[1].fd < 0 && d->conf.readonly_socket) {
		if ((r = auth_listen(d, d->ro_sock_path, 0666, &listeners[1].fd)) < 0)
			return r;
		listeners[1].path = d->ro_sock_path;
	}
	listeners[1].readonly = true;
	auth_init(d, listeners[0].fd);
	for (unsigned i = 0; i < ARRAY_SIZE(listeners); i++) {
		if (listeners[i].fd < 0)
			continue;
		ev_io_init(&listeners[i].w, on_accept, listeners[i].fd, EV_READ);
		listeners[i].w.data = &listeners[i];
		ev_io_start(d->loop, &listeners[i].w);
	}
	return 0;
}

void server_stop_accepting(struct vmmd *d)
{
	for (unsigned i = 0; i < ARRAY_SIZE(listeners); i++) {
		struct listener *l = &listeners[i];
		if (l->fd < 0)
			continue;
		ev_io_stop(d->loop, &l->w);
		if (!l->activated && l->path)
			unlink(l->path);
		close(l->fd);
		l->fd = -1;
	}
}

void server_close_all(struct vmmd *d)
{
	while (d->clients) {
		struct client *c = d->clients;
		struct timeval tv = { 1, 0 };

		/* finish the replies already queued, waiting at most a second each */
		if (c->out_len > c->out_off) {
			fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
			setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			(void)!write_all(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		}
		client_close(c);
	}
}

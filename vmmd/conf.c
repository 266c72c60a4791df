/* conf.c: the daemon's configuration file: defaults, parsing, validation
 * (every error names the key). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "vmmd/conf.h"

/* ---- daemon config ---- */

void vmmd_conf_init(struct vmmd_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->stop_timeout_s = VMMD_DEFAULT_STOP_TIMEOUT_S;
	c->sandbox = true;
	c->sandbox_uid_base = VMMD_DEFAULT_SANDBOX_UID_BASE;
	c->sandbox_uids = VMMD_DEFAULT_SANDBOX_UIDS;
	c->console_max_bytes = VMMD_DEFAULT_CONSOLE_MAX;
	c->cgroup_parent = strdup("vmm");
	c->machined = true;
	c->readonly_socket = true;
	c->readonly_max_clients = VMMD_DEFAULT_RO_MAX_CLIENTS;
	c->readonly_max_per_uid = VMMD_DEFAULT_RO_MAX_PER_UID;
	c->readonly_idle_timeout_s = VMMD_DEFAULT_RO_IDLE_TIMEOUT_S;
	c->log_level = LOG_P_INFO;
}

void vmmd_conf_free(struct vmmd_conf *c)
{
	free(c->monitor);
	free(c->state_dir);
	free(c->runtime_dir);
	free(c->socket_group);
	free(c->netbridge_runtime);
	free(c->cgroup_parent);
	memset(c, 0, sizeof(*c));
}

/* A JSON string with a NUL in it ("\u0000") would be cut short there. */
static bool has_nul(struct json_object *v)
{
	return strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v);
}

static int conf_str(struct json_object *v, const char *key, char **out, char *err, size_t errlen)
{
	if (json_object_is_type(v, json_type_null) ||
	    (json_object_is_type(v, json_type_string) && !json_object_get_string_len(v))) {
		free(*out);
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "%s: must be a string", key);
		return -EINVAL;
	}
	if (has_nul(v)) {
		snprintf(err, errlen, "%s: contains a NUL byte", key);
		return -EINVAL;
	}
	free(*out);
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > VMMD_IFNAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

/* An integer of v in lo..hi into *out; a message naming key otherwise. */
static int conf_uint(struct json_object *v, const char *key, uint32_t lo, uint32_t hi, uint32_t *out,
		     char *err, size_t errlen)
{
	int64_t n = json_object_get_int64(v);

	if (!json_object_is_type(v, json_type_int) || n < lo || n > hi) {
		snprintf(err, errlen, "%s: must be an integer in %u..%u", key, lo, hi);
		return -EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

/* A string of v into dst (cap bytes) that check() accepts. */
static int conf_text(struct json_object *v, const char *key, char *dst, size_t cap,
		     bool (*check)(const char *), const char *what, char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) >= (int)cap ||
	    has_nul(v) || !check(json_object_get_string(v))) {
		snprintf(err, errlen, "%s: must be %s", key, what);
		return -EINVAL;
	}
	snprintf(dst, cap, "%s", json_object_get_string(v));
	return 0;
}

static bool addr_ok(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

#define IFNAME_WHAT "[A-Za-z0-9_.-], 1..15 characters"
#define ADDR_WHAT "an IPv4 or IPv6 address"

/* "vxlan": {vni, local, remote: [ADDR...], group, dev, port, mtu, name} */
static int conf_vxlan(struct vmmd_vxlan_conf *x, struct json_object *v, const char *at, char *err,
		      size_t errlen)
{
	char key[96];
	uint32_t n;
	int r = 0;

	if (!json_object_is_type(v, json_type_object)) {
		snprintf(err, errlen, "%s: must be an object", at);
		return -EINVAL;
	}
	json_object_object_foreach(v, k, val) {
		snprintf(key, sizeof(key), "%s.%.30s", at, k);
		if (json_object_is_type(val, json_type_null) && strcmp(k, "vni") && strcmp(k, "local"))
			continue;
		if (!strcmp(k, "vni"))
			r = conf_uint(val, key, 1, 0xffffff, &x->vni, err, errlen);
		else if (!strcmp(k, "port") && !(r = conf_uint(val, key, 1, 65535, &n, err, errlen)))
			x->port = (uint16_t)n;
		else if (!strcmp(k, "mtu"))
			r = conf_uint(val, key, 576, 9000, &x->mtu, err, errlen);
		else if (!strcmp(k, "local"))
			r = conf_text(val, key, x->local, sizeof(x->local), addr_ok, ADDR_WHAT, err, errlen);
		else if (!strcmp(k, "group"))
			r = conf_text(val, key, x->group, sizeof(x->group), addr_ok, ADDR_WHAT, err, errlen);
		else if (!strcmp(k, "dev"))
			r = conf_text(val, key, x->dev, sizeof(x->dev), ifname_ok, IFNAME_WHAT, err, errlen);
		else if (!strcmp(k, "name"))
			r = conf_text(val, key, x->name, sizeof(x->name), ifname_ok, IFNAME_WHAT, err, errlen);
		else if (!strcmp(k, "remote")) {
			size_t cnt = json_object_is_type(val, json_type_array) ?
					     json_object_array_length(val) : 0;

			if (!json_object_is_type(val, json_type_array) || cnt > VMMD_VXLAN_PEERS_MAX) {
				snprintf(err, errlen, "%s: must be an array of at most %d addresses", key,
					 VMMD_VXLAN_PEERS_MAX);
				return -EINVAL;
			}
			for (size_t i = 0; i < cnt && !r; i++) {
				snprintf(key, sizeof(key), "%s.remote[%zu]", at, i);
				r = conf_text(json_object_array_get_idx(val, i), key, x->remotes[i],
					      sizeof(x->remotes[i]), addr_ok, ADDR_WHAT, err, errlen);
			}
			x->nr_remotes = (unsigned)cnt;
		} else {
			snprintf(err, errlen, "%s: unknown key (known: vni, local, remote, group, dev, "
				 "port, mtu, name)", key);
			return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	if (!x->vni || !x->local[0]) {
		snprintf(err, errlen, "%s: vni and local are required", at);
		return -EINVAL;
	}
	if (!x->nr_remotes && !x->group[0]) {
		snprintf(err, errlen, "%s: needs a remote or a group (where to send broadcasts)", at);
		return -EINVAL;
	}
	if (x->group[0] && !x->dev[0]) {
		snprintf(err, errlen, "%s.group: needs dev (the underlay interface)", at);
		return -EINVAL;
	}
	return 0;
}

/* One element of "switches": {name, uplink, host_port, vxlan} */
static int conf_switch(struct vmmd_switch_conf *sc, struct json_object *s, size_t i, char *err,
		       size_t errlen)
{
	char at[64];
	int r = 0;

	memset(sc, 0, sizeof(*sc));
	if (!json_object_is_type(s, json_type_object)) {
		snprintf(err, errlen, "switches[%zu]: must be an object", i);
		return -EINVAL;
	}
	json_object_object_foreach(s, key, val) {
		snprintf(at, sizeof(at), "switches[%zu].%.30s", i, key);
		if (json_object_is_type(val, json_type_null) && strcmp(key, "name"))
			continue;
		if (!strcmp(key, "name"))
			r = conf_text(val, at, sc->name, sizeof(sc->name), ifname_ok, IFNAME_WHAT, err,
				      errlen);
		else if (!strcmp(key, "uplink"))
			r = conf_text(val, at, sc->uplink, sizeof(sc->uplink), ifname_ok,
				      "null or " IFNAME_WHAT, err, errlen);
		else if (!strcmp(key, "host_port"))
			r = conf_text(val, at, sc->host_port, sizeof(sc->host_port), ifname_ok,
				      "null or " IFNAME_WHAT, err, errlen);
		else if (!strcmp(key, "vxlan"))
			r = conf_vxlan(&sc->vxlan, val, at, err, errlen);
		else {
			snprintf(err, errlen, "%s: unknown key (known: name, uplink, host_port, vxlan)",
				 at);
			return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	if (!sc->name[0]) {
		snprintf(err, errlen, "switches[%zu].name: required", i);
		return -EINVAL;
	}
	if (sc->uplink[0] && sc->vxlan.vni) {
		snprintf(err, errlen, "switches[%zu]: uplink and vxlan exclude each other (one uplink "
			 "per switch)", i);
		return -EINVAL;
	}
	return 0;
}

/* "switches": [{...}] */
static int conf_switches(struct vmmd_conf *c, struct json_object *v, char *err, size_t errlen)
{
	size_t n;
	int r;

	if (!json_object_is_type(v, json_type_array)) {
		snprintf(err, errlen, "switches: must be an array");
		return -EINVAL;
	}
	n = json_object_array_length(v);
	if (n > VMMD_SWITCHES_MAX) {
		snprintf(err, errlen, "switches: at most %d", VMMD_SWITCHES_MAX);
		return -EINVAL;
	}
	c->nr_switches = 0;
	for (size_t i = 0; i < n; i++) {
		struct vmmd_switch_conf *sc = &c->switches[i];

		r = conf_switch(sc, json_object_array_get_idx(v, i), i, err, errlen);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->switches[j].name, sc->name)) {
				snprintf(err, errlen, "switches[%zu].name: '%s' is repeated", i, sc->name);
				return -EINVAL;
			}
		c->nr_switches = (unsigned)i + 1;
	}
	return 0;
}

int vmmd_conf_load(struct vmmd_conf *c, const char *path, char *err, size_t errlen)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = read_file(path, VMMD_CONF_MAX, &buf, &len);
	if (r < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	return vmmd_conf_parse(c, (const char *)buf, len, err, errlen);
}

int vmmd_conf_parse(struct vmmd_conf *c, const char *text, size_t len, char *err, size_t errlen)
{
	_cleanup_free_ char *buf = malloc(len + 1);
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	const char *rest;
	int r;

	if (!buf || !tok) {
		json_tokener_free(tok);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(buf, text, len);
	buf[len] = 0;
	o = json_tokener_parse_ex(tok, buf, -1);
	if (o && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	/* what follows the object would be settings silently left out (json-c
	 * may count the NUL it stopped at) */
	rest = buf + MIN(json_tokener_get_parse_end(tok), strlen(buf));
	json_tokener_free(tok);
	if (o && strspn(rest, " \t\r\n") != strlen(rest)) {
		json_object_put(o);
		snprintf(err, errlen, "data after the JSON object");
		return -EINVAL;
	}
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	r = 0;
	json_object_object_foreach(o, key, v) {
		if (!strcmp(key, "monitor"))
			r = conf_str(v, key, &c->monitor, err, errlen);
		else if (!strcmp(key, "state_dir"))
			r = conf_str(v, key, &c->state_dir, err, errlen);
		else if (!strcmp(key, "runtime_dir"))
			r = conf_str(v, key, &c->runtime_dir, err, errlen);
		else if (!strcmp(key, "socket_group"))
			r = conf_str(v, key, &c->socket_group, err, errlen);
		else if (!strcmp(key, "switches"))
			r = conf_switches(c, v, err, errlen);
		else if (!strcmp(key, "netbridge_runtime")) {
			r = conf_str(v, key, &c->netbridge_runtime, err, errlen);
			if (!r && c->netbridge_runtime) {
				const char *q = c->netbridge_runtime;
				size_t n = strlen(q);
				bool ok = n >= 1 && n <= 32;
				for (; ok && *q; q++)
					ok = isalnum((unsigned char)*q) || *q == '_' || *q == '-';
				if (!ok) {
					snprintf(err, errlen, "%s: [A-Za-z0-9_-], 1..32 characters", key);
					r = -EINVAL;
				}
			}
		} else if (!strcmp(key, "readonly_socket") || !strcmp(key, "stop_vms_on_exit") ||
			   !strcmp(key, "sandbox")) {
			if (!json_object_is_type(v, json_type_boolean)) {
				snprintf(err, errlen, "%s: must be true or false", key);
				r = -EINVAL;
			} else if (!strcmp(key, "readonly_socket"))
				c->readonly_socket = json_object_get_boolean(v);
			else if (!strcmp(key, "sandbox"))
				c->sandbox = json_object_get_boolean(v);
			else
				c->stop_vms_on_exit = json_object_get_boolean(v);
		} else if (!strcmp(key, "sandbox_uid_base")) {
			r = conf_uint(v, key, 1000, 0x7fff0000, &c->sandbox_uid_base, err, errlen);
		} else if (!strcmp(key, "sandbox_uids")) {
			r = conf_uint(v, key, 1, 65536, &c->sandbox_uids, err, errlen);
		} else if (!strcmp(key, "cgroup_parent")) {
			r = conf_str(v, key, &c->cgroup_parent, err, errlen);
			if (!r && c->cgroup_parent) {
				const char *q = c->cgroup_parent;
				bool ok = strlen(q) <= 128 && *q != '/' && !strstr(q, "..");
				for (; ok && *q; q++)
					ok = isalnum((unsigned char)*q) || strchr("_.-/", *q);
				if (!ok) {
					snprintf(err, errlen, "%s: a path under /sys/fs/cgroup of "
						 "[A-Za-z0-9_.-/], no '..', not absolute, at most 128 "
						 "characters, or \"\" for none", key);
					r = -EINVAL;
				}
			}
		} else if (!strcmp(key, "machined")) {
			const char *m = json_object_get_string(v);

			if (!json_object_is_type(v, json_type_string) ||
			    (strcmp(m, "auto") && strcmp(m, "no"))) {
				snprintf(err, errlen, "%s: must be \"auto\" or \"no\"", key);
				r = -EINVAL;
			} else {
				c->machined = !strcmp(m, "auto");
			}
		} else if (!strcmp(key, "console_max_bytes")) {
			int64_t n = json_object_get_int64(v);

			if (!json_object_is_type(v, json_type_int) || n < 0 || (n && n < 4096) ||
			    n > (int64_t)1 << 40) {
				snprintf(err, errlen, "%s: must be 0 (no cap) or 4096..%lld bytes", key,
					 (long long)1 << 40);
				r = -EINVAL;
			} else {
				c->console_max_bytes = (uint64_t)n;
			}
		} else if (!strcmp(key, "idle_exit_s")) {
			int64_t n = json_object_get_int64(v);
			if (!json_object_is_type(v, json_type_int) || n < 0 || n > 86400) {
				snprintf(err, errlen, "%s: must be an integer in 0..86400", key);
				r = -EINVAL;
			} else
				c->idle_exit_s = (uint32_t)n;
		} else if (!strcmp(key, "stop_timeout_s")) {
			int64_t n = json_object_get_int64(v);
			if (!json_object_is_type(v, json_type_int) || n < 1 || n > 86400) {
				snprintf(err, errlen, "%s: must be an integer in 1..86400", key);
				r = -EINVAL;
			} else
				c->stop_timeout_s = (uint32_t)n;
		} else if (!strcmp(key, "readonly_max_clients")) {
			r = conf_uint(v, key, 1, VMMD_MAX_CLIENTS, &c->readonly_max_clients, err, errlen);
		} else if (!strcmp(key, "readonly_max_per_uid")) {
			r = conf_uint(v, key, 1, VMMD_MAX_CLIENTS, &c->readonly_max_per_uid, err, errlen);
		} else if (!strcmp(key, "readonly_idle_timeout_s")) {
			r = conf_uint(v, key, 0, 86400, &c->readonly_idle_timeout_s, err, errlen);
		} else if (!strcmp(key, "log_level")) {
			static const char *const names[] = { "err", "warning", "notice", "info",
							     "debug" };
			const char *s = json_object_get_string(v);
			r = -EINVAL;
			for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
				if (json_object_is_type(v, json_type_string) && !strcmp(s, names[i])) {
					c->log_level = LOG_P_ERR + (int)i;
					r = 0;
				}
			if (r)
				snprintf(err, errlen, "%s: one of err, warning, notice, info, debug", key);
		} else {
			snprintf(err, errlen,
				 "%.40s: unknown key (known: monitor, state_dir, runtime_dir, "
				 "socket_group, readonly_socket, readonly_max_clients, readonly_max_per_uid, "
				 "readonly_idle_timeout_s, stop_vms_on_exit, stop_timeout_s, idle_exit_s, "
				 "sandbox, sandbox_uid_base, sandbox_uids, console_max_bytes, cgroup_parent, "
				 "machined, "
				 "log_level, switches, netbridge_runtime)",
				 key);
			r = -EINVAL;
		}
		if (r < 0)
			break;
	}
	json_object_put(o);
	return r;
}


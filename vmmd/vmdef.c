/* vmdef.c: VM definitions, the daemon config and runtime records to and from
 * JSON (see vmdef.h). */
#include "vmmd/vmdef.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "netbridge/netbridge.h"
#include "common/util.h"

static int fail(struct vmdef_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct vmdef_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool vmdef_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > VMDEF_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

const char *vmdef_restart_name(enum vmdef_restart r)
{
	switch (r) {
	case VMDEF_RESTART_ON_FAILURE: return "on-failure";
	case VMDEF_RESTART_ALWAYS: return "always";
	case VMDEF_RESTART_NO: break;
	}
	return "no";
}

void vmdef_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

void vmdef_free(struct vmdef *d)
{
	free(d->kernel);
	free(d->initrd);
	free(d->cmdline);
	d->kernel = d->initrd = d->cmdline = NULL;
}

static int check_file(const char *field, const char *path, unsigned flags, struct vmdef_error *err)
{
	struct stat st;

	if (!*path)
		return fail(err, field, "%s: empty path", field);
	if (path[0] != '/')
		return fail(err, field, "%s: '%s' is not an absolute path", field, path);
	if (!(flags & VMDEF_CHECK_FILES))
		return 0;
	if (stat(path, &st) < 0)
		return fail(err, field, "%s: %s: %s", field, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, field, "%s: %s is not a regular file", field, path);
	if (access(path, R_OK) < 0)
		return fail(err, field, "%s: %s: %s", field, path, strerror(errno));
	return 0;
}

static int get_uint(struct vmdef_error *err, const char *field, struct json_object *v, uint32_t min,
		    uint32_t max, const char *unit, uint32_t *out)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return fail(err, field, "%s: must be an integer", field);
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return fail(err, field, "%s: %lld%s is out of range (%u..%u%s)", field, (long long)n,
			    unit, min, max, unit);
	*out = (uint32_t)n;
	return 0;
}

static int get_str(struct vmdef_error *err, const char *field, struct json_object *v, size_t max,
		   const char **out)
{
	if (!json_object_is_type(v, json_type_string))
		return fail(err, field, "%s: must be a string", field);
	*out = json_object_get_string(v);
	if (strlen(*out) > max)
		return fail(err, field, "%s: longer than %zu bytes", field, max);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return fail(err, field, "%s: contains a NUL byte", field);
	return 0;
}

bool vmdef_rate_set(const struct vmdef_rate *r)
{
	return r->bits_per_s || r->pkts_per_s;
}

static int rate_from_json(struct json_object *o, const char *field, struct vmdef_rate *r,
			  struct vmdef_error *err)
{
	static const char *const keys[] = { "bits_per_s", "pkts_per_s", "burst_bytes",
					    "burst_pkts" };
	static const uint64_t max[] = { NB_RATE_BITS_MAX, NB_RATE_PKTS_MAX, UINT32_MAX, UINT32_MAX };
	uint64_t *dst[] = { &r->bits_per_s, &r->pkts_per_s, &r->burst_bytes, &r->burst_pkts };
	char f[96];

	memset(r, 0, sizeof(*r));
	if (json_object_is_type(o, json_type_null))
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return fail(err, field, "%s: must be an object or null", field);
	json_object_object_foreach(o, key, v) {
		size_t k;
		int64_t n = json_object_get_int64(v);

		for (k = 0; k < ARRAY_SIZE(keys) && strcmp(key, keys[k]); k++)
			;
		snprintf(f, sizeof(f), "%.60s.%.20s", field, key);
		if (k == ARRAY_SIZE(keys))
			return fail(err, f, "%s: unknown key (known: bits_per_s, pkts_per_s, "
				    "burst_bytes, burst_pkts)", f);
		if (!json_object_is_type(v, json_type_int) || n < 0 || (uint64_t)n > max[k])
			return fail(err, f, "%s: must be an integer in 0..%llu", f,
				    (unsigned long long)max[k]);
		*dst[k] = (uint64_t)n;
	}
	if ((r->burst_bytes && !r->bits_per_s) || (r->burst_pkts && !r->pkts_per_s))
		return fail(err, field, "%s: a burst needs its rate (burst_bytes with bits_per_s, "
			    "burst_pkts with pkts_per_s)", field);
	return 0;
}

int vmdef_limit_from_json(struct json_object *o, const char *field, struct vmdef_limit *l,
			  struct vmdef_error *err)
{
	struct vmdef_limit n = *l;
	char f[80];
	int r;

	if (json_object_is_type(o, json_type_null)) {
		memset(l, 0, sizeof(*l));
		return 0;
	}
	if (!json_object_is_type(o, json_type_object))
		return fail(err, field, "%s: must be an object ({\"tx\": ..., \"rx\": ...}) or null",
			    field);
	json_object_object_foreach(o, key, v) {
		snprintf(f, sizeof(f), "%.60s.%.4s", field, key);
		if (strcmp(key, "tx") && strcmp(key, "rx"))
			return fail(err, f, "%s.%.20s: unknown key (known: tx, rx)", field, key);
		r = rate_from_json(v, f, key[0] == 't' ? &n.tx : &n.rx, err);
		if (r < 0)
			return r;
	}
	*l = n;
	return 0;
}

static struct json_object *rate_to_json(const struct vmdef_rate *r)
{
	struct json_object *o;

	if (!vmdef_rate_set(r))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "bits_per_s", json_object_new_uint64(r->bits_per_s));
	json_object_object_add(o, "pkts_per_s", json_object_new_uint64(r->pkts_per_s));
	json_object_object_add(o, "burst_bytes", json_object_new_uint64(r->burst_bytes));
	json_object_object_add(o, "burst_pkts", json_object_new_uint64(r->burst_pkts));
	return o;
}

struct json_object *vmdef_limit_to_json(const struct vmdef_limit *l)
{
	struct json_object *o;

	if (!vmdef_rate_set(&l->tx) && !vmdef_rate_set(&l->rx))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "tx", rate_to_json(&l->tx));
	json_object_object_add(o, "rx", rate_to_json(&l->rx));
	return o;
}

static int nic_from_json(struct json_object *o, unsigned i, struct vmdef_nic *nic,
			 struct vmdef_error *err)
{
	char field[48];
	const char *s;
	int r;

	snprintf(field, sizeof(field), "nics[%u]", i);
	if (!json_object_is_type(o, json_type_object))
		return fail(err, field, "%s: must be an object", field);
	snprintf(nic->model, sizeof(nic->model), "virtio-net");
	json_object_object_foreach(o, key, v) {
		snprintf(field, sizeof(field), "nics[%u].%.20s", i, key);
		if (!strcmp(key, "model")) {
			if ((r = get_str(err, field, v, 15, &s)) < 0)
				return r;
			if (strcmp(s, "virtio-net") && strcmp(s, "pcnet"))
				return fail(err, field, "%s: '%s' is not a NIC model (virtio-net, pcnet)",
					    field, s);
			snprintf(nic->model, sizeof(nic->model), "%s", s);
		} else if (!strcmp(key, "switch")) {
			if ((r = get_str(err, field, v, VMDEF_SWITCH_NAME_MAX, &s)) < 0)
				return r;
			if (!vmdef_name_valid(s))
				return fail(err, field, "%s: '%s' is not a valid switch name", field, s);
			snprintf(nic->sw, sizeof(nic->sw), "%s", s);
		} else if (!strcmp(key, "mac")) {
			if ((r = get_str(err, field, v, 17, &s)) < 0)
				return r;
			if (mac_parse(s, nic->mac) < 0)
				return fail(err, field, "%s: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
					    field, s);
			if (nic->mac[0] & 1)
				return fail(err, field, "%s: %s is a multicast address", field, s);
			if (!(nic->mac[0] | nic->mac[1] | nic->mac[2] | nic->mac[3] | nic->mac[4] |
			      nic->mac[5]))
				return fail(err, field, "%s: the all-zero address is not usable", field);
			nic->mac_set = true;
		} else if (!strcmp(key, "limit")) {
			if ((r = vmdef_limit_from_json(v, field, &nic->limit, err)) < 0)
				return r;
		} else {
			return fail(err, field, "%s: unknown key (known: model, switch, mac, limit)",
				    field);
		}
	}
	if (!nic->sw[0]) {
		snprintf(field, sizeof(field), "nics[%u].switch", i);
		return fail(err, field, "%s: missing", field);
	}
	return 0;
}

static int owner_from_json(struct json_object *v, unsigned flags, struct vmdef_owner *ow,
			   struct vmdef_error *err)
{
	struct json_object *uid, *gid, *groups;

	if (!(flags & VMDEF_STORED))
		return fail(err, "owner", "owner: set by vmmd (the client that defines the VM), "
			    "not in a definition");
	if (!json_object_is_type(v, json_type_object) ||
	    !json_object_object_get_ex(v, "uid", &uid) || !json_object_is_type(uid, json_type_int) ||
	    !json_object_object_get_ex(v, "gid", &gid) || !json_object_is_type(gid, json_type_int) ||
	    !json_object_object_get_ex(v, "groups", &groups) ||
	    !json_object_is_type(groups, json_type_array) ||
	    json_object_array_length(groups) > VMDEF_GROUPS_MAX)
		return fail(err, "owner", "owner: must be {uid, gid, groups: [...]}");
	ow->uid = (uint32_t)json_object_get_int64(uid);
	ow->gid = (uint32_t)json_object_get_int64(gid);
	ow->nr_groups = (unsigned)json_object_array_length(groups);
	for (unsigned i = 0; i < ow->nr_groups; i++)
		ow->groups[i] = (uint32_t)json_object_get_int64(json_object_array_get_idx(groups, i));
	ow->set = true;
	return 0;
}

int vmdef_from_json(struct json_object *o, unsigned flags, struct vmdef *d, struct vmdef_error *err)
{
	struct json_object *v;
	const char *s;
	uint32_t n;
	int r;

	memset(d, 0, sizeof(*d));
	memset(err, 0, sizeof(*err));
	d->memory_mib = VMDEF_MEM_DEFAULT_MIB;
	d->vcpus = 1;
	d->cpu_weight = VMDEF_CPU_WEIGHT_DEFAULT;
	if (!o || !json_object_is_type(o, json_type_object))
		return fail(err, "", "a VM definition must be a JSON object");
	json_object_object_foreach(o, key, val) {
		if (strcmp(key, "name") && strcmp(key, "kernel") && strcmp(key, "initrd") &&
		    strcmp(key, "cmdline") && strcmp(key, "memory_mib") && strcmp(key, "vcpus") &&
		    strcmp(key, "cpu_weight") && strcmp(key, "owner") &&
		    strcmp(key, "autostart") && strcmp(key, "restart") && strcmp(key, "nics"))
			return fail(err, key,
				    "%.48s: unknown key (known: name, kernel, initrd, cmdline, memory_mib, "
				    "vcpus, cpu_weight, autostart, restart, nics)",
				    key);
		(void)val;
	}

	if (!json_object_object_get_ex(o, "name", &v))
		return fail(err, "name", "name: missing");
	if ((r = get_str(err, "name", v, VMDEF_NAME_MAX, &s)) < 0)
		return r;
	if (!vmdef_name_valid(s))
		return fail(err, "name",
			    "name: '%s' is not a valid VM name (letters, digits, '.', '_', '-'; "
			    "starting with a letter or digit; at most %d)",
			    s, VMDEF_NAME_MAX);
	snprintf(d->name, sizeof(d->name), "%s", s);

	if (!json_object_object_get_ex(o, "kernel", &v))
		return fail(err, "kernel", "kernel: missing");
	if ((r = get_str(err, "kernel", v, 4095, &s)) < 0 ||
	    (r = check_file("kernel", s, flags, err)) < 0)
		return r;
	if (!(d->kernel = strdup(s)))
		return -ENOMEM;

	if (json_object_object_get_ex(o, "initrd", &v) && !json_object_is_type(v, json_type_null)) {
		if ((r = get_str(err, "initrd", v, 4095, &s)) < 0 ||
		    (r = check_file("initrd", s, flags, err)) < 0)
			return r;
		if (!(d->initrd = strdup(s)))
			return -ENOMEM;
	}
	if (json_object_object_get_ex(o, "cmdline", &v) && !json_object_is_type(v, json_type_null)) {
		if ((r = get_str(err, "cmdline", v, VMDEF_CMDLINE_MAX, &s)) < 0)
			return r;
		if (!(d->cmdline = strdup(s)))
			return -ENOMEM;
	}
	if (json_object_object_get_ex(o, "memory_mib", &v) &&
	    (r = get_uint(err, "memory_mib", v, VMDEF_MEM_MIN_MIB, VMDEF_MEM_MAX_MIB, " MiB",
			  &d->memory_mib)) < 0)
		return r;
	if (json_object_object_get_ex(o, "owner", &v) &&
	    (r = owner_from_json(v, flags, &d->owner, err)) < 0)
		return r;
	if (json_object_object_get_ex(o, "cpu_weight", &v) &&
	    (r = get_uint(err, "cpu_weight", v, 1, 10000, "", &d->cpu_weight)) < 0)
		return r;
	if (json_object_object_get_ex(o, "vcpus", &v) &&
	    (r = get_uint(err, "vcpus", v, 1, VMDEF_VCPUS_MAX, "", &d->vcpus)) < 0)
		return r;
	if (json_object_object_get_ex(o, "autostart", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return fail(err, "autostart", "autostart: must be true or false");
		d->autostart = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(o, "restart", &v)) {
		if ((r = get_str(err, "restart", v, 16, &s)) < 0)
			return r;
		if (!strcmp(s, "no"))
			d->restart = VMDEF_RESTART_NO;
		else if (!strcmp(s, "on-failure"))
			d->restart = VMDEF_RESTART_ON_FAILURE;
		else if (!strcmp(s, "always"))
			d->restart = VMDEF_RESTART_ALWAYS;
		else
			return fail(err, "restart",
				    "restart: '%s' is not a policy (no, on-failure, always)", s);
	}
	if (json_object_object_get_ex(o, "nics", &v)) {
		size_t len;

		if (!json_object_is_type(v, json_type_array))
			return fail(err, "nics", "nics: must be an array");
		len = json_object_array_length(v);
		if (len > VMDEF_NICS_MAX)
			return fail(err, "nics", "nics: %zu NICs, at most %d", len, VMDEF_NICS_MAX);
		for (n = 0; n < len; n++) {
			if ((r = nic_from_json(json_object_array_get_idx(v, n), n, &d->nics[n],
					       err)) < 0)
				return r;
			for (uint32_t j = 0; j < n; j++)
				if (d->nics[n].mac_set && d->nics[j].mac_set &&
				    !memcmp(d->nics[n].mac, d->nics[j].mac, 6)) {
					char field[32];
					snprintf(field, sizeof(field), "nics[%u].mac", n);
					return fail(err, field, "%s: the same MAC as nics[%u]", field, j);
				}
		}
		d->nr_nics = (unsigned)len;
	}
	return 0;
}

struct json_object *vmdef_to_json(const struct vmdef *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "kernel", json_object_new_string(d->kernel ? d->kernel : ""));
	if (d->initrd)
		json_object_object_add(o, "initrd", json_object_new_string(d->initrd));
	if (d->cmdline)
		json_object_object_add(o, "cmdline", json_object_new_string(d->cmdline));
	json_object_object_add(o, "memory_mib", json_object_new_int64(d->memory_mib));
	json_object_object_add(o, "vcpus", json_object_new_int64(d->vcpus));
	json_object_object_add(o, "cpu_weight", json_object_new_int64(d->cpu_weight));
	if (d->owner.set) {
		struct json_object *ow = json_object_new_object(), *g = json_object_new_array();

		json_object_object_add(ow, "uid", json_object_new_int64(d->owner.uid));
		json_object_object_add(ow, "gid", json_object_new_int64(d->owner.gid));
		for (unsigned i = 0; i < d->owner.nr_groups; i++)
			json_object_array_add(g, json_object_new_int64(d->owner.groups[i]));
		json_object_object_add(ow, "groups", g);
		json_object_object_add(o, "owner", ow);
	}
	json_object_object_add(o, "autostart", json_object_new_boolean(d->autostart));
	json_object_object_add(o, "restart", json_object_new_string(vmdef_restart_name(d->restart)));
	if (d->nr_nics) {
		struct json_object *a = json_object_new_array();
		for (unsigned i = 0; i < d->nr_nics; i++) {
			struct json_object *n = json_object_new_object();
			json_object_object_add(n, "model", json_object_new_string(d->nics[i].model));
			json_object_object_add(n, "switch", json_object_new_string(d->nics[i].sw));
			if (d->nics[i].mac_set) {
				char mac[18];
				vmdef_mac_format(d->nics[i].mac, mac);
				json_object_object_add(n, "mac", json_object_new_string(mac));
			}
			struct json_object *lim = vmdef_limit_to_json(&d->nics[i].limit);
			if (lim)
				json_object_object_add(n, "limit", lim);
			json_object_array_add(a, n);
		}
		json_object_object_add(o, "nics", a);
	}
	return o;
}

/* ---- runtime records ---- */

struct json_object *vmmd_runrec_to_json(const struct vmmd_runrec *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int64(r->pid));
	json_object_object_add(o, "starttime", json_object_new_uint64(r->starttime));
	json_object_object_add(o, "started_at_ms", json_object_new_int64(r->started_at_ms));
	json_object_object_add(o, "control", json_object_new_string(r->sock));
	if (r->restart_pending) {
		json_object_object_add(o, "restart_pending", json_object_new_boolean(true));
		json_object_object_add(o, "reason", json_object_new_string(r->reason));
		json_object_object_add(o, "exit_status", json_object_new_int(r->exit_status));
	}
	return o;
}

int vmmd_runrec_from_json(struct json_object *o, struct vmmd_runrec *r)
{
	struct json_object *pid, *st, *at, *sock;

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "pid", &pid) || !json_object_is_type(pid, json_type_int) ||
	    !json_object_object_get_ex(o, "starttime", &st) ||
	    !json_object_is_type(st, json_type_int) ||
	    !json_object_object_get_ex(o, "started_at_ms", &at) ||
	    !json_object_is_type(at, json_type_int) ||
	    !json_object_object_get_ex(o, "control", &sock) ||
	    !json_object_is_type(sock, json_type_string) ||
	    json_object_get_string_len(sock) >= (int)sizeof(r->sock) ||
	    json_object_get_int64(pid) < 0 || json_object_get_int64(pid) > 0x7fffffff)
		return -EINVAL;
	r->pid = (pid_t)json_object_get_int64(pid);
	r->starttime = json_object_get_uint64(st);
	r->started_at_ms = json_object_get_int64(at);
	snprintf(r->sock, sizeof(r->sock), "%s", json_object_get_string(sock));
	r->exit_status = -1;
	if (json_object_object_get_ex(o, "restart_pending", &pid) &&
	    json_object_is_type(pid, json_type_boolean))
		r->restart_pending = json_object_get_boolean(pid);
	if (json_object_object_get_ex(o, "reason", &sock) && json_object_is_type(sock, json_type_string))
		snprintf(r->reason, sizeof(r->reason), "%s", json_object_get_string(sock));
	if (json_object_object_get_ex(o, "exit_status", &st) && json_object_is_type(st, json_type_int))
		r->exit_status = json_object_get_int(st);
	return 0;
}

int vmmd_endfile_status(struct json_object *o)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, "exit_status", &v) && json_object_is_type(v, json_type_int))
		return json_object_get_int(v);
	return -1;
}

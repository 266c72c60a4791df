/* fuzz_vmdef.c: libFuzzer target for VM definitions, vmmd/vmdef.c: what a
 * client sends as vm.create's params and what STATE/vms/NAME.json holds
 * (vmdef_from_json, without the file checks), a NIC's rate limits as
 * vm.set_limit takes them (vmdef_limit_from_json) and MAC addresses.
 *
 * Input: a JSON text, parsed as state_read_json() parses a file (json-c,
 * up to the first NUL). The same object is read as a definition, as a
 * "limit" over a limit already set, and every string in it as a MAC.
 *
 * Invariants: an accepted definition is within the documented rules (name,
 * absolute kernel path, ranges, NICs with a switch, unicast MACs not
 * repeated); vmdef_to_json() of it reads back (vmdef_from_json) to an equal
 * definition, and a refusal names its field within the error's buffers.
 * An accepted limit keeps what the object leaves out, has no burst without
 * its rate, and reads back from vmdef_limit_to_json() the same; a refused
 * one leaves the limit as it was. An accepted MAC formats back to the same
 * text, lowercased (mac_parse, common/util.c). */
#include <ctype.h>

#include "common/util.h"
#include "tests/fuzz/fuzz_json.h"
#include "vmmd/vmdef.h"

FZ_NOCOV static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

FZ_NOCOV static bool rate_eq(const struct vmdef_rate *a, const struct vmdef_rate *b)
{
	return !memcmp(a, b, sizeof(*a));
}

FZ_NOCOV static bool limit_eq(const struct vmdef_limit *a, const struct vmdef_limit *b)
{
	return rate_eq(&a->tx, &b->tx) && rate_eq(&a->rx, &b->rx);
}

FZ_NOCOV static void check_rate(const struct vmdef_rate *r)
{
	FZ_CHECK(!r->burst_bytes || r->bits_per_s);
	FZ_CHECK(!r->burst_pkts || r->pkts_per_s);
}

FZ_NOCOV static void check_error(const struct vmdef_error *err)
{
	FZ_CHECK(memchr(err->field, 0, sizeof(err->field)));
	FZ_CHECK(memchr(err->message, 0, sizeof(err->message)) && err->message[0]);
}

FZ_NOCOV static void check_def(const struct vmdef *d)
{
	FZ_CHECK(vmdef_name_valid(d->name));
	FZ_CHECK(d->kernel && d->kernel[0] == '/');
	FZ_CHECK(!d->initrd || d->initrd[0] == '/');
	FZ_CHECK(!d->cmdline || strlen(d->cmdline) <= VMDEF_CMDLINE_MAX);
	FZ_CHECK(d->memory_mib >= VMDEF_MEM_MIN_MIB && d->memory_mib <= VMDEF_MEM_MAX_MIB);
	FZ_CHECK(d->vcpus >= 1 && d->vcpus <= VMDEF_VCPUS_MAX);
	FZ_CHECK(d->nr_nics <= VMDEF_NICS_MAX);
	for (unsigned i = 0; i < d->nr_nics; i++) {
		const struct vmdef_nic *n = &d->nics[i];
		FZ_CHECK(!strcmp(n->model, "virtio-net") || !strcmp(n->model, "pcnet"));
		FZ_CHECK(vmdef_name_valid(n->sw) && strlen(n->sw) <= VMDEF_SWITCH_NAME_MAX);
		if (n->mac_set) {
			static const uint8_t zero[6];
			FZ_CHECK(!(n->mac[0] & 1) && memcmp(n->mac, zero, 6));
			for (unsigned j = 0; j < i; j++)
				FZ_CHECK(!d->nics[j].mac_set || memcmp(d->nics[j].mac, n->mac, 6));
		}
		check_rate(&n->limit.tx);
		check_rate(&n->limit.rx);
	}
}

FZ_NOCOV static void check_same(const struct vmdef *a, const struct vmdef *b)
{
	FZ_CHECK(!strcmp(a->name, b->name));
	FZ_CHECK(str_eq(a->kernel, b->kernel) && str_eq(a->initrd, b->initrd) &&
		 str_eq(a->cmdline, b->cmdline));
	FZ_CHECK(a->memory_mib == b->memory_mib && a->vcpus == b->vcpus);
	FZ_CHECK(a->autostart == b->autostart && a->restart == b->restart);
	FZ_CHECK(a->nr_nics == b->nr_nics);
	for (unsigned i = 0; i < a->nr_nics; i++) {
		const struct vmdef_nic *x = &a->nics[i], *y = &b->nics[i];
		FZ_CHECK(!strcmp(x->model, y->model) && !strcmp(x->sw, y->sw));
		FZ_CHECK(x->mac_set == y->mac_set && (!x->mac_set || !memcmp(x->mac, y->mac, 6)));
		FZ_CHECK(limit_eq(&x->limit, &y->limit));
	}
}

static void definition(struct json_object *o)
{
	struct vmdef d, back;
	struct vmdef_error err;
	struct json_object *j;

	if (vmdef_from_json(o, 0, &d, &err) < 0) {
		check_error(&err);
		vmdef_free(&d);
		return;
	}
	check_def(&d);
	j = vmdef_to_json(&d);
	FZ_CHECK(vmdef_from_json(j, 0, &back, &err) == 0);
	check_same(&d, &back);
	json_object_put(j);
	vmdef_free(&back);
	vmdef_free(&d);
}

static void limit(struct json_object *o)
{
	static const struct vmdef_limit before = {
		.tx = { .bits_per_s = 1000000, .burst_bytes = 1500 },
		.rx = { .pkts_per_s = 100 },
	};
	struct vmdef_limit l = before, back = { 0 };
	struct vmdef_error err = { 0 };
	struct json_object *j, *v;

	if (vmdef_limit_from_json(o, "nics[0].limit", &l, &err) < 0) {
		check_error(&err);
		FZ_CHECK(limit_eq(&l, &before));
		return;
	}
	check_rate(&l.tx);
	check_rate(&l.rx);
	if (json_object_is_type(o, json_type_object)) {
		if (!json_object_object_get_ex(o, "tx", &v))
			FZ_CHECK(rate_eq(&l.tx, &before.tx));
		if (!json_object_object_get_ex(o, "rx", &v))
			FZ_CHECK(rate_eq(&l.rx, &before.rx));
	}
	/* unset rates (all zero) are left out: they read back as zero */
	if (!vmdef_rate_set(&l.tx))
		FZ_CHECK(!l.tx.burst_bytes && !l.tx.burst_pkts);
	if (!vmdef_rate_set(&l.rx))
		FZ_CHECK(!l.rx.burst_bytes && !l.rx.burst_pkts);
	j = vmdef_limit_to_json(&l);
	if (j) {
		FZ_CHECK(vmdef_limit_from_json(j, "limit", &back, &err) == 0);
		json_object_put(j);
	}
	FZ_CHECK(limit_eq(&l, &back));
}

static void mac(const char *s)
{
	uint8_t m[6];
	char out[18];

	if (mac_parse(s, m) < 0)
		return;
	vmdef_mac_format(m, out);
	FZ_CHECK(strlen(s) == 17);
	for (unsigned i = 0; i < 17; i++)
		FZ_CHECK(tolower((unsigned char)s[i]) == out[i]);
}

/* Every string below o, as a MAC. */
static void macs(struct json_object *o, unsigned depth)
{
	if (depth > 8)
		return;
	if (json_object_is_type(o, json_type_string)) {
		mac(json_object_get_string(o));
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			mac(k);
			macs(v, depth + 1);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			macs(json_object_array_get_idx(o, i), depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o, *v;

	fz_quiet_logging(LOG_P_ERR - 1);
	o = fz_json_parse(data, size);
	if (!o)
		return 0;
	definition(o);
	limit(o);
	if (json_object_object_get_ex(o, "limit", &v))
		limit(v);
	macs(o, 0);
	json_object_put(o);
	return 0;
}

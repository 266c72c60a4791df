/* fuzz_vmmd_conf.c: libFuzzer target for the daemon's config file,
 * vmmd/conf.c: the input is the file's text, read over the defaults
 * (vmmd_conf_parse, what vmmd_conf_load runs on the file).
 *
 * Invariants: an accepted config is within the documented rules (switch
 * and interface names, at most 16 switches with distinct names, VXLAN
 * with vni, local and a remote or group, a group with its dev, no uplink
 * beside VXLAN, ranges, the log level) and is one JSON text followed by
 * nothing but white space; a refused one says why, and what
 * it left in the struct frees cleanly (LeakSanitizer), as main.c does. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>

#include "common/log.h"
#include "tests/fuzz/fuzz_json.h"
#include "vmmd/conf.h"

FZ_NOCOV static bool ifname(const char *s, bool may_be_empty)
{
	size_t n = strlen(s);

	if (!n)
		return may_be_empty;
	if (n > VMMD_IFNAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

FZ_NOCOV static bool addr(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

FZ_NOCOV static void check_vxlan(const struct vmmd_vxlan_conf *x)
{
	if (!x->vni)
		return;
	FZ_CHECK(x->vni <= 0xffffff && addr(x->local));
	FZ_CHECK(x->nr_remotes <= VMMD_VXLAN_PEERS_MAX && (x->nr_remotes || x->group[0]));
	for (unsigned i = 0; i < x->nr_remotes; i++)
		FZ_CHECK(addr(x->remotes[i]));
	FZ_CHECK(!x->group[0] || (addr(x->group) && x->dev[0]));
	FZ_CHECK(ifname(x->dev, true) && ifname(x->name, true));
	FZ_CHECK(!x->mtu || (x->mtu >= 576 && x->mtu <= 9000));
}

FZ_NOCOV static void check_conf(const struct vmmd_conf *c)
{
	FZ_CHECK(c->nr_switches <= VMMD_SWITCHES_MAX);
	for (unsigned i = 0; i < c->nr_switches; i++) {
		const struct vmmd_switch_conf *s = &c->switches[i];
		FZ_CHECK(ifname(s->name, false) && ifname(s->uplink, true) &&
			 ifname(s->host_port, true));
		FZ_CHECK(!s->uplink[0] || !s->vxlan.vni);
		check_vxlan(&s->vxlan);
		for (unsigned j = 0; j < i; j++)
			FZ_CHECK(strcmp(c->switches[j].name, s->name));
	}
	FZ_CHECK(c->stop_timeout_s >= 1 && c->stop_timeout_s <= 86400);
	FZ_CHECK(c->idle_exit_s <= 86400);
	FZ_CHECK(c->log_level >= LOG_P_ERR && c->log_level <= LOG_P_DEBUG);
	FZ_CHECK(!c->monitor || c->monitor[0]);
	FZ_CHECK(!c->netbridge_runtime ||
		 (strlen(c->netbridge_runtime) >= 1 && strlen(c->netbridge_runtime) <= 32));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmmd_conf c;
	char err[512];
	int r;

	fz_quiet_logging(LOG_P_ERR - 1);
	vmmd_conf_init(&c);
	err[0] = 0;
	r = vmmd_conf_parse(&c, (const char *)data, size, err, sizeof(err));
	if (r == 0) {
		check_conf(&c);
		char *text = fz_strndup(data, size);
		FZ_CHECK(fz_one_json_text(text, " \t\r\n"));
		free(text);
	}
	else
		FZ_CHECK(r == -EINVAL && err[0]);
	vmmd_conf_free(&c);
	return 0;
}

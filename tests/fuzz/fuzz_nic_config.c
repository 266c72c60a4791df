/* fuzz_nic_config.c: libFuzzer target for the monitor's --nic value,
 * monitor/nic_config.c (nic_parse): the input is the value, as vmmd or a
 * person writes it after --nic.
 *
 * Invariants: an accepted value has a model of devices/netdev.h's table,
 * exactly one of tap (1..15 characters, no '/') and fd (0..65535), the
 * bounds of txirq_frames, txirq_us and txkick_us, only known opt= switches,
 * and a unicast MAC written as six pairs of hex digits; the value written
 * back from what was parsed (model=,tap=|fd=,mac=,opt= from
 * nic_opts_string(), the numbers) parses to the same. A refusal says why. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "monitor/nic.h"
#include "tests/fuzz/fuzz_input.h"

/* The last mac= item of spec (the one nic_parse keeps) is XX:XX:XX:XX:XX:XX. */
FZ_NOCOV static bool mac_written_strictly(const char *spec)
{
	const char *v = NULL;

	for (const char *p = spec; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, "mac=", 4))
			v = p + 4;
	if (!v)
		return false;
	for (unsigned i = 0; i < 17; i++)
		if (i % 3 == 2 ? v[i] != ':' : !isxdigit((unsigned char)v[i]))
			return false;
	return v[17] == 0 || v[17] == ',';
}

FZ_NOCOV static void check_nic(const char *spec, const struct nic_config *c)
{
	FZ_CHECK(c->model && netdev_model_find(c->model->name) == c->model);
	FZ_CHECK(!c->tap[0] != (c->fd < 0));
	if (c->tap[0])
		FZ_CHECK(strlen(c->tap) < NIC_TAP_NAME_MAX && !strchr(c->tap, '/'));
	else
		FZ_CHECK(c->fd <= 65535);
	FZ_CHECK(c->txirq_frames <= 256 && c->txirq_us <= 100000 && c->txkick_us <= 10000);
	FZ_CHECK(!(c->opts & ~NETDEV_OPT_ALL));
	if (c->has_mac)
		FZ_CHECK(!(c->mac[0] & 1) && mac_written_strictly(spec));
}

FZ_NOCOV static void check_same(const struct nic_config *a, const struct nic_config *b)
{
	FZ_CHECK(a->model == b->model && !strcmp(a->tap, b->tap) && a->fd == b->fd);
	FZ_CHECK(a->has_mac == b->has_mac && (!a->has_mac || !memcmp(a->mac, b->mac, 6)));
	FZ_CHECK(a->opts == b->opts && a->txirq_frames == b->txirq_frames &&
		 a->txirq_us == b->txirq_us && a->txkick_us == b->txkick_us);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fz_strndup(data, size), again[256], opts[64], mac[32] = "";
	struct nic_config c, back;
	const char *why = NULL;
	int n;

	fz_quiet_logging(LOG_P_ERR - 1);
	if (nic_parse(spec, &c, &why) < 0) {
		FZ_CHECK(why && why[0]);
		free(spec);
		return 0;
	}
	check_nic(spec, &c);
	if (c.has_mac)
		snprintf(mac, sizeof(mac), ",mac=%02x:%02x:%02x:%02x:%02x:%02x", c.mac[0], c.mac[1],
			 c.mac[2], c.mac[3], c.mac[4], c.mac[5]);
	if (c.tap[0])
		n = snprintf(again, sizeof(again), "model=%s,tap=%s", c.model->name, c.tap);
	else
		n = snprintf(again, sizeof(again), "model=%s,fd=%d", c.model->name, c.fd);
	snprintf(again + n, sizeof(again) - (size_t)n, "%s,opt=%s,txirq_frames=%u,txirq_us=%u,txkick_us=%u",
		 mac, nic_opts_string(c.opts, opts, sizeof(opts)), c.txirq_frames, c.txirq_us,
		 c.txkick_us);
	FZ_CHECK(nic_parse(again, &back, &why) == 0);
	check_same(&c, &back);
	free(spec);
	return 0;
}

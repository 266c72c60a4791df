/* nic_config.c: the `--nic` flag (nic.h): model, backend, MAC, the
 * optimization switches and their bounds, each bad value refused with a
 * message that names it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "monitor/nic.h"
#include "devices/pcnet.h"
#include "common/util.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
	if (mac_parse(s, mac) < 0)
		return -EINVAL;
	return mac[0] & 1 ? -EINVAL : 0; /* multicast is no station address */
}

/* The names of the opt= switches, in the order they print: the one list of
 * them (--help, the stats' "opts" and the messages are made from it). */
static const struct {
	const char *name;
	unsigned bit;
} opt_names[] = { { "coalesce", NETDEV_OPT_COALESCE }, { "combine", NETDEV_OPT_COMBINE },
		  { "irqfd", NETDEV_OPT_IRQFD } };

const char *nic_opt_name(unsigned bit)
{
	for (unsigned i = 0; i < ARRAY_SIZE(opt_names); i++)
		if (opt_names[i].bit == bit)
			return opt_names[i].name;
	return "?";
}

static int parse_opts(const char *s, unsigned *out)
{
	char buf[128], *save = NULL, *tok;
	unsigned opts = s[0] == '-' ? NETDEV_OPT_ALL : 0;

	if (!strcmp(s, "all") || !strcmp(s, "none")) {
		*out = s[0] == 'a' ? NETDEV_OPT_ALL : 0;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
		bool off = tok[0] == '-';
		unsigned i;
		for (i = 0; i < ARRAY_SIZE(opt_names); i++)
			if (!strcmp(tok + off, opt_names[i].name))
				break;
		if (i == ARRAY_SIZE(opt_names))
			return -EINVAL;
		opts = off ? opts & ~opt_names[i].bit : opts | opt_names[i].bit;
	}
	*out = opts;
	return 0;
}

static void join_opts(unsigned opts, const char *sep, char *buf, unsigned size)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(opt_names); i++)
		if (opts & opt_names[i].bit)
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? sep : "",
					      opt_names[i].name);
}

const char *nic_opts_string(unsigned opts, char *buf, unsigned size)
{
	join_opts(opts, "+", buf, size);
	if (!opts)
		snprintf(buf, size, "none");
	return buf;
}

int nic_parse(const char *spec, struct nic_config *c, const char **why)
{
	char buf[256], *save = NULL, *tok;
	bool have_model = false;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->opts = NETDEV_OPT_ALL;
	c->txirq_frames = NIC_TXIRQ_FRAMES;
	c->txirq_us = NIC_TXIRQ_US;
	c->txkick_us = NIC_TXKICK_US;
	if (strlen(spec) >= sizeof(buf)) {
		*why = "too long";
		return -EINVAL;
	}
	strcpy(buf, spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '=');
		uint64_t fd;
		if (!v) {
			*why = "expected KEY=VALUE items (model=, tap=, fd=, mac=, opt=, txirq_frames=, "
			       "txirq_us=, txkick_us=)";
			return -EINVAL;
		}
		*v++ = 0;
		if (!strcmp(tok, "model")) {
			c->model = netdev_model_find(v);
			if (!c->model) {
				static char msg[160];
				snprintf(msg, sizeof(msg), "model: one of %s", netdev_model_names());
				*why = msg;
				return -EINVAL;
			}
			have_model = true;
		} else if (!strcmp(tok, "tap")) {
			if (!v[0] || strlen(v) >= NIC_TAP_NAME_MAX || strchr(v, '/')) {
				*why = "tap: an interface name of 1..15 characters";
				return -EINVAL;
			}
			strcpy(c->tap, v);
		} else if (!strcmp(tok, "fd")) {
			if (parse_u64(v, 65535, &fd) < 0) {
				*why = "fd: a file descriptor number";
				return -EINVAL;
			}
			c->fd = (int)fd;
		} else if (!strcmp(tok, "mac")) {
			if (parse_mac(v, c->mac) < 0) {
				*why = "mac: six hex bytes XX:XX:XX:XX:XX:XX, not multicast";
				return -EINVAL;
			}
			c->has_mac = true;
		} else if (!strcmp(tok, "txirq_frames")) {
			if (parse_u64(v, 256, &fd) < 0) {
				*why = "txirq_frames: frames per TX interrupt, 0..256 (0 or 1: no coalescing)";
				return -EINVAL;
			}
			c->txirq_frames = (unsigned)fd;
		} else if (!strcmp(tok, "txirq_us")) {
			if (parse_u64(v, 100000, &fd) < 0) {
				*why = "txirq_us: the TX interrupt delay bound in us, 0..100000 (0: no "
				       "coalescing)";
				return -EINVAL;
			}
			c->txirq_us = (unsigned)fd;
		} else if (!strcmp(tok, "txkick_us")) {
			if (parse_u64(v, 10000, &fd) < 0) {
				*why = "txkick_us: how long a deferred PCnet transmit demand may wait in "
				       "us, 0..10000 (0: no deferral)";
				return -EINVAL;
			}
			c->txkick_us = (unsigned)fd;
		} else if (!strcmp(tok, "opt")) {
			if (parse_opts(v, &c->opts) < 0) {
				static char msg[160];
				char names[64];
				join_opts(NETDEV_OPT_ALL, ", ", names, sizeof(names));
				snprintf(msg, sizeof(msg), "opt: all, none, or names from %s joined by '+' "
					 "(a leading '-' turns one off: opt=-combine)", names);
				*why = msg;
				return -EINVAL;
			}
		} else {
			*why = "unknown key (known: model, tap, fd, mac, opt, txirq_frames, txirq_us, txkick_us)";
			return -EINVAL;
		}
	}
	if (!have_model) {
		*why = "model= is required";
		return -EINVAL;
	}
	if (!c->tap[0] == (c->fd < 0)) {
		*why = "give exactly one of tap=NAME and fd=N";
		return -EINVAL;
	}
	return 0;
}


/* limit.c: `vmctl set-limit NAME NIC [--tx SPEC] [--rx SPEC]`, a NIC's rate
 * limits (vm.set_limit), and the human form of a limit for the tables.
 *
 * SPEC: "none", or KEY=N[,KEY=N...] with KEY bits (per second), pkts (frames
 * per second), burst (bytes) or burst-pkts (frames); N takes a decimal k, M
 * or G (1000, 10^6, 10^9): --tx bits=100M,burst=64k. A direction not given
 * stays as it is. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_get.h"
#include "common/util.h"
#include "vmctl/vmctl.h"

/* "100M" -> 100000000; -1 when not a number with an optional k/M/G. */
static int parse_scaled(const char *s, uint64_t *out)
{
	static const struct { char c; uint64_t mul; } units[] = {
		{ 'k', 1000ull }, { 'K', 1000ull }, { 'M', 1000000ull }, { 'G', 1000000000ull } };
	char num[32];
	size_t n = strlen(s);
	uint64_t mul = 1, v;

	if (!n || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (num[n - 1] == units[i].c) {
			mul = units[i].mul;
			num[n - 1] = 0;
		}
	if (parse_u64(num, UINT64_MAX / mul, &v) < 0)
		return -1;
	*out = v * mul;
	return 0;
}

/* SPEC -> the RATE object of the protocol (NULL for "none"); -1 on a bad SPEC. */
static int spec_to_json(const char *opt, const char *spec, struct json_object **out)
{
	static const char *const keys[] = { "bits", "pkts", "burst", "burst-pkts" };
	static const char *const fields[] = { "bits_per_s", "pkts_per_s", "burst_bytes",
					      "burst_pkts" };
	char *copy, *tok, *save = NULL;
	struct json_object *o;
	int r = 0;

	*out = NULL;
	if (!strcmp(spec, "none"))
		return 0;
	copy = strdup(spec);
	o = json_object_new_object();
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
		char *v = strchr(tok, '=');
		uint64_t n;
		size_t k = 0;

		if (v)
			*v++ = 0;
		while (k < ARRAY_SIZE(keys) && strcmp(tok, keys[k]))
			k++;
		if (!v || k == ARRAY_SIZE(keys) || parse_scaled(v, &n) < 0) {
			fprintf(stderr, "error: %s: '%s' is not KEY=N (bits, pkts, burst, burst-pkts; "
				"N with k, M or G) or none\n", opt, spec);
			r = -1;
		} else {
			json_object_object_add(o, fields[k], json_object_new_uint64(n));
		}
	}
	free(copy);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*out = o;
	return 0;
}

int cmd_set_limit(int argc, char **argv)
{
	static const struct option opts[] = { { "tx", required_argument, NULL, 't' },
					      { "rx", required_argument, NULL, 'r' },
					      { "output", required_argument, NULL, 'o' },
					      { NULL, 0, NULL, 0 } };
	struct json_object *p, *lim = json_object_new_object(), *rate, *reply, *res;
	uint64_t nic;
	int opt, r;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "t:r:o:", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
		case 'r':
			if (spec_to_json(opt == 't' ? "--tx" : "--rx", optarg, &rate) < 0) {
				json_object_put(lim);
				return EXIT_USAGE;
			}
			json_object_object_add(lim, opt == 't' ? "tx" : "rx", rate);
			break;
		case 'o':
			if (set_output(optarg) == 0)
				break;
			/* fallthrough */
		default:
			json_object_put(lim);
			return EXIT_USAGE;
		}
	}
	if (optind + 2 != argc || parse_u64(argv[optind + 1], 63, &nic) < 0 ||
	    !json_object_object_length(lim)) {
		json_object_put(lim);
		return die_usage("%s", "set-limit needs a VM name, a NIC index and --tx and/or --rx");
	}
	if (parse_only) {
		json_object_put(lim);
		return EXIT_OK;
	}
	p = name_params(argv[optind]);
	json_object_object_add(p, "nic", json_object_new_int((int)nic));
	json_object_object_add(p, "limit", lim);
	r = call_result("vm.set_limit", p, &reply, &res);
	if (!r && json_out) {
		print_json(res);
	} else if (!r) {
		char text[160];

		limit_format(json_object_object_get(res, "limit"), text, sizeof(text));
		printf("%s: nic %s: %s\n", argv[optind], argv[optind + 1], text);
	}
	json_object_put(reply);
	return r;
}

/* "12.5 Mbit/s, 1000 frames/s" or "none" for one RATE. */
static void rate_format(struct json_object *rate, char *buf, size_t len)
{
	uint64_t bits = (uint64_t)json_get_i64(rate, "bits_per_s", NULL);
	uint64_t pkts = (uint64_t)json_get_i64(rate, "pkts_per_s", NULL);
	int n = 0;

	if (!rate || (!bits && !pkts)) {
		snprintf(buf, len, "none");
		return;
	}
	if (bits)
		n = snprintf(buf, len, "%.6g Mbit/s", (double)bits / 1e6);
	if (pkts && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%s%" PRIu64 " frames/s", bits ? ", " : "", pkts);
}

void limit_format(struct json_object *limit, char *buf, size_t len)
{
	struct json_object *tx = NULL, *rx = NULL;
	char t[64], r[64];

	if (limit) {
		json_object_object_get_ex(limit, "tx", &tx);
		json_object_object_get_ex(limit, "rx", &rx);
	}
	rate_format(tx, t, sizeof(t));
	rate_format(rx, r, sizeof(r));
	snprintf(buf, len, "limit tx %s, rx %s", t, r);
}

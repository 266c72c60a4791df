/* netbridge_env.h: the programs' side of struct nb_options (vmmd, nbctl and
 * the tests read the same environment; the library reads none):
 *   NB_BPFFS         bpffs mount point
 *   NB_ATTACH        tcx|clsact|xdp: the VM ports' attach mode, no fallback
 *   NB_UPLINK        tc|auto|xdp: the uplinks' native XDP fast path
 *   NB_DEBUG_LIBBPF  non-empty: libbpf's debug messages into the log */
#pragma once
#include <stdlib.h>

#include "netbridge/netbridge.h"

static inline struct nb_options nb_options_from_env(void)
{
	const char *debug = getenv("NB_DEBUG_LIBBPF");

	return (struct nb_options){ .bpffs = getenv("NB_BPFFS"),
				    .attach = getenv("NB_ATTACH"),
				    .uplink = getenv("NB_UPLINK"),
				    .debug_libbpf = debug && *debug };
}

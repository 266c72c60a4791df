/* stats.h: the monitor's exit accounting as data (json-c, for the control
 * socket and --stats json) and as a table for people; one builder, two
 * renderings. */
#pragma once
#include <json-c/json.h>
#include <stdio.h>

#include "monitor/vm.h"

/* {"uptime_ns":..,"exits":{"total":..,"by_reason":{"io":{"count":..,"ns":..},..},
 *  "run_ns":..},"regions":[{"space":"pio","name":"com1","base":..,"len":..,
 *  "reads":..,"writes":..,"read_ns":..,"write_ns":..},..],
 *  "memory":{"guest_bytes":..,"guest_resident_bytes":..,"peak_rss_bytes":..}} */
struct json_object *stats_json(struct vm *vm);
void stats_print_human(FILE *f, struct json_object *stats);
/* Opens /proc/self/status for the peak RSS while host files are reachable
 * (before a sandbox); later reads use the fd. */
void stats_open_proc(void);

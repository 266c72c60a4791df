/* stats.c: see stats.h. */
#include <fcntl.h>
#include <string.h>
#include "monitor/stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_region(void *ctx, enum io_space sp, const char *name, uint64_t base, uint64_t len,
		       const struct iobus_stats *st)
{
	struct json_object *arr = ctx, *o = json_object_new_object();

	json_object_object_add(o, "space", json_object_new_string(sp == IO_PIO ? "pio" : "mmio"));
	json_object_object_add(o, "name", json_object_new_string(name));
	add_u64(o, "base", base);
	add_u64(o, "len", len);
	add_u64(o, "reads", st->reads);
	add_u64(o, "writes", st->writes);
	add_u64(o, "read_ns", st->read_ns);
	add_u64(o, "write_ns", st->write_ns);
	json_object_array_add(arr, o);
}

/* Guest RAM pages resident in this process (touched by guest or loader). */
static uint64_t guest_resident_bytes(const struct gmem *m)
{
	long psz = sysconf(_SC_PAGESIZE);
	size_t pages = m->size / (size_t)psz;
	unsigned char *vec;
	uint64_t n = 0;

	if (!m->host || !(vec = malloc(pages)))
		return 0;
	if (mincore(m->host, m->size, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	free(vec);
	return n * (uint64_t)psz;
}

/* Peak RSS of this process image: VmHWM. (getrusage's ru_maxrss would carry
 * over the parent's peak from before exec.) */
static int proc_status_fd = -1;

void stats_open_proc(void)
{
	if (proc_status_fd < 0)
		proc_status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
}

static uint64_t peak_rss_bytes(void)
{
	char buf[4096], *p;
	unsigned long long kib = 0;
	ssize_t n;

	stats_open_proc();
	if (proc_status_fd < 0 || (n = pread(proc_status_fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = 0;
	p = strstr(buf, "VmHWM:");
	if (p)
		sscanf(p, "VmHWM: %llu kB", &kib);
	return (uint64_t)kib * 1024;
}

static struct json_object *memory_json(struct vm *vm)
{
	struct json_object *o = json_object_new_object();

	add_u64(o, "guest_bytes", vm->mem.size);
	add_u64(o, "guest_resident_bytes", guest_resident_bytes(&vm->mem));
	add_u64(o, "peak_rss_bytes", peak_rss_bytes());
	return o;
}

struct json_object *stats_json(struct vm *vm)
{
	struct json_object *root = json_object_new_object();
	struct json_object *exits = json_object_new_object();
	struct json_object *by = json_object_new_object();
	struct json_object *regions = json_object_new_array();
	struct vm_exit_stats t;
	uint64_t total = 0;

	vm_exit_stats_total(vm, &t);
	for (unsigned k = 0; k < VMX_COUNT; k++) {
		struct json_object *e;
		if (!t.count[k])
			continue;
		e = json_object_new_object();
		add_u64(e, "count", t.count[k]);
		add_u64(e, "ns", t.ns[k]);
		json_object_object_add(by, vm_exit_kind_name(k), e);
		total += t.count[k];
	}
	add_u64(exits, "total", total);
	add_u64(exits, "run_ns", t.run_ns);
	json_object_object_add(exits, "by_reason", by);
	add_u64(root, "uptime_ns", vm->start_ns ? now_ns() - vm->start_ns : 0);
	json_object_object_add(root, "exits", exits);
	iobus_foreach(&vm->bus, add_region, regions);
	json_object_object_add(root, "regions", regions);
	json_object_object_add(root, "memory", memory_json(vm));
	return root;
}

static uint64_t get_u64(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_uint64(v) : 0;
}

static double avg_us(uint64_t ns, uint64_t n)
{
	return n ? (double)ns / (double)n / 1000.0 : 0.0;
}

void stats_print_human(FILE *f, struct json_object *stats)
{
	struct json_object *exits, *by, *regions, *mem;
	uint64_t up = get_u64(stats, "uptime_ns");

	json_object_object_get_ex(stats, "exits", &exits);
	json_object_object_get_ex(exits, "by_reason", &by);
	json_object_object_get_ex(stats, "regions", &regions);
	json_object_object_get_ex(stats, "memory", &mem);
	fprintf(f, "memory: peak RSS %.1f MiB, guest RAM resident %.1f of %.1f MiB\n",
		get_u64(mem, "peak_rss_bytes") / 1048576.0,
		get_u64(mem, "guest_resident_bytes") / 1048576.0, get_u64(mem, "guest_bytes") / 1048576.0);
	fprintf(f, "exits: %" PRIu64 " in %.3f ms (%.3f ms inside KVM_RUN)\n",
		get_u64(exits, "total"), up / 1e6, get_u64(exits, "run_ns") / 1e6);
	fprintf(f, "  %-16s %12s %12s\n", "reason", "count", "avg us");
	json_object_object_foreach(by, name, e) {
		uint64_t n = get_u64(e, "count");
		fprintf(f, "  %-16s %12" PRIu64 " %12.2f\n", name, n, avg_us(get_u64(e, "ns"), n));
	}
	fprintf(f, "  %-5s %-16s %-18s %10s %10s %9s %9s\n", "space", "region", "base", "reads",
		"writes", "rd us", "wr us");
	for (size_t i = 0; regions && i < json_object_array_length(regions); i++) {
		struct json_object *r = json_object_array_get_idx(regions, i), *v;
		uint64_t rd = get_u64(r, "reads"), wr = get_u64(r, "writes");
		if (!rd && !wr)
			continue;
		json_object_object_get_ex(r, "space", &v);
		fprintf(f, "  %-5s ", json_object_get_string(v));
		json_object_object_get_ex(r, "name", &v);
		fprintf(f, "%-16s 0x%-16" PRIx64 " %10" PRIu64 " %10" PRIu64 " %9.2f %9.2f\n",
			json_object_get_string(v), get_u64(r, "base"), rd, wr,
			avg_us(get_u64(r, "read_ns"), rd), avg_us(get_u64(r, "write_ns"), wr));
	}
}

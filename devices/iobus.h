/* iobus.h: the PIO and MMIO address spaces of a machine. Devices register
 * regions through devices/dev.h; vCPU threads dispatch exits here. Each
 * region keeps exit accounting (count and time spent handling, as the paper
 * measured per port). Registration happens at set-up or on PCI BAR moves
 * (under the bus's write lock); dispatch finds the region under the read lock
 * and calls the device without it, so a callback may (un)register regions (a
 * PCI BAR write does). A region stays allocated until iobus_destroy(). */
#pragma once
#include <pthread.h>
#include <stdint.h>

#include "devices/dev.h"

#define IOBUS_NAME_MAX 24

struct iobus_stats {
	uint64_t reads, writes;
	uint64_t read_ns, write_ns; /* time in the device callback */
};

struct iobus_region {
	uint64_t base, len;
	char name[IOBUS_NAME_MAX];
	const struct io_ops *ops;
	void *opaque;
	struct iobus_stats stats; /* updated atomically */
};

/* The first addresses that hit no region, each with its own counts, so
 * that a boot's stray accesses can be told apart (stats: "unclaimed-at"). */
#define IOBUS_UNCLAIMED_TRACKED 16
struct iobus_unclaimed_at {
	uint64_t addr;
	struct iobus_stats stats;
};

struct iobus_space {
	struct iobus_region **regions; /* sorted by base, non-overlapping */
	unsigned n, cap;
	struct iobus_region **retired; /* unregistered; freed at destroy */
	unsigned n_retired;
	struct iobus_stats unclaimed;  /* accesses that hit no region */
	struct iobus_unclaimed_at unclaimed_at[IOBUS_UNCLAIMED_TRACKED];
	unsigned n_unclaimed_at;       /* under the bus's unclaimed_lock */
};

struct iobus {
	pthread_rwlock_t lock;
	pthread_mutex_t unclaimed_lock; /* unclaimed_at tables */
	struct iobus_space space[2]; /* IO_PIO, IO_MMIO */
};

int iobus_init(struct iobus *bus);
void iobus_destroy(struct iobus *bus);

/* Dispatches one access. Reads from unclaimed addresses return all ones (as
 * on a PC bus); writes to them are dropped. Both are counted as "unclaimed".
 * Returns 1 if a region claimed the access, 0 if not. */
int iobus_read(struct iobus *bus, enum io_space sp, uint64_t addr, unsigned size, uint64_t *value);
int iobus_write(struct iobus *bus, enum io_space sp, uint64_t addr, unsigned size, uint64_t value);

/* Calls fn for each region (under the read lock) with a snapshot of its stats;
 * unclaimed accesses are reported with name "unclaimed", base 0, len 0, and
 * the first IOBUS_UNCLAIMED_TRACKED addresses they hit each as
 * "unclaimed-at", base = the address, len 0. */
typedef void (*iobus_visit_fn)(void *ctx, enum io_space sp, const char *name, uint64_t base,
			       uint64_t len, const struct iobus_stats *st);
void iobus_foreach(struct iobus *bus, iobus_visit_fn fn, void *ctx);

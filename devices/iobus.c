/* iobus.c: see iobus.h. Regions are few (tens), so lookup is a binary search
 * over a sorted array of pointers. */
#include "devices/iobus.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int iobus_init(struct iobus *bus)
{
	int r;

	memset(bus, 0, sizeof(*bus));
	r = pthread_mutex_init(&bus->unclaimed_lock, NULL);
	if (r)
		return -r;
	r = pthread_rwlock_init(&bus->lock, NULL);
	if (r)
		pthread_mutex_destroy(&bus->unclaimed_lock);
	return -r;
}

void iobus_destroy(struct iobus *bus)
{
	for (unsigned i = 0; i < ARRAY_SIZE(bus->space); i++) {
		struct iobus_space *s = &bus->space[i];
		for (unsigned j = 0; j < s->n; j++)
			free(s->regions[j]);
		for (unsigned j = 0; j < s->n_retired; j++)
			free(s->retired[j]);
		free(s->regions);
		free(s->retired);
	}
	pthread_rwlock_destroy(&bus->lock);
	pthread_mutex_destroy(&bus->unclaimed_lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first region whose end lies above addr. */
static unsigned lower_bound(const struct iobus_space *s, uint64_t addr)
{
	unsigned lo = 0, hi = s->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct iobus_region *r = s->regions[mid];
		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct iobus_region *find(struct iobus *bus, enum io_space sp, uint64_t addr)
{
	struct iobus_space *s = &bus->space[sp];
	struct iobus_region *r = NULL;
	unsigned i;

	pthread_rwlock_rdlock(&bus->lock);
	i = lower_bound(s, addr);
	if (i < s->n && s->regions[i]->base <= addr)
		r = s->regions[i];
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

/* A region unregistered earlier for the same device (a PCI BAR that moves
 * back and forth) is reused, so that the retired list stays bounded by the
 * number of devices, whatever the guest does. Its stats carry on. */
static struct iobus_region *take_retired(struct iobus *bus, struct iobus_space *s,
					 const struct io_ops *ops, void *opaque)
{
	struct iobus_region *r = NULL;

	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned i = 0; i < s->n_retired; i++) {
		if (s->retired[i]->ops == ops && s->retired[i]->opaque == opaque) {
			r = s->retired[i];
			s->retired[i] = s->retired[--s->n_retired];
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return r;
}

int iobus_register(struct iobus *bus, enum io_space sp, uint64_t base, uint64_t len,
		   const char *name, const struct io_ops *ops, void *opaque)
{
	struct iobus_space *s;
	struct iobus_region *r;
	bool reused;
	unsigned i;
	int ret = 0;

	if (len == 0 || base + len < base || sp > IO_MMIO || !ops)
		return -EINVAL;
	s = &bus->space[sp];
	r = take_retired(bus, s, ops, opaque);
	reused = r != NULL;
	if (!r)
		r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->base = base;
	r->len = len;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "?");
	r->ops = ops;
	r->opaque = opaque;

	pthread_rwlock_wrlock(&bus->lock);
	i = lower_bound(s, base);
	if (i < s->n && s->regions[i]->base < base + len) {
		ret = -EEXIST;
		goto out;
	}
	if (s->n == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 16;
		struct iobus_region **n = realloc(s->regions, cap * sizeof(*n));
		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		s->regions = n;
		s->cap = cap;
	}
	memmove(&s->regions[i + 1], &s->regions[i], (s->n - i) * sizeof(r));
	s->regions[i] = r;
	s->n++;
	r = NULL;
out:
	if (r && reused) /* a vCPU may still be inside it: keep it retired */
		s->retired[s->n_retired++] = r;
	else
		free(r);
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int iobus_unregister(struct iobus *bus, enum io_space sp, uint64_t base)
{
	struct iobus_space *s;
	int ret = -ENOENT;

	if (sp > IO_MMIO)
		return -EINVAL;
	s = &bus->space[sp];
	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned i = 0; i < s->n; i++) {
		struct iobus_region *r = s->regions[i], **n;
		if (r->base != base)
			continue;
		/* A vCPU may be inside r's callback: keep r until destroy. */
		n = realloc(s->retired, (s->n_retired + 1) * sizeof(*n));
		if (!n) {
			ret = -ENOMEM;
			break;
		}
		s->retired = n;
		s->retired[s->n_retired++] = r;
		memmove(&s->regions[i], &s->regions[i + 1], (s->n - i - 1) * sizeof(r));
		s->n--;
		ret = 0;
		break;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

static void account(struct iobus_stats *st, int is_write, uint64_t ns)
{
	if (is_write) {
		__atomic_add_fetch(&st->writes, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&st->write_ns, ns, __ATOMIC_RELAXED);
	} else {
		__atomic_add_fetch(&st->reads, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&st->read_ns, ns, __ATOMIC_RELAXED);
	}
}

/* An access that hit no region: the total, and the address's own counts
 * while the table has room (a slow path: the exit cost dominates). */
static void account_unclaimed(struct iobus *bus, enum io_space sp, uint64_t addr, int is_write,
			      uint64_t ns)
{
	struct iobus_space *s = &bus->space[sp];
	unsigned i;

	account(&s->unclaimed, is_write, ns);
	pthread_mutex_lock(&bus->unclaimed_lock);
	for (i = 0; i < s->n_unclaimed_at && s->unclaimed_at[i].addr != addr; i++)
		;
	if (i == s->n_unclaimed_at && i < IOBUS_UNCLAIMED_TRACKED)
		s->unclaimed_at[s->n_unclaimed_at++].addr = addr;
	if (i < s->n_unclaimed_at)
		account(&s->unclaimed_at[i].stats, is_write, ns);
	pthread_mutex_unlock(&bus->unclaimed_lock);
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

int iobus_read(struct iobus *bus, enum io_space sp, uint64_t addr, unsigned size, uint64_t *value)
{
	uint64_t t0 = now_ns();
	struct iobus_region *r;

	*value = size_mask(size);
	if (sp > IO_MMIO)
		return 0;
	r = find(bus, sp, addr);
	if (r && r->ops->read)
		*value = r->ops->read(r->opaque, addr - r->base, size) & size_mask(size);
	if (r)
		account(&r->stats, 0, now_ns() - t0);
	else
		account_unclaimed(bus, sp, addr, 0, now_ns() - t0);
	return r && r->ops->read;
}

int iobus_write(struct iobus *bus, enum io_space sp, uint64_t addr, unsigned size, uint64_t value)
{
	uint64_t t0 = now_ns();
	struct iobus_region *r;

	if (sp > IO_MMIO)
		return 0;
	r = find(bus, sp, addr);
	if (r && r->ops->write)
		r->ops->write(r->opaque, addr - r->base, size, value & size_mask(size));
	if (r)
		account(&r->stats, 1, now_ns() - t0);
	else
		account_unclaimed(bus, sp, addr, 1, now_ns() - t0);
	return r && r->ops->write;
}

static void snapshot(const struct iobus_stats *in, struct iobus_stats *out)
{
	out->reads = __atomic_load_n(&in->reads, __ATOMIC_RELAXED);
	out->writes = __atomic_load_n(&in->writes, __ATOMIC_RELAXED);
	out->read_ns = __atomic_load_n(&in->read_ns, __ATOMIC_RELAXED);
	out->write_ns = __atomic_load_n(&in->write_ns, __ATOMIC_RELAXED);
}

void iobus_foreach(struct iobus *bus, iobus_visit_fn fn, void *ctx)
{
	struct iobus_stats st;

	pthread_rwlock_rdlock(&bus->lock);
	for (unsigned sp = 0; sp < ARRAY_SIZE(bus->space); sp++) {
		struct iobus_space *s = &bus->space[sp];
		for (unsigned i = 0; i < s->n; i++) {
			struct iobus_region *r = s->regions[i];
			snapshot(&r->stats, &st);
			fn(ctx, sp, r->name, r->base, r->len, &st);
		}
		snapshot(&s->unclaimed, &st);
		if (st.reads || st.writes)
			fn(ctx, sp, "unclaimed", 0, 0, &st);
	}
	pthread_rwlock_unlock(&bus->lock);
	pthread_mutex_lock(&bus->unclaimed_lock);
	for (unsigned sp = 0; sp < ARRAY_SIZE(bus->space); sp++) {
		struct iobus_space *s = &bus->space[sp];
		for (unsigned i = 0; i < s->n_unclaimed_at; i++) {
			snapshot(&s->unclaimed_at[i].stats, &st);
			fn(ctx, sp, "unclaimed-at", s->unclaimed_at[i].addr, 0, &st);
		}
	}
	pthread_mutex_unlock(&bus->unclaimed_lock);
}

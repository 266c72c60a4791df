/* dev.h: the narrow interface between the monitor and the device models.
 *
 * Devices never call KVM. The monitor (or a unit test) hands each device:
 *   - struct gmem: guest RAM, reached only through gmem_ptr(), which checks
 *     that [gpa, gpa+len) lies inside RAM: the one place a hostile guest's
 *     DMA address is stopped;
 *   - struct irq_line: raise/lower one interrupt input (GSI);
 *   - a struct iobus on which the device registers its PIO/MMIO regions with
 *     read/write callbacks (see iobus.h for dispatch).
 * A unit test builds the same three from plain memory and fakes.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gmem {
	uint8_t *host;  /* host mapping of guest physical 0 */
	uint64_t size;  /* bytes of RAM from guest physical 0 */
};

/* Host pointer for guest range [gpa, gpa+len), or NULL when any byte of it
 * lies outside RAM (or the range wraps). len 0 is valid inside RAM. */
static inline void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (gpa > m->size || len > m->size - gpa)
		return NULL;
	return m->host + gpa;
}

/* One interrupt input. set(ctx, gsi, level): level 1 asserts, 0 deasserts;
 * an edge is set(1) then set(0). Returns 0 or -errno. */
struct irq_line {
	int (*set)(void *ctx, unsigned gsi, int level);
	void *ctx;
	unsigned gsi;
};

static inline int irq_set(const struct irq_line *l, int level)
{
	return l->set ? l->set(l->ctx, l->gsi, level) : 0;
}

/* A TX batch size histogram: bucket b counts batches of 2^b .. 2^(b+1)-1
 * frames, the last bucket everything above; hist has nbuckets entries. */
static inline void batch_count(uint64_t *hist, unsigned nbuckets, unsigned n)
{
	unsigned b = 0;

	while (b + 1 < nbuckets && (2u << b) <= n)
		b++;
	hist[b]++;
}

/* Access callbacks. offset is from the region's base; size is 1, 2, 4 or 8.
 * Reads return the value in the low `size` bytes. */
struct io_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

enum io_space { IO_PIO, IO_MMIO };

struct iobus;

/* Registers [base, base+len) in `space`; name appears in exit accounting
 * ("com1", "pci-cfg", "pcnet0"). Returns 0, -EEXIST on overlap, -ENOMEM. */
int iobus_register(struct iobus *bus, enum io_space space, uint64_t base, uint64_t len,
		   const char *name, const struct io_ops *ops, void *opaque);
/* Removes the region starting at base (PCI BAR moves). 0 or -ENOENT. */
int iobus_unregister(struct iobus *bus, enum io_space space, uint64_t base);

/* What a device may ask of the machine: power off, reset, or end with a
 * status (the debug-exit port). The monitor stops the vCPUs and exits with
 * the reason; status is only meaningful for VM_REQ_DEBUG_EXIT. */
enum vm_request { VM_REQ_POWEROFF, VM_REQ_RESET, VM_REQ_DEBUG_EXIT };

struct vm_ctl {
	void (*request)(void *ctx, enum vm_request req, int status);
	void *ctx;
};

static inline void vm_request(const struct vm_ctl *c, enum vm_request req, int status)
{
	if (c && c->request)
		c->request(c->ctx, req, status);
}

/* What a device may ask of the monitor so that accesses do not exit
 * (monitor/vm.c implements it with KVM; unit tests may leave it empty).
 * coalesce_add: writes to [addr, addr+len) in `space` no longer exit; KVM
 * queues them and the monitor delivers them to the region's write callback,
 * in order, before it handles the next exit of any vCPU (so a read that
 * exits sees every earlier write), counting each in *drained.
 * coalesce_del undoes it. Both return 0 or -errno. */
struct io_accel {
	int (*coalesce_add)(void *ctx, enum io_space space, uint64_t addr, uint64_t len,
			    uint64_t *drained);
	int (*coalesce_del)(void *ctx, enum io_space space, uint64_t addr, uint64_t len);
	/* ioeventfd: a write of `len` bytes (any value) to addr in `space` no
	 * longer exits; KVM signals the eventfd fd instead (a doorbell such as
	 * virtio's queue notify). assign false undoes it. 0 or -errno. */
	int (*ioeventfd)(void *ctx, enum io_space space, uint64_t addr, unsigned len, int fd,
			 bool assign);
	void *ctx;
};

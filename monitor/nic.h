/* nic.h: the monitor's virtual NICs: the `--nic` flag (nic_config.c), the
 * tap backend on the I/O thread, and the per-NIC counters served by `stats`
 * (nic.c).
 *
 * A NIC is a device model from devices/ (any of devices/netdev.h's table,
 * through that interface alone) joined to a tap fd. All backend I/O runs
 * on the I/O thread: a vCPU's transmit demand only writes an eventfd, frames
 * read from the tap are delivered there, and interrupts are injected from
 * there (irqfd, or KVM_IRQ_LINE when that switch is off). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "devices/netdev.h"

#define NIC_MAX 8
#define NIC_TAP_NAME_MAX 16 /* IFNAMSIZ */


/* --nic model=pcnet|virtio-net,tap=NAME|fd=N[,mac=MAC][,opt=LIST]
 *       [,txirq_frames=N][,txirq_us=T][,txkick_us=P] */
struct nic_config {
	const struct netdev_model *model; /* devices/netdev.h */
	char tap[NIC_TAP_NAME_MAX]; /* "" when fd is used */
	int fd;                     /* inherited tap fd, or -1 */
	uint8_t mac[6];
	bool has_mac;
	unsigned opts; /* NETDEV_OPT_* switches (devices/netdev.h), all on by default */
	/* With combine: TX completion interrupts coalesced to one per N frames
	 * or T us, whichever first, while doorbells come less than T apart
	 * (monitor/README.md). N <= 1 or T = 0 turns the coalescing off. */
	unsigned txirq_frames; /* default NIC_TXIRQ_FRAMES */
	unsigned txirq_us;     /* default NIC_TXIRQ_US */
	/* With combine, PCnet: while transmit demands are frequent, CSR0 TDMD
	 * (any RDP write) is a coalesced write delivered within this bound;
	 * 0 turns the deferral off. */
	unsigned txkick_us;    /* default NIC_TXKICK_US */
};

#define NIC_TXIRQ_FRAMES 32
#define NIC_TXIRQ_US 50
#define NIC_TXKICK_US 100

/* Parses one --nic value into c. opt=LIST: switch names (nic_config.c's
 * table, the one list of them) joined by '+'; "all", "none"; a leading '-'
 * on a name turns it off from all ("opt=-combine"). 0, or -EINVAL with *why
 * set to a message. */
int nic_parse(const char *spec, struct nic_config *c, const char **why);
/* "coalesce+combine+irqfd", "none" */
const char *nic_opts_string(unsigned opts, char *buf, unsigned size);
/* The name of one NETDEV_OPT_* bit ("coalesce"), or "?". */
const char *nic_opt_name(unsigned bit);

struct nic;
struct vm;
struct ioloop;
struct pci_bus;
struct json_object;

/* Opens the backend, builds the model, plugs it into pb at gsi, and watches
 * its fds on loop. index names it ("pcnet0"). 0 or -errno, logged. */
int nic_create(struct nic **out, const struct nic_config *c, unsigned index, struct vm *vm,
	       struct pci_bus *pb, unsigned gsi, struct ioloop *loop);
void nic_free(struct nic *n);

/* {"name","model","tap","mac","opts","tx":{frames,bytes},"rx":{frames,bytes},
 *  "rx_filtered","drops":{no_rx_buffer,bad_descriptor,oversize,backend_error},
 *  "exits":{total,<cause>:n...},"rap_coalesced","interrupts","irq_injections",
 *  "doorbells","tx_batches":{"1":n,"2-3":n,...}} */
struct json_object *nic_stats_json(struct nic *n);

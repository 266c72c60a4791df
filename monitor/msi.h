/* msi.h: MSI delivery for device models (devices/msix.h): KVM_SIGNAL_MSI
 * from any thread, or an irqfd bound to an MSI route of the VM's GSI
 * routing table, so that the I/O thread interrupts the guest with one
 * eventfd write. See msi.c. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/msix.h"

struct vm;

#define VM_MSI_ROUTES_MAX 32
#define VM_MSI_GSI_BASE 24 /* after the I/O APIC's 24 pins */

struct vm_msi_route {
	struct msi_msg m;
	bool set;
};

struct vm_msi {
	pthread_mutex_t lock;
	bool signal;  /* KVM_CAP_SIGNAL_MSI */
	bool routing; /* KVM_CAP_IRQ_ROUTING */
	unsigned n;   /* routes allocated: GSIs VM_MSI_GSI_BASE .. + n - 1 */
	struct vm_msi_route r[VM_MSI_ROUTES_MAX];
};

/* Probes the capabilities (after KVM_CREATE_IRQCHIP; vm_create inits the lock). */
void vm_msi_init(struct vm *vm);
void vm_msi_destroy(struct vm *vm);
/* True when MSI can be delivered at all (KVM_SIGNAL_MSI). */
bool vm_msi_supported(struct vm *vm);
/* Sends one message now (KVM_SIGNAL_MSI). 0 or -errno. */
int vm_msi_signal(struct vm *vm, const struct msi_msg *m);
/* Reserves a GSI for an MSI route (no route yet: an irqfd on it does
 * nothing until vm_msi_route_set). 0, -ENOTSUP without routing, -ENOSPC. */
int vm_msi_route_add(struct vm *vm, unsigned *gsi);
/* Points gsi at message m, rewriting the routing table (the default
 * irqchip routes of GSIs 0-23 included). No ioctl when m is unchanged.
 * 0 or -errno. */
int vm_msi_route_set(struct vm *vm, unsigned gsi, const struct msi_msg *m);

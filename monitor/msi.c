/* msi.c: MSI messages into the in-kernel local APICs (KVM API:
 * KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, KVM_IRQFD).
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, and the table KVM made at
 * KVM_CREATE_IRQCHIP routes GSIs 0-15 to both the 8259 pair and the I/O
 * APIC and 16-23 to the I/O APIC: every rewrite rebuilds those before the
 * MSI routes, or KVM_IRQ_LINE and the INTx irqfds would stop working. */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/log.h"
#include "monitor/vm.h"

#define IOAPIC_PINS 24
#define PIC_IRQS 16

void vm_msi_init(struct vm *vm)
{
	struct vm_msi *t = &vm->msi;

	t->signal = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) > 0;
	t->routing = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) > 0;
}

void vm_msi_destroy(struct vm *vm)
{
	pthread_mutex_destroy(&vm->msi.lock);
}

bool vm_msi_supported(struct vm *vm)
{
	return vm->msi.signal;
}

int vm_msi_signal(struct vm *vm, const struct msi_msg *m)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)m->addr, .address_hi = (uint32_t)(m->addr >> 32),
			       .data = m->data };
	int r = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);

	/* 0: the guest's APIC blocked it (e.g. software-disabled): not an error. */
	return r < 0 ? -errno : 0;
}

int vm_msi_route_add(struct vm *vm, unsigned *gsi)
{
	struct vm_msi *t = &vm->msi;
	int r = 0;

	if (!t->routing)
		return -ENOTSUP;
	pthread_mutex_lock(&t->lock);
	if (t->n == VM_MSI_ROUTES_MAX)
		r = -ENOSPC;
	else
		*gsi = VM_MSI_GSI_BASE + t->n++;
	pthread_mutex_unlock(&t->lock);
	return r;
}

static struct kvm_irq_routing_entry irqchip(unsigned gsi, unsigned chip, unsigned pin)
{
	return (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
					       .u.irqchip = { .irqchip = chip, .pin = pin } };
}

/* The default routes plus every MSI route set so far; t->lock held. */
static int write_table(struct vm *vm)
{
	struct vm_msi *t = &vm->msi;
	unsigned max = IOAPIC_PINS + PIC_IRQS + VM_MSI_ROUTES_MAX, n = 0;
	struct kvm_irq_routing *tab = calloc(1, sizeof(*tab) + max * sizeof(tab->entries[0]));
	int r;

	if (!tab)
		return -ENOMEM;
	for (unsigned gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		tab->entries[n++] = irqchip(gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < PIC_IRQS)
			tab->entries[n++] = irqchip(gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
								   KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
	}
	for (unsigned i = 0; i < t->n; i++) {
		if (!t->r[i].set)
			continue;
		tab->entries[n] = (struct kvm_irq_routing_entry){
			.gsi = VM_MSI_GSI_BASE + i, .type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)t->r[i].m.addr,
				   .address_hi = (uint32_t)(t->r[i].m.addr >> 32),
				   .data = t->r[i].m.data } };
		n++;
	}
	tab->nr = n;
	r = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, tab) < 0 ? -errno : 0;
	free(tab);
	return r;
}

int vm_msi_route_set(struct vm *vm, unsigned gsi, const struct msi_msg *m)
{
	struct vm_msi *t = &vm->msi;
	struct vm_msi_route *e, old;
	int r = 0;

	if (gsi < VM_MSI_GSI_BASE || gsi >= VM_MSI_GSI_BASE + VM_MSI_ROUTES_MAX)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	e = &t->r[gsi - VM_MSI_GSI_BASE];
	if (gsi - VM_MSI_GSI_BASE >= t->n) {
		r = -EINVAL;
	} else if (!e->set || e->m.addr != m->addr || e->m.data != m->data) {
		old = *e;
		*e = (struct vm_msi_route){ .m = *m, .set = true };
		r = write_table(vm);
		if (r < 0)
			*e = old;
	}
	pthread_mutex_unlock(&t->lock);
	if (r < 0)
		log_warn_errno(r, "vm %s: GSI %u: KVM_SET_GSI_ROUTING", vm->name, gsi);
	return r;
}

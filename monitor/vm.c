/* vm.c: see vm.h. The KVM API as documented in the kernel's
 * Documentation/virt/kvm/api.rst: VM and vCPU ioctls, kvm_run exits,
 * in-kernel irqchip (KVM_CREATE_IRQCHIP) and PIT (KVM_CREATE_PIT2). */
#include "monitor/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define KVM_TSS_ADDR 0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull
#define VCPU_KICK_SIGNAL SIGUSR1
#define CPUID_MAX_ENTRIES 256
#define VM_HALT_PROBES 5

static const char *const end_names[] = {
	[VM_END_NONE] = "running",
	[VM_END_POWEROFF] = "poweroff",
	[VM_END_RESET] = "reset",
	[VM_END_DEBUG_EXIT] = "debug-exit",
	[VM_END_TRIPLE_FAULT] = "triple-fault",
	[VM_END_EMULATION] = "emulation-failure",
	[VM_END_ENTRY_FAIL] = "entry-failure",
	[VM_END_STOPPED] = "stopped",
	[VM_END_SIGNAL] = "signal",
	[VM_END_ERROR] = "host-error",
	[VM_END_HALTED] = "halted",
};

const char *vm_end_name(enum vm_end e)
{
	return (unsigned)e < ARRAY_SIZE(end_names) ? end_names[e] : "?";
}

static const char *const exit_kind_names[] = {
	[VMX_IO] = "io", [VMX_MMIO] = "mmio", [VMX_HLT] = "hlt", [VMX_INTR] = "intr",
	[VMX_SHUTDOWN] = "shutdown", [VMX_INTERNAL] = "internal-error",
	[VMX_FAIL_ENTRY] = "fail-entry", [VMX_SYSTEM_EVENT] = "system-event",
	[VMX_OTHER] = "other",
};

const char *vm_exit_kind_name(enum vm_exit_kind k)
{
	return (unsigned)k < ARRAY_SIZE(exit_kind_names) ? exit_kind_names[k] : "?";
}

uint64_t vm_host_mem_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

/* Asked once, before a sandbox hides /sys. */
bool vm_host_is_pvm(void)
{
	static int pvm = -1;

	if (pvm < 0)
		pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	return pvm;
}

int vm_irq_set(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

static void vm_ctl_request(void *ctx, enum vm_request req, int status)
{
	struct vm *vm = ctx;
	bool stopping;

	pthread_mutex_lock(&vm->lock);
	stopping = vm->stop_requested;
	pthread_mutex_unlock(&vm->lock);
	switch (req) {
	case VM_REQ_POWEROFF:
		vm_end(vm, stopping ? VM_END_STOPPED : VM_END_POWEROFF, 0);
		break;
	case VM_REQ_RESET:
		vm_end(vm, stopping ? VM_END_STOPPED : VM_END_RESET, 0);
		break;
	case VM_REQ_DEBUG_EXIT:
		vm_end(vm, VM_END_DEBUG_EXIT, status);
		break;
	}
}

static int open_kvm(const char *name, int fd)
{
	int r;

	if (fd < 0)
		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			log_err("vm %s: /dev/kvm: no such device (KVM is not available on this host; "
				"enable virtualization or load the kvm module)", name);
		else if (r == -EACCES || r == -EPERM)
			log_err("vm %s: /dev/kvm: permission denied (add the user to the kvm group)",
				name);
		else
			log_errno(r, "vm %s: /dev/kvm", name);
		return r;
	}
	r = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		log_err("vm %s: /dev/kvm: API version %d, this monitor needs %d", name, r,
			KVM_API_VERSION);
		close(fd);
		return -ENODEV;
	}
	return fd;
}

static int require_cap(struct vm *vm, int cap, const char *what)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) <= 0) {
		log_err("vm %s: KVM lacks %s", vm->name, what);
		return -ENODEV;
	}
	return 0;
}

static int setup_cpuid(struct vm *vm, struct vcpu *v)
{
	_cleanup_free_ struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));

	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
		return log_errno(-errno, "vm %s: KVM_GET_SUPPORTED_CPUID", vm->name);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (v->id << 24) |
				 (MIN(vm->nr_vcpus, 255u) << 16);
			e->ecx |= 1u << 31; /* hypervisor present */
			break;
		case 0xb:
		case 0x1f:
			e->edx = v->id; /* x2APIC ID */
			break;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		return log_errno(-errno, "vm %s: vcpu %u: KVM_SET_CPUID2", vm->name, v->id);
	return 0;
}

static void kick_handler(int sig) { (void)sig; }

int vm_init(struct vm *vm, const char *name, uint64_t mem_bytes)
{
	memset(vm, 0, sizeof(*vm));
	vm->name = name;
	vm->kvm_fd = vm->vm_fd = vm->done_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->coalesced_lock, NULL);
	pthread_mutex_init(&vm->msi.lock, NULL);
	vm->accel = (struct io_accel){ .coalesce_add = vm_coalesce_add,
				       .coalesce_del = vm_coalesce_del,
				       .ioeventfd = vm_ioeventfd, .ctx = vm };
	vm->ctl = (struct vm_ctl){ .request = vm_ctl_request, .ctx = vm };
	vm->mem.size = mem_bytes;
	vm->mem.host = mmap(NULL, mem_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem.host == MAP_FAILED) {
		vm->mem.host = NULL;
		return log_errno(-errno, "vm %s: guest memory of %llu MiB", name,
				 (unsigned long long)(mem_bytes >> 20));
	}
	return iobus_init(&vm->bus);
}

int vm_create(struct vm *vm, unsigned nr_vcpus, int kvm_fd)
{
	const char *name = vm->name;
	struct kvm_userspace_memory_region region;
	struct kvm_pit_config pit = { 0 };
	struct sigaction sa = { .sa_handler = kick_handler };
	int r, run_size;

	vm->kvm_fd = open_kvm(name, kvm_fd);
	if (vm->kvm_fd < 0)
		return vm->kvm_fd;
	if ((r = require_cap(vm, KVM_CAP_IRQCHIP, "an in-kernel irqchip (KVM_CAP_IRQCHIP)")) < 0 ||
	    (r = require_cap(vm, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY")) < 0 ||
	    (r = require_cap(vm, KVM_CAP_PIT2, "an in-kernel PIT (KVM_CAP_PIT2)")) < 0 ||
	    (r = require_cap(vm, KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT")) < 0)
		return r;
	r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (r > 0 && nr_vcpus > (unsigned)ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS)) {
		log_err("vm %s: vcpus: %u is more than KVM allows here", name, nr_vcpus);
		return -E2BIG;
	}
	if (r > 0 && nr_vcpus > (unsigned)r)
		log_warn("vm %s: %u vCPUs on a host that recommends at most %d", name, nr_vcpus, r);

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return log_errno(-errno, "vm %s: KVM_CREATE_VM", name);
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		return log_errno(-errno, "vm %s: KVM_SET_TSS_ADDR", name);
	{
		uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			return log_errno(-errno, "vm %s: KVM_SET_IDENTITY_MAP_ADDR", name);
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return log_errno(-errno, "vm %s: KVM_CREATE_IRQCHIP", name);
	vm_msi_init(vm);
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return log_errno(-errno, "vm %s: KVM_CREATE_PIT2", name);

	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = vm->mem.size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem.host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return log_errno(-errno, "vm %s: KVM_SET_USER_MEMORY_REGION", name);

	run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		return log_errno(-errno, "vm %s: KVM_GET_VCPU_MMAP_SIZE", name);
	vm->run_size = (size_t)run_size;

	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	vm->nr_vcpus = nr_vcpus;
	for (unsigned i = 0; i < nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0)
			return log_errno(-errno, "vm %s: vcpu %u: KVM_CREATE_VCPU", name, i);
		v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			return log_errno(-errno, "vm %s: vcpu %u: mmap kvm_run", name, i);
		}
		r = setup_cpuid(vm, v);
		if (r < 0)
			return r;
	}

	r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	if (r > 0 && (size_t)r * (size_t)sysconf(_SC_PAGESIZE) < vm->run_size) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		vm->coalesced_ring = (void *)((char *)vm->vcpus[0].run + (size_t)r * page);
		vm->coalesced_max = (unsigned)((page - sizeof(struct kvm_coalesced_mmio_ring)) /
					       sizeof(struct kvm_coalesced_mmio));
		vm->coalesced_pio = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) > 0;
	}

	vm->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->done_fd < 0)
		return log_errno(-errno, "vm %s: eventfd", name);
	/* The kick signal interrupts KVM_RUN; no SA_RESTART. */
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return log_errno(-errno, "vm %s: sigaction", name);
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			if (vm->vcpus[i].run)
				munmap(vm->vcpus[i].run, vm->run_size);
			if (vm->vcpus[i].fd >= 0)
				close(vm->vcpus[i].fd);
		}
		free(vm->vcpus);
	}
	if (vm->mem.host)
		munmap(vm->mem.host, vm->mem.size);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->done_fd >= 0)
		close(vm->done_fd);
	iobus_destroy(&vm->bus);
	pthread_mutex_destroy(&vm->lock);
	pthread_mutex_destroy(&vm->coalesced_lock);
	vm_msi_destroy(vm);
	vm->vcpus = NULL;
	vm->vm_fd = vm->kvm_fd = vm->done_fd = -1;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = 0, .db = code64 ? 0 : 1, .s = 1, .l = code64, .g = 1,
	};
}

int vm_setup_boot(struct vm *vm, const struct boot_state *st)
{
	struct vcpu *v = &vm->vcpus[0];
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2, .rip = st->entry, .rbx = st->rbx, .rsi = st->rsi };
	struct kvm_segment tr = { .limit = 0x67, .type = 11, .present = 1 };
	bool lm = st->mode == BOOT_LINUX64;

	vm->boot = *st;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return log_errno(-errno, "vm %s: KVM_GET_SREGS", vm->name);
	sregs.cs = seg(0x10, 0xb, lm);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg(0x18, 0x3, false);
	sregs.tr = tr;
	sregs.ldt = (struct kvm_segment){ .type = 2, .present = 1, .unusable = 1 };
	if (lm) {
		sregs.gdt.base = st->gdt_addr;
		sregs.gdt.limit = (uint16_t)st->gdt_limit;
		sregs.cr3 = st->cr3;
		sregs.cr4 = 1u << 5;                       /* PAE */
		sregs.cr0 = 0x80000001u | (1u << 4);       /* PG | PE | ET */
		sregs.efer = (1u << 8) | (1u << 10);       /* LME | LMA */
	} else {
		sregs.cr0 = 0x1u | (1u << 4); /* PE | ET, paging off */
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return log_errno(-errno, "vm %s: KVM_SET_SREGS", vm->name);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return log_errno(-errno, "vm %s: KVM_SET_REGS", vm->name);
	return 0;
}

void vm_end(struct vm *vm, enum vm_end why, int status)
{
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&vm->lock);
	first = vm->end == VM_END_NONE;
	if (first) {
		vm->end = why;
		vm->end_status = status;
	}
	pthread_mutex_unlock(&vm->lock);
	if (!first)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (v->started && !pthread_equal(v->thread, pthread_self()))
			pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
	(void)!write(vm->done_fd, &one, sizeof(one));
}

void vm_mark_stopping(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->stop_requested = true;
	pthread_mutex_unlock(&vm->lock);
}

void vm_ask_guest_to_stop(struct vm *vm)
{
	if (vm->on_stop_request)
		vm->on_stop_request(vm->on_stop_ctx);
}

static enum vm_end vm_current_end(struct vm *vm)
{
	enum vm_end e;

	pthread_mutex_lock(&vm->lock);
	e = vm->end;
	pthread_mutex_unlock(&vm->lock);
	return e;
}

static void dump_registers(struct vcpu *v, const char *why)
{
	struct vm *vm = v->vm;
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_translation t = { 0 };
	char bytes[3 * 16 + 1] = "";

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		log_err("vm %s: vcpu %u: %s (registers unavailable)", vm->name, v->id, why);
		return;
	}
	t.linear_address = r.rip + (s.cr0 & 1 ? 0 : s.cs.base);
	if (ioctl(v->fd, KVM_TRANSLATE, &t) == 0 && t.valid) {
		const uint8_t *p = gmem_ptr(&vm->mem, t.physical_address, 16);
		for (unsigned i = 0; p && i < 16; i++)
			snprintf(bytes + 3 * i, 4, "%02x ", p[i]);
	}
	log_err("vm %s: vcpu %u: %s at rip=0x%llx (code: %s)", vm->name, v->id, why,
		(unsigned long long)r.rip, bytes[0] ? bytes : "unreadable");
	log_err("vm %s: vcpu %u: rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", vm->name, v->id,
		r.rax, r.rbx, r.rcx, r.rdx);
	log_err("vm %s: vcpu %u: rsi=%016llx rdi=%016llx rsp=%016llx rbp=%016llx", vm->name, v->id,
		r.rsi, r.rdi, r.rsp, r.rbp);
	log_err("vm %s: vcpu %u: r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx", vm->name, v->id,
		r.r8, r.r9, r.r10, r.r11);
	log_err("vm %s: vcpu %u: r12=%016llx r13=%016llx r14=%016llx r15=%016llx", vm->name, v->id,
		r.r12, r.r13, r.r14, r.r15);
	log_err("vm %s: vcpu %u: rflags=%08llx cs=%04x(l=%u,dpl=%u) ss=%04x cr0=%08llx cr2=%llx "
		"cr3=%llx cr4=%llx efer=%llx", vm->name, v->id, r.rflags, s.cs.selector, s.cs.l,
		s.cs.dpl, s.ss.selector, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint64_t val = 0;
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&val, data, size);
			iobus_write(&v->vm->bus, IO_PIO, run->io.port, size, val);
		} else {
			iobus_read(&v->vm->bus, IO_PIO, run->io.port, size, &val);
			memcpy(data, &val, size);
		}
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned len = MIN(run->mmio.len, 8u);
	uint64_t val = 0;

	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, len);
		iobus_write(&v->vm->bus, IO_MMIO, run->mmio.phys_addr, len, val);
	} else {
		iobus_read(&v->vm->bus, IO_MMIO, run->mmio.phys_addr, len, &val);
		memcpy(run->mmio.data, &val, len);
	}
}

int vm_coalesce_add(void *opaque, enum io_space sp, uint64_t addr, uint64_t len, uint64_t *drained)
{
	struct vm *vm = opaque;
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = (uint32_t)len,
					     .pio = sp == IO_PIO };
	int r = 0;

	if (!vm->coalesced_ring || (sp == IO_PIO && !vm->coalesced_pio))
		return -ENOTSUP;
	pthread_mutex_lock(&vm->coalesced_lock);
	if (vm->nr_zones == VM_COALESCED_ZONES_MAX)
		r = -ENOSPC;
	else if (ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &z) < 0)
		r = -errno;
	else
		vm->zones[vm->nr_zones++] = (struct vm_coalesced_zone){ sp, addr, len, drained };
	pthread_mutex_unlock(&vm->coalesced_lock);
	return r;
}

int vm_coalesce_del(void *opaque, enum io_space sp, uint64_t addr, uint64_t len)
{
	struct vm *vm = opaque;
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = (uint32_t)len,
					     .pio = sp == IO_PIO };
	int r = -ENOENT;

	if (!vm->coalesced_ring)
		return -ENOTSUP;
	pthread_mutex_lock(&vm->coalesced_lock);
	for (unsigned i = 0; i < vm->nr_zones; i++) {
		struct vm_coalesced_zone *zn = &vm->zones[i];
		if (zn->space != sp || zn->addr != addr || zn->len != len)
			continue;
		r = ioctl(vm->vm_fd, KVM_UNREGISTER_COALESCED_MMIO, &z) < 0 ? -errno : 0;
		pthread_mutex_unlock(&vm->coalesced_lock);
		vm_coalesced_drain(vm); /* what was queued still counts */
		pthread_mutex_lock(&vm->coalesced_lock);
		for (unsigned j = 0; j < vm->nr_zones; j++)
			if (vm->zones[j].space == sp && vm->zones[j].addr == addr) {
				vm->zones[j] = vm->zones[--vm->nr_zones];
				break;
			}
		break;
	}
	pthread_mutex_unlock(&vm->coalesced_lock);
	return r;
}

void vm_coalesced_drain(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *ring = vm->coalesced_ring;

	if (!ring || __atomic_load_n(&ring->first, __ATOMIC_ACQUIRE) ==
			     __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&vm->coalesced_lock);
	while (ring->first != __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
		struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->first % vm->coalesced_max];
		enum io_space sp = e->pio ? IO_PIO : IO_MMIO;
		unsigned len = MIN(e->len, 8u);
		uint64_t v = 0;

		memcpy(&v, e->data, len);
		iobus_write(&vm->bus, sp, e->phys_addr, len, v);
		for (unsigned i = 0; i < vm->nr_zones; i++) {
			const struct vm_coalesced_zone *z = &vm->zones[i];
			if (z->space == sp && e->phys_addr >= z->addr && e->phys_addr < z->addr + z->len) {
				if (z->drained)
					__atomic_add_fetch(z->drained, 1, __ATOMIC_RELAXED);
				break;
			}
		}
		__atomic_store_n(&ring->first, (ring->first + 1) % vm->coalesced_max, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->coalesced_lock);
}

int vm_irqfd(struct vm *vm, int fd, unsigned gsi, int resamplefd, bool assign)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	if (!assign)
		irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	else if (resamplefd >= 0) {
		irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irqfd.resamplefd = (uint32_t)resamplefd;
	}
	return ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

int vm_ioeventfd(void *opaque, enum io_space sp, uint64_t addr, unsigned len, int fd, bool assign)
{
	struct vm *vm = opaque;
	struct kvm_ioeventfd io = { .addr = addr, .len = len, .fd = fd };

	if (sp == IO_PIO)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (!assign)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* Handles one exit. Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v, enum vm_exit_kind *kind)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;
	bool stopping;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		*kind = VMX_IO;
		vm_coalesced_drain(vm);
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		*kind = VMX_MMIO;
		vm_coalesced_drain(vm);
		handle_mmio(v);
		return true;
	case KVM_EXIT_HLT:
		*kind = VMX_HLT;
		return true;
	case KVM_EXIT_INTR:
		*kind = VMX_INTR;
		return true;
	case KVM_EXIT_SHUTDOWN:
		*kind = VMX_SHUTDOWN;
		pthread_mutex_lock(&vm->lock);
		stopping = vm->stop_requested;
		pthread_mutex_unlock(&vm->lock);
		if (!stopping)
			dump_registers(v, "guest triple fault (shutdown)");
		vm_end(vm, stopping ? VM_END_STOPPED : VM_END_TRIPLE_FAULT, 0);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		*kind = VMX_INTERNAL;
		dump_registers(v, run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
					  ? "KVM could not emulate an instruction"
					  : "KVM internal error");
		log_err("vm %s: vcpu %u: internal error suberror %u", vm->name, v->id,
			run->internal.suberror);
		vm_end(vm, VM_END_EMULATION, 0);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		*kind = VMX_FAIL_ENTRY;
		log_err("vm %s: vcpu %u: VM entry failed, hardware reason 0x%llx", vm->name, v->id,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_end(vm, VM_END_ENTRY_FAIL, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		*kind = VMX_SYSTEM_EVENT;
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vm->ctl.request(vm, VM_REQ_RESET, 0);
		else
			vm->ctl.request(vm, VM_REQ_POWEROFF, 0);
		return false;
	default:
		*kind = VMX_OTHER;
		log_err("vm %s: vcpu %u: unexpected KVM exit reason %u", vm->name, v->id,
			run->exit_reason);
		dump_registers(v, "unexpected exit");
		vm_end(vm, VM_END_ENTRY_FAIL, 0);
		return false;
	}
}

/* The vCPU thread's answer to a probe (it owns the vCPU fd). */
static void answer_probe(struct vcpu *v)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	int state = VCPU_BUSY;

	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0) {
		if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
		    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
			state = VCPU_WAITING_SIPI;
		else if (mp.mp_state == KVM_MP_STATE_HALTED &&
			 ioctl(v->fd, KVM_GET_REGS, &regs) == 0) {
			state = regs.rflags & (1u << 9) ? VCPU_HALTED : VCPU_HALTED_CLI;
			__atomic_store_n(&v->probe_rip, regs.rip, __ATOMIC_RELAXED);
		}
	}
	__atomic_store_n(&v->probe_runs, v->stats.runs, __ATOMIC_RELAXED);
	__atomic_store_n(&v->state, state, __ATOMIC_RELEASE);
}

bool vm_watch(struct vm *vm)
{
	unsigned halted = 0, stuck = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int state = __atomic_load_n(&v->state, __ATOMIC_ACQUIRE);

		/* No exit to user space since its last probe but the probe's own:
		 * the probe's answer (made at most a second ago) still holds. */
		if (__atomic_load_n(&v->stats.runs, __ATOMIC_RELAXED) !=
		    __atomic_load_n(&v->probe_runs, __ATOMIC_RELAXED))
			continue;
		if (state == VCPU_HALTED_CLI)
			halted++, stuck++;
		else if (state == VCPU_WAITING_SIPI)
			stuck++;
	}
	/* A vCPU may run inside KVM for long without an exit to user space (a
	 * paravirt spinlock wait halts with interrupts off until another vCPU's
	 * kick), so one probe proves little; VM_HALT_PROBES in a row do. The
	 * states stay as found for the caller's message. */
	if (halted > 0 && stuck == vm->nr_vcpus) {
		if (++vm->halt_checks >= VM_HALT_PROBES)
			return true;
	} else {
		vm->halt_checks = 0;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		uint64_t runs = __atomic_load_n(&v->stats.runs, __ATOMIC_RELAXED);
		bool quiet = runs == __atomic_load_n(&v->probe_runs, __ATOMIC_RELAXED);

		/* Quiet since the last call (or since its probe): probe it again.
		 * A vCPU that exits on its own is busy and left alone. */
		if (v->started && (quiet || runs == v->watch_runs)) {
			__atomic_store_n(&v->state, VCPU_BUSY, __ATOMIC_RELAXED);
			__atomic_store_n(&v->probe, 1, __ATOMIC_RELEASE);
			pthread_kill(v->thread, VCPU_KICK_SIGNAL);
		}
		v->watch_runs = runs;
	}
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;
	char tname[16];

	snprintf(tname, sizeof(tname), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), tname);
	sigfillset(&set);
	sigdelset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	if (vm->vcpu_thread_init && vm->vcpu_thread_init() < 0) {
		log_err("vm %s: vcpu%u: thread setup (sandbox filter) failed", vm->name, v->id);
		vm_end(vm, VM_END_ERROR, 0);
	}

	while (vm_current_end(vm) == VM_END_NONE) {
		enum vm_exit_kind kind = VMX_OTHER;
		uint64_t t0 = now_ns(), t1;
		int r = ioctl(v->fd, KVM_RUN, 0);
		bool go_on;

		t1 = now_ns();
		v->stats.run_ns += t1 - t0;
		v->stats.runs++;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->stats.count[VMX_INTR]++;
				if (__atomic_exchange_n(&v->probe, 0, __ATOMIC_ACQ_REL))
					answer_probe(v);
				continue;
			}
			log_errno(-errno, "vm %s: vcpu %u: KVM_RUN", vm->name, v->id);
			vm_end(vm, VM_END_ERROR, 0);
			break;
		}
		go_on = handle_exit(v, &kind);
		v->stats.count[kind]++;
		v->stats.ns[kind] += now_ns() - t1;
		if (!go_on)
			break;
	}
	return NULL;
}

int vm_start(struct vm *vm)
{
	sigset_t all, old;
	int r = 0;

	vm->start_ns = now_ns();
	/* Threads inherit the mask; each vCPU thread then unblocks the kick. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		r = -pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (r < 0) {
			log_errno(r, "vm %s: vcpu %u: thread", vm->name, i);
			vm_end(vm, VM_END_ERROR, 0);
			break;
		}
		vm->vcpus[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void vm_join(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].started = false;
	}
}

void vm_exit_stats_total(struct vm *vm, struct vm_exit_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct vm_exit_stats *s = &vm->vcpus[i].stats;
		for (unsigned k = 0; k < VMX_COUNT; k++) {
			out->count[k] += __atomic_load_n(&s->count[k], __ATOMIC_RELAXED);
			out->ns[k] += __atomic_load_n(&s->ns[k], __ATOMIC_RELAXED);
		}
		out->run_ns += __atomic_load_n(&s->run_ns, __ATOMIC_RELAXED);
		out->runs += __atomic_load_n(&s->runs, __ATOMIC_RELAXED);
	}
}

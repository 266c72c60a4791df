/* vm.h: one KVM virtual machine: guest RAM, in-kernel irqchip and PIT,
 * vCPU threads, the exit loop and its accounting. Devices sit on vm->bus. */
#pragma once
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "monitor/boot.h"
#include "devices/dev.h"
#include "devices/iobus.h"
#include "monitor/msi.h"

/* Why the VM ended; decides the monitor's exit status. */
enum vm_end {
	VM_END_NONE,
	VM_END_POWEROFF,     /* guest powered off */
	VM_END_RESET,        /* guest reset (reboot) */
	VM_END_DEBUG_EXIT,   /* guest wrote the debug-exit port */
	VM_END_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
	VM_END_EMULATION,    /* KVM_EXIT_INTERNAL_ERROR */
	VM_END_ENTRY_FAIL,   /* KVM_EXIT_FAIL_ENTRY or an unexpected exit */
	VM_END_STOPPED,      /* stopped on request (forced, or graceful and the guest complied) */
	VM_END_SIGNAL,       /* the monitor got a terminating signal */
	VM_END_ERROR,        /* host-side failure while running */
	VM_END_HALTED,       /* every vCPU in HLT with interrupts off (vm_watch) */
};
const char *vm_end_name(enum vm_end e);

/* KVM exit reasons we account separately; the rest fall in VMX_OTHER. */
enum vm_exit_kind {
	VMX_IO, VMX_MMIO, VMX_HLT, VMX_INTR, VMX_SHUTDOWN, VMX_INTERNAL, VMX_FAIL_ENTRY,
	VMX_SYSTEM_EVENT, VMX_OTHER, VMX_COUNT
};
const char *vm_exit_kind_name(enum vm_exit_kind k);

struct vm_exit_stats {
	uint64_t count[VMX_COUNT];
	uint64_t ns[VMX_COUNT]; /* time in user space handling the exit */
	uint64_t run_ns;        /* time inside KVM_RUN */
	uint64_t runs;
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct vm_exit_stats stats; /* written by this vCPU's thread only */
	/* vm_watch's probe: the I/O thread sets probe and kicks; the vCPU
	 * thread answers with state and the run count it saw (atomics). */
	int probe;
	int state; /* enum vcpu_state */
	uint64_t probe_runs;
	uint64_t probe_rip; /* where the last probe found it halted */
	uint64_t watch_runs; /* the I/O thread's: runs at its last vm_watch */
};

/* What a probed vCPU was doing (vm_watch). */
enum vcpu_state {
	VCPU_BUSY,          /* not probed, or running */
	VCPU_HALTED,        /* in HLT, interrupts enabled: a timer or device wakes it */
	VCPU_HALTED_CLI,    /* in HLT with interrupts off: only an NMI or INIT wakes it */
	VCPU_WAITING_SIPI,  /* an AP never started (or stopped) by the guest */
};

#define VM_COALESCED_ZONES_MAX 16

/* A coalesced PIO/MMIO window (dev.h struct io_accel). */
struct vm_coalesced_zone {
	enum io_space space;
	uint64_t addr, len;
	uint64_t *drained; /* writes delivered from the ring */
};

struct vm {
	const char *name;
	int kvm_fd, vm_fd;
	struct gmem mem;
	size_t run_size;
	struct iobus bus;
	struct vm_ctl ctl; /* handed to devices */
	unsigned nr_vcpus;
	struct vcpu *vcpus;
	struct boot_state boot;
	uint64_t start_ns;

	pthread_mutex_t lock; /* guards the fields below */
	enum vm_end end;
	int end_status;        /* debug-exit status, signal number */
	bool stop_requested;   /* a graceful stop was asked for */
	int done_fd;           /* eventfd: written once when the VM ends */
	void (*on_stop_request)(void *ctx); /* graceful stop: machine.c sends Ctrl-Alt-Del */
	void *on_stop_ctx;
	/* Run by each vCPU thread before its first KVM_RUN (the sandbox's
	 * per-thread filter); NULL: nothing. A failure ends the VM. */
	int (*vcpu_thread_init)(void);

	/* Coalesced writes: KVM's ring (the page at KVM_CAP_COALESCED_MMIO's
	 * offset in vCPU 0's kvm_run mapping), drained under coalesced_lock. */
	struct kvm_coalesced_mmio_ring *coalesced_ring;
	unsigned coalesced_max; /* ring entries */
	bool coalesced_pio;     /* KVM_CAP_COALESCED_PIO */
	pthread_mutex_t coalesced_lock;
	struct vm_coalesced_zone zones[VM_COALESCED_ZONES_MAX];
	unsigned nr_zones;
	struct io_accel accel; /* handed to devices: vm_coalesce_add/del */
	struct vm_msi msi;     /* MSI delivery and routes (msi.c) */
	unsigned halt_checks;  /* vm_watch: calls in a row that found it halted */
};

/* Sets up the VM's state and maps its RAM, without KVM: the kernel is loaded
 * and checked before /dev/kvm is opened, so a bad image is reported as such
 * on a host without KVM too. vm_destroy() is owed after it, even on failure.
 * Returns 0 or -errno with a message logged naming the cause. */
int vm_init(struct vm *vm, const char *name, uint64_t mem_bytes);
/* Opens /dev/kvm and creates the VM on vm_init()'s RAM, with irqchip, PIT
 * and vCPUs. Returns 0 or -errno with a message logged naming the cause. */
/* kvm_fd: an open /dev/kvm to use (taken over), or -1 to open it. */
int vm_create(struct vm *vm, unsigned nr_vcpus, int kvm_fd);
void vm_destroy(struct vm *vm);

/* Called about once a second by the I/O thread: finds a guest that halted
 * for good (Linux's "System halted", a crashed guest's cli; hlt). vCPUs
 * that made no exit to user space since the last call are kicked out of
 * KVM_RUN and report their state; the VM is halted when 5 probes in a row
 * found every vCPU in HLT with interrupts off or waiting for a SIPI (at
 * least one halted), with no exit between them. Returns true then (the
 * caller ends the VM, VM_END_HALTED): about 6 s after the guest halted. */
bool vm_watch(struct vm *vm);

/* Sets vCPU 0's registers for the boot state; others wait for INIT/SIPI. */
int vm_setup_boot(struct vm *vm, const struct boot_state *st);

/* Starts the vCPU threads. */
int vm_start(struct vm *vm);
/* Ends the VM for `why` (first caller wins), kicks every vCPU out of KVM_RUN,
 * and signals done_fd. Safe from any thread. */
void vm_end(struct vm *vm, enum vm_end why, int status);
/* Graceful stop, in two steps so that a caller can answer in between:
 * vm_mark_stopping() records the request, so that a later poweroff or reset
 * ends the VM as VM_END_STOPPED; vm_ask_guest_to_stop() then asks the guest
 * (machine.c sends Ctrl-Alt-Del). */
void vm_mark_stopping(struct vm *vm);
void vm_ask_guest_to_stop(struct vm *vm);
/* Joins the vCPU threads (after vm_end). */
void vm_join(struct vm *vm);

/* Sums the vCPUs' exit accounting. Racy reads of counters are fine. */
void vm_exit_stats_total(struct vm *vm, struct vm_exit_stats *out);

/* Sets an interrupt input's level (KVM_IRQ_LINE); usable as irq_line.set. */
int vm_irq_set(void *vm, unsigned gsi, int level);

/* io_accel for devices: KVM_REGISTER_COALESCED_MMIO (KVM_COALESCED_PIO for
 * IO_PIO). -ENOTSUP when KVM lacks it, -ENOSPC past VM_COALESCED_ZONES_MAX. */
int vm_coalesce_add(void *vm, enum io_space sp, uint64_t addr, uint64_t len, uint64_t *drained);
int vm_coalesce_del(void *vm, enum io_space sp, uint64_t addr, uint64_t len);
/* Delivers every queued coalesced write to the iobus, in order. Every exit
 * that reaches a device drains first; safe from any thread. */
void vm_coalesced_drain(struct vm *vm);

/* KVM_IRQFD: a write to fd asserts gsi; with resamplefd >= 0 the line is
 * level (KVM lowers it at the guest's EOI and signals resamplefd).
 * assign false removes it. 0 or -errno. */
int vm_irqfd(struct vm *vm, int fd, unsigned gsi, int resamplefd, bool assign);

/* io_accel.ioeventfd: KVM_IOEVENTFD on [addr, addr+len) of sp, any value
 * (no datamatch). 0 or -errno. */
int vm_ioeventfd(void *vm, enum io_space sp, uint64_t addr, unsigned len, int fd, bool assign);

/* Host RAM in bytes (for config checks). */
uint64_t vm_host_mem_bytes(void);
/* True on a kvm_pvm host (/sys/module/kvm_pvm). */
bool vm_host_is_pvm(void);

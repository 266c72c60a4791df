/* contract.h: what vmm-monitor, vmmd and vmctl agree on, in one place: the
 * monitor's exit statuses (which vmmd reads as a VM's state and reason), the
 * control protocol's version and the daemon's default paths. The statuses are
 * documented in monitor/README.md, the protocol in vmmd/PROTOCOL.md. */
#pragma once

/* vmm-monitor's exit statuses. 0..63 are the guest's own debug-exit status;
 * the rest follow sysexits.h where one fits. */
enum {
	MON_EXIT_OK = 0,
	MON_EXIT_GUEST_MAX = 63,
	MON_EXIT_USAGE = 64,    /* bad flag or config value */
	MON_EXIT_DATAERR = 65,  /* kernel/initrd/config file is corrupt or of the wrong kind */
	MON_EXIT_NOINPUT = 66,  /* kernel/initrd/config file missing or unreadable */
	MON_EXIT_NOKVM = 69,    /* /dev/kvm absent or lacking a required capability */
	MON_EXIT_SOFTWARE = 70, /* internal error */
	MON_EXIT_OSERR = 71,    /* host resource failure (memory, threads, sockets) */
	MON_EXIT_NOPERM = 77,   /* /dev/kvm permission denied */
	MON_EXIT_CONFIG = 78,   /* memory or vCPUs out of range for this host */
	MON_EXIT_RESET = 80,    /* the guest reset the machine */
	MON_EXIT_TRIPLE_FAULT = 81,
	MON_EXIT_EMULATION = 82, /* KVM could not emulate an instruction */
	MON_EXIT_ENTRY_FAIL = 83,
	MON_EXIT_HALTED = 84,   /* every vCPU halted with interrupts off: nothing can wake it */
	MON_EXIT_EXEC_FAILED = 127, /* the monitor could not be executed (vmmd's child) */
	MON_EXIT_SIGNAL_BASE = 128, /* 128 + signal number */
};

/* The control protocol's version: vmctl refuses a daemon of another. */
#define VMM_PROTOCOL_VERSION 1

#define VMMD_DEFAULT_RUNTIME_DIR "/run/vmmd"
#define VMMD_DEFAULT_SOCKET VMMD_DEFAULT_RUNTIME_DIR "/vmmd.sock"

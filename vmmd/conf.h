/* conf.h: the daemon's configuration file (etc/vmmd.json), parsed and
 * validated into a typed struct. Needs only json-c: unit tests link it alone. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmmd/vmdef.h"

/* A switch of the config: created through netbridge when vmmd starts. */
#define VMMD_SWITCHES_MAX 16
#define VMMD_IFNAME_MAX 15
#define VMMD_VXLAN_PEERS_MAX 16
#define VMMD_ADDR_MAX 46 /* INET6_ADDRSTRLEN */

/* A VXLAN uplink that netbridge creates for the switch (netbridge.h,
 * struct nb_vxlan). */
struct vmmd_vxlan_conf {
	uint32_t vni;                    /* 0: no VXLAN uplink */
	char name[VMMD_IFNAME_MAX + 1];  /* "": netbridge names it */
	char local[VMMD_ADDR_MAX];
	char remotes[VMMD_VXLAN_PEERS_MAX][VMMD_ADDR_MAX];
	unsigned nr_remotes;
	char group[VMMD_ADDR_MAX];       /* "": none */
	char dev[VMMD_IFNAME_MAX + 1];   /* "": routed */
	uint16_t port;                   /* 0: 4789 */
	uint32_t mtu;                    /* 0: 1500 */
};

struct vmmd_switch_conf {
	char name[VMDEF_SWITCH_NAME_MAX + 1];
	char uplink[VMMD_IFNAME_MAX + 1];    /* "": none */
	char host_port[VMMD_IFNAME_MAX + 1]; /* "": none */
	struct vmmd_vxlan_conf vxlan;        /* vni 0: none; excludes uplink */
};

/* The daemon's configuration (etc/vmmd.json). */
struct vmmd_conf {
	char *netbridge_runtime; /* NULL: "vmmd" */
	unsigned nr_switches;
	struct vmmd_switch_conf switches[VMMD_SWITCHES_MAX];
	char *monitor;      /* NULL: next to the vmmd binary */
	char *state_dir;    /* default /var/lib/vmmd */
	char *runtime_dir;  /* default /run/vmmd */
	char *socket_group; /* NULL: leave the group alone */
	bool readonly_socket;
	bool stop_vms_on_exit;
	uint32_t stop_timeout_s;
	uint32_t idle_exit_s; /* socket-activated: exit after this long idle (0: never) */
	bool sandbox;              /* monitors jailed (vmm-monitor --sandbox); default true */
	uint32_t sandbox_uid_base; /* each running monitor gets a uid (= gid) of its own */
	uint32_t sandbox_uids;     /* from base, this many */
	uint64_t console_max_bytes; /* a VM's console log cap, rotated into .1 (0: none) */
	char *cgroup_parent;       /* under /sys/fs/cgroup, the VMs' groups (NULL: none) */
	bool machined;             /* "auto": systemd-machined where there is one; "no" */
	/* the read-only socket's clients: in all, per uid, and how long one may
	 * stay without a request (0: forever); events subscribers are exempt */
	uint32_t readonly_max_clients, readonly_max_per_uid, readonly_idle_timeout_s;
	int log_level;      /* LOG_P_* */
};

#define VMMD_DEFAULT_STATE_DIR "/var/lib/vmmd"
#define VMMD_DEFAULT_STOP_TIMEOUT_S 30u
/* Above the ranges systemd hands out (dynamic users 61184..65519, containers
 * 524288..1879048191) and below 2^31. */
#define VMMD_DEFAULT_SANDBOX_UID_BASE 0x7f000000u
#define VMMD_DEFAULT_SANDBOX_UIDS 4096u
#define VMMD_DEFAULT_CONSOLE_MAX (4u << 20)
#define VMMD_DEFAULT_RO_MAX_CLIENTS 64u
#define VMMD_DEFAULT_RO_MAX_PER_UID 8u
#define VMMD_DEFAULT_RO_IDLE_TIMEOUT_S 30u
/* the read-write socket's own limit; the read-only socket's may not exceed it */
#define VMMD_MAX_CLIENTS 512u

void vmmd_conf_init(struct vmmd_conf *c);
void vmmd_conf_free(struct vmmd_conf *c);
#define VMMD_CONF_MAX (1u << 20) /* bytes of a config file */

/* Loads a config file over the defaults in c. 0 or -errno; on a bad file
 * -EINVAL with a message in err. On failure c may be partly set: free it. */
int vmmd_conf_load(struct vmmd_conf *c, const char *path, char *err, size_t errlen);
/* The same from len bytes of text (a NUL byte ends it, as in a file). */
int vmmd_conf_parse(struct vmmd_conf *c, const char *text, size_t len, char *err, size_t errlen);


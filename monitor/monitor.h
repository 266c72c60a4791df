/* monitor.h: the vmm-monitor process as a whole: one VM, its machine
 * (devices), console, control socket and I/O loop. main.c drives it. */
#pragma once
#include <stdbool.h>

#include "monitor/config.h"
#include "monitor/console.h"
#include "monitor/control.h"
#include "monitor/ioloop.h"
#include "monitor/machine.h"
#include "monitor/vm.h"

#define MONITOR_PROTOCOL_VERSION 1

struct monitor {
	struct monitor_config *cfg;
	struct vm vm;
	struct ioloop *loop;
	struct console *console;
	struct control *control;
	struct machine machine;
	int signal_fd;
	int stop_timer_fd; /* graceful stop deadline, then forced */
	int watch_timer_fd; /* once a second: vm_watch, a guest halted for good */
	bool done;
	bool vm_inited; /* vm_init() was called: vm_destroy() owed */
};

/* Control socket request handler (control.h shape). */
struct json_object *monitor_handle_request(void *ctx, const char *method,
					   struct json_object *params, struct json_object *req,
					   void (**after_reply)(void *ctx));
/* The exit status for how the VM ended (see config.h MON_EXIT_*). */
int monitor_exit_status(enum vm_end end, int status);
